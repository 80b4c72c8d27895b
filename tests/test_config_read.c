/*
 * test_config_read.c - the reader of providers.conf (common/config_read.c).
 *
 * What the reader hands to the later phases: sections and entries in file
 * order, each with its physical line; continuation lines joined with a
 * newline, a line too long for inih glued back whole, a quoted value kept
 * as it is; values expanded only when asked for.  And its errors: the
 * first one only, "FILE:LINE: message", for a NUL byte, a duplicate
 * section and a key outside any section.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/config.h"
#include "../common/config_read.h"

static char err[CFG_ERR_MAX];

static void read_ok(struct cfg_doc *doc, const char *text)
{
	memset(doc, 0, sizeof *doc);
	doc->name = "t.conf";
	doc->err = err;
	doc->errlen = sizeof err;
	err[0] = '\0';
	cr_assert_eq(cfg_read(doc, text, strlen(text)), 0, "%s", err);
}

static const char *read_bad(const char *text, size_t len)
{
	struct cfg_doc doc = { .name = "t.conf", .err = err,
			       .errlen = sizeof err };

	err[0] = '\0';
	cr_assert_eq(cfg_read(&doc, text, len), -1);
	cr_assert(doc.failed);
	cfg_doc_free(&doc);
	return err;
}

Test(config_read, sections_and_entries_in_order_with_lines)
{
	struct cfg_doc doc;

	read_ok(&doc, "; a comment\n"
		      "[provider b]\n"
		      "type = file   # inline comment\n"
		      "\n"
		      "[aggregate]\n"
		      "output = x.csv\n"
		      "[provider a]\n"
		      "path = \"  kept ; as is  \"\n");
	cr_assert_eq(doc.nsects, 3);
	cr_assert_eq(doc.nprovs, 2);
	cr_assert_eq(doc.agg_sect, 1);
	cr_assert_eq(doc.sects[0].kind, CFG_SECT_PROVIDER);
	cr_assert_str_eq(doc.sects[0].name, "b");
	cr_assert_eq(doc.sects[0].line, 2);
	cr_assert_eq(doc.sects[0].prov, 0);
	cr_assert_eq(doc.sects[1].kind, CFG_SECT_AGGREGATE);
	cr_assert_null(doc.sects[1].name);
	cr_assert_eq(doc.sects[2].prov, 1);

	cr_assert_eq(doc.nents, 3);
	cr_assert_str_eq(doc.ents[0].key, "type");
	cr_assert_str_eq(buf_str(&doc.ents[0].val), "file");
	cr_assert_eq(doc.ents[0].line, 3);
	cr_assert_eq(doc.ents[0].sect, 0);
	cr_assert_eq(doc.ents[1].sect, 1);
	cr_assert_eq(doc.ents[1].line, 6);
	cr_assert(doc.ents[2].quoted);
	cr_assert_str_eq(buf_str(&doc.ents[2].val), "  kept ; as is  ");
	cr_assert_eq(cfg_find_entry(&doc, 1, "output"), &doc.ents[1]);
	cr_assert_null(cfg_find_entry(&doc, 0, "output"));
	cfg_doc_free(&doc);
}

Test(config_read, continuation_and_long_lines)
{
	struct cfg_doc doc;
	size_t n = 5000;
	char *text = malloc(n + 64), *p;

	cr_assert_not_null(text);
	p = text + sprintf(text, "[aggregate]\nquery = SELECT\n  a, b\nlong = ");
	for (size_t i = 0; i < n; i++)
		*p++ = "abc,"[i % 4];
	strcpy(p, "\nnext = 1\n");
	read_ok(&doc, text);
	cr_assert_eq(doc.nents, 3);
	cr_assert_str_eq(buf_str(&doc.ents[0].val), "SELECT\na, b");
	cr_assert_eq(doc.ents[1].val.len, n, "the long line is whole again");
	cr_assert_eq(memcmp(doc.ents[1].val.p, text + strlen(
		"[aggregate]\nquery = SELECT\n  a, b\nlong = "), n), 0);
	cr_assert_eq(doc.ents[2].line, 5, "lines count physical lines");
	cfg_doc_free(&doc);
	free(text);
}

Test(config_read, expand_only_when_asked)
{
	struct cfg_doc doc;
	char sd[CFG_SECT_DESC_MAX];
	char *v;

	cr_assert_eq(setenv("AGG_T_READ", "there", 1), 0);
	cr_assert_eq(unsetenv("AGG_T_UNSET"), 0);
	read_ok(&doc, "[provider p]\n"
		      "a =   hi ${AGG_T_READ} ${AGG_T_UNSET:-x${AGG_T_READ}}  \n"
		      "b = ${AGG_T_UNSET}\n");
	cr_assert_str_eq(buf_str(&doc.ents[1].val), "${AGG_T_UNSET}",
			 "read leaves values as written");
	v = cfg_expand(&doc, &doc.ents[0]);
	cr_assert_str_eq(v, "hi there xthere");
	free(v);
	cr_assert_null(cfg_expand(&doc, &doc.ents[1]));
	cr_assert_str_eq(err, "t.conf:3: environment variable 'AGG_T_UNSET' is not set (key 'b' in [provider p])");
	cr_assert_str_eq(cfg_sect_desc(&doc, 0, sd, sizeof sd), "[provider p]");
	cfg_doc_free(&doc);
}

/* A literal's length, NUL bytes in it included. */
#define READ_BAD(lit) read_bad((lit), sizeof(lit) - 1)

Test(config_read, first_error_only_with_its_line)
{
	cr_assert_str_eq(READ_BAD("[aggregate]\na = 1\nb = \0\n"),
			 "t.conf:3: NUL byte in line");
	cr_assert_str_eq(READ_BAD("[provider p]\n[provider p]\n[x]\n"),
			 "t.conf:2: duplicate section [provider p] (first at line 1)");
	cr_assert_str_eq(READ_BAD("a = 1\n[aggregat]\n"),
			 "t.conf:1: key 'a' outside any section: put it under [aggregate] or [provider NAME]");
	cr_assert_str_eq(READ_BAD("\n[aggregat]\n"),
			 "t.conf:2: unknown section [aggregat] (did you mean [aggregate]?)");
}

Test(config_read, fail_keeps_the_first)
{
	struct cfg_doc doc = { .name = "f", .err = err, .errlen = sizeof err };

	cr_assert_eq(cfg_fail(&doc, 4, "first %d", 1), -1);
	cr_assert_eq(cfg_fail(&doc, 5, "second"), -1);
	cr_assert_str_eq(err, "f:4: first 1");
	doc.failed = false;
	cr_assert_eq(cfg_fail(&doc, 0, "no line"), -1);
	cr_assert_str_eq(err, "f: no line");
}
