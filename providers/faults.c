/*
 * faults.c - test-only fault injection (see faults.h).  Empty unless the
 * build defines AGG_TESTING.
 */
#include "faults.h"

#ifdef AGG_TESTING

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../ipc/ring_test.h"
#include "provider.h"

/* The leak action stops here if no limit stopped it first (MiB). */
#define LEAK_MAX_MB 8192

/* Ranges of the count a "random" point picks: records, frames. */
#define RANDOM_RECORDS 2000
#define RANDOM_FRAMES 6

static const char *const point_names[FAULT_NPOINTS] = {
	"start", "record", "before_records", "after_records",
	"before_checkpoint", "after_checkpoint", "mid_frame", "after_done",
};

enum fault_action { ACT_KILL, ACT_SEGV, ACT_EXIT0, ACT_HANG, ACT_GARBAGE,
		    ACT_BADLEN, ACT_BADATTEMPT, ACT_LEAK, ACT_STUBBORN };

static const char *const action_names[] = {
	"kill", "segv", "exit0", "hang", "garbage", "badlen", "badattempt",
	"leak", "stubborn",
};

static struct {
	int armed;
	enum fault_point point;
	uint64_t nth;
	uint64_t seen;
	enum fault_action action;
} fault;

static int parse_one(struct prov_ctx *c, char *spec)
{
	char *f[5] = { 0 };
	int n = 0;
	long attempt;

	for (char *tok = strtok(spec, ":"); tok && n < 5; tok = strtok(NULL, ":"))
		f[n++] = tok;
	if (n < 4 || strcmp(f[0], c->p->name) != 0)
		return 0;
	attempt = strtol(f[1], NULL, 10);
	if (attempt != 0 && attempt != c->attempt)
		return 0;
	fault.nth = strtoull(f[3], NULL, 10);
	for (int i = 0; i < FAULT_NPOINTS; i++)
		if (strcmp(f[2], point_names[i]) == 0) {
			fault.point = (enum fault_point)i;
			fault.armed = 1;
		}
	if (strcmp(f[2], "random") == 0) {
		/* N is a seed: pick a point from record to mid_frame, and a
		 * count on it. */
		unsigned seed = (unsigned)fault.nth;
		unsigned r = (unsigned)rand_r(&seed);

		fault.point = (enum fault_point)(FAULT_RECORD +
			      r % (FAULT_MID_FRAME - FAULT_RECORD + 1));
		r = (unsigned)rand_r(&seed);
		fault.nth = fault.point == FAULT_RECORD ? 1 + r % RANDOM_RECORDS
							: 1 + r % RANDOM_FRAMES;
		fault.armed = 1;
	}
	if (!fault.armed)
		return 0;
	fault.action = ACT_KILL;
	for (size_t i = 0; n == 5 && i < sizeof action_names /
						sizeof action_names[0]; i++)
		if (strcmp(f[4], action_names[i]) == 0)
			fault.action = (enum fault_action)i;
	return 1;
}

/*
 * Publish a frame header whose length runs past everything published:
 * written by hand, since ring_commit() would never produce it.  The
 * shared read position is stored back as just loaded; should the consumer
 * move it meanwhile, only this doomed producer's view of it is stale.
 */
static void publish_bad_length(struct prov_ctx *c)
{
	struct ring_frame_hdr h = { .len = 0x7ffffff0u, .type = RING_RECORDS,
				    .attempt = c->attempt };
	unsigned char *pl = ring_reserve(c->ring, 64, -1);
	uint64_t wpos, rpos;

	if (pl == NULL)
		return;
	memcpy(pl - sizeof h, &h, sizeof h);
	ring_test_positions(c->ring, &wpos, &rpos);
	c->ring->wpos += RING_ALIGN(sizeof h + 64);
	ring_test_set_positions(c->ring, c->ring->wpos, rpos);
}

/*
 * Allocate 1 MiB blocks (touching one byte of each) until malloc fails,
 * then fail the way a provider out of memory does: an ERROR frame and
 * PROV_FAIL_RETRY.  With memory_limit set, RLIMIT_AS makes malloc fail.
 */
static void __attribute__((noreturn)) leak(struct prov_ctx *c)
{
	char msg[128];
	int mb;

	for (mb = 0; mb < LEAK_MAX_MB; mb++) {
		volatile char *p = malloc(1u << 20);

		if (p == NULL)
			break;
		p[0] = 1;
	}
	if (mb < LEAK_MAX_MB)
		snprintf(msg, sizeof msg, "out of memory after %d MiB", mb);
	else
		snprintf(msg, sizeof msg, "leaked %d MiB without hitting a limit",
			 mb);
	ring_send(c->ring, RING_ERROR, c->attempt, msg, strlen(msg), 0);
	_exit(PROV_FAIL_RETRY);
}

void faults_init(struct prov_ctx *c)
{
	const char *env = getenv("AGG_FAULT");
	char *copy, *save = NULL;

	memset(&fault, 0, sizeof fault);
	if (env == NULL || (copy = strdup(env)) == NULL)
		return;
	for (char *s = strtok_r(copy, ";", &save); s && !fault.armed;
	     s = strtok_r(NULL, ";", &save))
		parse_one(c, s);
	free(copy);
	faults_hit(c, FAULT_START);
}

void faults_hit(struct prov_ctx *c, enum fault_point p)
{
	char num[32];

	if (!fault.armed || fault.point != p || ++fault.seen != fault.nth)
		return;
	/* One line the tests (and scripts/chaos.sh) can wait for and count. */
	snprintf(num, sizeof num, "%llu", (unsigned long long)fault.nth);
	log_event(LOG_WARN, c->p->name, "fault injected", "point",
		  point_names[p], "n", num, "action",
		  p == FAULT_MID_FRAME ? "kill" : action_names[fault.action],
		  NULL);
	if (p == FAULT_MID_FRAME) {
		/* Write half a frame and die before publishing it. */
		void *half = ring_reserve(c->ring, 4096, -1);

		if (half)
			memset(half, 0x5A, 2048);
		raise(SIGKILL);
	}
	switch (fault.action) {
	case ACT_KILL:
		raise(SIGKILL);
		break;
	case ACT_SEGV:
		/*
		 * Die of the signal as a crash does without sanitizers
		 * (AddressSanitizer would catch it, report, and exit 1).
		 */
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
		break;
	case ACT_EXIT0:
		_exit(0);
	case ACT_HANG:
		for (;;)
			pause();
	case ACT_GARBAGE: {
		/* A RECORDS frame whose records are nonsense. */
		unsigned char junk[64];

		memset(junk, 0xA5, sizeof junk);
		ring_send(c->ring, RING_RECORDS, c->attempt, junk, sizeof junk, -1);
		break;
	}
	case ACT_BADLEN:
		publish_bad_length(c);
		break;
	case ACT_BADATTEMPT: {
		/* A well-formed, empty RECORDS frame of another attempt. */
		uint32_t none = 0;

		ring_send(c->ring, RING_RECORDS, (uint16_t)(c->attempt + 1),
			  &none, sizeof none, -1);
		break;
	}
	case ACT_LEAK:
		leak(c);
	case ACT_STUBBORN:
		/* Hang, deaf to SIGTERM: only SIGKILL ends it. */
		signal(SIGTERM, SIG_IGN);
		for (;;)
			pause();
	}
}

#else
/* ISO C forbids an empty translation unit. */
typedef int faults_unused;
#endif
