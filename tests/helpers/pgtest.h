/*
 * pgtest.h - a throwaway PostgreSQL server for a test program.
 *
 * Call pgt_start() from a ReportHook(PRE_ALL) and pgt_stop() from a
 * ReportHook(POST_ALL): when PGHOST is unset, pgt_start() runs
 * scripts/pg-test.sh to create and start a cluster and exports the PG*
 * variables (and AGG_PG_PASSROLE / AGG_PG_PASSWORD) it prints, so that
 * libpq in the tests and in the aggregate binary they run reaches it.  When
 * the server cannot start, AGG_PG_SKIP holds why; tests then fail with it.
 */
#ifndef AGG_PGTEST_H
#define AGG_PGTEST_H

void pgt_start(void);
void pgt_stop(void);

#endif
