/*
 * test_runner.c - the verdict scripts/run-tests.sh gives a test program.
 *
 * The script fails a program on any sanitizer report, even when its tests
 * passed, with one exception: a LeakSanitizer report whose every block was
 * allocated directly inside Criterion's runner (frame #1 in its library),
 * which the runner keeps until it exits.  The runner then exits with the
 * sanitizer's status: 1 in the ASan build, 23 under LeakSanitizer alone.
 * Each test here runs the script on a stand-in program, a shell script that
 * prints what a Criterion runner prints and exits with a given status.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "helpers/testutil.h"

static char *dir;

static void setup(void)
{
	tu_watchdog(60);
	dir = tu_tmpdir();
}

static void teardown(void)
{
	tu_tmpdir_free(&dir);
}

TestSuite(runner, .init = setup, .fini = teardown);

/* The frame above the allocator of a block Criterion's runner keeps. */
#define CRITERION_FRAME "(/lib/x86_64-linux-gnu/libcriterion.so.3+0x1a332)"

/* Criterion's closing line for passed tests of which failing failed. */
static void synthesis(FILE *f, int passed, int failing)
{
	fprintf(f, "echo '[====] Synthesis: Tested: %d | Passing: %d | "
		"Failing: %d | Crashing: 0 '\n", passed + failing, passed,
		failing);
}

/* A LeakSanitizer report of one block, frame1 the frame above calloc. */
static void leak(FILE *f, const char *frame1)
{
	fprintf(f, "cat <<'EOF'\n"
		"=================================================================\n"
		"==4242==ERROR: LeakSanitizer: detected memory leaks\n"
		"\n"
		"Direct leak of 48 byte(s) in 1 object(s) allocated from:\n"
		"    #0 0x7f6300cb83b7 in __interceptor_calloc "
		"asan_malloc_linux.cpp:77\n"
		"    #1 0x7f63012f1332 %s\n"
		"\n"
		"SUMMARY: AddressSanitizer: 48 byte(s) leaked in 1 "
		"allocation(s).\n"
		"EOF\n", frame1);
}

/*
 * Write the stand-in tests/test_fake in dir: what body prints, then exit
 * status; run the script on it without a PostgreSQL.  The script's exit
 * status.
 */
static int verdict(void (*body)(FILE *), int status)
{
	char *tests = tu_path(dir, "tests"), *prog = tu_path(tests, "test_fake");
	char *bin = tu_path(dir, "aggregate"), *log = tu_path(dir, "log");
	char *cmd;
	FILE *f;
	int rc;

	cr_assert(mkdir(tests, 0755) == 0 || errno == EEXIST);
	f = fopen(prog, "w");
	cr_assert_not_null(f);
	fprintf(f, "#!/bin/sh\n");
	body(f);
	fprintf(f, "exit %d\n", status);
	cr_assert(fclose(f) == 0);
	cr_assert(chmod(prog, 0755) == 0);
	tu_write(bin, "");
	if (asprintf(&cmd, "cd '%s' && sh scripts/run-tests.sh -n '%s' "
		     "test_fake >'%s' 2>&1", tu_srcdir(), dir, log) < 0)
		cr_assert_fail("out of memory");
	rc = system(cmd);
	free(cmd);
	free(tests);
	free(prog);
	free(bin);
	free(log);
	cr_assert(WIFEXITED(rc));
	return WEXITSTATUS(rc);
}

static void clean_pass(FILE *f)
{
	synthesis(f, 3, 0);
}

static void criterion_leak(FILE *f)
{
	synthesis(f, 3, 0);
	leak(f, CRITERION_FRAME);
}

static void test_leak(FILE *f)
{
	synthesis(f, 3, 0);
	leak(f, "in setup tests/test_postgres.c:42");
}

static void failed_and_criterion_leak(FILE *f)
{
	synthesis(f, 2, 1);
	leak(f, CRITERION_FRAME);
}

static void ub_report(FILE *f)
{
	synthesis(f, 3, 0);
	fprintf(f, "echo 'providers/csv.c:10:5: runtime error: signed "
		"integer overflow'\n");
}

Test(runner, passes_a_clean_program)
{
	cr_assert_eq(verdict(clean_pass, 0), 0);
}

Test(runner, passes_criterions_own_leak_under_asan_status_1)
{
	cr_assert_eq(verdict(criterion_leak, 1), 0);
}

Test(runner, passes_criterions_own_leak_under_lsan_status_23)
{
	cr_assert_eq(verdict(criterion_leak, 23), 0);
}

Test(runner, fails_criterions_leak_with_another_status)
{
	cr_assert_neq(verdict(criterion_leak, 2), 0);
}

Test(runner, fails_a_leak_allocated_in_a_test)
{
	cr_assert_neq(verdict(test_leak, 1), 0);
	cr_assert_neq(verdict(test_leak, 0), 0);
}

Test(runner, fails_a_failed_test_whatever_the_leak)
{
	cr_assert_neq(verdict(failed_and_criterion_leak, 1), 0);
}

Test(runner, fails_a_runtime_error_in_passed_tests)
{
	cr_assert_neq(verdict(ub_report, 0), 0);
}
