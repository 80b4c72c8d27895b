/*
 * config_agg.c - the [aggregate] section of providers.conf
 * (config_agg.h): its keys, applied into the struct cfg, and its checks
 * once every key of the file is applied; and the output's format, which
 * -o may change after the load (cfg_set_output).
 */
#include "config_agg.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../ipc/ring.h"
#include "decimal.h"
#include "config_read.h"
#include "config_schema.h"
#include "config_value.h"
#include "expr.h"

/* In this order for the "did you mean" hint: the first nearest wins. */
const struct cfg_key_def cfg_agg_keys[] = {
	[AK_OUTPUT] = { "output", 0 },
	[AK_FORMAT] = { "format", 0 },
	[AK_TABLE] = { "table", 0 },
	[AK_WRITE] = { "write", 0 },
	[AK_FIELDS] = { "fields", 0 },
	[AK_MODE] = { "mode", 0 },
	[AK_GROUP_BY] = { "group_by", 0 },
	[AK_AGGREGATES] = { "aggregates", 0 },
	[AK_ON_ERROR] = { "on_error", 0 },
	[AK_RESTART] = { "restart", 0 },
	[AK_BACKOFF] = { "backoff", 0 },
	[AK_BACKOFF_MAX] = { "backoff_max", 0 },
	[AK_STALL_TIMEOUT] = { "stall_timeout", 0 },
	[AK_TIMEOUT] = { "timeout", 0 },
	[AK_MEMORY_LIMIT] = { "memory_limit", 0 },
	[AK_RING_SIZE] = { "ring_size", 0 },
	[AK_REJECT_FILE] = { "reject_file", 0 },
	[AK_MAX_REJECTS] = { "max_rejects", 0 },
	[AK_LOCK_FILE] = { "lock_file", 0 },
	[AK_METRICS_FILE] = { "metrics_file", 0 },
	[AK_ORDER_BY] = { "order_by", 0 },
	[AK_LIMIT] = { "limit", 0 },
	[AK_HAVING] = { "having", 0 },
	[AK_TRACE_FILE] = { "trace_file", 0 },
	[AK_MEMORY] = { "memory", 0 },
	[AK_STATE] = { "state", 0 },
};

/* The longest column name (config_schema.c: fields).  */
#define ORDER_NAME_MAX 63

/* The scale of an average of decimals: PostgreSQL's avg keeps at least 6. */
#define AVG_MIN_SCALE 6

int cfg_agg_result_type(struct cfg_agg *a, const struct rec_field *f)
{
	a->prec = a->scale = 0;
	if (f == NULL || a->kind == CFG_AGG_COUNT_STAR ||
	    a->kind == CFG_AGG_COUNT || a->kind == CFG_AGG_COUNT_DISTINCT) {
		a->type = REC_INT;
		return 0;
	}
	switch (a->kind) {
	case CFG_AGG_STDDEV:
	case CFG_AGG_STDDEV_POP:
	case CFG_AGG_VARIANCE:
	case CFG_AGG_VAR_POP:
	case CFG_AGG_PERCENTILE:
		if (f->type != REC_INT && f->type != REC_FLOAT &&
		    f->type != REC_DECIMAL)
			return -1;
		a->type = REC_FLOAT;
		return 0;
	case CFG_AGG_SUM:
	case CFG_AGG_AVG:
		if (f->type == REC_DECIMAL) {
			a->type = REC_DECIMAL;
			a->prec = DEC_MAX_PRECISION;
			a->scale = f->scale;
			if (a->kind == CFG_AGG_AVG && a->scale < AVG_MIN_SCALE)
				a->scale = AVG_MIN_SCALE;
			return 0;
		}
		if (f->type != REC_INT && f->type != REC_FLOAT)
			return -1;
		a->type = a->kind == CFG_AGG_AVG ? REC_FLOAT : f->type;
		return 0;
	default:
		a->type = f->type;
		a->prec = f->prec;
		a->scale = f->scale;
		return 0;
	}
}

int cfg_agg_defaults(struct cfg *cfg)
{
	cfg->write = CFG_WRITE_REPLACE;
	cfg->on_error = CFG_ON_ERROR_FAIL;
	cfg->restart = 3;
	cfg->backoff_ms = 200;
	cfg->backoff_max_ms = 10000;
	cfg->stall_timeout_ms = 60000;
	cfg->ring_size = 4ull << 20;
	cfg->memory = CFG_MEMORY_DEFAULT;
	cfg->table = strdup("aggregate");
	return cfg->table ? 0 : -1;
}

bool cfg_agg_secret(const struct cfg *cfg, int id)
{
	return id == AK_OUTPUT && cfg->format == CFG_FMT_POSTGRES;
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

int cfg_agg_apply(const struct cfg_key *k, int id, struct cfg *cfg, char **vp)
{
	char *v = *vp;
	long l;
	int iv;

	switch (id) {
	case AK_OUTPUT:
		return cfg_key_string(k, &cfg->output, vp);
	case AK_FORMAT: {
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
	case AK_TABLE: {
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
	case AK_WRITE: {
		static const char *const names[] = { "replace", "append", NULL };
		static const int vals[] = { CFG_WRITE_REPLACE, CFG_WRITE_APPEND };

		if (cfg_parse_enum(v, names, vals, &iv) < 0)
			return cfg_bad_value(k, NULL,
					     "expected replace or append");
		cfg->write = (enum cfg_write)iv;
		return 0;
	}
	case AK_FIELDS:
		return 0; /* parsed first, in resolve() */
	case AK_MODE: {
		static const char *const names[] = { "union", "group", NULL };
		static const int vals[] = { CFG_MODE_UNION, CFG_MODE_GROUP };

		if (cfg_parse_enum(v, names, vals, &iv) < 0)
			return cfg_bad_value(k, NULL, "expected union or group");
		cfg->mode = (enum cfg_mode)iv;
		return 0;
	}
	case AK_GROUP_BY:
		return cfg_schema_group_by(k, cfg, v);
	case AK_AGGREGATES:
		return cfg_schema_aggregates(k, cfg, v);
	case AK_ON_ERROR: {
		static const char *const names[] = { "fail", "partial", NULL };
		static const int vals[] = { CFG_ON_ERROR_FAIL,
			CFG_ON_ERROR_PARTIAL };

		if (cfg_parse_enum(v, names, vals, &iv) < 0)
			return cfg_bad_value(k, NULL, "expected fail or partial");
		cfg->on_error = (enum cfg_on_error)iv;
		return 0;
	}
	case AK_RESTART:
		if (cfg_key_long(k, v, 0, INT_MAX, &l) < 0)
			return -1;
		cfg->restart = (int)l;
		return 0;
	case AK_BACKOFF:
		return cfg_key_duration(k, v, true, &cfg->backoff_ms);
	case AK_BACKOFF_MAX:
		return cfg_key_duration(k, v, true, &cfg->backoff_max_ms);
	case AK_STALL_TIMEOUT:
		return cfg_key_stall_timeout(k, v, &cfg->stall_timeout_ms);
	case AK_TIMEOUT:
		return cfg_key_duration(k, v, true, &cfg->timeout_ms);
	case AK_MEMORY_LIMIT:
		return cfg_key_size(k, v, &cfg->memory_limit);
	case AK_MEMORY:
		if (cfg_key_size(k, v, &cfg->memory) < 0)
			return -1;
		if (cfg->memory < CFG_MEMORY_MIN)
			return cfg_bad_value(k, NULL, "must be at least 64K");
		return 0;
	case AK_RING_SIZE:
		if (cfg_key_size(k, v, &cfg->ring_size) < 0)
			return -1;
		if (cfg->ring_size < RING_MIN_CAPACITY ||
		    cfg->ring_size > RING_MAX_CAPACITY)
			return cfg_bad_value(k, NULL,
					     "must be from 64K to 16G");
		return 0;
	case AK_REJECT_FILE:
		return cfg_key_string(k, &cfg->reject_file, vp);
	case AK_MAX_REJECTS:
		return cfg_key_long(k, v, 0, LONG_MAX, &cfg->max_rejects);
	case AK_LOCK_FILE:
		cfg->lock_file_given = true;
		return cfg_key_string(k, &cfg->lock_file, vp);
	case AK_METRICS_FILE:
		return cfg_key_string(k, &cfg->metrics_file, vp);
	case AK_TRACE_FILE:
		return cfg_key_string(k, &cfg->trace_file, vp);
	case AK_STATE:
		return cfg_key_string(k, &cfg->state_dir, vp);
	case AK_ORDER_BY:
		return cfg_key_string(k, &cfg->order_by_text, vp);
	case AK_LIMIT: {
		long lim;

		if (cfg_key_long(k, v, 0, LONG_MAX, &lim) < 0)
			return -1;
		cfg->limit = lim;
		cfg->limit_set = true;
		return 0;
	}
	case AK_HAVING:
		return cfg_key_string(k, &cfg->having, vp);
	default:
		break;
	}
	return cfg_fail(k->doc, k->e->line, "internal error: key '%s'",
			k->e->key);
}

/*
 * The output columns as a schema (names shared with cfg): union mode's
 * provider and fields, group mode's keys then aggregates.  0, or -1.
 */
static int out_schema(const struct cfg *cfg, struct rec_schema *s)
{
	int union_ = cfg->mode == CFG_MODE_UNION;
	int n = union_ ? 1 + cfg_union_fields(cfg) :
			 cfg->ngroup_by + cfg->naggs;
	int i;

	s->nfields = n;
	s->fields = calloc((size_t)(n ? n : 1), sizeof(*s->fields));
	if (s->fields == NULL)
		return -1;
	if (union_) {
		s->fields[0].name = (char *)"provider";
		s->fields[0].type = REC_TEXT;
		for (i = 0; i < cfg_union_fields(cfg); i++)
			s->fields[1 + i] = cfg->schema.fields[i];
		return 0;
	}
	for (i = 0; i < cfg->ngroup_by; i++)
		s->fields[i] = cfg->schema.fields[cfg->group_by[i]];
	for (i = 0; i < cfg->naggs; i++) {
		struct rec_field *f = &s->fields[cfg->ngroup_by + i];

		memset(f, 0, sizeof(*f));
		f->name = cfg->aggs[i].name;
		f->type = cfg->aggs[i].type;
		f->prec = cfg->aggs[i].prec;
		f->scale = cfg->aggs[i].scale;
	}
	return 0;
}

/* One order_by term: col [asc|desc] [nulls first|last]. */
static int parse_order(const struct cfg_check *c, const struct rec_schema *s,
		       char *item, struct cfg_order *o)
{
	int line = c->seen[AK_ORDER_BY];
	char word[ORDER_NAME_MAX + 1];
	const char *p = cfg_skip_space(item);
	size_t n = cfg_ident_len(p);
	int i;

	if (n == 0 || n > ORDER_NAME_MAX)
		return cfg_fail(c->doc, line,
				"invalid value for key 'order_by' in [aggregate]: expected column [asc|desc] [nulls first|last], e.g. revenue desc");
	memcpy(word, p, n);
	word[n] = '\0';
	p = cfg_skip_space(p + n);
	o->col = -1;
	for (i = 0; i < s->nfields; i++)
		if (strcmp(s->fields[i].name, word) == 0)
			o->col = i;
	if (o->col < 0) {
		const char **names = malloc(sizeof(*names) *
					    (size_t)(s->nfields ? s->nfields : 1));
		const char *near;

		if (names == NULL)
			return cfg_fail_oom(c->doc);
		for (i = 0; i < s->nfields; i++)
			names[i] = s->fields[i].name;
		near = cfg_nearest(word, names, (size_t)s->nfields);
		if (near)
			cfg_fail(c->doc, line,
				 "order_by: '%s' is not an output column (did you mean '%s'?)",
				 word, near);
		else
			cfg_fail(c->doc, line,
				 "order_by: '%s' is not an output column (the group keys and aggregates' names; in mode = union, provider and the fields)",
				 word);
		free(names);
		return -1;
	}
	o->desc = false;
	if (strncasecmp(p, "asc", 3) == 0 && cfg_ident_len(p) == 3) {
		p = cfg_skip_space(p + 3);
	} else if (strncasecmp(p, "desc", 4) == 0 && cfg_ident_len(p) == 4) {
		o->desc = true;
		p = cfg_skip_space(p + 4);
	}
	/* PostgreSQL: NULLs are larger than any value. */
	o->nulls_first = o->desc;
	if (strncasecmp(p, "nulls", 5) == 0 && cfg_ident_len(p) == 5) {
		p = cfg_skip_space(p + 5);
		if (strncasecmp(p, "first", 5) == 0 && cfg_ident_len(p) == 5) {
			o->nulls_first = true;
			p = cfg_skip_space(p + 5);
		} else if (strncasecmp(p, "last", 4) == 0 &&
			   cfg_ident_len(p) == 4) {
			o->nulls_first = false;
			p = cfg_skip_space(p + 4);
		} else {
			p = "?";
		}
	}
	if (*p)
		return cfg_fail(c->doc, line,
				"invalid value for key 'order_by' in [aggregate]: '%s': expected column [asc|desc] [nulls first|last]",
				item);
	return 0;
}

/* order_by's columns and having's expression, over the output columns. */
static int check_post(const struct cfg_check *c, struct cfg *cfg)
{
	struct rec_schema s = { 0, NULL };
	struct expr_error ee;
	char *rest, *item;
	int n = 0, rc = -1;

	if (!cfg->order_by_text && !cfg->having)
		return 0;
	if (out_schema(cfg, &s) < 0)
		return cfg_fail_oom(c->doc);
	if (cfg->order_by_text) {
		for (rest = cfg->order_by_text; *rest; rest++)
			n += *rest == ',';
		cfg->order_by = calloc((size_t)n + 1, sizeof(*cfg->order_by));
		if (cfg->order_by == NULL) {
			cfg_fail_oom(c->doc);
			goto out;
		}
		rest = cfg->order_by_text;
		while ((item = cfg_next_item(&rest))) {
			if (!*item) {
				cfg_fail(c->doc, c->seen[AK_ORDER_BY],
					 "invalid value for key 'order_by' in [aggregate]: empty item in list");
				goto out;
			}
			if (parse_order(c, &s, item,
					&cfg->order_by[cfg->norder_by]) < 0)
				goto out;
			cfg->norder_by++;
		}
	}
	if (cfg->having) {
		if (cfg->mode != CFG_MODE_GROUP) {
			cfg_fail(c->doc, c->seen[AK_HAVING],
				 "having filters groups: it needs mode = group (group_by or aggregates)");
			goto out;
		}
		cfg->having_prog = expr_compile(cfg->having, &s, cfg->tz, &ee);
		if (cfg->having_prog == NULL) {
			cfg_fail(c->doc, c->seen[AK_HAVING],
				 "having: %s", ee.msg);
			goto out;
		}
		if (expr_result_type(cfg->having_prog).type != REC_BOOL) {
			cfg_fail(c->doc, c->seen[AK_HAVING],
				 "having must be a condition (bool), not %s",
				 rec_type_name(expr_result_type(cfg->having_prog).type));
			goto out;
		}
	}
	rc = 0;
out:
	free(s.fields);
	return rc;
}

int cfg_agg_check(const struct cfg_check *c, struct cfg *cfg)
{
	char sd[CFG_SECT_DESC_MAX];
	char eb[CFG_ECHO_BUF];
	enum cfg_format f;

	if (!cfg->output)
		return cfg_missing_key(c->doc, c->si, "output", NULL);
	cfg_sect_desc(c->doc, c->si, sd, sizeof sd); /* or [output NAME] */

	/* mode */
	if (!c->seen[AK_MODE]) {
		cfg->mode = cfg->ngroup_by || cfg->naggs ? CFG_MODE_GROUP
							 : CFG_MODE_UNION;
	} else if (cfg->mode == CFG_MODE_UNION && (cfg->ngroup_by || cfg->naggs)) {
		return cfg_fail(c->doc, c->seen[AK_MODE],
				"mode = union writes every record: remove group_by and aggregates, or use mode = group");
	} else if (cfg->mode == CFG_MODE_GROUP && !cfg->ngroup_by && !cfg->naggs) {
		return cfg_fail(c->doc, c->seen[AK_MODE],
				"mode = group needs group_by or aggregates in %s", sd);
	}
	if (cfg_schema_columns(c->doc, cfg, c->seen[AK_FIELDS],
			       c->seen[AK_AGGREGATES]) < 0)
		return -1;

	/* format */
	if (strcmp(cfg->output, "-") == 0) {
		if (cfg->format_given && (cfg->format == CFG_FMT_SQLITE ||
					  cfg->format == CFG_FMT_POSTGRES))
			return cfg_fail(c->doc, c->seen[AK_FORMAT],
					"format = %s cannot be written to stdout (output = -)",
					cfg->format == CFG_FMT_SQLITE ? "sqlite" : "postgres");
		if (!cfg->format_given)
			cfg->format = CFG_FMT_CSV;
	} else if (cfg->format_given) {
		if (cfg->format == CFG_FMT_POSTGRES) {
			int ok = cfg_conninfo_ok(cfg->output);

			if (ok < 0)
				return cfg_fail_oom(c->doc);
			if (!ok)
				return cfg_fail(c->doc, c->seen[AK_OUTPUT],
						"invalid value for key 'output' in %s: not a libpq connection string (format = postgres)",
						sd);
		}
	} else if (format_from_ext(cfg->output, &f) == 0) {
		cfg->format = f;
	} else if (looks_like_conninfo(cfg->output)) {
		return cfg_fail(c->doc, c->seen[AK_OUTPUT],
				"output in %s looks like a PostgreSQL connection string: add format = postgres",
				sd);
	} else {
		return cfg_fail(c->doc, c->seen[AK_OUTPUT],
				"cannot tell the format of output '%s' from its extension (.csv, .jsonl, .ndjson, .db, .sqlite, .sqlite3): set format",
				cfg_echo(cfg->output, eb, sizeof eb));
	}

	/* Keys that name something only some outputs have. */
	if (c->seen[AK_TABLE] && (cfg->format == CFG_FMT_CSV ||
					   cfg->format == CFG_FMT_JSONL))
		return cfg_fail(c->doc, c->seen[AK_TABLE],
				"key 'table' does not apply to a %s output: it names the table of a sqlite or postgres output",
				cfg->format == CFG_FMT_CSV ? "CSV" : "JSON Lines");

	if (cfg->backoff_ms > cfg->backoff_max_ms) {
		int line = c->seen[AK_BACKOFF_MAX];

		return cfg_fail(c->doc, line ? line : c->seen[AK_BACKOFF],
				"backoff (%llums) is longer than backoff_max (%llums)",
				(unsigned long long)cfg->backoff_ms,
				(unsigned long long)cfg->backoff_max_ms);
	}

	if (check_post(c, cfg) < 0)
		return -1;

	/* No lock_file: the run locks on the output's real path (main.c). */
	return 0;
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
	for (int i = 0; i < cfg->noutputs; i++) {
		const struct cfg_output *o = &cfg->outputs[i];
		bool table = f == CFG_FMT_SQLITE || f == CFG_FMT_POSTGRES;

		if (strcmp(o->output, output) == 0 &&
		    (!table || (o->format == f &&
				strcmp(o->table, cfg->table) == 0))) {
			cfg_set_err(err, errlen,
				    "-o: [output %s] writes that %s already",
				    o->name, table ? "table" : "output");
			return -1;
		}
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
