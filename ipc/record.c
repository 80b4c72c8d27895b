/*
 * record.c - typed records and their wire encoding (see record.h).
 *
 * Providers encode records into RECORDS frames with rec_encode(); the
 * aggregator checks each one with rec_validate() when its frame arrives and
 * decodes it with rec_decode_trusted() when a checkpoint folds it, so all
 * sit on the hot path: no allocation, no copy of text (decoded text points
 * into the buffer).
 *
 * Invariants: rec_encode() writes exactly rec_encoded_size() bytes and its
 * output always decodes back to the same values.  rec_decode() reads no
 * byte at or beyond min(avail, the record's own total length), and accepts
 * only what rec_encode() could have produced: the total length must be
 * exactly the sum of its parts, unused bits of the null bitmap must be
 * clear, and a bool must be 0 or 1.  rec_validate() is the same code
 * without the stores, so it accepts exactly what rec_decode() accepts.
 */
#include "record.h"

#include <string.h>

/* Bytes of the total-length word that starts every record. */
#define REC_LEN_BYTES 4

static const char *const rec_type_names[] = {
	[REC_INT] = "int",
	[REC_FLOAT] = "float",
	[REC_TEXT] = "text",
	[REC_BOOL] = "bool",
	[REC_TIMESTAMP] = "timestamp",
	[REC_DECIMAL] = "decimal",
	[REC_DATE] = "date",
};

#define REC_NTYPES (sizeof(rec_type_names) / sizeof(rec_type_names[0]))

const char *rec_type_name(enum rec_type t)
{
	if ((size_t)t >= REC_NTYPES || rec_type_names[t] == NULL)
		return "unknown";
	return rec_type_names[t];
}

int rec_type_parse(const char *name, enum rec_type *t)
{
	size_t i;

	for (i = 0; i < REC_NTYPES; i++) {
		if (rec_type_names[i] != NULL
		    && strcmp(rec_type_names[i], name) == 0) {
			*t = (enum rec_type)i;
			return 0;
		}
	}
	return -1;
}

static size_t rec_bitmap_bytes(const struct rec_schema *s)
{
	return ((size_t)s->nfields + 7) / 8;
}

/*
 * The one statement of a record's size: rec_encoded_size() is it with no
 * drop (inlined, so the aggregator's calls pay nothing for the test).
 */
static inline size_t encoded_size(const struct rec_schema *s,
				  const struct rec_value *v, const bool *drop)
{
	size_t size = REC_LEN_BYTES + rec_bitmap_bytes(s);
	int i;

	for (i = 0; i < s->nfields; i++) {
		if (v[i].null || (drop != NULL && drop[i]))
			continue;
		switch (s->fields[i].type) {
		case REC_INT:
		case REC_FLOAT:
		case REC_TIMESTAMP:
		case REC_DATE:
			size += 8;
			break;
		case REC_DECIMAL:
			size += 16;
			break;
		case REC_BOOL:
			size += 1;
			break;
		case REC_TEXT:
			size += 4 + (size_t)v[i].u.s.len;
			break;
		}
	}
	return size;
}

size_t rec_encoded_size(const struct rec_schema *s, const struct rec_value *v)
{
	return encoded_size(s, v, NULL);
}

size_t rec_encoded_size_dropping(const struct rec_schema *s,
				 const struct rec_value *v, const bool *drop)
{
	return encoded_size(s, v, drop);
}

size_t rec_frame_alone_size(const struct rec_schema *s,
			    const struct rec_value *v, const bool *drop)
{
	return REC_FRAME_COUNT_BYTES + rec_encoded_size_dropping(s, v, drop);
}

size_t rec_encode(const struct rec_schema *s, const struct rec_value *v,
		  unsigned char *out)
{
	/* The caller made room for rec_encoded_size() bytes: no bound. */
	return rec_encode_within(s, v, out, SIZE_MAX);
}

/*
 * The one encoder: rec_encode_within(), with the fields drop[i] (if drop
 * is not NULL) written as NULL whatever their values.
 */
static inline size_t encode(const struct rec_schema *s,
			    const struct rec_value *v, const bool *drop,
			    unsigned char *out, size_t room)
{
	size_t bitmap = rec_bitmap_bytes(s);
	size_t pos = REC_LEN_BYTES + bitmap;
	uint32_t total;
	int i;

	if (pos > room)
		return 0;
	/* Up to 8 fields, one byte: a store, not a call to memset. */
	if (bitmap == 1)
		out[REC_LEN_BYTES] = 0;
	else
		memset(out + REC_LEN_BYTES, 0, bitmap);
	for (i = 0; i < s->nfields; i++) {
		if (v[i].null || (drop != NULL && drop[i])) {
			out[REC_LEN_BYTES + i / 8] |= (unsigned char)(1u << (i % 8));
			continue;
		}
		switch (s->fields[i].type) {
		case REC_INT:
		case REC_TIMESTAMP:
		case REC_DATE:
			if (room - pos < 8)
				return 0;
			memcpy(out + pos, &v[i].u.i, 8);
			pos += 8;
			break;
		case REC_DECIMAL:
			if (room - pos < 16)
				return 0;
			memcpy(out + pos, &v[i].u.d.lo, 8);
			memcpy(out + pos + 8, &v[i].u.d.hi, 8);
			pos += 16;
			break;
		case REC_FLOAT:
			if (room - pos < 8)
				return 0;
			memcpy(out + pos, &v[i].u.f, 8);
			pos += 8;
			break;
		case REC_BOOL:
			if (room - pos < 1)
				return 0;
			out[pos++] = v[i].u.b ? 1 : 0;
			break;
		case REC_TEXT:
			if (room - pos < 4 || room - pos - 4 < v[i].u.s.len)
				return 0;
			memcpy(out + pos, &v[i].u.s.len, 4);
			pos += 4;
			if (v[i].u.s.len != 0)
				memcpy(out + pos, v[i].u.s.p, v[i].u.s.len);
			pos += v[i].u.s.len;
			break;
		}
	}
	total = (uint32_t)pos;
	memcpy(out, &total, REC_LEN_BYTES);
	return pos;
}

size_t rec_encode_within(const struct rec_schema *s, const struct rec_value *v,
			 unsigned char *out, size_t room)
{
	return encode(s, v, NULL, out, room);
}

size_t rec_encode_dropping(const struct rec_schema *s,
			   const struct rec_value *v, const bool *drop,
			   unsigned char *out, size_t room)
{
	return encode(s, v, drop, out, room);
}

/*
 * The one decoder: rec_decode() and rec_validate() are this walk, with and
 * without v, so they cannot disagree on what is well-formed.  Inlined into
 * each, the stores and the loads that only feed them vanish when v is NULL.
 */
static inline __attribute__((always_inline)) long
rec_walk(const struct rec_schema *s, const unsigned char *buf, size_t avail,
	 struct rec_value *v)
{
	size_t bitmap = rec_bitmap_bytes(s);
	size_t pos = REC_LEN_BYTES + bitmap;
	uint32_t total;
	int i;

	if (avail < REC_LEN_BYTES)
		return -1;
	memcpy(&total, buf, REC_LEN_BYTES);
	if (total > avail || total < pos)
		return -1;
	/* Bits past the last field would be ignored: refuse them instead. */
	if (s->nfields % 8 != 0
	    && (buf[REC_LEN_BYTES + bitmap - 1] >> (s->nfields % 8)) != 0)
		return -1;
	/* From here on every read is bounded by total, not avail. */
	for (i = 0; i < s->nfields; i++) {
		size_t left = total - pos;
		bool null = (buf[REC_LEN_BYTES + i / 8] >> (i % 8)) & 1;
		uint32_t len;

		if (v != NULL)
			v[i].null = null;
		if (null)
			continue;
		switch (s->fields[i].type) {
		case REC_INT:
		case REC_TIMESTAMP:
		case REC_DATE:
			if (left < 8)
				return -1;
			if (v != NULL)
				memcpy(&v[i].u.i, buf + pos, 8);
			pos += 8;
			break;
		case REC_DECIMAL:
			if (left < 16)
				return -1;
			if (v != NULL) {
				memcpy(&v[i].u.d.lo, buf + pos, 8);
				memcpy(&v[i].u.d.hi, buf + pos + 8, 8);
			}
			pos += 16;
			break;
		case REC_FLOAT:
			if (left < 8)
				return -1;
			if (v != NULL)
				memcpy(&v[i].u.f, buf + pos, 8);
			pos += 8;
			break;
		case REC_BOOL:
			if (left < 1 || buf[pos] > 1)
				return -1;
			if (v != NULL)
				v[i].u.b = buf[pos] == 1;
			pos += 1;
			break;
		case REC_TEXT:
			if (left < 4)
				return -1;
			memcpy(&len, buf + pos, 4);
			if (len > left - 4)
				return -1;
			if (v != NULL) {
				v[i].u.s.len = len;
				v[i].u.s.p = (const char *)buf + pos + 4;
			}
			pos += 4 + (size_t)len;
			break;
		default:
			return -1;
		}
	}
	if (pos != total)
		return -1;
	return (long)total;
}

long rec_decode(const struct rec_schema *s, const unsigned char *buf,
		size_t avail, struct rec_value *v)
{
	return rec_walk(s, buf, avail, v);
}

long rec_validate(const struct rec_schema *s, const unsigned char *buf,
		  size_t avail)
{
	return rec_walk(s, buf, avail, NULL);
}

size_t rec_decode_trusted(const struct rec_schema *s,
			  const unsigned char *buf, struct rec_value *v)
{
	size_t pos = REC_LEN_BYTES + rec_bitmap_bytes(s);
	uint32_t len;
	int i;

	for (i = 0; i < s->nfields; i++) {
		v[i].null = (buf[REC_LEN_BYTES + i / 8] >> (i % 8)) & 1;
		if (v[i].null)
			continue;
		switch (s->fields[i].type) {
		case REC_INT:
		case REC_TIMESTAMP:
		case REC_DATE:
			memcpy(&v[i].u.i, buf + pos, 8);
			pos += 8;
			break;
		case REC_DECIMAL:
			memcpy(&v[i].u.d.lo, buf + pos, 8);
			memcpy(&v[i].u.d.hi, buf + pos + 8, 8);
			pos += 16;
			break;
		case REC_FLOAT:
			memcpy(&v[i].u.f, buf + pos, 8);
			pos += 8;
			break;
		case REC_BOOL:
			v[i].u.b = buf[pos] == 1;
			pos += 1;
			break;
		case REC_TEXT:
			memcpy(&len, buf + pos, 4);
			v[i].u.s.len = len;
			v[i].u.s.p = (const char *)buf + pos + 4;
			pos += 4 + (size_t)len;
			break;
		}
	}
	return pos;
}

bool rec_value_same(enum rec_type t, const struct rec_value *a,
		    const struct rec_value *b)
{
	if (a->null || b->null)
		return a->null == b->null;
	switch (t) {
	case REC_TEXT:
		return a->u.s.len == b->u.s.len &&
		       memcmp(a->u.s.p, b->u.s.p, a->u.s.len) == 0;
	case REC_FLOAT:
		return memcmp(&a->u.f, &b->u.f, sizeof a->u.f) == 0;
	case REC_BOOL:
		return a->u.b == b->u.b;
	case REC_DECIMAL:
		return rec_dec(a) == rec_dec(b);
	default:
		return a->u.i == b->u.i;
	}
}

int rec_value_cmp(enum rec_type t, const struct rec_value *a,
		  const struct rec_value *b)
{
	size_t n;
	__int128 x, y;
	int c;

	if (a->null || b->null)
		return (int)a->null - (int)b->null;
	switch (t) {
	case REC_INT:
	case REC_TIMESTAMP:
	case REC_DATE:
		return (a->u.i > b->u.i) - (a->u.i < b->u.i);
	case REC_DECIMAL:
		x = rec_dec(a);
		y = rec_dec(b);
		return (x > y) - (x < y);
	case REC_FLOAT:
		/* -0 == 0 falls out of ==; NaN (never expected) sorts last. */
		if (a->u.f != a->u.f || b->u.f != b->u.f)
			return (a->u.f != a->u.f) - (b->u.f != b->u.f);
		return (a->u.f > b->u.f) - (a->u.f < b->u.f);
	case REC_BOOL:
		return (int)a->u.b - (int)b->u.b;
	case REC_TEXT:
		n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
		c = n != 0 ? memcmp(a->u.s.p, b->u.s.p, n) : 0;
		if (c != 0)
			return c;
		return (a->u.s.len > b->u.s.len) - (a->u.s.len < b->u.s.len);
	}
	return 0;
}
