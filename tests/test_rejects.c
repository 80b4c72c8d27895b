/*
 * test_rejects.c - aggregator/rejects.c: the REJECT payload's check and the
 * reject file written from the merge's committed rejects.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../aggregator/merge.h"
#include "../aggregator/rejects.h"

/* A payload of the three strings s[0..2], lengths given (bytes may be NUL). */
static size_t payload(const char *const s[3], const uint32_t len[3],
		      unsigned char *out)
{
	size_t n = 0;

	for (int i = 0; i < 3; i++) {
		memcpy(out + n, &len[i], 4);
		memcpy(out + n + 4, s[i], len[i]);
		n += 4 + len[i];
	}
	return n;
}

Test(rejects, valid_is_exactly_three_strings)
{
	const char *const s[3] = { "line 3", "bad int", "x,y" };
	const uint32_t len[3] = { 6, 7, 3 };
	unsigned char p[64];
	size_t n = payload(s, len, p);

	cr_assert(rejects_valid(p, n));
	for (size_t cut = 0; cut < n; cut++)
		cr_assert_not(rejects_valid(p, cut), "cut to %zu", cut);
	p[n] = 'z';
	cr_assert_not(rejects_valid(p, n + 1), "a byte past the strings");
	/* A length that runs past the payload. */
	memset(p, 0xff, 4);
	cr_assert_not(rejects_valid(p, n));
}

static struct cfg_provider provs[2] = { { .name = "a" }, { .name = "b\"q" } };
static struct rec_field fields[1] = { { .name = "x", .type = REC_INT } };

/* A union of two providers, its reject file path (NULL: none). */
static void set_cfg(struct cfg *cfg, char *path)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = CFG_MODE_UNION;
	cfg->schema.nfields = 1;
	cfg->schema.fields = fields;
	cfg->providers = provs;
	cfg->nproviders = 2;
	cfg->reject_file = path;
}

/*
 * Committed rejects only, in config order, each a JSON line; invalid
 * UTF-8 replaced, quotes, newlines and control bytes escaped.
 */
Test(rejects, file_holds_the_committed_rejects_in_config_order)
{
	char dir[] = "/tmp/test_rejects.XXXXXX", path[64], err[256] = "";
	const char *const r1[3] = { "1", "bad \xff", "raw\n" };
	const char *const r2[3] = { "2", "ghost", "" };
	const char *const r3[3] = { "9", "q\"\x01", "z" };
	const uint32_t l1[3] = { 1, 5, 4 }, l2[3] = { 1, 5, 0 },
		       l3[3] = { 1, 3, 1 };
	unsigned char p[64];
	struct cfg cfg;
	struct merge *m;
	char got[512] = "";
	FILE *f;
	size_t n;

	cr_assert_not_null(mkdtemp(dir), "%s", strerror(errno));
	snprintf(path, sizeof(path), "%s/rej.jsonl", dir);
	set_cfg(&cfg, path);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	/* b's reject is committed, a's first too; a's second never is. */
	n = payload(r3, l3, p);
	cr_assert_eq(merge_stage_reject(m, 1, p, (uint32_t)n, err,
					sizeof(err)), 0);
	cr_assert_eq(merge_commit(m, 1, err, sizeof(err)), 0);
	n = payload(r1, l1, p);
	cr_assert_eq(merge_stage_reject(m, 0, p, (uint32_t)n, err,
					sizeof(err)), 0);
	cr_assert_eq(merge_commit(m, 0, err, sizeof(err)), 0);
	n = payload(r2, l2, p);
	cr_assert_eq(merge_stage_reject(m, 0, p, (uint32_t)n, err,
					sizeof(err)), 0);
	cr_assert_eq(rejects_write(&cfg, m, err, sizeof(err)), 0, "%s", err);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	fclose(f);
	cr_assert_str_eq(got,
			 "{\"provider\":\"a\",\"position\":\"1\",\"reason\":"
			 "\"bad \xEF\xBF\xBD\",\"raw\":\"raw\\n\"}\n"
			 "{\"provider\":\"b\\\"q\",\"position\":\"9\",\"reason\":"
			 "\"q\\\"\\u0001\",\"raw\":\"z\"}\n");
	merge_free(m);
	unlink(path);
	rmdir(dir);
}

/* No reject file configured: nothing to do, nothing written. */
Test(rejects, no_file_no_write)
{
	struct cfg cfg;
	struct merge *m;
	char err[256] = "";

	set_cfg(&cfg, NULL);
	m = merge_new(&cfg);
	cr_assert_not_null(m);
	cr_assert_eq(rejects_write(&cfg, m, err, sizeof(err)), 0);
	merge_free(m);
}
