/*
 * test_pgbin.c - the binary COPY reader of providers/pgbin.c without a
 * server: the header, tuples and values it refuses (a malformed stream
 * must never be read past its bytes), and texts the server's own edge
 * cases in test_postgres.c do not reach (every byte of a bad numeric).
 * That the values equal the text path's is proved against a real server
 * in test_postgres.c.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "../providers/pgbin.h"

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
	cr_assert_not(pgbin_pair_ok(PGBIN_NONE, REC_TEXT));
	cr_assert_eq(pgbin_kind(700, true), PGBIN_NONE);   /* float4 */
	cr_assert_eq(pgbin_kind(1184, false), PGBIN_NONE); /* timestamptz */
	cr_assert_eq(pgbin_kind(1184, true), PGBIN_TIMESTAMPTZ);
	cr_assert_eq(pgbin_kind(1042, false), PGBIN_TEXT); /* bpchar */
}
