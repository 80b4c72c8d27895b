/*
 * pg_snapshot.c - one snapshot for every attempt of a postgres provider
 * (snapshot = true; pg_snapshot.h).
 *
 * The first attempt starts a holder process that opens its own
 * connection, begins a REPEATABLE READ READ ONLY transaction, exports its
 * snapshot (pg_export_snapshot) and keeps the transaction open.  Every
 * attempt, the first included, imports it (SET TRANSACTION SNAPSHOT) in a
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
 */
#include "pg_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/proctitle.h"
#include "../common/sysio.h"
#include "../common/trace.h"
#include "pg_conn.h"
#include "pg_resume.h"
#include "sql_conf.h"

/* How long an attempt waits for the holder to go after telling it (ms). */
#define HOLDER_STOP_MS 10000

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
	trace_child("postgres snapshot holder %s", c->p->name);
	trace_begin("hold snapshot", NULL);

	conn = pg_connect(sql_conf(c->p)->conninfo, c->p->name, NULL, &st, err,
			  sizeof err);
	if (conn == NULL)
		goto out_report;
	/*
	 * A session setting must not end the transaction we are here for.
	 * One round trip for the three.
	 */
	if (pg_run_sql(conn, NULL, "SET idle_in_transaction_session_timeout = 0;"
		       " BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
		       " SELECT pg_export_snapshot()", PGRES_TUPLES_OK, &res,
		       "cannot export the snapshot", &st, err, sizeof err) < 0)
		goto out_report;
	if (res == NULL || PQntuples(res) != 1 || PQgetisnull(res, 0, 0) ||
	    strlen(PQgetvalue(res, 0, 0)) >= PG_SNAP_MAX) {
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
	trace_instant("snapshot exported", NULL);
	trace_flush();

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

				if (poll(&cp, 1, PG_WAIT_MS) == 1 &&
				    read(cfd, &cmd, 1) == 1 && cmd == 'q') {
					/* cfd closes at _exit: the attempt's EOF. */
					PQfinish(conn);
					trace_end("hold snapshot", NULL);
					trace_stop();
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
 * A holder started before the attempt's own connection (pg_holder_begin()),
 * so that the two connect at once: its report's pipe, and its pid.  One
 * attempt per process, so one such holder.
 */
static int early_fd = -1;
static pid_t early_pid;

/*
 * Start a holder; its report comes on *fd.  PROV_DONE (0), or a failure
 * with errbuf filled.
 */
static enum prov_status pg_holder_spawn(struct pg_run *r, int *fd, pid_t *hp)
{
	struct prov_ctx *c = r->c;
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
	*fd = fds[0];
	*hp = pid;
	return PROV_DONE;
}

/*
 * Read the report of holder pid from fd (closed here), its snapshot id
 * into r->snap.  PROV_DONE (0), or a failure with errbuf filled.
 */
static enum prov_status pg_holder_wait(struct pg_run *r, int fd, pid_t pid)
{
	struct prov_ctx *c = r->c;
	char report[1200];
	size_t len = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, PG_WAIT_MS) < 0 && errno != EINTR)
			break;
		prov_heartbeat(c);
		if (pfd.revents == 0)
			continue;
		n = read(fd, report + len, sizeof report - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof report - 1)
			break;
	}
	close(fd);
	report[len] = '\0';
	if (len > 1 && report[0] == 'O' && len - 1 < PG_SNAP_MAX) {
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

/* Start a holder and read its snapshot id into r->snap. */
static enum prov_status pg_holder_start(struct pg_run *r)
{
	enum prov_status st;
	pid_t pid;
	int fd;

	if (early_fd >= 0) {
		fd = early_fd;
		early_fd = -1;
		return pg_holder_wait(r, fd, early_pid);
	}
	if ((st = pg_holder_spawn(r, &fd, &pid)) != PROV_DONE)
		return st;
	return pg_holder_wait(r, fd, pid);
}

void pg_holder_begin(struct pg_run *r)
{
	if (early_fd < 0 && r->snap[0] == '\0' &&
	    pg_holder_spawn(r, &early_fd, &early_pid) != PROV_DONE)
		early_fd = -1; /* pg_snapshot() tries again, and says why */
}

void pg_holder_stop(struct pg_run *r)
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

			if (poll(&pfd, 1, PG_WAIT_MS) < 0 && errno != EINTR)
				break;
			prov_heartbeat(r->c);
			if (pfd.revents && read(fd, &b, 1) <= 0)
				break; /* EOF: it is gone */
		}
	}
	close(fd);
}
/* --- the transaction ------------------------------------------------- */

/* BEGIN and import r->snap.  0, or -1 with *st and errbuf. */
static int pg_import(struct pg_run *r, enum prov_status *st)
{
	struct prov_ctx *c = r->c;
	char *lit, sql[2 * PG_SNAP_MAX + 128];

	lit = PQescapeLiteral(r->conn, r->snap, strlen(r->snap));
	if (lit == NULL) {
		*st = prov_fail(c, PROV_FAIL_RETRY, "out of memory");
		return -1;
	}
	/* One round trip; a failed import leaves the transaction aborted. */
	snprintf(sql, sizeof sql, "BEGIN ISOLATION LEVEL REPEATABLE READ READ "
		 "ONLY; SET TRANSACTION SNAPSHOT %s", lit);
	PQfreemem(lit);
	return pg_run_sql(r->conn, c, sql, PGRES_COMMAND_OK, NULL,
			  "cannot import the snapshot", st, c->errbuf,
			  sizeof c->errbuf);
}

/*
 * Open the transaction that reads the provider's one snapshot, taking the
 * snapshot first if no attempt did.  Returns PROV_DONE (0) or a failure.
 */
enum prov_status pg_snapshot(struct pg_run *r)
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

bool pg_snap_valid(const unsigned char *s, size_t n)
{
	if (n == 0 || n >= PG_SNAP_MAX)
		return false;
	for (size_t k = 0; k < n; k++)
		if (!(s[k] >= '0' && s[k] <= '9') &&
		    !(s[k] >= 'A' && s[k] <= 'Z') && s[k] != '-')
			return false;
	return true;
}
