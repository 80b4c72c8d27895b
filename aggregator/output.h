/*
 * output.h - writing the result rows: CSV and JSON Lines files or stdout
 * (SQLite and PostgreSQL tables come through the same interface).
 *
 * A file is written under a temporary name in the same folder and renamed
 * over the target only by out_commit(), so a failed or interrupted run
 * leaves the previous output untouched.  out_abort() removes the temporary.
 */
#ifndef AGG_OUTPUT_H
#define AGG_OUTPUT_H

#include <stddef.h>

#include "../ipc/record.h"
#include "config.h"

struct out_col {
	const char *name;
	enum rec_type type;
};

struct out_writer;

/*
 * Open the output that cfg describes (cfg->output, cfg->format; "-" is
 * stdout) for rows of these columns (copied; the names must outlive the
 * writer).  Returns the writer, or NULL with a message in err.
 */
struct out_writer *out_open(const struct cfg *cfg, const struct out_col *cols,
			    int ncols, char *err, size_t errlen);

/* Write one row of ncols values.  Returns 0, or -1 with err. */
int out_row(struct out_writer *w, const struct rec_value *v, char *err,
	    size_t errlen);

/*
 * Finish: flush, fsync and rename into place (files), then free the
 * writer.  Returns 0, or -1 with err (the temporary file is removed).
 */
int out_commit(struct out_writer *w, char *err, size_t errlen);

/* Give up: remove the temporary file and free the writer.  NULL is fine. */
void out_abort(struct out_writer *w);

#endif
