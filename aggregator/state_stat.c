/*
 * state_stat.c - the statistics' states (state.h): stddev, stddev_pop,
 * variance, var_pop (struct st_var), median and percentile (struct
 * st_pct), arg_min and arg_max (struct st_arg).
 *
 * Every result depends on the values alone, never on the order they came
 * in or on how providers split them:
 *  - variance: the sums of x and x*x are exact (fsum), and the numerator
 *    n*Sxx - Sx*Sx is formed exactly in another fsum from the exact
 *    expansions of both sums (each product of two doubles is two doubles
 *    by fma).  Then one division by n gives a double-double quotient
 *    (fsum_avg twice), the rest is done in double-double (about 106 bits),
 *    and the result is rounded once: the correctly rounded double unless
 *    the exact value lies within about 2^-100 of a halfway point.
 *  - percentile: the values are sorted when the result is taken, and
 *    interpolated as PostgreSQL's percentile_cont does (in doubles, the
 *    same formula, so the same bits).  Past the memory budget a full
 *    array is written, sorted, as a run to the spill file (pctspill.h);
 *    the result then merges the runs with the values left in memory up
 *    to the two positions it needs: the same values, the same bits.
 *  - arg_min/arg_max: a tie on the ordering value keeps the least value.
 */
#include "state.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/decimal.h"

/* The terms of an exact value: at most 3 doubles for an int or decimal. */
static int split_parts(enum rec_type t, const struct rec_value *v,
		       double p[3])
{
	if (t == REC_FLOAT) {
		p[0] = v->u.f;
		return 1;
	}
	if (t == REC_INT) {
		int64_t i = v->u.i;

		/* both halves are exact doubles */
		p[0] = (double)(int64_t)((uint64_t)i & ~UINT64_C(0xffffffff));
		p[1] = (double)(uint64_t)((uint64_t)i & UINT64_C(0xffffffff));
		return 2;
	}
	{
		__int128 m = rec_dec(v);
		const __int128 mask = ((__int128)1 << 48) - 1;

		p[0] = (double)(int64_t)(m & mask);
		p[1] = ldexp((double)(int64_t)((m >> 48) & mask), 48);
		p[2] = ldexp((double)(int64_t)(m >> 96), 96);
		return 3;
	}
}

/* s += sign * a * b, exactly (a*b is two doubles by fma). */
static int add_product(struct fsum *s, double a, double b, double sign,
		       struct arena *ar)
{
	double h = a * b, l;

	if (h == 0 && (a == 0 || b == 0))
		return 0;
	if (!isfinite(h))
		return fsum_add(s, sign * h, ar);
	l = fma(a, b, -h);
	if (fsum_add(s, sign * h, ar) < 0)
		return -1;
	return l != 0 ? fsum_add(s, sign * l, ar) : 0;
}

static int var_add(struct arena *ar, const struct st_agg *a,
		   struct st_var *s, const struct rec_value *x)
{
	double p[3];
	int np = split_parts(a->ftype, x, p), i, j;

	for (i = 0; i < np; i++) {
		if (p[i] != 0 && fsum_add(&s->s1, p[i], ar) < 0)
			return -1;
		for (j = 0; j < np; j++)
			if (add_product(&s->s2, p[i], p[j], 1, ar) < 0)
				return -1;
	}
	/* A zero float still counts for the sign flags: none needed here. */
	s->n++;
	return 0;
}

static int dcmp(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	/* PostgreSQL's order of float8: NaN above everything */
	if (isnan(a) || isnan(b))
		return isnan(a) - isnan(b);
	/* -0 before 0, so that the order (and a -0 result) is one */
	if (a == b)
		return (signbit(b) != 0) - (signbit(a) != 0);
	return a < b ? -1 : a > b;
}

/* Room for one more run in s's list (in the arena, geometric). */
static int pct_run_room(struct arena *ar, struct st_pct *s)
{
	struct pspill_run *nr;
	int64_t cap;

	if (s->nruns < s->runcap)
		return 0;
	cap = s->runcap ? s->runcap * 2 : 4;
	nr = arena_alloc(ar, sizeof(*nr) * (size_t)cap, sizeof(int64_t));
	if (nr == NULL)
		return -1;
	if (s->nruns)
		memcpy(nr, s->runs, sizeof(*nr) * (size_t)s->nruns);
	s->runs = nr;
	s->runcap = cap;
	return 0;
}

/* Write s's values in memory, sorted, as a run; its array is empty again. */
static int pct_spill(struct arena *ar, struct st_pct *s)
{
	if (pct_run_room(ar, s) < 0)
		return -1;
	qsort(s->v, (size_t)s->nv, sizeof(double), dcmp);
	if (pspill_write(s->v, s->nv, &s->runs[s->nruns]) < 0)
		return -1;
	s->nruns++;
	s->nv = 0;
	return 0;
}

static int pct_add(struct arena *ar, const struct st_agg *a,
		   struct st_pct *s, double x)
{
	(void)a;
	if (s->nv == s->cap) {
		if (s->nv >= PSPILL_MIN_VALUES && pspill_spent()) {
			/* past the budget: to disk rather than grow */
			if (pct_spill(ar, s) < 0)
				return -1;
		} else {
			int64_t cap = s->cap ? s->cap * 2 : 4;
			double *nv = arena_alloc(ar, sizeof(double) *
						 (size_t)cap, sizeof(double));

			if (nv == NULL)
				return -1;
			/* The old array stays in the arena: geometric, so <= 2x. */
			if (s->nv)
				memcpy(nv, s->v, sizeof(double) * (size_t)s->nv);
			s->v = nv;
			s->cap = cap;
			pspill_take(sizeof(double) * (uint64_t)cap);
		}
	}
	s->v[s->nv++] = x;
	s->n++;
	return 0;
}

/* Whether (f, g) is to replace arg state s's pair. */
static bool arg_beats(const struct st_agg *a, const struct st_arg *s,
		      const struct rec_value *f, const struct rec_value *g)
{
	struct rec_value cf, cg;
	int c;

	if (s->n == 0)
		return true;
	cg = state_mm_value(a->ftype2, &s->g);
	c = rec_value_cmp(a->ftype2, g, &cg);
	if (c != 0)
		return a->kind == CFG_AGG_ARG_MIN ? c < 0 : c > 0;
	cf = state_mm_value(a->ftype, &s->f);
	return rec_value_cmp(a->ftype, f, &cf) < 0;
}

static int arg_set(struct arena *ar, const struct st_agg *a, struct st_arg *s,
		   const struct rec_value *f, const struct rec_value *g,
		   bool copy)
{
	if (state_mm_set(ar, a->ftype, &s->f, f, copy) < 0 ||
	    state_mm_set(ar, a->ftype2, &s->g, g, copy) < 0)
		return -1;
	return 0;
}

/* A value as the double percentile_cont reads (PostgreSQL: ::float8). */
static double as_double(enum rec_type t, uint8_t scale,
			const struct rec_value *v)
{
	if (t == REC_FLOAT)
		return v->u.f;
	if (t == REC_DECIMAL)
		return dec_to_double(rec_dec(v), scale);
	return (double)v->u.i;
}

int state_add_stat(struct arena *ar, const struct st_agg *a, struct group *g,
		   const struct rec_value *rec)
{
	void *sp = STATE(g, a);
	const struct rec_value *x = &rec[a->field];

	if (x->null)
		return 0;
	switch (a->st) {
	case ST_VAR:
		return var_add(ar, a, sp, x);
	case ST_PCT:
		return pct_add(ar, a, sp, as_double(a->ftype, a->fscale, x));
	case ST_ARG: {
		struct st_arg *s = sp;
		const struct rec_value *y = &rec[a->field2];

		if (y->null)
			return 0;
		if (arg_beats(a, s, x, y) && arg_set(ar, a, s, x, y, true) < 0)
			return -1;
		s->n++;
		return 0;
	}
	default:
		return 0;
	}
}

int state_combine_stat(struct arena *ar, const struct st_agg *a, void *dp,
		       const void *sp)
{
	switch (a->st) {
	case ST_VAR: {
		struct st_var *d = dp;
		const struct st_var *s = sp;

		if (fsum_merge(&d->s1, &s->s1, ar) < 0 ||
		    fsum_merge(&d->s2, &s->s2, ar) < 0)
			return -1;
		d->n += s->n;
		return 0;
	}
	case ST_PCT: {
		struct st_pct *d = dp;
		const struct st_pct *s = sp;
		int64_t i;

		for (i = 0; i < s->nv; i++)
			if (pct_add(ar, a, d, s->v[i]) < 0)
				return -1;
		/* the runs on disk are shared, never changed */
		for (i = 0; i < s->nruns; i++) {
			if (pct_run_room(ar, d) < 0)
				return -1;
			d->runs[d->nruns++] = s->runs[i];
			d->n += s->runs[i].n;
		}
		return 0;
	}
	case ST_ARG: {
		struct st_arg *d = dp;
		const struct st_arg *s = sp;
		struct rec_value f = state_mm_value(a->ftype, &s->f);
		struct rec_value g = state_mm_value(a->ftype2, &s->g);

		if (arg_beats(a, d, &f, &g) &&
		    arg_set(ar, a, d, &f, &g, false) < 0)
			return -1;
		d->n += s->n;
		return 0;
	}
	default:
		return 0;
	}
}

/* The terms of the exact value of s (highest first) into t; their count. */
static int expand(const struct fsum *s, double *t, int max, struct arena *ar)
{
	struct fsum c;
	int n = 0;

	memset(&c, 0, sizeof(c));
	if (fsum_merge(&c, s, ar) < 0)
		return -1;
	while (n < max) {
		double v = fsum_value(&c);

		if (v == 0)
			break;
		t[n++] = v;
		if (fsum_add(&c, -v, ar) < 0)
			return -1;
	}
	return n;
}

/* (hi, lo) / b in double-double. */
static void dd_div(double *hi, double *lo, double b)
{
	double q1 = *hi / b, r = fma(-q1, b, *hi), q2 = (r + *lo) / b;
	double s = q1 + q2;

	*lo = q2 - (s - q1);
	*hi = s;
}

/* Room for the terms of an expansion: a double covers 53 of ~2200 bits. */
#define EXPAND_MAX 48

/* The variance (or stddev) of s as a double; NaN on no memory. */
static double var_result(const struct st_agg *a, const struct st_var *s)
{
	bool sample = a->kind == CFG_AGG_STDDEV || a->kind == CFG_AGG_VARIANCE;
	double t1[EXPAND_MAX], t2[EXPAND_MAX], np[2], hi, lo, r;
	struct arena ar;
	struct fsum num, rem;
	int n1, n2, i, j, k, scale;
	uint64_t n = (uint64_t)s->n;

	if ((s->s1.flags | s->s2.flags) &
	    (FSUM_NAN | FSUM_POS_INF | FSUM_NEG_INF))
		return NAN;
	memset(&ar, 0, sizeof(ar));
	memset(&num, 0, sizeof(num));
	memset(&rem, 0, sizeof(rem));
	n1 = expand(&s->s1, t1, EXPAND_MAX, &ar);
	n2 = expand(&s->s2, t2, EXPAND_MAX, &ar);
	np[0] = (double)(n & ~UINT64_C(0xffffffff));
	np[1] = (double)(n & UINT64_C(0xffffffff));
	if (n1 < 0 || n2 < 0)
		goto nomem;
	/* num = n * Sxx - Sx * Sx, exactly */
	for (k = 0; k < 2; k++)
		for (i = 0; i < n2; i++)
			if (add_product(&num, np[k], t2[i], 1, &ar) < 0)
				goto nomem;
	for (i = 0; i < n1; i++)
		for (j = 0; j < n1; j++)
			if (add_product(&num, t1[i], t1[j], -1, &ar) < 0)
				goto nomem;
	/* num / n as hi + lo: the rest of num - hi * n divided again */
	hi = fsum_avg(&num, n);
	if (fsum_merge(&rem, &num, &ar) < 0)
		goto nomem;
	for (k = 0; k < 2; k++)
		if (add_product(&rem, np[k], hi, -1, &ar) < 0)
			goto nomem;
	lo = fsum_avg(&rem, n);
	arena_free(&ar);
	dd_div(&hi, &lo, (double)(sample ? n - 1 : n));
	/* an int's or decimal's square is at twice the field's scale */
	scale = a->ftype == REC_DECIMAL ? 2 * a->fscale : 0;
	while (scale > 0) {
		int step = scale > 22 ? 22 : scale;

		dd_div(&hi, &lo, (double)dec_pow10(step));
		scale -= step;
	}
	if (hi <= 0)
		return 0; /* exact sums: never below 0 */
	if (a->kind == CFG_AGG_VARIANCE || a->kind == CFG_AGG_VAR_POP)
		return hi + lo;
	r = sqrt(hi);
	/* one Newton step in double-double: r + (v - r*r) / 2r */
	return r + (fma(-r, r, hi) + lo) / (2 * r);

nomem:
	arena_free(&ar);
	return NAN;
}

/*
 * One sorted source of a percentile's values: a run on disk, read a
 * buffer at a time, or the values in memory (sorted).
 */
#define PCT_BUF 128
struct pct_src {
	const struct pspill_run *run;  /* NULL: mem */
	const double *mem;
	int64_t i, n;                  /* next value, of n */
	double buf[PCT_BUF];
	int64_t b0, bn;                /* buf holds values [b0, b0 + bn) */
};

/* The source's next value into *x; 0, or -1 on a read error. */
static int src_peek(struct pct_src *c, double *x)
{
	if (c->run == NULL) {
		*x = c->mem[c->i];
		return 0;
	}
	if (c->i >= c->b0 + c->bn) {
		int64_t k = c->n - c->i < PCT_BUF ? c->n - c->i : PCT_BUF;

		if (pspill_read(c->run, c->i, c->buf, k) < 0)
			return -1;
		c->b0 = c->i;
		c->bn = k;
	}
	*x = c->buf[c->i - c->b0];
	return 0;
}

/* A min-heap of sources h, hv[i] the next value of h[i]. */
static bool src_less(const double *hv, size_t a, size_t b)
{
	return dcmp(&hv[a], &hv[b]) < 0;
}

static void heap_down(struct pct_src **h, double *hv, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		struct pct_src *t;
		double tv;

		if (l < n && src_less(hv, l, m))
			m = l;
		if (l + 1 < n && src_less(hv, l + 1, m))
			m = l + 1;
		if (m == i)
			return;
		t = h[i], h[i] = h[m], h[m] = t;
		tv = hv[i], hv[i] = hv[m], hv[m] = tv;
		i = m;
	}
}

/*
 * The values at sorted positions first and second (first <= second) of
 * s's runs and its values in memory (mem[0..nv), sorted): a merge of the
 * sorted sources that stops at second.  0, or -1 on no memory or a read
 * error.
 */
static int pct_pick(const struct st_pct *s, const double *mem,
		    int64_t first, int64_t second, double *lo, double *hi)
{
	size_t ns = (size_t)s->nruns + 1, n = 0, i;
	struct pct_src *src = calloc(ns, sizeof(*src));
	struct pct_src **h = malloc(sizeof(*h) * ns);
	double *hv = malloc(sizeof(double) * ns);
	int rc = -1;

	if (src == NULL || h == NULL || hv == NULL)
		goto out;
	for (i = 0; i < ns; i++) {
		struct pct_src *c = &src[i];

		if (i < (size_t)s->nruns) {
			c->run = &s->runs[i];
			c->n = s->runs[i].n;
		} else {
			c->mem = mem;
			c->n = s->nv;
		}
		if (c->n == 0)
			continue;
		if (src_peek(c, &hv[n]) < 0)
			goto out;
		h[n++] = c;
	}
	for (i = n; i-- > 0;)
		heap_down(h, hv, n, i);
	for (int64_t k = 0; k <= second && n > 0; k++) {
		struct pct_src *c = h[0];

		if (k == first)
			*lo = hv[0];
		if (k == second)
			*hi = hv[0];
		if (++c->i < c->n) {
			if (src_peek(c, &hv[0]) < 0)
				goto out;
		} else {
			h[0] = h[--n];
			hv[0] = hv[n];
		}
		heap_down(h, hv, n, 0);
	}
	rc = 0;
out:
	free(src);
	free(h);
	free(hv);
	return rc;
}

/* percentile_cont(p) of the values of s (n > 0); NaN on no memory. */
static double pct_result(const struct st_agg *a, const struct st_pct *s)
{
	double *v = malloc(sizeof(double) * (size_t)(s->nv ? s->nv : 1));
	double lo = NAN, hi = NAN, r;
	double pos = a->p * (double)(s->n - 1);
	int64_t first = (int64_t)floor(pos), second = (int64_t)ceil(pos);

	if (v == NULL)
		return NAN;
	memcpy(v, s->v, sizeof(double) * (size_t)s->nv);
	qsort(v, (size_t)s->nv, sizeof(double), dcmp);
	if (s->nruns == 0) {
		lo = v[first];
		hi = v[second];
	} else if (pct_pick(s, v, first, second, &lo, &hi) < 0) {
		free(v);
		return NAN;
	}
	/* PostgreSQL's float8_lerp */
	r = first == second ? lo : lo + ((pos - (double)first) * (hi - lo));
	free(v);
	return r;
}

void state_result_stat(const struct st_agg *a, const void *sp,
		       struct rec_value *out)
{
	memset(out, 0, sizeof(*out));
	switch (a->st) {
	case ST_VAR: {
		const struct st_var *s = sp;

		if ((a->kind == CFG_AGG_STDDEV || a->kind == CFG_AGG_VARIANCE) &&
		    s->n < 2) {
			out->null = true; /* as PostgreSQL's var_samp */
			return;
		}
		out->u.f = var_result(a, s);
		return;
	}
	case ST_PCT:
		out->u.f = pct_result(a, sp);
		return;
	case ST_ARG:
		*out = state_mm_value(a->ftype, &((const struct st_arg *)sp)->f);
		return;
	default:
		out->null = true;
		return;
	}
}

/* --- a percentile's values, for saving and loading (partial.c) -------- */

int state_pct_foreach(const struct st_agg *a, const void *sp,
		      int (*fn)(void *ctx, double v), void *ctx)
{
	const struct st_pct *s = sp;
	double buf[PCT_BUF];

	(void)a;
	for (int64_t i = 0; i < s->nv; i++)
		if (fn(ctx, s->v[i]) < 0)
			return -1;
	for (int64_t r = 0; r < s->nruns; r++)
		for (int64_t i = 0; i < s->runs[r].n; i += PCT_BUF) {
			int64_t k = s->runs[r].n - i < PCT_BUF ?
				    s->runs[r].n - i : PCT_BUF;

			if (pspill_read(&s->runs[r], i, buf, k) < 0)
				return -1;
			for (int64_t j = 0; j < k; j++)
				if (fn(ctx, buf[j]) < 0)
					return -1;
		}
	return 0;
}

int state_pct_add(struct arena *ar, const struct st_agg *a, void *sp,
		  double v)
{
	return pct_add(ar, a, sp, v);
}
