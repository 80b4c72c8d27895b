/*
 * expr_emit.c - the checked tree into a flat program, and the compile API.
 *
 * Every node gets a slot of the frame for its value; constants are slots
 * filled when the frame is made, and an operand that reads a field names
 * the field itself (direct_fields()), so nothing is loaded per record
 * unless an instruction writes that slot.  Instructions are typed: the
 * checker fixed every operand's type, so ADD_I, LT_T or ADD_D (with its
 * operands' scales) is chosen here, once.  AND, OR, CASE and coalesce
 * jump past what they need not evaluate, as PostgreSQL's executor does,
 * so that `x <> 0 AND y / x > 1` never divides by zero.
 *
 * Constant folding (expr_fold) emits a node whose operands are constants
 * into a program of its own and runs it; a node whose evaluation fails
 * (1 / 0) is left for the records, where it is each record's error.
 */
#include "expr_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"

int expr_fold(struct ecomp *c, struct enode *n);

const char *expr_prog_keep(struct expr_prog *prog, const char *s, size_t len)
{
	struct keep *k = malloc(sizeof *k + len + 1);

	if (k == NULL)
		return NULL;
	memcpy(k->data, s, len);
	k->data[len] = '\0';
	k->next = prog->kept;
	prog->kept = k;
	return k->data;
}

static int new_slot(struct ecomp *c, struct expr_prog *p)
{
	if (p->nslots == p->capslots) {
		int cap = p->capslots ? 2 * p->capslots : 16;
		struct rec_value *v = realloc(p->init, (size_t)cap * sizeof *v);

		if (v == NULL)
			return ecomp_fail(c, 0, "out of memory");
		p->init = v;
		p->capslots = cap;
	}
	memset(&p->init[p->nslots], 0, sizeof p->init[0]);
	p->init[p->nslots].null = true;
	return p->nslots++;
}

static struct einsn *add(struct ecomp *c, struct expr_prog *p, int op, int dst,
			 int a, int b)
{
	struct einsn *in;

	if (p->ncode == p->capcode) {
		int cap = p->capcode ? 2 * p->capcode : 32;
		struct einsn *code = realloc(p->code, (size_t)cap * sizeof *code);

		if (code == NULL) {
			ecomp_fail(c, 0, "out of memory");
			return NULL;
		}
		p->code = code;
		p->capcode = cap;
	}
	in = &p->code[p->ncode++];
	memset(in, 0, sizeof *in);
	in->op = (uint16_t)op;
	in->dst = dst < 0 ? SLOT_NONE : dst;
	in->a = a < 0 ? SLOT_NONE : a;
	in->b = b < 0 ? SLOT_NONE : b;
	in->c = SLOT_NONE;
	in->strict = op >= EOP_ADD_I && op != EOP_GREATEST && op != EOP_LEAST;
	return in;
}

/* The emitter's state: the program and where each field was loaded. */
struct emit {
	struct ecomp *c;
	struct expr_prog *p;
	int *field_slot;
};

static int emit(struct emit *e, struct enode *n);

/* An instruction dst = op(a, b) over n's first two operands. */
static int emit2(struct emit *e, struct enode *n, int op, struct einsn **out)
{
	int a, b, dst;
	struct einsn *in;

	if ((a = emit(e, n->args[0])) < 0 || (b = emit(e, n->args[1])) < 0 ||
	    (dst = new_slot(e->c, e->p)) < 0 ||
	    (in = add(e->c, e->p, op, dst, a, b)) == NULL)
		return -1;
	in->sa = n->args[0]->ty.scale;
	in->sb = n->args[1]->ty.scale;
	in->sk = n->ty.scale;
	in->pk = n->ty.prec;
	if (out)
		*out = in;
	return dst;
}

/* The comparison of two slots of type t: rel is the operator's token. */
static int cmp_op(int t, int rel)
{
	int base, k;

	switch (t) {
	case REC_FLOAT: base = EOP_EQ_F; break;
	case REC_DECIMAL: base = EOP_EQ_D; break;
	case REC_TEXT: base = EOP_EQ_T; break;
	case REC_BOOL: base = EOP_EQ_B; break;
	default: base = EOP_EQ_I; break;
	}
	switch (rel) {
	case '=': k = 0; break;
	case TK_NE: k = 1; break;
	case '<': k = 2; break;
	case TK_LE: k = 3; break;
	case '>': k = 4; break;
	default: k = 5; break;
	}
	return base + k;
}

static int emit_cmp_slots(struct emit *e, const struct enode *a, int sa,
			  const struct enode *b, int sb, int rel)
{
	int dst = new_slot(e->c, e->p);
	struct einsn *in;

	if (dst < 0 || (in = add(e->c, e->p, cmp_op(a->ty.type, rel), dst, sa, sb)) == NULL)
		return -1;
	in->sa = a->ty.scale;
	in->sb = b->ty.scale;
	return dst;
}

static int emit_not(struct emit *e, int a)
{
	int dst = new_slot(e->c, e->p);

	if (dst < 0 || add(e->c, e->p, EOP_NOT, dst, a, -1) == NULL)
		return -1;
	return dst;
}

static int emit_logic(struct emit *e, struct enode *n)
{
	bool and = n->kind == N_AND;
	int a, b, dst, sc;
	struct einsn *in;

	if ((a = emit(e, n->args[0])) < 0 || (dst = new_slot(e->c, e->p)) < 0)
		return -1;
	sc = e->p->ncode;
	if (add(e->c, e->p, and ? EOP_AND_SC : EOP_OR_SC, dst, a, -1) == NULL ||
	    (b = emit(e, n->args[1])) < 0 ||
	    (in = add(e->c, e->p, and ? EOP_AND : EOP_OR, dst, a, b)) == NULL)
		return -1;
	e->p->code[sc].k = e->p->ncode;
	return dst;
}

static int emit_in(struct emit *e, struct enode *n)
{
	int x, acc = -1;

	if ((x = emit(e, n->args[0])) < 0)
		return -1;
	for (int i = 1; i < n->nargs; i++) {
		int v = emit(e, n->args[i]), eq, dst;

		if (v < 0 || (eq = emit_cmp_slots(e, n->args[0], x, n->args[i], v, '=')) < 0)
			return -1;
		if (acc < 0) {
			acc = eq;
			continue;
		}
		if ((dst = new_slot(e->c, e->p)) < 0 ||
		    add(e->c, e->p, EOP_OR, dst, acc, eq) == NULL)
			return -1;
		acc = dst;
	}
	return n->negated ? emit_not(e, acc) : acc;
}

static int emit_between(struct emit *e, struct enode *n)
{
	int x, lo, hi, ge, le, dst;

	if ((x = emit(e, n->args[0])) < 0 || (lo = emit(e, n->args[1])) < 0 ||
	    (hi = emit(e, n->args[2])) < 0 ||
	    (ge = emit_cmp_slots(e, n->args[0], x, n->args[1], lo, TK_GE)) < 0 ||
	    (le = emit_cmp_slots(e, n->args[0], x, n->args[2], hi, TK_LE)) < 0 ||
	    (dst = new_slot(e->c, e->p)) < 0 ||
	    add(e->c, e->p, EOP_AND, dst, ge, le) == NULL)
		return -1;
	return n->negated ? emit_not(e, dst) : dst;
}

static int emit_move(struct emit *e, int dst, int src)
{
	return add(e->c, e->p, EOP_MOVE, dst, src, -1) ? 0 : -1;
}

static int emit_case(struct emit *e, struct enode *n)
{
	int first = n->has_operand ? 1 : 0;
	int nwhen = (n->nargs - first - n->has_else) / 2;
	int x = -1, dst, *ends;
	int nends = 0;

	if (n->has_operand && (x = emit(e, n->args[0])) < 0)
		return -1;
	if ((dst = new_slot(e->c, e->p)) < 0)
		return -1;
	ends = malloc(sizeof *ends * (size_t)(nwhen + 1));
	if (ends == NULL)
		return ecomp_fail(e->c, 0, "out of memory");
	for (int w = 0; w < nwhen; w++) {
		struct enode *cond = n->args[first + 2 * w];
		int cs, r, jnext;

		cs = emit(e, cond);
		if (cs >= 0 && n->has_operand)
			cs = emit_cmp_slots(e, n->args[0], x, cond, cs, '=');
		if (cs < 0)
			goto fail;
		jnext = e->p->ncode;
		if (add(e->c, e->p, EOP_JUMP_IF_NOT_TRUE, -1, cs, -1) == NULL ||
		    (r = emit(e, n->args[first + 2 * w + 1])) < 0 ||
		    emit_move(e, dst, r) < 0)
			goto fail;
		ends[nends++] = e->p->ncode;
		if (add(e->c, e->p, EOP_JUMP, -1, -1, -1) == NULL)
			goto fail;
		e->p->code[jnext].k = e->p->ncode;
	}
	if (n->has_else) {
		int r = emit(e, n->args[n->nargs - 1]);

		if (r < 0 || emit_move(e, dst, r) < 0)
			goto fail;
	} else if (add(e->c, e->p, EOP_SETNULL, dst, -1, -1) == NULL) {
		goto fail;
	}
	for (int i = 0; i < nends; i++)
		e->p->code[ends[i]].k = e->p->ncode;
	free(ends);
	return dst;
fail:
	free(ends);
	return -1;
}

static int emit_func(struct emit *e, struct enode *n)
{
	const char *f = n->name;
	int dst, a = -1, b = -1, c3 = -1;
	struct einsn *in;
	int op;

	if (!strcmp(f, "coalesce")) {
		int *ends = malloc(sizeof *ends * (size_t)n->nargs), nends = 0;

		if (ends == NULL || (dst = new_slot(e->c, e->p)) < 0) {
			free(ends);
			return ecomp_fail(e->c, 0, "out of memory");
		}
		for (int i = 0; i < n->nargs; i++) {
			int v = emit(e, n->args[i]);

			if (v < 0 || emit_move(e, dst, v) < 0) {
				free(ends);
				return -1;
			}
			if (i + 1 < n->nargs) {
				ends[nends++] = e->p->ncode;
				if (add(e->c, e->p, EOP_JUMP_IF_NOT_NULL, -1, dst, -1) == NULL) {
					free(ends);
					return -1;
				}
			}
		}
		for (int i = 0; i < nends; i++)
			e->p->code[ends[i]].k = e->p->ncode;
		free(ends);
		return dst;
	}
	if (!strcmp(f, "greatest") || !strcmp(f, "least")) {
		if ((dst = new_slot(e->c, e->p)) < 0 ||
		    add(e->c, e->p, EOP_SETNULL, dst, -1, -1) == NULL)
			return -1;
		for (int i = 0; i < n->nargs; i++) {
			int v = emit(e, n->args[i]);

			if (v < 0 || (in = add(e->c, e->p, f[0] == 'g' ? EOP_GREATEST
					       : EOP_LEAST, dst, v, -1)) == NULL)
				return -1;
			in->ta = (uint8_t)n->ty.type;
			in->sa = n->ty.scale;
		}
		return dst;
	}
	if (!strcmp(f, "nullif")) {
		int eq;

		if ((a = emit(e, n->args[0])) < 0 || (b = emit(e, n->args[1])) < 0 ||
		    (eq = emit_cmp_slots(e, n->args[0], a, n->args[1], b, '=')) < 0 ||
		    (dst = new_slot(e->c, e->p)) < 0 ||
		    add(e->c, e->p, EOP_NULLIF, dst, a, eq) == NULL)
			return -1;
		return dst;
	}
	if (!strcmp(f, "time_bucket")) {
		int64_t us, months;
		const struct rec_value *w = &n->args[0]->val;

		if (expr_bucket_parse(w->u.s.p, w->u.s.len, &us, &months) < 0 ||
		    (a = emit(e, n->args[1])) < 0 || (dst = new_slot(e->c, e->p)) < 0 ||
		    (in = add(e->c, e->p, n->args[1]->ty.type == REC_DATE ? EOP_BUCKET_DATE
			      : EOP_BUCKET_TS, dst, a, -1)) == NULL)
			return -1;
		in->k = us;
		in->k2 = months;
		in->tb = (uint8_t)n->ty.type;
		return dst;
	}
	if (!strcmp(f, "date_trunc")) {
		if ((a = emit(e, n->args[1])) < 0 || (dst = new_slot(e->c, e->p)) < 0 ||
		    (in = add(e->c, e->p, n->args[1]->ty.type == REC_DATE ? EOP_TRUNC_DATE
			      : EOP_TRUNC_TS, dst, a, -1)) == NULL)
			return -1;
		in->k = n->op;
		return dst;
	}
	if (!strcmp(f, "round") && n->nargs == 2) {
		if ((a = emit(e, n->args[0])) < 0 || (dst = new_slot(e->c, e->p)) < 0 ||
		    (in = add(e->c, e->p, EOP_ROUND_D, dst, a, -1)) == NULL)
			return -1;
		in->sa = n->args[0]->ty.scale;
		in->sk = n->ty.scale;
		in->k = n->args[1]->val.u.i;
		return dst;
	}
	if (n->nargs >= 1 && (a = emit(e, n->args[0])) < 0)
		return -1;
	if (n->nargs >= 2 && (b = emit(e, n->args[1])) < 0)
		return -1;
	if (n->nargs >= 3 && (c3 = emit(e, n->args[2])) < 0)
		return -1;
	{
		int t = n->nargs ? n->args[0]->ty.type : 0;

		if (!strcmp(f, "abs"))
			op = t == REC_INT ? EOP_ABS_I : t == REC_FLOAT ? EOP_ABS_F : EOP_ABS_D;
		else if (!strcmp(f, "round"))
			op = t == REC_FLOAT ? EOP_ROUND_F : EOP_ROUND_D;
		else if (!strcmp(f, "floor"))
			op = t == REC_FLOAT ? EOP_FLOOR_F : EOP_FLOOR_D;
		else if (!strcmp(f, "ceil") || !strcmp(f, "ceiling"))
			op = t == REC_FLOAT ? EOP_CEIL_F : EOP_CEIL_D;
		else if (!strcmp(f, "lower"))
			op = EOP_LOWER;
		else if (!strcmp(f, "upper"))
			op = EOP_UPPER;
		else if (!strcmp(f, "length") || !strcmp(f, "char_length"))
			op = EOP_LENGTH;
		else if (strstr(f, "trim"))
			op = EOP_TRIM;
		else if (!strncmp(f, "substr", 6))
			op = EOP_SUBSTR;
		else if (!strcmp(f, "replace"))
			op = EOP_REPLACE;
		else if (!strcmp(f, "split_part"))
			op = EOP_SPLIT_PART;
		else if (!strcmp(f, "strftime"))
			op = EOP_STRFTIME;
		else
			return ecomp_fail(e->c, n->column, "function %s cannot be compiled", f);
	}
	if ((dst = new_slot(e->c, e->p)) < 0 ||
	    (in = add(e->c, e->p, op, dst, a, b)) == NULL)
		return -1;
	in->c = c3 < 0 ? SLOT_NONE : c3;
	in->sa = n->nargs ? n->args[0]->ty.scale : 0;
	in->sk = n->ty.scale;
	if (op == EOP_ROUND_D || op == EOP_FLOOR_D || op == EOP_CEIL_D)
		in->k = 0;
	if (op == EOP_TRIM)
		in->k = f[0] == 'l' ? 1 : f[0] == 'r' ? 2 : 0;
	if (op == EOP_STRFTIME)
		in->tb = (uint8_t)n->args[1]->ty.type;
	return dst;
}

static int emit(struct emit *e, struct enode *n)
{
	int dst, a, op;
	struct einsn *in;

	switch (n->kind) {
	case N_CONST:
		if ((dst = new_slot(e->c, e->p)) < 0)
			return -1;
		e->p->init[dst] = n->val;
		return dst;
	case N_FIELD:
		return e->field_slot[n->field];
	case N_NEG:
		if ((a = emit(e, n->args[0])) < 0 || (dst = new_slot(e->c, e->p)) < 0)
			return -1;
		op = n->ty.type == REC_INT ? EOP_NEG_I : n->ty.type == REC_FLOAT ? EOP_NEG_F
									    : EOP_NEG_D;
		if ((in = add(e->c, e->p, op, dst, a, -1)) == NULL)
			return -1;
		in->sa = in->sk = n->ty.scale;
		return dst;
	case N_ARITH: {
		int k = n->op == '+' ? 0 : n->op == '-' ? 1 : n->op == '*' ? 2
			: n->op == '/' ? 3 : 4;
		int t = n->args[0]->ty.type;

		if (t == REC_DATE)
			op = n->args[1]->ty.type == REC_DATE ? EOP_DIFF_DATE
				: n->op == '+' ? EOP_ADD_DATE : EOP_SUB_DATE;
		else if (n->ty.type == REC_INT)
			op = EOP_ADD_I + k;
		else if (n->ty.type == REC_FLOAT)
			op = EOP_ADD_F + k;
		else
			op = EOP_ADD_D + k;
		return emit2(e, n, op, NULL);
	}
	case N_CONCAT:
		return emit2(e, n, EOP_CONCAT, NULL);
	case N_CMP:
		if ((a = emit(e, n->args[0])) < 0 || (dst = emit(e, n->args[1])) < 0)
			return -1;
		return emit_cmp_slots(e, n->args[0], a, n->args[1], dst, n->op);
	case N_AND:
	case N_OR:
		return emit_logic(e, n);
	case N_NOT:
		if ((a = emit(e, n->args[0])) < 0)
			return -1;
		return emit_not(e, a);
	case N_IS:
		if ((a = emit(e, n->args[0])) < 0 || (dst = new_slot(e->c, e->p)) < 0)
			return -1;
		if (n->op == IS_NULL)
			op = n->negated ? EOP_ISNOTNULL : EOP_ISNULL;
		else
			op = n->op == IS_TRUE ? EOP_ISTRUE : EOP_ISFALSE;
		if (add(e->c, e->p, op, dst, a, -1) == NULL)
			return -1;
		return n->op != IS_NULL && n->negated ? emit_not(e, dst) : dst;
	case N_IN:
		return emit_in(e, n);
	case N_BETWEEN:
		return emit_between(e, n);
	case N_LIKE:
		if ((dst = emit2(e, n, EOP_LIKE, &in)) < 0)
			return -1;
		in->k = n->escape;
		return n->negated ? emit_not(e, dst) : dst;
	case N_CASE:
		return emit_case(e, n);
	case N_CAST: {
		struct expr_type from = n->args[0]->ty;

		if ((a = emit(e, n->args[0])) < 0)
			return -1;
		if (from.type == n->ty.type && from.type != REC_DECIMAL)
			return a;
		if ((dst = new_slot(e->c, e->p)) < 0 ||
		    (in = add(e->c, e->p, EOP_CAST, dst, a, -1)) == NULL)
			return -1;
		in->ta = (uint8_t)from.type;
		in->sa = from.scale;
		in->tb = (uint8_t)n->ty.type;
		in->pk = n->ty.prec;
		in->sk = n->ty.scale;
		return dst;
	}
	case N_FUNC:
		return emit_func(e, n);
	case N_EXTRACT:
		if ((a = emit(e, n->args[0])) < 0 || (dst = new_slot(e->c, e->p)) < 0 ||
		    (in = add(e->c, e->p, n->args[0]->ty.type == REC_DATE ? EOP_EXTRACT_DATE
			      : EOP_EXTRACT_TS, dst, a, -1)) == NULL)
			return -1;
		in->k = n->op;
		in->sk = n->ty.scale;
		return dst;
	}
	return ecomp_fail(e->c, n->column, "cannot compile this expression");
}

/* Mark the fields a tree reads. */
static void mark_fields(const struct enode *n, bool *read)
{
	if (n->kind == N_FIELD)
		read[n->field] = true;
	for (int i = 0; i < n->nargs; i++)
		mark_fields(n->args[i], read);
}

/*
 * Operands that name a field directly: the fields are loaded into their
 * slots by the LOADs that start the code; where nothing else writes such
 * a slot and it is not the result, every operand reading it is made to
 * read the record's field instead (fa, fb, fc), and its LOAD is moved
 * past p->nloads, so the run skips it.  A load costs a copy per record,
 * a turn of the loop before this.  0, or -1: no memory.
 */
static int direct_fields(struct ecomp *c, struct expr_prog *p)
{
	int *field = malloc(sizeof *field * (size_t)(p->nslots + 1));
	int start, keep = 0;

	if (field == NULL)
		return ecomp_fail(c, 0, "out of memory");
	for (int k = 0; k < p->nslots; k++)
		field[k] = -1;
	for (start = 0; start < p->ncode && p->code[start].op == EOP_LOAD;
	     start++)
		field[p->code[start].dst] = p->code[start].a;
	for (int pc = start; pc < p->ncode; pc++)
		field[p->code[pc].dst] = -1;
	field[p->result] = -1;
	field[SLOT_NONE] = -1;
	for (int pc = start; pc < p->ncode; pc++) {
		struct einsn *in = &p->code[pc];

		if (field[in->a] >= 0) {
			in->fa = true;
			in->a = field[in->a];
		}
		if (field[in->b] >= 0) {
			in->fb = true;
			in->b = field[in->b];
		}
		if (field[in->c] >= 0) {
			in->fc = true;
			in->c = field[in->c];
		}
	}
	/* The LOADs still needed first; jumps all land past start. */
	for (int pc = 0; pc < start; pc++) {
		if (field[p->code[pc].dst] < 0) {
			struct einsn t = p->code[keep];

			p->code[keep++] = p->code[pc];
			p->code[pc] = t;
		}
	}
	p->nloads = keep;
	p->start = start;
	free(field);
	p->fast = FAST_NONE;
	if (keep == 0 && p->ncode == start + 1 &&
	    p->code[start].dst == p->result && p->code[start].strict &&
	    !p->code[start].fc && p->code[start].c == SLOT_NONE) {
		int op = p->code[start].op;

		if (op >= EOP_EQ_I && op <= EOP_GE_I)
			p->fast = FAST_CMP_I;
		else if (op >= EOP_EQ_F && op <= EOP_GE_F)
			p->fast = FAST_CMP_F;
		else if (op == EOP_TRUNC_TS)
			p->fast = FAST_TRUNC_TS;
		else if (op == EOP_BUCKET_TS)
			p->fast = FAST_BUCKET_TS;
	}
	return 0;
}

static int emit_program(struct ecomp *c, struct expr_prog *p, struct enode *n)
{
	int nf = c->schema ? c->schema->nfields : 0;
	bool *read = calloc((size_t)nf + 1, sizeof *read);
	struct emit e = { c, p, calloc((size_t)nf + 1, sizeof(int)) };
	int rc = -1;

	if (read == NULL || e.field_slot == NULL) {
		ecomp_fail(c, 0, "out of memory");
		goto out;
	}
	mark_fields(n, read);
	if (p->nslots == 0) {
		/* Slot 0: never NULL, the operand of what has none. */
		if (new_slot(c, p) < 0)
			goto out;
		p->init[SLOT_NONE].null = false;
	}
	p->nfields = 0;
	for (int i = 0; i < nf; i++)
		p->nfields += read[i];
	free(p->fields);
	p->fields = malloc(sizeof *p->fields * (size_t)(p->nfields + 1));
	if (p->fields == NULL) {
		ecomp_fail(c, 0, "out of memory");
		goto out;
	}
	p->nfields = 0;
	for (int i = 0; i < nf; i++) {
		int s;

		if (!read[i])
			continue;
		p->fields[p->nfields++] = i;
		if ((s = new_slot(c, p)) < 0 || add(c, p, EOP_LOAD, s, i, -1) == NULL)
			goto out;
		e.field_slot[i] = s;
	}
	if ((p->result = emit(&e, n)) < 0)
		goto out;
	if (direct_fields(c, p) < 0)
		goto out;
	p->type = n->ty;
	rc = 0;
out:
	free(read);
	free(e.field_slot);
	return rc;
}

int expr_emit_tree(struct ecomp *c, struct enode *n)
{
	return emit_program(c, c->prog, n);
}

static void prog_release(struct expr_prog *p)
{
	while (p->kept) {
		struct keep *k = p->kept;

		p->kept = k->next;
		free(k);
	}
	free(p->code);
	free(p->init);
	free(p->fields);
}

int expr_fold(struct ecomp *c, struct enode *n)
{
	struct expr_prog tmp;
	struct expr_frame *f;
	struct rec_value out;
	char reason[EXPR_REASON_MAX];
	int rc;

	if (n->kind == N_CONST || n->kind == N_FIELD)
		return 0;
	for (int i = 0; i < n->nargs; i++)
		if (n->args[i]->kind != N_CONST)
			return 0;
	memset(&tmp, 0, sizeof tmp);
	tmp.tz = c->tz;
	if (emit_program(c, &tmp, n) < 0) {
		prog_release(&tmp);
		return -1;
	}
	if ((f = expr_frame_new(&tmp)) == NULL) {
		prog_release(&tmp);
		return ecomp_fail(c, 0, "out of memory");
	}
	rc = expr_eval(&tmp, NULL, f, &out, reason, sizeof reason);
	if (rc == 0) {
		if (!out.null && n->ty.type == REC_TEXT) {
			out.u.s.p = expr_prog_keep(c->prog, out.u.s.p, out.u.s.len);
			if (out.u.s.p == NULL)
				rc = ecomp_fail(c, 0, "out of memory");
		}
		if (rc == 0) {
			n->kind = N_CONST;
			n->val = out;
			n->nargs = 0; /* the operands stay on c->nodes, to be freed */
			n->lit_text = false;
		}
	} else if (n->kind == N_CAST && n->args[0]->ty.type == REC_TEXT) {
		/* A literal that does not read as its type: PostgreSQL says so at once. */
		rc = ecomp_fail(c, n->args[0]->column, "%s", reason);
	} else {
		rc = 0; /* left for the records: each one's error */
	}
	expr_frame_free(f);
	prog_release(&tmp);
	return rc;
}

static void free_nodes(struct ecomp *c)
{
	while (c->nodes) {
		struct enode *n = c->nodes;

		c->nodes = n->next_alloc;
		free(n->args);
		free(n->name);
		free(n);
	}
}

struct expr_prog *expr_compile(const char *text, const struct rec_schema *schema,
			       const struct tz *tz, struct expr_error *err)
{
	struct ecomp c;
	struct enode *root;
	struct expr_prog *p = calloc(1, sizeof *p);

	memset(err, 0, sizeof *err);
	memset(&c, 0, sizeof c);
	c.text = text;
	c.schema = schema;
	c.tz = tz;
	c.err = err;
	c.prog = p;
	if (p == NULL) {
		snprintf(err->msg, sizeof err->msg, "out of memory");
		return NULL;
	}
	p->tz = tz;
	root = expr_parse_text(&c);
	if (root == NULL || expr_check_tree(&c, root) < 0)
		goto fail;
	if (root->ty.type == T_UNKNOWN)
		root->ty.type = REC_TEXT;
	if (expr_emit_tree(&c, root) < 0)
		goto fail;
	free_nodes(&c);
	free(c.tokstr);
	return p;
fail:
	if (!err->msg[0])
		snprintf(err->msg, sizeof err->msg, "invalid expression");
	free_nodes(&c);
	free(c.tokstr);
	expr_free(p);
	return NULL;
}

void expr_free(struct expr_prog *prog)
{
	if (prog == NULL)
		return;
	prog_release(prog);
	free(prog);
}

struct expr_type expr_result_type(const struct expr_prog *prog)
{
	return prog->type;
}

const int *expr_fields_read(const struct expr_prog *prog, int *n)
{
	*n = prog->nfields;
	return prog->fields;
}

/* Append the names a tree reads that are not yet in the list. */
static int collect_names(const struct enode *n, char ***names, int *count, int *cap)
{
	if (n->kind == N_FIELD) {
		int i;

		for (i = 0; i < *count; i++)
			if (strcmp((*names)[i], n->name) == 0)
				break;
		if (i == *count) {
			if (*count == *cap) {
				int ncap = *cap ? 2 * *cap : 8;
				char **more = realloc(*names, sizeof *more * (size_t)ncap);

				if (more == NULL)
					return -1;
				*names = more;
				*cap = ncap;
			}
			if (((*names)[*count] = strdup(n->name)) == NULL)
				return -1;
			(*count)++;
		}
	}
	for (int i = 0; i < n->nargs; i++)
		if (collect_names(n->args[i], names, count, cap) < 0)
			return -1;
	return 0;
}

int expr_names_read(const char *text, char ***names, struct expr_error *err)
{
	struct ecomp c;
	struct enode *root;
	struct expr_prog scratch;
	int count = 0, cap = 0;

	memset(err, 0, sizeof *err);
	memset(&c, 0, sizeof c);
	memset(&scratch, 0, sizeof scratch);
	c.text = text;
	c.err = err;
	c.prog = &scratch; /* holds the literals' text while parsing */
	*names = NULL;
	root = expr_parse_text(&c);
	if (root == NULL) {
		count = -1;
	} else if (collect_names(root, names, &count, &cap) < 0) {
		snprintf(err->msg, sizeof err->msg, "out of memory");
		expr_names_free(*names, count);
		*names = NULL;
		count = -1;
	}
	free_nodes(&c);
	free(c.tokstr);
	prog_release(&scratch);
	return count;
}

void expr_names_free(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
