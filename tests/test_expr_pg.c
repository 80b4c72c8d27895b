/*
 * test_expr_pg.c - the expression engine against a real PostgreSQL.
 *
 * The same rows go into a PostgreSQL table and into the engine's values:
 * ints (with zeros and values near the ends of bigint), floats, decimals
 * numeric(12,2) and numeric(20,6), texts, bools, timestamps around the
 * days clocks change and the ends of months and years, dates, and NULLs.
 * Each expression, from a fixed list and from a small random grammar, is
 * evaluated by both, with the session's TimeZone set to the zone given to
 * expr_compile, for three zones.  Results compare as text, as PostgreSQL
 * writes them, exactly, but for these documented differences:
 *   - a decimal result has one scale for every row (PostgreSQL's numeric
 *     carries a scale per value): PostgreSQL's value must equal ours once
 *     padded, or, when it has more digits (a division), round to ours;
 *   - decimals are limited to 38 digits: where ours overflows,
 *     PostgreSQL's value must need more than 38 digits at our scale;
 *   - time_bucket and strftime are not PostgreSQL's: they are compared
 *     with date_bin over local time and with to_char.
 * A record's error (overflow, division by zero, a bad cast) must be an
 * error in PostgreSQL too, whatever its words.
 */
#include <criterion/criterion.h>

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/convert.h"
#include "../common/decimal.h"
#include "../common/expr.h"
#include "../common/expr_int.h"
#include "../common/tz.h"
#include "helpers/pgtest.h"
#include "helpers/testutil.h"

PGT_START_BEFORE_ALL()
PGT_STOP_AFTER_ALL()

enum { F_I, F_J, F_F, F_G, F_D, F_E, F_T, F_U, F_B, F_TS, F_DT, NF };

static struct rec_field fields[NF] = {
	{ "i", REC_INT, 0, 0, NULL, NULL },
	{ "j", REC_INT, 0, 0, NULL, NULL },
	{ "f", REC_FLOAT, 0, 0, NULL, NULL },
	{ "g", REC_FLOAT, 0, 0, NULL, NULL },
	{ "d", REC_DECIMAL, 12, 2, NULL, NULL },
	{ "e", REC_DECIMAL, 20, 6, NULL, NULL },
	{ "t", REC_TEXT, 0, 0, NULL, NULL },
	{ "u", REC_TEXT, 0, 0, NULL, NULL },
	{ "b", REC_BOOL, 0, 0, NULL, NULL },
	{ "ts", REC_TIMESTAMP, 0, 0, NULL, NULL },
	{ "dt", REC_DATE, 0, 0, NULL, NULL },
};
static struct rec_schema schema = { NF, fields };

#define MAXROWS 400
static int nrows;
static struct rec_value rows[MAXROWS][NF];
static PGconn *db;
static uint64_t rng = 20261206;

static const char *const texts[] = {
	"EU", "US", "", "Hello, World", "a.b.c", "x%y", "a_b", " pad ",
	"ABC", "abc", "12", "3.5", "caf\xc3\xa9", "b.", "..", "Z",
};
#define NTEXTS (sizeof texts / sizeof texts[0])

static uint64_t rnd(uint64_t n)
{
	return tu_rng(&rng) % n;
}

static void sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void sql(const char *fmt, ...)
{
	va_list ap;
	char *text;
	PGresult *res;

	va_start(ap, fmt);
	cr_assert(vasprintf(&text, fmt, ap) >= 0);
	va_end(ap);
	res = PQexec(db, text);
	cr_assert(PQresultStatus(res) == PGRES_COMMAND_OK ||
		  PQresultStatus(res) == PGRES_TUPLES_OK, "%.200s: %s", text,
		  PQerrorMessage(db));
	PQclear(res);
	free(text);
}

/* Edge instants (UTC seconds): changes of offset, ends of months and years. */
static const int64_t edge_ts[] = {
	1711846799, 1711846800, 1711848600, 1711850400, /* Paris, 2024-03-31 */
	1729989000, 1729990800, 1729992600, 1729994400, /* Paris, 2024-10-27 */
	1710052200, 1710055800, 1730611800, 1730615400, /* New York, 2024 */
	1712413800, 1712415600, 1728142200, 1728144000, /* Lord Howe, 2024 */
	1706743800, 1709249400, 1704065400, 1735689599, /* month and year ends */
	946684799, 951868800, 978307199, 1609459199,
	1709164800, 1709251199, 1719791999, 1727740799,
};

static void make_rows(void)
{
	char *ins = NULL;
	size_t inslen = 0;
	FILE *m = open_memstream(&ins, &inslen);

	cr_assert_not_null(m);
	nrows = tu_scale(MAXROWS);
	if (nrows > MAXROWS)
		nrows = MAXROWS;
	if (nrows < 60)
		nrows = 60;
	fprintf(m, "INSERT INTO r VALUES ");
	for (int k = 0; k < nrows; k++) {
		struct rec_value *v = rows[k];
		char buf[64];
		int64_t x;

		memset(v, 0, sizeof(struct rec_value) * NF);
		for (int i = 0; i < NF; i++)
			v[i].null = rnd(10) == 0;
		/* ints: small, zero, or near the ends */
		for (int i = F_I; i <= F_J; i++) {
			switch (rnd(6)) {
			case 0: x = 0; break;
			case 1: x = (int64_t)(tu_rng(&rng) >> 1) * (rnd(2) ? 1 : -1); break;
			case 2: x = rnd(2) ? INT64_MAX - (int64_t)rnd(3) : INT64_MIN + (int64_t)rnd(3); break;
			case 3: x = (int64_t)rnd(3000000000ULL) - 1500000000; break;
			default: x = (int64_t)rnd(41) - 20; break;
			}
			v[i].u.i = x;
		}
		for (int i = F_F; i <= F_G; i++) {
			switch (rnd(6)) {
			case 0: v[i].u.f = 0; break;
			case 1: v[i].u.f = ((double)(int64_t)rnd(200001) - 100000) / 8; break;
			case 2: v[i].u.f = rnd(2) ? 1e300 : -1e-300; break;
			case 3: v[i].u.f = (double)((int64_t)rnd(2000000) - 1000000) / 1000; break;
			default: {
				uint64_t bits = tu_rng(&rng);
				double d;

				bits &= ~(0x7FFULL << 52);
				bits |= (uint64_t)(1023 - 30 + rnd(60)) << 52;
				memcpy(&d, &bits, sizeof d);
				v[i].u.f = d;
				break;
			}
			}
		}
		{
			__int128 dd = (__int128)((int64_t)rnd(1999999999999ULL) - 999999999999LL);
			__int128 ee = (__int128)(int64_t)(tu_rng(&rng) >> 2) * (rnd(2) ? 1 : -1);

			if (rnd(4) == 0)
				dd = (int64_t)rnd(2001) - 1000;
			if (rnd(4) == 0)
				ee = (int64_t)rnd(20000001) - 10000000;
			rec_set_dec(&v[F_D], dd);
			rec_set_dec(&v[F_E], ee);
		}
		for (int i = F_T; i <= F_U; i++) {
			const char *s = texts[rnd(NTEXTS)];

			v[i].u.s.p = s;
			v[i].u.s.len = (uint32_t)strlen(s);
		}
		v[F_B].u.b = rnd(2);
		if (rnd(3) == 0)
			v[F_TS].u.i = edge_ts[rnd(sizeof edge_ts / sizeof edge_ts[0])] * 1000000LL +
				      (rnd(3) == 0 ? (int64_t)rnd(1000000) : 0);
		else
			v[F_TS].u.i = (631152000LL + (int64_t)rnd(1577836800ULL)) * 1000000LL +
				      (rnd(2) ? (int64_t)rnd(1000000) : 0);
		v[F_DT].u.i = rnd(3) == 0 ? edge_ts[rnd(sizeof edge_ts / sizeof edge_ts[0])] / 86400
					  : 7305 + (int64_t)rnd(18262);

		fprintf(m, "%s(%d", k ? ", " : "", k);
		for (int i = 0; i < NF; i++) {
			if (v[i].null) {
				fprintf(m, ", NULL");
				continue;
			}
			switch (fields[i].type) {
			case REC_INT: fprintf(m, ", %lld", (long long)v[i].u.i); break;
			case REC_FLOAT: fprintf(m, ", '%.17g'", v[i].u.f); break;
			case REC_DECIMAL:
				dec_format(rec_dec(&v[i]), fields[i].scale, buf);
				fprintf(m, ", %s", buf);
				break;
			case REC_TEXT: fprintf(m, ", '%s'", v[i].u.s.p); break;
			case REC_BOOL: fprintf(m, ", %s", v[i].u.b ? "true" : "false"); break;
			case REC_TIMESTAMP:
				conv_format_timestamp(v[i].u.i, buf);
				fprintf(m, ", '%s'", buf);
				break;
			case REC_DATE:
				conv_format_date(v[i].u.i, buf);
				fprintf(m, ", '%s'", buf);
				break;
			default: break;
			}
		}
		fprintf(m, ")");
	}
	fclose(m);
	sql("CREATE TEMP TABLE r (id int, i bigint, j bigint, f float8, g float8, "
	    "d numeric(12,2), e numeric(20,6), t text COLLATE \"C\", u text COLLATE \"C\", "
	    "b boolean, ts timestamptz, dt date)");
	sql("%s", ins);
	free(ins);
	/* Each row alone, its error caught: for expressions that fail on some rows. */
	sql("CREATE FUNCTION pg_temp.ev(q text) RETURNS TABLE(id int, v text, err text) "
	    "LANGUAGE plpgsql AS $$ DECLARE k int; BEGIN "
	    "FOR k IN SELECT r.id FROM r ORDER BY 1 LOOP "
	    "BEGIN EXECUTE format('SELECT (%%s)::text FROM r WHERE id = $1', q) INTO v USING k; err := NULL; "
	    "EXCEPTION WHEN others THEN v := NULL; err := SQLERRM; END; "
	    "id := k; RETURN NEXT; END LOOP; END $$");
}

static void setup(void)
{
	const char *skip = getenv("AGG_PG_SKIP");

	if (skip)
		cr_assert_fail("no PostgreSQL server: %s", skip);
	db = PQconnectdb("");
	cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s", PQerrorMessage(db));
	sql("SET client_min_messages = warning");
	sql("SET extra_float_digits = 1");
	sql("SET DateStyle = ISO");
	make_rows();
}

static void teardown(void)
{
	PQfinish(db);
	db = NULL;
}

TestSuite(expr_pg, .init = setup, .fini = teardown, .timeout = 600);

/* One row's result: NULL, a value as text, or an error. */
struct res {
	bool null, error;
	char text[512];
};

/* A decimal's digits as an integer and a scale; false if it is not one. */
static bool read_dec(const char *s, __int128 *v, int *scale, int *ndigits)
{
	const char *dot = strchr(s, '.');
	bool neg = *s == '-';
	__int128 x = 0;
	int n = 0, sig = 0;

	*scale = dot ? (int)strlen(dot + 1) : 0;
	for (s += neg; *s; s++) {
		if (*s == '.')
			continue;
		if (*s < '0' || *s > '9')
			return false;
		if (sig || *s != '0')
			sig++;
		if (n++ > 60 || sig > 38)
			return (*ndigits = sig + (int)strlen(s) - 1, *v = 0, true);
		x = x * 10 + (*s - '0');
	}
	*v = neg ? -x : x;
	*ndigits = sig;
	return true;
}

static __int128 round_to(__int128 v, int from, int to)
{
	__int128 p = dec_pow10(from - to), q = v / p, r = v % p;

	if (r >= p - r && r > 0)
		q++;
	if (-r >= p + r && r < 0)
		q--;
	return q;
}

/* Whether our result and PostgreSQL's agree (the header's rules). */
static bool agree(struct expr_type t, const struct res *ours, const struct res *pg)
{
	if (ours->error || pg->error) {
		if (ours->error && !pg->error && t.type == REC_DECIMAL && !pg->null &&
		    strstr(ours->text, "numeric field overflow")) {
			__int128 v;
			int s, nd;

			/* Past 38 digits at our scale: ours overflows, PostgreSQL's does not. */
			if (read_dec(pg->text, &v, &s, &nd) &&
			    nd - s + t.scale > DEC_MAX_PRECISION)
				return true;
		}
		return ours->error && pg->error;
	}
	if (ours->null || pg->null)
		return ours->null && pg->null;
	if (strcmp(ours->text, pg->text) == 0)
		return true;
	if (t.type == REC_DECIMAL) {
		__int128 a, b;
		int sa, sb, na, nb;

		if (!read_dec(ours->text, &a, &sa, &na) || !read_dec(pg->text, &b, &sb, &nb) ||
		    na > 38 || nb > 60)
			return false;
		if (sb <= sa)
			return expr_dec_cmp(a, sa, b, sb) == 0;
		if (sb - sa > 38)
			return false;
		if (round_to(b, sb, sa) == a)
			return true;
		/* PostgreSQL's own rounding may have made the tie we rounded. */
		return false;
	}
	if (t.type == REC_FLOAT) {
		double x = strtod(ours->text, NULL), y = strtod(pg->text, NULL);

		return memcmp(&x, &y, sizeof x) == 0;
	}
	return false;
}

static int mismatches;

/* Evaluate engine text e and PostgreSQL text p over every row; count what differs. */
static void compare(const struct tz *z, const char *e, const char *p)
{
	struct expr_error err;
	struct expr_prog *prog = expr_compile(e, &schema, z, &err);
	struct expr_frame *f;
	struct expr_type t;
	struct res *pg = calloc((size_t)nrows, sizeof *pg);
	PGresult *res;
	char *q;
	int shown = 0;

	cr_assert_not_null(pg);
	cr_assert_not_null(prog, "%s: %s", e, err.msg);
	t = expr_result_type(prog);
	f = expr_frame_new(prog);
	cr_assert_not_null(f);
	cr_assert(asprintf(&q, "SELECT id, (%s)::text FROM r ORDER BY id", p) > 0);
	res = PQexec(db, q);
	free(q);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *params[1] = { p };

		PQclear(res);
		res = PQexecParams(db, "SELECT id, v, err FROM pg_temp.ev($1)", 1, NULL,
				   params, NULL, NULL, 0);
		cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s: %s", p,
			     PQerrorMessage(db));
	}
	cr_assert_eq(PQntuples(res), nrows, "%s", p);
	for (int k = 0; k < nrows; k++) {
		struct res ours = { 0 };
		struct rec_value v;
		char reason[EXPR_REASON_MAX];

		if (PQnfields(res) == 3 && !PQgetisnull(res, k, 2)) {
			pg[k].error = true;
			snprintf(pg[k].text, sizeof pg[k].text, "%s", PQgetvalue(res, k, 2));
		} else if (PQgetisnull(res, k, 1)) {
			pg[k].null = true;
		} else {
			snprintf(pg[k].text, sizeof pg[k].text, "%s", PQgetvalue(res, k, 1));
		}
		if (expr_eval(prog, rows[k], f, &v, reason, sizeof reason) < 0) {
			ours.error = true;
			snprintf(ours.text, sizeof ours.text, "%s", reason);
		} else if (v.null) {
			ours.null = true;
		} else {
			expr_format(t, &v, z, ours.text, sizeof ours.text);
		}
		if (!agree(t, &ours, &pg[k])) {
			mismatches++;
			if (shown++ < 3)
				cr_log_error("%s | row %d: ours %s%s, PostgreSQL %s%s\n   (%s)",
					     e, k, ours.error ? "ERROR " : "",
					     ours.null ? "NULL" : ours.text,
					     pg[k].error ? "ERROR " : "",
					     pg[k].null ? "NULL" : pg[k].text, p);
		}
	}
	PQclear(res);
	free(pg);
	expr_frame_free(f);
	expr_free(prog);
}

static const char *const zones[] = { "Europe/Paris", "Australia/Lord_Howe",
				     "America/New_York" };

static struct tz *set_zone(int k)
{
	char err[256];
	struct tz *z = tz_load(zones[k], err, sizeof err);

	cr_assert_not_null(z, "%s", err);
	sql("SET TimeZone = '%s'", zones[k]);
	return z;
}

/* Engine text, and PostgreSQL's when it differs ($Z: the zone's name). */
static const char *const fixed[][2] = {
	{ "i + j", NULL }, { "i - j", NULL }, { "i * j", NULL }, { "i / j", NULL },
	{ "i % j", NULL }, { "-i", NULL }, { "abs(i)", NULL }, { "i + 1", NULL },
	{ "f + g", NULL }, { "f - g", NULL }, { "f * g", NULL }, { "f / g", NULL },
	{ "f + i", NULL }, { "f * d", NULL }, { "round(f)", NULL }, { "floor(g)", NULL },
	{ "ceil(f)", NULL }, { "abs(f)", NULL }, { "f::text", NULL }, { "g::text", NULL },
	{ "d + e", NULL }, { "d - e", NULL }, { "d * e", NULL }, { "d * d * d", NULL },
	{ "e * e * e", NULL }, { "d % e", NULL }, { "d + i", NULL }, { "d * i", NULL },
	{ "d / e", NULL }, { "e / d", NULL }, { "d / i", NULL }, { "i / d", NULL },
	{ "d / 7", NULL }, { "e / 3.0", NULL }, { "d / 1000000", NULL },
	{ "round(e, 2)", NULL }, { "round(e)", NULL }, { "round(d, -3)", NULL },
	{ "round(e, 8)", NULL }, { "floor(e)", NULL }, { "ceil(d)", NULL },
	{ "abs(e)", NULL }, { "-d", NULL }, { "round(d / 7, 3)", NULL },
	{ "i::float8", NULL }, { "d::float8", NULL }, { "e::float8", NULL },
	{ "f::bigint", NULL }, { "d::bigint", NULL }, { "e::bigint", NULL },
	{ "i::numeric(20,2)", NULL }, { "f::numeric(30,4)", NULL },
	{ "f::numeric(12,2)", NULL }, { "e::numeric(10,1)", NULL },
	{ "i = d", NULL }, { "i < e", NULL }, { "d > e", NULL }, { "f < i", NULL },
	{ "f >= d", NULL }, { "i = f", NULL }, { "d = e", NULL }, { "i <> j", NULL },
	{ "t < u", NULL }, { "t = u", NULL }, { "t >= u", NULL }, { "b < (i > 0)", NULL },
	{ "ts < dt", NULL }, { "dt >= ts", NULL }, { "dt - 30", NULL }, { "dt + j % 1000", "dt + (j % 1000)::int4" },
	{ "dt - '2000-01-01'::date", NULL }, { "b AND i > 0", NULL },
	{ "b OR f > 0", NULL }, { "NOT b", NULL }, { "b IS NULL", NULL },
	{ "(i > j) IS NOT TRUE", NULL }, { "(i > j) IS FALSE", NULL },
	{ "i IN (0, 1, j)", NULL }, { "i NOT IN (0, j)", NULL },
	{ "t IN ('EU', 'US', u)", NULL }, { "d BETWEEN -100 AND e", NULL },
	{ "f NOT BETWEEN g AND 0", NULL },
	{ "t LIKE '%a%'", NULL }, { "t LIKE 'a_b'", NULL }, { "t LIKE '%\\%%'", NULL },
	{ "u NOT LIKE '%.'", NULL }, { "t LIKE u", NULL },
	{ "t ILIKE '%A%'", "t COLLATE \"default\" ILIKE '%A%'" },
	{ "u NOT ILIKE 'CAF_'", "u COLLATE \"default\" NOT ILIKE 'CAF_'" },
	{ "t ILIKE u", "t COLLATE \"default\" ILIKE u" },
	{ "i IS DISTINCT FROM j", NULL }, { "i IS NOT DISTINCT FROM j", NULL },
	{ "t IS DISTINCT FROM u", NULL }, { "d IS NOT DISTINCT FROM e", NULL },
	{ "f IS DISTINCT FROM g", NULL }, { "ts IS NOT DISTINCT FROM ts", NULL },
	{ "b IS DISTINCT FROM (i > 0)", NULL },
	{ "t || u", NULL }, { "t || i", NULL }, { "d || '|' || e", NULL },
	{ "b || t", NULL }, { "upper(t)", "upper(t COLLATE \"default\")" },
	{ "lower(u)", "lower(u COLLATE \"default\")" },
	{ "trim(t)", NULL }, { "btrim(t, ' .')", NULL }, { "ltrim(u, 'a.')", NULL },
	{ "length(t)", NULL }, { "substr(t, 2)", NULL }, { "substr(t, 2, 3)", NULL },
	{ "substr(t, -1, 3)", NULL }, { "replace(t, '.', '::')", NULL },
	{ "split_part(t, '.', 2)", NULL }, { "split_part(t, '.', -1)", NULL },
	{ "coalesce(t, u, 'none')", NULL }, { "coalesce(i, j)", NULL },
	{ "coalesce(d, i)", NULL }, { "nullif(i, j)", NULL }, { "nullif(t, 'EU')", NULL },
	{ "greatest(i, j, 0)", NULL }, { "least(d, e)", NULL }, { "greatest(t, u)", NULL },
	{ "least(f, g, i)", NULL }, { "greatest(ts, dt)", NULL },
	{ "CASE WHEN i > j THEN 'gt' WHEN i < j THEN 'lt' ELSE 'eq' END", NULL },
	{ "CASE t WHEN 'EU' THEN 1 WHEN 'US' THEN 2 END", NULL },
	{ "CASE WHEN j = 0 THEN NULL ELSE i / j END", NULL },
	{ "j <> 0 AND i / j > 1", NULL },
	{ "CASE WHEN b THEN d ELSE e END", NULL },
	{ "ts::text", NULL }, { "ts::date", NULL }, { "dt::timestamptz", NULL },
	{ "dt::text", NULL }, { "ts::date::text", NULL },
	{ "t::int", NULL }, { "t::numeric(10,2)", NULL }, { "t::float8", NULL },
	{ "date_trunc('hour', ts)", NULL }, { "date_trunc('minute', ts)", NULL },
	{ "date_trunc('day', ts)", NULL }, { "date_trunc('week', ts)", NULL },
	{ "date_trunc('month', ts)", NULL }, { "date_trunc('quarter', ts)", NULL },
	{ "date_trunc('year', ts)", NULL }, { "date_trunc('second', ts)", NULL },
	{ "date_trunc('day', dt)", NULL }, { "date_trunc('week', dt)", NULL },
	{ "date_trunc('month', dt)", NULL }, { "date_trunc('year', dt)", NULL },
	{ "extract(year from ts)", NULL }, { "extract(month from ts)", NULL },
	{ "extract(day from ts)", NULL }, { "extract(hour from ts)", NULL },
	{ "extract(minute from ts)", NULL }, { "extract(second from ts)", NULL },
	{ "extract(dow from ts)", NULL }, { "extract(doy from ts)", NULL },
	{ "extract(week from ts)", NULL }, { "extract(quarter from ts)", NULL },
	{ "extract(epoch from ts)", NULL }, { "extract(isoyear from ts)", NULL },
	{ "extract(year from dt)", NULL }, { "extract(week from dt)", NULL },
	{ "extract(dow from dt)", NULL }, { "extract(epoch from dt)", NULL },
	{ "extract(hour from ts) + 1", NULL }, { "extract(month from dt) / 2", NULL },
	{ "time_bucket('15m', ts)",
	  "date_bin('15 minutes', ts AT TIME ZONE '$Z', '2000-01-03') AT TIME ZONE '$Z'" },
	{ "time_bucket('1 hour', ts)",
	  "date_bin('1 hour', ts AT TIME ZONE '$Z', '2000-01-03') AT TIME ZONE '$Z'" },
	{ "time_bucket('6h', ts)",
	  "date_bin('6 hours', ts AT TIME ZONE '$Z', '2000-01-03') AT TIME ZONE '$Z'" },
	{ "time_bucket('1 day', ts)",
	  "date_bin('1 day', ts AT TIME ZONE '$Z', '2000-01-03') AT TIME ZONE '$Z'" },
	{ "time_bucket('1 week', ts)", "date_trunc('week', ts)" },
	{ "time_bucket('1 month', ts)", "date_trunc('month', ts)" },
	{ "time_bucket('3 months', ts)", "date_trunc('quarter', ts)" },
	{ "time_bucket('1 year', ts)", "date_trunc('year', ts)" },
	{ "time_bucket('1 month', dt)", "date_trunc('month', dt)::date" },
	{ "strftime('%Y-%m-%d %H:%M:%S', ts)", "to_char(ts, 'YYYY-MM-DD HH24:MI:SS')" },
	{ "strftime('%j %V %G %u', ts)", "to_char(ts, 'DDD IW IYYY ID')" },
	{ "strftime('%a %b %d %I %p %y', ts)", "to_char(ts, 'Dy Mon DD HH12 AM YY')" },
	{ "strftime('%B %A %f', ts)", "to_char(ts, 'FMMonth FMDay US')" },
	{ "strftime('%Y/%m/%d', dt)", "to_char(dt, 'YYYY/MM/DD')" },
};

/* --- the random grammar ------------------------------------------------ */

enum { G_INT, G_FLOAT, G_DEC, G_TEXT, G_BOOL, G_TS, G_DATE, G_N };

struct gen {
	char e[8192], p[8192];
	size_t el, pl;
};

static void both(struct gen *g, const char *s)
{
	size_t n = strlen(s);

	if (g->el + n < sizeof g->e && g->pl + n < sizeof g->p) {
		memcpy(g->e + g->el, s, n + 1);
		memcpy(g->p + g->pl, s, n + 1);
		g->el += n;
		g->pl += n;
	}
}

static void split(struct gen *g, const char *e, const char *p)
{
	size_t ne = strlen(e), np = strlen(p);

	if (g->el + ne < sizeof g->e && g->pl + np < sizeof g->p) {
		memcpy(g->e + g->el, e, ne + 1);
		memcpy(g->p + g->pl, p, np + 1);
		g->el += ne;
		g->pl += np;
	}
}

/* An int literal: bigint in PostgreSQL too. */
static void int_lit(struct gen *g, long long v)
{
	char e[32], p[40];

	snprintf(e, sizeof e, "%lld", v);
	snprintf(p, sizeof p, "%lld::int8", v);
	split(g, e, p);
}

static bool gen(struct gen *g, int type, int depth);

static const char *const cols[G_N][2] = {
	{ "i", "j" }, { "f", "g" }, { "d", "e" }, { "t", "u" }, { "b", "b" },
	{ "ts", "ts" }, { "dt", "dt" },
};

static bool column(struct gen *g, int type)
{
	both(g, cols[type][rnd(2)]);
	return true;
}

static bool leaf(struct gen *g, int type)
{
	char buf[64];

	if (rnd(10) < 7)
		return column(g, type);
	switch (type) {
	case G_INT: int_lit(g, (long long)rnd(25) - 5); break;
	case G_FLOAT:
		snprintf(buf, sizeof buf, "cast(%d.%d as float8)", (int)rnd(100) - 50, (int)rnd(10));
		both(g, buf);
		break;
	case G_DEC:
		snprintf(buf, sizeof buf, "%d.%02d", (int)rnd(2000) - 1000, (int)rnd(100));
		both(g, buf);
		break;
	case G_TEXT:
		snprintf(buf, sizeof buf, "'%s'", texts[rnd(NTEXTS)]);
		both(g, buf);
		break;
	case G_BOOL: both(g, rnd(2) ? "true" : "false"); break;
	case G_TS: both(g, "cast('2024-03-31 02:30:00' as timestamptz)"); break;
	case G_DATE: both(g, "cast('2024-02-29' as date)"); break;
	}
	return false;
}

/* An operand that must read a column when the other does not (so that no
 * constant subexpression can fail: PostgreSQL would fail it when planning). */
static bool gen_binop(struct gen *g, int lt, int rt, const char *op, int depth,
		      bool right_needs_col)
{
	bool lc, rc;
	size_t el = g->el, pl = g->pl;

	both(g, "(");
	lc = gen(g, lt, depth - 1);
	both(g, op);
	if (right_needs_col) {
		rc = column(g, rt);
	} else {
		size_t el2 = g->el, pl2 = g->pl;

		rc = gen(g, rt, depth - 1);
		if (!lc && !rc) {
			g->el = el2;
			g->pl = pl2;
			g->e[el2] = g->p[pl2] = '\0';
			rc = column(g, rt);
		}
	}
	both(g, ")");
	(void)el;
	(void)pl;
	return lc || rc;
}

static bool gen_fn1(struct gen *g, const char *fn, int t, int depth, bool need_col)
{
	bool c;

	both(g, fn);
	both(g, "(");
	c = need_col ? column(g, t) : gen(g, t, depth - 1);
	both(g, ")");
	return c;
}

static bool gen_case(struct gen *g, int type, int depth)
{
	bool c;

	both(g, "CASE WHEN ");
	c = gen(g, G_BOOL, depth - 1);
	both(g, " THEN ");
	c |= gen(g, type, depth - 1);
	both(g, " ELSE ");
	c |= gen(g, type, depth - 1);
	both(g, " END");
	return c;
}

static bool gen_coalesce(struct gen *g, const char *fn, int type, int depth)
{
	bool c;

	both(g, fn);
	both(g, "(");
	c = gen(g, type, depth - 1);
	both(g, ", ");
	c |= gen(g, type, depth - 1);
	both(g, ")");
	return c;
}

static const char *const cmp_ops[] = { " = ", " <> ", " < ", " <= ", " > ", " >= " };
static const char *const likes[] = { "'%a%'", "'a_c'", "'%'", "'E_'", "'%.%'",
				     "'\\%%'", "'_'", "'%b.'" };
static const char *const units_ts[] = { "hour", "day", "week", "month", "quarter",
					"year", "minute" };
static const char *const fields_ts[] = { "year", "month", "day", "hour", "minute",
					 "second", "dow", "doy", "week", "quarter",
					 "epoch", "isoyear" };

static bool gen(struct gen *g, int type, int depth)
{
	char buf[128];

	if (depth <= 0 || rnd(10) < 3)
		return leaf(g, type);
	switch (type) {
	case G_INT:
		switch (rnd(12)) {
		case 0: return gen_binop(g, G_INT, G_INT, " + ", depth, false);
		case 1: return gen_binop(g, G_INT, G_INT, " - ", depth, false);
		case 2: return gen_binop(g, G_INT, G_INT, " * ", depth, false);
		case 3: return gen_binop(g, G_INT, G_INT, " / ", depth, true);
		case 4: return gen_binop(g, G_INT, G_INT, " % ", depth, true);
		case 5: return gen_fn1(g, "abs", G_INT, depth, false);
		case 6: return gen_fn1(g, "length", G_TEXT, depth, false);
		case 7: return gen_case(g, G_INT, depth);
		case 8: return gen_coalesce(g, rnd(2) ? "coalesce" : "greatest", G_INT, depth);
		case 9:
			both(g, "cast(");
			column(g, rnd(2) ? G_FLOAT : G_DEC);
			both(g, " as bigint)");
			return true;
		case 10: return gen_binop(g, G_DATE, G_DATE, " - ", depth, false);
		default: return gen_coalesce(g, "nullif", G_INT, depth);
		}
	case G_FLOAT:
		switch (rnd(10)) {
		case 0: return gen_binop(g, G_FLOAT, G_FLOAT, " + ", depth, false);
		case 1: return gen_binop(g, G_FLOAT, G_INT, " - ", depth, false);
		case 2: return gen_binop(g, G_FLOAT, G_FLOAT, " * ", depth, false);
		case 3: return gen_binop(g, G_FLOAT, G_FLOAT, " / ", depth, true);
		case 4: return gen_binop(g, G_DEC, G_FLOAT, " + ", depth, false);
		case 5: return gen_fn1(g, rnd(2) ? "round" : "floor", G_FLOAT, depth, false);
		case 6: return gen_case(g, G_FLOAT, depth);
		case 7: return gen_coalesce(g, "least", G_FLOAT, depth);
		case 8: {
			bool c;

			both(g, "cast(");
			c = gen(g, rnd(2) ? G_INT : G_DEC, depth - 1);
			both(g, " as float8)");
			return c;
		}
		default: return gen_fn1(g, "abs", G_FLOAT, depth, false);
		}
	case G_DEC:
		switch (rnd(11)) {
		case 0: return gen_binop(g, G_DEC, G_DEC, " + ", depth, false);
		case 1: return gen_binop(g, G_DEC, G_INT, " - ", depth, false);
		case 2: return gen_binop(g, G_DEC, G_DEC, " * ", depth, false);
		case 3: return gen_binop(g, G_DEC, G_DEC, " % ", depth, true);
		case 4: {
			bool c;

			both(g, "round(");
			c = gen(g, G_DEC, depth - 1);
			snprintf(buf, sizeof buf, ", %d)", (int)rnd(6) - 1);
			both(g, buf);
			return c;
		}
		case 5: return gen_fn1(g, rnd(2) ? "floor" : "ceil", G_DEC, depth, false);
		case 6: return gen_case(g, G_DEC, depth);
		case 7: return gen_coalesce(g, "coalesce", G_DEC, depth);
		case 8: {
			both(g, "cast(");
			column(g, rnd(2) ? G_INT : G_FLOAT);
			snprintf(buf, sizeof buf, " as numeric(%d,%d))", 20 + (int)rnd(10), (int)rnd(5));
			both(g, buf);
			return true;
		}
		case 9: {
			bool ts = rnd(2);
			const char *fl = fields_ts[rnd(ts ? 12 : 12)];

			if (!ts && (!strcmp(fl, "hour") || !strcmp(fl, "minute") || !strcmp(fl, "second")))
				fl = "day";
			snprintf(buf, sizeof buf, "extract(%s from ", fl);
			both(g, buf);
			gen(g, ts ? G_TS : G_DATE, depth - 1);
			both(g, ")");
			return true;
		}
		default: return gen_fn1(g, "abs", G_DEC, depth, false);
		}
	case G_TEXT:
		switch (rnd(11)) {
		case 0: return gen_binop(g, G_TEXT, G_TEXT, " || ", depth, false);
		case 1: return gen_binop(g, G_TEXT, rnd(2) ? G_INT : G_DEC, " || ", depth, false);
		case 2: {
			/*
			 * The columns are COLLATE "C", whose upper() maps
			 * ASCII only; ours maps every letter, as the
			 * database's own C.UTF-8 does.
			 */
			bool c;

			both(g, rnd(2) ? "upper(" : "lower(");
			c = gen(g, G_TEXT, depth - 1);
			split(g, ")", " COLLATE \"default\")");
			return c;
		}
		case 3: return gen_fn1(g, "trim", G_TEXT, depth, false);
		case 4: {
			bool c;

			both(g, "substr(");
			c = gen(g, G_TEXT, depth - 1);
			snprintf(buf, sizeof buf, ", %d, %d)", (int)rnd(6) - 2, (int)rnd(c ? 6 : 5) - (c ? 1 : 0));
			both(g, buf);
			return c;
		}
		case 5: {
			bool c;

			both(g, "replace(");
			c = gen(g, G_TEXT, depth - 1);
			both(g, rnd(2) ? ", '.', 'xy')" : ", 'a', '')");
			return c;
		}
		case 6: {
			bool c;
			int k;

			both(g, "split_part(");
			c = gen(g, G_TEXT, depth - 1);
			do
				k = (int)rnd(6) - 3;
			while (!c && k == 0);
			snprintf(buf, sizeof buf, ", '.', %d)", k);
			both(g, buf);
			return c;
		}
		case 7: return gen_case(g, G_TEXT, depth);
		case 8: return gen_coalesce(g, "coalesce", G_TEXT, depth);
		case 9: {
			static const int ts[] = { G_INT, G_DEC, G_FLOAT, G_DATE, G_TS, G_BOOL };
			bool c;

			both(g, "cast(");
			c = gen(g, ts[rnd(6)], depth - 1);
			both(g, " as text)");
			return c;
		}
		default: return gen_coalesce(g, "greatest", G_TEXT, depth);
		}
	case G_BOOL:
		switch (rnd(10)) {
		case 0:
		case 1: {
			static const int ts[] = { G_INT, G_FLOAT, G_DEC, G_TEXT, G_DATE, G_TS, G_BOOL };
			int t = ts[rnd(7)];

			return gen_binop(g, t, t, cmp_ops[rnd(6)], depth, false);
		}
		case 2: {
			static const int a[] = { G_INT, G_INT, G_DEC, G_DATE };
			static const int b[] = { G_DEC, G_FLOAT, G_FLOAT, G_TS };
			int k = (int)rnd(4);

			return gen_binop(g, a[k], b[k], cmp_ops[rnd(6)], depth, false);
		}
		case 3: return gen_binop(g, G_BOOL, G_BOOL, rnd(2) ? " AND " : " OR ", depth, false);
		case 4: return gen_fn1(g, "NOT ", G_BOOL, depth, false);
		case 5: {
			bool c;

			both(g, "(");
			c = gen(g, (int)rnd(G_N), depth - 1);
			both(g, rnd(2) ? " IS NULL)" : " IS NOT NULL)");
			return c;
		}
		case 6: {
			bool c;
			int t = (int)rnd(4);

			both(g, "(");
			c = gen(g, t, depth - 1);
			both(g, rnd(2) ? " IN (" : " NOT IN (");
			c |= gen(g, t, depth - 2);
			both(g, ", ");
			c |= gen(g, t, depth - 2);
			both(g, "))");
			return c;
		}
		case 7: {
			bool c;
			int t = (int)rnd(3);

			both(g, "(");
			c = gen(g, t, depth - 1);
			both(g, rnd(2) ? " BETWEEN " : " NOT BETWEEN ");
			c |= gen(g, t, depth - 2);
			both(g, " AND ");
			c |= gen(g, t, depth - 2);
			both(g, ")");
			return c;
		}
		case 8: {
			bool c;

			both(g, "(");
			c = gen(g, G_TEXT, depth - 1);
			both(g, rnd(2) ? " LIKE " : " NOT LIKE ");
			both(g, likes[rnd(sizeof likes / sizeof likes[0])]);
			both(g, ")");
			return c;
		}
		default: {
			bool c;

			both(g, "(");
			c = gen(g, G_BOOL, depth - 1);
			both(g, rnd(2) ? " IS TRUE)" : " IS NOT FALSE)");
			return c;
		}
		}
	case G_TS:
		switch (rnd(5)) {
		case 0:
		case 1:
			snprintf(buf, sizeof buf, "date_trunc('%s', ", units_ts[rnd(7)]);
			both(g, buf);
			gen(g, rnd(3) ? G_TS : G_DATE, depth - 1);
			both(g, ")");
			return true;
		case 2: return gen_case(g, G_TS, depth);
		case 3: {
			bool c;

			both(g, "cast(");
			c = gen(g, G_DATE, depth - 1);
			both(g, " as timestamptz)");
			return c;
		}
		default: return gen_coalesce(g, "greatest", G_TS, depth);
		}
	case G_DATE:
		switch (rnd(4)) {
		case 0: {
			bool c;

			both(g, "(");
			c = gen(g, G_DATE, depth - 1);
			/* date + integer (int4 in PostgreSQL: no date + bigint) */
			snprintf(buf, sizeof buf, " + %d)", (int)rnd(800) - 400);
			both(g, buf);
			return c;
		}
		case 1: {
			bool c;

			both(g, "cast(");
			c = gen(g, G_TS, depth - 1);
			both(g, " as date)");
			return c;
		}
		case 2: return gen_case(g, G_DATE, depth);
		default: return gen_coalesce(g, "least", G_DATE, depth);
		}
	}
	return leaf(g, type);
}

/* Replace $Z with the zone's name. */
static void with_zone(const char *in, const char *zone, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *in && n + 64 < outlen; in++) {
		if (in[0] == '$' && in[1] == 'Z') {
			n += (size_t)snprintf(out + n, outlen - n, "%s", zone);
			in++;
		} else {
			out[n++] = *in;
		}
	}
	out[n] = '\0';
}

Test(expr_pg, fixed_expressions_agree_in_three_zones)
{
	for (int zk = 0; zk < 3; zk++) {
		struct tz *z = set_zone(zk);

		for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++) {
			char p[1024];

			with_zone(fixed[k][1] ? fixed[k][1] : fixed[k][0], zones[zk], p, sizeof p);
			compare(z, fixed[k][0], p);
		}
		tz_free(z);
	}
	cr_expect_eq(mismatches, 0, "%d rows differ from PostgreSQL", mismatches);
}

Test(expr_pg, random_expressions_agree)
{
	int n = tu_scale(400);

	for (int zk = 0; zk < 3; zk++) {
		struct tz *z = set_zone(zk);

		for (int k = 0; k < n / 3; k++) {
			struct gen g;

			memset(&g, 0, sizeof g);
			gen(&g, (int)rnd(G_N), 2 + (int)rnd(3));
			compare(z, g.e, g.p);
		}
		tz_free(z);
	}
	cr_expect_eq(mismatches, 0, "%d rows differ from PostgreSQL", mismatches);
}
