/*
 * sql_conf.c - the keys of the sqlite and postgres providers in
 * providers.conf (sql_conf.h).
 *
 * The two types share their options struct and the keys they have in
 * common (query, key, batch); sqlite adds path, postgres conninfo (which
 * libpq must accept, and which is never quoted in a message) and
 * snapshot.  Each key has one number in enum sql_key; each type's table
 * lists the ones it has.
 */
#include "sql_conf.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../common/config_key.h"
#include "../common/config_read.h"
#include "../common/config_value.h"

enum sql_key { SK_PATH, SK_QUERY, SK_KEY, SK_BATCH, SK_CONNINFO, SK_SNAPSHOT,
	       SK_PUSHDOWN };

static const struct cfg_key_def sqlite_keys[] = {
	[SK_PATH] = { "path", 0 },
	[SK_QUERY] = { "query", 0 },
	[SK_KEY] = { "key", 0 },
	[SK_BATCH] = { "batch", 0 },
	[SK_CONNINFO] = { NULL, 0 },
	[SK_SNAPSHOT] = { NULL, 0 },
	[SK_PUSHDOWN] = { "pushdown", 0 },
};

/* Numbered as enum sql_key: path is left out (NULL), not renumbered. */
static const struct cfg_key_def postgres_keys[] = {
	[SK_QUERY] = { "query", 0 },
	[SK_KEY] = { "key", 0 },
	[SK_BATCH] = { "batch", 0 },
	[SK_CONNINFO] = { "conninfo", CFG_KEY_SECRET },
	[SK_SNAPSHOT] = { "snapshot", 0 },
	[SK_PUSHDOWN] = { "pushdown", 0 },
};

static int sql_init(struct cfg_provider *p)
{
	struct sql_conf *s = calloc(1, sizeof *s);

	if (!s)
		return -1;
	s->snapshot = true;
	s->pushdown = true;
	s->conninfo = strdup("");
	if (!s->conninfo) {
		free(s);
		return -1;
	}
	p->opts = s;
	return 0;
}

static void sql_free(struct cfg_provider *p)
{
	struct sql_conf *s = p->opts;

	if (!s)
		return;
	free(s->path);
	free(s->query);
	free(s->key);
	free(s->conninfo);
	free(s);
	p->opts = NULL;
}

static int sql_apply(const struct cfg_key *k, int id, struct cfg_provider *p,
		     char **vp)
{
	struct sql_conf *s = p->opts;
	char *v = *vp;
	int ok;

	switch (id) {
	case SK_PATH:
		return cfg_key_string(k, &s->path, vp);
	case SK_QUERY:
		return cfg_key_string(k, &s->query, vp);
	case SK_KEY:
		return cfg_key_string(k, &s->key, vp);
	case SK_BATCH:
		return cfg_key_long(k, v, 1, INT_MAX, &p->batch);
	case SK_CONNINFO:
		ok = cfg_conninfo_ok(v);
		if (ok < 0)
			return cfg_fail_oom(k->doc);
		if (ok == 0)
			return cfg_bad_value(k, NULL,
					     "not a libpq connection string (key=value ... or postgresql://...)");
		free(s->conninfo);
		s->conninfo = v;
		*vp = NULL;
		return 0;
	case SK_SNAPSHOT:
		return cfg_key_bool(k, v, &s->snapshot);
	case SK_PUSHDOWN:
		return cfg_key_bool(k, v, &s->pushdown);
	default:
		break;
	}
	return cfg_fail(k->doc, k->e->line, "internal error: key '%s'",
			k->e->key);
}

static int sqlite_check(const struct cfg_check *c, struct cfg_provider *p)
{
	const struct sql_conf *s = p->opts;

	if (!s->path)
		return cfg_missing_key(c->doc, c->si, "path", NULL);
	if (!s->query)
		return cfg_missing_key(c->doc, c->si, "query", NULL);
	return 0;
}

static int postgres_check(const struct cfg_check *c, struct cfg_provider *p)
{
	const struct sql_conf *s = p->opts;

	if (!s->query)
		return cfg_missing_key(c->doc, c->si, "query", NULL);
	return 0;
}

const struct cfg_type sqlite_conf_type = {
	.name = "sqlite",
	.type = CFG_PROV_SQLITE,
	.keys = sqlite_keys,
	.nkeys = sizeof sqlite_keys / sizeof sqlite_keys[0],
	.init = sql_init,
	.apply = sql_apply,
	.check = sqlite_check,
	.free = sql_free,
};

const struct cfg_type postgres_conf_type = {
	.name = "postgres",
	.type = CFG_PROV_POSTGRES,
	.keys = postgres_keys,
	.nkeys = sizeof postgres_keys / sizeof postgres_keys[0],
	.init = sql_init,
	.apply = sql_apply,
	.check = postgres_check,
	.free = sql_free,
};
