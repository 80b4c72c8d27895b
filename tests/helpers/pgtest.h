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
 *
 * For a program that compares the binary with PostgreSQL over the same
 * rows: a fixture per test (a folder, a connection, a table name of its
 * own: PGT_SUITE), a table loaded from CSV (pgt_table), a config run to
 * its out.csv (pgt_run) and the oracle's COPY output compared with it
 * (pgt_expect_csv).
 */
#ifndef AGG_PGTEST_H
#define AGG_PGTEST_H

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdbool.h>

#include <libpq-fe.h>

#include "testutil.h"

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
 * The same for query (not a format), or NULL with why (malloc'd) when
 * PostgreSQL refuses it or fails while the rows go out.
 */
char *pgt_copy_csv_try(PGconn *c, const char *query, char **why);

/*
 * got (the binary's CSV) must equal pgt_copy_csv() of the query
 * (printf-style); what names the case in the failure's message.
 */
void pgt_expect_csv(PGconn *c, const char *got, const char *what,
		    const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Temporary table `table` (columns: "id bigint, name text") created if
 * need be, emptied and loaded with csv (see pgt_load_csv).
 */
void pgt_table(PGconn *c, const char *table, const char *columns,
	       const char *csv, bool header);

/*
 * One test's setting: a temporary folder the binary runs in, a connection,
 * and a table name PREFIX_PID, so that programs sharing the server never
 * meet.  Opened by a suite's .init (with a watchdog of that many seconds)
 * and closed by its .fini: PGT_SUITE.
 */
struct pgt_fixture {
	char *dir;
	PGconn *db;
	char table[64];
};

void pgt_fixture_open(struct pgt_fixture *fx, const char *prefix,
		      unsigned watchdog);
void pgt_fixture_close(struct pgt_fixture *fx);

/*
 * TestSuite(name) whose every test opens and closes fx (in name_open and
 * name_close).
 */
#define PGT_SUITE(name, fx, prefix, watchdog)                          \
	static void name##_open(void)                                  \
	{                                                              \
		pgt_fixture_open(&(fx), prefix, watchdog);             \
	}                                                              \
	static void name##_close(void)                                 \
	{                                                              \
		pgt_fixture_close(&(fx));                              \
	}                                                              \
	TestSuite(name, .init = name##_open, .fini = name##_close)

/*
 * Write conf to fx's folder, run the binary on it (exit 0, or the test
 * fails with its stderr and the config) and return its out.csv (free()
 * it).  r, when not NULL, keeps the run's result (tu_result_free() it).
 */
char *pgt_run(const struct pgt_fixture *fx, const char *conf,
	      struct tu_result *r);

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
