/*
 * decimal.h - exact fixed-point decimals, as PostgreSQL's numeric(p,s).
 *
 * A value of type decimal(p,s) is an integer v with the meaning v / 10^s;
 * p (1..38) digits in all, s (0..p) of them after the point.  Every
 * decimal fits a signed 128-bit integer: 10^38 < 2^127.  Values come from
 * their digits, never through a double (a source that only has a double
 * gives its shortest round-trip digits, dec_from_double()); a value with
 * more than s fraction digits is rounded half away from zero, as
 * PostgreSQL rounds; one with more than p - s integer digits (after that
 * rounding) does not fit.
 *
 * Pure functions on caller-owned memory, no allocation: converters call
 * them per value.
 */
#ifndef AGG_DECIMAL_H
#define AGG_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest precision: 38 digits. */
#define DEC_MAX_PRECISION 38

/* Bytes dec_format() may write, the NUL included: sign, 38 digits, point, 0. */
#define DEC_STR_MAX 44

enum dec_status {
	DEC_OK = 0,
	DEC_SYNTAX,    /* not a decimal number */
	DEC_OVERFLOW,  /* more integer digits than the type holds */
};

/* 10^n for n in 0..38. */
__int128 dec_pow10(int n);

/*
 * Parse s[0..len) (no blanks: the caller trims) into *v at scale `scale`
 * for precision p: an optional sign, digits with an optional point (at
 * least one digit on either side), an optional exponent (e or E, an
 * optional sign, digits), as PostgreSQL's numeric input and JSON number
 * literals write them.  Returns DEC_OK, DEC_SYNTAX or DEC_OVERFLOW.
 */
enum dec_status dec_parse(const char *s, size_t len, int p, int scale,
			  __int128 *v);

/* An integer as decimal(p, scale).  DEC_OK or DEC_OVERFLOW. */
enum dec_status dec_from_int(int64_t i, int p, int scale, __int128 *v);

/*
 * A double as decimal(p, scale): from its shortest round-trip digits
 * ("0.1" for 0.1), then as dec_parse().  NaN and infinities are
 * DEC_SYNTAX.
 */
enum dec_status dec_from_double(double d, int p, int scale, __int128 *v);

/* Whether v has at most p digits. */
bool dec_fits(__int128 v, int p);

/*
 * Write v / 10^scale with exactly `scale` fraction digits ("37.60",
 * "-0.05", "12" for scale 0); no negative zero.  out holds DEC_STR_MAX
 * bytes; returns the length written (NUL-terminated).
 */
size_t dec_format(__int128 v, int scale, char *out);

/* v / 10^scale as the nearest double (for a float result). */
double dec_to_double(__int128 v, int scale);

/*
 * *acc += v, within 38 digits.  Returns DEC_OK, or DEC_OVERFLOW leaving
 * *acc as it was.
 */
enum dec_status dec_add(__int128 *acc, __int128 v);

/*
 * The average sum / n (n > 0) of values at scale s_in, at scale s_out >=
 * s_in, rounded half away from zero.  DEC_OK, or DEC_OVERFLOW when it has
 * more than 38 digits.
 */
enum dec_status dec_avg(__int128 sum, int64_t n, int s_in, int s_out,
			__int128 *out);

#endif
