/*
 * clock.h - the monotonic clock, read one way by every process.
 *
 * Time since an unspecified start (boot), never stepped by settimeofday or
 * NTP: for timeouts, back-off, heartbeats, rates and elapsed times, never
 * for dates.  The functions are static inline so that the callers that read
 * the clock once per frame or per poll round pay no call.
 *
 *   clock_ms(), clock_us(), clock_ns()   CLOCK_MONOTONIC, at that unit
 *   clock_coarse_ms(), clock_coarse_ns() CLOCK_MONOTONIC_COARSE: a few ms
 *                                        of resolution, no system call
 *
 * clock_gettime cannot fail for these clocks on Linux; the result is
 * therefore not checked.
 */
#ifndef AGG_CLOCK_H
#define AGG_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_read_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t clock_ns(void)
{
	return clock_read_ns(CLOCK_MONOTONIC);
}

/* CLOCK_MONOTONIC in microseconds (truncated). */
static inline uint64_t clock_us(void)
{
	return clock_ns() / 1000u;
}

/* CLOCK_MONOTONIC in milliseconds (truncated). */
static inline uint64_t clock_ms(void)
{
	return clock_ns() / 1000000u;
}

/* CLOCK_MONOTONIC_COARSE in nanoseconds. */
static inline uint64_t clock_coarse_ns(void)
{
	return clock_read_ns(CLOCK_MONOTONIC_COARSE);
}

/* CLOCK_MONOTONIC_COARSE in milliseconds (truncated). */
static inline uint64_t clock_coarse_ms(void)
{
	return clock_coarse_ns() / 1000000u;
}

#endif
