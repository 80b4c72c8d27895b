/*
 * test_config_value.c - the value parsers of providers.conf
 * (common/config_value.c) that tests/test_config.c does not reach one by
 * one: whole numbers, names from a list, the list helpers, JSON pointers,
 * the echo of a value in a message and the nearest-name hint.  (Durations,
 * sizes and booleans are tested in test_config.c.)
 */
#include <criterion/criterion.h>

#include <limits.h>
#include <string.h>

#include "../common/config_value.h"

Test(config_value, whole_numbers_in_range)
{
	long v = 42;

	cr_assert_eq(cfg_parse_long("0", 0, 10, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(cfg_parse_long("10", 0, 10, &v), 0);
	cr_assert_eq(v, 10);
	cr_assert_eq(cfg_parse_long("-3", -5, 10, &v), 0);
	cr_assert_eq(v, -3);
	v = 7;
	cr_assert_eq(cfg_parse_long("11", 0, 10, &v), -1);
	cr_assert_eq(cfg_parse_long("", 0, 10, &v), -1);
	cr_assert_eq(cfg_parse_long(" 1", 0, 10, &v), -1);
	cr_assert_eq(cfg_parse_long("1 ", 0, 10, &v), -1);
	cr_assert_eq(cfg_parse_long("1x", 0, 10, &v), -1);
	cr_assert_eq(cfg_parse_long("99999999999999999999", 0, LONG_MAX, &v),
		     -1);
	cr_assert_eq(v, 7, "failure must leave the output alone");
}

Test(config_value, enum_names)
{
	static const char *const names[] = { "none", "page", NULL };
	static const int vals[] = { 3, 9 };
	int v = -1;

	cr_assert_eq(cfg_parse_enum("page", names, vals, &v), 0);
	cr_assert_eq(v, 9);
	cr_assert_eq(cfg_parse_enum("Page", names, vals, &v), -1,
		     "names are compared exactly");
	cr_assert_eq(cfg_parse_enum("", names, vals, &v), -1);
	cr_assert_eq(v, 9);
}

Test(config_value, lists_cut_in_place)
{
	char list[] = "  a , b,,c  ";
	char *rest = list, *item;
	const char *want[] = { "a", "b", "", "c" };
	size_t n = 0;

	while ((item = cfg_next_item(&rest))) {
		cr_assert_lt(n, 4);
		cr_assert_str_eq(item, want[n]);
		n++;
	}
	cr_assert_eq(n, 4);
	cr_assert_str_eq(cfg_skip_space(" \t x "), "x ");
	cr_assert_eq(cfg_ident_len("_a1-b"), 3);
	cr_assert_eq(cfg_ident_len("1a"), 0);
	cr_assert(cfg_is_ident("revenue_2"));
	cr_assert_not(cfg_is_ident("2x"));
	cr_assert_not(cfg_is_ident("a-b"));
}

Test(config_value, json_pointers)
{
	cr_assert(cfg_is_json_pointer(""));
	cr_assert(cfg_is_json_pointer("/a/b~0c~1d"));
	cr_assert_not(cfg_is_json_pointer("a/b"));
	cr_assert_not(cfg_is_json_pointer("/a~2"));
	cr_assert_not(cfg_is_json_pointer("/a~"));
}

Test(config_value, echo_cuts_and_masks)
{
	char buf[CFG_ECHO_BUF], long_value[200];

	cr_assert_str_eq(cfg_echo("a\tb\x01", buf, sizeof buf), "a?b?");
	memset(long_value, 'x', sizeof long_value - 1);
	long_value[sizeof long_value - 1] = '\0';
	cfg_echo(long_value, buf, sizeof buf);
	cr_assert_eq(strlen(buf), CFG_ECHO_MAX + 3);
	cr_assert_str_eq(buf + CFG_ECHO_MAX, "...");
}

Test(config_value, nearest_names)
{
	static const char *const keys[] = { "url", "query", NULL, "records" };
	int best = 10;

	cr_assert_str_eq(cfg_nearest("qeury", keys, 4), "query",
			 "a transposition is one edit");
	cr_assert_str_eq(cfg_nearest("RECORD", keys, 4), "records");
	cr_assert_null(cfg_nearest("uxx", keys, 4),
		       "short words allow one edit only");
	cr_assert_null(cfg_nearest("pagination", keys, 4));
	cr_assert(cfg_near_miss("outpt", "output", &best));
	cr_assert_eq(best, 1);
	cr_assert_not(cfg_near_miss("otpt", "output", &best),
		      "not nearer than the best so far");
}
