/*
 * pushdown.c - the configs whose group-by an SQL provider may run in the
 * database, and their group record (pushdown.h).
 */
#include "pushdown.h"

#include <stdio.h>
#include <stdlib.h>

static bool key_type_ok(enum rec_type t)
{
	return t == REC_INT || t == REC_TEXT || t == REC_BOOL;
}

static bool agg_ok(const struct cfg *cfg, const struct cfg_agg *a,
		   char *why, size_t whylen)
{
	enum rec_type t = a->field >= 0 ? cfg->schema.fields[a->field].type
					: REC_INT;

	if (a->filter >= 0) {
		snprintf(why, whylen, "%s has a filter", a->name);
		return false;
	}
	switch (a->kind) {
	case CFG_AGG_COUNT_STAR:
	case CFG_AGG_COUNT:
		return true;
	case CFG_AGG_SUM:
	case CFG_AGG_AVG:
		if (t == REC_INT || t == REC_DECIMAL || t == REC_FLOAT)
			return true;
		break;
	case CFG_AGG_MIN:
	case CFG_AGG_MAX:
		if (t == REC_INT || t == REC_TEXT || t == REC_DECIMAL)
			return true;
		break;
	default:
		snprintf(why, whylen, "%s cannot be combined from groups",
			 a->name);
		return false;
	}
	snprintf(why, whylen, "%s of a %s field", a->name, rec_type_name(t));
	return false;
}

/*
 * What both kinds of pushdown need: groups for one output, no state, and
 * keys and aggregates that combine from groups.
 */
static bool shape_ok(const struct cfg *cfg, char *why, size_t whylen)
{
	if (cfg->mode != CFG_MODE_GROUP) {
		snprintf(why, whylen, "union output");
		return false;
	}
	if (cfg->noutputs > 0) {
		snprintf(why, whylen, "more than one output");
		return false;
	}
	if (cfg->state_dir != NULL) {
		snprintf(why, whylen, "state: the bookmarks need the rows");
		return false;
	}
	for (int i = 0; i < cfg->ngroup_by; i++) {
		const struct rec_field *f = &cfg->schema.fields[cfg->group_by[i]];

		if (!key_type_ok(f->type)) {
			snprintf(why, whylen, "group_by %s is a %s field",
				 f->name, rec_type_name(f->type));
			return false;
		}
	}
	for (int i = 0; i < cfg->naggs; i++)
		if (!agg_ok(cfg, &cfg->aggs[i], why, whylen))
			return false;
	return true;
}

bool push_combine_allowed(const struct cfg *cfg, int pi, char *why,
			  size_t whylen)
{
	const struct cfg_provider *p = &cfg->providers[pi];

	if (p->whole == NULL || p->type != CFG_PROV_FILE) {
		snprintf(why, whylen, "not a range of a file");
		return false;
	}
	return shape_ok(cfg, why, whylen);
}

bool push_allowed(const struct cfg *cfg, int pi, char *why, size_t whylen)
{
	const struct cfg_provider *p = &cfg->providers[pi];

	if (cfg->where != NULL || p->where != NULL) {
		snprintf(why, whylen, "where");
		return false;
	}
	/* A provider's copy of the schema holds the declared fields only. */
	if (cfg->derive != NULL ||
	    cfg->schema.nfields != cfg->nfields_declared) {
		snprintf(why, whylen, "derived fields or expressions");
		return false;
	}
	return shape_ok(cfg, why, whylen);
}

static int plan_make(const struct cfg *cfg, struct push_plan *pp, bool rows)
{
	int n = cfg->ngroup_by + rows, k = 0;
	struct rec_field *w;

	for (int i = 0; i < cfg->naggs; i++)
		n += !push_has_value(&cfg->aggs[i]) ? 1 :
		     push_is_fsum(cfg, &cfg->aggs[i]) ? 5 : 2;
	pp->nkeys = cfg->ngroup_by;
	pp->rows = rows ? n - 1 : -1;
	pp->wire.nfields = n;
	pp->wire.fields = w = calloc((size_t)n + 1, sizeof *w);
	pp->col = calloc((size_t)cfg->naggs + 1, sizeof *pp->col);
	if (w == NULL || pp->col == NULL) {
		push_plan_free(pp);
		return -1;
	}
	for (int i = 0; i < cfg->ngroup_by; i++)
		w[k++] = cfg->schema.fields[cfg->group_by[i]];
	for (int i = 0; i < cfg->naggs; i++) {
		const struct cfg_agg *a = &cfg->aggs[i];
		const struct rec_field *f = a->field >= 0 ?
			&cfg->schema.fields[a->field] : NULL;

		pp->col[i] = k;
		w[k].name = a->name;
		w[k++].type = REC_INT;
		if (!push_has_value(a))
			continue;
		if (push_is_fsum(cfg, a)) {
			/* f, t, m, z (pushdown.h) */
			for (int j = 0; j < 4; j++) {
				w[k].name = a->name;
				w[k].type = j % 2 ? REC_INT : REC_DECIMAL;
				w[k++].prec = j % 2 ? 0 : 38;
			}
			continue;
		}
		if (a->kind == CFG_AGG_SUM || a->kind == CFG_AGG_AVG) {
			w[k].name = a->name;
			w[k].type = REC_DECIMAL;
			w[k].prec = 38;
			w[k].scale = f->type == REC_DECIMAL ? f->scale : 0;
		} else {
			w[k] = *f;
		}
		k++;
	}
	if (rows) {
		w[k].name = (char *)"rows";
		w[k].type = REC_INT;
	}
	return 0;
}

int push_plan_make(const struct cfg *cfg, struct push_plan *pp)
{
	return plan_make(cfg, pp, false);
}

int push_plan_make_rows(const struct cfg *cfg, struct push_plan *pp)
{
	return plan_make(cfg, pp, true);
}

void push_plan_free(struct push_plan *pp)
{
	free(pp->wire.fields);
	free(pp->col);
	pp->wire.fields = NULL;
	pp->col = NULL;
}
