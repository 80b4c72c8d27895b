/*
 * test_sup.c - the supervisor's limits and its watch over the aggregator,
 * on the real aggregate binary (build/test) and real processes: many
 * providers at once (control messages never dropped, the open-file limit),
 * descriptors 0-2 closed at start, a small /dev/shm (a real tmpfs mounted
 * in a private mount namespace, so the host's is untouched), names a
 * killed supervisor left in /dev/shm, memory_limit beside a big ring, a
 * stall_timeout too short, a SIGSTOPped aggregator, and providers forked
 * before the aggregator is ready (their records counted once).
 *
 * Synchronisation is by observable events only ("fault injected" on
 * stderr, read through a pipe; waitpid()); the run's own `timeout` key and
 * tu_watchdog() turn a hang into a failure.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../ipc/ring.h"
#include "helpers/proc.h"
#include "helpers/testutil.h"

static char *dir;

static void setup(void)
{
	tu_watchdog(280);
	dir = tu_tmpdir();
	/* Orphans of a supervisor we kill come to us, to be waited for. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
}

static void teardown(void)
{
	tu_tmpdir_free(&dir);
}

TestSuite(limits, .init = setup, .fini = teardown);
TestSuite(stdfds, .init = setup, .fini = teardown);
TestSuite(shm, .init = setup, .fini = teardown);
TestSuite(watch, .init = setup, .fini = teardown);
TestSuite(order, .init = setup, .fini = teardown);

/* A skipped test does not reach the suite's .fini: clean up first. */
#define skip_test(...) do { teardown(); cr_skip_test(__VA_ARGS__); } while (0)

static void put(const char *name, const char *content)
{
	tu_put(dir, name, content);
}

static char *get(const char *name)
{
	return tu_get(dir, name);
}

/* p.conf: [aggregate] with extra, then one CSV provider "a" over a.csv. */
static void one_provider(const char *extra, const char *prov_extra)
{
	char *text;

	put("a.csv", "provider,id,name\na,1,one\na,2,two\n");
	extra = extra ? extra : "";
	cr_assert(asprintf(&text, "[aggregate]\noutput = out.csv\nfields = "
			   "id:int, name:text\n%s%s\n"
			   "[provider a]\ntype = file\npath = a.csv\n%s",
			   strstr(extra, "ring_size") ? "" : "ring_size = 64K\n",
			   extra, prov_extra ? prov_extra : "") > 0);
	put("p.conf", text);
	free(text);
}

/* --- running the binary with a hand-made start ------------------------ */

enum start_how {
	START_PLAIN,
	START_NO_STDERR,    /* fd 2 closed, as `2>&-` */
	START_FEW_FDS,      /* RLIMIT_NOFILE 64, soft and hard */
	START_SMALL_SHM,    /* a 1M tmpfs on /dev/shm, own mount namespace */
};

/* In the child, before exec: the start that *how asks for. */
static void prepare(void *arg)
{
	enum start_how how = *(const enum start_how *)arg;

	if (how == START_NO_STDERR)
		close(2);
	if (how == START_FEW_FDS) {
		struct rlimit rl = { 64, 64 };

		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			_exit(127);
	}
	if (how == START_SMALL_SHM &&
	    (unshare(CLONE_NEWNS) < 0 ||
	     mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	     mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
		   "size=1M,mode=1777") < 0))
		_exit(77);
}

/*
 * Start aggregate -c p.conf (plus arg, may be NULL) in dir with env (may
 * be NULL, "NAME=value"), stderr into a pipe unless closed
 * (tests/helpers/proc.h).  A child that cannot set up START_SMALL_SHM
 * exits 77.
 */
static void spawn(struct proc *p, enum start_how how, const char *const *env,
		  const char *arg)
{
	const char *args[] = { "-c", "p.conf", arg, NULL };

	proc_spawn(p, dir, args, env, prepare, &how);
}

/* Names of supervisor sup in /dev/shm. */
static int shm_names_of(pid_t sup)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	char prefix[64];
	int n = 0;

	snprintf(prefix, sizeof prefix, "aggregate-%ld-", (long)sup);
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

/* --- 1. many providers: no control message dropped, fds enough --------- */

/*
 * n providers of one tiny CSV file each, no -j: all at once.  The run's
 * timeout turns the old hang (STARTED and ENDED dropped once the
 * supervisor's socket was full) into a failure.
 */
static void many_providers(int n)
{
	FILE *f;
	char *path = tu_path(dir, "p.conf"), name[64];
	struct tu_result r;
	const char *args[] = { "-c", "p.conf", "-q", NULL };
	char *out, *line;
	int rows = 0;
	bool *seen = calloc((size_t)n, sizeof *seen);

	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "[aggregate]\noutput = out.csv\nfields = id:int, name:text\n"
		"ring_size = 64K\ntimeout = 150s\n\n");
	for (int i = 0; i < n; i++) {
		char *csv, text[64];

		snprintf(name, sizeof name, "p%03d.csv", i);
		snprintf(text, sizeof text, "id,name\n%d,n%d\n", i, i);
		csv = tu_path(dir, name);
		tu_write(csv, text);
		free(csv);
		fprintf(f, "[provider p%03d]\ntype = file\npath = %s\n\n", i, name);
	}
	cr_assert_eq(fclose(f), 0);
	free(path);

	tu_run(&r, dir, args, NULL);
	cr_assert_eq(r.status, 0, "%d providers: exit %d\n%s", n, r.status, r.err);
	out = get("out.csv");
	cr_assert_not_null(out);
	line = strtok(out, "\n");
	cr_assert_str_eq(line, "provider,id,name");
	while ((line = strtok(NULL, "\n")) != NULL) {
		int id = -1, pid = -2;
		char nm[32];

		cr_assert_eq(sscanf(line, "p%d,%d,%31s", &pid, &id, nm), 3, "%s",
			     line);
		cr_assert(id >= 0 && id < n && id == pid && !seen[id], "row %s",
			  line);
		snprintf(name, sizeof name, "n%d", id);
		cr_assert_str_eq(nm, name);
		seen[id] = true;
		rows++;
	}
	cr_assert_eq(rows, n, "%d rows of %d", rows, n);
	free(out);
	free(seen);
	tu_result_free(&r);
}

Test(limits, five_hundred_providers_at_once_complete)
{
	/* Each process under ASan costs far more memory: 200 still hung. */
	many_providers(tu_under_asan() ? 200 : 500);
}

Test(limits, too_few_descriptors_fail_up_front_saying_so)
{
	FILE *f;
	char *path = tu_path(dir, "p.conf");
	struct proc p;
	int rc;

	put("a.csv", "id,name\n1,one\n");
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "[aggregate]\noutput = out.csv\nfields = id:int, name:text\n"
		"ring_size = 64K\ntimeout = 60s\n\n");
	for (int i = 0; i < 40; i++)
		fprintf(f, "[provider p%d]\ntype = file\npath = a.csv\n\n", i);
	cr_assert_eq(fclose(f), 0);
	free(path);
	spawn(&p, START_FEW_FDS, NULL, NULL);
	rc = proc_finish(&p);
	cr_assert_eq(rc, 1, "exit %d\n%s", rc, p.err);
	cr_assert(strstr(p.err, "too many providers for the open file limit"),
		  "%s", p.err);
	cr_assert(strstr(p.err, "limit=64"), "%s", p.err);
	cr_assert_null(get("out.csv"));
	cr_assert_eq(shm_names_of(p.pid), 0);
	free(p.err);
}

/* --- 2. descriptors 0-2 closed at start --------------------------------- */

Test(stdfds, closed_stderr_puts_no_log_line_in_the_lock_or_output)
{
	struct proc p;
	char *lock, *out;
	int rc;

	one_provider("lock_file = run.lock\n", NULL);
	/* -v: log lines at every step, each of which would land in fd 2. */
	spawn(&p, START_NO_STDERR, NULL, "-v");
	rc = proc_finish(&p);
	cr_assert_eq(rc, 0, "exit %d", rc);
	out = get("out.csv");
	cr_assert_not_null(out);
	cr_assert_str_eq(out, "provider,id,name\na,1,one\na,2,two\n");
	lock = get("run.lock");
	if (lock) {
		/* At most the pid the run wrote there. */
		for (const char *c = lock; *c; c++)
			cr_assert((*c >= '0' && *c <= '9') || *c == '\n',
				  "log text in the lock file:\n%s", lock);
	}
	free(lock);
	free(out);
	free(p.err);
}

/* --- 3. /dev/shm: room reserved up front, stale names swept ------------- */

Test(shm, a_small_dev_shm_fails_up_front_naming_it)
{
	struct proc p;
	int rc;

	/* 4 rings of 512K in a 1M /dev/shm. */
	one_provider("ring_size = 512K\nrestart = 0\n",
		     NULL);
	{
		char *text = get("p.conf");
		char *more;

		cr_assert(asprintf(&more, "%s\n[provider b]\ntype = file\npath = a.csv\n"
				   "[provider c]\ntype = file\npath = a.csv\n"
				   "[provider d]\ntype = file\npath = a.csv\n",
				   text) > 0);
		put("p.conf", more);
		free(more);
		free(text);
	}
	spawn(&p, START_SMALL_SHM, NULL, NULL);
	rc = proc_finish(&p);
	if (rc == 77) {
		free(p.err);
		skip_test("cannot mount a tmpfs in a private mount namespace");
	}
	cr_assert_eq(rc, 1, "exit %d\n%s", rc, p.err);
	cr_assert(strstr(p.err, "not enough shared memory"), "%s", p.err);
	cr_assert(strstr(p.err, "path=/dev/shm"), "%s", p.err);
	cr_assert(strstr(p.err, "needed=2.0M"), "%s", p.err);
	cr_assert(strstr(p.err, "free=1.0M"), "%s", p.err);
	cr_assert_null(strstr(p.err, "SIGBUS"), "%s", p.err);
	cr_assert_null(get("out.csv"));
	free(p.err);
}

/*
 * The reservation itself, without the up-front check: in a 1M tmpfs a 2M
 * ring cannot be made (unreserved, it was, and its provider died of
 * SIGBUS at the first write past the first megabyte).
 */
Test(shm, a_ring_that_does_not_fit_is_refused_at_creation)
{
	pid_t pid = fork();
	int status;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct ring r;

		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
			  "size=1M,mode=1777") < 0)
			_exit(77);
		if (ring_create(&r, 2u << 20) == 0) {
			ring_destroy(&r);
			_exit(1);
		}
		_exit(errno == ENOSPC ? 0 : 2);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip_test("cannot mount a tmpfs in a private mount namespace");
	cr_assert_eq(WEXITSTATUS(status), 0,
		     "1: created unreserved, 2: another error");
}

Test(shm, a_name_left_by_a_killed_supervisor_is_swept_by_the_next_run)
{
	struct proc p;
	int rc;

	TU_REQUIRE_HOOKS(teardown);
	one_provider(NULL, NULL);
	/* Killed between shm_open and shm_unlink of its first ring. */
	spawn(&p, START_PLAIN, (const char *const[]){ "AGG_FAULT_SHM=kill",
						    NULL }, NULL);
	rc = proc_finish(&p);
	cr_assert_eq(rc, 128 + SIGKILL, "exit %d\n%s", rc, p.err);
	cr_assert_eq(shm_names_of(p.pid), 1, "the fault left no name");
	/* A dead process's name is a leftover to the tests' count. */
	cr_assert_geq(tu_shm_count(), 1);
	free(p.err);
	/* The pid is dead (reaped): the next run removes its name. */
	{
		struct proc q;

		spawn(&q, START_PLAIN, NULL, NULL);
		rc = proc_finish(&q);
		cr_assert_eq(rc, 0, "exit %d\n%s", rc, q.err);
		free(q.err);
	}
	cr_assert_eq(shm_names_of(p.pid), 0, "the stale name is still there");
	cr_assert_eq(tu_shm_count(), 0);
}

/* --- 4. memory_limit is the provider's own memory ---------------------- */

Test(limits, memory_limit_does_not_count_the_ring)
{
	struct tu_result r;
	const char *args[] = { "-c", "p.conf", NULL };
	char *out;

	if (tu_under_asan())
		skip_test("RLIMIT_AS cannot apply under AddressSanitizer");
	one_provider("ring_size = 256M\nmemory_limit = 256M\nrestart = 0\n",
		     NULL);
	tu_run(&r, dir, args, NULL);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	out = get("out.csv");
	cr_assert_not_null(out);
	cr_assert_str_eq(out, "provider,id,name\na,1,one\na,2,two\n");
	free(out);
	tu_result_free(&r);
}

/* --- 5. stall_timeout, and the aggregator watched ---------------------- */

Test(watch, a_stall_timeout_under_twice_the_heartbeat_is_refused)
{
	static const char *const where[][2] = {
		{ "stall_timeout = 100ms\n", NULL },
		{ NULL, "stall_timeout = 999ms\n" },
	};

	for (int k = 0; k < 2; k++) {
		struct tu_result r;
		const char *args[] = { "-c", "p.conf", "--check", NULL };

		one_provider(where[k][0], where[k][1]);
		tu_run(&r, dir, args, NULL);
		cr_assert_eq(r.status, 78, "exit %d\n%s", r.status, r.err);
		cr_assert(strstr(r.err, "stall_timeout"), "%s", r.err);
		cr_assert(strstr(r.err, "at least 1000ms"), "%s", r.err);
		tu_result_free(&r);
	}
	/* The minimum itself is fine. */
	{
		struct tu_result r;
		const char *args[] = { "-c", "p.conf", NULL };

		one_provider("stall_timeout = 1s\n", NULL);
		tu_run(&r, dir, args, NULL);
		cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
		tu_result_free(&r);
	}
}

Test(watch, a_stopped_aggregator_is_found_without_the_run_timeout)
{
	struct proc p;
	pid_t agg, prov;
	int rc;

	TU_REQUIRE_HOOKS(teardown);
	/*
	 * The provider hangs at its start (it may: its own stall_timeout is
	 * long), so the run cannot end by itself; the run's timeout is the
	 * old code's only way out, and a failure here.
	 */
	one_provider("stall_timeout = 2s\ntimeout = 120s\n",
		     "stall_timeout = 200s\n");
	spawn(&p, START_PLAIN, (const char *const[]){
		      "AGG_FAULT=a:0:start:1:hang", NULL }, NULL);
	proc_wait_text(&p, "fault injected", 1);
	agg = proc_wait_child_titled(p.pid, "aggregate: aggregator");
	prov = proc_child_titled(p.pid, "aggregate: provider a");
	cr_assert_neq(agg, 0);
	cr_assert_neq(prov, 0);
	cr_assert_eq(kill(agg, SIGSTOP), 0);
	rc = proc_finish(&p);
	cr_assert_eq(rc, 1, "exit %d\n%s", rc, p.err);
	cr_assert(strstr(p.err, "aggregator stalled"), "%s", p.err);
	cr_assert(strstr(p.err, "no heartbeat within stall_timeout"), "%s",
		  p.err);
	cr_assert_null(strstr(p.err, "deadline"), "%s", p.err);
	cr_assert_null(get("out.csv"));
	/* Nothing outlives the run. */
	cr_assert(kill(agg, 0) < 0 && errno == ESRCH, "the aggregator lives");
	cr_assert(kill(prov, 0) < 0 && errno == ESRCH, "the provider lives");
	cr_assert_eq(shm_names_of(p.pid), 0);
	free(p.err);
}

/* Where text first occurs in hay; hay's length if nowhere. */
static size_t where(const char *hay, const char *text)
{
	const char *at = strstr(hay, text);

	return at ? (size_t)(at - hay) : strlen(hay);
}

/*
 * Control messages are read promptly while the aggregator is busy: a
 * provider restarted while another streams runs and finishes meanwhile.
 * The test build makes the aggregator take 20 ms over each frame, and
 * big's ring (1M) holds a few frames, so big keeps the aggregator busy,
 * its ring never empty, until big dies at its record 390 000 (saying
 * "fault injected" itself, not through the aggregator) and is restarted.
 * small dies at its start and is restarted after a backoff, when big
 * already streams.  The old aggregator read its control socket only every
 * 64 rounds: small's restart waited for big's death.
 */
Test(watch, control_messages_are_read_while_the_aggregator_is_busy)
{
	FILE *f;
	char *path = tu_path(dir, "big.csv"), *out;
	struct tu_result r;
	const char *args[] = { "-c", "p.conf", NULL };
	const char *env[] = { "AGG_FAULT=small:1:start:1;big:1:record:390000",
			      "AGG_FAULT_FRAME_DELAY_MS=20", NULL };
	size_t small_done, big_died;

	TU_REQUIRE_HOOKS(teardown);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("id,name\n", f);
	for (int i = 0; i < 400000; i++)
		fprintf(f, "%d,n%d\n", i, i);
	cr_assert_eq(fclose(f), 0);
	free(path);
	put("small.csv", "id,name\n-1,small\n");
	put("p.conf", "[aggregate]\noutput = out.csv\nfields = id:int, "
	    "name:text\nring_size = 1M\nbackoff = 100ms\nbackoff_max = 100ms\n"
	    "timeout = 200s\n\n[provider big]\ntype = file\npath = big.csv\n\n"
	    "[provider small]\ntype = file\npath = small.csv\n");
	tu_run(&r, dir, args, env);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "provider=small restarted"), "%s", r.err);
	cr_assert(strstr(r.err, "provider=big restarted"), "%s", r.err);
	small_done = where(r.err, "provider=small finished");
	big_died = where(r.err, "provider=big fault injected");
	cr_assert_lt(small_done, strlen(r.err), "%s", r.err);
	cr_assert_lt(big_died, strlen(r.err), "%s", r.err);
	cr_assert_lt(small_done, big_died,
		     "small's restart was held back until big died:\n%s", r.err);
	/* And exactly once, as ever: 400 001 rows. */
	out = get("out.csv");
	cr_assert_not_null(out);
	{
		int lines = 0;

		for (const char *c = out; *c; c++)
			lines += *c == '\n';
		cr_assert_eq(lines, 400002);
	}
	free(out);
	tu_result_free(&r);
}

/* --- 5. providers forked with their START ------------------------------ */

/*
 * rows rows of provider name into name.csv (id, region, amount), and the
 * same rows into table t of SQLite database db.
 */
static void early_rows(sqlite3 *db, const char *name, int rows, uint64_t *rng)
{
	static const char *const regions[] = { "north", "south", "east", "west",
					       "middle" };
	char *path = tu_path(dir, name);
	FILE *f = fopen(path, "w");
	sqlite3_stmt *st;

	cr_assert_not_null(f);
	cr_assert_eq(sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?, ?, ?)",
					-1, &st, NULL), SQLITE_OK);
	fputs("id,region,amount\n", f);
	for (int i = 0; i < rows; i++) {
		const char *r = regions[tu_rng(rng) % 5];
		long long amount = (long long)(tu_rng(rng) % 2000001) - 1000000;

		fprintf(f, "%d,%s,%lld\n", i, r, amount);
		sqlite3_bind_int(st, 1, i);
		sqlite3_bind_text(st, 2, r, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, amount);
		cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	cr_assert_eq(fclose(f), 0);
	free(path);
}

/* SQLite's answer to the run's group-by, as the CSV output writes it. */
static char *early_oracle(sqlite3 *db)
{
	sqlite3_stmt *st;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	cr_assert_not_null(f);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT region, count(*), "
					"sum(amount) FROM t GROUP BY region "
					"ORDER BY region", -1, &st, NULL),
		     SQLITE_OK);
	fputs("region,n,total\n", f);
	while (sqlite3_step(st) == SQLITE_ROW)
		fprintf(f, "%s,%lld,%lld\n", sqlite3_column_text(st, 0),
			(long long)sqlite3_column_int64(st, 1),
			(long long)sqlite3_column_int64(st, 2));
	sqlite3_finalize(st);
	cr_assert_eq(fclose(f), 0);
	return out;
}

/*
 * A first attempt is forked with its START, before the aggregator is
 * ready.  The test build's AGG_FAULT_LATE_START holds the aggregator back
 * until every provider has filled its 64 KiB ring and sleeps on it; what
 * the providers published by then, and everything after, is counted once:
 * the output equals SQLite's GROUP BY over the same rows.  Again with
 * provider a killed in the middle, so that its restart (whose ring the
 * aggregator resets) follows records sent before the aggregator was ready.
 */
Test(order, records_sent_before_the_aggregator_is_ready_count_once)
{
	const char *const env[] = { "AGG_FAULT_LATE_START=1", NULL };
	const char *const env_kill[] = { "AGG_FAULT_LATE_START=1",
					 "AGG_FAULT=a:1:record:30000", NULL };
	const char *const args[] = { "-c", "p.conf", NULL };
	const char *const *envs[] = { env, env_kill };
	uint64_t rng = 0x5eed0018u;
	struct tu_result r;
	sqlite3 *db;
	char *want;

	TU_REQUIRE_HOOKS(teardown);
	cr_assert_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "CREATE TABLE t (id INTEGER, region "
				  "TEXT, amount INTEGER)", NULL, NULL, NULL),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	early_rows(db, "a.csv", 60000, &rng);
	early_rows(db, "b.csv", 45000, &rng);
	cr_assert_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	want = early_oracle(db);
	sqlite3_close(db);
	put("p.conf", "[aggregate]\noutput = out.csv\nring_size = 64K\n"
	    "fields = id:int, region:text, amount:int\ngroup_by = region\n"
	    "aggregates = count(*) as n, sum(amount) as total\n"
	    "timeout = 120s\n\n"
	    "[provider a]\ntype = file\npath = a.csv\n\n"
	    "[provider b]\ntype = file\npath = b.csv\n");
	for (size_t k = 0; k < sizeof envs / sizeof envs[0]; k++) {
		char *out;

		tu_run(&r, dir, args, envs[k]);
		cr_assert_eq(r.status, 0, "run %zu: exit %d\n%s", k, r.status,
			     r.err);
		cr_assert_not_null(strstr(r.err, "point=late_start rings=full"),
				   "run %zu: the providers did not fill their "
				   "rings before the aggregator was ready:\n%s",
				   k, r.err);
		cr_assert_eq(k == 1, strstr(r.err, " restarted ") != NULL,
			     "run %zu:\n%s", k, r.err);
		out = get("out.csv");
		cr_assert_str_eq(out, want, "run %zu: output differs from "
				 "SQLite's\n%s", k, r.err);
		free(out);
		tu_result_free(&r);
	}
	free(want);
}

/*
 * The output does not wait for a finished provider's process to go: once
 * its DONE is folded the aggregator says so (CTL_DONE) and the output is
 * written while the process is still on its way out.  Provider a hangs
 * after its DONE; the output is written, equal to a clean run's, before
 * the end of the run kills a and says it ended badly after DONE.  (Were
 * the output written only after a's exit, the stall_timeout would kill it
 * first and the two lines would come the other way round.)
 */
Test(order, the_output_is_written_while_a_finished_provider_exits)
{
	const char *const env[] = { "AGG_FAULT=a:1:after_done:1:hang", NULL };
	const char *const args[] = { "-v", "-c", "p.conf", NULL };
	struct tu_result r;
	const char *written, *badly;
	char *out, *got;

	TU_REQUIRE_HOOKS(teardown);
	one_provider("stall_timeout = 2s\n", NULL);
	tu_run(&r, dir, args, NULL);
	cr_assert_eq(r.status, 0, "clean run: exit %d\n%s", r.status, r.err);
	tu_result_free(&r);
	out = get("out.csv");
	tu_run(&r, dir, args, env);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	/* -v: the aggregator logs "output rows" as it writes the output. */
	written = strstr(r.err, "output rows");
	badly = strstr(r.err, "ended badly after DONE");
	cr_assert(written && badly && written < badly, "%s", r.err);
	cr_assert_not_null(strstr(badly, "SIGKILL"), "%s", r.err);
	got = get("out.csv");
	cr_assert_str_eq(got, out);
	free(got);
	free(out);
	tu_result_free(&r);
}
