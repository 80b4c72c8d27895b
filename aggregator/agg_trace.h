/*
 * agg_trace.h - what the aggregator records in the run's trace (--trace,
 * common/trace.h): a span per checkpoint folded, a sample of each ring's
 * fill at every heartbeat (about twice a second), and the output's write
 * and commit.  Callers of the first two test trace_on first; nothing here
 * runs per record.
 */
#ifndef AGG_AGG_TRACE_H
#define AGG_AGG_TRACE_H

#include <stdint.h>

#include "../common/config.h"
#include "../ipc/ring.h"
#include "merge.h"

/* The fold of provider pi's stage (records of them), begun at t0_us. */
void agg_trace_fold(const struct cfg *cfg, int pi, uint64_t t0_us,
		    uint64_t records);

/* A sample of provider pi's ring (NULL: not running now). */
void agg_trace_ring(const struct cfg *cfg, int pi, const struct ring *r);

/*
 * merge_prepare() and merge_finish() of merge m, the output of view v,
 * each a span when tracing ("write NAME", "commit NAME"; NAME "output"
 * for the [aggregate] output).  Return what they return.
 */
int agg_trace_prepare(struct merge *m, const struct cfg *v, char *err,
		      size_t len);
int agg_trace_finish(struct merge *m, const struct cfg *v, char *err,
		     size_t len);

#endif
