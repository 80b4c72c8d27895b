/*
 * pg_conn.c - the postgres provider's connection: connecting as psql does,
 * the server's notices into our log, waiting for the server while beating,
 * running statements, describing the query, and what every failure means
 * (pg_conn.h).
 *
 * Errors: SQLSTATE classes 08 (connection), 40 (rollback), 53 (resources),
 * 57 (operator intervention), 58 and XX (system), a lost connection and a
 * refused or timed-out connect are worth a retry; everything else the
 * server reports (28 authentication, 3D database, 42 syntax or missing
 * table, 22 data, ...) is permanent.  Messages never hold the conninfo,
 * which may carry a password; libpq's own messages never do.
 *
 * Nothing here runs per row: the COPY loop (pg_copy.c) only waits through
 * pg_wait() when the server has sent nothing yet.
 */
#include "pg_conn.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../common/pgnotice.h"

/* --- errors ---------------------------------------------------------- */

/* What a SQLSTATE means for the provider (NULL: no state, a client error). */
static enum prov_status pg_state_status(const char *state)
{
	static const char *const retry_classes[] = { "08", "40", "53", "57",
						     "58", "XX" };

	if (state == NULL || strlen(state) != 5)
		return PROV_FAIL_RETRY;
	for (size_t k = 0; k < sizeof retry_classes / sizeof *retry_classes; k++)
		if (strncmp(state, retry_classes[k], 2) == 0)
			return PROV_FAIL_RETRY;
	/* Lock not available, object in use: someone else's transaction. */
	if (strcmp(state, "55P03") == 0 || strcmp(state, "55006") == 0)
		return PROV_FAIL_RETRY;
	return PROV_FAIL_PERMANENT;
}

static bool is_state_char(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z');
}

/*
 * Copy a libpq message into out as one line: "LOCATION:" lines dropped,
 * line breaks turned into blanks, and the SQLSTATE that verbose messages
 * carry ("FATAL:  28P01: password ...") moved into state (6 bytes, ""
 * when there is none).
 */
static void pg_clean(const char *msg, char *out, size_t len, char *state)
{
	size_t k = 0;
	bool line_start = true;

	state[0] = '\0';
	if (len == 0)
		return;
	for (const char *s = msg; *s && k + 1 < len; s++) {
		if (line_start && strncmp(s, "LOCATION:", 9) == 0) {
			while (*s && *s != '\n')
				s++;
			if (*s == '\0')
				break;
			continue;
		}
		line_start = false;
		if (*s == '\n' || *s == '\t' || *s == '\r') {
			line_start = *s == '\n';
			if (k > 0 && out[k - 1] != ' ')
				out[k++] = ' ';
			continue;
		}
		/* ":  XXXXX: " right after the severity */
		if (state[0] == '\0' && s[0] == ':' && s[1] == ' ' && s[2] == ' ' &&
		    is_state_char(s[3]) && is_state_char(s[4]) &&
		    is_state_char(s[5]) && is_state_char(s[6]) &&
		    is_state_char(s[7]) && s[8] == ':' && s[9] == ' ') {
			memcpy(state, s + 3, 5);
			state[5] = '\0';
			if (k + 3 < len) {
				memcpy(out + k, ":  ", 3);
				k += 3;
			}
			s += 9;
			continue;
		}
		out[k++] = *s;
	}
	while (k > 0 && out[k - 1] == ' ')
		k--;
	out[k] = '\0';
}

/*
 * Describe a failed result (res may be NULL) into err, prefixed by what,
 * and say whether a retry may help.
 */
enum prov_status pg_result_fail(PGconn *conn, const PGresult *res,
				const char *what, char *err,
				size_t errlen)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *prim = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
			       : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL)
				 : NULL;
	char clean[1024], st[6];

	if (prim) {
		snprintf(err, errlen, "%s: %s%s%s%s%s%s", what, prim,
			 detail ? " (" : "", detail ? detail : "",
			 detail ? ")" : "", state ? " [SQLSTATE " : "",
			 state ? state : "");
		if (state)
			snprintf(err + strlen(err), errlen - strlen(err), "]");
	} else {
		pg_clean(res && *PQresultErrorMessage(res)
			 ? PQresultErrorMessage(res) : PQerrorMessage(conn),
			 clean, sizeof clean, st);
		snprintf(err, errlen, "%s: %s", what,
			 clean[0] ? clean : "the server closed the connection");
	}
	if (PQstatus(conn) == CONNECTION_BAD)
		return PROV_FAIL_RETRY;
	return pg_state_status(state);
}

/* --- connection ------------------------------------------------------ */

/*
 * Wait until conn's socket is readable (or writable), at most PG_WAIT_MS,
 * beating through c (may be NULL).  Returns 1 ready, 0 nothing yet, -1
 * error.
 */
int pg_wait(PGconn *conn, bool writable, struct prov_ctx *c)
{
	struct pollfd pfd = { .fd = PQsocket(conn),
			      .events = writable ? POLLOUT : POLLIN };
	int n;

	if (pfd.fd < 0)
		return -1;
	n = poll(&pfd, 1, PG_WAIT_MS);
	if (c)
		prov_heartbeat(c);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	return n > 0;
}

/* True when the conninfo may hold a password (then libpq's parse error,
 * which quotes pieces of it, is not shown). */
static bool pg_has_password(const char *conninfo)
{
	return strcasestr(conninfo, "password") != NULL ||
	       strchr(conninfo, '@') != NULL;
}

/*
 * Connect with conninfo, as psql does (PG* variables, .pgpass, services),
 * beating through c while waiting (c may be NULL).  connect_timeout is
 * honoured.  The server's notices are logged under name (pgnotice.h).
 * Returns the connection in UTF-8, or NULL with *st and err.
 */
PGconn *pg_connect(const char *conninfo, const char *name,
		   struct prov_ctx *c, enum prov_status *st, char *err,
		   size_t errlen)
{
	PQconninfoOption *opts;
	PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
	char *perr = NULL, clean[1024], state[6];
	PGconn *conn = NULL;
	uint64_t deadline = 0;

	opts = PQconninfoParse(conninfo, &perr);
	if (opts == NULL) {
		*st = perr ? PROV_FAIL_PERMANENT : PROV_FAIL_RETRY;
		if (perr && !pg_has_password(conninfo)) {
			pg_clean(perr, clean, sizeof clean, state);
			snprintf(err, errlen, "invalid conninfo: %s", clean);
		} else {
			snprintf(err, errlen, perr ? "invalid conninfo"
						   : "out of memory");
		}
		PQfreemem(perr);
		return NULL;
	}
	PQconninfoFree(opts);

	conn = PQconnectStart(conninfo);
	if (conn == NULL) {
		*st = PROV_FAIL_RETRY;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* Verbose messages carry the SQLSTATE of a refused login. */
	PQsetErrorVerbosity(conn, PQERRORS_VERBOSE);
	PQsetNoticeReceiver(conn, pgnotice_log, (void *)name);
	opts = PQconninfo(conn);
	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		long s;

		if (strcmp(o->keyword, "connect_timeout") != 0 || o->val == NULL)
			continue;
		s = strtol(o->val, NULL, 10);
		if (s > 0)
			deadline = clock_ms() + (uint64_t)(s < 2 ? 2 : s) * 1000u;
	}
	PQconninfoFree(opts);

	while (PQstatus(conn) != CONNECTION_BAD && ps != PGRES_POLLING_OK &&
	       ps != PGRES_POLLING_FAILED) {
		int w = pg_wait(conn, ps == PGRES_POLLING_WRITING, c);

		if (w < 0)
			break;
		if (w == 0) {
			if (deadline && clock_ms() >= deadline) {
				*st = PROV_FAIL_RETRY;
				snprintf(err, errlen, "cannot connect to "
					 "database %s: timeout expired",
					 PQdb(conn) ? PQdb(conn) : "?");
				goto out_finish;
			}
			continue;
		}
		ps = PQconnectPoll(conn);
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		pg_clean(PQerrorMessage(conn), clean, sizeof clean, state);
		/* A refused login, a bad option value ("invalid sslmode
		 * value") or a service that is not defined: no retry changes
		 * them. */
		if (PQconnectionNeedsPassword(conn) ||
		    strncmp(clean, "invalid ", 8) == 0 ||
		    strncmp(clean, "definition of service ", 22) == 0 ||
		    strncmp(clean, "service file ", 13) == 0)
			*st = PROV_FAIL_PERMANENT;
		else
			*st = state[0] ? pg_state_status(state) : PROV_FAIL_RETRY;
		snprintf(err, errlen, "%s", clean[0] ? clean
				       : "cannot connect to the server");
		goto out_finish;
	}
	PQsetErrorVerbosity(conn, PQERRORS_DEFAULT);
	if (PQsetClientEncoding(conn, "UTF8") != 0) {
		pg_clean(PQerrorMessage(conn), clean, sizeof clean, state);
		*st = PQstatus(conn) == CONNECTION_BAD ? PROV_FAIL_RETRY
						       : PROV_FAIL_PERMANENT;
		snprintf(err, errlen, "cannot use UTF-8: %s", clean);
		goto out_finish;
	}
	return conn;
out_finish:
	PQfinish(conn);
	return NULL;
}

/*
 * The next result of the command in flight, waiting and beating while the
 * server works; NULL once all are read.
 */
PGresult *pg_next_result(PGconn *conn, struct prov_ctx *c)
{
	while (PQisBusy(conn)) {
		if (pg_wait(conn, false, c) < 0 || !PQconsumeInput(conn))
			break; /* PQgetResult reports the broken connection */
	}
	return PQgetResult(conn);
}

/*
 * Run sql (one or more statements, no rows expected, or commands of which
 * one has status want) and read all its results.  On success returns 0
 * and, if out is not NULL, the first result of status want (PQclear it);
 * otherwise -1 with *st and err (prefixed by what).
 */
int pg_run_sql(PGconn *conn, struct prov_ctx *c, const char *sql,
	       ExecStatusType want, PGresult **out, const char *what,
	       enum prov_status *st, char *err, size_t errlen)
{
	PGresult *res, *first = NULL;
	int rc = 0;

	if (out)
		*out = NULL;
	if (!PQsendQuery(conn, sql)) {
		*st = pg_result_fail(conn, NULL, what, err, errlen);
		return -1;
	}
	while ((res = pg_next_result(conn, c)) != NULL) {
		ExecStatusType s = PQresultStatus(res);

		if (rc == 0 && s != want && s != PGRES_COMMAND_OK) {
			*st = pg_result_fail(conn, res, what, err, errlen);
			rc = -1;
		}
		/* The first result, or the first with rows when rows are
		   wanted (after statements that set things up). */
		if (rc == 0 && first == NULL && out &&
		    (s == want || want == PGRES_COMMAND_OK)) {
			first = res;
			continue;
		}
		PQclear(res);
	}
	if (rc == 0 && PQstatus(conn) == CONNECTION_BAD) {
		*st = pg_result_fail(conn, NULL, what, err, errlen);
		rc = -1;
	}
	if (rc == 0 && out)
		*out = first;
	else
		PQclear(first);
	return rc;
}

/*
 * Prepare and describe the query (the unnamed statement), without running
 * it.  Returns the description (PQclear it), or NULL with *st and err.
 */
PGresult *pg_describe(PGconn *conn, struct prov_ctx *c,
		      const char *body, enum prov_status *st, char *err,
		      size_t errlen)
{
	PGresult *res, *desc = NULL;
	bool failed = false;

	if (!PQsendPrepare(conn, "", body, 0, NULL)) {
		*st = pg_result_fail(conn, NULL, "query failed", err, errlen);
		return NULL;
	}
	while ((res = pg_next_result(conn, c)) != NULL) {
		if (!failed && PQresultStatus(res) != PGRES_COMMAND_OK) {
			*st = pg_result_fail(conn, res, "query failed", err, errlen);
			failed = true;
		}
		PQclear(res);
	}
	if (failed)
		return NULL;
	if (!PQsendDescribePrepared(conn, "")) {
		*st = pg_result_fail(conn, NULL, "query failed", err, errlen);
		return NULL;
	}
	while ((res = pg_next_result(conn, c)) != NULL) {
		if (!failed && desc == NULL &&
		    PQresultStatus(res) == PGRES_COMMAND_OK) {
			desc = res;
			continue;
		}
		if (!failed) {
			*st = pg_result_fail(conn, res, "query failed", err, errlen);
			failed = true;
		}
		PQclear(res);
	}
	if (failed || desc == NULL) {
		if (!failed)
			*st = pg_result_fail(conn, NULL, "query failed", err,
					     errlen);
		PQclear(desc);
		return NULL;
	}
	return desc;
}

const char *pg_colname(const void *desc, int j)
{
	return PQfname(desc, j);
}
