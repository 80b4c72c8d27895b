/*
 * test_cli.c - the aggregate program end to end: command line, exit
 * statuses, outputs written by hand, rejects, and no shared memory left.
 * Every test runs the real binary (tu_run) in a fresh temporary folder.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers/testutil.h"

static char *dir;

static void setup(void)
{
	tu_watchdog(60);
	dir = tu_tmpdir();
}

static void teardown(void)
{
	tu_tmpdir_free(&dir);
}

TestSuite(cli, .init = setup, .fini = teardown);

static void put(const char *name, const char *content)
{
	char *p = tu_path(dir, name);
	char *slash = strrchr(p, '/');

	/* Create one level of sub-folder when the name has one. */
	if (slash && strchr(name, '/')) {
		*slash = '\0';
		mkdir(p, 0755);
		*slash = '/';
	}
	tu_write(p, content);
	free(p);
}

static char *get(const char *name)
{
	return tu_get(dir, name);
}

static int run(struct tu_result *r, const char *const *args)
{
	return tu_run(r, dir, args, NULL);
}

Test(cli, help_and_version)
{
	struct tu_result r;

	cr_assert_eq(run(&r, (const char *[]){ "--help", NULL }), 0);
	cr_assert(strstr(r.out, "usage: aggregate") != NULL);
	cr_assert(strstr(r.out, "--check") != NULL);
	tu_result_free(&r);
	cr_assert_eq(run(&r, (const char *[]){ "-V", NULL }), 0);
	cr_assert(strncmp(r.out, "aggregate ", 10) == 0);
	tu_result_free(&r);
}

Test(cli, usage_errors_exit_64)
{
	struct tu_result r;

	/* getopt's errors say "aggregate:", not the path it was run by */
	cr_assert_eq(run(&r, (const char *[]){ "--bogus", NULL }), 64);
	cr_assert_str_eq(r.err, "aggregate: unknown option '--bogus'\n"
			 "Try 'aggregate --help' for more information.\n");
	tu_result_free(&r);
	cr_assert_eq(run(&r, (const char *[]){ "--chek", NULL }), 64);
	cr_assert_str_eq(r.err, "aggregate: unknown option '--chek' (did you "
			 "mean '--check'?)\n"
			 "Try 'aggregate --help' for more information.\n");
	tu_result_free(&r);
	cr_assert_eq(run(&r, (const char *[]){ "-x", NULL }), 64);
	cr_assert(strncmp(r.err, "aggregate: unknown option '-x'\n", 31) == 0,
		  "%s", r.err);
	tu_result_free(&r);
	cr_assert_eq(run(&r, (const char *[]){ "-c", NULL }), 64);
	cr_assert(strncmp(r.err, "aggregate: option '-c' needs a value\n",
			  37) == 0, "%s", r.err);
	tu_result_free(&r);
	cr_assert_eq(run(&r, (const char *[]){ "--metrics", NULL }), 64);
	cr_assert(strncmp(r.err, "aggregate: option '--metrics' needs a "
			  "value\n", 39) == 0, "%s", r.err);
	tu_result_free(&r);
	cr_assert_eq(run(&r, (const char *[]){ "--check=yes", NULL }), 64);
	cr_assert(strncmp(r.err, "aggregate: option '--check' takes no value",
			  42) == 0, "%s", r.err);
	tu_result_free(&r);
	cr_assert_eq(run(&r, (const char *[]){ "-j", "zero", NULL }), 64);
	cr_assert(strstr(r.err, "--jobs") != NULL);
	tu_result_free(&r);
	cr_assert_eq(run(&r, (const char *[]){ "stray", NULL }), 64);
	tu_result_free(&r);
}

Test(cli, missing_config_exit_66)
{
	struct tu_result r;

	cr_assert_eq(run(&r, (const char *[]){ "-c", "nope.conf", NULL }), 66);
	cr_assert(strstr(r.err, "nope.conf") != NULL, "%s", r.err);
	tu_result_free(&r);
	/* The default config name is ./providers.conf. */
	cr_assert_eq(run(&r, (const char *[]){ NULL }), 66);
	cr_assert(strstr(r.err, "providers.conf") != NULL, "%s", r.err);
	tu_result_free(&r);
}

Test(cli, bad_config_exit_78_names_file_line_key)
{
	struct tu_result r;

	put("p.conf", "[aggregate]\n"
		      "output = out.csv\n"
		      "fields = a:int\n"
		      "grup_by = a\n"
		      "[provider x]\n"
		      "type = file\n"
		      "path = x.csv\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }), 78);
	cr_assert(strstr(r.err, "p.conf:4") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "grup_by") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "group_by") != NULL, "%s", r.err);
	tu_result_free(&r);
}

static const char union_conf[] =
	"[aggregate]\n"
	"output = out.csv\n"
	"fields = id:int, name:text, price:float, day:timestamp, ok:bool\n"
	"\n"
	"[provider first]\n"
	"type = file\n"
	"path = a.csv\n"
	"\n"
	"[provider second]\n"
	"type = file\n"
	"path = b/*.csv\n";

static void put_union_inputs(void)
{
	put("a.csv", "id,name,price,day,ok\n"
		     "1,apple,1.5,2024-01-02,true\n"
		     "2,\"pear, green\",0.1,2024-01-03 10:00:00,false\n");
	/* Globs are read in sorted order: 1.csv before 2.csv. */
	put("b/2.csv", "ok,day,price,name,id\r\n"
		       "true,2024-02-01T00:00:00+01:00,,\"\",4\r\n");
	put("b/1.csv", "id,name,price,day,ok\n"
		       "3,\"say \"\"hi\"\"\nthere\",-2,,\n");
}

Test(cli, union_csv_output_in_provider_and_source_order)
{
	struct tu_result r;
	char *out;

	put("p.conf", union_conf);
	put_union_inputs();
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }), 0,
		     "%s", r.err);
	out = get("out.csv");
	cr_assert_not_null(out);
	cr_assert_str_eq(out,
			 "provider,id,name,price,day,ok\n"
			 "first,1,apple,1.5,2024-01-02T00:00:00Z,true\n"
			 "first,2,\"pear, green\",0.1,2024-01-03T10:00:00Z,false\n"
			 "second,3,\"say \"\"hi\"\"\nthere\",-2,,\n"
			 "second,4,\"\",,2024-01-31T23:00:00Z,true\n");
	free(out);
	/* The summary table names both providers. */
	cr_assert(strstr(r.err, "first") && strstr(r.err, "second"));
	cr_assert_eq(tu_shm_count(), 0);
	tu_result_free(&r);
}

/*
 * libpq and libcurl are loaded only by a process that calls them
 * (common/libload.c): a run of file providers loads neither, in any of
 * its processes.  LD_DEBUG=files makes the loader log every library it
 * opens, dlopen included, on stderr.
 */
Test(cli, a_run_of_files_loads_neither_libpq_nor_libcurl)
{
	struct tu_result r;

	put("p.conf", union_conf);
	put_union_inputs();
	cr_assert_eq(tu_run(&r, dir, (const char *[]){ "-c", "p.conf", NULL },
			    (const char *[]){ "LD_DEBUG=files", NULL }), 0,
		     "%s", r.err);
	cr_assert(strstr(r.err, "libsqlite3") != NULL,
		  "LD_DEBUG logged no library: %s", r.err);
	cr_assert(strstr(r.err, "libpq") == NULL, "%s", r.err);
	cr_assert(strstr(r.err, "libcurl") == NULL, "%s", r.err);
	tu_result_free(&r);
}

Test(cli, union_jsonl_to_stdout)
{
	struct tu_result r;

	put("p.conf", union_conf);
	put_union_inputs();
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", "-q", "-o", "-",
					       NULL }), 0, "%s", r.err);
	/* CSV is the default for stdout. */
	cr_assert(strncmp(r.out, "provider,id,name", 16) == 0, "%s", r.out);
	cr_assert_str_eq(r.err, "");
	tu_result_free(&r);

	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", "-q", "-o",
					       "out.jsonl", NULL }), 0, "%s", r.err);
	tu_result_free(&r);
	char *out = get("out.jsonl");

	cr_assert_str_eq(out,
		"{\"provider\":\"first\",\"id\":1,\"name\":\"apple\",\"price\":1.5,"
		"\"day\":\"2024-01-02T00:00:00Z\",\"ok\":true}\n"
		"{\"provider\":\"first\",\"id\":2,\"name\":\"pear, green\",\"price\":0.1,"
		"\"day\":\"2024-01-03T10:00:00Z\",\"ok\":false}\n"
		"{\"provider\":\"second\",\"id\":3,\"name\":\"say \\\"hi\\\"\\nthere\","
		"\"price\":-2,\"day\":null,\"ok\":null}\n"
		"{\"provider\":\"second\",\"id\":4,\"name\":\"\",\"price\":null,"
		"\"day\":\"2024-01-31T23:00:00Z\",\"ok\":true}\n");
	free(out);
}

Test(cli, group_by_with_every_aggregate)
{
	struct tu_result r;
	char *out;

	put("p.conf",
	    "[aggregate]\n"
	    "output = out.csv\n"
	    "fields = region:text, day:timestamp, amount:float, qty:int\n"
	    "group_by = region\n"
	    "aggregates = count(*) as n, count(amount), sum(amount), sum(qty),\n"
	    "  avg(qty), min(day), max(day) as last, count_distinct(qty) as kinds\n"
	    "\n"
	    "[provider csv]\n"
	    "type = file\n"
	    "path = in.csv\n"
	    "\n"
	    "[provider json]\n"
	    "type = file\n"
	    "path = in.jsonl\n"
	    "map = region=/where/region, amount=/amt\n");
	put("in.csv", "region,day,amount,qty\n"
		      "west,2024-01-01,1.25,2\n"
		      "east,2024-01-05,,3\n"
		      "west,2024-01-03,2.5,2\n"
		      ",2024-01-09,4,1\n");
	put("in.jsonl", "{\"where\":{\"region\":\"east\"},\"day\":\"2024-01-02\","
			"\"amt\":\"10\",\"qty\":5}\n"
			"\n"
			"{\"where\":{\"region\":\"west\"},\"day\":null,\"amt\":0.25,"
			"\"qty\":null}\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }), 0,
		     "%s", r.err);
	out = get("out.csv");
	cr_assert_not_null(out);
	/* Sorted by region, NULL last; NULLs skipped by all but count(*). */
	cr_assert_str_eq(out,
		"region,n,count_amount,sum_amount,sum_qty,avg_qty,min_day,last,kinds\n"
		"east,2,1,10,8,4,2024-01-02T00:00:00Z,2024-01-05T00:00:00Z,2\n"
		"west,3,3,4,4,2,2024-01-01T00:00:00Z,2024-01-03T00:00:00Z,1\n"
		",1,1,4,1,1,2024-01-09T00:00:00Z,2024-01-09T00:00:00Z,1\n");
	free(out);
	tu_result_free(&r);
}

Test(cli, aggregates_without_group_by_give_one_row_even_when_empty)
{
	struct tu_result r;
	char *out;

	put("p.conf",
	    "[aggregate]\n"
	    "output = out.csv\n"
	    "fields = amount:int\n"
	    "aggregates = count(*), sum(amount), avg(amount)\n"
	    "[provider csv]\n"
	    "type = file\n"
	    "path = in.csv\n");
	put("in.csv", "amount\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }), 0,
		     "%s", r.err);
	out = get("out.csv");
	cr_assert_str_eq(out, "count,sum_amount,avg_amount\n0,,\n");
	free(out);
	tu_result_free(&r);
}

Test(cli, int_sum_overflow_fails_the_run)
{
	struct tu_result r;
	char *out;

	put("p.conf",
	    "[aggregate]\n"
	    "output = out.csv\n"
	    "fields = amount:int\n"
	    "aggregates = sum(amount)\n"
	    "[provider csv]\n"
	    "type = file\n"
	    "path = in.csv\n");
	put("in.csv", "amount\n9223372036854775807\n1\n");
	put("out.csv", "previous\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }), 1);
	cr_assert(strstr(r.err, "overflow") != NULL, "%s", r.err);
	out = get("out.csv");
	cr_assert_str_eq(out, "previous\n");
	free(out);
	tu_result_free(&r);
}

/*
 * The int sum's limits, end to end: the staged merge, and (test builds)
 * the merge of whole records (AGG_STAGE=raw).  A sum of exactly INT64_MAX
 * or INT64_MIN is written; one past either fails the run; a sum that
 * leaves the range on the way and comes back is written.
 */
Test(cli, int_sum_at_the_64_bit_limits)
{
	static const char *const stages[][2] = {
		{ NULL, NULL }, { "AGG_STAGE=raw", NULL },
	};
	struct tu_result r;
	char *out;

	put("p.conf",
	    "[aggregate]\n"
	    "output = out.csv\n"
	    "fields = g:text, x:int\n"
	    "group_by = g\n"
	    "aggregates = sum(x)\n"
	    "[provider a]\n"
	    "type = file\n"
	    "path = a.csv\n"
	    "[provider b]\n"
	    "type = file\n"
	    "path = b.csv\n");
	put("b.csv", "g,x\nmax,-1\nmin,1\n");
	for (size_t k = 0; k < sizeof stages / sizeof stages[0]; k++) {
		const char *const *env = stages[k][0] ? stages[k] : NULL;

		put("a.csv", "g,x\n"
		    "max,9223372036854775807\nmax,1\n"
		    "min,-9223372036854775808\nmin,-1\n"
		    "up,9223372036854775807\nup,1\nup,-1\n"
		    "down,-9223372036854775808\ndown,-1\ndown,1\n");
		cr_assert_eq(tu_run(&r, dir, (const char *[]){ "-c", "p.conf",
				    "-q", NULL }, env), 0, "%s", r.err);
		out = get("out.csv");
		cr_assert_str_eq(out, "g,sum_x\n"
				 "down,-9223372036854775808\n"
				 "max,9223372036854775807\n"
				 "min,-9223372036854775808\n"
				 "up,9223372036854775807\n", "stage %zu", k);
		free(out);
		tu_result_free(&r);

		put("a.csv", "g,x\nmax,9223372036854775807\nmax,2\n");
		cr_assert_eq(tu_run(&r, dir, (const char *[]){ "-c", "p.conf",
				    "-q", NULL }, env), 1, "%s", r.err);
		cr_assert(strstr(r.err, "sum(x) overflows a 64-bit integer in "
				 "group g=\\\"max\\\"") != NULL, "%s", r.err);
		tu_result_free(&r);

		put("a.csv", "g,x\nmin,-9223372036854775808\nmin,-2\n");
		cr_assert_eq(tu_run(&r, dir, (const char *[]){ "-c", "p.conf",
				    "-q", NULL }, env), 1, "%s", r.err);
		cr_assert(strstr(r.err, "sum(x) overflows a 64-bit integer in "
				 "group g=\\\"min\\\"") != NULL, "%s", r.err);
		tu_result_free(&r);
		out = tu_path(dir, "out.csv");
		cr_assert_eq(unlink(out), 0);
		free(out);
	}
}

Test(cli, rejects_are_counted_and_written)
{
	struct tu_result r;
	char *rej, *out, *path;

	put("p.conf",
	    "[aggregate]\n"
	    "output = out.csv\n"
	    "fields = id:int, day:timestamp\n"
	    "reject_file = rejects.jsonl\n"
	    "max_rejects = 2\n"
	    "[provider csv]\n"
	    "type = file\n"
	    "path = in.csv\n");
	put("in.csv", "id,day\n1,2024-01-01\nabc,2024-01-01\n3,2024-13-01\n4,\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }), 0,
		     "%s", r.err);
	out = get("out.csv");
	cr_assert_str_eq(out, "provider,id,day\ncsv,1,2024-01-01T00:00:00Z\n"
			      "csv,4,\n");
	rej = get("rejects.jsonl");
	cr_assert_not_null(rej);
	cr_assert(strstr(rej, "\"provider\":\"csv\"") != NULL, "%s", rej);
	cr_assert(strstr(rej, "in.csv:3") != NULL, "%s", rej);
	cr_assert(strstr(rej, "in.csv:4") != NULL, "%s", rej);
	cr_assert(strstr(rej, "abc") != NULL, "%s", rej);
	free(rej);
	free(out);
	tu_result_free(&r);

	/* One more reject than allowed fails the provider and the run. */
	put("in.csv", "id,day\nx,2024-01-01\ny,2024-01-01\nz,2024-01-01\n");
	path = tu_path(dir, "out.csv");
	unlink(path);
	free(path);
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }), 1);
	cr_assert(strstr(r.err, "max_rejects") != NULL, "%s", r.err);
	/* Failed for good at once: no restart. */
	cr_assert(strstr(r.err, "restarted") == NULL, "%s", r.err);
	cr_assert_null(get("out.csv"));
	rej = get("rejects.jsonl");
	cr_assert(strstr(rej, "in.csv:4") != NULL, "%s", rej);
	free(rej);
	tu_result_free(&r);
}

Test(cli, rejects_are_told_even_with_quiet)
{
	struct tu_result r;

	put("p.conf",
	    "[aggregate]\n"
	    "output = out.csv\n"
	    "fields = id:int\n"
	    "reject_file = rejects.jsonl\n"
	    "max_rejects = 5\n"
	    "[provider some]\n"
	    "type = file\n"
	    "path = some.csv\n"
	    "[provider all]\n"
	    "type = file\n"
	    "path = all.csv\n"
	    "[provider none]\n"
	    "type = file\n"
	    "path = none.csv\n");
	put("some.csv", "id\n1\nx\n2\n");
	put("all.csv", "id\nx\ny\n");
	put("none.csv", "id\n3\n");
	/* the exit status stays 0: rejects within max_rejects are no failure */
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", "-q", NULL }), 0,
		     "%s", r.err);
	cr_assert(strstr(r.err, " warn provider=some records rejected rejects=1 "
			 "records=2 reject_file=rejects.jsonl\n") != NULL,
		  "%s", r.err);
	cr_assert(strstr(r.err, " warn provider=all every record rejected "
			 "rejects=2 records=0 reject_file=rejects.jsonl\n") !=
			  NULL, "%s", r.err);
	cr_assert(strstr(r.err, "provider=none") == NULL, "%s", r.err);
	/* exactly those two lines: -q says nothing else */
	int lines = 0;

	for (const char *c = r.err; *c; c++)
		lines += *c == '\n';
	cr_assert_eq(lines, 2, "%s", r.err);
	tu_result_free(&r);
}

Test(cli, missing_input_fails_without_restart_and_keeps_old_output)
{
	struct tu_result r;
	char *out;

	put("p.conf", union_conf);
	put("out.csv", "old\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }), 1);
	/* Whichever provider fails first stops the run. */
	cr_assert(strstr(r.err, "no file matches") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "restarted") == NULL, "%s", r.err);
	out = get("out.csv");
	cr_assert_str_eq(out, "old\n");
	free(out);
	cr_assert_eq(tu_shm_count(), 0);
	tu_result_free(&r);
}

Test(cli, only_selects_providers)
{
	struct tu_result r;
	char *out;

	put("p.conf", union_conf);
	put_union_inputs();
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", "--only", "second",
					       NULL }), 0, "%s", r.err);
	out = get("out.csv");
	cr_assert(strstr(out, "first") == NULL);
	cr_assert(strstr(out, "second,4") != NULL);
	free(out);
	tu_result_free(&r);
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", "--only", "nope",
					       NULL }), 64);
	tu_result_free(&r);
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", "--only",
					       "secnod", NULL }), 64);
	cr_assert(strstr(r.err, "aggregate: --only: unknown provider 'secnod' "
			 "(did you mean 'second'?)") != NULL, "%s", r.err);
	tu_result_free(&r);
}

/* A field's type spelt wrong: 78 at the fields line, from a run and --check. */
Test(cli, bad_type_exit_78_at_file_line)
{
	static const char *const bad[][2] = {
		{ "price:decimal", "give a decimal's precision and scale" },
		{ "price:decimal(40,2)", "the precision of a decimal is 1 to 38" },
		{ "at:timestamp('%d/%Q')", "unknown directive %Q" },
	};
	struct tu_result r;
	char conf[512];

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		for (int check = 0; check < 2; check++) {
			snprintf(conf, sizeof conf,
				 "[aggregate]\noutput = out.csv\n"
				 "fields = id:int, %s\n"
				 "[provider x]\ntype = file\npath = x.csv\n",
				 bad[i][0]);
			put("p.conf", conf);
			cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf",
				     check ? "--check" : NULL, NULL }), 78,
				     "%s", r.err);
			cr_assert(strstr(r.err, "p.conf:3: invalid value"),
				  "%s", r.err);
			cr_assert(strstr(r.err, bad[i][1]), "%s", r.err);
			tu_result_free(&r);
		}
	}
	put("p.conf", "[aggregate]\noutput = out.csv\nfields = t:timestamp\n"
		      "[provider x]\ntype = file\npath = x.csv\n"
		      "timezone = Europe/Pariss\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }), 78);
	cr_assert(strstr(r.err, "p.conf:7: invalid value 'Europe/Pariss' for "
			 "key 'timezone' in [provider x]: unknown time zone "
			 "(did you mean 'Europe/Paris'?)"), "%s", r.err);
	tu_result_free(&r);
}

/*
 * The whole program: timestamps read with formats in each provider's zone
 * (one provider's own, the other's the aggregate's), written as RFC 3339.
 */
Test(cli, union_of_timestamp_formats_in_zones)
{
	struct tu_result r;
	char *out;

	put("p.conf", "[aggregate]\noutput = out.csv\n"
		      "fields = id:int, at:timestamp('%d/%m/%Y %H:%M', epoch_ms)\n"
		      "timezone = America/New_York\n"
		      "[provider paris]\ntype = file\npath = a.csv\n"
		      "timezone = Europe/Paris\n"
		      "[provider ny]\ntype = file\npath = b.csv\n");
	put("a.csv", "id,at\n1,31/03/2024 02:30\n2,1711848600000\n");
	put("b.csv", "id,at\n3,10/03/2024 02:30\n4,03/11/2024 01:30\n");
	cr_assert_eq(run(&r, (const char *[]){ "-c", "p.conf", NULL }), 0,
		     "%s", r.err);
	out = get("out.csv");
	cr_assert_not_null(out);
	cr_assert_str_eq(out, "provider,id,at\n"
			      "paris,1,2024-03-31T01:30:00Z\n"
			      "paris,2,2024-03-31T01:30:00Z\n"
			      "ny,3,2024-03-10T07:30:00Z\n"
			      "ny,4,2024-11-03T06:30:00Z\n");
	free(out);
	tu_result_free(&r);
}
