/*
 * combine.c - a range reader's group table (combine.h).
 *
 * Open addressing over a fixed array of slots (twice COMB_MAX_GROUPS, so
 * a probe ends soon), each a key's word and tag (struct comb_slot) and
 * the index of a group in one array of fixed-size groups, kept in the
 * order they came.  A group is its rows, its slot, its key values (text
 * copied into the arena) and one state per aggregate; count(*)'s count is
 * its rows.  Sending empties the slots the groups used, one by one: a
 * table of a few groups costs a few stores per checkpoint, not a memset
 * of the slots.
 *
 * Per row, comb_fold() (combine.h, inline in the reader's loop) folds a
 * row of a fast table's known group by the steps planned here once;
 * comb_add() does the rest: new groups, keys told by their hash (several
 * keys, text past 8 bytes) and the aggregates no step takes (decimal
 * sums with their decimal(38) check, text and decimal minima).
 */
#include "combine.h"

#include <stdlib.h>
#include <string.h>

#include "../common/arena.h"
#include "../common/fsum.h"

enum comb_op {
	OP_COUNT_STAR,
	OP_COUNT,
	OP_ISUM,
	OP_DSUM,
	OP_FSUM,
	OP_MIN,
	OP_MAX,
};

struct comb_agg {
	enum comb_op op;
	int field;            /* -1: count(*) */
	enum rec_type type;   /* the field's (min, max) */
	int col;              /* its n in the group record */
};

#define KEYS(g) ((struct rec_value *)((unsigned char *)(g) + \
				      sizeof(struct comb_group)))
#define STATES(t, g) ((struct comb_state *)(KEYS(g) + (t)->nkeys))

static inline struct comb_group *group_at(const struct comb *t, uint32_t i)
{
	return (struct comb_group *)(t->groups + (size_t)i * t->gsize);
}

static inline __int128 sum_of(const struct comb_state *s)
{
	return (__int128)((unsigned __int128)(uint64_t)s->hi << 64 | s->lo);
}

static inline void set_sum(struct comb_state *s, __int128 v)
{
	s->lo = (uint64_t)v;
	s->hi = (int64_t)(v >> 64);
}

/* The kind of comb_fold() step that folds a, or -1: comb_add()'s. */
static int step_kind(const struct comb_agg *a)
{
	switch (a->op) {
	case OP_COUNT:
		return COMB_COUNT;
	case OP_ISUM:
		return COMB_ISUM;
	case OP_FSUM:
		return COMB_FSUM;
	case OP_MIN:
	case OP_MAX:
		if (a->type != REC_INT)
			return -1;
		return a->op == OP_MIN ? COMB_IMIN : COMB_IMAX;
	default:
		return -1;
	}
}

/*
 * comb_fold()'s plan: fast when there is one key and every aggregate is
 * count(*) or one of a step's kinds.
 */
static void plan_steps(struct comb *t, const struct cfg *cfg)
{
	const size_t keys = sizeof(struct comb_group) +
			    (size_t)t->nkeys * sizeof(struct rec_value);

	t->fast = t->nkeys == 1;
	for (int i = 0; i < t->naggs; i++)
		if (t->aggs[i].op != OP_COUNT_STAR &&
		    step_kind(&t->aggs[i]) < 0)
			t->fast = false;
	if (!t->fast)
		return;
	t->kfield = t->group_by[0];
	t->ktype = cfg->schema.fields[t->kfield].type;
	for (int i = 0; i < t->naggs; i++) {
		struct comb_step *st = &t->steps[t->nsteps];

		if (t->aggs[i].op == OP_COUNT_STAR)
			continue;
		st->field = t->aggs[i].field;
		st->state = (uint32_t)(keys + (size_t)i *
				       sizeof(struct comb_state));
		st->kind = (enum comb_kind)step_kind(&t->aggs[i]);
		t->nsteps++;
	}
	t->shape = t->nsteps == 1 ? COMB_FSUM1 : COMB_FSUMS;
	for (int k = 0; k < t->nsteps; k++)
		if (t->steps[k].kind != COMB_FSUM)
			t->shape = COMB_ANY;
}

/*
 * Groups the table takes: COMB_MAX_GROUPS, or in test builds fewer
 * (AGG_COMB_MAX_GROUPS), so that a test reaches a full table within a
 * checkpoint's rows.
 */
static uint32_t max_groups(void)
{
#ifdef AGG_TESTING
	const char *v = getenv("AGG_COMB_MAX_GROUPS");

	if (v && *v) {
		char *end;
		unsigned long n = strtoul(v, &end, 10);

		if (*end == '\0' && n > 0 && n < COMB_MAX_GROUPS)
			return (uint32_t)n;
	}
#endif
	return COMB_MAX_GROUPS;
}

struct comb *comb_new(const struct cfg *cfg)
{
	struct comb *t = calloc(1, sizeof *t);

	if (t == NULL)
		return NULL;
	if (push_plan_make_rows(cfg, &t->plan) < 0) {
		free(t);
		return NULL;
	}
	t->group_by = cfg->group_by;
	t->nkeys = cfg->ngroup_by;
	t->naggs = cfg->naggs;
	t->aggs = calloc((size_t)cfg->naggs + 1, sizeof *t->aggs);
	t->steps = calloc((size_t)cfg->naggs + 1, sizeof *t->steps);
	t->w = calloc((size_t)t->plan.wire.nfields, sizeof *t->w);
	t->gsize = sizeof(struct comb_group) +
		   (size_t)t->nkeys * sizeof(struct rec_value) +
		   (size_t)t->naggs * sizeof(struct comb_state);
	t->groups = malloc(COMB_MAX_GROUPS * t->gsize);
	t->slots = calloc(COMB_SLOTS, sizeof *t->slots);
	if (t->aggs == NULL || t->steps == NULL || t->w == NULL ||
	    t->groups == NULL || t->slots == NULL) {
		comb_free(t);
		return NULL;
	}
	for (int i = 0; i < cfg->naggs; i++) {
		const struct cfg_agg *a = &cfg->aggs[i];
		struct comb_agg *ca = &t->aggs[i];

		/* count(*) reads no field: any will do for the address. */
		ca->field = a->field >= 0 ? a->field : 0;
		ca->col = t->plan.col[i];
		ca->type = a->field >= 0 ? cfg->schema.fields[a->field].type
					 : REC_INT;
		switch (a->kind) {
		case CFG_AGG_COUNT_STAR:
			ca->op = OP_COUNT_STAR;
			break;
		case CFG_AGG_COUNT:
			ca->op = OP_COUNT;
			break;
		case CFG_AGG_MIN:
			ca->op = OP_MIN;
			break;
		case CFG_AGG_MAX:
			ca->op = OP_MAX;
			break;
		default: /* sum, avg */
			ca->op = ca->type == REC_FLOAT ? OP_FSUM :
				 ca->type == REC_DECIMAL ? OP_DSUM : OP_ISUM;
			break;
		}
		t->has_dsum |= ca->op == OP_DSUM;
	}
	plan_steps(t, cfg);
	t->max_groups = max_groups();
	return t;
}

void comb_free(struct comb *t)
{
	if (t == NULL)
		return;
	push_plan_free(&t->plan);
	arena_free(&t->ar);
	free(t->aggs);
	free(t->steps);
	free(t->w);
	free(t->groups);
	free(t->slots);
	free(t);
}

uint64_t comb_groups(const struct comb *t)
{
	return t->ngroups;
}

uint64_t comb_rows(const struct comb *t)
{
	uint64_t rows = 0;

	for (uint32_t i = 0; i < t->ngroups; i++)
		rows += group_at(t, i)->rows;
	return rows;
}

static inline uint64_t mix(uint64_t h, uint64_t x)
{
	h = (h ^ x) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

static inline uint64_t hash_keys(const struct comb *t,
				 const struct rec_value *v)
{
	uint64_t h = 0x243f6a8885a308d3ull;

	for (int k = 0; k < t->nkeys; k++) {
		const struct rec_value *x = &v[t->group_by[k]];
		const unsigned char *p;
		uint32_t len, i;
		uint64_t w;

		if (x->null) {
			h = mix(h, 0x5bd1e995u);
			continue;
		}
		/* A bool's byte; an int's, timestamp's or date's 8. */
		if (t->plan.wire.fields[k].type != REC_TEXT) {
			h = mix(h, t->plan.wire.fields[k].type == REC_BOOL ?
				   (uint64_t)x->u.b : (uint64_t)x->u.i);
			continue;
		}
		p = (const unsigned char *)x->u.s.p;
		len = x->u.s.len;
		for (i = 0; i + 8 <= len; i += 8) {
			memcpy(&w, p + i, 8);
			h = mix(h, w);
		}
		w = 0;
		memcpy(&w, p + i, len - i);
		h = mix(h, w ^ (uint64_t)len << 56);
	}
	return h;
}

static inline bool same_keys(const struct comb *t, const struct rec_value *a,
			     const struct rec_value *v)
{
	for (int k = 0; k < t->nkeys; k++) {
		const struct rec_value *x = &v[t->group_by[k]];

		if (a[k].null != x->null)
			return false;
		if (x->null)
			continue;
		switch (t->plan.wire.fields[k].type) {
		case REC_TEXT:
			if (a[k].u.s.len != x->u.s.len ||
			    memcmp(a[k].u.s.p, x->u.s.p, x->u.s.len) != 0)
				return false;
			break;
		case REC_BOOL:
			if (a[k].u.b != x->u.b)
				return false;
			break;
		default:
			if (a[k].u.i != x->u.i)
				return false;
			break;
		}
	}
	return true;
}

/* A copy of text value x in the arena (into *out).  0, or -1. */
static int copy_text(struct arena *ar, struct rec_value *out,
		     const struct rec_value *x)
{
	char *p = NULL;

	if (x->u.s.len > 0) {
		p = arena_alloc(ar, x->u.s.len, 1);
		if (p == NULL)
			return -1;
		memcpy(p, x->u.s.p, x->u.s.len);
	}
	*out = *x;
	out->u.s.p = p;
	return 0;
}

/*
 * The group of v's keys, made if new; NULL: full (*full) or no memory.
 * One key of at most a word is told by its word (comb_key_word()), any
 * other by the keys' hash and then the keys themselves.
 */
static struct comb_group *find(struct comb *t, const struct rec_value *v,
			       bool *full)
{
	uint64_t kw = 0;
	uint32_t s, i, tag = COMB_TAG_LONG;
	struct comb_group *g;
	struct rec_value *keys;

	if (t->nkeys == 1)
		tag = comb_key_word(t->plan.wire.fields[0].type,
				    &v[t->group_by[0]], &kw);
	if (tag == COMB_TAG_LONG)
		kw = hash_keys(t, v);
	for (s = comb_slot_of(kw, tag); t->slots[s].tag != 0;
	     s = (s + 1) & (COMB_SLOTS - 1)) {
		const struct comb_slot *sl = &t->slots[s];

		if (sl->kw != kw || sl->tag != tag)
			continue;
		g = group_at(t, sl->group);
		if (tag != COMB_TAG_LONG || same_keys(t, KEYS(g), v))
			return g;
	}
	if (t->ngroups == t->max_groups) {
		*full = true;
		return NULL;
	}
	i = t->ngroups;
	g = group_at(t, i);
	memset(g, 0, t->gsize);
	g->slot = s;
	keys = KEYS(g);
	for (int k = 0; k < t->nkeys; k++) {
		const struct rec_value *x = &v[t->group_by[k]];

		if (!x->null && t->plan.wire.fields[k].type == REC_TEXT) {
			if (copy_text(&t->ar, &keys[k], x) < 0)
				return NULL;
		} else {
			keys[k] = *x;
		}
	}
	t->slots[s].kw = kw;
	t->slots[s].tag = tag;
	t->slots[s].group = i;
	t->ngroups++;
	return g;
}

/* Whether every decimal sum of g stays within decimal(38) with v's. */
static bool dsums_fit(const struct comb *t, const struct comb_group *g,
		      const struct rec_value *v)
{
	const __int128 lim = (__int128)10000000000000000000ull *
			     (__int128)10000000000000000000ull; /* 10^38 */
	const struct comb_state *st = STATES(t, g);

	for (int i = 0; i < t->naggs; i++) {
		const struct rec_value *x;
		__int128 s;

		if (t->aggs[i].op != OP_DSUM)
			continue;
		x = &v[t->aggs[i].field];
		if (!x->null && (__builtin_add_overflow(sum_of(&st[i]),
							rec_dec(x), &s) ||
				 s >= lim || s <= -lim))
			return false;
	}
	return true;
}

/* Whether x comes before y (both non-NULL, of type ty): bytewise text. */
static bool less(enum rec_type ty, const struct rec_value *x,
		 const struct rec_value *y)
{
	uint32_t n;
	int c;

	switch (ty) {
	case REC_TEXT:
		n = x->u.s.len < y->u.s.len ? x->u.s.len : y->u.s.len;
		c = n ? memcmp(x->u.s.p, y->u.s.p, n) : 0;
		return c < 0 || (c == 0 && x->u.s.len < y->u.s.len);
	case REC_DECIMAL:
		return rec_dec(x) < rec_dec(y);
	default:
		return x->u.i < y->u.i;
	}
}

/* min (or max, when max) of state s with x.  0, or -1. */
static int fold_mm(struct comb *t, struct comb_state *s, enum rec_type ty,
		   const struct rec_value *x, bool max)
{
	if (s->n++ > 0 && !(max ? less(ty, &s->v, x) : less(ty, x, &s->v)))
		return 0;
	if (ty == REC_TEXT)
		return copy_text(&t->ar, &s->v, x);
	s->v = *x;
	return 0;
}

/* comb_add()'s aggregates past the counts and int sums. */
static __attribute__((noinline)) int fold_other(struct comb *t,
						const struct comb_agg *a,
						struct comb_state *s,
						const struct rec_value *x)
{
	switch (a->op) {
	case OP_DSUM:
		s->n++;
		set_sum(s, sum_of(s) + rec_dec(x));
		return 0;
	case OP_FSUM:
		if (fsum_add(&s->f, x->u.f, &t->ar) < 0)
			return -1;
		s->n++;
		return 0;
	default:
		return fold_mm(t, s, a->type, x, a->op == OP_MAX);
	}
}

int comb_add(struct comb *t, const struct rec_value *v)
{
	bool full = false;
	struct comb_group *g;
	struct comb_state *st;

	if (t->broken)
		return -1;
	g = find(t, v, &full);
	if (g == NULL)
		return full ? 1 : comb_break(t);
	if (t->has_dsum && !dsums_fit(t, g, v))
		return 1;
	st = STATES(t, g);
	g->rows++;
	/* count(*) is the group's rows. */
	for (int i = 0; i < t->naggs; i++) {
		const struct comb_agg *a = &t->aggs[i];
		const struct rec_value *x = &v[a->field];

		if (a->op == OP_COUNT_STAR || x->null) {
			continue;
		} else if (a->op == OP_COUNT) {
			st[i].n++;
		} else if (a->op == OP_ISUM) {
			st[i].n++;
			set_sum(&st[i], sum_of(&st[i]) + x->u.i);
		} else if (fold_other(t, a, &st[i], x) < 0) {
			return comb_break(t);
		}
	}
	return 0;
}

/*
 * Aggregate a's values after its n at w (w[0] is n) for state s: its
 * value, or for a float sum piece j of its pieces (m, lsb; np of them).
 */
static void put_value(const struct comb_agg *a, const struct comb_state *s,
		      struct rec_value *w, int j, int np, const __int128 *m,
		      const int *lsb)
{
	switch (a->op) {
	case OP_COUNT_STAR:
	case OP_COUNT:
		return;
	case OP_ISUM:
	case OP_DSUM:
		w[1].null = s->n == 0 || j > 0;
		rec_set_dec(&w[1], sum_of(s));
		return;
	case OP_FSUM:
		/* Flags ride with the first piece; a sum of zeros has none. */
		for (int k = 1; k <= 4; k++)
			w[k].null = j > 0 ? j >= np : s->n == 0;
		if (w[1].null)
			return;
		rec_set_dec(&w[1], j < np ? m[j] : 0);
		w[2].u.i = PUSH_FSUM_WHOLE;
		rec_set_dec(&w[3], j < np ? lsb[j] : 0);
		w[4].u.i = j > 0 ? 0 :
			   s->f.flags & (FSUM_POS_INF | FSUM_NEG_INF |
					 FSUM_NAN | FSUM_NEG_ZERO |
					 FSUM_POS_ZERO);
		return;
	default:
		w[1].null = s->n == 0 || j > 0;
		w[1].u = s->v.u;
		return;
	}
}

int comb_send(struct comb *t, comb_emit emit, void *arg)
{
	__int128 m[FSUM_PIECES_MAX];
	int lsb[FSUM_PIECES_MAX];
	struct rec_value *w = t->w;
	int rc = 0;

	for (uint32_t gi = 0; gi < t->ngroups && rc == 0; gi++) {
		struct comb_group *g = group_at(t, gi);
		struct comb_state *st = STATES(t, g);
		int records = 1;

		memcpy(w, KEYS(g), (size_t)t->nkeys * sizeof *w);
		/* A wide float sum takes a record per piece past its first. */
		for (int i = 0; i < t->naggs; i++)
			if (t->aggs[i].op == OP_FSUM && st[i].f.wide != NULL) {
				int np = fsum_pieces(&st[i].f, m, lsb);

				if (np > records)
					records = np;
			}
		for (int j = 0; j < records && rc == 0; j++) {
			for (int i = 0; i < t->naggs; i++) {
				const struct comb_agg *a = &t->aggs[i];
				int np = 0;

				if (a->op == OP_FSUM)
					np = fsum_pieces(&st[i].f, m, lsb);
				w[a->col].null = false;
				w[a->col].u.i = j > 0 ? 0 :
						a->op == OP_COUNT_STAR ?
						(int64_t)g->rows : st[i].n;
				put_value(a, &st[i], &w[a->col], j, np, m,
					  lsb);
			}
			w[t->plan.rows].null = false;
			w[t->plan.rows].u.i = j == 0 ? (int64_t)g->rows : 0;
			rc = emit(arg, &t->plan.wire, w);
		}
	}
	for (uint32_t gi = 0; gi < t->ngroups; gi++)
		memset(&t->slots[group_at(t, gi)->slot], 0,
		       sizeof *t->slots);
	t->ngroups = 0;
	arena_free(&t->ar);
	return rc;
}
