/*
 * test_config.c - the providers.conf parser (common/config.c).
 *
 * A full config with every key of every section and provider type is
 * checked field by field (tests/configs/full.conf); then every kind of
 * error, each for its exit code, its "FILE:LINE:" and the key it names;
 * then the value grammar (${VAR}, durations, sizes, bools), long lines cut
 * for inih and continuation lines, secrets kept out of messages, and the
 * -o / --only helpers.  Criterion runs each test in its own process, so
 * setenv() in one test does not leak into another.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/config.h"
#include "../providers/file_conf.h"
#include "../providers/http_conf.h"
#include "../providers/sql_conf.h"
#include "../common/convert.h"
#include "../common/tz.h"
#include "helpers/testutil.h"

#define NAME "providers.conf"

static char err[CFG_ERR_MAX];

/* Load text that must be valid. */
static void load_ok(const char *text, struct cfg *cfg)
{
	err[0] = '\0';
	int rc = cfg_load_string(NAME, text, cfg, err, sizeof err);

	cr_assert_eq(rc, 0, "unexpected error: %s", err);
}

/*
 * Load text that must be invalid; returns the message.  The same text is
 * also loaded from a file by cfg_load, which must exit 78 with the same
 * message under the file's own name.
 */
static const char *load_bad(const char *text)
{
	char dir[] = "/tmp/agg-test-config-XXXXXX";
	char path[128], ferr[CFG_ERR_MAX], want[CFG_ERR_MAX + 128];
	struct cfg cfg;
	FILE *f;
	int rc, ec = -1;

	err[0] = '\0';
	rc = cfg_load_string(NAME, text, &cfg, err, sizeof err);
	cr_assert_eq(rc, -1, "config accepted, expected an error");
	cr_assert_neq(err[0], '\0', "no error message");
	/* a failed load leaves nothing to free */
	cr_assert_eq(cfg.nproviders, 0);
	cr_assert_null(cfg.output);
	cr_assert_eq(strncmp(err, NAME, strlen(NAME)), 0, "%s", err);

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/" NAME, dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fputs(text, f) >= 0, 1);
	cr_assert_eq(fclose(f), 0);
	rc = cfg_load(path, &cfg, ferr, sizeof ferr, &ec);
	unlink(path);
	rmdir(dir);
	cr_assert_eq(rc, -1);
	cr_assert_eq(ec, 78, "exit code %d: %s", ec, ferr);
	snprintf(want, sizeof want, "%s%s", path, err + strlen(NAME));
	want[CFG_ERR_MAX - 1] = '\0'; /* the longer name may cut it short */
	cr_assert_str_eq(ferr, want);
	return err;
}

#define assert_has(msg, needle)                                              \
	cr_assert(strstr((msg), (needle)) != NULL,                           \
		  "expected \"%s\" in \"%s\"", (needle), (msg))
#define assert_lacks(msg, needle)                                            \
	cr_assert(strstr((msg), (needle)) == NULL,                           \
		  "\"%s\" must not appear in \"%s\"", (needle), (msg))
#define assert_prefix(msg, prefix)                                           \
	cr_assert(strncmp((msg), (prefix), strlen(prefix)) == 0,             \
		  "expected \"%s\" to start with \"%s\"", (msg), (prefix))

/* The smallest valid config, then any provider lines. */
#define AGG_HEAD                                                              \
	"[aggregate]\n"                       /* 1 */                        \
	"output = out.csv\n"                  /* 2 */                        \
	"fields = a:int, b:text, f:float, t:timestamp, ok:bool\n" /* 3 */    \
	"[provider p]\n"                      /* 4 */

#define MINIMAL AGG_HEAD "type = file\npath = in.csv\n"

static const struct cfg_provider *find_prov(const struct cfg *cfg,
					    const char *name)
{
	for (int i = 0; i < cfg->nproviders; i++)
		if (strcmp(cfg->providers[i].name, name) == 0)
			return &cfg->providers[i];
	cr_assert_fail("no provider %s", name);
	return NULL;
}

static char *srcdir_path(const char *rel)
{
	const char *dir = getenv("AGG_SRCDIR");
	static char buf[4096];

	snprintf(buf, sizeof buf, "%s/%s", dir && *dir ? dir : ".", rel);
	return buf;
}

/* ------------------------------------------------------------------ */

Test(config, full_config_every_key)
{
	struct cfg cfg;
	const struct cfg_provider *p;
	int ec = -1;
	char *path = srcdir_path("tests/configs/full.conf");

	cr_assert_eq(cfg_load(path, &cfg, err, sizeof err, &ec), 0, "%s", err);
	cr_assert_str_eq(cfg.path, path);

	/* [aggregate] */
	cr_assert_str_eq(cfg.output, "out/result.db");
	cr_assert_eq(cfg.format, CFG_FMT_SQLITE);
	cr_assert(cfg.format_given);
	cr_assert_str_eq(cfg.table, "sales");
	cr_assert_eq(cfg.write, CFG_WRITE_APPEND);
	cr_assert_eq(cfg.schema.nfields, 5);
	cr_assert_str_eq(cfg.schema.fields[0].name, "region");
	cr_assert_eq(cfg.schema.fields[0].type, REC_TEXT);
	cr_assert_str_eq(cfg.schema.fields[1].name, "day");
	cr_assert_eq(cfg.schema.fields[1].type, REC_TIMESTAMP);
	cr_assert_str_eq(cfg.schema.fields[2].name, "amount");
	cr_assert_eq(cfg.schema.fields[2].type, REC_FLOAT);
	cr_assert_str_eq(cfg.schema.fields[3].name, "customer");
	cr_assert_eq(cfg.schema.fields[3].type, REC_INT);
	cr_assert_str_eq(cfg.schema.fields[4].name, "paid");
	cr_assert_eq(cfg.schema.fields[4].type, REC_BOOL);
	cr_assert_eq(cfg.mode, CFG_MODE_GROUP);
	cr_assert_eq(cfg.ngroup_by, 2);
	cr_assert_eq(cfg.group_by[0], 0);
	cr_assert_eq(cfg.group_by[1], 1);

	cr_assert_eq(cfg.naggs, 7);
	cr_assert_eq(cfg.aggs[0].kind, CFG_AGG_COUNT_STAR);
	cr_assert_eq(cfg.aggs[0].field, -1);
	cr_assert_str_eq(cfg.aggs[0].name, "orders");
	cr_assert_eq(cfg.aggs[0].type, REC_INT);
	cr_assert_eq(cfg.aggs[1].kind, CFG_AGG_COUNT);
	cr_assert_eq(cfg.aggs[1].field, 3);
	cr_assert_str_eq(cfg.aggs[1].name, "count_customer");
	cr_assert_eq(cfg.aggs[1].type, REC_INT);
	cr_assert_eq(cfg.aggs[2].kind, CFG_AGG_SUM);
	cr_assert_eq(cfg.aggs[2].field, 2);
	cr_assert_str_eq(cfg.aggs[2].name, "revenue");
	cr_assert_eq(cfg.aggs[2].type, REC_FLOAT);
	cr_assert_eq(cfg.aggs[3].kind, CFG_AGG_AVG);
	cr_assert_str_eq(cfg.aggs[3].name, "avg_amount");
	cr_assert_eq(cfg.aggs[3].type, REC_FLOAT);
	cr_assert_eq(cfg.aggs[4].kind, CFG_AGG_MIN);
	cr_assert_eq(cfg.aggs[4].field, 1);
	cr_assert_str_eq(cfg.aggs[4].name, "min_day");
	cr_assert_eq(cfg.aggs[4].type, REC_TIMESTAMP);
	cr_assert_eq(cfg.aggs[5].kind, CFG_AGG_MAX);
	cr_assert_str_eq(cfg.aggs[5].name, "max_amount");
	cr_assert_eq(cfg.aggs[5].type, REC_FLOAT);
	cr_assert_eq(cfg.aggs[6].kind, CFG_AGG_COUNT_DISTINCT);
	cr_assert_eq(cfg.aggs[6].field, 3);
	cr_assert_str_eq(cfg.aggs[6].name, "count_distinct_customer");
	cr_assert_eq(cfg.aggs[6].type, REC_INT);

	cr_assert_eq(cfg.on_error, CFG_ON_ERROR_PARTIAL);
	cr_assert_eq(cfg.restart, 7);
	cr_assert_eq(cfg.backoff_ms, 250);
	cr_assert_eq(cfg.backoff_max_ms, 60000);
	cr_assert_eq(cfg.stall_timeout_ms, 90000);
	cr_assert_eq(cfg.timeout_ms, 7200000);
	cr_assert_eq(cfg.memory_limit, 512ull << 20);
	cr_assert_eq(cfg.ring_size, 8ull << 20);
	cr_assert_str_eq(cfg.reject_file, "out/rejects.jsonl");
	cr_assert_eq(cfg.max_rejects, 12);
	cr_assert_str_eq(cfg.lock_file, "/tmp/agg-test.lock");
	cr_assert(cfg.lock_file_given);
	cr_assert_str_eq(cfg.metrics_file, "out/metrics.prom");

	/* providers, in config order */
	cr_assert_eq(cfg.nproviders, 7);
	cr_assert_str_eq(cfg.providers[0].name, "api");
	cr_assert_str_eq(cfg.providers[1].name, "pages");
	cr_assert_str_eq(cfg.providers[2].name, "linked");
	cr_assert_str_eq(cfg.providers[3].name, "warehouse");
	cr_assert_str_eq(cfg.providers[4].name, "legacy");
	cr_assert_str_eq(cfg.providers[5].name, "drops");
	cr_assert_str_eq(cfg.providers[6].name, "events");

	p = &cfg.providers[0];
	cr_assert_eq(p->line, 5);
	cr_assert_eq(p->type, CFG_PROV_HTTP);
	cr_assert_eq(http_conf(p)->nurls, 2);
	cr_assert_str_eq(http_conf(p)->urls[0], "https://api.example.com/v1/orders?limit=100");
	cr_assert_str_eq(http_conf(p)->urls[1], "http://127.0.0.1:8080/more");
	cr_assert_str_eq(p->source[0], "/shipping/region");
	cr_assert_str_eq(p->source[1], "/created_at");
	cr_assert_str_eq(p->source[2], "/total");
	cr_assert_str_eq(p->source[3], "customer"); /* unmapped: bare name */
	cr_assert_str_eq(p->source[4], "paid");
	cr_assert(p->enabled);
	cr_assert_eq(p->restart, 2);
	cr_assert_eq(p->stall_timeout_ms, 300000);
	cr_assert_eq(p->memory_limit, 1ull << 30);
	cr_assert_eq(p->max_rejects, 3);
	cr_assert_eq(http_conf(p)->pagination, CFG_PAGE_CURSOR);
	cr_assert_str_eq(http_conf(p)->cursor_path, "/meta/next");
	cr_assert_str_eq(http_conf(p)->cursor_param, "cursor");
	cr_assert_str_eq(http_conf(p)->records, "/data/items");
	cr_assert_eq(http_conf(p)->response, CFG_RESP_JSON);
	cr_assert_eq(http_conf(p)->concurrency, 4);
	cr_assert_eq(http_conf(p)->nheaders, 2);
	cr_assert_str_eq(http_conf(p)->headers[0], "Authorization: Bearer secret-token");
	cr_assert_str_eq(http_conf(p)->headers[1], "Accept: application/json");
	cr_assert_str_eq(http_conf(p)->method, "POST");
	cr_assert_str_eq(http_conf(p)->body, "{\"since\": \"2024-01-01\"}");
	cr_assert_eq(http_conf(p)->timeout_ms, 45000);
	cr_assert_eq(http_conf(p)->connect_timeout_ms, 3000);
	cr_assert_eq(http_conf(p)->retries, 9);
	cr_assert_float_eq(http_conf(p)->rate_limit, 2.0, 1e-12);
	cr_assert_eq(http_conf(p)->max_response, 16ull << 20);
	cr_assert_str_eq(http_conf(p)->ca_file, "/etc/ssl/certs/ca.pem");
	cr_assert_not(http_conf(p)->insecure);

	p = &cfg.providers[1];
	cr_assert_eq(p->type, CFG_PROV_HTTP);
	cr_assert_eq(http_conf(p)->pagination, CFG_PAGE_PAGE);
	cr_assert_eq(http_conf(p)->page_start, 0);
	cr_assert_eq(http_conf(p)->response, CFG_RESP_NDJSON);
	cr_assert_str_eq(http_conf(p)->records, "");
	cr_assert(http_conf(p)->insecure);
	/* inherited from [aggregate], which comes after it */
	cr_assert_eq(p->restart, 7);
	cr_assert_eq(p->stall_timeout_ms, 90000);
	cr_assert_eq(p->memory_limit, 512ull << 20);
	cr_assert_eq(p->max_rejects, 12);

	p = &cfg.providers[2];
	cr_assert_eq(http_conf(p)->pagination, CFG_PAGE_LINK);
	cr_assert_not(p->enabled);

	p = &cfg.providers[3];
	cr_assert_eq(p->type, CFG_PROV_POSTGRES);
	cr_assert_str_eq(sql_conf(p)->conninfo, "host=/var/run/postgresql dbname=warehouse");
	cr_assert_str_eq(sql_conf(p)->query,
			 "SELECT region, day, amount, customer_id AS customer\n"
			 "FROM orders\n"
			 "WHERE day >= now() - interval '1 day'");
	cr_assert_str_eq(sql_conf(p)->key, "id");
	cr_assert_eq(p->batch, 5000);
	cr_assert_not(sql_conf(p)->snapshot);
	cr_assert_str_eq(p->source[0], "region");
	cr_assert_str_eq(p->source[3], "customer_id");

	p = &cfg.providers[4];
	cr_assert_eq(p->type, CFG_PROV_SQLITE);
	cr_assert_str_eq(sql_conf(p)->path, "sample_data/legacy.db");
	cr_assert_str_eq(sql_conf(p)->query,
			 "SELECT region, day, amount, customer, paid FROM orders");
	cr_assert_str_eq(sql_conf(p)->key, "rowid");
	cr_assert_eq(p->batch, 100);

	p = &cfg.providers[5];
	cr_assert_eq(p->type, CFG_PROV_FILE);
	cr_assert_str_eq(file_conf(p)->path, "sample_data/drops/*.csv.gz");
	cr_assert_eq(file_conf(p)->file_format, CFG_FMT_CSV); /* .gz stripped */
	cr_assert_eq(file_conf(p)->delimiter, ';');
	cr_assert_eq(file_conf(p)->quote, '\'');
	cr_assert_not(file_conf(p)->header);
	cr_assert_eq(file_conf(p)->nnulls, 1);
	cr_assert_str_eq(file_conf(p)->nulls[0], "\\N");
	cr_assert_eq(p->max_rejects, 0); /* own value, not [aggregate]'s 12 */
	cr_assert_eq(p->restart, 7);

	p = &cfg.providers[6];
	cr_assert_eq(file_conf(p)->file_format, CFG_FMT_JSONL);
	cr_assert_eq(file_conf(p)->delimiter, ',');
	cr_assert(file_conf(p)->header);
	cr_assert_eq(file_conf(p)->nnulls, 0);

	cfg_free(&cfg);
	cr_assert_null(cfg.providers);
	cfg_free(&cfg); /* twice is harmless */
}

Test(config, defaults)
{
	struct cfg cfg;
	const struct cfg_provider *p;

	load_ok(MINIMAL
		"[provider h]\ntype = http\nurl = http://x/\n"
		"[provider s]\ntype = sqlite\npath = a.db\nquery = SELECT 1\n"
		"[provider g]\ntype = postgres\nquery = SELECT 1\n",
		&cfg);
	cr_assert_str_eq(cfg.path, NAME);
	cr_assert_eq(cfg.format, CFG_FMT_CSV);
	cr_assert_not(cfg.format_given);
	cr_assert_str_eq(cfg.table, "aggregate");
	cr_assert_eq(cfg.write, CFG_WRITE_REPLACE);
	cr_assert_eq(cfg.mode, CFG_MODE_UNION);
	cr_assert_eq(cfg.ngroup_by, 0);
	cr_assert_eq(cfg.naggs, 0);
	cr_assert_eq(cfg.on_error, CFG_ON_ERROR_FAIL);
	cr_assert_eq(cfg.restart, 3);
	cr_assert_eq(cfg.backoff_ms, 200);
	cr_assert_eq(cfg.backoff_max_ms, 10000);
	cr_assert_eq(cfg.stall_timeout_ms, 60000);
	cr_assert_eq(cfg.timeout_ms, 0);
	cr_assert_eq(cfg.memory_limit, 0);
	cr_assert_eq(cfg.ring_size, 4ull << 20);
	cr_assert_null(cfg.reject_file);
	cr_assert_eq(cfg.max_rejects, 0);
	/* none: the run locks on the output's real path elsewhere */
	cr_assert_null(cfg.lock_file);
	cr_assert_not(cfg.lock_file_given);
	cr_assert_null(cfg.metrics_file);

	p = find_prov(&cfg, "p");
	cr_assert(p->enabled);
	cr_assert_eq(file_conf(p)->file_format, CFG_FMT_CSV);
	cr_assert_eq(file_conf(p)->delimiter, ',');
	cr_assert_eq(file_conf(p)->quote, '"');
	cr_assert(file_conf(p)->header);
	cr_assert_eq(file_conf(p)->nnulls, 0);
	cr_assert_eq(p->restart, 3);
	cr_assert_eq(p->stall_timeout_ms, 60000);
	cr_assert_eq(p->memory_limit, 0);
	cr_assert_eq(p->max_rejects, 0);
	for (int i = 0; i < cfg.schema.nfields; i++)
		cr_assert_str_eq(p->source[i], cfg.schema.fields[i].name);

	p = find_prov(&cfg, "h");
	cr_assert_eq(http_conf(p)->pagination, CFG_PAGE_NONE);
	cr_assert_eq(http_conf(p)->page_start, 1);
	cr_assert_eq(http_conf(p)->concurrency, 8);
	cr_assert_str_eq(http_conf(p)->method, "GET");
	cr_assert_null(http_conf(p)->body);
	cr_assert_eq(http_conf(p)->timeout_ms, 30000);
	cr_assert_eq(http_conf(p)->connect_timeout_ms, 10000);
	cr_assert_eq(http_conf(p)->retries, 5);
	cr_assert_eq(http_conf(p)->max_response, 64ull << 20);
	cr_assert_eq(http_conf(p)->response, CFG_RESP_JSON);
	cr_assert_str_eq(http_conf(p)->records, "");
	cr_assert_eq(http_conf(p)->nheaders, 0);
	cr_assert_float_eq(http_conf(p)->rate_limit, 0.0, 1e-12);
	cr_assert_null(http_conf(p)->ca_file);
	cr_assert_not(http_conf(p)->insecure);
	cr_assert_str_eq(p->source[1], "b"); /* no "/" added for JSON */

	p = find_prov(&cfg, "s");
	cr_assert_eq(p->batch, 10000);
	cr_assert_null(sql_conf(p)->key);

	p = find_prov(&cfg, "g");
	cr_assert_eq(p->batch, 10000);
	cr_assert(sql_conf(p)->snapshot);
	cr_assert_str_eq(sql_conf(p)->conninfo, ""); /* PG* variables */
	cfg_free(&cfg);
}

Test(config, mode_follows_group_by_and_aggregates)
{
	struct cfg cfg;

	cr_assert_str_eq(load_bad(MINIMAL "[aggregate]\n"),
			 NAME ":7: duplicate section [aggregate] (first at line 1)");

	load_ok("[aggregate]\noutput=o.csv\nfields=a:int\naggregates=count(*)\n"
		"[provider p]\ntype=file\npath=x.csv\n", &cfg);
	cr_assert_eq(cfg.mode, CFG_MODE_GROUP);
	cr_assert_eq(cfg.ngroup_by, 0);
	cr_assert_str_eq(cfg.aggs[0].name, "count");
	cfg_free(&cfg);

	load_ok("[aggregate]\noutput=o.csv\nfields=a:int,b:text\ngroup_by=b\n"
		"[provider p]\ntype=file\npath=x.csv\n", &cfg);
	cr_assert_eq(cfg.mode, CFG_MODE_GROUP);
	cr_assert_eq(cfg.group_by[0], 1);
	cfg_free(&cfg);

	load_ok("[aggregate]\noutput=o.csv\nfields=a:int,b:text\nmode=union\n"
		"group_by =\naggregates =\n"
		"[provider p]\ntype=file\npath=x.csv\n", &cfg);
	cr_assert_eq(cfg.mode, CFG_MODE_UNION);
	cfg_free(&cfg);

	assert_prefix(load_bad("[aggregate]\noutput=o.csv\nfields=a:int,b:text\n"
			       "group_by=b\nmode=union\n"
			       "[provider p]\ntype=file\npath=x.csv\n"),
		      NAME ":5: mode = union");
	assert_prefix(load_bad("[aggregate]\noutput=o.csv\nfields=a:int\n"
			       "mode = group\n"
			       "[provider p]\ntype=file\npath=x.csv\n"),
		      NAME ":4: mode = group needs group_by or aggregates");
	assert_prefix(load_bad("[aggregate]\noutput=o.csv\n"
			       "fields=provider:text,a:int\n"
			       "[provider p]\ntype=file\npath=x.csv\n"),
		      NAME ":3: field name 'provider' clashes");
}

/* ------------------------------------------------------------------ */
/* errors: keys and sections                                            */

Test(config, unknown_key_suggests)
{
	const char *m = load_bad("[aggregate]\n"
				 "output = out.csv\n"
				 "fields = region:text\n"
				 "\n"
				 "; a comment\n"
				 "# another\n"
				 "grup_by = region\n"
				 "[provider p]\ntype=file\npath=x.csv\n");

	cr_assert_str_eq(m, NAME ":7: unknown key 'grup_by' in [aggregate] "
			 "(did you mean 'group_by'?)");

	m = load_bad(AGG_HEAD "type = sqlite\npath = a.db\nqeury = SELECT 1\n");
	cr_assert_str_eq(m, NAME ":7: unknown key 'qeury' in [provider p] "
			 "(did you mean 'query'?)");

	/* case is not ignored, but suggested */
	m = load_bad(AGG_HEAD "type = file\npath = a.csv\nDelimiter = tab\n");
	assert_has(m, NAME ":7: unknown key 'Delimiter'");
	assert_has(m, "did you mean 'delimiter'?");

	/* long keys too */
	m = load_bad(AGG_HEAD "type = http\nurl = http://x/\nconect_timeout = 1s\n");
	assert_has(m, "did you mean 'connect_timeout'?");

	/* transposed letters */
	m = load_bad(AGG_HEAD "type = http\nurl = http://x/\npagniation = page\n");
	assert_has(m, "did you mean 'pagination'?");

	/* nothing near: no suggestion */
	m = load_bad(AGG_HEAD "type = file\npath = a.csv\nzzzzzz = 1\n");
	cr_assert_str_eq(m, NAME ":7: unknown key 'zzzzzz' in [provider p]");
}

Test(config, key_of_another_type_or_section)
{
	const char *m;

	m = load_bad(AGG_HEAD "path = a.csv\ntype = file\nquery = SELECT 1\n");
	cr_assert_str_eq(m, NAME ":7: key 'query' is not valid for a provider "
			 "of type file");
	m = load_bad(AGG_HEAD "type = sqlite\npath = a.db\nquery = x\n"
		     "url = http://x/\n");
	cr_assert_str_eq(m, NAME ":8: key 'url' is not valid for a provider "
			 "of type sqlite");
	m = load_bad(AGG_HEAD "type = postgres\nquery = x\ndelimiter = tab\n");
	assert_prefix(m, NAME ":7: key 'delimiter' is not valid for a provider of type postgres");
	m = load_bad(AGG_HEAD "type = http\nurl = http://x/\nbatch = 3\n");
	assert_prefix(m, NAME ":7: key 'batch' is not valid for a provider of type http");
	m = load_bad(AGG_HEAD "type = file\npath = a.csv\nring_size = 8M\n");
	assert_prefix(m, NAME ":7: unknown key 'ring_size' in [provider p] "
		      "(it belongs in [aggregate])");
	m = load_bad("[aggregate]\noutput = o.csv\nfields = a:int\nquery = x\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	assert_prefix(m, NAME ":4: unknown key 'query' in [aggregate]");
	assert_has(m, "[provider NAME]");
}

Test(config, duplicate_keys_name_both_lines)
{
	const char *m;

	m = load_bad(AGG_HEAD "type = file\npath = a.csv\nformat = csv\n\n"
		     "format = jsonl\n");
	cr_assert_str_eq(m, NAME ":9: duplicate key 'format' in [provider p] "
			 "(first set at line 7)");
	m = load_bad("[aggregate]\noutput = a.csv\nfields = a:int\n"
		     "output = b.csv\n");
	cr_assert_str_eq(m, NAME ":4: duplicate key 'output' in [aggregate] "
			 "(first set at line 2)");
	/* header is repeatable for http, a plain bool for files; path is
	 * repeatable (test_prov_conf) */
	m = load_bad(AGG_HEAD "type = file\npath = a.csv\nheader = true\n"
		     "header = false\n");
	assert_prefix(m, NAME ":8: duplicate key 'header' in [provider p] "
		      "(first set at line 7)");
	m = load_bad(AGG_HEAD "type = file\ntype = file\npath = a.csv\n");
	assert_prefix(m, NAME ":6: duplicate key 'type'");
}

Test(config, sections)
{
	const char *m;

	m = load_bad(MINIMAL "[agregate]\n");
	cr_assert_str_eq(m, NAME ":7: unknown section [agregate] "
			 "(did you mean [aggregate]?)");
	m = load_bad(MINIMAL "[providr q]\n");
	cr_assert_str_eq(m, NAME ":7: unknown section [providr q] "
			 "(did you mean [provider q]?)");
	m = load_bad(MINIMAL "[outputs m]\n");
	cr_assert_str_eq(m, NAME ":7: unknown section [outputs m] "
			 "(did you mean [output m]?)");
	m = load_bad(MINIMAL "[output]\n");
	assert_prefix(m, NAME ":7: missing output name: write [output NAME]");
	m = load_bad(MINIMAL "[output a/b]\n");
	assert_prefix(m, NAME ":7: invalid output name");
	m = load_bad(MINIMAL "[provider]\n");
	assert_prefix(m, NAME ":7: missing provider name");
	m = load_bad(MINIMAL "[provider a b]\n");
	assert_prefix(m, NAME ":7: invalid provider name");
	m = load_bad(MINIMAL "[provider a/b]\n");
	assert_prefix(m, NAME ":7: invalid provider name");
	m = load_bad(MINIMAL "[aggregate x]\n");
	assert_prefix(m, NAME ":7: [aggregate] takes no name");
	m = load_bad(MINIMAL "\n[provider p]\ntype=file\npath=b.csv\n");
	cr_assert_str_eq(m, NAME ":8: duplicate section [provider p] "
			 "(first at line 4)");
	m = load_bad(MINIMAL "[provider q\n");
	assert_prefix(m, NAME ":7: missing ']'");
	m = load_bad(MINIMAL "[provider q] extra\n");
	assert_prefix(m, NAME ":7: unexpected text after ']'");
	m = load_bad("output = x.csv\n" MINIMAL);
	assert_prefix(m, NAME ":1: key 'output' outside any section");
	m = load_bad("[provider p]\ntype = file\npath = a.csv\n");
	cr_assert_str_eq(m, NAME ": missing [aggregate] section");
	m = load_bad("[aggregate]\noutput = a.csv\nfields = a:int\n");
	assert_prefix(m, NAME ": no provider");
	m = load_bad(MINIMAL "enabled = no\n");
	assert_prefix(m, NAME ": no enabled provider");

	/* names: letters, digits, '_', '.', '-'; long ones kept whole */
	struct cfg cfg;

	load_ok(MINIMAL "[provider a.b-c_D9]\ntype=file\npath=x.csv\n"
		"[ provider   a_provider_name_well_beyond_forty_nine_bytes_long ]\n"
		"type=file\npath=y.csv\n", &cfg);
	cr_assert_eq(cfg.nproviders, 3);
	cr_assert_str_eq(cfg.providers[1].name, "a.b-c_D9");
	cr_assert_str_eq(cfg.providers[2].name,
			 "a_provider_name_well_beyond_forty_nine_bytes_long");
	cr_assert_str_eq(file_conf(&cfg.providers[2])->path, "y.csv");
	cr_assert_eq(cfg.providers[2].line, 10);
	cfg_free(&cfg);
}

Test(config, syntax_errors)
{
	const char *m;

	m = load_bad(MINIMAL "just words\n");
	cr_assert_str_eq(m, NAME ":7: expected 'key = value' or a [section]");
	m = load_bad(MINIMAL "= value\n");
	assert_prefix(m, NAME ":7: missing key name");
	m = load_bad(MINIMAL "words ; path = x\n");
	assert_prefix(m, NAME ":7: expected 'key = value'");
	m = load_bad(MINIMAL "key\x01 = 1\n");
	assert_prefix(m, NAME ":7: control character 0x01");
}

Test(config, missing_required_keys)
{
	const char *m;

	m = load_bad("[aggregate]\nfields = a:int\n[provider p]\ntype=file\npath=x.csv\n");
	cr_assert_str_eq(m, NAME ":1: missing required key 'output' in [aggregate]");
	m = load_bad("\n[aggregate]\noutput = a.csv\n[provider p]\ntype=file\npath=x.csv\n");
	assert_prefix(m, NAME ":2: missing required key 'fields' in [aggregate]");
	m = load_bad(AGG_HEAD "path = a.csv\n");
	assert_prefix(m, NAME ":4: missing required key 'type' in [provider p]");
	m = load_bad(AGG_HEAD "type = file\n");
	cr_assert_str_eq(m, NAME ":4: missing required key 'path' in [provider p]");
	m = load_bad(AGG_HEAD "type = sqlite\nquery = SELECT 1\n");
	cr_assert_str_eq(m, NAME ":4: missing required key 'path' in [provider p]");
	m = load_bad(AGG_HEAD "type = sqlite\npath = a.db\n");
	cr_assert_str_eq(m, NAME ":4: missing required key 'query' in [provider p]");
	m = load_bad(AGG_HEAD "type = postgres\nconninfo = dbname=x\n");
	cr_assert_str_eq(m, NAME ":4: missing required key 'query' in [provider p]");
	m = load_bad(AGG_HEAD "type = http\n");
	cr_assert_str_eq(m, NAME ":4: missing required key 'url' in [provider p]");
	m = load_bad(AGG_HEAD "type = http\nurl = http://x/\npagination = cursor\n"
		     "cursor_param = c\n");
	assert_prefix(m, NAME ":4: missing required key 'cursor_path'");
	m = load_bad(AGG_HEAD "type = http\nurl = http://x/\npagination = cursor\n"
		     "cursor_path = /next\n");
	assert_prefix(m, NAME ":4: missing required key 'cursor_param'");
}

/* ------------------------------------------------------------------ */
/* errors: values                                                       */

Test(config, bad_values_name_key_and_value)
{
	const char *m;

	m = load_bad(AGG_HEAD "type = file\npath = a.csv\nrestart = -1\n");
	cr_assert_str_eq(m, NAME ":7: invalid value '-1' for key 'restart' in "
			 "[provider p]: expected a whole number from 0 to 2147483647");
	m = load_bad(AGG_HEAD "type = files\npath = a.csv\n");
	assert_prefix(m, NAME ":5: invalid value 'files' for key 'type' in [provider p]");
	m = load_bad(AGG_HEAD "type = file\npath = a.csv\nenabled = maybe\n");
	assert_prefix(m, NAME ":7: invalid value 'maybe' for key 'enabled'");
	m = load_bad(MINIMAL "stall_timeout = 10\n");
	assert_prefix(m, NAME ":7: invalid value '10' for key 'stall_timeout'");
	m = load_bad(MINIMAL "stall_timeout = 0\n");
	assert_prefix(m, NAME ":7: invalid value '0' for key 'stall_timeout'");
	m = load_bad(MINIMAL "memory_limit = 12X\n");
	assert_prefix(m, NAME ":7: invalid value '12X' for key 'memory_limit'");
	m = load_bad("[aggregate]\noutput=a.csv\nfields=a:int\nring_size=1K\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	assert_prefix(m, NAME ":4: invalid value '1K' for key 'ring_size'");
	m = load_bad("[aggregate]\noutput=a.csv\nfields=a:int\nformat=xml\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	assert_prefix(m, NAME ":4: invalid value 'xml' for key 'format' in [aggregate]");
	m = load_bad("[aggregate]\noutput=a.csv\nfields=a:int\nwrite=upsert\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	assert_prefix(m, NAME ":4: invalid value 'upsert' for key 'write'");
	m = load_bad("[aggregate]\noutput=a.csv\nfields=a:int\non_error=ignore\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	assert_prefix(m, NAME ":4: invalid value 'ignore' for key 'on_error'");
	m = load_bad("[aggregate]\noutput=a.csv\nfields=a:int\nmode=merge\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	assert_prefix(m, NAME ":4: invalid value 'merge' for key 'mode'");
	m = load_bad("[aggregate]\noutput=a.csv\nfields=a:int\ntable=a b\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	assert_prefix(m, NAME ":4: invalid value 'a b' for key 'table'");
	m = load_bad("[aggregate]\noutput=a.csv\nfields=a:int\nbackoff=20s\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	assert_prefix(m, NAME ":4: backoff (20000ms) is longer than backoff_max");
	m = load_bad("[aggregate]\noutput=a.csv\nfields=a:int\nreject_file=\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	assert_prefix(m, NAME ":4: invalid value '' for key 'reject_file' in [aggregate]: empty value");
	m = load_bad(MINIMAL "max_rejects = lots\n");
	assert_prefix(m, NAME ":7: invalid value 'lots' for key 'max_rejects'");

	/* file */
	m = load_bad(MINIMAL "delimiter = ab\n");
	assert_prefix(m, NAME ":7: invalid value 'ab' for key 'delimiter'");
	m = load_bad(MINIMAL "quote = ,\n");
	assert_prefix(m, NAME ":7: delimiter and quote are the same");
	m = load_bad(MINIMAL "format = xml\n");
	assert_prefix(m, NAME ":7: invalid value 'xml' for key 'format' in [provider p]");
	m = load_bad(AGG_HEAD "type = file\npath = data.txt\n");
	cr_assert_str_eq(m, NAME ":6: cannot tell the format of path 'data.txt' in "
			 "[provider p] from its extension (.csv, .tsv, .jsonl, "
			 ".ndjson, .json, optionally .gz): set format");

	/* sqlite, postgres */
	m = load_bad(AGG_HEAD "type = sqlite\npath = a.db\nquery = x\nbatch = 0\n");
	assert_prefix(m, NAME ":8: invalid value '0' for key 'batch'");
	m = load_bad(AGG_HEAD "type = postgres\nquery = x\nsnapshot = sure\n");
	assert_prefix(m, NAME ":7: invalid value 'sure' for key 'snapshot'");

	/* http */
#define HTTP AGG_HEAD "type = http\nurl = http://x/\n"
	m = load_bad(HTTP "pagination = pages\n");
	assert_prefix(m, NAME ":7: invalid value 'pages' for key 'pagination'");
	m = load_bad(HTTP "concurrency = 0\n");
	assert_prefix(m, NAME ":7: invalid value '0' for key 'concurrency'");
	m = load_bad(HTTP "retries = x\n");
	assert_prefix(m, NAME ":7: invalid value 'x' for key 'retries'");
	m = load_bad(HTTP "rate_limit = fast\n");
	assert_prefix(m, NAME ":7: invalid value 'fast' for key 'rate_limit'");
	m = load_bad(HTTP "rate_limit = 0/s\n");
	assert_prefix(m, NAME ":7: invalid value '0/s' for key 'rate_limit'");
	m = load_bad(HTTP "rate_limit = 5/d\n");
	assert_prefix(m, NAME ":7: invalid value '5/d' for key 'rate_limit'");
	m = load_bad(HTTP "response = xml\n");
	assert_prefix(m, NAME ":7: invalid value 'xml' for key 'response'");
	m = load_bad(HTTP "records = items\n");
	assert_prefix(m, NAME ":7: invalid value 'items' for key 'records'");
	m = load_bad(HTTP "cursor_path = /a~2b\npagination = cursor\ncursor_param=c\n");
	assert_prefix(m, NAME ":7: invalid value '/a~2b' for key 'cursor_path'");
	m = load_bad(HTTP "method = get\n");
	assert_prefix(m, NAME ":7: invalid value 'get' for key 'method'");
	m = load_bad(HTTP "timeout = 0\n");
	assert_prefix(m, NAME ":7: invalid value '0' for key 'timeout'");
	m = load_bad(HTTP "connect_timeout = 1x\n");
	assert_prefix(m, NAME ":7: invalid value '1x' for key 'connect_timeout'");
	m = load_bad(HTTP "max_response = 0\n");
	assert_prefix(m, NAME ":7: invalid value '0' for key 'max_response'");
	m = load_bad(HTTP "insecure = 2\n");
	assert_prefix(m, NAME ":7: invalid value '2' for key 'insecure'");
	m = load_bad(HTTP "page_start = 2\n");
	assert_prefix(m, NAME ":7: page_start needs pagination = page");
	m = load_bad(HTTP "cursor_param = c\n");
	assert_prefix(m, NAME ":7: cursor_path and cursor_param need pagination = cursor");
	m = load_bad(HTTP "response = ndjson\nrecords = /items\n");
	assert_prefix(m, NAME ":8: records is not used with response = ndjson");
	m = load_bad(HTTP "pagination = page\n");
	assert_prefix(m, NAME ":6: pagination = page needs '{page}'");
	m = load_bad(AGG_HEAD "type = http\nurl = http://x/?p={page}\n");
	assert_prefix(m, NAME ":6: url of [provider p] has '{page}' but pagination is not page");
	/* since_field and {since} come together */
	m = load_bad(AGG_HEAD "type = http\nurl = http://x/?s={since}\n");
	assert_prefix(m, NAME ":6: url of [provider p] has '{since}' but no since_field");
	m = load_bad(HTTP "method = POST\nbody = {\"s\":\"{since}\"}\n");
	assert_prefix(m, NAME ":8: body of [provider p] has '{since}' but no since_field");
	m = load_bad(HTTP "since_field = /id\n");
	assert_prefix(m, NAME ":7: since_field of [provider p] needs '{since}' in a url or the body");
	m = load_bad(HTTP "since_start = 0\n");
	assert_prefix(m, NAME ":7: since_start needs since_field in [provider p]");
	m = load_bad(HTTP "since_field = id\n");
	assert_prefix(m, NAME ":7: invalid value 'id' for key 'since_field'");
	m = load_bad(AGG_HEAD "type = http\nurl = http://x/?s={since}\n"
		     "response = ndjson\nsince_field = /id\n");
	assert_prefix(m, NAME ":8: since_field is not supported with response = ndjson");
#undef HTTP

	/* a long bad value is quoted short */
	char text[2048];

	snprintf(text, sizeof text, MINIMAL "restart = %0900d\n", 7);
	text[strlen(text) - 2] = 'x';
	m = load_bad(text);
	assert_prefix(m, NAME ":7: invalid value '0000");
	assert_has(m, "...' for key 'restart'");
	cr_assert_lt(strlen(m), 300);
}

Test(config, http_since)
{
	struct cfg cfg;

	load_ok(AGG_HEAD "type = http\nurl = http://x/?after={since}\n"
		"since_field = /updated_at\nsince_start = 2026-01-01\n"
		"[provider q]\ntype = http\nurl = http://y/\nmethod = POST\n"
		"body = {\"after\": \"{since}\"}\nsince_field = /id\n"
		"[provider r]\ntype = http\nurl = http://y/\n",
		&cfg);
	cr_assert_str_eq(http_conf(&cfg.providers[0])->since_field, "/updated_at");
	cr_assert_str_eq(http_conf(&cfg.providers[0])->since_start, "2026-01-01");
	cr_assert_str_eq(http_conf(&cfg.providers[1])->since_field, "/id");
	cr_assert_str_eq(http_conf(&cfg.providers[1])->since_start, "");
	cr_assert_null(http_conf(&cfg.providers[2])->since_field);
	cfg_free(&cfg);
}

Test(config, rate_limit_units)
{
	struct cfg cfg;

	load_ok(AGG_HEAD "type = http\nurl = http://x/\nrate_limit = 20/s\n"
		"[provider q]\ntype = http\nurl = http://y/\nrate_limit = 30/m\n"
		"[provider r]\ntype = http\nurl = http://y/\nrate_limit = 2.5\n",
		&cfg);
	cr_assert_float_eq(http_conf(&cfg.providers[0])->rate_limit, 20.0, 1e-12);
	cr_assert_float_eq(http_conf(&cfg.providers[1])->rate_limit, 0.5, 1e-12);
	cr_assert_float_eq(http_conf(&cfg.providers[2])->rate_limit, 2.5, 1e-12);
	cfg_free(&cfg);
}

/* ------------------------------------------------------------------ */
/* fields, group_by, aggregates, map                                    */

#define AGG_FIELDS(extra)                                                     \
	"[aggregate]\n"                                                       \
	"output = o.csv\n"                                                    \
	"fields = region:text, amount:float, n:int, ok:bool, day:timestamp\n" \
	extra                                                /* line 4 */     \
	"[provider p]\ntype = file\npath = x.csv\n"

Test(config, fields_errors)
{
	const char *m;

	m = load_bad("[aggregate]\noutput=o.csv\nfields = a:int, b:money\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	cr_assert_str_eq(m, NAME ":3: invalid value 'money' for key 'fields' in "
			 "[aggregate]: unknown type (int, float, text, bool, timestamp, timestamp('FORMAT', ...), decimal(p,s), date)");
	m = load_bad("[aggregate]\noutput=o.csv\nfields = a:int, a:text\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	assert_prefix(m, NAME ":3: invalid value 'a' for key 'fields'");
	assert_has(m, "field declared twice");
	m = load_bad("[aggregate]\noutput=o.csv\nfields = 1a:int\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	assert_prefix(m, NAME ":3: invalid value '1a' for key 'fields'");
	m = load_bad("[aggregate]\noutput=o.csv\nfields = a-b:int\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	assert_prefix(m, NAME ":3: invalid value 'a-b' for key 'fields'");
	m = load_bad("[aggregate]\noutput=o.csv\nfields = a:int, "
		     "a234567890123456789012345678901234567890123456789012345678901234:int\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	assert_has(m, "at most 63 bytes");
	m = load_bad("[aggregate]\noutput=o.csv\nfields = a\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	assert_has(m, "expected name:type");
	m = load_bad("[aggregate]\noutput=o.csv\nfields = a:int,,b:int\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	assert_has(m, "empty item in list");
	m = load_bad("[aggregate]\noutput=o.csv\nfields =\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	assert_prefix(m, NAME ":3: invalid value '' for key 'fields'");

	/* whitespace and newlines around items are trimmed */
	struct cfg cfg;

	load_ok("[aggregate]\noutput=o.csv\nfields =\n  a : int ,\n  _b2:text\n"
		"[provider p]\ntype=file\npath=x.csv\n", &cfg);
	cr_assert_eq(cfg.schema.nfields, 2);
	cr_assert_str_eq(cfg.schema.fields[0].name, "a");
	cr_assert_str_eq(cfg.schema.fields[1].name, "_b2");
	cr_assert_eq(cfg.schema.fields[1].type, REC_TEXT);
	cfg_free(&cfg);
}

Test(config, group_by_errors)
{
	const char *m;

	m = load_bad(AGG_FIELDS("group_by = region, country\n"));
	cr_assert_str_eq(m, NAME ":4: invalid value 'country' for key 'group_by' "
			 "in [aggregate]: not a field declared in fields");
	m = load_bad(AGG_FIELDS("group_by = region, region\n"));
	assert_has(m, "field listed twice");
}

Test(config, aggregates_parse_and_type)
{
	struct cfg cfg;

	load_ok(AGG_FIELDS("group_by = region\n"
			   "aggregates = SUM( n ) AS Total, Count(ok), min(region),"
			   " max(ok), sum(amount), count_distinct(day) as days,"
			   " Avg(n)\n"), &cfg);
	cr_assert_eq(cfg.naggs, 7);
	cr_assert_str_eq(cfg.aggs[0].name, "Total");
	cr_assert_eq(cfg.aggs[0].kind, CFG_AGG_SUM);
	cr_assert_eq(cfg.aggs[0].type, REC_INT); /* sum of int is int */
	cr_assert_str_eq(cfg.aggs[1].name, "count_ok");
	cr_assert_eq(cfg.aggs[1].type, REC_INT);
	cr_assert_str_eq(cfg.aggs[2].name, "min_region");
	cr_assert_eq(cfg.aggs[2].type, REC_TEXT);
	cr_assert_str_eq(cfg.aggs[3].name, "max_ok");
	cr_assert_eq(cfg.aggs[3].type, REC_BOOL);
	cr_assert_str_eq(cfg.aggs[4].name, "sum_amount");
	cr_assert_eq(cfg.aggs[4].type, REC_FLOAT);
	cr_assert_str_eq(cfg.aggs[5].name, "days");
	cr_assert_eq(cfg.aggs[5].kind, CFG_AGG_COUNT_DISTINCT);
	cr_assert_eq(cfg.aggs[5].type, REC_INT);
	cr_assert_str_eq(cfg.aggs[6].name, "avg_n");
	cr_assert_eq(cfg.aggs[6].type, REC_FLOAT); /* avg is a float */
	cfg_free(&cfg);
}

Test(config, aggregates_errors)
{
	const char *m;

	m = load_bad(AGG_FIELDS("aggregates = sum(region)\n"));
	cr_assert_str_eq(m, NAME ":4: invalid value 'sum(region)' for key "
			 "'aggregates' in [aggregate]: sum needs an int, float or decimal "
			 "field; 'region' is text");
	m = load_bad(AGG_FIELDS("aggregates = count(*), avg(ok)\n"));
	assert_prefix(m, NAME ":4: invalid value 'avg(ok)'");
	assert_has(m, "avg needs an int, float or decimal field; 'ok' is bool");
	m = load_bad(AGG_FIELDS("aggregates = sum(day)\n"));
	assert_has(m, "'day' is timestamp");
	m = load_bad(AGG_FIELDS("aggregates = medain(n)\n"));
	assert_has(m, "unknown function 'medain' (did you mean 'median'?)");
	m = load_bad(AGG_FIELDS("aggregates = median(region)\n"));
	assert_has(m, "median needs an int, float or decimal field; 'region' is text");
	m = load_bad(AGG_FIELDS("aggregates = stddev(day)\n"));
	assert_has(m, "'day' is timestamp");
	m = load_bad(AGG_FIELDS("aggregates = percentile(n, 1.5)\n"));
	assert_has(m, "percentile's fraction must be a number from 0 to 1, not '1.5'");
	m = load_bad(AGG_FIELDS("aggregates = percentile(n)\n"));
	assert_has(m, "percentile takes a field and a fraction");
	m = load_bad(AGG_FIELDS("aggregates = arg_min(region)\n"));
	assert_has(m, "arg_min takes two fields: arg_min(value, by)");
	m = load_bad(AGG_FIELDS("aggregates = arg_max(region, nn)\n"));
	assert_has(m, "'nn' is not a field declared in fields (did you mean 'n'?)");
	m = load_bad(AGG_FIELDS("aggregates = stddev(n, 2)\n"));
	assert_has(m, "stddev takes one argument");
	m = load_bad(AGG_FIELDS("aggregates = sum(*)\n"));
	assert_has(m, "only count takes '*'");
	m = load_bad(AGG_FIELDS("aggregates = sum(price)\n"));
	assert_has(m, "'price' is not a field");
	m = load_bad(AGG_FIELDS("aggregates = sum n\n"));
	assert_has(m, "expected func(field) [as name]");
	m = load_bad(AGG_FIELDS("aggregates = sum(n) total\n"));
	assert_has(m, "expected func(field) [as name]");
	m = load_bad(AGG_FIELDS("aggregates = sum(n) as 9x\n"));
	assert_has(m, "'as' needs a column name");
	m = load_bad(AGG_FIELDS("aggregates = count(*), count(*)\n"));
	cr_assert_str_eq(m, NAME ":4: duplicate output column 'count' in "
			 "[aggregate] aggregates (rename one with 'as NAME')");
	m = load_bad(AGG_FIELDS("aggregates = sum(n) as total, max(n) as total\n"));
	assert_has(m, "duplicate output column 'total'");
	m = load_bad(AGG_FIELDS("group_by = region\naggregates = min(n) as region\n"));
	assert_prefix(m, NAME ":5: duplicate output column 'region'");
}

Test(config, map_sources)
{
	struct cfg cfg;
	const char *m;

	load_ok(AGG_FIELDS("")
		"map = region = /a~1b/0 , amount=price,n=/list/x,y ,ok=/~0t\n",
		&cfg);
	const struct cfg_provider *p = &cfg.providers[0];

	cr_assert_str_eq(p->source[0], "/a~1b/0");
	cr_assert_str_eq(p->source[1], "price");
	cr_assert_str_eq(p->source[2], "/list/x,y"); /* comma kept */
	cr_assert_str_eq(p->source[3], "/~0t");
	cr_assert_str_eq(p->source[4], "day");
	cfg_free(&cfg);

	m = load_bad(AGG_FIELDS("") "map = country=/c\n");
	cr_assert_str_eq(m, NAME ":7: invalid value 'country' for key 'map' in "
			 "[provider p]: not a field declared in [aggregate] fields");
	m = load_bad(AGG_FIELDS("") "map = n=/a, n=/b\n");
	assert_has(m, "field mapped twice");
	m = load_bad(AGG_FIELDS("") "map = n=/a~x\n");
	assert_prefix(m, NAME ":7: invalid value '/a~x' for key 'map'");
	m = load_bad(AGG_FIELDS("") "map = n=\n");
	assert_has(m, "no source given");
	m = load_bad(AGG_FIELDS("") "map = n\n");
	assert_has(m, "expected field=source");
}

/* ------------------------------------------------------------------ */
/* outputs and file formats                                             */

static void expect_output(const char *output, const char *format,
			  enum cfg_format want, const char *lock)
{
	char text[1024];
	struct cfg cfg;

	snprintf(text, sizeof text,
		 "[aggregate]\noutput = %s\n%s%s%sfields = a:int\n"
		 "[provider p]\ntype = file\npath = x.csv\n",
		 output, format ? "format = " : "", format ? format : "",
		 format ? "\n" : "");
	load_ok(text, &cfg);
	cr_assert_eq(cfg.format, want, "output %s", output);
	if (lock)
		cr_assert_str_eq(cfg.lock_file, lock);
	else
		cr_assert_null(cfg.lock_file);
	cfg_free(&cfg);
}

Test(config, output_formats)
{
	const char *m;

	expect_output("out/a.csv", NULL, CFG_FMT_CSV, NULL);
	expect_output("a.CSV", NULL, CFG_FMT_CSV, NULL);
	expect_output("a.jsonl", NULL, CFG_FMT_JSONL, NULL);
	expect_output("a.ndjson", NULL, CFG_FMT_JSONL, NULL);
	expect_output("a.db", NULL, CFG_FMT_SQLITE, NULL);
	expect_output("a.sqlite", NULL, CFG_FMT_SQLITE, NULL);
	expect_output("a.sqlite3", NULL, CFG_FMT_SQLITE, NULL);
	expect_output("a.txt", "csv", CFG_FMT_CSV, NULL);
	expect_output("-", NULL, CFG_FMT_CSV, NULL);
	expect_output("-", "jsonl", CFG_FMT_JSONL, NULL);
	expect_output("dbname=warehouse user=agg password=hunter2", "postgres",
		      CFG_FMT_POSTGRES, NULL);
	expect_output("postgresql://agg@localhost/warehouse", "postgres",
		      CFG_FMT_POSTGRES, NULL);

	m = load_bad("[aggregate]\noutput = out/a.txt\nfields = a:int\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	cr_assert_str_eq(m, NAME ":2: cannot tell the format of output "
			 "'out/a.txt' from its extension (.csv, .jsonl, .ndjson, "
			 ".db, .sqlite, .sqlite3): set format");
	m = load_bad("[aggregate]\noutput = dbname=w password=hunter2\n"
		     "fields = a:int\n[provider p]\ntype=file\npath=x.csv\n");
	assert_prefix(m, NAME ":2: output in [aggregate] looks like a PostgreSQL "
		      "connection string: add format = postgres");
	assert_lacks(m, "hunter2");
	m = load_bad("[aggregate]\noutput = -\nformat = sqlite\nfields = a:int\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	assert_prefix(m, NAME ":3: format = sqlite cannot be written to stdout");
	m = load_bad("[aggregate]\noutput = -\nformat = postgres\nfields = a:int\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	assert_prefix(m, NAME ":3: format = postgres cannot be written to stdout");
	m = load_bad("[aggregate]\noutput = host='x password=hunter2\n"
		     "format = postgres\nfields = a:int\n"
		     "[provider p]\ntype=file\npath=x.csv\n");
	assert_prefix(m, NAME ":2: invalid value for key 'output'");
	assert_lacks(m, "hunter2");
}

static enum cfg_format file_format_of(const char *path, const char *format)
{
	char text[1024];
	struct cfg cfg;
	enum cfg_format f;

	snprintf(text, sizeof text, AGG_HEAD "type = file\npath = %s\n%s%s\n",
		 path, format ? "format = " : "", format ? format : "");
	load_ok(text, &cfg);
	f = file_conf(&cfg.providers[0])->file_format;
	cfg_free(&cfg);
	return f;
}

Test(config, file_formats)
{
	cr_assert_eq(file_format_of("a.csv", NULL), CFG_FMT_CSV);
	cr_assert_eq(file_format_of("dir.d/a.CSV.gz", NULL), CFG_FMT_CSV);
	cr_assert_eq(file_format_of("a.jsonl", NULL), CFG_FMT_JSONL);
	cr_assert_eq(file_format_of("a.ndjson.gz", NULL), CFG_FMT_JSONL);
	cr_assert_eq(file_format_of("in/*.jsonl", NULL), CFG_FMT_JSONL);
	cr_assert_eq(file_format_of("in/*", NULL), CFG_FMT_AUTO);
	cr_assert_eq(file_format_of("in/part-??", NULL), CFG_FMT_AUTO);
	cr_assert_eq(file_format_of("in/*.gz", NULL), CFG_FMT_AUTO);
	cr_assert_eq(file_format_of("a.txt", "csv"), CFG_FMT_CSV);
	cr_assert_eq(file_format_of("a.csv", "jsonl"), CFG_FMT_JSONL);
	cr_assert_eq(file_format_of("a.log", "ndjson"), CFG_FMT_JSONL);

	const char *m = load_bad(AGG_HEAD "type = file\npath = in/*.txt.gz\n");

	assert_prefix(m, NAME ":6: cannot tell the format of path 'in/*.txt.gz'");
}

Test(config, delimiter_and_quote_spellings)
{
	struct cfg cfg;

	load_ok(MINIMAL "delimiter = tab\nquote = '\n"
		"[provider q]\ntype = file\npath = y.csv\ndelimiter = \\t\n"
		"[provider r]\ntype = file\npath = y.csv\ndelimiter =|\n"
		"[provider s]\ntype = file\npath = y.csv\ndelimiter = semicolon\n",
		&cfg);
	cr_assert_eq(file_conf(&cfg.providers[0])->delimiter, '\t');
	cr_assert_eq(file_conf(&cfg.providers[0])->quote, '\'');
	cr_assert_eq(file_conf(&cfg.providers[1])->delimiter, '\t');
	cr_assert_eq(file_conf(&cfg.providers[2])->delimiter, '|');
	cr_assert_eq(file_conf(&cfg.providers[3])->delimiter, ';');
	cfg_free(&cfg);

	/* each key's error speaks of that key */
	const char *m = load_bad(MINIMAL "quote = ab\n");

	cr_assert_str_eq(m, NAME ":7: invalid value 'ab' for key 'quote' in "
			 "[provider p]: expected one ASCII character for the "
			 "quote, such as \" or '");
	m = load_bad(MINIMAL "delimiter = ab\n");
	cr_assert_str_eq(m, NAME ":7: invalid value 'ab' for key 'delimiter' in "
			 "[provider p]: expected one ASCII character, tab or "
			 "semicolon");
}

Test(config, keys_that_do_not_apply)
{
	struct cfg cfg;
	const char *m;

	m = load_bad("[aggregate]\noutput = o.csv\nfields = a:int\n"
		     "table = t\n[provider p]\ntype = file\npath = in.csv\n");
	cr_assert_str_eq(m, NAME ":4: key 'table' does not apply to a CSV "
			 "output: it names the table of a sqlite or postgres "
			 "output");
	m = load_bad("[aggregate]\noutput = o.jsonl\nfields = a:int\n"
		     "table = t\n[provider p]\ntype = file\npath = in.csv\n");
	assert_prefix(m, NAME ":4: key 'table' does not apply to a JSON Lines output");
	m = load_bad("[aggregate]\noutput = -\nfields = a:int\n"
		     "table = t\n[provider p]\ntype = file\npath = in.csv\n");
	assert_prefix(m, NAME ":4: key 'table' does not apply to a CSV output");
	load_ok("[aggregate]\noutput = o.db\nfields = a:int\ntable = t\n"
		"[provider p]\ntype = file\npath = in.csv\n", &cfg);
	cr_assert_str_eq(cfg.table, "t");
	cfg_free(&cfg);

	/* write = append applies to every output */
	static const char *const outs[] = { "o.csv", "o.jsonl", "o.db" };

	for (size_t i = 0; i < 3; i++) {
		char text[256];

		snprintf(text, sizeof text, "[aggregate]\noutput = %s\n"
			 "fields = a:int\nwrite = append\n[provider p]\n"
			 "type = file\npath = in.csv\n", outs[i]);
		load_ok(text, &cfg);
		cr_assert_eq(cfg.write, CFG_WRITE_APPEND);
		cfg_free(&cfg);
	}

	/* CSV settings on a JSON Lines file */
	static const char *const csv_keys[] = { "header = false", "null = NA",
		"delimiter = |", "quote = '" };

	for (size_t i = 0; i < 4; i++) {
		char text[256], want[256];

		snprintf(text, sizeof text, AGG_HEAD "type = file\n"
			 "path = in.jsonl\n%s\n", csv_keys[i]);
		snprintf(want, sizeof want, NAME ":7: key '%.*s' does not apply "
			 "to JSON Lines files in [provider p]: it is a CSV "
			 "setting", (int)strcspn(csv_keys[i], " "), csv_keys[i]);
		m = load_bad(text);
		cr_assert_str_eq(m, want);
		snprintf(text, sizeof text, AGG_HEAD "type = file\n"
			 "path = in.txt\nformat = ndjson\n%s\n", csv_keys[i]);
		load_bad(text);
		/* a glob open to either format may need them */
		snprintf(text, sizeof text, AGG_HEAD "type = file\n"
			 "path = in/*\n%s\n", csv_keys[i]);
		load_ok(text, &cfg);
		cfg_free(&cfg);
	}
}

Test(config, null_takes_a_list_of_markers)
{
	struct cfg cfg;
	const struct cfg_provider *p;
	const char *m;

	load_ok(MINIMAL "null = NA, N/A ,-,, \\N\n"
		"[provider q]\ntype = file\npath = q.csv\nnull = \"\"\n"
		"[provider r]\ntype = file\npath = r.csv\nnull = \" \"\n",
		&cfg);
	p = find_prov(&cfg, "p");
	cr_assert_eq(file_conf(p)->nnulls, 4, "empty items add nothing: \"\" is NULL anyway");
	cr_assert_str_eq(file_conf(p)->nulls[0], "NA");
	cr_assert_str_eq(file_conf(p)->nulls[1], "N/A");
	cr_assert_str_eq(file_conf(p)->nulls[2], "-");
	cr_assert_str_eq(file_conf(p)->nulls[3], "\\N");
	cr_assert_eq(file_conf(find_prov(&cfg, "q"))->nnulls, 0);
	/* a list item is trimmed: a blank marker is no marker */
	cr_assert_eq(file_conf(find_prov(&cfg, "r"))->nnulls, 0);
	cfg_free(&cfg);

	m = load_bad(MINIMAL "null = a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\n");
	assert_has(m, "more than 16 markers");
}

Test(config, did_you_mean_for_fields_and_functions)
{
	const char *m;

	m = load_bad("[aggregate]\noutput = o.csv\nfields = r:text, amount:int\n"
		     "aggregates = sum(amout)\n"
		     "[provider p]\ntype = file\npath = in.csv\n");
	cr_assert_str_eq(m, NAME ":4: invalid value 'sum(amout)' for key "
			 "'aggregates' in [aggregate]: 'amout' is not a field "
			 "declared in fields (did you mean 'amount'?)");
	m = load_bad("[aggregate]\noutput = o.csv\nfields = r:text, amount:int\n"
		     "aggregates = summ(amount)\n"
		     "[provider p]\ntype = file\npath = in.csv\n");
	assert_has(m, "unknown function 'summ' (did you mean 'sum'?)");
	m = load_bad("[aggregate]\noutput = o.csv\nfields = region:text\n"
		     "group_by = regoin\n"
		     "[provider p]\ntype = file\npath = in.csv\n");
	assert_has(m, "not a field declared in fields (did you mean 'region'?)");
	m = load_bad("[aggregate]\noutput = o.csv\nfields = region:text\n"
		     "[provider p]\ntype = file\npath = in.csv\n"
		     "map = regio=x\n");
	assert_has(m, "not a field declared in [aggregate] fields (did you "
		   "mean 'region'?)");
	/* nothing near: no guess */
	m = load_bad("[aggregate]\noutput = o.csv\nfields = region:text\n"
		     "group_by = zzz\n"
		     "[provider p]\ntype = file\npath = in.csv\n");
	assert_lacks(m, "did you mean");
}

/* ------------------------------------------------------------------ */
/* ${VAR}                                                               */

Test(config, env_expansion)
{
	struct cfg cfg;

	cr_assert_eq(setenv("AGG_T_DIR", "/data/x", 1), 0);
	cr_assert_eq(setenv("AGG_T_EMPTY", "", 1), 0);
	cr_assert_eq(unsetenv("AGG_T_UNSET"), 0);
	load_ok("[aggregate]\noutput = ${AGG_T_DIR}/out.csv\nfields = a:int\n"
		"restart = ${AGG_T_UNSET:-4}\n"
		"reject_file = ${AGG_T_EMPTY:-rej.jsonl}\n"
		"metrics_file = m${AGG_T_EMPTY}.prom\n"
		"[provider p]\ntype = file\n"
		"path = ${AGG_T_DIR}/${AGG_T_UNSET:-}in-$HOME-$.csv\n",
		&cfg);
	cr_assert_str_eq(cfg.output, "/data/x/out.csv");
	cr_assert_null(cfg.lock_file);
	cr_assert_eq(cfg.restart, 4);
	cr_assert_str_eq(cfg.reject_file, "rej.jsonl");
	cr_assert_str_eq(cfg.metrics_file, "m.prom");
	cr_assert_str_eq(file_conf(&cfg.providers[0])->path, "/data/x/in-$HOME-$.csv");
	cfg_free(&cfg);
}

Test(config, env_nested_defaults)
{
	struct cfg cfg;
	const char *m;

	cr_assert_eq(unsetenv("AGG_T_X"), 0);
	cr_assert_eq(unsetenv("AGG_T_Y"), 0);
	cr_assert_eq(setenv("AGG_T_Z", "zed", 1), 0);
	load_ok("[aggregate]\noutput = ${AGG_T_X:-${AGG_T_Y:-d}}.csv\n"
		"fields = a:int\n"
		"reject_file = ${AGG_T_X:-${AGG_T_Z:-no}}/r-${AGG_T_Y:-}.jsonl\n"
		"metrics_file = ${AGG_T_X:-a${AGG_T_Y:-${AGG_T_X:-b}}c}.prom\n"
		"[provider p]\ntype = file\npath = in.csv\n", &cfg);
	cr_assert_str_eq(cfg.output, "d.csv");
	cr_assert_str_eq(cfg.reject_file, "zed/r-.jsonl");
	cr_assert_str_eq(cfg.metrics_file, "abc.prom");
	cfg_free(&cfg);

	/* a default that is not used is not expanded: its unset is fine */
	load_ok("[aggregate]\noutput = ${AGG_T_Z:-${AGG_T_X}}.csv\n"
		"fields = a:int\n[provider p]\ntype = file\npath = i.csv\n",
		&cfg);
	cr_assert_str_eq(cfg.output, "zed.csv");
	cfg_free(&cfg);

	/* an unset variable inside a default used is an error naming it */
	m = load_bad("[aggregate]\noutput = o.csv\nfields = a:int\n"
		     "reject_file = ${AGG_T_X:-${AGG_T_Y}}\n"
		     "[provider p]\ntype = file\npath = in.csv\n");
	cr_assert_str_eq(m, NAME ":4: environment variable 'AGG_T_Y' is not "
			 "set (key 'reject_file' in [aggregate])");
	m = load_bad(MINIMAL "restart = ${AGG_T_X:-${AGG_T_Y:-1}\n");
	assert_prefix(m, NAME ":7: unterminated '${' in key 'restart'");
}

Test(config, env_unset_is_an_error)
{
	const char *m;

	cr_assert_eq(unsetenv("AGG_T_TOKEN"), 0);
	m = load_bad(AGG_HEAD "type = http\nurl = http://x/\n"
		     "header = Authorization: Bearer ${AGG_T_TOKEN}\n");
	cr_assert_str_eq(m, NAME ":7: environment variable 'AGG_T_TOKEN' is not "
			 "set (key 'header' in [provider p])");
	m = load_bad(MINIMAL "restart = ${AGG_T_TOKEN\n");
	assert_prefix(m, NAME ":7: unterminated '${' in key 'restart'");
	m = load_bad(MINIMAL "restart = ${}\n");
	assert_prefix(m, NAME ":7: bad variable name");
	m = load_bad(MINIMAL "restart = ${A-B}\n");
	assert_prefix(m, NAME ":7: bad variable name in '${...}' in key 'restart'");
	/* the expanded value is what is quoted back */
	cr_assert_eq(setenv("AGG_T_R", "lots", 1), 0);
	m = load_bad(MINIMAL "restart = ${AGG_T_R}\n");
	assert_prefix(m, NAME ":7: invalid value 'lots' for key 'restart'");
}

/* ------------------------------------------------------------------ */
/* durations, sizes, bools                                              */

Test(config, durations)
{
	uint64_t ms = 12345;

	cr_assert_eq(cfg_parse_duration("0", &ms), 0);
	cr_assert_eq(ms, 0);
	cr_assert_eq(cfg_parse_duration("250ms", &ms), 0);
	cr_assert_eq(ms, 250);
	cr_assert_eq(cfg_parse_duration("10s", &ms), 0);
	cr_assert_eq(ms, 10000);
	cr_assert_eq(cfg_parse_duration("5m", &ms), 0);
	cr_assert_eq(ms, 300000);
	cr_assert_eq(cfg_parse_duration("1h", &ms), 0);
	cr_assert_eq(ms, 3600000);
	cr_assert_eq(cfg_parse_duration("1h30m", &ms), 0);
	cr_assert_eq(ms, 5400000);
	cr_assert_eq(cfg_parse_duration("1.5s", &ms), 0);
	cr_assert_eq(ms, 1500);
	cr_assert_eq(cfg_parse_duration("0s", &ms), 0);
	cr_assert_eq(ms, 0);
	cr_assert_eq(cfg_parse_duration("10S", &ms), 0);
	cr_assert_eq(ms, 10000);

	ms = 777;
	cr_assert_eq(cfg_parse_duration("", &ms), -1);
	cr_assert_eq(cfg_parse_duration("10", &ms), -1);
	cr_assert_eq(cfg_parse_duration("s", &ms), -1);
	cr_assert_eq(cfg_parse_duration("-1s", &ms), -1);
	cr_assert_eq(cfg_parse_duration("10 s", &ms), -1);
	cr_assert_eq(cfg_parse_duration("10x", &ms), -1);
	cr_assert_eq(cfg_parse_duration("1.2.3s", &ms), -1);
	cr_assert_eq(cfg_parse_duration("1d", &ms), -1);
	cr_assert_eq(cfg_parse_duration("99999999999999999999h", &ms), -1);
	cr_assert_eq(cfg_parse_duration("5124095576030432h", &ms), -1);
	cr_assert_eq(ms, 777, "failure must leave the output alone");
}

Test(config, sizes)
{
	uint64_t b = 1;

	cr_assert_eq(cfg_parse_size("0", &b), 0);
	cr_assert_eq(b, 0);
	cr_assert_eq(cfg_parse_size("65536", &b), 0);
	cr_assert_eq(b, 65536);
	cr_assert_eq(cfg_parse_size("64K", &b), 0);
	cr_assert_eq(b, 65536);
	cr_assert_eq(cfg_parse_size("64k", &b), 0);
	cr_assert_eq(b, 65536);
	cr_assert_eq(cfg_parse_size("8M", &b), 0);
	cr_assert_eq(b, 8ull << 20);
	cr_assert_eq(cfg_parse_size("1G", &b), 0);
	cr_assert_eq(b, 1ull << 30);
	cr_assert_eq(cfg_parse_size("2T", &b), 0);
	cr_assert_eq(b, 2ull << 40);
	cr_assert_eq(cfg_parse_size("64KB", &b), 0);
	cr_assert_eq(b, 65536);
	cr_assert_eq(cfg_parse_size("64KiB", &b), 0);
	cr_assert_eq(b, 65536);
	cr_assert_eq(cfg_parse_size("512B", &b), 0);
	cr_assert_eq(b, 512);
	cr_assert_eq(cfg_parse_size("1.5G", &b), 0);
	cr_assert_eq(b, 3ull << 29);
	cr_assert_eq(cfg_parse_size("0.5K", &b), 0);
	cr_assert_eq(b, 512);

	b = 99;
	cr_assert_eq(cfg_parse_size("", &b), -1);
	cr_assert_eq(cfg_parse_size("K", &b), -1);
	cr_assert_eq(cfg_parse_size("-1", &b), -1);
	cr_assert_eq(cfg_parse_size("1.5", &b), -1);
	cr_assert_eq(cfg_parse_size("12X", &b), -1);
	cr_assert_eq(cfg_parse_size("1 M", &b), -1);
	cr_assert_eq(cfg_parse_size("1MM", &b), -1);
	cr_assert_eq(cfg_parse_size("18446744073709551616", &b), -1);
	cr_assert_eq(cfg_parse_size("16777216T", &b), -1);
	cr_assert_eq(b, 99, "failure must leave the output alone");
	cr_assert_eq(cfg_parse_size("18446744073709551615", &b), 0);
	cr_assert_eq(b, UINT64_MAX);
}

Test(config, bools)
{
	static const char *const yes[] = { "true", "yes", "on", "1", "TRUE",
					   "Yes", "ON" };
	static const char *const no[] = { "false", "no", "off", "0", "False",
					  "NO", "Off" };
	static const char *const bad[] = { "", "2", "y", "n", "truthy",
					   "enable", " true" };
	bool b;

	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
		b = false;
		cr_assert_eq(cfg_parse_bool(yes[i], &b), 0, "%s", yes[i]);
		cr_assert(b, "%s", yes[i]);
	}
	for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
		b = true;
		cr_assert_eq(cfg_parse_bool(no[i], &b), 0, "%s", no[i]);
		cr_assert_not(b, "%s", no[i]);
	}
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		cr_assert_eq(cfg_parse_bool(bad[i], &b), -1, "'%s'", bad[i]);
}

/* ------------------------------------------------------------------ */
/* lines: comments, continuations, lines longer than inih's 200 bytes   */

/* n bytes of SQL-ish text, with runs of spaces, ending in non-space. */
static char *long_text(size_t n, const char *prefix, unsigned seed)
{
	static const char *const words[] = { "SELECT", "a", "bb", "ccc,",
		"  ", "x=y", "'semi;colon'", "(1,2)", "\t", "a#hash", "=:" };
	char *s = malloc(n + 1);
	size_t len = strlen(prefix);

	cr_assert_not_null(s);
	memcpy(s, prefix, len);
	while (len < n) {
		const char *w;
		size_t wl;

		seed = seed * 1103515245u + 12345u;
		w = words[(seed >> 16) % (sizeof words / sizeof *words)];
		wl = strlen(w);
		if (len + wl + 1 > n)
			wl = n - len - 1;
		memcpy(s + len, w, wl);
		len += wl;
		s[len++] = (seed >> 8) & 1 ? ' ' : 'q';
	}
	s[n - 1] = 'z';
	s[n] = '\0';
	return s;
}

Test(config, long_query_and_url_round_trip)
{
	size_t n = 5000;
	char *query = long_text(n, "SELECT ", 1);
	char *url = long_text(n, "http://127.0.0.1:8080/", 2);
	char *text;
	struct cfg cfg;

	/* a URL has no whitespace */
	for (char *c = url; *c; c++)
		if (*c == ' ' || *c == '\t')
			*c = '_';
	cr_assert_eq(strlen(query), n);
	text = malloc(6 * n + 1024);
	cr_assert_not_null(text);
	sprintf(text, AGG_HEAD "type = sqlite\npath = a.db\n"
		"query = %s   ; a comment: %s\n"        /* 7 */
		"key = id\n"                            /* 8 */
		"[provider h]\ntype = http\n"
		"url = %s\n"                            /* 11 */
		"url = http://b/%s\n"                   /* 12 */
		"header = X-Long: %s\n",                /* 13 */
		query, url, url, url, url);
	load_ok(text, &cfg);
	cr_assert_str_eq(sql_conf(&cfg.providers[0])->query, query);
	cr_assert_str_eq(sql_conf(&cfg.providers[0])->key, "id");
	cr_assert_eq(http_conf(&cfg.providers[1])->nurls, 2);
	cr_assert_str_eq(http_conf(&cfg.providers[1])->urls[0], url);
	cr_assert_eq(strncmp(http_conf(&cfg.providers[1])->urls[1], "http://b/", 9), 0);
	cr_assert_str_eq(http_conf(&cfg.providers[1])->urls[1] + 9, url);
	cr_assert_eq(http_conf(&cfg.providers[1])->nheaders, 1);
	cr_assert_str_eq(http_conf(&cfg.providers[1])->headers[0] + 8, url);
	cfg_free(&cfg);

	/* errors after long lines still name the physical line */
	sprintf(text, AGG_HEAD "type = sqlite\npath = a.db\nquery = %s\n"
		"bogus = 1\n", query);
	cr_assert_str_eq(load_bad(text), NAME ":8: unknown key 'bogus' in "
			 "[provider p]");
	free(text);
	free(url);
	free(query);
}

Test(config, long_lines_every_length)
{
	/* Every length around the cut points, spaces next to each of them. */
	size_t scale = getenv("AGG_TEST_SCALE") ? 3 : 1;

	for (size_t n = 150; n < 700; n += scale) {
		char *q = long_text(n, "S ", (unsigned)n);
		char *text = malloc(n + 512);
		struct cfg cfg;

		cr_assert_not_null(text);
		sprintf(text, AGG_HEAD "type = postgres\nquery = %s\n"
			"key = k\n", q);
		load_ok(text, &cfg);
		cr_assert_str_eq(sql_conf(&cfg.providers[0])->query, q, "length %zu", n);
		cr_assert_str_eq(sql_conf(&cfg.providers[0])->key, "k");
		cfg_free(&cfg);
		free(text);
		free(q);
	}
}

Test(config, variable_across_a_cut)
{
	/* The chunks are joined before ${VAR} is expanded. */
	cr_assert_eq(setenv("AGG_T_V", "<value>", 1), 0);
	for (int k = 170; k < 230; k++) {
		char text[1024], want[512];
		struct cfg cfg;

		snprintf(text, sizeof text, AGG_HEAD "type = postgres\n"
			 "query = %0*d${AGG_T_V}%050d\n", k, 1, 2);
		snprintf(want, sizeof want, "%0*d<value>%050d", k, 1, 2);
		load_ok(text, &cfg);
		cr_assert_str_eq(sql_conf(&cfg.providers[0])->query, want, "k = %d", k);
		cfg_free(&cfg);
	}
}

Test(config, continuation_lines)
{
	struct cfg cfg;
	const char *m;
	char *longcont = long_text(900, "AND ", 7);
	char *text = malloc(2048);

	cr_assert_not_null(text);
	sprintf(text, AGG_HEAD "type = postgres\n"
		"query =\n"                  /* empty first line */
		"    SELECT a   ; comment\n"
		"\n"
		"  # a comment line, skipped\n"
		"\tFROM t\n"
		"   %s\n"
		"key = id\n"
		"[provider h]\ntype = http\n"
		"url = http://x/\n"
		"header = A: 1\n"
		"header = B: 2\n"
		"body = {\n"
		"   \"a\": 1\n"
		"  }\n", longcont);
	load_ok(text, &cfg);
	char want[2048];

	snprintf(want, sizeof want, "SELECT a\nFROM t\n%s", longcont);
	cr_assert_str_eq(sql_conf(&cfg.providers[0])->query, want);
	cr_assert_str_eq(sql_conf(&cfg.providers[0])->key, "id");
	cr_assert_eq(http_conf(&cfg.providers[1])->nheaders, 2);
	cr_assert_str_eq(http_conf(&cfg.providers[1])->headers[1], "B: 2");
	cr_assert_str_eq(http_conf(&cfg.providers[1])->body, "{\n\"a\": 1\n}");
	cfg_free(&cfg);

	/* an indented line right after a section header is a key */
	load_ok("[aggregate]\n  output = o.csv\nfields = a:int\n"
		"[provider p]\n\ttype = file\npath = x.csv\n", &cfg);
	cr_assert_str_eq(cfg.output, "o.csv");
	cr_assert_eq(cfg.providers[0].type, CFG_PROV_FILE);
	cfg_free(&cfg);
	/* ... but after a key, as in python's ConfigParser, it continues it */
	m = load_bad("[aggregate]\noutput = o.csv\nfields = a:int\n"
		     "[provider p]\n\ttype = file\n\tpath = x.csv\n");
	assert_prefix(m, NAME ":5: invalid value 'file?path = x.csv' for key 'type'");

	/* a continued url or header holds a newline: invalid, not echoed */
	m = load_bad(AGG_HEAD "type = http\nurl = http://x/\n"
				 "  more\n");
	cr_assert_str_eq(m, NAME ":6: invalid value for key 'url' in [provider p]: "
			 "expected an http:// or https:// URL on one line, "
			 "without spaces");
	free(text);
	free(longcont);
}

Test(config, comments_crlf_bom)
{
	struct cfg cfg;

	load_ok("\xEF\xBB\xBF# leading comment\r\n"
		"; another\r\n"
		"[aggregate] ; trailing comment\r\n"
		"output = o.csv ;comment\r\n"
		"fields = a:int\r\n"
		"reject_file = t;not_a_comment\r\n"
		"[provider p]\r\n"
		"type = file\r\n"
		"path = x#1.csv\r\n"
		"null =;\r\n", &cfg);
	cr_assert_str_eq(cfg.output, "o.csv");
	cr_assert_str_eq(cfg.reject_file, "t;not_a_comment");
	cr_assert_str_eq(file_conf(&cfg.providers[0])->path, "x#1.csv");
	cr_assert_eq(file_conf(&cfg.providers[0])->nnulls, 1);
	cr_assert_str_eq(file_conf(&cfg.providers[0])->nulls[0], ";");
	cfg_free(&cfg);

	/* a long comment line is skipped whole, not continued */
	char *c = long_text(1000, "; ", 3);
	char *text = malloc(1200);

	cr_assert_not_null(text);
	sprintf(text, MINIMAL "%s\n", c);
	load_ok(text, &cfg);
	cr_assert_str_eq(file_conf(&cfg.providers[0])->path, "in.csv");
	cfg_free(&cfg);
	sprintf(text, AGG_HEAD "type = file\n%s\npath = x.csv\n", c);
	load_ok(text, &cfg);
	cr_assert_str_eq(file_conf(&cfg.providers[0])->path, "x.csv");
	cfg_free(&cfg);
	free(text);
	free(c);
}

Test(config, inline_comments_and_quoted_values)
{
	struct cfg cfg;
	const struct cfg_provider *p;

	load_ok("[aggregate]   # section comment\n"
		"output = x.csv   # report\n"
		"fields = a:int\t# tab then comment\n"
		"reject_file = \"r # not a comment ; nor this.jsonl\"  # but this\n"
		"metrics_file = \"  m.prom \" ; quoted blanks kept\n"
		"lock_file = \"l\"\"x\"\n"
		"[provider p]\n"
		"type = file   # a file\n"
		"path = in#1.csv\n"
		"delimiter = \";\"\n"
		"quote = \"\n"
		"null = \"\"\n"
		"[provider q]\n"
		"type = postgres\n"
		"query =\n"
		"    SELECT a   # first\n"
		"    FROM t     ; second\n", &cfg);
	cr_assert_str_eq(cfg.output, "x.csv");
	cr_assert_str_eq(cfg.lock_file, "\"l\"\"x\"",
			 "not one quoted value: read as it stands");
	cr_assert_eq(cfg.schema.nfields, 1);
	cr_assert_str_eq(cfg.reject_file, "r # not a comment ; nor this.jsonl");
	cr_assert_str_eq(cfg.metrics_file, "  m.prom ");
	p = find_prov(&cfg, "p");
	cr_assert_eq(p->type, CFG_PROV_FILE);
	cr_assert_str_eq(file_conf(p)->path, "in#1.csv");
	cr_assert_eq(file_conf(p)->delimiter, ';');
	cr_assert_eq(file_conf(p)->quote, '"', "a lone quote is the character itself");
	p = find_prov(&cfg, "q");
	cr_assert_str_eq(sql_conf(p)->query, "SELECT a\nFROM t");
	cfg_free(&cfg);

	/* a quoted value longer than inih's line, with markers inside */
	char *longq = long_text(600, "a ; b # c ", 10);
	char *text = malloc(1024);

	cr_assert_not_null(text);
	snprintf(text, 1024, "[aggregate]\noutput = o.csv\nfields = a:int\n"
		 "reject_file = \"%s\" ; comment\n"
		 "[provider p]\ntype = file\npath = in.csv\n", longq);
	load_ok(text, &cfg);
	cr_assert_str_eq(cfg.reject_file, longq);
	cfg_free(&cfg);
	free(text);
	free(longq);

	/* a quoted value still expands ${VAR} */
	cr_assert_eq(setenv("AGG_T_Q", "v", 1), 0);
	load_ok("[aggregate]\noutput = \"${AGG_T_Q} #.csv\"\nfields = a:int\n"
		"[provider p]\ntype = file\npath = in.csv\n", &cfg);
	cr_assert_str_eq(cfg.output, "v #.csv");
	cfg_free(&cfg);
}

Test(config, colon_separator_and_long_whitespace)
{
	struct cfg cfg;
	char text[4096];
	char spaces[400];

	memset(spaces, ' ', sizeof spaces - 1);
	spaces[sizeof spaces - 1] = '\0';
	/* a run of whitespace longer than an inih line */
	snprintf(text, sizeof text, AGG_HEAD "type: postgres\nquery = a%sb\n",
		 spaces);
	const char *m = load_bad(text);

	assert_prefix(m, NAME ":6: line too long to read");

	/* shorter: cut right after the 'a', the mark keeps the spaces */
	snprintf(text, sizeof text, AGG_HEAD "type: postgres\nquery = a%.190sb\n",
		 spaces);
	load_ok(text, &cfg);
	cr_assert_eq(cfg.providers[0].type, CFG_PROV_POSTGRES);
	cr_assert_eq(strlen(sql_conf(&cfg.providers[0])->query), 192);
	cr_assert_eq(sql_conf(&cfg.providers[0])->query[191], 'b');
	cfg_free(&cfg);
}

/* ------------------------------------------------------------------ */
/* secrets                                                              */

Test(config, secrets_never_echoed)
{
	const char *m;

	m = load_bad(AGG_HEAD "type = http\nurl = http://x/\n"
		     "header = Authorization Bearer hunter2\n");
	cr_assert_str_eq(m, NAME ":7: invalid value for key 'header' in "
			 "[provider p]: expected 'Name: value' on one line");
	m = load_bad(AGG_HEAD "type = http\nurl = http://x/\n"
		     "header = X-Token: hunter2\n"
		     "   and more\n");
	assert_prefix(m, NAME ":7: invalid value for key 'header'");
	assert_lacks(m, "hunter2");
	m = load_bad(AGG_HEAD "type = postgres\nquery = x\n"
		     "conninfo = host=h password='hunter2\n");
	cr_assert_str_eq(m, NAME ":7: invalid value for key 'conninfo' in "
			 "[provider p]: not a libpq connection string "
			 "(key=value ... or postgresql://...)");
	m = load_bad(AGG_HEAD "type = postgres\nquery = x\n"
		     "conninfo = host=h passwrd=hunter2\n");
	assert_prefix(m, NAME ":7: invalid value for key 'conninfo'");
	assert_lacks(m, "hunter2");
	m = load_bad(AGG_HEAD "type = http\nurl = ftp://u:hunter2@x/\n");
	assert_prefix(m, NAME ":6: invalid value for key 'url'");
	assert_lacks(m, "hunter2");

	/* an unset variable in a secret names the variable, not the value */
	cr_assert_eq(unsetenv("AGG_T_PW"), 0);
	m = load_bad(AGG_HEAD "type = http\nurl = http://x/\n"
		     "body = {\"password\": \"hunter2\", \"x\": \"${AGG_T_PW}\"}\n");
	assert_prefix(m, NAME ":7: environment variable 'AGG_T_PW' is not set "
		      "(key 'body' in [provider p])");
	assert_lacks(m, "hunter2");
	/* a secret from the environment stays out too */
	cr_assert_eq(setenv("AGG_T_PW", "hunter2 bad", 1), 0);
	m = load_bad(AGG_HEAD "type = http\nurl = http://x/\n"
		     "header = Bad Name: ${AGG_T_PW}\n");
	assert_lacks(m, "hunter2");
	/* body takes anything: it is the request body */
	struct cfg cfg;

	load_ok(AGG_HEAD "type = http\nurl = http://x/\nmethod = POST\n"
		"body = ${AGG_T_PW}\n", &cfg);
	cr_assert_str_eq(http_conf(&cfg.providers[0])->body, "hunter2 bad");
	cfg_free(&cfg);
}

/* ------------------------------------------------------------------ */
/* cfg_load                                                             */

Test(config, load_exit_codes)
{
	char dir[] = "/tmp/agg-test-config-XXXXXX";
	char path[512];
	struct cfg cfg;
	int ec = -1;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/missing.conf", dir);
	cr_assert_eq(cfg_load(path, &cfg, err, sizeof err, &ec), -1);
	cr_assert_eq(ec, 66);
	cr_assert(strstr(err, "cannot read ") == err, "%s", err);
	assert_has(err, path);
	assert_has(err, strerror(ENOENT));

	ec = -1;
	cr_assert_eq(cfg_load(dir, &cfg, err, sizeof err, &ec), -1);
	cr_assert_eq(ec, 66, "a directory: %s", err);
	assert_has(err, strerror(EISDIR));

	snprintf(path, sizeof path, "%s/bad.conf", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("[aggregate]\noutput = o.csv\nfields = a:int\ngrup_by = a\n", f);
	fclose(f);
	ec = -1;
	cr_assert_eq(cfg_load(path, &cfg, err, sizeof err, &ec), -1);
	cr_assert_eq(ec, 78);
	char want[600];

	snprintf(want, sizeof want, "%s:4: unknown key 'grup_by' in [aggregate] "
		 "(did you mean 'group_by'?)", path);
	cr_assert_str_eq(err, want);

	/* a NUL byte in the file */
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fwrite(MINIMAL "x\0y = 1\n", 1, sizeof(MINIMAL "x\0y = 1\n") - 1, f);
	fclose(f);
	ec = -1;
	cr_assert_eq(cfg_load(path, &cfg, err, sizeof err, &ec), -1);
	cr_assert_eq(ec, 78);
	assert_has(err, ":7: NUL byte");

	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(MINIMAL, f);
	fclose(f);
	ec = -1;
	cr_assert_eq(cfg_load(path, &cfg, err, sizeof err, &ec), 0, "%s", err);
	cr_assert_eq(cfg.nproviders, 1);
	cfg_free(&cfg);

	/* Root reads anything: the rest as a user the mode applies to. */
	cr_assert_eq(chmod(path, 0), 0);
	cr_assert_eq(tu_drop_root(dir), 0, "%s", strerror(errno));
	ec = -1;
	cr_assert_eq(cfg_load(path, &cfg, err, sizeof err, &ec), -1);
	cr_assert_eq(ec, 66);
	assert_has(err, strerror(EACCES));
	unlink(path);
	rmdir(dir);
}

/* ------------------------------------------------------------------ */
/* cfg_set_output, cfg_select                                           */

Test(config, set_output)
{
	struct cfg cfg;

	load_ok(MINIMAL, &cfg);
	cr_assert_eq(cfg_set_output(&cfg, "x/y.jsonl", err, sizeof err), 0, "%s", err);
	cr_assert_str_eq(cfg.output, "x/y.jsonl");
	cr_assert_eq(cfg.format, CFG_FMT_JSONL);
	cr_assert_null(cfg.lock_file);
	cr_assert_eq(cfg_set_output(&cfg, "-", err, sizeof err), 0, "%s", err);
	cr_assert_eq(cfg.format, CFG_FMT_CSV);
	cr_assert_null(cfg.lock_file);
	cr_assert_eq(cfg_set_output(&cfg, "r.sqlite", err, sizeof err), 0);
	cr_assert_eq(cfg.format, CFG_FMT_SQLITE);
	cr_assert_eq(cfg_set_output(&cfg, "r.txt", err, sizeof err), -1);
	assert_has(err, "cannot tell the format of 'r.txt'");
	cr_assert_str_eq(cfg.output, "r.sqlite", "failure changes nothing");
	cr_assert_eq(cfg.format, CFG_FMT_SQLITE);
	cr_assert_eq(cfg_set_output(&cfg, "dbname=x password=hunter2", err,
				    sizeof err), -1);
	assert_has(err, "format = postgres");
	assert_lacks(err, "hunter2");
	cfg_free(&cfg);

	/* an explicit format and lock_file stay */
	load_ok("[aggregate]\noutput = a.out\nformat = jsonl\nfields = a:int\n"
		"lock_file = /tmp/l\n[provider p]\ntype=file\npath=x.csv\n", &cfg);
	cr_assert_eq(cfg_set_output(&cfg, "b.csv", err, sizeof err), 0);
	cr_assert_eq(cfg.format, CFG_FMT_JSONL);
	cr_assert_str_eq(cfg.lock_file, "/tmp/l");
	cr_assert_eq(cfg_set_output(&cfg, "-", err, sizeof err), 0);
	cr_assert_eq(cfg.format, CFG_FMT_JSONL);
	cr_assert_str_eq(cfg.lock_file, "/tmp/l");
	cfg_free(&cfg);

	load_ok("[aggregate]\noutput = a.db\nformat = sqlite\nfields = a:int\n"
		"[provider p]\ntype=file\npath=x.csv\n", &cfg);
	cr_assert_eq(cfg_set_output(&cfg, "-", err, sizeof err), -1);
	assert_has(err, "sqlite cannot be written to stdout");
	cr_assert_eq(cfg_set_output(&cfg, "b.out", err, sizeof err), 0);
	cr_assert_eq(cfg.format, CFG_FMT_SQLITE);
	cr_assert_null(cfg.lock_file);
	cfg_free(&cfg);
}

Test(config, select_providers)
{
	struct cfg cfg;
	const char *three = MINIMAL
		"[provider q]\ntype = file\npath = q.csv\n"
		"[provider r]\ntype = file\npath = r.csv\nenabled = false\n";

	load_ok(three, &cfg);
	cr_assert_eq(cfg_select(&cfg, " r , p ", err, sizeof err), 0, "%s", err);
	cr_assert_eq(cfg.nproviders, 2);
	cr_assert_str_eq(cfg.providers[0].name, "p"); /* config order */
	cr_assert_str_eq(cfg.providers[1].name, "r");
	cr_assert_str_eq(file_conf(&cfg.providers[1])->path, "r.csv");
	cfg_free(&cfg);

	load_ok(three, &cfg);
	cr_assert_eq(cfg_select(&cfg, "p,nope", err, sizeof err), -1);
	cr_assert_str_eq(err, "--only: unknown provider 'nope'");
	cr_assert_eq(cfg_select(&cfg, "qq", err, sizeof err), -1);
	cr_assert_str_eq(err, "--only: unknown provider 'qq' (did you mean 'q'?)");
	cr_assert_eq(cfg.nproviders, 3, "failure changes nothing");
	cr_assert_eq(cfg_select(&cfg, "r", err, sizeof err), -1);
	assert_has(err, "enabled = false");
	cr_assert_eq(cfg_select(&cfg, " , ", err, sizeof err), -1);
	cr_assert_eq(cfg_select(&cfg, "q", err, sizeof err), 0);
	cr_assert_eq(cfg.nproviders, 1);
	cr_assert_str_eq(cfg.providers[0].name, "q");
	cfg_free(&cfg);
}

/* ------------------------------------------------------------------ */
/* decimal, date, timestamp formats, timezone                           */

/* [aggregate] with these fields (line 3) and one more line (4). */
#define TYPES(fields, extra)                                                  \
	"[aggregate]\noutput = o.csv\nfields = " fields "\n" extra           \
	"[provider p]\ntype = file\npath = in.csv\n"

/* The full spelling of field i's type. */
static const char *type_of_field(const struct cfg *cfg, int i)
{
	static char out[256];

	conv_type_text(&cfg->schema.fields[i], out, sizeof out);
	return out;
}

Test(config, new_types_parse)
{
	struct cfg cfg;

	load_ok(TYPES("price:decimal(10,2), qty:numeric(5), d:date, "
		      "at:timestamp('%d/%m/%Y %H:%M', epoch_ms, \"%Y, %j\"), "
		      "plain:timestamp, big:decimal( 38 , 38 )", ""), &cfg);
	cr_assert_eq(cfg.schema.nfields, 6);
	cr_assert_eq(cfg.schema.fields[0].type, REC_DECIMAL);
	cr_assert_eq(cfg.schema.fields[0].prec, 10);
	cr_assert_eq(cfg.schema.fields[0].scale, 2);
	cr_assert_str_eq(type_of_field(&cfg, 0), "decimal(10,2)");
	cr_assert_str_eq(type_of_field(&cfg, 1), "decimal(5,0)");
	cr_assert_eq(cfg.schema.fields[2].type, REC_DATE);
	cr_assert_not_null(cfg.schema.fields[3].fmt);
	cr_assert_str_eq(type_of_field(&cfg, 3),
			 "timestamp('%d/%m/%Y %H:%M', epoch_ms, '%Y, %j')");
	cr_assert_null(cfg.schema.fields[4].fmt);
	cr_assert_str_eq(type_of_field(&cfg, 4), "timestamp");
	cr_assert_str_eq(type_of_field(&cfg, 5), "decimal(38,38)");
	/* No timezone: UTC, no zone anywhere. */
	cr_assert_null(cfg.tz);
	cr_assert_null(cfg.schema.fields[3].tz);
	cr_assert_eq(cfg.providers[0].schema.nfields, 6);
	cr_assert_null(cfg.providers[0].schema.fields[3].tz);
	cr_assert_eq(cfg.providers[0].schema.fields[3].fmt,
		     cfg.schema.fields[3].fmt);
	cfg_free(&cfg);
}

Test(config, new_types_errors_at_file_line)
{
	static const struct {
		const char *fields, *shown, *why;
	} bad[] = {
		{ "a:decimal", "decimal",
		  "give a decimal's precision and scale: decimal(p,s), e.g. decimal(10,2)" },
		{ "a:numeric", "numeric",
		  "give a decimal's precision and scale: decimal(p,s), e.g. decimal(10,2)" },
		{ "a:decimal(0,0)", "decimal(0,0)",
		  "the precision of a decimal is 1 to 38" },
		{ "a:decimal(39,2)", "decimal(39,2)",
		  "the precision of a decimal is 1 to 38" },
		{ "a:decimal(10,11)", "decimal(10,11)",
		  "the scale of a decimal is 0 to its precision (10)" },
		{ "a:decimal(10,-1)", "decimal(10,-1)",
		  "the scale of a decimal is 0 to its precision (10)" },
		{ "a:decimal(x)", "decimal(x)",
		  "the precision of a decimal is 1 to 38" },
		{ "a:decimal(10,2)x", "decimal(10,2)x",
		  "expected TYPE or TYPE(...) with nothing after ')'" },
		{ "a:int(4)", "int(4)", "int takes no parameters" },
		{ "a:date('%Y')", "date('%Y')", "date takes no parameters" },
		{ "a:timestamp()", "timestamp()",
		  "timestamp() needs at least one format, e.g. timestamp('%d/%m/%Y %H:%M')" },
		{ "a:timestamp(%Y)", "timestamp(%Y)",
		  "a timestamp format is quoted ('%d/%m/%Y %H:%M') or one of epoch_s, epoch_ms, epoch_us" },
		{ "a:timestamp(epoch_ns)", "timestamp(epoch_ns)",
		  "a timestamp format is quoted ('%d/%m/%Y %H:%M') or one of epoch_s, epoch_ms, epoch_us" },
		{ "a:timestamp('%Y-%Q')", "timestamp('%Y-%Q')",
		  "unknown directive %Q in timestamp format \"%Y-%Q\"" },
		{ "a:timestmap", "timestmap",
		  "unknown type (did you mean 'timestamp'?)" },
		{ "a:decimel(10,2)", "decimel(10,2)",
		  "unknown type (did you mean 'decimal'?)" },
	};
	char text[512], want[512];

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		const char *m;

		snprintf(text, sizeof text, TYPES("%s, b:int", ""),
			 bad[i].fields);
		m = load_bad(text);
		snprintf(want, sizeof want, NAME ":3: invalid value '%s' for "
			 "key 'fields' in [aggregate]: %s", bad[i].shown,
			 bad[i].why);
		cr_assert_str_eq(m, want, "%s", bad[i].fields);
	}
	/* An unclosed parenthesis takes the rest of the list with it. */
	cr_assert_str_eq(load_bad(TYPES("b:int, a:decimal(10,2", "")),
			 NAME ":3: invalid value 'decimal(10,2' for key 'fields' "
			 "in [aggregate]: expected TYPE or TYPE(...) with "
			 "nothing after ')'");
}

Test(config, list_splits_outside_parentheses_and_quotes)
{
	struct cfg cfg;

	load_ok(TYPES("a:decimal(10, 2), t:timestamp('%d,%m,%Y', \"(%H, %M)\","
		      " epoch_s), n:int", ""), &cfg);
	cr_assert_eq(cfg.schema.nfields, 3);
	cr_assert_str_eq(type_of_field(&cfg, 0), "decimal(10,2)");
	cr_assert_str_eq(type_of_field(&cfg, 1),
			 "timestamp('%d,%m,%Y', '(%H, %M)', epoch_s)");
	cr_assert_str_eq(cfg.schema.fields[2].name, "n");
	cfg_free(&cfg);
}

Test(config, timezone_of_aggregate_and_providers)
{
	struct cfg cfg;
	const struct cfg_provider *p, *q;

	load_ok("[aggregate]\noutput = o.csv\n"
		"fields = t:timestamp, d:date, n:int\n"
		"timezone = Europe/Paris\n"
		"[provider p]\ntype = file\npath = in.csv\n"
		"[provider q]\ntype = file\npath = in.csv\n"
		"timezone = America/New_York\n", &cfg);
	cr_assert_not_null(cfg.tz);
	cr_assert_str_eq(tz_name(cfg.tz), "Europe/Paris");
	cr_assert_eq(cfg.schema.fields[0].tz, cfg.tz);
	cr_assert_eq(cfg.schema.fields[1].tz, cfg.tz);
	cr_assert_null(cfg.schema.fields[2].tz);
	p = find_prov(&cfg, "p");
	q = find_prov(&cfg, "q");
	cr_assert_null(p->tz);
	cr_assert_eq(p->schema.fields[0].tz, cfg.tz);
	cr_assert_not_null(q->tz);
	cr_assert_str_eq(tz_name(q->tz), "America/New_York");
	cr_assert_eq(q->schema.fields[0].tz, q->tz);
	cr_assert_eq(q->schema.fields[1].tz, q->tz);
	cr_assert_null(q->schema.fields[2].tz);
	/* The names are the aggregate's. */
	cr_assert_eq(q->schema.fields[0].name, cfg.schema.fields[0].name);
	cfg_free(&cfg);

	/* Given in [aggregate] after the fields that use it: the same. */
	load_ok("[aggregate]\ntimezone = Asia/Tokyo\noutput = o.csv\n"
		"fields = t:timestamp\n"
		"[provider p]\ntype = file\npath = in.csv\n", &cfg);
	cr_assert_str_eq(tz_name(cfg.schema.fields[0].tz), "Asia/Tokyo");
	cfg_free(&cfg);
}

Test(config, timezone_errors)
{
	const char *m;

	m = load_bad(TYPES("t:timestamp", "timezone = Europe/Pariss\n"));
	cr_assert_str_eq(m, NAME ":4: invalid value 'Europe/Pariss' for key "
			 "'timezone' in [aggregate]: unknown time zone (did you "
			 "mean 'Europe/Paris'?)");
	m = load_bad(TYPES("t:timestamp", "timezone = Asia/Paris\n"));
	assert_has(m, "unknown time zone (did you mean 'Europe/Paris'?)");
	m = load_bad(TYPES("t:timestamp", "timezone = Nowhere/Qqqqqqqq\n"));
	cr_assert_str_eq(m, NAME ":4: invalid value 'Nowhere/Qqqqqqqq' for key "
			 "'timezone' in [aggregate]: unknown time zone (an "
			 "Area/City name of the tz database, e.g. "
			 "Europe/Paris, or UTC)");
	m = load_bad(TYPES("t:timestamp", "timezone = ../../etc/passwd\n"));
	assert_prefix(m, NAME ":4: invalid value");
	assert_has(m, "unknown time zone");
	m = load_bad(TYPES("t:timestamp", "timezone = UTC\ntimezone = UTC\n"));
	assert_has(m, "duplicate key 'timezone'");
	m = load_bad(TYPES("t:timestamp", "timezon = UTC\n"));
	assert_has(m, ":4: unknown key 'timezon' in [aggregate] (did you mean "
		   "'timezone'?)");
	m = load_bad(TYPES("t:timestamp", "") "timezone = America/New_Yrok\n");
	cr_assert_str_eq(m, NAME ":7: invalid value 'America/New_Yrok' for key "
			 "'timezone' in [provider p]: unknown time zone (did "
			 "you mean 'America/New_York'?)");
}
