/*
 * sqlite.c - the sqlite provider: runs the configured query over a SQLite
 * file opened read-only and turns each result row into a record.
 *
 * Values are read with SQLite's typed column access (an INTEGER column
 * gives an int64, a REAL a double) and converted straight into the field's
 * type, so numbers never make a round trip through text.
 *
 * Resume (the token, see sqlmap.h):
 *   rows=N   source rows consumed so far (records + rejects), all attempts
 *   done=1   the last attempt read everything (only DONE was lost)
 *   kt, kv   with `key`: the type and value of the key of row N
 * With a key the next attempt runs
 *   SELECT * FROM (query) AS agg_resume WHERE "key" > ?1 ORDER BY "key"
 * binding the last key with its own SQLite type; without one it runs the
 * query as it is and steps over the first N rows.
 *
 * Invariants: a checkpoint is sent only between rows, and its token
 * describes exactly the rows consumed before it; key values must strictly
 * increase (checked on every row: a key that does not is a permanent
 * failure, since resuming after it would lose or double rows).
 */
#include "sqlite.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "convert.h"
#include "sqlmap.h"

/* How long a query waits for a writer's lock before SQLITE_BUSY (ms). */
#define BUSY_TIMEOUT_MS 5000

/* VM instructions between two heartbeat calls during a long step. */
#define PROGRESS_OPS 20000

/* Bytes of a key or a value quoted in a reject's position or raw text. */
#define QUOTE_MAX 200

/* The key of the last row consumed, in its SQLite type. */
struct sq_key {
	int type;               /* SQLITE_INTEGER, _FLOAT, _TEXT, _BLOB; 0: none */
	int64_t i;
	double f;
	unsigned char *s;       /* text or blob bytes, owned */
	size_t len;
	size_t cap;
};

struct sq_run {
	struct prov_ctx *c;
	const struct cfg_provider *p;
	sqlite3 *db;
	sqlite3_stmt *st;
	char *path;             /* what sqlite3_open_v2 was given */
	int nfields;
	int *map;               /* field -> column, -1: NULL */
	int key_col;            /* -1: no key */
	struct rec_value *vals;
	char *scratch;          /* CONV_SCRATCH_MAX per field */
	uint64_t rows;          /* rows consumed, all attempts */
	struct sq_key last;     /* key of row `rows` */
};

/* What a failed SQLite call means for the provider. */
static enum prov_status sq_status(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_IOERR:
	case SQLITE_NOMEM:
	case SQLITE_PROTOCOL:
	case SQLITE_FULL:
	case SQLITE_INTERRUPT:
		return PROV_FAIL_RETRY;
	default:
		return PROV_FAIL_PERMANENT;
	}
}

/*
 * The file name to open: Debian's SQLite interprets "file:" names as URIs
 * even without SQLITE_OPEN_URI, and a path is a path.  Returns a malloc'd
 * string or NULL.
 */
static char *sq_plain_path(const char *path)
{
	char *s;

	if (strncmp(path, "file:", 5) == 0) {
		if (asprintf(&s, "./%s", path) < 0)
			return NULL;
		return s;
	}
	return strdup(path);
}

/* Keep the heartbeat going while one sqlite3_step runs long (a sort). */
static int sq_progress(void *arg)
{
	prov_heartbeat(arg);
	return 0;
}

/*
 * Open path read-only.  On failure returns an SQLite code and writes
 * SQLite's message (with the system's reason when there is one) into err.
 */
static int sq_open(const char *path, sqlite3 **db, char *err, size_t errlen)
{
	int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY |
				 SQLITE_OPEN_NOMUTEX, NULL);

	if (rc != SQLITE_OK) {
		int sys = *db ? sqlite3_system_errno(*db) : 0;

		if (sys)
			snprintf(err, errlen, "%s: %s (%s)", path,
				 *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc),
				 strerror(sys));
		else
			snprintf(err, errlen, "%s: %s", path,
				 *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
		sqlite3_close(*db);
		*db = NULL;
		return rc;
	}
	sqlite3_extended_result_codes(*db, 1);
	sqlite3_busy_timeout(*db, BUSY_TIMEOUT_MS);
	/*
	 * SQLite reads the file only when a statement needs it: read the
	 * schema now, so a file that is not a database fails here (and in
	 * --check) even when the query touches no table.
	 */
	rc = sqlite3_exec(*db, "PRAGMA schema_version", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(*db));
		sqlite3_close(*db);
		*db = NULL;
		return rc;
	}
	return SQLITE_OK;
}

/*
 * Prepare sql (one statement).  Returns an SQLite code; on failure err holds
 * SQLite's message.
 */
static int sq_prepare(sqlite3 *db, const char *path, const char *sql,
		      sqlite3_stmt **st, char *err, size_t errlen)
{
	const char *tail = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, st, &tail);

	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		return rc;
	}
	if (*st == NULL) {
		snprintf(err, errlen, "%s: the query is empty", path);
		return SQLITE_ERROR;
	}
	while (tail && (*tail == ' ' || *tail == '\t' || *tail == '\n' ||
			*tail == '\r' || *tail == ';'))
		tail++;
	if (tail && *tail) {
		snprintf(err, errlen, "%s: the query holds more than one "
			 "statement", path);
		sqlite3_finalize(*st);
		*st = NULL;
		return SQLITE_ERROR;
	}
	return SQLITE_OK;
}

/*
 * Resolve the fields against the statement's columns (sqlmap_resolve).
 * Returns 0 or -1 with err.
 */
static int sq_resolve(const struct cfg *cfg, const struct cfg_provider *p,
		      sqlite3_stmt *st, int *map, int *key_col, char *err,
		      size_t errlen)
{
	int ncols = sqlite3_column_count(st), rc = -1;
	const char **names = calloc(ncols > 0 ? (size_t)ncols : 1, sizeof *names);

	if (names == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int j = 0; j < ncols; j++)
		names[j] = sqlite3_column_name(st, j);
	rc = sqlmap_resolve(cfg, p, names, ncols, map, key_col, err, errlen);
	free(names);
	return rc;
}

/* Double-quote an identifier for SQL: "a""b".  malloc'd, NULL on no memory. */
static char *sq_quote_ident(const char *id)
{
	size_t n = strlen(id), k = 0;
	char *q = malloc(2 * n + 3);

	if (q == NULL)
		return NULL;
	q[k++] = '"';
	for (size_t j = 0; j < n; j++) {
		if (id[j] == '"')
			q[k++] = '"';
		q[k++] = id[j];
	}
	q[k++] = '"';
	q[k] = '\0';
	return q;
}

/* --- the key --------------------------------------------------------- */

static int sq_key_set_bytes(struct sq_key *k, const void *v, size_t len)
{
	if (len + 1 > k->cap) {
		size_t cap = (len + 1) * 2;
		unsigned char *s = realloc(k->s, cap);

		if (s == NULL)
			return -1;
		k->s = s;
		k->cap = cap;
	}
	if (len)
		memcpy(k->s, v, len);
	k->s[len] = '\0';
	k->len = len;
	return 0;
}

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
	size_t n = a->len < b->len ? a->len : b->len;
	int d = n ? memcmp(a->s, b->s, n) : 0;

	if (d)
		return d;
	return (a->len > b->len) - (a->len < b->len);
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
		snprintf(out, len, "%.*s",
			 (int)(k->len < QUOTE_MAX ? k->len : QUOTE_MAX),
			 (const char *)k->s);
		break;
	case SQLITE_BLOB:
		snprintf(out, len, "(a blob of %zu bytes)", k->len);
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
	char a[QUOTE_MAX + 32], b[QUOTE_MAX + 32];

	cur->type = sqlite3_column_type(st, col);
	switch (cur->type) {
	case SQLITE_INTEGER:
		cur->i = sqlite3_column_int64(st, col);
		break;
	case SQLITE_FLOAT:
		cur->f = sqlite3_column_double(st, col);
		break;
	case SQLITE_TEXT:
	case SQLITE_BLOB: {
		const void *v = cur->type == SQLITE_TEXT
			? (const void *)sqlite3_column_text(st, col)
			: sqlite3_column_blob(st, col);
		size_t n = (size_t)sqlite3_column_bytes(st, col);

		if (v == NULL && n > 0)
			return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
		if (sq_key_set_bytes(cur, v, n) < 0)
			return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
		break;
	}
	default:
		return prov_fail(r->c, PROV_FAIL_PERMANENT,
				 "key \"%s\" is NULL at row %" PRIu64
				 ": a key must strictly increase", r->p->key,
				 r->rows);
	}
	if (r->last.type && sq_key_cmp(&r->last, cur) >= 0) {
		sq_key_text(&r->last, a, sizeof a);
		sq_key_text(cur, b, sizeof b);
		return prov_fail(r->c, PROV_FAIL_PERMANENT,
				 "key \"%s\" does not strictly increase: row %"
				 PRIu64 " has %s after %s", r->p->key, r->rows,
				 b, a);
	}
	return PROV_DONE;
}

/* --- the resume token ------------------------------------------------ */

static int sq_token_write(const struct sq_run *r, bool done,
			  unsigned char *buf, size_t *len)
{
	struct sqlmap_token t;
	char num[32];

	sqlmap_tok_init(&t, buf, PROV_TOKEN_MAX);
	sqlmap_tok_u64(&t, "sqlite", 1);
	sqlmap_tok_u64(&t, "rows", r->rows);
	sqlmap_tok_u64(&t, "done", done);
	if (r->key_col >= 0 && r->last.type) {
		switch (r->last.type) {
		case SQLITE_INTEGER:
			sqlmap_tok_str(&t, "kt", "i");
			snprintf(num, sizeof num, "%" PRId64, r->last.i);
			sqlmap_tok_bytes(&t, "kv", num, strlen(num));
			break;
		case SQLITE_FLOAT: {
			uint64_t bits;

			/* The double's bits: exact, and no locale in the way. */
			memcpy(&bits, &r->last.f, sizeof bits);
			sqlmap_tok_str(&t, "kt", "f");
			snprintf(num, sizeof num, "%" PRIu64, bits);
			sqlmap_tok_bytes(&t, "kv", num, strlen(num));
			break;
		}
		default:
			sqlmap_tok_str(&t, "kt",
				       r->last.type == SQLITE_TEXT ? "t" : "b");
			sqlmap_tok_bytes(&t, "kv", r->last.s, r->last.len);
		}
	}
	*len = t.len;
	return t.overflow ? -1 : 0;
}

/*
 * Read the token of the last folded checkpoint into r.  Returns 0, or -1
 * for a token this code did not write.
 */
static int sq_token_read(struct sq_run *r, const unsigned char *tok,
			 size_t len, bool *done)
{
	uint64_t version, d, bits;
	const unsigned char *kt, *kv;
	size_t ktlen, kvlen;
	char num[32];
	int has;

	if (sqlmap_tok_get_u64(tok, len, "sqlite", &version) != 1 ||
	    version != 1 || sqlmap_tok_get_u64(tok, len, "rows", &r->rows) != 1 ||
	    sqlmap_tok_get_u64(tok, len, "done", &d) != 1 || d > 1)
		return -1;
	*done = d;
	has = sqlmap_tok_get(tok, len, "kt", &kt, &ktlen);
	if (has < 0)
		return -1;
	if (has == 0)
		return 0;
	if (ktlen != 1 || sqlmap_tok_get(tok, len, "kv", &kv, &kvlen) != 1)
		return -1;
	switch (kt[0]) {
	case 'i':
	case 'f':
		if (kvlen == 0 || kvlen >= sizeof num)
			return -1;
		memcpy(num, kv, kvlen);
		num[kvlen] = '\0';
		if (kt[0] == 'i') {
			if (conv_parse_int(num, kvlen, &r->last.i) < 0)
				return -1;
			r->last.type = SQLITE_INTEGER;
		} else {
			if (sqlmap_tok_get_u64(tok, len, "kv", &bits) != 1)
				return -1;
			memcpy(&r->last.f, &bits, sizeof bits);
			r->last.type = SQLITE_FLOAT;
		}
		return 0;
	case 't':
	case 'b':
		if (sq_key_set_bytes(&r->last, kv, kvlen) < 0)
			return -1;
		r->last.type = kt[0] == 't' ? SQLITE_TEXT : SQLITE_BLOB;
		return 0;
	default:
		return -1;
	}
}

/* Prepare the resumed query: rows after the last key, in key order. */
static enum prov_status sq_prepare_resume(struct sq_run *r)
{
	struct prov_ctx *c = r->c;
	char *body = sqlmap_query_body(r->p->query);
	char *ident = sq_quote_ident(r->p->key), *sql = NULL;
	enum prov_status st = PROV_DONE;
	int rc;

	if (body == NULL || ident == NULL ||
	    asprintf(&sql, "SELECT * FROM (\n%s\n) AS agg_resume WHERE %s > ?1 "
		     "ORDER BY %s", body, ident, ident) < 0) {
		sql = NULL;
		st = prov_fail(c, PROV_FAIL_RETRY, "out of memory");
		goto out_free;
	}
	sqlite3_finalize(r->st);
	r->st = NULL;
	rc = sq_prepare(r->db, r->path, sql, &r->st, c->errbuf, sizeof c->errbuf);
	if (rc != SQLITE_OK) {
		st = sq_status(rc);
		goto out_free;
	}
	switch (r->last.type) {
	case SQLITE_INTEGER:
		rc = sqlite3_bind_int64(r->st, 1, r->last.i);
		break;
	case SQLITE_FLOAT:
		rc = sqlite3_bind_double(r->st, 1, r->last.f);
		break;
	case SQLITE_TEXT:
		rc = sqlite3_bind_text(r->st, 1, (const char *)r->last.s,
				       (int)r->last.len, SQLITE_STATIC);
		break;
	default:
		rc = sqlite3_bind_blob(r->st, 1, r->last.s, (int)r->last.len,
				       SQLITE_STATIC);
	}
	if (rc != SQLITE_OK) {
		snprintf(c->errbuf, sizeof c->errbuf, "%s: %s", r->path,
			 sqlite3_errmsg(r->db));
		st = sq_status(rc);
	}
out_free:
	free(sql);
	free(ident);
	free(body);
	return st;
}

/* --- rows ------------------------------------------------------------ */

/* Where the current row is, for a reject: "row key=42" or "row 17". */
static void sq_position(const struct sq_run *r, const struct sq_key *cur,
			char *out, size_t len)
{
	char k[QUOTE_MAX + 32];

	if (r->key_col >= 0) {
		sq_key_text(cur, k, sizeof k);
		snprintf(out, len, "row key=%s", k);
	} else {
		snprintf(out, len, "row %" PRIu64, r->rows);
	}
}

/*
 * Convert column col of the current row into field i.  Returns 0, or -1
 * with reason (and the offending value in raw/rawlen) for a reject.
 */
static int sq_convert(struct sq_run *r, int i, int col, char *reason,
		      const char **raw, size_t *rawlen, char *numbuf)
{
	sqlite3_stmt *st = r->st;
	enum rec_type t = r->c->cfg->schema.fields[i].type;
	struct rec_value *v = &r->vals[i];
	char *scratch = r->scratch + (size_t)i * CONV_SCRATCH_MAX;
	const char *s;
	int n;

	*raw = NULL;
	*rawlen = 0;
	switch (sqlite3_column_type(st, col)) {
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
	*rawlen = (size_t)n < QUOTE_MAX ? (size_t)n : QUOTE_MAX;
	return -1;
}

/* Turn the current row into a record, or a reject.  0, or a failure. */
static enum prov_status sq_row(struct sq_run *r, const struct sq_key *cur)
{
	struct prov_ctx *c = r->c;
	char reason[CONV_REASON_MAX], full[CONV_REASON_MAX + 128];
	char pos[QUOTE_MAX + 64], numbuf[CONV_FLOAT_MAX + 8];
	const char *raw;
	size_t rawlen;

	for (int i = 0; i < r->nfields; i++) {
		r->vals[i].null = false;
		if (r->map[i] < 0) {
			r->vals[i].null = true;
			continue;
		}
		if (sq_convert(r, i, r->map[i], reason, &raw, &rawlen,
			       numbuf) == 0)
			continue;
		sq_position(r, cur, pos, sizeof pos);
		snprintf(full, sizeof full, "field %s: %s",
			 c->cfg->schema.fields[i].name, reason);
		if (prov_reject(c, pos, full, raw, rawlen) < 0)
			return prov_failure(c);
		return PROV_DONE;
	}
	if (prov_emit(c, r->vals) < 0)
		return prov_failure(c);
	return PROV_DONE;
}

static enum prov_status sq_checkpoint(struct sq_run *r, bool done)
{
	unsigned char tok[PROV_TOKEN_MAX];
	size_t len;

	if (sq_token_write(r, done, tok, &len) < 0)
		return prov_fail(r->c, PROV_FAIL_PERMANENT,
				 "the key's value is too long for a resume "
				 "token (%zu bytes)", r->last.len);
	if (prov_checkpoint(r->c, tok, len) < 0)
		return prov_failure(r->c);
	return PROV_DONE;
}

/* Step over the rows the earlier attempts consumed (resume without key). */
static enum prov_status sq_skip(struct sq_run *r)
{
	for (uint64_t k = 0; k < r->rows; k++) {
		int rc = sqlite3_step(r->st);

		if (rc == SQLITE_DONE)
			return prov_fail(r->c, PROV_FAIL_PERMANENT,
					 "%s: the query now returns %" PRIu64
					 " rows, fewer than the %" PRIu64
					 " already counted: the data changed "
					 "(set key to resume by key)",
					 r->path, k, r->rows);
		if (rc != SQLITE_ROW) {
			snprintf(r->c->errbuf, sizeof r->c->errbuf, "%s: %s",
				 r->path, sqlite3_errmsg(r->db));
			return sq_status(rc);
		}
	}
	return PROV_DONE;
}

static enum prov_status sq_loop(struct sq_run *r)
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
	free(cur.s);
	return st;
}

static enum prov_status sqlite_run(struct prov_ctx *c)
{
	const struct cfg_provider *p = c->p;
	struct sq_run r = { .c = c, .p = p, .key_col = -1 };
	enum prov_status st = PROV_DONE;
	bool done = false;
	int rc;

	r.nfields = c->cfg->schema.nfields;
	if (c->token_len && sq_token_read(&r, c->token, c->token_len, &done) < 0) {
		st = prov_fail(c, PROV_FAIL_PERMANENT, "bad resume token");
		goto out_free;
	}
	if (done)
		goto out_free; /* only the DONE frame was lost */
	r.path = sq_plain_path(p->path);
	r.map = calloc((size_t)r.nfields + 1, sizeof *r.map);
	r.vals = calloc((size_t)r.nfields + 1, sizeof *r.vals);
	r.scratch = calloc((size_t)r.nfields + 1, CONV_SCRATCH_MAX);
	if (r.path == NULL || r.map == NULL || r.vals == NULL ||
	    r.scratch == NULL) {
		st = prov_fail(c, PROV_FAIL_RETRY, "out of memory");
		goto out_free;
	}
	rc = sq_open(r.path, &r.db, c->errbuf, sizeof c->errbuf);
	if (rc != SQLITE_OK) {
		st = sq_status(rc);
		goto out_free;
	}
	sqlite3_progress_handler(r.db, PROGRESS_OPS, sq_progress, c);
	rc = sq_prepare(r.db, r.path, p->query, &r.st, c->errbuf,
			sizeof c->errbuf);
	if (rc != SQLITE_OK) {
		st = sq_status(rc);
		goto out_close;
	}
	if (sq_resolve(c->cfg, p, r.st, r.map, &r.key_col, c->errbuf,
		       sizeof c->errbuf) < 0) {
		st = PROV_FAIL_PERMANENT;
		goto out_close;
	}
	if (r.key_col >= 0 && r.last.type)
		st = sq_prepare_resume(&r);
	else if (r.key_col < 0 && r.rows > 0)
		st = sq_skip(&r);
	if (st == PROV_DONE)
		st = sq_loop(&r);
out_close:
	sqlite3_finalize(r.st);
	sqlite3_close(r.db);
out_free:
	free(r.last.s);
	free(r.scratch);
	free(r.vals);
	free(r.map);
	free(r.path);
	return st;
}

static int sqlite_check(const struct cfg *cfg, const struct cfg_provider *p,
			char *msg, size_t msglen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *path = sq_plain_path(p->path);
	int *map = calloc((size_t)cfg->schema.nfields + 1, sizeof *map);
	int key_col, rc = -1;

	if (path == NULL || map == NULL) {
		snprintf(msg, msglen, "out of memory");
		goto out_free;
	}
	if (sq_open(path, &db, msg, msglen) != SQLITE_OK)
		goto out_free;
	if (sq_prepare(db, path, p->query, &st, msg, msglen) != SQLITE_OK)
		goto out_close;
	if (sq_resolve(cfg, p, st, map, &key_col, msg, msglen) < 0)
		goto out_close;
	snprintf(msg, msglen, "query prepared, %d columns",
		 sqlite3_column_count(st));
	rc = 0;
out_close:
	sqlite3_finalize(st);
	sqlite3_close(db);
out_free:
	free(map);
	free(path);
	return rc;
}

const struct prov_ops sqlite_provider_ops = {
	.name = "sqlite",
	.run = sqlite_run,
	.check = sqlite_check,
};
