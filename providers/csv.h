/*
 * csv.h - a streaming RFC 4180 CSV parser.
 *
 * The caller feeds buffers of any size (a read() of a file, a gzread(), a
 * whole string) and takes records out one at a time.  A record is an array
 * of fields (pointer, length, quoted flag); fields point into the caller's
 * buffer when the record lies within it and needs no unescaping, and into
 * the parser's own reusable buffers otherwise, so nothing is allocated per
 * record.  Feeding the same bytes split at any boundaries yields exactly the
 * same records, reasons and offsets.
 *
 * Grammar (RFC 4180, relaxed where real files are):
 *  - records end with LF or CRLF; the last one may lack a newline;
 *  - a field is quoted only when its first byte is the quote character;
 *    inside, a doubled quote is one quote, and delimiters, CR and LF are
 *    data;
 *  - a lone CR inside an unquoted field is data; one right before the
 *    terminating LF (or the end of input) is part of the terminator;
 *  - an empty line is a record of one empty unquoted field (the caller
 *    decides whether that means anything).
 *
 * Malformed records - a quote inside an unquoted field, text after a
 * closing quote, the end of input inside a quoted field, a record longer
 * than max_record bytes or with more than max_fields fields - come out as
 * CSV_MALFORMED with a reason and the raw bytes; parsing resumes at the
 * next line (for a quote error: the first LF after the error, whatever the
 * quotes).  Memory is bounded by max_record, never by the input.
 *
 * The parser never reads outside what it is fed and never crashes on any
 * bytes.  One parser is used by one thread.
 */
#ifndef AGG_CSV_H
#define AGG_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Defaults for csv_options' limits (0 selects them). */
#define CSV_DEFAULT_MAX_RECORD ((size_t)64 << 20)
#define CSV_DEFAULT_MAX_FIELDS ((size_t)65536)

struct csv_options {
	char delimiter;     /* ',' in RFC 4180; not '\0', CR, LF or the quote */
	char quote;         /* '"' in RFC 4180; '\0' turns quoting off */
	size_t max_record;  /* bytes of one record, terminator excluded */
	size_t max_fields;  /* fields of one record */
};

struct csv_field {
	const char *p;      /* not NUL-terminated; may be NULL when len is 0 */
	size_t len;
	bool quoted;        /* it was written in quotes ("" is quoted, empty) */
};

struct csv_record {
	const struct csv_field *fields; /* nfields of them; NULL if malformed */
	size_t nfields;
	const char *raw;    /* the record's bytes, without its CRLF / LF */
	size_t raw_len;     /* (cut to max_record for an oversized record) */
	uint64_t line;      /* physical line where it starts, 1-based */
	uint64_t next_line; /* physical line where the next record starts */
	uint64_t offset;    /* stream offset of its first byte */
	uint64_t end_offset; /* stream offset just after it and its newline */
	const char *reason; /* CSV_MALFORMED only: why, e.g. "unterminated
			       quoted field 2" */
};

enum csv_status {
	CSV_RECORD = 0,     /* *r holds a record */
	CSV_MALFORMED = 1,  /* *r holds a malformed record: reason and raw */
	CSV_MORE = 2,       /* every byte fed is used: feed more or finish */
	CSV_END = 3,        /* finished and every record has been returned */
	CSV_NOMEM = -1      /* out of memory; the parser can only be freed */
};

struct csv_parser;

/*
 * A new parser, positioned at offset 0, line 1.  Limits of 0 take the
 * defaults.  Returns NULL with errno EINVAL for impossible options, ENOMEM.
 */
struct csv_parser *csv_new(const struct csv_options *o);

void csv_free(struct csv_parser *p);

/*
 * Forget any partial record and buffered input; the next byte fed is at
 * stream offset `offset` on physical line `line` (used to start a new file,
 * or to resume in the middle of one).
 */
void csv_reset(struct csv_parser *p, uint64_t offset, uint64_t line);

/*
 * Hand the parser the next len bytes of the stream.  Only once csv_next()
 * has returned CSV_MORE for the previous buffer; buf must stay unchanged
 * until csv_next() returns CSV_MORE again (records point into it).
 */
void csv_feed(struct csv_parser *p, const char *buf, size_t len);

/* No more input will come: the bytes after the last newline are a record. */
void csv_finish(struct csv_parser *p);

/*
 * Is the input fed so far cut inside a quoted field (a record under way
 * whose open quote is not closed)?  Asked before csv_finish() at a range's
 * end (file_par.h), which is a record boundary only when it is not.
 */
bool csv_in_quotes(const struct csv_parser *p);

/*
 * The next record.  What *r points to stays valid until the next call to
 * csv_next(), csv_feed(), csv_reset() or csv_free().  Returns a csv_status.
 */
int csv_next(struct csv_parser *p, struct csv_record *r);

/*
 * For a caller that parses plain records itself (csvfast.h): the bytes
 * from the start of the next record to the end of the buffer fed, when a
 * record starts there (none is under way); NULL otherwise.  Nothing is
 * consumed: csv_next() still returns that record if the caller declines.
 */
const char *csv_peek(const struct csv_parser *p, size_t *avail);

/*
 * Consume the record csv_peek() showed, which the caller parsed: its len
 * bytes end with its LF.  Fills *r's positions (raw, line, next_line,
 * offset, end_offset) as csv_next() would, not its fields, and leaves the
 * parser as csv_next() would have.
 */
void csv_take(struct csv_parser *p, struct csv_record *r, size_t len);

/*
 * csv_take() of n records at once, len bytes in all, that the caller
 * parsed from csv_peek()'s bytes, each one line ending with its LF.  Fills
 * no record; csv_position() then tells where the next one starts.
 */
void csv_skip(struct csv_parser *p, size_t len, uint64_t n);

/* The stream offset and the line of the next byte to parse. */
void csv_position(const struct csv_parser *p, uint64_t *offset,
		  uint64_t *line);

#endif
