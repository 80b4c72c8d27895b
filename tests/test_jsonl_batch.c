/*
 * test_jsonl_batch.c - the file provider's JSON Lines records batched
 * straight into the frame (providers/file_jsonl.c's fast_lines()) against
 * the record-at-a-time way of the same rows: the same file with a blank
 * before every record, which the batch leaves to file_jsonl_record().  The
 * provider runs in this process into a real ring (tests/helpers/provtest.h);
 * the two dumps must hold the same records in the same order, the same
 * rejects at the same lines with the same reasons, and checkpoints at the
 * same counts; and checkpoints of the batched run resume to exactly its
 * rest.
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
#include "helpers/provtest.h"
#include "helpers/testutil.h"

/* Group mode: id and day travel as NULL (the runtime's unused fields). */
#define GROUP_CONF                                                            \
	"[aggregate]\n"                                                       \
	"output = out.csv\n"                                                  \
	"fields = id:int, region:text, day:text, amount:float\n"              \
	"group_by = region\n"                                                 \
	"aggregates = count(*) as n, sum(amount) as total\n"                  \
	"max_rejects = 100000\n"                                              \
	"\n[provider f]\n"                                                    \
	"type = file\n"                                                       \
	"path = data.jsonl\n"

/* Every field sent. */
#define UNION_CONF                                                            \
	"[aggregate]\n"                                                       \
	"output = out.csv\n"                                                  \
	"fields = id:int, region:text, day:text, amount:float\n"              \
	"max_rejects = 100000\n"                                              \
	"\n[provider f]\n"                                                    \
	"type = file\n"                                                       \
	"path = data.jsonl\n"

/*
 * Random records, now and then one the batch does not take (a blank
 * line, a reject, a nested object, a missing field) and one too long for
 * the frame's room left (a region of several KiB).  spaced: a blank
 * before every record, so that none is batched.
 */
static char *jsonl_rows(int n, bool spaced)
{
	struct buf b = { 0 };
	uint64_t st = UINT64_C(0x5eedbeef1234);
	char *big = malloc(9001);

	cr_assert_not_null(big);
	cr_assert_eq(buf_addstr(&b, ""), 0);
	for (int i = 0; i < n; i++) {
		uint64_t h = tu_rng(&st);
		int kind = (int)(h % 40);
		size_t blen = (size_t)(h >> 8) % 9000;
		const char *sp = spaced ? " " : "";

		memset(big, 'a' + (int)((h >> 20) % 26), blen);
		big[blen] = '\0';
		switch (kind) {
		case 0:
			cr_assert_eq(buf_addstr(&b, "\n"), 0);
			break;
		case 1: /* a reject: an id that is not an int */
			cr_assert_eq(buf_printf(&b, "%s{\"id\":\"x%d\",\"region\":"
						"\"r1\",\"day\":\"d\",\"amount\":1}\n",
						sp, i), 0);
			break;
		case 2: /* an object where no field points: read over */
			cr_assert_eq(buf_printf(&b, "%s{\"id\":%d,\"x\":{\"y\":[1,"
						"{}]},\"region\":\"r2\",\"day\":"
						"\"d\",\"amount\":2.5}\n", sp, i),
				     0);
			break;
		case 3: /* fields missing: NULL */
			cr_assert_eq(buf_printf(&b, "%s{\"id\":%d}\n", sp, i), 0);
			break;
		case 4: /* longer than the room a frame has left, at times */
			cr_assert_eq(buf_printf(&b, "%s{\"id\":%d,\"region\":"
						"\"%s\",\"day\":\"d\",\"amount\":"
						"0.5}\n", sp, i, big), 0);
			break;
		default:
			cr_assert_eq(buf_printf(&b, "%s{\"id\":%d,\"region\":"
						"\"r%03d\",\"day\":\"2025-%02d-%02d\","
						"\"amount\":%d.%02d}\n", sp, i,
						(int)((h >> 12) % 50),
						1 + (int)((h >> 20) % 12),
						1 + (int)((h >> 24) % 28),
						(int)((h >> 32) % 1000),
						(int)((h >> 44) % 100)), 0);
			break;
		}
	}
	free(big);
	return (char *)buf_take(&b);
}

static char *dump_from_start(const struct cfg *cfg)
{
	struct pt_result r;
	char *dump = pt_dump_inline(cfg, 0, NULL, 0, &r);

	cr_assert_not_null(dump);
	cr_assert(!r.bad, "%s, dump:\n%.2000s", r.error, dump);
	cr_assert_eq(r.status, PROV_DONE, "%.2000s", dump);
	pt_result_free(&r);
	return dump;
}

/*
 * conf's provider over n rows batched and one at a time, a checkpoint
 * every batch records (0: the runtime's count): the same.
 */
static void batched_is_one_at_a_time(const char *conf, int batch, int n)
{
	char *dir = tu_tmpdir(), *rows, *fast, *slow, *a, *b, why[512];
	struct cfg cfg;
	int resumed;

	cr_assert_eq(chdir(dir), 0);
	cr_assert_eq(pt_config(conf, &cfg), 0);
	cfg.providers[0].batch = batch;
	rows = jsonl_rows(n, true);
	tu_put(dir, "data.jsonl", rows);
	free(rows);
	slow = dump_from_start(&cfg);
	rows = jsonl_rows(n, false);
	tu_put(dir, "data.jsonl", rows);
	free(rows);
	fast = dump_from_start(&cfg);
	a = pt_dump_comparable(fast);
	b = pt_dump_comparable(slow);
	cr_assert_not_null(a);
	cr_assert_not_null(b);
	cr_assert_str_eq(a, b, "batched:\n%.3000s\none at a time:\n%.3000s",
			 a, b);
	cr_assert(strstr(fast, "field id: ") != NULL);
	/* Every fifth checkpoint resumes to the rest. */
	resumed = pt_resumes_to_rest(&cfg, fast, 5, why, sizeof why);
	cr_assert_geq(resumed, 0, "%s", why);
	cr_assert_gt(resumed, 0);
	free(a);
	free(b);
	free(fast);
	free(slow);
	cfg_free(&cfg);
	cr_assert_eq(chdir("/"), 0);
	tu_rmrf(dir);
	free(dir);
}

/* Checkpoints every 7 records, and by the frame's room. */
Test(jsonl_batch, group_mode_is_one_at_a_time)
{
	batched_is_one_at_a_time(GROUP_CONF, 7, tu_scale(3000));
}

Test(jsonl_batch, every_field_is_one_at_a_time)
{
	batched_is_one_at_a_time(UNION_CONF, 7, tu_scale(3000));
}

/*
 * The runtime's own count between checkpoints: batches of thousands,
 * ended by the frame's room (the long records fill frames).
 */
Test(jsonl_batch, long_batches_are_one_at_a_time)
{
	batched_is_one_at_a_time(GROUP_CONF, 0, 20000);
}
