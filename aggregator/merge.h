/*
 * merge.h - folding providers' records into the result: union and group.
 *
 * The aggregator stages each provider's records and rejects here as they
 * arrive, and the merge folds them once the checkpoint covering them has
 * arrived, in the provider's source order (the stage, below).  To
 * keep the output byte-identical whatever the timing, every provider keeps
 * its own partial state (its spooled records in union mode, its own group
 * table in group mode) and merge_write() combines them in config order:
 * float sums then always add in the same order.  Integer sums are kept in
 * 128 bits and checked for 64-bit overflow when written; decimal sums are
 * exact and checked for 38 digits when written.
 */
#ifndef AGG_MERGE_H
#define AGG_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ipc/record.h"
#include "../common/config.h"

struct merge;
struct st_agg;

/* A merge for cfg (mode, schema, group_by, aggregates); NULL on no memory. */
struct merge *merge_new(const struct cfg *cfg);

/*
 * Fold one record of provider pi now (v: cfg->schema.nfields values; text
 * is copied), bypassing the stage.  Returns 0, or -1 with err (out of
 * memory, spool write error).
 */
int merge_add(struct merge *m, int pi, const struct rec_value *v, char *err,
	      size_t errlen);

/*
 * The stage (stage.h): what provider pi sent since its last checkpoint,
 * in every mode.  The aggregator hands each RECORDS payload to
 * merge_stage() and each REJECT payload to merge_stage_reject() as they
 * arrive, merge_commit() when a checkpoint covers them and merge_discard()
 * when the attempt dies.  Records are staged as entries (their group and
 * the aggregates' inputs; merge_stages() is true) in group mode when every
 * aggregate reads either nothing (count(*)), only whether a field is NULL
 * (count), or a fixed-size value (sum, avg, min, max of int, float, bool,
 * timestamp, decimal; min, max of date), and as their bytes otherwise.  A group that only uncommitted
 * records created stays in the table without a committed record: it is
 * left out of the result.
 *
 * Test builds: AGG_STAGE=raw in the environment stages bytes always, so
 * that a test can compare both forms.
 */
bool merge_stages(const struct merge *m);

/*
 * Stage the count records of recs[0..len) (a RECORDS payload; it may be in
 * memory its producer still writes: it is copied before it is read) for
 * provider pi.  Returns 0; 1 when the bytes are not exactly count
 * well-formed records of the schema (rec_decode()'s verdict: the reason in
 * err, nothing of the frame staged); or -1 with err (out of memory, or the
 * result already written).
 */
int merge_stage(struct merge *m, int pi, const unsigned char *recs,
		size_t len, uint32_t count, char *err, size_t errlen);

/*
 * Stage a GROUPS payload (a pushed-down provider's groups, records of
 * the config's group record, common/pushdown.h) as merge_stage() does a
 * RECORDS one; each group counts as one record.  The same returns; 1
 * too when provider pi may not push down at all.
 */
int merge_stage_groups(struct merge *m, int pi, const unsigned char *recs,
		       size_t len, uint32_t count, char *err, size_t errlen);

/*
 * Stage a REJECT payload p[0..len) of provider pi (checked by the caller).
 * Returns 0, or -1 with err (out of memory).
 */
int merge_stage_reject(struct merge *m, int pi, const unsigned char *p,
		       uint32_t len, char *err, size_t errlen);

/* The records and rejects staged for provider pi since its last commit. */
void merge_staged(const struct merge *m, int pi, uint64_t *records,
		  uint64_t *rejects);

/*
 * Fold everything staged for provider pi, records in the order they were
 * staged, and commit its staged rejects.  Returns 0, or -1 with err (out
 * of memory, spool write error, the result already written).
 */
int merge_commit(struct merge *m, int pi, char *err, size_t errlen);

/*
 * Commit provider pi's staged rejects alone, its records still staged: a
 * provider that failed for good keeps its last rejects (no retry will
 * read them again).  Best effort: on no memory they are lost.
 */
void merge_keep_rejects(struct merge *m, int pi);

/* Forget what is staged for provider pi.  This function can't fail. */
void merge_discard(struct merge *m, int pi);

/*
 * Provider pi's committed rejects, *len bytes: each REJECT payload after
 * its u32 length (NULL when none).  Owned by the merge.
 */
const unsigned char *merge_rejects(const struct merge *m, int pi,
				   size_t *len);

/*
 * Leave provider pi out of the result (it failed for good under
 * on_error = partial): its partial state is dropped; what it stages from
 * now on is only checked and counted, and its rejects are kept.
 */
void merge_drop(struct merge *m, int pi);

/*
 * Write the result to cfg's output: open, write every row in the contract's
 * order (union: providers in config order, each in source order; group:
 * sorted by the group key), commit.  Returns 0, or -1 with err (an int sum
 * overflow names the aggregate and the group); nothing is left behind then.
 */
int merge_write(struct merge *m, char *err, size_t errlen);

/*
 * merge_write() in two steps, so that several outputs are all written
 * before any is put in place: merge_prepare() writes every row (a file
 * under its temporary name, a table in its open transaction), and
 * merge_finish() commits it (renames the file, commits the transaction);
 * merge_abandon() gives it up instead, leaving the previous output as it
 * was (and is a no-op when nothing is prepared).  Each returns 0, or -1
 * with err; nothing is left behind by a failure.
 */
int merge_prepare(struct merge *m, char *err, size_t errlen);
int merge_finish(struct merge *m, char *err, size_t errlen);
void merge_abandon(struct merge *m);

/*
 * What partial.c saves and loads of a merge: the aggregates (*n of
 * them), the group keys, and provider pi's part (its table in group mode,
 * its spool in union mode), whether it was dropped, and its committed
 * rejects, to which merge_add_rejects() appends p[0..len) (0, or -1 on
 * no memory).  Before the first merge_write() only.
 */
struct gtable;
struct gtable_keys;
struct spool;
const struct st_agg *merge_aggs(const struct merge *m, int *n);
struct gtable_keys *merge_keys(struct merge *m);
struct gtable *merge_part_table(struct merge *m, int pi);
struct spool *merge_part_spool(struct merge *m, int pi);
bool merge_part_dropped(const struct merge *m, int pi);
int merge_add_rejects(struct merge *m, int pi, const unsigned char *p,
		      size_t len);

/* Rows written by the last merge_write (or merge_prepare). */
uint64_t merge_rows_written(const struct merge *m);

void merge_free(struct merge *m);

#ifdef AGG_TESTING
/*
 * Test builds: with general, look every group key up the general way
 * (encoded first), so that a test can compare the fast paths' result with
 * it; keep only hash_mask's bits of every group key's hash (UINT64_MAX:
 * all), so that keys collide and their compares decide.  Call before the
 * first record.
 */
void merge_test_keys(struct merge *m, bool general, uint64_t hash_mask);
#endif

#endif
