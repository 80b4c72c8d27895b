/*
 * test_incr.c - incremental runs (state = DIR), end to end.
 *
 * Day 1 is read into a state; day 2 is added (rows appended to a CSV file,
 * a gzip member appended to a .jsonl.gz file, new files, new rows in
 * SQLite); the second run must write exactly what one run over days 1
 * and 2 writes (the oracle: the same binary without state), and read
 * only day 2 where it can (its providers' record counts).  A run killed
 * anywhere in the second run (a provider, the aggregator, the supervisor,
 * also between the outputs and the commit) leaves a state from which the
 * next run writes the clean outputs.  Bad state files are refused with
 * their name and --full, nothing written; --full recovers; a file whose
 * read part changed is read again with a warning.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <sqlite3.h>

#include "helpers/httpfix.h"
#include "helpers/pgtest.h"
#include "helpers/proc.h"
#include "helpers/testutil.h"

PGT_START_BEFORE_ALL()
PGT_STOP_AFTER_ALL()

static char *dir;
static char table[64];

static const char conf_fmt[] =
	"[aggregate]\n"
	"output = %s/groups.csv\n"
	"fields = id:int, k:text, v:float, d:decimal(12,2)\n"
	"group_by = k\n"
	"aggregates = count(*) as n, sum(v) as sv, sum(d) as sd,\n"
	"  min(v) as lo, max(d) as hi, count_distinct(id) as ids,\n"
	"  median(v) as mv, arg_max(id, v) as top\n"
	"%s"
	"\n"
	"[output rows]\n"
	"output = %s/rows.csv\n"
	"mode = union\n"
	"\n"
	"[provider csv]\n"
	"type = file\n"
	"path = in/*.csv\n"
	"\n"
	"[provider js]\n"
	"type = file\n"
	"path = in/*.jsonl.gz\n"
	"\n"
	"[provider lite]\n"
	"type = sqlite\n"
	"path = lite.db\n"
	"query = SELECT id, k, v, d FROM t ORDER BY id\n"
	"key = id\n"
	"\n"
	"[provider whole]\n"
	"type = sqlite\n"
	"path = lite.db\n"
	"query = SELECT id + 1 AS id, k, v * 2 AS v, d FROM t WHERE id %% 3 = 0\n"
	"\n"
	"[provider pg]\n"
	"type = postgres\n"
	"query = SELECT id, k, v, d FROM %s ORDER BY id\n"
	"key = id\n";

static void setup(void)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	dir = tu_tmpdir();
	tu_watchdog(600);
}

static void teardown(void)
{
	tu_tmpdir_free(&dir);
}

TestSuite(incr, .init = setup, .fini = teardown);

static void mkdir_in(const char *name)
{
	char *p = tu_path(dir, name);

	cr_assert(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s", p);
	free(p);
}

/* Write both configs: incr.conf (state) and full.conf (the oracle). */
static void write_confs(void)
{
	char *c;

	mkdir_in("out");
	mkdir_in("full");
	mkdir_in("in");
	cr_assert(asprintf(&c, conf_fmt, "out", "state = st\n", "out",
			   table) > 0);
	tu_put(dir, "incr.conf", c);
	free(c);
	cr_assert(asprintf(&c, conf_fmt, "full", "", "full", table) > 0);
	tu_put(dir, "full.conf", c);
	free(c);
}

/* Row i as CSV and as JSON. */
static void row_csv(char *b, size_t n, int i)
{
	snprintf(b, n, "%d,k%d,%.17g,%d.%02d\n", i, i % 7,
		 (i % 3 ? 1.0 : -1.0) * i / 7.0, i * 3, i % 100);
}

static void row_json(char *b, size_t n, int i)
{
	snprintf(b, n, "{\"id\":%d,\"k\":\"k%d\",\"v\":%.17g,\"d\":\"%d.%02d\"}\n",
		 i, i % 5, i * 1e10 / 3.0, i, i % 100);
}

static void append(const char *name, const char *text)
{
	char *p = tu_path(dir, name);
	FILE *f = fopen(p, "a");

	cr_assert(f, "%s", p);
	fputs(text, f);
	fclose(f);
	free(p);
}

/* CSV rows [lo, hi) appended to name (the header first if new). */
static void csv_rows(const char *name, int lo, int hi)
{
	char *p = tu_path(dir, name), line[128];
	struct stat st;

	if (stat(p, &st) < 0)
		append(name, "id,k,v,d\n");
	for (int i = lo; i < hi; i++) {
		row_csv(line, sizeof line, i);
		append(name, line);
	}
	free(p);
}

/* JSON rows [lo, hi) as one more gzip member of name. */
static void gz_rows(const char *name, int lo, int hi)
{
	char *p = tu_path(dir, name), line[160];
	gzFile gz = gzopen(p, "ab");

	cr_assert(gz, "%s", p);
	for (int i = lo; i < hi; i++) {
		row_json(line, sizeof line, i);
		gzputs(gz, line);
	}
	gzclose(gz);
	free(p);
}

static void sql(const char *q)
{
	char *p = tu_path(dir, "lite.db");
	sqlite3 *db;

	cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, q, NULL, NULL, NULL), SQLITE_OK, "%s",
		     sqlite3_errmsg(db));
	sqlite3_close(db);
	free(p);
}

/* Rows [lo, hi) into the PostgreSQL table (created on day 1). */
static void pg_rows(int lo, int hi)
{
	PGconn *c = pgt_connect();

	pgt_sql(c, "SET client_min_messages = warning");
	if (lo == 7000) {
		pgt_sql(c, "DROP TABLE IF EXISTS %s", table);
		pgt_sql(c, "CREATE TABLE %s (id int, k text, v float8, "
			"d numeric(12,2))", table);
	}
	pgt_sql(c, "INSERT INTO %s SELECT i, 'k' || (i %% 6), i / 8.0, "
		"i / 100.0 FROM generate_series(%d, %d) i", table, lo, hi - 1);
	PQfinish(c);
}

static void lite_rows(int lo, int hi)
{
	char q[256];

	sql("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, k TEXT, "
	    "v REAL, d TEXT)");
	for (int i = lo; i < hi; i++) {
		snprintf(q, sizeof q, "INSERT INTO t VALUES (%d, 'k%d', %d.25, "
			 "'%d.5')", i, i % 4, i, i);
		sql(q);
	}
}

/* Day 1: two CSV files, a gzip file, SQLite rows. */
static void day1(void)
{
	snprintf(table, sizeof table, "incr_src_%ld", (long)getpid());
	write_confs();
	pg_rows(7000, 7025);
	csv_rows("in/2026-01-01.csv", 0, 40);
	csv_rows("in/2026-01-02.csv", 40, 70);
	gz_rows("in/a.jsonl.gz", 1000, 1030);
	lite_rows(5000, 5020);
}

/* Day 2: rows appended to a file and a gzip file, a new file, new rows. */
static void day2(void)
{
	csv_rows("in/2026-01-02.csv", 70, 95);
	csv_rows("in/2026-01-03.csv", 95, 120);
	gz_rows("in/a.jsonl.gz", 1030, 1042);
	gz_rows("in/b.jsonl.gz", 1042, 1050);
	lite_rows(5020, 5031);
	pg_rows(7025, 7036);
}

static int run(struct tu_result *r, const char *conf, const char *extra,
	       const char *const *env)
{
	const char *args[] = { "-c", conf, extra, NULL };

	return tu_run(r, dir, args, env);
}

/* out/X equals full/X for every output. */
static void expect_clean(const char *what)
{
	static const char *const names[] = { "groups.csv", "rows.csv" };
	struct tu_result r;

	cr_assert_eq(run(&r, "full.conf", NULL, NULL), 0, "%s", r.err);
	tu_result_free(&r);
	for (size_t i = 0; i < 2; i++) {
		char a[64], b[64], *x, *y;

		snprintf(a, sizeof a, "out/%s", names[i]);
		snprintf(b, sizeof b, "full/%s", names[i]);
		x = tu_get(dir, a);
		y = tu_get(dir, b);
		cr_assert_str_eq(x, y, "%s: %s differs from a full run\n%s\n---\n%s", what,
				 names[i], x, y);
		free(x);
		free(y);
	}
}

static void expect_records(const char *err, const char *prov, int n)
{
	char want[96];

	snprintf(want, sizeof want, "provider=%s finished records=%d ", prov,
		 n);
	cr_assert(strstr(err, want), "want %s in:\n%s", want, err);
}

Test(incr, day2_reads_only_day2_and_equals_a_full_run)
{
	struct tu_result r;

	day1();
	cr_assert_eq(run(&r, "incr.conf", NULL, NULL), 0, "%s", r.err);
	expect_records(r.err, "csv", 70);
	tu_result_free(&r);
	expect_clean("day 1");
	day2();
	cr_assert_eq(run(&r, "incr.conf", NULL, NULL), 0, "%s", r.err);
	expect_records(r.err, "csv", 50);
	expect_records(r.err, "js", 20);
	expect_records(r.err, "lite", 11);
	expect_records(r.err, "whole", 10); /* no key: read again */
	expect_records(r.err, "pg", 11);
	cr_assert(strstr(r.err, "provider=whole no bookmark"), "%s", r.err);
	tu_result_free(&r);
	expect_clean("day 2");
	/* Nothing new: nothing read, the same outputs. */
	cr_assert_eq(run(&r, "incr.conf", NULL, NULL), 0, "%s", r.err);
	expect_records(r.err, "csv", 0);
	expect_records(r.err, "js", 0);
	tu_result_free(&r);
	expect_clean("day 3");
	{
		const char *args[] = { "state", "-v", "st", NULL };

		cr_assert_eq(tu_run(&r, dir, args, NULL), 0, "%s", r.err);
		cr_assert(strstr(r.out, "provider     csv: 3 files"), "%s",
			  r.out);
		cr_assert(strstr(r.out, "in/2026-01-03.csv"), "%s", r.out);
		cr_assert(strstr(r.out, "generation 3"), "%s", r.out);
		tu_result_free(&r);
	}
}

Test(incr, a_changed_prefix_reads_the_provider_again_with_a_warning)
{
	struct tu_result r;
	char *p, *text;

	day1();
	cr_assert_eq(run(&r, "incr.conf", NULL, NULL), 0, "%s", r.err);
	tu_result_free(&r);
	day2();
	/* A row read on day 1 changes (same length). */
	p = tu_path(dir, "in/2026-01-01.csv");
	text = tu_get(dir, "in/2026-01-01.csv");
	text[strlen("id,k,v,d\n0,k")] = '6';
	tu_write(p, text);
	free(text);
	free(p);
	cr_assert_eq(run(&r, "incr.conf", NULL, NULL), 0, "%s", r.err);
	cr_assert(strstr(r.err, "reading this provider again in full "
			 "file=in/2026-01-01.csv"), "%s", r.err);
	expect_records(r.err, "csv", 120);
	expect_records(r.err, "js", 20);
	tu_result_free(&r);
	expect_clean("changed prefix");
	/* A file that shrank: the same. */
	p = tu_path(dir, "in/2026-01-03.csv");
	cr_assert_eq(truncate(p, 40), 0);
	free(p);
	cr_assert_eq(run(&r, "incr.conf", NULL, NULL), 0, "%s", r.err);
	cr_assert(strstr(r.err, "file=in/2026-01-03.csv"), "%s", r.err);
	tu_result_free(&r);
	expect_clean("shrunk");
}

/* Refused with its name and --full; the outputs untouched. */
static void expect_refused(const char *what, const char *name)
{
	struct tu_result r;
	char *before = tu_get(dir, "out/groups.csv"), *after;

	cr_assert_eq(run(&r, "incr.conf", NULL, NULL), 65, "%s: %s", what,
		     r.err);
	cr_assert(strstr(r.err, name), "%s: %s", what, r.err);
	cr_assert(strstr(r.err, "--full"), "%s: %s", what, r.err);
	tu_result_free(&r);
	after = tu_get(dir, "out/groups.csv");
	cr_assert_str_eq(before, after, "%s: output written", what);
	free(before);
	free(after);
}

static void full_recovers(void)
{
	struct tu_result r;

	cr_assert_eq(run(&r, "incr.conf", "--full", NULL), 0, "%s", r.err);
	tu_result_free(&r);
	expect_clean("--full");
}

Test(incr, bad_state_files_are_refused_and_full_recovers)
{
	struct tu_result r;
	char *s, *p;
	size_t len;

	day1();
	cr_assert_eq(run(&r, "incr.conf", NULL, NULL), 0, "%s", r.err);
	tu_result_free(&r);
	day2();

	/* A byte of the partial changed. */
	p = tu_path(dir, "st/1.partial");
	s = tu_read(p, &len);
	s[len / 2] ^= 0x20;
	{
		FILE *f = fopen(p, "w");

		fwrite(s, 1, len, f);
		fclose(f);
	}
	free(s);
	free(p);
	expect_refused("corrupt partial", "st/1.partial");
	full_recovers();

	/* The marks cut short. */
	p = tu_path(dir, "st/2.marks");
	cr_assert_eq(truncate(p, 30), 0);
	free(p);
	expect_refused("truncated marks", "st/2.marks");
	full_recovers();

	/* Another config. */
	s = tu_get(dir, "incr.conf");
	p = tu_path(dir, "incr.conf");
	{
		char *t = strdup(s), *m = strstr(t, "median(v)");

		memcpy(m, "median(d)", 9);
		tu_write(p, t);
		free(t);
	}
	expect_refused("another config", "st/3.marks");
	tu_write(p, s);
	free(s);
	free(p);

	/* CURRENT names nothing sensible. */
	tu_put(dir, "st/CURRENT", "x\n");
	expect_refused("bad CURRENT", "st/CURRENT");
	full_recovers();

	/* write = append with state: a config error. */
	s = tu_get(dir, "incr.conf");
	p = tu_path(dir, "incr.conf");
	{
		char *t;

		cr_assert(asprintf(&t, "%s", s) > 0);
		t = realloc(t, strlen(s) + 32);
		memmove(strstr(t, "group_by") + 15,
			strstr(t, "group_by"), strlen(strstr(t, "group_by")) + 1);
		memcpy(strstr(t, "group_by"), "write = append\n", 15);
		tu_write(p, t);
		free(t);
	}
	cr_assert_eq(run(&r, "incr.conf", NULL, NULL), 78, "%s", r.err);
	cr_assert(strstr(r.err, "write = append"), "%s", r.err);
	tu_result_free(&r);
	tu_write(p, s);
	free(s);
	free(p);
}

/*
 * Reap what the killed supervisor's children left to us: every child but
 * keep (the HTTP fixture's server; 0: none).
 */
static void reap_all(pid_t keep)
{
	pid_t kids[64];
	int n, waited;

	do {
		n = proc_children_of(getpid(), kids, 64);
		waited = 0;
		for (int i = 0; i < n; i++)
			if (kids[i] != keep) {
				while (waitpid(kids[i], NULL, 0) < 0 &&
				       errno == EINTR)
					;
				waited++;
			}
	} while (waited > 0);
}

/*
 * Run incr.conf with prov stopped at point, one of four ways: how 0 a
 * provider killed (restarted within the run), 3 the supervisor killed
 * between the outputs and the commit, 1 the supervisor and 2 the
 * aggregator killed while prov hangs there.  keep: a child of ours that
 * is not the run's (the HTTP fixture's server; 0: none).
 */
static void kill_second_run(const char *prov, int how, const char *point,
			    pid_t keep)
{
	const char *args[] = { "-c", "incr.conf", NULL };
	struct tu_result r;
	struct proc p;
	char fault[96], env[128];

	if (how == 0) {
		snprintf(env, sizeof env, "AGG_FAULT=%s:1:%s:kill", prov, point);
		cr_assert_eq(run(&r, "incr.conf", NULL,
				 (const char *const[]){ env, NULL }), 0,
			     "%s: %s", env, r.err);
		cr_assert(strstr(r.err, "fault injected"), "%s: %s", env,
			  r.err);
		tu_result_free(&r);
		return;
	}
	if (how == 3) {
		proc_spawn(&p, dir, args, (const char *const[]){
			   "AGG_FAULT_WRITTEN=1", NULL }, NULL, NULL);
		proc_wait_text(&p, "point=output_written", 1);
		cr_assert_eq(kill(p.pid, SIGKILL), 0);
	} else {
		snprintf(fault, sizeof fault, "AGG_FAULT=%s:1:%s:hang", prov,
			 strcmp(point, "mid_frame:1") ? point : "record:3");
		proc_spawn(&p, dir, args, (const char *const[]){ fault, NULL },
			   NULL, NULL);
		proc_wait_text(&p, "fault injected", 1);
		if (how == 1) {
			cr_assert_eq(kill(p.pid, SIGKILL), 0);
		} else {
			bool done = strncmp(point, "after_done", 10) == 0;
			/*
			 * Hung after its DONE, prov holds nothing back: the
			 * aggregator may have written the outputs and gone
			 * (the run then ends by itself, prov killed).
			 * Before it, the aggregator is there, if perhaps
			 * not yet titled.
			 */
			pid_t agg = done ? proc_child_titled(p.pid,
						"aggregate: aggregator") :
				proc_wait_child_titled(p.pid,
						       "aggregate: aggregator");

			cr_assert(agg == 0 || kill(agg, SIGKILL) == 0 ||
				  (done && errno == ESRCH), "kill %ld: %s",
				  (long)agg, strerror(errno));
		}
	}
	proc_finish(&p);
	free(p.err);
	reap_all(keep);
}

/* A fault point for the second run: a frame point, or record 1..nrec. */
static void pick_point(uint64_t *seed, int nrec, char *point, size_t n)
{
	static const char *const points[] = {
		"before_records:1", "after_records:1",
		"before_checkpoint:1", "after_checkpoint:1",
		"after_done:1", "mid_frame:1",
	};
	int pt = (int)(tu_rng(seed) % 8);

	if (pt >= 6)
		snprintf(point, n, "record:%d", 1 + (int)(tu_rng(seed) % nrec));
	else
		snprintf(point, n, "%s", points[pt]);
}

/*
 * The second run killed at a random point, four ways, then run again:
 * always the clean outputs, nothing twice or missing.
 */
Test(incr, killed_anywhere_the_next_run_writes_the_clean_outputs)
{
	int iters = tu_scale(24);
	uint64_t seed = 17;

	TU_REQUIRE_HOOKS(teardown);
	for (int it = 0; it < iters; it++) {
		struct tu_result r;
		static const char *const provs[] = { "csv", "js", "lite",
						     "pg" };
		const char *prov = provs[tu_rng(&seed) % 4];
		int how = (int)(tu_rng(&seed) % 4);
		char point[32], what[96];

		/* a record of day 2 (lite and pg have 11) */
		pick_point(&seed, 10, point, sizeof point);
		tu_rmrf(dir);
		cr_assert_eq(mkdir(dir, 0700), 0);
		day1();
		cr_assert_eq(run(&r, "incr.conf", NULL, NULL), 0, "%s", r.err);
		tu_result_free(&r);
		day2();
		kill_second_run(prov, how, point, 0);
		cr_assert_eq(run(&r, "incr.conf", NULL, NULL), 0, "%s", r.err);
		tu_result_free(&r);
		snprintf(what, sizeof what, "iteration %d (way %d, %s %s)",
			 it, how, prov, point);
		expect_clean(what);
	}
}

Test(incr, two_runs_on_one_state_do_not_interleave)
{
	struct tu_result r;
	struct proc p;
	const char *args[] = { "-c", "incr.conf", NULL };

	TU_REQUIRE_HOOKS(teardown);
	day1();
	cr_assert_eq(run(&r, "incr.conf", NULL, NULL), 0, "%s", r.err);
	tu_result_free(&r);
	proc_spawn(&p, dir, args, (const char *const[]){
		   "AGG_FAULT=csv:0:start:1:hang", NULL }, NULL, NULL);
	proc_wait_text(&p, "fault injected", 1);
	/* Another config's outputs, the same state: refused (75). */
	{
		char *t;

		cr_assert(asprintf(&t, conf_fmt, "ful", "state = st\n",
				   "ful", table) > 0);
		tu_put(dir, "other.conf", t);
		mkdir_in("ful");
		free(t);
	}
	cr_assert_eq(run(&r, "other.conf", NULL, NULL), 75, "%s", r.err);
	cr_assert(strstr(r.err, "another run is using this state"), "%s",
		  r.err);
	tu_result_free(&r);
	cr_assert_eq(kill(p.pid, SIGTERM), 0);
	proc_finish(&p);
	free(p.err);
	reap_all(0);
}

static off_t size_of(const char *name)
{
	char *p = tu_path(dir, name);
	struct stat st;

	cr_assert_eq(stat(p, &st), 0, "%s", p);
	free(p);
	return st.st_size;
}

/* want among the lines of out. */
static void expect_line(const char *out, const char *want)
{
	cr_assert(strstr(out, want), "want \"%s\" in:\n%s", want, out);
}

/*
 * --check tells what the next run reads of each provider: each file from
 * its bookmark (the byte where day 1 stopped, from stat; its line), a
 * new file from the start, the last keys, the providers without one in
 * full; it reads the state without changing it.  A state a run would
 * refuse is 65 there too; --full says everything is read.
 */
Test(incr, check_says_what_the_next_run_reads)
{
	struct tu_result r;
	char want[256], *cur;
	off_t day1_size;

	day1();
	cr_assert_eq(run(&r, "incr.conf", "--check", NULL), 0, "%s", r.err);
	expect_line(r.out, "csv                  state    full     no state "
		    "yet: reads everything");
	tu_result_free(&r);
	cr_assert_eq(run(&r, "incr.conf", NULL, NULL), 0, "%s", r.err);
	tu_result_free(&r);
	day1_size = size_of("in/2026-01-02.csv");
	day2();
	cur = tu_get(dir, "st/CURRENT");
	cr_assert_eq(run(&r, "incr.conf", "--check", NULL), 0, "%s\n%s",
		     r.out, r.err);
	expect_line(r.out, "state                state    ok       st: "
		    "generation 1");
	snprintf(want, sizeof want, "csv                  file     resume   "
		 "in/2026-01-02.csv: from byte %lld (line 32) to byte %lld",
		 (long long)day1_size, (long long)size_of("in/2026-01-02.csv"));
	expect_line(r.out, want);
	snprintf(want, sizeof want, "csv                  file     new      "
		 "in/2026-01-03.csv: from the start to byte %lld",
		 (long long)size_of("in/2026-01-03.csv"));
	expect_line(r.out, want);
	expect_line(r.out, "lite                 state    bookmark rows with "
		    "id > 5019");
	expect_line(r.out, "pg                   state    bookmark rows with "
		    "id > '7024'");
	expect_line(r.out, "whole                state    full     no bookmark");
	expect_line(r.out, "js                   file     new      "
		    "in/b.jsonl.gz: from the start");
	tu_result_free(&r);
	{
		const char *args[] = { "-c", "incr.conf", "--check", "--full",
				       NULL };

		cr_assert_eq(tu_run(&r, dir, args, NULL), 0, "%s", r.err);
		expect_line(r.out, "lite                 state    full     "
			    "--full: reads everything");
		tu_result_free(&r);
	}
	{
		char *now = tu_get(dir, "st/CURRENT");

		cr_assert_str_eq(now, cur);
		free(now);
		free(cur);
	}
	/* The run does what --check said. */
	cr_assert_eq(run(&r, "incr.conf", NULL, NULL), 0, "%s", r.err);
	expect_records(r.err, "lite", 11);
	tu_result_free(&r);
	tu_put(dir, "st/2.marks", "aggregate-state 1\n");
	cr_assert_eq(run(&r, "incr.conf", "--check", NULL), 65, "%s", r.out);
	expect_line(r.out, "state                state    error    state file "
		    "st/2.marks");
	expect_line(r.out, "--full");
	tu_result_free(&r);
}

/*
 * An http provider with since_field: day 1 reads records 1..45, day 2
 * (the API now has 1..80) asks for since=45 and reads 46..80 only (its
 * record count, and the server's log: page 1 without since asked for
 * once, on day 1); the outputs equal one run over 1..80 (the oracle: the
 * same binary without state).  The fixture filters id > since, as the
 * API must, so page N of day 2 holds records 45 + 10(N-1) + 1...
 */
static const char http_fmt[] =
	"[aggregate]\n"
	"output = %s/groups.csv\n"
	"fields = id:int, region:text, price:float\n"
	"group_by = region\n"
	"aggregates = count(*) as n, sum(price) as sp, max(id) as top,\n"
	"  median(price) as mp, count_distinct(id) as ids\n"
	"%s"
	"\n"
	"[output rows]\n"
	"output = %s/rows.csv\n"
	"mode = union\n"
	"\n"
	"[provider api]\n"
	"type = http\n"
	"url = %s\n"
	"pagination = page\n"
	"records = /items\n"
	"concurrency = 3\n"
	"since_field = /id\n";

/*
 * The path of page `page` asked for with since=`since` by a run of
 * `conf` (incr or full, so that the server counts each one's requests
 * apart): free() it.
 */
static char *http_path(const char *conf, const char *page, const char *since)
{
	char *path = tu_path(dir, "total"), *q;

	cr_assert(asprintf(&q, "/items?page=%s&per_page=10&total_file=%s"
			   "&since=%s&conf=%s", page, path, since, conf) > 0);
	free(path);
	return q;
}

static void http_confs(const struct hf_server *srv)
{
	static const char *const confs[] = { "incr", "full" };

	mkdir_in("out");
	mkdir_in("full");
	for (int i = 0; i < 2; i++) {
		char *q = http_path(confs[i], "{page}", "{since}"), *c, *n;
		char *url = hf_url(srv, q);

		cr_assert(asprintf(&c, http_fmt, i ? "full" : "out",
				   i ? "" : "state = st\n", i ? "full" : "out",
				   url) > 0);
		cr_assert(asprintf(&n, "%s.conf", confs[i]) > 0);
		tu_put(dir, n, c);
		free(n);
		free(c);
		free(url);
		free(q);
	}
}

static long hits(const struct hf_server *srv, const char *page,
		 const char *since)
{
	char *q = http_path("incr", page, since);
	long n = hf_hits(srv, q);

	free(q);
	return n;
}

Test(incr, http_since_field_reads_only_day2_and_equals_a_full_run)
{
	struct hf_server srv;
	struct tu_result r;
	const char *show[] = { "state", "st", NULL };

	cr_assert_eq(hf_start(&srv), 0);
	http_confs(&srv);
	tu_put(dir, "total", "45\n");
	cr_assert_eq(run(&r, "incr.conf", NULL, NULL), 0, "%s", r.err);
	expect_records(r.err, "api", 45);
	tu_result_free(&r);
	cr_assert_eq(hits(&srv, "1", ""), 1);
	expect_clean("day 1");
	cr_assert_eq(tu_run(&r, dir, show, NULL), 0, "%s", r.err);
	cr_assert(strstr(r.out, "provider     api: records with since_field "
			 "past '45'"), "%s", r.out);
	tu_result_free(&r);
	/*
	 * --check says where it goes on from and probes the url with the
	 * bookmark (the server's log), not with since_start (""): nothing
	 * past 45 yet.  Logs show a url without its query.
	 */
	cr_assert_eq(run(&r, "incr.conf", "--check", NULL), 0, "%s", r.err);
	{
		char want[512];

		snprintf(want, sizeof want, "api                  state    "
			 "bookmark records with /id past '45': %s/items\n",
			 srv.base);
		expect_line(r.out, want);
		expect_line(r.out, "api                  http     ok       "
			    "HTTP 200, 0 records");
	}
	tu_result_free(&r);
	cr_assert_eq(hits(&srv, "1", "45"), 1);
	cr_assert_eq(hits(&srv, "1", ""), 1);

	tu_put(dir, "total", "80\n");
	cr_assert_eq(run(&r, "incr.conf", NULL, NULL), 0, "%s", r.err);
	expect_records(r.err, "api", 35);
	tu_result_free(&r);
	/* Day 2 asked for since=45 only: page 4 holds 76..80, page 5 none. */
	cr_assert_eq(hits(&srv, "1", ""), 1);
	cr_assert_eq(hits(&srv, "1", "45"), 2); /* --check's, the run's */
	cr_assert_eq(hits(&srv, "4", "45"), 1);
	cr_assert_eq(hits(&srv, "5", "45"), 1);
	expect_clean("day 2");
	/* Nothing new: nothing read, the same outputs, the same bookmark. */
	cr_assert_eq(run(&r, "incr.conf", NULL, NULL), 0, "%s", r.err);
	expect_records(r.err, "api", 0);
	tu_result_free(&r);
	cr_assert_eq(hits(&srv, "1", "80"), 1);
	expect_clean("day 3");
	cr_assert_eq(tu_run(&r, dir, show, NULL), 0, "%s", r.err);
	cr_assert(strstr(r.out, "past '80'"), "%s", r.out);
	tu_result_free(&r);
	hf_stop(&srv);
}

/*
 * The same provider's second run (records 46..80, asked for with
 * since=45) killed at a random point, four ways, then run again: the
 * clean outputs, no record twice or missing (rows.csv is every record).
 */
Test(incr, http_killed_anywhere_the_next_run_writes_the_clean_outputs)
{
	struct hf_server srv;
	int iters = tu_scale(16);
	uint64_t seed = 23;

	TU_REQUIRE_HOOKS(teardown);
	cr_assert_eq(hf_start(&srv), 0);
	for (int it = 0; it < iters; it++) {
		struct tu_result r;
		int how = it % 4; /* each way as often */
		char point[32], what[96];

		pick_point(&seed, 35, point, sizeof point);
		tu_rmrf(dir);
		cr_assert_eq(mkdir(dir, 0700), 0);
		http_confs(&srv);
		tu_put(dir, "total", "45\n");
		cr_assert_eq(run(&r, "incr.conf", NULL, NULL), 0, "%s", r.err);
		tu_result_free(&r);
		tu_put(dir, "total", "80\n");
		kill_second_run("api", how, point, srv.pid);
		cr_assert_eq(run(&r, "incr.conf", NULL, NULL), 0, "%s", r.err);
		tu_result_free(&r);
		snprintf(what, sizeof what, "iteration %d (way %d, api %s)",
			 it, how, point);
		expect_clean(what);
	}
	hf_stop(&srv);
}
