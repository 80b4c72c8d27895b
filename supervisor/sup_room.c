/*
 * sup_room.c - room for a run: shared memory and descriptors (see
 * sup_room.h).
 */
#include "sup_room.h"

#include <stdio.h>
#include <sys/resource.h>
#include <sys/statvfs.h>

#include "../common/log.h"

/*
 * Descriptors the supervisor holds per provider (the ring's two eventfds
 * and the heartbeat pipe's read end, plus the write end while forking),
 * and beside them (stdio, the lock, the signalfd, the control socket,
 * the aggregator's heartbeat, logs, metrics, libraries): checked against
 * RLIMIT_NOFILE before anything starts, so that a run too big for the
 * limit fails at once with a message instead of half-starting.
 */
#define FDS_PER_PROVIDER 4
#define FDS_BASE 64

/* A byte count for a message: "512K", "1.5M", "2.0G". */
static void fmt_size(uint64_t n, char *out, size_t len)
{
	if (n >= 1ull << 30)
		snprintf(out, len, "%.1fG", (double)n / (double)(1ull << 30));
	else if (n >= 1ull << 20)
		snprintf(out, len, "%.1fM", (double)n / (double)(1ull << 20));
	else
		snprintf(out, len, "%lluK", (unsigned long long)(n + 1023) / 1024);
}

/*
 * Is there room in SHM_DIR for nrings rings of ring_bytes each?  Returns
 * 0, or -1 after saying how much is free and how much is needed.  A tmpfs
 * without a size limit reports no blocks at all: then nothing is checked
 * (the reservation in shm_map_anon still is).  Done before the first ring
 * is made, because a ring that is not backed kills its provider with
 * SIGBUS, over and over, at the first write to a missing page.
 */
int sup_room_shm(int nrings, uint64_t ring_bytes, bool failed)
{
	struct statvfs sv;
	uint64_t need = (uint64_t)nrings * ring_bytes, avail;
	char a[32], b[32];

	if (statvfs(SHM_DIR, &sv) < 0)
		return failed ? -1 : 0;
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (!failed && (sv.f_blocks == 0 || avail >= need))
		return 0;
	fmt_size(avail, a, sizeof a);
	fmt_size(need, b, sizeof b);
	log_event(LOG_ERROR, NULL, "not enough shared memory for the rings",
		  "path", SHM_DIR, "free", a, "needed", b, "hint",
		  "lower ring_size, or enlarge " SHM_DIR
		  " (docker run --shm-size)", NULL);
	return -1;
}

/*
 * Are there descriptors enough for nrings providers (main() has raised the
 * soft limit to the hard one)?  Returns 0, or -1 after saying so.
 */
int sup_room_fds(int nrings)
{
	struct rlimit rl;
	uint64_t need = (uint64_t)nrings * FDS_PER_PROVIDER + FDS_BASE;
	char n[32], l[32], p[32];

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    need <= rl.rlim_cur)
		return 0;
	snprintf(p, sizeof p, "%d", nrings);
	snprintf(n, sizeof n, "%llu", (unsigned long long)need);
	snprintf(l, sizeof l, "%llu", (unsigned long long)rl.rlim_cur);
	log_event(LOG_ERROR, NULL, "too many providers for the open file limit",
		  "providers", p, "needed", n, "limit", l, "hint",
		  "raise the limit (ulimit -n, LimitNOFILE=) or run fewer "
		  "providers", NULL);
	return -1;
}
