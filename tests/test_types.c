/*
 * test_types.c - decimals, dates and timestamp formats in a time zone, end
 * to end, with PostgreSQL as the oracle.
 *
 * The same random rows go to the real aggregate binary and into a table of
 * a real PostgreSQL server (scripts/pg-test.sh, started once for this
 * program when PGHOST is unset).  The binary's report, written as CSV,
 * must equal byte for byte what PostgreSQL's own GROUP BY writes with
 * COPY ... TO STDOUT (FORMAT csv, HEADER) over the same rows: exact sums,
 * minima and maxima of numeric(12,2), averages rounded half away from zero
 * to 6 digits, dates, and local times read in Europe/Paris (DST gaps and
 * overlaps included) written as UTC.
 *
 * The rows reach the binary twice: as a CSV file (text converted by the
 * file provider, times through a strptime format) and as a PostgreSQL
 * provider over typed columns (numeric, date, timestamp without time zone
 * read in the provider's zone).  Values that do not fit their type are
 * rejects with their position, and the rest of the run goes on.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "helpers/pgtest.h"
#include "helpers/testutil.h"

PGT_START_BEFORE_ALL()
PGT_STOP_AFTER_ALL()

static struct pgt_fixture fx;

PGT_SUITE(types, fx, "ty", 300);

/*
 * A random amount as text: a sign now and then, up to 9 integer digits,
 * 0 to 4 fraction digits (3 and 4 round to the column's 2), sometimes an
 * exponent, sometimes empty (NULL).
 */
static void rand_amount(uint64_t *s, char *out, size_t cap)
{
	uint64_t r = tu_rng(s);
	int ilen = 1 + (int)(r % 9), flen = (int)(r / 9 % 5);
	char *o = out;

	if (r % 23 == 0) {
		*out = '\0';
		return;
	}
	if (r / 45 % 4 == 0)
		*o++ = '-';
	/* Mostly small amounts, some up to nine digits. */
	if (r / 180 % 3 != 0)
		ilen = 1 + ilen % 4;
	for (int i = 0; i < ilen; i++)
		*o++ = (char)('0' + tu_rng(s) % 10);
	if (flen > 0) {
		*o++ = '.';
		for (int i = 0; i < flen; i++)
			*o++ = (char)('0' + tu_rng(s) % 10);
	}
	if (r / 540 % 17 == 0 && ilen > 2)
		o += snprintf(o, 8, "e-%d", (int)(r % 2) + 1);
	*o = '\0';
	cr_assert_lt((size_t)(o - out), cap);
}

/*
 * A local time in Europe/Paris as dd/mm/YYYY HH:MM: on the nights the
 * clocks change (2024-03-31, 2024-10-27, 2025-03-30) often, between 00:00
 * and 04:59, so that gaps and overlaps come up; else any day of 2023-2025.
 */
static void rand_local(uint64_t *s, char *out, size_t cap, char *day,
		       size_t daycap)
{
	static const int edge[][3] = {
		{ 2024, 3, 31 }, { 2024, 10, 27 }, { 2025, 3, 30 },
	};
	uint64_t r = tu_rng(s);
	int y, m, d, hh, mm = (int)(r / 7 % 60);

	if (r % 3 == 0) {
		y = edge[r / 3 % 3][0];
		m = edge[r / 3 % 3][1];
		d = edge[r / 3 % 3][2];
		hh = (int)(r / 11 % 5);
	} else {
		y = 2023 + (int)(r / 3 % 3);
		m = 1 + (int)(r / 13 % 12);
		d = 1 + (int)(r / 157 % 28);
		hh = (int)(r / 4409 % 24);
	}
	snprintf(out, cap, "%02d/%02d/%04d %02d:%02d", d, m, y, hh, mm);
	snprintf(day, daycap, "%04d-%02d-%02d", y, m, d);
}

/* n random rows: grp, amount, day, local time; CSV without a header. */
static char *rand_rows(int n, uint64_t seed)
{
	char *out = NULL, amt[48], at[32], day[16];
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	for (int i = 0; i < n; i++) {
		rand_amount(&seed, amt, sizeof amt);
		rand_local(&seed, at, sizeof at, day, sizeof day);
		fprintf(f, "g%d,%s,%s,%s\n", (int)(tu_rng(&seed) % 7), amt,
			day, at);
	}
	fclose(f);
	return out;
}

/* The report both sides compute, as PostgreSQL writes it. */
#define ORACLE_SELECT \
	"SELECT grp, count(*) AS n, sum(amt) AS total," \
	" round(avg(amt), 6) AS mean, min(amt) AS lo, max(amt) AS hi," \
	" min(day) AS first_day, max(day) AS last_day," \
	" count(DISTINCT day) AS days," \
	" to_char(min(at) AT TIME ZONE 'UTC'," \
	"  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS first_at," \
	" to_char(max(at) AT TIME ZONE 'UTC'," \
	"  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS last_at" \
	" FROM %s GROUP BY grp ORDER BY grp COLLATE \"C\""

#define AGGREGATES \
	"aggregates = count(*) as n, sum(amt) as total, avg(amt) as mean,\n" \
	"  min(amt) as lo, max(amt) as hi, min(day) as first_day,\n" \
	"  max(day) as last_day, count_distinct(day) as days,\n" \
	"  min(at) as first_at, max(at) as last_at\n"

Test(types, csv_file_matches_postgres)
{
	char *rows = rand_rows(tu_scale(4000), 0x5eed1234abcdULL);
	char *want, *got, *q, *conf;

	pgt_sql(fx.db, "SET TimeZone = 'Europe/Paris'");
	pgt_sql(fx.db, "CREATE TEMP TABLE %s_raw (grp text, amt text, day text, at text)",
	    fx.table);
	cr_assert(asprintf(&q, "%s_raw", fx.table) > 0);
	pgt_load_csv(fx.db, q, rows, false);
	free(q);
	pgt_sql(fx.db, "CREATE TEMP TABLE %s AS SELECT grp, amt::numeric(12,2) AS amt,"
	    " day::date AS day, to_timestamp(at, 'DD/MM/YYYY HH24:MI') AS at"
	    " FROM %s_raw", fx.table, fx.table);
	cr_assert(asprintf(&q, ORACLE_SELECT, fx.table) > 0);
	want = pgt_copy_csv(fx.db, "%s", q);
	free(q);

	tu_put(fx.dir, "data.csv", rows);
	cr_assert(asprintf(&conf,
		"[aggregate]\n"
		"output = out.csv\n"
		"timezone = Europe/Paris\n"
		"fields = grp:text, amt:decimal(12,2), day:date,\n"
		"  at:timestamp('%%d/%%m/%%Y %%H:%%M')\n"
		"group_by = grp\n"
		AGGREGATES
		"[provider f]\n"
		"type = file\n"
		"path = data.csv\n"
		"header = false\n") > 0);
	got = pgt_run(&fx, conf, NULL);
	cr_assert_str_eq(got, want, "aggregate:\n%s\nPostgreSQL:\n%s", got,
			 want);
	free(conf);
	free(got);
	free(want);
	free(rows);
}

Test(types, postgres_provider_matches_postgres)
{
	char *rows = rand_rows(tu_scale(4000), 0xfeedbeef77ULL);
	char *want, *got, *q, *conf;

	pgt_sql(fx.db, "SET TimeZone = 'Europe/Paris'");
	pgt_sql(fx.db, "CREATE TABLE %s_raw (grp text, amt text, day text, at text)",
	    fx.table);
	cr_assert(asprintf(&q, "%s_raw", fx.table) > 0);
	pgt_load_csv(fx.db, q, rows, false);
	free(q);
	/* Local wall times, no zone: the provider reads them in its own. */
	pgt_sql(fx.db, "CREATE TABLE %s AS SELECT row_number() OVER () AS id, grp,"
	    " amt::numeric(12,2) AS amt, day::date AS day,"
	    " to_timestamp(at, 'DD/MM/YYYY HH24:MI')::timestamp AS at"
	    " FROM %s_raw", fx.table, fx.table);
	cr_assert(asprintf(&q, ORACLE_SELECT,
			   "(SELECT grp, amt, day, at AT TIME ZONE"
			   " 'Europe/Paris' AS at FROM ty_src) s") > 0);
	pgt_sql(fx.db, "CREATE TEMP VIEW ty_src AS SELECT * FROM %s", fx.table);
	want = pgt_copy_csv(fx.db, "%s", q);
	free(q);

	cr_assert(asprintf(&conf,
		"[aggregate]\n"
		"output = out.csv\n"
		"fields = id:int, grp:text, amt:decimal(12,2), day:date,\n"
		"  at:timestamp\n"
		"group_by = grp\n"
		AGGREGATES
		"[provider p]\n"
		"type = postgres\n"
		"timezone = Europe/Paris\n"
		"query = SELECT id, grp, amt, day, at FROM %s ORDER BY id\n"
		"key = id\n", fx.table) > 0);
	got = pgt_run(&fx, conf, NULL);
	cr_assert_str_eq(got, want, "aggregate:\n%s\nPostgreSQL:\n%s", got,
			 want);
	pgt_sql(fx.db, "DROP VIEW ty_src");
	pgt_sql(fx.db, "DROP TABLE %s", fx.table);
	pgt_sql(fx.db, "DROP TABLE %s_raw", fx.table);
	free(conf);
	free(got);
	free(want);
	free(rows);
}

/*
 * Values that do not fit: too many integer digits, a day that does not
 * exist, a time that matches no format.  Each is a reject naming its line
 * and why; the rows around them are counted, the bad ones are not.
 */
Test(types, misfits_are_rejects_with_their_line)
{
	struct tu_result r;
	char *out, *rej;

	tu_put(fx.dir, "data.csv",
	       "grp,amt,day,at\n"
	       "a,1.005,2024-02-29,31/03/2024 02:30\n"
	       "a,123456789012.5,2024-03-01,01/03/2024 10:00\n"
	       "a,-2.5,2023-02-29,01/03/2024 10:00\n"
	       "a,7,2024-03-01,2024-03-01 10:00\n"
	       "b,99999999.994,2024-03-01,1517966773840\n"
	       "b,99999999.995,2024-03-01,1517966773840\n"
	       "a,0.004,2024-12-31,27/10/2024 02:30\n");
	tu_put(fx.dir, "types.conf",
	       "[aggregate]\n"
	       "output = out.csv\n"
	       "timezone = Europe/Paris\n"
	       "fields = grp:text, amt:decimal(10,2), day:date,\n"
	       "  at:timestamp('%d/%m/%Y %H:%M', epoch_ms)\n"
	       "group_by = grp\n"
	       "aggregates = count(*) as n, sum(amt) as total,\n"
	       "  min(at) as first_at, max(at) as last_at\n"
	       "reject_file = rejects.jsonl\n"
	       "max_rejects = 10\n"
	       "[provider f]\n"
	       "type = file\n"
	       "path = data.csv\n");
	tu_run(&r, fx.dir, (const char *[]){ "-c", "types.conf", NULL }, NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	tu_result_free(&r);
	out = tu_get(fx.dir, "out.csv");
	/*
	 * 1.005 rounds half away from zero to 1.01; 02:30 on 2024-03-31 is
	 * in the gap, read as 03:30 CEST (01:30Z); 02:30 on 2024-10-27 is in
	 * the overlap, read as the later one, CET (01:30Z).  Line 7's
	 * 99999999.995 rounds to 100000000.00: nine integer digits, one too
	 * many for decimal(10,2).  An integer is epoch milliseconds.
	 */
	cr_assert_str_eq(out,
		"grp,n,total,first_at,last_at\n"
		"a,2,1.01,2024-03-31T01:30:00Z,2024-10-27T01:30:00Z\n"
		"b,1,99999999.99,2018-02-07T01:26:13.84Z,"
		"2018-02-07T01:26:13.84Z\n");
	rej = tu_get(fx.dir, "rejects.jsonl");
	cr_assert_not_null(rej);
	for (const char *const *p = (const char *const[]){
		     "\"position\":\"data.csv:3\"", "123456789012.5",
		     "\"position\":\"data.csv:4\"", "2023-02-29",
		     "\"position\":\"data.csv:5\"", "2024-03-01 10:00",
		     "\"position\":\"data.csv:7\"", "99999999.995",
		     NULL }; *p; p++)
		cr_assert(strstr(rej, *p) != NULL, "no %s in:\n%s", *p, rej);
	free(rej);
	free(out);
}
