/*
 * decimal.c - exact fixed-point decimals (decimal.h).
 *
 * dec_parse() reads the significant digits once, remembering where the
 * point falls and the exponent, and then keeps the digits that land at
 * or above 10^-scale: the first one below decides the rounding (half away
 * from zero: 5 or more rounds the magnitude up).  No more than 38 kept
 * digits are ever accumulated, so the 128-bit integer cannot overflow on
 * the way; a longer run of kept digits is an overflow by itself.
 */
#include "decimal.h"

#include <math.h>
#include <string.h>

#include "convert.h"

static const uint64_t pow10_u64[20] = {
	1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull,
	10000000ull, 100000000ull, 1000000000ull, 10000000000ull,
	100000000000ull, 1000000000000ull, 10000000000000ull,
	100000000000000ull, 1000000000000000ull, 10000000000000000ull,
	100000000000000000ull, 1000000000000000000ull,
	10000000000000000000ull,
};

__int128 dec_pow10(int n)
{
	if (n < 20)
		return (__int128)pow10_u64[n];
	return (__int128)pow10_u64[19] * (__int128)pow10_u64[n - 19];
}

static unsigned __int128 magnitude(__int128 v)
{
	return v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
}

bool dec_fits(__int128 v, int p)
{
	return magnitude(v) < (unsigned __int128)dec_pow10(p);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The exponent's value, saturated far beyond any meaningful one. */
#define EXP_CAP 100000

enum dec_status dec_parse(const char *s, size_t len, int p, int scale,
			  __int128 *v)
{
	size_t i = 0, ndig = 0;
	long point = -1;        /* digits before the point, -1: no point */
	long exp = 0, keep, k = 0, kept = 0;
	int round = 0;
	bool neg = false, any = false;
	unsigned __int128 acc = 0;
	const char *dig;

	if (i < len && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	dig = s + i;
	for (; i < len; i++) {
		if (is_digit(s[i])) {
			any = true;
			ndig++;
		} else if (s[i] == '.' && point < 0) {
			point = (long)ndig;
		} else {
			break;
		}
	}
	if (!any)
		return DEC_SYNTAX;
	if (point < 0)
		point = (long)ndig;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		bool eneg = false, edig = false;

		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		for (; i < len && is_digit(s[i]); i++) {
			edig = true;
			if (exp < EXP_CAP)
				exp = exp * 10 + (s[i] - '0');
		}
		if (!edig)
			return DEC_SYNTAX;
		if (eneg)
			exp = -exp;
	}
	if (i != len)
		return DEC_SYNTAX;

	/*
	 * Digit k (0-based, over the digits alone) has the weight
	 * 10^(point + exp - 1 - k); it is kept when that is 10^-scale or
	 * more: k < point + exp + scale.  Leading zeros are skipped (they
	 * are kept digits that add nothing).
	 */
	keep = point + exp + scale;
	for (const char *q = dig; k < (long)ndig; q++) {
		if (*q == '.')
			continue;
		if (k == keep) {
			round = *q - '0';
			break;
		}
		if (k > keep)
			break;
		if (acc != 0 || *q != '0') {
			if (++kept > DEC_MAX_PRECISION)
				return DEC_OVERFLOW;
			acc = acc * 10 + (unsigned)(*q - '0');
		}
		k++;
	}
	/* Kept places past the digits given are zeros. */
	for (; acc != 0 && k < keep; k++) {
		if (++kept > DEC_MAX_PRECISION)
			return DEC_OVERFLOW;
		acc *= 10;
	}
	/* Half away from zero: on the magnitude, the sign comes after. */
	if (round >= 5)
		acc++;
	if (acc >= (unsigned __int128)dec_pow10(p))
		return DEC_OVERFLOW;
	*v = neg ? -(__int128)acc : (__int128)acc;
	return DEC_OK;
}

enum dec_status dec_from_int(int64_t i, int p, int scale, __int128 *v)
{
	__int128 r = (__int128)i;

	/* Checked before the multiplication, which then stays below 10^p. */
	if (scale > 0) {
		if (!dec_fits(r, p - scale))
			return DEC_OVERFLOW;
		r *= dec_pow10(scale);
	}
	if (!dec_fits(r, p))
		return DEC_OVERFLOW;
	*v = r;
	return DEC_OK;
}

enum dec_status dec_from_double(double d, int p, int scale, __int128 *v)
{
	char buf[CONV_FLOAT_MAX];
	size_t n;

	if (!isfinite(d))
		return DEC_SYNTAX;
	n = conv_format_float(d, buf);
	return dec_parse(buf, n, p, scale, v);
}

size_t dec_format(__int128 v, int scale, char *out)
{
	char dig[DEC_STR_MAX];
	unsigned __int128 m = magnitude(v);
	size_t nd = 0, len = 0;

	do {
		dig[nd++] = (char)('0' + (int)(m % 10));
		m /= 10;
	} while (m != 0);
	/* At least one digit before the point. */
	while (nd < (size_t)scale + 1)
		dig[nd++] = '0';
	if (v < 0)
		out[len++] = '-';
	while (nd > 0) {
		out[len++] = dig[--nd];
		if (scale > 0 && nd == (size_t)scale)
			out[len++] = '.';
	}
	out[len] = '\0';
	return len;
}

double dec_to_double(__int128 v, int scale)
{
	char buf[DEC_STR_MAX];

	double d = 0;
	size_t n = dec_format(v, scale, buf);

	/* Read from the digits: correctly rounded, unlike v / 10^scale. */
	conv_parse_float(buf, n, &d);
	return d;
}

enum dec_status dec_add(__int128 *acc, __int128 v)
{
	__int128 r;

	/* Two 38-digit values may pass 2^127 (about 1.7 * 10^38). */
	if (__builtin_add_overflow(*acc, v, &r)
	    || !dec_fits(r, DEC_MAX_PRECISION))
		return DEC_OVERFLOW;
	*acc = r;
	return DEC_OK;
}

enum dec_status dec_avg(__int128 sum, int64_t n, int s_in, int s_out,
			__int128 *out)
{
	unsigned __int128 m = magnitude(sum), q, r, f, frac, rem;
	unsigned __int128 un = (unsigned __int128)n;
	unsigned __int128 lim = (unsigned __int128)dec_pow10(DEC_MAX_PRECISION);
	int k = s_out - s_in;

	/*
	 * sum * 10^k / n = q * 10^k + (r * 10^k) / n, with r < n < 2^63 and
	 * 10^k <= 10^38: r * 10^k may not fit, so the fraction is found one
	 * digit at a time, long division, each step below 10 * n.
	 */
	q = m / un;
	r = m % un;
	f = (unsigned __int128)dec_pow10(k);
	if (q != 0 && q > lim / f)
		return DEC_OVERFLOW;
	q *= f;
	frac = 0;
	rem = r;
	for (int d = 0; d < k; d++) {
		rem *= 10;
		frac = frac * 10 + rem / un;
		rem %= un;
	}
	q += frac;
	/* Half away from zero: the remainder is at least half of n. */
	if (2 * rem >= un)
		q++;
	if (q >= lim)
		return DEC_OVERFLOW;
	*out = sum < 0 ? -(__int128)q : (__int128)q;
	return DEC_OK;
}
