/*
 * pg_push.h - the postgres provider's aggregate pushdown: when the config
 * allows it (common/pushdown.h) and every field's column is of a type
 * whose every value converts (no reject is possible), the attempt sends
 *
 *   SELECT keys, count(*), count(f), sum(f), min(f), ...
 *   FROM (query) AS q GROUP BY keys ORDER BY keys
 *
 * in its snapshot instead of the COPY, and each result row goes to the
 * aggregator as one group record (prov_emit_group()).  The token counts
 * the groups consumed and says the attempt pushed ("push"): a restart
 * runs the same statement in the same snapshot and drops the groups
 * already counted; an attempt that cannot push after one that did fails
 * for good, one that pulled rows never pushes.
 */
#ifndef AGG_PG_PUSH_H
#define AGG_PG_PUSH_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "pg_copy.h"

/*
 * Whether provider p of cfg pushes its group-by down over the query
 * described by desc (map: field -> column, sqlmap_resolve()); when not,
 * why in why[whylen].  conn: for the server's encoding.
 */
bool pg_push_ok(const struct cfg *cfg, const struct cfg_provider *p,
		PGconn *conn, const PGresult *desc, const int *map, char *why,
		size_t whylen);

/*
 * The statement pushed down for p over body (NULL on no memory); with
 * what, when not NULL, the "GROUP BY a, b (count, sum(x))" text --check
 * prints (malloc'd too).
 */
char *pg_push_sql(const struct cfg *cfg, const struct cfg_provider *p,
		  PGconn *conn, const PGresult *desc, const int *map,
		  const char *body, char **what);

/*
 * Run the pushed statement of this attempt: drop r->rows groups, then one
 * group record per row, checkpointing when the runtime asks.  PROV_DONE
 * once all are read, or a failure (errbuf).
 */
enum prov_status pg_push_run(struct pg_run *r, const PGresult *desc);

#endif
