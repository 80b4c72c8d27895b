/*
 * out_sink.h - what every kind of output implements, and the writer that
 * output.c hands to it (output.h is the interface its callers see).
 *
 * One struct out_sink per format: CSV and JSON Lines (out_text.h), SQLite
 * (out_sqlite.h) and PostgreSQL (out_pg.h).  output.c picks the sink by
 * cfg->format, copies the columns into the writer, checks the stop flag
 * and runs the test hooks; a sink only writes.  The call order is
 *
 *     open  ->  row*  ->  commit            (success, or a failed commit)
 *     open  ->  row*  ->  abort             (any error, a stop)
 *     open (failed)   ->  abort
 *
 * and exactly one of commit or abort ends every writer, once.
 *
 * Ownership: the sink's state lives in w->impl, which open sets (also when
 * it then fails, for abort to release) and which commit and abort release,
 * leaving it NULL; they must accept a NULL impl (open failed before it
 * allocated anything).  w->cols and the writer itself belong to output.c.
 *
 * Errors: every function that can fail returns 0, or -1 with a message in
 * err for the user, which names the output (never a PostgreSQL password).
 *
 * The row function is called once per row through the pointer (one
 * indirect call per row, none per value); it formats the whole row itself.
 */
#ifndef AGG_OUT_SINK_H
#define AGG_OUT_SINK_H

#include <stddef.h>

#include "../common/config.h"
#include "output.h"

struct out_buf;

struct out_writer {
	const struct out_sink *sink;
	struct out_col *cols;   /* copy of the caller's array */
	int ncols;
	void *impl;             /* the sink's state */
	/*
	 * The writing thread writes rows for every row while another formats
	 * rows reading the fields above (merge_rows.h): a cache line (64
	 * bytes) between them, or each row's read would miss.  Padding, not
	 * _Alignas: calloc does not align to 64.
	 */
	char apart[64];
	long rows;              /* rows handed to out_row() */
};

struct out_sink {
	enum cfg_format format;
	/* Open the output cfg names (and begin its transaction). */
	int (*open)(struct out_writer *w, const struct cfg *cfg, char *err,
		    size_t errlen);
	/* Write one row of w->ncols values. */
	int (*row)(struct out_writer *w, const struct rec_value *v, char *err,
		   size_t errlen);
	/* Make the rows visible (rename, COMMIT) and release everything. */
	int (*commit)(struct out_writer *w, char *err, size_t errlen);
	/* Leave the previous output as it was and release everything. */
	void (*abort)(struct out_writer *w);
	/*
	 * Test builds' hang hook: put what is buffered where a reader sees
	 * it (the temporary).  NULL: nothing is buffered (tables).
	 */
	void (*flush)(struct out_writer *w);
	/*
	 * Byte-stream sinks (CSV, JSON Lines), else NULL: format one row as
	 * row would into b, reading w only, so on any thread (merge_rows.h);
	 * and write bytes that format made through the sink's buffer.
	 */
	void (*format_row)(const struct out_writer *w, struct out_buf *b,
		       const struct rec_value *v);
	int (*put_rows)(struct out_writer *w, const char *p, size_t n, char *err,
		   size_t errlen);
};

/*
 * Test builds: AGG_OUT_FAIL_AFTER=N, the row after the Nth fails (the
 * table outputs use it).  -1: never, and always in release builds.
 */
long out_fail_after_rows(void);

#endif
