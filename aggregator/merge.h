/*
 * merge.h - folding providers' records into the result: union and group.
 *
 * The aggregator calls merge_add() for each record of provider pi once the
 * checkpoint covering it has arrived, in the provider's source order.  To
 * keep the output byte-identical whatever the timing, every provider keeps
 * its own partial state (its spooled records in union mode, its own group
 * table in group mode) and merge_write() combines them in config order:
 * float sums then always add in the same order.  Integer sums are kept in
 * 128 bits and checked for 64-bit overflow when written.
 */
#ifndef AGG_MERGE_H
#define AGG_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ipc/record.h"
#include "../common/config.h"

struct merge;

/* A merge for cfg (mode, schema, group_by, aggregates); NULL on no memory. */
struct merge *merge_new(const struct cfg *cfg);

/*
 * Fold one record of provider pi (v: cfg->schema.nfields values; text is
 * copied).  Returns 0, or -1 with err (out of memory, spool write error).
 */
int merge_add(struct merge *m, int pi, const struct rec_value *v, char *err,
	      size_t errlen);

/*
 * Staging in the merge.  In group mode, when every aggregate reads either
 * nothing (count(*)), only whether a field is NULL (count), or a fixed-size
 * value (sum, avg, min, max of int, float, bool, timestamp), merge_stages()
 * is true and the aggregator hands each RECORDS payload to merge_stage() as
 * it arrives, instead of keeping the raw bytes until their checkpoint: one
 * walk checks and decodes every record, finds or creates its group in
 * provider pi's table and keeps only the group and the aggregates' inputs.
 * merge_commit() folds what is staged, in arrival order (so float sums add
 * in the same order as merge_add() would), when the checkpoint comes;
 * merge_discard() forgets it when the attempt dies.  A group that only
 * uncommitted records created stays in the table without a committed
 * record: it is left out of the result.  merge_add() and staging are not
 * meant to be mixed for one provider.
 *
 * Test builds: AGG_STAGE=raw in the environment makes merge_stages() false,
 * so that a test can compare both paths.
 */
bool merge_stages(const struct merge *m);

/*
 * Stage the count records of recs[0..len) (a RECORDS payload in private
 * memory) for provider pi.  Returns 0; 1 when the bytes are not exactly
 * count well-formed records of the schema (rec_decode()'s verdict: the
 * reason in err, nothing of the frame staged); or -1 with err (out of
 * memory, or the result already written).
 */
int merge_stage(struct merge *m, int pi, const unsigned char *recs,
		size_t len, uint32_t count, char *err, size_t errlen);

/*
 * Fold everything staged for provider pi, in the order it was staged.
 * Returns 0, or -1 with err (out of memory).
 */
int merge_commit(struct merge *m, int pi, char *err, size_t errlen);

/* Forget what is staged for provider pi.  This function can't fail. */
void merge_discard(struct merge *m, int pi);

/*
 * Leave provider pi out of the result (it failed for good under
 * on_error = partial): its partial state is dropped.
 */
void merge_drop(struct merge *m, int pi);

/*
 * Write the result to cfg's output: open, write every row in the contract's
 * order (union: providers in config order, each in source order; group:
 * sorted by the group key), commit.  Returns 0, or -1 with err (an int sum
 * overflow names the aggregate and the group); nothing is left behind then.
 */
int merge_write(struct merge *m, char *err, size_t errlen);

/* Rows written by the last merge_write. */
uint64_t merge_rows_written(const struct merge *m);

void merge_free(struct merge *m);

#ifdef AGG_TESTING
/*
 * Test builds: with general, look every group key up the general way
 * (encoded first), so that a test can compare the fast paths' result with
 * it; keep only hash_mask's bits of every group key's hash (UINT64_MAX:
 * all), so that keys collide and their compares decide.  Call before the
 * first merge_add().
 */
void merge_test_keys(struct merge *m, bool general, uint64_t hash_mask);
#endif

#endif
