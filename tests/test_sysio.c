/*
 * test_sysio.c - common/sysio.c and common/clock.h.
 *
 * sys_write_all is driven into the two cases its loop exists for with a
 * real pipe and real signals: a writer process pushes 1 MiB through a
 * one-page pipe while the reader, after every small read, sends it a
 * signal whose handler is installed without SA_RESTART.  A write blocked
 * with some bytes already in the pipe then returns short, one blocked
 * with none returns EINTR; the bytes must still all arrive, in order.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/sysio.h"
#include "helpers/testutil.h"

#define TOTAL (1u << 20)
#define CHUNK 512

static void on_usr1(int sig)
{
	(void)sig;
}

static unsigned char byte_at(size_t i)
{
	return (unsigned char)(i * 7u + i / 251u);
}

Test(sysio, write_all_survives_short_writes_and_eintr)
{
	struct sigaction sa = { .sa_handler = on_usr1 }, old;
	unsigned char *src, buf[CHUNK];
	size_t got = 0, signals = 0;
	int fds[2], status;
	pid_t pid;
	ssize_t n;

	tu_watchdog(120);
	src = malloc(TOTAL);
	cr_assert_not_null(src);
	for (size_t i = 0; i < TOTAL; i++)
		src[i] = byte_at(i);
	cr_assert_eq(pipe(fds), 0);
	/* The smallest pipe there is: one page, so every write blocks. */
	cr_assert_geq(fcntl(fds[1], F_SETPIPE_SZ, 4096), 4096);
	/* No SA_RESTART: a blocked write comes back short or with EINTR. */
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGUSR1, &sa, &old), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		_exit(sys_write_all(fds[1], src, TOTAL) == 0 ? 0 : 1);
	}
	close(fds[1]);
	cr_assert_eq(sigaction(SIGUSR1, &old, NULL), 0);
	for (;;) {
		n = read(fds[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		cr_assert_geq(n, 0);
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != byte_at(got + (size_t)i))
				cr_assert_fail("byte %zu differs", got + (size_t)i);
		got += (size_t)n;
		/* The writer is blocked on the full pipe or about to be. */
		if (kill(pid, SIGUSR1) == 0)
			signals++;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	free(src);
	cr_assert_gt(signals, 0);
	cr_assert_eq(got, TOTAL, "the reader got %zu of %u bytes", got, TOTAL);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "sys_write_all failed in the writer");
}

Test(sysio, write_all_reports_the_failing_write)
{
	struct sigaction sa = { .sa_handler = SIG_IGN }, old;
	int fds[2];

	cr_assert_eq(pipe(fds), 0);
	close(fds[0]);
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGPIPE, &sa, &old), 0);
	errno = 0;
	cr_assert_eq(sys_write_all(fds[1], "abc", 3), -1);
	cr_assert_eq(errno, EPIPE);
	cr_assert_eq(sigaction(SIGPIPE, &old, NULL), 0);
	close(fds[1]);
}

Test(sysio, write_all_of_nothing_calls_no_write)
{
	/* An invalid fd: any write(2) would fail with EBADF. */
	cr_assert_eq(sys_write_all(-1, "", 0), 0);
}

Test(clock, units_agree_and_never_go_back)
{
	uint64_t ms0 = clock_ms(), us = clock_us(), ns = clock_ns();
	uint64_t ms1 = clock_ms();
	uint64_t c0 = clock_coarse_ms(), cns = clock_coarse_ns();
	uint64_t c1 = clock_coarse_ms();

	cr_assert_leq(ms0, us / 1000u);
	cr_assert_leq(us, ns / 1000u);
	cr_assert_leq(ns / 1000000u, ms1);
	cr_assert_leq(c0, cns / 1000000u);
	cr_assert_leq(cns / 1000000u, c1);
	/* The coarse clock lags the fine one by at most a tick, never leads. */
	cr_assert_leq(c1, clock_ms());
}
