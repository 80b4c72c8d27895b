/*
 * shm.c - anonymous POSIX shared memory (see shm.h).
 *
 * The supervisor maps one segment per ring before forking, so every child
 * shares it.  Invariant: a name exists in /dev/shm only between shm_open()
 * and the shm_unlink() right after it, inside shm_map_anon(); no code path
 * returns while the name still exists.  The only window in which SIGKILL
 * can leave a name behind is the one between those two system calls.
 *
 * Names hold the creating pid plus a per-process counter, opened with
 * O_EXCL, so two processes (or two rings of one process) never share a
 * segment by accident; a leftover of a dead process with a recycled pid is
 * skipped by trying the next counter.
 */
#include "shm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Tries before giving up on names taken by somebody else. */
#define SHM_NAME_TRIES 64

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
	/*
	 * The name goes at once, before anything that takes time: the fd is
	 * all we need, and a process killed from here on leaves nothing in
	 * /dev/shm.
	 */
	if (shm_unlink(name) < 0) {
		saved_errno = errno;
		goto out_close;
	}
	if (ftruncate(fd, (off_t)len) < 0) {
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
