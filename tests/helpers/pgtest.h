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
#include <stdbool.h>

#include <libpq-fe.h>

void pgt_start(void);
void pgt_stop(void);

/*
 * A connection to the test server (the PG* variables pgt_start() set);
 * the test fails with why when there is none.  PQfinish() it.
 */
PGconn *pgt_connect(void);

/* Run one statement (printf-style); the test fails if it fails. */
void pgt_sql(PGconn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Load CSV text into a table with COPY FROM STDIN; header: its first line
 * names the columns (and is skipped).
 */
void pgt_load_csv(PGconn *c, const char *table, const char *csv,
		  bool header);

/*
 * What COPY (query) TO STDOUT (FORMAT csv, HEADER) writes for the query
 * (printf-style), the oracle's answer in our CSV output's form.  free() it.
 */
char *pgt_copy_csv(PGconn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

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
