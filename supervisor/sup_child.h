/*
 * sup_child.h - the supervisor's private record of each provider (one
 * struct child per provider: the process table) and the restart policy
 * that reads it: how a wait status is told, whether an ended attempt is
 * the last, how long a restart waits, how a stalled provider is killed,
 * and the end-of-run counts drawn from the table.
 *
 * Only the supervisor includes this.  Nothing here reads shared memory: a
 * row changes on waitpid(), a heartbeat or a message from the aggregator,
 * so a provider that scribbles over its ring cannot mislead the table.
 * The table (an array of cfg->nproviders rows) belongs to sup_run().  No
 * function here fails; text goes into caller buffers, NUL-terminated.
 */
#ifndef AGG_SUP_CHILD_H
#define AGG_SUP_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/config.h"
#include "../ipc/ctl.h"
#include "../providers/provider.h"
#include "metrics.h"

/* A provider's state: the machine drawn at the top of sup.c. */
enum pstate { P_OFF, P_WAITING, P_STARTING, P_RUNNING, P_ENDING, P_BACKOFF,
	      P_DONE, P_FAILED, P_STOPPED };

struct child {
	enum pstate state;
	pid_t pid;
	int hb_fd;              /* read end of the heartbeat pipe, -1: none */
	uint16_t attempt;
	int restarts;           /* restarts so far, for the log and summary */
	int streak;             /* failures since the last healthy attempt */
	uint64_t last_beat;     /* ms */
	uint64_t backoff_until; /* ms */
	uint64_t started;       /* ms, first attempt */
	uint64_t finished;      /* ms */
	int status;             /* last wait status */
	bool permanent;         /* exited with PROV_FAIL_PERMANENT or _CONFIG */
	bool config_error;      /* exited with PROV_FAIL_CONFIG: the run is 78 */
	char kill_cause[64];    /* why we killed it, "" if we did not */
	uint64_t records, rejects;
	uint64_t filtered;      /* records a `where` dropped */
	unsigned char token[PROV_TOKEN_MAX];
	uint32_t token_len;
	char cause[CTL_TEXT_MAX];
	/* --trace (sup_trace.c): the attempt's process and times, in us */
	pid_t trace_pid;
	uint64_t trace_start_us, trace_ended_us;
	char trace_backoff_ms[24];
};

/* Describe a wait status for the log: "exit status 1", "killed by SIGSEGV". */
void sup_child_describe(int status, char *out, size_t len);

/*
 * Record that c's process was reaped with wait status status: no pid, the
 * status and whether it failed for good, its heartbeat pipe closed.  The
 * state is the caller's to set.
 */
void sup_child_reaped(struct child *c, int status);

/*
 * c was reaped after its DONE was folded (CTL_DONE came first): say so if
 * it ended badly on its way out.  It stays DONE.
 */
void sup_child_done_reaped(const struct child *c,
			   const struct cfg_provider *p);

/*
 * The flag of CTL_END for the attempt of c that just ended, given its
 * provider's `restart` key: CTL_END_FINAL, CTL_END_FINAL_UNLESS_PROGRESS
 * or 0 (see the restart policy in sup_child.c).
 */
uint32_t sup_child_end_flag(const struct child *c, int restart);

/* Log "finished" with c's counts (c is P_DONE). */
void sup_child_log_done(const struct child *c, const struct cfg *cfg,
			const struct cfg_provider *p);

/* What CTL_ENDED made of an attempt (sup_child_ended). */
enum sup_end {
	SUP_END_DONE,           /* finished: DONE was folded */
	SUP_END_FAILED,         /* failed for good: the caller applies on_error */
	SUP_END_RESTART,        /* in P_BACKOFF until c->backoff_until */
};

/*
 * Apply the aggregator's CTL_ENDED m to c (provider p of cfg): take its
 * counts and resume token, decide between done, failed and a restart with
 * its backoff (jittered from *rng), move c to P_DONE, P_FAILED or
 * P_BACKOFF and log "failed" or "restarted" ("finished" is the caller's:
 * sup_child_log_done()).
 */
enum sup_end sup_child_ended(struct child *c, const struct cfg *cfg,
			     const struct cfg_provider *p,
			     const struct ctl_msg *m, unsigned *rng);

/*
 * SIGKILL c's running process, keeping the first cause given for the
 * log.  Nothing when it is not running.
 */
void sup_child_kill(struct child *c, const char *cause);

/* Kill c as stalled: no progress for ms milliseconds. */
void sup_child_kill_stalled(struct child *c, uint64_t ms);

/* The state a user reads for a provider ("running", ...); NULL: not shown. */
const char *sup_child_state_name(enum pstate st);

/*
 * Fill stats[0..n) (struct metrics_prov) from the table ch of n rows, at
 * the end of a run: status NULL for a provider that did not run.
 */
void sup_child_stats(const struct child *ch, int n, struct metrics_prov *stats);

/* Whether a `where` of cfg (global or a provider's) can drop records. */
bool sup_child_any_where(const struct cfg *cfg);

/*
 * Print the summary table of ch (n rows, providers of cfg) on stderr,
 * with the run's total time since t0 (ms) and rows written.
 */
void sup_child_summary(const struct child *ch, int n, const struct cfg *cfg,
		       uint64_t t0, uint64_t rows);

#endif
