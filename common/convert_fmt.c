/*
 * convert_fmt.c - the canonical text forms the outputs and the messages
 * write (convert.h): floats in their shortest round-trip digits, timestamps
 * as RFC 3339 UTC, dates as YYYY-MM-DD, and a field's type as the config
 * spells it.  The other half of convert.c, which reads values in.
 *
 * Invariants: conv_format_float(d) parses back to exactly d, whatever the
 * process's locale (it prints and reads in the "C" locale object);
 * conv_format_timestamp is the inverse of conv_parse_timestamp on its own
 * output; nothing is written past the buffer the header names.
 */
#include "convert.h"

#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsfmt.h"

#define US_PER_SEC INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_SEC)

/* --- timestamps and dates ---------------------------------------------- */

static char *put2(char *o, unsigned v)
{
	o[0] = (char)('0' + v / 10);
	o[1] = (char)('0' + v % 10);
	return o + 2;
}

/* YYYY-MM-DD of a day count; a year outside 0-9999 with its sign. */
static char *put_date(char *o, int64_t days)
{
	int64_t y;
	unsigned m, d;

	conv_civil_from_days(days, &y, &m, &d);
	if (y >= 0 && y <= 9999) {
		o = put2(o, (unsigned)(y / 100));
		o = put2(o, (unsigned)(y % 100));
	} else {
		/* Only sums of offsets reach here; int64 years fit easily. */
		o += snprintf(o, 16, "%+05" PRId64, y);
	}
	*o++ = '-';
	o = put2(o, m);
	*o++ = '-';
	return put2(o, d);
}

size_t conv_format_date(int64_t days, char *out)
{
	char *o = put_date(out, days);

	*o = '\0';
	return (size_t)(o - out);
}

size_t conv_format_timestamp(int64_t us, char *out)
{
	int64_t days = us / US_PER_DAY, rem = us % US_PER_DAY;
	unsigned secs, frac;
	char *o = out;

	if (rem < 0) {
		rem += US_PER_DAY;
		days--;
	}
	secs = (unsigned)(rem / US_PER_SEC);
	frac = (unsigned)(rem % US_PER_SEC);
	o = put_date(o, days);
	*o++ = 'T';
	o = put2(o, secs / 3600);
	*o++ = ':';
	o = put2(o, secs / 60 % 60);
	*o++ = ':';
	o = put2(o, secs % 60);
	if (frac != 0) {
		int digits = 6;

		while (frac % 10 == 0) {
			frac /= 10;
			digits--;
		}
		*o++ = '.';
		for (int k = digits - 1; k >= 0; k--) {
			o[k] = (char)('0' + frac % 10);
			frac /= 10;
		}
		o += digits;
	}
	*o++ = 'Z';
	*o = '\0';
	return (size_t)(o - out);
}

/* --- floats ---------------------------------------------------------- */

/*
 * m's decimal digits (m > 0) written leftwards, ending just before end, two
 * at a time from a table: the division by 10 per digit and the reversal
 * were a third of the float's formatting.  Returns how many.
 */
static size_t put_digits_right(uint64_t m, char *end)
{
	static const char pairs[201] =
		"00010203040506070809101112131415161718192021222324252627282930"
		"31323334353637383940414243444546474849505152535455565758596061"
		"62636465666768697071727374757677787980818283848586878889909192"
		"93949596979899";
	char *o = end;

	while (m >= 100) {
		o -= 2;
		memcpy(o, pairs + 2 * (m % 100), 2);
		m /= 100;
	}
	if (m >= 10) {
		o -= 2;
		memcpy(o, pairs + 2 * m, 2);
	} else {
		*--o = (char)('0' + m);
	}
	return (size_t)(end - o);
}

_Static_assert(CONV_FLOAT_MAX >= 32, "format_short_decimal()'s copies");

/*
 * conv_format_float()'s fast path, for 1e-4 <= |d| < 1e15, where "%.15g"
 * writes no exponent.  When d is the double nearest to a decimal of at
 * most 15 significant digits (m / 10^s, m < 10^15), that decimal is what
 * "%.15g" writes once its trailing zeros are gone: d lies within half an
 * ulp of it (2^-53 of d), far less than half the spacing of 15-digit
 * decimals (over 10^-15 of d), so it is d's rounding to 15 digits; and it
 * reads back as d, so the printf way would stop there.  Tried for s = 0,
 * 1, ...: the first m that reads back (one exact IEEE division decides,
 * as in conv_float_exact()) is written, the point s digits from its
 * right.  Returns the length, or 0 when d is not such a decimal.
 */
static size_t format_short_decimal(double d, char *out)
{
	double a = fabs(d), p = 1, v;
	char dig[32] = { 0 };
	size_t nd, len = 0;
	uint64_t m = 0;
	int s;

	if (!(a >= 1e-4 && a < 1e15))
		return 0;
	/* Every 10^s up to 1e22 is exact, and so is each product p * 10. */
	for (s = 0;; s++, p *= 10) {
		double t = a * p;

		if (s > 22 || t >= 1e15)
			return 0;
		/*
		 * nearbyint(t) without the call: 0 <= t < 2^52, so adding 2^52
		 * leaves units as the last bits, rounded in the current mode.
		 */
		m = (uint64_t)((t + 0x1p52) - 0x1p52);
		if (conv_float_exact(m, -s, &v) && v == a)
			break;
	}
	/* The first s that reads back leaves no zero at m's right. */
	if (m == 0 || (s > 0 && m % 10 == 0))
		return 0;
	/*
	 * m's digits end at dig + 16; the copies below are 16 bytes each,
	 * fixed (no call), and end within CONV_FLOAT_MAX: m < 10^15 has
	 * nd <= 15 digits, a >= 1e-4 leaves at most 3 zeros after "0.", and
	 * the fraction's copy starts at most 1 + 14 + 1 bytes in.
	 */
	nd = put_digits_right(m, dig + 16);
	if (d < 0)
		out[len++] = '-';
	if ((size_t)s >= nd) {
		/* Below 1: "0.", the zeros after the point, m's digits. */
		out[len++] = '0';
		out[len++] = '.';
		memset(out + len, '0', 4);
		len += (size_t)s - nd;
		memcpy(out + len, dig + 16 - nd, 16);
		len += nd;
	} else {
		/* The point, if any, before m's last s digits. */
		memcpy(out + len, dig + 16 - nd, 16);
		len += nd - (size_t)s;
		if (s > 0) {
			out[len++] = '.';
			memcpy(out + len, dig + 16 - s, 16);
			len += (size_t)s;
		}
	}
	out[len] = '\0';
	return len;
}

/* 10^s for 0 <= s <= 20 (10^20 needs more than 64 bits). */
static unsigned __int128 pow10_u128(int s)
{
	static const unsigned __int128 p[21] = {
		1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
		100000000, 1000000000, 10000000000u, 100000000000u,
		1000000000000u, 10000000000000u, 100000000000000u,
		1000000000000000u, 10000000000000000u, 100000000000000000u,
		1000000000000000000u, 10000000000000000000u,
		(unsigned __int128)10000000000000000000u * 10,
	};

	return p[s];
}

/* 10^x <= M / 2^k exactly, for -4 <= x <= 15 and 3 <= k <= 66. */
static bool pow10_le(int x, uint64_t m, int k)
{
	if (x >= 0)
		return pow10_u128(x) << k <= m;
	return (unsigned __int128)m * pow10_u128(-x) >=
	       (unsigned __int128)1 << k;
}

/*
 * What the printf loop of conv_format_float() writes, for a normal d with
 * 1e-4 <= |d| < 1e15, in exact 128-bit integer arithmetic instead of up
 * to three snprintf() and strtod() calls.  |d| = M / 2^k (M < 2^53, 3 <=
 * k <= 66) and 10^x <= |d| < 10^(x+1) (-4 <= x <= 14); "%.pg" writes
 * round(|d| * 10^s) with s = p - 1 - x fraction digits (0 <= s <= 20:
 * M * 10^s < 2^120), rounded half to even as glibc rounds, without an
 * exponent, trailing zeros dropped.  That reads back as d when it lies
 * within d's rounding interval: |m / 10^s - M / 2^k| < 2^-k / 2 (a
 * quarter below a power of two, whose lower neighbour is nearer), the
 * bound itself when M is even (strtod's ties go to even).  Returns the
 * length, or 0 when the rounding carries to a new digit (left to printf).
 */
static size_t format_exact17(double d, char *out)
{
	double a = fabs(d);
	int e, x, p;
	uint64_t mant = (uint64_t)ldexp(frexp(a, &e), 53);
	int k = 53 - e;
	char dig[24];
	size_t len = 0;

	if (!(a >= 1e-4 && a < 1e15) || k < 3 || k > 66)
		return 0;
	x = (int)floor(log10(a));
	if (x < -4)
		x = -4;
	if (x > 14)
		x = 14;
	while (x > -4 && !pow10_le(x, mant, k))
		x--;
	while (x < 14 && pow10_le(x + 1, mant, k))
		x++;
	for (p = 15; p <= 17; p++) {
		int s = p - 1 - x;
		unsigned __int128 ten_s = pow10_u128(s);
		unsigned __int128 n = (unsigned __int128)mant * ten_s;
		unsigned __int128 one = (unsigned __int128)1 << k;
		unsigned __int128 q = n >> k, r = n & (one - 1);
		unsigned __int128 half = one >> 1, dist;
		bool up = r > half || (r == half && (q & 1) != 0);
		bool below = !up; /* m / 10^s <= |d| */
		uint64_t m = (uint64_t)(q + up);
		int nd, i;

		if (m >= (uint64_t)pow10_u128(p))
			return 0;
		dist = up ? one - r : r;
		/* |m - |d| * 10^s| * 2^k = dist; the interval's half-width in
		 * the same units is 10^s / 2 (10^s / 4 below 2^52 * 2^-k). */
		if (below && mant == UINT64_C(1) << 52) {
			if (!(4 * dist < ten_s || (4 * dist == ten_s)))
				continue;
		} else if (!(2 * dist < ten_s ||
			     (2 * dist == ten_s && (mant & 1) == 0))) {
			continue;
		}
		for (nd = 0; nd < p; nd++, m /= 10)
			dig[nd] = (char)('0' + m % 10);
		/* dig[0..p) low digit first; drop the fraction's zeros. */
		for (i = 0; i < s && dig[i] == '0'; i++)
			;
		if (d < 0)
			out[len++] = '-';
		if (x < 0) {
			out[len++] = '0';
			out[len++] = '.';
			for (int z = x + 1; z < 0; z++)
				out[len++] = '0';
			for (int j = p - 1; j >= i; j--)
				out[len++] = dig[j];
		} else {
			for (int j = p - 1; j >= i; j--) {
				out[len++] = dig[j];
				if (j == s && j > i)
					out[len++] = '.';
			}
		}
		out[len] = '\0';
		return len;
	}
	return 0;
}

size_t conv_format_float(double d, char *out)
{
	locale_t loc, old = (locale_t)0;
	int n = 0;
	size_t k;

	if (d == 0) {
		/* printf would say "-0" too; spelled out so it is obvious. */
		strcpy(out, signbit(d) ? "-0" : "0");
		return strlen(out);
	}
	if (!isfinite(d)) {
		strcpy(out, isnan(d) ? "nan" : d < 0 ? "-inf" : "inf");
		return strlen(out);
	}
	if ((k = format_short_decimal(d, out)) != 0)
		return k;
	if ((k = format_exact17(d, out)) != 0)
		return k;
	loc = conv_c_locale();
	if (loc != (locale_t)0)
		old = uselocale(loc);
	/*
	 * A normal double that some k <= 15 digits round-trip prints as those
	 * digits with %.15g (15 digits are always within half an ulp), so
	 * trying 15, 16, 17 finds the shortest.  Subnormals have fewer
	 * significant bits: try every precision.
	 */
	for (int prec = fabs(d) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
		n = snprintf(out, CONV_FLOAT_MAX, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			break;
	}
	if (loc != (locale_t)0)
		uselocale(old);
	return (size_t)n;
}

/* --- types ------------------------------------------------------------ */

/* A format as the config writes it: a bare epoch word, else quoted. */
static size_t spell_format(const char *text, char *out, size_t n)
{
	if (strcmp(text, "epoch_s") == 0 || strcmp(text, "epoch_ms") == 0 ||
	    strcmp(text, "epoch_us") == 0)
		return (size_t)snprintf(out, n, "%s", text);
	if (strchr(text, '\'') == NULL)
		return (size_t)snprintf(out, n, "'%s'", text);
	return (size_t)snprintf(out, n, "\"%s\"", text);
}

size_t conv_type_text(const struct rec_field *f, char *out, size_t n)
{
	size_t len;

	if (n == 0)
		return 0;
	if (f->type == REC_DECIMAL)
		return (size_t)snprintf(out, n, "decimal(%u,%u)", f->prec,
					f->scale);
	len = (size_t)snprintf(out, n, "%s", rec_type_name(f->type));
	if (f->type != REC_TIMESTAMP || f->fmt == NULL)
		return len;
	for (int i = 0; i < tsfmt_count(f->fmt) && len < n; i++) {
		len += (size_t)snprintf(out + len, n - len, "%s",
					i == 0 ? "(" : ", ");
		if (len < n)
			len += spell_format(tsfmt_text(f->fmt, i), out + len,
					    n - len);
	}
	if (len < n)
		len += (size_t)snprintf(out + len, n - len, ")");
	return len < n ? len : n - 1;
}
