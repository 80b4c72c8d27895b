/*
 * test_many.c - many groups (aggregator/gtable.c, stage.c): the sort of
 * one-text keys and the staged lookups in tables past the caches.
 *
 * Tens of thousands of text keys (empty, NULL, long, sharing long
 * prefixes, prefixes of each other, non-ASCII, control bytes), each in a
 * few records in a scattered order, are staged in frames through the
 * merge (the one-text path: prefetched lookups once the table is large,
 * the radix sort of key prefixes) and written to CSV.  The rows must be
 * SQLite's: the same keys, ORDER BY key COLLATE BINARY with NULL last,
 * the same counts and sums (the amounts are whole numbers, so both sums
 * are exact); and byte for byte what the general path (every key
 * encoded, qsort by rec_value_cmp(), no prefetch) writes from the same
 * records added one by one.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../aggregator/merge.h"
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

TestSuite(many, .init = make_tmpdir, .fini = remove_tmpdir);

static struct rec_field fields[] = {
	{ .name = "key", .type = REC_TEXT },
	{ .name = "amount", .type = REC_FLOAT },
};

static struct cfg_provider provs[] = { { .name = "a" }, { .name = "b" } };

static int group_by[] = { 0 };

static struct cfg_agg aggs[] = {
	{ CFG_AGG_COUNT_STAR, -1, "n", REC_INT, 0, 0, -1, 0, -1 },
	{ CFG_AGG_SUM, 1, "total", REC_FLOAT, 0, 0, -1, 0, -1 },
};

static void set_cfg(struct cfg *cfg, const char *file)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(outpath, sizeof(outpath), "%s/%s", tmpdir, file);
	cfg->output = outpath;
	cfg->format = CFG_FMT_CSV;
	cfg->schema.nfields = 2;
	cfg->schema.fields = fields;
	cfg->mode = CFG_MODE_GROUP;
	cfg->providers = provs;
	cfg->nproviders = 2;
	cfg->group_by = group_by;
	cfg->ngroup_by = 1;
	cfg->aggs = aggs;
	cfg->naggs = 2;
}

/* A key: NULL (len -1) or bytes that CSV writes as they are. */
struct key {
	char b[48];
	int len;
};

/* Bytes a key is made of: no ',', '"', CR, LF (CSV would quote them). */
static const char alphabet[] = "\x01\x7f !#09:AZaz_~";
static const char *const utf8[] = { "\xC3\xA9", "\xF0\x9F\x98\x80",
				    "\xE2\x82\xAC", "\xC3\xBF" };

static void make_key(uint64_t *seed, int i, struct key *k)
{
	uint64_t r = tu_rng(seed);
	static const char shared[] = "a-prefix-longer-than-sixteen-bytes/";
	int n = 0, want;

	if (i == 0) {
		k->len = -1; /* NULL */
		return;
	}
	if (i == 1) {
		k->len = 0;
		return;
	}
	switch (r % 5) {
	case 0: /* a long shared prefix, then a few bytes */
		n = (int)((r >> 8) % (sizeof(shared) - 1));
		memcpy(k->b, shared, (size_t)n);
		break;
	case 1: /* eight bytes in common, as "k0000001" keys have */
		memcpy(k->b, "k0000000", 8);
		n = (int)((r >> 8) % 9);
		break;
	default:
		break;
	}
	want = n + (int)((r >> 16) % 10);
	while (n < want && n < (int)sizeof(k->b) - 4) {
		uint64_t c = tu_rng(seed);

		if (c % 7 == 0) {
			const char *u = utf8[(c >> 8) % 4];

			memcpy(k->b + n, u, strlen(u));
			n += (int)strlen(u);
		} else {
			k->b[n++] = alphabet[(c >> 8) % (sizeof(alphabet) - 1)];
		}
	}
	k->len = n;
}

/*
 * With int_keys the key field is an int: key i (i > 0) is i scattered
 * over the whole range, negative values among them; key 0 is NULL.
 */
static bool int_keys;

static int64_t int_key(int i)
{
	return (int64_t)((uint64_t)i * UINT64_C(0x9e3779b97f4a7c15));
}

/* nkeys keys (NULL and "" among them) and nrecs records of them. */
struct data {
	struct key *keys;
	int nkeys;
	int *rec_key;   /* the key of each record */
	int *rec_amount;
	int nrecs;
};

static void make_data(struct data *d, int nkeys, uint64_t seed)
{
	d->keys = calloc((size_t)nkeys, sizeof(*d->keys));
	cr_assert_not_null(d->keys);
	/* Keys drawn equal are one group, in SQLite as in the merge. */
	for (int i = 0; i < nkeys; i++)
		make_key(&seed, i, &d->keys[i]);
	d->nkeys = nkeys;
	d->nrecs = 3 * nkeys;
	d->rec_key = malloc(sizeof(int) * (size_t)d->nrecs);
	d->rec_amount = malloc(sizeof(int) * (size_t)d->nrecs);
	cr_assert(d->rec_key != NULL && d->rec_amount != NULL);
	for (int r = 0; r < d->nrecs; r++) {
		d->rec_key[r] = r < nkeys ? r : (int)(tu_rng(&seed) % (uint64_t)nkeys);
		d->rec_amount[r] = (int)(tu_rng(&seed) % 2001) - 1000;
	}
	/* Scatter the records (Fisher-Yates). */
	for (int r = d->nrecs - 1; r > 0; r--) {
		int j = (int)(tu_rng(&seed) % (uint64_t)(r + 1)), t;

		t = d->rec_key[r];
		d->rec_key[r] = d->rec_key[j];
		d->rec_key[j] = t;
	}
}

static void free_data(struct data *d)
{
	free(d->keys);
	free(d->rec_key);
	free(d->rec_amount);
}

static void values(const struct data *d, int r, struct rec_value v[2])
{
	const struct key *k = &d->keys[d->rec_key[r]];

	memset(v, 0, sizeof(struct rec_value) * 2);
	v[0].null = k->len < 0;
	if (int_keys) {
		v[0].u.i = int_key(d->rec_key[r]);
	} else {
		v[0].u.s.p = k->b;
		v[0].u.s.len = k->len < 0 ? 0 : (uint32_t)k->len;
	}
	v[1].u.f = d->rec_amount[r];
}

/*
 * The CSV of the data through the merge: staged in frames of up to 500
 * records alternating between the two providers, each committed (the
 * one-text path), or added one by one with every key encoded (general).
 */
static char *run(const struct data *d, bool staged, uint64_t hash_mask)
{
	struct cfg cfg;
	struct merge *m;
	unsigned char *frame = malloc(500 * 80);
	char err[256] = "", *got;
	int r = 0, pi = 0;

	set_cfg(&cfg, staged ? "staged.csv" : "general.csv");
	m = merge_new(&cfg);
	cr_assert(m != NULL && frame != NULL);
	cr_assert(merge_stages(m));
	merge_test_keys(m, !staged, hash_mask);
	while (r < d->nrecs) {
		struct rec_value v[2];
		size_t len = 0;
		uint32_t count = 0;

		for (; r < d->nrecs && count < 500; r++, count++) {
			values(d, r, v);
			if (staged) {
				len += rec_encode(&cfg.schema, v, frame + len);
				continue;
			}
			cr_assert_eq(merge_add(m, pi, v, err, sizeof(err)), 0,
				     "%s", err);
		}
		if (staged) {
			cr_assert_eq(merge_stage(m, pi, frame, len, count, err,
						 sizeof(err)), 0, "%s", err);
			cr_assert_eq(merge_commit(m, pi, err, sizeof(err)), 0,
				     "%s", err);
		}
		pi ^= 1;
	}
	cr_assert_eq(merge_write(m, err, sizeof(err)), 0, "%s", err);
	got = tu_read(outpath, NULL);
	cr_assert_not_null(got);
	merge_free(m);
	free(frame);
	return got;
}

/* What SQLite makes of the same rows, in the CSV our output writes. */
static char *sqlite_rows(const struct data *d)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	size_t cap = 64 + (size_t)d->nkeys * 80, len = 0;
	char *out = malloc(cap);

	cr_assert_not_null(out);
	cr_assert_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, int_keys ?
				  "CREATE TABLE t(k INTEGER, a REAL); BEGIN" :
				  "CREATE TABLE t(k TEXT, a REAL); BEGIN",
				  NULL, NULL, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?, ?)", -1,
					&st, NULL), SQLITE_OK);
	for (int r = 0; r < d->nrecs; r++) {
		const struct key *k = &d->keys[d->rec_key[r]];

		if (k->len < 0)
			sqlite3_bind_null(st, 1);
		else if (int_keys)
			sqlite3_bind_int64(st, 1, int_key(d->rec_key[r]));
		else
			sqlite3_bind_text(st, 1, k->b, k->len, SQLITE_STATIC);
		sqlite3_bind_double(st, 2, d->rec_amount[r]);
		cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	cr_assert_eq(sqlite3_prepare_v2(db,
		"SELECT k, count(*), sum(a) FROM t GROUP BY k "
		"ORDER BY k IS NULL, k COLLATE BINARY", -1, &st, NULL),
		SQLITE_OK);
	len = (size_t)snprintf(out, cap, "key,n,total\n");
	while (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *k = sqlite3_column_text(st, 0);
		int klen = sqlite3_column_bytes(st, 0);

		cr_assert_lt(len + (size_t)klen + 64, cap);
		if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
			/* NULL: nothing */
		} else if (int_keys) {
			len += (size_t)snprintf(out + len, cap - len, "%lld",
				(long long)sqlite3_column_int64(st, 0));
		} else if (klen == 0) {
			len += (size_t)snprintf(out + len, cap - len, "\"\"");
		} else {
			memcpy(out + len, k, (size_t)klen);
			len += (size_t)klen;
		}
		len += (size_t)snprintf(out + len, cap - len, ",%lld,%lld\n",
					(long long)sqlite3_column_int64(st, 1),
					(long long)sqlite3_column_double(st, 2));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

/* The first line where a and b part, for a readable failure. */
static void assert_same_csv(const char *got, const char *want, const char *what)
{
	const char *g = got, *w = want;
	int line = 1;

	while (*g && *g == *w) {
		line += *g == '\n';
		g++;
		w++;
	}
	if (*g == *w)
		return;
	while (g > got && g[-1] != '\n')
		g--, w--;
	cr_assert_fail("%s: line %d differs: got \"%.60s\" want \"%.60s\"",
		       what, line, g, w);
}

static void check(int nkeys, uint64_t seed, uint64_t mask)
{
	struct data d;
	char *staged, *general, *want;

	make_data(&d, nkeys, seed);
	staged = run(&d, true, mask);
	general = run(&d, false, UINT64_MAX);
	want = sqlite_rows(&d);
	assert_same_csv(staged, want, "staged vs SQLite");
	assert_same_csv(general, want, "general vs SQLite");
	free(staged);
	free(general);
	free(want);
	free_data(&d);
}

/* 40 000 keys: the table passes 64 Ki slots, where lookups prefetch. */
Test(many, text_keys_sorted_as_sqlite_sorts_them, .timeout = 120)
{
	check(40000, 0x5eed, UINT64_MAX);
}

/* Hashes cut to 16 bits: many equal hashes, the key compares decide. */
Test(many, text_keys_with_colliding_hashes, .timeout = 120)
{
	check(40000, 0xfeed, 0xffff);
}

/* One int key: its own lookups, prefetched too past 64 Ki slots. */
Test(many, int_keys_sorted_as_sqlite_sorts_them, .timeout = 120)
{
	int_keys = true;
	fields[0].type = REC_INT;
	check(40000, 0x1e55, UINT64_MAX);
	check(40000, 0x2e55, 0xffff);
}

/* Few keys: the plain loop and a table that stays small. */
Test(many, few_text_keys, .timeout = 60)
{
	check(300, 0xbeef, UINT64_MAX);
}
