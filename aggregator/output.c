/*
 * output.c - the result writers: CSV and JSON Lines, to a file or stdout;
 * SQLite and PostgreSQL tables.
 *
 * How it fits: merge.c opens one writer with out_open(), hands it every row
 * with out_row() and finishes with out_commit() (or out_abort() on any
 * error).  Each output format is a small backend (struct out_backend: open,
 * row, commit, abort); the text formats share one buffered file sink, and
 * the table formats (SQLite, PostgreSQL) plug in as backends of their own.
 *
 * Invariants:
 *  - A file target is only ever replaced by rename(2) in out_commit(): until
 *    then the rows go to a temporary beside it (outfile.h), which
 *    out_abort() (and a failed commit) unlinks.  The previous output is
 *    therefore untouched by a failed or interrupted run.  A FIFO, a
 *    character device or stdout is a stream, written in place.
 *  - write = append (CSV, JSON Lines): the temporary starts as a copy of
 *    the old file, so the rename swaps in old rows + new ones at once and a
 *    failed run leaves the file as it was; CSV checks the old header and
 *    writes none of its own.
 *  - Rows are formatted straight into one large buffer (no stdio, no
 *    printf per field); the buffer goes out with write(2) when full.  A write
 *    error is sticky: the rest of the row is discarded and out_row() reports
 *    it.
 *  - CSV: RFC 4180, LF line ends; NULL is an empty unquoted field and an
 *    empty string is "" (as PostgreSQL's COPY CSV), so both read back.
 *  - JSON Lines: text is always valid UTF-8 JSON: control characters are
 *    escaped and invalid UTF-8 is replaced by U+FFFD, never copied raw.
 *  - Tables: everything happens in one transaction opened by out_open() and
 *    committed by out_commit(); out_abort() rolls it back.  Concurrent
 *    readers see the old rows until the commit, then the new ones.  SQLite:
 *    BEGIN IMMEDIATE, DELETE (replace), INSERT per row.  PostgreSQL: BEGIN,
 *    LOCK ... SHARE ROW EXCLUSIVE (writers wait, readers do not), DELETE
 *    (replace), COPY FROM STDIN.  A missing table is created; one with
 *    other columns fails the output and is left as it was.
 *  - The PostgreSQL conninfo never appears in a message: only the table,
 *    dbname, host, port and user, and any message is scrubbed of the
 *    password.
 */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "../common/convert.h"
#include "outfile.h"
#include "../common/sysio.h"
#ifdef AGG_TESTING
#include "../common/log.h"
#endif

/* Bytes formatted before they go out in one write(2). */
#define OUT_BUF_SIZE (1024u * 1024u)

/* Room for the longest fixed-width value of any type. */
#define OUT_VALUE_MAX 64

/*
 * A buffered output file (outfile.h: a temporary renamed into place on
 * commit, or a stream), or the COPY buffer of PostgreSQL (of.fd -1).
 */
struct out_file {
	struct outfile of;
	char *buf;
	size_t len;       /* bytes waiting in buf */
	int error;        /* errno of the first failed write, or 0 */
	/* Where full buffers go instead of of.fd (PostgreSQL's COPY); 0 or -1. */
	int (*sink)(void *arg, const char *p, size_t n);
	void *sink_arg;
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
	long rows;              /* rows handed to out_row() */
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

/*
 * Send the buffer out.  On failure the error sticks and the data is
 * dropped, so that formatting can go on without checks until the row ends.
 */
static void file_flush(struct out_file *f)
{
	if (f->len > 0 && f->error == 0 &&
	    (f->sink ? f->sink(f->sink_arg, f->buf, f->len)
		     : sys_write_all(f->of.fd, f->buf, f->len)) < 0)
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

/*
 * Open the sink for output (outfile.h decides: a stream, or a temporary
 * renamed over the target on commit); append keeps the target's rows.
 */
static int file_open(struct out_file *f, const char *output, bool append,
		     char *err, size_t errlen)
{
	f->of.fd = -1;
	f->buf = malloc(OUT_BUF_SIZE);
	if (f->buf == NULL) {
		snprintf(err, errlen, "out of memory opening output %s", output);
		return -1;
	}
	return outfile_open(&f->of, output, "output",
			    OUTFILE_STDOUT | (append ? OUTFILE_APPEND : 0), err,
			    errlen);
}

/* Release everything; remove the temporary if it is still there. */
static void file_discard(struct out_file *f)
{
	outfile_abort(&f->of);
	free(f->buf);
	f->buf = NULL;
}

/* Flush, then put the file in place; the sink is released either way. */
static int file_commit(struct out_file *f, char *err, size_t errlen)
{
	int rc = -1;

	file_flush(f);
	if (f->error != 0) {
		snprintf(err, errlen, "cannot write %s: %s", f->of.name,
			 strerror(f->error));
		goto out;
	}
	rc = outfile_commit(&f->of, err, errlen);
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
		 f->of.name ? f->of.name : "stdout", strerror(f->error));
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

/*
 * write = append to a file with rows: its first line must be the header
 * just formatted in f's buffer, which is then dropped (written once).
 */
static int csv_same_header(struct out_file *f, char *err, size_t errlen)
{
	char *old = malloc(f->len + 1), *nl;
	ssize_t n;
	int rc = -1;

	if (old == NULL) {
		snprintf(err, errlen, "out of memory opening output %s",
			 f->of.name);
		return -1;
	}
	do
		n = pread(f->of.fd, old, f->len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(err, errlen, "cannot read output %s: %s", f->of.name,
			 strerror(errno));
		goto out;
	}
	if ((size_t)n == f->len && memcmp(old, f->buf, f->len) == 0) {
		f->len = 0;
		rc = 0;
		goto out;
	}
	old[n] = '\0';
	nl = strchr(old, '\n');
	if (nl)
		*nl = '\0';
	f->buf[f->len - 1] = '\0';
	snprintf(err, errlen,
		 "cannot append to output %s: its header is '%.200s', this "
		 "run's is '%.200s'", f->of.name, old, f->buf);
out:
	free(old);
	return rc;
}

static int csv_open(struct out_writer *w, const struct cfg *cfg, char *err,
		    size_t errlen)
{
	bool append = cfg->write == CFG_WRITE_APPEND;
	int i;

	if (file_open(&w->file, cfg->output, append, err, errlen) < 0)
		return -1;
	for (i = 0; i < w->ncols; i++) {
		if (i > 0)
			file_putc(&w->file, ',');
		csv_text(&w->file, w->cols[i].name, strlen(w->cols[i].name));
	}
	file_putc(&w->file, '\n');
	if (append && w->file.of.kept > 0)
		return csv_same_header(&w->file, err, errlen);
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
	struct out_file scratch = { .of.fd = -1 };
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
	return file_open(&w->file, cfg->output,
			 cfg->write == CFG_WRITE_APPEND, err, errlen);
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
/* Tables: shared by the SQLite and PostgreSQL outputs                 */
/* ------------------------------------------------------------------ */

/* A growable NUL-terminated string for building SQL; sticky failure. */
struct sql {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sql_put(struct sql *q, const char *s, size_t n)
{
	if (q->oom)
		return;
	if (q->len + n + 1 > q->cap) {
		size_t cap = q->cap ? q->cap : 256;
		char *np;

		while (cap < q->len + n + 1)
			cap *= 2;
		np = realloc(q->p, cap);
		if (np == NULL) {
			q->oom = true;
			return;
		}
		q->p = np;
		q->cap = cap;
	}
	memcpy(q->p + q->len, s, n);
	q->len += n;
	q->p[q->len] = '\0';
}

static void sql_puts(struct sql *q, const char *s)
{
	sql_put(q, s, strlen(s));
}

/* "name" with every '"' doubled: an identifier both databases take as is. */
static void sql_ident(struct sql *q, const char *name, size_t n)
{
	sql_put(q, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		if (name[i] == '"')
			sql_put(q, "\"", 1);
		sql_put(q, name + i, 1);
	}
	sql_put(q, "\"", 1);
}

/* The table, "schema"."table" when it has a schema part. */
static void sql_table(struct sql *q, const char *table)
{
	const char *dot = strchr(table, '.');

	if (dot != NULL) {
		sql_ident(q, table, (size_t)(dot - table));
		sql_put(q, ".", 1);
		table = dot + 1;
	}
	sql_ident(q, table, strlen(table));
}

/* "(a, b, c)": the columns, quoted. */
static void sql_col_list(struct sql *q, const struct out_writer *w)
{
	sql_put(q, "(", 1);
	for (int i = 0; i < w->ncols; i++) {
		if (i > 0)
			sql_put(q, ", ", 2);
		sql_ident(q, w->cols[i].name, strlen(w->cols[i].name));
	}
	sql_put(q, ")", 1);
}

/* CREATE TABLE table (col type, ...) with the types of the dialect. */
static void sql_create(struct sql *q, const struct out_writer *w,
		       const char *table, const char *const types[],
		       bool if_not_exists)
{
	sql_puts(q, "CREATE TABLE ");
	if (if_not_exists)
		sql_puts(q, "IF NOT EXISTS ");
	sql_table(q, table);
	sql_puts(q, " (");
	for (int i = 0; i < w->ncols; i++) {
		if (i > 0)
			sql_puts(q, ", ");
		sql_ident(q, w->cols[i].name, strlen(w->cols[i].name));
		sql_puts(q, " ");
		sql_puts(q, types[w->cols[i].type]);
	}
	sql_puts(q, ")");
}

/*
 * Compare an existing table's columns (names[0..n)) with the writer's, as a
 * set (the INSERT/COPY names its columns, so their order does not matter).
 * On a mismatch fill err with both lists and return -1.
 */
static int check_columns(const struct out_writer *w, char *const *names,
			 int n, bool nocase, const char *table,
			 const char *where, char *err, size_t errlen)
{
	struct sql have = { 0 }, want = { 0 };
	bool same = n == w->ncols;
	int rc = 0;

	for (int i = 0; same && i < w->ncols; i++) {
		bool found = false;

		for (int j = 0; j < n && !found; j++)
			found = nocase ? sqlite3_stricmp(names[j],
							 w->cols[i].name) == 0
				       : strcmp(names[j], w->cols[i].name) == 0;
		same = found;
	}
	if (same)
		return 0;
	for (int j = 0; j < n; j++) {
		if (j > 0)
			sql_puts(&have, ", ");
		sql_puts(&have, names[j]);
	}
	for (int i = 0; i < w->ncols; i++) {
		if (i > 0)
			sql_puts(&want, ", ");
		sql_puts(&want, w->cols[i].name);
	}
	snprintf(err, errlen,
		 "table %s%s exists with other columns (%s) than this run writes "
		 "(%s): drop or rename it, or set table to another name",
		 table, where, have.p ? have.p : "", want.p ? want.p : "");
	rc = -1;
	free(have.p);
	free(want.p);
	return rc;
}

/* Test builds: AGG_OUT_FAIL_AFTER=N makes the row after the Nth fail. */
static int fail_after_rows(void)
{
#ifdef AGG_TESTING
	const char *s = getenv("AGG_OUT_FAIL_AFTER");

	return s && *s ? atoi(s) : -1;
#else
	return -1;
#endif
}

/* ------------------------------------------------------------------ */
/* SQLite                                                              */
/* ------------------------------------------------------------------ */

/* How long a write waits for other connections' locks (ms). */
#define SQ_BUSY_TIMEOUT_MS 60000

static const char *const sq_types[] = {
	[REC_INT] = "INTEGER", [REC_FLOAT] = "REAL", [REC_TEXT] = "TEXT",
	[REC_BOOL] = "INTEGER", [REC_TIMESTAMP] = "TEXT",
};

struct sq_out {
	sqlite3 *db;
	sqlite3_stmt *ins;
	char *path;          /* as configured, for messages */
	char *real;          /* symlinks resolved: the file SQLite opens */
	bool created;        /* the database file did not exist before */
	long rows;
	long fail_after;     /* test builds; -1: never */
};

static void sq_close(struct sq_out *o, bool remove_file)
{
	if (o == NULL)
		return;
	sqlite3_finalize(o->ins);
	if (o->db != NULL && !sqlite3_get_autocommit(o->db))
		sqlite3_exec(o->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(o->db);
	if (remove_file && o->created) {
		/* A failed first run leaves no empty database behind. */
		static const char *const sfx[] = { "", "-journal", "-wal", "-shm" };
		char p[4096];

		for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
			snprintf(p, sizeof p, "%s%s", o->real, sfx[i]);
			unlink(p);
		}
	}
	free(o->real);
	free(o->path);
	free(o);
}

static int sq_exec(struct sq_out *o, const char *sql, const char *table,
		   char *err, size_t errlen)
{
	if (sqlite3_exec(o->db, sql, NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "cannot write table %s in %s: %s", table, o->path,
		 sqlite3_errmsg(o->db));
	return -1;
}

/* Columns of table (NULL names when it does not exist); caller frees. */
static int sq_columns(struct sq_out *o, const char *table, char ***names,
		      int *n, char *err, size_t errlen)
{
	const char *dot = strchr(table, '.');
	sqlite3_stmt *st = NULL;
	char *schema = NULL;
	int rc = -1, k;

	*names = NULL;
	*n = 0;
	if (dot) {
		schema = strndup(table, (size_t)(dot - table));
		if (schema == NULL)
			goto out_oom;
	}
	if (sqlite3_prepare_v2(o->db, "SELECT name FROM pragma_table_info(?1, ?2)",
			       -1, &st, NULL) != SQLITE_OK)
		goto out_db;
	sqlite3_bind_text(st, 1, dot ? dot + 1 : table, -1, SQLITE_STATIC);
	if (schema)
		sqlite3_bind_text(st, 2, schema, -1, SQLITE_STATIC);
	else
		sqlite3_bind_text(st, 2, "main", -1, SQLITE_STATIC);
	while ((k = sqlite3_step(st)) == SQLITE_ROW) {
		char **np = realloc(*names, sizeof(char *) * (size_t)(*n + 1));

		if (np == NULL)
			goto out_oom;
		*names = np;
		np[*n] = strdup((const char *)sqlite3_column_text(st, 0));
		if (np[*n] == NULL)
			goto out_oom;
		(*n)++;
	}
	if (k != SQLITE_DONE)
		goto out_db;
	rc = 0;
	goto out;

out_db:
	snprintf(err, errlen, "cannot read table %s in %s: %s", table, o->path,
		 sqlite3_errmsg(o->db));
	goto out;
out_oom:
	snprintf(err, errlen, "out of memory opening output %s", o->path);
out:
	sqlite3_finalize(st);
	free(schema);
	return rc;
}

static void free_names(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int sq_open(struct out_writer *w, const struct cfg *cfg, char *err,
		   size_t errlen)
{
	struct sq_out *o = calloc(1, sizeof *o);
	const char *table = cfg->table ? cfg->table : "aggregate";
	struct sql q = { 0 };
	char **names = NULL;
	int n = 0, rc = -1;
	struct outfile_loc loc = { 0 };
	struct stat st;

	if (o == NULL || (o->path = strdup(cfg->output)) == NULL) {
		snprintf(err, errlen, "out of memory opening output %s",
			 cfg->output);
		goto out;
	}
	w->impl = o;
	o->fail_after = fail_after_rows();
	/*
	 * The real path: a symlink (even a dangling one) keeps pointing at
	 * the database, and a failed first run removes the file it created,
	 * never the link.
	 */
	if (outfile_locate(cfg->output, "output", 0, &loc, err, errlen) < 0)
		goto out;
	if (loc.stream) {
		snprintf(err, errlen, "output %s: a SQLite database must be a "
			 "file, not a stream", cfg->output);
		goto out;
	}
	o->real = loc.real;
	loc.real = NULL;
	o->created = stat(o->real, &st) < 0 && errno == ENOENT;
	if (sqlite3_open_v2(o->real, &o->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open output database %s: %s",
			 cfg->output, o->db ? sqlite3_errmsg(o->db)
					    : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(o->db, SQ_BUSY_TIMEOUT_MS);
	/* The write lock at once: one writer at a time, readers go on. */
	if (sq_exec(o, "BEGIN IMMEDIATE", table, err, errlen) < 0 ||
	    sq_columns(o, table, &names, &n, err, errlen) < 0)
		goto out;
	if (n == 0) {
		sql_create(&q, w, table, sq_types, false);
		if (q.oom || sq_exec(o, q.p, table, err, errlen) < 0)
			goto out_sql;
	} else if (check_columns(w, names, n, true, table, "", err,
				 errlen) < 0) {
		goto out;
	} else if (cfg->write == CFG_WRITE_REPLACE) {
		sql_puts(&q, "DELETE FROM ");
		sql_table(&q, table);
		if (q.oom || sq_exec(o, q.p, table, err, errlen) < 0)
			goto out_sql;
	}
	q.len = 0;
	sql_puts(&q, "INSERT INTO ");
	sql_table(&q, table);
	sql_puts(&q, " ");
	sql_col_list(&q, w);
	sql_puts(&q, " VALUES (");
	for (int i = 0; i < w->ncols; i++)
		sql_puts(&q, i ? ", ?" : "?");
	sql_puts(&q, ")");
	if (q.oom)
		goto out_sql;
	if (sqlite3_prepare_v2(o->db, q.p, -1, &o->ins, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot write table %s in %s: %s", table,
			 o->path, sqlite3_errmsg(o->db));
		goto out;
	}
	rc = 0;
	goto out;

out_sql:
	if (q.oom)
		snprintf(err, errlen, "out of memory opening output %s",
			 cfg->output);
out:
	free(q.p);
	free(loc.real);
	free_names(names, n);
	if (rc < 0 && w->impl == NULL)
		sq_close(o, true);
	return rc;
}

static int sq_row(struct out_writer *w, const struct rec_value *v, char *err,
		  size_t errlen)
{
	struct sq_out *o = w->impl;
	sqlite3_stmt *st = o->ins;
	char ts[CONV_TS_MAX];

	if (o->fail_after >= 0 && o->rows >= o->fail_after) {
		snprintf(err, errlen, "test hook: output fails after %ld rows",
			 o->rows);
		return -1;
	}
	for (int i = 0; i < w->ncols; i++) {
		int k = i + 1;

		if (v[i].null) {
			sqlite3_bind_null(st, k);
			continue;
		}
		switch (w->cols[i].type) {
		case REC_INT:
			sqlite3_bind_int64(st, k, v[i].u.i);
			break;
		case REC_FLOAT:
			if (isfinite(v[i].u.f))
				sqlite3_bind_double(st, k, v[i].u.f);
			else
				sqlite3_bind_null(st, k);
			break;
		case REC_BOOL:
			sqlite3_bind_int(st, k, v[i].u.b ? 1 : 0);
			break;
		case REC_TIMESTAMP:
			sqlite3_bind_text(st, k, ts,
					  (int)conv_format_timestamp(v[i].u.i, ts),
					  SQLITE_TRANSIENT);
			break;
		case REC_TEXT:
			sqlite3_bind_text(st, k, v[i].u.s.p, (int)v[i].u.s.len,
					  SQLITE_STATIC);
			break;
		}
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		snprintf(err, errlen, "cannot write to output %s: %s", o->path,
			 sqlite3_errmsg(o->db));
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	o->rows++;
	return 0;
}

static int sq_commit(struct out_writer *w, char *err, size_t errlen)
{
	struct sq_out *o = w->impl;
	int rc = -1;

	sqlite3_finalize(o->ins);
	o->ins = NULL;
	if (sqlite3_exec(o->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot commit output %s: %s", o->path,
			 sqlite3_errmsg(o->db));
		goto out;
	}
	rc = 0;
out:
	sq_close(o, rc < 0);
	w->impl = NULL;
	return rc;
}

static void sq_abort(struct out_writer *w)
{
	sq_close(w->impl, true);
	w->impl = NULL;
}

/* ------------------------------------------------------------------ */
/* PostgreSQL                                                          */
/* ------------------------------------------------------------------ */

static const char *const pg_types[] = {
	[REC_INT] = "BIGINT", [REC_FLOAT] = "DOUBLE PRECISION",
	[REC_TEXT] = "TEXT", [REC_BOOL] = "BOOLEAN",
	[REC_TIMESTAMP] = "TIMESTAMPTZ",
};

struct pg_out {
	PGconn *conn;
	char *table;          /* as configured, for messages */
	char *target;         /* "dbname=... host=...", never the password */
	char *password;       /* to scrub from messages; NULL: none */
	struct out_file copy; /* COPY data buffer; fd unused */
	bool copying;         /* inside COPY FROM STDIN */
	long rows;
	long fail_after;
};

/* Never show the password, whatever a message carries. */
static void pg_scrub(const struct pg_out *o, char *msg)
{
	size_t n;
	char *p;

	if (o->password == NULL || (n = strlen(o->password)) == 0)
		return;
	while ((p = strstr(msg, o->password)) != NULL) {
		memset(p, '*', n);
	}
}

/* The server's (or libpq's) last message, one line, scrubbed. */
static void pg_fail(struct pg_out *o, const char *what, char *err,
		    size_t errlen)
{
	char msg[400];
	size_t n;

	snprintf(msg, sizeof msg, "%s", PQerrorMessage(o->conn));
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	pg_scrub(o, msg);
	snprintf(err, errlen, "%s table %s (%s): %s", what, o->table, o->target,
		 msg[0] ? msg : "no message");
}

/*
 * Describe a conninfo without its password: "dbname=x host=y port=z
 * user=u" (only what is set).  Returns a malloc'd string; *password gets
 * the password (malloc'd) or NULL.
 */
static char *pg_target(const char *conninfo, char **password)
{
	static const char *const keys[] = { "service", "dbname", "host",
					    "port", "user" };
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	struct sql q = { 0 };

	*password = NULL;
	if (opts == NULL)
		return strdup("connection string not understood");
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
		for (PQconninfoOption *op = opts; op->keyword; op++)
			if (op->val && *op->val &&
			    strcmp(op->keyword, keys[k]) == 0) {
				if (q.len)
					sql_puts(&q, " ");
				sql_puts(&q, keys[k]);
				sql_puts(&q, "=");
				sql_puts(&q, op->val);
			}
	for (PQconninfoOption *op = opts; op->keyword; op++)
		if (strcmp(op->keyword, "password") == 0 && op->val && *op->val)
			*password = strdup(op->val);
	PQconninfoFree(opts);
	if (q.p == NULL && !q.oom)
		return strdup("defaults from the environment");
	return q.p;
}

static void pg_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* "relation already exists, skipping" and the like */
}

static int pg_exec(struct pg_out *o, const char *sql, const char *what,
		   char *err, size_t errlen)
{
	PGresult *r = PQexec(o->conn, sql);
	ExecStatusType st = PQresultStatus(r);
	int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;

	if (rc < 0)
		pg_fail(o, what, err, errlen);
	PQclear(r);
	return rc;
}

static void pg_close(struct pg_out *o)
{
	if (o == NULL)
		return;
	if (o->conn != NULL) {
		if (o->copying) {
			PGresult *r;

			PQputCopyEnd(o->conn, "output aborted");
			while ((r = PQgetResult(o->conn)) != NULL)
				PQclear(r);
		}
		if (PQstatus(o->conn) == CONNECTION_OK &&
		    PQtransactionStatus(o->conn) != PQTRANS_IDLE)
			PQclear(PQexec(o->conn, "ROLLBACK"));
		PQfinish(o->conn);
	}
	free(o->copy.buf);
	free(o->table);
	free(o->target);
	if (o->password) {
		memset(o->password, 0, strlen(o->password));
		free(o->password);
	}
	free(o);
}

/* Columns of the table; none when it does not exist. */
static int pg_columns(struct pg_out *o, const char *qtable, char ***names,
		      int *n, char *err, size_t errlen)
{
	const char *params[1] = { qtable };
	PGresult *r;
	int rc = -1;

	*names = NULL;
	*n = 0;
	r = PQexecParams(o->conn,
			 "SELECT attname FROM pg_attribute "
			 "WHERE attrelid = to_regclass($1) AND attnum > 0 "
			 "AND NOT attisdropped ORDER BY attnum",
			 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		pg_fail(o, "cannot read", err, errlen);
		goto out;
	}
	*names = calloc((size_t)PQntuples(r) + 1, sizeof(char *));
	if (*names == NULL)
		goto out_oom;
	for (int i = 0; i < PQntuples(r); i++) {
		(*names)[i] = strdup(PQgetvalue(r, i, 0));
		if ((*names)[i] == NULL)
			goto out_oom;
		(*n)++;
	}
	rc = 0;
	goto out;
out_oom:
	snprintf(err, errlen, "out of memory opening table %s", o->table);
out:
	PQclear(r);
	return rc;
}

static int pg_send(void *arg, const char *p, size_t n);

static int pg_open(struct out_writer *w, const struct cfg *cfg, char *err,
		   size_t errlen)
{
	struct pg_out *o = calloc(1, sizeof *o);
	const char *table = cfg->table ? cfg->table : "aggregate";
	struct sql q = { 0 }, qt = { 0 };
	char **names = NULL;
	int n = 0, rc = -1;
	PGresult *r;

	if (o == NULL)
		goto out_oom;
	w->impl = o;
	o->fail_after = fail_after_rows();
	o->table = strdup(table);
	o->target = pg_target(cfg->output, &o->password);
	o->copy.of.fd = -1;
	o->copy.buf = malloc(OUT_BUF_SIZE);
	o->copy.sink = pg_send;
	o->copy.sink_arg = o;
	sql_table(&qt, table);
	if (o->table == NULL || o->target == NULL || o->copy.buf == NULL ||
	    qt.oom)
		goto out_oom;
	o->conn = PQconnectdb(cfg->output);
	if (o->conn == NULL)
		goto out_oom;
	if (PQstatus(o->conn) != CONNECTION_OK) {
		pg_fail(o, "cannot connect to write", err, errlen);
		goto out;
	}
	PQsetNoticeProcessor(o->conn, pg_notice, NULL);
	if (PQsetClientEncoding(o->conn, "UTF8") != 0) {
		pg_fail(o, "cannot write", err, errlen);
		goto out;
	}
	/*
	 * One transaction: readers see the old rows until COMMIT, then the new
	 * ones.  SHARE ROW EXCLUSIVE conflicts with itself and with every
	 * writer, so two runs cannot interleave, but not with the ACCESS SHARE
	 * of readers, who are never blocked.
	 */
	if (pg_exec(o, "BEGIN", "cannot write", err, errlen) < 0)
		goto out;
	/*
	 * Create it only when it is missing (CREATE ... IF NOT EXISTS would
	 * need the CREATE privilege even then), lock it, and only then read
	 * the columns that count: a racing run may have just created it.
	 */
	if (pg_columns(o, qt.p, &names, &n, err, errlen) < 0)
		goto out;
	if (n == 0) {
		sql_create(&q, w, table, pg_types, true);
		if (q.oom)
			goto out_oom;
		if (pg_exec(o, q.p, "cannot create", err, errlen) < 0)
			goto out;
	}
	q.len = 0;
	sql_puts(&q, "LOCK TABLE ");
	sql_puts(&q, qt.p);
	sql_puts(&q, " IN SHARE ROW EXCLUSIVE MODE");
	if (q.oom)
		goto out_oom;
	if (pg_exec(o, q.p, "cannot lock", err, errlen) < 0)
		goto out;
	free_names(names, n);
	if (pg_columns(o, qt.p, &names, &n, err, errlen) < 0)
		goto out;
	{
		char where[300];

		snprintf(where, sizeof where, " (%s)", o->target);
		if (check_columns(w, names, n, false, table, where, err,
				  errlen) < 0)
			goto out;
	}
	if (cfg->write == CFG_WRITE_REPLACE) {
		/* DELETE, not TRUNCATE: see docs/design.md "Table outputs". */
		q.len = 0;
		sql_puts(&q, "DELETE FROM ");
		sql_puts(&q, qt.p);
		if (q.oom)
			goto out_oom;
		if (pg_exec(o, q.p, "cannot replace the rows of", err,
			    errlen) < 0)
			goto out;
	}
	q.len = 0;
	sql_puts(&q, "COPY ");
	sql_puts(&q, qt.p);
	sql_puts(&q, " ");
	sql_col_list(&q, w);
	sql_puts(&q, " FROM STDIN");
	if (q.oom)
		goto out_oom;
	r = PQexec(o->conn, q.p);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		pg_fail(o, "cannot write", err, errlen);
		PQclear(r);
		goto out;
	}
	PQclear(r);
	o->copying = true;
	rc = 0;
	goto out;

out_oom:
	snprintf(err, errlen, "out of memory opening table %s", table);
out:
	free(q.p);
	free(qt.p);
	free_names(names, n);
	if (w->impl == NULL)
		pg_close(o);
	return rc;
}

/* The COPY sink: one buffer of rows to the server; 0 or -1. */
static int pg_send(void *arg, const char *p, size_t n)
{
	struct pg_out *o = arg;

	if (PQputCopyData(o->conn, p, (int)n) != 1) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* Send the buffered COPY data.  Returns 0, or -1 with err. */
static int pg_flush(struct pg_out *o, char *err, size_t errlen)
{
	file_flush(&o->copy);
	if (o->copy.error != 0) {
		pg_fail(o, "cannot write", err, errlen);
		return -1;
	}
	return 0;
}

/* A text value in COPY's text format: \\, \t, \n, \r escaped. */
static void pg_copy_text(struct out_file *f, const char *s, size_t len)
{
	const char *end = s + len;

	while (s < end) {
		const char *p = s;
		char e;

		while (p < end && *p != '\\' && *p != '\t' && *p != '\n' &&
		       *p != '\r')
			p++;
		file_put(f, s, (size_t)(p - s));
		if (p == end)
			break;
		e = *p == '\\' ? '\\' : *p == '\t' ? 't' : *p == '\n' ? 'n' : 'r';
		file_putc(f, '\\');
		file_putc(f, e);
		s = p + 1;
	}
}

static int pg_row(struct out_writer *w, const struct rec_value *v, char *err,
		  size_t errlen)
{
	struct pg_out *o = w->impl;
	struct out_file *f = &o->copy;

	if (o->fail_after >= 0 && o->rows >= o->fail_after) {
		snprintf(err, errlen, "test hook: output fails after %ld rows",
			 o->rows);
		return -1;
	}
	for (int i = 0; i < w->ncols; i++) {
		if (i > 0)
			file_putc(f, '\t');
		if (v[i].null || (w->cols[i].type == REC_FLOAT &&
				  !isfinite(v[i].u.f)))
			file_put(f, "\\N", 2);
		else if (w->cols[i].type == REC_TEXT)
			pg_copy_text(f, v[i].u.s.p, v[i].u.s.len);
		else if (w->cols[i].type == REC_BOOL)
			file_putc(f, v[i].u.b ? 't' : 'f');
		else
			put_plain(f, w->cols[i].type, &v[i], false);
	}
	file_putc(f, '\n');
	o->rows++;
	if (f->error != 0) {
		pg_fail(o, "cannot write", err, errlen);
		return -1;
	}
	return 0;
}

static int pg_commit(struct out_writer *w, char *err, size_t errlen)
{
	struct pg_out *o = w->impl;
	PGresult *r;
	int rc = -1;

	if (pg_flush(o, err, errlen) < 0)
		goto out;
	if (PQputCopyEnd(o->conn, NULL) != 1) {
		pg_fail(o, "cannot write", err, errlen);
		goto out;
	}
	o->copying = false;
	r = PQgetResult(o->conn);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		pg_fail(o, "cannot write", err, errlen);
		PQclear(r);
		while ((r = PQgetResult(o->conn)) != NULL)
			PQclear(r);
		goto out;
	}
	PQclear(r);
	while ((r = PQgetResult(o->conn)) != NULL)
		PQclear(r);
	if (pg_exec(o, "COMMIT", "cannot commit", err, errlen) < 0)
		goto out;
	rc = 0;
out:
	pg_close(o);
	w->impl = NULL;
	return rc;
}

static void pg_abort(struct out_writer *w)
{
	pg_close(w->impl);
	w->impl = NULL;
}

/* ------------------------------------------------------------------ */
/* The writer                                                          */
/* ------------------------------------------------------------------ */

static const struct out_backend backends[] = {
	{ CFG_FMT_CSV, csv_open, csv_row, text_commit, text_abort },
	{ CFG_FMT_JSONL, jsonl_open, jsonl_row, text_commit, text_abort },
	{ CFG_FMT_SQLITE, sq_open, sq_row, sq_commit, sq_abort },
	{ CFG_FMT_POSTGRES, pg_open, pg_row, pg_commit, pg_abort },
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
	w->file.of.fd = -1;
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

void out_describe(const struct cfg *cfg, char *buf, size_t len)
{
	const char *table = cfg->table ? cfg->table : "aggregate";
	char *target, *password = NULL;

	if (cfg->format == CFG_FMT_POSTGRES) {
		target = pg_target(cfg->output, &password);
		snprintf(buf, len, "table %s (%s)", table,
			 target ? target : "PostgreSQL");
		free(target);
		free(password);
	} else if (cfg->format == CFG_FMT_SQLITE) {
		snprintf(buf, len, "table %s in %s", table, cfg->output);
	} else {
		snprintf(buf, len, "%s",
			 strcmp(cfg->output, "-") == 0 ? "stdout" : cfg->output);
	}
}

static volatile sig_atomic_t *stop_flag;

void out_set_stop_flag(volatile sig_atomic_t *flag)
{
	stop_flag = flag;
}

static bool stopping(char *err, size_t errlen)
{
	if (stop_flag == NULL || *stop_flag == 0)
		return false;
	snprintf(err, errlen, "output abandoned: the run was stopped by a signal");
	return true;
}

#ifdef AGG_TESTING
/*
 * Test builds: AGG_OUT_STOP_AFTER=N sends SIGTERM to the supervisor after
 * row N and waits for it to come back (the supervisor forwards it), so a
 * test can stop a run in the middle of its output deterministically.
 */
static void stop_hook(struct out_writer *w)
{
	const char *s = getenv("AGG_OUT_STOP_AFTER");
	sigset_t block, old;

	if (s == NULL || *s == '\0' || stop_flag == NULL ||
	    w->rows != strtol(s, NULL, 10))
		return;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	kill(getppid(), SIGTERM);
	sigdelset(&old, SIGTERM);
	while (*stop_flag == 0)
		sigsuspend(&old);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
}

/*
 * Test builds: AGG_OUT_HANG_AFTER=N, after row N, puts what is buffered
 * into the temporary, logs "fault injected" (point output_write) and waits
 * for a signal, so a test can kill the run in the middle of its write.
 */
static void hang_hook(struct out_writer *w)
{
	const char *s = getenv("AGG_OUT_HANG_AFTER");

	if (s == NULL || *s == '\0' || w->rows != strtol(s, NULL, 10))
		return;
	if (w->file.buf != NULL)
		file_flush(&w->file);
	log_event(LOG_WARN, NULL, "fault injected", "point", "output_write",
		  NULL);
	while (stop_flag == NULL || *stop_flag == 0)
		pause();
}
#endif

int out_row(struct out_writer *w, const struct rec_value *v, char *err,
	    size_t errlen)
{
#ifdef AGG_TESTING
	stop_hook(w);
	hang_hook(w);
#endif
	if (stopping(err, errlen))
		return -1;
	w->rows++;
	return w->be->row(w, v, err, errlen);
}

int out_commit(struct out_writer *w, char *err, size_t errlen)
{
	int rc;

	/* The last moment a stop can still leave the old output in place. */
	if (stopping(err, errlen)) {
		out_abort(w);
		return -1;
	}
	rc = w->be->commit(w, err, errlen);
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
