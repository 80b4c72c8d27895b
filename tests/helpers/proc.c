/*
 * proc.c - see proc.h.
 */
#include "proc.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

void proc_spawn(struct proc *p, const char *dir, const char *const *args,
		const char *const *env, void (*prepare)(void *),
		void *prepare_arg)
{
	const char *argv[32] = { tu_bin() };
	int fds[2], n = 1;

	for (int k = 0; args && args[k]; k++) {
		cr_assert_lt(n, 31);
		argv[n++] = args[k];
	}
	memset(p, 0, sizeof *p);
	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	p->pid = fork();
	cr_assert_geq(p->pid, 0);
	if (p->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(fds[1], 2);
		if (chdir(dir) < 0)
			_exit(127);
		for (int k = 0; env && env[k]; k++)
			putenv((char *)env[k]);
		if (prepare)
			prepare(prepare_arg);
		execv(tu_bin(), (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	p->err_fd = fds[0];
	p->cap = 4096;
	p->err = calloc(1, p->cap);
}

bool proc_slurp(struct proc *p)
{
	return tu_read_some(p->err_fd, &p->err, &p->len, &p->cap);
}

int proc_count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

void proc_wait_text(struct proc *p, const char *text, int n)
{
	while (proc_count(p->err, text) < n) {
		struct pollfd pfd = { .fd = p->err_fd, .events = POLLIN };

		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			cr_assert_fail("poll: %s", strerror(errno));
		cr_assert(proc_slurp(p), "aggregate ended before '%s' x%d:\n%s",
			  text, n, p->err);
	}
}

int proc_finish(struct proc *p)
{
	int status;

	while (proc_slurp(p))
		;
	close(p->err_fd);
	while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

pid_t proc_ppid_of(pid_t pid)
{
	char path[64], buf[512], *rp;
	FILE *f;
	size_t n;
	long pp = -1;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	rp = strrchr(buf, ')');
	if (rp == NULL || sscanf(rp + 1, " %*c %ld", &pp) != 1)
		return -1;
	return (pid_t)pp;
}

void proc_title_of(pid_t pid, char *out, size_t len)
{
	char path[64];
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
	out[0] = '\0';
	f = fopen(path, "r");
	if (f == NULL)
		return;
	n = fread(out, 1, len - 1, f);
	fclose(f);
	out[n] = '\0';
}

int proc_children_of(pid_t ppid, pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL && n < max) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end == '\0' && pid > 0 && proc_ppid_of((pid_t)pid) == ppid)
			out[n++] = (pid_t)pid;
	}
	closedir(d);
	return n;
}

pid_t proc_child_titled(pid_t parent, const char *title)
{
	pid_t kids[64];
	int n = proc_children_of(parent, kids, 64);
	char t[256];

	for (int i = 0; i < n; i++) {
		proc_title_of(kids[i], t, sizeof t);
		if (strcmp(t, title) == 0)
			return kids[i];
	}
	return 0;
}

pid_t proc_wait_child_titled(pid_t parent, const char *title)
{
	pid_t pid;

	/*
	 * A child takes its title when it first runs, which on a busy
	 * machine can be after its siblings have said what a test waits for.
	 */
	while ((pid = proc_child_titled(parent, title)) == 0) {
		cr_assert_gt(proc_ppid_of(parent), 0, "pid %ld is gone "
			     "without a child titled %s", (long)parent, title);
		sched_yield();
	}
	return pid;
}
