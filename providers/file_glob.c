/*
 * file_glob.c - globs with "**" (file_glob.h).
 *
 * A pattern without a "**" component goes to glob(3) as it is (with
 * GLOB_BRACE).  One with it has its braces expanded here first (a brace
 * may hold a "/" or the "**" itself), then each expansion is cut at its
 * first "**" component: the part before names the base folders (a glob
 * itself), the walk below each base lists it and every folder under it,
 * and the part after is matched by glob(3) in each of them (again through
 * here, when it holds another "**").  Folder names found by the walk are
 * escaped before they become part of a pattern.
 *
 * Invariant: every name this adds to g was added by glob(3) itself, so g
 * owns it and globfree() frees it.
 */
#include "file_glob.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/buf.h"

/* glob(3) appending to g when g holds something already. */
static int glob_add(const char *pattern, int flags, glob_t *g)
{
	return glob(pattern, flags | (g->gl_pathc > 0 ? GLOB_APPEND : 0), NULL,
		    g);
}

/* Merge two glob results: 0 when either matched, else the worse. */
static int merge_rc(int a, int b)
{
	if (a == GLOB_NOSPACE || b == GLOB_NOSPACE)
		return GLOB_NOSPACE;
	if (a == GLOB_ABORTED || b == GLOB_ABORTED)
		return GLOB_ABORTED;
	return a == 0 || b == 0 ? 0 : GLOB_NOMATCH;
}

/* Where the first "**" component of p starts, or NULL. */
static const char *star2(const char *p)
{
	for (const char *s = p; (s = strstr(s, "**")) != NULL; s++)
		if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
			return s;
	return NULL;
}

static bool has_magic(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == '*' || p[i] == '?' || p[i] == '[' || p[i] == '\\')
			return true;
	return false;
}

/*
 * Append name to b with glob(3)'s special characters, and the braces the
 * expansion here reads, escaped.
 */
static int add_escaped(struct buf *b, const char *name, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strchr("*?[]{}\\", name[i]) != NULL && buf_add(b, "\\", 1) < 0)
			return -1;
		if (buf_add(b, name + i, 1) < 0)
			return -1;
	}
	return 0;
}

/* A folder on the walk's way down, to refuse entering it again. */
struct ancestor {
	dev_t dev;
	ino_t ino;
	const struct ancestor *up;
};

static int match_in(struct buf *dir, const char *rest, glob_t *g);

/*
 * The folder dir (escaped, "" or ending in "/"; its real name is real)
 * and every folder under it: rest matched in each.
 */
static int walk(struct buf *dir, const char *real, const char *rest,
		const struct ancestor *up, glob_t *g)
{
	struct stat st;
	struct ancestor me;
	size_t dlen = dir->len;
	DIR *d;
	struct dirent *e;
	int rc;

	if (stat(*real ? real : ".", &st) < 0 || !S_ISDIR(st.st_mode))
		return GLOB_NOMATCH;
	for (const struct ancestor *a = up; a != NULL; a = a->up)
		if (a->dev == st.st_dev && a->ino == st.st_ino)
			return GLOB_NOMATCH; /* a link back up: no loop */
	me = (struct ancestor){ st.st_dev, st.st_ino, up };
	rc = match_in(dir, rest, g);
	if (rc == GLOB_NOSPACE)
		return rc;
	d = opendir(*real ? real : ".");
	if (d == NULL)
		return rc; /* unreadable: passed over, as glob(3) does */
	while ((e = readdir(d)) != NULL) {
		struct buf sub = { 0 };
		int r;

		/* Hidden folders are not entered: "**" is "*" for folders. */
		if (e->d_name[0] == '.')
			continue;
		if (e->d_type != DT_DIR && e->d_type != DT_LNK &&
		    e->d_type != DT_UNKNOWN)
			continue;
		if (buf_addstr(&sub, real) < 0 ||
		    buf_addstr(&sub, e->d_name) < 0 || buf_add(&sub, "/", 2) < 0 ||
		    add_escaped(dir, e->d_name, strlen(e->d_name)) < 0 ||
		    buf_add(dir, "/", 1) < 0) {
			buf_free(&sub);
			rc = GLOB_NOSPACE;
			break;
		}
		r = walk(dir, (const char *)sub.p, rest, &me, g);
		buf_free(&sub);
		dir->len = dlen;
		rc = merge_rc(rc, r);
		if (rc == GLOB_NOSPACE)
			break;
	}
	closedir(d);
	return rc;
}

/* rest (after a "**") matched in the folder dir (escaped, as in walk). */
static int match_in(struct buf *dir, const char *rest, glob_t *g)
{
	size_t dlen = dir->len;
	int rc;

	/* "**" last in the pattern: everything in each folder. */
	if (buf_addstr(dir, *rest ? rest : "*") < 0 || buf_add(dir, "", 1) < 0) {
		dir->len = dlen;
		return GLOB_NOSPACE;
	}
	rc = star2((const char *)dir->p + dlen) != NULL ?
	     file_glob((const char *)dir->p, g) :
	     glob_add((const char *)dir->p, 0, g);
	dir->len = dlen;
	return rc;
}

/* One pattern without braces that holds a "**" component at s. */
static int glob_star2(const char *p, const char *s, glob_t *g)
{
	const char *rest = s[2] == '/' ? s + 3 : s + 2;
	size_t plen = (size_t)(s - p);
	glob_t base = { 0 };
	struct buf dir = { 0 };
	int rc = GLOB_NOMATCH;

	/* The base folders: the part before "**", itself a glob or not. */
	if (plen > 0 && has_magic(p, plen)) {
		/* Without its last "/": GLOB_MARK puts one on folders. */
		char *bp = strndup(p, plen > 1 && p[plen - 1] == '/' ? plen - 1
								     : plen);
		int r;

		if (bp == NULL)
			return GLOB_NOSPACE;
		r = glob(bp, GLOB_ONLYDIR | GLOB_MARK, NULL, &base);
		free(bp);
		if (r == GLOB_NOSPACE || r == GLOB_ABORTED) {
			globfree(&base);
			return r;
		}
		for (size_t i = 0; r == 0 && i < base.gl_pathc; i++) {
			const char *b = base.gl_pathv[i];
			size_t n = strlen(b);

			if (n == 0 || b[n - 1] != '/')
				continue; /* not a folder */
			dir.len = 0;
			if (add_escaped(&dir, b, n) < 0) {
				rc = GLOB_NOSPACE;
				break;
			}
			rc = merge_rc(rc, walk(&dir, b, rest, NULL, g));
			if (rc == GLOB_NOSPACE)
				break;
		}
		globfree(&base);
	} else {
		/* A plain folder name: its escapes stand as they are. */
		char *real = strndup(p, plen);

		if (real == NULL || buf_add(&dir, p, plen) < 0)
			rc = GLOB_NOSPACE;
		else
			rc = walk(&dir, real, rest, NULL, g);
		free(real);
	}
	buf_free(&dir);
	return rc;
}

/* Where the brace that opens at p[0] closes, or NULL; *comma: has one. */
static const char *brace_end(const char *p, bool *comma)
{
	int depth = 0;

	*comma = false;
	for (; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
		} else if (*p == '{') {
			depth++;
		} else if (*p == '}') {
			if (--depth == 0)
				return p;
		} else if (*p == ',' && depth == 1) {
			*comma = true;
		}
	}
	return NULL;
}

/*
 * Expand the braces of p (those with a comma; others stay as they are)
 * and glob each expansion.  *left counts the expansions still allowed.
 */
static int expand(const char *p, int *left, glob_t *g)
{
	const char *open = NULL, *close = NULL, *s;
	bool comma = false;
	int rc = GLOB_NOMATCH;

	for (const char *q = p; *q; q++) {
		if (*q == '\\' && q[1]) {
			q++;
		} else if (*q == '{' && (close = brace_end(q, &comma)) && comma) {
			open = q;
			break;
		}
	}
	if (open == NULL) {
		if (--*left < 0)
			return GLOB_NOSPACE;
		s = star2(p);
		return s ? glob_star2(p, s, g) : glob_add(p, 0, g);
	}
	/* Each alternative between open and close, at depth 1. */
	for (const char *a = open + 1; a <= close;) {
		const char *e = a;
		int depth = 0;
		struct buf one = { 0 };
		int r;

		for (; e < close; e++) {
			if (*e == '\\' && e + 1 < close)
				e++;
			else if (*e == '{')
				depth++;
			else if (*e == '}')
				depth--;
			else if (*e == ',' && depth == 0)
				break;
		}
		if (buf_add(&one, p, (size_t)(open - p)) < 0 ||
		    buf_add(&one, a, (size_t)(e - a)) < 0 ||
		    buf_add(&one, close + 1, strlen(close + 1) + 1) < 0) {
			buf_free(&one);
			return GLOB_NOSPACE;
		}
		r = expand((const char *)one.p, left, g);
		buf_free(&one);
		rc = merge_rc(rc, r);
		if (rc == GLOB_NOSPACE)
			return rc;
		a = e + 1;
	}
	return rc;
}

int file_glob(const char *pattern, glob_t *g)
{
	int left = FILE_GLOB_MAX_ALTS;

	/* No "**" at all: glob(3) alone, as it always was. */
	if (strstr(pattern, "**") == NULL)
		return glob_add(pattern, GLOB_BRACE, g);
	return expand(pattern, &left, g);
}
