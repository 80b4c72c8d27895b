/*
 * test_swar.c - common/swar.h's word tests against a byte-by-byte look:
 * each test's answer as a whole, and the lowest flagged byte being the
 * first that matches (what the scanning loops take from it), on words
 * built to hold the bytes around the one looked for (where a borrow could
 * go wrong) and on random words.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/swar.h"
#include "helpers/testutil.h"

static uint64_t rng_state = UINT64_C(0x2545f4914f6cdd1d);

/* A word whose bytes are mostly c, its neighbours and the extremes. */
static uint64_t word_near(unsigned char c)
{
	uint64_t r = tu_rng(&rng_state), w = 0;

	for (int k = 0; k < 8; k++) {
		unsigned char b;

		switch ((r >> (4 * k)) & 7) {
		case 0: b = c; break;
		case 1: b = (unsigned char)(c - 1); break;
		case 2: b = (unsigned char)(c + 1); break;
		case 3: b = 0; break;
		case 4: b = 0x80; break;
		case 5: b = 0xff; break;
		default: b = (unsigned char)(tu_rng(&rng_state) >> 56); break;
		}
		w |= (uint64_t)b << (8 * k);
	}
	return w;
}

/* Byte k of w as memcpy() put it there (the first byte at k = 0). */
static unsigned char byte_at(uint64_t w, int k)
{
	unsigned char b[8];

	memcpy(b, &w, sizeof b);
	return b[k];
}

/* The index of the first byte of w that is c (below c: below), or 8. */
static int first_byte(uint64_t w, unsigned char c, bool below)
{
	for (int k = 0; k < 8; k++)
		if (below ? byte_at(w, k) < c : byte_at(w, k) == c)
			return k;
	return 8;
}

/* The byte index of the lowest flag of hit (non-zero), as the loops take it. */
static int lowest(uint64_t hit)
{
	unsigned char b[8];

	memcpy(b, &hit, sizeof b);
	for (int k = 0; k < 8; k++)
		if (b[k] != 0)
			return k;
	return 8;
}

Test(swar, bytes_of)
{
	for (int c = 0; c < 256; c++)
		for (int k = 0; k < 8; k++)
			cr_assert_eq(byte_at(swar_bytes_of((unsigned char)c), k), c);
}

Test(swar, has_and_zero_bytes_match_a_byte_look)
{
	int n = tu_scale(4000);

	for (int c = 0; c < 256; c++) {
		for (int i = 0; i < n; i++) {
			uint64_t w = i & 1 ? word_near((unsigned char)c) :
				     tu_rng(&rng_state);
			uint64_t x = w ^ swar_bytes_of((unsigned char)c);
			int first = first_byte(w, (unsigned char)c, false);

			cr_assert_eq(swar_has(w, (unsigned char)c), first < 8,
				     "c 0x%02x w 0x%016llx", c,
				     (unsigned long long)w);
			cr_assert_eq(swar_zero_bytes(x) != 0, first < 8);
			if (first < 8)
				cr_assert_eq(lowest(swar_zero_bytes(x)), first,
					     "c 0x%02x w 0x%016llx", c,
					     (unsigned long long)w);
			cr_assert_eq(swar_zero_bytes(x) & ~SWAR_HIGHS, 0);
		}
	}
}

Test(swar, bytes_below_matches_a_byte_look)
{
	int n = tu_scale(4000);

	for (int c = 0; c <= 128; c++) {
		for (int i = 0; i < n; i++) {
			uint64_t w = i & 1 ? word_near((unsigned char)c) :
				     tu_rng(&rng_state);
			uint64_t hit = swar_bytes_below(w, (unsigned char)c);
			int first = first_byte(w, (unsigned char)c, true);

			cr_assert_eq(hit != 0, first < 8,
				     "n %d w 0x%016llx", c,
				     (unsigned long long)w);
			if (first < 8)
				cr_assert_eq(lowest(hit), first);
		}
	}
}

/*
 * swar_digits() against strtoull() of the same digits: every count 1..8,
 * random digits (leading zeros included) with random bytes above them,
 * and the edges (all zeros, all nines); swar_pow10[] against a product.
 */
Test(swar, digits_are_strtoull_of_them)
{
	uint64_t p = 1;

	for (unsigned n = 0; n <= 8; n++, p *= 10)
		cr_assert_eq(swar_pow10[n], p, "10^%u", n);
	for (int r = 0; r < 200000; r++) {
		unsigned n = 1 + (unsigned)(r % 8);
		uint64_t d = tu_rng(&rng_state), vals = 0;
		char text[9];

		for (unsigned k = 0; k < 8; k++) {
			unsigned dig = r < 16 ? (r & 8 ? 9 : 0)
					      : (unsigned)((d >> (8 * k)) % 10);

			if (k < n) {
				text[k] = (char)('0' + dig);
				vals |= (uint64_t)dig << (8 * k);
			} else {
				/* Above the digits: anything. */
				vals |= (d >> (8 * k) & 0xff) << (8 * k);
			}
		}
		text[n] = '\0';
		cr_assert_eq(swar_digits(vals, n), strtoull(text, NULL, 10),
			     "%s (n %u, word %016llx)", text, n,
			     (unsigned long long)vals);
	}
}
