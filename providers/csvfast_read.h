/*
 * csvfast_read.h - the CSV fast path's readers of one field by type (int,
 * float, timestamp without formats) and the word tricks they share, and
 * the column readers' names the plan (csvfast_plan.c) chooses among; used
 * by csvfast.c, whose loops inline them (see csvfast.c's header for what
 * each reader accepts and why everything else goes to conv_text()), and
 * csvfast_plan.c.  They are apart from the scanner and the encoder so
 * that each part reads on its own; they stay static inline because the
 * loops need them inlined.
 */
#ifndef AGG_CSVFAST_READ_H
#define AGG_CSVFAST_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../common/convert.h"
#include "../common/swar.h"
#include "csvfast.h"

/* csvfast_col.op: how csvfast_encode() reads a column. */
enum {
	OP_SKIP,    /* feeds no field: only its end */
	OP_INT,     /* fast_int(), else plain_field() */
	OP_INT_CHECK,   /* the same for a field sent as NULL: no value */
	OP_FLOAT,   /* fast_float(), else plain_field() */
	OP_FLOAT_CHECK,
	OP_TEXT,    /* ASCII text where it lies, else plain_field() */
	OP_TS,      /* fast_ts(), else plain_field() */
	OP_TS_CHECK,
	OP_OTHER,   /* plain_field() (bool, timestamp; numbers when the
		       null text reads as one) */
};

/* Bytes of the total-length word that starts an encoded record. */
#define ENC_LEN_BYTES 4

/* parse_float copies at most this many bytes; longer floats are rejects. */
#define FLOAT_TEXT_MAX 512

/* The word tests' names in csvfast.c and below (common/swar.h). */
#define LO SWAR_ONES
#define HI SWAR_HIGHS
#define zero_bytes swar_zero_bytes

/*
 * Where a field whose bytes end at in[k] stops: k if in[k] is the
 * delimiter or the LF, k when in[k..k+1] is CR LF (the CR is not the
 * field's), else 0 (nothing a field may end with; k > 0 always).
 */
static inline bool field_stops(const struct csvfast *f,
			       const unsigned char *in, size_t k, size_t avail)
{
	if (k >= avail)
		return false;
	if (in[k] == f->delim || in[k] == '\n')
		return true;
	return in[k] == '\r' && k + 1 < avail && in[k + 1] == '\n';
}

/* The index of the delimiter or LF after a field that stopped at k. */
static inline size_t stop_at(const unsigned char *in, size_t k)
{
	return in[k] == '\r' ? k + 1 : k;
}

/*
 * Bit 7 of each byte of w (the first at its lowest byte) that is not an
 * ASCII digit; 0 when all are (and always without the word loops).
 */
static inline uint64_t non_digits(uint64_t w)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t x = w & (LO * 0x7f);
	/* Bit 7 of each byte: x >= '0', x > '9'; no carry crosses a byte. */
	uint64_t ge0 = x + LO * (0x80 - '0');
	uint64_t gt9 = x + LO * (0x80 - '9' - 1);

	return ~(ge0 & ~gt9 & ~w) & HI;
#else
	(void)w;
	return 0; /* the byte loops do it */
#endif
}

/*
 * How many of the 8 bytes in w are ASCII digits before the first that is
 * not, 8 when all are.
 */
static inline unsigned digit_run(uint64_t w)
{
	uint64_t other = non_digits(w);

	return other == 0 ? 8 : (unsigned)__builtin_ctzll(other) / 8;
}

/*
 * The value of the n digits (1..8) at the low bytes of w, whatever its
 * other bytes: swar_digits() of their values.
 */
static inline uint64_t digits_value(uint64_t w, unsigned n)
{
	/* The digits' bytes are >= '0': no borrow reaches them from below. */
	return swar_digits(w - LO * '0', n);
}

/* -?[0-9]{1,18} at in[i], ending where a field may: the end, or 0. */
static inline __attribute__((always_inline)) size_t fast_int(const struct csvfast *f,
			      const unsigned char *in, size_t i,
			      size_t avail, int64_t *v)
{
	size_t k = i, d0;
	uint64_t acc = 0, w;
	unsigned n;
	bool neg = false;

	if (k < avail && in[k] == '-') {
		neg = true;
		k++;
	}
	d0 = k;
	/* Up to 7 digits from one word; longer runs digit by digit. */
	if (avail - k >= 8) {
		memcpy(&w, in + k, 8);
		n = digit_run(w);
		if (n < 8) {
			if (n == 0)
				return 0;
			acc = digits_value(w, n);
			k += n;
			goto end;
		}
	}
	while (k < avail && k - d0 < 19) {
		unsigned d = (unsigned)in[k] - '0';

		if (d > 9)
			break;
		acc = acc * 10 + d;
		k++;
	}
	if (k == d0 || k - d0 > 18)
		return 0;
end:
	if (!field_stops(f, in, k, avail))
		return 0;
	*v = neg ? -(int64_t)acc : (int64_t)acc;
	return k;
}

/*
 * -?[0-9]{0,7}(\.[0-9]{0,7})? at in[k] from at most two words, each
 * holding its run and the byte after it: sets *m (at most 14 digits, so
 * exact), *scale, *mant (digits in all) and returns the end; 0 when the
 * text is not that or lies too near avail (the byte loops then read it).
 * Inline: a call cost more than the reading.
 */
static inline __attribute__((always_inline)) size_t
float_words(const unsigned char *in, size_t k, size_t avail, uint64_t *m,
	    int *scale, size_t *mant)
{
	uint64_t w, v = 0, low, other;
	unsigned n, n2 = 0;

	if (avail - k < 8)
		return 0;
	memcpy(&w, in + k, 8);
	other = non_digits(w);
	if (other == 0)
		return 0;
	n = (unsigned)__builtin_ctzll(other) / 8;
	if (in[k + n] != '.') {
		if (n != 0)
			v = digits_value(w, n);
		goto out;
	}
	/*
	 * The byte after the point's: where the fraction's run ends.  When
	 * it is within the word, the point taken out of the word leaves
	 * both runs in one, which one conversion reads.
	 */
	other &= other - 1;
	if (other != 0) {
		n2 = (unsigned)__builtin_ctzll(other) / 8 - n - 1;
		low = (UINT64_C(1) << (8 * n)) - 1;
		w = (w & low) | ((w >> 8) & ~low);
		if (n + n2 != 0)
			v = digits_value(w, n + n2);
		k++;
		goto out;
	}
	/* A longer fraction: its own word. */
	if (n != 0)
		v = digits_value(w, n);
	if (avail - (k + n + 1) < 8)
		return 0;
	memcpy(&w, in + k + n + 1, 8);
	n2 = digit_run(w);
	if (n2 == 8)
		return 0;
	if (n2 != 0)
		v = v * swar_pow10[n2] + digits_value(w, n2);
	k++;
out:
	*m = v;
	*scale = (int)n2;
	*mant = n + n2;
	return k + n + n2;
}

/* A short decimal float at in[i] that one IEEE operation reads: end, or 0. */
static inline __attribute__((always_inline)) size_t fast_float(const struct csvfast *f,
				const unsigned char *in, size_t i,
				size_t avail, double *v)
{
	size_t k = i, mant = 0, e;
	uint64_t m = 0;
	int digits = 0, scale = 0;
	bool neg = false;
	double d;

	if (k < avail && in[k] == '-') {
		neg = true;
		k++;
	}
	e = float_words(in, k, avail, &m, &scale, &mant);
	if (e != 0) {
		k = e;
		goto end;
	}
	/* The same digit rules as parse_float, stopping where it goes inexact. */
	for (; k < avail && in[k] >= '0' && in[k] <= '9'; k++, mant++) {
		if (digits >= 19)
			return 0;
		m = m * 10 + (uint64_t)(in[k] - '0');
		digits += m != 0;
	}
	if (k < avail && in[k] == '.') {
		for (k++; k < avail && in[k] >= '0' && in[k] <= '9';
		     k++, mant++) {
			if (digits >= 19)
				return 0;
			m = m * 10 + (uint64_t)(in[k] - '0');
			digits += m != 0;
			scale++;
		}
	}
end:
	if (mant == 0 || k - i >= FLOAT_TEXT_MAX ||
	    !field_stops(f, in, k, avail) || !conv_float_exact(m, -scale, &d))
		return 0;
	*v = neg ? -d : d;
	return k;
}

#define US_PER_SEC INT64_C(1000000)
/* conv_text()'s timestamps: 0001-01-01 up to 10000-01-01, excluded. */
#define TS_FIRST_US (INT64_C(-719162) * 86400 * US_PER_SEC)
#define TS_END_US (INT64_C(2932897) * 86400 * US_PER_SEC)

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* The separators' bytes of "YYYY-MM-" and of "HH:MM:SS", and them. */
#define TS_DATE_SEPS UINT64_C(0xFF0000FF00000000)
#define TS_DATE_WANT UINT64_C(0x2D00002D00000000)
#define TS_TIME_SEPS UINT64_C(0x0000FF0000FF0000)
#define TS_TIME_WANT UINT64_C(0x00003A00003A0000)

/*
 * The word at in[k] when its separators' bytes (seps) hold want and all
 * its other bytes are digits: each byte's value (separators 0) in *x.
 */
static inline bool ts_word(const unsigned char *in, size_t k, uint64_t seps,
			   uint64_t want, uint64_t *x)
{
	uint64_t w;

	memcpy(&w, in + k, 8);
	if ((w & seps) != want)
		return false;
	w = (w & ~seps) | (LO * '0' & seps);
	if (non_digits(w) != 0)
		return false;
	*x = w - LO * '0';
	return true;
}

/* Byte n of x (ts_word()'s values). */
#define TS_B(x, n) ((unsigned)((x) >> (8 * (n))) & 0xff)

/* The two digits at in[k] (both known to be there), or -1. */
static inline int ts_two(const unsigned char *in, size_t k)
{
	unsigned a = (unsigned)in[k] - '0', b = (unsigned)in[k + 1] - '0';

	return a > 9 || b > 9 ? -1 : (int)(a * 10 + b);
}
#endif

/*
 * A timestamp without formats at in[i] of column col, ending where a
 * field may: its end, with *us what conv_text() makes of its bytes, or 0
 * (not one of the forms read here, or a value conv_text() rejects).
 */
static inline __attribute__((always_inline)) size_t
fast_ts(const struct csvfast *f, const struct csvfast_col *col,
	const unsigned char *in, size_t i, size_t avail, int64_t *us)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	static const unsigned char dim[12] = { 31, 28, 31, 30, 31, 30,
					       31, 31, 30, 31, 30, 31 };
	const struct tz *z = col->fld->tz;
	uint64_t x;
	unsigned y, mo, d, h = 0, mi = 0, sec = 0;
	int64_t frac = 0, t, secs;
	int32_t off = 0;
	bool zoned = false;
	size_t k;
	int dd;

	if (avail - i < 11 || !ts_word(in, i, TS_DATE_SEPS, TS_DATE_WANT, &x))
		return 0;
	dd = ts_two(in, i + 8);
	if (dd < 0)
		return 0;
	y = TS_B(x, 0) * 1000 + TS_B(x, 1) * 100 + TS_B(x, 2) * 10 +
	    TS_B(x, 3);
	mo = TS_B(x, 5) * 10 + TS_B(x, 6);
	d = (unsigned)dd;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 ||
	    (d > dim[mo - 1] &&
	     !(mo == 2 && d == 29 && conv_is_leap(y))))
		return 0;
	k = i + 10;
	if (!field_stops(f, in, k, avail)) {
		if ((in[k] != 'T' && in[k] != 't' && in[k] != ' ') ||
		    avail - i < 20 ||
		    !ts_word(in, i + 11, TS_TIME_SEPS, TS_TIME_WANT, &x))
			return 0;
		h = TS_B(x, 0) * 10 + TS_B(x, 1);
		mi = TS_B(x, 3) * 10 + TS_B(x, 4);
		sec = TS_B(x, 6) * 10 + TS_B(x, 7);
		if (h > 23 || mi > 59 || sec > 59)
			return 0;
		k = i + 19;
		if (in[k] == '.') {
			size_t n = 0;
			unsigned dig;

			/* Microseconds: the first six digits, zero-padded. */
			while (++k < avail && (dig = (unsigned)in[k] - '0') <= 9) {
				if (++n > 9)
					return 0;
				if (n <= 6)
					frac = frac * 10 + dig;
			}
			if (n == 0)
				return 0;
			for (; n < 6; n++)
				frac *= 10;
		}
		if (k < avail && (in[k] == 'Z' || in[k] == 'z')) {
			zoned = true;
			k++;
		} else if (k < avail && (in[k] == '+' || in[k] == '-')) {
			int oh, om = 0, sign = in[k] == '-' ? -1 : 1;

			if (avail - k < 4 || (oh = ts_two(in, k + 1)) < 0)
				return 0;
			k += 3;
			if (in[k] == ':' || (in[k] >= '0' && in[k] <= '9')) {
				k += in[k] == ':';
				if (avail - k < 3 || (om = ts_two(in, k)) < 0)
					return 0;
				k += 2;
			}
			if (oh > 23 || om > 59)
				return 0;
			zoned = true;
			off = sign * (oh * 3600 + om * 60);
		}
		if (!field_stops(f, in, k, avail))
			return 0;
	}
	t = ((((conv_days_from_civil_ce(y, mo, d) * 24 + h) * 60 + mi) * 60) +
	     sec) * US_PER_SEC + frac;
	if (zoned) {
		t -= (int64_t)off * US_PER_SEC;
	} else if (z != NULL) {
		/* Whole seconds rounded down, as conv_text() does. */
		secs = t / US_PER_SEC - (t % US_PER_SEC < 0);
		t = tz_local_to_utc_cached(z, col->tzc, secs) * US_PER_SEC +
		    (t - secs * US_PER_SEC);
	}
	/* conv_text()'s range: 0001-01-01 .. 9999-12-31 once zoned. */
	if (t < TS_FIRST_US || t >= TS_END_US)
		return 0;
	*us = t;
	return k;
#else
	(void)f;
	(void)col;
	(void)in;
	(void)i;
	(void)avail;
	(void)us;
	return 0;
#endif
}

#endif
