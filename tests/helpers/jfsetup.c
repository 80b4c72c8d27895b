/*
 * jfsetup.c - the schemas jfast is checked under (jfsetup.h).  Plain C
 * without Criterion: the fuzz target includes this file.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/convert.h"
#include "../../providers/jsonval.h"
#include "jfsetup.h"

#define BASE "[aggregate]\noutput = /nonexistent/out.csv\n"
#define PROV "[provider p]\ntype = file\npath = /nonexistent/in.jsonl\n"

static const char *const confs[JFS_NSCHEMAS] = {
	BASE "fields = id:int, region:text, day:text, amount:float\n" PROV,
	BASE "fields = a:int, b:text, c:float, d:text, e:decimal(10,2), "
	"f:bool, g:timestamp('%Y-%m-%d', epoch_ms), h:date, i:text, k:text, "
	"l:float, m:text\n" PROV
	"map = a=/a, b=/b/c, c=/arr/1, d=/x~1y, e=/n, f=/t, g=/ts, h=/day, "
	"i=/arr/0, k=/o, l=/n, m=/a\n",
	BASE "fields = id:decimal(18,4), region:timestamp, amount:bool, "
	"day:date\n" PROV,
	/* Keys about the length of those compared as two words, and one
	 * not ASCII. */
	BASE "fields = p:int, q:text, r:float, s:text, t:text\n" PROV
	"map = p=/thirteen_byte, q=/fourteen_bytes, r=/a_much_longer_key_name, "
	"s=/caf\xc3\xa9, t=/id\n",
};

/* A top-level key as a pointer of one step (not an array index). */
static int key_ptr(struct jsonptr *jp, const char *key)
{
	jp->seg = calloc(1, sizeof *jp->seg);
	jp->buf = strdup(key);
	if (jp->seg == NULL || jp->buf == NULL)
		return -1;
	jp->nseg = 1;
	jp->seg[0].key = jp->buf;
	jp->seg[0].len = strlen(key);
	jp->seg[0].index = -1;
	return 0;
}

/* jfsetup.h */
int jfs_open(struct jfs_setup *t, size_t k, char *err, size_t errlen)
{
	memset(t, 0, sizeof *t);
	if (k >= JFS_NSCHEMAS) {
		snprintf(err, errlen, "no schema %zu", k);
		return -1;
	}
	if (cfg_load_string("jfsetup.conf", confs[k], &t->cfg, err,
			    errlen) < 0)
		return -1;
	t->s = &t->cfg.schema;
	if (t->s->nfields > JFS_MAXF) {
		snprintf(err, errlen, "schema %zu: more than %d fields", k,
			 JFS_MAXF);
		return -1;
	}
	for (int i = 0; i < t->s->nfields; i++) {
		const char *src = t->cfg.providers[0].source[i];
		bool ptr = src[0] == '/' || src[0] == '\0';

		if (ptr && jsonptr_compile(&t->ptrs[i], src, err, errlen) < 0)
			return -1;
		if (!ptr && key_ptr(&t->ptrs[i], src) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (jfast_plan(&t->jf, t->s, t->ptrs) < 0 || !t->jf.on) {
		snprintf(err, errlen, "schema %zu: jfast does not take it", k);
		return -1;
	}
	return 0;
}

/* jfsetup.h */
void jfs_close(struct jfs_setup *t)
{
	for (int i = 0; i < JFS_MAXF; i++) {
		jsonptr_free(&t->ptrs[i]);
		buf_free(&t->dump[i]);
	}
	jfast_free(&t->jf);
	if (t->s != NULL)
		cfg_free(&t->cfg);
	memset(t, 0, sizeof *t);
}

/* jfsetup.h */
int jfs_convert(struct jfs_setup *t, int i, json_t *j, struct rec_value *v,
		char *scratch)
{
	char why[CONV_REASON_MAX];

	return jsonval_convert(&t->s->fields[i], j, v, scratch, &t->dump[i],
			       why, sizeof why);
}
