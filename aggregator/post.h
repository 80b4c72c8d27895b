/*
 * post.h - what happens to the result rows before they are written:
 * having, order_by and limit ([aggregate] keys, SPEC §8).
 *
 * The merge hands every result row (in its default order: group key
 * order, or provider then source order in union mode) to post_add(),
 * which evaluates having (a NULL or false result drops the row) and keeps
 * the row; post_write() then sorts the kept rows by order_by (a stable
 * sort: rows that tie keep the default order, so the output is the same
 * bytes whatever the arrival order) and writes the first `limit` of them.
 *
 * Memory: with order_by, every kept row is held (its values, and in union
 * mode a copy of its text) and sorted whole: n log n compares and
 * n * columns * sizeof(struct rec_value) bytes.  Without order_by, rows
 * past the limit are not kept at all (post_full()).  Text of a row is
 * copied only when the caller asks (its own buffer is reused); group
 * mode's text lives in the group tables' arenas until the merge is freed.
 */
#ifndef AGG_POST_H
#define AGG_POST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ipc/record.h"
#include "../common/config.h"
#include "output.h"

struct post;

/* Whether cfg has having, order_by or limit: else rows go straight out. */
bool post_wanted(const struct cfg *cfg);

/* Rows of cols[0..ncols) under cfg's having/order_by/limit; NULL: memory. */
struct post *post_new(const struct cfg *cfg, const struct out_col *cols,
		      int ncols);

/*
 * Take one row (ncols values; text copied when copy).  Returns 0, 1 when
 * having's evaluation failed (the reason in err: the caller names the
 * group), or -1 with err (no memory).
 */
int post_add(struct post *p, const struct rec_value *row, bool copy,
	     char *err, size_t errlen);

/* True when no later row can be written: the limit is reached, unsorted. */
bool post_full(const struct post *p);

/*
 * Sort the rows kept (order_by) and write the first limit of them to w;
 * *rows counts them.  Returns 0, or -1 with err (out_row()'s, or memory).
 */
int post_write(struct post *p, struct out_writer *w, uint64_t *rows,
	       char *err, size_t errlen);

void post_free(struct post *p);

#endif
