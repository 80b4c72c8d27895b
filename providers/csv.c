/*
 * csv.c - the streaming RFC 4180 parser declared in csv.h.
 *
 * One byte-level state machine, resumable at any byte, scans the buffer it
 * was fed.  Field boundaries are kept as offsets from the record's first
 * byte ("rel" offsets), so they stay right whether the record lies in the
 * caller's buffer or was carried over a buffer boundary.  A record that
 * does not end within the buffer fed is copied (only its bytes) into the
 * carry buffer, and the rest of it is appended there when it ends, so the
 * raw record is always contiguous; a record inside one buffer is never
 * copied.  Only fields with doubled quotes are unescaped, into `data`.
 *
 * States, and what moves between them:
 *
 *   FIELD_START --quote--> QUOTED --quote--> QUOTE_SEEN --quote--> QUOTED
 *        |                                    |  |
 *        +--other--> UNQ                      |  +--CR--> CR_AFTER_QUOTE
 *                    |                        |
 *   delimiter: FIELD_START; LF: record ends; anything unexpected: BAD,
 *   which skips to the next LF and ends a malformed record there.
 *
 * Invariants:
 *  - rel(i) = rec_before + i - rec_pos is the offset of in[i] in the record;
 *  - unless the record is `over`, rel never exceeds max_record + 2, so the
 *    carry (capped at max_record + 2) holds every byte of such a record and
 *    all of its field offsets are valid;
 *  - whether a record is over its limit is decided at one byte position
 *    (rel == max_record + 2), whatever the buffer boundaries: parsing does
 *    not depend on how the input was split.
 */
#include "csv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/swar.h"

enum csv_state {
	ST_FIELD_START,
	ST_UNQ,
	ST_QUOTED,
	ST_QUOTE_SEEN,
	ST_CR_AFTER_QUOTE,
	ST_BAD,
};

/* Byte classes for the unquoted scan: anything but DATA stops it. */
enum { C_DATA = 0, C_DELIM, C_QUOTE, C_LF };

/* A field of the record being parsed, in rel offsets. */
struct span {
	size_t start;
	size_t len;
	bool quoted;
	bool escaped;       /* holds doubled quotes: must be unescaped */
};

struct csv_parser {
	char delim;
	char quote;
	bool has_quote;
	size_t max_record;
	size_t max_fields;
	unsigned char cls[256];

	/* The buffer being parsed. */
	const char *in;
	size_t in_len;
	size_t pos;
	uint64_t in_off;        /* stream offset of in[0] */
	bool eof;

	/* The record being parsed. */
	bool rec_started;
	size_t rec_pos;         /* its first byte in in[] (0 once carried) */
	size_t rec_before;      /* its bytes in earlier buffers */
	uint64_t rec_off;
	uint64_t rec_line;
	enum csv_state st;
	size_t fstart;          /* rel offset of the current field's content */
	size_t fend;            /* rel offset of a quoted field's close quote */
	bool fquoted;
	bool fescaped;
	bool over;              /* reached max_record + 2 bytes */
	const char *bad;        /* why it is malformed, NULL if it is not */
	char reason[96];

	uint64_t line;          /* physical line of the next byte */

	struct span *spans;
	size_t nspans;
	size_t spans_cap;

	char *carry;
	size_t carry_len;
	size_t carry_cap;

	char *data;
	size_t data_cap;

	struct csv_field *out;
	size_t out_cap;
};

struct csv_parser *csv_new(const struct csv_options *o)
{
	struct csv_parser *p;

	if (o->delimiter == '\0' || o->delimiter == '\n' ||
	    o->delimiter == '\r' || o->delimiter == o->quote ||
	    o->quote == '\n' || o->quote == '\r') {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	p->delim = o->delimiter;
	p->quote = o->quote;
	p->has_quote = o->quote != '\0';
	p->max_record = o->max_record ? o->max_record : CSV_DEFAULT_MAX_RECORD;
	p->max_fields = o->max_fields ? o->max_fields : CSV_DEFAULT_MAX_FIELDS;
	/* Keep rel arithmetic (max_record + 2, doubling) far from overflow. */
	if (p->max_record > SIZE_MAX / 4)
		p->max_record = SIZE_MAX / 4;
	if (p->max_fields > SIZE_MAX / (4 * sizeof(struct span)))
		p->max_fields = SIZE_MAX / (4 * sizeof(struct span));
	p->cls[(unsigned char)p->delim] = C_DELIM;
	if (p->has_quote)
		p->cls[(unsigned char)p->quote] = C_QUOTE;
	p->cls['\n'] = C_LF;
	csv_reset(p, 0, 1);
	return p;
}

void csv_free(struct csv_parser *p)
{
	if (p == NULL)
		return;
	free(p->spans);
	free(p->carry);
	free(p->data);
	free(p->out);
	free(p);
}

void csv_reset(struct csv_parser *p, uint64_t offset, uint64_t line)
{
	p->in = NULL;
	p->in_len = 0;
	p->pos = 0;
	p->in_off = offset;
	p->eof = false;
	p->rec_started = false;
	p->rec_before = 0;
	p->carry_len = 0;
	p->line = line;
}

void csv_feed(struct csv_parser *p, const char *buf, size_t len)
{
	p->in_off += p->in_len;
	p->in = buf;
	p->in_len = len;
	p->pos = 0;
	/* A record with bytes carried goes on at buf[0]; none: it starts there. */
	if (p->rec_before > 0)
		p->rec_pos = 0;
	else
		p->rec_started = false;
}

void csv_finish(struct csv_parser *p)
{
	p->eof = true;
}

bool csv_in_quotes(const struct csv_parser *p)
{
	return p->rec_started && p->st == ST_QUOTED;
}

static void start_record(struct csv_parser *p, size_t i)
{
	p->rec_started = true;
	p->rec_pos = i;
	p->rec_before = 0;
	p->rec_off = p->in_off + i;
	p->rec_line = p->line;
	p->st = ST_FIELD_START;
	p->over = false;
	p->bad = NULL;
	p->nspans = 0;
	p->carry_len = 0;
}

static size_t rel(const struct csv_parser *p, size_t i)
{
	return p->rec_before + i - p->rec_pos;
}

/* Mark the record malformed (the first reason wins) and skip to its end. */
static void set_bad(struct csv_parser *p, const char *fmt, size_t arg)
{
	if (p->bad == NULL) {
		snprintf(p->reason, sizeof p->reason, fmt, arg);
		p->bad = p->reason;
	}
	p->st = ST_BAD;
}

/* Grow *buf to hold need elements of size sz; 0 or -1 (out of memory). */
static int grow(void **buf, size_t *cap, size_t need, size_t sz)
{
	size_t ncap = *cap ? *cap : 16;
	void *nb;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	nb = realloc(*buf, ncap * sz);
	if (nb == NULL)
		return -1;
	*buf = nb;
	*cap = ncap;
	return 0;
}

/* Append bytes of the current record to the carry, never past its cap. */
static int carry_append(struct csv_parser *p, const char *src, size_t n)
{
	size_t cap = p->max_record + 2;
	void *buf = p->carry;

	if (p->carry_len + n > cap)
		n = cap - p->carry_len;
	if (n == 0)
		return 0;
	if (grow(&buf, &p->carry_cap, p->carry_len + n, 1) < 0)
		return -1;
	p->carry = buf;
	memcpy(p->carry + p->carry_len, src, n);
	p->carry_len += n;
	return 0;
}

/*
 * push_field() when the spans are full, the record bad or at its limit.
 * Its last lines repeat push_field()'s on purpose: a deliberate hot-path
 * specialisation, so that the inline fast path makes no call per field.
 */
static int push_field_slow(struct csv_parser *p, size_t len)
{
	void *buf = p->spans;
	struct span *s;

	if (p->bad != NULL)
		return 0;
	if (p->nspans == p->max_fields) {
		set_bad(p, "more than %zu fields", p->max_fields);
		return 0;
	}
	if (grow(&buf, &p->spans_cap, p->nspans + 1, sizeof *s) < 0)
		return -1;
	p->spans = buf;
	s = &p->spans[p->nspans++];
	s->start = p->fstart;
	s->len = len;
	s->quoted = p->fquoted;
	s->escaped = p->fescaped;
	return 0;
}

/* End the current field with content length len; 0 or -1 (no memory). */
static inline int push_field(struct csv_parser *p, size_t len)
{
	struct span *s;

	if (__builtin_expect(p->bad != NULL || p->nspans >= p->spans_cap ||
			     p->nspans >= p->max_fields, 0))
		return push_field_slow(p, len);
	s = &p->spans[p->nspans++];
	s->start = p->fstart;
	s->len = len;
	s->quoted = p->fquoted;
	s->escaped = p->fescaped;
	return 0;
}

/* The byte before in[i] in the record (i > 0 or bytes carried). */
static char byte_before(const struct csv_parser *p, size_t i)
{
	if (i > p->rec_pos)
		return p->in[i - 1];
	return p->carry_len > 0 ? p->carry[p->carry_len - 1] : '\0';
}

/* The unquoted field ends at in[i]; a CR right before an LF is not data. */
static int push_unquoted(struct csv_parser *p, size_t i, bool at_line_end)
{
	size_t len = rel(p, i) - p->fstart;

	if (at_line_end && len > 0 && byte_before(p, i) == '\r')
		len--;
	return push_field(p, len);
}

/* Unescape a field with doubled quotes from src into dst; its new length. */
static size_t unescape(char *dst, const char *src, size_t len, char quote)
{
	size_t o = 0;

	for (size_t k = 0; k < len; k++) {
		dst[o++] = src[k];
		if (src[k] == quote)
			k++; /* the second of the pair */
	}
	return o;
}

/*
 * The record ends: its raw bytes stop at in[e], the next record starts at
 * in[next].  Fill *r and return CSV_RECORD or CSV_MALFORMED.
 */
static int finish_record(struct csv_parser *p, struct csv_record *r, size_t e,
			 size_t next, bool strip_cr)
{
	size_t raw_len = rel(p, e), data_need = 0, data_len = 0;
	const char *base;

	if (p->rec_before > 0) {
		if (carry_append(p, p->in + p->rec_pos, e - p->rec_pos) < 0)
			return CSV_NOMEM;
		base = p->carry;
	} else {
		base = p->in + p->rec_pos;
	}
	/* Not over: every raw byte is at hand (the carry holds max + 2). */
	if (!p->over && strip_cr && raw_len > 0 && base[raw_len - 1] == '\r')
		raw_len--;
	if (raw_len > p->max_record) {
		set_bad(p, "record larger than %zu bytes", p->max_record);
		raw_len = p->max_record;
	}

	r->raw = base;
	r->raw_len = raw_len;
	r->line = p->rec_line;
	r->next_line = p->line;
	r->offset = p->rec_off;
	r->end_offset = p->in_off + next;
	r->reason = NULL;
	p->pos = next;
	p->rec_started = false;
	p->rec_before = 0;

	if (p->bad != NULL) {
		r->fields = NULL;
		r->nfields = 0;
		r->reason = p->bad;
		return CSV_MALFORMED;
	}

	if (p->nspans > p->out_cap) {
		void *buf = p->out;

		if (grow(&buf, &p->out_cap, p->nspans, sizeof *p->out) < 0)
			return CSV_NOMEM;
		p->out = buf;
	}
	for (size_t k = 0; k < p->nspans; k++) {
		const struct span *s = &p->spans[k];
		struct csv_field *f = &p->out[k];

		f->quoted = s->quoted;
		if (!s->escaped) {
			f->p = base + s->start;
			f->len = s->len;
		} else {
			data_need += s->len;
		}
	}
	if (data_need == 0)
		goto out_record;
	{
		void *buf = p->data;

		if (grow(&buf, &p->data_cap, data_need, 1) < 0)
			return CSV_NOMEM;
		p->data = buf;
	}
	for (size_t k = 0; k < p->nspans; k++) {
		const struct span *s = &p->spans[k];
		struct csv_field *f = &p->out[k];

		if (s->escaped) {
			f->p = p->data + data_len;
			f->len = unescape(p->data + data_len, base + s->start,
					  s->len, p->quote);
			data_len += f->len;
		}
	}
out_record:
	r->fields = p->out;
	r->nfields = p->nspans;
	return CSV_RECORD;
}

/* Count LF bytes in in[from..to). */
static uint64_t count_lf(const char *in, size_t from, size_t to)
{
	uint64_t n = 0;
	const char *q = in + from, *end = in + to;

	while (q < end && (q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		n++;
		q++;
	}
	return n;
}

/* End of input: the bytes since the last newline make the last record. */
static int finish_at_eof(struct csv_parser *p, struct csv_record *r)
{
	size_t n = p->in_len;
	int rc = 0;

	if (!p->rec_started || rel(p, n) == 0)
		return CSV_END;
	switch (p->st) {
	case ST_FIELD_START:
		p->fstart = rel(p, n);
		p->fquoted = false;
		p->fescaped = false;
		rc = push_field(p, 0);
		break;
	case ST_UNQ:
		rc = push_unquoted(p, n, true);
		break;
	case ST_QUOTED:
		set_bad(p, "end of input inside quoted field %zu",
			p->nspans + 1);
		break;
	case ST_QUOTE_SEEN:
	case ST_CR_AFTER_QUOTE:
		rc = push_field(p, p->fend - p->fstart);
		break;
	case ST_BAD:
		break;
	}
	if (rc < 0)
		return CSV_NOMEM;
	return finish_record(p, r, n, n, p->st != ST_QUOTED);
}

/*
 * The first i' >= i below end where in[i'] is not plain data (delimiter,
 * quote or LF), or end.  Eight bytes at a time while they are there: the
 * fields of big files are mostly short runs of plain bytes, and a word
 * test costs less than a table look-up and a branch per byte.
 */
static inline size_t scan_unquoted(const struct csv_parser *p,
				   const unsigned char *in, size_t i,
				   size_t end)
{
	const uint64_t d = swar_bytes_of((unsigned char)p->delim);
	const uint64_t q = swar_bytes_of(p->has_quote ?
					 (unsigned char)p->quote :
					 (unsigned char)'\n');
	const uint64_t lf = swar_bytes_of('\n');

	while (end - i >= 8) {
		uint64_t w, hit;

		memcpy(&w, in + i, 8);
		hit = swar_zero_bytes(w ^ d) | swar_zero_bytes(w ^ q) |
		      swar_zero_bytes(w ^ lf);
		if (hit != 0) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return i + (size_t)__builtin_ctzll(hit) / 8;
#else
			break;
#endif
		}
		i += 8;
	}
	while (i < end && p->cls[in[i]] == C_DATA)
		i++;
	return i;
}

/*
 * The common case in one tight loop: a record that starts at in[i], lies
 * wholly in the buffer and has only unquoted fields.  Its fields go
 * straight into the output array (no spans, nothing to unescape).  Returns
 * CSV_RECORD or CSV_NOMEM, or CSV_MORE when the record is anything else (a
 * quote, no LF before the end of the buffer or the size limit, too many
 * fields, too long): the record is then left as start_record() made it,
 * for the state machine to parse from its first byte, which gives exactly
 * what it would have given.
 */
static int fast_record(struct csv_parser *p, struct csv_record *r, size_t i)
{
	const unsigned char *in = (const unsigned char *)p->in;
	const size_t start = i;
	size_t end = p->in_len, n = 0, raw_len;

	if (end - i > p->max_record + 2)
		end = i + p->max_record + 2;
	for (;;) {
		size_t j;
		struct csv_field *f;

		if (i < end && p->has_quote && in[i] == (unsigned char)p->quote)
			return CSV_MORE;
		j = scan_unquoted(p, in, i, end);
		if (j == end || n == p->max_fields)
			return CSV_MORE;
		if (n == p->out_cap) {
			void *buf = p->out;

			if (grow(&buf, &p->out_cap, n + 1, sizeof *p->out) < 0)
				return CSV_NOMEM;
			p->out = buf;
		}
		f = &p->out[n++];
		f->p = p->in + i;
		f->len = j - i;
		f->quoted = false;
		if (in[j] == (unsigned char)p->delim) {
			i = j + 1;
			continue;
		}
		if (in[j] != '\n')
			return CSV_MORE; /* a quote inside the field */
		raw_len = j - start;
		if (raw_len > 0 && in[j - 1] == '\r') {
			raw_len--;
			f->len -= f->len > 0;
		}
		if (raw_len > p->max_record)
			return CSV_MORE;
		p->line++;
		r->fields = p->out;
		r->nfields = n;
		r->raw = p->in + start;
		r->raw_len = raw_len;
		r->line = p->rec_line;
		r->next_line = p->line;
		r->offset = p->rec_off;
		r->end_offset = p->in_off + j + 1;
		r->reason = NULL;
		p->pos = j + 1;
		p->rec_started = false;
		p->rec_before = 0;
		return CSV_RECORD;
	}
}

int csv_next(struct csv_parser *p, struct csv_record *r)
{
	const unsigned char *in = (const unsigned char *)p->in;
	const size_t n = p->in_len;
	size_t i = p->pos;

	if (!p->rec_started) {
		int rc;

		start_record(p, i);
		rc = fast_record(p, r, i);
		if (rc != CSV_MORE)
			return rc;
	}
	for (;;) {
		size_t end = n;
		unsigned char c;

		/* The record may use bytes up to rel == max_record + 2. */
		if (!p->over) {
			size_t room = p->max_record + 2 - p->rec_before;

			if (i >= p->rec_pos + room) {
				p->over = true;
				set_bad(p, "record larger than %zu bytes",
					p->max_record);
			} else if (p->rec_pos + room < n) {
				end = p->rec_pos + room;
			}
		}
		if (i >= end && end == n)
			break;

		switch (p->st) {
		case ST_FIELD_START:
			if (p->has_quote && in[i] == (unsigned char)p->quote) {
				p->fstart = rel(p, i) + 1;
				p->fquoted = true;
				p->fescaped = false;
				p->st = ST_QUOTED;
				i++;
				break;
			}
			p->fstart = rel(p, i);
			p->fquoted = false;
			p->fescaped = false;
			p->st = ST_UNQ;
			/* fall through */
		case ST_UNQ:
			i = scan_unquoted(p, in, i, end);
			if (i == end)
				break;
			c = p->cls[in[i]];
			if (c == C_DELIM) {
				p->st = ST_FIELD_START;
				if (push_unquoted(p, i, false) < 0)
					return CSV_NOMEM;
				i++;
			} else if (c == C_LF) {
				if (push_unquoted(p, i, true) < 0)
					return CSV_NOMEM;
				goto record_end;
			} else {
				set_bad(p, "quote in unquoted field %zu",
					p->nspans + 1);
			}
			break;
		case ST_QUOTED: {
			const unsigned char *q = memchr(in + i, p->quote, end - i);
			size_t stop = q != NULL ? (size_t)(q - in) : end;

			p->line += count_lf(p->in, i, stop);
			i = stop;
			if (q != NULL) {
				p->fend = rel(p, i);
				p->st = ST_QUOTE_SEEN;
				i++;
			}
			break;
		}
		case ST_QUOTE_SEEN:
			c = in[i];
			if (c == (unsigned char)p->quote) {
				p->fescaped = true;
				p->st = ST_QUOTED;
				i++;
			} else if (c == (unsigned char)p->delim) {
				p->st = ST_FIELD_START;
				if (push_field(p, p->fend - p->fstart) < 0)
					return CSV_NOMEM;
				i++;
			} else if (c == '\n') {
				if (push_field(p, p->fend - p->fstart) < 0)
					return CSV_NOMEM;
				goto record_end;
			} else if (c == '\r') {
				p->st = ST_CR_AFTER_QUOTE;
				i++;
			} else {
				set_bad(p, "text after closing quote of field %zu",
					p->nspans + 1);
			}
			break;
		case ST_CR_AFTER_QUOTE:
			if (in[i] == '\n') {
				if (push_field(p, p->fend - p->fstart) < 0)
					return CSV_NOMEM;
				goto record_end;
			}
			set_bad(p, "text after closing quote of field %zu",
				p->nspans + 1);
			break;
		case ST_BAD: {
			const unsigned char *q = memchr(in + i, '\n', end - i);

			if (q == NULL) {
				i = end;
				break;
			}
			i = (size_t)(q - in);
			goto record_end;
		}
		}
	}

	/* Every byte fed is used. */
	p->pos = n;
	if (p->eof)
		return finish_at_eof(p, r);
	if (n > p->rec_pos) {
		if (carry_append(p, p->in + p->rec_pos, n - p->rec_pos) < 0)
			return CSV_NOMEM;
		p->rec_before += n - p->rec_pos;
		p->rec_pos = n;
	}
	return CSV_MORE;

record_end:
	/* in[i] is the LF that ends the record. */
	p->line++;
	return finish_record(p, r, i, i + 1, true);
}

const char *csv_peek(const struct csv_parser *p, size_t *avail)
{
	if (p->rec_started || p->pos >= p->in_len)
		return NULL;
	*avail = p->in_len - p->pos;
	return p->in + p->pos;
}

void csv_take(struct csv_parser *p, struct csv_record *r, size_t len)
{
	size_t i = p->pos, lf = i + len - 1;
	size_t raw_len = len - 1;

	if (raw_len > 0 && p->in[lf - 1] == '\r')
		raw_len--;
	r->fields = NULL;
	r->nfields = 0;
	r->raw = p->in + i;
	r->raw_len = raw_len;
	r->line = p->line;
	r->next_line = p->line + 1;
	r->offset = p->in_off + i;
	r->end_offset = p->in_off + lf + 1;
	r->reason = NULL;
	p->line++;
	p->pos = lf + 1;
	p->rec_started = false;
	p->rec_before = 0;
	p->carry_len = 0;
}

void csv_skip(struct csv_parser *p, size_t len, uint64_t n)
{
	if (n == 0)
		return;
	p->line += n;
	p->pos += len;
	p->rec_started = false;
	p->rec_before = 0;
	p->carry_len = 0;
}

void csv_position(const struct csv_parser *p, uint64_t *offset,
		  uint64_t *line)
{
	*offset = p->in_off + p->pos;
	*line = p->line;
}
