/*
 * csvfast.c - the CSV reader's typed fast path (see csvfast.h).
 *
 * Why it exists: in a profile of a large CSV group-by the provider spent
 * its time splitting fields into an array, then walking that array once
 * per field through conv_text()'s dispatch, blank trimming and parsers.
 * Here each field is read once, where it lies, by a loop that knows the
 * column's type.
 *
 * What it accepts without conv_text() (everything else in a field goes to
 * conv_text() on the field's bytes, as the general path does):
 *   int    -?[0-9]{1,18}: parse_int's own no-overflow case;
 *   float  -?[0-9]*(\.[0-9]*)? with a digit, under 512 bytes, whose value
 *          conv_float_exact() gets exactly: parse_float's own fast path;
 *   text   bytes that are neither NUL nor above 0x7f (no UTF-8 to check);
 *   timestamp (without formats) YYYY-MM-DD, or that then [Tt ]HH:MM:SS,
 *          then .f{1,9}, then Z, z or [+-]HH(:?MM)?: parse_ts_local()'s
 *          forms without blanks, read from two words each checked at
 *          once, the zone applied as conv_text() does (an offset written:
 *          arithmetic; none: the field's zone, through a lookup cache of
 *          the column's own).  Only when neither the delimiter nor the
 *          quote is a byte of those forms, and no NULL marker starts with
 *          a digit.
 * The field ends right after those bytes at a delimiter, or at the record's
 * LF (CR LF), or it is not accepted.  A NULL marker that reads as a number
 * sends every number to the general test (the NULL check comes first).
 *
 * csvfast_encode() walks the same fields with what the plan
 * (csvfast_plan.c) decided once per column (csvfast_col.op: which reader, whether the value is kept)
 * and writes each kept value where the encoding wants it; the null bitmap
 * starts as the plan's (f->nulls) and a field read as NULL adds its bit.
 * Each reader is the one csvfast_record() uses, so the two cannot differ
 * in what they take.  csvfast_encode_then() is the same loop storing each
 * value it encodes, asking its caller about the record, and appending the
 * computed fields' values to the ones it keeps.
 */
#include "csvfast.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "../common/convert.h"
#include "combine.h"
#include "csvfast_read.h"

/* one_field()'s answer when the record is not for the fast path. */
#define DECLINE SIZE_MAX

/*
 * The end of the unquoted field at in[i]: the first delimiter, quote or LF
 * at or after i, or avail.  Sets *odd when a byte before it is NUL or
 * above 0x7f (then the text needs its UTF-8 check).
 */
static inline __attribute__((always_inline)) size_t
field_end(const struct csvfast *f, const unsigned char *in, size_t i,
	  size_t avail, bool *odd)
{
#ifdef __SSE2__
	/*
	 * 16 bytes at a time: most fields end within the first 16, and
	 * then this costs about what one word of the loop below does.
	 */
	if (avail - i >= 16) {
		/*
		 * The plan's words as they lie: building them from one word
		 * took five instructions a field, a byte more.
		 */
		const __m128i vd = _mm_load_si128((const __m128i *)f->wd);
		const __m128i vq = _mm_load_si128((const __m128i *)f->wq);
		const __m128i vlf = _mm_set1_epi8('\n');
		unsigned o = 0;

		do {
			__m128i x = _mm_loadu_si128((const __m128i *)(in + i));
			unsigned hit = (unsigned)_mm_movemask_epi8(
				_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vd),
							  _mm_cmpeq_epi8(x, vq)),
					     _mm_cmpeq_epi8(x, vlf)));
			/* Bit 7 set, or a NUL. */
			unsigned bad = (unsigned)_mm_movemask_epi8(_mm_or_si128(
				x, _mm_cmpeq_epi8(x, _mm_setzero_si128())));

			if (hit != 0) {
				/* Only the bytes before the stop count. */
				o |= bad & ((hit & -hit) - 1);
				*odd |= o != 0;
				return i + (unsigned)__builtin_ctz(hit);
			}
			o |= bad;
			i += 16;
		} while (avail - i >= 16);
		*odd |= o != 0;
	}
#endif
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t wd = f->wd[0], wq = f->wq[0], wlf = LO * '\n';
	uint64_t o = 0;

	while (avail - i >= 8) {
		uint64_t w, hit;

		memcpy(&w, in + i, 8);
		hit = zero_bytes(w ^ wd) | zero_bytes(w ^ wq) |
		      zero_bytes(w ^ wlf);
		if (hit != 0) {
			/* Only the bytes before the stop count. */
			o |= ((w & HI) | zero_bytes(w)) & ((hit & -hit) - 1);
			*odd |= o != 0;
			return i + (unsigned)__builtin_ctzll(hit) / 8;
		}
		o |= (w & HI) | zero_bytes(w);
		i += 8;
	}
	*odd |= o != 0;
#endif
	for (; i < avail; i++) {
		unsigned char ch = in[i];

		if (ch == f->delim || ch == '\n' ||
		    (f->has_quote && ch == f->quote))
			return i;
		if (ch == 0 || ch >= 0x80)
			*odd = true;
	}
	return avail;
}


/* The field's bytes are empty, or one of the NULL markers. */
static inline bool is_null(const struct csvfast *f, const unsigned char *p,
			   size_t len)
{
	if (len == 0)
		return true;
	for (int k = 0; k < f->nnulls; k++)
		if (len == f->null_len[k] && memcmp(p, f->null_text[k], len) == 0)
			return true;
	return false;
}

/*
 * The field at in[i] of field fld (its first byte no quote), without the
 * number readers: its end, the NULL test, ASCII text where it lies, and
 * anything else through conv_text().  Sets *x; returns the index of the
 * delimiter or LF that ends it, or DECLINE.
 */
static inline size_t plain_field(const struct csvfast *f,
				 const struct rec_field *fld,
				 const unsigned char *in, size_t i,
				 size_t avail, struct rec_value *x)
{
	size_t j, len;
	bool odd = false;
	char why[CONV_REASON_MAX];

	j = field_end(f, in, i, avail, &odd);
	if (j >= avail || in[j] == f->quote)
		return DECLINE;
	len = j - i;
	/* The record's last field does not keep the CR of a CR LF. */
	if (in[j] == '\n' && len > 0 && in[j - 1] == '\r')
		len--;
	if (is_null(f, in + i, len)) {
		x->null = true;
		return j;
	}
	if (fld->type == REC_TEXT && !odd && len <= UINT32_MAX) {
		x->null = false;
		x->u.s.p = (const char *)in + i;
		x->u.s.len = (uint32_t)len;
		return j;
	}
	if (conv_text(fld, (const char *)in + i, len, x, why, sizeof why) < 0)
		return DECLINE; /* a reject: the general path words it */
	return j;
}

/*
 * One field at in[i] of column col (NULL: a column past the mapped ones).
 * Returns the index of the delimiter or LF that ends it, or DECLINE.
 */
static inline size_t one_field(const struct csvfast *f,
			       const struct csvfast_col *col,
			       const unsigned char *in, size_t i, size_t avail,
			       struct rec_value *v)
{
	struct rec_value *x;
	size_t j;
	bool odd = false;

	if (i >= avail || (f->has_quote && in[i] == f->quote))
		return DECLINE;
	if (col == NULL || col->field < 0) {
		j = field_end(f, in, i, avail, &odd);
		return j < avail && in[j] != f->quote ? j : DECLINE;
	}
	x = &v[col->field];
	if (!f->numeric_null) {
		if (col->type == REC_INT &&
		    (j = fast_int(f, in, i, avail, &x->u.i)) != 0) {
			x->null = false;
			return stop_at(in, j);
		}
		if (col->type == REC_FLOAT &&
		    (j = fast_float(f, in, i, avail, &x->u.f)) != 0) {
			x->null = false;
			return stop_at(in, j);
		}
	}
	if (col->ts && (j = fast_ts(f, col, in, i, avail, &x->u.i)) != 0) {
		x->null = false;
		return stop_at(in, j);
	}
	return plain_field(f, col->fld, in, i, avail, x);
}

static size_t record(const struct csvfast *f, const unsigned char *in,
		     size_t avail, struct rec_value *v)
{
	size_t i = 0, c, raw_len;

	/* The general path's bound: max_record bytes, then CR LF. */
	if (avail > f->max_record + 2)
		avail = f->max_record + 2;
	for (c = 0;; c++) {
		const struct csvfast_col *col = c < f->ncols ? &f->cols[c]
							     : NULL;
		size_t j = one_field(f, col, in, i, avail, v);

		if (j == DECLINE)
			return 0;
		if (in[j] == f->delim) {
			/* More columns than a header's, or than allowed. */
			if ((f->exact_cols && c + 1 == f->ncols) ||
			    c + 1 == f->max_fields)
				return 0;
			i = j + 1;
			continue;
		}
		/* in[j] is the LF: too few columns go to the general path. */
		if (c + 1 < f->ncols)
			return 0;
		raw_len = j > 0 && in[j - 1] == '\r' ? j - 1 : j;
		/* A blank line is skipped or read by the general path. */
		if (raw_len == 0 || raw_len > f->max_record)
			return 0;
		return j + 1;
	}
}

size_t csvfast_record(struct csvfast *f, const char *in, size_t avail,
		      struct rec_value *v)
{
	size_t n;

	n = record(f, (const unsigned char *)in, avail, v);
	f->tries++;
	if (n == 0) {
		/* Mostly quoted or odd records: stop trying for this file. */
		if (++f->declines >= 1024 && f->declines * 2 > f->tries)
			f->on = false;
		return 0;
	}
	for (int k = 0; k < f->nalways_null; k++)
		v[f->always_null[k]].null = true;
	return n;
}

size_t csvfast_timestamp(struct csvfast *f, size_t c, const char *in,
			 size_t avail, int64_t *us)
{
	if (f->cols == NULL || c >= f->ncols || !f->cols[c].ts)
		return 0;
	return fast_ts(f, &f->cols[c], (const unsigned char *)in, 0, avail, us);
}

/* Mark field i of the record at out NULL. */
static inline void set_null(unsigned char *out, int i)
{
	out[ENC_LEN_BYTES + i / 8] |= (unsigned char)(1u << (i % 8));
}

/*
 * Append x, a value of type t for field i, at out[*pos..room) as
 * record.c's encoder does.  False: it does not fit.
 */
static inline __attribute__((always_inline)) bool
put_value(unsigned char *out, size_t *pos, size_t room, int i,
		      enum rec_type t, const struct rec_value *x)
{
	size_t p = *pos;

	if (x->null) {
		set_null(out, i);
		return true;
	}
	switch (t) {
	case REC_INT:
	case REC_TIMESTAMP:
	case REC_DATE:
		if (room - p < 8)
			return false;
		memcpy(out + p, &x->u.i, 8);
		p += 8;
		break;
	case REC_DECIMAL:
		if (room - p < 16)
			return false;
		memcpy(out + p, &x->u.d.lo, 8);
		memcpy(out + p + 8, &x->u.d.hi, 8);
		p += 16;
		break;
	case REC_FLOAT:
		if (room - p < 8)
			return false;
		memcpy(out + p, &x->u.f, 8);
		p += 8;
		break;
	case REC_BOOL:
		if (room - p < 1)
			return false;
		out[p++] = x->u.b ? 1 : 0;
		break;
	case REC_TEXT:
		if (room - p < 4 || room - p - 4 < x->u.s.len)
			return false;
		memcpy(out + p, &x->u.s.len, 4);
		if (x->u.s.len != 0)
			memcpy(out + p + 4, x->u.s.p, x->u.s.len);
		p += 4 + (size_t)x->u.s.len;
		break;
	}
	*pos = p;
	return true;
}

/*
 * Copy the len text bytes at in[i] to out[p..): short ones by two 8-byte
 * moves when both sides have 16 bytes there (what lands past len is
 * overwritten by the next value or never committed), others by memcpy.
 */
static inline void put_bytes(unsigned char *out, size_t p, size_t room,
			     const unsigned char *in, size_t i, size_t avail,
			     size_t len)
{
	if (len <= 16 && room - p >= 16 && avail - i >= 16) {
		uint64_t a, b;

		memcpy(&a, in + i, 8);
		memcpy(&b, in + i + 8, 8);
		memcpy(out + p, &a, 8);
		memcpy(out + p + 8, &b, 8);
	} else if (len != 0) {
		memcpy(out + p, in + i, len);
	}
}

/*
 * record() writing the encoding: see csvfast_encode().  Inline in
 * csvfast_encode_batch()'s loop; with v (csvfast_encode_then()), each
 * value encoded is also stored in v (a field's value that is not encoded
 * is not), as csvfast_record() would store it.  Without put (a constant:
 * csvfast_read_then(), csvfast_fold()) nothing is written to out: the
 * same readers take and decline the same records, storing only in v.
 */
static inline __attribute__((always_inline)) size_t
encode(const struct csvfast *f, const unsigned char *in, size_t avail,
       unsigned char *out, size_t room, size_t *outlen, struct rec_value *v,
       const bool put)
{
	/* The plan's: choosing it here cost six instructions a record. */
	const int quote = f->quote_byte;
	size_t i = 0, j = 0, pos = f->head, c, len, raw_len;
	/*
	 * In registers: the stores into out may alias *f.  The loop steps a
	 * column pointer to its end, where a count kept beside it was one
	 * more add and compare a column, both in memory in a reader's loop.
	 */
	const size_t ncols = f->ncols;
	const struct csvfast_col *const cols = f->cols, *const end = cols + ncols;
	const struct csvfast_col *col;
	uint32_t total;

	if (put) {
		if (room < f->head)
			return CSVFAST_FULL;
		if (f->head == ENC_LEN_BYTES + 1)
			out[ENC_LEN_BYTES] = f->nulls[0];
		else
			memcpy(out + ENC_LEN_BYTES, f->nulls,
			       f->head - ENC_LEN_BYTES);
	}
	/* The general path's bound: max_record bytes, then CR LF. */
	if (avail > f->max_record + 2)
		avail = f->max_record + 2;
	/* A plan has a column at least (csvfast_plan()). */
	for (col = cols;; col++) {
		struct rec_value x;
		bool odd = false;

		/*
		 * No test of the first byte: a quote there, or the end of
		 * the bytes, stops every reader below, which then declines.
		 */
		switch (col->op) {
		case OP_SKIP:
			j = field_end(f, in, i, avail, &odd);
			if (j >= avail || in[j] == quote)
				return 0;
			goto column_read;
		case OP_INT:
			j = fast_int(f, in, i, avail, &x.u.i);
			if (j == 0)
				break;
			if (put && room - pos < 8)
				return CSVFAST_FULL;
			if (put)
				memcpy(out + pos, &x.u.i, 8);
			pos += 8;
			if (v != NULL) {
				v[col->field].null = false;
				v[col->field].u.i = x.u.i;
			}
			j = stop_at(in, j);
			goto column_read;
		case OP_INT_CHECK:
			j = fast_int(f, in, i, avail, &x.u.i);
			if (j == 0)
				break;
			j = stop_at(in, j);
			goto column_read;
		case OP_FLOAT:
			j = fast_float(f, in, i, avail, &x.u.f);
			if (j == 0)
				break;
			if (put && room - pos < 8)
				return CSVFAST_FULL;
			if (put)
				memcpy(out + pos, &x.u.f, 8);
			pos += 8;
			if (v != NULL) {
				v[col->field].null = false;
				v[col->field].u.f = x.u.f;
			}
			j = stop_at(in, j);
			goto column_read;
		case OP_FLOAT_CHECK:
			j = fast_float(f, in, i, avail, &x.u.f);
			if (j == 0)
				break;
			j = stop_at(in, j);
			goto column_read;
		case OP_TS:
			j = fast_ts(f, col, in, i, avail, &x.u.i);
			if (j == 0)
				break;
			if (put && room - pos < 8)
				return CSVFAST_FULL;
			if (put)
				memcpy(out + pos, &x.u.i, 8);
			pos += 8;
			if (v != NULL) {
				v[col->field].null = false;
				v[col->field].u.i = x.u.i;
			}
			j = stop_at(in, j);
			goto column_read;
		case OP_TS_CHECK:
			j = fast_ts(f, col, in, i, avail, &x.u.i);
			if (j == 0)
				break;
			j = stop_at(in, j);
			goto column_read;
		case OP_TEXT:
			j = field_end(f, in, i, avail, &odd);
			if (j >= avail || in[j] == quote)
				return 0;
			if (odd)
				break; /* UTF-8 to check, or a NUL */
			len = j - i;
			if (in[j] == '\n' && len > 0 && in[j - 1] == '\r')
				len--;
			if (!col->keep)
				goto column_read;
			if (is_null(f, in + i, len)) {
				if (put)
					set_null(out, col->field);
				if (v != NULL)
					v[col->field].null = true;
				goto column_read;
			}
			if (put && (room - pos < 4 || room - pos - 4 < len))
				return CSVFAST_FULL;
			total = (uint32_t)len; /* < max_record + 2: fits */
			if (put) {
				memcpy(out + pos, &total, 4);
				put_bytes(out, pos + 4, room, in, i, avail,
					  len);
			}
			pos += 4 + len;
			if (v != NULL) {
				v[col->field].null = false;
				v[col->field].u.s.p = (const char *)in + i;
				v[col->field].u.s.len = total;
			}
			goto column_read;
		case OP_OTHER:
			break;
		default:
			/* op is one of the above: no range test a column. */
			__builtin_unreachable();
		}
		/* What the column's own reader did not take. */
		j = plain_field(f, col->fld, in, i, avail, &x);
		if (j == DECLINE)
			return 0;
		if (put && col->keep &&
		    !put_value(out, &pos, room, col->field, col->type, &x))
			return CSVFAST_FULL;
		if (col->keep && v != NULL)
			v[col->field] = x;
column_read:
		/*
		 * The column is read.  Its delimiter tested here, after every
		 * column but the last, where a test for the first column at
		 * the top cost two instructions on each of the others.
		 */
		if (col + 1 == end)
			break;
		/* An LF before the last column: too few columns. */
		if (in[j] != f->delim)
			return 0;
		i = j + 1;
	}
	/* Columns past the mapped ones: only without a header. */
	for (c = ncols; in[j] == f->delim; c++) {
		bool odd = false;

		if (f->exact_cols || c == f->max_fields)
			return 0;
		i = j + 1;
		j = field_end(f, in, i, avail, &odd);
		if (j >= avail || in[j] == quote)
			return 0;
	}
	/* in[j] is the LF. */
	raw_len = j > 0 && in[j - 1] == '\r' ? j - 1 : j;
	/* A blank line is skipped or read by the general path. */
	if (raw_len == 0 || raw_len > f->max_record)
		return 0;
	if (put) {
		total = (uint32_t)pos;
		memcpy(out, &total, ENC_LEN_BYTES);
		*outlen = pos;
	}
	return j + 1;
}

/* An 8-byte value at out + *pos, within room.  False: no room. */
static inline bool put_word(unsigned char *out, size_t *pos, size_t room,
			    const struct rec_value *v)
{
	if (room - *pos < 8)
		return false;
	memcpy(out + *pos, &v->u.i, 8);
	*pos += 8;
	return true;
}

/* The record at out, pos bytes long now: its length word and *len. */
static inline bool put_length(unsigned char *out, size_t pos, size_t *len)
{
	uint32_t total;

	if (pos > UINT32_MAX)
		return false;
	total = (uint32_t)pos;
	memcpy(out, &total, ENC_LEN_BYTES);
	*len = pos;
	return true;
}

/*
 * The computed fields' values v[f->nfields..f->nwhole) appended to the
 * record encoded at out[0..*len), within room, its length word updated:
 * what encode() does for the columns' fields.  False: no room.
 */
static __attribute__((noinline)) bool
put_computed_any(const struct csvfast *f, const struct rec_value *v,
		 unsigned char *out, size_t room, size_t *len)
{
	size_t pos = *len;

	for (int i = f->nfields; i < f->nwhole; i++) {
		enum rec_type t = f->whole[i].type;

		if (f->drop != NULL && f->drop[i])
			continue;
		/* The 8-byte values here, the others by put_value(). */
		if (v[i].null || (t != REC_INT && t != REC_TIMESTAMP &&
				  t != REC_DATE && t != REC_FLOAT)) {
			if (!put_value(out, &pos, room, i, t, &v[i]))
				return false;
			continue;
		}
		if (!put_word(out, &pos, room, &v[i]))
			return false;
	}
	return put_length(out, pos, len);
}

/*
 * put_computed_any(), with the common case (keys of dates and numbers:
 * f->put8) in the batch's loop.  With one (steps of a shape other than
 * EXPR_STEPS_ANY) there is one computed field, f->nfields, of 8 bytes,
 * and one is its value (csvfast_encode_steps() makes sure): no loop, and
 * the value just computed is not looked for again in v.
 */
static inline __attribute__((always_inline)) bool
put_computed(const struct csvfast *f, const struct rec_value *v,
	     unsigned char *out, size_t room, size_t *len,
	     const struct rec_value *one)
{
	size_t pos = *len;

	if (one != NULL) {
		if (one->null)
			set_null(out, f->nfields);
		else if (!put_word(out, &pos, room, one))
			return false;
		return put_length(out, pos, len);
	}
	if (!f->put8)
		return put_computed_any(f, v, out, room, len);
	for (int i = f->nfields; i < f->nwhole; i++) {
		if (v[i].null) {
			set_null(out, i);
			continue;
		}
		if (!put_word(out, &pos, room, &v[i]))
			return false;
	}
	return put_length(out, pos, len);
}

/*
 * csvfast_encode_batch(), with then csvfast_encode_then(), and with steps
 * (of shape, a constant) csvfast_encode_steps()'s loops: one loop,
 * inlined into each, so the first is the loop it always was.
 */
static inline __attribute__((always_inline)) enum csvfast_stop
batch(struct csvfast *f, const char *in, size_t avail, unsigned char *out,
      size_t room, uint64_t max, size_t slack, struct rec_value *v,
      csvfast_then then, void *arg, const struct expr_simple_step *steps,
      int nsteps, const enum expr_steps_shape shape,
      struct csvfast_batch *b)
{
	/*
	 * The plan in a local: out is bytes, which may alias anything, so
	 * the fields of *f would be loaded again after every store.
	 */
	const struct csvfast plan = *f;
	const unsigned char *p = (const unsigned char *)in;
	enum csvfast_stop why = CSVFAST_LIMIT;
	size_t used = 0, pos = 0, n, len;
	uint64_t k, seen = 0;
	/* A shape's steps bound once, in a local as the plan is. */
	struct expr_where_day wd = { 0 };

	if (shape != EXPR_STEPS_ANY)
		wd = expr_where_day_bind(steps, v);
	for (k = 0; k < max;) {
		n = encode(&plan, p + used, avail - used, out + pos,
			   room - pos, &len, v, true);
		if (n == 0 || n == CSVFAST_FULL) {
			why = n == 0 ? CSVFAST_DECLINED : CSVFAST_NO_ROOM;
			break;
		}
		if (steps != NULL || then != NULL) {
			enum csvfast_verdict d = steps == NULL ? then(arg) :
				(shape != EXPR_STEPS_ANY ?
				 expr_where_day_run(&wd, shape) :
				 expr_simple_run(steps, nsteps, v)) ?
				CSVFAST_KEEP : CSVFAST_DROP;

			if (d == CSVFAST_REFUSE) {
				why = CSVFAST_REFUSED;
				break;
			}
			if (d == CSVFAST_DROP) {
				used += n;
				seen++;
				continue;
			}
			if (!put_computed(&plan, v, out + pos, room - pos,
					  &len, shape == EXPR_STEPS_ANY ?
					  NULL : wd.day)) {
				why = CSVFAST_NO_ROOM;
				break;
			}
		}
		used += n;
		pos += len;
		seen++;
		k++;
		if (room - pos < slack)
			break;
	}
	b->used = used;
	b->len = pos;
	b->records = k;
	b->seen = seen;
	/* A record that did not fit is neither taken nor declined yet. */
	f->tries += seen + (why == CSVFAST_DECLINED);
	if (why == CSVFAST_DECLINED && ++f->declines >= 1024 &&
	    f->declines * 2 > f->tries)
		f->on = false; /* as csvfast_record() */
	return why;
}

enum csvfast_stop csvfast_encode_batch(struct csvfast *f, const char *in,
				       size_t avail, unsigned char *out,
				       size_t room, uint64_t max, size_t slack,
				       struct csvfast_batch *b)
{
	return batch(f, in, avail, out, room, max, slack, NULL, NULL, NULL,
		     NULL, 0, EXPR_STEPS_ANY, b);
}

enum csvfast_stop csvfast_encode_then(struct csvfast *f, const char *in,
				      size_t avail, unsigned char *out,
				      size_t room, uint64_t max, size_t slack,
				      struct rec_value *v, csvfast_then then,
				      void *arg, struct csvfast_batch *b)
{
	for (int k = 0; k < f->nalways_null; k++)
		v[f->always_null[k]].null = true;
	return batch(f, in, avail, out, room, max, slack, v, then, arg, NULL,
		     0, EXPR_STEPS_ANY, b);
}

/*
 * csvfast_encode_steps()'s loops, one a function for each shape: in one,
 * the loops would share the compiler's room for inlining, and the readers
 * they call would not all be inlined.
 */
#define STEPS_LOOP(name, shape)                                              \
	static __attribute__((noinline)) enum csvfast_stop name(              \
		struct csvfast *f, const char *in, size_t avail,              \
		unsigned char *out, size_t room, uint64_t max, size_t slack,  \
		struct rec_value *v, const struct expr_simple_step *steps,    \
		int nsteps, struct csvfast_batch *b)                          \
	{                                                                     \
		return batch(f, in, avail, out, room, max, slack, v, NULL,    \
			     NULL, steps, nsteps, shape, b);                  \
	}

STEPS_LOOP(steps_any, EXPR_STEPS_ANY)
STEPS_LOOP(steps_where_f_day, EXPR_STEPS_WHERE_F_DAY)
STEPS_LOOP(steps_where_i_day, EXPR_STEPS_WHERE_I_DAY)

enum csvfast_stop csvfast_encode_steps(struct csvfast *f, const char *in,
				       size_t avail, unsigned char *out,
				       size_t room, uint64_t max, size_t slack,
				       struct rec_value *v,
				       const struct expr_simple_step *steps,
				       int nsteps, struct csvfast_batch *b)
{
	enum expr_steps_shape shape = expr_steps_shape_of(steps, nsteps);

	for (int k = 0; k < f->nalways_null; k++)
		v[f->always_null[k]].null = true;
	/* The common shapes, their day the one computed field, get a loop
	 * each of their own. */
	if (shape == EXPR_STEPS_ANY || !f->put8 ||
	    f->nwhole != f->nfields + 1 || steps[1].out != f->nfields)
		return steps_any(f, in, avail, out, room, max, slack, v, steps,
				 nsteps, b);
	if (shape == EXPR_STEPS_WHERE_I_DAY)
		return steps_where_i_day(f, in, avail, out, room, max, slack,
					 v, steps, nsteps, b);
	return steps_where_f_day(f, in, avail, out, room, max, slack, v,
				 steps, nsteps, b);
}

/*
 * csvfast_read_then() and, with t, csvfast_fold(): one loop, inlined into
 * each, reading through encode()'s readers without the encoding (f->enc)
 * or record()'s; with t each record taken is folded by comb_fold()
 * inline, where the other asks then(arg).
 */
static inline __attribute__((always_inline)) enum csvfast_stop
read_batch(struct csvfast *f, const char *in, size_t avail, uint64_t max,
	   struct rec_value *v, csvfast_then then, void *arg, struct comb *t,
	   const enum comb_shape shape, struct csvfast_batch *b)
{
	const struct csvfast plan = *f;
	const unsigned char *p = (const unsigned char *)in;
	enum csvfast_stop why = CSVFAST_LIMIT;
	size_t used = 0, n;
	uint64_t k = 0, seen = 0;

	for (int j = 0; j < f->nalways_null; j++)
		v[f->always_null[j]].null = true;
	while (k < max) {
		enum csvfast_verdict d = CSVFAST_KEEP;

		n = plan.enc ? encode(&plan, p + used, avail - used, NULL, 0,
				      NULL, v, false)
			     : record(&plan, p + used, avail - used, v);
		if (n == 0) {
			why = CSVFAST_DECLINED;
			break;
		}
		if (t != NULL) {
			/* The general path folds it again, or fails. */
			if (comb_fold_as(t, v, shape) != 0) {
				why = CSVFAST_REFUSED;
				break;
			}
		} else {
			d = then(arg);
			if (d == CSVFAST_REFUSE) {
				why = CSVFAST_REFUSED;
				break;
			}
		}
		used += n;
		seen++;
		k += d == CSVFAST_KEEP;
	}
	b->used = used;
	b->len = 0;
	b->records = k;
	b->seen = seen;
	f->tries += seen + (why == CSVFAST_DECLINED);
	if (why == CSVFAST_DECLINED && ++f->declines >= 1024 &&
	    f->declines * 2 > f->tries)
		f->on = false; /* as csvfast_record() */
	return why;
}

enum csvfast_stop csvfast_read_then(struct csvfast *f, const char *in,
				    size_t avail, uint64_t max,
				    struct rec_value *v, csvfast_then then,
				    void *arg, struct csvfast_batch *b)
{
	return read_batch(f, in, avail, max, v, then, arg, NULL, COMB_ANY, b);
}

enum csvfast_stop csvfast_fold(struct csvfast *f, const char *in,
			       size_t avail, uint64_t max,
			       struct rec_value *v, struct comb *t,
			       struct csvfast_batch *b)
{
	/* The common shapes get a loop of their own. */
	if (t->fast && t->shape == COMB_FSUM1)
		return read_batch(f, in, avail, max, v, NULL, NULL, t,
				  COMB_FSUM1, b);
	if (t->fast && t->shape == COMB_FSUMS)
		return read_batch(f, in, avail, max, v, NULL, NULL, t,
				  COMB_FSUMS, b);
	return read_batch(f, in, avail, max, v, NULL, NULL, t, COMB_ANY, b);
}

size_t csvfast_encode(struct csvfast *f, const char *in, size_t avail,
		      unsigned char *out, size_t room, size_t *len)
{
	struct csvfast_batch b;

	switch (csvfast_encode_batch(f, in, avail, out, room, 1, 0, &b)) {
	case CSVFAST_NO_ROOM:
		return CSVFAST_FULL;
	case CSVFAST_DECLINED:
		return 0;
	default:
		*len = b.len;
		return b.used;
	}
}
