/*
 * expr.h - expressions of the report language (SPEC §8), compiled once.
 *
 * An expression is text in PostgreSQL's syntax over the fields of one
 * schema ("amount * 1.2", "date_trunc('day', ts)", "region IN ('EU',
 * 'US') AND amount > 100").  expr_compile() parses it, checks its types
 * as PostgreSQL would (an unknown name or a type error is an error for
 * the user, with the column and the nearest name), folds what is constant
 * and turns the rest into a flat program of typed instructions over the
 * slots of a frame: no tree and no name is looked at per record.
 * expr_eval() runs the program over one record's values.
 *
 * Types are the record's (ipc/record.h): int is PostgreSQL's bigint,
 * float its double precision, decimal(p,s) its numeric (with a scale
 * fixed when the expression is compiled: see docs/design.md for the rule
 * of each operator), text, bool, timestamp (timestamptz: an instant,
 * shown and cut into days in the zone given to expr_compile) and date.
 *
 * A compiled program is read-only and may be shared; each thread or
 * process that evaluates it needs its own frame.
 */
#ifndef AGG_EXPR_H
#define AGG_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ipc/record.h"

struct tz;
struct expr_prog;
struct expr_frame;

/* Room for an error message. */
#define EXPR_ERR_MAX 256

/*
 * A compile error: the 1-based column in the text where it was found, and
 * a message that says it ("unknown field \"amout\" at column 5; did you
 * mean \"amount\"?", "operator + cannot take text and int at column 8").
 * The caller prefixes file:line.
 */
struct expr_error {
	int column;
	char msg[EXPR_ERR_MAX];
};

/* A value's type; prec and scale for a decimal, zero for the others. */
struct expr_type {
	enum rec_type type;
	uint8_t prec, scale;
};

/*
 * Compile text (NUL-terminated) over the fields of schema, with day,
 * week, month and hour boundaries (date_trunc, time_bucket, extract,
 * strftime, casts between timestamp and date or text) taken in zone tz
 * (NULL for UTC).  The program keeps pointers to neither schema nor text,
 * but tz must outlive it.  Returns the program (expr_free), or NULL with
 * *err filled in.
 */
struct expr_prog *expr_compile(const char *text, const struct rec_schema *schema,
			       const struct tz *tz, struct expr_error *err);

void expr_free(struct expr_prog *prog);

/* The type of the expression's value. */
struct expr_type expr_result_type(const struct expr_prog *prog);

/*
 * The fields the expression reads, as indexes into the schema, each once,
 * in increasing order: *n of them.  The array belongs to the program.
 */
const int *expr_fields_read(const struct expr_prog *prog, int *n);

/*
 * The names of the fields text reads, from its syntax alone (no schema, no
 * types): each once, in the order they first appear, folded as the
 * compiler folds them.  For a caller that must know what an expression
 * depends on before the schema it reads is complete (derived fields that
 * read each other).  Returns the count and sets *names to an array the
 * caller frees with expr_names_free(), or -1 with *err filled in (a
 * syntax error).
 */
int expr_names_read(const char *text, char ***names, struct expr_error *err);
void expr_names_free(char **names, int n);

/*
 * A frame to evaluate prog in: its slots and a scratch buffer for text
 * results.  NULL when out of memory.  Release with expr_frame_free().
 */
struct expr_frame *expr_frame_new(const struct expr_prog *prog);
void expr_frame_free(struct expr_frame *frame);

/* Room for the reason of a record's error. */
#define EXPR_REASON_MAX 160

/*
 * Evaluate prog over one record: fields[i] is the value of the schema's
 * field i (only the fields expr_fields_read() lists are read).  Writes the
 * value to *out: a text points into the frame, into the program or into
 * the fields' own text, and stays valid until the next expr_eval() on
 * this frame.  Returns 0, or -1 with a reason for the record's reject
 * ("integer out of range", "division by zero", "numeric field overflow",
 * "invalid input syntax for type int: \"abc\"", or "out of memory").
 * Nothing is allocated once the frame's scratch has grown to what the
 * records need.
 */
int expr_eval(const struct expr_prog *prog, const struct rec_value *fields,
	      struct expr_frame *frame, struct rec_value *out, char *reason,
	      size_t reasonlen);

/*
 * A program of one instruction over one field and a constant that a
 * caller may run in its own loop, with expr_simple_eval() instead of
 * expr_eval(): a comparison of an int or float field with a constant
 * (`amount > 100`, `100 < amount`), or date_trunc('day') of a timestamp
 * field in UTC.  The same values as expr_eval() gives, without a call,
 * a frame or a switch on the program; anything else is EXPR_SIMPLE_NONE.
 */
enum expr_simple_kind {
	EXPR_SIMPLE_NONE,
	EXPR_SIMPLE_CMP_I,   /* field REL k.u.i: a bool */
	EXPR_SIMPLE_CMP_F,   /* field REL k.u.f: a bool */
	EXPR_SIMPLE_DAY_UTC, /* the field's day in UTC: a timestamp */
};

/* The comparisons, in the order of the instructions' (EQ_I .. GE_I). */
enum expr_rel { EXPR_EQ, EXPR_NE, EXPR_LT, EXPR_LE, EXPR_GT, EXPR_GE };

struct expr_simple {
	enum expr_simple_kind kind;
	enum expr_rel rel;        /* the field on the left */
	int field;                /* the schema's field read */
	struct rec_value k;       /* the constant (never NULL) */
};

/* What prog is in those terms: its kind, EXPR_SIMPLE_NONE when none. */
struct expr_simple expr_simple_of(const struct expr_prog *prog);

/*
 * A comparison's result from the sign of a - b (expr_eval()'s rule): EQ
 * holds when neither lt nor gt, NE when either, LT when lt, LE when not
 * gt, GT when gt, GE when not lt.  Each relation's three answers (for
 * neither, lt, gt) are three bits of one constant: a shift, no branch.
 */
static inline bool expr_rel_holds(enum expr_rel rel, bool lt, bool gt)
{
	const unsigned table = 01u << 3 * EXPR_EQ | 06u << 3 * EXPR_NE |
			       02u << 3 * EXPR_LT | 03u << 3 * EXPR_LE |
			       04u << 3 * EXPR_GT | 05u << 3 * EXPR_GE;

	return (table >> (3 * (unsigned)rel + (unsigned)lt +
			  2 * (unsigned)gt)) & 1;
}

/*
 * The start of us's day in UTC, microseconds since 1970 as us is:
 * expr_trunc_ts()'s floored division.  An instant from 1970 on (the
 * common case) divides unsigned, a multiply and a shift where the signed
 * division and its remainder's correction take three times the
 * instructions; one before 1970 takes the floored division.
 */
static inline int64_t expr_day_utc(int64_t us)
{
	const int64_t day = 86400000000LL; /* microseconds */

	if (__builtin_expect(us >= 0, 1))
		return (int64_t)((uint64_t)us / (uint64_t)day * (uint64_t)day);
	return (us / day - (us % day < 0)) * day;
}

/*
 * Run e (kind not EXPR_SIMPLE_NONE) over one record's fields into *out:
 * NULL when the field is, as the strict instruction it stands for.
 */
static inline void expr_simple_eval(const struct expr_simple *e,
				    const struct rec_value *fields,
				    struct rec_value *out)
{
	const struct rec_value *f = &fields[e->field];

	out->null = f->null;
	if (f->null)
		return;
	switch (e->kind) {
	case EXPR_SIMPLE_CMP_I:
		out->u.b = expr_rel_holds(e->rel, f->u.i < e->k.u.i,
					  f->u.i > e->k.u.i);
		break;
	case EXPR_SIMPLE_CMP_F:
		out->u.b = expr_rel_holds(e->rel, f->u.f < e->k.u.f,
					  f->u.f > e->k.u.f);
		break;
	default: /* EXPR_SIMPLE_DAY_UTC */
		out->u.i = expr_day_utc(f->u.i);
		break;
	}
}

/*
 * A record's derived fields and `where`s when every one of them is an
 * expr_simple: the steps in the order they run, each setting field out
 * (a derived field) or, out -1, deciding whether the record is kept (a
 * where).  A caller's batch loop runs them with expr_simple_run() in
 * line, where a call per record would cost more than the steps do.
 * Made by expr_simple_step_of(), which also decides how it runs: op, and
 * for a comparison its relation's three answers (expr_rel_holds()).
 */
enum expr_step_op {
	EXPR_STEP_DAY,       /* out = the field's day in UTC */
	EXPR_STEP_SET,       /* out = a comparison (expr_simple_eval()) */
	EXPR_STEP_WHERE_I,   /* keep when the int field REL k */
	EXPR_STEP_WHERE_F,   /* keep when the float field REL k */
};

struct expr_simple_step {
	struct expr_simple e;
	int out;
	enum expr_step_op op;
	unsigned holds;      /* a where's answers for neither, lt, gt */
};

struct expr_simple_step expr_simple_step_of(struct expr_simple e, int out);

/*
 * A where's verdict: its answers holds (expr_simple_step) for a value
 * that is null, or lt or gt its constant.  NULL drops the record as false
 * does.
 */
static inline __attribute__((always_inline)) bool
expr_where_keeps(unsigned holds, bool null, bool lt, bool gt)
{
	return !null && ((holds >> (lt + 2 * gt)) & 1);
}

/*
 * A derived day: o = f's day in UTC.  A NULL's value is the last one
 * read, or zero: computed all the same, then not read.
 */
static inline __attribute__((always_inline)) void
expr_day_set(struct rec_value *o, const struct rec_value *f)
{
	o->u.i = expr_day_utc(f->u.i);
	o->null = f->null;
}

/*
 * Run steps[0..n) over v: true when the record is kept (every derived
 * field set), false as soon as a where is false or NULL (the fields of
 * the later steps are then left as they were).
 */
static inline __attribute__((always_inline)) bool
expr_simple_run(const struct expr_simple_step *steps, int n,
		struct rec_value *v)
{
	for (int i = 0; i < n; i++) {
		const struct expr_simple_step *st = &steps[i];
		const struct rec_value *f = &v[st->e.field];
		bool lt, gt;

		switch (st->op) {
		case EXPR_STEP_DAY:
			expr_day_set(&v[st->out], f);
			continue;
		case EXPR_STEP_WHERE_I:
			lt = f->u.i < st->e.k.u.i;
			gt = f->u.i > st->e.k.u.i;
			break;
		case EXPR_STEP_WHERE_F:
			lt = f->u.f < st->e.k.u.f;
			gt = f->u.f > st->e.k.u.f;
			break;
		default:
			expr_simple_eval(&st->e, v, &v[st->out]);
			continue;
		}
		if (!expr_where_keeps(st->holds, f->null, lt, gt))
			return false;
	}
	return true;
}

/*
 * The steps' shape.  A shape other than EXPR_STEPS_ANY is run straight
 * through, without expr_simple_run()'s loop and its switch a step, by a
 * function of its own over the steps bound to the values they read and
 * set: a batch loop that reuses one array of values binds them once.
 * The ones named are the common filter and key: a where on a number
 * field, float or int, then a derived field that is a timestamp's day.
 */
enum expr_steps_shape {
	EXPR_STEPS_ANY,         /* expr_simple_run()'s loop */
	EXPR_STEPS_WHERE_F_DAY, /* EXPR_STEP_WHERE_F, then EXPR_STEP_DAY */
	EXPR_STEPS_WHERE_I_DAY, /* EXPR_STEP_WHERE_I, then EXPR_STEP_DAY */
};

/* The shape of steps[0..n): EXPR_STEPS_ANY when none is named for it. */
enum expr_steps_shape expr_steps_shape_of(const struct expr_simple_step *steps,
					  int n);

/*
 * Steps of shape EXPR_STEPS_WHERE_F_DAY or EXPR_STEPS_WHERE_I_DAY bound
 * to the values v they read and set (expr_where_day_bind()): the
 * pointers hold while v does.
 */
struct expr_where_day {
	const struct rec_value *x;  /* the where's field */
	struct rec_value k;         /* its constant */
	unsigned holds;             /* its answers (expr_simple_step) */
	const struct rec_value *ts; /* the day's field */
	struct rec_value *day;      /* the day's value */
};

static inline struct expr_where_day
expr_where_day_bind(const struct expr_simple_step *steps, struct rec_value *v)
{
	struct expr_where_day w = {
		.x = &v[steps[0].e.field],
		.k = steps[0].e.k,
		.holds = steps[0].holds,
		.ts = &v[steps[1].e.field],
		.day = &v[steps[1].out],
	};

	return w;
}

/*
 * expr_simple_run() over the values w was bound to, steps of shape (a
 * constant where it is inlined: one loop for each).
 */
static inline __attribute__((always_inline)) bool
expr_where_day_run(const struct expr_where_day *w,
		   const enum expr_steps_shape shape)
{
	bool lt, gt;

	if (shape == EXPR_STEPS_WHERE_I_DAY) {
		lt = w->x->u.i < w->k.u.i;
		gt = w->x->u.i > w->k.u.i;
	} else {
		lt = w->x->u.f < w->k.u.f;
		gt = w->x->u.f > w->k.u.f;
	}
	if (!expr_where_keeps(w->holds, w->x->null, lt, gt))
		return false;
	expr_day_set(w->day, w->ts);
	return true;
}

/*
 * Write v, a value of type t, as PostgreSQL writes it as text (a
 * timestamp in zone tz as "2024-03-31 02:00:00+02", a bool "true"), into
 * out of outlen bytes (at least EXPR_TEXT_MAX for all types but text,
 * which is copied and cut to fit).  Returns the length it needed.  For
 * tests and messages.
 */
#define EXPR_TEXT_MAX 64
size_t expr_format(struct expr_type t, const struct rec_value *v,
		   const struct tz *tz, char *out, size_t outlen);

#endif
