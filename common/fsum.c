/*
 * fsum.c - the exact sum of doubles, rounded once (fsum.h).
 *
 * The wide form is a fixed-point integer in base 2^32 whose digit 0 has
 * the weight 2^-1074 (the least subnormal): every finite double is an
 * integer of at most 53 bits times a power of two no smaller than that,
 * so it adds into the array exactly.  Digits are int64_t and take the
 * pieces of many values (each piece below 2^32 in magnitude) before their
 * carries must be passed up: fsum_wide counts the adds and normalises
 * (every digit in [0, 2^32), the top one signed) well before a digit
 * could overflow.  W_DIGITS covers 2^1024 and 64 bits of carries more.
 *
 * Rounding reads the exact value as a non-negative digit string D times
 * 2^S and a sign, keeps the 53 bits below its top bit (fewer where the
 * result is subnormal), and rounds half to even on the bits below, and on
 * a "sticky" remainder of a division for an average.  ldexp() then
 * scales the 53-bit integer exactly, or overflows to an infinity.
 */
#include "fsum.h"

#include <math.h>

#define W_BASE 1074   /* digit 0's weight is 2^-W_BASE */
#define W_DIGITS 70   /* 2,240 bits: 2^-1074 .. 2^1166 */
#define W_PENDING_MAX (1u << 28) /* adds between two normalisations */
#define AVG_EXTRA 6   /* digits below the sum's last when dividing */

_Static_assert(3 + W_DIGITS * 8 <= FSUM_SAVE_MAX, "FSUM_SAVE_MAX too small");

struct fsum_wide {
	int64_t c[W_DIGITS];
	uint32_t pending;  /* adds since the last normalisation */
};

/* Pass every digit's carry up: digits in [0, 2^32), the top one signed. */
static void wide_normalise(struct fsum_wide *w)
{
	for (int i = 0; i < W_DIGITS - 1; i++) {
		int64_t carry = w->c[i] >> 32; /* floor, also when negative */

		w->c[i] -= carry * ((int64_t)1 << 32);
		w->c[i + 1] += carry;
	}
	w->pending = 0;
}

/*
 * Add (neg ? -mag : mag) * 2^(pos - W_BASE); pos >= 0 and the top bit of
 * mag at pos + 127 at most, which every caller's value keeps within the
 * array.
 */
static void wide_add(struct fsum_wide *w, unsigned __int128 mag, int pos,
		     bool neg)
{
	int i = pos >> 5;
	unsigned sh = (unsigned)pos & 31u;

	for (int k = 0; mag != 0; k++, mag >>= 32) {
		uint64_t v = (uint64_t)(mag & 0xffffffffu) << sh;
		int64_t lo = (int64_t)(v & 0xffffffffu);
		int64_t hi = (int64_t)(v >> 32);

		if (neg) {
			w->c[i + k] -= lo;
			w->c[i + k + 1] -= hi;
		} else {
			w->c[i + k] += lo;
			w->c[i + k + 1] += hi;
		}
	}
	if (++w->pending >= W_PENDING_MAX)
		wide_normalise(w);
}

/* The signed integer m (|m| < 2^127) times 2^e into w. */
static void wide_add_signed(struct fsum_wide *w, __int128 m, int e)
{
	bool neg = m < 0;
	unsigned __int128 mag = neg ? -(unsigned __int128)m
				    : (unsigned __int128)m;

	wide_add(w, mag, e + W_BASE, neg);
}

/*
 * Split a finite nonzero double into m * 2^e, |m| < 2^53: its significand
 * as it lies, trailing zeros kept, so that the unit of a sum is the least
 * of its values' units as fsum_add()'s inline path reads them.
 */
static void decompose(double x, int64_t *m, int *e)
{
	uint64_t bits;
	int ex;
	int64_t mm;

	memcpy(&bits, &x, sizeof bits);
	ex = (int)((bits >> 52) & 0x7ff);
	mm = (int64_t)(bits & 0xfffffffffffffull);
	if (ex == 0) {
		ex = 1;                 /* subnormal: no hidden bit */
	} else {
		mm |= (int64_t)0x10000000000000ull;
	}
	ex -= 1075;
	*m = bits >> 63 ? -mm : mm;
	*e = ex;
}

/* Bits in |v|. */
static int bitlen128(__int128 v)
{
	unsigned __int128 u = v < 0 ? -(unsigned __int128)v
				    : (unsigned __int128)v;
	uint64_t hi = (uint64_t)(u >> 64), lo = (uint64_t)u;

	if (hi)
		return 128 - __builtin_clzll(hi);
	return lo ? 64 - __builtin_clzll(lo) : 0;
}

/*
 * Bring the narrow sum s and m * 2^e (|m| < 2^127) onto one weight and add
 * them, if the result stays below 2^125 in magnitude.  Returns whether it
 * did.
 */
static bool narrow_add(struct fsum *s, __int128 m, int e)
{
	int lsb, la, lm;

	if (m == 0)
		return true;
	if (fsum_acc(s) == 0) {
		if (bitlen128(m) > 123)
			return false;
		fsum_set_acc(s, m);
		s->lsb = e;
		return true;
	}
	lsb = e < s->lsb ? e : s->lsb;
	la = bitlen128(fsum_acc(s)) + (s->lsb - lsb);
	lm = bitlen128(m) + (e - lsb);
	if (la > 123 || lm > 123)
		return false;
	fsum_set_acc(s, fsum_acc(s) * ((__int128)1 << (s->lsb - lsb)) +
			       m * ((__int128)1 << (e - lsb)));
	s->lsb = lsb;
	return true;
}

/* Move the narrow sum into a new wide form.  Returns 0, or -1. */
static int go_wide(struct fsum *s, struct arena *ar)
{
	struct fsum_wide *w = arena_calloc(ar, sizeof *w);

	if (!w)
		return -1;
	if (s->flags & FSUM_USED)
		wide_add_signed(w, fsum_acc(s), s->lsb);
	s->wide = w;
	fsum_set_acc(s, 0);
	s->flags &= (uint16_t)~FSUM_USED;
	return 0;
}

/* Add m * 2^e, |m| < 2^127, to whichever form s is in.  Returns 0, or -1. */
static int add_exact(struct fsum *s, __int128 m, int e, struct arena *ar)
{
	if (s->wide) {
		wide_add_signed(s->wide, m, e);
		return 0;
	}
	if (!(s->flags & FSUM_USED)) {
		fsum_set_acc(s, m);
		s->lsb = e;
		s->flags |= FSUM_USED;
		return 0;
	}
	if (narrow_add(s, m, e))
		return 0;
	if (go_wide(s, ar) < 0)
		return -1;
	wide_add_signed(s->wide, m, e);
	return 0;
}

/*
 * fsum_add()'s two commonest misses, taken first: the first value of a sum,
 * and a value with a finer unit than the sum's (the sum shifted up to it,
 * when that keeps it below 2^123: what narrow_add() would do).  With many
 * groups every group's first value, and about every other value after it,
 * came here; the checks below then cost ~100 instructions a value.  Kept
 * out of fsum_add() itself, whose window path they would lengthen.
 * Returns whether x was added.
 */
static bool add_normal_quick(struct fsum *s, double x)
{
	uint64_t bits;
	int64_t m;
	int e, d;
	__int128 acc;

	memcpy(&bits, &x, sizeof bits);
	e = (int)((bits >> 52) & 0x7ff);
	if ((unsigned)e - 1u >= 0x7feu || s->wide)
		return false;
	decompose(x, &m, &e);
	if (!(s->flags & FSUM_USED)) {
		fsum_set_acc(s, m);
		s->lsb = e;
		s->flags |= FSUM_USED;
		return true;
	}
	d = e - s->lsb;
	acc = fsum_acc(s);
	/* |acc| < 2^59: shifted by up to 63 and added, below 2^123. */
	if (d >= 0 || d < -63 ||
	    (unsigned __int128)(acc + ((__int128)1 << 59)) >=
		    (unsigned __int128)1 << 60)
		return false;
	fsum_set_acc(s, (__int128)(((unsigned __int128)acc << -d) +
				   (unsigned __int128)(__int128)m));
	s->lsb = e;
	return true;
}

int fsum_add_slow(struct fsum *s, double x, struct arena *ar)
{
	int64_t m;
	int e;

	if (add_normal_quick(s, x))
		return 0;
	if (isnan(x)) {
		s->flags |= FSUM_NAN;
		return 0;
	}
	if (isinf(x)) {
		s->flags |= x > 0 ? FSUM_POS_INF : FSUM_NEG_INF;
		return 0;
	}
	if (x == 0) {
		s->flags |= signbit(x) ? FSUM_NEG_ZERO : FSUM_POS_ZERO;
		return 0;
	}
	decompose(x, &m, &e);
	return add_exact(s, m, e, ar);
}

int fsum_merge(struct fsum *a, const struct fsum *b, struct arena *ar)
{
	a->flags |= b->flags & (FSUM_POS_INF | FSUM_NEG_INF | FSUM_NAN |
				FSUM_NEG_ZERO | FSUM_POS_ZERO);
	if (b->wide) {
		if (!a->wide && go_wide(a, ar) < 0)
			return -1;
		wide_normalise(a->wide);
		/* a's digits below 2^32, b's below 2^61: no overflow. */
		for (int i = 0; i < W_DIGITS; i++)
			a->wide->c[i] += b->wide->c[i];
		wide_normalise(a->wide);
		return 0;
	}
	if (!(b->flags & FSUM_USED))
		return 0;
	return add_exact(a, fsum_acc(b), b->lsb, ar);
}

int fsum_pieces(const struct fsum *s, __int128 *m, int *lsb)
{
	struct fsum_wide w;
	bool neg;
	int n = 0;

	if (!s->wide) {
		if (!(s->flags & FSUM_USED) || fsum_acc(s) == 0)
			return 0;
		m[0] = fsum_acc(s);
		lsb[0] = s->lsb;
		return 1;
	}
	w = *s->wide;
	wide_normalise(&w);
	neg = w.c[W_DIGITS - 1] < 0;
	if (neg) {
		for (int i = 0; i < W_DIGITS; i++)
			w.c[i] = -w.c[i];
		wide_normalise(&w);
	}
	/*
	 * Three digits a piece: 96 bits.  A finite sum is below 2^1150, so
	 * digit 68 on is zero and the last piece's weight is 2^1038.
	 */
	for (int i = 0; i + 2 < W_DIGITS - 1; i += 3) {
		__int128 v = (__int128)w.c[i] | (__int128)w.c[i + 1] << 32 |
			     (__int128)w.c[i + 2] << 64;

		if (v == 0)
			continue;
		m[n] = neg ? -v : v;
		lsb[n++] = 32 * i - W_BASE;
	}
	return n;
}

/* --- rounding ------------------------------------------------------- */

/* Bits [pos, pos + 64) of the n-digit string d (bits past the end: 0). */
static uint64_t bits_at(const uint32_t *d, int n, int pos)
{
	int i = pos >> 5;
	unsigned sh = (unsigned)pos & 31u;
	unsigned __int128 v = 0;

	for (int k = 2; k >= 0; k--) {
		v <<= 32;
		if (i + k < n)
			v |= d[i + k];
	}
	return (uint64_t)(v >> sh);
}

/* Whether any bit of d below pos is set. */
static bool any_below(const uint32_t *d, int pos)
{
	int i = pos >> 5;

	for (int k = 0; k < i; k++)
		if (d[k])
			return true;
	return (pos & 31) && (d[i] & ((1u << (pos & 31)) - 1u));
}

/*
 * The value (neg ? -1 : 1) * (D + sticky) * 2^S, where D is the n-digit
 * string d and sticky (0 or a fraction below 1) only says whether there
 * is more below D's last bit, rounded to the nearest double, ties to even.
 * An exact zero is +0.0.
 */
static double round_digits(const uint32_t *d, int n, int S, bool sticky,
			   bool neg)
{
	int top = n - 1, len, t;
	uint64_t w, mant;
	bool rest;
	double r;

	while (top >= 0 && d[top] == 0)
		top--;
	if (top < 0)
		return sticky && neg ? -0.0 : 0.0;
	len = top * 32 + (32 - __builtin_clz(d[top]));
	t = len - 53;
	if (t < -1074 - S)
		t = -1074 - S;   /* subnormal: fewer bits */
	if (t <= 0) {
		/* Fits as it is (sticky is 0 here: see AVG_EXTRA). */
		mant = bits_at(d, n, 0) & ((1ull << len) - 1u);
		r = ldexp((double)mant, S);
		return neg ? -r : r;
	}
	w = bits_at(d, n, t - 1) & ((1ull << 54) - 1u);
	mant = w >> 1;
	rest = sticky || any_below(d, t - 1);
	if ((w & 1) && (rest || (mant & 1)))
		mant++;
	r = ldexp((double)mant, S + t);
	return neg ? -r : r;
}

/* Specials decide alone: NaN, or an infinity.  Returns true if they do. */
static bool special(const struct fsum *s, double *out)
{
	bool pos = s->flags & FSUM_POS_INF, ng = s->flags & FSUM_NEG_INF;

	if ((s->flags & FSUM_NAN) || (pos && ng)) {
		*out = NAN;
		return true;
	}
	if (pos || ng) {
		*out = pos ? INFINITY : -INFINITY;
		return true;
	}
	return false;
}

/*
 * The exact sum as a sign and non-negative digits d[extra..] (the extra
 * lowest digits zero) times 2^*S.  Returns the count of digits.
 */
static int to_digits(const struct fsum *s, uint32_t *d, int extra, int *S,
		     bool *neg)
{
	if (s->wide) {
		struct fsum_wide w = *s->wide;

		wide_normalise(&w);
		*neg = w.c[W_DIGITS - 1] < 0;
		if (*neg) {
			for (int i = 0; i < W_DIGITS; i++)
				w.c[i] = -w.c[i];
			wide_normalise(&w);
		}
		for (int i = 0; i < W_DIGITS; i++)
			d[extra + i] = (uint32_t)w.c[i];
		*S = -W_BASE - 32 * extra;
		return extra + W_DIGITS;
	}
	{
		unsigned __int128 mag;

		__int128 acc = fsum_acc(s);

		*neg = acc < 0;
		mag = *neg ? -(unsigned __int128)acc : (unsigned __int128)acc;
		for (int i = 0; i < 4; i++, mag >>= 32)
			d[extra + i] = (uint32_t)mag;
		*S = ((s->flags & FSUM_USED) ? s->lsb : 0) - 32 * extra;
		return extra + 4;
	}
}

/* Whether every value added was -0.0 (and at least one was). */
static bool only_neg_zeros(const struct fsum *s)
{
	return s->flags == FSUM_NEG_ZERO && !s->wide;
}

/*
 * fsum_value() of a narrow sum whose magnitude fits 64 bits and whose unit
 * 2^lsb is a normal double: converting the integer rounds it once to 53
 * bits (to nearest, ties to even, as round_digits() does), and scaling by
 * 2^lsb is exact, so the rounding commutes with it.  The result is at least
 * 2^-1022 (the magnitude is at least 1), never subnormal; one too large
 * overflows to an infinity of its sign, as round_digits()'s ldexp() does.
 * Returns false for everything else (zero, the wide form, 128-bit
 * magnitudes, lower units), which round_digits() takes: that path was 225
 * instructions a value, the most of writing a float sum's row.
 */
static bool value_fast(const struct fsum *s, double *out)
{
	__int128 acc = fsum_acc(s);
	unsigned __int128 mag;
	uint64_t bits;
	double r, scale;

	if (s->wide || acc == 0 ||
	    (s->flags & ~(FSUM_POS_ZERO | FSUM_NEG_ZERO)) != FSUM_USED)
		return false;
	mag = acc < 0 ? -(unsigned __int128)acc : (unsigned __int128)acc;
	if (mag >> 64 != 0 || s->lsb < -1022 || s->lsb > 1023)
		return false;
	bits = (uint64_t)(s->lsb + 1023) << 52;
	memcpy(&scale, &bits, sizeof scale);
	r = (double)(uint64_t)mag * scale;
	*out = acc < 0 ? -r : r;
	return true;
}

double fsum_value(const struct fsum *s)
{
	uint32_t d[W_DIGITS];
	double r;
	int n, S;
	bool neg;

	if (value_fast(s, &r))
		return r;
	if (special(s, &r))
		return r;
	if (only_neg_zeros(s))
		return -0.0;
	n = to_digits(s, d, 0, &S, &neg);
	return round_digits(d, n, S, false, neg);
}

double fsum_avg(const struct fsum *s, uint64_t n)
{
	uint32_t d[AVG_EXTRA + W_DIGITS] = {0};
	unsigned __int128 rem = 0;
	double r;
	int nd, S;
	bool neg;

	if (special(s, &r))
		return r;
	if (only_neg_zeros(s))
		return -0.0;
	/*
	 * AVG_EXTRA zero digits below the sum give the quotient at least
	 * 6 * 32 - 64 more bits than the sum has, so more than the 54 that
	 * rounding reads: the remainder is only ever a sticky bit.
	 */
	nd = to_digits(s, d, AVG_EXTRA, &S, &neg);
	for (int i = nd - 1; i >= 0; i--) {
		unsigned __int128 cur = (rem << 32) | d[i];

		d[i] = (uint32_t)(cur / n);
		rem = cur % n;
	}
	return round_digits(d, nd, S, rem != 0, neg);
}

/* --- saving and loading (partial.c) ------------------------------------ */

size_t fsum_save(const struct fsum *s, unsigned char *out)
{
	uint16_t flags = s->flags;
	size_t n = 3;

	memcpy(out, &flags, 2);
	if (s->wide) {
		struct fsum_wide w = *s->wide;

		/* Normalised, so that one value is one string of bytes. */
		wide_normalise(&w);
		out[2] = 2;
		memcpy(out + n, w.c, sizeof w.c);
		return n + sizeof w.c;
	}
	out[2] = 1;
	memcpy(out + n, &s->acc_lo, 8);
	memcpy(out + n + 8, &s->acc_hi, 8);
	memcpy(out + n + 16, &s->lsb, 4);
	return n + 20;
}

long fsum_load(struct fsum *s, const unsigned char *p, size_t len,
	       struct arena *ar)
{
	uint16_t flags;

	memset(s, 0, sizeof *s);
	if (len < 3)
		return -1;
	memcpy(&flags, p, 2);
	if (flags & ~(FSUM_USED | FSUM_POS_INF | FSUM_NEG_INF | FSUM_NAN |
		      FSUM_NEG_ZERO | FSUM_POS_ZERO))
		return -1;
	s->flags = flags;
	if (p[2] == 1) {
		if (len < 23)
			return -1;
		memcpy(&s->acc_lo, p + 3, 8);
		memcpy(&s->acc_hi, p + 11, 8);
		memcpy(&s->lsb, p + 19, 4);
		return 23;
	}
	if (p[2] != 2 || len < 3 + sizeof s->wide->c || (flags & FSUM_USED))
		return -1;
	s->wide = arena_calloc(ar, sizeof *s->wide);
	if (s->wide == NULL)
		return -2;
	memcpy(s->wide->c, p + 3, sizeof s->wide->c);
	/* Digits as wide_normalise() leaves them, or the sums could overflow. */
	for (int i = 0; i < W_DIGITS - 1; i++)
		if (s->wide->c[i] < 0 || s->wide->c[i] >= ((int64_t)1 << 32))
			return -1;
	return (long)(3 + sizeof s->wide->c);
}
