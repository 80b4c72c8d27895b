/*
 * test_pushdown.c - aggregate pushdown of the postgres provider, end to
 * end against a real PostgreSQL.
 *
 * Random tables (texts with NULLs, case, UTF-8, commas and quotes; ints
 * up to 2^40 with NULLs; numeric(12,2) at its ends; float8 across every
 * magnitude, subnormals and both zeros) are read twice: with pushdown
 * (the server's GROUP BY, its groups folded as states) and with
 * `pushdown = false` (the rows pulled).  The two outputs must be the same
 * bytes, and the counts, sums, mins and maxes must be PostgreSQL's own
 * GROUP BY's over the same rows (COPY ... CSV, text compared bytewise in
 * the "C" collation, NULL keys last as ours).  Configs that cannot be
 * pushed down are pulled and --check says why; providers killed in the
 * middle of the groups (AGG_FAULT) restart and give the same bytes;
 * shards push down each their share and merge to the single run's bytes.
 * The sqlite provider likewise, against SQLite's own GROUP BY (BINARY
 * collation) over a column declared NOCASE, and with values of other
 * types, which it pulls.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "helpers/pgtest.h"
#include "helpers/testutil.h"

PGT_START_BEFORE_ALL()
PGT_STOP_AFTER_ALL()

static char *dir;
static PGconn *db;
static char tname[64];
static uint64_t seed;

static void setup(void)
{
	tu_watchdog(600);
	dir = tu_tmpdir();
	db = pgt_connect();
	pgt_sql(db, "SET client_min_messages = warning");
	snprintf(tname, sizeof tname, "pd_%ld", (long)getpid());
}

static void teardown(void)
{
	if (db)
		pgt_sql(db, "DROP TABLE IF EXISTS %s", tname);
	PQfinish(db);
	db = NULL;
	tu_tmpdir_free(&dir);
}

TestSuite(pushdown, .init = setup, .fini = teardown);

static uint64_t rnd(uint64_t n)
{
	return tu_rng(&seed) % n;
}

static const char *const texts[] = {
	"a", "b", "B", "", "Hello, World", "say \"hi\"", "caf\xc3\xa9",
	"cafe", "ab", "abc", "12", "z", "\xe2\x82\xac", "A",
};
#define NTEXTS (int)(sizeof texts / sizeof texts[0])

/* A double of any magnitude, or one of the edge values. */
static void put_float(FILE *f, bool finite)
{
	static const char *const edges[] = {
		"0", "-0", "4.9406564584124654e-324", "-2.2250738585072009e-308",
		"1.7976931348623157e308", "-1.7976931348623157e308", "1e16",
		"-1e16", "0.1", "Infinity", "-Infinity", "NaN",
	};
	int n = finite ? 9 : 12;

	if (rnd(4) == 0) {
		fputs(edges[rnd((uint64_t)n)], f);
		return;
	}
	fprintf(f, "%.17g", ldexp((double)rnd(1u << 30) - (1 << 29),
				  (int)rnd(200) - 100));
}

/*
 * Table tname of n rows: id, k text, g int, i int8, d numeric(12,2),
 * f float8; nulls in every column but id.  NaN and infinities in f only
 * when !finite.
 */
static void make_table(int n, int nk, bool finite)
{
	char *csv = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&csv, &len);

	pgt_sql(db, "DROP TABLE IF EXISTS %s", tname);
	pgt_sql(db, "CREATE TABLE %s (id int, k text, g int, i int8, "
		"d numeric(12,2), f float8)", tname);
	for (int r = 0; r < n; r++) {
		fprintf(f, "%d,", r);
		if (rnd(10))
			tu_csv_text(f, texts[rnd((uint64_t)nk)]);
		fputc(',', f);
		if (rnd(10))
			fprintf(f, "%d", (int)rnd(4));
		fputc(',', f);
		if (rnd(8))
			fprintf(f, "%lld", rnd(3) ? (long long)rnd(2001) - 1000
				: (long long)rnd(1ull << 41) - (1ll << 40));
		fputc(',', f);
		if (rnd(8)) {
			if (rnd(5) == 0)
				fputs(rnd(2) ? "9999999999.99" : "-9999999999.99", f);
			else
				fprintf(f, "%lld.%02d", (long long)rnd(200001) - 100000,
					(int)rnd(100));
		}
		fputc(',', f);
		if (rnd(8))
			put_float(f, finite);
		fputc('\n', f);
	}
	fclose(f);
	pgt_load_csv(db, tname, csv, false);
	free(csv);
}

#define FIELDS "k:text, g:int, i:int, d:decimal(12,2), f:float"

static const char *const AGGS =
	"count(*), count(i), sum(i), avg(i), min(i), max(i), sum(d), avg(d), "
	"min(d), max(d), min(k), max(k), count(d), count(f), sum(f), avg(f)";

/* The same aggregates in SQL, as our output names them (avg left out). */
static const char *const SQL_AGGS =
	"count(*) AS count, count(i) AS count_i, sum(i) AS sum_i, "
	"min(i) AS min_i, max(i) AS max_i, sum(d) AS sum_d, "
	"min(d) AS min_d, max(d) AS max_d, min(k COLLATE \"C\") AS min_k, "
	"max(k COLLATE \"C\") AS max_k, count(d) AS count_d, "
	"count(f) AS count_f";

/* Write the config conf.conf (pushdown as said) and run it; -v. */
static int run(struct tu_result *r, const char *group_by, const char *aggs,
	       const char *extra, bool push, const char *const *env)
{
	char *conf;

	cr_assert(asprintf(&conf, "[aggregate]\noutput = out.csv\n"
			   "fields = " FIELDS "\n%s%s%s%s%s%s"
			   "[provider p]\ntype = postgres\n"
			   "query = SELECT k, g, i, d, f FROM %s\n"
			   "batch = 5\npushdown = %s\n%s",
			   group_by ? "group_by = " : "",
			   group_by ? group_by : "", group_by ? "\n" : "",
			   aggs ? "aggregates = " : "", aggs ? aggs : "",
			   aggs ? "\n" : "", tname, push ? "true" : "false",
			   extra ? extra : "") > 0);
	tu_put(dir, "conf.conf", conf);
	free(conf);
	return tu_run(r, dir, (const char *[]){ "-v", "-c", "conf.conf",
						NULL }, env);
}

/* The output of a run that must succeed; free() it. */
static char *output(const char *group_by, const char *aggs,
		    const char *extra, bool push, const char *const *env,
		    bool *pushed)
{
	struct tu_result r;

	run(&r, group_by, aggs, extra, push, env);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	*pushed = strstr(r.err, "pushdown done") != NULL;
	tu_result_free(&r);
	return tu_get(dir, "out.csv");
}

/* Pushed and pulled, the same bytes; the pushed run did push. */
static char *same_both_ways(const char *group_by, const char *aggs)
{
	bool pushed, pulled;
	char *a = output(group_by, aggs, NULL, true, NULL, &pushed);
	char *b = output(group_by, aggs, NULL, false, NULL, &pulled);

	cr_assert(pushed, "the run did not push down");
	cr_assert(!pulled, "pushdown = false pushed down");
	cr_assert_str_eq(a, b, "pushed:\n%s\npulled:\n%s", a, b);
	free(b);
	return a;
}

Test(pushdown, random_tables_same_as_pulling_and_as_postgres)
{
	static const char *const keys[] = { "k, g", "g", "k", NULL };

	for (int s = 1; s <= 3; s++) {
		seed = 0x9e3779b97f4a7c15ull * (uint64_t)s;
		make_table(tu_scale(3000), 3 + s * 3, true);
		for (int j = 0; j < 4; j++) {
			const char *gb = keys[j];
			char *got = same_both_ways(gb, AGGS);
			char *want = pgt_copy_csv(db,
				"SELECT %s%s%s FROM %s %s%s %s%s",
				gb ? gb : "", gb ? ", " : "", SQL_AGGS, tname,
				gb ? "GROUP BY " : "", gb ? gb : "",
				gb ? "ORDER BY " : "HAVING count(*) > 0",
				gb ? (strcmp(gb, "g") == 0 ? "g" :
				      strcmp(gb, "k") == 0 ? "k COLLATE \"C\"" :
				      "k COLLATE \"C\", g") : "");
			char *ours;

			/* Ours again without the avg columns, for the oracle. */
			ours = output(gb, "count(*), count(i), sum(i), min(i), "
				      "max(i), sum(d), min(d), max(d), min(k), "
				      "max(k), count(d), count(f)", NULL, true,
				      NULL, &(bool){ false });
			cr_assert_str_eq(ours, want, "seed %d, group_by %s:\n"
					 "ours:\n%s\npostgres:\n%s", s,
					 gb ? gb : "(none)", ours, want);
			free(ours);
			free(want);
			free(got);
		}
	}
}

Test(pushdown, an_empty_table_and_one_group_for_everything)
{
	seed = 7;
	make_table(0, 3, true);
	free(same_both_ways("k, g", AGGS));
	free(same_both_ways(NULL, AGGS));
	make_table(50, 3, true);
	free(same_both_ways(NULL, AGGS));
}

/*
 * NaN or an infinity in a float column would be a reject when pulled: a
 * pushed run fails the provider saying so, rather than count it.
 */
Test(pushdown, a_value_that_would_be_a_reject_fails_the_pushed_run)
{
	struct tu_result r;

	seed = 11;
	make_table(400, 5, false);
	pgt_sql(db, "UPDATE %s SET f = 'NaN' WHERE id = 7", tname);
	run(&r, "k", "count(*), sum(i)", NULL, true, NULL);
	cr_assert_neq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.err, "pushdown = false reads them as rejects"),
		  "%s", r.err);
	tu_result_free(&r);
	run(&r, "k", "count(*), sum(i)", "max_rejects = 1000\n", false, NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	/* Summed, f's NaN and infinities are told by the sum's own key. */
	for (int j = 0; j < 2; j++) {
		make_table(400, 5, true);
		pgt_sql(db, "UPDATE %s SET f = '%s' WHERE id = 9", tname,
			j ? "-Infinity" : "NaN");
		run(&r, "k", "count(*), sum(f)", NULL, true, NULL);
		cr_assert_neq(r.status, 0, "%s", r.err);
		cr_assert(strstr(r.err, "1 values are NaN or infinite"), "%s",
			  r.err);
		tu_result_free(&r);
	}
}

static void check_says(const char *group_by, const char *aggs,
		       const char *extra, const char *says)
{
	struct tu_result r;
	bool pushed, pulled;
	bool off = extra && strcmp(extra, "pushdown = false\n") == 0;
	char *a, *b;

	run(&r, group_by, aggs, off ? NULL : extra, !off, NULL);
	tu_result_free(&r);
	tu_run(&r, dir, (const char *[]){ "--check", "-c", "conf.conf", NULL },
	       NULL);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, says) || strstr(r.err, says),
		  "--check does not say \"%s\":\n%s%s", says, r.out, r.err);
	tu_result_free(&r);
	if (strstr(says, "pushdown: no") == NULL || off)
		return;
	a = output(group_by, aggs, extra, true, NULL, &pushed);
	b = output(group_by, aggs, extra, false, NULL, &pulled);
	cr_assert(!pushed && !pulled);
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
}

Test(pushdown, check_says_what_is_pushed_down_and_why_not)
{
	seed = 3;
	make_table(300, 6, true);
	check_says("k, g", "count(*), sum(i), avg(d), min(k)", NULL,
		   "pushdown: GROUP BY k, g (count, sum(i), avg(d), min(k))");
	check_says(NULL, "count(*)", NULL, "pushdown: GROUP BY () (count)");
	check_says("k", "count(*), sum(f)", NULL,
		   "pushdown: GROUP BY k (count, sum(f))");
	check_says("k", "count(*), min(f)", NULL,
		   "pushdown: no (min_f of a float field)");
	check_says("k", "count_distinct(i)", NULL,
		   "pushdown: no (count_distinct_i cannot be combined");
	check_says("k", "count(*)", "where = i > 0\n", "pushdown: no (where)");
	check_says(NULL, NULL, NULL, "pushdown: no (union output)");
	check_says("k", "count(*)", "pushdown = false\n",
		   "pushdown: no (pushdown = false)");
}

/* Killed in the middle of its groups, at every kind of point. */
Test(pushdown, kills_during_the_groups_give_the_same_bytes)
{
	static const char *const faults[] = {
		"AGG_FAULT=p:1:after_records:3",
		"AGG_FAULT=p:1:before_checkpoint:4;p:2:mid_frame:2",
		"AGG_FAULT=p:1:after_checkpoint:2;p:2:after_records:1",
		"AGG_FAULT=p:1:record:17:segv",
		"AGG_FAULT=p:1:after_done:1",
	};
	char *want;
	bool pushed;

	TU_REQUIRE_HOOKS(teardown);
	seed = 5;
	make_table(tu_scale(2000), NTEXTS, true);
	want = output("k, g", AGGS, NULL, false, NULL, &pushed);
	for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
		const char *env[] = { faults[i], NULL };
		struct tu_result r;
		char *got;

		run(&r, "k, g", AGGS, "restart = 5\n", true, env);
		cr_assert_eq(r.status, 0, "%s: exit %d\n%s", faults[i],
			     r.status, r.err);
		cr_assert(strstr(r.err, "fault injected"), "%s: no fault:\n%s",
			  faults[i], r.err);
		cr_assert(strstr(r.err, "pushdown done"), "%s", r.err);
		tu_result_free(&r);
		got = tu_get(dir, "out.csv");
		cr_assert_str_eq(got, want, "%s:\n%s\n---\n%s", faults[i],
				 got, want);
		free(got);
	}
	free(want);
}

/* Each shard pushes its share down; the merge is the single run. */
Test(pushdown, shards_push_down_and_merge_to_the_single_run)
{
	char *conf, *want, *got;
	struct tu_result r;
	bool pushed;

	seed = 9;
	make_table(tu_scale(2000), NTEXTS, true);
	want = output("k, g", AGGS, NULL, false, NULL, &pushed);
	cr_assert(asprintf(&conf, "[aggregate]\noutput = out.csv\n"
			   "fields = " FIELDS "\ngroup_by = k, g\n"
			   "aggregates = %s\n[provider p]\ntype = postgres\n"
			   "query = SELECT k, g, i, d, f FROM %s "
			   "WHERE id %% ${SHARDS} = ${SHARD}\nshard = split\n",
			   AGGS, tname) > 0);
	tu_put(dir, "shard.conf", conf);
	free(conf);
	for (int i = 0; i < 3; i++) {
		char spec[16], part[32];

		snprintf(spec, sizeof spec, "%d/3", i);
		snprintf(part, sizeof part, "p%d.agp", i);
		tu_run(&r, dir, (const char *[]){ "-v", "-c", "shard.conf",
			"--shard", spec, "--partial", part, NULL }, NULL);
		cr_assert_eq(r.status, 0, "%s", r.err);
		cr_assert(strstr(r.err, "pushdown done"), "%s", r.err);
		tu_result_free(&r);
	}
	tu_run(&r, dir, (const char *[]){ "merge", "-q", "-c", "shard.conf",
		"p0.agp", "p1.agp", "p2.agp", NULL }, NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	got = tu_get(dir, "out.csv");
	cr_assert_str_eq(got, want, "merged:\n%s\nsingle run:\n%s", got, want);
	free(got);
	free(want);
}

/*
 * Our out.csv of sum(f), avg(f) by g against Python's exact arithmetic
 * over the table's rows (seed s in the message); then pushed = pulled.
 */
static void oracle_agrees(int s)
{
	char cmd[1024], *rows;
	int rc;

	rows = pgt_copy_csv(db, "SELECT g, f FROM %s", tname);
	tu_put(dir, "rows.csv", rows);
	free(rows);
	snprintf(cmd, sizeof cmd, "python3 '%s/tests/fixtures/"
		 "pushdown_fsum_oracle.py' '%s/rows.csv' '%s/out.csv'",
		 tu_srcdir(), dir, dir);
	rc = system(cmd);
	cr_assert_eq(rc, 0, "the oracle disagrees (seed %d)", s);
	free(same_both_ways("g", "sum(f), avg(f), count(*)"));
}

/*
 * Float sums and averages pushed down, to the bit against Python's exact
 * arithmetic (math.fsum, fractions), groups of doubles of every magnitude
 * that cancel, subnormals and both zeros.
 */
Test(pushdown, float_sums_are_exact_to_the_bit)
{
	bool pushed;

	for (int s = 1; s <= 3; s++) {
		seed = 0xabcdefull * (uint64_t)s;
		make_table(tu_scale(4000), 3, true);
		/* Values that cancel to the last bit, in one group. */
		pgt_sql(db, "INSERT INTO %s (id, g, f) VALUES (-1, 9, 1e300), "
			"(-2, 9, 1), (-3, 9, -1e300), (-4, 9, 5e-324), "
			"(-5, 10, '-0'), (-6, 10, '-0'), (-7, 11, '0'), "
			"(-8, 11, '-0'), (-9, 12, NULL)", tname);
		free(output("g", "sum(f), avg(f)", NULL, true, NULL, &pushed));
		cr_assert(pushed);
		oracle_agrees(s);
	}
}

/*
 * Table tname of n rows whose doubles all lie in [2^-61, 2^63) in
 * magnitude, or are zeros, in 8 groups (integers, halves and the edges of
 * the int8 forms among them), with groups of only -0.0, of 0.0 and -0.0,
 * of values that cancel, and of NULL only.
 */
static void make_fast_table(int n)
{
	static const char *const edges[] = {
		"1", "-2048", "2047.5", "2048", "-2047.5", "1000000000000000.5",
		"-1000000000000000.5", "4611686018427387904",
		"-9223372036854775808", "9223372036854774784", "0.5", "-0.5",
	};
	char *csv = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&csv, &len);

	pgt_sql(db, "DROP TABLE IF EXISTS %s", tname);
	pgt_sql(db, "CREATE TABLE %s (id int, k text, g int, i int8, "
		"d numeric(12,2), f float8)", tname);
	for (int r = 0; r < n; r++) {
		double m = 1 + (double)(tu_rng(&seed) >> 11) * 0x1p-53;
		double x = ldexp(m, (int)rnd(124) - 61);
		int64_t k = (int64_t)rnd(1ull << 40) - (1ll << 39);

		fprintf(f, "%d,,%d,,,", r, (int)rnd(8));
		if (rnd(50) == 0)
			fputs(rnd(2) ? "0" : "-0", f);
		else if (rnd(20) == 0)
			fputs(edges[rnd(sizeof edges / sizeof *edges)], f);
		else if (rnd(10) == 0)
			fprintf(f, "%lld%s", (long long)k, rnd(2) ? ".5" : "");
		else if (rnd(30))
			fprintf(f, "%.17g", rnd(3) ? x : -x);
		fputc('\n', f);
	}
	fputs("-1,,20,,,-0\n-2,,20,,,-0\n-3,,21,,,-0\n-4,,21,,,0\n"
	      "-5,,22,,,1.5\n-6,,22,,,-1.5\n-7,,22,,,-0\n-8,,23,,,-0\n"
	      "-9,,23,,,\n-10,,24,,,\n-11,,25,,,4.3368086899420177e-19\n"
	      "-12,,25,,,-4.3368086899420177e-19\n-13,,25,,,2047.75\n"
	      "-14,,26,,,4611686018427387904\n-15,,26,,,-0\n"
	      "-16,,26,,,-4611686018427387904\n-17,,27,,,1000000000000000.5\n"
	      "-18,,27,,,-1000000000000000\n-19,,27,,,8.6736173798840355e-19\n"
	      "-20,,27,,,-0.5\n", f);
	fclose(f);
	pgt_load_csv(db, tname, csv, false);
	free(csv);
}

/* Our sum(f), avg(f) by g against the oracle; the form the run took. */
static void fsum_oracle(int s, const char *form)
{
	struct tu_result r;

	run(&r, "g", "sum(f), avg(f)", NULL, true, NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, form) != NULL, "not %s:\n%s", form, r.err);
	tu_result_free(&r);
	oracle_agrees(s);
}

/*
 * Doubles between 2^-62 and 2^63 in magnitude and zeros are summed as int8
 * sums grouped by the keys alone (one such sum per float below 2048, two
 * from 2048 on); one value outside (2^63, a large one, a
 * tiny one, the next double below -2^63) or a group's sum past what the
 * int8 form carries (a thousand times 2^62) and the statement grouped by
 * exponent runs instead, in the same snapshot.  Both to the bit, and the
 * zeros' signs as pulled.
 */
Test(pushdown, float_sums_in_int8_and_by_exponent_are_exact)
{
	static const char *const outside[] = {
		"9223372036854775808", "-1e300", "2.1e-19",
		"-9223372036854777856",
	};
	char *out;

	for (int s = 1; s <= 5; s++) {
		seed = 0x51ed2701ull * (uint64_t)s;
		make_fast_table(tu_scale(5000));
		if (s == 1) {
			/* Below 2048, the form with one int8 sum. */
			pgt_sql(db, "DELETE FROM %s WHERE abs(f) >= 2048", tname);
			fsum_oracle(s, "form=\"by keys, floats as int8\"");
			seed = 0x51ed2701ull * (uint64_t)s;
			make_fast_table(tu_scale(5000));
		}
		fsum_oracle(s, "form=\"by keys, floats as int8 pairs\"");
		out = tu_get(dir, "out.csv");
		cr_assert(strstr(out, "\n20,-0,-0,2\n") != NULL, "%s", out);
		cr_assert(strstr(out, "\n21,0,0,2\n") != NULL, "%s", out);
		cr_assert(strstr(out, "\n22,0,0,3\n") != NULL, "%s", out);
		cr_assert(strstr(out, "\n26,0,0,3\n") != NULL, "%s", out);
		cr_assert(strstr(out, "\n27,0,") == NULL, "%s", out);
		free(out);
		if (s <= 4)
			pgt_sql(db, "INSERT INTO %s (id, g, f) VALUES (-30, %d,"
				" %s)", tname, s, outside[s - 1]);
		else
			pgt_sql(db, "INSERT INTO %s (id, g, f) SELECT -30 - n, "
				"30, 4611686018427387904 FROM generate_series(1,"
				" 1000) AS n", tname);
		fsum_oracle(s, "form=\"by exponent\"");
	}
}

/*
 * The float sums from 2048 up, killed while their groups go out: each
 * attempt runs the same two statements in the snapshot (the first fails
 * on its first large value) and skips the groups counted before.
 */
Test(pushdown, kills_during_the_int8_pairs_give_the_same_bytes)
{
	static const char *const faults[] = {
		"AGG_FAULT=p:1:after_records:3",
		"AGG_FAULT=p:1:before_checkpoint:4;p:2:mid_frame:2",
		"AGG_FAULT=p:1:after_checkpoint:2;p:2:after_records:1",
		"AGG_FAULT=p:1:record:9:segv",
		"AGG_FAULT=p:1:after_done:1",
	};
	char *want;
	bool pushed;

	TU_REQUIRE_HOOKS(teardown);
	seed = 7;
	make_fast_table(tu_scale(2000));
	want = output("g", "sum(f), avg(f), count(*)", NULL, false, NULL,
		      &pushed);
	for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
		const char *env[] = { faults[i], NULL };
		struct tu_result r;
		char *got;

		run(&r, "g", "sum(f), avg(f), count(*)", "restart = 5\n", true,
		    env);
		cr_assert_eq(r.status, 0, "%s: exit %d\n%s", faults[i],
			     r.status, r.err);
		cr_assert(strstr(r.err, "fault injected"), "%s: no fault:\n%s",
			  faults[i], r.err);
		cr_assert(strstr(r.err, "form=\"by keys, floats as int8 "
				 "pairs\""), "%s", r.err);
		tu_result_free(&r);
		got = tu_get(dir, "out.csv");
		cr_assert_str_eq(got, want, "%s:\n%s\n---\n%s", faults[i],
				 got, want);
		free(got);
	}
	free(want);
}

/* A column of any type feeds a text field only carried; compared, text only. */
Test(pushdown, a_text_field_only_carried_may_come_from_any_column)
{
	static const char *const cases[][2] = {
		{ "g", "pushdown: GROUP BY g (count)" },
		{ "day", "pushdown: no (column day into text field day may not "
			 "convert)" },
	};
	struct tu_result r;
	char *conf;

	pgt_sql(db, "DROP TABLE IF EXISTS %s", tname);
	pgt_sql(db, "CREATE TABLE %s AS SELECT g, date '2024-01-01' + g AS day "
		"FROM generate_series(1, 50) g", tname);
	for (int i = 0; i < 2; i++) {
		cr_assert(asprintf(&conf, "[aggregate]\noutput = out.csv\n"
				   "fields = g:int, day:text\ngroup_by = %s\n"
				   "aggregates = count(*)\n[provider p]\n"
				   "type = postgres\nquery = SELECT g, day FROM "
				   "%s\n", cases[i][0], tname) > 0);
		tu_put(dir, "d.conf", conf);
		free(conf);
		tu_run(&r, dir, (const char *[]){ "--check", "-c", "d.conf",
						  NULL }, NULL);
		cr_assert(strstr(r.out, cases[i][1]), "%s%s", r.out, r.err);
		tu_result_free(&r);
	}
}

/* --- sqlite ------------------------------------------------------------ */

static void sq_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK,
		     "%s: %s", sql, msg ? msg : "?");
}

/* s.db in dir: t(id, k text COLLATE NOCASE, g int, i int), n rows. */
static sqlite3 *make_sqlite(int n)
{
	char *path = tu_path(dir, "s.db");
	sqlite3 *db;
	sqlite3_stmt *st;

	unlink(path);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	free(path);
	sq_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, "
		"k TEXT COLLATE NOCASE, g INT, i INT); BEGIN");
	cr_assert_eq(sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?, ?, ?, ?)",
					-1, &st, NULL), SQLITE_OK);
	for (int r = 0; r < n; r++) {
		sqlite3_bind_int(st, 1, r);
		if (rnd(10))
			sqlite3_bind_text(st, 2, texts[rnd(NTEXTS)], -1,
					  SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 2);
		if (rnd(10))
			sqlite3_bind_int(st, 3, (int)rnd(4));
		else
			sqlite3_bind_null(st, 3);
		if (rnd(8))
			sqlite3_bind_int64(st, 4, rnd(3) ? (long long)rnd(2001) - 1000
				: (long long)rnd(1ull << 41) - (1ll << 40));
		else
			sqlite3_bind_null(st, 4);
		cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	sq_exec(db, "COMMIT");
	return db;
}

/* A text field as our CSV writes it. */
static void csv_text(FILE *f, const unsigned char *s)
{
	if (*s == '\0' || strpbrk((const char *)s, ",\"\r\n"))
		tu_csv_text(f, (const char *)s);
	else
		fputs((const char *)s, f);
}

/* What SQLite's own GROUP BY gives, in our CSV form; free() it. */
static char *sqlite_csv(sqlite3 *db, const char *sql)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	sqlite3_stmt *st;
	int n;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK,
		     "%s: %s", sql, sqlite3_errmsg(db));
	n = sqlite3_column_count(st);
	for (int j = 0; j < n; j++)
		fprintf(f, "%s%s", j ? "," : "", sqlite3_column_name(st, j));
	fputc('\n', f);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int j = 0; j < n; j++) {
			if (j)
				fputc(',', f);
			switch (sqlite3_column_type(st, j)) {
			case SQLITE_NULL:
				break;
			case SQLITE_INTEGER:
				fprintf(f, "%lld", (long long)
					sqlite3_column_int64(st, j));
				break;
			default:
				csv_text(f, sqlite3_column_text(st, j));
			}
		}
		fputc('\n', f);
	}
	sqlite3_finalize(st);
	fclose(f);
	return out;
}

static int sq_run_conf(struct tu_result *r, const char *group_by,
		       const char *aggs, const char *extra, bool push,
		       const char *const *env)
{
	char *conf;

	cr_assert(asprintf(&conf, "[aggregate]\noutput = out.csv\n"
			   "fields = k:text, g:int, i:int\ngroup_by = %s\n"
			   "aggregates = %s\n[provider p]\ntype = sqlite\n"
			   "path = s.db\nquery = SELECT k, g, i FROM t\n"
			   "batch = 4\npushdown = %s\n%s", group_by, aggs,
			   push ? "true" : "false", extra ? extra : "") > 0);
	tu_put(dir, "s.conf", conf);
	free(conf);
	return tu_run(r, dir, (const char *[]){ "-v", "-c", "s.conf", NULL },
		      env);
}

static char *sq_output(const char *group_by, const char *aggs,
		       const char *extra, bool push, const char *const *env,
		       bool *pushed)
{
	struct tu_result r;

	sq_run_conf(&r, group_by, aggs, extra, push, env);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	*pushed = strstr(r.err, "pushdown done") != NULL;
	tu_result_free(&r);
	return tu_get(dir, "out.csv");
}

static const char *const SQ_AGGS =
	"count(*), count(i), sum(i), avg(i), min(i), max(i), min(k), max(k)";

Test(pushdown, sqlite_same_as_pulling_and_as_sqlite)
{
	static const char *const keys[] = { "k, g", "g", "k" };

	for (int s = 1; s <= 3; s++) {
		sqlite3 *db;

		seed = 0x5bd1e995ull * (uint64_t)s;
		db = make_sqlite(tu_scale(3000));
		for (int j = 0; j < 3; j++) {
			bool pushed, pulled;
			char *a = sq_output(keys[j], SQ_AGGS, NULL, true, NULL,
					    &pushed);
			char *b = sq_output(keys[j], SQ_AGGS, NULL, false, NULL,
					    &pulled);
			char *ours = sq_output(keys[j], "count(*), count(i), "
				"sum(i), min(i), max(i), min(k), max(k)", NULL,
				true, NULL, &pushed);
			char *sql, *want;

			cr_assert(pushed && !pulled);
			cr_assert_str_eq(a, b, "pushed:\n%s\npulled:\n%s", a, b);
			cr_assert(asprintf(&sql, "SELECT %s, count(*) AS count, "
				"count(i) AS count_i, sum(i) AS sum_i, min(i) AS "
				"min_i, max(i) AS max_i, min(k COLLATE BINARY) AS "
				"min_k, max(k COLLATE BINARY) AS max_k FROM t "
				"GROUP BY %s ORDER BY %s", strcmp(keys[j], "g") ?
				(strcmp(keys[j], "k") ? "k COLLATE BINARY AS k, g"
				 : "k COLLATE BINARY AS k") : "g",
				strcmp(keys[j], "g") ? (strcmp(keys[j], "k") ?
				"1, 2" : "1") : "1",
				strcmp(keys[j], "g") ? (strcmp(keys[j], "k") ?
				"k IS NULL, 1, g IS NULL, 2" : "k IS NULL, 1")
				: "g IS NULL, 1") > 0);
			want = sqlite_csv(db, sql);
			cr_assert_str_eq(ours, want, "%s:\nours:\n%s\n"
					 "sqlite:\n%s", sql, ours, want);
			free(sql);
			free(want);
			free(ours);
			free(a);
			free(b);
		}
		sqlite3_close(db);
	}
}

/* A value an int or text field would convert (or reject): pulled. */
Test(pushdown, sqlite_values_of_other_types_are_pulled)
{
	sqlite3 *db;
	bool pushed, pulled;
	char *a, *b;

	seed = 77;
	db = make_sqlite(500);
	sq_exec(db, "INSERT INTO t VALUES (1000, 'a', 1, 'x12'), "
		"(1001, 'b', 2, 2.5), (1002, x'ff', 1, 3)");
	sqlite3_close(db);
	a = sq_output("k, g", SQ_AGGS, "max_rejects = 10\n", true, NULL,
		      &pushed);
	b = sq_output("k, g", SQ_AGGS, "max_rejects = 10\n", false, NULL,
		      &pulled);
	cr_assert(!pushed && !pulled);
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
}

Test(pushdown, sqlite_kills_during_the_groups_give_the_same_bytes)
{
	static const char *const faults[] = {
		"AGG_FAULT=p:1:after_records:3",
		"AGG_FAULT=p:1:before_checkpoint:4;p:2:mid_frame:2",
		"AGG_FAULT=p:1:record:17:segv",
	};
	sqlite3 *db;
	char *want;
	bool pushed;

	TU_REQUIRE_HOOKS(teardown);
	seed = 15;
	db = make_sqlite(tu_scale(2000));
	sqlite3_close(db);
	want = sq_output("k, g", SQ_AGGS, NULL, false, NULL, &pushed);
	for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
		const char *env[] = { faults[i], NULL };
		struct tu_result r;
		char *got;

		sq_run_conf(&r, "k, g", SQ_AGGS, "restart = 5\n", true, env);
		cr_assert_eq(r.status, 0, "%s: exit %d\n%s", faults[i],
			     r.status, r.err);
		cr_assert(strstr(r.err, "fault injected") &&
			  strstr(r.err, "pushdown done"), "%s", r.err);
		tu_result_free(&r);
		got = tu_get(dir, "out.csv");
		cr_assert_str_eq(got, want, "%s:\n%s\n---\n%s", faults[i],
				 got, want);
		free(got);
	}
	free(want);
}

Test(pushdown, sqlite_check_says_what_is_pushed_down)
{
	struct tu_result r;
	sqlite3 *db;

	seed = 21;
	db = make_sqlite(10);
	sqlite3_close(db);
	sq_run_conf(&r, "k", "count(*), sum(i)", NULL, true, NULL);
	tu_result_free(&r);
	tu_run(&r, dir, (const char *[]){ "--check", "-c", "s.conf", NULL },
	       NULL);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "pushdown: GROUP BY k (count, sum(i)) when "
			 "every value is of its field's type"), "%s", r.out);
	tu_result_free(&r);
	sq_run_conf(&r, "k", "count(*), count_distinct(i)", NULL, true, NULL);
	tu_result_free(&r);
	tu_run(&r, dir, (const char *[]){ "--check", "-c", "s.conf", NULL },
	       NULL);
	cr_assert(strstr(r.out, "pushdown: no (count_distinct_i cannot be "
			 "combined from groups)"), "%s", r.out);
	tu_result_free(&r);
}
