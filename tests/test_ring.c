/*
 * test_ring.c - unit tests of the shared-memory frame ring (ipc/ring.c).
 *
 * In one process: sizes, empty and full rings, frames filling the data
 * area exactly, PAD insertion at every distance from the end, zero-length
 * and largest payloads, reserve timeouts, the sleeping handshake, and a
 * model-checked random run.  Across fork: a producer streaming millions of
 * frames of random length (0..4096 bytes) carrying sequence numbers and
 * checksums through a 64 KiB ring, with forced rendezvous so that both the
 * consumer and the producer really sleep and are woken many times; a
 * producer killed with SIGKILL mid-stream, after which only whole frames
 * are readable and ring_reset hands an empty ring to the next producer.
 * A hostile producer (test hooks of ring_test.h) publishes impossible
 * positions, lengths and types and scribbles over the whole mapping:
 * ring_next must answer -1 and never read outside the ring.
 *
 * Every child is reaped and checked; no test leaves a name in /dev/shm.
 */
#ifndef AGG_TESTING
#error "test_ring.c uses the ring's test hooks: build with -DAGG_TESTING"
#endif

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../ipc/ring.h"
#include "../ipc/ring_test.h"
#include "../ipc/shm.h"

#define CAP (64u * 1024u)
#define HDR ((size_t)sizeof(struct ring_frame_hdr))

/* Frames between two forced rendezvous: 8 * RENDEZVOUS must exceed CAP. */
#define RENDEZVOUS 16384u

static int asan_scale(void)
{
	const char *s = getenv("AGG_TEST_SCALE");

	return s != NULL && strcmp(s, "asan") == 0;
}

/* --- deterministic frame contents --------------------------------------- */

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

#define CK_MUL 0xff51afd7ed558ccdull

/* Fold four checksum lanes and the length into one word. */
static uint64_t ck_final(const uint64_t h[4], size_t len)
{
	uint64_t x = h[0];
	int i;

	for (i = 1; i < 4; i++)
		x = (x ^ (x >> 31) ^ h[i]) * CK_MUL;
	return (x ^ (x >> 29) ^ len) * CK_MUL;
}

/*
 * Payload of frame seq, len bytes: the 16-byte head {seq, checksum of the
 * rest} (truncated when len < 16), then filler words derived from seq.
 * The checksum runs four lanes of h = (h ^ word) * odd: each step is a
 * bijection, so any single changed word is always caught, and the lanes
 * keep the multiplications from forming one long dependency chain (10M
 * frames of up to 4 KiB must stay fast).
 */
static void frame_fill(unsigned char *p, size_t len, uint64_t seq)
{
	uint64_t head[2], h[4] = { 0x243f6a8885a308d3ull, seq, ~seq, len };
	uint64_t w = seq * 0x9e3779b97f4a7c15ull + 1;
	size_t off = 16;

	for (; off + 32 <= len; off += 32) {
		uint64_t v[4] = { w, w + 0x632be59bd9b4e019ull,
				  w + 0x1bd11bdaa9fc1a22ull,
				  w ^ 0x5851f42d4c957f2dull };

		memcpy(p + off, v, 32);
		h[0] = (h[0] ^ v[0]) * CK_MUL;
		h[1] = (h[1] ^ v[1]) * CK_MUL;
		h[2] = (h[2] ^ v[2]) * CK_MUL;
		h[3] = (h[3] ^ v[3]) * CK_MUL;
		w = v[1] ^ (v[1] >> 17);
	}
	for (; off < len; off += 8) {
		uint64_t t = 0;
		size_t n = len - off < 8 ? len - off : 8;

		memcpy(p + off, &w, n);
		memcpy(&t, &w, n);
		h[0] = (h[0] ^ t) * CK_MUL;
		w = w * 3 + 1;
	}
	head[0] = seq;
	head[1] = ck_final(h, len);
	memcpy(p, head, len < 16 ? len : 16);
}

/* 1 if p[0..len) is exactly what frame_fill wrote for seq. */
static int frame_check(const unsigned char *p, size_t len, uint64_t seq)
{
	uint64_t head[2], h[4] = { 0x243f6a8885a308d3ull, seq, ~seq, len };
	size_t off = 16;

	for (; off + 32 <= len; off += 32) {
		uint64_t v[4];

		memcpy(v, p + off, 32);
		h[0] = (h[0] ^ v[0]) * CK_MUL;
		h[1] = (h[1] ^ v[1]) * CK_MUL;
		h[2] = (h[2] ^ v[2]) * CK_MUL;
		h[3] = (h[3] ^ v[3]) * CK_MUL;
	}
	for (; off < len; off += 8) {
		uint64_t t = 0;

		memcpy(&t, p + off, len - off < 8 ? len - off : 8);
		h[0] = (h[0] ^ t) * CK_MUL;
	}
	head[0] = seq;
	head[1] = ck_final(h, len);
	return memcmp(p, head, len < 16 ? len : 16) == 0;
}

/* Length of the next frame of a stream: 0..max, both sides draw the same. */
static size_t frame_len(uint64_t *s, size_t max)
{
	return (size_t)(xorshift(s) % (max + 1));
}

/*
 * Length of the next frame of a forked stream, 0..4096: one frame in 16
 * anywhere in that range, the others 0..128.  Millions of frames (where
 * races at frame boundaries hide) then move a few hundred MB rather than
 * tens of GB, which cross-core cache traffic would make take a minute.
 */
static size_t stream_len(uint64_t *s)
{
	uint64_t x = xorshift(s);

	return (size_t)((x >> 60) == 0 ? x % 4097 : x % 129);
}

/* --- process helpers ---------------------------------------------------- */

/* Count /dev/shm names that a ring created by pid would carry. */
static int shm_leftovers(pid_t pid)
{
	char prefix[64];
	struct dirent *e;
	DIR *d = opendir("/dev/shm");
	int n = 0;

	cr_assert_not_null(d, "opendir /dev/shm: %s", strerror(errno));
	snprintf(prefix, sizeof(prefix), "%s%ld-", SHM_NAME_PREFIX + 1,
		 (long)pid);
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static void expect_no_children(void)
{
	cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1, "a child is left");
	cr_assert_eq(errno, ECHILD);
}

static void expect_clean(void)
{
	expect_no_children();
	cr_assert_eq(shm_leftovers(getpid()), 0, "a ring name is left in /dev/shm");
}

/* Fork a child that dies with us; in the child, returns 0. */
static pid_t fork_child(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(111);
	}
	return pid;
}

static int wait_exit_status(pid_t pid)
{
	int status;

	cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid: %s",
		     strerror(errno));
	return status;
}

/*
 * A hang (a lost wake-up) must fail rather than stall the suite: SIGALRM
 * kills this test's process, and the children die with it (PDEATHSIG).
 * Criterion's own .timeout leaks in its runner under --jobs 2.
 */
static void watchdog(void)
{
	alarm(300);
}

static uint64_t random_u64(void)
{
	uint64_t x;

	cr_assert_eq(getrandom(&x, sizeof(x), 0), (ssize_t)sizeof(x));
	return x;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Consumer: wait for a frame, spinning then sleeping; counts the sleeps. */
static int next_blocking(struct ring *r, struct ring_frame_hdr *h,
			 const unsigned char **p, unsigned long *sleeps)
{
	for (;;) {
		struct pollfd pfd = { .fd = ring_consumer_fd(r),
				      .events = POLLIN };
		int rc, spin;

		/* As the aggregator would: spin, yield, then sleep. */
		for (spin = 0; spin < 512 + 4; spin++) {
			rc = ring_next(r, h, p);
			if (rc != 0)
				return rc;
			if (spin < 512)
				cpu_relax();
			else
				sched_yield();
		}
		if (ring_consumer_prepare_sleep(r))
			continue;
		(*sleeps)++;
		rc = poll(&pfd, 1, -1);
		if (rc < 0 && errno != EINTR)
			return -2;
		if (rc > 0)
			ring_consumer_woken(r);
	}
}

/* --- single-process tests ----------------------------------------------- */

Test(ring, create_sizes_and_destroy)
{
	const struct { size_t ask, cap; } sizes[] = {
		{ 0, CAP }, { 1, CAP }, { CAP - 1, CAP }, { CAP, CAP },
		{ CAP + 1, 2 * CAP }, { 4u << 20, 4u << 20 },
		{ (4u << 20) + 8, 8u << 20 },
	};
	struct ring zero;
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct ring r;
		int fd;

		cr_assert_eq(ring_create(&r, sizes[i].ask), 0, "create %zu: %s",
			     sizes[i].ask, strerror(errno));
		cr_assert_eq(r.cap, sizes[i].cap);
		cr_assert_eq(ring_max_payload(&r), sizes[i].cap / 4);
		cr_assert_eq(shm_leftovers(getpid()), 0);
		cr_assert_eq((uintptr_t)r.data % 64, 0);
		cr_assert_eq(ring_consumer_fd(&r), r.data_fd);
		ring_destroy(&r);
		cr_assert_null(r.sh);
		ring_destroy(&r);
		/* Both eventfds were closed: the next fd is the lowest again. */
		fd = open("/dev/null", O_RDONLY);
		cr_assert(fd >= 0);
		cr_assert_lt(fd, 10, "descriptors leak: got %d", fd);
		close(fd);
	}
	memset(&zero, 0, sizeof(zero));
	ring_destroy(&zero);
	cr_assert_neq(fcntl(0, F_GETFD), -1, "destroying a zeroed ring closed fd 0");
	expect_clean();
}

Test(ring, failures_leave_nothing_behind)
{
	struct rlimit saved, lim;
	struct ring r;
	int lowest, extra;

	errno = 0;
	cr_assert_null(shm_map_anon(0));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(shm_map_anon((size_t)1 << 62), "mapped 4 EiB?");
	cr_assert_neq(errno, 0);
	cr_assert_eq(shm_leftovers(getpid()), 0);

	/* Run out of descriptors at ring_create's first and later opens. */
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
	lowest = open("/dev/null", O_RDONLY);
	cr_assert(lowest >= 0);
	close(lowest);
	for (extra = 0; extra < 2; extra++) {
		lim = saved;
		lim.rlim_cur = (rlim_t)(lowest + extra);
		cr_assert_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
		/*
		 * extra 0: shm_open fails; extra 1: shm_open's descriptor is
		 * closed again, the first eventfd takes it, the second fails.
		 */
		errno = 0;
		cr_assert_eq(ring_create(&r, CAP), -1, "extra %d", extra);
		cr_assert_eq(errno, EMFILE, "extra %d: %s", extra, strerror(errno));
		cr_assert_null(r.sh);
		cr_assert_eq(r.data_fd, -1);
		cr_assert_eq(r.space_fd, -1);
		ring_destroy(&r);
		cr_assert_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
		cr_assert_eq(shm_leftovers(getpid()), 0);
		cr_assert_eq(open("/dev/null", O_RDONLY), lowest,
			     "extra %d: a descriptor leaked", extra);
		close(lowest);
	}
	expect_clean();
}

Test(ring, many_rings_leave_nothing)
{
	struct ring r[40];
	int i;

	for (i = 0; i < 40; i++)
		cr_assert_eq(ring_create(&r[i], CAP), 0, "%s", strerror(errno));
	cr_assert_eq(shm_leftovers(getpid()), 0);
	/* Distinct segments: a byte written in one is not seen in another. */
	for (i = 0; i < 40; i++)
		r[i].data[0] = (unsigned char)i;
	for (i = 0; i < 40; i++)
		cr_assert_eq(r[i].data[0], (unsigned char)i);
	for (i = 0; i < 40; i++)
		ring_destroy(&r[i]);
	expect_clean();
}

Test(ring, empty_ring)
{
	struct ring r;
	struct ring_frame_hdr h;
	const unsigned char *p;
	struct pollfd pfd;

	cr_assert_eq(ring_create(&r, CAP), 0);
	ring_producer_attach(&r);
	cr_assert_eq(ring_next(&r, &h, &p), 0);
	cr_assert_eq(ring_next(&r, &h, &p), 0);
	cr_assert_eq(ring_consumer_prepare_sleep(&r), 0);
	pfd.fd = ring_consumer_fd(&r);
	pfd.events = POLLIN;
	cr_assert_eq(poll(&pfd, 1, 0), 0, "nothing was sent, yet readable");
	/* A commit to a sleeping consumer makes its fd readable. */
	cr_assert_eq(ring_send(&r, RING_DONE, 3, NULL, 0, 0), 0);
	cr_assert_eq(poll(&pfd, 1, 0), 1, "sleeping consumer not woken");
	ring_consumer_woken(&r);
	cr_assert_eq(poll(&pfd, 1, 0), 0, "woken did not clear the eventfd");
	cr_assert_eq(ring_next(&r, &h, &p), 1);
	cr_assert_eq(h.type, RING_DONE);
	cr_assert_eq(h.len, 0);
	cr_assert_eq(h.attempt, 3);
	ring_consume(&r);
	cr_assert_eq(ring_next(&r, &h, &p), 0);
	/* With a frame waiting, prepare_sleep says so and clears the flag. */
	cr_assert_eq(ring_send(&r, RING_ERROR, 1, "x", 1, 0), 0);
	cr_assert_eq(ring_consumer_prepare_sleep(&r), 1);
	{
		unsigned cs, ps;

		ring_test_flags(&r, &cs, &ps);
		cr_assert_eq(cs, 0);
		cr_assert_eq(ps, 0);
	}
	cr_assert_eq(poll(&pfd, 1, 0), 0, "awake consumer was signalled");
	cr_assert_eq(ring_next(&r, &h, &p), 1);
	cr_assert_eq(h.type, RING_ERROR);
	cr_assert_eq(p[0], 'x');
	ring_destroy(&r);
	expect_clean();
}

/* Send one frame of len bytes, filled for seq; asserts it fits. */
static void send_seq(struct ring *r, size_t len, uint64_t seq)
{
	unsigned char *p = ring_reserve(r, len, 0);

	cr_assert_not_null(p, "reserve %zu: %s", len, strerror(errno));
	frame_fill(p, len, seq);
	ring_commit(r, len, RING_RECORDS, (uint16_t)seq);
}

/* Receive the next frame and check it is frame seq of len bytes. */
static void recv_seq(struct ring *r, size_t len, uint64_t seq)
{
	struct ring_frame_hdr h;
	const unsigned char *p;

	cr_assert_eq(ring_next(r, &h, &p), 1, "frame %llu missing",
		     (unsigned long long)seq);
	cr_assert_eq(h.type, RING_RECORDS);
	cr_assert_eq(h.len, len, "frame %llu: len %u, want %zu",
		     (unsigned long long)seq, h.len, len);
	cr_assert_eq(h.attempt, (uint16_t)seq);
	cr_assert(p >= r->data && p + len <= r->data + r->cap);
	cr_assert(frame_check(p, len, seq), "frame %llu corrupt",
		  (unsigned long long)seq);
	ring_consume(r);
}

Test(ring, frames_filling_to_the_end_need_no_pad)
{
	struct ring r;
	uint64_t w, rd;
	int i;

	cr_assert_eq(ring_create(&r, CAP), 0);
	ring_producer_attach(&r);
	/* 16 frames of 4096 bytes each fill the area exactly. */
	for (i = 0; i < 16; i++)
		send_seq(&r, 4096 - HDR, (uint64_t)i);
	ring_test_positions(&r, &w, &rd);
	cr_assert_eq(w, CAP);
	errno = 0;
	cr_assert_null(ring_reserve(&r, 0, 0), "a full ring took a frame");
	cr_assert_eq(errno, EAGAIN);
	recv_seq(&r, 4096 - HDR, 0);
	/* Exactly one frame's room came back, at offset 0: no PAD. */
	cr_assert_null(ring_reserve(&r, 4096 - HDR + 1, 0));
	cr_assert_eq(errno, EAGAIN);
	send_seq(&r, 4096 - HDR, 16);
	ring_test_positions(&r, &w, &rd);
	cr_assert_eq(w, CAP + 4096);
	for (i = 1; i <= 16; i++)
		recv_seq(&r, 4096 - HDR, (uint64_t)i);
	cr_assert_eq(ring_next(&r, &(struct ring_frame_hdr){ 0 },
			       &(const unsigned char *){ NULL }), 0);
	ring_destroy(&r);
	expect_clean();
}

/*
 * Make the ring empty at the next position (ahead of the reader, positions
 * only grow) whose offset in the data area is off; returns that position.
 */
static uint64_t empty_at(struct ring *r, size_t off)
{
	uint64_t pos = r->rpos + ((off - r->rpos) & (r->cap - 1));

	ring_test_set_positions(r, pos, pos);
	ring_reset(r);
	cr_assert_eq(r->rpos, pos);
	ring_producer_attach(r);
	return pos;
}

Test(ring, pad_at_every_distance_from_the_end)
{
	struct ring r;
	size_t gap, len;

	cr_assert_eq(ring_create(&r, CAP), 0);
	for (gap = HDR; gap <= 256; gap += 8) {
		for (len = 0; len <= gap + 16; len += 1) {
			size_t need = RING_ALIGN(HDR + len);
			uint64_t at = empty_at(&r, CAP - gap), w, rd;

			send_seq(&r, len, len);
			ring_test_positions(&r, &w, &rd);
			if (need <= gap)
				cr_assert_eq(w, at + need,
					     "gap %zu len %zu: unneeded pad", gap, len);
			else
				cr_assert_eq(w, at + gap + need,
					     "gap %zu len %zu: no pad", gap, len);
			recv_seq(&r, len, len);
			ring_test_positions(&r, &w, &rd);
			cr_assert_eq(rd, w, "consumer did not release the pad");
		}
	}
	ring_destroy(&r);
	expect_clean();
}

Test(ring, pad_needs_room_for_itself_and_the_frame)
{
	const size_t lens[] = { CAP / 4, CAP / 4, CAP / 4, 15312 };
	struct ring r;
	uint64_t at, w, rd;
	size_t i;

	cr_assert_eq(ring_create(&r, CAP), 0);
	/* Unread frames from offset 1000 up to 40 bytes before the end. */
	at = empty_at(&r, 1000);
	for (i = 0; i < 4; i++)
		send_seq(&r, lens[i], i);
	ring_test_positions(&r, &w, &rd);
	cr_assert_eq(w, at + CAP - 1040);
	/* Free: the 40-byte tail (a pad) plus [0, 1000) for the frame. */
	cr_assert_null(ring_reserve(&r, 1000 - HDR + 1, 0));
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(ring_send(&r, RING_RECORDS, 4, NULL, 1000 - HDR + 1, 0), -1);
	send_seq(&r, 1000 - HDR, 4);
	ring_test_positions(&r, &w, &rd);
	cr_assert_eq(w - rd, CAP, "ring should be exactly full");
	cr_assert_eq(w, at + CAP, "the frame did not go to offset 0");
	for (i = 0; i < 4; i++)
		recv_seq(&r, lens[i], i);
	recv_seq(&r, 1000 - HDR, 4);
	ring_destroy(&r);
	expect_clean();
}

Test(ring, zero_length_and_largest_payloads)
{
	struct ring r;
	size_t max;
	uint64_t seq = 0, got = 0;
	int round;

	cr_assert_eq(ring_create(&r, CAP), 0);
	ring_producer_attach(&r);
	max = ring_max_payload(&r);
	cr_assert_eq(max, CAP / 4);
	/* 8192 empty frames fill the ring exactly, 8 bytes each. */
	while (ring_reserve(&r, 0, 0) != NULL)
		ring_commit(&r, 0, RING_RECORDS, (uint16_t)seq++);
	cr_assert_eq(seq, CAP / HDR);
	while (got < seq)
		recv_seq(&r, 0, got++);
	/* Largest frames, misaligned against the end so that pads appear. */
	for (round = 0; round < 200; round++) {
		size_t len = round % 3 ? max : max - (size_t)round;

		send_seq(&r, len, seq);
		recv_seq(&r, len, seq);
		seq++;
		send_seq(&r, 0, seq);
		recv_seq(&r, 0, seq);
		seq++;
	}
	ring_destroy(&r);
	expect_clean();
}

Test(ring, reserve_times_out_when_full)
{
	struct ring r;
	unsigned cs, ps;

	cr_assert_eq(ring_create(&r, CAP), 0);
	ring_producer_attach(&r);
	send_seq(&r, CAP / 4, 0);
	send_seq(&r, CAP / 4, 1);
	send_seq(&r, CAP / 4, 2);
	errno = 0;
	cr_assert_null(ring_reserve(&r, CAP / 4, 0));
	cr_assert_eq(errno, EAGAIN);
	errno = 0;
	cr_assert_null(ring_reserve(&r, CAP / 4, 20));
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(ring_send(&r, RING_DONE, 0, NULL, CAP / 4, 1), -1);
	cr_assert_eq(errno, EAGAIN);
	ring_test_flags(&r, &cs, &ps);
	cr_assert_eq(ps, 0, "producer left its sleeping flag set");
	/* The room that is there (less than a frame + header) still works. */
	cr_assert_not_null(ring_reserve(&r, CAP / 4 - 3 * HDR - 8, 0));
	recv_seq(&r, CAP / 4, 0);
	send_seq(&r, CAP / 4, 3);
	recv_seq(&r, CAP / 4, 1);
	recv_seq(&r, CAP / 4, 2);
	recv_seq(&r, CAP / 4, 3);
	ring_destroy(&r);
	expect_clean();
}

Test(ring, commit_shorter_than_reserved)
{
	struct ring r;
	unsigned char *p;
	uint64_t w, rd;

	cr_assert_eq(ring_create(&r, CAP), 0);
	ring_producer_attach(&r);
	p = ring_reserve(&r, 1000, 0);
	cr_assert_not_null(p);
	frame_fill(p, 10, 7);
	ring_commit(&r, 10, RING_CHECKPOINT, 7);
	ring_test_positions(&r, &w, &rd);
	cr_assert_eq(w, RING_ALIGN(HDR + 10));
	{
		struct ring_frame_hdr h;
		const unsigned char *q;

		cr_assert_eq(ring_next(&r, &h, &q), 1);
		cr_assert_eq(h.type, RING_CHECKPOINT);
		cr_assert_eq(h.len, 10);
		cr_assert(frame_check(q, 10, 7));
		/* Looking twice without consuming shows the same frame. */
		cr_assert_eq(ring_next(&r, &h, &q), 1);
		cr_assert_eq(h.len, 10);
		ring_consume(&r);
	}
	ring_destroy(&r);
	expect_clean();
}

/*
 * Random sends and receives against a model of the positions: reserve must
 * succeed exactly when the model says the frame (and its pad) fit.
 */
Test(ring, random_ops_match_model)
{
	struct ring r;
	uint64_t s = 0x5eed5eed5eedull, mw = 0, mr = 0;
	uint64_t sent = 0, recvd = 0;
	size_t lens[CAP / 8];
	uint64_t ends[CAP / 8];
	int op, ops = asan_scale() ? 20000 : 100000;

	cr_assert_eq(ring_create(&r, CAP), 0);
	ring_producer_attach(&r);
	for (op = 0; op < ops; op++) {
		if (xorshift(&s) % 2) {
			size_t len = xorshift(&s) % 5 ? frame_len(&s, 600)
						      : frame_len(&s, CAP / 4);
			size_t need = RING_ALIGN(HDR + len);
			size_t tail = CAP - (size_t)(mw % CAP);
			uint64_t end = mw + (need > tail ? tail : 0) + need;
			int fits = end - mr <= CAP;
			unsigned char *p = ring_reserve(&r, len, 0);

			cr_assert_eq(p != NULL, fits, "op %d: len %zu w %llu r %llu",
				     op, len, (unsigned long long)mw,
				     (unsigned long long)mr);
			if (!p)
				continue;
			frame_fill(p, len, sent);
			ring_commit(&r, len, RING_RECORDS, (uint16_t)sent);
			lens[sent % (CAP / 8)] = len;
			ends[sent % (CAP / 8)] = end;
			sent++;
			mw = end;
		} else if (recvd < sent) {
			size_t len = lens[recvd % (CAP / 8)];

			recv_seq(&r, len, recvd);
			mr = ends[recvd % (CAP / 8)];
			recvd++;
		}
	}
	while (recvd < sent) {
		recv_seq(&r, lens[recvd % (CAP / 8)], recvd);
		recvd++;
	}
	ring_destroy(&r);
	expect_clean();
}

/* --- hostile producer --------------------------------------------------- */

static void put_hdr(struct ring *r, uint64_t pos, uint32_t len, uint16_t type)
{
	struct ring_frame_hdr h = { .len = len, .type = type, .attempt = 1 };

	memcpy(r->data + (pos & (r->cap - 1)), &h, sizeof(h));
}

/*
 * Empty the ring at offset off, write a frame header there and publish
 * write position (that position + delta); return what ring_next says.
 */
static int hostile_next(struct ring *r, size_t off, uint32_t len,
			uint16_t type, int64_t delta)
{
	struct ring_frame_hdr h;
	const unsigned char *p;
	uint64_t at = empty_at(r, off);

	put_hdr(r, at, len, type);
	ring_test_set_positions(r, at + (uint64_t)delta, at);
	return ring_next(r, &h, &p);
}

Test(ring, hostile_positions_lengths_types)
{
	const uint16_t bad_types[] = { 0, RING_GROUPS + 1, 100, UINT16_MAX };
	const size_t off = 4096, end = CAP - 16;
	struct ring_frame_hdr h;
	const unsigned char *p;
	struct ring r;
	uint64_t at, w, rd;
	size_t i;

	cr_assert_eq(ring_create(&r, CAP), 0);
	/* Sanity: the well-formed case is accepted. */
	cr_assert_eq(hostile_next(&r, off, 8, RING_RECORDS, 16), 1);
	/* Positions: past the capacity, behind the reader, misaligned. */
	cr_assert_eq(hostile_next(&r, off, 8, RING_RECORDS, CAP + 8), -1);
	cr_assert_eq(hostile_next(&r, off, 8, RING_RECORDS, -8), -1);
	cr_assert_eq(hostile_next(&r, off, 8, RING_RECORDS, INT64_MIN), -1);
	cr_assert_eq(hostile_next(&r, off, 8, RING_RECORDS, 17), -1);
	cr_assert_eq(hostile_next(&r, off, 8, RING_RECORDS, 4), -1);
	at = empty_at(&r, off);
	ring_test_set_positions(&r, 0, at);
	cr_assert_eq(ring_next(&r, &h, &p), -1);
	ring_test_set_positions(&r, UINT64_MAX, at);
	cr_assert_eq(ring_next(&r, &h, &p), -1);
	/* Lengths: beyond what is published, beyond the ring, huge. */
	cr_assert_eq(hostile_next(&r, off, 9, RING_RECORDS, 16), -1);
	cr_assert_eq(hostile_next(&r, off, 100, RING_RECORDS, 16), -1);
	cr_assert_eq(hostile_next(&r, off, UINT32_MAX, RING_RECORDS, CAP), -1);
	cr_assert_eq(hostile_next(&r, off, UINT32_MAX - 7, RING_RECORDS, CAP),
		     -1);
	/* Longer than a frame may be, though it fits what is published. */
	cr_assert_eq(hostile_next(&r, off, CAP / 4 + 8, RING_RECORDS, CAP / 2),
		     -1);
	cr_assert_eq(hostile_next(&r, off, CAP / 4, RING_RECORDS, CAP / 2), 1);
	/* Types. */
	for (i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++)
		cr_assert_eq(hostile_next(&r, off, 0, bad_types[i], 8), -1,
			     "type %u accepted", bad_types[i]);
	/* A frame crossing the end of the data area, fully published. */
	cr_assert_eq(hostile_next(&r, end, 8, RING_RECORDS, 16), 1);
	cr_assert_eq(hostile_next(&r, end, 16, RING_RECORDS, 64), -1);
	cr_assert_eq(hostile_next(&r, end, 1000, RING_ERROR, 2000), -1);
	/* PAD: exactly the rest is skipped; more than the rest is not. */
	put_hdr(&r, 0, 24, RING_DONE);
	cr_assert_eq(hostile_next(&r, end, 8, RING_PAD, 16 + 32), 1);
	cr_assert_eq(r.rpos % CAP, 0, "the PAD was not skipped");
	put_hdr(&r, 0, 24, RING_DONE);
	cr_assert_eq(hostile_next(&r, end, 16, RING_PAD, 16 + 32), -1);
	cr_assert_eq(hostile_next(&r, end, UINT32_MAX, RING_PAD, 16 + 32), -1);
	/* A PAD published alone is consumed, then the ring is empty. */
	cr_assert_eq(hostile_next(&r, end, 8, RING_PAD, 16), 0);
	cr_assert_eq(r.rpos % CAP, 0);
	/* A bad frame stays bad until reset, then the ring works again. */
	cr_assert_eq(hostile_next(&r, off, 9, RING_RECORDS, 16), -1);
	cr_assert_eq(ring_next(&r, &h, &p), -1);
	ring_test_set_positions(&r, 12345, 999);
	ring_reset(&r);
	ring_test_positions(&r, &w, &rd);
	cr_assert_eq(w, rd);
	cr_assert_eq(w % 8, 0);
	cr_assert_eq(ring_next(&r, &h, &p), 0);
	ring_producer_attach(&r);
	send_seq(&r, 100, 1);
	recv_seq(&r, 100, 1);
	ring_destroy(&r);
	expect_clean();
}

/*
 * Random bytes over the whole mapping (positions, flags, capacity, data)
 * or over the data with plausible positions: whatever ring_next returns, a
 * frame it hands out lies inside the data area, and reset always recovers.
 */
Test(ring, hostile_scribbles)
{
	struct ring r;
	uint64_t s = random_u64() | 1;
	int round, rounds = asan_scale() ? 300 : 3000;
	int seen[3] = { 0, 0, 0 };

	cr_log_info("seed %#llx", (unsigned long long)s);
	cr_assert_eq(ring_create(&r, CAP), 0);
	for (round = 0; round < rounds; round++) {
		uint64_t *words = (uint64_t *)(void *)r.sh;
		size_t nwords = (round % 2 ? r.map_len : (size_t)(r.data - (unsigned char *)r.sh)) / 8;
		size_t k;
		int step;

		for (k = 0; k < nwords; k++)
			words[k] = xorshift(&s);
		if (round % 4 >= 2) {
			/* Plausible positions, random frames. */
			uint64_t at = r.rpos;
			uint64_t w = at + 8 * (xorshift(&s) % (CAP / 8 + 1));

			for (k = 0; k < 8; k++) {
				uint32_t len = (uint32_t)(xorshift(&s) % 600);

				put_hdr(&r, at, len, (uint16_t)(xorshift(&s) % 8));
				at += RING_ALIGN(HDR + len);
			}
			ring_test_set_positions(&r, w, xorshift(&s));
		}
		for (step = 0; step < 16; step++) {
			struct ring_frame_hdr h;
			const unsigned char *p = NULL;
			int rc = ring_next(&r, &h, &p);

			cr_assert(rc >= -1 && rc <= 1);
			seen[rc + 1]++;
			if (rc != 1)
				break;
			cr_assert(h.type >= RING_RECORDS && h.type <= RING_GROUPS &&
				  h.type != RING_PAD);
			cr_assert(p >= r.data + HDR && p + h.len <= r.data + r.cap,
				  "frame outside the data area");
			ring_consume(&r);
		}
		ring_reset(&r);
		{
			struct ring_frame_hdr h;
			const unsigned char *p;

			cr_assert_eq(ring_next(&r, &h, &p), 0);
			ring_producer_attach(&r);
			send_seq(&r, (size_t)round % 300, (uint64_t)round);
			recv_seq(&r, (size_t)round % 300, (uint64_t)round);
		}
	}
	cr_assert(seen[0] > 0 && seen[2] > 0, "-1: %d, 1: %d", seen[0], seen[2]);
	ring_destroy(&r);
	expect_clean();
}

/* --- across processes --------------------------------------------------- */

/*
 * Producer child: frames first..first+n-1 (n = 0: until killed) of the
 * stream seeded by seed.  Rendezvous A at odd multiples of RENDEZVOUS: wait
 * until the consumer says it sleeps, so that this commit must wake it.
 * Exits 0, or the line that failed.
 */
static void producer_main(struct ring *r, uint64_t seed, uint64_t n,
			  uint16_t attempt, int rendezvous)
{
	uint64_t seq;

	ring_producer_attach(r);
	for (seq = 0; n == 0 || seq < n; seq++) {
		size_t len = stream_len(&seed);
		size_t extra = seq % 7 == 0 ? 100 : 0;
		unsigned char *p;

		if (rendezvous && seq % RENDEZVOUS == 0
		    && (seq / RENDEZVOUS) % 2 == 1) {
			unsigned cs = 0, ps;

			while (ring_test_flags(r, &cs, &ps), cs == 0)
				sched_yield();
		}
		if (seq % 3 == 0) {
			p = ring_reserve(r, len + extra, -1);
			if (p == NULL)
				_exit(__LINE__ & 0x7f);
			frame_fill(p, len, seq);
			ring_commit(r, len, RING_RECORDS, attempt);
		} else {
			unsigned char buf[4096];

			frame_fill(buf, len, seq);
			/* A timeout is a heartbeat moment: just try again. */
			while (ring_send(r, RING_RECORDS, attempt, buf, len, 50) < 0)
				if (errno != EAGAIN)
					_exit(__LINE__ & 0x7f);
		}
	}
	if (ring_send(r, RING_DONE, attempt, NULL, 0, -1) < 0)
		_exit(__LINE__ & 0x7f);
	_exit(0);
}

/* Consume frames of a stream; rendezvous B makes the producer sleep. */
static void consume_stream(struct ring *r, uint64_t seed, uint64_t n,
			   uint16_t attempt, int rendezvous,
			   unsigned long *sleeps, unsigned long *producer_waits)
{
	uint64_t seq;

	for (seq = 0; seq <= n; seq++) {
		struct ring_frame_hdr h;
		const unsigned char *p;
		size_t len;
		int rc;

		if (rendezvous && seq % RENDEZVOUS == 0
		    && (seq / RENDEZVOUS) % 2 == 0 && seq > 0
		    && seq + RENDEZVOUS < n) {
			unsigned cs, ps = 0;

			/* The producer fills the ring and must go to sleep. */
			while (ring_test_flags(r, &cs, &ps), ps == 0)
				sched_yield();
			(*producer_waits)++;
		}
		rc = next_blocking(r, &h, &p, sleeps);
		cr_assert_eq(rc, 1, "frame %llu: ring_next %d",
			     (unsigned long long)seq, rc);
		cr_assert_eq(h.attempt, attempt);
		if (seq == n) {
			cr_assert_eq(h.type, RING_DONE);
			cr_assert_eq(h.len, 0);
			ring_consume(r);
			break;
		}
		len = stream_len(&seed);
		cr_assert_eq(h.type, RING_RECORDS, "frame %llu type %u",
			     (unsigned long long)seq, h.type);
		cr_assert_eq(h.len, len, "frame %llu: len %u, want %zu",
			     (unsigned long long)seq, h.len, len);
		if (!frame_check(p, len, seq))
			cr_assert_fail("frame %llu: bad checksum or sequence",
				       (unsigned long long)seq);
		ring_consume(r);
	}
}

Test(ring, forked_stream_in_order)
{
	struct ring r;
	uint64_t n = asan_scale() ? 500000 : 10000000;
	uint64_t seed = random_u64() | 1;
	unsigned long sleeps = 0, producer_waits = 0;
	pid_t pid;
	int status;

	cr_log_info("seed %#llx", (unsigned long long)seed);
	watchdog();
	cr_assert_eq(ring_create(&r, CAP), 0);
	pid = fork_child();
	if (pid == 0)
		producer_main(&r, seed, n, 9, 1);
	consume_stream(&r, seed, n, 9, 1, &sleeps, &producer_waits);
	status = wait_exit_status(pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "producer failed: status %#x", status);
	{
		struct ring_frame_hdr h;
		const unsigned char *p;

		cr_assert_eq(ring_next(&r, &h, &p), 0, "frames after DONE");
	}
	cr_log_info("consumer slept %lu times, producer made to sleep %lu times",
		    sleeps, producer_waits);
	cr_assert_gt(sleeps, 0, "the consumer never slept");
	cr_assert_gt(producer_waits, 0, "the producer never slept");
	ring_destroy(&r);
	expect_clean();
}

/*
 * Kill the producer at a random moment; everything readable afterwards
 * must be whole frames in sequence; then reset and run a clean attempt.
 */
Test(ring, killed_producer_then_reset)
{
	struct ring r;
	uint64_t seed = random_u64() | 1, rnd = random_u64() | 1;
	int round, rounds = asan_scale() ? 3 : 8;
	unsigned long sleeps = 0, waits = 0;

	cr_log_info("seed %#llx rnd %#llx", (unsigned long long)seed,
		    (unsigned long long)rnd);
	watchdog();
	cr_assert_eq(ring_create(&r, CAP), 0);
	for (round = 0; round < rounds; round++) {
		uint64_t kill_after = xorshift(&rnd) % 20000;
		uint64_t s = seed + (uint64_t)round * 2, seq;
		uint16_t attempt = (uint16_t)(2 * round + 1);
		struct ring_frame_hdr h;
		const unsigned char *p;
		pid_t pid;
		int status, rc;

		pid = fork_child();
		if (pid == 0)
			producer_main(&r, s, 0, attempt, 0);
		for (seq = 0; seq < kill_after; seq++) {
			size_t len = stream_len(&s);

			cr_assert_eq(next_blocking(&r, &h, &p, &sleeps), 1);
			cr_assert_eq(h.len, len);
			cr_assert(frame_check(p, len, seq));
			ring_consume(&r);
			/* Sometimes stall, so the producer is caught asleep. */
			if (xorshift(&rnd) % 1024 == 0)
				sched_yield();
		}
		cr_assert_eq(kill(pid, SIGKILL), 0);
		status = wait_exit_status(pid);
		cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			  "producer ended otherwise: %#x", status);
		/* Drain what it published: whole frames, in sequence. */
		while ((rc = ring_next(&r, &h, &p)) == 1) {
			size_t len = stream_len(&s);

			cr_assert_eq(h.type, RING_RECORDS);
			cr_assert_eq(h.attempt, attempt);
			cr_assert_eq(h.len, len, "after kill, frame %llu",
				     (unsigned long long)seq);
			cr_assert(frame_check(p, len, seq),
				  "after kill, frame %llu corrupt",
				  (unsigned long long)seq);
			ring_consume(&r);
			seq++;
		}
		cr_assert_eq(rc, 0, "dead producer left a malformed ring");
		ring_reset(&r);
		cr_assert_eq(ring_next(&r, &h, &p), 0);
		{
			unsigned cs, ps;

			ring_test_flags(&r, &cs, &ps);
			cr_assert_eq(cs, 0);
			cr_assert_eq(ps, 0);
		}
		/* The next attempt: a full, clean, shorter stream. */
		pid = fork_child();
		if (pid == 0)
			producer_main(&r, seed ^ 0xabcdef, 30000,
				      (uint16_t)(attempt + 1), 0);
		consume_stream(&r, seed ^ 0xabcdef, 30000,
			       (uint16_t)(attempt + 1), 0, &sleeps, &waits);
		status = wait_exit_status(pid);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "next attempt failed: %#x", status);
	}
	ring_destroy(&r);
	expect_clean();
}

/* A producer killed while frames are still unread: reset discards them. */
Test(ring, reset_discards_unread_frames)
{
	struct ring r;
	struct ring_frame_hdr h;
	const unsigned char *p;
	uint64_t w, rd;
	unsigned cs, ps;
	pid_t pid;
	int status;

	watchdog();
	cr_assert_eq(ring_create(&r, CAP), 0);
	pid = fork_child();
	if (pid == 0)
		producer_main(&r, 77, 0, 1, 0);
	/* Wait until the producer fills the ring and sleeps, then kill it. */
	while (ring_test_flags(&r, &cs, &ps), ps == 0)
		sched_yield();
	cr_assert_eq(kill(pid, SIGKILL), 0);
	status = wait_exit_status(pid);
	cr_assert(WIFSIGNALED(status));
	cr_assert_eq(ring_next(&r, &h, &p), 1, "the full ring looks empty");
	ring_reset(&r);
	ring_test_positions(&r, &w, &rd);
	cr_assert_eq(w, rd);
	cr_assert_gt(w, CAP / 2, "nothing had been written");
	cr_assert_eq(ring_next(&r, &h, &p), 0, "reset left frames");
	ring_test_flags(&r, &cs, &ps);
	cr_assert_eq(ps, 0, "reset left the producer flag set");
	pid = fork_child();
	if (pid == 0)
		producer_main(&r, 78, 5000, 2, 0);
	{
		unsigned long sleeps = 0, waits = 0;

		consume_stream(&r, 78, 5000, 2, 0, &sleeps, &waits);
	}
	status = wait_exit_status(pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ring_destroy(&r);
	expect_clean();
}
