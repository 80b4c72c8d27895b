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
 *   WAITING --(slot free)--> STARTING --(CTL_STARTED: fork)--> RUNNING
 *   RUNNING --(reaped: CTL_END)--> ENDING --(CTL_ENDED)--> DONE | FAILED
 *                                                      \--> BACKOFF
 *   BACKOFF --(delay over)--> STARTING
 *
 * A provider is restarted only after the aggregator has confirmed, with
 * CTL_ENDED, that its ring is drained and what the dead attempt left
 * unconfirmed is dropped; the next attempt resumes from the token that
 * message carries.  That keeps every record counted exactly once.
 */
#include "sup.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../ipc/ring.h"
#include "../ipc/shm.h"
#include "../providers/provider.h"
#include "../aggregator/agg.h"
#include "../ipc/ctl.h"
#include "../common/clock.h"
#include "../common/log.h"
#include "../common/proctitle.h"

/* After SIGTERM, children get this long before SIGKILL (ms). */
#define GRACE_MS 3000

/*
 * Descriptors the supervisor holds per provider (the ring's two eventfds
 * and the heartbeat pipe's read end, plus the write end while forking),
 * and beside them (stdio, the lock, the signalfd, the control socket,
 * the aggregator's heartbeat, logs, metrics, libraries): checked against
 * RLIMIT_NOFILE before anything starts, so that a run too big for the
 * limit fails at once with a message instead of half-starting.
 */
#define FDS_PER_PROVIDER 4
#define FDS_BASE 64

/* Where glibc's shm_open() puts POSIX shared memory. */
#define SHM_DIR "/dev/shm"

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
	unsigned char token[PROV_TOKEN_MAX];
	uint32_t token_len;
	char cause[CTL_TEXT_MAX];
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
};

static const char *pname(const struct sup *s, int i)
{
	return s->cfg->providers[i].name;
}

/* Describe a wait status for the log: "exit status 1", "killed by SIGSEGV". */
static void describe_status(int status, char *out, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(out, len, "killed by SIG%s",
			 sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status))
							: "?");
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		snprintf(out, len, "exited without finishing");
	else if (WIFEXITED(status))
		snprintf(out, len, "exit status %d", WEXITSTATUS(status));
	else
		snprintf(out, len, "wait status %d", status);
}

/*
 * In a freshly forked child: die with the supervisor, default signal
 * handling, unblocked signals.
 */
static void child_setup(struct sup *s)
{
	sigset_t all;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != s->self)
		_exit(1);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	close(s->sig_fd);
}

static int fork_aggregator(struct sup *s)
{
	int sv[2], hb[2];
	pid_t pid;

	/* Non-blocking at both ends: see struct ctl_queue. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) < 0)
		return -1;
	if (pipe2(hb, O_NONBLOCK) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		close(hb[0]);
		close(hb[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		close(hb[0]);
		child_setup(s);
		proctitle_set("aggregate: aggregator");
		_exit(agg_main(s->cfg, s->rings, sv[1], hb[1]));
	}
	close(sv[1]);
	close(hb[1]);
	s->ctl_fd = sv[0];
	s->agg_hb_fd = hb[0];
	s->agg_beat = clock_ms();
	s->agg_pid = pid;
	return 0;
}

/*
 * The bytes of address space this process maps now (VmSize), 0 if
 * unknown.  In a provider, right after fork: its ring, the code and
 * libraries, what the supervisor had allocated.
 */
static uint64_t vm_size(void)
{
	char buf[4096], *p;
	unsigned long long kb = 0;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "\nVmSize:");
	if (p == NULL || sscanf(p + 8, "%llu", &kb) != 1)
		return 0;
	return (uint64_t)kb * 1024u;
}

static void fork_provider(struct sup *s, int i)
{
	struct child *c = &s->ch[i];
	const struct cfg_provider *p = &s->cfg->providers[i];
	int hb[2];
	pid_t pid;

	if (pipe2(hb, O_NONBLOCK) < 0) {
		log_event(LOG_ERROR, p->name, "cannot start", "cause",
			  strerror(errno), NULL);
		hb[0] = hb[1] = -1;
	}
	pid = fork();
	if (pid == 0) {
		struct prov_ctx *ctx;
		char title[256];
		int rc;

		child_setup(s);
		close(s->ctl_fd);
		if (s->agg_hb_fd >= 0)
			close(s->agg_hb_fd);
		if (hb[0] >= 0)
			close(hb[0]);
		for (int k = 0; k < s->n; k++) {
			if (s->ch[k].hb_fd >= 0)
				close(s->ch[k].hb_fd);
			/* A provider sees no ring but its own. */
			if (k != i)
				ring_destroy(&s->rings[k]);
		}
		snprintf(title, sizeof title, "aggregate: provider %s", p->name);
		proctitle_set(title);
		if (p->memory_limit) {
			/*
			 * The limit is the provider's own memory: what is
			 * mapped at this point (its ring above all, whatever
			 * ring_size is) comes on top.  Past it, mmap and brk
			 * fail: malloc returns NULL.
			 */
			uint64_t as = p->memory_limit + vm_size();
			struct rlimit rl = { as, as };

			if (setrlimit(RLIMIT_AS, &rl) < 0)
				log_event(LOG_WARN, p->name, "memory_limit not set",
					  "cause", strerror(errno), NULL);
		}
		ctx = calloc(1, sizeof *ctx);
		if (ctx == NULL)
			_exit(PROV_FAIL_RETRY);
		ctx->cfg = s->cfg;
		ctx->p = p;
		ctx->index = i;
		ctx->attempt = c->attempt;
		ctx->token_len = c->token_len;
		memcpy(ctx->token, c->token, c->token_len);
		ctx->records = c->records;
		ctx->rejects = c->rejects;
		ctx->ring = &s->rings[i];
		ctx->heartbeat_fd = hb[1];
		rc = prov_main(ctx);
		free(ctx); /* valgrind's leak check runs at _exit too */
		_exit(rc);
	}
	if (hb[1] >= 0)
		close(hb[1]);
	if (pid < 0) {
		/* Treated like a crash: the restart policy applies. */
		log_event(LOG_ERROR, p->name, "cannot fork", "cause",
			  strerror(errno), NULL);
		if (hb[0] >= 0)
			close(hb[0]);
		c->pid = -1;
		c->state = P_RUNNING;
		return;
	}
	c->pid = pid;
	c->hb_fd = hb[0];
	c->state = P_RUNNING;
	c->last_beat = clock_ms();
	c->kill_cause[0] = '\0';
	if (log_enabled(LOG_DEBUG)) {
		char num[16];

		snprintf(num, sizeof num, "%u", c->attempt);
		log_event(LOG_DEBUG, p->name, "started", "attempt", num, NULL);
	}
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

static void kill_child(struct sup *s, int i, const char *cause)
{
	struct child *c = &s->ch[i];

	if (c->state != P_RUNNING || c->pid <= 0)
		return;
	if (c->kill_cause[0] == '\0')
		snprintf(c->kill_cause, sizeof c->kill_cause, "%s", cause);
	kill(c->pid, SIGKILL);
}

/* Kill a provider that made no progress for ms milliseconds, saying so. */
static void kill_stalled(struct sup *s, int i, uint64_t ms)
{
	char cause[64];

	if (ms % 1000 == 0)
		snprintf(cause, sizeof cause, "stalled: no progress for %llus",
			 (unsigned long long)(ms / 1000));
	else
		snprintf(cause, sizeof cause, "stalled: no progress for %llums",
			 (unsigned long long)ms);
	kill_child(s, i, cause);
}

/* Delay before restart number k (1-based): doubling, capped, jittered. */
static uint64_t backoff_delay(struct sup *s, int k)
{
	uint64_t d = s->cfg->backoff_ms;

	for (int j = 1; j < k && d < s->cfg->backoff_max_ms; j++)
		d *= 2;
	if (d > s->cfg->backoff_max_ms)
		d = s->cfg->backoff_max_ms;
	/* Jitter: somewhere in [d/2, d], so restarts do not stampede. */
	if (d > 1)
		d = d / 2 + (uint64_t)rand_r(&s->rng) % (d / 2 + 1);
	return d;
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

static void on_ended(struct sup *s, const struct ctl_msg *m)
{
	int i = m->provider;
	struct child *c = &s->ch[i];
	const struct cfg_provider *p = &s->cfg->providers[i];
	char cause[CTL_TEXT_MAX], num[32], num2[32];
	bool clean = WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0;
	bool done = m->flag & CTL_ENDED_DONE;
	uint64_t delay;

	c->records = m->records;
	c->rejects = m->rejects;
	c->token_len = m->token_len;
	memcpy(c->token, m->token, m->token_len);

	if (done) {
		/*
		 * DONE was folded: everything is counted.  A process that dies
		 * after that (killed, or crashing on its way out) has still
		 * finished; a restart would resume from the last checkpoint and
		 * send again what DONE covered after it.
		 */
		if (!clean) {
			describe_status(c->status, cause, sizeof cause);
			log_event(LOG_WARN, p->name, "ended badly after DONE",
				  "cause", cause, NULL);
		}
		c->state = P_DONE;
		c->finished = clock_ms();
		snprintf(num, sizeof num, "%llu", (unsigned long long)c->records);
		snprintf(num2, sizeof num2, "%llu", (unsigned long long)c->rejects);
		log_event(LOG_INFO, p->name, "finished", "records", num,
			  "rejects", num2, NULL);
		return;
	}

	/* Failed: say why, most specific first. */
	if (c->kill_cause[0])
		snprintf(cause, sizeof cause, "%s", c->kill_cause);
	else if (m->text[0] && !WIFSIGNALED(c->status))
		snprintf(cause, sizeof cause, "%s", m->text);
	else
		describe_status(c->status, cause, sizeof cause);
	snprintf(c->cause, sizeof c->cause, "%s", cause);

	/* A healthy attempt (see end_flag) starts a new streak. */
	if (m->flag & CTL_ENDED_PROGRESSED)
		c->streak = 0;
	if (c->permanent || c->streak >= p->restart) {
		c->state = P_FAILED;
		c->finished = clock_ms();
		snprintf(num, sizeof num, "%u", c->attempt);
		log_event(LOG_ERROR, p->name, "failed", "attempt", num, "cause",
			  cause, NULL);
		if (s->cfg->on_error == CFG_ON_ERROR_FAIL)
			begin_abort(s, c->config_error ? EXIT_CONFIG
						       : EXIT_FAILED, true);
		else
			send_ctl(s, CTL_DROP, i, c->attempt, 0);
		return;
	}
	c->restarts++;
	c->streak++;
	c->state = P_BACKOFF;
	delay = backoff_delay(s, c->streak);
	c->backoff_until = clock_ms() + delay;
	snprintf(num, sizeof num, "%u", c->attempt + 1);
	snprintf(num2, sizeof num2, "%llums", (unsigned long long)delay);
	log_event(LOG_WARN, p->name, "restarted", "attempt", num, "cause",
		  cause, "backoff", num2, NULL);
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
			fork_provider(s, m.provider);
		break;
	case CTL_ENDED:
		if (s->ch[m.provider].state == P_ENDING)
			on_ended(s, &m);
		break;
	case CTL_BAD:
		log_event(LOG_WARN, pname(s, m.provider), "bad frame", "cause",
			  m.text, NULL);
		kill_child(s, m.provider, m.text);
		break;
	case CTL_FINISHED:
		s->finished = true;
		s->written = m.flag;
		s->rows = m.records;
		if (m.text[0])
			log_event(LOG_ERROR, NULL, "output failed", "cause", m.text,
				  NULL);
		break;
	case CTL_FATAL:
		begin_abort(s, EXIT_FAILED, false);
		break;
	case CTL_PROGRESS:
		progress_records(s->opts->progress_block, m.provider, m.records);
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
 * Whether the attempt that just ended of provider i may be the last one,
 * for CTL_END.  The restart policy: a provider fails for good when its
 * process exits with PROV_FAIL_PERMANENT or PROV_FAIL_CONFIG, or when it
 * fails restart + 1 times in a row without a healthy attempt between.  An
 * attempt is healthy when the aggregator folded at least one checkpoint of
 * it that moved the provider forward (more records or rejects, or a new
 * resume token): only the aggregator knows that, so a failure after
 * restart attempts in a row is "final unless it progressed", and
 * CTL_ENDED says whether it did.
 */
static uint32_t end_flag(const struct sup *s, int i)
{
	const struct child *c = &s->ch[i];
	int restart = s->cfg->providers[i].restart;

	if (c->permanent || restart <= 0)
		return CTL_END_FINAL;
	return c->streak >= restart ? CTL_END_FINAL_UNLESS_PROGRESS : 0;
}

static void reap(struct sup *s)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == s->agg_pid) {
			s->agg_reaped = true;
			s->agg_status = status;
			continue;
		}
		for (int i = 0; i < s->n; i++) {
			struct child *c = &s->ch[i];

			if (c->pid != pid)
				continue;
			c->pid = 0;
			c->status = status;
			c->config_error = WIFEXITED(status) &&
					  WEXITSTATUS(status) == PROV_FAIL_CONFIG;
			c->permanent = c->config_error ||
				       (WIFEXITED(status) &&
					WEXITSTATUS(status) == PROV_FAIL_PERMANENT);
			if (c->hb_fd >= 0) {
				close(c->hb_fd);
				c->hb_fd = -1;
			}
			if (s->aborting) {
				/* Stopped by the abort, not failed by itself. */
				if (c->state != P_FAILED)
					c->state = P_STOPPED;
				continue;
			}
			c->state = P_ENDING;
			send_ctl(s, CTL_END, i, c->attempt, end_flag(s, i));
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
			kill_stalled(s, i, p->stall_timeout_ms);
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

/* The state a user reads for a provider; NULL: not shown. */
static const char *state_name(enum pstate st)
{
	switch (st) {
	case P_OFF:
		return NULL;
	case P_WAITING:
		return "waiting";
	case P_STARTING:
	case P_RUNNING:
	case P_ENDING:
		return "running";
	case P_BACKOFF:
		return "backoff";
	case P_DONE:
		return "done";
	case P_FAILED:
		return "failed";
	case P_STOPPED:
		return "stopped";
	}
	return NULL;
}

/* --progress: hand the states to the progress block and let it redraw. */
static void show_progress(struct sup *s, bool force)
{
	if (s->opts->progress_block == NULL || s->ch == NULL)
		return;
	for (int i = 0; i < s->n; i++)
		progress_set(s->opts->progress_block, i,
			     state_name(s->ch[i].state), s->ch[i].restarts,
			     s->ch[i].records);
	progress_draw(s->opts->progress_block, force);
}

/* Hand the end-of-run counts to the caller (metrics). */
static void report_stats(const struct sup *s)
{
	uint64_t end = clock_ms();

	if (s->opts->rows_written)
		*s->opts->rows_written = s->rows;
	if (s->opts->stats == NULL || s->ch == NULL)
		return;
	for (int i = 0; i < s->n; i++) {
		const struct child *c = &s->ch[i];
		struct metrics_prov *m = &s->opts->stats[i];

		memset(m, 0, sizeof *m);
		if (c->state == P_OFF)
			continue;
		m->status = c->state == P_DONE ? "ok"
			  : c->state == P_FAILED ? "failed" : "stopped";
		m->records = c->records;
		m->rejects = c->rejects;
		m->restarts = c->restarts;
		m->seconds = c->started ? (double)((c->finished ? c->finished
							       : end) -
						   c->started) / 1000.0
					: 0.0;
	}
}

static void print_summary(const struct sup *s)
{
	uint64_t end = clock_ms();

	fprintf(stderr, "\n%-20s %-8s %12s %8s %8s %9s %12s\n", "provider",
		"status", "records", "rejects", "restarts", "seconds",
		"records/s");
	for (int i = 0; i < s->n; i++) {
		const struct child *c = &s->ch[i];
		const char *st;
		double secs;

		if (c->state == P_OFF)
			continue;
		st = c->state == P_DONE ? "ok" : c->state == P_FAILED ? "failed"
				      : "stopped";
		secs = c->started ? (double)((c->finished ? c->finished : end) -
					     c->started) / 1000.0 : 0.0;
		fprintf(stderr, "%-20s %-8s %12llu %8llu %8d %9.2f %12.0f\n",
			pname(s, i), st, (unsigned long long)c->records,
			(unsigned long long)c->rejects, c->restarts, secs,
			secs > 0 ? (double)c->records / secs : 0.0);
	}
	fprintf(stderr, "total: %.2f s, %llu rows written\n",
		(double)(end - s->t0) / 1000.0, (unsigned long long)s->rows);
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
 * Kill and reap the children the table does not know.  The postgres
 * provider's snapshot holder is started with CLONE_PARENT, so it is ours:
 * it goes by itself after a provider's last attempt, but after a failure
 * or an abort it may still be there, and nothing may outlive the run.
 * Linux lists a task's children in /proc/self/task/TID/children; they are
 * not reaped yet, so their pids cannot have been reused.
 */
static void reap_strays(void)
{
	char path[64], buf[4096];

	snprintf(path, sizeof path, "/proc/self/task/%ld/children",
		 (long)getpid());
	for (int pass = 0; pass < 8; pass++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC), n_pids = 0;
		ssize_t n;
		char *p, *end;

		if (fd < 0)
			return;
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			return;
		buf[n] = '\0';
		for (p = buf;; p = end) {
			long pid = strtol(p, &end, 10);

			if (end == p)
				break;
			if (pid <= 0)
				continue;
			kill((pid_t)pid, SIGKILL);
			while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR)
				;
			n_pids++;
		}
		if (n_pids == 0)
			return;
	}
}

/* A byte count for a message: "512K", "1.5M", "2.0G". */
static void fmt_size(uint64_t n, char *out, size_t len)
{
	if (n >= 1ull << 30)
		snprintf(out, len, "%.1fG", (double)n / (double)(1ull << 30));
	else if (n >= 1ull << 20)
		snprintf(out, len, "%.1fM", (double)n / (double)(1ull << 20));
	else
		snprintf(out, len, "%lluK", (unsigned long long)(n + 1023) / 1024);
}

/*
 * Is there room in SHM_DIR for nrings rings of ring_bytes each?  Returns
 * 0, or -1 after saying how much is free and how much is needed.  A tmpfs
 * without a size limit reports no blocks at all: then nothing is checked
 * (the reservation in shm_map_anon still is).  Done before the first ring
 * is made, because a ring that is not backed kills its provider with
 * SIGBUS, over and over, at the first write to a missing page.
 */
static int shm_room(int nrings, uint64_t ring_bytes, bool failed)
{
	struct statvfs sv;
	uint64_t need = (uint64_t)nrings * ring_bytes, avail;
	char a[32], b[32];

	if (statvfs(SHM_DIR, &sv) < 0)
		return failed ? -1 : 0;
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (!failed && (sv.f_blocks == 0 || avail >= need))
		return 0;
	fmt_size(avail, a, sizeof a);
	fmt_size(need, b, sizeof b);
	log_event(LOG_ERROR, NULL, "not enough shared memory for the rings",
		  "path", SHM_DIR, "free", a, "needed", b, "hint",
		  "lower ring_size, or enlarge " SHM_DIR
		  " (docker run --shm-size)", NULL);
	return -1;
}

/*
 * Are there descriptors enough for nrings providers (main() has raised the
 * soft limit to the hard one)?  Returns 0, or -1 after saying so.
 */
static int fd_room(int nrings)
{
	struct rlimit rl;
	uint64_t need = (uint64_t)nrings * FDS_PER_PROVIDER + FDS_BASE;
	char n[32], l[32], p[32];

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    need <= rl.rlim_cur)
		return 0;
	snprintf(p, sizeof p, "%d", nrings);
	snprintf(n, sizeof n, "%llu", (unsigned long long)need);
	snprintf(l, sizeof l, "%llu", (unsigned long long)rl.rlim_cur);
	log_event(LOG_ERROR, NULL, "too many providers for the open file limit",
		  "providers", p, "needed", n, "limit", l, "hint",
		  "raise the limit (ulimit -n, LimitNOFILE=) or run fewer "
		  "providers", NULL);
	return -1;
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
		s->rings[i].data_fd = s->rings[i].space_fd = -1;
		nrings += s->cfg->providers[i].enabled;
	}
	if (fd_room(nrings) < 0 ||
	    shm_room(nrings, ring_map_size(s->cfg->ring_size), false) < 0)
		return -2;
	/* Names a killed run may have left between shm_open and unlink. */
	shm_sweep_stale();
	for (int i = 0; i < s->n; i++) {
		if (!s->cfg->providers[i].enabled)
			continue;
		if (ring_create(&s->rings[i], s->cfg->ring_size) < 0) {
			/* Taken meanwhile by somebody else. */
			if (errno == ENOSPC) {
				shm_room(nrings, ring_map_size(s->cfg->ring_size),
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

	s.self = getpid();
	s.t0 = clock_ms();
	s.rng = (unsigned)s.self ^ (unsigned)s.t0;
	if (cfg->timeout_ms)
		s.deadline = s.t0 + cfg->timeout_ms;
	proctitle_set("aggregate: supervisor");
	fds = calloc((size_t)s.n + 3, sizeof *fds);
	owner = calloc((size_t)s.n + 3, sizeof *owner);
	s.fds = fds;
	s.owner = owner;
	if (fds == NULL || owner == NULL || (setup_rc = setup(&s)) < 0 ||
	    fork_aggregator(&s) < 0) {
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

		describe_status(s.agg_status, why, sizeof why);
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
	reap_strays();
	show_progress(&s, true);
	progress_end(opts->progress_block);
	report_stats(&s);
	if (!opts->quiet && s.ch)
		print_summary(&s);
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
	free(s.ch);
	free(fds);
	free(owner);
	return s.exit_code;
}
