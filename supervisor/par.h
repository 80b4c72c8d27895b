/*
 * par.h - `parallel = N | auto` on a file provider: its input cut into
 * byte ranges (providers/file_par.h), each read by a provider of its own.
 *
 * Before the run, each such provider is replaced in the config by its
 * ranges, in their order: providers named NAME[0], NAME[1], ... (so logs,
 * -v, the trace and the progress name them), each with its range
 * (config.h: struct cfg_provider's whole, range_*).  To the supervisor and
 * the aggregator each is a provider like any other: its own ring,
 * checkpoints, restarts and backoff.  Consecutive in the config, their
 * records come out in the source's order wherever providers' order
 * decides (union outputs, the reject file, the merge of the group
 * tables), under NAME (cfg_provider_label()).  After the run the
 * config's own providers come back and the ranges' counts add up to
 * theirs, for the summary, the metrics and the warnings.
 */
#ifndef AGG_PAR_H
#define AGG_PAR_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/config.h"
#include "metrics.h"

struct par;

/*
 * Replace every enabled file provider that asks for parallel reads by its
 * ranges (one that is not cut stays, with a debug line saying why, a
 * warning when it asked for a number), but those whole[i] marks (whole
 * NULL: none).  *out (NULL: nothing replaced) goes to par_collapse().
 * Returns 0, or -1 when out of memory (logged).
 */
int par_expand(struct cfg *cfg, const bool *whole, struct par **out);

/*
 * The run was abandoned because range k of the expanded config ended
 * inside a quoted field (sup_opts.cut): a cut of its file was not a
 * record start.  Warns once, naming the file, the cut and its line, and
 * marks its provider in whole (one entry per provider of the config's
 * own) to be read by one process when the run is done again.
 */
void par_redo(const struct cfg *cfg, const struct par *par, int k,
	      bool *whole);

/*
 * Put back the config's own providers; stats (one entry per provider of
 * the expanded config, may be NULL) are folded into one per provider.
 */
void par_collapse(struct cfg *cfg, struct par *par,
		  struct metrics_prov *stats);

/* --check: under p's line, how its input would be cut, or why not. */
void par_report(const struct cfg_provider *p);

/*
 * An incremental run (state) and parallel reads do not go together:
 * 0, or -1 with "CONFIG:LINE: ..." in err (exit 78).
 */
int par_check_state(const struct cfg *cfg, char *err, size_t errlen);

#endif
