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
 * Phase 1 is config_read.c; the values are parsed by config_value.c and
 * reported on through config_key.c, the schema by config_schema.c.  This
 * file holds phase 2's driver, the key table (which key is valid where),
 * the keys of [aggregate] and of each provider type, the resolution of
 * defaults and of the output, and the public API.
 *
 * Invariants: after a successful load every string the header promises is
 * non-NULL where it says so, every index is valid, cfg->format is never
 * AUTO, and every provider's restart/stall_timeout/memory_limit/max_rejects
 * hold the value to use.  On failure the struct cfg is left zeroed, nothing
 * allocated.  Secret values (http `header`, `conninfo`, `body`, `url`, a
 * postgres `output`) are never copied into an error message.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../ipc/ring.h"
#include "buf.h"
#include "config_key.h"
#include "config_read.h"
#include "config_schema.h"
#include "config_value.h"

enum key_id {
	K_OUTPUT, K_FORMAT, K_TABLE, K_WRITE, K_FIELDS, K_MODE, K_GROUP_BY,
	K_AGGREGATES, K_ON_ERROR, K_RESTART, K_BACKOFF, K_BACKOFF_MAX,
	K_STALL_TIMEOUT, K_TIMEOUT, K_MEMORY_LIMIT, K_RING_SIZE,
	K_REJECT_FILE, K_MAX_REJECTS, K_LOCK_FILE, K_METRICS_FILE,
	K_TYPE, K_MAP, K_ENABLED, K_PATH, K_DELIMITER, K_QUOTE, K_HEADER,
	K_NULL, K_QUERY, K_KEY, K_BATCH, K_CONNINFO, K_SNAPSHOT, K_URL,
	K_PAGINATION, K_PAGE_START, K_CURSOR_PATH, K_CURSOR_PARAM, K_RECORDS,
	K_RESPONSE, K_CONCURRENCY, K_METHOD, K_BODY, K_CONNECT_TIMEOUT,
	K_RETRIES, K_RATE_LIMIT, K_MAX_RESPONSE, K_CA_FILE, K_INSECURE,
	K_NKEYS
};

/* Where a key is valid: [aggregate], or providers of these types. */
#define M_AGG    0x01u
#define M_HTTP   0x02u
#define M_PG     0x04u
#define M_SQLITE 0x08u
#define M_FILE   0x10u
#define M_PROV   (M_HTTP | M_PG | M_SQLITE | M_FILE)

static const struct key_def {
	const char *name;
	enum key_id id;
	unsigned mask;
} key_defs[] = {
	{ "output", K_OUTPUT, M_AGG },
	{ "format", K_FORMAT, M_AGG | M_FILE },
	{ "table", K_TABLE, M_AGG },
	{ "write", K_WRITE, M_AGG },
	{ "fields", K_FIELDS, M_AGG },
	{ "mode", K_MODE, M_AGG },
	{ "group_by", K_GROUP_BY, M_AGG },
	{ "aggregates", K_AGGREGATES, M_AGG },
	{ "on_error", K_ON_ERROR, M_AGG },
	{ "restart", K_RESTART, M_AGG | M_PROV },
	{ "backoff", K_BACKOFF, M_AGG },
	{ "backoff_max", K_BACKOFF_MAX, M_AGG },
	{ "stall_timeout", K_STALL_TIMEOUT, M_AGG | M_PROV },
	{ "timeout", K_TIMEOUT, M_AGG | M_HTTP },
	{ "memory_limit", K_MEMORY_LIMIT, M_AGG | M_PROV },
	{ "ring_size", K_RING_SIZE, M_AGG },
	{ "reject_file", K_REJECT_FILE, M_AGG },
	{ "max_rejects", K_MAX_REJECTS, M_AGG | M_PROV },
	{ "lock_file", K_LOCK_FILE, M_AGG },
	{ "metrics_file", K_METRICS_FILE, M_AGG },
	{ "type", K_TYPE, M_PROV },
	{ "map", K_MAP, M_PROV },
	{ "enabled", K_ENABLED, M_PROV },
	{ "path", K_PATH, M_FILE | M_SQLITE },
	{ "delimiter", K_DELIMITER, M_FILE },
	{ "quote", K_QUOTE, M_FILE },
	{ "header", K_HEADER, M_FILE | M_HTTP },
	{ "null", K_NULL, M_FILE },
	{ "query", K_QUERY, M_SQLITE | M_PG },
	{ "key", K_KEY, M_SQLITE | M_PG },
	{ "batch", K_BATCH, M_SQLITE | M_PG },
	{ "conninfo", K_CONNINFO, M_PG },
	{ "snapshot", K_SNAPSHOT, M_PG },
	{ "url", K_URL, M_HTTP },
	{ "pagination", K_PAGINATION, M_HTTP },
	{ "page_start", K_PAGE_START, M_HTTP },
	{ "cursor_path", K_CURSOR_PATH, M_HTTP },
	{ "cursor_param", K_CURSOR_PARAM, M_HTTP },
	{ "records", K_RECORDS, M_HTTP },
	{ "response", K_RESPONSE, M_HTTP },
	{ "concurrency", K_CONCURRENCY, M_HTTP },
	{ "method", K_METHOD, M_HTTP },
	{ "body", K_BODY, M_HTTP },
	{ "connect_timeout", K_CONNECT_TIMEOUT, M_HTTP },
	{ "retries", K_RETRIES, M_HTTP },
	{ "rate_limit", K_RATE_LIMIT, M_HTTP },
	{ "max_response", K_MAX_RESPONSE, M_HTTP },
	{ "ca_file", K_CA_FILE, M_HTTP },
	{ "insecure", K_INSECURE, M_HTTP },
};
#define NKEY_DEFS (sizeof key_defs / sizeof key_defs[0])

static const struct {
	const char *name;
	enum cfg_provider_type type;
	unsigned mask;
} prov_types[] = {
	{ "http", CFG_PROV_HTTP, M_HTTP },
	{ "postgres", CFG_PROV_POSTGRES, M_PG },
	{ "sqlite", CFG_PROV_SQLITE, M_SQLITE },
	{ "file", CFG_PROV_FILE, M_FILE },
};
#define NPROV_TYPES (sizeof prov_types / sizeof prov_types[0])

/* Phase 2's state: what the reader collected, and what is resolved. */
struct loader {
	struct cfg_doc doc;     /* phase 1's sections and entries */
	struct cfg *cfg;

	/* seen[si * K_NKEYS + k] = line of key k in section si */
	int *seen;
};

static const struct key_def *key_lookup(const char *name)
{
	for (size_t i = 0; i < NKEY_DEFS; i++)
		if (strcmp(key_defs[i].name, name) == 0)
			return &key_defs[i];
	return NULL;
}

/* The nearest known key valid under mask, or NULL. */
static const char *key_suggest(const char *name, unsigned mask)
{
	const char *best_name = NULL;
	int best = 10;

	for (size_t i = 0; i < NKEY_DEFS; i++)
		if ((key_defs[i].mask & mask) &&
		    cfg_near_miss(name, key_defs[i].name, &best))
			best_name = key_defs[i].name;
	return best_name;
}

static unsigned type_mask(enum cfg_provider_type t)
{
	for (size_t i = 0; i < NPROV_TYPES; i++)
		if (prov_types[i].type == t)
			return prov_types[i].mask;
	return 0;
}

static const char *type_name(enum cfg_provider_type t)
{
	for (size_t i = 0; i < NPROV_TYPES; i++)
		if (prov_types[i].type == t)
			return prov_types[i].name;
	return "?";
}

/* True for the values never to be quoted back: credentials live there. */
static bool is_secret(const struct loader *ld, const struct cfg_entry *e,
		      enum key_id k)
{
	const struct cfg_sect *s = &ld->doc.sects[e->sect];

	if (s->kind == CFG_SECT_AGGREGATE)
		return k == K_OUTPUT && ld->cfg->format == CFG_FMT_POSTGRES;
	if (k == K_HEADER)
		return ld->cfg->providers[s->prov].type == CFG_PROV_HTTP;
	return k == K_CONNINFO || k == K_BODY || k == K_URL;
}

/* Output format from the extension; -1 if unknown. */
static int format_from_ext(const char *path, enum cfg_format *f)
{
	const char *base = strrchr(path, '/'), *dot;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (!dot)
		return -1;
	dot++;
	if (strcasecmp(dot, "csv") == 0)
		*f = CFG_FMT_CSV;
	else if (strcasecmp(dot, "jsonl") == 0 || strcasecmp(dot, "ndjson") == 0)
		*f = CFG_FMT_JSONL;
	else if (strcasecmp(dot, "db") == 0 || strcasecmp(dot, "sqlite") == 0 ||
		 strcasecmp(dot, "sqlite3") == 0)
		*f = CFG_FMT_SQLITE;
	else
		return -1;
	return 0;
}

/* Looks like a libpq connection string rather than a file name. */
static bool looks_like_conninfo(const char *s)
{
	return strchr(s, '=') || strncasecmp(s, "postgres://", 11) == 0 ||
	       strncasecmp(s, "postgresql://", 13) == 0;
}

/* ------------------------------------------------------------------ */
/* phase 2: [aggregate]                                                 */

static int apply_aggregate(struct loader *ld, const struct cfg_key *k,
			   enum key_id id, char **vp)
{
	struct cfg *cfg = ld->cfg;
	char *v = *vp;
	long l;
	int iv;

	switch (id) {
	case K_OUTPUT:
		return cfg_key_string(k, &cfg->output, vp);
	case K_FORMAT: {
		static const char *const names[] = { "csv", "jsonl", "ndjson",
			"sqlite", "postgres", NULL };
		static const int vals[] = { CFG_FMT_CSV, CFG_FMT_JSONL,
			CFG_FMT_JSONL, CFG_FMT_SQLITE, CFG_FMT_POSTGRES };

		if (cfg_parse_enum(v, names, vals, &iv) < 0)
			return cfg_bad_value(k, NULL,
					     "expected csv, jsonl, sqlite or postgres");
		cfg->format = (enum cfg_format)iv;
		cfg->format_given = true;
		return 0;
	}
	case K_TABLE: {
		char *dot = strchr(v, '.');
		bool ok;

		if (dot) {
			*dot = '\0';
			ok = cfg_is_ident(v) && cfg_is_ident(dot + 1);
			*dot = '.';
		} else {
			ok = cfg_is_ident(v);
		}
		if (!ok)
			return cfg_bad_value(k, NULL,
					     "expected a table name (letters, digits, '_'; optionally schema.table)");
		return cfg_key_string(k, &cfg->table, vp);
	}
	case K_WRITE: {
		static const char *const names[] = { "replace", "append", NULL };
		static const int vals[] = { CFG_WRITE_REPLACE, CFG_WRITE_APPEND };

		if (cfg_parse_enum(v, names, vals, &iv) < 0)
			return cfg_bad_value(k, NULL,
					     "expected replace or append");
		cfg->write = (enum cfg_write)iv;
		return 0;
	}
	case K_FIELDS:
		return 0; /* parsed first, in resolve() */
	case K_MODE: {
		static const char *const names[] = { "union", "group", NULL };
		static const int vals[] = { CFG_MODE_UNION, CFG_MODE_GROUP };

		if (cfg_parse_enum(v, names, vals, &iv) < 0)
			return cfg_bad_value(k, NULL, "expected union or group");
		cfg->mode = (enum cfg_mode)iv;
		return 0;
	}
	case K_GROUP_BY:
		return cfg_schema_group_by(k, cfg, v);
	case K_AGGREGATES:
		return cfg_schema_aggregates(k, cfg, v);
	case K_ON_ERROR: {
		static const char *const names[] = { "fail", "partial", NULL };
		static const int vals[] = { CFG_ON_ERROR_FAIL,
			CFG_ON_ERROR_PARTIAL };

		if (cfg_parse_enum(v, names, vals, &iv) < 0)
			return cfg_bad_value(k, NULL, "expected fail or partial");
		cfg->on_error = (enum cfg_on_error)iv;
		return 0;
	}
	case K_RESTART:
		if (cfg_key_long(k, v, 0, INT_MAX, &l) < 0)
			return -1;
		cfg->restart = (int)l;
		return 0;
	case K_BACKOFF:
		return cfg_key_duration(k, v, true, &cfg->backoff_ms);
	case K_BACKOFF_MAX:
		return cfg_key_duration(k, v, true, &cfg->backoff_max_ms);
	case K_STALL_TIMEOUT:
		return cfg_key_stall_timeout(k, v, &cfg->stall_timeout_ms);
	case K_TIMEOUT:
		return cfg_key_duration(k, v, true, &cfg->timeout_ms);
	case K_MEMORY_LIMIT:
		return cfg_key_size(k, v, &cfg->memory_limit);
	case K_RING_SIZE:
		if (cfg_key_size(k, v, &cfg->ring_size) < 0)
			return -1;
		if (cfg->ring_size < RING_MIN_CAPACITY ||
		    cfg->ring_size > RING_MAX_CAPACITY)
			return cfg_bad_value(k, NULL,
					     "must be from 64K to 16G");
		return 0;
	case K_REJECT_FILE:
		return cfg_key_string(k, &cfg->reject_file, vp);
	case K_MAX_REJECTS:
		return cfg_key_long(k, v, 0, LONG_MAX, &cfg->max_rejects);
	case K_LOCK_FILE:
		cfg->lock_file_given = true;
		return cfg_key_string(k, &cfg->lock_file, vp);
	case K_METRICS_FILE:
		return cfg_key_string(k, &cfg->metrics_file, vp);
	default:
		break;
	}
	return cfg_fail(&ld->doc, k->e->line, "internal error: key '%s'",
			k->e->key);
}

/* ------------------------------------------------------------------ */
/* phase 2: [provider NAME]                                             */

/* Line where key k was first given in section si; 0: never (a default). */
static int seen_line(const struct loader *ld, int si, enum key_id k)
{
	return ld->seen[(size_t)si * K_NKEYS + k];
}

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if (iscntrl((unsigned char)*s))
			return true;
	return false;
}

/* "Name: value" with an RFC 9110 token for the name. */
static bool is_header(const char *s)
{
	size_t n = strspn(s, "!#$%&'*+-.^_`|~0123456789"
			     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

	return n > 0 && s[n] == ':' && !has_ctl(s);
}

static int apply_provider(struct loader *ld, const struct cfg_key *k,
			  struct cfg_provider *p, enum key_id id, char **vp)
{
	char *v = *vp;
	long l;
	int iv;

	switch (id) {
	case K_TYPE:
		return 0; /* parsed first, in resolve() */
	case K_MAP:
		return cfg_schema_map(k, &ld->cfg->schema, &p->source, v);
	case K_ENABLED:
		return cfg_key_bool(k, v, &p->enabled);
	case K_RESTART:
		if (cfg_key_long(k, v, 0, INT_MAX, &l) < 0)
			return -1;
		p->restart = (int)l;
		return 0;
	case K_STALL_TIMEOUT:
		return cfg_key_stall_timeout(k, v, &p->stall_timeout_ms);
	case K_MEMORY_LIMIT:
		return cfg_key_size(k, v, &p->memory_limit);
	case K_MAX_REJECTS:
		return cfg_key_long(k, v, 0, LONG_MAX, &p->max_rejects);
	case K_PATH:
		return cfg_key_string(k, &p->path, vp);
	case K_FORMAT: {
		static const char *const names[] = { "csv", "jsonl", "ndjson",
			NULL };
		static const int vals[] = { CFG_FMT_CSV, CFG_FMT_JSONL,
			CFG_FMT_JSONL };

		if (cfg_parse_enum(v, names, vals, &iv) < 0)
			return cfg_bad_value(k, NULL, "expected csv or jsonl");
		p->file_format = (enum cfg_format)iv;
		return 0;
	}
	case K_DELIMITER:
	case K_QUOTE: {
		char c;

		/*
		 * inih strips a literal tab and reads " ;" as a comment, so
		 * those two are spelt "\t" or "tab", and "semicolon".
		 */
		if (strcmp(v, "\\t") == 0 || strcmp(v, "tab") == 0)
			c = '\t';
		else if (strcmp(v, "semicolon") == 0)
			c = ';';
		else if (strlen(v) == 1 && !isspace((unsigned char)*v) &&
			 !iscntrl((unsigned char)*v) && !((unsigned char)*v & 0x80))
			c = *v;
		else if (id == K_DELIMITER)
			return cfg_bad_value(k, NULL,
					     "expected one ASCII character, tab or semicolon");
		else
			return cfg_bad_value(k, NULL,
					     "expected one ASCII character for the quote, such as \" or '");
		if (id == K_DELIMITER)
			p->delimiter = c;
		else
			p->quote = c;
		return 0;
	}
	case K_HEADER:
		if (p->type == CFG_PROV_FILE)
			return cfg_key_bool(k, v, &p->header);
		if (!is_header(v))
			return cfg_bad_value(k, NULL,
					     "expected 'Name: value' on one line");
		return cfg_key_append(k, &p->headers, &p->nheaders, vp);
	case K_NULL: {
		char *item, *rest = v;

		/* Each marker adds to the unquoted empty field, always NULL. */
		while ((item = cfg_next_item(&rest))) {
			char *m;

			if (!*item)
				continue;
			if (p->nnulls == CFG_MAX_NULLS)
				return cfg_bad_value(k, NULL,
						     "more than %d markers",
						     CFG_MAX_NULLS);
			m = strdup(item);
			if (!m || cfg_key_append(k, &p->nulls, &p->nnulls, &m) < 0) {
				free(m);
				return cfg_fail_oom(&ld->doc);
			}
		}
		return 0;
	}
	case K_QUERY:
		return cfg_key_string(k, &p->query, vp);
	case K_KEY:
		return cfg_key_string(k, &p->key, vp);
	case K_BATCH:
		return cfg_key_long(k, v, 1, INT_MAX, &p->batch);
	case K_CONNINFO:
		iv = cfg_conninfo_ok(v);
		if (iv < 0)
			return cfg_fail_oom(&ld->doc);
		if (iv == 0)
			return cfg_bad_value(k, NULL,
					     "not a libpq connection string (key=value ... or postgresql://...)");
		free(p->conninfo);
		p->conninfo = v;
		*vp = NULL;
		return 0;
	case K_SNAPSHOT:
		return cfg_key_bool(k, v, &p->snapshot);
	case K_URL:
		if (!(strncasecmp(v, "http://", 7) == 0 ||
		      strncasecmp(v, "https://", 8) == 0) ||
		    strpbrk(v, " \t") || has_ctl(v))
			return cfg_bad_value(k, NULL,
					     "expected an http:// or https:// URL on one line, without spaces");
		return cfg_key_append(k, &p->urls, &p->nurls, vp);
	case K_PAGINATION: {
		static const char *const names[] = { "none", "page", "cursor",
			"link", NULL };
		static const int vals[] = { CFG_PAGE_NONE, CFG_PAGE_PAGE,
			CFG_PAGE_CURSOR, CFG_PAGE_LINK };

		if (cfg_parse_enum(v, names, vals, &iv) < 0)
			return cfg_bad_value(k, NULL,
					     "expected none, page, cursor or link");
		p->pagination = (enum cfg_pagination)iv;
		return 0;
	}
	case K_PAGE_START:
		return cfg_key_long(k, v, 0, LONG_MAX, &p->page_start);
	case K_CURSOR_PATH:
		if (!*v || !cfg_is_json_pointer(v))
			return cfg_bad_value(k, NULL,
					     "expected a JSON pointer such as /next");
		return cfg_key_string(k, &p->cursor_path, vp);
	case K_CURSOR_PARAM:
		return cfg_key_string(k, &p->cursor_param, vp);
	case K_RECORDS:
		if (!cfg_is_json_pointer(v))
			return cfg_bad_value(k, NULL,
					     "expected a JSON pointer such as /items (empty: the body is the array)");
		free(p->records);
		p->records = v;
		*vp = NULL;
		return 0;
	case K_RESPONSE: {
		static const char *const names[] = { "json", "ndjson", NULL };
		static const int vals[] = { CFG_RESP_JSON, CFG_RESP_NDJSON };

		if (cfg_parse_enum(v, names, vals, &iv) < 0)
			return cfg_bad_value(k, NULL, "expected json or ndjson");
		p->response = (enum cfg_response)iv;
		return 0;
	}
	case K_CONCURRENCY:
		if (cfg_key_long(k, v, 1, 1024, &l) < 0)
			return -1;
		p->concurrency = (int)l;
		return 0;
	case K_METHOD:
		if (!*v || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(v))
			return cfg_bad_value(k, NULL,
					     "expected an upper-case HTTP method such as GET or POST");
		return cfg_key_string(k, &p->method, vp);
	case K_BODY:
		free(p->body);
		p->body = v;
		*vp = NULL;
		return 0;
	case K_TIMEOUT:
		return cfg_key_duration(k, v, false, &p->timeout_ms);
	case K_CONNECT_TIMEOUT:
		return cfg_key_duration(k, v, false,
					&p->connect_timeout_ms);
	case K_RETRIES:
		if (cfg_key_long(k, v, 0, 1000, &l) < 0)
			return -1;
		p->retries = (int)l;
		return 0;
	case K_RATE_LIMIT: {
		char *end;
		double r;

		errno = 0;
		r = strtod(v, &end);
		if (end == v || errno || !(r > 0) || r > 1e9)
			goto bad_rate;
		end = (char *)cfg_skip_space(end);
		if (strcmp(end, "/m") == 0)
			r /= 60;
		else if (strcmp(end, "/h") == 0)
			r /= 3600;
		else if (*end && strcmp(end, "/s") != 0)
			goto bad_rate;
		p->rate_limit = r;
		return 0;
bad_rate:
		return cfg_bad_value(k, NULL,
				     "expected requests per second or minute, such as 20/s or 100/m");
	}
	case K_MAX_RESPONSE:
		if (cfg_key_size(k, v, &p->max_response) < 0)
			return -1;
		if (p->max_response == 0)
			return cfg_bad_value(k, NULL, "must be more than 0");
		return 0;
	case K_CA_FILE:
		return cfg_key_string(k, &p->ca_file, vp);
	case K_INSECURE:
		return cfg_key_bool(k, v, &p->insecure);
	default:
		break;
	}
	return cfg_fail(&ld->doc, k->e->line, "internal error: key '%s'",
			k->e->key);
}

/* ------------------------------------------------------------------ */
/* phase 2: the driver                                                  */

/* Parse every provider's type, then [aggregate] fields: all else needs them. */
static int resolve_types_and_fields(struct loader *ld)
{
	struct cfg *cfg = ld->cfg;
	const struct cfg_entry *e;
	struct cfg_key k;
	char *v;
	int rc;

	for (int si = 0; si < ld->doc.nsects; si++) {
		struct cfg_provider *p;
		size_t i;

		if (ld->doc.sects[si].kind != CFG_SECT_PROVIDER)
			continue;
		p = &cfg->providers[ld->doc.sects[si].prov];
		e = cfg_find_entry(&ld->doc, si, "type");
		if (!e)
			return cfg_missing_key(&ld->doc, si, "type",
					       " (http, postgres, sqlite or file)");
		v = cfg_expand(&ld->doc, e);
		if (!v)
			return -1;
		for (i = 0; i < NPROV_TYPES; i++)
			if (strcmp(v, prov_types[i].name) == 0)
				p->type = prov_types[i].type;
		if (!p->type) {
			struct cfg_key k = { .doc = &ld->doc, .e = e, .val = v };

			cfg_bad_value(&k, v,
				      "expected http, postgres, sqlite or file");
			free(v);
			return -1;
		}
		free(v);
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
	return rc;
}

/* Check the key of e is known here and not given twice, then apply it. */
static int apply_entry(struct loader *ld, const struct cfg_entry *e)
{
	const struct cfg_sect *s = &ld->doc.sects[e->sect];
	const struct key_def *kd = key_lookup(e->key);
	struct cfg_provider *p = NULL;
	struct cfg_key k = { .doc = &ld->doc, .e = e };
	unsigned mask = M_AGG;
	int *seen;
	char sd[CFG_SECT_DESC_MAX];
	char *v;
	int rc;

	cfg_sect_desc(&ld->doc, e->sect, sd, sizeof sd);
	if (s->kind == CFG_SECT_PROVIDER) {
		p = &ld->cfg->providers[s->prov];
		mask = type_mask(p->type);
	}
	if (!kd || !(kd->mask & mask)) {
		const char *sugg = key_suggest(e->key, mask);

		if (kd && p && (kd->mask & M_PROV))
			return cfg_fail(&ld->doc, e->line,
					"key '%s' is not valid for a provider of type %s",
					e->key, type_name(p->type));
		if (sugg)
			return cfg_fail(&ld->doc, e->line,
					"unknown key '%s' in %s (did you mean '%s'?)",
					e->key, sd, sugg);
		if (kd && p)
			return cfg_fail(&ld->doc, e->line,
					"unknown key '%s' in %s (it belongs in [aggregate])",
					e->key, sd);
		if (kd)
			return cfg_fail(&ld->doc, e->line,
					"unknown key '%s' in %s (it belongs in a [provider NAME] section)",
					e->key, sd);
		return cfg_fail(&ld->doc, e->line, "unknown key '%s' in %s", e->key, sd);
	}
	seen = &ld->seen[(size_t)e->sect * K_NKEYS + kd->id];
	if (*seen && !(kd->id == K_URL ||
		       (kd->id == K_HEADER && p && p->type == CFG_PROV_HTTP)))
		return cfg_fail(&ld->doc, e->line,
				"duplicate key '%s' in %s (first set at line %d)",
				e->key, sd, *seen);
	if (!*seen)
		*seen = e->line;

	v = cfg_expand(&ld->doc, e);
	if (!v)
		return -1;
	k.val = v;
	k.secret = is_secret(ld, e, kd->id);
	if (p)
		rc = apply_provider(ld, &k, p, kd->id, &v);
	else
		rc = apply_aggregate(ld, &k, kd->id, &v);
	free(v);
	return rc;
}

static int resolve_aggregate(struct loader *ld)
{
	struct cfg *cfg = ld->cfg;
	int si = ld->doc.agg_sect;
	char sd[CFG_SECT_DESC_MAX] = "[aggregate]";
	char eb[CFG_ECHO_BUF];
	enum cfg_format f;

	if (!cfg->output)
		return cfg_missing_key(&ld->doc, si, "output", NULL);

	/* mode */
	if (!seen_line(ld, si, K_MODE)) {
		cfg->mode = cfg->ngroup_by || cfg->naggs ? CFG_MODE_GROUP
							 : CFG_MODE_UNION;
	} else if (cfg->mode == CFG_MODE_UNION && (cfg->ngroup_by || cfg->naggs)) {
		return cfg_fail(&ld->doc, seen_line(ld, si, K_MODE),
				"mode = union writes every record: remove group_by and aggregates, or use mode = group");
	} else if (cfg->mode == CFG_MODE_GROUP && !cfg->ngroup_by && !cfg->naggs) {
		return cfg_fail(&ld->doc, seen_line(ld, si, K_MODE),
				"mode = group needs group_by or aggregates in %s", sd);
	}
	if (cfg_schema_columns(&ld->doc, cfg, seen_line(ld, si, K_FIELDS),
			       seen_line(ld, si, K_AGGREGATES)) < 0)
		return -1;

	/* format */
	if (strcmp(cfg->output, "-") == 0) {
		if (cfg->format_given && (cfg->format == CFG_FMT_SQLITE ||
					  cfg->format == CFG_FMT_POSTGRES))
			return cfg_fail(&ld->doc, seen_line(ld, si, K_FORMAT),
					"format = %s cannot be written to stdout (output = -)",
					cfg->format == CFG_FMT_SQLITE ? "sqlite" : "postgres");
		if (!cfg->format_given)
			cfg->format = CFG_FMT_CSV;
	} else if (cfg->format_given) {
		if (cfg->format == CFG_FMT_POSTGRES) {
			int ok = cfg_conninfo_ok(cfg->output);

			if (ok < 0)
				return cfg_fail_oom(&ld->doc);
			if (!ok)
				return cfg_fail(&ld->doc, seen_line(ld, si, K_OUTPUT),
						"invalid value for key 'output' in [aggregate]: not a libpq connection string (format = postgres)");
		}
	} else if (format_from_ext(cfg->output, &f) == 0) {
		cfg->format = f;
	} else if (looks_like_conninfo(cfg->output)) {
		return cfg_fail(&ld->doc, seen_line(ld, si, K_OUTPUT),
				"output in [aggregate] looks like a PostgreSQL connection string: add format = postgres");
	} else {
		return cfg_fail(&ld->doc, seen_line(ld, si, K_OUTPUT),
				"cannot tell the format of output '%s' from its extension (.csv, .jsonl, .ndjson, .db, .sqlite, .sqlite3): set format",
				cfg_echo(cfg->output, eb, sizeof eb));
	}

	/* Keys that name something only some outputs have. */
	if (seen_line(ld, si, K_TABLE) && (cfg->format == CFG_FMT_CSV ||
					   cfg->format == CFG_FMT_JSONL))
		return cfg_fail(&ld->doc, seen_line(ld, si, K_TABLE),
				"key 'table' does not apply to a %s output: it names the table of a sqlite or postgres output",
				cfg->format == CFG_FMT_CSV ? "CSV" : "JSON Lines");

	if (cfg->backoff_ms > cfg->backoff_max_ms) {
		int line = seen_line(ld, si, K_BACKOFF_MAX);

		return cfg_fail(&ld->doc, line ? line : seen_line(ld, si, K_BACKOFF),
				"backoff (%llums) is longer than backoff_max (%llums)",
				(unsigned long long)cfg->backoff_ms,
				(unsigned long long)cfg->backoff_max_ms);
	}

	/* No lock_file: the run locks on the output's real path (main.c). */
	return 0;
}

/* A file provider's format from its path's extension (".gz" ignored). */
static int resolve_file_format(struct loader *ld, int si,
			       struct cfg_provider *p)
{
	const char *base = strrchr(p->path, '/'), *dot;
	size_t n;
	char ext[16];
	char sd[CFG_SECT_DESC_MAX], eb[CFG_ECHO_BUF];

	if (p->file_format != CFG_FMT_AUTO)
		return 0;
	base = base ? base + 1 : p->path;
	n = strlen(base);
	if (n > 3 && strcasecmp(base + n - 3, ".gz") == 0)
		n -= 3;
	dot = memrchr(base, '.', n);
	if (dot && (size_t)(base + n - dot) < sizeof ext) {
		memcpy(ext, dot + 1, (size_t)(base + n - dot - 1));
		ext[base + n - dot - 1] = '\0';
		if (strcasecmp(ext, "csv") == 0) {
			p->file_format = CFG_FMT_CSV;
			return 0;
		}
		if (strcasecmp(ext, "jsonl") == 0 ||
		    strcasecmp(ext, "ndjson") == 0) {
			p->file_format = CFG_FMT_JSONL;
			return 0;
		}
	}
	/*
	 * A glob whose extension is open ("in/x*", "part-??", "x.[cj]*") may
	 * match either format: decided per file.
	 */
	if (dot) {
		size_t en = (size_t)(base + n - dot);

		if (memchr(dot, '*', en) || memchr(dot, '?', en) ||
		    memchr(dot, '[', en))
			return 0;
	} else if (memchr(base, '*', n) || memchr(base, '?', n) ||
		   memchr(base, '[', n)) {
		return 0;
	}
	return cfg_fail(&ld->doc, seen_line(ld, si, K_PATH),
			"cannot tell the format of path '%s' in %s from its extension (.csv, .jsonl, .ndjson, optionally .gz): set format",
			cfg_echo(p->path, eb, sizeof eb), cfg_sect_desc(&ld->doc, si, sd, sizeof sd));
}

static int resolve_http(struct loader *ld, int si, struct cfg_provider *p)
{
	char sd[CFG_SECT_DESC_MAX];

	cfg_sect_desc(&ld->doc, si, sd, sizeof sd);
	if (p->nurls == 0)
		return cfg_missing_key(&ld->doc, si, "url", NULL);
	for (int i = 0; i < p->nurls; i++) {
		bool has_page = strstr(p->urls[i], "{page}") != NULL;

		if (p->pagination == CFG_PAGE_PAGE && !has_page)
			return cfg_fail(&ld->doc, seen_line(ld, si, K_URL),
					"pagination = page needs '{page}' in every url of %s",
					sd);
		if (p->pagination != CFG_PAGE_PAGE && has_page)
			return cfg_fail(&ld->doc, seen_line(ld, si, K_URL),
					"url of %s has '{page}' but pagination is not page",
					sd);
	}
	if (p->pagination == CFG_PAGE_CURSOR) {
		if (!p->cursor_path)
			return cfg_missing_key(&ld->doc, si, "cursor_path",
					       " (pagination = cursor)");
		if (!p->cursor_param)
			return cfg_missing_key(&ld->doc, si, "cursor_param",
					       " (pagination = cursor)");
	} else if (seen_line(ld, si, K_CURSOR_PATH) ||
		   seen_line(ld, si, K_CURSOR_PARAM)) {
		int line = seen_line(ld, si, K_CURSOR_PATH);

		return cfg_fail(&ld->doc, line ? line : seen_line(ld, si, K_CURSOR_PARAM),
				"cursor_path and cursor_param need pagination = cursor in %s",
				sd);
	}
	if (seen_line(ld, si, K_PAGE_START) && p->pagination != CFG_PAGE_PAGE)
		return cfg_fail(&ld->doc, seen_line(ld, si, K_PAGE_START),
				"page_start needs pagination = page in %s", sd);
	if (p->response == CFG_RESP_NDJSON && *p->records)
		return cfg_fail(&ld->doc, seen_line(ld, si, K_RECORDS),
				"records is not used with response = ndjson in %s",
				sd);
	return 0;
}

static int resolve_provider(struct loader *ld, int si)
{
	struct cfg *cfg = ld->cfg;
	struct cfg_provider *p = &cfg->providers[ld->doc.sects[si].prov];

	switch (p->type) {
	case CFG_PROV_FILE:
		if (!p->path)
			return cfg_missing_key(&ld->doc, si, "path", NULL);
		if (p->delimiter == p->quote)
			return cfg_fail(&ld->doc, seen_line(ld, si, K_QUOTE) ?
					seen_line(ld, si, K_QUOTE) :
					seen_line(ld, si, K_DELIMITER),
					"delimiter and quote are the same character");
		if (resolve_file_format(ld, si, p) < 0)
			return -1;
		if (p->file_format == CFG_FMT_JSONL) {
			/* CSV settings; a glob open to both formats may use them. */
			static const struct {
				enum key_id id;
				const char *name;
			} csv_only[] = {
				{ K_HEADER, "header" }, { K_NULL, "null" },
				{ K_DELIMITER, "delimiter" }, { K_QUOTE, "quote" },
			};
			char sd[CFG_SECT_DESC_MAX];

			for (size_t i = 0; i < sizeof csv_only / sizeof csv_only[0]; i++)
				if (seen_line(ld, si, csv_only[i].id))
					return cfg_fail(&ld->doc, seen_line(ld, si, csv_only[i].id),
							"key '%s' does not apply to JSON Lines files in %s: it is a CSV setting",
							csv_only[i].name,
							cfg_sect_desc(&ld->doc, si, sd, sizeof sd));
		}
		break;
	case CFG_PROV_SQLITE:
		if (!p->path)
			return cfg_missing_key(&ld->doc, si, "path", NULL);
		if (!p->query)
			return cfg_missing_key(&ld->doc, si, "query", NULL);
		break;
	case CFG_PROV_POSTGRES:
		if (!p->query)
			return cfg_missing_key(&ld->doc, si, "query", NULL);
		break;
	case CFG_PROV_HTTP:
		if (resolve_http(ld, si, p) < 0)
			return -1;
		break;
	}

	if (cfg_schema_sources(&ld->doc, &cfg->schema, &p->source) < 0)
		return -1;

	if (!seen_line(ld, si, K_RESTART))
		p->restart = cfg->restart;
	if (!seen_line(ld, si, K_STALL_TIMEOUT))
		p->stall_timeout_ms = cfg->stall_timeout_ms;
	if (!seen_line(ld, si, K_MEMORY_LIMIT))
		p->memory_limit = cfg->memory_limit;
	if (!seen_line(ld, si, K_MAX_REJECTS))
		p->max_rejects = cfg->max_rejects;
	return 0;
}

static int resolve(struct loader *ld)
{
	struct cfg *cfg = ld->cfg;
	bool any_enabled = false;

	ld->seen = calloc((size_t)(ld->doc.nsects ? ld->doc.nsects : 1) * K_NKEYS,
			  sizeof *ld->seen);
	if (!ld->seen)
		return cfg_fail_oom(&ld->doc);
	if (resolve_types_and_fields(ld) < 0)
		return -1;
	for (int i = 0; i < ld->doc.nents; i++)
		if (apply_entry(ld, &ld->doc.ents[i]) < 0)
			return -1;
	if (resolve_aggregate(ld) < 0)
		return -1;
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

static int cfg_defaults(struct cfg *cfg)
{
	cfg->write = CFG_WRITE_REPLACE;
	cfg->on_error = CFG_ON_ERROR_FAIL;
	cfg->restart = 3;
	cfg->backoff_ms = 200;
	cfg->backoff_max_ms = 10000;
	cfg->stall_timeout_ms = 60000;
	cfg->ring_size = 4ull << 20;
	cfg->table = strdup("aggregate");
	return cfg->table ? 0 : -1;
}

/* Strings every provider has, whatever its type. */
static int prov_strings(struct cfg_provider *p)
{
	if (!p->method)
		p->method = strdup("GET");
	if (!p->records)
		p->records = strdup("");
	if (!p->conninfo)
		p->conninfo = strdup("");
	return p->method && p->records && p->conninfo ? 0 : -1;
}

static void prov_defaults(struct cfg_provider *p)
{
	p->enabled = true;
	p->file_format = CFG_FMT_AUTO;
	p->delimiter = ',';
	p->quote = '"';
	p->header = true;
	p->batch = 10000;
	p->snapshot = true;
	p->pagination = CFG_PAGE_NONE;
	p->page_start = 1;
	p->response = CFG_RESP_JSON;
	p->concurrency = 8;
	p->timeout_ms = 30000;
	p->connect_timeout_ms = 10000;
	p->retries = 5;
	p->max_response = 64ull << 20;
}

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
		prov_defaults(p);
		if (!p->name || prov_strings(p) < 0)
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
	if (!cfg->path || cfg_defaults(cfg) < 0) {
		cfg_fail_oom(&ld.doc);
		goto out_free_loader;
	}
	if (cfg_read(&ld.doc, text, len) < 0 || make_providers(&ld) < 0 ||
	    resolve(&ld) < 0)
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

int cfg_set_output(struct cfg *cfg, const char *output, char *err,
		   size_t errlen)
{
	enum cfg_format f = cfg->format;
	char *out = NULL;
	char eb[CFG_ECHO_BUF];
	bool stdout_ = strcmp(output, "-") == 0;

	if (!*output) {
		cfg_set_err(err, errlen, "-o: empty output");
		return -1;
	}
	if (stdout_) {
		if (cfg->format_given && (f == CFG_FMT_SQLITE || f == CFG_FMT_POSTGRES)) {
			cfg_set_err(err, errlen,
				    "-o -: format = %s cannot be written to stdout",
				    f == CFG_FMT_SQLITE ? "sqlite" : "postgres");
			return -1;
		}
		if (!cfg->format_given)
			f = CFG_FMT_CSV;
	} else if (cfg->format_given) {
		if (f == CFG_FMT_POSTGRES && cfg_conninfo_ok(output) != 1) {
			cfg_set_err(err, errlen,
				    "-o: not a libpq connection string (format = postgres)");
			return -1;
		}
	} else if (format_from_ext(output, &f) < 0) {
		if (looks_like_conninfo(output))
			cfg_set_err(err, errlen,
				    "-o: looks like a PostgreSQL connection string: set [aggregate] format = postgres");
		else
			cfg_set_err(err, errlen,
				    "-o: cannot tell the format of '%s' from its extension (.csv, .jsonl, .ndjson, .db, .sqlite, .sqlite3): set [aggregate] format",
				    cfg_echo(output, eb, sizeof eb));
		return -1;
	}
	out = strdup(output);
	if (!out)
		goto fail_oom;
	free(cfg->output);
	cfg->output = out;
	cfg->format = f;
	return 0;

fail_oom:
	free(out);
	cfg_set_err(err, errlen, "out of memory");
	return -1;
}

static void prov_free(struct cfg_provider *p, int nfields)
{
	if (p->source)
		for (int i = 0; i < nfields; i++)
			free(p->source[i]);
	free(p->source);
	free(p->name);
	free(p->path);
	for (int i = 0; i < p->nnulls; i++)
		free(p->nulls[i]);
	free(p->nulls);
	free(p->query);
	free(p->key);
	free(p->conninfo);
	for (int i = 0; i < p->nurls; i++)
		free(p->urls[i]);
	free(p->urls);
	free(p->cursor_path);
	free(p->cursor_param);
	free(p->records);
	for (int i = 0; i < p->nheaders; i++)
		free(p->headers[i]);
	free(p->headers);
	free(p->method);
	free(p->body);
	free(p->ca_file);
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
			prov_free(&cfg->providers[i], cfg->schema.nfields);
	}
	cfg->nproviders = n;
	rc = 0;

out_free:
	free(list);
	free(keep);
	return rc;
}

void cfg_free(struct cfg *cfg)
{
	if (!cfg)
		return;
	for (int i = 0; i < cfg->nproviders; i++)
		prov_free(&cfg->providers[i], cfg->schema.nfields);
	free(cfg->providers);
	for (int i = 0; i < cfg->schema.nfields; i++)
		free(cfg->schema.fields[i].name);
	free(cfg->schema.fields);
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
	memset(cfg, 0, sizeof *cfg);
}
