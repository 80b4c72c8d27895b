/*
 * fuzz_fsum.c - the exact sum of doubles (common/fsum.c).
 *
 * The input is a list of doubles, 8 bytes each (the last byte of a
 * leftover picks where to split).  Checks what fsum.h promises: the sum
 * and the average do not depend on the order the values are added in or
 * on how they are split between two sums that are then merged.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/arena.h"
#include "../common/fsum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return memcmp(&a, &b, sizeof a) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size / 8, cut = size % 8 ? data[size - 1] % (n + 1) : n / 2;
	struct fsum f = {0}, r = {0}, a = {0}, b = {0};
	struct arena ar = {0};
	double x;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(&x, data + 8 * i, 8);
		fsum_add(&f, x, &ar);
		fsum_add(i < cut ? &a : &b, x, &ar);
		memcpy(&x, data + 8 * (n - 1 - i), 8);
		fsum_add(&r, x, &ar);
	}
	fsum_merge(&b, &a, &ar);
	if (!same(fsum_value(&f), fsum_value(&r)) ||
	    !same(fsum_value(&f), fsum_value(&b)) ||
	    !same(fsum_avg(&f, n), fsum_avg(&r, n)) ||
	    !same(fsum_avg(&f, n), fsum_avg(&b, n)))
		abort();
	arena_free(&ar);
	return 0;
}
