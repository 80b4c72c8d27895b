/*
 * config_agg.h - the [aggregate] section of providers.conf: its keys,
 * how each is applied into the struct cfg, and the checks once all are.
 *
 * It works as a provider type does (struct cfg_type, config.h): a key
 * table whose index is the key's number, an apply function and a check
 * function, which config.c's driver calls; so that every section's keys
 * are told apart, suggested and reported the same way.  cfg_set_output()
 * (config.h) is defined here too: -o re-derives the output's format as
 * [aggregate] does.
 */
#ifndef AGG_CONFIG_AGG_H
#define AGG_CONFIG_AGG_H

#include <stdbool.h>

#include "config.h"
#include "config_key.h"

enum cfg_agg_key {
	AK_OUTPUT, AK_FORMAT, AK_TABLE, AK_WRITE, AK_FIELDS, AK_MODE,
	AK_GROUP_BY, AK_AGGREGATES, AK_ON_ERROR, AK_RESTART, AK_BACKOFF,
	AK_BACKOFF_MAX, AK_STALL_TIMEOUT, AK_TIMEOUT, AK_MEMORY_LIMIT,
	AK_RING_SIZE, AK_REJECT_FILE, AK_MAX_REJECTS, AK_LOCK_FILE,
	AK_METRICS_FILE, AK_ORDER_BY, AK_LIMIT, AK_HAVING,
	AK_TRACE_FILE,
	AK_MEMORY,
	AK_STATE,
	AK_NKEYS
};

/* [aggregate]'s keys, numbered by enum cfg_agg_key. */
extern const struct cfg_key_def cfg_agg_keys[AK_NKEYS];

/*
 * The result of aggregate a (its kind set) over field f (NULL for
 * count(*)) into a->type, a->prec and a->scale, as PostgreSQL types it:
 * count and count_distinct are int; sum of int is int, of float float, of
 * decimal(p,s) decimal(38,s); avg of int or float is float, of
 * decimal(p,s) decimal(38,max(s,6)); min and max keep the field's type.
 * stddev, stddev_pop, variance, var_pop, median and percentile are float
 * (of int, float and decimal; PostgreSQL's numeric results for int and
 * decimal are given as the nearest double); arg_min and arg_max keep the
 * field's type.  Returns 0, or -1 when the function does not apply to f's
 * type (sum, avg and the statistics of anything but int, float and
 * decimal); a->type is then unset.
 */
int cfg_agg_result_type(struct cfg_agg *a, const struct rec_field *f);

/* The defaults of a zeroed struct cfg.  Returns 0, or -1: no memory. */
int cfg_agg_defaults(struct cfg *cfg);

/* True when key id's value is a secret now (a postgres output). */
bool cfg_agg_secret(const struct cfg *cfg, int id);

/*
 * Apply key id with the expanded value *vp (a setter may take it).
 * fields is parsed before any other key (cfg_schema_fields): here it is
 * a no-op.  Returns 0, or -1 after an error through k.
 */
int cfg_agg_apply(const struct cfg_key *k, int id, struct cfg *cfg,
		  char **vp);

/*
 * After every key: output is there; mode agrees with group_by and
 * aggregates; the output columns are unique; the format is known (from
 * format, else the output's extension, CSV for stdout) and fits the
 * output; table only for a table output; backoff <= backoff_max.
 * Returns 0, or -1 after cfg_fail().
 */
int cfg_agg_check(const struct cfg_check *c, struct cfg *cfg);

#endif
