/*
 * proc.h - the aggregate binary as a process a test watches while it runs:
 * started by hand with its stderr in a pipe, read as it comes, waited for;
 * and the processes it forks, found in /proc.
 *
 * For tests that act on a run midway (kill a provider, stop the
 * aggregator, signal the supervisor) when they see a log line, where
 * tu_run(), which returns at the end, cannot.  The functions fail the
 * calling Criterion test (cr_assert) when a system call does; a wait is
 * bounded by the test's tu_watchdog().
 */
#ifndef AGG_TEST_PROC_H
#define AGG_TEST_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct proc {
	pid_t pid;
	int err_fd;             /* read end of its stderr */
	char *err;              /* stderr so far, NUL-terminated; free() it */
	size_t len, cap;
};

/*
 * Start tu_bin() in folder dir with the arguments args (NULL-terminated,
 * after argv[0]) and the entries of env added to its environment
 * ("NAME=value", NULL-terminated; may be NULL).  stdin and stdout are
 * /dev/null, stderr the pipe.  prepare, if not NULL, runs in the child
 * right before exec with prepare_arg (to close fd 2, lower a limit...); it
 * may _exit().  A child that cannot enter dir or exec exits 127.
 */
void proc_spawn(struct proc *p, const char *dir, const char *const *args,
		const char *const *env, void (*prepare)(void *),
		void *prepare_arg);

/* Read what stderr has now (blocking for some); false at EOF. */
bool proc_slurp(struct proc *p);

/* Wait until stderr holds text n times; fails the test at EOF before. */
void proc_wait_text(struct proc *p, const char *text, int n);

/*
 * Read stderr to EOF, close it and reap the process; the exit status as
 * tu_run gives it (128 + signal when killed).
 */
int proc_finish(struct proc *p);

/* How many times needle occurs in hay. */
int proc_count(const char *hay, const char *needle);

/* The parent pid in /proc/PID/stat, -1 if the process is gone. */
pid_t proc_ppid_of(pid_t pid);

/* The command line of pid as ps shows it ("" if gone), into out. */
void proc_title_of(pid_t pid, char *out, size_t len);

/* The children of ppid (at most max, into out); returns how many. */
int proc_children_of(pid_t ppid, pid_t *out, int max);

/* The child of parent whose title is title; 0 if none. */
pid_t proc_child_titled(pid_t parent, const char *title);
/*
 * The same, waiting for it: for a child that must exist and may not have
 * run yet (it takes its title when it does).  Fails the test if parent
 * goes first.
 */
pid_t proc_wait_child_titled(pid_t parent, const char *title);

#endif
