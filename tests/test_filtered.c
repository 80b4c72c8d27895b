/*
 * test_filtered.c - the records a `where` drops, counted per provider and
 * told in the summary table's "filtered" column, the -v "finished" line
 * and the JSON summary, exactly once across provider kills and restarts.
 *
 * The oracle is SQLite: the same random rows (NULLs included) are in a
 * CSV file that a file provider reads and in an SQLite table that an
 * sqlite provider reads; SQLite counts the rows the same `where` (global,
 * then the provider's own) keeps, and the rest are the filtered ones.  A
 * file provider killed after a checkpoint and restarted, and an sqlite
 * provider killed the same way, must still count each dropped row once.
 * The sqlite provider's direct encoding with derived fields and both
 * wheres is checked the same way: its report is SQLite's GROUP BY.
 *
 * The count is also in the metrics file (aggregate_provider_filtered_total)
 * and in partials: a merge of the shards' partials says it per provider,
 * as the shards did; a partial of format version 1 (no count) still
 * merges, and then the count is not told rather than told wrong.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>
#include <zlib.h>

#include "../common/buf.h"
#include "helpers/testutil.h"

#define NROWS 40000

/* The global where, and the sqlite provider's own, as SQL and config. */
#define WHERE_ALL "amount > 100 AND region <> 'r3'"
#define WHERE_SQ "id % 3 <> 0"

static char *dir;
static uint64_t rng_state = UINT64_C(0x853c49e6748fea9b);

static uint64_t rng(void)
{
	return tu_rng(&rng_state);
}

/* Rows into t.csv and into table t of t.db: NULLs in region and amount. */
static void make_data(void)
{
	char *csv_path = tu_path(dir, "t.csv"), *db_path = tu_path(dir, "t.db");
	FILE *csv = fopen(csv_path, "w");
	sqlite3 *db;
	sqlite3_stmt *ins;

	cr_assert_not_null(csv);
	cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "CREATE TABLE t (id INTEGER, region "
				  "TEXT, amount REAL); BEGIN", NULL, NULL,
				  NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?, ?, ?)",
					-1, &ins, NULL), SQLITE_OK);
	fputs("id,region,amount\n", csv);
	for (int i = 1; i <= NROWS; i++) {
		char region[8], amount[32];
		bool null_region = rng() % 50 == 0, null_amount = rng() % 40 == 0;

		snprintf(region, sizeof region, "r%u", (unsigned)(rng() % 8));
		snprintf(amount, sizeof amount, "%u.%02u",
			 (unsigned)(rng() % 300), (unsigned)(rng() % 100));
		fprintf(csv, "%d,%s,%s\n", i, null_region ? "" : region,
			null_amount ? "" : amount);
		sqlite3_bind_int(ins, 1, i);
		if (null_region)
			sqlite3_bind_null(ins, 2);
		else
			sqlite3_bind_text(ins, 2, region, -1, SQLITE_TRANSIENT);
		if (null_amount)
			sqlite3_bind_null(ins, 3);
		else
			sqlite3_bind_double(ins, 3, strtod(amount, NULL));
		cr_assert_eq(sqlite3_step(ins), SQLITE_DONE);
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	cr_assert_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	fclose(csv);
	free(csv_path);
	free(db_path);
}

/* SQLite's count of the rows of t where cond is true. */
static unsigned long long sqlite_count(const char *cond)
{
	char *db_path = tu_path(dir, "t.db"), sql[256];
	sqlite3 *db;
	sqlite3_stmt *st;
	unsigned long long n;

	snprintf(sql, sizeof sql, "SELECT count(*) FROM t WHERE %s", cond);
	cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	n = (unsigned long long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(db_path);
	return n;
}

static void setup(void)
{
	dir = tu_tmpdir();
	make_data();
	tu_put(dir, "p.conf",
	       "[aggregate]\n"
	       "output = out.csv\n"
	       "fields = id:int, region:text, amount:float\n"
	       "where = " WHERE_ALL "\n"
	       "group_by = region\n"
	       "aggregates = count(*) as n\n"
	       "\n[provider csv]\ntype = file\npath = t.csv\n"
	       "\n[provider sq]\ntype = sqlite\npath = t.db\n"
	       "query = SELECT id, region, amount FROM t ORDER BY id\n"
	       "key = id\nbatch = 997\n"
	       "where = " WHERE_SQ "\n");
}

static void teardown(void)
{
	tu_tmpdir_free(&dir);
}

TestSuite(filtered, .init = setup, .fini = teardown);

/* The summary row of provider name: records, rejects, filtered, restarts. */
static bool summary_row(const char *err, const char *name,
			unsigned long long *rec, unsigned long long *filt,
			int *restarts)
{
	for (const char *l = err; l && *l;) {
		char n[64], st[16];
		unsigned long long rej;

		if (sscanf(l, "%63s %15s %llu %llu %llu %d", n, st, rec, &rej,
			   filt, restarts) == 6 && strcmp(n, name) == 0)
			return true;
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	return false;
}

/* The counts of both providers against SQLite's. */
static void check_counts(const char *err, bool restarted)
{
	unsigned long long kept_csv = sqlite_count(WHERE_ALL);
	unsigned long long kept_sq = sqlite_count("(" WHERE_ALL ") AND ("
						  WHERE_SQ ")");
	unsigned long long rec, filt;
	int restarts;

	cr_assert(strstr(err, " filtered ") != NULL, "no column: %s", err);
	cr_assert(summary_row(err, "csv", &rec, &filt, &restarts), "%s", err);
	cr_assert_eq(rec, kept_csv, "csv records %llu, SQLite %llu", rec,
		     kept_csv);
	cr_assert_eq(filt, NROWS - kept_csv, "csv filtered %llu, SQLite %llu",
		     filt, NROWS - kept_csv);
	cr_assert_eq(restarts > 0, restarted);
	cr_assert(summary_row(err, "sq", &rec, &filt, &restarts), "%s", err);
	cr_assert_eq(rec, kept_sq, "sq records %llu, SQLite %llu", rec,
		     kept_sq);
	cr_assert_eq(filt, NROWS - kept_sq, "sq filtered %llu, SQLite %llu",
		     filt, NROWS - kept_sq);
	cr_assert_eq(restarts > 0, restarted);
}

Test(filtered, summary_against_sqlite)
{
	const char *const args[] = { "-v", "-c", "p.conf", NULL };
	struct tu_result r;
	char want[64];

	tu_watchdog(120);
	cr_assert_eq(tu_run(&r, dir, args, NULL), 0, "%s", r.err);
	check_counts(r.err, false);
	/* -v: the finished line says it too. */
	snprintf(want, sizeof want, "filtered=%llu",
		 NROWS - sqlite_count(WHERE_ALL));
	cr_assert(strstr(r.err, want) != NULL, "no %s in %s", want, r.err);
	tu_result_free(&r);
}

Test(filtered, json_summary)
{
	const char *const args[] = { "--log-format", "json", "-c", "p.conf",
				     NULL };
	struct tu_result r;
	char want[64];

	tu_watchdog(120);
	cr_assert_eq(tu_run(&r, dir, args, NULL), 0, "%s", r.err);
	snprintf(want, sizeof want, "\"filtered\":\"%llu\"",
		 NROWS - sqlite_count("(" WHERE_ALL ") AND (" WHERE_SQ ")"));
	cr_assert(strstr(r.err, want) != NULL, "no %s in %s", want, r.err);
	tu_result_free(&r);
}

Test(filtered, no_column_without_where)
{
	const char *const args[] = { "-c", "q.conf", "--metrics", "q.prom",
				     NULL };
	struct tu_result r;
	char *prom;

	tu_watchdog(120);
	tu_put(dir, "q.conf",
	       "[aggregate]\noutput = out.csv\n"
	       "fields = id:int, region:text, amount:float\n"
	       "group_by = region\naggregates = count(*) as n\n"
	       "\n[provider csv]\ntype = file\npath = t.csv\n");
	cr_assert_eq(tu_run(&r, dir, args, NULL), 0, "%s", r.err);
	cr_assert(strstr(r.err, "filtered") == NULL, "%s", r.err);
	tu_result_free(&r);
	prom = tu_get(dir, "q.prom");
	cr_assert_not_null(prom);
	cr_assert(strstr(prom, "aggregate_provider_records_total") != NULL);
	cr_assert(strstr(prom, "filtered") == NULL, "%s", prom);
	free(prom);
}

/* Both providers killed right after a checkpoint: each row counted once. */
Test(filtered, exactly_once_across_kills)
{
	const char *const args[] = { "-c", "p.conf", NULL };
	const char *const env[] = {
		"AGG_FAULT=csv:1:after_checkpoint:1:kill;"
		"sq:1:after_checkpoint:3:kill", NULL };
	struct tu_result r;

	TU_REQUIRE_HOOKS(teardown);
	tu_watchdog(120);
	cr_assert_eq(tu_run(&r, dir, args, env), 0, "%s", r.err);
	check_counts(r.err, true);
	tu_result_free(&r);
}

/*
 * The sqlite provider's direct encoding with derived fields and both
 * wheres: the report is SQLite's own GROUP BY of the same SQL.
 */
Test(filtered, sqlite_derive_and_where_against_sqlite)
{
	const char *const args[] = { "-q", "-c", "r.conf", NULL };
	struct tu_result r;
	char *db_path = tu_path(dir, "t.db"), *got, line[256];
	sqlite3 *db;
	sqlite3_stmt *st;
	struct buf want = { 0 };

	tu_watchdog(120);
	tu_put(dir, "r.conf",
	       "[aggregate]\noutput = r.csv\n"
	       "fields = id:int, region:text, amount:float\n"
	       "derive = id2 = id * 2 + 1, big = amount > 150\n"
	       "where = " WHERE_ALL "\n"
	       "group_by = region, big\n"
	       "aggregates = count(*) as n, sum(id2) as s, min(id) as lo, "
	       "max(id) as hi\n"
	       "order_by = region, big\n"
	       "\n[provider sq]\ntype = sqlite\npath = t.db\n"
	       "query = SELECT id, region, amount FROM t ORDER BY id\n"
	       "key = id\nbatch = 997\n"
	       "where = " WHERE_SQ "\n");
	cr_assert_eq(tu_run(&r, dir, args, NULL), 0, "%s", r.err);
	tu_result_free(&r);
	got = tu_get(dir, "r.csv");

	cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db,
		"SELECT region, CASE WHEN amount > 150 THEN 'true' "
		"ELSE 'false' END AS big, count(*), sum(id * 2 + 1), min(id), "
		"max(id) FROM t WHERE (" WHERE_ALL ") AND (" WHERE_SQ ") "
		"GROUP BY region, big ORDER BY region, big", -1, &st, NULL),
		SQLITE_OK);
	cr_assert_eq(buf_addstr(&want, "region,big,n,s,lo,hi\n"), 0);
	while (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(line, sizeof line, "%s,%s,%lld,%lld,%lld,%lld\n",
			 (const char *)sqlite3_column_text(st, 0),
			 (const char *)sqlite3_column_text(st, 1),
			 (long long)sqlite3_column_int64(st, 2),
			 (long long)sqlite3_column_int64(st, 3),
			 (long long)sqlite3_column_int64(st, 4),
			 (long long)sqlite3_column_int64(st, 5));
		cr_assert_eq(buf_addstr(&want, line), 0);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	cr_assert_eq(buf_add(&want, "", 1), 0);
	cr_assert_str_eq(got, (const char *)want.p);
	buf_free(&want);
	free(got);
	free(db_path);
}

/* The value of the series name{provider="prov"} in a metrics file. */
static unsigned long long metric(const char *prom, const char *name,
				 const char *prov)
{
	char key[128];
	const char *at;

	snprintf(key, sizeof key, "\n%s{provider=\"%s\"} ", name, prov);
	at = strstr(prom, key);
	cr_assert_not_null(at, "no %s in %s", key + 1, prom);
	return strtoull(at + strlen(key), NULL, 10);
}

Test(filtered, metrics_file_against_sqlite)
{
	const char *const args[] = { "-q", "-c", "p.conf", "--metrics",
				     "p.prom", NULL };
	unsigned long long kept_csv = sqlite_count(WHERE_ALL);
	unsigned long long kept_sq = sqlite_count("(" WHERE_ALL ") AND ("
						  WHERE_SQ ")");
	struct tu_result r;
	char *prom;

	tu_watchdog(120);
	cr_assert_eq(tu_run(&r, dir, args, NULL), 0, "%s", r.err);
	tu_result_free(&r);
	prom = tu_get(dir, "p.prom");
	cr_assert_not_null(prom);
	cr_assert(strstr(prom, "# TYPE aggregate_provider_filtered_total "
			 "counter\n") != NULL, "%s", prom);
	cr_assert_eq(metric(prom, "aggregate_provider_filtered_total", "csv"),
		     NROWS - kept_csv);
	cr_assert_eq(metric(prom, "aggregate_provider_filtered_total", "sq"),
		     NROWS - kept_sq);
	cr_assert_eq(metric(prom, "aggregate_provider_records_total", "csv"),
		     kept_csv);
	cr_assert_eq(metric(prom, "aggregate_provider_records_total", "sq"),
		     kept_sq);
	free(prom);
}

/*
 * The "merged" line of provider name in a merge's log: true and *filt
 * when it tells the filtered count, false when it does not.
 */
static bool merged_filtered(const char *err, const char *name,
			    unsigned long long *filt)
{
	char key[64];
	const char *at, *end, *f;

	snprintf(key, sizeof key, "provider=%s merged ", name);
	at = strstr(err, key);
	cr_assert_not_null(at, "no %s in %s", key, err);
	end = strchr(at, '\n');
	f = strstr(at, " filtered=");
	if (f == NULL || (end && f > end))
		return false;
	*filt = strtoull(f + 10, NULL, 10);
	return true;
}

/* Merge the partials (NULL-terminated) and check what it tells. */
static void merge_and_check(const char *const *parts, bool csv_told,
			    bool sq_told)
{
	const char *args[8] = { "merge", "-c", "p.conf" };
	unsigned long long filt = 0;
	struct tu_result r;
	int n = 3;

	for (; *parts; parts++)
		args[n++] = *parts;
	args[n] = NULL;
	cr_assert_eq(tu_run(&r, dir, args, NULL), 0, "%s", r.err);
	cr_assert_eq(merged_filtered(r.err, "csv", &filt), csv_told, "%s",
		     r.err);
	if (csv_told)
		cr_assert_eq(filt, NROWS - sqlite_count(WHERE_ALL),
			     "csv merged filtered %llu: %s", filt, r.err);
	cr_assert_eq(merged_filtered(r.err, "sq", &filt), sq_told, "%s",
		     r.err);
	if (sq_told)
		cr_assert_eq(filt, NROWS - sqlite_count("(" WHERE_ALL ") AND ("
							WHERE_SQ ")"),
			     "sq merged filtered %llu: %s", filt, r.err);
	tu_result_free(&r);
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/*
 * Partial src rewritten as format version 1 wrote it (aggregator/partial.c:
 * a piece's head without the u64 filtered after rejects) into dst.
 */
static void write_v1(const char *src, const char *dst)
{
	char *path = tu_path(dir, src);
	size_t len, at, nb, o = 0;
	unsigned char *d = (unsigned char *)tu_read(path, &len);
	unsigned char *out = malloc(len);
	uint32_t nouts, npieces, v1 = 1, crc;
	uint64_t total;
	FILE *f;

	free(path);
	cr_assert(d != NULL && out != NULL && len > 48);
	cr_assert_eq(get32(d + 8), 2, "not a version 2 partial: %s", src);
	nouts = get32(d + 32);
	npieces = get32(d + 40);
	nb = (get32(d + 12) + 7) / 8;
	at = 44 + nb;
	memcpy(out, d, at);
	o = at;
	for (uint32_t k = 0; k < npieces; k++) {
		uint64_t n;

		memcpy(out + o, d + at, 29); /* prov, lo, hi, dropped, counts */
		o += 29;
		at += 29 + 8;                /* and the filtered count */
		n = 8 + get64(d + at);       /* the rejects */
		for (uint32_t j = 0; j < nouts; j++)
			n += 8 + get64(d + at + n);
		memcpy(out + o, d + at, n);
		o += n;
		at += n;
	}
	cr_assert_eq(at, len - 4, "%s: layout not understood", src);
	memcpy(out + 8, &v1, 4);
	total = o + 4;
	memcpy(out + 24, &total, 8);
	crc = (uint32_t)crc32(0, out, (uInt)o);
	memcpy(out + o, &crc, 4);
	path = tu_path(dir, dst);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(out, 1, o + 4, f), o + 4);
	cr_assert_eq(fclose(f), 0);
	free(path);
	free(out);
	free(d);
}

/*
 * Two shards (csv in 0, sq in 1; killed after checkpoints when the build
 * has the hooks), their partials merged: each provider's filtered count
 * as SQLite counts it, also through a merge of merges; the same partials
 * as version 1 still merge to the same output, the count untold.
 */
Test(filtered, shards_merge_against_sqlite)
{
	const char *const s0[] = { "-q", "-c", "p.conf", "--shard", "0/2",
				   "--partial", "p0.agp", NULL };
	const char *const s1[] = { "-q", "-c", "p.conf", "--shard", "1/2",
				   "--partial", "p1.agp", NULL };
	const char *const all[] = { "merge", "-q", "-c", "p.conf", "p0.agp",
				    "p1.agp", "--partial", "all.agp", NULL };
	const char *const env[] = {
		"AGG_FAULT=csv:1:after_checkpoint:1:kill;"
		"sq:1:after_checkpoint:3:kill", NULL };
	const char *const both[] = { "p0.agp", "p1.agp", NULL };
	const char *const merged[] = { "all.agp", NULL };
	const char *const old[] = { "v1-0.agp", "v1-1.agp", NULL };
	const char *const mixed[] = { "v1-0.agp", "p1.agp", NULL };
	bool hooks = tu_bin_has_hooks();
	struct tu_result r;
	char *want, *got;

	tu_watchdog(180);
	cr_assert_eq(tu_run(&r, dir, s0, hooks ? env : NULL), 0, "%s", r.err);
	tu_result_free(&r);
	cr_assert_eq(tu_run(&r, dir, s1, hooks ? env : NULL), 0, "%s", r.err);
	tu_result_free(&r);
	merge_and_check(both, true, true);
	want = tu_get(dir, "out.csv");
	cr_assert_not_null(want);
	cr_assert_eq(tu_run(&r, dir, all, NULL), 0, "%s", r.err);
	tu_result_free(&r);
	merge_and_check(merged, true, true);

	write_v1("p0.agp", "v1-0.agp");
	write_v1("p1.agp", "v1-1.agp");
	merge_and_check(old, false, false);
	got = tu_get(dir, "out.csv");
	cr_assert_str_eq(got, want);
	free(got);
	merge_and_check(mixed, false, true);
	got = tu_get(dir, "out.csv");
	cr_assert_str_eq(got, want);
	free(got);
	free(want);
}
