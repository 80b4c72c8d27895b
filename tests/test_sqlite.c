/*
 * test_sqlite.c - the sqlite provider (providers/sqlite.c) end to end: a
 * real SQLite file built from SQL text in a temporary folder, one provider
 * attempt run through the real runtime and ring (tests/helpers/provtest.h),
 * and everything it sent compared as text.
 *
 * Covered: typed columns (INTEGER, REAL, TEXT, NULL, blobs) into every
 * schema type; rejects and their positions with and without a key;
 * resuming after a crash by key (int, float and text keys) and by skipping
 * rows, with the crash injected by AGG_FAULT; a finished token; key and
 * mapping mistakes; SQLite's errors as permanent failures with SQLite's own
 * message; the --check probe.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../providers/sqlite.h"
#include "helpers/provtest.h"
#include "helpers/testutil.h"

static char *tmp;

static void setup(void)
{
	tu_watchdog(60);
	tmp = tu_tmpdir();
}

static void teardown(void)
{
	tu_rmrf(tmp);
	free(tmp);
}

TestSuite(sqlite, .init = setup, .fini = teardown);

/* Create database file name in tmp from SQL text; returns its path. */
static char *make_db(const char *name, const char *sql)
{
	char *path = tu_path(tmp, name), *err = NULL;
	sqlite3 *db = NULL;

	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		cr_assert_fail("cannot build %s: %s", name, err);
	sqlite3_close(db);
	return path;
}

/* The shared fixture tests/data/sql/orders.sql. */
static char *fixture_db(void)
{
	char *fx = tu_path(tu_srcdir(), "tests/data/sql/orders.sql");
	char *sql = tu_read(fx, NULL), *path;

	cr_assert_not_null(sql, "cannot read %s", fx);
	path = make_db("orders.db", sql);
	free(sql);
	free(fx);
	return path;
}

/* A config with one sqlite provider "legacy"; extra lines go into it. */
static void load(struct cfg *cfg, const char *fields, const char *path,
		 const char *query, const char *extra)
{
	char *text;

	cr_assert(asprintf(&text,
			   "[aggregate]\n"
			   "output = out.csv\n"
			   "fields = %s\n"
			   "\n"
			   "[provider legacy]\n"
			   "type = sqlite\n"
			   "path = %s\n"
			   "query = %s\n"
			   "%s\n",
			   fields, path, query, extra ? extra : "") > 0);
	cr_assert_eq(pt_config(text, cfg), 0, "config:\n%s", text);
	free(text);
}

#define ORDER_FIELDS "id:int, region:text, amount:float, qty:int, paid:bool, day:timestamp"
#define ORDER_QUERY "SELECT id, region, amount, qty, paid, day FROM orders ORDER BY id"

/* The fixture's rows as this schema gives them; row 4 ("abc") is a reject. */
static const char *const order_rows[] = {
	"1|north|12.5|3|true|2026-11-22T03:00:01Z",
	"2|south|0.1|7|false|2026-11-22T04:30:00.25Z",
	"3|NULL|NULL|NULL|NULL|NULL",
	"5|tab\tand\nnewline \\ back|1e+300|42|false|2026-12-01T12:00:00Z",
	"6|ünïcödé|7.25|8|true|2027-01-01T00:00:00Z",
};

static void expect_rows(const struct pt_result *r, size_t from,
			const char *const *want, size_t n)
{
	cr_assert_eq(r->nrows, n, "got %zu rows, want %zu (error: %s)",
		     r->nrows, n, r->error);
	for (size_t k = 0; k < n; k++)
		cr_assert_str_eq(r->rows[k], want[from + k], "row %zu", k);
}

Test(sqlite, typed_columns_nulls_and_a_reject)
{
	struct cfg cfg;
	struct pt_result r;
	char *db = fixture_db();

	load(&cfg, ORDER_FIELDS, db, ORDER_QUERY, "key = id\nmax_rejects = 5");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r), PROV_DONE,
		     "status %d: %s", r.status, r.error);
	cr_assert(r.done);
	expect_rows(&r, 0, order_rows, 5);
	cr_assert_eq(r.folded, 5);
	cr_assert_eq(r.nrejects, 1);
	cr_assert_str_eq(r.rejects[0].position, "row key=4");
	cr_assert(strstr(r.rejects[0].reason, "qty"), "%s", r.rejects[0].reason);
	cr_assert(strstr(r.rejects[0].reason, "abc"), "%s", r.rejects[0].reason);
	cr_assert_str_eq(r.rejects[0].raw, "abc");
	cr_assert_eq(pt_last_checkpoint(&r)->records, 5);
	cr_assert_eq(pt_last_checkpoint(&r)->rejects, 1);
	pt_result_free(&r);
	cfg_free(&cfg);
	free(db);
}

Test(sqlite, reject_position_without_key_is_the_row_number)
{
	struct cfg cfg;
	struct pt_result r;
	char *db = fixture_db();

	load(&cfg, ORDER_FIELDS, db, ORDER_QUERY, "max_rejects = 1");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r), PROV_DONE,
		     "%s", r.error);
	cr_assert_eq(r.nrejects, 1);
	cr_assert_str_eq(r.rejects[0].position, "row 4");
	pt_result_free(&r);
	cfg_free(&cfg);
	free(db);
}

Test(sqlite, one_reject_too_many_fails_for_good)
{
	struct cfg cfg;
	struct pt_result r;
	char *db = fixture_db();

	load(&cfg, ORDER_FIELDS, db, ORDER_QUERY, "key = id");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r),
		     PROV_FAIL_PERMANENT);
	cr_assert_not(r.done);
	cr_assert(strstr(r.error, "too many rejects"), "%s", r.error);
	pt_result_free(&r);
	cfg_free(&cfg);
	free(db);
}

Test(sqlite, numbers_stay_typed)
{
	struct cfg cfg;
	struct pt_result r;
	char *db = make_db("n.db",
		"CREATE TABLE n (i INTEGER, f REAL, t TEXT, b BLOB);"
		"INSERT INTO n VALUES (9007199254740993, 2.0, '17', CAST('19' AS BLOB));"
		"INSERT INTO n VALUES (-9223372036854775808, 0.1, 'x', x'ff00');");

	/* An int beyond 2^53 must not pass through a double or text; a float
	 * that is integral goes into an int; a number into text is written
	 * out; a blob that is UTF-8 reads as text, one that is not rejects. */
	load(&cfg, "i:int, f:int, t:text, b:int, if:float, it:text", db,
	     "SELECT i, f, t, b, i AS \"if\", i AS it FROM n",
	     "max_rejects = 1");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r), PROV_DONE,
		     "%s", r.error);
	cr_assert_eq(r.nrows, 1, "%zu rows", r.nrows);
	cr_assert_str_eq(r.rows[0], "9007199254740993|2|17|19|9007199254740992|"
				    "9007199254740993");
	cr_assert_eq(r.nrejects, 1);
	cr_assert_str_eq(r.rejects[0].position, "row 2");
	cr_assert(strstr(r.rejects[0].reason, "f"), "%s", r.rejects[0].reason);
	pt_result_free(&r);
	cfg_free(&cfg);
	free(db);
}

Test(sqlite, blob_that_is_not_utf8_is_a_reject)
{
	struct cfg cfg;
	struct pt_result r;
	char *db = make_db("b.db",
		"CREATE TABLE b (id INTEGER, v BLOB);"
		"INSERT INTO b VALUES (1, x'c328'), (2, CAST('ok' AS BLOB));");

	load(&cfg, "id:int, v:text", db, "SELECT id, v FROM b ORDER BY id",
	     "key = id\nmax_rejects = 1");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r), PROV_DONE,
		     "%s", r.error);
	cr_assert_eq(r.nrows, 1);
	cr_assert_str_eq(r.rows[0], "2|ok");
	cr_assert_eq(r.nrejects, 1);
	cr_assert_str_eq(r.rejects[0].position, "row key=1");
	cr_assert(strstr(r.rejects[0].reason, "UTF-8"), "%s", r.rejects[0].reason);
	pt_result_free(&r);
	cfg_free(&cfg);
	free(db);
}

Test(sqlite, map_and_unmapped_fields)
{
	struct cfg cfg;
	struct pt_result r;
	char *db = fixture_db();

	/* "where" comes from region; "id" from the column of its name. */
	load(&cfg, "id:int, where:text", db,
	     "SELECT id, region FROM orders WHERE id <= 2 ORDER BY id",
	     "map = where=region");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r), PROV_DONE,
		     "%s", r.error);
	cr_assert_eq(r.nrows, 2);
	cr_assert_str_eq(r.rows[0], "1|north");
	cr_assert_str_eq(r.rows[1], "2|south");
	pt_result_free(&r);
	cfg_free(&cfg);

	/* a field with no column of its name is a config error, not NULL */
	load(&cfg, "id:int, where:text, regoin:text", db,
	     "SELECT id, region FROM orders WHERE id <= 2 ORDER BY id",
	     "map = where=region");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r),
		     PROV_FAIL_CONFIG);
	cr_assert_eq(r.nrows, 0);
	cr_assert_str_eq(r.error, "field regoin: the query returns no column "
			 "\"regoin\" (name one with map = regoin=COLUMN) "
			 "(columns: id, region; did you mean \"region\"?)");
	pt_result_free(&r);
	cfg_free(&cfg);
	free(db);
}

Test(sqlite, missing_mapped_column_is_permanent_and_named)
{
	struct cfg cfg;
	struct pt_result r;
	char *db = fixture_db();

	load(&cfg, "id:int, where:text", db, "SELECT id FROM orders",
	     "map = where=region");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r),
		     PROV_FAIL_CONFIG);
	cr_assert_eq(r.nrows, 0);
	cr_assert(strstr(r.error, "\"region\""), "%s", r.error);
	pt_result_free(&r);
	cfg_free(&cfg);
	free(db);
}

Test(sqlite, key_that_is_not_a_result_column_is_permanent)
{
	struct cfg cfg;
	struct pt_result r;
	char *db = fixture_db();

	/* SQLite would quietly read "rowid" of a subquery as NULL. */
	load(&cfg, "region:text", db, "SELECT region FROM orders", "key = rowid");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r),
		     PROV_FAIL_PERMANENT);
	cr_assert(strstr(r.error, "key \"rowid\" is not a column"), "%s", r.error);
	pt_result_free(&r);
	cfg_free(&cfg);
	free(db);
}

Test(sqlite, key_that_does_not_increase_is_permanent)
{
	struct cfg cfg;
	struct pt_result r;
	char *db = fixture_db();

	load(&cfg, "id:int", db, "SELECT id FROM orders ORDER BY id DESC",
	     "key = id");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r),
		     PROV_FAIL_PERMANENT);
	cr_assert(strstr(r.error, "does not strictly increase"), "%s", r.error);
	cr_assert(strstr(r.error, "5 after 6"), "%s", r.error);
	pt_result_free(&r);
	cfg_free(&cfg);
	free(db);
}

Test(sqlite, null_key_is_permanent)
{
	struct cfg cfg;
	struct pt_result r;
	char *db = fixture_db();

	load(&cfg, "id:int", db, "SELECT id, region FROM orders ORDER BY id",
	     "key = region");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r),
		     PROV_FAIL_PERMANENT);
	cr_assert(strstr(r.error, "NULL at row 3"), "%s", r.error);
	pt_result_free(&r);
	cfg_free(&cfg);
	free(db);
}

/*
 * Run attempt 1 with a crash right after its second checkpoint, then
 * attempt 2 from that checkpoint: attempt 2 must send exactly the rows
 * after it, and the two together exactly the whole result.
 */
static void crash_and_resume(const char *fields, const char *query,
			     const char *extra, const char *sql,
			     const char *const *want, size_t nwant,
			     size_t covered)
{
	const char *const fault[] = { "AGG_FAULT=legacy:1:after_checkpoint:2",
				      NULL };
	struct cfg cfg;
	struct pt_result a, b;
	const struct pt_checkpoint *cp;
	char *db = make_db("r.db", sql);

	load(&cfg, fields, db, query, extra);
	cr_assert_eq(pt_run(&cfg, 0, 1, NULL, 0, 0, 0, fault, &a), 128 + SIGKILL,
		     "status %d: %s", a.status, a.error);
	cp = pt_last_checkpoint(&a);
	cr_assert_not_null(cp);
	cr_assert_eq(a.ncps, 2);
	cr_assert_eq(cp->rows, covered);
	for (size_t k = 0; k < covered; k++)
		cr_assert_str_eq(a.rows[k], want[k]);

	cr_assert_eq(pt_run_inline(&cfg, 0, 2, cp->token, cp->token_len, cp->records,
			    cp->rejects, &b), PROV_DONE, "%s", b.error);
	cr_assert(b.done);
	expect_rows(&b, covered, want, nwant - covered);
	cr_assert_eq(pt_last_checkpoint(&b)->records, nwant);
	pt_result_free(&a);
	pt_result_free(&b);
	cfg_free(&cfg);
	free(db);
}

#define SEQ_SQL(type, values) \
	"CREATE TABLE s (k " type ", v INTEGER);" \
	"INSERT INTO s VALUES " values ";"

Test(sqlite, resume_by_int_key)
{
	static const char *const want[] = { "10|1", "20|2", "30|3", "40|4",
					    "50|5", "60|6", "70|7" };

	crash_and_resume("k:int, v:int", "SELECT k, v FROM s ORDER BY k",
			 "key = k\nbatch = 2",
			 SEQ_SQL("INTEGER", "(10,1),(20,2),(30,3),(40,4),(50,5),"
				 "(60,6),(70,7)"), want, 7, 4);
}

Test(sqlite, resume_by_float_key)
{
	static const char *const want[] = { "0.1|1", "0.2|2", "0.30000000000000004|3",
					    "1e+100|4", "1.5e+200|5" };

	/* 0.1+0.2 must resume exactly after itself: the key is kept exact. */
	crash_and_resume("k:float, v:int", "SELECT k, v FROM s ORDER BY k",
			 "key = k\nbatch = 1",
			 SEQ_SQL("REAL", "(0.1,1),(0.2,2),(0.1+0.2,3),(1e100,4),"
				 "(1.5e200,5)"), want, 5, 2);
}

Test(sqlite, resume_by_text_key)
{
	static const char *const want[] = { "a|1", "a\nb|2", "a'\"|3", "b|4",
					    "é|5" };

	crash_and_resume("k:text, v:int", "SELECT k, v FROM s ORDER BY k",
			 "key = k\nbatch = 1",
			 SEQ_SQL("TEXT", "('a',1),('a'||char(10)||'b',2),"
				 "('a''\"',3),('b',4),('é',5)"), want, 5, 2);
}

Test(sqlite, resume_without_key_skips_the_rows_counted)
{
	static const char *const want[] = { "1|7", "2|6", "3|5", "4|4", "5|3",
					    "6|2", "7|1" };

	crash_and_resume("k:int, v:int", "SELECT k, v FROM s ORDER BY v DESC",
			 "batch = 3",
			 SEQ_SQL("INTEGER", "(7,1),(6,2),(5,3),(4,4),(3,5),(2,6),"
				 "(1,7)"), want, 7, 6);
}

Test(sqlite, resume_counts_rejects_as_consumed)
{
	const char *const fault[] = { "AGG_FAULT=legacy:1:after_checkpoint:2",
				      NULL };
	struct cfg cfg;
	struct pt_result a, b;
	const struct pt_checkpoint *cp;
	char *db = fixture_db();

	/* batch 2: checkpoints after rows 2 and 5 (row 4 is a reject). */
	load(&cfg, ORDER_FIELDS, db, ORDER_QUERY, "batch = 2\nmax_rejects = 5");
	pt_run(&cfg, 0, 1, NULL, 0, 0, 0, fault, &a);
	cp = pt_last_checkpoint(&a);
	cr_assert_not_null(cp);
	cr_assert_eq(cp->records, 4);
	cr_assert_eq(cp->rejects, 1);
	cr_assert_eq(pt_run_inline(&cfg, 0, 2, cp->token, cp->token_len, cp->records,
			    cp->rejects, &b), PROV_DONE, "%s", b.error);
	expect_rows(&b, 4, order_rows, 1);
	cr_assert_eq(b.nrejects, 0);
	pt_result_free(&a);
	pt_result_free(&b);
	cfg_free(&cfg);
	free(db);
}

Test(sqlite, finished_token_sends_nothing_more)
{
	struct cfg cfg;
	struct pt_result a, b;
	const struct pt_checkpoint *cp;
	char *db = fixture_db();

	load(&cfg, ORDER_FIELDS, db, ORDER_QUERY, "key = id\nmax_rejects = 5");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &a), PROV_DONE);
	cp = pt_last_checkpoint(&a);
	cr_assert_eq(pt_run_inline(&cfg, 0, 2, cp->token, cp->token_len, cp->records,
			    cp->rejects, &b), PROV_DONE, "%s", b.error);
	cr_assert(b.done);
	cr_assert_eq(b.nrows, 0);
	pt_result_free(&a);
	pt_result_free(&b);
	cfg_free(&cfg);
	free(db);
}

Test(sqlite, bad_token_is_permanent)
{
	struct cfg cfg;
	struct pt_result r;
	char *db = fixture_db();
	static const char tok[] = "sqlite=1\nrows=x\n";

	load(&cfg, ORDER_FIELDS, db, ORDER_QUERY, "key = id");
	cr_assert_eq(pt_run_inline(&cfg, 0, 2, tok, sizeof tok - 1, 0, 0, &r),
		     PROV_FAIL_PERMANENT);
	cr_assert(strstr(r.error, "bad resume token"), "%s", r.error);
	pt_result_free(&r);
	cfg_free(&cfg);
	free(db);
}

/* Run a provider that must fail for good with a message holding want. */
static void expect_permanent(const char *path, const char *query,
			     const char *want)
{
	struct cfg cfg;
	struct pt_result r;

	load(&cfg, "id:int", path, query, NULL);
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r),
		     PROV_FAIL_PERMANENT, "status %d: %s", r.status, r.error);
	cr_assert_eq(r.nrows, 0);
	cr_assert(strstr(r.error, want), "error \"%s\" lacks \"%s\"", r.error,
		  want);
	pt_result_free(&r);
	cfg_free(&cfg);
}

Test(sqlite, missing_file_is_permanent)
{
	char *path = tu_path(tmp, "nosuch.db");

	expect_permanent(path, "SELECT 1 AS id", "unable to open database file");
	cr_assert_neq(access(path, F_OK), 0, "a read-only open created the file");
	free(path);
}

Test(sqlite, not_a_database_is_permanent)
{
	char *path = tu_path(tmp, "text.db");

	tu_write(path, "this is not a database, just some text that is long "
		       "enough to have a header of 100 bytes......................"
		       "...........................................\n");
	expect_permanent(path, "SELECT id FROM t", "file is not a database");
	/* Also when the query reads no table: the file is checked on open. */
	expect_permanent(path, "SELECT 1 AS id", "file is not a database");
	free(path);
}

Test(sqlite, missing_table_is_permanent)
{
	char *db = fixture_db();

	expect_permanent(db, "SELECT id FROM nosuch", "no such table: nosuch");
	free(db);
}

Test(sqlite, syntax_error_is_permanent)
{
	char *db = fixture_db();

	expect_permanent(db, "SELECT id FORM orders", "syntax error");
	free(db);
}

Test(sqlite, database_is_opened_read_only)
{
	char *db = fixture_db();

	expect_permanent(db, "DELETE FROM orders RETURNING id", "readonly");
	free(db);
}

Test(sqlite, trailing_semicolon_and_comment_resume)
{
	static const char *const want[] = { "10|1", "20|2", "30|3", "40|4" };

	/* The resumed query wraps the text: ';' and a "--" comment must not
	 * break it. */
	crash_and_resume("k:int, v:int",
			 "SELECT k, v FROM s ORDER BY k -- all of them\n;",
			 "key = k\nbatch = 1",
			 SEQ_SQL("INTEGER", "(10,1),(20,2),(30,3),(40,4)"), want, 4,
			 2);
}

Test(sqlite, path_starting_with_file_colon_is_a_path)
{
	struct cfg cfg;
	struct pt_result r;

	free(make_db("file:odd.db", "CREATE TABLE t (id INTEGER);"
				    "INSERT INTO t VALUES (1);"));
	cr_assert_eq(chdir(tmp), 0);
	load(&cfg, "id:int", "file:odd.db", "SELECT id FROM t", NULL);
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r), PROV_DONE,
		     "%s", r.error);
	cr_assert_eq(r.nrows, 1);
	pt_result_free(&r);
	cfg_free(&cfg);
}

Test(sqlite, check_prepares_without_reading)
{
	struct cfg cfg;
	char msg[512];
	char *db = fixture_db();

	load(&cfg, ORDER_FIELDS, db, ORDER_QUERY, "key = id");
	cr_assert_eq(sqlite_provider_ops.check(&cfg, &cfg.providers[0], msg,
					       sizeof msg), 0, "%s", msg);
	cr_assert_str_eq(msg, "query prepared, 6 columns; pushdown: no (union "
			 "output)");
	cfg_free(&cfg);

	load(&cfg, "id:int", db, "SELECT id FROM nosuch", NULL);
	cr_assert_eq(sqlite_provider_ops.check(&cfg, &cfg.providers[0], msg,
					       sizeof msg), -1);
	cr_assert(strstr(msg, "no such table: nosuch"), "%s", msg);
	cfg_free(&cfg);
	free(db);
}

/* --- the direct encoder against the general path ---------------------- */

/*
 * One value of every storage class and edge per row, k increasing: NULL;
 * integers at the ends of int64 and past 2^53; reals incl. -0.0, the
 * largest and the smallest, non-integral, infinite; text empty, short,
 * exactly 4, 8, 16 and 17 bytes, non-ASCII, invalid UTF-8, with a NUL,
 * numeric and boolean words, a timestamp; blobs empty, UTF-8, not UTF-8.
 */
static const char edge_sql[] =
	"CREATE TABLE e (k INTEGER, v, g TEXT);"
	"INSERT INTO e VALUES (1, NULL, 'a'), (2, 0, 'a'), (3, -1, 'b'),"
	" (4, 9223372036854775807, 'a'), (5, -9223372036854775808, 'a'),"
	" (6, 9007199254740993, 'a'), (7, 1, 'a'), (8, 0.0, 'a'),"
	" (9, -0.0, 'a'), (10, 1.7976931348623157e308, 'a'),"
	" (11, 4.9e-324, 'a'), (12, 0.1, 'a'), (13, 2.0, 'a'),"
	" (14, 9.3e18, 'a'), (15, 1e999, 'a'), (16, -1e999, 'a'),"
	" (17, '', 'a'), (18, 'ab', 'a'), (19, 'abcd', 'a'),"
	" (20, 'abcdefgh', 'a'), (21, '0123456789abcdef', 'a'),"
	" (22, '0123456789abcdefg', 'a'), (23, 'caf' || char(233), 'a'),"
	" (24, CAST(x'41ff4243' AS TEXT), 'a'),"
	" (25, CAST(x'6162630064656667' AS TEXT), 'a'),"
	" (26, ' 42 ', 'a'), (27, '1.5', 'a'), (28, 'true', 'a'),"
	" (29, '2026-11-22T03:00:01Z', 'a'), (30, x'', 'a'),"
	" (31, CAST('19' AS BLOB), 'a'), (32, x'ff00', 'a'),"
	" (33, 'abc' || char(10) || 'defghij', 'a'),"
	" (34, CAST(x'80616263' AS TEXT), 'a'), (35, 'abc', NULL);";

/* Run cfg in both modes; they must send the same, and check must pass. */
static void same_both_ways(const struct cfg *cfg)
{
	const char *const check[] = { "AGG_SQLITE_ENCODE=check", NULL };
	const char *const general[] = { "AGG_SQLITE_ENCODE=general", NULL };
	struct pt_result a, b;

	cr_assert_eq(pt_run(cfg, 0, 1, NULL, 0, 0, 0, check, &a), PROV_DONE,
		     "status %d: %s", a.status, a.error);
	cr_assert_eq(pt_run(cfg, 0, 1, NULL, 0, 0, 0, general, &b), PROV_DONE,
		     "status %d: %s", b.status, b.error);
	cr_assert_eq(a.nrows, b.nrows);
	for (size_t k = 0; k < a.nrows; k++)
		cr_assert_str_eq(a.rows[k], b.rows[k], "row %zu", k);
	cr_assert_eq(a.nrejects, b.nrejects);
	for (size_t k = 0; k < a.nrejects; k++) {
		cr_assert_str_eq(a.rejects[k].position, b.rejects[k].position);
		cr_assert_str_eq(a.rejects[k].reason, b.rejects[k].reason);
		cr_assert_str_eq(a.rejects[k].raw, b.rejects[k].raw);
	}
	cr_assert_eq(a.ncps, b.ncps);
	cr_assert_eq(pt_last_checkpoint(&a)->records,
		     pt_last_checkpoint(&b)->records);
	cr_assert_eq(a.filtered, b.filtered);
	cr_assert_eq(a.nrows + a.nrejects + a.filtered, 35);
	pt_result_free(&a);
	pt_result_free(&b);
}

/* A config over the edge table; group, if not NULL, is the group-by part. */
static void load_edges(struct cfg *cfg, const char *db, const char *type,
		       const char *key, const char *group)
{
	char *text;

	cr_assert(asprintf(&text,
			   "[aggregate]\noutput = out.csv\n"
			   "fields = k:int, v:%s, g:text\n%s\n"
			   "[provider legacy]\ntype = sqlite\npath = %s\n"
			   "query = SELECT k, v, g FROM e ORDER BY k\n"
			   "max_rejects = 100\nbatch = 7\n%s\n%s",
			   type, group ? group : "", db, key,
			   group && strstr(group, "upper") && !strstr(group, "q =")
				   ? "where = v IS NOT NULL OR k > 30\n" : "")
		  > 0);
	cr_assert_eq(pt_config(text, cfg), 0, "config:\n%s", text);
	free(text);
}

/*
 * The direct encoder's bytes are rec_encode_dropping()'s of the general
 * path's values (the check mode compares every record), and both send
 * the same records, rejects and checkpoints: every storage class into
 * every field type, with and without a key, and in group mode, where the
 * unread fields are converted (rejects unchanged) but sent as NULL.
 * With derived fields and a `where` (global, the provider's, one that
 * fails on a row), the same rows are dropped and rejected, and the
 * computed values follow the columns' as the general path encodes them.
 */
Test(sqlite, direct_encoding_is_the_general_one)
{
	static const char *const types[] = { "text", "int", "float", "bool",
					      "timestamp" };
	static const char *const groups[] = {
		NULL,
		"group_by = g\naggregates = count(*) as n",
		"group_by = k\naggregates = count(*) as n",
		"derive = k2 = k * 2, gg = upper(g) || 'x'\n"
		"where = k % 3 <> 0\n",
		"derive = k2 = k * 2, gg = upper(g) || 'x', q = 70 / (k - 5)\n"
		"where = g IS NOT NULL\n"
		"group_by = gg\naggregates = count(*) as n, sum(k2) as s, "
		"max(v) as m, sum(q) as sq",
		"derive = k2 = k * 2, half = k2 / 2\n"
		"group_by = g\naggregates = sum(half) as s",
	};
	char *db = make_db("e.db", edge_sql);

	for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
		for (size_t g = 0; g < sizeof groups / sizeof *groups; g++) {
			for (int key = 0; key < 2; key++) {
				struct cfg cfg;

				load_edges(&cfg, db, types[t],
					   key ? "key = k" : "", groups[g]);
				same_both_ways(&cfg);
				cfg_free(&cfg);
			}
		}
	}
	free(db);
}

/* Keys of each storage class that are fields too: their value is reused. */
Test(sqlite, key_read_once_as_a_field)
{
	static const struct {
		const char *sql, *fields, *query;
		const char *want[3];
	} cases[] = {
		{ "CREATE TABLE t (k TEXT);"
		  "INSERT INTO t VALUES ('abcd'), ('abcdefghijklmnopq'), "
		  "('b' || char(252));",
		  "k:text", "SELECT k FROM t",
		  { "abcd", "abcdefghijklmnopq", "b\xc3\xbc" } },
		{ "CREATE TABLE t (k REAL);"
		  "INSERT INTO t VALUES (-0.5), (0.0), (2.0);",
		  "k:float", "SELECT k FROM t",
		  { "-0.5", "0", "2" } },
		{ "CREATE TABLE t (k INTEGER);"
		  "INSERT INTO t VALUES (-9223372036854775808), (0), "
		  "(9223372036854775807);",
		  "k:float", "SELECT k FROM t",
		  { "-9.223372036854776e+18", "0", "9.223372036854776e+18" } },
	};

	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		const char *const check[] = { "AGG_SQLITE_ENCODE=check", NULL };
		struct cfg cfg;
		struct pt_result r;
		char name[32], *db;

		snprintf(name, sizeof name, "k%zu.db", c);
		db = make_db(name, cases[c].sql);
		load(&cfg, cases[c].fields, db, cases[c].query, "key = k");
		cr_assert_eq(pt_run(&cfg, 0, 1, NULL, 0, 0, 0, check, &r),
			     PROV_DONE, "case %zu: %s", c, r.error);
		expect_rows(&r, 0, cases[c].want, 3);
		pt_result_free(&r);
		cfg_free(&cfg);
		free(db);
	}
}

/*
 * Rows that fill frames: a record that does not fit what is left of one
 * goes whole into the next; one larger than the largest frame of the ring
 * (a quarter of it) fails for good.
 */
Test(sqlite, records_across_frames_and_one_too_large)
{
	struct cfg cfg;
	struct pt_result r;
	char *db = make_db("big.db",
		"CREATE TABLE t (id INTEGER, s TEXT);"
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
		"WHERE i < 40) INSERT INTO t SELECT i, "
		"substr(replace(hex(zeroblob(50000)), '0', 'x'), 1, 90000 + i) "
		"FROM n;"
		"INSERT INTO t VALUES (41, 'end');"
		"INSERT INTO t VALUES (42, replace(hex(zeroblob(2500000)), "
		"'0', 'y'));");

	load(&cfg, "id:int, s:text", db, "SELECT id, s FROM t WHERE id <= 41",
	     "key = id");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r), PROV_DONE,
		     "%s", r.error);
	cr_assert_eq(r.nrows, 41);
	for (size_t k = 0; k < 40; k++)
		cr_assert_eq(strlen(r.rows[k]), strlen("12|") - (k < 9) +
			     90000 + k + 1, "row %zu", k);
	cr_assert_str_eq(r.rows[40], "41|end");
	pt_result_free(&r);
	cfg_free(&cfg);

	load(&cfg, "id:int, s:text", db, "SELECT id, s FROM t WHERE id >= 41",
	     "key = id");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r),
		     PROV_FAIL_PERMANENT, "%s", r.error);
	cr_assert_eq(r.nrows, 1);
	cr_assert(strstr(r.error, "record of 5000") &&
		  strstr(r.error, "larger than the largest frame"), "%s",
		  r.error);
	pt_result_free(&r);
	cfg_free(&cfg);
	free(db);
}

/*
 * INTEGER, REAL and TEXT values into decimal(12,3), dates and timestamps
 * in a zone (the provider's, not the aggregate's), against Python's
 * decimal and zoneinfo (tests/fixtures/sqltypes_oracle.py): each row is
 * the oracle's, or a reject where it says so.
 */
Test(sqlite, decimal_date_and_zoned_timestamps_match_python)
{
	struct cfg cfg;
	struct pt_result r;
	char *db = tu_path(tmp, "types.db"), cmd[4096], *line = NULL;
	char **want = NULL;
	size_t cap = 0, nwant = 0, nrows = 0, nrej = 0;
	FILE *p;

	snprintf(cmd, sizeof cmd,
		 "python3 '%s/tests/fixtures/sqltypes_oracle.py' 20261207 %d "
		 "'%s'", tu_srcdir(), tu_scale(3000), db);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (getline(&line, &cap, p) > 0) {
		char *sp = strchr(line, ' ');

		cr_assert_not_null(sp);
		line[strcspn(line, "\n")] = '\0';
		want = realloc(want, (nwant + 1) * sizeof *want);
		cr_assert_not_null(want);
		want[nwant++] = strdup(sp + 1);
	}
	free(line);
	cr_assert_eq(pclose(p), 0, "the oracle failed");
	cr_assert_gt(nwant, 100);

	/* The aggregate's zone is not the provider's. */
	cr_assert(asprintf(&line,
			   "[aggregate]\noutput = out.csv\n"
			   "fields = id:int, i:decimal(12,3), r:decimal(12,3), "
			   "t:numeric(12,3), d:date, ts:timestamp\n"
			   "timezone = Asia/Tokyo\n"
			   "[provider legacy]\ntype = sqlite\npath = %s\n"
			   "query = SELECT id, i, r, t, d, ts FROM v ORDER BY id\n"
			   "key = id\nmax_rejects = 100000\n"
			   "timezone = Europe/Paris\n", db) > 0);
	cr_assert_eq(pt_config(line, &cfg), 0);
	free(line);
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r), PROV_DONE,
		     "%s", r.error);
	for (size_t k = 0; k < nwant; k++) {
		char pos[64];

		if (strcmp(want[k], "REJECT") == 0) {
			cr_assert_lt(nrej, r.nrejects, "row %zu: no reject", k + 1);
			snprintf(pos, sizeof pos, "row key=%zu", k + 1);
			cr_assert_str_eq(r.rejects[nrej].position, pos);
			nrej++;
		} else {
			cr_assert_lt(nrows, r.nrows, "row %zu missing", k + 1);
			cr_assert_str_eq(r.rows[nrows], want[k], "row %zu",
					 k + 1);
			nrows++;
		}
		free(want[k]);
	}
	cr_assert_eq(nrows, r.nrows);
	cr_assert_eq(nrej, r.nrejects);
	free(want);
	pt_result_free(&r);
	cfg_free(&cfg);
	free(db);
}

/* A decimal reject names the field, the type and the value. */
Test(sqlite, decimal_reject_reason)
{
	struct cfg cfg;
	struct pt_result r;
	char *db = make_db("d.db", "CREATE TABLE d (x);"
			   "INSERT INTO d VALUES (123456789012);"
			   "INSERT INTO d VALUES ('12.345');"
			   "INSERT INTO d VALUES ('abc');");

	load(&cfg, "x:decimal(10,2)", db, "SELECT x FROM d", "max_rejects = 5");
	cr_assert_eq(pt_run_inline(&cfg, 0, 1, NULL, 0, 0, 0, &r), PROV_DONE,
		     "%s", r.error);
	cr_assert_eq(r.nrows, 1);
	cr_assert_str_eq(r.rows[0], "12.35");
	cr_assert_eq(r.nrejects, 2);
	cr_assert_str_eq(r.rejects[0].reason,
			 "field x: decimal(10,2) overflow \"123456789012\"");
	cr_assert_str_eq(r.rejects[1].reason,
			 "field x: invalid decimal(10,2) \"abc\"");
	pt_result_free(&r);
	cfg_free(&cfg);
	free(db);
}
