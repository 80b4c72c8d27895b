/*
 * pg_push.c - the postgres provider's aggregate pushdown (pg_push.h).
 *
 * Exactness: count is a count; sum of int2/int4/int8 is numeric or int8
 * in the server, exact; sum of numeric(p,s) is exact numeric; min and max
 * of text are taken in the "C" collation (byte order, as ours), and text
 * keys are grouped and ordered in it (equality by bytes).  The group
 * record carries each sum as the exact decimal(38,s) it is, and the
 * aggregator folds it as a state, as it folds a partial's.  No value is
 * converted through a type it may not fit: only columns whose every
 * value converts are accepted (pg_push_ok()), but for NaN in numeric and
 * NaN or an infinity in a float, which the statement counts per group
 * (the guard column; for a float it sums, the exponent 2047 of the sum's
 * key): one fails the provider rather than become a reject the pulled
 * rows would have had.
 */
#include "pg_push.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/convert.h"
#include "../common/decimal.h"
#include "../common/log.h"
#include "../common/pushdown.h"
#include "pg_conn.h"
#include "pg_resume.h"
#include "sql_conf.h"

#define OID_BOOL 16
#define OID_TEXT 25
#define OID_VARCHAR 1043
#define OID_NUMERIC 1700

/*
 * Whether a column of type oid (typmod mod) converts into f without a
 * reject, and, when compared (a key, a min or max), compares as f would.
 * Any type's text output is text (in a UTF8 server), so a text field that
 * is only carried or counted may come from any column.
 */
static bool col_ok(const struct rec_field *f, unsigned oid, int mod,
		   bool compared)
{
	int cp, cs;

	if (f->type == REC_TEXT && !compared)
		return true;
	switch (f->type) {
	case REC_INT:
		return oid == PG_OID_INT2 || oid == PG_OID_INT4 ||
		       oid == PG_OID_INT8;
	case REC_TEXT:
		return oid == OID_TEXT || oid == OID_VARCHAR;
	case REC_BOOL:
		return oid == OID_BOOL;
	case REC_FLOAT:
		return oid == PG_OID_FLOAT4 || oid == PG_OID_FLOAT8;
	case REC_DECIMAL:
		if (oid != OID_NUMERIC || mod < 4)
			return false;
		cp = ((mod - 4) >> 16) & 0xffff;
		cs = (mod - 4) & 0xffff;
		return cs == f->scale && cp <= f->prec;
	default:
		return false;
	}
}

/* Whether field i is a group key or what a min or max reads. */
static bool compared(const struct cfg *cfg, int i)
{
	for (int k = 0; k < cfg->ngroup_by; k++)
		if (cfg->group_by[k] == i)
			return true;
	for (int k = 0; k < cfg->naggs; k++)
		if (cfg->aggs[k].field == i &&
		    (cfg->aggs[k].kind == CFG_AGG_MIN ||
		     cfg->aggs[k].kind == CFG_AGG_MAX))
			return true;
	return false;
}

bool pg_push_ok(const struct cfg *cfg, const struct cfg_provider *p,
		PGconn *conn, const PGresult *desc, const int *map, char *why,
		size_t whylen)
{
	const char *enc = PQparameterStatus(conn, "server_encoding");
	int pi = (int)(p - cfg->providers);

	if (!sql_conf(p)->pushdown) {
		snprintf(why, whylen, "pushdown = false");
		return false;
	}
	if (!push_allowed(cfg, pi, why, whylen))
		return false;
	if (enc == NULL || strcmp(enc, "UTF8") != 0) {
		snprintf(why, whylen, "server encoding %s", enc ? enc : "?");
		return false;
	}
	for (int i = 0; i < cfg->schema.nfields; i++) {
		const struct rec_field *f = &cfg->schema.fields[i];
		int col = map[i];

		if (col < 0)
			continue;
		if (!col_ok(f, PQftype(desc, col), PQfmod(desc, col),
			    compared(cfg, i))) {
			snprintf(why, whylen, "column %s into %s field %s may "
				 "not convert", PQfname(desc, col),
				 rec_type_name(f->type), f->name);
			return false;
		}
	}
	for (int i = 0; i < cfg->ngroup_by; i++)
		if (map[cfg->group_by[i]] < 0) {
			snprintf(why, whylen, "group_by %s has no column",
				 cfg->schema.fields[cfg->group_by[i]].name);
			return false;
		}
	for (int i = 0; i < cfg->naggs; i++)
		if (push_has_value(&cfg->aggs[i]) &&
		    push_is_fsum(cfg, &cfg->aggs[i]) &&
		    map[cfg->aggs[i].field] >= 0 &&
		    PQftype(desc, map[cfg->aggs[i].field]) != PG_OID_FLOAT8) {
			snprintf(why, whylen, "%s: only a float8 column's sum is "
				 "exact", cfg->aggs[i].name);
			return false;
		}
	for (int i = 0; i < cfg->naggs; i++)
		if (cfg->aggs[i].field >= 0 && map[cfg->aggs[i].field] < 0) {
			snprintf(why, whylen, "%s has no column",
				 cfg->aggs[i].name);
			return false;
		}
	return true;
}

/* "q.<column>" into b (escaped), with COLLATE "C" for text when c. */
static int put_col(struct buf *b, PGconn *conn, const PGresult *desc,
		   int col, bool collate)
{
	const char *name = PQfname(desc, col);
	char *id = PQescapeIdentifier(conn, name, strlen(name));
	int rc;

	if (id == NULL)
		return -1;
	rc = buf_printf(b, "q.%s%s", id, collate ? " COLLATE \"C\"" : "");
	PQfreemem(id);
	return rc;
}

static const char *agg_fn(enum cfg_agg_kind k)
{
	switch (k) {
	case CFG_AGG_SUM:
	case CFG_AGG_AVG:
		return "sum";
	case CFG_AGG_MIN:
		return "min";
	default:
		return "max";
	}
}

/* The statement's forms, as pg_push_run() tries them. */
enum push_form {
	FORM_NARROW, /* float sums grouped by the keys, |x| < 2048 */
	FORM_WIDE,   /* float sums grouped by the keys, |x| < 2^63 */
	FORM_EXP,    /* float sums grouped by the keys and the exponent */
};

/*
 * A float sum's four columns after its count (pushdown.h), in the form
 * that groups the rows by the keys alone, so the statement costs little
 * more than PostgreSQL's own sum of the doubles and is planned as it is
 * (its estimate of the groups is the keys').  Every double x of magnitude
 * in [2^-62, 2048), or a zero, is an exact sum of two integers: a =
 * rint(x * 2^52), which is x * 2^52 itself when |x| >= 1, and for |x| < 1
 * the rest c = x * 2^114 - a * 2^62, an integer below 2^62 in magnitude,
 * computed without rounding (the fraction of a double is exact, and both
 * terms are powers of two times doubles).  So f sums a over every row, m
 * sums c over the rows below 1 (FORM_NARROW: a negative one of -1 or less
 * only adds 0), z counts the -0.0 (a sum of only those is -0.0), and t is
 * 4097.  FORM_WIDE takes |x| up to 2^63 as well: a as the sum of two
 * integers, trunc(x) * 2^52 (integral, so its int8 cast does not round)
 * and rint(d * 2^52) of the fraction d = x - trunc(x) (exact in floating
 * point), which is d * 2^52 itself when |x| >= 1 (the least bit of x is at
 * least 2^-52) and a itself when |x| < 1 (d = x); f is their sum over
 * every row (numeric), cast to numeric(37,0) (below the 2^126 the
 * aggregator takes).  It costs some 13% more per row than FORM_NARROW (a
 * second int8 sum, two truncs, a cast), so it comes second.  A value
 * outside is an error rather than a wrong sum: the cast of x * 2^52
 * (FORM_NARROW) or of trunc(x) (FORM_WIDE) to int8 fails from 2048 or 2^63
 * on (and for NaN and the infinities), the count's argument, x * 2^-1013,
 * underflows to zero below 2^-62, which PostgreSQL reports as an error
 * too, and so does FORM_WIDE's f past 10^37 (a group's sum past about
 * 2^70); pg_push_run() then runs the statement again in the next form.
 */
static int put_fsum_fast(struct buf *b, PGconn *conn, const PGresult *desc,
			 int col, enum push_form form)
{
	struct buf c = { 0 };
	int rc;

	if (put_col(&c, conn, desc, col, false) < 0 || buf_add(&c, "", 1) < 0)
		rc = -1;
	else if (form == FORM_WIDE)
		rc = buf_printf(b, ", (sum(trunc(%s)::int8) * 4503599627370496"
				" + sum(((%s - trunc(%s)) * 4503599627370496::"
				"float8)::int8))::numeric(37,0)", c.p, c.p, c.p);
	else
		rc = buf_printf(b, ", sum((%s * 4503599627370496::float8)"
				"::int8)", c.p);
	if (rc >= 0)
		rc = buf_printf(b, ", 4097, sum((%s * 2.076918743413931e+34::"
				"float8 - (%s * 4503599627370496::float8)::int8"
				"::float8 * 4611686018427387904::float8)::int8)"
				" FILTER (WHERE %s < 1%s%s%s), count(*) FILTER "
				"(WHERE %s = 0 AND float8send(%s) = decode("
				"'8000000000000000', 'hex'))", c.p, c.p, c.p,
				form == FORM_WIDE ? " AND " : "",
				form == FORM_WIDE ? (const char *)c.p : "",
				form == FORM_WIDE ? " > -1" : "", c.p, c.p);
	buf_free(&c);
	return rc;
}

/*
 * The same four columns in the form that takes any double: as the
 * statement gives them and fix_fsum() turns them into the wire's.  A
 * double between 1 and 2048 in magnitude times 2^52 is an integer below
 * 2^63 (cheap: a multiply and a cast); any other is taken apart by its
 * bits (float8send, read as an int8), its 52-bit fraction kept and its
 * sign and exponent (the top 12 bits) the key, 4096 for the first kind.
 * So one sum of one expression serves both (the groups part them), and
 * PostgreSQL computes the range test once for the key and once for the
 * sum: each use of an expression is evaluated anew, and the test is most
 * of the cost per row.  Zeros get a key of their own (the exponent's less
 * 8192: only rows outside the range test for it), which tells them from
 * subnormals; and the exponent 2047 says NaN or an infinity, so the float
 * column needs no guard.  The fourth column is a placeholder.  Every sum
 * is of int8s, exact in numeric.
 */
static int put_fsum(struct buf *b, PGconn *conn, const PGresult *desc,
		    int col)
{
	struct buf c = { 0 }, in = { 0 }, bits = { 0 }, sum = { 0 };
	int rc;

	if (put_col(&c, conn, desc, col, false) < 0 || buf_add(&c, "", 1) < 0 ||
	    buf_printf(&in, "abs(%s) >= 1 AND abs(%s) < 2048", c.p, c.p) < 0 ||
	    buf_add(&in, "", 1) < 0 ||
	    buf_printf(&bits, "('x' || encode(float8send(%s), 'hex'))"
		       "::bit(64)::int8", c.p) < 0 || buf_add(&bits, "", 1) < 0 ||
	    buf_printf(&sum, "sum(CASE WHEN %s THEN (%s * 4503599627370496::"
		       "float8)::int8 ELSE %s & 4503599627370495 END)", in.p,
		       c.p, bits.p) < 0 || buf_add(&sum, "", 1) < 0)
		rc = -1;
	else
		rc = buf_printf(b, ", %s, CASE WHEN %s THEN 4096 WHEN %s = 0 "
				"THEN (%s >> 52) - 8192 ELSE %s >> 52 END, %s, 1",
				sum.p, in.p, c.p, bits.p, bits.p, sum.p);
	buf_free(&c);
	buf_free(&in);
	buf_free(&sum);
	buf_free(&bits);
	return rc;
}

/* Whether field i is summed as floats (its NaN show in the sum's key). */
static bool fsum_field(const struct cfg *cfg, int i)
{
	for (int k = 0; k < cfg->naggs; k++)
		if (cfg->aggs[k].field == i && push_has_value(&cfg->aggs[k]) &&
		    push_is_fsum(cfg, &cfg->aggs[k]))
			return true;
	return false;
}

/*
 * The statement; its float sums as put_fsum_fast() in FORM_NARROW and
 * FORM_WIDE, else as put_fsum() (more groups: each key's by exponent).
 */
static char *push_sql(const struct cfg *cfg, PGconn *conn,
		      const PGresult *desc, const int *map, const char *body,
		      enum push_form form, char **what)
{
	bool fast = form != FORM_EXP;
	struct buf b = { 0 }, w = { 0 };
	bool bad = false, guard = false;
	int nk = cfg->ngroup_by, ord = 0, ng = 0;
	int *gcols = calloc((size_t)(nk + cfg->naggs) + 1, sizeof *gcols);

	bad |= gcols == NULL;
	bad |= buf_printf(&b, "SELECT ") < 0;
	bad |= buf_printf(&w, "GROUP BY ") < 0;
	for (int i = 0; !bad && i < nk; i++) {
		const struct rec_field *f = &cfg->schema.fields[cfg->group_by[i]];

		bad |= (i ? buf_printf(&b, ", ") : 0) < 0;
		bad |= put_col(&b, conn, desc, map[cfg->group_by[i]],
			       f->type == REC_TEXT) < 0;
		bad |= buf_printf(&w, "%s%s", i ? ", " : "", f->name) < 0;
		gcols[ng++] = ++ord;
	}
	if (nk == 0)
		bad |= buf_printf(&w, "()") < 0;
	bad |= buf_printf(&w, " (") < 0;
	for (int i = 0; !bad && i < cfg->naggs; i++) {
		const struct cfg_agg *a = &cfg->aggs[i];
		bool text = a->field >= 0 &&
			    cfg->schema.fields[a->field].type == REC_TEXT;

		bad |= buf_printf(&b, "%s", nk || i ? ", " : "") < 0;
		if (a->kind == CFG_AGG_COUNT_STAR) {
			bad |= buf_printf(&b, "count(*)") < 0;
			bad |= buf_printf(&w, "%scount", i ? ", " : "") < 0;
			ord++;
			continue;
		}
		bad |= buf_printf(&b, "count(") < 0;
		bad |= put_col(&b, conn, desc, map[a->field], false) < 0;
		/* The fast float sum's check of the least magnitude. */
		if (fast && push_has_value(a) && push_is_fsum(cfg, a))
			bad |= buf_printf(&b, " * 1.1392378155556871e-305::"
					  "float8") < 0;
		bad |= buf_printf(&b, ")") < 0;
		ord++;
		if (!push_has_value(a)) {
			bad |= buf_printf(&w, "%scount(%s)", i ? ", " : "",
					  cfg->schema.fields[a->field].name) < 0;
			continue;
		}
		if (push_is_fsum(cfg, a) && fast) {
			bad |= put_fsum_fast(&b, conn, desc, map[a->field],
					     form) < 0;
			ord += 4;
		} else if (push_is_fsum(cfg, a)) {
			bad |= put_fsum(&b, conn, desc, map[a->field]) < 0;
			gcols[ng++] = ord + 2;
			ord += 4;
		} else {
			bad |= buf_printf(&b, ", %s(", agg_fn(a->kind)) < 0;
			bad |= put_col(&b, conn, desc, map[a->field],
				       text && a->kind != CFG_AGG_SUM) < 0;
			bad |= buf_printf(&b, ")") < 0;
			ord++;
		}
		bad |= buf_printf(&w, "%s%s(%s)", i ? ", " : "",
				  a->kind == CFG_AGG_AVG ? "avg"
							 : agg_fn(a->kind),
				  cfg->schema.fields[a->field].name) < 0;
	}
	bad |= buf_printf(&w, ")") < 0;
	/* The values that would have been rejects, counted per group. */
	for (int i = 0; !bad && i < cfg->schema.nfields; i++) {
		enum rec_type t = cfg->schema.fields[i].type;

		if (map[i] < 0 || (t != REC_FLOAT && t != REC_DECIMAL) ||
		    fsum_field(cfg, i))
			continue;
		bad |= buf_printf(&b, guard ? " OR " : ", count(*) FILTER "
				  "(WHERE ") < 0;
		bad |= put_col(&b, conn, desc, map[i], false) < 0;
		bad |= buf_printf(&b, t == REC_FLOAT ?
				  " IN ('NaN', 'Infinity', '-Infinity')" :
				  " = 'NaN'") < 0;
		guard = true;
	}
	bad |= buf_printf(&b, "%s\nFROM (\n%s\n) AS q", guard ? ")" : "",
			  body) < 0;
	if (ng > 0) {
		bad |= buf_printf(&b, "\nGROUP BY ") < 0;
		for (int i = 0; i < ng; i++)
			bad |= buf_printf(&b, "%s%d", i ? ", " : "", gcols[i]) < 0;
		bad |= buf_printf(&b, "\nORDER BY ") < 0;
		for (int i = 0; i < ng; i++)
			bad |= buf_printf(&b, "%s%d", i ? ", " : "", gcols[i]) < 0;
	} else {
		bad |= buf_printf(&b, "\nHAVING count(*) > 0") < 0;
	}
	bad |= buf_add(&b, "", 1) < 0;
	bad |= buf_add(&w, "", 1) < 0;
	free(gcols);
	if (bad || what == NULL) {
		buf_free(&w);
		if (bad)
			buf_free(&b);
	} else {
		*what = (char *)w.p;
	}
	return (char *)b.p;
}

char *pg_push_sql(const struct cfg *cfg, const struct cfg_provider *p,
		  PGconn *conn, const PGresult *desc, const int *map,
		  const char *body, char **what)
{
	(void)p;
	return push_sql(cfg, conn, desc, map, body, FORM_NARROW, what);
}

/* Value j of row i of res into v as wire field f.  0, or -1. */
static int get_value(const PGresult *res, int i, int j,
		     const struct rec_field *f, struct rec_value *v)
{
	const char *s = PQgetvalue(res, i, j);
	size_t len = (size_t)PQgetlength(res, i, j);
	__int128 x;

	v->null = PQgetisnull(res, i, j);
	if (v->null)
		return 0;
	switch (f->type) {
	case REC_INT:
		return conv_parse_int(s, len, &v->u.i);
	case REC_TEXT:
		v->u.s.p = s;
		v->u.s.len = (uint32_t)len;
		return 0;
	case REC_BOOL:
		v->u.b = len == 1 && s[0] == 't';
		return 0;
	case REC_DECIMAL:
		if (dec_parse(s, len, f->prec, f->scale, &x) != DEC_OK)
			return -1;
		rec_set_dec(v, x);
		return 0;
	default:
		return -1;
	}
}

/*
 * A float sum's n, f, t, m, z as put_fsum() gives them (n, the sum, its
 * key, the sum again, 1) into the wire's (pushdown.h): f only for the key
 * 4096, m for the others, z 0 for zeros; put_fsum_fast()'s (t 4097) as
 * they are, but all NULL when n is 0 and m 0 when no value was below 1.
 * 0, or the count of NaN or infinities (exponent 2047) the group holds.
 */
static int64_t fix_fsum(struct rec_value *w)
{
	int64_t t = w[2].u.i;

	if (!w[2].null && t == 4097) {
		if (w[0].null || w[0].u.i == 0) {
			w[1].null = w[2].null = w[3].null = w[4].null = true;
		} else if (w[3].null) {
			w[3].null = false;
			rec_set_dec(&w[3], 0);
		}
		return 0;
	}
	if (w[2].null) {
		w[1].null = w[3].null = w[4].null = true;
		return 0;
	}
	if (t == 4096) {
		w[3].null = w[4].null = true;
		return 0;
	}
	w[1].null = true;
	if (t < -4096) {
		w[2].u.i = t + 8192;
		w[4].u.i = 0;
		return 0;
	}
	return (t & 2047) == 2047 ? (w[0].null || w[0].u.i <= 0 ? 1 : w[0].u.i)
				  : 0;
}

/* Row i of res: a group record, or a failure. */
static enum prov_status one_group(struct pg_run *r, const PGresult *res,
				  int i, const struct push_plan *pp,
				  struct rec_value *w)
{
	struct prov_ctx *c = r->c;
	int nw = pp->wire.nfields;
	int64_t bad;

	if (PQnfields(res) > nw) {
		if (conv_parse_int(PQgetvalue(res, i, nw),
				   (size_t)PQgetlength(res, i, nw), &bad) < 0)
			bad = 1;
		if (bad != 0)
			return prov_fail(c, PROV_FAIL_PERMANENT,
					 "pushdown: %lld values are NaN or "
					 "infinite, which the fields do not "
					 "take; pushdown = false reads them "
					 "as rejects", (long long)bad);
	}
	for (int j = 0; j < nw; j++)
		if (get_value(res, i, j, &pp->wire.fields[j], &w[j]) < 0)
			return prov_fail(c, PROV_FAIL_PERMANENT,
					 "pushdown: group %llu: value %s "
					 "does not fit %s",
					 (unsigned long long)r->rows + 1,
					 PQgetvalue(res, i, j),
					 pp->wire.fields[j].name);
	for (int i = 0; i < c->cfg->naggs; i++)
		if (push_has_value(&c->cfg->aggs[i]) &&
		    push_is_fsum(c->cfg, &c->cfg->aggs[i]) &&
		    (bad = fix_fsum(&w[pp->col[i]])) != 0)
			return prov_fail(c, PROV_FAIL_PERMANENT,
					 "pushdown: %lld values are NaN or "
					 "infinite, which the fields do not "
					 "take; pushdown = false reads them "
					 "as rejects", (long long)bad);
	if (prov_emit_group(c, &pp->wire, w) < 0)
		return prov_failure(c);
	return PROV_DONE;
}

/* Whether cfg sums a float (its statement then has two forms). */
static bool has_fsum(const struct cfg *cfg)
{
	for (int i = 0; i < cfg->naggs; i++)
		if (push_has_value(&cfg->aggs[i]) &&
		    push_is_fsum(cfg, &cfg->aggs[i]))
			return true;
	return false;
}

/*
 * Row i of res, the *got-th group: dropped while *skip says a restart
 * counted it already, else a record and perhaps a checkpoint.
 */
static enum prov_status take_group(struct pg_run *r, const PGresult *res,
				   int i, const struct push_plan *pp,
				   struct rec_value *w, uint64_t *skip,
				   uint64_t *got)
{
	enum prov_status st;

	++*got;
	if (*skip > 0) {
		--*skip;
		return PROV_DONE;
	}
	if ((st = one_group(r, res, i, pp, w)) != PROV_DONE)
		return st;
	r->rows++;
	return prov_want_checkpoint(r->c) ? pg_checkpoint(r, false) : PROV_DONE;
}

/* How -v names the form the statement took. */
static const char *form_name(const struct cfg *cfg, enum push_form form)
{
	if (!has_fsum(cfg))
		return "by keys";
	return form == FORM_NARROW ? "by keys, floats as int8"
	       : form == FORM_WIDE ? "by keys, floats as int8 pairs"
				   : "by exponent";
}

/*
 * A form grouped by the keys (put_fsum_fast()), read whole before any
 * group goes out, so that a value it cannot take costs nothing but the
 * time: *again is then set and the transaction is back at the savepoint,
 * ready for the form next.
 */
static enum prov_status run_fast(struct pg_run *r, const char *sql,
				 enum push_form next,
				 const struct push_plan *pp,
				 struct rec_value *w, uint64_t *skip,
				 uint64_t *got, bool *again)
{
	struct prov_ctx *c = r->c;
	enum prov_status st = PROV_DONE;
	PGresult *res, *all = NULL;
	const char *state;
	char err[sizeof c->errbuf];

	*again = false;
	if (!PQsendQuery(r->conn, sql)) {
		st = pg_result_fail(r->conn, NULL, "pushdown", err, sizeof err);
		return prov_fail(c, st, "%s", err);
	}
	while ((res = pg_next_result(r->conn, c)) != NULL) {
		ExecStatusType es = PQresultStatus(res);

		if (st == PROV_DONE && !*again && all == NULL &&
		    es == PGRES_TUPLES_OK) {
			all = res;
			continue;
		}
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (st == PROV_DONE && !*again && es == PGRES_FATAL_ERROR &&
		    state && strcmp(state, "22003") == 0 &&
		    PQstatus(r->conn) == CONNECTION_OK) {
			log_event(LOG_DEBUG, r->p->name, "pushdown", "form",
				  form_name(c->cfg, next), "why",
				  PQresultErrorField(res,
						     PG_DIAG_MESSAGE_PRIMARY),
				  NULL);
			*again = true;
		} else if (st == PROV_DONE && !*again) {
			st = pg_result_fail(r->conn, res, "pushdown", err,
					    sizeof err);
			prov_fail(c, st, "%s", err);
		}
		PQclear(res);
	}
	if (st == PROV_DONE && *again) {
		if (pg_run_sql(r->conn, c, next == FORM_EXP ? "ROLLBACK TO "
			       "SAVEPOINT push; SET LOCAL enable_sort = off" :
			       "ROLLBACK TO SAVEPOINT push", PGRES_COMMAND_OK,
			       NULL, "pushdown", &st, err, sizeof err) < 0)
			prov_fail(c, st, "%s", err);
	} else if (st == PROV_DONE && all == NULL) {
		st = prov_fail(c, PROV_FAIL_RETRY, "pushdown: no result");
	}
	for (int i = 0; st == PROV_DONE && all && i < PQntuples(all); i++)
		st = take_group(r, all, i, pp, w, skip, got);
	PQclear(all);
	return st;
}

enum prov_status pg_push_run(struct pg_run *r, const PGresult *desc)
{
	struct prov_ctx *c = r->c;
	const struct cfg *cfg = c->cfg;
	struct push_plan pp = { 0 };
	enum prov_status st = PROV_DONE;
	struct rec_value *w = NULL;
	uint64_t skip = r->rows, got = 0;
	bool fast = has_fsum(cfg), again = false;
	enum push_form form = fast ? FORM_NARROW : FORM_EXP;
	char *sql = NULL, num[32], setup[96], err[sizeof c->errbuf];
	PGresult *res;

	if (push_plan_make(cfg, &pp) < 0 ||
	    (w = calloc((size_t)pp.wire.nfields + 1, sizeof *w)) == NULL) {
		push_plan_free(&pp);
		return prov_fail(c, PROV_FAIL_RETRY, "out of memory");
	}
	/*
	 * The statement's many expressions push its cost past jit_above_cost,
	 * and compiling them takes longer than running them on all but huge
	 * tables.  The savepoint is where the fast form's failure returns.
	 */
	snprintf(setup, sizeof setup, "SET work_mem = '64MB'%s%s",
		 PQserverVersion(r->conn) >= 110000 ? "; SET jit = off" : "",
		 fast ? "; SAVEPOINT push" : "");
	if (pg_run_sql(r->conn, c, setup, PGRES_COMMAND_OK, NULL, "pushdown",
		       &st, err, sizeof err) < 0) {
		prov_fail(c, st, "%s", err);
		goto out;
	}
	/* The narrow form first: the wide one costs more per row. */
	for (; form != FORM_EXP; form++) {
		sql = push_sql(cfg, r->conn, desc, r->map, r->body, form, NULL);
		if (sql == NULL) {
			st = prov_fail(c, PROV_FAIL_RETRY, "out of memory");
			goto out;
		}
		log_event(LOG_DEBUG, r->p->name, "pushdown", "sql", sql, NULL);
		st = run_fast(r, sql, form + 1, &pp, w, &skip, &got, &again);
		if (st != PROV_DONE || !again)
			goto done;
		free(sql);
		sql = NULL;
	}
	/*
	 * Any double, grouped by exponent too: the planner takes the groups
	 * for the keys' times the exponents' and would sort every row (past
	 * work_mem, on disk) rather than hash the few there are.
	 */
	sql = push_sql(cfg, r->conn, desc, r->map, r->body, FORM_EXP, NULL);
	if (sql == NULL) {
		st = prov_fail(c, PROV_FAIL_RETRY, "out of memory");
		goto out;
	}
	log_event(LOG_DEBUG, r->p->name, "pushdown", "sql", sql, NULL);
	if (!PQsendQuery(r->conn, sql) || !PQsetSingleRowMode(r->conn)) {
		st = pg_result_fail(r->conn, NULL, "pushdown", err,
				    sizeof err);
		prov_fail(c, st, "%s", err);
		goto out;
	}
	while ((res = pg_next_result(r->conn, c)) != NULL) {
		ExecStatusType es = PQresultStatus(res);

		if (st == PROV_DONE && es == PGRES_SINGLE_TUPLE) {
			st = take_group(r, res, 0, &pp, w, &skip, &got);
		} else if (st == PROV_DONE && es != PGRES_TUPLES_OK) {
			st = pg_result_fail(r->conn, res, "pushdown", err,
					    sizeof err);
			prov_fail(c, st, "%s", err);
		}
		PQclear(res);
	}
done:
	if (st == PROV_DONE && skip > 0)
		st = prov_fail(c, PROV_FAIL_PERMANENT, "pushdown: fewer groups "
			       "than counted before the restart");
	snprintf(num, sizeof num, "%llu", (unsigned long long)got);
	log_event(LOG_DEBUG, r->p->name, "pushdown done", "groups", num,
		  "form", form_name(cfg, form), NULL);
out:
	free(w);
	free(sql);
	push_plan_free(&pp);
	return st;
}
