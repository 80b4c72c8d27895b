/*
 * par.c - a file provider read by several processes, one per byte range
 * of its input (par.h): the config's providers replaced by their ranges
 * before the run and put back after it.
 *
 * Memory: the ranges' struct cfg_provider are shallow copies of their
 * provider (its options, schema and programs shared, never freed through
 * them); only their names are theirs.  The config's own array is kept
 * aside in struct par and comes back in par_collapse(), before anything
 * frees the config.
 */
#include "par.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../providers/file_conf.h"
#include "../providers/file_par.h"
#include "../providers/file_src.h"

struct par {
	struct cfg_provider *own;  /* the config's providers */
	int nown;
	int *of;                   /* of[k]: which of own provider k stands for */
};

/* "12.4 MB" */
static void human(uint64_t bytes, char *out, size_t len)
{
	if (bytes < 1000)
		snprintf(out, len, "%" PRIu64 " B", bytes);
	else if (bytes < 1000000)
		snprintf(out, len, "%.1f kB", (double)bytes / 1e3);
	else if (bytes < 1000000000)
		snprintf(out, len, "%.1f MB", (double)bytes / 1e6);
	else
		snprintf(out, len, "%.2f GB", (double)bytes / 1e9);
}

static bool wants(const struct cfg_provider *p)
{
	return p->type == CFG_PROV_FILE && p->enabled && p->opts != NULL &&
	       file_conf(p)->parallel != 1;
}

/* "NAME[k] a.csv bytes LO-HI (SIZE)" into out. */
static void describe(const struct file_plan *pl, const char *name, int k,
		     char *out, size_t len)
{
	const struct file_range *r = &pl->r[k];
	char size[32];

	human(r->bytes, size, sizeof size);
	if (r->first == r->last && r->hi != UINT64_MAX)
		snprintf(out, len, "%s[%d] %s bytes %" PRIu64 "-%" PRIu64
			 " (%s)", name, k, pl->names[r->first], r->lo, r->hi,
			 size);
	else if (r->first == r->last)
		snprintf(out, len, "%s[%d] %s from byte %" PRIu64 " (%s)",
			 name, k, pl->names[r->first], r->lo, size);
	else
		snprintf(out, len, "%s[%d] %s from byte %" PRIu64 " to %s "
			 "(%s)", name, k, pl->names[r->first], r->lo,
			 pl->names[r->last], size);
}

/* What the run does when a cut turns out to be inside quotes. */
#define UNSURE_THEN "a range that ends inside a quoted field makes the " \
		    "run read the file again whole, by one process"

/* Does a cut of pl fall in a CSV file with quotes? */
static bool unsure(const struct file_plan *pl)
{
	for (int k = 0; k < pl->n; k++)
		if (pl->r[k].unsure)
			return true;
	return false;
}

/* Log how p is cut: debug; a warning when it asked for N and is not. */
static void log_plan(const struct cfg_provider *p, const struct file_plan *pl)
{
	char line[1200], num[16];

	if (pl->n == 1) {
		log_event(file_conf(p)->parallel > 1 ? LOG_WARN : LOG_DEBUG,
			  p->name, "read by one process", "cause", pl->why,
			  NULL);
		return;
	}
	snprintf(num, sizeof num, "%d", pl->n);
	log_event(LOG_DEBUG, p->name, "read in ranges", "ranges", num,
		  pl->why[0] ? "whole" : NULL, pl->why, NULL);
	for (int k = 0; log_enabled(LOG_DEBUG) && k < pl->n; k++) {
		describe(pl, p->name, k, line, sizeof line);
		log_event(LOG_DEBUG, p->name, "range", "is", line, NULL);
	}
	if (unsure(pl))
		log_event(LOG_DEBUG, p->name, "cuts not checked before the "
			  "run", "then", UNSURE_THEN, NULL);
}

int par_expand(struct cfg *cfg, const bool *whole, struct par **out)
{
	struct par *par;
	struct cfg_provider *np = NULL;
	int n = 0, cap = 0;

	bool any = false;

	*out = NULL;
	for (int i = 0; i < cfg->nproviders; i++)
		any = any || (wants(&cfg->providers[i]) && !(whole && whole[i]));
	if (!any)
		return 0;
	if (cfg->partial) {
		log_event(LOG_WARN, NULL, "a shard reads each file provider "
			  "with one process: parallel is not used", NULL);
		return 0;
	}
	par = calloc(1, sizeof *par);
	if (par == NULL)
		goto out_oom;
	for (int i = 0; i < cfg->nproviders; i++) {
		const struct cfg_provider *p = &cfg->providers[i];
		struct file_plan pl = { .n = 1 };
		int add;

		if (wants(p) && !(whole && whole[i])) {
			file_par_plan(p, file_conf(p)->parallel, &pl);
			log_plan(p, &pl);
		}
		add = pl.n;
		if (n + add > cap) {
			int nc = (n + add) * 2;
			struct cfg_provider *g = realloc(np, (size_t)nc * sizeof *g);
			int *of = realloc(par->of, (size_t)nc * sizeof *of);

			if (g)
				np = g;
			if (of)
				par->of = of;
			if (g == NULL || of == NULL) {
				file_par_free(&pl);
				goto out_oom;
			}
			cap = nc;
		}
		for (int k = 0; k < add; k++) {
			struct cfg_provider *q = &np[n];

			*q = *p;
			par->of[n++] = i;
			if (pl.n == 1)
				continue;
			q->name = malloc(strlen(p->name) + 16);
			if (q->name == NULL) {
				n--;
				file_par_free(&pl);
				goto out_oom;
			}
			sprintf(q->name, "%s[%d]", p->name, k);
			q->whole = p->name;
			q->range = k;
			q->range_first = pl.r[k].first;
			q->range_last = pl.r[k].last;
			q->range_lo = pl.r[k].lo;
			q->range_hi = pl.r[k].hi;
			q->range_unsure = pl.r[k].unsure;
		}
		file_par_free(&pl);
	}
	par->own = cfg->providers;
	par->nown = cfg->nproviders;
	cfg->providers = np;
	cfg->nproviders = n;
	*out = par;
	return 0;

out_oom:
	for (int k = 0; k < n; k++)
		if (np[k].whole)
			free(np[k].name);
	free(np);
	if (par)
		free(par->of);
	free(par);
	log_event(LOG_ERROR, NULL, "out of memory", NULL);
	return -1;
}

void par_redo(const struct cfg *cfg, const struct par *par, int k,
	      bool *whole)
{
	const struct cfg_provider *q = &cfg->providers[k];
	const char **names = NULL;
	char msg[600], cut[32], line[32];
	const char *file = "?";
	size_t n = 0;
	int64_t before = -1;
	glob_t g;

	whole[par->of[k]] = true;
	/* The files as the range's reader matched them. */
	if (file_match(q, &g, &names, &n, msg, sizeof msg) == ST_OK &&
	    q->range_last < n) {
		file = names[q->range_last];
		before = file_par_lines_before(file, q->range_hi);
	}
	snprintf(cut, sizeof cut, "%" PRIu64, q->range_hi);
	snprintf(line, sizeof line, "%" PRId64, before + 1);
	snprintf(msg, sizeof msg, "a quoted line feed crosses the cut at "
		 "byte %s (line %s): read by one process", cut,
		 before >= 0 ? line : "?");
	log_event(LOG_WARN, q->whole, msg, "file", file, NULL);
	free(names);
	globfree(&g);
}

/* Fold b (a later range's counts) into a. */
static void fold(struct metrics_prov *a, const struct metrics_prov *b)
{
	static const char *const worse[] = { "failed", "stopped", "ok" };

	a->records += b->records;
	a->rejects += b->rejects;
	a->filtered += b->filtered;
	a->restarts += b->restarts;
	if (b->seconds > a->seconds)
		a->seconds = b->seconds;
	for (size_t w = 0; w < sizeof worse / sizeof worse[0]; w++) {
		if (a->status && strcmp(a->status, worse[w]) == 0)
			break;
		if (b->status && strcmp(b->status, worse[w]) == 0) {
			a->status = b->status;
			break;
		}
	}
}

void par_collapse(struct cfg *cfg, struct par *par,
		  struct metrics_prov *stats)
{
	if (par == NULL)
		return;
	for (int k = 0, j = -1; k < cfg->nproviders; k++) {
		if (stats) {
			if (j != par->of[k])
				stats[++j] = stats[k];
			else
				fold(&stats[j], &stats[k]);
		}
		if (cfg->providers[k].whole)
			free(cfg->providers[k].name);
	}
	free(cfg->providers);
	cfg->providers = par->own;
	cfg->nproviders = par->nown;
	free(par->of);
	free(par);
}

void par_report(const struct cfg_provider *p)
{
	struct file_plan pl;
	char line[1200];

	if (!wants(p))
		return;
	file_par_plan(p, file_conf(p)->parallel, &pl);
	if (pl.n == 1) {
		printf("%-20s %-8s %-8s read by one process: %s\n", "", "",
		       file_conf(p)->parallel > 1 ? "warning" : "", pl.why);
	} else {
		int k = -1, rc = 0;
		int64_t at = 0;

		for (int j = 0; j < pl.n; j++) {
			describe(&pl, p->name, j, line, sizeof line);
			printf("%-20s %-8s %-8s range %s\n", "", "", "", line);
		}
		if (unsure(&pl))
			rc = file_par_cut_in_quotes(p, &pl, &k, &at);
		if (rc > 0)
			printf("%-20s %-8s %-8s read whole: %s: a quoted line "
			       "feed crosses the cut at byte %" PRIu64 " (line %"
			       PRId64 ")\n", "", "", "warning",
			       pl.names[pl.r[k + 1].first], pl.r[k + 1].lo, at);
		else if (rc == 0 && unsure(&pl))
			printf("%-20s %-8s %-8s cuts checked: none inside a "
			       "quoted field\n", "", "", "");
		else if (rc < 0)
			printf("%-20s %-8s %-8s cuts not checked: %s\n", "", "",
			       "", UNSURE_THEN);
		if (pl.why[0])
			printf("%-20s %-8s %-8s read whole: %s\n", "", "", "",
			       pl.why);
	}
	file_par_free(&pl);
}

int par_check_state(const struct cfg *cfg, char *err, size_t errlen)
{
	for (int i = 0; cfg->state_dir && i < cfg->nproviders; i++) {
		const struct cfg_provider *p = &cfg->providers[i];

		if (wants(p)) {
			snprintf(err, errlen, "%s:%d: parallel cannot be used "
				 "in an incremental run (state = %s): remove "
				 "it from [provider %s], or run without state",
				 cfg->path, file_conf(p)->parallel_line,
				 cfg->state_dir, p->name);
			return -1;
		}
	}
	return 0;
}
