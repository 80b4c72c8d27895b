/*
 * pg_resume.h - where a postgres attempt starts and how it tells the next
 * one: the resume token, the checkpoint that sends it, and the COPY
 * statement of an attempt (the query again, or the rows after the key).
 *
 * The token (see sqlmap.h for its codec):
 *   pg=1            its version
 *   rows=N          source rows consumed (records + rejects), all attempts
 *   done=1          the last attempt read everything (only DONE was lost)
 *   snap, holder    the exported snapshot and the pid of its holder
 *   key             with `key`: the key of row N, as the server writes
 *                   it in text (rebuilt so on the binary path: the token
 *                   does not depend on the format)
 */
#ifndef AGG_PG_RESUME_H
#define AGG_PG_RESUME_H

#include <stdbool.h>
#include <stddef.h>

#include "pg_copy.h"

/*
 * Read the token tok[0..len) into r (rows, snap, holder, key) and *done.
 * 0, or -1 for a token this code did not write.
 */
int pg_token_read(struct pg_run *r, const unsigned char *tok, size_t len,
		  bool *done);

/*
 * With a key read from the token, and its column's type known: take the
 * number the order checks continue from.  0, or -1 when the key is not a
 * number of that type (a token this code did not write).
 */
int pg_resume_key(struct pg_run *r);

/*
 * Send a checkpoint of r's rows, key and snapshot (done: the last one).
 * PROV_DONE, or a failure (a key too long for a token is permanent).
 */
enum prov_status pg_checkpoint(struct pg_run *r, bool done);

/*
 * The COPY statement of this attempt, malloc'd (NULL: no memory):
 * `COPY (query) TO STDOUT`, or with a key read from the token
 *   COPY (SELECT * FROM (query) AS agg_resume WHERE "key" > 'last'
 *   ORDER BY "key") TO STDOUT
 * (the literal takes the key column's type, so the server compares as it
 * sorts), with `(FORMAT binary)` when r->binary.  Without a key the rows
 * already counted come again and are dropped (r->skip): the query must
 * have a deterministic ORDER BY.
 */
char *pg_copy_sql(struct pg_run *r);

#endif
