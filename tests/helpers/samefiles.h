/*
 * samefiles.h - the outputs of two runs compared byte for byte: files
 * DIR/A/NAME and DIR/B/NAME for each NAME, failing the calling Criterion
 * test (cr_assert) on a missing file or the first that differs, with
 * both texts and what the caller says the comparison was.
 */
#ifndef AGG_TEST_SAMEFILES_H
#define AGG_TEST_SAMEFILES_H

#include <stddef.h>

void sf_same_files(const char *dir, const char *a, const char *b,
		   const char *const *names, size_t n, const char *what);

#endif
