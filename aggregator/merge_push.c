/*
 * merge_push.c - a pushed-down provider's groups into its table
 * (merge_push.h).  Not a per-record path: one call per GROUPS batch.
 */
#include "merge_push.h"

#include <stdlib.h>
#include <string.h>

/*
 * The fast form's sum (t 4097): f at 2^-52 plus m at 2^-114, both exact
 * integers; z of the n values were -0.0, so a sum of only those is -0.0.
 */
static int build_fast(struct fsum *s, int64_t n, const struct rec_value *w,
		      struct arena *ar)
{
	struct fsum lo = { 0 };
	__int128 f, m;
	int64_t z;

	if (w[0].null || w[2].null || w[3].null)
		return -1;
	f = rec_dec(&w[0]);
	m = rec_dec(&w[2]);
	z = w[3].u.i;
	if (z < 0 || z > n || f >= (__int128)1 << 126 ||
	    f <= -((__int128)1 << 126) || m >= (__int128)1 << 126 ||
	    m <= -((__int128)1 << 126))
		return -1;
	/* Not only -0.0, and nothing else tells: a zero that is not. */
	s->flags = (z > 0 ? FSUM_NEG_ZERO : 0) |
		   (z < n && f == 0 && m == 0 ? FSUM_POS_ZERO : 0);
	if (f != 0) {
		fsum_set_acc(s, f);
		s->lsb = -52;
		s->flags |= FSUM_USED;
	}
	if (m == 0)
		return 0;
	fsum_set_acc(&lo, m);
	lo.lsb = -114;
	lo.flags = FSUM_USED;
	return fsum_merge(s, &lo, ar);
}

/*
 * A combine's sum sent whole (t PUSH_FSUM_WHOLE, pushdown.h): f * 2^m, the
 * flags z.  The weight is bounded by the wide form's (a piece of it at
 * most 2^1166, fsum.c) and the integer by the narrow form's.
 */
static int whole_fsum(struct fsum *s, const struct rec_value *w)
{
	const uint16_t flags = FSUM_POS_INF | FSUM_NEG_INF | FSUM_NAN |
			       FSUM_NEG_ZERO | FSUM_POS_ZERO;
	__int128 m, lsb;

	if (w[0].null || w[2].null || w[3].null)
		return -1;
	m = rec_dec(&w[0]);
	lsb = rec_dec(&w[2]);
	if (m >= (__int128)1 << 124 || m <= -((__int128)1 << 124) ||
	    lsb < -1074 || lsb > 1040 || w[3].u.i < 0 ||
	    (w[3].u.i & ~(int64_t)flags) != 0)
		return -1;
	s->flags = (uint16_t)w[3].u.i;
	if (m != 0) {
		fsum_set_acc(s, m);
		s->lsb = (int32_t)lsb;
		s->flags |= FSUM_USED;
	}
	return 0;
}

/*
 * A sum of doubles from its record's values after n (pushdown.h): f at
 * 2^-52, or the fractions m of doubles of one sign and exponent, the
 * implicit bits (n of them, but for subnormals and zeros) added; zeros,
 * infinities and NaN as flags, as fsum_add() keeps them.  The narrow form
 * of struct fsum holds m * 2^e exactly (|f| < 2^63 per value, |m| <= 2^53,
 * fewer than 2^63 values), and state_combine() adds it exactly.
 */
static int build_fsum(struct fsum *s, int64_t n, const struct rec_value *w,
		      struct arena *ar)
{
	__int128 m;
	int64_t t, e;
	int lsb;

	memset(s, 0, sizeof *s);
	if (w[1].null)
		return n == 0 ? 0 : -1;
	t = w[1].u.i;
	if (t == 4097)
		return build_fast(s, n, w, ar);
	if (t == PUSH_FSUM_WHOLE)
		return whole_fsum(s, w);
	if (t == 4096) {
		m = w[0].null ? 0 : rec_dec(&w[0]);
		lsb = -52;
		/* Values of both signs that cancel: their zero is +0.0. */
		if (m == 0 && n > 0)
			s->flags |= FSUM_POS_ZERO;
	} else {
		if (t < -2048 || t > 2047 || w[2].null || w[3].null)
			return -1;
		e = t & 2047;
		m = rec_dec(&w[2]);
		if (m < 0 || m >= (__int128)1 << 116)
			return -1;
		if (e == 2047) {
			s->flags |= m != 0 ? FSUM_NAN : t < 0 ? FSUM_NEG_INF
							      : FSUM_POS_INF;
			return 0;
		}
		if (e == 0 && w[3].u.i == 0)
			s->flags |= t < 0 ? FSUM_NEG_ZERO : FSUM_POS_ZERO;
		if (e > 0)
			m += (__int128)n << 52;
		lsb = e == 0 ? -1074 : (int)e - 1075;
		if (t < 0)
			m = -m;
	}
	if (m >= (__int128)1 << 126 || m <= -((__int128)1 << 126))
		return -1;
	if (m != 0) {
		fsum_set_acc(s, m);
		s->lsb = lsb;
		s->flags |= FSUM_USED;
	}
	return 0;
}

/* The state of aggregate a from its n at w[0] and its value at w[1]. */
static int build(struct arena *ar, const struct st_agg *a, void *sp,
		 const struct rec_value *w)
{
	int64_t n = w[0].null ? 0 : w[0].u.i;
	__int128 sum;

	*(int64_t *)sp = n;
	/* A combine's further pieces of a wide float sum have n 0. */
	if (n == 0 && a->st != ST_FSUM)
		return 0;
	switch (a->st) {
	case ST_COUNT:
		return 0;
	case ST_ISUM:
		if (w[1].null)
			return -1;
		sum = rec_dec(&w[1]);
		memcpy(((struct st_isum *)sp)->sum, &sum, 16);
		return 0;
	case ST_DSUM:
		if (w[1].null)
			return -1;
		sum = rec_dec(&w[1]);
		memcpy(((struct st_dsum *)sp)->sum, &sum, 16);
		((struct st_dsum *)sp)->carry = 0;
		return 0;
	case ST_FSUM:
		return build_fsum(&((struct st_fsum *)sp)->sum, n, &w[1], ar);
	case ST_MM:
		if (w[1].null || state_mm_set(ar, a->ftype, sp, &w[1], true) < 0)
			return -1;
		((struct st_mm *)sp)->n = n;
		return 0;
	default:
		return -1;
	}
}

/*
 * state_combine(), but for a float sum's further pieces (n 0, which
 * state_combine() passes over as empty): their sums are added.
 */
static int combine(struct arena *ar, const struct st_agg *a, struct group *g,
		   const struct group *src)
{
	const struct st_fsum *s = STATE(src, a);

	if (a->st == ST_FSUM && s->n == 0)
		return fsum_merge(&((struct st_fsum *)STATE(g, a))->sum,
				  &s->sum, ar);
	return state_combine(ar, a, g, src);
}

int push_fold(struct gtable_keys *keys, struct gtable *t,
	      const struct st_agg *aggs, int naggs, const struct push_plan *pp,
	      int nfields, const unsigned char *b, size_t len, uint64_t n)
{
	struct rec_value *w = calloc((size_t)pp->wire.nfields + 1, sizeof *w);
	struct rec_value *vals = calloc((size_t)nfields + 1, sizeof *vals);
	unsigned char *scratch = malloc(t->group_size);
	size_t off = 0;
	int rc = -1;

	if (w == NULL || vals == NULL || scratch == NULL)
		goto out;
	for (uint64_t i = 0; i < n; i++) {
		struct group *g;

		if (off >= len)
			goto out;
		off += rec_decode_trusted(&pp->wire, b + off, w);
		for (int j = 0; j < pp->nkeys; j++)
			vals[keys->group_by[j]] = w[j];
		g = gtable_group_of(keys, t, vals);
		if (g == NULL)
			goto out;
		g->live = true;
		memset(scratch, 0, t->group_size);
		for (int k = 0; k < naggs; k++)
			if (build(&t->arena, &aggs[k],
				  STATE((struct group *)scratch, &aggs[k]),
				  &w[pp->col[k]]) < 0 ||
			    combine(&t->arena, &aggs[k], g,
				    (const struct group *)scratch) < 0)
				goto out;
	}
	rc = off == len ? 0 : -1;
out:
	free(w);
	free(vals);
	free(scratch);
	return rc;
}
