/*
 * sqlite.c - the sqlite provider: runs the configured query over a SQLite
 * file opened read-only and turns each result row into a record.
 *
 * Values are read with SQLite's typed column access (an INTEGER column
 * gives an int64, a REAL a double) and converted straight into the field's
 * type, so numbers never make a round trip through text.
 *
 * Each row is encoded straight into the RECORDS frame (sq_encode(),
 * prov_room(), prov_commit()): the common conversions written as they
 * are read, the rest through sq_convert(), which states the rules.  A
 * row that is a reject, or that fits no frame, is sent as before
 * (prov_reject(), or prov_emit() and its failure); test builds can run
 * every row through the general path (AGG_SQLITE_ENCODE=general) or
 * compare the two on every row (=check).
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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../common/convert.h"
#include "sqlmap.h"

/* How long a query waits for a writer's lock before SQLITE_BUSY (ms). */
#define BUSY_TIMEOUT_MS 5000

/* VM instructions between two heartbeat calls during a long step. */
#define PROGRESS_OPS 20000

/* Bytes of a key or a value quoted in a reject's position or raw text. */
#define QUOTE_MAX 200

/* Bytes of the total-length word that starts an encoded record. */
#define ENC_LEN_BYTES 4

/* The key of the last row consumed, in its SQLite type. */
struct sq_key {
	int type;               /* SQLITE_INTEGER, _FLOAT, _TEXT, _BLOB; 0: none */
	int64_t i;
	double f;
	unsigned char *s;       /* text or blob bytes, owned */
	size_t len;
	size_t cap;
};

/*
 * What a field takes from a row, decided once: its column, its type,
 * whether it travels (group mode sends unread fields as NULL, still
 * converted so that rejects are the same), and whether its column is the
 * key's (then the value sq_take_key() already read is used).
 */
struct sq_field {
	int col;                /* -1: always NULL */
	enum rec_type type;
	bool drop;
	bool key;
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

	/* The direct encoder (sq_encode) and where it writes. */
	struct sq_field *fields;
	unsigned char nulls[(REC_MAX_FIELDS + 7) / 8]; /* a record's first bitmap */
	size_t bitmap;          /* bytes of the null bitmap */
	unsigned char *out;     /* next record's place in the frame, or NULL */
	size_t room;            /* bytes free at out */
	int mode;               /* test builds: SQ_DIRECT, _GENERAL, _CHECK */
};

/* How rows become records (test builds may choose; see sq_mode()). */
enum { SQ_DIRECT, SQ_GENERAL, SQ_CHECK };

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
	enum rec_type t = r->c->cfg->schema.fields[i].type;
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
	*rawlen = (size_t)n < QUOTE_MAX ? (size_t)n : QUOTE_MAX;
	return -1;
}

/* Send the reject of field i of the current row.  0, or a failure. */
static enum prov_status sq_reject(struct sq_run *r, const struct sq_key *cur,
				  int i, const char *reason, const char *raw,
				  size_t rawlen)
{
	struct prov_ctx *c = r->c;
	char full[CONV_REASON_MAX + 128], pos[QUOTE_MAX + 64];

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
	if (prov_emit(r->c, r->vals) < 0)
		return prov_failure(r->c);
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
		return sq_put(out, room, pos, &v->u.i, 8);
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
	size_t pos = sq_put(out, room, ENC_LEN_BYTES, r->nulls, r->bitmap);
	uint32_t total;

	for (int i = 0; i < r->nfields; i++) {
		const struct sq_field *f = &r->fields[i];
		int stype;
		int64_t x;
		double d;
		const char *s;
		size_t n, k;

		if (f->col < 0)
			continue; /* its bit is set in r->nulls, as a drop's */
		stype = f->key ? cur->type : sqlite3_column_type(st, f->col);
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
			x = f->key ? cur->i : sqlite3_column_int64(st, f->col);
			if (f->type == REC_INT) {
				pos = sq_put(out, room, pos, &x, 8);
			} else {
				d = (double)x;
				pos = sq_put(out, room, pos, &d, 8);
			}
			continue;
		case SQLITE_FLOAT:
			if (f->type != REC_FLOAT)
				break;
			d = f->key ? cur->f : sqlite3_column_double(st, f->col);
			if (!isfinite(d))
				break;
			if (f->drop)
				continue;
			pos = sq_put(out, room, pos, &d, 8);
			continue;
		case SQLITE_TEXT:
			if (f->type != REC_TEXT)
				break;
			if (f->key) {
				s = (const char *)cur->s;
				n = cur->len;
			} else {
				s = (const char *)sqlite3_column_text(st, f->col);
				n = (size_t)sqlite3_column_bytes(st, f->col);
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
				continue;
			}
			if (!conv_utf8_valid(s, n))
				break;
			pos = sq_put_text(out, room, pos, s, n);
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
		if (!r->vals[i].null) {
			pos = sq_put_value(out, room, pos, f->type, &r->vals[i]);
			continue;
		}
null:
		if (ENC_LEN_BYTES + r->bitmap <= room)
			out[ENC_LEN_BYTES + i / 8] |= (unsigned char)(1u << (i % 8));
	}
	total = (uint32_t)pos;
	sq_put(out, room, 0, &total, ENC_LEN_BYTES);
	return pos;
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
		m = rec_encode_dropping(&r->c->cfg->schema, r->vals,
					r->c->unused, want, n + 1);
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
	if (n > r->room) {
		/* A new frame, and the same row again (the same values). */
		if ((r->out = prov_room(c, true, &r->room)) == NULL)
			return prov_failure(c);
		if (n > r->room)
			return sq_row_general(r, cur); /* fails, and says why */
		n = sq_encode(r, cur, r->out, r->room, &bad, reason, &raw,
			      &rawlen, numbuf);
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

static enum prov_status sq_checkpoint(struct sq_run *r, bool done)
{
	unsigned char tok[PROV_TOKEN_MAX];
	size_t len;

	if (sq_token_write(r, done, tok, &len) < 0)
		return prov_fail(r->c, PROV_FAIL_PERMANENT,
				 "the key's value is too long for a resume "
				 "token (%zu bytes)", r->last.len);
	r->out = NULL; /* the frame is published */
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
static void sq_plan(struct sq_run *r)
{
	const struct rec_schema *s = &r->c->cfg->schema;

	r->mode = sq_mode();
	r->bitmap = ((size_t)r->nfields + 7) / 8;
	memset(r->nulls, 0, sizeof r->nulls);
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
	r.fields = calloc((size_t)r.nfields + 1, sizeof *r.fields);
	if (r.path == NULL || r.map == NULL || r.vals == NULL ||
	    r.scratch == NULL || r.fields == NULL) {
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
	rc = sq_resolve(c->cfg, p, r.st, r.map, &r.key_col, c->errbuf,
			sizeof c->errbuf);
	if (rc < 0) {
		st = rc == SQLMAP_NO_COLUMN ? PROV_FAIL_CONFIG
					    : PROV_FAIL_PERMANENT;
		goto out_close;
	}
	sq_plan(&r);
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
	free(r.fields);
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
	rc = sq_resolve(cfg, p, st, map, &key_col, msg, msglen);
	if (rc < 0) {
		rc = rc == SQLMAP_NO_COLUMN ? PROV_CHECK_CONFIG : -1;
		goto out_close;
	}
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
