/*
 * test_http_jpage.c - the http provider's one-pass page path (the page
 * scanner, providers/http_jpage.c, then jfast_object() on each record, or
 * jansson on a record's own bytes) against the path it stands in for:
 * jansson's json_loadb() of the whole page (JSON_ALLOW_NUL, as
 * http_records.c calls it), the records and cursor pointers resolved in
 * its tree (jsonptr.c) and the shared conversion of each field
 * (jsonval.c).
 *
 * The promise checked: whenever the scanner takes a page, jansson parses
 * it too, the records pointer finds an array (or null) of as many
 * elements, the cursor pointer finds the same value, each element's bytes
 * parse alone to the element jansson has in the page, and each element
 * jfast takes gets bit for bit the values jansson's path gives.  The
 * pages: hand-written ones (nested objects, escapes, unicode, numbers at
 * the edges, missing fields, wrong types, the array at a pointer, empty
 * arrays, duplicate keys, null), 20 000 built at random from such pieces,
 * and mutations of them (a byte changed, inserted, or the page cut short),
 * which the scanner must decline whenever jansson refuses them.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/buf.h"
#include "../common/config.h"
#include "../common/convert.h"
#include "../providers/http_jpage.h"
#include "../providers/jfast.h"
#include "../providers/jsonptr.h"
#include "../providers/jsonval.h"
#include "helpers/jfsetup.h"

/* The schemas tried: jfsetup.h's keys (0) and pointers (1). */
#define NCONFS 2
#define MAXF JFS_MAXF

/* The page shapes: records pointer, cursor pointer. */
static const char *const recptrs[] = { "", "/items", "/data/items",
				       "/d/0/recs" };
static const char *const curptrs[] = { "/meta/next", "/next" };
#define NREC (sizeof recptrs / sizeof recptrs[0])
#define NCUR (sizeof curptrs / sizeof curptrs[0])

static struct jfs_setup setups[NCONFS];
static struct jsonptr rp[NREC], cp[NCUR];
static uint64_t pages_taken, pages_declined, recs_taken, recs_declined;

static void setup_all(void)
{
	char err[CFG_ERR_MAX];

	for (size_t k = 0; k < NCONFS; k++)
		cr_assert_eq(jfs_open(&setups[k], k, err, sizeof err), 0,
			     "%zu: %s", k, err);
	for (size_t k = 0; k < NREC; k++)
		cr_assert_eq(jsonptr_compile(&rp[k], recptrs[k], err,
					     sizeof err), 0);
	for (size_t k = 0; k < NCUR; k++)
		cr_assert_eq(jsonptr_compile(&cp[k], curptrs[k], err,
					     sizeof err), 0);
}

static void teardown_all(void)
{
	for (size_t k = 0; k < NCONFS; k++)
		jfs_close(&setups[k]);
	for (size_t k = 0; k < NREC; k++)
		jsonptr_free(&rp[k]);
	for (size_t k = 0; k < NCUR; k++)
		jsonptr_free(&cp[k]);
}

TestSuite(http_jpage, .init = setup_all, .fini = teardown_all);

/* Element elem (jansson's, in the page) as jfast read it from its bytes. */
static void check_record(struct jfs_setup *t, json_t *elem, const char *p,
			 size_t len)
{
	struct rec_value fv[MAXF], ov[MAXF];
	char fs[MAXF][CONV_SCRATCH_MAX], os[MAXF][CONV_SCRATCH_MAX];
	char why[CONV_REASON_MAX];
	size_t got = 0;

	if (jfast_object(&t->jf, p, len, fv, fs, &got) == 0) {
		recs_declined++;
		return;
	}
	recs_taken++;
	cr_assert_eq(got, len, "record %.*s", (int)len, p);
	cr_assert(json_is_object(elem), "jfast took a non-object: %.*s",
		  (int)len, p);
	for (int i = 0; i < t->s->nfields; i++) {
		json_t *v = jsonptr_resolve(&t->ptrs[i], elem);

		cr_assert_eq(jsonval_convert(&t->s->fields[i], v, &ov[i], os[i],
					     &t->dump[i], why, sizeof why), 0,
			     "jfast took a record jansson's path rejects "
			     "(%s): %.*s", why, (int)len, p);
		cr_assert(rec_value_same(t->s->fields[i].type, &fv[i], &ov[i]),
			  "field %s differs: %.*s", t->s->fields[i].name,
			  (int)len, p);
	}
}

/* One page through both paths, every schema and pointer pair.  Returns
 * how many of the pairs the scanner took. */
static int check_page(const char *p, size_t len)
{
	struct buf spans = { 0 };
	json_t *doc = json_loadb(p, len, JSON_ALLOW_NUL, NULL);
	int took = 0;

	for (size_t r = 0; r < NREC; r++) {
		for (size_t c = 0; c <= NCUR; c++) {
			struct http_jpage pg = { .spans = &spans };
			const struct jsonptr *cur = c < NCUR ? &cp[c] : NULL;
			const size_t *sp;
			json_t *arr, *cv;
			int rc = http_jpage_scan(p, len, &rp[r], cur, &pg);

			cr_assert_geq(rc, 0);
			if (rc == 0) {
				pages_declined++;
				continue;
			}
			pages_taken++;
			took++;
			cr_assert_not_null(doc, "taken, not JSON to jansson: "
					   "%.*s", (int)len, p);
			arr = jsonptr_resolve(&rp[r], doc);
			cr_assert(arr != NULL &&
				  (json_is_array(arr) || json_is_null(arr)),
				  "taken without an array at %s: %.*s",
				  recptrs[r], (int)len, p);
			cr_assert_eq(pg.nrecords, json_is_null(arr) ? 0 :
				     json_array_size(arr), "%.*s", (int)len, p);
			cv = cur ? jsonptr_resolve(cur, doc) : NULL;
			cr_assert_eq(pg.cur_found, cv != NULL, "cursor %s: %.*s",
				     c < NCUR ? curptrs[c] : "-", (int)len, p);
			if (cv != NULL) {
				json_t *mine = json_loadb(p + pg.cur_off,
							  pg.cur_len,
							  JSON_DECODE_ANY |
							  JSON_ALLOW_NUL, NULL);

				cr_assert(json_equal(mine, cv), "cursor: %.*s",
					  (int)len, p);
				json_decref(mine);
			}
			sp = (const size_t *)spans.p;
			for (size_t k = 0; k < pg.nrecords; k++) {
				json_t *elem = json_array_get(arr, k);
				const char *e = p + sp[2 * k];
				size_t n = sp[2 * k + 1] - sp[2 * k];
				json_t *alone = json_loadb(e, n, JSON_DECODE_ANY |
							   JSON_ALLOW_NUL, NULL);

				cr_assert(json_equal(alone, elem),
					  "record %zu alone differs: %.*s", k,
					  (int)len, p);
				json_decref(alone);
				for (size_t s = 0; s < NCONFS; s++)
					check_record(&setups[s], elem, e, n);
			}
		}
	}
	json_decref(doc);
	buf_free(&spans);
	return took;
}

static int check_str(const char *p)
{
	return check_page(p, strlen(p));
}

Test(http_jpage, hand_written_pages)
{
	/* Taken: the records pointer that fits them finds an array. */
	static const char *const taken[] = {
		"[]",
		" [ ] ",
		"{\"items\": []}",
		"{\"items\": null, \"next\": null}",
		"[{\"id\": 1, \"region\": \"north\", \"amount\": 1.25}]",
		"{\"page\": 1, \"items\": [{\"id\": 1}, {\"id\": 2, \"region\": "
		"\"s\\u00e9\\ud83d\\ude00\\n\\\"q\\\"\\\\\\/\"}], \"meta\": "
		"{\"next\": \"c2\"}}",
		"{\"data\": {\"x\": [1, {\"items\": 3}], \"items\": [{\"a\": 9, "
		"\"b\": {\"c\": \"deep\"}, \"arr\": [\"zero\", 1.5e300], \"x/y\": "
		"\"slash\", \"n\": 12.34, \"t\": true, \"ts\": \"2026-01-02\", "
		"\"day\": \"2026-02-28\", \"o\": null}]}, \"next\": 17}",
		"{\"d\": [{\"recs\": [{\"id\": -0, \"amount\": -0.0}, {\"id\": "
		"9223372036854775807}, {\"id\": 123456789012345678, \"amount\": "
		"4.9e-324}, {\"amount\": 1.7976931348623157e308}, {\"amount\": "
		"1e-400}]}]}",
		/* wrong types, missing fields, non-objects: rejects, later */
		"{\"items\": [{\"id\": \"x\"}, {\"id\": [1]}, 7, \"s\", null, "
		"[], {}, {\"region\": {\"a\": [true, false, null]}}]}",
		/* duplicate keys: the last wins, with all it holds */
		"{\"items\": [{\"id\": 1}], \"items\": [{\"id\": 2}, {\"id\": 3, "
		"\"id\": 4}], \"meta\": {\"next\": 1}, \"meta\": {}}",
		"{\"data\": {\"items\": [{\"id\": 1}]}, \"data\": {\"other\": 1}, "
		"\"items\": [{\"id\": 5}]}",
		"{\"items\":[{\"region\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"},"
		"{\"region\":\"\\t\\r\\b\\f\"}],\"pad\":\"]}\\\"[{\"}",
	};
	/* Declined: what jansson refuses, or leaves to it. */
	static const char *const declined[] = {
		"",
		"   ",
		"7",
		"\"items\"",
		"{\"items\": [1,]}",
		"{\"items\": [01]}",
		"{\"items\": [1.]}",
		"{\"items\": [.5]}",
		"{\"items\": [+1]}",
		"{\"items\": [1e400]}",
		"{\"items\": [-1e309]}",
		"{\"items\": [9223372036854775808]}",
		"{\"items\": [tru]}",
		"{\"items\": [nullx]}",
		"{\"items\": [\"\\u0000\"]}",
		"{\"items\": [\"\\ud800\"]}",
		"{\"items\": [\"\\udc00\"]}",
		"{\"items\": [\"\\x\"]}",
		"{\"items\": [\"\xff\"]}",
		"{\"items\": [\"\xc0\xaf\"]}",
		"{\"items\": [\"\xed\xa0\x80\"]}",
		"{\"items\": [\"a\tb\"]}",
		"{\"items\": []} x",
		"{\"items\": []}{}",
		"{\"items\": [{\"id\": 1}]",
		"{\"items\": [{\"id\": 1}]}]",
		"{\"items\" []}",
		"{items: []}",
		"{\"items\": {}}",
		"{\"items\": 3}",
		"{\"it\\u0065ms\": [{\"id\": 1}]}",
		"\xef\xbb\xbf[]",
	};

	for (size_t k = 0; k < sizeof taken / sizeof taken[0]; k++)
		cr_assert_gt(check_str(taken[k]), 0, "declined: %s", taken[k]);
	for (size_t k = 0; k < sizeof declined / sizeof declined[0]; k++)
		cr_assert_eq(check_str(declined[k]), 0, "taken: %s",
			     declined[k]);
	/* Nested past the scanner's depth: jansson's (which takes it). */
	{
		struct buf b = { 0 };

		cr_assert_eq(buf_addstr(&b, "{\"items\": [{\"id\": 1, \"x\": "), 0);
		for (int i = 0; i < HTTP_JPAGE_MAX_DEPTH; i++)
			cr_assert_eq(buf_addstr(&b, "["), 0);
		for (int i = 0; i < HTTP_JPAGE_MAX_DEPTH; i++)
			cr_assert_eq(buf_addstr(&b, "]"), 0);
		cr_assert_eq(buf_addstr(&b, "}]}"), 0);
		cr_assert_eq(check_page((const char *)b.p, b.len), 0);
		buf_free(&b);
	}
}

/* --- random pages ------------------------------------------------------ */

static const char *const scalars[] = {
	"0", "-0", "1", "-1", "42", "9223372036854775807",
	"-9223372036854775808", "123456789012345678", "-999999999999999999", "9223372036854775808", "-9223372036854775809", "10000000000000000000",
	"1.5", "-0.0", "0.1", "1e308", "1.7976931348623157e308", "4.9e-324",
	"1e-400", "2.5E+3", "1e309", "true", "false", "null",
	"\"\"", "\"north\"", "\"2026-01-02\"", "\"2026-02-30\"", "\"12.34\"",
	"\"tab\\there\"", "\"q\\\"uote\\\\\"", "\"\\u00e9\\u20ac\"",
	"\"\\ud83d\\ude00\"", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
	"\"\\/\\b\\f\\n\\r\"", "\"]}{[,:\"", "\"1\"", "\"true\"",
	"\"9223372036854775808\"", "\"x\\u0000y\"",
};
static const char *const keys[] = {
	"id", "region", "day", "amount", "a", "b", "c", "arr", "x/y", "n",
	"t", "ts", "o", "items", "next", "meta", "data", "z\\u0069",
};
#define NSCALARS (sizeof scalars / sizeof scalars[0])
#define NKEYS (sizeof keys / sizeof keys[0])

static unsigned seed = 20261206;

static int pick(int n)
{
	return rand_r(&seed) % n;
}

static void add(struct buf *b, const char *s)
{
	cr_assert_eq(buf_addstr(b, s), 0);
}

static void gen_value(struct buf *b, int depth);

static void gen_object(struct buf *b, int depth)
{
	int n = pick(6);

	add(b, pick(4) ? "{" : "{ ");
	for (int i = 0; i < n; i++) {
		if (i > 0)
			add(b, pick(3) ? "," : " ,\n ");
		add(b, "\"");
		add(b, keys[pick(NKEYS)]);
		add(b, pick(3) ? "\":" : "\" : ");
		gen_value(b, depth + 1);
	}
	add(b, "}");
}

static void gen_value(struct buf *b, int depth)
{
	int k = pick(10);

	if (depth < 4 && k == 0) {
		int n = pick(4);

		add(b, "[");
		for (int i = 0; i < n; i++) {
			if (i > 0)
				add(b, ",");
			gen_value(b, depth + 1);
		}
		add(b, "]");
	} else if (depth < 4 && k == 1) {
		gen_object(b, depth);
	} else {
		add(b, scalars[pick(NSCALARS)]);
	}
}

/* A page: the records at one of the shapes' pointers, noise around. */
static void gen_page(struct buf *b)
{
	int n = pick(6), shape = pick(5);
	struct buf recs = { 0 };

	add(&recs, "[");
	for (int i = 0; i < n; i++) {
		if (i > 0)
			add(&recs, pick(2) ? "," : ", ");
		if (pick(8) == 0)
			gen_value(&recs, 2);
		else
			gen_object(&recs, 2);
	}
	add(&recs, "]");
	if (pick(12) == 0) {
		recs.len = 0;
		add(&recs, "null");
	}
	switch (shape) {
	case 0:
		add(b, (const char *)recs.p);
		break;
	case 1:
		add(b, "{\"page\": 1, \"items\": ");
		add(b, (const char *)recs.p);
		add(b, ", \"meta\": {\"next\": ");
		gen_value(b, 3);
		add(b, "}}");
		break;
	case 2:
		add(b, "{\"data\": {\"items\": ");
		add(b, (const char *)recs.p);
		add(b, "}, \"next\": ");
		gen_value(b, 3);
		add(b, "}");
		break;
	case 3:
		add(b, "{\"d\": [{\"recs\": ");
		add(b, (const char *)recs.p);
		add(b, "}], \"noise\": ");
		gen_value(b, 1);
		add(b, "}\n");
		break;
	default:
		/* Duplicates: an earlier candidate that the later one drops. */
		add(b, "{\"items\": ");
		gen_value(b, 2);
		add(b, ", \"meta\": {\"next\": \"first\"}, \"items\": ");
		add(b, (const char *)recs.p);
		if (pick(2))
			add(b, ", \"meta\": {\"other\": 1}");
		add(b, "}");
		break;
	}
	buf_free(&recs);
}

Test(http_jpage, random_pages_and_their_mutations, .timeout = 600)
{
	static const char bytes[] = "{}[],:\"\\ 0-.eEu\xff\xc3\x80\n";
	uint64_t taken_whole = 0;

	for (int it = 0; it < 20000; it++) {
		struct buf b = { 0 };
		size_t at;

		gen_page(&b);
		taken_whole += check_page((const char *)b.p, b.len) > 0;
		if (b.len == 0) {
			buf_free(&b);
			continue;
		}
		at = (size_t)pick((int)b.len);
		switch (pick(3)) {
		case 0:
			b.p[at] = (unsigned char)bytes[pick(sizeof bytes - 1)];
			break;
		case 1:
			b.len = at;
			break;
		default:
			cr_assert_eq(buf_add(&b, "", 1), 0);
			memmove(b.p + at + 1, b.p + at, b.len - at - 1);
			b.p[at] = (unsigned char)bytes[pick(sizeof bytes - 1)];
			break;
		}
		check_page((const char *)b.p, b.len);
		buf_free(&b);
	}
	cr_log_info("pages taken %lu declined %lu, records taken %lu "
		    "declined %lu", (unsigned long)pages_taken,
		    (unsigned long)pages_declined, (unsigned long)recs_taken,
		    (unsigned long)recs_declined);
	/* The well-formed common shapes are the scanner's, not jansson's. */
	cr_assert_gt(taken_whole, 20000 / 3, "%lu", (unsigned long)taken_whole);
	cr_assert_gt(recs_taken, 1000);
}
