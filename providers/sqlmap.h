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
