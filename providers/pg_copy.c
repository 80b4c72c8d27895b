/*
 * pg_copy.c - the rows of a postgres attempt: `COPY (query) TO STDOUT`,
 * which against single-row mode costs the client about half the CPU for
 * the same rows (no PGresult per row), read message by message into
 * records and rejects (pg_copy.h).
 *
 * The session asks for DateStyle ISO and exact floats so that text reads
 * back as the same value.  Two formats, chosen per attempt from the
 * query's description (pg_choose):
 *   - binary (`(FORMAT binary)`, read by pgbin.c) when every column a
 *     field or the key reads has a type whose binary value gives exactly
 *     what conv_text() gives for the server's text: int2/4/8, float8 (into
 *     float only), bool, text/varchar/bpchar/name, date, timestamp,
 *     timestamptz (in a UTC session only) and numeric.  It spares the
 *     server its float and date formatting, the largest cost of a big
 *     transfer.  Values convert directly where that is provably the same
 *     value, else they are written as the server's text (so rejects, keys
 *     and their reasons are the text path's) and go through conv_text().
 *     Columns nobody reads are skipped by length, whatever their type, as
 *     long as the server can send them in binary (pg_type is asked).
 *   - text otherwise (float4, float8 into text or int, intervals, ...):
 *     parsed here (tab-separated, \N for NULL, backslash escapes), every
 *     value typed by conv_text().
 * Test builds take the text path when AGG_PG_COPY=text.  The choice is
 * logged at debug level.
 *
 * This is the provider's hot path: everything a row goes through
 * (pg_message, pg_row, the splits, the key) is here, static, so that it
 * stays inlined; the conversions are pgbin.c's and convert.c's.
 */
#include "pg_copy.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/convert.h"
#include "../common/log.h"
#include "pg_conn.h"
#include "pg_resume.h"
#include "sql_conf.h"
#include "sqlmap.h"

/* --- rows ------------------------------------------------------------ */

/* Undo COPY text escapes in place; returns the new length. */
static size_t pg_unescape(char *s, size_t len)
{
	size_t in = 0, out = 0;

	if (memchr(s, '\\', len) == NULL)
		return len;
	while (in < len) {
		char ch = s[in++];

		if (ch != '\\' || in == len) {
			s[out++] = ch;
			continue;
		}
		ch = s[in++];
		switch (ch) {
		case 'b': s[out++] = '\b'; break;
		case 'f': s[out++] = '\f'; break;
		case 'n': s[out++] = '\n'; break;
		case 'r': s[out++] = '\r'; break;
		case 't': s[out++] = '\t'; break;
		case 'v': s[out++] = '\v'; break;
		case 'x': {
			int v = 0, n = 0;

			while (n < 2 && in < len &&
			       strchr("0123456789abcdefABCDEF", s[in]) && s[in]) {
				char h = s[in++];

				v = v * 16 + (h <= '9' ? h - '0'
					      : (h | 0x20) - 'a' + 10);
				n++;
			}
			s[out++] = n ? (char)v : 'x';
			break;
		}
		default:
			if (ch >= '0' && ch <= '7') {
				int v = ch - '0', n = 1;

				while (n < 3 && in < len && s[in] >= '0' &&
				       s[in] <= '7') {
					v = v * 8 + (s[in++] - '0');
					n++;
				}
				s[out++] = (char)v;
			} else {
				s[out++] = ch;
			}
		}
	}
	return out;
}

/*
 * Split one COPY row (buf[0..n), ending in a newline) into r->col.
 * Returns 0, or -1 if it does not have ncols columns.
 */
static int pg_split(struct pg_run *r, char *buf, size_t n)
{
	char *p = buf, *end;
	int j = 0;

	if (n > 0 && buf[n - 1] == '\n')
		n--;
	end = buf + n;
	if (r->ncols == 0)
		return n == 0 ? 0 : -1;
	for (;;) {
		char *tab = memchr(p, '\t', (size_t)(end - p));
		char *fe = tab ? tab : end;

		if (j == r->ncols)
			return -1;
		r->col_null[j] = fe - p == 2 && p[0] == '\\' && p[1] == 'N';
		r->col[j] = p;
		r->col_len[j] = r->used[j] && !r->col_null[j]
			? pg_unescape(p, (size_t)(fe - p)) : (size_t)(fe - p);
		j++;
		if (tab == NULL)
			break;
		p = tab + 1;
	}
	return j == r->ncols ? 0 : -1;
}

/*
 * Split one binary COPY tuple (buf[0..n), the header already taken off)
 * into r->bval / r->blen, checking every used value.  0, or -1 if the
 * tuple is malformed.
 */
static int pg_bin_split(struct pg_run *r, char *buf, size_t n)
{
	if (pgbin_tuple((const unsigned char *)buf, n, r->ncols, r->bval,
			r->blen) != 0)
		return -1;
	for (int j = 0; j < r->ncols; j++) {
		r->col_null[j] = r->bval[j] == NULL;
		if (r->used[j] && !r->col_null[j] &&
		    pgbin_check(r->kind[j], r->bval[j], r->blen[j]) < 0)
			return -1;
	}
	return 0;
}

/*
 * Make r->col[j] column j's text, as the text format would have sent it
 * (for a key, a reject, or a type read through its text).  0, or -1 when
 * out of memory.
 */
static int pg_bin_text(struct pg_run *r, int j)
{
	const unsigned char *p = r->bval[j];
	size_t len = r->blen[j], need;

	if (r->kind[j] == PGBIN_TEXT) {
		r->col[j] = (const char *)p;
		r->col_len[j] = len;
		return 0;
	}
	need = pgbin_text_size(r->kind[j], p, len);
	if (need > r->tcap[j]) {
		char *b = realloc(r->tbuf[j], need);

		if (b == NULL)
			return -1;
		r->tbuf[j] = b;
		r->tcap[j] = need;
	}
	r->col_len[j] = pgbin_text(r->kind[j], p, len, r->tbuf[j]);
	r->col[j] = r->tbuf[j];
	return 0;
}

/* Take the current row's key; check its order when the type allows. */
static enum prov_status pg_take_key(struct pg_run *r)
{
	struct prov_ctx *c = r->c;
	int col = r->key_col;
	const char *v = r->col[col];
	size_t len = r->col_len[col];
	bool had = r->have_key;

	if (r->col_null[col])
		return sqlmap_key_null(c, sql_conf(r->p)->key, r->rows);
	switch (r->key_type) {
	case PG_OID_INT2:
	case PG_OID_INT4:
	case PG_OID_INT8: {
		int64_t k;

		if (conv_parse_int(v, len, &k) == 0) {
			if (had && k <= r->key_i)
				goto out_order;
			r->key_i = k;
		}
		break;
	}
	case PG_OID_FLOAT4:
	case PG_OID_FLOAT8: {
		double k;

		if (conv_parse_float(v, len, &k) == 0) {
			if (had && !(k > r->key_f))
				goto out_order;
			r->key_f = k;
		}
		break;
	}
	default:
		break; /* the server's collation decides; we cannot check */
	}
	if (sqlmap_key_set(&r->key, v, len) < 0)
		return prov_fail(c, PROV_FAIL_RETRY, "out of memory");
	r->have_key = true;
	return PROV_DONE;
out_order:
	return sqlmap_key_order(c, sql_conf(r->p)->key, r->rows, v, len,
				(const char *)r->key.p, r->key.len);
}

/* Where the current row is, for a reject: "row key=42" or "row 17". */
static void pg_position(const struct pg_run *r, char *out, size_t len)
{
	sqlmap_position(out, len, r->key_col >= 0 ? (const char *)r->key.p
						     : NULL, r->key.len, r->rows);
}

/* One COPY row: into a record, or a reject.  0, or a failure. */
static enum prov_status pg_row(struct pg_run *r, char *buf, size_t n)
{
	struct prov_ctx *c = r->c;
	const struct rec_schema *s = &c->p->schema;
	char reason[CONV_REASON_MAX], full[CONV_REASON_MAX + 128];
	char pos[SQLMAP_QUOTE_MAX + 64];
	enum prov_status st;

	if ((r->binary ? pg_bin_split(r, buf, n) : pg_split(r, buf, n)) < 0)
		return prov_fail(c, PROV_FAIL_RETRY, "row %" PRIu64 ": the "
				 "server sent a COPY row of the wrong shape",
				 r->rows + 1);
	r->rows++;
	if (r->key_col >= 0) {
		/* The key is kept as the text the server would have sent. */
		if (r->binary && !r->col_null[r->key_col] &&
		    pg_bin_text(r, r->key_col) < 0)
			return prov_fail(c, PROV_FAIL_RETRY, "out of memory");
		if ((st = pg_take_key(r)) != PROV_DONE)
			return st;
	}
	for (int i = 0; i < r->nfields; i++) {
		int col = r->map[i];

		if (col < 0 || r->col_null[col]) {
			r->vals[i].null = true;
			continue;
		}
		r->vals[i].null = false;
		if (r->binary) {
			if (pgbin_value(r->kind[col], &s->fields[i],
					r->bval[col], r->blen[col], &r->vals[i]))
				continue;
			/* Through the text, for the same value or reject. */
			if (pg_bin_text(r, col) < 0)
				return prov_fail(c, PROV_FAIL_RETRY,
						 "out of memory");
		}
		if (conv_text(&s->fields[i], r->col[col], r->col_len[col],
			      &r->vals[i], reason, sizeof reason) == 0)
			continue;
		pg_position(r, pos, sizeof pos);
		snprintf(full, sizeof full, "field %s: %s", s->fields[i].name,
			 reason);
		if (prov_reject(c, pos, full, r->col[col],
				r->col_len[col] < SQLMAP_QUOTE_MAX ? r->col_len[col]
							    : SQLMAP_QUOTE_MAX) < 0)
			return prov_failure(c);
		return PROV_DONE;
	}
	switch (prov_emit(c, r->vals)) {
	case 0:
		return PROV_DONE;
	case 1:
		pg_position(r, pos, sizeof pos);
		if (prov_reject(c, pos, c->why, NULL, 0) < 0)
			return prov_failure(c);
		return PROV_DONE;
	default:
		return prov_failure(c);
	}
}

/*
 * One CopyData message (one row, as the server sends them): drop it while
 * rows are still to skip, else read it.  In binary the first message also
 * holds the stream's header and the last one is the trailer.
 */
static enum prov_status pg_message(struct pg_run *r, char *buf, size_t n,
				   uint64_t *skipped)
{
	uint64_t row = *skipped < r->skip ? *skipped + 1 : r->rows + 1;
	const char *bad = NULL;

	if (r->binary) {
		if (!r->bin_header) {
			long h = pgbin_header((const unsigned char *)buf, n);

			if (h < 0) {
				bad = "no valid header";
				goto out_bad;
			}
			r->bin_header = true;
			buf += h;
			n -= (size_t)h;
		}
		if (r->bin_trailer) {
			bad = "data after the trailer";
			goto out_bad;
		}
		if (n == 2 && buf[0] == '\xff' && buf[1] == '\xff') {
			r->bin_trailer = true;
			return PROV_DONE;
		}
	}
	if (*skipped < r->skip) {
		(*skipped)++;
		return PROV_DONE;
	}
	return pg_row(r, buf, n);
out_bad:
	return prov_fail(r->c, PROV_FAIL_RETRY, "row %" PRIu64 ": the server "
			 "sent a malformed binary COPY stream (%s)", row, bad);
}

enum prov_status pg_copy(struct pg_run *r)
{
	struct prov_ctx *c = r->c;
	enum prov_status st = PROV_DONE;
	char *sql = pg_copy_sql(r);
	PGresult *res = NULL;
	uint64_t skipped = 0;

	if (sql == NULL)
		return prov_fail(c, PROV_FAIL_RETRY, "out of memory");
	r->bin_header = false;
	r->bin_trailer = false;
	if (!PQsendQuery(r->conn, sql)) {
		st = pg_result_fail(r->conn, NULL, "query failed", c->errbuf,
				    sizeof c->errbuf);
		goto out_free;
	}
	res = pg_next_result(r->conn, c);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		st = pg_result_fail(r->conn, res, "query failed", c->errbuf,
				    sizeof c->errbuf);
		goto out_drain;
	}
	PQclear(res);
	res = NULL;

	for (;;) {
		char *buf = NULL;
		int n = PQgetCopyData(r->conn, &buf, 1);

		if (n > 0) {
			st = pg_message(r, buf, (size_t)n, &skipped);
			PQfreemem(buf);
			if (st != PROV_DONE)
				goto out_drain;
			if (skipped == r->skip && prov_want_checkpoint(c) &&
			    (st = pg_checkpoint(r, false)) != PROV_DONE)
				goto out_drain;
			continue;
		}
		if (n == 0) {
			if (pg_wait(r->conn, false, c) < 0 ||
			    !PQconsumeInput(r->conn))
				break;
			continue;
		}
		break; /* -1: the end; -2: an error, which the result tells */
	}
	res = pg_next_result(r->conn, c);
	if (PQresultStatus(res) != PGRES_COMMAND_OK ||
	    PQstatus(r->conn) == CONNECTION_BAD) {
		st = pg_result_fail(r->conn, res, "query failed", c->errbuf,
				    sizeof c->errbuf);
		goto out_drain;
	}
	if (r->binary && !r->bin_trailer) {
		st = prov_fail(c, PROV_FAIL_RETRY, "row %" PRIu64 ": the server "
			       "sent a malformed binary COPY stream (no "
			       "trailer)", r->rows + 1);
		goto out_drain;
	}
	if (skipped < r->skip)
		st = prov_fail(c, PROV_FAIL_PERMANENT,
			       "the query now returns %" PRIu64 " rows, fewer "
			       "than the %" PRIu64 " already counted: the data "
			       "changed (set key, or snapshot = true)",
			       skipped, r->skip);
out_drain:
	PQclear(res);
	/* After a failure the connection is dropped, not drained. */
	if (st == PROV_DONE)
		while ((res = pg_next_result(r->conn, c)) != NULL)
			PQclear(res);
out_free:
	free(sql);
	return st;
}

/* Allocate the per-attempt arrays once the column count is known. */
int pg_copy_alloc(struct pg_run *r, int ncols)
{
	size_t nc = (size_t)ncols + 1;

	r->ncols = ncols;
	r->used = calloc(nc, sizeof *r->used);
	r->col = calloc(nc, sizeof *r->col);
	r->col_len = calloc(nc, sizeof *r->col_len);
	r->col_null = calloc(nc, sizeof *r->col_null);
	r->kind = calloc(nc, sizeof *r->kind);
	r->bval = calloc(nc, sizeof *r->bval);
	r->blen = calloc(nc, sizeof *r->blen);
	r->tbuf = calloc(nc, sizeof *r->tbuf);
	r->tcap = calloc(nc, sizeof *r->tcap);
	if (!r->used || !r->col || !r->col_len || !r->col_null || !r->kind ||
	    !r->bval || !r->blen || !r->tbuf || !r->tcap)
		return -1;
	for (int i = 0; i < r->nfields; i++)
		if (r->map[i] >= 0)
			r->used[r->map[i]] = true;
	if (r->key_col >= 0)
		r->used[r->key_col] = true;
	return 0;
}

/* --- choosing the transfer ------------------------------------------ */

/* Whether the session writes every timestamptz with the offset +00. */
static bool pg_session_utc(PGconn *conn)
{
	static const char *const zones[] = {
		"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal",
		"Etc/Universal", "Zulu", "Etc/Zulu", "GMT", "Etc/GMT", "GMT0",
		"Etc/GMT0", "Greenwich", "Etc/Greenwich",
	};
	const char *tz = PQparameterStatus(conn, "TimeZone");

	for (size_t k = 0; tz && k < sizeof zones / sizeof *zones; k++)
		if (strcasecmp(tz, zones[k]) == 0)
			return true;
	return false;
}

/* Test builds: AGG_PG_COPY=text keeps every attempt on the text path. */
static bool pg_text_forced(void)
{
#ifdef AGG_TESTING
	const char *s = getenv("AGG_PG_COPY");

	return s && strcmp(s, "text") == 0;
#else
	return false;
#endif
}

/*
 * Whether the server can send every column of type oids[0..n) in binary:
 * a base or enum type with a send function, and for an array an element
 * type like that (a type without one fails the COPY, and a column nobody
 * reads must not cost the attempt).  1 yes, 0 no, -1 failure (*st).
 */
static int pg_types_sendable(struct pg_run *r, const unsigned *oids, int n,
			     enum prov_status *st)
{
	static const char head[] =
		"SELECT count(*) FROM pg_catalog.pg_type t WHERE t.oid IN (";
	static const char tail[] =
		") AND NOT (t.typsend::oid <> 0 AND t.typtype IN ('b', 'e') "
		"AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE "
		"e.oid = t.typelem AND (e.typsend::oid = 0 OR "
		"e.typtype NOT IN ('b', 'e'))))";
	struct buf sql = { 0 };
	PGresult *res = NULL;
	int ok = buf_addstr(&sql, head);

	for (int k = 0; ok == 0 && k < n; k++)
		ok = buf_printf(&sql, "%s%u", k ? ", " : "", oids[k]);
	if (ok < 0 || buf_addstr(&sql, tail) < 0) {
		buf_free(&sql);
		*st = prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
		return -1;
	}
	ok = pg_run_sql(r->conn, r->c, buf_str(&sql), PGRES_TUPLES_OK, &res,
			"cannot read the column types", st, r->c->errbuf,
			sizeof r->c->errbuf);
	buf_free(&sql);
	if (ok < 0)
		return -1;
	ok = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) &&
	     strcmp(PQgetvalue(res, 0, 0), "0") == 0;
	PQclear(res);
	return ok;
}

/*
 * Why this attempt cannot use binary COPY, into why ("" when it can): a
 * used column whose kind cannot give exactly the text path's value for
 * its field (pgbin.h), or a key whose text cannot be rebuilt.
 */
static void pg_binary_blocker(struct pg_run *r, const PGresult *desc,
			      char *why, size_t len)
{
	const struct rec_schema *s = &r->c->cfg->schema;
	const char *ds = PQparameterStatus(r->conn, "DateStyle");

	why[0] = '\0';
	if (pg_text_forced()) {
		snprintf(why, len, "AGG_PG_COPY=text");
		return;
	}
	/* Set by the session; checked, since dates are written as ISO. */
	if (ds == NULL || strncmp(ds, "ISO", 3) != 0) {
		snprintf(why, len, "DateStyle is %s", ds ? ds : "unknown");
		return;
	}
	for (int i = 0; i < r->nfields; i++) {
		int col = r->map[i];

		char type[128];

		if (col < 0 || pgbin_pair_ok(r->kind[col], s->fields[i].type))
			continue;
		conv_type_text(&s->fields[i], type, sizeof type);
		snprintf(why, len, "column %s (type %u) into %s:%s",
			 PQfname(desc, col), PQftype(desc, col),
			 s->fields[i].name, type);
		return;
	}
	if (r->key_col >= 0 && !pgbin_has_text(r->kind[r->key_col]))
		snprintf(why, len, "key column %s (type %u)",
			 PQfname(desc, r->key_col), PQftype(desc, r->key_col));
}

/*
 * Choose this attempt's transfer (r->binary) and log it.  Columns nobody
 * reads are only skipped in binary, whatever their type, as long as the
 * server can send them.  Returns PROV_DONE, or a failure of the catalog
 * query that asks that.
 */
enum prov_status pg_choose(struct pg_run *r, const PGresult *desc)
{
	enum prov_status st = PROV_DONE;
	bool utc = pg_session_utc(r->conn);
	unsigned *other = NULL;
	int nother = 0, ok;
	char why[256];

	for (int j = 0; j < r->ncols; j++)
		r->kind[j] = pgbin_kind(PQftype(desc, j), utc);
	pg_binary_blocker(r, desc, why, sizeof why);
	for (int j = 0; why[0] == '\0' && j < r->ncols; j++) {
		if (r->used[j] || r->kind[j] != PGBIN_NONE)
			continue;
		if (other == NULL &&
		    (other = calloc((size_t)r->ncols, sizeof *other)) == NULL)
			return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
		other[nother++] = PQftype(desc, j);
	}
	if (nother > 0) {
		ok = pg_types_sendable(r, other, nother, &st);
		free(other);
		if (ok < 0)
			return st;
		if (!ok)
			snprintf(why, sizeof why, "an unused column's type "
				 "has no binary output");
	}
	r->binary = why[0] == '\0';
	if (r->binary)
		log_event(LOG_DEBUG, r->p->name, "copy format", "format",
			  "binary", NULL);
	else
		log_event(LOG_DEBUG, r->p->name, "copy format", "format", "text",
			  "reason", why, NULL);
	return PROV_DONE;
}
