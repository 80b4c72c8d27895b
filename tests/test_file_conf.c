/*
 * test_file_conf.c - the file provider's keys that choose how its files
 * read (providers/file_conf.c): format = json and .json paths, records,
 * encoding (the names glibc's iconv knows each by); each refused where it cannot apply, at file:line, with the
 * nearest name for a misspelt one.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "../common/config.h"
#include "../providers/file_conf.h"

#define AGG "[aggregate]\noutput = o.csv\nfields = a:int\n"

static char err[CFG_ERR_MAX];

/* The file provider's options from a [provider f] body; must load. */
static struct file_conf *load_ok(struct cfg *cfg, const char *body)
{
	char text[1024];

	snprintf(text, sizeof text, AGG "[provider f]\ntype = file\n%s", body);
	err[0] = '\0';
	cr_assert_eq(cfg_load_string("t.conf", text, cfg, err, sizeof err), 0,
		     "%s", err);
	return (struct file_conf *)file_conf(&cfg->providers[0]);
}

/* The message of a [provider f] body that must not load. */
static const char *load_bad(const char *body)
{
	char text[1024];
	struct cfg cfg;

	snprintf(text, sizeof text, AGG "[provider f]\ntype = file\n%s", body);
	err[0] = '\0';
	cr_assert_eq(cfg_load_string("t.conf", text, &cfg, err, sizeof err), -1,
		     "accepted: %s", body);
	return err;
}

Test(file_conf, json_by_format_or_extension)
{
	struct cfg cfg;
	struct file_conf *f;

	f = load_ok(&cfg, "path = in/a.json\n");
	cr_assert(f->json);
	cr_assert_eq(f->file_format, CFG_FMT_JSONL);
	cr_assert_null(f->records);
	cfg_free(&cfg);
	f = load_ok(&cfg, "path = in/*.JSON.gz\nrecords = /data/items\n");
	cr_assert(f->json);
	cr_assert_str_eq(f->records, "/data/items");
	cfg_free(&cfg);
	f = load_ok(&cfg, "path = dump.txt\nformat = json\nrecords =\n");
	cr_assert(f->json);
	cr_assert_str_eq(f->records, "");
	cfg_free(&cfg);
	/* .json and .jsonl together: each file's own. */
	f = load_ok(&cfg, "path = a.json\npath = b.jsonl\n");
	cr_assert_eq(f->file_format, CFG_FMT_AUTO);
	cr_assert(!f->json);
	cfg_free(&cfg);
	f = load_ok(&cfg, "path = a.jsonl\n");
	cr_assert(!f->json);
	cfg_free(&cfg);
}

Test(file_conf, json_keys_refused_where_they_cannot_apply)
{
	cr_assert_str_eq(load_bad("path = a.csv\nrecords = /items\n"),
			 "t.conf:7: key 'records' applies only to JSON files "
			 "(format = json or a .json path) in [provider f]");
	cr_assert_str_eq(load_bad("path = a.json\nrecords = items\n"),
			 "t.conf:7: invalid value 'items' for key 'records' in "
			 "[provider f]: expected a JSON pointer such as /items "
			 "(empty: the file is the array)");
	cr_assert_str_eq(load_bad("path = a.json\nheader = no\n"),
			 "t.conf:7: key 'header' does not apply to JSON files "
			 "in [provider f]: it is a CSV setting");
	cr_assert_str_eq(load_bad("path = a.txt\nformat = jsn\n"),
			 "t.conf:7: invalid value 'jsn' for key 'format' in "
			 "[provider f]: expected csv, tsv, jsonl or json");
}

Test(file_conf, encodings_by_their_usual_names)
{
	static const char *const names[][2] = {
		{ "utf-8", NULL }, { "UTF8", NULL },
		{ "latin1", "ISO-8859-1" }, { "ISO-8859-1", "ISO-8859-1" },
		{ "windows-1252", "WINDOWS-1252" }, { "cp1252", "WINDOWS-1252" },
		{ "utf-16", "UTF-16" }, { "UTF-16LE", "UTF-16LE" },
		{ "utf-16be", "UTF-16BE" },
	};
	struct cfg cfg;

	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		char body[128];
		struct file_conf *f;

		snprintf(body, sizeof body, "path = a.csv\nencoding = %s\n",
			 names[k][0]);
		f = load_ok(&cfg, body);
		if (names[k][1] == NULL)
			cr_assert_null(f->encoding, "%s", names[k][0]);
		else
			cr_assert_str_eq(f->encoding, names[k][1]);
		cfg_free(&cfg);
	}
}

Test(file_conf, unknown_encoding_names_the_nearest)
{
	cr_assert_str_eq(load_bad("path = a.csv\nencoding = latin\n"),
			 "t.conf:7: invalid value 'latin' for key 'encoding' in "
			 "[provider f]: unknown encoding (did you mean 'latin1'?)");
	cr_assert_str_eq(load_bad("path = a.json\nencoding = ebcdic\n"),
			 "t.conf:7: invalid value 'ebcdic' for key 'encoding' in "
			 "[provider f]: expected utf-8, latin1, windows-1252, "
			 "utf-16, utf-16le or utf-16be");
}
