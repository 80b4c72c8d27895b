/*
 * pg_resume.c - the postgres provider's resume token, its checkpoint, and
 * the COPY statement each attempt sends (pg_resume.h).
 *
 * Invariant: a token describes exactly the rows consumed before the
 * checkpoint that carries it; the key in it is the key of row `rows`, as
 * text, whatever the COPY format.  Nothing here runs per row.
 */
#include "pg_resume.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/convert.h"
#include "pg_snapshot.h"
#include "sql_conf.h"
#include "sqlmap.h"

static void pg_token_write(const struct pg_run *r, bool done,
			   unsigned char *buf, struct sqlmap_token *t)
{
	sqlmap_tok_head(t, buf, "pg", r->rows, done);
	if (r->push || r->push_tok)
		sqlmap_tok_u64(t, "push", 1);
	if (r->snap[0]) {
		sqlmap_tok_str(t, "snap", r->snap);
		sqlmap_tok_u64(t, "holder", (uint64_t)r->holder);
	}
	/* Before the key's column is resolved too (a resumed attempt's
	   snapshot checkpoint): the key read from the token stays in it. */
	if (r->have_key)
		sqlmap_tok_bytes(t, "key", r->key.p, r->key.len);
}

int pg_token_read(struct pg_run *r, const unsigned char *tok, size_t len,
		  bool *done)
{
	uint64_t holder;
	const unsigned char *v;
	size_t vlen;
	int has;

	if (sqlmap_tok_get_head(tok, len, "pg", &r->rows, done) < 0)
		return -1;
	has = sqlmap_tok_get(tok, len, "snap", &v, &vlen);
	if (has < 0)
		return -1;
	if (has) {
		if (!pg_snap_valid(v, vlen) ||
		    sqlmap_tok_get_u64(tok, len, "holder", &holder) != 1 ||
		    holder == 0 || holder > INT32_MAX)
			return -1;
		memcpy(r->snap, v, vlen);
		r->snap[vlen] = '\0';
		r->holder = (pid_t)holder;
	}
	has = sqlmap_tok_get_u64(tok, len, "push", &holder);
	if (has < 0)
		return -1;
	r->push_tok = has == 1;
	has = sqlmap_tok_get(tok, len, "key", &v, &vlen);
	if (has < 0)
		return -1;
	if (has) {
		if (sqlmap_key_set(&r->key, v, vlen) < 0)
			return -1;
		r->have_key = true;
	}
	return 0;
}

int pg_resume_key(struct pg_run *r)
{
	const char *key = (const char *)r->key.p;

	if (r->key_type == PG_OID_INT2 || r->key_type == PG_OID_INT4 ||
	    r->key_type == PG_OID_INT8)
		return conv_parse_int(key, r->key.len, &r->key_i);
	if (r->key_type == PG_OID_FLOAT4 || r->key_type == PG_OID_FLOAT8)
		return conv_parse_float(key, r->key.len, &r->key_f);
	return 0;
}

enum prov_status pg_checkpoint(struct pg_run *r, bool done)
{
	unsigned char tok[PROV_TOKEN_MAX];
	struct sqlmap_token t;

	pg_token_write(r, done, tok, &t);
	return sqlmap_checkpoint(r->c, &t, r->key.len);
}

char *pg_copy_sql(struct pg_run *r)
{
	const struct sql_conf *sc = sql_conf(r->p);
	const char *fmt = r->binary ? " (FORMAT binary)" : "";
	char *sql = NULL, *ident, *lit, *query = NULL;

	if (r->key_col < 0 || !r->have_key) {
		if (asprintf(&sql, "COPY (\n%s\n) TO STDOUT%s", r->body, fmt) < 0)
			return NULL;
		return sql;
	}
	ident = PQescapeIdentifier(r->conn, sc->key, strlen(sc->key));
	lit = PQescapeLiteral(r->conn, (const char *)r->key.p, r->key.len);
	if (ident && lit)
		query = sqlmap_resume_sql(r->body, ident, lit);
	if (query && asprintf(&sql, "COPY (%s) TO STDOUT%s", query, fmt) < 0)
		sql = NULL;
	free(query);
	PQfreemem(ident);
	PQfreemem(lit);
	return sql;
}
