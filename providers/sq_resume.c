/*
 * sq_resume.c - where a sqlite attempt starts and how it tells the next
 * one: the resume token, the checkpoint that sends it, and the query of a
 * resumed attempt (sq_resume.h).  Nothing here runs per row.
 */
#include "sq_resume.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/convert.h"
#include "sq_db.h"
#include "sql_conf.h"
#include "sqlmap.h"

char *sq_quote_ident(const char *id)
{
	size_t n = strlen(id), k = 0;
	char *q = malloc(2 * n + 3);

	if (q == NULL)
		return NULL;
	q[k++] = '"';
	for (size_t j = 0; j < n; j++) {
		if (id[j] == '"')
			q[k++] = '"';
		q[k++] = id[j];
	}
	q[k++] = '"';
	q[k] = '\0';
	return q;
}

static void sq_token_write(const struct sq_run *r, bool done,
			   unsigned char *buf, struct sqlmap_token *t)
{
	char num[32];

	sqlmap_tok_head(t, buf, "sqlite", r->rows, done);
	if (r->push)
		sqlmap_tok_u64(t, "push", 1);
	if (r->key_col >= 0 && r->last.type) {
		switch (r->last.type) {
		case SQLITE_INTEGER:
			sqlmap_tok_str(t, "kt", "i");
			snprintf(num, sizeof num, "%" PRId64, r->last.i);
			sqlmap_tok_bytes(t, "kv", num, strlen(num));
			break;
		case SQLITE_FLOAT: {
			uint64_t bits;

			/* The double's bits: exact, and no locale in the way. */
			memcpy(&bits, &r->last.f, sizeof bits);
			sqlmap_tok_str(t, "kt", "f");
			snprintf(num, sizeof num, "%" PRIu64, bits);
			sqlmap_tok_bytes(t, "kv", num, strlen(num));
			break;
		}
		default:
			sqlmap_tok_str(t, "kt",
				       r->last.type == SQLITE_TEXT ? "t" : "b");
			sqlmap_tok_bytes(t, "kv", r->last.bytes.p,
					 r->last.bytes.len);
		}
	}
}

/*
 * Read the token of the last folded checkpoint into r.  Returns 0, or -1
 * for a token this code did not write.
 */
int sq_token_read(struct sq_run *r, const unsigned char *tok, size_t len,
		  bool *done)
{
	uint64_t bits;
	const unsigned char *kt, *kv;
	size_t ktlen, kvlen;
	char num[32];
	int has;

	if (sqlmap_tok_get_head(tok, len, "sqlite", &r->rows, done) < 0)
		return -1;
	has = sqlmap_tok_get_u64(tok, len, "push", &bits);
	if (has < 0)
		return -1;
	r->push = has == 1;
	has = sqlmap_tok_get(tok, len, "kt", &kt, &ktlen);
	if (has < 0)
		return -1;
	if (has == 0)
		return 0;
	if (ktlen != 1 || sqlmap_tok_get(tok, len, "kv", &kv, &kvlen) != 1)
		return -1;
	switch (kt[0]) {
	case 'i':
	case 'f':
		if (kvlen == 0 || kvlen >= sizeof num)
			return -1;
		memcpy(num, kv, kvlen);
		num[kvlen] = '\0';
		if (kt[0] == 'i') {
			if (conv_parse_int(num, kvlen, &r->last.i) < 0)
				return -1;
			r->last.type = SQLITE_INTEGER;
		} else {
			if (sqlmap_tok_get_u64(tok, len, "kv", &bits) != 1)
				return -1;
			memcpy(&r->last.f, &bits, sizeof bits);
			r->last.type = SQLITE_FLOAT;
		}
		return 0;
	case 't':
	case 'b':
		if (sqlmap_key_set(&r->last.bytes, kv, kvlen) < 0)
			return -1;
		r->last.type = kt[0] == 't' ? SQLITE_TEXT : SQLITE_BLOB;
		return 0;
	default:
		return -1;
	}
}

/* Prepare the resumed query: rows after the last key, in key order. */
enum prov_status sq_prepare_resume(struct sq_run *r)
{
	struct prov_ctx *c = r->c;
	char *body = sqlmap_query_body(sql_conf(r->p)->query);
	char *ident = sq_quote_ident(sql_conf(r->p)->key), *sql = NULL;
	enum prov_status st = PROV_DONE;
	int rc;

	if (body == NULL || ident == NULL ||
	    (sql = sqlmap_resume_sql(body, ident, "?1")) == NULL) {
		st = prov_fail(c, PROV_FAIL_RETRY, "out of memory");
		goto out_free;
	}
	sqlite3_finalize(r->st);
	r->st = NULL;
	rc = sq_prepare(r->db, r->path, sql, &r->st, c->errbuf, sizeof c->errbuf);
	if (rc != SQLITE_OK) {
		st = sq_status(rc);
		goto out_free;
	}
	switch (r->last.type) {
	case SQLITE_INTEGER:
		rc = sqlite3_bind_int64(r->st, 1, r->last.i);
		break;
	case SQLITE_FLOAT:
		rc = sqlite3_bind_double(r->st, 1, r->last.f);
		break;
	case SQLITE_TEXT:
		rc = sqlite3_bind_text(r->st, 1, (const char *)r->last.bytes.p,
				       (int)r->last.bytes.len, SQLITE_STATIC);
		break;
	default:
		rc = sqlite3_bind_blob(r->st, 1, r->last.bytes.p,
				       (int)r->last.bytes.len, SQLITE_STATIC);
	}
	if (rc != SQLITE_OK) {
		snprintf(c->errbuf, sizeof c->errbuf, "%s: %s", r->path,
			 sqlite3_errmsg(r->db));
		st = sq_status(rc);
	}
out_free:
	free(sql);
	free(ident);
	free(body);
	return st;
}

enum prov_status sq_checkpoint(struct sq_run *r, bool done)
{
	unsigned char tok[PROV_TOKEN_MAX];
	struct sqlmap_token t;

	sq_token_write(r, done, tok, &t);
	r->out = NULL; /* the frame is published */
	return sqlmap_checkpoint(r->c, &t, r->last.bytes.len);
}

/* Step over the rows the earlier attempts consumed (resume without key). */
enum prov_status sq_skip(struct sq_run *r)
{
	for (uint64_t k = 0; k < r->rows; k++) {
		int rc = sqlite3_step(r->st);

		if (rc == SQLITE_DONE)
			return prov_fail(r->c, PROV_FAIL_PERMANENT,
					 "%s: the query now returns %" PRIu64
					 " rows, fewer than the %" PRIu64
					 " already counted: the data changed "
					 "(set key to resume by key)",
					 r->path, k, r->rows);
		if (rc != SQLITE_ROW) {
			snprintf(r->c->errbuf, sizeof r->c->errbuf, "%s: %s",
				 r->path, sqlite3_errmsg(r->db));
			return sq_status(rc);
		}
	}
	return PROV_DONE;
}

