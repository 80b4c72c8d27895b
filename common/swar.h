/*
 * swar.h - tests on the eight bytes of a word at once (SIMD within a
 * register), for the loops that look for a few byte values in text.
 *
 * Load the word with memcpy (no alignment is assumed).  Each test leaves
 * bit 7 of a byte set where the byte matches; the lowest such bit is
 * exact, so on a little-endian machine __builtin_ctzll(hit) / 8 is the
 * index of the first match.  Bits above it may be false hits: a borrow
 * from a matching byte can flag the byte above it, so a test is exact as
 * a whole (zero or not) and at its lowest byte, not byte by byte.
 * static inline: every caller is a hot loop that needs them inlined.
 */
#ifndef AGG_SWAR_H
#define AGG_SWAR_H

#include <stdbool.h>
#include <stdint.h>

#define SWAR_ONES UINT64_C(0x0101010101010101)
#define SWAR_HIGHS UINT64_C(0x8080808080808080)

/* A word with every byte equal to b. */
static inline uint64_t swar_bytes_of(unsigned char b)
{
	return SWAR_ONES * b;
}

/* Non-zero where w has a zero byte; exact at the lowest one. */
static inline uint64_t swar_zero_bytes(uint64_t w)
{
	return (w - SWAR_ONES) & ~w & SWAR_HIGHS;
}

/* Non-zero where w has a byte below n, for n <= 128; exact at the lowest. */
static inline uint64_t swar_bytes_below(uint64_t w, unsigned char n)
{
	return (w - SWAR_ONES * n) & ~w & SWAR_HIGHS;
}

/* Whether w holds a byte equal to c. */
static inline bool swar_has(uint64_t w, unsigned char c)
{
	return swar_zero_bytes(w ^ swar_bytes_of(c)) != 0;
}

/*
 * The number written by the n digits (1..8) whose values (0..9, not their
 * characters) are the low n bytes of d, the first digit lowest, whatever
 * d's other bytes hold: shifted to the top (the bytes below them become
 * leading zeros), then pairs, quads and the eight summed by
 * multiplications that keep each sum within its bytes.
 */
static inline uint64_t swar_digits(uint64_t d, unsigned n)
{
	uint64_t v = d << (8 * (8 - n));

	v = v * 10 + (v >> 8);
	return (((v & UINT64_C(0x000000FF000000FF)) *
		 (100 + (UINT64_C(1000000) << 32))) +
		(((v >> 16) & UINT64_C(0x000000FF000000FF)) *
		 (1 + (UINT64_C(10000) << 32)))) >> 32;
}

/* 10^n for the 0..8 digits of a word. */
static const uint64_t swar_pow10[9] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
};

#endif
