/*
 * out_sql.h - SQL text for the table outputs (out_sqlite.c, out_pg.c):
 * quoted identifiers, the column list, CREATE TABLE in a dialect's types,
 * and the check that an existing table has this run's columns.
 *
 * A struct out_sql is a common/buf.h buffer with a sticky failure: once an
 * allocation failed, every later append is skipped and oom stays true, so
 * a statement is built without checks and oom looked at once before use.
 * Start it zeroed ({0}); out_sql_clear() empties it for the next
 * statement; the caller frees it with out_sql_free().  Not a hot path:
 * statements are built once per run.
 */
#ifndef AGG_OUT_SQL_H
#define AGG_OUT_SQL_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/buf.h"
#include "out_sink.h"

struct out_sql {
	struct buf b;
	bool oom;
};

/* The statement so far as a C string ("" when empty). */
static inline const char *out_sql_str(const struct out_sql *q)
{
	return buf_str(&q->b);
}

static inline void out_sql_clear(struct out_sql *q)
{
	buf_clear(&q->b);
}

static inline void out_sql_free(struct out_sql *q)
{
	buf_free(&q->b);
}

void out_sql_put(struct out_sql *q, const char *s, size_t n);
void out_sql_puts(struct out_sql *q, const char *s);

/*
 * The table, "schema"."table" when it has a schema part; every '"' in a
 * name doubled: an identifier both databases take as is, keywords too.
 */
void out_sql_table(struct out_sql *q, const char *table);

/* "(a, b, c)": the writer's columns, quoted. */
void out_sql_col_list(struct out_sql *q, const struct out_writer *w);

/*
 * Column c's type in the dialect of types[] (indexed by enum rec_type):
 * types[REC_DECIMAL] is a printf format of the precision and the scale,
 * two ints ("NUMERIC(%d,%d)"), or a name that takes none ("TEXT").
 */
void out_sql_type(struct out_sql *q, const char *const types[],
		  const struct out_col *c);

/*
 * CREATE TABLE [IF NOT EXISTS] table (col type, ...) with types[] of the
 * dialect, indexed by enum rec_type (out_sql_type()).
 */
void out_sql_create(struct out_sql *q, const struct out_writer *w,
		    const char *table, const char *const types[],
		    bool if_not_exists);

/*
 * Compare an existing table's columns (names[0..n)) with the writer's, as
 * a set (the INSERT/COPY names its columns, so their order does not
 * matter; nocase: as SQLite compares names).  Returns 0, or -1 with err
 * naming the table (where: what follows its name) and both lists.
 */
int out_sql_check_columns(const struct out_writer *w, char *const *names,
			  int n, bool nocase, const char *table,
			  const char *where, char *err, size_t errlen);

/* Free names[0..n) and the array. */
void out_sql_free_names(char **names, int n);

#endif
