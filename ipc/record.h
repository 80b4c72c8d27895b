/*
 * record.h - typed records and their wire encoding in the ring.
 *
 * Every provider converts its rows into records of the one schema that the
 * config declares ([aggregate] fields).  A record travels through the ring
 * packed in a RECORDS frame:
 *
 *   u32 total length of the record in bytes, this word included
 *   null bitmap, (nfields + 7) / 8 bytes, bit i set = field i is NULL
 *   for each non-NULL field, in schema order:
 *     int, float, timestamp  8 bytes (int64 / IEEE double / int64 microseconds
 *                            since 1970-01-01T00:00:00Z), native byte order
 *     date                   8 bytes, int64 days since 1970-01-01
 *     decimal                16 bytes, the integer v of v / 10^scale as a
 *                            signed 128-bit integer: low 8 bytes, then high
 *     bool                   1 byte, 0 or 1
 *     text                   u32 length, then that many bytes (UTF-8, no NUL)
 *
 * Nothing is aligned; fields are read with memcpy.  The decoder trusts
 * nothing: a record whose lengths do not add up, a bool that is neither 0
 * nor 1, or a record running past the frame is malformed (rec_decode and
 * rec_validate return -1) and the aggregator fails that provider alone.
 * Only records it has validated are decoded again, with no checks
 * (rec_decode_trusted).
 */
#ifndef AGG_RECORD_H
#define AGG_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rec_type {
	REC_INT = 1,
	REC_FLOAT,
	REC_TEXT,
	REC_BOOL,
	REC_TIMESTAMP,
	REC_DECIMAL,
	REC_DATE,
};

/* The most fields a schema may declare. */
#define REC_MAX_FIELDS 256

struct tsfmt;
struct tz;

/*
 * A field: its name and type, the type's parameters, and how text reads
 * into it.  prec and scale are a decimal's p and s (decimal(p,s)); zero for
 * every other type.  fmt is a timestamp's formats (tsfmt.h), NULL for the
 * standard forms (conv_parse_timestamp); tz the zone of a timestamp read
 * with no offset (tz.h), NULL for UTC.  The config owns what fmt and tz
 * point at; each provider converts with its own copy of the schema, its
 * zone set (struct cfg_provider's schema), and the wire format is the same
 * for every copy.
 */
struct rec_field {
	char *name;
	enum rec_type type;
	uint8_t prec, scale;
	const struct tsfmt *fmt;
	const struct tz *tz;
};

struct rec_schema {
	int nfields;
	struct rec_field *fields;
};

/*
 * One value, as the decoder hands it out and the builder takes it in.
 * For text, s points into the buffer it was decoded from (not owned, not
 * NUL-terminated).
 */
struct rec_value {
	bool null;
	union {
		int64_t i;  /* REC_INT, REC_TIMESTAMP (microseconds), REC_DATE
			     * (days since 1970-01-01) */
		double f;   /* REC_FLOAT */
		bool b;     /* REC_BOOL */
		struct {
			const char *p;
			uint32_t len;
		} s;        /* REC_TEXT */
		struct {
			uint64_t lo;
			int64_t hi;
		} d;        /* REC_DECIMAL: rec_dec() and rec_set_dec() */
	} u;
};

/* A decimal value's integer (v / 10^scale), and setting it. */
static inline __int128 rec_dec(const struct rec_value *v)
{
	return (__int128)(((unsigned __int128)(uint64_t)v->u.d.hi << 64)
			  | v->u.d.lo);
}

static inline void rec_set_dec(struct rec_value *v, __int128 x)
{
	v->u.d.lo = (uint64_t)x;
	v->u.d.hi = (int64_t)(x >> 64);
}

/*
 * Name of a type as the config spells it ("int", "float", ...), without
 * its parameters ("decimal", not "decimal(10,2)").
 */
const char *rec_type_name(enum rec_type t);

/* Parse a type name; returns 0 and sets *t, or -1 if unknown. */
int rec_type_parse(const char *name, enum rec_type *t);

/*
 * Size in bytes that rec_encode() needs for these values.
 */
size_t rec_encoded_size(const struct rec_schema *s, const struct rec_value *v);

/*
 * Size in bytes of the record rec_encode_dropping() writes for these
 * values, the fields drop[i] written as NULL (drop may be NULL).
 */
size_t rec_encoded_size_dropping(const struct rec_schema *s,
				 const struct rec_value *v, const bool *drop);

/*
 * A RECORDS frame's payload is a u32 count of the records in it, then the
 * records one after another.
 */
#define REC_FRAME_COUNT_BYTES 4

/*
 * The payload bytes of a RECORDS frame that carries this one record alone
 * (its count and the record as rec_encode_dropping() writes it).  A record
 * travels alone when it fits no ordinary frame; it can only if this is at
 * most the ring's largest frame (ring_max_payload()), the bound the
 * aggregator checks every frame against.
 */
size_t rec_frame_alone_size(const struct rec_schema *s,
			    const struct rec_value *v, const bool *drop);

/*
 * Encode one record of s from v[0..nfields-1] into out, which must hold
 * rec_encoded_size() bytes.  Returns the number of bytes written.
 * This function can't fail.
 */
size_t rec_encode(const struct rec_schema *s, const struct rec_value *v,
		  unsigned char *out);

/*
 * rec_encode() with a bound, in one pass: encode the record into out if it
 * fits in room bytes and return its length; otherwise return 0, having
 * written nothing at or past out + room (what it wrote below is garbage).
 * For a producer that encodes straight into a frame without first asking
 * rec_encoded_size().  This function can't fail.
 */
size_t rec_encode_within(const struct rec_schema *s, const struct rec_value *v,
			 unsigned char *out, size_t room);

/*
 * rec_encode_within() writing the fields with drop[i] set as NULL, whatever
 * v holds for them (a provider leaving out what the aggregator never reads).
 */
size_t rec_encode_dropping(const struct rec_schema *s,
			   const struct rec_value *v, const bool *drop,
			   unsigned char *out, size_t room);

/*
 * An encoder planned once for a schema and a drop set, for a producer that
 * encodes every record of the same shape (the provider runtime): the null
 * bitmap with the dropped fields' bits already set, and the fields kept, in
 * schema order, each with how its value is written.  Encoding then tests
 * no drop flag and switches over four ways of writing a value, not over
 * every type; text is copied without a call.
 *
 * A plan reads nothing of the schema or the drop set after
 * rec_plan_init(): it stays right for as long as the drop set it was made
 * from stays the same, and must be made again when that changes.
 */
enum rec_plan_kind {
	REC_PLAN_WORD,    /* int, float, timestamp, date: 8 bytes */
	REC_PLAN_TEXT,    /* u32 length, then the bytes */
	REC_PLAN_DECIMAL, /* 16 bytes */
	REC_PLAN_BOOL,    /* 1 byte */
};

struct rec_plan_field {
	uint16_t field;   /* index in the schema and in the values */
	uint16_t rest;    /* the bytes this field and the kept fields after
			     it take at the least when none is NULL (text:
			     its length word): rec_plan_encode()'s bound */
	uint8_t kind;     /* enum rec_plan_kind */
	uint8_t byte;     /* its bitmap byte, from the record's start */
	uint8_t mask;     /* its bit in that byte */
};

struct rec_plan {
	uint32_t head;    /* the length word and the bitmap */
	uint32_t fixed;   /* head + kept[0].rest: a record with room for
			     this needs its text lengths checked only */
	int nbitmap;      /* bitmap bytes */
	int nkept;
	unsigned char bitmap[REC_MAX_FIELDS / 8]; /* the dropped fields set */
	struct rec_plan_field kept[REC_MAX_FIELDS];
};

/*
 * Plan the encoding of records of s with the fields drop[i] written as
 * NULL (drop may be NULL: none).  s must have at most REC_MAX_FIELDS
 * fields (a config's schema has).  This function can't fail.
 */
void rec_plan_init(struct rec_plan *plan, const struct rec_schema *s,
		   const bool *drop);

/*
 * rec_encode_dropping() of the plan's schema and drop set: the same bytes
 * and the same length, 0 when the record does not fit in room bytes
 * (having written nothing at or past out + room; what it wrote below is
 * garbage).  Nothing is written past the record it returns.  This
 * function can't fail.
 */
size_t rec_plan_encode(const struct rec_plan *plan, const struct rec_value *v,
		       unsigned char *out, size_t room);

/* rec_encoded_size_dropping() of the plan's schema and drop set. */
size_t rec_plan_size(const struct rec_plan *plan, const struct rec_value *v);

/*
 * Decode one record from buf[0..avail) into v[0..nfields-1].  Text values
 * point into buf.  Returns the record's length in bytes, or -1 if the bytes
 * are not a well-formed record of s (nothing beyond avail is read).
 */
long rec_decode(const struct rec_schema *s, const unsigned char *buf,
		size_t avail, struct rec_value *v);

/*
 * rec_decode() without v: the same checks, byte for byte the same verdict
 * and length, but no value is written.  For validating a frame on arrival,
 * when the values are wanted only later.
 */
long rec_validate(const struct rec_schema *s, const unsigned char *buf,
		  size_t avail);

/*
 * Decode one record that rec_validate() (or rec_decode()) has accepted,
 * from bytes nobody could have changed since: no check at all.  Returns its
 * length.  On bytes that were never validated it may read past the record.
 */
size_t rec_decode_trusted(const struct rec_schema *s,
			  const unsigned char *buf, struct rec_value *v);

/*
 * Compare two values of type t: NULL sorts after every other value (as
 * PostgreSQL's default ascending order), text byte-wise, floats with -0 = 0
 * and NaN never produced by the converters.  Returns <0, 0, >0.
 */
int rec_value_cmp(enum rec_type t, const struct rec_value *a,
		  const struct rec_value *b);

/*
 * Whether two values of type t are the same to the bit: NULL equals only
 * NULL, floats compare by their bits (-0 is not 0), text byte-wise.
 */
bool rec_value_same(enum rec_type t, const struct rec_value *a,
		    const struct rec_value *b);

#endif
