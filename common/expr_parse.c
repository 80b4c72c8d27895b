/*
 * expr_parse.c - the expression's text into a tree (expr_int.h).
 *
 * A hand-written lexer and a precedence-climbing parser with the levels of
 * PostgreSQL's grammar, loosest first: OR, AND, NOT, IS, comparisons
 * (non-associative), BETWEEN/IN/LIKE, other operators (||), + -, * / %,
 * unary minus, ::.  Identifiers fold to lower case unless "quoted";
 * keywords are recognised only unquoted.  Every node keeps the column it
 * starts at, for the checker's messages.
 */
#include "expr_int.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_value.h"
#include "convert.h"
#include "decimal.h"

enum { P_OR = 1, P_AND, P_NOT, P_IS, P_CMP, P_LIKE, P_OP, P_ADD, P_MUL,
       P_UNARY, P_CAST };

int ecomp_fail(struct ecomp *c, int column, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (c->err->msg[0])
		return -1; /* the first error stands */
	va_start(ap, fmt);
	vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
	va_end(ap);
	c->err->column = column;
	n = strlen(c->err->msg);
	if (column > 0 && !strstr(c->err->msg, " at column "))
		snprintf(c->err->msg + n, sizeof c->err->msg - n, " at column %d",
			 column);
	return -1;
}

struct enode *enode_new(struct ecomp *c, enum enode_kind kind, int column)
{
	struct enode *n;

	if (++c->nnodes > EXPR_MAX_NODES) {
		ecomp_fail(c, column, "expression too long (more than %d terms)",
			   EXPR_MAX_NODES);
		return NULL;
	}
	n = calloc(1, sizeof *n);
	if (n == NULL) {
		ecomp_fail(c, 0, "out of memory");
		return NULL;
	}
	n->kind = kind;
	n->column = column;
	n->escape = -1;
	n->val.null = true;
	n->next_alloc = c->nodes;
	c->nodes = n;
	return n;
}

int enode_add_arg(struct ecomp *c, struct enode *n, struct enode *arg)
{
	struct enode **a;

	if (arg == NULL)
		return -1;
	a = realloc(n->args, (size_t)(n->nargs + 1) * sizeof *a);
	if (a == NULL)
		return ecomp_fail(c, 0, "out of memory");
	n->args = a;
	n->args[n->nargs++] = arg;
	return 0;
}

/* --- the lexer ------------------------------------------------------- */

static int col_of(struct ecomp *c, const char *at)
{
	return (int)(at - c->text) + 1;
}

static int tok_putc(struct ecomp *c, char ch)
{
	if (c->toklen + 2 > c->tokcap) {
		size_t cap = c->tokcap ? 2 * c->tokcap : 64;
		char *s = realloc(c->tokstr, cap);

		if (s == NULL)
			return ecomp_fail(c, 0, "out of memory");
		c->tokstr = s;
		c->tokcap = cap;
	}
	c->tokstr[c->toklen++] = ch;
	c->tokstr[c->toklen] = '\0';
	return 0;
}

static int lex(struct ecomp *c)
{
	const char *p = c->p;

	c->toklen = 0;
	if (tok_putc(c, 0) < 0)
		return c->tok = TK_BAD;
	c->toklen = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (p[0] == '-' && p[1] == '-') { /* a comment to the end of line */
			while (*p && *p != '\n')
				p++;
			continue;
		}
		break;
	}
	c->tokcol = col_of(c, p);
	if (*p == '\0') {
		c->p = p;
		return c->tok = TK_EOF;
	}
	if (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))) {
		while (isdigit((unsigned char)*p))
			tok_putc(c, *p++);
		if (*p == '.') {
			tok_putc(c, *p++);
			while (isdigit((unsigned char)*p))
				tok_putc(c, *p++);
		}
		if ((*p == 'e' || *p == 'E') &&
		    (isdigit((unsigned char)p[1]) ||
		     ((p[1] == '+' || p[1] == '-') && isdigit((unsigned char)p[2])))) {
			tok_putc(c, *p++);
			if (*p == '+' || *p == '-')
				tok_putc(c, *p++);
			while (isdigit((unsigned char)*p))
				tok_putc(c, *p++);
		}
		if (isalpha((unsigned char)*p) || *p == '_') {
			c->p = p;
			ecomp_fail(c, col_of(c, p), "trailing junk after numeric literal");
			return c->tok = TK_BAD;
		}
		c->p = p;
		return c->tok = TK_NUM;
	}
	if (isalpha((unsigned char)*p) || *p == '_' || (unsigned char)*p >= 0x80) {
		while (isalnum((unsigned char)*p) || *p == '_' || *p == '$' ||
		       (unsigned char)*p >= 0x80) {
			tok_putc(c, (char)tolower((unsigned char)*p));
			p++;
		}
		c->p = p;
		return c->tok = TK_IDENT;
	}
	if (*p == '\'' || *p == '"') {
		char q = *p++;

		for (;;) {
			if (*p == '\0') {
				ecomp_fail(c, c->tokcol, q == '\''
					   ? "unterminated quoted string"
					   : "unterminated quoted identifier");
				c->p = p;
				return c->tok = TK_BAD;
			}
			if (*p == q) {
				if (p[1] != q)
					break;
				p++;
			}
			tok_putc(c, *p++);
		}
		p++;
		c->p = p;
		if (q == '"' && c->toklen == 0) {
			ecomp_fail(c, c->tokcol, "zero-length delimited identifier");
			return c->tok = TK_BAD;
		}
		return c->tok = q == '\'' ? TK_STR : TK_QIDENT;
	}
	c->p = p + 1;
	switch (*p) {
	case '<':
		if (p[1] == '=') { c->p = p + 2; return c->tok = TK_LE; }
		if (p[1] == '>') { c->p = p + 2; return c->tok = TK_NE; }
		return c->tok = '<';
	case '>':
		if (p[1] == '=') { c->p = p + 2; return c->tok = TK_GE; }
		return c->tok = '>';
	case '!':
		if (p[1] == '=') { c->p = p + 2; return c->tok = TK_NE; }
		break;
	case '|':
		if (p[1] == '|') { c->p = p + 2; return c->tok = TK_CONCAT; }
		break;
	case ':':
		if (p[1] == ':') { c->p = p + 2; return c->tok = TK_CAST; }
		break;
	case '+': case '-': case '*': case '/': case '%': case '(': case ')':
	case ',': case '=':
		return c->tok = *p;
	default:
		break;
	}
	ecomp_fail(c, c->tokcol, "syntax error at or near \"%.*s\"",
		   (*p & 0x80) ? 1 : 1, p);
	return c->tok = TK_BAD;
}

/* Whether the token is the unquoted keyword kw. */
static bool is_kw(const struct ecomp *c, const char *kw)
{
	return c->tok == TK_IDENT && strcmp(c->tokstr, kw) == 0;
}

static const char *const reserved[] = {
	"and", "or", "not", "is", "null", "true", "false", "in", "between",
	"like", "case", "when", "then", "else", "end", "as", "from",
	"escape", "distinct", "ilike", NULL,
};

static bool is_reserved(const char *s)
{
	for (int i = 0; reserved[i]; i++)
		if (strcmp(s, reserved[i]) == 0)
			return true;
	return false;
}

static int syntax_error(struct ecomp *c)
{
	if (c->tok == TK_BAD)
		return -1;
	if (c->tok == TK_EOF)
		return ecomp_fail(c, c->tokcol, "syntax error at end of expression");
	return ecomp_fail(c, c->tokcol, "syntax error at or near \"%.*s\"",
			  (int)(c->p - (c->text + c->tokcol - 1)),
			  c->text + c->tokcol - 1);
}

static int expect(struct ecomp *c, int tok)
{
	if (c->tok != tok)
		return syntax_error(c);
	lex(c);
	return 0;
}

static int expect_kw(struct ecomp *c, const char *kw)
{
	if (!is_kw(c, kw))
		return syntax_error(c);
	lex(c);
	return 0;
}

/* --- the parser ------------------------------------------------------ */

static struct enode *parse_expr(struct ecomp *c, int minprec);

static char *dup_tok(struct ecomp *c)
{
	char *s = strdup(c->tokstr);

	if (s == NULL)
		ecomp_fail(c, 0, "out of memory");
	return s;
}

/* A number literal: int, else numeric, else float (as PostgreSQL types it). */
static struct enode *number(struct ecomp *c)
{
	struct enode *n = enode_new(c, N_CONST, c->tokcol);
	const char *s = c->tokstr;
	int digits = 0, frac = 0, exp10 = 0;
	bool point = false, seen = false;
	const char *e;

	if (n == NULL)
		return NULL;
	n->val.null = false;
	if (!strpbrk(s, ".eE") && conv_parse_int(s, strlen(s), &n->val.u.i) == 0) {
		n->ty.type = REC_INT;
		lex(c);
		return n;
	}
	for (e = s; *e && *e != 'e' && *e != 'E'; e++) {
		if (*e == '.') {
			point = true;
		} else {
			if (*e != '0' || seen) {
				seen = true;
				digits++;
			}
			if (point)
				frac++;
		}
	}
	if (*e)
		exp10 = atoi(e + 1) > 1000 ? 1000 : atoi(e + 1) < -1000 ? -1000
								   : atoi(e + 1);
	{
		int scale = frac - exp10 < 0 ? 0 : frac - exp10;
		int intd = digits - frac + exp10 > 0 ? digits - frac + exp10 : 0;
		__int128 v;

		if (scale <= DEC_MAX_PRECISION && intd + scale <= DEC_MAX_PRECISION &&
		    dec_parse(s, strlen(s), DEC_MAX_PRECISION, scale, &v) == DEC_OK) {
			n->ty.type = REC_DECIMAL;
			n->ty.scale = (uint8_t)scale;
			n->ty.prec = (uint8_t)(intd + scale > 0 ? intd + scale : 1);
			if (n->ty.prec < n->ty.scale)
				n->ty.prec = n->ty.scale;
			rec_set_dec(&n->val, v);
		} else if (conv_parse_float(s, strlen(s), &n->val.u.f) == 0) {
			n->ty.type = REC_FLOAT;
		} else {
			ecomp_fail(c, c->tokcol, "number \"%s\" is out of range", s);
			return NULL;
		}
	}
	lex(c);
	return n;
}

static struct enode *string_const(struct ecomp *c)
{
	struct enode *n = enode_new(c, N_CONST, c->tokcol);

	if (n == NULL)
		return NULL;
	n->ty.type = REC_TEXT;
	n->lit_text = true;
	n->val.null = false;
	n->val.u.s.p = expr_prog_keep(c->prog, c->tokstr, c->toklen);
	n->val.u.s.len = (uint32_t)c->toklen;
	if (n->val.u.s.p == NULL) {
		ecomp_fail(c, 0, "out of memory");
		return NULL;
	}
	if (memchr(c->tokstr, 0, c->toklen) || !conv_utf8_valid(c->tokstr, c->toklen)) {
		ecomp_fail(c, c->tokcol, "invalid UTF-8 in string literal");
		return NULL;
	}
	lex(c);
	return n;
}

static const struct {
	const char *name;
	enum rec_type type;
} type_names[] = {
	{ "int", REC_INT }, { "integer", REC_INT }, { "bigint", REC_INT },
	{ "int8", REC_INT }, { "int4", REC_INT }, { "int2", REC_INT },
	{ "smallint", REC_INT }, { "float", REC_FLOAT }, { "float8", REC_FLOAT },
	{ "double", REC_FLOAT }, { "real", REC_FLOAT }, { "float4", REC_FLOAT },
	{ "numeric", REC_DECIMAL }, { "decimal", REC_DECIMAL },
	{ "text", REC_TEXT }, { "varchar", REC_TEXT }, { "bool", REC_BOOL },
	{ "boolean", REC_BOOL }, { "timestamp", REC_TIMESTAMP },
	{ "timestamptz", REC_TIMESTAMP }, { "date", REC_DATE },
};

/* A type name, with (p[,s]) for numeric; into n->to. */
static int type_name(struct ecomp *c, struct enode *n)
{
	size_t i, nt = sizeof type_names / sizeof type_names[0];
	int col = c->tokcol;

	if (c->tok != TK_IDENT && c->tok != TK_QIDENT)
		return syntax_error(c);
	for (i = 0; i < nt; i++)
		if (strcmp(c->tokstr, type_names[i].name) == 0)
			break;
	if (i == nt) {
		const char *names[sizeof type_names / sizeof type_names[0]];
		const char *near;

		for (i = 0; i < nt; i++)
			names[i] = type_names[i].name;
		near = cfg_nearest(c->tokstr, names, nt);
		if (near)
			return ecomp_fail(c, col, "unknown type \"%s\" at column %d; did you mean \"%s\"?",
					  c->tokstr, col, near);
		return ecomp_fail(c, col, "unknown type \"%s\"", c->tokstr);
	}
	n->to.type = type_names[i].type;
	if (strcmp(c->tokstr, "double") == 0) {
		lex(c);
		if (expect_kw(c, "precision") < 0)
			return -1;
	} else {
		lex(c);
	}
	if (n->to.type == REC_TIMESTAMP && is_kw(c, "with")) {
		lex(c);
		if (expect_kw(c, "time") < 0 || expect_kw(c, "zone") < 0)
			return -1;
	}
	if (c->tok == '(' && (n->to.type == REC_DECIMAL || n->to.type == REC_TEXT)) {
		int64_t p = 0, s = 0;

		lex(c);
		if (c->tok != TK_NUM || conv_parse_int(c->tokstr, c->toklen, &p) < 0)
			return syntax_error(c);
		lex(c);
		if (c->tok == ',') {
			lex(c);
			if (c->tok != TK_NUM || conv_parse_int(c->tokstr, c->toklen, &s) < 0)
				return syntax_error(c);
			lex(c);
		}
		if (expect(c, ')') < 0)
			return -1;
		if (n->to.type == REC_DECIMAL) {
			if (p < 1 || p > DEC_MAX_PRECISION)
				return ecomp_fail(c, col, "NUMERIC precision %lld must be between 1 and %d",
						  (long long)p, DEC_MAX_PRECISION);
			if (s < 0 || s > p)
				return ecomp_fail(c, col, "NUMERIC scale %lld must be between 0 and precision %lld",
						  (long long)s, (long long)p);
			n->to.prec = (uint8_t)p;
			n->to.scale = (uint8_t)s;
			n->to_has_scale = true;
		}
	}
	return 0;
}

static struct enode *case_expr(struct ecomp *c)
{
	struct enode *n = enode_new(c, N_CASE, c->tokcol);

	if (n == NULL)
		return NULL;
	lex(c);
	if (!is_kw(c, "when")) {
		n->has_operand = true;
		if (enode_add_arg(c, n, parse_expr(c, P_OR)) < 0)
			return NULL;
	}
	if (!is_kw(c, "when")) {
		syntax_error(c);
		return NULL;
	}
	while (is_kw(c, "when")) {
		lex(c);
		if (enode_add_arg(c, n, parse_expr(c, P_OR)) < 0 ||
		    expect_kw(c, "then") < 0 ||
		    enode_add_arg(c, n, parse_expr(c, P_OR)) < 0)
			return NULL;
	}
	if (is_kw(c, "else")) {
		lex(c);
		n->has_else = true;
		if (enode_add_arg(c, n, parse_expr(c, P_OR)) < 0)
			return NULL;
	}
	if (expect_kw(c, "end") < 0)
		return NULL;
	return n;
}

static struct enode *func_call(struct ecomp *c, char *name, int col)
{
	struct enode *n;

	if (strcmp(name, "cast") == 0) {
		free(name);
		if ((n = enode_new(c, N_CAST, col)) == NULL)
			return NULL;
		lex(c);
		if (enode_add_arg(c, n, parse_expr(c, P_OR)) < 0 ||
		    expect_kw(c, "as") < 0 || type_name(c, n) < 0 ||
		    expect(c, ')') < 0)
			return NULL;
		return n;
	}
	if (strcmp(name, "extract") == 0) {
		free(name);
		if ((n = enode_new(c, N_EXTRACT, col)) == NULL)
			return NULL;
		lex(c);
		if (c->tok != TK_IDENT && c->tok != TK_STR && c->tok != TK_QIDENT) {
			syntax_error(c);
			return NULL;
		}
		for (size_t i = 0; i < c->toklen; i++)
			c->tokstr[i] = (char)tolower((unsigned char)c->tokstr[i]);
		if ((n->name = dup_tok(c)) == NULL)
			return NULL;
		n->op = c->tokcol;
		lex(c);
		if (expect_kw(c, "from") < 0 ||
		    enode_add_arg(c, n, parse_expr(c, P_OR)) < 0 ||
		    expect(c, ')') < 0)
			return NULL;
		return n;
	}
	if ((n = enode_new(c, N_FUNC, col)) == NULL) {
		free(name);
		return NULL;
	}
	n->name = name;
	lex(c);
	if (c->tok == ')') {
		lex(c);
		return n;
	}
	for (;;) {
		if (enode_add_arg(c, n, parse_expr(c, P_OR)) < 0)
			return NULL;
		if (c->tok != ',')
			break;
		lex(c);
	}
	if (expect(c, ')') < 0)
		return NULL;
	return n;
}

static struct enode *primary(struct ecomp *c)
{
	struct enode *n;
	int col = c->tokcol;

	switch (c->tok) {
	case TK_NUM:
		return number(c);
	case TK_STR:
		return string_const(c);
	case '(':
		lex(c);
		n = parse_expr(c, P_OR);
		if (n == NULL || expect(c, ')') < 0)
			return NULL;
		return n;
	case TK_QIDENT:
	case TK_IDENT: {
		bool quoted = c->tok == TK_QIDENT;
		char *name;

		if (!quoted) {
			if (is_kw(c, "null") || is_kw(c, "true") || is_kw(c, "false")) {
				if ((n = enode_new(c, N_CONST, col)) == NULL)
					return NULL;
				if (c->tokstr[0] != 'n') {
					n->ty.type = REC_BOOL;
					n->val.null = false;
					n->val.u.b = c->tokstr[0] == 't';
				}
				lex(c);
				return n;
			}
			if (is_kw(c, "case"))
				return case_expr(c);
			if (is_kw(c, "date") || is_kw(c, "timestamp") ||
			    is_kw(c, "timestamptz") || is_kw(c, "interval")) {
				/* DATE '2024-01-01': a cast of the literal. */
				const char *save = c->p;
				int savecol = c->tokcol;
				char kw = c->tokstr[0] == 'd' ? 'd'
					  : c->tokstr[0] == 'i' ? 'i' : 't';

				lex(c);
				if (c->tok == TK_STR) {
					struct enode *lit = string_const(c);

					if (lit == NULL)
						return NULL;
					if (kw == 'i') {
						lit->interval = true; /* time_bucket's width */
						lit->column = col;
						return lit;
					}
					if ((n = enode_new(c, N_CAST, col)) == NULL ||
					    enode_add_arg(c, n, lit) < 0)
						return NULL;
					n->to.type = kw == 'd' ? REC_DATE : REC_TIMESTAMP;
					return n;
				}
				/* Not a literal: a field or function of that name. */
				c->p = c->text + savecol - 1;
				(void)save;
				lex(c);
			} else if (is_reserved(c->tokstr)) {
				syntax_error(c);
				return NULL;
			}
		}
		if ((name = dup_tok(c)) == NULL)
			return NULL;
		lex(c);
		if (c->tok == '(' && !quoted)
			return func_call(c, name, col);
		if ((n = enode_new(c, N_FIELD, col)) == NULL) {
			free(name);
			return NULL;
		}
		n->name = name;
		return n;
	}
	default:
		syntax_error(c);
		return NULL;
	}
}

static struct enode *unary(struct ecomp *c, enum enode_kind kind, int col,
			   struct enode *a)
{
	struct enode *n;

	if (a == NULL || (n = enode_new(c, kind, col)) == NULL ||
	    enode_add_arg(c, n, a) < 0)
		return NULL;
	return n;
}

static struct enode *binary(struct ecomp *c, enum enode_kind kind, int op,
			    int col, struct enode *a, struct enode *b)
{
	struct enode *n;

	if (a == NULL || b == NULL || (n = enode_new(c, kind, col)) == NULL ||
	    enode_add_arg(c, n, a) < 0 || enode_add_arg(c, n, b) < 0)
		return NULL;
	n->op = op;
	return n;
}

static int cmp_op(int tok)
{
	switch (tok) {
	case '=': case '<': case '>': case TK_LE: case TK_GE: case TK_NE:
		return tok;
	default:
		return 0;
	}
}

/* The level of the operator at the token, 0 for none. */
static int infix_prec(struct ecomp *c)
{
	switch (c->tok) {
	case TK_IDENT:
		if (is_kw(c, "or")) return P_OR;
		if (is_kw(c, "and")) return P_AND;
		if (is_kw(c, "is")) return P_IS;
		if (is_kw(c, "between") || is_kw(c, "in") || is_kw(c, "like") ||
		    is_kw(c, "ilike") || is_kw(c, "not"))
			return P_LIKE;
		return 0;
	case '=': case '<': case '>': case TK_LE: case TK_GE: case TK_NE:
		return P_CMP;
	case TK_CONCAT:
		return P_OP;
	case '+': case '-':
		return P_ADD;
	case '*': case '/': case '%':
		return P_MUL;
	case TK_CAST:
		return P_CAST;
	default:
		return 0;
	}
}

/* fn(a), a function node the parser makes up. */
static struct enode *call1(struct ecomp *c, const char *fn, int col,
			   struct enode *a)
{
	struct enode *n;

	if (a == NULL || (n = enode_new(c, N_FUNC, col)) == NULL)
		return NULL;
	if ((n->name = strdup(fn)) == NULL) {
		ecomp_fail(c, 0, "out of memory");
		return NULL;
	}
	return enode_add_arg(c, n, a) < 0 ? NULL : n;
}

/* A copy of the tree at s, before it is checked. */
static struct enode *clone(struct ecomp *c, const struct enode *s)
{
	struct enode *n, *next;

	if (s == NULL || (n = enode_new(c, s->kind, s->column)) == NULL)
		return NULL;
	next = n->next_alloc;
	*n = *s;
	n->next_alloc = next;
	n->args = NULL;
	n->nargs = 0;
	n->name = NULL;
	if (s->name != NULL && (n->name = strdup(s->name)) == NULL) {
		ecomp_fail(c, 0, "out of memory");
		return NULL;
	}
	for (int i = 0; i < s->nargs; i++)
		if (enode_add_arg(c, n, clone(c, s->args[i])) < 0)
			return NULL;
	return n;
}

/*
 * a IS [NOT] DISTINCT FROM b, as coalesce(a <> b, (a IS NULL) <> (b IS
 * NULL)) (= for NOT): the comparison where both are values, else whether
 * just one is NULL; never NULL.
 */
static struct enode *distinct_from(struct ecomp *c, struct enode *a,
				   struct enode *b, bool not, int col)
{
	int op = not ? '=' : TK_NE;
	struct enode *a2 = clone(c, a), *b2 = clone(c, b), *na, *nb, *f;

	na = unary(c, N_IS, col, a2);
	nb = unary(c, N_IS, col, b2);
	if (na == NULL || nb == NULL || (f = enode_new(c, N_FUNC, col)) == NULL)
		return NULL;
	na->op = nb->op = IS_NULL;
	if ((f->name = strdup("coalesce")) == NULL) {
		ecomp_fail(c, 0, "out of memory");
		return NULL;
	}
	if (enode_add_arg(c, f, binary(c, N_CMP, op, col, a, b)) < 0 ||
	    enode_add_arg(c, f, binary(c, N_CMP, op, col, na, nb)) < 0)
		return NULL;
	return f;
}

static struct enode *postfix_like(struct ecomp *c, struct enode *left, int col)
{
	bool neg = false;
	struct enode *n;

	if (is_kw(c, "not")) {
		neg = true;
		lex(c);
	}
	if (is_kw(c, "between")) {
		lex(c);
		if ((n = unary(c, N_BETWEEN, col, left)) == NULL ||
		    enode_add_arg(c, n, parse_expr(c, P_OP)) < 0 ||
		    expect_kw(c, "and") < 0 ||
		    enode_add_arg(c, n, parse_expr(c, P_OP)) < 0)
			return NULL;
	} else if (is_kw(c, "in")) {
		lex(c);
		if ((n = unary(c, N_IN, col, left)) == NULL || expect(c, '(') < 0)
			return NULL;
		for (;;) {
			if (enode_add_arg(c, n, parse_expr(c, P_OR)) < 0)
				return NULL;
			if (c->tok != ',')
				break;
			lex(c);
		}
		if (expect(c, ')') < 0)
			return NULL;
	} else if (is_kw(c, "like") || is_kw(c, "ilike")) {
		/* ILIKE is LIKE of both sides lower()ed, as PostgreSQL's */
		bool ci = is_kw(c, "ilike");

		lex(c);
		if ((n = unary(c, N_LIKE, col, ci ? call1(c, "lower", col, left)
						  : left)) == NULL ||
		    enode_add_arg(c, n, ci ? call1(c, "lower", col,
						   parse_expr(c, P_OP))
					   : parse_expr(c, P_OP)) < 0)
			return NULL;
		n->escape = '\\';
		if (is_kw(c, "escape")) {
			lex(c);
			if (c->tok != TK_STR || c->toklen > 1) {
				ecomp_fail(c, c->tokcol, "invalid escape string");
				return NULL;
			}
			n->escape = c->toklen ? (unsigned char)c->tokstr[0] : -1;
			lex(c);
		}
	} else {
		syntax_error(c);
		return NULL;
	}
	n->negated = neg;
	return n;
}

static struct enode *parse_level(struct ecomp *c, int minprec);

static struct enode *parse_expr(struct ecomp *c, int minprec)
{
	struct enode *n;

	if (++c->depth > EXPR_MAX_DEPTH) {
		ecomp_fail(c, c->tokcol, "expression nested too deeply (more than %d levels)",
			   EXPR_MAX_DEPTH);
		return NULL;
	}
	n = parse_level(c, minprec);
	c->depth--;
	return n;
}

static struct enode *parse_level(struct ecomp *c, int minprec)
{
	struct enode *left;
	int col = c->tokcol;

	if (c->tok == TK_BAD)
		return NULL;
	if (is_kw(c, "not")) {
		lex(c);
		left = unary(c, N_NOT, col, parse_expr(c, P_NOT));
	} else if (c->tok == '-' || c->tok == '+') {
		int op = c->tok;

		lex(c);
		left = parse_expr(c, P_UNARY);
		if (op == '-')
			left = unary(c, N_NEG, col, left);
	} else {
		left = primary(c);
	}
	for (;;) {
		int prec = infix_prec(c), op = c->tok, opcol = c->tokcol;

		if (left == NULL)
			return NULL;
		if (prec == 0 || prec < minprec)
			return left;
		switch (prec) {
		case P_OR:
		case P_AND:
			lex(c);
			left = binary(c, prec == P_OR ? N_OR : N_AND, 0, opcol, left,
				      parse_expr(c, prec + 1));
			break;
		case P_IS: {
			struct enode *n;

			lex(c);
			if ((n = unary(c, N_IS, opcol, left)) == NULL)
				return NULL;
			if (is_kw(c, "not")) {
				n->negated = true;
				lex(c);
			}
			if (is_kw(c, "distinct")) {
				lex(c);
				if (expect_kw(c, "from") < 0)
					return NULL;
				left = distinct_from(c, left,
						     parse_expr(c, P_IS + 1),
						     n->negated, opcol);
				break;
			}
			if (is_kw(c, "null"))
				n->op = IS_NULL;
			else if (is_kw(c, "true"))
				n->op = IS_TRUE;
			else if (is_kw(c, "false"))
				n->op = IS_FALSE;
			else {
				syntax_error(c);
				return NULL;
			}
			lex(c);
			left = n;
			break;
		}
		case P_CMP:
			lex(c);
			left = binary(c, N_CMP, cmp_op(op), opcol, left,
				      parse_expr(c, P_CMP + 1));
			if (left && infix_prec(c) == P_CMP) {
				syntax_error(c);
				return NULL;
			}
			break;
		case P_LIKE:
			if (is_kw(c, "not")) {
				/* NOT here only as NOT BETWEEN/IN/LIKE. */
				const char *save = c->p;
				int savecol = c->tokcol;

				lex(c);
				if (!(is_kw(c, "between") || is_kw(c, "in") ||
				      is_kw(c, "like") || is_kw(c, "ilike"))) {
					syntax_error(c);
					return NULL;
				}
				(void)save;
				c->p = c->text + savecol - 1;
				lex(c);
			}
			left = postfix_like(c, left, opcol);
			break;
		case P_OP:
			lex(c);
			left = binary(c, N_CONCAT, op, opcol, left, parse_expr(c, prec + 1));
			break;
		case P_ADD:
		case P_MUL:
			lex(c);
			left = binary(c, N_ARITH, op, opcol, left, parse_expr(c, prec + 1));
			break;
		case P_CAST: {
			struct enode *n;

			lex(c);
			if ((n = unary(c, N_CAST, opcol, left)) == NULL ||
			    type_name(c, n) < 0)
				return NULL;
			left = n;
			break;
		}
		}
	}
}

struct enode *expr_parse_text(struct ecomp *c)
{
	struct enode *n;

	c->p = c->text;
	lex(c);
	if (c->tok == TK_EOF) {
		ecomp_fail(c, 1, "empty expression");
		return NULL;
	}
	n = parse_expr(c, P_OR);
	if (n && c->tok != TK_EOF) {
		syntax_error(c);
		return NULL;
	}
	return n;
}

const char *expr_type_name(int t)
{
	switch (t) {
	case T_UNKNOWN: return "unknown";
	case REC_INT: return "int";
	case REC_FLOAT: return "float";
	case REC_TEXT: return "text";
	case REC_BOOL: return "bool";
	case REC_TIMESTAMP: return "timestamp";
	case REC_DECIMAL: return "decimal";
	case REC_DATE: return "date";
	default: return "?";
	}
}
