/*
 * test_pgbin.c - the binary COPY reader of providers/pgbin.c without a
 * server: the header, tuples and values it refuses (a malformed stream
 * must never be read past its bytes), and texts the server's own edge
 * cases in test_postgres.c do not reach (every byte of a bad numeric).
 * That the values equal the text path's is proved against a real server
 * in test_postgres.c; here, on many random values, that every direct
 * conversion equals conv_text() of the text pgbin_text() writes, and that
 * random bytes never make the reader step outside them.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/convert.h"
#include "../common/tz.h"
#include "../providers/pgbin.h"

/* Fewer iterations under the sanitizers. */
static int scale(int n)
{
	const char *s = getenv("AGG_TEST_SCALE");

	return s != NULL && strcmp(s, "asan") == 0 ? n / 10 : n;
}

/* A deterministic xorshift generator: failures can be replayed. */
static uint64_t rng_state = UINT64_C(0x2545f4914f6cdd1d);

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void put_be(unsigned char *p, uint64_t v, size_t n)
{
	for (size_t k = 0; k < n; k++)
		p[k] = (unsigned char)(v >> (8 * (n - 1 - k)));
}

#define HDR "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0"
#define HDRLEN 19

Test(pgbin, header)
{
	unsigned char h[64];

	memcpy(h, HDR, HDRLEN);
	cr_assert_eq(pgbin_header(h, HDRLEN), HDRLEN);
	cr_assert_eq(pgbin_header(h, HDRLEN - 1), -1);
	/* A header extension is skipped; one past the message is refused. */
	h[18] = 4;
	cr_assert_eq(pgbin_header(h, HDRLEN + 4), HDRLEN + 4);
	cr_assert_eq(pgbin_header(h, HDRLEN + 3), -1);
	h[18] = 0;
	/* Bits 0-15 of the flags may be ignored, 16-31 may not (OIDs). */
	h[13] = 0x80;
	h[14] = 1;
	cr_assert_eq(pgbin_header(h, HDRLEN), HDRLEN);
	h[13] = 0;
	h[14] = 0;
	h[12] = 1;
	cr_assert_eq(pgbin_header(h, HDRLEN), -1);
	h[12] = 0;
	h[11] = 0x80;
	cr_assert_eq(pgbin_header(h, HDRLEN), -1);
	h[11] = 0;
	h[15] = 0x80; /* a negative extension length */
	cr_assert_eq(pgbin_header(h, HDRLEN), -1);
	h[15] = 0;
	h[6] = 'X';
	cr_assert_eq(pgbin_header(h, HDRLEN), -1);
}

Test(pgbin, tuples)
{
	/* 2 fields: NULL, then 3 bytes "abc". */
	static const unsigned char ok[] = { 0, 2, 0xff, 0xff, 0xff, 0xff,
					    0, 0, 0, 3, 'a', 'b', 'c' };
	static const unsigned char trailer[] = { 0xff, 0xff };
	const unsigned char *val[3];
	uint32_t len[3];
	unsigned char bad[sizeof ok];

	cr_assert_eq(pgbin_tuple(ok, sizeof ok, 2, val, len), 0);
	cr_assert_null(val[0]);
	cr_assert_eq(len[1], 3);
	cr_assert_eq(memcmp(val[1], "abc", 3), 0);
	cr_assert_eq(pgbin_tuple(trailer, 2, 2, val, len), 1);
	cr_assert_eq(pgbin_tuple(ok, sizeof ok, 3, val, len), -1);
	/* Cut anywhere, or one byte too many: refused. */
	for (size_t n = 0; n < sizeof ok; n++)
		cr_assert_eq(pgbin_tuple(ok, n, 2, val, len), -1, "n %zu", n);
	cr_assert_eq(pgbin_tuple((const unsigned char *)"\xff\xff\0", 3, 2,
				 val, len), -1);
	/* A length past the end, and a negative one other than -1. */
	memcpy(bad, ok, sizeof ok);
	bad[9] = 4;
	cr_assert_eq(pgbin_tuple(bad, sizeof bad, 2, val, len), -1);
	memcpy(bad, ok, sizeof ok);
	bad[5] = 0xfe;
	cr_assert_eq(pgbin_tuple(bad, sizeof bad, 2, val, len), -1);
}

Test(pgbin, values_are_checked)
{
	static const unsigned char b2[] = { 2 };
	/* numeric 1.5: ndigits 2, weight 0, +, dscale 1, digits 1, 5000 */
	unsigned char n[] = { 0, 2, 0, 0, 0, 0, 0, 1, 0, 1, 0x13, 0x88 };
	char text[64];

	cr_assert_eq(pgbin_check(PGBIN_INT4, (const unsigned char *)"\0\0\0\1",
				 4), 0);
	cr_assert_eq(pgbin_check(PGBIN_INT4, (const unsigned char *)"\0\0\0\1",
				 3), -1);
	cr_assert_eq(pgbin_check(PGBIN_INT8, (const unsigned char *)"\0\0\0\1",
				 4), -1);
	cr_assert_eq(pgbin_check(PGBIN_BOOL, b2, 1), -1);
	cr_assert_eq(pgbin_check(PGBIN_NONE, b2, 1), -1);
	cr_assert_eq(pgbin_check(PGBIN_NUMERIC, n, sizeof n), 0);
	cr_assert_leq(pgbin_text_size(PGBIN_NUMERIC, n, sizeof n), sizeof text);
	pgbin_text(PGBIN_NUMERIC, n, sizeof n, text);
	cr_assert_str_eq(text, "1.5");
	cr_assert_eq(pgbin_check(PGBIN_NUMERIC, n, sizeof n - 1), -1);
	n[1] = 3; /* more digits than bytes */
	cr_assert_eq(pgbin_check(PGBIN_NUMERIC, n, sizeof n), -1);
	n[1] = 2;
	n[10] = 0x27; /* 0x2788 = 10120: not a base-10000 digit */
	cr_assert_eq(pgbin_check(PGBIN_NUMERIC, n, sizeof n), -1);
	n[10] = 0x13;
	n[4] = 0x80; /* no such sign */
	cr_assert_eq(pgbin_check(PGBIN_NUMERIC, n, sizeof n), -1);
	n[4] = 0xC0; /* NaN with digits */
	cr_assert_eq(pgbin_check(PGBIN_NUMERIC, n, sizeof n), -1);
	n[4] = 0;
	n[6] = 0x40; /* dscale past numeric's limit */
	cr_assert_eq(pgbin_check(PGBIN_NUMERIC, n, sizeof n), -1);
}

Test(pgbin, pairs)
{
	cr_assert(pgbin_pair_ok(PGBIN_FLOAT8, REC_FLOAT));
	cr_assert_not(pgbin_pair_ok(PGBIN_FLOAT8, REC_TEXT));
	cr_assert_not(pgbin_pair_ok(PGBIN_FLOAT8, REC_INT));
	cr_assert_not(pgbin_has_text(PGBIN_FLOAT8));
	cr_assert(pgbin_pair_ok(PGBIN_NUMERIC, REC_TEXT));
	cr_assert(pgbin_pair_ok(PGBIN_NUMERIC, REC_DECIMAL));
	cr_assert(pgbin_pair_ok(PGBIN_INT8, REC_DECIMAL));
	cr_assert(pgbin_pair_ok(PGBIN_DATE, REC_DATE));
	cr_assert(pgbin_pair_ok(PGBIN_TIMESTAMPTZ, REC_DATE));
	cr_assert_not(pgbin_pair_ok(PGBIN_FLOAT8, REC_DECIMAL));
	cr_assert_not(pgbin_pair_ok(PGBIN_NONE, REC_TEXT));
	cr_assert_eq(pgbin_kind(700, true), PGBIN_NONE);   /* float4 */
	cr_assert_eq(pgbin_kind(1184, false), PGBIN_NONE); /* timestamptz */
	cr_assert_eq(pgbin_kind(1184, true), PGBIN_TIMESTAMPTZ);
	cr_assert_eq(pgbin_kind(1042, false), PGBIN_TEXT); /* bpchar */
}

/*
 * A date into a date is its day count; a wall-clock time (date, timestamp
 * without time zone) into a field in a zone is declined (its text is read
 * in the zone); an instant is not.
 */
Test(pgbin, dates_direct_and_wall_clocks_in_a_zone_through_text)
{
	/* 2024-02-29: 8825 days after 2000-01-01; 12:00 that day. */
	static const unsigned char day[4] = { 0, 0, 0x22, 0x79 };
	static const unsigned char noon[8] = { 0x00, 0x02, 0xb5, 0x82, 0xc4,
					       0x78, 0x10, 0x00 };
	char err[256];
	struct tz *paris = tz_load("Europe/Paris", err, sizeof err);
	struct rec_field date = { .type = REC_DATE };
	struct rec_field ts = { .type = REC_TIMESTAMP };
	struct rec_field zoned = { .type = REC_TIMESTAMP, .tz = paris };
	struct rec_value v;
	char text[64];

	cr_assert_not_null(paris, "%s", err);
	cr_assert(pgbin_value(PGBIN_DATE, &date, day, 4, &v));
	conv_format_date(v.u.i, text);
	cr_assert_str_eq(text, "2024-02-29");
	cr_assert(pgbin_value(PGBIN_DATE, &ts, day, 4, &v));
	cr_assert_not(pgbin_value(PGBIN_DATE, &zoned, day, 4, &v));
	pgbin_text(PGBIN_TIMESTAMP, noon, 8, text);
	cr_assert_str_eq(text, "2024-02-29 12:00:00");
	cr_assert(pgbin_value(PGBIN_TIMESTAMP, &ts, noon, 8, &v));
	cr_assert_not(pgbin_value(PGBIN_TIMESTAMP, &zoned, noon, 8, &v));
	cr_assert(pgbin_value(PGBIN_TIMESTAMPTZ, &zoned, noon, 8, &v));
	cr_assert_not(pgbin_value(PGBIN_TIMESTAMP, &date, noon, 8, &v));
	tz_free(paris);
}

/*
 * The value pgbin_value() gives directly must be what conv_text() gives
 * for the value's text (the server's text is pgbin_text()'s: that part is
 * test_postgres.c's), and a value it declines must be one conv_text()
 * rejects or reads differently typed.
 */
static void expect_direct_is_text(enum pgbin_kind k, const unsigned char *p,
				  size_t len)
{
	static const struct rec_field types[] = {
		{ .type = REC_INT }, { .type = REC_FLOAT },
		{ .type = REC_TEXT }, { .type = REC_BOOL },
		{ .type = REC_TIMESTAMP }, { .type = REC_DATE },
		{ .type = REC_DECIMAL, .prec = 38, .scale = 6 },
	};
	size_t size = pgbin_text_size(k, p, len);
	char *text = malloc(size), reason[CONV_REASON_MAX];
	size_t n;

	cr_assert_not_null(text);
	n = pgbin_text(k, p, len, text);
	cr_assert_lt(n, size);
	cr_assert_eq(strlen(text), n);
	for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
		struct rec_value direct, via;
		int rc = conv_text(&types[t], text, n, &via, reason,
				   sizeof reason);

		if (!pgbin_value(k, &types[t], p, len, &direct))
			continue;
		cr_assert_eq(rc, 0, "%s \"%s\" into %s: direct, but %s",
			     pgbin_kind_name(k), text, rec_type_name(types[t].type),
			     reason);
		switch (types[t].type) {
		case REC_DECIMAL:
			cr_assert(rec_dec(&direct) == rec_dec(&via), "\"%s\"",
				  text);
			break;
		case REC_FLOAT:
			cr_assert(memcmp(&direct.u.f, &via.u.f,
					 sizeof via.u.f) == 0, "%s \"%s\"",
				  pgbin_kind_name(k), text);
			break;
		case REC_BOOL:
			cr_assert_eq(direct.u.b, via.u.b, "\"%s\"", text);
			break;
		default:
			cr_assert_eq(direct.u.i, via.u.i, "%s \"%s\" into %s",
				     pgbin_kind_name(k), text,
				     rec_type_name(types[t].type));
		}
	}
	free(text);
}

Test(pgbin, direct_values_equal_their_text, .timeout = 60)
{
	unsigned char b[8];
	int n = scale(200000);

	for (int i = 0; i < n; i++) {
		uint64_t v = rng();
		int shift = (int)(rng() % 64);

		/* Small and large magnitudes, both signs. */
		v = (v >> shift) ^ (rng() & 1 ? UINT64_MAX : 0);
		put_be(b, v, 2);
		expect_direct_is_text(PGBIN_INT2, b, 2);
		put_be(b, v, 4);
		expect_direct_is_text(PGBIN_INT4, b, 4);
		expect_direct_is_text(PGBIN_DATE, b, 4);
		put_be(b, v, 8);
		expect_direct_is_text(PGBIN_INT8, b, 8);
		/* Timestamps within PostgreSQL's range, around year 1 and 9999. */
		put_be(b, v % UINT64_C(10000000000000000000) -
			  UINT64_C(5000000000000000000), 8);
		expect_direct_is_text(PGBIN_TIMESTAMP, b, 8);
		expect_direct_is_text(PGBIN_TIMESTAMPTZ, b, 8);
	}
	/* The edges: year 1 and 9999, the infinities. */
	static const int64_t ts[] = { INT64_C(-63082281600000000),
				      INT64_C(-63082281600000000) - 1,
				      INT64_C(252455616000000000) - 1,
				      INT64_C(252455616000000000),
				      INT64_MIN, INT64_MAX, 0, -1 };
	for (size_t k = 0; k < sizeof ts / sizeof *ts; k++) {
		put_be(b, (uint64_t)ts[k], 8);
		expect_direct_is_text(PGBIN_TIMESTAMP, b, 8);
		expect_direct_is_text(PGBIN_TIMESTAMPTZ, b, 8);
	}
	static const int32_t days[] = { -730119, -730120, 2921939, 2921940,
					INT32_MIN, INT32_MAX, 0, -1 };
	for (size_t k = 0; k < sizeof days / sizeof *days; k++) {
		put_be(b, (uint32_t)days[k], 4);
		expect_direct_is_text(PGBIN_DATE, b, 4);
	}
	b[0] = 1;
	expect_direct_is_text(PGBIN_BOOL, b, 1);
	b[0] = 0;
	expect_direct_is_text(PGBIN_BOOL, b, 1);
}

/* Random bytes: whatever is accepted is written within its size. */
Test(pgbin, random_bytes_stay_inside, .timeout = 60)
{
	static const enum pgbin_kind kinds[] = {
		PGBIN_INT2, PGBIN_INT4, PGBIN_INT8, PGBIN_FLOAT8, PGBIN_BOOL,
		PGBIN_TEXT, PGBIN_DATE, PGBIN_TIMESTAMP, PGBIN_TIMESTAMPTZ,
		PGBIN_NUMERIC,
	};
	int n = scale(100000);

	for (int i = 0; i < n; i++) {
		size_t len = rng() % 24;
		unsigned char *p = malloc(len ? len : 1);
		const unsigned char *val[4];
		uint32_t vlen[4];

		for (size_t k = 0; k < len; k++)
			p[k] = (unsigned char)rng();
		/* Numerics with few digits, small dscale: well-formed often. */
		if (len >= 8 && rng() % 2) {
			p[0] = 0;
			p[1] = (unsigned char)((len - 8) / 2);
			p[4] &= 0x40;
			p[5] = 0;
			p[6] &= 0x01;
			for (size_t k = 8; k + 1 < len; k += 2)
				put_be(p + k, rng() % 10000, 2);
		}
		(void)pgbin_header(p, len);
		(void)pgbin_tuple(p, len, (int)(rng() % 4), val, vlen);
		for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
			size_t size;
			char *text;

			if (pgbin_check(kinds[k], p, len) < 0 ||
			    kinds[k] == PGBIN_FLOAT8)
				continue;
			size = pgbin_text_size(kinds[k], p, len);
			text = malloc(size);
			cr_assert_not_null(text);
			cr_assert_lt(pgbin_text(kinds[k], p, len, text), size);
			free(text);
		}
		free(p);
	}
}
