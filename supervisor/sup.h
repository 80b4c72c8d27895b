/*
 * sup.h - the supervisor: forks the aggregator and the providers, restarts
 * what fails, enforces the time limits, and decides the exit status.
 */
#ifndef AGG_SUP_H
#define AGG_SUP_H

#include <stdbool.h>

#include "../common/config.h"
#include "../ipc/token.h"
#include "metrics.h"
#include "progress.h"

/* Exit statuses of the whole run (the user contract, §2). */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,
	EXIT_PARTIAL = 2,
	EXIT_USAGE = 64,
	EXIT_DATAERR = 65,    /* a partial refused (aggregate merge) */
	EXIT_NOINPUT = 66,
	EXIT_TEMPFAIL = 75,
	EXIT_CONFIG = 78,
	EXIT_SIGINT = 130,
	EXIT_SIGTERM = 143,
};

struct sup_opts {
	int jobs;               /* providers at once; 0 = all */
	bool quiet;             /* no summary table */
	bool progress;          /* live progress lines on stderr */
	const char *metrics_file;
	struct progress *progress_block; /* drawn while running, or NULL */
	struct metrics_prov *stats;  /* filled at the end (cfg->nproviders
					entries, status NULL: did not run),
					or NULL */
	uint64_t *rows_written;      /* filled at the end, or NULL */
	int *cut;                    /* out: the range (parallel) whose end
					fell inside a quoted field, when the
					run was abandoned for it (par.h);
					-1 else; or NULL */
	struct sup_token *tokens;    /* cfg->nproviders entries, or NULL: in,
					each provider's first resume token
					(an incremental run's bookmark, len
					0: none); out, its last (incr.h) */
};

struct sup_token {
	uint32_t len;
	unsigned char b[PROV_TOKEN_MAX];
};

/*
 * Run the job that cfg describes (only enabled providers).  Returns the exit
 * status.  Blocks signals in the calling process for its duration.
 */
int sup_run(const struct cfg *cfg, const struct sup_opts *opts);

#endif
