/*
 * test_sqlmap.c - what the SQL providers share (providers/sqlmap.c): the
 * key's buffer, the resume token's head and fields, the resumed query's
 * text, a reject's position and the column lookup.  The providers' own
 * tests (test_sqlite, test_postgres) run these end to end; here each is
 * held to its contract alone.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../providers/sqlmap.h"

Test(sqlmap, key_set_keeps_the_bytes_and_a_nul_and_reuses_its_memory)
{
	struct buf k = { 0 };
	char big[1000];
	unsigned char *p;

	cr_assert_eq(sqlmap_key_set(&k, "", 0), 0);
	cr_assert_eq(k.len, 0);
	cr_assert_str_eq(buf_str(&k), "");
	memset(big, 'x', sizeof big);
	cr_assert_eq(sqlmap_key_set(&k, big, sizeof big), 0);
	cr_assert_eq(k.len, sizeof big);
	cr_assert(memcmp(k.p, big, sizeof big) == 0);
	cr_assert_eq(k.p[sizeof big], '\0');
	p = k.p;
	/* A shorter key, with a NUL inside, in the same memory. */
	cr_assert_eq(sqlmap_key_set(&k, "a\0b", 3), 0);
	cr_assert_eq(k.p, p);
	cr_assert_eq(k.len, 3);
	cr_assert(memcmp(k.p, "a\0b", 4) == 0);
	buf_free(&k);
}

Test(sqlmap, token_head_round_trips_and_names_its_type)
{
	unsigned char buf[PROV_TOKEN_MAX];
	struct sqlmap_token t;
	uint64_t rows = 0;
	bool done = false;

	sqlmap_tok_head(&t, buf, "pg", 12345, true);
	sqlmap_tok_bytes(&t, "key", "a\nb=c", 5);
	cr_assert(!t.overflow);
	cr_assert_eq(t.len, strlen("pg=1\nrows=12345\ndone=1\nkey:5=a\nb=c\n"));
	cr_assert(memcmp(buf, "pg=1\nrows=12345\ndone=1\nkey:5=a\nb=c\n",
			 t.len) == 0);
	cr_assert_eq(sqlmap_tok_get_head(buf, t.len, "pg", &rows, &done), 0);
	cr_assert_eq(rows, 12345);
	cr_assert(done);
	/* Another type's token, a version or a done this code never wrote. */
	cr_assert_eq(sqlmap_tok_get_head(buf, t.len, "sqlite", &rows, &done),
		     -1);
	cr_assert_eq(sqlmap_tok_get_head((const unsigned char *)
					 "pg=2\nrows=1\ndone=0\n", 19, "pg",
					 &rows, &done), -1);
	cr_assert_eq(sqlmap_tok_get_head((const unsigned char *)
					 "pg=1\nrows=1\ndone=2\n", 19, "pg",
					 &rows, &done), -1);
}

Test(sqlmap, token_that_runs_out_of_room_says_so)
{
	unsigned char buf[PROV_TOKEN_MAX];
	char *big = malloc(PROV_TOKEN_MAX);
	struct sqlmap_token t;

	cr_assert_not_null(big);
	memset(big, 'k', PROV_TOKEN_MAX);
	sqlmap_tok_head(&t, buf, "sqlite", 1, false);
	sqlmap_tok_bytes(&t, "kv", big, PROV_TOKEN_MAX);
	cr_assert(t.overflow);
	cr_assert_leq(t.len, PROV_TOKEN_MAX);
	free(big);
}

Test(sqlmap, resume_sql_wraps_the_body_between_newlines)
{
	char *sql = sqlmap_resume_sql("select * from t -- all", "\"id\"", "?1");

	cr_assert_not_null(sql);
	cr_assert_str_eq(sql, "SELECT * FROM (\nselect * from t -- all\n) AS "
			 "agg_resume WHERE \"id\" > ?1 ORDER BY \"id\"");
	free(sql);
}

Test(sqlmap, position_names_the_key_or_the_row)
{
	char out[512], key[300];

	sqlmap_position(out, sizeof out, NULL, 0, 17);
	cr_assert_str_eq(out, "row 17");
	sqlmap_position(out, sizeof out, "42", 2, 17);
	cr_assert_str_eq(out, "row key=42");
	/* A long key is quoted up to SQLMAP_QUOTE_MAX bytes. */
	memset(key, 'k', sizeof key);
	sqlmap_position(out, sizeof out, key, sizeof key, 1);
	cr_assert_eq(strlen(out), strlen("row key=") + SQLMAP_QUOTE_MAX);
}

Test(sqlmap, find_prefers_the_exact_name_and_refuses_ambiguity)
{
	const char *names[] = { "Id", "ID", "name", "NAME2" };

	cr_assert_eq(sqlmap_find(names, 4, "ID"), 1);
	cr_assert_eq(sqlmap_find(names, 4, "id"), -1);
	cr_assert_eq(sqlmap_find(names, 4, "Name"), 2);
	cr_assert_eq(sqlmap_find(names, 4, "name2"), 3);
	cr_assert_eq(sqlmap_find(names, 4, "other"), -1);
}

Test(sqlmap, query_body_drops_trailing_blanks_and_semicolons)
{
	char *b = sqlmap_query_body("select 1; \n\t;");

	cr_assert_not_null(b);
	cr_assert_str_eq(b, "select 1");
	free(b);
}
