/*
 * combine.h - a range reader's group table: the map-side combine.
 *
 * A file read with `parallel` is read by several range readers, and when
 * its records only feed a group-by whose aggregates combine exactly
 * (push_combine_allowed(), common/pushdown.h), each reader folds its rows
 * into a small table of groups here instead of encoding them, and sends
 * the groups (GROUPS frames, the record of push_plan_make_rows()) before
 * each checkpoint: the aggregator folds a few groups per batch rather than
 * every row, which on a machine with few cores is what lets a second
 * reader pay.  Sums are exact, so the groups add up to the rows: ints in
 * 128 bits, decimals in decimal(38) (a sum about to pass it asks for the
 * groups to be sent first), floats in a struct fsum (fsum.h) sent whole.
 *
 * The table holds at most COMB_MAX_GROUPS groups; its keys' and its text
 * minima's bytes are copied into its arena.  comb_send() empties it.
 * Nothing here counts records or talks to the ring: runtime.c does.
 */
#ifndef AGG_COMBINE_H
#define AGG_COMBINE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../common/arena.h"
#include "../common/config.h"
#include "../common/fsum.h"
#include "../common/pushdown.h"
#include "../ipc/record.h"

/* Groups a table holds before it must be sent. */
#define COMB_MAX_GROUPS 16384u

/* Slots of the table (a power of two, twice the groups: probes end soon). */
#define COMB_SLOT_BITS 15
#define COMB_SLOTS (1u << COMB_SLOT_BITS)

/*
 * What follows is public only so that comb_fold() can be inline (it runs
 * per row in the reader's loop); nothing outside combine.c touches it.
 *
 * A slot tells its group's key by one word when the config has one key
 * of at most 8 bytes (an int, a bool, text of up to 8 bytes: its bytes
 * and its length say the text), else by the keys' hash, compared again
 * in full (tag COMB_TAG_LONG).
 */
struct comb_slot {
	uint64_t kw;          /* the key's word, or the keys' hash */
	uint32_t tag;         /* 0: empty; 1 + text length, COMB_TAG_WORD
				 (int, bool), COMB_TAG_NULL, COMB_TAG_LONG */
	uint32_t group;       /* the group's index */
};

#define COMB_TAG_WORD 10u
#define COMB_TAG_NULL 11u
#define COMB_TAG_LONG 12u

/* What a step of comb_fold() does (count(*) has none: it is the rows). */
enum comb_kind {
	COMB_COUNT,           /* count(x) */
	COMB_ISUM,            /* sum, avg of ints */
	COMB_FSUM,            /* sum, avg of floats */
	COMB_IMIN,            /* min, max of ints */
	COMB_IMAX,
};

/*
 * The steps of a fast table: any, every one a float sum, or one float sum
 * alone (with count(*) or not: the commonest group-by of all).
 */
enum comb_shape {
	COMB_ANY,
	COMB_FSUMS,
	COMB_FSUM1,
};

/* One aggregate comb_fold() folds: its field, its state's offset. */
struct comb_step {
	int field;
	uint32_t state;       /* bytes from its group's start */
	enum comb_kind kind;
};

/* A group's start; its keys and states follow (combine.c). */
struct comb_group {
	uint64_t rows;
	uint32_t slot;
	uint32_t pad_;
};

/* One aggregate's state; which part is used depends on its aggregate. */
struct comb_state {
	int64_t n;
	uint64_t lo;          /* an int or decimal sum, 128 bits */
	int64_t hi;
	struct fsum f;
	struct rec_value v;   /* min, max */
};

struct comb {
	/* comb_fold()'s */
	bool fast;            /* one key of at most a word, every aggregate
				 one of a step: comb_fold() folds inline */
	bool broken;          /* a fold ran out of memory halfway: every
				 fold fails from here */
	int kfield;           /* the key's field (fast) */
	enum rec_type ktype;
	struct comb_slot *slots; /* COMB_SLOTS */
	unsigned char *groups; /* COMB_MAX_GROUPS of gsize bytes */
	size_t gsize;         /* of a group, keys and states included */
	struct comb_step *steps;
	int nsteps;
	enum comb_shape shape;
	struct arena ar;      /* text of keys and minima, wide float sums */
	/* the rest of the table's (combine.c) */
	struct push_plan plan;
	const int *group_by;
	int nkeys;
	int naggs;
	struct comb_agg *aggs;
	bool has_dsum;
	uint32_t ngroups;
	uint32_t max_groups;  /* COMB_MAX_GROUPS, or a test's fewer */
	struct rec_value *w;  /* a group record's values */
};

/*
 * A table for cfg, the whole config (its schema with the derived fields:
 * push_combine_allowed() said yes for the provider).  NULL on no memory.
 */
struct comb *comb_new(const struct cfg *cfg);
void comb_free(struct comb *t);

/*
 * Fold one row, v over cfg's schema.  0; 1: the table is full, or a
 * decimal sum would pass decimal(38): nothing was folded, send the groups
 * and fold it again; -1: no memory (the table is no good: the attempt
 * must end).
 */
int comb_add(struct comb *t, const struct rec_value *v);

/*
 * The key's one-word form (struct comb_slot) in *w: its tag.  Text of 4
 * to 8 bytes is its first and last 4 (overlapping), shorter its first,
 * middle and last byte: with the length, either tells the bytes.
 */
static inline uint32_t comb_key_word(enum rec_type ty,
				     const struct rec_value *x, uint64_t *w)
{
	const unsigned char *p;
	uint32_t len, a, b;

	*w = 0;
	if (x->null)
		return COMB_TAG_NULL;
	if (ty != REC_TEXT) {
		*w = ty == REC_BOOL ? (uint64_t)x->u.b : (uint64_t)x->u.i;
		return COMB_TAG_WORD;
	}
	p = (const unsigned char *)x->u.s.p;
	len = x->u.s.len;
	if (len >= 4 && len <= 8) {
		memcpy(&a, p, 4);
		memcpy(&b, p + len - 4, 4);
		*w = (uint64_t)a | (uint64_t)b << 32;
	} else if (len > 0 && len < 4) {
		*w = (uint64_t)p[0] | (uint64_t)p[len / 2] << 8 |
		     (uint64_t)p[len - 1] << 16;
	}
	return len <= 8 ? len + 1 : COMB_TAG_LONG;
}

/* The first slot to look at for (kw, tag). */
static inline uint32_t comb_slot_of(uint64_t kw, uint32_t tag)
{
	return (uint32_t)(((kw ^ tag) * 0x9e3779b97f4a7c15ull) >>
			  (64 - COMB_SLOT_BITS));
}

/*
 * A fold ran out of memory halfway: the table is no good, and every fold
 * fails from here (comb_add()'s, which a table no longer fast goes to),
 * so the row is never folded twice.  -1.
 */
static inline int comb_break(struct comb *t)
{
	t->broken = true;
	t->fast = false;
	return -1;
}

/*
 * comb_add(), inline for a fast table: a row of a group the table has,
 * keyed by a word, folded by the steps; anything else (a new group, a
 * longer key, a table that is not fast) is comb_add()'s.  shape, a
 * constant, is the table's (COMB_ANY does for every table): the loop a
 * reader's batch is instantiated with.
 */
static inline __attribute__((always_inline)) int
comb_fold_as(struct comb *t, const struct rec_value *v,
	     const enum comb_shape shape)
{
	const struct comb_slot *sl;
	const struct comb_step *st = t->steps;
	const struct rec_value *x;
	struct comb_state *s;
	unsigned __int128 sum;
	unsigned char *g;
	uint64_t kw;
	uint32_t tag, i;
	int k, n = t->nsteps;

	/* COMB_FSUMS and COMB_FSUM1 are a fast table's shapes only. */
	if (shape == COMB_ANY && !t->fast)
		return comb_add(t, v);
	tag = comb_key_word(t->ktype, &v[t->kfield], &kw);
	if (tag == COMB_TAG_LONG)
		return comb_add(t, v);
	for (i = comb_slot_of(kw, tag);; i = (i + 1) & (COMB_SLOTS - 1)) {
		sl = &t->slots[i];
		if (sl->kw == kw && sl->tag == tag)
			break;
		if (sl->tag == 0)
			return comb_add(t, v);
	}
	g = t->groups + (size_t)sl->group * t->gsize;
	((struct comb_group *)g)->rows++;
	/* No loop for one step: its setup cost what the step did. */
	if (shape == COMB_FSUM1) {
		x = &v[st->field];
		if (x->null)
			return 0;
		s = (struct comb_state *)(g + st->state);
		s->n++;
		if (fsum_add(&s->f, x->u.f, &t->ar) < 0)
			return comb_break(t);
		return 0;
	}
	for (k = 0; shape == COMB_FSUMS && k < n; k++) {
		x = &v[st[k].field];
		if (x->null)
			continue;
		s = (struct comb_state *)(g + st[k].state);
		s->n++;
		if (fsum_add(&s->f, x->u.f, &t->ar) < 0)
			return comb_break(t);
	}
	for (k = 0; shape == COMB_ANY && k < n; k++) {
		x = &v[st[k].field];
		if (x->null)
			continue;
		s = (struct comb_state *)(g + st[k].state);
		switch (st[k].kind) {
		case COMB_COUNT:
			s->n++;
			break;
		case COMB_ISUM:
			s->n++;
			sum = ((unsigned __int128)(uint64_t)s->hi << 64 |
			       s->lo) + (unsigned __int128)(__int128)x->u.i;
			s->lo = (uint64_t)sum;
			s->hi = (int64_t)(uint64_t)(sum >> 64);
			break;
		case COMB_FSUM:
			s->n++;
			if (fsum_add(&s->f, x->u.f, &t->ar) < 0)
				return comb_break(t);
			break;
		case COMB_IMIN:
			if (s->n++ == 0 || x->u.i < s->v.u.i)
				s->v.u.i = x->u.i;
			break;
		default:
			if (s->n++ == 0 || x->u.i > s->v.u.i)
				s->v.u.i = x->u.i;
			break;
		}
	}
	return 0;
}

/* The groups in the table, and the rows folded into them. */
uint64_t comb_groups(const struct comb *t);
uint64_t comb_rows(const struct comb *t);

/* What comb_send() hands each group record to; nonzero stops it. */
typedef int (*comb_emit)(void *arg, const struct rec_schema *s,
			 const struct rec_value *v);

/*
 * Each group as its records (pushdown.h: keys, aggregates, rows; a wide
 * float sum as several) through emit, in the order the groups came, then
 * empty the table.  0, or what emit returned to stop it (the table is
 * emptied all the same: the attempt is over).
 */
int comb_send(struct comb *t, comb_emit emit, void *arg);

static inline int comb_fold(struct comb *t, const struct rec_value *v)
{
	return comb_fold_as(t, v, COMB_ANY);
}

#endif
