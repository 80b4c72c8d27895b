/*
 * pgtest.h - a throwaway PostgreSQL server for a test program.
 *
 * Put PGT_START_BEFORE_ALL() and PGT_STOP_AFTER_ALL(), on two lines, at
 * file scope of a test program: their report hooks call pgt_start() before
 * the first test and pgt_stop() after the last.  When PGHOST is unset,
 * pgt_start() runs scripts/pg-test.sh to create and start a cluster and
 * exports the PG* variables (and AGG_PG_PASSROLE / AGG_PG_PASSWORD) it
 * prints, so that libpq in the tests and in the aggregate binary they run
 * reaches it.  When the server cannot start, AGG_PG_SKIP holds why; tests
 * then fail with it.
 */
#ifndef AGG_PGTEST_H
#define AGG_PGTEST_H

#include <criterion/criterion.h>
#include <criterion/hooks.h>

void pgt_start(void);
void pgt_stop(void);

/*
 * The report hooks, each on a line of its own (Criterion names a hook
 * after its line).
 */
#define PGT_START_BEFORE_ALL()                                         \
	ReportHook(PRE_ALL)(struct criterion_test_set *set)            \
	{                                                              \
		(void)set;                                             \
		pgt_start();                                           \
	}
#define PGT_STOP_AFTER_ALL()                                           \
	ReportHook(POST_ALL)(struct criterion_global_stats *stats)     \
	{                                                              \
		(void)stats;                                           \
		pgt_stop();                                            \
	}

#endif
