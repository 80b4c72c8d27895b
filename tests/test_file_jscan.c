/*
 * test_file_jscan.c - the streaming JSON array scanner
 * (providers/file_jscan.c) on its own: the same elements, lines and
 * errors whatever pieces the document comes in (one piece, every split
 * in two, one byte at a time), and its limits.  The provider's use of it,
 * checked against Python's json module, is in test_file.c.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../providers/file_jscan.h"
#include "../providers/jsonptr.h"

/*
 * Scan doc (ptr: the records pointer) in pieces of at most `step` bytes,
 * the first cut at `cut` (0: none); the events as text, one per line:
 * "START off line index", "END off", "DONE" or "ERROR line: why".
 */
static char *scan(const char *doc, const char *ptr, size_t cut, size_t step)
{
	struct jsonptr jp;
	struct jscan *s = malloc(sizeof *s);
	struct buf out = { 0 };
	size_t n = strlen(doc), at = 0;
	char err[160], line[300];

	cr_assert_not_null(s);
	cr_assert_eq(jsonptr_compile(&jp, ptr, err, sizeof err), 0, "%s", err);
	jscan_init(s, &jp);
	cr_assert_eq(buf_addstr(&out, ""), 0);
	while (at < n) {
		size_t piece = cut && at < cut ? cut - at : step;
		size_t end = at + piece < n ? at + piece : n, used;
		enum jscan_event ev = jscan_feed(s, doc + at, end - at, &used);

		at += used;
		if (ev == JSCAN_ERROR)
			break;
		cr_assert_eq(s->off, at);
		if (ev == JSCAN_ELEM_START)
			snprintf(line, sizeof line, "START %zu %llu %llu\n", at,
				 (unsigned long long)s->elem_line,
				 (unsigned long long)s->elem_index);
		else if (ev == JSCAN_ELEM_END)
			snprintf(line, sizeof line, "END %zu\n", at);
		else
			continue;
		cr_assert_eq(buf_addstr(&out, line), 0);
	}
	if (at == n && jscan_finish(s) == JSCAN_DONE)
		snprintf(line, sizeof line, "DONE\n");
	else
		snprintf(line, sizeof line, "ERROR %llu: %s\n",
			 (unsigned long long)s->err_line, s->err);
	cr_assert_eq(buf_addstr(&out, line), 0);
	jsonptr_free(&jp);
	free(s);
	return (char *)buf_take(&out);
}

/* The events of doc in one piece are want, and the same in any pieces. */
static void expect_scan(const char *doc, const char *ptr, const char *want)
{
	char *whole = scan(doc, ptr, 0, (size_t)-1 / 2);

	cr_assert_str_eq(whole, want, "%s\ngot:\n%s", doc, whole);
	for (size_t cut = 1; cut < strlen(doc); cut++) {
		char *two = scan(doc, ptr, cut, (size_t)-1 / 2);

		cr_assert_str_eq(two, want, "cut at %zu of %s", cut, doc);
		free(two);
	}
	{
		char *bytes = scan(doc, ptr, 0, 1);

		cr_assert_str_eq(bytes, want, "byte by byte: %s", doc);
		free(bytes);
	}
	free(whole);
}

Test(jscan, elements_of_the_document)
{
	expect_scan("[1, \"a]\" ,{\"b\":[{}]},\n[\"\\\"]\"] , true]",
		    "",
		    "START 1 1 0\nEND 2\n"
		    "START 4 1 1\nEND 8\n"
		    "START 10 1 2\nEND 20\n"
		    "START 22 2 3\nEND 29\n"
		    "START 32 2 4\nEND 36\n"
		    "DONE\n");
	expect_scan(" [ ] ", "", "DONE\n");
	expect_scan("[-1e5]\n", "", "START 1 1 0\nEND 5\nDONE\n");
}

Test(jscan, elements_at_a_pointer)
{
	const char *doc = "{\"x\":[\"[\"],\"d\\u0061ta\":[0,{\"i\":[7,8]}],"
			  "\"data\":{\"i\":[9]},\"z\":{}}";

	expect_scan(doc, "/data/1/i",
		    "START 32 1 0\nEND 33\nSTART 34 1 1\nEND 35\nDONE\n");
	/* The first member of a name wins, as the pointer found it. */
	expect_scan(doc, "/data",
		    "START 24 1 0\nEND 25\nSTART 26 1 1\nEND 37\nDONE\n");
	expect_scan(doc, "/x", "START 6 1 0\nEND 9\nDONE\n");
	expect_scan(doc, "/z", "ERROR 1: not a JSON array but an object\n");
	expect_scan(doc, "/data/0", "ERROR 1: not a JSON array\n");
	expect_scan(doc, "/nope", "ERROR 1: no array at the records pointer\n");
	expect_scan(doc, "/x/0/a", "ERROR 1: no array at the records pointer\n");
}

Test(jscan, errors_and_where)
{
	expect_scan("", "", "ERROR 1: no JSON document: the file is empty\n");
	expect_scan("\n{}", "", "ERROR 2: not a JSON array but an object\n");
	expect_scan("[1,]", "", "START 1 1 0\nEND 2\nSTART 3 1 1\n"
		    "ERROR 1: unexpected ']'\n");
	expect_scan("[1\n2]", "", "START 1 1 0\nEND 2\n"
		    "ERROR 2: expected ',' or a closing bracket, not '2'\n");
	expect_scan("[{\"a\" 1}]", "", "START 1 1 0\n"
		    "ERROR 1: expected ':', not '1'\n");
	expect_scan("[{1:2}]", "", "START 1 1 0\n"
		    "ERROR 1: expected a member name, not '1'\n");
	expect_scan("[]\n\n x", "",
		    "ERROR 3: trailing characters after the JSON document: "
		    "unexpected 'x'\n");
	expect_scan("[\"abc", "", "START 1 1 0\n"
		    "ERROR 1: the file ends inside the JSON document\n");
	expect_scan("[\x01]", "", "START 1 1 0\nERROR 1: unexpected byte 0x01\n");
}

Test(jscan, nesting_limit)
{
	size_t deep = JSCAN_MAX_DEPTH + 1;
	char *doc = malloc(deep + 1), *got;

	cr_assert_not_null(doc);
	memset(doc, '[', deep);
	doc[deep] = '\0';
	got = scan(doc, "", 0, 4096);
	cr_assert_str_eq(got, "START 1 1 0\nERROR 1: nested too deep\n");
	free(got);
	free(doc);
}
