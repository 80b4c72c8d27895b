/*
 * out_sqlite.c - the SQLite table sink (out_sqlite.h): one transaction
 * from open to commit, one prepared INSERT stepped per row.
 *
 * Invariants:
 *  - BEGIN IMMEDIATE at open takes the write lock at once, so two runs
 *    queue (busy timeout) instead of deadlocking on a lock upgrade.
 *  - The database is opened through its real path (symlinks resolved), so
 *    a failed first run removes the file it created, never the link.
 *  - Nothing is committed but by sq_commit(); every other end rolls back.
 */
#include "out_sqlite.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../common/convert.h"
#include "../common/decimal.h"
#include "out_sql.h"
#include "outfile.h"

/* How long a write waits for other connections' locks (ms). */
#define SQ_BUSY_TIMEOUT_MS 60000

static const char *const sq_types[] = {
	[REC_INT] = "INTEGER", [REC_FLOAT] = "REAL", [REC_TEXT] = "TEXT",
	[REC_BOOL] = "INTEGER", [REC_TIMESTAMP] = "TEXT",
	[REC_DECIMAL] = "TEXT", [REC_DATE] = "TEXT",
};

struct sq_out {
	sqlite3 *db;
	sqlite3_stmt *ins;
	char *path;          /* as configured, for messages */
	char *real;          /* symlinks resolved: the file SQLite opens */
	bool created;        /* the database file did not exist before */
	long rows;
	long fail_after;     /* test builds; -1: never */
};

static void sq_close(struct sq_out *o, bool remove_file)
{
	if (o == NULL)
		return;
	sqlite3_finalize(o->ins);
	if (o->db != NULL && !sqlite3_get_autocommit(o->db))
		sqlite3_exec(o->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(o->db);
	if (remove_file && o->created) {
		/* A failed first run leaves no empty database behind. */
		static const char *const sfx[] = { "", "-journal", "-wal", "-shm" };
		char p[4096];

		for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
			snprintf(p, sizeof p, "%s%s", o->real, sfx[i]);
			unlink(p);
		}
	}
	free(o->real);
	free(o->path);
	free(o);
}

static int sq_exec(struct sq_out *o, const char *sql, const char *table,
		   char *err, size_t errlen)
{
	if (sqlite3_exec(o->db, sql, NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "cannot write table %s in %s: %s", table, o->path,
		 sqlite3_errmsg(o->db));
	return -1;
}

/* Columns of table (NULL names when it does not exist); caller frees. */
static int sq_columns(struct sq_out *o, const char *table, char ***names,
		      int *n, char *err, size_t errlen)
{
	const char *dot = strchr(table, '.');
	sqlite3_stmt *st = NULL;
	char *schema = NULL;
	int rc = -1, k;

	*names = NULL;
	*n = 0;
	if (dot) {
		schema = strndup(table, (size_t)(dot - table));
		if (schema == NULL)
			goto out_oom;
	}
	if (sqlite3_prepare_v2(o->db, "SELECT name FROM pragma_table_info(?1, ?2)",
			       -1, &st, NULL) != SQLITE_OK)
		goto out_db;
	sqlite3_bind_text(st, 1, dot ? dot + 1 : table, -1, SQLITE_STATIC);
	if (schema)
		sqlite3_bind_text(st, 2, schema, -1, SQLITE_STATIC);
	else
		sqlite3_bind_text(st, 2, "main", -1, SQLITE_STATIC);
	while ((k = sqlite3_step(st)) == SQLITE_ROW) {
		char **np = realloc(*names, sizeof(char *) * (size_t)(*n + 1));

		if (np == NULL)
			goto out_oom;
		*names = np;
		np[*n] = strdup((const char *)sqlite3_column_text(st, 0));
		if (np[*n] == NULL)
			goto out_oom;
		(*n)++;
	}
	if (k != SQLITE_DONE)
		goto out_db;
	rc = 0;
	goto out;

out_db:
	snprintf(err, errlen, "cannot read table %s in %s: %s", table, o->path,
		 sqlite3_errmsg(o->db));
	goto out;
out_oom:
	snprintf(err, errlen, "out of memory opening output %s", o->path);
out:
	sqlite3_finalize(st);
	free(schema);
	return rc;
}

static int sq_open(struct out_writer *w, const struct cfg *cfg, char *err,
		   size_t errlen)
{
	struct sq_out *o = calloc(1, sizeof *o);
	const char *table = cfg->table ? cfg->table : "aggregate";
	struct out_sql q = { 0 };
	char **names = NULL;
	int n = 0, rc = -1;
	struct outfile_loc loc = { 0 };
	struct stat st;

	if (o == NULL || (o->path = strdup(cfg->output)) == NULL) {
		snprintf(err, errlen, "out of memory opening output %s",
			 cfg->output);
		goto out;
	}
	w->impl = o;
	o->fail_after = out_fail_after_rows();
	/*
	 * The real path: a symlink (even a dangling one) keeps pointing at
	 * the database, and a failed first run removes the file it created,
	 * never the link.
	 */
	if (outfile_locate(cfg->output, "output", 0, &loc, err, errlen) < 0)
		goto out;
	if (loc.stream) {
		snprintf(err, errlen, "output %s: a SQLite database must be a "
			 "file, not a stream", cfg->output);
		goto out;
	}
	o->real = loc.real;
	loc.real = NULL;
	o->created = stat(o->real, &st) < 0 && errno == ENOENT;
	if (sqlite3_open_v2(o->real, &o->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open output database %s: %s",
			 cfg->output, o->db ? sqlite3_errmsg(o->db)
					    : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(o->db, SQ_BUSY_TIMEOUT_MS);
	/* The write lock at once: one writer at a time, readers go on. */
	if (sq_exec(o, "BEGIN IMMEDIATE", table, err, errlen) < 0 ||
	    sq_columns(o, table, &names, &n, err, errlen) < 0)
		goto out;
	if (n == 0) {
		out_sql_create(&q, w, table, sq_types, false);
		if (q.oom || sq_exec(o, out_sql_str(&q), table, err, errlen) < 0)
			goto out_sql;
	} else if (out_sql_check_columns(w, names, n, true, table, "", err,
				 errlen) < 0) {
		goto out;
	} else if (cfg->write == CFG_WRITE_REPLACE) {
		out_sql_puts(&q, "DELETE FROM ");
		out_sql_table(&q, table);
		if (q.oom || sq_exec(o, out_sql_str(&q), table, err, errlen) < 0)
			goto out_sql;
	}
	out_sql_clear(&q);
	out_sql_puts(&q, "INSERT INTO ");
	out_sql_table(&q, table);
	out_sql_puts(&q, " ");
	out_sql_col_list(&q, w);
	out_sql_puts(&q, " VALUES (");
	for (int i = 0; i < w->ncols; i++)
		out_sql_puts(&q, i ? ", ?" : "?");
	out_sql_puts(&q, ")");
	if (q.oom)
		goto out_sql;
	if (sqlite3_prepare_v2(o->db, out_sql_str(&q), -1, &o->ins, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot write table %s in %s: %s", table,
			 o->path, sqlite3_errmsg(o->db));
		goto out;
	}
	rc = 0;
	goto out;

out_sql:
	if (q.oom)
		snprintf(err, errlen, "out of memory opening output %s",
			 cfg->output);
out:
	out_sql_free(&q);
	free(loc.real);
	out_sql_free_names(names, n);
	if (rc < 0 && w->impl == NULL)
		sq_close(o, true);
	return rc;
}

static int sq_row(struct out_writer *w, const struct rec_value *v, char *err,
		  size_t errlen)
{
	struct sq_out *o = w->impl;
	sqlite3_stmt *st = o->ins;
	char ts[CONV_TS_MAX > DEC_STR_MAX ? CONV_TS_MAX : DEC_STR_MAX];

	if (o->fail_after >= 0 && o->rows >= o->fail_after) {
		snprintf(err, errlen, "test hook: output fails after %ld rows",
			 o->rows);
		return -1;
	}
	for (int i = 0; i < w->ncols; i++) {
		int k = i + 1;

		if (v[i].null) {
			sqlite3_bind_null(st, k);
			continue;
		}
		switch (w->cols[i].type) {
		case REC_INT:
			sqlite3_bind_int64(st, k, v[i].u.i);
			break;
		case REC_FLOAT:
			if (isfinite(v[i].u.f))
				sqlite3_bind_double(st, k, v[i].u.f);
			else
				sqlite3_bind_null(st, k);
			break;
		case REC_BOOL:
			sqlite3_bind_int(st, k, v[i].u.b ? 1 : 0);
			break;
		case REC_TIMESTAMP:
			sqlite3_bind_text(st, k, ts,
					  (int)conv_format_timestamp(v[i].u.i, ts),
					  SQLITE_TRANSIENT);
			break;
		case REC_DATE:
			sqlite3_bind_text(st, k, ts,
					  (int)conv_format_date(v[i].u.i, ts),
					  SQLITE_TRANSIENT);
			break;
		case REC_DECIMAL:
			/* TEXT: SQLite's NUMERIC would make a REAL of it. */
			sqlite3_bind_text(st, k, ts,
					  (int)dec_format(rec_dec(&v[i]),
							  w->cols[i].scale, ts),
					  SQLITE_TRANSIENT);
			break;
		case REC_TEXT:
			sqlite3_bind_text(st, k, v[i].u.s.p, (int)v[i].u.s.len,
					  SQLITE_STATIC);
			break;
		}
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		snprintf(err, errlen, "cannot write to output %s: %s", o->path,
			 sqlite3_errmsg(o->db));
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	o->rows++;
	return 0;
}

static int sq_commit(struct out_writer *w, char *err, size_t errlen)
{
	struct sq_out *o = w->impl;
	int rc = -1;

	sqlite3_finalize(o->ins);
	o->ins = NULL;
	if (sqlite3_exec(o->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot commit output %s: %s", o->path,
			 sqlite3_errmsg(o->db));
		goto out;
	}
	rc = 0;
out:
	sq_close(o, rc < 0);
	w->impl = NULL;
	return rc;
}

static void sq_abort(struct out_writer *w)
{
	sq_close(w->impl, true);
	w->impl = NULL;
}

const struct out_sink out_sqlite = {
	CFG_FMT_SQLITE, sq_open, sq_row, sq_commit, sq_abort, NULL, NULL,
	NULL
};
