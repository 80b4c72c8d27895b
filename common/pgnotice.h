/*
 * pgnotice.h - a PostgreSQL server's notices and warnings, logged.
 *
 * RAISE NOTICE, "relation ... already exists, skipping", "there is no
 * transaction in progress", a FATAL before the server hangs up: libpq
 * would print them raw to stderr.  Set pgnotice_log() as a connection's
 * notice receiver instead and each goes to the log (log.h) as one event
 * "server message" with severity, message, and detail and hint when the
 * server gave them, each on one line.  Levels: NOTICE, INFO and LOG at
 * info (so -q hides them), DEBUG at debug, WARNING and worse at warn (the
 * failure that may follow is reported where it happens).
 */
#ifndef AGG_PGNOTICE_H
#define AGG_PGNOTICE_H

#include <libpq-fe.h>

/*
 * A PQnoticeReceiver: PQsetNoticeReceiver(conn, pgnotice_log, name), where
 * name (a const char *, or NULL) is the provider the events are logged
 * under and must outlive the connection.  Never fails.
 */
void pgnotice_log(void *name, const PGresult *res);

#endif
