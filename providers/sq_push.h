/*
 * sq_push.h - the sqlite provider's aggregate pushdown: when the config
 * allows it (common/pushdown.h), every field is an int or a text, every
 * sum is of ints and every min/max of ints or text, the attempt opens a
 * read transaction, looks for a value the pulled rows would not give as
 * it is (an int field's value that is not an INTEGER, a text field's that
 * is not TEXT of valid UTF-8 without NUL: pulled, they convert or are
 * rejects), and when there is none sends
 *
 *   SELECT keys COLLATE BINARY, count(*), count(f), sum(f >> 32),
 *          sum(f & 4294967295), min(f COLLATE BINARY), ...
 *   FROM (query) GROUP BY keys ORDER BY keys
 *
 * in the same transaction, each row a group record (prov_emit_group()).
 * An int sum is summed in two halves, neither of which can overflow
 * SQLite's 64-bit sum() below 2^32 rows, and put together exactly in 128
 * bits.  BINARY is memcmp order and byte equality, as ours.  The token
 * counts the groups and says the attempt pushed, as postgres's does
 * (pg_push.h).
 */
#ifndef AGG_SQ_PUSH_H
#define AGG_SQ_PUSH_H

#include <stdbool.h>
#include <stddef.h>

#include "sq_read.h"

/* Whether the config and the columns let r push down; when not, why. */
bool sq_push_ok(const struct sq_run *r, char *why, size_t whylen);

/* What --check prints for a config that may push down (malloc'd). */
char *sq_push_what(const struct cfg *cfg);

/*
 * Try this attempt's pushdown: BEGIN, the check of the values, then the
 * groups.  *pushed false (and nothing sent) when a value would not be
 * read as it is: the caller pulls the rows.  PROV_DONE, or a failure.
 */
enum prov_status sq_push_run(struct sq_run *r, bool *pushed);

#endif
