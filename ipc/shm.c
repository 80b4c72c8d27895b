/*
 * shm.c - anonymous POSIX shared memory (see shm.h).
 *
 * The supervisor maps one segment per ring before forking, so every child
 * shares it.  Invariant: a name exists in /dev/shm only between shm_open()
 * and the shm_unlink() right after it, inside shm_map_anon(); no code path
 * returns while the name still exists.  The only window in which SIGKILL
 * can leave a name behind is the one between those two system calls; the
 * next run's shm_sweep_stale() removes such a name, since its pid is dead.
 * (memfd_create would need no name at all, but its memory is not counted
 * against /dev/shm: a container's small /dev/shm would no longer be the
 * limit users see and size.)
 *
 * The segment's pages are reserved at creation: tmpfs otherwise hands them
 * out at first touch, and a page it cannot give is SIGBUS in the provider
 * that writes it, with no word on why.
 *
 * Names hold the creating pid plus a per-process counter, opened with
 * O_EXCL, so two processes (or two rings of one process) never share a
 * segment by accident; a leftover of a dead process with a recycled pid is
 * skipped by trying the next counter.
 */
#include "shm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Tries before giving up on names taken by somebody else. */
#define SHM_NAME_TRIES 64

/* Where glibc's shm_open() keeps the names. */
#define SHM_DIR "/dev/shm"

#ifdef AGG_TESTING
/*
 * Test builds: AGG_FAULT_SHM=kill makes the process SIGKILL itself with a
 * fresh name still in /dev/shm, the window shm_sweep_stale() heals.
 */
static void shm_fault_opened(void)
{
	const char *f = getenv("AGG_FAULT_SHM");

	if (f != NULL && strcmp(f, "kill") == 0)
		raise(SIGKILL);
}
#else
static void shm_fault_opened(void)
{
}
#endif

/*
 * Reserve the pages of fd's first len bytes.  Returns 0 (reserved, or the
 * filesystem cannot reserve), or -1 with errno (ENOSPC: no room).
 */
static int shm_reserve(int fd, size_t len)
{
	int rc;

	do
		rc = posix_fallocate(fd, 0, (off_t)len);
	while (rc == EINTR);
	if (rc == 0 || rc == EOPNOTSUPP || rc == ENOSYS || rc == EINVAL)
		return 0;
	errno = rc;
	return -1;
}

static atomic_uint shm_counter;

/* Create a name nobody else holds and open it; the fd, or -1 with errno. */
static int shm_open_fresh(char *name, size_t name_size)
{
	int fd = -1;
	int tries;

	for (tries = 0; tries < SHM_NAME_TRIES; tries++) {
		unsigned n = atomic_fetch_add(&shm_counter, 1);

		snprintf(name, name_size, SHM_NAME_PREFIX "%ld-%u",
			 (long)getpid(), n);
		fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	return fd;
}

void *shm_map_anon(size_t len)
{
	char name[64];
	void *map = NULL;
	int saved_errno = 0;
	int fd;

	if (len == 0) {
		errno = EINVAL;
		return NULL;
	}
	fd = shm_open_fresh(name, sizeof(name));
	if (fd < 0)
		return NULL;
	shm_fault_opened();
	/*
	 * The name goes at once, before anything that takes time: the fd is
	 * all we need, and a process killed from here on leaves nothing in
	 * /dev/shm.
	 */
	if (shm_unlink(name) < 0) {
		saved_errno = errno;
		goto out_close;
	}
	if (ftruncate(fd, (off_t)len) < 0 || shm_reserve(fd, len) < 0) {
		saved_errno = errno;
		goto out_close;
	}
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		saved_errno = errno;
		map = NULL;
	}
out_close:
	if (close(fd) < 0 && saved_errno == 0)
		saved_errno = errno;
	if (saved_errno != 0 && map != NULL) {
		munmap(map, len);
		map = NULL;
	}
	if (map == NULL)
		errno = saved_errno;
	return map;
}

int shm_unmap(void *addr, size_t len)
{
	return munmap(addr, len);
}

/* Is name one of ours ("aggregate-PID-N") and PID dead?  Sets *pid. */
static int shm_name_stale(const char *name, long *pid)
{
	const char *prefix = &SHM_NAME_PREFIX[1]; /* without the slash */
	size_t plen = strlen(prefix);
	char *end;

	if (strncmp(name, prefix, plen) != 0)
		return 0;
	*pid = strtol(name + plen, &end, 10);
	if (end == name + plen || *end != '-' || *pid <= 0 ||
	    *pid == (long)getpid())
		return 0;
	for (end++; *end >= '0' && *end <= '9'; end++)
		;
	if (*end != '\0')
		return 0;
	/* EPERM: alive, somebody else's. */
	return kill((pid_t)*pid, 0) < 0 && errno == ESRCH;
}

int shm_sweep_stale(void)
{
	DIR *d = opendir(SHM_DIR);
	struct dirent *e;
	char name[300];
	int removed = 0;
	long pid;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (!shm_name_stale(e->d_name, &pid))
			continue;
		snprintf(name, sizeof name, "/%s", e->d_name);
		if (shm_unlink(name) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}
