/*
 * output.c - the result writer (output.h): picks the sink for the format
 * (out_sink.h), and holds what every sink shares: the copy of the columns,
 * the row count, the stop flag and the test builds' hooks.
 *
 * How it fits: merge.c opens one writer with out_open(), hands it every row
 * with out_row() and finishes with out_commit() (or out_abort() on any
 * error).  The sinks: CSV and JSON Lines (out_text.c, through the row
 * buffer of out_buf.h and the files of outfile.h), SQLite (out_sqlite.c)
 * and PostgreSQL (out_pg.c), the two tables sharing their SQL text
 * (out_sql.c).
 *
 * Invariants:
 *  - Every writer out_open() returns ends in exactly one out_commit() or
 *    out_abort(), which run the sink's commit or abort once and free it.
 *  - Once the stop flag is set, no row is written and nothing is committed:
 *    the sink is aborted, so a stopped run leaves the previous output.
 *  - One indirect call per row (the sink's row function), none per value.
 */
#include "output.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out_pg.h"
#include "out_sink.h"
#include "out_sqlite.h"
#include "out_text.h"
#ifdef AGG_TESTING
#include "../common/log.h"
#endif

static const char *format_name(enum cfg_format f)
{
	switch (f) {
	case CFG_FMT_CSV:
		return "csv";
	case CFG_FMT_JSONL:
		return "jsonl";
	case CFG_FMT_SQLITE:
		return "sqlite";
	case CFG_FMT_POSTGRES:
		return "postgres";
	case CFG_FMT_AUTO:
		break;
	}
	return "auto";
}

long out_fail_after_rows(void)
{
#ifdef AGG_TESTING
	const char *s = getenv("AGG_OUT_FAIL_AFTER");

	return s && *s ? atoi(s) : -1;
#else
	return -1;
#endif
}

static const struct out_sink *const sinks[] = {
	&out_text_csv, &out_text_jsonl, &out_sqlite, &out_pg,
};

static void writer_free(struct out_writer *w)
{
	free(w->cols);
	free(w);
}

struct out_writer *out_open(const struct cfg *cfg, const struct out_col *cols,
			    int ncols, char *err, size_t errlen)
{
	const struct out_sink *sink = NULL;
	struct out_writer *w = NULL;
	size_t i;

	for (i = 0; i < sizeof(sinks) / sizeof(sinks[0]); i++)
		if (sinks[i]->format == cfg->format)
			sink = sinks[i];
	if (sink == NULL) {
		snprintf(err, errlen, "output format %s is not supported yet",
			 format_name(cfg->format));
		goto out;
	}
	if (cfg->output == NULL || ncols < 0) {
		snprintf(err, errlen, "no output given");
		goto out;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		goto out_nomem;
	w->sink = sink;
	w->ncols = ncols;
	w->cols = malloc(sizeof(*cols) * (size_t)(ncols > 0 ? ncols : 1));
	if (w->cols == NULL)
		goto out_nomem;
	if (ncols > 0)
		memcpy(w->cols, cols, sizeof(*cols) * (size_t)ncols);
	if (sink->open(w, cfg, err, errlen) < 0)
		goto out_abort;
	return w;

out_nomem:
	snprintf(err, errlen, "out of memory opening output %s",
		 cfg->output ? cfg->output : "");
	if (w == NULL)
		goto out;
out_abort:
	sink->abort(w);
	writer_free(w);
	w = NULL;
out:
	return w;
}

void out_describe(const struct cfg *cfg, char *buf, size_t len)
{
	const char *table = cfg->table ? cfg->table : "aggregate";
	char *target, *password = NULL;

	if (cfg->format == CFG_FMT_POSTGRES) {
		target = out_pg_target(cfg->output, &password);
		snprintf(buf, len, "table %s (%s)", table,
			 target ? target : "PostgreSQL");
		free(target);
		free(password);
	} else if (cfg->format == CFG_FMT_SQLITE) {
		snprintf(buf, len, "table %s in %s", table, cfg->output);
	} else {
		snprintf(buf, len, "%s",
			 strcmp(cfg->output, "-") == 0 ? "stdout" : cfg->output);
	}
}

static volatile sig_atomic_t *stop_flag;

void out_set_stop_flag(volatile sig_atomic_t *flag)
{
	stop_flag = flag;
}

static bool stopping(char *err, size_t errlen)
{
	if (stop_flag == NULL || *stop_flag == 0)
		return false;
	snprintf(err, errlen, "output abandoned: the run was stopped by a signal");
	return true;
}

#ifdef AGG_TESTING
/*
 * Test builds: AGG_OUT_STOP_AFTER=N sends SIGTERM to the supervisor after
 * row N and waits for it to come back (the supervisor forwards it), so a
 * test can stop a run in the middle of its output deterministically.
 */
static void stop_hook(struct out_writer *w)
{
	const char *s = getenv("AGG_OUT_STOP_AFTER");
	sigset_t block, old;

	if (s == NULL || *s == '\0' || stop_flag == NULL ||
	    w->rows != strtol(s, NULL, 10))
		return;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	kill(getppid(), SIGTERM);
	sigdelset(&old, SIGTERM);
	while (*stop_flag == 0)
		sigsuspend(&old);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
}

/*
 * Test builds: AGG_OUT_HANG_AFTER=N, after row N, puts what is buffered
 * into the temporary, logs "fault injected" (point output_write) and waits
 * for a signal, so a test can kill the run in the middle of its write.
 */
static void hang_hook(struct out_writer *w)
{
	const char *s = getenv("AGG_OUT_HANG_AFTER");

	if (s == NULL || *s == '\0' || w->rows != strtol(s, NULL, 10))
		return;
	if (w->sink->flush != NULL)
		w->sink->flush(w);
	log_event(LOG_WARN, NULL, "fault injected", "point", "output_write",
		  NULL);
	while (stop_flag == NULL || *stop_flag == 0)
		pause();
}
#endif

int out_row(struct out_writer *w, const struct rec_value *v, char *err,
	    size_t errlen)
{
#ifdef AGG_TESTING
	stop_hook(w);
	hang_hook(w);
#endif
	if (stopping(err, errlen))
		return -1;
	w->rows++;
	return w->sink->row(w, v, err, errlen);
}

bool out_can_format(const struct out_writer *w)
{
	return w->sink->format_row != NULL && w->sink->put_rows != NULL;
}

void out_format_row(const struct out_writer *w, struct out_buf *b,
		    const struct rec_value *v)
{
	w->sink->format_row(w, b, v);
}

int out_put_rows(struct out_writer *w, const char *p, size_t n, long nrows,
		 char *err, size_t errlen)
{
#ifdef AGG_TESTING
	/* The hooks at each row's count, as out_row() runs them. */
	for (long i = 0; i < nrows; i++) {
		stop_hook(w);
		hang_hook(w);
		w->rows++;
	}
	w->rows -= nrows;
#endif
	if (stopping(err, errlen))
		return -1;
	w->rows += nrows;
	return w->sink->put_rows(w, p, n, err, errlen);
}

int out_commit(struct out_writer *w, char *err, size_t errlen)
{
	int rc;

	/* The last moment a stop can still leave the old output in place. */
	if (stopping(err, errlen)) {
		out_abort(w);
		return -1;
	}
	rc = w->sink->commit(w, err, errlen);
	writer_free(w);
	return rc;
}

void out_abort(struct out_writer *w)
{
	if (w == NULL)
		return;
	w->sink->abort(w);
	writer_free(w);
}
