/*
 * merge_push.h - a pushed-down provider's groups (GROUPS frames,
 * common/pushdown.h) into its table: each group record's states built in
 * a scratch group and folded with state_combine(), as a loaded partial's
 * are (partial_state.c), so a group adds what its rows would have.
 */
#ifndef AGG_MERGE_PUSH_H
#define AGG_MERGE_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "../common/pushdown.h"
#include "gtable.h"
#include "state.h"

/*
 * Fold the n group records b[0..len) (validated against pp->wire) into t,
 * whose groups hold aggs[0..naggs) and are keyed by keys (over a schema of
 * nfields).  0, or -1 on no memory or bytes that do not add up.
 */
int push_fold(struct gtable_keys *keys, struct gtable *t,
	      const struct st_agg *aggs, int naggs, const struct push_plan *pp,
	      int nfields, const unsigned char *b, size_t len, uint64_t n);

#endif
