/*
 * split2.c - starting and joining the end's second thread (split2.h).
 */
#include "split2.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Items from which a second thread pays for itself (docs/design.md). */
#define SPLIT2_MIN 65536u

bool split2_wanted(size_t n)
{
#ifdef AGG_TESTING
	const char *s = getenv("AGG_PAR_ROWS");

	if (s != NULL && *s != '\0')
		return n >= (size_t)strtoul(s, NULL, 10);
#endif
	return n >= SPLIT2_MIN;
}

int split2_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

#ifdef AGG_TESTING
	/* Test builds: AGG_PAR_NO_THREAD=1, no thread starts. */
	if (getenv("AGG_PAR_NO_THREAD") != NULL)
		return -1;
#endif

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? 0 : -1;
}

/* The second half, run by whichever thread takes it first. */
struct half_call {
	void (*fn)(void *arg, int half);
	void *arg;
	atomic_bool taken;
};

static void take_second(struct half_call *c)
{
	if (!atomic_exchange(&c->taken, true))
		c->fn(c->arg, 1);
}

static void *second_half(void *p)
{
	take_second(p);
	return NULL;
}

void split2_run(size_t n, void (*fn)(void *arg, int half), void *arg)
{
	struct half_call c = { fn, arg, false };
	pthread_t t;
	bool started = split2_wanted(n) &&
		       split2_start(&t, second_half, &c) == 0;

	fn(arg, 0);
	/* A worker kept off the core by other work: its half is done here. */
	take_second(&c);
	if (started)
		pthread_join(t, NULL);
}
