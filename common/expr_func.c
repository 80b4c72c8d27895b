/*
 * expr_func.c - the arithmetic behind the expression instructions: exact
 * decimals, casts, time in a zone, LIKE and strftime (expr_int.h).
 *
 * Pure functions of their arguments (text results go to the frame's
 * scratch).  Decimals are 128-bit integers at a fixed scale; every result
 * is checked against 38 digits.  Time: a timestamp is microseconds since
 * the epoch, UTC; its fields (day, hour, ...) are read on the zone's wall
 * clock (tz_offset), and a local time made from them goes back to an
 * instant with PostgreSQL's rule for gaps and overlaps (tz_local_to_utc),
 * except that date_trunc to an hour or a minute keeps the instant's own
 * offset, as PostgreSQL's timestamptz_trunc does.
 */
#include "expr_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "decimal.h"
#include "tz.h"

#define US_PER_S 1000000LL
#define US_PER_DAY 86400000000LL

static int64_t floordiv(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static int64_t floormod(int64_t a, int64_t b)
{
	return a - floordiv(a, b) * b;
}

const char *const expr_unit_names[U_COUNT] = {
	"microseconds", "second", "minute", "hour", "day", "week", "month",
	"quarter", "year", "dow", "doy", "epoch", "isoyear",
};

int expr_unit(const char *s)
{
	static const struct { const char *name; int unit; } alias[] = {
		{ "microsecond", U_MICRO }, { "us", U_MICRO }, { "seconds", U_SECOND },
		{ "minutes", U_MINUTE }, { "hours", U_HOUR }, { "days", U_DAY },
		{ "weeks", U_WEEK }, { "months", U_MONTH }, { "quarters", U_QUARTER },
		{ "years", U_YEAR },
	};

	for (int i = 0; i < U_COUNT; i++)
		if (strcmp(s, expr_unit_names[i]) == 0)
			return i;
	for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
		if (strcmp(s, alias[i].name) == 0)
			return alias[i].unit;
	return -1;
}

static bool is_one_of(const char *s, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(s, *names) == 0)
			return true;
	return false;
}

int expr_bucket_parse(const char *s, size_t len, int64_t *us, int64_t *months)
{
	char unit[16];
	size_t i = 0, u = 0;
	int64_t n = 0;

	while (i < len && s[i] == ' ')
		i++;
	if (i == len || s[i] < '0' || s[i] > '9')
		return -1;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		n = n * 10 + (s[i++] - '0');
		if (n > 1000000000)
			return -1;
	}
	/* Below, widths are kept within 10,000 years, so no bucket overflows. */
	while (i < len && s[i] == ' ')
		i++;
	while (i < len && s[i] != ' ' && u + 1 < sizeof unit) {
		char ch = s[i++];

		unit[u++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
	}
	unit[u] = '\0';
	while (i < len && s[i] == ' ')
		i++;
	if (i != len || n <= 0)
		return -1;
	*us = 0;
	*months = 0;
#define IS(...) is_one_of(unit, (const char *const[]){ __VA_ARGS__, NULL })
	{
		int64_t k;

		if (IS("s", "sec", "secs", "second", "seconds"))
			k = US_PER_S;
		else if (IS("m", "min", "mins", "minute", "minutes"))
			k = 60 * US_PER_S;
		else if (IS("h", "hour", "hours"))
			k = 3600 * US_PER_S;
		else if (IS("d", "day", "days"))
			k = US_PER_DAY;
		else if (IS("w", "week", "weeks"))
			k = 7 * US_PER_DAY;
		else if (IS("mon", "month", "months")) {
			*months = n;
			return n <= 120000 ? 0 : -1;
		} else if (IS("y", "year", "years")) {
			*months = 12 * n;
			return n <= 10000 ? 0 : -1;
		} else
			return -1;
		if (n > 10000 * 366 * US_PER_DAY / k)
			return -1;
		*us = n * k;
	}
#undef IS
	return 0;
}

static int32_t offset_at(const struct tz *z, int64_t sec)
{
	return z ? tz_offset(z, sec) : 0;
}

static int64_t local_to_utc(const struct tz *z, int64_t local)
{
	return z ? tz_local_to_utc(z, local) : local;
}

/* A day count truncated to the unit (day and longer units). */
static int64_t trunc_days(int64_t days, int unit)
{
	int64_t y;
	unsigned m, d;

	switch (unit) {
	case U_WEEK:
		return days - floormod(days + 3, 7); /* back to Monday */
	case U_MONTH:
	case U_QUARTER:
	case U_YEAR:
		conv_civil_from_days(days, &y, &m, &d);
		if (unit == U_QUARTER)
			m = (m - 1) / 3 * 3 + 1;
		else if (unit == U_YEAR)
			m = 1;
		return conv_days_from_civil(y, m, 1);
	default:
		return days;
	}
}

int64_t expr_trunc_ts(const struct tz *z, int64_t us, int unit)
{
	int64_t sec = floordiv(us, US_PER_S);
	int32_t off = offset_at(z, sec);
	int64_t local = sec + off;

	switch (unit) {
	case U_MICRO:
		return us;
	case U_SECOND:
		return sec * US_PER_S;
	case U_MINUTE:
		return (local - floormod(local, 60) - off) * US_PER_S;
	case U_HOUR:
		return (local - floormod(local, 3600) - off) * US_PER_S;
	default:
		return local_to_utc(z, trunc_days(floordiv(local, 86400), unit) * 86400) *
		       US_PER_S;
	}
}

int64_t expr_trunc_date(const struct tz *z, int64_t days, int unit)
{
	int64_t us = local_to_utc(z, days * 86400) * US_PER_S;

	return unit <= U_DAY ? us : expr_trunc_ts(z, us, unit);
}

int64_t expr_bucket_ts(const struct tz *z, int64_t us, int64_t width_us,
		       int64_t months)
{
	int64_t sec = floordiv(us, US_PER_S);
	int64_t local_us = us + (int64_t)offset_at(z, sec) * US_PER_S;
	int64_t b;

	if (months > 0) {
		int64_t y, total;
		unsigned m, d;

		conv_civil_from_days(floordiv(local_us, US_PER_DAY), &y, &m, &d);
		total = (y - 2000) * 12 + (m - 1);
		total = floordiv(total, months) * months;
		b = conv_days_from_civil(2000 + floordiv(total, 12),
					 (unsigned)floormod(total, 12) + 1, 1) * US_PER_DAY;
	} else {
		/* Buckets start at 2000-01-03 (a Monday), as TimescaleDB's. */
		int64_t origin = 10959 * US_PER_DAY;

		b = floordiv(local_us - origin, width_us) * width_us + origin;
	}
	return local_to_utc(z, floordiv(b, US_PER_S)) * US_PER_S + floormod(b, US_PER_S);
}

static void iso_week(int64_t days, int64_t *iso_year, int64_t *week)
{
	int64_t thursday = days - floormod(days + 3, 7) + 3, y;
	unsigned m, d;

	conv_civil_from_days(thursday, &y, &m, &d);
	*iso_year = y;
	*week = (thursday - conv_days_from_civil(y, 1, 1)) / 7 + 1;
}

static __int128 day_field(int64_t days, int unit)
{
	int64_t y, iy, wk;
	unsigned m, d;

	conv_civil_from_days(days, &y, &m, &d);
	switch (unit) {
	case U_YEAR: return y;
	case U_MONTH: return m;
	case U_DAY: return d;
	case U_QUARTER: return (m - 1) / 3 + 1;
	case U_DOW: return floormod(days + 4, 7);
	case U_DOY: return days - conv_days_from_civil(y, 1, 1) + 1;
	case U_WEEK: iso_week(days, &iy, &wk); return wk;
	case U_ISOYEAR: iso_week(days, &iy, &wk); return iy;
	default: return 0;
	}
}

__int128 expr_extract_ts(const struct tz *z, int64_t us, int unit)
{
	int64_t sec = floordiv(us, US_PER_S), micro = us - sec * US_PER_S;
	int64_t local = sec + offset_at(z, sec);
	int64_t sod = floormod(local, 86400);

	switch (unit) {
	case U_EPOCH: return us;
	case U_HOUR: return sod / 3600;
	case U_MINUTE: return sod / 60 % 60;
	case U_SECOND: return (__int128)(sod % 60) * US_PER_S + micro;
	default: return day_field(floordiv(local, 86400), unit);
	}
}

__int128 expr_extract_date(int64_t days, int unit)
{
	if (unit == U_EPOCH)
		return (__int128)days * 86400;
	return day_field(days, unit);
}

/* --- decimals -------------------------------------------------------- */

static bool rescale(__int128 v, int from, int to, __int128 *out)
{
	if (to <= from) {
		*out = v;
		return true;
	}
	if (to - from > DEC_MAX_PRECISION)
		return v == 0 ? (*out = 0, true) : false;
	return !__builtin_mul_overflow(v, dec_pow10(to - from), out);
}

int expr_dec_cmp(__int128 a, int sa, __int128 b, int sb)
{
	__int128 x;

	if (sa < sb) {
		if (!rescale(a, sa, sb, &x))
			return a < 0 ? -1 : 1;
		return (x > b) - (x < b);
	}
	if (sb < sa) {
		if (!rescale(b, sb, sa, &x))
			return b < 0 ? 1 : -1;
		return (a > x) - (a < x);
	}
	return (a > b) - (a < b);
}

int expr_dec_add(__int128 a, int sa, __int128 b, int sb, int sk, __int128 *out)
{
	__int128 x, y;

	if (!rescale(a, sa, sk, &x) || !rescale(b, sb, sk, &y) ||
	    __builtin_add_overflow(x, y, out) || !dec_fits(*out, DEC_MAX_PRECISION))
		return -1;
	return 0;
}

int expr_dec_round(__int128 v, int s, int digits, int mode, __int128 *out)
{
	int cut = s - digits;
	__int128 p, q, r;

	if (cut <= 0)
		return rescale(v, s, digits, out) ? 0 : -1;
	if (cut > DEC_MAX_PRECISION) {
		*out = 0; /* |v| < 10^38: far below half of 10^cut */
		return 0;
	}
	p = dec_pow10(cut);
	q = v / p;
	r = v % p;
	switch (mode) {
	case ROUND_HALF:
		if (r >= p - r && r > 0)
			q++;
		else if (-r >= p + r && r < 0)
			q--;
		break;
	case ROUND_FLOOR:
		if (r < 0)
			q--;
		break;
	case ROUND_CEIL:
		if (r > 0)
			q++;
		break;
	default:
		break;
	}
	if (digits < 0)
		return __builtin_mul_overflow(q, dec_pow10(-digits), out) ? -1 : 0;
	*out = q;
	return 0;
}

int expr_dec_mul(__int128 a, __int128 b, int shift, __int128 *out)
{
	__int128 r;

	if (__builtin_mul_overflow(a, b, &r))
		return -1;
	if (shift > 0 && expr_dec_round(r, shift, 0, ROUND_HALF, &r) < 0)
		return -1;
	if (!dec_fits(r, DEC_MAX_PRECISION))
		return -1;
	*out = r;
	return 0;
}

typedef unsigned __int128 u128;

/* Round q up when the remainder r of a division by d is at least half of d. */
static u128 round_up(u128 q, u128 r, u128 d)
{
	return r >= d - r ? q + 1 : q;
}

int expr_dec_div(__int128 a, int sa, __int128 b, int sb, int sk, __int128 *out)
{
	bool neg = (a < 0) != (b < 0);
	u128 ua = a < 0 ? -(u128)a : (u128)a, ub = b < 0 ? -(u128)b : (u128)b;
	u128 q, r, limit = (u128)dec_pow10(DEC_MAX_PRECISION);
	int e = sk - sa + sb;

	if (ub == 0)
		return -1;
	if (e < 0) {
		u128 d;

		if (-e > DEC_MAX_PRECISION ||
		    __builtin_mul_overflow(ub, (u128)dec_pow10(-e), &d)) {
			q = 0; /* the divisor is past 2^128 > 2 |a| */
		} else {
			q = round_up(ua / d, ua % d, d);
		}
	} else {
		u128 n;

		if (e <= DEC_MAX_PRECISION &&
		    !__builtin_mul_overflow(ua, (u128)dec_pow10(e), &n)) {
			q = round_up(n / ub, n % ub, ub);
		} else {
			/*
			 * Long division, a digit at a time; 10 r is formed by
			 * adding r ten times modulo ub, which never overflows.
			 */
			q = ua / ub;
			r = ua % ub;
			for (int i = 0; i < e; i++) {
				u128 r10 = 0;
				int digit = 0;

				for (int k = 0; k < 10; k++) {
					if (r10 >= ub - r) {
						r10 -= ub - r;
						digit++;
					} else {
						r10 += r;
					}
				}
				if (q >= limit)
					return -1;
				q = q * 10 + (u128)digit;
				r = r10;
			}
			q = round_up(q, r, ub);
		}
	}
	if (q >= limit)
		return -1;
	*out = neg ? -(__int128)q : (__int128)q;
	return 0;
}

/* A nonzero decimal's weight and first digit in base 10000, as PostgreSQL keeps it. */
static void base10000_lead(__int128 v, int s, int *weight, int *first)
{
	u128 u = v < 0 ? -(u128)v : (u128)v;
	int ndig = 0, p10, sh;

	if (u == 0) {
		*weight = 0;
		*first = 0;
		return;
	}
	for (u128 x = u; x; x /= 10)
		ndig++;
	p10 = ndig - 1 - s;
	*weight = p10 >= 0 ? p10 / 4 : -((-p10 + 3) / 4);
	sh = s + 4 * *weight;
	if (sh >= 0)
		*first = (int)(u / (u128)dec_pow10(sh));
	else
		*first = (int)(u * (u128)dec_pow10(-sh));
}

int expr_dec_div_pg(__int128 a, int sa, __int128 b, int sb, int sk, __int128 *out)
{
	int w1, f1, w2, f2, qweight, rscale;
	__int128 q;

	/* PostgreSQL's select_div_scale: at least 16 significant digits. */
	base10000_lead(a, sa, &w1, &f1);
	base10000_lead(b, sb, &w2, &f2);
	qweight = w1 - w2;
	if (f1 <= f2)
		qweight--;
	rscale = 16 - qweight * 4;
	if (rscale < sa)
		rscale = sa;
	if (rscale < sb)
		rscale = sb;
	if (rscale < 0)
		rscale = 0;
	if (rscale >= sk)
		return expr_dec_div(a, sa, b, sb, sk, out);
	if (expr_dec_div(a, sa, b, sb, rscale, &q) < 0 ||
	    __builtin_mul_overflow(q, dec_pow10(sk - rscale), out) ||
	    !dec_fits(*out, DEC_MAX_PRECISION))
		return -1;
	return 0;
}

int expr_dec_mod(__int128 a, int sa, __int128 b, int sb, int sk, __int128 *out)
{
	__int128 x, y;

	if (!rescale(a, sa, sk, &x) || !rescale(b, sb, sk, &y))
		return -1;
	if (y == 0)
		return -1;
	*out = x % y;
	return 0;
}

/* --- text forms ------------------------------------------------------ */

/* A double as PostgreSQL writes it: shortest digits, %g's layout at 15. */
static size_t format_float(double d, char *out)
{
	char buf[40], digits[24];
	int prec, exp10, nd = 0;
	size_t n = 0;
	char *e;

	if (d == 0)
		return (size_t)sprintf(out, signbit(d) ? "-0" : "0");
	for (prec = 0; prec < 17; prec++) {
		snprintf(buf, sizeof buf, "%.*e", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	e = strchr(buf, 'e');
	exp10 = atoi(e + 1);
	for (char *p = buf; p < e; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (d < 0)
		out[n++] = '-';
	if (exp10 < -4 || exp10 >= 15) {
		out[n++] = digits[0];
		if (nd > 1) {
			out[n++] = '.';
			memcpy(out + n, digits + 1, (size_t)nd - 1);
			n += (size_t)nd - 1;
		}
		n += (size_t)sprintf(out + n, "e%c%02d", exp10 < 0 ? '-' : '+',
				     exp10 < 0 ? -exp10 : exp10);
		return n;
	}
	if (exp10 < 0) {
		out[n++] = '0';
		out[n++] = '.';
		for (int i = 0; i < -exp10 - 1; i++)
			out[n++] = '0';
		memcpy(out + n, digits, (size_t)nd);
		n += (size_t)nd;
		out[n] = '\0';
		return n;
	}
	for (int i = 0; i <= exp10; i++)
		out[n++] = i < nd ? digits[i] : '0';
	if (nd > exp10 + 1) {
		out[n++] = '.';
		memcpy(out + n, digits + exp10 + 1, (size_t)(nd - exp10 - 1));
		n += (size_t)(nd - exp10 - 1);
	}
	out[n] = '\0';
	return n;
}

/* A timestamp as PostgreSQL's timestamptz output: in the zone, with its offset. */
static size_t format_ts(const struct tz *z, int64_t us, char *out)
{
	int64_t sec = floordiv(us, US_PER_S), micro = us - sec * US_PER_S;
	int32_t off = offset_at(z, sec);
	int64_t local = sec + off, days = floordiv(local, 86400), sod = local - days * 86400;
	int64_t y;
	unsigned m, d;
	size_t n;
	int aoff = off < 0 ? -off : off;

	conv_civil_from_days(days, &y, &m, &d);
	n = (size_t)sprintf(out, "%04lld-%02u-%02u %02d:%02d:%02d", (long long)y, m, d,
			    (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
	if (micro) {
		int digits = 6;

		while (micro % 10 == 0) {
			micro /= 10;
			digits--;
		}
		n += (size_t)sprintf(out + n, ".%0*lld", digits, (long long)micro);
	}
	n += (size_t)sprintf(out + n, "%c%02d", off < 0 ? '-' : '+', aoff / 3600);
	if (aoff % 3600)
		n += (size_t)sprintf(out + n, ":%02d", aoff / 60 % 60);
	if (aoff % 60)
		n += (size_t)sprintf(out + n, ":%02d", aoff % 60);
	return n;
}

/* Any non-text value as text, into buf (EXPR_TEXT_MAX bytes). */
static size_t format_value(int t, int scale, const struct rec_value *v,
			   const struct tz *z, char *buf)
{
	switch (t) {
	case REC_INT:
		return (size_t)sprintf(buf, "%lld", (long long)v->u.i);
	case REC_FLOAT:
		return format_float(v->u.f, buf);
	case REC_DECIMAL:
		return dec_format(rec_dec(v), scale, buf);
	case REC_BOOL:
		return (size_t)sprintf(buf, "%s", v->u.b ? "true" : "false");
	case REC_DATE:
		return conv_format_date(v->u.i, buf);
	case REC_TIMESTAMP:
		return format_ts(z, v->u.i, buf);
	default:
		buf[0] = '\0';
		return 0;
	}
}

size_t expr_format(struct expr_type t, const struct rec_value *v,
		   const struct tz *tz, char *out, size_t outlen)
{
	char buf[EXPR_TEXT_MAX];
	size_t n;

	if (v->null) {
		snprintf(out, outlen, "NULL");
		return 4;
	}
	if (t.type == REC_TEXT) {
		snprintf(out, outlen, "%.*s", (int)v->u.s.len, v->u.s.p);
		return v->u.s.len;
	}
	n = format_value(t.type, t.scale, v, tz, buf);
	snprintf(out, outlen, "%s", buf);
	return n;
}

/* --- casts ----------------------------------------------------------- */

static int bad_input(char *reason, size_t len, const char *type,
		     const struct rec_value *v)
{
	snprintf(reason, len, "invalid input syntax for type %s: \"%.*s\"", type,
		 (int)(v->u.s.len > 60 ? 60 : v->u.s.len), v->u.s.p);
	return -1;
}

static int overflow(char *reason, size_t len, const char *what)
{
	snprintf(reason, len, "%s", what);
	return -1;
}

/* A text without its leading and trailing blanks. */
static void trim_blanks(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' ||
			(*s)[*len - 1] == '\n' || (*s)[*len - 1] == '\r'))
		(*len)--;
}

/* A timestamp in text: with an offset it is that instant, without one local time. */
static int parse_ts(const struct tz *z, const char *s, size_t len, int64_t *us)
{
	bool zone = false;

	if (conv_parse_timestamp(s, len, us) < 0)
		return -1;
	for (size_t i = 10; i < len; i++)
		if (s[i] == 'Z' || s[i] == 'z' || s[i] == '+' || s[i] == '-')
			zone = true;
	if (!zone && z) {
		int64_t sec = floordiv(*us, US_PER_S);

		*us = local_to_utc(z, sec) * US_PER_S + (*us - sec * US_PER_S);
	}
	return 0;
}

static int text_out(struct expr_frame *f, const char *s, size_t n,
		    struct rec_value *out, char *reason, size_t len)
{
	char *p;

	if (f == NULL || (p = expr_scratch(f, n ? n : 1)) == NULL)
		return overflow(reason, len, "out of memory");
	memcpy(p, s, n);
	out->null = false;
	out->u.s.p = p;
	out->u.s.len = (uint32_t)n;
	return 0;
}

int expr_cast(struct expr_frame *f, const struct tz *z, int from, int sa,
	      int to, int pk, int sk, const struct rec_value *v,
	      struct rec_value *out, char *reason, size_t reasonlen)
{
	struct rec_value r;
	__int128 x;

	if (v->null) {
		out->null = true;
		return 0;
	}
	r.null = false;
	if (to == REC_TEXT) {
		char buf[EXPR_TEXT_MAX];
		size_t n;

		if (from == REC_TEXT) {
			*out = *v;
			return 0;
		}
		n = format_value(from, sa, v, z, buf);
		return text_out(f, buf, n, out, reason, reasonlen);
	}
	if (from == REC_TEXT) {
		const char *s = v->u.s.p;
		size_t len = v->u.s.len;

		trim_blanks(&s, &len);
		switch (to) {
		case REC_INT:
			if (conv_parse_int(s, len, &r.u.i) < 0)
				return bad_input(reason, reasonlen, "bigint", v);
			break;
		case REC_FLOAT:
			if (conv_parse_float(s, len, &r.u.f) < 0)
				return bad_input(reason, reasonlen, "double precision", v);
			break;
		case REC_DECIMAL:
			switch (dec_parse(s, len, pk ? pk : DEC_MAX_PRECISION, sk, &x)) {
			case DEC_OK:
				rec_set_dec(&r, x);
				break;
			case DEC_OVERFLOW:
				return overflow(reason, reasonlen, "numeric field overflow");
			default:
				return bad_input(reason, reasonlen, "numeric", v);
			}
			break;
		case REC_BOOL:
			if (conv_parse_bool(s, len, &r.u.b) < 0)
				return bad_input(reason, reasonlen, "boolean", v);
			break;
		case REC_DATE:
			if (len != 10 || conv_parse_timestamp(s, len, &r.u.i) < 0)
				return bad_input(reason, reasonlen, "date", v);
			r.u.i /= US_PER_DAY;
			break;
		case REC_TIMESTAMP:
			if (parse_ts(z, s, len, &r.u.i) < 0)
				return bad_input(reason, reasonlen, "timestamp", v);
			break;
		default:
			return bad_input(reason, reasonlen, "unknown", v);
		}
		*out = r;
		return 0;
	}
	switch (to) {
	case REC_INT:
		switch (from) {
		case REC_INT: r.u.i = v->u.i; break;
		case REC_BOOL: r.u.i = v->u.b; break;
		case REC_FLOAT: {
			double d = rint(v->u.f);

			if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
				return overflow(reason, reasonlen, "bigint out of range");
			r.u.i = (int64_t)d;
			break;
		}
		case REC_DECIMAL:
			if (expr_dec_round(rec_dec(v), sa, 0, ROUND_HALF, &x) < 0 ||
			    x > INT64_MAX || x < INT64_MIN)
				return overflow(reason, reasonlen, "bigint out of range");
			r.u.i = (int64_t)x;
			break;
		default:
			goto nocast;
		}
		break;
	case REC_FLOAT:
		switch (from) {
		case REC_INT: r.u.f = (double)v->u.i; break;
		case REC_DECIMAL: r.u.f = dec_to_double(rec_dec(v), sa); break;
		case REC_FLOAT: r.u.f = v->u.f; break;
		default: goto nocast;
		}
		break;
	case REC_DECIMAL:
		switch (from) {
		case REC_INT:
			if (!rescale(v->u.i, 0, sk, &x))
				return overflow(reason, reasonlen, "numeric field overflow");
			break;
		case REC_DECIMAL:
			if (expr_dec_round(rec_dec(v), sa, sk, ROUND_HALF, &x) < 0)
				return overflow(reason, reasonlen, "numeric field overflow");
			break;
		case REC_FLOAT: {
			/* As PostgreSQL: the double's 15 significant digits. */
			char buf[40];

			if (isnan(v->u.f) || isinf(v->u.f))
				return overflow(reason, reasonlen, "cannot convert infinity or NaN to numeric");
			snprintf(buf, sizeof buf, "%.14e", v->u.f); /* DBL_DIG */
			if (dec_parse(buf, strlen(buf), DEC_MAX_PRECISION, sk, &x) != DEC_OK)
				return overflow(reason, reasonlen, "numeric field overflow");
			break;
		}
		default:
			goto nocast;
		}
		if (!dec_fits(x, pk ? pk : DEC_MAX_PRECISION))
			return overflow(reason, reasonlen, "numeric field overflow");
		rec_set_dec(&r, x);
		break;
	case REC_BOOL:
		if (from == REC_INT)
			r.u.b = v->u.i != 0;
		else if (from == REC_BOOL)
			r.u.b = v->u.b;
		else
			goto nocast;
		break;
	case REC_TIMESTAMP:
		if (from == REC_DATE)
			r.u.i = local_to_utc(z, v->u.i * 86400) * US_PER_S;
		else if (from == REC_TIMESTAMP)
			r.u.i = v->u.i;
		else
			goto nocast;
		break;
	case REC_DATE:
		if (from == REC_TIMESTAMP) {
			int64_t sec = floordiv(v->u.i, US_PER_S);

			r.u.i = floordiv(sec + offset_at(z, sec), 86400);
		} else if (from == REC_DATE) {
			r.u.i = v->u.i;
		} else {
			goto nocast;
		}
		break;
	default:
		goto nocast;
	}
	*out = r;
	return 0;
nocast:
	snprintf(reason, reasonlen, "cannot cast type %s to %s", expr_type_name(from),
		 expr_type_name(to));
	return -1;
}

/* --- LIKE and strftime ----------------------------------------------- */

static size_t char_len(const char *s, size_t i, size_t n)
{
	size_t k = i + 1;

	while (k < n && ((unsigned char)s[k] & 0xC0) == 0x80)
		k++;
	return k - i;
}

bool expr_like(const char *s, size_t slen, const char *p, size_t plen, int esc)
{
	size_t si = 0, pi = 0, star_p = (size_t)-1, star_s = 0;

	while (si < slen) {
		if (pi < plen) {
			unsigned char ch = (unsigned char)p[pi];

			if (ch == '%') {
				star_p = ++pi;
				star_s = si;
				continue;
			}
			if (ch == '_') {
				si += char_len(s, si, slen);
				pi++;
				continue;
			}
			{
				size_t adv = 1;

				if ((int)ch == esc && pi + 1 < plen) {
					ch = (unsigned char)p[pi + 1];
					adv = 2;
				}
				if ((unsigned char)s[si] == ch) {
					si++;
					pi += adv;
					continue;
				}
			}
		}
		if (star_p != (size_t)-1) {
			star_s += char_len(s, star_s, slen);
			si = star_s;
			pi = star_p;
			continue;
		}
		return false;
	}
	while (pi < plen && p[pi] == '%')
		pi++;
	return pi == plen;
}

static const char *const month_names[] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
};
static const char *const day_names[] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday",
};

int expr_strftime(struct expr_frame *f, const struct tz *z, const char *fmt,
		  size_t fmtlen, int64_t us, struct rec_value *out, char *reason,
		  size_t reasonlen)
{
	int64_t sec = floordiv(us, US_PER_S), micro = us - sec * US_PER_S;
	int32_t off = offset_at(z, sec);
	int64_t local = sec + off, days = floordiv(local, 86400), sod = local - days * 86400;
	int64_t y, iy, wk;
	unsigned m, d;
	int dow = (int)floormod(days + 4, 7), hour = (int)(sod / 3600);
	size_t cap = fmtlen * 48 + 1, n = 0;
	char *buf;

	if (fmtlen > (1u << 20))
		return overflow(reason, reasonlen, "strftime format too long");
	if (f == NULL || (buf = expr_scratch(f, cap)) == NULL)
		return overflow(reason, reasonlen, "out of memory");
	conv_civil_from_days(days, &y, &m, &d);
	iso_week(days, &iy, &wk);
	for (size_t i = 0; i < fmtlen; i++) {
		char ch = fmt[i];

		if (ch != '%') {
			buf[n++] = ch;
			continue;
		}
		if (++i == fmtlen) {
			buf[n++] = '%';
			break;
		}
		switch (fmt[i]) {
#define PUT(...) n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__)
		case 'Y': PUT("%04lld", (long long)y); break;
		case 'y': PUT("%02lld", (long long)(y % 100)); break;
		case 'm': PUT("%02u", m); break;
		case 'd': PUT("%02u", d); break;
		case 'e': PUT("%2u", d); break;
		case 'H': PUT("%02d", hour); break;
		case 'I': PUT("%02d", hour % 12 ? hour % 12 : 12); break;
		case 'M': PUT("%02d", (int)(sod / 60 % 60)); break;
		case 'S': PUT("%02d", (int)(sod % 60)); break;
		case 'f': PUT("%06lld", (long long)micro); break;
		case 'p': PUT("%s", hour < 12 ? "AM" : "PM"); break;
		case 'j': PUT("%03lld", (long long)(days - conv_days_from_civil(y, 1, 1) + 1)); break;
		case 'b': case 'h': PUT("%.3s", month_names[m - 1]); break;
		case 'B': PUT("%s", month_names[m - 1]); break;
		case 'a': PUT("%.3s", day_names[dow]); break;
		case 'A': PUT("%s", day_names[dow]); break;
		case 'u': PUT("%d", dow ? dow : 7); break;
		case 'w': PUT("%d", dow); break;
		case 'V': PUT("%02lld", (long long)wk); break;
		case 'G': PUT("%04lld", (long long)iy); break;
		case 's': PUT("%lld", (long long)sec); break;
		case 'z': PUT("%c%02d%02d", off < 0 ? '-' : '+', abs(off) / 3600, abs(off) / 60 % 60); break;
		case 'Z': PUT("%s", z ? tz_name(z) : "UTC"); break;
		case 'F': PUT("%04lld-%02u-%02u", (long long)y, m, d); break;
		case 'T': PUT("%02d:%02d:%02d", hour, (int)(sod / 60 % 60), (int)(sod % 60)); break;
		case 'R': PUT("%02d:%02d", hour, (int)(sod / 60 % 60)); break;
		case 'D': PUT("%02u/%02u/%02lld", m, d, (long long)(y % 100)); break;
		case 'n': buf[n++] = '\n'; break;
		case 't': buf[n++] = '\t'; break;
		case '%': buf[n++] = '%'; break;
		default:
			snprintf(reason, reasonlen, "strftime: unknown directive %%%c",
				 fmt[i]);
			return -1;
#undef PUT
		}
	}
	out->null = false;
	out->u.s.p = buf;
	out->u.s.len = (uint32_t)n;
	return 0;
}
