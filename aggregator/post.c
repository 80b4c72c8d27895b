/*
 * post.c - having, order_by and limit over the result rows (post.h).
 *
 * Rows are kept back to back, ncols values each, in a growing array; the
 * order is an array of row numbers sorted with the row number as the last
 * key, which makes qsort stable and the output independent of anything
 * but the rows themselves.
 */
#include "post.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/expr.h"
#include "../common/arena.h"

struct post {
	const struct cfg *cfg;
	int ncols;
	enum rec_type *types;
	struct rec_value *rows;  /* n * ncols */
	size_t n, cap;
	struct arena text;       /* copied text */
	struct expr_frame *frame;
};

bool post_wanted(const struct cfg *cfg)
{
	return cfg->norder_by > 0 || cfg->limit_set || cfg->having_prog;
}

struct post *post_new(const struct cfg *cfg, const struct out_col *cols,
		      int ncols)
{
	struct post *p = calloc(1, sizeof(*p));
	int i;

	if (p == NULL)
		return NULL;
	p->cfg = cfg;
	p->ncols = ncols;
	p->types = calloc((size_t)(ncols ? ncols : 1), sizeof(*p->types));
	if (p->types == NULL)
		goto fail;
	for (i = 0; i < ncols; i++)
		p->types[i] = cols[i].type;
	if (cfg->having_prog) {
		p->frame = expr_frame_new(cfg->having_prog);
		if (p->frame == NULL)
			goto fail;
	}
	return p;

fail:
	post_free(p);
	return NULL;
}

bool post_full(const struct post *p)
{
	return p->cfg->norder_by == 0 && p->cfg->limit_set &&
	       p->n >= (uint64_t)p->cfg->limit;
}

int post_add(struct post *p, const struct rec_value *row, bool copy,
	     char *err, size_t errlen)
{
	struct rec_value *r;
	int i;

	if (p->frame) {
		struct rec_value keep;

		if (expr_eval(p->cfg->having_prog, row, p->frame, &keep, err,
			      errlen) < 0)
			return 1;
		if (keep.null || !keep.u.b)
			return 0;
	}
	if (post_full(p))
		return 0;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct rec_value *nr = realloc(p->rows, sizeof(*nr) * cap *
						(size_t)(p->ncols ? p->ncols : 1));

		if (nr == NULL)
			goto nomem;
		p->rows = nr;
		p->cap = cap;
	}
	r = p->rows + p->n * (size_t)p->ncols;
	memcpy(r, row, sizeof(*r) * (size_t)p->ncols);
	for (i = 0; copy && i < p->ncols; i++) {
		char *t;

		if (p->types[i] != REC_TEXT || r[i].null || r[i].u.s.len == 0)
			continue;
		t = arena_alloc(&p->text, r[i].u.s.len, 1);
		if (t == NULL)
			goto nomem;
		memcpy(t, r[i].u.s.p, r[i].u.s.len);
		r[i].u.s.p = t;
	}
	p->n++;
	return 0;

nomem:
	snprintf(err, errlen, "out of memory keeping the rows to sort");
	return -1;
}

/* qsort_r order: order_by's terms, then the row number. */
static int row_cmp(const void *pa, const void *pb, void *arg)
{
	const struct post *p = arg;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	const struct rec_value *ra = p->rows + a * (size_t)p->ncols;
	const struct rec_value *rb = p->rows + b * (size_t)p->ncols;
	int j;

	for (j = 0; j < p->cfg->norder_by; j++) {
		const struct cfg_order *o = &p->cfg->order_by[j];
		const struct rec_value *x = &ra[o->col], *y = &rb[o->col];
		int c;

		if (x->null || y->null) {
			if (x->null && y->null)
				continue;
			c = x->null ? 1 : -1; /* NULL last ... */
			return o->nulls_first ? -c : c;
		}
		c = rec_value_cmp(p->types[o->col], x, y);
		if (c != 0)
			return o->desc ? -c : c;
	}
	return a < b ? -1 : a > b;
}

int post_write(struct post *p, struct out_writer *w, uint64_t *rows,
	       char *err, size_t errlen)
{
	size_t *order = malloc(sizeof(*order) * (p->n ? p->n : 1));
	size_t n = p->n, i;

	if (order == NULL) {
		snprintf(err, errlen, "out of memory sorting the rows");
		return -1;
	}
	for (i = 0; i < n; i++)
		order[i] = i;
	if (p->cfg->norder_by > 0)
		qsort_r(order, n, sizeof(*order), row_cmp, p);
	if (p->cfg->limit_set && (uint64_t)p->cfg->limit < n)
		n = (size_t)p->cfg->limit;
	for (i = 0; i < n; i++) {
		if (out_row(w, p->rows + order[i] * (size_t)p->ncols, err,
			    errlen) < 0) {
			free(order);
			return -1;
		}
		(*rows)++;
	}
	free(order);
	return 0;
}

void post_free(struct post *p)
{
	if (p == NULL)
		return;
	expr_frame_free(p->frame);
	arena_free(&p->text);
	free(p->rows);
	free(p->types);
	free(p);
}
