/*
 * stage_fold.c - the fold of a stage's entries into their groups (stage.h:
 * stage_fold()).
 *
 * Invariants: the entries are applied in the order they were staged, one
 * aggregate at a time, so each aggregate's values add in arrival order
 * (float sums bit-identical to folding record after record); every
 * entry's group is marked live.
 */
#include "stage.h"
#include "stage_int.h"

#include <assert.h>
#include <string.h>

/* Input j of entry e as the value state_add() takes (type t). */
static inline struct rec_value entry_value(const struct stage_entry *e,
					   int j, enum rec_type t)
{
	struct rec_value x;

	memset(&x, 0, sizeof(x));
	x.null = (e->nulls >> j) & 1;
	if (t == REC_FLOAT)
		memcpy(&x.u.f, &e->v[j], 8);
	else if (t == REC_BOOL)
		x.u.b = e->v[j] != 0;
	else
		x.u.i = (int64_t)e->v[j];
	return x;
}

/* Input j of entry e when it is a decimal: two words. */
static inline struct rec_value entry_dec_value(const struct stage_entry *e,
					       int j)
{
	struct rec_value x;

	memset(&x, 0, sizeof(x));
	x.null = (e->nulls >> j) & 1;
	x.u.d.lo = e->v[j];
	x.u.d.hi = (int64_t)e->v[j + 1];
	return x;
}

/* fold_op()'s steps for every entry before its aggregate's own. */
static inline __attribute__((always_inline)) void
fold_star(const struct stage_entry *e, bool live, bool star, size_t star_off)
{
	if (live)
		e->g->live = true;
	if (star)
		((struct st_count *)(void *)((unsigned char *)e->g +
					     star_off))->n++;
}

/*
 * fold_op()'s float sums, at[0..n) entries of es bytes, their states at
 * off, their input in (NULL flag bit); with star also the groups marked
 * live and their count(*) at star_off.  A loop of its own, out of line:
 * inlined into fold_op() the 128-bit sum's registers spilled to the
 * stack, some ten instructions a record.
 */
static inline __attribute__((always_inline)) int
fold_fsum_loop(const unsigned char *at, size_t n, size_t es, size_t off,
	       uint64_t bit, int in, struct arena *ar, bool star,
	       size_t star_off)
{
	for (size_t i = 0; i < n; i++, at += es) {
		const struct stage_entry *e = (const void *)at;
		struct st_fsum *s = (void *)((unsigned char *)e->g + off);
		double f;

		fold_star(e, star, star, star_off);
		if (e->nulls & bit)
			continue;
		memcpy(&f, &e->v[in], 8);
		if (fsum_add(&s->sum, f, ar) < 0)
			return -1;
		s->n++;
	}
	return 0;
}

static __attribute__((noinline)) int
fold_fsum(const unsigned char *at, size_t n, size_t es, size_t off,
	  uint64_t bit, int in, struct arena *ar, size_t star_off)
{
	return fold_fsum_loop(at, n, es, off, bit, in, ar, false, star_off);
}

static __attribute__((noinline)) int
fold_fsum_star(const unsigned char *at, size_t n, size_t es, size_t off,
	       uint64_t bit, int in, struct arena *ar, size_t star_off)
{
	return fold_fsum_loop(at, n, es, off, bit, in, ar, true, star_off);
}

/*
 * Fold input o of every entry into its group's state, entry after entry:
 * the aggregates' states are independent, so folding them one aggregate
 * at a time adds each one's values in the same order as state_add()
 * record after record, with one kind of step per loop.  The loops are
 * alike on purpose (a deliberate hot-path specialisation): each runs once
 * per entry, and one loop dispatching on the kind would branch per entry.
 * With live, the loop also marks every entry's group live, and with star
 * counts it into the count(*) at star_off: the commonest first aggregate
 * folded with the one after it, so that no loop of their own walks the
 * entries for them.  Returns 0, or -1 on no memory.
 */
static inline __attribute__((always_inline)) int
fold_op(const struct stager *sg, const struct stage *st, struct arena *ar,
	int j, bool live, bool star, size_t star_off)
{
	const struct stage_op *o = &sg->sops[j];
	const size_t off = o->off, n = st->nkept, es = sg->entry_size;
	const unsigned char *at = st->kept.p;
	const uint64_t bit = UINT64_C(1) << o->input;
	const int in = o->input;
	size_t i;

	switch (o->kind) {
	case SOP_COUNT_STAR:
		for (i = 0; i < n; i++, at += es) {
			const struct stage_entry *e = (const void *)at;

			fold_star(e, live, star, star_off);
			((struct st_count *)(void *)((unsigned char *)e->g +
						     off))->n++;
		}
		return 0;
	case SOP_COUNT:
		for (i = 0; i < n; i++, at += es) {
			const struct stage_entry *e = (const void *)at;

			fold_star(e, live, star, star_off);

			((struct st_count *)(void *)((unsigned char *)e->g +
						     off))->n +=
				!(e->nulls & bit);
		}
		return 0;
	case SOP_ISUM:
		for (i = 0; i < n; i++, at += es) {
			const struct stage_entry *e = (const void *)at;

			fold_star(e, live, star, star_off);
			struct st_isum *s =
				(void *)((unsigned char *)e->g + off);
			__int128 sum;

			if (e->nulls & bit)
				continue;
			memcpy(&sum, s->sum, sizeof(sum));
			sum += (int64_t)e->v[in];
			memcpy(s->sum, &sum, sizeof(sum));
			s->n++;
		}
		return 0;
	case SOP_DSUM:
		for (i = 0; i < n; i++, at += es) {
			const struct stage_entry *e = (const void *)at;

			fold_star(e, live, star, star_off);
			struct st_dsum *s =
				(void *)((unsigned char *)e->g + off);
			__int128 v;

			if (e->nulls & bit)
				continue;
			memcpy(&v, &e->v[in], sizeof(v));
			state_dsum_add(s, v, 0);
			s->n++;
		}
		return 0;
	case SOP_FSUM:
		(void)live; /* only count(*) comes with live and no star */
		if (star)
			return fold_fsum_star(at, n, es, off, bit, in, ar,
					      star_off);
		return fold_fsum(at, n, es, off, bit, in, ar, 0);
	case SOP_OTHER:
		for (i = 0; i < n; i++, at += es) {
			const struct stage_entry *e = (const void *)at;

			fold_star(e, live, star, star_off);
			struct rec_value x =
				entry_value(e, in, sg->aggs[j].ftype);

			if (state_add(ar, &sg->aggs[j], e->g, &x) < 0)
				return -1;
		}
		return 0;
	case SOP_DEC_OTHER:
		/* min, max of a decimal: no second call site of state_add() */
		for (i = 0; i < n; i++, at += es) {
			const struct stage_entry *e = (const void *)at;

			fold_star(e, live, star, star_off);
			struct st_mm *s = (void *)((unsigned char *)e->g + off);
			struct rec_value x = entry_dec_value(e, in);

			if (x.null)
				continue;
			if (state_mm_beats(&sg->aggs[j], s, &x))
				state_mm_set(ar, REC_DECIMAL, s, &x, true);
			s->n++;
		}
		return 0;
	}
	return 0;
}

int stage_fold(const struct stager *sg, struct stage *st, struct arena *ar)
{
	const unsigned char *at = st->kept.p;
	size_t i;
	int j = 0;

	assert(sg->entries);
	if (sg->naggs == 1 && sg->sops[0].kind == SOP_COUNT_STAR) {
		return fold_op(sg, st, ar, 0, true, false, 0);
	} else if (sg->naggs > 1 && sg->sops[0].kind == SOP_COUNT_STAR) {
		if (fold_op(sg, st, ar, 1, true, true, sg->sops[0].off) < 0)
			return -1;
		j = 2;
	} else {
		for (i = 0; i < st->nkept; i++, at += sg->entry_size)
			((const struct stage_entry *)(const void *)at)->g->live =
				true;
	}
	for (; j < sg->naggs; j++)
		if (fold_op(sg, st, ar, j, false, false, 0) < 0)
			return -1;
	return 0;
}
