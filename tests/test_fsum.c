/*
 * test_fsum.c - common/fsum.c against Python.
 *
 * tests/fixtures/fsum_oracle.py writes random lists of doubles (money,
 * any exponent, cancelling pairs, far-apart exponents, subnormals, values
 * near the overflow, repeats, infinities and NaNs) and edge cases (ties,
 * a sum that only overflows on the way), each with its exact sum and
 * average rounded once as Python's math.fsum and fractions.Fraction give
 * them.  Every list is summed forwards, backwards, and split in two at a
 * random point and merged both ways: all must give the oracle's bits.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/arena.h"
#include "../common/fsum.h"
#include "helpers/testutil.h"

static bool same(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return memcmp(&a, &b, sizeof a) == 0;
}

static void expect(const struct fsum *s, size_t n, double want_sum,
		   double want_avg, int lineno, const char *how)
{
	double got = fsum_value(s), avg = fsum_avg(s, n);

	cr_assert(same(got, want_sum), "case %d (%s): sum %a, Python %a",
		  lineno, how, got, want_sum);
	cr_assert(same(avg, want_avg), "case %d (%s): avg %a, Python %a",
		  lineno, how, avg, want_avg);
}

static struct arena ar;

static void sum_range(struct fsum *s, const double *x, size_t from,
		      size_t to, bool backwards)
{
	for (size_t i = from; i < to; i++) {
		size_t k = backwards ? to - 1 - (i - from) : i;

		cr_assert_eq(fsum_add(s, x[k], &ar), 0);
	}
}

static void check_case(char *text, int lineno, uint64_t *rng)
{
	double *x = NULL, want_sum, want_avg;
	size_t n = 0, cap = 0, k;
	char *tok, *save = NULL;
	struct fsum s = {0}, a = {0}, b = {0};

	for (tok = strtok_r(text, " ", &save); tok && strcmp(tok, "=") != 0;
	     tok = strtok_r(NULL, " ", &save)) {
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			x = realloc(x, cap * sizeof *x);
			cr_assert_not_null(x);
		}
		x[n++] = strtod(tok, NULL);
	}
	cr_assert_not_null(tok, "case %d: no '='", lineno);
	want_sum = strtod(strtok_r(NULL, " ", &save), NULL);
	cr_assert_str_eq(strtok_r(NULL, " ", &save), "/");
	want_avg = strtod(strtok_r(NULL, " \n", &save), NULL);

	sum_range(&s, x, 0, n, false);
	expect(&s, n, want_sum, want_avg, lineno, "in order");
	s = (struct fsum){0};

	sum_range(&s, x, 0, n, true);
	expect(&s, n, want_sum, want_avg, lineno, "backwards");

	k = (size_t)(tu_rng(rng) % (n + 1));
	sum_range(&a, x, 0, k, false);
	sum_range(&b, x, k, n, true);
	s = (struct fsum){0};
	cr_assert_eq(fsum_merge(&s, &a, &ar), 0);
	cr_assert_eq(fsum_merge(&s, &b, &ar), 0);
	expect(&s, n, want_sum, want_avg, lineno, "split, merged");
	cr_assert_eq(fsum_merge(&b, &a, &ar), 0);
	expect(&b, n, want_sum, want_avg, lineno, "split, merged backwards");
	free(x);
}

Test(fsum, matches_python_fsum_and_fractions)
{
	char cmd[4096], *line = NULL;
	size_t cap = 0;
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	int lineno = 0;
	FILE *p;

	snprintf(cmd, sizeof cmd,
		 "python3 '%s/tests/fixtures/fsum_oracle.py' 20261206 %d",
		 tu_srcdir(), tu_scale(2000));
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (getline(&line, &cap, p) > 0)
		check_case(line, ++lineno, &rng);
	free(line);
	cr_assert_eq(pclose(p), 0, "the oracle failed");
	cr_assert_gt(lineno, 100, "the oracle gave %d cases", lineno);
	arena_free(&ar);
}

Test(fsum, zeros_are_signed_as_ieee_addition_signs_them)
{
	struct fsum s = {0};

	cr_assert(same(fsum_value(&s), 0.0));
	cr_assert(same(fsum_avg(&s, 3), 0.0));
	cr_assert_eq(fsum_add(&s, -0.0, &ar), 0);
	cr_assert_eq(fsum_add(&s, -0.0, &ar), 0);
	cr_assert(same(fsum_value(&s), -0.0), "only -0.0 added: -0.0");
	cr_assert(same(fsum_avg(&s, 2), -0.0));
	cr_assert_eq(fsum_add(&s, 0.0, &ar), 0);
	cr_assert(same(fsum_value(&s), 0.0), "with a +0.0: +0.0");
	s = (struct fsum){0};
	cr_assert_eq(fsum_add(&s, -0.0, &ar), 0);
	cr_assert_eq(fsum_add(&s, 1.5, &ar), 0);
	cr_assert_eq(fsum_add(&s, -1.5, &ar), 0);
	cr_assert(same(fsum_value(&s), 0.0), "x + -x: +0.0");
	arena_free(&ar);
}

Test(fsum, order_never_changes_the_bits)
{
	/*
	 * A float sum that a running double gets wrong whichever way it
	 * goes: 1e16 + 1 + ... loses the ones, and the exact answer needs
	 * them.
	 */
	double x[] = { 1e16, 1.0, 1.0, 1.0, -1e16, 0.1, 0.2, 0.3 };
	struct fsum f = {0}, r = {0};
	double naive = 0;

	for (size_t i = 0; i < sizeof x / sizeof *x; i++) {
		fsum_add(&f, x[i], &ar);
		fsum_add(&r, x[sizeof x / sizeof *x - 1 - i], &ar);
		naive += x[i];
	}
	cr_assert(same(fsum_value(&f), fsum_value(&r)));
	cr_assert(same(fsum_value(&f), 3.6), "got %a", fsum_value(&f));
	cr_assert(!same(naive, 3.6), "a running double sum should be off");
	arena_free(&ar);
}

/* m (an integer below 2^53 in magnitude) times 2^e, exactly. */
static double scaled(int64_t m, int e)
{
	return ldexp((double)m, e);
}

/*
 * s holds exactly the sum of x[0..n): the same values taken away again
 * one by one through fsum_merge() (the out-of-line path, never the inline
 * one) leave exactly +0.0, where any bit the inline add lost or gained
 * would leave a small nonzero sum; and its pieces within their bound.
 */
/* fsum_pieces()'s bound, which the narrow form's headroom keeps. */
static void expect_pieces_bound(const struct fsum *s, const char *what)
{
	__int128 m[FSUM_PIECES_MAX];
	int lsb[FSUM_PIECES_MAX], np = fsum_pieces(s, m, lsb);

	for (int i = 0; i < np; i++)
		cr_assert(m[i] < (__int128)1 << 124 &&
			  m[i] > -((__int128)1 << 124), "%s: piece %d", what,
			  i);
}

static void expect_exact(const struct fsum *s, const double *x, size_t n,
			 const char *what)
{
	struct fsum d = *s;

	expect_pieces_bound(s, what);
	for (size_t i = 0; i < n; i++) {
		struct fsum one = {0};

		cr_assert_eq(fsum_add(&one, -x[i], &ar), 0);
		cr_assert_eq(fsum_merge(&d, &one, &ar), 0);
	}
	cr_assert(same(fsum_value(&d), 0.0), "%s: %a left over", what,
		  fsum_value(&d));
}

/*
 * fsum_add()'s inline window at its edges: units 0, 1, 62, 63 bits above
 * the sum's (inline) and 64, 65 (not), values below the sum's unit that
 * move it down, both signs mixed and alternating (the low half's carry
 * and borrow), -0.0 and subnormals between, and a sum of one sign grown
 * through 2^123 (the headroom test) on into the wide form.
 */
Test(fsum, inline_window_edges_are_exact)
{
	static const int ds[] = { 0, 1, 62, 63, 64, 65, -1, -7 };
	const int64_t top = (int64_t)1 << 52;
	uint64_t rng = 20261207;
	double x[3000];
	struct fsum s;
	size_t n;

	for (int round = 0; round < 200; round++) {
		int lsb = -60 + (int)(tu_rng(&rng) % 40);

		s = (struct fsum){0};
		n = 0;
		/*
		 * Odd integers of 53 bits: a value's unit is the same read
		 * with its trailing zeros or without, and the first one's is
		 * the sum's.
		 */
		x[n++] = scaled(top | (int64_t)(tu_rng(&rng) >> 12) | 1, lsb);
		while (n < 300) {
			uint64_t r = tu_rng(&rng);
			int64_t m = top | (int64_t)(tu_rng(&rng) >> 12) | 1;
			int d = ds[r % (sizeof ds / sizeof *ds)];

			if (r >> 8 & 1 || (round & 1 && n & 1))
				m = -m;
			if ((r >> 4) % 16 == 0)
				x[n++] = (r >> 9 & 1) ? -0.0 : 0x1p-1070;
			else if ((r >> 4) % 16 == 1)
				d = (int)(r >> 20 & 63);
			x[n++] = scaled(m, lsb + d);
			if (d < 0)
				lsb += d;
		}
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(fsum_add(&s, x[i], &ar), 0);
		expect_exact(&s, x, n, "mixed");
	}
	/* 2^52 + 1 at 63 bits above the first: 2^116 a value. */
	s = (struct fsum){0};
	x[0] = scaled(top | 1, 0);
	for (n = 1; n < sizeof x / sizeof *x; n++)
		x[n] = scaled(top | 1, 63);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(fsum_add(&s, x[i], &ar), 0);
		expect_pieces_bound(&s, "through 2^123");
	}
	expect_exact(&s, x, n, "through 2^123");
	arena_free(&ar);
}
