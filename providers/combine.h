/*
 * combine.h - a range reader's group table: the map-side combine.
 *
 * A file read with `parallel` is read by several range readers, and when
 * its records only feed a group-by whose aggregates combine exactly
 * (push_combine_allowed(), common/pushdown.h), each reader folds its rows
 * into a small table of groups here instead of encoding them, and sends
 * the groups (GROUPS frames, the record of push_plan_make_rows()) before
 * each checkpoint: the aggregator folds a few groups per batch rather than
 * every row, which on a machine with few cores is what lets a second
 * reader pay.  Sums are exact, so the groups add up to the rows: ints in
 * 128 bits, decimals in decimal(38) (a sum about to pass it asks for the
 * groups to be sent first), floats in a struct fsum (fsum.h) sent whole.
 *
 * The table holds at most COMB_MAX_GROUPS groups; its keys' and its text
 * minima's bytes are copied into its arena.  comb_send() empties it.
 * Nothing here counts records or talks to the ring: runtime.c does.
 */
#ifndef AGG_COMBINE_H
#define AGG_COMBINE_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/config.h"
#include "../common/pushdown.h"
#include "../ipc/record.h"

/* Groups a table holds before it must be sent. */
#define COMB_MAX_GROUPS 16384u

struct comb;

/*
 * A table for cfg, the whole config (its schema with the derived fields:
 * push_combine_allowed() said yes for the provider).  NULL on no memory.
 */
struct comb *comb_new(const struct cfg *cfg);
void comb_free(struct comb *t);

/*
 * Fold one row, v over cfg's schema.  0; 1: the table is full, or a
 * decimal sum would pass decimal(38): nothing was folded, send the groups
 * and fold it again; -1: no memory (nothing folded).
 */
int comb_add(struct comb *t, const struct rec_value *v);

/* The groups in the table, and the rows folded into them. */
uint64_t comb_groups(const struct comb *t);
uint64_t comb_rows(const struct comb *t);

/* What comb_send() hands each group record to; nonzero stops it. */
typedef int (*comb_emit)(void *arg, const struct rec_schema *s,
			 const struct rec_value *v);

/*
 * Each group as its records (pushdown.h: keys, aggregates, rows; a wide
 * float sum as several) through emit, in the order the groups came, then
 * empty the table.  0, or what emit returned to stop it (the table is
 * emptied all the same: the attempt is over).
 */
int comb_send(struct comb *t, comb_emit emit, void *arg);

#endif
