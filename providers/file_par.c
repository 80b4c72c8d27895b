/*
 * file_par.c - cutting a file provider's input into byte ranges
 * (file_par.h): where the cuts go, the scan that tells --check whether a
 * cut falls inside a quoted field, and the line count a range's messages
 * start from.
 *
 * Everything here reads the files with read()/pread() in pieces of
 * PAR_CHUNK bytes, never mapping them: the supervisor that plans must
 * not grow with the input.
 */
#include "file_par.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_conf.h"
#include "file_src.h"

#define PAR_CHUNK ((size_t)1 << 20)

/* Ranges' least size: FILE_PAR_MIN_RANGE, or the test build's setting. */
static uint64_t min_range(void)
{
#ifdef AGG_TESTING
	const char *v = getenv("AGG_PARALLEL_MIN_RANGE");

	if (v && *v) {
		char *end;
		unsigned long long n = strtoull(v, &end, 10);

		if (*end == '\0' && n > 0)
			return n;
	}
#endif
	return FILE_PAR_MIN_RANGE;
}

/* The offset just after the first LF at or after off - 1 (off > 0). */
static uint64_t snap(int fd, uint64_t off, uint64_t size, char *buf)
{
	uint64_t at = off - 1;

	while (at < size) {
		ssize_t n = pread(fd, buf, PAR_CHUNK, (off_t)at);
		const char *lf;

		if (n <= 0)
			return size;
		lf = memchr(buf, '\n', (size_t)n);
		if (lf)
			return at + (uint64_t)(lf - buf) + 1;
		at += (uint64_t)n;
	}
	return size;
}

/* csv.c's states, as far as they decide where a line ends. */
enum qstate { Q_OUT, Q_IN, Q_SEEN, Q_CR, Q_BAD };

/* Where a scan of one file is: its state after the byte before at. */
struct qscan {
	enum qstate st;
	char prev;          /* the byte before at ('\n' at the start) */
	uint64_t at;
};

/*
 * Move q over the file's bytes up to upto, by csv.c's quote states.
 * Outside quotes only the quote character matters, found by memchr;
 * whether it opens a field depends on the byte before it (a delimiter,
 * an LF or the file's start), as in csv.c, where a quote inside an
 * unquoted field makes the record malformed up to the next LF.  Inside
 * quotes only the quote matters too: a line feed there is data.  Returns
 * 0, or -1 when the file cannot be read.
 */
static int qscan(int fd, struct qscan *q, uint64_t upto, char quote,
		 char delim, char *buf)
{
	while (q->at < upto) {
		size_t want = upto - q->at < PAR_CHUNK ? (size_t)(upto - q->at)
							: PAR_CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)q->at);
		const char *p = buf, *end, *c;

		if (n <= 0)
			return -1;
		end = buf + n;
		/* A byte order mark is not data: csv.c skips it. */
		if (q->at == 0 && file_has_bom(buf, (size_t)n))
			p += 3;
		while (p < end) {
			switch (q->st) {
			case Q_OUT:
				c = memchr(p, quote, (size_t)(end - p));
				if (c == NULL) {
					p = end;
					break;
				}
				if (c > p)
					q->prev = c[-1];
				q->st = q->prev == '\n' || q->prev == delim
					? Q_IN : Q_BAD;
				p = c + 1;
				break;
			case Q_IN:
				c = memchr(p, quote, (size_t)(end - p));
				if (c == NULL) {
					p = end;
					break;
				}
				q->st = Q_SEEN;
				p = c + 1;
				break;
			case Q_SEEN:
				q->st = *p == quote ? Q_IN
				      : *p == delim || *p == '\n' ? Q_OUT
				      : *p == '\r' ? Q_CR : Q_BAD;
				p++;
				break;
			case Q_CR:
				q->st = *p == '\n' ? Q_OUT : Q_BAD;
				p++;
				break;
			case Q_BAD:
				c = memchr(p, '\n', (size_t)(end - p));
				if (c == NULL) {
					p = end;
					break;
				}
				q->st = Q_OUT;
				p = c + 1;
				break;
			}
			if (p > buf)
				q->prev = p[-1];
		}
		q->at += (uint64_t)n;
	}
	return 0;
}

int64_t file_par_lines_before(const char *name, uint64_t off)
{
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	char *buf = malloc(PAR_CHUNK);
	int64_t lines = 0;
	uint64_t done = 0;

	if (fd < 0 || buf == NULL) {
		if (fd >= 0)
			close(fd);
		free(buf);
		return -1;
	}
	while (done < off) {
		size_t want = off - done < PAR_CHUNK ? (size_t)(off - done)
						     : PAR_CHUNK;
		ssize_t n = read(fd, buf, want);
		const char *p = buf, *end;

		if (n <= 0) {
			lines = -1;
			break;
		}
		end = buf + n;
		while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			lines++;
			p++;
		}
		done += (uint64_t)n;
	}
	close(fd);
	free(buf);
	return lines;
}

/* One file as the plan sees it. */
struct pfile {
	uint64_t size, start;   /* its bytes, and where they start in all */
	int fd;                 /* open while it may be cut; -1 else */
	bool tried;             /* cuttable() asked */
};

/* Add "NAME: WHAT" to the plan's notes. */
static void note(struct file_plan *pl, const char *name, const char *what)
{
	size_t len = strlen(pl->why);

	if (len + 2 < sizeof pl->why)
		snprintf(pl->why + len, sizeof pl->why - len, "%s%s: %s",
			 len ? "; " : "", name, what);
}

/* Can a line feed of name be inside a quoted field? */
static bool quoted_csv(const struct cfg_provider *p, const char *name)
{
	return file_kind_of(p, name) == FILE_KIND_CSV &&
	       file_conf(p)->quote != 0;
}

/* May file i of the list be cut?  Opens it (f->fd) when it may. */
static bool cuttable(const struct cfg_provider *p, struct file_plan *pl,
		     size_t i, struct pfile *f, uint64_t least)
{
	const char *name = pl->names[i];
	const struct file_conf *fc = file_conf(p);
	int kind = file_kind_of(p, name);
	size_t len = strlen(name);

	if (kind == FILE_KIND_JSON) {
		note(pl, name, "a JSON array is read whole");
		return false;
	}
	if (kind < 0)
		return false;
	if (len > 3 && strcmp(name + len - 3, ".gz") == 0) {
		note(pl, name, "a .gz file is read whole");
		return false;
	}
	if (fc->encoding != NULL) {
		note(pl, name, "a file in another encoding than UTF-8 "
		     "is read whole");
		return false;
	}
	if (f->size < 2 * least)
		return false;
	f->fd = open(name, O_RDONLY | O_CLOEXEC);
	return f->fd >= 0;
}

void file_par_plan(const struct cfg_provider *p, int want,
		   struct file_plan *pl)
{
	uint64_t least = min_range(), *cut = NULL;
	struct pfile *f = NULL;
	const char **names = NULL;
	size_t nnames = 0, ncut = 0, *cutf = NULL;
	char *buf = NULL;
	glob_t g;

	memset(pl, 0, sizeof *pl);
	pl->n = 1;
	if (want == 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);

		want = cores > 1 ? (int)(cores < FILE_MAX_PARALLEL ? cores
						: FILE_MAX_PARALLEL) : 1;
	}
	if (file_match(p, &g, &names, &nnames, pl->why, sizeof pl->why) !=
	    ST_OK) {
		free(names);
		globfree(&g);
		return;
	}
	pl->names = calloc(nnames + 1, sizeof *pl->names);
	f = calloc(nnames + 1, sizeof *f);
	buf = malloc(PAR_CHUNK);
	if (pl->names == NULL || f == NULL || buf == NULL)
		goto out_oom;
	for (size_t i = 0; i < nnames; i++) {
		struct stat st;

		pl->names[i] = strdup(names[i]);
		if (pl->names[i] == NULL)
			goto out_oom;
		pl->nnames = i + 1;
		f[i].fd = -1;
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			f[i].size = (uint64_t)st.st_size;
		f[i].start = pl->total;
		pl->total += f[i].size;
	}
	free(names);
	names = NULL;
	globfree(&g);
	if (want <= 1) {
		snprintf(pl->why, sizeof pl->why, "one core online");
		goto out;
	}
	if (pl->total / least < (uint64_t)want)
		want = (int)(pl->total / least);
	if (want <= 1) {
		snprintf(pl->why, sizeof pl->why, "%" PRIu64 " bytes in all: "
			 "too small for ranges of at least %" PRIu64 " bytes",
			 pl->total, least);
		goto out;
	}
	/*
	 * Cut j at total * j / want, moved to a record start (or to its
	 * file's end); cuts in file order, each past the one before.
	 */
	cut = calloc((size_t)want + 1, sizeof *cut);
	cutf = calloc((size_t)want + 1, sizeof *cutf);
	if (cut == NULL || cutf == NULL)
		goto out_oom;
	for (int j = 1; j < want; j++) {
		uint64_t at = pl->total / (uint64_t)want * (uint64_t)j;
		size_t i = 0;
		uint64_t off;

		while (i + 1 < pl->nnames && f[i + 1].start <= at)
			i++;
		off = at - f[i].start;
		if (!f[i].tried) { /* files only a cut falls in are opened */
			f[i].tried = true;
			(void)cuttable(p, pl, i, &f[i], least);
		}
		if (f[i].fd < 0)
			off = f[i].size;        /* read whole: cut at its end */
		else if (off < least)
			off = 0;                /* near its start: there */
		else if (f[i].size - off < least)
			off = f[i].size;        /* near its end: there */
		else
			off = snap(f[i].fd, off, f[i].size, buf);
		if (off >= f[i].size) {
			i++;
			off = 0;
		}
		if (i >= pl->nnames || (i == 0 && off == 0))
			continue;
		if (ncut > 0 && (cutf[ncut - 1] > i ||
				 (cutf[ncut - 1] == i && cut[ncut - 1] >= off)))
			continue;
		cutf[ncut] = i;
		cut[ncut++] = off;
	}
	if (ncut == 0) {
		if (pl->why[0] == '\0')
			snprintf(pl->why, sizeof pl->why, "no file can be cut "
				 "into ranges of at least %" PRIu64 " bytes",
				 least);
		goto out;
	}
	pl->r = calloc(ncut + 1, sizeof *pl->r);
	if (pl->r == NULL)
		goto out_oom;
	for (size_t j = 0; j <= ncut; j++) {
		struct file_range *r = &pl->r[j];
		size_t ef = j < ncut ? cutf[j] : pl->nnames;
		uint64_t eo = j < ncut ? cut[j] : 0;

		r->first = j ? cutf[j - 1] : 0;
		r->lo = j ? cut[j - 1] : 0;
		r->last = eo ? ef : ef - 1;
		r->hi = eo ? eo : UINT64_MAX;
		r->bytes = (ef < pl->nnames ? f[ef].start + eo : pl->total) -
			   (f[r->first].start + r->lo);
		r->unsure = r->lo > 0 && quoted_csv(p, pl->names[r->first]);
	}
	pl->n = (int)ncut + 1;
	goto out;

out_oom:
	snprintf(pl->why, sizeof pl->why, "out of memory");
	if (names) {
		free(names);
		globfree(&g);
	}
out:
	for (size_t i = 0; f && i < pl->nnames; i++)
		if (f[i].fd >= 0)
			close(f[i].fd);
	free(f);
	free(cut);
	free(cutf);
	free(buf);
}

void file_par_free(struct file_plan *pl)
{
	for (size_t i = 0; i < pl->nnames; i++)
		free(pl->names[i]);
	free(pl->names);
	free(pl->r);
	memset(pl, 0, sizeof *pl);
}

int file_par_cut_in_quotes(const struct cfg_provider *p,
			   const struct file_plan *pl, int *k, int64_t *line)
{
	const struct file_conf *fc = file_conf(p);
	struct qscan q = { .st = Q_OUT, .prev = '\n' };
	char *buf = malloc(PAR_CHUNK);
	size_t open_file = SIZE_MAX;
	int fd = -1, rc = 0;

	if (buf == NULL)
		return -1;
	/* Range j's end is range j + 1's start. */
	for (int j = 1; j < pl->n && rc == 0; j++) {
		const struct file_range *r = &pl->r[j];

		if (!r->unsure)
			continue;
		if (r->first != open_file) {
			if (fd >= 0)
				close(fd);
			fd = open(pl->names[r->first], O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				rc = -1;
				break;
			}
			open_file = r->first;
			q = (struct qscan){ .st = Q_OUT, .prev = '\n' };
		}
		if (qscan(fd, &q, r->lo, fc->quote, fc->delimiter, buf) < 0) {
			rc = -1;
		} else if (q.st == Q_IN) {
			*k = j - 1;
			*line = file_par_lines_before(pl->names[r->first],
						      r->lo) + 1;
			rc = 1;
		}
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}
