/*
 * testutil.h - helpers shared by the test programs: temporary folders,
 * files, and running the real aggregate binary with its output captured.
 */
#ifndef AGG_TESTUTIL_H
#define AGG_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Whether the tests run under the sanitizers (AGG_TEST_SCALE=asan). */
bool tu_under_asan(void);

/*
 * n, or a tenth of it under the sanitizers (AGG_TEST_SCALE=asan): the
 * size of a randomised test's loop.
 */
int tu_scale(int n);

/* xorshift64: the next number of the sequence whose state *s holds. */
uint64_t tu_rng(uint64_t *s);

/* The aggregate binary under test ($AGG_BIN, default ./aggregate). */
const char *tu_bin(void);

/* The project's source folder ($AGG_SRCDIR, default "."). */
const char *tu_srcdir(void);

/* A new empty folder under $TMPDIR; free() the result, tu_rmrf() the folder. */
char *tu_tmpdir(void);
void tu_rmrf(const char *path);

/* Remove folder *dir (may be NULL) with all in it, free *dir, NULL it. */
void tu_tmpdir_free(char **dir);

/*
 * When the test process runs as root, hand folder dir and everything in it
 * to an unprivileged user (uid and gid 65534: nobody, nogroup) and become
 * that user for the rest of the process, so that file permissions apply to
 * the test as they do to a user (root reads a mode-0 file).  Children
 * started afterwards inherit the user.  Any other user: nothing to do.
 * Returns 0, or -1 with errno.
 */
int tu_drop_root(const char *dir);

/* Path join into a static-free buffer: free() the result. */
char *tu_path(const char *dir, const char *name);

/* Write a whole file (aborting the test on failure). */
void tu_write(const char *path, const char *content);

/* Read a whole file, NUL-terminated; NULL if it cannot be read. */
char *tu_read(const char *path, size_t *len);

/*
 * Append what one read() of fd gives to the NUL-terminated *buf of *len
 * bytes in *cap (realloc'd; *buf NULL and *cap 0 to start).  Returns false
 * at EOF or on an error, true after data or EINTR.
 */
bool tu_read_some(int fd, char **buf, size_t *len, size_t *cap);

/* Entries in folder dir besides . and .., -1 if it cannot be read. */
int tu_count_entries(const char *dir);

/* tu_write() and tu_read() of file name in folder dir (free() tu_get's). */
void tu_put(const char *dir, const char *name, const char *content);

/* s as one quoted CSV field on f, its quotes doubled. */
void tu_csv_text(FILE *f, const char *s);
char *tu_get(const char *dir, const char *name);

struct tu_result {
	int status;      /* exit status, or 128 + signal */
	char *out;       /* stdout, NUL-terminated */
	char *err;       /* stderr, NUL-terminated */
};

/*
 * Run the aggregate binary in folder cwd with the NULL-terminated args, and
 * extra environment entries ("NAME=value", NULL-terminated, may be NULL).
 * Returns the exit status (also in r->status).
 */
int tu_run(struct tu_result *r, const char *cwd, const char *const *args,
	   const char *const *env);
void tu_result_free(struct tu_result *r);

/*
 * Whether the aggregate binary under test is a test build, with the hooks
 * (AGG_FAULT, AGG_OUT_FAIL_AFTER, ...) that a release build lacks: its -V
 * says so.  A test that needs them skips with TU_NEEDS_HOOKS as its reason
 * (scripts/run-tests.sh counts that reason as explained).
 */
bool tu_bin_has_hooks(void);
#define TU_NEEDS_HOOKS "needs the test build's hooks, not in this binary"

/*
 * In a Criterion test that needs those hooks: on a release build, run
 * fini (a skipped test does not reach its suite's .fini) and skip.
 */
#define TU_REQUIRE_HOOKS(fini) do { \
	if (!tu_bin_has_hooks()) { \
		fini(); \
		cr_skip_test(TU_NEEDS_HOOKS); \
	} \
} while (0)

/*
 * Number of entries in /dev/shm whose name starts with "aggregate" that
 * are left behind: all but "aggregate-PID-N" of a process still running.
 * A running supervisor's name lasts only from its shm_open() to the
 * shm_unlink() right after (ipc/shm.c); with a program's tests run two at
 * a time, another test's run may be in that instant, and that is not a
 * leftover.
 */
int tu_shm_count(void);

/*
 * Fail a hung test instead of stalling the suite: SIGALRM kills the test's
 * process after the given seconds (Criterion's own .timeout leaks memory
 * in its runner, which the sanitizer build reports).
 */
void tu_watchdog(unsigned seconds);

#endif
