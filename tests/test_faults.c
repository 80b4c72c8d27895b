/*
 * test_faults.c - failure isolation, proven on the real aggregate binary
 * (build/test, with the AGG_FAULT hooks of providers/faults.c) and real
 * processes: a provider killed at every named point and at several record
 * counts, for every provider type (files over CSV + .gz + JSONL, sqlite, a
 * real PostgreSQL, the fixture HTTP server), must give output byte-identical
 * to a clean run's with exactly the restarts expected; the restart policy
 * (limit, healthy attempts, stall, memory limit, permanent errors,
 * on_error, the run's timeout); signals to the supervisor (SIGINT, SIGTERM,
 * SIGKILL) and to the aggregator; the lock; malformed frames.
 *
 * Synchronisation is by observable events only: each fault logs "fault
 * injected" on stderr, which the test reads through a pipe; processes are
 * found in /proc and waited for with waitpid() (the test process makes
 * itself a child subreaper, so orphans of a killed supervisor come to it).
 * tu_watchdog() is the upper bound of every wait.
 *
 * The PostgreSQL server is started once for this program (as in
 * test_postgres.c) unless PGHOST names one already.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>
#include <zlib.h>

#include "../aggregator/outfile.h"
#include "helpers/httpfix.h"
#include "helpers/pgtest.h"
#include "helpers/proc.h"
#include "helpers/testutil.h"

/* --- the PostgreSQL server (tests/helpers/pgtest.h) --------------- */

PGT_START_BEFORE_ALL()
PGT_STOP_AFTER_ALL()

/* --- per test --------------------------------------------------------- */

static char *dir;
static struct hf_server srv;

static void setup(void)
{
	tu_watchdog(280);
	srv = (struct hf_server){ .stdin_fd = -1 };
	dir = tu_tmpdir();
	/* Orphans of a supervisor we kill come to us, to be waited for. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
}

/*
 * The lock a run on out.csv takes in the runtime folder: a run killed by
 * a test leaves it there (as a real killed run does, harmlessly), and the
 * folder it is named after is about to go.
 */
static void remove_runtime_lock(void)
{
	char *out = tu_path(dir, "out.csv"), *real, *lock;

	real = realpath(dir, NULL);
	if (real != NULL && asprintf(&lock, "%s/out.csv", real) > 0) {
		free(out);
		out = lock;
		lock = outfile_lock_path(out);
		if (lock)
			unlink(lock);
		free(lock);
	}
	free(real);
	free(out);
}

static void teardown(void)
{
	hf_stop(&srv);
	if (dir)
		remove_runtime_lock();
	tu_tmpdir_free(&dir);
}

TestSuite(crash, .init = setup, .fini = teardown);
TestSuite(policy, .init = setup, .fini = teardown);
TestSuite(signals, .init = setup, .fini = teardown);
TestSuite(lock, .init = setup, .fini = teardown);
TestSuite(isolation, .init = setup, .fini = teardown);

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

/* --- inputs ----------------------------------------------------------- */

#define FIELDS "id:int, name:text, amount:float, day:timestamp"

static void csv_row(FILE *f, int i)
{
	fprintf(f, "%d,\"n-%d, \"\"q\"\"%s\",%g,2026-01-%02dT10:00:00Z\n", i, i,
		i % 97 == 0 ? "\nsecond line" : "", i * 0.25, 1 + i % 28);
}

/*
 * in/a.csv (1..1500), in/b.csv (1501..3000 and one reject), in/c.csv.gz
 * (3001..4000), in/d.jsonl (4001..5000): 5000 records, 1 reject.
 */
static void make_files(void)
{
	char *in = tu_path(dir, "in"), *p;
	FILE *f;
	gzFile gz;

	cr_assert_eq(mkdir(in, 0755), 0);
	p = tu_path(in, "a.csv");
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs("id,name,amount,day\n", f);
	for (int i = 1; i <= 1500; i++)
		csv_row(f, i);
	fclose(f);
	free(p);
	p = tu_path(in, "b.csv");
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs("id,name,amount,day\n", f);
	for (int i = 1501; i <= 3000; i++) {
		csv_row(f, i);
		if (i == 2222)
			fputs("not-a-number,bad,1,2026-01-01\n", f);
	}
	fclose(f);
	free(p);
	p = tu_path(in, "c.csv.gz");
	gz = gzopen(p, "wb");
	cr_assert_not_null(gz);
	gzputs(gz, "id,name,amount,day\n");
	for (int i = 3001; i <= 4000; i++)
		gzprintf(gz, "%d,n-%d,%g,2026-02-%02d 10:00:00\n", i, i, i * 0.25,
			 1 + i % 28);
	gzclose(gz);
	free(p);
	p = tu_path(in, "d.jsonl");
	f = fopen(p, "w");
	cr_assert_not_null(f);
	for (int i = 4001; i <= 5000; i++)
		fprintf(f, "{\"id\": %d, \"name\": \"n-%d\", \"amount\": %g, "
			"\"day\": \"2026-03-%02dT10:00:00Z\"}\n", i, i, i * 0.25,
			1 + i % 28);
	fclose(f);
	free(p);
	free(in);
}

/*
 * in2/e.json and in2/f.json: JSON arrays at /data/items, in UTF-16 with
 * a byte order mark (converted by glibc's iconv here, as a file another
 * program wrote); records 1..1500 and 1501..3000, one a few lines long,
 * and one reject in e.json.
 */
static void make_json_files(void)
{
	char *in = tu_path(dir, "in2");

	cr_assert_eq(mkdir(in, 0755), 0);
	for (int part = 0; part < 2; part++) {
		char *utf8 = NULL, *p, *u16, *ip, *op;
		size_t len = 0, inleft, outleft;
		FILE *f = open_memstream(&utf8, &len);
		iconv_t cd = iconv_open("UTF-16", "UTF-8");

		cr_assert(f != NULL && cd != (iconv_t)-1);
		fputs("{\"meta\": {\"note\": \"]}\"},\n \"data\": {\"items\": [\n", f);
		for (int i = 1 + part * 1500; i <= 1500 + part * 1500; i++) {
			fprintf(f, "%s  {\"id\": %d, \"name\": \"j\u00e9-%d%s\", "
				"\"amount\": %g,\n   \"day\": "
				"\"2026-06-%02dT10:00:00Z\"}", i > 1 + part * 1500
				? ",\n" : "", i, i, i % 97 == 0 ? "\\n]" : "",
				i * 0.5, 1 + i % 28);
			if (i == 700)
				fputs(",\n  {\"id\": \"bad\"}", f);
		}
		fputs("\n]}}\n", f);
		cr_assert_eq(fclose(f), 0);
		u16 = malloc(2 * len + 8);
		cr_assert_not_null(u16);
		ip = utf8;
		inleft = len;
		op = u16;
		outleft = 2 * len + 8;
		cr_assert_neq(iconv(cd, &ip, &inleft, &op, &outleft), (size_t)-1);
		iconv_close(cd);
		p = tu_path(in, part ? "f.json" : "e.json");
		f = fopen(p, "wb");
		cr_assert_not_null(f);
		cr_assert_eq(fwrite(u16, 1, (size_t)(op - u16), f),
			     (size_t)(op - u16));
		cr_assert_eq(fclose(f), 0);
		free(p);
		free(u16);
		free(utf8);
	}
	free(in);
}

/* lite.db: table orders, 3000 rows. */
static void make_sqlite(void)
{
	char *p = tu_path(dir, "lite.db");
	sqlite3 *db;
	char *err = NULL;

	cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db,
		"CREATE TABLE orders (id INTEGER PRIMARY KEY, name TEXT, "
		"amount REAL, day TEXT);"
		"WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g "
		"WHERE i < 3000) INSERT INTO orders SELECT i, 'lite-' || i, "
		"i * 0.5, printf('2026-04-%02d 08:00:00', 1 + i % 28) FROM g;",
		NULL, NULL, &err), SQLITE_OK, "%s", err ? err : "");
	sqlite3_close(db);
	free(p);
}

/* A table of our own on the PostgreSQL server, 3000 rows; its name. */
static char *make_pg(void)
{
	const char *skip = getenv("AGG_PG_SKIP");
	PGconn *db;
	PGresult *res;
	char *t, *q;

	if (skip)
		cr_assert_fail("no PostgreSQL server: %s", skip);
	db = PQconnectdb("");
	cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s", PQerrorMessage(db));
	cr_assert(asprintf(&t, "faults_%ld", (long)getpid()) > 0);
	cr_assert(asprintf(&q,
		"DROP TABLE IF EXISTS %s; CREATE TABLE %s (id int PRIMARY KEY, "
		"name text, amount float8, day timestamptz); INSERT INTO %s "
		"SELECT g, 'pg-' || g, g * 0.125, timestamptz '2026-05-01 "
		"00:00:00+00' + (g %% 28) * interval '1 day' FROM "
		"generate_series(1, 3000) g", t, t, t) > 0);
	res = PQexec(db, q);
	cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s",
		     PQerrorMessage(db));
	PQclear(res);
	PQfinish(db);
	free(q);
	return t;
}

/* --- provider sections ------------------------------------------------ */

static char *sec_files(void)
{
	make_files();
	return strdup("[provider files]\ntype = file\npath = in/*\n"
		      "max_rejects = 10\n");
}

static char *sec_json(void)
{
	make_json_files();
	return strdup("[provider jsons]\ntype = file\npath = in2/*.json\n"
		      "records = /data/items\nencoding = utf-16\n"
		      "max_rejects = 10\n");
}

static char *sec_lite(void)
{
	make_sqlite();
	return strdup("[provider lite]\ntype = sqlite\npath = lite.db\n"
		      "query = SELECT id, name, amount, day FROM orders "
		      "ORDER BY id\nkey = id\nbatch = 100\n");
}

static char *sec_pg(void)
{
	char *t = make_pg(), *s;

	cr_assert(asprintf(&s, "[provider pg]\ntype = postgres\n"
			   "query = SELECT id, name, amount, day FROM %s "
			   "ORDER BY id\nkey = id\nbatch = 100\n", t) > 0);
	free(t);
	return s;
}

static char *sec_api(void)
{
	char *s;

	cr_assert_eq(hf_start(&srv), 0, "the fixture server did not start");
	cr_assert(asprintf(&s, "[provider api]\ntype = http\n"
			   "url = %s/items?page={page}&per_page=25&total=400\n"
			   "pagination = page\nrecords = /items\n"
			   "concurrency = 4\nmap = amount=/price, day=/created\n",
			   srv.base) > 0);
	return s;
}

/*
 * Write p.conf: [aggregate] (union into out.csv, 64K rings, rejects into
 * rejects.jsonl, fast backoff unless extra sets one) plus extra lines,
 * then the sections.
 */
static void conf(const char *extra, const char *sections)
{
	char *text;

	extra = extra ? extra : "";
	cr_assert(asprintf(&text, "[aggregate]\noutput = out.csv\nfields = "
			   FIELDS "\nring_size = 64K\nreject_file = rejects.jsonl\n"
			   "%s%s\n%s", strstr(extra, "backoff") ? ""
			   : "backoff = 1ms\nbackoff_max = 20ms\n", extra,
			   sections) > 0);
	put("p.conf", text);
	free(text);
}

/* Run on p.conf with AGG_FAULT (NULL: none) and up to 4 more args. */
static int run(struct tu_result *r, const char *fault, ...)
{
	const char *args[8] = { "-c", "p.conf" };
	char env[512];
	const char *envp[] = { env, NULL };
	int n = 2;
	va_list ap;

	va_start(ap, fault);
	for (const char *a; n < 7 && (a = va_arg(ap, const char *)) != NULL;)
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	snprintf(env, sizeof env, "AGG_FAULT=%s", fault ? fault : "");
	return tu_run(r, dir, args, envp);
}

/*
 * The summary row of provider name: its status (into st, 16 bytes) and
 * restarts; -1 when there is no such row.
 */
static int summary(const char *err, const char *name, char *st)
{
	for (const char *l = err; l && *l;) {
		char n[64], s[16];
		unsigned long long rec, rej;
		int restarts;

		if (sscanf(l, "%63s %15s %llu %llu %d", n, s, &rec, &rej,
			   &restarts) == 5 && strcmp(n, name) == 0) {
			if (st)
				strcpy(st, s);
			return restarts;
		}
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	return -1;
}

/* A clean run: exit 0, no restart.  Returns out.csv (free() it). */
static char *clean_run(const char *name, char **rejects)
{
	struct tu_result r;
	char *out;

	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 0, "clean run: exit %d\n%s", r.status, r.err);
	cr_assert_eq(summary(r.err, name, NULL), 0, "%s", r.err);
	tu_result_free(&r);
	out = get("out.csv");
	cr_assert_not_null(out);
	if (rejects)
		*rejects = get("rejects.jsonl");
	return out;
}

/*
 * Run with fault spec; insist on exit 0, output (and rejects) identical to
 * the clean run's, and `restarts` restarts of name in the summary and the
 * log; when cause is given, the log must name it.
 */
static void expect_same(const char *name, const char *spec, const char *clean,
			const char *clean_rejects, int restarts,
			const char *cause)
{
	struct tu_result r;
	char *out, *rej, line[128];

	out = tu_path(dir, "out.csv");
	unlink(out);
	free(out);
	run(&r, spec, NULL);
	cr_assert_eq(r.status, 0, "%s: exit %d\n%s", spec, r.status, r.err);
	out = get("out.csv");
	cr_assert_not_null(out, "%s: no output", spec);
	cr_assert(strcmp(out, clean) == 0, "%s: output differs from the clean "
		  "run's\n%s", spec, r.err);
	if (clean_rejects) {
		rej = get("rejects.jsonl");
		cr_assert_not_null(rej);
		cr_assert_str_eq(rej, clean_rejects, "%s: rejects differ", spec);
		free(rej);
	}
	cr_assert_eq(summary(r.err, name, NULL), restarts,
		     "%s: want %d restarts\n%s", spec, restarts, r.err);
	snprintf(line, sizeof line, "provider=%s restarted", name);
	cr_assert_eq(proc_count(r.err, line), restarts, "%s:\n%s", spec, r.err);
	cr_assert(strstr(r.err, "fault injected"), "%s: no fault:\n%s", spec,
		  r.err);
	if (cause)
		cr_assert(strstr(r.err, cause), "%s: cause '%s' not named:\n%s",
			  spec, cause, r.err);
	tu_result_free(&r);
	free(out);
}

/* --- 1. crash and resume, every provider type ------------------------- */

/* Points hit often enough by every type's input. */
static const struct {
	const char *tail;   /* POINT:N[:ACTION] */
	const char *cause;  /* what the log must name, or NULL */
} common_cases[] = {
	{ "start:1", "killed by SIGKILL" },
	{ "record:1", NULL },
	{ "record:150", NULL },
	{ "before_records:1", NULL },
	{ "before_records:3", NULL },
	{ "after_records:2", NULL },
	{ "before_checkpoint:1", NULL },
	{ "before_checkpoint:4", NULL },
	{ "after_checkpoint:1", NULL },
	{ "after_checkpoint:5", NULL },
	{ "mid_frame:1", NULL },
	{ "mid_frame:3", NULL },
	{ "record:77:segv", "killed by SIGSEGV" },
	{ "after_checkpoint:2:segv", "killed by SIGSEGV" },
	{ "after_records:3:exit0", "exited without finishing" },
	{ "after_checkpoint:3:exit0", "exited without finishing" },
	{ "after_records:2:garbage", "malformed frame" },
	{ "after_checkpoint:2:badlen", "malformed frame" },
	{ "before_records:2:badattempt", "frame of another attempt" },
};

static void crash_matrix(const char *name, char *section,
			 const char *const *extra_cases)
{
	char *clean, *clean_rej = NULL, spec[128];
	struct tu_result r;
	int fired = 0;

	conf(NULL, section);
	clean = clean_run(name, &clean_rej);
	for (size_t k = 0; k < sizeof common_cases / sizeof common_cases[0];
	     k++) {
		snprintf(spec, sizeof spec, "%s:1:%s", name, common_cases[k].tail);
		expect_same(name, spec, clean, clean_rej, 1, common_cases[k].cause);
	}
	for (int k = 0; extra_cases && extra_cases[k]; k++) {
		snprintf(spec, sizeof spec, "%s:1:%s", name, extra_cases[k]);
		expect_same(name, spec, clean, clean_rej, 1, NULL);
	}

	/* Random points and counts, fixed seeds: restarted iff it fired. */
	for (unsigned seed = 101; seed < 109; seed++) {
		char *out;

		snprintf(spec, sizeof spec, "%s:1:random:%u%s", name, seed,
			 seed % 3 == 0 ? ":segv" : "");
		run(&r, spec, NULL);
		cr_assert_eq(r.status, 0, "%s: exit %d\n%s", spec, r.status, r.err);
		out = get("out.csv");
		cr_assert_str_eq(out, clean, "%s: output differs", spec);
		free(out);
		cr_assert_eq(summary(r.err, name, NULL),
			     strstr(r.err, "fault injected") ? 1 : 0, "%s:\n%s",
			     spec, r.err);
		fired += strstr(r.err, "fault injected") != NULL;
		tu_result_free(&r);
	}
	cr_assert_geq(fired, 4, "only %d of 8 random faults fired", fired);

	/* Killed after its DONE was published: finished, not restarted. */
	snprintf(spec, sizeof spec, "%s:1:after_done:1", name);
	expect_same(name, spec, clean, clean_rej, 0, "ended badly after DONE");

	/* A hang: found by stall_timeout, killed, restarted. */
	conf("stall_timeout = 3s\n", section);
	snprintf(spec, sizeof spec, "%s:1:before_checkpoint:2:hang", name);
	expect_same(name, spec, clean, clean_rej, 1, "stalled");
	free(clean);
	free(clean_rej);
	free(section);
}

Test(crash, files_csv_gz_jsonl_at_every_point)
{
	/* Records inside each file: b.csv, the .gz, the JSON Lines. */
	static const char *const extra[] = {
		"record:1501", "record:2400", "record:3500:segv",
		"record:4001", "record:4999", "before_checkpoint:12",
		"after_checkpoint:15:exit0", NULL,
	};

	crash_matrix("files", sec_files(), extra);
}

Test(crash, json_arrays_in_utf16_at_every_point)
{
	/* Inside each file, and across the two. */
	static const char *const extra[] = {
		"record:700", "record:1499", "record:1501:segv",
		"record:2999", "after_checkpoint:7:exit0", NULL,
	};

	crash_matrix("jsons", sec_json(), extra);
}

Test(crash, sqlite_at_every_point)
{
	static const char *const extra[] = {
		"record:2999", "after_checkpoint:29", NULL,
	};

	crash_matrix("lite", sec_lite(), extra);
}

Test(crash, postgres_at_every_point)
{
	static const char *const extra[] = {
		"record:2999", "after_checkpoint:29", NULL,
	};

	crash_matrix("pg", sec_pg(), extra);
}

Test(crash, http_at_every_point)
{
	static const char *const extra[] = {
		"record:399", "after_checkpoint:15", NULL,
	};

	crash_matrix("api", sec_api(), extra);
}

/* Every type in one run, each killed at once: all resume, all exact. */
Test(crash, every_type_killed_in_one_run)
{
	char *secs, *a = sec_files(), *b = sec_lite(), *c = sec_pg(),
	     *d = sec_api(), *clean, *rej;

	cr_assert(asprintf(&secs, "%s%s%s%s", a, b, c, d) > 0);
	conf(NULL, secs);
	clean = clean_run("files", &rej);
	expect_same("pg", "files:1:record:2500;lite:1:after_checkpoint:7;"
		    "pg:1:mid_frame:4;api:1:record:200:segv", clean, rej, 1,
		    NULL);
	free(clean);
	free(rej);
	free(secs);
	free(a);
	free(b);
	free(c);
	free(d);
}

/* --- 2. restart policy ------------------------------------------------ */

Test(policy, restart_limit_then_the_run_fails)
{
	char *sec = sec_files();
	struct tu_result r;
	char st[16], *out;

	conf("restart = 2\n", sec);
	put("out.csv", "previous\n");
	run(&r, "files:0:record:10", NULL);
	cr_assert_eq(r.status, 1, "exit %d\n%s", r.status, r.err);
	cr_assert_eq(proc_count(r.err, "provider=files restarted"), 2, "%s", r.err);
	cr_assert(strstr(r.err, "provider=files failed attempt=3"), "%s", r.err);
	cr_assert_eq(summary(r.err, "files", st), 2, "%s", r.err);
	cr_assert_str_eq(st, "failed");
	out = get("out.csv");
	cr_assert_str_eq(out, "previous\n");
	free(out);
	tu_result_free(&r);
	free(sec);
}

Test(policy, restart_zero_means_the_first_failure_is_final)
{
	char *sec = sec_files();
	struct tu_result r;

	conf("restart = 0\n", sec);
	run(&r, "files:1:after_checkpoint:2", NULL);
	cr_assert_eq(r.status, 1, "exit %d\n%s", r.status, r.err);
	cr_assert_eq(proc_count(r.err, "restarted"), 0, "%s", r.err);
	cr_assert(strstr(r.err, "provider=files failed attempt=1"), "%s", r.err);
	tu_result_free(&r);
	free(sec);
}

/*
 * restart = 1, but every attempt folds a checkpoint before it dies: each
 * is healthy, so the count of failures in a row starts again and the
 * provider finishes after 3 restarts, with output and rejects exact.
 */
Test(policy, a_healthy_attempt_resets_the_restart_count)
{
	char *sec = sec_files(), *clean, *rej;

	conf("restart = 1\n", sec);
	clean = clean_run("files", &rej);
	expect_same("files", "files:1:after_checkpoint:2;files:2:after_checkpoint:2;"
		    "files:3:after_checkpoint:9", clean, rej, 3, NULL);
	/*
	 * Around the reject (after record 2222): counts are per attempt, so
	 * attempt 2 dies near record 2300 + 1200, attempt 3 800 later.
	 */
	expect_same("files", "files:1:record:2300;files:2:record:1200;"
		    "files:3:record:800", clean, rej, 3, NULL);
	free(clean);
	free(rej);
	free(sec);
}

/* Attempts that fold nothing are failures in a row: restart = 1 allows 1. */
Test(policy, unhealthy_attempts_exhaust_the_restarts)
{
	char *sec = sec_files();
	struct tu_result r;

	conf("restart = 2\n", sec);
	/* 1 healthy; 2 and 3 not: two failures in a row, then one more. */
	run(&r, "files:1:after_checkpoint:3;files:2:start:1;files:3:record:5;"
	    "files:4:start:1", NULL);
	cr_assert_eq(r.status, 1, "exit %d\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "provider=files failed attempt=3"), "%s", r.err);
	cr_assert_eq(summary(r.err, "files", NULL), 2, "%s", r.err);
	tu_result_free(&r);
	/* 1 not healthy, 2 healthy (a new count), 3 and 4 not. */
	run(&r, "files:1:start:1;files:2:after_checkpoint:3;files:3:start:1;"
	    "files:4:start:1;files:5:start:1", NULL);
	cr_assert_eq(r.status, 1, "exit %d\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "provider=files failed attempt=4"), "%s", r.err);
	cr_assert_eq(summary(r.err, "files", NULL), 3, "%s", r.err);
	tu_result_free(&r);
	free(sec);
}

/* The backoffs the log reports, in order; returns how many. */
static int backoffs(const char *err, unsigned long *ms, int max)
{
	int n = 0;

	for (const char *p = err; n < max && (p = strstr(p, "backoff=")); p++)
		ms[n++] = strtoul(p + 8, NULL, 10);
	return n;
}

static void expect_between(unsigned long v, unsigned long lo, unsigned long hi)
{
	cr_assert(v >= lo && v <= hi, "backoff %lums not in [%lu, %lu]", v, lo,
		  hi);
}

/*
 * backoff doubles per failure in a row up to backoff_max, each wait drawn
 * from [d/2, d]; a healthy attempt starts again from backoff.
 */
Test(policy, backoff_doubles_is_capped_jittered_and_reset)
{
	char *sec = sec_files();
	struct tu_result r;
	unsigned long ms[8];

	conf("restart = 4\nbackoff = 100ms\nbackoff_max = 400ms\n", sec);
	run(&r, "files:0:start:1", NULL);
	cr_assert_eq(r.status, 1, "exit %d\n%s", r.status, r.err);
	cr_assert_eq(backoffs(r.err, ms, 8), 4, "%s", r.err);
	expect_between(ms[0], 50, 100);
	expect_between(ms[1], 100, 200);
	expect_between(ms[2], 200, 400);
	expect_between(ms[3], 200, 400);
	cr_assert(strstr(r.err, "provider=files failed attempt=5"), "%s", r.err);
	tu_result_free(&r);

	run(&r, "files:1:start:1;files:2:start:1;files:3:after_checkpoint:2;"
	    "files:4:start:1", NULL);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	cr_assert_eq(backoffs(r.err, ms, 8), 4, "%s", r.err);
	expect_between(ms[0], 50, 100);
	expect_between(ms[1], 100, 200);
	expect_between(ms[2], 50, 100);
	expect_between(ms[3], 100, 200);
	tu_result_free(&r);
	free(sec);
}

/*
 * The last allowed attempt dies after reading the reject but before its
 * checkpoint: no retry follows, so the reject is kept in the reject file.
 */
Test(policy, the_final_attempt_keeps_its_last_rejects)
{
	char *sec = sec_files(), *rej;
	struct tu_result r;

	conf("restart = 0\n", sec);
	run(&r, "files:1:record:2223", NULL);
	cr_assert_eq(r.status, 1, "exit %d\n%s", r.status, r.err);
	tu_result_free(&r);
	rej = get("rejects.jsonl");
	cr_assert_not_null(rej);
	cr_assert_eq(proc_count(rej, "\"provider\""), 1, "%s", rej);
	cr_assert_eq(proc_count(rej, "in/b.csv:731"), 1, "%s", rej);
	free(rej);
	free(sec);
}

Test(policy, a_hang_is_killed_after_stall_timeout)
{
	char *sec = sec_files(), *clean, *rej;

	conf("stall_timeout = 3s\n", sec);
	clean = clean_run("files", &rej);
	expect_same("files", "files:1:after_records:3:hang", clean, rej, 1,
		    "stalled: no progress for 3s");
	free(clean);
	free(rej);
	free(sec);
}

Test(policy, memory_limit_fails_only_that_attempt)
{
	char *sec, *clean, *rej;

	/* ASan's shadow memory alone is past any RLIMIT_AS. */
	if (tu_under_asan())
		skip_test("RLIMIT_AS cannot apply under AddressSanitizer");
	sec = sec_files();
	conf("memory_limit = 256M\n", sec);
	clean = clean_run("files", &rej);
	expect_same("files", "files:1:record:1000:leak", clean, rej, 1,
		    "out of memory after");
	free(clean);
	free(rej);
	free(sec);
}

Test(policy, without_memory_limit_the_leak_is_not_stopped)
{
	char *sec;
	struct tu_result r;

	if (tu_under_asan())
		skip_test("ASan's allocator reports the failed allocation");
	sec = sec_files();
	conf("restart = 0\n", sec);
	run(&r, "files:1:record:10:leak", NULL);
	cr_assert_eq(r.status, 1, "exit %d\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "without hitting a limit"), "%s", r.err);
	tu_result_free(&r);
	free(sec);
}

Test(policy, permanent_errors_fail_without_restart)
{
	struct tu_result r;
	char *b = sec_files(), *secs, *files_only, *out;

	make_sqlite();
	cr_assert(asprintf(&secs, "[provider lite]\ntype = sqlite\npath = "
			   "lite.db\nquery = SELEC id FROM orders\n%s", b) > 0);
	conf(NULL, secs);
	run(&r, NULL, "--only", "files", NULL);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	tu_result_free(&r);
	files_only = get("out.csv");
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 1, "exit %d\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "provider=lite failed attempt=1"), "%s", r.err);
	cr_assert(strstr(r.err, "syntax error"), "%s", r.err);
	cr_assert_eq(proc_count(r.err, "restarted"), 0, "%s", r.err);
	tu_result_free(&r);

	/* on_error = partial: the other provider's data, exit 2. */
	conf("on_error = partial\n", secs);
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 2, "exit %d\n%s", r.status, r.err);
	out = get("out.csv");
	cr_assert_str_eq(out, files_only);
	free(out);
	free(files_only);
	tu_result_free(&r);
	free(secs);
	free(b);
}

Test(policy, the_run_timeout_stops_everything_and_writes_nothing)
{
	char *sec = sec_files();
	struct tu_result r;
	char *out;

	conf("timeout = 1s\n", sec);
	put("out.csv", "previous\n");
	run(&r, "files:0:after_records:1:hang", NULL);
	cr_assert_eq(r.status, 1, "exit %d\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "timeout"), "%s", r.err);
	out = get("out.csv");
	cr_assert_str_eq(out, "previous\n");
	free(out);
	tu_result_free(&r);
	free(sec);
}

/* --- processes: spawn, watch, find in /proc ---------------------------- */

/*
 * Start aggregate -c p.conf in dir with AGG_FAULT=fault, stderr into a
 * pipe we read (tests/helpers/proc.h).
 */
static void spawn(struct proc *p, const char *fault)
{
	const char *args[] = { "-c", "p.conf", NULL };
	char env[512];

	snprintf(env, sizeof env, "AGG_FAULT=%s", fault ? fault : "");
	proc_spawn(p, dir, args, (const char *const[]){ env, NULL }, NULL,
		   NULL);
}

/* No shared-memory object of supervisor sup is left in /dev/shm. */
static void expect_no_shm(pid_t sup)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	char pid[32];

	snprintf(pid, sizeof pid, "%ld", (long)sup);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		cr_assert(!(strncmp(e->d_name, "aggregate", 9) == 0 &&
			    strstr(e->d_name, pid)),
			  "left in /dev/shm: %s", e->d_name);
	closedir(d);
}

/* Each pid is gone for good: not running, not a zombie. */
static void expect_gone(const pid_t *pids, int n)
{
	for (int i = 0; i < n; i++)
		cr_assert(kill(pids[i], 0) < 0 && errno == ESRCH,
			  "process %ld outlived the run (ppid %ld)",
			  (long)pids[i], (long)proc_ppid_of(pids[i]));
}

/* out.csv is "previous\n" and no temporary output is left beside it. */
static void expect_previous_output(void)
{
	char *out = get("out.csv");
	DIR *d = opendir(dir);
	struct dirent *e;

	cr_assert_not_null(out);
	cr_assert_str_eq(out, "previous\n");
	free(out);
	while ((e = readdir(d)) != NULL)
		cr_assert(strncmp(e->d_name, "out.csv.", 8) != 0 &&
			  strncmp(e->d_name, ".out.csv.", 9) != 0,
			  "left behind: %s", e->d_name);
	closedir(d);
}

/* files + lite, both hung (mid-run), previous output in place. */
static void two_hung(struct proc *p, pid_t *kids, int *nkids, const char *act)
{
	char *a = sec_files(), *b = sec_lite(), *secs, fault[128];

	cr_assert(asprintf(&secs, "%s%s", a, b) > 0);
	conf(NULL, secs);
	put("out.csv", "previous\n");
	snprintf(fault, sizeof fault, "files:0:before_checkpoint:2:%s;"
		 "lite:0:after_checkpoint:3:%s", act, act);
	spawn(p, fault);
	proc_wait_text(p, "fault injected", 2);
	*nkids = proc_children_of(p->pid, kids, 64);
	/* The aggregator and both providers. */
	cr_assert_geq(*nkids, 3, "%d children", *nkids);
	cr_assert_gt(proc_wait_child_titled(p->pid, "aggregate: aggregator"), 0);
	cr_assert_neq(proc_child_titled(p->pid, "aggregate: provider files"), 0);
	cr_assert_neq(proc_child_titled(p->pid, "aggregate: provider lite"), 0);
	free(secs);
	free(a);
	free(b);
}

/* --- 3. signals ------------------------------------------------------- */

static void stop_with(int sig, int code)
{
	struct proc p;
	pid_t kids[64];
	int n;

	two_hung(&p, kids, &n, "hang");
	cr_assert_eq(kill(p.pid, sig), 0);
	cr_assert_eq(proc_finish(&p), code, "%s", p.err);
	cr_assert(strstr(p.err, sig == SIGINT ? "signal=SIGINT" : "signal=SIGTERM"),
		  "%s", p.err);
	cr_assert_null(strstr(p.err, "output written"), "%s", p.err);
	expect_previous_output();
	expect_gone(kids, n);
	expect_no_shm(p.pid);
	free(p.err);
}

Test(signals, sigint_stops_everything_exit_130)
{
	stop_with(SIGINT, 130);
}

Test(signals, sigterm_stops_everything_exit_143)
{
	stop_with(SIGTERM, 143);
}

/* Children deaf to SIGTERM get SIGKILL after the grace period. */
Test(signals, children_that_ignore_sigterm_are_killed)
{
	struct proc p;
	pid_t kids[64];
	int n;

	two_hung(&p, kids, &n, "stubborn");
	cr_assert_eq(kill(p.pid, SIGTERM), 0);
	cr_assert_eq(proc_finish(&p), 143, "%s", p.err);
	expect_previous_output();
	expect_gone(kids, n);
	free(p.err);
}

/*
 * SIGKILL to the supervisor: every child dies with it (PR_SET_PDEATHSIG).
 * We are their subreaper, so waitpid() tells how each one died.  hung:
 * the providers are held at a fault point, so only that signal can end
 * them; otherwise one that had finished may also exit by itself first.
 */
static void kill_supervisor(struct proc *p, pid_t *kids, int n, bool hung)
{
	bool provider[64];
	char t[256];

	for (int i = 0; i < n; i++) {
		proc_title_of(kids[i], t, sizeof t);
		provider[i] = strcmp(t, "aggregate: aggregator") != 0;
	}
	cr_assert_eq(kill(p->pid, SIGKILL), 0);
	cr_assert_eq(proc_finish(p), 128 + SIGKILL);
	for (int i = 0; i < n; i++) {
		int status;
		pid_t w;

		while ((w = waitpid(kids[i], &status, 0)) < 0 && errno == EINTR)
			;
		cr_assert_eq(w, kids[i], "child %ld: %s", (long)kids[i],
			     strerror(errno));
		/*
		 * A provider (hung) or the snapshot holder can only have
		 * died of its PR_SET_PDEATHSIG; the aggregator may also see
		 * its control socket close first and leave by itself.
		 */
		cr_assert(!provider[i] ||
			  (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
			  (!hung && WIFEXITED(status) &&
			   WEXITSTATUS(status) == 0),
			  "child %ld: status %d", (long)kids[i], status);
	}
	expect_no_shm(p->pid);
}

Test(signals, sigkill_to_the_supervisor_takes_every_child)
{
	struct proc p;
	pid_t kids[64];
	int n;

	two_hung(&p, kids, &n, "stubborn");
	kill_supervisor(&p, kids, n, true);
	expect_previous_output();
	free(p.err);
}

/* The same with the postgres snapshot holder, a child of the supervisor. */
Test(signals, sigkill_takes_the_postgres_snapshot_holder)
{
	char *sec = sec_pg();
	struct proc p;
	pid_t kids[64];
	int n, holders = 0;
	char t[256];

	conf(NULL, sec);
	spawn(&p, "pg:0:after_checkpoint:2:hang");
	proc_wait_text(&p, "fault injected", 1);
	n = proc_children_of(p.pid, kids, 64);
	for (int i = 0; i < n; i++) {
		proc_title_of(kids[i], t, sizeof t);
		holders += strcmp(t, "aggregate: aggregator") != 0 &&
			   strcmp(t, "aggregate: provider pg") != 0;
	}
	cr_assert_eq(n, 3, "want aggregator, provider and holder: %d", n);
	cr_assert_eq(holders, 1);
	kill_supervisor(&p, kids, n, true);
	free(p.err);
	free(sec);
}

/* A stopped run with a postgres provider leaves no holder behind either. */
Test(signals, sigterm_reaps_the_postgres_snapshot_holder)
{
	char *sec = sec_pg();
	struct proc p;
	pid_t kids[64];
	int n;

	conf(NULL, sec);
	spawn(&p, "pg:0:after_checkpoint:2:hang");
	proc_wait_text(&p, "fault injected", 1);
	n = proc_children_of(p.pid, kids, 64);
	cr_assert_eq(n, 3);
	kill(p.pid, SIGTERM);
	cr_assert_eq(proc_finish(&p), 143, "%s", p.err);
	expect_gone(kids, n);
	free(p.err);
	free(sec);
}

/*
 * A stop that arrives once the output of a finished run is in place: the
 * run says so and exits 0, rather than 130 with the output written.
 */
Test(signals, a_stop_after_the_output_is_written_says_so)
{
	char *sec = sec_files(), *out;
	struct proc p;

	conf(NULL, sec);
	put("out.csv", "previous\n");
	setenv("AGG_FAULT_WRITTEN", "1", 1);
	spawn(&p, NULL);
	proc_wait_text(&p, "point=output_written", 1);
	cr_assert_eq(kill(p.pid, SIGINT), 0);
	cr_assert_eq(proc_finish(&p), 0, "%s", p.err);
	cr_assert(strstr(p.err, "stop came too late"), "%s", p.err);
	out = get("out.csv");
	cr_assert_str_neq(out, "previous\n");
	free(out);
	free(p.err);
	free(sec);
}

Test(signals, aggregator_killed_mid_run_fails_the_run)
{
	struct proc p;
	pid_t kids[64], agg;
	int n;

	two_hung(&p, kids, &n, "hang");
	agg = proc_child_titled(p.pid, "aggregate: aggregator");
	cr_assert_eq(kill(agg, SIGKILL), 0);
	cr_assert_eq(proc_finish(&p), 1, "%s", p.err);
	cr_assert(strstr(p.err, "aggregator died"), "%s", p.err);
	expect_previous_output();
	expect_gone(kids, n);
	expect_no_shm(p.pid);
	free(p.err);
}

/* --- 4. the lock ------------------------------------------------------ */

Test(lock, a_second_run_exits_75_naming_the_holder)
{
	struct proc p;
	struct tu_result r;
	pid_t kids[64];
	int n;
	char want[64];

	two_hung(&p, kids, &n, "hang");
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 75, "exit %d\n%s", r.status, r.err);
	snprintf(want, sizeof want, "pid=%ld", (long)p.pid);
	cr_assert(strstr(r.err, "another run holds the lock"), "%s", r.err);
	cr_assert(strstr(r.err, want), "%s", r.err);
	tu_result_free(&r);
	/* The first run was not disturbed. */
	cr_assert_neq(proc_child_titled(p.pid, "aggregate: aggregator"), 0);
	kill(p.pid, SIGTERM);
	cr_assert_eq(proc_finish(&p), 143, "%s", p.err);
	free(p.err);
}

/* The lock file a second run finds held: its "path=" (free() it). */
static char *held_lock_path(void)
{
	struct tu_result r;
	const char *p;
	char *path;

	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 75, "exit %d\n%s", r.status, r.err);
	p = strstr(r.err, "path=");
	cr_assert_not_null(p, "%s", r.err);
	p += 5;
	path = strndup(p, strcspn(p, " \n"));
	tu_result_free(&r);
	return path;
}

Test(lock, a_stale_lock_file_from_a_killed_run_does_not_block)
{
	struct proc p;
	struct tu_result r;
	pid_t kids[64];
	int n;
	struct stat st;
	char *lock, *out;

	two_hung(&p, kids, &n, "hang");
	lock = held_lock_path();
	kill_supervisor(&p, kids, n, true);
	cr_assert_eq(stat(lock, &st), 0, "the lock file should remain");
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	tu_result_free(&r);
	out = get("out.csv");
	cr_assert_not_null(out);
	cr_assert_str_neq(out, "previous\n");
	free(out);
	cr_assert(stat(lock, &st) < 0 && errno == ENOENT,
		  "the run that held %s last removes it", lock);
	free(lock);
	free(p.err);
}

/*
 * Without lock_file, the lock is named after the output's real path, so
 * another config naming the same file otherwise (a symlink, "..") waits
 * for the first; and it lives in a runtime folder, not beside the output.
 */
Test(lock, two_names_for_one_output_exclude_each_other)
{
	struct proc p;
	struct tu_result r;
	pid_t kids[64];
	int n;
	char *text, *at, *q, *lock, *link, *sub;

	two_hung(&p, kids, &n, "hang");
	lock = held_lock_path();
	cr_assert(strncmp(lock, dir, strlen(dir)) != 0,
		  "the lock %s is beside the output", lock);
	text = get("p.conf");
	at = strstr(text, "output = out.csv\n");
	cr_assert_not_null(at);
	*at = '\0';
	cr_assert(asprintf(&q, "%soutput = sub/../link.csv\n%s", text,
			   at + strlen("output = out.csv\n")) > 0);
	put("q.conf", q);
	link = tu_path(dir, "link.csv");
	sub = tu_path(dir, "sub");
	cr_assert_eq(symlink("out.csv", link), 0);
	cr_assert_eq(mkdir(sub, 0755), 0);
	run(&r, NULL, "-c", "q.conf", NULL);
	cr_assert_eq(r.status, 75, "exit %d\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "another run holds the lock"), "%s", r.err);
	cr_assert(strstr(r.err, lock), "%s", r.err);
	tu_result_free(&r);
	kill(p.pid, SIGTERM);
	cr_assert_eq(proc_finish(&p), 143, "%s", p.err);
	/* Free again: the second config runs, through the symlink. */
	run(&r, NULL, "-c", "q.conf", NULL);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	tu_result_free(&r);
	free(p.err);
	free(text);
	free(q);
	free(lock);
	free(link);
	free(sub);
}

Test(lock, nothing_is_left_beside_the_output)
{
	char *sec = sec_files(), *out;
	struct tu_result r;
	struct dirent *e;
	DIR *d;

	conf(NULL, sec);
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	tu_result_free(&r);
	out = get("out.csv");
	cr_assert_not_null(out);
	d = opendir(dir);
	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL)
		cr_assert(strcmp(e->d_name, ".") == 0 ||
			  strcmp(e->d_name, "..") == 0 ||
			  strcmp(e->d_name, "p.conf") == 0 ||
			  strcmp(e->d_name, "in") == 0 ||
			  strcmp(e->d_name, "out.csv") == 0 ||
			  strcmp(e->d_name, "rejects.jsonl") == 0,
			  "left beside the output: %s", e->d_name);
	closedir(d);
	free(out);
	free(sec);
}

Test(lock, a_missing_output_folder_is_named_and_checked)
{
	char *sec = sec_files(), *text, *at, *q;
	struct tu_result r;

	conf("metrics_file = gone3/m.prom\n", sec);
	text = get("p.conf");
	at = strstr(text, "output = out.csv\nfields");
	cr_assert_not_null(at);
	*at = '\0';
	cr_assert(asprintf(&q, "%soutput = gone1/out.csv\n%s", text,
			   at + strlen("output = out.csv\n")) > 0);
	free(text);
	text = q;
	at = strstr(text, "reject_file = rejects.jsonl");
	cr_assert_not_null(at);
	memcpy(at, "reject_file = gone2/r.jsonl", 27);
	put("p.conf", text);
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 1, "exit %d\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "output folder gone1 does not exist"), "%s",
		  r.err);
	cr_assert_null(strstr(r.err, "lock"), "%s", r.err);
	tu_result_free(&r);
	/* --check names each folder, one line each. */
	run(&r, NULL, "--check", NULL);
	cr_assert_eq(r.status, 1, "exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert(strstr(r.out, "output folder gone1 does not exist\n"), "%s",
		  r.out);
	cr_assert(strstr(r.out, "reject file folder gone2 does not exist\n"),
		  "%s", r.out);
	cr_assert(strstr(r.out, "metrics file folder gone3 does not exist\n"),
		  "%s", r.out);
	cr_assert(strstr(r.out, "files "), "the providers are still probed:\n%s",
		  r.out);
	tu_result_free(&r);
	free(text);
	free(sec);
}

/* --- temporaries of killed runs ---------------------------------------- */

/* Names in dir starting with prefix; the first one into *first (free()). */
static int count_prefixed(const char *prefix, char **first)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	if (first)
		*first = NULL;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
			if (first && *first == NULL)
				*first = strdup(e->d_name);
			n++;
		}
	closedir(d);
	return n;
}

/*
 * An output that leads to a pipe (here through /proc/self/fd/1, as
 * /dev/stdout does) is written as a stream, and the link stays.
 */
Test(lock, a_pipe_behind_a_symlink_is_written_as_a_stream)
{
	char *sec = sec_files(), *link, *clean;
	struct tu_result r;
	struct stat st;

	conf(NULL, sec);
	clean = clean_run("files", NULL);
	link = tu_path(dir, "out.csv");
	cr_assert_eq(unlink(link), 0);
	cr_assert_eq(symlink("/proc/self/fd/1", link), 0);
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	cr_assert_str_eq(r.out, clean, "the rows went to the pipe");
	tu_result_free(&r);
	cr_assert_eq(lstat(link, &st), 0);
	cr_assert(S_ISLNK(st.st_mode), "the symlink was replaced");
	cr_assert_eq(count_prefixed(".out.csv.", NULL), 0);
	free(link);
	free(clean);
	free(sec);
}

/*
 * A FIFO output: the run writes the rows into it for a reader (here a
 * child copying it into a pipe) and the FIFO stays a FIFO; a device node
 * (/dev/null's twin) stays a device.
 */
Test(lock, a_fifo_or_a_device_output_is_written_as_a_stream)
{
	char *sec = sec_files(), *path, *copy, *clean, *got, buf[4096];
	struct tu_result r;
	struct stat st;
	int status;
	ssize_t n;
	pid_t reader;

	conf(NULL, sec);
	clean = clean_run("files", NULL);
	path = tu_path(dir, "out.csv");
	copy = tu_path(dir, "copy");
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(mkfifo(path, 0600), 0);
	/* The reader copies the FIFO into a file, never blocking the run. */
	reader = fork();
	cr_assert_geq(reader, 0);
	if (reader == 0) {
		int in = open(path, O_RDONLY);
		int out = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
			if (write(out, buf, (size_t)n) != n)
				_exit(1);
		_exit(in >= 0 && out >= 0 ? 0 : 1);
	}
	run(&r, NULL, NULL);
	if (lstat(path, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		kill(reader, SIGKILL); /* it would wait for a writer for ever */
		waitpid(reader, &status, 0);
		cr_assert_fail("the FIFO was replaced\n%s", r.err);
	}
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	tu_result_free(&r);
	cr_assert_eq(waitpid(reader, &status, 0), reader);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	got = tu_read(copy, NULL);
	cr_assert_not_null(got);
	cr_assert_str_eq(got, clean, "the reader got the clean run's rows");
	cr_assert_eq(count_prefixed(".out.csv.", NULL), 0);
	free(got);
	free(copy);

	/* A character device: written, never replaced. */
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(mknod(path, S_IFCHR | 0666, makedev(1, 3)), 0,
		     "mknod: %s (the suite runs as root)", strerror(errno));
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	tu_result_free(&r);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISCHR(st.st_mode), "the device was replaced");
	cr_assert_eq(count_prefixed(".out.csv.", NULL), 0);
	free(path);
	free(clean);
	free(sec);
}

/*
 * A run SIGKILLed while it writes the output leaves its temporary (no
 * process of it is left to remove it); the next run removes it and writes
 * the same output as a clean run.
 */
Test(crash, a_temporary_left_by_a_killed_run_is_removed_by_the_next)
{
	char *sec = sec_files(), *clean, *out, *tmp, want[64];
	struct tu_result r;
	struct proc p;
	struct stat st;
	pid_t kids[64], agg;
	int n;

	conf(NULL, sec);
	clean = clean_run("files", NULL);
	put("out.csv", "previous\n");
	setenv("AGG_OUT_HANG_AFTER", "2000", 1);
	spawn(&p, NULL);
	proc_wait_text(&p, "point=output_write", 1);
	unsetenv("AGG_OUT_HANG_AFTER");
	agg = proc_child_titled(p.pid, "aggregate: aggregator");
	n = proc_children_of(p.pid, kids, 64);
	/*
	 * Killed first, so that a failed check leaves no run behind.  The
	 * providers have finished: they may be exiting by themselves.
	 */
	kill_supervisor(&p, kids, n, false);
	cr_assert_neq(agg, 0);
	snprintf(want, sizeof want, ".out.csv.aggregate-%ld.", (long)agg);
	cr_assert_eq(count_prefixed(want, &tmp), 1, "no temporary %s* is left",
		     want);
	out = tu_path(dir, tmp);
	cr_assert_eq(stat(out, &st), 0);
	cr_assert_gt(st.st_size, 0, "the rows written so far are in it");
	free(out);
	out = get("out.csv");
	cr_assert_str_eq(out, "previous\n");
	free(out);
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	tu_result_free(&r);
	cr_assert_eq(count_prefixed(".out.csv.", NULL), 0,
		     "the next run removed %s", tmp);
	out = get("out.csv");
	cr_assert_str_eq(out, clean);
	free(out);
	free(tmp);
	free(clean);
	free(p.err);
	free(sec);
}

/* Only a dead process's temporaries are removed; a live one's stay. */
Test(crash, a_live_process_temporary_is_kept)
{
	char *sec = sec_files(), name[128], *dead[2], *live, *other;
	struct tu_result r;
	struct stat st;
	pid_t gone;
	int status;

	/* A pid that is surely gone: a child we made and reaped. */
	gone = fork();
	cr_assert_geq(gone, 0);
	if (gone == 0)
		_exit(0);
	cr_assert_eq(waitpid(gone, &status, 0), gone);
	conf(NULL, sec);
	snprintf(name, sizeof name, ".out.csv.aggregate-%ld.AbC123", (long)gone);
	dead[0] = tu_path(dir, name);
	snprintf(name, sizeof name, ".rejects.jsonl.aggregate-%ld.x0y1z2",
		 (long)gone);
	dead[1] = tu_path(dir, name);
	snprintf(name, sizeof name, ".out.csv.aggregate-%ld.AbC123",
		 (long)getpid());
	live = tu_path(dir, name);
	other = tu_path(dir, ".out.csv.aggregate-notapid.AbC123");
	tu_write(dead[0], "x");
	tu_write(dead[1], "x");
	tu_write(live, "x");
	tu_write(other, "x");
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	tu_result_free(&r);
	cr_assert(stat(dead[0], &st) < 0, "%s is still there", dead[0]);
	cr_assert(stat(dead[1], &st) < 0, "%s is still there", dead[1]);
	cr_assert_eq(stat(live, &st), 0, "a live process's temporary went");
	cr_assert_eq(stat(other, &st), 0, "a file not ours went");
	free(dead[0]);
	free(dead[1]);
	free(live);
	free(other);
	free(sec);
}

/* --- 5. isolation from bad providers ---------------------------------- */

/* files + lite; the lite-only output is what a partial run must give. */
static char *two_providers(char **lite_only)
{
	char *a = sec_files(), *b = sec_lite(), *secs;
	struct tu_result r;

	cr_assert(asprintf(&secs, "%s%s", a, b) > 0);
	free(a);
	free(b);
	conf("on_error = partial\nrestart = 1\nstall_timeout = 3s\n", secs);
	run(&r, NULL, "--only", "lite", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	*lite_only = get("out.csv");
	return secs;
}

Test(isolation, malformed_frames_fail_that_provider_alone)
{
	static const char *const acts[] = { "garbage", "badlen", "badattempt" };
	char *lite_only, *secs = two_providers(&lite_only);

	for (size_t k = 0; k < 3; k++) {
		struct tu_result r;
		char fault[128], st[16], *out;

		/* Before any checkpoint: no attempt is healthy. */
		snprintf(fault, sizeof fault, "files:0:before_records:1:%s",
			 acts[k]);
		run(&r, fault, NULL);
		cr_assert_eq(r.status, 2, "%s: exit %d\n%s", fault, r.status, r.err);
		cr_assert(strstr(r.err, "provider=files failed attempt=2 "
				 "cause=\"malformed frame: "), "%s:\n%s", fault,
			  r.err);
		cr_assert_eq(summary(r.err, "files", st), 1);
		cr_assert_str_eq(st, "failed");
		cr_assert_eq(summary(r.err, "lite", st), 0);
		cr_assert_str_eq(st, "ok");
		out = get("out.csv");
		cr_assert_str_eq(out, lite_only, "%s: lite's data differs", fault);
		free(out);
		tu_result_free(&r);
	}
	free(lite_only);
	free(secs);
}

Test(isolation, each_failure_is_named_and_restarted)
{
	static const struct {
		const char *fault, *cause;
	} cases[] = {
		{ "files:1:after_records:2:hang", "stalled" },
		{ "files:1:record:2000:segv", "killed by SIGSEGV" },
		{ "files:1:after_checkpoint:4:exit0", "exited without finishing" },
		{ "files:1:record:1:leak", "out of memory after" },
	};
	char *lite_only, *secs = two_providers(&lite_only), *clean, *rej;

	conf(tu_under_asan() ? "restart = 1\nstall_timeout = 3s\n"
			  : "restart = 1\nstall_timeout = 3s\nmemory_limit = 256M\n",
	     secs);
	clean = clean_run("files", &rej);
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		char want[256];

		if (tu_under_asan() && strstr(cases[k].fault, "leak"))
			continue;
		snprintf(want, sizeof want, "provider=files restarted attempt=2 "
			 "cause=\"%s", cases[k].cause);
		expect_same("files", cases[k].fault, clean, rej, 1, want);
	}
	free(clean);
	free(rej);
	free(lite_only);
	free(secs);
}

Test(isolation, on_error_fail_writes_nothing)
{
	char *lite_only, *secs = two_providers(&lite_only);
	struct tu_result r;

	conf("restart = 1\n", secs);
	put("out.csv", "previous\n");
	run(&r, "files:0:before_records:1:garbage", NULL);
	cr_assert_eq(r.status, 1, "exit %d\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "provider=files failed"), "%s", r.err);
	expect_previous_output();
	tu_result_free(&r);
	free(lite_only);
	free(secs);
}

/*
 * Group mode, one provider at a time (-j 1): a restarted provider keeps
 * its slot and its groups come out exact; a provider that fails for good
 * leaves no trace in the groups (on_error = partial).
 */
Test(isolation, group_mode_one_job_at_a_time)
{
	char *a = sec_files(), *b = sec_lite(), *secs, *lite_only, *clean, *out;
	struct tu_result r;

	cr_assert(asprintf(&secs, "%s%s", a, b) > 0);
	conf("group_by = day\naggregates = count(*) as n, sum(amount) as s, "
	     "min(name), max(id)\non_error = partial\nrestart = 1\n", secs);
	run(&r, NULL, "-j", "1", "--only", "lite", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	lite_only = get("out.csv");
	run(&r, NULL, "-j", "1", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	clean = get("out.csv");

	run(&r, "files:1:after_checkpoint:6;lite:1:record:1234:segv", "-j",
	    "1", NULL);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	cr_assert_eq(summary(r.err, "files", NULL), 1, "%s", r.err);
	cr_assert_eq(summary(r.err, "lite", NULL), 1, "%s", r.err);
	tu_result_free(&r);
	out = get("out.csv");
	cr_assert_str_eq(out, clean);
	free(out);

	run(&r, "files:0:before_records:1:badlen", "-j", "1", NULL);
	cr_assert_eq(r.status, 2, "exit %d\n%s", r.status, r.err);
	tu_result_free(&r);
	out = get("out.csv");
	cr_assert_str_eq(out, lite_only);
	free(out);
	free(clean);
	free(lite_only);
	free(secs);
	free(a);
	free(b);
}

/* in/NAME: a CSV of ids from..to, every one in group name-(id % 3). */
static void group_csv(const char *file, const char *name, int from, int to)
{
	char *in = tu_path(dir, "in"), *p, *tmp;
	FILE *f;

	mkdir(in, 0755);
	p = tu_path(in, file);
	cr_assert(asprintf(&tmp, "%s.new", p) > 0);
	f = fopen(tmp, "w");
	cr_assert_not_null(f);
	fputs("id,name,amount,day\n", f);
	for (int i = from; i <= to; i++)
		fprintf(f, "%d,%s-%d,%g,2026-01-01T00:00:00Z\n", i, name, i % 3,
			i * 0.1);
	fclose(f);
	/* A new file in place: a process reading the old one keeps it. */
	cr_assert_eq(rename(tmp, p), 0);
	free(tmp);
	free(p);
	free(in);
}

/*
 * Group mode, staged at arrival: an attempt killed before the checkpoint
 * of its second file has created that file's groups in the aggregator; the
 * file is then replaced, so the next attempt never sends those groups
 * again.  They must not show up, not even as empty rows, and the output
 * must be the clean run's over the new files, with the raw stage too.
 */
Test(isolation, groups_of_a_killed_attempt_never_show)
{
	static const char *const stages[] = { NULL, "raw" };
	struct proc p;
	char *clean, *out, *raw_clean;
	pid_t kid;

	conf("group_by = name\naggregates = count(*) as n, "
	     "sum(amount) as s, max(id) as hi, count(day) as d\n",
	     "[provider files]\ntype = file\npath = in/*.csv\n");
	for (size_t k = 0; k < 2; k++) {
		if (stages[k])
			setenv("AGG_STAGE", stages[k], 1);
		group_csv("1.csv", "kept", 1, 300);
		group_csv("2.csv", "ghost", 301, 600);
		group_csv("3.csv", "last", 601, 900);
		spawn(&p, "files:1:before_checkpoint:2:hang");
		/* 2.csv's records are in the ring: the aggregator has them. */
		proc_wait_text(&p, "fault injected", 1);
		group_csv("2.csv", "real", 301, 600);
		kid = proc_child_titled(p.pid, "aggregate: provider files");
		cr_assert_neq(kid, 0, "%s", p.err);
		cr_assert_eq(kill(kid, SIGKILL), 0);
		cr_assert_eq(proc_finish(&p), 0, "%s", p.err);
		cr_assert_eq(summary(p.err, "files", NULL), 1, "%s", p.err);
		out = get("out.csv");
		cr_assert_not_null(out);
		cr_assert_null(strstr(out, "ghost"), "%s", out);
		cr_assert(strstr(out, "\nreal-0,100,") != NULL, "%s", out);
		free(p.err);
		clean = clean_run("files", NULL);
		cr_assert_str_eq(out, clean);
		if (k == 0) {
			/* the raw stage gives the same bytes */
			setenv("AGG_STAGE", "raw", 1);
			raw_clean = clean_run("files", NULL);
			unsetenv("AGG_STAGE");
			cr_assert_str_eq(raw_clean, clean);
			free(raw_clean);
		}
		free(out);
		free(clean);
	}
	unsetenv("AGG_STAGE");
}
