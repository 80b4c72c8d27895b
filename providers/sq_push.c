/*
 * sq_push.c - the sqlite provider's aggregate pushdown (sq_push.h).
 */
#include "sq_push.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../common/buf.h"
#include "../common/convert.h"
#include "../common/log.h"
#include "../common/pushdown.h"
#include "sq_db.h"
#include "sq_resume.h"
#include "sql_conf.h"
#include "sqlmap.h"

bool sq_push_ok(const struct sq_run *r, char *why, size_t whylen)
{
	const struct cfg *cfg = r->c->cfg;
	int pi = (int)(r->p - cfg->providers);

	if (!sql_conf(r->p)->pushdown) {
		snprintf(why, whylen, "pushdown = false");
		return false;
	}
	if (!push_allowed(cfg, pi, why, whylen))
		return false;
	for (int i = 0; i < cfg->schema.nfields; i++) {
		const struct rec_field *f = &cfg->schema.fields[i];

		if (r->map[i] >= 0 && f->type != REC_INT &&
		    f->type != REC_TEXT) {
			snprintf(why, whylen, "sqlite: %s field %s",
				 rec_type_name(f->type), f->name);
			return false;
		}
	}
	for (int i = 0; i < cfg->ngroup_by; i++)
		if (r->map[cfg->group_by[i]] < 0) {
			snprintf(why, whylen, "group_by %s has no column",
				 cfg->schema.fields[cfg->group_by[i]].name);
			return false;
		}
	for (int i = 0; i < cfg->naggs; i++) {
		const struct cfg_agg *a = &cfg->aggs[i];

		if (a->field >= 0 && r->map[a->field] < 0) {
			snprintf(why, whylen, "%s has no column", a->name);
			return false;
		}
		if ((a->kind == CFG_AGG_SUM || a->kind == CFG_AGG_AVG) &&
		    cfg->schema.fields[a->field].type != REC_INT) {
			snprintf(why, whylen, "sqlite: %s of a text field",
				 a->name);
			return false;
		}
	}
	return true;
}

static const char *kind_name(enum cfg_agg_kind k)
{
	switch (k) {
	case CFG_AGG_SUM:
		return "sum";
	case CFG_AGG_AVG:
		return "avg";
	case CFG_AGG_MIN:
		return "min";
	default:
		return "max";
	}
}

char *sq_push_what(const struct cfg *cfg)
{
	struct buf w = { 0 };
	bool bad = buf_printf(&w, "GROUP BY ") < 0;

	for (int i = 0; i < cfg->ngroup_by; i++)
		bad |= buf_printf(&w, "%s%s", i ? ", " : "",
			cfg->schema.fields[cfg->group_by[i]].name) < 0;
	bad |= buf_printf(&w, "%s (", cfg->ngroup_by ? "" : "()") < 0;
	for (int i = 0; i < cfg->naggs; i++) {
		const struct cfg_agg *a = &cfg->aggs[i];
		const char *sep = i ? ", " : "";

		if (a->kind == CFG_AGG_COUNT_STAR)
			bad |= buf_printf(&w, "%scount", sep) < 0;
		else
			bad |= buf_printf(&w, "%s%s(%s)", sep,
				a->kind == CFG_AGG_COUNT ? "count" :
				kind_name(a->kind),
				cfg->schema.fields[a->field].name) < 0;
	}
	bad |= buf_printf(&w, ")") < 0;
	bad |= buf_add(&w, "", 1) < 0;
	if (bad) {
		buf_free(&w);
		return NULL;
	}
	return (char *)w.p;
}

/* A column of the query as q."name" (the query's own spelling). */
static int put_col(struct buf *b, const struct sq_run *r, int col,
		   const char *after)
{
	char *id = sq_quote_ident(sqlite3_column_name(r->st, col));
	int rc;

	if (id == NULL)
		return -1;
	rc = buf_printf(b, "q.%s%s", id, after);
	free(id);
	return rc;
}

/*
 * aggregate_bad(x, t): 1 when x is not NULL and not what a pulled row
 * would give as it is: t 1, an INTEGER; t 2, TEXT of valid UTF-8 without
 * a NUL byte.
 */
static void fn_bad(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int type = sqlite3_value_type(argv[0]);
	int t = sqlite3_value_int(argv[1]);
	const unsigned char *s;
	int n;

	(void)argc;
	if (type == SQLITE_NULL) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	if (t == 1) {
		sqlite3_result_int(ctx, type != SQLITE_INTEGER);
		return;
	}
	if (type != SQLITE_TEXT) {
		sqlite3_result_int(ctx, 1);
		return;
	}
	s = sqlite3_value_text(argv[0]);
	n = sqlite3_value_bytes(argv[0]);
	sqlite3_result_int(ctx, s == NULL || memchr(s, 0, (size_t)n) != NULL ||
				!conv_utf8_valid((const char *)s, (size_t)n));
}

/* The check (which == 0) or the grouped statement (1); NULL: no memory. */
static char *statement(const struct sq_run *r, const char *body, int which)
{
	const struct cfg *cfg = r->c->cfg;
	struct buf b = { 0 };
	bool bad = false, any = false;
	int nk = cfg->ngroup_by;

	if (which == 0) {
		bad |= buf_printf(&b, "SELECT 1 FROM (\n%s\n) AS q WHERE ",
				  body) < 0;
		for (int i = 0; i < cfg->schema.nfields; i++) {
			if (r->map[i] < 0)
				continue;
			bad |= buf_printf(&b, "%saggregate_bad(", any ? " OR "
					  : "") < 0;
			bad |= put_col(&b, r, r->map[i], "") < 0;
			bad |= buf_printf(&b, ", %d)",
				cfg->schema.fields[i].type == REC_INT ? 1 : 2) < 0;
			any = true;
		}
		bad |= buf_printf(&b, "%s LIMIT 1", any ? "" : "0") < 0;
		goto out;
	}
	bad |= buf_printf(&b, "SELECT ") < 0;
	for (int i = 0; i < nk; i++) {
		bad |= buf_printf(&b, "%s", i ? ", " : "") < 0;
		bad |= put_col(&b, r, r->map[cfg->group_by[i]],
			       " COLLATE BINARY") < 0;
	}
	for (int i = 0; i < cfg->naggs; i++) {
		const struct cfg_agg *a = &cfg->aggs[i];

		bad |= buf_printf(&b, "%s", nk || i ? ", " : "") < 0;
		if (a->kind == CFG_AGG_COUNT_STAR) {
			bad |= buf_printf(&b, "count(*)") < 0;
			continue;
		}
		bad |= buf_printf(&b, "count(") < 0;
		bad |= put_col(&b, r, r->map[a->field], ")") < 0;
		if (!push_has_value(a))
			continue;
		if (a->kind == CFG_AGG_SUM || a->kind == CFG_AGG_AVG) {
			bad |= buf_printf(&b, ", sum(") < 0;
			bad |= put_col(&b, r, r->map[a->field], " >> 32)") < 0;
			bad |= buf_printf(&b, ", sum(") < 0;
			bad |= put_col(&b, r, r->map[a->field],
				       " & 4294967295)") < 0;
		} else {
			bad |= buf_printf(&b, ", %s(", kind_name(a->kind)) < 0;
			bad |= put_col(&b, r, r->map[a->field],
				       " COLLATE BINARY)") < 0;
		}
	}
	bad |= buf_printf(&b, "\nFROM (\n%s\n) AS q", body) < 0;
	if (nk > 0) {
		bad |= buf_printf(&b, "\nGROUP BY ") < 0;
		for (int i = 0; i < nk; i++)
			bad |= buf_printf(&b, "%s%d", i ? ", " : "", i + 1) < 0;
		bad |= buf_printf(&b, "\nORDER BY ") < 0;
		for (int i = 0; i < nk; i++)
			bad |= buf_printf(&b, "%s%d", i ? ", " : "", i + 1) < 0;
	} else {
		bad |= buf_printf(&b, "\nHAVING count(*) > 0") < 0;
	}
out:
	bad |= buf_add(&b, "", 1) < 0;
	if (bad) {
		buf_free(&b);
		return NULL;
	}
	return (char *)b.p;
}

/* Column j of the row into wire field f (not for sums). */
static void get_value(sqlite3_stmt *st, int j, const struct rec_field *f,
		      struct rec_value *v)
{
	v->null = sqlite3_column_type(st, j) == SQLITE_NULL;
	if (v->null)
		return;
	if (f->type == REC_TEXT) {
		v->u.s.p = (const char *)sqlite3_column_text(st, j);
		v->u.s.len = (uint32_t)sqlite3_column_bytes(st, j);
	} else {
		v->u.i = sqlite3_column_int64(st, j);
	}
}

/* One row of the grouped statement into w, the group record's values. */
static void one_group(sqlite3_stmt *st, const struct cfg *cfg,
		      const struct push_plan *pp, struct rec_value *w)
{
	int j = 0, k = 0;

	for (; k < pp->nkeys; k++)
		get_value(st, j++, &pp->wire.fields[k], &w[k]);
	for (int i = 0; i < cfg->naggs; i++) {
		const struct cfg_agg *a = &cfg->aggs[i];

		get_value(st, j++, &pp->wire.fields[k], &w[k]);
		k++;
		if (!push_has_value(a))
			continue;
		if (a->kind == CFG_AGG_SUM || a->kind == CFG_AGG_AVG) {
			__int128 hi = sqlite3_column_int64(st, j++);
			__int128 lo = sqlite3_column_int64(st, j++);

			w[k].null = w[k - 1].u.i == 0;
			rec_set_dec(&w[k], hi * ((__int128)1 << 32) + lo);
		} else {
			get_value(st, j++, &pp->wire.fields[k], &w[k]);
		}
		k++;
	}
}

/* Run sql in r's connection: no rows wanted. */
static enum prov_status exec(struct sq_run *r, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(r->db, sql, NULL, NULL, &msg);

	if (rc == SQLITE_OK)
		return PROV_DONE;
	prov_fail(r->c, sq_status(rc), "%s: %s", r->path,
		  msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return r->c->fail_status;
}

/* Step st to its end: each row a group after the first r->rows. */
static enum prov_status groups(struct sq_run *r, sqlite3_stmt *st)
{
	struct prov_ctx *c = r->c;
	struct push_plan pp = { 0 };
	struct rec_value *w = NULL;
	enum prov_status ret = PROV_DONE;
	uint64_t skip = r->rows, got = 0;
	char num[32];
	int rc;

	if (push_plan_make(c->cfg, &pp) < 0 ||
	    (w = calloc((size_t)pp.wire.nfields + 1, sizeof *w)) == NULL) {
		push_plan_free(&pp);
		return prov_fail(c, PROV_FAIL_RETRY, "out of memory");
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		got++;
		if (skip > 0) {
			skip--;
			continue;
		}
		one_group(st, c->cfg, &pp, w);
		if (prov_emit_group(c, &pp.wire, w) < 0) {
			ret = prov_failure(c);
			goto out;
		}
		r->rows++;
		if (prov_want_checkpoint(c) &&
		    (ret = sq_checkpoint(r, false)) != PROV_DONE)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		ret = prov_fail(c, sq_status(rc), "%s: pushdown: %s", r->path,
				sqlite3_errmsg(r->db));
		goto out;
	}
	if (skip > 0) {
		ret = prov_fail(c, PROV_FAIL_PERMANENT, "pushdown: fewer "
				"groups than counted before the restart");
		goto out;
	}
	snprintf(num, sizeof num, "%llu", (unsigned long long)got);
	log_event(LOG_DEBUG, r->p->name, "pushdown done", "groups", num, NULL);
	ret = sq_checkpoint(r, true);
out:
	free(w);
	push_plan_free(&pp);
	return ret;
}

enum prov_status sq_push_run(struct sq_run *r, bool *pushed)
{
	struct prov_ctx *c = r->c;
	char *body = sqlmap_query_body(sql_conf(r->p)->query);
	char *check = NULL, *sql = NULL;
	sqlite3_stmt *st = NULL;
	enum prov_status ret;
	int rc;

	*pushed = false;
	if (body == NULL || (check = statement(r, body, 0)) == NULL ||
	    (sql = statement(r, body, 1)) == NULL) {
		ret = prov_fail(c, PROV_FAIL_RETRY, "out of memory");
		goto out;
	}
	rc = sqlite3_create_function_v2(r->db, "aggregate_bad", 2,
					SQLITE_UTF8 | SQLITE_DETERMINISTIC,
					NULL, fn_bad, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		ret = prov_fail(c, PROV_FAIL_RETRY, "%s", sqlite3_errstr(rc));
		goto out;
	}
	if ((ret = exec(r, "BEGIN")) != PROV_DONE)
		goto out;
	/* One snapshot for the check and the groups. */
	rc = sq_prepare(r->db, r->path, check, &st, c->errbuf,
			sizeof c->errbuf);
	if (rc != SQLITE_OK) {
		ret = prov_fail(c, sq_status(rc), "%s", c->errbuf);
		goto out_end;
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SQLITE_ROW) {
		log_event(LOG_DEBUG, r->p->name, "pushdown", "pushed", "no",
			  "reason", "a value would convert or be a reject",
			  NULL);
		ret = PROV_DONE;
		goto out_end;
	}
	if (rc != SQLITE_DONE) {
		ret = prov_fail(c, sq_status(rc), "%s: %s", r->path,
				sqlite3_errmsg(r->db));
		goto out_end;
	}
	log_event(LOG_DEBUG, r->p->name, "pushdown", "sql", sql, NULL);
	rc = sq_prepare(r->db, r->path, sql, &st, c->errbuf, sizeof c->errbuf);
	if (rc != SQLITE_OK) {
		ret = prov_fail(c, sq_status(rc), "%s", c->errbuf);
		goto out_end;
	}
	*pushed = true;
	r->push = true;
	ret = groups(r, st);
	sqlite3_finalize(st);
out_end:
	if (exec(r, "COMMIT") != PROV_DONE && ret == PROV_DONE)
		ret = c->fail_status;
out:
	free(sql);
	free(check);
	free(body);
	return ret;
}
