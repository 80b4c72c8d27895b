/*
 * state.h - the aggregates' states: what one aggregate keeps per group.
 *
 * Seven state kinds serve the seven aggregates: count(*) and count keep a
 * count (ST_COUNT); sum and avg an exact 128-bit integer sum (ST_ISUM:
 * int, timestamp, bool), an exact sum of decimals (ST_DSUM: 128 bits and
 * a carry, so that no order of adding overflows) or an exact sum of
 * doubles (ST_FSUM: float, fsum.h); min and max one value (ST_MM);
 * count_distinct a set of values (ST_SET; ST_SET_DEC for decimals, kept
 * as their 16 bytes).  The statistics (stddev, variance, percentile,
 * arg_min, arg_max: ST_VAR, ST_PCT, ST_ARG) live in state_stat.c and are
 * folded by state_add_stat() from the whole record.  Each state
 * begins with n, the rows (count(*)) or non-NULL values folded, takes only
 * the bytes its kind needs and sits at its st_agg.off behind the group's
 * header (gtable.h): the memory of a run with millions of groups is
 * mostly these states.  A zeroed state is an empty one.
 *
 * Memory: text a min/max keeps and a set's slots live in the arena of the
 * group's table; state_combine() shares the source's instead of copying,
 * so every arena must live until the merge is freed.
 *
 * Errors: the functions that may allocate return -1 on no memory.
 */
#ifndef AGG_STATE_H
#define AGG_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../ipc/record.h"
#include "../common/config.h"
#include "../common/arena.h"
#include "../common/fsum.h"
#include "gtable.h"
#include "pctspill.h"

/* One value of a count_distinct set. */
struct dslot {
	uint64_t hash;
	union {
		uint64_t bits;          /* int, timestamp, date, float, bool */
		const unsigned char *p; /* text; a decimal's 16 bytes */
	} v;
	uint32_t len;                   /* text, decimal (16) */
	bool used;
};

/* Open addressing, linear probing; slots live in the table's arena. */
struct dset {
	struct dslot *slots;
	uint32_t mask;
	uint32_t n;
};

/* The states by kind: multiples of 8 bytes, 8-byte aligned. */
struct st_count {
	int64_t n;
};

struct st_isum {
	int64_t n;
	unsigned char sum[16]; /* __int128, through memcpy: 8-byte aligned */
};

/*
 * A sum of decimals: the exact value is sum + carry * 2^128.  A decimal
 * is below 10^38 < 2^127 in magnitude, so two of them may pass the
 * 128-bit range; the carry counts the wraps, and the sum is exact however
 * far partial sums stray (the order records and providers arrive in does
 * not matter).  The result fits decimal(38,s) only when carry is 0.
 */
struct st_dsum {
	int64_t n;
	unsigned char sum[16]; /* __int128, the value at the field's scale */
	int64_t carry;
};

struct st_fsum {
	int64_t n;
	struct fsum sum;    /* exact, rounded once at the end (fsum.h) */
};

struct st_mm {
	int64_t n;
	union {
		int64_t i;  /* int, timestamp, date */
		double f;
		struct {
			uint64_t lo;
			int64_t hi;
		} d;        /* decimal, as in struct rec_value */
		bool b;
		struct {
			const char *p;
			uint32_t len;
			uint32_t cap; /* room at p if this table owns it */
		} s;
	} u;
};

struct st_set {
	int64_t n;
	struct dset set;
};

/*
 * stddev, stddev_pop, variance, var_pop: the exact sums of x and of x*x
 * (fsum.h), so that the result is computed once at the end from exact
 * sums whatever the order (state_stat.c).  An int or a decimal (its
 * integer at the field's scale) goes in as the exact doubles its bits
 * split into, x*x as the exact products of those parts (fma).
 */
struct st_var {
	int64_t n;
	struct fsum s1;
	struct fsum s2;
};

/*
 * median, percentile: every value as a double, in the table's arena, or,
 * once the memory budget is spent, in sorted runs of a temporary file
 * (pctspill.h).
 */
struct st_pct {
	int64_t n;    /* values folded, in memory and in runs */
	double *v;    /* nv of them in memory, room for cap */
	int64_t nv;
	int64_t cap;
	struct pspill_run *runs; /* nruns of them, room for runcap */
	int64_t nruns;
	int64_t runcap;
};

/* arg_min, arg_max: the value of field (f) at the least/greatest field2 (g). */
struct st_arg {
	int64_t n;
	struct st_mm f;
	struct st_mm g;
};

/*
 * The kinds of decimals after ST_SET: state_add() passes them on
 * (state_add_dec()); the statistics' kinds last, folded by
 * state_add_stat() only (they read the whole record).
 */
enum st_kind { ST_COUNT, ST_ISUM, ST_FSUM, ST_MM, ST_SET, ST_DSUM, ST_SET_DEC,
	       ST_VAR, ST_PCT, ST_ARG };

/* What the merge needs of an aggregate, resolved once (state_resolve()). */
struct st_agg {
	enum cfg_agg_kind kind;
	enum st_kind st;
	int field;             /* -1 for count(*) */
	enum rec_type ftype;   /* the field's type */
	enum rec_type natural; /* the type the state yields */
	enum rec_type otype;   /* the output column's type */
	uint8_t fscale;        /* a decimal field's scale */
	uint8_t oprec, oscale; /* a decimal result's p and s */
	size_t off;            /* of its state from the start of a group */
	int field2;            /* arg_min/arg_max's g; -1 */
	enum rec_type ftype2;  /* its type */
	double p;              /* percentile's fraction */
	int filter;            /* a bool field: fold only when true; -1 */
};

/* Whether a is folded by state_add_stat() (a kind of ST_VAR and after). */
static inline bool state_is_stat(const struct st_agg *a)
{
	return a->st >= ST_VAR;
}

#define STATE(g, a) ((void *)((unsigned char *)(g) + (a)->off))

/*
 * Resolve aggregate c of cfg into a, its state at offset off.  Returns the
 * bytes its state takes.
 */
size_t state_resolve(const struct cfg *cfg, const struct cfg_agg *c,
		     struct st_agg *a, size_t off);

/* The bits that identify a non-text value in a count_distinct set. */
static inline uint64_t state_value_bits(enum rec_type t,
					const struct rec_value *v)
{
	uint64_t bits;

	switch (t) {
	case REC_FLOAT:
		if (v->u.f == 0)
			return 0; /* -0.0 and 0.0 are one value */
		memcpy(&bits, &v->u.f, 8);
		return bits;
	case REC_BOOL:
		return v->u.b ? 1 : 0;
	default:
		return (uint64_t)v->u.i;
	}
}

/* A min/max state's value as a rec_value (the state must have n > 0). */
static inline struct rec_value state_mm_value(enum rec_type t,
					      const struct st_mm *s)
{
	struct rec_value v;

	memset(&v, 0, sizeof(v));
	switch (t) {
	case REC_TEXT:
		v.u.s.p = s->u.s.p;
		v.u.s.len = s->u.s.len;
		break;
	case REC_FLOAT:
		v.u.f = s->u.f;
		break;
	case REC_BOOL:
		v.u.b = s->u.b;
		break;
	case REC_INT:
	case REC_TIMESTAMP:
	case REC_DATE:
		v.u.i = s->u.i;
		break;
	case REC_DECIMAL:
		v.u.d.lo = s->u.d.lo;
		v.u.d.hi = s->u.d.hi;
		break;
	}
	return v;
}

/*
 * Whether v (not NULL) is to replace the value of min/max state s: s is
 * empty, or v is below its min or above its max.  Ties keep the first
 * value seen (0.0 vs -0.0).
 */
static inline bool state_mm_beats(const struct st_agg *a,
				  const struct st_mm *s,
				  const struct rec_value *v)
{
	struct rec_value cur;
	int c;

	if (s->n == 0)
		return true;
	cur = state_mm_value(a->ftype, s);
	c = rec_value_cmp(a->ftype, v, &cur);
	return a->kind == CFG_AGG_MIN ? c < 0 : c > 0;
}

/* d += v for a sum of decimals (struct st_dsum), exactly. */
static inline void state_dsum_add(struct st_dsum *d, __int128 v, int64_t carry)
{
	__int128 sum, r;

	memcpy(&sum, d->sum, sizeof(sum));
	if (__builtin_add_overflow(sum, v, &r))
		d->carry += v < 0 ? -1 : 1;
	d->carry += carry;
	memcpy(d->sum, &r, sizeof(r));
}

/*
 * Keep v (not NULL) as s's min/max.  Text is copied into a when copy (into
 * room that grows geometrically, so a falling sequence wastes <= 2x), or
 * else shared with its owner.  Returns 0, or -1 on no memory.
 */
int state_mm_set(struct arena *a, enum rec_type t, struct st_mm *s,
		 const struct rec_value *v, bool copy);

/*
 * Add one value to s unless it is there already.  Text p[0..len) is copied
 * into a, unless copy is false (then the caller keeps it alive as long as
 * s).  Returns 0, or -1 on no memory.
 */
int state_dset_insert(struct arena *a, struct dset *s, bool text,
		      uint64_t hash, uint64_t bits, const unsigned char *p,
		      uint32_t len, bool copy);

/*
 * state_add() of a value v (not NULL) into a decimals' state (ST_DSUM,
 * ST_SET_DEC), n counted.  Out of line, so that the inline switch of the
 * other kinds is what it was.  Returns 0, or -1 on no memory.
 */
int state_add_dec(struct arena *ar, const struct st_agg *a, void *sp,
		  const struct rec_value *v);

/*
 * Fold one value (NULL for count(*)) into g's state of a, copying what it
 * keeps into ar.  Returns 0, or -1 on no memory.  Inline: it runs for
 * every record and aggregate folded.
 */
static inline int state_add(struct arena *ar, const struct st_agg *a,
			    struct group *g, const struct rec_value *v)
{
	void *sp = STATE(g, a);

	if (a->kind == CFG_AGG_COUNT_STAR) {
		((struct st_count *)sp)->n++;
		return 0;
	}
	if (v->null)
		return 0;
	if (__builtin_expect(a->st > ST_SET, 0))
		return state_add_dec(ar, a, sp, v);
	switch (a->st) {
	case ST_COUNT:
		break;
	case ST_ISUM: {
		struct st_isum *s = sp;
		__int128 sum;

		memcpy(&sum, s->sum, sizeof(sum));
		sum += a->ftype == REC_BOOL ? (v->u.b ? 1 : 0) : v->u.i;
		memcpy(s->sum, &sum, sizeof(sum));
		break;
	}
	case ST_FSUM:
		if (fsum_add(&((struct st_fsum *)sp)->sum, v->u.f, ar) < 0)
			return -1;
		break;
	case ST_MM: {
		struct st_mm *s = sp;

		if (state_mm_beats(a, s, v) &&
		    state_mm_set(ar, a->ftype, s, v, true) < 0)
			return -1;
		break;
	}
	case ST_SET: {
		struct st_set *s = sp;

		if (a->ftype == REC_TEXT) {
			const unsigned char *p =
				(const unsigned char *)v->u.s.p;

			if (state_dset_insert(ar, &s->set, true,
					      hash_bytes(p, v->u.s.len), 0, p,
					      v->u.s.len, true) < 0)
				return -1;
		} else {
			uint64_t bits = state_value_bits(a->ftype, v);

			if (state_dset_insert(ar, &s->set, false,
					      hash_u64(bits), bits, NULL, 0,
					      false) < 0)
				return -1;
		}
		break;
	}
	case ST_DSUM:
	case ST_SET_DEC:
	case ST_VAR:
	case ST_PCT:
	case ST_ARG:
		break; /* above; the statistics never come here */
	}
	((struct st_count *)sp)->n++;
	return 0;
}

/*
 * Fold record rec (every field; the aggregate reads its field and field2)
 * into g's state of a statistic (state_is_stat()), copying what it keeps
 * into ar.  Returns 0, or -1 on no memory.
 */
int state_add_stat(struct arena *ar, const struct st_agg *a, struct group *g,
		   const struct rec_value *rec);

/* state_combine() of a statistic's states.  0, or -1 on no memory. */
int state_combine_stat(struct arena *ar, const struct st_agg *a, void *dp,
		       const void *sp);

/* state_result() of a statistic (its n > 0). */
void state_result_stat(const struct st_agg *a, const void *sp,
		       struct rec_value *out);

/*
 * Fold the state of a in src (a later provider's) into dst's.  Text and
 * set values are shared, not copied.  Returns 0, or -1 on no memory.
 */
int state_combine(struct arena *ar, const struct st_agg *a,
		  struct group *dst, const struct group *src);

/*
 * The result of a in group g into out: NULL for a sum, avg, min or max of
 * no value (as SQL).  An int sum is taken as fitting 64 bits, a decimal
 * sum or average as fitting 38 digits: check it first (state_fits()).
 */
void state_result(const struct st_agg *a, const struct group *g,
		  struct rec_value *out);

/*
 * Whether a's result in g fits its type: an int sum 64 bits, a decimal
 * sum or average 38 digits at its scale; anything else always does.
 */
bool state_fits(const struct st_agg *a, const struct group *g);

/*
 * A percentile's values (ST_PCT), for saving and loading its state:
 * state_pct_foreach() calls fn with each value folded into sp, in no
 * useful order (stops at and returns fn's -1; else 0);
 * state_pct_add() folds one more into sp (0, or -1 on no memory).
 */
int state_pct_foreach(const struct st_agg *a, const void *sp,
		      int (*fn)(void *ctx, double v), void *ctx);
int state_pct_add(struct arena *ar, const struct st_agg *a, void *sp,
		  double v);

/* The aggregate's function as the config spells it: "sum", "count"... */
const char *state_func_name(enum cfg_agg_kind k);

#endif
