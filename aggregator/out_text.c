/*
 * out_text.c - the CSV and JSON Lines sinks (out_text.h): rows formatted
 * into the row buffer (out_buf.h), which goes to the file outfile.h opened.
 *
 * Invariants:
 *  - The file is a temporary (or a stream) from open to commit; only
 *    outfile_commit() puts it in place, and it runs only when every byte
 *    was written (the buffer's error is sticky and checked first).
 *  - JSON Lines keys (`"name":`) are escaped once at open, not per row.
 */
#include "out_text.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "../common/swar.h"
#include "out_buf.h"
#include "outfile.h"

/*
 * The keys are read by the format functions on any thread (out_sink.h)
 * while the writing thread fills b: a cache line (64 bytes) between them.
 */
struct text_out {
	char **keys;        /* JSON Lines: `"name":` per column, escaped */
	size_t *keylens;
	int nkeys;
	char apart[64];
	struct outfile of;  /* the temporary or the stream */
	struct out_buf b;   /* rows on their way to of.fd */
};

/* ------------------------------------------------------------------ */
/* The file                                                            */
/* ------------------------------------------------------------------ */

/*
 * Open the output (outfile.h decides: a stream, or a temporary renamed
 * over the target on commit); append keeps the target's rows.
 */
static int text_open_file(struct text_out *o, const char *output, bool append,
			  char *err, size_t errlen)
{
	o->of.fd = -1;
	if (out_buf_init(&o->b) < 0) {
		snprintf(err, errlen, "out of memory opening output %s", output);
		return -1;
	}
	if (outfile_open(&o->of, output, "output",
			 OUTFILE_STDOUT | (append ? OUTFILE_APPEND : 0), err,
			 errlen) < 0)
		return -1;
	o->b.fd = o->of.fd;
	return 0;
}

/* The state of a new writer, in w->impl; NULL with err when out of memory. */
static struct text_out *text_new(struct out_writer *w, const char *output,
				 char *err, size_t errlen)
{
	struct text_out *o = calloc(1, sizeof *o);

	if (o == NULL) {
		snprintf(err, errlen, "out of memory opening output %s", output);
		return NULL;
	}
	o->of.fd = -1;
	o->b.fd = -1;
	w->impl = o;
	return o;
}

/* Release everything; remove the temporary if it is still there. */
static void text_abort(struct out_writer *w)
{
	struct text_out *o = w->impl;

	if (o == NULL)
		return;
	outfile_abort(&o->of);
	out_buf_free(&o->b);
	if (o->keys != NULL)
		for (int i = 0; i < o->nkeys; i++)
			free(o->keys[i]);
	free(o->keys);
	free(o->keylens);
	free(o);
	w->impl = NULL;
}

/* Flush, then put the file in place; the sink is released either way. */
static int text_commit(struct out_writer *w, char *err, size_t errlen)
{
	struct text_out *o = w->impl;
	int rc = -1;

	out_buf_flush(&o->b);
	if (o->b.error != 0) {
		snprintf(err, errlen, "cannot write %s: %s", o->of.name,
			 strerror(o->b.error));
		goto out;
	}
	rc = outfile_commit(&o->of, err, errlen);
out:
	text_abort(w);
	return rc;
}

/* Test builds' hang hook: what is buffered goes into the temporary. */
static void text_flush(struct out_writer *w)
{
	struct text_out *o = w->impl;

	if (o != NULL && o->b.buf != NULL)
		out_buf_flush(&o->b);
}

/* 0, or -1 with err when a write of the row (or an earlier one) failed. */
static int text_row_status(const struct text_out *o, char *err, size_t errlen)
{
	if (o->b.error == 0)
		return 0;
	snprintf(err, errlen, "cannot write %s: %s",
		 o->of.name ? o->of.name : "stdout", strerror(o->b.error));
	return -1;
}

/* Bytes a format function made elsewhere, written as its rows would be. */
static int text_put(struct out_writer *w, const char *p, size_t n, char *err,
		    size_t errlen)
{
	struct text_out *o = w->impl;

	out_buf_put(&o->b, p, n);
	return text_row_status(o, err, errlen);
}

/* ------------------------------------------------------------------ */
/* CSV                                                                 */
/* ------------------------------------------------------------------ */

static bool csv_needs_quotes(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return true; /* "" tells an empty string from NULL */
	/* Eight bytes a test: every key of a large result passes here. */
	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, s + i, 8);
		/* All four are below '-': most words have no such byte. */
		if (!swar_bytes_below(w, ',' + 1))
			continue;
		if (swar_has(w, ',') || swar_has(w, '"') ||
		    swar_has(w, '\n') || swar_has(w, '\r'))
			return true;
	}
	for (; i < len; i++) {
		char c = s[i];

		if (c == ',' || c == '"' || c == '\n' || c == '\r')
			return true;
	}
	return false;
}

static void csv_text(struct out_buf *b, const char *s, size_t len)
{
	const char *end = s + len;

	if (!csv_needs_quotes(s, len)) {
		out_buf_put(b, s, len);
		return;
	}
	out_buf_putc(b, '"');
	while (s < end) {
		const char *q = memchr(s, '"', (size_t)(end - s));

		if (q == NULL) {
			out_buf_put(b, s, (size_t)(end - s));
			break;
		}
		/* Copy through the quote, then double it. */
		out_buf_put(b, s, (size_t)(q - s) + 1);
		out_buf_putc(b, '"');
		s = q + 1;
	}
	out_buf_putc(b, '"');
}

/*
 * write = append to a file with rows: its first line must be the header
 * just formatted in the buffer, which is then dropped (written once).
 */
static int csv_same_header(struct text_out *o, char *err, size_t errlen)
{
	struct out_buf *b = &o->b;
	char *old = malloc(b->len + 1), *nl;
	ssize_t n;
	int rc = -1;

	if (old == NULL) {
		snprintf(err, errlen, "out of memory opening output %s",
			 o->of.name);
		return -1;
	}
	do
		n = pread(o->of.fd, old, b->len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(err, errlen, "cannot read output %s: %s", o->of.name,
			 strerror(errno));
		goto out;
	}
	if ((size_t)n == b->len && memcmp(old, b->buf, b->len) == 0) {
		b->len = 0;
		rc = 0;
		goto out;
	}
	old[n] = '\0';
	nl = strchr(old, '\n');
	if (nl)
		*nl = '\0';
	b->buf[b->len - 1] = '\0';
	snprintf(err, errlen,
		 "cannot append to output %s: its header is '%.200s', this "
		 "run's is '%.200s'", o->of.name, old, b->buf);
out:
	free(old);
	return rc;
}

static int csv_open(struct out_writer *w, const struct cfg *cfg, char *err,
		    size_t errlen)
{
	bool append = cfg->write == CFG_WRITE_APPEND;
	struct text_out *o = text_new(w, cfg->output, err, errlen);
	int i;

	if (o == NULL || text_open_file(o, cfg->output, append, err, errlen) < 0)
		return -1;
	for (i = 0; i < w->ncols; i++) {
		if (i > 0)
			out_buf_putc(&o->b, ',');
		csv_text(&o->b, w->cols[i].name, strlen(w->cols[i].name));
	}
	out_buf_putc(&o->b, '\n');
	if (append && o->of.kept > 0)
		return csv_same_header(o, err, errlen);
	return 0;
}

static void csv_format(const struct out_writer *w, struct out_buf *b,
		       const struct rec_value *v)
{
	int i;

	for (i = 0; i < w->ncols; i++) {
		if (i > 0)
			out_buf_putc(b, ',');
		if (v[i].null)
			continue;
		if (w->cols[i].type == REC_TEXT)
			csv_text(b, v[i].u.s.p, v[i].u.s.len);
		else
			out_buf_plain(b, &w->cols[i], &v[i], false);
	}
	out_buf_putc(b, '\n');
}

static int csv_row(struct out_writer *w, const struct rec_value *v, char *err,
		   size_t errlen)
{
	struct text_out *o = w->impl;

	csv_format(w, &o->b, v);
	return text_row_status(o, err, errlen);
}

const struct out_sink out_text_csv = {
	CFG_FMT_CSV, csv_open, csv_row, text_commit, text_abort, text_flush,
	csv_format, text_put
};

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

static void json_text(struct out_buf *b, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;

	out_buf_putc(b, '"');
	while (i < len) {
		unsigned char c = s[i];
		char *p;
		int n;

		if (json_plain(c)) {
			size_t j = i + 1;

			while (j < len && json_plain(s[j]))
				j++;
			out_buf_put(b, text + i, j - i);
			i = j;
			continue;
		}
		p = out_buf_reserve(b, 8);
		if (c == '"' || c == '\\') {
			p[0] = '\\';
			p[1] = (char)c;
			b->len += 2;
			i++;
		} else if (c < 0x20) {
			char e = c == '\n' ? 'n' : c == '\r' ? 'r' :
				 c == '\t' ? 't' : c == '\b' ? 'b' :
				 c == '\f' ? 'f' : 0;

			p[0] = '\\';
			if (e != 0) {
				p[1] = e;
				b->len += 2;
			} else {
				memcpy(p + 1, "u00", 3);
				p[4] = hexdigits[c >> 4];
				p[5] = hexdigits[c & 15];
				b->len += 6;
			}
			i++;
		} else if ((n = utf8_seq(s + i, len - i)) > 0) {
			memcpy(p, s + i, (size_t)n);
			b->len += (size_t)n;
			i += (size_t)n;
		} else {
			memcpy(p, "\xEF\xBF\xBD", 3);
			b->len += 3;
			i += (size_t)-n;
		}
	}
	out_buf_putc(b, '"');
}

/* `"name":` for each column, escaped once here rather than per row. */
static int json_make_keys(struct text_out *o, const struct out_writer *w)
{
	struct out_buf scratch;
	int i, rc = -1;

	o->keys = calloc((size_t)w->ncols, sizeof(*o->keys));
	o->keylens = calloc((size_t)w->ncols, sizeof(*o->keylens));
	o->nkeys = w->ncols;
	if (out_buf_init(&scratch) < 0 || o->keys == NULL ||
	    o->keylens == NULL)
		goto out;
	for (i = 0; i < w->ncols; i++) {
		const char *name = w->cols[i].name;
		size_t nlen = strlen(name);

		/* Names longer than the buffer would need a flush; refuse. */
		if (nlen > OUT_BUF_SIZE / 8)
			goto out;
		scratch.len = 0;
		json_text(&scratch, name, nlen);
		out_buf_putc(&scratch, ':');
		o->keys[i] = malloc(scratch.len);
		if (o->keys[i] == NULL)
			goto out;
		memcpy(o->keys[i], scratch.buf, scratch.len);
		o->keylens[i] = scratch.len;
	}
	rc = 0;
out:
	out_buf_free(&scratch);
	return rc;
}

static int jsonl_open(struct out_writer *w, const struct cfg *cfg, char *err,
		      size_t errlen)
{
	struct text_out *o = text_new(w, cfg->output, err, errlen);

	if (o == NULL)
		return -1;
	if (json_make_keys(o, w) < 0) {
		snprintf(err, errlen, "out of memory opening output %s",
			 cfg->output);
		return -1;
	}
	return text_open_file(o, cfg->output, cfg->write == CFG_WRITE_APPEND,
			      err, errlen);
}

static void jsonl_format(const struct out_writer *w, struct out_buf *b,
			 const struct rec_value *v)
{
	const struct text_out *o = w->impl;
	int i;

	out_buf_putc(b, '{');
	for (i = 0; i < w->ncols; i++) {
		if (i > 0)
			out_buf_putc(b, ',');
		out_buf_put(b, o->keys[i], o->keylens[i]);
		if (v[i].null)
			out_buf_put(b, "null", 4);
		else if (w->cols[i].type == REC_TEXT)
			json_text(b, v[i].u.s.p, v[i].u.s.len);
		else if (w->cols[i].type == REC_FLOAT && !isfinite(v[i].u.f))
			out_buf_put(b, "null", 4);
		else
			out_buf_plain(b, &w->cols[i], &v[i], true);
	}
	out_buf_put(b, "}\n", 2);
}

static int jsonl_row(struct out_writer *w, const struct rec_value *v,
		     char *err, size_t errlen)
{
	struct text_out *o = w->impl;

	jsonl_format(w, &o->b, v);
	return text_row_status(o, err, errlen);
}

const struct out_sink out_text_jsonl = {
	CFG_FMT_JSONL, jsonl_open, jsonl_row, text_commit, text_abort,
	text_flush, jsonl_format, text_put
};
