/*
 * partial.h - the aggregate state of a run, written down and merged:
 * partials of shards, merges of partials, and (later) incremental state.
 *
 * A partial holds, for every output ([aggregate]'s and each [output
 * NAME]'s), what each provider folded: its groups with every aggregate's
 * state (group mode) or its rows in source order (union mode), with its
 * committed rejects and its counts.  It is kept per piece: one provider's
 * share of one or more consecutive shards.  A provider read whole belongs
 * to one shard; a provider with shard = split has a piece per shard, and
 * pieces of consecutive shards are folded into one as merges join them.
 * Loading folds a provider's pieces in shard order into the part of the
 * merge the provider's own records would have gone to, so the merge
 * writes exactly what one run over everything writes (merge.c folds the
 * providers in config order, as ever).
 *
 * The file: a header (magic, format version, the config's fingerprint,
 * the shards it covers of how many), the pieces, and a CRC-32 of all of
 * it; written atomically (outfile.h), the same bytes for the same state.
 * A file that is not whole, not ours, of another version or of another
 * config is refused with a message naming it, before anything is loaded.
 *
 * Errors: messages in the caller's buffer, naming the file.
 */
#ifndef AGG_PARTIAL_H
#define AGG_PARTIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/config.h"
#include "merge.h"

/*
 * The format version this program writes, and the oldest it reads:
 * version 1 did not carry the records a `where` dropped (a piece read
 * from it has filtered PARTIAL_FILTERED_UNKNOWN).
 */
#define PARTIAL_VERSION 2
#define PARTIAL_VERSION_MIN 1

/* Most shards a sharded run may have. */
#define PARTIAL_SHARDS_MAX 65536

/* A provider as a partial counts it. */
struct partial_prov {
	bool ran;            /* some covered shard read it */
	bool dropped;        /* failed for good under on_error = partial */
	uint64_t records;    /* committed */
	uint64_t rejects;
	uint64_t filtered;   /* dropped by a `where`, or ..._UNKNOWN */
};

/* A count of filtered records that a version 1 partial did not keep. */
#define PARTIAL_FILTERED_UNKNOWN UINT64_MAX

/* a + b of two filtered counts; unknown when either is. */
static inline uint64_t partial_filtered_add(uint64_t a, uint64_t b)
{
	return a == PARTIAL_FILTERED_UNKNOWN || b == PARTIAL_FILTERED_UNKNOWN
	       ? PARTIAL_FILTERED_UNKNOWN : a + b;
}

/*
 * The fingerprint of the config at path: a hash of what determines the
 * states (every key of every section as written, ${VAR} unexpanded, but
 * the keys that only say where and how outputs are written and how the
 * run behaves, and the credentials in a conninfo, URL or header).
 * Returns 0, or -1 with err (66-style: the file cannot be read; the caller
 * has loaded it already, so this is rare).
 */
int partial_fingerprint(const char *path, uint64_t *fp, char *err,
			size_t errlen);

/*
 * Write the state of merges[0..nmerges) (one per output, [aggregate]'s
 * first) of a shard run to path: cfg's shard of cfg->nshards (0: shard
 * 0 of 1, a run that is not sharded), fingerprint cfg->fingerprint; prov[i] says whether provider i ran here and its
 * counts.  Returns 0, or -1 with err; nothing is left behind then.
 */
int partial_save(const char *path, const struct cfg *cfg,
		 struct merge *const *merges, int nmerges,
		 const struct partial_prov *prov, char *err, size_t errlen);

/* Partials read and checked, not yet loaded. */
struct partial_set;

/* An empty set for cfg (its fingerprint: cfg->fingerprint); NULL: no memory. */
struct partial_set *partial_set_new(const struct cfg *cfg);

/*
 * Read the partial at path and add it to ps.  Returns 0; -1 with err
 * naming the file when it is not a whole partial of a version this
 * program reads and of this config, of the same number of shards as the others, or covers a shard
 * another one covers; *exit_code: 66 when it cannot be read, else 65.
 */
int partial_set_add(struct partial_set *ps, const char *path, char *err,
		    size_t errlen, int *exit_code);

/*
 * Whether every shard is covered (0), or -1 with err naming the missing
 * ones.
 */
int partial_set_complete(const struct partial_set *ps, char *err,
			 size_t errlen);

/* Forget provider pi's pieces (an incremental run reads it again). */
void partial_set_drop(struct partial_set *ps, int pi);

/* Shards of the set, and the counts of provider pi summed. */
int partial_set_nshards(const struct partial_set *ps);
void partial_set_prov(const struct partial_set *ps, int pi,
		      struct partial_prov *out);

/*
 * Fold every piece into merges[0..nmerges) (fresh, one per output of the
 * set's cfg), provider by provider in shard order, its rejects into
 * merges[0]; a provider dropped in any piece is dropped.  Returns 0, or -1
 * with err.
 */
int partial_set_load(const struct partial_set *ps, struct merge *const *merges,
		     int nmerges, char *err, size_t errlen);

/*
 * Write the set as one partial at path (merge --partial): it covers the
 * union of the shards; pieces of one provider on consecutive shards are
 * folded into one.  Returns 0, or -1 with err; nothing is left behind.
 */
int partial_set_save(const struct partial_set *ps, const char *path,
		     char *err, size_t errlen);

void partial_set_free(struct partial_set *ps);

#endif
