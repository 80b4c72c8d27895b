/*
 * agg_trace.c - the aggregator's events in the run's trace (see
 * agg_trace.h).  Counter names carry the provider's name, so each
 * provider's ring gets a counter track of its own.
 */
#include "agg_trace.h"

#include <stdio.h>

#include "../common/clock.h"
#include "../common/trace.h"

void agg_trace_fold(const struct cfg *cfg, int pi, uint64_t t0_us,
		    uint64_t records)
{
	char num[24];

	snprintf(num, sizeof num, "%llu", (unsigned long long)records);
	trace_span("fold", t0_us, "provider", cfg->providers[pi].name,
		   "records", num, NULL);
}

void agg_trace_ring(const struct cfg *cfg, int pi, const struct ring *r)
{
	char name[300];

	if (r == NULL || r->sh == NULL)
		return;
	snprintf(name, sizeof name, "ring fill %s", cfg->providers[pi].name);
	trace_counter(name, "percent", 100.0 * ring_fill(r));
}

static void output_span(const struct cfg *v, const char *step,
			uint64_t t0_us, bool ok)
{
	char name[300];

	snprintf(name, sizeof name, "%s %s", step,
		 v->output_name ? v->output_name : "output");
	trace_span(name, t0_us, "ok", ok ? "yes" : "no", NULL);
}

int agg_trace_prepare(struct merge *m, const struct cfg *v, char *err,
		      size_t len)
{
	uint64_t t0 = trace_on ? clock_us() : 0;
	int rc = merge_prepare(m, err, len);

	if (trace_on)
		output_span(v, "write", t0, rc == 0);
	return rc;
}

int agg_trace_finish(struct merge *m, const struct cfg *v, char *err,
		     size_t len)
{
	uint64_t t0 = trace_on ? clock_us() : 0;
	int rc = merge_finish(m, err, len);

	if (trace_on)
		output_span(v, "commit", t0, rc == 0);
	return rc;
}
