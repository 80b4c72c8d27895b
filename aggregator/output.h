/*
 * output.h - writing the result rows: CSV and JSON Lines files or stdout,
 * SQLite and PostgreSQL tables, all through the same interface.
 *
 * A file is written under a temporary name in the same folder and renamed
 * over the target only by out_commit(), so a failed or interrupted run
 * leaves the previous output untouched.  out_abort() removes the temporary.
 * A symlink's target is replaced (the link stays); a FIFO, a character
 * device and "-" (stdout) are written as streams (outfile.h).  With
 * cfg->write append, a CSV or JSON Lines file keeps its rows and gets the
 * new ones after them (CSV: the header must be the same, written once).
 *
 * A table (cfg->table, default "aggregate"; cfg->write replace or append)
 * is written in one transaction that out_open() begins and out_commit()
 * commits; out_abort() rolls it back, so a failed run leaves the table as
 * it was.  A missing table is created with typed columns (int, float, text,
 * bool, timestamp, decimal(p,s), date: SQLite INTEGER, REAL, TEXT, INTEGER
 * 0/1, TEXT RFC 3339, TEXT of the digits, TEXT YYYY-MM-DD; PostgreSQL
 * BIGINT, DOUBLE PRECISION, TEXT, BOOLEAN, TIMESTAMPTZ, NUMERIC(p,s),
 * DATE); an existing one must have the same set of column names, and in
 * PostgreSQL a decimal or date column the same type.
 */
#ifndef AGG_OUTPUT_H
#define AGG_OUTPUT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ipc/record.h"
#include "../common/config.h"

struct out_col {
	const char *name;
	enum rec_type type;
	uint8_t prec, scale; /* a decimal's p and s (decimal(p,s)); else 0 */
};

struct out_writer;

/*
 * Open the output that cfg describes (cfg->output, cfg->format; "-" is
 * stdout) for rows of these columns (copied; the names must outlive the
 * writer).  Returns the writer, or NULL with a message in err.
 */
struct out_writer *out_open(const struct cfg *cfg, const struct out_col *cols,
			    int ncols, char *err, size_t errlen);

/*
 * A description of cfg's output for messages and logs: the path, "stdout",
 * "table T in FILE", or "table T (dbname=... host=...)" for PostgreSQL,
 * which never holds a password.
 */
void out_describe(const struct cfg *cfg, char *buf, size_t len);

/* Write one row of ncols values.  Returns 0, or -1 with err. */
int out_row(struct out_writer *w, const struct rec_value *v, char *err,
	    size_t errlen);

struct out_buf;

/*
 * Rows formatted off the writer (merge_rows.c, on two threads): true when
 * w's sink is a byte stream (CSV, JSON Lines) that out_format_row() can
 * format into a caller's buffer.
 */
bool out_can_format(const struct out_writer *w);

/*
 * Format one row into b exactly as out_row() would write it.  Reads w
 * only (never its buffer or counts): safe on another thread while the
 * writer's owner calls out_row() and out_put_rows(), once out_open()
 * returned and until out_commit() or out_abort().
 */
void out_format_row(const struct out_writer *w, struct out_buf *b,
		    const struct rec_value *v);

/*
 * Write n bytes that out_format_row() made for nrows rows, as out_row()
 * would have written those rows: the stop flag is checked first (and the
 * test builds' hooks run per row), and a failed write is reported the same
 * way.  Returns 0, or -1 with err.
 */
int out_put_rows(struct out_writer *w, const char *p, size_t n, long nrows,
		 char *err, size_t errlen);

/*
 * Finish: flush, fsync and rename into place (files), then free the
 * writer.  Returns 0, or -1 with err (the temporary file is removed).
 */
int out_commit(struct out_writer *w, char *err, size_t errlen);

/*
 * The process's "stop requested" flag (set by its SIGTERM/SIGINT handler).
 * Once it is set, out_row() and out_commit() fail ("stopped by a signal")
 * and give up the output, so a run stopped while it writes leaves the
 * previous output (file or table) in place.
 */
void out_set_stop_flag(volatile sig_atomic_t *flag);

/* Give up: remove the temporary file and free the writer.  NULL is fine. */
void out_abort(struct out_writer *w);

#endif
