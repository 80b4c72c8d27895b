/*
 * test_jfast.c - the one-pass JSON record reader (providers/jfast.c)
 * against the path it stands in for: jansson's json_loadb() of the
 * record, the pointers resolved in its tree (jsonptr.c) and the readers'
 * shared per-value conversion (jsonval.c).
 *
 * The promise checked: whenever jfast_record() takes a record, jansson
 * reads it too and the fields get bit for bit the same values; so every
 * record jansson refuses or a field does not convert, jfast declines.
 * The inputs: every seed of the json, jsonarray and config fuzz corpora
 * (whole, their JSON bodies, each of their lines), 100 000 documents
 * built at random from edge cases (escapes, surrogate pairs, invalid
 * UTF-8, NUL, deep nesting, integers at int64's edges, -0, 1e400,
 * duplicate keys, blanks everywhere) with some of them mutated, every
 * prefix of some records, and numbers of 1..25 digits ending at every
 * distance from the end of the record's bytes.  Well-formed records of
 * the common shapes must be taken, not declined.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/buf.h"
#include "../common/config.h"
#include "../common/convert.h"
#include "../providers/jfast.h"
#include "../providers/jsonptr.h"
#include "../providers/jsonval.h"
#include "helpers/jfsetup.h"
#include "helpers/testutil.h"

static struct jfs_setup setups[JFS_NSCHEMAS];
static uint64_t taken, declined, oracle_yes;

static void setup_all(void)
{
	char err[CFG_ERR_MAX];

	for (size_t k = 0; k < JFS_NSCHEMAS; k++)
		cr_assert_eq(jfs_open(&setups[k], k, err, sizeof err), 0,
			     "%zu: %s", k, err);
}

static void teardown_all(void)
{
	for (size_t k = 0; k < JFS_NSCHEMAS; k++)
		jfs_close(&setups[k]);
}

/* The jansson path: 1 and v, or 0: a reject.  *root to json_decref. */
static int oracle(struct jfs_setup *t, const char *p, size_t len,
		  struct rec_value *v, char (*scratch)[CONV_SCRATCH_MAX],
		  json_t **root)
{
	json_error_t err;

	*root = json_loadb(p, len, JSON_DECODE_ANY, &err);
	if (*root == NULL || !json_is_object(*root))
		return 0;
	for (int i = 0; i < t->s->nfields; i++) {
		json_t *j = jsonptr_resolve(&t->ptrs[i], *root);

		v[i].null = j == NULL;
		if (j != NULL && jfs_convert(t, i, j, &v[i], scratch[i]) < 0)
			return 0;
	}
	return 1;
}

/*
 * jfast_object() on p[0..len) followed by more: what it takes is an object
 * ending where it says, which jfast_record() takes alone with the same
 * values.
 */
static void check_object(struct jfs_setup *t, const char *p, size_t len)
{
	struct rec_value a[JFS_MAXF], b[JFS_MAXF];
	char as[JFS_MAXF][CONV_SCRATCH_MAX], bs[JFS_MAXF][CONV_SCRATCH_MAX];
	size_t n = 0;

	if (jfast_object(&t->jf, p, len, a, as, &n) == 0)
		return;
	cr_assert(n >= 2 && n <= len && p[0] == '{' && p[n - 1] == '}',
		  "object of %zu bytes in %.*s", n, (int)len, p);
	/* The values of a point into p or jf's buffers: copy the text out
	 * before jfast_record() reuses them. */
	{
		struct buf keep[JFS_MAXF];

		memset(keep, 0, sizeof keep);
		for (int i = 0; i < t->s->nfields; i++)
			if (!a[i].null && t->s->fields[i].type == REC_TEXT) {
				cr_assert_eq(buf_add(&keep[i], a[i].u.s.p,
						     a[i].u.s.len), 0);
				a[i].u.s.p = (const char *)keep[i].p;
			}
		cr_assert_eq(jfast_record(&t->jf, p, n, b, bs), 1,
			     "taken in front, not alone: %.*s", (int)n, p);
		for (int i = 0; i < t->s->nfields; i++) {
			cr_assert(rec_value_same(t->s->fields[i].type, &a[i], &b[i]),
				  "field %s differs: %.*s",
				  t->s->fields[i].name, (int)n, p);
			buf_free(&keep[i]);
		}
	}
}

/*
 * The record as lines in a buffer, another after them: jfast_line() takes
 * the first line exactly when jfast_record() takes that line's bytes, up
 * to its line feed and with the same values; the line's bytes alone (no
 * line feed after them) it never takes.
 */
static void check_line(struct jfs_setup *t, const char *p, size_t len)
{
	struct rec_value a[JFS_MAXF], b[JFS_MAXF];
	char as[JFS_MAXF][CONV_SCRATCH_MAX], bs[JFS_MAXF][CONV_SCRATCH_MAX];
	struct buf in = { 0 }, keep[JFS_MAXF];
	size_t n = 0;
	const char *lf = memchr(p, '\n', len);
	size_t first = lf != NULL ? (size_t)(lf - p) : len;
	int took, want;

	cr_assert_eq(jfast_line(&t->jf, p, first, a, as, &n), 0,
		     "taken without a line feed: %.*s", (int)len, p);
	cr_assert_eq(buf_add(&in, p, len), 0);
	cr_assert_eq(buf_add(&in, "\n{\"a\":1}\n", 9), 0);
	took = jfast_line(&t->jf, (const char *)in.p, in.len, a, as, &n);
	memset(keep, 0, sizeof keep);
	for (int i = 0; took && i < t->s->nfields; i++)
		if (!a[i].null && t->s->fields[i].type == REC_TEXT) {
			cr_assert_eq(buf_add(&keep[i], a[i].u.s.p,
					     a[i].u.s.len), 0);
			a[i].u.s.p = (const char *)keep[i].p;
		}
	want = jfast_record(&t->jf, p, first, b, bs) == 1;
	cr_assert_eq(took, want, "jfast_line %d, want %d: %.*s", took, want,
		     (int)len, p);
	if (took)
		cr_assert_eq(n, first, "line of %zu bytes: %.*s", n, (int)len,
			     p);
	for (int i = 0; took && i < t->s->nfields; i++)
		cr_assert(rec_value_same(t->s->fields[i].type, &a[i], &b[i]),
			  "field %s differs: %.*s", t->s->fields[i].name,
			  (int)len, p);
	for (int i = 0; i < JFS_MAXF; i++)
		buf_free(&keep[i]);
	buf_free(&in);
}

/* One record through both, under every schema; returns jfast's answers. */
static int check(const char *p, size_t len)
{
	int took = 0;

	for (size_t k = 0; k < JFS_NSCHEMAS; k++) {
		struct jfs_setup *t = &setups[k];
		struct rec_value fv[JFS_MAXF], ov[JFS_MAXF];
		char fs[JFS_MAXF][CONV_SCRATCH_MAX], os[JFS_MAXF][CONV_SCRATCH_MAX];
		json_t *root;
		int f = jfast_record(&t->jf, p, len, fv, fs);
		int o = oracle(t, p, len, ov, os, &root);

		oracle_yes += o;
		if (f) {
			taken++;
			took++;
			cr_assert(o, "jfast took what jansson refuses "
				  "(schema %zu): %.*s", k, (int)len, p);
			for (int i = 0; i < t->s->nfields; i++)
				cr_assert(rec_value_same(t->s->fields[i].type,
						     &fv[i], &ov[i]),
					  "schema %zu field %s differs: %.*s",
					  k, t->s->fields[i].name, (int)len, p);
		} else {
			declined++;
		}
		json_decref(root);
		check_object(t, p, len);
		check_line(t, p, len);
	}
	return took;
}

/* --- the fuzz corpora -------------------------------------------------- */

static void check_file_parts(const char *p, size_t n)
{
	const char *body = p, *end = p + n;

	check(p, n);
	/* The json corpus: a byte, two lines, the body. */
	for (int k = 0; k < 2 && body < end; k++) {
		const char *nl = memchr(body, '\n', (size_t)(end - body));

		body = nl ? nl + 1 : end;
	}
	check(body, (size_t)(end - body));
	if (n > 0)
		check(p + 1, n - 1);
	for (const char *l = p; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		const char *e = nl ? nl : end;

		check(l, (size_t)(e - l));
		l = nl ? nl + 1 : end;
	}
}

static size_t check_corpus(const char *name)
{
	char dir[4096];
	struct dirent *de;
	DIR *d;
	size_t files = 0;

	snprintf(dir, sizeof dir, "%s/fuzz/corpus/%s", tu_srcdir(), name);
	d = opendir(dir);
	cr_assert_not_null(d, "%s", dir);
	while ((de = readdir(d)) != NULL) {
		char path[4400];
		struct buf b = { 0 };
		FILE *fp;
		char chunk[65536];
		size_t got;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		fp = fopen(path, "rb");
		cr_assert_not_null(fp, "%s", path);
		while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0)
			cr_assert_eq(buf_add(&b, chunk, got), 0);
		fclose(fp);
		check_file_parts(b.p ? (const char *)b.p : "", b.len);
		buf_free(&b);
		files++;
	}
	closedir(d);
	return files;
}

Test(jfast, fuzz_corpora, .init = setup_all, .fini = teardown_all)
{
	size_t n = check_corpus("json") + check_corpus("jsonarray") +
		   check_corpus("config");

	cr_assert_gt(n, 100);
	cr_assert_gt(taken, 0);
}

/* --- documents built at random ------------------------------------------ */

static uint64_t rng_state = UINT64_C(0x2545f4914f6cdd1d);

static uint64_t rng(void)
{
	return tu_rng(&rng_state);
}

static const char *pick(const char *const *a, size_t n)
{
	return a[rng() % n];
}
#define PICK(a) pick(a, sizeof a / sizeof a[0])

static const char *const keys[] = {
	"\"id\"", "\"region\"", "\"day\"", "\"amount\"", "\"a\"", "\"b\"",
	"\"c\"", "\"arr\"", "\"x/y\"", "\"n\"", "\"t\"", "\"ts\"", "\"o\"",
	"\"i\\u0064\"", "\"\\u0061\"", "\"a\\/b\"", "\"zz\"", "\"\"",
	"\"reg\\u0069on\"", "\"x\\/y\"", "\"\\ud83d\\ude00\"", "\"a\\u0000\"",
	"\"\xc3\xa9\"", "\"\xff\"", "\"thirteen_byte\"", "\"fourteen_bytes\"",
	"\"thirteen_bytes\"", "\"a_much_longer_key_name\"", "\"caf\xc3\xa9\"",
	"\"caf\\u00e9\"",
};

static const char *const scalars[] = {
	"0", "-0", "1", "-1", "42", "007", "01", "-", "1.", ".5", "1e", "1e+",
	"9223372036854775807", "9223372036854775808", "-9223372036854775808",
	"-9223372036854775809", "12345678901234567890", "1e400", "-1e400",
	"1e-400", "1.7976931348623157e308", "1.8e308", "0.1", "590.64",
	"1.5e3", "-0.0", "1E+2", "2.5E-3", "123456789012345.6",
	"1234567890123456.7", "0.30000000000000004", "1517966773840",
	"1517966773840.0", "1e22", "1e23", "4.9e-324", "100000000000000000000e-3",
	"true", "false", "null", "tru", "nul", "truex", "True", "NaN", "Infinity",
	"\"\"", "\"r042\"", "\"2025-09-28\"", "\"2026-11-22T03:00:01Z\"",
	"\"12.5\"", "\" 12 \"", "\"abc\"", "\"yes\"", "\"t\"",
	"\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", "\"\\u00e9\\u4e2d\"",
	"\"\\ud83d\\ude00\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83dx\"",
	"\"\\ud83d\\u0041\"", "\"\\u0000\"", "\"\\u001f\"", "\"\\uZZZZ\"",
	"\"\\x\"", "\"\\u12\"", "\"\xc3\xa9t\xc3\xa9\"", "\"\xe4\xb8\xad\"",
	"\"\xf0\x9f\x98\x80\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"",
	"\"\xf4\x90\x80\x80\"", "\"\x80\"", "\"\xe4\xb8\"", "\"a\x01b\"",
	"\"tab\there\"", "\"\x7f\"", "\"9999999999.99\"", "\"99999999.999\"",
	"\"-0\"", "\"1e400\"", "\"0x10\"",
	/* Longer than the 16 bytes scanned at once, the byte to stop at
	 * past them. */
	"\"a string of more than sixteen bytes\"",
	"\"0123456789abcdefg\\\"quoted\\\" past them\"",
	"\"0123456789abcdef\xc3\xa9 then UTF-8\"",
	"\"0123456789abcdefg\x01 a control byte\"",
	"\"0123456789abcdefghij\xff invalid\"",
	"\"0123456789abcdefghijklmnopqrstuvwxyz0123456789\\u00e9\"",
};

static const char *const blanks[] = { "", "", "", " ", "\t", "\r", "\n",
				      "  \r\n\t" };

static void add(struct buf *b, const char *s)
{
	cr_assert_eq(buf_addstr(b, s), 0);
}

static void gen_value(struct buf *b, int depth);

static void gen_object(struct buf *b, int depth)
{
	int n = (int)(rng() % 6);

	add(b, "{");
	add(b, PICK(blanks));
	for (int k = 0; k < n; k++) {
		if (k > 0) {
			add(b, ",");
			add(b, PICK(blanks));
		}
		add(b, PICK(keys));
		add(b, PICK(blanks));
		add(b, ":");
		add(b, PICK(blanks));
		gen_value(b, depth + 1);
		add(b, PICK(blanks));
	}
	add(b, "}");
}

static void gen_value(struct buf *b, int depth)
{
	unsigned r = (unsigned)(rng() % 16);

	if (depth < 6 && r == 0) {
		gen_object(b, depth);
	} else if (depth < 6 && r == 1) {
		int n = (int)(rng() % 4);

		add(b, "[");
		for (int k = 0; k < n; k++) {
			if (k > 0)
				add(b, ",");
			add(b, PICK(blanks));
			gen_value(b, depth + 1);
		}
		add(b, "]");
	} else if (r == 2 && rng() % 50 == 0) {
		/* Deep: around the reader's limit, or past jansson's. */
		int d = (int)(rng() % 2 ? 60 + rng() % 10 : 2040 + rng() % 20);

		for (int k = 0; k < d; k++)
			add(b, "[");
		add(b, "1");
		for (int k = 0; k < d; k++)
			add(b, "]");
	} else {
		add(b, PICK(scalars));
	}
}

/* A record: mostly well-formed objects, now and then mutated. */
static void gen_record(struct buf *b)
{
	b->len = 0;
	add(b, PICK(blanks));
	if (rng() % 20 == 0)
		gen_value(b, 0);
	else
		gen_object(b, 0);
	add(b, PICK(blanks));
	switch (rng() % 10) {
	case 0:
		b->len = b->len ? (size_t)(rng() % b->len) : 0;
		break;
	case 1:
		if (b->len)
			b->p[rng() % b->len] = (unsigned char)rng();
		break;
	case 2:
		if (b->len)
			b->p[rng() % b->len] = "{}[]\",:\\ 0"[rng() % 10];
		break;
	default:
		break;
	}
}

Test(jfast, random_documents, .init = setup_all, .fini = teardown_all)
{
	struct buf b = { 0 };
	int n = 100000;

	for (int k = 0; k < n; k++) {
		gen_record(&b);
		check(b.p ? (const char *)b.p : "", b.len);
	}
	buf_free(&b);
	/* Not all declined: the reader takes what it should. */
	fprintf(stderr, "taken %llu declined %llu oracle %llu\n", (unsigned long long)taken, (unsigned long long)declined, (unsigned long long)oracle_yes);
	cr_assert_gt(taken, (uint64_t)n / 10, "taken %llu of %llu",
		     (unsigned long long)taken, (unsigned long long)oracle_yes);
}

/* --- records it must take, and every cut of them ------------------------- */

static const char *const good[] = {
	"{\"id\":1,\"region\":\"r064\",\"day\":\"2025-09-28\",\"amount\":590.64}",
	"{ \"amount\" : -0.5e2 , \"region\" : \"\\u00e9t\\u00e9\", \"id\": -9223372036854775808 }\r",
	"{\"a\":7,\"b\":{\"c\":\"x\\ty\"},\"arr\":[\"s\",2.5,{}],\"x/y\":\"d\","
	"\"n\":\"12.50\",\"t\":true,\"ts\":1517966773840,\"day\":\"2026-02-28\"}",
	"{\"a\":1,\"a\":2,\"b\":{\"c\":\"old\"},\"b\":{\"z\":1}}",
	"{\"id\":\"12\",\"region\":null,\"extra\":[[[{\"k\":[1,2,{\"q\":\"\\ud83d\\ude00\"}]}]]]}",
	"{}",
};

Test(jfast, takes_plain_records, .init = setup_all, .fini = teardown_all)
{
	for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
		const char *g = good[k];

		cr_assert_gt(check(g, strlen(g)), 0, "declined: %s", g);
		/* As an array's element: followed by the rest of it. */
		if (g[0] == '{' && g[strlen(g) - 1] == '}') {
			char more[1024];
			size_t n = 0;
			struct rec_value v[JFS_MAXF];
			char sc[JFS_MAXF][CONV_SCRATCH_MAX];

			snprintf(more, sizeof more, "%s,\n {\"id\":1}]", g);
			cr_assert_eq(jfast_object(&setups[0].jf, more,
						  strlen(more), v, sc, &n), 1);
			cr_assert_eq(n, strlen(g));
			check(more, strlen(more));
		}
		/* Every prefix: jansson refuses each, so the reader must. */
		for (size_t n = 0; n < strlen(g); n++)
			check(g, n);
	}
}

Test(jfast, duplicate_keys_last_wins, .init = setup_all,
     .fini = teardown_all)
{
	struct jfs_setup *t = &setups[1];
	struct rec_value v[JFS_MAXF];
	char s[JFS_MAXF][CONV_SCRATCH_MAX];
	const char *g = "{\"b\":{\"c\":\"first\"},\"a\":1,\"b\":{\"d\":2},"
			"\"a\":5}";

	cr_assert_eq(jfast_record(&t->jf, g, strlen(g), v, s), 1);
	cr_assert(v[1].null, "b/c of the first b must not survive");
	cr_assert_eq(v[0].u.i, 5);
	cr_assert_eq(check(g, strlen(g)), (int)JFS_NSCHEMAS);
}

/*
 * Keys are first compared, quotes included, with the key that followed
 * the last one in the previous record; numbers' digits are read in runs.
 * One reader through records whose keys change order, spelling (an
 * escape, a blank before the colon), length (a key that extends or cuts
 * the expected one, one too long for the compare) and place (the last
 * bytes of the record, where fewer than 16 remain): each must be taken,
 * with jansson's values.
 */
static const char *const shifting[] = {
	"{\"id\":1,\"region\":\"r064\",\"day\":\"2025-09-28\",\"amount\":590.64}",
	"{\"id\":2,\"region\":\"r183\",\"day\":\"2025-08-18\",\"amount\":696.83}",
	"{\"region\":\"r1\",\"id\":3,\"amount\":0.5,\"day\":\"2025-01-01\"}",
	"{\"region\":\"x\",\"idx\":4,\"id\":5,\"amount\":1}",
	"{\"regio\":\"no\",\"region\":\"yes\",\"i\":4,\"id\":6}",
	"{\"regionx\":\"no\",\"region\":\"r\",\"id\":6,\"amount\":2}",
	"{\"region\":\"r\",\"id\":6,\"amount\":2,\"day\":\"d\"}",
	"{\"region\":\"r\",\"id\":6,\"amount\":2,\"dayx\":\"d\"}",
	"{\"\\u0069d\":7,\"region\":\"esc\",\"amount\":0.000123}",
	"{\"id\" :8,\"region\"\t:\"blank\",\"amount\":-0.0}",
	"{\"id\":9,\"day\":\"d\",\"day\":\"again\",\"id\":10}",
	"{\"id\":11,\"a_key_much_longer_than_sixteen\":1,\"amount\":2.5}",
	"{\"amount\":1.2345678901234567890,\"id\":9223372036854775807}",
	"{\"amount\":12345678901234567890.5,\"id\":-9223372036854775808}",
	"{\"amount\":0.00000000000000000000012345678901234567891}",
	"{\"amount\":123456789012345678,\"id\":1234567890123456789}",
	"{\"amount\":1e5,\"id\":0,\"region\":\"\"}",
	"{\"id\":12,\"region\":\"r064\",\"day\":\"2025-09-28\",\"amount\":590.64}",
	"{\"id\":13}",
	"{\"region\":\"r\"}",
	"{\"id\":14,\"region\":\"r064\",\"day\":\"2025-09-28\",\"amount\":5}",
	"{\"thirteen_byte\":1,\"fourteen_bytes\":\"f\",\"caf\xc3\xa9\":\"c\","
	"\"a_much_longer_key_name\":2.5}",
	"{\"thirteen_byte\":2,\"fourteen_bytes\":\"g\",\"caf\xc3\xa9\":\"d\","
	"\"a_much_longer_key_name\":3.5}",
	"{\"thirteen_bytes\":3,\"fourteen_bytes\":\"h\",\"caf\\u00e9\":\"e\","
	"\"thirteen_byte\":4,\"a_much_longer_key_nam\":1}",
	"{ \"id\" : 15 , \"region\" : \"r\" ,\"amount\" :1\t}",
	"{\"id\":16,\"region\":\"0123456789abcdefg\\\"quoted\\\" past them\","
	"\"day\":\"0123456789abcdef\xc3\xa9 then UTF-8, and more\",\"amount\":1}",
};

Test(jfast, keys_change_order_and_spelling, .init = setup_all,
     .fini = teardown_all)
{
	for (int round = 0; round < 2; round++)
		for (size_t k = 0; k < sizeof shifting / sizeof shifting[0];
		     k++) {
			const char *g = shifting[k];

			struct rec_value v[JFS_MAXF];
			char sc[JFS_MAXF][CONV_SCRATCH_MAX];

			/* check() holds every schema's values to jansson's;
			 * the order of the calls is the records'. */
			cr_assert_gt(check(g, strlen(g)), 0, "declined: %s", g);
			for (size_t s = 0; s < JFS_NSCHEMAS; s += 3)
				cr_assert_eq(jfast_record(&setups[s].jf, g,
							  strlen(g), v, sc), 1,
					     "declined (schema %zu): %s", s, g);
		}
}

/* --- numbers against the end of the buffer ------------------------------ */

/*
 * Numbers are read a word (eight bytes) at a time where eight bytes
 * remain, byte by byte nearer the end.  Each number below goes through
 * the reader in records that put its last digit at every distance from
 * the end of the record's bytes (cut there, then followed by '}' and
 * 0..9 blanks), each in a block of exactly its size so that a read past
 * it is the sanitizer's error; the values must be jansson's, and what
 * jansson takes under the bench's schema the reader must take too.
 */

/* A 25-digit run of each kind: mixed, nines (int64's edge), zeros. */
static const char *const runs[] = {
	"1234567890987654321012345",
	"9999999999999999999999999",
	"1000000000000000000000000",
};

static const char *const number_edges[] = {
	"9223372036854775807", "-9223372036854775808",
	"9223372036854775808", "-9223372036854775809",
	"9223372036854775806", "-9223372036854775807",
	"18446744073709551615", "18446744073709551616",
	"9999999999999999999", "10000000000000000000",
	"1234567890123456789.5", "12345678901234567890.5",
	"0.1234567890123456789", "0.12345678901234567890",
	"0.00000000001234567890123456789", "123456789.0123456789",
	"9007199254740993", "9007199254740993.0", "0.9007199254740993",
	"0", "-0", "0.0", "-0.0", "0e0", "-0E-0", "0.0000000", "00", "-00",
	"0.", "-.5", "+1", "1.0e", "1e+", "1e-", "1.5E+308", "1e308",
	"1e309", "1e-320", "1e-400", "5e-324", "1.7976931348623157e308",
};

/* The cut's checks, then the record whole with 0..9 blanks after it. */
static void check_number_record(const char *rec, bool take)
{
	struct jfs_setup *t = &setups[0];
	size_t len = strlen(rec);

	for (size_t pad = 0; pad <= 9; pad++) {
		struct rec_value fv[JFS_MAXF], ov[JFS_MAXF];
		char fs[JFS_MAXF][CONV_SCRATCH_MAX], os[JFS_MAXF][CONV_SCRATCH_MAX];
		char *q = malloc(len + pad);
		json_t *root;
		int f, o;

		cr_assert_not_null(q);
		memcpy(q, rec, len);
		memset(q + len, ' ', pad);
		check(q, len + pad);
		f = jfast_record(&t->jf, q, len + pad, fv, fs);
		o = oracle(t, q, len + pad, ov, os, &root);
		json_decref(root);
		if (take)
			cr_assert_eq(f, o, "jfast %d, jansson %d: %.*s", f, o,
				     (int)(len + pad), q);
		free(q);
	}
}

/* Number n in the records, and the record cut at each of its bytes. */
static void check_number(const char *n)
{
	char rec[512];
	size_t at;

	snprintf(rec, sizeof rec, "{\"amount\":%s", n);
	at = strlen(rec);
	/* Cut within the number and right after it: refused by both. */
	for (size_t cut = at - strlen(n); cut <= at; cut++) {
		char *q = malloc(cut);

		cr_assert_not_null(q);
		memcpy(q, rec, cut);
		check(q, cut);
		free(q);
	}
	snprintf(rec, sizeof rec, "{\"amount\":%s}", n);
	check_number_record(rec, true);
	snprintf(rec, sizeof rec, "{\"id\":%s,\"region\":\"r\"}", n);
	check_number_record(rec, true);
	snprintf(rec, sizeof rec, "{\"day\":\"d\",\"id\":%s}", n);
	check_number_record(rec, true);
	/* Schemas 1 and 3: into int, float, decimal and text fields, in
	 * an array and among other numbers. */
	snprintf(rec, sizeof rec,
		 "{\"n\":%s,\"a\":%s,\"thirteen_byte\":%s,\"arr\":[%s,%s,%s]}",
		 n, n, n, n, n, n);
	check_number_record(rec, false);
}

Test(jfast, numbers_at_the_end, .init = setup_all, .fini = teardown_all)
{
	char n[128];
	size_t count = 0;

	for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++)
		for (int len = 1; len <= 25; len++) {
			const char *d = runs[k];
			static const char *const forms[] = {
				"%.*s", "-%.*s", "%.*se7", "-%.*sE-5",
				"%.*se+22", "%.*se-400", "%.*se400",
				/* Refused: a leading zero, no fraction or
				 * exponent digits. */
				"0%.*s", "-0%.*s", "%.*s.", "%.*s.e1",
				"%.*se", "%.*s-",
			};

			for (size_t f = 0; f < sizeof forms / sizeof forms[0];
			     f++) {
				snprintf(n, sizeof n, forms[f], len, d);
				check_number(n);
				count++;
			}
		}
	/* Reals: an integer part of 0..12 digits (none: "0") and a fraction
	 * of 1..13, with and without an exponent. */
	for (int i = 0; i <= 12; i++)
		for (int f = 1; f <= 13; f++) {
			const char *d = runs[(size_t)(i + f) % 3];
			char m[160];

			if (i == 0)
				snprintf(n, sizeof n, "0.%.*s", f, d + 2);
			else
				snprintf(n, sizeof n, "%.*s.%.*s", i, d, f,
					 runs[0] + 3);
			check_number(n);
			snprintf(m, sizeof m, "-%s", n);
			check_number(m);
			snprintf(m, sizeof m, "%se-3", n);
			check_number(m);
			snprintf(m, sizeof m, "-%sE+2", n);
			check_number(m);
			count += 4;
		}
	/* Leading zeros of a fraction (not significant), then 1..20
	 * digits. */
	for (int z = 0; z <= 20; z++)
		for (int f = 1; f <= 20; f += 3) {
			snprintf(n, sizeof n, "0.%.*s%.*s", z,
				 "000000000000000000000", f, runs[0]);
			check_number(n);
			count++;
		}
	for (size_t k = 0; k < sizeof number_edges / sizeof number_edges[0];
	     k++, count++)
		check_number(number_edges[k]);
	cr_assert_gt(count, 1000);
}
