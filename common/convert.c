/*
 * convert.c - source values into schema types (SPEC §4); their canonical
 * text forms, which the outputs write, are convert_fmt.c's.
 *
 * Every provider calls these once per value, so they allocate nothing, take
 * (pointer, length) slices straight out of read buffers, and never depend
 * on the process's locale or time zone: dates use days-from-civil
 * arithmetic (not timegm), numbers parse and print in a private "C" locale
 * object (not the global one).
 *
 * Invariants:
 *  - the strict parsers accept the whole slice or nothing, and never read
 *    outside s[0..len);
 *  - a text value always points into the caller's bytes (conv_text) or the
 *    caller's scratch (conv_int, conv_float) or a static literal (conv_bool),
 *    never into storage of this file;
 *  - a decimal has at most its field's precision in digits, a date and a
 *    timestamp are within the years 0001-9999, once their zone is applied.
 */
#include "convert.h"

#include <float.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"
#include "tsfmt.h"
#include "tz.h"

/* Longest float text conv_parse_float takes (it is copied to the stack). */
#define FLOAT_TEXT_MAX 512

/* How much of a bad value a reason quotes. */
#define EXCERPT_MAX 64

#define US_PER_SEC INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_SEC)

/* What an internal parser says: the value, bad syntax, or out of range. */
enum parse_result { PARSE_OK = 0, PARSE_SYNTAX = -1, PARSE_RANGE = -2 };

/* --- the "C" locale object ------------------------------------------- */

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale = (locale_t)0;

static void c_locale_init(void)
{
	/* glibc hands out its static C locale here: no allocation to free. */
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

locale_t conv_c_locale(void)
{
	(void)pthread_once(&c_locale_once, c_locale_init);
	return c_locale;
}

/* strtod on a NUL-terminated string, with '.' as the decimal point. */
static double strtod_c(const char *s, char **end)
{
	locale_t loc = conv_c_locale();

	if (loc != (locale_t)0)
		return strtod_l(s, end, loc);
	return strtod(s, end);
}

/* --- reasons ---------------------------------------------------------- */

/*
 * Write `WHAT "excerpt"` into reason: at most EXCERPT_MAX bytes of the value,
 * control bytes and invalid UTF-8 as \xNN so that the reason is always
 * printable UTF-8, "..." when cut.
 */
static void reason_value(char *reason, size_t reasonlen, const char *what,
			 const char *s, size_t len)
{
	char ex[EXCERPT_MAX + 8];
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0;

	if (reason == NULL || reasonlen == 0)
		return;
	while (i < len) {
		size_t n = p[i] < 0x80 ? 1 : conv_utf8_seq(p + i, len - i);

		if (n == 0 || p[i] < 0x20 || p[i] == 0x7f) {
			if (o + 4 > EXCERPT_MAX)
				break;
			o += (size_t)snprintf(ex + o, sizeof ex - o, "\\x%02x",
					      p[i]);
			i++;
			continue;
		}
		if (o + n > EXCERPT_MAX)
			break;
		memcpy(ex + o, p + i, n);
		o += n;
		i += n;
	}
	ex[o] = '\0';
	snprintf(reason, reasonlen, "%s \"%s%s\"", what, ex,
		 i < len ? "..." : "");
}

static void reason_text(char *reason, size_t reasonlen, const char *text)
{
	if (reason != NULL && reasonlen > 0)
		snprintf(reason, reasonlen, "%s", text);
}

/* --- strict parsers --------------------------------------------------- */

static enum parse_result parse_int(const char *s, size_t len, int64_t *v)
{
	uint64_t acc = 0, limit = (uint64_t)INT64_MAX;
	bool neg = false, range = false;
	size_t i = 0;

	if (len > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i = 1;
		if (neg)
			limit = (uint64_t)INT64_MAX + 1;
	}
	if (i == len)
		return PARSE_SYNTAX;
	/* Up to 18 digits cannot overflow: no range check per digit. */
	if (len - i <= 18) {
		for (; i < len; i++) {
			unsigned d = (unsigned)(unsigned char)s[i] - '0';

			if (d > 9)
				return PARSE_SYNTAX;
			acc = acc * 10 + d;
		}
		*v = neg ? -(int64_t)acc : (int64_t)acc;
		return PARSE_OK;
	}
	for (; i < len; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';

		if (d > 9)
			return PARSE_SYNTAX;
		/* Keep scanning after an overflow: "9...9x" is a syntax error. */
		if (range || acc > (limit - d) / 10) {
			range = true;
			continue;
		}
		acc = acc * 10 + d;
	}
	if (range)
		return PARSE_RANGE;
	if (neg)
		*v = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
	else
		*v = (int64_t)acc;
	return PARSE_OK;
}

int conv_parse_int(const char *s, size_t len, int64_t *v)
{
	return parse_int(s, len, v) == PARSE_OK ? 0 : -1;
}

static size_t count_digits(const char *s, size_t len, size_t i)
{
	size_t start = i;

	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	return i - start;
}

static enum parse_result parse_float(const char *s, size_t len, double *v)
{
	char buf[FLOAT_TEXT_MAX];
	size_t i = 0, mant = 0;
	uint64_t m = 0;         /* the digits, while they fit 19 of them */
	int digits = 0;         /* significant digits in m */
	int scale = 0;          /* m * 10^-scale is the mantissa's value */
	int e = 0;              /* the exponent part, if it is small */
	bool neg = false, exact = true, eneg = false;
	char *end;
	double d;

	/* Check the grammar first: strtod would take hex, inf, nan. */
	if (i < len && (s[i] == '+' || s[i] == '-')) {
		neg = s[i] == '-';
		i++;
	}
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, mant++) {
		if (digits < 19) {
			m = m * 10 + (uint64_t)(s[i] - '0');
			digits += m != 0;
		} else {
			exact = false;
		}
	}
	if (i < len && s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, mant++) {
			if (digits < 19) {
				m = m * 10 + (uint64_t)(s[i] - '0');
				digits += m != 0;
				scale++;
			} else {
				exact = false;
			}
		}
	}
	if (mant == 0)
		return PARSE_SYNTAX;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t exp = 0;

		i++;
		if (i < len && (s[i] == '+' || s[i] == '-')) {
			eneg = s[i] == '-';
			i++;
		}
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, exp++) {
			if (e < 10000)
				e = e * 10 + (s[i] - '0');
		}
		if (exp == 0)
			return PARSE_SYNTAX;
	}
	if (i != len || len >= sizeof buf)
		return PARSE_SYNTAX;

	/* Few digits and a small exponent: exact without strtod. */
	if (exact && conv_float_exact(m, (eneg ? -e : e) - scale, &d)) {
		*v = neg ? -d : d;
		return PARSE_OK;
	}

	memcpy(buf, s, len);
	buf[len] = '\0';
	d = strtod_c(buf, &end);
	if (end != buf + len)
		return PARSE_SYNTAX;
	/* Underflow to zero or a subnormal is a fine value; overflow is not. */
	if (!isfinite(d))
		return PARSE_RANGE;
	*v = d;
	return PARSE_OK;
}

int conv_parse_float(const char *s, size_t len, double *v)
{
	return parse_float(s, len, v) == PARSE_OK ? 0 : -1;
}

/* s[0..len) equals word (lower case), ignoring ASCII case. */
static bool word_is(const char *s, size_t len, const char *word)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (word[i] == '\0' || c != (unsigned char)word[i])
			return false;
	}
	return word[i] == '\0';
}

int conv_parse_bool(const char *s, size_t len, bool *v)
{
	static const char *const yes[] = { "true", "t", "yes", "y", "on", "1" };
	static const char *const no[] = { "false", "f", "no", "n", "off", "0" };

	for (size_t k = 0; k < sizeof yes / sizeof yes[0]; k++) {
		if (word_is(s, len, yes[k])) {
			*v = true;
			return 0;
		}
		if (word_is(s, len, no[k])) {
			*v = false;
			return 0;
		}
	}
	return -1;
}

bool conv_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + len;

	/*
	 * Short text, and the last bytes of longer text, in one word test
	 * of overlapping loads: bytes looked at twice are still tested, so
	 * a word that passes proves the whole range ASCII without NUL.
	 */
	if (len >= 4 && len < 8) {
		uint32_t a, b;

		memcpy(&a, p, sizeof a);
		memcpy(&b, end - 4, sizeof b);
		if (conv_ascii_word((uint64_t)a | (uint64_t)b << 32))
			return true;
	}
	while (p < end) {
		size_t n;

		/* Eight ASCII bytes at a time: no high bit and no zero byte. */
		while (end - p >= 8) {
			uint64_t w;

			memcpy(&w, p, sizeof w);
			if (!conv_ascii_word(w))
				break;
			p += 8;
		}
		if (p == end)
			break;
		if (end - p < 8 && len >= 8) {
			uint64_t w;

			memcpy(&w, end - 8, sizeof w);
			if (conv_ascii_word(w))
				break;
		}
		if (*p < 0x80) {
			if (*p == 0)
				return false;
			p++;
			continue;
		}
		n = conv_utf8_seq(p, (size_t)(end - p));
		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

/* --- timestamps ------------------------------------------------------- */

bool conv_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned conv_days_in_month(int64_t y, unsigned m)
{
	static const unsigned char dim[12] = { 31, 28, 31, 30, 31, 30,
					       31, 31, 30, 31, 30, 31 };

	return m == 2 && conv_is_leap(y) ? 29 : dim[m - 1];
}

/* n digits at s[i..], into *v; false if any is not a digit or missing. */
static bool take_digits(const char *s, size_t len, size_t i, size_t n,
			unsigned *v)
{
	unsigned acc = 0;

	if (i + n > len)
		return false;
	for (size_t k = 0; k < n; k++) {
		unsigned d = (unsigned)(unsigned char)s[i + k] - '0';

		if (d > 9)
			return false;
		acc = acc * 10 + d;
	}
	*v = acc;
	return true;
}

/*
 * The standard forms (conv_parse_timestamp) as read on a wall clock:
 * *local the microseconds since 1970 of the date and time written, as if
 * in UTC; *zoned whether an offset ("Z", "+02:00", ...) was written, and
 * *off that offset in seconds east.  The date is checked, the range once
 * the zone is known is the caller's.
 */
static inline __attribute__((always_inline)) int
parse_ts_local(const char *s, size_t len, int64_t *local, bool *zoned,
	       int32_t *off)
{
	unsigned y, mo, d, h = 0, mi = 0, sec = 0, oh, om = 0;
	int64_t frac = 0, days;
	size_t i;

	*zoned = false;
	*off = 0;
	if (!take_digits(s, len, 0, 4, &y) || len < 10 || s[4] != '-' ||
	    !take_digits(s, len, 5, 2, &mo) || s[7] != '-' ||
	    !take_digits(s, len, 8, 2, &d))
		return -1;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > conv_days_in_month(y, mo))
		return -1;
	i = 10;
	if (i < len) {
		if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
			return -1;
		if (!take_digits(s, len, 11, 2, &h) || len < 19 ||
		    s[13] != ':' || !take_digits(s, len, 14, 2, &mi) ||
		    s[16] != ':' || !take_digits(s, len, 17, 2, &sec))
			return -1;
		if (h > 23 || mi > 59 || sec > 59)
			return -1;
		i = 19;
		if (i < len && s[i] == '.') {
			size_t n = count_digits(s, len, i + 1);

			if (n == 0 || n > 9)
				return -1;
			/* Microseconds: the first six digits, zero-padded. */
			for (size_t k = 0; k < 6; k++)
				frac = frac * 10 +
				       (k < n ? s[i + 1 + k] - '0' : 0);
			i += 1 + n;
		}
		if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
			*zoned = true;
			i++;
		} else if (i < len && (s[i] == '+' || s[i] == '-')) {
			int sign = s[i] == '-' ? -1 : 1;

			if (!take_digits(s, len, i + 1, 2, &oh))
				return -1;
			i += 3;
			if (i < len && s[i] == ':') {
				if (!take_digits(s, len, i + 1, 2, &om))
					return -1;
				i += 3;
			} else if (i < len) {
				if (!take_digits(s, len, i, 2, &om))
					return -1;
				i += 2;
			}
			if (oh > 23 || om > 59)
				return -1;
			*zoned = true;
			*off = sign * (int32_t)(oh * 3600 + om * 60);
		}
		if (i != len)
			return -1;
	}
	days = conv_days_from_civil(y, mo, d);
	*local = (((days * 24 + h) * 60 + mi) * 60 + sec) * US_PER_SEC + frac;
	return 0;
}

/* Days since 1970-01-01 of 0001-01-01 and of 10000-01-01. */
#define DAY_0001 INT64_C(-719162)
#define DAY_10000 INT64_C(2932897)

/* Whether a timestamp is within 0001-01-01 .. 9999-12-31 (writable). */
static bool ts_in_range(int64_t us)
{
	return us >= DAY_0001 * US_PER_DAY && us < DAY_10000 * US_PER_DAY;
}

/* a / b rounded down (b > 0). */
static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

/*
 * The last zone's lookups (tz_local_to_utc_cached): a stream's timestamps
 * are mostly near one another, so most cost a few compares.  Per thread,
 * and reset when the zone is another (tz_serial).
 */
static _Thread_local struct {
	uint64_t serial;
	struct tz_local_cache c;
} zone_cache;

/* The instant of wall-clock microseconds `local` in zone z (NULL: UTC). */
static int64_t local_to_utc(const struct tz *z, int64_t local)
{
	int64_t secs;
	uint64_t serial;

	if (!z)
		return local;
	secs = floor_div(local, US_PER_SEC);
	if ((serial = tz_serial(z)) != zone_cache.serial) {
		zone_cache.serial = serial;
		zone_cache.c = TZ_LOCAL_CACHE_EMPTY;
	}
	return tz_local_to_utc_cached(z, &zone_cache.c, secs) * US_PER_SEC +
	       (local - secs * US_PER_SEC);
}

/* conv_parse_timestamp_in(), inline in conv_text(): once per value. */
static inline __attribute__((always_inline)) int
parse_timestamp(const char *s, size_t len, const struct tz *z, int64_t *us)
{
	int64_t t;
	int32_t off;
	bool zoned;

	if (parse_ts_local(s, len, &t, &zoned, &off) < 0)
		return -1;
	t = zoned ? t - off * US_PER_SEC : local_to_utc(z, t);
	/* A zone may push it out of 0001-9999, where it could not be
	 * written back (found by fuzz/fuzz_convert). */
	if (!ts_in_range(t))
		return -1;
	*us = t;
	return 0;
}

int conv_parse_timestamp_in(const char *s, size_t len, const struct tz *z,
			    int64_t *us)
{
	return parse_timestamp(s, len, z, us);
}

int conv_parse_timestamp(const char *s, size_t len, int64_t *us)
{
	return parse_timestamp(s, len, NULL, us);
}

int conv_parse_date(const char *s, size_t len, const struct tz *z,
		    int64_t *days)
{
	int64_t t, d;
	int32_t off;
	bool zoned;

	if (parse_ts_local(s, len, &t, &zoned, &off) < 0)
		return -1;
	if (zoned) {
		/* An instant: its day on the zone's wall clock, as
		 * PostgreSQL's timestamptz::date. */
		t -= off * US_PER_SEC;
		if (z)
			t += tz_offset(z, floor_div(t, US_PER_SEC)) * US_PER_SEC;
	}
	d = floor_div(t, US_PER_DAY);
	if (d < DAY_0001 || d >= DAY_10000)
		return -1;
	*days = d;
	return 0;
}

/* --- conversions ------------------------------------------------------ */

/* The config's spelling of a type, for reasons (no parameters). */
static const char *type_name(enum rec_type t)
{
	switch (t) {
	case REC_INT:
		return "int";
	case REC_FLOAT:
		return "float";
	case REC_TEXT:
		return "text";
	case REC_BOOL:
		return "bool";
	case REC_TIMESTAMP:
		return "timestamp";
	case REC_DECIMAL:
		return "decimal";
	case REC_DATE:
		return "date";
	}
	return "unknown type";
}

/* "decimal(10,2)" into buf, for a reason. */
static const char *dec_name(const struct rec_field *f, char *buf, size_t n)
{
	snprintf(buf, n, "decimal(%u,%u)", f->prec, f->scale);
	return buf;
}

/* The reason of a decimal that dec_* refused: its text quoted. */
static void reason_decimal(const struct rec_field *f, enum dec_status st,
			   char *reason, size_t reasonlen, const char *s,
			   size_t len)
{
	char name[32], what[48];

	dec_name(f, name, sizeof name);
	if (st == DEC_OVERFLOW)
		snprintf(what, sizeof what, "%s overflow", name);
	else
		snprintf(what, sizeof what, "invalid %s", name);
	reason_value(reason, reasonlen, what, s, len);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

int conv_text(const struct rec_field *f, const char *s, size_t len,
	      struct rec_value *out, char *reason, size_t reasonlen)
{
	enum rec_type t = f->type;
	enum parse_result r = PARSE_SYNTAX;

	out->null = false;
	if (t == REC_TEXT) {
		if (len > UINT32_MAX) {
			reason_text(reason, reasonlen, "text longer than 4 GiB");
			return -1;
		}
		if (!conv_utf8_valid(s, len)) {
			reason_text(reason, reasonlen,
				    memchr(s, '\0', len) != NULL ?
					    "NUL byte in text" :
					    "invalid UTF-8");
			return -1;
		}
		out->u.s.p = s;
		out->u.s.len = (uint32_t)len;
		return 0;
	}

	while (len > 0 && is_blank(s[0])) {
		s++;
		len--;
	}
	while (len > 0 && is_blank(s[len - 1]))
		len--;
	switch (t) {
	case REC_INT:
		r = parse_int(s, len, &out->u.i);
		break;
	case REC_FLOAT:
		r = parse_float(s, len, &out->u.f);
		break;
	case REC_BOOL:
		r = conv_parse_bool(s, len, &out->u.b) == 0 ? PARSE_OK
							  : PARSE_SYNTAX;
		break;
	case REC_TIMESTAMP:
		if (f->fmt != NULL)
			r = tsfmt_parse(f->fmt, f->tz, s, len, &out->u.i) == 0 ?
				    PARSE_OK : PARSE_SYNTAX;
		else
			r = parse_timestamp(s, len, f->tz, &out->u.i) == 0 ?
				    PARSE_OK : PARSE_SYNTAX;
		break;
	case REC_DECIMAL: {
		__int128 d;
		enum dec_status st = dec_parse(s, len, f->prec, f->scale, &d);

		if (st == DEC_OK) {
			rec_set_dec(out, d);
			return 0;
		}
		reason_decimal(f, st, reason, reasonlen, s, len);
		return -1;
	}
	case REC_DATE:
		r = conv_parse_date(s, len, f->tz, &out->u.i) == 0 ? PARSE_OK
								   : PARSE_SYNTAX;
		break;
	default:
		reason_text(reason, reasonlen, "unknown field type");
		return -1;
	}
	if (r == PARSE_OK)
		return 0;
	if (r == PARSE_RANGE)
		reason_value(reason, reasonlen,
			     t == REC_INT ? "int out of range" :
					    "float out of range", s, len);
	else
		reason_value(reason, reasonlen,
			     t == REC_INT ? "invalid int" :
			     t == REC_FLOAT ? "invalid float" :
			     t == REC_BOOL ? "invalid bool" :
			     t == REC_DATE ? "invalid date" :
					     "invalid timestamp", s, len);
	return -1;
}

/*
 * A number's text read with a timestamp field's formats (epoch_ms reads
 * 1517966773840); a field without formats takes no number.
 */
static int number_timestamp(const struct rec_field *f, const char *text,
			    size_t len, struct rec_value *out)
{
	if (f->fmt == NULL)
		return -1;
	return tsfmt_parse(f->fmt, f->tz, text, len, &out->u.i);
}

int conv_int(const struct rec_field *f, int64_t i, struct rec_value *out,
	     char *scratch, char *reason, size_t reasonlen)
{
	enum rec_type t = f->type;
	char text[CONV_SCRATCH_MAX];

	out->null = false;
	switch (t) {
	case REC_INT:
		out->u.i = i;
		return 0;
	case REC_FLOAT:
		out->u.f = (double)i;
		return 0;
	case REC_BOOL:
		if (i == 0 || i == 1) {
			out->u.b = i == 1;
			return 0;
		}
		break;
	case REC_TEXT:
		if (scratch == NULL)
			break;
		out->u.s.len = (uint32_t)snprintf(scratch, CONV_SCRATCH_MAX,
						  "%" PRId64, i);
		out->u.s.p = scratch;
		return 0;
	case REC_DECIMAL: {
		__int128 d;
		enum dec_status st = dec_from_int(i, f->prec, f->scale, &d);
		int n;

		if (st == DEC_OK) {
			rec_set_dec(out, d);
			return 0;
		}
		n = snprintf(text, sizeof text, "%" PRId64, i);
		reason_decimal(f, st, reason, reasonlen, text, (size_t)n);
		return -1;
	}
	case REC_TIMESTAMP: {
		int n = snprintf(text, sizeof text, "%" PRId64, i);

		if (number_timestamp(f, text, (size_t)n, out) == 0)
			return 0;
		break;
	}
	case REC_DATE:
	default:
		break;
	}
	if (reason != NULL && reasonlen > 0)
		snprintf(reason, reasonlen, "cannot convert int %" PRId64 " to %s",
			 i, type_name(t));
	return -1;
}

/* Significant digits of a number as conv_format_float() writes it. */
static int significant_digits(const char *s)
{
	int n = 0, lead = 1;

	for (; *s && *s != 'e' && *s != 'E'; s++) {
		if (*s < '0' || *s > '9')
			continue;
		if (lead && *s == '0')
			continue;
		lead = 0;
		n++;
	}
	return n;
}

int conv_json_real(const struct rec_field *f, double d, struct rec_value *out,
		   char *scratch, char *reason, size_t reasonlen)
{
	char text[CONV_FLOAT_MAX], type[64];

	if (f->type != REC_DECIMAL || !isfinite(d))
		return conv_float(f, d, out, scratch, reason, reasonlen);
	conv_format_float(d, text);
	if (significant_digits(text) <= 15)
		return conv_float(f, d, out, scratch, reason, reasonlen);
	out->null = false;
	conv_type_text(f, type, sizeof type);
	if (reason != NULL && reasonlen > 0)
		snprintf(reason, reasonlen,
			 "JSON number %s has more than 15 significant digits "
			 "for %s: write it as a string", text, type);
	return -1;
}

int conv_float(const struct rec_field *f, double d, struct rec_value *out,
	       char *scratch, char *reason, size_t reasonlen)
{
	enum rec_type t = f->type;
	char text[CONV_FLOAT_MAX];

	out->null = false;
	if (!isfinite(d)) {
		reason_text(reason, reasonlen, "non-finite float");
		return -1;
	}
	switch (t) {
	case REC_FLOAT:
		out->u.f = d;
		return 0;
	case REC_INT:
		/* -2^63 is exact; 2^63 itself is already out of range. */
		if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
		    (double)(int64_t)d == d) {
			out->u.i = (int64_t)d;
			return 0;
		}
		conv_format_float(d, text);
		if (reason != NULL && reasonlen > 0)
			snprintf(reason, reasonlen, "float %s is not %s", text,
				 d == trunc(d) ? "in int range" : "an integer");
		return -1;
	case REC_BOOL:
		if (d == 0 || d == 1) {
			out->u.b = d == 1;
			return 0;
		}
		break;
	case REC_TEXT:
		if (scratch == NULL)
			break;
		out->u.s.len = (uint32_t)conv_format_float(d, scratch);
		out->u.s.p = scratch;
		return 0;
	case REC_DECIMAL: {
		__int128 v;
		enum dec_status st = dec_from_double(d, f->prec, f->scale, &v);

		if (st == DEC_OK) {
			rec_set_dec(out, v);
			return 0;
		}
		reason_decimal(f, st, reason, reasonlen, text,
			       conv_format_float(d, text));
		return -1;
	}
	case REC_TIMESTAMP: {
		/* An integral float as its integer, else its shortest digits
		 * (epoch_ms reads 1517966773840.5 from them exactly). */
		size_t n;

		if (f->fmt == NULL)
			break;
		if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
		    (double)(int64_t)d == d)
			n = (size_t)snprintf(text, sizeof text, "%" PRId64,
					     (int64_t)d);
		else
			n = conv_format_float(d, text);
		if (number_timestamp(f, text, n, out) == 0)
			return 0;
		break;
	}
	case REC_DATE:
	default:
		break;
	}
	conv_format_float(d, text);
	if (reason != NULL && reasonlen > 0)
		snprintf(reason, reasonlen, "cannot convert float %s to %s", text,
			 type_name(t));
	return -1;
}

int conv_bool(const struct rec_field *f, bool b, struct rec_value *out,
	      char *reason, size_t reasonlen)
{
	enum rec_type t = f->type;

	out->null = false;
	switch (t) {
	case REC_BOOL:
		out->u.b = b;
		return 0;
	case REC_INT:
		out->u.i = b ? 1 : 0;
		return 0;
	case REC_FLOAT:
		out->u.f = b ? 1.0 : 0.0;
		return 0;
	case REC_TEXT:
		out->u.s.p = b ? "true" : "false";
		out->u.s.len = b ? 4 : 5;
		return 0;
	case REC_DECIMAL: {
		/* As into float: 0 and 1 (a decimal(p,p) cannot hold 1). */
		__int128 v;
		enum dec_status st = dec_from_int(b, f->prec, f->scale, &v);

		if (st == DEC_OK) {
			rec_set_dec(out, v);
			return 0;
		}
		reason_decimal(f, st, reason, reasonlen, b ? "true" : "false",
			       b ? 4 : 5);
		return -1;
	}
	case REC_TIMESTAMP:
	case REC_DATE:
	default:
		break;
	}
	if (reason != NULL && reasonlen > 0)
		snprintf(reason, reasonlen, "cannot convert bool to %s",
			 type_name(t));
	return -1;
}
