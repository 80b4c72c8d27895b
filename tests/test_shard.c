/*
 * test_shard.c - shards, partials and merges, end to end.
 *
 * One config reads every provider type: CSV files through a glob split
 * over the shards, a SQLite query split by ${SHARD}, a table of a real
 * PostgreSQL server (scripts/pg-test.sh) read whole by one shard, and the
 * HTTP fixture split by ${SHARD} in its URL.  It writes four outputs that
 * use every aggregate kind (exact int, decimal and float sums with values
 * from 1e-300 to 1e300 and -0.0, text keys, min/max of text, distinct
 * sets, variance, percentiles, arg_min/arg_max, a filter), a union, and
 * having/order_by/limit, plus a reject file.  The oracle is the same
 * binary run once over everything: for N in 1, 2, 3 and 7, every shard
 * run and their merge (flat, and as trees of merge --partial) must write
 * the very same bytes.  Bad partials (a byte changed, cut short, another
 * config, a shard missing or twice, another version) are refused with
 * their name and nothing is written.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "helpers/httpfix.h"
#include "helpers/pgtest.h"
#include "helpers/testutil.h"

PGT_START_BEFORE_ALL()
PGT_STOP_AFTER_ALL()

static char *dir;
static struct hf_server hf;

static const char *const outs[] = { "out/groups.csv", "out/rows.csv",
				    "out/top.jsonl", "out/all.csv",
				    "out/rejects.txt" };
#define NOUTS (sizeof outs / sizeof outs[0])

static const char config_fmt[] =
	"[aggregate]\n"
	"output = out/groups.csv\n"
	"fields = id:int, region:text, qty:int, price:float,\n"
	"  amount:decimal(12,2), ts:timestamp, flag:bool\n"
	"group_by = region\n"
	"aggregates = count(*) as n, count(amount) as na, sum(qty) as sq,\n"
	"  avg(qty) as aq, sum(price) as sp, avg(price) as ap,\n"
	"  sum(amount) as sa, avg(amount) as aa, min(region) as r,\n"
	"  max(ts) as last, min(price) as minp, max(amount) as maxa,\n"
	"  count_distinct(qty) as dq, count_distinct(amount) as da,\n"
	"  count_distinct(price) as dp, stddev(price) as sdp,\n"
	"  variance(amount) as va, var_pop(qty) as vq,\n"
	"  stddev_pop(price) as spp, median(price) as mp,\n"
	"  percentile(amount, 0.25) as pa, arg_min(id, price) as cheapest,\n"
	"  arg_max(region, ts) as latest,\n"
	"  sum(qty) filter (where flag) as sqf\n"
	"reject_file = out/rejects.txt\n"
	"max_rejects = 10\n"
	"\n"
	"[output rows]\n"
	"output = out/rows.csv\n"
	"mode = union\n"
	"\n"
	"[output top]\n"
	"output = out/top.jsonl\n"
	"group_by = qty\n"
	"aggregates = count(*) as n, sum(price) as sp, median(amount) as m,\n"
	"  min(region) as first\n"
	"having = n > 2\n"
	"order_by = sp desc\n"
	"limit = 4\n"
	"\n"
	"[output all]\n"
	"output = out/all.csv\n"
	"where = qty >= 0\n"
	"aggregates = count(*) as n, sum(price) as sp, avg(amount) as aa,\n"
	"  stddev(qty) as sd, count_distinct(region) as regions,\n"
	"  max(region) as lastr\n"
	"\n"
	"[provider csv]\n"
	"type = file\n"
	"path = in/part-*.csv\n"
	"shard = split\n"
	"\n"
	"[provider lite]\n"
	"type = sqlite\n"
	"path = lite.db\n"
	"query = SELECT id, region, qty, price, amount, ts, flag FROM t\n"
	"  WHERE id >= ${SHARD} * 300 / ${SHARDS} AND\n"
	"        id < (${SHARD} + 1) * 300 / ${SHARDS} ORDER BY id\n"
	"key = id\n"
	"shard = split\n"
	"\n"
	"[provider pg]\n"
	"type = postgres\n"
	"query = SELECT id, region, qty, price, amount, ts, flag\n"
	"  FROM shard_src_%d ORDER BY id\n"
	"\n"
	"[provider api]\n"
	"type = http\n"
	"url = %s/ndjson?total=40&shard=${SHARD}&shards=${SHARDS}\n"
	"response = ndjson\n"
	"map = ts=/created, flag=/active\n"
	"shard = split\n";

static void mkdir_in(const char *name)
{
	char *p = tu_path(dir, name);

	cr_assert_eq(mkdir(p, 0755), 0, "mkdir %s", p);
	free(p);
}

/* A value of every kind, some extreme; row i of the data. */
static void row(char *out, size_t len, int i, uint64_t *rng)
{
	static const char *const regions[] = {
		"north", "south", "\"east, of here\"", "west", "z\xc3\xa9nith",
		"o'brien"
	};
	uint64_t r = tu_rng(rng);
	double price;
	char p[64];

	switch (r % 11) {
	case 0:
		price = 1e300 * (double)(r % 7);
		break;
	case 1:
		price = 1e-300 * (double)(r % 13);
		break;
	case 2:
		price = -0.0;
		break;
	default:
		price = ((double)(int64_t)(r >> 20) / 1e9) - 4e3;
	}
	snprintf(p, sizeof p, "%.17g", price);
	snprintf(out, len, "%d,%s,%d,%s,%s%lld.%02d,2026-%02d-%02dT%02d:%02d:00Z,%s\n",
		 i, regions[(r >> 8) % 6], (int)((r >> 12) % 9) - 2,
		 (r >> 30) % 9 == 0 ? "" : p,
		 (r >> 40) % 2 ? "-" : "", (long long)((r >> 41) % 100000),
		 (int)((r >> 50) % 100), (int)(1 + (r >> 3) % 12),
		 (int)(1 + (r >> 5) % 28), (int)((r >> 9) % 24),
		 (int)((r >> 14) % 60), (r >> 7) % 3 ? "false" : "true");
}

static void make_data(void)
{
	uint64_t rng = 42;
	char line[256], *path;
	/* Files of uneven sizes, so that no split falls on a file's edge. */
	static const int sizes[] = { 40, 7, 90, 1, 60, 33, 0, 75, 19, 50 };
	int id = 10000;
	sqlite3 *db;
	PGconn *c;
	char *csv = NULL;
	size_t csvlen = 0;
	char table[64];
	FILE *mem = open_memstream(&csv, &csvlen);

	mkdir_in("in");
	for (size_t f = 0; f < sizeof sizes / sizeof sizes[0]; f++) {
		char name[64];
		FILE *fp;

		snprintf(name, sizeof name, "in/part-%02zu.csv", f);
		path = tu_path(dir, name);
		fp = fopen(path, "w");
		cr_assert(fp);
		fputs("id,region,qty,price,amount,ts,flag\n", fp);
		for (int k = 0; k < sizes[f]; k++) {
			row(line, sizeof line, id++, &rng);
			fputs(line, fp);
		}
		if (f == 4) /* a reject, in the reject file of every run */
			fputs("77,west,not-a-number,1,2,2026-01-01T00:00:00Z,"
			      "true\n", fp);
		fclose(fp);
		free(path);
	}

	path = tu_path(dir, "lite.db");
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY,"
				  " region TEXT, qty INTEGER, price REAL,"
				  " amount TEXT, ts TEXT, flag TEXT)", NULL,
				  NULL, NULL), SQLITE_OK);
	for (int i = 0; i < 300; i++) {
		char sql[512], *fld[7], *s = line;

		row(line, sizeof line, i, &rng);
		line[strcspn(line, "\n")] = '\0';
		for (int k = 0; k < 7; k++) {
			fld[k] = s;
			/* The region may hold a quoted comma: take it whole. */
			if (*s == '"') {
				s = strchr(s + 1, '"') + 1;
			}
			s += strcspn(s, ",");
			if (*s)
				*s++ = '\0';
		}
		snprintf(sql, sizeof sql, "INSERT INTO t VALUES (%s, '%s', %s, "
			 "%s, '%s', '%s', '%s')", fld[0],
			 strcmp(fld[1], "o'brien") == 0 ? "o''brien" :
			 fld[1][0] == '"' ? "east, of here" : fld[1], fld[2],
			 fld[3][0] ? fld[3] : "NULL", fld[4], fld[5], fld[6]);
		cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK,
			     "%s", sql);
	}
	sqlite3_close(db);
	free(path);

	for (int i = 0; i < 120; i++) {
		row(line, sizeof line, 20000 + i, &rng);
		fputs(line, mem);
	}
	fclose(mem);
	c = pgt_connect();
	pgt_sql(c, "SET client_min_messages = warning");
	/* Tests run side by side: a table of this process's own. */
	snprintf(table, sizeof table, "shard_src_%d", (int)getpid());
	pgt_sql(c, "DROP TABLE IF EXISTS %s", table);
	pgt_sql(c, "CREATE TABLE %s (id int, region text, qty int, "
		"price float8, amount numeric(12,2), ts timestamptz, "
		"flag bool)", table);
	pgt_load_csv(c, table, csv, false);
	PQfinish(c);
	free(csv);
}

static void setup(void)
{
	char *conf;

	tu_watchdog(600);
	dir = tu_tmpdir();
	cr_assert_eq(hf_start(&hf), 0);
	make_data();
	cr_assert(asprintf(&conf, config_fmt, (int)getpid(), hf.base) > 0);
	tu_put(dir, "shard.conf", conf);
	free(conf);
	mkdir_in("out");
	mkdir_in("single");
	mkdir_in("parts");
}

static void teardown(void)
{
	hf_stop(&hf);
	tu_tmpdir_free(&dir);
}

TestSuite(shard, .init = setup, .fini = teardown, .timeout = 600);

/* Run the binary in dir with args; the exit status, stderr kept in r. */
static int run(struct tu_result *r, const char *const *args)
{
	return tu_run(r, dir, args, NULL);
}

static void run_ok(const char *const *args)
{
	struct tu_result r;

	cr_assert_eq(run(&r, args), 0, "%s: %s", args[0], r.err);
	tu_result_free(&r);
}

/* Remove the outputs, so that a run that writes none is seen. */
static void clear_outputs(void)
{
	for (size_t i = 0; i < NOUTS; i++) {
		char *p = tu_path(dir, outs[i]);

		unlink(p);
		free(p);
	}
}

/* The single run's outputs, kept under single/. */
static void single_run(void)
{
	static const char *const args[] = { "-q", "-c", "shard.conf", NULL };

	clear_outputs();
	run_ok(args);
	for (size_t i = 0; i < NOUTS; i++) {
		char *s = tu_get(dir, outs[i]), name[64];

		cr_assert(s, "no %s from the single run", outs[i]);
		snprintf(name, sizeof name, "single/%s", outs[i] + 4);
		tu_put(dir, name, s);
		/* The union has rows of every provider. */
		if (i == 1)
			cr_assert(strstr(s, "\ncsv,") && strstr(s, "\nlite,") &&
				  strstr(s, "\npg,") && strstr(s, "\napi,"),
				  "%s", s);
		free(s);
	}
}

/* Every output byte for byte the single run's. */
static void expect_single(const char *what)
{
	for (size_t i = 0; i < NOUTS; i++) {
		char name[64], *want, *got;
		size_t wl, gl;
		char *wp, *gp;

		snprintf(name, sizeof name, "single/%s", outs[i] + 4);
		wp = tu_path(dir, name);
		gp = tu_path(dir, outs[i]);
		want = tu_read(wp, &wl);
		got = tu_read(gp, &gl);
		cr_assert(got, "%s: no %s", what, outs[i]);
		cr_assert(wl == gl && memcmp(want, got, wl) == 0,
			  "%s: %s differs from the single run's:\n%s\n---\n%s",
			  what, outs[i], got, want);
		free(want);
		free(got);
		free(wp);
		free(gp);
	}
}

static void run_shards(int n)
{
	for (int i = 0; i < n; i++) {
		char spec[32], part[64];
		const char *args[] = { "-q", "-c", "shard.conf", "--shard", spec,
				       "--partial", part, NULL };

		snprintf(spec, sizeof spec, "%d/%d", i, n);
		snprintf(part, sizeof part, "parts/p%d-%d.agp", n, i);
		run_ok(args);
	}
}

/* merge [--partial out] of the shards' partials listed in which. */
static int merge(struct tu_result *r, const char *out, int n,
		 const int *which, int count, const char *const *extra)
{
	const char *args[64];
	char names[32][64];
	int k = 0;

	args[k++] = "merge";
	args[k++] = "-q";
	args[k++] = "-c";
	args[k++] = "shard.conf";
	if (out) {
		args[k++] = "--partial";
		args[k++] = out;
	}
	for (int i = 0; i < count; i++) {
		snprintf(names[i], sizeof names[i], "parts/p%d-%d.agp", n,
			 which[i]);
		args[k++] = names[i];
	}
	for (int i = 0; extra && extra[i]; i++)
		args[k++] = extra[i];
	args[k] = NULL;
	return run(r, args);
}

static void merge_ok(const char *out, int n, const int *which, int count,
		     const char *const *extra)
{
	struct tu_result r;

	cr_assert_eq(merge(&r, out, n, which, count, extra), 0, "%s", r.err);
	tu_result_free(&r);
}

static const int all[] = { 0, 1, 2, 3, 4, 5, 6 };

Test(shard, flat_merges_equal_one_run)
{
	static const int ns[] = { 1, 2, 3, 7 };

	single_run();
	for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
		char what[32];

		run_shards(ns[k]);
		clear_outputs();
		merge_ok(NULL, ns[k], all, ns[k], NULL);
		snprintf(what, sizeof what, "%d shards", ns[k]);
		expect_single(what);
	}
}

Test(shard, tree_merges_equal_one_run)
{
	static const int a[] = { 0, 1, 2 }, b[] = { 3, 4 }, c[] = { 5, 6 };
	static const int odd[] = { 1, 3, 5 }, even[] = { 0, 2, 4 };
	static const char *const bc[] = { "parts/tb.agp", "parts/tc.agp",
					  NULL };
	static const char *const two[] = { "parts/ta.agp", "parts/tbc.agp",
					   NULL };
	static const char *const oe[] = { "parts/to.agp", "parts/te.agp",
					  NULL };
	struct tu_result r;

	single_run();
	run_shards(7);
	/* Consecutive shards: (0 1 2) ((3 4) (5 6)). */
	merge_ok("parts/ta.agp", 7, a, 3, NULL);
	merge_ok("parts/tb.agp", 7, b, 2, NULL);
	merge_ok("parts/tc.agp", 7, c, 2, NULL);
	merge_ok("parts/tbc.agp", 7, NULL, 0, bc);
	clear_outputs();
	merge_ok(NULL, 7, NULL, 0, two);
	expect_single("a tree of consecutive shards");
	/* Shards far apart: (1 3 5) (0 2 4) 6. */
	merge_ok("parts/to.agp", 7, odd, 3, NULL);
	merge_ok("parts/te.agp", 7, even, 3, NULL);
	clear_outputs();
	cr_assert_eq(merge(&r, NULL, 7, (const int[]){ 6 }, 1, oe), 0, "%s",
		     r.err);
	tu_result_free(&r);
	expect_single("a tree of shards far apart");
	/* Three shards, as a tree too. */
	run_shards(3);
	merge_ok("parts/t3.agp", 3, (const int[]){ 2, 0 }, 2, NULL);
	clear_outputs();
	cr_assert_eq(merge(&r, NULL, 3, (const int[]){ 1 }, 1,
			   (const char *const[]){ "parts/t3.agp", NULL }), 0,
		     "%s", r.err);
	tu_result_free(&r);
	expect_single("3 shards as a tree");
}

Test(shard, partial_is_deterministic_and_replaced)
{
	char *a, *b, *p = tu_path(dir, "parts/p3-1.agp");
	char *parts = tu_path(dir, "parts");
	size_t al, bl;

	run_shards(3);
	a = tu_read(p, &al);
	run_shards(3); /* a retried shard: the file is replaced whole */
	b = tu_read(p, &bl);
	cr_assert(al == bl && memcmp(a, b, al) == 0,
		  "two runs of one shard wrote different partials");
	cr_assert_eq(tu_count_entries(parts), 3,
		     "a temporary is left beside the partials");
	free(a);
	free(b);
	free(p);
	free(parts);
}

/* A merge that must fail with code and a message holding text. */
static void refused(int code, const char *text, const char *const *files)
{
	struct tu_result r;
	const char *args[16] = { "merge", "-c", "shard.conf" };
	int k = 3;

	for (int i = 0; files[i]; i++)
		args[k++] = files[i];
	args[k] = NULL;
	clear_outputs();
	cr_assert_eq(run(&r, args), code, "status %d, stderr:\n%s", r.status,
		     r.err);
	cr_assert(strstr(r.err, text), "no \"%s\" in:\n%s", text, r.err);
	for (size_t i = 0; i < NOUTS; i++) {
		char *s = tu_get(dir, outs[i]);

		cr_assert_null(s, "%s written by a refused merge", outs[i]);
	}
	tu_result_free(&r);
}

/* Copy parts/p3-I.agp to parts/NAME after edit(data, &len). */
static void doctor(int i, const char *name, void (*edit)(unsigned char *,
							  size_t *))
{
	char src[64], dst[64];
	unsigned char *d;
	size_t len;
	char *p;
	FILE *f;

	snprintf(src, sizeof src, "parts/p3-%d.agp", i);
	p = tu_path(dir, src);
	d = (unsigned char *)tu_read(p, &len);
	free(p);
	edit(d, &len);
	snprintf(dst, sizeof dst, "parts/%s", name);
	p = tu_path(dir, dst);
	f = fopen(p, "wb");
	cr_assert(f);
	cr_assert_eq(fwrite(d, 1, len, f), len);
	fclose(f);
	free(p);
	free(d);
}

static void flip_byte(unsigned char *d, size_t *len)
{
	d[*len / 2] ^= 0x20;
}

static void cut(unsigned char *d, size_t *len)
{
	(void)d;
	*len -= 100;
}

/* Version 2, the checksum made right again: refused for its version. */
static void version3(unsigned char *d, size_t *len)
{
	uint32_t v = 3, crc;

	memcpy(d + 8, &v, 4);
	crc = (uint32_t)crc32(0, d, (uInt)(*len - 4));
	memcpy(d + *len - 4, &crc, 4);
}

Test(shard, bad_partials_are_refused)
{
	static const char *const missing[] = { "parts/p3-0.agp",
					       "parts/p3-2.agp", NULL };
	static const char *const twice[] = { "parts/p3-0.agp", "parts/p3-1.agp",
					     "parts/p3-2.agp", "parts/p3-1.agp",
					     NULL };
	static const char *const corrupt[] = { "parts/p3-0.agp",
					       "parts/bad.agp",
					       "parts/p3-2.agp", NULL };
	static const char *const truncated[] = { "parts/p3-0.agp",
						 "parts/short.agp",
						 "parts/p3-2.agp", NULL };
	static const char *const version[] = { "parts/p3-0.agp",
					       "parts/v3.agp",
					       "parts/p3-2.agp", NULL };
	static const char *const other_n[] = { "parts/p3-0.agp",
					       "parts/p3-1.agp",
					       "parts/p3-2.agp",
					       "parts/p2-1.agp", NULL };
	static const char *const absent[] = { "parts/nope.agp", NULL };
	static const char *const notours[] = { "shard.conf", NULL };
	struct tu_result r;
	char *conf;

	run_shards(3);
	run_shards(2);
	refused(65, "missing the partial of shard 1 of 3", missing);
	refused(65, "parts/p3-1.agp: shard 1 of 3 is also in parts/p3-1.agp",
		twice);
	doctor(1, "bad.agp", flip_byte);
	refused(65, "parts/bad.agp: corrupt (checksum mismatch)", corrupt);
	doctor(1, "short.agp", cut);
	refused(65, "parts/short.agp: truncated", truncated);
	doctor(1, "v3.agp", version3);
	refused(65, "parts/v3.agp: format version 3", version);
	refused(65, "parts/p2-1.agp: a run of 2 shards, the others are of 3",
		other_n);
	refused(66, "parts/nope.agp", absent);
	refused(65, "shard.conf: not a partial", notours);

	/* Another config: one aggregate more. */
	conf = tu_get(dir, "shard.conf");
	cr_assert(conf);
	{
		char *at = strstr(conf, "as sqf\n"), *other;

		cr_assert(at);
		cr_assert(asprintf(&other, "%.*sas sqf, count(*) as more\n%s",
				   (int)(at - conf), conf, at + 7) > 0);
		tu_put(dir, "other.conf", other);
		free(other);
	}
	free(conf);
	clear_outputs();
	{
		const char *args[] = { "merge", "-c", "other.conf",
				       "parts/p3-0.agp", "parts/p3-1.agp",
				       "parts/p3-2.agp", NULL };

		cr_assert_eq(run(&r, args), 65, "%s", r.err);
		cr_assert(strstr(r.err, "parts/p3-0.agp: written for another "
				 "config"), "%s", r.err);
		tu_result_free(&r);
	}
	/* A tree merge refuses the same, and writes no partial. */
	{
		const char *args[] = { "merge", "-c", "shard.conf", "--partial",
				       "parts/t.agp", "parts/p3-0.agp",
				       "parts/bad.agp", NULL };

		cr_assert_eq(run(&r, args), 65, "%s", r.err);
		cr_assert_null(tu_get(dir, "parts/t.agp"));
		tu_result_free(&r);
	}
}

Test(shard, command_line_and_environment)
{
	struct tu_result r;
	const char *no_partial[] = { "-c", "shard.conf", "--shard", "1/3",
				     NULL };
	const char *bad_spec[] = { "-c", "shard.conf", "--shard", "3/3",
				   "--partial", "parts/x.agp", NULL };
	const char *check[] = { "-c", "shard.conf", "--check", "--shards",
				"3", NULL };
	const char *check2[] = { "-c", "shard.conf", "--check", NULL };
	const char *const slurm[] = { "SLURM_ARRAY_TASK_ID=6",
				      "SLURM_ARRAY_TASK_MIN=4",
				      "SLURM_ARRAY_TASK_COUNT=4", NULL };
	const char *const k8s[] = { "JOB_COMPLETION_INDEX=1", NULL };
	const char *slurm_check[] = { "-c", "shard.conf", "--check",
				      "--partial", "parts/x.agp", NULL };
	char *conf, *bad;

	cr_assert_eq(run(&r, no_partial), 64);
	cr_assert(strstr(r.err, "--partial"), "%s", r.err);
	tu_result_free(&r);
	cr_assert_eq(run(&r, bad_spec), 64);
	cr_assert(strstr(r.err, "invalid --shard '3/3'"), "%s", r.err);
	tu_result_free(&r);

	/* Kubernetes: I from JOB_COMPLETION_INDEX, N from --shards. */
	tu_run(&r, dir, check, k8s);
	cr_assert(strstr(r.out, "pg                   shard    1/3     whole "
			 "in shard 2\n"), "%s", r.out);
	cr_assert(strstr(r.out, "lite                 shard    1/3     its "
			 "share (split) in every shard: runs here"), "%s",
		  r.out);
	tu_result_free(&r);
	/* Slurm: an array 4-7, task 6 is shard 2 of 4. */
	tu_run(&r, dir, slurm_check, slurm);
	cr_assert(strstr(r.out, "pg                   shard    2/4     whole "
			 "in shard 2: runs here"), "%s", r.out);
	tu_result_free(&r);
	/* Without a shard, --check says nothing of shards. */
	tu_run(&r, dir, check2, NULL);
	cr_assert_null(strstr(r.out, " shard "), "%s", r.out);
	tu_result_free(&r);

	/* shard = split with no ${SHARD} in a query: a config error. */
	conf = tu_get(dir, "shard.conf");
	bad = strdup(conf);
	cr_assert(bad);
	*strstr(bad, "WHERE id >=") = '\0';
	strcat(bad, "ORDER BY id\nkey = id\nshard = split\n");
	tu_put(dir, "bad.conf", bad);
	{
		const char *args[] = { "-c", "bad.conf", "--check", NULL };

		cr_assert_eq(run(&r, args), 78, "%s", r.err);
		cr_assert(strstr(r.err, "bad.conf:") &&
			  strstr(r.err, "shard = split needs ${SHARD}"), "%s",
			  r.err);
		tu_result_free(&r);
	}
	free(conf);
	free(bad);
}
