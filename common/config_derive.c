/*
 * config_derive.c - derived fields, `where`, group_by expressions and
 * aggregate arguments that are expressions (config_derive.h).
 *
 * A derived field is a field of cfg->schema after the declared ones,
 * with its program in cfg->derive.  Each is compiled against the schema
 * as it stands, so it can read only the fields before it; `derive` items
 * are first put in an order where that holds (expr_names_read() gives
 * what each reads before any is compiled).
 */
#include "config_derive.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_read.h"
#include "config_schema.h"
#include "config_value.h"
#include "expr.h"

/* Longest field name (as config_schema.c). */
#define NAME_MAX_LEN 63

/* The ')' that closes the '(' just before s, or NULL. */
static const char *close_paren(const char *s)
{
	char quote = '\0';
	int depth = 1;

	for (; *s; s++) {
		if (quote) {
			if (*s == quote)
				quote = '\0';
		} else if (*s == '\'' || *s == '"') {
			quote = *s;
		} else if (*s == '(') {
			depth++;
		} else if (*s == ')' && --depth == 0) {
			return s;
		}
	}
	return NULL;
}

static int field_index(const struct rec_schema *s, const char *name)
{
	for (int i = 0; i < s->nfields; i++)
		if (strcmp(s->fields[i].name, name) == 0)
			return i;
	return -1;
}

/* Compile text found at column col0 of k's value; NULL after cfg_fail(). */
static struct expr_prog *compile_at(const struct cfg_key *k,
				    const struct cfg *cfg, const char *what,
				    const char *text, int col0)
{
	struct expr_error err = { 0 };
	struct expr_prog *prog;
	size_t n = strlen(text);
	char *pad = malloc((size_t)col0 + n + 1), sd[CFG_SECT_DESC_MAX];

	if (!pad) {
		cfg_fail_oom(k->doc);
		return NULL;
	}
	/* Blanks before it: the engine's columns are then the value's. */
	memset(pad, ' ', (size_t)col0);
	memcpy(pad + col0, text, n + 1);
	prog = expr_compile(pad, &cfg->schema, cfg->tz, &err);
	free(pad);
	if (!prog)
		cfg_fail(k->doc, k->e->line, "%s in %s: %s", what,
			 cfg_sect_desc(k->doc, k->e->sect, sd, sizeof sd),
			 err.msg);
	return prog;
}

/* Append field name (type unset) with program prog (may be NULL yet). */
static int add_field(const struct cfg_key *k, struct cfg *cfg,
		     const char *name, bool hidden)
{
	struct rec_schema *s = &cfg->schema;
	int n = s->nfields, d = n - cfg->nfields_declared;
	struct rec_field *f;
	struct expr_prog **dv;
	bool *hv;
	int *gv;
	char sd[CFG_SECT_DESC_MAX];

	if (field_index(s, name) >= 0)
		return cfg_fail(k->doc, k->e->line,
				"%s in %s: '%s' is already a field (give this one another name with 'as NAME')",
				k->e->key,
				cfg_sect_desc(k->doc, k->e->sect, sd, sizeof sd),
				name);
	if (n >= REC_MAX_FIELDS)
		return cfg_fail(k->doc, k->e->line,
				"more than %d fields, declared and derived",
				REC_MAX_FIELDS);
	f = realloc(s->fields, (size_t)(n + 1) * sizeof *f);
	if (!f)
		return cfg_fail_oom(k->doc);
	s->fields = f;
	dv = realloc(cfg->derive, (size_t)(d + 1) * sizeof *dv);
	if (!dv)
		return cfg_fail_oom(k->doc);
	cfg->derive = dv;
	hv = realloc(cfg->hidden, (size_t)(d + 1) * sizeof *hv);
	if (!hv)
		return cfg_fail_oom(k->doc);
	cfg->hidden = hv;
	gv = realloc(cfg->guard, (size_t)(d + 1) * sizeof *gv);
	if (!gv)
		return cfg_fail_oom(k->doc);
	cfg->guard = gv;
	gv[d] = -1;
	memset(&f[n], 0, sizeof f[n]);
	f[n].name = strdup(name);
	if (!f[n].name)
		return cfg_fail_oom(k->doc);
	f[n].type = REC_INT;
	dv[d] = NULL;
	hv[d] = hidden;
	s->nfields++;
	return n;
}

/* Compile field fi's expression and take its type. */
static int set_field(const struct cfg_key *k, struct cfg *cfg, int fi,
		     const char *what, const char *text, int col0)
{
	struct expr_prog *prog = compile_at(k, cfg, what, text, col0);
	struct rec_field *f = &cfg->schema.fields[fi];
	struct expr_type t;

	if (!prog)
		return -1;
	cfg->derive[fi - cfg->nfields_declared] = prog;
	t = expr_result_type(prog);
	f->type = t.type;
	f->prec = t.prec;
	f->scale = t.scale;
	cfg_schema_set_zone(f, cfg->tz);
	return 0;
}

/* A derived field name: an identifier as fields' names are. */
static int check_name(const struct cfg_key *k, const char *name)
{
	if (!cfg_is_ident(name) || strlen(name) > NAME_MAX_LEN)
		return cfg_bad_value(k, name,
				     "a field name is a letter or '_' then letters, digits or '_', at most %d bytes",
				     NAME_MAX_LEN);
	return 0;
}

/* expr_names_read() with its columns counted from col0 (as compile_at). */
static int names_read_at(const char *text, int col0, char ***names,
			 struct expr_error *err)
{
	size_t n = strlen(text);
	char *pad = malloc((size_t)col0 + n + 1);
	int rc;

	if (!pad) {
		err->column = -1;
		return -1;
	}
	memset(pad, ' ', (size_t)col0);
	memcpy(pad + col0, text, n + 1);
	rc = expr_names_read(pad, names, err);
	free(pad);
	return rc;
}

struct ditem {
	char *name, *text;
	int col0;
	char **reads;
	int nreads;
	int done;
};

int cfg_derive_list(const struct cfg_key *k, struct cfg *cfg, char *v)
{
	struct ditem *it = NULL;
	int n = 0, cap = 0, rc = -1, left;
	/* Cut a copy: messages quote the value whole. */
	char *work = strdup(v), *s = work;

	if (!work)
		return cfg_fail_oom(k->doc);

	while (*cfg_skip_space(s)) {
		char *end = (char *)cfg_item_end(s), *eq, *name;
		struct ditem *d;
		struct expr_error err = { 0 };
		bool last = *end == '\0';

		*end = '\0';
		if (n == cap) {
			struct ditem *ni = realloc(it, (size_t)(cap = cap * 2 + 4) *
							   sizeof *ni);

			if (!ni) {
				cfg_fail_oom(k->doc);
				goto out;
			}
			it = ni;
		}
		d = &it[n];
		memset(d, 0, sizeof *d);
		eq = strchr(s, '=');
		if (!eq || eq[1] == '=') {
			cfg_bad_value(k, cfg_trim(s),
				      "expected name = expression");
			goto out;
		}
		*eq = '\0';
		name = cfg_trim(s);
		if (check_name(k, name) < 0)
			goto out;
		d->name = name;
		d->text = eq + 1;
		d->col0 = (int)(d->text - work);
		n++;
		d->nreads = names_read_at(d->text, d->col0, &d->reads, &err);
		if (d->nreads < 0) {
			char sd[CFG_SECT_DESC_MAX];

			d->nreads = 0;
			d->reads = NULL;
			if (err.column < 0)
				cfg_fail_oom(k->doc);
			else
				cfg_fail(k->doc, k->e->line, "derive %s in %s: %s",
					 name, cfg_sect_desc(k->doc, k->e->sect,
							     sd, sizeof sd),
					 err.msg);
			goto out;
		}
		for (int j = 0; j < n - 1; j++)
			if (strcmp(it[j].name, name) == 0) {
				cfg_bad_value(k, name, "derived twice");
				goto out;
			}
		if (last)
			break;
		s = end + 1;
	}
	if (n == 0) {
		rc = cfg_bad_value(k, NULL, "no derived field");
		goto out;
	}
	/* Append them ready first, in the order given, as long as any is. */
	for (left = n; left > 0;) {
		int pick = -1;

		for (int i = 0; i < n && pick < 0; i++) {
			bool ready = !it[i].done;

			for (int r = 0; ready && r < it[i].nreads; r++)
				for (int j = 0; j < n; j++)
					if (!it[j].done && j != i &&
					    strcmp(it[j].name, it[i].reads[r]) == 0)
						ready = false;
			for (int r = 0; ready && r < it[i].nreads; r++)
				if (strcmp(it[i].name, it[i].reads[r]) == 0)
					ready = false;
			if (ready)
				pick = i;
		}
		if (pick < 0) {
			char cyc[CFG_ERR_MAX / 2] = "";
			size_t len = 0;

			for (int i = 0; i < n && len < sizeof cyc; i++)
				if (!it[i].done)
					len += (size_t)snprintf(cyc + len,
								sizeof cyc - len,
								"%s%s", len ? ", " : "",
								it[i].name);
			rc = cfg_bad_value(k, NULL,
					   "derived fields that read each other in a cycle: %s",
					   cyc);
			goto out;
		}
		it[pick].done = 1;
		left--;
		{
			char what[NAME_MAX_LEN + 16];
			int fi = add_field(k, cfg, it[pick].name, false);

			snprintf(what, sizeof what, "derive %s", it[pick].name);
			if (fi < 0 || set_field(k, cfg, fi, what, it[pick].text,
						it[pick].col0) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	for (int i = 0; i < n; i++)
		expr_names_free(it[i].reads, it[i].nreads);
	free(it);
	free(work);
	return rc;
}

/* 0 when prog is a bool expression, else cfg_fail() saying what it is. */
static int want_bool(const struct cfg_key *k, const char *what,
		     struct expr_prog *prog)
{
	struct expr_type t = expr_result_type(prog);
	char sd[CFG_SECT_DESC_MAX];

	if (t.type == REC_BOOL)
		return 0;
	return cfg_fail(k->doc, k->e->line,
			"%s in %s must be true or false (a bool expression); this one is %s",
			what, cfg_sect_desc(k->doc, k->e->sect, sd, sizeof sd),
			rec_type_name(t.type));
}

int cfg_derive_where(const struct cfg_key *k, const struct cfg *cfg,
		     const char *v, struct expr_prog **prog)
{
	struct expr_prog *p;

	if (!*cfg_skip_space(v))
		return cfg_bad_value(k, NULL, "no expression");
	p = compile_at(k, cfg, "where", v, 0);
	if (!p)
		return -1;
	if (want_bool(k, "where", p) < 0) {
		expr_free(p);
		return -1;
	}
	expr_free(*prog);
	*prog = p;
	return 0;
}

int cfg_derive_keep(const struct cfg_key *k, struct cfg *cfg, const char *v,
		    const char *name, int *fi)
{
	*fi = add_field(k, cfg, name, true);
	if (*fi < 0 || set_field(k, cfg, *fi, "where", v, 0) < 0)
		return -1;
	return want_bool(k, "where", cfg->derive[*fi - cfg->nfields_declared]);
}

/*
 * The trailing `as NAME` of item, outside parentheses and quotes: cuts
 * item before it and returns NAME, or NULL when there is none.
 */
static char *take_as(char *item)
{
	char quote = '\0', *found = NULL;
	int depth = 0;

	for (char *s = item; *s; s++) {
		if (quote) {
			if (*s == quote)
				quote = '\0';
		} else if (*s == '\'' || *s == '"') {
			quote = *s;
		} else if (*s == '(') {
			depth++;
		} else if (*s == ')') {
			depth -= depth > 0;
		} else if (depth == 0 && s > item &&
			   isspace((unsigned char)s[-1]) &&
			   strncasecmp(s, "as", 2) == 0 &&
			   isspace((unsigned char)s[2])) {
			const char *t = cfg_skip_space(s + 2);
			size_t n = cfg_ident_len(t);

			if (n && !*cfg_skip_space(t + n))
				found = s;
		}
	}
	if (!found)
		return NULL;
	*found = '\0';
	return cfg_trim(found + 2);
}

int cfg_derive_group_item(const struct cfg_key *k, struct cfg *cfg,
			  char *item, int col0, int *fi)
{
	char *as = take_as(item), name[NAME_MAX_LEN + 1], *expr;
	char what[NAME_MAX_LEN + 16];
	size_t n;

	expr = item;
	if (as) {
		if (check_name(k, as) < 0)
			return -1;
		snprintf(name, sizeof name, "%s", as);
	} else {
		/* A function call is named after its function. */
		const char *t = cfg_skip_space(expr);

		n = cfg_ident_len(t);
		if (n == 0 || n > NAME_MAX_LEN ||
		    *cfg_skip_space(t + n) != '(' ||
		    (n == 4 && strncasecmp(t, "cast", 4) == 0))
			return cfg_bad_value(k, cfg_trim(item),
					     "name this expression's column: EXPR as NAME");
		for (size_t i = 0; i < n; i++)
			name[i] = (char)tolower((unsigned char)t[i]);
		name[n] = '\0';
	}
	*fi = add_field(k, cfg, name, false);
	if (*fi < 0)
		return -1;
	snprintf(what, sizeof what, "group_by %s", name);
	return set_field(k, cfg, *fi, what, expr, col0);
}

/* An argument kept as it is: '*', a name, or a number. */
static bool plain_arg(const struct cfg *cfg, const char *a)
{
	char *end;

	(void)cfg;
	if (strcmp(a, "*") == 0 || cfg_is_ident(a))
		return true; /* a name that is no field: parse_agg says so */
	if (*a && (isdigit((unsigned char)*a) || *a == '.' || *a == '-' ||
		   *a == '+')) {
		(void)strtod(a, &end);
		return *end == '\0';
	}
	return false;
}

int cfg_derive_agg_item(const struct cfg_key *k, struct cfg *cfg, int ai,
			const char *item, int col0, char *out, size_t outlen,
			int *filter, char *dflt, size_t dfltlen)
{
	const char *s = item, *open, *close, *rest;
	size_t n, len = 0;
	bool any = false;
	char buf[CFG_ERR_MAX];

	*filter = -1;
	dflt[0] = '\0';
	snprintf(out, outlen, "%s", item);
	n = cfg_ident_len(s);
	open = cfg_skip_space(s + n);
	if (n == 0 || *open != '(' || !(close = close_paren(open + 1)))
		return 0; /* not func(...): the parser says what is wrong */
	/* The filter first: an argument is computed only where it holds. */
	rest = cfg_skip_space(close + 1);
	if (strncasecmp(rest, "filter", 6) == 0 &&
	    *cfg_skip_space(rest + 6) == '(') {
		const char *fo = cfg_skip_space(rest + 6), *fc, *w;
		char name[32], what[64];
		size_t flen;
		int fi;

		w = cfg_skip_space(fo + 1);
		fc = close_paren(fo + 1);
		if (!fc || strncasecmp(w, "where", 5) != 0 ||
		    !isspace((unsigned char)w[5]))
			return cfg_bad_value(k, item,
					     "expected filter (where EXPR)");
		w += 5;
		flen = (size_t)(fc - w);
		if (flen >= sizeof buf)
			return cfg_bad_value(k, item, "filter too long");
		memcpy(buf, w, flen);
		buf[flen] = '\0';
		snprintf(name, sizeof name, "__agg%d_filter",
			 cfg->agg_base + ai + 1);
		snprintf(what, sizeof what, "aggregate %d's filter", ai + 1);
		fi = add_field(k, cfg, name, true);
		if (fi < 0 || set_field(k, cfg, fi, what, buf,
					col0 + (int)(w - item)) < 0)
			return -1;
		if (want_bool(k, what, cfg->derive[fi - cfg->nfields_declared]) < 0)
			return -1;
		*filter = fi;
		rest = cfg_skip_space(fc + 1);
	}
	len = (size_t)snprintf(out, outlen, "%.*s(", (int)n, s);
	for (const char *a = open + 1; a < close && len < outlen;) {
		const char *e = cfg_item_end(a);
		char arg[CFG_ERR_MAX], name[32];
		const char *t;
		size_t alen, lead;
		bool star = false;

		if (e > close)
			e = close;
		alen = (size_t)(e - a);
		if (alen >= sizeof arg)
			return cfg_bad_value(k, item, "argument too long");
		memcpy(arg, a, alen);
		arg[alen] = '\0';
		lead = strspn(arg, " \t");
		t = cfg_trim(arg);
		if (*filter >= 0 && strcmp(t, "*") == 0) {
			/*
			 * count(*) filter (where p): the count of a value
			 * that is NULL unless p holds.
			 */
			t = "true";
			star = true;
			if (!*rest)
				snprintf(dflt, dfltlen, "count");
		}
		if (plain_arg(cfg, t) && (*filter < 0 || !cfg_is_ident(t) ||
					  strcmp(t, "*") == 0)) {
			/* A field under a filter is copied: see below. */
			len += (size_t)snprintf(out + len, outlen - len, "%s%s",
						a > open + 1 ? ", " : "", t);
		} else {
			char what[64];
			int fi;

			snprintf(name, sizeof name, "__agg%d_arg%d",
				 cfg->agg_base + ai + 1,
				 a > open + 1 ? 2 : 1);
			snprintf(what, sizeof what, "aggregate %d's argument",
				 ai + 1);
			fi = add_field(k, cfg, name, true);
			if (fi < 0 || set_field(k, cfg, fi, what, t,
						col0 + (int)(a - item + lead)) < 0)
				return -1;
			if (plain_arg(cfg, t) && a == open + 1 && !*rest &&
			    !star) {
				/* The name it would have without the filter. */
				size_t i;

				for (i = 0; i < n && i + 1 < dfltlen; i++)
					dflt[i] = (char)tolower((unsigned char)s[i]);
				snprintf(dflt + i, dfltlen - i, "_%s", t);
			}
			/*
			 * Under a filter: NULL where it does not hold, so
			 * that no aggregate folds it whatever it is.
			 */
			cfg->guard[fi - cfg->nfields_declared] = *filter;
			len += (size_t)snprintf(out + len, outlen - len, "%s%s",
						a > open + 1 ? ", " : "", name);
			any |= !plain_arg(cfg, t);
		}
		a = *e == ',' ? e + 1 : e;
	}
	len += (size_t)snprintf(out + len, outlen - len, ")%s%s",
				*rest ? " " : "", rest);
	if (len >= outlen)
		return cfg_bad_value(k, item, "aggregate too long");
	if (any && !*rest) {
		size_t i;

		for (i = 0; i < n && i + 1 < dfltlen; i++)
			dflt[i] = (char)tolower((unsigned char)s[i]);
		dflt[i] = '\0';
	}
	return 0;
}

/* Replace the first from in s (of size cap) with to, when it fits. */
static void replace_in(char *s, size_t cap, const char *from, const char *to)
{
	char *at = strstr(s, from);
	size_t fl = strlen(from), tl = strlen(to), len = strlen(s);

	if (!at || len - fl + tl >= cap)
		return;
	memmove(at + tl, at + fl, len - (size_t)(at - s) - fl + 1);
	memcpy(at, to, tl);
}

void cfg_derive_agg_error(const struct cfg_key *k, const char *plain,
			  const char *item)
{
	char from[CFG_ERR_MAX + 2], to[CFG_ERR_MAX + 2];

	if (strcmp(plain, item) == 0 || !k->doc->err)
		return;
	snprintf(from, sizeof from, "'%s'", plain);
	snprintf(to, sizeof to, "'%s'", item);
	replace_in(k->doc->err, k->doc->errlen, from, to);
	for (int j = 1; j <= 2; j++) {
		/* A hidden field's name: what it stands for. */
		const char *h = strstr(k->doc->err, "'__agg");

		if (h && strstr(h, "_arg")) {
			const char *end = strchr(h + 1, '\'');

			if (end && (size_t)(end - h + 1) < sizeof from) {
				snprintf(from, sizeof from, "%.*s",
					 (int)(end - h + 1), h);
				replace_in(k->doc->err, k->doc->errlen, from,
					   j == 1 ? "the expression" :
					   "the other expression");
			}
		}
	}
}

void cfg_derive_free(struct cfg *cfg)
{
	int nd = cfg->schema.nfields - cfg->nfields_declared;

	if (cfg->derive)
		for (int i = 0; i < nd; i++)
			expr_free(cfg->derive[i]);
	free(cfg->derive);
	free(cfg->hidden);
	free(cfg->guard);
	cfg->guard = NULL;
	expr_free(cfg->where);
	cfg->derive = NULL;
	cfg->hidden = NULL;
	cfg->where = NULL;
}
