/*
 * file_jsonl.c - JSON Lines files for the file provider (file_jsonl.h).
 *
 * Lines are found in the run's read buffer and handed out in place; only
 * a line cut by the buffer's end is copied, into the splitter's carry
 * (at most FILE_FILE_MAX_RECORD bytes of it: the rest is skipped and the line
 * rejected).  A line that is a record the one-pass reader takes is found
 * by that reader itself, which stops at its line feed (line_record()): no
 * separate search for it.  Each record goes first through the one-pass
 * reader (jfast.h), which takes every well-formed record whose fields convert;
 * what it declines (rejects, and the rare forms it leaves to jansson) is
 * read by jansson as before, so rejects and their reasons are jansson's.
 * jansson allocates per record: the values of a record point into its
 * document, which lives until the record is emitted.
 */
#include "file_jsonl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "file_run.h"
#include "jsonval.h"

/* One line out of the splitter. */
struct line {
	const char *p;
	size_t len;          /* without the LF */
	uint64_t no;         /* its line number */
	uint64_t end_off;    /* offset just after it and its LF */
	bool too_long;       /* p holds only its first FILE_MAX_RECORD bytes */
};

/* Append to the splitter's carry, keeping at most FILE_MAX_RECORD bytes. */
static enum prov_status carry(struct file_run *r, const char *p, size_t n)
{
	struct file_lines *ls = &r->ls;

	ls->partial = true;
	if (ls->carry.len + n > FILE_MAX_RECORD) {
		n = FILE_MAX_RECORD - ls->carry.len;
		ls->too_long = true;
	}
	if (buf_add(&ls->carry, p, n) < 0)
		return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
	return ST_OK;
}

/* The next line: 1 with *l, 0 at the end, -1 with *st on failure. */
static int line_next(struct file_run *r, struct file_src *s, struct line *l,
		     enum prov_status *st)
{
	struct file_lines *ls = &r->ls;

	for (;;) {
		size_t got;

		if (ls->pos < ls->len) {
			const char *p = r->buf + ls->pos;
			const char *lf = memchr(p, '\n', ls->len - ls->pos);
			size_t take = lf ? (size_t)(lf - p) : ls->len - ls->pos;

			if (lf == NULL || ls->partial) {
				*st = carry(r, p, take);
				if (*st != ST_OK)
					return -1;
			}
			ls->pos += take;
			ls->off += take;
			if (lf != NULL) {
				ls->pos++;
				ls->off++;
				l->p = ls->partial ? (const char *)ls->carry.p
						   : p;
				l->len = ls->partial ? ls->carry.len : take;
				goto line_done;
			}
			continue;
		}
		if (ls->eof) {
			if (!ls->partial)
				return 0;
			l->p = (const char *)ls->carry.p;
			l->len = ls->carry.len;
			goto line_done;
		}
		*st = file_src_read(r->c, s, r->buf, FILE_READ_BYTES, &got);
		if (*st != ST_OK)
			return -1;
		ls->pos = 0;
		ls->len = got;
		ls->eof = got == 0;
		if (r->bom_check && file_has_bom(r->buf, got)) {
			ls->pos = 3;
			ls->off += 3;
		}
		r->bom_check = false;
	}

line_done:
	l->no = ls->line++;
	l->end_off = ls->off;
	l->too_long = ls->too_long;
	/* The carry's bytes stay valid until the next call. */
	ls->partial = false;
	ls->too_long = false;
	ls->carry.len = 0;
	return 1;
}

/*
 * The line at the read position when it is a record the one-pass reader
 * takes, its end found by that same pass (no second one for the line
 * feed): true with *l, the values in r->vals.  Anything else (a line the
 * buffer cuts, a line feed inside the record, a record declined) is left
 * to line_next() and file_jsonl_record() as before.  No carry is pending
 * here: line_next() hands out only whole lines.
 */
static bool line_record(struct file_run *r, struct line *l)
{
	struct file_lines *ls = &r->ls;
	const char *p = r->buf + ls->pos;
	size_t len;

	if (ls->pos >= ls->len || *p != '{' || !r->jfast.on ||
	    jfast_line(&r->jfast, p, ls->len - ls->pos, r->vals, r->scratch,
		       &len) == 0)
		return false;
	ls->pos += len + 1;
	ls->off += len + 1;
	l->p = p;
	l->len = len;
	l->no = ls->line++;
	l->end_off = ls->off;
	l->too_long = false;
	return true;
}

/*
 * The lines at the read position that the one-pass reader takes, each
 * encoded straight into the frame (as prov_emit() would encode it), for
 * as long as it takes them: until the runtime wants a checkpoint (by the
 * count, or the frame's room), a line it does not take (*left: that
 * line is for line_next() and file_jsonl_record(), without trying the
 * one-pass reader on it again), the buffer's end, or a record that does
 * not fit in what is left of the frame (left to the record's own way,
 * which takes a new one).  Then the heartbeat and checkpoint of
 * file_after_record() for the records taken.  Only for the plain path
 * (no derived fields, `where` or combine: prov_emit()'s own).
 */
static enum prov_status fast_lines(struct file_run *r, size_t idx,
				   bool *left)
{
	struct prov_ctx *c = r->c;
	struct file_lines *ls = &r->ls;
	uint64_t max = prov_records_to_checkpoint(c), k = 0, line = ls->line;
	size_t pos = 0, at = ls->pos, room, len, n;
	unsigned char *out = prov_room(c, false, &room);

	*left = false;
	if (out == NULL)
		return prov_failure(c);
	while (k < max) {
		const char *p = r->buf + at;

		if (at >= ls->len || *p != '{' ||
		    jfast_line(&r->jfast, p, ls->len - at, r->vals, r->scratch,
			       &len) == 0) {
			*left = at < ls->len;
			break;
		}
		n = rec_plan_encode(&c->plan, r->vals, out + pos, room - pos);
		if (n == 0) {
			/* Counted by jfast_line(): its own way counts it
			 * again. */
			r->jfast.tries--;
			break;
		}
		pos += n;
		at += len + 1;
		line++;
		k++;
		if (room - pos < PROV_FRAME_SLACK)
			break;
	}
	if (k == 0)
		return ST_OK;
	prov_commit_records(c, pos, k);
	ls->off += at - ls->pos;
	ls->pos = at;
	ls->line = line;
	file_beats(r, k);
	if (prov_want_checkpoint(c))
		return file_checkpoint(r, idx, ls->off, ls->line);
	return ST_OK;
}

static bool blank_line(const char *p, size_t n)
{
	/* Mostly a record: its first byte says so. */
	if (n > 0 && p[0] == '{')
		return false;
	for (size_t k = 0; k < n; k++)
		if (p[k] != ' ' && p[k] != '\t' && p[k] != '\r')
			return false;
	return true;
}

enum prov_status file_jsonl_record(struct file_run *r, const char *name,
				   uint64_t line, const char *p, size_t len,
				   bool too_long)
{
	char why[CONV_REASON_MAX];
	json_error_t err;
	json_t *root;
	enum prov_status st = ST_OK;
	int i;

	if (too_long) {
		snprintf(r->reason, sizeof r->reason, "%s longer than %zu bytes",
			 r->json_record ? "record" : "line",
			 (size_t)FILE_MAX_RECORD);
		return file_reject(r, name, line, r->reason, p, len);
	}
	/* The one-pass reader takes what it can; the rest is jansson's. */
	if (r->jfast.on && jfast_record(&r->jfast, p, len, r->vals,
					r->scratch) > 0)
		return file_emit(r, name, line, p, len);
	root = json_loadb(p, len, JSON_DECODE_ANY, &err);
	if (root == NULL) {
		snprintf(r->reason, sizeof r->reason,
			 "invalid JSON: %s at column %d", err.text, err.column);
		return file_reject(r, name, line, r->reason, p, len);
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return file_reject(r, name, line, "not a JSON object", p,
				   len);
	}
	for (i = 0; i < r->schema->nfields; i++) {
		json_t *j = jsonptr_resolve(&r->ptrs[i], root);

		if (j == NULL) {
			r->vals[i].null = true;
			continue;
		}
		if (jsonval_convert(&r->schema->fields[i], j, &r->vals[i],
				    r->scratch[i], &r->dump[i], why,
				    sizeof why) < 0)
			break;
	}
	if (i < r->schema->nfields) {
		snprintf(r->reason, sizeof r->reason, "field %s: %s",
			 file_field_name(r, i), why);
		st = file_reject(r, name, line, r->reason, p, len);
	} else {
		st = file_emit(r, name, line, p, len);
	}
	/* Text values point into root: it lives until they are emitted. */
	json_decref(root);
	return st;
}

enum prov_status file_jsonl_read(struct file_run *r, size_t idx,
				 struct file_src *s, uint64_t off,
				 uint64_t line)
{
	const char *name = r->names[idx];
	enum prov_status st = ST_OK;
	struct line l;
	int rc;

	r->ls.pos = r->ls.len = 0;
	r->ls.off = 0;
	r->ls.line = 1;
	r->ls.eof = r->ls.partial = r->ls.too_long = false;
	r->ls.carry.len = 0;
	r->bom_check = true;
	if (off > 0) {
		st = file_src_seek(r->c, s, off);
		if (st != ST_OK)
			return st;
		r->ls.off = off;
		r->ls.line = line;
		r->bom_check = false;
	}
	for (;;) {
		bool left = false;

		/* Records batched into the frame: the plain path's only. */
		if (!r->c->emit_slow && r->jfast.on) {
			st = fast_lines(r, idx, &left);
			if (st != ST_OK)
				return st;
		}
		if (!left && line_record(r, &l)) {
			st = file_emit(r, name, l.no, l.p, l.len);
		} else {
			rc = line_next(r, s, &l, &st);
			if (rc != 1)
				return rc < 0 ? st : ST_OK;
			if (!l.too_long && blank_line(l.p, l.len))
				st = ST_OK;
			else
				st = file_jsonl_record(r, name, l.no, l.p,
						       l.len, l.too_long);
		}
		if (st == ST_OK)
			st = file_after_record(r, idx, l.end_off, l.no + 1);
		if (st != ST_OK)
			return st;
	}
}

enum prov_status file_jsonl_compile(struct file_run *r)
{
	char err[160];

	for (int i = 0; i < r->schema->nfields; i++) {
		const char *s = r->p->source[i];
		struct jsonptr *jp = &r->ptrs[i];

		if (s[0] == '/' || s[0] == '\0') {
			if (jsonptr_compile(jp, s, err, sizeof err) < 0)
				return prov_fail(r->c, PROV_FAIL_PERMANENT,
						 "field %s: %s",
						 file_field_name(r, i), err);
			continue;
		}
		/* One segment holding the key as it is: no escapes apply. */
		jp->seg = calloc(1, sizeof *jp->seg);
		jp->buf = strdup(s);
		if (jp->seg == NULL || jp->buf == NULL)
			return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
		jp->nseg = 1;
		jp->seg[0].key = jp->buf;
		jp->seg[0].len = strlen(s);
		jp->seg[0].index = -1;
	}
	if (jfast_plan(&r->jfast, r->schema, r->ptrs) < 0)
		return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
	return ST_OK;
}
