/*
 * test_report_pg.c - whole reports, generated at random, against a real
 * PostgreSQL.
 *
 * Each test, with a seed of its own, makes random typed rows (ints with
 * zeros and the ends of bigint, floats, decimal(12,3) and decimal(20,6)
 * near their limits, texts with commas, quotes, empty strings and UTF-8,
 * timestamps on the days clocks change and at the ends of months and
 * years, dates, and NULLs everywhere), writes them as a CSV file for the
 * aggregate binary and loads the same CSV into a PostgreSQL table.  Then,
 * run after run, it draws a config (derive, and for the main report and
 * five [output NAME] sections: where, group_by expressions with `as`,
 * aggregates of every kind with expression arguments and `filter (where
 * ...)`, having, order_by with nulls first/last, limit) together with the
 * SQL that says the same, runs both, and compares the CSV files byte for
 * byte with what COPY (query) TO STDOUT (FORMAT csv, HEADER) writes.
 *
 * Floats compare to the last bit: both write the shortest text that reads
 * back to the same double, but PostgreSQL switches to an exponent from
 * 1e15 on (3.002999233696753e+15, where printf's %g writes 16 digits
 * plain) and now and then writes a 17th digit that is not needed, so a
 * field that differs must read as the same double on both sides; every
 * other field compares byte for byte.  The expressions keep that fair:
 * the floats summed are multiples of 1/32 small enough that every sum is
 * exact in a double and in PostgreSQL's float8 -> numeric cast (15
 * digits), so PostgreSQL's order-dependent float sums and averages are
 * exact here too; variances go through numeric(38,20) as in test_aggs.c;
 * avg of an int is the exact sum over the count in numeric to 30
 * decimals, rounded once.  Ints stay small where they are summed, so no
 * run fails on an overflow (test_expr_pg.c and test_types.c cover those).
 * upper() and lower() run in the database's C.UTF-8 collation, whose
 * case mapping covers every letter, as ours does.
 *
 * The SQL spells out what the config leaves implicit: text compares and
 * sorts bytewise (COLLATE "C"), a decimal column has one scale (PostgreSQL
 * carries one per value: the oracle casts to numeric(38,s)), timestamps
 * are written as RFC 3339 UTC, ties in order_by keep the group key's order.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "helpers/pgtest.h"
#include "helpers/testutil.h"

PGT_START_BEFORE_ALL()
PGT_STOP_AFTER_ALL()

static struct pgt_fixture fx;
static uint64_t seed;

PGT_SUITE(report_pg, fx, "rp", 600);

static uint64_t rnd(uint64_t n)
{
	return tu_rng(&seed) % n;
}

static bool one_in(uint64_t n)
{
	return rnd(n) == 0;
}

/* --- text of a run, in a pool freed once the run is done ------------- */

static char *pool[4096];
static int npool;

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	cr_assert(vasprintf(&s, f, ap) >= 0);
	va_end(ap);
	cr_assert(npool < (int)(sizeof pool / sizeof pool[0]));
	pool[npool++] = s;
	return s;
}

static void pool_free(void)
{
	while (npool > 0)
		free(pool[--npool]);
}

/* --- the rows ---------------------------------------------------------- */

#define COLS "id:int, k:text, i:int, j:int, big:int, f:float," \
	" d:decimal(12,3), e:decimal(20,6), t:text, ts:timestamp, dt:date"

static const char *const texts[] = {
	"a", "b", "B", "", "a.b.c", "Hello, World", "x%y", "a_b", " pad ",
	"say \"hi\"", "caf\xc3\xa9", "ab", "abc", "12", "z",
};
#define NTEXTS (int)(sizeof texts / sizeof texts[0])

/* UTC seconds: changes of offset in Paris, New York, Lord Howe; edges. */
static const long long edge_ts[] = {
	1711846799, 1711846800, 1711848600, 1711850400,
	1729989000, 1729990800, 1729992600, 1729994400,
	1710052200, 1710055800, 1730611800, 1730615400,
	1712413800, 1712415600, 1728142200, 1728144000,
	1706743800, 1709249400, 1704065400, 1735689599,
	946684799, 951868800, 978307199, 1609459199,
};
#define NEDGE (int)(sizeof edge_ts / sizeof edge_ts[0])

static void put_ts(FILE *f, long long secs, int us)
{
	time_t t = (time_t)secs;
	struct tm tm;
	char b[40];

	gmtime_r(&t, &tm);
	strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
	if (us)
		fprintf(f, "%s.%06dZ", b, us);
	else
		fprintf(f, "%sZ", b);
}

/* n rows with a header, each value NULL 1 in 8. */
static char *make_rows(int n)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	cr_assert_not_null(f);
	fprintf(f, "id,k,i,j,big,f,d,e,t,ts,dt\n");
	for (int r = 0; r < n; r++) {
		static const char *const keys[] = { "p", "q", "r", "s", "" };

		fprintf(f, "%d,", r);
		if (!one_in(10))
			tu_csv_text(f, keys[rnd(5)]);
		fputc(',', f);
		if (!one_in(8))
			fprintf(f, "%d", one_in(6) ? 0 : (int)rnd(101) - 50);
		fputc(',', f);
		if (!one_in(8))
			fprintf(f, "%d", (int)rnd(2001) - 1000);
		fputc(',', f);
		if (!one_in(8)) {
			switch (rnd(4)) {
			case 0: fprintf(f, "9223372036854775807"); break;
			case 1: fprintf(f, "-9223372036854775808"); break;
			case 2: fprintf(f, "%lld", (long long)(tu_rng(&seed) >> 2)); break;
			default: fprintf(f, "%d", (int)rnd(7) - 3); break;
			}
		}
		fputc(',', f);
		if (!one_in(8)) {
			switch (rnd(5)) {
			case 0: fprintf(f, "0"); break;
			case 1: fprintf(f, "1073741824"); break;
			case 2: fprintf(f, "%.3f", ((double)rnd(800000001) - 400000000) / 8); break;
			default: fprintf(f, "%.3f", ((double)rnd(8001) - 4000) / 8); break;
			}
		}
		fputc(',', f);
		if (!one_in(8)) {
			switch (rnd(5)) {
			case 0: fprintf(f, "%s999999999.999", rnd(2) ? "-" : ""); break;
			case 1: fprintf(f, "0.%03d", (int)rnd(1000)); break;
			default:
				fprintf(f, "%s%d.%03d", rnd(3) ? "" : "-",
					(int)rnd(100000000), (int)rnd(1000));
			}
		}
		fputc(',', f);
		if (!one_in(8)) {
			if (one_in(5))
				fprintf(f, "%s99999999999999.999999", rnd(2) ? "-" : "");
			else
				fprintf(f, "%s%d.%06d", rnd(3) ? "" : "-",
					(int)rnd(1000000), (int)rnd(1000000));
		}
		fputc(',', f);
		if (!one_in(8))
			tu_csv_text(f, texts[rnd(NTEXTS)]);
		fputc(',', f);
		if (!one_in(8)) {
			if (rnd(3) == 0)
				put_ts(f, 631152000LL + (long long)rnd(1577836800ULL),
				       rnd(2) ? (int)rnd(1000000) : 0);
			else
				put_ts(f, edge_ts[rnd(NEDGE)], one_in(4) ? (int)rnd(1000000) : 0);
		}
		fputc(',', f);
		if (!one_in(8)) {
			long long day = one_in(3) ? edge_ts[rnd(NEDGE)] / 86400
						  : 7305 + (long long)rnd(18262);
			time_t t = (time_t)(day * 86400);
			struct tm tm;
			char b[16];

			gmtime_r(&t, &tm);
			strftime(b, sizeof b, "%Y-%m-%d", &tm);
			fputs(b, f);
		}
		fputc('\n', f);
	}
	fclose(f);
	return out;
}

/* --- expressions ------------------------------------------------------- */

enum ty { TI, TF, TD, TT, TTS, TDT, TB, NTY };

/*
 * An expression as the config writes it (o) and as PostgreSQL does (p),
 * its type and, for a decimal, its scale.  sum: an int or float whose
 * sums stay exact and in range (see the file's comment).
 */
struct ex {
	const char *o, *p;
	enum ty ty;
	int sc;
	bool sum;
};

/* The columns an expression may read: the fields, then the derived. */
static struct ex cols[32];
static int ncols;

static void base_cols(void)
{
	static const struct ex base[] = {
		{ "id", "id", TI, 0, true }, { "k", "k", TT, 0, false },
		{ "i", "i", TI, 0, true }, { "j", "j", TI, 0, true },
		{ "big", "big", TI, 0, false }, { "f", "f", TF, 0, true },
		{ "d", "d", TD, 3, true }, { "e", "e", TD, 6, true },
		{ "t", "t", TT, 0, false }, { "ts", "ts", TTS, 0, false },
		{ "dt", "dt", TDT, 0, false },
	};

	memcpy(cols, base, sizeof base);
	ncols = (int)(sizeof base / sizeof base[0]);
}

/* A column of type ty; summable only when sum. */
static bool leaf(enum ty ty, bool sum, struct ex *x)
{
	int pick[32], n = 0;

	for (int c = 0; c < ncols; c++)
		if (cols[c].ty == ty && (!sum || cols[c].sum))
			pick[n++] = c;
	if (n == 0)
		return false;
	*x = cols[pick[rnd((uint64_t)n)]];
	return true;
}

static struct ex gen(enum ty ty, int depth, bool sum);

static struct ex mk(const char *o, const char *p, enum ty ty, int sc,
		    bool sum)
{
	struct ex x = { o, p, ty, sc, sum };

	return x;
}

static struct ex same(const char *o, enum ty ty, int sc, bool sum)
{
	return mk(o, o, ty, sc, sum);
}

static const char *text_lit(void)
{
	static const char *const lits[] = { "'a'", "'b'", "''", "'ab'",
					    "'caf\xc3\xa9'", "'z'", "'12'" };

	return lits[rnd(sizeof lits / sizeof lits[0])];
}

/* A literal of type ty (not bool) and what PostgreSQL reads for it. */
static struct ex literal(enum ty ty)
{
	switch (ty) {
	case TI: return same(fmt("%d", (int)rnd(41) - 20), TI, 0, true);
	case TF: {
		const char *v = fmt("%d.%d", (int)rnd(100) - 50, (int)rnd(10));

		return mk(fmt("CAST(%s AS float)", v),
			  fmt("CAST(%s AS float8)", v), TF, 0, true);
	}
	case TD: return same(fmt("%d.%02d", (int)rnd(2000) - 1000, (int)rnd(100)),
			     TD, 2, true);
	case TT: return same(text_lit(), TT, 0, false);
	case TTS: {
		long long s = edge_ts[rnd(NEDGE)] + (long long)rnd(7200) - 3600;
		time_t t = (time_t)s;
		struct tm tm;
		char b[32];

		gmtime_r(&t, &tm);
		strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S", &tm);
		return same(fmt("CAST('%s' AS timestamp)", b), TTS, 0, false);
	}
	case TDT: {
		time_t t = (time_t)((7305 + (long long)rnd(18262)) * 86400);
		struct tm tm;
		char b[16];

		gmtime_r(&t, &tm);
		strftime(b, sizeof b, "%Y-%m-%d", &tm);
		return same(fmt("CAST('%s' AS date)", b), TDT, 0, false);
	}
	default: break;
	}
	cr_assert_fail("no literal of type %d", ty);
	return same("NULL", ty, 0, false);
}

static int maxi(int a, int b)
{
	return a > b ? a : b;
}

/* text that sorts bytewise in PostgreSQL */
static const char *coll(const struct ex *x)
{
	return x->ty == TT ? fmt("(%s) COLLATE \"C\"", x->p) : x->p;
}

static struct ex gen_bool(int depth);

static struct ex gen_int(int depth, bool sum)
{
	struct ex a, b;

	if (depth <= 0 || one_in(3)) {
		if (!sum && one_in(5))
			return same("big", TI, 0, false);
		leaf(TI, true, &a);
		return a;
	}
	a = gen_int(depth - 1, true);
	switch (rnd(13)) {
	case 0:
		b = gen_int(depth - 1, true);
		return mk(fmt("%s + %s", a.o, b.o), fmt("%s + %s", a.p, b.p), TI, 0,
			  true);
	case 1:
		b = gen_int(depth - 1, true);
		return mk(fmt("(%s - %s)", a.o, b.o), fmt("(%s - %s)", a.p, b.p),
			  TI, 0, true);
	case 2: return mk(fmt("%s * 3", a.o), fmt("%s * 3", a.p),
			  TI, 0, true);
	case 3: return mk(fmt("(%s) / 7", a.o), fmt("(%s) / 7", a.p),
			  TI, 0, true);
	case 4: return mk(fmt("(%s) %% 5", a.o), fmt("(%s) %% 5", a.p),
			  TI, 0, true);
	case 5: return mk(fmt("abs(%s)", a.o), fmt("abs(%s)", a.p), TI, 0, true);
	case 6:
		b = gen_int(depth - 1, true);
		return mk(fmt("coalesce(%s, %s, 0)", a.o, b.o),
			  fmt("coalesce(%s, %s, 0)", a.p, b.p), TI, 0, true);
	case 7: {
		const char *fn = rnd(2) ? "greatest" : "least";

		b = gen_int(depth - 1, true);
		return mk(fmt("%s(%s, %s)", fn, a.o, b.o),
			  fmt("%s(%s, %s)", fn, a.p, b.p), TI, 0, true);
	}
	case 8: {
		struct ex t = gen(TT, depth - 1, false);

		return mk(fmt("length(%s)", t.o), fmt("length(%s)", t.p), TI, 0, true);
	}
	case 9: {
		struct ex d = gen(TD, depth - 1, true);

		return mk(fmt("CAST(%s AS int)", d.o), fmt("CAST(%s AS bigint)", d.p),
			  TI, 0, true);
	}
	case 10: {
		struct ex f = gen(TF, depth - 1, true);

		return mk(fmt("CAST(%s AS int)", f.o), fmt("CAST(%s AS bigint)", f.p),
			  TI, 0, true);
	}
	case 11: {
		struct ex c = gen_bool(depth - 1);

		b = gen_int(depth - 1, true);
		return mk(fmt("CASE WHEN %s THEN %s ELSE %s END", c.o, a.o, b.o),
			  fmt("CASE WHEN %s THEN %s ELSE %s END", c.p, a.p, b.p),
			  TI, 0, true);
	}
	default:
		return mk(fmt("nullif(%s, 0)", a.o), fmt("nullif(%s, 0)", a.p),
			  TI, 0, true);
	}
}

static struct ex gen_float(int depth)
{
	struct ex a, b;

	if (depth <= 0 || one_in(3)) {
		leaf(TF, true, &a);
		return a;
	}
	switch (rnd(7)) {
	case 0:
		a = gen_float(depth - 1);
		return mk(fmt("%s * 2", a.o), fmt("%s * 2", a.p), TF, 0, true);
	case 1:
		leaf(TF, true, &a);
		return mk(fmt("%s / 4", a.o), fmt("%s / 4", a.p), TF, 0, true);
	case 2:
		a = gen_float(depth - 1);
		b = gen_int(depth - 1, true);
		return mk(fmt("(%s + %s)", a.o, b.o), fmt("(%s + %s)", a.p, b.p),
			  TF, 0, true);
	case 3:
		a = gen_float(depth - 1);
		b = gen_int(depth - 1, true);
		return mk(fmt("(%s - %s)", a.o, b.o), fmt("(%s - %s)", a.p, b.p),
			  TF, 0, true);
	case 4:
		b = gen_int(depth - 1, true);
		return mk(fmt("CAST(%s AS float)", b.o), fmt("CAST(%s AS float8)", b.p),
			  TF, 0, true);
	case 5:
		a = gen_float(depth - 1);
		return mk(fmt("abs(%s)", a.o), fmt("abs(%s)", a.p), TF, 0, true);
	default: {
		struct ex c = gen_bool(depth - 1);

		a = gen_float(depth - 1);
		b = gen_float(depth - 1);
		return mk(fmt("CASE WHEN %s THEN %s ELSE %s END", c.o, a.o, b.o),
			  fmt("CASE WHEN %s THEN %s ELSE %s END", c.p, a.p, b.p),
			  TF, 0, true);
	}
	}
}

static struct ex gen_dec(int depth)
{
	struct ex a, b;

	if (depth <= 0 || one_in(3)) {
		leaf(TD, true, &a);
		return a;
	}
	switch (rnd(9)) {
	case 0:
		a = gen_dec(depth - 1);
		b = gen_dec(depth - 1);
		return mk(fmt("(%s + %s)", a.o, b.o), fmt("(%s + %s)", a.p, b.p),
			  TD, maxi(a.sc, b.sc), true);
	case 1:
		a = gen_dec(depth - 1);
		b = gen_dec(depth - 1);
		return mk(fmt("(%s - %s)", a.o, b.o), fmt("(%s - %s)", a.p, b.p),
			  TD, maxi(a.sc, b.sc), true);
	case 2:
		leaf(TD, true, &a);
		leaf(TI, true, &b);
		return mk(fmt("%s * %s", a.o, b.o), fmt("%s * %s", a.p, b.p), TD,
			  a.sc, true);
	case 3:
		a = gen_dec(depth - 1);
		return mk(fmt("round(%s, 1)", a.o), fmt("round(%s, 1)", a.p), TD,
			  1, true);
	case 4:
		a = gen_dec(depth - 1);
		return mk(fmt("abs(%s)", a.o), fmt("abs(%s)", a.p), TD, a.sc, true);
	case 5:
		a = gen_dec(depth - 1);
		return mk(fmt("coalesce(%s, 0)", a.o), fmt("coalesce(%s, 0)", a.p),
			  TD, a.sc, true);
	case 7: {
		static const char *const fields[] = { "year", "quarter", "month",
			"week", "day", "hour", "minute", "dow", "doy", "isoyear",
			"second", "epoch" };
		int fi = (int)rnd(12);

		leaf(TTS, false, &a);
		return same(fmt("extract(%s FROM %s)", fields[fi], a.o), TD,
			    fi >= 10 ? 6 : 0, true);
	}
	case 6:
		a = gen_float(depth - 1);
		return mk(fmt("CAST(%s AS decimal(20,3))", a.o),
			  fmt("CAST(%s AS numeric(20,3))", a.p), TD, 3, true);
	default: {
		struct ex c = gen_bool(depth - 1);

		a = gen_dec(depth - 1);
		b = gen_dec(depth - 1);
		return mk(fmt("CASE WHEN %s THEN %s ELSE %s END", c.o, a.o, b.o),
			  fmt("CASE WHEN %s THEN %s ELSE %s END", c.p, a.p, b.p),
			  TD, maxi(a.sc, b.sc), true);
	}
	}
}

static struct ex gen_text(int depth)
{
	struct ex a, b;

	if (depth <= 0 || one_in(3)) {
		leaf(TT, false, &a);
		return a;
	}
	a = gen_text(depth - 1);
	switch (rnd(10)) {
	case 0: return mk(fmt("upper(%s)", a.o), fmt("upper(%s)", a.p),
			  TT, 0, false);
	case 1: return mk(fmt("lower(%s)", a.o), fmt("lower(%s)", a.p),
			  TT, 0, false);
	case 2:
		b = gen_text(depth - 1);
		return mk(fmt("%s || %s", a.o, b.o), fmt("%s || %s", a.p, b.p), TT,
			  0, false);
	case 3: return mk(fmt("substr(%s, 2)", a.o), fmt("substr(%s, 2)", a.p),
			  TT, 0, false);
	case 4: return mk(fmt("substr(%s, 1, 2)", a.o),
			  fmt("substr(%s, 1, 2)", a.p), TT, 0, false);
	case 5: return mk(fmt("trim(%s)", a.o), fmt("trim(%s)", a.p), TT, 0, false);
	case 6: return mk(fmt("replace(%s, 'a', 'x')", a.o),
			  fmt("replace(%s, 'a', 'x')", a.p), TT, 0, false);
	case 7: return mk(fmt("coalesce(%s, 'none')", a.o),
			  fmt("coalesce(%s, 'none')", a.p), TT, 0, false);
	case 8: return mk(fmt("split_part(%s, '.', 2)", a.o),
			  fmt("split_part(%s, '.', 2)", a.p), TT, 0, false);
	default:
		b = gen_int(depth - 1, false);
		return mk(fmt("CAST(%s AS text)", b.o), fmt("CAST(%s AS text)", b.p),
			  TT, 0, false);
	}
}

static const char *const units[] = { "hour", "day", "week", "month",
				     "quarter", "year" };

static struct ex gen(enum ty ty, int depth, bool sum)
{
	struct ex x;

	switch (ty) {
	case TI: return gen_int(depth, sum);
	case TF: return gen_float(depth);
	case TD: return gen_dec(depth);
	case TT: return gen_text(depth);
	case TTS:
		leaf(TTS, false, &x);
		if (one_in(2))
			return x;
		return same(fmt("date_trunc('%s', %s)", units[rnd(6)], x.o), TTS,
			    0, false);
	case TDT:
		if (one_in(2)) {
			leaf(TDT, false, &x);
			return x;
		}
		leaf(TTS, false, &x);
		return same(fmt("CAST(%s AS date)", x.o), TDT, 0, false);
	default: return gen_bool(depth);
	}
}

static enum ty any_type(void)
{
	static const enum ty t[] = { TI, TI, TF, TD, TD, TT, TT, TTS, TDT };

	return t[rnd(sizeof t / sizeof t[0])];
}

static struct ex gen_bool(int depth)
{
	static const char *const ops[] = { "=", "<>", "<", "<=", ">", ">=" };
	struct ex a, b, c;
	enum ty ty = any_type();

	if (depth > 0 && one_in(3)) {
		a = gen_bool(depth - 1);
		b = gen_bool(depth - 1);
		switch (rnd(3)) {
		case 0:
			return mk(fmt("(%s AND %s)", a.o, b.o),
				  fmt("(%s AND %s)", a.p, b.p), TB, 0, false);
		case 1:
			return mk(fmt("(%s OR %s)", a.o, b.o),
				  fmt("(%s OR %s)", a.p, b.p), TB, 0, false);
		default:
			return mk(fmt("NOT %s", a.o), fmt("NOT %s", a.p), TB, 0,
				  false);
		}
	}
	a = gen(ty, depth > 0 ? depth - 1 : 0, false);
	switch (rnd(7)) {
	case 0: {
		const char *no = rnd(2) ? "NOT " : "";

		return mk(fmt("%s IS %sNULL", a.o, no), fmt("%s IS %sNULL", a.p, no),
			  TB, 0, false);
	}
	case 1:
		b = literal(ty);
		c = literal(ty);
		return mk(fmt("%s IN (%s, %s)", a.o, b.o, c.o),
			  fmt("%s IN (%s, %s)", coll(&a), b.p, c.p), TB, 0, false);
	case 2:
		b = literal(ty);
		c = literal(ty);
		return mk(fmt("%s BETWEEN %s AND %s", a.o, b.o, c.o),
			  fmt("%s BETWEEN %s AND %s", coll(&a), b.p, c.p), TB, 0,
			  false);
	case 3:
		if (ty == TT) {
			static const char *const pats[] = { "'a%'", "'%b%'", "'_'",
							    "'%.%'", "'A%'", "'%'" };
			const char *pat = pats[rnd(6)];

			return mk(fmt("%s LIKE %s", a.o, pat),
				  fmt("%s LIKE %s", a.p, pat), TB, 0, false);
		}
		/* fall through */
	case 4:
		b = literal(ty);
		break;
	default:
		b = gen(ty, depth > 0 ? depth - 1 : 0, false);
		break;
	}
	{
		const char *op = ops[rnd(6)];

		return mk(fmt("%s %s %s", a.o, op, b.o),
			  fmt("%s %s %s", coll(&a), op, b.p), TB, 0, false);
	}
}

/* --- reports ----------------------------------------------------------- */

/* An output column: its name, type and scale. */
struct col {
	const char *name;
	enum ty ty;
	int sc;
};

/* How the oracle writes column q.name of type ty as our CSV does. */
static const char *pg_out(const struct col *c)
{
	switch (c->ty) {
	case TD: return fmt("CAST(q.%s AS numeric(38,%d)) AS %s", c->name, c->sc,
			    c->name);
	case TTS:
		return fmt("regexp_replace(to_char(q.%s AT TIME ZONE 'UTC',"
			   " 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '\\.?0+$', '') || 'Z'"
			   " AS %s", c->name, c->name);
	case TF: return fmt("CAST(q.%s AS float8) AS %s", c->name, c->name);
	default: return fmt("q.%s", c->name);
	}
}

/* The aggregate n: its config text, its SQL in q, its column. */
static void gen_agg(int n, const char **o, const char **p, struct col *c)
{
	static const char *const var_o[] = { "stddev", "stddev_pop", "variance",
					      "var_pop" };
	static const char *const var_p[] = { "stddev_samp", "stddev_pop",
					      "var_samp", "var_pop" };
	const char *name = fmt("a%d", n), *fo = "", *fp = "", *cond = NULL;
	struct ex x, y;
	int kind = (int)rnd(12);

	if (one_in(4)) {
		struct ex b = gen_bool(1);

		fo = fmt(" filter (where %s)", b.o);
		fp = fmt(" FILTER (WHERE %s)", b.p);
		cond = b.p;
	}
	c->name = name;
	c->sc = 0;
	switch (kind) {
	case 0:
		*o = fmt("count(*)%s as %s", fo, name);
		*p = fmt("count(*)%s AS %s", fp, name);
		c->ty = TI;
		return;
	case 1:
		x = gen(any_type(), 1, false);
		*o = fmt("count(%s)%s as %s", x.o, fo, name);
		*p = fmt("count(%s)%s AS %s", x.p, fp, name);
		c->ty = TI;
		return;
	case 2: {
		static const enum ty st[] = { TI, TF, TD };

		x = gen(st[rnd(3)], 2, true);
		*o = fmt("sum(%s)%s as %s", x.o, fo, name);
		*p = fmt("sum(%s)%s AS %s", x.p, fp, name);
		c->ty = x.ty;
		c->sc = x.sc;
		return;
	}
	case 3: {
		static const enum ty st[] = { TI, TF, TD };

		x = gen(st[rnd(3)], 2, true);
		*o = fmt("avg(%s)%s as %s", x.o, fo, name);
		if (x.ty == TI) {
			*p = fmt("CAST(CAST(sum(%s)%s AS numeric(60,30)) /"
				 " nullif(count(%s)%s, 0) AS float8) AS %s", x.p,
				 fp, x.p, fp, name);
			c->ty = TF;
		} else if (x.ty == TF) {
			*p = fmt("avg(%s)%s AS %s", x.p, fp, name);
			c->ty = TF;
		} else {
			c->sc = maxi(x.sc, 6);
			*p = fmt("round(avg(%s)%s, %d) AS %s", x.p, fp, c->sc, name);
			c->ty = TD;
		}
		return;
	}
	case 4:
	case 5:
		x = gen(any_type(), 2, false);
		*o = fmt("%s(%s)%s as %s", kind == 4 ? "min" : "max", x.o, fo, name);
		*p = fmt("%s(%s)%s AS %s", kind == 4 ? "min" : "max", coll(&x), fp,
			 name);
		c->ty = x.ty;
		c->sc = x.sc;
		return;
	case 6:
		x = gen(any_type(), 1, false);
		*o = fmt("count_distinct(%s)%s as %s", x.o, fo, name);
		*p = fmt("count(DISTINCT %s)%s AS %s", x.p, fp, name);
		c->ty = TI;
		return;
	case 7:
	case 8: {
		static const enum ty st[] = { TI, TF, TD };
		int v = (int)rnd(4);

		x = gen(st[rnd(3)], 1, true);
		*o = fmt("%s(%s)%s as %s", var_o[v], x.o, fo, name);
		*p = fmt("CAST(%s(CAST(%s AS numeric(38,20)))%s AS float8) AS %s",
			 var_p[v], x.p, fp, name);
		c->ty = TF;
		return;
	}
	case 9: {
		static const enum ty st[] = { TI, TF, TD };
		static const char *const ps[] = { "0", "1", "0.5", "0.25", "0.9",
						  "0.333", "0.01" };
		const char *pp = ps[rnd(7)];

		x = gen(st[rnd(3)], 2, false);
		if (strcmp(pp, "0.5") == 0 && rnd(2))
			*o = fmt("median(%s)%s as %s", x.o, fo, name);
		else
			*o = fmt("percentile(%s, %s)%s as %s", x.o, pp, fo, name);
		*p = fmt("percentile_cont(%s) WITHIN GROUP (ORDER BY CAST(%s AS"
			 " float8))%s AS %s", pp, x.p, fp, name);
		c->ty = TF;
		return;
	}
	default: {
		bool mx = kind == 11;

		x = gen(any_type(), 1, false);
		y = gen(any_type(), 1, false);
		*o = fmt("%s(%s, %s)%s as %s", mx ? "arg_max" : "arg_min", x.o, y.o,
			 fo, name);
		*p = fmt("(array_agg(%s ORDER BY %s %s, %s) FILTER (WHERE (%s) IS"
			 " NOT NULL AND (%s) IS NOT NULL%s%s))[1] AS %s", x.p,
			 coll(&y), mx ? "DESC" : "ASC", coll(&x), x.p, y.p,
			 cond ? " AND " : "", cond ? fmt("(%s)", cond) : "", name);
		c->ty = x.ty;
		c->sc = x.sc;
		return;
	}
	}
}

/*
 * One report: the keys of its section (o) and the SQL that gives the same
 * rows (p).
 */
static void gen_report(int rep, const char *src_p, const char **gwhere,
		       const char **o, const char **p)
{
	struct col out[12];
	int nkeys = (int)rnd(4), naggs = (int)rnd(5), nout = 0;
	const char *keys_o = "", *keys_p = "", *aggs_o = "", *aggs_p = "";
	const char *sel = "", *order = "", *dflt = "", *conf = "mode = group\n";
	const char *where_p = "";

	if (nkeys == 0 && naggs == 0)
		naggs = 1;
	if (!one_in(3)) {
		struct ex w = gen_bool(2);

		conf = fmt("%swhere = %s\n", conf, w.o);
		where_p = fmt(" WHERE %s", w.p);
		if (rep == 0)
			*gwhere = w.p;
		else if (*gwhere != NULL)
			where_p = fmt(" WHERE %s AND %s", *gwhere, w.p);
	}
	if (*where_p == '\0' && rep > 0 && *gwhere != NULL)
		where_p = fmt(" WHERE %s", *gwhere);
	for (int g = 0; g < nkeys; g++) {
		struct ex x = gen(any_type(), 1, false);
		struct col *c = &out[nout++];

		c->name = fmt("r%dg%d", rep, g);
		c->ty = x.ty;
		c->sc = x.sc;
		keys_o = fmt("%s%s%s as %s", keys_o, g ? ", " : "", x.o, c->name);
		keys_p = fmt("%s%s AS %s, ", keys_p, x.p, c->name);
		dflt = fmt("%s, q.%s%s NULLS LAST", dflt, c->name,
			   c->ty == TT ? " COLLATE \"C\"" : "");
	}
	for (int a = 0; a < naggs; a++) {
		const char *ao, *ap;

		gen_agg(a, &ao, &ap, &out[nout++]);
		aggs_o = fmt("%s%s%s", aggs_o, a ? ", " : "", ao);
		aggs_p = fmt("%s%s%s", aggs_p, a ? ", " : "", ap);
	}
	if (nkeys)
		conf = fmt("%sgroup_by = %s\n", conf, keys_o);
	if (naggs)
		conf = fmt("%saggregates = %s\n", conf, aggs_o);
	for (int c = 0; c < nout; c++)
		sel = fmt("%s%s%s", sel, c ? ", " : "", pg_out(&out[c]));
	{
		const char *pos = "";

		for (int g = 0; g < nkeys; g++)
			pos = fmt("%s%s%d", pos, g ? ", " : "", g + 1);
		*p = fmt("SELECT %s%s FROM (%s) s%s%s%s", keys_p,
			 naggs ? aggs_p : "count(*) AS x_", src_p, where_p,
			 nkeys ? " GROUP BY " : "", pos);
	}
	/* having: over the output columns */
	const char *having_p = "";

	if (nkeys && one_in(3)) {
		struct col *c = &out[rnd((uint64_t)nout)];

		if (c->ty == TI || c->ty == TF || c->ty == TD || c->ty == TT) {
			static const char *const ops[] = { ">", "<", ">=", "<>" };
			const char *op = ops[rnd(4)];
			struct ex l = literal(c->ty);

			if (one_in(4)) {
				conf = fmt("%shaving = %s IS NOT NULL\n", conf, c->name);
				having_p = fmt(" WHERE q.%s IS NOT NULL", c->name);
			} else {
				conf = fmt("%shaving = %s %s %s\n", conf, c->name, op, l.o);
				having_p = fmt(" WHERE q.%s%s %s %s", c->name,
					       c->ty == TT ? " COLLATE \"C\"" : "", op, l.p);
			}
		}
	}
	if (nkeys && one_in(2)) {
		int n = 1 + (int)rnd(2);
		const char *ob = "";

		for (int k = 0; k < n; k++) {
			struct col *c = &out[rnd((uint64_t)nout)];
			bool desc = rnd(2);
			int nl = (int)rnd(3);

			ob = fmt("%s%s%s%s%s", ob, k ? ", " : "", c->name,
				 desc ? " desc" : "",
				 nl == 1 ? " nulls first" : nl == 2 ? " nulls last" : "");
			order = fmt("%s%sq.%s%s %s%s", order, k ? ", " : "", c->name,
				    c->ty == TT ? " COLLATE \"C\"" : "",
				    desc ? "DESC" : "ASC",
				    nl == 1 ? " NULLS FIRST" : nl == 2 ? " NULLS LAST" : "");
		}
		conf = fmt("%sorder_by = %s\n", conf, ob);
	}
	const char *limit_p = "";

	if (one_in(3)) {
		int n = (int)rnd(8);

		conf = fmt("%slimit = %d\n", conf, n);
		limit_p = fmt(" LIMIT %d", n);
	}
	if (*order == '\0' && *dflt != '\0')
		order = dflt + 2;
	else if (*dflt != '\0')
		order = fmt("%s%s", order, dflt);
	*o = conf;
	*p = fmt("SELECT %s FROM (%s) q%s%s%s%s", sel, *p, having_p,
		 *order ? " ORDER BY " : "", order, limit_p);
}

/* --- runs -------------------------------------------------------------- */

#define NREPORTS 6

/*
 * The next CSV field of *s (its text, quotes and all, in [*b, *e)); false
 * at the end of the text.  *s moves past the field's comma or newline.
 */
static bool next_field(const char **s, const char **b, const char **e,
		       bool *eol)
{
	const char *p = *s;
	bool q = false;

	if (*p == '\0')
		return false;
	*b = p;
	for (; *p != '\0' && (q || (*p != ',' && *p != '\n')); p++)
		if (*p == '"')
			q = !q;
	*e = p;
	*eol = *p != ',';
	*s = *p != '\0' ? p + 1 : p;
	return true;
}

/* Whether [b, e) is all of a float's text, its value in *d. */
static bool float_text(const char *b, const char *e, double *d)
{
	char buf[64], *end;

	if (e - b <= 0 || e - b >= (long)sizeof buf || *b == '"')
		return false;
	memcpy(buf, b, (size_t)(e - b));
	buf[e - b] = '\0';
	*d = strtod(buf, &end);
	return *end == '\0';
}

/*
 * Whether two CSV texts are equal, byte for byte but for fields that
 * both read as the same double (the same bits): PostgreSQL now and then
 * writes one more digit than the shortest text that reads back (a
 * halfway case its shortest-digits search does not take).
 */
static bool same_csv(const char *a, const char *b)
{
	const char *ab, *ae, *bb, *be;
	bool aeol, beol;

	if (strcmp(a, b) == 0)
		return true;
	for (;;) {
		bool na = next_field(&a, &ab, &ae, &aeol);
		bool nb = next_field(&b, &bb, &be, &beol);
		double x, y;

		if (na != nb)
			return false;
		if (!na)
			return true;
		if (aeol != beol)
			return false;
		if (ae - ab == be - bb && memcmp(ab, bb, (size_t)(ae - ab)) == 0)
			continue;
		if (!float_text(ab, ae, &x) || !float_text(bb, be, &y) ||
		    memcmp(&x, &y, sizeof x) != 0)
			return false;
	}
}

/*
 * One run: derived fields and NREPORTS reports of one config, from the
 * rows in data.csv and in table fx.table.  Returns the number of reports
 * that differ from PostgreSQL's (each logged with its config and SQL).
 */
static int one_run(const char *zone, int run)
{
	const char *conf, *derive_o = "", *src_p, *der_p = "";
	const char *sql[NREPORTS], *gwhere = NULL;
	int nder = (int)rnd(4), bad = 0;
	struct tu_result r;
	struct ex der[4];

	base_cols();
	for (int x = 0; x < nder; x++) {
		der[x] = gen(any_type(), 2, false);
		derive_o = fmt("%s%s  x%d = %s", derive_o, x ? ",\n" : "", x, der[x].o);
		der_p = fmt("%s, %s AS x%d", der_p, der[x].p, x);
	}
	for (int x = 0; x < nder; x++) {
		cols[ncols] = der[x];
		cols[ncols].o = cols[ncols].p = fmt("x%d", x);
		ncols++;
	}
	src_p = fmt("SELECT *%s FROM %s", der_p, fx.table);
	conf = fmt("[aggregate]\noutput = o0.csv\ntimezone = %s\nfields = " COLS
		   "\n%s%s%s", zone, nder ? "derive =\n" : "", derive_o,
		   nder ? "\n" : "");
	for (int k = 0; k < NREPORTS; k++) {
		const char *o;

		gen_report(k, src_p, &gwhere, &o, &sql[k]);
		if (k > 0)
			conf = fmt("%s[output r%d]\noutput = o%d.csv\n", conf, k, k);
		conf = fmt("%s%s", conf, o);
	}
	conf = fmt("%s[provider p]\ntype = file\npath = data.csv\n"
		   "[provider q]\ntype = file\npath = more.csv\n", conf);
	tu_put(fx.dir, "t.conf", conf);
	tu_run(&r, fx.dir, (const char *[]){ "-c", "t.conf", NULL }, NULL);
	if (r.status != 0) {
		cr_log_error("run %d: exit %d:\n%s\nconfig:\n%s", run, r.status,
			     r.err, conf);
		tu_result_free(&r);
		return NREPORTS;
	}
	if (getenv("AGG_REPORT_DEBUG"))
		cr_log_info("run %d:\n%s\n%s", run, conf, r.err);
	tu_result_free(&r);
	for (int k = 0; k < NREPORTS; k++) {
		char name[24], *got, *want, *why = NULL;

		snprintf(name, sizeof name, "o%d.csv", k);
		got = tu_get(fx.dir, name);
		want = pgt_copy_csv_try(fx.db, sql[k], &why);
		if (want == NULL)
			cr_log_error("run %d report %d: PostgreSQL: %s\nSQL: %s\n"
				     "config:\n%s", run, k, why, sql[k], conf);
		else if (got == NULL || !same_csv(got, want))
			cr_log_error("run %d report %d differs\naggregate:\n%s\n"
				     "PostgreSQL:\n%s\nSQL: %s\nconfig:\n%s", run,
				     k, got ? got : "(no file)", want, sql[k], conf);
		bad += want == NULL || got == NULL || !same_csv(got, want);
		free(got);
		free(want);
		free(why);
	}
	return bad;
}

/* The rows (a header, then lines) into data.csv and more.csv, at random. */
static void split_rows(const char *rows)
{
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	FILE *fa = open_memstream(&a, &alen), *fb = open_memstream(&b, &blen);
	const char *p = rows, *nl;
	bool head = true;

	cr_assert(fa != NULL && fb != NULL);
	for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		bool to_a = rnd(3) != 0;

		if (head || to_a)
			fwrite(p, 1, (size_t)(nl - p + 1), fa);
		if (head || !to_a)
			fwrite(p, 1, (size_t)(nl - p + 1), fb);
		head = false;
	}
	fclose(fa);
	fclose(fb);
	tu_put(fx.dir, "data.csv", a);
	tu_put(fx.dir, "more.csv", b);
	free(a);
	free(b);
}

/* runs random configs over n random rows, in zone, from seed s */
static void differential(uint64_t s, const char *zone, int n, int runs)
{
	char *rows;
	int bad = 0;

	if (getenv("AGG_REPORT_SEED"))
		s ^= strtoull(getenv("AGG_REPORT_SEED"), NULL, 0);
	seed = s;
	rows = make_rows(n);
	pgt_sql(fx.db, "SET TimeZone = '%s'", zone);
	pgt_sql(fx.db, "SET DateStyle = ISO");
	pgt_sql(fx.db, "SET extra_float_digits = 1");
	pgt_sql(fx.db, "CREATE TEMP TABLE %s (id bigint, k text, i bigint,"
		" j bigint, big bigint, f float8, d numeric(12,3),"
		" e numeric(20,6), t text, ts timestamptz, dt date)", fx.table);
	pgt_load_csv(fx.db, fx.table, rows, true);
	split_rows(rows);
	if (getenv("AGG_REPORT_DEBUG"))
		tu_put(getenv("AGG_REPORT_DEBUG"), fmt("data_%llx.csv",
			(unsigned long long)s), rows);
	for (int run = 0; run < runs; run++) {
		bad += one_run(zone, run);
		pool_free();
	}
	cr_assert_eq(bad, 0, "%d of %d reports differ from PostgreSQL's "
		     "(seed %#llx, %s)", bad, runs * NREPORTS,
		     (unsigned long long)s, zone);
	free(rows);
}

static int runs(void)
{
	const char *e = getenv("AGG_REPORT_RUNS");

	return e != NULL ? atoi(e) : tu_under_asan() ? 2 : 12;
}

Test(report_pg, utc)
{
	differential(0x5eed16001ULL, "UTC", 300, runs());
}

Test(report_pg, paris)
{
	differential(0x5eed16002ULL, "Europe/Paris", 300, runs());
}

Test(report_pg, new_york)
{
	differential(0x5eed16003ULL, "America/New_York", 300, runs());
}

Test(report_pg, lord_howe)
{
	differential(0x5eed16004ULL, "Australia/Lord_Howe", 300, runs());
}

Test(report_pg, kolkata)
{
	differential(0x5eed16005ULL, "Asia/Kolkata", 300, runs());
}
