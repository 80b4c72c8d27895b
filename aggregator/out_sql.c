/*
 * out_sql.c - SQL text shared by the SQLite and PostgreSQL outputs
 * (out_sql.h).
 */
#include "out_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

void out_sql_put(struct out_sql *q, const char *s, size_t n)
{
	if (!q->oom && buf_add(&q->b, s, n) < 0)
		q->oom = true;
}

void out_sql_puts(struct out_sql *q, const char *s)
{
	out_sql_put(q, s, strlen(s));
}

/* "name" with every '"' doubled. */
static void sql_ident(struct out_sql *q, const char *name, size_t n)
{
	out_sql_put(q, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		if (name[i] == '"')
			out_sql_put(q, "\"", 1);
		out_sql_put(q, name + i, 1);
	}
	out_sql_put(q, "\"", 1);
}

void out_sql_table(struct out_sql *q, const char *table)
{
	const char *dot = strchr(table, '.');

	if (dot != NULL) {
		sql_ident(q, table, (size_t)(dot - table));
		out_sql_put(q, ".", 1);
		table = dot + 1;
	}
	sql_ident(q, table, strlen(table));
}

void out_sql_col_list(struct out_sql *q, const struct out_writer *w)
{
	out_sql_put(q, "(", 1);
	for (int i = 0; i < w->ncols; i++) {
		if (i > 0)
			out_sql_put(q, ", ", 2);
		sql_ident(q, w->cols[i].name, strlen(w->cols[i].name));
	}
	out_sql_put(q, ")", 1);
}

void out_sql_type(struct out_sql *q, const char *const types[],
		  const struct out_col *c)
{
	char t[48];

	if (c->type != REC_DECIMAL) {
		out_sql_puts(q, types[c->type]);
		return;
	}
	/* Only a decimal's type takes parameters. */
	snprintf(t, sizeof t, types[REC_DECIMAL], c->prec, c->scale);
	out_sql_puts(q, t);
}

void out_sql_create(struct out_sql *q, const struct out_writer *w,
		    const char *table, const char *const types[],
		    bool if_not_exists)
{
	out_sql_puts(q, "CREATE TABLE ");
	if (if_not_exists)
		out_sql_puts(q, "IF NOT EXISTS ");
	out_sql_table(q, table);
	out_sql_puts(q, " (");
	for (int i = 0; i < w->ncols; i++) {
		if (i > 0)
			out_sql_puts(q, ", ");
		sql_ident(q, w->cols[i].name, strlen(w->cols[i].name));
		out_sql_puts(q, " ");
		out_sql_type(q, types, &w->cols[i]);
	}
	out_sql_puts(q, ")");
}

int out_sql_check_columns(const struct out_writer *w, char *const *names,
			  int n, bool nocase, const char *table,
			  const char *where, char *err, size_t errlen)
{
	struct out_sql have = { 0 }, want = { 0 };
	bool same = n == w->ncols;

	for (int i = 0; same && i < w->ncols; i++) {
		bool found = false;

		for (int j = 0; j < n && !found; j++)
			found = nocase ? sqlite3_stricmp(names[j],
							 w->cols[i].name) == 0
				       : strcmp(names[j], w->cols[i].name) == 0;
		same = found;
	}
	if (same)
		return 0;
	for (int j = 0; j < n; j++) {
		if (j > 0)
			out_sql_puts(&have, ", ");
		out_sql_puts(&have, names[j]);
	}
	for (int i = 0; i < w->ncols; i++) {
		if (i > 0)
			out_sql_puts(&want, ", ");
		out_sql_puts(&want, w->cols[i].name);
	}
	snprintf(err, errlen,
		 "table %s%s exists with other columns (%s) than this run writes "
		 "(%s): drop or rename it, or set table to another name",
		 table, where, out_sql_str(&have), out_sql_str(&want));
	out_sql_free(&have);
	out_sql_free(&want);
	return -1;
}

void out_sql_free_names(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
