/*
 * jfast_num.h - the one-pass JSON reader's digits (jfast.c): runs of
 * digits summed eight at a time, and a short number (most are) read from
 * one word.  number() in jfast.c, which checks the literal and counts its
 * digits, reads through them, and through strtod when they cannot decide.
 * Apart from the walk of the record so that each part reads on its own;
 * static inline because the members' loop needs them inlined.  Nothing
 * here reads at or past end: a word is loaded only where eight bytes
 * remain before it.
 */
#ifndef AGG_JFAST_NUM_H
#define AGG_JFAST_NUM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../common/convert.h"
#include "../common/swar.h"

/* A number literal, as jansson reads it. */
struct num {
	bool real;
	int64_t i;
	double d;
};

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/*
 * Digits eight at a time where eight bytes remain (elsewhere, and on
 * other byte orders, one at a time).  The words below are eight bytes of
 * the text, the first the lowest, xor '0' in every byte: a digit's byte
 * is its value, 0..9, and no other byte is below 10.
 */
#define JF_WORDS 1

/*
 * Bit 7 of each byte of x that was not a digit: 0..9 plus 0x76 stays
 * below 0x80, 10 and more do not.  Exact at the lowest such byte: a carry
 * leaves only a byte that was not a digit, into those after it.
 */
static inline uint64_t not_digits(uint64_t x)
{
	return ((x + SWAR_ONES * 0x76) | x) & SWAR_HIGHS;
}

#endif

/*
 * The run of digits at p, accumulated into *m (which wraps past 19
 * digits: the callers count them).  Past it.  A word at a time while
 * eight bytes remain; m * 10^n + the word's n digits wraps as the digit
 * by digit sum does, both being the value modulo 2^64.
 */
static inline const unsigned char *digits(const unsigned char *p,
					  const unsigned char *end,
					  uint64_t *m)
{
#ifdef JF_WORDS
	while (end - p >= 8) {
		uint64_t x, other;
		unsigned n;

		memcpy(&x, p, 8);
		x ^= swar_bytes_of('0');
		other = not_digits(x);
		if (other == 0) {
			*m = *m * swar_pow10[8] + swar_digits(x, 8);
			p += 8;
			continue;
		}
		n = (unsigned)__builtin_ctzll(other) / 8;
		if (n != 0)
			*m = *m * swar_pow10[n] + swar_digits(x, n);
		return p + n;
	}
#endif
	for (; p < end && (unsigned)(*p - '0') < 10; p++)
		*m = *m * 10 + (uint64_t)(*p - '0');
	return p;
}

#ifdef JF_WORDS
/*
 * The commonest numbers, whose digits, point and the byte after them lie
 * in the word at p (past the sign): an integer of at most 7 digits, or a
 * real of at most 6 digits with a point and no exponent, read with one
 * conversion of the word and none of number()'s counting (so few digits
 * are always exact and in range).  Sets *out as number() does; past it, or
 * NULL: number()'s general path decides (what it refuses included).
 */
static inline __attribute__((always_inline)) const unsigned char *
word_number(const unsigned char *p, bool neg, struct num *out, bool want)
{
	uint64_t x, other, low, m;
	unsigned n, n2;

	memcpy(&x, p, 8);
	x ^= swar_bytes_of('0');
	other = not_digits(x);
	if (other == 0)
		return NULL;
	n = (unsigned)__builtin_ctzll(other) / 8;
	if (n == 0 || (n > 1 && *p == '0'))
		return NULL;
	if (p[n] != '.') {
		if ((p[n] | 0x20) == 'e')
			return NULL;
		m = swar_digits(x, n);
		out->real = false;
		out->i = neg ? -(int64_t)m : (int64_t)m;
		return p + n;
	}
	/* The fraction ends at the next byte that is not a digit (the
	 * point's bit is exact: so is the next).  The word without the
	 * point holds both runs as one: the value times 10^(digits after
	 * the point). */
	other &= other - 1;
	if (other == 0)
		return NULL;
	n2 = (unsigned)__builtin_ctzll(other) / 8;
	if (n2 == n + 1 || (p[n2] | 0x20) == 'e')
		return NULL;
	low = (UINT64_C(1) << (8 * n)) - 1;
	m = swar_digits((x & low) | ((x >> 8) & ~low), n2 - 1);
	out->real = true;
	/* At most 6 digits over 10^1..10^6: conv_float_exact() takes all
	 * of them; the general path would decide any other. */
	if (want) {
		if (!conv_float_exact(m, -(int)(n2 - n - 1), &out->d))
			return NULL;
		if (neg)
			out->d = -out->d;
	}
	return p + n2;
}
#endif

#endif
