/*
 * runtime_setup.c - what the provider runtime decides once, before the
 * run function starts (runtime_int.h): the derived fields' and `where`'s
 * programs, frames and steps (c->compute), and the fields a group-by
 * never reads, sent as NULL (c->unused).  Nothing here runs per record.
 */
#include "runtime_int.h"

#include <stdlib.h>

#include "../common/expr.h"

/*
 * The declared fields: all but the derived ones (a config built by hand,
 * as tests do, has none).
 */
static int declared(const struct cfg *cfg)
{
	return cfg->derive ? cfg->nfields_declared : cfg->schema.nfields;
}

/* Every field prog (NULL: none) reads is used. */
static void mark_read(bool *unused, const struct expr_prog *prog)
{
	const int *f;
	int n;

	if (prog == NULL)
		return;
	f = expr_fields_read(prog, &n);
	for (int i = 0; i < n; i++)
		unused[f[i]] = false;
}

/* The highest field prog (NULL: none) reads, or -1. */
static int last_read(const struct expr_prog *prog)
{
	const int *f;
	int n;

	if (prog == NULL)
		return -1;
	f = expr_fields_read(prog, &n);
	return n ? f[n - 1] : -1;
}

void prov_compute_free(struct prov_compute *k)
{
	int nd;

	if (k == NULL)
		return;
	nd = k->cfg->schema.nfields - k->nd;
	if (k->frames)
		for (int d = 0; d < nd; d++)
			expr_frame_free(k->frames[d]);
	expr_frame_free(k->where);
	expr_frame_free(k->pwhere);
	free(k->frames);
	free(k->simple);
	free(k->steps);
	free(k->vals);
	free(k);
}

/*
 * k->steps when every derived field and where is an expr_simple and no
 * derived field is guarded: compute()'s work as steps, in its order.
 * 0, or -1: no memory.
 */
static int plan_steps(struct prov_ctx *c, struct prov_compute *k)
{
	const struct cfg *cfg = k->cfg;
	int n = cfg->schema.nfields, nd = k->nd, m = 0;

	for (int d = 0; d < n - nd; d++)
		if (cfg->guard[d] >= 0 ||
		    k->simple[d].kind == EXPR_SIMPLE_NONE)
			return 0;
	/* A where is a comparison (a bool): anything else is not a step. */
	if ((cfg->where && k->swhere.kind != EXPR_SIMPLE_CMP_I &&
	     k->swhere.kind != EXPR_SIMPLE_CMP_F) ||
	    (c->p->where && k->spwhere.kind != EXPR_SIMPLE_CMP_I &&
	     k->spwhere.kind != EXPR_SIMPLE_CMP_F))
		return 0;
	k->steps = calloc((size_t)(n - nd) + 2, sizeof *k->steps);
	if (k->steps == NULL)
		return -1;
	for (int i = nd; i < nd + k->pre; i++)
		k->steps[m++] = expr_simple_step_of(k->simple[i - nd], i);
	if (cfg->where)
		k->steps[m++] = expr_simple_step_of(k->swhere, -1);
	if (c->p->where)
		k->steps[m++] = expr_simple_step_of(k->spwhere, -1);
	for (int i = nd + k->pre; i < n; i++)
		k->steps[m++] = expr_simple_step_of(k->simple[i - nd], i);
	k->nsteps = m;
	return 0;
}

int prov_compute_init(struct prov_ctx *c)
{
	const struct cfg *cfg = c->cfg;
	int n = cfg->schema.nfields, nd = declared(cfg);
	struct prov_compute *k;
	int last;

	if (n == nd && cfg->where == NULL && c->p->where == NULL)
		return 0;
	k = calloc(1, sizeof *k);
	if (k == NULL)
		return -1;
	k->cfg = cfg;
	k->nd = nd;
	k->vals = calloc((size_t)n, sizeof *k->vals);
	k->frames = calloc((size_t)(n - nd) + 1, sizeof *k->frames);
	k->simple = calloc((size_t)(n - nd) + 1, sizeof *k->simple);
	if (k->vals == NULL || k->frames == NULL || k->simple == NULL)
		goto fail;
	for (int d = 0; d < n - nd; d++) {
		k->frames[d] = expr_frame_new(cfg->derive[d]);
		if (k->frames[d] == NULL)
			goto fail;
		k->simple[d] = expr_simple_of(cfg->derive[d]);
	}
	if (cfg->where)
		k->swhere = expr_simple_of(cfg->where);
	if (c->p->where)
		k->spwhere = expr_simple_of(c->p->where);
	if ((cfg->where && (k->where = expr_frame_new(cfg->where)) == NULL) ||
	    (c->p->where && (k->pwhere = expr_frame_new(c->p->where)) == NULL))
		goto fail;
	last = last_read(cfg->where);
	if (last_read(c->p->where) > last)
		last = last_read(c->p->where);
	k->pre = last >= nd ? last - nd + 1 : 0;
	if (plan_steps(c, k) < 0)
		goto fail;
	cfg_provider_view(cfg, &k->view);
	c->compute = k;
	c->cfg = &k->view;
	return 0;
fail:
	prov_compute_free(k);
	return -1;
}

/* Mark what output view v's grouping and aggregates read as used. */
static void mark_output(bool *unused, const struct cfg *v)
{
	for (int k = 0; k < v->ngroup_by; k++)
		unused[v->group_by[k]] = false;
	for (int k = 0; k < v->naggs; k++) {
		if (v->aggs[k].field >= 0)
			unused[v->aggs[k].field] = false;
		if (v->aggs[k].filter >= 0)
			unused[v->aggs[k].filter] = false;
		/* arg_min(f, g), arg_max(f, g) read g as well. */
		if ((v->aggs[k].kind == CFG_AGG_ARG_MIN ||
		     v->aggs[k].kind == CFG_AGG_ARG_MAX) &&
		    v->aggs[k].field2 >= 0)
			unused[v->aggs[k].field2] = false;
	}
	if (v->has_keep)
		unused[v->keep] = false;
}

int prov_find_unused(struct prov_ctx *c)
{
	const struct cfg *cfg = c->compute ? c->compute->cfg : c->cfg;
	int n = cfg->schema.nfields;
	bool any = false;

	c->unused = NULL;
	if (cfg->mode != CFG_MODE_GROUP || n == 0)
		return 0;
	for (int o = 0; o < cfg->noutputs; o++)
		if (cfg->outputs[o].mode != CFG_MODE_GROUP)
			return 0;
	c->unused = malloc((size_t)n * sizeof *c->unused);
	if (c->unused == NULL)
		return -1;
	for (int i = 0; i < n; i++)
		c->unused[i] = true;
	mark_output(c->unused, cfg);
	for (int o = 0; o < cfg->noutputs; o++) {
		struct cfg v;

		cfg_output_view(cfg, o, &v);
		mark_output(c->unused, &v);
	}
	/* What the expressions read is converted and computed with. */
	for (int d = 0; d < n - declared(cfg); d++)
		mark_read(c->unused, cfg->derive[d]);
	mark_read(c->unused, cfg->where);
	mark_read(c->unused, c->p->where);
	for (int i = 0; i < n; i++)
		any |= c->unused[i];
	if (!any) {
		free(c->unused);
		c->unused = NULL;
	}
	return 0;
}
