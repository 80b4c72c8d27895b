/*
 * out_pg.c - the PostgreSQL table sink (out_pg.h): BEGIN, create the table
 * if missing, LOCK, DELETE (replace), COPY FROM STDIN in text format from
 * the row buffer (out_buf.h, 1 MB PQputCopyData messages), COMMIT.
 *
 * Invariants:
 *  - Nothing is committed but by pg_commit(); every other end rolls back
 *    (an open COPY is ended with an error first).
 *  - The conninfo never appears in a message: only the table, service,
 *    dbname, host, port and user, and every message is scrubbed of the
 *    password (pg_fail()).
 *  - The server's notices go to the log as the PostgreSQL provider's do
 *    (common/pgnotice.h), never raw to stderr.
 */
#include "out_pg.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "../common/pgnotice.h"
#include "out_buf.h"
#include "out_sql.h"

static const char *const pg_types[] = {
	[REC_INT] = "BIGINT", [REC_FLOAT] = "DOUBLE PRECISION",
	[REC_TEXT] = "TEXT", [REC_BOOL] = "BOOLEAN",
	[REC_TIMESTAMP] = "TIMESTAMPTZ", [REC_DECIMAL] = "NUMERIC(%d,%d)",
	[REC_DATE] = "DATE",
};

struct pg_out {
	PGconn *conn;
	char *table;          /* as configured, for messages */
	char *target;         /* "dbname=... host=...", never the password */
	char *password;       /* to scrub from messages; NULL: none */
	struct out_buf copy;  /* COPY data, sent by pg_send() */
	bool copying;         /* inside COPY FROM STDIN */
	long rows;
	long fail_after;
};

/* Never show the password, whatever a message carries. */
static void pg_scrub(const struct pg_out *o, char *msg)
{
	size_t n;
	char *p;

	if (o->password == NULL || (n = strlen(o->password)) == 0)
		return;
	while ((p = strstr(msg, o->password)) != NULL) {
		memset(p, '*', n);
	}
}

/* The server's (or libpq's) last message, one line, scrubbed. */
static void pg_fail(struct pg_out *o, const char *what, char *err,
		    size_t errlen)
{
	char msg[400];
	size_t n;

	snprintf(msg, sizeof msg, "%s", PQerrorMessage(o->conn));
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	pg_scrub(o, msg);
	snprintf(err, errlen, "%s table %s (%s): %s", what, o->table, o->target,
		 msg[0] ? msg : "no message");
}

/* Also for out_describe(): the target without its password. */
char *out_pg_target(const char *conninfo, char **password)
{
	static const char *const keys[] = { "service", "dbname", "host",
					    "port", "user" };
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	struct out_sql q = { 0 };

	*password = NULL;
	if (opts == NULL)
		return strdup("connection string not understood");
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
		for (PQconninfoOption *op = opts; op->keyword; op++)
			if (op->val && *op->val &&
			    strcmp(op->keyword, keys[k]) == 0) {
				if (q.b.len)
					out_sql_puts(&q, " ");
				out_sql_puts(&q, keys[k]);
				out_sql_puts(&q, "=");
				out_sql_puts(&q, op->val);
			}
	for (PQconninfoOption *op = opts; op->keyword; op++)
		if (strcmp(op->keyword, "password") == 0 && op->val && *op->val)
			*password = strdup(op->val);
	PQconninfoFree(opts);
	if (q.oom) {
		out_sql_free(&q);
		return NULL;
	}
	if (q.b.len == 0)
		return strdup("defaults from the environment");
	return (char *)buf_take(&q.b);
}

static int pg_exec(struct pg_out *o, const char *sql, const char *what,
		   char *err, size_t errlen)
{
	PGresult *r = PQexec(o->conn, sql);
	ExecStatusType st = PQresultStatus(r);
	int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;

	if (rc < 0)
		pg_fail(o, what, err, errlen);
	PQclear(r);
	return rc;
}

static void pg_close(struct pg_out *o)
{
	if (o == NULL)
		return;
	if (o->conn != NULL) {
		if (o->copying) {
			PGresult *r;

			PQputCopyEnd(o->conn, "output aborted");
			while ((r = PQgetResult(o->conn)) != NULL)
				PQclear(r);
		}
		if (PQstatus(o->conn) == CONNECTION_OK &&
		    PQtransactionStatus(o->conn) != PQTRANS_IDLE)
			PQclear(PQexec(o->conn, "ROLLBACK"));
		PQfinish(o->conn);
	}
	out_buf_free(&o->copy);
	free(o->table);
	free(o->target);
	if (o->password) {
		memset(o->password, 0, strlen(o->password));
		free(o->password);
	}
	free(o);
}

/*
 * Columns of the table, names[i] its name and names[n + i] its type as
 * PostgreSQL spells it (format_type: "numeric(12,2)", "date"); none when
 * it does not exist.  *n counts the columns; free with
 * out_sql_free_names(names, 2 * n).
 */
static int pg_columns(struct pg_out *o, const char *qtable, char ***names,
		      int *n, char *err, size_t errlen)
{
	const char *params[1] = { qtable };
	PGresult *r;
	int rc = -1, nt;

	*names = NULL;
	*n = 0;
	r = PQexecParams(o->conn,
			 "SELECT attname, format_type(atttypid, atttypmod) "
			 "FROM pg_attribute "
			 "WHERE attrelid = to_regclass($1) AND attnum > 0 "
			 "AND NOT attisdropped ORDER BY attnum",
			 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		pg_fail(o, "cannot read", err, errlen);
		goto out;
	}
	nt = PQntuples(r);
	*names = calloc(2 * (size_t)nt + 1, sizeof(char *));
	if (*names == NULL)
		goto out_oom;
	for (int i = 0; i < nt; i++) {
		(*names)[i] = strdup(PQgetvalue(r, i, 0));
		(*names)[nt + i] = strdup(PQgetvalue(r, i, 1));
		if ((*names)[i] == NULL || (*names)[nt + i] == NULL)
			goto out_oom;
	}
	*n = nt;
	rc = 0;
	goto out;
out_oom:
	if (*names != NULL)
		out_sql_free_names(*names, 2 * nt);
	*names = NULL;
	snprintf(err, errlen, "out of memory opening table %s", o->table);
out:
	PQclear(r);
	return rc;
}

/*
 * An existing table's decimal and date columns (names[0..n), their types
 * at names[n..2n), as pg_columns() gives them) must be of the types this
 * run writes: numeric(p,s) with the same p and s, date; PostgreSQL would
 * round or refuse the values otherwise.  The other types are taken as
 * they are.  Returns 0, or -1 with err.
 */
static int pg_check_types(const struct out_writer *w, char *const *names,
			  int n, const char *table, const char *target,
			  char *err, size_t errlen)
{
	for (int i = 0; i < w->ncols; i++) {
		const struct out_col *c = &w->cols[i];
		char want[48];

		if (c->type != REC_DECIMAL && c->type != REC_DATE)
			continue;
		if (c->type == REC_DECIMAL)
			snprintf(want, sizeof want, "numeric(%d,%d)", c->prec,
				 c->scale);
		else
			snprintf(want, sizeof want, "date");
		for (int j = 0; j < n; j++) {
			if (strcmp(names[j], c->name) != 0 ||
			    strcmp(names[n + j], want) == 0)
				continue;
			snprintf(err, errlen,
				 "table %s (%s) has column %s of type %s, but this "
				 "run writes %s: drop or rename it, or set table "
				 "to another name",
				 table, target, c->name, names[n + j], want);
			return -1;
		}
	}
	return 0;
}

static int pg_send(void *arg, const char *p, size_t n);

static int pg_open(struct out_writer *w, const struct cfg *cfg, char *err,
		   size_t errlen)
{
	struct pg_out *o = calloc(1, sizeof *o);
	const char *table = cfg->table ? cfg->table : "aggregate";
	struct out_sql q = { 0 }, qt = { 0 };
	char **names = NULL;
	int n = 0, rc = -1;
	PGresult *r;

	if (o == NULL)
		goto out_oom;
	w->impl = o;
	o->fail_after = out_fail_after_rows();
	o->table = strdup(table);
	o->target = out_pg_target(cfg->output, &o->password);
	if (out_buf_init(&o->copy) == 0) {
		o->copy.sink = pg_send;
		o->copy.sink_arg = o;
	}
	out_sql_table(&qt, table);
	if (o->table == NULL || o->target == NULL || o->copy.buf == NULL ||
	    qt.oom)
		goto out_oom;
	o->conn = PQconnectdb(cfg->output);
	if (o->conn == NULL)
		goto out_oom;
	if (PQstatus(o->conn) != CONNECTION_OK) {
		pg_fail(o, "cannot connect to write", err, errlen);
		goto out;
	}
	PQsetNoticeReceiver(o->conn, pgnotice_log, NULL);
	if (PQsetClientEncoding(o->conn, "UTF8") != 0) {
		pg_fail(o, "cannot write", err, errlen);
		goto out;
	}
	/*
	 * One transaction: readers see the old rows until COMMIT, then the new
	 * ones.  SHARE ROW EXCLUSIVE conflicts with itself and with every
	 * writer, so two runs cannot interleave, but not with the ACCESS SHARE
	 * of readers, who are never blocked.
	 */
	if (pg_exec(o, "BEGIN", "cannot write", err, errlen) < 0)
		goto out;
	/*
	 * Create it only when it is missing (CREATE ... IF NOT EXISTS would
	 * need the CREATE privilege even then), lock it, and only then read
	 * the columns that count: a racing run may have just created it.
	 */
	if (pg_columns(o, out_sql_str(&qt), &names, &n, err, errlen) < 0)
		goto out;
	if (n == 0) {
		out_sql_create(&q, w, table, pg_types, true);
		if (q.oom)
			goto out_oom;
		if (pg_exec(o, out_sql_str(&q), "cannot create", err, errlen) < 0)
			goto out;
	}
	out_sql_clear(&q);
	out_sql_puts(&q, "LOCK TABLE ");
	out_sql_puts(&q, out_sql_str(&qt));
	out_sql_puts(&q, " IN SHARE ROW EXCLUSIVE MODE");
	if (q.oom)
		goto out_oom;
	if (pg_exec(o, out_sql_str(&q), "cannot lock", err, errlen) < 0)
		goto out;
	out_sql_free_names(names, 2 * n);
	if (pg_columns(o, out_sql_str(&qt), &names, &n, err, errlen) < 0)
		goto out;
	{
		char where[300];

		snprintf(where, sizeof where, " (%s)", o->target);
		if (out_sql_check_columns(w, names, n, false, table, where, err,
				  errlen) < 0 ||
		    pg_check_types(w, names, n, table, o->target, err,
				   errlen) < 0)
			goto out;
	}
	if (cfg->write == CFG_WRITE_REPLACE) {
		/* DELETE, not TRUNCATE: see docs/design.md "Table outputs". */
		out_sql_clear(&q);
		out_sql_puts(&q, "DELETE FROM ");
		out_sql_puts(&q, out_sql_str(&qt));
		if (q.oom)
			goto out_oom;
		if (pg_exec(o, out_sql_str(&q), "cannot replace the rows of", err,
			    errlen) < 0)
			goto out;
	}
	out_sql_clear(&q);
	out_sql_puts(&q, "COPY ");
	out_sql_puts(&q, out_sql_str(&qt));
	out_sql_puts(&q, " ");
	out_sql_col_list(&q, w);
	out_sql_puts(&q, " FROM STDIN");
	if (q.oom)
		goto out_oom;
	r = PQexec(o->conn, out_sql_str(&q));
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		pg_fail(o, "cannot write", err, errlen);
		PQclear(r);
		goto out;
	}
	PQclear(r);
	o->copying = true;
	rc = 0;
	goto out;

out_oom:
	snprintf(err, errlen, "out of memory opening table %s", table);
out:
	out_sql_free(&q);
	out_sql_free(&qt);
	out_sql_free_names(names, 2 * n);
	if (w->impl == NULL)
		pg_close(o);
	return rc;
}

/* The COPY sink: one buffer of rows to the server; 0 or -1. */
static int pg_send(void *arg, const char *p, size_t n)
{
	struct pg_out *o = arg;

	if (PQputCopyData(o->conn, p, (int)n) != 1) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* Send the buffered COPY data.  Returns 0, or -1 with err. */
static int pg_flush(struct pg_out *o, char *err, size_t errlen)
{
	out_buf_flush(&o->copy);
	if (o->copy.error != 0) {
		pg_fail(o, "cannot write", err, errlen);
		return -1;
	}
	return 0;
}

/* A text value in COPY's text format: \\, \t, \n, \r escaped. */
static void pg_copy_text(struct out_buf *f, const char *s, size_t len)
{
	const char *end = s + len;

	while (s < end) {
		const char *p = s;
		char e;

		while (p < end && *p != '\\' && *p != '\t' && *p != '\n' &&
		       *p != '\r')
			p++;
		out_buf_put(f, s, (size_t)(p - s));
		if (p == end)
			break;
		e = *p == '\\' ? '\\' : *p == '\t' ? 't' : *p == '\n' ? 'n' : 'r';
		out_buf_putc(f, '\\');
		out_buf_putc(f, e);
		s = p + 1;
	}
}

static int pg_row(struct out_writer *w, const struct rec_value *v, char *err,
		  size_t errlen)
{
	struct pg_out *o = w->impl;
	struct out_buf *f = &o->copy;

	if (o->fail_after >= 0 && o->rows >= o->fail_after) {
		snprintf(err, errlen, "test hook: output fails after %ld rows",
			 o->rows);
		return -1;
	}
	for (int i = 0; i < w->ncols; i++) {
		if (i > 0)
			out_buf_putc(f, '\t');
		if (v[i].null || (w->cols[i].type == REC_FLOAT &&
				  !isfinite(v[i].u.f)))
			out_buf_put(f, "\\N", 2);
		else if (w->cols[i].type == REC_TEXT)
			pg_copy_text(f, v[i].u.s.p, v[i].u.s.len);
		else if (w->cols[i].type == REC_BOOL)
			out_buf_putc(f, v[i].u.b ? 't' : 'f');
		else
			out_buf_plain(f, &w->cols[i], &v[i], false);
	}
	out_buf_putc(f, '\n');
	o->rows++;
	if (f->error != 0) {
		pg_fail(o, "cannot write", err, errlen);
		return -1;
	}
	return 0;
}

static int pg_commit(struct out_writer *w, char *err, size_t errlen)
{
	struct pg_out *o = w->impl;
	PGresult *r;
	int rc = -1;

	if (pg_flush(o, err, errlen) < 0)
		goto out;
	if (PQputCopyEnd(o->conn, NULL) != 1) {
		pg_fail(o, "cannot write", err, errlen);
		goto out;
	}
	o->copying = false;
	r = PQgetResult(o->conn);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		pg_fail(o, "cannot write", err, errlen);
		PQclear(r);
		while ((r = PQgetResult(o->conn)) != NULL)
			PQclear(r);
		goto out;
	}
	PQclear(r);
	while ((r = PQgetResult(o->conn)) != NULL)
		PQclear(r);
	if (pg_exec(o, "COMMIT", "cannot commit", err, errlen) < 0)
		goto out;
	rc = 0;
out:
	pg_close(o);
	w->impl = NULL;
	return rc;
}

static void pg_abort(struct out_writer *w)
{
	pg_close(w->impl);
	w->impl = NULL;
}

const struct out_sink out_pg = {
	CFG_FMT_POSTGRES, pg_open, pg_row, pg_commit, pg_abort, NULL, NULL,
	NULL
};
