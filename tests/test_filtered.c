/*
 * test_filtered.c - the records a `where` drops, counted per provider and
 * told in the summary table's "filtered" column, the -v "finished" line
 * and the JSON summary, exactly once across provider kills and restarts.
 *
 * The oracle is SQLite: the same random rows (NULLs included) are in a
 * CSV file that a file provider reads and in an SQLite table that an
 * sqlite provider reads; SQLite counts the rows the same `where` (global,
 * then the provider's own) keeps, and the rest are the filtered ones.  A
 * file provider killed after a checkpoint and restarted, and an sqlite
 * provider killed the same way, must still count each dropped row once.
 * The sqlite provider's direct encoding with derived fields and both
 * wheres is checked the same way: its report is SQLite's GROUP BY.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../common/buf.h"
#include "helpers/testutil.h"

#define NROWS 40000

/* The global where, and the sqlite provider's own, as SQL and config. */
#define WHERE_ALL "amount > 100 AND region <> 'r3'"
#define WHERE_SQ "id % 3 <> 0"

static char *dir;
static uint64_t rng_state = UINT64_C(0x853c49e6748fea9b);

static uint64_t rng(void)
{
	return tu_rng(&rng_state);
}

/* Rows into t.csv and into table t of t.db: NULLs in region and amount. */
static void make_data(void)
{
	char *csv_path = tu_path(dir, "t.csv"), *db_path = tu_path(dir, "t.db");
	FILE *csv = fopen(csv_path, "w");
	sqlite3 *db;
	sqlite3_stmt *ins;

	cr_assert_not_null(csv);
	cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "CREATE TABLE t (id INTEGER, region "
				  "TEXT, amount REAL); BEGIN", NULL, NULL,
				  NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?, ?, ?)",
					-1, &ins, NULL), SQLITE_OK);
	fputs("id,region,amount\n", csv);
	for (int i = 1; i <= NROWS; i++) {
		char region[8], amount[32];
		bool null_region = rng() % 50 == 0, null_amount = rng() % 40 == 0;

		snprintf(region, sizeof region, "r%u", (unsigned)(rng() % 8));
		snprintf(amount, sizeof amount, "%u.%02u",
			 (unsigned)(rng() % 300), (unsigned)(rng() % 100));
		fprintf(csv, "%d,%s,%s\n", i, null_region ? "" : region,
			null_amount ? "" : amount);
		sqlite3_bind_int(ins, 1, i);
		if (null_region)
			sqlite3_bind_null(ins, 2);
		else
			sqlite3_bind_text(ins, 2, region, -1, SQLITE_TRANSIENT);
		if (null_amount)
			sqlite3_bind_null(ins, 3);
		else
			sqlite3_bind_double(ins, 3, strtod(amount, NULL));
		cr_assert_eq(sqlite3_step(ins), SQLITE_DONE);
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	cr_assert_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	fclose(csv);
	free(csv_path);
	free(db_path);
}

/* SQLite's count of the rows of t where cond is true. */
static unsigned long long sqlite_count(const char *cond)
{
	char *db_path = tu_path(dir, "t.db"), sql[256];
	sqlite3 *db;
	sqlite3_stmt *st;
	unsigned long long n;

	snprintf(sql, sizeof sql, "SELECT count(*) FROM t WHERE %s", cond);
	cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	n = (unsigned long long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(db_path);
	return n;
}

static void setup(void)
{
	dir = tu_tmpdir();
	make_data();
	tu_put(dir, "p.conf",
	       "[aggregate]\n"
	       "output = out.csv\n"
	       "fields = id:int, region:text, amount:float\n"
	       "where = " WHERE_ALL "\n"
	       "group_by = region\n"
	       "aggregates = count(*) as n\n"
	       "\n[provider csv]\ntype = file\npath = t.csv\n"
	       "\n[provider sq]\ntype = sqlite\npath = t.db\n"
	       "query = SELECT id, region, amount FROM t ORDER BY id\n"
	       "key = id\nbatch = 997\n"
	       "where = " WHERE_SQ "\n");
}

static void teardown(void)
{
	tu_tmpdir_free(&dir);
}

TestSuite(filtered, .init = setup, .fini = teardown);

/* The summary row of provider name: records, rejects, filtered, restarts. */
static bool summary_row(const char *err, const char *name,
			unsigned long long *rec, unsigned long long *filt,
			int *restarts)
{
	for (const char *l = err; l && *l;) {
		char n[64], st[16];
		unsigned long long rej;

		if (sscanf(l, "%63s %15s %llu %llu %llu %d", n, st, rec, &rej,
			   filt, restarts) == 6 && strcmp(n, name) == 0)
			return true;
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	return false;
}

/* The counts of both providers against SQLite's. */
static void check_counts(const char *err, bool restarted)
{
	unsigned long long kept_csv = sqlite_count(WHERE_ALL);
	unsigned long long kept_sq = sqlite_count("(" WHERE_ALL ") AND ("
						  WHERE_SQ ")");
	unsigned long long rec, filt;
	int restarts;

	cr_assert(strstr(err, " filtered ") != NULL, "no column: %s", err);
	cr_assert(summary_row(err, "csv", &rec, &filt, &restarts), "%s", err);
	cr_assert_eq(rec, kept_csv, "csv records %llu, SQLite %llu", rec,
		     kept_csv);
	cr_assert_eq(filt, NROWS - kept_csv, "csv filtered %llu, SQLite %llu",
		     filt, NROWS - kept_csv);
	cr_assert_eq(restarts > 0, restarted);
	cr_assert(summary_row(err, "sq", &rec, &filt, &restarts), "%s", err);
	cr_assert_eq(rec, kept_sq, "sq records %llu, SQLite %llu", rec,
		     kept_sq);
	cr_assert_eq(filt, NROWS - kept_sq, "sq filtered %llu, SQLite %llu",
		     filt, NROWS - kept_sq);
	cr_assert_eq(restarts > 0, restarted);
}

Test(filtered, summary_against_sqlite)
{
	const char *const args[] = { "-v", "-c", "p.conf", NULL };
	struct tu_result r;
	char want[64];

	tu_watchdog(120);
	cr_assert_eq(tu_run(&r, dir, args, NULL), 0, "%s", r.err);
	check_counts(r.err, false);
	/* -v: the finished line says it too. */
	snprintf(want, sizeof want, "filtered=%llu",
		 NROWS - sqlite_count(WHERE_ALL));
	cr_assert(strstr(r.err, want) != NULL, "no %s in %s", want, r.err);
	tu_result_free(&r);
}

Test(filtered, json_summary)
{
	const char *const args[] = { "--log-format", "json", "-c", "p.conf",
				     NULL };
	struct tu_result r;
	char want[64];

	tu_watchdog(120);
	cr_assert_eq(tu_run(&r, dir, args, NULL), 0, "%s", r.err);
	snprintf(want, sizeof want, "\"filtered\":\"%llu\"",
		 NROWS - sqlite_count("(" WHERE_ALL ") AND (" WHERE_SQ ")"));
	cr_assert(strstr(r.err, want) != NULL, "no %s in %s", want, r.err);
	tu_result_free(&r);
}

Test(filtered, no_column_without_where)
{
	const char *const args[] = { "-c", "q.conf", NULL };
	struct tu_result r;

	tu_watchdog(120);
	tu_put(dir, "q.conf",
	       "[aggregate]\noutput = out.csv\n"
	       "fields = id:int, region:text, amount:float\n"
	       "group_by = region\naggregates = count(*) as n\n"
	       "\n[provider csv]\ntype = file\npath = t.csv\n");
	cr_assert_eq(tu_run(&r, dir, args, NULL), 0, "%s", r.err);
	cr_assert(strstr(r.err, "filtered") == NULL, "%s", r.err);
	tu_result_free(&r);
}

/* Both providers killed right after a checkpoint: each row counted once. */
Test(filtered, exactly_once_across_kills)
{
	const char *const args[] = { "-c", "p.conf", NULL };
	const char *const env[] = {
		"AGG_FAULT=csv:1:after_checkpoint:1:kill;"
		"sq:1:after_checkpoint:3:kill", NULL };
	struct tu_result r;

	TU_REQUIRE_HOOKS(teardown);
	tu_watchdog(120);
	cr_assert_eq(tu_run(&r, dir, args, env), 0, "%s", r.err);
	check_counts(r.err, true);
	tu_result_free(&r);
}

/*
 * The sqlite provider's direct encoding with derived fields and both
 * wheres: the report is SQLite's own GROUP BY of the same SQL.
 */
Test(filtered, sqlite_derive_and_where_against_sqlite)
{
	const char *const args[] = { "-q", "-c", "r.conf", NULL };
	struct tu_result r;
	char *db_path = tu_path(dir, "t.db"), *got, line[256];
	sqlite3 *db;
	sqlite3_stmt *st;
	struct buf want = { 0 };

	tu_watchdog(120);
	tu_put(dir, "r.conf",
	       "[aggregate]\noutput = r.csv\n"
	       "fields = id:int, region:text, amount:float\n"
	       "derive = id2 = id * 2 + 1, big = amount > 150\n"
	       "where = " WHERE_ALL "\n"
	       "group_by = region, big\n"
	       "aggregates = count(*) as n, sum(id2) as s, min(id) as lo, "
	       "max(id) as hi\n"
	       "order_by = region, big\n"
	       "\n[provider sq]\ntype = sqlite\npath = t.db\n"
	       "query = SELECT id, region, amount FROM t ORDER BY id\n"
	       "key = id\nbatch = 997\n"
	       "where = " WHERE_SQ "\n");
	cr_assert_eq(tu_run(&r, dir, args, NULL), 0, "%s", r.err);
	tu_result_free(&r);
	got = tu_get(dir, "r.csv");

	cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db,
		"SELECT region, CASE WHEN amount > 150 THEN 'true' "
		"ELSE 'false' END AS big, count(*), sum(id * 2 + 1), min(id), "
		"max(id) FROM t WHERE (" WHERE_ALL ") AND (" WHERE_SQ ") "
		"GROUP BY region, big ORDER BY region, big", -1, &st, NULL),
		SQLITE_OK);
	cr_assert_eq(buf_addstr(&want, "region,big,n,s,lo,hi\n"), 0);
	while (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(line, sizeof line, "%s,%s,%lld,%lld,%lld,%lld\n",
			 (const char *)sqlite3_column_text(st, 0),
			 (const char *)sqlite3_column_text(st, 1),
			 (long long)sqlite3_column_int64(st, 2),
			 (long long)sqlite3_column_int64(st, 3),
			 (long long)sqlite3_column_int64(st, 4),
			 (long long)sqlite3_column_int64(st, 5));
		cr_assert_eq(buf_addstr(&want, line), 0);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	cr_assert_eq(buf_add(&want, "", 1), 0);
	cr_assert_str_eq(got, (const char *)want.p);
	buf_free(&want);
	free(got);
	free(db_path);
}
