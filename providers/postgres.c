/*
 * postgres.c - the postgres provider: runs the configured query on a
 * PostgreSQL server and turns each result row into a record.
 *
 * Transfer: `COPY (query) TO STDOUT`, which against single-row mode costs
 * the client about half the CPU for the same rows (no PGresult per row).
 * The session asks for DateStyle ISO and exact floats so that text reads
 * back as the same value.  Two formats, chosen per attempt from the
 * query's description (pg_choose):
 *   - binary (`(FORMAT binary)`, read by pgbin.c) when every column a
 *     field or the key reads has a type whose binary value gives exactly
 *     what conv_text() gives for the server's text: int2/4/8, float8 (into
 *     float only), bool, text/varchar/bpchar/name, date, timestamp,
 *     timestamptz (in a UTC session only) and numeric.  It spares the
 *     server its float and date formatting, the largest cost of a big
 *     transfer.  Values convert directly where that is provably the same
 *     value, else they are written as the server's text (so rejects, keys
 *     and their reasons are the text path's) and go through conv_text().
 *     Columns nobody reads are skipped by length, whatever their type, as
 *     long as the server can send them in binary (pg_type is asked).
 *   - text otherwise (float4, float8 into text or int, intervals, ...):
 *     parsed here (tab-separated, \N for NULL, backslash escapes), every
 *     value typed by conv_text().
 * Test builds take the text path when AGG_PG_COPY=text.  The choice is
 * logged at debug level.  Every wait for the server is a poll() that
 * beats the heartbeat, so a long query is not taken for a hung provider.
 *
 * Resume (the token, see sqlmap.h):
 *   rows=N          source rows consumed (records + rejects), all attempts
 *   done=1          the last attempt read everything (only DONE was lost)
 *   snap, holder    the exported snapshot and the pid of its holder
 *   key             with `key`: the key of row N, as the server writes
 *                   it in text (rebuilt so on the binary path: the token
 *                   does not depend on the format)
 * With a key the next attempt copies
 *   SELECT * FROM (query) AS agg_resume WHERE "key" > 'last' ORDER BY "key"
 * (the literal takes the key column's type, so the server compares as it
 * sorts); without one it copies the query again and drops the first N rows
 * (the query must have a deterministic ORDER BY).
 *
 * Snapshot (snapshot = true): one snapshot serves every attempt.  The first
 * attempt starts a holder process that opens its own connection, begins a
 * REPEATABLE READ READ ONLY transaction, exports its snapshot
 * (pg_export_snapshot) and keeps the transaction open.  Every attempt,
 * the first included, imports it (SET TRANSACTION SNAPSHOT) in a
 * REPEATABLE READ transaction, so a restart reads exactly the same data.
 * The snapshot id travels to later attempts inside the resume token: the
 * first attempt checkpoints it before its first row.
 *
 * The holder needs nothing from the supervisor.  It is created with
 * clone(CLONE_PARENT): it is the supervisor's child, as the attempts are,
 * so it outlives the attempt that made it, the supervisor's waitpid(-1)
 * loop reaps it (an unknown pid is ignored), and PR_SET_PDEATHSIG kills it
 * with the supervisor.  It ends when
 *   - the provider is over: the attempt that read everything (or failed
 *     for good) tells it so through an abstract unix socket named after the
 *     supervisor's and the holder's pids and the snapshot, and waits until
 *     it has gone;
 *   - its connection to the server ends;
 *   - the supervisor dies (a run whose last attempt crashed keeps the
 *     snapshot until the run ends).
 * A snapshot that is gone when records were already counted cannot be
 * replaced without reading different data: that is a permanent failure.
 * If nothing was counted yet, a fresh holder simply takes a new snapshot.
 *
 * Errors: SQLSTATE classes 08 (connection), 40 (rollback), 53 (resources),
 * 57 (operator intervention), 58 and XX (system), a lost connection and a
 * refused or timed-out connect are worth a retry; everything else the
 * server reports (28 authentication, 3D database, 42 syntax or missing
 * table, 22 data, ...) is permanent.  Messages never hold the conninfo,
 * which may carry a password; libpq's own messages never do.
 */
#include "postgres.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "../common/log.h"
#include "../common/proctitle.h"
#include "../common/convert.h"
#include "../common/clock.h"
#include "../common/sysio.h"
#include "pgbin.h"
#include "sqlmap.h"

/* Longest poll() between two heartbeats while the server works (ms). */
#define WAIT_MS 1000

/* How long an attempt waits for the holder to go after telling it (ms). */
#define HOLDER_STOP_MS 10000

/* Bytes of a key or a value quoted in a reject's position or raw text. */
#define QUOTE_MAX 200

/* Longest snapshot id accepted ("00000003-0000001B-1"). */
#define SNAP_MAX 64

/* Type OIDs (pg_type.h) of the keys whose order is checked client-side. */
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_FLOAT4 700
#define OID_FLOAT8 701

struct pg_run {
	struct prov_ctx *c;
	const struct cfg_provider *p;
	PGconn *conn;
	char *body;             /* the query, trailing ';' removed */
	int nfields;
	int ncols;
	int *map;               /* field -> column, -1: NULL */
	bool *used;             /* column -> some field or the key reads it */
	int key_col;            /* -1: no key */
	unsigned key_type;      /* its type OID */
	struct rec_value *vals;
	const char **col;       /* current row: column text (unescaped) */
	size_t *col_len;
	bool *col_null;

	/* Binary COPY (see pgbin.h): this attempt's choice, the kind of each
	 * column, the current row's bytes, and scratch for values written as
	 * text (a reject's raw text, a key, a type read through its text). */
	bool binary;
	bool bin_header;        /* the stream's header was read */
	bool bin_trailer;       /* ... and its trailer */
	enum pgbin_kind *kind;
	const unsigned char **bval;
	uint32_t *blen;
	char **tbuf;
	size_t *tcap;

	uint64_t rows;          /* rows consumed, all attempts */
	uint64_t skip;          /* rows still to drop (resume without key) */

	/* The key of row `rows`, as text, and as a number when checked. */
	char *key;
	size_t key_len;
	size_t key_cap;
	bool have_key;
	int64_t key_i;
	double key_f;

	char snap[SNAP_MAX];    /* "" when snapshot = false */
	pid_t holder;           /* the snapshot's holder, 0: none */
};

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
static enum prov_status pg_result_fail(PGconn *conn, const PGresult *res,
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
 * Wait until conn's socket is readable (or writable), at most WAIT_MS,
 * beating through c (may be NULL).  Returns 1 ready, 0 nothing yet, -1
 * error.
 */
static int pg_wait(PGconn *conn, bool writable, struct prov_ctx *c)
{
	struct pollfd pfd = { .fd = PQsocket(conn),
			      .events = writable ? POLLOUT : POLLIN };
	int n;

	if (pfd.fd < 0)
		return -1;
	n = poll(&pfd, 1, WAIT_MS);
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

/* One line of a server's message text: blanks for line breaks and tabs. */
static void pg_line(const char *s, char *out, size_t len)
{
	size_t k = 0;

	for (; s != NULL && *s && k + 1 < len; s++)
		out[k++] = *s == '\n' || *s == '\t' || *s == '\r' ? ' ' : *s;
	while (k > 0 && out[k - 1] == ' ')
		k--;
	out[k] = '\0';
}

/*
 * The server's notices and warnings (RAISE NOTICE, "there is no
 * transaction in progress", a FATAL before it hangs up) go to our log, in
 * its format, never raw to stderr: NOTICE, INFO and LOG at info level (so
 * -q hides them), DEBUG at debug level, WARNING and worse at warn level
 * (the failure that may follow is reported where it happens).  arg: the
 * provider's name.
 */
static void pg_notice(void *arg, const PGresult *res)
{
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	char msg[1024], detail[512], hint[512];
	enum log_level level = LOG_WARN;

	if (sev == NULL)
		sev = PQresultErrorField(res, PG_DIAG_SEVERITY);
	if (sev == NULL)
		sev = "NOTICE";
	if (strcmp(sev, "NOTICE") == 0 || strcmp(sev, "INFO") == 0 ||
	    strcmp(sev, "LOG") == 0)
		level = LOG_INFO;
	else if (strcmp(sev, "DEBUG") == 0)
		level = LOG_DEBUG;
	if (!log_enabled(level))
		return;
	pg_line(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), msg,
		sizeof msg);
	pg_line(PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL), detail,
		sizeof detail);
	pg_line(PQresultErrorField(res, PG_DIAG_MESSAGE_HINT), hint,
		sizeof hint);
	/* Detail and hint only when the server gave them. */
	if (detail[0] && hint[0])
		log_event(level, arg, "server message", "severity", sev,
			  "message", msg, "detail", detail, "hint", hint, NULL);
	else if (detail[0] || hint[0])
		log_event(level, arg, "server message", "severity", sev,
			  "message", msg, detail[0] ? "detail" : "hint",
			  detail[0] ? detail : hint, NULL);
	else
		log_event(level, arg, "server message", "severity", sev,
			  "message", msg, NULL);
}

/*
 * Connect with conninfo, as psql does (PG* variables, .pgpass, services),
 * beating through c while waiting (c may be NULL).  connect_timeout is
 * honoured.  The server's notices are logged under name (pg_notice()).
 * Returns the connection in UTF-8, or NULL with *st and err.
 */
static PGconn *pg_connect(const char *conninfo, const char *name,
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
	PQsetNoticeReceiver(conn, pg_notice, (void *)name);
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
static PGresult *pg_next_result(PGconn *conn, struct prov_ctx *c)
{
	while (PQisBusy(conn)) {
		if (pg_wait(conn, false, c) < 0 || !PQconsumeInput(conn))
			break; /* PQgetResult reports the broken connection */
	}
	return PQgetResult(conn);
}

/*
 * Run sql (one or more statements, no rows expected, or one command whose
 * first result has status want) and read all its results.  On success
 * returns 0 and, if out is not NULL, the first result (PQclear it);
 * otherwise -1 with *st and err (prefixed by what).
 */
static int pg_run_sql(PGconn *conn, struct prov_ctx *c, const char *sql,
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
		if (rc == 0 && first == NULL && out) {
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
static PGresult *pg_describe(PGconn *conn, struct prov_ctx *c,
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

/* Resolve the fields against a description (sqlmap_resolve). */
static int pg_resolve(const struct cfg *cfg, const struct cfg_provider *p,
		      const PGresult *desc, int *map, int *key_col, char *err,
		      size_t errlen)
{
	int ncols = PQnfields(desc), rc;
	const char **names = calloc(ncols > 0 ? (size_t)ncols : 1, sizeof *names);

	if (names == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int j = 0; j < ncols; j++)
		names[j] = PQfname(desc, j);
	rc = sqlmap_resolve(cfg, p, names, ncols, map, key_col, err, errlen);
	free(names);
	return rc;
}

/* --- the snapshot holder --------------------------------------------- */

/*
 * The holder's abstract unix socket name, "\0aggregate-pgsnap-SUP-PID-SNAP":
 * the supervisor's pid, the holder's and its snapshot id, so that a reused
 * pid can never name another holder.
 */
static socklen_t pg_holder_addr(struct sockaddr_un *a, pid_t sup, pid_t holder,
				const char *snap)
{
	int n;

	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1,
		     "aggregate-pgsnap-%ld-%ld-%s", (long)sup, (long)holder, snap);
	if (n < 0 || (size_t)n >= sizeof a->sun_path - 1)
		n = (int)sizeof a->sun_path - 2;
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/*
 * Write the whole report to the attempt that started us.  Returns 0, or -1
 * when that attempt is gone (then nobody will ever use the snapshot).
 */
static int pg_holder_report(int fd, const char *msg)
{
	int rc = sys_write_all(fd, msg, strlen(msg));

	close(fd);
	return rc;
}

/*
 * The holder process: take and export a snapshot, report it on fd
 * ("O" id, or "E" status digit and message), then keep it until told to
 * go, until the connection ends, or until the supervisor dies.
 */
static void __attribute__((noreturn))
pg_holder_main(struct prov_ctx *c, int fd, pid_t sup)
{
	char title[256], err[1024], msg[1100];
	enum prov_status st = PROV_FAIL_RETRY;
	struct sockaddr_un addr;
	socklen_t alen;
	PGconn *conn = NULL;
	PGresult *res = NULL;
	int lfd = -1;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != sup)
		_exit(1); /* the supervisor is already gone */
	signal(SIGPIPE, SIG_IGN);
	/* Keep only the report pipe: no ring, no heartbeat pipe. */
	ring_destroy(c->ring);
	if (fd != 3) {
		if (dup2(fd, 3) < 0)
			_exit(1);
		fd = 3;
	}
	close_range(4, ~0u, 0);
	snprintf(title, sizeof title, "aggregate: pg snapshot %s", c->p->name);
	proctitle_set(title);

	conn = pg_connect(c->p->conninfo, c->p->name, NULL, &st, err,
			  sizeof err);
	if (conn == NULL)
		goto out_report;
	/* A session setting must not end the transaction we are here for. */
	if (pg_run_sql(conn, NULL, "SET idle_in_transaction_session_timeout = 0",
		       PGRES_COMMAND_OK, NULL, "snapshot", &st, err,
		       sizeof err) < 0 ||
	    pg_run_sql(conn, NULL, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
		       PGRES_COMMAND_OK, NULL, "cannot start the snapshot", &st,
		       err, sizeof err) < 0 ||
	    pg_run_sql(conn, NULL, "SELECT pg_export_snapshot()",
		       PGRES_TUPLES_OK, &res, "cannot export the snapshot", &st,
		       err, sizeof err) < 0)
		goto out_report;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0) ||
	    strlen(PQgetvalue(res, 0, 0)) >= SNAP_MAX) {
		st = PROV_FAIL_RETRY;
		snprintf(err, sizeof err, "cannot export the snapshot: "
			 "unexpected answer");
		goto out_report;
	}
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	alen = pg_holder_addr(&addr, sup, getpid(), PQgetvalue(res, 0, 0));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, alen) < 0 ||
	    listen(lfd, 8) < 0) {
		st = PROV_FAIL_RETRY;
		snprintf(err, sizeof err, "snapshot holder: cannot listen: %s",
			 strerror(errno));
		goto out_report;
	}
	snprintf(msg, sizeof msg, "O%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (pg_holder_report(fd, msg) < 0) {
		PQfinish(conn);
		_exit(1);
	}

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = lfd, .events = POLLIN },
			{ .fd = PQsocket(conn), .events = POLLIN },
		};

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents) {
			/* The server said something: only its goodbye matters. */
			if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK)
				break;
			while ((res = PQgetResult(conn)) != NULL)
				PQclear(res);
		}
		if (pfd[0].revents) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			struct ucred cred;
			socklen_t clen = sizeof cred;
			char cmd = 0;

			if (cfd < 0)
				continue;
			/* Only our own user may end the snapshot. */
			if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred,
				       &clen) == 0 && cred.uid == getuid()) {
				struct pollfd cp = { .fd = cfd, .events = POLLIN };

				if (poll(&cp, 1, WAIT_MS) == 1 &&
				    read(cfd, &cmd, 1) == 1 && cmd == 'q') {
					/* cfd closes at _exit: the attempt's EOF. */
					PQfinish(conn);
					_exit(0);
				}
			}
			close(cfd);
		}
	}
	PQfinish(conn);
	_exit(1);

out_report:
	PQclear(res);
	PQfinish(conn);
	snprintf(msg, sizeof msg, "E%d%s", (int)st, err);
	(void)pg_holder_report(fd, msg);
	_exit(1);
}

/*
 * Start a holder and read its snapshot id into r->snap.  Returns PROV_DONE
 * (0), or a failure with errbuf filled.
 */
static enum prov_status pg_holder_start(struct pg_run *r)
{
	struct prov_ctx *c = r->c;
	char report[1200];
	size_t len = 0;
	pid_t sup = getppid(), pid;
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0)
		return prov_fail(c, PROV_FAIL_RETRY, "cannot start the snapshot "
				 "holder: %s", strerror(errno));
	/*
	 * Like fork(), but the child is the supervisor's: it survives this
	 * attempt.  The raw system call, as glibc has no wrapper without a
	 * new stack; we are single-threaded, so nothing is left locked.
	 */
	pid = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_PARENT | SIGCHLD),
			     NULL, NULL, NULL, 0UL);
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return prov_fail(c, PROV_FAIL_RETRY, "cannot start the snapshot "
				 "holder: %s", strerror(errno));
	}
	if (pid == 0) {
		close(fds[0]);
		pg_holder_main(c, fds[1], sup);
	}
	close(fds[1]);
	for (;;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, WAIT_MS) < 0 && errno != EINTR)
			break;
		prov_heartbeat(c);
		if (pfd.revents == 0)
			continue;
		n = read(fds[0], report + len, sizeof report - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof report - 1)
			break;
	}
	close(fds[0]);
	report[len] = '\0';
	if (len > 1 && report[0] == 'O' && len - 1 < SNAP_MAX) {
		memcpy(r->snap, report + 1, len);
		r->holder = pid;
		return PROV_DONE;
	}
	if (len > 2 && report[0] == 'E')
		return prov_fail(c, report[1] == '2' ? PROV_FAIL_PERMANENT
						     : PROV_FAIL_RETRY,
				 "%s", report + 2);
	return prov_fail(c, PROV_FAIL_RETRY,
			 "the snapshot holder ended before exporting a snapshot");
}

/* Tell r's holder to go and wait (a little) until it has. */
static void pg_holder_stop(struct pg_run *r)
{
	struct sockaddr_un addr;
	socklen_t alen;
	uint64_t until = clock_ms() + HOLDER_STOP_MS;
	int fd;

	if (r->holder <= 0)
		return;
	alen = pg_holder_addr(&addr, getppid(), r->holder, r->snap);
	r->holder = 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&addr, alen) == 0 &&
	    write(fd, "q", 1) == 1) {
		while (clock_ms() < until) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			char b;

			if (poll(&pfd, 1, WAIT_MS) < 0 && errno != EINTR)
				break;
			prov_heartbeat(r->c);
			if (pfd.revents && read(fd, &b, 1) <= 0)
				break; /* EOF: it is gone */
		}
	}
	close(fd);
}

/* --- the resume token ------------------------------------------------ */

static int pg_token_write(const struct pg_run *r, bool done,
			  unsigned char *buf, size_t *len)
{
	struct sqlmap_token t;

	sqlmap_tok_init(&t, buf, PROV_TOKEN_MAX);
	sqlmap_tok_u64(&t, "pg", 1);
	sqlmap_tok_u64(&t, "rows", r->rows);
	sqlmap_tok_u64(&t, "done", done);
	if (r->snap[0]) {
		sqlmap_tok_str(&t, "snap", r->snap);
		sqlmap_tok_u64(&t, "holder", (uint64_t)r->holder);
	}
	if (r->key_col >= 0 && r->have_key)
		sqlmap_tok_bytes(&t, "key", r->key, r->key_len);
	*len = t.len;
	return t.overflow ? -1 : 0;
}

static bool pg_snap_valid(const unsigned char *s, size_t n)
{
	if (n == 0 || n >= SNAP_MAX)
		return false;
	for (size_t k = 0; k < n; k++)
		if (!is_state_char((char)s[k]) && s[k] != '-')
			return false;
	return true;
}

static int pg_key_set(struct pg_run *r, const char *v, size_t len)
{
	if (len + 1 > r->key_cap) {
		size_t cap = (len + 1) * 2;
		char *k = realloc(r->key, cap);

		if (k == NULL)
			return -1;
		r->key = k;
		r->key_cap = cap;
	}
	if (len)
		memcpy(r->key, v, len);
	r->key[len] = '\0';
	r->key_len = len;
	r->have_key = true;
	return 0;
}

/* Read the token into r.  0, or -1 for a token this code did not write. */
static int pg_token_read(struct pg_run *r, const unsigned char *tok,
			 size_t len, bool *done)
{
	uint64_t version, d, holder;
	const unsigned char *v;
	size_t vlen;
	int has;

	if (sqlmap_tok_get_u64(tok, len, "pg", &version) != 1 || version != 1 ||
	    sqlmap_tok_get_u64(tok, len, "rows", &r->rows) != 1 ||
	    sqlmap_tok_get_u64(tok, len, "done", &d) != 1 || d > 1)
		return -1;
	*done = d;
	has = sqlmap_tok_get(tok, len, "snap", &v, &vlen);
	if (has < 0)
		return -1;
	if (has) {
		if (!pg_snap_valid(v, vlen) ||
		    sqlmap_tok_get_u64(tok, len, "holder", &holder) != 1 ||
		    holder == 0 || holder > INT32_MAX)
			return -1;
		memcpy(r->snap, v, vlen);
		r->snap[vlen] = '\0';
		r->holder = (pid_t)holder;
	}
	has = sqlmap_tok_get(tok, len, "key", &v, &vlen);
	if (has < 0)
		return -1;
	if (has && pg_key_set(r, (const char *)v, vlen) < 0)
		return -1;
	return 0;
}

static enum prov_status pg_checkpoint(struct pg_run *r, bool done)
{
	unsigned char tok[PROV_TOKEN_MAX];
	size_t len;

	if (pg_token_write(r, done, tok, &len) < 0)
		return prov_fail(r->c, PROV_FAIL_PERMANENT,
				 "the key's value is too long for a resume "
				 "token (%zu bytes)", r->key_len);
	if (prov_checkpoint(r->c, tok, len) < 0)
		return prov_failure(r->c);
	return PROV_DONE;
}

/* --- the transaction ------------------------------------------------- */

/* BEGIN and import r->snap.  0, or -1 with *st and errbuf. */
static int pg_import(struct pg_run *r, enum prov_status *st)
{
	struct prov_ctx *c = r->c;
	char *lit, sql[SNAP_MAX + 64];

	if (pg_run_sql(r->conn, c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
		       PGRES_COMMAND_OK, NULL, "cannot begin", st, c->errbuf,
		       sizeof c->errbuf) < 0)
		return -1;
	lit = PQescapeLiteral(r->conn, r->snap, strlen(r->snap));
	if (lit == NULL) {
		*st = prov_fail(c, PROV_FAIL_RETRY, "out of memory");
		return -1;
	}
	snprintf(sql, sizeof sql, "SET TRANSACTION SNAPSHOT %s", lit);
	PQfreemem(lit);
	return pg_run_sql(r->conn, c, sql, PGRES_COMMAND_OK, NULL,
			  "cannot import the snapshot", st, c->errbuf,
			  sizeof c->errbuf);
}

/*
 * Open the transaction that reads the provider's one snapshot, taking the
 * snapshot first if no attempt did.  Returns PROV_DONE (0) or a failure.
 */
static enum prov_status pg_snapshot(struct pg_run *r)
{
	struct prov_ctx *c = r->c;
	enum prov_status st = PROV_DONE;
	bool fresh = false;

	if (r->snap[0] == '\0') {
		if ((st = pg_holder_start(r)) != PROV_DONE)
			return st;
		fresh = true;
	}
	if (pg_import(r, &st) < 0) {
		if (PQstatus(r->conn) == CONNECTION_BAD || fresh)
			return st;
		if (r->rows > 0) {
			char why[sizeof c->errbuf];

			snprintf(why, sizeof why, "%s", c->errbuf);
			return prov_fail(c, PROV_FAIL_PERMANENT,
					 "the snapshot this provider started "
					 "reading is gone (%s); a restart "
					 "would read different data", why);
		}
		/* Nothing counted yet: a new snapshot is as good. */
		if (pg_run_sql(r->conn, c, "ROLLBACK", PGRES_COMMAND_OK, NULL,
			       "cannot roll back", &st, c->errbuf,
			       sizeof c->errbuf) < 0)
			return st;
		r->snap[0] = '\0';
		r->holder = 0;
		if ((st = pg_holder_start(r)) != PROV_DONE)
			return st;
		fresh = true;
		if (pg_import(r, &st) < 0)
			return st;
	}
	/* Later attempts must find this snapshot: checkpoint it now. */
	if (fresh)
		return pg_checkpoint(r, false);
	return PROV_DONE;
}

/* --- rows ------------------------------------------------------------ */

/* Undo COPY text escapes in place; returns the new length. */
static size_t pg_unescape(char *s, size_t len)
{
	size_t in = 0, out = 0;

	if (memchr(s, '\\', len) == NULL)
		return len;
	while (in < len) {
		char ch = s[in++];

		if (ch != '\\' || in == len) {
			s[out++] = ch;
			continue;
		}
		ch = s[in++];
		switch (ch) {
		case 'b': s[out++] = '\b'; break;
		case 'f': s[out++] = '\f'; break;
		case 'n': s[out++] = '\n'; break;
		case 'r': s[out++] = '\r'; break;
		case 't': s[out++] = '\t'; break;
		case 'v': s[out++] = '\v'; break;
		case 'x': {
			int v = 0, n = 0;

			while (n < 2 && in < len &&
			       strchr("0123456789abcdefABCDEF", s[in]) && s[in]) {
				char h = s[in++];

				v = v * 16 + (h <= '9' ? h - '0'
					      : (h | 0x20) - 'a' + 10);
				n++;
			}
			s[out++] = n ? (char)v : 'x';
			break;
		}
		default:
			if (ch >= '0' && ch <= '7') {
				int v = ch - '0', n = 1;

				while (n < 3 && in < len && s[in] >= '0' &&
				       s[in] <= '7') {
					v = v * 8 + (s[in++] - '0');
					n++;
				}
				s[out++] = (char)v;
			} else {
				s[out++] = ch;
			}
		}
	}
	return out;
}

/*
 * Split one COPY row (buf[0..n), ending in a newline) into r->col.
 * Returns 0, or -1 if it does not have ncols columns.
 */
static int pg_split(struct pg_run *r, char *buf, size_t n)
{
	char *p = buf, *end;
	int j = 0;

	if (n > 0 && buf[n - 1] == '\n')
		n--;
	end = buf + n;
	if (r->ncols == 0)
		return n == 0 ? 0 : -1;
	for (;;) {
		char *tab = memchr(p, '\t', (size_t)(end - p));
		char *fe = tab ? tab : end;

		if (j == r->ncols)
			return -1;
		r->col_null[j] = fe - p == 2 && p[0] == '\\' && p[1] == 'N';
		r->col[j] = p;
		r->col_len[j] = r->used[j] && !r->col_null[j]
			? pg_unescape(p, (size_t)(fe - p)) : (size_t)(fe - p);
		j++;
		if (tab == NULL)
			break;
		p = tab + 1;
	}
	return j == r->ncols ? 0 : -1;
}

/*
 * Split one binary COPY tuple (buf[0..n), the header already taken off)
 * into r->bval / r->blen, checking every used value.  0, or -1 if the
 * tuple is malformed.
 */
static int pg_bin_split(struct pg_run *r, char *buf, size_t n)
{
	if (pgbin_tuple((const unsigned char *)buf, n, r->ncols, r->bval,
			r->blen) != 0)
		return -1;
	for (int j = 0; j < r->ncols; j++) {
		r->col_null[j] = r->bval[j] == NULL;
		if (r->used[j] && !r->col_null[j] &&
		    pgbin_check(r->kind[j], r->bval[j], r->blen[j]) < 0)
			return -1;
	}
	return 0;
}

/*
 * Make r->col[j] column j's text, as the text format would have sent it
 * (for a key, a reject, or a type read through its text).  0, or -1 when
 * out of memory.
 */
static int pg_bin_text(struct pg_run *r, int j)
{
	const unsigned char *p = r->bval[j];
	size_t len = r->blen[j], need;

	if (r->kind[j] == PGBIN_TEXT) {
		r->col[j] = (const char *)p;
		r->col_len[j] = len;
		return 0;
	}
	need = pgbin_text_size(r->kind[j], p, len);
	if (need > r->tcap[j]) {
		char *b = realloc(r->tbuf[j], need);

		if (b == NULL)
			return -1;
		r->tbuf[j] = b;
		r->tcap[j] = need;
	}
	r->col_len[j] = pgbin_text(r->kind[j], p, len, r->tbuf[j]);
	r->col[j] = r->tbuf[j];
	return 0;
}

/* Take the current row's key; check its order when the type allows. */
static enum prov_status pg_take_key(struct pg_run *r)
{
	struct prov_ctx *c = r->c;
	int col = r->key_col;
	const char *v = r->col[col];
	size_t len = r->col_len[col];
	bool had = r->have_key;

	if (r->col_null[col])
		return prov_fail(c, PROV_FAIL_PERMANENT,
				 "key \"%s\" is NULL at row %" PRIu64
				 ": a key must strictly increase", r->p->key,
				 r->rows);
	switch (r->key_type) {
	case OID_INT2:
	case OID_INT4:
	case OID_INT8: {
		int64_t k;

		if (conv_parse_int(v, len, &k) == 0) {
			if (had && k <= r->key_i)
				goto out_order;
			r->key_i = k;
		}
		break;
	}
	case OID_FLOAT4:
	case OID_FLOAT8: {
		double k;

		if (conv_parse_float(v, len, &k) == 0) {
			if (had && !(k > r->key_f))
				goto out_order;
			r->key_f = k;
		}
		break;
	}
	default:
		break; /* the server's collation decides; we cannot check */
	}
	if (pg_key_set(r, v, len) < 0)
		return prov_fail(c, PROV_FAIL_RETRY, "out of memory");
	return PROV_DONE;
out_order:
	return prov_fail(c, PROV_FAIL_PERMANENT,
			 "key \"%s\" does not strictly increase: row %" PRIu64
			 " has %.*s after %.*s", r->p->key, r->rows,
			 (int)(len < QUOTE_MAX ? len : QUOTE_MAX), v,
			 (int)(r->key_len < QUOTE_MAX ? r->key_len : QUOTE_MAX),
			 r->key);
}

/* Where the current row is, for a reject: "row key=42" or "row 17". */
static void pg_position(const struct pg_run *r, char *out, size_t len)
{
	if (r->key_col >= 0)
		snprintf(out, len, "row key=%.*s",
			 (int)(r->key_len < QUOTE_MAX ? r->key_len : QUOTE_MAX),
			 r->key);
	else
		snprintf(out, len, "row %" PRIu64, r->rows);
}

/* One COPY row: into a record, or a reject.  0, or a failure. */
static enum prov_status pg_row(struct pg_run *r, char *buf, size_t n)
{
	struct prov_ctx *c = r->c;
	const struct rec_schema *s = &c->cfg->schema;
	char reason[CONV_REASON_MAX], full[CONV_REASON_MAX + 128];
	char pos[QUOTE_MAX + 64];
	enum prov_status st;

	if ((r->binary ? pg_bin_split(r, buf, n) : pg_split(r, buf, n)) < 0)
		return prov_fail(c, PROV_FAIL_RETRY, "row %" PRIu64 ": the "
				 "server sent a COPY row of the wrong shape",
				 r->rows + 1);
	r->rows++;
	if (r->key_col >= 0) {
		/* The key is kept as the text the server would have sent. */
		if (r->binary && !r->col_null[r->key_col] &&
		    pg_bin_text(r, r->key_col) < 0)
			return prov_fail(c, PROV_FAIL_RETRY, "out of memory");
		if ((st = pg_take_key(r)) != PROV_DONE)
			return st;
	}
	for (int i = 0; i < r->nfields; i++) {
		int col = r->map[i];

		if (col < 0 || r->col_null[col]) {
			r->vals[i].null = true;
			continue;
		}
		r->vals[i].null = false;
		if (r->binary) {
			if (pgbin_value(r->kind[col], s->fields[i].type,
					r->bval[col], r->blen[col], &r->vals[i]))
				continue;
			/* Through the text, for the same value or reject. */
			if (pg_bin_text(r, col) < 0)
				return prov_fail(c, PROV_FAIL_RETRY,
						 "out of memory");
		}
		if (conv_text(s->fields[i].type, r->col[col], r->col_len[col],
			      &r->vals[i], reason, sizeof reason) == 0)
			continue;
		pg_position(r, pos, sizeof pos);
		snprintf(full, sizeof full, "field %s: %s", s->fields[i].name,
			 reason);
		if (prov_reject(c, pos, full, r->col[col],
				r->col_len[col] < QUOTE_MAX ? r->col_len[col]
							    : QUOTE_MAX) < 0)
			return prov_failure(c);
		return PROV_DONE;
	}
	if (prov_emit(c, r->vals) < 0)
		return prov_failure(c);
	return PROV_DONE;
}

/*
 * One CopyData message (one row, as the server sends them): drop it while
 * rows are still to skip, else read it.  In binary the first message also
 * holds the stream's header and the last one is the trailer.
 */
static enum prov_status pg_message(struct pg_run *r, char *buf, size_t n,
				   uint64_t *skipped)
{
	uint64_t row = *skipped < r->skip ? *skipped + 1 : r->rows + 1;
	const char *bad = NULL;

	if (r->binary) {
		if (!r->bin_header) {
			long h = pgbin_header((const unsigned char *)buf, n);

			if (h < 0) {
				bad = "no valid header";
				goto out_bad;
			}
			r->bin_header = true;
			buf += h;
			n -= (size_t)h;
		}
		if (r->bin_trailer) {
			bad = "data after the trailer";
			goto out_bad;
		}
		if (n == 2 && buf[0] == '\xff' && buf[1] == '\xff') {
			r->bin_trailer = true;
			return PROV_DONE;
		}
	}
	if (*skipped < r->skip) {
		(*skipped)++;
		return PROV_DONE;
	}
	return pg_row(r, buf, n);
out_bad:
	return prov_fail(r->c, PROV_FAIL_RETRY, "row %" PRIu64 ": the server "
			 "sent a malformed binary COPY stream (%s)", row, bad);
}

/* The COPY statement of this attempt, malloc'd (NULL: no memory). */
static char *pg_copy_sql(struct pg_run *r)
{
	const char *fmt = r->binary ? " (FORMAT binary)" : "";
	char *sql = NULL, *ident, *lit;

	if (r->key_col < 0 || !r->have_key) {
		if (asprintf(&sql, "COPY (\n%s\n) TO STDOUT%s", r->body, fmt) < 0)
			return NULL;
		return sql;
	}
	ident = PQescapeIdentifier(r->conn, r->p->key, strlen(r->p->key));
	lit = PQescapeLiteral(r->conn, r->key, r->key_len);
	if (ident && lit &&
	    asprintf(&sql, "COPY (SELECT * FROM (\n%s\n) AS agg_resume WHERE "
		     "%s > %s ORDER BY %s) TO STDOUT%s", r->body, ident, lit,
		     ident, fmt) < 0)
		sql = NULL;
	PQfreemem(ident);
	PQfreemem(lit);
	return sql;
}

/* Stream the COPY: drop r->skip rows, then one record per row. */
static enum prov_status pg_copy(struct pg_run *r)
{
	struct prov_ctx *c = r->c;
	enum prov_status st = PROV_DONE;
	char *sql = pg_copy_sql(r);
	PGresult *res = NULL;
	uint64_t skipped = 0;

	if (sql == NULL)
		return prov_fail(c, PROV_FAIL_RETRY, "out of memory");
	r->bin_header = false;
	r->bin_trailer = false;
	if (!PQsendQuery(r->conn, sql)) {
		st = pg_result_fail(r->conn, NULL, "query failed", c->errbuf,
				    sizeof c->errbuf);
		goto out_free;
	}
	res = pg_next_result(r->conn, c);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		st = pg_result_fail(r->conn, res, "query failed", c->errbuf,
				    sizeof c->errbuf);
		goto out_drain;
	}
	PQclear(res);
	res = NULL;

	for (;;) {
		char *buf = NULL;
		int n = PQgetCopyData(r->conn, &buf, 1);

		if (n > 0) {
			st = pg_message(r, buf, (size_t)n, &skipped);
			PQfreemem(buf);
			if (st != PROV_DONE)
				goto out_drain;
			if (skipped == r->skip && prov_want_checkpoint(c) &&
			    (st = pg_checkpoint(r, false)) != PROV_DONE)
				goto out_drain;
			continue;
		}
		if (n == 0) {
			if (pg_wait(r->conn, false, c) < 0 ||
			    !PQconsumeInput(r->conn))
				break;
			continue;
		}
		break; /* -1: the end; -2: an error, which the result tells */
	}
	res = pg_next_result(r->conn, c);
	if (PQresultStatus(res) != PGRES_COMMAND_OK ||
	    PQstatus(r->conn) == CONNECTION_BAD) {
		st = pg_result_fail(r->conn, res, "query failed", c->errbuf,
				    sizeof c->errbuf);
		goto out_drain;
	}
	if (r->binary && !r->bin_trailer) {
		st = prov_fail(c, PROV_FAIL_RETRY, "row %" PRIu64 ": the server "
			       "sent a malformed binary COPY stream (no "
			       "trailer)", r->rows + 1);
		goto out_drain;
	}
	if (skipped < r->skip)
		st = prov_fail(c, PROV_FAIL_PERMANENT,
			       "the query now returns %" PRIu64 " rows, fewer "
			       "than the %" PRIu64 " already counted: the data "
			       "changed (set key, or snapshot = true)",
			       skipped, r->skip);
out_drain:
	PQclear(res);
	/* After a failure the connection is dropped, not drained. */
	if (st == PROV_DONE)
		while ((res = pg_next_result(r->conn, c)) != NULL)
			PQclear(res);
out_free:
	free(sql);
	return st;
}

/* Allocate the per-attempt arrays once the column count is known. */
static int pg_alloc(struct pg_run *r, int ncols)
{
	size_t nc = (size_t)ncols + 1;

	r->ncols = ncols;
	r->used = calloc(nc, sizeof *r->used);
	r->col = calloc(nc, sizeof *r->col);
	r->col_len = calloc(nc, sizeof *r->col_len);
	r->col_null = calloc(nc, sizeof *r->col_null);
	r->kind = calloc(nc, sizeof *r->kind);
	r->bval = calloc(nc, sizeof *r->bval);
	r->blen = calloc(nc, sizeof *r->blen);
	r->tbuf = calloc(nc, sizeof *r->tbuf);
	r->tcap = calloc(nc, sizeof *r->tcap);
	if (!r->used || !r->col || !r->col_len || !r->col_null || !r->kind ||
	    !r->bval || !r->blen || !r->tbuf || !r->tcap)
		return -1;
	for (int i = 0; i < r->nfields; i++)
		if (r->map[i] >= 0)
			r->used[r->map[i]] = true;
	if (r->key_col >= 0)
		r->used[r->key_col] = true;
	return 0;
}

/* --- choosing the transfer ------------------------------------------ */

/* Whether the session writes every timestamptz with the offset +00. */
static bool pg_session_utc(PGconn *conn)
{
	static const char *const zones[] = {
		"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal",
		"Etc/Universal", "Zulu", "Etc/Zulu", "GMT", "Etc/GMT", "GMT0",
		"Etc/GMT0", "Greenwich", "Etc/Greenwich",
	};
	const char *tz = PQparameterStatus(conn, "TimeZone");

	for (size_t k = 0; tz && k < sizeof zones / sizeof *zones; k++)
		if (strcasecmp(tz, zones[k]) == 0)
			return true;
	return false;
}

/* Test builds: AGG_PG_COPY=text keeps every attempt on the text path. */
static bool pg_text_forced(void)
{
#ifdef AGG_TESTING
	const char *s = getenv("AGG_PG_COPY");

	return s && strcmp(s, "text") == 0;
#else
	return false;
#endif
}

/*
 * Whether the server can send every column of type oids[0..n) in binary:
 * a base or enum type with a send function, and for an array an element
 * type like that (a type without one fails the COPY, and a column nobody
 * reads must not cost the attempt).  1 yes, 0 no, -1 failure (*st).
 */
static int pg_types_sendable(struct pg_run *r, const unsigned *oids, int n,
			     enum prov_status *st)
{
	static const char head[] =
		"SELECT count(*) FROM pg_catalog.pg_type t WHERE t.oid IN (";
	static const char tail[] =
		") AND NOT (t.typsend::oid <> 0 AND t.typtype IN ('b', 'e') "
		"AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE "
		"e.oid = t.typelem AND (e.typsend::oid = 0 OR "
		"e.typtype NOT IN ('b', 'e'))))";
	size_t cap = sizeof head + sizeof tail + (size_t)n * 12, len;
	char *sql = malloc(cap);
	PGresult *res = NULL;
	int ok;

	if (sql == NULL) {
		*st = prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
		return -1;
	}
	len = (size_t)snprintf(sql, cap, "%s", head);
	for (int k = 0; k < n; k++)
		len += (size_t)snprintf(sql + len, cap - len, "%s%u",
					k ? ", " : "", oids[k]);
	snprintf(sql + len, cap - len, "%s", tail);
	ok = pg_run_sql(r->conn, r->c, sql, PGRES_TUPLES_OK, &res,
			"cannot read the column types", st, r->c->errbuf,
			sizeof r->c->errbuf);
	free(sql);
	if (ok < 0)
		return -1;
	ok = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) &&
	     strcmp(PQgetvalue(res, 0, 0), "0") == 0;
	PQclear(res);
	return ok;
}

/*
 * Why this attempt cannot use binary COPY, into why ("" when it can): a
 * used column whose kind cannot give exactly the text path's value for
 * its field (pgbin.h), or a key whose text cannot be rebuilt.
 */
static void pg_binary_blocker(struct pg_run *r, const PGresult *desc,
			      char *why, size_t len)
{
	const struct rec_schema *s = &r->c->cfg->schema;
	const char *ds = PQparameterStatus(r->conn, "DateStyle");

	why[0] = '\0';
	if (pg_text_forced()) {
		snprintf(why, len, "AGG_PG_COPY=text");
		return;
	}
	/* Set by the session; checked, since dates are written as ISO. */
	if (ds == NULL || strncmp(ds, "ISO", 3) != 0) {
		snprintf(why, len, "DateStyle is %s", ds ? ds : "unknown");
		return;
	}
	for (int i = 0; i < r->nfields; i++) {
		int col = r->map[i];

		if (col < 0 || pgbin_pair_ok(r->kind[col], s->fields[i].type))
			continue;
		snprintf(why, len, "column %s (type %u) into %s:%s",
			 PQfname(desc, col), PQftype(desc, col),
			 s->fields[i].name, rec_type_name(s->fields[i].type));
		return;
	}
	if (r->key_col >= 0 && !pgbin_has_text(r->kind[r->key_col]))
		snprintf(why, len, "key column %s (type %u)",
			 PQfname(desc, r->key_col), PQftype(desc, r->key_col));
}

/*
 * Choose this attempt's transfer (r->binary) and log it.  Columns nobody
 * reads are only skipped in binary, whatever their type, as long as the
 * server can send them.  Returns PROV_DONE, or a failure of the catalog
 * query that asks that.
 */
static enum prov_status pg_choose(struct pg_run *r, const PGresult *desc)
{
	enum prov_status st = PROV_DONE;
	bool utc = pg_session_utc(r->conn);
	unsigned *other = NULL;
	int nother = 0, ok;
	char why[256];

	for (int j = 0; j < r->ncols; j++)
		r->kind[j] = pgbin_kind(PQftype(desc, j), utc);
	pg_binary_blocker(r, desc, why, sizeof why);
	for (int j = 0; why[0] == '\0' && j < r->ncols; j++) {
		if (r->used[j] || r->kind[j] != PGBIN_NONE)
			continue;
		if (other == NULL &&
		    (other = calloc((size_t)r->ncols, sizeof *other)) == NULL)
			return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
		other[nother++] = PQftype(desc, j);
	}
	if (nother > 0) {
		ok = pg_types_sendable(r, other, nother, &st);
		free(other);
		if (ok < 0)
			return st;
		if (!ok)
			snprintf(why, sizeof why, "an unused column's type "
				 "has no binary output");
	}
	r->binary = why[0] == '\0';
	if (r->binary)
		log_event(LOG_DEBUG, r->p->name, "copy format", "format",
			  "binary", NULL);
	else
		log_event(LOG_DEBUG, r->p->name, "copy format", "format", "text",
			  "reason", why, NULL);
	return PROV_DONE;
}

static enum prov_status postgres_run(struct prov_ctx *c)
{
	const struct cfg_provider *p = c->p;
	struct pg_run r = { .c = c, .p = p, .key_col = -1 };
	enum prov_status st = PROV_DONE;
	PGresult *desc = NULL;
	bool done = false;
	int rc;

	r.nfields = c->cfg->schema.nfields;
	if (c->token_len && pg_token_read(&r, c->token, c->token_len, &done) < 0) {
		st = prov_fail(c, PROV_FAIL_PERMANENT, "bad resume token");
		goto out_free;
	}
	if (done) {
		/* Only the DONE frame was lost; the holder may still wait. */
		pg_holder_stop(&r);
		goto out_free;
	}
	r.body = sqlmap_query_body(p->query);
	r.map = calloc((size_t)r.nfields + 1, sizeof *r.map);
	r.vals = calloc((size_t)r.nfields + 1, sizeof *r.vals);
	if (r.body == NULL || r.map == NULL || r.vals == NULL) {
		st = prov_fail(c, PROV_FAIL_RETRY, "out of memory");
		goto out_free;
	}
	r.conn = pg_connect(p->conninfo, p->name, c, &st, c->errbuf,
			    sizeof c->errbuf);
	if (r.conn == NULL)
		goto out_free;
	/* Text that reads back as the same value: ISO dates, exact floats. */
	if (pg_run_sql(r.conn, c, "SET DateStyle = ISO; SET extra_float_digits = 3",
		       PGRES_COMMAND_OK, NULL, "cannot set up the session", &st,
		       c->errbuf, sizeof c->errbuf) < 0)
		goto out_finish;
	if (p->snapshot && (st = pg_snapshot(&r)) != PROV_DONE)
		goto out_finish;
	desc = pg_describe(r.conn, c, r.body, &st, c->errbuf, sizeof c->errbuf);
	if (desc == NULL)
		goto out_finish;
	rc = pg_resolve(c->cfg, p, desc, r.map, &r.key_col, c->errbuf,
			sizeof c->errbuf);
	if (rc < 0) {
		st = rc == SQLMAP_NO_COLUMN ? PROV_FAIL_CONFIG
					    : PROV_FAIL_PERMANENT;
		goto out_finish;
	}
	if (r.key_col >= 0)
		r.key_type = PQftype(desc, r.key_col);
	if (pg_alloc(&r, PQnfields(desc)) < 0) {
		st = prov_fail(c, PROV_FAIL_RETRY, "out of memory");
		goto out_finish;
	}
	if (r.key_col >= 0 && r.have_key) {
		/* Order checks continue from the last key. */
		if (r.key_type == OID_INT2 || r.key_type == OID_INT4 ||
		    r.key_type == OID_INT8)
			r.have_key = conv_parse_int(r.key, r.key_len, &r.key_i) == 0;
		else if (r.key_type == OID_FLOAT4 || r.key_type == OID_FLOAT8)
			r.have_key = conv_parse_float(r.key, r.key_len,
						      &r.key_f) == 0;
		if (!r.have_key) {
			st = prov_fail(c, PROV_FAIL_PERMANENT, "bad resume token");
			goto out_finish;
		}
	}
	/* Without a key, the rows already counted are read again and dropped. */
	if (r.key_col < 0)
		r.skip = r.rows;
	if ((st = pg_choose(&r, desc)) != PROV_DONE)
		goto out_finish;
	if ((st = pg_copy(&r)) != PROV_DONE)
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
	free(r.key);
	free(r.vals);
	free(r.map);
	free(r.body);
	return st;
}

static int postgres_check(const struct cfg *cfg, const struct cfg_provider *p,
			  char *msg, size_t msglen)
{
	enum prov_status st;
	PGconn *conn;
	PGresult *desc = NULL;
	char *body = sqlmap_query_body(p->query);
	int *map = calloc((size_t)cfg->schema.nfields + 1, sizeof *map);
	int key_col, rc = -1;

	if (body == NULL || map == NULL) {
		snprintf(msg, msglen, "out of memory");
		goto out_free;
	}
	conn = pg_connect(p->conninfo, p->name, NULL, &st, msg, msglen);
	if (conn == NULL)
		goto out_free;
	desc = pg_describe(conn, NULL, body, &st, msg, msglen);
	if (desc == NULL)
		goto out_finish;
	rc = pg_resolve(cfg, p, desc, map, &key_col, msg, msglen);
	if (rc < 0) {
		rc = rc == SQLMAP_NO_COLUMN ? PROV_CHECK_CONFIG : -1;
		goto out_finish;
	}
	snprintf(msg, msglen, "connected to database %s, query prepared, "
		 "%d columns", PQdb(conn), PQnfields(desc));
	rc = 0;
out_finish:
	PQclear(desc);
	PQfinish(conn);
out_free:
	free(map);
	free(body);
	return rc;
}

const struct prov_ops postgres_provider_ops = {
	.name = "postgres",
	.run = postgres_run,
	.check = postgres_check,
};
