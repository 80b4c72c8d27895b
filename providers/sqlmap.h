/*
 * sqlmap.h - what the SQL providers (sqlite, postgres) share: which result
 * column feeds each schema field, resuming by key (the resumed query, the
 * key's bytes, its order failures and a row's position in a reject), and
 * the resume token's small codec with the checkpoint that sends it.
 *
 * Everything runs once per attempt or per checkpoint, except
 * sqlmap_key_set(), which runs per row with a key and is inline.  Errors
 * that fail the provider go through prov_fail() and return its status;
 * the others are documented per function.
 */
#ifndef AGG_SQLMAP_H
#define AGG_SQLMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../common/buf.h"
#include "provider.h"

/* Bytes of a key or a value quoted in a reject or a message. */
#define SQLMAP_QUOTE_MAX 200

/*
 * The index of the result column called name among names[0..ncols), or
 * -1.  An exact match wins; otherwise a case-insensitive one, as SQL
 * identifiers are (PostgreSQL folds unquoted names to lower case, SQLite
 * keeps them as written), provided it is the only one.
 */
int sqlmap_find(const char *const *names, int ncols, const char *name);

/* sqlmap_resolve(): a field has no column (a config error, not the source's). */
#define SQLMAP_NO_COLUMN (-2)

/*
 * Resolve every schema field of cfg to a result column of provider p:
 * map[i] (nfields entries) is the column index.  A field whose column
 * (its own name, or what `map` says) the query does not return is a config
 * error: returns SQLMAP_NO_COLUMN with err naming the field, the columns
 * there are and the nearest one.  A `key` that is not a result column is
 * an error too: returns -1 with err naming it.  On success *key_col is the
 * key's column (-1 when p has no key) and 0 is returned.
 */
int sqlmap_resolve(const struct cfg *cfg, const struct cfg_provider *p,
		   const char *const *names, int ncols, int *map, int *key_col,
		   char *err, size_t errlen);

/* The name of result column j of src (a statement, a description). */
typedef const char *sqlmap_colname_fn(const void *src, int j);

/*
 * sqlmap_resolve() over the ncols columns of src, named by colname(src,
 * j): the same returns, and -1 with "out of memory".
 */
int sqlmap_resolve_cols(const struct cfg *cfg, const struct cfg_provider *p,
			const void *src, int ncols, sqlmap_colname_fn *colname,
			int *map, int *key_col, char *err, size_t errlen);

/*
 * For --check: sqlmap_resolve_cols() into a map of its own, kept nowhere.
 * Returns 0, PROV_CHECK_CONFIG for a field without a column, or -1; err
 * says why.
 */
int sqlmap_check_cols(const struct cfg *cfg, const struct cfg_provider *p,
		      const void *src, int ncols, sqlmap_colname_fn *colname,
		      char *err, size_t errlen);

/*
 * err = "WHAT (columns: a, b, c; did you mean \"b\"?)": the columns
 * names[0..ncols) there are, and the one nearest to want if any is near.
 */
void sqlmap_no_column(char *err, size_t errlen, const char *what,
		      const char *want, const char *const *names, int ncols);

/*
 * The query as the body of a subquery: a malloc'd copy without trailing
 * blanks and semicolons (NULL on no memory).  Callers wrap it between
 * newlines, so that a trailing "-- comment" cannot swallow the wrapper.
 */
char *sqlmap_query_body(const char *query);

/*
 * The query resumed after a key: "SELECT * FROM (\nBODY\n) AS agg_resume
 * WHERE IDENT > AFTER ORDER BY IDENT", ident already quoted and after a
 * literal or a parameter.  malloc'd; NULL on no memory.
 */
char *sqlmap_resume_sql(const char *body, const char *ident,
			const char *after);

/*
 * Keep v[0..len) as the key, NUL-terminated, in k (reused from row to
 * row: it grows, never shrinks).  0, or -1 when out of memory (k keeps
 * its old key).  Inline: it runs for every row of a provider with a key.
 */
static inline int sqlmap_key_set(struct buf *k, const void *v, size_t len)
{
	if (len + 1 > k->cap) {
		size_t held = k->len;

		k->len = 0;
		if (buf_reserve(k, len) < 0) {
			k->len = held;
			return -1;
		}
	}
	if (len)
		memcpy(k->p, v, len);
	k->p[len] = '\0';
	k->len = len;
	return 0;
}

/* Fail c for good: key KEY is NULL at row (a permanent failure). */
enum prov_status sqlmap_key_null(struct prov_ctx *c, const char *key,
				 uint64_t row);

/*
 * Fail c for good: key KEY does not strictly increase at row, which has
 * now[0..nowlen) after before[0..beforelen) (each quoted up to
 * SQLMAP_QUOTE_MAX bytes).
 */
enum prov_status sqlmap_key_order(struct prov_ctx *c, const char *key,
				  uint64_t row, const char *now, size_t nowlen,
				  const char *before, size_t beforelen);

/*
 * Where a row is, for a reject: "row key=K" (K: key[0..keylen), up to
 * SQLMAP_QUOTE_MAX bytes) when key is not NULL, else "row ROW".
 */
void sqlmap_position(char *out, size_t len, const char *key, size_t keylen,
		     uint64_t row);

/*
 * Resume tokens are a few lines "name=value\n", and "name:LEN=" followed by
 * LEN raw bytes and "\n" for a value that may hold anything (a text key).
 * Read sequentially, so raw bytes are never mistaken for a field.  A writer
 * appends to a caller's buffer (PROV_TOKEN_MAX bytes); one that ran out of
 * room says so in overflow.
 */
struct sqlmap_token {
	unsigned char *buf;
	size_t len;
	size_t cap;
	bool overflow;
};

void sqlmap_tok_init(struct sqlmap_token *t, unsigned char *buf, size_t cap);
void sqlmap_tok_u64(struct sqlmap_token *t, const char *name, uint64_t v);
void sqlmap_tok_str(struct sqlmap_token *t, const char *name, const char *s);
void sqlmap_tok_bytes(struct sqlmap_token *t, const char *name, const void *v,
		      size_t len);

/*
 * A provider's token opens with its type's name (version 1), the rows
 * consumed by all attempts and whether the last one read everything:
 * sqlmap_tok_head() starts a token so into buf (PROV_TOKEN_MAX bytes);
 * sqlmap_tok_get_head() reads those three back, 0, or -1 for a token this
 * code did not write.
 */
void sqlmap_tok_head(struct sqlmap_token *t, unsigned char *buf,
		     const char *type, uint64_t rows, bool done);
int sqlmap_tok_get_head(const unsigned char *tok, size_t len,
			const char *type, uint64_t *rows, bool *done);

/*
 * Send the checkpoint with token t.  A token that overflowed fails the
 * provider for good (its key of key_len bytes is too long).  Returns
 * PROV_DONE, or the failure.
 */
enum prov_status sqlmap_checkpoint(struct prov_ctx *c,
				   const struct sqlmap_token *t,
				   size_t key_len);

/*
 * Find field name in token tok[0..len): *v points at its value (inside tok)
 * of *vlen bytes.  Returns 1 when found, 0 when absent, -1 when the token
 * is malformed.
 */
int sqlmap_tok_get(const unsigned char *tok, size_t len, const char *name,
		   const unsigned char **v, size_t *vlen);

/* Same, an unsigned decimal: 1, 0 when absent, -1 when malformed. */
int sqlmap_tok_get_u64(const unsigned char *tok, size_t len, const char *name,
		       uint64_t *v);

#endif
