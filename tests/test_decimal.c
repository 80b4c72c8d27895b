/*
 * test_decimal.c - common/decimal.c against Python's decimal module.
 *
 * tests/fixtures/decimal_oracle.py writes thousands of cases (random
 * digit strings with and without points and exponents, halves, values
 * that overflow their precision only once rounded, doubles, sums and
 * averages) with the answers of Python's exact decimal arithmetic
 * rounding half away from zero, as PostgreSQL's numeric does.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/decimal.h"
#include "helpers/testutil.h"

static __int128 parse_i128(const char *s)
{
	__int128 v = 0;
	bool neg = *s == '-';

	for (s += neg; *s; s++)
		v = v * 10 + (*s - '0');
	return neg ? -v : v;
}

static void result_str(enum dec_status st, __int128 v, int scale, char *out)
{
	if (st == DEC_SYNTAX)
		strcpy(out, "SYNTAX");
	else if (st == DEC_OVERFLOW)
		strcpy(out, "OVERFLOW");
	else
		dec_format(v, scale, out);
}

static void check_line(char *line, int lineno)
{
	char *tok[200], *save = NULL, got[DEC_STR_MAX + 16];
	int n = 0;
	__int128 v = 0;

	line[strcspn(line, "\n")] = '\0';
	for (char *t = strtok_r(line, " ", &save); t && n < 200;
	     t = strtok_r(NULL, " ", &save))
		tok[n++] = t;
	cr_assert_geq(n, 3, "line %d", lineno);
	if (strcmp(tok[0], "parse") == 0 || strcmp(tok[0], "double") == 0) {
		int p = atoi(tok[1]), s = atoi(tok[2]);
		const char *text = strcmp(tok[3], "<empty>") ? tok[3] : "";
		enum dec_status st;

		if (tok[0][0] == 'p')
			st = dec_parse(text, strlen(text), p, s, &v);
		else
			st = dec_from_double(strtod(text, NULL), p, s, &v);
		result_str(st, v, s, got);
		cr_assert_str_eq(got, tok[4], "line %d: %s %s as decimal(%d,%d)",
				 lineno, tok[0], text, p, s);
	} else if (strcmp(tok[0], "sum") == 0) {
		int s = atoi(tok[1]), k;
		__int128 acc = 0, avg = 0;
		enum dec_status st;
		char want[DEC_STR_MAX + 16];

		for (k = 2; strcmp(tok[k], "=") != 0; k++)
			cr_assert_eq(dec_add(&acc, parse_i128(tok[k])), DEC_OK);
		cr_assert(acc == parse_i128(tok[k + 1]), "line %d: sum", lineno);
		st = dec_avg(acc, k - 2, s, s > 6 ? s : 6, &avg);
		result_str(st, avg, 0, got);
		strcpy(want, tok[k + 2]);
		cr_assert_str_eq(got, want, "line %d: avg of %d values", lineno,
				 k - 2);
	} else if (strcmp(tok[0], "todouble") == 0) {
		double d = dec_to_double(parse_i128(tok[2]), atoi(tok[1]));
		double want = strtod(tok[3], NULL);

		cr_assert(memcmp(&d, &want, sizeof d) == 0,
			  "line %d: %s at scale %s: %a, Python %a", lineno,
			  tok[2], tok[1], d, want);
	} else {
		cr_assert_fail("line %d: unknown case %s", lineno, tok[0]);
	}
}

Test(decimal, matches_python_decimal)
{
	char cmd[4096], *line = NULL;
	size_t cap = 0;
	int lineno = 0;
	FILE *p;

	snprintf(cmd, sizeof cmd,
		 "python3 '%s/tests/fixtures/decimal_oracle.py' 20261206 %d",
		 tu_srcdir(), tu_scale(8000));
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (getline(&line, &cap, p) > 0)
		check_line(line, ++lineno);
	free(line);
	cr_assert_eq(pclose(p), 0, "the oracle failed");
	cr_assert_gt(lineno, 500, "the oracle gave %d cases", lineno);
}

Test(decimal, sum_past_38_digits_overflows_and_keeps_the_sum)
{
	__int128 acc = dec_pow10(38) - 1, big = acc;

	cr_assert_eq(dec_add(&acc, 1), DEC_OVERFLOW);
	cr_assert(acc == big);
	cr_assert_eq(dec_add(&acc, -big), DEC_OK);
	cr_assert(acc == 0);
	acc = -big;
	cr_assert_eq(dec_add(&acc, -1), DEC_OVERFLOW);
	/* Two 38-digit values pass 2^127: an overflow, not a wrap. */
	acc = big;
	cr_assert_eq(dec_add(&acc, big), DEC_OVERFLOW);
	cr_assert(acc == big);
	acc = -big;
	cr_assert_eq(dec_add(&acc, -big), DEC_OVERFLOW);
	cr_assert(acc == -big);
}

Test(decimal, avg_of_a_huge_sum_overflows_at_its_scale)
{
	__int128 out;

	/* 10^37 - 1 at scale 0, averaged at scale 6: 43 digits. */
	cr_assert_eq(dec_avg(dec_pow10(37) - 1, 1, 0, 6, &out), DEC_OVERFLOW);
	cr_assert_eq(dec_avg(dec_pow10(32), 1, 0, 6, &out), DEC_OVERFLOW);
	cr_assert_eq(dec_avg(dec_pow10(32) - 1, 1, 0, 6, &out), DEC_OK);
	cr_assert(out == (dec_pow10(32) - 1) * dec_pow10(6));
}

Test(decimal, from_int_checks_the_integer_digits)
{
	__int128 v;

	cr_assert_eq(dec_from_int(123, 5, 2, &v), DEC_OK);
	cr_assert(v == 12300);
	cr_assert_eq(dec_from_int(1000, 5, 2, &v), DEC_OVERFLOW);
	cr_assert_eq(dec_from_int(INT64_MIN, 38, 18, &v), DEC_OK);
	cr_assert(v == (__int128)INT64_MIN * dec_pow10(18));
	cr_assert_eq(dec_from_int(INT64_MIN, 38, 20, &v), DEC_OVERFLOW);
	cr_assert_eq(dec_from_int(0, 2, 2, &v), DEC_OK);
	cr_assert_eq(dec_from_int(1, 2, 2, &v), DEC_OVERFLOW);
}
