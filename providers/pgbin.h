/*
 * pgbin.h - PostgreSQL's binary COPY format, read so that every value is
 * exactly what the text format would have given.
 *
 * The postgres provider reads `COPY (query) TO STDOUT (FORMAT binary)` only
 * when every column it uses has a kind below and a field type that kind
 * may feed (pgbin_pair_ok).  A value then either converts directly
 * (pgbin_value: where the binary value is provably the one conv_text()
 * reads from the server's text) or is first written as the very text the
 * server would have sent (pgbin_text) and handed to conv_text(), so
 * rejects quote the same text with the same reason.  The session's
 * DateStyle must be ISO, and timestamptz is a kind only in a UTC session
 * (elsewhere its text carries offsets, some with seconds, that
 * conv_text() does not read).
 *
 * Every length and value is checked: a stream that breaks the format is
 * refused (-1), never read past.
 */
#ifndef AGG_PGBIN_H
#define AGG_PGBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ipc/record.h"

enum pgbin_kind {
	PGBIN_NONE = 0,         /* not read in binary */
	PGBIN_INT2,
	PGBIN_INT4,
	PGBIN_INT8,
	PGBIN_FLOAT8,
	PGBIN_BOOL,
	PGBIN_TEXT,             /* text, varchar, bpchar, name: the bytes */
	PGBIN_DATE,
	PGBIN_TIMESTAMP,
	PGBIN_TIMESTAMPTZ,
	PGBIN_NUMERIC,
};

/* The kind of a column of type oid; utc: the session's TimeZone is UTC. */
enum pgbin_kind pgbin_kind(unsigned oid, bool utc);

/* A short name of a kind, for logs. */
const char *pgbin_kind_name(enum pgbin_kind k);

/*
 * Whether a field of type t reads a column of kind k exactly as the text
 * path would.  Every kind but float8 can be written as the server's text,
 * so it feeds any type; float8's shortest text is not rebuilt, so it feeds
 * only float.
 */
bool pgbin_pair_ok(enum pgbin_kind k, enum rec_type t);

/* Whether pgbin_text() can write every value of kind k (a key's needs). */
bool pgbin_has_text(enum pgbin_kind k);

/*
 * Length of the COPY header at p[0..n) (signature, flags, extension), or
 * -1 if it is not a header this reader understands.
 */
long pgbin_header(const unsigned char *p, size_t n);

/*
 * One tuple p[0..n) (the bytes after the header, if any): 1 for the
 * trailer, 0 for a tuple of ncols fields (val[j] NULL for a NULL, else its
 * len[j] bytes), -1 if it is neither, or if bytes are left over.
 */
int pgbin_tuple(const unsigned char *p, size_t n, int ncols,
		const unsigned char **val, uint32_t *len);

/* 0 when p[0..len) is a well-formed value of kind k, else -1. */
int pgbin_check(enum pgbin_kind k, const unsigned char *p, size_t len);

/*
 * Convert a checked value straight into field f when that gives exactly
 * what conv_text() gives for its text: true with *out set, false when the
 * caller must go through the text (an infinity, a date out of range, ...).
 */
bool pgbin_value(enum pgbin_kind k, const struct rec_field *f,
		 const unsigned char *p, size_t len, struct rec_value *out);

/* Bytes pgbin_text() needs for this checked value (its NUL included). */
size_t pgbin_text_size(enum pgbin_kind k, const unsigned char *p, size_t len);

/*
 * Write a checked value as PostgreSQL writes it in text (DateStyle ISO,
 * TimeZone UTC for timestamptz) into out (pgbin_text_size() bytes);
 * returns its length.  Not for PGBIN_TEXT (the bytes are the text) nor a
 * finite float8 (only NaN and the infinities are written).
 */
size_t pgbin_text(enum pgbin_kind k, const unsigned char *p, size_t len,
		  char *out);

#endif
