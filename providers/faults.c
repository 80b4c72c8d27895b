/*
 * faults.c - test-only fault injection (see faults.h).  Empty unless the
 * build defines AGG_TESTING.
 */
#include "faults.h"

#ifdef AGG_TESTING

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provider.h"

static const char *const point_names[FAULT_NPOINTS] = {
	"start", "record", "before_records", "after_records",
	"before_checkpoint", "after_checkpoint", "mid_frame",
};

enum fault_action { ACT_KILL, ACT_SEGV, ACT_EXIT0, ACT_HANG, ACT_GARBAGE };

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
	for (int i = 0; i < FAULT_NPOINTS; i++)
		if (strcmp(f[2], point_names[i]) == 0) {
			fault.point = (enum fault_point)i;
			fault.armed = 1;
		}
	if (!fault.armed)
		return 0;
	fault.nth = strtoull(f[3], NULL, 10);
	fault.action = ACT_KILL;
	if (n == 5) {
		if (strcmp(f[4], "segv") == 0)
			fault.action = ACT_SEGV;
		else if (strcmp(f[4], "exit0") == 0)
			fault.action = ACT_EXIT0;
		else if (strcmp(f[4], "hang") == 0)
			fault.action = ACT_HANG;
		else if (strcmp(f[4], "garbage") == 0)
			fault.action = ACT_GARBAGE;
	}
	return 1;
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
	if (!fault.armed || fault.point != p || ++fault.seen != fault.nth)
		return;
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
	}
}

#else
/* ISO C forbids an empty translation unit. */
typedef int faults_unused;
#endif
