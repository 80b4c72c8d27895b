/*
 * ring.h - single-producer single-consumer frame ring in shared memory.
 *
 * One ring per provider.  The supervisor creates it before forking; the
 * provider process is its only producer, the aggregator its only consumer.
 * A dead or hostile producer can therefore only ever damage its own ring,
 * and the consumer validates every frame header before using it.
 *
 * Frames are variable-length and 8-byte aligned:
 *
 *   struct ring_frame_hdr { u32 len; u16 type; u16 attempt; }  then len bytes
 *
 * occupying RING_ALIGN(8 + len) bytes.  A frame never crosses the end of the
 * data area: when it would, the producer first fills the rest with a PAD
 * frame (consumed silently by ring_next).  The producer writes a frame then
 * publishes it with one release store of its write position; the consumer
 * loads that position with acquire.  A producer that dies mid-frame has
 * therefore published nothing of it.
 *
 * Waiting: each side spins briefly, then sets its "sleeping" flag and sleeps
 * on an eventfd; the other side writes that eventfd only when it sees the
 * flag set, so a busy ring costs no system call per frame.
 *
 * Positions are 64-bit and only ever grow; the data offset is pos & (cap-1).
 */
#ifndef AGG_RING_H
#define AGG_RING_H

#include <stddef.h>
#include <stdint.h>

enum ring_frame_type {
	RING_RECORDS = 1,   /* u32 count, then count records (record.h) */
	RING_CHECKPOINT,    /* u64 records so far, u64 rejects so far,
			       u64 filtered so far (dropped by a `where`),
			       token */
	RING_REJECT,        /* rejected input, see providers/runtime.h */
	RING_DONE,          /* the provider read all its input; u64
			       filtered so far */
	RING_ERROR,         /* UTF-8 message; the provider exits after it */
	RING_PAD,           /* filler up to the end of the data area */
	RING_GROUPS,        /* as RECORDS, each record a group's states
			       (common/pushdown.h) */
};

struct ring_frame_hdr {
	uint32_t len;       /* payload bytes, header excluded */
	uint16_t type;      /* enum ring_frame_type */
	uint16_t attempt;   /* the producer's attempt number */
};

#define RING_ALIGN(n) (((n) + 7u) & ~(size_t)7u)

/* Smallest and largest capacity accepted by ring_create(). */
#define RING_MIN_CAPACITY (64u * 1024u)
#define RING_MAX_CAPACITY (1ull << 34)

struct ring_shared;

/*
 * Process-local handle.  After fork each process uses its own copy; the
 * cached positions below belong to the side that uses them.
 */
struct ring {
	struct ring_shared *sh;  /* the mapping (header + data) */
	unsigned char *data;     /* sh's data area */
	size_t cap;              /* data bytes, a power of two */
	size_t map_len;          /* bytes mapped */
	int data_fd;             /* eventfd: producer -> sleeping consumer */
	int space_fd;            /* eventfd: consumer -> sleeping producer */
	uint64_t wpos;           /* producer: next write position */
	uint64_t rpos_cache;     /* producer: last seen read position */
	uint64_t rpos;           /* consumer: next read position */
	uint64_t wpos_cache;     /* consumer: last seen write position */
	size_t cur_len;          /* consumer: bytes of the frame being read */
};

/*
 * Create a ring of at least capacity data bytes (rounded up to a power of
 * two, clamped to the limits above) in a fresh POSIX shared-memory object,
 * mode 0600, unlinked as soon as it is opened, its memory reserved (see
 * shm_map_anon).  Returns 0, or -1 with errno: ENOSPC when the shared
 * memory filesystem has no room for it.
 */
int ring_create(struct ring *r, size_t capacity);

/*
 * Bytes of shared memory ring_create(r, capacity) maps and reserves: the
 * rounded capacity plus the shared header.
 */
size_t ring_map_size(size_t capacity);

/* Unmap and close.  Safe on a zeroed or already destroyed ring. */
void ring_destroy(struct ring *r);

/*
 * Largest payload one frame may carry in this ring: a quarter of it, and at
 * most 2 GiB so that the length fits its u32 header field.
 */
size_t ring_max_payload(const struct ring *r);

/* --- producer side --------------------------------------------------- */

/*
 * Take over the producer side in a freshly forked producer: load the
 * shared positions into the local handle.  Call once before anything else.
 */
void ring_producer_attach(struct ring *r);

/*
 * Reserve room for a frame of len payload bytes (len <= ring_max_payload)
 * and return a pointer to its payload, waiting for the consumer for at most
 * timeout_ms milliseconds (-1: forever).  Returns NULL with errno = EAGAIN
 * on timeout, so that the caller can send a heartbeat and try again.
 */
void *ring_reserve(struct ring *r, size_t len, int timeout_ms);

/*
 * Publish the frame reserved last, with its final payload length (at most
 * the reserved one), type and attempt.  Wakes the consumer if it sleeps.
 */
void ring_commit(struct ring *r, size_t len, enum ring_frame_type type,
		 uint16_t attempt);

/* Convenience: reserve, copy, commit.  Same errors as ring_reserve. */
int ring_send(struct ring *r, enum ring_frame_type type, uint16_t attempt,
	      const void *payload, size_t len, int timeout_ms);

/* --- consumer side --------------------------------------------------- */

/*
 * Look at the next frame.  Returns 1 and fills *hdr and *payload (pointing
 * into shared memory: copy before trusting it twice), 0 if the ring is
 * empty, or -1 if the producer has published something impossible (a
 * position past the capacity, a bad length or type).  PAD frames are
 * skipped here.  The frame stays in the ring until ring_consume().
 */
int ring_next(struct ring *r, struct ring_frame_hdr *hdr,
	      const unsigned char **payload);

/* Release the frame returned by the last ring_next(). */
void ring_consume(struct ring *r);

/*
 * Discard everything published so far (after the producer died).  The ring
 * is then empty and ready for the next producer attempt.
 */
void ring_reset(struct ring *r);

/*
 * Before sleeping in poll() on ring_consumer_fd(): set the sleeping flag and
 * look again.  Returns 1 if a frame arrived meanwhile (do not sleep), 0 if
 * it is safe to sleep.
 */
int ring_consumer_prepare_sleep(struct ring *r);

/* The eventfd the consumer polls for readability while it sleeps. */
int ring_consumer_fd(const struct ring *r);

/* After poll() reported the fd readable: clear it and the sleeping flag. */
void ring_consumer_woken(struct ring *r);

/*
 * Consumer: the part of the ring (0 to 1) published and not yet consumed,
 * as the producer's position says now.  For --trace's samples.
 */
double ring_fill(const struct ring *r);

#endif
