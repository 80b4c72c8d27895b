/*
 * test_csv.c - the streaming CSV parser (providers/csv.c): every RFC 4180
 * case, CRLF and LF, custom delimiter and quote, malformed records and
 * resuming after them, limits, line numbers and offsets, and the promise
 * that the same bytes split at any boundaries parse the same.
 *
 * Records are compared as a text dump (one line per record with its
 * fields, flags, lines and offsets), so a mismatch shows the whole story.
 * Every chunk is fed from its own heap copy that is scribbled over and
 * freed as soon as the parser asks for more, so a record that still points
 * into an old chunk shows up (wrong bytes, or ASan in the sanitizer build).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../providers/csv.h"
#include "helpers/testutil.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static uint64_t rng_state = UINT64_C(0x2545f4914f6cdd1d);

static uint64_t rng(void)
{
	return tu_rng(&rng_state);
}

/* --- a growable text dump --------------------------------------------- */

struct dump {
	char *p;
	size_t len, cap;
};

static void dump_put(struct dump *d, const char *s, size_t n)
{
	if (d->len + n + 1 > d->cap) {
		d->cap = (d->len + n + 1) * 2;
		d->p = realloc(d->p, d->cap);
		cr_assert_not_null(d->p);
	}
	memcpy(d->p + d->len, s, n);
	d->len += n;
	d->p[d->len] = '\0';
}

static void dump_str(struct dump *d, const char *s)
{
	dump_put(d, s, strlen(s));
}

/* Bytes made visible: \n \r \0 and the escape itself spelled out. */
static void dump_bytes(struct dump *d, const char *s, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		char b[8];

		if (s[k] == '\n')
			dump_str(d, "\\n");
		else if (s[k] == '\r')
			dump_str(d, "\\r");
		else if (s[k] == '\\')
			dump_str(d, "\\\\");
		else if ((unsigned char)s[k] < 0x20 || s[k] == '|' ||
			 s[k] == '[' || s[k] == ']') {
			snprintf(b, sizeof b, "\\x%02x", (unsigned char)s[k]);
			dump_str(d, b);
		} else {
			dump_put(d, &s[k], 1);
		}
	}
}

static void dump_record(struct dump *d, int rc, const struct csv_record *r)
{
	char b[128];

	snprintf(b, sizeof b, "%s %llu-%llu @%llu-%llu ",
		 rc == CSV_RECORD ? "R" : "M", (unsigned long long)r->line,
		 (unsigned long long)r->next_line,
		 (unsigned long long)r->offset,
		 (unsigned long long)r->end_offset);
	dump_str(d, b);
	if (rc == CSV_RECORD) {
		for (size_t k = 0; k < r->nfields; k++) {
			dump_str(d, r->fields[k].quoted ? "[q:" : "[");
			dump_bytes(d, r->fields[k].p, r->fields[k].len);
			dump_str(d, "]");
		}
	} else {
		dump_str(d, r->reason);
	}
	dump_str(d, " raw=");
	dump_bytes(d, r->raw, r->raw_len);
	dump_str(d, "\n");
}

/*
 * Parse input fed as chunks ending at the given cut points (ascending,
 * each within 0..len); cuts == NULL with ncuts == SIZE_MAX feeds one byte
 * at a time.  Returns the dump (caller frees).
 */
static char *parse_cuts(const struct csv_options *o, const char *input,
			size_t len, const size_t *cuts, size_t ncuts)
{
	struct csv_parser *p = csv_new(o);
	struct dump d = { 0 };
	size_t from = 0, k = 0;
	bool bytewise = cuts == NULL && ncuts == SIZE_MAX;

	cr_assert_not_null(p);
	dump_str(&d, "");
	for (;;) {
		size_t to;
		char *chunk;
		struct csv_record r;
		int rc;

		if (bytewise)
			to = from < len ? from + 1 : len;
		else
			to = k < ncuts ? cuts[k++] : len;
		chunk = malloc(to - from + 1);
		cr_assert_not_null(chunk);
		memcpy(chunk, input + from, to - from);
		csv_feed(p, chunk, to - from);
		if (to == len)
			csv_finish(p);
		while ((rc = csv_next(p, &r)) == CSV_RECORD || rc == CSV_MALFORMED)
			dump_record(&d, rc, &r);
		cr_assert(rc == CSV_MORE || rc == CSV_END, "rc %d", rc);
		memset(chunk, '#', to - from);
		free(chunk);
		if (rc == CSV_END)
			break;
		cr_assert_lt(from, len + 1);
		cr_assert(to < len, "parser wants more after finish");
		from = to;
	}
	csv_free(p);
	return d.p;
}

static char *parse_whole(const struct csv_options *o, const char *in, size_t len)
{
	return parse_cuts(o, in, len, NULL, 0);
}

/* Parse whole, then split at every single point and byte by byte. */
static char *parse_every_split(const struct csv_options *o, const char *in,
			       size_t len)
{
	char *whole = parse_whole(o, in, len), *other;

	for (size_t cut = 0; cut <= len; cut++) {
		other = parse_cuts(o, in, len, &cut, 1);
		cr_assert_str_eq(other, whole, "split at %zu", cut);
		free(other);
	}
	other = parse_cuts(o, in, len, NULL, SIZE_MAX);
	cr_assert_str_eq(other, whole, "byte by byte");
	free(other);
	return whole;
}

static const struct csv_options rfc = { .delimiter = ',', .quote = '"' };

static void expect(const struct csv_options *o, const char *in, size_t len,
		   const char *want)
{
	char *got = parse_every_split(o, in, len);

	cr_assert_str_eq(got, want);
	free(got);
}

/* --- RFC 4180 --------------------------------------------------------- */

Test(csv, simple_records)
{
	expect(&rfc, S("a,b,c\n1,2,3\n"),
	       "R 1-2 @0-6 [a][b][c] raw=a,b,c\n"
	       "R 2-3 @6-12 [1][2][3] raw=1,2,3\n");
}

Test(csv, last_line_without_newline)
{
	expect(&rfc, S("a,b\n1,2"),
	       "R 1-2 @0-4 [a][b] raw=a,b\n"
	       "R 2-2 @4-7 [1][2] raw=1,2\n");
}

Test(csv, crlf)
{
	expect(&rfc, S("a,b\r\n1,\"2\"\r\n\"x\"\r\n"),
	       "R 1-2 @0-5 [a][b] raw=a,b\n"
	       "R 2-3 @5-12 [1][q:2] raw=1,\"2\"\n"
	       "R 3-4 @12-17 [q:x] raw=\"x\"\n");
}

Test(csv, crlf_at_eof_without_lf)
{
	expect(&rfc, S("a,b\r"), "R 1-1 @0-4 [a][b] raw=a,b\n");
	expect(&rfc, S("\"a\"\r"), "R 1-1 @0-4 [q:a] raw=\"a\"\n");
}

Test(csv, lone_cr_is_data)
{
	expect(&rfc, S("a\rb,c\rd\n"),
	       "R 1-2 @0-8 [a\\rb][c\\rd] raw=a\\rb,c\\rd\n");
}

Test(csv, quoted_fields)
{
	expect(&rfc,
	       S("\"a,b\",\"say \"\"hi\"\"\",\"\"\"\",\"\",x\n"),
	       "R 1-2 @0-29 [q:a,b][q:say \"hi\"][q:\"][q:][x] "
	       "raw=\"a,b\",\"say \"\"hi\"\"\",\"\"\"\",\"\",x\n");
}

Test(csv, embedded_newlines_count_lines)
{
	expect(&rfc, S("\"a\nb\",\"c\r\nd\"\ne,f\n"),
	       "R 1-4 @0-13 [q:a\\nb][q:c\\r\\nd] raw=\"a\\nb\",\"c\\r\\nd\"\n"
	       "R 4-5 @13-17 [e][f] raw=e,f\n");
}

Test(csv, empty_fields_and_blank_lines)
{
	expect(&rfc, S(",,\n\n\r\n\"\"\n"),
	       "R 1-2 @0-3 [][][] raw=,,\n"
	       "R 2-3 @3-4 [] raw=\n"
	       "R 3-4 @4-6 [] raw=\n"
	       "R 4-5 @6-9 [q:] raw=\"\"\n");
}

Test(csv, empty_input)
{
	expect(&rfc, "", 0, "");
	expect(&rfc, S("\n"), "R 1-2 @0-1 [] raw=\n");
}

Test(csv, trailing_delimiter_at_eof)
{
	expect(&rfc, S("a,"), "R 1-1 @0-2 [a][] raw=a,\n");
}

Test(csv, nul_bytes_are_data)
{
	expect(&rfc, S("a\0b,\"c\0\"\n"),
	       "R 1-2 @0-9 [a\\x00b][q:c\\x00] raw=a\\x00b,\"c\\x00\"\n");
}

Test(csv, custom_delimiter_and_quote)
{
	struct csv_options o = { .delimiter = ';', .quote = '\'' };
	struct csv_options tab = { .delimiter = '\t', .quote = '"' };

	expect(&o, S("a;'b;c';'it''s'\n\"x\",y\n"),
	       "R 1-2 @0-16 [a][q:b;c][q:it's] raw=a;'b;c';'it''s'\n"
	       "R 2-3 @16-22 [\"x\",y] raw=\"x\",y\n");
	expect(&tab, S("a\tb,c\t\"d\te\"\n"),
	       "R 1-2 @0-12 [a][b,c][q:d\\x09e] raw=a\\x09b,c\\x09\"d\\x09e\"\n");
}

Test(csv, quoting_off)
{
	struct csv_options o = { .delimiter = ',', .quote = '\0' };

	expect(&o, S("a\"b,\"c\"\n"),
	       "R 1-2 @0-8 [a\"b][\"c\"] raw=a\"b,\"c\"\n");
}

/* --- malformed records ------------------------------------------------ */

Test(csv, quote_in_unquoted_field)
{
	expect(&rfc, S("ok,1\na\"b,\"c\nnext,2\n"),
	       "R 1-2 @0-5 [ok][1] raw=ok,1\n"
	       "M 2-3 @5-12 quote in unquoted field 1 raw=a\"b,\"c\n"
	       "R 3-4 @12-19 [next][2] raw=next,2\n");
}

Test(csv, text_after_closing_quote)
{
	expect(&rfc, S("x,\"ab\"c,\"d\ne,f\n"),
	       "M 1-2 @0-11 text after closing quote of field 2 raw=x,\"ab\"c,\"d\n"
	       "R 2-3 @11-15 [e][f] raw=e,f\n");
	expect(&rfc, S("\"ab\"\rc\nd\n"),
	       "M 1-2 @0-7 text after closing quote of field 1 raw=\"ab\"\\rc\n"
	       "R 2-3 @7-9 [d] raw=d\n");
}

Test(csv, eof_inside_quotes)
{
	expect(&rfc, S("a,b\n1,\"open\nmore"),
	       "R 1-2 @0-4 [a][b] raw=a,b\n"
	       "M 2-3 @4-16 end of input inside quoted field 2 raw=1,\"open\\nmore\n");
}

Test(csv, record_too_large)
{
	struct csv_options o = rfc;
	char *got;

	o.max_record = 8;
	/* 8 bytes fit, 9 do not; the next line parses again. */
	expect(&o, S("12345678\n123456789\nab\n"),
	       "R 1-2 @0-9 [12345678] raw=12345678\n"
	       "M 2-3 @9-19 record larger than 8 bytes raw=12345678\n"
	       "R 3-4 @19-22 [ab] raw=ab\n");
	/* CRLF does not count against the limit. */
	expect(&o, S("12345678\r\nab\n"),
	       "R 1-2 @0-10 [12345678] raw=12345678\n"
	       "R 2-3 @10-13 [ab] raw=ab\n");
	/* An unbalanced quote: the record is cut at the limit, then the
	 * parser skips to the next LF and goes on from there. */
	expect(&o, S("\"abcdefghij\nklm\nx,y\n"),
	       "M 1-2 @0-12 record larger than 8 bytes raw=\"abcdefg\n"
	       "R 2-3 @12-16 [klm] raw=klm\n"
	       "R 3-4 @16-20 [x][y] raw=x,y\n");
	/* A long malformed line is cut the same way. */
	got = parse_every_split(&o, S("a\"bcdefghijklmnop\nz\n"));
	cr_assert_str_eq(got,
			 "M 1-2 @0-18 quote in unquoted field 1 raw=a\"bcdefg\n"
			 "R 2-3 @18-20 [z] raw=z\n");
	free(got);
}

Test(csv, too_many_fields)
{
	struct csv_options o = rfc;

	o.max_fields = 3;
	expect(&o, S("a,b,c\na,b,c,d\n1\n"),
	       "R 1-2 @0-6 [a][b][c] raw=a,b,c\n"
	       "M 2-3 @6-14 more than 3 fields raw=a,b,c,d\n"
	       "R 3-4 @14-16 [1] raw=1\n");
}

/* --- API -------------------------------------------------------------- */

Test(csv, bad_options)
{
	struct csv_options same = { .delimiter = '"', .quote = '"' };
	struct csv_options nl = { .delimiter = '\n', .quote = '"' };
	struct csv_options nul = { .delimiter = '\0', .quote = '"' };
	struct csv_options crq = { .delimiter = ',', .quote = '\r' };

	errno = 0;
	cr_assert_null(csv_new(&same));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(csv_new(&nl));
	cr_assert_null(csv_new(&nul));
	cr_assert_null(csv_new(&crq));
}

Test(csv, reset_sets_offset_and_line)
{
	struct csv_parser *p = csv_new(&rfc);
	struct csv_record r;
	static const char part1[] = "a,\"b";
	static const char part2[] = "x,y\nz\n";

	cr_assert_not_null(p);
	csv_feed(p, part1, sizeof part1 - 1);
	cr_assert_eq(csv_next(p, &r), CSV_MORE);
	/* Resume elsewhere: the partial record is forgotten. */
	csv_reset(p, 1000, 40);
	csv_feed(p, part2, sizeof part2 - 1);
	cr_assert_eq(csv_next(p, &r), CSV_RECORD);
	cr_assert_eq(r.nfields, 2);
	cr_assert_eq(r.line, 40);
	cr_assert_eq(r.offset, 1000);
	cr_assert_eq(r.end_offset, 1004);
	cr_assert_eq(csv_next(p, &r), CSV_RECORD);
	cr_assert_eq(r.line, 41);
	cr_assert_eq(r.next_line, 42);
	cr_assert_eq(r.end_offset, 1006);
	cr_assert_eq(csv_next(p, &r), CSV_MORE);
	csv_finish(p);
	cr_assert_eq(csv_next(p, &r), CSV_END);
	cr_assert_eq(csv_next(p, &r), CSV_END);
	csv_free(p);
}

Test(csv, finish_without_new_buffer)
{
	struct csv_parser *p = csv_new(&rfc);
	struct csv_record r;
	static const char a[] = "1,2\n3,\"4";
	static const char b[] = "5\"";

	cr_assert_not_null(p);
	csv_feed(p, a, sizeof a - 1);
	cr_assert_eq(csv_next(p, &r), CSV_RECORD);
	cr_assert_eq(csv_next(p, &r), CSV_MORE);
	csv_feed(p, b, sizeof b - 1);
	cr_assert_eq(csv_next(p, &r), CSV_MORE);
	csv_finish(p);
	cr_assert_eq(csv_next(p, &r), CSV_RECORD);
	cr_assert_eq(r.nfields, 2);
	cr_assert_eq(r.fields[1].len, 2);
	cr_assert_eq(memcmp(r.fields[1].p, "45", 2), 0);
	cr_assert_eq(r.raw_len, 6);
	cr_assert_eq(memcmp(r.raw, "3,\"45\"", 6), 0);
	cr_assert_eq(csv_next(p, &r), CSV_END);
	csv_free(p);
}

Test(csv, fields_point_into_the_buffer_fed)
{
	struct csv_parser *p = csv_new(&rfc);
	struct csv_record r;
	static const char in[] = "abc,\"de\"\n";

	cr_assert_not_null(p);
	csv_feed(p, in, sizeof in - 1);
	cr_assert_eq(csv_next(p, &r), CSV_RECORD);
	/* Zero copy when the record lies within the buffer. */
	cr_assert_eq(r.fields[0].p, in);
	cr_assert_eq(r.fields[1].p, in + 5);
	cr_assert_eq(r.raw, in);
	csv_free(p);
}

/* --- fuzzing-style properties ------------------------------------------ */

Test(csv, random_bytes_parse_the_same_however_split)
{
	static const char alphabet[] = "ab,,\"\"\n\r;";
	struct csv_options small = rfc;
	int rounds = tu_scale(400);

	small.max_record = 12;
	small.max_fields = 5;
	for (int k = 0; k < rounds; k++) {
		char in[48];
		size_t len = rng() % sizeof in;
		char *got;

		for (size_t j = 0; j < len; j++)
			in[j] = alphabet[rng() % (sizeof alphabet - 1)];
		got = parse_every_split(k % 2 ? &small : &rfc, in, len);
		free(got);
	}
}

Test(csv, arbitrary_bytes_never_crash)
{
	int rounds = tu_scale(2000);

	for (int k = 0; k < rounds; k++) {
		char in[64];
		size_t len = rng() % sizeof in, cut;
		char *a, *b;

		for (size_t j = 0; j < len; j++)
			in[j] = (char)(rng() & 0xff);
		cut = len ? rng() % len : 0;
		a = parse_whole(&rfc, in, len);
		b = parse_cuts(&rfc, in, len, &cut, 1);
		cr_assert_str_eq(a, b);
		free(a);
		free(b);
	}
}

/* Write fields as RFC 4180 CSV, quoting when needed (or at random). */
static size_t write_field(char *out, const char *f, size_t n, bool force)
{
	bool quote = force;
	size_t o = 0;

	for (size_t k = 0; k < n; k++)
		if (f[k] == ',' || f[k] == '"' || f[k] == '\n' || f[k] == '\r')
			quote = true;
	if (!quote) {
		memcpy(out, f, n);
		return n;
	}
	out[o++] = '"';
	for (size_t k = 0; k < n; k++) {
		out[o++] = f[k];
		if (f[k] == '"')
			out[o++] = '"';
	}
	out[o++] = '"';
	return o;
}

Test(csv, random_valid_csv_round_trips)
{
	static const char alphabet[] = "xy ,\"\n\r\t";
	int rounds = tu_scale(3000);

	for (int k = 0; k < rounds; k++) {
		char fields[6][8], text[256];
		size_t flen[6], nf = 1 + rng() % 6, o = 0;
		bool forced[6];
		struct csv_parser *p = csv_new(&rfc);
		struct csv_record r;
		size_t cut;
		int rc;

		cr_assert_not_null(p);
		for (size_t f = 0; f < nf; f++) {
			flen[f] = rng() % sizeof fields[f];
			for (size_t j = 0; j < flen[f]; j++)
				fields[f][j] =
					alphabet[rng() % (sizeof alphabet - 1)];
			forced[f] = rng() % 4 == 0;
			if (f > 0)
				text[o++] = ',';
			o += write_field(text + o, fields[f], flen[f], forced[f]);
		}
		/* A lone empty unquoted field is a blank line: skip that case. */
		if (nf == 1 && o == 0)
			text[o++] = ',';
		memcpy(text + o, rng() % 2 ? "\r\n" : "\n", 2);
		o += text[o] == '\r' ? 2 : 1;

		cut = rng() % (o + 1);
		csv_feed(p, text, cut);
		rc = csv_next(p, &r);
		if (rc == CSV_MORE) {
			csv_feed(p, text + cut, o - cut);
			rc = csv_next(p, &r);
		}
		cr_assert_eq(rc, CSV_RECORD);
		if (nf == 1 && flen[0] == 0 && !forced[0]) {
			cr_assert_eq(r.nfields, 2);
		} else {
			cr_assert_eq(r.nfields, nf, "%.*s", (int)o, text);
			for (size_t f = 0; f < nf; f++) {
				cr_assert_eq(r.fields[f].len, flen[f]);
				cr_assert_eq(memcmp(r.fields[f].p, fields[f],
						    flen[f]), 0);
			}
		}
		cr_assert_eq(r.end_offset, o);
		csv_free(p);
	}
}

Test(csv, big_input_in_buffers)
{
	/* Many records across many 4 KiB buffers: every one comes back. */
	int rows = tu_scale(50000);
	struct csv_parser *p = csv_new(&rfc);
	struct dump d = { 0 };
	size_t from = 0;
	int seen = 0;
	struct csv_record r;
	int rc;

	cr_assert_not_null(p);
	for (int k = 0; k < rows; k++) {
		char line[64];
		int n = snprintf(line, sizeof line,
				 k % 3 ? "%d,name %d,%d.5\n" :
					 "%d,\"quoted \"\"%d\"\"\n\",%d.5\r\n",
				 k, k, k);

		dump_put(&d, line, (size_t)n);
	}
	while (from < d.len) {
		size_t n = d.len - from < 4096 ? d.len - from : 4096;

		csv_feed(p, d.p + from, n);
		from += n;
		if (from == d.len)
			csv_finish(p);
		while ((rc = csv_next(p, &r)) == CSV_RECORD) {
			char want[32];
			int wl = snprintf(want, sizeof want, "%d", seen);

			cr_assert_eq(r.nfields, 3);
			cr_assert_eq(r.fields[0].len, (size_t)wl);
			cr_assert_eq(memcmp(r.fields[0].p, want, (size_t)wl), 0);
			seen++;
		}
		cr_assert(rc == CSV_MORE || rc == CSV_END);
	}
	cr_assert_eq(seen, rows);
	cr_assert_eq(r.end_offset, d.len);
	free(d.p);
	csv_free(p);
}
