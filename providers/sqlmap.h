/*
 * sqlmap.h - what the SQL providers (sqlite, postgres) share: which result
 * column feeds each schema field, and the resume token's small codec.
 */
#ifndef AGG_SQLMAP_H
#define AGG_SQLMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provider.h"

/*
 * The index of the result column called name among names[0..ncols), or
 * -1.  An exact match wins; otherwise a case-insensitive one, as SQL
 * identifiers are (PostgreSQL folds unquoted names to lower case, SQLite
 * keeps them as written), provided it is the only one.
 */
int sqlmap_find(const char *const *names, int ncols, const char *name);

/*
 * Resolve every schema field of cfg to a result column of provider p:
 * map[i] (nfields entries) is the column index, or -1 for a field that
 * stays NULL (unmapped, and no column of its name).  A field mapped
 * explicitly (`map = field=column`) to a column the query does not return
 * is an error, and so is a `key` that is not a result column: returns -1
 * with err naming it.  On success *key_col is the key's column (-1 when p
 * has no key) and 0 is returned.
 */
int sqlmap_resolve(const struct cfg *cfg, const struct cfg_provider *p,
		   const char *const *names, int ncols, int *map, int *key_col,
		   char *err, size_t errlen);

/*
 * The query as the body of a subquery: a malloc'd copy without trailing
 * blanks and semicolons (NULL on no memory).  Callers wrap it between
 * newlines, so that a trailing "-- comment" cannot swallow the wrapper.
 */
char *sqlmap_query_body(const char *query);

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
