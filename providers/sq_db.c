/*
 * sq_db.c - the sqlite provider's database: the file opened read-only,
 * one statement prepared, its columns resolved, and what an SQLite error
 * code means for the provider (sq_db.h).  Nothing here runs per row.
 */
#include "sq_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* How long a query waits for a writer's lock before SQLITE_BUSY (ms). */
#define BUSY_TIMEOUT_MS 5000

enum prov_status sq_status(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_IOERR:
	case SQLITE_NOMEM:
	case SQLITE_PROTOCOL:
	case SQLITE_FULL:
	case SQLITE_INTERRUPT:
		return PROV_FAIL_RETRY;
	default:
		return PROV_FAIL_PERMANENT;
	}
}

/*
 * The file name to open: Debian's SQLite interprets "file:" names as URIs
 * even without SQLITE_OPEN_URI, and a path is a path.  Returns a malloc'd
 * string or NULL.
 */
char *sq_plain_path(const char *path)
{
	char *s;

	if (strncmp(path, "file:", 5) == 0) {
		if (asprintf(&s, "./%s", path) < 0)
			return NULL;
		return s;
	}
	return strdup(path);
}

/*
 * Open path read-only.  On failure returns an SQLite code and writes
 * SQLite's message (with the system's reason when there is one) into err.
 */
int sq_open(const char *path, sqlite3 **db, char *err, size_t errlen)
{
	int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY |
				 SQLITE_OPEN_NOMUTEX, NULL);

	if (rc != SQLITE_OK) {
		int sys = *db ? sqlite3_system_errno(*db) : 0;

		if (sys)
			snprintf(err, errlen, "%s: %s (%s)", path,
				 *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc),
				 strerror(sys));
		else
			snprintf(err, errlen, "%s: %s", path,
				 *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
		sqlite3_close(*db);
		*db = NULL;
		return rc;
	}
	sqlite3_extended_result_codes(*db, 1);
	sqlite3_busy_timeout(*db, BUSY_TIMEOUT_MS);
	/*
	 * SQLite reads the file only when a statement needs it: read the
	 * schema now, so a file that is not a database fails here (and in
	 * --check) even when the query touches no table.
	 */
	rc = sqlite3_exec(*db, "PRAGMA schema_version", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(*db));
		sqlite3_close(*db);
		*db = NULL;
		return rc;
	}
	return SQLITE_OK;
}

/*
 * Prepare sql (one statement).  Returns an SQLite code; on failure err holds
 * SQLite's message.
 */
int sq_prepare(sqlite3 *db, const char *path, const char *sql,
	       sqlite3_stmt **st, char *err, size_t errlen)
{
	const char *tail = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, st, &tail);

	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		return rc;
	}
	if (*st == NULL) {
		snprintf(err, errlen, "%s: the query is empty", path);
		return SQLITE_ERROR;
	}
	while (tail && (*tail == ' ' || *tail == '\t' || *tail == '\n' ||
			*tail == '\r' || *tail == ';'))
		tail++;
	if (tail && *tail) {
		snprintf(err, errlen, "%s: the query holds more than one "
			 "statement", path);
		sqlite3_finalize(*st);
		*st = NULL;
		return SQLITE_ERROR;
	}
	return SQLITE_OK;
}

const char *sq_colname(const void *st, int j)
{
	return sqlite3_column_name((sqlite3_stmt *)st, j);
}
