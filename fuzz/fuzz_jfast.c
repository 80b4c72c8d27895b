/*
 * fuzz_jfast.c - the one-pass JSON record reader (providers/jfast.c)
 * against jansson, as tests/test_jfast.c checks it on chosen inputs.
 *
 * Input: one byte choosing the schema (top-level keys, or pointers
 * through objects and arrays into every type), then the record; when
 * jfast_object() finds an object in front of it, that object is the
 * record (as an array's element is read).  When
 * jfast_record() takes it, jansson must read it as an object whose
 * fields, found by the same pointers and converted by the file
 * provider's rules, are bit for bit the values jfast gave; anything else
 * aborts.  Every text value's bytes are read, so ASan sees a bad pointer.
 *
 * Its first line (before a line feed) is also read as jfast_line() reads
 * a JSON Lines buffer, which must take it exactly when jfast_record()
 * takes that line alone.
 *
 * The input (after its first byte) is also an http page: when the page
 * scanner (providers/http_jpage.c) takes it with the records at "" or
 * "/items" and the cursor at "/next", jansson must parse it (as
 * http_records.c does) with an array (or null) of as many elements
 * there, the same cursor value, and each element's bytes alone must parse
 * to the element it holds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/buf.h"
#include "../common/config.h"
#include "../common/convert.h"
#include "../common/log.h"
#include "../providers/http_jpage.h"
#include "../providers/jfast.h"
#include "../providers/jsonptr.h"
#include "../providers/jsonval.h"
/* The schemas (the tests link it; a fuzz target links no helper). */
#include "../tests/helpers/jfsetup.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCONFS JFS_NSCHEMAS
#define MAXF JFS_MAXF

static struct jfs_setup setups[NCONFS];
static bool ready;

static void setup(void)
{
	char err[CFG_ERR_MAX];

	log_init(-2, false);
	for (size_t k = 0; k < NCONFS; k++)
		if (jfs_open(&setups[k], k, err, sizeof err) < 0)
			abort();
	ready = true;
}

/* The page scanner on p[0..n) against jansson's parse of the page. */
static void check_page(const char *p, size_t n)
{
	static const char *const recs[] = { "", "/items" };
	static struct buf spans;
	json_t *doc = json_loadb(p, n, JSON_ALLOW_NUL, NULL);
	struct jsonptr cur, rp;
	char err[64];

	if (jsonptr_compile(&cur, "/next", err, sizeof err) < 0)
		abort();
	for (size_t k = 0; k < sizeof recs / sizeof recs[0]; k++) {
		struct http_jpage pg = { .spans = &spans };
		const size_t *sp;
		json_t *arr, *cv;

		if (jsonptr_compile(&rp, recs[k], err, sizeof err) < 0)
			abort();
		if (http_jpage_scan(p, n, &rp, &cur, &pg) != 1) {
			jsonptr_free(&rp);
			continue;
		}
		arr = doc ? jsonptr_resolve(&rp, doc) : NULL;
		if (arr == NULL || !(json_is_array(arr) || json_is_null(arr)) ||
		    pg.nrecords != (json_is_null(arr) ? 0 : json_array_size(arr)))
			abort();
		cv = jsonptr_resolve(&cur, doc);
		if (pg.cur_found != (cv != NULL))
			abort();
		if (cv != NULL) {
			json_t *mine = json_loadb(p + pg.cur_off, pg.cur_len,
						  JSON_DECODE_ANY | JSON_ALLOW_NUL,
						  NULL);

			if (!json_equal(mine, cv))
				abort();
			json_decref(mine);
		}
		sp = (const size_t *)spans.p;
		for (size_t e = 0; e < pg.nrecords; e++) {
			json_t *alone = json_loadb(p + sp[2 * e],
						   sp[2 * e + 1] - sp[2 * e],
						   JSON_DECODE_ANY | JSON_ALLOW_NUL,
						   NULL);

			if (!json_equal(alone, json_array_get(arr, e)))
				abort();
			json_decref(alone);
		}
		jsonptr_free(&rp);
	}
	jsonptr_free(&cur);
	json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec_value fv[MAXF], ov[MAXF];
	char fs[MAXF][CONV_SCRATCH_MAX], os[MAXF][CONV_SCRATCH_MAX];
	struct jfs_setup *t;
	json_error_t err;
	json_t *root;
	const char *p;

	if (!ready)
		setup();
	if (size < 1 || size > (1 << 20))
		return 0;
	t = &setups[data[0] % NCONFS];
	p = (const char *)data + 1;
	size--;
	check_page(p, size);
	/* As JSON Lines in a read buffer: jfast_line() takes the line before
	 * the first line feed exactly when jfast_record() takes it; that
	 * line is then the record checked below. */
	{
		const char *lf = memchr(p, '\n', size);
		size_t n = 0;
		int line = jfast_line(&t->jf, p, size, fv, fs, &n);

		if (line == 1 && (lf == NULL || n != (size_t)(lf - p)))
			abort();
		if (lf != NULL && line != jfast_record(&t->jf, p,
						       (size_t)(lf - p), fv, fs))
			abort();
		if (line == 1)
			size = n;
	}
	/* In front of more (an array's element): what it takes is a whole
	 * record on its own, checked below. */
	{
		size_t n;

		if (jfast_object(&t->jf, p, size, fv, fs, &n) == 1) {
			if (n < 2 || n > size || p[0] != '{' || p[n - 1] != '}')
				abort();
			size = n;
		}
	}
	if (jfast_record(&t->jf, p, size, fv, fs) == 0)
		return 0;
	root = json_loadb(p, size, JSON_DECODE_ANY, &err);
	if (root == NULL || !json_is_object(root))
		abort();
	for (int i = 0; i < t->s->nfields; i++) {
		json_t *j = jsonptr_resolve(&t->ptrs[i], root);
		volatile unsigned sum = 0;

		ov[i].null = j == NULL;
		if (j != NULL && jfs_convert(t, i, j, &ov[i], os[i]) < 0)
			abort();
		if (!rec_value_same(t->s->fields[i].type, &fv[i], &ov[i]))
			abort();
		if (t->s->fields[i].type == REC_TEXT && !fv[i].null)
			for (uint32_t k = 0; k < fv[i].u.s.len; k++)
				sum += (unsigned char)fv[i].u.s.p[k];
		(void)sum;
	}
	json_decref(root);
	return 0;
}
