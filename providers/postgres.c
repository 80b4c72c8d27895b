/*
 * postgres.c - the postgres provider: runs the configured query on a
 * PostgreSQL server and turns each result row into a record.  This file
 * is its entry points, run and check, which put the other rooms together:
 *
 *   pg_conn.c      connecting, running statements, describing the query,
 *                  what each failure means (retry or not)
 *   pg_snapshot.c  snapshot = true: the holder process and the import
 *   pg_resume.c    the resume token, checkpoints, each attempt's COPY
 *                  statement (by key, or the query again)
 *   pg_copy.c      the attempt's state, the COPY format's choice and the
 *                  rows, text or binary (pgbin.c), into records
 *   pg_push.c      the group-by run in the server instead (pushdown)
 *
 * An attempt: read the token; connect; set DateStyle ISO and exact float
 * digits (text that reads back as the same value); import the snapshot;
 * describe the query and resolve the fields (sqlmap.h); choose the COPY
 * format; copy; checkpoint with done=1; let the snapshot's holder go.
 * Every wait for the server is a poll() that beats the heartbeat, so a
 * long query is not taken for a hung provider.
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>

#include "../common/trace.h"
#include "pg_conn.h"
#include "pg_copy.h"
#include "pg_push.h"
#include "pg_resume.h"
#include "pg_snapshot.h"
#include "sql_conf.h"
#include "sqlmap.h"

static enum prov_status postgres_run(struct prov_ctx *c)
{
	const struct cfg_provider *p = c->p;
	const struct sql_conf *sc = sql_conf(p);
	struct pg_run r = { .c = c, .p = p, .key_col = -1 };
	enum prov_status st = PROV_DONE;
	PGresult *desc = NULL;
	bool done = false;
	char why[256];
	int rc;

	r.nfields = c->cfg->schema.nfields;
	if (c->token_len && pg_token_read(&r, c->token, c->token_len, &done) < 0) {
		st = prov_fail(c, PROV_FAIL_PERMANENT, "bad resume token");
		goto out_free;
	}
	if (done && p->incr) {
		/*
		 * An incremental run's bookmark: the last run's last key; its
		 * snapshot and holder are gone.  Rows past the key, now.
		 */
		r.snap[0] = '\0';
		r.holder = 0;
		r.rows = 0;
	} else if (done) {
		/* Only the DONE frame was lost; the holder may still wait. */
		pg_holder_stop(&r);
		goto out_free;
	}
	r.body = sqlmap_query_body(sc->query);
	r.map = calloc((size_t)r.nfields + 1, sizeof *r.map);
	r.vals = calloc((size_t)r.nfields + 1, sizeof *r.vals);
	if (r.body == NULL || r.map == NULL || r.vals == NULL) {
		st = prov_fail(c, PROV_FAIL_RETRY, "out of memory");
		goto out_free;
	}
	/* The snapshot's holder connects while this attempt does. */
	if (sc->snapshot)
		pg_holder_begin(&r);
	trace_begin("connect", "to", "postgresql", NULL);
	r.conn = pg_connect(sc->conninfo, p->name, c, &st, c->errbuf,
			    sizeof c->errbuf);
	trace_end("connect", "ok", r.conn ? "yes" : "no", NULL);
	if (r.conn == NULL)
		goto out_free;
	/* Text that reads back as the same value: ISO dates, exact floats. */
	if (pg_run_sql(r.conn, c, "SET DateStyle = ISO; SET extra_float_digits = 3",
		       PGRES_COMMAND_OK, NULL, "cannot set up the session", &st,
		       c->errbuf, sizeof c->errbuf) < 0)
		goto out_finish;
	if (sc->snapshot && (st = pg_snapshot(&r)) != PROV_DONE)
		goto out_finish;
	desc = pg_describe(r.conn, c, r.body, &st, c->errbuf, sizeof c->errbuf);
	if (desc == NULL)
		goto out_finish;
	rc = sqlmap_resolve_cols(c->cfg, p, desc, PQnfields(desc), pg_colname,
				 r.map, &r.key_col, c->errbuf, sizeof c->errbuf);
	if (rc < 0) {
		st = rc == SQLMAP_NO_COLUMN ? PROV_FAIL_CONFIG
					    : PROV_FAIL_PERMANENT;
		goto out_finish;
	}
	if (r.key_col >= 0)
		r.key_type = PQftype(desc, r.key_col);
	if (pg_copy_alloc(&r, PQnfields(desc)) < 0) {
		st = prov_fail(c, PROV_FAIL_RETRY, "out of memory");
		goto out_finish;
	}
	/* Order checks continue from the last key. */
	if (r.key_col >= 0 && r.have_key && pg_resume_key(&r) < 0) {
		st = prov_fail(c, PROV_FAIL_PERMANENT, "bad resume token");
		goto out_finish;
	}
	/* Groups, not rows: decided by the first attempt, kept by restarts. */
	r.push = pg_push_ok(c->cfg, p, r.conn, desc, r.map, why, sizeof why);
	if (r.push_tok && !r.push) {
		st = prov_fail(c, PROV_FAIL_PERMANENT, "pushdown: an attempt "
			       "read groups and this one cannot: %s", why);
		goto out_finish;
	}
	if (!r.push_tok && r.rows > 0)
		r.push = false;
	if (r.push) {
		trace_begin("pushdown", NULL);
		st = pg_push_run(&r, desc);
		trace_end("pushdown", NULL);
		goto copied;
	}
	/* Without a key, the rows already counted are read again and dropped. */
	if (r.key_col < 0)
		r.skip = r.rows;
	if ((st = pg_choose(&r, desc)) != PROV_DONE)
		goto out_finish;
	trace_begin("COPY", NULL);
	st = pg_copy(&r);
	trace_end("COPY", NULL);
copied:
	if (st != PROV_DONE)
		goto out_finish;
	if ((st = pg_checkpoint(&r, true)) != PROV_DONE)
		goto out_finish;
	pg_holder_stop(&r);
out_finish:
	if (st == PROV_FAIL_PERMANENT || st == PROV_FAIL_CONFIG)
		pg_holder_stop(&r); /* no attempt will need the snapshot */
	PQclear(desc);
	PQfinish(r.conn);
out_free:
	for (int j = 0; r.tbuf && j < r.ncols; j++)
		free(r.tbuf[j]);
	free(r.tcap);
	free(r.tbuf);
	free(r.blen);
	free(r.bval);
	free(r.kind);
	free(r.col_null);
	free(r.col_len);
	free(r.col);
	free(r.used);
	buf_free(&r.key);
	free(r.vals);
	free(r.map);
	free(r.body);
	return st;
}

/* What --check says of the pushdown: "GROUP BY a (count, ...)" or "no (why)". */
static void push_check(const struct cfg *cfg, const struct cfg_provider *p,
		       PGconn *conn, const PGresult *desc, const char *body,
		       char *out, size_t outlen)
{
	int n = PQnfields(desc), key_col;
	int *map = calloc((size_t)cfg->schema.nfields + 1, sizeof *map);
	char why[256], *sql = NULL, *what = NULL;

	if (map == NULL || sqlmap_resolve_cols(cfg, p, desc, n, pg_colname,
					       map, &key_col, why,
					       sizeof why) < 0)
		snprintf(out, outlen, "no (%s)", map ? why : "out of memory");
	else if (!pg_push_ok(cfg, p, conn, desc, map, why, sizeof why))
		snprintf(out, outlen, "no (%s)", why);
	else if ((sql = pg_push_sql(cfg, p, conn, desc, map, body,
				    &what)) == NULL || what == NULL)
		snprintf(out, outlen, "no (out of memory)");
	else
		snprintf(out, outlen, "%s", what);
	free(sql);
	free(what);
	free(map);
}

static int postgres_check(const struct cfg *cfg, const struct cfg_provider *p,
			  char *msg, size_t msglen)
{
	const struct sql_conf *sc = sql_conf(p);
	enum prov_status st;
	PGconn *conn;
	PGresult *desc = NULL;
	char *body = sqlmap_query_body(sc->query);
	char what[512];
	int rc = -1;

	if (body == NULL) {
		snprintf(msg, msglen, "out of memory");
		goto out_free;
	}
	conn = pg_connect(sc->conninfo, p->name, NULL, &st, msg, msglen);
	if (conn == NULL)
		goto out_free;
	desc = pg_describe(conn, NULL, body, &st, msg, msglen);
	if (desc == NULL)
		goto out_finish;
	rc = sqlmap_check_cols(cfg, p, desc, PQnfields(desc), pg_colname, msg,
			       msglen);
	if (rc != 0)
		goto out_finish;
	push_check(cfg, p, conn, desc, body, what, sizeof what);
	snprintf(msg, msglen, "connected to database %s, query prepared, "
		 "%d columns; pushdown: %s", PQdb(conn), PQnfields(desc), what);
	rc = 0;
out_finish:
	PQclear(desc);
	PQfinish(conn);
out_free:
	free(body);
	return rc;
}

const struct prov_ops postgres_provider_ops = {
	.name = "postgres",
	.run = postgres_run,
	.check = postgres_check,
};

