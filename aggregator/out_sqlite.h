/*
 * out_sqlite.h - the SQLite table output (format = sqlite).
 *
 * Contract, beyond out_sink.h's:
 *  - cfg->output is the database file (created when missing; a stream is
 *    refused), cfg->table the table (default "aggregate", "schema.table"
 *    allowed).  A missing table is created with INTEGER, REAL, TEXT,
 *    INTEGER 0/1 and TEXT RFC 3339 columns; an existing one must have the
 *    same set of column names (case-insensitively), else the open fails
 *    naming both lists and the table is left alone.
 *  - Everything happens in one transaction (BEGIN IMMEDIATE at open,
 *    DELETE for write = replace, COMMIT at commit); abort and every
 *    failure roll it back, and a database file that did not exist before
 *    is removed again (with its -journal, -wal, -shm).
 *  - The journal mode is the database owner's choice; it is never changed.
 */
#ifndef AGG_OUT_SQLITE_H
#define AGG_OUT_SQLITE_H

#include "out_sink.h"

extern const struct out_sink out_sqlite;

#endif
