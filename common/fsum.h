/*
 * fsum.h - the exact sum of doubles, rounded once.
 *
 * A struct fsum holds the exact sum of every finite double added to it,
 * as an integer times a power of two, so that the result does not depend
 * on the order the values came in, on how they were split between
 * accumulators that were merged, or on restarts: fsum_value() is the
 * exact sum rounded once to the nearest double (ties to even), as
 * Python's math.fsum, and fsum_avg() the exact sum divided by a count,
 * also rounded once.
 *
 * Two forms.  Most data spans a narrow range of binary exponents (money,
 * durations, measurements): the sum then lives in a 128-bit integer
 * `acc` with the weight 2^lsb, and adding a value is a shift and an add
 * (fsum_add() is inline: it runs per record).  A value that does not fit
 * that window (one far larger or far smaller than the rest) moves the sum
 * into the wide form: a heap array of 32-bit digits that covers every
 * double, 2^-1074 to 2^1024 and 64 bits of carries above.
 *
 * Infinities and NaNs are kept apart: a NaN, or infinities of both signs,
 * make the sum NaN; infinities of one sign make it that infinity.  A
 * finite sum too large for a double is an infinity of its sign (rounded
 * as IEEE 754 does).  A sum that is exactly zero is +0.0, or -0.0 when
 * every value added was -0.0: what IEEE addition gives.
 *
 * A struct fsum starts zeroed ({0}: the empty sum).  Its wide array,
 * if it needs one, comes from the arena the caller passes (arena.h: the
 * merge's group tables keep their states there and free them all at
 * once).  Only fsum_add()'s slow path and fsum_merge() allocate; they
 * return -1 when memory runs out, leaving the sum as it was.
 */
#ifndef AGG_FSUM_H
#define AGG_FSUM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"

struct fsum_wide;

struct fsum {
	/*
	 * Narrow form: the sum is acc * 2^lsb, acc a 128-bit integer kept
	 * as two halves so that the struct needs only 8-byte alignment (the
	 * merge packs states at multiples of 8): fsum_acc(), fsum_set_acc().
	 */
	uint64_t acc_lo;
	int64_t acc_hi;
	int32_t lsb;            /* weight of acc's unit; valid when used */
	uint16_t flags;         /* FSUM_* below */
	uint16_t pad_;
	struct fsum_wide *wide; /* non-NULL: the sum lives there (acc 0) */
};

#define FSUM_USED     0x01u /* acc/lsb hold a value (else the sum is 0,
			     or in the wide form: never both) */
#define FSUM_POS_INF  0x02u
#define FSUM_NEG_INF  0x04u
#define FSUM_NAN      0x08u
#define FSUM_NEG_ZERO 0x10u /* a -0.0 was added */
#define FSUM_POS_ZERO 0x20u /* a +0.0 was added */

static inline __int128 fsum_acc(const struct fsum *s)
{
	return (__int128)((unsigned __int128)(uint64_t)s->acc_hi << 64 |
			  s->acc_lo);
}

static inline void fsum_set_acc(struct fsum *s, __int128 v)
{
	s->acc_lo = (uint64_t)v;
	s->acc_hi = (int64_t)(uint64_t)((unsigned __int128)v >> 64);
}

/* Out of line: the cases fsum_add() does not handle inline. */
int fsum_add_slow(struct fsum *s, double x, struct arena *ar);

/*
 * Add x.  Returns 0, or -1 when memory for the wide form ran out (the
 * sum is then unchanged).
 *
 * The inline path is the narrow form's window: x normal, the sum in use
 * (FSUM_USED, which the wide form never has: one test says both), x's
 * unit at most 63 bits above the sum's and the sum below 2^123.  The sign
 * is applied without a branch, which a column of mixed signs would
 * mispredict.
 */
static inline int fsum_add(struct fsum *s, double x, struct arena *ar)
{
	uint64_t bits;
	int64_t m, neg, hi;
	int e;
	unsigned d;

	memcpy(&bits, &x, sizeof bits);
	e = (int)((bits >> 52) & 0x7ff);
	/* Zeros, subnormals, infinities, NaNs, the empty sum, the wide form. */
	if ((unsigned)e - 1u >= 0x7feu || !(s->flags & FSUM_USED))
		return fsum_add_slow(s, x, ar);
	/*
	 * The significand as it lies: the sum's unit is the least of its
	 * values' (fsum.c's decompose() reads them the same way), so that
	 * the trailing zeros need not be counted and shifted off a value.
	 */
	m = (int64_t)((bits & 0xfffffffffffffull) | 0x10000000000000ull);
	neg = (int64_t)bits >> 63;
	m = (m ^ neg) - neg;
	/* d below 0 wraps past 63: one test for both ends of the window. */
	d = (unsigned)(e - 1075 - s->lsb);
	/*
	 * In the window when m << d stays below 2^116 and acc below 2^123 in
	 * magnitude: the sum then stays below 2^124, clear of overflow.  The
	 * add is in 64-bit halves: the 128-bit shift of a value took twice
	 * the instructions, and its registers spilled in a reader's loop.
	 */
	hi = s->acc_hi;
	if (d <= 63 && (uint64_t)hi + ((uint64_t)1 << 59) < (uint64_t)1 << 60) {
		uint64_t lo = (uint64_t)m << d;
		uint64_t sum = s->acc_lo + lo;

		/* (m >> 1) >> (63 - d): the high half of m << d, its sign too. */
		s->acc_hi = (int64_t)((uint64_t)hi +
				      (uint64_t)((m >> 1) >> (63 - d)) +
				      (sum < lo));
		s->acc_lo = sum;
		return 0;
	}
	return fsum_add_slow(s, x, ar);
}

/* Add the whole of b to a (b unchanged).  Returns 0, or -1. */
int fsum_merge(struct fsum *a, const struct fsum *b, struct arena *ar);

/* The sum, rounded once to the nearest double (ties to even). */
double fsum_value(const struct fsum *s);

/*
 * The sum divided by n (n > 0), rounded once to the nearest double
 * (ties to even).  NaN and infinities as for fsum_value().
 */
double fsum_avg(const struct fsum *s, uint64_t n);

/*
 * The sum as pieces that add up to it: up to FSUM_PIECES_MAX integers
 * m[i] (|m[i]| < 2^124) with the weights 2^lsb[i] (-1074 <= lsb[i] <=
 * 1040); flags aside (s->flags).  One piece for the narrow form, none for
 * an empty sum.  Returns how many.
 */
#define FSUM_PIECES_MAX 24
int fsum_pieces(const struct fsum *s, __int128 *m, int *lsb);

/*
 * Saving a sum in a partial (partial.c): fsum_save() writes s to out (room
 * for FSUM_SAVE_MAX bytes) as one string of bytes per value and form, and
 * returns how many; fsum_load() reads one back from p[0..len) into s (the
 * wide form's array from ar) and returns the bytes read, -1 when they are
 * not a saved sum, -2 when out of memory.
 */
#define FSUM_SAVE_MAX 600
size_t fsum_save(const struct fsum *s, unsigned char *out);
long fsum_load(struct fsum *s, const unsigned char *p, size_t len,
	       struct arena *ar);

#endif
