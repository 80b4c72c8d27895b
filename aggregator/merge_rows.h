/*
 * merge_rows.h - the rows of a grouped result, made from the sorted groups
 * (merge.c's write_group()) and written on one thread or two.
 *
 * A large result with no having, order or limit, to a byte-stream output
 * (CSV, JSON Lines), is formatted by two threads: the rows go in chunks,
 * every other chunk formatted by a worker thread into one of a few buffers
 * of its own while the calling thread formats the chunks in between
 * straight into the writer, and writes each of the worker's chunks through
 * the writer in turn.  The bytes are the same as one thread's, in the same
 * order; memory stays bounded (the worker waits when its buffers are all
 * full).  Everything else (tables, post-processing, small results) writes
 * the rows on the calling thread.
 *
 * Threads: the worker only reads the groups, the aggregates and the writer
 * (out_format_row()); it has its own row and buffers, blocks every signal
 * (they stay the calling thread's) and is joined before merge_rows_write()
 * returns, on every path.  Nothing here forks.
 *
 * Errors: as out_row()'s, from the calling thread: a failed write or a stop
 * gives up the rest (the caller aborts the writer); no memory for the
 * worker's buffers (or for a long row's spill) is "out of memory writing
 * the output".  A worker that cannot start is no error: the calling thread
 * formats every chunk.
 */
#ifndef AGG_MERGE_ROWS_H
#define AGG_MERGE_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ipc/record.h"
#include "output.h"
#include "state.h"

/* A group on its way out, with its key decoded for sorting and writing. */
struct out_group {
	const struct group *g;
	struct rec_value *kv; /* the key's values */
};

/* What the rows are made of; read only while they are written. */
struct merge_rows {
	const struct out_group *gs;
	size_t n;
	int nkeys;               /* values of each kv */
	const struct st_agg *aggs;
	int naggs;
};

/*
 * One-key results: gs[i] = order[i] with its key decoded into kv[i], on
 * two threads when n is large (split2.h).  -1 when a key is corrupt (one
 * that does not decode, or a NULL but last).
 */
int merge_rows_decode(const struct rec_schema *ks,
		      const struct group *const *order, size_t n,
		      struct out_group *gs, struct rec_value *kv);

/* Group i's row into row[0 .. nkeys + naggs): its key, then its results. */
void merge_rows_fill(const struct merge_rows *r, size_t i,
		     struct rec_value *row);

/*
 * Whether merge_rows_write() would use two threads for r to w: a byte
 * stream, no statistic (a percentile may read its spill file), and at
 * least split2_wanted() rows.
 */
bool merge_rows_parallel(const struct out_writer *w,
			 const struct merge_rows *r);

/*
 * Write r's rows to w on two threads (merge_rows_parallel() true).
 * Returns 0, or -1 with err; the writer is left to the caller (which
 * aborts it on -1).  *written: the rows handed to w.
 */
int merge_rows_write(struct out_writer *w, const struct merge_rows *r,
		     uint64_t *written, char *err, size_t errlen);

#endif
