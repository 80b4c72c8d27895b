/*
 * test_post.c - having, order_by and limit, end to end, with PostgreSQL
 * as the oracle.
 *
 * The same random rows (int amounts with NULLs and many ties) go to the
 * aggregate binary as CSV files and into a table of a real PostgreSQL
 * server; the binary's CSV output must equal byte for byte what
 * COPY (SELECT ... ORDER BY ... LIMIT ...) TO STDOUT (FORMAT csv, HEADER)
 * writes.  Ties in order_by keep the default order (group keys; in union
 * mode source order), which the SQL spells as a last ORDER BY term.  The
 * same rows split differently over three providers give the same bytes.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

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

PGT_SUITE(post, fx, "po", 300);

/*
 * n rows "id,region,amount": id 1..n, one of 15 regions (one of them
 * empty: NULL), amount -20..20 or NULL (1 in 8).  Regions whose every
 * amount is NULL come out of the seeds below too.
 */
static char *rand_rows(int n, uint64_t seed)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	uint64_t s = seed;
	int i;

	for (i = 1; i <= n; i++) {
		uint64_t r = tu_rng(&s);
		int reg = (int)(r % 15);

		fprintf(f, "%d,", i);
		if (reg != 14)
			fprintf(f, "r%02d", reg);
		if ((r >> 8) % 8 == 0 || reg == 13)
			fprintf(f, ",\n");
		else
			fprintf(f, ",%d\n", (int)((r >> 16) % 41) - 20);
	}
	fclose(f);
	return out;
}

/* Load rows into table fx.table (id, region, amount). */
static void load(const char *rows)
{
	pgt_table(fx.db, fx.table, "id bigint, region text, amount bigint",
		  rows, false);
}

/* The report of [aggregate] keys agg over data.csv, as CSV. */
static char *run_report(const char *agg)
{
	char *conf, *out;

	cr_assert(asprintf(&conf,
		"[aggregate]\n"
		"output = out.csv\n"
		"fields = id:int, region:text, amount:int\n"
		"%s\n"
		"[provider f]\n"
		"type = file\n"
		"path = data.csv\n"
		"header = false\n", agg) > 0);
	out = pgt_run(&fx, conf, NULL);
	free(conf);
	return out;
}

/* Run the config keys agg; expect exit 78 and msg in stderr. */
static void config_error(const char *agg, const char *msg)
{
	struct tu_result r;
	char *conf;

	cr_assert(asprintf(&conf,
		"[aggregate]\n"
		"output = out.csv\n"
		"fields = id:int, region:text, amount:int\n"
		"%s\n"
		"[provider f]\n"
		"type = file\n"
		"path = data.csv\n", agg) > 0);
	tu_put(fx.dir, "post.conf", conf);
	tu_run(&r, fx.dir, (const char *[]){ "-c", "post.conf", NULL }, NULL);
	cr_assert_eq(r.status, 78, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, msg), "want '%s' in:\n%s", msg, r.err);
	tu_result_free(&r);
	free(conf);
}

#define CHECK(agg, ...) do { \
		char *got_ = run_report(agg); \
		pgt_expect_csv(fx.db, got_, agg, __VA_ARGS__); \
		free(got_); \
	} while (0)

#define GROUP_SQL "SELECT region, sum(amount) AS s, count(*) AS n," \
	" min(amount) AS lo FROM %s GROUP BY region"
#define GROUP_AGG "group_by = region\n" \
	"aggregates = sum(amount) as s, count(*) as n, min(amount) as lo\n"

Test(post, group_order_by_and_limit_match_postgres)
{
	char *rows = rand_rows(tu_scale(3000), 0xfeed5eedULL);

	load(rows);
	tu_put(fx.dir, "data.csv", rows);
	/* Ties on n and lo, NULL sums (r13), the NULL region. */
	CHECK(GROUP_AGG "order_by = s desc\n",
	      GROUP_SQL " ORDER BY s DESC, region", fx.table);
	CHECK(GROUP_AGG "order_by = s\n",
	      GROUP_SQL " ORDER BY s, region", fx.table);
	CHECK(GROUP_AGG "order_by = s asc nulls first\nlimit = 4\n",
	      GROUP_SQL " ORDER BY s NULLS FIRST, region LIMIT 4", fx.table);
	CHECK(GROUP_AGG "order_by = s desc nulls last, region desc\n",
	      GROUP_SQL " ORDER BY s DESC NULLS LAST, region DESC", fx.table);
	CHECK(GROUP_AGG "order_by = lo, n desc\nlimit = 5\n",
	      GROUP_SQL " ORDER BY lo, n DESC, region LIMIT 5", fx.table);
	CHECK(GROUP_AGG "order_by = region desc\n",
	      GROUP_SQL " ORDER BY region DESC", fx.table);
	/* limit alone: the first rows in group key order; 0 is no rows. */
	CHECK(GROUP_AGG "limit = 3\n",
	      GROUP_SQL " ORDER BY region LIMIT 3", fx.table);
	CHECK(GROUP_AGG "limit = 0\n",
	      GROUP_SQL " ORDER BY region LIMIT 0", fx.table);
	CHECK(GROUP_AGG "order_by = n\nlimit = 1000\n",
	      GROUP_SQL " ORDER BY n, region LIMIT 1000", fx.table);
	/* No group_by: one row. */
	CHECK("aggregates = count(*) as n, sum(amount) as s\n"
	      "order_by = s desc\nlimit = 1\n",
	      "SELECT count(*) AS n, sum(amount) AS s FROM %s", fx.table);
	free(rows);
}

Test(post, union_order_by_and_limit_match_postgres)
{
	char *rows = rand_rows(tu_scale(2000), 0xabcdef12ULL);

	load(rows);
	tu_put(fx.dir, "data.csv", rows);
	CHECK("order_by = amount desc, region\nlimit = 50\n",
	      "SELECT 'f' AS provider, id, region, amount FROM %s"
	      " ORDER BY amount DESC, region, id LIMIT 50", fx.table);
	CHECK("order_by = region nulls first\n",
	      "SELECT 'f' AS provider, id, region, amount FROM %s"
	      " ORDER BY region NULLS FIRST, id", fx.table);
	CHECK("limit = 7\n",
	      "SELECT 'f' AS provider, id, region, amount FROM %s"
	      " ORDER BY id LIMIT 7", fx.table);
	free(rows);
}

Test(post, having_matches_postgres)
{
	char *rows = rand_rows(tu_scale(3000), 0x1234567ULL);

	load(rows);
	tu_put(fx.dir, "data.csv", rows);
	CHECK(GROUP_AGG "having = s > 10 and n >= 2\n",
	      GROUP_SQL " HAVING sum(amount) > 10 AND count(*) >= 2"
	      " ORDER BY region", fx.table);
	/* A NULL condition drops the group, as a false one. */
	CHECK(GROUP_AGG "having = s < 0 or region = 'r01'\n"
	      "order_by = s desc\nlimit = 3\n",
	      GROUP_SQL " HAVING sum(amount) < 0 OR region = 'r01'"
	      " ORDER BY s DESC, region LIMIT 3", fx.table);
	CHECK(GROUP_AGG "having = lo is null\n",
	      GROUP_SQL " HAVING min(amount) IS NULL ORDER BY region", fx.table);
	free(rows);
}

Test(post, having_error_names_the_group)
{
	struct tu_result r;
	char *path;

	tu_put(fx.dir, "data.csv", "1,a,0\n2,b,5\n");
	tu_put(fx.dir, "post.conf",
	       "[aggregate]\noutput = out.csv\n"
	       "fields = id:int, region:text, amount:int\n"
	       "group_by = region\naggregates = sum(amount) as s\n"
	       "having = 10 / s > 1\n"
	       "[provider f]\ntype = file\npath = data.csv\nheader = false\n");
	tu_run(&r, fx.dir, (const char *[]){ "-c", "post.conf", NULL }, NULL);
	cr_assert_neq(r.status, 0);
	cr_assert(strstr(r.err, "having: division by zero in group region="),
		  "%s", r.err);
	tu_result_free(&r);
	cr_assert(asprintf(&path, "%s/out.csv", fx.dir) > 0);
	cr_assert_eq(access(path, F_OK), -1);
	free(path);
}

Test(post, config_errors)
{
	tu_put(fx.dir, "data.csv", "1,a,0\n");
	config_error(GROUP_AGG "order_by = sx desc\n",
		     "post.conf:6: order_by: 'sx' is not an output column (did you mean 's'?)");
	config_error(GROUP_AGG "order_by = amount\n",
		     "'amount' is not an output column");
	config_error(GROUP_AGG "order_by = s sideways\n",
		     "expected column [asc|desc] [nulls first|last]");
	config_error(GROUP_AGG "order_by = s nulls\n",
		     "expected column [asc|desc] [nulls first|last]");
	config_error(GROUP_AGG "limit = -1\n", "limit");
	config_error(GROUP_AGG "having = s\n",
		     "having must be a condition (bool), not int");
	config_error(GROUP_AGG "having = amount > 1\n", "amount");
	config_error("having = amount > 1\n", "having filters groups");
	config_error("order_by = amont\n", "did you mean 'amount'?");
}

/* The same rows over three providers, split and ordered two ways. */
Test(post, same_rows_any_split_same_bytes)
{
	int n = tu_scale(3000), i, k;
	char *rows = rand_rows(n, 0x77777ULL), *line, *save = NULL;
	char *parts[2][3] = { { 0 } };
	size_t lens[2][3] = { { 0 } };
	FILE *f[2][3];
	char *out[2];
	uint64_t s = 99;

	for (k = 0; k < 2; k++)
		for (i = 0; i < 3; i++)
			f[k][i] = open_memstream(&parts[k][i], &lens[k][i]);
	i = 0;
	for (line = strtok_r(rows, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), i++) {
		fprintf(f[0][i % 3], "%s\n", line);
		fprintf(f[1][tu_rng(&s) % 3], "%s\n", line);
	}
	for (k = 0; k < 2; k++) {
		struct tu_result r;

		for (i = 0; i < 3; i++)
			fclose(f[k][i]);
		for (i = 0; i < 3; i++) {
			char name[32];

			snprintf(name, sizeof name, "p%d.csv", i);
			tu_put(fx.dir, name, parts[k][(i + k) % 3]);
			free(parts[k][(i + k) % 3]);
		}
		tu_put(fx.dir, "post.conf",
		       "[aggregate]\noutput = out.csv\n"
		       "fields = id:int, region:text, amount:int\n"
		       GROUP_AGG "order_by = n desc, lo\nlimit = 10\n"
		       "[provider a]\ntype = file\npath = p0.csv\nheader = false\n"
		       "[provider b]\ntype = file\npath = p1.csv\nheader = false\n"
		       "[provider c]\ntype = file\npath = p2.csv\nheader = false\n");
		tu_run(&r, fx.dir, (const char *[]){ "-c", "post.conf", NULL },
		       NULL);
		cr_assert_eq(r.status, 0, "%s", r.err);
		tu_result_free(&r);
		out[k] = tu_get(fx.dir, "out.csv");
	}
	cr_assert_str_eq(out[0], out[1]);
	free(out[0]);
	free(out[1]);
	free(rows);
}
