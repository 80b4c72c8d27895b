/*
 * config_schema.c - the schema of providers.conf (config_schema.h):
 * [aggregate] fields, group_by and aggregates, and each provider's map.
 *
 * Every name is resolved here to a field index, so that later stages
 * never look a field up by name; a name that is not declared is an error
 * that suggests the nearest declared one.
 */
#include "config_schema.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_agg.h"
#include "config_value.h"

/* Longest field or column name: PostgreSQL's identifier limit. */
#define FIELD_NAME_MAX 63

static int field_index(const struct rec_schema *s, const char *name)
{
	for (int i = 0; i < s->nfields; i++)
		if (strcmp(s->fields[i].name, name) == 0)
			return i;
	return -1;
}

/* The declared field nearest to name, or NULL. */
static const char *field_suggest(const struct rec_schema *s, const char *name)
{
	const char *best_name = NULL;
	int best = 10;

	for (int i = 0; i < s->nfields; i++)
		if (cfg_near_miss(name, s->fields[i].name, &best))
			best_name = s->fields[i].name;
	return best_name;
}

/*
 * How many items the comma-separated list v has (its trailing blanks cut
 * in place): 0 for a blank value, else one more than its commas.  Empty
 * items count; the parsers reject them one by one.
 */
static int list_count(char *v)
{
	int n = 1;

	if (!*cfg_trim(v))
		return 0;
	for (const char *c = v; *c; c++)
		n += *c == ',';
	return n;
}

int cfg_schema_fields(const struct cfg_key *k, struct rec_schema *s, char *v)
{
	char *item, *rest = v;
	int n = list_count(v);

	if (n == 0)
		return cfg_bad_value(k, NULL, "no field declared");
	if (n > REC_MAX_FIELDS)
		return cfg_bad_value(k, NULL,
				     "more than %d fields", REC_MAX_FIELDS);
	s->fields = calloc((size_t)n, sizeof *s->fields);
	if (!s->fields)
		return cfg_fail_oom(k->doc);
	while ((item = cfg_next_item(&rest))) {
		char *colon = strchr(item, ':'), *name, *type;
		enum rec_type t;

		if (!*item)
			return cfg_bad_value(k, NULL, "empty item in list");
		if (!colon)
			return cfg_bad_value(k, item,
					     "expected name:type");
		*colon = '\0';
		name = cfg_trim(item);
		type = cfg_trim(colon + 1);
		if (!cfg_is_ident(name) || strlen(name) > FIELD_NAME_MAX)
			return cfg_bad_value(k, name,
					     "a field name is a letter or '_' then letters, digits or '_', at most %d bytes",
					     FIELD_NAME_MAX);
		if (rec_type_parse(type, &t) < 0)
			return cfg_bad_value(k, type,
					     "unknown type (int, float, text, bool, timestamp)");
		if (field_index(s, name) >= 0)
			return cfg_bad_value(k, name,
					     "field declared twice");
		s->fields[s->nfields].name = strdup(name);
		if (!s->fields[s->nfields].name)
			return cfg_fail_oom(k->doc);
		s->fields[s->nfields].type = t;
		s->nfields++;
	}
	return 0;
}

int cfg_schema_group_by(const struct cfg_key *k, struct cfg *cfg, char *v)
{
	const struct rec_schema *s = &cfg->schema;
	char *item, *rest = v;
	int n = list_count(v);

	if (n == 0)
		return 0; /* none */
	cfg->group_by = calloc((size_t)n, sizeof *cfg->group_by);
	if (!cfg->group_by)
		return cfg_fail_oom(k->doc);
	while ((item = cfg_next_item(&rest))) {
		int fi;

		if (!*item)
			return cfg_bad_value(k, NULL,
					     "empty item in list");
		fi = field_index(s, item);
		if (fi < 0 && field_suggest(s, item))
			return cfg_bad_value(k, item,
					     "not a field declared in fields (did you mean '%s'?)",
					     field_suggest(s, item));
		if (fi < 0)
			return cfg_bad_value(k, item,
					     "not a field declared in fields");
		for (int i = 0; i < cfg->ngroup_by; i++)
			if (cfg->group_by[i] == fi)
				return cfg_bad_value(k, item,
						     "field listed twice");
		cfg->group_by[cfg->ngroup_by++] = fi;
	}
	return 0;
}

static const struct {
	const char *name;
	enum cfg_agg_kind kind;
} agg_funcs[] = {
	{ "count", CFG_AGG_COUNT }, { "sum", CFG_AGG_SUM },
	{ "avg", CFG_AGG_AVG }, { "min", CFG_AGG_MIN },
	{ "max", CFG_AGG_MAX }, { "count_distinct", CFG_AGG_COUNT_DISTINCT },
};

/* One aggregate item: func(arg) [as name]. */
static int parse_agg(const struct cfg_key *k, const struct rec_schema *schema,
		     char *item, struct cfg_agg *a)
{
	const char *s = item, *fn = NULL;
	char func[32], arg[FIELD_NAME_MAX + 2], as[FIELD_NAME_MAX + 2];
	size_t n;
	size_t fi;

	n = cfg_ident_len(s);
	if (n == 0 || n >= sizeof func)
		goto syntax;
	memcpy(func, s, n);
	func[n] = '\0';
	s = cfg_skip_space(s + n);
	if (*s++ != '(')
		goto syntax;
	s = cfg_skip_space(s);
	if (*s == '*') {
		strcpy(arg, "*");
		s++;
	} else {
		n = cfg_ident_len(s);
		if (n == 0 || n > FIELD_NAME_MAX)
			goto syntax;
		memcpy(arg, s, n);
		arg[n] = '\0';
		s += n;
	}
	s = cfg_skip_space(s);
	if (*s++ != ')')
		goto syntax;
	s = cfg_skip_space(s);
	as[0] = '\0';
	if (*s) {
		if (strncasecmp(s, "as", 2) != 0 || !isspace((unsigned char)s[2]))
			goto syntax;
		s = cfg_skip_space(s + 2);
		n = cfg_ident_len(s);
		if (n == 0 || n > FIELD_NAME_MAX || *cfg_skip_space(s + n))
			return cfg_bad_value(k, item,
					     "'as' needs a column name (a letter or '_' then letters, digits or '_', at most %d bytes)",
					     FIELD_NAME_MAX);
		memcpy(as, s, n);
		as[n] = '\0';
	}

	for (fi = 0; fi < sizeof agg_funcs / sizeof agg_funcs[0]; fi++)
		if (strcasecmp(func, agg_funcs[fi].name) == 0)
			break;
	if (fi == sizeof agg_funcs / sizeof agg_funcs[0]) {
		const char *names[sizeof agg_funcs / sizeof agg_funcs[0]];
		const char *near;

		for (size_t i = 0; i < sizeof agg_funcs / sizeof agg_funcs[0]; i++)
			names[i] = agg_funcs[i].name;
		near = cfg_nearest(func, names, sizeof names / sizeof names[0]);
		if (near)
			return cfg_bad_value(k, item,
					     "unknown function '%s' (did you mean '%s'?)",
					     func, near);
		return cfg_bad_value(k, item,
				     "unknown function '%s' (count, sum, avg, min, max, count_distinct)",
				     func);
	}
	a->kind = agg_funcs[fi].kind;
	fn = agg_funcs[fi].name;
	if (strcmp(arg, "*") == 0) {
		if (a->kind != CFG_AGG_COUNT)
			return cfg_bad_value(k, item,
					     "only count takes '*'");
		a->kind = CFG_AGG_COUNT_STAR;
		a->field = -1;
		(void)cfg_agg_result_type(a, NULL);
	} else {
		enum rec_type ft;

		a->field = field_index(schema, arg);
		if (a->field < 0) {
			const char *near = field_suggest(schema, arg);

			if (near)
				return cfg_bad_value(k, item,
						     "'%s' is not a field declared in fields (did you mean '%s'?)",
						     arg, near);
			return cfg_bad_value(k, item,
					     "'%s' is not a field declared in fields",
					     arg);
		}
		ft = schema->fields[a->field].type;
		if (cfg_agg_result_type(a, &schema->fields[a->field]) < 0)
			return cfg_bad_value(k, item,
					     "%s needs an int, float or decimal field; '%s' is %s",
					     fn, arg, rec_type_name(ft));
	}
	if (as[0]) {
		a->name = strdup(as);
	} else if (a->kind == CFG_AGG_COUNT_STAR) {
		a->name = strdup("count");
	} else {
		size_t len = strlen(fn) + 1 + strlen(arg) + 1;

		a->name = malloc(len);
		if (a->name)
			snprintf(a->name, len, "%s_%s", fn, arg);
	}
	if (!a->name)
		return cfg_fail_oom(k->doc);
	return 0;

syntax:
	return cfg_bad_value(k, item,
			     "expected func(field) [as name], e.g. sum(amount) as revenue");
}

int cfg_schema_aggregates(const struct cfg_key *k, struct cfg *cfg, char *v)
{
	char *item, *rest = v;
	int n = list_count(v);

	if (n == 0)
		return 0; /* none */
	cfg->aggs = calloc((size_t)n, sizeof *cfg->aggs);
	if (!cfg->aggs)
		return cfg_fail_oom(k->doc);
	while ((item = cfg_next_item(&rest))) {
		struct cfg_agg *a = &cfg->aggs[cfg->naggs];

		if (!*item)
			return cfg_bad_value(k, NULL,
					     "empty item in list");
		/* counted now, so that cfg_free sees a->name */
		cfg->naggs++;
		if (parse_agg(k, &cfg->schema, item, a) < 0)
			return -1;
	}
	return 0;
}

/* Split at commas that start a new "field =" (sources may hold commas). */
static char *next_mapping(char **sp)
{
	char *s = *sp;

	if (!s)
		return NULL;
	for (char *c = strchr(s, ','); c; c = strchr(c + 1, ',')) {
		const char *t = cfg_skip_space(c + 1);
		size_t n = cfg_ident_len(t);

		if (n && *cfg_skip_space(t + n) == '=') {
			*c = '\0';
			*sp = c + 1;
			return cfg_trim(s);
		}
	}
	*sp = NULL;
	s = cfg_trim(s);
	return s;
}

int cfg_schema_map(const struct cfg_key *k, const struct rec_schema *s,
		   char ***sourcep, char *v)
{
	char **source;
	char *item, *rest = v;

	if (!*sourcep) {
		*sourcep = calloc((size_t)s->nfields, sizeof **sourcep);
		if (!*sourcep)
			return cfg_fail_oom(k->doc);
	}
	source = *sourcep;
	if (!*cfg_trim(v))
		return 0;
	while ((item = next_mapping(&rest))) {
		char *eq = strchr(item, '='), *field, *src;
		int fi;

		if (!*item)
			return cfg_bad_value(k, NULL, "empty item in list");
		if (!eq)
			return cfg_bad_value(k, item,
					     "expected field=source");
		*eq = '\0';
		field = cfg_trim(item);
		src = cfg_trim(eq + 1);
		fi = field_index(s, field);
		if (fi < 0 && field_suggest(s, field))
			return cfg_bad_value(k, field,
					     "not a field declared in [aggregate] fields (did you mean '%s'?)",
					     field_suggest(s, field));
		if (fi < 0)
			return cfg_bad_value(k, field,
					     "not a field declared in [aggregate] fields");
		if (!*src)
			return cfg_bad_value(k, field,
					     "no source given for this field");
		if (*src == '/' && !cfg_is_json_pointer(src))
			return cfg_bad_value(k, src,
					     "bad JSON pointer: '~' must be followed by 0 or 1");
		if (source[fi])
			return cfg_bad_value(k, field,
					     "field mapped twice");
		source[fi] = strdup(src);
		if (!source[fi])
			return cfg_fail_oom(k->doc);
	}
	return 0;
}

/* Output columns must be unique: "provider" + fields, or keys + aggregates. */
int cfg_schema_columns(struct cfg_doc *doc, const struct cfg *cfg,
		       int fields_line, int aggregates_line)
{
	if (cfg->mode == CFG_MODE_UNION) {
		int fi = field_index(&cfg->schema, "provider");

		if (fi >= 0)
			return cfg_fail(doc, fields_line,
					"field name 'provider' clashes with the provider column that mode = union writes first");
		return 0;
	}
	for (int i = 0; i < cfg->naggs; i++) {
		const char *name = cfg->aggs[i].name;
		int clash = 0;

		for (int j = 0; j < cfg->ngroup_by && !clash; j++)
			clash = strcmp(cfg->schema.fields[cfg->group_by[j]].name,
				       name) == 0;
		for (int j = 0; j < i && !clash; j++)
			clash = strcmp(cfg->aggs[j].name, name) == 0;
		if (clash)
			return cfg_fail(doc, aggregates_line,
					"duplicate output column '%s' in [aggregate] aggregates (rename one with 'as NAME')",
					name);
	}
	return 0;
}


int cfg_schema_sources(struct cfg_doc *doc, const struct rec_schema *s,
		       char ***sourcep)
{
	if (!*sourcep) {
		*sourcep = calloc((size_t)s->nfields, sizeof **sourcep);
		if (!*sourcep)
			return cfg_fail_oom(doc);
	}
	for (int i = 0; i < s->nfields; i++) {
		if ((*sourcep)[i])
			continue;
		(*sourcep)[i] = strdup(s->fields[i].name);
		if (!(*sourcep)[i])
			return cfg_fail_oom(doc);
	}
	return 0;
}
