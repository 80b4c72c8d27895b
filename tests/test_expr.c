/*
 * test_expr.c - the expression engine (common/expr*.c) on its own: values,
 * NULLs, types, per-record errors, compile errors with their columns and
 * nearest names, the fields an expression reads, and that a frame stops
 * allocating once it has grown.  Values are written as PostgreSQL writes
 * them (expr_format), so the expectations read as psql would print them;
 * tests/test_expr_pg.c checks the same engine against a real PostgreSQL.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/expr.h"
#include "../common/expr_int.h"
#include "../common/tz.h"
#include "helpers/testutil.h"

static struct rec_field fields[] = {
	{ "i", REC_INT, 0, 0, NULL, NULL },
	{ "j", REC_INT, 0, 0, NULL, NULL },
	{ "f", REC_FLOAT, 0, 0, NULL, NULL },
	{ "d", REC_DECIMAL, 12, 2, NULL, NULL },
	{ "e", REC_DECIMAL, 20, 6, NULL, NULL },
	{ "t", REC_TEXT, 0, 0, NULL, NULL },
	{ "b", REC_BOOL, 0, 0, NULL, NULL },
	{ "ts", REC_TIMESTAMP, 0, 0, NULL, NULL },
	{ "dt", REC_DATE, 0, 0, NULL, NULL },
	{ "amount", REC_INT, 0, 0, NULL, NULL },
	{ "region", REC_TEXT, 0, 0, NULL, NULL },
	{ "n", REC_INT, 0, 0, NULL, NULL },  /* always NULL */
	{ "Mixed Case", REC_INT, 0, 0, NULL, NULL },
};
static struct rec_schema schema = { 13, fields };
static struct rec_value vals[13];
static struct tz *paris;

static void setup(void)
{
	char err[256];

	paris = tz_load("Europe/Paris", err, sizeof err);
	cr_assert_not_null(paris, "%s", err);
	memset(vals, 0, sizeof vals);
	vals[0].u.i = 7;
	vals[1].u.i = -3;
	vals[2].u.f = 2.5;
	rec_set_dec(&vals[3], 1234);         /* 12.34 */
	rec_set_dec(&vals[4], -5000001);     /* -5.000001 */
	vals[5].u.s.p = "Hello, World";
	vals[5].u.s.len = 12;
	vals[6].u.b = true;
	vals[7].u.i = 1711846800000000LL;    /* 2024-03-31T01:00:00Z, 03:00 in Paris */
	vals[8].u.i = 19813;                 /* 2024-03-31 */
	vals[9].u.i = 150;
	vals[10].u.s.p = "EU";
	vals[10].u.s.len = 2;
	vals[11].null = true;
	vals[12].u.i = 42;
}

static void teardown(void)
{
	tz_free(paris);
}

TestSuite(expr, .init = setup, .fini = teardown);

/* Compile and evaluate; the value as text, "ERROR: reason", or "COMPILE: msg". */
static void run(const char *text, char *out, size_t outlen, struct expr_type *t)
{
	struct expr_error err;
	struct expr_prog *p = expr_compile(text, &schema, paris, &err);
	struct expr_frame *f;
	struct rec_value v;
	char reason[EXPR_REASON_MAX];

	if (p == NULL) {
		snprintf(out, outlen, "COMPILE: %s", err.msg);
		return;
	}
	f = expr_frame_new(p);
	cr_assert_not_null(f);
	if (expr_eval(p, vals, f, &v, reason, sizeof reason) < 0)
		snprintf(out, outlen, "ERROR: %s", reason);
	else
		expr_format(expr_result_type(p), &v, paris, out, outlen);
	if (t)
		*t = expr_result_type(p);
	expr_frame_free(f);
	expr_free(p);
}

struct want {
	const char *expr, *value, *type;
};

static const char *type_text(struct expr_type t, char *buf)
{
	if (t.type == REC_DECIMAL)
		sprintf(buf, "decimal(%d,%d)", t.prec, t.scale);
	else
		sprintf(buf, "%s", expr_type_name(t.type));
	return buf;
}

static void check_table(const struct want *w, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		char got[512], tb[32];
		struct expr_type t = { 0, 0, 0 };

		run(w[k].expr, got, sizeof got, &t);
		cr_expect_str_eq(got, w[k].value, "%s: got %s, want %s", w[k].expr, got,
				 w[k].value);
		if (w[k].type && strncmp(got, "COMPILE", 7) != 0)
			cr_expect_str_eq(type_text(t, tb), w[k].type, "%s: type %s, want %s",
					 w[k].expr, tb, w[k].type);
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(expr, arithmetic_and_types)
{
	static const struct want w[] = {
		{ "1 + 2 * 3", "7", "int" },
		{ "(1 + 2) * 3", "9", "int" },
		{ "i / j", "-2", "int" },            /* truncates */
		{ "i % j", "1", "int" },             /* the sign of the dividend */
		{ "-i % 3", "-1", "int" },
		{ "- 2 ^ 2", "COMPILE: syntax error at or near \"^\" at column 5", NULL },
		{ "d * 2", "24.68", "decimal(13,2)" },
		{ "d + e", "7.339999", "decimal(21,6)" },
		{ "d - 0.005", "12.335", "decimal(14,3)" },
		{ "d * e", "-61.70001234", "decimal(32,8)" },
		{ "d / 3", "4.11333333333333330000", "decimal(38,20)" },
		{ "100.0 / 7", "14.28571428571428570000", "decimal(38,20)" },
		{ "d / 0.07", "176.28571428571428570000", "decimal(38,20)" },
		{ "1.0 / 3", "0.33333333333333333333", "decimal(38,20)" },
		{ "1 / 3.0", "0.33333333333333333333", "decimal(38,20)" },
		{ "2.0 / 30000", "0.00006666666666666667", "decimal(38,20)" },
		{ "d % 5", "2.34", "decimal(12,2)" },
		{ "i + d", "19.34", "decimal(22,2)" },
		{ "i * 1.5", "10.5", "decimal(21,1)" },
		{ "i + f", "9.5", "float" },
		{ "d + f", "14.84", "float" },
		{ "f / 4", "0.625", "float" },
		{ "i::float / 3", "2.3333333333333335", "float" },
		{ "12.50", "12.50", "decimal(4,2)" },
		{ "1e3", "1000", "decimal(4,0)" },
		{ "1.5e-3", "0.0015", "decimal(4,4)" },
		{ "1e40", "1e+40", "float" },
		{ "12345678901234567890", "12345678901234567890", "decimal(20,0)" },
		{ "-i", "-7", "int" },
		{ "-d", "-12.34", "decimal(12,2)" },
		{ "dt + 1", "2024-04-01", "date" },
		{ "dt - 31", "2024-02-29", "date" },
		{ "1 + dt", "2024-04-01", "date" },
		{ "dt - DATE '2024-01-01'", "90", "int" },
	};

	check_table(w, N(w));
}

Test(expr, per_record_errors)
{
	static const struct want w[] = {
		{ "i / 0", "ERROR: division by zero", NULL },
		{ "i % (j + 3)", "ERROR: division by zero", NULL },
		{ "d / (i - 7)", "ERROR: division by zero", NULL },
		{ "f / 0", "ERROR: division by zero", NULL },
		{ "9223372036854775807 + i", "ERROR: bigint out of range", NULL },
		{ "-9223372036854775807 - i", "ERROR: bigint out of range", NULL },
		{ "i * 2000000000000000000", "ERROR: bigint out of range", NULL },
		{ "abs(-9223372036854775807 - 1)", "ERROR: bigint out of range", NULL },
		{ "(-9223372036854775807 - 1) / -1", "ERROR: bigint out of range", NULL },
		{ "(-9223372036854775807 - 1) % -1", "0", NULL },
		{ "f * 1e308::float * 10", "ERROR: value out of range: overflow", NULL },
		{ "f * 1e-300::float * 1e-300::float", "ERROR: value out of range: underflow", NULL },
		{ "d * 99999999999999999999999999999999999", "ERROR: numeric field overflow", NULL },
		{ "cast(d * 1000 as numeric(5,2))", "ERROR: numeric field overflow", NULL },
		{ "t::int", "ERROR: invalid input syntax for type bigint: \"Hello, World\"", NULL },
		{ "(t || '1')::numeric(5,1)", "ERROR: invalid input syntax for type numeric: \"Hello, World1\"", NULL },
		{ "1e300::float::int", "ERROR: bigint out of range", NULL },
		{ "split_part(t, ',', i - 7)", "ERROR: field position must not be zero", NULL },
		{ "substr(t, 1, j)", "ERROR: negative substring length not allowed", NULL },
		{ "dt + 9999999", "ERROR: date out of range", NULL },
		{ "strftime('%Q', ts)", "ERROR: strftime: unknown directive %Q", NULL },
		/* Guards short-circuit, as in PostgreSQL's executor. */
		{ "i <> 7 AND 10 / (i - 7) > 1", "false", "bool" },
		{ "i = 7 OR 10 / (i - 7) > 1", "true", "bool" },
		{ "CASE WHEN i = 7 THEN 0 ELSE 10 / (i - 7) END", "0", "int" },
		{ "coalesce(i, 1 / (i - 7))", "7", "int" },
	};

	check_table(w, N(w));
}

Test(expr, nulls_and_logic)
{
	static const struct want w[] = {
		{ "n + 1", "NULL", "int" },
		{ "n || 'x'", "NULL", "text" },
		{ "NULL", "NULL", "text" },
		{ "n = n", "NULL", "bool" },
		{ "n IS NULL", "true", "bool" },
		{ "i IS NOT NULL", "true", "bool" },
		{ "n IS DISTINCT FROM n", "false", "bool" },
		{ "n IS DISTINCT FROM 1", "true", "bool" },
		{ "i IS DISTINCT FROM n", "true", "bool" },
		{ "i IS DISTINCT FROM i", "false", "bool" },
		{ "i IS DISTINCT FROM i + 1", "true", "bool" },
		{ "n IS NOT DISTINCT FROM n", "true", "bool" },
		{ "i IS NOT DISTINCT FROM n", "false", "bool" },
		{ "i IS NOT DISTINCT FROM 7.0", "true", "bool" },
		{ "t IS DISTINCT FROM 'x' AND true", "true", "bool" },
		{ "n > 1 AND false", "false", "bool" },
		{ "n > 1 AND true", "NULL", "bool" },
		{ "n > 1 OR true", "true", "bool" },
		{ "n > 1 OR false", "NULL", "bool" },
		{ "NOT (n > 1)", "NULL", "bool" },
		{ "(n > 1) IS TRUE", "false", "bool" },
		{ "(n > 1) IS NOT TRUE", "true", "bool" },
		{ "(n > 1) IS NOT FALSE", "true", "bool" },
		{ "b IS FALSE", "false", "bool" },
		{ "NOT b IS NULL", "true", "bool" },    /* NOT binds looser than IS */
		{ "i IN (1, 7, NULL)", "true", "bool" },
		{ "i IN (1, 2, NULL)", "NULL", "bool" },
		{ "i NOT IN (1, 2)", "true", "bool" },
		{ "i NOT IN (1, NULL)", "NULL", "bool" },
		{ "n IN (1, 2)", "NULL", "bool" },
		{ "i BETWEEN 1 AND 10", "true", "bool" },
		{ "i BETWEEN 10 AND 1", "false", "bool" },
		{ "i NOT BETWEEN 1 AND 10", "false", "bool" },
		{ "i BETWEEN n AND 10", "NULL", "bool" },
		{ "i BETWEEN n AND 5", "false", "bool" },
		{ "coalesce(n, i, 0)", "7", "int" },
		{ "coalesce(n, n)", "NULL", "int" },
		{ "coalesce(n, 2.5)", "2.5", "decimal(20,1)" },
		{ "nullif(i, 7)", "NULL", "int" },
		{ "nullif(i, 8)", "7", "int" },
		{ "greatest(1, 2.5, i)", "7.0", "decimal(20,1)" },
		{ "least(1, n, 3)", "1", "int" },
		{ "greatest(n, n)", "NULL", "int" },
		{ "CASE WHEN n > 0 THEN 'pos' WHEN i > 5 THEN 'big' END", "big", "text" },
		{ "CASE WHEN i > 50 THEN 'x' END", "NULL", "text" },
		{ "CASE i WHEN 7 THEN 'seven' WHEN 8 THEN 'eight' ELSE 'other' END", "seven", "text" },
		{ "CASE n WHEN 7 THEN 'seven' ELSE 'other' END", "other", "text" },
		{ "CASE WHEN b THEN 1 ELSE 2.5 END", "1.0", "decimal(20,1)" },
		{ "amount > 100 AND region = 'EU'", "true", "bool" },
		{ "amount > 100 AND region = 'US'", "false", "bool" },
		{ "\"Mixed Case\" + 1", "43", "int" },
		{ "I + J", "4", "int" },               /* unquoted names fold */
	};

	check_table(w, N(w));
}

Test(expr, comparisons_across_types)
{
	static const struct want w[] = {
		{ "d = 12.34", "true", "bool" },
		{ "d = 12.340", "true", "bool" },
		{ "d > 12.339999999999999999999999999999", "true", "bool" },
		{ "d < 12.340000000000000000000000000001", "true", "bool" },
		{ "9223372036854775807 < 9223372036854775807.5", "true", "bool" },
		{ "9223372036854775807 = 9223372036854775807.0", "true", "bool" },
		{ "i = 7.0", "true", "bool" },
		{ "i < 7.000000000000000000000000000000000001", "true", "bool" },
		{ "f = 2.5", "true", "bool" },
		{ "i > f", "true", "bool" },
		{ "t < 'Hello, Worle'", "true", "bool" },
		{ "t > 'Hello'", "true", "bool" },
		{ "'a' < 'B'", "false", "bool" },   /* bytes: collation C */
		{ "'é' > 'z'", "true", "bool" },
		{ "b = true", "true", "bool" },
		{ "b > false", "true", "bool" },
		{ "ts > '2024-03-31'", "true", "bool" },
		{ "ts = '2024-03-31 03:00:00'", "true", "bool" },  /* local time */
		{ "ts = '2024-03-31T01:00:00Z'", "true", "bool" },
		{ "dt = '2024-03-31'", "true", "bool" },
		{ "dt < ts", "true", "bool" },
		{ "dt = DATE '2024-03-31'", "true", "bool" },
		{ "i = '7'", "true", "bool" },
		{ "i = 7 = true", "COMPILE: syntax error at or near \"=\" at column 7", NULL },
	};

	check_table(w, N(w));
}

Test(expr, text_functions)
{
	static const struct want w[] = {
		{ "t || 1", "Hello, World1", "text" },
		{ "'a' || i || 'b'", "a7b", "text" },
		{ "'x' || d || f || b || dt", "x12.342.5true2024-03-31", "text" },
		{ "'x' || 1 + 2", "x3", "text" },  /* || binds looser than + */
		{ "upper(t)", "HELLO, WORLD", "text" },
		{ "lower(t)", "hello, world", "text" },
		/* every letter, by Unicode's simple mapping (2 bytes may map to 3) */
		{ "upper('caf\xc3\xa9 \xc3\x9f')", "CAF\xc3\x89 \xc3\x9f", "text" },
		{ "lower('\xc3\x80\xce\xa3X')", "\xc3\xa0\xcf\x83x", "text" },
		{ "upper('\xc9\x90')", "\xe2\xb1\xaf", "text" },
		{ "length(t)", "12", "int" },
		{ "length('héllo')", "5", "int" },
		{ "trim('  ab  ')", "ab", "text" },
		{ "ltrim('xxabxx', 'x')", "abxx", "text" },
		{ "rtrim('xxabxx', 'x')", "xxab", "text" },
		{ "btrim('xyabyx', 'xy')", "ab", "text" },
		{ "substr(t, 3, 4)", "llo,", "text" },
		{ "substr(t, 8)", "World", "text" },
		{ "substr(t, -1, 3)", "H", "text" },
		{ "substr('héllo', 2, 2)", "él", "text" },
		{ "replace(t, 'l', 'LL')", "HeLLLLo, WorLLd", "text" },
		{ "replace(t, '', 'x')", "Hello, World", "text" },
		{ "split_part(t, ', ', 2)", "World", "text" },
		{ "split_part(t, ', ', 3)", "", "text" },
		{ "split_part(t, ', ', -1)", "World", "text" },
		{ "split_part('a.b.c', '.', -3)", "a", "text" },
		{ "lower(t) LIKE 'hello%'", "true", "bool" },
		{ "t LIKE 'H_llo%'", "true", "bool" },
		{ "t LIKE 'hello%'", "false", "bool" },
		{ "t NOT LIKE '%World'", "false", "bool" },
		{ "'héllo' LIKE 'h_llo'", "true", "bool" },
		{ "'50%' LIKE '50\\%'", "true", "bool" },
		{ "'5000' LIKE '50\\%'", "false", "bool" },
		{ "'a_c' LIKE 'a\\_c'", "true", "bool" },
		{ "'abc' LIKE 'a\\_c'", "false", "bool" },
		{ "'a_c' LIKE 'a#_c' ESCAPE '#'", "true", "bool" },
		{ "'aXbXc' LIKE '%b%c'", "true", "bool" },
		{ "'' LIKE '%'", "true", "bool" },
		{ "t ILIKE 'hello%'", "true", "bool" },
		{ "t NOT ILIKE '%WORLD'", "false", "bool" },
		{ "'CAF\xc3\x89' ILIKE 'caf_'", "true", "bool" },
		{ "'A_C' ILIKE 'a#_c' ESCAPE '#'", "true", "bool" },
		{ "'it''s'", "it's", "text" },
		{ "f::text", "2.5", "text" },
		{ "1e20::float::text", "1e+20", "text" },
		{ "100000::float::text", "100000", "text" },
		{ "0.00001::float::text", "1e-05", "text" },
		{ "(0.1::float + 0.2::float)::text", "0.30000000000000004", "text" },
		{ "b::text", "true", "text" },
		{ "d::text", "12.34", "text" },
	};

	check_table(w, N(w));
}

Test(expr, casts_and_rounding)
{
	static const struct want w[] = {
		{ "cast('12.345' as numeric(5,2))", "12.35", "decimal(5,2)" },
		{ "cast('-12.345' as numeric(5,2))", "-12.35", "decimal(5,2)" },
		{ "cast(d as int)", "12", "int" },
		{ "cast(2.5 as bigint)", "3", "int" },
		{ "cast(-2.5 as bigint)", "-3", "int" },
		{ "cast(2.5::float as bigint)", "2", "int" },   /* rint: half to even */
		{ "cast(3.5::float as bigint)", "4", "int" },
		{ "'12.5'::numeric", "12.5", "decimal(38,1)" },
		{ "f::numeric(10,3)", "2.500", "decimal(10,3)" },
		{ "0.1::float::numeric(20,18)", "0.100000000000000000", "decimal(20,18)" },
		{ "i::bool", "true", "bool" },
		{ "b::int", "1", "int" },
		{ "' 42 '::int", "42", "int" },
		{ "'true'::boolean", "true", "bool" },
		{ "'2024-02-29'::date", "2024-02-29", "date" },
		{ "'2023-02-29'::date", "COMPILE: invalid input syntax for type date: \"2023-02-29\" at column 1", NULL },
		{ "ts::date", "2024-03-31", "date" },
		{ "ts::text", "2024-03-31 03:00:00+02", "text" },
		{ "dt::timestamp", "2024-03-31 00:00:00+01", "timestamp" },
		{ "TIMESTAMP '2024-07-01 12:30:00.25'", "2024-07-01 12:30:00.25+02", "timestamp" },
		{ "round(2.5)", "3", "decimal(2,0)" },
		{ "round(-2.5)", "-3", "decimal(2,0)" },
		{ "round(2.5::float)", "2", "float" },
		{ "round(i)", "7", "float" },
		{ "round(d, 1)", "12.3", "decimal(12,1)" },
		{ "round(12.35, 1)", "12.4", "decimal(4,1)" },
		{ "round(-12.35, 1)", "-12.4", "decimal(4,1)" },
		{ "round(d, 4)", "12.3400", "decimal(15,4)" },
		{ "round(1249.5, -2)", "1200", "decimal(5,0)" },
		{ "round(1250, -2)", "1300", "decimal(20,0)" },
		{ "round(d / 7, 3)", "1.763", "decimal(22,3)" },
		{ "floor(-d)", "-13", "decimal(11,0)" },
		{ "ceil(d)", "13", "decimal(11,0)" },
		{ "ceiling(-f)", "-2", "float" },
		{ "floor(i)", "7", "float" },
		{ "abs(e)", "5.000001", "decimal(20,6)" },
		{ "abs(j)", "3", "int" },
		{ "abs(-f)", "2.5", "float" },
	};

	check_table(w, N(w));
}

Test(expr, time_in_the_zone)
{
	static const struct want w[] = {
		/* ts is 2024-03-31 03:00 in Paris, the night clocks went forward */
		{ "date_trunc('day', ts)", "2024-03-31 00:00:00+01", "timestamp" },
		{ "date_trunc('hour', ts)", "2024-03-31 03:00:00+02", "timestamp" },
		{ "date_trunc('week', ts)", "2024-03-25 00:00:00+01", "timestamp" },
		{ "date_trunc('month', ts)", "2024-03-01 00:00:00+01", "timestamp" },
		{ "date_trunc('quarter', ts)", "2024-01-01 00:00:00+01", "timestamp" },
		{ "date_trunc('year', ts)", "2024-01-01 00:00:00+01", "timestamp" },
		{ "date_trunc('MONTH', dt)", "2024-03-01 00:00:00+01", "timestamp" },
		{ "date_trunc('day', TIMESTAMP '2024-10-27 02:30:00+01')", "2024-10-27 00:00:00+02", "timestamp" },
		{ "date_trunc('hour', TIMESTAMP '2024-10-27 02:30:00+01')", "2024-10-27 02:00:00+01", "timestamp" },
		{ "date_trunc('hour', TIMESTAMP '2024-10-27 02:30:00+02')", "2024-10-27 02:00:00+02", "timestamp" },
		{ "extract(hour from ts)", "3", "decimal(6,0)" },
		{ "extract(year from ts)", "2024", "decimal(6,0)" },
		{ "extract(dow from ts)", "0", "decimal(6,0)" },
		{ "extract(doy from dt)", "91", "decimal(6,0)" },
		{ "extract(week from dt)", "13", "decimal(6,0)" },
		{ "extract(quarter from dt)", "1", "decimal(6,0)" },
		{ "extract(second from TIMESTAMP '2024-01-01 10:00:05.5')", "5.500000", "decimal(8,6)" },
		{ "extract(epoch from ts)", "1711846800.000000", "decimal(18,6)" },
		{ "extract(epoch from dt)", "1711843200", "decimal(18,0)" },
		{ "extract(isoyear from DATE '2021-01-03')", "2020", "decimal(6,0)" },
		{ "time_bucket('15m', ts)", "2024-03-31 03:00:00+02", "timestamp" },
		{ "time_bucket('15 minutes', ts + INTERVAL '1 day')", "COMPILE: intervals are only the width of time_bucket (e.g. time_bucket(INTERVAL '15 minutes', ts)) at column 32", NULL },
		{ "time_bucket(INTERVAL '1 hour', TIMESTAMP '2024-07-01 12:59:59')", "2024-07-01 12:00:00+02", "timestamp" },
		{ "time_bucket('1 hour', TIMESTAMP '2024-07-01 12:59:59')", "2024-07-01 12:00:00+02", "timestamp" },
		{ "time_bucket('1 day', ts)", "2024-03-31 00:00:00+01", "timestamp" },
		{ "time_bucket('1 week', ts)", "2024-03-25 00:00:00+01", "timestamp" },
		{ "time_bucket('1 month', dt)", "2024-03-01", "date" },
		{ "time_bucket('3 months', dt)", "2024-01-01", "date" },
		{ "time_bucket('6h', dt)", "2024-03-31 00:00:00+01", "timestamp" },
		{ "time_bucket('1 fortnight', ts)", "COMPILE: invalid bucket width \"1 fortnight\" (e.g. '15m', '1 hour', '1 day', '1 month') at column 13", NULL },
		{ "time_bucket('522222226 month', dt)", "COMPILE: invalid bucket width \"522222226 month\" (e.g. '15m', '1 hour', '1 day', '1 month') at column 13", NULL },
		{ "time_bucket('100 years', DATE '1999-12-31')", "1900-01-01", "date" },
		{ "strftime('%Y-%m-%d %H:%M:%S %z', ts)", "2024-03-31 03:00:00 +0200", "text" },
		{ "strftime(ts, '%d/%m/%Y')", "31/03/2024", "text" },
		{ "strftime('%a %A %b %B %j %V %G %u %w %I%p %e', ts)", "Sun Sunday Mar March 091 13 2024 7 0 03AM 31", "text" },
		{ "strftime('%F %T.%f %%', dt)", "2024-03-31 00:00:00.000000 %", "text" },
	};

	check_table(w, N(w));
}

Test(expr, compile_errors_name_the_column_and_the_nearest_name)
{
	static const struct want w[] = {
		{ "amout + 1", "COMPILE: unknown field \"amout\" at column 1; did you mean \"amount\"?", NULL },
		{ "1 + amout", "COMPILE: unknown field \"amout\" at column 5; did you mean \"amount\"?", NULL },
		{ "zzzzzz", "COMPILE: unknown field \"zzzzzz\" at column 1", NULL },
		{ "\"I\"", "COMPILE: unknown field \"I\" at column 1; did you mean \"i\"?", NULL },
		{ "coalesc(i, 1)", "COMPILE: unknown function \"coalesc\" at column 1; did you mean \"coalesce\"?", NULL },
		{ "date_trunc('dya', ts)", "COMPILE: unit \"dya\" not recognized at column 12; did you mean \"day\"?", NULL },
		{ "extract(hours from dt)", "COMPILE: unit \"hours\" not supported for type date at column 9", NULL },
		{ "extract(yaer from ts)", "COMPILE: unit \"yaer\" not recognized at column 9; did you mean \"year\"?", NULL },
		{ "t + 1", "COMPILE: operator + cannot take text and int at column 3", NULL },
		{ "i || j", "COMPILE: operator || cannot take int and int at column 3", NULL },
		{ "f % 2", "COMPILE: operator % cannot take float and int at column 3", NULL },
		{ "t = 1", "COMPILE: operator = cannot take text and int at column 3", NULL },
		{ "ts = 1", "COMPILE: operator = cannot take timestamp and int at column 4", NULL },
		{ "i AND b", "COMPILE: argument of AND must be type bool, not type int at column 1", NULL },
		{ "CASE WHEN b THEN 1 ELSE 'x' END", "COMPILE: invalid input syntax for type bigint: \"x\" at column 25", NULL },
		{ "CASE WHEN b THEN 1 ELSE t END", "COMPILE: CASE types int and text cannot be matched at column 25", NULL },
		{ "i + 'x'", "COMPILE: invalid input syntax for type bigint: \"x\" at column 5", NULL },
		{ "cast(i as intt)", "COMPILE: unknown type \"intt\" at column 11; did you mean \"int\"?", NULL },
		{ "cast(t as numeric)", "COMPILE: a cast of text to numeric needs a scale: numeric(p,s) at column 1", NULL },
		{ "cast(ts as int)", "COMPILE: cannot cast type timestamp to int at column 1", NULL },
		{ "numeric(40, 2)", "COMPILE: unknown function \"numeric\" at column 1", NULL },
		{ "i::numeric(40,2)", "COMPILE: NUMERIC precision 40 must be between 1 and 38 at column 4", NULL },
		{ "round(f, 2)", "COMPILE: function round(float, int) does not exist; cast the first argument to numeric at column 1", NULL },
		{ "round(d, i)", "COMPILE: the digits of round must be a constant at column 10", NULL },
		{ "substr(t)", "COMPILE: function substr takes 2 to 3 arguments, not 1 at column 1", NULL },
		{ "date_trunc(t, ts)", "COMPILE: the first argument of date_trunc must be a constant text at column 12", NULL },
		{ "1 +", "COMPILE: syntax error at end of expression at column 4", NULL },
		{ "(1 + 2", "COMPILE: syntax error at end of expression at column 7", NULL },
		{ "1 + 2)", "COMPILE: syntax error at or near \")\" at column 6", NULL },
		{ "'abc", "COMPILE: unterminated quoted string at column 1", NULL },
		{ "12abc", "COMPILE: trailing junk after numeric literal at column 3", NULL },
		{ "i # 2", "COMPILE: syntax error at or near \"#\" at column 3", NULL },
		{ "", "COMPILE: empty expression at column 1", NULL },
		{ "case when b then 1", "COMPILE: syntax error at end of expression at column 19", NULL },
		{ "i in ()", "COMPILE: syntax error at or near \")\" at column 7", NULL },
		{ "select", "COMPILE: unknown field \"select\" at column 1", NULL },
		{ "end", "COMPILE: syntax error at or near \"end\" at column 1", NULL },
	};

	check_table(w, N(w));
}

Test(expr, bounds_on_size_and_nesting)
{
	static char text[40000];
	char got[512];
	size_t n = 0;

	for (int k = 0; k < 250; k++)
		text[n++] = '(';
	text[n++] = '1';
	for (int k = 0; k < 250; k++)
		text[n++] = ')';
	text[n] = '\0';
	run(text, got, sizeof got, NULL);
	cr_expect_str_eq(got, "COMPILE: expression nested too deeply (more than 200 levels) at column 201");
	n = 0;
	text[n++] = 'i';
	for (int k = 0; k < 6000; k++) {
		memcpy(text + n, " + 1", 4);
		n += 4;
	}
	text[n] = '\0';
	run(text, got, sizeof got, NULL);
	cr_expect(strncmp(got, "COMPILE: expression too long (more than 5000 terms)", 51) == 0, "%s", got);
	/* 1000 terms fold and run */
	text[1 + 4 * 1000] = '\0';
	run(text, got, sizeof got, NULL);
	cr_expect_str_eq(got, "1007");
}

Test(expr, lists_the_fields_it_reads_and_folds_constants)
{
	struct expr_error err;
	struct expr_prog *p = expr_compile("amount * 2 > i AND amount < 10 + 2 * 3",
					   &schema, NULL, &err);
	const int *f;
	int n;

	cr_assert_not_null(p, "%s", err.msg);
	f = expr_fields_read(p, &n);
	cr_assert_eq(n, 2);
	cr_expect_eq(f[0], 0);
	cr_expect_eq(f[1], 9);
	/* 10 + 2 * 3 is one constant: no instruction adds or multiplies ints
	 * but amount * 2. */
	{
		int arith = 0;

		for (int k = 0; k < p->ncode; k++)
			arith += p->code[k].op == EOP_ADD_I || p->code[k].op == EOP_MUL_I;
		cr_expect_eq(arith, 1);
	}
	expr_free(p);

	p = expr_compile("upper('a' || 'b')", &schema, NULL, &err);
	cr_assert_not_null(p, "%s", err.msg);
	f = expr_fields_read(p, &n);
	cr_expect_eq(n, 0);
	cr_expect_eq(p->ncode, 0, "folded to a constant, no code");
	expr_free(p);
}

Test(expr, names_read_from_the_syntax_alone)
{
	struct expr_error err;
	char **names;
	int n = expr_names_read("CASE WHEN Qty > 0 THEN qty * \"Unit Price\" ELSE coalesce(fee, 0) END "
				"|| extract(day from ts) || 'qty'", &names, &err);

	cr_assert_eq(n, 4, "%s", err.msg);
	cr_expect_str_eq(names[0], "qty");
	cr_expect_str_eq(names[1], "Unit Price");
	cr_expect_str_eq(names[2], "fee");
	cr_expect_str_eq(names[3], "ts");
	expr_names_free(names, n);
	cr_expect_eq(expr_names_read("nosuchfield + 1", &names, &err), 1);
	expr_names_free(names, 1);
	cr_expect_eq(expr_names_read("a +", &names, &err), -1);
	cr_expect_str_eq(err.msg, "syntax error at end of expression at column 4");
	cr_expect_null(names);
}

Test(expr, frame_stops_allocating_once_grown)
{
	struct expr_error err;
	struct expr_prog *p = expr_compile("upper(t) || '-' || lower(t) || replace(t, 'o', 'oooo')",
					   &schema, NULL, &err);
	struct expr_frame *f;
	struct rec_value out;
	char reason[EXPR_REASON_MAX];
	static char big[100000];
	size_t total;
	void *chunk;

	cr_assert_not_null(p, "%s", err.msg);
	f = expr_frame_new(p);
	memset(big, 'o', sizeof big);
	vals[5].u.s.p = big;
	vals[5].u.s.len = sizeof big;
	cr_assert_eq(expr_eval(p, vals, f, &out, reason, sizeof reason), 0, "%s", reason);
	cr_expect_eq(out.u.s.len, 2 * sizeof big + 1 + 4 * sizeof big);
	cr_expect_eq(out.u.s.p[sizeof big], '-');
	cr_assert_eq(expr_eval(p, vals, f, &out, reason, sizeof reason), 0, "%s", reason);
	total = f->scratch_total;
	chunk = f->scratch;
	for (int k = 0; k < 100; k++) {
		cr_assert_eq(expr_eval(p, vals, f, &out, reason, sizeof reason), 0);
		cr_assert_eq(f->scratch, chunk, "no new chunk once grown");
		cr_assert_eq(f->scratch_total, total);
		cr_assert_null(f->scratch->next);
	}
	expr_frame_free(f);
	expr_free(p);
}

Test(expr, one_program_many_frames_and_records)
{
	struct expr_error err;
	struct expr_prog *p = expr_compile("CASE WHEN i % 2 = 0 THEN 'even:' || i ELSE 'odd' END",
					   &schema, NULL, &err);
	struct expr_frame *f1, *f2;
	struct rec_value out1, out2;
	char reason[EXPR_REASON_MAX];

	cr_assert_not_null(p, "%s", err.msg);
	f1 = expr_frame_new(p);
	f2 = expr_frame_new(p);
	for (int k = -50; k < 50; k++) {
		char want[32];

		vals[0].u.i = k;
		cr_assert_eq(expr_eval(p, vals, f1, &out1, reason, sizeof reason), 0);
		vals[0].u.i = k + 1;
		cr_assert_eq(expr_eval(p, vals, f2, &out2, reason, sizeof reason), 0);
		snprintf(want, sizeof want, "even:%d", k % 2 == 0 ? k : k + 1);
		if (k % 2 == 0) {
			cr_assert_eq(out1.u.s.len, strlen(want));
			cr_assert(memcmp(out1.u.s.p, want, out1.u.s.len) == 0);
			cr_assert_eq(out2.u.s.len, 3);
		} else {
			cr_assert_eq(out1.u.s.len, 3);
			cr_assert(memcmp(out2.u.s.p, want, out2.u.s.len) == 0);
		}
	}
	expr_frame_free(f1);
	expr_frame_free(f2);
	expr_free(p);
}

/*
 * The run's short cuts against its loop.  Programs of one comparison,
 * date_trunc or time_bucket over fields and constants run without the
 * loop (FAST_*), and operands read the record's fields where they are
 * (no load): each expression here is evaluated as compiled and again
 * with its program made to take the loop with every field loaded into
 * its slot first (as the code was before), over random values with
 * NULLs, in Paris; the two must give the same value, NULL or error.
 */
Test(expr, short_cuts_give_what_the_loop_gives)
{
	static const struct {
		const char *text;
		int fast;
	} cases[] = {
		{ "i > 2", FAST_CMP_I }, { "2 < i", FAST_CMP_I },
		{ "i = j", FAST_CMP_I }, { "i <> 3", FAST_CMP_I },
		{ "i <= -1", FAST_CMP_I }, { "i >= j", FAST_CMP_I },
		{ "f < 0.5", FAST_CMP_F }, { "f >= i", FAST_NONE },
		{ "f = f", FAST_CMP_F }, { "f <> 2.5", FAST_CMP_F },
		{ "date_trunc('day', ts)", FAST_TRUNC_TS },
		{ "date_trunc('hour', ts)", FAST_TRUNC_TS },
		{ "date_trunc('month', ts)", FAST_TRUNC_TS },
		{ "time_bucket('15m', ts)", FAST_BUCKET_TS },
		{ "time_bucket('1 month', ts)", FAST_BUCKET_TS },
		{ "i", FAST_NONE }, { "i + j * i", FAST_NONE },
		{ "i > 2 AND f < 1", FAST_NONE },
		{ "coalesce(i, j, 0)", FAST_NONE },
		{ "CASE WHEN i > 0 THEN j ELSE i END", FAST_NONE },
		{ "greatest(i, j, 3)", FAST_NONE },
		{ "substr(t, i, j)", FAST_NONE }, { "substr(t, j)", FAST_NONE },
		{ "trim(t)", FAST_NONE }, { "split_part(t, ',', i)", FAST_NONE },
		{ "replace(t, 'l', t)", FAST_NONE },
		{ "i / j", FAST_NONE }, { "t || t", FAST_NONE },
	};
	static const char *const texts[] = { "Hello, World", "", "l,l", "abc" };
	uint64_t st = 0x1234567;

	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct expr_error err;
		struct expr_prog *p = expr_compile(cases[c].text, &schema,
						   paris, &err);
		struct expr_prog slow;
		struct einsn *code;
		struct expr_frame *ff, *fs;

		cr_assert_not_null(p, "%s: %s", cases[c].text, err.msg);
		cr_expect_eq(p->fast, cases[c].fast, "%s", cases[c].text);
		/* The loop over every instruction, loads included. */
		code = malloc(sizeof *code * (size_t)(p->ncode + 1));
		cr_assert_not_null(code);
		memcpy(code, p->code, sizeof *code * (size_t)p->ncode);
		for (int k = p->start; k < p->ncode; k++) {
			struct einsn *in = &code[k];

			for (int l = 0; l < p->start; l++) {
				if (in->fa && code[l].a == p->code[k].a)
					in->a = code[l].dst;
				if (in->fb && code[l].a == p->code[k].b)
					in->b = code[l].dst;
				if (in->fc && code[l].a == p->code[k].c)
					in->c = code[l].dst;
			}
			in->fa = in->fb = in->fc = false;
		}
		slow = *p;
		slow.code = code;
		slow.fast = FAST_NONE;
		slow.nloads = p->start;
		ff = expr_frame_new(p);
		fs = expr_frame_new(&slow);
		cr_assert(ff && fs);
		for (int r = 0; r < 2000; r++) {
			struct rec_value v[13], a, b;
			char ra[EXPR_REASON_MAX], rb[EXPR_REASON_MAX];
			char ta[128], tb[128];
			int ea, eb;

			memcpy(v, vals, sizeof v);
			v[0].u.i = (int64_t)(tu_rng(&st) % 9) - 4;
			v[1].u.i = (int64_t)(tu_rng(&st) % 7) - 3;
			v[2].u.f = (double)((int64_t)(tu_rng(&st) % 9) - 4) / 2;
			v[5].u.s.p = texts[tu_rng(&st) % 4];
			v[5].u.s.len = (uint32_t)strlen(v[5].u.s.p);
			/* Across a year, the nights clocks change included. */
			v[7].u.i = 1704067200000000LL +
				   (int64_t)(tu_rng(&st) % 31622400) * 1000000;
			for (int k = 0; k < 8; k++)
				v[k].null = tu_rng(&st) % 6 == 0;
			ea = expr_eval(p, v, ff, &a, ra, sizeof ra);
			eb = expr_eval(&slow, v, fs, &b, rb, sizeof rb);
			cr_assert_eq(ea, eb, "%s", cases[c].text);
			if (ea < 0) {
				cr_assert_str_eq(ra, rb, "%s", cases[c].text);
				continue;
			}
			expr_format(p->type, &a, paris, ta, sizeof ta);
			expr_format(p->type, &b, paris, tb, sizeof tb);
			cr_assert_eq(a.null, b.null, "%s", cases[c].text);
			cr_assert_str_eq(ta, tb, "%s", cases[c].text);
		}
		expr_frame_free(ff);
		expr_frame_free(fs);
		free(code);
		expr_free(p);
	}
}
