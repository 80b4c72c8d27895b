/*
 * pgbin.c - PostgreSQL's binary COPY format, read so that every value is
 * exactly what the text format would have given (see pgbin.h).
 *
 * Why each direct conversion equals the text path's (conv_text() of the
 * server's text, DateStyle ISO, extra_float_digits 3):
 *  - int2/4/8 -> int: the text is the decimal integer, read exactly.
 *  - int2/4/8 -> float: strtod of that decimal text is correctly rounded,
 *    so it is (double) of the integer (both round to nearest, ties even).
 *  - float8 -> float: the text is the shortest decimal that reads back to
 *    the same double (PostgreSQL's ryu output); conv_parse_float is
 *    correctly rounded.  NaN and the infinities go through their text
 *    ("NaN", "Infinity", "-Infinity"), which conv_text() rejects.
 *  - bool -> bool: the text is "t" or "f".
 *  - date, timestamp, timestamptz (UTC) -> timestamp: the text is the
 *    proleptic Gregorian date and time (with "+00" for timestamptz), which
 *    conv_parse_timestamp() reads for years 1-9999; anything else (BC,
 *    later years, infinities) goes through its text and is rejected there.
 *    A date or timestamp (without time zone) is a wall-clock time: into a
 *    field with a zone it goes through its text, read in that zone.
 *  - date -> date: the day count, for years 1-9999.
 *  - numeric goes through its text, which dec_parse() reads exactly.
 * Every other pair is written as the server's text and converted from it.
 *
 * Formats (PostgreSQL's send functions): integers big-endian two's
 * complement; float8 the IEEE bits; bool one byte 0/1; date int32 days
 * since 2000-01-01 (INT32_MIN/MAX: -infinity/infinity); timestamp[tz]
 * int64 microseconds since 2000-01-01 00:00 (INT64_MIN/MAX likewise);
 * numeric int16 ndigits, int16 weight, uint16 sign, int16 dscale, then
 * ndigits base-10000 digits, the first one worth 10000^weight.
 */
#include "pgbin.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../common/convert.h"

/* Type OIDs (PostgreSQL's pg_type.dat). */
#define OID_BOOL 16
#define OID_NAME 19
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_FLOAT8 701
#define OID_BPCHAR 1042
#define OID_VARCHAR 1043
#define OID_DATE 1082
#define OID_TIMESTAMP 1114
#define OID_TIMESTAMPTZ 1184
#define OID_NUMERIC 1700

#define US_PER_DAY INT64_C(86400000000)

/* Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01. */
#define PG_EPOCH_DAYS 10957

/* conv_parse_timestamp's range, 0001-01-01 to 9999-12-31, in days since
 * 1970-01-01: [DAY_MIN, DAY_END). */
#define DAY_MIN INT64_C(-719162)
#define DAY_END INT64_C(2932897)

/* numeric's sign word. */
#define NUMERIC_POS 0x0000
#define NUMERIC_NEG 0x4000
#define NUMERIC_NAN 0xC000
#define NUMERIC_PINF 0xD000
#define NUMERIC_NINF 0xF000
#define NUMERIC_DSCALE_MAX 0x3FFF
#define NUMERIC_HDR 8

/* Longest text of a date or timestamp: a 7-digit year and all the rest. */
#define TS_TEXT_MAX 48

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

enum pgbin_kind pgbin_kind(unsigned oid, bool utc)
{
	switch (oid) {
	case OID_INT2:
		return PGBIN_INT2;
	case OID_INT4:
		return PGBIN_INT4;
	case OID_INT8:
		return PGBIN_INT8;
	case OID_FLOAT8:
		return PGBIN_FLOAT8;
	case OID_BOOL:
		return PGBIN_BOOL;
	case OID_TEXT:
	case OID_VARCHAR:
	case OID_BPCHAR:
	case OID_NAME:
		return PGBIN_TEXT;
	case OID_DATE:
		return PGBIN_DATE;
	case OID_TIMESTAMP:
		return PGBIN_TIMESTAMP;
	case OID_TIMESTAMPTZ:
		return utc ? PGBIN_TIMESTAMPTZ : PGBIN_NONE;
	case OID_NUMERIC:
		return PGBIN_NUMERIC;
	}
	return PGBIN_NONE;
}

const char *pgbin_kind_name(enum pgbin_kind k)
{
	static const char *const names[] = {
		[PGBIN_NONE] = "none", [PGBIN_INT2] = "int2",
		[PGBIN_INT4] = "int4", [PGBIN_INT8] = "int8",
		[PGBIN_FLOAT8] = "float8", [PGBIN_BOOL] = "bool",
		[PGBIN_TEXT] = "text", [PGBIN_DATE] = "date",
		[PGBIN_TIMESTAMP] = "timestamp",
		[PGBIN_TIMESTAMPTZ] = "timestamptz",
		[PGBIN_NUMERIC] = "numeric",
	};

	return (unsigned)k < sizeof names / sizeof *names ? names[k] : "?";
}

bool pgbin_pair_ok(enum pgbin_kind k, enum rec_type t)
{
	if (k == PGBIN_NONE)
		return false;
	return k != PGBIN_FLOAT8 || t == REC_FLOAT;
}

bool pgbin_has_text(enum pgbin_kind k)
{
	return k != PGBIN_NONE && k != PGBIN_FLOAT8;
}

/* --- framing ---------------------------------------------------------- */

long pgbin_header(const unsigned char *p, size_t n)
{
	uint32_t flags, ext;

	/* The signature's last byte is the literal's NUL. */
	if (n < 19 || memcmp(p, "PGCOPY\n\377\r\n", 11) != 0)
		return -1;
	flags = get32(p + 11);
	ext = get32(p + 15);
	/* Bits 16-31 are critical (16: OIDs, which we never ask for);
	 * bits 0-15 may be ignored. */
	if ((flags & 0xFFFF0000u) != 0 || ext > INT32_MAX || ext > n - 19)
		return -1;
	return 19 + (long)ext;
}

int pgbin_tuple(const unsigned char *p, size_t n, int ncols,
		const unsigned char **val, uint32_t *len)
{
	size_t off = 2;
	int16_t count;

	if (n < 2)
		return -1;
	count = (int16_t)get16(p);
	if (count == -1)
		return n == 2 ? 1 : -1;
	if (count != ncols)
		return -1;
	for (int j = 0; j < ncols; j++) {
		int32_t l;

		if (n - off < 4)
			return -1;
		l = (int32_t)get32(p + off);
		off += 4;
		if (l == -1) {
			val[j] = NULL;
			len[j] = 0;
			continue;
		}
		if (l < 0 || (size_t)l > n - off)
			return -1;
		val[j] = p + off;
		len[j] = (uint32_t)l;
		off += (size_t)l;
	}
	return off == n ? 0 : -1;
}

/* --- values ----------------------------------------------------------- */

static int numeric_check(const unsigned char *p, size_t len)
{
	uint16_t ndigits, sign, dscale;

	if (len < NUMERIC_HDR)
		return -1;
	ndigits = get16(p);
	sign = get16(p + 4);
	dscale = get16(p + 6);
	if (ndigits > INT16_MAX || len != NUMERIC_HDR + 2 * (size_t)ndigits ||
	    dscale > NUMERIC_DSCALE_MAX)
		return -1;
	if (sign == NUMERIC_NAN || sign == NUMERIC_PINF || sign == NUMERIC_NINF)
		return ndigits == 0 ? 0 : -1;
	if (sign != NUMERIC_POS && sign != NUMERIC_NEG)
		return -1;
	for (size_t k = 0; k < ndigits; k++)
		if (get16(p + NUMERIC_HDR + 2 * k) > 9999)
			return -1;
	return 0;
}

int pgbin_check(enum pgbin_kind k, const unsigned char *p, size_t len)
{
	switch (k) {
	case PGBIN_INT2:
		return len == 2 ? 0 : -1;
	case PGBIN_INT4:
	case PGBIN_DATE:
		return len == 4 ? 0 : -1;
	case PGBIN_INT8:
	case PGBIN_FLOAT8:
	case PGBIN_TIMESTAMP:
	case PGBIN_TIMESTAMPTZ:
		return len == 8 ? 0 : -1;
	case PGBIN_BOOL:
		return len == 1 && p[0] <= 1 ? 0 : -1;
	case PGBIN_TEXT:
		return 0; /* conv_text checks the UTF-8 */
	case PGBIN_NUMERIC:
		return numeric_check(p, len);
	case PGBIN_NONE:
		break;
	}
	return -1;
}

static int64_t int_value(enum pgbin_kind k, const unsigned char *p)
{
	if (k == PGBIN_INT2)
		return (int16_t)get16(p);
	if (k == PGBIN_INT4)
		return (int32_t)get32(p);
	return (int64_t)get64(p);
}

static double float8_value(const unsigned char *p)
{
	uint64_t bits = get64(p);
	double d;

	memcpy(&d, &bits, sizeof d);
	return d;
}

/* A timestamp's microseconds since 1970, when its year is 1-9999. */
static bool ts_unix(int64_t pg_us, int64_t *us)
{
	const int64_t lo = (DAY_MIN - PG_EPOCH_DAYS) * US_PER_DAY;
	const int64_t hi = (DAY_END - PG_EPOCH_DAYS) * US_PER_DAY;

	if (pg_us < lo || pg_us >= hi)
		return false;
	*us = pg_us + PG_EPOCH_DAYS * US_PER_DAY;
	return true;
}

/* A date's days since 1970, when its year is 1-9999. */
static bool date_days(int32_t pg_days, int64_t *days)
{
	int64_t d = (int64_t)pg_days + PG_EPOCH_DAYS;

	if (d < DAY_MIN || d >= DAY_END)
		return false;
	*days = d;
	return true;
}

/* A date's microseconds since 1970 (midnight), when its year is 1-9999. */
static bool date_unix(int32_t pg_days, int64_t *us)
{
	int64_t days = (int64_t)pg_days + PG_EPOCH_DAYS;

	if (days < DAY_MIN || days >= DAY_END)
		return false;
	*us = days * US_PER_DAY;
	return true;
}

bool pgbin_value(enum pgbin_kind k, const struct rec_field *f,
		 const unsigned char *p, size_t len, struct rec_value *out)
{
	enum rec_type t = f->type;

	(void)len;
	out->null = false;
	switch (k) {
	case PGBIN_INT2:
	case PGBIN_INT4:
	case PGBIN_INT8:
		if (t == REC_INT)
			out->u.i = int_value(k, p);
		else if (t == REC_FLOAT)
			out->u.f = (double)int_value(k, p);
		else
			return false;
		return true;
	case PGBIN_FLOAT8:
		out->u.f = float8_value(p);
		return t == REC_FLOAT && isfinite(out->u.f);
	case PGBIN_BOOL:
		out->u.b = p[0] == 1;
		return t == REC_BOOL;
	case PGBIN_DATE:
		if (t == REC_DATE)
			return date_days((int32_t)get32(p), &out->u.i);
		/* Midnight in the field's zone: through the text. */
		return t == REC_TIMESTAMP && f->tz == NULL &&
		       date_unix((int32_t)get32(p), &out->u.i);
	case PGBIN_TIMESTAMP:
		/* A wall-clock time: in a zone other than UTC, the text. */
		return t == REC_TIMESTAMP && f->tz == NULL &&
		       ts_unix((int64_t)get64(p), &out->u.i);
	case PGBIN_TIMESTAMPTZ:
		return t == REC_TIMESTAMP &&
		       ts_unix((int64_t)get64(p), &out->u.i);
	case PGBIN_TEXT:
	case PGBIN_NUMERIC:
	case PGBIN_NONE:
		break;
	}
	return false;
}

/* --- text --------------------------------------------------------------- */

/* Decimal digits of v at o (no sign); returns the end. */
static char *put_u64(char *o, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*o++ = tmp[--n];
	return o;
}

/* v in n digits, zero-padded (more digits when it needs them). */
static char *put_pad(char *o, uint64_t v, int n)
{
	uint64_t lim = 1;

	for (int k = 1; k < n; k++)
		lim *= 10;
	for (; lim > 1 && v < lim; lim /= 10)
		*o++ = '0';
	return put_u64(o, v);
}

static size_t int_text(int64_t v, char *out)
{
	char *o = out;

	if (v < 0)
		*o++ = '-';
	o = put_u64(o, v < 0 ? -(uint64_t)v : (uint64_t)v);
	*o = '\0';
	return (size_t)(o - out);
}

/* "YYYY-MM-DD" of a day count since 1970; *bc when the year is BC. */
static char *put_date(char *o, int64_t days, bool *bc)
{
	int64_t y;
	unsigned m, d;

	conv_civil_from_days(days, &y, &m, &d);
	*bc = y <= 0;
	o = put_pad(o, (uint64_t)(y > 0 ? y : 1 - y), 4);
	*o++ = '-';
	o = put_pad(o, m, 2);
	*o++ = '-';
	return put_pad(o, d, 2);
}

static size_t date_text(int32_t pg_days, char *out)
{
	char *o = out;
	bool bc;

	if (pg_days == INT32_MIN || pg_days == INT32_MAX)
		return (size_t)sprintf(out, "%s", pg_days == INT32_MIN ?
				       "-infinity" : "infinity");
	o = put_date(o, (int64_t)pg_days + PG_EPOCH_DAYS, &bc);
	if (bc)
		o = stpcpy(o, " BC");
	*o = '\0';
	return (size_t)(o - out);
}

/* ".ffffff" without trailing zeros, nothing for a whole second. */
static char *put_fraction(char *o, unsigned us)
{
	int digits = 6;

	if (us == 0)
		return o;
	while (us % 10 == 0) {
		us /= 10;
		digits--;
	}
	*o++ = '.';
	for (int k = digits - 1; k >= 0; k--) {
		o[k] = (char)('0' + us % 10);
		us /= 10;
	}
	return o + digits;
}

static size_t ts_text(int64_t pg_us, bool tz, char *out)
{
	int64_t days = pg_us / US_PER_DAY, rem = pg_us % US_PER_DAY;
	unsigned secs;
	char *o = out;
	bool bc;

	if (pg_us == INT64_MIN || pg_us == INT64_MAX)
		return (size_t)sprintf(out, "%s", pg_us == INT64_MIN ?
				       "-infinity" : "infinity");
	if (rem < 0) {
		rem += US_PER_DAY;
		days--;
	}
	o = put_date(o, days + PG_EPOCH_DAYS, &bc);
	secs = (unsigned)(rem / 1000000);
	*o++ = ' ';
	o = put_pad(o, secs / 3600, 2);
	*o++ = ':';
	o = put_pad(o, secs / 60 % 60, 2);
	*o++ = ':';
	o = put_pad(o, secs % 60, 2);
	o = put_fraction(o, (unsigned)(rem % 1000000));
	if (tz)
		o = stpcpy(o, "+00");
	if (bc)
		o = stpcpy(o, " BC");
	*o = '\0';
	return (size_t)(o - out);
}

static size_t float8_text(double d, char *out)
{
	/* Only these reach here: finite values convert directly. */
	return (size_t)sprintf(out, "%s", isnan(d) ? "NaN" :
			       d > 0 ? "Infinity" : "-Infinity");
}

/* The four decimal digits of a base-10000 digit; lead: drop leading 0s. */
static char *put_group(char *o, unsigned dig, bool lead)
{
	static const unsigned div[4] = { 1000, 100, 10, 1 };
	bool put = !lead;

	for (int k = 0; k < 4; k++) {
		unsigned d1 = dig / div[k];

		dig -= d1 * div[k];
		put = put || d1 > 0 || k == 3;
		if (put)
			*o++ = (char)('0' + d1);
	}
	return o;
}

static size_t numeric_size(const unsigned char *p)
{
	int weight = (int16_t)get16(p + 2);
	size_t before = weight >= 0 ? ((size_t)weight + 1) * 4 : 1;

	/* sign, integer part, point, dscale digits and the last group's
	 * overshoot, NUL; "-Infinity" fits too. */
	return 1 + before + 1 + get16(p + 6) + 4 + 1 + 10;
}

/*
 * numeric_out's text (get_str_from_var): every base-10000 digit of the
 * integer part, the first without leading zeros, then exactly dscale
 * fraction digits (the digits cut there, zeros past the last one).
 */
static size_t numeric_text(const unsigned char *p, char *out)
{
	int ndigits = get16(p), weight = (int16_t)get16(p + 2);
	int dscale = get16(p + 6), d;
	uint16_t sign = get16(p + 4);
	char *o = out;

	if (sign == NUMERIC_NAN || sign == NUMERIC_PINF || sign == NUMERIC_NINF)
		return (size_t)sprintf(out, "%s", sign == NUMERIC_NAN ? "NaN" :
				       sign == NUMERIC_PINF ? "Infinity" :
							      "-Infinity");
	if (sign == NUMERIC_NEG)
		*o++ = '-';
	if (weight < 0) {
		d = weight + 1;
		*o++ = '0';
	} else {
		for (d = 0; d <= weight; d++)
			o = put_group(o, d < ndigits ?
					 get16(p + NUMERIC_HDR + 2 * d) : 0,
				      d == 0);
	}
	if (dscale > 0) {
		char *end;

		*o++ = '.';
		end = o + dscale;
		for (int i = 0; i < dscale; d++, i += 4)
			o = put_group(o, d >= 0 && d < ndigits ?
					 get16(p + NUMERIC_HDR + 2 * d) : 0,
				      false);
		o = end;
	}
	*o = '\0';
	return (size_t)(o - out);
}

size_t pgbin_text_size(enum pgbin_kind k, const unsigned char *p, size_t len)
{
	switch (k) {
	case PGBIN_NUMERIC:
		return numeric_size(p);
	case PGBIN_TEXT:
		return len + 1;
	default:
		return TS_TEXT_MAX;
	}
}

size_t pgbin_text(enum pgbin_kind k, const unsigned char *p, size_t len,
		  char *out)
{
	switch (k) {
	case PGBIN_INT2:
	case PGBIN_INT4:
	case PGBIN_INT8:
		return int_text(int_value(k, p), out);
	case PGBIN_FLOAT8:
		return float8_text(float8_value(p), out);
	case PGBIN_BOOL:
		return (size_t)sprintf(out, "%s", p[0] ? "t" : "f");
	case PGBIN_DATE:
		return date_text((int32_t)get32(p), out);
	case PGBIN_TIMESTAMP:
	case PGBIN_TIMESTAMPTZ:
		return ts_text((int64_t)get64(p), k == PGBIN_TIMESTAMPTZ, out);
	case PGBIN_NUMERIC:
		return numeric_text(p, out);
	case PGBIN_TEXT:
		memcpy(out, p, len);
		out[len] = '\0';
		return len;
	case PGBIN_NONE:
		break;
	}
	out[0] = '\0';
	return 0;
}
