/*
 * test_endpar.c - the end of a run with many groups on two threads
 * (aggregator/split2.h, merge_rows.c, gtable.c's sort in halves).
 *
 * The test build's hooks force the two-thread path on small results
 * (AGG_PAR_ROWS=0) and make its chunks small (AGG_PAR_CHUNK=N, so the
 * worker's buffers are handed over many times and wrap around), or keep
 * everything on one thread (AGG_PAR_ROWS above any result).  The same
 * records, with keys CSV must quote and JSON must escape, the NULL key,
 * and every kind of aggregate, go through both: the outputs (CSV and
 * JSON Lines; a file and stdout; one text key, one int key, two keys)
 * must be byte for byte the same.  A write that fails (/dev/full) and a
 * stop in the middle of the rows fail as one thread's do; with no second
 * thread (AGG_PAR_NO_THREAD) the calling thread does all of it alone.
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/testutil.h"

static char *dir;

static void setup(void)
{
	tu_watchdog(120);
	dir = tu_tmpdir();
}

static void teardown(void)
{
	tu_tmpdir_free(&dir);
}

TestSuite(endpar, .init = setup, .fini = teardown);

/* Groups of the tests that compare bytes: chunks of up to half of them. */
#define NKEYS 6000

#define AGGS \
	"aggregates = count(*) as n, count(f) as nf, sum(i) as si, " \
	"sum(d) as sd, sum(f) as sf, avg(i) as ai, avg(d) as ad, " \
	"avg(f) as af, min(ts) as t0, max(ts) as t1, min(d) as d0, " \
	"max(k) as kmax, count_distinct(i) as ci\n"

/* Bytes of the keys: CSV quotes ',', '"' and line ends; JSON escapes. */
static const char *const pieces[] = {
	"a", "b", "Z", "0", "9", " ", ",", "\"", "\n", "\r\n", "\\", "\t",
	"\x01", "\x1f", "\xC3\xA9", "\xE2\x82\xAC", "k0000000", "/",
};

/* One CSV field of key number n: NULL for 0, "" for 1, else pieces. */
static void put_key(FILE *f, uint64_t *seed, int n)
{
	char k[512] = "";
	int len;

	if (n == 0)
		return; /* unquoted empty: NULL */
	len = n == 1 ? 0 : 1 + (int)(tu_rng(seed) % 12);
	for (int j = 0; j < len; j++)
		strcat(k, pieces[tu_rng(seed) % (sizeof(pieces) /
						 sizeof(pieces[0]))]);
	/* A third of them long: the worker's chunks outgrow its buffer. */
	if (n % 3 == 0) {
		size_t at = strlen(k);

		memset(k + at, 'x', 300);
		k[at + 300] = '\0';
	}
	/* Distinct keys: a suffix of the key's number. */
	if (n > 1)
		snprintf(k + strlen(k), sizeof(k) - strlen(k), "#%d", n);
	tu_csv_text(f, k);
}

/*
 * data.csv: nrecs records over nkeys keys (NULL and "" among them), each
 * value now and then NULL.
 */
static void write_data(int nkeys, int nrecs)
{
	char *path = tu_path(dir, "data.csv");
	FILE *f = fopen(path, "w");
	uint64_t seed = 42;

	cr_assert_not_null(f);
	fprintf(f, "k,i,d,f,ts\n");
	for (int r = 0; r < nrecs; r++) {
		int key = r < nkeys ? r : (int)(tu_rng(&seed) % (uint64_t)nkeys);
		uint64_t x = tu_rng(&seed);
		uint64_t s2 = (uint64_t)key * 7919 + 1;

		put_key(f, &s2, key);
		fputc(',', f);
		if (x % 11 != 0)
			fprintf(f, "%d", (int)(x % 2001) - 1000 + key % 3);
		fputc(',', f);
		if (x % 13 != 0)
			fprintf(f, "%d.%02d", (int)((x >> 20) % 1000) - 500,
				(int)((x >> 40) % 100));
		fputc(',', f);
		if (x % 7 != 0)
			fprintf(f, "%.17g", ((double)(x >> 11) / 9007199254740992.0 -
					   0.5) * 1e6);
		fputc(',', f);
		if (x % 17 != 0)
			fprintf(f, "2026-%02d-%02dT%02d:%02d:07Z",
				1 + (int)((x >> 8) % 12), 1 + (int)((x >> 16) % 28),
				(int)((x >> 24) % 24), (int)((x >> 32) % 60));
		fputc('\n', f);
	}
	fclose(f);
	free(path);
}

/* The config: output out (or "-" for stdout) in format fmt. */
static void write_conf(const char *out, const char *fmt, const char *by)
{
	char conf[1024];

	snprintf(conf, sizeof(conf),
		 "[aggregate]\noutput = %s\nformat = %s\n"
		 "fields = k:text, i:int, d:decimal(10,2), f:float, "
		 "ts:timestamp\ngroup_by = %s\n" AGGS
		 "[provider p]\ntype = file\npath = data.csv\n",
		 out, fmt, by);
	tu_put(dir, "t.conf", conf);
}

/*
 * Run t.conf; chunk 0: one thread, else two with chunks of that many
 * rows.  Returns the output (stdout when out is NULL); r holds the run.
 */
static bool no_thread; /* AGG_PAR_NO_THREAD: the two-thread path alone */

static char *run(const char *out, int chunk, struct tu_result *r)
{
	char rows[32], ch[32];
	const char *env[] = { rows, ch,
			      no_thread ? "AGG_PAR_NO_THREAD=1" : NULL, NULL };

	snprintf(rows, sizeof(rows), "AGG_PAR_ROWS=%s",
		 chunk ? "0" : "1000000000");
	snprintf(ch, sizeof(ch), "AGG_PAR_CHUNK=%d", chunk ? chunk : 1);
	tu_run(r, dir, (const char *[]){ "-c", "t.conf", NULL }, env);
	if (out == NULL)
		return strdup(r->out);
	return tu_get(dir, out);
}

/* Each chunk size against one thread, for this output and grouping. */
static void same_bytes(const char *out, const char *fmt, const char *by)
{
	static const int chunks[] = { 1, 3, 64, NKEYS / 2 };
	struct tu_result r;
	char *want, *got;

	write_conf(out ? out : "-", fmt, by);
	want = run(out, 0, &r);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(want);
	cr_assert(strlen(want) > 100000, "a small output: %zu bytes",
		  strlen(want));
	tu_result_free(&r);
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		got = run(out, chunks[c], &r);
		cr_assert_eq(r.status, 0, "%s", r.err);
		cr_assert_not_null(got);
		cr_assert(strcmp(got, want) == 0,
			  "%s %s by %s, chunks of %d rows: not one thread's "
			  "bytes", out ? out : "stdout", fmt, by, chunks[c]);
		free(got);
		tu_result_free(&r);
	}
	free(want);
}

Test(endpar, csv_file_by_text_key)
{
	TU_REQUIRE_HOOKS(teardown);
	write_data(NKEYS, 3 * NKEYS);
	same_bytes("out.csv", "csv", "k");
}

Test(endpar, jsonl_file_by_text_key)
{
	TU_REQUIRE_HOOKS(teardown);
	write_data(NKEYS, 3 * NKEYS);
	same_bytes("out.jsonl", "jsonl", "k");
}

Test(endpar, stdout_by_int_key_and_two_keys)
{
	TU_REQUIRE_HOOKS(teardown);
	write_data(NKEYS, 3 * NKEYS);
	same_bytes(NULL, "csv", "i");
	same_bytes(NULL, "jsonl", "k, i");
}

/* A worker that cannot start: the calling thread takes every half and chunk. */
Test(endpar, no_thread_writes_the_same_bytes)
{
	TU_REQUIRE_HOOKS(teardown);
	write_data(NKEYS, 3 * NKEYS);
	no_thread = true;
	same_bytes("out.csv", "csv", "k");
	same_bytes(NULL, "jsonl", "i");
}

/* The line of err that says why the output failed. */
static char *failure(const char *err)
{
	const char *p = strstr(err, "cannot write");
	size_t n;

	cr_assert_not_null(p, "no write failure in: %s", err);
	n = strcspn(p, "\n\"");
	return strndup(p, n);
}

Test(endpar, full_device_fails_as_one_thread)
{
	struct tu_result r;
	char *want, *got;

	TU_REQUIRE_HOOKS(teardown);
	/* More than one buffer (1 MiB) of rows: writes fail mid-way. */
	write_data(NKEYS, 2 * NKEYS);
	write_conf("/dev/full", "jsonl", "k");
	free(run(NULL, 0, &r));
	cr_assert_neq(r.status, 0);
	want = failure(r.err);
	tu_result_free(&r);
	for (int chunk = 1; chunk <= 4096; chunk *= 64) {
		free(run(NULL, chunk, &r));
		cr_assert_eq(r.status != 0, true, "chunks of %d: exit 0",
			     chunk);
		got = failure(r.err);
		cr_assert_str_eq(got, want);
		free(got);
		tu_result_free(&r);
	}
	free(want);
}

Test(endpar, stop_in_a_worker_chunk_keeps_the_old_output)
{
	struct tu_result r;
	const char *env[] = { "AGG_PAR_ROWS=0", "AGG_PAR_CHUNK=5",
			      "AGG_OUT_STOP_AFTER=7", NULL };
	char *old;
	int entries;

	TU_REQUIRE_HOOKS(teardown);
	write_data(200, 600);
	write_conf("out.csv", "csv", "k");
	tu_put(dir, "out.csv", "the previous output\n");
	entries = tu_count_entries(dir);
	/* Row 7 is in rows 5..9, the worker's chunk. */
	tu_run(&r, dir, (const char *[]){ "-c", "t.conf", NULL }, env);
	cr_assert_neq(r.status, 0);
	cr_assert_not_null(strstr(r.err, "stopped by a signal"), "%s", r.err);
	old = tu_get(dir, "out.csv");
	cr_assert_str_eq(old, "the previous output\n");
	cr_assert_eq(tu_count_entries(dir), entries, "a temporary is left");
	free(old);
	tu_result_free(&r);
}
