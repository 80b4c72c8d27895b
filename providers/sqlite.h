/*
 * sqlite.h - the sqlite provider type (SPEC §3 "type = sqlite"): a query
 * over a SQLite file opened read-only, its rows typed as SQLite gives them.
 */
#ifndef AGG_SQLITE_PROVIDER_H
#define AGG_SQLITE_PROVIDER_H

#include "provider.h"

extern const struct prov_ops sqlite_provider_ops;

#endif
