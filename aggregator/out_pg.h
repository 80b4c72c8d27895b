/*
 * out_pg.h - the PostgreSQL table output (format = postgres).
 *
 * Contract, beyond out_sink.h's:
 *  - cfg->output is a libpq conninfo (PG* variables, .pgpass and services
 *    as psql), cfg->table the table (default "aggregate", "schema.table"
 *    allowed).  A missing table is created with BIGINT, DOUBLE PRECISION,
 *    TEXT, BOOLEAN and TIMESTAMPTZ columns; an existing one must have the
 *    same set of column names, else the open fails naming both lists and
 *    the table is left alone.
 *  - One transaction: BEGIN, LOCK ... IN SHARE ROW EXCLUSIVE MODE (writers
 *    wait for each other, readers are never blocked), DELETE for write =
 *    replace (not TRUNCATE: docs/design.md "Table outputs"), COPY FROM
 *    STDIN, COMMIT at commit.  Abort and every failure roll it back.
 *  - Messages name the table and out_pg_target()'s description, never the
 *    conninfo, and are scrubbed of the password.
 *  - The server's notices and warnings go to the log (common/pgnotice.h),
 *    under no provider name, never raw to stderr.
 */
#ifndef AGG_OUT_PG_H
#define AGG_OUT_PG_H

#include "out_sink.h"

extern const struct out_sink out_pg;

/*
 * Describe a conninfo without its password: "dbname=x host=y port=z
 * user=u" (service, dbname, host, port, user: only what is set), or
 * "defaults from the environment", or "connection string not understood".
 * Returns a malloc'd string, NULL when out of memory; *password gets the
 * password (malloc'd, for scrubbing) or NULL.
 */
char *out_pg_target(const char *conninfo, char **password);

#endif
