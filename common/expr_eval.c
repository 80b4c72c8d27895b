/*
 * expr_eval.c - running a compiled expression over one record (expr.h).
 *
 * One loop over the program's instructions, a switch per instruction,
 * operands in the frame's slots or, for a field, in the record itself
 * (fa, fb, fc).  Invariants: a constant's slot is never written (the
 * frame fills the constants once, when it is made); a field kept in a
 * slot is copied there before the loop; a program of one instruction
 * over fields and constants (prog->fast) runs without the loop; an
 * instruction whose operand is NULL gives NULL, except the logic ones
 * (three-valued), IS, coalesce and greatest/least.  Errors of a record
 * (overflow, division by zero, a text that does not convert) end the run
 * with -1 and a reason; nothing here can crash on any value.
 */
#include "expr_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"

/* Scratch chunks: new ones only when a record needs more than ever before. */
#define SCRATCH_FIRST 4096

char *expr_scratch(struct expr_frame *f, size_t n)
{
	struct scratch_chunk *ch = f->scratch;
	char *p;

	if (ch == NULL || ch->cap - ch->used < n) {
		size_t cap = ch ? 2 * ch->cap : SCRATCH_FIRST;

		while (cap < n)
			cap *= 2;
		ch = malloc(sizeof *ch + cap);
		if (ch == NULL)
			return NULL;
		ch->cap = cap;
		ch->used = 0;
		ch->next = f->scratch;
		f->scratch = ch;
		f->scratch_total += cap;
	}
	p = ch->data + ch->used;
	ch->used += n;
	return p;
}

/* A new record: one chunk as big as all of the last record's, emptied. */
static void scratch_reset(struct expr_frame *f)
{
	struct scratch_chunk *ch = f->scratch;

	if (ch == NULL)
		return;
	if (ch->next) {
		size_t total = f->scratch_total;

		while (f->scratch) {
			ch = f->scratch;
			f->scratch = ch->next;
			free(ch);
		}
		f->scratch_total = 0;
		ch = malloc(sizeof *ch + total);
		if (ch == NULL)
			return; /* expr_scratch will try again */
		ch->cap = total;
		ch->next = NULL;
		f->scratch = ch;
		f->scratch_total = total;
	}
	ch->used = 0;
}

struct expr_frame *expr_frame_new(const struct expr_prog *prog)
{
	struct expr_frame *f = calloc(1, sizeof *f);

	if (f == NULL)
		return NULL;
	f->nslots = prog->nslots;
	f->zone = EXPR_ZONE(prog->tz);
	f->slots = malloc(sizeof *f->slots * (size_t)(prog->nslots + 1));
	if (f->slots == NULL) {
		free(f);
		return NULL;
	}
	if (prog->nslots)
		memcpy(f->slots, prog->init, sizeof *f->slots * (size_t)prog->nslots);
	return f;
}

void expr_frame_free(struct expr_frame *f)
{
	if (f == NULL)
		return;
	while (f->scratch) {
		struct scratch_chunk *ch = f->scratch;

		f->scratch = ch->next;
		free(ch);
	}
	free(f->slots);
	free(f);
}

static int text_cmp(const struct rec_value *a, const struct rec_value *b)
{
	uint32_t n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
	int r = n ? memcmp(a->u.s.p, b->u.s.p, n) : 0;

	if (r)
		return r;
	return (a->u.s.len > b->u.s.len) - (a->u.s.len < b->u.s.len);
}

/* Compare two non-NULL values of one type (greatest, least). */
static int value_cmp(int t, int scale, const struct rec_value *a,
		     const struct rec_value *b)
{
	switch (t) {
	case REC_FLOAT:
		return (a->u.f > b->u.f) - (a->u.f < b->u.f);
	case REC_DECIMAL:
		return expr_dec_cmp(rec_dec(a), scale, rec_dec(b), scale);
	case REC_TEXT:
		return text_cmp(a, b);
	case REC_BOOL:
		return (int)a->u.b - (int)b->u.b;
	default:
		return (a->u.i > b->u.i) - (a->u.i < b->u.i);
	}
}

static int fail(char *reason, size_t len, const char *msg)
{
	snprintf(reason, len, "%s", msg);
	return -1;
}

/* Text functions (expr_func.c has the arithmetic of time and casts). */
static int utf8_len(const char *s, uint32_t n)
{
	int k = 0;

	for (uint32_t i = 0; i < n; i++)
		k += ((unsigned char)s[i] & 0xC0) != 0x80;
	return k;
}

/* Byte offset of character index ci (0-based) in s, clamped to n. */
static uint32_t utf8_at(const char *s, uint32_t n, int64_t ci)
{
	uint32_t i = 0;

	if (ci <= 0)
		return 0;
	while (i < n) {
		i++;
		while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
		if (--ci == 0)
			break;
	}
	return i;
}

static bool in_set(char ch, const struct rec_value *set)
{
	if (set == NULL)
		return ch == ' ';
	return memchr(set->u.s.p, ch, set->u.s.len) != NULL;
}

/* The loop: expr_eval() of a program that is not one of the FAST_ ones. */
static __attribute__((noinline)) int
run(const struct expr_prog *prog, const struct rec_value *fields,
    struct expr_frame *frame, struct rec_value *out, char *reason,
    size_t reasonlen)
{
	struct rec_value *s = frame->slots;
	const struct einsn *code = prog->code;
	int pc, n = prog->ncode;

	scratch_reset(frame);
	/*
	 * The fields that stay in slots: a copy each, not a turn of the
	 * loop; the others are read where they are (fa, fb, fc).
	 */
	for (pc = 0; pc < prog->nloads; pc++)
		s[code[pc].dst] = fields[code[pc].a];
	pc = prog->start;
	while (pc < n) {
		const struct einsn *in = &code[pc++];
		struct rec_value *d = &s[in->dst];
		const struct rec_value *a = in->fa ? &fields[in->a] : &s[in->a];
		const struct rec_value *b = in->fb ? &fields[in->b] : &s[in->b];
		const struct rec_value *c = in->fc ? &fields[in->c] : &s[in->c];

		if (in->strict) {
			if (a->null | b->null | c->null) {
				d->null = true;
				continue;
			}
			d->null = false;
		}
		switch ((enum eop)in->op) {
		case EOP_LOAD:
			*d = fields[in->a];
			continue;
		case EOP_MOVE:
			*d = *a;
			continue;
		case EOP_SETNULL:
			d->null = true;
			continue;
		case EOP_JUMP:
			pc = (int)in->k;
			continue;
		case EOP_JUMP_IF_NOT_TRUE:
			if (a->null || !a->u.b)
				pc = (int)in->k;
			continue;
		case EOP_JUMP_IF_NOT_NULL:
			if (!a->null)
				pc = (int)in->k;
			continue;
		case EOP_AND_SC:
			if (!a->null && !a->u.b) {
				d->null = false;
				d->u.b = false;
				pc = (int)in->k;
			}
			continue;
		case EOP_OR_SC:
			if (!a->null && a->u.b) {
				d->null = false;
				d->u.b = true;
				pc = (int)in->k;
			}
			continue;
		case EOP_AND:
			if ((!a->null && !a->u.b) || (!b->null && !b->u.b)) {
				d->null = false;
				d->u.b = false;
			} else if (a->null || b->null) {
				d->null = true;
			} else {
				d->null = false;
				d->u.b = true;
			}
			continue;
		case EOP_OR:
			if ((!a->null && a->u.b) || (!b->null && b->u.b)) {
				d->null = false;
				d->u.b = true;
			} else if (a->null || b->null) {
				d->null = true;
			} else {
				d->null = false;
				d->u.b = false;
			}
			continue;
		case EOP_NOT:
			d->null = a->null;
			d->u.b = !a->u.b;
			continue;
		case EOP_ISNULL:
		case EOP_ISNOTNULL:
			d->null = false;
			d->u.b = a->null == (in->op == EOP_ISNULL);
			continue;
		case EOP_ISTRUE:
			d->null = false;
			d->u.b = !a->null && a->u.b;
			continue;
		case EOP_ISFALSE:
			d->null = false;
			d->u.b = !a->null && !a->u.b;
			continue;
		case EOP_NULLIF:
			*d = *a;
			if (!b->null && b->u.b)
				d->null = true;
			continue;
		case EOP_GREATEST:
		case EOP_LEAST:
			if (!a->null) {
				int r = d->null ? 0 : value_cmp(in->ta, in->sa, a, d);

				if (d->null || (in->op == EOP_GREATEST ? r > 0 : r < 0))
					*d = *a;
			}
			continue;
#define CMP(name, field, expr)                                                \
		case EOP_EQ_##name: d->u.b = (expr) == 0; continue;              \
		case EOP_NE_##name: d->u.b = (expr) != 0; continue;              \
		case EOP_LT_##name: d->u.b = (expr) < 0; continue;               \
		case EOP_LE_##name: d->u.b = (expr) <= 0; continue;              \
		case EOP_GT_##name: d->u.b = (expr) > 0; continue;               \
		case EOP_GE_##name: d->u.b = (expr) >= 0; continue;
		CMP(I, i, (a->u.i > b->u.i) - (a->u.i < b->u.i))
		CMP(F, f, (a->u.f > b->u.f) - (a->u.f < b->u.f))
		CMP(B, b, (int)a->u.b - (int)b->u.b)
		CMP(T, s, text_cmp(a, b))
		CMP(D, d, in->sa == in->sb
			  ? (rec_dec(a) > rec_dec(b)) - (rec_dec(a) < rec_dec(b))
			  : expr_dec_cmp(rec_dec(a), in->sa, rec_dec(b), in->sb))
#undef CMP
		case EOP_ADD_I:
			if (__builtin_add_overflow(a->u.i, b->u.i, &d->u.i))
				return fail(reason, reasonlen, "bigint out of range");
			continue;
		case EOP_SUB_I:
			if (__builtin_sub_overflow(a->u.i, b->u.i, &d->u.i))
				return fail(reason, reasonlen, "bigint out of range");
			continue;
		case EOP_MUL_I:
			if (__builtin_mul_overflow(a->u.i, b->u.i, &d->u.i))
				return fail(reason, reasonlen, "bigint out of range");
			continue;
		case EOP_DIV_I:
			if (b->u.i == 0)
				return fail(reason, reasonlen, "division by zero");
			if (b->u.i == -1) {
				if (a->u.i == INT64_MIN)
					return fail(reason, reasonlen, "bigint out of range");
				d->u.i = -a->u.i;
			} else {
				d->u.i = a->u.i / b->u.i;
			}
			continue;
		case EOP_MOD_I:
			if (b->u.i == 0)
				return fail(reason, reasonlen, "division by zero");
			d->u.i = b->u.i == -1 ? 0 : a->u.i % b->u.i;
			continue;
		case EOP_NEG_I:
		case EOP_ABS_I:
			if (a->u.i == INT64_MIN)
				return fail(reason, reasonlen, "bigint out of range");
			d->u.i = in->op == EOP_ABS_I && a->u.i >= 0 ? a->u.i : -a->u.i;
			continue;
		case EOP_ADD_F:
		case EOP_SUB_F:
		case EOP_MUL_F:
		case EOP_DIV_F: {
			double x = a->u.f, y = b->u.f, r;

			switch (in->op) {
			case EOP_ADD_F: r = x + y; break;
			case EOP_SUB_F: r = x - y; break;
			case EOP_MUL_F: r = x * y; break;
			default:
				if (y == 0)
					return fail(reason, reasonlen, "division by zero");
				r = x / y;
				break;
			}
			/* PostgreSQL's float8 checks: overflow and underflow. */
			if (isinf(r) && !isinf(x) && !isinf(y))
				return fail(reason, reasonlen, "value out of range: overflow");
			if (r == 0 && in->op == EOP_MUL_F && x != 0 && y != 0)
				return fail(reason, reasonlen, "value out of range: underflow");
			if (r == 0 && in->op == EOP_DIV_F && x != 0 && !isinf(y))
				return fail(reason, reasonlen, "value out of range: underflow");
			d->u.f = r;
			continue;
		}
		case EOP_NEG_F:
			d->u.f = -a->u.f;
			continue;
		case EOP_ABS_F:
			d->u.f = fabs(a->u.f);
			continue;
		case EOP_ROUND_F:
			d->u.f = rint(a->u.f);
			continue;
		case EOP_FLOOR_F:
			d->u.f = floor(a->u.f);
			continue;
		case EOP_CEIL_F:
			d->u.f = ceil(a->u.f);
			continue;
		case EOP_ADD_D:
		case EOP_SUB_D: {
			__int128 y = rec_dec(b), r;

			if (in->op == EOP_SUB_D)
				y = -y;
			if (expr_dec_add(rec_dec(a), in->sa, y, in->sb, in->sk, &r) < 0)
				return fail(reason, reasonlen, "numeric field overflow");
			rec_set_dec(d, r);
			continue;
		}
		case EOP_MUL_D: {
			__int128 r;

			if (expr_dec_mul(rec_dec(a), rec_dec(b),
					 in->sa + in->sb - in->sk, &r) < 0)
				return fail(reason, reasonlen, "numeric field overflow");
			rec_set_dec(d, r);
			continue;
		}
		case EOP_DIV_D:
		case EOP_MOD_D: {
			__int128 r;

			if (rec_dec(b) == 0)
				return fail(reason, reasonlen, "division by zero");
			if ((in->op == EOP_DIV_D
			     ? expr_dec_div_pg(rec_dec(a), in->sa, rec_dec(b), in->sb, in->sk, &r)
			     : expr_dec_mod(rec_dec(a), in->sa, rec_dec(b), in->sb, in->sk, &r)) < 0)
				return fail(reason, reasonlen, "numeric field overflow");
			rec_set_dec(d, r);
			continue;
		}
		case EOP_NEG_D:
			rec_set_dec(d, -rec_dec(a));
			continue;
		case EOP_ABS_D:
			rec_set_dec(d, rec_dec(a) < 0 ? -rec_dec(a) : rec_dec(a));
			continue;
		case EOP_ROUND_D:
		case EOP_FLOOR_D:
		case EOP_CEIL_D: {
			int mode = in->op == EOP_ROUND_D ? ROUND_HALF
				   : in->op == EOP_FLOOR_D ? ROUND_FLOOR : ROUND_CEIL;
			int64_t digits = in->k;
			__int128 v = rec_dec(a);

			if (digits < in->sa) {
				if (expr_dec_round(v, in->sa, (int)digits, mode, &v) < 0)
					return fail(reason, reasonlen, "numeric field overflow");
			} else if (in->sk > in->sa &&
				   __builtin_mul_overflow(v, dec_pow10(in->sk - in->sa), &v)) {
				return fail(reason, reasonlen, "numeric field overflow");
			}
			if (!dec_fits(v, DEC_MAX_PRECISION))
				return fail(reason, reasonlen, "numeric field overflow");
			rec_set_dec(d, v);
			continue;
		}
		case EOP_ADD_DATE:
		case EOP_SUB_DATE: {
			int64_t r;

			if ((in->op == EOP_ADD_DATE ? __builtin_add_overflow(a->u.i, b->u.i, &r)
			     : __builtin_sub_overflow(a->u.i, b->u.i, &r)) ||
			    r < -719162 || r > 2932896) /* 0001-01-01 .. 9999-12-31 */
				return fail(reason, reasonlen, "date out of range");
			d->u.i = r;
			continue;
		}
		case EOP_DIFF_DATE:
			d->u.i = a->u.i - b->u.i;
			continue;
		case EOP_LIKE:
			d->u.b = expr_like(a->u.s.p, a->u.s.len, b->u.s.p, b->u.s.len,
					   (int)in->k);
			continue;
		case EOP_CONCAT: {
			uint64_t len = (uint64_t)a->u.s.len + b->u.s.len;
			char *p;

			if (len > UINT32_MAX / 2)
				return fail(reason, reasonlen, "text too long");
			if ((p = expr_scratch(frame, len ? len : 1)) == NULL)
				return fail(reason, reasonlen, "out of memory");
			if (a->u.s.len)
				memcpy(p, a->u.s.p, a->u.s.len);
			if (b->u.s.len)
				memcpy(p + a->u.s.len, b->u.s.p, b->u.s.len);
			d->u.s.p = p;
			d->u.s.len = (uint32_t)len;
			continue;
		}
		case EOP_CAST: {
			struct rec_value v = *a;

			if (in->ta == REC_INT && in->tb == REC_DECIMAL && in->sk == 0 &&
			    in->pk >= 19) {
				rec_set_dec(d, a->u.i); /* an int meeting a decimal */
				continue;
			}

			if (expr_cast(frame, &frame->zone, in->ta, in->sa, in->tb, in->pk,
				      in->sk, &v, d, reason, reasonlen) < 0)
				return -1;
			continue;
		}
		case EOP_LOWER:
		case EOP_UPPER:
			if (expr_case_map(frame, in->op == EOP_UPPER, a->u.s.p,
					  a->u.s.len, d) < 0)
				return fail(reason, reasonlen, "out of memory");
			continue;
		case EOP_TRIM: {
			const struct rec_value *set = b != &s[SLOT_NONE] ? b : NULL;
			uint32_t lo = 0, hi = a->u.s.len;

			if (set && (utf8_len(set->u.s.p, set->u.s.len) != (int)set->u.s.len)) {
				/* Multi-byte characters in the set: trim whole characters. */
				bool again = true;

				while (again && lo < hi) {
					uint32_t e = utf8_at(a->u.s.p + lo, hi - lo, 1);

					again = in->k != 2 && memmem(set->u.s.p, set->u.s.len,
								     a->u.s.p + lo, e) != NULL;
					if (again)
						lo += e;
				}
				again = true;
				while (again && hi > lo) {
					uint32_t st = hi - 1;

					while (st > lo && ((unsigned char)a->u.s.p[st] & 0xC0) == 0x80)
						st--;
					again = in->k != 1 && memmem(set->u.s.p, set->u.s.len,
								     a->u.s.p + st, hi - st) != NULL;
					if (again)
						hi = st;
				}
			} else {
				if (in->k != 2)
					while (lo < hi && in_set(a->u.s.p[lo], set))
						lo++;
				if (in->k != 1)
					while (hi > lo && in_set(a->u.s.p[hi - 1], set))
						hi--;
			}
			d->u.s.p = a->u.s.p + lo;
			d->u.s.len = hi - lo;
			continue;
		}
		case EOP_LENGTH:
			d->u.i = utf8_len(a->u.s.p, a->u.s.len);
			continue;
		case EOP_SUBSTR: {
			int64_t start = b->u.i, end;
			uint32_t lo, hi;

			if (c != &s[SLOT_NONE]) {
				if (c->u.i < 0)
					return fail(reason, reasonlen, "negative substring length not allowed");
				if (__builtin_add_overflow(start, c->u.i, &end))
					end = INT64_MAX;
			} else {
				end = INT64_MAX;
			}
			if (start < 1)
				start = 1;
			if (end <= start) {
				d->u.s.p = a->u.s.p;
				d->u.s.len = 0;
				continue;
			}
			lo = utf8_at(a->u.s.p, a->u.s.len, start - 1);
			hi = end == INT64_MAX ? a->u.s.len
			     : lo + utf8_at(a->u.s.p + lo, a->u.s.len - lo, end - start);
			d->u.s.p = a->u.s.p + lo;
			d->u.s.len = hi - lo;
			continue;
		}
		case EOP_REPLACE: {
			const char *src = a->u.s.p, *hit;
			uint32_t left = a->u.s.len, nhit = 0;
			uint64_t len;
			char *p;

			if (b->u.s.len == 0 || a->u.s.len == 0) {
				*d = *a;
				continue;
			}
			for (const char *q = src; (hit = memmem(q, left - (uint32_t)(q - src),
							       b->u.s.p, b->u.s.len)) != NULL;
			     q = hit + b->u.s.len)
				nhit++;
			len = (uint64_t)a->u.s.len + (uint64_t)nhit * c->u.s.len -
			      (uint64_t)nhit * b->u.s.len;
			if (len > UINT32_MAX / 2)
				return fail(reason, reasonlen, "text too long");
			if ((p = expr_scratch(frame, len ? len : 1)) == NULL)
				return fail(reason, reasonlen, "out of memory");
			d->u.s.p = p;
			d->u.s.len = (uint32_t)len;
			for (const char *q = src;;) {
				hit = memmem(q, left - (uint32_t)(q - src), b->u.s.p, b->u.s.len);
				if (hit == NULL) {
					memcpy(p, q, left - (uint32_t)(q - src));
					break;
				}
				memcpy(p, q, (size_t)(hit - q));
				p += hit - q;
				memcpy(p, c->u.s.p, c->u.s.len);
				p += c->u.s.len;
				q = hit + b->u.s.len;
			}
			continue;
		}
		case EOP_SPLIT_PART: {
			int64_t k = c->u.i;
			const char *str = a->u.s.p, *end = str + a->u.s.len;
			const char *dl = b->u.s.p;
			uint32_t dlen = b->u.s.len;
			int64_t nparts = 1;

			if (k == 0)
				return fail(reason, reasonlen, "field position must not be zero");
			d->u.s.p = str;
			d->u.s.len = 0;
			if (dlen == 0 || a->u.s.len == 0) {
				if (a->u.s.len && (k == 1 || k == -1))
					*d = *a;
				continue;
			}
			for (const char *q = str; (q = memmem(q, (size_t)(end - q), dl, dlen)); q += dlen)
				nparts++;
			if (k < 0)
				k = nparts + k + 1;
			if (k < 1 || k > nparts)
				continue;
			{
				const char *q = str;

				for (int64_t i = 1; i < k; i++)
					q = (const char *)memmem(q, (size_t)(end - q), dl, dlen) + dlen;
				{
					const char *e = memmem(q, (size_t)(end - q), dl, dlen);

					d->u.s.p = q;
					d->u.s.len = (uint32_t)((e ? e : end) - q);
				}
			}
			continue;
		}
		case EOP_TRUNC_TS:
			d->u.i = expr_trunc_ts(&frame->zone, a->u.i, (int)in->k);
			continue;
		case EOP_TRUNC_DATE:
			d->u.i = expr_trunc_date(&frame->zone, a->u.i, (int)in->k);
			continue;
		case EOP_BUCKET_TS:
			d->u.i = expr_bucket_ts(&frame->zone, a->u.i, in->k, in->k2);
			continue;
		case EOP_BUCKET_DATE:
			if (in->tb == REC_DATE) {
				/* whole days or months: stays a date */
				int64_t r = expr_bucket_ts(NULL, a->u.i * 86400000000LL, in->k, in->k2);

				d->u.i = r / 86400000000LL - (r % 86400000000LL < 0);
			} else {
				d->u.i = expr_bucket_ts(&frame->zone, expr_trunc_date(&frame->zone, a->u.i, U_DAY),
							in->k, in->k2);
			}
			continue;
		case EOP_EXTRACT_TS:
			rec_set_dec(d, expr_extract_ts(&frame->zone, a->u.i, (int)in->k));
			continue;
		case EOP_EXTRACT_DATE:
			rec_set_dec(d, expr_extract_date(a->u.i, (int)in->k));
			continue;
		case EOP_STRFTIME: {
			int64_t us = in->tb == REC_DATE
				     ? expr_trunc_date(&frame->zone, b->u.i, U_DAY) : b->u.i;

			if (expr_strftime(frame, &frame->zone, a->u.s.p, a->u.s.len, us, d,
					  reason, reasonlen) < 0)
				return -1;
			continue;
		}
		default:
			return fail(reason, reasonlen, "internal error: bad instruction");
		}
	}
	*out = s[prog->result];
	return 0;
}

struct expr_simple expr_simple_of(const struct expr_prog *prog)
{
	struct expr_simple e = { .kind = EXPR_SIMPLE_NONE };
	const struct einsn *in = &prog->code[prog->start];
	static const enum expr_rel mirror[] = {
		EXPR_EQ, EXPR_NE, EXPR_GT, EXPR_GE, EXPR_LT, EXPR_LE,
	};
	int rel;

	switch (prog->fast) {
	case FAST_CMP_I:
	case FAST_CMP_F:
		/* One operand a field, the other a constant slot. */
		if (in->fa == in->fb)
			return e;
		rel = in->op - (prog->fast == FAST_CMP_I ? EOP_EQ_I : EOP_EQ_F);
		e.field = in->fa ? in->a : in->b;
		e.k = prog->init[in->fa ? in->b : in->a];
		if (e.k.null)
			return e;
		/* k REL field is field REL' k, REL' the mirror. */
		e.rel = in->fa ? (enum expr_rel)rel : mirror[rel];
		e.kind = prog->fast == FAST_CMP_I ? EXPR_SIMPLE_CMP_I
						  : EXPR_SIMPLE_CMP_F;
		return e;
	case FAST_TRUNC_TS:
		if (in->fa && in->k == U_DAY && prog->tz == NULL) {
			e.kind = EXPR_SIMPLE_DAY_UTC;
			e.field = in->a;
		}
		return e;
	default:
		return e;
	}
}

struct expr_simple_step expr_simple_step_of(struct expr_simple e, int out)
{
	struct expr_simple_step st = { .e = e, .out = out };

	if (out >= 0) {
		st.op = e.kind == EXPR_SIMPLE_DAY_UTC ? EXPR_STEP_DAY
						      : EXPR_STEP_SET;
		return st;
	}
	/* A where is a comparison: expr_simple_of() makes no other bool. */
	st.op = e.kind == EXPR_SIMPLE_CMP_F ? EXPR_STEP_WHERE_F
					    : EXPR_STEP_WHERE_I;
	st.holds = (unsigned)expr_rel_holds(e.rel, false, false) |
		   (unsigned)expr_rel_holds(e.rel, true, false) << 1 |
		   (unsigned)expr_rel_holds(e.rel, false, true) << 2;
	return st;
}

enum expr_steps_shape expr_steps_shape_of(const struct expr_simple_step *steps,
					  int n)
{
	if (n != 2 || steps[1].op != EXPR_STEP_DAY)
		return EXPR_STEPS_ANY;
	if (steps[0].op == EXPR_STEP_WHERE_F)
		return EXPR_STEPS_WHERE_F_DAY;
	if (steps[0].op == EXPR_STEP_WHERE_I)
		return EXPR_STEPS_WHERE_I_DAY;
	return EXPR_STEPS_ANY;
}

int expr_eval(const struct expr_prog *prog, const struct rec_value *fields,
	      struct expr_frame *frame, struct rec_value *out, char *reason,
	      size_t reasonlen)
{
	const struct einsn *in = &prog->code[prog->start];
	const struct rec_value *s = frame->slots, *a, *b;

	if (prog->fast == FAST_NONE)
		return run(prog, fields, frame, out, reason, reasonlen);
	/* One strict instruction over fields and constants (FAST_*). */
	a = in->fa ? &fields[in->a] : &s[in->a];
	b = in->fb ? &fields[in->b] : &s[in->b];
	out->null = a->null | b->null;
	if (out->null)
		return 0;
	switch (prog->fast) {
	case FAST_CMP_I:
		out->u.b = expr_rel_holds((enum expr_rel)(in->op - EOP_EQ_I), a->u.i < b->u.i,
				     a->u.i > b->u.i);
		break;
	case FAST_CMP_F:
		out->u.b = expr_rel_holds((enum expr_rel)(in->op - EOP_EQ_F), a->u.f < b->u.f,
				     a->u.f > b->u.f);
		break;
	case FAST_TRUNC_TS:
		out->u.i = expr_trunc_ts(&frame->zone, a->u.i, (int)in->k);
		break;
	default:
		out->u.i = expr_bucket_ts(&frame->zone, a->u.i, in->k, in->k2);
		break;
	}
	return 0;
}
