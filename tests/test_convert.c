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
