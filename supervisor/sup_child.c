/*
 * sup_child.c - the process table's rows and the restart policy (see
 * sup_child.h).
 *
 * The restart policy: a provider fails for good when its process exits
 * with PROV_FAIL_PERMANENT or PROV_FAIL_CONFIG, or when it fails restart
 * + 1 times in a row without a healthy attempt between.  An attempt is
 * healthy when the aggregator folded at least one checkpoint of it that
 * moved the provider forward (more records or rejects, or a new resume
 * token): only the aggregator knows that, so a failure after restart
 * attempts in a row is "final unless it progressed" (CTL_END), and
 * CTL_ENDED says whether it did.  Restarts wait a doubling, capped,
 * jittered backoff.
 */
#include "sup_child.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "sup_trace.h"

void sup_child_describe(int status, char *out, size_t len)
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

void sup_child_reaped(struct child *c, int status)
{
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
}

void sup_child_done_reaped(const struct child *c,
			   const struct cfg_provider *p)
{
	char cause[CTL_TEXT_MAX];

	if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0)
		return;
	sup_child_describe(c->status, cause, sizeof cause);
	log_event(LOG_WARN, p->name, "ended badly after DONE", "cause", cause,
		  NULL);
}

uint32_t sup_child_end_flag(const struct child *c, int restart)
{
	if (c->permanent || restart <= 0)
		return CTL_END_FINAL;
	return c->streak >= restart ? CTL_END_FINAL_UNLESS_PROGRESS : 0;
}

/* Delay before restart number k (1-based): doubling, capped, jittered. */
static uint64_t backoff_delay(const struct cfg *cfg, int k, unsigned *rng)
{
	uint64_t d = cfg->backoff_ms;

	for (int j = 1; j < k && d < cfg->backoff_max_ms; j++)
		d *= 2;
	if (d > cfg->backoff_max_ms)
		d = cfg->backoff_max_ms;
	/* Jitter: somewhere in [d/2, d], so restarts do not stampede. */
	if (d > 1)
		d = d / 2 + (uint64_t)rand_r(rng) % (d / 2 + 1);
	return d;
}

enum sup_end sup_child_ended(struct child *c, const struct cfg *cfg,
			     const struct cfg_provider *p,
			     const struct ctl_msg *m, unsigned *rng)
{
	char cause[CTL_TEXT_MAX], num[32], num2[32];
	bool clean = WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0;
	bool done = m->flag & CTL_ENDED_DONE;
	uint64_t delay;

	c->records = m->records;
	c->rejects = m->rejects;
	c->filtered = m->filtered;
	/* None folded this run: an incremental run's bookmark stays. */
	if (m->token_len > 0) {
		c->token_len = m->token_len;
		memcpy(c->token, m->token, m->token_len);
	}

	if (done) {
		/*
		 * DONE was folded: everything is counted.  A process that dies
		 * after that (killed, or crashing on its way out) has still
		 * finished; a restart would resume from the last checkpoint and
		 * send again what DONE covered after it.  One still running
		 * (CTL_DONE) is judged when it is reaped.
		 */
		if (!clean && c->pid <= 0) {
			sup_child_describe(c->status, cause, sizeof cause);
			log_event(LOG_WARN, p->name, "ended badly after DONE",
				  "cause", cause, NULL);
		}
		c->state = P_DONE;
		c->finished = clock_ms();
		return SUP_END_DONE;
	}

	/* Failed: say why, most specific first. */
	if (c->kill_cause[0])
		snprintf(cause, sizeof cause, "%s", c->kill_cause);
	else if (m->text[0] && !WIFSIGNALED(c->status))
		snprintf(cause, sizeof cause, "%s", m->text);
	else
		sup_child_describe(c->status, cause, sizeof cause);
	snprintf(c->cause, sizeof c->cause, "%s", cause);

	/* A healthy attempt (see the policy above) starts a new streak. */
	if (m->flag & CTL_ENDED_PROGRESSED)
		c->streak = 0;
	if (c->permanent || c->streak >= p->restart) {
		c->state = P_FAILED;
		c->finished = clock_ms();
		snprintf(num, sizeof num, "%u", c->attempt);
		log_event(LOG_ERROR, p->name, "failed", "attempt", num, "cause",
			  cause, NULL);
		return SUP_END_FAILED;
	}
	c->restarts++;
	c->streak++;
	c->state = P_BACKOFF;
	delay = backoff_delay(cfg, c->streak, rng);
	c->backoff_until = clock_ms() + delay;
	snprintf(num, sizeof num, "%u", c->attempt + 1);
	snprintf(num2, sizeof num2, "%llums", (unsigned long long)delay);
	log_event(LOG_WARN, p->name, "restarted", "attempt", num, "cause",
		  cause, "backoff", num2, NULL);
	return SUP_END_RESTART;
}

void sup_child_log_done(const struct child *c, const struct cfg *cfg,
			const struct cfg_provider *p)
{
	char num[32], num2[32], num3[32];

	snprintf(num, sizeof num, "%llu", (unsigned long long)c->records);
	snprintf(num2, sizeof num2, "%llu", (unsigned long long)c->rejects);
	snprintf(num3, sizeof num3, "%llu", (unsigned long long)c->filtered);
	log_event(LOG_INFO, p->name, "finished", "records", num, "rejects",
		  num2, cfg->where || p->where ? "filtered" : NULL, num3,
		  NULL);
}

void sup_child_kill(struct child *c, const char *cause)
{
	if (c->state != P_RUNNING || c->pid <= 0)
		return;
	if (c->kill_cause[0] == '\0') {
		snprintf(c->kill_cause, sizeof c->kill_cause, "%s", cause);
		sup_trace_kill(c, cause);
	}
	kill(c->pid, SIGKILL);
}

void sup_child_kill_stalled(struct child *c, uint64_t ms)
{
	char cause[64];

	if (ms % 1000 == 0)
		snprintf(cause, sizeof cause, "stalled: no progress for %llus",
			 (unsigned long long)(ms / 1000));
	else
		snprintf(cause, sizeof cause, "stalled: no progress for %llums",
			 (unsigned long long)ms);
	sup_child_kill(c, cause);
}

const char *sup_child_state_name(enum pstate st)
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

/* The status a run's end gives a provider that ran: ok, failed, stopped. */
static const char *end_status(const struct child *c)
{
	return c->state == P_DONE ? "ok" : c->state == P_FAILED ? "failed"
							       : "stopped";
}

/* Seconds from c's first start to its end (or to end, ms, if running). */
static double seconds(const struct child *c, uint64_t end)
{
	return c->started ? (double)((c->finished ? c->finished : end) -
				     c->started) / 1000.0
			  : 0.0;
}

void sup_child_stats(const struct child *ch, int n, struct metrics_prov *stats)
{
	uint64_t end = clock_ms();

	for (int i = 0; i < n; i++) {
		const struct child *c = &ch[i];
		struct metrics_prov *m = &stats[i];

		memset(m, 0, sizeof *m);
		if (c->state == P_OFF)
			continue;
		m->status = end_status(c);
		m->records = c->records;
		m->rejects = c->rejects;
		m->filtered = c->filtered;
		m->restarts = c->restarts;
		m->seconds = seconds(c, end);
	}
}

bool sup_child_any_where(const struct cfg *cfg)
{
	if (cfg->where)
		return true;
	for (int i = 0; i < cfg->nproviders; i++)
		if (cfg->providers[i].where)
			return true;
	return false;
}

/* One row of the summary; the filtered column when a where can drop any. */
static void print_row(const char *name, const struct child *c, uint64_t end,
		      bool where)
{
	double secs = seconds(c, end);

	fprintf(stderr, "%-20s %-8s %12llu %8llu", name, end_status(c),
		(unsigned long long)c->records, (unsigned long long)c->rejects);
	if (where)
		fprintf(stderr, " %12llu", (unsigned long long)c->filtered);
	fprintf(stderr, " %8d %9.2f %12.0f\n", c->restarts, secs,
		secs > 0 ? (double)c->records / secs : 0.0);
}

void sup_child_summary(const struct child *ch, int n, const struct cfg *cfg,
		       uint64_t t0, uint64_t rows)
{
	uint64_t end = clock_ms();
	/* Records a `where` dropped: a column when a where can drop any. */
	bool where = sup_child_any_where(cfg);

	fprintf(stderr, "\n%-20s %-8s %12s %8s", "provider", "status",
		"records", "rejects");
	if (where)
		fprintf(stderr, " %12s", "filtered");
	fprintf(stderr, " %8s %9s %12s\n", "restarts", "seconds", "records/s");
	for (int i = 0, j; i < n; i = j) {
		const struct child *c = &ch[i];
		const char *label = cfg_provider_label(&cfg->providers[i]);
		struct child all = *c; /* a file's ranges (parallel): one row */

		for (j = i + 1; j < n && cfg->providers[j].whole &&
				cfg->providers[j].whole == cfg->providers[i].whole;
		     j++) {
			const struct child *d = &ch[j];

			all.records += d->records;
			all.rejects += d->rejects;
			all.filtered += d->filtered;
			all.restarts += d->restarts;
			if (d->started && (!all.started || d->started < all.started))
				all.started = d->started;
			if (!d->finished || (all.finished && d->finished > all.finished))
				all.finished = d->finished;
			if (all.state == P_DONE || d->state == P_FAILED)
				all.state = d->state;
		}
		if (c->state == P_OFF)
			continue;
		print_row(label, &all, end, where);
	}
	fprintf(stderr, "total: %.2f s, %llu rows written\n",
		(double)(end - t0) / 1000.0, (unsigned long long)rows);
}
