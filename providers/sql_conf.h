/*
 * sql_conf.h - the options of an sqlite or postgres provider, as
 * providers.conf sets them.
 *
 * The keys (sqlite: path, query, key, batch, pushdown; postgres: query,
 * key, batch, conninfo, snapshot, pushdown), their checks and defaults are
 * sql_conf.c's, through sqlite_conf_type and postgres_conf_type (struct cfg_type, config.h).
 * `batch` sets the struct cfg_provider's own batch, which every type has.
 * Only the SQL providers read a struct sql_conf, through sql_conf().
 */
#ifndef AGG_SQL_CONF_H
#define AGG_SQL_CONF_H

#include <stdbool.h>

#include "../common/config.h"

struct sql_conf {
	char *path;                /* sqlite: the database file */
	char *query;
	char *key;                 /* NULL: resume by skipping rows */
	char *conninfo;            /* postgres; "" when not given */
	bool snapshot;             /* postgres */
	bool pushdown;             /* the GROUP BY in the database
				      when the config allows (pg_push.h,
				      sq_push.h) */
};

extern const struct cfg_type sqlite_conf_type;
extern const struct cfg_type postgres_conf_type;

/* The options of p, an sqlite or postgres provider. */
static inline const struct sql_conf *sql_conf(const struct cfg_provider *p)
{
	return p->opts;
}

#endif
