/*
 * test_merge.c - union and group-by (aggregator/merge.c).
 *
 * Each test builds a struct cfg by hand (schema, providers, group_by,
 * aggregates), feeds records with merge_add() (or stages them:
 * merge_stage(), merge_commit()) and compares the exact CSV bytes that
 * merge_write() leaves in a fresh temporary folder.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../aggregator/merge.h"
#include "../common/config_agg.h"
#include "../common/convert.h"
#include "helpers/testutil.h"

static char *tmpdir;
static char outpath[512];

static void make_tmpdir(void)
{
	tmpdir = tu_tmpdir();
}

static void remove_tmpdir(void)
{
	tu_tmpdir_free(&tmpdir);
}

TestSuite(merge, .init = make_tmpdir, .fini = remove_tmpdir);

/* Loops shrink under the sanitizers. */
/* The schema every test uses. */
enum { F_REGION, F_DAY, F_AMOUNT, F_QTY, F_NAME, F_FLAG, NF };

static struct rec_field fields[NF] = {
	{ .name = "region", .type = REC_TEXT }, { .name = "day", .type = REC_TIMESTAMP },
	{ .name = "amount", .type = REC_FLOAT }, { .name = "qty", .type = REC_INT },
	{ .name = "name", .type = REC_TEXT },   { .name = "ok", .type = REC_BOOL },
};

static struct cfg_provider provs[3] = {
	{ .name = "a" }, { .name = "b" }, { .name = "c" },
};

static void set_cfg(struct cfg *cfg, const char *file)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(outpath, sizeof(outpath), "%s/%s", tmpdir, file);
	cfg->output = outpath;
	cfg->format = CFG_FMT_CSV;
	cfg->schema.nfields = NF;
	cfg->schema.fields = fields;
	cfg->mode = CFG_MODE_UNION;
	cfg->providers = provs;
	cfg->nproviders = 3;
}

static char *slurp(const char *path)
{
	char *buf = tu_read(path, NULL);

	cr_assert_not_null(buf, "open %s: %s", path, strerror(errno));
	return buf;
}

static int count_entries(void)
{
	int n = tu_count_entries(tmpdir);

	cr_assert_geq(n, 0, "%s: %s", tmpdir, strerror(errno));
	return n;
}

/*
 * A record from a compact description; NULL text (or the marker values
 * below) means NULL.
 */
#define NO_INT INT64_MIN /* so tests use INT64_MIN + 1 as a value */
#define NO_F (-1e308)
#define NO_B (-1)

static void rec(struct rec_value v[NF], const char *region, int64_t day,
		double amount, int64_t qty, const char *name, int ok)
{
	memset(v, 0, sizeof(struct rec_value) * NF);
	v[F_REGION].null = region == NULL;
	if (region) {
		v[F_REGION].u.s.p = region;
		v[F_REGION].u.s.len = (uint32_t)strlen(region);
	}
	v[F_DAY].null = day == NO_INT;
	v[F_DAY].u.i = day;
	v[F_AMOUNT].null = amount == NO_F;
	v[F_AMOUNT].u.f = amount;
	v[F_QTY].null = qty == NO_INT;
	v[F_QTY].u.i = qty;
	v[F_NAME].null = name == NULL;
	if (name) {
		v[F_NAME].u.s.p = name;
		v[F_NAME].u.s.len = (uint32_t)strlen(name);
	}
	v[F_FLAG].null = ok == NO_B;
	v[F_FLAG].u.b = ok == 1;
}

static void add(struct merge *m, int pi, const char *region, int64_t day,
		double amount, int64_t qty, const char *name, int ok)
{
	struct rec_value v[NF];
	char err[256] = "";

	rec(v, region, day, amount, qty, name, ok);
	cr_assert_eq(merge_add(m, pi, v, err, sizeof(err)), 0, "%s", err);
}

static char *write_and_read(struct merge *m)
{
	char err[512] = "";

	cr_assert_eq(merge_write(m, err, sizeof(err)), 0, "%s", err);
	return slurp(outpath);
}

#define DAY INT64_C(86400000000)

/* ------------------------------------------------------------------ */
/* union                                                               */
/* ------------------------------------------------------------------ */

Test(merge, union_in_config_order_then_source_order)
{
	struct cfg cfg;
	struct merge *m;
	char *got;

	set_cfg(&cfg, "u.csv");
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	/* Arrival interleaves the providers; the output must not. */
	add(m, 2, "c1", 0, 1.5, 1, "x", 1);
	add(m, 1, "b1", DAY, NO_F, NO_INT, NULL, NO_B);
	add(m, 0, "a1", 0, 0.1, -7, "", 0);
	add(m, 2, "c2", NO_INT, -0.0, 2, "q\"q", 1);
	add(m, 0, "a2", 1, 3, 0, "line\nbreak", 1);
	add(m, 1, "b2", 0, 1e300, INT64_MAX, "b,b", 0);
	got = write_and_read(m);
	cr_assert_str_eq(got,
			 "provider,region,day,amount,qty,name,ok\n"
			 "a,a1,1970-01-01T00:00:00Z,0.1,-7,\"\",false\n"
			 "a,a2,1970-01-01T00:00:00.000001Z,3,0,"
			 "\"line\nbreak\",true\n"
			 "b,b1,1970-01-02T00:00:00Z,,,,\n"
			 "b,b2,1970-01-01T00:00:00Z,1e+300,"
			 "9223372036854775807,\"b,b\",false\n"
			 "c,c1,1970-01-01T00:00:00Z,1.5,1,x,true\n"
			 "c,c2,,-0,2,\"q\"\"q\",true\n");
	cr_assert_eq(merge_rows_written(m), 6);
	free(got);
	merge_free(m);
}

Test(merge, union_skips_dropped_provider)
{
	struct cfg cfg;
	struct merge *m;
	char *got;

	set_cfg(&cfg, "u.csv");
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	add(m, 0, "a1", 0, 1, 1, "x", 1);
	add(m, 1, "b1", 0, 1, 1, "x", 1);
	add(m, 2, "c1", 0, 1, 1, "x", 1);
	merge_drop(m, 1);
	add(m, 1, "b2", 0, 1, 1, "x", 1); /* late: ignored too */
	got = write_and_read(m);
	cr_assert_str_eq(got,
			 "provider,region,day,amount,qty,name,ok\n"
			 "a,a1,1970-01-01T00:00:00Z,1,1,x,true\n"
			 "c,c1,1970-01-01T00:00:00Z,1,1,x,true\n");
	cr_assert_eq(merge_rows_written(m), 2);
	free(got);
	merge_free(m);
}

Test(merge, union_empty_writes_header_only)
{
	struct cfg cfg;
	struct merge *m;
	char *got;

	set_cfg(&cfg, "u.csv");
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	got = write_and_read(m);
	cr_assert_str_eq(got, "provider,region,day,amount,qty,name,ok\n");
	cr_assert_eq(merge_rows_written(m), 0);
	free(got);
	merge_free(m);
}

/*
 * Enough data to overflow the spool buffers into their files, including
 * one record bigger than a whole buffer, read back exactly in order.
 */
Test(merge, union_spools_big_runs_to_files)
{
	struct cfg cfg;
	struct merge *m;
	size_t big = 1536 * 1024, i, n = (size_t)tu_scale(60000);
	char *huge = malloc(big + 1), *got, *want, *w;
	char name[64];
	size_t wcap;

	cr_assert_not_null(huge);
	for (i = 0; i < big; i++)
		huge[i] = (char)('a' + i % 26);
	huge[big] = '\0';
	set_cfg(&cfg, "u.csv");
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "row-%zu-with-some-padding-text",
			 i);
		add(m, (int)(i % 2), i == n / 2 ? huge : "r", (int64_t)i,
		    NO_F, (int64_t)i, name, NO_B);
	}
	got = write_and_read(m);
	wcap = big + n * 128 + 256;
	want = malloc(wcap);
	cr_assert_not_null(want);
	w = want;
	w += sprintf(w, "provider,region,day,amount,qty,name,ok\n");
	for (int p = 0; p < 2; p++) {
		for (i = (size_t)p; i < n; i += 2) {
			char ts[64];
			int64_t s = (int64_t)i;

			if (s == 0) {
				snprintf(ts, sizeof(ts),
					 "1970-01-01T00:00:00Z");
			} else {
				char *z;

				snprintf(ts, sizeof(ts),
					 "1970-01-01T00:00:00.%06lldZ",
					 (long long)s);
				/* trim the fraction's trailing zeros */
				z = strchr(ts, 'Z');
				while (z[-1] == '0')
					z--;
				strcpy(z, "Z");
			}
			w += sprintf(w,
				     "%s,%s,%s,,%zu,"
				     "row-%zu-with-some-padding-text,\n",
				     p ? "b" : "a", i == n / 2 ? huge : "r",
				     ts, i, i);
		}
	}
	cr_assert_eq(strlen(got), (size_t)(w - want));
	cr_assert(strcmp(got, want) == 0, "union output differs");
	cr_assert_eq(merge_rows_written(m), n);
	/* A second write gives the same bytes: nothing was consumed. */
	free(got);
	got = write_and_read(m);
	cr_assert(strcmp(got, want) == 0, "second write differs");
	free(got);
	free(want);
	free(huge);
	merge_free(m);
}

Test(merge, union_spool_error_names_folder_and_provider)
{
	struct cfg cfg;
	struct merge *m;
	struct rec_value v[NF];
	char err[512] = "", name[200];
	int i, rc = 0;

	setenv("TMPDIR", "/nonexistent-agg-test", 1);
	set_cfg(&cfg, "u.csv");
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	/* Small runs stay in memory: only the overflow needs the file. */
	for (i = 0; i < 20000 && rc == 0; i++) {
		rec(v, "r", 0, 1, i, name, 1);
		rc = merge_add(m, 1, v, err, sizeof(err));
	}
	cr_assert_eq(rc, -1);
	cr_assert_str_eq(err, "cannot create a spool file in "
			      "/nonexistent-agg-test for provider b: "
			      "No such file or directory");
	merge_free(m);
}

/* ------------------------------------------------------------------ */
/* group                                                               */
/* ------------------------------------------------------------------ */

static struct cfg_agg all_aggs[] = {
	{ CFG_AGG_COUNT_STAR, -1, "orders", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_COUNT, F_QTY, "count_qty", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_SUM, F_QTY, "sum_qty", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_SUM, F_AMOUNT, "revenue", REC_FLOAT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_AVG, F_QTY, "avg_qty", REC_FLOAT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_AVG, F_AMOUNT, "avg_amount", REC_FLOAT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_MIN, F_DAY, "min_day", REC_TIMESTAMP, 0, 0, -1, 0, -1 },
	{ CFG_AGG_MAX, F_DAY, "max_day", REC_TIMESTAMP, 0, 0, -1, 0, -1 },
	{ CFG_AGG_MIN, F_NAME, "min_name", REC_TEXT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_MAX, F_NAME, "max_name", REC_TEXT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_MIN, F_FLAG, "min_ok", REC_BOOL, 0, 0, -1, 0, -1 },
	{ CFG_AGG_COUNT_DISTINCT, F_NAME, "names", REC_INT, 0, 0, -1, 0, -1 },
};

static int gb_region[] = { F_REGION };

static void set_group(struct cfg *cfg, const char *file, int *gb, int ngb,
		      struct cfg_agg *aggs, int naggs)
{
	set_cfg(cfg, file);
	cfg->mode = CFG_MODE_GROUP;
	cfg->group_by = gb;
	cfg->ngroup_by = ngb;
	cfg->aggs = aggs;
	cfg->naggs = naggs;
}

#define ALL_HEADER                                                          \
	"region,orders,count_qty,sum_qty,revenue,avg_qty,avg_amount,min_day," \
	"max_day,min_name,max_name,min_ok,names\n"

Test(merge, group_every_aggregate_with_nulls)
{
	struct cfg cfg;
	struct merge *m;
	char *got, *got_copy;

	set_group(&cfg, "g.csv", gb_region, 1, all_aggs, 12);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	add(m, 0, "west", 2 * DAY, 10.5, 3, "zed", 1);
	add(m, 1, "west", DAY, 0.25, NO_INT, "amy", 0);
	add(m, 0, "west", NO_INT, NO_F, 4, NULL, NO_B);
	add(m, 2, "east", 5 * DAY, 1, 1, "bob", 1);
	add(m, 1, "east", 3 * DAY, 2, 2, "bob", NO_B);
	/* a group with nothing but NULLs in its aggregated fields */
	add(m, 2, "north", NO_INT, NO_F, NO_INT, NULL, NO_B);
	add(m, 0, "north", NO_INT, NO_F, NO_INT, NULL, NO_B);
	/* NULL key: its own group, sorted last */
	add(m, 1, NULL, 0, -1, -5, "", 1);
	got = write_and_read(m);
	got_copy = strdup(got);
	cr_assert_str_eq(got,
			 ALL_HEADER
			 "east,2,2,3,3,1.5,1.5,1970-01-04T00:00:00Z,"
			 "1970-01-06T00:00:00Z,bob,bob,true,1\n"
			 "north,2,0,,,,,,,,,,0\n"
			 "west,3,2,7,10.75,3.5,5.375,1970-01-02T00:00:00Z,"
			 "1970-01-03T00:00:00Z,amy,zed,false,2\n"
			 ",1,1,-5,-1,-5,-1,1970-01-01T00:00:00Z,"
			 "1970-01-01T00:00:00Z,\"\",\"\",true,1\n");
	cr_assert_eq(merge_rows_written(m), 4);
	free(got);
	/* Writing again gives the same bytes; adding is over. */
	{
		char *again = write_and_read(m);
		struct rec_value v[NF];
		char err[256] = "";

		cr_assert_str_eq(again, got_copy);
		free(again);
		rec(v, "west", 0, 1, 1, "x", 1);
		cr_assert_eq(merge_add(m, 0, v, err, sizeof(err)), -1);
		cr_assert_str_eq(err, "record of provider a after the "
				      "result was written");
	}
	free(got_copy);
	merge_free(m);
}

Test(merge, no_group_by_one_row_even_when_empty)
{
	struct cfg cfg;
	struct merge *m;
	char *got;

	set_group(&cfg, "g.csv", NULL, 0, all_aggs, 12);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	got = write_and_read(m);
	cr_assert_str_eq(got,
			 "orders,count_qty,sum_qty,revenue,avg_qty,avg_amount,"
			 "min_day,max_day,min_name,max_name,min_ok,names\n"
			 "0,0,,,,,,,,,,0\n");
	cr_assert_eq(merge_rows_written(m), 1);
	free(got);
	merge_free(m);

	m = merge_new(&cfg);
	cr_assert_not_null(m);
	add(m, 1, "x", 0, 2, 2, "n", 1);
	add(m, 0, "y", DAY, 1, 1, "m", 0);
	got = write_and_read(m);
	cr_assert_str_eq(got,
			 "orders,count_qty,sum_qty,revenue,avg_qty,avg_amount,"
			 "min_day,max_day,min_name,max_name,min_ok,names\n"
			 "2,2,3,3,1.5,1.5,1970-01-01T00:00:00Z,"
			 "1970-01-02T00:00:00Z,m,n,false,2\n");
	free(got);
	merge_free(m);
}

Test(merge, group_by_empty_input_header_only)
{
	struct cfg cfg;
	struct merge *m;
	char *got;

	set_group(&cfg, "g.csv", gb_region, 1, all_aggs, 12);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	got = write_and_read(m);
	cr_assert_str_eq(got, ALL_HEADER);
	cr_assert_eq(merge_rows_written(m), 0);
	free(got);
	merge_free(m);
}

Test(merge, group_by_without_aggregates_gives_distinct_keys)
{
	static int gb[] = { F_FLAG, F_REGION };
	struct cfg cfg;
	struct merge *m;
	char *got;

	set_group(&cfg, "g.csv", gb, 2, NULL, 0);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	add(m, 0, "b", 0, 1, 1, "x", 1);
	add(m, 1, "a", 0, 1, 1, "x", 1);
	add(m, 2, "b", 0, 1, 1, "x", 1);
	add(m, 0, "a", 0, 1, 1, "x", 0);
	add(m, 1, NULL, 0, 1, 1, "x", NO_B);
	add(m, 2, "a", 0, 1, 1, "x", 1);
	got = write_and_read(m);
	cr_assert_str_eq(got, "ok,region\n"
			      "false,a\n"
			      "true,a\n"
			      "true,b\n"
			      ",\n");
	free(got);
	merge_free(m);
}

Test(merge, sort_is_bytewise_with_nulls_last_per_field)
{
	static int gb[] = { F_REGION, F_QTY };
	static struct cfg_agg aggs[] = {
		{ CFG_AGG_COUNT_STAR, -1, "n", REC_INT, 0, 0, -1, 0, -1 },
	};
	struct cfg cfg;
	struct merge *m;
	char *got;

	set_group(&cfg, "g.csv", gb, 2, aggs, 1);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	add(m, 0, "\xC3\xA9t\xC3\xA9", 0, 0, 1, NULL, NO_B);
	add(m, 1, "a", 0, 0, NO_INT, NULL, NO_B);
	add(m, 2, "B", 0, 0, 10, NULL, NO_B);
	add(m, 0, NULL, 0, 0, 2, NULL, NO_B);
	add(m, 1, "a", 0, 0, -3, NULL, NO_B);
	add(m, 2, NULL, 0, 0, NO_INT, NULL, NO_B);
	add(m, 0, "a", 0, 0, 100, NULL, NO_B);
	add(m, 1, "ab", 0, 0, 1, NULL, NO_B);
	add(m, 2, "", 0, 0, 1, NULL, NO_B);
	add(m, 0, "a", 0, 0, -3, NULL, NO_B);
	got = write_and_read(m);
	cr_assert_str_eq(got, "region,qty,n\n"
			      "\"\",1,1\n"
			      "B,10,1\n"
			      "a,-3,2\n"
			      "a,100,1\n"
			      "a,,1\n"
			      "ab,1,1\n"
			      "\xC3\xA9t\xC3\xA9,1,1\n"
			      ",2,1\n"
			      ",,1\n");
	free(got);
	merge_free(m);
}

Test(merge, float_key_minus_zero_is_zero)
{
	static int gb[] = { F_AMOUNT };
	static struct cfg_agg aggs[] = {
		{ CFG_AGG_COUNT_STAR, -1, "n", REC_INT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_COUNT_DISTINCT, F_AMOUNT, "d", REC_INT, 0, 0, -1, 0, -1 },
	};
	struct cfg cfg;
	struct merge *m;
	char *got;

	set_group(&cfg, "g.csv", gb, 1, aggs, 2);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	add(m, 0, "x", 0, -0.0, 1, NULL, NO_B);
	add(m, 1, "x", 0, 0.0, 1, NULL, NO_B);
	add(m, 0, "x", 0, -1.5, 1, NULL, NO_B);
	add(m, 0, "x", 0, 0.0, 1, NULL, NO_B);
	got = write_and_read(m);
	cr_assert_str_eq(got, "amount,n,d\n"
			      "-1.5,1,1\n"
			      "0,3,1\n");
	free(got);
	merge_free(m);
}

Test(merge, count_distinct_across_providers)
{
	static struct cfg_agg aggs[] = {
		{ CFG_AGG_COUNT_DISTINCT, F_NAME, "names", REC_INT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_COUNT_DISTINCT, F_QTY, "qtys", REC_INT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_COUNT_DISTINCT, F_AMOUNT, "amounts", REC_INT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_COUNT_DISTINCT, F_FLAG, "oks", REC_INT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_COUNT_DISTINCT, F_DAY, "days", REC_INT, 0, 0, -1, 0, -1 },
	};
	struct cfg cfg;
	struct merge *m;
	char *got, name[32];
	int i, n = tu_scale(5000);

	set_group(&cfg, "g.csv", gb_region, 1, aggs, 5);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	/* Overlapping ranges: names 0..n-1 from a, n/2..3n/2-1 from b. */
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "name%d", i);
		add(m, 0, "r", i % 7, i % 3 ? 0.0 : -0.0, i, name, i % 2);
		snprintf(name, sizeof(name), "name%d", i + n / 2);
		add(m, 1, "r", i % 11, 0.5, i + n / 2, name, NO_B);
	}
	add(m, 2, "r", NO_INT, NO_F, NO_INT, NULL, NO_B);
	add(m, 2, "s", NO_INT, NO_F, NO_INT, NULL, NO_B);
	/* Empty strings, one without a pointer at all: one value. */
	add(m, 0, "s", NO_INT, NO_F, NO_INT, "", NO_B);
	{
		struct rec_value v[NF];

		rec(v, "s", NO_INT, NO_F, NO_INT, "", NO_B);
		v[F_NAME].u.s.p = NULL;
		cr_assert_eq(merge_add(m, 1, v, name, sizeof(name)), 0);
		cr_assert_eq(merge_add(m, 1, v, name, sizeof(name)), 0);
	}
	got = write_and_read(m);
	{
		char want[256];
		int distinct = n + n / 2;

		snprintf(want, sizeof(want),
			 "region,names,qtys,amounts,oks,days\n"
			 "r,%d,%d,2,2,11\n"
			 "s,1,0,0,0,0\n",
			 distinct, distinct);
		cr_assert_str_eq(got, want);
	}
	free(got);
	merge_free(m);
}

Test(merge, text_min_max_survive_reallocation)
{
	static struct cfg_agg aggs[] = {
		{ CFG_AGG_MIN, F_NAME, "lo", REC_TEXT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_MAX, F_NAME, "hi", REC_TEXT, 0, 0, -1, 0, -1 },
	};
	struct cfg cfg;
	struct merge *m;
	char *got, name[300];
	int i, n = tu_scale(2000);

	set_group(&cfg, "g.csv", NULL, 0, aggs, 2);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	/* Falling minimum and rising maximum with growing lengths. */
	for (i = n; i > 0; i--) {
		memset(name, 'm', sizeof(name));
		snprintf(name, sizeof(name), "m%06d", i);
		name[7] = 'm';
		name[7 + i % 200] = '\0';
		add(m, i % 3, "x", 0, 0, 0, name, NO_B);
	}
	add(m, 2, "x", 0, 0, 0, "zz", NO_B);
	add(m, 0, "x", 0, 0, 0, "a", NO_B);
	add(m, 1, "x", 0, 0, 0, "zzz", NO_B);
	add(m, 0, "x", 0, 0, 0, "aa", NO_B);
	got = write_and_read(m);
	cr_assert_str_eq(got, "lo,hi\na,zzz\n");
	free(got);
	merge_free(m);
}

Test(merge, dropped_provider_left_out_of_groups)
{
	static struct cfg_agg aggs[] = {
		{ CFG_AGG_COUNT_STAR, -1, "n", REC_INT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_SUM, F_QTY, "q", REC_INT, 0, 0, -1, 0, -1 },
	};
	struct cfg cfg;
	struct merge *m;
	char *got;

	set_group(&cfg, "g.csv", gb_region, 1, aggs, 2);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	add(m, 0, "x", 0, 0, 1, NULL, NO_B);
	add(m, 1, "x", 0, 0, 10, NULL, NO_B);
	add(m, 1, "y", 0, 0, 10, NULL, NO_B);
	add(m, 2, "x", 0, 0, 100, NULL, NO_B);
	merge_drop(m, 1);
	got = write_and_read(m);
	cr_assert_str_eq(got, "region,n,q\nx,2,101\n");
	free(got);
	merge_free(m);
}

Test(merge, many_groups_resize_tables)
{
	static struct cfg_agg aggs[] = {
		{ CFG_AGG_COUNT_STAR, -1, "n", REC_INT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_SUM, F_QTY, "q", REC_INT, 0, 0, -1, 0, -1 },
	};
	static int gb[] = { F_QTY };
	struct cfg cfg;
	struct merge *m;
	char *got, *line;
	int i, n = tu_scale(100000);
	int64_t prev = -1;
	long rows = 0;

	set_group(&cfg, "g.csv", gb, 1, aggs, 2);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	/* every key from two providers, in different orders */
	for (i = 0; i < n; i++) {
		add(m, 0, "x", 0, 0, (int64_t)((i * 7919L) % n), NULL, NO_B);
		add(m, 1, "x", 0, 0, (int64_t)(n - 1 - i), NULL, NO_B);
	}
	got = write_and_read(m);
	cr_assert_eq(strncmp(got, "qty,n,q\n", 8), 0);
	for (line = strtok(got + 8, "\n"); line; line = strtok(NULL, "\n")) {
		long long k, c, q;

		cr_assert_eq(sscanf(line, "%lld,%lld,%lld", &k, &c, &q), 3);
		cr_assert_eq(k, prev + 1, "sorted, none missing: %s", line);
		cr_assert_eq(c, 2);
		cr_assert_eq(q, 2 * k);
		prev = k;
		rows++;
	}
	cr_assert_eq(rows, n);
	cr_assert_eq(merge_rows_written(m), (uint64_t)n);
	free(got);
	merge_free(m);
}

/* ------------------------------------------------------------------ */
/* integer overflow                                                    */
/* ------------------------------------------------------------------ */

static struct cfg_agg sum_qty[] = {
	{ CFG_AGG_SUM, F_QTY, "total", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_AVG, F_QTY, "mean", REC_FLOAT, 0, 0, -1, 0, -1 },
};

Test(merge, int_sum_overflow_fails_and_writes_nothing)
{
	struct cfg cfg;
	struct merge *m;
	char err[512] = "";
	FILE *f;
	char *got;

	set_group(&cfg, "g.csv", gb_region, 1, sum_qty, 2);
	f = fopen(outpath, "w");
	cr_assert_not_null(f);
	fputs("previous\n", f);
	fclose(f);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	add(m, 0, "east", 0, 0, 1, NULL, NO_B);
	add(m, 0, "west", 0, 0, INT64_MAX - 10, NULL, NO_B);
	add(m, 1, "west", 0, 0, INT64_MAX - 10, NULL, NO_B);
	cr_assert_eq(merge_write(m, err, sizeof(err)), -1);
	cr_assert_str_eq(err,
			 "sum(qty) overflows a 64-bit integer in group "
			 "region=\"west\"");
	cr_assert_eq(merge_rows_written(m), 0);
	cr_assert_eq(count_entries(), 1);
	got = slurp(outpath);
	cr_assert_str_eq(got, "previous\n");
	free(got);
	merge_free(m);
}

Test(merge, int_sum_negative_overflow_without_group_by)
{
	struct cfg cfg;
	struct merge *m;
	char err[512] = "";

	set_group(&cfg, "g.csv", NULL, 0, sum_qty, 2);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	add(m, 2, "x", 0, 0, INT64_MIN + 1, NULL, NO_B);
	add(m, 2, "x", 0, 0, -2, NULL, NO_B);
	cr_assert_eq(merge_write(m, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "sum(qty) overflows a 64-bit integer");
	cr_assert_eq(count_entries(), 0);
	merge_free(m);
}

Test(merge, int_sum_exact_when_partials_exceed_64_bits)
{
	struct cfg cfg;
	struct merge *m;
	char *got;

	set_group(&cfg, "g.csv", gb_region, 1, sum_qty, 2);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	/* Each provider's partial overflows; the total does not. */
	add(m, 0, "w", 0, 0, INT64_MAX, NULL, NO_B);
	add(m, 1, "w", 0, 0, INT64_MIN + 1, NULL, NO_B);
	add(m, 0, "w", 0, 0, INT64_MAX, NULL, NO_B);
	add(m, 1, "w", 0, 0, INT64_MIN + 1, NULL, NO_B);
	add(m, 0, "w", 0, 0, 5, NULL, NO_B);
	got = write_and_read(m);
	cr_assert_str_eq(got, "region,total,mean\nw,5,1\n");
	free(got);
	merge_free(m);
}

/*
 * The limits themselves are in range, and a sum that leaves the range on
 * the way and comes back is too: only the final sum counts, so the order
 * of arrival cannot change the verdict.
 */
Test(merge, int_sum_reaches_the_64_bit_limits_exactly)
{
	struct cfg cfg;
	struct merge *m;
	char *got;

	set_group(&cfg, "g.csv", gb_region, 1, sum_qty, 1);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	add(m, 0, "a", 0, 0, INT64_MAX, NULL, NO_B);
	add(m, 0, "b", 0, 0, INT64_MIN + 1, NULL, NO_B);
	add(m, 0, "b", 0, 0, -1, NULL, NO_B);
	add(m, 0, "c", 0, 0, INT64_MAX, NULL, NO_B);
	add(m, 0, "c", 0, 0, 1, NULL, NO_B);
	add(m, 0, "c", 0, 0, -1, NULL, NO_B);
	add(m, 0, "d", 0, 0, INT64_MIN + 1, NULL, NO_B);
	add(m, 0, "d", 0, 0, -2, NULL, NO_B);
	add(m, 0, "d", 0, 0, 1, NULL, NO_B);
	add(m, 0, "e", 0, 0, INT64_MAX / 2 + 1, NULL, NO_B);
	add(m, 1, "e", 0, 0, INT64_MAX / 2, NULL, NO_B);
	got = write_and_read(m);
	cr_assert_str_eq(got,
			 "region,total\n"
			 "a,9223372036854775807\n"
			 "b,-9223372036854775808\n"
			 "c,9223372036854775807\n"
			 "d,-9223372036854775808\n"
			 "e,9223372036854775807\n");
	free(got);
	merge_free(m);
}

Test(merge, int_sum_one_past_the_64_bit_limits_fails)
{
	struct cfg cfg;
	struct merge *m;
	char err[512] = "";

	set_group(&cfg, "g.csv", NULL, 0, sum_qty, 1);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	add(m, 0, "x", 0, 0, INT64_MAX, NULL, NO_B);
	add(m, 1, "x", 0, 0, 1, NULL, NO_B);
	cr_assert_eq(merge_write(m, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "sum(qty) overflows a 64-bit integer");
	merge_free(m);

	m = merge_new(&cfg);
	cr_assert_not_null(m);
	add(m, 0, "x", 0, 0, INT64_MIN + 1, NULL, NO_B);
	add(m, 0, "x", 0, 0, -2, NULL, NO_B);
	cr_assert_eq(merge_write(m, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "sum(qty) overflows a 64-bit integer");
	cr_assert_eq(count_entries(), 0);
	merge_free(m);
}

Test(merge, int_avg_uses_the_exact_sum)
{
	static struct cfg_agg aggs[] = {
		{ CFG_AGG_AVG, F_QTY, "mean", REC_FLOAT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_SUM, F_AMOUNT, "s", REC_FLOAT, 0, 0, -1, 0, -1 },
	};
	struct cfg cfg;
	struct merge *m;
	char *got, want[128], num[CONV_FLOAT_MAX];

	set_group(&cfg, "g.csv", NULL, 0, aggs, 2);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	/* The sum needs 65 bits; the mean is INT64_MAX - 1 exactly. */
	add(m, 0, "w", 0, -0.0, INT64_MAX, NULL, NO_B);
	add(m, 1, "w", 0, -0.0, INT64_MAX - 2, NULL, NO_B);
	got = write_and_read(m);
	conv_format_float((double)(INT64_MAX - 1), num);
	/* and a float sum of -0.0 alone stays -0.0, as in SQL */
	snprintf(want, sizeof(want), "mean,s\n%s,-0\n", num);
	cr_assert_str_eq(got, want);
	free(got);
	merge_free(m);
}

/* ------------------------------------------------------------------ */
/* determinism                                                         */
/* ------------------------------------------------------------------ */

/* xorshift: a reproducible arrival order without global state. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define DET_PROVIDERS 3

/* Feed every provider's fixed sequence, interleaved by seed; return CSV. */
static char *run_interleaved(uint64_t seed, int per_provider, bool group)
{
	static struct cfg_agg aggs[] = {
		{ CFG_AGG_COUNT_STAR, -1, "n", REC_INT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_SUM, F_AMOUNT, "s", REC_FLOAT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_AVG, F_AMOUNT, "a", REC_FLOAT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_SUM, F_QTY, "q", REC_INT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_MIN, F_NAME, "lo", REC_TEXT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_MAX, F_AMOUNT, "hi", REC_FLOAT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_COUNT_DISTINCT, F_NAME, "d", REC_INT, 0, 0, -1, 0, -1 },
	};
	static const char *regions[] = { "n", "s", "e", "w", "c" };
	struct cfg cfg;
	struct merge *m;
	int next[DET_PROVIDERS] = { 0 }, left = DET_PROVIDERS * per_provider;
	char *got;

	if (group)
		set_group(&cfg, "d.csv", gb_region, 1, aggs, 7);
	else
		set_cfg(&cfg, "d.csv");
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	while (left > 0) {
		int p = (int)(next_rand(&seed) % DET_PROVIDERS);
		int i = next[p];
		char name[32];
		/* magnitudes that make float addition order visible */
		double amt = (i % 3 == 0 ? 1e16 : i % 3 == 1 ? 0.1 : -1e16) *
			     (1 + p) + i * 0.01;

		if (i == per_provider)
			continue;
		next[p]++;
		left--;
		snprintf(name, sizeof(name), "p%dn%d", p, i % 13);
		add(m, p, regions[(i * 7 + p) % 5], i, amt, i * (p + 1), name,
		    i % 2);
	}
	got = write_and_read(m);
	merge_free(m);
	return got;
}

Test(merge, group_output_independent_of_interleaving)
{
	int n = tu_scale(3000);
	char *first = run_interleaved(1, n, true);
	uint64_t seed;

	for (seed = 2; seed < 8; seed++) {
		char *again = run_interleaved(seed * 0x9E3779B97F4A7C15ull, n,
					      true);

		cr_assert(strcmp(first, again) == 0,
			  "seed %llu gave other bytes",
			  (unsigned long long)seed);
		free(again);
	}
	free(first);
}

Test(merge, union_output_independent_of_interleaving)
{
	int n = tu_scale(3000);
	char *first = run_interleaved(1, n, false);
	uint64_t seed;

	for (seed = 2; seed < 5; seed++) {
		char *again = run_interleaved(seed * 0x9E3779B97F4A7C15ull, n,
					      false);

		cr_assert(strcmp(first, again) == 0,
			  "seed %llu gave other bytes",
			  (unsigned long long)seed);
		free(again);
	}
	free(first);
}

/*
 * The float sum is the exact sum of the doubles, rounded once, whatever
 * the order of providers and records: 1e16 + 0.5 + 0.5 + 1 is exactly
 * 1e16 + 2, which a running double sum misses in every order that adds
 * 1e16 first (1e16 + 0.5 rounds back to 1e16, ties to even).  The
 * average divides that exact sum: 2500000000000000.5.
 */
Test(merge, float_sum_is_exact_whatever_the_order)
{
	static struct cfg_agg aggs[] = {
		{ CFG_AGG_SUM, F_AMOUNT, "s", REC_FLOAT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_AVG, F_AMOUNT, "a", REC_FLOAT, 0, 0, -1, 0, -1 },
	};
	static const int orders[3][4] = {
		{ 2, 1, 1, 0 }, { 0, 1, 1, 2 }, { 1, 0, 2, 1 },
	};
	static const double values[3] = { 1e16, 0.5, 1.0 };
	struct cfg cfg;
	volatile double naive = 1e16;

	naive += 0.5;
	cr_assert(naive == 1e16, "this machine does not round to even");
	set_group(&cfg, "g.csv", NULL, 0, aggs, 2);
	for (int o = 0; o < 3; o++) {
		struct merge *m = merge_new(&cfg);
		char *got;

		cr_assert_not_null(m);
		for (int k = 0; k < 4; k++)
			add(m, orders[o][k], "x", 0, values[orders[o][k]], 0,
			    NULL, NO_B);
		got = write_and_read(m);
		cr_assert_str_eq(got, "s,a\n10000000000000002,"
				      "2500000000000000.5\n",
				 "arrival order %d", o);
		free(got);
		merge_free(m);
	}
}

/* ------------------------------------------------------------------ */
/* one-key fast paths against the general path                         */
/* ------------------------------------------------------------------ */

/*
 * The text keys of the fast-path test: NULL (kind 0), empty, keys that
 * differ only in their last byte at every length up to 40 (so after byte
 * 4, 8 and 16, where the short compares change loads), keys that are
 * prefixes of each other, and enough others to make the table grow.
 */
#define TK_SPECIAL (2 + 40 * 3)

static void text_key(int k, char *buf, const char **p, uint32_t *len)
{
	static const char base[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF";

	if (k == 0) {
		*p = NULL;
		return;
	}
	if (k == 1) {
		*p = "";
		*len = 0;
		return;
	}
	if (k < TK_SPECIAL) {
		int l = 1 + (k - 2) / 3;

		memcpy(buf, base, (size_t)l);
		buf[l - 1] = "xyz"[(k - 2) % 3];
		*p = buf;
		*len = (uint32_t)l;
		return;
	}
	*len = (uint32_t)snprintf(buf, 64, "key%d-%s", k,
				  k % 2 ? "a tail past sixteen bytes" : "");
	*p = buf;
}

/*
 * Group by text (region) or int (qty) or timestamp (day) keys of kind k in
 * 0..nkeys, fed in a pseudo-random order across three providers, through
 * the fast path or the general one, with the keys' hashes cut to
 * hash_mask.
 */
static char *run_one_key(int field, bool general, uint64_t hash_mask,
			 int nkeys, int nrecs)
{
	static struct cfg_agg aggs[] = {
		{ CFG_AGG_COUNT_STAR, -1, "n", REC_INT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_SUM, F_AMOUNT, "s", REC_FLOAT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_MAX, F_NAME, "hi", REC_TEXT, 0, 0, -1, 0, -1 },
	};
	static int gb[1];
	struct cfg cfg;
	struct merge *m;
	uint64_t seed = 42;
	char *got;

	gb[0] = field;
	set_group(&cfg, "k.csv", gb, 1, aggs, 3);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	merge_test_keys(m, general, hash_mask);
	for (int r = 0; r < nrecs; r++) {
		/* every key once first, then at random */
		int k = r <= nkeys ? r :
			(int)(next_rand(&seed) % (uint64_t)(nkeys + 1));
		int pi = (int)(next_rand(&seed) % 3);
		struct rec_value v[NF];
		char kbuf[64], name[16];
		char err[256] = "";

		snprintf(name, sizeof(name), "n%d", r % 17);
		rec(v, "x", 0, r * 0.5, 0, name, NO_B);
		if (field == F_REGION) {
			text_key(k, kbuf, &v[F_REGION].u.s.p,
				 &v[F_REGION].u.s.len);
			v[F_REGION].null = v[F_REGION].u.s.p == NULL;
		} else {
			/* NULL, the extremes, -1, 0, 1, then spread values */
			static const int64_t edge[] = { 0, INT64_MIN,
				INT64_MAX, -1, 0, 1 };
			const uint64_t spread = 0x9e3779b97f4a7c15u;

			v[field].null = k == 0;
			v[field].u.i = k < 6 ? edge[k] :
				       (int64_t)((uint64_t)k * spread);
		}
		cr_assert_eq(merge_add(m, pi, v, err, sizeof(err)), 0, "%s",
			     err);
	}
	got = write_and_read(m);
	merge_free(m);
	return got;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(merge, one_text_key_fast_path_equals_general_path)
{
	int nkeys = TK_SPECIAL + tu_scale(5000);
	char *fast = run_one_key(F_REGION, false, UINT64_MAX, nkeys, 4 * nkeys);
	char *slow = run_one_key(F_REGION, true, UINT64_MAX, nkeys, 4 * nkeys);
	const char *last;

	/* header, then one row per key: NULL and "" are groups too */
	cr_assert_eq(count_lines(slow), 1 + nkeys + 1);
	cr_assert(strstr(slow, "\n\"\",") != NULL, "empty key");
	last = strrchr(slow, '\n');
	while (last > slow && last[-1] != '\n')
		last--;
	cr_assert_eq(last[0], ',', "NULL key last: %s", last);
	cr_assert(strstr(slow, "\nabcdefghijklmnopz,") != NULL);
	cr_assert(strstr(slow, "\nabcdefghijklmnopqz,") != NULL);
	cr_assert_str_eq(fast, slow);
	free(fast);
	free(slow);
}

/* Hashes of 2 bits: every lookup compares keys, and the compares decide. */
Test(merge, one_text_key_fast_path_with_colliding_hashes)
{
	int n = TK_SPECIAL;
	char *fast = run_one_key(F_REGION, false, 3, n, 8 * n);
	char *slow = run_one_key(F_REGION, true, 3, n, 8 * n);
	char *full = run_one_key(F_REGION, true, UINT64_MAX, n, 8 * n);

	cr_assert_eq(count_lines(full), 1 + n + 1);
	cr_assert_str_eq(slow, full);
	cr_assert_str_eq(fast, full);
	free(fast);
	free(slow);
	free(full);
}

Test(merge, one_int_key_fast_path_equals_general_path)
{
	int nkeys = 6 + tu_scale(5000);

	for (int f = 0; f < 2; f++) {
		int field = f ? F_DAY : F_QTY;
		char *fast = run_one_key(field, false, UINT64_MAX, nkeys,
					 4 * nkeys);
		char *slow = run_one_key(field, true, UINT64_MAX, nkeys,
					 4 * nkeys);
		char *weak = run_one_key(field, false, 3, 200, 1600);
		char *weak_slow = run_one_key(field, true, UINT64_MAX, 200,
					      1600);

		/* header, then one row per key, NULL included */
		cr_assert_eq(count_lines(slow), 1 + nkeys + 1);
		cr_assert_str_eq(fast, slow);
		cr_assert_eq(count_lines(weak), 1 + 200 + 1);
		cr_assert_str_eq(weak, weak_slow);
		free(fast);
		free(slow);
		free(weak);
		free(weak_slow);
	}
}

/* ------------------------------------------------------------------ */
/* staging: merge_stage, merge_commit, merge_discard                   */
/* ------------------------------------------------------------------ */

/*
 * A schema for the staging tests: the test schema above, or a wide one
 * (more than 8 fields: the null bitmap takes two bytes, which staging
 * walks field by field instead of by the byte's plan).
 */
#define WIDE_NF 11

static struct rec_field wide_fields[WIDE_NF] = {
	{ .name = "w0", .type = REC_INT },    { .name = "region", .type = REC_TEXT }, { .name = "w2", .type = REC_FLOAT },
	{ .name = "w3", .type = REC_BOOL },   { .name = "w4", .type = REC_TIMESTAMP }, { .name = "w5", .type = REC_TEXT },
	{ .name = "w6", .type = REC_INT },    { .name = "w7", .type = REC_INT },      { .name = "w8", .type = REC_FLOAT },
	{ .name = "w9", .type = REC_TEXT },   { .name = "w10", .type = REC_INT },
};

/* Every aggregate staging takes, for each field that allows it. */
static struct cfg_agg st_aggs[1 + 5 * WIDE_NF];
static char st_names[1 + 5 * WIDE_NF][16];

static int staged_aggs(const struct rec_schema *s)
{
	int n = 0;

	st_aggs[n++] = (struct cfg_agg){ CFG_AGG_COUNT_STAR, -1, "n", REC_INT, 0, 0, -1, 0, -1 };
	for (int i = 0; i < s->nfields; i++) {
		enum rec_type t = s->fields[i].type;
		enum cfg_agg_kind kinds[5] = { CFG_AGG_COUNT, CFG_AGG_SUM,
					       CFG_AGG_AVG, CFG_AGG_MIN,
					       CFG_AGG_MAX };

		for (int k = 0; k < 5; k++) {
			enum rec_type out = REC_INT;

			if (t == REC_TEXT && k > 0)
				break;
			if ((t == REC_TIMESTAMP || t == REC_DATE) &&
			    (k == 1 || k == 2))
				continue;
			if (k == 2 || (k == 1 && t == REC_FLOAT))
				out = REC_FLOAT;
			if (k >= 3)
				out = t;
			snprintf(st_names[n], sizeof(st_names[n]), "a%d", n);
			st_aggs[n] = (struct cfg_agg){ kinds[k], i, st_names[n],
						       out, 0, 0, -1, 0, -1 };
			/* decimals' results as the config types them */
			if (t == REC_DECIMAL)
				cr_assert_eq(cfg_agg_result_type(&st_aggs[n],
								 &s->fields[i]),
					     0);
			n++;
		}
	}
	return n;
}

/*
 * A random value of type t into v; NULL now and then.  Ghost values
 * (text "ghost-N", ints from 1000000) are the keys of records that are
 * never committed.
 */
static void st_value(enum rec_type t, uint64_t *seed, bool ghost,
		     char *buf, struct rec_value *v)
{
	static const double fs[] = { 1e16, 0.1, -1e16, -0.0, 0.0, 2.5, -7.25 };
	uint64_t r = next_rand(seed);

	memset(v, 0, sizeof(*v));
	if (!ghost && r % 7 == 0) {
		v->null = true;
		return;
	}
	r >>= 3;
	switch (t) {
	case REC_INT:
		v->u.i = ghost ? 1000000 + (int64_t)(r % 50) :
				 (int64_t)(r % 40) - 10;
		if (!ghost && r % 97 == 0)
			v->u.i = r % 2 ? INT64_C(1) << 53 : -(INT64_C(1) << 40);
		break;
	case REC_FLOAT:
		v->u.f = r % 3 ? fs[r % 7] : (double)(r % 1000) / 7.0;
		break;
	case REC_BOOL:
		v->u.b = r % 2;
		break;
	case REC_TIMESTAMP:
		v->u.i = ghost ? (int64_t)(1000 + r % 50) * DAY :
				 (int64_t)(r % 20) * DAY;
		break;
	case REC_DATE:
		v->u.i = ghost ? (int64_t)(1000 + r % 50) : (int64_t)(r % 20);
		break;
	case REC_DECIMAL:
		rec_set_dec(v, ghost ? 100000 + (__int128)(r % 50) :
				       (__int128)(r % 40) - 10);
		break;
	case REC_TEXT:
		if (ghost)
			snprintf(buf, 64, "ghost-%d", (int)(r % 50));
		else
			snprintf(buf, 64, "%s%d", r % 5 ? "r" :
				 "a key longer than sixteen bytes ",
				 (int)(r % 30));
		v->u.s.p = buf;
		v->u.s.len = (uint32_t)strlen(buf);
		break;
	}
}

/* Encode k random records of s (ghost keys if ghost) at out; its length. */
static size_t st_frame(const struct cfg *cfg, uint64_t *seed, int k,
		       bool ghost, unsigned char *out)
{
	const struct rec_schema *s = &cfg->schema;
	struct rec_value v[WIDE_NF];
	char text[WIDE_NF][64];
	size_t len = 0;

	for (int r = 0; r < k; r++) {
		for (int i = 0; i < s->nfields; i++) {
			bool key = false;

			for (int j = 0; j < cfg->ngroup_by; j++)
				key |= cfg->group_by[j] == i;
			st_value(s->fields[i].type, seed, ghost && key,
				 text[i], &v[i]);
		}
		len += rec_encode(s, v, out + len);
	}
	return len;
}

/* The CSV written, or the error when an int sum overflowed. */
static char *st_write(struct merge *m)
{
	char err[256] = "";

	if (merge_write(m, err, sizeof(err)) == 0)
		return slurp(outpath);
	cr_assert(strstr(err, "overflows") != NULL, "%s", err);
	return strdup(err);
}

/* What each provider has sent since its last commit (the raw path). */
struct st_pending {
	unsigned char *p;
	size_t len;
};

/*
 * Random frames from three providers, each followed at random by a
 * commit, or by the death of the attempt after a frame of ghost keys
 * (merge_discard); everything committed at the end.  Staged: through
 * merge_stage() and merge_commit().  Raw: the records kept as bytes and
 * merge_add()ed at the commit, as the stage's bytes form folds them.
 * Returns the CSV.
 */
static char *run_staging(struct cfg *cfg, uint64_t seed, int frames,
			 bool staged, uint64_t hash_mask)
{
	struct st_pending pend[3] = { { NULL, 0 } };
	unsigned char *frame = malloc(64 * 1024);
	struct rec_value v[WIDE_NF];
	struct merge *m = merge_new(cfg);
	char err[256] = "", *got;

	cr_assert(m != NULL && frame != NULL);
	cr_assert_eq(merge_stages(m), true);
	merge_test_keys(m, false, hash_mask);
	for (int f = 0; f <= frames; f++) {
		int p = (int)(next_rand(&seed) % 3), ev;
		bool ghost = next_rand(&seed) % 8 == 0 && f < frames;
		int k = 1 + (int)(next_rand(&seed) % 40);
		size_t len = st_frame(cfg, &seed, k, ghost, frame);

		ev = f == frames ? -1 : ghost ? 0 : (int)(next_rand(&seed) % 3);
		if (staged) {
			cr_assert_eq(merge_stage(m, p, frame, len, (uint32_t)k,
						 err, sizeof(err)), 0, "%s", err);
		} else {
			pend[p].p = realloc(pend[p].p, pend[p].len + len);
			memcpy(pend[p].p + pend[p].len, frame, len);
			pend[p].len += len;
		}
		for (int q = 0; q < 3; q++) {
			size_t off = 0;

			if (ev == 0 && q == p) {
				/* the attempt died: its stage goes */
				if (staged)
					merge_discard(m, p);
				pend[p].len = 0;
				continue;
			}
			if (ev != -1 && (ev != 1 || q != p))
				continue;
			if (staged) {
				cr_assert_eq(merge_commit(m, q, err,
							  sizeof(err)), 0);
				continue;
			}
			while (off < pend[q].len) {
				long n = rec_decode(&cfg->schema,
						    pend[q].p + off,
						    pend[q].len - off, v);

				cr_assert_gt(n, 0);
				cr_assert_eq(merge_add(m, q, v, err,
						       sizeof(err)), 0);
				off += (size_t)n;
			}
			pend[q].len = 0;
		}
	}
	got = st_write(m);
	merge_free(m);
	for (int q = 0; q < 3; q++)
		free(pend[q].p);
	free(frame);
	return got;
}

/* A row whose first key is a ghost value (text, int or timestamp). */
static bool st_ghost_row(const char *csv)
{
	static const char *const starts[] = { "\nghost-", "\n10000",
					      "\n1972-", "\n1973-",
					      "\n1000." };

	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
		if (strstr(csv, starts[i]) != NULL)
			return true;
	return false;
}

static void set_staging(struct cfg *cfg, bool wide, int *gb, int ngb)
{
	set_cfg(cfg, "st.csv");
	if (wide) {
		cfg->schema.nfields = WIDE_NF;
		cfg->schema.fields = wide_fields;
	}
	cfg->mode = CFG_MODE_GROUP;
	cfg->group_by = gb;
	cfg->ngroup_by = ngb;
	cfg->aggs = st_aggs;
	cfg->naggs = staged_aggs(&cfg->schema);
}

/*
 * Staged and raw give the same bytes, whatever the keys (one text, one
 * int, one timestamp, several, none), the schema's width, and hashes cut
 * to 2 bits (so that staged records meet the empty groups of discarded
 * ones in every probe); no group of a discarded frame shows.
 */
Test(merge, staging_equals_the_raw_path)
{
	static int keys[][2] = { { 0 }, { 1 }, { 3 }, { 4 }, { 0, 1 }, { 0 } };
	static const int nkeys[] = { 1, 1, 1, 1, 2, 0 };
	int frames = tu_scale(600);

	for (int wide = 0; wide < 2; wide++) {
		for (size_t c = 0; c < sizeof(nkeys) / sizeof(nkeys[0]); c++) {
			int gb[2];
			struct cfg cfg;

			for (int j = 0; j < nkeys[c]; j++)
				gb[j] = wide ? (keys[c][j] == 0 ? 1 :
						keys[c][j] == 1 ? 0 :
						keys[c][j] == 3 ? 6 : 4) :
					       (keys[c][j] == 0 ? F_REGION :
						keys[c][j] == 1 ? F_QTY :
						keys[c][j] == 3 ? F_FLAG : F_DAY);
			set_staging(&cfg, wide, gb, nkeys[c]);
			for (uint64_t mask = 3; mask != 0;
			     mask = mask == 3 ? UINT64_MAX : 0) {
				uint64_t seed = 0x5eed + c * 7 + (uint64_t)wide;
				char *raw = run_staging(&cfg, seed, frames,
							false, mask);
				char *st = run_staging(&cfg, seed, frames,
						       true, mask);

				cr_assert(!st_ghost_row(raw),
					  "wide %d keys %zu: %s", wide, c, raw);
				cr_assert_str_eq(st, raw, "wide %d keys %zu",
						 wide, c);
				cr_assert(count_lines(raw) > (nkeys[c] ? 3 : 1),
					  "%s", raw);
				free(raw);
				free(st);
			}
		}
	}
}

/*
 * Decimals and dates stage as the fixed-size values they are (a decimal
 * in two words): staged and raw give the same bytes with a decimal key, a
 * date key (the one-int path), both, or none, and every aggregate of
 * them; schemas narrow and wide.
 */
static struct rec_field typed_fields[] = {
	{ .name = "region", .type = REC_TEXT },
	{ .name = "d", .type = REC_DECIMAL, .prec = 12, .scale = 2 },
	{ .name = "day", .type = REC_DATE },
	{ .name = "q", .type = REC_INT },
	{ .name = "big", .type = REC_DECIMAL, .prec = 38, .scale = 0 },
	{ .name = "f", .type = REC_FLOAT },
	{ .name = "b", .type = REC_BOOL },
	{ .name = "t", .type = REC_TIMESTAMP },
	{ .name = "e", .type = REC_DECIMAL, .prec = 38, .scale = 38 },
	{ .name = "day2", .type = REC_DATE },
};

Test(merge, staging_equals_the_raw_path_for_decimals_and_dates)
{
	static int keys[][2] = { { 1 }, { 2 }, { 2, 1 }, { 0 }, { 0 } };
	static const int nkeys[] = { 1, 1, 2, 1, 0 };
	int frames = tu_scale(300);

	for (int wide = 0; wide < 2; wide++) {
		for (size_t c = 0; c < sizeof(nkeys) / sizeof(nkeys[0]); c++) {
			struct cfg cfg;

			set_staging(&cfg, false, keys[c], nkeys[c]);
			cfg.schema.fields = typed_fields;
			cfg.schema.nfields = wide ? 10 : 5;
			cfg.naggs = staged_aggs(&cfg.schema);
			for (uint64_t mask = 3; mask != 0;
			     mask = mask == 3 ? UINT64_MAX : 0) {
				uint64_t seed = 0xdec + c * 7 + (uint64_t)wide;
				char *raw = run_staging(&cfg, seed, frames,
							false, mask);
				char *st = run_staging(&cfg, seed, frames,
						       true, mask);

				cr_assert(!st_ghost_row(raw),
					  "wide %d keys %zu: %s", wide, c, raw);
				cr_assert_str_eq(st, raw, "wide %d keys %zu",
						 wide, c);
				cr_assert(count_lines(raw) > (nkeys[c] ? 3 : 1),
					  "%s", raw);
				free(raw);
				free(st);
			}
		}
	}
}

/*
 * A group that only a discarded stage created is nowhere: not in the
 * output, not in another provider's combined group, not as an empty row
 * without group_by; one a later commit fills is there with just that.
 */
Test(merge, staging_uncommitted_groups_leave_no_trace)
{
	static struct cfg_agg aggs[] = {
		{ CFG_AGG_COUNT_STAR, -1, "n", REC_INT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_SUM, F_AMOUNT, "s", REC_FLOAT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_MAX, F_QTY, "hi", REC_INT, 0, 0, -1, 0, -1 },
	};
	struct cfg cfg;
	struct merge *m;
	struct rec_value v[NF];
	unsigned char buf[512];
	size_t len;
	char err[256] = "", *got;

	set_group(&cfg, "u.csv", gb_region, 1, aggs, 3);
	m = merge_new(&cfg);
	cr_assert(merge_stages(m));
	/* a: east committed; ghost and "later" staged, then it dies */
	rec(v, "east", 0, 1.5, 1, NULL, NO_B);
	len = rec_encode(&cfg.schema, v, buf);
	cr_assert_eq(merge_stage(m, 0, buf, len, 1, err, sizeof(err)), 0);
	cr_assert_eq(merge_commit(m, 0, err, sizeof(err)), 0);
	rec(v, "ghost", 0, 100, 100, NULL, NO_B);
	len = rec_encode(&cfg.schema, v, buf);
	rec(v, "later", 0, 100, 100, NULL, NO_B);
	len += rec_encode(&cfg.schema, v, buf + len);
	cr_assert_eq(merge_stage(m, 0, buf, len, 2, err, sizeof(err)), 0);
	merge_discard(m, 0);
	/* b: ghost staged and discarded too; "later" committed */
	rec(v, "ghost", 0, 7, 7, NULL, NO_B);
	len = rec_encode(&cfg.schema, v, buf);
	cr_assert_eq(merge_stage(m, 1, buf, len, 1, err, sizeof(err)), 0);
	merge_discard(m, 1);
	rec(v, "later", 0, 2.5, -3, NULL, NO_B);
	len = rec_encode(&cfg.schema, v, buf);
	cr_assert_eq(merge_stage(m, 1, buf, len, 1, err, sizeof(err)), 0);
	cr_assert_eq(merge_commit(m, 1, err, sizeof(err)), 0);
	/* an empty commit changes nothing */
	cr_assert_eq(merge_commit(m, 2, err, sizeof(err)), 0);
	got = write_and_read(m);
	cr_assert_str_eq(got, "region,n,s,hi\neast,1,1.5,1\nlater,1,2.5,-3\n");
	cr_assert_eq(merge_rows_written(m), 2);
	free(got);
	merge_free(m);

	/* Without group_by: a discarded stage leaves the row of nothing. */
	set_group(&cfg, "u.csv", NULL, 0, aggs, 3);
	m = merge_new(&cfg);
	rec(v, "x", 0, 4, 4, NULL, NO_B);
	len = rec_encode(&cfg.schema, v, buf);
	cr_assert_eq(merge_stage(m, 2, buf, len, 1, err, sizeof(err)), 0);
	merge_discard(m, 2);
	got = write_and_read(m);
	cr_assert_str_eq(got, "n,s,hi\n0,,\n");
	free(got);
	merge_free(m);
}

/* count_distinct, text min/max and union stage the records' bytes. */
Test(merge, staging_only_for_fixed_size_inputs)
{
	static struct cfg_agg text_max[] = {
		{ CFG_AGG_MAX, F_NAME, "hi", REC_TEXT, 0, 0, -1, 0, -1 },
	};
	static struct cfg_agg distinct[] = {
		{ CFG_AGG_COUNT_DISTINCT, F_QTY, "d", REC_INT, 0, 0, -1, 0, -1 },
	};
	static struct cfg_agg count_text[] = {
		{ CFG_AGG_COUNT, F_NAME, "c", REC_INT, 0, 0, -1, 0, -1 },
		{ CFG_AGG_MIN, F_FLAG, "lo", REC_BOOL, 0, 0, -1, 0, -1 },
	};
	struct cfg cfg;
	struct merge *m;

	set_group(&cfg, "o.csv", gb_region, 1, text_max, 1);
	m = merge_new(&cfg);
	cr_assert_not(merge_stages(m));
	merge_free(m);
	set_group(&cfg, "o.csv", gb_region, 1, distinct, 1);
	m = merge_new(&cfg);
	cr_assert_not(merge_stages(m));
	merge_free(m);
	set_cfg(&cfg, "o.csv");
	m = merge_new(&cfg);
	cr_assert_not(merge_stages(m));
	merge_free(m);
	set_group(&cfg, "o.csv", gb_region, 1, count_text, 2);
	m = merge_new(&cfg);
	cr_assert(merge_stages(m));
	merge_free(m);
}

/*
 * merge_stage()'s verdict on a frame is the raw path's (rec_validate()
 * over count records, then nothing left over), for frames mangled at
 * random, with both bitmap widths; a malformed frame stages nothing, so
 * the records before the bad one never count.
 */
Test(merge, staging_verdict_equals_rec_validate)
{
	int rounds = tu_scale(20000);
	uint64_t seed = 0xbadf00d;

	for (int wide = 0; wide < 2; wide++) {
		int gb[1] = { wide ? 1 : F_REGION };
		struct cfg cfg;
		struct merge *m;
		unsigned char *frame = malloc(64 * 1024);
		struct merge *ref;
		struct rec_value v[WIDE_NF];
		char err[256], *got, *want_out;
		int bad = 0;

		set_staging(&cfg, wide, gb, 1);
		m = merge_new(&cfg);
		ref = merge_new(&cfg);
		cr_assert(merge_stages(m));
		for (int r = 0; r < rounds; r++) {
			int k = 1 + (int)(next_rand(&seed) % 4);
			size_t len = st_frame(&cfg, &seed, k, false, frame);
			uint32_t count = (uint32_t)k;
			size_t off = 0;
			const char *want = NULL;
			int rc;

			switch (next_rand(&seed) % 6) {
			case 0: /* a byte changed */
				frame[next_rand(&seed) % len] ^=
					(unsigned char)(1 + next_rand(&seed) % 255);
				break;
			case 1: /* cut short */
				len -= 1 + next_rand(&seed) % len;
				break;
			case 2: /* bytes past the records */
				len += 1 + next_rand(&seed) % 5;
				break;
			case 3: /* count off by one */
				count += next_rand(&seed) % 2 ? 1 : -1;
				break;
			case 4: /* a null bitmap byte changed */
				frame[4 + (wide ? next_rand(&seed) % 2 : 0)] ^=
					(unsigned char)(1u << next_rand(&seed) % 8);
				break;
			default:
				break;
			}
			for (uint32_t i = 0; i < count && want == NULL; i++) {
				long n = rec_validate(&cfg.schema, frame + off,
						      len - off);

				if (n < 0)
					want = "record does not match the schema";
				else
					off += (size_t)n;
			}
			if (want == NULL && off != len)
				want = "RECORDS frame longer than its records";
			rc = merge_stage(m, 0, frame, len, count, err,
					 sizeof(err));
			cr_assert_eq(rc, want ? 1 : 0, "round %d: %s", r,
				     want ? want : err);
			if (want)
				cr_assert_str_eq(err, want, "round %d", r);
			bad += want != NULL;
			/* the raw path folds the frames that passed */
			for (off = 0; want == NULL && off < len;) {
				off += (size_t)rec_decode(&cfg.schema,
							  frame + off,
							  len - off, v);
				cr_assert_eq(merge_add(ref, 0, v, err,
						       sizeof(err)), 0);
			}
			if (r % 100 == 99)
				cr_assert_eq(merge_commit(m, 0, err,
							  sizeof(err)), 0);
		}
		cr_assert_gt(bad, rounds / 3);
		cr_assert_eq(merge_commit(m, 0, err, sizeof(err)), 0);
		got = st_write(m);
		want_out = st_write(ref);
		cr_assert_str_eq(got, want_out);
		free(got);
		free(want_out);
		merge_free(m);
		merge_free(ref);
		free(frame);
	}
}

/* ------------------------------------------------------------------ */
/* the one stage: records as bytes, rejects                            */
/* ------------------------------------------------------------------ */

/* Stage one record of provider pi; the source bytes are then scribbled. */
static void stage_one(struct merge *m, const struct cfg *cfg, int pi,
		      const char *region, int64_t qty)
{
	struct rec_value v[NF];
	unsigned char buf[256];
	char err[256] = "";
	size_t len;

	rec(v, region, 0, 1, qty, "x", 1);
	len = rec_encode(&cfg->schema, v, buf);
	cr_assert_eq(merge_stage(m, pi, buf, len, 1, err, sizeof(err)), 0,
		     "%s", err);
	/* The merge copied the payload: what its producer does next is
	 * nothing to it. */
	memset(buf, 0xff, sizeof(buf));
}

/* A REJECT payload: position, reason, raw, each after its u32 length. */
static size_t reject_payload(const char *pos, unsigned char *out)
{
	const char *parts[3] = { pos, "bad", "raw" };
	size_t len = 0;

	for (int i = 0; i < 3; i++) {
		uint32_t n = (uint32_t)strlen(parts[i]);

		memcpy(out + len, &n, 4);
		memcpy(out + len + 4, parts[i], n);
		len += 4 + n;
	}
	return len;
}

static void stage_reject(struct merge *m, int pi, const char *pos)
{
	unsigned char p[64];
	char err[256] = "";
	size_t len = reject_payload(pos, p);

	cr_assert_eq(merge_stage_reject(m, pi, p, (uint32_t)len, err,
					sizeof(err)), 0, "%s", err);
}

/* Whether provider pi's committed rejects hold exactly those positions. */
static void assert_rejects(struct merge *m, int pi, const char *const *pos,
			   int n)
{
	unsigned char want[256], p[64];
	size_t wlen = 0, len;
	const unsigned char *got = merge_rejects(m, pi, &len);

	for (int i = 0; i < n; i++) {
		uint32_t k = (uint32_t)reject_payload(pos[i], p);

		memcpy(want + wlen, &k, 4);
		memcpy(want + wlen + 4, p, k);
		wlen += 4 + k;
	}
	cr_assert_eq(len, wlen, "provider %d: %zu bytes of rejects", pi, len);
	cr_assert(wlen == 0 || memcmp(got, want, wlen) == 0);
}

static void assert_staged(struct merge *m, int pi, uint64_t records,
			  uint64_t rejects)
{
	uint64_t r, j;

	merge_staged(m, pi, &r, &j);
	cr_assert_eq(r, records, "provider %d: %llu staged", pi,
		     (unsigned long long)r);
	cr_assert_eq(j, rejects, "provider %d: %llu rejects staged", pi,
		     (unsigned long long)j);
}

/*
 * In union mode records are staged as their bytes: only the committed
 * ones are written, a discarded stage leaves nothing, and the payload is
 * copied on arrival.
 */
Test(merge, stage_bytes_commit_and_discard)
{
	struct cfg cfg;
	struct merge *m;
	char err[256] = "", *got;

	set_cfg(&cfg, "s.csv");
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	cr_assert_not(merge_stages(m));
	stage_one(m, &cfg, 0, "a1", 1);
	stage_one(m, &cfg, 0, "a2", 2);
	assert_staged(m, 0, 2, 0);
	cr_assert_eq(merge_commit(m, 0, err, sizeof(err)), 0, "%s", err);
	assert_staged(m, 0, 0, 0);
	stage_one(m, &cfg, 0, "ghost", 3);
	stage_one(m, &cfg, 1, "ghost", 4);
	merge_discard(m, 0);
	merge_discard(m, 1);
	assert_staged(m, 0, 0, 0);
	stage_one(m, &cfg, 1, "b1", 5);
	cr_assert_eq(merge_commit(m, 1, err, sizeof(err)), 0, "%s", err);
	stage_one(m, &cfg, 2, "never committed", 6);
	got = write_and_read(m);
	cr_assert_str_eq(got,
			 "provider,region,day,amount,qty,name,ok\n"
			 "a,a1,1970-01-01T00:00:00Z,1,1,x,true\n"
			 "a,a2,1970-01-01T00:00:00Z,1,2,x,true\n"
			 "b,b1,1970-01-01T00:00:00Z,1,5,x,true\n");
	free(got);
	merge_free(m);
}

/*
 * Rejects wait in the stage like records: committed with them, gone with
 * a discarded stage, kept alone for a provider that failed for good, and
 * kept for a provider left out of the result, whose later frames are
 * still counted.  Both forms of the stage.
 */
Test(merge, stage_rejects_follow_the_records)
{
	static struct cfg_agg count[] = {
		{ CFG_AGG_COUNT_STAR, -1, "n", REC_INT, 0, 0, -1, 0, -1 },
	};
	static const char *const a_rej[] = { "1", "3" }, *const b_rej[] = {
		"7" };

	for (int form = 0; form < 2; form++) {
		struct cfg cfg;
		struct merge *m;
		char err[256] = "";

		if (form == 0)
			set_cfg(&cfg, "r.csv");
		else
			set_group(&cfg, "r.csv", gb_region, 1, count, 1);
		m = merge_new(&cfg);
		cr_assert_not_null(m);
		cr_assert_eq(merge_stages(m), form == 1);
		stage_reject(m, 0, "1");
		stage_one(m, &cfg, 0, "a", 1);
		assert_staged(m, 0, 1, 1);
		cr_assert_eq(merge_commit(m, 0, err, sizeof(err)), 0, "%s",
			     err);
		assert_rejects(m, 0, a_rej, 1);
		/* the attempt dies: its rejects go with its records */
		stage_reject(m, 0, "2");
		merge_discard(m, 0);
		assert_rejects(m, 0, a_rej, 1);
		/* the next one fails for good: its last rejects stay */
		stage_reject(m, 0, "3");
		stage_one(m, &cfg, 0, "late", 2);
		merge_keep_rejects(m, 0);
		assert_staged(m, 0, 1, 0);
		merge_discard(m, 0);
		assert_rejects(m, 0, a_rej, 2);
		/* b is left out of the result: counts and rejects go on */
		merge_drop(m, 1);
		stage_one(m, &cfg, 1, "b", 3);
		stage_reject(m, 1, "7");
		assert_staged(m, 1, 1, 1);
		cr_assert_eq(merge_commit(m, 1, err, sizeof(err)), 0, "%s",
			     err);
		assert_rejects(m, 1, b_rej, 1);
		assert_rejects(m, 2, NULL, 0);
		merge_free(m);
	}
}

/* An aggregate with a filter folds only the records whose filter is true. */
static struct cfg_agg filter_aggs[] = {
	{ CFG_AGG_COUNT_STAR, -1, "n", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_COUNT_STAR, -1, "n_ok", REC_INT, 0, 0, -1, 0, F_FLAG },
	{ CFG_AGG_SUM, F_QTY, "qty_ok", REC_INT, 0, 0, -1, 0, F_FLAG },
	{ CFG_AGG_MAX, F_NAME, "name_ok", REC_TEXT, 0, 0, -1, 0, F_FLAG },
	{ CFG_AGG_ARG_MAX, F_NAME, "top_ok", REC_TEXT, 0, 0, F_QTY, 0, F_FLAG },
	{ CFG_AGG_VAR_POP, F_QTY, "vp_ok", REC_FLOAT, 0, 0, -1, 0, F_FLAG },
};

Test(merge, filter_skips_records_whose_filter_is_not_true)
{
	struct cfg cfg;
	struct merge *m;
	char *got;

	set_group(&cfg, "f.csv", gb_region, 1, filter_aggs, 6);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	add(m, 0, "west", 0, 0, 3, "zed", 1);
	add(m, 1, "west", 0, 0, 5, "amy", 1);
	add(m, 2, "west", 0, 0, 100, "zzz", 0);      /* false */
	add(m, 0, "west", 0, 0, 200, "zzzz", NO_B);  /* NULL */
	add(m, 1, "east", 0, 0, 7, "bob", 0);
	got = write_and_read(m);
	cr_assert_str_eq(got, "region,n,n_ok,qty_ok,name_ok,top_ok,vp_ok\n"
			      "east,1,0,,,,\n"
			      "west,4,2,8,zed,amy,1\n");
	free(got);
	merge_free(m);
}

/*
 * avg of ints whose sum passes 2^53 is rounded once, as Python's
 * float(Fraction(sum, n)) rounds it: e.g. (2^54 + 3) / 2 = 2^53 + 1.5
 * is 2^53 + 2, where rounding the quotient and then adding the remainder's
 * fraction gives 2^53.  Groups of 2..9 values near INT64_MAX, near 2^53
 * and mixed in sign, the oracle's doubles read back from float.hex().
 */
Test(merge, int_avg_is_rounded_once_as_python_rounds_it)
{
	static struct cfg_agg aggs[] = {
		{ CFG_AGG_AVG, F_QTY, "mean", REC_FLOAT, 0, 0, -1, 0, -1 },
	};
	enum { GROUPS = 300 };
	static const int gb[] = { F_NAME };
	struct cfg cfg;
	struct merge *m;
	uint64_t seed = 0x5eed;
	char *inpath = tu_path(tmpdir, "sums"), *got, *line, *save = NULL;
	char cmd[1024];
	FILE *io = fopen(inpath, "w");

	cr_assert_not_null(io);
	set_group(&cfg, "g.csv", (int *)gb, 1, aggs, 1);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	/* the first group is the example above */
	add(m, 0, "x", 0, 0, ((int64_t)1 << 53) + 1, "g000", NO_B);
	add(m, 0, "x", 0, 0, ((int64_t)1 << 53) + 2, "g000", NO_B);
	fprintf(io, "%lld %lld\n", (1LL << 54) + 3, 2LL);
	for (int g = 1; g < GROUPS; g++) {
		int k = 2 + (int)(next_rand(&seed) % 8);
		__int128 sum = 0;
		char name[16];

		snprintf(name, sizeof name, "g%03d", g);
		for (int i = 0; i < k; i++) {
			uint64_t r = next_rand(&seed);
			int64_t v;

			switch (g % 3) {
			case 0: v = INT64_MAX - (int64_t)(r % 1000); break;
			case 1: v = ((int64_t)1 << 53) + (int64_t)(r % 64); break;
			default: v = (int64_t)(r >> 1) * ((r & 1) ? -1 : 1);
			}
			sum += v;
			add(m, 0, "x", 0, 0, v, name, NO_B);
		}
		/* the sum as hi * 10^9 + lo, which Python evaluates */
		fprintf(io, "%lld*1000000000+%lld %d\n",
			(long long)(sum / 1000000000),
			(long long)(sum % 1000000000), k);
	}
	fclose(io);
	got = write_and_read(m);
	snprintf(cmd, sizeof cmd, "python3 -c 'import sys, fractions\n"
		 "for l in sys.stdin:\n s, n = l.split()\n"
		 " print(float(fractions.Fraction(eval(s), int(n))).hex())'"
		 " < '%s'", inpath);
	{
		FILE *py = popen(cmd, "r");
		char hex[64], num[CONV_FLOAT_MAX], want[64];

		cr_assert_not_null(py);
		line = strtok_r(got, "\n", &save); /* the header */
		cr_assert_str_eq(line, "name,mean");
		for (int g = 0; g < GROUPS; g++) {
			cr_assert_not_null(fgets(hex, sizeof hex, py));
			conv_format_float(strtod(hex, NULL), num);
			snprintf(want, sizeof want, "g%03d,%s", g, num);
			line = strtok_r(NULL, "\n", &save);
			cr_assert_not_null(line);
			cr_assert_str_eq(line, want, "group %d", g);
		}
		cr_assert_eq(pclose(py), 0);
	}
	free(got);
	free(inpath);
	merge_free(m);
}
