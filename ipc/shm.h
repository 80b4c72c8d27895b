/*
 * shm.h - anonymous POSIX shared memory that never outlives its users.
 *
 * A segment is created with shm_open under a fresh name and unlinked at
 * once, then sized, reserved, mapped MAP_SHARED, and its descriptor
 * closed: only the mapping remains, inherited by every child forked
 * afterwards.  When the last process holding the mapping exits, however it
 * exits (SIGKILL included), the memory goes away.  A kill between open and
 * unlink leaves an empty name, which shm_sweep_stale() removes later.
 */
#ifndef AGG_SHM_H
#define AGG_SHM_H

#include <stddef.h>

/*
 * Names are SHM_NAME_PREFIX "<creating pid>-<counter>", so that a test (or
 * an operator) can look for leftovers of one process in /dev/shm.
 */
#define SHM_NAME_PREFIX "/aggregate-"

/*
 * Map len bytes (len > 0) of fresh zeroed shared memory, mode 0600, every
 * page reserved up front (posix_fallocate), so that a full /dev/shm is an
 * error here, ENOSPC, rather than SIGBUS at the first write to a page that
 * cannot be had.  A filesystem that cannot reserve (EOPNOTSUPP) gets the
 * memory unreserved, as before.  Returns the mapping, or NULL with errno
 * set; on failure nothing is left mapped, open or named.
 */
void *shm_map_anon(size_t len);

/*
 * Remove the names a process killed between shm_open and shm_unlink left
 * in /dev/shm: every SHM_NAME_PREFIX name whose creating pid is no longer
 * alive.  Returns how many were removed.
 */
int shm_sweep_stale(void);

/* Unmap a segment from shm_map_anon().  Returns 0, or -1 with errno. */
int shm_unmap(void *addr, size_t len);

#endif
