/*
 * config_out.c - the [output NAME] sections of providers.conf
 * (config_out.h): their keys, applied through the [aggregate] functions
 * (config_agg.c) on a struct cfg that is [aggregate]'s shared parts with
 * the output's own laid over them, the checks once all are, and the views
 * the rest of the program reads an output through.
 */
#include "config_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_agg.h"
#include "config_derive.h"
#include "config_read.h"
#include "config_value.h"
#include "expr.h"

/*
 * The [aggregate] keys an [output NAME] section may have, by their
 * numbers there; its where is at CFG_OUT_WHERE_SLOT.
 */
static const int out_key_ids[] = {
	AK_OUTPUT, AK_FORMAT, AK_TABLE, AK_WRITE, AK_MODE, AK_GROUP_BY,
	AK_AGGREGATES, AK_HAVING, AK_ORDER_BY, AK_LIMIT,
};
#define OUT_NKEYS (int)(sizeof out_key_ids / sizeof out_key_ids[0])

/* Output i's hidden fields are named __agg(OUT_AGG_BASE * (i + 1) + n). */
#define OUT_AGG_BASE 1000

/* A key of [aggregate]'s (shared by every output), by name. */
static bool agg_key(const char *name)
{
	static const char *const zone_keys[] = { "timezone", "derive" };

	for (int i = 0; i < AK_NKEYS; i++)
		if (strcmp(cfg_agg_keys[i].name, name) == 0)
			return true;
	for (size_t i = 0; i < sizeof zone_keys / sizeof zone_keys[0]; i++)
		if (strcmp(zone_keys[i], name) == 0)
			return true;
	return false;
}

int cfg_out_key(const char *name)
{
	for (int i = 0; i < OUT_NKEYS; i++)
		if (strcmp(cfg_agg_keys[out_key_ids[i]].name, name) == 0)
			return out_key_ids[i];
	return strcmp(name, "where") == 0 ? CFG_OUT_WHERE_SLOT : -1;
}

int cfg_out_bad_key(struct cfg_doc *doc, const struct cfg_entry *e)
{
	const char *best_name = NULL;
	char sd[CFG_SECT_DESC_MAX];
	int best = 10;

	cfg_sect_desc(doc, e->sect, sd, sizeof sd);
	for (int i = 0; i < OUT_NKEYS; i++)
		if (cfg_near_miss(e->key, cfg_agg_keys[out_key_ids[i]].name,
				  &best))
			best_name = cfg_agg_keys[out_key_ids[i]].name;
	if (cfg_near_miss(e->key, "where", &best))
		best_name = "where";
	if (best_name)
		return cfg_fail(doc, e->line,
				"unknown key '%s' in %s (did you mean '%s'?)",
				e->key, sd, best_name);
	if (agg_key(e->key))
		return cfg_fail(doc, e->line,
				"key '%s' is not valid in %s: it is shared by every output, set it in [aggregate]",
				e->key, sd);
	return cfg_fail(doc, e->line,
			"unknown key '%s' in %s (an output has output, format, table, write, mode, where, group_by, aggregates, having, order_by and limit)",
			e->key, sd);
}

/*
 * Output oi as a struct cfg the [aggregate] functions work on: cfg's
 * shared parts, o's own.  out_put() takes o's back, and the fields its
 * keys derived into cfg's schema.
 */
static void out_take(const struct cfg *cfg, int oi, struct cfg *t)
{
	const struct cfg_output *o = &cfg->outputs[oi];

	*t = *cfg;
	t->output = o->output;
	t->format = o->format;
	t->format_given = o->format_given;
	t->table = o->table;
	t->write = o->write;
	t->mode = o->mode;
	t->group_by = o->group_by;
	t->ngroup_by = o->ngroup_by;
	t->aggs = o->aggs;
	t->naggs = o->naggs;
	t->order_by_text = o->order_by_text;
	t->order_by = o->order_by;
	t->norder_by = o->norder_by;
	t->limit = o->limit;
	t->limit_set = o->limit_set;
	t->having = o->having;
	t->having_prog = o->having_prog;
	t->has_keep = o->keep >= 0;
	t->keep = o->keep;
	t->output_name = o->name;
	t->agg_base = OUT_AGG_BASE * (oi + 1);
	t->outputs = NULL;
	t->noutputs = 0;
}

static void out_put(struct cfg *cfg, int oi, const struct cfg *t)
{
	struct cfg_output *o = &cfg->outputs[oi];

	o->output = t->output;
	o->format = t->format;
	o->format_given = t->format_given;
	o->table = t->table;
	o->write = t->write;
	o->mode = t->mode;
	o->group_by = t->group_by;
	o->ngroup_by = t->ngroup_by;
	o->aggs = t->aggs;
	o->naggs = t->naggs;
	o->order_by_text = t->order_by_text;
	o->order_by = t->order_by;
	o->norder_by = t->norder_by;
	o->limit = t->limit;
	o->limit_set = t->limit_set;
	o->having = t->having;
	o->having_prog = t->having_prog;
	o->keep = t->has_keep ? t->keep : -1;
	cfg->schema = t->schema;
	cfg->derive = t->derive;
	cfg->hidden = t->hidden;
	cfg->guard = t->guard;
}

int cfg_out_apply(const struct cfg_key *k, struct cfg *cfg, int oi, int id,
		  char **vp)
{
	struct cfg t;
	char name[32];
	int rc, fi;

	out_take(cfg, oi, &t);
	if (id == CFG_OUT_WHERE_SLOT) {
		if (!*cfg_skip_space(*vp)) {
			rc = cfg_bad_value(k, NULL, "no expression");
		} else {
			snprintf(name, sizeof name, "__out%d_where", oi + 1);
			rc = cfg_derive_keep(k, &t, *vp, name, &fi);
			if (rc == 0) {
				t.has_keep = true;
				t.keep = fi;
			}
		}
	} else {
		rc = cfg_agg_apply(k, id, &t, vp);
	}
	out_put(cfg, oi, &t);
	return rc;
}

/*
 * Two outputs writing the same file (or the same table of one database)
 * would overwrite each other: output oi against [aggregate]'s and those
 * before it.  0, or -1 after cfg_fail().
 */
static int check_target(struct cfg_doc *doc, const struct cfg *cfg,
			int agg_line, int oi)
{
	const struct cfg_output *o = &cfg->outputs[oi];

	for (int j = -1; j < oi; j++) {
		struct cfg v;
		bool table;

		cfg_output_view(cfg, j, &v);
		if (strcmp(v.output, o->output) != 0)
			continue;
		table = o->format == CFG_FMT_SQLITE ||
			o->format == CFG_FMT_POSTGRES;
		if (table && v.format == o->format &&
		    strcmp(v.table, o->table) != 0)
			continue;
		if (j < 0)
			return cfg_fail(doc, o->line,
					"[output %s] writes the same %s as [aggregate] (line %d): give it another output%s",
					o->name, table ? "table" : "output",
					agg_line,
					table ? " or table" : "");
		return cfg_fail(doc, o->line,
				"[output %s] writes the same %s as [output %s] (line %d): give it another output%s",
				o->name, table ? "table" : "output",
				cfg->outputs[j].name, cfg->outputs[j].line,
				table ? " or table" : "");
	}
	return 0;
}

int cfg_out_check(const struct cfg_check *c, struct cfg *cfg, int oi)
{
	struct cfg t;
	int rc;

	out_take(cfg, oi, &t);
	rc = cfg_agg_check(c, &t);
	out_put(cfg, oi, &t);
	if (rc < 0)
		return -1;
	return check_target(c->doc, cfg, c->doc->sects[c->doc->agg_sect].line,
			    oi);
}

int cfg_out_make(struct cfg_doc *doc, struct cfg *cfg)
{

	if (doc->nouts == 0)
		return 0;
	cfg->outputs = calloc((size_t)doc->nouts, sizeof *cfg->outputs);
	if (!cfg->outputs)
		return cfg_fail_oom(doc);
	for (int si = 0; si < doc->nsects; si++) {
		const struct cfg_sect *s = &doc->sects[si];
		struct cfg_output *o;

		if (s->kind != CFG_SECT_OUTPUT)
			continue;
		o = &cfg->outputs[cfg->noutputs++];
		o->name = strdup(s->name);
		o->line = s->line;
		o->write = CFG_WRITE_REPLACE;
		o->table = strdup("aggregate");
		o->keep = -1;
		if (!o->name || !o->table)
			return cfg_fail_oom(doc);
	}
	return 0;
}

void cfg_output_view(const struct cfg *cfg, int i, struct cfg *view)
{
	*view = *cfg;
	view->outputs = NULL;
	view->noutputs = 0;
	if (i < 0)
		return;
	out_take(cfg, i, view);
	view->agg_base = 0;
}

static void out_free(struct cfg_output *o)
{
	for (int i = 0; i < o->naggs; i++)
		free(o->aggs[i].name);
	free(o->aggs);
	free(o->group_by);
	free(o->name);
	free(o->output);
	free(o->table);
	free(o->order_by_text);
	free(o->order_by);
	free(o->having);
	expr_free(o->having_prog);
}

void cfg_out_free(struct cfg *cfg)
{
	for (int i = 0; i < cfg->noutputs; i++)
		out_free(&cfg->outputs[i]);
	free(cfg->outputs);
	cfg->outputs = NULL;
	cfg->noutputs = 0;
}
