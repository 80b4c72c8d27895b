/*
 * sq_resume.h - where a sqlite attempt starts and how it tells the next
 * one.
 *
 * The token (see sqlmap.h for its codec):
 *   sqlite=1 its version
 *   rows=N   source rows consumed so far (records + rejects), all attempts
 *   done=1   the last attempt read everything (only DONE was lost)
 *   kt, kv   with `key`: the type and value of the key of row N
 * With a key the next attempt runs
 *   SELECT * FROM (query) AS agg_resume WHERE "key" > ?1 ORDER BY "key"
 * binding the last key with its own SQLite type; without one it runs the
 * query as it is and steps over the first N rows.  Failures go through
 * prov_fail() into r->c's errbuf, or carry SQLite's message there.
 */
#ifndef AGG_SQ_RESUME_H
#define AGG_SQ_RESUME_H

#include <stdbool.h>
#include <stddef.h>

#include "sq_read.h"

/* Double-quote an identifier for SQL: "a""b".  malloc'd, NULL on no memory. */
char *sq_quote_ident(const char *id);

/*
 * Read the token of the last folded checkpoint into r (rows, last) and
 * *done.  Returns 0, or -1 for a token this code did not write.
 */
int sq_token_read(struct sq_run *r, const unsigned char *tok, size_t len,
		  bool *done);

/*
 * Send a checkpoint of the rows consumed and the last key (done: the last
 * one), ending the frame being filled (r->out).  PROV_DONE, or a failure
 * (a key too long for a token is permanent).
 */
enum prov_status sq_checkpoint(struct sq_run *r, bool done);

/*
 * Replace r->st by the resumed query (rows after r->last, in key order)
 * with the key bound.  PROV_DONE, or a failure.
 */
enum prov_status sq_prepare_resume(struct sq_run *r);

/*
 * Step over the r->rows rows the earlier attempts consumed (resume
 * without key).  Fewer rows than that is a permanent failure: the data
 * changed.  PROV_DONE, or a failure.
 */
enum prov_status sq_skip(struct sq_run *r);

#endif
