/*
 * sup_trace.h - what the supervisor records in the run's trace (--trace,
 * common/trace.h): it alone sees every process spawn and die, so each
 * track's lifetime span, names and causes of death come from here, and a
 * provider killed with SIGKILL still has a whole track.
 *
 *   provider track   "provider NAME attempt N": a span "attempt N" from
 *                    fork to reaping, its args the cause of death (and the
 *                    supervisor's reason when it killed it); an instant
 *                    "restarted" at its start with the previous attempt's
 *                    cause and the backoff; "killed" instants
 *   aggregator track a span "aggregator" from fork to reaping
 *   supervisor track the span "run", a "backoff NAME" span before each
 *                    restart, instants for signals, stalls, the deadline,
 *                    the end of each provider ("done", "failed") and of
 *                    the run ("finish", "finished")
 *
 * Every function does nothing when tracing is off; callers call them at
 * the transitions of sup.c's state machine, never per record.
 */
#ifndef AGG_SUP_TRACE_H
#define AGG_SUP_TRACE_H

#include <sys/types.h>

#include "sup_child.h"
#include "sup_state.h"

/* Provider i's process pid was forked at start_us (clock_us()). */
void sup_trace_spawned(const struct sup *s, int i, pid_t pid,
		       uint64_t start_us);

/* Provider i's process was reaped (c->status set, its pid still given). */
void sup_trace_reaped(const struct sup *s, int i, pid_t pid);

/* The aggregator, forked at start_us, was reaped with wait status status. */
void sup_trace_agg_reaped(const struct sup *s, uint64_t start_us, int status);

/* CTL_ENDED made end of provider i's attempt. */
void sup_trace_ended(const struct sup *s, int i, enum sup_end end);

/* c's process is being killed (SIGKILL) because of cause: the first time. */
void sup_trace_kill(const struct child *c, const char *cause);

#endif
