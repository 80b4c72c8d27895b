/*
 * test_out_sql.c - the SQL text of the table outputs (aggregator/out_sql.h):
 * identifiers quoted with their quotes doubled, a schema part kept apart,
 * CREATE TABLE in a dialect's types, and the column check (a set; SQLite's
 * case-insensitively) with its message.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../aggregator/out_sql.h"

static const struct out_col cols[] = {
	{ .name = "id", .type = REC_INT }, { .name = "na\"me", .type = REC_TEXT }, { .name = "Day", .type = REC_TIMESTAMP },
};

static const struct out_writer w = { .cols = (struct out_col *)cols,
				     .ncols = 3 };

Test(out_sql, quoted_identifiers_and_create)
{
	static const char *const types[] = {
		[REC_INT] = "BIGINT", [REC_FLOAT] = "DOUBLE PRECISION",
		[REC_TEXT] = "TEXT", [REC_BOOL] = "BOOLEAN",
		[REC_TIMESTAMP] = "TIMESTAMPTZ",
	};
	struct out_sql q = { 0 };

	cr_assert_str_eq(out_sql_str(&q), "");
	out_sql_table(&q, "s.sel\"ect");
	out_sql_puts(&q, " ");
	out_sql_col_list(&q, &w);
	cr_assert_str_eq(out_sql_str(&q),
			 "\"s\".\"sel\"\"ect\" (\"id\", \"na\"\"me\", \"Day\")");
	out_sql_clear(&q);
	out_sql_create(&q, &w, "t", types, true);
	cr_assert(!q.oom);
	cr_assert_str_eq(out_sql_str(&q),
			 "CREATE TABLE IF NOT EXISTS \"t\" (\"id\" BIGINT, "
			 "\"na\"\"me\" TEXT, \"Day\" TIMESTAMPTZ)");
	out_sql_free(&q);
}

Test(out_sql, columns_are_compared_as_a_set)
{
	char *same[] = { "Day", "id", "na\"me" };
	char *upper[] = { "DAY", "ID", "NA\"ME" };
	char *other[] = { "id", "name" };
	char err[512];

	cr_assert_eq(out_sql_check_columns(&w, same, 3, false, "t", "", err,
					   sizeof err), 0);
	cr_assert_eq(out_sql_check_columns(&w, upper, 3, true, "t", "", err,
					   sizeof err), 0);
	cr_assert_eq(out_sql_check_columns(&w, upper, 3, false, "t", " (db)",
					   err, sizeof err), -1);
	cr_assert_eq(out_sql_check_columns(&w, other, 2, true, "t", " (db)",
					   err, sizeof err), -1);
	cr_assert_str_eq(err, "table t (db) exists with other columns (id, name) "
			      "than this run writes (id, na\"me, Day): drop or "
			      "rename it, or set table to another name");
}
