/*
 * outfile.c - the one place that decides how a file of the run is written
 * (see outfile.h): a stream, or a temporary renamed over the real target.
 *
 * Invariants:
 *  - A target is only ever replaced by rename(2) in outfile_commit(), and
 *    only a regular file (or a name that does not exist yet) is: a symlink
 *    is resolved first, so the link survives and its target is replaced; a
 *    FIFO or a device is never renamed over.
 *  - Temporaries live in the target's folder (so the rename is atomic) as
 *    ".NAME.aggregate-PID.XXXXXX": the dot keeps them out of globs, the pid
 *    lets a later run tell a dead run's leftover from a live one's.
 */
#include "outfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/sysio.h"

/* Symlinks followed before a path counts as a loop (as the kernel). */
#define OUTFILE_MAX_LINKS 40

/* Bytes copied at a time by OUTFILE_APPEND. */
#define OUTFILE_COPY_BUF (256u * 1024u)

/* The folder part of path ("." when there is none); malloc'd or NULL. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* A name that does not exist (yet) in an existing folder: realpath. */
static int locate_absent(const char *path, const char *what,
			 struct outfile_loc *loc, char *err, size_t errlen)
{
	const char *base = base_of(path);
	char *dir = dir_of(path), *rdir = NULL;
	struct stat st;
	int rc = -1;

	if (dir == NULL)
		goto out_oom;
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		snprintf(err, errlen, "%s %s is a folder", what, path);
		goto out;
	}
	rdir = realpath(dir, NULL);
	if (rdir == NULL || stat(rdir, &st) < 0) {
		if (errno == ENOENT)
			snprintf(err, errlen, "%s folder %s does not exist",
				 what, dir);
		else if (errno == ENOTDIR)
			snprintf(err, errlen, "%s folder %s is not a folder",
				 what, dir);
		else
			snprintf(err, errlen, "cannot use %s folder %s: %s",
				 what, dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s folder %s is not a folder", what, dir);
		goto out;
	}
	if (asprintf(&loc->real, "%s/%s", strcmp(rdir, "/") ? rdir : "",
		     base) < 0) {
		loc->real = NULL;
		goto out_oom;
	}
	rc = 0;
	goto out;
out_oom:
	snprintf(err, errlen, "out of memory opening %s %s", what, path);
out:
	free(rdir);
	free(dir);
	return rc;
}

/*
 * path does not lead to an existing file: follow its symlinks one hop at a
 * time to the name they end on (a dangling link's target), which is then
 * created in its folder.
 */
static int locate_dangling(const char *path, const char *what,
			   struct outfile_loc *loc, char *err, size_t errlen)
{
	char *cur = strdup(path), *link = NULL, *dir = NULL, *next;
	struct stat st;
	int rc = -1;

	if (cur == NULL)
		goto out_oom;
	for (int hops = 0;; hops++) {
		ssize_t n;

		if (lstat(cur, &st) < 0) {
			if (errno != ENOENT && errno != ENOTDIR) {
				snprintf(err, errlen, "cannot use %s %s: %s",
					 what, path, strerror(errno));
				goto out;
			}
			rc = locate_absent(cur, what, loc, err, errlen);
			goto out;
		}
		if (!S_ISLNK(st.st_mode) || hops == OUTFILE_MAX_LINKS) {
			/* It appeared meanwhile, or a loop: as open(2) says. */
			snprintf(err, errlen, "cannot use %s %s: %s", what, path,
				 strerror(S_ISLNK(st.st_mode) ? ELOOP : EEXIST));
			goto out;
		}
		link = malloc(PATH_MAX);
		if (link == NULL)
			goto out_oom;
		n = readlink(cur, link, PATH_MAX - 1);
		if (n < 0) {
			snprintf(err, errlen, "cannot use %s %s: %s", what,
				 path, strerror(errno));
			goto out;
		}
		link[n] = '\0';
		dir = dir_of(cur);
		if (dir == NULL ||
		    asprintf(&next, "%s/%s", link[0] == '/' ? "" : dir,
			     link) < 0)
			goto out_oom;
		free(dir);
		free(link);
		free(cur);
		dir = link = NULL;
		cur = next;
	}
out_oom:
	snprintf(err, errlen, "out of memory opening %s %s", what, path);
out:
	free(dir);
	free(link);
	free(cur);
	return rc;
}

int outfile_locate(const char *path, const char *what, unsigned flags,
		   struct outfile_loc *loc, char *err, size_t errlen)
{
	struct stat st;

	*loc = (struct outfile_loc){ 0 };
	if ((flags & OUTFILE_STDOUT) && strcmp(path, "-") == 0) {
		loc->stream = true;
		return 0;
	}
	/*
	 * The kernel follows the links, the /proc ones too (/dev/stdout on a
	 * pipe); only a path that leads nowhere is walked by hand.
	 */
	if (stat(path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return locate_dangling(path, what, loc, err, errlen);
		snprintf(err, errlen, "cannot use %s %s: %s", what, path,
			 strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s %s is a folder", what, path);
		return -1;
	}
	if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) &&
	    !S_ISCHR(st.st_mode)) {
		snprintf(err, errlen,
			 "%s %s is not a file, a FIFO or a character device",
			 what, path);
		return -1;
	}
	loc->stream = !S_ISREG(st.st_mode);
	loc->fifo = S_ISFIFO(st.st_mode);
	loc->real = realpath(path, NULL);
	/* A stream is opened by the name given: a pipe has no real path. */
	if (loc->real == NULL && loc->stream)
		return 0;
	if (loc->real == NULL) {
		snprintf(err, errlen, "cannot use %s %s: %s", what, path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

int outfile_check(const char *path, const char *what, unsigned flags,
		  char *err, size_t errlen)
{
	struct outfile_loc loc;
	char *dir = NULL;
	int rc = -1;

	if (outfile_locate(path, what, flags, &loc, err, errlen) < 0)
		return -1;
	if (loc.real == NULL) { /* stdout, or a pipe such as /dev/stdout */
		rc = 0;
		goto out;
	}
	if (loc.stream) {
		if (access(loc.real, W_OK) < 0) {
			snprintf(err, errlen, "cannot write %s %s: %s", what,
				 path, strerror(errno));
			goto out;
		}
		rc = 0;
		goto out;
	}
	dir = dir_of(loc.real);
	if (dir == NULL) {
		snprintf(err, errlen, "out of memory checking %s %s", what, path);
		goto out;
	}
	if (access(dir, W_OK | X_OK) < 0) {
		snprintf(err, errlen, "%s folder %s is not writable: %s", what,
			 dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(dir);
	free(loc.real);
	return rc;
}

/* The process's umask, read without leaving it changed. */
static mode_t current_umask(void)
{
	/* The callers are single-threaded, so the brief change is unseen. */
	mode_t m = umask(0);

	umask(m);
	return m;
}

/*
 * Copy the target's bytes into the temporary (OUTFILE_APPEND), and a
 * newline if its last line has none.  A missing target copies nothing.
 */
static int copy_old(struct outfile *o, char *err, size_t errlen)
{
	char *buf = NULL;
	char last = '\n';
	int in = open(o->target, O_RDONLY | O_CLOEXEC), rc = -1;
	ssize_t n;

	if (in < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read %s %s: %s", o->what,
			 o->name, strerror(errno));
		return -1;
	}
	buf = malloc(OUTFILE_COPY_BUF);
	if (buf == NULL) {
		snprintf(err, errlen, "out of memory opening %s %s", o->what,
			 o->name);
		goto out;
	}
	while ((n = read(in, buf, OUTFILE_COPY_BUF)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "cannot read %s %s: %s", o->what,
				 o->name, strerror(errno));
			goto out;
		}
		if (sys_write_all(o->fd, buf, (size_t)n) < 0)
			goto out_write;
		o->kept += n;
		last = buf[n - 1];
	}
	if (last != '\n') {
		if (sys_write_all(o->fd, "\n", 1) < 0)
			goto out_write;
		o->kept++;
	}
	rc = 0;
	goto out;
out_write:
	snprintf(err, errlen, "cannot write %s %s: %s", o->what, o->name,
		 strerror(errno));
out:
	free(buf);
	close(in);
	return rc;
}

int outfile_open(struct outfile *o, const char *path, const char *what,
		 unsigned flags, char *err, size_t errlen)
{
	struct outfile_loc loc;
	char *dir = NULL;
	int rc = -1;

	*o = (struct outfile){ .fd = -1, .what = what };
	if (outfile_locate(path, what, flags, &loc, err, errlen) < 0)
		return -1;
	o->name = strdup((flags & OUTFILE_STDOUT) && strcmp(path, "-") == 0
			 ? "stdout" : path);
	if (o->name == NULL)
		goto out_oom;
	o->stream = loc.stream;
	if (loc.stream) {
		if ((flags & OUTFILE_STDOUT) && strcmp(path, "-") == 0) {
			o->fd = STDOUT_FILENO;
			rc = 0;
			goto out;
		}
		/* A FIFO blocks here until it has a reader. */
		do
			o->fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		while (o->fd < 0 && errno == EINTR);
		if (o->fd < 0) {
			snprintf(err, errlen, "cannot open %s %s: %s", what,
				 path, strerror(errno));
			goto out;
		}
		rc = 0;
		goto out;
	}
	o->target = loc.real;
	loc.real = NULL;
	dir = dir_of(o->target);
	if (dir == NULL ||
	    asprintf(&o->tmp, "%s/.%s.aggregate-%ld.XXXXXX",
		     strcmp(dir, "/") ? dir : "", base_of(o->target),
		     (long)getpid()) < 0) {
		o->tmp = NULL;
		goto out_oom;
	}
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0) {
		snprintf(err, errlen, "cannot create a temporary file in %s: %s",
			 dir, strerror(errno));
		goto out;
	}
	/* mkstemp makes 0600; the output should look like any new file. */
	if (fchmod(o->fd, 0666 & ~current_umask()) < 0) {
		snprintf(err, errlen, "cannot set the mode of %s: %s", o->tmp,
			 strerror(errno));
		goto out;
	}
	if ((flags & OUTFILE_APPEND) && copy_old(o, err, errlen) < 0)
		goto out;
	rc = 0;
	goto out;
out_oom:
	snprintf(err, errlen, "out of memory opening %s %s", what, path);
out:
	free(dir);
	free(loc.real);
	if (rc < 0)
		outfile_abort(o);
	return rc;
}

/* fsync the folder of path, where a rename was just made. */
static int fsync_dir(const char *path)
{
	char *dir = dir_of(path);
	int fd, rc = -1;

	if (dir == NULL) {
		errno = ENOMEM;
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		goto out_free;
	rc = fsync(fd);
	/* Some file systems cannot fsync a folder; the rename is done. */
	if (rc < 0 && (errno == EINVAL || errno == EROFS))
		rc = 0;
	close(fd);
out_free:
	free(dir);
	return rc;
}

int outfile_commit(struct outfile *o, char *err, size_t errlen)
{
	int rc = -1, fd = o->fd;

	o->fd = -1;
	if (o->stream) {
		if (fd != STDOUT_FILENO && fd >= 0 && close(fd) < 0) {
			snprintf(err, errlen, "cannot write %s %s: %s",
				 o->what, o->name, strerror(errno));
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (fsync(fd) < 0) {
		snprintf(err, errlen, "cannot write %s %s: %s", o->what,
			 o->name, strerror(errno));
		close(fd);
		goto out_unlink;
	}
	if (close(fd) < 0) {
		snprintf(err, errlen, "cannot write %s %s: %s", o->what,
			 o->name, strerror(errno));
		goto out_unlink;
	}
	if (rename(o->tmp, o->target) < 0) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", o->tmp,
			 o->target, strerror(errno));
		goto out_unlink;
	}
	if (fsync_dir(o->target) < 0) {
		snprintf(err, errlen, "cannot sync the folder of %s: %s",
			 o->target, strerror(errno));
		goto out;
	}
	rc = 0;
	goto out;
out_unlink:
	unlink(o->tmp);
out:
	free(o->tmp);
	o->tmp = NULL;
	outfile_abort(o);
	return rc;
}

void outfile_abort(struct outfile *o)
{
	if (o->fd >= 0 && o->fd != STDOUT_FILENO)
		close(o->fd);
	if (o->fd >= 0 && o->tmp != NULL)
		unlink(o->tmp);
	o->fd = -1;
	free(o->tmp);
	free(o->target);
	free(o->name);
	o->tmp = NULL;
	o->target = NULL;
	o->name = NULL;
}

/*
 * The pid in name when it is one of our temporaries for base
 * (".BASE.aggregate-PID.XXXXXX"), else 0.
 */
static pid_t temp_owner(const char *name, const char *base)
{
	static const char tag[] = ".aggregate-";
	size_t bl = strlen(base);
	const char *p;
	char *end;
	long pid;

	if (name[0] != '.' || strncmp(name + 1, base, bl) != 0 ||
	    strncmp(name + 1 + bl, tag, sizeof tag - 1) != 0)
		return 0;
	p = name + 1 + bl + sizeof tag - 1;
	if (*p < '1' || *p > '9')
		return 0;
	errno = 0;
	pid = strtol(p, &end, 10);
	if (errno || pid <= 0 || pid > INT_MAX || *end != '.' ||
	    strlen(end + 1) != 6)
		return 0;
	return (pid_t)pid;
}

int outfile_clean(const char *path, unsigned flags)
{
	struct outfile_loc loc;
	char err[256], *dir = NULL, *victim = NULL;
	const char *base;
	struct dirent *e;
	DIR *d = NULL;
	int removed = 0;

	if (outfile_locate(path, "output", flags, &loc, err, sizeof err) < 0)
		return 0;
	if (loc.stream)
		goto out;
	dir = dir_of(loc.real);
	if (dir == NULL || (d = opendir(dir)) == NULL)
		goto out;
	base = base_of(loc.real);
	while ((e = readdir(d)) != NULL) {
		pid_t pid = temp_owner(e->d_name, base);

		/*
		 * Ours from an earlier life, or a process that is gone: no
		 * run writes this target but the lock holder, and it has
		 * not made its temporary yet.  EPERM means alive.
		 */
		if (pid == 0 ||
		    (pid != getpid() && !(kill(pid, 0) < 0 && errno == ESRCH)))
			continue;
		if (asprintf(&victim, "%s/%s", dir, e->d_name) < 0)
			break;
		if (unlink(victim) == 0)
			removed++;
		free(victim);
		victim = NULL;
	}
out:
	if (d != NULL)
		closedir(d);
	free(dir);
	free(loc.real);
	return removed;
}

/* FNV-1a, 64 bits: a short stable name for a path. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

char *outfile_lock_path(const char *real)
{
	const char *dir = "/run/lock";
	struct stat st;
	char *p;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    access(dir, W_OK | X_OK) < 0) {
		dir = getenv("TMPDIR");
		if (dir == NULL || *dir == '\0')
			dir = "/tmp";
	}
	if (asprintf(&p, "%s/aggregate-%016llx.lock", dir,
		     (unsigned long long)fnv1a(real)) < 0)
		return NULL;
	return p;
}
