/*
 * testutil.c - see testutil.h.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

const char *tu_bin(void)
{
	const char *b = getenv("AGG_BIN");

	return b && *b ? b : "./aggregate";
}

const char *tu_srcdir(void)
{
	const char *s = getenv("AGG_SRCDIR");

	return s && *s ? s : ".";
}

char *tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *p;

	if (asprintf(&p, "%s/aggtest.XXXXXX", base && *base ? base : "/tmp") < 0)
		abort();
	if (mkdtemp(p) == NULL)
		abort();
	return p;
}

static int rm_one(const char *path, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tu_rmrf(const char *path)
{
	if (path)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_tmpdir_free(char **dir)
{
	tu_rmrf(*dir);
	free(*dir);
	*dir = NULL;
}

#define TU_NOBODY 65534

static int chown_one(const char *path, const struct stat *sb, int flag,
		     struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return lchown(path, TU_NOBODY, TU_NOBODY);
}

int tu_drop_root(const char *dir)
{
	if (geteuid() != 0)
		return 0;
	if (nftw(dir, chown_one, 16, FTW_PHYS) != 0 ||
	    setgroups(0, NULL) != 0 || setgid(TU_NOBODY) != 0 ||
	    setuid(TU_NOBODY) != 0)
		return -1;
	/*
	 * A change of user makes the process undumpable, which also forbids
	 * ptrace: LeakSanitizer's end-of-process check needs it.
	 */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
		return -1;
	/* Make sure: an unprivileged user cannot become root again. */
	if (setuid(0) == 0) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

char *tu_path(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

void tu_write(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(content, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		abort();
	}
}

void tu_put(const char *dir, const char *name, const char *content)
{
	char *p = tu_path(dir, name);

	tu_write(p, content);
	free(p);
}

char *tu_get(const char *dir, const char *name)
{
	char *p = tu_path(dir, name);
	char *s = tu_read(p, NULL);

	free(p);
	return s;
}

int tu_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

char *tu_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (f == NULL)
		return NULL;
	do {
		if (n + 65536 + 1 > cap) {
			cap = (n + 65536 + 1) * 2;
			buf = realloc(buf, cap);
			if (buf == NULL)
				abort();
		}
		got = fread(buf + n, 1, 65536, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

bool tu_read_some(int fd, char **buf, size_t *len, size_t *cap)
{
	char tmp[65536];
	ssize_t n = read(fd, tmp, sizeof tmp);

	if (n <= 0)
		return n < 0 && errno == EINTR;
	if (*len + (size_t)n + 1 > *cap) {
		*cap = (*len + (size_t)n + 1) * 2;
		*buf = realloc(*buf, *cap);
		if (*buf == NULL)
			abort();
	}
	memcpy(*buf + *len, tmp, (size_t)n);
	*len += (size_t)n;
	(*buf)[*len] = '\0';
	return true;
}

int tu_run(struct tu_result *r, const char *cwd, const char *const *args,
	   const char *const *env)
{
	int out[2], err[2], status;
	size_t olen = 0, ocap = 1, elen = 0, ecap = 1;
	pid_t pid;
	int nargs = 0;

	memset(r, 0, sizeof *r);
	r->out = calloc(1, 1);
	r->err = calloc(1, 1);
	if (pipe(out) < 0 || pipe(err) < 0)
		abort();
	while (args[nargs])
		nargs++;
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		const char **argv = calloc((size_t)nargs + 2, sizeof *argv);

		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		close(out[1]);
		close(err[1]);
		if (cwd && chdir(cwd) < 0)
			_exit(127);
		for (int i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		argv[0] = tu_bin();
		for (int i = 0; i < nargs; i++)
			argv[i + 1] = args[i];
		execv(tu_bin(), (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	struct pollfd p[2] = { { .fd = out[0], .events = POLLIN },
			       { .fd = err[0], .events = POLLIN } };
	bool open_out = true, open_err = true;

	while (open_out || open_err) {
		p[0].fd = open_out ? out[0] : -1;
		p[1].fd = open_err ? err[0] : -1;
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (open_out && p[0].revents)
			open_out = tu_read_some(out[0], &r->out, &olen, &ocap);
		if (open_err && p[1].revents)
			open_err = tu_read_some(err[0], &r->err, &elen, &ecap);
	}
	close(out[0]);
	close(err[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	r->status = WIFEXITED(status) ? WEXITSTATUS(status)
				      : 128 + WTERMSIG(status);
	return r->status;
}

bool tu_bin_has_hooks(void)
{
	static int has = -1;
	struct tu_result r;

	if (has < 0) {
		tu_run(&r, "/", (const char *const[]){ "-V", NULL }, NULL);
		has = r.status == 0 && strstr(r.out, " (test build)") != NULL;
		tu_result_free(&r);
	}
	return has == 1;
}

void tu_result_free(struct tu_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* Whether name is "aggregate-PID-N" of a process still running. */
static bool shm_name_live(const char *name)
{
	long pid;
	unsigned n;
	int end = 0;

	if (sscanf(name, "aggregate-%ld-%u%n", &pid, &n, &end) != 2 ||
	    name[end] != '\0' || pid <= 0)
		return false;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

int tu_shm_count(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "aggregate", 9) == 0 &&
		    !shm_name_live(e->d_name))
			n++;
	closedir(d);
	return n;
}

void tu_watchdog(unsigned seconds)
{
	alarm(seconds);
}

bool tu_under_asan(void)
{
	const char *s = getenv("AGG_TEST_SCALE");

	return s != NULL && strcmp(s, "asan") == 0;
}

int tu_scale(int n)
{
	return tu_under_asan() ? n / 10 : n;
}

uint64_t tu_rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

void tu_csv_text(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}
