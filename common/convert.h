/*
 * convert.h - source values into schema types (the user contract, §4).
 *
 * Pure functions, no allocation: they are on every provider's hot path.
 * Text converts into any type; numbers in text ("12.5") convert; a value
 * that cannot convert is an error with a short reason for the reject file.
 * A converter is given the field, whose type's parameters (a decimal's
 * precision and scale, a timestamp's formats, the zone of a local time)
 * it reads; the switch on the type comes first, so the types without
 * parameters cost what they did.  convert.c reads values in; the text
 * forms the outputs write (conv_format_*, conv_type_text) are
 * convert_fmt.c's.
 */
#ifndef AGG_CONVERT_H
#define AGG_CONVERT_H

#include <float.h>
#include <locale.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ipc/record.h"
#include "swar.h"

/* Room for every reason the converters write. */
#define CONV_REASON_MAX 160

/*
 * Convert s[0..len) (not NUL-terminated) into field f's type, with its
 * parameters (a decimal's precision and scale, a timestamp's formats, the
 * zone of a timestamp written without offset).  For REC_TEXT the value
 * points at s itself (the caller keeps s alive until the record is
 * emitted) after checking it is valid UTF-8 without NUL bytes.
 * Leading and trailing blanks are ignored for every type but text.
 * Returns 0, or -1 with a reason such as `invalid int "abc"`.
 *
 * decimal(p,s): dec_parse() of the digits (never through a double);
 * `invalid decimal(10,2) "abc"`, `decimal(10,2) overflow "123456789012"`.
 * date: "YYYY-MM-DD", or a timestamp of the standard forms: one without
 * offset gives its date part, one with an offset is an instant whose day
 * is read in f->tz (as PostgreSQL's timestamptz::date).
 * timestamp: with f->fmt, its formats (tsfmt_parse) in zone f->tz; else
 * the standard forms, those without offset local time in f->tz (UTC when
 * NULL).
 */
int conv_text(const struct rec_field *f, const char *s, size_t len,
	      struct rec_value *out, char *reason, size_t reasonlen);

/* Bytes of scratch a number needs to become text (conv_int, conv_float). */
#define CONV_SCRATCH_MAX 32

/*
 * Same, from a number the source already typed.  int -> float always;
 * float -> int only when integral and in range; int/float -> bool only for
 * 0 and 1; bool -> int/float/decimal as 0 and 1; int -> decimal exactly,
 * float -> decimal from its shortest round-trip digits (dec_from_double);
 * a number into a timestamp only through the field's formats, read from
 * the number's text (epoch_ms reads 1517966773840), never without them;
 * nothing into a date.
 * Into REC_TEXT a number is written into scratch (CONV_SCRATCH_MAX bytes,
 * owned by the caller, one per field, kept alive until the record is
 * emitted) and the value points there; scratch may be NULL for other types
 * (with a NULL scratch, a number into text is an error).  A bool into text
 * points at a static "true" / "false" and needs no scratch.
 */
int conv_int(const struct rec_field *f, int64_t i, struct rec_value *out,
	     char *scratch, char *reason, size_t reasonlen);
int conv_float(const struct rec_field *f, double d, struct rec_value *out,
	       char *scratch, char *reason, size_t reasonlen);
int conv_bool(const struct rec_field *f, bool b, struct rec_value *out,
	      char *reason, size_t reasonlen);

/*
 * A JSON number literal that the parser could only give as the double d
 * (it had a fraction or an exponent): conv_float(), except into a decimal.
 * There the literal's digits are wanted, and a double keeps any literal of
 * at most 15 significant digits exactly (its shortest round-trip digits
 * are the literal's value); one whose shortest digits are more than 15
 * may not be the literal, so it is a reject that says to quote the number,
 * never a value silently rounded.
 */
int conv_json_real(const struct rec_field *f, double d, struct rec_value *out,
		   char *scratch, char *reason, size_t reasonlen);

/*
 * A field's type as the config spells it, in full: "decimal(10,2)",
 * "timestamp('%d/%m/%Y', epoch_ms)", "int".  Writes at most n bytes
 * (NUL-terminated, cut when short); returns the length written.
 */
size_t conv_type_text(const struct rec_field *f, char *out, size_t n);

/*
 * Parse a timestamp: RFC 3339 ("2026-11-22T03:00:01Z", "...+02:00",
 * fractions up to microseconds), "YYYY-MM-DD HH:MM:SS[.ffffff][+TZ]"
 * (no zone means UTC) and "YYYY-MM-DD".  Into microseconds since the epoch.
 * Returns 0 or -1.
 *
 * Details: "T", "t" or one space between date and time; zones "Z", "z",
 * "+hh:mm", "-hh:mm", "+hhmm", "+hh"; a fraction of 1 to 9 digits, digits
 * past the sixth truncated (not rounded); years 0001-9999, also once the
 * zone is applied (the instant must be writable as RFC 3339 UTC); the
 * calendar is checked (Feb 29 only in leap years, seconds 0-59: no leap
 * second).
 */
int conv_parse_timestamp(const char *s, size_t len, int64_t *us);

/*
 * The same forms, those without an offset read as local time in zone z
 * (NULL: UTC; gaps and overlaps as tz.h reads them).
 */
int conv_parse_timestamp_in(const char *s, size_t len, const struct tz *z,
			    int64_t *us);

/*
 * A date: "YYYY-MM-DD", or a timestamp of the forms above, into days since
 * 1970-01-01: without offset its date part, with one the day of that
 * instant on zone z's wall clock (NULL: UTC).  Years 0001-9999.  0 or -1.
 */
int conv_parse_date(const char *s, size_t len, const struct tz *z,
		    int64_t *days);

/*
 * The proleptic Gregorian date of a day count since 1970-01-01 (year 0 is
 * 1 BC, as in ISO 8601), for any count (H. Hinnant's algorithms).  Inline:
 * the parsers and the formatters run it once per value.
 */
static inline void conv_civil_from_days(int64_t days, int64_t *y, unsigned *m,
					unsigned *d)
{
	int64_t z = days + 719468, era;
	unsigned doe, yoe, doy, mp;

	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Its inverse: the day count since 1970-01-01 of year y, month m, day d. */
static inline int64_t conv_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/*
 * conv_days_from_civil() for the years a timestamp's text can hold, 1 to
 * 9999, with m 1-12 and d 1-31: in unsigned arithmetic, whose divisions
 * by constants need no correction for a sign, and with the days before
 * each month (counted from March, as the era's years are) from a table.
 */
static inline int64_t conv_days_from_civil_ce(unsigned y, unsigned m,
					      unsigned d)
{
	static const uint16_t before[13] = {
		0, 306, 337, 0, 31, 61, 92, 122, 153, 184, 214, 245, 275,
	};
	unsigned era, yoe, doe;

	y -= m <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + before[m] + d - 1;
	return (int64_t)era * 146097 + (int64_t)doe - 719468;
}

/* Whether y is a leap year, and the days of month m (1-12) of year y. */
bool conv_is_leap(int64_t y);
unsigned conv_days_in_month(int64_t y, unsigned m);

/*
 * Write a timestamp as RFC 3339 UTC ("2026-11-22T03:00:01Z", with a
 * fraction only when it is not zero, trailing zeros trimmed).  out must hold
 * CONV_TS_MAX bytes; returns the length written (NUL-terminated).
 */
#define CONV_TS_MAX 40
size_t conv_format_timestamp(int64_t us, char *out);

/*
 * Write a date (days since 1970-01-01) as "YYYY-MM-DD".  out must hold
 * CONV_TS_MAX bytes; returns the length written (NUL-terminated).
 */
size_t conv_format_date(int64_t days, char *out);

/*
 * Write a double in the shortest form that reads back to the same double
 * ("0.1", "1e+300", "-0").  out must hold CONV_FLOAT_MAX bytes; returns the
 * length written.
 */
#define CONV_FLOAT_MAX 32
size_t conv_format_float(double d, char *out);

/*
 * Strict parsers, whole string (no blanks): 0 or -1.  Used by the config too.
 * int: optional sign and decimal digits, no overflow ("12.0" is not an int).
 * float: decimal, optional fraction and exponent, whatever the locale; no
 * hex, inf or nan, nothing out of double's range; at most 511 characters.
 * bool: true/false, t/f, yes/no, y/n, on/off, 1/0, any case.
 */
int conv_parse_int(const char *s, size_t len, int64_t *v);
int conv_parse_float(const char *s, size_t len, double *v);

/*
 * The decimal m * 10^e10 (m <= 2^53) as the double nearest to it, when one
 * IEEE operation gets it exactly right (Clinger's fast path: m and
 * 10^|e10| are both exact doubles, and a single multiplication or division
 * rounds correctly): true and *v, the value strtod gives.  False when
 * strtod must decide.  Needs arithmetic in plain double precision
 * (FLT_EVAL_METHOD 0: SSE2, AArch64).  conv_parse_float's own fast path;
 * inline for parsers that read digits themselves, once per float.
 */
static inline bool conv_float_exact(uint64_t m, int e10, double *v)
{
#if FLT_EVAL_METHOD == 0
	/* Every power of ten up to 1e22 is a double without rounding. */
	static const double pow10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21,
		1e22,
	};

	if (m > (UINT64_C(1) << 53) || e10 < -22 || e10 > 22)
		return false;
	*v = e10 < 0 ? (double)m / pow10[-e10] : (double)m * pow10[e10];
	return true;
#else
	(void)m;
	(void)e10;
	(void)v;
	return false;
#endif
}
int conv_parse_bool(const char *s, size_t len, bool *v);

/*
 * The "C" locale object the parsers and formatters use instead of the
 * process's locale (made once; glibc's static one, nothing to free), or
 * (locale_t)0 if it could not be made (then the global locale is used).
 */
locale_t conv_c_locale(void);

/* True when s[0..len) is valid UTF-8 and holds no NUL byte. */
bool conv_utf8_valid(const char *s, size_t len);

/*
 * The length of the well-formed multi-byte UTF-8 sequence at p (avail > 0
 * bytes there), or 0 when the bytes are not one: RFC 3629's table, so
 * overlong forms, surrogates (U+D800..DFFF), code points past U+10FFFF and
 * a sequence cut short by avail are not.  An ASCII byte gives 0 too: the
 * callers step over those faster themselves.  Reads no byte after the
 * first one out of range.  conv_utf8_valid()'s step, static inline for
 * the JSON readers' loops over strings.
 */
static inline size_t conv_utf8_seq(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (avail < n)
		return 0;
	/* The second byte's range is what rules out overlongs and surrogates. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k < n; k++)
		if (p[k] < 0x80 || p[k] > 0xbf)
			return 0;
	return n;
}

/*
 * True when none of w's eight bytes has its high bit set or is zero:
 * eight bytes of ASCII text without NUL (valid UTF-8, by themselves).
 */
static inline bool conv_ascii_word(uint64_t w)
{
	return !(w & SWAR_HIGHS) && !swar_zero_bytes(w);
}

#endif
