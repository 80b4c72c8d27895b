/*
 * test_prov_conf.c - the provider types' keys in providers.conf
 * (providers/file_conf.c, sql_conf.c, http_conf.c, through cfg_types[]).
 *
 * Each type's table is consistent with the config reader that consults
 * it: names unique and not those every provider has (such a key could
 * never be reached), no more than CFG_TYPE_KEYS_MAX; the keys that hold
 * credentials are flagged secret and the repeatable ones repeat.  Then
 * through cfg_load_string(): a key of one type is refused in another with
 * the type named, the options land in the type's own struct, and a
 * secret never shows in a message.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "../common/config.h"
#include "../providers/file_conf.h"
#include "../providers/http_conf.h"
#include "../providers/sql_conf.h"

static const char *const every_provider[] = {
	"type", "map", "enabled", "restart", "stall_timeout", "memory_limit",
	"max_rejects",
};

static const struct cfg_type *find_type(const char *name)
{
	for (int i = 0; i < cfg_ntypes; i++)
		if (strcmp(cfg_types[i]->name, name) == 0)
			return cfg_types[i];
	return NULL;
}

static unsigned key_flags(const char *type, const char *key)
{
	const struct cfg_type *t = find_type(type);

	cr_assert_not_null(t, "%s", type);
	for (int i = 0; i < t->nkeys; i++)
		if (t->keys[i].name && strcmp(t->keys[i].name, key) == 0)
			return t->keys[i].flags | 0x100u;
	return 0;
}

Test(prov_conf, tables_fit_the_reader)
{
	cr_assert_eq(cfg_ntypes, 4);
	for (int i = 0; i < cfg_ntypes; i++) {
		const struct cfg_type *t = cfg_types[i];

		cr_assert_leq(t->nkeys, CFG_TYPE_KEYS_MAX, "%s", t->name);
		cr_assert(t->init && t->apply && t->check && t->free);
		for (int a = 0; a < t->nkeys; a++) {
			if (!t->keys[a].name)
				continue;
			for (size_t c = 0; c < sizeof every_provider /
					       sizeof *every_provider; c++)
				cr_assert_str_neq(t->keys[a].name,
						  every_provider[c]);
			for (int b = a + 1; b < t->nkeys; b++)
				cr_assert(!t->keys[b].name ||
					  strcmp(t->keys[a].name,
						 t->keys[b].name) != 0,
					  "%s: %s twice", t->name,
					  t->keys[a].name);
		}
	}
}

Test(prov_conf, secrets_and_repeats)
{
	cr_assert_eq(key_flags("http", "url"),
		     0x100u | CFG_KEY_SECRET | CFG_KEY_REPEAT);
	cr_assert_eq(key_flags("http", "header"),
		     0x100u | CFG_KEY_SECRET | CFG_KEY_REPEAT);
	cr_assert_eq(key_flags("http", "body"), 0x100u | CFG_KEY_SECRET);
	cr_assert_eq(key_flags("postgres", "conninfo"),
		     0x100u | CFG_KEY_SECRET);
	cr_assert_eq(key_flags("file", "header"), 0x100u,
		     "a file's header is a bool, neither secret nor repeated");
	cr_assert_eq(key_flags("sqlite", "conninfo"), 0);
	cr_assert_eq(key_flags("postgres", "path"), 0);
}

#define AGG "[aggregate]\noutput = o.csv\nfields = a:int\n"

Test(prov_conf, options_land_in_the_type)
{
	struct cfg cfg;
	char err[CFG_ERR_MAX] = "";

	cr_assert_eq(cfg_load_string("t.conf", AGG
		"[provider f]\ntype = file\npath = in.tsv\nformat = csv\n"
		"delimiter = tab\nnull = NA\n"
		"[provider s]\ntype = sqlite\npath = x.db\nquery = SELECT 1\n"
		"batch = 7\n"
		"[provider h]\ntype = http\nurl = http://h/a\nurl = http://h/b\n"
		"retries = 2\n",
		&cfg, err, sizeof err), 0, "%s", err);
	cr_assert_eq(file_conf(&cfg.providers[0])->delimiter, '\t');
	cr_assert_str_eq(file_conf(&cfg.providers[0])->nulls[0], "NA");
	cr_assert_str_eq(sql_conf(&cfg.providers[1])->path, "x.db");
	cr_assert_str_eq(sql_conf(&cfg.providers[1])->conninfo, "");
	cr_assert_eq(cfg.providers[1].batch, 7);
	cr_assert_eq(cfg.providers[0].batch, 10000, "every type has a batch");
	cr_assert_eq(http_conf(&cfg.providers[2])->nurls, 2);
	cr_assert_eq(http_conf(&cfg.providers[2])->retries, 2);
	cr_assert_str_eq(http_conf(&cfg.providers[2])->method, "GET");
	cfg_free(&cfg);
}

Test(prov_conf, a_key_of_another_type)
{
	struct cfg cfg;
	char err[CFG_ERR_MAX] = "";

	cr_assert_eq(cfg_load_string("t.conf", AGG
		"[provider s]\ntype = sqlite\npath = x.db\nquery = q\n"
		"url = http://secret@h/\n", &cfg, err, sizeof err), -1);
	cr_assert_str_eq(err, "t.conf:8: key 'url' is not valid for a provider of type sqlite");
	cr_assert_eq(cfg_load_string("t.conf", AGG
		"[provider p]\ntype = postgres\nquery = q\n"
		"conninfo = password=s3cret nonsense\n", &cfg, err,
		sizeof err), -1);
	cr_assert_str_eq(err, "t.conf:7: invalid value for key 'conninfo' in [provider p]: not a libpq connection string (key=value ... or postgresql://...)");
	cr_assert_eq(cfg_load_string("t.conf", AGG
		"[provider f]\ntype = file\npath = a.csv\nquerry = x\n", &cfg,
		err, sizeof err), -1);
	cr_assert_str_eq(err, "t.conf:7: unknown key 'querry' in [provider f]",
			 "near only a key of another type: no hint");
	cr_assert_eq(cfg_load_string("t.conf", AGG
		"[provider f]\ntype = file\npath = a.csv\ndelimter = ;\n",
		&cfg, err, sizeof err), -1);
	cr_assert_str_eq(err, "t.conf:7: unknown key 'delimter' in [provider f] (did you mean 'delimiter'?)");
}

/* TSV: a .tsv path, or format = tsv, is CSV split at tabs unless told. */
Test(prov_conf, tsv_is_csv_split_at_tabs)
{
	static const struct {
		const char *keys;
		char delimiter;
	} cases[] = {
		{ "path = in.tsv\n", '\t' },
		{ "path = in/*.TSV.gz\n", '\t' },
		{ "path = in.txt\nformat = tsv\n", '\t' },
		{ "path = in.tsv\ndelimiter = semicolon\n", ';' },
		{ "path = in.csv\n", ',' },
		{ "path = in.tsv\nformat = csv\n", ',' },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct cfg cfg;
		char err[CFG_ERR_MAX] = "", text[512];

		snprintf(text, sizeof text, AGG "[provider f]\ntype = file\n%s",
			 cases[i].keys);
		cr_assert_eq(cfg_load_string("t.conf", text, &cfg, err,
					     sizeof err), 0, "%s: %s",
			     cases[i].keys, err);
		cr_assert_eq(file_conf(&cfg.providers[0])->file_format,
			     CFG_FMT_CSV, "%s", cases[i].keys);
		cr_assert_eq(file_conf(&cfg.providers[0])->delimiter,
			     cases[i].delimiter, "%s", cases[i].keys);
		cfg_free(&cfg);
	}
}

/* path may be given more than once; the format is theirs when they agree. */
Test(prov_conf, several_paths)
{
	static const struct {
		const char *keys;
		int npaths;
		enum cfg_format format;
	} cases[] = {
		{ "path = a.csv\npath = in/*.csv\n", 2, CFG_FMT_CSV },
		{ "path = a.csv\npath = b.jsonl\n", 2, CFG_FMT_AUTO },
		{ "path = a.jsonl\npath = b.ndjson.gz\n", 2, CFG_FMT_JSONL },
		{ "path = in/x.{csv,jsonl}\n", 1, CFG_FMT_AUTO },
	};
	struct cfg cfg;
	char err[CFG_ERR_MAX] = "", text[512];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(text, sizeof text, AGG "[provider f]\ntype = file\n%s",
			 cases[i].keys);
		cr_assert_eq(cfg_load_string("t.conf", text, &cfg, err,
					     sizeof err), 0, "%s: %s",
			     cases[i].keys, err);
		cr_assert_eq(file_conf(&cfg.providers[0])->npaths,
			     cases[i].npaths, "%s", cases[i].keys);
		cr_assert_eq(file_conf(&cfg.providers[0])->path,
			     file_conf(&cfg.providers[0])->paths[0]);
		cr_assert_eq(file_conf(&cfg.providers[0])->file_format,
			     cases[i].format, "%s", cases[i].keys);
		cfg_free(&cfg);
	}
	/* one path the extension says nothing of is still an error */
	cr_assert_eq(cfg_load_string("t.conf", AGG "[provider f]\ntype = file\n"
				     "path = a.csv\npath = b.dat\n", &cfg,
				     err, sizeof err), -1);
	cr_assert(strstr(err, "cannot tell the format of path 'b.dat'"), "%s",
		  err);
}
