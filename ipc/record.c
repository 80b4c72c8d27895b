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
 * rec_plan_encode() writes exactly what rec_encode_dropping() writes for
 * the schema and drop set it was planned from, and returns the same; it
 * is the same walk as encode() with the decisions that depend only on the
 * schema and the drop set taken once, in rec_plan_init().
 */
#include "record.h"

#include <assert.h>
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

/* Bytes a kept field of this kind takes at the least when not NULL. */
static const uint8_t plan_bytes[] = {
	[REC_PLAN_WORD] = 8,
	[REC_PLAN_TEXT] = 4,
	[REC_PLAN_DECIMAL] = 16,
	[REC_PLAN_BOOL] = 1,
};

void rec_plan_init(struct rec_plan *plan, const struct rec_schema *s,
		   const bool *drop)
{
	uint32_t rest = 0;
	int i, k = 0;

	assert(s->nfields >= 0 && s->nfields <= REC_MAX_FIELDS);
	plan->nbitmap = (int)rec_bitmap_bytes(s);
	plan->head = REC_LEN_BYTES + (uint32_t)plan->nbitmap;
	memset(plan->bitmap, 0, sizeof plan->bitmap);
	for (i = 0; i < s->nfields; i++) {
		struct rec_plan_field *f = &plan->kept[k];

		if (drop != NULL && drop[i]) {
			plan->bitmap[i / 8] |= (unsigned char)(1u << (i % 8));
			continue;
		}
		f->field = (uint16_t)i;
		f->byte = (uint8_t)(REC_LEN_BYTES + i / 8);
		f->mask = (uint8_t)(1u << (i % 8));
		switch (s->fields[i].type) {
		case REC_TEXT:
			f->kind = REC_PLAN_TEXT;
			break;
		case REC_DECIMAL:
			f->kind = REC_PLAN_DECIMAL;
			break;
		case REC_BOOL:
			f->kind = REC_PLAN_BOOL;
			break;
		default:
			f->kind = REC_PLAN_WORD;
			break;
		}
		k++;
	}
	plan->nkept = k;
	/* Backwards: each field's rest counts the fields after it. */
	for (k = plan->nkept - 1; k >= 0; k--) {
		rest += plan_bytes[plan->kept[k].kind];
		plan->kept[k].rest = (uint16_t)rest;
	}
	plan->fixed = plan->head + rest;
}

size_t rec_plan_size(const struct rec_plan *plan, const struct rec_value *v)
{
	size_t size = plan->head;
	int k;

	for (k = 0; k < plan->nkept; k++) {
		const struct rec_plan_field *f = &plan->kept[k];
		const struct rec_value *x = &v[f->field];

		if (x->null)
			continue;
		size += plan_bytes[f->kind];
		if (f->kind == REC_PLAN_TEXT)
			size += x->u.s.len;
	}
	return size;
}

/* 16, 8 and 4 bytes from src to dst, as one load and one store each. */
static inline void move16(unsigned char *dst, const void *src)
{
	unsigned char w[16];

	memcpy(w, src, 16);
	memcpy(dst, w, 16);
}

static inline void move8(unsigned char *dst, const void *src)
{
	uint64_t w;

	memcpy(&w, src, 8);
	memcpy(dst, &w, 8);
}

static inline void move4(unsigned char *dst, const void *src)
{
	uint32_t w;

	memcpy(&w, src, 4);
	memcpy(dst, &w, 4);
}

/*
 * n bytes from src to dst without a call: the usual text (a region, a
 * code) and a bitmap are a few bytes, for which a call to memcpy costs
 * more than the copy, and a walk that calls nothing keeps its values in
 * registers it need not save.  Moves overlap rather than run past either
 * end.
 */
static inline void copy_bytes(unsigned char *dst, const void *from,
			      size_t n)
{
	const unsigned char *src = from;
	size_t k;

	if (n >= 16) {
		for (k = 0; k + 16 < n; k += 16)
			move16(dst + k, src + k);
		move16(dst + n - 16, src + n - 16);
	} else if (n >= 8) {
		move8(dst, src);
		move8(dst + n - 8, src + n - 8);
	} else if (n >= 4) {
		move4(dst, src);
		move4(dst + n - 4, src + n - 4);
	} else if (n != 0) {
		dst[0] = src[0];
		dst[n / 2] = src[n / 2];
		dst[n - 1] = src[n - 1];
	}
}

/*
 * rec_plan_encode()'s walk.  checked: every field is bounded by room, as
 * encode() bounds it, and 0 means the record does not fit.  Unchecked,
 * the caller made sure of room >= plan->fixed, so the invariant
 * pos + kept[k].rest <= room holds at every kept field k: a field of fixed
 * size needs no test, text only that its bytes keep it; 0 then means only
 * that a text may not fit (a later field may still be NULL): walk again,
 * checked.
 */
static inline __attribute__((always_inline)) size_t
plan_walk(const struct rec_plan *plan, const struct rec_value *v,
	  unsigned char *out, size_t room, const bool checked)
{
	const struct rec_plan_field *f = plan->kept, *end = f + plan->nkept;
	size_t pos = plan->head;
	uint32_t total, len;

	if (checked && pos > room)
		return 0;
	/* Up to 8 fields, one byte: a store. */
	if (plan->nbitmap == 1)
		out[REC_LEN_BYTES] = plan->bitmap[0];
	else
		copy_bytes(out + REC_LEN_BYTES, plan->bitmap,
			   (size_t)plan->nbitmap);
	for (; f < end; f++) {
		const struct rec_value *x = &v[f->field];

		if (x->null) {
			out[f->byte] |= f->mask;
			continue;
		}
		/* The kinds in the order they are met most. */
		if (f->kind == REC_PLAN_WORD) {
			if (checked && room - pos < 8)
				return 0;
			move8(out + pos, &x->u.i);
			pos += 8;
		} else if (f->kind == REC_PLAN_TEXT) {
			len = x->u.s.len;
			if (checked ? room - pos < 4 || room - pos - 4 < len
				    : len > room - pos - f->rest)
				return 0;
			memcpy(out + pos, &len, 4);
			copy_bytes(out + pos + 4, x->u.s.p, len);
			pos += 4 + (size_t)len;
		} else if (f->kind == REC_PLAN_DECIMAL) {
			if (checked && room - pos < 16)
				return 0;
			move8(out + pos, &x->u.d.lo);
			move8(out + pos + 8, &x->u.d.hi);
			pos += 16;
		} else {
			if (checked && room - pos < 1)
				return 0;
			out[pos++] = x->u.b ? 1 : 0;
		}
	}
	total = (uint32_t)pos;
	memcpy(out, &total, REC_LEN_BYTES);
	return pos;
}

/* The walk with every bound checked: only near a frame's end. */
static __attribute__((noinline, cold)) size_t
plan_encode_checked(const struct rec_plan *plan, const struct rec_value *v,
		    unsigned char *out, size_t room)
{
	return plan_walk(plan, v, out, room, true);
}

size_t rec_plan_encode(const struct rec_plan *plan, const struct rec_value *v,
		       unsigned char *out, size_t room)
{
	size_t n;

	if (__builtin_expect(room >= plan->fixed, 1)) {
		n = plan_walk(plan, v, out, room, false);
		if (__builtin_expect(n != 0, 1))
			return n;
	}
	return plan_encode_checked(plan, v, out, room);
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
