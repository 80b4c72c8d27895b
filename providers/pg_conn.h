/*
 * pg_conn.h - the postgres provider's connection to the server: connect,
 * run statements, describe the query, and say what a failure means.
 *
 * Every wait for the server is a poll() of at most PG_WAIT_MS that beats
 * the provider's heartbeat (through c; a NULL c beats nothing, as in
 * --check and the snapshot holder), so a long query is not taken for a
 * hung provider.  Errors are an enum prov_status (PROV_FAIL_RETRY or
 * PROV_FAIL_PERMANENT, by SQLSTATE class; see pg_conn.c) and a one-line
 * message in the caller's err[errlen], never quoting the conninfo.  The
 * caller owns every PGconn and PGresult handed out (PQfinish, PQclear).
 */
#ifndef AGG_PG_CONN_H
#define AGG_PG_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "provider.h"

/* Longest poll() between two heartbeats while the server works (ms). */
#define PG_WAIT_MS 1000

/*
 * Connect with conninfo, as psql does (PG* variables, .pgpass, services),
 * beating through c while waiting.  connect_timeout is honoured.  The
 * server's notices are logged under name (at info, debug or warn level by
 * their severity, never raw on stderr).  Returns the connection in UTF-8,
 * or NULL with *st and err.
 */
PGconn *pg_connect(const char *conninfo, const char *name, struct prov_ctx *c,
		   enum prov_status *st, char *err, size_t errlen);

/*
 * Wait until conn's socket is readable (or writable), at most PG_WAIT_MS,
 * beating through c.  Returns 1 ready, 0 nothing yet, -1 error.
 */
int pg_wait(PGconn *conn, bool writable, struct prov_ctx *c);

/*
 * The next result of the command in flight, waiting and beating while the
 * server works; NULL once all are read.
 */
PGresult *pg_next_result(PGconn *conn, struct prov_ctx *c);

/*
 * Describe a failed result (res may be NULL: then the connection's error)
 * into err, prefixed by what, and say whether a retry may help.
 */
enum prov_status pg_result_fail(PGconn *conn, const PGresult *res,
				const char *what, char *err, size_t errlen);

/*
 * Run sql (one or more statements, no rows expected, or one command whose
 * first result has status want) and read all its results.  On success
 * returns 0 and, if out is not NULL, the first result (PQclear it);
 * otherwise -1 with *st and err (prefixed by what).
 */
int pg_run_sql(PGconn *conn, struct prov_ctx *c, const char *sql,
	       ExecStatusType want, PGresult **out, const char *what,
	       enum prov_status *st, char *err, size_t errlen);

/*
 * Prepare and describe the query body (the unnamed statement), without
 * running it.  Returns the description (PQclear it), or NULL with *st and
 * err ("query failed: ...").
 */
PGresult *pg_describe(PGconn *conn, struct prov_ctx *c, const char *body,
		      enum prov_status *st, char *err, size_t errlen);

/* The name of column j of a description (a sqlmap_colname_fn). */
const char *pg_colname(const void *desc, int j);

#endif
