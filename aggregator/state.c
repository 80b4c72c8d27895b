/*
 * state.c - the aggregates' states (state.h).
 *
 * Invariants: a state's n counts what was folded into it, and every other
 * field is meaningful only when n > 0; an int sum is exact in 128 bits and
 * checked against the 64-bit range only when written, a decimal sum exact
 * in 128 bits and a carry and checked against 38 digits only when written,
 * so an overflow leaves no output at all.
 */
#include "state.h"

#include <math.h>
#include <string.h>

#include "../common/config_agg.h"
#include "../common/decimal.h"

/* Slots of a count_distinct set when its first value comes. */
#define DSET_INITIAL 4u

int state_dset_insert(struct arena *a, struct dset *s, bool text,
		      uint64_t hash, uint64_t bits, const unsigned char *p,
		      uint32_t len, bool copy)
{
	struct dslot *sl;
	uint32_t i;

	if (s->slots == NULL || (s->n + 1) * 2 > s->mask + 1) {
		uint32_t cap = s->slots == NULL ? DSET_INITIAL :
			       (s->mask + 1) * 2;
		struct dslot *ns = arena_calloc(a, sizeof(*ns) * cap);
		uint32_t k;

		if (ns == NULL || cap == 0)
			return -1;
		for (k = 0; s->slots != NULL && k <= s->mask; k++) {
			uint32_t j;

			if (!s->slots[k].used)
				continue;
			j = (uint32_t)s->slots[k].hash & (cap - 1);
			while (ns[j].used)
				j = (j + 1) & (cap - 1);
			ns[j] = s->slots[k];
		}
		/* The old slots stay in the arena: geometric, so <= 2x. */
		s->slots = ns;
		s->mask = cap - 1;
	}
	for (i = (uint32_t)hash & s->mask; s->slots[i].used;
	     i = (i + 1) & s->mask) {
		sl = &s->slots[i];
		if (sl->hash != hash)
			continue;
		if (text ? sl->len == len &&
				   (len == 0 || memcmp(sl->v.p, p, len) == 0) :
			   sl->v.bits == bits)
			return 0;
	}
	sl = &s->slots[i];
	if (text && copy && len > 0) {
		unsigned char *c = arena_alloc(a, len, 1);

		if (c == NULL)
			return -1;
		memcpy(c, p, len);
		p = c;
	}
	sl->hash = hash;
	sl->used = true;
	sl->len = len;
	if (text)
		sl->v.p = p;
	else
		sl->v.bits = bits;
	s->n++;
	return 0;
}

int state_add_dec(struct arena *ar, const struct st_agg *a, void *sp,
		  const struct rec_value *v)
{
	unsigned char b[16];

	if (a->st == ST_DSUM) {
		state_dsum_add(sp, rec_dec(v), 0);
	} else {
		/* A decimal in a set is its 16 bytes, as text is its bytes. */
		memcpy(b, &v->u.d.lo, 8);
		memcpy(b + 8, &v->u.d.hi, 8);
		if (state_dset_insert(ar, &((struct st_set *)sp)->set, true,
				      hash_bytes(b, 16), 0, b, 16, true) < 0)
			return -1;
	}
	((struct st_count *)sp)->n++;
	return 0;
}

int state_mm_set(struct arena *a, enum rec_type t, struct st_mm *s,
		 const struct rec_value *v, bool copy)
{
	uint32_t len;

	switch (t) {
	case REC_TEXT:
		break;
	case REC_FLOAT:
		s->u.f = v->u.f;
		return 0;
	case REC_BOOL:
		s->u.b = v->u.b;
		return 0;
	case REC_INT:
	case REC_TIMESTAMP:
	case REC_DATE:
		s->u.i = v->u.i;
		return 0;
	case REC_DECIMAL:
		s->u.d.lo = v->u.d.lo;
		s->u.d.hi = v->u.d.hi;
		return 0;
	}
	len = v->u.s.len;
	if (!copy) {
		s->u.s.p = v->u.s.p;
		s->u.s.len = len;
		s->u.s.cap = 0;
		return 0;
	}
	if (len > s->u.s.cap || (len > 0 && s->u.s.p == NULL)) {
		uint32_t cap = s->u.s.cap * 2 > len ? s->u.s.cap * 2 : len;
		char *p;

		cap = cap < 16 ? 16 : cap;
		p = arena_alloc(a, cap, 1);
		if (p == NULL)
			return -1;
		s->u.s.p = p;
		s->u.s.cap = cap;
	}
	if (len > 0)
		memcpy((char *)s->u.s.p, v->u.s.p, len);
	s->u.s.len = len;
	return 0;
}

int state_combine(struct arena *ar, const struct st_agg *a,
		  struct group *dst, const struct group *src)
{
	void *dp = STATE(dst, a);
	const void *sp = STATE(src, a);
	int64_t *dn = dp;
	const int64_t *sn = sp;

	if (*sn == 0)
		return 0;
	switch (a->st) {
	case ST_VAR:
	case ST_PCT:
	case ST_ARG:
		return state_combine_stat(ar, a, dp, sp);
	case ST_COUNT:
		break;
	case ST_ISUM: {
		struct st_isum *d = dp;
		const struct st_isum *s = sp;
		__int128 x, y;

		memcpy(&x, d->sum, sizeof(x));
		memcpy(&y, s->sum, sizeof(y));
		x += y;
		memcpy(d->sum, &x, sizeof(x));
		break;
	}
	case ST_DSUM: {
		const struct st_dsum *s = sp;
		__int128 y;

		memcpy(&y, s->sum, sizeof(y));
		state_dsum_add(dp, y, s->carry);
		break;
	}
	case ST_FSUM:
		if (fsum_merge(&((struct st_fsum *)dp)->sum,
			       &((const struct st_fsum *)sp)->sum, ar) < 0)
			return -1;
		break;
	case ST_MM: {
		struct st_mm *d = dp;
		const struct st_mm *s = sp;
		struct rec_value sv = state_mm_value(a->ftype, s);

		if (state_mm_beats(a, d, &sv))
			state_mm_set(ar, a->ftype, d, &sv, false);
		break;
	}
	case ST_SET:
	case ST_SET_DEC: {
		struct st_set *d = dp;
		const struct st_set *s = sp;
		uint32_t k;

		for (k = 0; k <= s->set.mask; k++) {
			const struct dslot *sl = &s->set.slots[k];

			if (sl->used &&
			    state_dset_insert(ar, &d->set,
					      a->ftype == REC_TEXT ||
						      a->st == ST_SET_DEC,
					      sl->hash,
					      sl->v.bits, sl->v.p, sl->len,
					      false) < 0)
				return -1;
		}
		break;
	}
	}
	*dn += *sn;
	return 0;
}

/* Bytes of the state of an aggregate of this kind. */
static size_t state_size(enum st_kind k)
{
	switch (k) {
	case ST_COUNT:
		return sizeof(struct st_count);
	case ST_ISUM:
		return sizeof(struct st_isum);
	case ST_DSUM:
		return sizeof(struct st_dsum);
	case ST_FSUM:
		return sizeof(struct st_fsum);
	case ST_MM:
		return sizeof(struct st_mm);
	case ST_SET:
	case ST_SET_DEC:
		return sizeof(struct st_set);
	case ST_VAR:
		return sizeof(struct st_var);
	case ST_PCT:
		return sizeof(struct st_pct);
	case ST_ARG:
		return sizeof(struct st_arg);
	}
	return 0;
}

size_t state_resolve(const struct cfg *cfg, const struct cfg_agg *c,
		     struct st_agg *a, size_t off)
{
	a->kind = c->kind;
	a->field = c->kind == CFG_AGG_COUNT_STAR ? -1 : c->field;
	a->ftype = a->field >= 0 ? cfg->schema.fields[a->field].type : REC_INT;
	a->fscale = a->field >= 0 ? cfg->schema.fields[a->field].scale : 0;
	a->oprec = a->oscale = 0;
	a->field2 = c->field2;
	a->ftype2 = c->field2 >= 0 ? cfg->schema.fields[c->field2].type : REC_INT;
	a->p = c->p;
	a->filter = c->filter;
	switch (a->kind) {
	case CFG_AGG_STDDEV:
	case CFG_AGG_STDDEV_POP:
	case CFG_AGG_VARIANCE:
	case CFG_AGG_VAR_POP:
		a->st = ST_VAR;
		a->natural = REC_FLOAT;
		break;
	case CFG_AGG_PERCENTILE:
		a->st = ST_PCT;
		a->natural = REC_FLOAT;
		pspill_set_budget(cfg->memory);
		break;
	case CFG_AGG_ARG_MIN:
	case CFG_AGG_ARG_MAX:
		a->st = ST_ARG;
		a->natural = a->ftype;
		break;
	case CFG_AGG_SUM:
	case CFG_AGG_AVG:
		/* int, timestamp and bool sum exactly; float too (fsum.h) */
		a->st = a->ftype == REC_FLOAT ? ST_FSUM : ST_ISUM;
		a->natural = a->kind == CFG_AGG_AVG || a->st == ST_FSUM ?
				     REC_FLOAT :
				     REC_INT;
		if (a->ftype == REC_DECIMAL) {
			a->st = ST_DSUM;
			a->natural = REC_DECIMAL;
		}
		break;
	case CFG_AGG_MIN:
	case CFG_AGG_MAX:
		a->st = ST_MM;
		a->natural = a->ftype;
		break;
	case CFG_AGG_COUNT_DISTINCT:
		a->st = a->ftype == REC_DECIMAL ? ST_SET_DEC : ST_SET;
		a->natural = REC_INT;
		break;
	case CFG_AGG_COUNT_STAR:
	case CFG_AGG_COUNT:
		a->st = ST_COUNT;
		a->natural = REC_INT;
		break;
	}
	if (a->natural == REC_DECIMAL) {
		/* Its precision and scale by the config's one rule. */
		struct cfg_agg r = *c;

		(void)cfg_agg_result_type(&r, &cfg->schema.fields[a->field]);
		a->oprec = r.prec;
		a->oscale = r.scale;
	}
	/* The config's type wins where the value can follow it. */
	a->otype = c->type == a->natural ||
				   (c->type == REC_FLOAT &&
				    (a->natural == REC_INT ||
				     a->natural == REC_DECIMAL)) ?
			   c->type :
			   a->natural;
	a->off = off;
	return state_size(a->st);
}

/* The number of significant bits of v (0 for 0). */
static int bit_length(unsigned __int128 v)
{
	uint64_t hi = (uint64_t)(v >> 64);

	if (hi != 0)
		return 128 - __builtin_clzll(hi);
	return (uint64_t)v == 0 ? 0 : 64 - __builtin_clzll((uint64_t)v);
}

/*
 * avg of an exact integer sum, rounded once: sum / n to the nearest
 * double (ties to even), as SQL's avg over numeric then cast rounds it.
 * The quotient is taken to 55-57 bits with a sticky bit for the rest,
 * and the one conversion of that integer to double rounds it.
 */
static double avg_int(__int128 sum, int64_t n)
{
	const __int128 exact = (__int128)1 << 53;
	unsigned __int128 a, q;
	uint64_t b;
	bool sticky;
	int shift;
	double d;

	if (sum > -exact && sum < exact && n < ((int64_t)1 << 53))
		return (double)(int64_t)sum / (double)n;
	a = sum < 0 ? -(unsigned __int128)sum : (unsigned __int128)sum;
	b = (uint64_t)n;
	/* a * 2^shift / b has 56 or 57 bits: a << shift stays under 2^120 */
	shift = 56 - (bit_length(a) - bit_length(b));
	if (shift >= 0) {
		a <<= shift;
		q = a / b;
		sticky = a % b != 0;
	} else {
		q = a / b;
		sticky = a % b != 0 ||
			 (q & (((unsigned __int128)1 << -shift) - 1)) != 0;
		q >>= -shift;
	}
	d = ldexp((double)((uint64_t)q | (sticky ? 1u : 0u)), -shift);
	return sum < 0 ? -d : d;
}

/* The magnitude of a 192-bit value (hi:lo, two's complement) as 3 words. */
static bool mag192(int64_t hi, __int128 lo, uint64_t w[3])
{
	unsigned __int128 l = (unsigned __int128)lo;
	uint64_t h = (uint64_t)hi;
	bool neg = hi < 0;

	if (neg) {
		/* -(h:l): invert every bit and add one */
		l = ~l + 1;
		h = ~h + (l == 0 ? 1 : 0);
	}
	w[0] = (uint64_t)l;
	w[1] = (uint64_t)(l >> 64);
	w[2] = h;
	return neg;
}

/*
 * The average of a decimal sum (struct st_dsum's sum and carry) over n
 * values at scale s_in, at scale s_out, rounded half away from zero.
 * DEC_OK or DEC_OVERFLOW.  With no carry it is dec_avg(); else the sum is
 * divided first (q, r: |sum| = q n + r), and q + r/n rounds as q and r/n
 * apart, both of the sum's sign.
 */
static enum dec_status dsum_avg(__int128 sum, int64_t carry, int64_t n,
				int s_in, int s_out, __int128 *out)
{
	/* The 192-bit value's top word: carry, less one if sum is negative. */
	int64_t hi = carry + (sum < 0 ? -1 : 0);
	unsigned __int128 rem = 0, q;
	uint64_t w[3], qw[3];
	__int128 frac, whole;
	bool neg;
	int i;

	if (carry == 0)
		return dec_avg(sum, n, s_in, s_out, out);
	neg = mag192(hi, sum, w);
	for (i = 2; i >= 0; i--) {
		unsigned __int128 x = (rem << 64) | w[i];

		qw[i] = (uint64_t)(x / (uint64_t)n);
		rem = x % (uint64_t)n;
	}
	q = ((unsigned __int128)qw[1] << 64) | qw[0];
	if (qw[2] != 0 || q >= (unsigned __int128)dec_pow10(DEC_MAX_PRECISION))
		return DEC_OVERFLOW;
	if (dec_avg((__int128)rem, n, s_in, s_out, &frac) != DEC_OK ||
	    __builtin_mul_overflow((__int128)q, dec_pow10(s_out - s_in),
				   &whole) ||
	    __builtin_add_overflow(whole, frac, &whole) ||
	    !dec_fits(whole, DEC_MAX_PRECISION))
		return DEC_OVERFLOW;
	*out = neg ? -whole : whole;
	return DEC_OK;
}

/* A decimal sum's or average's result; false when it has over 38 digits. */
static bool dsum_result(const struct st_agg *a, const struct st_dsum *s,
			__int128 *out)
{
	__int128 sum;

	memcpy(&sum, s->sum, sizeof(sum));
	if (a->kind == CFG_AGG_AVG)
		return dsum_avg(sum, s->carry, s->n, a->fscale, a->oscale,
				out) == DEC_OK;
	*out = sum;
	return s->carry == 0 && dec_fits(sum, DEC_MAX_PRECISION);
}

void state_result(const struct st_agg *a, const struct group *g,
		  struct rec_value *out)
{
	const void *sp = STATE(g, a);
	int64_t n = *(const int64_t *)sp;
	__int128 sum;

	memset(out, 0, sizeof(*out));
	if (n == 0 && a->kind != CFG_AGG_COUNT_STAR &&
	    a->kind != CFG_AGG_COUNT && a->kind != CFG_AGG_COUNT_DISTINCT) {
		out->null = true; /* SQL: no value, no sum, avg, min, max */
		return;
	}
	switch (a->kind) {
	case CFG_AGG_STDDEV:
	case CFG_AGG_STDDEV_POP:
	case CFG_AGG_VARIANCE:
	case CFG_AGG_VAR_POP:
	case CFG_AGG_PERCENTILE:
	case CFG_AGG_ARG_MIN:
	case CFG_AGG_ARG_MAX:
		state_result_stat(a, sp, out);
		return;
	case CFG_AGG_COUNT_STAR:
	case CFG_AGG_COUNT:
		out->u.i = n;
		break;
	case CFG_AGG_COUNT_DISTINCT:
		out->u.i = ((const struct st_set *)sp)->set.n;
		break;
	case CFG_AGG_SUM:
	case CFG_AGG_AVG:
		if (a->st == ST_FSUM) {
			const struct fsum *s = &((const struct st_fsum *)sp)->sum;

			out->u.f = a->kind == CFG_AGG_SUM ? fsum_value(s)
							  : fsum_avg(s, (uint64_t)n);
			break;
		}
		if (a->st == ST_DSUM) {
			(void)dsum_result(a, sp, &sum); /* checked before */
			rec_set_dec(out, sum);
			break;
		}
		memcpy(&sum, ((const struct st_isum *)sp)->sum, sizeof(sum));
		if (a->kind == CFG_AGG_SUM)
			out->u.i = (int64_t)sum; /* range checked before */
		else
			out->u.f = avg_int(sum, n);
		break;
	case CFG_AGG_MIN:
	case CFG_AGG_MAX:
		*out = state_mm_value(a->ftype, sp);
		break;
	}
	if (a->otype == REC_FLOAT && a->natural == REC_DECIMAL && !out->null)
		out->u.f = dec_to_double(rec_dec(out), a->oscale);
	else if (a->otype == REC_FLOAT && a->natural != REC_FLOAT)
		out->u.f = (double)out->u.i;
}

bool state_fits(const struct st_agg *a, const struct group *g)
{
	__int128 sum;

	if (a->st == ST_DSUM)
		return ((const struct st_dsum *)STATE(g, a))->n == 0 ||
		       dsum_result(a, STATE(g, a), &sum);
	if (a->kind != CFG_AGG_SUM || a->st != ST_ISUM)
		return true;
	memcpy(&sum, ((const struct st_isum *)STATE(g, a))->sum, sizeof(sum));
	return sum >= INT64_MIN && sum <= INT64_MAX;
}

const char *state_func_name(enum cfg_agg_kind k)
{
	switch (k) {
	case CFG_AGG_COUNT_STAR:
	case CFG_AGG_COUNT:
		return "count";
	case CFG_AGG_SUM:
		return "sum";
	case CFG_AGG_AVG:
		return "avg";
	case CFG_AGG_MIN:
		return "min";
	case CFG_AGG_MAX:
		return "max";
	case CFG_AGG_COUNT_DISTINCT:
		return "count_distinct";
	case CFG_AGG_STDDEV:
		return "stddev";
	case CFG_AGG_STDDEV_POP:
		return "stddev_pop";
	case CFG_AGG_VARIANCE:
		return "variance";
	case CFG_AGG_VAR_POP:
		return "var_pop";
	case CFG_AGG_PERCENTILE:
		return "percentile";
	case CFG_AGG_ARG_MIN:
		return "arg_min";
	case CFG_AGG_ARG_MAX:
		return "arg_max";
	}
	return "?";
}
