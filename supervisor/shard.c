/*
 * shard.c - this run's shard and its providers (shard.h).
 *
 * Where I and N come from, first found wins:
 *   --shard I/N
 *   --shards N with JOB_COMPLETION_INDEX=I (a Kubernetes Indexed Job)
 *   SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN (default 0),
 *   SLURM_ARRAY_TASK_STEP (default 1), SLURM_ARRAY_TASK_COUNT (or
 *   --shards): I = (ID - MIN) / STEP, so that an array 1-8 or 0-14:2
 *   numbers its shards from 0 like one that starts at 0
 */
#include "shard.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../aggregator/partial.h"
#include "../common/log.h"
#include "sup.h"
#include "sup_child.h"

/* A whole number in [min, max] from s; false if it is not one. */
static bool number(const char *s, long min, long max, long *out)
{
	char *end;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	*out = strtol(s, &end, 10);
	return errno == 0 && *end == '\0' && *out >= min && *out <= max;
}

static int from_env(const char *name, long min, long max, long *out,
		    char *err, size_t errlen)
{
	const char *v = getenv(name);

	if (number(v, min, max, out))
		return 0;
	snprintf(err, errlen, "invalid %s '%.64s' in the environment: need a "
		 "number from %ld to %ld", name, v ? v : "", min, max);
	return -1;
}

int shard_resolve(const char *spec, int shards, int *shard, int *nshards,
		  int *given, char *err, size_t errlen)
{
	long i = 0, n = 1, id, lo = 0, step = 1;
	const char *slash;
	char num[32];

	*given = 1;
	if (spec != NULL) {
		slash = strchr(spec, '/');
		if (slash == NULL || (size_t)(slash - spec) >= sizeof num)
			goto out_spec;
		memcpy(num, spec, (size_t)(slash - spec));
		num[slash - spec] = '\0';
		if (!number(slash + 1, 1, PARTIAL_SHARDS_MAX, &n) ||
		    !number(num, 0, n - 1, &i))
			goto out_spec;
	} else if (getenv("JOB_COMPLETION_INDEX") && shards > 0) {
		n = shards;
		if (from_env("JOB_COMPLETION_INDEX", 0, n - 1, &i, err,
			     errlen) < 0)
			return -1;
	} else if (getenv("SLURM_ARRAY_TASK_ID")) {
		if (from_env("SLURM_ARRAY_TASK_ID", 0, INT_MAX, &id, err,
			     errlen) < 0 ||
		    (getenv("SLURM_ARRAY_TASK_MIN") &&
		     from_env("SLURM_ARRAY_TASK_MIN", 0, id, &lo, err,
			      errlen) < 0) ||
		    (getenv("SLURM_ARRAY_TASK_STEP") &&
		     from_env("SLURM_ARRAY_TASK_STEP", 1, INT_MAX, &step, err,
			      errlen) < 0))
			return -1;
		if (shards > 0)
			n = shards;
		else if (from_env("SLURM_ARRAY_TASK_COUNT", 1,
				  PARTIAL_SHARDS_MAX, &n, err, errlen) < 0)
			return -1;
		i = (id - lo) / step;
		if (i >= n) {
			snprintf(err, errlen, "Slurm array task %ld is shard "
				 "%ld, but there are %ld shards", id, i, n);
			return -1;
		}
	} else if (shards > 0) {
		snprintf(err, errlen, "--shards %d needs JOB_COMPLETION_INDEX "
			 "or a Slurm array task in the environment (or give "
			 "--shard I/N)", shards);
		return -1;
	} else {
		*given = 0;
	}
	*shard = (int)i;
	*nshards = (int)n;
	return 0;
out_spec:
	snprintf(err, errlen, "invalid --shard '%.64s': need I/N, 0 <= I < N "
		 "<= %d (e.g. 0/4)", spec, PARTIAL_SHARDS_MAX);
	return -1;
}

int shard_setenv(int shard, int nshards)
{
	char v[16];

	snprintf(v, sizeof v, "%d", shard);
	if (setenv("SHARD", v, 1) < 0)
		return -1;
	snprintf(v, sizeof v, "%d", nshards);
	return setenv("SHARDS", v, 1);
}

int shard_apply(struct cfg *cfg, int shard, int nshards)
{
	int here = 0;

	cfg->shard = shard;
	cfg->nshards = nshards;
	for (int i = 0; i < cfg->nproviders; i++) {
		struct cfg_provider *p = &cfg->providers[i];

		if (p->shard_split) {
			p->shard = shard;
			p->nshards = nshards;
		} else if (i % nshards != shard) {
			p->enabled = false;
		}
		here += p->enabled;
	}
	return here;
}

void shard_report(const struct cfg *cfg, int shard, int nshards)
{
	for (int i = 0; i < cfg->nproviders; i++) {
		const struct cfg_provider *p = &cfg->providers[i];
		char where[64];

		if (p->shard_split)
			snprintf(where, sizeof where, "its share (split) in "
				 "every shard");
		else
			snprintf(where, sizeof where, "whole in shard %d",
				 i % nshards);
		printf("%-20s shard    %d/%d     %s%s\n", p->name, shard,
		       nshards, where,
		       p->shard_split || i % nshards == shard ? ": runs here"
							     : "");
	}
}

int shard_merge_setup(struct cfg *cfg, char *const *parts, int nparts,
		      const char *partial, struct partial_set **psp)
{
	struct partial_set *ps = partial_set_new(cfg);
	char err[1024];
	int code = EXIT_FAILED;
	bool where = sup_child_any_where(cfg), known;

	*psp = ps;
	if (ps == NULL) {
		log_event(LOG_ERROR, NULL, "out of memory", NULL);
		return EXIT_FAILED;
	}
	for (int i = 0; i < nparts; i++)
		if (partial_set_add(ps, parts[i], err, sizeof err,
				    &code) < 0)
			goto out_fail;
	if (partial) {
		code = EXIT_FAILED;
		if (partial_set_save(ps, partial, err, sizeof err) < 0)
			goto out_fail;
		log_event(LOG_INFO, NULL, "partial written", "to", partial,
			  NULL);
		return EXIT_OK;
	}
	code = EXIT_DATAERR;
	if (partial_set_complete(ps, err, sizeof err) < 0)
		goto out_fail;
	for (int i = 0; i < cfg->nproviders; i++) {
		struct partial_prov pp;
		char rec[32], rej[32], filt[32];

		cfg->providers[i].enabled = false;
		partial_set_prov(ps, i, &pp);
		if (!pp.ran)
			continue;
		snprintf(rec, sizeof rec, "%llu", (unsigned long long)pp.records);
		snprintf(rej, sizeof rej, "%llu", (unsigned long long)pp.rejects);
		snprintf(filt, sizeof filt, "%llu",
			 (unsigned long long)pp.filtered);
		/* As the shards' summaries say it: when a where can drop
		 * any, and every piece counted them (version 2 on). */
		known = where && pp.filtered != PARTIAL_FILTERED_UNKNOWN;
		log_event(pp.dropped ? LOG_WARN : LOG_INFO,
			  cfg->providers[i].name,
			  pp.dropped ? "merged without it: it failed in its "
				       "shard" : "merged",
			  "records", rec, "rejects", rej,
			  known ? "filtered" : NULL, filt, NULL);
	}
	cfg->partials = ps;
	return -1;
out_fail:
	log_event(LOG_ERROR, NULL, "merge failed", "cause", err, NULL);
	return code;
}
