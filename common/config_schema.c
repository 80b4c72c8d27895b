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
#include "config_derive.h"
#include "config_value.h"
#include "decimal.h"
#include "tsfmt.h"

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

/* The next item of such a list, cut in place and trimmed; NULL at the end. */
static char *next_top_item(char **sp)
{
	char *s = *sp, *end;

	if (!s)
		return NULL;
	end = s + (cfg_item_end(s) - s);
	*sp = *end ? end + 1 : NULL;
	*end = '\0';
	return cfg_trim(s);
}

/* How many items next_top_item() cuts v into (0 for a blank value). */
static int top_count(char *v)
{
	int n = 1;

	if (!*cfg_trim(v))
		return 0;
	for (const char *c = cfg_item_end(v); *c; c = cfg_item_end(c + 1))
		n++;
	return n;
}

/* The spellings of types, for "did you mean". */
static const char *const type_words[] = {
	"int", "float", "text", "bool", "timestamp", "decimal", "numeric",
	"date",
};

#define TYPE_LIST "int, float, text, bool, timestamp, timestamp('FORMAT', ...), decimal(p,s), date"

/* A whole number of at most 3 digits in s (trimmed), or -1. */
static int small_number(const char *s)
{
	int n = 0, digits = 0;

	for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++)
		n = n * 10 + (*s - '0');
	return digits == 0 || digits > 3 || *s ? -1 : n;
}

/* decimal(p[,s]): args is what the parentheses hold, cut in place. */
static int parse_decimal(const struct cfg_key *k, const char *type,
			 char *args, struct rec_field *f)
{
	char *comma = strchr(args, ','), *sp = NULL;
	int p, sc = 0;

	if (comma) {
		*comma = '\0';
		sp = cfg_trim(comma + 1);
	}
	p = small_number(cfg_trim(args));
	if (p < 1 || p > DEC_MAX_PRECISION)
		return cfg_bad_value(k, type,
				     "the precision of a decimal is 1 to %d",
				     DEC_MAX_PRECISION);
	if (sp) {
		sc = small_number(sp);
		if (sc < 0 || sc > p)
			return cfg_bad_value(k, type,
					     "the scale of a decimal is 0 to its precision (%d)",
					     p);
	}
	f->prec = (uint8_t)p;
	f->scale = (uint8_t)sc;
	return 0;
}

/*
 * timestamp(FORMAT, ...): quoted patterns and the bare words epoch_s,
 * epoch_ms, epoch_us, compiled into f->fmt.
 */
static int parse_formats(const struct cfg_key *k, const char *type,
			 char *args, struct rec_field *f)
{
	const char *fmts[REC_MAX_FIELDS];
	char *rest = args, *item, err[CFG_ERR_MAX];
	int n = 0;

	if (!*cfg_trim(args))
		rest = NULL; /* timestamp(): no format */
	while ((item = next_top_item(&rest))) {
		size_t len = strlen(item);

		if (n == REC_MAX_FIELDS)
			return cfg_bad_value(k, type, "too many formats");
		if (len >= 2 && (item[0] == '\'' || item[0] == '"') &&
		    item[len - 1] == item[0]) {
			item[len - 1] = '\0';
			item++;
		} else if (strcmp(item, "epoch_s") != 0 &&
			   strcmp(item, "epoch_ms") != 0 &&
			   strcmp(item, "epoch_us") != 0) {
			return cfg_bad_value(k, type,
					     "a timestamp format is quoted ('%%d/%%m/%%Y %%H:%%M') or one of epoch_s, epoch_ms, epoch_us");
		}
		fmts[n++] = item;
	}
	if (n == 0)
		return cfg_bad_value(k, type,
				     "timestamp() needs at least one format, e.g. timestamp('%%d/%%m/%%Y %%H:%%M')");
	f->fmt = tsfmt_compile(fmts, n, err, sizeof err);
	if (!f->fmt)
		return cfg_bad_value(k, type, "%s", err);
	return 0;
}

/* A field's type as written after its colon, into f (type, parameters). */
static int parse_field_type(const struct cfg_key *k, char *type,
			    struct rec_field *f)
{
	char *paren = strchr(type, '('), *args = NULL, shown[CFG_ECHO_BUF];
	char *base;

	/* Quoted back whole in messages: the parsers below cut it. */
	snprintf(shown, sizeof shown, "%s", type);
	if (paren) {
		size_t len = strlen(type);

		if (type[len - 1] != ')')
			return cfg_bad_value(k, shown,
					     "expected TYPE or TYPE(...) with nothing after ')'");
		type[len - 1] = '\0';
		*paren = '\0';
		args = paren + 1;
	}
	base = cfg_trim(type);
	if (strcmp(base, "numeric") == 0)
		base = "decimal";
	if (rec_type_parse(base, &f->type) < 0) {
		const char *near = cfg_nearest(base, type_words,
					       sizeof type_words /
						       sizeof *type_words);

		if (near)
			return cfg_bad_value(k, shown,
					     "unknown type (did you mean '%s'?)",
					     near);
		return cfg_bad_value(k, shown, "unknown type (" TYPE_LIST ")");
	}
	if (f->type == REC_DECIMAL) {
		if (!args)
			return cfg_bad_value(k, shown,
					     "give a decimal's precision and scale: decimal(p,s), e.g. decimal(10,2)");
		return parse_decimal(k, shown, args, f);
	}
	if (!args)
		return 0;
	if (f->type == REC_TIMESTAMP)
		return parse_formats(k, shown, args, f);
	return cfg_bad_value(k, shown, "%s takes no parameters", base);
}

int cfg_schema_fields(const struct cfg_key *k, struct rec_schema *s, char *v)
{
	char *item, *rest = v;
	int n = top_count(v);

	if (n == 0)
		return cfg_bad_value(k, NULL, "no field declared");
	if (n > REC_MAX_FIELDS)
		return cfg_bad_value(k, NULL,
				     "more than %d fields", REC_MAX_FIELDS);
	s->fields = calloc((size_t)n, sizeof *s->fields);
	if (!s->fields)
		return cfg_fail_oom(k->doc);
	while ((item = next_top_item(&rest))) {
		char *colon = strchr(item, ':'), *name, *type;
		struct rec_field *f = &s->fields[s->nfields];

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
		if (field_index(s, name) >= 0)
			return cfg_bad_value(k, name,
					     "field declared twice");
		f->name = strdup(name);
		if (!f->name)
			return cfg_fail_oom(k->doc);
		/* Counted now, so that cfg_free sees its name and formats. */
		s->nfields++;
		if (parse_field_type(k, type, f) < 0)
			return -1;
	}
	return 0;
}

void cfg_schema_free(struct rec_schema *s)
{
	for (int i = 0; i < s->nfields; i++) {
		free(s->fields[i].name);
		tsfmt_free((struct tsfmt *)s->fields[i].fmt);
	}
	free(s->fields);
	s->fields = NULL;
	s->nfields = 0;
}

int cfg_schema_copy(struct rec_schema *dst, const struct rec_schema *src,
		    const struct tz *z)
{
	dst->fields = calloc((size_t)(src->nfields ? src->nfields : 1),
			     sizeof *dst->fields);
	if (!dst->fields)
		return -1;
	dst->nfields = src->nfields;
	for (int i = 0; i < src->nfields; i++) {
		dst->fields[i] = src->fields[i];
		cfg_schema_set_zone(&dst->fields[i], z);
	}
	return 0;
}

void cfg_schema_set_zone(struct rec_field *f, const struct tz *z)
{
	if (f->type == REC_TIMESTAMP || f->type == REC_DATE)
		f->tz = z;
}

int cfg_schema_group_by(const struct cfg_key *k, struct cfg *cfg, char *v)
{
	const struct rec_schema *s = &cfg->schema;
	char *item, *rest = v;
	int n = top_count(v);

	if (n == 0)
		return 0; /* none */
	cfg->group_by = calloc((size_t)n, sizeof *cfg->group_by);
	if (!cfg->group_by)
		return cfg_fail_oom(k->doc);
	while ((item = next_top_item(&rest))) {
		int fi;

		if (!*item)
			return cfg_bad_value(k, NULL,
					     "empty item in list");
		if (!cfg_is_ident(item)) {
			/* An expression: a derived field of its own. */
			if (cfg_derive_group_item(k, cfg, item,
						  (int)(item - v), &fi) < 0)
				return -1;
			cfg->group_by[cfg->ngroup_by++] = fi;
			continue;
		}
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
	{ "stddev", CFG_AGG_STDDEV }, { "stddev_samp", CFG_AGG_STDDEV },
	{ "stddev_pop", CFG_AGG_STDDEV_POP }, { "variance", CFG_AGG_VARIANCE },
	{ "var_samp", CFG_AGG_VARIANCE }, { "var_pop", CFG_AGG_VAR_POP },
	{ "median", CFG_AGG_PERCENTILE }, { "percentile", CFG_AGG_PERCENTILE },
	{ "arg_min", CFG_AGG_ARG_MIN }, { "arg_max", CFG_AGG_ARG_MAX },
};

/*
 * The second argument of percentile (a fraction 0..1) and of arg_min and
 * arg_max (a field); none for the other functions.  0, or -1.
 */
static int parse_arg2(const struct cfg_key *k, const struct rec_schema *schema,
		      const char *item, const char *fn, struct cfg_agg *a,
		      const char *arg2)
{
	bool pct = strcmp(fn, "percentile") == 0;
	bool arg = a->kind == CFG_AGG_ARG_MIN || a->kind == CFG_AGG_ARG_MAX;
	char *end;

	if (!pct && !arg) {
		if (arg2[0])
			return cfg_bad_value(k, item, "%s takes one argument",
					     fn);
		return 0;
	}
	if (!arg2[0] && pct)
		return cfg_bad_value(k, item,
				     "percentile takes a field and a fraction from 0 to 1, e.g. percentile(latency, 0.95)");
	if (!arg2[0])
		return cfg_bad_value(k, item,
				     "%s takes two fields: %s(value, by), e.g. %s(name, price)",
				     fn, fn, fn);
	if (pct) {
		a->p = strtod(arg2, &end);
		if (*end || end == arg2 || !(a->p >= 0 && a->p <= 1))
			return cfg_bad_value(k, item,
					     "percentile's fraction must be a number from 0 to 1, not '%s'",
					     arg2);
		return 0;
	}
	a->field2 = field_index(schema, arg2);
	if (a->field2 < 0) {
		const char *near = field_suggest(schema, arg2);

		if (near)
			return cfg_bad_value(k, item,
					     "'%s' is not a field declared in fields (did you mean '%s'?)",
					     arg2, near);
		return cfg_bad_value(k, item,
				     "'%s' is not a field declared in fields",
				     arg2);
	}
	return 0;
}

/* One aggregate item: func(arg [, arg2]) [as name]. */
static int parse_agg(const struct cfg_key *k, const struct rec_schema *schema,
		     char *item, struct cfg_agg *a)
{
	const char *s = item, *fn = NULL;
	char func[32], arg[FIELD_NAME_MAX + 2], as[FIELD_NAME_MAX + 2];
	char arg2[FIELD_NAME_MAX + 2] = "";
	size_t n;
	size_t fi;

	a->field2 = -1;
	a->filter = -1;
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
	if (*s == ',') {
		/* a second argument: a field name or a number */
		s = cfg_skip_space(s + 1);
		n = strcspn(s, " \t)");
		if (n == 0 || n > FIELD_NAME_MAX)
			goto syntax;
		memcpy(arg2, s, n);
		arg2[n] = '\0';
		s = cfg_skip_space(s + n);
	}
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
				     "unknown function '%s' (count, sum, avg, min, max, count_distinct, stddev, stddev_pop, variance, var_pop, median, percentile, arg_min, arg_max)",
				     func);
	}
	a->kind = agg_funcs[fi].kind;
	fn = agg_funcs[fi].name;
	if (strcmp(fn, "median") == 0)
		a->p = 0.5;
	if (parse_arg2(k, schema, item, fn, a, arg2) < 0)
		return -1;
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
	} else if (a->field2 >= 0) {
		size_t len = strlen(fn) + 2 + strlen(arg) + strlen(arg2) + 1;

		a->name = malloc(len);
		if (a->name)
			snprintf(a->name, len, "%s_%s_%s", fn, arg, arg2);
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
	int n = top_count(v);

	if (n == 0)
		return 0; /* none */
	cfg->aggs = calloc((size_t)n, sizeof *cfg->aggs);
	if (!cfg->aggs)
		return cfg_fail_oom(k->doc);
	while ((item = next_top_item(&rest))) {
		struct cfg_agg *a = &cfg->aggs[cfg->naggs];
		char plain[CFG_ERR_MAX], dflt[FIELD_NAME_MAX + 1];
		int filter;

		if (!*item)
			return cfg_bad_value(k, NULL,
					     "empty item in list");
		/* Expression arguments and the filter: hidden fields. */
		if (cfg_derive_agg_item(k, cfg, cfg->naggs, item,
					(int)(item - v), plain, sizeof plain,
					&filter, dflt, sizeof dflt) < 0)
			return -1;
		/* counted now, so that cfg_free sees a->name */
		cfg->naggs++;
		if (parse_agg(k, &cfg->schema, plain, a) < 0) {
			cfg_derive_agg_error(k, plain, item);
			return -1;
		}
		a->filter = filter;
		if (dflt[0]) {
			free(a->name);
			a->name = strdup(dflt);
			if (!a->name)
				return cfg_fail_oom(k->doc);
		}
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
