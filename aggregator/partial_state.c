/*
 * partial_state.c - a provider's part of an output as bytes, and back
 * (partial_state.h).
 *
 * What each state kind keeps after its i64 n (nothing more when n is 0):
 *   count        nothing
 *   int sum      the 128-bit sum (16 bytes)
 *   decimal sum  the 128-bit sum and the i64 carry
 *   float sum    the exact sum (fsum_save())
 *   min, max     the value: text as u32 length and bytes, a decimal as
 *                16 bytes, bool as 1, any other as its 8 bytes
 *   distinct     u32 values, each its u64 hash and its value: text and
 *                decimals as u32 length and bytes, any other as 8 bytes
 *   variance     the exact sums of x and x*x (fsum_save() each)
 *   percentile   the n values as doubles (state_pct_foreach())
 *   arg_min/max  the value and the value it was chosen by, as min/max's
 *
 * Loading builds each state in a scratch group, in the table's arena, and
 * combines it into the group with state_combine(), the very function that
 * folds one provider's table into another's: what a loaded state adds is
 * what the same records folded here would have added.  A percentile's
 * values are added straight to the group (combining them is appending).
 * Every read is bounded: bytes that do not parse are an error, not a
 * crash, though the file's checksum has vouched for them already.
 */
#include "partial_state.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/fsum.h"
#include "gtable.h"
#include "spool.h"
#include "state.h"

/* --- writing ---------------------------------------------------------- */

static int put(struct buf *b, const void *p, size_t n)
{
	return buf_add(b, p, n);
}

static int put_u32(struct buf *b, uint32_t v)
{
	return put(b, &v, 4);
}

static int put_u64(struct buf *b, uint64_t v)
{
	return put(b, &v, 8);
}

static int put_value(struct buf *b, enum rec_type t, const struct st_mm *s)
{
	struct rec_value v = state_mm_value(t, s);
	unsigned char one;

	switch (t) {
	case REC_TEXT:
		return put_u32(b, v.u.s.len) < 0 ? -1 :
		       put(b, v.u.s.p, v.u.s.len);
	case REC_BOOL:
		one = v.u.b ? 1 : 0;
		return put(b, &one, 1);
	case REC_DECIMAL:
		return put(b, &v.u.d, 16);
	case REC_FLOAT:
		return put(b, &v.u.f, 8);
	default:
		return put(b, &v.u.i, 8);
	}
}

static int put_fsum(struct buf *b, const struct fsum *s)
{
	unsigned char tmp[FSUM_SAVE_MAX];

	return put(b, tmp, fsum_save(s, tmp));
}

static int put_double(void *ctx, double v)
{
	return put(ctx, &v, 8);
}

static int put_state(struct buf *b, const struct st_agg *a, const void *sp)
{
	int64_t n = *(const int64_t *)sp;

	if (put(b, &n, 8) < 0)
		return -1;
	if (n == 0)
		return 0;
	switch (a->st) {
	case ST_COUNT:
		return 0;
	case ST_ISUM:
		return put(b, ((const struct st_isum *)sp)->sum, 16);
	case ST_DSUM: {
		const struct st_dsum *s = sp;

		return put(b, s->sum, 16) < 0 ? -1 : put(b, &s->carry, 8);
	}
	case ST_FSUM:
		return put_fsum(b, &((const struct st_fsum *)sp)->sum);
	case ST_MM:
		return put_value(b, a->ftype, sp);
	case ST_SET:
	case ST_SET_DEC: {
		const struct dset *s = &((const struct st_set *)sp)->set;
		bool bytes = a->ftype == REC_TEXT || a->st == ST_SET_DEC;

		if (put_u32(b, s->n) < 0)
			return -1;
		for (uint32_t k = 0; s->slots && k <= s->mask; k++) {
			const struct dslot *sl = &s->slots[k];

			if (!sl->used)
				continue;
			if (put_u64(b, sl->hash) < 0 ||
			    (bytes ? put_u32(b, sl->len) < 0 ||
				     put(b, sl->v.p, sl->len) < 0
				   : put_u64(b, sl->v.bits) < 0))
				return -1;
		}
		return 0;
	}
	case ST_VAR: {
		const struct st_var *s = sp;

		return put_fsum(b, &s->s1) < 0 ? -1 : put_fsum(b, &s->s2);
	}
	case ST_PCT:
		return state_pct_foreach(a, sp, put_double, b);
	case ST_ARG: {
		const struct st_arg *s = sp;

		return put_value(b, a->ftype, &s->f) < 0 ? -1 :
		       put_value(b, a->ftype2, &s->g);
	}
	}
	return -1;
}

/* A spool's rows into a partial: each rec_encode()d again. */
struct row_sink {
	struct buf *b;
	const struct rec_schema *s;
};

static int sink_row(void *ctx, const struct rec_value *row, char *err,
		    size_t errlen)
{
	struct row_sink *rs = ctx;
	size_t n = rec_encoded_size(rs->s, row + 1);

	if (buf_reserve(rs->b, n) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rs->b->len += rec_encode(rs->s, row + 1, rs->b->p + rs->b->len);
	return 0;
}

int pstate_save(struct buf *b, const struct cfg *view, struct merge *m,
		int pi, char *err, size_t errlen)
{
	const char *name = view->providers[pi].name;
	size_t at = b->len;
	uint64_t count = 0;
	int naggs, rc = -1;

	if (put_u64(b, 0) < 0)
		goto out_nomem;
	if (view->mode == CFG_MODE_UNION) {
		struct rec_value *row = calloc((size_t)view->schema.nfields + 1,
					       sizeof *row);
		struct row_sink rs = { b, &view->schema };
		struct spool_sink sink = { sink_row, &rs };

		if (row == NULL)
			goto out_nomem;
		rc = spool_replay(merge_part_spool(m, pi), &view->schema, name,
				  &sink, row, &count, err, errlen);
		free(row);
		if (rc < 0)
			return -1;
	} else {
		const struct st_agg *aggs = merge_aggs(m, &naggs);
		const struct gtable *t = merge_part_table(m, pi);

		for (size_t i = 0; t->slots != NULL && i <= t->mask; i++) {
			const struct group *g = t->slots[i].g;

			if (g == NULL || !g->live)
				continue;
			if (put_u32(b, g->klen) < 0 ||
			    put(b, g->key, g->klen) < 0)
				goto out_nomem;
			for (int k = 0; k < naggs; k++)
				if (put_state(b, &aggs[k],
					      STATE(g, &aggs[k])) < 0)
					goto out_nomem;
			count++;
		}
	}
	memcpy(b->p + at, &count, 8);
	return 0;

out_nomem:
	snprintf(err, errlen, "out of memory saving the state of provider %s",
		 name);
	return -1;
}

/* --- reading ---------------------------------------------------------- */

/* A min/max value of type t into v; text points into the part. */
static bool get_value(struct part_rd *r, enum rec_type t, struct rec_value *v)
{
	unsigned char one;

	memset(v, 0, sizeof *v);
	switch (t) {
	case REC_TEXT:
		if (!part_get(r, &v->u.s.len, 4))
			return false;
		v->u.s.p = (const char *)part_take(r, v->u.s.len);
		return v->u.s.p != NULL;
	case REC_BOOL:
		if (!part_get(r, &one, 1) || one > 1)
			return false;
		v->u.b = one;
		return true;
	case REC_DECIMAL:
		return part_get(r, &v->u.d, 16);
	case REC_FLOAT:
		return part_get(r, &v->u.f, 8);
	default:
		return part_get(r, &v->u.i, 8);
	}
}

/* A min/max state of n values whose value comes next. */
static int get_mm(struct part_rd *r, struct arena *ar, enum rec_type t,
		  struct st_mm *s, int64_t n)
{
	struct rec_value v;

	if (!get_value(r, t, &v))
		return -1;
	if (state_mm_set(ar, t, s, &v, true) < 0)
		return -2;
	s->n = n;
	return 0;
}

static int get_fsum(struct part_rd *r, struct arena *ar, struct fsum *s)
{
	long n;

	if (r->bad)
		return -1;
	n = fsum_load(s, r->p + r->off, r->len - r->off, ar);
	if (n < 0) {
		r->bad = n == -1;
		return (int)n;
	}
	r->off += (size_t)n;
	return 0;
}

/*
 * Read a's state into sp (zeroed: a scratch group's) or, for a
 * percentile, add its values to dp, the group's own.  0; -1 malformed,
 * -2 no memory.
 */
static int get_state(struct part_rd *r, struct arena *ar, const struct st_agg *a,
		     void *sp, void *dp)
{
	int64_t n;
	int rc;

	if (!part_get(r, &n, 8) || n < 0)
		return -1;
	*(int64_t *)sp = n;
	if (n == 0)
		return 0;
	switch (a->st) {
	case ST_COUNT:
		return 0;
	case ST_ISUM:
		return part_get(r, ((struct st_isum *)sp)->sum, 16) ? 0 : -1;
	case ST_DSUM: {
		struct st_dsum *s = sp;

		return part_get(r, s->sum, 16) && part_get(r, &s->carry, 8) ? 0 : -1;
	}
	case ST_FSUM:
		return get_fsum(r, ar, &((struct st_fsum *)sp)->sum);
	case ST_MM:
		return get_mm(r, ar, a->ftype, sp, n);
	case ST_SET:
	case ST_SET_DEC: {
		struct st_set *s = sp;
		bool bytes = a->ftype == REC_TEXT || a->st == ST_SET_DEC;
		uint32_t count, len = 0;
		uint64_t hash, bits = 0;
		const unsigned char *p = NULL;

		if (!part_get(r, &count, 4))
			return -1;
		for (uint32_t k = 0; k < count; k++) {
			if (!part_get(r, &hash, 8) ||
			    (bytes ? !part_get(r, &len, 4) ||
				     (p = part_take(r, len)) == NULL
				   : !part_get(r, &bits, 8)))
				return -1;
			if (state_dset_insert(ar, &s->set, bytes, hash, bits, p,
					      len, true) < 0)
				return -2;
		}
		return 0;
	}
	case ST_VAR: {
		struct st_var *s = sp;

		rc = get_fsum(r, ar, &s->s1);
		return rc < 0 ? rc : get_fsum(r, ar, &s->s2);
	}
	case ST_PCT:
		*(int64_t *)sp = 0; /* nothing to combine: added to dp */
		for (int64_t i = 0; i < n; i++) {
			double v;

			if (!part_get(r, &v, 8))
				return -1;
			if (state_pct_add(ar, a, dp, v) < 0)
				return -2;
		}
		return 0;
	case ST_ARG: {
		struct st_arg *s = sp;

		rc = get_mm(r, ar, a->ftype, &s->f, n);
		if (rc == 0)
			rc = get_mm(r, ar, a->ftype2, &s->g, n);
		s->n = n;
		return rc;
	}
	}
	return -1;
}

/* Fold the groups of r into provider pi's table.  0, -1 malformed, -2. */
static int load_groups(const struct cfg *view, struct merge *m, int pi,
		       struct part_rd *r, uint64_t count)
{
	struct gtable_keys *keys = merge_keys(m);
	struct gtable *t = merge_part_table(m, pi);
	int naggs, nk = keys->schema.nfields, rc = -2;
	const struct st_agg *aggs = merge_aggs(m, &naggs);
	struct rec_value *vals = calloc((size_t)view->schema.nfields + 1,
					sizeof *vals);
	struct rec_value *kv = calloc((size_t)nk + 1, sizeof *kv);
	unsigned char *scratch = malloc(t->group_size);

	if (vals == NULL || kv == NULL || scratch == NULL)
		goto out;
	for (uint64_t i = 0; i < count; i++) {
		const unsigned char *key;
		struct group *g;
		uint32_t klen;

		rc = -1;
		if (!part_get(r, &klen, 4) || (key = part_take(r, klen)) == NULL ||
		    rec_decode(&keys->schema, key, klen, kv) != (long)klen)
			goto out;
		for (int j = 0; j < nk; j++)
			vals[keys->group_by[j]] = kv[j];
		rc = -2;
		g = gtable_group_of(keys, t, vals);
		if (g == NULL)
			goto out;
		g->live = true;
		memset(scratch, 0, t->group_size);
		for (int k = 0; k < naggs; k++) {
			rc = get_state(r, &t->arena, &aggs[k],
				       STATE((struct group *)scratch, &aggs[k]),
				       STATE(g, &aggs[k]));
			if (rc < 0)
				goto out;
			if (state_combine(&t->arena, &aggs[k], g,
					  (const struct group *)scratch) < 0) {
				rc = -2;
				goto out;
			}
		}
	}
	rc = 0;
out:
	free(vals);
	free(kv);
	free(scratch);
	return rc;
}

/* Append the rows of r to provider pi's spool.  0, -1 malformed, -2. */
static int load_rows(const struct cfg *view, struct merge *m, int pi,
		     struct part_rd *r, uint64_t count, char *err, size_t errlen)
{
	struct rec_value *vals = calloc((size_t)view->schema.nfields + 1,
					sizeof *vals);
	int rc = -2;

	if (vals == NULL)
		return -2;
	for (uint64_t i = 0; i < count; i++) {
		long n = rec_decode(&view->schema, r->p + r->off,
				    r->len - r->off, vals);

		if (n < 0) {
			rc = -1;
			goto out;
		}
		r->off += (size_t)n;
		if (spool_add(merge_part_spool(m, pi), &view->schema, vals,
			      view->providers[pi].name, err, errlen) < 0) {
			rc = -3;
			goto out;
		}
	}
	rc = 0;
out:
	free(vals);
	return rc;
}

int pstate_load(const struct cfg *view, struct merge *m, int pi,
		const unsigned char *p, size_t len, char *err, size_t errlen)
{
	struct part_rd r = { p, len, 0, false };
	uint64_t count;
	int rc;

	if (!part_get(&r, &count, 8))
		rc = -1;
	else if (view->mode == CFG_MODE_UNION)
		rc = load_rows(view, m, pi, &r, count, err, errlen);
	else
		rc = load_groups(view, m, pi, &r, count);
	if (rc == 0 && r.off != r.len)
		rc = -1;
	if (rc == -1)
		snprintf(err, errlen, "the state of provider %s is malformed",
			 view->providers[pi].name);
	else if (rc == -2)
		snprintf(err, errlen, "out of memory loading the state of "
			 "provider %s", view->providers[pi].name);
	return rc < 0 ? -1 : 0;
}
