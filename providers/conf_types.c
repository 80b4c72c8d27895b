/*
 * conf_types.c - the provider types as providers.conf knows them: the
 * table the config reader in common/ consults (cfg_types, config.h), so
 * that common/ names no type's keys or options.
 *
 * Apart from registry.c (the types' entry points), so that a program that
 * only reads configs links the types' key tables and nothing of their
 * run functions.
 */
#include "../common/config.h"
#include "file_conf.h"
#include "http_conf.h"
#include "sql_conf.h"

/* In the order the config's messages name them. */
const struct cfg_type *const cfg_types[] = {
	&http_conf_type,
	&postgres_conf_type,
	&sqlite_conf_type,
	&file_conf_type,
};
const int cfg_ntypes = sizeof cfg_types / sizeof cfg_types[0];
