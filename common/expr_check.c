/*
 * expr_check.c - types for the expression's tree, as PostgreSQL gives them.
 *
 * Walks the tree bottom up: each node gets its type, operands get the
 * implicit casts PostgreSQL would insert (int to decimal or float, decimal
 * to float, date to timestamp; a quoted literal of no type yet to whatever
 * the other side is, converted here, once), and a node whose operands are
 * all constants is evaluated here (expr_emit.c's expr_fold) and becomes a
 * constant.  A name that does not exist or a type that does not fit is an
 * error with the node's column.
 */
#include "expr_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_value.h"
#include "decimal.h"

int expr_fold(struct ecomp *c, struct enode *n);

static bool is_num(int t)
{
	return t == REC_INT || t == REC_FLOAT || t == REC_DECIMAL;
}

/* An operand whose type comes from the other side: NULL or 'text'. */
static bool is_untyped(const struct enode *n)
{
	return n->ty.type == T_UNKNOWN || n->lit_text;
}

static struct expr_type mktype(int t, int p, int s)
{
	struct expr_type ty = { (enum rec_type)t, (uint8_t)p, (uint8_t)s };

	return ty;
}

/* The decimal type an int or decimal operand has as a decimal. */
static struct expr_type as_dec(struct expr_type t)
{
	if (t.type == REC_INT)
		return mktype(REC_DECIMAL, 19, 0);
	return t;
}

static int min_i(int a, int b) { return a < b ? a : b; }
static int max_i(int a, int b) { return a > b ? a : b; }

/* A decimal's digits before the point. */
static int int_digits(struct expr_type t)
{
	return t.prec > t.scale ? t.prec - t.scale : 0;
}

/* The decimal type of an int or decimal node: a constant int by its digits. */
static struct expr_type node_dec(const struct enode *n)
{
	if (n->kind == N_CONST && n->ty.type == REC_INT && !n->val.null) {
		int digits = 1;

		for (int64_t v = n->val.u.i / 10; v; v /= 10)
			digits++;
		return mktype(REC_DECIMAL, digits, 0);
	}
	return as_dec(n->ty);
}

/* The numeric type two numeric types meet in. */
static struct expr_type num_common(struct expr_type a, struct expr_type b)
{
	if (a.type == REC_FLOAT || b.type == REC_FLOAT)
		return mktype(REC_FLOAT, 0, 0);
	if (a.type == REC_INT && b.type == REC_INT)
		return mktype(REC_INT, 0, 0);
	a = as_dec(a);
	b = as_dec(b);
	{
		int s = max_i(a.scale, b.scale);
		int p = min_i(max_i(int_digits(a), int_digits(b)) + s,
			      DEC_MAX_PRECISION);

		return mktype(REC_DECIMAL, max_i(p, max_i(s, 1)), s);
	}
}

/* A quoted literal's own decimal type ('12.50' is numeric(4,2)). */
static int lit_dec_type(const char *s, size_t len, struct expr_type *t)
{
	size_t i = 0;
	int frac = 0, digits = 0;
	bool point = false;

	while (i < len && (s[i] == ' ' || s[i] == '+' || s[i] == '-'))
		i++;
	for (; i < len; i++) {
		if (s[i] == '.')
			point = true;
		else if (s[i] >= '0' && s[i] <= '9') {
			digits++;
			frac += point;
		} else
			break;
	}
	if (digits == 0 || frac > DEC_MAX_PRECISION)
		return -1;
	*t = mktype(REC_DECIMAL, min_i(max_i(digits, 1), DEC_MAX_PRECISION), frac);
	return 0;
}

/* Convert a constant in place to type t (a quoted literal, or NULL). */
static int convert_const(struct ecomp *c, struct enode *n, struct expr_type t)
{
	char reason[EXPR_REASON_MAX];
	struct rec_value out;

	n->lit_text = false;
	if (n->val.null) {
		n->ty = t;
		return 0;
	}
	if (t.type == REC_TEXT) {
		n->ty = t;
		return 0;
	}
	struct expr_zone zone = EXPR_ZONE(c->tz);

	if (expr_cast(NULL, &zone, n->ty.type, n->ty.scale, t.type, t.prec, t.scale,
		      &n->val, &out, reason, sizeof reason) < 0)
		return ecomp_fail(c, n->column, "%s", reason);
	n->val = out;
	n->ty = t;
	return 0;
}

/* Wrap *np in a cast to t. */
static int wrap_cast(struct ecomp *c, struct enode **np, struct expr_type t)
{
	struct enode *n = enode_new(c, N_CAST, (*np)->column);

	if (n == NULL || enode_add_arg(c, n, *np) < 0)
		return -1;
	n->to = t;
	n->ty = t;
	n->to_has_scale = true;
	*np = n;
	return expr_fold(c, n);
}

/*
 * Make *np of type t where PostgreSQL would do so implicitly.  what names
 * the place for the message ("operator +").
 */
static int coerce(struct ecomp *c, struct enode **np, struct expr_type t)
{
	struct enode *n = *np;

	if (n->interval && t.type != REC_TEXT)
		return ecomp_fail(c, n->column, "intervals are only the width of time_bucket (e.g. time_bucket(INTERVAL '15 minutes', ts))");

	if (n->ty.type == t.type && !n->lit_text) {
		if (t.type != REC_DECIMAL || n->ty.scale == t.scale)
			return 0;
		return wrap_cast(c, np, t);
	}
	if (n->kind == N_CONST && is_untyped(n)) {
		if (n->lit_text && t.type == REC_DECIMAL && n->ty.type == REC_TEXT) {
			struct expr_type own;

			if (lit_dec_type(n->val.u.s.p, n->val.u.s.len, &own) == 0 &&
			    own.scale > t.scale)
				t.scale = own.scale;
			t.prec = DEC_MAX_PRECISION;
		}
		return convert_const(c, n, t);
	}
	if ((n->ty.type == REC_INT && (t.type == REC_FLOAT || t.type == REC_DECIMAL)) ||
	    (n->ty.type == REC_DECIMAL && t.type == REC_FLOAT) ||
	    (n->ty.type == REC_DATE && t.type == REC_TIMESTAMP))
		return wrap_cast(c, np, t);
	return ecomp_fail(c, n->column, "cannot use %s where %s is expected",
			  expr_type_name(n->ty.type), expr_type_name(t.type));
}

/*
 * The type a list of operands meets in (CASE results, coalesce, IN):
 * PostgreSQL's rule for unions: the typed operands must agree (numbers
 * meet as num_common, date and timestamp as timestamp); untyped ones
 * follow.  All untyped: text.
 */
static int unify(struct ecomp *c, struct enode **ns, int n, const char *what,
		 struct expr_type *out)
{
	struct expr_type t = mktype(T_UNKNOWN, 0, 0);
	int i, col = 0;

	for (i = 0; i < n; i++) {
		struct expr_type u = ns[i]->ty;

		if (is_untyped(ns[i]))
			continue;
		if (t.type == T_UNKNOWN) {
			t = u;
			col = ns[i]->column;
		} else if (is_num(t.type) && is_num(u.type)) {
			t = num_common(t, u);
		} else if ((t.type == REC_DATE || t.type == REC_TIMESTAMP) &&
			   (u.type == REC_DATE || u.type == REC_TIMESTAMP)) {
			t = mktype(t.type == u.type ? t.type : REC_TIMESTAMP, 0, 0);
		} else if (t.type != u.type) {
			(void)col;
			return ecomp_fail(c, ns[i]->column, "%s types %s and %s cannot be matched",
					  what, expr_type_name(t.type),
					  expr_type_name(u.type));
		}
	}
	if (t.type == T_UNKNOWN) {
		/* Only literals: 'a' and NULL are text. */
		t = mktype(REC_TEXT, 0, 0);
		for (i = 0; i < n; i++)
			if (ns[i]->lit_text) {
				ns[i]->lit_text = false;
				break;
			}
	}
	for (i = 0; i < n; i++)
		if (coerce(c, &ns[i], t) < 0)
			return -1;
	*out = t;
	return 0;
}

static int need_bool(struct ecomp *c, struct enode **np, const char *what)
{
	struct enode *n = *np;

	if (n->ty.type == REC_BOOL && !n->lit_text)
		return 0;
	if (n->kind == N_CONST && is_untyped(n))
		return coerce(c, np, mktype(REC_BOOL, 0, 0));
	return ecomp_fail(c, n->column, "argument of %s must be type bool, not type %s",
			  what, expr_type_name(n->ty.type));
}

static const char *op_name(int op, char *buf)
{
	switch (op) {
	case TK_LE: return "<=";
	case TK_GE: return ">=";
	case TK_NE: return "<>";
	case TK_CONCAT: return "||";
	default:
		buf[0] = (char)op;
		buf[1] = '\0';
		return buf;
	}
}

static int op_error(struct ecomp *c, struct enode *n)
{
	char buf[2];

	return ecomp_fail(c, n->column, "operator %s cannot take %s and %s",
			  op_name(n->op, buf), expr_type_name(n->args[0]->ty.type),
			  expr_type_name(n->args[1]->ty.type));
}

/* Give untyped operands of a binary node the other side's type. */
static int settle_pair(struct ecomp *c, struct enode *n)
{
	struct enode *a = n->args[0], *b = n->args[1];

	if (is_untyped(a) && is_untyped(b)) {
		if (a->lit_text || b->lit_text)
			return unify(c, n->args, 2, "operator", &a->ty);
		return op_error(c, n);
	}
	if (is_untyped(a) && a->kind == N_CONST)
		return coerce(c, &n->args[0], b->ty);
	if (is_untyped(b) && b->kind == N_CONST)
		return coerce(c, &n->args[1], a->ty);
	return 0;
}

static int check_arith(struct ecomp *c, struct enode *n)
{
	struct expr_type a, b, t;

	if (settle_pair(c, n) < 0)
		return -1;
	a = n->args[0]->ty;
	b = n->args[1]->ty;
	if (a.type == REC_DATE && b.type == REC_INT && (n->op == '+' || n->op == '-')) {
		n->ty = a;
		return 0;
	}
	if (a.type == REC_INT && b.type == REC_DATE && n->op == '+') {
		struct enode *x = n->args[0];

		n->args[0] = n->args[1];
		n->args[1] = x;
		n->ty = b;
		return 0;
	}
	if (a.type == REC_DATE && b.type == REC_DATE && n->op == '-') {
		n->ty = mktype(REC_INT, 0, 0);
		return 0;
	}
	if (!is_num(a.type) || !is_num(b.type))
		return op_error(c, n);
	t = num_common(a, b);
	if (t.type == REC_FLOAT && n->op == '%')
		return op_error(c, n);
	if (t.type == REC_DECIMAL) {
		/* Operands keep their scales: the instruction aligns them. */
		struct expr_type da = node_dec(n->args[0]), db = node_dec(n->args[1]);

		if (a.type == REC_INT && coerce(c, &n->args[0], da) < 0)
			return -1;
		if (b.type == REC_INT && coerce(c, &n->args[1], db) < 0)
			return -1;
		switch (n->op) {
		case '+':
		case '-':
			t = mktype(REC_DECIMAL,
				   min_i(max_i(int_digits(da), int_digits(db)) + 1 +
					 max_i(da.scale, db.scale), DEC_MAX_PRECISION),
				   max_i(da.scale, db.scale));
			break;
		case '*': {
			int s = min_i(da.scale + db.scale, DEC_MAX_PRECISION);

			t = mktype(REC_DECIMAL, min_i(da.prec + db.prec, DEC_MAX_PRECISION), s);
			break;
		}
		case '/': {
			/*
			 * PostgreSQL rounds a quotient to 16 significant digits
			 * (at least either operand's scale), a scale that depends
			 * on the values: up to 20 for a quotient below 1.  The
			 * result's one scale holds 20 digits after the point, or
			 * fewer when the quotient's integer digits need the room
			 * (never fewer than either operand's scale); each value
			 * is PostgreSQL's, padded, or rounded again to this scale.
			 */
			int intd = int_digits(da) + db.scale;
			int s = min_i(20, DEC_MAX_PRECISION - intd);

			s = max_i(s, max_i(da.scale, db.scale));
			t = mktype(REC_DECIMAL, DEC_MAX_PRECISION, s);
			break;
		}
		case '%':
			t = mktype(REC_DECIMAL, max_i(da.prec, db.prec),
				   max_i(da.scale, db.scale));
			break;
		}
		if (t.prec < t.scale)
			t.prec = t.scale;
		if (t.prec == 0)
			t.prec = 1;
	} else {
		if (coerce(c, &n->args[0], t) < 0 || coerce(c, &n->args[1], t) < 0)
			return -1;
	}
	n->ty = t;
	return 0;
}

/* Comparison operands: numbers meet (int and decimal stay exact), else equal types. */
static int check_cmp_operands(struct ecomp *c, struct enode *n, struct enode **a,
			      struct enode **b)
{
	struct expr_type ta, tb;

	if (is_untyped(*a) && (*a)->kind == N_CONST && !is_untyped(*b)) {
		if (coerce(c, a, (*b)->ty) < 0)
			return -1;
	} else if (is_untyped(*b) && (*b)->kind == N_CONST && !is_untyped(*a)) {
		if (coerce(c, b, (*a)->ty) < 0)
			return -1;
	} else if (is_untyped(*a) && is_untyped(*b)) {
		struct enode *two[2] = { *a, *b };
		struct expr_type t;

		if (unify(c, two, 2, "operator", &t) < 0)
			return -1;
		*a = two[0];
		*b = two[1];
	}
	ta = (*a)->ty;
	tb = (*b)->ty;
	if (is_num(ta.type) && is_num(tb.type)) {
		struct expr_type t = num_common(ta, tb);

		if (t.type == REC_DECIMAL) {
			/* Compared at their own scales, exactly. */
			if (ta.type == REC_INT && coerce(c, a, as_dec(ta)) < 0)
				return -1;
			if (tb.type == REC_INT && coerce(c, b, as_dec(tb)) < 0)
				return -1;
			return 0;
		}
		return coerce(c, a, t) < 0 || coerce(c, b, t) < 0 ? -1 : 0;
	}
	if ((ta.type == REC_DATE && tb.type == REC_TIMESTAMP) ||
	    (ta.type == REC_TIMESTAMP && tb.type == REC_DATE)) {
		struct expr_type t = mktype(REC_TIMESTAMP, 0, 0);

		return coerce(c, a, t) < 0 || coerce(c, b, t) < 0 ? -1 : 0;
	}
	if (ta.type != tb.type) {
		char buf[2];

		return ecomp_fail(c, n->column, "operator %s cannot take %s and %s",
				  n->kind == N_CMP ? op_name(n->op, buf) : "=",
				  expr_type_name(ta.type), expr_type_name(tb.type));
	}
	return 0;
}

/* A text operand: text itself, or anything for ||, written out. */
static int need_text(struct ecomp *c, struct enode **np, const char *what)
{
	struct enode *n = *np;

	if (n->ty.type == REC_TEXT || is_untyped(n))
		return coerce(c, np, mktype(REC_TEXT, 0, 0));
	return ecomp_fail(c, n->column, "argument of %s must be type text, not type %s",
			  what, expr_type_name(n->ty.type));
}

static int need_int(struct ecomp *c, struct enode **np, const char *what)
{
	struct enode *n = *np;

	if (n->ty.type == REC_INT && !n->lit_text)
		return 0;
	if (n->kind == N_CONST && is_untyped(n))
		return coerce(c, np, mktype(REC_INT, 0, 0));
	return ecomp_fail(c, n->column, "argument of %s must be type int, not type %s",
			  what, expr_type_name(n->ty.type));
}

/* A timestamp or date operand; a literal reads as a timestamp. */
static int need_time(struct ecomp *c, struct enode **np, const char *what)
{
	struct enode *n = *np;

	if ((n->ty.type == REC_TIMESTAMP || n->ty.type == REC_DATE) && !n->lit_text)
		return 0;
	if (n->kind == N_CONST && is_untyped(n))
		return coerce(c, np, mktype(REC_TIMESTAMP, 0, 0));
	return ecomp_fail(c, n->column, "argument of %s must be a timestamp or a date, not type %s",
			  what, expr_type_name(n->ty.type));
}

/* A constant text argument (a unit, a width): its bytes, or NULL. */
static const struct rec_value *const_text(struct ecomp *c, struct enode **np,
					  const char *what)
{
	if (need_text(c, np, what) < 0)
		return NULL;
	if ((*np)->kind != N_CONST || (*np)->val.null) {
		ecomp_fail(c, (*np)->column, "the first argument of %s must be a constant text", what);
		return NULL;
	}
	return &(*np)->val;
}

static const char *const func_names[] = {
	"coalesce", "nullif", "greatest", "least", "abs", "round", "floor",
	"ceil", "ceiling", "lower", "upper", "trim", "btrim", "ltrim", "rtrim",
	"substr", "substring", "length", "char_length", "replace", "split_part",
	"date_trunc", "time_bucket", "extract", "strftime", "cast", NULL,
};

static int nargs_error(struct ecomp *c, struct enode *n, int lo, int hi)
{
	if (lo == hi)
		return ecomp_fail(c, n->column, "function %s takes %d argument%s, not %d",
				  n->name, lo, lo == 1 ? "" : "s", n->nargs);
	return ecomp_fail(c, n->column, "function %s takes %d to %d arguments, not %d",
			  n->name, lo, hi, n->nargs);
}

static int check_func(struct ecomp *c, struct enode *n)
{
	const char *f = n->name;
	int na = n->nargs;
	struct enode **a = n->args;

#define NARGS(lo, hi) do { if (na < (lo) || na > (hi)) return nargs_error(c, n, lo, hi); } while (0)
	if (!strcmp(f, "coalesce") || !strcmp(f, "greatest") || !strcmp(f, "least")) {
		NARGS(1, 1000);
		n->op = f[0];
		return unify(c, a, na, f[0] == 'c' ? "COALESCE" : f[0] == 'g' ? "GREATEST" : "LEAST",
			     &n->ty);
	}
	if (!strcmp(f, "nullif")) {
		NARGS(2, 2);
		n->op = 'n';
		if (unify(c, a, 2, "NULLIF", &n->ty) < 0)
			return -1;
		return check_cmp_operands(c, n, &a[0], &a[1]);
	}
	if (!strcmp(f, "abs")) {
		NARGS(1, 1);
		if (!is_num(a[0]->ty.type) || a[0]->lit_text)
			return ecomp_fail(c, n->column, "function abs(%s) does not exist",
					  expr_type_name(a[0]->ty.type));
		n->ty = a[0]->ty;
		return 0;
	}
	if (!strcmp(f, "round") || !strcmp(f, "floor") || !strcmp(f, "ceil") ||
	    !strcmp(f, "ceiling")) {
		NARGS(1, f[0] == 'r' ? 2 : 1);
		if (!is_num(a[0]->ty.type) || a[0]->lit_text)
			return ecomp_fail(c, n->column, "function %s(%s) does not exist",
					  f, expr_type_name(a[0]->ty.type));
		if (na == 2) {
			int64_t digits;
			struct expr_type t = as_dec(a[0]->ty);

			if (a[0]->ty.type == REC_FLOAT)
				return ecomp_fail(c, n->column, "function round(float, int) does not exist; cast the first argument to numeric");
			if (need_int(c, &a[1], "round") < 0)
				return -1;
			if (a[1]->kind != N_CONST || a[1]->val.null)
				return ecomp_fail(c, a[1]->column, "the digits of round must be a constant");
			if (coerce(c, &a[0], t) < 0)
				return -1;
			digits = a[1]->val.u.i;
			if (digits > DEC_MAX_PRECISION || digits < -DEC_MAX_PRECISION)
				return ecomp_fail(c, a[1]->column, "round to %lld digits is out of range",
						  (long long)digits);
			n->ty = mktype(REC_DECIMAL,
				       min_i(int_digits(t) + 1 + (digits > 0 ? (int)digits : 0),
					     DEC_MAX_PRECISION),
				       digits > 0 ? (int)digits : 0);
			if (n->ty.prec < n->ty.scale)
				n->ty.prec = n->ty.scale;
			return 0;
		}
		if (a[0]->ty.type == REC_INT &&
		    coerce(c, &a[0], mktype(REC_FLOAT, 0, 0)) < 0)
			return -1;
		n->ty = a[0]->ty;
		if (n->ty.type == REC_DECIMAL)
			n->ty = mktype(REC_DECIMAL, max_i(min_i(int_digits(n->ty) + 1,
								 DEC_MAX_PRECISION), 1), 0);
		return 0;
	}
	if (!strcmp(f, "lower") || !strcmp(f, "upper") || !strcmp(f, "length") ||
	    !strcmp(f, "char_length")) {
		NARGS(1, 1);
		if (need_text(c, &a[0], f) < 0)
			return -1;
		n->ty = mktype(f[0] == 'l' && f[1] == 'e' ? REC_INT
			       : f[0] == 'c' ? REC_INT : REC_TEXT, 0, 0);
		return 0;
	}
	if (!strcmp(f, "trim") || !strcmp(f, "btrim") || !strcmp(f, "ltrim") ||
	    !strcmp(f, "rtrim")) {
		NARGS(1, 2);
		for (int i = 0; i < na; i++)
			if (need_text(c, &a[i], f) < 0)
				return -1;
		n->ty = mktype(REC_TEXT, 0, 0);
		return 0;
	}
	if (!strcmp(f, "substr") || !strcmp(f, "substring")) {
		NARGS(2, 3);
		if (need_text(c, &a[0], f) < 0 || need_int(c, &a[1], f) < 0 ||
		    (na == 3 && need_int(c, &a[2], f) < 0))
			return -1;
		n->ty = mktype(REC_TEXT, 0, 0);
		return 0;
	}
	if (!strcmp(f, "replace")) {
		NARGS(3, 3);
		for (int i = 0; i < 3; i++)
			if (need_text(c, &a[i], f) < 0)
				return -1;
		n->ty = mktype(REC_TEXT, 0, 0);
		return 0;
	}
	if (!strcmp(f, "split_part")) {
		NARGS(3, 3);
		if (need_text(c, &a[0], f) < 0 || need_text(c, &a[1], f) < 0 ||
		    need_int(c, &a[2], f) < 0)
			return -1;
		n->ty = mktype(REC_TEXT, 0, 0);
		return 0;
	}
	if (!strcmp(f, "date_trunc")) {
		const struct rec_value *u;
		char unit[16];
		int k;

		NARGS(2, 2);
		if ((u = const_text(c, &a[0], f)) == NULL || need_time(c, &a[1], f) < 0)
			return -1;
		snprintf(unit, sizeof unit, "%.*s", (int)(u->u.s.len < 15 ? u->u.s.len : 15),
			 u->u.s.p);
		for (char *p = unit; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		k = expr_unit(unit);
		if (k < 0 || k == U_DOW || k == U_DOY || k == U_EPOCH || k == U_ISOYEAR) {
			static const char *const units[] = { "microseconds", "second", "minute",
				"hour", "day", "week", "month", "quarter", "year" };
			const char *near = cfg_nearest(unit, units, 9);

			if (near)
				return ecomp_fail(c, a[0]->column, "unit \"%s\" not recognized at column %d; did you mean \"%s\"?",
						  unit, a[0]->column, near);
			return ecomp_fail(c, a[0]->column, "unit \"%s\" not recognized", unit);
		}
		n->op = k;
		n->ty = mktype(REC_TIMESTAMP, 0, 0);
		return 0;
	}
	if (!strcmp(f, "time_bucket")) {
		const struct rec_value *w;
		int64_t us, months;

		NARGS(2, 2);
		if ((w = const_text(c, &a[0], f)) == NULL || need_time(c, &a[1], f) < 0)
			return -1;
		if (expr_bucket_parse(w->u.s.p, w->u.s.len, &us, &months) < 0)
			return ecomp_fail(c, a[0]->column, "invalid bucket width \"%.*s\" (e.g. '15m', '1 hour', '1 day', '1 month')",
					  (int)w->u.s.len, w->u.s.p);
		n->ty = mktype(a[1]->ty.type == REC_DATE && months == 0 && us % 86400000000LL
			       ? REC_TIMESTAMP : a[1]->ty.type, 0, 0);
		return 0;
	}
	if (!strcmp(f, "strftime")) {
		NARGS(2, 2);
		if ((a[0]->ty.type == REC_TIMESTAMP || a[0]->ty.type == REC_DATE) &&
		    !a[0]->lit_text) {
			struct enode *x = a[0]; /* DuckDB's order: strftime(ts, fmt) */

			a[0] = a[1];
			a[1] = x;
		}
		if (need_text(c, &a[0], f) < 0 || need_time(c, &a[1], f) < 0)
			return -1;
		n->ty = mktype(REC_TEXT, 0, 0);
		return 0;
	}
	{
		const char *near = cfg_nearest(f, func_names,
					       sizeof func_names / sizeof func_names[0] - 1);

		if (near)
			return ecomp_fail(c, n->column, "unknown function \"%s\" at column %d; did you mean \"%s\"?",
					  f, n->column, near);
		return ecomp_fail(c, n->column, "unknown function \"%s\"", f);
	}
#undef NARGS
}

/* Whether a cast from a to b exists (PostgreSQL's, for these types). */
static bool castable(int a, int b)
{
	if (a == b || a == REC_TEXT || b == REC_TEXT || a == T_UNKNOWN)
		return true;
	if (is_num(a) && is_num(b))
		return true;
	if ((a == REC_INT && b == REC_BOOL) || (a == REC_BOOL && b == REC_INT))
		return true;
	if ((a == REC_DATE && b == REC_TIMESTAMP) || (a == REC_TIMESTAMP && b == REC_DATE))
		return true;
	return false;
}

static int check_cast(struct ecomp *c, struct enode *n)
{
	struct enode *a = n->args[0];
	struct expr_type to = n->to;

	if (to.type == REC_DECIMAL && !n->to_has_scale) {
		/* numeric without (p,s): the operand's own scale. */
		if (a->ty.type == REC_DECIMAL && !a->lit_text)
			to = a->ty;
		else if (a->ty.type == REC_INT && !a->lit_text)
			to = mktype(REC_DECIMAL, 19, 0);
		else if (a->lit_text && lit_dec_type(a->val.u.s.p, a->val.u.s.len, &to) == 0)
			to.prec = DEC_MAX_PRECISION;
		else if (a->ty.type == T_UNKNOWN)
			to = mktype(REC_DECIMAL, DEC_MAX_PRECISION, 0);
		else
			return ecomp_fail(c, n->column, "a cast of %s to numeric needs a scale: numeric(p,s)",
					  expr_type_name(a->ty.type));
	}
	if (to.type == REC_DECIMAL && to.prec == 0)
		to.prec = DEC_MAX_PRECISION;
	if (!castable(a->lit_text ? REC_TEXT : a->ty.type, to.type))
		return ecomp_fail(c, n->column, "cannot cast type %s to %s",
				  expr_type_name(a->ty.type), expr_type_name(to.type));
	if (a->kind == N_CONST && is_untyped(a)) {
		if (a->lit_text)
			a->lit_text = false;
		else
			a->ty = to;
	}
	n->to = to;
	n->ty = to;
	return 0;
}

static int check_extract(struct ecomp *c, struct enode *n)
{
	int k = expr_unit(n->name);

	if (need_time(c, &n->args[0], "extract") < 0)
		return -1;
	if (k < 0 || k == U_MICRO) {
		static const char *const fields[] = { "year", "quarter", "month", "week",
			"day", "hour", "minute", "second", "dow", "doy", "epoch", "isoyear" };
		const char *near = cfg_nearest(n->name, fields, 12);

		if (near)
			return ecomp_fail(c, n->op, "unit \"%s\" not recognized at column %d; did you mean \"%s\"?",
					  n->name, n->op, near);
		return ecomp_fail(c, n->op, "unit \"%s\" not recognized", n->name);
	}
	if (n->args[0]->ty.type == REC_DATE &&
	    (k == U_HOUR || k == U_MINUTE || k == U_SECOND))
		return ecomp_fail(c, n->op, "unit \"%s\" not supported for type date", n->name);
	n->op = k;
	if (k == U_SECOND)
		n->ty = mktype(REC_DECIMAL, 8, 6);
	else if (k == U_EPOCH)
		n->ty = n->args[0]->ty.type == REC_DATE ? mktype(REC_DECIMAL, 18, 0)
							 : mktype(REC_DECIMAL, 18, 6);
	else
		n->ty = mktype(REC_DECIMAL, 6, 0);
	return 0;
}

static int check_case(struct ecomp *c, struct enode *n)
{
	int i = 0, nwhen, nres = 0;
	struct enode **res;
	int rc;

	if (n->has_operand)
		i = 1;
	nwhen = (n->nargs - i - n->has_else) / 2;
	if (n->has_operand) {
		/* operand = each WHEN value: they meet in one type. */
		struct enode **vals = malloc(sizeof *vals * (size_t)(nwhen + 1));
		struct expr_type t;

		if (vals == NULL)
			return ecomp_fail(c, 0, "out of memory");
		vals[0] = n->args[0];
		for (int w = 0; w < nwhen; w++)
			vals[w + 1] = n->args[1 + 2 * w];
		rc = unify(c, vals, nwhen + 1, "CASE/WHEN", &t);
		n->args[0] = vals[0];
		for (int w = 0; w < nwhen; w++)
			n->args[1 + 2 * w] = vals[w + 1];
		free(vals);
		if (rc < 0)
			return -1;
	} else {
		for (int w = 0; w < nwhen; w++)
			if (need_bool(c, &n->args[2 * w], "CASE/WHEN") < 0)
				return -1;
	}
	res = malloc(sizeof *res * (size_t)(nwhen + 1));
	if (res == NULL)
		return ecomp_fail(c, 0, "out of memory");
	for (int w = 0; w < nwhen; w++)
		res[nres++] = n->args[i + 2 * w + 1];
	if (n->has_else)
		res[nres++] = n->args[n->nargs - 1];
	rc = unify(c, res, nres, "CASE", &n->ty);
	nres = 0;
	for (int w = 0; w < nwhen; w++)
		n->args[i + 2 * w + 1] = res[nres++];
	if (n->has_else)
		n->args[n->nargs - 1] = res[nres++];
	free(res);
	return rc;
}

static int check_field(struct ecomp *c, struct enode *n)
{
	const struct rec_schema *s = c->schema;
	const char **names;
	const char *near;

	for (int i = 0; i < s->nfields; i++)
		if (strcmp(s->fields[i].name, n->name) == 0) {
			n->field = i;
			n->ty = mktype(s->fields[i].type, s->fields[i].prec,
				       s->fields[i].scale);
			return 0;
		}
	names = malloc(sizeof *names * (size_t)(s->nfields + 1));
	if (names == NULL)
		return ecomp_fail(c, 0, "out of memory");
	for (int i = 0; i < s->nfields; i++)
		names[i] = s->fields[i].name;
	near = cfg_nearest(n->name, names, (size_t)s->nfields);
	if (near)
		ecomp_fail(c, n->column, "unknown field \"%s\" at column %d; did you mean \"%s\"?",
			   n->name, n->column, near);
	else
		ecomp_fail(c, n->column, "unknown field \"%s\"", n->name);
	free(names);
	return -1;
}

int expr_check_tree(struct ecomp *c, struct enode *n)
{
	int rc = 0;

	for (int i = 0; i < n->nargs; i++)
		if (expr_check_tree(c, n->args[i]) < 0)
			return -1;
	switch (n->kind) {
	case N_CONST:
		return 0;
	case N_FIELD:
		return check_field(c, n);
	case N_NEG:
		if (n->args[0]->kind == N_CONST && is_untyped(n->args[0]) &&
		    coerce(c, &n->args[0], mktype(REC_INT, 0, 0)) < 0)
			return -1;
		if (!is_num(n->args[0]->ty.type))
			return ecomp_fail(c, n->column, "operator - cannot take %s",
					  expr_type_name(n->args[0]->ty.type));
		n->ty = n->args[0]->ty;
		break;
	case N_ARITH:
		rc = check_arith(c, n);
		break;
	case N_CONCAT:
		if (n->args[0]->ty.type != REC_TEXT && n->args[1]->ty.type != REC_TEXT)
			return op_error(c, n);
		for (int i = 0; i < 2; i++)
			if (n->args[i]->ty.type != REC_TEXT || n->args[i]->lit_text) {
				if (n->args[i]->kind == N_CONST && is_untyped(n->args[i]))
					rc = coerce(c, &n->args[i], mktype(REC_TEXT, 0, 0));
				else
					rc = wrap_cast(c, &n->args[i], mktype(REC_TEXT, 0, 0));
				if (rc < 0)
					return -1;
			}
		n->ty = mktype(REC_TEXT, 0, 0);
		break;
	case N_CMP:
		rc = check_cmp_operands(c, n, &n->args[0], &n->args[1]);
		n->ty = mktype(REC_BOOL, 0, 0);
		break;
	case N_AND:
	case N_OR:
		if (need_bool(c, &n->args[0], n->kind == N_AND ? "AND" : "OR") < 0 ||
		    need_bool(c, &n->args[1], n->kind == N_AND ? "AND" : "OR") < 0)
			return -1;
		n->ty = mktype(REC_BOOL, 0, 0);
		break;
	case N_NOT:
		if (need_bool(c, &n->args[0], "NOT") < 0)
			return -1;
		n->ty = mktype(REC_BOOL, 0, 0);
		break;
	case N_IS:
		if (n->op != IS_NULL && need_bool(c, &n->args[0], "IS TRUE") < 0)
			return -1;
		if (n->op == IS_NULL && is_untyped(n->args[0]) &&
		    coerce(c, &n->args[0], mktype(REC_TEXT, 0, 0)) < 0)
			return -1;
		n->ty = mktype(REC_BOOL, 0, 0);
		break;
	case N_IN:
	case N_BETWEEN: {
		struct expr_type t;

		if (unify(c, n->args, n->nargs, n->kind == N_IN ? "IN" : "BETWEEN", &t) < 0)
			return -1;
		n->ty = mktype(REC_BOOL, 0, 0);
		break;
	}
	case N_LIKE:
		if (need_text(c, &n->args[0], "LIKE") < 0 ||
		    need_text(c, &n->args[1], "LIKE") < 0)
			return -1;
		n->ty = mktype(REC_BOOL, 0, 0);
		break;
	case N_CASE:
		rc = check_case(c, n);
		break;
	case N_CAST:
		rc = check_cast(c, n);
		break;
	case N_FUNC:
		rc = check_func(c, n);
		break;
	case N_EXTRACT:
		rc = check_extract(c, n);
		break;
	}
	if (rc < 0)
		return -1;
	return expr_fold(c, n);
}
