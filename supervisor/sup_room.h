/*
 * sup_room.h - whether the system has room for a run before it starts:
 * shared memory for the rings and descriptors for the providers.  Each
 * check returns 0, or -1 after logging what is free, what is needed and
 * what to do about it, so that a run too big fails at once with a message
 * instead of half-starting.
 */
#ifndef AGG_SUP_ROOM_H
#define AGG_SUP_ROOM_H

#include <stdbool.h>
#include <stdint.h>

/* Where glibc's shm_open() puts POSIX shared memory. */
#define SHM_DIR "/dev/shm"

/*
 * Is there room in SHM_DIR for nrings rings of ring_bytes each?  With
 * failed (a ring could not be made: ENOSPC), only say so, with the
 * numbers, and return -1.
 */
int sup_room_shm(int nrings, uint64_t ring_bytes, bool failed);

/*
 * Are there descriptors enough for nrings providers (main() has raised the
 * soft limit to the hard one)?
 */
int sup_room_fds(int nrings);

#endif
