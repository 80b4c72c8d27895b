/*
 * sqlmap.c - shared by the SQL providers (sqlite, postgres): resolving
 * schema fields to result columns, resuming by key, and the resume token
 * codec (sqlmap.h).
 *
 * All of it runs once per attempt, per checkpoint or on a failure, so
 * nothing here is on the hot path (sqlmap_key_set() is inline in the
 * header).  A field is "explicitly mapped" when its source differs
 * from its own name: config.c sets an unmapped field's source to its name.
 */
#include "sqlmap.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sql_conf.h"

int sqlmap_find(const char *const *names, int ncols, const char *name)
{
	int found = -1;

	for (int j = 0; j < ncols; j++)
		if (names[j] && strcmp(names[j], name) == 0)
			return j;
	for (int j = 0; j < ncols; j++) {
		if (names[j] == NULL || strcasecmp(names[j], name) != 0)
			continue;
		if (found >= 0)
			return -1; /* ambiguous: "Id" and "ID" */
		found = j;
	}
	return found;
}

void sqlmap_no_column(char *err, size_t errlen, const char *what,
		      const char *want, const char *const *names, int ncols)
{
	const char *near = cfg_nearest(want, names, (size_t)ncols);
	size_t n;

	n = (size_t)snprintf(err, errlen, "%s (columns:", what);
	for (int j = 0; j < ncols && n < errlen; j++)
		n += (size_t)snprintf(err + n, errlen - n, "%s %s",
				      j ? "," : "", names[j] ? names[j] : "?");
	if (ncols == 0 && n < errlen)
		n += (size_t)snprintf(err + n, errlen - n, " none");
	if (near && n < errlen)
		n += (size_t)snprintf(err + n, errlen - n,
				      "; did you mean \"%s\"?", near);
	if (n < errlen)
		snprintf(err + n, errlen - n, ")");
}

int sqlmap_resolve(const struct cfg *cfg, const struct cfg_provider *p,
		   const char *const *names, int ncols, int *map, int *key_col,
		   char *err, size_t errlen)
{
	const struct sql_conf *sc = sql_conf(p);
	const struct rec_schema *s = &cfg->schema;
	char what[256];

	for (int i = 0; i < s->nfields; i++) {
		const char *src = p->source[i];

		map[i] = sqlmap_find(names, ncols, src);
		if (map[i] >= 0)
			continue;
		if (strcmp(src, s->fields[i].name) != 0)
			snprintf(what, sizeof what,
				 "field %s is mapped to column \"%.64s\", which "
				 "the query does not return", s->fields[i].name,
				 src);
		else
			snprintf(what, sizeof what,
				 "field %s: the query returns no column \"%s\" "
				 "(name one with map = %s=COLUMN)",
				 s->fields[i].name, src, s->fields[i].name);
		sqlmap_no_column(err, errlen, what, src, names, ncols);
		return SQLMAP_NO_COLUMN;
	}
	*key_col = -1;
	if (sc->key) {
		*key_col = sqlmap_find(names, ncols, sc->key);
		if (*key_col < 0) {
			snprintf(err, errlen,
				 "key \"%s\" is not a column of the query's "
				 "result (add it to the SELECT list)", sc->key);
			return -1;
		}
	}
	return 0;
}

int sqlmap_resolve_cols(const struct cfg *cfg, const struct cfg_provider *p,
			const void *src, int ncols, sqlmap_colname_fn *colname,
			int *map, int *key_col, char *err, size_t errlen)
{
	const char **names = calloc(ncols > 0 ? (size_t)ncols : 1,
				    sizeof *names);
	int rc;

	if (names == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int j = 0; j < ncols; j++)
		names[j] = colname(src, j);
	rc = sqlmap_resolve(cfg, p, names, ncols, map, key_col, err, errlen);
	free(names);
	return rc;
}

int sqlmap_check_cols(const struct cfg *cfg, const struct cfg_provider *p,
		      const void *src, int ncols, sqlmap_colname_fn *colname,
		      char *err, size_t errlen)
{
	int *map = calloc((size_t)cfg->schema.nfields + 1, sizeof *map);
	int key_col, rc;

	if (map == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = sqlmap_resolve_cols(cfg, p, src, ncols, colname, map, &key_col,
				 err, errlen);
	free(map);
	if (rc < 0)
		return rc == SQLMAP_NO_COLUMN ? PROV_CHECK_CONFIG : -1;
	return 0;
}

char *sqlmap_query_body(const char *query)
{
	size_t n = strlen(query);

	while (n > 0 && (query[n - 1] == ';' || query[n - 1] == ' ' ||
			 query[n - 1] == '\t' || query[n - 1] == '\n' ||
			 query[n - 1] == '\r'))
		n--;
	return strndup(query, n);
}

char *sqlmap_resume_sql(const char *body, const char *ident,
			const char *after)
{
	char *sql;

	if (asprintf(&sql, "SELECT * FROM (\n%s\n) AS agg_resume WHERE %s > %s "
		     "ORDER BY %s", body, ident, after, ident) < 0)
		return NULL;
	return sql;
}

enum prov_status sqlmap_key_null(struct prov_ctx *c, const char *key,
				 uint64_t row)
{
	return prov_fail(c, PROV_FAIL_PERMANENT,
			 "key \"%s\" is NULL at row %" PRIu64
			 ": a key must strictly increase", key, row);
}

static int quoted(size_t len)
{
	return (int)(len < SQLMAP_QUOTE_MAX ? len : SQLMAP_QUOTE_MAX);
}

enum prov_status sqlmap_key_order(struct prov_ctx *c, const char *key,
				  uint64_t row, const char *now, size_t nowlen,
				  const char *before, size_t beforelen)
{
	return prov_fail(c, PROV_FAIL_PERMANENT,
			 "key \"%s\" does not strictly increase: row %" PRIu64
			 " has %.*s after %.*s", key, row, quoted(nowlen), now,
			 quoted(beforelen), before);
}

void sqlmap_position(char *out, size_t len, const char *key, size_t keylen,
		     uint64_t row)
{
	if (key != NULL)
		snprintf(out, len, "row key=%.*s", quoted(keylen), key);
	else
		snprintf(out, len, "row %" PRIu64, row);
}

void sqlmap_tok_init(struct sqlmap_token *t, unsigned char *buf, size_t cap)
{
	t->buf = buf;
	t->len = 0;
	t->cap = cap;
	t->overflow = false;
}

static void tok_put(struct sqlmap_token *t, const void *v, size_t len)
{
	if (t->overflow || len > t->cap - t->len) {
		t->overflow = true;
		return;
	}
	memcpy(t->buf + t->len, v, len);
	t->len += len;
}

void sqlmap_tok_u64(struct sqlmap_token *t, const char *name, uint64_t v)
{
	char line[128];
	int n = snprintf(line, sizeof line, "%s=%" PRIu64 "\n", name, v);

	tok_put(t, line, (size_t)n);
}

void sqlmap_tok_str(struct sqlmap_token *t, const char *name, const char *s)
{
	tok_put(t, name, strlen(name));
	tok_put(t, "=", 1);
	tok_put(t, s, strlen(s));
	tok_put(t, "\n", 1);
}

void sqlmap_tok_bytes(struct sqlmap_token *t, const char *name, const void *v,
		      size_t len)
{
	char head[128];
	int n = snprintf(head, sizeof head, "%s:%zu=", name, len);

	tok_put(t, head, (size_t)n);
	tok_put(t, v, len);
	tok_put(t, "\n", 1);
}

int sqlmap_tok_get(const unsigned char *tok, size_t len, const char *name,
		   const unsigned char **v, size_t *vlen)
{
	size_t pos = 0, nlen = strlen(name);

	while (pos < len) {
		size_t start = pos, namelen, vstart, n;
		bool raw = false;
		uint64_t rawlen = 0;

		while (pos < len && tok[pos] != '=' && tok[pos] != ':' &&
		       tok[pos] != '\n')
			pos++;
		if (pos == len || tok[pos] == '\n')
			return -1;
		namelen = pos - start;
		if (tok[pos] == ':') {
			raw = true;
			pos++;
			if (pos == len || tok[pos] < '0' || tok[pos] > '9')
				return -1;
			while (pos < len && tok[pos] >= '0' && tok[pos] <= '9') {
				if (rawlen > (UINT64_MAX - 9) / 10)
					return -1;
				rawlen = rawlen * 10 + (uint64_t)(tok[pos] - '0');
				pos++;
			}
			if (pos == len || tok[pos] != '=')
				return -1;
		}
		pos++; /* '=' */
		vstart = pos;
		if (raw) {
			if (rawlen > len - pos || len - pos - rawlen < 1 ||
			    tok[pos + rawlen] != '\n')
				return -1;
			n = (size_t)rawlen;
			pos += n + 1;
		} else {
			const unsigned char *nl = memchr(tok + pos, '\n', len - pos);

			if (nl == NULL)
				return -1;
			n = (size_t)(nl - (tok + pos));
			pos += n + 1;
		}
		if (namelen == nlen && memcmp(tok + start, name, nlen) == 0) {
			*v = tok + vstart;
			*vlen = n;
			return 1;
		}
	}
	return 0;
}

int sqlmap_tok_get_u64(const unsigned char *tok, size_t len, const char *name,
		       uint64_t *v)
{
	const unsigned char *s;
	size_t n;
	int rc = sqlmap_tok_get(tok, len, name, &s, &n);
	uint64_t x = 0;

	if (rc <= 0)
		return rc;
	if (n == 0 || n > 20)
		return -1;
	for (size_t k = 0; k < n; k++) {
		if (s[k] < '0' || s[k] > '9')
			return -1;
		if (x > (UINT64_MAX - (uint64_t)(s[k] - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(s[k] - '0');
	}
	*v = x;
	return 1;
}

void sqlmap_tok_head(struct sqlmap_token *t, unsigned char *buf,
		     const char *type, uint64_t rows, bool done)
{
	sqlmap_tok_init(t, buf, PROV_TOKEN_MAX);
	sqlmap_tok_u64(t, type, 1);
	sqlmap_tok_u64(t, "rows", rows);
	sqlmap_tok_u64(t, "done", done);
}

int sqlmap_tok_get_head(const unsigned char *tok, size_t len,
			const char *type, uint64_t *rows, bool *done)
{
	uint64_t version, d;

	if (sqlmap_tok_get_u64(tok, len, type, &version) != 1 || version != 1 ||
	    sqlmap_tok_get_u64(tok, len, "rows", rows) != 1 ||
	    sqlmap_tok_get_u64(tok, len, "done", &d) != 1 || d > 1)
		return -1;
	*done = d;
	return 0;
}

enum prov_status sqlmap_checkpoint(struct prov_ctx *c,
				   const struct sqlmap_token *t,
				   size_t key_len)
{
	if (t->overflow)
		return prov_fail(c, PROV_FAIL_PERMANENT,
				 "the key's value is too long for a resume "
				 "token (%zu bytes)", key_len);
	if (prov_checkpoint(c, t->buf, t->len) < 0)
		return prov_failure(c);
	return PROV_DONE;
}
