/*
 * csvfast.h - the CSV reader's typed fast path.
 *
 * A plain record (no quote anywhere, wholly in the read buffer, the right
 * number of columns) is split and converted in one pass over its bytes,
 * straight into record values: canonical ints and short decimal floats are
 * read while the field is scanned, ASCII text is taken as it is found,
 * canonical timestamps (date, time, fraction, offset) are computed where
 * they lie.  Anything else in a field (blanks, an exponent, non-ASCII
 * text, a bool, another timestamp form, the null text) goes through
 * conv_text() on the field's bytes, exactly as the general path does.
 *
 * The contract: csvfast_record() either gives exactly the values that
 * csv_next() followed by the file provider's per-field conversion would
 * give, or declines (returns 0) having consumed nothing, and the general
 * path then reads the record as it always did.  It declines every record
 * that the general path would reject, skip or carry over, so rejects and
 * their messages stay the general path's.
 *
 * csvfast_encode() is the same reader writing the record straight in the
 * ring's format (record.h) instead of into values: byte for byte what
 * rec_encode_dropping() makes of csvfast_record()'s values, taking and
 * declining exactly the same records.  It needs a plan whose columns feed
 * fields in increasing order (the order the encoding walks the fields);
 * csvfast_plan() says so in f->enc.
 *
 * csvfast_encode_then() is csvfast_encode_batch() for records that carry
 * fields computed from the columns' (derived fields, a filter): each
 * record taken is also read into values, a function of the caller's
 * decides from them whether it is kept, dropped or left to the general
 * path, and the computed values of a kept one are encoded after the
 * columns', as rec_encode_dropping() would encode the whole record.
 */
#ifndef AGG_CSVFAST_H
#define AGG_CSVFAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/expr.h"
#include "../common/tz.h"
#include "../ipc/record.h"

struct csvfast_col {
	int field;            /* the schema field it feeds, -1: none */
	enum rec_type type;   /* that field's type */
	const struct rec_field *fld; /* that field (its parameters) */
	unsigned char op;     /* csvfast_encode()'s reader for it (csvfast.c) */
	bool keep;            /* its value is encoded (else NULL whatever) */
	bool ts;              /* a timestamp the fast reader may read */
	struct tz_local_cache *tzc; /* its zone's last lookups (ts) */
};

/* Most NULL markers the fast path takes (the config's limit). */
#define CSVFAST_MAX_NULLS 16

struct csvfast {
	bool on;              /* a plan is set and worth trying */
	unsigned char delim;
	unsigned char quote;
	bool has_quote;
	int quote_byte;       /* the quote, else -1: equal to no byte */
	/*
	 * The delimiter, the quote (else LF) in each byte of two words:
	 * aligned, field_end() compares 16 bytes with them as they lie.
	 */
	_Alignas(16) uint64_t wd[2];
	_Alignas(16) uint64_t wq[2];
	/* An unquoted field that is empty, or one of these, is NULL. */
	const char *null_text[CSVFAST_MAX_NULLS];
	size_t null_len[CSVFAST_MAX_NULLS];
	int nnulls;
	bool numeric_null;    /* a marker could read as a number */
	bool exact_cols;      /* header: exactly ncols columns; else >= */
	size_t ncols;
	size_t max_record;
	size_t max_fields;
	struct csvfast_col *cols;   /* ncols */
	int *always_null;     /* fields read from no column */
	int nalways_null;
	uint64_t tries;
	uint64_t declines;
	bool enc;             /* csvfast_encode() may be used */
	int nfields;          /* fields read from the columns */
	int nwhole;           /* fields encoded: those, then computed ones */
	const struct rec_field *whole; /* the encoding's fields (nwhole) */
	const bool *drop;     /* fields encoded as NULL (nwhole), or NULL */
	bool put8;            /* every computed field is encoded and of
				 8 bytes (int, float, timestamp, date) */
	size_t head;          /* encoded bytes before the values */
	unsigned char nulls[REC_MAX_FIELDS / 8]; /* the bitmap of every
				 record before its values: fields read
				 from no column, and dropped ones */
	struct tz_local_cache *tzc; /* one per column (csvfast_col.tzc) */
};

struct csvfast_options {
	const struct rec_schema *schema;
	const int *col;       /* column of each field, -1: none */
	size_t ncols;         /* columns a record has (exact_cols) or needs */
	bool exact_cols;
	char delimiter;
	char quote;           /* '\0': no quoting */
	const char *const *nulls; /* markers besides the empty field */
	int nnulls;           /* more than CSVFAST_MAX_NULLS: not taken */
	size_t max_record;
	size_t max_fields;
	const bool *drop;     /* fields encoded as NULL whatever they hold
				 (the runtime's unused ones; of whole),
				 or NULL */
	const struct rec_schema *whole; /* what records are encoded as:
				 schema's fields, then fields computed
				 from them (csvfast_encode_then()); NULL:
				 schema */
};

/*
 * Set f up for a file's column mapping (again for each file: a header may
 * change it).  f->on is false when the mapping is one the fast path does
 * not take (a column feeding two fields, no columns).  Returns 0, or -1 on
 * no memory (f->on false).  f starts zeroed; csvfast_free() releases it.
 */
int csvfast_plan(struct csvfast *f, const struct csvfast_options *o);

void csvfast_free(struct csvfast *f);

/*
 * Read the record at in[0..avail) (its first byte at in[0]) into v.
 * Returns its length including its LF, or 0: declined, v's contents
 * unspecified, nothing consumed.  Text values point into in.
 */
size_t csvfast_record(struct csvfast *f, const char *in, size_t avail,
		      struct rec_value *v);

/*
 * The timestamp reader alone, on the field at in[0..avail) of column c (a
 * timestamp without formats): its length when the reader takes it, with
 * *us its value, or 0 (the general path reads it).  For tests: a field
 * it takes is one conv_text() reads, to the same value.
 */
size_t csvfast_timestamp(struct csvfast *f, size_t c, const char *in,
			 size_t avail, int64_t *us);

/* csvfast_encode()'s answer for a record that does not fit in room. */
#define CSVFAST_FULL SIZE_MAX

/*
 * csvfast_record() for the record at in[0..avail), encoded (record.h's
 * format, the fields o->drop names as NULL) at out[0..room).  Only when
 * f->enc.  Returns its length in the input, including its LF, and sets
 * *len to its encoded length; or 0: declined; or CSVFAST_FULL: it would
 * need more than room bytes (it may still be one the fast path declines).
 * Unless it returns a length, nothing is consumed and nothing is meant to
 * be kept at out: no byte at or past out + room is ever written, below it
 * there may be garbage.
 */
size_t csvfast_encode(struct csvfast *f, const char *in, size_t avail,
		      unsigned char *out, size_t room, size_t *len);

/* What csvfast_encode_batch() took. */
struct csvfast_batch {
	size_t used;          /* input bytes of the records taken */
	size_t len;           /* their encoding, one after another at out */
	uint64_t records;     /* how many */
	uint64_t seen;        /* records read, with those dropped (then) */
};

/* Why csvfast_encode_batch() stopped. */
enum csvfast_stop {
	CSVFAST_DECLINED,     /* the next record is the general path's */
	CSVFAST_NO_ROOM,      /* the next one needs more room (it may still
				 be one the fast path declines) */
	CSVFAST_LIMIT,        /* max records taken, or less than slack
				 bytes of room left after the last */
	CSVFAST_REFUSED,      /* csvfast_encode_then()'s function left the
				 next one to the general path */
};

/*
 * csvfast_encode() over the records at in[0..avail), one after another,
 * each encoded right after the one before at out[0..room): for as long as
 * it takes them, at most max records, stopping after the first that
 * leaves less than slack bytes of room.  The records and bytes taken are
 * in *b (none: b->records 0); past them, as for csvfast_encode(), nothing
 * is consumed and out may hold garbage below out + room.  Counts as that
 * many csvfast_encode() calls would (f->on may turn false).
 */
enum csvfast_stop csvfast_encode_batch(struct csvfast *f, const char *in,
				       size_t avail, unsigned char *out,
				       size_t room, uint64_t max, size_t slack,
				       struct csvfast_batch *b);

/* What a csvfast_then function makes of a record's values. */
enum csvfast_verdict {
	CSVFAST_KEEP,         /* encode it, with its computed values */
	CSVFAST_DROP,         /* read, not encoded (a filter said no) */
	CSVFAST_REFUSE,       /* leave it to the general path (an error
				 that path words and rejects) */
};

/*
 * Called with the values of a record read: v[0..f->nfields) as the
 * general path would give them (fields the encoding drops excepted), to
 * fill v[f->nfields..f->nwhole) and say what becomes of it.
 */
typedef enum csvfast_verdict (*csvfast_then)(void *arg);

/*
 * csvfast_encode_batch() for a plan whose records have computed fields
 * (o->whole), or a filter: each record is read into v as well (v has
 * f->nwhole values), then then(arg) decides.  A kept record is encoded
 * with v's computed values after the columns' and counts towards max
 * and slack; a dropped one is only read (b->seen counts it, b->records
 * not); a refused one stops the batch (CSVFAST_REFUSED), consumed no
 * more than a declined one, and is no decline.  Values of fields the
 * encoding drops are not read.
 */
enum csvfast_stop csvfast_encode_then(struct csvfast *f, const char *in,
				      size_t avail, unsigned char *out,
				      size_t room, uint64_t max, size_t slack,
				      struct rec_value *v, csvfast_then then,
				      void *arg, struct csvfast_batch *b);

/*
 * csvfast_encode_then() with the record's derived fields and `where`s as
 * steps (expr_simple_run(), in the loop) instead of a function: a record
 * they keep is encoded with its computed values, one they drop is only
 * read.  The records dropped are b->seen - b->records.
 */
enum csvfast_stop csvfast_encode_steps(struct csvfast *f, const char *in,
				       size_t avail, unsigned char *out,
				       size_t room, uint64_t max, size_t slack,
				       struct rec_value *v,
				       const struct expr_simple_step *steps,
				       int nsteps, struct csvfast_batch *b);

/*
 * csvfast_encode_then() without the encoding: each record the fast path
 * takes is read into v (f->nwhole values) and then(arg) decides; a kept
 * one (which the caller took: a range reader's combine folds it) counts
 * towards max, a dropped one is only read, a refused one stops the batch.
 * b->len is 0.  With f->enc the records go through csvfast_encode()'s
 * readers, which read only the fields the encoding keeps, writing nothing.
 */
enum csvfast_stop csvfast_read_then(struct csvfast *f, const char *in,
				    size_t avail, uint64_t max,
				    struct rec_value *v, csvfast_then then,
				    void *arg, struct csvfast_batch *b);

/*
 * csvfast_read_then() for a plan without computed fields whose every
 * record is kept: each one taken is folded into t by comb_fold()
 * (combine.h), inline in the loop.  One t does not take (a new group the
 * table has no room for, a decimal sum past decimal(38), no memory) stops
 * the batch, not consumed, as CSVFAST_REFUSED: the general path reads it
 * and folds it again through comb_add(), which says what to do.
 */
struct comb;
enum csvfast_stop csvfast_fold(struct csvfast *f, const char *in,
			       size_t avail, uint64_t max,
			       struct rec_value *v, struct comb *t,
			       struct csvfast_batch *b);

#endif
