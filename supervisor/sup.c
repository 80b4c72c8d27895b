/*
 * sup.c - the supervisor (see sup.h and DESIGN "Processes").
 *
 * Like PostgreSQL's postmaster it stays out of the data path: it keeps a
 * private table of its children and learns about providers only from
 * waitpid(), their heartbeat pipes and the aggregator's control messages,
 * never from shared memory.  Signals arrive through a signalfd, so the
 * whole supervisor is one poll() loop with no work in signal handlers.
 *
 * A provider moves through these states:
 *
 *   WAITING --(slot free: CTL_START, fork)--> RUNNING
 *   RUNNING --(reaped: CTL_END)--> ENDING --(CTL_ENDED)--> DONE | FAILED
 *                                                      \--> BACKOFF
 *   BACKOFF --(delay over)--> STARTING --(CTL_STARTED: fork)--> RUNNING
 *
 * A provider is restarted only after the aggregator has confirmed, with
 * CTL_ENDED, that its ring is drained and what the dead attempt left
 * unconfirmed is dropped; the next attempt resumes from the token that
 * message carries.  That keeps every record counted exactly once.
 *
 * A first attempt is forked together with its CTL_START, not after the
 * CTL_STARTED: its ring is the one setup() created, which no process has
 * written yet, so there is nothing for the aggregator to reset, and what
 * the provider publishes before the aggregator reads CTL_START waits in the
 * ring (a full ring blocks it).  Its library loads and its first requests
 * go out while the aggregator starts.  A restart still waits for
 * CTL_STARTED: that ring holds what the dead attempt left.
 *
 * A provider is DONE as soon as the aggregator has folded its DONE frame
 * and says so (CTL_DONE), which may be before its process has exited: the
 * output is written while it unloads its libraries and closes its
 * connections.  Such a process is reaped as usual, without a CTL_END
 * (there is nothing left in its ring to count), before the run ends.
 *
 * This file is the loop: the poll set, the control messages, reaping,
 * signals, timers and the end of the run.  The process table and the
 * restart policy are in sup_child.c, the forks in sup_spawn.c, the checks
 * of room before a run in sup_room.c; struct sup is in sup_state.h.
 */
#include "sup.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../ipc/ring.h"
#include "../ipc/shm.h"
#include "../ipc/ctl.h"
#include "../common/clock.h"
#include "../common/log.h"
#include "../common/proctitle.h"
#include "../common/trace.h"
#include "sup_child.h"
#include "sup_room.h"
#include "sup_spawn.h"
#include "sup_state.h"
#include "sup_trace.h"

/* After SIGTERM, children get this long before SIGKILL (ms). */
#define GRACE_MS 3000

static const char *pname(const struct sup *s, int i)
{
	return s->cfg->providers[i].name;
}

static void begin_abort(struct sup *s, int code, bool keep_rejects);

/* The control socket failed (errno): the aggregator cannot be reached. */
static void ctl_failed(struct sup *s)
{
	if (s->aborting)
		return;
	log_event(LOG_ERROR, NULL, "aggregator unreachable", "cause",
		  strerror(errno), NULL);
	begin_abort(s, EXIT_FAILED, false);
}

/* Send a message now, or queue it until the socket takes it (ctl.h). */
static void send_ctl(struct sup *s, uint32_t type, int i, uint32_t attempt,
		     uint32_t flag)
{
	struct ctl_msg m = { .type = type, .provider = i, .attempt = attempt,
			     .flag = flag };

	if (s->ctl_fd < 0)
		return;
	if (ctl_queue_send(s->ctl_fd, &s->out, &m) < 0)
		ctl_failed(s);
}

static void start_attempt(struct sup *s, int i)
{
	struct child *c = &s->ch[i];

	c->attempt++;
	if (c->started == 0)
		c->started = clock_ms();
	c->state = P_STARTING;
	send_ctl(s, CTL_START, i, c->attempt, 0);
	/* A fresh ring needs no reset: fork now (see the top). */
	if (c->attempt == 1 && !s->aborting)
		sup_spawn_provider(s, i);
}

static int active_slots(const struct sup *s)
{
	int n = 0;

	for (int i = 0; i < s->n; i++)
		if (s->ch[i].state >= P_STARTING && s->ch[i].state <= P_BACKOFF)
			n++;
	return n;
}

/* Start waiting providers while the -j limit allows. */
static void fill_slots(struct sup *s)
{
	int jobs = s->opts->jobs > 0 ? s->opts->jobs : s->n;

	for (int i = 0; i < s->n && active_slots(s) < jobs; i++)
		if (s->ch[i].state == P_WAITING)
			start_attempt(s, i);
}

static bool all_settled(const struct sup *s)
{
	for (int i = 0; i < s->n; i++)
		if (s->ch[i].state != P_OFF && s->ch[i].state != P_DONE &&
		    s->ch[i].state != P_FAILED && s->ch[i].state != P_STOPPED)
			return false;
	return true;
}

/*
 * Stop the run: providers get SIGTERM.  When a provider failed for good
 * (keep_rejects) the aggregator is asked to finish without output, so the
 * reject file still tells what went wrong; otherwise it is stopped too.
 */
static void begin_abort(struct sup *s, int code, bool keep_rejects)
{
	if (s->aborting)
		return;
	s->aborting = true;
	s->exit_code = code;
	if (trace_on) {
		char num[16];

		snprintf(num, sizeof num, "%d", code);
		trace_instant("abort", "exit_status", num, NULL);
	}
	for (int i = 0; i < s->n; i++)
		if (s->ch[i].state == P_RUNNING && s->ch[i].pid > 0)
			kill(s->ch[i].pid, SIGTERM);
	if (keep_rejects && s->ctl_fd >= 0 && !s->finishing && !s->agg_reaped) {
		s->finishing = true;
		send_ctl(s, CTL_FINISH, -1, 0, 0);
		return;
	}
	if (s->agg_pid > 0 && !s->agg_reaped)
		kill(s->agg_pid, SIGTERM);
}

/* True when the main loop has nothing more to wait for. */
static bool run_over(const struct sup *s)
{
	if (s->agg_reaped || s->ctl_fd < 0)
		return true;
	if (s->finishing)
		return s->finished;
	return s->aborting;
}

static bool hold_end(struct sup *s, int i, const struct ctl_msg *m,
		     bool done);
static void release_held(struct sup *s);

/*
 * CTL_ENDED m, taken now: the restart policy (sup_child.c) decides; one
 * failed for good stops the run or is dropped, as on_error says.
 */
static void take_end(struct sup *s, const struct ctl_msg *m)
{
	int i = m->provider;
	struct child *c = &s->ch[i];
	enum sup_end end;

	end = sup_child_ended(c, s->cfg, &s->cfg->providers[i], m, &s->rng);
	sup_trace_ended(s, i, end);
	if (end == SUP_END_DONE && !hold_end(s, i, m, true))
		sup_child_log_done(c, s->cfg, &s->cfg->providers[i]);
	if (end == SUP_END_FAILED) {
		if (s->cfg->on_error == CFG_ON_ERROR_FAIL)
			begin_abort(s, c->config_error ? EXIT_CONFIG
						       : EXIT_FAILED, true);
		else
			send_ctl(s, CTL_DROP, i, c->attempt, 0);
	}
	if (s->nheld > 0 && end != SUP_END_RESTART)
		release_held(s);
}

/* CTL_ENDED: the aggregator drained the ring of the attempt that ended. */
static void on_ended(struct sup *s, const struct ctl_msg *m)
{
	if (!hold_end(s, m->provider, m, false))
		take_end(s, m);
}

/*
 * parallel (par.h): past an unsure cut (in a CSV file with quotes) a
 * range may have read from a wrong start, so what it says waits until
 * every range before it has ended, to be taken in order: that it stopped
 * inside a quoted field (exit PROV_FAIL_CUT: its cut is wrong if its start
 * was right), a failure for good, the "finished" line of one done.  So a
 * failure counts only once it is real, the cut reported is the first
 * wrong one, and nothing of a void attempt is logged.  True when held.
 */
static bool hold_end(struct sup *s, int i, const struct ctl_msg *m,
		     bool done)
{
	const struct cfg_provider *p = &s->cfg->providers[i];
	const struct child *c = &s->ch[i];
	bool cut = WIFEXITED(c->status) &&
		   WEXITSTATUS(c->status) == PROV_FAIL_CUT, unsure = false;

	if (p->whole == NULL || (!done && (m->flag & CTL_ENDED_DONE)))
		return false;
	for (int j = i - p->range; j <= i; j++)
		unsure = unsure || s->cfg->providers[j].range_unsure;
	if (!cut && !(unsure && (done || c->permanent)))
		return false;
	if (s->held == NULL)
		s->held = calloc((size_t)s->n, sizeof *s->held);
	if (s->held == NULL)
		return false;
	s->held[i] = (struct held_end){ .on = true, .cut = cut && !done,
					.done = done, .m = *m };
	s->nheld++;
	if (!done)
		release_held(s);
	return true;
}

/*
 * Take the held ends whose ranges before them have all ended, lowest
 * first: a cut inside quotes abandons the run (sup_opts.cut: main.c runs
 * it again, the file read whole); the others go on as they would have.
 */
static void release_held(struct sup *s)
{
	for (int i = 0; i < s->n && s->nheld > 0 && !s->aborting; i++) {
		struct held_end h;
		bool ready = true;

		if (s->held == NULL || !s->held[i].on)
			continue;
		for (int j = i - s->cfg->providers[i].range; j < i; j++)
			ready = ready && (s->ch[j].state == P_DONE ||
					  s->ch[j].state == P_FAILED);
		if (!ready)
			continue;
		h = s->held[i];
		s->held[i].on = false;
		s->nheld--;
		if (h.done) {
			sup_child_log_done(&s->ch[i], s->cfg,
					   &s->cfg->providers[i]);
		} else if (h.cut) {
			s->ch[i].state = P_STOPPED;
			if (s->opts->cut)
				*s->opts->cut = i;
			begin_abort(s, EXIT_FAILED, false);
		} else {
			take_end(s, &h.m);
		}
	}
}

/* Handle one control message.  Returns 1 if there was one, else 0. */
static int on_ctl(struct sup *s)
{
	struct ctl_msg m;
	int rc = ctl_recv(s->ctl_fd, &m);

	if (rc <= 0) {
		if (rc == 0 || errno != EAGAIN) {
			/* The aggregator is gone; its reaping decides. */
			close(s->ctl_fd);
			s->ctl_fd = -1;
		}
		return 0;
	}
	if (m.type != CTL_FINISHED && m.type != CTL_FATAL &&
	    (m.provider < 0 || m.provider >= s->n))
		return 1;
	switch (m.type) {
	case CTL_STARTED:
		if (s->ch[m.provider].state == P_STARTING && !s->aborting &&
		    !s->agg_reaped)
			sup_spawn_provider(s, m.provider);
		break;
	case CTL_ENDED:
		if (s->ch[m.provider].state == P_ENDING)
			on_ended(s, &m);
		break;
	case CTL_DONE:
		/* Finished; the process may still be exiting (see the top). */
		if ((s->ch[m.provider].state == P_RUNNING ||
		     s->ch[m.provider].state == P_ENDING) &&
		    m.attempt == s->ch[m.provider].attempt)
			on_ended(s, &m);
		break;
	case CTL_BAD:
		log_event(LOG_WARN, pname(s, m.provider), "bad frame", "cause",
			  m.text, NULL);
		sup_child_kill(&s->ch[m.provider], m.text);
		break;
	case CTL_FINISHED:
		s->finished = true;
		s->written = m.flag;
		s->rows = m.records;
		if (trace_on)
			trace_instant("finished", "written", m.flag ? "yes" : "no",
				      "cause", m.text[0] ? m.text : NULL, NULL);
		if (m.text[0])
			log_event(LOG_ERROR, NULL, "output failed", "cause", m.text,
				  NULL);
		break;
	case CTL_FATAL:
		begin_abort(s, EXIT_FAILED, false);
		break;
	case CTL_PROGRESS:
		progress_records(s->opts->progress_block, m.provider, m.records);
		if (sup_child_any_where(s->cfg))
			progress_filtered(s->opts->progress_block, m.provider,
					  m.filtered);
		break;
	default:
		break;
	}
	return 1;
}

/*
 * Handle every control message waiting.  Whatever the aggregator sent
 * before it exited is still in the socket when its SIGCHLD is seen, so
 * this runs before its death is judged: a FINISHED read late is not an
 * "aggregator died".
 */
static void drain_ctl(struct sup *s)
{
	struct pollfd pfd = { .events = POLLIN };

	/* The socket blocks: read only what is there now. */
	do {
		pfd.fd = s->ctl_fd;
	} while (s->ctl_fd >= 0 && poll(&pfd, 1, 0) > 0 && on_ctl(s));
}

/*
 * Reap every child that exited: the aggregator's status is kept for the
 * end of the run; a provider's attempt goes to P_ENDING and the aggregator
 * is told with CTL_END (or, in an abort, it is P_STOPPED).
 */
static void reap(struct sup *s)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == s->agg_pid) {
			s->agg_reaped = true;
			s->agg_status = status;
			sup_trace_agg_reaped(s, s->agg_start_us, status);
			continue;
		}
		for (int i = 0; i < s->n; i++) {
			struct child *c = &s->ch[i];

			if (c->pid != pid)
				continue;
			sup_child_reaped(c, status);
			sup_trace_reaped(s, i, pid);
			if (c->state == P_DONE) {
				/* Its DONE came first: nothing to drain. */
				sup_child_done_reaped(c, &s->cfg->providers[i]);
				continue;
			}
			if (s->aborting) {
				/* Stopped by the abort, not failed by itself. */
				if (c->state != P_FAILED)
					c->state = P_STOPPED;
				continue;
			}
			c->state = P_ENDING;
			send_ctl(s, CTL_END, i, c->attempt,
				 sup_child_end_flag(c,
						    s->cfg->providers[i].restart));
		}
	}
}

static int on_signal(struct sup *s)
{
	struct signalfd_siginfo si;

	while (read(s->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGCHLD) {
			reap(s);
		} else if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
			log_event(LOG_WARN, NULL, "stopping", "signal",
				  si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM",
				  NULL);
			if (trace_on)
				trace_instant("signal", "signal",
					      si.ssi_signo == SIGINT ? "SIGINT"
								     : "SIGTERM",
					      NULL);
			begin_abort(s, si.ssi_signo == SIGINT ? EXIT_SIGINT
							      : EXIT_SIGTERM, false);
		}
	}
	return 0;
}

/* Is the aggregator's heartbeat watched now? */
static bool agg_watched(const struct sup *s)
{
	return s->agg_pid > 0 && !s->agg_reaped && !s->finishing &&
	       !s->aborting && s->agg_hb_fd >= 0;
}

/* Fork a pending failed fork, check stalls, backoffs and the deadline. */
static void on_timers(struct sup *s)
{
	uint64_t now = clock_ms();

	if (s->deadline && now >= s->deadline && !s->aborting) {
		log_event(LOG_ERROR, NULL, "timeout", "cause",
			  "the run's deadline passed", NULL);
		if (trace_on)
			trace_instant("timeout", "cause",
				      "the run's deadline passed", NULL);
		begin_abort(s, EXIT_FAILED, false);
	}
	/*
	 * A hung aggregator (stopped, looping, blocked) beats no more.  Not
	 * while it writes the output: that takes as long as it takes, and
	 * the run's timeout bounds it.
	 */
	if (agg_watched(s) && now - s->agg_beat >= s->cfg->stall_timeout_ms) {
		log_event(LOG_ERROR, NULL, "aggregator stalled", "cause",
			  "no heartbeat within stall_timeout", NULL);
		if (trace_on)
			trace_instant_for(s->agg_pid, "killed", clock_us(), "cause",
					  "stalled: no heartbeat within "
					  "stall_timeout", NULL);
		kill(s->agg_pid, SIGKILL); /* SIGTERM would wait for SIGCONT */
		begin_abort(s, EXIT_FAILED, false);
	}
	for (int i = 0; i < s->n; i++) {
		struct child *c = &s->ch[i];
		const struct cfg_provider *p = &s->cfg->providers[i];

		if (c->state == P_BACKOFF && now >= c->backoff_until &&
		    !s->aborting)
			start_attempt(s, i);
		else if (c->state == P_RUNNING && c->pid > 0 &&
			 now - c->last_beat >= p->stall_timeout_ms)
			sup_child_kill_stalled(c, p->stall_timeout_ms);
		else if (c->state == P_RUNNING && c->pid < 0) {
			/* fork failed: handle as a crash of this attempt */
			c->status = 1 << 8;
			c->state = P_ENDING;
			send_ctl(s, CTL_END, i, c->attempt, 0);
		}
	}
}

static int next_timeout(const struct sup *s)
{
	uint64_t now = clock_ms(), t = now + 1000;

	if (s->opts->progress_block)
		t = now + PROGRESS_INTERVAL_MS;
	if (s->deadline && s->deadline < t)
		t = s->deadline;
	if (agg_watched(s) && s->agg_beat + s->cfg->stall_timeout_ms < t)
		t = s->agg_beat + s->cfg->stall_timeout_ms;
	for (int i = 0; i < s->n; i++) {
		const struct child *c = &s->ch[i];

		if (c->state == P_BACKOFF && c->backoff_until < t)
			t = c->backoff_until;
		if (c->state == P_RUNNING) {
			uint64_t st = c->last_beat +
				      s->cfg->providers[i].stall_timeout_ms;
			if (st < t)
				t = st;
		}
	}
	return t <= now ? 0 : (int)(t - now);
}

static void drain_heartbeat(struct child *c)
{
	char buf[256];

	while (read(c->hb_fd, buf, sizeof buf) > 0)
		;
	c->last_beat = clock_ms();
}

/* The aggregator beat, or closed its end (it is exiting: reaping decides). */
static void on_agg_beat(struct sup *s)
{
	char buf[256];
	ssize_t n;

	while ((n = read(s->agg_hb_fd, buf, sizeof buf)) > 0)
		s->agg_beat = clock_ms();
	if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		close(s->agg_hb_fd);
		s->agg_hb_fd = -1;
	}
}

/* --progress: hand the states to the progress block and let it redraw. */
static void show_progress(struct sup *s, bool force)
{
	if (s->opts->progress_block == NULL || s->ch == NULL)
		return;
	bool where = sup_child_any_where(s->cfg);

	for (int i = 0; i < s->n; i++) {
		progress_set(s->opts->progress_block, i,
			     sup_child_state_name(s->ch[i].state),
			     s->ch[i].restarts, s->ch[i].records);
		if (where)
			progress_filtered(s->opts->progress_block, i,
					  s->ch[i].filtered);
	}
	progress_draw(s->opts->progress_block, force);
}

/* Wait for every child to be reaped, escalating to SIGKILL after a grace. */
static void wait_all(struct sup *s)
{
	uint64_t until = clock_ms() + GRACE_MS;
	bool killed = false;

	for (;;) {
		bool left = s->agg_pid > 0 && !s->agg_reaped;

		for (int i = 0; i < s->n; i++)
			if (s->ch[i].pid > 0)
				left = true;
		if (!left)
			return;
		if (!killed && clock_ms() >= until) {
			for (int i = 0; i < s->n; i++)
				if (s->ch[i].pid > 0)
					kill(s->ch[i].pid, SIGKILL);
			if (!s->agg_reaped)
				kill(s->agg_pid, SIGKILL);
			killed = true;
		}
		struct pollfd pfd = { .fd = s->sig_fd, .events = POLLIN };

		uint64_t now = clock_ms();

		(void)poll(&pfd, 1, killed ? 1000
				   : now >= until ? 0 : (int)(until - now) + 1);
		on_signal(s);
	}
}

/*
 * Signals, the tables and every enabled provider's ring.  Returns 0, -1
 * with errno, or -2 when the reason has been logged already.
 */
static int setup(struct sup *s)
{
	sigset_t set;
	int nrings = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	s->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sig_fd < 0)
		return -1;
	s->ch = calloc((size_t)s->n, sizeof *s->ch);
	s->rings = calloc((size_t)s->n, sizeof *s->rings);
	if (s->ch == NULL || s->rings == NULL)
		return -1;
	for (int i = 0; i < s->n; i++) {
		s->ch[i].hb_fd = -1;
		if (s->opts->tokens) { /* an incremental run's bookmark */
			s->ch[i].token_len = s->opts->tokens[i].len;
			memcpy(s->ch[i].token, s->opts->tokens[i].b,
			       s->opts->tokens[i].len);
		}
		s->rings[i].data_fd = s->rings[i].space_fd = -1;
		nrings += s->cfg->providers[i].enabled;
	}
	if (sup_room_fds(nrings) < 0 ||
	    sup_room_shm(nrings, ring_map_size(s->cfg->ring_size), false) < 0)
		return -2;
	/* Names a killed run may have left between shm_open and unlink. */
	shm_sweep_stale();
	for (int i = 0; i < s->n; i++) {
		if (!s->cfg->providers[i].enabled)
			continue;
		if (ring_create(&s->rings[i], s->cfg->ring_size) < 0) {
			/* Taken meanwhile by somebody else. */
			if (errno == ENOSPC) {
				sup_room_shm(nrings,
					     ring_map_size(s->cfg->ring_size),
					     true);
				return -2;
			}
			return -1;
		}
		s->ch[i].state = P_WAITING;
	}
	return 0;
}

int sup_run(const struct cfg *cfg, const struct sup_opts *opts)
{
	struct sup s = { .cfg = cfg, .opts = opts, .n = cfg->nproviders,
			 .ctl_fd = -1, .sig_fd = -1, .agg_hb_fd = -1,
			 .exit_code = EXIT_OK };
	struct pollfd *fds = NULL;
	int *owner = NULL, setup_rc = 0;

	if (opts->cut)
		*opts->cut = -1;
	s.self = getpid();
	s.t0 = clock_ms();
	s.rng = (unsigned)s.self ^ (unsigned)s.t0;
	if (cfg->timeout_ms)
		s.deadline = s.t0 + cfg->timeout_ms;
	proctitle_set("aggregate: supervisor");
	if (trace_on)
		trace_begin("run", NULL);
	fds = calloc((size_t)s.n + 3, sizeof *fds);
	owner = calloc((size_t)s.n + 3, sizeof *owner);
	s.fds = fds;
	s.owner = owner;
	if (fds == NULL || owner == NULL || (setup_rc = setup(&s)) < 0 ||
	    sup_spawn_aggregator(&s) < 0) {
		if (setup_rc != -2)
			log_event(LOG_ERROR, NULL, "cannot start", "cause",
				  strerror(errno), NULL);
		s.exit_code = EXIT_FAILED;
		goto out;
	}

	while (!run_over(&s)) {
		int nfds = 0, rc;

		if (!s.aborting)
			fill_slots(&s);
		if (!s.finishing && !s.aborting && all_settled(&s)) {
			s.finishing = true;
			if (trace_on)
				trace_instant("finish", NULL);
			send_ctl(&s, CTL_FINISH, -1, 0, 1);
			continue;
		}
		fds[nfds].fd = s.sig_fd;
		fds[nfds].events = POLLIN;
		owner[nfds++] = -1;
		if (s.ctl_fd >= 0) {
			fds[nfds].fd = s.ctl_fd;
			fds[nfds].events = POLLIN |
				(ctl_queue_pending(&s.out) ? POLLOUT : 0);
			owner[nfds++] = -2;
		}
		if (s.agg_hb_fd >= 0) {
			fds[nfds].fd = s.agg_hb_fd;
			fds[nfds].events = POLLIN;
			owner[nfds++] = -3;
		}
		for (int i = 0; i < s.n; i++)
			if (s.ch[i].hb_fd >= 0) {
				fds[nfds].fd = s.ch[i].hb_fd;
				fds[nfds].events = POLLIN;
				owner[nfds++] = i;
			}
		rc = poll(fds, (nfds_t)nfds, next_timeout(&s));
		if (rc < 0 && errno != EINTR)
			break;
		for (int k = 0; rc > 0 && k < nfds; k++) {
			if (!fds[k].revents)
				continue;
			if (owner[k] == -1) {
				on_signal(&s);
			} else if (owner[k] == -2) {
				if ((fds[k].revents & POLLOUT) && s.ctl_fd >= 0 &&
				    ctl_queue_flush(s.ctl_fd, &s.out) < 0)
					ctl_failed(&s);
				drain_ctl(&s);
			} else if (owner[k] == -3) {
				if (s.agg_hb_fd == fds[k].fd)
					on_agg_beat(&s);
			} else if (s.ch[owner[k]].hb_fd == fds[k].fd) {
				drain_heartbeat(&s.ch[owner[k]]);
			}
		}
		on_timers(&s);
		show_progress(&s, false);
	}
	drain_ctl(&s);
	if ((s.agg_reaped || s.ctl_fd < 0) && !s.finished && !s.aborting) {
		char why[64];

		sup_child_describe(s.agg_status, why, sizeof why);
		log_event(LOG_ERROR, NULL, "aggregator died", "cause",
			  s.agg_reaped ? why : "control socket closed", NULL);
		begin_abort(&s, EXIT_FAILED, false);
	}

	if (s.aborting && s.written) {
		/*
		 * A signal or the deadline came while the aggregator was
		 * writing the output of a finished run: it is in place, so say
		 * so rather than claim that nothing was written.
		 */
		log_event(LOG_WARN, NULL, "stop came too late", "cause",
			  "the output was already written", NULL);
		s.aborting = false;
	}
	if (!s.aborting) {
		bool any_failed = false;

		for (int i = 0; i < s.n; i++)
			if (s.ch[i].state == P_FAILED)
				any_failed = true;
		s.exit_code = !s.written ? EXIT_FAILED
			    : any_failed ? EXIT_PARTIAL : EXIT_OK;
	}
out:
	if (s.agg_pid > 0 && !s.agg_reaped && !s.finished)
		kill(s.agg_pid, SIGTERM);
	if (s.sig_fd >= 0)
		wait_all(&s);
	sup_spawn_reap_strays();
	show_progress(&s, true);
	progress_end(opts->progress_block);
	if (opts->rows_written)
		*opts->rows_written = s.rows;
	if (opts->stats && s.ch)
		sup_child_stats(s.ch, s.n, opts->stats);
	for (int i = 0; opts->tokens && s.ch && i < s.n; i++) {
		opts->tokens[i].len = s.ch[i].token_len;
		memcpy(opts->tokens[i].b, s.ch[i].token, s.ch[i].token_len);
	}
	if (!opts->quiet && s.ch && !(opts->cut && *opts->cut >= 0))
		sup_child_summary(s.ch, s.n, cfg, s.t0, s.rows);
	if (s.ctl_fd >= 0)
		close(s.ctl_fd);
	ctl_queue_free(&s.out);
	if (s.agg_hb_fd >= 0)
		close(s.agg_hb_fd);
	if (s.sig_fd >= 0)
		close(s.sig_fd);
	if (s.ch)
		for (int i = 0; i < s.n; i++)
			if (s.ch[i].hb_fd >= 0)
				close(s.ch[i].hb_fd);
	if (s.rings)
		for (int i = 0; i < s.n; i++)
			ring_destroy(&s.rings[i]);
	free(s.rings);
	free(s.held);
	free(s.ch);
	free(fds);
	free(owner);
	if (trace_on) {
		char num[16];

		snprintf(num, sizeof num, "%d", s.exit_code);
		trace_end("run", "exit_status", num, NULL);
	}
	return s.exit_code;
}
