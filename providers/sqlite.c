/*
 * sqlite.c - the sqlite provider: runs the configured query over a SQLite
 * file opened read-only and turns each result row into a record.  This
 * file is its entry points, run and check, which put the other rooms
 * together:
 *
 *   sq_db.c      opening the file, preparing the query, resolving its
 *                columns, what an SQLite error means
 *   sq_resume.c  the resume token, checkpoints, and where an attempt
 *                starts (after the last key, or over the rows counted)
 *   sq_read.c    the attempt's state and the row loop: keys checked,
 *                values typed as SQLite gives them, encoded in place
 *   sq_push.c    the group-by run in SQLite instead (pushdown)
 *
 * An attempt: read the token; open and prepare; resolve the fields
 * (sqlmap.h); plan the encoding; resume; read every row; checkpoint with
 * done=1.  A long sqlite3_step (a sort) keeps beating through SQLite's
 * progress handler.
 */
#include "sqlite.h"

#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "../common/convert.h"
#include "../common/trace.h"
#include "sq_db.h"
#include "sq_push.h"
#include "sq_read.h"
#include "sq_resume.h"
#include "sql_conf.h"
#include "sqlmap.h"

/* VM instructions between two heartbeat calls during a long step. */
#define PROGRESS_OPS 20000

/* Keep the heartbeat going while one sqlite3_step runs long (a sort). */
static int sq_progress(void *arg)
{
	prov_heartbeat(arg);
	return 0;
}

static enum prov_status sqlite_run(struct prov_ctx *c)
{
	const struct cfg_provider *p = c->p;
	struct sq_run r = { .c = c, .p = p, .key_col = -1 };
	enum prov_status st = PROV_DONE;
	bool done = false, pushed = false;
	char why[256];
	int rc;

	r.nfields = c->cfg->schema.nfields;
	if (c->token_len && sq_token_read(&r, c->token, c->token_len, &done) < 0) {
		st = prov_fail(c, PROV_FAIL_PERMANENT, "bad resume token");
		goto out_free;
	}
	if (done && !p->incr)
		goto out_free; /* only the DONE frame was lost */
	/* An incremental run goes on from its last run's key. */
	r.path = sq_plain_path(sql_conf(p)->path);
	r.map = calloc((size_t)r.nfields + 1, sizeof *r.map);
	r.vals = calloc((size_t)r.nfields + 1, sizeof *r.vals);
	r.scratch = calloc((size_t)r.nfields + 1, CONV_SCRATCH_MAX);
	r.fields = calloc((size_t)r.nfields + 1, sizeof *r.fields);
	if (r.path == NULL || r.map == NULL || r.vals == NULL ||
	    r.scratch == NULL || r.fields == NULL) {
		st = prov_fail(c, PROV_FAIL_RETRY, "out of memory");
		goto out_free;
	}
	trace_begin("open", "path", r.path, NULL);
	rc = sq_open(r.path, &r.db, c->errbuf, sizeof c->errbuf);
	trace_end("open", NULL);
	if (rc != SQLITE_OK) {
		st = sq_status(rc);
		goto out_free;
	}
	sqlite3_progress_handler(r.db, PROGRESS_OPS, sq_progress, c);
	rc = sq_prepare(r.db, r.path, sql_conf(p)->query, &r.st, c->errbuf,
			sizeof c->errbuf);
	if (rc != SQLITE_OK) {
		st = sq_status(rc);
		goto out_close;
	}
	rc = sqlmap_resolve_cols(c->cfg, p, r.st, sqlite3_column_count(r.st),
				 sq_colname, r.map, &r.key_col, c->errbuf,
				 sizeof c->errbuf);
	if (rc < 0) {
		st = rc == SQLMAP_NO_COLUMN ? PROV_FAIL_CONFIG
					    : PROV_FAIL_PERMANENT;
		goto out_close;
	}
	sq_plan(&r);
	/* Groups, not rows: decided by the first attempt, kept by restarts. */
	if (r.push || (r.rows == 0 && !r.last.type)) {
		if (sq_push_ok(&r, why, sizeof why)) {
			st = sq_push_run(&r, &pushed);
			if (pushed || st != PROV_DONE)
				goto out_close;
		}
		if (r.push) {
			st = prov_fail(c, PROV_FAIL_PERMANENT, "pushdown: an "
				       "attempt read groups and this one "
				       "cannot");
			goto out_close;
		}
	}
	if (r.key_col >= 0 && r.last.type)
		st = sq_prepare_resume(&r);
	else if (r.key_col < 0 && r.rows > 0)
		st = sq_skip(&r);
	if (st == PROV_DONE) {
		trace_begin("query", NULL);
		st = sq_loop(&r);
		trace_end("query", NULL);
	}
out_close:
	sqlite3_finalize(r.st);
	sqlite3_close(r.db);
out_free:
	buf_free(&r.last.bytes);
	free(r.fields);
	free(r.scratch);
	free(r.vals);
	free(r.map);
	free(r.path);
	return st;
}

/* --check's line: the columns and what is pushed down ("no (why)"). */
static void push_check(const struct cfg *cfg, const struct cfg_provider *p,
		       sqlite3_stmt *st, char *msg, size_t msglen)
{
	struct prov_ctx c = { .cfg = cfg, .p = p };
	struct sq_run r = { .c = &c, .p = p, .st = st, .key_col = -1 };
	int n = sqlite3_column_count(st);
	char why[256], *what = NULL;

	r.map = calloc((size_t)cfg->schema.nfields + 1, sizeof *r.map);
	if (r.map == NULL)
		snprintf(why, sizeof why, "out of memory");
	else if (sqlmap_resolve_cols(cfg, p, st, n, sq_colname, r.map,
				     &r.key_col, why, sizeof why) < 0)
		;
	else if (sq_push_ok(&r, why, sizeof why) &&
		 (what = sq_push_what(cfg)) == NULL)
		snprintf(why, sizeof why, "out of memory");
	if (what)
		snprintf(msg, msglen, "query prepared, %d columns; pushdown: "
			 "%s when every value is of its field's type", n, what);
	else
		snprintf(msg, msglen, "query prepared, %d columns; pushdown: "
			 "no (%s)", n, why);
	free(what);
	free(r.map);
}

static int sqlite_check(const struct cfg *cfg, const struct cfg_provider *p,
			char *msg, size_t msglen)
{
	const struct sql_conf *sc = sql_conf(p);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *path = sq_plain_path(sc->path);
	int rc = -1;

	if (path == NULL) {
		snprintf(msg, msglen, "out of memory");
		goto out_free;
	}
	if (sq_open(path, &db, msg, msglen) != SQLITE_OK)
		goto out_free;
	if (sq_prepare(db, path, sc->query, &st, msg, msglen) != SQLITE_OK)
		goto out_close;
	rc = sqlmap_check_cols(cfg, p, st, sqlite3_column_count(st),
			       sq_colname, msg, msglen);
	if (rc != 0)
		goto out_close;
	push_check(cfg, p, st, msg, msglen);
	rc = 0;
out_close:
	sqlite3_finalize(st);
	sqlite3_close(db);
out_free:
	free(path);
	return rc;
}

const struct prov_ops sqlite_provider_ops = {
	.name = "sqlite",
	.run = sqlite_run,
	.check = sqlite_check,
};
