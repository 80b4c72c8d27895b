/*
 * test_dbout.c - the SQLite and PostgreSQL outputs, end to end: the real
 * aggregate binary writes into real SQLite files and a real PostgreSQL
 * server (scripts/pg-test.sh, started once for this program when PGHOST is
 * unset), and the tests read the tables back with the libraries.
 *
 * Covered: typed tables with quoted identifiers and exact values; replace
 * swaps the rows, append adds; a run that fails after part of the rows were
 * sent leaves the table exactly as it was (and a first run leaves no
 * database file), and so does a run stopped by SIGTERM while it writes; a
 * table with other columns is refused by name and kept, and so is one
 * whose decimal (numeric(p,s)) or date column has another type; decimal
 * and date results are what PostgreSQL's own aggregates give;
 * a concurrent reader keeps seeing the old rows while the run replaces them
 * and sees only the new ones afterwards (SQLite WAL and PostgreSQL
 * REPEATABLE READ), without being blocked; a second PostgreSQL writer waits
 * for the first while readers do not; the PostgreSQL password never
 * shows in logs, text or JSON; the server's notices and warnings go to
 * the log.  Also --check of postgres providers through
 * the binary: the query is described, not run.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "../aggregator/merge.h"
#include "../common/config_agg.h"
#include "../common/convert.h"
#include "../common/decimal.h"
#include "helpers/pgtest.h"
#include "helpers/testutil.h"

PGT_START_BEFORE_ALL()
PGT_STOP_AFTER_ALL()

static char *dir;

static void setup(void)
{
	tu_watchdog(120);
	dir = tu_tmpdir();
}

static void teardown(void)
{
	tu_tmpdir_free(&dir);
}

static void put(const char *name, const char *content)
{
	tu_put(dir, name, content);
}

static bool exists(const char *name)
{
	char *p = tu_path(dir, name);
	bool ok = access(p, F_OK) == 0;

	free(p);
	return ok;
}

static int run(struct tu_result *r, const char *const *args,
	       const char *const *env)
{
	return tu_run(r, dir, args, env);
}

/* A CSV file of n rows "id,name" with names long enough to pass 1 MB. */
static void put_many(const char *name, int n, const char *tag)
{
	char *p = tu_path(dir, name);
	FILE *f = fopen(p, "w");

	cr_assert_not_null(f);
	fputs("id,name\n", f);
	for (int i = 1; i <= n; i++)
		fprintf(f, "%d,%s-%060d\n", i, tag, i);
	fclose(f);
	free(p);
}

/* --- SQLite ------------------------------------------------------------ */

TestSuite(sqlite_out, .init = setup, .fini = teardown);

static sqlite3 *sq_open_db(const char *name)
{
	char *p = tu_path(dir, name);
	sqlite3 *db = NULL;

	cr_assert_eq(sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL),
		     SQLITE_OK, "open %s", p);
	free(p);
	return db;
}

static int sq_cat(void *arg, int n, char **vals, char **names)
{
	char **acc = arg, *next;

	(void)names;
	for (int i = 0; i < n; i++) {
		cr_assert(asprintf(&next, "%s%s%s", *acc, i ? "|" : "",
				   vals[i] ? vals[i] : "NULL") > 0);
		free(*acc);
		*acc = next;
	}
	cr_assert(asprintf(&next, "%s\n", *acc) > 0);
	free(*acc);
	*acc = next;
	return 0;
}

/* Every row of a query, fields joined by '|', one line each. */
static char *sq_rows(sqlite3 *db, const char *sql)
{
	char *acc = strdup(""), *msg = NULL;

	cr_assert_eq(sqlite3_exec(db, sql, sq_cat, &acc, &msg), SQLITE_OK,
		     "%s: %s", sql, msg ? msg : "");
	return acc;
}

static char *sq_file_rows(const char *file, const char *sql)
{
	sqlite3 *db = sq_open_db(file);
	char *s = sq_rows(db, sql);

	sqlite3_close(db);
	return s;
}

static const char sq_conf[] =
	"[aggregate]\n"
	"output = out.db\n"
	"fields = id:int, name:text\n"
	"[provider f]\n"
	"type = file\n"
	"path = in.csv\n";

Test(sqlite_out, typed_table_quoted_names_exact_values)
{
	struct tu_result r;
	char *got;

	put("p.conf",
	    "[aggregate]\n"
	    "output = out.db\n"
	    "table = main.select\n"
	    "fields = order:int, name:text, amount:float, ok:bool, day:timestamp\n"
	    "[provider f]\n"
	    "type = file\n"
	    "path = in.csv\n");
	put("in.csv", "order,name,amount,ok,day\n"
		      "1,plain,0.1,true,2024-01-02\n"
		      "2,\"a \"\"q\"\", b\",1e300,false,2024-01-03 04:05:06.25+02\n"
		      "-9223372036854775808,\"\",,,\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 0,
		     "%s", r.err);
	tu_result_free(&r);
	got = sq_file_rows("out.db", "SELECT name, type FROM pragma_table_info('select')");
	cr_assert_str_eq(got, "provider|TEXT\norder|INTEGER\nname|TEXT\n"
			      "amount|REAL\nok|INTEGER\nday|TEXT\n");
	free(got);
	got = sq_file_rows("out.db",
			   "SELECT provider, \"order\", name, amount, ok, day, "
			   "typeof(amount), typeof(ok) FROM \"select\" ORDER BY rowid");
	cr_assert_str_eq(got,
			 "f|1|plain|0.1|1|2024-01-02T00:00:00Z|real|integer\n"
			 "f|2|a \"q\", b|1.0e+300|0|2024-01-03T02:05:06.25Z|real|integer\n"
			 "f|-9223372036854775808||NULL|NULL|NULL|null|null\n");
	free(got);
}

Test(sqlite_out, replace_swaps_rows_and_append_adds)
{
	struct tu_result r;
	char *got;

	put("p.conf", sq_conf);
	put("in.csv", "id,name\n1,old1\n2,old2\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 0,
		     "%s", r.err);
	tu_result_free(&r);
	put("in.csv", "id,name\n3,new3\n4,new4\n5,new5\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 0,
		     "%s", r.err);
	tu_result_free(&r);
	got = sq_file_rows("out.db", "SELECT id, name FROM aggregate ORDER BY rowid");
	cr_assert_str_eq(got, "3|new3\n4|new4\n5|new5\n");
	free(got);

	put("p.conf",
	    "[aggregate]\n"
	    "output = out.db\n"
	    "write = append\n"
	    "fields = id:int, name:text\n"
	    "[provider f]\n"
	    "type = file\n"
	    "path = in.csv\n");
	put("in.csv", "id,name\n6,more\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 0,
		     "%s", r.err);
	tu_result_free(&r);
	got = sq_file_rows("out.db", "SELECT id FROM aggregate ORDER BY rowid");
	cr_assert_str_eq(got, "3\n4\n5\n6\n");
	free(got);
}

Test(sqlite_out, failed_run_leaves_table_unchanged)
{
	struct tu_result r;
	char *got;

	TU_REQUIRE_HOOKS(teardown);
	put("p.conf", sq_conf);
	put("in.csv", "id,name\n1,old1\n2,old2\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 0,
		     "%s", r.err);
	tu_result_free(&r);

	/* 20000 rows go into the table before the output fails. */
	put_many("in.csv", 30000, "new");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL },
			 (const char *[]){ "AGG_OUT_FAIL_AFTER=20000", NULL }), 1,
		     "%s", r.err);
	cr_assert(strstr(r.err, "output fails after 20000 rows") != NULL, "%s",
		  r.err);
	tu_result_free(&r);
	got = sq_file_rows("out.db", "SELECT id, name FROM aggregate ORDER BY rowid");
	cr_assert_str_eq(got, "1|old1\n2|old2\n");
	free(got);
	cr_assert(!exists("out.db-journal"));

	/* A first run that fails leaves no database behind. */
	put("p.conf",
	    "[aggregate]\n"
	    "output = new.db\n"
	    "fields = id:int, name:text\n"
	    "[provider f]\n"
	    "type = file\n"
	    "path = in.csv\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL },
			 (const char *[]){ "AGG_OUT_FAIL_AFTER=10", NULL }), 1,
		     "%s", r.err);
	tu_result_free(&r);
	cr_assert(!exists("new.db"));
}

Test(sqlite_out, sigterm_while_writing_leaves_table_unchanged)
{
	struct tu_result r;
	char *got;

	TU_REQUIRE_HOOKS(teardown);
	put("p.conf", sq_conf);
	put("in.csv", "id,name\n1,old1\n2,old2\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 0,
		     "%s", r.err);
	tu_result_free(&r);
	put_many("in.csv", 30000, "new");
	/* Test hook: SIGTERM reaches the run after 20000 rows were inserted. */
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL },
			 (const char *[]){ "AGG_OUT_STOP_AFTER=20000", NULL }),
		     143, "%s", r.err);
	tu_result_free(&r);
	got = sq_file_rows("out.db", "SELECT id, name FROM aggregate ORDER BY rowid");
	cr_assert_str_eq(got, "1|old1\n2|old2\n");
	free(got);
}

Test(sqlite_out, other_columns_are_refused_and_kept)
{
	struct tu_result r;
	sqlite3 *db;
	char *got, *p = tu_path(dir, "out.db");

	cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
	free(p);
	cr_assert_eq(sqlite3_exec(db, "CREATE TABLE aggregate (a INTEGER, b TEXT);"
				      "INSERT INTO aggregate VALUES (7, 'kept')",
				  NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	put("p.conf", sq_conf);
	put("in.csv", "id,name\n1,x\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 1);
	cr_assert(strstr(r.err, "table aggregate exists with other columns (a, b) "
				"than this run writes (provider, id, name)") != NULL,
		  "%s", r.err);
	tu_result_free(&r);
	got = sq_file_rows("out.db", "SELECT a, b FROM aggregate");
	cr_assert_str_eq(got, "7|kept\n");
	free(got);
}

Test(sqlite_out, reader_keeps_its_snapshot_while_rows_are_replaced)
{
	struct tu_result r;
	sqlite3 *reader;
	char *got;

	put("p.conf", sq_conf);
	put("in.csv", "id,name\n1,old1\n2,old2\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 0,
		     "%s", r.err);
	tu_result_free(&r);

	/* WAL lets a reader hold a snapshot while a writer commits. */
	reader = sq_open_db("out.db");
	got = sq_rows(reader, "PRAGMA journal_mode=WAL");
	cr_assert_str_eq(got, "wal\n");
	free(got);
	got = sq_rows(reader, "BEGIN; SELECT name FROM aggregate ORDER BY rowid");
	cr_assert_str_eq(got, "old1\nold2\n");
	free(got);

	put("in.csv", "id,name\n3,new3\n4,new4\n5,new5\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 0,
		     "%s", r.err);
	tu_result_free(&r);

	got = sq_rows(reader, "SELECT name FROM aggregate ORDER BY rowid");
	cr_assert_str_eq(got, "old1\nold2\n");
	free(got);
	got = sq_rows(reader, "COMMIT; SELECT name FROM aggregate ORDER BY rowid");
	cr_assert_str_eq(got, "new3\nnew4\nnew5\n");
	free(got);
	sqlite3_close(reader);
}

/* --- PostgreSQL ------------------------------------------------------- */

static PGconn *db;
static char tname[64];

static void pg_setup(void)
{
	const char *skip = getenv("AGG_PG_SKIP");

	setup();
	if (skip)
		cr_assert_fail("no PostgreSQL server: %s", skip);
	db = PQconnectdb("");
	if (PQstatus(db) != CONNECTION_OK)
		cr_assert_fail("cannot connect to PostgreSQL: %s",
			       PQerrorMessage(db));
	snprintf(tname, sizeof tname, "o_%ld", (long)getpid());
}

static void pg_teardown(void)
{
	PQfinish(db);
	db = NULL;
	teardown();
}

TestSuite(postgres_out, .init = pg_setup, .fini = pg_teardown);

static void sql(PGconn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sql(PGconn *c, const char *fmt, ...)
{
	va_list ap;
	char *text;
	PGresult *res;

	va_start(ap, fmt);
	cr_assert(vasprintf(&text, fmt, ap) > 0);
	va_end(ap);
	res = PQexec(c, text);
	cr_assert(PQresultStatus(res) == PGRES_COMMAND_OK ||
		  PQresultStatus(res) == PGRES_TUPLES_OK,
		  "%s: %s", text, PQerrorMessage(c));
	PQclear(res);
	free(text);
}

/* Every row of a query, fields joined by '|', one line each. */
static char *pg_rows(PGconn *c, const char *query)
{
	PGresult *res = PQexec(c, query);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s: %s", query,
		     PQerrorMessage(c));
	for (int i = 0; i < PQntuples(res); i++) {
		for (int j = 0; j < PQnfields(res); j++)
			fprintf(f, "%s%s", j ? "|" : "",
				PQgetisnull(res, i, j) ? "NULL"
						       : PQgetvalue(res, i, j));
		fputc('\n', f);
	}
	fclose(f);
	PQclear(res);
	return out;
}

/* A config writing table t of the test database; extra [aggregate] lines. */
static void pg_conf(const char *t, const char *extra)
{
	char *text;

	cr_assert(asprintf(&text,
			   "[aggregate]\n"
			   "output = dbname=%s\n"
			   "format = postgres\n"
			   "table = %s\n"
			   "fields = id:int, name:text\n"
			   "%s"
			   "[provider f]\n"
			   "type = file\n"
			   "path = in.csv\n",
			   getenv("PGDATABASE"), t, extra ? extra : "") > 0);
	put("p.conf", text);
	free(text);
}

Test(postgres_out, typed_table_in_a_schema_exact_values)
{
	struct tu_result r;
	char *got, *conf, t[512];

	sql(db, "CREATE SCHEMA s_%s", tname);
	snprintf(t, sizeof t, "s_%s.select", tname);
	cr_assert(asprintf(&conf,
			   "[aggregate]\n"
			   "output = dbname=%s\n"
			   "format = postgres\n"
			   "table = %s\n"
			   "fields = order:int, name:text, amount:float, ok:bool, day:timestamp\n"
			   "[provider f]\n"
			   "type = file\n"
			   "path = in.csv\n",
			   getenv("PGDATABASE"), t) > 0);
	put("p.conf", conf);
	free(conf);
	put("in.csv", "order,name,amount,ok,day\n"
		      "1,plain,0.1,true,2024-01-02\n"
		      "2,\"tab\there, back\\slash\nnewline\r\",1e300,false,2024-01-03 04:05:06.25+02\n"
		      "-9223372036854775808,\"\",,,\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 0,
		     "%s", r.err);
	tu_result_free(&r);

	snprintf(t, sizeof t,
		 "SELECT column_name, data_type FROM information_schema.columns "
		 "WHERE table_schema = 's_%s' AND table_name = 'select' "
		 "ORDER BY ordinal_position", tname);
	got = pg_rows(db, t);
	cr_assert_str_eq(got, "provider|text\norder|bigint\nname|text\n"
			      "amount|double precision\nok|boolean\n"
			      "day|timestamp with time zone\n");
	free(got);
	sql(db, "SET TIME ZONE 'UTC'");
	snprintf(t, sizeof t,
		 "SELECT provider, \"order\", replace(replace(replace(name, E'\\t', '<t>'), "
		 "E'\\n', '<n>'), E'\\r', '<r>'), amount, ok, day FROM s_%s.\"select\" "
		 "ORDER BY \"order\" DESC", tname);
	got = pg_rows(db, t);
	cr_assert_str_eq(got,
			 "f|2|tab<t>here, back\\slash<n>newline<r>|1e+300|f|2024-01-03 02:05:06.25+00\n"
			 "f|1|plain|0.1|t|2024-01-02 00:00:00+00\n"
			 "f|-9223372036854775808||NULL|NULL|NULL\n");
	free(got);
}

Test(postgres_out, replace_swaps_rows_and_append_adds)
{
	struct tu_result r;
	char q[256], *got;

	pg_conf(tname, NULL);
	put("in.csv", "id,name\n1,old1\n2,old2\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 0,
		     "%s", r.err);
	tu_result_free(&r);
	put("in.csv", "id,name\n3,new3\n4,new4\n5,new5\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 0,
		     "%s", r.err);
	tu_result_free(&r);
	snprintf(q, sizeof q, "SELECT id, name FROM %s ORDER BY id", tname);
	got = pg_rows(db, q);
	cr_assert_str_eq(got, "3|new3\n4|new4\n5|new5\n");
	free(got);

	pg_conf(tname, "write = append\n");
	put("in.csv", "id,name\n6,more\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 0,
		     "%s", r.err);
	tu_result_free(&r);
	snprintf(q, sizeof q, "SELECT id FROM %s ORDER BY id", tname);
	got = pg_rows(db, q);
	cr_assert_str_eq(got, "3\n4\n5\n6\n");
	free(got);
}

Test(postgres_out, failed_run_leaves_table_unchanged)
{
	struct tu_result r;
	char q[256], *got;

	TU_REQUIRE_HOOKS(pg_teardown);
	pg_conf(tname, NULL);
	put("in.csv", "id,name\n1,old1\n2,old2\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 0,
		     "%s", r.err);
	tu_result_free(&r);

	/* 20000 rows (over 1 MB: at least one COPY message) reach the server. */
	put_many("in.csv", 30000, "new");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL },
			 (const char *[]){ "AGG_OUT_FAIL_AFTER=20000", NULL }), 1,
		     "%s", r.err);
	cr_assert(strstr(r.err, "output fails after 20000 rows") != NULL, "%s",
		  r.err);
	tu_result_free(&r);
	snprintf(q, sizeof q, "SELECT id, name FROM %s ORDER BY id", tname);
	got = pg_rows(db, q);
	cr_assert_str_eq(got, "1|old1\n2|old2\n");
	free(got);

	/* The same run without the failure replaces them all. */
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 0,
		     "%s", r.err);
	tu_result_free(&r);
	snprintf(q, sizeof q, "SELECT count(*), min(id), max(id) FROM %s", tname);
	got = pg_rows(db, q);
	cr_assert_str_eq(got, "30000|1|30000\n");
	free(got);
}

Test(postgres_out, sigterm_while_writing_leaves_table_unchanged)
{
	struct tu_result r;
	char q[256], *got;

	TU_REQUIRE_HOOKS(pg_teardown);
	pg_conf(tname, NULL);
	put("in.csv", "id,name\n1,old1\n2,old2\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 0,
		     "%s", r.err);
	tu_result_free(&r);
	put_many("in.csv", 30000, "new");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL },
			 (const char *[]){ "AGG_OUT_STOP_AFTER=20000", NULL }),
		     143, "%s", r.err);
	tu_result_free(&r);
	snprintf(q, sizeof q, "SELECT id, name FROM %s ORDER BY id", tname);
	got = pg_rows(db, q);
	cr_assert_str_eq(got, "1|old1\n2|old2\n");
	free(got);
}

Test(postgres_out, other_columns_are_refused_and_kept)
{
	struct tu_result r;
	char q[256], *got;

	sql(db, "CREATE TABLE %s (a int, b text); INSERT INTO %s VALUES (7, 'kept')",
	    tname, tname);
	pg_conf(tname, NULL);
	put("in.csv", "id,name\n1,x\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 1);
	snprintf(q, sizeof q, "table %s (dbname=%s) exists with other columns "
		 "(a, b) than this run writes (provider, id, name)", tname,
		 getenv("PGDATABASE"));
	cr_assert(strstr(r.err, q) != NULL, "%s", r.err);
	tu_result_free(&r);
	snprintf(q, sizeof q, "SELECT a, b FROM %s", tname);
	got = pg_rows(db, q);
	cr_assert_str_eq(got, "7|kept\n");
	free(got);
}

Test(postgres_out, reader_keeps_its_snapshot_and_is_never_blocked)
{
	struct tu_result r;
	PGconn *reader;
	char q[256], *got;

	pg_conf(tname, NULL);
	put("in.csv", "id,name\n1,old1\n2,old2\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 0,
		     "%s", r.err);
	tu_result_free(&r);

	/*
	 * The reader's transaction stays open across the whole run: the run
	 * must not need a lock that conflicts with it (TRUNCATE or a rename
	 * would wait for it forever), and must not change what it sees
	 * (TRUNCATE would show it an empty table).
	 */
	reader = PQconnectdb("");
	cr_assert_eq(PQstatus(reader), CONNECTION_OK);
	sql(reader, "BEGIN ISOLATION LEVEL REPEATABLE READ");
	snprintf(q, sizeof q, "SELECT name FROM %s ORDER BY id", tname);
	got = pg_rows(reader, q);
	cr_assert_str_eq(got, "old1\nold2\n");
	free(got);

	put("in.csv", "id,name\n3,new3\n4,new4\n5,new5\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 0,
		     "%s", r.err);
	tu_result_free(&r);

	got = pg_rows(reader, q);
	cr_assert_str_eq(got, "old1\nold2\n");
	free(got);
	sql(reader, "COMMIT");
	got = pg_rows(reader, q);
	cr_assert_str_eq(got, "new3\nnew4\nnew5\n");
	free(got);
	PQfinish(reader);
}

Test(postgres_out, a_second_writer_waits_and_readers_do_not)
{
	struct tu_result r;
	PGconn *other;
	char q[256], *got;
	pid_t pid;
	int status;

	pg_conf(tname, NULL);
	put("in.csv", "id,name\n1,old1\n2,old2\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }, NULL), 0,
		     "%s", r.err);
	tu_result_free(&r);
	put("in.csv", "id,name\n3,new3\n");

	/*
	 * Another writer is in the middle of a transaction: it holds ROW
	 * EXCLUSIVE, as any INSERT or DELETE does (and as a run's DELETE and
	 * COPY would without the run's own table lock, letting two runs mix
	 * their rows).  The run must wait for it; readers must not.
	 */
	other = PQconnectdb("");
	cr_assert_eq(PQstatus(other), CONNECTION_OK);
	sql(other, "BEGIN; LOCK TABLE %s IN ROW EXCLUSIVE MODE", tname);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int rc = tu_run(&r, dir, (const char *[]){ "-c", "p.conf", NULL },
				NULL);

		_exit(rc);
	}
	/* Wait until the run queues behind that lock (the watchdog bounds it). */
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = "
		 "l.relation WHERE c.relname = '%s' AND NOT l.granted", tname);
	for (;;) {
		got = pg_rows(db, q);
		if (strcmp(got, "1\n") == 0)
			break;
		free(got);
		usleep(10000);
	}
	free(got);
	/* Meanwhile readers go on and see the old rows. */
	snprintf(q, sizeof q, "SELECT id, name FROM %s ORDER BY id", tname);
	got = pg_rows(db, q);
	cr_assert_str_eq(got, "1|old1\n2|old2\n");
	free(got);
	/* The other writer's row commits first; the replace removes it too. */
	sql(other, "INSERT INTO %s VALUES ('x', 99, 'other'); COMMIT", tname);
	PQfinish(other);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d",
		  status);
	got = pg_rows(db, q);
	cr_assert_str_eq(got, "3|new3\n");
	free(got);
}

/*
 * The server's notices and warnings while the output is written (here from
 * a trigger on the table) reach the log in its format, as the PostgreSQL
 * provider's do: the notice at info level (-q hides it), the warning at
 * warn level with its detail; never raw on stderr.
 */
Test(postgres_out, notices_go_to_the_log)
{
	struct tu_result r;

	put("in.csv", "id,name\n1,x\n");
	pg_conf(tname, NULL);
	sql(db, "CREATE TABLE %s (provider text, id bigint, name text)", tname);
	sql(db, "CREATE FUNCTION %s_f() RETURNS trigger AS $$ BEGIN "
		"RAISE NOTICE 'notice from %s'; "
		"RAISE WARNING 'warning from %s' USING DETAIL = 'a detail'; "
		"RETURN NULL; END $$ LANGUAGE plpgsql", tname, tname, tname);
	sql(db, "CREATE TRIGGER %s_t AFTER INSERT ON %s FOR EACH STATEMENT "
		"EXECUTE FUNCTION %s_f()", tname, tname, tname);

	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", "--log-format",
					       "json", NULL }, NULL), 0,
		     "%s", r.err);
	cr_assert(strstr(r.err, "\"level\":\"info\",\"event\":\"server message\","
			 "\"severity\":\"NOTICE\",\"message\":\"notice from ")
		  != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "\"level\":\"warn\",\"event\":\"server message\","
			 "\"severity\":\"WARNING\",\"message\":\"warning from ")
		  != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "\"detail\":\"a detail\"") != NULL, "%s", r.err);
	tu_result_free(&r);

	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", "-q", NULL },
			 NULL), 0, "%s", r.err);
	cr_assert(strstr(r.err, "notice from") == NULL, "%s", r.err);
	cr_assert(strstr(r.err, "warn server message severity=WARNING "
			 "message=\"warning from ") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "WARNING:") == NULL, "%s", r.err);
	tu_result_free(&r);
}

Test(postgres_out, password_never_reaches_the_logs)
{
	const char *role = getenv("AGG_PG_PASSROLE");
	const char *pw = getenv("AGG_PG_PASSWORD");
	const char *formats[] = { "text", "json" };
	struct tu_result r;
	char *conf, q[256];

	cr_assert_not_null(role);
	cr_assert_not_null(pw);
	put("in.csv", "id,name\n1,x\n");
	sql(db, "CREATE TABLE %s (provider text, id bigint, name text)", tname);

	for (int k = 0; k < 2; k++) {
		/* Wrong password: authentication fails. */
		cr_assert(asprintf(&conf,
				   "[aggregate]\n"
				   "output = dbname=%s user=%s password=wrong-%s\n"
				   "format = postgres\n"
				   "table = %s\n"
				   "fields = id:int, name:text\n"
				   "[provider f]\n"
				   "type = file\n"
				   "path = in.csv\n",
				   getenv("PGDATABASE"), role, pw, tname) > 0);
		put("p.conf", conf);
		free(conf);
		cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", "-v",
						       "--log-format", formats[k],
						       NULL }, NULL), 1);
		cr_assert(strstr(r.err, "password authentication failed") != NULL,
			  "%s", r.err);
		cr_assert(strstr(r.err, pw) == NULL, "%s", r.err);
		tu_result_free(&r);

		/* Right password, no right to write the table. */
		cr_assert(asprintf(&conf,
				   "[aggregate]\n"
				   "output = dbname=%s user=%s password=%s\n"
				   "format = postgres\n"
				   "table = %s\n"
				   "fields = id:int, name:text\n"
				   "[provider f]\n"
				   "type = file\n"
				   "path = in.csv\n",
				   getenv("PGDATABASE"), role, pw, tname) > 0);
		put("p.conf", conf);
		free(conf);
		cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", "-v",
						       "--log-format", formats[k],
						       NULL }, NULL), 1);
		cr_assert(strstr(r.err, "permission denied") != NULL, "%s", r.err);
		cr_assert(strstr(r.err, pw) == NULL, "%s", r.err);
		tu_result_free(&r);
	}

	/* Granted: the run succeeds and says where it wrote, without it. */
	sql(db, "GRANT ALL ON %s TO %s", tname, role);
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", "-v", NULL },
			 NULL), 0, "%s", r.err);
	snprintf(q, sizeof q, "output written to=\"table %s (dbname=%s user=%s)\"",
		 tname, getenv("PGDATABASE"), role);
	cr_assert(strstr(r.err, q) != NULL, "%s", r.err);
	cr_assert(strstr(r.err, pw) == NULL, "%s", r.err);
	tu_result_free(&r);
}

Test(postgres_out, check_describes_the_query_without_running_it)
{
	const char *role = getenv("AGG_PG_PASSROLE");
	const char *pw = getenv("AGG_PG_PASSWORD");
	struct tu_result r;
	char *conf, q[256], *got;

	sql(db, "CREATE TABLE %s (id bigint, name text); "
		"INSERT INTO %s VALUES (1, 'x'); GRANT SELECT ON %s TO %s",
	    tname, tname, tname, role);
	/* The query fails if it runs (division by zero): it must not run. */
	cr_assert(asprintf(&conf,
			   "[aggregate]\n"
			   "output = out.csv\n"
			   "fields = id:int, name:text\n"
			   "[provider wh]\ntype = postgres\n"
			   "conninfo = dbname=%s user=%s password=%s\n"
			   "query = SELECT id / 0 AS id, name FROM %s ORDER BY id\n"
			   "[provider nope]\ntype = postgres\n"
			   "conninfo = dbname=%s user=%s password=%s\n"
			   "query = SELECT id, name FROM missing_%s\n"
			   "[provider badpw]\ntype = postgres\n"
			   "conninfo = dbname=%s user=%s password=wrong-%s\n"
			   "query = SELECT id, name FROM %s\n",
			   getenv("PGDATABASE"), role, pw, tname,
			   getenv("PGDATABASE"), role, pw, tname,
			   getenv("PGDATABASE"), role, pw, tname) > 0);
	put("p.conf", conf);
	free(conf);
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", "--check", NULL },
			 NULL), 1, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "wh                   postgres ok       "
				"connected to database") != NULL, "%s", r.out);
	cr_assert(strstr(r.out, "nope                 postgres error    ") != NULL,
		  "%s", r.out);
	cr_assert(strstr(r.out, "does not exist") != NULL, "%s", r.out);
	cr_assert(strstr(r.out, "badpw                postgres error    ") != NULL,
		  "%s", r.out);
	cr_assert(strstr(r.out, "password authentication failed") != NULL, "%s",
		  r.out);
	cr_assert(strstr(r.out, pw) == NULL && strstr(r.err, pw) == NULL,
		  "%s%s", r.out, r.err);
	tu_result_free(&r);
	snprintf(q, sizeof q, "SELECT count(*) FROM %s", tname);
	got = pg_rows(db, q);
	cr_assert_str_eq(got, "1\n");
	free(got);
	cr_assert(!exists("out.csv"));

	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", "--check",
					       "--only", "wh", NULL }, NULL), 0,
		     "%s%s", r.out, r.err);
	tu_result_free(&r);
}

/*
 * Decimals and dates into PostgreSQL, the merge run in this process
 * (the config cannot declare them through the binary yet): the columns
 * are numeric(p,s) and date, and the values are those PostgreSQL's own
 * sum, avg, min, max and count compute over the same rows loaded into a
 * table of numeric(12,2), numeric(38,6) and date columns: the oracle.
 */
static struct rec_field pg_typed[] = {
	{ .name = "region", .type = REC_TEXT },
	{ .name = "x", .type = REC_DECIMAL, .prec = 12, .scale = 2 },
	{ .name = "big", .type = REC_DECIMAL, .prec = 38, .scale = 6 },
	{ .name = "day", .type = REC_DATE },
};

static struct cfg_agg pg_typed_aggs[] = {
	{ CFG_AGG_SUM, 1, "total", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_AVG, 1, "mean", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_MIN, 1, "lo", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_MAX, 1, "hi", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_COUNT_DISTINCT, 1, "xs", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_SUM, 2, "bigsum", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_AVG, 2, "bigavg", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_MIN, 3, "first", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_MAX, 3, "last", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_COUNT, 3, "ndays", REC_INT, 0, 0, -1, 0, -1 },
};

static struct cfg_provider pg_provs[3] = {
	{ .name = "a" }, { .name = "b" }, { .name = "c" },
};

static int pg_typed_gb[] = { 0 };

/* cfg writing table t with the typed schema, grouped by region. */
static void pg_typed_cfg(struct cfg *cfg, char *conninfo, size_t len,
			 const char *t, enum cfg_write wr)
{
	const int naggs = sizeof(pg_typed_aggs) / sizeof(pg_typed_aggs[0]);

	memset(cfg, 0, sizeof(*cfg));
	snprintf(conninfo, len, "dbname=%s", getenv("PGDATABASE"));
	cfg->output = conninfo;
	cfg->format = CFG_FMT_POSTGRES;
	cfg->table = (char *)t;
	cfg->write = wr;
	cfg->schema.fields = pg_typed;
	cfg->schema.nfields = 4;
	cfg->providers = pg_provs;
	cfg->nproviders = 3;
	cfg->mode = CFG_MODE_GROUP;
	cfg->group_by = pg_typed_gb;
	cfg->ngroup_by = 1;
	cfg->aggs = pg_typed_aggs;
	cfg->naggs = naggs;
	for (int i = 0; i < naggs; i++)
		cr_assert_eq(cfg_agg_result_type(&pg_typed_aggs[i],
						 &pg_typed[pg_typed_aggs[i].field]),
			     0);
}

static uint64_t pg_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * n random rows into the merge (spread over its providers) and into
 * PostgreSQL table src: a few regions (one NULL), values of x up to its
 * 12 digits, big up to 35 (29 before the point), days from 0001-01-01 to 9999-12-31, NULLs.
 */
static void pg_typed_rows(struct merge *m, const char *src, int n)
{
	static const char *const regions[] = { "east", "north", "west", NULL };
	const __int128 xlim = dec_pow10(12), blim = dec_pow10(35);
	uint64_t seed = 0x5eed;
	char err[256] = "";

	sql(db, "CREATE TABLE %s (region text, x numeric(12,2), "
	    "big numeric(38,6), day date)", src);
	for (int i = 0; i < n; i++) {
		struct rec_value v[4];
		char xs[DEC_STR_MAX] = "NULL", bs[DEC_STR_MAX] = "NULL";
		char ds[CONV_TS_MAX + 2] = "NULL", rs[16] = "NULL";
		const char *r = regions[pg_rand(&seed) % 4];
		uint64_t k = pg_rand(&seed);
		__int128 x = (__int128)(((unsigned __int128)pg_rand(&seed) << 64 |
					 pg_rand(&seed)) % (unsigned __int128)xlim);
		__int128 b = (__int128)(((unsigned __int128)pg_rand(&seed) << 64 |
					 pg_rand(&seed)) % (unsigned __int128)blim);
		int64_t day = (int64_t)(pg_rand(&seed) % 3652059) - 719162;

		memset(v, 0, sizeof(v));
		v[0].null = r == NULL;
		if (r != NULL) {
			v[0].u.s.p = r;
			v[0].u.s.len = (uint32_t)strlen(r);
			snprintf(rs, sizeof rs, "'%s'", r);
		}
		x = k % 2 ? -x : x;
		b = k % 4 < 2 ? -b : b;
		if (k % 3 == 0 && k % 7 == 0)
			x = k % 5 ? xlim - 1 : -(xlim - 1);
		v[1].null = k % 11 == 0;
		v[2].null = k % 13 == 0;
		v[3].null = k % 17 == 0;
		rec_set_dec(&v[1], x);
		rec_set_dec(&v[2], b);
		v[3].u.i = day;
		if (!v[1].null)
			dec_format(x, 2, xs);
		if (!v[2].null)
			dec_format(b, 6, bs);
		if (!v[3].null) {
			ds[0] = '\'';
			conv_format_date(day, ds + 1);
			strcat(ds, "'");
		}
		sql(db, "INSERT INTO %s VALUES (%s, %s, %s, %s)", src, rs, xs,
		    bs, ds);
		cr_assert_eq(merge_add(m, (int)(k % 3), v, err, sizeof(err)), 0,
			     "%s", err);
	}
}

Test(postgres_out, decimals_and_dates_as_postgresql_computes_them)
{
	struct cfg cfg;
	struct merge *m;
	char conninfo[256], t[96], src[96], q[1024], err[512] = "";
	char *got, *want;

	snprintf(t, sizeof t, "typed_%s", tname);
	snprintf(src, sizeof src, "src_%s", tname);
	pg_typed_cfg(&cfg, conninfo, sizeof conninfo, t, CFG_WRITE_REPLACE);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	pg_typed_rows(m, src, 400);
	cr_assert_eq(merge_write(m, err, sizeof err), 0, "%s", err);
	merge_free(m);

	snprintf(q, sizeof q,
		 "SELECT column_name, data_type, numeric_precision, numeric_scale "
		 "FROM information_schema.columns WHERE table_name = '%s' "
		 "ORDER BY ordinal_position", t);
	got = pg_rows(db, q);
	cr_assert_str_eq(got, "region|text|NULL|NULL\n"
			      "total|numeric|38|2\n"
			      "mean|numeric|38|6\n"
			      "lo|numeric|12|2\n"
			      "hi|numeric|12|2\n"
			      "xs|bigint|64|0\n"
			      "bigsum|numeric|38|6\n"
			      "bigavg|numeric|38|6\n"
			      "first|date|NULL|NULL\n"
			      "last|date|NULL|NULL\n"
			      "ndays|bigint|64|0\n");
	free(got);

	snprintf(q, sizeof q,
		 "SELECT region, total, mean, lo, hi, xs, bigsum, bigavg, "
		 "first, last, ndays FROM %s ORDER BY region COLLATE \"C\"", t);
	got = pg_rows(db, q);
	snprintf(q, sizeof q,
		 "SELECT region, sum(x)::numeric(38,2), "
		 "round(avg(x), 6)::numeric(38,6), min(x), max(x), "
		 "count(DISTINCT x), sum(big)::numeric(38,6), "
		 "round(avg(big), 6)::numeric(38,6), min(day), max(day), "
		 "count(day) FROM %s GROUP BY region "
		 "ORDER BY region COLLATE \"C\"", src);
	want = pg_rows(db, q);
	cr_assert_str_eq(got, want);
	cr_assert(strstr(got, "\n") != NULL && strlen(got) > 200, "%s", got);
	free(got);
	free(want);

	/* append into it: the types match, so the table is taken */
	pg_typed_cfg(&cfg, conninfo, sizeof conninfo, t, CFG_WRITE_APPEND);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	cr_assert_eq(merge_write(m, err, sizeof err), 0, "%s", err);
	merge_free(m);
}

/*
 * write = append into a table whose decimal or date column has another
 * type fails naming it, and leaves the table as it was.
 */
Test(postgres_out, append_checks_numeric_and_date_types)
{
	static const char *const cols[] = {
		"lo numeric(10,2)", "last timestamptz", "bigavg numeric(38,5)",
	};
	static const char *const says[] = {
		"has column lo of type numeric(10,2), but this run writes "
		"numeric(12,2)",
		"has column last of type timestamp with time zone, but this run "
		"writes date",
		"has column bigavg of type numeric(38,5), but this run writes "
		"numeric(38,6)",
	};

	for (int i = 0; i < 3; i++) {
		struct cfg cfg;
		struct merge *m;
		char conninfo[256], t[96], err[512] = "", q[1024], *got;
		struct rec_value v[4];

		snprintf(t, sizeof t, "app%d_%s", i, tname);
		sql(db, "CREATE TABLE %s (region text, total numeric(38,2), "
		    "mean numeric(38,6), %s, hi numeric(12,2), xs bigint, "
		    "bigsum numeric(38,6), %s, first date, %s, ndays bigint); "
		    "INSERT INTO %s (region) VALUES ('kept')",
		    t, i == 0 ? cols[0] : "lo numeric(12,2)",
		    i == 2 ? cols[2] : "bigavg numeric(38,6)",
		    i == 1 ? cols[1] : "last date", t);
		pg_typed_cfg(&cfg, conninfo, sizeof conninfo, t,
			     CFG_WRITE_APPEND);
		m = merge_new(&cfg);
		memset(v, 0, sizeof v);
		v[0].u.s.p = "r";
		v[0].u.s.len = 1;
		rec_set_dec(&v[1], 1);
		rec_set_dec(&v[2], 1);
		v[3].u.i = 1;
		cr_assert_eq(merge_add(m, 0, v, err, sizeof err), 0);
		cr_assert_eq(merge_write(m, err, sizeof err), -1);
		cr_assert(strstr(err, says[i]) != NULL, "%s", err);
		cr_assert(strstr(err, t) != NULL, "%s", err);
		merge_free(m);
		snprintf(q, sizeof q, "SELECT region FROM %s", t);
		got = pg_rows(db, q);
		cr_assert_str_eq(got, "kept\n");
		free(got);
	}
}
