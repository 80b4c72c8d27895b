/*
 * sq_db.h - the sqlite provider's database: open the file read-only,
 * prepare the one statement, resolve its columns, and say what an SQLite
 * error code means (retry or not).
 *
 * Errors are SQLite result codes (turned into a prov_status by
 * sq_status()) with SQLite's message, prefixed by the path, in the
 * caller's err[errlen].  The caller owns the handles (sqlite3_close,
 * sqlite3_finalize) and the path (free).
 */
#ifndef AGG_SQ_DB_H
#define AGG_SQ_DB_H

#include <stddef.h>

#include <sqlite3.h>

#include "provider.h"

/* What a failed SQLite call (its result code rc) means for the provider. */
enum prov_status sq_status(int rc);

/*
 * The file name to open: Debian's SQLite interprets "file:" names as URIs
 * even without SQLITE_OPEN_URI, and a path is a path.  Returns a malloc'd
 * string or NULL.
 */
char *sq_plain_path(const char *path);

/*
 * Open path read-only (and without SQLite's mutexes: one thread uses it),
 * reading the schema at once so that a file that is not a database fails
 * here.  SQLITE_OK, or an SQLite code with err (*db is then NULL).
 */
int sq_open(const char *path, sqlite3 **db, char *err, size_t errlen);

/*
 * Prepare sql, which must be one statement, into *st.  SQLITE_OK, or an
 * SQLite code with err (*st is then NULL).
 */
int sq_prepare(sqlite3 *db, const char *path, const char *sql,
	       sqlite3_stmt **st, char *err, size_t errlen);

/* The name of column j of a statement (a sqlmap_colname_fn). */
const char *sq_colname(const void *st, int j);

#endif
