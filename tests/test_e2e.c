/*
 * test_e2e.c - the main job end to end, with every provider type.
 *
 * Runs scripts/run-demo.sh (what `make run` runs): a throwaway PostgreSQL
 * loaded with the Chinook database, the HTTP fixture server serving
 * sample_data/http/, and conf/providers.conf, whose five providers (CSV
 * files, JSON Lines, SQLite, PostgreSQL, HTTP) each hold one slice of the
 * 412 Chinook invoices.  The result must equal the same aggregation done by
 * SQLite itself over the whole Invoice table; so must the config's two
 * [output NAME] reports of the same read (revenue per month, the top five
 * countries), written beside it.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/testutil.h"

static char *dir;

static void setup(void)
{
	tu_watchdog(180);
	dir = tu_tmpdir();
}

static void teardown(void)
{
	tu_tmpdir_free(&dir);
}

TestSuite(e2e, .init = setup, .fini = teardown);

/* Run the demo script with our binary, the result going to out. */
static int run_demo(const char *out, const char *log)
{
	char *cmd;
	int status;

	setenv("AGG_BIN", tu_bin(), 1);
	setenv("AGG_OUTPUT", out, 1);
	if (asprintf(&cmd, "sh '%s/scripts/run-demo.sh' >'%s' 2>&1", tu_srcdir(),
		     log) < 0)
		cr_assert_fail("out of memory");
	status = system(cmd);
	free(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* "2021-01-01 00:00:00" as the output writes it: "2021-01-01T00:00:00Z". */
static void rfc3339(char *dst, size_t n, const char *sql)
{
	snprintf(dst, n, "%.10sT%sZ", sql, sql + 11);
}

Test(e2e, every_provider_type_feeds_one_group_by_equal_to_sql)
{
	char *out = tu_path(dir, "result.csv"), *log = tu_path(dir, "log");
	char *db, *text, *line, *save = NULL, *logtext;
	sqlite3 *conn;
	sqlite3_stmt *st;
	int rc, rows = 0, total = 0;

	rc = run_demo(out, log);
	logtext = tu_read(log, NULL);
	cr_assert_eq(rc, 0, "run-demo.sh failed:\n%s", logtext);
	for (const char *const *p = (const char *const[]){ "csv_archive",
			"jsonl_export", "sqlite_store", "postgres_ledger",
			"http_api", NULL }; *p; p++) {
		char want[128];

		snprintf(want, sizeof want, "provider=%s finished", *p);
		cr_assert(strstr(logtext, want) != NULL, "no '%s' in:\n%s", want,
			  logtext);
	}
	free(logtext);

	text = tu_read(out, NULL);
	cr_assert_not_null(text);
	line = strtok_r(text, "\n", &save);
	cr_assert_str_eq(line,
		"country,invoices,revenue,avg_total,first,last,customers");

	if (asprintf(&db, "%s/sample_data/chinook.sqlite", tu_srcdir()) < 0)
		cr_assert_fail("out of memory");
	cr_assert_eq(sqlite3_open_v2(db, &conn, SQLITE_OPEN_READONLY, NULL),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(conn,
		"SELECT BillingCountry, count(*), printf('%.2f', sum(Total)),"
		" printf('%.6f', avg(Total)), min(InvoiceDate), max(InvoiceDate),"
		" count(DISTINCT CustomerId)"
		" FROM Invoice GROUP BY BillingCountry ORDER BY BillingCountry",
		-1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(conn));

	while (sqlite3_step(st) == SQLITE_ROW) {
		char country[64], first[32], last[32], want_first[32],
		     want_last[32], revenue[32], avg[32];
		int invoices, customers;

		line = strtok_r(NULL, "\n", &save);
		cr_assert_not_null(line, "output has fewer rows than SQL");
		/* Revenue and its average are decimals: their digits. */
		cr_assert_eq(sscanf(line,
				    "%63[^,],%d,%31[^,],%31[^,],%31[^,],%31[^,],%d",
				    country, &invoices, revenue, avg, first,
				    last, &customers), 7, "bad row: %s", line);
		rfc3339(want_first, sizeof want_first,
			(const char *)sqlite3_column_text(st, 4));
		rfc3339(want_last, sizeof want_last,
			(const char *)sqlite3_column_text(st, 5));

		cr_expect_str_eq(country, (const char *)sqlite3_column_text(st, 0));
		cr_expect_eq(invoices, sqlite3_column_int(st, 1), "%s", country);
		cr_expect_str_eq(revenue, (const char *)sqlite3_column_text(st, 2),
				 "%s", country);
		cr_expect_str_eq(avg, (const char *)sqlite3_column_text(st, 3),
				 "%s", country);
		cr_expect_str_eq(first, want_first, "%s", country);
		cr_expect_str_eq(last, want_last, "%s", country);
		cr_expect_eq(customers, sqlite3_column_int(st, 6), "%s", country);
		rows++;
		total += invoices;
	}
	cr_assert_null(strtok_r(NULL, "\n", &save), "output has more rows than SQL");
	cr_assert_eq(rows, 24);
	cr_assert_eq(total, 412);
	cr_assert_eq(tu_shm_count(), 0);

	sqlite3_finalize(st);
	sqlite3_close(conn);
	free(db);
	free(text);
	free(out);
	free(log);
}

/* What SQLite's query gives as CSV with a header, each column as text. */
static char *sqlite_csv(const char *header, const char *query)
{
	char *db, *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	sqlite3 *conn;
	sqlite3_stmt *st;

	if (asprintf(&db, "%s/sample_data/chinook.sqlite", tu_srcdir()) < 0)
		cr_assert_fail("out of memory");
	cr_assert_eq(sqlite3_open_v2(db, &conn, SQLITE_OPEN_READONLY, NULL),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(conn, query, -1, &st, NULL), SQLITE_OK,
		     "%s", sqlite3_errmsg(conn));
	fprintf(f, "%s\n", header);
	while (sqlite3_step(st) == SQLITE_ROW)
		for (int i = 0; i < sqlite3_column_count(st); i++)
			fprintf(f, "%s%s", (const char *)sqlite3_column_text(st, i),
				i + 1 < sqlite3_column_count(st) ? "," : "\n");
	sqlite3_finalize(st);
	sqlite3_close(conn);
	fclose(f);
	free(db);
	return out;
}

Test(e2e, the_extra_reports_of_the_same_read_equal_sql)
{
	char *out = tu_path(dir, "result.csv"), *log = tu_path(dir, "log");
	char *logtext, *got, *want;
	int rc;

	rc = run_demo(out, log);
	logtext = tu_read(log, NULL);
	cr_assert_eq(rc, 0, "run-demo.sh failed:\n%s", logtext);
	/* The demo prints every report. */
	cr_assert(strstr(logtext, "revenue_by_month.csv\n\nmonth,invoices,"
				  "revenue\n2021-01-01T00:00:00Z,"), "%s",
		  logtext);
	cr_assert(strstr(logtext, "top_countries.csv\n\ncountry,revenue,"
				  "invoices\nUSA,"), "%s", logtext);
	free(logtext);

	got = tu_get(dir, "revenue_by_month.csv");
	want = sqlite_csv("month,invoices,revenue",
		"SELECT strftime('%Y-%m-01T00:00:00Z', InvoiceDate), count(*),"
		" printf('%.2f', sum(Total)) FROM Invoice"
		" GROUP BY 1 ORDER BY 1");
	cr_assert_not_null(got);
	cr_assert_str_eq(got, want, "aggregate:\n%s\nSQLite:\n%s", got, want);
	free(got);
	free(want);

	got = tu_get(dir, "top_countries.csv");
	want = sqlite_csv("country,revenue,invoices",
		"SELECT BillingCountry, printf('%.2f', sum(Total)), count(*)"
		" FROM Invoice GROUP BY 1"
		" ORDER BY sum(Total) DESC, BillingCountry LIMIT 5");
	cr_assert_not_null(got);
	cr_assert_str_eq(got, want, "aggregate:\n%s\nSQLite:\n%s", got, want);
	free(got);
	free(want);
	cr_assert_eq(tu_shm_count(), 0);
	free(out);
	free(log);
}
