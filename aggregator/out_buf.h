/*
 * out_buf.h - the buffer rows are formatted into, and the formatting of the
 * values every byte-stream output shares (CSV, JSON Lines, PostgreSQL's
 * COPY text).
 *
 * Rows are formatted straight into one large buffer (no stdio, no printf
 * per field), which goes out in one piece when full: to a file descriptor
 * with sys_write_all(), or to a sink function (PostgreSQL's COPY).  A
 * failed write is sticky: the buffer's bytes are dropped and error holds
 * the errno, so formatting goes on without checks until the row ends and
 * the caller looks at error once per row.
 *
 * The per-value functions are static inline on purpose: they run for every
 * value of every row, and a call across files would not be inlined.
 *
 * The buffer is a fixed OUT_BUF_SIZE block, not a growable struct buf: a
 * full block is sent, never grown, so memory stays bounded however many
 * rows pass.  Not for use by two threads at once.
 */
#ifndef AGG_OUT_BUF_H
#define AGG_OUT_BUF_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../common/convert.h"
#include "../common/decimal.h"
#include "../ipc/record.h"
#include "output.h"

/* Bytes formatted before they go out in one piece. */
#define OUT_BUF_SIZE (1024u * 1024u)

/* Room for the longest fixed-width value of any type. */
#define OUT_VALUE_MAX 64

struct out_buf {
	char *buf;        /* OUT_BUF_SIZE bytes, owned (out_buf_init/free) */
	size_t len;       /* bytes waiting in buf */
	int error;        /* errno of the first failed write, or 0 */
	int fd;           /* where full buffers go when sink is NULL */
	/* Where full buffers go instead of fd: returns 0, or -1 with errno. */
	int (*sink)(void *arg, const char *p, size_t n);
	void *sink_arg;
};

/*
 * Allocate the buffer; fd -1 and no sink until the caller sets them.
 * Returns 0, or -1 when out of memory.
 */
int out_buf_init(struct out_buf *b);

/* Release the buffer (what it holds is dropped).  Fine twice. */
void out_buf_free(struct out_buf *b);

/*
 * Send what is buffered and empty the buffer.  On failure the error sticks
 * (b->error) and the data is dropped; after a failure nothing more is sent.
 */
void out_buf_flush(struct out_buf *b);

/* Make room for n <= OUT_VALUE_MAX bytes; returns where they go. */
static inline char *out_buf_reserve(struct out_buf *b, size_t n)
{
	if (OUT_BUF_SIZE - b->len < n)
		out_buf_flush(b);
	return b->buf + b->len;
}

static inline void out_buf_put(struct out_buf *b, const char *p, size_t n)
{
	while (n > 0) {
		size_t room = OUT_BUF_SIZE - b->len;
		size_t c;

		if (room == 0) {
			out_buf_flush(b);
			room = OUT_BUF_SIZE;
		}
		c = n < room ? n : room;
		memcpy(b->buf + b->len, p, c);
		b->len += c;
		p += c;
		n -= c;
	}
}

static inline void out_buf_putc(struct out_buf *b, char c)
{
	*out_buf_reserve(b, 1) = c;
	b->len++;
}

/* Decimal digits of v into out; returns the length (at most 20). */
static inline size_t out_fmt_i64(int64_t v, char *out)
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

/*
 * A value of column c's type when it needs neither quoting nor escaping
 * (not REC_TEXT, which writes nothing): an int, a float (nothing for NaN
 * or infinities, which the converters never make), true/false, a
 * decimal's digits with exactly the column's scale of fraction digits (a
 * bare number in JSON too), a timestamp in RFC 3339 and a date as
 * YYYY-MM-DD, both in double quotes when quote_ts (JSON).  The column, not
 * its type and scale: one argument as the type alone was, so that the
 * other types pay nothing for the decimal's scale; always inlined into
 * the sinks' row loops, which have loaded the column's type already
 * (measured: fewer instructions per value than the call it was).
 */
static inline __attribute__((always_inline)) void
out_buf_plain(struct out_buf *b, const struct out_col *c,
	      const struct rec_value *v, bool quote_ts)
{
	char *p = out_buf_reserve(b, OUT_VALUE_MAX);
	size_t n = 0;

	switch (c->type) {
	case REC_INT:
		n = out_fmt_i64(v->u.i, p);
		break;
	case REC_FLOAT:
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
	case REC_DATE:
		if (quote_ts)
			p[n++] = '"';
		n += conv_format_date(v->u.i, p + n);
		if (quote_ts)
			p[n++] = '"';
		break;
	case REC_DECIMAL:
		n = dec_format(rec_dec(v), c->scale, p);
		break;
	case REC_TEXT:
		break;
	}
	b->len += n;
}

#endif
