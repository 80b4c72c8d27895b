/*
 * test_aggs.c - stddev, stddev_pop, variance, var_pop, median, percentile,
 * arg_min and arg_max, end to end, with PostgreSQL as the oracle.
 *
 * The same random rows go to the aggregate binary as CSV files and into a
 * table of a real PostgreSQL server, and the binary's CSV output must
 * equal byte for byte what PostgreSQL writes for the same SQL: groups of
 * 0, 1, 2 and many values, NULLs, ints, floats and decimals.
 *
 * PostgreSQL's variance of int and numeric is numeric: the oracle casts
 * the input to numeric(38,20), whose result carries 40 decimals, and
 * casts the result to float8: the correctly rounded double of the exact
 * value, which is what the binary computes.  The floats are multiples of
 * 1/8, so that float8 -> numeric is exact and the same holds for them
 * (PostgreSQL's own float8 variance rounds at every row).  percentile_cont
 * is PostgreSQL's (float8 in, float8 out); arg_min(f, g) is
 * (array_agg(f ORDER BY g, f) FILTER (WHERE f, g NOT NULL))[1].
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "helpers/pgtest.h"
#include "helpers/testutil.h"

PGT_START_BEFORE_ALL()
PGT_STOP_AFTER_ALL()

static struct pgt_fixture fx;

PGT_SUITE(aggs, fx, "ag", 300);

/*
 * n rows "id,grp,i,f,d,t": group g1 has one row, g2 two, g0 one with
 * every value NULL, g3..g8 the rest; i -50..50, f a multiple of 1/8,
 * d numeric(12,3), t one of 5 names; each NULL 1 in 10.
 */
static char *rand_rows(int n, uint64_t seed)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	uint64_t s = seed;
	int i;

	for (i = 1; i <= n; i++) {
		uint64_t r = tu_rng(&s), r2 = tu_rng(&s);
		int g = i == 1 ? 1 : i <= 3 ? 2 : i == 4 ? 0 :
			3 + (int)(r % 6);

		fprintf(f, "%d,g%d,", i, g);
		if (g != 0 && (r >> 8) % 10)
			fprintf(f, "%d", (int)((r >> 16) % 101) - 50);
		fputc(',', f);
		if (g != 0 && (r >> 24) % 10)
			fprintf(f, "%.3f", ((double)(int64_t)((r2 % 20001)) - 10000) / 8);
		fputc(',', f);
		if (g != 0 && (r >> 32) % 10)
			fprintf(f, "%s%d.%03d", (r2 >> 20) % 3 ? "" : "-",
				(int)((r2 >> 24) % 1000000000),
				(int)((r2 >> 56) % 1000));
		fputc(',', f);
		if ((r >> 40) % 10)
			fprintf(f, "n%d", (int)((r >> 44) % 5));
		fputc('\n', f);
	}
	fclose(f);
	return out;
}

static void load(const char *rows)
{
	pgt_table(fx.db, fx.table, "id bigint, grp text, i bigint, f float8,"
		  " d numeric(12,3), t text", rows, false);
}

#define FIELDS "fields = id:int, grp:text, i:int, f:float, d:decimal(12,3), t:text\n"

/* The report of [aggregate] keys agg over data.csv, as CSV. */
static char *run_report(const char *agg)
{
	char *conf, *out;

	cr_assert(asprintf(&conf,
		"[aggregate]\n"
		"output = out.csv\n"
		FIELDS
		"%s\n"
		"[provider f]\n"
		"type = file\n"
		"path = data.csv\n"
		"header = false\n", agg) > 0);
	out = pgt_run(&fx, conf, NULL);
	free(conf);
	return out;
}

#define CHECK(agg, ...) do { \
		char *got_ = run_report(agg); \
		pgt_expect_csv(fx.db, got_, agg, __VA_ARGS__); \
		free(got_); \
	} while (0)

#define VAR_SQL(x) \
	"stddev_samp(" x "::numeric(38,20))::float8 AS sd," \
	" stddev_pop(" x "::numeric(38,20))::float8 AS sdp," \
	" var_samp(" x "::numeric(38,20))::float8 AS v," \
	" var_pop(" x "::numeric(38,20))::float8 AS vp"
#define VAR_AGG(x) "stddev(" x ") as sd, stddev_pop(" x ") as sdp, " \
	"variance(" x ") as v, var_pop(" x ") as vp"

Test(aggs, variance_matches_postgres)
{
	char *rows = rand_rows(tu_scale(3000), 0x5eed0001ULL);

	load(rows);
	tu_put(fx.dir, "data.csv", rows);
	CHECK("group_by = grp\naggregates = " VAR_AGG("i") "\n",
	      "SELECT grp, " VAR_SQL("i") " FROM %s GROUP BY grp ORDER BY grp",
	      fx.table);
	CHECK("group_by = grp\naggregates = " VAR_AGG("f") "\n",
	      "SELECT grp, " VAR_SQL("f") " FROM %s GROUP BY grp ORDER BY grp",
	      fx.table);
	CHECK("group_by = grp\naggregates = " VAR_AGG("d") "\n",
	      "SELECT grp, " VAR_SQL("d") " FROM %s GROUP BY grp ORDER BY grp",
	      fx.table);
	/* the whole table: one row */
	CHECK("aggregates = " VAR_AGG("d") "\n",
	      "SELECT " VAR_SQL("d") " FROM %s", fx.table);
	free(rows);
}

Test(aggs, percentiles_match_postgres)
{
	char *rows = rand_rows(tu_scale(3000), 0x5eed0002ULL);

	load(rows);
	tu_put(fx.dir, "data.csv", rows);
	CHECK("group_by = grp\naggregates = median(i) as m, percentile(i, 0) as p0,"
	      " percentile(i, 1) as p1, percentile(f, 0.25) as pf,"
	      " percentile(d, 0.9) as pd, median(d) as md, percentile(f, 0.333) as pf3\n",
	      "SELECT grp, percentile_cont(0.5) WITHIN GROUP (ORDER BY i) AS m,"
	      " percentile_cont(0) WITHIN GROUP (ORDER BY i) AS p0,"
	      " percentile_cont(1) WITHIN GROUP (ORDER BY i) AS p1,"
	      " percentile_cont(0.25) WITHIN GROUP (ORDER BY f) AS pf,"
	      " percentile_cont(0.9) WITHIN GROUP (ORDER BY d) AS pd,"
	      " percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS md,"
	      " percentile_cont(0.333) WITHIN GROUP (ORDER BY f) AS pf3"
	      " FROM %s GROUP BY grp ORDER BY grp", fx.table);
	free(rows);
}

#define ARG_SQL(fn, f, g, dir) \
	"(array_agg(" f " ORDER BY " g " " dir ", " f ") FILTER (WHERE " f \
	" IS NOT NULL AND " g " IS NOT NULL))[1] AS " fn

Test(aggs, arg_min_arg_max_match_postgres)
{
	char *rows = rand_rows(tu_scale(3000), 0x5eed0003ULL);

	load(rows);
	tu_put(fx.dir, "data.csv", rows);
	/* t has 5 values, i 101: ties on g, broken by the least f */
	CHECK("group_by = grp\naggregates = arg_min(t, i) as a1, arg_max(t, i) as a2,"
	      " arg_min(i, t) as a3, arg_max(d, t) as a4, arg_min(f, d) as a5,"
	      " arg_max(id, i) as a6\n",
	      "SELECT grp, " ARG_SQL("a1", "t", "i", "") ", "
	      ARG_SQL("a2", "t", "i", "DESC") ", "
	      ARG_SQL("a3", "i", "t COLLATE \"C\"", "") ", "
	      ARG_SQL("a4", "d", "t COLLATE \"C\"", "DESC") ", "
	      ARG_SQL("a5", "f", "d", "") ", "
	      ARG_SQL("a6", "id", "i", "DESC")
	      " FROM %s GROUP BY grp ORDER BY grp", fx.table);
	free(rows);
}

/* The same rows over three providers, split two ways: the same bytes. */
Test(aggs, same_rows_any_split_same_bytes)
{
	int n = tu_scale(3000), i, k;
	char *rows = rand_rows(n, 0x5eed0004ULL), *line, *save = NULL;
	char *parts[2][3] = { { 0 } };
	size_t lens[2][3] = { { 0 } };
	FILE *f[2][3];
	char *out[3];
	uint64_t s = 7;

	tu_put(fx.dir, "data.csv", rows);
	out[2] = run_report("group_by = grp\naggregates = " VAR_AGG("f") ", "
			    "stddev(d), stddev_pop(d), variance(d), var_pop(d), median(f), percentile(d, 0.7) as p,"
			    " arg_min(t, i), arg_max(f, d)\n");
	for (k = 0; k < 2; k++)
		for (i = 0; i < 3; i++)
			f[k][i] = open_memstream(&parts[k][i], &lens[k][i]);
	for (line = strtok_r(rows, "\n", &save), i = 0; line;
	     line = strtok_r(NULL, "\n", &save), i++) {
		fprintf(f[0][i % 3], "%s\n", line);
		fprintf(f[1][tu_rng(&s) % 3], "%s\n", line);
	}
	for (k = 0; k < 2; k++) {
		for (i = 0; i < 3; i++)
			fclose(f[k][i]);
		for (i = 0; i < 3; i++) {
			char name[32];

			snprintf(name, sizeof name, "p%d.csv", i);
			tu_put(fx.dir, name, parts[k][(i + k) % 3]);
			free(parts[k][(i + k) % 3]);
		}
		out[k] = pgt_run(&fx, "[aggregate]\noutput = out.csv\n" FIELDS
			"group_by = grp\naggregates = " VAR_AGG("f") ", "
			"stddev(d), stddev_pop(d), variance(d), var_pop(d), median(f), percentile(d, 0.7) as p,"
			" arg_min(t, i), arg_max(f, d)\n"
			"[provider a]\ntype = file\npath = p0.csv\nheader = false\n"
			"[provider b]\ntype = file\npath = p1.csv\nheader = false\n"
			"[provider c]\ntype = file\npath = p2.csv\nheader = false\n", NULL);
	}
	cr_assert_str_eq(out[0], out[1]);
	cr_assert_str_eq(out[0], out[2]);
	for (k = 0; k < 3; k++)
		free(out[k]);
	free(rows);
}

/*
 * Past `memory`, percentiles' values go to a temporary file in sorted
 * runs: the same bytes as in memory and as PostgreSQL, over two providers
 * (their tables' runs are combined), and nothing left in TMPDIR.
 */
Test(aggs, percentiles_spill_past_memory)
{
	int n = 40000, i;
	char *rows = rand_rows(n, 0x5eed0005ULL), *line, *save = NULL;
	char *parts[2] = { NULL, NULL }, *out[2], *want, *tmp, env[600];
	size_t lens[2] = { 0, 0 };
	FILE *f[2];
	struct tu_result r;
	static const char *const mem[2] = { "memory = 64K\n", "" };

	load(rows);
	want = pgt_copy_csv(fx.db, "SELECT grp, percentile_cont(0.5) WITHIN GROUP"
		" (ORDER BY f) AS m, percentile_cont(0.9) WITHIN GROUP (ORDER BY"
		" i) AS p9, percentile_cont(0.01) WITHIN GROUP (ORDER BY d) AS p1,"
		" percentile_cont(1) WITHIN GROUP (ORDER BY f) AS top"
		" FROM %s GROUP BY grp ORDER BY grp", fx.table);
	for (i = 0; i < 2; i++)
		f[i] = open_memstream(&parts[i], &lens[i]);
	for (line = strtok_r(rows, "\n", &save), i = 0; line;
	     line = strtok_r(NULL, "\n", &save), i++)
		fprintf(f[i % 7 == 0], "%s\n", line);
	for (i = 0; i < 2; i++) {
		fclose(f[i]);
		tu_put(fx.dir, i ? "p1.csv" : "p0.csv", parts[i]);
		free(parts[i]);
	}
	tmp = tu_path(fx.dir, "tmp");
	cr_assert_eq(mkdir(tmp, 0700), 0);
	snprintf(env, sizeof env, "TMPDIR=%s", tmp);
	for (i = 0; i < 2; i++) {
		char *conf;

		cr_assert(asprintf(&conf, "[aggregate]\noutput = out.csv\n" FIELDS
			"%sgroup_by = grp\naggregates = median(f) as m,"
			" percentile(i, 0.9) as p9, percentile(d, 0.01) as p1,"
			" percentile(f, 1) as top\n"
			"[provider a]\ntype = file\npath = p0.csv\nheader = false\n"
			"[provider b]\ntype = file\npath = p1.csv\nheader = false\n",
			mem[i]) > 0);
		tu_put(fx.dir, "aggs.conf", conf);
		tu_run(&r, fx.dir, (const char *[]){ "-c", "aggs.conf", NULL },
		       (const char *[]){ env, NULL });
		cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
		cr_assert_eq(strstr(r.err, "percentiles spill to disk memory=64K") != NULL,
			     i == 0, "%s", r.err);
		tu_result_free(&r);
		out[i] = tu_get(fx.dir, "out.csv");
		cr_assert_str_eq(out[i], want, "%s\naggregate:\n%s\nPostgreSQL:\n%s",
				 mem[i], out[i], want);
		cr_assert_eq(tu_count_entries(tmp), 0);
		free(conf);
	}
	free(out[0]);
	free(out[1]);
	free(want);
	free(tmp);
	free(rows);
}

Test(aggs, memory_key_errors)
{
	struct tu_result r;

	tu_put(fx.dir, "aggs.conf", "[aggregate]\noutput = out.csv\n" FIELDS
	       "memory = 1K\naggregates = median(f)\n"
	       "[provider a]\ntype = file\npath = p0.csv\nheader = false\n");
	tu_run(&r, fx.dir, (const char *[]){ "-c", "aggs.conf", NULL }, NULL);
	cr_assert_eq(r.status, 78, "%s", r.err);
	cr_assert(strstr(r.err, "aggs.conf:4") && strstr(r.err, "at least 64K"),
		  "%s", r.err);
	tu_result_free(&r);
	tu_put(fx.dir, "aggs.conf", "[aggregate]\noutput = out.csv\n" FIELDS
	       "aggregates = median(f)\n"
	       "[output o]\noutput = o.csv\nmemory = 1M\n"
	       "[provider a]\ntype = file\npath = p0.csv\nheader = false\n");
	tu_run(&r, fx.dir, (const char *[]){ "-c", "aggs.conf", NULL }, NULL);
	cr_assert_eq(r.status, 78, "%s", r.err);
	cr_assert(strstr(r.err, "aggs.conf:7"), "%s", r.err);
	tu_result_free(&r);
}

/* -0 and 0 are equal but print apart: either order gives the same bytes. */
Test(aggs, minus_zero_percentiles_do_not_depend_on_order)
{
	static const char *const data[2] = {
		"1,a,,-0,,\n2,a,,0,,\n3,a,,0,,\n4,a,,-0,,\n",
		"1,a,,0,,\n2,a,,-0,,\n3,a,,0,,\n4,a,,-0,,\n",
	};
	char *out[2];

	for (int i = 0; i < 2; i++) {
		tu_put(fx.dir, "data.csv", data[i]);
		out[i] = run_report("group_by = grp\naggregates = percentile(f, 0)"
				    " as lo, percentile(f, 0.5) as m,"
				    " percentile(f, 1) as hi\n");
	}
	cr_assert_str_eq(out[0], out[1]);
	cr_assert_str_eq(out[0], "grp,lo,m,hi\na,-0,0,0\n");
	free(out[0]);
	free(out[1]);
}
