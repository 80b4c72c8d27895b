/*
 * output.c - the result writers: CSV and JSON Lines, to a file or stdout.
 *
 * How it fits: merge.c opens one writer with out_open(), hands it every row
 * with out_row() and finishes with out_commit() (or out_abort() on any
 * error).  Each output format is a small backend (struct out_backend: open,
 * row, commit, abort); the text formats share one buffered file sink, and
 * the table formats (SQLite, PostgreSQL) plug in as backends of their own.
 *
 * Invariants:
 *  - A file target is only ever replaced by rename(2) in out_commit(): until
 *    then the rows go to "<output>.tmp.XXXXXX" in the same folder, which
 *    out_abort() (and a failed commit) unlinks.  The previous output is
 *    therefore untouched by a failed or interrupted run.
 *  - Rows are formatted straight into one large buffer (no stdio, no
 *    printf per field); the buffer goes out with write(2) when full.  A write
 *    error is sticky: the rest of the row is discarded and out_row() reports
 *    it.
 *  - CSV: RFC 4180, LF line ends; NULL is an empty unquoted field and an
 *    empty string is "" (as PostgreSQL's COPY CSV), so both read back.
 *  - JSON Lines: text is always valid UTF-8 JSON: control characters are
 *    escaped and invalid UTF-8 is replaced by U+FFFD, never copied raw.
 */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "../providers/convert.h"

/* Bytes formatted before they go out in one write(2). */
#define OUT_BUF_SIZE (1024u * 1024u)

/* Room for the longest fixed-width value of any type. */
#define OUT_VALUE_MAX 64

/*
 * A buffered output file: the temporary that becomes path on commit, or
 * stdout (path and tmp NULL).
 */
struct out_file {
	int fd;           /* -1 once closed */
	char *path;       /* the target, as given; NULL for stdout */
	char *tmp;        /* the temporary's name; NULL for stdout */
	char *buf;
	size_t len;       /* bytes waiting in buf */
	int error;        /* errno of the first failed write, or 0 */
};

struct out_backend;

struct out_writer {
	const struct out_backend *be;
	struct out_col *cols;   /* copy of the caller's array */
	int ncols;
	struct out_file file;   /* text formats */
	char **keys;            /* JSON Lines: `"name":` per column, escaped */
	size_t *keylens;
	void *impl;             /* backends with state of their own */
};

/* One output format.  Each function reports errors into err. */
struct out_backend {
	enum cfg_format format;
	int (*open)(struct out_writer *w, const struct cfg *cfg, char *err,
		    size_t errlen);
	int (*row)(struct out_writer *w, const struct rec_value *v, char *err,
		   size_t errlen);
	int (*commit)(struct out_writer *w, char *err, size_t errlen);
	void (*abort)(struct out_writer *w);
};

static const char *format_name(enum cfg_format f)
{
	switch (f) {
	case CFG_FMT_CSV:
		return "csv";
	case CFG_FMT_JSONL:
		return "jsonl";
	case CFG_FMT_SQLITE:
		return "sqlite";
	case CFG_FMT_POSTGRES:
		return "postgres";
	case CFG_FMT_AUTO:
		break;
	}
	return "auto";
}

/* ------------------------------------------------------------------ */
/* The buffered file sink                                              */
/* ------------------------------------------------------------------ */

/* write(2) all of p[0..n), retrying on EINTR and short writes. */
static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/*
 * Send the buffer out.  On failure the error sticks and the data is
 * dropped, so that formatting can go on without checks until the row ends.
 */
static void file_flush(struct out_file *f)
{
	if (f->len > 0 && f->error == 0 && write_all(f->fd, f->buf, f->len) < 0)
		f->error = errno ? errno : EIO;
	f->len = 0;
}

/* Make room for n <= OUT_VALUE_MAX bytes; returns where they go. */
static inline char *file_reserve(struct out_file *f, size_t n)
{
	if (OUT_BUF_SIZE - f->len < n)
		file_flush(f);
	return f->buf + f->len;
}

static void file_put(struct out_file *f, const char *p, size_t n)
{
	while (n > 0) {
		size_t room = OUT_BUF_SIZE - f->len;
		size_t c;

		if (room == 0) {
			file_flush(f);
			room = OUT_BUF_SIZE;
		}
		c = n < room ? n : room;
		memcpy(f->buf + f->len, p, c);
		f->len += c;
		p += c;
		n -= c;
	}
}

static inline void file_putc(struct out_file *f, char c)
{
	*file_reserve(f, 1) = c;
	f->len++;
}

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

/* The process's umask, read without leaving it changed. */
static mode_t current_umask(void)
{
	/* The aggregator is single-threaded, so the brief change is unseen. */
	mode_t m = umask(0);

	umask(m);
	return m;
}

/*
 * Open the sink for cfg->output: stdout for "-", else a new temporary file
 * next to the target, with the mode a newly created file would get.
 */
static int file_open(struct out_file *f, const char *output, char *err,
		     size_t errlen)
{
	struct stat st;
	char *dir = NULL;
	int rc = -1;

	f->fd = -1;
	f->buf = malloc(OUT_BUF_SIZE);
	if (f->buf == NULL) {
		snprintf(err, errlen, "out of memory opening output %s", output);
		goto out;
	}
	if (strcmp(output, "-") == 0) {
		f->fd = STDOUT_FILENO;
		rc = 0;
		goto out;
	}
	dir = dir_of(output);
	f->path = strdup(output);
	if (dir == NULL || f->path == NULL ||
	    asprintf(&f->tmp, "%s.tmp.XXXXXX", output) < 0) {
		f->tmp = NULL;
		snprintf(err, errlen, "out of memory opening output %s", output);
		goto out;
	}
	if (stat(dir, &st) < 0) {
		if (errno == ENOENT)
			snprintf(err, errlen,
				 "output folder %s does not exist", dir);
		else
			snprintf(err, errlen, "cannot use output folder %s: %s",
				 dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "output folder %s is not a folder", dir);
		goto out;
	}
	if (stat(output, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "output %s is a folder", output);
		goto out;
	}
	f->fd = mkostemp(f->tmp, O_CLOEXEC);
	if (f->fd < 0) {
		snprintf(err, errlen, "cannot create a temporary file in %s: %s",
			 dir, strerror(errno));
		goto out;
	}
	/* mkstemp makes 0600; the output should look like any new file. */
	if (fchmod(f->fd, 0666 & ~current_umask()) < 0) {
		snprintf(err, errlen, "cannot set the mode of %s: %s", f->tmp,
			 strerror(errno));
		goto out_unlink;
	}
	rc = 0;
	goto out;

out_unlink:
	unlink(f->tmp);
	close(f->fd);
	f->fd = -1;
out:
	free(dir);
	return rc;
}

/* Release everything; remove the temporary if it is still there. */
static void file_discard(struct out_file *f)
{
	if (f->fd >= 0 && f->fd != STDOUT_FILENO)
		close(f->fd);
	if (f->fd >= 0 && f->tmp != NULL)
		unlink(f->tmp);
	f->fd = -1;
	free(f->tmp);
	free(f->path);
	free(f->buf);
	f->tmp = NULL;
	f->path = NULL;
	f->buf = NULL;
}

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

/* Flush, fsync, rename into place; the sink is released either way. */
static int file_commit(struct out_file *f, char *err, size_t errlen)
{
	const char *name = f->path ? f->path : "stdout";
	int rc = -1;

	file_flush(f);
	if (f->error != 0) {
		snprintf(err, errlen, "cannot write %s: %s", name,
			 strerror(f->error));
		goto out;
	}
	if (f->path == NULL) {
		rc = 0;
		goto out;
	}
	if (fsync(f->fd) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", name,
			 strerror(errno));
		goto out;
	}
	if (close(f->fd) < 0) {
		f->fd = -1;
		snprintf(err, errlen, "cannot write %s: %s", name,
			 strerror(errno));
		unlink(f->tmp);
		goto out;
	}
	f->fd = -1;
	if (rename(f->tmp, f->path) < 0) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", f->tmp,
			 f->path, strerror(errno));
		unlink(f->tmp);
		goto out;
	}
	if (fsync_dir(f->path) < 0) {
		snprintf(err, errlen, "cannot sync the folder of %s: %s",
			 f->path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	file_discard(f);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Value formatting shared by the text formats                         */
/* ------------------------------------------------------------------ */

/* Decimal digits of v into out; returns the length (at most 20). */
static size_t fmt_i64(int64_t v, char *out)
{
	char tmp[24];
	size_t n = 0, len = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		out[len++] = '-';
	while (n > 0)
		out[len++] = tmp[--n];
	return len;
}

/* A value of a type that needs neither quoting nor escaping. */
static void put_plain(struct out_file *f, enum rec_type t,
		      const struct rec_value *v, bool quote_ts)
{
	char *p = file_reserve(f, OUT_VALUE_MAX);
	size_t n = 0;

	switch (t) {
	case REC_INT:
		n = fmt_i64(v->u.i, p);
		break;
	case REC_FLOAT:
		/* NaN and infinities cannot come from the converters. */
		if (isfinite(v->u.f))
			n = conv_format_float(v->u.f, p);
		break;
	case REC_BOOL:
		n = v->u.b ? 4 : 5;
		memcpy(p, v->u.b ? "true" : "false", n);
		break;
	case REC_TIMESTAMP:
		if (quote_ts)
			p[n++] = '"';
		n += conv_format_timestamp(v->u.i, p + n);
		if (quote_ts)
			p[n++] = '"';
		break;
	case REC_TEXT:
		break;
	}
	f->len += n;
}

/* ------------------------------------------------------------------ */
/* CSV                                                                 */
/* ------------------------------------------------------------------ */

/* 0, or -1 with err when a write of the row (or an earlier one) failed. */
static int text_row_status(const struct out_file *f, char *err, size_t errlen)
{
	if (f->error == 0)
		return 0;
	snprintf(err, errlen, "cannot write %s: %s",
		 f->path ? f->path : "stdout", strerror(f->error));
	return -1;
}

static bool csv_needs_quotes(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return true; /* "" tells an empty string from NULL */
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == ',' || c == '"' || c == '\n' || c == '\r')
			return true;
	}
	return false;
}

static void csv_text(struct out_file *f, const char *s, size_t len)
{
	const char *end = s + len;

	if (!csv_needs_quotes(s, len)) {
		file_put(f, s, len);
		return;
	}
	file_putc(f, '"');
	while (s < end) {
		const char *q = memchr(s, '"', (size_t)(end - s));

		if (q == NULL) {
			file_put(f, s, (size_t)(end - s));
			break;
		}
		/* Copy through the quote, then double it. */
		file_put(f, s, (size_t)(q - s) + 1);
		file_putc(f, '"');
		s = q + 1;
	}
	file_putc(f, '"');
}

static int csv_open(struct out_writer *w, const struct cfg *cfg, char *err,
		    size_t errlen)
{
	int i;

	if (file_open(&w->file, cfg->output, err, errlen) < 0)
		return -1;
	for (i = 0; i < w->ncols; i++) {
		if (i > 0)
			file_putc(&w->file, ',');
		csv_text(&w->file, w->cols[i].name, strlen(w->cols[i].name));
	}
	file_putc(&w->file, '\n');
	return 0;
}

static int csv_row(struct out_writer *w, const struct rec_value *v, char *err,
		   size_t errlen)
{
	struct out_file *f = &w->file;
	int i;

	for (i = 0; i < w->ncols; i++) {
		if (i > 0)
			file_putc(f, ',');
		if (v[i].null)
			continue;
		if (w->cols[i].type == REC_TEXT)
			csv_text(f, v[i].u.s.p, v[i].u.s.len);
		else
			put_plain(f, w->cols[i].type, &v[i], false);
	}
	file_putc(f, '\n');
	return text_row_status(f, err, errlen);
}

static int text_commit(struct out_writer *w, char *err, size_t errlen)
{
	return file_commit(&w->file, err, errlen);
}

static void text_abort(struct out_writer *w)
{
	file_discard(&w->file);
}

/* ------------------------------------------------------------------ */
/* JSON Lines                                                          */
/* ------------------------------------------------------------------ */

/*
 * Length of the well-formed UTF-8 sequence at s[0..n), n > 0, s[0] >= 0x80;
 * or, negated, the length of the maximal ill-formed subpart to replace with
 * one U+FFFD (Unicode's "best practice", as Python and browsers do).
 */
static int utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xBF;
	int need, k;

	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F; /* no surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F; /* nothing past U+10FFFF */
	} else {
		return -1;
	}
	for (k = 1; k <= need; k++) {
		if ((size_t)k >= n || s[k] < lo || s[k] > hi)
			return -k;
		lo = 0x80;
		hi = 0xBF;
	}
	return need + 1;
}

static const char hexdigits[] = "0123456789abcdef";

/* Bytes copied as they are inside a JSON string. */
static inline bool json_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

static void json_text(struct out_file *f, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;

	file_putc(f, '"');
	while (i < len) {
		unsigned char c = s[i];
		char *p;
		int n;

		if (json_plain(c)) {
			size_t j = i + 1;

			while (j < len && json_plain(s[j]))
				j++;
			file_put(f, text + i, j - i);
			i = j;
			continue;
		}
		p = file_reserve(f, 8);
		if (c == '"' || c == '\\') {
			p[0] = '\\';
			p[1] = (char)c;
			f->len += 2;
			i++;
		} else if (c < 0x20) {
			char e = c == '\n' ? 'n' : c == '\r' ? 'r' :
				 c == '\t' ? 't' : c == '\b' ? 'b' :
				 c == '\f' ? 'f' : 0;

			p[0] = '\\';
			if (e != 0) {
				p[1] = e;
				f->len += 2;
			} else {
				memcpy(p + 1, "u00", 3);
				p[4] = hexdigits[c >> 4];
				p[5] = hexdigits[c & 15];
				f->len += 6;
			}
			i++;
		} else if ((n = utf8_seq(s + i, len - i)) > 0) {
			memcpy(p, s + i, (size_t)n);
			f->len += (size_t)n;
			i += (size_t)n;
		} else {
			memcpy(p, "\xEF\xBF\xBD", 3);
			f->len += 3;
			i += (size_t)-n;
		}
	}
	file_putc(f, '"');
}

/* `"name":` for each column, escaped once here rather than per row. */
static int json_make_keys(struct out_writer *w)
{
	struct out_file scratch = { .fd = -1 };
	int i, rc = -1;

	w->keys = calloc((size_t)w->ncols, sizeof(*w->keys));
	w->keylens = calloc((size_t)w->ncols, sizeof(*w->keylens));
	scratch.buf = malloc(OUT_BUF_SIZE);
	if (w->keys == NULL || w->keylens == NULL || scratch.buf == NULL)
		goto out;
	for (i = 0; i < w->ncols; i++) {
		const char *name = w->cols[i].name;
		size_t nlen = strlen(name);

		/* Names longer than the buffer would need a flush; refuse. */
		if (nlen > OUT_BUF_SIZE / 8)
			goto out;
		scratch.len = 0;
		json_text(&scratch, name, nlen);
		file_putc(&scratch, ':');
		w->keys[i] = malloc(scratch.len);
		if (w->keys[i] == NULL)
			goto out;
		memcpy(w->keys[i], scratch.buf, scratch.len);
		w->keylens[i] = scratch.len;
	}
	rc = 0;
out:
	free(scratch.buf);
	return rc;
}

static int jsonl_open(struct out_writer *w, const struct cfg *cfg, char *err,
		      size_t errlen)
{
	if (json_make_keys(w) < 0) {
		snprintf(err, errlen, "out of memory opening output %s",
			 cfg->output);
		return -1;
	}
	return file_open(&w->file, cfg->output, err, errlen);
}

static int jsonl_row(struct out_writer *w, const struct rec_value *v,
		     char *err, size_t errlen)
{
	struct out_file *f = &w->file;
	int i;

	file_putc(f, '{');
	for (i = 0; i < w->ncols; i++) {
		if (i > 0)
			file_putc(f, ',');
		file_put(f, w->keys[i], w->keylens[i]);
		if (v[i].null)
			file_put(f, "null", 4);
		else if (w->cols[i].type == REC_TEXT)
			json_text(f, v[i].u.s.p, v[i].u.s.len);
		else if (w->cols[i].type == REC_FLOAT && !isfinite(v[i].u.f))
			file_put(f, "null", 4);
		else
			put_plain(f, w->cols[i].type, &v[i], true);
	}
	file_put(f, "}\n", 2);
	return text_row_status(f, err, errlen);
}

/* ------------------------------------------------------------------ */
/* The writer                                                          */
/* ------------------------------------------------------------------ */

static const struct out_backend backends[] = {
	{ CFG_FMT_CSV, csv_open, csv_row, text_commit, text_abort },
	{ CFG_FMT_JSONL, jsonl_open, jsonl_row, text_commit, text_abort },
};

static void writer_free(struct out_writer *w)
{
	int i;

	if (w->keys != NULL)
		for (i = 0; i < w->ncols; i++)
			free(w->keys[i]);
	free(w->keys);
	free(w->keylens);
	free(w->cols);
	free(w);
}

struct out_writer *out_open(const struct cfg *cfg, const struct out_col *cols,
			    int ncols, char *err, size_t errlen)
{
	const struct out_backend *be = NULL;
	struct out_writer *w = NULL;
	size_t i;

	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (backends[i].format == cfg->format)
			be = &backends[i];
	if (be == NULL) {
		snprintf(err, errlen, "output format %s is not supported yet",
			 format_name(cfg->format));
		goto out;
	}
	if (cfg->output == NULL || ncols < 0) {
		snprintf(err, errlen, "no output given");
		goto out;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		goto out_nomem;
	w->file.fd = -1;
	w->be = be;
	w->ncols = ncols;
	w->cols = malloc(sizeof(*cols) * (size_t)(ncols > 0 ? ncols : 1));
	if (w->cols == NULL)
		goto out_nomem;
	if (ncols > 0)
		memcpy(w->cols, cols, sizeof(*cols) * (size_t)ncols);
	if (be->open(w, cfg, err, errlen) < 0)
		goto out_abort;
	return w;

out_nomem:
	snprintf(err, errlen, "out of memory opening output %s",
		 cfg->output ? cfg->output : "");
	if (w == NULL)
		goto out;
out_abort:
	be->abort(w);
	writer_free(w);
	w = NULL;
out:
	return w;
}

int out_row(struct out_writer *w, const struct rec_value *v, char *err,
	    size_t errlen)
{
	return w->be->row(w, v, err, errlen);
}

int out_commit(struct out_writer *w, char *err, size_t errlen)
{
	int rc = w->be->commit(w, err, errlen);

	writer_free(w);
	return rc;
}

void out_abort(struct out_writer *w)
{
	if (w == NULL)
		return;
	w->be->abort(w);
	writer_free(w);
}
