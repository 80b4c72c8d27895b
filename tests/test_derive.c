/*
 * test_derive.c - derive, where (global and per provider), group_by
 * expressions, aggregate arguments that are expressions and `filter
 * (where ...)`: how the config reads them, and end to end with
 * PostgreSQL as the oracle.
 *
 * The same random rows go to the real aggregate binary (a CSV file) and
 * into a table of a real PostgreSQL server (scripts/pg-test.sh, started
 * once for this program when PGHOST is unset); the binary's CSV report
 * must equal byte for byte what PostgreSQL writes with COPY (query) TO
 * STDOUT (FORMAT csv, HEADER) for the same SQL: months of local times in
 * Europe/Paris, decimal arithmetic, CASE, coalesce, LIKE, IN, FILTER.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "../common/config.h"
#include "../common/expr.h"
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
	"  price:decimal(10,2), note:text\n"

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

Test(derive_conf, derived_fields_typed_and_after_the_declared)
{
	struct cfg cfg;

	load_ok(HEAD
		"derive = amount = qty * price,\n"
		"  label = coalesce(country, 'a,b') || '(' || note || ')',\n"
		"  big = amount > 100\n"
		PROV, &cfg);
	cr_assert_eq(cfg.nfields_declared, 6);
	cr_assert_eq(cfg.schema.nfields, 9);
	cr_assert_eq(field(&cfg, "amount"), 6);
	cr_assert_eq(cfg.schema.fields[6].type, REC_DECIMAL);
	cr_assert_eq(cfg.schema.fields[6].scale, 2);
	cr_assert_eq(field(&cfg, "label"), 7);
	cr_assert_eq(cfg.schema.fields[7].type, REC_TEXT);
	cr_assert_eq(cfg.schema.fields[8].type, REC_BOOL);
	/* A provider reads the declared fields only. */
	cr_assert_eq(cfg.providers[0].schema.nfields, 6);
	cr_assert_eq(cfg.mode, CFG_MODE_UNION);
	cfg_free(&cfg);
}

Test(derive_conf, a_field_read_before_it_is_derived_comes_first)
{
	struct cfg cfg;

	load_ok(HEAD "derive = b = a + 1, a = qty * 2, c = b + a\n" PROV,
		&cfg);
	cr_assert_eq(field(&cfg, "a"), 6);
	cr_assert_eq(field(&cfg, "b"), 7);
	cr_assert_eq(field(&cfg, "c"), 8);
	cfg_free(&cfg);
}

Test(derive_conf, errors_at_their_line_and_column)
{
	cr_assert_str_eq(load_bad(HEAD "derive = a = b + 1, b = a * 2\n" PROV),
			 NAME ":6: invalid value 'a = b + 1, b = a * 2' for key "
			 "'derive' in [aggregate]: derived fields that read "
			 "each other in a cycle: a, b");
	cr_assert_str_eq(load_bad(HEAD "derive = x = qtty * 2\n" PROV),
			 NAME ":6: derive x in [aggregate]: unknown field "
			 "\"qtty\" at column 5; did you mean \"qty\"?");
	cr_assert_str_eq(load_bad(HEAD "derive = x = country + 1\n" PROV),
			 NAME ":6: derive x in [aggregate]: operator "
			 "+ cannot take text and int at column 13");
	cr_assert_str_eq(load_bad(HEAD "derive = qty = 1\n" PROV),
			 NAME ":6: derive in [aggregate]: 'qty' is already a "
			 "field (give this one another name with 'as NAME')");
	cr_assert_str_eq(load_bad(HEAD "where = qty + 1\n" PROV),
			 NAME ":6: where in [aggregate] must be true or false "
			 "(a bool expression); this one is int");
	cr_assert_str_eq(load_bad(HEAD PROV "where = nte LIKE 'a%'\n"),
			 NAME ":9: where in [provider f]: unknown field "
			 "\"nte\" at column 1; did you mean \"note\"?");
	cr_assert_str_eq(load_bad(HEAD "group_by = qty * 2\n" PROV),
			 NAME ":6: invalid value 'qty * 2' for key 'group_by' "
			 "in [aggregate]: name this expression's column: EXPR "
			 "as NAME");
	cr_assert_str_eq(load_bad(HEAD "aggregates = count(*) filter "
				  "(where qty) as n\n" PROV),
			 NAME ":6: aggregate 1's filter in [aggregate] must be "
			 "true or false (a bool expression); this one is int");
	cr_assert_str_eq(load_bad(HEAD "aggregates = sum(qty / pric)\n" PROV),
			 NAME ":6: aggregate 1's argument in [aggregate]: "
			 "unknown field \"pric\" at column 11; did you mean "
			 "\"price\"?");
	cr_assert_str_eq(load_bad(HEAD "aggregates = sum(note || 'x')\n" PROV),
			 NAME ":6: invalid value 'sum(note || 'x')' for key "
			 "'aggregates' in [aggregate]: sum needs an int, float "
			 "or decimal field; the expression is text");
	cr_assert_str_eq(load_bad(HEAD "derive = x = qty * , y = 2\n" PROV),
			 NAME ":6: derive x in [aggregate]: syntax error at end "
			 "of expression at column 11");
	/* A derived field has no source. */
	cr_assert_str_eq(load_bad(HEAD "derive = a = qty * 2\n" PROV
				  "map = a = x\n"),
			 NAME ":10: invalid value 'a' for key 'map' in "
			 "[provider f]: not a field declared in [aggregate] "
			 "fields");
}

Test(derive_conf, group_by_expressions_and_aggregate_arguments)
{
	struct cfg cfg;
	int month, arg, filt, cnt;

	load_ok(HEAD
		"group_by = date_trunc('month', day) as month, country,\n"
		"  date_trunc('day', day)\n"
		"aggregates = sum(qty * price) as revenue, sum(qty * price),\n"
		"  count(*) filter (where note LIKE 'b%'),\n"
		"  max(price) filter (where qty > 1) as top, sum(qty)\n"
		PROV, &cfg);
	month = field(&cfg, "month");
	cr_assert_geq(month, 6);
	cr_assert_eq(cfg.schema.fields[month].type, REC_TIMESTAMP);
	cr_assert_eq(cfg.ngroup_by, 3);
	cr_assert_eq(cfg.group_by[0], month);
	cr_assert_eq(cfg.group_by[1], field(&cfg, "country"));
	/* Named as PostgreSQL names the column of a function call. */
	cr_assert_eq(cfg.group_by[2], field(&cfg, "date_trunc"));
	cr_assert_eq(cfg.naggs, 5);
	cr_assert_str_eq(cfg.aggs[0].name, "revenue");
	arg = cfg.aggs[0].field;
	cr_assert(cfg.hidden[arg - cfg.nfields_declared]);
	cr_assert_eq(cfg.aggs[0].type, REC_DECIMAL);
	cr_assert_eq(cfg.aggs[0].filter, -1);
	cr_assert_str_eq(cfg.aggs[1].name, "sum");
	cr_assert_str_eq(cfg.aggs[2].name, "count");
	filt = cfg.aggs[2].filter;
	cr_assert_geq(filt, cfg.nfields_declared);
	cr_assert_eq(cfg.schema.fields[filt].type, REC_BOOL);
	/* count(*) under a filter counts a value NULL where it fails. */
	cnt = cfg.aggs[2].field;
	cr_assert_eq(cfg.aggs[2].kind, CFG_AGG_COUNT);
	cr_assert_eq(cfg.guard[cnt - cfg.nfields_declared], filt);
	cr_assert_str_eq(cfg.aggs[3].name, "top");
	cr_assert_eq(cfg.schema.fields[cfg.aggs[3].field].type, REC_DECIMAL);
	cr_assert_eq(cfg.guard[cfg.aggs[3].field - cfg.nfields_declared],
		     cfg.aggs[3].filter);
	cr_assert_str_eq(cfg.aggs[4].name, "sum_qty");
	cr_assert_eq(cfg.aggs[4].field, field(&cfg, "qty"));
	cr_assert_eq(cfg.mode, CFG_MODE_GROUP);
	cfg_free(&cfg);
}

Test(derive_conf, no_expression_no_derived_field)
{
	struct cfg cfg;

	load_ok(HEAD "group_by = country\naggregates = sum(qty)\n" PROV, &cfg);
	cr_assert_eq(cfg.schema.nfields, cfg.nfields_declared);
	cr_assert_null(cfg.derive);
	cr_assert_null(cfg.where);
	cr_assert_null(cfg.providers[0].where);
	cr_assert_eq(cfg.aggs[0].filter, -1);
	cfg_free(&cfg);
}

/* --- end to end, against PostgreSQL ---------------------------------- */

static struct pgt_fixture fx;

PGT_SUITE(derive, fx, "dv", 300);

/*
 * n random rows with a header: id, a local time in Europe/Paris (often
 * within two hours of a month's edge, and on the nights the clocks
 * change), a country (or NULL), a quantity (0 and NULL now and then), a
 * price with cents (or NULL) and a note (or NULL).
 */
static char *rand_rows(int n, uint64_t seed)
{
	static const char *const countries[] = { "FR", "DE", "US", "ES", "" };
	static const char *const notes[] = { "big", "bulk", "small", "",
					     "b%x", "Big" };
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	fprintf(f, "id,day,country,qty,price,note\n");
	for (int i = 0; i < n; i++) {
		uint64_t r = tu_rng(&seed);
		int y = 2023 + (int)(r % 2), m = 1 + (int)(r / 2 % 12), d, hh;
		char qty[16] = "", price[24] = "";

		if (r / 24 % 3 == 0) {
			/* the first or last hours of a month */
			d = r / 72 % 2 ? 1 : 28;
			hh = r / 72 % 2 ? (int)(r / 144 % 3) : 21 + (int)(r / 144 % 3);
		} else if (r / 24 % 3 == 1) {
			m = r / 72 % 2 ? 3 : 10;
			d = m == 3 ? 31 - (y == 2023 ? 5 : 0) : 29 - (y == 2023 ? 0 : 2);
			hh = (int)(r / 144 % 5);
		} else {
			d = 1 + (int)(r / 72 % 28);
			hh = (int)(r / 2016 % 24);
		}
		r = tu_rng(&seed);
		if (r % 11 != 0)
			snprintf(qty, sizeof qty, "%d",
				 r % 13 == 0 ? 0 : (int)(r / 11 % 9));
		if (r / 7 % 17 != 0)
			snprintf(price, sizeof price, "%s%d.%02d",
				 r / 119 % 10 == 0 ? "-" : "",
				 (int)(r / 1190 % 1000), (int)(r / 7 % 100));
		fprintf(f, "%d,%04d-%02d-%02d %02d:%02d:00,%s,%s,%s,%s\n", i, y,
			m, d, hh, (int)(r / 3 % 60),
			countries[tu_rng(&seed) % 5], qty, price,
			notes[tu_rng(&seed) % 6]);
	}
	fclose(f);
	return out;
}

/* Load rows into PostgreSQL as table fx.table, read in Europe/Paris. */
static void load_rows(const char *rows)
{
	pgt_sql(fx.db, "SET TimeZone = 'Europe/Paris'");
	pgt_table(fx.db, fx.table, "id int, day timestamptz, country text,"
		  " qty bigint, price numeric(10,2), note text", rows, true);
	/* The file provider reads an empty field as NULL, as COPY does. */
}

#define UTC_TEXT(x) "to_char((" x ") AT TIME ZONE 'UTC'," \
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

Test(derive, group_by_expressions_and_filters_match_postgres)
{
	char *rows = rand_rows(tu_scale(6000), 0xd371e5eedULL);
	char *want, *got;
	struct tu_result r;

	load_rows(rows);
	want = pgt_copy_csv(fx.db, 
		"SELECT " UTC_TEXT("date_trunc('month', day)") " AS month,"
		" region, size, count(*) AS n, sum(amount) AS revenue,"
		" sum(qty * price) FILTER (WHERE note LIKE 'b%%') AS big_rev,"
		" count(*) FILTER (WHERE qty > 2) AS many,"
		" min(amount) AS lo, max(price * 2) AS hi2,"
		" count(note) FILTER (WHERE note IN ('big', 'Big')) AS bigs,"
		" " UTC_TEXT("max(date_trunc('day', day))") " AS last_day"
		" FROM (SELECT *, qty * price AS amount,"
		"  CASE WHEN qty >= 5 THEN 'big' WHEN qty >= 1 THEN 'small'"
		"  ELSE 'none' END AS size,"
		"  coalesce(country, 'XX') AS region FROM %s) s"
		" WHERE region IN ('FR', 'DE', 'XX') OR note LIKE 'b%%'"
		" GROUP BY date_trunc('month', day), region, size"
		" ORDER BY date_trunc('month', day), region COLLATE \"C\","
		" size COLLATE \"C\"", fx.table);

	tu_put(fx.dir, "data.csv", rows);
	got = pgt_run(&fx, HEAD
		"derive = amount = qty * price,\n"
		"  size = CASE WHEN qty >= 5 THEN 'big' WHEN qty >= 1 THEN\n"
		"    'small' ELSE 'none' END,\n"
		"  region = coalesce(country, 'XX')\n"
		"where = region IN ('FR', 'DE', 'XX') OR note LIKE 'b%'\n"
		"group_by = date_trunc('month', day) as month, region, size\n"
		"aggregates = count(*) as n, sum(amount) as revenue,\n"
		"  sum(qty * price) filter (where note LIKE 'b%') as big_rev,\n"
		"  count(*) filter (where qty > 2) as many,\n"
		"  min(amount) as lo, max(price * 2) as hi2,\n"
		"  count(note) filter (where note IN ('big', 'Big')) as bigs,\n"
		"  max(date_trunc('day', day)) as last_day\n"
		PROV, &r);
	cr_assert_str_eq(got, want, "aggregate:\n%s\nPostgreSQL:\n%s", got,
			 want);
	tu_result_free(&r);
	free(got);
	free(want);
	free(rows);
}

/* The records, rejects of provider name in the run's summary on stderr. */
static void summary_of(const char *err_text, const char *name,
		       long *records, long *rejects)
{
	const char *l = err_text;
	size_t n = strlen(name);

	for (; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char status[32];

		if (strncmp(l, name, n) == 0 && l[n] == ' ' &&
		    sscanf(l + n, "%31s %ld %ld", status, records, rejects) == 3)
			return;
	}
	cr_assert_fail("no summary line for %s in:\n%s", name, err_text);
}

Test(derive, provider_where_filters_in_the_provider)
{
	char *rows = rand_rows(tu_scale(3000), 0xabcdef0123ULL);
	char *want, *got, *n_lo, *n_hi;
	struct tu_result r;
	long rec_lo, rec_hi, rej;

	load_rows(rows);
	want = pgt_copy_csv(fx.db, "SELECT coalesce(country, 'XX') AS c, count(*) AS n,"
		      " sum(qty) AS q FROM %s"
		      " WHERE price IS NOT NULL"
		      " GROUP BY 1 ORDER BY 1", fx.table);
	n_lo = pgt_copy_csv(fx.db, "SELECT count(*) FROM %s WHERE qty < 3", fx.table);
	n_hi = pgt_copy_csv(fx.db, "SELECT count(*) FROM %s WHERE qty >= 3 OR qty IS NULL",
		      fx.table);

	tu_put(fx.dir, "data.csv", rows);
	got = pgt_run(&fx, HEAD
		"where = price IS NOT NULL\n"
		"group_by = coalesce(country, 'XX') as c\n"
		"aggregates = count(*) as n, sum(qty) as q\n"
		"[provider lo]\n"
		"type = file\n"
		"path = data.csv\n"
		"where = qty < 3\n"
		"[provider hi]\n"
		"type = file\n"
		"path = data.csv\n"
		"where = qty >= 3 OR qty IS NULL\n", &r);
	cr_assert_str_eq(got, want, "aggregate:\n%s\nPostgreSQL:\n%s", got,
			 want);
	/*
	 * Each provider's records are those its own where keeps (the global
	 * one is counted in neither: it drops a record in the provider too).
	 */
	summary_of(r.err, "lo", &rec_lo, &rej);
	summary_of(r.err, "hi", &rec_hi, &rej);
	{
		long lo_all = strtol(strchr(n_lo, '\n') + 1, NULL, 10);
		long hi_all = strtol(strchr(n_hi, '\n') + 1, NULL, 10);
		char *q = pgt_copy_csv(fx.db, "SELECT count(*) FILTER (WHERE qty < 3),"
				 " count(*) FILTER (WHERE qty >= 3 OR qty IS NULL)"
				 " FROM %s WHERE price IS NOT NULL", fx.table);
		long lo_kept, hi_kept;

		cr_assert_eq(sscanf(strchr(q, '\n') + 1, "%ld,%ld", &lo_kept,
				    &hi_kept), 2);
		cr_assert_eq(rec_lo, lo_kept, "lo: %ld records, %ld kept "
			     "(%ld before where)", rec_lo, lo_kept, lo_all);
		cr_assert_eq(rec_hi, hi_kept, "hi: %ld records, %ld kept "
			     "(%ld before where)", rec_hi, hi_kept, hi_all);
		cr_assert_lt(rec_lo, lo_all);
		free(q);
	}
	tu_result_free(&r);
	free(n_lo);
	free(n_hi);
	free(got);
	free(want);
	free(rows);
}

Test(derive, division_by_zero_is_a_reject_with_its_position)
{
	char *rows = rand_rows(tu_scale(2000), 0x7777abcdULL);
	char *want, *got, *rej, *nz;
	struct tu_result r;
	long zeros, lines = 0;

	load_rows(rows);
	/*
	 * The rows PostgreSQL would fail on are the rejects (NULL / 0 is
	 * NULL, not an error); the rest add up.
	 */
	want = pgt_copy_csv(fx.db, "SELECT country, count(*) AS n,"
		      " sum(round(price / qty, 2)) AS per FROM %s"
		      " WHERE (qty IS DISTINCT FROM 0 OR price IS NULL)"
		      " AND id < 1500"
		      " GROUP BY country ORDER BY country COLLATE \"C\"", fx.table);
	nz = pgt_copy_csv(fx.db, "SELECT count(*) FROM %s WHERE qty = 0 AND id < 1500"
		    " AND price IS NOT NULL", fx.table);
	zeros = strtol(strchr(nz, '\n') + 1, NULL, 10);
	cr_assert_gt(zeros, 0);

	tu_put(fx.dir, "data.csv", rows);
	got = pgt_run(&fx, HEAD
		"derive = per = price / qty\n"
		"where = id < 1500\n"
		"group_by = country\n"
		"aggregates = count(*) as n, sum(round(per, 2)) as per\n"
		"reject_file = rej.jsonl\n"
		"max_rejects = 100000\n"
		PROV, &r);
	rej = tu_get(fx.dir, "rej.jsonl");
	cr_assert_not_null(rej);
	for (const char *l = rej; *l; l = strchr(l, '\n') + 1) {
		long line;

		cr_assert(sscanf(l, "{\"provider\":\"f\",\"position\":\"data.csv:%ld\","
				 "\"reason\":\"derive per: division by zero\"",
				 &line) == 1, "%s", l);
		/* The line holds a quantity of 0 (the header is line 1). */
		cr_assert_not_null(strstr(l, ",0,"), "%s", l);
		lines++;
		if (!strchr(l, '\n'))
			break;
	}
	cr_assert_eq(lines, zeros);
	cr_assert_str_eq(got, want, "aggregate:\n%s\nPostgreSQL:\n%s", got,
			 want);
	tu_result_free(&r);
	free(rej);
	free(nz);
	free(got);
	free(want);
	free(rows);
}

Test(derive, union_mode_writes_derived_fields_after_the_declared)
{
	struct tu_result r;
	char *got;

	tu_put(fx.dir, "data.csv",
	       "id,day,country,qty,price,note\n"
	       "1,2024-03-31 01:30:00,FR,2,10.50,a\n"
	       "2,2024-03-31 03:30:00,,3,1.25,b\n"
	       "3,2024-01-01 00:00:00,DE,4,2.00,c\n");
	got = pgt_run(&fx, HEAD
		"derive = amount = qty * price,\n"
		"  day_local = strftime('%Y-%m-%d %H:%M', day)\n"
		"where = coalesce(country, '') <> 'DE'\n"
		PROV, &r);
	cr_assert_str_eq(got,
		"provider,id,day,country,qty,price,note,amount,day_local\n"
		"f,1,2024-03-31T00:30:00Z,FR,2,10.50,a,21.00,2024-03-31 01:30\n"
		"f,2,2024-03-31T01:30:00Z,,3,1.25,b,3.75,2024-03-31 03:30\n");
	tu_result_free(&r);
	free(got);
}

/* A SQLite provider: its direct encoding gives way to the computed path. */
Test(derive, sqlite_provider_computes_and_rejects_at_its_key)
{
	char *rows = rand_rows(tu_scale(3000), 0x5151c0deULL);
	char *want, *got, *rej, *path, *sqlerr = NULL, *line, *save = NULL;
	char *copy;
	struct tu_result r;
	sqlite3 *sq;
	sqlite3_stmt *st;
	long nrej = 0, zeros;
	char *nz;

	load_rows(rows);
	want = pgt_copy_csv(fx.db, "SELECT coalesce(country, 'XX') AS c, count(*) AS n,"
		      " sum(qty * price) FILTER (WHERE note LIKE 'b%%')"
		      " AS big, max(round(price / qty, 4)) AS top"
		      " FROM %s WHERE qty IS DISTINCT FROM 0 OR price IS NULL"
		      " GROUP BY 1 ORDER BY 1", fx.table);
	nz = pgt_copy_csv(fx.db, "SELECT count(*) FROM %s WHERE qty = 0"
		    " AND price IS NOT NULL", fx.table);
	zeros = strtol(strchr(nz, '\n') + 1, NULL, 10);

	path = tu_path(fx.dir, "s.db");
	cr_assert_eq(sqlite3_open(path, &sq), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(sq, "CREATE TABLE t (id INTEGER PRIMARY KEY,"
				  " day TEXT, country TEXT, qty INTEGER,"
				  " price TEXT, note TEXT)", NULL, NULL,
				  &sqlerr), SQLITE_OK, "%s", sqlerr);
	cr_assert_eq(sqlite3_prepare_v2(sq, "INSERT INTO t VALUES"
					" (?, ?, ?, ?, ?, ?)", -1, &st, NULL),
		     SQLITE_OK);
	copy = strdup(rows);
	line = strtok_r(copy, "\n", &save); /* the header */
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *f[6], *c = line;

		for (int i = 0; i < 6; i++) {
			f[i] = c;
			c = strchr(c, ',');
			if (c)
				*c++ = '\0';
		}
		for (int i = 0; i < 6; i++)
			if (*f[i])
				sqlite3_bind_text(st, i + 1, f[i], -1,
						  SQLITE_TRANSIENT);
			else
				sqlite3_bind_null(st, i + 1);
		cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	sqlite3_finalize(st);
	sqlite3_close(sq);
	free(copy);

	got = pgt_run(&fx, HEAD
		"derive = per = price / qty\n"
		"group_by = coalesce(country, 'XX') as c\n"
		"aggregates = count(*) as n,\n"
		"  sum(qty * price) filter (where note LIKE 'b%') as big,\n"
		"  max(round(per, 4)) as top\n"
		"reject_file = rej.jsonl\n"
		"max_rejects = 100000\n"
		"[provider s]\n"
		"type = sqlite\n"
		"path = s.db\n"
		"query = SELECT id, day, country, qty, price, note FROM t"
		" ORDER BY id\n"
		"key = id\n", &r);
	cr_assert_str_eq(got, want, "aggregate:\n%s\nPostgreSQL:\n%s", got,
			 want);
	rej = tu_get(fx.dir, "rej.jsonl");
	cr_assert_not_null(rej);
	for (const char *l = rej; l && *l; l = strchr(l, '\n') ?
				       strchr(l, '\n') + 1 : NULL) {
		long key;

		cr_assert(sscanf(l, "{\"provider\":\"s\",\"position\":"
				 "\"row key=%ld\",\"reason\":\"derive per: "
				 "division by zero\"", &key) == 1, "%s", l);
		nrej++;
	}
	cr_assert_eq(nrej, zeros);
	tu_result_free(&r);
	free(rej);
	free(nz);
	free(path);
	free(got);
	free(want);
	free(rows);
}
