/*
 * test_csvfast_expr.c - the file provider's CSV fast path with derived
 * fields and `where` (providers/file_csv.c's batches through
 * csvfast_encode_then() and prov_compute()) against the general path
 * reading the same rows: the same file with every field quoted, which
 * the fast path declines record by record.  The provider runs in this
 * process into a real ring (tests/helpers/provtest.h); the two dumps
 * must hold the same records in the same order, the same rejects at the
 * same lines with the same reasons, and checkpoints at the same counts;
 * and every checkpoint of the fast run resumes to exactly its rest.
 */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/config.h"
#include "../common/expr.h"
#include "helpers/provtest.h"
#include "helpers/testutil.h"

#define EXPR_CONF                                                             \
	"[aggregate]\n"                                                       \
	"output = out.csv\n"                                                  \
	"timezone = Europe/Paris\n"                                           \
	"fields = id:int, region:text, qty:int, d:int, ts:timestamp\n"        \
	"derive = per = qty / d, day = date_trunc('day', ts)\n"              \
	"where = per is null or per <> 1\n"                                   \
	"group_by = region, day\n"                                            \
	"aggregates = count(*) as n, sum(per) as per, max(qty) as most\n"     \
	"max_rejects = 100000\n"                                              \
	"\n[provider f]\n"                                                    \
	"type = file\n"                                                       \
	"path = data.csv\n"                                                   \
	"where = qty > 2\n"

/*
 * Random rows (ids in order, a few regions, quantities and divisors with
 * NULLs and zeros, times across a month and the night clocks change or
 * NULL), now and then one the fast path declines (quoted, a bad int, a
 * blank line).  quoted: every field quoted, so the general path reads all.
 */
static char *expr_rows(int n, bool quoted)
{
	static const char *const regions[] = { "north", "south", "r\xc3\xa9",
					       "east" };
	struct buf b = { 0 };
	uint64_t st = UINT64_C(0x5eed1234abcd);
	char row[512], f[5][64];

	cr_assert_eq(buf_addstr(&b, "id,region,qty,d,ts\n"), 0);
	for (int i = 0; i < n; i++) {
		uint64_t h = tu_rng(&st);
		int kind = (int)(h % 50);

		snprintf(f[0], sizeof f[0], kind == 1 ? "x%d" : "%d", i);
		snprintf(f[1], sizeof f[1], "%s", regions[(h >> 8) % 4]);
		snprintf(f[2], sizeof f[2], "%d", (int)((h >> 12) % 10));
		if ((h >> 16) % 13 == 0)
			f[2][0] = '\0';
		snprintf(f[3], sizeof f[3], "%d", (int)((h >> 20) % 5) - 2);
		if ((h >> 24) % 17 == 0)
			f[3][0] = '\0';
		snprintf(f[4], sizeof f[4], "2024-03-%02d %02d:%02d:07",
			 1 + i * 30 / n, (int)((h >> 28) % 24),
			 (int)((h >> 36) % 60));
		if (kind == 4)
			f[4][0] = '\0';
		if (kind == 2) {
			cr_assert_eq(buf_addstr(&b, "\n"), 0);
			continue;
		}
		if (quoted) {
			/* An empty field stays NULL: quoted it would be ''. */
			snprintf(row, sizeof row, "\"%s\",\"%s\",%s%s%s,%s%s%s,"
				 "%s%s%s\n", f[0], f[1],
				 f[2][0] ? "\"" : "", f[2], f[2][0] ? "\"" : "",
				 f[3][0] ? "\"" : "", f[3], f[3][0] ? "\"" : "",
				 f[4][0] ? "\"" : "", f[4], f[4][0] ? "\"" : "");
		} else if (kind == 3) {
			snprintf(row, sizeof row, "%s,\"%s\",%s,%s,%s\n", f[0],
				 f[1], f[2], f[3], f[4]);
		} else {
			snprintf(row, sizeof row, "%s,%s,%s,%s,%s\n", f[0],
				 f[1], f[2], f[3], f[4]);
		}
		cr_assert_eq(buf_addstr(&b, row), 0);
	}
	return (char *)buf_take(&b);
}

/* The dump of a run from the start, and its DONE's count of the dropped. */
static char *dump_filtered(const struct cfg *cfg, uint64_t *filtered)
{
	struct pt_result r;
	char *dump = pt_dump_inline(cfg, 0, NULL, 0, &r);

	cr_assert_not_null(dump);
	cr_assert(!r.bad, "%s, dump:\n%.2000s", r.error, dump);
	cr_assert_eq(r.status, PROV_DONE, "%.2000s", dump);
	cr_assert(r.done);
	*filtered = r.filtered;
	pt_result_free(&r);
	return dump;
}

/*
 * conf's provider over n rows with a checkpoint every 7 records, through
 * the fast path's batches and through the general path (every field
 * quoted): the same records, in the same order, the same rejects, the
 * same checkpoint counts and the same count of records the wheres
 * dropped; and every third checkpoint resumes to exactly the rest of the
 * run.  Returns the fast run's dump, with its count of the dropped.
 */
static char *fast_is_general(const char *conf, int n, uint64_t *filtered)
{
	char *dir = tu_tmpdir(), *rows, *fast, *slow, *a, *b, why[512];
	struct cfg cfg;
	uint64_t fslow;
	int resumed;

	cr_assert_eq(chdir(dir), 0);
	cr_assert_eq(pt_config(conf, &cfg), 0);
	cfg.providers[0].batch = 7;
	rows = expr_rows(n, true);
	tu_put(dir, "data.csv", rows);
	free(rows);
	slow = dump_filtered(&cfg, &fslow);
	rows = expr_rows(n, false);
	tu_put(dir, "data.csv", rows);
	free(rows);
	fast = dump_filtered(&cfg, filtered);
	a = pt_dump_comparable(fast);
	b = pt_dump_comparable(slow);
	cr_assert_str_eq(a, b, "fast path:\n%.3000s\ngeneral path:\n%.3000s",
			 a, b);
	cr_assert_eq(*filtered, fslow);
	resumed = pt_resumes_to_rest(&cfg, fast, 3, why, sizeof why);
	cr_assert_geq(resumed, 0, "%s", why);
	cr_assert_gt(resumed, n / 100);
	free(a);
	free(b);
	free(slow);
	cfg_free(&cfg);
	cr_assert_eq(chdir("/"), 0);
	tu_tmpdir_free(&dir);
	return fast;
}

/*
 * Derived fields (one read by `where`, one failing on zeros), a global
 * and a provider's `where`, group mode leaving id out: the fast path's
 * batches through prov_compute() are the general path.
 */
Test(csvfast_file, expressions_in_batches_are_the_general_paths)
{
	uint64_t dropped;
	char *fast = fast_is_general(EXPR_CONF, tu_scale(1500), &dropped);

	cr_assert(strstr(fast, "derive per: division by zero") != NULL);
	cr_assert(strstr(fast, "invalid int") != NULL);
	free(fast);
}

#define SIMPLE_CONF                                                           \
	"[aggregate]\n"                                                       \
	"output = out.csv\n"                                                  \
	"fields = id:int, region:text, qty:int, d:int, ts:timestamp\n"        \
	"derive = day = date_trunc('day', ts), big = d >= 1\n"               \
	"where = day >= '2024-03-10'\n"                                       \
	"group_by = region, day, big\n"                                       \
	"aggregates = count(*) as n, max(qty) as most\n"                      \
	"max_rejects = 100000\n"                                              \
	"\n[provider f]\n"                                                    \
	"type = file\n"                                                       \
	"path = data.csv\n"                                                   \
	"where = qty > 2\n"

/*
 * Derived fields and `where`s that are all simple (a UTC day, comparisons
 * with a constant, one of them over a derived field), which the batches
 * run as steps in their loop (prov_simple_steps()), counting the records
 * they drop themselves (prov_filtered()): the general path's records and
 * count.
 */
Test(csvfast_file, simple_expressions_as_steps_are_the_general_paths)
{
	struct cfg cfg;
	uint64_t dropped;
	int n = tu_scale(1500);
	char *fast;

	/* Every one of them simple: the batches take the steps. */
	cr_assert_eq(pt_config(SIMPLE_CONF, &cfg), 0);
	for (int d = 0; d < cfg.schema.nfields - cfg.nfields_declared; d++)
		cr_assert_neq(expr_simple_of(cfg.derive[d]).kind,
			      EXPR_SIMPLE_NONE, "derived field %d", d);
	cr_assert_neq(expr_simple_of(cfg.where).kind, EXPR_SIMPLE_NONE);
	cr_assert_neq(expr_simple_of(cfg.providers[0].where).kind,
		      EXPR_SIMPLE_NONE);
	cfg_free(&cfg);
	fast = fast_is_general(SIMPLE_CONF, n, &dropped);
	/* Both wheres dropped some, kept some. */
	cr_assert_gt(dropped, (uint64_t)n / 4);
	cr_assert(strstr(fast, "rec ") != NULL);
	free(fast);
}

/* A day's key and the provider's where, a string literal. */
#define WHERE_DAY_CONF_OF(where)                                              \
	"[aggregate]\n"                                                       \
	"output = out.csv\n"                                                  \
	"fields = id:int, region:text, qty:float, d:int, ts:timestamp\n"      \
	"derive = day = date_trunc('day', ts)\n"                             \
	"group_by = region, day\n"                                            \
	"aggregates = count(*) as n, sum(qty) as qty\n"                       \
	"max_rejects = 100000\n"                                              \
	"\n[provider f]\n"                                                    \
	"type = file\n"                                                       \
	"path = data.csv\n"                                                   \
	"where = " where "\n"

/* The where on the float field qty, or on the int field d. */
#define WHERE_DAY_CONF WHERE_DAY_CONF_OF("qty > 2")
#define WHERE_I_DAY_CONF WHERE_DAY_CONF_OF("d >= 0")

/*
 * Config conf's provider where and its one derived field, a UTC day, are
 * steps of shape want; through the fast path and the general path they
 * drop some records and keep some, the same.
 */
static void where_then_day(const char *conf, enum expr_steps_shape want)
{
	struct expr_simple_step steps[2];
	struct cfg cfg;
	uint64_t dropped;
	int n = tu_scale(1500);
	char *fast;

	cr_assert_eq(pt_config(conf, &cfg), 0);
	steps[0] = expr_simple_step_of(expr_simple_of(cfg.providers[0].where),
				       -1);
	steps[1] = expr_simple_step_of(expr_simple_of(cfg.derive[0]),
				       cfg.nfields_declared);
	cr_assert_eq(expr_steps_shape_of(steps, 2), want);
	cfg_free(&cfg);
	fast = fast_is_general(conf, n, &dropped);
	cr_assert_gt(dropped, (uint64_t)n / 4);
	cr_assert_lt(dropped, (uint64_t)n * 3 / 4);
	cr_assert(strstr(fast, "rec ") != NULL);
	free(fast);
}

/*
 * A where on a float field and a UTC day, the one computed field: the
 * shape the batches run in a loop of their own (EXPR_STEPS_WHERE_F_DAY),
 * with NULLs in the where's field: the general path's records and count.
 */
Test(csvfast_file, a_where_then_a_day_is_the_general_paths)
{
	where_then_day(WHERE_DAY_CONF, EXPR_STEPS_WHERE_F_DAY);
}

/* The same with a where on an int field (EXPR_STEPS_WHERE_I_DAY). */
Test(csvfast_file, an_int_where_then_a_day_is_the_general_paths)
{
	where_then_day(WHERE_I_DAY_CONF, EXPR_STEPS_WHERE_I_DAY);
}
