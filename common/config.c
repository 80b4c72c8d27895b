/*
 * config.c - providers.conf: read, validate and resolve into a struct cfg.
 *
 * The file is read in two phases.  Phase 1 runs Debian's inih over the
 * text and collects raw (section, key, value, line) entries; phase 2 checks
 * every entry against the grammar of the user contract (SPEC.md §3),
 * expands ${VAR}, parses the values and resolves the defaults.  Two phases
 * because the grammar is not local: a provider's `type` may come after its
 * other keys, and [aggregate] (whose `fields` every `map` refers to, and
 * whose restart/stall_timeout/... every provider inherits) may come last.
 *
 * Phase 1 is config_read.c.  Phase 2 is driven from here: each entry's key
 * is looked up in the tables of its section - [aggregate]'s (config_agg.c),
 * or those every provider has (here) and its type's own (struct cfg_type,
 * from providers/: the types are linked in as cfg_types[], so common/
 * never names a type's option) - then checked for duplicates, expanded
 * and applied; then each section is checked as a whole.  The values are
 * parsed by config_value.c and reported on through config_key.c, the
 * schema by config_schema.c.  The zones (`timezone`, in [aggregate] and
 * in any provider) are loaded here, [aggregate]'s with the fields, and
 * each provider gets its copy of the schema in its zone.  The public API
 * is here too.
 *
 * Invariants: after a successful load every string the header promises is
 * non-NULL where it says so, every index is valid, cfg->format is never
 * AUTO, and every provider's restart/stall_timeout/memory_limit/max_rejects
 * hold the value to use.  On failure the struct cfg is left zeroed, nothing
 * allocated.  Secret values (http `header`, `conninfo`, `body`, `url`, a
 * postgres `output`) are never copied into an error message.
 */
#include "config.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "config_agg.h"
#include "config_derive.h"
#include "expr.h"
#include "config_key.h"
#include "config_out.h"
#include "config_read.h"
#include "config_schema.h"
#include "config_value.h"
#include "expr.h"
#include "tz.h"

/* The keys every provider has, whatever its type. */
enum prov_key {
	PK_RESTART, PK_STALL_TIMEOUT, PK_MEMORY_LIMIT, PK_MAX_REJECTS,
	PK_TYPE, PK_MAP, PK_ENABLED, PK_TIMEZONE, PK_WHERE, PK_SHARD,
	PK_NKEYS
};

/* Before the type's own, in this order, for the "did you mean" hint. */
static const struct cfg_key_def prov_keys[] = {
	[PK_RESTART] = { "restart", 0 },
	[PK_STALL_TIMEOUT] = { "stall_timeout", 0 },
	[PK_MEMORY_LIMIT] = { "memory_limit", 0 },
	[PK_MAX_REJECTS] = { "max_rejects", 0 },
	[PK_TYPE] = { "type", 0 },
	[PK_MAP] = { "map", 0 },
	[PK_ENABLED] = { "enabled", 0 },
	[PK_TIMEZONE] = { "timezone", 0 },
	[PK_WHERE] = { "where", 0 },
	[PK_SHARD] = { "shard", 0 },
};

/*
 * [aggregate]'s keys of the schema read here rather than in config_agg.c,
 * with the fields, before any other key is applied: the zone, which the
 * fields take; derive, whose fields every other key may name; where,
 * over those.  Seen at slot AK_NKEYS + i.
 */
static const struct cfg_key_def agg_zone_keys[] = {
	{ "timezone", 0 },
	{ "derive", 0 },
	{ "where", 0 },
};
#define AGG_ZONE_NKEYS 3

/*
 * A section's keys as seen, each by its slot: [aggregate]'s key i at i;
 * a provider's common key i at i, its type's key i at PK_NKEYS + i.
 */
#define SEEN_SLOTS (PK_NKEYS + CFG_TYPE_KEYS_MAX)
_Static_assert(AK_NKEYS + AGG_ZONE_NKEYS <= SEEN_SLOTS,
	       "[aggregate] has too many keys");

/* Phase 2's state: what the reader collected, and what is resolved. */
struct loader {
	struct cfg_doc doc;     /* phase 1's sections and entries */
	struct cfg *cfg;

	/* seen[si * SEEN_SLOTS + slot] = line of that key in section si */
	int *seen;
};

/* The number of key name in keys[0..n) (NULL names skipped), or -1. */
static int key_in(const struct cfg_key_def *keys, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (keys[i].name && strcmp(keys[i].name, name) == 0)
			return i;
	return -1;
}

/* True when name is a key of some provider type (any type's own). */
static bool any_type_key(const char *name)
{
	for (int i = 0; i < cfg_ntypes; i++)
		if (key_in(cfg_types[i]->keys, cfg_types[i]->nkeys, name) >= 0)
			return true;
	return false;
}

/* Lower *best to the key in keys[0..n) nearest to name, if any. */
static void nearest_in(const struct cfg_key_def *keys, int n,
		       const char *name, int *best, const char **best_name)
{
	for (int i = 0; i < n; i++)
		if (keys[i].name && cfg_near_miss(name, keys[i].name, best))
			*best_name = keys[i].name;
}

/*
 * The nearest key valid in the section, or NULL: [aggregate]'s (t NULL),
 * or every provider's then those of type t.
 */
static const char *key_suggest(const char *name, const struct cfg_type *t)
{
	const char *best_name = NULL;
	int best = 10;

	if (!t) {
		nearest_in(cfg_agg_keys, AK_NKEYS, name, &best, &best_name);
		nearest_in(agg_zone_keys, AGG_ZONE_NKEYS, name, &best,
			   &best_name);
		return best_name;
	}
	nearest_in(prov_keys, PK_NKEYS, name, &best, &best_name);
	nearest_in(t->keys, t->nkeys, name, &best, &best_name);
	return best_name;
}

static const struct cfg_type *type_of(enum cfg_provider_type type)
{
	for (int i = 0; i < cfg_ntypes; i++)
		if (cfg_types[i]->type == type)
			return cfg_types[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* phase 2: [provider NAME]                                             */

/* Section si's seen lines by slot: 0 where a key was never given. */
static int *seen_of(const struct loader *ld, int si)
{
	return &ld->seen[(size_t)si * SEEN_SLOTS];
}

/* The folder of the tz database, as tz_load() reads it. */
static const char *zone_dir(void)
{
	const char *d = getenv("TZDIR");

	return d && *d ? d : "/usr/share/zoneinfo";
}

/*
 * A zone name near the unknown `name`, into out: the same city in another
 * area ("Europe/Paris" for "Asia/Paris"), else the nearest name in its own
 * area ("Europe/Paris" for "Europe/Pariss").  False when none is near.
 */
static bool zone_suggest(const char *name, char *out, size_t n)
{
	const char *slash = strrchr(name, '/'), *city = slash ? slash + 1 : name;
	char area[256], path[1024];
	struct dirent *de;
	DIR *d;
	int best = 10;
	bool found = false;

	/* The same city in another area (not the posix/ and right/ copies). */
	if ((d = opendir(zone_dir()))) {
		while (!found && (de = readdir(d))) {
			struct stat st;

			if (de->d_name[0] == '.' || strcmp(de->d_name, "posix") == 0 ||
			    strcmp(de->d_name, "right") == 0)
				continue;
			snprintf(path, sizeof path, "%s/%s/%s", zone_dir(),
				 de->d_name, city);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
			    (size_t)snprintf(out, n, "%s/%s", de->d_name, city) < n)
				found = strcmp(out, name) != 0;
		}
		closedir(d);
	}
	if (found)
		return true;
	/* The nearest name in its own area (or at the top). */
	snprintf(area, sizeof area, "%.*s", slash ? (int)(slash - name) : 0,
		 name);
	snprintf(path, sizeof path, "%s/%s", zone_dir(), area);
	if (strstr(area, "..") || !(d = opendir(path)))
		return false;
	while ((de = readdir(d))) {
		char file[sizeof path + sizeof de->d_name + 2];
		struct stat st;
		int b = best;

		if (de->d_name[0] == '.' || !cfg_near_miss(city, de->d_name, &b))
			continue;
		snprintf(file, sizeof file, "%s/%s", path, de->d_name);
		if (stat(file, &st) == 0 && S_ISREG(st.st_mode) &&
		    (size_t)snprintf(out, n, "%s%s%s", area, slash ? "/" : "",
				     de->d_name) < n) {
			best = b;
			found = true;
		}
	}
	closedir(d);
	return found;
}

/* `timezone = Area/City`: the zone, loaded now (tz.h), into *slot. */
static int key_zone(const struct cfg_key *k, const char *v, struct tz **slot)
{
	char err[CFG_ERR_MAX], near[256];

	if (!*v)
		return cfg_bad_value(k, NULL, "empty time zone (e.g. Europe/Paris, UTC)");
	tz_free(*slot);
	*slot = tz_load(v, err, sizeof err);
	if (*slot)
		return 0;
	if (zone_suggest(v, near, sizeof near))
		return cfg_bad_value(k, NULL,
				     "unknown time zone (did you mean '%s'?)",
				     near);
	return cfg_bad_value(k, NULL,
			     "unknown time zone (an Area/City name of the tz database, e.g. Europe/Paris, or UTC)");
}

/*
 * shard = whole | split.  A query or URL splits through ${SHARD} (the
 * environment's, which the command line sets): without it in any of the
 * provider's values every shard would read everything.
 */
static int shard_key(struct loader *ld, const struct cfg_key *k,
		     struct cfg_provider *p, const char *v)
{
	if (strcmp(v, "whole") == 0)
		return 0;
	if (strcmp(v, "split") != 0)
		return cfg_bad_value(k, NULL, "whole or split");
	p->shard_split = true;
	if (p->type == CFG_PROV_FILE)
		return 0;
	for (int i = 0; i < ld->doc.nents; i++)
		if (ld->doc.ents[i].sect == k->e->sect &&
		    memmem(ld->doc.ents[i].val.p, ld->doc.ents[i].val.len,
			   "${SHARD}", 8) != NULL)
			return 0;
	return cfg_fail(&ld->doc, k->e->line,
			"shard = split needs ${SHARD} in the provider's query or "
			"url (and ${SHARDS} as needed), so that each shard reads "
			"its own rows");
}

/* The keys every provider has; its type's own go to its cfg_type. */
static int apply_provider(struct loader *ld, const struct cfg_key *k,
			  struct cfg_provider *p, enum prov_key id, char **vp)
{
	char *v = *vp;
	long l;

	switch (id) {
	case PK_TYPE:
		return 0; /* parsed first, in resolve() */
	case PK_MAP: {
		/* Only the declared fields come from a source. */
		struct rec_schema decl = { ld->cfg->nfields_declared,
					   ld->cfg->schema.fields };

		return cfg_schema_map(k, &decl, &p->source, v);
	}
	case PK_WHERE:
		return cfg_derive_where(k, ld->cfg, v, &p->where);
	case PK_ENABLED:
		return cfg_key_bool(k, v, &p->enabled);
	case PK_TIMEZONE:
		return key_zone(k, v, &p->tz);
	case PK_RESTART:
		if (cfg_key_long(k, v, 0, INT_MAX, &l) < 0)
			return -1;
		p->restart = (int)l;
		return 0;
	case PK_STALL_TIMEOUT:
		return cfg_key_stall_timeout(k, v, &p->stall_timeout_ms);
	case PK_MEMORY_LIMIT:
		return cfg_key_size(k, v, &p->memory_limit);
	case PK_MAX_REJECTS:
		return cfg_key_long(k, v, 0, LONG_MAX, &p->max_rejects);
	case PK_SHARD:
		return shard_key(ld, k, p, v);
	default:
		break;
	}
	return cfg_fail(&ld->doc, k->e->line, "internal error: key '%s'",
			k->e->key);
}

/* ------------------------------------------------------------------ */
/* phase 2: the driver                                                  */

/* "http, postgres, sqlite or file": the type names, for messages. */
static const char *type_list(char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < cfg_ntypes && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s",
					i == 0 ? "" :
					i == cfg_ntypes - 1 ? " or " : ", ",
					cfg_types[i]->name);
	return buf;
}

/*
 * Parse every provider's type (and give it its type's options), then
 * [aggregate] fields: all else needs them.
 */
static int resolve_types_and_fields(struct loader *ld)
{
	struct cfg *cfg = ld->cfg;
	const struct cfg_entry *e;
	struct cfg_key k;
	char types[128], why[160];
	char *v;
	int rc;

	type_list(types, sizeof types);
	for (int si = 0; si < ld->doc.nsects; si++) {
		const struct cfg_type *t = NULL;
		struct cfg_provider *p;

		if (ld->doc.sects[si].kind != CFG_SECT_PROVIDER)
			continue;
		p = &cfg->providers[ld->doc.sects[si].prov];
		e = cfg_find_entry(&ld->doc, si, "type");
		if (!e) {
			snprintf(why, sizeof why, " (%s)", types);
			return cfg_missing_key(&ld->doc, si, "type", why);
		}
		v = cfg_expand(&ld->doc, e);
		if (!v)
			return -1;
		for (int i = 0; i < cfg_ntypes; i++)
			if (strcmp(v, cfg_types[i]->name) == 0)
				t = cfg_types[i];
		if (!t) {
			k = (struct cfg_key){ .doc = &ld->doc, .e = e, .val = v };
			cfg_bad_value(&k, v, "expected %s", types);
			free(v);
			return -1;
		}
		free(v);
		p->type = t->type;
		assert(t->nkeys <= CFG_TYPE_KEYS_MAX);
		if (t->init(p) < 0)
			return cfg_fail_oom(&ld->doc);
	}
	if (ld->doc.agg_sect < 0)
		return cfg_fail(&ld->doc, 0, "missing [aggregate] section");
	e = cfg_find_entry(&ld->doc, ld->doc.agg_sect, "fields");
	if (!e)
		return cfg_missing_key(&ld->doc, ld->doc.agg_sect, "fields",
				       " (name:type, ...)");
	v = cfg_expand(&ld->doc, e);
	if (!v)
		return -1;
	k = (struct cfg_key){ .doc = &ld->doc, .e = e, .val = v };
	rc = cfg_schema_fields(&k, &cfg->schema, v);
	free(v);
	if (rc < 0)
		return -1;
	cfg->nfields_declared = cfg->schema.nfields;
	/* The zone, which every field's reading and provider inherit. */
	e = cfg_find_entry(&ld->doc, ld->doc.agg_sect, "timezone");
	if (e) {
		v = cfg_expand(&ld->doc, e);
		if (!v)
			return -1;
		k = (struct cfg_key){ .doc = &ld->doc, .e = e, .val = v };
		rc = key_zone(&k, v, &cfg->tz);
		free(v);
		if (rc < 0)
			return -1;
		for (int i = 0; i < cfg->schema.nfields; i++)
			cfg_schema_set_zone(&cfg->schema.fields[i], cfg->tz);
	}
	/* The derived fields, then where, which may read them. */
	e = cfg_find_entry(&ld->doc, ld->doc.agg_sect, "derive");
	if (e) {
		v = cfg_expand(&ld->doc, e);
		if (!v)
			return -1;
		k = (struct cfg_key){ .doc = &ld->doc, .e = e, .val = v };
		rc = cfg_derive_list(&k, cfg, v);
		free(v);
		if (rc < 0)
			return -1;
	}
	/* Later fields (group_by's, hidden ones) are not a union's. */
	cfg->nfields_union = cfg->schema.nfields;
	e = cfg_find_entry(&ld->doc, ld->doc.agg_sect, "where");
	if (e) {
		v = cfg_expand(&ld->doc, e);
		if (!v)
			return -1;
		k = (struct cfg_key){ .doc = &ld->doc, .e = e, .val = v };
		rc = cfg_derive_where(&k, cfg, v, &cfg->where);
		free(v);
	}
	return rc;
}

/*
 * A key not valid in its section: one of another type, else the nearest
 * valid one, else where it belongs, else unknown.  Returns -1.
 */
static int bad_key(struct loader *ld, const struct cfg_entry *e,
		   const struct cfg_provider *p, const struct cfg_type *t)
{
	const char *sugg = key_suggest(e->key, t);
	bool agg_key = key_in(cfg_agg_keys, AK_NKEYS, e->key) >= 0;
	bool prov_key = key_in(prov_keys, PK_NKEYS, e->key) >= 0 ||
			any_type_key(e->key);
	char sd[CFG_SECT_DESC_MAX];

	cfg_sect_desc(&ld->doc, e->sect, sd, sizeof sd);
	if (p && prov_key)
		return cfg_fail(&ld->doc, e->line,
				"key '%s' is not valid for a provider of type %s",
				e->key, t->name);
	if (sugg)
		return cfg_fail(&ld->doc, e->line,
				"unknown key '%s' in %s (did you mean '%s'?)",
				e->key, sd, sugg);
	if (agg_key && p)
		return cfg_fail(&ld->doc, e->line,
				"unknown key '%s' in %s (it belongs in [aggregate])",
				e->key, sd);
	if (prov_key)
		return cfg_fail(&ld->doc, e->line,
				"unknown key '%s' in %s (it belongs in a [provider NAME] section)",
				e->key, sd);
	return cfg_fail(&ld->doc, e->line, "unknown key '%s' in %s", e->key,
			sd);
}

/* Check the key of e is known here and not given twice, then apply it. */
static int apply_entry(struct loader *ld, const struct cfg_entry *e)
{
	const struct cfg_sect *s = &ld->doc.sects[e->sect];
	const struct cfg_type *t = NULL;
	struct cfg_provider *p = NULL;
	struct cfg_key k = { .doc = &ld->doc, .e = e };
	int id, tk = -1, *seen;
	bool repeat = false;
	char sd[CFG_SECT_DESC_MAX];
	char *v;
	int rc;

	if (s->kind == CFG_SECT_PROVIDER) {
		p = &ld->cfg->providers[s->prov];
		t = type_of(p->type);
		id = key_in(prov_keys, PK_NKEYS, e->key);
		if (id < 0)
			tk = key_in(t->keys, t->nkeys, e->key);
		if (id < 0 && tk < 0)
			return bad_key(ld, e, p, t);
	} else if (s->kind == CFG_SECT_OUTPUT) {
		id = cfg_out_key(e->key);
		if (id < 0)
			return cfg_out_bad_key(&ld->doc, e);
		k.secret = id == AK_OUTPUT &&
			   ld->cfg->outputs[s->prov].format == CFG_FMT_POSTGRES;
	} else {
		id = key_in(cfg_agg_keys, AK_NKEYS, e->key);
		if (id < 0 && key_in(agg_zone_keys, AGG_ZONE_NKEYS, e->key) >= 0)
			id = AK_NKEYS + key_in(agg_zone_keys, AGG_ZONE_NKEYS,
					       e->key);
		if (id < 0)
			return bad_key(ld, e, NULL, NULL);
		k.secret = cfg_agg_secret(ld->cfg, id);
	}
	seen = &seen_of(ld, e->sect)[tk >= 0 ? PK_NKEYS + tk : id];
	if (tk >= 0) {
		k.secret = t->keys[tk].flags & CFG_KEY_SECRET;
		repeat = t->keys[tk].flags & CFG_KEY_REPEAT;
	}
	if (*seen && !repeat)
		return cfg_fail(&ld->doc, e->line,
				"duplicate key '%s' in %s (first set at line %d)",
				e->key, cfg_sect_desc(&ld->doc, e->sect, sd,
						      sizeof sd), *seen);
	if (!*seen)
		*seen = e->line;

	v = cfg_expand(&ld->doc, e);
	if (!v)
		return -1;
	k.val = v;
	if (tk >= 0)
		rc = t->apply(&k, tk, p, &v);
	else if (s->kind == CFG_SECT_OUTPUT)
		rc = cfg_out_apply(&k, ld->cfg, s->prov, id, &v);
	else if (!p && id >= AK_NKEYS)
		rc = 0; /* zone, derive, where: read with the fields */
	else if (p)
		rc = apply_provider(ld, &k, p, (enum prov_key)id, &v);
	else
		rc = cfg_agg_apply(&k, id, ld->cfg, &v);
	free(v);
	return rc;
}

/* A provider's type checks, its sources, what it inherits. */
static int resolve_provider(struct loader *ld, int si)
{
	struct cfg *cfg = ld->cfg;
	struct cfg_provider *p = &cfg->providers[ld->doc.sects[si].prov];
	const int *seen = seen_of(ld, si);
	struct cfg_check c = { .doc = &ld->doc, .si = si,
			       .seen = seen + PK_NKEYS };
	/* A provider reads and converts the declared fields only. */
	struct rec_schema decl = { cfg->nfields_declared, cfg->schema.fields };

	if (type_of(p->type)->check(&c, p) < 0)
		return -1;
	if (cfg_schema_sources(&ld->doc, &decl, &p->source) < 0)
		return -1;
	if (cfg_schema_copy(&p->schema, &decl, p->tz ? p->tz : cfg->tz) < 0)
		return cfg_fail_oom(&ld->doc);
	if (!seen[PK_RESTART])
		p->restart = cfg->restart;
	if (!seen[PK_STALL_TIMEOUT])
		p->stall_timeout_ms = cfg->stall_timeout_ms;
	if (!seen[PK_MEMORY_LIMIT])
		p->memory_limit = cfg->memory_limit;
	if (!seen[PK_MAX_REJECTS])
		p->max_rejects = cfg->max_rejects;
	return 0;
}

static int resolve(struct loader *ld)
{
	struct cfg *cfg = ld->cfg;
	bool any_enabled = false;

	ld->seen = calloc((size_t)(ld->doc.nsects ? ld->doc.nsects : 1) *
			  SEEN_SLOTS, sizeof *ld->seen);
	if (!ld->seen)
		return cfg_fail_oom(&ld->doc);
	if (resolve_types_and_fields(ld) < 0)
		return -1;
	for (int i = 0; i < ld->doc.nents; i++)
		if (apply_entry(ld, &ld->doc.ents[i]) < 0)
			return -1;
	if (cfg_agg_check(&(struct cfg_check){ .doc = &ld->doc,
					       .si = ld->doc.agg_sect,
					       .seen = seen_of(ld, ld->doc.agg_sect) },
			  cfg) < 0)
		return -1;
	for (int si = 0; si < ld->doc.nsects; si++) {
		const struct cfg_sect *sc = &ld->doc.sects[si];
		if (sc->kind == CFG_SECT_OUTPUT &&
		    cfg_out_check(&(struct cfg_check){ .doc = &ld->doc,
						       .si = si,
						       .seen = seen_of(ld, si) },
				  cfg, sc->prov) < 0)
			return -1;
	}
	for (int si = 0; si < ld->doc.nsects; si++)
		if (ld->doc.sects[si].kind == CFG_SECT_PROVIDER &&
		    resolve_provider(ld, si) < 0)
			return -1;
	for (int i = 0; i < cfg->nproviders; i++)
		any_enabled |= cfg->providers[i].enabled;
	if (!any_enabled)
		return cfg_fail(&ld->doc, 0, cfg->nproviders ?
				"no enabled provider: every [provider NAME] has enabled = false" :
				"no provider: add a [provider NAME] section");
	return 0;
}

/* ------------------------------------------------------------------ */
/* the API                                                              */

/* One struct cfg_provider, with its defaults, per [provider NAME]. */
static int make_providers(struct loader *ld)
{
	struct cfg *cfg = ld->cfg;

	if (ld->doc.nprovs == 0)
		return 0;
	cfg->providers = calloc((size_t)ld->doc.nprovs, sizeof *cfg->providers);
	if (!cfg->providers)
		return cfg_fail_oom(&ld->doc);
	for (int si = 0; si < ld->doc.nsects; si++) {
		const struct cfg_sect *s = &ld->doc.sects[si];
		struct cfg_provider *p;

		if (s->kind != CFG_SECT_PROVIDER)
			continue;
		p = &cfg->providers[cfg->nproviders++];
		p->name = strdup(s->name);
		p->line = s->line;
		p->enabled = true;
		p->batch = 10000;
		if (!p->name)
			return cfg_fail_oom(&ld->doc);
	}
	return 0;
}

static int load(const char *name, const char *text, size_t len,
		struct cfg *cfg, char *err, size_t errlen)
{
	struct loader ld = {
		.doc = { .name = name, .err = err, .errlen = errlen },
		.cfg = cfg,
	};
	int rc = -1;

	memset(cfg, 0, sizeof *cfg);
	cfg->path = strdup(name);
	if (!cfg->path || cfg_agg_defaults(cfg) < 0) {
		cfg_fail_oom(&ld.doc);
		goto out_free_loader;
	}
	if (cfg_read(&ld.doc, text, len) < 0 || make_providers(&ld) < 0 ||
	    cfg_out_make(&ld.doc, cfg) < 0 || resolve(&ld) < 0)
		goto out_free_loader;
	rc = 0;

out_free_loader:
	cfg_doc_free(&ld.doc);
	free(ld.seen);
	if (rc < 0)
		cfg_free(cfg);
	return rc;
}

int cfg_load_string(const char *name, const char *text, struct cfg *cfg,
		    char *err, size_t errlen)
{
	return load(name, text, strlen(text), cfg, err, errlen);
}

int cfg_load(const char *path, struct cfg *cfg, char *err, size_t errlen,
	     int *exit_code)
{
	struct buf buf = { 0 };
	FILE *f;
	int rc = -1;

	memset(cfg, 0, sizeof *cfg);
	*exit_code = 66;
	f = fopen(path, "r");
	if (!f) {
		cfg_set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	for (;;) {
		char chunk[8192];
		size_t n = fread(chunk, 1, sizeof chunk, f);

		if (n > 0 && buf_add(&buf, chunk, n) < 0) {
			cfg_set_err(err, errlen, "cannot read %s: %s", path,
				    strerror(ENOMEM));
			goto out_close_file;
		}
		if (n < sizeof chunk) {
			if (ferror(f)) {
				cfg_set_err(err, errlen, "cannot read %s: %s", path,
					    strerror(errno));
				goto out_close_file;
			}
			break;
		}
	}
	*exit_code = 78;
	rc = load(path, buf_str(&buf), buf.len, cfg, err, errlen);
	if (rc == 0)
		*exit_code = 0;

out_close_file:
	fclose(f);
out:
	buf_free(&buf);
	return rc;
}

/*
 * The fields read from sources (a provider's sources and schema have these
 * only); all of them in a struct cfg built by hand, which has no derived.
 */
static int declared(const struct cfg *cfg)
{
	return cfg->derive ? cfg->nfields_declared : cfg->schema.nfields;
}

static void prov_free(struct cfg_provider *p, int nfields)
{
	const struct cfg_type *t = type_of(p->type);

	expr_free(p->where);
	if (p->source)
		for (int i = 0; i < nfields; i++)
			free(p->source[i]);
	free(p->source);
	free(p->name);
	free(p->schema.fields);
	tz_free(p->tz);
	if (t)
		t->free(p);
}

int cfg_select(struct cfg *cfg, const char *names, char *err, size_t errlen)
{
	bool *keep = NULL, any = false, enabled = false;
	char *list = NULL, *rest, *item;
	int n = 0, rc = -1;

	if (cfg->nproviders == 0) {
		cfg_set_err(err, errlen, "--only: no provider to select");
		return -1;
	}
	keep = calloc((size_t)cfg->nproviders, sizeof *keep);
	list = strdup(names);
	if (!keep || !list) {
		cfg_set_err(err, errlen, "out of memory");
		goto out_free;
	}
	rest = list;
	while ((item = cfg_next_item(&rest))) {
		int i;

		if (!*item)
			continue;
		for (i = 0; i < cfg->nproviders; i++)
			if (strcmp(cfg->providers[i].name, item) == 0)
				break;
		if (i == cfg->nproviders) {
			char eb[CFG_ECHO_BUF];
			const char *near = NULL;
			int best = 10;

			for (int j = 0; j < cfg->nproviders; j++)
				if (cfg_near_miss(item, cfg->providers[j].name,
						  &best))
					near = cfg->providers[j].name;
			if (near)
				cfg_set_err(err, errlen,
					    "--only: unknown provider '%s' (did you mean '%s'?)",
					    cfg_echo(item, eb, sizeof eb), near);
			else
				cfg_set_err(err, errlen,
					    "--only: unknown provider '%s'",
					    cfg_echo(item, eb, sizeof eb));
			goto out_free;
		}
		keep[i] = true;
		any = true;
	}
	if (!any) {
		cfg_set_err(err, errlen, "--only: no provider named");
		goto out_free;
	}
	for (int i = 0; i < cfg->nproviders; i++)
		enabled |= keep[i] && cfg->providers[i].enabled;
	if (!enabled) {
		cfg_set_err(err, errlen,
			    "--only: every provider selected has enabled = false");
		goto out_free;
	}
	for (int i = 0; i < cfg->nproviders; i++) {
		if (keep[i])
			cfg->providers[n++] = cfg->providers[i];
		else
			prov_free(&cfg->providers[i], declared(cfg));
	}
	cfg->nproviders = n;
	rc = 0;

out_free:
	free(list);
	free(keep);
	return rc;
}

void cfg_provider_view(const struct cfg *cfg, struct cfg *view)
{
	*view = *cfg;
	view->schema.nfields = declared(cfg);
}

void cfg_free(struct cfg *cfg)
{
	if (!cfg)
		return;
	cfg_out_free(cfg);
	for (int i = 0; i < cfg->nproviders; i++)
		prov_free(&cfg->providers[i], declared(cfg));
	free(cfg->providers);
	cfg_derive_free(cfg);
	cfg_schema_free(&cfg->schema);
	tz_free(cfg->tz);
	for (int i = 0; i < cfg->naggs; i++)
		free(cfg->aggs[i].name);
	free(cfg->aggs);
	free(cfg->group_by);
	free(cfg->path);
	free(cfg->output);
	free(cfg->table);
	free(cfg->reject_file);
	free(cfg->lock_file);
	free(cfg->metrics_file);
	free(cfg->state_dir);
	free(cfg->trace_file);
	free(cfg->order_by_text);
	free(cfg->order_by);
	free(cfg->having);
	expr_free(cfg->having_prog);
	memset(cfg, 0, sizeof *cfg);
}
