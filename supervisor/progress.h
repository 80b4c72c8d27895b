/*
 * progress.h - live per-provider progress lines on a terminal (--progress).
 *
 * The supervisor owns the one struct progress of a run.  It tells it each
 * provider's state and counts (progress_set, progress_records: the counts
 * come from the aggregator's CTL_PROGRESS messages and CTL_ENDED) and calls
 * progress_draw() from its loop; the block is redrawn at most every
 * PROGRESS_INTERVAL_MS.
 *
 * The block is redrawn in place: it is written in one write(2) as
 * "erase to end of screen, the lines, cursor up to the block's first line",
 * so the cursor always rests on the block's first line.  Every log line of
 * every process starts with "erase to end of screen" while progress is on
 * (log_set_redraw), so a log line replaces the block where it stands and
 * the next draw puts the block back below it: no line is lost or garbled.
 * Lines are cut to the terminal's width so that each takes one row.
 *
 * Not for use across processes; no function fails the run (a write error
 * only stops the drawing).
 */
#ifndef AGG_PROGRESS_H
#define AGG_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/config.h"

/* Redraws at most this often (ms). */
#define PROGRESS_INTERVAL_MS 250

struct progress;

/*
 * A progress block for cfg's providers (cfg must outlive it; index i is
 * cfg->providers[i]), drawn on fd.  Returns NULL when out of memory.
 */
struct progress *progress_new(int fd, const struct cfg *cfg);

/*
 * Provider i's state ("waiting", "running", "backoff", "done", "failed",
 * "stopped"; NULL: not shown), restarts so far, and a count of records it
 * is known to have had counted (kept only if higher than the last one).
 */
void progress_set(struct progress *pg, int i, const char *state, int restarts,
		  uint64_t records);

/* Records counted for provider i so far (CTL_PROGRESS). */
void progress_records(struct progress *pg, int i, uint64_t records);

/*
 * Records provider i's `where` dropped so far (CTL_PROGRESS and CTL_ENDED
 * carry it; kept only if higher).  A line shows "filtered N" once this
 * was called for it, so a config without a where, or a caller that never
 * tells, draws the line as before.
 */
void progress_filtered(struct progress *pg, int i, uint64_t filtered);

/* Redraw if PROGRESS_INTERVAL_MS have passed since the last draw, or force. */
void progress_draw(struct progress *pg, bool force);

/* Erase the block (before the summary); drawing stops. */
void progress_end(struct progress *pg);

/* Free; NULL is fine. */
void progress_free(struct progress *pg);

#endif
