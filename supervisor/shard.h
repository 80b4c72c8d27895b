/*
 * shard.h - sharded runs on the command line: which shard of how many
 * this run is and which providers it runs, and the partials a merge
 * starts from.  The shard comes from the command line's --shard I/N and --shards N, or what a batch
 * system says in the environment (Kubernetes Indexed Jobs'
 * JOB_COMPLETION_INDEX, Slurm job arrays' SLURM_ARRAY_TASK_*).
 *
 * The rule: provider number i (its place in the config, from 0) runs whole
 * in shard i % N; a provider with shard = split runs in every shard, each
 * reading its share (config.h: struct cfg_provider).  The same config
 * gives every shard the same rule, so the shards together read
 * everything exactly once.
 */
#ifndef AGG_SHARD_H
#define AGG_SHARD_H

#include <stddef.h>

#include "../common/config.h"

/*
 * This run's shard *shard of *nshards from --shard (spec "I/N", NULL: not
 * given) and --shards (0: not given), else the environment; neither: 0
 * of 1 and *given 0.  Returns 0, or -1 with err (a usage error, 64).
 */
int shard_resolve(const char *spec, int shards, int *shard, int *nshards,
		  int *given, char *err, size_t errlen);

/*
 * Set SHARD and SHARDS in the environment, for ${SHARD} and ${SHARDS} in
 * the config.  Returns 0, or -1 (no memory).
 */
int shard_setenv(int shard, int nshards);

/*
 * Apply the rule to cfg for shard of nshards: a provider of another shard
 * is disabled; a split one learns its share.  Returns how many providers
 * run here.
 */
int shard_apply(struct cfg *cfg, int shard, int nshards);

/* For --check: one line per provider on stdout, where it runs. */
void shard_report(const struct cfg *cfg, int shard, int nshards);

/*
 * aggregate merge: read and check every partial of parts[0..nparts) (one
 * refused: 65, or 66 when it cannot be read; nothing written); with
 * partial, write their merge there as one partial; else check that every
 * shard is there, log each provider's counts, disable every provider and
 * hang the set on cfg->partials, for the run to write the outputs from
 * (the aggregator loads it).  *psp: the set, for the caller to free.
 * Returns -1 to go on with the run, or an exit status.
 */
int shard_merge_setup(struct cfg *cfg, char *const *parts, int nparts,
		      const char *partial, struct partial_set **psp);

#endif
