/*
 * test_combine.c - a range reader's combine (providers/combine.c): the
 * rows of a file read with `parallel` folded into groups in the readers.
 *
 * The oracle is the same binary reading with one process, which sends
 * rows: with every aggregate the combine takes (count(*), count, sum and
 * avg of int, decimal and float, min and max of int, text and decimal),
 * keys of text and bool, NULLs, rejects and a `where`, every output, the
 * reject file and the summary's records, rejects and filtered must be the
 * same for N = 2, 3 and 7, and with `pushdown = false` (the control: the
 * readers send rows).  Float sums over values 600 binary orders apart
 * (the readers' sums go wide) are checked against Python's math.fsum;
 * decimal(38) sums that pass 10^38 make the readers send early; one group
 * a row makes them fall back to rows; range readers killed at seeded
 * points restart from their checkpoints with nothing lost or doubled.
 *
 * The fold the readers run inline (comb_fold(): one key of an int, a bool
 * or text of up to 8 bytes; count(*), count, int and float sums and
 * averages, int minima and maxima) is run over every key kind, text keys
 * of every length from 1 to 12 (the longer ones the general path's), both
 * of its loops (float sums only, and any), against one reader, and
 * against SQLite (counts, minima, maxima) and Python (exact int sums,
 * math.fsum) reading the same file; with a table smaller than a
 * checkpoint's groups (sent when full, then folding on), and killed.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers/samefiles.h"
#include "helpers/testutil.h"

static char *dir;

/*
 * out folder, fields, group_by, aggregates (twice), out folder, input,
 * provider lines, parallel
 */
static const char config_fmt[] =
	"[aggregate]\n"
	"output = %s/groups.csv\n"
	"fields = %s\n"
	"group_by = %s\n"
	"aggregates = %s%s\n"
	"reject_file = %s/rejects.txt\n"
	"max_rejects = 100000\n"
	"%s"
	"\n"
	"[provider src]\n"
	"type = file\n"
	"path = %s\n"
	"%s"
	"parallel = %s\n";

/* The fields and aggregates of the runs: every kind the combine takes. */
static const char *fields =
	"id:int, region:text, hot:bool, qty:int, price:float,\n"
	"  amount:decimal(12,2), tag:text, big:decimal(38,0)";
static const char *aggs =
	"count(*) as n, count(qty) as cq, sum(qty) as sq,\n"
	"  avg(qty) as aq, sum(price) as sp, avg(price) as ap,\n"
	"  sum(amount) as sa, avg(amount) as aa, min(qty) as mnq,\n"
	"  max(qty) as mxq, min(amount) as mna, max(amount) as mxa,\n"
	"  min(tag) as mnt, max(tag) as mxt";

/*
 * The test's sum of the decimal(38) field, or "": a `where` drops rows
 * whose values the running sums counted (row()).
 */
static const char *big_sum = ", sum(big) as sb";

static const char *const outs[] = { "groups.csv", "rejects.txt" };
#define NOUTS (sizeof outs / sizeof outs[0])

/* The test's hooks: small ranges, and room for one more (a small table). */
static const char *tiny[] = { "AGG_PARALLEL_MIN_RANGE=16", NULL, NULL };

#define FOLDED "rows folded into groups in the reader"

static void setup(void)
{
	tu_watchdog(900);
	dir = tu_tmpdir();
}

static void teardown(void)
{
	tu_tmpdir_free(&dir);
}

TestSuite(combine, .init = setup, .fini = teardown);

/*
 * Row i: NULLs now and then, every 13th a reject, floats from 1e-300 to
 * 1e300 with zeros of both signs and subnormals, decimal(38) values of
 * 6 x 10^37 whose sign keeps each group's running sum within 10^38 (the
 * sums of a range's rows may pass it).  sums: per region and hot.
 */
static void row(FILE *f, int i, int regions, __int128 *sums, uint64_t *rng)
{
	uint64_t r = tu_rng(rng);
	int reg = (int)((r >> 8) % (uint64_t)regions), hot = (r >> 16) % 3 != 0;
	__int128 *sum = &sums[reg * 2 + hot];
	char price[64], amount[64], qty[24], big[64], tag[16];
	double p;

	switch (r % 13) {
	case 0:
		p = 1e300 * (double)(r % 7);
		break;
	case 1:
		p = 1e-300 * (double)(r % 13);
		break;
	case 2:
		p = (r >> 9) % 2 ? -0.0 : 0.0;
		break;
	case 3:
		p = 4.9e-324 * (double)(r % 5);
		break;
	case 4:
		price[0] = '\0';
		p = 0;
		break;
	default:
		p = ((double)(int64_t)(r >> 20) / 1e9) - 4e3;
	}
	if (r % 13 != 4)
		snprintf(price, sizeof price, "%.17g", p);
	snprintf(amount, sizeof amount, "%s%lld.%02d", (r >> 40) % 2 ? "-" : "",
		 (long long)((r >> 41) % 100000), (int)((r >> 50) % 100));
	if ((r >> 30) % 17 == 0)
		amount[0] = '\0';
	snprintf(qty, sizeof qty, "%d", (int)((r >> 12) % 9) - 2);
	if ((r >> 33) % 11 == 0)
		qty[0] = '\0';
	if (i % 13 == 6)
		snprintf(qty, sizeof qty, "bad%d", i);
	snprintf(big, sizeof big, "%s6%037llu", *sum >= 0 ? "-" : "",
		 (unsigned long long)(r % 1000000007));
	/* A reject's value is no part of the sum. */
	if (i % 13 != 6)
		*sum += (*sum >= 0 ? -6 : 6) *
			(__int128)1000000000000000000ll *
			(__int128)10000000000000000000ull;
	snprintf(tag, sizeof tag, "t%llu", (unsigned long long)(r >> 50) % 97);
	if ((r >> 20) % 19 == 0)
		tag[0] = '\0';
	fprintf(f, "%d,r%d,%s,%s,%s,%s,%s,%s\n", i, reg,
		hot ? "true" : "false", qty, price, amount, tag, big);
}

static void make_file(const char *name, int n, int regions)
{
	char *path = tu_path(dir, name);
	FILE *f = fopen(path, "w");
	uint64_t rng = 11;
	__int128 *sums = calloc((size_t)regions * 2, sizeof *sums);

	cr_assert(f && sums, "%s", path);
	fputs("id,region,hot,qty,price,amount,tag,big\n", f);
	for (int i = 0; i < n; i++)
		row(f, i, regions, sums, &rng);
	fclose(f);
	free(sums);
	free(path);
}

/* Run with parallel par into folder out; the exit status. */
static int run(const char *out, const char *group_by, const char *agg,
	       const char *prov, const char *par, const char *const *env,
	       struct tu_result *r)
{
	char *conf, *outdir = tu_path(dir, out);
	const char *args[] = { "-c", "c.conf", "-v", NULL };

	mkdir(outdir, 0755);
	free(outdir);
	cr_assert(asprintf(&conf, config_fmt, out, fields, group_by, aggs,
			   big_sum, out, agg ? agg : "", "in.csv",
			   prov ? prov : "", par) > 0);
	tu_put(dir, "c.conf", conf);
	free(conf);
	return tu_run(r, dir, args, env);
}

static void same_outputs(const char *a, const char *b, const char *what)
{
	sf_same_files(dir, a, b, outs, NOUTS, what);
}

/*
 * The summary row of provider src up to its restarts: name, status,
 * records, rejects and filtered (when a `where` drops some).
 */
static char *summary(const char *err)
{
	const char *h = strstr(err, "\nprovider "), *l = strstr(err, "\nsrc ");
	const char *e = h ? strstr(h, "restarts") : NULL;
	int cols = 0;
	char *out, *tok, *save = NULL, *row;
	size_t len = 0;

	cr_assert(h && l && e, "no summary: %s", err);
	for (const char *p = h + 1; p < e; p++)
		cols += p[0] != ' ' && p[-1] == ' ';
	l++;
	row = strndup(l, strcspn(l, "\n"));
	out = calloc(1, strlen(row) + 1);
	cr_assert(row && out);
	tok = strtok_r(row, " ", &save);
	for (int i = 0; i <= cols && tok; i++, tok = strtok_r(NULL, " ", &save))
		len += (size_t)sprintf(out + len, "%s ", tok);
	free(row);
	return out;
}

/*
 * parallel = 1 into "one", then N = 2, 3, 7 with the combine, and 3
 * without it: the same outputs, rejects and summary counts.
 */
static void check_same(const char *group_by, const char *agg,
		       const char *prov)
{
	static const char *const ns[] = { "2", "3", "7" };
	struct tu_result r;
	char *want, *got, p2[256];

	cr_assert_eq(run("one", group_by, agg, prov, "1", NULL, &r), 0, "%s",
		     r.err);
	cr_assert(strstr(r.err, FOLDED) == NULL, "%s", r.err);
	want = summary(r.err);
	tu_result_free(&r);
	for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
		char out[16];

		snprintf(out, sizeof out, "n%s", ns[i]);
		cr_assert_eq(run(out, group_by, agg, prov, ns[i], tiny, &r), 0,
			     "%s", r.err);
		cr_assert(strstr(r.err, FOLDED), "not folded: %s", r.err);
		cr_assert(strstr(r.err, "restarted") == NULL, "%s", r.err);
		got = summary(r.err);
		cr_assert_str_eq(got, want, "N = %s", ns[i]);
		free(got);
		same_outputs("one", out, ns[i]);
		tu_result_free(&r);
	}
	snprintf(p2, sizeof p2, "%spushdown = false\n", prov ? prov : "");
	cr_assert_eq(run("off", group_by, agg, p2, "3", tiny, &r), 0, "%s",
		     r.err);
	cr_assert(strstr(r.err, FOLDED) == NULL, "%s", r.err);
	got = summary(r.err);
	cr_assert_str_eq(got, want, "pushdown = false");
	free(got);
	same_outputs("one", "off", "pushdown = false");
	tu_result_free(&r);
	free(want);
}

Test(combine, same_as_one_reader)
{
	TU_REQUIRE_HOOKS(teardown);
	make_file("in.csv", 20000, 40);
	check_same("region, hot", NULL, NULL);
}

/* A `where` and a derived field run in the readers; filtered counted. */
Test(combine, where_and_derived_fields)
{
	TU_REQUIRE_HOOKS(teardown);
	big_sum = "";
	make_file("in.csv", 20000, 40);
	check_same("region", "derive = q2 = qty * 2\n"
		   "where = q2 is null or q2 >= 0\n", NULL);
	check_same("region, hot", "where = amount > 0\n",
		   "where = price is null or price < 1000\n");
}

/* One group a row: the readers send rows again, the output the same. */
Test(combine, many_groups_fall_back_to_rows)
{
	struct tu_result r;

	TU_REQUIRE_HOOKS(teardown);
	make_file("in.csv", 30000, 40);
	cr_assert_eq(run("one", "id", NULL, NULL, "1", NULL, &r), 0, "%s",
		     r.err);
	tu_result_free(&r);
	cr_assert_eq(run("n", "id", NULL, NULL, "2", tiny, &r), 0, "%s",
		     r.err);
	cr_assert(strstr(r.err, "too many groups"), "%s", r.err);
	same_outputs("one", "n", "one group a row");
	tu_result_free(&r);
}

/* The float sums, each against Python's math.fsum of the file's values. */
Test(combine, float_sums_against_math_fsum)
{
	static const char script[] =
		"import csv, math, sys\n"
		"g = {}\n"
		"with open(sys.argv[1], newline='') as f:\n"
		"    r = csv.reader(f)\n"
		"    next(r)\n"
		"    for row in r:\n"
		"        if row[3].startswith('bad') or row[4] == '':\n"
		"            continue\n"
		"        g.setdefault(row[1], []).append(float(row[4]))\n"
		"bad = 0\n"
		"with open(sys.argv[2], newline='') as f:\n"
		"    r = csv.DictReader(f)\n"
		"    for row in r:\n"
		"        want = math.fsum(g.pop(row['region']))\n"
		"        got = float(row['sp'])\n"
		"        if got != want or math.copysign(1, got) != "
		"math.copysign(1, want):\n"
		"            print(row['region'], got, want)\n"
		"            bad += 1\n"
		"sys.exit(1 if bad or g else 0)\n";
	struct tu_result r;
	char cmd[512];

	TU_REQUIRE_HOOKS(teardown);
	big_sum = "";
	make_file("in.csv", 30000, 25);
	tu_put(dir, "fsum.py", script);
	cr_assert_eq(run("n", "region", NULL, NULL, "3", tiny, &r), 0, "%s",
		     r.err);
	cr_assert(strstr(r.err, FOLDED), "%s", r.err);
	tu_result_free(&r);
	snprintf(cmd, sizeof cmd, "cd %s && python3 fsum.py in.csv "
		 "n/groups.csv", dir);
	cr_assert_eq(system(cmd), 0, "sums differ from math.fsum");
}

/* Readers killed at seeded points: each output as one reader's. */
static void kills(const char *group_by)
{
	struct tu_result r;
	int fired = 0;

	cr_assert_eq(run("one", group_by, NULL, NULL, "1", NULL, &r), 0,
		     "%s", r.err);
	tu_result_free(&r);
	for (unsigned seed = 1; seed <= 12; seed++) {
		char fault[96], what[32];
		const char *env[] = { "AGG_PARALLEL_MIN_RANGE=16", fault,
				      NULL };

		/* At a seeded row count, or at seeded random points. */
		if (seed % 2)
			snprintf(fault, sizeof fault, "AGG_FAULT=src[%u]:1:"
				 "record:%u", seed % 3, 1 + seed * 733 % 9000);
		else if (seed % 3 == 0)
			snprintf(fault, sizeof fault, "AGG_FAULT=src[%u]:1:"
				 "random:%u;src[%u]:1:random:%u", seed % 3,
				 seed, (seed + 1) % 3, seed * 7);
		else
			snprintf(fault, sizeof fault, "AGG_FAULT=src[%u]:1:"
				 "random:%u", seed % 3, seed);
		cr_assert_eq(run("n", group_by, NULL, NULL, "3", env, &r), 0,
			     "%s: %s", fault, r.err);
		if (strstr(r.err, "fault injected")) {
			fired++;
			cr_assert(strstr(r.err, "restarted"), "%s", r.err);
		}
		snprintf(what, sizeof what, "seed %u", seed);
		same_outputs("one", "n", what);
		tu_result_free(&r);
	}
	cr_assert_geq(fired, 8, "only %d of 12 kills fired", fired);
}

Test(combine, kills_of_range_readers)
{
	TU_REQUIRE_HOOKS(teardown);
	make_file("in.csv", 30000, 40);
	kills("region, hot");
}

/* The fast fold's file: keys of each kind, ints that pass 64 bits. */
static const char *fast_fields =
	"id:int, k:text, ki:int, kb:bool, qty:int, price:float";
static const char *fast_any =
	"count(*) as n, count(qty) as cq, sum(qty) as sq, avg(qty) as aq,\n"
	"  min(qty) as mnq, max(qty) as mxq, sum(price) as sp,\n"
	"  avg(price) as ap, count(price) as cp";
static const char *fast_fsums = "count(*) as n, sum(price) as sp, "
				 "avg(price) as ap";
/* One float sum alone: the fold's loop without a loop over steps. */
static const char *fast_fsum1 = "count(*) as n, sum(price) as sp";

/*
 * Key j of n: text of 1 to 12 bytes, keys of 2 and 3 bytes that share
 * their first, middle and last byte ("ab", "abb"), and ones that differ
 * in one byte only.
 */
static void text_key(char *out, int j)
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	int len = 1 + j % 12, x = j / 12;

	for (int i = 0; i < len; i++)
		out[i] = (char)(i == len / 2 ? al[x % 36] : al[(x / 36 + i) % 3]);
	out[len] = '\0';
}

/*
 * n rows over keys groups (hot: most of them over the first hot): every
 * 41st key NULL, every 97th row's text key quoted (the general
 * reader's), bursts of qty +4e18 three times then -4e18 three times in
 * one key (a range's sums pass 64 bits, each group's ends small), prices
 * from cents to 1e300 and back, zeros of both signs, NULLs.
 */
static void make_fast_file(const char *name, int n, int keys, int hot)
{
	char *path = tu_path(dir, name);
	FILE *f = fopen(path, "w");
	uint64_t rng = 29;
	int burst = 0, burst_key = 0;

	cr_assert(f, "%s", path);
	fputs("id,k,ki,kb,qty,price\n", f);
	for (int i = 0; i < n; i++) {
		uint64_t r = tu_rng(&rng);
		/* hot: most rows of keys below it, a few of the others. */
		int j = hot == 0 ? (int)(r % (uint64_t)keys) :
			(r >> 56) % 64 ? (int)(r % (uint64_t)hot) :
			hot + (int)(r % (uint64_t)(keys - hot));
		char k[16], ki[24], qty[32], price[48];
		double p;

		text_key(k, j);
		if (burst > 0) {
			/* Three of +4e18, three of -4e18, of one key. */
			j = burst_key;
			snprintf(qty, sizeof qty, "%s4000000000000000000",
				 burst-- > 3 ? "" : "-");
			text_key(k, j);
		} else if ((r >> 20) % 97 == 0) {
			burst = 5;
			burst_key = j;
			snprintf(qty, sizeof qty, "4000000000000000000");
		} else if ((r >> 24) % 13 == 0) {
			qty[0] = '\0';
		} else {
			snprintf(qty, sizeof qty, "%d",
				 (int)((r >> 30) % 2001) - 1000);
		}
		switch ((r >> 40) % 23) {
		case 0:
			p = 1e300 * (double)((r >> 45) % 5);
			break;
		case 1:
			p = -1e-300;
			break;
		case 2:
			p = (r >> 46) % 2 ? -0.0 : 0.0;
			break;
		default:
			p = (double)((int64_t)((r >> 44) % 200000) - 50000) /
			    100.0;
		}
		snprintf(price, sizeof price, "%.17g", p);
		if ((r >> 50) % 17 == 0)
			price[0] = '\0';
		fprintf(f, "%d,", i);
		if (j % 41 == 40)
			;
		else if (i % 97 == 0)
			fprintf(f, "\"%s\"", k);
		else
			fputs(k, f);
		/* Int keys far apart and near; bools of the key too. */
		snprintf(ki, sizeof ki, "%lld", j % 41 == 40 ? 0LL :
			 (long long)(j - keys / 2) * (j % 2 ? 1 :
				 4611686018427387LL));
		fprintf(f, ",%s,%s,%s,%s\n", j % 41 == 40 ? "" : ki,
			j % 41 == 39 ? "" : j % 3 ? "true" : "false", qty,
			price);
	}
	fclose(f);
	free(path);
}

/* Folder out's groups by key against SQLite and Python. */
static void oracle(const char *out, const char *key)
{
	char cmd[1024];

	snprintf(cmd, sizeof cmd, "python3 '%s/tests/fixtures/"
		 "combine_oracle.py' '%s/in.csv' '%s/%s/groups.csv' %s",
		 tu_srcdir(), dir, dir, out, key);
	cr_assert_eq(system(cmd), 0, "%s by %s: the oracle disagrees", out,
		     key);
}

/*
 * The inline fold over each key kind (text of 1 to 12 bytes, ints far
 * apart, bools, NULLs) with each aggregate it folds, through each of its
 * three loops and with count(*) alone: as one reader, SQLite and Python.
 */
Test(combine, fast_fold_every_key_and_aggregate)
{
	static const char *const keys[] = { "k", "ki", "kb" };

	TU_REQUIRE_HOOKS(teardown);
	fields = fast_fields;
	big_sum = "";
	make_fast_file("in.csv", 20000, 300, 0);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		aggs = fast_any;
		check_same(keys[i], NULL, NULL);
		oracle("n7", keys[i]);
		aggs = fast_fsums;
		check_same(keys[i], NULL, NULL);
		oracle("n3", keys[i]);
		aggs = fast_fsum1;
		check_same(keys[i], NULL, NULL);
		oracle("n3", keys[i]);
	}
	aggs = "count(*) as n";
	check_same("ki", NULL, NULL);
	oracle("n2", "ki");
}

/*
 * A table that fills within a checkpoint's rows (AGG_COMB_MAX_GROUPS):
 * sent when a new group has no room, then folding on while the groups
 * keep their rows; and, one group a row, the fall back to rows.
 */
Test(combine, fast_table_full_sends_and_folds_on)
{
	struct tu_result r;

	TU_REQUIRE_HOOKS(teardown);
	fields = fast_fields;
	big_sum = "";
	tiny[1] = "AGG_COMB_MAX_GROUPS=40";
	make_fast_file("in.csv", 30000, 200, 30);
	aggs = fast_any;
	check_same("k", NULL, NULL);
	oracle("n2", "k");
	cr_assert_eq(run("n", "k", NULL, NULL, "2", tiny, &r), 0, "%s", r.err);
	cr_assert(strstr(r.err, FOLDED) && !strstr(r.err, "stopped"), "%s",
		  r.err);
	tu_result_free(&r);
	aggs = fast_fsums;
	check_same("id", NULL, NULL);
	cr_assert_eq(run("n", "id", NULL, NULL, "2", tiny, &r), 0, "%s",
		     r.err);
	cr_assert(strstr(r.err, "too many groups"), "%s", r.err);
	tu_result_free(&r);
}

Test(combine, fast_fold_kills)
{
	TU_REQUIRE_HOOKS(teardown);
	fields = fast_fields;
	big_sum = "";
	aggs = fast_any;
	make_fast_file("in.csv", 30000, 300, 0);
	kills("k");
}
