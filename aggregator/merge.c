/*
 * merge.c - folding the providers' records into the result: union and group.
 *
 * How it fits: the aggregator loop stages every provider's records and
 * rejects here as they arrive (stage.c), and has them folded when the
 * checkpoint covering them comes, provider by provider in each one's
 * source order, but with the providers interleaved however the timing
 * fell.  To keep the output byte-identical whatever that interleaving,
 * nothing here is shared between providers until merge_write():
 *
 *  - union: each provider's records are appended, rec_encode()d, to its own
 *    spool (spool.c), which overflows into an unlinked temporary file.
 *    merge_write() replays the spools in config order.
 *  - group: each provider has its own table of groups (gtable.c), keyed by
 *    the canonical encoded group key, holding per group one state per
 *    aggregate (state.c).  merge_write() folds the later providers' tables
 *    into the first live one, in config order, so float sums always add in
 *    the same order (provider 0's partial sum + provider 1's + ...), then
 *    sorts the groups by key (one int or text key: by a radix sort of the
 *    keys or of their first 8 bytes).
 *
 * State machine: merge_new -> (merge_add | merge_stage | merge_stage_reject
 * | merge_commit | merge_keep_rejects | merge_discard | merge_drop)* ->
 * merge_write (which may be repeated and gives the same rows) -> merge_free.
 * Folding the tables together is one-way: after the first merge_write(),
 * merge_add(), merge_stage() and a merge_commit() with records fail, and
 * merge_drop() changes nothing.
 *
 * Invariants:
 *  - A provider's part (spool or table) holds exactly its committed
 *    records; its stage what came since.  Committed rejects stay even when
 *    the provider is dropped: the reject file lists them.
 *  - Folding and staging do no malloc for a record of an existing group
 *    and no system call but the spool's write(2) once per buffer; keys,
 *    states and copied text live in per-table arenas freed only by
 *    merge_free() (after folding, tables point into each other's arenas).
 *  - Integer sums are exact (128 bits) and checked against the 64-bit range
 *    before anything is written, so an overflow leaves no output at all.
 */
#include "merge.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/convert.h"
#include "../common/decimal.h"
#include "../common/expr.h"
#include "gtable.h"
#include "merge_push.h"
#include "merge_rows.h"
#include "output.h"
#include "post.h"
#include "spool.h"
#include "stage.h"
#include "state.h"

/* One provider's partial result. */
struct part {
	bool dropped;
	struct spool spool;  /* union */
	struct gtable t;     /* group */
	struct stage stage;  /* since the last checkpoint */
	struct buf rejects;  /* committed REJECT payloads, each after its u32 length */
	struct buf groups;   /* staged GROUPS records (pushed down) */
	uint64_t ngroups;
	uint64_t gcount;     /* what they count as in the checkpoints: one
				each, or a combine's rows (pushdown.h) */
	bool combine;        /* a range reader's combine sends them */
};

struct merge {
	const struct cfg *cfg;
	struct part *parts;      /* cfg->nproviders */
	struct gtable_keys keys; /* group mode: the group_by fields */
	struct st_agg *aggs;
	int naggs;
	size_t group_size;       /* header and states */
	bool special;            /* a statistic or a filter: group_add_special() */
	bool folded;             /* group: the tables are folded into result */
	bool fold_failed;
	struct gtable *result;   /* group: the folded table, once folded */
	struct gtable own;       /* the result when no provider is left */
	uint64_t rows;
	struct out_writer *pending; /* written, not yet committed */
	struct stager stager;
	struct rec_value *values; /* scratch: a staged record decoded */
	struct push_plan plan;   /* GROUPS frames' records, once one came */
	bool plan_made;
	struct push_plan cplan;  /* a range reader's combine's, the same */
	bool cplan_made;
};

struct merge *merge_new(const struct cfg *cfg)
{
	struct merge *m = calloc(1, sizeof(*m));
	int i, ng = cfg->mode == CFG_MODE_GROUP ? cfg->ngroup_by : 0;
	size_t off = sizeof(struct group);

	if (m == NULL)
		return NULL;
	m->cfg = cfg;
	m->parts = calloc((size_t)(cfg->nproviders ? cfg->nproviders : 1),
			  sizeof(*m->parts));
	for (i = 0; m->parts != NULL && i < cfg->nproviders; i++)
		spool_init(&m->parts[i].spool);
	m->naggs = cfg->mode == CFG_MODE_GROUP ? cfg->naggs : 0;
	m->aggs = calloc((size_t)(m->naggs ? m->naggs : 1), sizeof(*m->aggs));
	m->values = calloc((size_t)(cfg->schema.nfields ? cfg->schema.nfields :
				    1), sizeof(*m->values));
	if (m->parts == NULL || m->aggs == NULL || m->values == NULL ||
	    gtable_keys_init(&m->keys, &cfg->schema, cfg->group_by, ng) < 0)
		goto out_free;
	for (i = 0; i < m->naggs; i++) {
		off += state_resolve(cfg, &cfg->aggs[i], &m->aggs[i], off);
		m->special |= state_is_stat(&m->aggs[i]) ||
			      m->aggs[i].filter >= 0;
	}
	m->group_size = off;
	for (i = 0; i < cfg->nproviders; i++)
		gtable_init(&m->parts[i].t, off);
	gtable_init(&m->own, off);
	if (stage_setup(&m->stager, cfg, &m->keys, m->aggs, m->naggs) < 0)
		goto out_free;
	/* An output's where: its records are staged whole, kept or not. */
	if (cfg->has_keep)
		m->stager.entries = false;
	return m;

out_free:
	merge_free(m);
	return NULL;
}

static const char *pname(const struct merge *m, int pi)
{
	return m->cfg->providers[pi].name;
}

/*
 * Fold v into group g of t for a merge with a statistic or a filter: each
 * aggregate only when its filter field is true, the statistics with the
 * whole record.  0, or -1 on no memory.
 */
static int group_add_special(struct merge *m, struct gtable *t,
			     struct group *g, const struct rec_value *v)
{
	int j;

	for (j = 0; j < m->naggs; j++) {
		const struct st_agg *a = &m->aggs[j];

		if (a->filter >= 0 && (v[a->filter].null || !v[a->filter].u.b))
			continue;
		if (state_is_stat(a) ? state_add_stat(&t->arena, a, g, v) < 0 :
				       state_add(&t->arena, a, g,
						 a->field >= 0 ? &v[a->field] :
								 NULL) < 0)
			return -1;
	}
	return 0;
}

static int group_add(struct merge *m, int pi, const struct rec_value *v,
		     char *err, size_t errlen)
{
	struct gtable *t = &m->parts[pi].t;
	struct group *g;
	int j;

	g = gtable_group_of(&m->keys, t, v);
	if (g == NULL)
		goto out_nomem;
	g->live = true;
	if (__builtin_expect(m->special, 0)) {
		if (group_add_special(m, t, g, v) < 0)
			goto out_nomem;
		return 0;
	}
	for (j = 0; j < m->naggs; j++) {
		const struct st_agg *a = &m->aggs[j];

		if (state_add(&t->arena, a, g,
			      a->field >= 0 ? &v[a->field] : NULL) < 0)
			goto out_nomem;
	}
	return 0;

out_nomem:
	snprintf(err, errlen, "out of memory grouping records of provider %s",
		 pname(m, pi));
	return -1;
}

/* merge_add() and merge_stage() after the result was written. */
static int too_late(const struct merge *m, int pi, char *err, size_t errlen)
{
	snprintf(err, errlen,
		 "record of provider %s after the result was written",
		 pname(m, pi));
	return -1;
}

/* False when the output's where (cfg->keep) does not hold for v. */
static inline bool kept(const struct merge *m, const struct rec_value *v)
{
	return !m->cfg->has_keep ||
	       (!v[m->cfg->keep].null && v[m->cfg->keep].u.b);
}

int merge_add(struct merge *m, int pi, const struct rec_value *v, char *err,
	      size_t errlen)
{
	if (m->parts[pi].dropped || !kept(m, v))
		return 0;
	if (m->folded)
		return too_late(m, pi, err, errlen);
	if (m->cfg->mode == CFG_MODE_GROUP)
		return group_add(m, pi, v, err, errlen);
	return spool_add(&m->parts[pi].spool, &m->cfg->schema, v,
			 pname(m, pi), err, errlen);
}

bool merge_stages(const struct merge *m)
{
	return m->stager.entries;
}

int merge_stage(struct merge *m, int pi, const unsigned char *recs,
		size_t len, uint32_t count, char *err, size_t errlen)
{
	struct part *p = &m->parts[pi];

	if (m->folded)
		return too_late(m, pi, err, errlen);
	return stage_records(&m->stager, &p->stage, &m->keys,
			     p->dropped ? NULL : &p->t, recs, len, count,
			     pname(m, pi), err, errlen);
}

/*
 * The rows a combine's group record of len bytes (validated) stands for:
 * its last field, an int, so its last 8 bytes.  -1: NULL or negative.
 */
static int64_t group_rows(const struct push_plan *pp, const unsigned char *rec,
			  size_t len)
{
	int64_t r;

	if (rec[4 + pp->rows / 8] & (1u << (pp->rows % 8)))
		return -1;
	memcpy(&r, rec + len - sizeof r, sizeof r);
	return r < 0 ? -1 : r;
}

int merge_stage_groups(struct merge *m, int pi, const unsigned char *recs,
		       size_t len, uint32_t count, char *err, size_t errlen)
{
	struct part *p = &m->parts[pi];
	size_t off = 0, at = p->groups.len;
	bool combine = push_combine_allowed(m->cfg, pi, err, errlen);
	const struct push_plan *pp = combine ? &m->cplan : &m->plan;
	uint64_t rows = 0;

	if (m->folded)
		return too_late(m, pi, err, errlen);
	if (!combine && !push_allowed(m->cfg, pi, err, errlen))
		return 1;
	if (!(combine ? m->cplan_made : m->plan_made)) {
		if ((combine ? push_plan_make_rows(m->cfg, &m->cplan)
			     : push_plan_make(m->cfg, &m->plan)) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		*(combine ? &m->cplan_made : &m->plan_made) = true;
	}
	/* Copied before a byte is read: the producer may still write. */
	if (buf_add(&p->groups, recs, len) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	recs = p->groups.p + at;
	for (uint32_t i = 0; i < count; i++) {
		long n = rec_validate(&pp->wire, recs + off, len - off);
		int64_t r;

		if (n < 0 || (combine && (r = group_rows(pp, recs + off,
							 (size_t)n)) < 0)) {
			snprintf(err, errlen, "malformed group %u", i + 1);
			p->groups.len = at;
			return 1;
		}
		if (combine)
			rows += (uint64_t)r;
		off += (size_t)n;
	}
	if (off != len) {
		snprintf(err, errlen, "GROUPS frame longer than its groups");
		p->groups.len = at;
		return 1;
	}
	p->ngroups += count;
	p->gcount += combine ? rows : count;
	p->combine = combine;
	return 0;
}

int merge_stage_reject(struct merge *m, int pi, const unsigned char *p,
		       uint32_t len, char *err, size_t errlen)
{
	if (stage_reject(&m->parts[pi].stage, p, len) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void merge_staged(const struct merge *m, int pi, uint64_t *records,
		  uint64_t *rejects)
{
	*records = m->parts[pi].stage.records + m->parts[pi].gcount;
	*rejects = m->parts[pi].stage.nrejects;
}

/*
 * Fold the records p's stage keeps as bytes: they passed rec_validate() on
 * arrival, in private memory, so they are decoded without checks.
 */
static int fold_bytes(struct merge *m, int pi, char *err, size_t errlen)
{
	struct part *p = &m->parts[pi];
	const struct rec_schema *s = &m->cfg->schema;
	const unsigned char *b = p->stage.kept.p;
	bool group = m->cfg->mode == CFG_MODE_GROUP;
	size_t off = 0, i;

	for (i = 0; i < p->stage.nkept; i++) {
		off += rec_decode_trusted(s, b + off, m->values);
		if (!kept(m, m->values))
			continue;
		if (group ? group_add(m, pi, m->values, err, errlen) < 0 :
			    spool_add(&p->spool, s, m->values, pname(m, pi),
				      err, errlen) < 0)
			return -1;
	}
	/* Validated records add up to the stage: anything else is a bug. */
	if (off != p->stage.kept.len) {
		snprintf(err, errlen,
			 "internal error: staged records unreadable");
		return -1;
	}
	return 0;
}

int merge_commit(struct merge *m, int pi, char *err, size_t errlen)
{
	struct part *p = &m->parts[pi];

	if (p->stage.nkept > 0) {
		if (m->folded)
			return too_late(m, pi, err, errlen);
		if (!m->stager.entries) {
			if (fold_bytes(m, pi, err, errlen) < 0)
				return -1;
		} else if (stage_fold(&m->stager, &p->stage,
				      &p->t.arena) < 0) {
			snprintf(err, errlen, "out of memory grouping records "
				 "of provider %s", pname(m, pi));
			return -1;
		}
	}
	if (p->ngroups > 0 && !p->dropped) {
		if (m->folded)
			return too_late(m, pi, err, errlen);
		if (push_fold(&m->keys, &p->t, m->aggs, m->naggs,
			      p->combine ? &m->cplan : &m->plan,
			      m->cfg->schema.nfields, p->groups.p,
			      p->groups.len, p->ngroups) < 0) {
			snprintf(err, errlen, "out of memory grouping the "
				 "groups of provider %s", pname(m, pi));
			return -1;
		}
	}
	buf_clear(&p->groups);
	p->ngroups = 0;
	p->gcount = 0;
	if (p->stage.rejects.len > 0 &&
	    buf_add(&p->rejects, p->stage.rejects.p, p->stage.rejects.len) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	stage_clear(&p->stage);
	return 0;
}

void merge_keep_rejects(struct merge *m, int pi)
{
	struct stage *st = &m->parts[pi].stage;

	if (st->rejects.len > 0)
		(void)buf_add(&m->parts[pi].rejects, st->rejects.p,
			      st->rejects.len);
	buf_clear(&st->rejects);
	st->nrejects = 0;
}

void merge_discard(struct merge *m, int pi)
{
	stage_clear(&m->parts[pi].stage);
	buf_clear(&m->parts[pi].groups);
	m->parts[pi].ngroups = 0;
	m->parts[pi].gcount = 0;
}

const unsigned char *merge_rejects(const struct merge *m, int pi,
				   size_t *len)
{
	*len = m->parts[pi].rejects.len;
	return m->parts[pi].rejects.p;
}

/* Free p's records and their stage; its counts and rejects stay. */
static void part_free_records(struct part *p)
{
	spool_free(&p->spool);
	gtable_free(&p->t);
	stage_forget_records(&p->stage);
}

void merge_drop(struct merge *m, int pi)
{
	/* Once folded, other tables point into this one's arena. */
	if (m->folded)
		return;
	part_free_records(&m->parts[pi]);
	m->parts[pi].dropped = true;
}

/* ------------------------------------------------------------------ */
/* Writing the result                                                  */
/* ------------------------------------------------------------------ */

static int sink_out(void *ctx, const struct rec_value *row, char *err,
		    size_t errlen)
{
	return out_row(ctx, row, err, errlen);
}

static int sink_post(void *ctx, const struct rec_value *row, char *err,
		     size_t errlen)
{
	return post_add(ctx, row, true, err, errlen) != 0 ? -1 : 0;
}

static int write_union(struct merge *m, char *err, size_t errlen)
{
	const struct cfg *cfg = m->cfg;
	/* Records decode into all of row; the first nf fields are written. */
	int nf = cfg_union_fields(cfg), i, rc = -1;
	struct out_col *cols = calloc((size_t)nf + 1, sizeof(*cols));
	struct rec_value *row = calloc((size_t)cfg->schema.nfields + 1,
				       sizeof(*row));
	struct out_writer *w = NULL;
	struct post *post = NULL;
	struct spool_sink sink;
	uint64_t kept = 0;

	if (cols == NULL || row == NULL) {
		snprintf(err, errlen, "out of memory writing the output");
		goto out_free;
	}
	cols[0].name = "provider";
	cols[0].type = REC_TEXT;
	for (i = 0; i < nf; i++) {
		cols[i + 1].name = cfg->schema.fields[i].name;
		cols[i + 1].type = cfg->schema.fields[i].type;
		cols[i + 1].prec = cfg->schema.fields[i].prec;
		cols[i + 1].scale = cfg->schema.fields[i].scale;
	}
	w = out_open(cfg, cols, nf + 1, err, errlen);
	if (w == NULL)
		goto out_free;
	sink = (struct spool_sink){ sink_out, w };
	if (post_wanted(cfg)) {
		post = post_new(cfg, cols, nf + 1);
		if (post == NULL) {
			snprintf(err, errlen, "out of memory writing the output");
			goto out_abort;
		}
		sink = (struct spool_sink){ sink_post, post };
	}
	for (i = 0; i < cfg->nproviders && !(post && post_full(post)); i++) {
		struct part *p = &m->parts[i];
		const char *name = cfg_provider_label(&cfg->providers[i]);

		if (p->dropped)
			continue;
		row[0].null = false;
		row[0].u.s.p = name;
		row[0].u.s.len = (uint32_t)strlen(name);
		if (spool_replay(&p->spool, &cfg->schema, name, &sink, row,
				 post ? &kept : &m->rows, err, errlen) < 0)
			goto out_abort;
	}
	if (post && post_write(post, w, &m->rows, err, errlen) < 0)
		goto out_abort;
	m->pending = w;
	rc = 0;
	goto out_free;

out_abort:
	out_abort(w);
out_free:
	post_free(post);
	free(cols);
	free(row);
	return rc;
}

/* Groups between a prefetch and its use in the loops over sorted groups. */
#define MERGE_AHEAD 8u

/* qsort_r order of groups: by each group_by value, NULL last. */
static int group_key_cmp(const void *pa, const void *pb, void *arg)
{
	const struct rec_schema *ks = arg;
	const struct out_group *a = pa, *b = pb;
	int j, c;

	for (j = 0; j < ks->nfields; j++) {
		c = rec_value_cmp(ks->fields[j].type, &a->kv[j], &b->kv[j]);
		if (c != 0)
			return c;
	}
	return 0;
}

/* `region="west" day=2026-11-22T00:00:00Z` for an error message. */
static void describe_key(const struct merge *m, const struct rec_value *kv,
			 char *out, size_t outlen)
{
	const struct rec_schema *ks = &m->keys.schema;
	size_t len = 0;
	int j;

	out[0] = '\0';
	for (j = 0; j < ks->nfields && len < outlen; j++) {
		const struct rec_value *v = &kv[j];
		const char *name = ks->fields[j].name;
		const char *sep = j ? " " : "";
		char num[CONV_TS_MAX + CONV_FLOAT_MAX + DEC_STR_MAX];
		int n;

		if (!v->null && ks->fields[j].type == REC_TEXT) {
			n = snprintf(out + len, outlen - len, "%s%s=\"%.*s%s\"",
				     sep, name,
				     v->u.s.len > 64 ? 64 : (int)v->u.s.len,
				     v->u.s.p, v->u.s.len > 64 ? "..." : "");
		} else {
			if (v->null)
				snprintf(num, sizeof(num), "NULL");
			else if (ks->fields[j].type == REC_FLOAT)
				conv_format_float(v->u.f, num);
			else if (ks->fields[j].type == REC_BOOL)
				snprintf(num, sizeof(num), "%s",
					 v->u.b ? "true" : "false");
			else if (ks->fields[j].type == REC_TIMESTAMP)
				conv_format_timestamp(v->u.i, num);
			else if (ks->fields[j].type == REC_DATE)
				conv_format_date(v->u.i, num);
			else if (ks->fields[j].type == REC_DECIMAL)
				dec_format(rec_dec(v), ks->fields[j].scale,
					   num);
			else
				snprintf(num, sizeof(num), "%lld",
					 (long long)v->u.i);
			n = snprintf(out + len, outlen - len, "%s%s=%s", sep,
				     name, num);
		}
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

/*
 * 0 when every int sum fits 64 bits and every decimal sum or average 38
 * digits; else -1 naming the first that does not.
 */
static int check_overflow(const struct merge *m, const struct out_group *gs,
			  size_t ng, char *err, size_t errlen)
{
	size_t i;
	int k;

	for (i = 0; i < ng; i++) {
		for (k = 0; k < m->naggs; k++) {
			const struct st_agg *a = &m->aggs[k];
			char where[512], type[32];

			if (state_fits(a, gs[i].g))
				continue;
			describe_key(m, gs[i].kv, where, sizeof(where));
			if (a->natural == REC_DECIMAL)
				snprintf(type, sizeof(type), "decimal(%d,%d)",
					 a->oprec, a->oscale);
			else
				snprintf(type, sizeof(type),
					 "a 64-bit integer");
			snprintf(err, errlen, "%s(%s) overflows %s%s%s",
				 state_func_name(a->kind),
				 m->cfg->schema.fields[a->field].name, type,
				 m->keys.schema.nfields > 0 ? " in group " : "",
				 where);
			return -1;
		}
	}
	return 0;
}

/*
 * Fold every live provider's table into the first live one, in config
 * order, and make it the result.  One-way: see the state machine above.
 */
static int fold(struct merge *m)
{
	struct gtable *r = NULL;
	int pi, k;
	size_t i;

	for (pi = 0; pi < m->cfg->nproviders; pi++) {
		const struct gtable *t = &m->parts[pi].t;

		if (m->parts[pi].dropped)
			continue;
		if (r == NULL) {
			r = &m->parts[pi].t;
			continue;
		}
		for (i = 0; t->slots != NULL && i <= t->mask; i++) {
			const struct group *g = t->slots[i].g;
			struct group *rg;

			if (g == NULL || !g->live)
				continue;
			rg = gtable_get(r, t->slots[i].hash, g->key, g->klen,
					false);
			if (rg == NULL)
				return -1;
			rg->live = true;
			for (k = 0; k < m->naggs; k++)
				if (state_combine(&r->arena, &m->aggs[k], rg,
						  g) < 0)
					return -1;
		}
	}
	m->result = r != NULL ? r : &m->own;
	return 0;
}

/*
 * One int or one text key: gs[0..*np) in key order, NULL last, by
 * gtable_sort_int1() or gtable_sort_text1(), their keys decoded in output
 * order (the rows read kv front to back).
 */
static int sorted_one_key_groups(struct merge *m, struct out_group *gs,
				 struct rec_value *kv, size_t *np, char *err,
				 size_t errlen)
{
	const struct gtable *r = m->result;
	const struct group **order = malloc(sizeof(*order) *
					    (r->n ? r->n : 1));
	size_t n = 0;

	if (order == NULL ||
	    (m->keys.shape == KEY_INT1 ? gtable_sort_int1(r, order, &n) :
					 gtable_sort_text1(r, order, &n)) < 0) {
		free(order);
		snprintf(err, errlen, "out of memory sorting the groups");
		return -1;
	}
	if (merge_rows_decode(&m->keys.schema, order, n, gs, kv) < 0) {
		free(order);
		snprintf(err, errlen, "a group key is corrupt");
		return -1;
	}
	free(order);
	*np = n;
	return 0;
}

/* The groups of the result, keys decoded, sorted; *n of them. */
static int sorted_groups(struct merge *m, struct out_group **gsp,
			 struct rec_value **kvp, size_t *np, char *err,
			 size_t errlen)
{
	const struct gtable *r = m->result;
	size_t ng = (size_t)m->keys.schema.nfields, n = 0, i;
	struct out_group *gs = malloc(sizeof(*gs) * (r->n ? r->n : 1));
	struct rec_value *kv = malloc(sizeof(*kv) * (ng ? ng : 1) *
				      (r->n ? r->n : 1));

	*gsp = gs;
	*kvp = kv;
	if (gs == NULL || kv == NULL) {
		snprintf(err, errlen, "out of memory sorting the groups");
		return -1;
	}
	if (m->keys.shape == KEY_INT1 || m->keys.shape == KEY_TEXT1)
		return sorted_one_key_groups(m, gs, kv, np, err, errlen);
	for (i = 0; r->slots != NULL && i <= r->mask; i++) {
		const struct group *g = r->slots[i].g;

		if (g == NULL || !g->live)
			continue;
		gs[n].g = g;
		gs[n].kv = kv + n * ng;
		if (rec_decode(&m->keys.schema, g->key, g->klen, gs[n].kv) !=
		    (long)g->klen) {
			snprintf(err, errlen, "a group key is corrupt");
			return -1;
		}
		n++;
	}
	qsort_r(gs, n, sizeof(*gs), group_key_cmp, &m->keys.schema);
	*np = n;
	return 0;
}

static int write_group(struct merge *m, char *err, size_t errlen)
{
	const struct cfg *cfg = m->cfg;
	int ng = m->keys.schema.nfields, ncols = ng + m->naggs, j, rc = -1;
	struct out_group *gs = NULL;
	struct rec_value *kv = NULL;
	struct out_col *cols = calloc((size_t)ncols + 1, sizeof(*cols));
	struct rec_value *row = calloc((size_t)ncols + 1, sizeof(*row));
	struct out_writer *w = NULL;
	struct post *post = NULL;
	struct merge_rows rows;
	size_t n = 0, i;
	int prc;

	if (cols == NULL || row == NULL)
		goto out_nomem;
	if (!m->folded) {
		m->folded = true;
		m->fold_failed = fold(m) < 0;
	}
	if (m->fold_failed)
		goto out_nomem;
	if (ng == 0 && m->naggs > 0) {
		/*
		 * No group_by: one row for everything, even for nothing (the
		 * one group may be there but not live: its states are zero).
		 * Its key has no field, so no value of a record is read.
		 */
		struct group *g = gtable_group_of(&m->keys, m->result,
						  m->values);

		if (g == NULL)
			goto out_nomem;
		g->live = true;
	}
	if (sorted_groups(m, &gs, &kv, &n, err, errlen) < 0 ||
	    check_overflow(m, gs, n, err, errlen) < 0)
		goto out_free;

	for (j = 0; j < ng; j++)
		cols[j] = (struct out_col){ m->keys.schema.fields[j].name,
					    m->keys.schema.fields[j].type,
					    m->keys.schema.fields[j].prec,
					    m->keys.schema.fields[j].scale };
	for (j = 0; j < m->naggs; j++)
		cols[ng + j] = (struct out_col){ cfg->aggs[j].name,
						 m->aggs[j].otype,
						 m->aggs[j].oprec,
						 m->aggs[j].oscale };
	w = out_open(cfg, cols, ncols, err, errlen);
	if (w == NULL)
		goto out_free;
	if (post_wanted(cfg) &&
	    (post = post_new(cfg, cols, ncols)) == NULL) {
		out_abort(w);
		goto out_nomem;
	}
	rows = (struct merge_rows){ gs, n, ng, m->aggs, m->naggs };
	if (post == NULL && merge_rows_parallel(w, &rows)) {
		if (merge_rows_write(w, &rows, &m->rows, err, errlen) < 0) {
			out_abort(w);
			goto out_free;
		}
		n = 0; /* written */
	}
	for (i = 0; i < n && !(post && post_full(post)); i++) {
		if (i + MERGE_AHEAD < n)
			__builtin_prefetch(gs[i + MERGE_AHEAD].g);
		merge_rows_fill(&rows, i, row);
		if (post) {
			char reason[EXPR_REASON_MAX], where[512];

			prc = post_add(post, row, false, reason,
				       sizeof(reason));
			if (prc == 0)
				continue;
			if (prc < 0) {
				snprintf(err, errlen, "%s", reason);
			} else {
				describe_key(m, gs[i].kv, where,
					     sizeof(where));
				snprintf(err, errlen, "having: %s%s%s", reason,
					 ng > 0 ? " in group " : "", where);
			}
			out_abort(w);
			goto out_free;
		}
		if (out_row(w, row, err, errlen) < 0) {
			out_abort(w);
			goto out_free;
		}
		m->rows++;
	}
	if (post && post_write(post, w, &m->rows, err, errlen) < 0) {
		out_abort(w);
		goto out_free;
	}
	m->pending = w;
	rc = 0;
	goto out_free;

out_nomem:
	snprintf(err, errlen, "out of memory combining the groups");
out_free:
	post_free(post);
	free(gs);
	free(kv);
	free(cols);
	free(row);
	return rc;
}

int merge_prepare(struct merge *m, char *err, size_t errlen)
{
	int rc;

	merge_abandon(m);
	m->rows = 0;
	if (m->cfg->mode == CFG_MODE_GROUP)
		rc = write_group(m, err, errlen);
	else
		rc = write_union(m, err, errlen);
	if (rc < 0)
		m->rows = 0;
	return rc;
}

int merge_finish(struct merge *m, char *err, size_t errlen)
{
	struct out_writer *w = m->pending;

	m->pending = NULL;
	if (w == NULL) {
		snprintf(err, errlen, "internal error: no output prepared");
		return -1;
	}
	if (out_commit(w, err, errlen) < 0) {
		m->rows = 0;
		return -1;
	}
	return 0;
}

void merge_abandon(struct merge *m)
{
	out_abort(m->pending);
	m->pending = NULL;
}

int merge_write(struct merge *m, char *err, size_t errlen)
{
	if (merge_prepare(m, err, errlen) < 0)
		return -1;
	return merge_finish(m, err, errlen);
}

uint64_t merge_rows_written(const struct merge *m)
{
	return m->rows;
}

const struct st_agg *merge_aggs(const struct merge *m, int *n)
{
	*n = m->naggs;
	return m->aggs;
}

struct gtable_keys *merge_keys(struct merge *m)
{
	return &m->keys;
}

struct gtable *merge_part_table(struct merge *m, int pi)
{
	return &m->parts[pi].t;
}

struct spool *merge_part_spool(struct merge *m, int pi)
{
	return &m->parts[pi].spool;
}

bool merge_part_dropped(const struct merge *m, int pi)
{
	return m->parts[pi].dropped;
}

int merge_add_rejects(struct merge *m, int pi, const unsigned char *p,
		      size_t len)
{
	return len ? buf_add(&m->parts[pi].rejects, p, len) : 0;
}

#ifdef AGG_TESTING
void merge_test_keys(struct merge *m, bool general, uint64_t hash_mask)
{
	if (general)
		m->keys.shape = KEY_GENERAL;
	m->keys.hash_mask = hash_mask;
}
#endif

void merge_free(struct merge *m)
{
	int i;

	if (m == NULL)
		return;
	merge_abandon(m);
	if (m->parts != NULL) {
		for (i = 0; i < m->cfg->nproviders; i++) {
			part_free_records(&m->parts[i]);
			stage_free(&m->parts[i].stage);
			buf_free(&m->parts[i].rejects);
			buf_free(&m->parts[i].groups);
		}
	}
	gtable_free(&m->own);
	gtable_keys_free(&m->keys);
	stage_setup_free(&m->stager);
	free(m->parts);
	free(m->aggs);
	free(m->values);
	if (m->plan_made)
		push_plan_free(&m->plan);
	if (m->cplan_made)
		push_plan_free(&m->cplan);
	free(m);
}
