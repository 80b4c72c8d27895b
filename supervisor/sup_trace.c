/*
 * sup_trace.c - the supervisor's events in the run's trace (see
 * sup_trace.h).  Tracks are sorted: supervisor, aggregator, then each
 * provider's attempts in order, under the provider's place in the config.
 */
#include "sup_trace.h"

#include <stdio.h>
#include <sys/wait.h>

#include "../common/clock.h"
#include "../common/trace.h"

/* How a process ended, as its lifetime span says: "exit status 0". */
static void ending(int status, char *out, size_t len)
{
	if (WIFEXITED(status))
		snprintf(out, len, "exit status %d", WEXITSTATUS(status));
	else
		sup_child_describe(status, out, len);
}

/* A provider attempt's place among the tracks. */
static int sort_index(int i, unsigned attempt)
{
	return 10 + i * 1000 + (attempt < 999 ? (int)attempt : 999);
}

void sup_trace_spawned(const struct sup *s, int i, pid_t pid,
		       uint64_t start_us)
{
	struct child *c = &s->ch[i];
	const char *name = s->cfg->providers[i].name;
	char track[300], num[24], ms[24];

	if (!trace_on)
		return;
	c->trace_pid = pid;
	c->trace_start_us = start_us;
	snprintf(track, sizeof track, "provider %s attempt %u", name, c->attempt);
	trace_name(pid, track, sort_index(i, c->attempt));
	if (c->attempt <= 1 || c->trace_ended_us == 0)
		return;
	/* The wait between the death and this start, on our own track. */
	trace_span("backoff", c->trace_ended_us, "provider", name, NULL);
	snprintf(num, sizeof num, "%u", c->attempt);
	snprintf(ms, sizeof ms, "%llu", (unsigned long long)
		 (start_us > c->trace_ended_us ? start_us - c->trace_ended_us
					       : 0) / 1000u);
	trace_instant_for(pid, "restarted", start_us, "provider", name,
			  "attempt", num, "cause", c->cause, "waited_ms", ms,
			  "backoff_ms", c->trace_backoff_ms, NULL);
}

void sup_trace_reaped(const struct sup *s, int i, pid_t pid)
{
	const struct child *c = &s->ch[i];
	char what[64], num[24], span[32];

	if (!trace_on || pid != c->trace_pid)
		return;
	ending(c->status, what, sizeof what);
	snprintf(num, sizeof num, "%u", c->attempt);
	snprintf(span, sizeof span, "attempt %u", c->attempt);
	trace_span_for(pid, span, c->trace_start_us, clock_us(),
		       "provider", s->cfg->providers[i].name, "attempt", num,
		       "end", what, "killed_because",
		       c->kill_cause[0] ? c->kill_cause : NULL, NULL);
}

void sup_trace_agg_reaped(const struct sup *s, uint64_t start_us, int status)
{
	char what[64];

	if (!trace_on)
		return;
	ending(status, what, sizeof what);
	trace_span_for(s->agg_pid, "aggregator", start_us, clock_us(), "end",
		       what, NULL);
}

void sup_trace_ended(const struct sup *s, int i, enum sup_end end)
{
	struct child *c = &s->ch[i];
	const char *name = s->cfg->providers[i].name;
	char num[24];
	uint64_t now;

	if (!trace_on)
		return;
	c->trace_ended_us = clock_us();
	snprintf(num, sizeof num, "%u", c->attempt);
	switch (end) {
	case SUP_END_DONE:
		trace_instant("done", "provider", name, "attempt", num, NULL);
		break;
	case SUP_END_FAILED:
		trace_instant("failed", "provider", name, "attempt", num,
			      "cause", c->cause, NULL);
		break;
	case SUP_END_RESTART:
		now = clock_ms();
		snprintf(c->trace_backoff_ms, sizeof c->trace_backoff_ms, "%llu",
			 (unsigned long long)(c->backoff_until > now
					      ? c->backoff_until - now : 0));
		trace_instant("restart", "provider", name, "attempt", num,
			      "cause", c->cause, "backoff_ms",
			      c->trace_backoff_ms, NULL);
		break;
	}
}

void sup_trace_kill(const struct child *c, const char *cause)
{
	if (trace_on && c->pid > 0)
		trace_instant_for(c->pid, "killed", clock_us(), "cause", cause,
				  "signal", "SIGKILL", NULL);
}
