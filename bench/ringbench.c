/*
 * ringbench.c - throughput of the shared-memory ring (ipc/ring.c) against a
 * pipe and against memcpy, between two processes as aggregate uses them.
 *
 *   ringbench [-s SECONDS_PER_CASE] [-r RING_BYTES]
 *
 * Cases, each printed as one line "name value unit":
 *   ring_records   32-byte records packed into RECORDS frames of 64 KiB,
 *                  producer process -> consumer process; the consumer walks
 *                  every record (reads its length word and one 8-byte
 *                  field), as the aggregator's decoder does
 *   pipe_records   the same frames of records through a pipe(2)
 *   ring_frames    64 KiB frames; the producer fills each (memcpy from a
 *                  private buffer), the consumer copies each out (as the
 *                  aggregator stages a frame)
 *   pipe_frames    the same frames through a pipe(2)
 *   memcpy         one core copying 64 KiB blocks between two buffers of
 *                  the ring's size: the bandwidth the ring is measured by
 *
 * Every case moves a fixed amount of data sized to take about SECONDS, then
 * prints what moved per second of wall time (fork to the consumer's exit).
 * Built against the project's ipc/ objects; no test hooks.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../ipc/ring.h"

#define FRAME_BYTES (64u * 1024u)
#define REC_BYTES 32u
/* Empty looks before the consumer sleeps: agg.c's IDLE_SPINS. */
#define IDLE 200
#define RECS_PER_FRAME ((FRAME_BYTES - 4u) / REC_BYTES)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "ringbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* One frame of records: u32 count, then count 32-byte records. */
static void fill_records(unsigned char *f, uint64_t seq)
{
	uint32_t n = RECS_PER_FRAME;

	memcpy(f, &n, 4);
	for (uint32_t i = 0; i < n; i++) {
		unsigned char *r = f + 4 + (size_t)i * REC_BYTES;
		uint32_t len = REC_BYTES;
		uint64_t v = seq + i;

		memcpy(r, &len, 4);
		memset(r + 4, 0, 4);
		memcpy(r + 8, &v, 8);
		memset(r + 16, 0x5a, 16);
	}
}

/* Walk a frame of records; returns the sum of their 8-byte fields. */
static uint64_t walk_records(const unsigned char *f, size_t len)
{
	uint32_t n;
	size_t off = 4;
	uint64_t sum = 0;

	memcpy(&n, f, 4);
	for (uint32_t i = 0; i < n && off + 16 <= len; i++) {
		uint32_t rl;
		uint64_t v;

		memcpy(&rl, f + off, 4);
		memcpy(&v, f + off + 8, 8);
		sum += v;
		off += rl;
	}
	return sum;
}

static void ring_producer(struct ring *r, uint64_t frames, int records)
{
	static unsigned char src[FRAME_BYTES];

	ring_producer_attach(r);
	if (records)
		fill_records(src, 0);
	else
		memset(src, 0x33, sizeof src);
	for (uint64_t k = 0; k < frames; k++) {
		void *p = ring_reserve(r, FRAME_BYTES, -1);

		if (p == NULL)
			die("ring_reserve");
		memcpy(p, src, FRAME_BYTES);
		ring_commit(r, FRAME_BYTES, RING_RECORDS, 1);
	}
	_exit(0);
}

/* Consume frames until `frames` arrived; spin, then sleep like agg.c. */
static uint64_t ring_consumer(struct ring *r, uint64_t frames, int records)
{
	static unsigned char stage[FRAME_BYTES];
	uint64_t got = 0, sum = 0;
	int idle = 0;

	while (got < frames) {
		struct ring_frame_hdr h;
		const unsigned char *pl;
		int rc = ring_next(r, &h, &pl);

		if (rc < 0) {
			fprintf(stderr, "ringbench: bad frame\n");
			exit(1);
		}
		if (rc == 0) {
			if (++idle < IDLE)
				continue;
			idle = 0;
			if (ring_consumer_prepare_sleep(r) == 0) {
				struct pollfd pfd = {
					.fd = ring_consumer_fd(r),
					.events = POLLIN,
				};

				if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
					die("poll");
				ring_consumer_woken(r);
			}
			continue;
		}
		if (records) {
			sum += walk_records(pl, h.len);
		} else {
			memcpy(stage, pl, h.len);
			sum += stage[h.len - 1];
		}
		ring_consume(r);
		got++;
	}
	return sum;
}

static double run_ring(size_t ring_bytes, uint64_t frames, int records)
{
	struct ring r;
	pid_t pid;
	double t0, t1;
	int status;
	volatile uint64_t sink;

	if (ring_create(&r, ring_bytes) < 0)
		die("ring_create");
	t0 = now_s();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		ring_producer(&r, frames, records);
	sink = ring_consumer(&r, frames, records);
	(void)sink;
	t1 = now_s();
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "ringbench: producer failed\n");
		exit(1);
	}
	ring_destroy(&r);
	return t1 - t0;
}

static int full_read(int fd, unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = read(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int full_write(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static double run_pipe(uint64_t frames, int records)
{
	static unsigned char buf[FRAME_BYTES];
	int fds[2];
	pid_t pid;
	double t0, t1;
	int status;
	uint64_t sum = 0;
	volatile uint64_t sink;

	if (pipe(fds) < 0)
		die("pipe");
	t0 = now_s();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(fds[0]);
		if (records)
			fill_records(buf, 0);
		else
			memset(buf, 0x33, sizeof buf);
		for (uint64_t k = 0; k < frames; k++)
			if (full_write(fds[1], buf, FRAME_BYTES) < 0)
				_exit(1);
		_exit(0);
	}
	close(fds[1]);
	for (uint64_t k = 0; k < frames; k++) {
		if (full_read(fds[0], buf, FRAME_BYTES) < 0)
			die("read pipe");
		sum += records ? walk_records(buf, FRAME_BYTES)
			       : buf[FRAME_BYTES - 1];
	}
	sink = sum;
	(void)sink;
	t1 = now_s();
	close(fds[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "ringbench: pipe writer failed\n");
		exit(1);
	}
	return t1 - t0;
}

/* Bytes per second of one core copying 64 KiB blocks, buffers of n bytes. */
static double run_memcpy(size_t n, double seconds)
{
	unsigned char *a = malloc(n), *b = malloc(n);
	uint64_t blocks = 0;
	double t0, t;
	volatile unsigned char sink;

	if (a == NULL || b == NULL)
		die("malloc");
	memset(a, 1, n);
	memset(b, 2, n);
	t0 = now_s();
	do {
		for (size_t off = 0; off + FRAME_BYTES <= n; off += FRAME_BYTES) {
			memcpy(b + off, a + off, FRAME_BYTES);
			blocks++;
		}
		__asm__ __volatile__("" : : "r"(b) : "memory");
		t = now_s() - t0;
	} while (t < seconds);
	sink = b[n - 1];
	(void)sink;
	free(a);
	free(b);
	return (double)blocks * FRAME_BYTES / t;
}

int main(int argc, char **argv)
{
	double seconds = 0.5;
	size_t ring_bytes = 4u << 20;
	double bw, t;
	uint64_t frames;
	int opt;

	while ((opt = getopt(argc, argv, "s:r:")) != -1) {
		switch (opt) {
		case 's':
			seconds = atof(optarg);
			break;
		case 'r':
			ring_bytes = (size_t)strtoull(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: ringbench [-s SECONDS] "
				"[-r RING_BYTES]\n");
			return 64;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	bw = run_memcpy(ring_bytes, seconds);
	printf("memcpy %.3f GB/s\n", bw / 1e9);
	/* Size each case from memcpy's speed so it takes about `seconds`. */
	frames = (uint64_t)(bw * seconds / FRAME_BYTES / 4) + 16;

	t = run_ring(ring_bytes, frames, 1);
	printf("ring_records %.2f Mrec/s\n",
	       (double)frames * RECS_PER_FRAME / t / 1e6);
	t = run_pipe(frames, 1);
	printf("pipe_records %.2f Mrec/s\n",
	       (double)frames * RECS_PER_FRAME / t / 1e6);
	t = run_ring(ring_bytes, frames, 0);
	printf("ring_frames %.3f GB/s\n", (double)frames * FRAME_BYTES / t / 1e9);
	t = run_pipe(frames, 0);
	printf("pipe_frames %.3f GB/s\n", (double)frames * FRAME_BYTES / t / 1e9);
	return 0;
}
