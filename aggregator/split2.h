/*
 * split2.h - the end of a run with many groups on two threads: the sort's
 * gather and radix passes, the keys' decoding and the rows' formatting
 * (gtable.c, merge.c, merge_rows.c) each split in two.
 *
 * By then the providers are done and the machine's other core is idle;
 * the aggregator never forks after this point, and every thread started
 * here is joined before the function that started it returns.
 *
 * Threads: a worker starts with every signal blocked, so the aggregator's
 * signal handling (its stop flag) stays on the calling thread.
 */
#ifndef AGG_SPLIT2_H
#define AGG_SPLIT2_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Whether n items (groups, rows) are worth a second thread: at least
 * SPLIT2_MIN (test builds: AGG_PAR_ROWS=N, 0 for always).
 */
bool split2_wanted(size_t n);

/*
 * Start fn(arg) on a new thread, every signal blocked.  0, or -1 (test
 * builds: always with AGG_PAR_NO_THREAD set).
 */
int split2_start(pthread_t *t, void *(*fn)(void *), void *arg);

/*
 * The two halves of a step over n items, both done on return: fn(arg, 0)
 * on this thread and fn(arg, 1) on a second one when split2_wanted(n).
 * When n is fewer, when no thread starts, or when it has not begun by the
 * time half 0 is done, fn(arg, 1) runs here after the other: the halves
 * must not wait for each other.
 */
void split2_run(size_t n, void (*fn)(void *arg, int half), void *arg);

#endif
