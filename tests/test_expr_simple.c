/*
 * test_expr_simple.c - the one-instruction programs a caller runs in its
 * own loop (expr_simple_of(), expr_simple_eval(); the provider's runtime
 * does for its `where` and derived keys) against expr_eval()'s loop over
 * the same program (its short cut turned off; test_expr_pg.c holds that
 * loop to PostgreSQL): which programs are simple, in UTC and in a zone,
 * and the same value or NULL over random and edge values (NaN, the
 * infinities, -0, the ends of bigint, instants before 1970 and on the
 * day's edges).
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
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
	{ "ts", REC_TIMESTAMP, 0, 0, NULL, NULL },
	{ "d", REC_DECIMAL, 12, 2, NULL, NULL },
};
static struct rec_schema schema = { 5, fields };

#define DAY_US 86400000000LL

static const int64_t edge_i[] = {
	INT64_MIN, INT64_MIN + 1, -101, -100, -99, -1, 0, 1, 2, 3, 99, 100,
	101, INT64_MAX - 1, INT64_MAX,
};
static const int64_t edge_ts[] = {
	-DAY_US - 1, -DAY_US, -DAY_US + 1, -1, 0, 1, DAY_US - 1, DAY_US,
	1711846800000000LL, -62135596800000000LL, /* 0001-01-01 */
	253402300799999999LL,                    /* 9999-12-31 23:59:59.999999 */
};

/* A random or edge value for field k of the schema. */
static void pick(struct rec_value *v, int k, uint64_t *st)
{
	uint64_t r = tu_rng(st);
	double edge_f[] = { NAN, -NAN, INFINITY, -INFINITY, -0.0, 0.0, 100.0,
			    99.99, 100.01, -100.0, 2.5, 1e300, -1e-300 };

	memset(v, 0, sizeof *v);
	v->null = r % 7 == 0;
	r = tu_rng(st);
	switch (k) {
	case 0:
	case 1:
		v->u.i = r % 2 ? edge_i[r / 2 % (sizeof edge_i / sizeof edge_i[0])]
			       : (int64_t)(r / 2 % 401) - 200;
		break;
	case 2:
		v->u.f = r % 2 ? edge_f[r / 2 % (sizeof edge_f / sizeof edge_f[0])]
			       : (double)((int64_t)(r / 2 % 40001) - 20000) / 100;
		break;
	case 3:
		v->u.i = r % 2 ? edge_ts[r / 2 % (sizeof edge_ts / sizeof edge_ts[0])]
			       : (int64_t)(r / 2 % 400000000000000000ULL) -
					 100000000000000000LL;
		break;
	default:
		rec_set_dec(v, (__int128)(r % 20001) - 10000);
		break;
	}
}

/* Each text's kind in UTC and in Paris, and its values against the loop's. */
Test(expr_simple, runs_as_the_loop_does)
{
	static const struct {
		const char *text;
		enum expr_simple_kind utc, zone;
	} cases[] = {
		{ "i > 100", EXPR_SIMPLE_CMP_I, EXPR_SIMPLE_CMP_I },
		{ "100 > i", EXPR_SIMPLE_CMP_I, EXPR_SIMPLE_CMP_I },
		{ "i = 3", EXPR_SIMPLE_CMP_I, EXPR_SIMPLE_CMP_I },
		{ "3 <> i", EXPR_SIMPLE_CMP_I, EXPR_SIMPLE_CMP_I },
		{ "i < -1", EXPR_SIMPLE_CMP_I, EXPR_SIMPLE_CMP_I },
		{ "-1 <= i", EXPR_SIMPLE_CMP_I, EXPR_SIMPLE_CMP_I },
		{ "i >= 9223372036854775807", EXPR_SIMPLE_CMP_I, EXPR_SIMPLE_CMP_I },
		{ "0 >= i", EXPR_SIMPLE_CMP_I, EXPR_SIMPLE_CMP_I },
		{ "f > 100", EXPR_SIMPLE_CMP_F, EXPR_SIMPLE_CMP_F },
		{ "100.0 < f", EXPR_SIMPLE_CMP_F, EXPR_SIMPLE_CMP_F },
		{ "f = 100.0", EXPR_SIMPLE_CMP_F, EXPR_SIMPLE_CMP_F },
		{ "99.99 > f", EXPR_SIMPLE_CMP_F, EXPR_SIMPLE_CMP_F },
		{ "f <= 1e300", EXPR_SIMPLE_CMP_F, EXPR_SIMPLE_CMP_F },
		{ "-0.0::float >= f", EXPR_SIMPLE_CMP_F, EXPR_SIMPLE_CMP_F },
		{ "f <> 2.5", EXPR_SIMPLE_CMP_F, EXPR_SIMPLE_CMP_F },
		{ "date_trunc('day', ts)", EXPR_SIMPLE_DAY_UTC, EXPR_SIMPLE_NONE },
		/* Not simple: two fields, other units, other operands. */
		{ "i > j", EXPR_SIMPLE_NONE, EXPR_SIMPLE_NONE },
		{ "f = f", EXPR_SIMPLE_NONE, EXPR_SIMPLE_NONE },
		{ "date_trunc('hour', ts)", EXPR_SIMPLE_NONE, EXPR_SIMPLE_NONE },
		{ "date_trunc('month', ts)", EXPR_SIMPLE_NONE, EXPR_SIMPLE_NONE },
		{ "time_bucket('1d', ts)", EXPR_SIMPLE_NONE, EXPR_SIMPLE_NONE },
		{ "i > NULL", EXPR_SIMPLE_NONE, EXPR_SIMPLE_NONE },
		{ "d > 1", EXPR_SIMPLE_NONE, EXPR_SIMPLE_NONE },
		{ "f >= i", EXPR_SIMPLE_NONE, EXPR_SIMPLE_NONE },
		{ "i > 2 AND f < 1", EXPR_SIMPLE_NONE, EXPR_SIMPLE_NONE },
	};
	char err[256];
	struct tz *paris = tz_load("Europe/Paris", err, sizeof err);
	uint64_t st = 0x5eed;

	cr_assert_not_null(paris, "%s", err);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		for (int z = 0; z < 2; z++) {
			struct expr_error e;
			struct expr_prog *p = expr_compile(cases[c].text, &schema,
							   z ? paris : NULL, &e);
			struct expr_simple s;
			struct expr_prog loop;
			struct expr_frame *f;

			cr_assert_not_null(p, "%s: %s", cases[c].text, e.msg);
			s = expr_simple_of(p);
			cr_expect_eq(s.kind, z ? cases[c].zone : cases[c].utc,
				     "%s (%s)", cases[c].text, z ? "Paris" : "UTC");
			if (s.kind == EXPR_SIMPLE_NONE) {
				expr_free(p);
				continue;
			}
			loop = *p;
			loop.fast = FAST_NONE;
			f = expr_frame_new(&loop);
			cr_assert_not_null(f);
			for (int r = 0; r < 20000; r++) {
				struct rec_value v[5], a, b;
				char reason[EXPR_REASON_MAX];

				for (int k = 0; k < 5; k++)
					pick(&v[k], k, &st);
				memset(&a, 0, sizeof a);
				cr_assert_eq(expr_eval(&loop, v, f, &b, reason,
						       sizeof reason), 0,
					     "%s: %s", cases[c].text, reason);
				expr_simple_eval(&s, v, &a);
				cr_assert_eq(a.null, b.null, "%s", cases[c].text);
				if (a.null)
					continue;
				if (p->type.type == REC_BOOL)
					cr_assert_eq(a.u.b, b.u.b,
						     "%s: i %lld f %g", cases[c].text,
						     (long long)v[0].u.i, v[2].u.f);
				else
					cr_assert_eq(a.u.i, b.u.i, "%s: ts %lld",
						     cases[c].text,
						     (long long)v[3].u.i);
			}
			expr_frame_free(f);
			expr_free(p);
		}
	}
	tz_free(paris);
}

/*
 * expr_simple_run() over steps (a derived day, comparisons as wheres and
 * as a derived bool) is each step's expr_simple_eval() in turn, stopping
 * at the first where that is false or NULL, over random and edge values.
 */
Test(expr_simple, steps_run_in_order_and_stop_at_a_failed_where)
{
	static const char *const texts[] = {
		"date_trunc('day', ts)", "f > 100", "i <= 3", "ts >= '1970-01-01'",
		"f <> 2.5",
	};
	/* out: 5 and 6 are slots after the schema's fields; -1 a where. */
	static const int outs[] = { 5, -1, -1, -1, 6 };
	struct expr_simple_step steps[5];
	struct expr_prog *progs[5];
	uint64_t st = 0x5eed5;
	int kept = 0, dropped = 0;

	for (int k = 0; k < 5; k++) {
		struct expr_error e;

		progs[k] = expr_compile(texts[k], &schema, NULL, &e);
		cr_assert_not_null(progs[k], "%s: %s", texts[k], e.msg);
		steps[k] = expr_simple_step_of(expr_simple_of(progs[k]), outs[k]);
		cr_assert_neq(steps[k].e.kind, EXPR_SIMPLE_NONE, "%s", texts[k]);
	}
	for (int r = 0; r < 50000; r++) {
		struct rec_value v[7], want[7];
		bool keep = true;

		for (int k = 0; k < 5; k++)
			pick(&v[k], k, &st);
		memset(&v[5], 0, 2 * sizeof v[5]);
		memcpy(want, v, sizeof v);
		for (int k = 0; k < 5 && keep; k++) {
			struct rec_value w;

			if (outs[k] >= 0) {
				expr_simple_eval(&steps[k].e, want, &want[outs[k]]);
				continue;
			}
			expr_simple_eval(&steps[k].e, want, &w);
			keep = !w.null && w.u.b;
		}
		cr_assert_eq(expr_simple_run(steps, 5, v), keep,
			     "i %lld f %g ts %lld", (long long)v[0].u.i,
			     v[2].u.f, (long long)v[3].u.i);
		/* The fields read are as they were; a value set is the
		 * same, or NULL in both (a NULL's value is not read). */
		cr_assert_eq(memcmp(v, want, 5 * sizeof v[0]), 0);
		cr_assert_eq(v[5].null, want[5].null);
		cr_assert(v[5].null || v[5].u.i == want[5].u.i);
		if (keep) {
			cr_assert_eq(v[6].null, want[6].null);
			cr_assert(v[6].null || v[6].u.b == want[6].u.b);
		}
		kept += keep;
		dropped += !keep;
	}
	cr_assert_gt(kept, 1000);
	cr_assert_gt(dropped, 1000);
	for (int k = 0; k < 5; k++)
		expr_free(progs[k]);
}

/*
 * expr_day_utc() is expr_trunc_ts()'s floored division on both sides of
 * 1970 and at the ends of the range: the unsigned way from 0 on, the
 * signed one below.
 */
Test(expr_simple, day_utc_is_the_floored_division)
{
	static const int64_t edge[] = {
		0, 1, DAY_US - 1, DAY_US, DAY_US + 1, -1, -DAY_US + 1, -DAY_US,
		-DAY_US - 1, INT64_MAX, INT64_MAX - DAY_US,
		INT64_MIN + DAY_US, -62135596800000000LL, 253402300799999999LL,
	};
	uint64_t st = 0xda7;

	for (int r = 0; r < 200000; r++) {
		int64_t us = r < (int)(sizeof edge / sizeof edge[0]) ? edge[r]
			: (int64_t)tu_rng(&st) / (1 + r % 3 * 1000);
		int64_t q = us / DAY_US - (us % DAY_US < 0);

		/* The floored start, when it is a bigint. */
		if (q < INT64_MIN / DAY_US)
			continue;
		cr_assert_eq(expr_day_utc(us), q * DAY_US, "%lld", (long long)us);
	}
}

/*
 * The shapes of a where on a float or an int field, then a day: named
 * only for those two steps in that order; bound to the values, run as
 * expr_simple_run() runs them, for each relation, over random and edge
 * values with NULLs.
 */
Test(expr_simple, where_then_day_runs_as_the_steps_do)
{
	static const struct {
		const char *where;
		enum expr_steps_shape shape;
	} wheres[] = {
		{ "f > 100", EXPR_STEPS_WHERE_F_DAY },
		{ "f >= 100", EXPR_STEPS_WHERE_F_DAY },
		{ "f < 99.99", EXPR_STEPS_WHERE_F_DAY },
		{ "f <= -0.0::float", EXPR_STEPS_WHERE_F_DAY },
		{ "f = 2.5", EXPR_STEPS_WHERE_F_DAY },
		{ "f <> 100.01", EXPR_STEPS_WHERE_F_DAY },
		{ "i > 3", EXPR_STEPS_WHERE_I_DAY },
		{ "i >= -100", EXPR_STEPS_WHERE_I_DAY },
		{ "i < 0", EXPR_STEPS_WHERE_I_DAY },
		{ "i <= 99", EXPR_STEPS_WHERE_I_DAY },
		{ "i = 1", EXPR_STEPS_WHERE_I_DAY },
		{ "i <> 2", EXPR_STEPS_WHERE_I_DAY },
	};
	struct expr_error e;
	struct expr_prog *day = expr_compile("date_trunc('day', ts)", &schema,
					     NULL, &e);
	struct expr_simple_step dstep, steps[4];
	uint64_t st = 0xd0;

	cr_assert_not_null(day);
	dstep = expr_simple_step_of(expr_simple_of(day), 5);
	for (size_t w = 0; w < sizeof wheres / sizeof wheres[0]; w++) {
		const char *text = wheres[w].where;
		struct expr_prog *p = expr_compile(text, &schema, NULL, &e);
		int kept = 0, dropped = 0;

		cr_assert_not_null(p, "%s: %s", text, e.msg);
		steps[0] = expr_simple_step_of(expr_simple_of(p), -1);
		steps[1] = dstep;
		steps[2] = steps[0];
		steps[3] = dstep;
		cr_assert_eq(expr_steps_shape_of(steps, 2), wheres[w].shape,
			     "%s", text);
		/* Three steps, one, the day first, the where twice. */
		cr_assert_eq(expr_steps_shape_of(steps, 3), EXPR_STEPS_ANY);
		cr_assert_eq(expr_steps_shape_of(steps, 1), EXPR_STEPS_ANY);
		cr_assert_eq(expr_steps_shape_of(steps + 1, 2), EXPR_STEPS_ANY);
		steps[1] = steps[0];
		cr_assert_eq(expr_steps_shape_of(steps, 2), EXPR_STEPS_ANY);
		steps[1] = dstep;
		for (int r = 0; r < 20000; r++) {
			struct rec_value v[6], want[6];
			struct expr_where_day wd;
			bool keep, got;

			for (int k = 0; k < 5; k++)
				pick(&v[k], k, &st);
			memset(&v[5], 0, sizeof v[5]);
			v[5].null = r % 2;
			memcpy(want, v, sizeof v);
			keep = expr_simple_run(steps, 2, want);
			wd = expr_where_day_bind(steps, v);
			got = wheres[w].shape == EXPR_STEPS_WHERE_I_DAY
				? expr_where_day_run(&wd, EXPR_STEPS_WHERE_I_DAY)
				: expr_where_day_run(&wd, EXPR_STEPS_WHERE_F_DAY);
			cr_assert_eq(got, keep, "%s: i %lld f %g", text,
				     (long long)v[0].u.i, v[2].u.f);
			/* A record dropped leaves the day as it was. */
			cr_assert_eq(memcmp(v, want, sizeof v), 0,
				     "%s: i %lld f %g ts %lld", text,
				     (long long)v[0].u.i, v[2].u.f,
				     (long long)v[3].u.i);
			kept += keep;
			dropped += !keep;
		}
		cr_assert_gt(kept, 200, "%s", text);
		cr_assert_gt(dropped, 200, "%s", text);
		expr_free(p);
	}
	expr_free(day);
}
