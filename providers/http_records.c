/*
 * http_records.c - the http provider's response bodies into records
 * (http_records.h): parsing, invalid UTF-8 marks, conversion, emitting.
 *
 * The per-record paths (emit_scanned -> jfast_object() for a page the
 * scanner took, emit_ndjson -> jfast_record() for a line; emit_record ->
 * convert for what jansson reads) are all in this file, static, so that
 * each inlines as one loop.
 */
#include "http_records.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/convert.h"
#include "http_conf.h"
#include "http_jpage.h"
#include "jfast.h"
#include "jsonval.h"

/*
 * NDJSON lines and a JSON page's records go first through the one-pass
 * reader (jfast.h), planned on the map's pointers and keys; what it
 * declines is jansson's as before.
 */
struct http_fast {
	struct jfast jf;
	struct jsonptr *ptrs;          /* shallow: the fields' own, or one
					  segment holding the key */
	struct jsonptr_seg *keys;      /* those segments */
	char (*scratch)[CONV_SCRATCH_MAX];
};

/* --- parsing a response ------------------------------------------------ */

/* Does s[0..len) hold only blanks? */
static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!http_is_ws(s[i]))
			return false;
	return true;
}

/*
 * Count the records of an NDJSON body (its non-blank lines).  A last line
 * without its newline that does not parse is a cut-off transfer.
 */
static int scan_ndjson(struct job *j, char *why, size_t wl)
{
	const char *s = (const char *)j->body.p, *end = s, *last = s;
	size_t n = 0;

	/* An empty body has no buffer: no arithmetic on NULL. */
	if (s != NULL)
		end = s + j->body.len;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;

		if (!blank(s, (size_t)(e - s)))
			n++;
		last = s;
		s = nl ? nl + 1 : end;
	}
	if (j->body.len > 0 && end[-1] != '\n' &&
	    !blank(last, (size_t)(end - last))) {
		json_error_t e;
		json_t *v = json_loadb(last, (size_t)(end - last),
				       JSON_ALLOW_NUL | JSON_DECODE_ANY, &e);

		/* Invalid UTF-8 is that line's reject, not a cut-off. */
		if (v == NULL &&
		    json_error_code(&e) != json_error_invalid_utf8) {
			snprintf(why, wl, "response cut off (last line is not "
				 "JSON: %s)", e.text);
			return -1;
		}
		json_decref(v);
	}
	j->nrecords = n;
	return 0;
}

/*
 * Invalid UTF-8 in a JSON body.  jansson refuses the whole document for
 * one bad byte, but the byte belongs to one record: that record is one
 * reject, as the same bytes in a JSON Lines file are.  Each byte that is
 * not part of a well-formed UTF-8 sequence is replaced by a mark, the code
 * point MARK_BASE + the byte (supplementary private use plane: F3 B0 8x
 * xx), and the copy is parsed; emit_json() rejects every record holding a
 * mark.  A body that already holds such a code point (raw or escaped) is
 * not marked: it fails as before.
 */
#define MARK_BASE 0xF0000u
#define MARK_LEN 4

/* Is s[0..n) (n >= MARK_LEN) a mark?  Its byte, or -1. */
static int mark_at(const unsigned char *s, size_t n)
{
	if (n < MARK_LEN || s[0] != 0xF3 || s[1] != 0xB0 ||
	    (s[2] & 0xFC) != 0x80 || (s[3] & 0xC0) != 0x80)
		return -1;
	return (s[2] & 0x03) << 6 | (s[3] & 0x3F);
}

/*
 * The body with every invalid byte marked, or NULL when the body holds a
 * mark already (or no memory).  Sets *len.
 */
static char *mark_invalid(const struct buf *b, size_t *len)
{
	const unsigned char *s = (const unsigned char *)b->p;
	struct buf out = { 0 };
	size_t i = 0, run = 0;

	if (memmem(b->p, b->len, "\\udb80", 6) != NULL ||
	    memmem(b->p, b->len, "\\uDB80", 6) != NULL)
		return NULL;
	while (i < b->len) {
		size_t n = s[i] < 0x80 ? 1 :
			   conv_utf8_seq(s + i, b->len - i);
		unsigned char m[MARK_LEN];
		unsigned v;

		if (n == MARK_LEN && mark_at(s + i, n) >= 0)
			goto out_fail;
		if (n > 0) {
			i += n;
			run += n;
			continue;
		}
		v = MARK_BASE + s[i];
		m[0] = (unsigned char)(0xF0 | v >> 18);
		m[1] = (unsigned char)(0x80 | (v >> 12 & 0x3F));
		m[2] = (unsigned char)(0x80 | (v >> 6 & 0x3F));
		m[3] = (unsigned char)(0x80 | (v & 0x3F));
		if (buf_add(&out, s + i - run, run) < 0 ||
		    buf_add(&out, m, MARK_LEN) < 0)
			goto out_fail;
		run = 0;
		i++;
	}
	if (buf_add(&out, s + i - run, run) < 0)
		goto out_fail;
	*len = out.len;
	return (char *)buf_take(&out);

out_fail:
	buf_free(&out);
	return NULL;
}

/* The first marked byte in a string, or -1. */
static int mark_in(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	const unsigned char *p;

	while ((p = memchr(s, 0xF3, n)) != NULL) {
		int b = mark_at(p, n - (size_t)(p - s));

		if (b >= 0)
			return b;
		n -= (size_t)(p + 1 - s);
		s = p + 1;
	}
	return -1;
}

/* The first marked byte in a value (its strings and keys), or -1. */
int http_marked_byte(json_t *v)
{
	const char *key;
	json_t *m;
	size_t i;
	int b = -1;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return mark_in(json_string_value(v), json_string_length(v));
	case JSON_OBJECT:
		json_object_foreach(v, key, m) {
			b = mark_in(key, strlen(key));
			if (b < 0)
				b = http_marked_byte(m);
			if (b >= 0)
				break;
		}
		return b;
	case JSON_ARRAY:
		json_array_foreach(v, i, m)
			if ((b = http_marked_byte(m)) >= 0)
				break;
		return b;
	default:
		return -1;
	}
}

/* Turn each mark in the NUL-terminated s back into U+FFFD, in place. */
static void unmark(char *s)
{
	char *o = s;

	for (size_t n = strlen(s); *s; n--) {
		if (mark_at((const unsigned char *)s, n) >= 0) {
			memcpy(o, "\xEF\xBF\xBD", 3);
			o += 3;
			s += MARK_LEN;
			n -= MARK_LEN - 1;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

/*
 * The page scanner (http_jpage.h) on job j's body: true when it took it
 * (j->fast, nrecords and the cursor's place set); false: jansson's.
 */
static bool scan_page(struct http *h, struct job *j)
{
	struct http_jpage pg = { .spans = &j->spans };
	const struct jsonptr *cur = h->pagination == CFG_PAGE_CURSOR ?
					    &h->curptr : NULL;

	/* Out of memory too: jansson's parse then fails as it would. */
	if (http_jpage_scan((const char *)j->body.p, j->body.len, &h->recptr,
			    cur, &pg) <= 0)
		return false;
	j->fast = true;
	j->nrecords = pg.nrecords;
	j->cur_found = pg.cur_found;
	j->cur_off = pg.cur_off;
	j->cur_len = pg.cur_len;
	return true;
}

int http_records_cursor(struct http *h, struct job *j, json_t **v)
{
	*v = NULL;
	if (!j->fast) {
		*v = json_incref(jsonptr_resolve(&h->curptr, j->doc));
		return 0;
	}
	if (!j->cur_found)
		return 0;
	*v = json_loadb((const char *)j->body.p + j->cur_off, j->cur_len,
			JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	return *v != NULL ? 0 : -1;
}

/*
 * Parse a 2xx body.  Returns 0 (doc, records, nrecords set), -1 for a body
 * that is not JSON (cut off: worth a retry) or -2 for one whose shape no
 * retry will change; why says what is wrong.
 */
int http_records_parse(struct http *h, struct job *j, char *why, size_t wl)
{
	const struct http_conf *hc = http_conf(h->p);
	json_error_t e;
	json_t *arr;

	if (hc->response == CFG_RESP_NDJSON)
		return scan_ndjson(j, why, wl);
	j->marked = false;
	j->fast = false;
	if (h->fast != NULL && scan_page(h, j))
		return 0;
	j->doc = json_loadb(j->body.p ? (const char *)j->body.p : "",
			    j->body.len, JSON_ALLOW_NUL, &e);
	if (j->doc == NULL && json_error_code(&e) == json_error_invalid_utf8) {
		size_t len;
		char *marked = mark_invalid(&j->body, &len);

		if (marked != NULL) {
			j->doc = json_loadb(marked, len, JSON_ALLOW_NUL, NULL);
			j->marked = j->doc != NULL;
			free(marked);
		}
	}
	if (j->doc == NULL) {
		snprintf(why, wl, "response is not JSON (line %d: %s)", e.line,
			 e.text);
		/* Nesting past jansson's depth limit is no cut-off transfer:
		 * the same body would come again. */
		return json_error_code(&e) == json_error_stack_overflow ? -2
									: -1;
	}
	arr = jsonptr_resolve(&h->recptr, j->doc);
	if (arr == NULL) {
		snprintf(why, wl, "no value at records pointer \"%.100s\"",
			 hc->records ? hc->records : "");
		return -2;
	}
	if (json_is_null(arr)) {
		j->nrecords = 0;
		return 0;
	}
	if (!json_is_array(arr)) {
		snprintf(why, wl, "records pointer \"%.100s\" is not an array",
			 hc->records ? hc->records : "");
		return -2;
	}
	j->records = arr;
	j->nrecords = json_array_size(arr);
	return 0;
}

/* --- emitting ---------------------------------------------------------- */

/* Convert one JSON value into field f.  0, or -1 with a reason. */
static int convert(struct http_field *f, json_t *v, struct rec_value *out,
		   char *reason, size_t rl)
{
	char why[CONV_REASON_MAX];

	if (jsonval_convert(f->field, v, out, f->scratch, &f->json, why,
			    sizeof why) == 0)
		return 0;
	snprintf(reason, rl, "field %s: %s", f->name, why);
	return -1;
}

static enum prov_status reject(struct http *h, const char *pos,
			       const char *reason, json_t *rec,
			       const char *raw, size_t rawlen)
{
	char *dump = NULL;
	int rc;

	if (raw == NULL && rec != NULL) {
		dump = json_dumps(rec, JSON_COMPACT | JSON_ENCODE_ANY);
		/* Marked bytes show as U+FFFD, as invalid UTF-8 does. */
		if (dump != NULL)
			unmark(dump);
		raw = dump;
		rawlen = dump ? strlen(dump) : 0;
	}
	rc = prov_reject(h->c, pos, reason, raw, rawlen);
	free(dump);
	return rc < 0 ? prov_failure(h->c) : PROV_DONE;
}

/* since_field: a number (as a number) or a string (bytewise) order. */
static int since_kind(const json_t *v)
{
	return json_is_integer(v) ? 1 : json_is_real(v) ? 2 :
	       json_is_string(v) ? 3 : 0;
}

static int since_cmp(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b))
		return (json_integer_value(a) > json_integer_value(b)) -
		       (json_integer_value(a) < json_integer_value(b));
	if (json_is_number(a) && json_is_number(b))
		return (json_number_value(a) > json_number_value(b)) -
		       (json_number_value(a) < json_number_value(b));
	return strcmp(json_string_value(a), json_string_value(b));
}

/* The record's since_field, or NULL and why (a reject). */
static json_t *since_of(struct http *h, json_t *rec, char *why, size_t wl)
{
	const char *f = http_conf(h->p)->since_field;
	json_t *v = jsonptr_resolve(&h->sinceptr, rec);
	int k = since_kind(v);

	if (k == 0) {
		snprintf(why, wl, "since_field %.100s is %s", f,
			 v ? "neither a number nor a string" : "missing");
		return NULL;
	}
	if (h->since_max != NULL &&
	    (k == 3) != (since_kind(h->since_max) == 3)) {
		snprintf(why, wl, "since_field %.100s is a %s, others a %s", f,
			 k == 3 ? "string" : "number",
			 k == 3 ? "number" : "string");
		return NULL;
	}
	return v;
}

/* Convert and emit one record (or reject it). */
static enum prov_status emit_record(struct http *h, json_t *rec,
				    const char *pos, const char *raw,
				    size_t rawlen)
{
	const struct rec_schema *s = &h->c->cfg->schema;
	char reason[CONV_REASON_MAX + 160];
	json_t *since = NULL;

	if (!json_is_object(rec))
		return reject(h, pos, "record is not a JSON object", rec, raw,
			      rawlen);
	if (h->since_on &&
	    (since = since_of(h, rec, reason, sizeof reason)) == NULL)
		return reject(h, pos, reason, rec, raw, rawlen);
	for (int i = 0; i < s->nfields; i++) {
		struct http_field *f = &h->fields[i];
		json_t *v = f->is_ptr ? jsonptr_resolve(&f->ptr, rec) :
					json_object_get(rec, f->key);

		if (convert(f, v, &h->vals[i], reason, sizeof reason) < 0)
			return reject(h, pos, reason, rec, raw, rawlen);
	}
	switch (prov_emit(h->c, h->vals)) {
	case 0:
		break;
	case 1:
		return reject(h, pos, h->c->why, rec, raw, rawlen);
	default:
		return prov_failure(h->c);
	}
	if (since != NULL &&
	    (h->since_max == NULL || since_cmp(since, h->since_max) > 0)) {
		json_decref(h->since_max);
		h->since_max = json_incref(since);
	}
	return PROV_DONE;
}

/*
 * Record k of a scanned page read by jansson from its own bytes: emitted
 * (or rejected), or, with why, rejected for that reason (prov_emit's),
 * the raw record written as jansson writes it, as the whole page's tree
 * would.
 */
static enum prov_status emit_parsed(struct http *h, struct job *j,
				    const char *pub, size_t k,
				    const char *why)
{
	const size_t *sp = (const size_t *)j->spans.p + 2 * k;
	char pos[HTTP_URL_PUB_MAX + 64];
	enum prov_status st;
	json_t *rec = json_loadb((const char *)j->body.p + sp[0],
				 sp[1] - sp[0],
				 JSON_ALLOW_NUL | JSON_DECODE_ANY, NULL);

	/* The scanner checked it: only memory can fail it. */
	if (rec == NULL)
		return prov_fail(h->c, PROV_FAIL_RETRY, "out of memory");
	snprintf(pos, sizeof pos, "%s page %ld record %zu", pub, j->page,
		 k + 1);
	st = why != NULL ? reject(h, pos, why, rec, NULL, 0) :
			   emit_record(h, rec, pos, NULL, 0);
	json_decref(rec);
	return st;
}

/*
 * A scanned page's records: each element through the one-pass reader,
 * those it declines (and every one with since_field, which wants its
 * value as jansson's) through jansson.  The position text is written only
 * for a reject.
 */
static enum prov_status emit_scanned(struct http *h, struct job *j,
				     const char *pub)
{
	const char *body = (const char *)j->body.p;
	const size_t *sp = (const size_t *)j->spans.p;
	struct http_fast *f = h->fast;
	bool on = f->jf.on && !h->since_on;
	enum prov_status st;

	for (size_t k = 0; k < j->nrecords; k++) {
		size_t len = sp[2 * k + 1] - sp[2 * k], got = 0;

		if (on && jfast_object(&f->jf, body + sp[2 * k], len, h->vals,
				       f->scratch, &got) > 0 && got == len) {
			int rc = prov_emit(h->c, h->vals);

			if (rc == 0)
				continue;
			if (rc < 0)
				return prov_failure(h->c);
			st = emit_parsed(h, j, pub, k, h->c->why);
		} else {
			st = emit_parsed(h, j, pub, k, NULL);
		}
		if (st != PROV_DONE)
			return st;
	}
	return PROV_DONE;
}

static enum prov_status emit_json(struct http *h, struct job *j,
				  const char *pub)
{
	char pos[HTTP_URL_PUB_MAX + 64];
	enum prov_status st;

	if (j->fast)
		return emit_scanned(h, j, pub);

	for (size_t k = 0; k < j->nrecords; k++) {
		json_t *rec = json_array_get(j->records, k);
		char reason[64];
		int b;

		snprintf(pos, sizeof pos, "%s page %ld record %zu", pub,
			 j->page, k + 1);
		if (j->marked && (b = http_marked_byte(rec)) >= 0) {
			/* What jansson says of the same bytes on their own. */
			snprintf(reason, sizeof reason, "invalid JSON: unable "
				 "to decode byte 0x%x", (unsigned)b);
			st = reject(h, pos, reason, rec, NULL, 0);
		} else {
			st = emit_record(h, rec, pos, NULL, 0);
		}
		if (st != PROV_DONE)
			return st;
	}
	return PROV_DONE;
}

/* Emit the record the one-pass reader took from raw[0..rawlen). */
static enum prov_status emit_taken(struct http *h, const char *pos,
				   const char *raw, size_t rawlen)
{
	switch (prov_emit(h->c, h->vals)) {
	case 0:
		return PROV_DONE;
	case 1:
		return reject(h, pos, h->c->why, NULL, raw, rawlen);
	default:
		return prov_failure(h->c);
	}
}

static enum prov_status emit_ndjson(struct http *h, struct job *j,
				    const char *pub)
{
	const char *s = (const char *)j->body.p;
	const char *end = s ? s + j->body.len : s;
	char pos[HTTP_URL_PUB_MAX + 64];
	enum prov_status st = PROV_DONE;
	size_t line = 0;

	while (s < end && st == PROV_DONE) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = (size_t)((nl ? nl : end) - s);
		json_error_t e;
		json_t *rec;
		char reason[256];

		line++;
		if (!blank(s, len)) {
			snprintf(pos, sizeof pos, "%s page %ld line %zu", pub,
				 j->page, line);
			if (h->fast != NULL && h->fast->jf.on &&
			    jfast_record(&h->fast->jf, s, len, h->vals,
					 h->fast->scratch) > 0) {
				st = emit_taken(h, pos, s, len);
				s = nl ? nl + 1 : end;
				continue;
			}
			rec = json_loadb(s, len, JSON_ALLOW_NUL |
					 JSON_DECODE_ANY, &e);
			if (rec == NULL) {
				snprintf(reason, sizeof reason,
					 "invalid JSON: %s", e.text);
				st = reject(h, pos, reason, NULL, s, len);
			} else {
				st = emit_record(h, rec, pos, s, len);
				json_decref(rec);
			}
		}
		s = nl ? nl + 1 : end;
	}
	return st;
}


enum prov_status http_records_emit(struct http *h, struct job *j,
				   const char *pub)
{
	const struct http_conf *hc = http_conf(h->p);
	return hc->response == CFG_RESP_NDJSON ? emit_ndjson(h, j, pub) :
						    emit_json(h, j, pub);
}

/* --- the map ------------------------------------------------------------ */

/* The one-pass reader, on the compiled map. */
static enum prov_status plan_fast(struct http *h)
{
	const struct rec_schema *s = &h->p->schema;
	size_t n = (size_t)s->nfields + 1;
	struct http_fast *l = calloc(1, sizeof *l);

	h->fast = l;
	if (l == NULL)
		goto out_nomem;
	l->ptrs = calloc(n, sizeof *l->ptrs);
	l->keys = calloc(n, sizeof *l->keys);
	l->scratch = calloc(n, sizeof *l->scratch);
	if (l->ptrs == NULL || l->keys == NULL || l->scratch == NULL)
		goto out_nomem;
	for (int i = 0; i < s->nfields; i++) {
		struct http_field *f = &h->fields[i];

		if (f->is_ptr) {
			l->ptrs[i] = f->ptr;
			continue;
		}
		l->keys[i].key = f->key;
		l->keys[i].len = strlen(f->key);
		l->keys[i].index = -1;
		l->ptrs[i].seg = &l->keys[i];
		l->ptrs[i].nseg = 1;
	}
	if (jfast_plan(&l->jf, s, l->ptrs) < 0)
		goto out_nomem;
	return PROV_DONE;

out_nomem:
	return prov_fail(h->c, PROV_FAIL_RETRY, "out of memory");
}

static void free_fast(struct http *h)
{
	struct http_fast *l = h->fast;

	if (l == NULL)
		return;
	jfast_free(&l->jf);
	free(l->ptrs);
	free(l->keys);
	free(l->scratch);
	free(l);
	h->fast = NULL;
}

enum prov_status http_records_compile(struct http *h)
{
	const struct cfg_provider *p = h->p;
	const struct rec_schema *s = &p->schema;
	char err[256];

	h->fields = calloc((size_t)s->nfields, sizeof *h->fields);
	h->vals = calloc((size_t)s->nfields, sizeof *h->vals);
	if (h->fields == NULL || h->vals == NULL)
		return prov_fail(h->c, PROV_FAIL_RETRY, "out of memory");
	for (int i = 0; i < s->nfields; i++) {
		struct http_field *f = &h->fields[i];
		const char *src = p->source[i];

		f->name = s->fields[i].name;
		f->field = &s->fields[i];
		f->type = s->fields[i].type;
		f->key = src;
		f->is_ptr = src[0] == '/';
		if (f->is_ptr && jsonptr_compile(&f->ptr, src, err,
						 sizeof err) < 0)
			return prov_fail(h->c, PROV_FAIL_PERMANENT,
					 "map %s: %s", f->name, err);
	}
	return plan_fast(h);
}

void http_records_free(struct http *h)
{
	const struct rec_schema *s = &h->c->cfg->schema;

	if (h->fields != NULL) {
		for (int i = 0; i < s->nfields; i++) {
			jsonptr_free(&h->fields[i].ptr);
			buf_free(&h->fields[i].json);
		}
		free(h->fields);
	}
	free(h->vals);
	free_fast(h);
}
