/*
 * pctspill.c - percentiles' values past the memory budget (pctspill.h).
 *
 * Invariant: the file's bytes [0, end) are whole runs, each written once
 * by pwrite() at the end and never changed; a run's description is the
 * only way to it.
 */
#include "pctspill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../common/log.h"


static uint64_t budget;  /* bytes; 0: none */
static uint64_t taken;   /* bytes of value arrays */
static int fd = -1;
static int64_t end;      /* bytes written */
static uint64_t nruns;

void pspill_set_budget(uint64_t bytes)
{
	budget = bytes;
}

void pspill_take(uint64_t bytes)
{
	taken += bytes;
}

bool pspill_spent(void)
{
	return budget != 0 && taken >= budget;
}

/* The file, created on first use in $TMPDIR, unlinked from the start. */
static int spill_fd(void)
{
	const char *dir = getenv("TMPDIR");
	char *name = NULL;

	if (fd >= 0)
		return fd;
	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	{
		char mem[32];

		unsigned long long b = (unsigned long long)budget;

		if (b % (1ull << 30) == 0)
			snprintf(mem, sizeof mem, "%lluG", b >> 30);
		else if (b % (1ull << 20) == 0)
			snprintf(mem, sizeof mem, "%lluM", b >> 20);
		else
			snprintf(mem, sizeof mem, "%lluK", b >> 10);
		log_event(LOG_INFO, NULL, "percentiles spill to disk", "memory",
			  mem, "folder", dir, NULL);
	}
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR ||
		       errno == EINVAL)) {
		if (asprintf(&name, "%s/aggregate-pct-XXXXXX", dir) < 0)
			return -1;
		fd = mkostemp(name, O_CLOEXEC);
		if (fd >= 0)
			unlink(name);
		free(name);
	}
	return fd;
}

int pspill_write(const double *v, int64_t n, struct pspill_run *run)
{
	size_t len = sizeof(double) * (size_t)n;
	const char *p = (const char *)v;
	int64_t off = end;

	if (spill_fd() < 0)
		return -1;
	while (len > 0) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = ENOSPC;
			return -1;
		}
		p += w;
		off += w;
		len -= (size_t)w;
	}
	run->off = end;
	run->n = n;
	end = off;
	nruns++;
	return 0;
}

int pspill_read(const struct pspill_run *run, int64_t i, double *out,
		int64_t n)
{
	size_t len = sizeof(double) * (size_t)n;
	int64_t off = run->off + (int64_t)sizeof(double) * i;
	char *p = (char *)out;

	while (len > 0) {
		ssize_t r = pread(fd, p, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		p += r;
		off += r;
		len -= (size_t)r;
	}
	return 0;
}

void pspill_stats(uint64_t *runs, uint64_t *bytes)
{
	*runs = nruns;
	*bytes = (uint64_t)end;
}
