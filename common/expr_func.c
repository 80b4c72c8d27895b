/*
 * expr_func.c - the arithmetic behind the expression instructions: exact
 * decimals, values as text, casts and LIKE (expr_int.h); time in a zone
 * is expr_time.c's.
 *
 * Pure functions of their arguments (text results go to the frame's
 * scratch).  Decimals are 128-bit integers at a fixed scale; every result
 * is checked against 38 digits.
 */
#include "expr_int.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "convert.h"
#include "decimal.h"

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

/* Any non-text value as text, into buf (EXPR_TEXT_MAX bytes). */
static size_t format_value(int t, int scale, const struct rec_value *v,
			   struct expr_zone *z, char *buf)
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
		return expr_format_ts(z, v->u.i, buf);
	default:
		buf[0] = '\0';
		return 0;
	}
}

size_t expr_format(struct expr_type t, const struct rec_value *v,
		   const struct tz *tz, char *out, size_t outlen)
{
	char buf[EXPR_TEXT_MAX];
	struct expr_zone zone = EXPR_ZONE(tz);
	size_t n;

	if (v->null) {
		snprintf(out, outlen, "NULL");
		return 4;
	}
	if (t.type == REC_TEXT) {
		snprintf(out, outlen, "%.*s", (int)v->u.s.len, v->u.s.p);
		return v->u.s.len;
	}
	n = format_value(t.type, t.scale, v, &zone, buf);
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

int expr_cast(struct expr_frame *f, struct expr_zone *z, int from, int sa,
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
			r.u.i /= 86400000000LL; /* midnight UTC: whole days */
			break;
		case REC_TIMESTAMP:
			if (expr_parse_ts(z, s, len, &r.u.i) < 0)
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
			r.u.i = expr_date_to_ts(z, v->u.i);
		else if (from == REC_TIMESTAMP)
			r.u.i = v->u.i;
		else
			goto nocast;
		break;
	case REC_DATE:
		if (from == REC_TIMESTAMP) {
			r.u.i = expr_ts_to_date(z, v->u.i);
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

/* --- lower and upper ------------------------------------------------- */

/* The code point of the UTF-8 character at s[0..n), its length in *len; -1 if not one. */
static long utf8_decode(const unsigned char *s, size_t n, size_t *len)
{
	long c;
	size_t k;

	if (s[0] < 0xC2 || s[0] > 0xF4)
		return -1;
	k = s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
	if (k > n)
		return -1;
	c = s[0] & (0x7F >> k);
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return -1;
		c = c << 6 | (s[i] & 0x3F);
	}
	if ((k == 3 && c < 0x800) || (k == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
	    (c >= 0xD800 && c <= 0xDFFF))
		return -1;
	*len = k;
	return c;
}

static size_t utf8_encode(unsigned long c, char *o)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xC0 | c >> 6);
		o[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xE0 | c >> 12);
		o[1] = (char)(0x80 | (c >> 6 & 0x3F));
		o[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | c >> 18);
	o[1] = (char)(0x80 | (c >> 12 & 0x3F));
	o[2] = (char)(0x80 | (c >> 6 & 0x3F));
	o[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

int expr_case_map(struct expr_frame *f, bool upper, const char *s, uint32_t n,
		  struct rec_value *d)
{
	static locale_t utf8 = (locale_t)0;
	static bool tried;
	/* a character's mapping is at most 3/2 its length (2 bytes to 3) */
	char *p = expr_scratch(f, n ? (size_t)n * 2 : 1), *o = p;

	if (p == NULL)
		return -1;
	for (uint32_t i = 0; i < n;) {
		unsigned char ch = (unsigned char)s[i];
		size_t len;
		long c;

		if (ch < 0x80) {
			if (upper && ch >= 'a' && ch <= 'z')
				ch = (unsigned char)(ch - 32);
			else if (!upper && ch >= 'A' && ch <= 'Z')
				ch = (unsigned char)(ch + 32);
			*o++ = (char)ch;
			i++;
			continue;
		}
		if (!tried) {
			utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
			tried = true;
		}
		c = utf8_decode((const unsigned char *)s + i, n - i, &len);
		if (c < 0 || utf8 == (locale_t)0) {
			*o++ = (char)ch;
			i++;
			continue;
		}
		c = (long)(upper ? towupper_l((wint_t)c, utf8)
				 : towlower_l((wint_t)c, utf8));
		o += utf8_encode((unsigned long)c, o);
		i += (uint32_t)len;
	}
	d->u.s.p = p;
	d->u.s.len = (uint32_t)(o - p);
	return 0;
}

/* --- LIKE ------------------------------------------------------------ */

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

