/*
 * test_postgres.c - the postgres provider (providers/postgres.c) against a
 * real PostgreSQL server.
 *
 * The server is the one PGHOST/PGPORT/PGUSER point at (scripts/run-tests.sh
 * starts one with scripts/pg-test.sh around the whole suite); when PGHOST
 * is unset this program starts its own throwaway cluster before the first
 * test and stops it after the last.  Each test works in tables of its own
 * (t_PID_name), so tests run in parallel.
 *
 * Covered: the COPY path and every type conversion, NULLs and escapes;
 * rejects; resuming by key and by skipping after a crash; the snapshot
 * that every attempt shares (rows inserted between attempts are not seen;
 * without snapshot they are), its holder's end, and a lost snapshot; the
 * error classes (authentication, syntax, missing table or database, data
 * errors permanent; refused and dropped connections retryable) and that a
 * password never shows in a message; the --check probe.  Binary COPY: for
 * edge values of every column type it reads, records, rejects and tokens
 * byte-identical to the text path's; which path each kind of query takes;
 * resuming by keys of every kind it rebuilds, across both paths.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "../common/convert.h"
#include "../common/log.h"
#include "../providers/postgres.h"
#include "helpers/provtest.h"
#include "helpers/pgtest.h"
#include "helpers/testutil.h"

/* --- the server ------------------------------------------------------ */

PGT_START_BEFORE_ALL()
PGT_STOP_AFTER_ALL()

static PGconn *db;
static int table_seq;

static void setup(void)
{
	const char *skip = getenv("AGG_PG_SKIP");

	tu_watchdog(120);
	if (skip)
		cr_assert_fail("no PostgreSQL server: %s", skip);
	db = PQconnectdb("");
	if (PQstatus(db) != CONNECTION_OK)
		cr_assert_fail("cannot connect to PostgreSQL: %s",
			     PQerrorMessage(db));
}

static void teardown(void)
{
	PQfinish(db);
	db = NULL;
}

TestSuite(postgres, .init = setup, .fini = teardown);

static void sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run SQL on the test's own connection; any failure fails the test. */
static void sql(const char *fmt, ...)
{
	va_list ap;
	char *text;
	PGresult *res;

	va_start(ap, fmt);
	cr_assert(vasprintf(&text, fmt, ap) > 0);
	va_end(ap);
	res = PQexec(db, text);
	cr_assert(PQresultStatus(res) == PGRES_COMMAND_OK ||
		  PQresultStatus(res) == PGRES_TUPLES_OK,
		  "%s: %s", text, PQerrorMessage(db));
	PQclear(res);
	free(text);
}

/* A table name of this test's own: t_PID_N. */
static char *table(void)
{
	char *t;

	cr_assert(asprintf(&t, "t_%ld_%d", (long)getpid(), ++table_seq) > 0);
	return t;
}

/* The fixture tests/data/sql/orders.sql, its table renamed to name. */
static void load_fixture(const char *name)
{
	char *fx = tu_path(tu_srcdir(), "tests/data/sql/orders.sql");
	char *text = tu_read(fx, NULL), *out, *p, *hit;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	cr_assert_not_null(text, "cannot read %s", fx);
	for (p = text; (hit = strstr(p, "orders")) != NULL; p = hit + 6) {
		fwrite(p, 1, (size_t)(hit - p), f);
		fputs(name, f);
	}
	fputs(p, f);
	fclose(f);
	sql("%s", out);
	free(out);
	free(text);
	free(fx);
}

/* A config with one postgres provider "wh"; extra lines go into it. */
static void load(struct cfg *cfg, const char *fields, const char *query,
		 const char *extra)
{
	char *text;

	cr_assert(asprintf(&text,
			   "[aggregate]\n"
			   "output = out.csv\n"
			   "fields = %s\n"
			   "\n"
			   "[provider wh]\n"
			   "type = postgres\n"
			   "query = %s\n"
			   "%s\n",
			   fields, query, extra ? extra : "") > 0);
	cr_assert_eq(pt_config(text, cfg), 0, "config:\n%s", text);
	free(text);
}

/* The holder pid a token names (0: none). */
static pid_t token_holder(const struct pt_checkpoint *cp)
{
	char tok[PROV_TOKEN_MAX + 1];
	const char *h;

	memcpy(tok, cp->token, cp->token_len);
	tok[cp->token_len] = '\0';
	h = strstr(tok, "holder=");
	return h ? (pid_t)strtol(h + 7, NULL, 10) : 0;
}

/* Wait until the snapshot holder (our child, by CLONE_PARENT) has gone. */
static void expect_holder_gone(pid_t holder)
{
	int status;

	cr_assert_gt(holder, 0);
	cr_assert_eq(waitpid(holder, &status, 0), holder, "waitpid: %s",
		     strerror(errno));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "holder status %d", status);
}

static void expect_rows(const struct pt_result *r, size_t from,
			const char *const *want, size_t n)
{
	cr_assert_eq(r->nrows, n, "got %zu rows, want %zu (error: %s)",
		     r->nrows, n, r->error);
	for (size_t k = 0; k < n; k++)
		cr_assert_str_eq(r->rows[k], want[from + k], "row %zu", k);
}

#define ORDER_FIELDS "id:int, region:text, amount:float, qty:int, paid:bool, day:timestamp"

static const char *const order_rows[] = {
	"1|north|12.5|3|true|2026-11-22T03:00:01Z",
	"2|south|0.1|7|false|2026-11-22T04:30:00.25Z",
	"3|NULL|NULL|NULL|NULL|NULL",
	"5|tab\tand\nnewline \\ back|1e+300|42|false|2026-12-01T12:00:00Z",
	"6|ünïcödé|7.25|8|true|2027-01-01T00:00:00Z",
};

/* --- the COPY path and types ----------------------------------------- */

Test(postgres, copy_types_nulls_escapes_and_a_reject)
{
	struct cfg cfg;
	struct pt_result r;
	char *t = table(), *q;

	load_fixture(t);
	cr_assert(asprintf(&q, "SELECT id, region, amount, qty, paid, day "
			   "FROM %s ORDER BY id", t) > 0);
	load(&cfg, ORDER_FIELDS, q, "key = id\nmax_rejects = 5\nsnapshot = false");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r), PROV_DONE,
		     "status %d: %s", r.status, r.error);
	cr_assert(r.done);
	expect_rows(&r, 0, order_rows, 5);
	cr_assert_eq(r.nrejects, 1);
	cr_assert_str_eq(r.rejects[0].position, "row key=4");
	cr_assert(strstr(r.rejects[0].reason, "qty"), "%s", r.rejects[0].reason);
	cr_assert_str_eq(r.rejects[0].raw, "abc");
	cr_assert_eq(pt_last_checkpoint(&r)->records, 5);
	pt_result_free(&r);
	cfg_free(&cfg);
	free(q);
	free(t);
}

Test(postgres, server_types_convert_exactly)
{
	struct cfg cfg;
	struct pt_result r;

	load(&cfg, "big:int, tz:timestamp, num:float, b:bool, d:timestamp, "
		   "f:float, n:int, bs:text, big_text:text",
	     "SELECT 9007199254740993::bigint AS big, "
	     "'2026-01-01 10:00:00.5+02'::timestamptz AS tz, "
	     "12.50::numeric AS num, true AS b, '2026-02-28'::date AS d, "
	     "(0.1::float8 + 0.2::float8) AS f, NULL::int AS n, "
	     "E'back\\\\slash \\\\N \\x01' AS bs, 9007199254740993::bigint AS big_text",
	     "snapshot = false");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r), PROV_DONE,
		     "%s", r.error);
	cr_assert_eq(r.nrows, 1);
	cr_assert_str_eq(r.rows[0], "9007199254740993|2026-01-01T08:00:00.5Z|12.5|"
				    "true|2026-02-28T00:00:00Z|0.30000000000000004|"
				    "NULL|back\\slash \\N \x01|9007199254740993");
	pt_result_free(&r);
	cfg_free(&cfg);
}

Test(postgres, the_session_datestyle_does_not_matter)
{
	const char *const env[] = { "PGOPTIONS=-c DateStyle=SQL,DMY -c TimeZone=Asia/Tokyo",
				    NULL };
	struct cfg cfg;
	struct pt_result r;

	load(&cfg, "tz:timestamp, ts:timestamp",
	     "SELECT '2026-03-04 05:06:07+00'::timestamptz AS tz, "
	     "'2026-03-04 05:06:07'::timestamp AS ts", "snapshot = false");
	cr_assert_eq(pt_run(&cfg, 0, 1, NULL, 0, 0, 0, env, &r), PROV_DONE,
		     "%s", r.error);
	cr_assert_eq(r.nrows, 1);
	cr_assert_str_eq(r.rows[0], "2026-03-04T05:06:07Z|2026-03-04T05:06:07Z");
	pt_result_free(&r);
	cfg_free(&cfg);
}

Test(postgres, many_rows_many_checkpoints)
{
	struct cfg cfg;
	struct pt_result r;
	const char *scale = getenv("AGG_TEST_SCALE");
	long n = scale && strcmp(scale, "asan") == 0 ? 5000 : 50000;
	char *q;
	long sum = 0;

	cr_assert(asprintf(&q, "SELECT g AS id, 'r' || (g %% 7) AS region, "
			   "g * 0.5 AS amount FROM generate_series(1, %ld) g "
			   "ORDER BY g", n) > 0);
	load(&cfg, "id:int, region:text, amount:float", q,
	     "key = id\nbatch = 1000\nsnapshot = false");
	cr_assert_eq(pt_run(&cfg, 0, 1, NULL, 0, 0, 0, NULL, &r), PROV_DONE,
		     "%s", r.error);
	cr_assert_eq(r.nrows, (size_t)n);
	for (size_t k = 0; k < r.nrows; k++)
		sum += strtol(r.rows[k], NULL, 10);
	cr_assert_eq(sum, n * (n + 1) / 2);
	cr_assert_geq(r.ncps, (size_t)(n / 1000));
	cr_assert_str_eq(r.rows[6], "7|r0|3.5");
	pt_result_free(&r);
	cfg_free(&cfg);
	free(q);
}

/* --- resume ---------------------------------------------------------- */

/*
 * Attempt 1 dies right after its third checkpoint; attempt 2 resumes from
 * it and must send exactly the rest.  Returns the holder pid of the token
 * (0 without snapshot).
 */
static void crash_and_resume(const char *extra, bool snapshot)
{
	const char *const fault[] = { "AGG_FAULT=wh:1:after_checkpoint:3", NULL };
	struct cfg cfg;
	struct pt_result a, b;
	const struct pt_checkpoint *cp;
	char *t = table(), *q, *opts, *all;
	size_t covered;

	sql("CREATE TABLE %s AS SELECT g AS id, 'v' || g AS v "
	    "FROM generate_series(1, 40) g", t);
	cr_assert(asprintf(&q, "SELECT id, v FROM %s ORDER BY id", t) > 0);
	cr_assert(asprintf(&opts, "%s\nbatch = 6\nsnapshot = %s", extra,
			   snapshot ? "true" : "false") > 0);
	load(&cfg, "id:int, v:text", q, opts);
	cr_assert_eq(pt_run(&cfg, 0, 1, NULL, 0, 0, 0, fault, &a), 128 + SIGKILL,
		     "status %d: %s", a.status, a.error);
	cp = pt_last_checkpoint(&a);
	cr_assert_not_null(cp);
	/* With a snapshot, the first checkpoint only hands it over. */
	covered = snapshot ? 12 : 18;
	cr_assert_eq(cp->rows, covered, "covered %zu", cp->rows);
	cr_assert_eq(cp->records, covered);

	cr_assert_eq(pt_run(&cfg, 0, 2, cp->token, cp->token_len, cp->records,
			    cp->rejects, NULL, &b), PROV_DONE, "%s", b.error);
	cr_assert(b.done);
	cr_assert_eq(b.nrows, 40 - covered);
	all = pt_rows_text(&b, 0, b.nrows);
	for (size_t k = 0; k < b.nrows; k++) {
		char want[32];

		snprintf(want, sizeof want, "%zu|v%zu", covered + k + 1,
			 covered + k + 1);
		cr_assert_str_eq(b.rows[k], want, "rows:\n%s", all);
	}
	cr_assert_eq(pt_last_checkpoint(&b)->records, 40);
	if (snapshot)
		expect_holder_gone(token_holder(cp));
	else
		cr_assert_eq(token_holder(cp), 0);
	free(all);
	pt_result_free(&a);
	pt_result_free(&b);
	cfg_free(&cfg);
	free(opts);
	free(q);
	free(t);
}

Test(postgres, resume_by_key_with_snapshot)
{
	crash_and_resume("key = id", true);
}

Test(postgres, resume_by_key_without_snapshot)
{
	crash_and_resume("key = id", false);
}

Test(postgres, resume_without_key_skips_the_rows_counted)
{
	crash_and_resume("", true);
}

Test(postgres, resume_by_text_key)
{
	const char *const fault[] = { "AGG_FAULT=wh:1:after_checkpoint:1", NULL };
	struct cfg cfg;
	struct pt_result a, b;
	const struct pt_checkpoint *cp;
	char *t = table(), *q;

	/* Quotes and backslashes in the key survive the token and the literal:
	 * in "C" order the third row, a'\b, is where attempt 1 stops. */
	sql("CREATE TABLE %s (k text COLLATE \"C\", v int)", t);
	sql("INSERT INTO %s VALUES ('a', 1), (E'a''\\\\b', 2), ('a\"c', 3), "
	    "('b', 4), ('c', 5)", t);
	cr_assert(asprintf(&q, "SELECT k, v FROM %s ORDER BY k", t) > 0);
	load(&cfg, "k:text, v:int", q, "key = k\nbatch = 3\nsnapshot = false");
	pt_run(&cfg, 0, 1, NULL, 0, 0, 0, fault, &a);
	cp = pt_last_checkpoint(&a);
	cr_assert_not_null(cp);
	cr_assert_eq(cp->rows, 3);
	cr_assert_str_eq(a.rows[2], "a'\\b|2");
	cr_assert_eq(pt_run_inline(&cfg, 0, 2, cp->token, cp->token_len,
				   cp->records, cp->rejects, &b), PROV_DONE,
		     "%s", b.error);
	cr_assert_eq(b.nrows, 2);
	cr_assert_str_eq(b.rows[0], "b|4");
	cr_assert_str_eq(b.rows[1], "c|5");
	pt_result_free(&a);
	pt_result_free(&b);
	cfg_free(&cfg);
	free(q);
	free(t);
}

Test(postgres, key_that_does_not_increase_is_permanent)
{
	struct cfg cfg;
	struct pt_result r;

	load(&cfg, "id:int", "SELECT g AS id FROM generate_series(3, 1, -1) g",
	     "key = id\nsnapshot = false");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r),
		     PROV_FAIL_PERMANENT);
	cr_assert(strstr(r.error, "2 after 3"), "%s", r.error);
	pt_result_free(&r);
	cfg_free(&cfg);
}

Test(postgres, key_that_is_not_a_result_column_is_permanent)
{
	struct cfg cfg;
	struct pt_result r;

	load(&cfg, "v:int", "SELECT 1 AS v", "key = id\nsnapshot = false");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r),
		     PROV_FAIL_PERMANENT);
	cr_assert(strstr(r.error, "key \"id\" is not a column"), "%s", r.error);
	pt_result_free(&r);
	cfg_free(&cfg);
}

/* --- the snapshot ---------------------------------------------------- */

/*
 * Attempt 1 reads part of a table and dies; rows are then inserted (before
 * and after the resume point) and one is deleted; attempt 2 must read the
 * table as attempt 1 saw it when snapshot = true, and as it is now when
 * snapshot = false.
 */
static void snapshot_case(bool snapshot)
{
	/* Die after 6 rows (with a snapshot, checkpoint 1 hands it over). */
	const char *const fault[] = { snapshot ? "AGG_FAULT=wh:1:after_checkpoint:3"
					       : "AGG_FAULT=wh:1:after_checkpoint:2",
				      NULL };
	struct cfg cfg;
	struct pt_result a, b;
	const struct pt_checkpoint *cp;
	char *t = table(), *q;

	sql("CREATE TABLE %s AS SELECT g * 10 AS id FROM generate_series(1, 8) g", t);
	cr_assert(asprintf(&q, "SELECT id FROM %s ORDER BY id", t) > 0);
	load(&cfg, "id:int", q, snapshot ? "key = id\nbatch = 3"
					 : "key = id\nbatch = 3\nsnapshot = false");
	pt_run(&cfg, 0, 1, NULL, 0, 0, 0, fault, &a);
	cp = pt_last_checkpoint(&a);
	cr_assert_not_null(cp);

	/* The other connection commits these before attempt 2 starts. */
	sql("INSERT INTO %s VALUES (65), (75), (1000)", t);
	sql("DELETE FROM %s WHERE id = 80", t);

	cr_assert_eq(pt_run(&cfg, 0, 2, cp->token, cp->token_len, cp->records,
			    cp->rejects, NULL, &b), PROV_DONE, "%s", b.error);
	if (snapshot) {
		static const char *const want[] = { "70", "80" };

		cr_assert_eq(cp->rows, 6);
		expect_rows(&b, 0, want, 2);
		expect_holder_gone(token_holder(cp));
	} else {
		static const char *const want[] = { "65", "70", "75", "1000" };

		cr_assert_eq(cp->rows, 6);
		expect_rows(&b, 0, want, 4);
	}
	pt_result_free(&a);
	pt_result_free(&b);
	cfg_free(&cfg);
	free(q);
	free(t);
}

Test(postgres, snapshot_hides_changes_from_later_attempts)
{
	snapshot_case(true);
}

Test(postgres, without_snapshot_later_attempts_see_changes)
{
	snapshot_case(false);
}

Test(postgres, lost_snapshot_after_counting_is_permanent)
{
	struct cfg cfg;
	struct pt_result r;
	/* A snapshot nobody holds, with rows already counted. */
	static const char tok[] = "pg=1\nrows=3\ndone=0\nsnap=00000009-000000FF-1\n"
				  "holder=999999\nkey:1=3\n";

	load(&cfg, "id:int", "SELECT g AS id FROM generate_series(1, 5) g",
	     "key = id");
	cr_assert_eq(pt_run(&cfg, 0, 2, tok, sizeof tok - 1, 3, 0, NULL, &r),
		     PROV_FAIL_PERMANENT, "status %d: %s", r.status, r.error);
	cr_assert(strstr(r.error, "snapshot"), "%s", r.error);
	cr_assert(strstr(r.error, "gone"), "%s", r.error);
	cr_assert_eq(r.nrows, 0);
	pt_result_free(&r);
	cfg_free(&cfg);
}

Test(postgres, lost_snapshot_before_counting_takes_a_new_one)
{
	struct cfg cfg;
	struct pt_result r;
	static const char tok[] = "pg=1\nrows=0\ndone=0\nsnap=00000009-000000FF-1\n"
				  "holder=999999\n";

	load(&cfg, "id:int", "SELECT g AS id FROM generate_series(1, 3) g",
	     "key = id");
	cr_assert_eq(pt_run(&cfg, 0, 2, tok, sizeof tok - 1, 0, 0, NULL, &r),
		     PROV_DONE, "%s", r.error);
	cr_assert_eq(r.nrows, 3);
	cr_assert_geq(r.ncps, 2);
	/* The first checkpoint hands the new snapshot over, before any row. */
	cr_assert_eq(r.cps[0].rows, 0);
	cr_assert_neq(token_holder(&r.cps[0]), 999999);
	expect_holder_gone(token_holder(&r.cps[0]));
	pt_result_free(&r);
	cfg_free(&cfg);
}

Test(postgres, finished_token_stops_a_holder_left_behind)
{
	const char *const fault[] = { "AGG_FAULT=wh:1:before_records:1:exit0", NULL };
	struct cfg cfg;
	struct pt_result a, b;
	unsigned char tok[PROV_TOKEN_MAX];
	size_t len;
	pid_t holder;
	char *done;

	/* Attempt 1 takes a snapshot and dies; its token, marked done, must
	 * stop the holder and send nothing. */
	load(&cfg, "id:int", "SELECT 1 AS id", "key = id");
	pt_run(&cfg, 0, 1, NULL, 0, 0, 0, fault, &a);
	cr_assert_eq(a.ncps, 1);
	holder = token_holder(&a.cps[0]);
	len = a.cps[0].token_len;
	memcpy(tok, a.cps[0].token, len);
	done = memmem(tok, len, "done=0", 6);
	cr_assert_not_null(done);
	done[5] = '1';
	cr_assert_eq(pt_run(&cfg, 0, 2, tok, len, 0, 0, NULL, &b), PROV_DONE,
		     "%s", b.error);
	cr_assert_eq(b.nrows, 0);
	expect_holder_gone(holder);
	pt_result_free(&a);
	pt_result_free(&b);
	cfg_free(&cfg);
}

/* --- errors ---------------------------------------------------------- */

/* Run provider "wh" once; expect status and a message holding want. */
static void expect_failure(const char *conninfo, const char *query,
			   const char *const *env, int status, const char *want)
{
	struct cfg cfg;
	struct pt_result r;
	char *extra = NULL;

	if (conninfo)
		cr_assert(asprintf(&extra, "conninfo = %s\nsnapshot = false",
				   conninfo) > 0);
	load(&cfg, "id:int", query, extra ? extra : "snapshot = false");
	cr_assert_eq(pt_run(&cfg, 0, 1, NULL, 0, 0, 0, env, &r), status,
		     "status %d: %s", r.status, r.error);
	cr_assert_not(r.done);
	cr_assert(strstr(r.error, want), "error \"%s\" lacks \"%s\"", r.error,
		  want);
	pt_result_free(&r);
	cfg_free(&cfg);
	free(extra);
}

Test(postgres, wrong_password_is_permanent_and_never_shown)
{
	const char *role = getenv("AGG_PG_PASSROLE");
	char *ci;
	const char *const env[] = { "PGPASSWORD=env-Secret-Pw", NULL };

	if (role == NULL)
		cr_assert_fail("the server has no password role (AGG_PG_PASSROLE)");
	cr_assert(asprintf(&ci, "user=%s password=conninfo-Secret-Pw", role) > 0);
	expect_failure(ci, "SELECT 1 AS id", NULL, PROV_FAIL_PERMANENT,
		       "password authentication failed");
	free(ci);
	cr_assert(asprintf(&ci, "user=%s", role) > 0);
	expect_failure(ci, "SELECT 1 AS id", env, PROV_FAIL_PERMANENT,
		       "password authentication failed");
	free(ci);
}

Test(postgres, password_never_in_any_message)
{
	const char *role = getenv("AGG_PG_PASSROLE");
	struct cfg cfg;
	struct pt_result r;
	char *extra;

	if (role == NULL)
		cr_assert_fail("the server has no password role (AGG_PG_PASSROLE)");
	cr_assert(asprintf(&extra, "conninfo = user=%s password=Hush-Hush-123\n"
			   "snapshot = false", role) > 0);
	load(&cfg, "id:int", "SELECT 1 AS id", extra);
	pt_run(&cfg, 0, 1, NULL, 0, 0, 0, NULL, &r);
	cr_assert_eq(r.status, PROV_FAIL_PERMANENT, "%s", r.error);
	cr_assert_null(strstr(r.error, "Hush-Hush-123"), "%s", r.error);
	pt_result_free(&r);
	cfg_free(&cfg);
	free(extra);
}

Test(postgres, right_password_connects)
{
	const char *role = getenv("AGG_PG_PASSROLE");
	const char *pw = getenv("AGG_PG_PASSWORD");
	struct cfg cfg;
	struct pt_result r;
	char *extra;

	if (role == NULL || pw == NULL)
		cr_assert_fail("the server has no password role (AGG_PG_PASSROLE)");
	cr_assert(asprintf(&extra, "conninfo = user=%s password=%s\n", role,
			   pw) > 0);
	load(&cfg, "id:int", "SELECT 7 AS id", extra);
	cr_assert_eq(pt_run(&cfg, 0, 1, NULL, 0, 0, 0, NULL, &r), PROV_DONE,
		     "%s", r.error);
	cr_assert_eq(r.nrows, 1);
	expect_holder_gone(token_holder(&r.cps[0]));
	pt_result_free(&r);
	cfg_free(&cfg);
	free(extra);
}

/* A file in dir with the given text and mode 0600 (libpq insists). */
static char *private_file(const char *dir, const char *name, const char *text)
{
	char *path = tu_path(dir, name);

	tu_write(path, text);
	cr_assert_eq(chmod(path, 0600), 0);
	return path;
}

/* As psql: the password comes from the password file when not given. */
Test(postgres, password_from_pgpass_file)
{
	const char *role = getenv("AGG_PG_PASSROLE");
	const char *pw = getenv("AGG_PG_PASSWORD");
	struct cfg cfg;
	struct pt_result r;
	char *extra, *line, *pass, *env_pass, *dir = tu_tmpdir();

	if (role == NULL || pw == NULL)
		cr_assert_fail("the server has no password role (AGG_PG_PASSROLE)");
	cr_assert(asprintf(&line, "*:*:*:%s:%s\n", role, pw) > 0);
	pass = private_file(dir, "pgpass", line);
	cr_assert(asprintf(&env_pass, "PGPASSFILE=%s", pass) > 0);
	cr_assert(asprintf(&extra, "conninfo = user=%s\n", role) > 0);
	load(&cfg, "id:int", "SELECT 11 AS id", extra);
	cr_assert_eq(pt_run(&cfg, 0, 1, NULL, 0, 0, 0,
			    (const char *const[]){ env_pass, NULL }, &r),
		     PROV_DONE, "%s", r.error);
	cr_assert_eq(r.nrows, 1);
	cr_assert_str_eq(r.rows[0], "11");
	expect_holder_gone(token_holder(&r.cps[0]));
	pt_result_free(&r);

	/* Without the file the same conninfo cannot authenticate. */
	cr_assert_eq(pt_run(&cfg, 0, 1, NULL, 0, 0, 0,
			    (const char *const[]){ "PGPASSFILE=/nonexistent", NULL },
			    &r), PROV_FAIL_PERMANENT, "%s", r.error);
	pt_result_free(&r);
	cfg_free(&cfg);
	free(extra);
	free(env_pass);
	free(line);
	free(pass);
	tu_rmrf(dir);
	free(dir);
}

/* As psql: conninfo "service=NAME" reads the connection service file. */
Test(postgres, connection_service_file)
{
	const char *role = getenv("AGG_PG_PASSROLE");
	const char *pw = getenv("AGG_PG_PASSWORD");
	struct cfg cfg;
	struct pt_result r;
	char *text, *file, *env_file, *dir = tu_tmpdir();

	if (role == NULL || pw == NULL)
		cr_assert_fail("the server has no password role (AGG_PG_PASSROLE)");
	cr_assert(asprintf(&text, "[warehouse]\nuser=%s\npassword=%s\n",
			   role, pw) > 0);
	file = private_file(dir, "pg_service.conf", text);
	cr_assert(asprintf(&env_file, "PGSERVICEFILE=%s", file) > 0);
	load(&cfg, "id:int", "SELECT 12 AS id",
	     "conninfo = service=warehouse\nsnapshot = false");
	cr_assert_eq(pt_run(&cfg, 0, 1, NULL, 0, 0, 0,
			    (const char *const[]){ env_file, NULL }, &r),
		     PROV_DONE, "%s", r.error);
	cr_assert_eq(r.nrows, 1);
	cr_assert_str_eq(r.rows[0], "12");
	pt_result_free(&r);

	/* An unknown service is a permanent error naming it. */
	cfg_free(&cfg);
	load(&cfg, "id:int", "SELECT 12 AS id",
	     "conninfo = service=nosuch\nsnapshot = false");
	cr_assert_eq(pt_run(&cfg, 0, 1, NULL, 0, 0, 0,
			    (const char *const[]){ env_file, NULL }, &r),
		     PROV_FAIL_PERMANENT, "%s", r.error);
	cr_assert(strstr(r.error, "nosuch") != NULL, "%s", r.error);
	cr_assert_null(strstr(r.error, pw), "%s", r.error);
	pt_result_free(&r);
	cfg_free(&cfg);
	free(env_file);
	free(text);
	free(file);
	tu_rmrf(dir);
	free(dir);
}

Test(postgres, syntax_error_is_permanent)
{
	expect_failure(NULL, "SELECT 1 AS id FORM nowhere", NULL,
		       PROV_FAIL_PERMANENT, "syntax error");
}

Test(postgres, missing_table_is_permanent)
{
	expect_failure(NULL, "SELECT id FROM no_such_table_here", NULL,
		       PROV_FAIL_PERMANENT,
		       "relation \"no_such_table_here\" does not exist");
}

Test(postgres, missing_database_is_permanent)
{
	expect_failure("dbname=no_such_db_here", "SELECT 1 AS id", NULL,
		       PROV_FAIL_PERMANENT, "\"no_such_db_here\" does not exist");
}

Test(postgres, data_error_mid_stream_is_permanent)
{
	expect_failure(NULL, "SELECT 10 / (3 - g) AS id FROM generate_series(1, 5) g",
		       NULL, PROV_FAIL_PERMANENT, "division by zero");
}

Test(postgres, refused_connection_is_retryable)
{
	expect_failure("host=127.0.0.1 port=1", "SELECT 1 AS id", NULL,
		       PROV_FAIL_RETRY, "Connection refused");
}

Test(postgres, missing_socket_is_retryable)
{
	expect_failure("port=1", "SELECT 1 AS id", NULL, PROV_FAIL_RETRY,
		       "failed");
}

Test(postgres, dropped_connection_is_retryable)
{
	/* The backend ends itself at row 3, in the middle of the COPY. */
	expect_failure(NULL, "SELECT g AS id, CASE WHEN g = 3 THEN "
			     "pg_terminate_backend(pg_backend_pid()) END AS x "
			     "FROM generate_series(1, 5) g",
		       NULL, PROV_FAIL_RETRY, "terminat");
}

Test(postgres, invalid_conninfo_is_permanent)
{
	struct cfg cfg;
	struct pt_result r;

	/* config.c accepts it (it parses), libpq refuses the option. */
	load(&cfg, "id:int", "SELECT 1 AS id", "snapshot = false\n"
	     "conninfo = sslmode=sometimes");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r),
		     PROV_FAIL_PERMANENT, "status %d: %s", r.status, r.error);
	cr_assert(strstr(r.error, "sslmode"), "%s", r.error);
	pt_result_free(&r);
	cfg_free(&cfg);
}

/* --- --check --------------------------------------------------------- */

Test(postgres, check_prepares_without_running)
{
	struct cfg cfg;
	char msg[512];
	char *t = table(), *q;

	sql("CREATE TABLE %s (id int, v text)", t);
	/* A query that would fail if it ran: check must not run it. */
	cr_assert(asprintf(&q, "SELECT id, v, 1 / 0 AS boom FROM %s", t) > 0);
	load(&cfg, "id:int, v:text", q, "key = id");
	cr_assert_eq(postgres_provider_ops.check(&cfg, &cfg.providers[0], msg,
						 sizeof msg), 0, "%s", msg);
	cr_assert(strstr(msg, "query prepared, 3 columns"), "%s", msg);
	cfg_free(&cfg);

	load(&cfg, "id:int", "SELECT id FROM no_such_table_here", NULL);
	cr_assert_eq(postgres_provider_ops.check(&cfg, &cfg.providers[0], msg,
						 sizeof msg), -1);
	cr_assert(strstr(msg, "does not exist"), "%s", msg);
	cfg_free(&cfg);

	/* a field with no result column: a config error, at check and run */
	load(&cfg, "id:int, vv:text", q, "key = id");
	cr_assert_eq(postgres_provider_ops.check(&cfg, &cfg.providers[0], msg,
						 sizeof msg), PROV_CHECK_CONFIG);
	cr_assert_str_eq(msg, "field vv: the query returns no column \"vv\" "
			 "(name one with map = vv=COLUMN) (columns: id, v, "
			 "boom; did you mean \"v\"?)");
	cfg_free(&cfg);
	free(q);
	cr_assert(asprintf(&q, "SELECT id, v FROM %s", t) > 0);
	load(&cfg, "id:int, vv:text", q, "key = id\nsnapshot = false");
	{
		struct pt_result r;

		cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r),
			     PROV_FAIL_CONFIG);
		cr_assert(strstr(r.error, "the query returns no column \"vv\""),
			  "%s", r.error);
		pt_result_free(&r);
	}
	cfg_free(&cfg);
	free(q);
	free(t);
}

/* --- the server's notices ------------------------------------------- */

/*
 * NOTICE and WARNING raised by the query reach the log in its format (every
 * line JSON with --log-format json), never raw on stderr; -q hides the
 * notice (info level) and keeps the warning.
 */
Test(postgres, notices_go_to_the_log)
{
	char *t = table(), *dir = tu_tmpdir(), *conf, *path;
	const char *json[] = { "-c", "p.conf", "--log-format", "json", NULL };
	const char *quiet[] = { "-c", "p.conf", "-q", NULL };
	struct tu_result r;
	int lines = 0;

	sql("CREATE FUNCTION %s() RETURNS int AS $$ BEGIN "
	    "RAISE NOTICE 'notice from %s'; "
	    "RAISE WARNING 'warning from %s' USING HINT = 'a hint'; "
	    "RETURN 1; END $$ LANGUAGE plpgsql", t, t, t);
	cr_assert(asprintf(&conf, "[aggregate]\noutput = out.csv\n"
			   "fields = id:int\n\n[provider wh]\ntype = postgres\n"
			   "query = SELECT %s() AS id\n", t) > 0);
	path = tu_path(dir, "p.conf");
	tu_write(path, conf);

	tu_run(&r, dir, json, NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	for (char *s = r.err, *nl; *s; s = nl + 1) {
		json_t *v;

		nl = strchr(s, '\n');
		cr_assert_not_null(nl, "unfinished line: %s", s);
		v = json_loadb(s, (size_t)(nl - s), 0, NULL);
		cr_assert_not_null(v, "not JSON: %.*s", (int)(nl - s), s);
		json_decref(v);
		lines++;
	}
	cr_assert_gt(lines, 0);
	cr_assert(strstr(r.err, "\"level\":\"info\",\"provider\":\"wh\","
			 "\"event\":\"server message\",\"severity\":\"NOTICE\","
			 "\"message\":\"notice from ") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "\"level\":\"warn\",\"provider\":\"wh\","
			 "\"event\":\"server message\",\"severity\":\"WARNING\","
			 "\"message\":\"warning from ") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "\"hint\":\"a hint\"") != NULL, "%s", r.err);
	tu_result_free(&r);

	tu_run(&r, dir, quiet, NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "notice from") == NULL, "%s", r.err);
	cr_assert(strstr(r.err, "warn provider=wh server message "
			 "severity=WARNING message=\"warning from ") != NULL,
		  "%s", r.err);
	cr_assert(strstr(r.err, "WARNING:") == NULL, "%s", r.err);
	tu_result_free(&r);

	sql("DROP FUNCTION %s()", t);
	tu_rmrf(dir);
	free(dir);
	free(path);
	free(conf);
	free(t);
}

/* --- binary COPY ----------------------------------------------------- */

/*
 * Run provider "wh" inline with the debug log on and the session in UTC,
 * on the text path when text; *log gets what it logged (free it).
 */
static void run_logged(const struct cfg *cfg, bool text, struct pt_result *r,
		       char **log)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "log");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), saved = dup(2);

	cr_assert(fd >= 0 && saved >= 0);
	if (text)
		setenv("AGG_PG_COPY", "text", 1);
	else
		unsetenv("AGG_PG_COPY");
	if (getenv("PGOPTIONS") == NULL)
		setenv("PGOPTIONS", "-c TimeZone=UTC", 1);
	log_init(1, false);
	cr_assert(dup2(fd, 2) == 2);
	pt_run_inline(cfg, 0, 1, NULL, 0, 0, 0, r);
	dup2(saved, 2);
	close(saved);
	close(fd);
	unsetenv("AGG_PG_COPY");
	*log = tu_read(path, NULL);
	cr_assert_not_null(*log);
	tu_rmrf(dir);
	free(path);
	free(dir);
}

/* Every record, reject, checkpoint and error of a equals b's. */
static void expect_same(const struct pt_result *a, const struct pt_result *b,
			const char *what)
{
	cr_assert_eq(a->status, b->status, "%s: status %d / %d (%s / %s)", what,
		     a->status, b->status, a->error, b->error);
	cr_assert_str_eq(a->error, b->error, "%s", what);
	cr_assert_eq(a->nrows, b->nrows, "%s: %zu / %zu rows", what, a->nrows,
		     b->nrows);
	for (size_t k = 0; k < a->nrows; k++)
		cr_assert_str_eq(a->rows[k], b->rows[k], "%s: row %zu", what, k);
	cr_assert_eq(a->nrejects, b->nrejects, "%s: %zu / %zu rejects", what,
		     a->nrejects, b->nrejects);
	for (size_t k = 0; k < a->nrejects; k++) {
		cr_assert_str_eq(a->rejects[k].position, b->rejects[k].position,
				 "%s", what);
		cr_assert_str_eq(a->rejects[k].reason, b->rejects[k].reason,
				 "%s", what);
		cr_assert_str_eq(a->rejects[k].raw, b->rejects[k].raw, "%s", what);
	}
	cr_assert_eq(a->ncps, b->ncps, "%s", what);
	for (size_t k = 0; k < a->ncps; k++) {
		cr_assert_eq(a->cps[k].records, b->cps[k].records, "%s", what);
		cr_assert_eq(a->cps[k].rejects, b->cps[k].rejects, "%s", what);
		cr_assert_eq(a->cps[k].token_len, b->cps[k].token_len, "%s", what);
		cr_assert(memcmp(a->cps[k].token, b->cps[k].token,
				 a->cps[k].token_len) == 0, "%s: token %zu",
			  what, k);
	}
}

/* Run the query both ways: the same output, on the path each was meant to
 * take.  Returns the binary run's row and reject count. */
static size_t expect_both_paths(const char *fields, const char *query,
				const char *extra, const char *what)
{
	struct cfg cfg;
	struct pt_result bin, text;
	char *blog, *tlog;
	size_t n;

	load(&cfg, fields, query, extra);
	run_logged(&cfg, false, &bin, &blog);
	run_logged(&cfg, true, &text, &tlog);
	cr_assert(strstr(blog, "format=binary"), "%s: %s", what, blog);
	cr_assert(strstr(tlog, "format=text"), "%s: %s", what, tlog);
	expect_same(&bin, &text, what);
	n = bin.nrows + bin.nrejects;
	pt_result_free(&bin);
	pt_result_free(&text);
	free(blog);
	free(tlog);
	cfg_free(&cfg);
	return n;
}

struct edge_column {
	const char *name;
	const char *type;
	const char *const *values;  /* SQL literals, NULL-terminated */
};

static const char *const edge_i2[] = { "NULL", "-32768", "32767", "0", "1",
				       "-1", NULL };
static const char *const edge_i4[] = { "-2147483648", "2147483647", "0", "1",
				       "20260101", NULL };
static const char *const edge_i8[] = { "-9223372036854775808",
				       "9223372036854775807",
				       "9007199254740993", "-9007199254740993",
				       "0", "1", "-1", NULL };
static const char *const edge_f8[] = { "'-0'", "'0'", "'NaN'", "'Infinity'",
				       "'-Infinity'", "'1e308'", "'5e-324'",
				       "'0.1'", "'1.7976931348623157e308'",
				       "'2.2250738585072014e-308'",
				       "'123456789012345678'", "'-1.5'",
				       "'3'", "'1e22'", "'1e23'",
				       "'0.30000000000000004'", NULL };
static const char *const edge_b[] = { "true", "false", NULL };
static const char *const edge_tx[] = { "E'tab\\there'", "E'back\\\\slash'",
				       "E'new\\nline'",
				       "'ünïcödé ✓ 𝄞'", "E'\\\\N'", "''",
				       "E'cr\\r'", "'42'", "' 42 '",
				       "'2026-01-01'", "'true'", "'1e5'",
				       "'NaN'", "E'\\x01'", NULL };
static const char *const edge_vc[] = { "'abc'", "' 7 '", "'x'", "''", NULL };
static const char *const edge_bp[] = { "'ab'", "'1'", "'t'", "'ü'", NULL };
static const char *const edge_nm[] = { "'somename'", "'5'", NULL };
static const char *const edge_d[] = {
	"'2026-02-28'", "'0001-01-01'", "'9999-12-31'", "'10000-01-01'",
	"'0044-03-15 BC'", "'0001-12-31 BC'", "'4714-11-24 BC'",
	"'5874897-12-31'", "'infinity'", "'-infinity'", "'1970-01-01'",
	"'1969-12-31'", "'1999-12-31'", "'2000-01-01'", "'2024-02-29'", NULL
};
static const char *const edge_ts[] = {
	"'2026-01-01 10:00:00.5'", "'2026-01-01 10:00:00.000001'",
	"'0001-01-01 00:00:00'", "'9999-12-31 23:59:59.999999'",
	"'10000-01-01 00:00:00'", "'0044-03-15 12:00:00.25 BC'",
	"'0001-12-31 23:59:59.99 BC'", "'infinity'", "'-infinity'",
	"'1969-12-31 23:59:59.999999'", "'1999-12-31 23:59:59.999999'",
	"'294276-12-31 23:59:59.999999'", "'4714-11-24 00:00:00 BC'",
	"'2000-01-01 00:00:00'", "'2026-06-30 12:34:56.7'",
	"'2026-06-30 12:34:56.123450'", NULL
};
static const char *const edge_n[] = {
	"0", "12.50", "0.0001", "-0.000001234",
	"123456789012345678901234567890.123456789",
	"0.00000000000000000001", "1e100", "'NaN'", "'Infinity'",
	"'-Infinity'", "9223372036854775807", "-9223372036854775808",
	"9223372036854775808", "1.5", "100", "10000", "1", "1.000",
	"5.0000000000000000000000000000000000001", "1e600", "0.5",
	"-12345.6789", "99999999", "1e-130", "round(2.0 / 3, 40)",
	"0.1", "-0.0", "12345678", NULL
};

static const struct edge_column edge_columns[] = {
	{ "i2", "smallint", edge_i2 },
	{ "i4", "integer", edge_i4 },
	{ "i8", "bigint", edge_i8 },
	{ "f8", "double precision", edge_f8 },
	{ "b", "boolean", edge_b },
	{ "tx", "text", edge_tx },
	{ "vc", "varchar(40)", edge_vc },
	{ "bp", "char(8)", edge_bp },
	{ "nm", "name", edge_nm },
	{ "d", "date", edge_d },
	{ "ts", "timestamp", edge_ts },
	{ "tz", "timestamptz", edge_ts },
	{ "n", "numeric", edge_n },
};

#define NEDGE (sizeof edge_columns / sizeof *edge_columns)

/* A table with one row per edge value, the other columns NULL. */
static char *edge_table(void)
{
	char *t = table();
	int k = 0;

	sql("SET TimeZone = 'UTC'");
	sql("CREATE TABLE %s (k int, i2 smallint, i4 integer, i8 bigint, "
	    "f8 double precision, b boolean, tx text, vc varchar(40), "
	    "bp char(8), nm name, d date, ts timestamp, tz timestamptz, "
	    "n numeric)", t);
	for (size_t c = 0; c < NEDGE; c++)
		for (const char *const *v = edge_columns[c].values; *v; v++)
			sql("INSERT INTO %s (k, %s) VALUES (%d, %s)", t,
			    edge_columns[c].name, ++k, *v);
	return t;
}

Test(postgres, binary_copy_equals_text_copy_for_edge_values, .timeout = 240)
{
	static const char *const types[] = { "int", "float", "text", "bool",
					     "timestamp" };
	char *t = edge_table();

	tu_watchdog(240);
	for (size_t c = 0; c < NEDGE; c++) {
		const char *col = edge_columns[c].name;

		for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
			char *q, *fields, *what;

			/* float8 is read in binary only into float. */
			if (strcmp(col, "f8") == 0 && strcmp(types[k], "float"))
				continue;
			cr_assert(asprintf(&q, "SELECT k, %s AS v FROM %s "
					   "ORDER BY k", col, t) > 0);
			cr_assert(asprintf(&fields, "k:int, v:%s", types[k]) > 0);
			cr_assert(asprintf(&what, "%s:%s", col, types[k]) > 0);
			cr_assert_gt(expect_both_paths(fields, q,
						       "key = k\nmax_rejects = 1000\n"
						       "snapshot = false", what), 0);
			free(what);
			free(fields);
			free(q);
		}
	}
	free(t);
}

/* Without a key a reject's position is the row number; all columns at
 * once, each typed as the column naturally reads. */
Test(postgres, binary_copy_equals_text_copy_whole_rows)
{
	char *t = edge_table(), *q;

	cr_assert(asprintf(&q, "SELECT * FROM %s ORDER BY k", t) > 0);
	expect_both_paths("k:int, i2:int, i4:int, i8:int, f8:float, b:bool, "
			  "tx:text, vc:text, bp:text, nm:text, d:timestamp, "
			  "ts:timestamp, tz:timestamp, n:float", q,
			  "max_rejects = 1000\nsnapshot = false", "whole rows");
	/* A column read twice, into two types. */
	free(q);
	cr_assert(asprintf(&q, "SELECT k, d, n FROM %s ORDER BY k", t) > 0);
	expect_both_paths("k:int, d:text, n:int, d2:timestamp, n2:text", q,
			  "map = d2=d, n2=n\nmax_rejects = 1000\n"
			  "snapshot = false", "one column, two fields");
	free(q);
	free(t);
}

/* The format the provider chose, and why: from its debug log. */
static void expect_format(const char *fields, const char *query,
			  const char *extra, const char *want, const char *why)
{
	struct cfg cfg;
	struct pt_result r;
	char *log, *line;

	load(&cfg, fields, query, extra ? extra : "snapshot = false");
	run_logged(&cfg, false, &r, &log);
	cr_assert_eq(r.status, PROV_DONE, "%s", r.error);
	cr_assert_gt(r.nrows, 0);
	cr_assert(asprintf(&line, "format=%s", want) > 0);
	cr_assert(strstr(log, line), "want %s: %s", line, log);
	if (why)
		cr_assert(strstr(log, why), "want \"%s\": %s", why, log);
	pt_result_free(&r);
	cfg_free(&cfg);
	free(line);
	free(log);
}

Test(postgres, binary_copy_is_taken_only_where_it_reads_the_same)
{
	/* Every supported column type, used. */
	expect_format("a:int, b:float, c:text, d:timestamp, e:bool, f:float, "
		      "g:timestamp, h:float",
		      "SELECT 1::int2 AS a, 2::int8 AS b, 'x'::varchar AS c, "
		      "now()::timestamp AS d, true AS e, 0.5::float8 AS f, "
		      "current_date AS g, 1.5::numeric AS h", NULL, "binary",
		      NULL);
	/* Unused columns of other types are skipped. */
	expect_format("a:int", "SELECT 1 AS a, 1.5::float4 AS x, "
		      "'{\"k\": 1}'::jsonb AS y, ARRAY[1, 2] AS z, "
		      "'1 day'::interval AS w", NULL, "binary", NULL);
	/* float4's text is not (double) of its value. */
	expect_format("a:float", "SELECT 1.1::float4 AS a", NULL, "text",
		      "type 700");
	/* float8's shortest text is not rebuilt. */
	expect_format("a:text", "SELECT 0.1::float8 AS a", NULL, "text",
		      "into a:text");
	expect_format("a:int", "SELECT 1::float8 AS a", NULL, "text",
		      "into a:int");
	/* A key's text must be rebuilt exactly. */
	expect_format("a:float", "SELECT 0.5::float8 AS a", "key = a\n"
		      "snapshot = false", "text", "key column a");
	/* A type without a binary output function, even unused. */
	expect_format("a:int", "SELECT 1 AS a, "
		      "'=r/postgres'::aclitem AS acl", NULL, "text",
		      "no binary output");
	/* Types with no binary reader here. */
	expect_format("a:text", "SELECT '1 day'::interval AS a", NULL, "text",
		      "type 1186");
}

/* timestamptz text has the session's offsets: binary only in UTC. */
Test(postgres, timestamptz_is_binary_only_in_a_utc_session)
{
	setenv("PGOPTIONS", "-c TimeZone=Asia/Tokyo", 1);
	expect_format("a:timestamp", "SELECT now() AS a", NULL, "text",
		      "type 1184");
	setenv("PGOPTIONS", "-c TimeZone=Etc/UTC", 1);
	expect_format("a:timestamp", "SELECT now() AS a", NULL, "binary", NULL);
}

/*
 * Attempt 1 dies after its second checkpoint, attempt 2 resumes from its
 * key: together they must give exactly what one run on the text path
 * gives, whichever path each attempt took.
 */
static void resume_across_paths(const char *t, const char *key,
				bool text1, bool text2)
{
	const char *const tz = "PGOPTIONS=-c TimeZone=UTC";
	const char *const env1[] = { "AGG_FAULT=wh:1:after_checkpoint:2", tz,
				     text1 ? "AGG_PG_COPY=text" : NULL, NULL };
	const char *const env2[] = { tz, text2 ? "AGG_PG_COPY=text" : NULL,
				     NULL };
	const char *const envall[] = { tz, "AGG_PG_COPY=text", NULL };
	struct cfg cfg;
	struct pt_result a, b, all;
	const struct pt_checkpoint *cp;
	char *q, *extra;

	cr_assert(asprintf(&q, "SELECT * FROM %s ORDER BY %s", t, key) > 0);
	cr_assert(asprintf(&extra, "key = %s\nbatch = 6\nsnapshot = false",
			   key) > 0);
	load(&cfg, "id:int, tk:text, d:text, ts:timestamp, n:float, f:float",
	     q, extra);
	cr_assert_eq(pt_run(&cfg, 0, 1, NULL, 0, 0, 0, envall, &all),
		     PROV_DONE, "%s", all.error);
	cr_assert_eq(all.nrows, 40);
	pt_run(&cfg, 0, 1, NULL, 0, 0, 0, env1, &a);
	cp = pt_last_checkpoint(&a);
	cr_assert_not_null(cp, "key %s: %s", key, a.error);
	cr_assert_eq(cp->rows, 12, "key %s", key);
	cr_assert_eq(pt_run(&cfg, 0, 2, cp->token, cp->token_len, cp->records,
			    cp->rejects, env2, &b), PROV_DONE, "%s", b.error);
	cr_assert_eq(b.nrows, 28, "key %s", key);
	for (size_t k = 0; k < 40; k++)
		cr_assert_str_eq(k < 12 ? a.rows[k] : b.rows[k - 12],
				 all.rows[k], "key %s, row %zu", key, k);
	cr_assert_eq(memcmp(pt_last_checkpoint(&b)->token,
			    pt_last_checkpoint(&all)->token,
			    pt_last_checkpoint(&all)->token_len), 0);
	pt_result_free(&a);
	pt_result_free(&b);
	pt_result_free(&all);
	cfg_free(&cfg);
	free(extra);
	free(q);
}

Test(postgres, resume_by_key_through_binary_copy, .timeout = 120)
{
	static const char *const keys[] = { "id", "tk", "d", "ts", "n", "b8",
					    "tz" };
	char *t = table();

	sql("CREATE TABLE %s AS SELECT g AS id, "
	    "('k' || lpad(g::text, 3, '0')) COLLATE \"C\" AS tk, "
	    "date '0002-01-01 BC' + g * 400 AS d, "
	    "timestamp '2026-01-01' + g * interval '1.000001 second' AS ts, "
	    "g * 1.25::numeric AS n, g * 0.1::float8 AS f, "
	    "g::int8 * 100000000000 AS b8, "
	    "timestamptz '2026-01-01 00:00+00' + g * interval '0.5 s' AS tz "
	    "FROM generate_series(1, 40) g", t);
	for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
		resume_across_paths(t, keys[k], false, false);
		resume_across_paths(t, keys[k], false, true);
		resume_across_paths(t, keys[k], true, false);
	}
	free(t);
}

/* Rejects on the binary path quote the value's text, as the text path. */
Test(postgres, binary_copy_rejects_quote_the_text)
{
	struct cfg cfg;
	struct pt_result r;
	char *log;
	static const char *const want[][2] = {
		{ "field f: invalid float \"NaN\"", "NaN" },
		{ "field f: invalid float \"-Infinity\"", "-Infinity" },
		{ "field d: invalid timestamp \"0044-03-15 BC\"", "0044-03-15 BC" },
		{ "field t: invalid timestamp \"infinity\"", "infinity" },
		{ "field t: invalid timestamp \"10000-01-01 00:00:00.5\"",
		  "10000-01-01 00:00:00.5" },
		{ "field n: invalid int \"1.50\"", "1.50" },
	};

	load(&cfg, "k:int, f:float, d:timestamp, t:timestamp, n:int",
	     "SELECT * FROM (VALUES "
	     "(1, 'NaN'::float8, NULL::date, NULL::timestamp, NULL::numeric), "
	     "(2, '-Infinity', NULL, NULL, NULL), "
	     "(3, NULL, '0044-03-15 BC', NULL, NULL), "
	     "(4, NULL, NULL, 'infinity', NULL), "
	     "(5, NULL, NULL, '10000-01-01 00:00:00.5', NULL), "
	     "(6, NULL, NULL, NULL, 1.50), "
	     "(7, 2.5, '2026-01-02', '2026-01-02 03:04:05.06', 42)) "
	     "AS v(k, f, d, t, n) ORDER BY k",
	     "key = k\nmax_rejects = 10\nsnapshot = false");
	run_logged(&cfg, false, &r, &log);
	cr_assert(strstr(log, "format=binary"), "%s", log);
	cr_assert_eq(r.status, PROV_DONE, "%s", r.error);
	cr_assert_eq(r.nrejects, 6);
	for (size_t k = 0; k < 6; k++) {
		char pos[32];

		snprintf(pos, sizeof pos, "row key=%zu", k + 1);
		cr_assert_str_eq(r.rejects[k].position, pos);
		cr_assert_str_eq(r.rejects[k].reason, want[k][0]);
		cr_assert_str_eq(r.rejects[k].raw, want[k][1]);
	}
	cr_assert_eq(r.nrows, 1);
	cr_assert_str_eq(r.rows[0], "7|2.5|2026-01-02T00:00:00Z|"
				    "2026-01-02T03:04:05.06Z|42");
	pt_result_free(&r);
	cfg_free(&cfg);
	free(log);
}

/*
 * numeric into decimal(10,2), date into date, timestamp without time zone
 * into a timestamp read in the provider's zone, and timestamptz into a
 * date (its day in that zone), on the binary and the text COPY path:
 * every value what PostgreSQL itself computes (round(x, 2), the value AT
 * TIME ZONE 'Europe/Paris', (tz AT TIME ZONE ...)::date), a value too
 * big for decimal(10,2) a reject.  Random rows and the nights clocks
 * change.
 */
Test(postgres, decimal_date_and_zoned_timestamps_as_postgres_computes)
{
	char *t = table(), *q, *fields, *extra;
	PGresult *res;
	struct cfg cfg;
	int n;

	sql("SELECT setseed(0.42)");
	sql("CREATE TABLE %s AS SELECT g AS id, "
	    "CASE WHEN g %% 17 = 0 THEN NULL "
	    "WHEN g %% 5 = 0 THEN (g %% 2000 - 1000)::numeric / 200 "
	    "ELSE ((random() - 0.5) * 10 ^ (random() * 11))::numeric(30,6) END AS x, "
	    "timestamp '1960-01-01' + random() * interval '90 years' AS ts, "
	    "date '1900-01-01' + (random() * 70000)::int AS d, "
	    "timestamptz '1960-01-01 00:00Z' + random() * interval '90 years' AS tz "
	    "FROM generate_series(1, %d) g", t, tu_scale(2000));
	/* Europe/Paris' gaps and overlaps, and a few at midnight UTC. */
	sql("INSERT INTO %s VALUES "
	    "(100001, 1.005, '2024-03-31 02:30:00', '0001-01-01', '2024-03-31 00:30:00Z'), "
	    "(100002, -1.005, '2024-10-27 02:30:00.25', '9999-12-31', '2024-10-26 22:00:00Z'), "
	    "(100003, 99999999.994, '1976-03-28 01:30:00', '2000-02-29', '2024-10-26 21:59:59.999999Z'), "
	    "(100004, 99999999.995, '2024-03-31 03:00:00', '2024-01-01', '2024-01-01 00:00Z'), "
	    "(100005, -0.004, '2024-10-27 03:00:00', '2024-01-01', '2023-12-31 23:00Z')", t);

	/* The oracle: PostgreSQL's answers, row by row. */
	cr_assert(asprintf(&q, "SELECT id, CASE WHEN x IS NULL THEN 'NULL' "
			   "WHEN abs(round(x, 2)) < 100000000 THEN round(x, 2)::text "
			   "ELSE 'REJECT' END, "
			   "(extract(epoch FROM ts AT TIME ZONE 'Europe/Paris') * 1000000)::bigint, "
			   "d::text, ((tz AT TIME ZONE 'Europe/Paris')::date)::text "
			   "FROM %s ORDER BY id", t) > 0);
	res = PQexec(db, q);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s",
		     PQerrorMessage(db));
	free(q);
	n = PQntuples(res);

	cr_assert(asprintf(&q, "SELECT id, x, ts, d, tz AS tzd FROM %s ORDER BY id",
			   t) > 0);
	fields = "id:int, x:decimal(10,2), ts:timestamp, d:date, tzd:date";
	extra = "snapshot = false\nmax_rejects = 100000\ntimezone = Europe/Paris";
	for (int text = 0; text < 2; text++) {
		struct pt_result r;
		char *log;
		size_t row = 0, rej = 0;

		load(&cfg, fields, q, extra);
		run_logged(&cfg, text, &r, &log);
		cr_assert_eq(r.status, PROV_DONE, "%s", r.error);
		cr_assert(strstr(log, text ? "format=text" : "format=binary"),
			  "%s", log);
		for (int k = 0; k < n; k++) {
			char want[256], ts[CONV_TS_MAX];

			if (strcmp(PQgetvalue(res, k, 1), "REJECT") == 0) {
				cr_assert_lt(rej, r.nrejects);
				cr_assert(strstr(r.rejects[rej].reason,
						 "field x: decimal(10,2) overflow"),
					  "%s", r.rejects[rej].reason);
				rej++;
				continue;
			}
			conv_format_timestamp(strtoll(PQgetvalue(res, k, 2),
						      NULL, 10), ts);
			snprintf(want, sizeof want, "%s|%s|%s|%s|%s",
				 PQgetvalue(res, k, 0), PQgetvalue(res, k, 1),
				 ts, PQgetvalue(res, k, 3),
				 PQgetvalue(res, k, 4));
			cr_assert_lt(row, r.nrows);
			cr_assert_str_eq(r.rows[row], want, "%s path, id %s",
					 text ? "text" : "binary",
					 PQgetvalue(res, k, 0));
			row++;
		}
		cr_assert_eq(row, r.nrows);
		cr_assert_eq(rej, r.nrejects);
		cr_assert_gt(rej, 0);
		pt_result_free(&r);
		free(log);
		cfg_free(&cfg);
	}
	PQclear(res);
	free(q);
	free(t);
}

/* A timestamp without time zone and a date into a field in UTC: direct. */
Test(postgres, wall_clock_types_without_a_zone_are_utc)
{
	expect_both_paths("ts:timestamp, d:date, dt:timestamp, tsd:date",
			  "SELECT '2024-03-31 02:30:00'::timestamp AS ts, "
			  "'2024-02-29'::date AS d, '2024-02-29'::date AS dt, "
			  "'2024-03-31 23:30:00'::timestamp AS tsd",
			  "snapshot = false", "wall clock in UTC");
}
