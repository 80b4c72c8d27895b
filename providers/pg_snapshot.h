/*
 * pg_snapshot.h - the snapshot every attempt of a postgres provider reads
 * (snapshot = true): a holder process keeps it exported (pg_snapshot.c
 * tells how it lives and ends), each attempt imports it.
 *
 * r->snap and r->holder name the snapshot and its holder ("" and 0: none
 * yet); they travel in the resume token (pg_resume.h).  Failures go
 * through prov_fail() into r->c's errbuf.
 */
#ifndef AGG_PG_SNAPSHOT_H
#define AGG_PG_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "pg_copy.h"

/*
 * Open the transaction on r->conn that reads the provider's one snapshot,
 * taking the snapshot first (a new holder) if no attempt did, and
 * checkpointing a new one before any row.  A snapshot lost after rows were
 * counted is a permanent failure.  Returns PROV_DONE or a failure.
 */
enum prov_status pg_snapshot(struct pg_run *r);

/*
 * Start the holder that pg_snapshot() will wait for, when r has no
 * snapshot yet, so that its connection and the attempt's are made at
 * once.  A failure here is left to pg_snapshot(), which tries again.
 */
void pg_holder_begin(struct pg_run *r);

/*
 * Tell r's holder, if any, to go (no attempt will need the snapshot) and
 * wait a little, beating, until it has.  Never fails: a holder that does
 * not answer ends with the supervisor.
 */
void pg_holder_stop(struct pg_run *r);

/* Whether s[0..n) may be a snapshot id (digits, capitals and '-'). */
bool pg_snap_valid(const unsigned char *s, size_t n);

#endif
