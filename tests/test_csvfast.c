/*
 * test_csvfast.c - the CSV reader's typed fast path (providers/csvfast.c)
 * against the general path it stands in for: the CSV parser (csv.h) then
 * the file provider's per-field rules (NULL test, then conv_text()).
 *
 * The promise checked: whenever the fast path takes a record, the general
 * path reads the same record, with the same length and bit for bit the
 * same values; whatever the general path would reject or skip, the fast
 * path declines.  Records are built at random from fields chosen to sit
 * on every edge of the fast path's rules (digit counts, signs, blanks, CR,
 * quotes, exponents, NUL and non-ASCII bytes, the null text).
 *
 * The encoding fast path (csvfast_encode()) is held to the same promise
 * in the ring's format: every record it takes is, byte for byte, what
 * rec_encode_dropping() makes of the general path's values, it takes
 * exactly the records csvfast_record() takes, it never writes at or past
 * the room it is given, and a record it declines leaves a frame as if it
 * had never been tried.
 *
 * With derived fields and `where` (csvfast_encode_then()), the batch is
 * held to the general path with the same decisions; test_csvfast_expr.c
 * runs the file provider with expressions the same way.
 */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/convert.h"
#include "../providers/csv.h"
#include "../providers/csvfast.h"
#include "helpers/testutil.h"

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rng(void)
{
	return tu_rng(&rng_state);
}

#define MAXF 8

struct setup {
	struct rec_field fields[MAXF];
	struct rec_schema schema;
	int col[MAXF];
	size_t ncols;
	bool exact;
	char delim, quote;
	const char *null_text;   /* a NULL marker besides "", or NULL */
	const char *null_text2;  /* a second one, or NULL */
	size_t max_record;
	bool drop[MAXF];   /* fields the encoder sends as NULL */
};

enum outcome { GEN_VALUES, GEN_REJECT, GEN_SKIP, GEN_NONE };

/* The general path on buf[0..len): what it makes of the first record. */
static enum outcome general(const struct setup *t, const char *buf,
			    size_t len, size_t *rec_len, struct rec_value *v)
{
	struct csv_options o = { .delimiter = t->delim, .quote = t->quote,
				 .max_record = t->max_record };
	struct csv_parser *p = csv_new(&o);
	struct csv_record r;
	enum outcome out = GEN_VALUES;
	const char *marks[2] = { t->null_text, t->null_text2 };
	char why[CONV_REASON_MAX];
	int rc;

	cr_assert_not_null(p);
	csv_reset(p, 0, 1);
	csv_feed(p, buf, len);
	rc = csv_next(p, &r);
	if (rc == CSV_MORE) {
		csv_finish(p);
		rc = csv_next(p, &r);
	}
	if (rc != CSV_RECORD && rc != CSV_MALFORMED) {
		csv_free(p);
		return GEN_NONE;
	}
	*rec_len = (size_t)(r.end_offset - r.offset);
	if (rc == CSV_MALFORMED) {
		out = GEN_REJECT;
	} else if (r.raw_len == 0 && t->ncols != 1) {
		out = GEN_SKIP;
	} else if (t->exact ? r.nfields != t->ncols : r.nfields < t->ncols) {
		out = GEN_REJECT;
	} else {
		for (int i = 0; i < t->schema.nfields; i++) {
			const struct csv_field *f;

			if (t->col[i] < 0) {
				v[i].null = true;
				continue;
			}
			f = &r.fields[t->col[i]];
			/* An unquoted "" is always NULL; so is a marker. */
			bool is_null = !f->quoted && f->len == 0;

			for (int k = 0; k < 2 && !f->quoted; k++)
				is_null |= marks[k] != NULL &&
					   f->len == strlen(marks[k]) &&
					   memcmp(f->p, marks[k], f->len) == 0;
			if (is_null) {
				v[i].null = true;
				continue;
			}
			if (conv_text(&t->schema.fields[i], f->p, f->len,
				      &v[i], why, sizeof why) < 0) {
				out = GEN_REJECT;
				break;
			}
		}
	}
	csv_free(p);
	return out;
}

static void plan(struct csvfast *f, const struct setup *t)
{
	const char *marks[2];
	int nmarks = 0;

	if (t->null_text)
		marks[nmarks++] = t->null_text;
	if (t->null_text2)
		marks[nmarks++] = t->null_text2;

	struct csvfast_options o = {
		.schema = &t->schema,
		.col = t->col,
		.ncols = t->ncols,
		.exact_cols = t->exact,
		.delimiter = t->delim,
		.quote = t->quote,
		.nulls = marks,
		.nnulls = nmarks,
		.max_record = t->max_record,
		.max_fields = CSV_DEFAULT_MAX_FIELDS,
		.drop = t->drop,
	};

	cr_assert_eq(csvfast_plan(f, &o), 0);
}

/* Bytes past the room given to the encoder: they must stay as they are. */
#define GUARD 64
#define GUARD_BYTE 0xa5

/*
 * The encoder on buf[0..len) with room bytes at out (out holds room +
 * GUARD).  Returns what csvfast_encode() returned, *elen its length;
 * checks that nothing at or past out + room was written.
 */
static size_t encode_within(struct csvfast *f, const char *buf, size_t len,
			    unsigned char *out, size_t room, size_t *elen,
			    const char *shown)
{
	size_t n;

	memset(out, GUARD_BYTE, room + GUARD);
	*elen = 0;
	n = csvfast_encode(f, buf, len, out, room, elen);
	for (size_t k = room; k < room + GUARD; k++)
		cr_assert_eq(out[k], GUARD_BYTE,
			     "encoder wrote past its room %zu in [%s]", room,
			     shown);
	return n;
}

/*
 * The encoding path on the record csvfast_record() read as n bytes (0:
 * declined) into values that the general path gave as gv: the same
 * verdict, the same length, and rec_encode_dropping()'s bytes; with one
 * byte less room than it needs, CSVFAST_FULL.
 */
static void encoded_agrees(struct csvfast *f, const struct setup *t,
			   const char *buf, size_t len, size_t n,
			   const struct rec_value *gv, const char *shown)
{
	unsigned char want[2048], got[2048 + GUARD];
	size_t wlen, elen, e;

	if (!f->enc)
		return;
	e = encode_within(f, buf, len, got, 2048, &elen, shown);
	if (n == 0) {
		cr_assert_eq(e, 0, "encoder took [%s], declined by the other",
			     shown);
		return;
	}
	cr_assert_eq(e, n, "encoder read %zu, not %zu, in [%s]", e, n, shown);
	wlen = rec_encode_dropping(&t->schema, gv, t->drop, want, sizeof want);
	cr_assert_gt(wlen, 0);
	cr_assert_eq(elen, wlen, "encoded %zu bytes, not %zu, in [%s]", elen,
		     wlen, shown);
	cr_assert(memcmp(got, want, wlen) == 0, "encoding differs in [%s]",
		  shown);
	/* Exactly its size is enough; one byte less is not. */
	cr_assert_eq(encode_within(f, buf, len, got, wlen, &elen, shown), n);
	cr_assert(memcmp(got, want, wlen) == 0);
	cr_assert_eq(encode_within(f, buf, len, got, wlen - 1, &elen, shown),
		     CSVFAST_FULL, "no FULL with too little room in [%s]",
		     shown);
}

static void same_value(enum rec_type ty, const struct rec_value *a,
		       const struct rec_value *b, const char *rec)
{
	cr_assert_eq(a->null, b->null, "null differs in [%s]", rec);
	if (a->null)
		return;
	switch (ty) {
	case REC_INT:
	case REC_TIMESTAMP:
	case REC_DATE:
		cr_assert_eq(a->u.i, b->u.i, "int differs in [%s]", rec);
		break;
	case REC_DECIMAL:
		cr_assert(rec_dec(a) == rec_dec(b), "decimal differs in [%s]",
			  rec);
		break;
	case REC_FLOAT:
		cr_assert(memcmp(&a->u.f, &b->u.f, sizeof(double)) == 0,
			  "float %.17g vs %.17g in [%s]", a->u.f, b->u.f, rec);
		break;
	case REC_BOOL:
		cr_assert_eq(a->u.b, b->u.b, "bool differs in [%s]", rec);
		break;
	case REC_TEXT:
		cr_assert_eq(a->u.s.len, b->u.s.len, "text length in [%s]", rec);
		cr_assert(memcmp(a->u.s.p, b->u.s.p, a->u.s.len) == 0,
			  "text differs in [%s]", rec);
		break;
	}
}

/*
 * Both paths on buf[0..len); returns the fast path's length (0: it
 * declined), having checked that it agrees with the general path.
 */
static size_t both(struct csvfast *f, const struct setup *t, const char *buf,
		   size_t len)
{
	struct rec_value fv[MAXF], gv[MAXF];
	size_t n, glen = 0;
	enum outcome g;
	char shown[200];

	snprintf(shown, sizeof shown, "%.*s", (int)(len < 150 ? len : 150),
		 buf);
	for (char *s = shown; *s; s++)
		if ((unsigned char)*s < ' ')
			*s = '~';
	memset(fv, 0x5a, sizeof fv);
	n = csvfast_record(f, buf, len, fv);
	g = general(t, buf, len, &glen, gv);
	encoded_agrees(f, t, buf, len, n, gv, shown);
	if (n == 0)
		return 0;
	cr_assert_eq(g, GEN_VALUES, "fast path took [%s], general gave %d",
		     shown, (int)g);
	cr_assert_eq(n, glen, "length %zu vs %zu in [%s]", n, glen, shown);
	for (int i = 0; i < t->schema.nfields; i++)
		same_value(t->schema.fields[i].type, &fv[i], &gv[i], shown);
	return n;
}

static void setup4(struct setup *t)
{
	static const enum rec_type types[] = { REC_INT, REC_TEXT, REC_TEXT,
					       REC_FLOAT };
	static char *names[] = { "id", "region", "day", "amount" };

	memset(t, 0, sizeof *t);
	for (int i = 0; i < 4; i++) {
		t->fields[i].name = names[i];
		t->fields[i].type = types[i];
		t->col[i] = i;
	}
	t->schema.nfields = 4;
	t->schema.fields = t->fields;
	t->ncols = 4;
	t->exact = true;
	t->delim = ',';
	t->quote = '"';
	t->max_record = CSV_DEFAULT_MAX_RECORD;
}

#define B(lit) (lit), (sizeof(lit) - 1)

Test(csvfast, takes_plain_records)
{
	struct setup t;
	struct csvfast f = { 0 };
	struct rec_value v[MAXF];
	const char rec[] = "17,r064,2025-09-28,590.64\n18,x";

	setup4(&t);
	plan(&f, &t);
	cr_assert(f.on);
	cr_assert_eq(both(&f, &t, B(rec)), 26);
	cr_assert_eq(csvfast_record(&f, B(rec), v), 26);
	cr_assert_eq(v[0].u.i, 17);
	cr_assert_eq(v[1].u.s.len, 4);
	cr_assert(memcmp(v[1].u.s.p, "r064", 4) == 0);
	cr_assert_eq(v[3].u.f, 590.64);
	cr_assert_eq(both(&f, &t, B("-5,,x,-0.0\r\n")), 12);
	cr_assert_eq(both(&f, &t, B(",a,b,\n")), 6);
	cr_assert_eq(f.declines, 0);
	csvfast_free(&f);
}

Test(csvfast, declines_what_the_general_path_must_see)
{
	struct setup t;
	struct csvfast f = { 0 };

	setup4(&t);
	plan(&f, &t);
	cr_assert_eq(both(&f, &t, B("1,\"a\",b,2\n")), 0);   /* quoted */
	cr_assert_eq(both(&f, &t, B("1,a\"b,c,2\n")), 0);   /* stray quote */
	cr_assert_eq(both(&f, &t, B("1,a,b\n")), 0);        /* too few */
	cr_assert_eq(both(&f, &t, B("1,a,b,2,3\n")), 0);    /* too many */
	cr_assert_eq(both(&f, &t, B("\n")), 0);             /* blank */
	cr_assert_eq(both(&f, &t, B("\r\n")), 0);
	cr_assert_eq(both(&f, &t, B("1,a,b,2")), 0);        /* no LF yet */
	cr_assert_eq(both(&f, &t, B("x,a,b,2\n")), 0);      /* bad int */
	cr_assert_eq(both(&f, &t, B("1,a,b,1e999\n")), 0);  /* out of range */
	cr_assert_eq(both(&f, &t, B("1,\xff,b,2\n")), 0);   /* bad UTF-8 */
	cr_assert_eq(both(&f, &t, B("1,a\0b,b,2\n")), 0);   /* NUL */
	csvfast_free(&f);
}

/*
 * Text fields are scanned 16 bytes at a time where 16 are left: a stop,
 * a NUL or a byte above 0x7f before, at or after the 16th byte, and
 * after a stop (not the field's).
 */
Test(csvfast, text_scan_by_sixteen_bytes)
{
	struct setup t;
	struct csvfast f = { 0 };

	setup4(&t);
	plan(&f, &t);
	cr_assert_gt(both(&f, &t, B("1,a,b,2\n2,\xff\0,x,1\n5,r064,d,1\n")), 0);
	cr_assert_gt(both(&f, &t, B("1,abcdefghijklmnop,b,2\n3,\xc3\xa9,x,1\n")),
		     0);
	cr_assert_gt(both(&f, &t, B("1,abcdefghijklmno,b,2\n\xff\xff\xff\n")),
		     0);
	cr_assert_gt(both(&f, &t,
			  B("1,abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG,"
			    "b,2\n")), 0);
	cr_assert_eq(both(&f, &t, B("1,a\0b,b,2\n4,r064,2025-09-28,1\n")), 0);
	cr_assert_eq(both(&f, &t, B("1,abcdefghijklmno\0,b,2\n4,r,d,1\n")), 0);
	cr_assert_eq(both(&f, &t, B("1,abcdefghijklmnop\0,b,2\n4,r,d,1\n")),
		     0);
	cr_assert_eq(both(&f, &t,
			  B("1,abcdefghijklmnopqrstuvwxyz0123456789\x80,b,2\n"
			    "4,r,d,1\n")), 0);
	cr_assert_eq(both(&f, &t, B("1,abcdefghijklmnopq\"r,b,2\n4,r,d,1\n")),
		     0);
	/* A dropped text column is still checked. */
	t.drop[2] = true;
	plan(&f, &t);
	cr_assert_eq(both(&f, &t, B("1,a,b\xe9cdefghijklmnopq,2\n4,r,d,1\n")),
		     0);
	cr_assert_gt(both(&f, &t, B("1,a,bcdefghijklmnopq,2\n4,r,d,1\n")), 0);
	csvfast_free(&f);
}

Test(csvfast, slow_fields_read_as_the_general_path_does)
{
	struct setup t;
	struct csvfast f = { 0 };

	setup4(&t);
	plan(&f, &t);
	cr_assert_gt(both(&f, &t, B(" 7 ,a,b, 2.5\n")), 0);
	cr_assert_gt(both(&f, &t, B("+7,a,b,+2.5\n")), 0);
	cr_assert_gt(both(&f, &t, B("0000000000000000000007,a,b,1e3\n")), 0);
	cr_assert_gt(both(&f, &t, B("-9223372036854775808,a,b,2\n")), 0);
	cr_assert_gt(both(&f, &t, B("1,\xc3\xa9t\xc3\xa9,b,0.1234567890123456789\n")),
		     0);
	cr_assert_gt(both(&f, &t, B("1\r,a,b\r,2\r\n")), 0);
	cr_assert_gt(both(&f, &t, B("1,a,b,.5\n")), 0);
	cr_assert_gt(both(&f, &t, B("1,a,b,5.\n")), 0);
	csvfast_free(&f);
}

Test(csvfast, null_text_comes_first)
{
	struct setup t;
	struct csvfast f = { 0 };
	struct rec_value v[MAXF];

	setup4(&t);
	t.null_text = "0";
	plan(&f, &t);
	cr_assert(f.numeric_null);
	cr_assert_gt(both(&f, &t, B("0,0,b,0\n")), 0);
	cr_assert_gt(csvfast_record(&f, B("0,0,b,0\n"), v), 0);
	cr_assert(v[0].null && v[1].null && v[3].null && !v[2].null);
	/* a marker adds to the unquoted "", which stays NULL */
	cr_assert_gt(csvfast_record(&f, B("1,,b,\n"), v), 0);
	cr_assert(!v[0].null && v[1].null && !v[2].null && v[3].null);
	cr_assert_gt(both(&f, &t, B("1,,b,\n")), 0);
	csvfast_free(&f);

	t.null_text = "\\N";
	plan(&f, &t);
	cr_assert(!f.numeric_null);
	cr_assert_gt(both(&f, &t, B("\\N,\\N,,\\N\n")), 0);
	csvfast_free(&f);

	/* several markers */
	t.null_text = "NA";
	t.null_text2 = "-";
	plan(&f, &t);
	cr_assert(f.numeric_null, "'-' could start a number");
	cr_assert_gt(csvfast_record(&f, B("-,NA,NAN,NA\n"), v), 0);
	cr_assert(v[0].null && v[1].null && !v[2].null && v[3].null);
	cr_assert_eq(v[2].u.s.len, 3);
	cr_assert_gt(both(&f, &t, B("NA,-,N/A,-\n")), 0);
	cr_assert_gt(both(&f, &t, B("7,N,--,\n")), 0);
	both(&f, &t, B("NA,-,\"-\",-\n")); /* quoted: the general path's */
	csvfast_free(&f);
}

Test(csvfast, unmapped_and_extra_columns)
{
	struct setup t;
	struct csvfast f = { 0 };
	struct rec_value v[MAXF];

	setup4(&t);
	/* Without a header: columns 3 and 1 only, more columns allowed. */
	t.exact = false;
	t.col[0] = 3;
	t.col[1] = -1;
	t.col[2] = 1;
	t.col[3] = -1;
	plan(&f, &t);
	cr_assert(f.on);
	cr_assert_gt(both(&f, &t, B("a,b,c,4,e,f\n")), 0);
	cr_assert_eq(csvfast_record(&f, B("a,b,c,4,e,\"f\"\n"), v), 0);
	cr_assert_eq(both(&f, &t, B("a,b,c,4,\"e\"\n")), 0);
	csvfast_free(&f);

	/* One column feeding two fields: left to the general path. */
	setup4(&t);
	t.col[2] = 1;
	plan(&f, &t);
	cr_assert(!f.on);
	csvfast_free(&f);
}

/* --- random records ---------------------------------------------------- */

static const char *const int_tokens[] = {
	"0", "7", "-7", "+7", "00", "-0", "123456789012345678",
	"1234567890123456789", "9223372036854775807", "9223372036854775808",
	"-9223372036854775808", "-", "", " 5", "5 ", "5\r", "1.0", "1e3",
	"0x10", "\\N", "NA", "12a",
};

static const char *const float_tokens[] = {
	"0", "0.0", "-0.0", "1.5", "-1.5", ".5", "5.", ".", "-", "",
	"590.64", "0.1", "0.30000000000000004", "123456789012345678.9",
	"1234567890123456789", "12345678901234567890", "9007199254740993",
	"9007199254740992.0", "0.00000000000000000000001", "1e5", "1E-5",
	"1e400", "4.9e-324", "nan", "inf", " 2.5", "2.5 ", "+2.5", "1..2",
	"0000000000000000000000000000.5", "\\N", "NA", "3.14159265358979",
	"100000000000000000000000", "1.7976931348623157e308",
	/* Where a float's runs end around its first and second word. */
	"123.456", "1234.567", "-1234.56", "1234567.", "1234567.8",
	"12345678.9", ".1234567", ".123456", "0.000001", "9999999.9999999",
};

static const char *const text_tokens[] = {
	"r064", "", "a", "hello world", "\xc3\xa9t\xc3\xa9", "\xff", "\xe2\x82",
	"tab\there", "cr\rin", "\\N", "NA", "0", "\"q\"", "a\"b",
	"abcdefghijklmnopqrstuvwxyz0123456789", "\xf0\x9f\x98\x80 emoji",
	"abcdefghijklmno\xff", "abcdefghijklmnop\xc3\xa9", "abcdefghijklmnop",
	"abcdefghijklmnopq\"r",
};

static void append(char *buf, size_t *len, size_t cap, const char *s,
		   size_t n)
{
	cr_assert_lt(*len + n, cap);
	memcpy(buf + *len, s, n);
	*len += n;
}

static const char *pick(const char *const *list, size_t n)
{
	return list[rng() % n];
}

#define PICK(list) pick(list, sizeof list / sizeof list[0])

Test(csvfast, random_records_agree_with_the_general_path)
{
	static const char *const nulls[] = { NULL, "\\N", "NA", "", "0" };
	int rounds = tu_scale(200000), taken = 0;

	for (int k = 0; k < rounds; k++) {
		struct setup t;
		struct csvfast f = { 0 };
		char buf[1024];
		size_t len = 0, cols;

		setup4(&t);
		t.null_text = nulls[k / 1000 % 5];
		t.exact = k / 5000 % 2 == 0;
		/* What the encoder leaves out, and now and then no column. */
		for (int i = 0; i < 4; i++)
			t.drop[i] = rng() % 3 == 0;
		if (rng() % 8 == 0)
			t.col[rng() % 4] = -1;
		if (k / 10000 % 3 == 1)
			t.delim = ';';
		if (k / 30000 % 2 == 1)
			t.quote = '\0';
		plan(&f, &t);
		/* Mostly four columns; sometimes one more or one less. */
		cols = rng() % 8 == 0 ? 3 + rng() % 3 : 4;
		for (size_t c = 0; c < cols; c++) {
			const char *tok;

			if (c > 0)
				append(buf, &len, sizeof buf, &t.delim, 1);
			if (c == 0)
				tok = PICK(int_tokens);
			else if (c == 3)
				tok = PICK(float_tokens);
			else
				tok = PICK(text_tokens);
			/* Now and then a token of the wrong kind. */
			if (rng() % 16 == 0)
				tok = PICK(text_tokens);
			append(buf, &len, sizeof buf, tok, strlen(tok));
		}
		if (rng() % 4 == 0)
			append(buf, &len, sizeof buf, "\r", 1);
		if (rng() % 16 != 0)
			append(buf, &len, sizeof buf, "\n", 1);
		/* What follows the record in the buffer must not matter. */
		append(buf, &len, sizeof buf, "9,x,y,1\n", 8);
		if (both(&f, &t, buf, len) > 0)
			taken++;
		csvfast_free(&f);
	}
	/* The fast path is not just declining everything. */
	cr_assert_gt(taken, rounds / 20, "taken %d of %d", taken, rounds);
}

/*
 * A frame filled as the file provider fills it: each record through the
 * encoder at the frame's end, and a record it declines through the
 * general path's values and rec_encode_dropping() at that same place.
 * The frame must be exactly the one the general path alone makes: a
 * declined record (after partly writing, say, its first fields) leaves
 * nothing behind.
 */
Test(csvfast, declined_records_leave_nothing_in_the_frame)
{
	static const char *const recs[] = {
		"1,r1,d1,2.5\n", "2,r2,d2,x\n", "3,r3,\"d3\",4\n",
		"4,r4,d4,4.25\n", "5,r\xc3\xa9,d5,1e3\n", "6,r6,d6\n",
		"7,r7,d7,7,7\n", "8,r8,\xff,8\n", "9,r9,d9,9.5\n",
		"10,r10,d10,1\"0\n", "-11,r11,d11, 11 \n",
	};
	struct setup t;
	struct csvfast f = { 0 };
	unsigned char fast[4096], slow[4096];
	size_t fast_len = 0, slow_len = 0;
	int taken = 0, declined = 0;

	setup4(&t);
	t.drop[0] = t.drop[2] = true;
	plan(&f, &t);
	cr_assert(f.enc);
	memset(fast, 0x5a, sizeof fast);
	memset(slow, 0x5a, sizeof slow);
	for (size_t k = 0; k < sizeof recs / sizeof recs[0]; k++) {
		struct rec_value gv[MAXF];
		size_t glen, elen = 0, n, w;
		enum outcome g = general(&t, recs[k], strlen(recs[k]), &glen,
					 gv);

		n = csvfast_encode(&f, recs[k], strlen(recs[k]),
				   fast + fast_len, sizeof fast - fast_len,
				   &elen);
		cr_assert_neq(n, CSVFAST_FULL);
		if (g != GEN_VALUES) {
			cr_assert_eq(n, 0, "took [%s]", recs[k]);
			declined++;
			continue;
		}
		w = rec_encode_dropping(&t.schema, gv, t.drop,
					slow + slow_len,
					sizeof slow - slow_len);
		cr_assert_gt(w, 0);
		slow_len += w;
		if (n == 0) {
			w = rec_encode_dropping(&t.schema, gv, t.drop,
						fast + fast_len,
						sizeof fast - fast_len);
			declined++;
		} else {
			w = elen;
			taken++;
		}
		fast_len += w;
		cr_assert_eq(fast_len, slow_len, "after [%s]", recs[k]);
	}
	cr_assert_eq(fast_len, slow_len);
	cr_assert(memcmp(fast, slow, slow_len) == 0);
	cr_assert_gt(taken, 2);
	cr_assert_gt(declined, 2);
	csvfast_free(&f);
}

/*
 * Batches: csvfast_encode_batch() over a run of records is
 * csvfast_encode() record after record (itself checked against the
 * general path above): the same records taken, the same bytes one after
 * another, nothing written at or past its room, and it stops where it
 * says: at the first record the single call declines or finds no room
 * for, after max records, or after the record that leaves less than
 * slack bytes.
 */
Test(csvfast, batches_are_records_one_after_another)
{
	static const char *const extra[] = {
		"1,\"a\",b,2\n", "1,a,b\n", "1,a,b,2,3\n", "\n",
		"1,\xc3\xa9,b,2\n", "1,a,b, 2\n",
	};
	int rounds = tu_scale(20000), batches = 0, multi = 0;
	int stops[3] = { 0 };

	for (int k = 0; k < rounds; k++) {
		struct setup t;
		struct csvfast f = { 0 }, g = { 0 };
		struct csvfast_batch b;
		enum csvfast_stop why;
		char buf[4096];
		unsigned char got[1024 + GUARD], want[1024];
		size_t len = 0, room, slack, used = 0, pos = 0;
		uint64_t max, n = 0;
		int nrec = 1 + (int)(rng() % 12);

		setup4(&t);
		for (int i = 0; i < 4; i++)
			t.drop[i] = rng() % 3 == 0;
		t.null_text = rng() % 4 == 0 ? "NA" : NULL;
		plan(&f, &t);
		plan(&g, &t);
		for (int r = 0; r < nrec; r++) {
			char num[32];
			const char *tok;

			if (rng() % 12 == 0) {
				tok = PICK(extra);
				append(buf, &len, sizeof buf, tok, strlen(tok));
				continue;
			}
			snprintf(num, sizeof num, "%d,", r);
			append(buf, &len, sizeof buf, num, strlen(num));
			tok = rng() % 4 == 0 ? PICK(text_tokens) : "r064";
			append(buf, &len, sizeof buf, tok, strlen(tok));
			append(buf, &len, sizeof buf, ",2025-09-28,", 12);
			tok = rng() % 4 == 0 ? PICK(float_tokens) : "590.64";
			append(buf, &len, sizeof buf, tok, strlen(tok));
			append(buf, &len, sizeof buf, rng() % 8 ? "\n" : "\r\n",
			       rng() % 8 ? 1 : 2);
		}
		room = rng() % 4 == 0 ? rng() % 200 : 1024;
		max = rng() % 3 == 0 ? rng() % 6 : UINT64_MAX;
		slack = rng() % 3 == 0 ? rng() % 300 : 0;
		memset(got, GUARD_BYTE, sizeof got);
		why = csvfast_encode_batch(&f, buf, len, got, room, max, slack,
					   &b);
		for (size_t i = room; i < room + GUARD; i++)
			cr_assert_eq(got[i], GUARD_BYTE,
				     "batch wrote past its room %zu", room);
		/* The same records one at a time. */
		for (;;) {
			size_t e, elen = 0;

			if (n == max) {
				cr_assert_eq(why, CSVFAST_LIMIT);
				break;
			}
			e = csvfast_encode(&g, buf + used, len - used,
					   want + pos, room - pos, &elen);
			if (e == 0) {
				cr_assert_eq(why, CSVFAST_DECLINED);
				break;
			}
			if (e == CSVFAST_FULL) {
				cr_assert_eq(why, CSVFAST_NO_ROOM);
				break;
			}
			used += e;
			pos += elen;
			n++;
			if (room - pos < slack) {
				cr_assert_eq(why, CSVFAST_LIMIT);
				break;
			}
		}
		cr_assert_eq(b.records, n, "%" PRIu64 " records, not %" PRIu64,
			     b.records, n);
		cr_assert_eq(b.used, used);
		cr_assert_eq(b.len, pos);
		cr_assert(memcmp(got, want, pos) == 0);
		cr_assert_eq(f.tries, g.tries);
		cr_assert_eq(f.declines, g.declines);
		stops[why]++;
		batches++;
		multi += n > 1;
		csvfast_free(&f);
		csvfast_free(&g);
	}
	cr_assert_gt(multi, batches / 4);
	for (int i = 0; i < 3; i++)
		cr_assert_gt(stops[i], batches / 20, "stop %d: %d", i, stops[i]);
}

Test(csvfast, encoding_needs_columns_in_field_order)
{
	struct setup t;
	struct csvfast f = { 0 };

	/* Field 0 from column 3, field 2 from column 1: not in order. */
	setup4(&t);
	t.exact = false;
	t.col[0] = 3;
	t.col[1] = -1;
	t.col[2] = 1;
	t.col[3] = -1;
	plan(&f, &t);
	cr_assert(f.on);
	cr_assert(!f.enc);
	csvfast_free(&f);

	/* In order with a gap and a column nobody reads: taken. */
	setup4(&t);
	t.exact = false;
	t.col[0] = 0;
	t.col[1] = 2;
	t.col[2] = -1;
	t.col[3] = 4;
	t.ncols = 5;
	plan(&f, &t);
	cr_assert(f.enc);
	cr_assert_gt(both(&f, &t, B("1,skip,r,no,2.5,more,\n")), 0);
	cr_assert_eq(both(&f, &t, B("1,skip,r,no\n")), 0);
	csvfast_free(&f);
}

Test(csvfast, max_record_is_the_general_paths)
{
	struct setup t;
	struct csvfast f = { 0 };

	setup4(&t);
	t.max_record = 10;
	plan(&f, &t);
	cr_assert_gt(both(&f, &t, B("1,ab,cd,2\n")), 0);     /* 9 bytes */
	cr_assert_gt(both(&f, &t, B("1,ab,cd,23\r\n")), 0);  /* 10 + CR */
	cr_assert_eq(both(&f, &t, B("1,ab,cd,234\n")), 0);   /* 11 */
	csvfast_free(&f);
}

/* --- batches with computed fields and a filter ------------------------- */

/*
 * setup4's fields, then a computed one: x:int.  The rule stands in for
 * the runtime's expressions: an id of NULL is kept with x NULL; an id
 * whose remainder by 7 is 5 is an expression's error (refused); one
 * divisible by 3 is dropped by the filter; the others are kept with
 * x = 2 * id.
 */
static enum csvfast_verdict rule(struct rec_value *v)
{
	if (v[0].null) {
		v[4].null = true;
		return CSVFAST_KEEP;
	}
	if (v[0].u.i % 7 == 5)
		return CSVFAST_REFUSE;
	if (v[0].u.i % 3 == 0)
		return CSVFAST_DROP;
	v[4].null = false;
	v[4].u.i = (int64_t)((uint64_t)v[0].u.i * 2);
	return CSVFAST_KEEP;
}

#define NREC 16

/* What csvfast_encode_then() is given, and the general path's values. */
struct then_case {
	const struct setup *t;
	struct rec_value v[MAXF];         /* read into by the batch */
	struct rec_value gv[NREC][MAXF];  /* the general path's, per record */
	int ngv, calls;
};

/*
 * The batch's verdict: the values it read must be the general path's for
 * that record (those it encodes; the rule reads only those), then the
 * rule.
 */
static enum csvfast_verdict then_rule(void *arg)
{
	struct then_case *tc = arg;

	cr_assert_lt(tc->calls, tc->ngv, "a record the general path lacks");
	for (int i = 0; i < 4; i++)
		if (!tc->t->drop[i])
			same_value(tc->t->schema.fields[i].type, &tc->v[i],
				   &tc->gv[tc->calls][i], "then");
	tc->calls++;
	return rule(tc->v);
}

/*
 * csvfast_encode_then() over runs of records against the general path
 * record after record with the same rule: it keeps, drops and stops
 * exactly where that walk does (a declined record, a refused one in the
 * middle of a batch, max kept records, slack, room), every record kept
 * is rec_encode_dropping() of the general path's values with the
 * computed one, one after another, dropped records leave no byte, and
 * nothing is written at or past the room.
 */
Test(csvfast, then_batches_are_the_general_paths_kept_records)
{
	static const char *const extra[] = {
		"1,\"a\",b,2\n", "1,a,b\n", "\n", "1,a,b, 2\n", ",a,b,2\n",
		"x,a,b,1\n",
	};
	int rounds = tu_scale(20000), dropped = 0, kept = 0;
	int stops[4] = { 0 };

	for (int k = 0; k < rounds; k++) {
		struct setup t;
		struct rec_field wf[MAXF];
		struct rec_schema whole;
		struct csvfast f = { 0 }, g = { 0 };
		struct csvfast_batch b;
		struct csvfast_options o;
		struct then_case *tc = calloc(1, sizeof *tc);
		enum csvfast_stop why;
		char buf[4096];
		unsigned char got[1024 + GUARD], want[1024];
		size_t len = 0, room, slack, used = 0, pos = 0, off = 0;
		uint64_t max, n = 0, seen = 0;
		int nrec = 1 + (int)(rng() % 12);

		cr_assert_not_null(tc);
		setup4(&t);
		memcpy(wf, t.fields, sizeof wf);
		wf[4].name = "x";
		wf[4].type = REC_INT;
		whole.fields = wf;
		whole.nfields = 5;
		/* What the rule reads is never dropped. */
		for (int i = 1; i < 5; i++)
			t.drop[i] = rng() % 3 == 0;
		t.null_text = rng() % 4 == 0 ? "NA" : NULL;
		plan(&g, &t);
		o = (struct csvfast_options){
			.schema = &t.schema, .col = t.col, .ncols = t.ncols,
			.exact_cols = t.exact, .delimiter = t.delim,
			.quote = t.quote, .nulls = &t.null_text,
			.nnulls = t.null_text ? 1 : 0,
			.max_record = t.max_record,
			.max_fields = CSV_DEFAULT_MAX_FIELDS, .drop = t.drop,
			.whole = &whole,
		};
		cr_assert_eq(csvfast_plan(&f, &o), 0);
		cr_assert(f.enc);
		for (int r = 0; r < nrec; r++) {
			char num[32];
			const char *tok;

			if (rng() % 10 == 0) {
				tok = PICK(extra);
				append(buf, &len, sizeof buf, tok, strlen(tok));
				continue;
			}
			snprintf(num, sizeof num, "%d,", (int)(rng() % 40) - 5);
			append(buf, &len, sizeof buf, num, strlen(num));
			tok = rng() % 4 == 0 ? PICK(text_tokens) : "r064";
			append(buf, &len, sizeof buf, tok, strlen(tok));
			append(buf, &len, sizeof buf, ",2025-09-28,", 12);
			tok = rng() % 4 == 0 ? PICK(float_tokens) : "590.64";
			append(buf, &len, sizeof buf, tok, strlen(tok));
			append(buf, &len, sizeof buf, "\n", 1);
		}
		/* The general path's values, record by record. */
		tc->t = &t;
		while (tc->ngv < NREC && off < len) {
			size_t glen = 0;

			if (general(&t, buf + off, len - off, &glen,
				    tc->gv[tc->ngv]) != GEN_VALUES)
				break;
			tc->ngv++;
			off += glen;
		}
		room = rng() % 4 == 0 ? rng() % 200 : 1024;
		max = rng() % 3 == 0 ? rng() % 6 : UINT64_MAX;
		slack = rng() % 3 == 0 ? rng() % 300 : 0;
		memset(got, GUARD_BYTE, sizeof got);
		why = csvfast_encode_then(&f, buf, len, got, room, max, slack,
					  tc->v, then_rule, tc, &b);
		for (size_t i = room; i < room + GUARD; i++)
			cr_assert_eq(got[i], GUARD_BYTE,
				     "batch wrote past its room %zu", room);
		/* The same walk, record by record, on the general values. */
		for (;;) {
			struct rec_value x[MAXF], fv[MAXF];
			size_t e, w;
			enum csvfast_verdict d;

			if (n == max) {
				cr_assert_eq(why, CSVFAST_LIMIT);
				break;
			}
			e = csvfast_record(&g, buf + used, len - used, fv);
			if (e == 0) {
				/* It may find no room before it declines. */
				cr_assert(why == CSVFAST_DECLINED ||
					  why == CSVFAST_NO_ROOM, "stop %d",
					  (int)why);
				break;
			}
			cr_assert_lt(seen, (uint64_t)tc->ngv);
			memcpy(x, tc->gv[seen], sizeof x);
			x[4].null = true;
			if (rec_encoded_size_dropping(&whole, x, t.drop) >
			    room - pos) {
				cr_assert_eq(why, CSVFAST_NO_ROOM);
				break;
			}
			d = rule(x);
			if (d == CSVFAST_REFUSE) {
				cr_assert_eq(why, CSVFAST_REFUSED);
				break;
			}
			used += e;
			seen++;
			if (d == CSVFAST_DROP) {
				dropped++;
				continue;
			}
			w = rec_encode_dropping(&whole, x, t.drop, want + pos,
						room - pos);
			if (w == 0) {
				cr_assert_eq(why, CSVFAST_NO_ROOM);
				used -= e;
				seen--;
				break;
			}
			pos += w;
			n++;
			kept++;
			if (room - pos < slack) {
				cr_assert_eq(why, CSVFAST_LIMIT);
				break;
			}
		}
		cr_assert_eq(b.records, n, "%" PRIu64 " records, not %" PRIu64,
			     b.records, n);
		cr_assert_eq(b.seen, seen);
		cr_assert_eq(b.used, used);
		cr_assert_eq(b.len, pos);
		cr_assert(memcmp(got, want, pos) == 0, "encoding differs");
		stops[why]++;
		csvfast_free(&f);
		csvfast_free(&g);
		free(tc);
	}
	cr_assert_gt(dropped, rounds / 4);
	cr_assert_gt(kept, rounds);
	for (int i = 0; i < 4; i++)
		cr_assert_gt(stops[i], rounds / 40, "stop %d: %d", i, stops[i]);
}
