/*
 * postgres.h - the postgres provider type (SPEC §3 "type = postgres"): a
 * query over a PostgreSQL connection, streamed with COPY, optionally read
 * from one snapshot across every attempt (snapshot = true).
 */
#ifndef AGG_POSTGRES_PROVIDER_H
#define AGG_POSTGRES_PROVIDER_H

#include "provider.h"

extern const struct prov_ops postgres_provider_ops;

#endif
