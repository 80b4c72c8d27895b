/*
 * metrics.h - the run's Prometheus metrics file (--metrics, metrics_file).
 *
 * The file follows node_exporter's textfile-collector convention: the text
 * exposition format with HELP and TYPE lines, written to a temporary file
 * in the same folder and renamed over FILE, so the collector never reads a
 * half-written file.  It is written at the end of every run, failed ones
 * included; aggregate_last_success_timestamp_seconds then keeps the value
 * the previous file had, so "how long since the last good run" stays true.
 *
 * Metrics (one series per provider where labelled):
 *   aggregate_provider_records_total{provider}     records counted
 *   aggregate_provider_rejects_total{provider}     rejects counted
 *   aggregate_provider_filtered_total{provider}    records a `where`
 *                                                  dropped (only when a
 *                                                  where can drop any)
 *   aggregate_provider_restarts_total{provider}    restarts
 *   aggregate_provider_duration_seconds{provider}  first start to end
 *   aggregate_provider_status{provider,status}     1 for its status, 0 others
 *   aggregate_run_success                          1 when exit status is 0
 *   aggregate_run_exit_code                        the exit status
 *   aggregate_run_duration_seconds                 the whole run
 *   aggregate_run_rows_written                     rows in every output
 *   aggregate_run_timestamp_seconds                when this run ended
 *   aggregate_last_success_timestamp_seconds       when a run last succeeded
 * Nothing from the config but provider names reaches the file.
 */
#ifndef AGG_METRICS_H
#define AGG_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "../common/config.h"

/* What the supervisor reports of one provider at the end of a run. */
struct metrics_prov {
	const char *status;   /* "ok", "failed", "stopped"; NULL: did not run */
	uint64_t records;
	uint64_t rejects;
	uint64_t filtered;    /* dropped by a `where` */
	int restarts;
	double seconds;
};

struct metrics_run {
	int exit_code;
	double seconds;
	uint64_t rows;              /* rows written */
	const struct metrics_prov *prov; /* cfg->nproviders entries, or NULL */
};

/*
 * Write the metrics of a run of cfg (may be NULL when the config did not
 * load: then only the run's metrics are written) to path, atomically.
 * Returns 0, or -1 with a message in err.
 */
int metrics_write(const char *path, const struct cfg *cfg,
		  const struct metrics_run *run, char *err, size_t errlen);

#endif
