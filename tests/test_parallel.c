/*
 * test_parallel.c - one file read by several processes (parallel = N),
 * end to end.
 *
 * The oracle is the same binary with parallel = 1: for N in 2, 3 and 7
 * every output (a group-by with every aggregate kind, a union, a filtered
 * whole-input aggregate) and the reject file must be the very same bytes,
 * for CSV with and without quotes, TSV and JSON Lines; and Python's csv
 * module, reading the file on its own, must find the same counts and
 * decimal sums per group.  The test build's AGG_PARALLEL_MIN_RANGE makes
 * ranges of a few bytes, so small files are cut, and trailing blank lines
 * of every length move the cuts over every byte of the lines around
 * them.  A quoted line feed across a cut is found by the range before
 * it, which ends inside quotes: the run is done again with the file
 * read whole, one warning naming the cut's line, nothing of the void
 * attempt in the log; range readers killed at seeded random points
 * restart from their own checkpoints, during a redo too; state with
 * parallel is a config error.
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

static const char *const outs[] = { "groups.csv", "rows.csv", "all.csv",
				    "rejects.txt" };
#define NOUTS (sizeof outs / sizeof outs[0])

/* out folder, input path, format line, parallel */
static const char config_fmt[] =
	"[aggregate]\n"
	"output = %s/groups.csv\n"
	"fields = id:int, region:text, qty:int, price:float,\n"
	"  amount:decimal(12,2)\n"
	"group_by = region\n"
	"aggregates = count(*) as n, sum(qty) as sq, avg(qty) as aq,\n"
	"  sum(price) as sp, avg(price) as ap, sum(amount) as sa,\n"
	"  min(price) as minp, max(amount) as maxa, stddev(price) as sdp,\n"
	"  variance(amount) as va, count_distinct(qty) as dq,\n"
	"  median(price) as mp, percentile(amount, 0.25) as pa,\n"
	"  arg_min(id, price) as cheapest, arg_max(id, amount) as dearest\n"
	"reject_file = %s/rejects.txt\n"
	"max_rejects = 100000\n"
	"\n"
	"[output rows]\n"
	"output = %s/rows.csv\n"
	"mode = union\n"
	"\n"
	"[output all]\n"
	"output = %s/all.csv\n"
	"where = qty >= 0\n"
	"aggregates = count(*) as n, sum(price) as sp, avg(amount) as aa,\n"
	"  stddev(qty) as sd, count_distinct(region) as regions\n"
	"\n"
	"[provider src]\n"
	"type = file\n"
	"path = %s\n"
	"%s"
	"parallel = %s\n";

/* QUOTED_LF: QUOTED, and every 5th row's region holds line feeds. */
enum shape { PLAIN, QUOTED, TSV, JSONL, QUOTED_LF };

static void setup(void)
{
	tu_watchdog(900);
	dir = tu_tmpdir();
}

static void teardown(void)
{
	tu_tmpdir_free(&dir);
}

TestSuite(parallel, .init = setup, .fini = teardown);

static void mkdir_in(const char *name)
{
	char *p = tu_path(dir, name);

	cr_assert_eq(mkdir(p, 0755), 0, "mkdir %s", p);
	free(p);
}

/* Row i: a value of every kind, some extreme; every 9th a reject. */
static void row(FILE *f, enum shape sh, int i, uint64_t *rng)
{
	static const char *const regions[] = {
		"north", "south", "east, of here", "west", "z\xc3\xa9nith",
		"o'brien", "say \"hi\""
	};
	uint64_t r = tu_rng(rng);
	const char *reg = regions[(r >> 8) % 7];
	char price[64], amount[64], qty[16];
	double p;

	switch (r % 11) {
	case 0:
		p = 1e300 * (double)(r % 7);
		break;
	case 1:
		p = 1e-300 * (double)(r % 13);
		break;
	case 2:
		p = -0.0;
		break;
	default:
		p = ((double)(int64_t)(r >> 20) / 1e9) - 4e3;
	}
	snprintf(price, sizeof price, "%.17g", p);
	snprintf(amount, sizeof amount, "%s%lld.%02d", (r >> 40) % 2 ? "-" : "",
		 (long long)((r >> 41) % 100000), (int)((r >> 50) % 100));
	snprintf(qty, sizeof qty, "%d", (int)((r >> 12) % 9) - 2);
	if (i % 9 == 4)
		snprintf(qty, sizeof qty, "bad%d", i);
	if (sh == JSONL) {
		fprintf(f, "{\"id\": %d, \"region\": \"%s\", \"qty\": %s%s%s, "
			"\"price\": %s, \"amount\": \"%s\"}\n", i,
			strcmp(reg, "say \"hi\"") == 0 ? "say \\\"hi\\\"" : reg,
			i % 9 == 4 ? "\"" : "", qty, i % 9 == 4 ? "\"" : "",
			price, amount);
		return;
	}
	if (sh == PLAIN && (strchr(reg, ',') || strchr(reg, '"')))
		reg = "plain";
	if (sh == TSV)
		fprintf(f, "%d\t%s\t%s\t%s\t%s\n", i,
			strchr(reg, '"') ? "tab" : reg, qty, price, amount);
	else if (strchr(reg, '"'))
		fprintf(f, "%d,\"say \"\"hi\"\"\",%s,%s,%s\n", i, qty, price,
			amount);
	else if (sh == QUOTED_LF && i % 5 == 2)
		fprintf(f, "%d,\"%s\n%s\r\n\"\"\n\",%s,%s,%s\n", i, reg,
			i % 3 ? "" : "\n\n", qty, price, amount);
	else if (strchr(reg, ',') || (sh >= QUOTED && i % 2))
		fprintf(f, "%d,\"%s\",%s,%s,%s\n", i, reg, qty, price, amount);
	else
		fprintf(f, "%d,%s,%s,%s,%s\n", i, reg, qty, price, amount);
}

/* Write name in dir: a header (CSV, TSV), n rows, then pad blank lines. */
static void make_file(const char *name, enum shape sh, int n, int pad,
		      const char *header)
{
	char *path = tu_path(dir, name);
	FILE *f = fopen(path, "w");
	uint64_t rng = 7;

	cr_assert(f, "%s", path);
	if (sh == TSV)
		fputs("id\tregion\tqty\tprice\tamount\n", f);
	else if (sh != JSONL)
		fputs(header ? header : "id,region,qty,price,amount\n", f);
	for (int i = 0; i < n; i++)
		row(f, sh, i, &rng);
	for (int i = 0; i < pad; i++)
		fputc('\n', f);
	fclose(f);
	free(path);
}

/* Run input with parallel par into folder out; the exit status. */
static int run(const char *out, const char *input, const char *par,
	       const char *extra, const char *const *env, struct tu_result *r)
{
	char *conf, *outdir = tu_path(dir, out);
	const char *args[] = { "-c", "p.conf", "-v", NULL };
	int rc;

	mkdir(outdir, 0755);
	free(outdir);
	cr_assert(asprintf(&conf, config_fmt, out, out, out, out, input,
			   extra ? extra : "", par) > 0);
	tu_put(dir, "p.conf", conf);
	free(conf);
	rc = tu_run(r, dir, args, env);
	return rc;
}

/* Every output of folder a is byte for byte that of folder b. */
static void same_outputs(const char *a, const char *b, const char *what)
{
	sf_same_files(dir, a, b, outs, NOUTS, what);
}

static const char *const tiny[] = { "AGG_PARALLEL_MIN_RANGE=16", NULL };

/* parallel = 1 into "one", then N = 2, 3, 7 each the same bytes. */
static void check_shape(const char *input, const char *extra)
{
	static const char *const ns[] = { "2", "3", "7", "auto" };
	struct tu_result r;

	cr_assert_eq(run("one", input, "1", extra, NULL, &r), 0, "%s", r.err);
	cr_assert(strstr(r.err, "read in ranges") == NULL);
	tu_result_free(&r);
	for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
		char out[16];

		snprintf(out, sizeof out, "n%s", ns[i]);
		cr_assert_eq(run(out, input, ns[i], extra, tiny, &r), 0, "%s",
			     r.err);
		if (strcmp(ns[i], "auto") != 0 || sysconf(_SC_NPROCESSORS_ONLN) > 1) {
			cr_assert(strstr(r.err, "read in ranges"), "%s", r.err);
			cr_assert(strstr(r.err, "provider=src[1] "), "%s", r.err);
		}
		/* The summary rolls the ranges up under the provider's name. */
		cr_assert(strstr(r.err, "\nsrc  "), "%s", r.err);
		cr_assert(strstr(r.err, "\nsrc[0]  ") == NULL, "%s", r.err);
		same_outputs("one", out, ns[i]);
		tu_result_free(&r);
	}
}

Test(parallel, csv_without_quotes)
{
	TU_REQUIRE_HOOKS(teardown);
	make_file("in.csv", PLAIN, 3000, 0, NULL);
	check_shape("in.csv", NULL);
}

Test(parallel, csv_with_quotes)
{
	TU_REQUIRE_HOOKS(teardown);
	make_file("in.csv", QUOTED, 3000, 0, NULL);
	check_shape("in.csv", NULL);
}

Test(parallel, tsv)
{
	TU_REQUIRE_HOOKS(teardown);
	make_file("in.tsv", TSV, 3000, 0, NULL);
	check_shape("in.tsv", NULL);
}

Test(parallel, json_lines)
{
	TU_REQUIRE_HOOKS(teardown);
	make_file("in.jsonl", JSONL, 3000, 0, NULL);
	check_shape("in.jsonl", NULL);
}

Test(parallel, glob_of_files)
{
	TU_REQUIRE_HOOKS(teardown);
	mkdir_in("parts");
	make_file("parts/a.csv", QUOTED, 700, 0, NULL);
	make_file("parts/b.csv", PLAIN, 3, 0, NULL);
	make_file("parts/c.csv", PLAIN, 1500, 2, NULL);
	make_file("parts/d.csv", QUOTED, 0, 0, NULL);
	make_file("parts/e.csv", PLAIN, 900, 0, NULL);
	check_shape("parts/*.csv", NULL);
}

/*
 * Cuts over every byte: the same rows with 0, 1, 2, ... blank lines after
 * them move the cut at total * j / N by half a byte each, over the whole
 * length of the lines around it (a long header first, so that a cut of
 * the smallest files falls in it).
 */
static int sweep(const char *name, enum shape sh, const char *header)
{
	static const char *const ns[] = { "2", "3", "7" };
	struct tu_result r;
	int redone = 0;

	make_file(name, sh, 40, 0, header);
	cr_assert_eq(run("one", name, "1", NULL, NULL, &r), 0, "%s", r.err);
	tu_result_free(&r);
	for (int pad = 0; pad < 130; pad++) {
		make_file(name, sh, 40, pad, header);
		for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
			static const char *const one[] = {
				"AGG_PARALLEL_MIN_RANGE=1", NULL };
			char what[64];

			if (i > 0 && pad % 3)
				continue;
			cr_assert_eq(run("n", name, ns[i], NULL, one, &r), 0,
				     "%s", r.err);
			cr_assert(strstr(r.err, "read in ranges"), "%s", r.err);
			redone += strstr(r.err, "crosses the cut") != NULL;
			snprintf(what, sizeof what, "pad %d parallel %s", pad,
				 ns[i]);
			same_outputs("one", "n", what);
			tu_result_free(&r);
		}
	}
	return redone; /* of the 218 runs in ranges */
}

Test(parallel, csv_cut_at_every_byte)
{
	TU_REQUIRE_HOOKS(teardown);
	cr_assert_eq(sweep("in.csv", QUOTED, NULL), 0);
}

/*
 * Quoted fields with line feeds (and a CR, and doubled quotes) every few
 * lines: cuts over every byte of them, each wrong one found and the run
 * redone, each right one read in ranges; always parallel = 1's bytes.
 */
Test(parallel, quoted_line_feeds_cut_at_every_byte)
{
	int redone;

	TU_REQUIRE_HOOKS(teardown);
	redone = sweep("in.csv", QUOTED_LF, NULL);
	cr_assert(redone > 20 && redone < 200, "%d of 218 runs redone", redone);
}

Test(parallel, csv_cut_in_the_header)
{
	TU_REQUIRE_HOOKS(teardown);
	make_file("in.csv", PLAIN, 3, 0,
		  "id,region,qty,price,amount,an_unused_column_whose_name_is_"
		  "long_enough_to_hold_the_first_cut_of_a_small_file\n");
	sweep("in.csv", PLAIN,
	      "id,region,qty,price,amount,an_unused_column_whose_name_is_"
	      "long_enough_to_hold_the_first_cut_of_a_small_file\n");
}

Test(parallel, json_lines_cut_at_every_byte)
{
	TU_REQUIRE_HOOKS(teardown);
	cr_assert_eq(sweep("in.jsonl", JSONL, NULL), 0);
}

/*
 * in.csv: n rows, row `at` with a quoted field of `lines` line feeds
 * (nothing with lines 0); rows of every shape around it.
 */
static void make_quoted_lf(int n, int at, int lines)
{
	char *path = tu_path(dir, "in.csv");
	FILE *f = fopen(path, "w");
	uint64_t rng = 3;

	cr_assert(f);
	fputs("id,region,qty,price,amount\n", f);
	for (int i = 0; i < n; i++) {
		if (i != at || lines == 0) {
			row(f, QUOTED, i, &rng);
			continue;
		}
		fprintf(f, "%d,\"many\n", i);
		for (int k = 0; k < lines; k++)
			fprintf(f, "line %d, \"\"%d\"\"\n", k, k);
		fputs("end\",1,2.5,3.25\n", f);
	}
	fclose(f);
	free(path);
}

/* Times needle occurs in hay. */
static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* The line of in.csv that starts at byte off: 1 + its line feeds before. */
static long line_at(unsigned long long off)
{
	size_t len;
	char *path = tu_path(dir, "in.csv"), *s = tu_read(path, &len), *p;
	long n = 1;

	cr_assert(s && off <= len);
	for (p = s; p < s + off; p++)
		n += *p == '\n';
	free(s);
	free(path);
	return n;
}

/* Processes (live or zombie) whose folder is the test's: none left. */
static int procs_in_dir(void)
{
	char *real = realpath(dir, NULL), link[64], at[4096];
	int n = 0;
	FILE *ps = popen("ls /proc", "r");

	cr_assert(real && ps);
	while (fgets(link, sizeof link, ps)) {
		char path[96];
		ssize_t len;

		if (link[0] < '0' || link[0] > '9')
			continue;
		link[strcspn(link, "\n")] = '\0';
		snprintf(path, sizeof path, "/proc/%s/cwd", link);
		len = readlink(path, at, sizeof at - 1);
		if (len > 0) {
			at[len] = '\0';
			n += strcmp(at, real) == 0;
		}
	}
	pclose(ps);
	free(real);
	return n;
}

/*
 * The warning of a run whose cut fell inside a quoted field, once, at the
 * cut's own line; nothing of the void attempt in the log: no range's
 * "finished" with its counts, no failure, no reject.
 */
static void redone_once(const struct tu_result *r)
{
	const char *w = strstr(r->err, "a quoted line feed crosses the cut "
			       "at byte ");
	unsigned long long at;
	long line;
	char want[96];

	cr_assert(w, "%s", r->err);
	cr_assert_eq(count_of(r->err, "crosses the cut"), 1, "%s", r->err);
	cr_assert_eq(sscanf(w, "a quoted line feed crosses the cut at byte "
			    "%llu (line %ld)", &at, &line), 2, "%s", w);
	cr_assert_eq(line, line_at(at), "%s", w);
	snprintf(want, sizeof want, "(line %ld): read by one process "
		 "file=in.csv", line);
	cr_assert(strstr(r->err, want), "%s", r->err);
	cr_assert(strstr(r->err, "failed") == NULL, "%s", r->err);
	/* A range's "finished" only if it ends at or before that cut. */
	for (int k = 0; k < 8; k++) {
		char name[40], is[40];
		const char *d;
		unsigned long long lo, hi;

		snprintf(name, sizeof name, "provider=src[%d] finished", k);
		if (strstr(r->err, name) == NULL)
			continue;
		snprintf(is, sizeof is, "is=\"src[%d] in.csv bytes ", k);
		d = strstr(r->err, is);
		cr_assert(d && sscanf(d + strlen(is), "%llu-%llu", &lo, &hi)
			  == 2 && hi <= at, "%s past the cut at %llu:\n%s",
			  name, at, r->err);
	}
	cr_assert(strstr(r->err, "\nsrc  "), "%s", r->err);
	cr_assert_eq(count_of(r->err, "\nprovider   "), 1, "%s", r->err);
}

/*
 * A multi-line quoted field across the cuts: the readers find it (the
 * range before a cut ends inside quotes), the run is done again with the
 * file read whole, and every output and the reject file are the bytes of
 * parallel = 1, with one warning naming the cut and its line, and nothing
 * of the void attempt in the log or the reject file.  With max_rejects 0
 * the ranges past the cut fail for good on what they misread: held until
 * the cut is known, and never logged.
 */
Test(parallel, quoted_line_feed_across_a_cut_reads_again_whole)
{
	static const char *const ns[] = { "2", "3", "7" };
	const char *check[] = { "-c", "p.conf", "--check", NULL };
	struct tu_result r;

	TU_REQUIRE_HOOKS(teardown);
	make_quoted_lf(2000, 1000, 3000);
	cr_assert_eq(run("one", "in.csv", "1", NULL, NULL, &r), 0, "%s", r.err);
	tu_result_free(&r);
	for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
		cr_assert_eq(run("n", "in.csv", ns[i], NULL, tiny, &r), 0,
			     "%s", r.err);
		cr_assert(strstr(r.err, "read in ranges"), "%s", r.err);
		redone_once(&r);
		same_outputs("one", "n", ns[i]);
		tu_result_free(&r);
		/* --check scans, and names the same cut. */
		tu_run(&r, dir, check, tiny);
		cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
		cr_assert(strstr(r.out, "read whole: in.csv: a quoted line "
				 "feed crosses the cut at byte "), "%s", r.out);
		tu_result_free(&r);
	}
	/* A union on stdout, written once, after the redo. */
	{
		static const char conf[] =
			"[aggregate]\noutput = -\nmode = union\n"
			"fields = id:int, region:text, qty:int, price:float,\n"
			"  amount:decimal(12,2)\nmax_rejects = 100000\n"
			"\n[provider src]\ntype = file\npath = in.csv\n"
			"parallel = %s\n";
		const char *args[] = { "-c", "u.conf", NULL };
		char text[512], *one;

		snprintf(text, sizeof text, conf, "1");
		tu_put(dir, "u.conf", text);
		cr_assert_eq(tu_run(&r, dir, args, NULL), 0, "%s", r.err);
		one = strdup(r.out);
		tu_result_free(&r);
		snprintf(text, sizeof text, conf, "3");
		tu_put(dir, "u.conf", text);
		cr_assert_eq(tu_run(&r, dir, args, tiny), 0, "%s", r.err);
		cr_assert(strstr(r.err, "crosses the cut"), "%s", r.err);
		cr_assert_str_eq(r.out, one);
		free(one);
		tu_result_free(&r);
	}
	/* A real failure before the cut is still one. */
	cr_assert_eq(run("n", "in.csv", "3", "max_rejects = 0\n", tiny, &r),
		     1, "%s", r.err);
	cr_assert(strstr(r.err, "error provider=src[0] failed"), "%s", r.err);
	cr_assert(strstr(r.err, "crosses the cut") == NULL, "%s", r.err);
	tu_result_free(&r);
	/* Rejects past the cut fail those ranges: not a failure of the run. */
	{
		char *p = tu_path(dir, "in.csv"), cmd[512];

		/* Only the one quoted field: no rejects at all. */
		snprintf(cmd, sizeof cmd, "sed -i '/bad/d' %s", p);
		cr_assert_eq(system(cmd), 0);
		free(p);
	}
	cr_assert_eq(run("one", "in.csv", "1", "max_rejects = 0\n", NULL, &r),
		     0, "%s", r.err);
	tu_result_free(&r);
	cr_assert_eq(run("n", "in.csv", "3", "max_rejects = 0\n", tiny, &r),
		     0, "%s", r.err);
	redone_once(&r);
	same_outputs("one", "n", "max_rejects 0");
	tu_result_free(&r);
	cr_assert_eq(tu_shm_count(), 0);
	cr_assert_eq(procs_in_dir(), 0);
}

/* Quoted line feeds away from the cuts: the file is read in ranges. */
Test(parallel, quoted_line_feeds_away_from_the_cuts_are_read_in_ranges)
{
	static const char *const ns[] = { "2", "3", "7" };
	char *path = tu_path(dir, "in.csv");
	const char *check[] = { "-c", "p.conf", "--check", NULL };
	FILE *f;
	uint64_t rng = 3;
	struct tu_result r;

	TU_REQUIRE_HOOKS(teardown);
	f = fopen(path, "w");
	cr_assert(f);
	fputs("id,region,qty,price,amount\n", f);
	for (int i = 0; i < 2000; i++) {
		if (i == 5 || i == 1990)
			fprintf(f, "%d,\"two\nlines\",1,2.5,3.25\n", i);
		else
			row(f, QUOTED, i, &rng);
	}
	fclose(f);
	free(path);
	cr_assert_eq(run("one", "in.csv", "1", NULL, NULL, &r), 0, "%s", r.err);
	tu_result_free(&r);
	for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
		cr_assert_eq(run("n", "in.csv", ns[i], NULL, tiny, &r), 0,
			     "%s", r.err);
		cr_assert(strstr(r.err, "read in ranges"), "%s", r.err);
		cr_assert(strstr(r.err, "crosses the cut") == NULL, "%s",
			  r.err);
		cr_assert(strstr(r.err, "provider=src[1] finished"), "%s",
			  r.err);
		cr_assert(strstr(r.err, "provider=src started") == NULL, "%s",
			  r.err);
		/* -v: what a cut inside quotes would do. */
		cr_assert(strstr(r.err, "debug provider=src cuts not checked "
				 "before the run then=\"a range that ends "
				 "inside a quoted field makes the run read the "
				 "file again whole"), "%s", r.err);
		same_outputs("one", "n", ns[i]);
		tu_result_free(&r);
	}
	tu_run(&r, dir, check, tiny);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "cuts checked: none inside a quoted field"),
		  "%s", r.out);
	tu_result_free(&r);
}

/*
 * Kills around a redo: the range that ends inside quotes, killed on its
 * first attempt, reads again to its end and reports it again; the reader
 * of the whole file, killed in the redo, resumes from its checkpoint.
 */
Test(parallel, kills_of_range_readers_during_a_redo)
{
	struct tu_result r;

	TU_REQUIRE_HOOKS(teardown);
	make_quoted_lf(2000, 1000, 3000);
	cr_assert_eq(run("one", "in.csv", "1", NULL, NULL, &r), 0, "%s", r.err);
	tu_result_free(&r);
	for (unsigned seed = 1; seed <= 6; seed++) {
		char fault[160];
		const char *env[] = { "AGG_PARALLEL_MIN_RANGE=16", fault,
				      NULL };
		char what[32];

		if (seed % 3 == 0)
			snprintf(fault, sizeof fault, "AGG_FAULT=src[0]:1:"
				 "random:%u;src[1]:1:random:%u;src:1:random:"
				 "%u", seed, seed + 1, seed + 2);
		else
			snprintf(fault, sizeof fault, "AGG_FAULT=src[0]:1:"
				 "record:%u;src:1:record:%u",
				 100 + seed * 97 % 800, 1 + seed * 331 % 1900);
		cr_assert_eq(run("n", "in.csv", "2", NULL, env, &r), 0,
			     "%s: %s", fault, r.err);
		cr_assert(strstr(r.err, "fault injected"), "%s", r.err);
		cr_assert(strstr(r.err, "restarted"), "%s", r.err);
		cr_assert_eq(count_of(r.err, "crosses the cut at byte "), 1,
			     "%s", r.err);
		snprintf(what, sizeof what, "seed %u", seed);
		same_outputs("one", "n", what);
		tu_result_free(&r);
	}
	cr_assert_eq(tu_shm_count(), 0);
	cr_assert_eq(procs_in_dir(), 0);
}

Test(parallel, check_and_verbose_say_how)
{
	const char *check[] = { "-c", "p.conf", "--check", NULL };
	struct tu_result r;

	TU_REQUIRE_HOOKS(teardown);
	make_file("in.csv", PLAIN, 3000, 0, NULL);
	cr_assert_eq(run("n", "in.csv", "2", NULL, tiny, &r), 0, "%s", r.err);
	cr_assert(strstr(r.err, "debug provider=src read in ranges ranges=2"),
		  "%s", r.err);
	cr_assert(strstr(r.err, "is=\"src[0] in.csv bytes 0-"), "%s", r.err);
	cr_assert(strstr(r.err, "is=\"src[1] in.csv from byte "), "%s", r.err);
	tu_result_free(&r);
	tu_run(&r, dir, check, tiny);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "range src[0] in.csv bytes 0-"), "%s", r.out);
	cr_assert(strstr(r.out, "range src[1] in.csv from byte "), "%s", r.out);
	tu_result_free(&r);
	/* Without the test's small ranges: too small to cut, and why. */
	tu_run(&r, dir, check, NULL);
	cr_assert(strstr(r.out, "read by one process:") &&
		  strstr(r.out, "too small for ranges of at least 8388608 "
			 "bytes"), "%s", r.out);
	tu_result_free(&r);
}

Test(parallel, gzip_and_json_arrays_are_read_whole)
{
	struct tu_result r;
	char *p = tu_path(dir, "a.json");

	TU_REQUIRE_HOOKS(teardown);
	tu_write(p, "[{\"id\": 1, \"region\": \"x\", \"qty\": 2, \"price\": 1,"
		 " \"amount\": \"1.00\"}, {\"id\": 2, \"region\": \"x\", "
		 "\"qty\": 2, \"price\": 1, \"amount\": \"1.00\"}]\n");
	free(p);
	cr_assert_eq(run("n", "a.json", "auto", NULL, tiny, &r), 0, "%s",
		     r.err);
	cr_assert(strstr(r.err, "a.json: a JSON array is read whole"), "%s",
		  r.err);
	tu_result_free(&r);
	make_file("b.csv", PLAIN, 300, 0, NULL);
	{
		char cmd[512];

		snprintf(cmd, sizeof cmd, "gzip -f %s/b.csv", dir);
		cr_assert_eq(system(cmd), 0);
	}
	cr_assert_eq(run("n", "b.csv.gz", "2", NULL, tiny, &r), 0, "%s",
		     r.err);
	cr_assert(strstr(r.err, "b.csv.gz: a .gz file is read whole"), "%s",
		  r.err);
	tu_result_free(&r);
}

/* Range readers killed at seeded random points: still the same bytes. */
Test(parallel, kills_of_range_readers)
{
	struct tu_result r;
	int fired = 0;

	TU_REQUIRE_HOOKS(teardown);
	make_file("in.csv", QUOTED, 30000, 0, NULL);
	cr_assert_eq(run("one", "in.csv", "1", NULL, NULL, &r), 0, "%s", r.err);
	tu_result_free(&r);
	for (unsigned seed = 1; seed <= 12; seed++) {
		char fault[96];
		const char *env[] = { "AGG_PARALLEL_MIN_RANGE=16", fault,
				      NULL };
		char what[32];

		/*
		 * One reader, or two at once, on their first attempt: at a
		 * seeded record count, or at a seeded random point (frames
		 * and checkpoints too, which a small range may not reach).
		 */
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
		cr_assert_eq(run("n", "in.csv", "3", NULL, env, &r), 0,
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

Test(parallel, state_is_refused)
{
	struct tu_result r;

	TU_REQUIRE_HOOKS(teardown);
	make_file("in.csv", PLAIN, 30, 0, NULL);
	run("n", "in.csv", "2", "", tiny, &r);
	tu_result_free(&r);
	{
		const char *args[] = { "-c", "p.conf", "--state", "st", NULL };

		tu_run(&r, dir, args, tiny);
	}
	cr_assert_eq(r.status, 78, "%s", r.err);
	{
		char *conf = tu_get(dir, "p.conf"), want[96];
		int line = 1;

		for (char *c = conf; c < strstr(conf, "parallel ="); c++)
			line += *c == '\n';
		snprintf(want, sizeof want, "p.conf:%d: parallel cannot be "
			 "used in an incremental run", line);
		cr_assert(strstr(r.err, want), "%s", r.err);
		free(conf);
	}
	tu_result_free(&r);
}

/* Python's csv module reads the file on its own: counts and sums. */
Test(parallel, python_oracle)
{
	static const char script[] =
		"import csv, sys\n"
		"from decimal import Decimal\n"
		"g = {}\n"
		"with open(sys.argv[1], newline='', encoding='utf-8') as f:\n"
		"    r = csv.reader(f)\n"
		"    next(r)\n"
		"    for row in r:\n"
		"        if not row or row[2].startswith('bad'):\n"
		"            continue\n"
		"        n, s = g.get(row[1], (0, Decimal(0)))\n"
		"        g[row[1]] = (n + 1, s + Decimal(row[4]))\n"
		"w = csv.writer(sys.stdout, lineterminator='\\n')\n"
		"w.writerow(['region', 'n', 'sa'])\n"
		"for k in sorted(g, key=lambda k: k.encode()):\n"
		"    w.writerow([k, g[k][0], g[k][1]])\n";
	static const char conf[] =
		"[aggregate]\n"
		"output = py/groups.csv\n"
		"fields = id:int, region:text, qty:int, price:float,\n"
		"  amount:decimal(12,2)\n"
		"group_by = region\n"
		"aggregates = count(*) as n, sum(amount) as sa\n"
		"max_rejects = 100000\n"
		"\n"
		"[provider src]\n"
		"type = file\n"
		"path = in.csv\n"
		"parallel = 3\n";
	const char *args[] = { "-c", "py.conf", "-q", NULL };
	char cmd[512], *ours, *theirs;
	struct tu_result r;

	TU_REQUIRE_HOOKS(teardown);
	make_file("in.csv", QUOTED, 5000, 0, NULL);
	tu_put(dir, "oracle.py", script);
	tu_put(dir, "py.conf", conf);
	mkdir_in("py");
	cr_assert_eq(tu_run(&r, dir, args, tiny), 0, "%s", r.err);
	tu_result_free(&r);
	snprintf(cmd, sizeof cmd, "cd %s && python3 oracle.py in.csv "
		 "> oracle.csv", dir);
	cr_assert_eq(system(cmd), 0);
	ours = tu_get(dir, "py/groups.csv");
	theirs = tu_get(dir, "oracle.csv");
	cr_assert_str_eq(ours, theirs);
	free(ours);
	free(theirs);
}

/*
 * Quotes that csv.c reads as malformed (one inside an unquoted field,
 * text after a closing quote) end at their line feed there and in the
 * scan alike: the file is cut, and those records are rejects in both.
 * A byte order mark before a quoted first field is not data.
 */
Test(parallel, malformed_quotes_are_cut_like_csv_reads_them)
{
	char *path = tu_path(dir, "in.csv");
	FILE *f;
	uint64_t rng = 5;
	struct tu_result r;

	TU_REQUIRE_HOOKS(teardown);
	f = fopen(path, "w");
	cr_assert(f);
	fputs("\xef\xbb\xbf\"id\",region,qty,price,amount\n", f);
	for (int i = 0; i < 2000; i++) {
		if (i % 100 == 7)
			fprintf(f, "%d,ab\"c,1,2.5,3.25\n", i);
		else if (i % 100 == 8)
			fprintf(f, "%d,\"x\"y,1,2.5,3.25\n", i);
		else
			row(f, QUOTED, i, &rng);
	}
	fclose(f);
	free(path);
	cr_assert_eq(run("one", "in.csv", "1", NULL, NULL, &r), 0, "%s", r.err);
	tu_result_free(&r);
	cr_assert_eq(run("n", "in.csv", "3", NULL, tiny, &r), 0, "%s", r.err);
	cr_assert(strstr(r.err, "read in ranges ranges=3"), "%s", r.err);
	same_outputs("one", "n", "malformed quotes");
	tu_result_free(&r);
}
