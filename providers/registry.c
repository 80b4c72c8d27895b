/*
 * registry.c - the provider types built into this program.
 */
#include "provider.h"

#include "file.h"
#include "postgres.h"
#include "sqlite.h"
#include "http.h"

const struct prov_ops *prov_ops_for(enum cfg_provider_type type)
{
	switch (type) {
	case CFG_PROV_FILE:
		return &file_provider_ops;
	case CFG_PROV_HTTP:
		return &http_provider_ops;
	case CFG_PROV_SQLITE:
		return &sqlite_provider_ops;
	case CFG_PROV_POSTGRES:
		return &postgres_provider_ops;
	}
	return NULL;
}
