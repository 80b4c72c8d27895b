/*
 * sup_state.h - struct sup, the supervisor's state for one run, shared by
 * the files of the supervisor loop (sup.c) and its forks (sup_spawn.c).
 * Nothing else includes it.  sup_run() owns it, on its stack, with every
 * descriptor and array it points to.
 */
#ifndef AGG_SUP_STATE_H
#define AGG_SUP_STATE_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../ipc/ctl.h"
#include "../ipc/ring.h"
#include "sup.h"
#include "sup_child.h"

/* A range's end held back (sup.c, hold_end()): cut, done (its log), or m. */
struct held_end {
	bool on, cut, done;
	struct ctl_msg m;
};

struct sup {
	const struct cfg *cfg;
	const struct sup_opts *opts;
	struct child *ch;
	struct ring *rings;
	int n;                  /* cfg->nproviders */
	int ctl_fd;             /* non-blocking, see struct ctl_queue */
	struct ctl_queue out;   /* messages to the aggregator not sent yet */
	int agg_hb_fd;          /* read end of the aggregator's heartbeat */
	uint64_t agg_beat;      /* ms, its last heartbeat */
	int sig_fd;
	pid_t agg_pid;
	uint64_t agg_start_us;  /* its fork, for --trace */
	int agg_status;
	bool agg_reaped;
	bool finishing;         /* CTL_FINISH sent */
	bool finished;          /* CTL_FINISHED received */
	bool written;           /* ... and the output was written */
	uint64_t rows;
	bool aborting;
	int exit_code;
	uint64_t t0;
	uint64_t deadline;      /* ms, 0 = none */
	pid_t self;
	unsigned rng;
	/*
	 * The poll set, kept here rather than only in sup_run's locals: a
	 * forked child that _exits deep in a call still has this struct in
	 * its stack, so valgrind finds the blocks reachable, not lost.
	 */
	struct pollfd *fds;
	int *owner;
	struct held_end *held;  /* parallel: s->n of them, or NULL */
	int nheld;
};

#endif
