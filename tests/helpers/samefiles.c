/*
 * samefiles.c - two runs' outputs compared byte for byte (samefiles.h).
 */
#include "samefiles.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

void sf_same_files(const char *dir, const char *a, const char *b,
		   const char *const *names, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		char pa[512], pb[512], *x, *y;
		size_t lx, ly;

		snprintf(pa, sizeof pa, "%s/%s/%s", dir, a, names[i]);
		snprintf(pb, sizeof pb, "%s/%s/%s", dir, b, names[i]);
		x = tu_read(pa, &lx);
		y = tu_read(pb, &ly);
		cr_assert(x && y, "%s: %s or %s missing", what, pa, pb);
		cr_assert(lx == ly && memcmp(x, y, lx) == 0,
			  "%s: %s differs from %s:\n%s\n---\n%s", what, pb,
			  pa, y, x);
		free(x);
		free(y);
	}
}
