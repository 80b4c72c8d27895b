/*
 * test_outputs.c - [output NAME] sections: several outputs from one read.
 *
 * The config: an output's keys, its expressions as derived fields of the
 * one schema, and its errors at their line.  End to end: the same random
 * rows go to the real aggregate binary (a CSV file) and into a table of a
 * real PostgreSQL server (scripts/pg-test.sh, started once for this
 * program when PGHOST is unset); every output the binary writes from its
 * one read must equal byte for byte what PostgreSQL writes with COPY
 * (query) TO STDOUT (FORMAT csv, HEADER) for the same SQL.  And a run
 * whose second output fails leaves the first output's previous file as
 * it was.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "../common/config.h"
#include "helpers/pgtest.h"
#include "helpers/testutil.h"

PGT_START_BEFORE_ALL()
PGT_STOP_AFTER_ALL()

/* --- the config ------------------------------------------------------ */

#define NAME "providers.conf"

static char err[CFG_ERR_MAX];

#define HEAD \
	"[aggregate]\n" \
	"output = out.csv\n" \
	"timezone = Europe/Paris\n" \
	"fields = id:int, day:timestamp, country:text, qty:int,\n" \
	"  price:decimal(10,2), note:text\n" \
	"group_by = country\n" \
	"aggregates = count(*) as n\n"

#define PROV \
	"[provider f]\n" \
	"type = file\n" \
	"path = data.csv\n"

static void load_ok(const char *text, struct cfg *cfg)
{
	int rc = cfg_load_string(NAME, text, cfg, err, sizeof err);

	cr_assert_eq(rc, 0, "%s", err);
}

/* The error of a config that must not load; also exit 78 from a file. */
static const char *load_bad(const char *text)
{
	struct cfg cfg;
	int rc = cfg_load_string(NAME, text, &cfg, err, sizeof err);
	int code;
	char *dir = tu_tmpdir(), *path = tu_path(dir, NAME);
	char err2[CFG_ERR_MAX];

	cr_assert_eq(rc, -1, "loaded:\n%s", text);
	tu_write(path, text);
	cr_assert_eq(cfg_load(path, &cfg, err2, sizeof err2, &code), -1);
	cr_assert_eq(code, 78);
	free(path);
	tu_tmpdir_free(&dir);
	return err;
}

static int field(const struct cfg *cfg, const char *name)
{
	for (int i = 0; i < cfg->schema.nfields; i++)
		if (strcmp(cfg->schema.fields[i].name, name) == 0)
			return i;
	return -1;
}

Test(outputs_conf, each_output_a_view_with_its_own_keys)
{
	struct cfg cfg, v;

	load_ok(HEAD
		"[output monthly]\n"
		"output = monthly.jsonl\n"
		"where = qty > 0\n"
		"group_by = date_trunc('month', day) as month\n"
		"aggregates = sum(qty * price) as revenue,\n"
		"  count(*) filter (where note = 'big') as bigs\n"
		"order_by = revenue desc\n"
		"limit = 5\n"
		"[output rows]\n"
		"output = rows.db\n"
		"table = kept\n"
		"write = append\n"
		"mode = union\n"
		PROV, &cfg);
	cr_assert_eq(cfg.noutputs, 2);
	/* [aggregate]'s own output is the first, as it was. */
	cfg_output_view(&cfg, -1, &v);
	cr_assert_str_eq(v.output, "out.csv");
	cr_assert_null(v.output_name);
	cr_assert(!v.has_keep);
	cr_assert_eq(v.naggs, 1);

	cfg_output_view(&cfg, 0, &v);
	cr_assert_str_eq(v.output_name, "monthly");
	cr_assert_str_eq(v.output, "monthly.jsonl");
	cr_assert_eq(v.format, CFG_FMT_JSONL);
	cr_assert_eq(v.mode, CFG_MODE_GROUP);
	cr_assert_eq(v.ngroup_by, 1);
	cr_assert_eq(v.group_by[0], field(&cfg, "month"));
	cr_assert_eq(v.naggs, 2);
	cr_assert_eq(v.aggs[0].field, field(&cfg, "__agg1001_arg1"));
	cr_assert_eq(v.aggs[1].filter, field(&cfg, "__agg1002_filter"));
	cr_assert(v.has_keep);
	cr_assert_eq(v.keep, field(&cfg, "__out1_where"));
	cr_assert_eq(cfg.schema.fields[v.keep].type, REC_BOOL);
	cr_assert_eq(v.norder_by, 1);
	cr_assert(v.order_by[0].desc);
	cr_assert(v.limit_set && v.limit == 5);
	/* Its expressions are derived fields the providers compute. */
	cr_assert(cfg.hidden[v.keep - cfg.nfields_declared]);
	cr_assert(!cfg.hidden[field(&cfg, "month") - cfg.nfields_declared]);

	cfg_output_view(&cfg, 1, &v);
	cr_assert_eq(v.format, CFG_FMT_SQLITE);
	cr_assert_str_eq(v.table, "kept");
	cr_assert_eq(v.write, CFG_WRITE_APPEND);
	cr_assert_eq(v.mode, CFG_MODE_UNION);
	/* A union writes the declared fields, never another's derived. */
	cr_assert_eq(cfg_union_fields(&v), 6);
	cfg_free(&cfg);
}

Test(outputs_conf, errors_at_their_line)
{
	cr_assert_str_eq(load_bad(HEAD "[output a]\noutput = a.csv\n"
				  "limt = 3\n" PROV),
			 NAME ":10: unknown key 'limt' in [output a] "
			 "(did you mean 'limit'?)");
	cr_assert_str_eq(load_bad(HEAD "[output a]\noutput = a.csv\n"
				  "fields = x:int\n" PROV),
			 NAME ":10: key 'fields' is not valid in [output a]: "
			 "it is shared by every output, set it in [aggregate]");
	cr_assert_str_eq(load_bad(HEAD "[output a]\noutput = a.csv\n"
				  "group_by = contry\n" PROV),
			 NAME ":10: invalid value 'contry' for key 'group_by' "
			 "in [output a]: not a field declared in fields (did "
			 "you mean 'country'?)");
	cr_assert_str_eq(load_bad(HEAD "[output a]\noutput = a.csv\n"
				  "where = qty + 1\n" PROV),
			 NAME ":10: where in [output a] must be true or false "
			 "(a bool expression); this one is int");
	cr_assert_str_eq(load_bad(HEAD "[output a]\noutput = a.csv\n"
				  "aggregates = sum(qtty * 2)\n" PROV),
			 NAME ":10: aggregate 1's argument in [output a]: "
			 "unknown field \"qtty\" at column 5; did you mean "
			 "\"qty\"?");
	cr_assert_str_eq(load_bad(HEAD "[output a]\noutput = a.csv\n"
				  "group_by = country\n"
				  "order_by = nn desc\n" PROV),
			 NAME ":11: order_by: 'nn' is not an output column "
			 "(the group keys and aggregates' names; in mode = "
			 "union, provider and the fields)");
	cr_assert_str_eq(load_bad(HEAD "[output a]\ngroup_by = country\n"
				  PROV),
			 NAME ":8: missing required key 'output' in "
			 "[output a]");
	cr_assert_str_eq(load_bad(HEAD "[output a]\noutput = a.csv\n"
				  "[output a]\noutput = b.csv\n" PROV),
			 NAME ":10: duplicate section [output a] (first at "
			 "line 8)");
	/* Two outputs writing one file (or one table) is an error. */
	cr_assert_str_eq(load_bad(HEAD "[output a]\noutput = out.csv\n" PROV),
			 NAME ":8: [output a] writes the same output as "
			 "[aggregate] (line 1): give it another output");
	cr_assert_str_eq(load_bad(HEAD "[output a]\noutput = a.db\n"
				  "[output b]\noutput = a.db\n" PROV),
			 NAME ":10: [output b] writes the same table as "
			 "[output a] (line 8): give it another output or "
			 "table");
}

Test(outputs_conf, dash_o_may_not_name_another_output)
{
	struct cfg cfg;

	load_ok(HEAD "[output a]\noutput = a.csv\n" PROV, &cfg);
	cr_assert_eq(cfg_set_output(&cfg, "a.csv", err, sizeof err), -1);
	cr_assert_str_eq(err, "-o: [output a] writes that output already");
	cr_assert_eq(cfg_set_output(&cfg, "b.csv", err, sizeof err), 0, "%s",
		     err);
	cfg_free(&cfg);
}

/* arg_max's g read by nothing else still reaches the aggregator. */
Test(outputs_conf, arg_max_of_a_field_nothing_else_reads)
{
	char *d = tu_tmpdir(), *got;
	struct tu_result r;

	tu_put(d, "data.csv", "id,day,country,qty,price,note\n"
	       "1,2024-01-05 10:00:00,FR,1,1.00,a\n"
	       "2,2024-03-05 10:00:00,DE,1,1.00,b\n"
	       "3,2024-02-05 10:00:00,FR,1,1.00,c\n");
	tu_put(d, "t.conf", HEAD
	       "[output last]\n"
	       "output = last.csv\n"
	       "group_by = country\n"
	       "aggregates = arg_max(id, day) as last_id\n"
	       PROV);
	tu_run(&r, d, (const char *[]){ "-c", "t.conf", NULL }, NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	got = tu_get(d, "last.csv");
	cr_assert_str_eq(got, "country,last_id\nDE,2\nFR,3\n");
	free(got);
	tu_tmpdir_free(&d);
}

Test(outputs_conf, same_database_other_table_is_fine)
{
	struct cfg cfg;

	load_ok(HEAD "[output a]\noutput = a.db\n"
		"[output b]\noutput = a.db\ntable = other\n" PROV, &cfg);
	cr_assert_eq(cfg.noutputs, 2);
	cfg_free(&cfg);
}

/* --- end to end, against PostgreSQL ---------------------------------- */

static struct pgt_fixture fx;

PGT_SUITE(outputs, fx, "outs", 300);

/*
 * n random rows with a header: id, a local time in Europe/Paris over two
 * years, a country (or NULL), a quantity (0 and NULL now and then), a
 * price with cents (or NULL) and a note (or NULL).
 */
static char *rand_rows(int n, uint64_t seed)
{
	static const char *const countries[] = { "FR", "DE", "US", "ES", "",
						 "IT", "PT" };
	static const char *const notes[] = { "big", "bulk", "small", "" };
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	fprintf(f, "id,day,country,qty,price,note\n");
	for (int i = 0; i < n; i++) {
		uint64_t r = tu_rng(&seed);
		char qty[16] = "", price[24] = "";

		if (r % 11 != 0)
			snprintf(qty, sizeof qty, "%d",
				 r % 13 == 0 ? 0 : (int)(r / 11 % 9));
		if (r / 7 % 17 != 0)
			snprintf(price, sizeof price, "%d.%02d",
				 (int)(r / 1190 % 1000), (int)(r / 7 % 100));
		fprintf(f, "%d,%04d-%02d-%02d %02d:%02d:00,%s,%s,%s,%s\n", i,
			2023 + (int)(r / 119 % 2), 1 + (int)(r / 238 % 12),
			1 + (int)(r / 2856 % 28), (int)(r / 79968 % 24),
			(int)(r / 3 % 60), countries[tu_rng(&seed) % 7], qty,
			price, notes[tu_rng(&seed) % 4]);
	}
	fclose(f);
	return out;
}

#define UTC_TEXT(x) "to_char((" x ") AT TIME ZONE 'UTC'," \
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static void check_file(const char *name, const char *want)
{
	char *got = tu_get(fx.dir, name);

	cr_assert_not_null(got, "%s missing", name);
	cr_assert_str_eq(got, want, "%s:\n%s\nPostgreSQL:\n%s", name, got,
			 want);
	free(got);
}

Test(outputs, several_outputs_from_one_read_match_postgres)
{
	char *rows = rand_rows(tu_scale(5000), 0x0a7b5eedULL);
	char *main_, *monthly, *top, *big, *stats;
	struct tu_result r;

	pgt_sql(fx.db, "SET TimeZone = 'Europe/Paris'");
	pgt_sql(fx.db, "CREATE TEMP TABLE %s (id int, day timestamptz, country text,"
	    " qty bigint, price numeric(10,2), note text)", fx.table);
	pgt_load_csv(fx.db, fx.table, rows, true);
	main_ = pgt_copy_csv(fx.db, "SELECT region, count(*) AS n, sum(qty * price) AS"
		       " revenue FROM (SELECT *, coalesce(country, 'XX') AS"
		       " region FROM %s) s GROUP BY region"
		       " ORDER BY region COLLATE \"C\"", fx.table);
	monthly = pgt_copy_csv(fx.db, "SELECT " UTC_TEXT("date_trunc('month', day)")
			 " AS month, sum(qty * price) AS revenue,"
			 " count(*) FILTER (WHERE note = 'big') AS bigs"
			 " FROM %s WHERE qty > 0"
			 " GROUP BY date_trunc('month', day)"
			 " ORDER BY date_trunc('month', day)", fx.table);
	top = pgt_copy_csv(fx.db, "SELECT region, sum(qty * price) AS revenue FROM"
		     " (SELECT *, coalesce(country, 'XX') AS region FROM %s) s"
		     " WHERE region <> 'XX' GROUP BY region"
		     " ORDER BY revenue DESC, region COLLATE \"C\" LIMIT 3",
		     fx.table);
	big = pgt_copy_csv(fx.db, "SELECT 'f' AS provider, id, " UTC_TEXT("day")
		     " AS day, country, qty, price, note,"
		     " coalesce(country, 'XX') AS region FROM %s"
		     " WHERE qty * price > 7000 ORDER BY id", fx.table);
	stats = pgt_copy_csv(fx.db, "SELECT note, count(*) AS n, min(price) AS lo,"
		       " max(price) AS hi FROM %s"
		       " WHERE note IS NOT NULL AND country = 'FR'"
		       " GROUP BY note HAVING count(*) > 10"
		       " ORDER BY n DESC, note COLLATE \"C\"", fx.table);

	tu_put(fx.dir, "data.csv", rows);
	tu_put(fx.dir, "t.conf",
	       "[aggregate]\n"
	       "output = out.csv\n"
	       "timezone = Europe/Paris\n"
	       "fields = id:int, day:timestamp, country:text, qty:int,\n"
	       "  price:decimal(10,2), note:text\n"
	       "derive = region = coalesce(country, 'XX')\n"
	       "group_by = region\n"
	       "aggregates = count(*) as n, sum(qty * price) as revenue\n"
	       "[output monthly]\n"
	       "output = monthly.csv\n"
	       "where = qty > 0\n"
	       "group_by = date_trunc('month', day) as month\n"
	       "aggregates = sum(qty * price) as revenue,\n"
	       "  count(*) filter (where note = 'big') as bigs\n"
	       "[output top]\n"
	       "output = top.csv\n"
	       "where = region <> 'XX'\n"
	       "group_by = region\n"
	       "aggregates = sum(qty * price) as revenue\n"
	       "order_by = revenue desc\n"
	       "limit = 3\n"
	       "[output big]\n"
	       "output = big.csv\n"
	       "mode = union\n"
	       "where = qty * price > 7000\n"
	       "[output stats]\n"
	       "output = stats.csv\n"
	       "where = note IS NOT NULL AND country = 'FR'\n"
	       "group_by = note\n"
	       "aggregates = count(*) as n, min(price) as lo, max(price) as hi\n"
	       "having = n > 10\n"
	       "order_by = n desc\n"
	       PROV);
	tu_run(&r, fx.dir, (const char *[]){ "-c", "t.conf", NULL }, NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "output written output=top to=top.csv"),
		  "%s", r.err);
	check_file("out.csv", main_);
	check_file("monthly.csv", monthly);
	check_file("top.csv", top);
	check_file("big.csv", big);
	check_file("stats.csv", stats);
	tu_result_free(&r);

	/*
	 * The provider killed half way: what every output staged of that
	 * attempt is forgotten, and each counts every record once.
	 */
	if (tu_bin_has_hooks()) {
		char fault[64];

		snprintf(fault, sizeof fault, "AGG_FAULT=f:1:record:%d",
			 tu_scale(5000) / 2);
		tu_run(&r, fx.dir, (const char *[]){ "-c", "t.conf", NULL },
		       (const char *[]){ fault, NULL });
		cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
		cr_assert(strstr(r.err, "provider=f restarted attempt=2"), "%s",
			  r.err);
		check_file("out.csv", main_);
		check_file("monthly.csv", monthly);
		check_file("top.csv", top);
		check_file("big.csv", big);
		check_file("stats.csv", stats);
		tu_result_free(&r);
	}
	free(main_);
	free(monthly);
	free(top);
	free(big);
	free(stats);
	free(rows);
}

Test(outputs, a_failed_second_output_changes_no_output)
{
	struct tu_result r;
	char *got;

	TU_REQUIRE_HOOKS(outputs_close);
	tu_put(fx.dir, "data.csv",
	       "id,day,country,qty,price,note\n"
	       "1,2024-01-05 10:00:00,FR,2,3.50,big\n"
	       "2,2024-02-05 10:00:00,DE,1,1.00,\n"
	       "3,2024-03-05 10:00:00,FR,4,2.25,small\n");
	tu_put(fx.dir, "out.csv", "previous,report\n");
	tu_put(fx.dir, "t.conf",
	       HEAD
	       "[output monthly]\n"
	       "output = monthly.db\n"
	       "group_by = date_trunc('month', day) as month\n"
	       "aggregates = sum(qty * price) as revenue\n"
	       PROV);
	/* The table output fails after its first row. */
	tu_run(&r, fx.dir, (const char *[]){ "-c", "t.conf", NULL },
	       (const char *[]){ "AGG_OUT_FAIL_AFTER=1", NULL });
	cr_assert_eq(r.status, 1, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "output monthly: "), "%s", r.err);
	tu_result_free(&r);
	got = tu_get(fx.dir, "out.csv");
	cr_assert_str_eq(got, "previous,report\n");
	free(got);
	/* Nothing left behind: no temporary, no database. */
	cr_assert_eq(tu_count_entries(fx.dir), 3);

	/* Without the failure both are written. */
	tu_run(&r, fx.dir, (const char *[]){ "-c", "t.conf", NULL }, NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	tu_result_free(&r);
	got = tu_get(fx.dir, "out.csv");
	cr_assert_str_eq(got, "country,n\nDE,1\nFR,2\n");
	free(got);
}

/* Lines of a CSV text after its header. */
static long data_lines(const char *name)
{
	char *t = tu_get(fx.dir, name);
	long n = -1;

	cr_assert_not_null(t, "%s missing", name);
	for (const char *p = t; (p = strchr(p, '\n')) != NULL; p++)
		n++;
	free(t);
	return n;
}

/*
 * The summary's "rows written" and the metrics count the rows of every
 * output; -v logs each output's own.
 */
Test(outputs, rows_written_counts_every_output)
{
	char *rows = rand_rows(500, 0x0a7b5eef0ULL), *m, line[160];
	struct tu_result r;
	long a, b, c;

	tu_put(fx.dir, "data.csv", rows);
	tu_put(fx.dir, "t.conf",
	       "[aggregate]\n"
	       "output = out.csv\n"
	       "fields = id:int, day:timestamp, country:text, qty:int,\n"
	       "  price:decimal(10,2), note:text\n"
	       "group_by = country\n"
	       "aggregates = count(*) as n\n"
	       "[output big]\n"
	       "output = big.csv\n"
	       "mode = union\n"
	       "where = qty > 6\n"
	       "[output notes]\n"
	       "output = notes.csv\n"
	       "group_by = note\n"
	       "aggregates = sum(qty) as q\n"
	       PROV);
	tu_run(&r, fx.dir, (const char *[]){ "-c", "t.conf", "-v", "--metrics",
					  "m.prom", NULL }, NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	a = data_lines("out.csv");
	b = data_lines("big.csv");
	c = data_lines("notes.csv");
	cr_assert(b > 10);
	snprintf(line, sizeof line, " %ld rows written", a + b + c);
	cr_assert(strstr(r.err, line), "want%s in:\n%s", line, r.err);
	snprintf(line, sizeof line, "output rows output=big rows=%ld", b);
	cr_assert(strstr(r.err, line), "want %s in:\n%s", line, r.err);
	snprintf(line, sizeof line, "output rows output=[aggregate] rows=%ld", a);
	cr_assert(strstr(r.err, line), "want %s in:\n%s", line, r.err);
	m = tu_get(fx.dir, "m.prom");
	snprintf(line, sizeof line, "\naggregate_run_rows_written %ld\n", a + b + c);
	cr_assert(m && strstr(m, line), "want %s in:\n%s", line, m);
	free(m);
	tu_result_free(&r);
	free(rows);
}
