/*
 * sq_read.c - the rows of a sqlite attempt, into records (sq_read.h).
 *
 * Values are read with SQLite's typed column access (an INTEGER column
 * gives an int64, a REAL a double) and converted straight into the field's
 * type, so numbers never make a round trip through text.
 *
 * Each row is encoded straight into the RECORDS frame (sq_encode(),
 * prov_room(), prov_commit()): the common conversions written as they
 * are read, the rest through sq_convert(), which states the rules.  A
 * row that is a reject, or that fits no frame, is sent as before
 * (prov_reject(), or prov_emit() and its failure).  With derived fields
 * or a `where`, the values encoded are also stored for prov_compute(),
 * which drops the row or appends the computed fields' values to its
 * record (as prov_emit() would encode them); a row whose expression
 * fails goes to the general path, which rejects it.  Test builds can run
 * every row through the general path (AGG_SQLITE_ENCODE=general) or
 * compare the two on every row (=check).
 *
 * Invariants: a checkpoint is sent only between rows, and its token
 * describes exactly the rows consumed before it; key values must strictly
 * increase (checked on every row: a key that does not is a permanent
 * failure, since resuming after it would lose or double rows).
 *
 * This is the provider's hot path: the loop and everything a row goes
 * through are here, static, so that they stay inlined.
 */
#include "sq_read.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/convert.h"
#include "sq_db.h"
#include "sq_resume.h"
#include "sql_conf.h"
#include "sqlmap.h"

/* Bytes of the total-length word that starts an encoded record. */
#define ENC_LEN_BYTES 4

/* --- the key --------------------------------------------------------- */

/* Rank of a type in SQLite's order: numbers < text < blob. */
static int sq_type_rank(int type)
{
	return type == SQLITE_TEXT ? 2 : type == SQLITE_BLOB ? 3 : 1;
}

/* Compare two keys as SQLite's ORDER BY does (BINARY collation). */
static int sq_key_cmp(const struct sq_key *a, const struct sq_key *b)
{
	int ra = sq_type_rank(a->type), rb = sq_type_rank(b->type);

	if (ra != rb)
		return ra < rb ? -1 : 1;
	if (ra == 1) {
		if (a->type == SQLITE_INTEGER && b->type == SQLITE_INTEGER)
			return (a->i > b->i) - (a->i < b->i);
		double x = a->type == SQLITE_INTEGER ? (double)a->i : a->f;
		double y = b->type == SQLITE_INTEGER ? (double)b->i : b->f;

		return (x > y) - (x < y);
	}
	size_t n = a->bytes.len < b->bytes.len ? a->bytes.len : b->bytes.len;
	int d = n ? memcmp(a->bytes.p, b->bytes.p, n) : 0;

	if (d)
		return d;
	return (a->bytes.len > b->bytes.len) - (a->bytes.len < b->bytes.len);
}

/* Describe a key for a message: "42", "1.5", "abc" (cut). */
static void sq_key_text(const struct sq_key *k, char *out, size_t len)
{
	char f[CONV_FLOAT_MAX];

	switch (k->type) {
	case SQLITE_INTEGER:
		snprintf(out, len, "%" PRId64, k->i);
		break;
	case SQLITE_FLOAT:
		conv_format_float(k->f, f);
		snprintf(out, len, "%s", f);
		break;
	case SQLITE_TEXT:
		snprintf(out, len, "%.*s", (int)(k->bytes.len < SQLMAP_QUOTE_MAX
						 ? k->bytes.len
						 : SQLMAP_QUOTE_MAX),
			 (const char *)k->bytes.p);
		break;
	case SQLITE_BLOB:
		snprintf(out, len, "(a blob of %zu bytes)", k->bytes.len);
		break;
	default:
		snprintf(out, len, "NULL");
	}
}

/*
 * Read the key of the current row into cur and check that it follows
 * r->last.  Returns PROV_DONE (0) or a failure status with errbuf filled.
 */
static enum prov_status sq_take_key(struct sq_run *r, struct sq_key *cur)
{
	sqlite3_stmt *st = r->st;
	int col = r->key_col;
	char a[SQLMAP_QUOTE_MAX + 32], b[SQLMAP_QUOTE_MAX + 32];
	/* The value once, then its accessors, as sq_encode() reads. */
	sqlite3_value *cv = sqlite3_column_value(st, col);

	cur->type = sqlite3_value_type(cv);
	switch (cur->type) {
	case SQLITE_INTEGER:
		cur->i = sqlite3_value_int64(cv);
		break;
	case SQLITE_FLOAT:
		cur->f = sqlite3_value_double(cv);
		break;
	case SQLITE_TEXT:
	case SQLITE_BLOB: {
		const void *v = cur->type == SQLITE_TEXT
			? (const void *)sqlite3_column_text(st, col)
			: sqlite3_column_blob(st, col);
		size_t n = (size_t)sqlite3_column_bytes(st, col);

		if (v == NULL && n > 0)
			return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
		if (sqlmap_key_set(&cur->bytes, v, n) < 0)
			return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
		break;
	}
	default:
		return sqlmap_key_null(r->c, sql_conf(r->p)->key, r->rows);
	}
	if (r->last.type && sq_key_cmp(&r->last, cur) >= 0) {
		sq_key_text(&r->last, a, sizeof a);
		sq_key_text(cur, b, sizeof b);
		return sqlmap_key_order(r->c, sql_conf(r->p)->key, r->rows, b,
					strlen(b), a, strlen(a));
	}
	return PROV_DONE;
}

/* --- rows ------------------------------------------------------------ */

/* Where the current row is, for a reject: "row key=42" or "row 17". */
static void sq_position(const struct sq_run *r, const struct sq_key *cur,
			char *out, size_t len)
{
	char k[SQLMAP_QUOTE_MAX + 32];

	if (r->key_col >= 0)
		sq_key_text(cur, k, sizeof k);
	sqlmap_position(out, len, r->key_col >= 0 ? k : NULL,
			r->key_col >= 0 ? strlen(k) : 0, r->rows);
}

/*
 * Convert column col of the current row, of storage class stype (what
 * sqlite3_column_type() says), into field i: r->vals[i].  Returns 0, or
 * -1 with reason (and the offending value in raw/rawlen) for a reject.
 * This is the one statement of the conversion rules; sq_encode() takes
 * its short cuts only where they give the same value.
 */
static int sq_convert(struct sq_run *r, int i, int col, int stype,
		      char *reason, const char **raw, size_t *rawlen,
		      char *numbuf)
{
	sqlite3_stmt *st = r->st;
	const struct rec_field *t = &r->c->p->schema.fields[i];
	struct rec_value *v = &r->vals[i];
	char *scratch = r->scratch + (size_t)i * CONV_SCRATCH_MAX;
	const char *s;
	int n;

	*raw = NULL;
	*rawlen = 0;
	switch (stype) {
	case SQLITE_NULL:
		v->null = true;
		return 0;
	case SQLITE_INTEGER: {
		int64_t x = sqlite3_column_int64(st, col);

		if (conv_int(t, x, v, scratch, reason, CONV_REASON_MAX) == 0)
			return 0;
		*rawlen = (size_t)snprintf(numbuf, CONV_FLOAT_MAX + 8, "%" PRId64, x);
		*raw = numbuf;
		return -1;
	}
	case SQLITE_FLOAT: {
		double x = sqlite3_column_double(st, col);

		if (conv_float(t, x, v, scratch, reason, CONV_REASON_MAX) == 0)
			return 0;
		*rawlen = conv_format_float(x, numbuf);
		*raw = numbuf;
		return -1;
	}
	case SQLITE_TEXT:
		s = (const char *)sqlite3_column_text(st, col);
		n = sqlite3_column_bytes(st, col);
		break;
	default: /* SQLITE_BLOB: text only if it is valid UTF-8 */
		s = sqlite3_column_blob(st, col);
		n = sqlite3_column_bytes(st, col);
		if (n > 0 && s && !conv_utf8_valid(s, (size_t)n)) {
			snprintf(reason, CONV_REASON_MAX,
				 "column %s is a blob that is not UTF-8 text",
				 sqlite3_column_name(st, col));
			return -1;
		}
		break;
	}
	if (s == NULL) {
		if (n > 0) {
			snprintf(reason, CONV_REASON_MAX, "out of memory");
			return -1;
		}
		s = "";
	}
	if (conv_text(t, s, (size_t)n, v, reason, CONV_REASON_MAX) == 0)
		return 0;
	*raw = s;
	*rawlen = (size_t)n < SQLMAP_QUOTE_MAX ? (size_t)n : SQLMAP_QUOTE_MAX;
	return -1;
}

/* Send the reject of field i of the current row.  0, or a failure. */
static enum prov_status sq_reject(struct sq_run *r, const struct sq_key *cur,
				  int i, const char *reason, const char *raw,
				  size_t rawlen)
{
	struct prov_ctx *c = r->c;
	char full[CONV_REASON_MAX + 128], pos[SQLMAP_QUOTE_MAX + 64];

	r->out = NULL; /* the frame is published first */
	sq_position(r, cur, pos, sizeof pos);
	snprintf(full, sizeof full, "field %s: %s",
		 c->cfg->schema.fields[i].name, reason);
	if (prov_reject(c, pos, full, raw, rawlen) < 0)
		return prov_failure(c);
	return PROV_DONE;
}

/*
 * Convert the current row into r->vals (sq_convert() field by field).
 * Returns -1 if all fields converted, else the index of the first field
 * that did not, with reason, raw and rawlen saying why.
 */
static int sq_values(struct sq_run *r, char *reason, const char **raw,
		     size_t *rawlen, char *numbuf)
{
	for (int i = 0; i < r->nfields; i++) {
		int col = r->map[i];

		r->vals[i].null = false;
		if (col < 0) {
			r->vals[i].null = true;
			continue;
		}
		if (sq_convert(r, i, col, sqlite3_column_type(r->st, col),
			       reason, raw, rawlen, numbuf) < 0)
			return i;
	}
	return -1;
}

/*
 * The general path: the row into r->vals, then prov_emit().  Used for a
 * record that fits no frame (prov_emit() says so), and by test builds.
 */
static enum prov_status sq_row_general(struct sq_run *r,
				       const struct sq_key *cur)
{
	char reason[CONV_REASON_MAX], numbuf[CONV_FLOAT_MAX + 8];
	const char *raw;
	size_t rawlen;
	int bad = sq_values(r, reason, &raw, &rawlen, numbuf);

	r->out = NULL; /* prov_emit() moves the frame on by itself */
	if (bad >= 0)
		return sq_reject(r, cur, bad, reason, raw, rawlen);
	bad = prov_emit(r->c, r->vals);
	if (bad < 0)
		return prov_failure(r->c);
	if (bad > 0) {
		char pos[SQLMAP_QUOTE_MAX + 64];

		sq_position(r, cur, pos, sizeof pos);
		if (prov_reject(r->c, pos, r->c->why, NULL, 0) < 0)
			return prov_failure(r->c);
	}
	return PROV_DONE;
}

/* Store n bytes at out + pos when they end within room; the new pos. */
static inline size_t sq_put(unsigned char *out, size_t room, size_t pos,
			    const void *v, size_t n)
{
	if (n <= room && pos <= room - n && n)
		memcpy(out + pos, v, n);
	return pos + n;
}

/* A text value: its u32 length, then its bytes. */
static inline size_t sq_put_text(unsigned char *out, size_t room, size_t pos,
				 const void *s, size_t len)
{
	uint32_t n = (uint32_t)len;

	pos = sq_put(out, room, pos, &n, sizeof n);
	return sq_put(out, room, pos, s, len);
}

/* True when s[0..n), 4 to 16 bytes, is ASCII without NUL (no byte outside). */
static inline bool sq_short_ascii(const char *s, size_t n)
{
	uint64_t a, b;
	uint32_t x, y;

	if (n < 4 || n > 16)
		return false;
	if (n >= 8) {
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		return conv_ascii_word(a) && conv_ascii_word(b);
	}
	memcpy(&x, s, 4);
	memcpy(&y, s + n - 4, 4);
	return conv_ascii_word((uint64_t)x | (uint64_t)y << 32);
}

/*
 * Text of 4 to 16 bytes that is ASCII without NUL (so valid UTF-8, as
 * conv_utf8_valid() would say), stored with its length when it fits: two
 * overlapping loads test it and copy it, no byte read outside s[0..n).
 * Returns the new pos, or 0 when the text is not such or does not fit
 * (the caller then checks and stores it the general way).
 */
static inline size_t sq_put_short_ascii(unsigned char *out, size_t room,
					size_t pos, const char *s, size_t n)
{
	uint32_t len = (uint32_t)n, x, y;
	uint64_t a, b;

	if (n < 4 || n > 16 || pos > room || room - pos < sizeof len + n)
		return 0;
	out += pos + sizeof len;
	if (n >= 8) {
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		if (!conv_ascii_word(a) || !conv_ascii_word(b))
			return 0;
		memcpy(out, &a, 8);
		memcpy(out + n - 8, &b, 8);
	} else {
		memcpy(&x, s, 4);
		memcpy(&y, s + n - 4, 4);
		if (!conv_ascii_word((uint64_t)x | (uint64_t)y << 32))
			return 0;
		memcpy(out, &x, 4);
		memcpy(out + n - 4, &y, 4);
	}
	memcpy(out - sizeof len, &len, sizeof len);
	return pos + sizeof len + n;
}

/* A converted value, in rec_encode()'s layout. */
static size_t sq_put_value(unsigned char *out, size_t room, size_t pos,
			   enum rec_type t, const struct rec_value *v)
{
	unsigned char b;

	switch (t) {
	case REC_INT:
	case REC_TIMESTAMP:
	case REC_DATE:
		return sq_put(out, room, pos, &v->u.i, 8);
	case REC_DECIMAL:
		pos = sq_put(out, room, pos, &v->u.d.lo, 8);
		return sq_put(out, room, pos, &v->u.d.hi, 8);
	case REC_FLOAT:
		return sq_put(out, room, pos, &v->u.f, 8);
	case REC_BOOL:
		b = v->u.b ? 1 : 0;
		return sq_put(out, room, pos, &b, 1);
	case REC_TEXT:
		return sq_put_text(out, room, pos, v->u.s.p, v->u.s.len);
	}
	return pos;
}

/*
 * Encode the current row straight into out[0..room), as rec_encode_dropping()
 * would encode sq_values()' values with c->unused: the common cases (an
 * INTEGER into int or float, a finite REAL into float, valid UTF-8 TEXT
 * into text) written as they are read, anything else through
 * sq_convert().  Returns the record's size, whose bytes are all written
 * only when it is at most room (nothing is ever written past room); or 0
 * with *bad the field that does not convert, and reason, raw, rawlen.
 */
static size_t sq_encode(struct sq_run *r, const struct sq_key *cur,
			unsigned char *out, size_t room, int *bad,
			char *reason, const char **raw, size_t *rawlen,
			char *numbuf)
{
	sqlite3_stmt *st = r->st;
	struct rec_value *v = r->v;
	size_t pos = sq_put(out, room, ENC_LEN_BYTES, r->nulls, r->bitmap);
	uint32_t total;

	for (int i = 0; i < r->nfields; i++) {
		const struct sq_field *f = &r->fields[i];
		sqlite3_value *cv = NULL;
		int stype;
		int64_t x;
		double d;
		const char *s;
		size_t n, k;

		if (f->col < 0) {
			if (v != NULL)
				v[i].null = true;
			continue; /* its bit is set in r->nulls, as a drop's */
		}
		/*
		 * The column's value once, then its accessors: each
		 * sqlite3_column_*() call goes through the statement's
		 * checks and error state again (a third of the reader's
		 * instructions were those).  The value is the statement's
		 * own, valid until the next step; only this thread uses
		 * the connection (SQLITE_OPEN_NOMUTEX).
		 */
		if (!f->key) {
			cv = sqlite3_column_value(st, f->col);
			stype = sqlite3_value_type(cv);
		} else {
			stype = cur->type;
		}
		switch (stype) {
		case SQLITE_NULL:
			if (f->drop)
				continue;
			goto null;
		case SQLITE_INTEGER:
			if (f->type != REC_INT && f->type != REC_FLOAT)
				break;
			if (f->drop)
				continue; /* any int converts: no need to read it */
			x = f->key ? cur->i : sqlite3_value_int64(cv);
			if (f->type == REC_INT) {
				pos = sq_put(out, room, pos, &x, 8);
				if (v != NULL) {
					v[i].null = false;
					v[i].u.i = x;
				}
			} else {
				d = (double)x;
				pos = sq_put(out, room, pos, &d, 8);
				if (v != NULL) {
					v[i].null = false;
					v[i].u.f = d;
				}
			}
			continue;
		case SQLITE_FLOAT:
			if (f->type != REC_FLOAT)
				break;
			d = f->key ? cur->f : sqlite3_value_double(cv);
			if (!isfinite(d))
				break;
			if (f->drop)
				continue;
			pos = sq_put(out, room, pos, &d, 8);
			if (v != NULL) {
				v[i].null = false;
				v[i].u.f = d;
			}
			continue;
		case SQLITE_TEXT:
			if (f->type != REC_TEXT)
				break;
			if (f->key) {
				s = (const char *)cur->bytes.p;
				n = cur->bytes.len;
			} else {
				s = (const char *)sqlite3_value_text(cv);
				n = (size_t)sqlite3_value_bytes(cv);
			}
			if (s == NULL)
				break;
			if (f->drop) {
				if (!sq_short_ascii(s, n) &&
				    !conv_utf8_valid(s, n))
					break;
				continue;
			}
			if ((k = sq_put_short_ascii(out, room, pos, s, n)) != 0) {
				pos = k;
			} else {
				if (!conv_utf8_valid(s, n))
					break;
				pos = sq_put_text(out, room, pos, s, n);
			}
			if (v != NULL) {
				v[i].null = false;
				v[i].u.s.p = s;
				v[i].u.s.len = (uint32_t)n;
			}
			continue;
		default:
			break;
		}
		/* Everything else by the rules themselves. */
		if (sq_convert(r, i, f->col, stype, reason, raw, rawlen,
			       numbuf) < 0) {
			*bad = i;
			return 0;
		}
		if (f->drop)
			continue;
		if (v != NULL)
			v[i] = r->vals[i];
		if (!r->vals[i].null) {
			pos = sq_put_value(out, room, pos, f->type, &r->vals[i]);
			continue;
		}
null:
		if (v != NULL)
			v[i].null = true;
		if (ENC_LEN_BYTES + r->bitmap <= room)
			out[ENC_LEN_BYTES + i / 8] |= (unsigned char)(1u << (i % 8));
	}
	total = (uint32_t)pos;
	sq_put(out, room, 0, &total, ENC_LEN_BYTES);
	return pos;
}

/*
 * The computed fields' values r->v[nfields..w->nfields) appended to the
 * record sq_encode() wrote at out[0..n) (of room), its length word
 * updated: as rec_encode_dropping() encodes them.  The new size, whose
 * bytes are all written only when it is at most room.
 */
static size_t sq_put_computed(struct sq_run *r, unsigned char *out,
			      size_t room, size_t n)
{
	const bool *unused = r->c->unused;
	uint32_t total;

	for (int i = r->nfields; i < r->w->nfields; i++) {
		if (unused != NULL && unused[i])
			continue; /* its bit is set in r->nulls */
		if (!r->v[i].null) {
			n = sq_put_value(out, room, n, r->w->fields[i].type,
					 &r->v[i]);
			continue;
		}
		if (ENC_LEN_BYTES + r->bitmap <= room)
			out[ENC_LEN_BYTES + i / 8] |= (unsigned char)(1u << (i % 8));
	}
	total = (uint32_t)n;
	sq_put(out, room, 0, &total, ENC_LEN_BYTES);
	return n;
}

/*
 * Test builds: compare the record sq_encode() wrote at rec[0..n) with
 * what the general path makes of the same row.  0 when they are equal.
 */
static int sq_check_encoding(struct sq_run *r, const unsigned char *rec,
			     size_t n)
{
	char reason[CONV_REASON_MAX], numbuf[CONV_FLOAT_MAX + 8];
	const char *raw;
	size_t rawlen, m;
	unsigned char *want = malloc(n + 1);
	int rc = -1;

	if (want == NULL)
		return -1;
	if (sq_values(r, reason, &raw, &rawlen, numbuf) < 0) {
		if (r->v == NULL) {
			m = rec_encode_dropping(&r->c->cfg->schema, r->vals,
						r->c->unused, want, n + 1);
		} else {
			/* The general path's values, and what it computes
			 * from them for a row it keeps. */
			memcpy(r->v, r->vals, (size_t)r->nfields * sizeof *r->v);
			m = prov_compute(r->c) != 0 ? 0 :
			    rec_encode_dropping(r->w, r->v, r->c->unused, want,
						n + 1);
		}
		rc = m == n && memcmp(want, rec, n) == 0 ? 0 : -1;
	}
	free(want);
	return rc;
}

/* Turn the current row into a record, or a reject.  0, or a failure. */
static enum prov_status sq_row(struct sq_run *r, const struct sq_key *cur)
{
	struct prov_ctx *c = r->c;
	char reason[CONV_REASON_MAX], numbuf[CONV_FLOAT_MAX + 8];
	const char *raw;
	size_t rawlen, n;
	int bad;

	if (r->mode == SQ_GENERAL)
		return sq_row_general(r, cur);
	if (r->out == NULL && (r->out = prov_room(c, false, &r->room)) == NULL)
		return prov_failure(c);
	n = sq_encode(r, cur, r->out, r->room, &bad, reason, &raw, &rawlen,
		      numbuf);
	if (n == 0)
		return sq_reject(r, cur, bad, reason, raw, rawlen);
	if (r->v != NULL) {
		int kept = prov_compute(c);

		if (kept > 0)
			return PROV_DONE; /* dropped by a where: not committed */
		if (kept < 0)
			return sq_row_general(r, cur); /* rejects it, at its row */
		n = sq_put_computed(r, r->out, r->room, n);
	}
	if (n > r->room) {
		/* A new frame, and the same row again (the same values). */
		if ((r->out = prov_room(c, true, &r->room)) == NULL)
			return prov_failure(c);
		if (n > r->room)
			return sq_row_general(r, cur); /* fails, and says why */
		n = sq_encode(r, cur, r->out, r->room, &bad, reason, &raw,
			      &rawlen, numbuf);
		if (r->v != NULL)
			n = sq_put_computed(r, r->out, r->room, n);
	}
	if (r->mode == SQ_CHECK && sq_check_encoding(r, r->out, n) < 0)
		return prov_fail(c, PROV_FAIL_PERMANENT, "row %" PRIu64
				 ": the direct encoding differs from the "
				 "general path's", r->rows);
	prov_commit(c, n);
	r->out += n;
	r->room -= n;
	return PROV_DONE;
}

enum prov_status sq_loop(struct sq_run *r)
{
	struct prov_ctx *c = r->c;
	struct sq_key cur = { 0 };
	enum prov_status st = PROV_DONE;

	for (;;) {
		int rc = sqlite3_step(r->st);

		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			snprintf(c->errbuf, sizeof c->errbuf, "%s: %s", r->path,
				 sqlite3_errmsg(r->db));
			st = sq_status(rc);
			goto out_free;
		}
		r->rows++;
		if (r->key_col >= 0 &&
		    (st = sq_take_key(r, &cur)) != PROV_DONE)
			goto out_free;
		if ((st = sq_row(r, &cur)) != PROV_DONE)
			goto out_free;
		if (r->key_col >= 0) {
			/* Swap, so the buffers are reused, never freed per row. */
			struct sq_key t = r->last;

			r->last = cur;
			cur = t;
		}
		if (prov_want_checkpoint(c) &&
		    (st = sq_checkpoint(r, false)) != PROV_DONE)
			goto out_free;
	}
	st = sq_checkpoint(r, true);
out_free:
	buf_free(&cur.bytes);
	return st;
}

/* Test builds: AGG_SQLITE_ENCODE=general or =check (see sq_row()). */
static int sq_mode(void)
{
#ifdef AGG_TESTING
	const char *s = getenv("AGG_SQLITE_ENCODE");

	if (s && strcmp(s, "general") == 0)
		return SQ_GENERAL;
	if (s && strcmp(s, "check") == 0)
		return SQ_CHECK;
#endif
	return SQ_DIRECT;
}

/* Decide, once the columns are resolved, what sq_encode() does per field. */
void sq_plan(struct sq_run *r)
{
	const struct rec_schema *s = &r->c->cfg->schema;

	r->mode = sq_mode();
	r->v = NULL;
	r->w = s;
	if (r->c->compute != NULL) {
		r->v = prov_values(r->c);
		r->w = prov_whole_schema(r->c);
	}
	r->bitmap = ((size_t)r->w->nfields + 7) / 8;
	memset(r->nulls, 0, sizeof r->nulls);
	/* Computed fields no output reads are NULL in every record. */
	for (int i = r->nfields; i < r->w->nfields; i++)
		if (r->c->unused != NULL && r->c->unused[i])
			r->nulls[i / 8] |= (unsigned char)(1u << (i % 8));
	for (int i = 0; i < r->nfields; i++) {
		struct sq_field *f = &r->fields[i];

		f->col = r->map[i];
		f->type = s->fields[i].type;
		f->drop = r->c->unused != NULL && r->c->unused[i];
		f->key = f->col >= 0 && f->col == r->key_col;
		if (f->col < 0 || f->drop)
			r->nulls[i / 8] |= (unsigned char)(1u << (i % 8));
	}
}

