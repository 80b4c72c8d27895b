/*
 * test_stage.c - the stage's specialised paths (aggregator/stage.c)
 * against its general one.
 *
 * The same random frames go through two merges of one config: one that
 * stages with every specialisation (the plans' fused steps, the memo of
 * short keys, the prefetching walk of big tables) and one with
 * AGG_STAGE=general (each field by stage_take(), every group through
 * gtable_group_of()).  Every frame must get the same verdict and reason,
 * and the results the same CSV bytes.  The keys are one text (empty,
 * short, 16 and 17 bytes, NUL bytes inside, NULL), one int or one
 * timestamp (extremes, NULL), few of them or more than the memo takes;
 * some frames are cut or have a byte changed, some attempts die before
 * their commit.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../aggregator/merge.h"
#include "../common/config_agg.h"
#include "helpers/testutil.h"

static char *tmpdir;

static void make_tmpdir(void)
{
	tmpdir = tu_tmpdir();
}

static void remove_tmpdir(void)
{
	tu_tmpdir_free(&tmpdir);
}

TestSuite(stage, .init = make_tmpdir, .fini = remove_tmpdir);

enum { F_KEY, F_ID, F_AMOUNT, F_NOTE, F_OK, F_TS, F_DAY, F_X, NF };

static struct rec_field fields[NF] = {
	{ .name = "key", .type = REC_TEXT },    { .name = "id", .type = REC_INT },
	{ .name = "amount", .type = REC_FLOAT }, { .name = "note", .type = REC_TEXT },
	{ .name = "ok", .type = REC_BOOL },     { .name = "ts", .type = REC_TIMESTAMP },
	{ .name = "day", .type = REC_DATE },    { .name = "x", .type = REC_FLOAT },
};

static struct cfg_provider provs[2] = { { .name = "a" }, { .name = "b" } };

#define AGG(k, f, n, t) { k, f, n, t, 0, 0, -1, 0, -1 }

/* count(*) first (it marks the groups live), then the rest. */
static struct cfg_agg aggs_star[] = {
	AGG(CFG_AGG_COUNT_STAR, -1, "n", REC_INT),
	AGG(CFG_AGG_COUNT, F_NOTE, "notes", REC_INT),
	AGG(CFG_AGG_SUM, F_ID, "ids", REC_INT),
	AGG(CFG_AGG_SUM, F_AMOUNT, "total", REC_FLOAT),
	AGG(CFG_AGG_AVG, F_X, "avg_x", REC_FLOAT),
	AGG(CFG_AGG_MIN, F_TS, "first", REC_TIMESTAMP),
	AGG(CFG_AGG_MAX, F_DAY, "last", REC_DATE),
	AGG(CFG_AGG_MAX, F_OK, "any", REC_BOOL),
	AGG(CFG_AGG_MIN, F_AMOUNT, "least", REC_FLOAT),
};

/* No count(*): the groups are marked live by a loop of their own. */
static struct cfg_agg aggs_plain[] = {
	AGG(CFG_AGG_SUM, F_AMOUNT, "total", REC_FLOAT),
	AGG(CFG_AGG_COUNT, F_KEY, "keys", REC_INT),
	AGG(CFG_AGG_MAX, F_ID, "top", REC_INT),
};

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Keys of one length that differ only in their last bytes. */
static bool similar;

/* Text key number r of nkeys: lengths 0 to 40, some with NUL bytes. */
static uint32_t text_key(uint64_t r, unsigned nkeys, char *buf)
{
	static const char pad[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH";
	unsigned n = (unsigned)(r % nkeys);
	uint32_t len = (n * 7u) % 41u;

	if (similar)
		return (uint32_t)sprintf(buf, "customer-%06u", n);

	memcpy(buf, pad, len);
	/*
	 * The number in the first bytes, or in the last ones only (keys of
	 * one length that share their first 8 bytes, as "customer-00017")
	 */
	for (uint32_t i = 0; i < len && i < 4; i++) {
		if (n % 3)
			buf[i] = (char)((n >> (8 * i)) & 0xff);
		else
			buf[len - 1 - i] = (char)((n >> (8 * i)) & 0xff);
	}
	if (n % 5 == 0 && len > 1)
		buf[len / 2] = '\0';
	return len;
}

/* A random record of the schema, its key (field key) from nkeys. */
static void random_record(uint64_t *seed, int key, unsigned nkeys,
			  char *kbuf, struct rec_value *v)
{
	static const double fs[] = { 0.1, -0.0, 0.0, 2.5, -7.25, 1e300, 5e-324 };
	static const int64_t is[] = { INT64_MIN, INT64_MAX, 0, -1, 1 };

	memset(v, 0, sizeof(*v) * NF);
	for (int i = 0; i < NF; i++) {
		uint64_t r = next_rand(seed);

		if (r % 9 == 0) {
			v[i].null = true;
			continue;
		}
		r >>= 4;
		switch (fields[i].type) {
		case REC_TEXT:
			if (i == key) {
				v[i].u.s.len = text_key(r, nkeys, kbuf);
				v[i].u.s.p = kbuf;
			} else {
				v[i].u.s.p = "note";
				v[i].u.s.len = (uint32_t)(r % 5);
			}
			break;
		case REC_INT:
		case REC_TIMESTAMP:
		case REC_DATE:
			v[i].u.i = (int64_t)(r % nkeys) - (int64_t)nkeys / 2;
			/* int keys' extremes (no aggregate sums a key) */
			if (i == key && r % 31 == 0 &&
			    fields[i].type == REC_INT)
				v[i].u.i = is[r % 5];
			if (i != key && fields[i].type == REC_INT)
				v[i].u.i %= 1000; /* sums stay far from overflow */
			if (fields[i].type == REC_DATE)
				v[i].u.i %= 100000;
			break;
		case REC_FLOAT:
			v[i].u.f = r % 3 ? fs[r % 7] : (double)(r % 1000) / 7.0;
			break;
		case REC_BOOL:
			v[i].u.b = r % 2;
			break;
		default:
			break;
		}
	}
}

/* k random records at out; their length. */
static size_t random_frame(uint64_t *seed, int key, unsigned nkeys, int k,
			   unsigned char *out)
{
	const struct rec_schema s = { NF, fields };
	struct rec_value v[NF];
	char kbuf[64];
	size_t len = 0;

	for (int r = 0; r < k; r++) {
		random_record(seed, key, nkeys, kbuf, v);
		len += rec_encode(&s, v, out + len);
	}
	return len;
}

static void set_cfg(struct cfg *cfg, const char *file, int *gb,
		    struct cfg_agg *aggs, int naggs)
{
	char *path = malloc(strlen(tmpdir) + strlen(file) + 2);

	cr_assert_not_null(path);
	sprintf(path, "%s/%s", tmpdir, file);
	memset(cfg, 0, sizeof(*cfg));
	cfg->output = path;
	cfg->format = CFG_FMT_CSV;
	cfg->schema.nfields = NF;
	cfg->schema.fields = fields;
	cfg->mode = CFG_MODE_GROUP;
	cfg->group_by = gb;
	cfg->ngroup_by = 1;
	cfg->aggs = aggs;
	cfg->naggs = naggs;
	cfg->providers = provs;
	cfg->nproviders = 2;
}

static struct merge *new_merge(const struct cfg *cfg, bool general,
			       uint64_t hash_mask)
{
	struct merge *m;

	if (general)
		setenv("AGG_STAGE", "general", 1);
	m = merge_new(cfg);
	unsetenv("AGG_STAGE");
	cr_assert_not_null(m);
	cr_assert(merge_stages(m));
	merge_test_keys(m, false, hash_mask);
	return m;
}

/*
 * frames random frames of keys from nkeys (group by field key) through
 * both merges, now and then damaged, committed or discarded; the two
 * results compared byte for byte.
 */
static void compare(int key, unsigned nkeys, int frames, struct cfg_agg *aggs,
		    int naggs, uint64_t hash_mask, uint64_t seed)
{
	int gb[1] = { key };
	struct cfg cf, cg;
	struct merge *mf, *mg;
	unsigned char *frame = malloc(1 << 20);
	char ef[256], eg[256], *fast, *gen;
	int bad = 0;

	cr_assert_not_null(frame);
	set_cfg(&cf, "fast.csv", gb, aggs, naggs);
	set_cfg(&cg, "general.csv", gb, aggs, naggs);
	mf = new_merge(&cf, false, hash_mask);
	mg = new_merge(&cg, true, hash_mask);
	for (int f = 0; f < frames; f++) {
		int p = (int)(next_rand(&seed) % 2);
		int k = 1 + (int)(next_rand(&seed) % 2000);
		size_t len = random_frame(&seed, key, nkeys, k, frame);
		uint64_t r = next_rand(&seed);
		int rf, rg;

		if (f % 7 == 3) {
			/* a byte changed, or the frame cut short */
			size_t at = (size_t)(r >> 8) % len;

			if (r % 2)
				frame[at] ^= (unsigned char)(1u << ((r >> 4) % 8));
			else
				len = at;
		}
		ef[0] = eg[0] = '\0';
		rf = merge_stage(mf, p, frame, len, (uint32_t)k, ef, sizeof(ef));
		rg = merge_stage(mg, p, frame, len, (uint32_t)k, eg, sizeof(eg));
		cr_assert_eq(rf, rg, "frame %d: %d (%s) vs %d (%s)", f, rf, ef,
			     rg, eg);
		cr_assert_str_eq(ef, eg);
		cr_assert_neq(rf, -1, "%s", ef);
		bad += rf == 1;
		switch ((r >> 40) % 4) {
		case 0:
			merge_discard(mf, p);
			merge_discard(mg, p);
			break;
		case 1:
			cr_assert_eq(merge_commit(mf, p, ef, sizeof(ef)), 0);
			cr_assert_eq(merge_commit(mg, p, eg, sizeof(eg)), 0);
			break;
		default:
			break;
		}
	}
	for (int p = 0; p < 2; p++) {
		cr_assert_eq(merge_commit(mf, p, ef, sizeof(ef)), 0, "%s", ef);
		cr_assert_eq(merge_commit(mg, p, eg, sizeof(eg)), 0, "%s", eg);
	}
	cr_assert_eq(merge_write(mf, ef, sizeof(ef)), 0, "%s", ef);
	cr_assert_eq(merge_write(mg, eg, sizeof(eg)), 0, "%s", eg);
	fast = tu_read(cf.output, NULL);
	gen = tu_read(cg.output, NULL);
	cr_assert(fast != NULL && gen != NULL);
	cr_assert_str_eq(fast, gen, "key %d, %u keys", key, nkeys);
	cr_assert_gt(strlen(fast), 20);
	/* some frames were damaged, and refused */
	cr_assert(frames < 40 || bad > 0);
	merge_free(mf);
	merge_free(mg);
	free(fast);
	free(gen);
	free((char *)cf.output);
	free((char *)cg.output);
	free(frame);
}

/* Few keys (the memo's case), more than it takes, and a big table. */
static const unsigned nkeys[] = { 1, 7, 200, 256, 300, 5000, 150000 };

Test(stage, text_key_equals_the_general_path)
{
	for (size_t i = 0; i < sizeof(nkeys) / sizeof(nkeys[0]); i++)
		compare(F_KEY, nkeys[i], tu_scale(nkeys[i] > 5000 ? 40 : 60),
			aggs_star, 9, UINT64_MAX, 0x9e3779b97f4a7c15ull + i);
}

Test(stage, int_keys_equal_the_general_path)
{
	for (size_t i = 0; i < sizeof(nkeys) / sizeof(nkeys[0]); i++) {
		compare(F_ID, nkeys[i], tu_scale(nkeys[i] > 5000 ? 40 : 60),
			aggs_plain, 3, UINT64_MAX, 12345 + i);
		compare(F_TS, nkeys[i], tu_scale(40), aggs_star, 9,
			UINT64_MAX, 777 + i);
	}
}

/* Hashes cut to 2 bits: the table's compares decide, the memo's too. */
Test(stage, colliding_hashes_equal_the_general_path)
{
	compare(F_KEY, 250, tu_scale(40), aggs_star, 9, 3, 99);
	compare(F_KEY, 40, tu_scale(40), aggs_plain, 3, 3, 98);
	compare(F_DAY, 250, tu_scale(40), aggs_star, 9, 3, 97);
}

/*
 * Keys that share their first 8 bytes and their length, all in one memo
 * set and one probe sequence: only the last bytes tell them apart.
 */
Test(stage, similar_keys_equal_the_general_path)
{
	similar = true;
	compare(F_KEY, 12, tu_scale(40), aggs_star, 9, 0, 11);
	compare(F_KEY, 12, tu_scale(40), aggs_star, 9, UINT64_MAX, 12);
	similar = false;
}

/* A frame cut inside a record, or with a bad byte, stages nothing. */
Test(stage, damaged_frames_stage_nothing)
{
	int gb[1] = { F_KEY };
	struct cfg cfg;
	struct merge *m;
	unsigned char frame[4096];
	uint64_t seed = 5;
	char err[256], *out;
	size_t len = random_frame(&seed, F_KEY, 3, 20, frame);

	set_cfg(&cfg, "damaged.csv", gb, aggs_plain, 3);
	m = new_merge(&cfg, false, UINT64_MAX);
	/* one more record than the bytes hold */
	cr_assert_eq(merge_stage(m, 0, frame, len, 21, err, sizeof(err)), 1);
	/* the first record's length shorter than its null bitmap's end */
	frame[0] = 3;
	frame[1] = frame[2] = frame[3] = 0;
	cr_assert_eq(merge_stage(m, 0, frame, len, 20, err, sizeof(err)), 1);
	cr_assert_eq(merge_commit(m, 0, err, sizeof(err)), 0);
	cr_assert_eq(merge_write(m, err, sizeof(err)), 0, "%s", err);
	out = tu_read(cfg.output, NULL);
	cr_assert_str_eq(out, "key,total,keys,top\n");
	free(out);
	merge_free(m);
	free((char *)cfg.output);
}
