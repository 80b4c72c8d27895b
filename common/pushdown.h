/*
 * pushdown.h - which configs let an SQL provider run the group-by in the
 * database, and the record each of its groups travels as (a GROUPS frame,
 * ipc/ring.h).
 *
 * A provider may send its groups instead of its rows when its records
 * feed one output only, in group mode, whose keys are declared fields
 * (int, text, bool) and whose aggregates are count(*), count(f), sum and
 * avg of int, decimal or float, and min and max of int, text or decimal,
 * with no filter; no where, derived field, or incremental state.  Both sides
 * decide from the config alone: the provider whether it may push (it then
 * checks its columns' types too, providers/pg_push.c), the aggregator
 * how to read a GROUPS frame and whether one may come at all.
 *
 * The group record (record.h encoding) of such a config: the group_by
 * fields in order, then per aggregate its n (int: the rows, or the
 * non-NULL values, it folded) and, but for the counts, its value: a sum
 * as decimal(38, the field's scale) (an int sum at scale 0), a min or a
 * max in the field's type; NULL when n is 0.  A float sum (or avg) is
 * four values after n, the exact sum of some of the doubles: f, an
 * integer (decimal(38,0)) that is the sum of those between 1 and 2048 in
 * magnitude, each times 2^52; t, their sign and 11-bit exponent as the
 * top 12 bits of an int64 shifted down (-2048..2047), or 4096 for those
 * between 1 and 2048; m, the sum of their 52-bit fractions; and z, the
 * least fraction (0 with exponent 0: a zero is among them).  Or, t 4097
 * (providers/pg_push.c's form grouped by the keys alone, for values below
 * 2^63 in magnitude): f the sum of rint(x * 2^52) (x * 2^52 itself from 1
 * up; from 2048 on summed as trunc(x) * 2^52 plus the fraction's, below
 * 10^37), m the sum of x * 2^114 - rint(x * 2^52) * 2^62 over the values
 * below 1 in magnitude, each an integer, the sum f * 2^-52 + m * 2^-114;
 * z the count of -0.0.  Or, t 4098 (PUSH_FSUM_WHOLE: a reader's combine,
 * providers/combine.c): the whole exact sum, f * 2^m with z its flags.  A group of the config may come as several records
 * (one per t of each float summed, in the server's GROUP BY): they add
 * up.
 */
#ifndef AGG_PUSHDOWN_H
#define AGG_PUSHDOWN_H

#include <stdbool.h>
#include <stddef.h>

#include "../ipc/record.h"
#include "config.h"

struct push_plan {
	struct rec_schema wire; /* the group record */
	int nkeys;              /* group_by fields first */
	int *col;               /* aggregate i: its n at wire field col[i] */
	int rows;               /* the rows field (the last), -1: none */
};

/*
 * Whether provider pi of cfg may push its group-by down; when not, why in
 * why[whylen] ("union output", "where", ...).
 */
bool push_allowed(const struct cfg *cfg, int pi, char *why, size_t whylen);

/*
 * Whether provider pi of cfg, a range of a file read with `parallel`, may
 * fold its rows into groups in the reader and send them (the combine):
 * push_allowed()'s keys and aggregates, a `where` and derived fields
 * allowed (the reader runs them).  When not, why in why[whylen].
 */
bool push_combine_allowed(const struct cfg *cfg, int pi, char *why,
			  size_t whylen);

/* The t of a float sum sent whole (the combine's). */
#define PUSH_FSUM_WHOLE 4098

/*
 * The group record of cfg (push_allowed() for one of its providers).
 * 0, or -1 on no memory.  push_plan_free() releases it.
 */
int push_plan_make(const struct cfg *cfg, struct push_plan *pp);

/* The combine's group record: push_plan_make()'s, then rows. */
int push_plan_make_rows(const struct cfg *cfg, struct push_plan *pp);
void push_plan_free(struct push_plan *pp);

/* Whether aggregate a carries a value after its n. */
static inline bool push_has_value(const struct cfg_agg *a)
{
	return a->kind != CFG_AGG_COUNT_STAR && a->kind != CFG_AGG_COUNT;
}

/* Whether aggregate a of cfg is a sum of doubles (four values after n). */
static inline bool push_is_fsum(const struct cfg *cfg, const struct cfg_agg *a)
{
	return (a->kind == CFG_AGG_SUM || a->kind == CFG_AGG_AVG) &&
	       cfg->schema.fields[a->field].type == REC_FLOAT;
}

#endif
