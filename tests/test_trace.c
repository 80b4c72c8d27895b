/*
 * test_trace.c - --trace FILE on the real binary: the file is a Trace
 * Event Format object that jansson parses, every span closed and nested
 * within its process's lifetime, one track per process and per provider
 * attempt; a provider killed (AGG_FAULT, the test build's hooks) or
 * stalled shows on the right track with its cause, and its next attempt
 * starts after its death plus the backoff; secrets of a PostgreSQL
 * conninfo and of an HTTP URL never reach the file; a failed or stopped
 * run still writes it; a process past its cap says so; without --trace
 * nothing is written and no folder is left.
 *
 * Every run gets TMPDIR inside the test's folder, so the private folder
 * a traced run makes (and must remove) is watched there.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "helpers/httpfix.h"
#include "helpers/pgtest.h"
#include "helpers/proc.h"
#include "helpers/testutil.h"

PGT_START_BEFORE_ALL()
PGT_STOP_AFTER_ALL()

static char *dir;
static char tmpenv[1100];
static struct hf_server srv;

static void setup(void)
{
	char *tmp;

	tu_watchdog(240);
	srv = (struct hf_server){ .stdin_fd = -1 };
	dir = tu_tmpdir();
	tmp = tu_path(dir, "tmp");
	cr_assert_eq(mkdir(tmp, 0700), 0);
	snprintf(tmpenv, sizeof tmpenv, "TMPDIR=%s", tmp);
	free(tmp);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
}

static void teardown(void)
{
	hf_stop(&srv);
	tu_tmpdir_free(&dir);
}

TestSuite(trace, .init = setup, .fini = teardown);

#define skip_test(...) do { teardown(); cr_skip_test(__VA_ARGS__); } while (0)

/* --- inputs and runs ----------------------------------------------------- */

#define FIELDS "id:int, name:text, amount:float"

/* in/NAME: a CSV of rows from..to, with one reject (a bad amount) at bad. */
static void csv(const char *name, int from, int to, int bad)
{
	char *in = tu_path(dir, "in"), *p;
	FILE *f;

	mkdir(in, 0755);
	p = tu_path(in, name);
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs("id,name,amount\n", f);
	for (int i = from; i <= to; i++)
		fprintf(f, "%d,n-%d,%s\n", i, i, i == bad ? "oops" : "1.5");
	cr_assert_eq(fclose(f), 0);
	free(p);
	free(in);
}

/* lite.db: table t, rows 1..n. */
static void make_sqlite(int n)
{
	char *p = tu_path(dir, "lite.db"), *sql;
	char *err = NULL;
	sqlite3 *db;

	cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
	cr_assert(asprintf(&sql, "CREATE TABLE t (id INTEGER PRIMARY KEY, name "
			   "TEXT, amount REAL); WITH RECURSIVE g(i) AS (SELECT 1 "
			   "UNION ALL SELECT i + 1 FROM g WHERE i < %d) INSERT "
			   "INTO t SELECT i, 'r' || i, i * 0.5 FROM g", n) > 0);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &err), SQLITE_OK, "%s",
		     err ? err : "");
	sqlite3_close(db);
	free(sql);
	free(p);
}

/* p.conf: [aggregate] with extra lines, then the sections. */
static void conf(const char *extra, const char *sections)
{
	char *text;

	cr_assert(asprintf(&text, "[aggregate]\noutput = out.csv\nfields = "
			   FIELDS "\nring_size = 64K\nreject_file = rej.jsonl\n"
			   "max_rejects = 10\n"
			   "%s%s\n%s", strstr(extra, "backoff") ? ""
			   : "backoff = 1ms\nbackoff_max = 20ms\n", extra,
			   sections) > 0);
	tu_put(dir, "p.conf", text);
	free(text);
}

/* Run on p.conf with AGG_FAULT (NULL: none) and up to 4 more args. */
static int run(struct tu_result *r, const char *fault, ...)
{
	const char *args[8] = { "-c", "p.conf" };
	char env[512];
	const char *envp[] = { env, tmpenv, NULL };
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

/* Nothing is left in the runs' TMPDIR (the private trace folders). */
static void expect_tmp_empty(void)
{
	char *tmp = tu_path(dir, "tmp");

	cr_assert_eq(tu_count_entries(tmp), 0, "a trace folder was left in %s",
		     tmp);
	free(tmp);
}

/* --- reading a trace ------------------------------------------------------ */

struct track {
	json_int_t pid;
	char name[128];         /* process_name */
	json_int_t start, end;  /* its lifetime span, -1: none */
	const char *end_how;    /* the lifetime's "end" */
	const char *killed;     /* ... and "killed_because" */
};

struct trace {
	json_t *root;
	json_t *ev;             /* traceEvents */
	json_t *other;          /* otherData */
	struct track t[64];
	int n;
};

static struct track *track_of(struct trace *tr, json_int_t pid)
{
	for (int i = 0; i < tr->n; i++)
		if (tr->t[i].pid == pid)
			return &tr->t[i];
	cr_assert_lt(tr->n, 64);
	tr->t[tr->n] = (struct track){ .pid = pid, .start = -1, .end = -1 };
	return &tr->t[tr->n++];
}

static const char *str(json_t *e, const char *k)
{
	return json_string_value(json_object_get(e, k));
}

static json_int_t num(json_t *e, const char *k)
{
	json_t *v = json_object_get(e, k);

	cr_assert(json_is_integer(v), "%s is not an integer", k);
	return json_integer_value(v);
}

static const char *arg(json_t *e, const char *k)
{
	return str(json_object_get(e, "args"), k);
}

/*
 * Load dir/name and check what every trace must be: the object's three
 * members, events sorted by time, each with ph, name, pid, tid, ts; one
 * name per track; every B closed by its E (same name, same track), every
 * async b by its e; every event within its process's lifetime.
 */
static void load(struct trace *tr, const char *name)
{
	char *path = tu_path(dir, name);
	json_error_t jerr;
	json_t *e;
	size_t i;
	json_int_t last = 0;

	memset(tr, 0, sizeof *tr);
	tr->root = json_load_file(path, 0, &jerr);
	cr_assert_not_null(tr->root, "%s: %s at line %d", path, jerr.text,
			   jerr.line);
	free(path);
	tr->ev = json_object_get(tr->root, "traceEvents");
	tr->other = json_object_get(tr->root, "otherData");
	cr_assert(json_is_array(tr->ev));
	cr_assert(json_is_object(tr->other));
	cr_assert_str_eq(str(tr->root, "displayTimeUnit"), "ms");

	json_array_foreach(tr->ev, i, e) {
		const char *ph = str(e, "ph");
		struct track *t;

		cr_assert_not_null(ph);
		cr_assert_not_null(str(e, "name"));
		cr_assert_eq(num(e, "pid"), num(e, "tid"));
		cr_assert_geq(num(e, "ts"), last, "event %zu out of order", i);
		last = num(e, "ts");
		t = track_of(tr, num(e, "pid"));
		if (strcmp(ph, "M") == 0 &&
		    strcmp(str(e, "name"), "process_name") == 0) {
			/* One name per track: named again only the same. */
			cr_assert(t->name[0] == '\0' ||
				  strcmp(t->name, arg(e, "name")) == 0,
				  "track %lld named %s and %s",
				  (long long)t->pid, t->name, arg(e, "name"));
			snprintf(t->name, sizeof t->name, "%s", arg(e, "name"));
		}
		if (strcmp(ph, "X") == 0 && str(e, "cat") &&
		    strcmp(str(e, "cat"), "life") == 0) {
			cr_assert_eq(t->start, -1, "two lifetimes on a track");
			t->start = num(e, "ts");
			t->end = t->start + num(e, "dur");
			t->end_how = arg(e, "end");
			t->killed = arg(e, "killed_because");
		}
	}

	/* Spans: closed, nested, within the lifetime. */
	for (int k = 0; k < tr->n; k++) {
		struct track *t = &tr->t[k];
		const char *stack[64];
		json_t *async = json_object();
		int depth = 0;

		cr_assert(t->name[0], "track %lld has no name", (long long)t->pid);
		json_array_foreach(tr->ev, i, e) {
			const char *ph = str(e, "ph");
			json_int_t ts = num(e, "ts");

			if (num(e, "pid") != t->pid || strcmp(ph, "M") == 0)
				continue;
			if (t->start >= 0) {
				cr_assert(ts >= t->start && ts <= t->end,
					  "%s %s at %lld outside the lifetime of "
					  "%s [%lld, %lld]", ph, str(e, "name"),
					  (long long)ts, t->name,
					  (long long)t->start, (long long)t->end);
				if (strcmp(ph, "X") == 0)
					cr_assert_leq(ts + num(e, "dur"), t->end,
						      "%s outlives %s",
						      str(e, "name"), t->name);
			}
			if (strcmp(ph, "B") == 0) {
				cr_assert_lt(depth, 64);
				stack[depth++] = str(e, "name");
			} else if (strcmp(ph, "E") == 0) {
				cr_assert_gt(depth, 0, "E %s without B on %s",
					     str(e, "name"), t->name);
				cr_assert_str_eq(stack[--depth], str(e, "name"));
			} else if (strcmp(ph, "b") == 0) {
				json_object_set_new(async, str(e, "id"),
						    json_true());
			} else if (strcmp(ph, "e") == 0) {
				cr_assert_not_null(json_object_get(async,
							str(e, "id")),
						   "e without b on %s", t->name);
				json_object_del(async, str(e, "id"));
			}
		}
		cr_assert_eq(depth, 0, "%s: span %s never closed", t->name,
			     depth ? stack[depth - 1] : "");
		cr_assert_eq(json_object_size(async), 0, "%s: async span open",
			     t->name);
		json_decref(async);
	}
}

static void unload(struct trace *tr)
{
	json_decref(tr->root);
}

/* The track named name; NULL if none. */
static struct track *named(struct trace *tr, const char *name)
{
	for (int i = 0; i < tr->n; i++)
		if (strcmp(tr->t[i].name, name) == 0)
			return &tr->t[i];
	return NULL;
}

/* Events of ph and name on pid (-1: any), at most max into out; how many. */
static int find(struct trace *tr, json_int_t pid, const char *ph,
		const char *name, json_t **out, int max)
{
	json_t *e;
	size_t i;
	int n = 0;

	json_array_foreach(tr->ev, i, e) {
		if ((pid >= 0 && num(e, "pid") != pid) ||
		    strcmp(str(e, "ph"), ph) != 0 ||
		    strcmp(str(e, "name"), name) != 0)
			continue;
		if (n < max)
			out[n] = e;
		n++;
	}
	return n;
}

/* --- tests ---------------------------------------------------------------- */

Test(trace, a_clean_run_has_every_process_and_phase)
{
	struct tu_result r;
	struct trace tr;
	struct track *sup, *agg, *a, *b;
	json_t *ev[8];

	csv("a.csv", 1, 3000, 0);
	csv("b.csv", 3001, 4000, 3500);
	conf("", "[provider a]\ntype = file\npath = in/a.csv\n"
	     "[provider b]\ntype = file\npath = in/b.csv\n");
	run(&r, NULL, "--trace", "run.trace.json", NULL);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	load(&tr, "run.trace.json");
	sup = named(&tr, "supervisor");
	agg = named(&tr, "aggregator");
	a = named(&tr, "provider a attempt 1");
	b = named(&tr, "provider b attempt 1");
	cr_assert(sup && agg && a && b);
	cr_assert_eq(tr.n, 4, "%d tracks", tr.n);
	cr_assert_str_eq(agg->end_how, "exit status 0");
	cr_assert_str_eq(a->end_how, "exit status 0");
	/* The supervisor's run spans the whole. */
	cr_assert_eq(find(&tr, sup->pid, "B", "run", ev, 8), 1);
	cr_assert_leq(num(ev[0], "ts"), agg->start);
	/* Each file opened, with its path. */
	cr_assert_eq(find(&tr, a->pid, "B", "file", ev, 8), 1);
	cr_assert_str_eq(arg(ev[0], "path"), "in/a.csv");
	/* Batches per checkpoint, not per record. */
	cr_assert_geq(find(&tr, a->pid, "b", "batch", ev, 8), 1);
	cr_assert_leq(find(&tr, a->pid, "b", "batch", ev, 8), 10);
	/* The reject counted in b's batch, one event for it. */
	cr_assert_eq(find(&tr, b->pid, "i", "rejects", ev, 8), 1);
	cr_assert_eq(json_integer_value(json_object_get(
		json_object_get(ev[0], "args"), "count")), 1);
	cr_assert_geq(find(&tr, b->pid, "C", "records/s", ev, 8), 1);
	/* The aggregator folded both and wrote, then committed the output. */
	cr_assert_geq(find(&tr, agg->pid, "X", "fold", ev, 8), 2);
	cr_assert_eq(find(&tr, agg->pid, "X", "write output", ev, 8), 1);
	cr_assert_eq(find(&tr, agg->pid, "X", "commit output", ev, 8), 1);
	cr_assert_str_eq(arg(ev[0], "ok"), "yes");
	cr_assert_eq(find(&tr, sup->pid, "i", "done", ev, 8), 2);
	cr_assert_eq(json_integer_value(json_object_get(tr.other,
							"exit_status")), 0);
	cr_assert(json_is_false(json_object_get(tr.other, "capped")));
	unload(&tr);
	expect_tmp_empty();
	tu_result_free(&r);
}

/*
 * A provider killed mid-file: two attempts on two tracks, the first's
 * lifetime ends in SIGKILL with the spans it left open closed there, the
 * second starts after that death plus the backoff and says why.
 */
Test(trace, a_killed_provider_shows_two_attempts)
{
	struct tu_result r;
	struct trace tr;
	struct track *a1, *a2;
	json_t *ev[8];
	long backoff;

	TU_REQUIRE_HOOKS(teardown);
	csv("a.csv", 1, 20000, 0);
	conf("backoff = 150ms\nbackoff_max = 150ms\n",
	     "[provider a]\ntype = file\npath = in/a.csv\n");
	run(&r, "a:1:record:4500", "--trace", "t.json", NULL);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	load(&tr, "t.json");
	a1 = named(&tr, "provider a attempt 1");
	a2 = named(&tr, "provider a attempt 2");
	cr_assert(a1 && a2, "%s", r.err);
	cr_assert_neq(a1->pid, a2->pid);
	cr_assert_str_eq(a1->end_how, "killed by SIGKILL");
	cr_assert_str_eq(a2->end_how, "exit status 0");
	/* "read" and "file" were open at the kill: closed at the death. */
	cr_assert_eq(find(&tr, a1->pid, "E", "file", ev, 8), 1);
	cr_assert_eq(num(ev[0], "ts"), a1->end);
	/* The restart: decided on the supervisor's track, told on the new. */
	cr_assert_eq(find(&tr, -1, "i", "restart", ev, 8), 1);
	backoff = (long)json_integer_value(json_object_get(
		json_object_get(ev[0], "args"), "backoff_ms"));
	cr_assert_str_eq(arg(ev[0], "cause"), "killed by SIGKILL");
	cr_assert_eq(find(&tr, a2->pid, "i", "restarted", ev, 8), 1);
	cr_assert_str_eq(arg(ev[0], "cause"), "killed by SIGKILL");
	/* Jittered in [75, 150]; told as what was left of it then. */
	cr_assert(backoff >= 70 && backoff <= 150, "backoff %ld", backoff);
	cr_assert_geq(a2->start, a1->end + backoff * 1000,
		      "attempt 2 at %lld, attempt 1 died at %lld, backoff %ldms",
		      (long long)a2->start, (long long)a1->end, backoff);
	unload(&tr);
	expect_tmp_empty();
	tu_result_free(&r);
}

/* A stalled provider: the kill on its track, with the stall as cause. */
Test(trace, a_stall_is_killed_on_its_own_track)
{
	struct tu_result r;
	struct trace tr;
	struct track *a1, *a2;
	json_t *ev[8];

	TU_REQUIRE_HOOKS(teardown);
	csv("a.csv", 1, 3000, 0);
	conf("stall_timeout = 1s\n",
	     "[provider a]\ntype = file\npath = in/a.csv\n");
	run(&r, "a:1:after_records:3:hang", "--trace", "t.json", NULL);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	load(&tr, "t.json");
	a1 = named(&tr, "provider a attempt 1");
	a2 = named(&tr, "provider a attempt 2");
	cr_assert(a1 && a2);
	cr_assert_eq(find(&tr, a1->pid, "i", "killed", ev, 8), 1);
	cr_assert_str_eq(arg(ev[0], "cause"), "stalled: no progress for 1s");
	cr_assert_str_eq(a1->killed, "stalled: no progress for 1s");
	cr_assert_eq(find(&tr, a2->pid, "i", "restarted", ev, 8), 1);
	cr_assert_str_eq(arg(ev[0], "cause"), "stalled: no progress for 1s");
	cr_assert_eq(find(&tr, a2->pid, "i", "killed", ev, 8), 0);
	unload(&tr);
	tu_result_free(&r);
}

/*
 * A run that fails (the provider killed past its restarts) still writes
 * its trace, saying so; the failure is on the supervisor's track.
 */
Test(trace, a_failed_run_still_writes_its_trace)
{
	struct tu_result r;
	struct trace tr;
	json_t *ev[8];

	TU_REQUIRE_HOOKS(teardown);
	csv("a.csv", 1, 3000, 0);
	conf("restart = 0\n", "[provider a]\ntype = file\npath = in/a.csv\n");
	tu_put(dir, "out.csv", "previous\n");
	run(&r, "a:1:record:100:segv", "--trace", "t.json", NULL);
	cr_assert_eq(r.status, 1, "exit %d\n%s", r.status, r.err);
	load(&tr, "t.json");
	cr_assert_eq(json_integer_value(json_object_get(tr.other,
							"exit_status")), 1);
	cr_assert_str_eq(named(&tr, "provider a attempt 1")->end_how,
			 "killed by SIGSEGV");
	cr_assert_eq(find(&tr, named(&tr, "supervisor")->pid, "i", "failed",
			  ev, 8), 1);
	cr_assert_str_eq(arg(ev[0], "cause"), "killed by SIGSEGV");
	unload(&tr);
	expect_tmp_empty();
	tu_result_free(&r);
}

/* SIGTERM to the supervisor: exit 143, the signal on its track. */
Test(trace, a_stopped_run_writes_the_signal)
{
	const char *args[] = { "-c", "p.conf", "--trace", "t.json", NULL };
	struct proc p;
	struct trace tr;
	json_t *ev[8];

	TU_REQUIRE_HOOKS(teardown);
	csv("a.csv", 1, 3000, 0);
	conf("", "[provider a]\ntype = file\npath = in/a.csv\n");
	proc_spawn(&p, dir, args, (const char *const[]){
		   "AGG_FAULT=a:1:after_checkpoint:1:hang", tmpenv, NULL },
		   NULL, NULL);
	proc_wait_text(&p, "fault injected", 1);
	cr_assert_eq(kill(p.pid, SIGTERM), 0);
	cr_assert_eq(proc_finish(&p), 143, "%s", p.err);
	load(&tr, "t.json");
	cr_assert_eq(find(&tr, named(&tr, "supervisor")->pid, "i", "signal",
			  ev, 8), 1);
	cr_assert_str_eq(arg(ev[0], "signal"), "SIGTERM");
	cr_assert_eq(json_integer_value(json_object_get(tr.other,
							"exit_status")), 143);
	cr_assert_str_eq(named(&tr, "provider a attempt 1")->end_how,
			 "killed by SIGTERM");
	unload(&tr);
	expect_tmp_empty();
	free(p.err);
}

/* No word of a conninfo's password or of a URL's token or user. */
Test(trace, secrets_never_reach_the_file)
{
	const char *skip = getenv("AGG_PG_SKIP");
	struct tu_result r;
	struct trace tr;
	char *sec, *text;
	PGconn *db;
	json_t *ev[8];

	if (skip)
		cr_assert_fail("no PostgreSQL server: %s", skip);
	db = pgt_connect();
	pgt_sql(db, "DROP TABLE IF EXISTS trace_t; CREATE TABLE trace_t (id int "
		"PRIMARY KEY, name text, amount float8); INSERT INTO trace_t "
		"SELECT g, 'r' || g, g FROM generate_series(1, 500) g");
	PQfinish(db);
	cr_assert_eq(hf_start(&srv), 0);
	cr_assert(asprintf(&sec,
		"[provider pg]\ntype = postgres\nconninfo = password=PgTrace-5ec2e7\n"
		"query = SELECT id, name, amount FROM trace_t ORDER BY id\n"
		"key = id\n"
		"[provider gone]\ntype = postgres\nconninfo = host=/no-such-dir "
		"user=someone password=PgTrace-9f0d11\n"
		"query = SELECT 1 AS id, 'x' AS name, 1.0 AS amount\n"
		"restart = 0\n"
		"[provider api]\ntype = http\n"
		"url = http://tok:HttpPw-77c1@127.0.0.1:%d/items?page={page}"
		"&per_page=25&total=100&access_token=HttpTok-3a9b\n"
		"pagination = page\nrecords = /items\nmap = amount=/price\n",
		srv.port) > 0);
	conf("on_error = partial\n", sec);
	run(&r, NULL, "--trace", "t.json", NULL);
	cr_assert_eq(r.status, 2, "exit %d\n%s", r.status, r.err);
	text = tu_get(dir, "t.json");
	cr_assert_not_null(text);
	cr_assert_null(strstr(text, "PgTrace-"), "%s", text);
	cr_assert_null(strstr(text, "HttpPw-"), "%s", text);
	cr_assert_null(strstr(text, "HttpTok-"), "%s", text);
	load(&tr, "t.json");
	/* The requests are there, each with its page and status. */
	cr_assert_geq(find(&tr, named(&tr, "provider api attempt 1")->pid, "b",
			   "request", ev, 8), 4);
	cr_assert_eq(json_integer_value(json_object_get(
		json_object_get(ev[0], "args"), "status")), 200);
	cr_assert(strstr(arg(ev[0], "url"), "/items"));
	cr_assert_eq(find(&tr, named(&tr, "provider pg attempt 1")->pid, "B",
			  "connect", ev, 8), 1);
	cr_assert_eq(find(&tr, named(&tr, "provider pg attempt 1")->pid, "B",
			  "COPY", ev, 8), 1);
	unload(&tr);
	free(text);
	free(sec);
	tu_result_free(&r);
}

/*
 * A provider past its events' cap (a checkpoint per record: a batch span
 * and a rate each) records that it stopped, and the file says it is capped.
 */
Test(trace, a_capped_trace_says_so)
{
	struct tu_result r;
	struct trace tr;
	json_t *ev[8];
	struct track *a;

	make_sqlite(30000);
	conf("", "[provider a]\ntype = sqlite\npath = lite.db\nquery = SELECT "
	     "id, name, amount FROM t ORDER BY id\nkey = id\nbatch = 1\n");
	run(&r, NULL, "--trace", "t.json", NULL);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	load(&tr, "t.json");
	a = named(&tr, "provider a attempt 1");
	cr_assert_eq(find(&tr, a->pid, "i", "trace capped", ev, 8), 1);
	cr_assert(json_is_true(json_object_get(tr.other, "capped")));
	cr_assert_eq(json_integer_value(json_object_get(tr.other,
							"capped_processes")), 1);
	/* A batch and a rate per record: it stopped half way. */
	cr_assert_leq(find(&tr, a->pid, "b", "batch", ev, 8), 50000 / 2);
	unload(&tr);
	tu_result_free(&r);
}

/*
 * Past the file's cap (lowered by the test build's AGG_TRACE_MAX_EVENTS):
 * the earliest events are kept with every lifetime and name, the spans
 * still closed, and the file says how many went.
 */
Test(trace, a_file_past_its_cap_says_so)
{
	const char *args[] = { "-c", "p.conf", "--trace", "t.json", NULL };
	struct tu_result r;
	struct trace tr;
	json_t *ev[8];

	TU_REQUIRE_HOOKS(teardown);
	make_sqlite(3000);
	conf("", "[provider a]\ntype = sqlite\npath = lite.db\nquery = SELECT "
	     "id, name, amount FROM t ORDER BY id\nkey = id\nbatch = 10\n"
	     "[provider b]\ntype = sqlite\npath = lite.db\nquery = SELECT "
	     "id, name, amount FROM t ORDER BY id\nkey = id\nbatch = 10\n");
	tu_run(&r, dir, args, (const char *const[]){ "AGG_TRACE_MAX_EVENTS=300",
						     tmpenv, NULL });
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	load(&tr, "t.json");
	cr_assert(json_is_true(json_object_get(tr.other, "capped")));
	cr_assert_gt(json_integer_value(json_object_get(tr.other,
							"dropped_events")), 0);
	cr_assert_eq(find(&tr, named(&tr, "supervisor")->pid, "i",
			  "trace capped", ev, 8), 1);
	/* Each name and each lifetime is still there. */
	cr_assert_eq(tr.n, 4, "%d tracks", tr.n);
	cr_assert_neq(named(&tr, "provider a attempt 1")->start, -1);
	cr_assert_neq(named(&tr, "provider b attempt 1")->start, -1);
	cr_assert_neq(named(&tr, "aggregator")->start, -1);
	cr_assert_leq(json_array_size(tr.ev), 300 + 10);
	unload(&tr);
	expect_tmp_empty();
	tu_result_free(&r);
}

/* Without --trace: no file, no folder. */
Test(trace, off_writes_nothing)
{
	struct tu_result r;
	DIR *d;
	struct dirent *e;

	csv("a.csv", 1, 100, 0);
	conf("", "[provider a]\ntype = file\npath = in/a.csv\n");
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	expect_tmp_empty();
	d = opendir(dir);
	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL)
		cr_assert(strstr(e->d_name, ".json") == NULL ||
			  strcmp(e->d_name, "rej.jsonl") == 0,
			  "written: %s", e->d_name);
	closedir(d);
	tu_result_free(&r);
}

/* trace_file in [aggregate]; --trace wins over it. */
Test(trace, trace_file_key_and_the_command_line_wins)
{
	struct tu_result r;
	struct trace tr;
	char *f;

	csv("a.csv", 1, 100, 0);
	conf("trace_file = from-conf.json\n",
	     "[provider a]\ntype = file\npath = in/a.csv\n");
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	load(&tr, "from-conf.json");
	unload(&tr);
	tu_result_free(&r);
	f = tu_path(dir, "from-conf.json");
	cr_assert_eq(unlink(f), 0);
	run(&r, NULL, "--trace", "from-cli.json", NULL);
	cr_assert_eq(r.status, 0, "exit %d\n%s", r.status, r.err);
	load(&tr, "from-cli.json");
	unload(&tr);
	cr_assert_neq(access(f, F_OK), 0, "the config's file was written");
	free(f);
	tu_result_free(&r);
}

/* --check names a trace file whose folder is missing. */
Test(trace, check_tells_a_missing_folder)
{
	struct tu_result r;

	csv("a.csv", 1, 10, 0);
	conf("", "[provider a]\ntype = file\npath = in/a.csv\n");
	run(&r, NULL, "--check", "--trace", "no/such/t.json", NULL);
	cr_assert_eq(r.status, 1, "exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert(strstr(r.out, "trace_file") && strstr(r.out, "no/such"),
		  "%s", r.out);
	tu_result_free(&r);
}
