/*
 * ring.c - single-producer single-consumer frame ring in shared memory.
 *
 * How it fits: the supervisor creates one ring per provider before forking
 * (ring_create), the provider process is its producer, the aggregator its
 * consumer.  Both inherit the mapping and the two eventfds through fork;
 * nothing is ever exec'd, so the descriptors are deliberately not
 * close-on-exec.
 *
 * Shared layout: struct ring_shared (positions, sleeping flags, capacity,
 * each on its own cache line so the two sides never write the same line)
 * followed by cap data bytes.
 *
 * Invariants (for a well-behaved producer):
 *   - read_pos <= write_pos <= read_pos + cap; both only grow; both are
 *     multiples of 8, so every frame header is 8-aligned and at least 8
 *     bytes remain before the end of the data area at any position.
 *   - Bytes in [read_pos, write_pos) are whole published frames; a frame
 *     never crosses the end of the data area (PAD frames fill the gap).
 *   - The producer only writes bytes in [write_pos, read_pos + cap) and
 *     publishes them with one release store of write_pos; the consumer only
 *     reads bytes below the write_pos it loaded with acquire, and gives
 *     them back with one release store of read_pos.
 *
 * The consumer trusts none of these: every published position and header
 * is checked against the consumer's own private copy of the capacity and
 * read position before anything is dereferenced, so a hostile or crashed
 * producer can only make ring_next() return -1.
 *
 * Sleeping (a Dekker handshake, so no wake-up is ever lost):
 *   sleeper: flag = 1; fence(seq_cst); look again; sleep on its eventfd
 *   waker:   publish position; fence(seq_cst); if flag: exchange(flag, 0)
 *            and write the eventfd
 *   With both fences sequentially consistent, either the sleeper sees the
 *   new position or the waker sees the flag.  Wake-ups may be spurious;
 *   every sleeper looks again after waking.  A busy ring costs a plain
 *   store, a fence and a load per frame: no system call, no atomic
 *   read-modify-write.
 */
#include "ring.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "shm.h"
#ifdef AGG_TESTING
#include "ring_test.h"
#endif

struct ring_shared {
	alignas(64) _Atomic uint64_t write_pos;  /* producer stores */
	alignas(64) _Atomic uint64_t read_pos;   /* consumer stores */
	alignas(64) atomic_uint consumer_sleeping;
	alignas(64) atomic_uint producer_sleeping;
	alignas(64) uint64_t capacity;  /* set once by ring_create */
};

static_assert(sizeof(struct ring_shared) % 64 == 0,
	      "the data area must start on a cache line");
static_assert(sizeof(struct ring_frame_hdr) == 8,
	      "frames are 8-byte aligned and their header is 8 bytes");

/* Busy-wait rounds with a pause instruction before yielding, then sleeping. */
#define RING_SPINS 256
#define RING_YIELDS 4

/* A frame's length must fit its u32 header field. */
#define RING_PAYLOAD_LIMIT ((size_t)1 << 31)

static void ring_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Write the eventfd.  EAGAIN means the counter is saturated: still readable. */
static void ring_kick(int fd)
{
	uint64_t one = 1;

	while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

/* Empty the eventfd so that poll() blocks again. */
static void ring_drain(int fd)
{
	uint64_t count;

	while (read(fd, &count, sizeof(count)) < 0 && errno == EINTR)
		;
}

/* The data capacity ring_create() makes of a requested one. */
static uint64_t ring_capacity(size_t capacity)
{
	uint64_t cap = RING_MIN_CAPACITY;

	if (capacity > RING_MAX_CAPACITY)
		capacity = RING_MAX_CAPACITY;
	while (cap < capacity)
		cap <<= 1;
	return cap;
}

size_t ring_map_size(size_t capacity)
{
	return sizeof(struct ring_shared) + (size_t)ring_capacity(capacity);
}

int ring_create(struct ring *r, size_t capacity)
{
	uint64_t cap = ring_capacity(capacity);
	int saved_errno;

	memset(r, 0, sizeof(*r));
	r->data_fd = -1;
	r->space_fd = -1;
	r->cap = (size_t)cap;
	r->map_len = ring_map_size(capacity);
	r->sh = shm_map_anon(r->map_len);
	if (r->sh == NULL) {
		saved_errno = errno;
		goto fail;
	}
	r->data_fd = eventfd(0, EFD_NONBLOCK);
	if (r->data_fd < 0) {
		saved_errno = errno;
		goto out_unmap;
	}
	r->space_fd = eventfd(0, EFD_NONBLOCK);
	if (r->space_fd < 0) {
		saved_errno = errno;
		goto out_close_data;
	}
	/* Fresh shared memory is zeroed: positions 0, nobody sleeping. */
	r->sh->capacity = cap;
	r->data = (unsigned char *)r->sh + sizeof(struct ring_shared);
	return 0;

out_close_data:
	close(r->data_fd);
out_unmap:
	shm_unmap(r->sh, r->map_len);
fail:
	memset(r, 0, sizeof(*r));
	r->data_fd = -1;
	r->space_fd = -1;
	errno = saved_errno;
	return -1;
}

void ring_destroy(struct ring *r)
{
	/* A zeroed handle has fds 0: only a mapped ring owns its fds. */
	if (r->sh == NULL)
		return;
	shm_unmap(r->sh, r->map_len);
	if (r->data_fd >= 0)
		close(r->data_fd);
	if (r->space_fd >= 0)
		close(r->space_fd);
	memset(r, 0, sizeof(*r));
	r->data_fd = -1;
	r->space_fd = -1;
}

size_t ring_max_payload(const struct ring *r)
{
	size_t max = r->cap / 4;

	return max < RING_PAYLOAD_LIMIT ? max : RING_PAYLOAD_LIMIT;
}

/* --- producer side --------------------------------------------------- */

void ring_producer_attach(struct ring *r)
{
	assert(r->sh != NULL && r->sh->capacity == r->cap);
	r->wpos = atomic_load_explicit(&r->sh->write_pos, memory_order_acquire);
	r->rpos_cache = atomic_load_explicit(&r->sh->read_pos,
					     memory_order_acquire);
	atomic_store_explicit(&r->sh->producer_sleeping, 0,
			      memory_order_relaxed);
}

/* Is there room up to position end?  Refreshes the cached read position. */
static int ring_space_upto(struct ring *r, uint64_t end)
{
	r->rpos_cache = atomic_load_explicit(&r->sh->read_pos,
					     memory_order_acquire);
	return end - r->rpos_cache <= r->cap;
}

/*
 * Milliseconds left until deadline (CLOCK_MONOTONIC), rounded up.  ipc/ is
 * the bottom floor and does not use common/clock.h: a timespec deadline,
 * rounded up and failing safe, is a different thing from a clock read.
 */
static int ring_ms_left(const struct timespec *deadline)
{
	struct timespec now;
	int64_t ns;

	if (clock_gettime(CLOCK_MONOTONIC, &now) < 0)
		return 0;
	ns = (int64_t)(deadline->tv_sec - now.tv_sec) * 1000000000
	     + (deadline->tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	if (ns / 1000000 >= INT32_MAX)
		return INT32_MAX;
	return (int)((ns + 999999) / 1000000);
}

/*
 * Wait until the consumer has freed everything below end - cap.  Spins,
 * yields, then sleeps on space_fd.  Returns 0, or -1 with errno (EAGAIN
 * when timeout_ms ran out).
 */
static int ring_wait_space(struct ring *r, uint64_t end, int timeout_ms)
{
	struct timespec deadline = { 0, 0 };
	struct pollfd pfd = { .fd = r->space_fd, .events = POLLIN };
	int i;

	for (i = 0; i < RING_SPINS; i++) {
		ring_cpu_relax();
		if (ring_space_upto(r, end))
			return 0;
	}
	for (i = 0; i < RING_YIELDS; i++) {
		sched_yield();
		if (ring_space_upto(r, end))
			return 0;
	}
	if (timeout_ms > 0) {
		if (clock_gettime(CLOCK_MONOTONIC, &deadline) < 0)
			return -1;
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
	}
	for (;;) {
		int wait_ms = timeout_ms < 0 ? -1
			      : timeout_ms == 0 ? 0 : ring_ms_left(&deadline);
		int rc;

		atomic_store(&r->sh->producer_sleeping, 1);
		atomic_thread_fence(memory_order_seq_cst);
		if (ring_space_upto(r, end))
			break;
		if (wait_ms == 0) {
			errno = EAGAIN;
			goto out_awake;
		}
		rc = poll(&pfd, 1, wait_ms);
		if (rc < 0 && errno != EINTR)
			goto out_awake;
		if (rc > 0)
			ring_drain(r->space_fd);
	}
	atomic_store_explicit(&r->sh->producer_sleeping, 0,
			      memory_order_relaxed);
	return 0;

out_awake:
	/* A wake-up racing with this leaves the eventfd readable: harmless. */
	atomic_store_explicit(&r->sh->producer_sleeping, 0,
			      memory_order_relaxed);
	return -1;
}

void *ring_reserve(struct ring *r, size_t len, int timeout_ms)
{
	size_t need = RING_ALIGN(sizeof(struct ring_frame_hdr) + len);
	size_t off = (size_t)(r->wpos & (r->cap - 1));
	size_t tail = r->cap - off;
	size_t pad = need > tail ? tail : 0;
	uint64_t end = r->wpos + pad + need;

	assert(len <= ring_max_payload(r));
	assert(tail >= sizeof(struct ring_frame_hdr));
	if (end - r->rpos_cache > r->cap && !ring_space_upto(r, end)
	    && ring_wait_space(r, end, timeout_ms) < 0)
		return NULL;
	if (pad != 0) {
		/* Published together with the frame by ring_commit(). */
		struct ring_frame_hdr h = {
			.len = (uint32_t)(pad - sizeof(h)),
			.type = RING_PAD,
			.attempt = 0,
		};

		memcpy(r->data + off, &h, sizeof(h));
		r->wpos += pad;
		off = 0;
	}
	return r->data + off + sizeof(struct ring_frame_hdr);
}

void ring_commit(struct ring *r, size_t len, enum ring_frame_type type,
		 uint16_t attempt)
{
	size_t off = (size_t)(r->wpos & (r->cap - 1));
	struct ring_frame_hdr h = {
		.len = (uint32_t)len,
		.type = (uint16_t)type,
		.attempt = attempt,
	};

	assert(len <= ring_max_payload(r));
	assert(type >= RING_RECORDS && type <= RING_GROUPS && type != RING_PAD);
	memcpy(r->data + off, &h, sizeof(h));
	r->wpos += RING_ALIGN(sizeof(h) + len);
	atomic_store_explicit(&r->sh->write_pos, r->wpos,
			      memory_order_release);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&r->sh->consumer_sleeping,
				 memory_order_relaxed)
	    && atomic_exchange(&r->sh->consumer_sleeping, 0))
		ring_kick(r->data_fd);
}

int ring_send(struct ring *r, enum ring_frame_type type, uint16_t attempt,
	      const void *payload, size_t len, int timeout_ms)
{
	void *p = ring_reserve(r, len, timeout_ms);

	if (p == NULL)
		return -1;
	if (len != 0)
		memcpy(p, payload, len);
	ring_commit(r, len, type, attempt);
	return 0;
}

/* --- consumer side --------------------------------------------------- */

/* Give bytes below rpos back to the producer and wake it if it sleeps. */
static void ring_publish_read(struct ring *r)
{
	atomic_store_explicit(&r->sh->read_pos, r->rpos, memory_order_release);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&r->sh->producer_sleeping,
				 memory_order_relaxed)
	    && atomic_exchange(&r->sh->producer_sleeping, 0))
		ring_kick(r->space_fd);
}

int ring_next(struct ring *r, struct ring_frame_hdr *hdr,
	      const unsigned char **payload)
{
	int refreshed = 0;

	assert(r->cur_len == 0 || r->wpos_cache - r->rpos >= r->cur_len);
	for (;;) {
		uint64_t avail = r->wpos_cache - r->rpos;
		struct ring_frame_hdr h;
		size_t off, tail;
		uint64_t size;

		if (avail == 0) {
			/*
			 * One fresh look per call, so that a producer that
			 * keeps publishing PADs cannot keep us here forever.
			 */
			if (refreshed)
				return 0;
			refreshed = 1;
			r->wpos_cache = atomic_load_explicit(
				&r->sh->write_pos, memory_order_acquire);
			avail = r->wpos_cache - r->rpos;
			if (avail == 0)
				return 0;
		}
		/* rpos is ours and 8-aligned, so this also aligns wpos. */
		if (avail > r->cap || (avail & 7) != 0)
			return -1;
		off = (size_t)(r->rpos & (r->cap - 1));
		tail = r->cap - off;
		memcpy(&h, r->data + off, sizeof(h));
		size = RING_ALIGN(sizeof(h) + (uint64_t)h.len);
		if (size > avail || size > tail)
			return -1;
		if (h.type < RING_RECORDS || h.type > RING_GROUPS)
			return -1;
		if (h.type == RING_PAD) {
			r->rpos += size;
			ring_publish_read(r);
			continue;
		}
		if (h.len > ring_max_payload(r))
			return -1;
		*hdr = h;
		*payload = r->data + off + sizeof(h);
		r->cur_len = (size_t)size;
		return 1;
	}
}

void ring_consume(struct ring *r)
{
	assert(r->cur_len != 0);
	r->rpos += r->cur_len;
	r->cur_len = 0;
	ring_publish_read(r);
}

void ring_reset(struct ring *r)
{
	uint64_t w = atomic_load_explicit(&r->sh->write_pos,
					  memory_order_acquire);
	uint64_t pos = r->rpos;

	/* Keep a published position only if it is one a producer could use. */
	if (w - r->rpos <= r->cap && (w & 7) == 0)
		pos = w;
	atomic_store_explicit(&r->sh->write_pos, pos, memory_order_relaxed);
	atomic_store_explicit(&r->sh->read_pos, pos, memory_order_relaxed);
	atomic_store_explicit(&r->sh->consumer_sleeping, 0,
			      memory_order_relaxed);
	atomic_store_explicit(&r->sh->producer_sleeping, 0,
			      memory_order_relaxed);
	/* The producer may have scribbled here too; our copy is the truth. */
	r->sh->capacity = r->cap;
	atomic_thread_fence(memory_order_seq_cst);
	ring_drain(r->data_fd);
	ring_drain(r->space_fd);
	r->rpos = pos;
	r->wpos_cache = pos;
	r->cur_len = 0;
}

int ring_consumer_prepare_sleep(struct ring *r)
{
	atomic_store(&r->sh->consumer_sleeping, 1);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&r->sh->write_pos, memory_order_acquire)
	    != r->rpos) {
		atomic_store_explicit(&r->sh->consumer_sleeping, 0,
				      memory_order_relaxed);
		return 1;
	}
	return 0;
}

int ring_consumer_fd(const struct ring *r)
{
	return r->data_fd;
}

void ring_consumer_woken(struct ring *r)
{
	ring_drain(r->data_fd);
	atomic_store_explicit(&r->sh->consumer_sleeping, 0,
			      memory_order_relaxed);
}

double ring_fill(const struct ring *r)
{
	uint64_t w = atomic_load_explicit(&r->sh->write_pos,
					  memory_order_relaxed);

	/* The producer's position is not trusted: clamp to the capacity. */
	if (w < r->rpos)
		return 0.0;
	return w - r->rpos >= r->cap ? 1.0 : (double)(w - r->rpos) / (double)r->cap;
}

/* --- test hooks ------------------------------------------------------ */

#ifdef AGG_TESTING
void ring_test_set_positions(struct ring *r, uint64_t write_pos,
			     uint64_t read_pos)
{
	atomic_store(&r->sh->write_pos, write_pos);
	atomic_store(&r->sh->read_pos, read_pos);
}

void ring_test_positions(const struct ring *r, uint64_t *write_pos,
			 uint64_t *read_pos)
{
	*write_pos = atomic_load(&r->sh->write_pos);
	*read_pos = atomic_load(&r->sh->read_pos);
}

void ring_test_flags(const struct ring *r, unsigned *consumer_sleeping,
		     unsigned *producer_sleeping)
{
	*consumer_sleeping = atomic_load(&r->sh->consumer_sleeping);
	*producer_sleeping = atomic_load(&r->sh->producer_sleeping);
}
#endif
