/*
 * agg.c - the aggregator process (see agg.h and DESIGN "Exactly once").
 *
 * One loop serves every ring and the control socket.  For each provider:
 *
 *   RECORDS     the frame checked, its payload handed to the merge's
 *               stage (merge_stage: copied, every record checked as
 *               rec_decode would, then kept as it is or as its group and
 *               the aggregates' inputs)
 *   REJECT      validated, handed to the stage too (merge_stage_reject)
 *   CHECKPOINT  its counts must match what was folded plus what is staged;
 *               then the merge folds the stage (merge_commit: records and
 *               rejects), and its token becomes the resume point
 *   DONE        folds the stage like a checkpoint; the provider finished
 *   ERROR       the provider's last words, kept for the supervisor
 *
 * The stage is the merge's alone: here only the counts of what was folded
 * are kept, for the checkpoints' checks and the supervisor.
 *
 * Invariant: the merge holds exactly the records covered by the last folded
 * checkpoint of every provider; the token sent back on CTL_ENDED is that
 * checkpoint's, so the next attempt starts right after them.
 *
 * Nothing a provider writes is trusted: any frame that does not parse, does
 * not belong to the current attempt, or contradicts the counts poisons that
 * provider's ring (CTL_BAD to the supervisor, which kills it); the
 * aggregator itself never crashes on it.
 */
#include "agg.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../ipc/record.h"
#include "../ipc/ring_test.h"
#include "../common/clock.h"
#include "../ipc/ctl.h"
#include "../common/log.h"
#include "../common/trace.h"
#include "agg_trace.h"
#include "merge.h"
#include "output.h"
#include "partial.h"
#include "rejects.h"

/* Frames handled per ring per round, so one busy ring cannot starve others. */
#define FRAMES_PER_ROUND 64

/* Spins over all rings before going to sleep in poll(). */
#define IDLE_SPINS 200

/*
 * The control socket is looked at whenever the coarse monotonic clock has
 * moved (a few ms; reading it costs no system call), so that a provider's
 * end or a restart is never held back by a busy round, and at least every
 * this many rounds.
 */
#define CTL_EVERY_ROUNDS 64

/* CTL_PROGRESS: at most this often (ms), and only while the socket has
 * less than this many bytes unread, so it never crowds out CTL_ENDED. */
#define PROGRESS_EVERY_MS 200
#define PROGRESS_MAX_QUEUED 16384

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

struct agg_prov {
	struct ring *ring;
	uint16_t attempt;
	bool active;          /* an attempt is running or being drained */
	bool poisoned;        /* sent something malformed: read no more */
	bool done;            /* DONE folded */
	bool stopped;         /* ERROR or DONE seen: nothing may follow */
	bool progressed;      /* this attempt folded a checkpoint that moved
	                       * the provider forward */
	uint64_t records;     /* folded */
	uint64_t nrejects;    /* committed */
	uint64_t filtered;    /* dropped by a `where`: the last folded count */
	unsigned char token[PROV_TOKEN_MAX];
	uint32_t token_len;
	char error[CTL_TEXT_MAX];
	uint64_t reported;    /* records in the last CTL_PROGRESS */
	uint64_t reported_filtered; /* and the filtered count in it */
};

struct agg {
	const struct cfg *cfg;
	struct agg_prov *prov;
	struct merge *merge;       /* the first output's: rejects, counts */
	struct merge **merges;     /* one per output, merges[0] == merge */
	struct cfg *views;         /* output i's cfg (cfg_output_view) */
	int nmerges;
	struct pollfd *fds;        /* scratch for sleep_all, nproviders + 2 */
	int *fd_owner;             /* provider of fds[k], -1: control socket,
	                            * -2: the self-pipe */
	int ctl_fd;
	struct ctl_queue out;      /* control messages the socket refused yet */
	bool sup_gone;             /* the control socket is broken */
	int hb_fd;                 /* heartbeat pipe to the supervisor, -1 */
	uint64_t beat_ms;          /* last heartbeat, monotonic */
	uint64_t ctl_tick;         /* coarse clock at the last control look */
	bool finished;
	int exit_code;
	uint64_t progress_ms;      /* last CTL_PROGRESS round, monotonic */
};

static volatile sig_atomic_t stop_requested;

/*
 * Self-pipe: SIGTERM/SIGINT also write a byte here, and sleep_all() polls
 * the read end, so a stop that lands just before poll() still wakes it.
 */
static int term_pipe[2] = { -1, -1 };

static void on_term(int sig)
{
	int saved = errno;

	(void)sig;
	stop_requested = 1;
	if (term_pipe[1] >= 0 && write(term_pipe[1], "", 1) < 0) {
		/* Full: a wake-up is already pending. */
	}
	errno = saved;
}

/*
 * Send a control message, or queue it until the socket takes it (ctl.h).
 * A failure means the supervisor is gone: the loop stops, writing nothing.
 */
static void agg_send(struct agg *a, const struct ctl_msg *m)
{
	if (a->sup_gone)
		return;
	if (ctl_queue_send(a->ctl_fd, &a->out, m) < 0) {
		if (errno == ENOMEM)
			log_event(LOG_ERROR, NULL, "aggregator failed", "cause",
				  "out of memory for a control message", NULL);
		a->sup_gone = true;
	}
}

static void send_fatal(struct agg *a, const char *what)
{
	struct ctl_msg m = { .type = CTL_FATAL, .provider = -1 };

	snprintf(m.text, sizeof m.text, "%s", what);
	agg_send(a, &m);
	log_event(LOG_ERROR, NULL, "aggregator failed", "cause", what, NULL);
	a->exit_code = 1;
	a->finished = true;
}

/* Mark provider pi's ring poisoned and tell the supervisor why. */
static void poison(struct agg *a, int pi, const char *why)
{
	struct agg_prov *p = &a->prov[pi];
	struct ctl_msg m = { .type = CTL_BAD, .provider = pi,
			     .attempt = p->attempt };

	if (p->poisoned)
		return;
	p->poisoned = true;
	snprintf(p->error, sizeof p->error, "malformed frame: %s", why);
	snprintf(m.text, sizeof m.text, "%s", p->error);
	agg_send(a, &m);
}

/*
 * Fold the stage of provider pi (its records and rejects) into the merge,
 * and count what it held as folded.
 */
static int fold(struct agg *a, int pi)
{
	struct agg_prov *p = &a->prov[pi];
	uint64_t records, rejects, t0 = trace_on ? clock_us() : 0;
	char err[256];

	merge_staged(a->merge, pi, &records, &rejects);
	for (int i = 0; i < a->nmerges; i++)
		if (merge_commit(a->merges[i], pi, err, sizeof err) < 0) {
			send_fatal(a, err);
			return -1;
		}
	p->records += records;
	p->nrejects += rejects;
	if (trace_on)
		agg_trace_fold(a->cfg, pi, t0, records);
	return 0;
}

/*
 * Forget what the attempt of provider pi staged: records after its last
 * checkpoint will be read again.  A provider that failed for good (final)
 * keeps its last rejects for the reject file: no retry will read them.
 */
static void drop_stage(struct agg *a, int pi, bool final)
{
	uint64_t records, rejects;

	merge_staged(a->merge, pi, &records, &rejects);
	if (final && rejects > 0) {
		merge_keep_rejects(a->merge, pi);
		a->prov[pi].nrejects += rejects;
	}
	for (int i = 0; i < a->nmerges; i++)
		merge_discard(a->merges[i], pi);
}

static int on_records(struct agg *a, int pi, const unsigned char *pl,
		      size_t len, bool groups)
{
	uint32_t count;
	char err[256];
	int rc;

	if (len < sizeof count) {
		poison(a, pi, "short RECORDS frame");
		return -1;
	}
	memcpy(&count, pl, sizeof count);
	/* Every output stages the records: the first checks them. */
	for (int i = 0; i < a->nmerges; i++) {
		rc = (groups ? merge_stage_groups : merge_stage)(
			a->merges[i], pi, pl + sizeof count,
			len - sizeof count, count, err, sizeof err);
		if (rc < 0) {
			send_fatal(a, err);
			return -1;
		}
		if (rc > 0) {
			poison(a, pi, err);
			return -1;
		}
	}
	return 0;
}

static int on_checkpoint(struct agg *a, int pi, const unsigned char *pl,
			 size_t len)
{
	struct agg_prov *p = &a->prov[pi];
	uint64_t records, rejects, filtered, staged, staged_rejects;
	const size_t head = 3 * sizeof(uint64_t);

	if (len < head || len - head > PROV_TOKEN_MAX) {
		poison(a, pi, "bad CHECKPOINT frame");
		return -1;
	}
	memcpy(&records, pl, sizeof records);
	memcpy(&rejects, pl + sizeof records, sizeof rejects);
	memcpy(&filtered, pl + 2 * sizeof records, sizeof filtered);
	merge_staged(a->merge, pi, &staged, &staged_rejects);
	if (records != p->records + staged ||
	    rejects != p->nrejects + staged_rejects ||
	    filtered < p->filtered) {
		poison(a, pi, "checkpoint counts do not match the records sent");
		return -1;
	}
	if (staged || staged_rejects || filtered != p->filtered ||
	    p->token_len != len - head ||
	    memcmp(p->token, pl + head, p->token_len) != 0)
		p->progressed = true;
	if (fold(a, pi) < 0)
		return -1;
	p->filtered = filtered;
	p->token_len = (uint32_t)(len - head);
	memcpy(p->token, pl + head, p->token_len);
	return 0;
}

#ifdef AGG_TESTING
/*
 * Test builds: AGG_FAULT_FRAME_DELAY_MS=N makes the aggregator take N ms
 * more over every frame, so that a test can keep it busy (its rings never
 * empty) for as long as a provider streams.
 */
static long frame_delay_ms = -1;

static void fault_frame_delay(void)
{
	if (frame_delay_ms < 0) {
		const char *v = getenv("AGG_FAULT_FRAME_DELAY_MS");

		frame_delay_ms = v ? atol(v) : 0;
	}
	if (frame_delay_ms > 0) {
		struct timespec ts = { frame_delay_ms / 1000,
				       (frame_delay_ms % 1000) * 1000000L };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}
#else
static inline void fault_frame_delay(void)
{
}
#endif

/* What CTL_ENDED and CTL_DONE tell of provider pi: counts, token, error. */
static void fill_ended(struct agg *a, int pi, struct ctl_msg *m)
{
	struct agg_prov *p = &a->prov[pi];

	m->flag = (p->done ? CTL_ENDED_DONE : 0) |
		  (p->progressed ? CTL_ENDED_PROGRESSED : 0);
	m->records = p->records;
	m->rejects = p->nrejects;
	m->filtered = p->filtered;
	m->token_len = p->token_len;
	memcpy(m->token, p->token, p->token_len);
	snprintf(m->text, sizeof m->text, "%s", p->error);
}

/*
 * DONE is folded: everything the provider sent is counted, and nothing it
 * may still do changes that.  The supervisor hears it now, not after the
 * process has exited (ctl.h).
 */
static void send_done(struct agg *a, int pi)
{
	struct ctl_msg m = { .type = CTL_DONE, .provider = pi,
			     .attempt = a->prov[pi].attempt };

	fill_ended(a, pi, &m);
	agg_send(a, &m);
}

/* Handle one frame of provider pi.  Returns 0, or -1 to stop reading it. */
static int on_frame(struct agg *a, int pi, const struct ring_frame_hdr *h,
		    const unsigned char *pl)
{
	struct agg_prov *p = &a->prov[pi];
	char err[256];

	if (h->attempt != p->attempt) {
		poison(a, pi, "frame of another attempt");
		return -1;
	}
	if (p->stopped) {
		poison(a, pi, "frame after DONE or ERROR");
		return -1;
	}
	switch (h->type) {
	case RING_RECORDS:
		return on_records(a, pi, pl, h->len, false);
	case RING_GROUPS:
		return on_records(a, pi, pl, h->len, true);
	case RING_CHECKPOINT:
		return on_checkpoint(a, pi, pl, h->len);
	case RING_REJECT:
		if (!rejects_valid(pl, h->len)) {
			poison(a, pi, "bad REJECT frame");
			return -1;
		}
		if (merge_stage_reject(a->merge, pi, pl, h->len, err,
				       sizeof err) < 0) {
			send_fatal(a, err);
			return -1;
		}
		return 0;
	case RING_DONE: {
		uint64_t filtered;

		if (h->len != sizeof filtered) {
			poison(a, pi, "bad DONE frame");
			return -1;
		}
		memcpy(&filtered, pl, sizeof filtered);
		if (filtered < p->filtered) {
			poison(a, pi, "DONE counts fewer dropped records");
			return -1;
		}
		if (fold(a, pi) < 0)
			return -1;
		p->filtered = filtered;
		p->done = true;
		p->stopped = true;
		send_done(a, pi);
		return 0;
	}
	case RING_ERROR: {
		size_t n = h->len < sizeof p->error - 1 ? h->len
							: sizeof p->error - 1;

		memcpy(p->error, pl, n);
		p->error[n] = '\0';
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p->error[i] < 0x20)
				p->error[i] = ' ';
		p->stopped = true;
		return 0;
	}
	default:
		poison(a, pi, "unknown frame type");
		return -1;
	}
}

/*
 * Read up to max frames of provider pi (max 0: everything published).
 * Returns the number of frames handled.
 */
static int drain(struct agg *a, int pi, int max)
{
	struct agg_prov *p = &a->prov[pi];
	struct ring_frame_hdr h;
	const unsigned char *pl;
	int n = 0, rc;

	while (!p->poisoned && (max == 0 || n < max)) {
		rc = ring_next(p->ring, &h, &pl);
		if (rc == 0)
			break;
		if (rc < 0) {
			poison(a, pi, "impossible ring position or frame header");
			break;
		}
		n++;
		rc = on_frame(a, pi, &h, pl);
		ring_consume(p->ring);
		fault_frame_delay();
		if (rc < 0 || a->finished)
			break;
		/* Time for the control socket: let the main loop look. */
		if (max != 0 && clock_coarse_ms() != a->ctl_tick)
			break;
	}
	return n;
}

static void on_start(struct agg *a, const struct ctl_msg *in)
{
	struct agg_prov *p = &a->prov[in->provider];
	struct ctl_msg m = { .type = CTL_STARTED, .provider = in->provider,
			     .attempt = in->attempt };

	/*
	 * A first attempt's ring is as the supervisor created it, and its
	 * provider, forked with this message, may be writing already.
	 */
	if (in->attempt > 1)
		ring_reset(p->ring);
	p->attempt = (uint16_t)in->attempt;
	p->active = true;
	p->poisoned = false;
	p->stopped = false;
	p->done = false;
	p->progressed = false;
	p->error[0] = '\0';
	for (int i = 0; i < a->nmerges; i++)
		merge_discard(a->merges[i], in->provider);
	agg_send(a, &m);
}

static void on_end(struct agg *a, const struct ctl_msg *in)
{
	struct agg_prov *p = &a->prov[in->provider];
	struct ctl_msg m = { .type = CTL_ENDED, .provider = in->provider,
			     .attempt = in->attempt };
	bool final;

	/* The process is dead: everything it published is in the ring. */
	if (p->active)
		drain(a, in->provider, 0);
	if (a->finished)
		return;
	final = in->flag == CTL_END_FINAL ||
		(in->flag == CTL_END_FINAL_UNLESS_PROGRESS && !p->progressed);
	if (!p->done)
		drop_stage(a, in->provider, final);
	ring_reset(p->ring);
	p->active = false;
	fill_ended(a, in->provider, &m);
	agg_send(a, &m);
}

#ifdef AGG_TESTING
/*
 * Test builds: with AGG_FAULT_LATE_START set, the aggregator starts reading
 * only once every provider has filled its ring and sleeps on it (bounded:
 * 30 s), to show that what a provider forked with its START publishes
 * before the aggregator is ready is counted once.  It says "fault injected
 * point=late_start rings=full" (or "not_full" when the bound was hit).
 */
static void fault_late_start(const struct cfg *cfg, struct ring *rings)
{
	uint64_t until = clock_ms() + 30000;
	bool full = true;

	if (getenv("AGG_FAULT_LATE_START") == NULL)
		return;
	for (int i = 0; i < cfg->nproviders; i++) {
		unsigned cs, ps = 0;

		if (rings[i].sh == NULL)
			continue;
		for (;;) {
			struct timespec ms = { 0, 1000000 };

			ring_test_flags(&rings[i], &cs, &ps);
			if (ps || clock_ms() >= until)
				break;
			nanosleep(&ms, NULL);
		}
		full = full && ps;
	}
	log_event(LOG_WARN, NULL, "fault injected", "point", "late_start",
		  "rings", full ? "full" : "not_full", NULL);
}
#else
static void fault_late_start(const struct cfg *cfg, struct ring *rings)
{
	(void)cfg;
	(void)rings;
}
#endif

#ifdef AGG_TESTING
/*
 * Test builds: with AGG_FAULT_WRITTEN set, once the output is in place the
 * aggregator says "fault injected" and answers only after a stop signal,
 * so that a test can stop the run exactly in that window.
 */
static void fault_after_write(void)
{
	struct pollfd pfd = { .fd = term_pipe[0], .events = POLLIN };

	if (getenv("AGG_FAULT_WRITTEN") == NULL)
		return;
	log_event(LOG_WARN, NULL, "fault injected", "point", "output_written",
		  NULL);
	while (!stop_requested && term_pipe[0] >= 0)
		(void)poll(&pfd, 1, -1);
}
#else
static void fault_after_write(void)
{
}
#endif

/* A table (SQLite, PostgreSQL) output: committed before the files. */
static bool is_table(const struct cfg *cfg)
{
	return cfg->format == CFG_FMT_SQLITE || cfg->format == CFG_FMT_POSTGRES;
}

/* err, prefixed with output i's name when it is an [output NAME]. */
static void name_error(const struct agg *a, int i, char *err, size_t len)
{
	const char *name = a->views[i].output_name;
	size_t n = name ? strlen(name) + 9 : 0;

	/* Shift the message right: "output NAME: " goes before it. */
	if (name == NULL || n >= len)
		return;
	memmove(err + n, err, len - n - 1);
	err[len - 1] = '\0';
	memcpy(err, "output ", 7);
	memcpy(err + 7, name, n - 9);
	memcpy(err + n - 2, ": ", 2);
}

/*
 * Write every output, or change none: each is written whole first (a
 * file under its temporary name, a table in its open transaction); only
 * when all are, they are committed, the tables first (a commit there may
 * still fail: the server decides), then the files (a rename).  A failure
 * before the first commit gives up every output.  Returns 0, or -1 with
 * err (after a commit failed, naming what was already committed).
 */
static int write_outputs(struct agg *a, char *err, size_t len)
{
	int i, pass, done = 0;
	char first[CTL_TEXT_MAX] = "";

	for (i = 0; i < a->nmerges; i++)
		if (agg_trace_prepare(a->merges[i], &a->views[i], err, len) < 0) {
			name_error(a, i, err, len);
			for (int j = 0; j < i; j++)
				merge_abandon(a->merges[j]);
			return -1;
		}
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < a->nmerges; i++) {
			if (is_table(&a->views[i]) != (pass == 0))
				continue;
			if (agg_trace_finish(a->merges[i], &a->views[i], err, len) < 0) {
				name_error(a, i, err, len);
				for (int j = 0; j < a->nmerges; j++)
					merge_abandon(a->merges[j]);
				if (done) {
					size_t n = strlen(err);

					snprintf(err + n, len - n,
						 " (after %.200s was committed)",
						 first);
				}
				return -1;
			}
			if (done++ == 0)
				snprintf(first, sizeof first, "%s",
					 a->views[i].output_name
					 ? a->views[i].output_name
					 : "the [aggregate] output");
		}
	return 0;
}

/* --partial: every output's state and the providers' counts (partial.h). */
static int save_partial(struct agg *a, char *err, size_t len)
{
	struct partial_prov *pp = calloc((size_t)a->cfg->nproviders + 1,
					 sizeof *pp);
	int rc;

	if (pp == NULL) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	for (int i = 0; i < a->cfg->nproviders; i++) {
		pp[i] = (struct partial_prov){ .ran = a->prov[i].ring != NULL,
					       .records = a->prov[i].records,
					       .rejects = a->prov[i].nrejects,
					       .filtered = a->prov[i].filtered };
		if (a->cfg->state_save) { /* the state: what it held, and this */
			struct partial_prov old;

			partial_set_prov(a->cfg->partials, i, &old);
			pp[i].ran = true;
			pp[i].records += old.records;
			pp[i].rejects += old.rejects;
			pp[i].filtered = partial_filtered_add(pp[i].filtered,
							      old.filtered);
		}
	}
	rc = partial_save(a->cfg->state_save ? a->cfg->state_save
					     : a->cfg->partial, a->cfg,
			  a->merges, a->nmerges, pp, err, len);
	free(pp);
	return rc;
}

/* The rows of every output (each logged with -v). */
static uint64_t rows_written(const struct agg *a)
{
	uint64_t total = 0;

	for (int i = 0; i < a->nmerges; i++) {
		uint64_t n = merge_rows_written(a->merges[i]);
		char rows[24];

		snprintf(rows, sizeof rows, "%llu", (unsigned long long)n);
		log_event(LOG_DEBUG, NULL, "output rows", "output",
			  a->views[i].output_name ? a->views[i].output_name
						  : "[aggregate]",
			  "rows", rows, NULL);
		total += n;
	}
	return total;
}

static void on_finish(struct agg *a, const struct ctl_msg *in)
{
	struct ctl_msg m = { .type = CTL_FINISHED, .provider = -1 };
	char err[CTL_TEXT_MAX];
	int rc;

	err[0] = '\0';
	/* A shard: its state (rejects too) goes to its partial instead. */
	if (a->cfg->partial)
		rc = in->flag ? save_partial(a, err, sizeof err) : 0;
	else /* Rejects help whatever the outcome: write them first. */
		rc = rejects_write(a->cfg, a->merge, err, sizeof err);
	/* An incremental run: the new state before the outputs (incr.h). */
	if (rc == 0 && in->flag && a->cfg->state_save)
		rc = save_partial(a, err, sizeof err);
	if (in->flag) {
		if (rc == 0 && (a->cfg->partial ||
				write_outputs(a, err, sizeof err) == 0)) {
			m.flag = 1;
			m.records = rows_written(a);
			fault_after_write();
		}
	}
	snprintf(m.text, sizeof m.text, "%s", err);
	agg_send(a, &m);
	a->exit_code = m.flag || !in->flag ? 0 : 1;
	a->finished = true;
}

static void on_ctl(struct agg *a, const struct ctl_msg *m)
{
	if (m->type != CTL_FINISH &&
	    (m->provider < 0 || m->provider >= a->cfg->nproviders ||
	     a->prov[m->provider].ring == NULL)) {
		send_fatal(a, "bad control message");
		return;
	}
	switch (m->type) {
	case CTL_START:
		on_start(a, m);
		break;
	case CTL_END:
		on_end(a, m);
		break;
	case CTL_DROP:
		for (int i = 0; i < a->nmerges; i++)
			merge_drop(a->merges[i], m->provider);
		break;
	case CTL_FINISH:
		on_finish(a, m);
		break;
	default:
		send_fatal(a, "unexpected control message");
	}
}

/*
 * Send what waits in the outgoing queue, then handle every control message
 * waiting.  Returns -1 if the supervisor left.
 */
static int poll_ctl(struct agg *a)
{
	struct ctl_msg m;
	int rc;

	if (ctl_queue_flush(a->ctl_fd, &a->out) < 0)
		a->sup_gone = true;
	while (!a->finished && !a->sup_gone) {
		rc = ctl_recv(a->ctl_fd, &m);
		if (rc == 1) {
			on_ctl(a, &m);
			continue;
		}
		if (rc < 0 && errno == EAGAIN)
			return 0;
		return -1;
	}
	return a->sup_gone ? -1 : 0;
}

/* A byte on the heartbeat pipe, at most every AGG_BEAT_MS. */
static void beat(struct agg *a, uint64_t now)
{
	char b = 'h';

	if (a->hb_fd < 0 || now - a->beat_ms < AGG_BEAT_MS)
		return;
	a->beat_ms = now;
	/* Non-blocking: a full pipe already says we are alive. */
	if (write(a->hb_fd, &b, 1) < 0 && errno != EAGAIN && errno != EINTR)
		a->hb_fd = -1;
	for (int i = 0; trace_on && i < a->cfg->nproviders; i++)
		agg_trace_ring(a->cfg, i, a->prov[i].active ? a->prov[i].ring : NULL);
	trace_flush_due();
}

/*
 * Is it time to look at the control socket?  Whenever the coarse clock
 * has moved since the last look, and every CTL_EVERY_ROUNDS rounds.
 */
static bool ctl_due(struct agg *a, unsigned round)
{
	uint64_t tick = clock_coarse_ms();

	if (tick == a->ctl_tick && round % CTL_EVERY_ROUNDS != 0)
		return false;
	a->ctl_tick = tick;
	return true;
}

/* Has a provider's folded count moved since its last CTL_PROGRESS? */
static bool unreported(const struct agg_prov *p)
{
	return p->ring && (p->records != p->reported ||
			   p->filtered != p->reported_filtered);
}

/*
 * Tell the supervisor the folded counts that changed (for --progress), at
 * most every PROGRESS_EVERY_MS.  Best effort, unlike every other message:
 * a count that does not fit now is sent with the next one, and never
 * queued in front of CTL_ENDED.
 */
static void send_progress(struct agg *a)
{
	uint64_t now = clock_ms();
	int queued = 0;

	if (now - a->progress_ms < PROGRESS_EVERY_MS || a->sup_gone ||
	    ctl_queue_pending(&a->out))
		return;
	a->progress_ms = now;
	if (ioctl(a->ctl_fd, SIOCOUTQ, &queued) == 0 &&
	    queued > PROGRESS_MAX_QUEUED)
		return;
	for (int i = 0; i < a->cfg->nproviders; i++) {
		struct agg_prov *p = &a->prov[i];
		struct ctl_msg m = { .type = CTL_PROGRESS, .provider = i };

		if (!unreported(p))
			continue;
		m.attempt = p->attempt;
		m.records = p->records;
		m.rejects = p->nrejects;
		m.filtered = p->filtered;
		if (ctl_send(a->ctl_fd, &m) < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				a->sup_gone = true;
			return;
		}
		p->reported = p->records;
		p->reported_filtered = p->filtered;
	}
}

/*
 * How long the aggregator may sleep: until the next heartbeat is due, or
 * sooner when a count is still to be reported, until send_progress() may
 * send it.
 */
static int progress_wait_ms(const struct agg *a)
{
	uint64_t now = clock_ms(), since = now - a->progress_ms;
	uint64_t beat_in = now - a->beat_ms >= AGG_BEAT_MS
			   ? 0 : AGG_BEAT_MS - (now - a->beat_ms);

	for (int i = 0; i < a->cfg->nproviders; i++)
		if (unreported(&a->prov[i])) {
			uint64_t w = since >= PROGRESS_EVERY_MS
				     ? 0 : PROGRESS_EVERY_MS - since;

			return (int)(w < beat_in ? w : beat_in);
		}
	return (int)beat_in;
}

/*
 * Sleep until a ring or the control socket has something, or timeout_ms
 * (-1: no limit) have passed.
 */
static void sleep_all(struct agg *a, int timeout_ms)
{
	int n = a->cfg->nproviders;
	struct pollfd *fds = a->fds;
	int *map = a->fd_owner;
	int nfds = 0;

	for (int i = 0; i < n; i++) {
		struct agg_prov *p = &a->prov[i];

		if (!p->active || p->poisoned || p->stopped)
			continue;
		if (ring_consumer_prepare_sleep(p->ring))
			return;
		fds[nfds].fd = ring_consumer_fd(p->ring);
		fds[nfds].events = POLLIN;
		map[nfds++] = i;
	}
	fds[nfds].fd = a->ctl_fd;
	/* Messages wait to be sent: wake when the socket takes them. */
	fds[nfds].events = POLLIN | (ctl_queue_pending(&a->out) ? POLLOUT : 0);
	map[nfds++] = -1;
	fds[nfds].fd = term_pipe[0];
	fds[nfds].events = POLLIN;
	map[nfds++] = -2;
	if (stop_requested || poll(fds, (nfds_t)nfds, timeout_ms) < 0)
		return;
	for (int k = 0; k < nfds; k++)
		if (map[k] >= 0 && (fds[k].revents & POLLIN))
			ring_consumer_woken(a->prov[map[k]].ring);
}

/*
 * Before exiting: hand the supervisor what still waits in the queue (the
 * last CTL_FINISHED, say).  The supervisor never blocks on us, so waiting
 * for POLLOUT ends, unless it is gone (an error) or we are told to stop.
 */
static void flush_out(struct agg *a)
{
	struct pollfd pfd = { .fd = a->ctl_fd, .events = POLLOUT };

	while (!a->sup_gone && ctl_queue_pending(&a->out) && !stop_requested) {
		if (ctl_queue_flush(a->ctl_fd, &a->out) < 0)
			break;
		if (ctl_queue_pending(&a->out) && poll(&pfd, 1, AGG_BEAT_MS) < 0 &&
		    errno != EINTR)
			break;
		beat(a, clock_ms());
	}
}

int agg_main(const struct cfg *cfg, struct ring *rings, int ctl_fd, int hb_fd)
{
	struct agg a = { .cfg = cfg, .ctl_fd = ctl_fd, .hb_fd = hb_fd,
			 .exit_code = 1 };
	struct sigaction sa = { .sa_handler = on_term };
	int idle = 0;

	if (pipe2(term_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		term_pipe[0] = term_pipe[1] = -1;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	out_set_stop_flag(&stop_requested); /* a stop abandons the output */
	a.prov = calloc((size_t)cfg->nproviders, sizeof *a.prov);
	a.fds = calloc((size_t)cfg->nproviders + 2, sizeof *a.fds);
	a.fd_owner = calloc((size_t)cfg->nproviders + 2, sizeof *a.fd_owner);
	a.nmerges = 1 + cfg->noutputs;
	a.merges = calloc((size_t)a.nmerges, sizeof *a.merges);
	a.views = calloc((size_t)a.nmerges, sizeof *a.views);
	for (int i = 0; a.merges && a.views && i < a.nmerges; i++) {
		cfg_output_view(cfg, i - 1, &a.views[i]);
		a.merges[i] = merge_new(&a.views[i]);
		if (a.merges[i] == NULL)
			break;
	}
	a.merge = a.merges ? a.merges[0] : NULL;
	if (a.prov == NULL || a.fds == NULL || a.fd_owner == NULL ||
	    a.merges == NULL || a.views == NULL ||
	    a.merges[a.nmerges - 1] == NULL) {
		send_fatal(&a, "out of memory");
		goto out;
	}
	for (int i = 0; i < cfg->nproviders; i++)
		a.prov[i].ring = rings[i].sh ? &rings[i] : NULL;
	if (cfg->partials) { /* aggregate merge: start from the partials */
		char err[CTL_TEXT_MAX];

		if (partial_set_load(cfg->partials, a.merges, a.nmerges, err,
				     sizeof err) < 0) {
			send_fatal(&a, err);
			goto out;
		}
	}
	if (fcntl(ctl_fd, F_SETFL, O_NONBLOCK) < 0) {
		send_fatal(&a, "cannot set up the control socket");
		goto out;
	}
	fault_late_start(cfg, rings);

	for (unsigned round = 0; !a.finished && !stop_requested; round++) {
		int work = 0;

		/* Control messages are rare: look when the clock moved. */
		if (ctl_due(&a, round)) {
			if (poll_ctl(&a) < 0)
				break; /* the supervisor is gone: write nothing */
			send_progress(&a);
			beat(&a, clock_ms());
		}
		for (int i = 0; i < cfg->nproviders && !a.finished; i++) {
			struct agg_prov *p = &a.prov[i];

			if (p->active && !p->poisoned && !p->stopped)
				work += drain(&a, i, FRAMES_PER_ROUND);
		}
		if (work) {
			idle = 0;
		} else if (++idle > IDLE_SPINS) {
			send_progress(&a);
			sleep_all(&a, progress_wait_ms(&a));
			idle = 0;
			round = CTL_EVERY_ROUNDS - 1;
		} else {
			cpu_relax();
		}
	}
out:
	flush_out(&a);
	ctl_queue_free(&a.out);
	for (int i = 0; a.merges && i < a.nmerges; i++)
		merge_free(a.merges[i]);
	free(a.merges);
	free(a.views);
	free(a.prov);
	free(a.fds);
	free(a.fd_owner);
	for (int k = 0; k < 2; k++)
		if (term_pipe[k] >= 0)
			close(term_pipe[k]);
	return a.exit_code;
}
