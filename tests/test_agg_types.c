/*
 * test_agg_types.c - decimals and dates on the way out: their aggregates
 * (aggregator/state.c, stage.c), group keys (gtable.c), the merge's
 * result and overflow checks (merge.c), what the file sinks write
 * (out_text.c, out_sqlite.c) and the config's result types
 * (common/config_agg.c).
 *
 * Sums and averages are checked against Python's decimal module
 * (tests/fixtures/dec_agg_oracle.py: exact, ROUND_HALF_UP).  Each test
 * builds its struct cfg by hand, as test_merge.c does, and reads back what
 * merge_write() leaves in a fresh temporary folder.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../aggregator/merge.h"
#include "../common/config.h"
#include "../common/config_agg.h"
#include "../common/decimal.h"
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

TestSuite(agg_types, .init = make_tmpdir, .fini = remove_tmpdir);

static struct cfg_provider provs[3] = {
	{ .name = "a" }, { .name = "b" }, { .name = "c" },
};

static void set_cfg(struct cfg *cfg, const char *file, struct rec_field *f,
		    int nf)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(outpath, sizeof(outpath), "%s/%s", tmpdir, file);
	cfg->output = outpath;
	cfg->format = CFG_FMT_CSV;
	if (strstr(file, ".jsonl") != NULL)
		cfg->format = CFG_FMT_JSONL;
	else if (strstr(file, ".db") != NULL)
		cfg->format = CFG_FMT_SQLITE;
	cfg->schema.nfields = nf;
	cfg->schema.fields = f;
	cfg->mode = CFG_MODE_UNION;
	cfg->providers = provs;
	cfg->nproviders = 3;
}

static void set_group(struct cfg *cfg, int *gb, int ngb, struct cfg_agg *aggs,
		      int naggs)
{
	cfg->mode = CFG_MODE_GROUP;
	cfg->group_by = gb;
	cfg->ngroup_by = ngb;
	cfg->aggs = aggs;
	cfg->naggs = naggs;
	/* The result types as a loaded config has them. */
	for (int i = 0; i < naggs; i++)
		cr_assert_eq(cfg_agg_result_type(&aggs[i],
						 aggs[i].field >= 0 ?
						 &cfg->schema.fields[aggs[i].field] :
						 NULL), 0);
}

static char *slurp(const char *path)
{
	char *buf = tu_read(path, NULL);

	cr_assert_not_null(buf, "open %s: %s", path, strerror(errno));
	return buf;
}

/* An integer from its decimal digits (an optional '-'). */
static __int128 big(const char *s)
{
	bool neg = *s == '-';
	__int128 x = 0;

	for (s += neg; *s; s++)
		x = x * 10 + (*s - '0');
	return neg ? -x : x;
}

static struct rec_value D(__int128 x)
{
	struct rec_value v = { .null = false };

	rec_set_dec(&v, x);
	return v;
}

static struct rec_value I(int64_t i)
{
	struct rec_value v = { .null = false };

	v.u.i = i;
	return v;
}

static struct rec_value T(const char *s)
{
	struct rec_value v = { .null = false };

	v.u.s.p = s;
	v.u.s.len = (uint32_t)strlen(s);
	return v;
}

static const struct rec_value NUL = { .null = true };

static void add(struct merge *m, int pi, const struct rec_value *v)
{
	char err[256] = "";

	cr_assert_eq(merge_add(m, pi, v, err, sizeof(err)), 0, "%s", err);
}

/* The CSV (or JSON Lines) written; the test fails if the write did. */
static char *write_and_read(struct merge *m)
{
	char err[512] = "";

	cr_assert_eq(merge_write(m, err, sizeof(err)), 0, "%s", err);
	return slurp(outpath);
}

static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ------------------------------------------------------------------ */
/* sum and avg against Python's decimal                                */
/* ------------------------------------------------------------------ */

#define ORACLE_CASES 240
#define ORACLE_MAX_VALUES 40

struct dcase {
	int scale;
	int n;
	__int128 v[ORACLE_MAX_VALUES];
	char sum[48], avg[48]; /* the oracle's: unscaled, or OVERFLOW */
};

/* A random value below lim in magnitude (lim <= 10^38). */
static __int128 rand_below(uint64_t *seed, __int128 lim)
{
	unsigned __int128 r = ((unsigned __int128)next_rand(seed) << 64) |
			      next_rand(seed);
	__int128 x = (__int128)(r % (unsigned __int128)lim);

	return next_rand(seed) % 2 ? -x : x;
}

/*
 * Cases from small to 38 digits: at each scale, values of k digits, and
 * now and then the largest decimal(38,s) over and over (a sum past 38
 * digits, or past 2^127 on the way and back: the carries), mixed signs.
 */
static void make_cases(struct dcase *cs, int n, uint64_t seed)
{
	static const int scales[] = { 0, 1, 2, 4, 6, 8, 10, 20, 37, 38 };
	static const int digits[] = { 2, 9, 18, 30, 36, 37, 38 };
	const __int128 max = dec_pow10(38) - 1;

	for (int c = 0; c < n; c++) {
		struct dcase *d = &cs[c];
		int k = digits[next_rand(&seed) % 7];
		int shape = (int)(next_rand(&seed) % 6);

		d->scale = scales[next_rand(&seed) % 10];
		d->n = 1 + (int)(next_rand(&seed) % ORACLE_MAX_VALUES);
		for (int i = 0; i < d->n; i++) {
			if (shape == 0)
				d->v[i] = max; /* overflows from two on */
			else if (shape == 1)
				d->v[i] = i % 2 ? -max : max; /* back and forth */
			else if (shape == 2)
				d->v[i] = i < d->n / 2 + 1 ? max : -max;
			else
				d->v[i] = rand_below(&seed, dec_pow10(k));
		}
	}
}

/* The oracle's answers into cs[0..n). */
static void ask_oracle(struct dcase *cs, int n)
{
	char *in = tu_path(tmpdir, "oracle.in"), cmd[1024], line[256];
	FILE *f = fopen(in, "w"), *p;
	int c = 0;

	cr_assert_not_null(f);
	for (int i = 0; i < n; i++) {
		fprintf(f, "%d", cs[i].scale);
		for (int j = 0; j < cs[i].n; j++) {
			char b[DEC_STR_MAX];

			dec_format(cs[i].v[j], 0, b);
			fprintf(f, " %s", b);
		}
		fputc('\n', f);
	}
	cr_assert_eq(fclose(f), 0);
	snprintf(cmd, sizeof(cmd),
		 "python3 '%s/tests/fixtures/dec_agg_oracle.py' < '%s'",
		 tu_srcdir(), in);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (c < n && fgets(line, sizeof(line), p) != NULL) {
		cr_assert_eq(sscanf(line, "%47s %47s", cs[c].sum, cs[c].avg), 2,
			     "%s", line);
		c++;
	}
	cr_assert_eq(pclose(p), 0, "the oracle failed");
	cr_assert_eq(c, n, "the oracle answered %d of %d cases", c, n);
	unlink(in);
	free(in);
}

/*
 * One aggregate (sum or avg) of case d through a merge: the values spread
 * over the three providers, folded record by record (merge_add) or
 * staged as RECORDS frames and committed (the entries' path).  Returns
 * the one value written, unscaled, or "OVERFLOW" when the write failed
 * saying so.
 */
static void run_case(const struct dcase *d, enum cfg_agg_kind kind,
		     bool staged, uint64_t seed, char *out, size_t outlen)
{
	struct rec_field f[1] = { { .name = "x", .type = REC_DECIMAL,
				    .prec = 38, .scale = (uint8_t)d->scale } };
	struct cfg_agg a[1] = { { kind, 0, "r", REC_INT, 0, 0, -1, 0, -1 } };
	struct cfg cfg;
	struct merge *m;
	char err[512] = "", *got, *nl;

	set_cfg(&cfg, "case.csv", f, 1);
	set_group(&cfg, NULL, 0, a, 1);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	cr_assert_eq(merge_stages(m), true);
	for (int i = 0; i < d->n; i++) {
		struct rec_value v = D(d->v[i]);
		int pi = (int)(next_rand(&seed) % 3);

		if (!staged) {
			add(m, pi, &v);
			continue;
		}
		{
			unsigned char frame[64];
			size_t len = rec_encode(&cfg.schema, &v, frame);

			cr_assert_eq(merge_stage(m, pi, frame, len, 1, err,
						 sizeof(err)), 0, "%s", err);
			cr_assert_eq(merge_commit(m, pi, err, sizeof(err)), 0,
				     "%s", err);
		}
	}
	if (merge_write(m, err, sizeof(err)) < 0) {
		char want[64];

		snprintf(want, sizeof(want), "%s(x) overflows decimal(38,%d)",
			 kind == CFG_AGG_SUM ? "sum" : "avg",
			 kind == CFG_AGG_SUM ? d->scale :
			 d->scale > 6 ? d->scale : 6);
		cr_assert_str_eq(err, want);
		cr_assert_eq(access(outpath, F_OK), -1,
			     "a failed run leaves no output");
		snprintf(out, outlen, "OVERFLOW");
		merge_free(m);
		return;
	}
	got = slurp(outpath);
	cr_assert_eq(strncmp(got, "r\n", 2), 0, "%s", got);
	nl = strchr(got + 2, '\n');
	cr_assert_not_null(nl);
	*nl = '\0';
	/* The digits with their point: unscaled again, to compare. */
	{
		char *w = out;

		for (const char *p = got + 2; *p && w < out + outlen - 1; p++)
			if (*p != '.')
				*w++ = *p;
		*w = '\0';
		while (out[0] == '0' && out[1] != '\0')
			memmove(out, out + 1, strlen(out));
		if (out[0] == '-')
			while (out[1] == '0' && out[2] != '\0')
				memmove(out + 1, out + 2, strlen(out + 1));
	}
	free(got);
	merge_free(m);
	unlink(outpath);
}

Test(agg_types, decimal_sum_and_avg_match_python)
{
	int n = tu_scale(ORACLE_CASES);
	struct dcase *cs = calloc((size_t)n, sizeof(*cs));
	int overflows = 0, fits = 0;

	cr_assert_not_null(cs);
	make_cases(cs, n, 0xdec1);
	ask_oracle(cs, n);
	for (int c = 0; c < n; c++) {
		char sum[64], avg[64];

		run_case(&cs[c], CFG_AGG_SUM, c % 2, (uint64_t)c, sum,
			 sizeof(sum));
		run_case(&cs[c], CFG_AGG_AVG, c % 3 == 0, (uint64_t)c, avg,
			 sizeof(avg));
		cr_assert_str_eq(sum, cs[c].sum, "case %d: sum at scale %d",
				 c, cs[c].scale);
		cr_assert_str_eq(avg, cs[c].avg, "case %d: avg at scale %d",
				 c, cs[c].scale);
		overflows += strcmp(cs[c].sum, "OVERFLOW") == 0;
		fits += strcmp(cs[c].avg, "OVERFLOW") != 0 &&
			strcmp(cs[c].sum, "OVERFLOW") == 0;
	}
	/* The cases reach both ends: sums that overflow, and averages of
	 * sums past 38 digits that fit. */
	cr_assert_gt(overflows, n / 20, "%d overflows", overflows);
	cr_assert_gt(fits, 0, "no average of an overflowing sum");
	free(cs);
}

/* ------------------------------------------------------------------ */
/* overflow                                                            */
/* ------------------------------------------------------------------ */

static struct rec_field money[] = {
	{ .name = "region", .type = REC_TEXT },
	{ .name = "x", .type = REC_DECIMAL, .prec = 38, .scale = 2 },
	{ .name = "day", .type = REC_DATE },
};

Test(agg_types, decimal_sum_overflow_names_the_aggregate_and_group)
{
	const __int128 max = dec_pow10(38) - 1;
	struct cfg_agg a[] = { { CFG_AGG_COUNT_STAR, -1, "n", REC_INT, 0, 0, -1, 0, -1 },
			       { CFG_AGG_SUM, 1, "total", REC_INT, 0, 0, -1, 0, -1 } };
	int gb[] = { 0 };
	struct rec_value v[3];
	struct cfg cfg;
	struct merge *m;
	char err[512] = "";

	set_cfg(&cfg, "o.csv", money, 3);
	set_group(&cfg, gb, 1, a, 2);
	m = merge_new(&cfg);
	v[0] = T("east");
	v[1] = D(max);
	v[2] = NUL;
	add(m, 0, v);
	add(m, 1, v);
	v[1] = D(-max);
	add(m, 2, v); /* east: max + max - max = max, exactly */
	v[0] = T("west");
	v[1] = D(max);
	add(m, 0, v);
	v[1] = D(1);
	add(m, 2, v); /* west: one past 38 digits */
	cr_assert_eq(merge_write(m, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "sum(x) overflows decimal(38,2) in group "
			      "region=\"west\"");
	cr_assert_eq(access(outpath, F_OK), -1, "nothing is written");
	merge_free(m);

	/* Without west, east's sum went past 2^127 and back: it fits. */
	set_cfg(&cfg, "o.csv", money, 3);
	set_group(&cfg, gb, 1, a, 2);
	m = merge_new(&cfg);
	v[0] = T("east");
	for (int i = 0; i < 5; i++) {
		v[1] = D(i < 3 ? max : -max);
		add(m, i % 3, v);
	}
	{
		char *got = write_and_read(m);

		cr_assert_str_eq(got, "region,n,total\n"
				      "east,5,999999999999999999999999999999999999.99\n");
		free(got);
	}
	merge_free(m);
}

/* The group named in the message shows a decimal's digits and a day. */
Test(agg_types, overflow_names_decimal_and_date_keys)
{
	const __int128 max = dec_pow10(38) - 1;
	struct cfg_agg a[] = { { CFG_AGG_SUM, 1, "total", REC_INT, 0, 0, -1, 0, -1 } };
	int gb[] = { 1, 2 };
	struct rec_value v[3];
	struct cfg cfg;
	struct merge *m;
	char err[512] = "";

	set_cfg(&cfg, "o.csv", money, 3);
	set_group(&cfg, gb, 2, a, 1);
	m = merge_new(&cfg);
	v[0] = T("east");
	v[1] = D(-max);
	v[2] = I(-1);
	add(m, 0, v);
	add(m, 1, v);
	cr_assert_eq(merge_write(m, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "sum(x) overflows decimal(38,2) in group "
			      "x=-999999999999999999999999999999999999.99 "
			      "day=1969-12-31");
	merge_free(m);
}

Test(agg_types, decimal_avg_overflow_fails_the_run)
{
	/* decimal(38,0) values of 33 digits: their avg has 33 + 6 digits. */
	struct rec_field f[] = { { .name = "x", .type = REC_DECIMAL,
				   .prec = 38, .scale = 0 } };
	struct cfg_agg a[] = { { CFG_AGG_AVG, 0, "mean", REC_INT, 0, 0, -1, 0, -1 } };
	struct rec_value v = D(dec_pow10(32) * 3);
	struct cfg cfg;
	struct merge *m;
	char err[512] = "";

	set_cfg(&cfg, "o.csv", f, 1);
	set_group(&cfg, NULL, 0, a, 1);
	cr_assert_eq(a[0].type, REC_DECIMAL);
	cr_assert_eq(a[0].prec, 38);
	cr_assert_eq(a[0].scale, 6);
	m = merge_new(&cfg);
	add(m, 0, &v);
	cr_assert_eq(merge_write(m, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "avg(x) overflows decimal(38,6)");
	merge_free(m);
}

/* ------------------------------------------------------------------ */
/* group keys                                                          */
/* ------------------------------------------------------------------ */

/*
 * Decimal keys sort by value (negatives first), date keys by day, NULL
 * last; equal values are one group whichever provider sent them; the
 * fast one-int path of a date key and the general path give the same
 * bytes, and so do hashes cut to one bit (every key collides).
 */
Test(agg_types, group_keys_sorted_by_value)
{
	static const char *const decs[] = { "200", "-150", "-5", "1000", "10",
					    "-150", NULL, "200", "-99999", "0" };
	static const int64_t days[] = { 19723, -1, 0, -719162, 19723,
					INT64_MIN, 2932896, -1, 0, 1 };
	struct cfg_agg a[] = { { CFG_AGG_COUNT_STAR, -1, "n", REC_INT, 0, 0, -1, 0, -1 } };
	int by_dec[] = { 1 }, by_day[] = { 2 }, by_both[] = { 2, 1 };
	const struct {
		int *gb;
		int ngb;
		const char *want;
	} cases[] = {
		{ by_dec, 1, "x,n\n-999.99,3\n-1.50,6\n-0.05,3\n0.00,3\n"
			     "0.10,3\n2.00,6\n10.00,3\n,3\n" },
		{ by_day, 1, "day,n\n0001-01-01,3\n1969-12-31,6\n1970-01-01,6\n"
			     "1970-01-02,3\n2024-01-01,6\n9999-12-31,3\n,3\n" },
		{ by_both, 2, "day,x,n\n0001-01-01,10.00,3\n"
			      "1969-12-31,-1.50,3\n1969-12-31,2.00,3\n"
			      "1970-01-01,-999.99,3\n1970-01-01,-0.05,3\n"
			      "1970-01-02,0.00,3\n2024-01-01,0.10,3\n"
			      "2024-01-01,2.00,3\n9999-12-31,,3\n,-1.50,3\n" },
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char *first = NULL;

		for (int way = 0; way < 3; way++) {
			struct rec_value v[3];
			struct cfg cfg;
			struct merge *m;
			char *got;

			set_cfg(&cfg, "k.csv", money, 3);
			set_group(&cfg, cases[c].gb, cases[c].ngb, a, 1);
			m = merge_new(&cfg);
			merge_test_keys(m, way == 1, way == 2 ? 1 : UINT64_MAX);
			for (int pi = 0; pi < 3; pi++) {
				for (int i = 0; i < 10; i++) {
					v[0] = T("r");
					v[1] = decs[i] ? D(big(decs[i])) : NUL;
					v[2] = days[i] == INT64_MIN ? NUL :
								     I(days[i]);
					add(m, pi, v);
				}
			}
			got = write_and_read(m);
			if (first == NULL)
				first = got;
			else {
				cr_assert_str_eq(got, first, "way %d", way);
				free(got);
			}
			merge_free(m);
		}
		cr_assert_str_eq(first, cases[c].want, "case %zu", c);
		free(first);
	}
}

/* ------------------------------------------------------------------ */
/* min, max, count_distinct; the sinks                                 */
/* ------------------------------------------------------------------ */

static struct cfg_agg mm_aggs[] = {
	{ CFG_AGG_MIN, 1, "lo", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_MAX, 1, "hi", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_COUNT_DISTINCT, 1, "xs", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_COUNT, 1, "nx", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_MIN, 2, "first", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_MAX, 2, "last", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_COUNT_DISTINCT, 2, "days", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_SUM, 1, "total", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_AVG, 1, "mean", REC_INT, 0, 0, -1, 0, -1 },
};

/* Rows of (region, x at scale 2, day) spread over the providers. */
static struct merge *mm_merge(struct cfg *cfg, const char *file)
{
	static const struct {
		const char *region, *x;
		int64_t day;
	} rows[] = {
		{ "east", "3762", 19723 }, { "east", "-5", -1 },
		{ "east", "3762", 19723 }, { "east", NULL, INT64_MIN },
		{ "west", "-100000", 0 },  { "west", "1", 1 },
		{ "west", "-100000", 0 },  { "west", "0", 2932896 },
		{ "east", "-5", 19000 },   { "north", NULL, INT64_MIN },
	};
	static int gb[] = { 0 };
	struct merge *m;

	set_cfg(cfg, file, money, 3);
	set_group(cfg, gb, 1, mm_aggs, sizeof(mm_aggs) / sizeof(mm_aggs[0]));
	m = merge_new(cfg);
	cr_assert_not_null(m);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct rec_value v[3];

		v[0] = T(rows[i].region);
		v[1] = rows[i].x ? D(big(rows[i].x)) : NUL;
		v[2] = rows[i].day == INT64_MIN ? NUL : I(rows[i].day);
		add(m, (int)(i % 3), v);
	}
	return m;
}

Test(agg_types, min_max_count_distinct_to_csv)
{
	struct cfg cfg;
	struct merge *m = mm_merge(&cfg, "mm.csv");
	char *got = write_and_read(m);

	cr_assert_str_eq(got,
			 "region,lo,hi,xs,nx,first,last,days,total,mean\n"
			 "east,-0.05,37.62,2,4,1969-12-31,2024-01-01,3,75.14,"
			 "18.785000\n"
			 "north,,,0,0,,,0,,\n"
			 "west,-1000.00,0.01,3,4,1970-01-01,9999-12-31,3,"
			 "-1999.99,-499.997500\n");
	free(got);
	merge_free(m);
}

Test(agg_types, jsonl_decimal_bare_date_quoted)
{
	struct cfg cfg;
	struct merge *m = mm_merge(&cfg, "mm.jsonl");
	char *got = write_and_read(m);

	cr_assert_str_eq(got,
			 "{\"region\":\"east\",\"lo\":-0.05,\"hi\":37.62,\"xs\":2,"
			 "\"nx\":4,\"first\":\"1969-12-31\",\"last\":\"2024-01-01\","
			 "\"days\":3,\"total\":75.14,\"mean\":18.785000}\n"
			 "{\"region\":\"north\",\"lo\":null,\"hi\":null,\"xs\":0,"
			 "\"nx\":0,\"first\":null,\"last\":null,\"days\":0,"
			 "\"total\":null,\"mean\":null}\n"
			 "{\"region\":\"west\",\"lo\":-1000.00,\"hi\":0.01,\"xs\":3,"
			 "\"nx\":4,\"first\":\"1970-01-01\",\"last\":\"9999-12-31\","
			 "\"days\":3,\"total\":-1999.99,\"mean\":-499.997500}\n");
	free(got);
	merge_free(m);
}

/* SQLite keeps the digits and the day as TEXT (NUMERIC would make REALs). */
Test(agg_types, sqlite_stores_decimal_and_date_as_text)
{
	struct cfg cfg;
	struct merge *m = mm_merge(&cfg, "mm.db");
	char err[512] = "";
	sqlite3 *db;
	sqlite3_stmt *st;
	char got[2048] = "";
	size_t len = 0;

	cfg.table = "t";
	cr_assert_eq(merge_write(m, err, sizeof(err)), 0, "%s", err);
	merge_free(m);
	cr_assert_eq(sqlite3_open(outpath, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db,
					"SELECT region, typeof(lo), lo, typeof(total), "
					"total, typeof(mean), mean, typeof(first), "
					"first, typeof(days), days FROM t "
					"ORDER BY region",
					-1, &st, NULL), SQLITE_OK,
		     "%s", sqlite3_errmsg(db));
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const unsigned char *t = sqlite3_column_text(st, i);

			len += (size_t)snprintf(got + len, sizeof(got) - len,
						"%s%s", i ? "|" : "",
						t ? (const char *)t : "NULL");
		}
		len += (size_t)snprintf(got + len, sizeof(got) - len, "\n");
	}
	sqlite3_finalize(st);
	cr_assert_str_eq(got,
			 "east|text|-0.05|text|75.14|text|18.785000|text|"
			 "1969-12-31|integer|3\n"
			 "north|null|NULL|null|NULL|null|NULL|null|NULL|integer|0\n"
			 "west|text|-1000.00|text|-1999.99|text|-499.997500|text|"
			 "1970-01-01|integer|3\n");
	cr_assert_eq(sqlite3_prepare_v2(db,
					"SELECT type FROM pragma_table_info('t') "
					"WHERE name IN ('lo', 'mean', 'first')",
					-1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		cr_assert_str_eq((const char *)sqlite3_column_text(st, 0),
				 "TEXT");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* Union mode: the spool carries decimals and dates through a file too. */
Test(agg_types, union_writes_the_digits_and_the_day)
{
	struct cfg cfg;
	struct merge *m;
	struct rec_value v[3];
	char *got;

	set_cfg(&cfg, "u.csv", money, 3);
	m = merge_new(&cfg);
	v[0] = T("e");
	v[1] = D(big("-12345678901234567890123456789012345678"));
	v[2] = I(-719162);
	add(m, 1, v);
	v[1] = D(7);
	v[2] = NUL;
	add(m, 0, v);
	got = write_and_read(m);
	cr_assert_str_eq(got, "provider,region,x,day\n"
			      "a,e,0.07,\n"
			      "b,e,-123456789012345678901234567890123456.78,"
			      "0001-01-01\n");
	free(got);
	merge_free(m);
}

/* ------------------------------------------------------------------ */
/* the config's result types                                           */
/* ------------------------------------------------------------------ */

Test(agg_types, result_types_follow_postgresql)
{
	struct rec_field d10 = { .name = "d", .type = REC_DECIMAL, .prec = 10,
				 .scale = 2 };
	struct rec_field d20 = { .name = "d", .type = REC_DECIMAL, .prec = 20,
				 .scale = 8 };
	struct rec_field day = { .name = "day", .type = REC_DATE };
	const struct {
		enum cfg_agg_kind k;
		const struct rec_field *f;
		int rc;
		enum rec_type t;
		int p, s;
	} cases[] = {
		{ CFG_AGG_SUM, &d10, 0, REC_DECIMAL, 38, 2 },
		{ CFG_AGG_AVG, &d10, 0, REC_DECIMAL, 38, 6 },
		{ CFG_AGG_AVG, &d20, 0, REC_DECIMAL, 38, 8 },
		{ CFG_AGG_MIN, &d10, 0, REC_DECIMAL, 10, 2 },
		{ CFG_AGG_MAX, &d20, 0, REC_DECIMAL, 20, 8 },
		{ CFG_AGG_COUNT, &d10, 0, REC_INT, 0, 0 },
		{ CFG_AGG_COUNT_DISTINCT, &d10, 0, REC_INT, 0, 0 },
		{ CFG_AGG_MIN, &day, 0, REC_DATE, 0, 0 },
		{ CFG_AGG_MAX, &day, 0, REC_DATE, 0, 0 },
		{ CFG_AGG_COUNT_DISTINCT, &day, 0, REC_INT, 0, 0 },
		{ CFG_AGG_SUM, &day, -1, REC_INT, 0, 0 },
		{ CFG_AGG_AVG, &day, -1, REC_INT, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg_agg a = { .kind = cases[i].k, .field = 0,
				     .filter = -1 };

		cr_assert_eq(cfg_agg_result_type(&a, cases[i].f), cases[i].rc,
			     "case %zu", i);
		if (cases[i].rc < 0)
			continue;
		cr_assert_eq(a.type, cases[i].t, "case %zu", i);
		cr_assert_eq(a.prec, cases[i].p, "case %zu", i);
		cr_assert_eq(a.scale, cases[i].s, "case %zu", i);
	}
}

/* sum or avg of a date is a config error (78) at its line, as of text. */
Test(agg_types, sum_of_a_date_is_a_config_error)
{
	static const char *const bad[] = { "sum(day)", "avg(day)" };

	for (size_t i = 0; i < 2; i++) {
		char *dir = tu_tmpdir(), *path, text[512], err[CFG_ERR_MAX];
		struct cfg cfg;
		int ec = 0;

		snprintf(text, sizeof(text),
			 "[aggregate]\noutput = o.csv\n"
			 "fields = region:text, day:date\n"
			 "aggregates = count(*), %s\n"
			 "[provider f]\ntype = file\npath = in.csv\n", bad[i]);
		tu_put(dir, "p.conf", text);
		path = tu_path(dir, "p.conf");
		cr_assert_eq(cfg_load(path, &cfg, err, sizeof(err), &ec), -1);
		cr_assert_eq(ec, 78);
		cr_assert(strstr(err, "p.conf:4: invalid value") != NULL, "%s",
			  err);
		cr_assert(strstr(err, "needs an int, float or decimal field; "
				      "'day' is date") != NULL, "%s", err);
		free(path);
		tu_tmpdir_free(&dir);
	}
	{
		struct cfg cfg;
		char err[CFG_ERR_MAX];

		cr_assert_eq(cfg_load_string("p.conf",
					     "[aggregate]\noutput = o.csv\n"
					     "fields = region:text, day:date\n"
					     "group_by = day\n"
					     "aggregates = min(day), count_distinct(day)\n"
					     "[provider f]\ntype = file\npath = in.csv\n",
					     &cfg, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(cfg.aggs[0].type, REC_DATE);
		cr_assert_eq(cfg.aggs[1].type, REC_INT);
		cfg_free(&cfg);
	}
}
