/*
 * test_convert.c - the value converters of common/convert.c: strict
 * parsers, every type conversion, timestamps (zones, leap years, bad
 * dates), and the shortest round-trip float format on many random doubles.
 */
#include <criterion/criterion.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/convert.h"
#include "../common/decimal.h"
#include "../common/tsfmt.h"
#include "../common/tz.h"
#include "helpers/testutil.h"

#define S(lit) (lit), (sizeof(lit) - 1)

/* A field of type t with no parameters. */
#define FT(t) (&(const struct rec_field){ .type = (t) })

/* Fewer iterations under the sanitizers. */
/* A deterministic xorshift generator: failures can be replayed. */
static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rng(void)
{
	return tu_rng(&rng_state);
}

/* --- int -------------------------------------------------------------- */

Test(convert, parse_int_accepts)
{
	static const struct {
		const char *s;
		int64_t v;
	} ok[] = {
		{ "0", 0 },
		{ "-0", 0 },
		{ "+5", 5 },
		{ "007", 7 },
		{ "-42", -42 },
		{ "9223372036854775807", INT64_MAX },
		{ "-9223372036854775808", INT64_MIN },
	};

	for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
		int64_t v = 12345;

		cr_assert_eq(conv_parse_int(ok[k].s, strlen(ok[k].s), &v), 0,
			     "%s", ok[k].s);
		cr_assert_eq(v, ok[k].v, "%s", ok[k].s);
	}
}

Test(convert, parse_int_rejects)
{
	static const char *const bad[] = {
		"", "-", "+", "12.5", "12.0", " 1", "1 ", "1a", "0x10", "1e3",
		"9223372036854775808", "-9223372036854775809",
		"99999999999999999999999", "--1", "+-1",
	};

	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		int64_t v;

		cr_assert_eq(conv_parse_int(bad[k], strlen(bad[k]), &v), -1,
			     "%s", bad[k]);
	}
}

Test(convert, parse_int_reads_only_len_bytes)
{
	int64_t v;

	/* Not NUL-terminated: the digits after len must not count. */
	cr_assert_eq(conv_parse_int("123456", 3, &v), 0);
	cr_assert_eq(v, 123);
}

/* --- float ------------------------------------------------------------ */

Test(convert, parse_float_accepts)
{
	static const struct {
		const char *s;
		double v;
	} ok[] = {
		{ "0", 0.0 },        { "0.1", 0.1 },     { "-1.5E-3", -1.5e-3 },
		{ ".5", 0.5 },       { "5.", 5.0 },      { "+2e+2", 200.0 },
		{ "1e300", 1e300 },  { "12", 12.0 },     { "1e-400", 0.0 },
		{ "4.9406564584124654e-324", 4.9406564584124654e-324 },
		{ "1.7976931348623157e308", DBL_MAX },
	};

	for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
		double v = -99;

		cr_assert_eq(conv_parse_float(ok[k].s, strlen(ok[k].s), &v), 0,
			     "%s", ok[k].s);
		cr_assert_eq(v, ok[k].v, "%s", ok[k].s);
	}
}

Test(convert, parse_float_rejects)
{
	static const char *const bad[] = {
		"", "+", "-", ".", "e5", "1e", "1e+", "0x10", "inf", "-inf",
		"nan", "NaN", "infinity", "1.2.3", "1,5", " 1", "1 ", "1e999",
		"-1e999", "1f", "--1",
	};
	char huge[600];

	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		double v;

		cr_assert_eq(conv_parse_float(bad[k], strlen(bad[k]), &v), -1,
			     "%s", bad[k]);
	}
	memset(huge, '1', sizeof huge);
	{
		double v;

		cr_assert_eq(conv_parse_float(huge, sizeof huge, &v), -1);
	}
}

Test(convert, parse_float_reads_only_len_bytes)
{
	double v;

	cr_assert_eq(conv_parse_float("1.25e3", 4, &v), 0);
	cr_assert_eq(v, 1.25);
}

/*
 * The parser's fast path (few digits, small exponent: one exact IEEE
 * operation) must give bit for bit what strtod gives, including the sign
 * of zero, on many random decimal strings around the path's limits.
 */
Test(convert, parse_float_matches_strtod)
{
	int n = tu_scale(200000);

	for (int k = 0; k < n; k++) {
		char s[64];
		size_t len = 0;
		uint64_t r = rng();
		int intd = (int)(r % 12), fracd = (int)((r >> 8) % 12);
		double v, want;

		if ((r >> 16) % 4 == 0)
			s[len++] = '-';
		for (int i = 0; i < intd; i++)
			s[len++] = (char)('0' + rng() % 10);
		if (fracd > 0 || intd == 0) {
			s[len++] = '.';
			for (int i = 0; i < fracd || (intd == 0 && i == 0); i++)
				s[len++] = (char)('0' + rng() % 10);
		}
		if ((r >> 24) % 3 == 0)
			len += (size_t)snprintf(s + len, sizeof s - len, "e%d",
						(int)((r >> 32) % 61) - 30);
		s[len] = '\0';
		cr_assert_eq(conv_parse_float(s, len, &v), 0, "%s", s);
		want = strtod(s, NULL);
		cr_assert(memcmp(&v, &want, sizeof v) == 0,
			  "%s: got %.17g, strtod %.17g", s, v, want);
	}
}

/* --- bool ------------------------------------------------------------- */

Test(convert, parse_bool)
{
	static const char *const yes[] = { "true", "TRUE", "True", "t", "T",
					   "yes", "YES", "y", "Y", "1", "on",
					   "ON" };
	static const char *const no[] = { "false", "FALSE", "f", "F", "no",
					  "No", "n", "N", "0", "off", "OFF" };
	static const char *const bad[] = { "", "2", "truee", "tru", "of",
					   "yess", " true", "-1", "10" };
	bool b;

	for (size_t k = 0; k < sizeof yes / sizeof yes[0]; k++) {
		b = false;
		cr_assert_eq(conv_parse_bool(yes[k], strlen(yes[k]), &b), 0,
			     "%s", yes[k]);
		cr_assert(b, "%s", yes[k]);
	}
	for (size_t k = 0; k < sizeof no / sizeof no[0]; k++) {
		b = true;
		cr_assert_eq(conv_parse_bool(no[k], strlen(no[k]), &b), 0,
			     "%s", no[k]);
		cr_assert(!b, "%s", no[k]);
	}
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		cr_assert_eq(conv_parse_bool(bad[k], strlen(bad[k]), &b), -1,
			     "%s", bad[k]);
	/* Length, not NUL, ends the word. */
	cr_assert_eq(conv_parse_bool("yesterday", 3, &b), 0);
	cr_assert(b);
}

/* --- UTF-8 ------------------------------------------------------------ */

Test(convert, utf8_valid)
{
	cr_assert(conv_utf8_valid(S("")));
	cr_assert(conv_utf8_valid(S("plain ascii text, long enough")));
	cr_assert(conv_utf8_valid(S("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")));
	cr_assert(conv_utf8_valid(S("\xed\x9f\xbf")));     /* U+D7FF */
	cr_assert(conv_utf8_valid(S("\xee\x80\x80")));     /* U+E000 */
	cr_assert(conv_utf8_valid(S("\xf4\x8f\xbf\xbf"))); /* U+10FFFF */
}

Test(convert, utf8_invalid)
{
	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
		{ S("\xc0\x80") },             /* overlong NUL */
		{ S("\xc1\xbf") },             /* overlong */
		{ S("\xe0\x9f\xbf") },         /* overlong 3-byte */
		{ S("\xf0\x8f\xbf\xbf") },     /* overlong 4-byte */
		{ S("\xed\xa0\x80") },         /* surrogate */
		{ S("\xf4\x90\x80\x80") },     /* past U+10FFFF */
		{ S("\xf5\x80\x80\x80") },
		{ S("\xff") },
		{ S("\x80") },                 /* lone continuation */
		{ S("abc\xc3") },              /* truncated */
		{ S("\xe2\x82") },             /* truncated */
		{ S("\xc3\x28") },             /* bad continuation */
		{ S("12345678\xc3") },         /* after the 8-byte fast path */
		{ S("a\0b") },                 /* NUL */
		{ S("0123456789abc\0def") },   /* NUL inside a fast-path word */
	};

	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		cr_assert(!conv_utf8_valid(bad[k].s, bad[k].len), "case %zu", k);
}

/*
 * Every length up to 24 and every position: one bad byte (NUL, a lone
 * continuation, a truncated lead) or one good two-byte sequence anywhere,
 * so that the overlapping word tests of short text and of the last bytes
 * are each crossed by a byte they must catch.
 */
Test(convert, utf8_every_length_and_position)
{
	static const unsigned char bad[] = { 0x00, 0x80, 0xc3, 0xff };
	char s[32];

	for (size_t len = 1; len <= 24; len++) {
		memset(s, 'a', len);
		cr_assert(conv_utf8_valid(s, len), "len %zu", len);
		for (size_t k = 0; k < len; k++) {
			for (size_t b = 0; b < sizeof bad; b++) {
				memset(s, 'a', len);
				s[k] = (char)bad[b];
				cr_assert(!conv_utf8_valid(s, len),
					  "len %zu, byte %#x at %zu", len,
					  bad[b], k);
			}
			if (k + 1 < len) {
				memset(s, 'a', len);
				s[k] = (char)0xc3;
				s[k + 1] = (char)0xa9;
				cr_assert(conv_utf8_valid(s, len),
					  "len %zu, e-acute at %zu", len, k);
			}
		}
	}
}

/*
 * The reference for conv_utf8_seq(): RFC 3629's decoding by the bits (the
 * lead byte's high ones give the length, each other byte is 10xxxxxx and
 * gives six bits), then its rules on the code point: no overlong form (the
 * shortest length only), no surrogate, nothing past U+10FFFF.  ASCII is
 * not a multi-byte sequence: 0, as conv_utf8_seq() says.
 */
static size_t ref_utf8_seq(const unsigned char *p, size_t avail)
{
	static const uint32_t least[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	uint32_t cp;
	size_t n;

	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[k] & 0x3f);
	}
	if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * Every first and second byte, with the third and fourth at each edge of
 * a continuation byte's range and of the second bytes' special ranges,
 * every length the bytes may be cut to.
 */
Test(convert, utf8_seq_as_rfc3629)
{
	static const unsigned char edge[] = {
		0x00, 0x3f, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0,
		0xf4, 0xff,
	};
	const size_t ne = sizeof edge / sizeof edge[0];
	unsigned char s[4];

	for (unsigned b0 = 0; b0 < 256; b0++) {
		for (unsigned b1 = 0; b1 < 256; b1++) {
			for (size_t i = 0; i < ne * ne; i++) {
				s[0] = (unsigned char)b0;
				s[1] = (unsigned char)b1;
				s[2] = edge[i / ne];
				s[3] = edge[i % ne];
				for (size_t avail = 1; avail <= 4; avail++)
					cr_assert_eq(conv_utf8_seq(s, avail),
						     ref_utf8_seq(s, avail),
						     "%02x %02x %02x %02x, %zu",
						     s[0], s[1], s[2], s[3],
						     avail);
			}
		}
	}
}

/* Every code point's encoding: its length, or 0 for a surrogate. */
Test(convert, utf8_seq_every_code_point)
{
	unsigned char s[4];

	for (uint32_t cp = 0x80; cp <= 0x10ffff; cp++) {
		size_t n = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;

		/* Six bits a continuation byte, from the last. */
		for (size_t k = n - 1; k > 0; k--)
			s[k] = (unsigned char)(0x80 |
					       ((cp >> (6 * (n - 1 - k))) & 0x3f));
		s[0] = (unsigned char)((0xff00 >> n) | cp >> (6 * (n - 1)));
		cr_assert_eq(conv_utf8_seq(s, n),
			     cp >= 0xd800 && cp <= 0xdfff ? 0 : n,
			     "U+%04X", (unsigned)cp);
		cr_assert_eq(conv_utf8_seq(s, n - 1), 0, "U+%04X cut",
			     (unsigned)cp);
	}
}

/* --- timestamps ------------------------------------------------------- */

Test(convert, timestamp_accepts)
{
	static const struct {
		const char *s;
		int64_t us;
	} ok[] = {
		{ "1970-01-01", 0 },
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2026-11-22T03:00:01Z", INT64_C(1795316401000000) },
		{ "2026-11-22t03:00:01z", INT64_C(1795316401000000) },
		{ "2026-11-22 03:00:01", INT64_C(1795316401000000) },
		{ "2026-11-22T03:00:01+02:00", INT64_C(1795309201000000) },
		{ "2026-11-22T03:00:01+0200", INT64_C(1795309201000000) },
		{ "2026-11-22T03:00:01+02", INT64_C(1795309201000000) },
		{ "2026-11-22 03:00:01+02", INT64_C(1795309201000000) },
		{ "2026-11-22T01:00:01-00:00", INT64_C(1795309201000000) },
		{ "2026-11-22T00:30:01-0030", INT64_C(1795309201000000) },
		{ "2000-03-01T12:34:56.5-05:30", INT64_C(951933896500000) },
		{ "2000-03-01 12:34:56.500000-05:30", INT64_C(951933896500000) },
		{ "2024-02-29", INT64_C(1709164800000000) },
		{ "0001-01-01T00:00:00Z", INT64_C(-62135596800000000) },
		{ "9999-12-31T23:59:59.999999Z", INT64_C(253402300799999999) },
		{ "1969-12-31T23:59:59Z", -1000000 },
		{ "1900-03-01", INT64_C(-2203891200000000) },
		{ "1970-01-01T00:00:00.000001Z", 1 },
		{ "1970-01-01T00:00:00.1234567Z", 123456 },  /* truncated */
		{ "1970-01-01T00:00:00.123456789Z", 123456 },
		{ "1970-01-01T00:00:00.9999999Z", 999999 },  /* not rounded up */
	};

	for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
		int64_t us = 42;

		cr_assert_eq(conv_parse_timestamp(ok[k].s, strlen(ok[k].s), &us),
			     0, "%s", ok[k].s);
		cr_assert_eq(us, ok[k].us, "%s: %lld", ok[k].s, (long long)us);
	}
}

Test(convert, timestamp_leap_years)
{
	int64_t us;

	cr_assert_eq(conv_parse_timestamp(S("2000-02-29"), &us), 0);
	cr_assert_eq(conv_parse_timestamp(S("2024-02-29"), &us), 0);
	cr_assert_eq(conv_parse_timestamp(S("1600-02-29"), &us), 0);
	cr_assert_eq(conv_parse_timestamp(S("2023-02-29"), &us), -1);
	cr_assert_eq(conv_parse_timestamp(S("1900-02-29"), &us), -1);
	cr_assert_eq(conv_parse_timestamp(S("2100-02-29"), &us), -1);
	cr_assert_eq(conv_parse_timestamp(S("2024-02-30"), &us), -1);
}

Test(convert, timestamp_rejects)
{
	static const char *const bad[] = {
		"", "2026", "2026-11", "2026-11-2", "2026-1-22", "26-11-22",
		"0000-01-01", "10000-01-01", "2026-00-10", "2026-13-10",
		"2026-11-00", "2026-11-31", "2026-04-31", "2026-11-22T",
		"2026-11-22T03:00", "2026-11-22T03:00Z", "2026-11-22T24:00:00Z",
		"2026-11-22T23:60:00Z", "2026-11-22T23:59:60Z",
		"2026-11-22T03:00:01.Z", "2026-11-22T03:00:01.1234567890Z",
		"2026-11-22T03:00:01+2", "2026-11-22T03:00:01+02:0",
		"2026-11-22T03:00:01+24:00", "2026-11-22T03:00:01+02:60",
		"2026-11-22T03:00:01+02:00x", "2026-11-22T03:00:01ZZ",
		"2026-11-22T03:00:01 Z", "2026-11-22 ", "2026-11-22Z",
		"2026-11-22X03:00:01", "2026/11/22", "abcd-ef-gh",
		"2026-11-22T03:00:01+020", "2026-11-22T03:00:01 +02:00",
		"2026-11-22  03:00:01",
	};

	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		int64_t us;

		cr_assert_eq(conv_parse_timestamp(bad[k], strlen(bad[k]), &us),
			     -1, "%s", bad[k]);
	}
}

Test(convert, timestamp_format)
{
	static const struct {
		int64_t us;
		const char *s;
	} cases[] = {
		{ 0, "1970-01-01T00:00:00Z" },
		{ 1, "1970-01-01T00:00:00.000001Z" },
		{ 500000, "1970-01-01T00:00:00.5Z" },
		{ 120000, "1970-01-01T00:00:00.12Z" },
		{ -1, "1969-12-31T23:59:59.999999Z" },
		{ -1000000, "1969-12-31T23:59:59Z" },
		{ INT64_C(1795316401000000), "2026-11-22T03:00:01Z" },
		{ INT64_C(-62135596800000000), "0001-01-01T00:00:00Z" },
		{ INT64_C(253402300799999999), "9999-12-31T23:59:59.999999Z" },
		{ INT64_C(951933896500000), "2000-03-01T18:04:56.5Z" },
	};
	char out[CONV_TS_MAX];

	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		size_t n = conv_format_timestamp(cases[k].us, out);

		cr_assert_str_eq(out, cases[k].s);
		cr_assert_eq(n, strlen(cases[k].s));
	}
}

Test(convert, timestamp_format_extremes_fit)
{
	char out[CONV_TS_MAX];

	/* Outside 0001-9999 only by offsets or sums; never overflow out. */
	cr_assert_lt(conv_format_timestamp(INT64_MIN, out), CONV_TS_MAX);
	cr_assert_lt(conv_format_timestamp(INT64_MAX, out), CONV_TS_MAX);
	conv_format_timestamp(INT64_C(-62135596800000000) - 3600 * INT64_C(1000000),
			      out);
	cr_assert_str_eq(out, "0000-12-31T23:00:00Z");
}

Test(convert, timestamp_round_trip_random)
{
	const int64_t lo = INT64_C(-62135596800000000);
	const int64_t hi = INT64_C(253402300799999999);
	int n = tu_scale(200000);

	for (int k = 0; k < n; k++) {
		int64_t us = lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1)), back;
		char out[CONV_TS_MAX];
		size_t len;

		/* Whole seconds now and then, to cover the no-fraction form. */
		if (k % 3 == 0)
			us -= ((us % 1000000) + 1000000) % 1000000;
		len = conv_format_timestamp(us, out);
		cr_assert_eq(conv_parse_timestamp(out, len, &back), 0, "%s", out);
		cr_assert_eq(back, us, "%s", out);
	}
}

Test(convert, timestamp_every_day_matches_civil_calendar)
{
	/* Walk day by day over 1600-2400: each date formats and parses back. */
	int64_t days = -135140; /* 1600-01-01 */
	int y = 1600, m = 1, d = 1;
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	while (y < 2400) {
		char want[32], out[CONV_TS_MAX];
		int64_t us;
		int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

		snprintf(want, sizeof want, "%04d-%02d-%02d", y, m, d);
		cr_assert_eq(conv_parse_timestamp(want, 10, &us), 0, "%s", want);
		cr_assert_eq(us, days * INT64_C(86400000000), "%s", want);
		conv_format_timestamp(us, out);
		cr_assert_eq(strncmp(out, want, 10), 0, "%s vs %s", out, want);
		days++;
		if (++d > dim[m - 1] + (m == 2 && leap)) {
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
		}
	}
}

/*
 * conv_days_from_civil_ce() (the CSV fast path's timestamps) is
 * conv_days_from_civil() on every day of every year 1 to 9999, and a day
 * after the one before.
 */
Test(convert, days_from_civil_ce_is_the_general_one)
{
	int64_t last = conv_days_from_civil(1, 1, 1) - 1;

	for (unsigned y = 1; y <= 9999; y++)
		for (unsigned m = 1; m <= 12; m++)
			for (unsigned d = 1; d <= conv_days_in_month(y, m); d++) {
				int64_t days = conv_days_from_civil_ce(y, m, d);

				cr_assert_eq(days, conv_days_from_civil(y, m, d),
					     "%u-%u-%u", y, m, d);
				cr_assert_eq(days, last + 1, "%u-%u-%u", y, m, d);
				last = days;
			}
}

/* --- float formatting ------------------------------------------------- */

Test(convert, format_float_cases)
{
	static const struct {
		double d;
		const char *s;
	} cases[] = {
		{ 0.0, "0" },
		{ -0.0, "-0" },
		{ 0.1, "0.1" },
		{ 1e300, "1e+300" },
		{ 100.0, "100" },
		{ 12.5, "12.5" },
		{ -2.25, "-2.25" },
		{ 1.0 / 3.0, "0.3333333333333333" },
		{ 0.1 + 0.2, "0.30000000000000004" },
		{ 5e-324, "5e-324" },
		{ 1e21, "1e+21" },
		{ 1.5e-7, "1.5e-07" },
		{ DBL_MAX, "1.7976931348623157e+308" },
		{ 9007199254740993.0, "9007199254740992" },
	};
	char out[CONV_FLOAT_MAX];

	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		size_t n = conv_format_float(cases[k].d, out);

		cr_assert_str_eq(out, cases[k].s);
		cr_assert_eq(n, strlen(out));
	}
}

/* What conv_format_float() writes, the printf way: %.15g, 16, 17. */
static void format_by_printf(double d, char *out, size_t cap)
{
	for (int prec = fabs(d) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
		snprintf(out, cap, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

/* The short-decimal path must write exactly what printf would. */
static void expect_printf_form(double d)
{
	char got[CONV_FLOAT_MAX], want[64];

	conv_format_float(d, got);
	format_by_printf(d, want, sizeof want);
	cr_assert_str_eq(got, want, "%.17g", d);
}

Test(convert, format_float_is_the_printf_form)
{
	static const double edges[] = {
		1e-4, 1e15, 0.1, 0.5, 1, 10, 99.99, 123456789012345.0,
		999999999999999.0, 100000000000000.0, 0.00015, 0.000999,
		590.64, 2.675, 1.005, 4.35, 0.3, 1e14 + 0.5, 0.0001234567890123,
		9007199254740992.0, 1e-5, 123.456e-3, 3.0e-4,
	};
	int n = tu_scale(300000);

	for (size_t k = 0; k < sizeof edges / sizeof edges[0]; k++) {
		double e = edges[k];

		expect_printf_form(e);
		expect_printf_form(-e);
		expect_printf_form(nextafter(e, 0));
		expect_printf_form(nextafter(e, INFINITY));
	}
	for (int k = 0; k < n; k++) {
		uint64_t bits = rng();
		double d, p = 1;
		int s = (int)(bits % 23), digits = (int)((bits >> 8) % 17) + 1;
		uint64_t m = (bits >> 16) % 10000000000000000ULL;

		/* Short decimals m / 10^s of up to 16 digits, and neighbours. */
		for (int z = 16; z > digits; z--)
			m /= 10;
		for (int j = 0; j < s; j++)
			p *= 10;
		d = (double)m / p;
		if (bits >> 63)
			d = -d;
		expect_printf_form(d);
		expect_printf_form(nextafter(d, 0));
		/* Any double in the fast path's range. */
		d = ldexp((double)(bits >> 11) / 9007199254740992.0 + 0.5,
			  (int)(bits % 70) - 17);
		expect_printf_form(d);
	}
}

/*
 * The 16- and 17-digit forms, which the exact 128-bit path writes: sums of
 * two-decimal amounts (a group's float sum), powers of two and their
 * neighbours (the narrower interval below 2^n), neighbours of powers of
 * ten (rounding that carries to a new digit), halves past the 15th digit
 * (ties), against glibc's printf.
 */
Test(convert, format_float_exact_path_is_the_printf_form)
{
	int n = tu_scale(200000);

	for (int e = -13; e <= 50; e++) {
		double t = ldexp(1, e);

		expect_printf_form(t);
		expect_printf_form(nextafter(t, 0));
		expect_printf_form(nextafter(t, INFINITY));
		expect_printf_form(-nextafter(t, 0));
	}
	for (int e = -4; e <= 15; e++) {
		double t = pow(10, e), u = t;

		for (int j = 0; j < 8; j++) {
			u = nextafter(u, 0);
			expect_printf_form(u);
		}
		expect_printf_form(nextafter(t, INFINITY));
	}
	for (int k = 0; k < n; k++) {
		uint64_t bits = rng();
		double sum = 0;
		int64_t big = (int64_t)(bits % 10000000000000000ULL);

		for (int j = 0; j < 5; j++)
			sum += (double)(int64_t)(rng() % 100000) / 100.0;
		expect_printf_form(sum);
		expect_printf_form(-sum);
		/* 16 digits then a half: k + 0.5 for k < 2^52, ties at p = 16. */
		expect_printf_form((double)(big / 10) + 0.5);
		expect_printf_form((double)(big % 1000000000000000LL) / 4.0);
		/* Any double from 1e-4 to 1e15, uniform in its bits. */
		expect_printf_form(ldexp((double)(bits >> 11) / 9007199254740992.0
					 + 0.5, (int)(bits % 64) - 13));
	}
}

/* Significant digits of a %g-style number. */
static int sig_digits(const char *s)
{
	int n = 0, started = 0, trailing_zeros = 0;

	for (; *s && *s != 'e'; s++) {
		if (*s < '0' || *s > '9')
			continue;
		if (*s == '0' && !started)
			continue;
		started = 1;
		n++;
		trailing_zeros = *s == '0' ? trailing_zeros + 1 : 0;
	}
	return n - trailing_zeros;
}

Test(convert, format_float_round_trips_random)
{
	int n = tu_scale(200000);

	for (int k = 0; k < n; k++) {
		uint64_t bits = rng();
		char out[CONV_FLOAT_MAX], shorter[400];
		double d, back;
		int digits;

		/* Half raw bit patterns, half "ordinary" decimal-ish values. */
		if (k % 2 == 0) {
			memcpy(&d, &bits, sizeof d);
			if (!isfinite(d))
				continue;
		} else {
			d = (double)(int64_t)(bits % 2000000001) / 1000.0 - 1e6;
		}
		conv_format_float(d, out);
		cr_assert_eq(conv_parse_float(out, strlen(out), &back), 0, "%s", out);
		cr_assert(back == d && signbit(back) == signbit(d),
			  "%s does not read back as %.17g", out, d);
		/* Shortest: one digit fewer must not read back. */
		digits = sig_digits(out);
		if (digits > 1) {
			snprintf(shorter, sizeof shorter, "%.*g", digits - 1, d);
			cr_assert_neq(strtod(shorter, NULL), d,
				      "%s is shorter than %s", shorter, out);
		}
	}
}

/* --- conversions ------------------------------------------------------ */

Test(convert, text_into_every_type)
{
	struct rec_value v;
	char reason[CONV_REASON_MAX];

	cr_assert_eq(conv_text(FT(REC_INT), S(" 42 "), &v, reason, sizeof reason), 0);
	cr_assert(!v.null);
	cr_assert_eq(v.u.i, 42);
	cr_assert_eq(conv_text(FT(REC_FLOAT), S("\t12.5\r\n"), &v, reason,
			       sizeof reason), 0);
	cr_assert_eq(v.u.f, 12.5);
	cr_assert_eq(conv_text(FT(REC_FLOAT), S("12"), &v, reason, sizeof reason), 0);
	cr_assert_eq(v.u.f, 12.0);
	cr_assert_eq(conv_text(FT(REC_BOOL), S(" Yes"), &v, reason, sizeof reason), 0);
	cr_assert(v.u.b);
	cr_assert_eq(conv_text(FT(REC_TIMESTAMP), S(" 2026-11-22T03:00:01Z "), &v,
			       reason, sizeof reason), 0);
	cr_assert_eq(v.u.i, INT64_C(1795316401000000));

	/* Text keeps its blanks and points at the caller's bytes. */
	{
		const char *s = " caf\xc3\xa9 ";

		cr_assert_eq(conv_text(FT(REC_TEXT), s, strlen(s), &v, reason,
				       sizeof reason), 0);
		cr_assert_eq(v.u.s.p, s);
		cr_assert_eq(v.u.s.len, strlen(s));
	}
	cr_assert_eq(conv_text(FT(REC_TEXT), "", 0, &v, reason, sizeof reason), 0);
	cr_assert_eq(v.u.s.len, 0);
}

Test(convert, text_reasons)
{
	struct rec_value v;
	char reason[CONV_REASON_MAX];

	cr_assert_eq(conv_text(FT(REC_INT), S("abc"), &v, reason, sizeof reason), -1);
	cr_assert_str_eq(reason, "invalid int \"abc\"");
	cr_assert_eq(conv_text(FT(REC_INT), S("12.5"), &v, reason, sizeof reason), -1);
	cr_assert_str_eq(reason, "invalid int \"12.5\"");
	cr_assert_eq(conv_text(FT(REC_INT), S("12.0"), &v, reason, sizeof reason), -1);
	cr_assert_eq(conv_text(FT(REC_INT), S(""), &v, reason, sizeof reason), -1);
	cr_assert_str_eq(reason, "invalid int \"\"");
	cr_assert_eq(conv_text(FT(REC_INT), S("99999999999999999999"), &v, reason,
			       sizeof reason), -1);
	cr_assert_str_eq(reason, "int out of range \"99999999999999999999\"");
	cr_assert_eq(conv_text(FT(REC_FLOAT), S("1e999"), &v, reason, sizeof reason),
		     -1);
	cr_assert_str_eq(reason, "float out of range \"1e999\"");
	cr_assert_eq(conv_text(FT(REC_FLOAT), S("nan"), &v, reason, sizeof reason), -1);
	cr_assert_str_eq(reason, "invalid float \"nan\"");
	cr_assert_eq(conv_text(FT(REC_BOOL), S("maybe"), &v, reason, sizeof reason),
		     -1);
	cr_assert_str_eq(reason, "invalid bool \"maybe\"");
	cr_assert_eq(conv_text(FT(REC_TIMESTAMP), S("2023-02-29"), &v, reason,
			       sizeof reason), -1);
	cr_assert_str_eq(reason, "invalid timestamp \"2023-02-29\"");
	cr_assert_eq(conv_text(FT(REC_TEXT), S("a\xff"), &v, reason, sizeof reason),
		     -1);
	cr_assert_str_eq(reason, "invalid UTF-8");
	cr_assert_eq(conv_text(FT(REC_TEXT), S("a\0b"), &v, reason, sizeof reason), -1);
	cr_assert_str_eq(reason, "NUL byte in text");
}

Test(convert, reason_quotes_safely)
{
	struct rec_value v;
	char reason[CONV_REASON_MAX];
	char longval[300];

	/* Control bytes and bad UTF-8 come out as \xNN; UTF-8 stays. */
	cr_assert_eq(conv_text(FT(REC_INT), S("a\x01\xff\xc3\xa9"), &v, reason,
			       sizeof reason), -1);
	cr_assert_str_eq(reason, "invalid int \"a\\x01\\xff\xc3\xa9\"");
	cr_assert(conv_utf8_valid(reason, strlen(reason)));

	/* A long value is cut with "..." and the reason fits. */
	memset(longval, 'x', sizeof longval);
	cr_assert_eq(conv_text(FT(REC_INT), longval, sizeof longval, &v, reason,
			       sizeof reason), -1);
	cr_assert_lt(strlen(reason), sizeof reason - 1);
	cr_assert(strstr(reason, "...\"") != NULL, "%s", reason);

	/* A small buffer is never overrun. */
	{
		char tiny[8];

		memset(tiny, 'Z', sizeof tiny);
		cr_assert_eq(conv_text(FT(REC_INT), S("abcdefgh"), &v, tiny, 5), -1);
		cr_assert_eq(tiny[4], '\0');
		cr_assert_eq(tiny[5], 'Z');
	}
}

Test(convert, int_into_every_type)
{
	struct rec_value v;
	char reason[CONV_REASON_MAX], scratch[CONV_SCRATCH_MAX];

	cr_assert_eq(conv_int(FT(REC_INT), -7, &v, NULL, reason, sizeof reason), 0);
	cr_assert_eq(v.u.i, -7);
	cr_assert_eq(conv_int(FT(REC_FLOAT), 3, &v, NULL, reason, sizeof reason), 0);
	cr_assert_eq(v.u.f, 3.0);
	cr_assert_eq(conv_int(FT(REC_BOOL), 1, &v, NULL, reason, sizeof reason), 0);
	cr_assert(v.u.b);
	cr_assert_eq(conv_int(FT(REC_BOOL), 0, &v, NULL, reason, sizeof reason), 0);
	cr_assert(!v.u.b);
	cr_assert_eq(conv_int(FT(REC_BOOL), 2, &v, NULL, reason, sizeof reason), -1);
	cr_assert_str_eq(reason, "cannot convert int 2 to bool");
	cr_assert_eq(conv_int(FT(REC_TIMESTAMP), 5, &v, NULL, reason, sizeof reason),
		     -1);
	cr_assert_str_eq(reason, "cannot convert int 5 to timestamp");
	cr_assert_eq(conv_int(FT(REC_TEXT), INT64_MIN, &v, scratch, reason,
			      sizeof reason), 0);
	cr_assert_eq(v.u.s.p, scratch);
	cr_assert_eq(v.u.s.len, 20);
	cr_assert_eq(memcmp(v.u.s.p, "-9223372036854775808", 20), 0);
	cr_assert_eq(conv_int(FT(REC_TEXT), 1, &v, NULL, reason, sizeof reason), -1);
}

Test(convert, float_into_every_type)
{
	struct rec_value v;
	char reason[CONV_REASON_MAX], scratch[CONV_SCRATCH_MAX];

	cr_assert_eq(conv_float(FT(REC_FLOAT), 0.5, &v, NULL, reason, sizeof reason),
		     0);
	cr_assert_eq(v.u.f, 0.5);
	cr_assert_eq(conv_float(FT(REC_INT), 12.0, &v, NULL, reason, sizeof reason),
		     0);
	cr_assert_eq(v.u.i, 12);
	cr_assert_eq(conv_float(FT(REC_INT), -9223372036854775808.0, &v, NULL, reason,
				sizeof reason), 0);
	cr_assert_eq(v.u.i, INT64_MIN);
	cr_assert_eq(conv_float(FT(REC_INT), 9223372036854775808.0, &v, NULL, reason,
				sizeof reason), -1);
	cr_assert_str_eq(reason, "float 9.223372036854776e+18 is not in int range");
	cr_assert_eq(conv_float(FT(REC_INT), 12.5, &v, NULL, reason, sizeof reason),
		     -1);
	cr_assert_str_eq(reason, "float 12.5 is not an integer");
	cr_assert_eq(conv_float(FT(REC_BOOL), 1.0, &v, NULL, reason, sizeof reason),
		     0);
	cr_assert(v.u.b);
	cr_assert_eq(conv_float(FT(REC_BOOL), 0.5, &v, NULL, reason, sizeof reason),
		     -1);
	cr_assert_eq(conv_float(FT(REC_TIMESTAMP), 1.0, &v, NULL, reason,
				sizeof reason), -1);
	cr_assert_str_eq(reason, "cannot convert float 1 to timestamp");
	cr_assert_eq(conv_float(FT(REC_TEXT), 0.1, &v, scratch, reason, sizeof reason),
		     0);
	cr_assert_eq(v.u.s.p, scratch);
	cr_assert_eq(v.u.s.len, 3);
	cr_assert_eq(memcmp(v.u.s.p, "0.1", 3), 0);
	cr_assert_eq(conv_float(FT(REC_FLOAT), NAN, &v, NULL, reason, sizeof reason),
		     -1);
	cr_assert_str_eq(reason, "non-finite float");
	cr_assert_eq(conv_float(FT(REC_FLOAT), -INFINITY, &v, NULL, reason,
				sizeof reason), -1);
}

Test(convert, bool_into_every_type)
{
	struct rec_value v;
	char reason[CONV_REASON_MAX];

	cr_assert_eq(conv_bool(FT(REC_BOOL), true, &v, reason, sizeof reason), 0);
	cr_assert(v.u.b);
	cr_assert_eq(conv_bool(FT(REC_INT), true, &v, reason, sizeof reason), 0);
	cr_assert_eq(v.u.i, 1);
	cr_assert_eq(conv_bool(FT(REC_FLOAT), false, &v, reason, sizeof reason), 0);
	cr_assert_eq(v.u.f, 0.0);
	cr_assert_eq(conv_bool(FT(REC_TEXT), false, &v, reason, sizeof reason), 0);
	cr_assert_eq(v.u.s.len, 5);
	cr_assert_eq(memcmp(v.u.s.p, "false", 5), 0);
	cr_assert_eq(conv_bool(FT(REC_TIMESTAMP), true, &v, reason, sizeof reason),
		     -1);
	cr_assert_str_eq(reason, "cannot convert bool to timestamp");
}

/* --- decimal, date, timestamp formats and zones ------------------------ */

/* A decimal(p,s) field. */
static struct rec_field dec_field(int p, int s)
{
	return (struct rec_field){ .type = REC_DECIMAL, .prec = (uint8_t)p,
				   .scale = (uint8_t)s };
}

/*
 * What conv_text or conv_float made of a value for decimal(p,s), as the
 * oracle writes it: the digits, OVERFLOW or SYNTAX (read off the reason).
 */
static void dec_result(int rc, const struct rec_value *v, int p, int s,
		       const char *reason, char *out)
{
	char name[32], want[64];

	snprintf(name, sizeof name, "decimal(%d,%d)", p, s);
	if (rc == 0) {
		dec_format(rec_dec(v), s, out);
		return;
	}
	snprintf(want, sizeof want, "%s overflow \"", name);
	if (strncmp(reason, want, strlen(want)) == 0) {
		strcpy(out, "OVERFLOW");
		return;
	}
	snprintf(want, sizeof want, "invalid %s \"", name);
	cr_assert(strncmp(reason, want, strlen(want)) == 0, "reason %s", reason);
	strcpy(out, "SYNTAX");
}

Test(convert, text_and_doubles_into_decimal_match_python_decimal)
{
	char cmd[4096], *line = NULL, reason[CONV_REASON_MAX];
	char got[DEC_STR_MAX + 16], padded[256];
	size_t cap = 0;
	int lineno = 0, checked = 0;
	FILE *p;

	snprintf(cmd, sizeof cmd,
		 "python3 '%s/tests/fixtures/decimal_oracle.py' 20261207 %d",
		 tu_srcdir(), tu_scale(6000));
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (getline(&line, &cap, p) > 0) {
		char kind[16], text[200], want[64];
		int prec, scale, rc;
		struct rec_value v;
		struct rec_field f;

		lineno++;
		if (sscanf(line, "%15s %d %d %199s %63s", kind, &prec, &scale,
			   text, want) != 5)
			continue; /* sum and todouble: decimal.c's own test */
		f = dec_field(prec, scale);
		if (strcmp(kind, "parse") == 0) {
			if (strcmp(text, "<empty>") == 0)
				text[0] = '\0';
			/* Blanks around the digits are the converter's to cut. */
			snprintf(padded, sizeof padded, " %s\t", text);
			rc = conv_text(&f, padded, strlen(padded), &v, reason,
				       sizeof reason);
		} else if (strcmp(kind, "double") == 0) {
			rc = conv_float(&f, strtod(text, NULL), &v, NULL,
					reason, sizeof reason);
		} else {
			continue;
		}
		dec_result(rc, &v, prec, scale, reason, got);
		cr_assert_str_eq(got, want, "line %d: %s %s as decimal(%d,%d)",
				 lineno, kind, text, prec, scale);
		checked++;
	}
	free(line);
	cr_assert_eq(pclose(p), 0, "the oracle failed");
	/* Half the oracle's random cases parse text or a double. */
	cr_assert_gt(checked, tu_scale(6000) / 3, "only %d cases", checked);
}

Test(convert, decimal_reasons_and_typed_sources)
{
	struct rec_field f = dec_field(10, 2), tiny = dec_field(2, 2);
	struct rec_value v;
	char reason[CONV_REASON_MAX];

	cr_assert_eq(conv_text(&f, S("123456789012"), &v, reason,
			       sizeof reason), -1);
	cr_assert_str_eq(reason, "decimal(10,2) overflow \"123456789012\"");
	cr_assert_eq(conv_text(&f, S(" abc "), &v, reason, sizeof reason), -1);
	cr_assert_str_eq(reason, "invalid decimal(10,2) \"abc\"");
	cr_assert_eq(conv_text(&f, S("-0.005"), &v, reason, sizeof reason), 0);
	cr_assert(rec_dec(&v) == -1); /* half away from zero */
	cr_assert_eq(conv_text(&f, S("1.5e3"), &v, reason, sizeof reason), 0);
	cr_assert(rec_dec(&v) == 150000);

	/* An int exactly; past the integer digits an overflow. */
	cr_assert_eq(conv_int(&f, -42, &v, NULL, reason, sizeof reason), 0);
	cr_assert(rec_dec(&v) == -4200);
	cr_assert_eq(conv_int(&f, INT64_C(123456789012), &v, NULL, reason,
			      sizeof reason), -1);
	cr_assert_str_eq(reason, "decimal(10,2) overflow \"123456789012\"");
	{
		struct rec_field big = dec_field(38, 0);

		cr_assert_eq(conv_int(&big, INT64_MIN, &v, NULL, reason,
				      sizeof reason), 0);
		cr_assert(rec_dec(&v) == (__int128)INT64_MIN);
	}
	/* A double from its shortest digits: 0.1 is 0.10, not 0.1000000000000000055. */
	cr_assert_eq(conv_float(&f, 0.1, &v, NULL, reason, sizeof reason), 0);
	cr_assert(rec_dec(&v) == 10);
	cr_assert_eq(conv_float(&f, 2.675, &v, NULL, reason, sizeof reason), 0);
	cr_assert(rec_dec(&v) == 268); /* "2.675" rounds up, as its digits say */
	cr_assert_eq(conv_float(&f, 1e300, &v, NULL, reason, sizeof reason), -1);
	cr_assert_str_eq(reason, "decimal(10,2) overflow \"1e+300\"");
	cr_assert_eq(conv_float(&f, NAN, &v, NULL, reason, sizeof reason), -1);

	/* A bool as 0 and 1, as into float; 1 does not fit decimal(2,2). */
	cr_assert_eq(conv_bool(&f, true, &v, reason, sizeof reason), 0);
	cr_assert(rec_dec(&v) == 100);
	cr_assert_eq(conv_bool(&tiny, false, &v, reason, sizeof reason), 0);
	cr_assert(rec_dec(&v) == 0);
	cr_assert_eq(conv_bool(&tiny, true, &v, reason, sizeof reason), -1);
	cr_assert_str_eq(reason, "decimal(2,2) overflow \"true\"");
}

/*
 * A JSON number with a fraction reaches a decimal through jansson's
 * double: exact up to 15 significant digits, a reject past them (never a
 * value silently rounded), as conv_float() for every other type.
 */
Test(convert, json_reals_into_decimal_keep_their_digits_or_are_rejects)
{
	struct rec_field f = dec_field(20, 2), fl = { .type = REC_FLOAT };
	struct rec_value v;
	char reason[CONV_REASON_MAX];

	cr_assert_eq(conv_json_real(&f, 1234567890123.45, &v, NULL, reason,
				    sizeof reason), 0);
	cr_assert(rec_dec(&v) == (__int128)123456789012345);
	cr_assert_eq(conv_json_real(&f, 0.000000000000001, &v, NULL, reason,
				    sizeof reason), 0);
	cr_assert(rec_dec(&v) == 0);
	cr_assert_eq(conv_json_real(&f, 12345678901234567.89, &v, NULL,
				    reason, sizeof reason), -1);
	cr_assert_str_eq(reason, "JSON number 12345678901234568 has more than "
			 "15 significant digits for decimal(20,2): write it "
			 "as a string");
	cr_assert_eq(conv_json_real(&fl, 12345678901234567.89, &v, NULL,
				    reason, sizeof reason), 0);
	cr_assert(v.u.f == 12345678901234567.89);
}

/* A zone, loaded once per test process. */
static const struct tz *zone(const char *name)
{
	static struct {
		char name[64];
		struct tz *z;
	} cache[8];
	char err[256];

	for (size_t i = 0; i < sizeof cache / sizeof *cache; i++) {
		if (cache[i].z && strcmp(cache[i].name, name) == 0)
			return cache[i].z;
		if (!cache[i].z) {
			cache[i].z = tz_load(name, err, sizeof err);
			cr_assert_not_null(cache[i].z, "%s", err);
			snprintf(cache[i].name, sizeof cache[i].name, "%s", name);
			return cache[i].z;
		}
	}
	cr_assert_fail("too many zones");
	return NULL;
}

/* The date of conv_text into a date field in zone z, as "YYYY-MM-DD". */
static const char *date_in(const char *text, const char *z)
{
	static char out[CONV_REASON_MAX];
	struct rec_field f = { .type = REC_DATE, .tz = z ? zone(z) : NULL };
	struct rec_value v;
	char reason[CONV_REASON_MAX];

	if (conv_text(&f, text, strlen(text), &v, reason, sizeof reason) < 0) {
		snprintf(out, sizeof out, "%s", reason);
		return out;
	}
	conv_format_date(v.u.i, out);
	return out;
}

Test(convert, text_into_date)
{
	struct rec_field f = { .type = REC_DATE };
	struct rec_value v;
	char reason[CONV_REASON_MAX];

	cr_assert_str_eq(date_in(" 2024-02-29 ", NULL), "2024-02-29");
	cr_assert_str_eq(date_in("0001-01-01", NULL), "0001-01-01");
	cr_assert_str_eq(date_in("9999-12-31", "Pacific/Kiritimati"),
			 "9999-12-31");
	/* A timestamp without offset: its date part, whatever the zone. */
	cr_assert_str_eq(date_in("2020-01-01 23:30:00", "Asia/Tokyo"),
			 "2020-01-01");
	cr_assert_str_eq(date_in("2020-01-01T00:00:00.5", "America/New_York"),
			 "2020-01-01");
	/* With an offset: the instant's day in the zone (timestamptz::date). */
	cr_assert_str_eq(date_in("2020-01-01T23:00:00+05", NULL), "2020-01-01");
	cr_assert_str_eq(date_in("2020-01-01T23:00:00+05", "Asia/Tokyo"),
			 "2020-01-02");
	cr_assert_str_eq(date_in("2020-01-01T02:00:00Z", "America/New_York"),
			 "2019-12-31");
	cr_assert_str_eq(date_in("2023-02-29", NULL),
			 "invalid date \"2023-02-29\"");
	cr_assert_str_eq(date_in("2020-1-01", NULL),
			 "invalid date \"2020-1-01\"");
	cr_assert_str_eq(date_in("0001-01-01T00:30:00+01", NULL),
			 "invalid date \"0001-01-01T00:30:00+01\"");
	cr_assert_eq(conv_int(&f, 20200101, &v, NULL, reason, sizeof reason),
		     -1);
	cr_assert_str_eq(reason, "cannot convert int 20200101 to date");
	cr_assert_eq(conv_float(&f, 1.5, &v, NULL, reason, sizeof reason), -1);
	cr_assert_eq(conv_bool(&f, true, &v, reason, sizeof reason), -1);
}

/*
 * The day of instants with offsets, in zones, against Python's
 * datetime.astimezone(ZoneInfo(zone)).date(): PostgreSQL's
 * '...'::timestamptz::date in a session of that TimeZone.
 */
Test(convert, date_of_an_instant_matches_python_zoneinfo)
{
	char cmd[4096], *line = NULL;
	size_t cap = 0;
	int n = 0;
	FILE *p;

	snprintf(cmd, sizeof cmd, "python3 -c '\n"
		 "import random\n"
		 "from datetime import datetime, timedelta, timezone\n"
		 "from zoneinfo import ZoneInfo\n"
		 "r = random.Random(7)\n"
		 "for i in range(%d):\n"
		 "    z = r.choice([\"UTC\", \"Europe/Paris\", \"America/New_York\",\n"
		 "                  \"Australia/Lord_Howe\", \"Asia/Tokyo\", \"Pacific/Apia\"])\n"
		 "    off = timezone(timedelta(minutes=r.randint(-14 * 60, 14 * 60)))\n"
		 "    d = datetime(1950, 1, 1, tzinfo=off) + timedelta(seconds=r.randint(0, 130 * 365 * 86400))\n"
		 "    print(z, d.isoformat(), d.astimezone(ZoneInfo(z)).date().isoformat())\n"
		 "'", tu_scale(3000));
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (getline(&line, &cap, p) > 0) {
		char z[64], text[64], want[16];

		cr_assert_eq(sscanf(line, "%63s %63s %15s", z, text, want), 3);
		cr_assert_str_eq(date_in(text, z), want, "%s in %s", text, z);
		n++;
	}
	free(line);
	cr_assert_eq(pclose(p), 0, "the oracle failed");
	cr_assert_gt(n, 100);
}

/* Formats compiled once per test process, by their text. */
static const struct tsfmt *formats(const char *text)
{
	static struct {
		char text[64];
		struct tsfmt *f;
	} cache[32];
	const char *one[1] = { text };
	char err[256];

	for (size_t i = 0; i < sizeof cache / sizeof *cache; i++) {
		if (cache[i].f && strcmp(cache[i].text, text) == 0)
			return cache[i].f;
		if (!cache[i].f) {
			cache[i].f = tsfmt_compile(one, 1, err, sizeof err);
			cr_assert_not_null(cache[i].f, "%s", err);
			snprintf(cache[i].text, sizeof cache[i].text, "%s", text);
			return cache[i].f;
		}
	}
	cr_assert_fail("too many formats");
	return NULL;
}

Test(convert, timestamp_formats_and_zones_match_python)
{
	char cmd[4096], *line = NULL, reason[CONV_REASON_MAX];
	size_t cap = 0;
	int n = 0;
	FILE *p;

	snprintf(cmd, sizeof cmd,
		 "python3 '%s/tests/fixtures/tsfmt_oracle.py' 20261207 %d",
		 tu_srcdir(), tu_scale(4000));
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (getline(&line, &cap, p) > 0) {
		char *tok[4], *save = NULL;
		struct rec_field f = { .type = REC_TIMESTAMP };
		struct rec_value v;
		size_t len;
		int k = 0, rc;

		line[strcspn(line, "\n")] = '\0';
		for (char *t = strtok_r(line, "\t", &save); t && k < 4;
		     t = strtok_r(NULL, "\t", &save))
			tok[k++] = t;
		if (k != 4)
			continue; /* an empty text: the tokenizer drops it */
		len = strlen(tok[2]);
		/* conv_text cuts blanks before the format reads the value. */
		if (len == 0 || tok[2][0] == ' ' || tok[2][len - 1] == ' ')
			continue;
		f.fmt = formats(tok[1]);
		f.tz = strcmp(tok[0], "UTC") == 0 ? NULL : zone(tok[0]);
		rc = conv_text(&f, tok[2], len, &v, reason, sizeof reason);
		if (strcmp(tok[3], "REJECT") == 0) {
			cr_assert_eq(rc, -1, "%s with %s in %s: read", tok[2],
				     tok[1], tok[0]);
			cr_assert(strncmp(reason, "invalid timestamp \"", 19) == 0,
				  "%s", reason);
		} else {
			cr_assert_eq(rc, 0, "%s with %s in %s: %s", tok[2],
				     tok[1], tok[0], reason);
			cr_assert_eq(v.u.i, strtoll(tok[3], NULL, 10),
				     "%s with %s in %s", tok[2], tok[1], tok[0]);
		}
		n++;
	}
	free(line);
	cr_assert_eq(pclose(p), 0, "the oracle failed");
	cr_assert_gt(n, tu_scale(4000) / 2);
}

/*
 * The standard forms without offset, local time in the field's zone, at
 * every change of offset from 1960 to 2060 (gaps and overlaps read as
 * PostgreSQL does): tz_oracle.py's l2u cases through conv_text.
 */
Test(convert, standard_forms_in_a_zone_match_python_zoneinfo)
{
	char cmd[4096], *line = NULL, reason[CONV_REASON_MAX];
	size_t cap = 0;
	int n = 0;
	FILE *p;

	snprintf(cmd, sizeof cmd,
		 "python3 '%s/tests/fixtures/tz_oracle.py' 20261207 %d "
		 "Europe/Paris America/New_York Australia/Lord_Howe",
		 tu_srcdir(), tu_scale(200));
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (getline(&line, &cap, p) > 0) {
		char kind[8], z[64], text[CONV_TS_MAX];
		long long local, want;
		struct rec_field f = { .type = REC_TIMESTAMP };
		struct rec_value v;
		size_t len;

		if (sscanf(line, "%7s %63s %lld %lld", kind, z, &local,
			   &want) != 4 || strcmp(kind, "l2u") != 0)
			continue;
		/* "YYYY-MM-DD HH:MM:SS[.f]": the RFC 3339 form, no Z, a space. */
		len = conv_format_timestamp(local * 1000000 + 250000, text);
		text[10] = ' ';
		text[--len] = '\0';
		f.tz = zone(z);
		cr_assert_eq(conv_text(&f, text, len, &v, reason,
				       sizeof reason), 0, "%s", reason);
		cr_assert_eq(v.u.i, want * 1000000 + 250000, "%s in %s: %lld",
			     text, z, (long long)v.u.i);
		/* With an offset it is an instant, whatever the zone. */
		snprintf(text + len, sizeof text - len, "+01:00");
		cr_assert_eq(conv_text(&f, text, strlen(text), &v, reason,
				       sizeof reason), 0, "%s", reason);
		cr_assert_eq(v.u.i, (local - 3600) * 1000000 + 250000, "%s",
			     text);
		n++;
	}
	free(line);
	cr_assert_eq(pclose(p), 0, "the oracle failed");
	cr_assert_gt(n, 100);
}

Test(convert, numbers_into_timestamps_through_epoch_formats)
{
	static const char *const list[] = { "%d/%m/%Y %H:%M", "epoch_ms" };
	char err[256], reason[CONV_REASON_MAX];
	struct tsfmt *fm = tsfmt_compile(list, 2, err, sizeof err);
	struct rec_field f = { .type = REC_TIMESTAMP, .fmt = fm };
	struct rec_field plain = { .type = REC_TIMESTAMP };
	struct rec_value v;

	cr_assert_not_null(fm, "%s", err);
	/* JSON's 1517966773840 with epoch_ms. */
	cr_assert_eq(conv_int(&f, INT64_C(1517966773840), &v, NULL, reason,
			      sizeof reason), 0, "%s", reason);
	cr_assert_eq(v.u.i, INT64_C(1517966773840000));
	cr_assert_eq(conv_float(&f, 1517966773840.5, &v, NULL, reason,
				sizeof reason), 0, "%s", reason);
	cr_assert_eq(v.u.i, INT64_C(1517966773840500));
	cr_assert_eq(conv_float(&f, 1517966773840.0, &v, NULL, reason,
				sizeof reason), 0, "%s", reason);
	cr_assert_eq(v.u.i, INT64_C(1517966773840000));
	/* The text with the first format that reads it, in the field's zone. */
	f.tz = zone("Europe/Paris");
	cr_assert_eq(conv_text(&f, S("31/03/2024 02:30"), &v, reason,
			       sizeof reason), 0, "%s", reason);
	/* In the gap: the offset before it (+01), so 01:30Z. */
	cr_assert_eq(v.u.i, INT64_C(1711848600000000));
	cr_assert_eq(conv_text(&f, S("1711848600000"), &v, reason,
			       sizeof reason), 0);
	cr_assert_eq(v.u.i, INT64_C(1711848600000000));
	cr_assert_eq(conv_text(&f, S("2024-03-31"), &v, reason, sizeof reason),
		     -1);
	cr_assert_str_eq(reason, "invalid timestamp \"2024-03-31\"");
	/* Without formats, a number is no timestamp, as before. */
	cr_assert_eq(conv_int(&plain, 1, &v, NULL, reason, sizeof reason), -1);
	cr_assert_str_eq(reason, "cannot convert int 1 to timestamp");
	tsfmt_free(fm);
}

Test(convert, type_text_spells_the_parameters)
{
	static const char *const list[] = { "%d/%m/%Y %H:%M", "epoch_ms",
					    "it's %Y" };
	char err[256], out[128];
	struct tsfmt *fm = tsfmt_compile(list, 3, err, sizeof err);
	struct rec_field d = dec_field(10, 2), t = { .type = REC_TIMESTAMP,
						     .fmt = fm };

	cr_assert_not_null(fm, "%s", err);
	cr_assert_eq(conv_type_text(&d, out, sizeof out), 13);
	cr_assert_str_eq(out, "decimal(10,2)");
	conv_type_text(&t, out, sizeof out);
	cr_assert_str_eq(out,
			 "timestamp('%d/%m/%Y %H:%M', epoch_ms, \"it's %Y\")");
	conv_type_text(FT(REC_DATE), out, sizeof out);
	cr_assert_str_eq(out, "date");
	/* Cut, never overrun. */
	cr_assert_eq(conv_type_text(&t, out, 8), 7);
	cr_assert_str_eq(out, "timesta");
	tsfmt_free(fm);
}
