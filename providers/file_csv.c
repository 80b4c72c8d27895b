/*
 * file_csv.c - CSV files for the file provider (file_csv.h): each field's
 * column (by header name, or by number without a header), then the
 * record loop.
 *
 * The loop takes records through the typed fast path (csvfast.h) for as
 * long as it takes them - encoded straight into the ring's frame when the
 * plan allows, else converted into r->vals - and through the general path
 * (csv.h, then conv_text() per field) for the one record it declined.
 * Both paths leave the parser just after the records they took, so the
 * offset and line of a checkpoint are the parser's position.
 */
#include "file_csv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_conf.h"
#include "file_run.h"
#include "sqlmap.h"

/* Longest column name quoted back in a message about the header. */
#define FIELD_SHOWN 64

/*
 * True when field i's source is just its own name (what the config fills
 * in for an unmapped field, with or without the JSON pointer slash).
 */
static bool source_is_default(const struct file_run *r, int i)
{
	const char *s = r->p->source[i], *name = file_field_name(r, i);

	return strcmp(s, name) == 0 || (s[0] == '/' && strcmp(s + 1, name) == 0);
}

/* A 1-based column number ("3"), as 0-based, or -1. */
static long column_number(const char *s)
{
	long v = 0;

	if (*s == '\0' || *s == '0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1000000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v - 1;
}

/* header = false: columns from numbers or positions; the same for all files. */
enum prov_status file_csv_map_positions(struct file_run *r)
{
	r->ncols = 0;
	for (int i = 0; i < r->schema->nfields; i++) {
		long col = column_number(r->p->source[i]);

		if (col < 0) {
			if (!source_is_default(r, i))
				return prov_fail(r->c, PROV_FAIL_PERMANENT,
						 "field %s: with header = false "
						 "the source \"%s\" must be a "
						 "column number",
						 file_field_name(r, i),
						 r->p->source[i]);
			col = i;
		}
		r->col[i] = (int)col;
		if ((size_t)col + 1 > r->ncols)
			r->ncols = (size_t)col + 1;
	}
	return ST_OK;
}

/*
 * Field i has no column in the header h of file name: a config error (no
 * restart), naming the columns there are and the nearest one.
 */
static enum prov_status no_column(struct file_run *r, const char *name,
				  const struct csv_record *h, int i,
				  const char *want)
{
	const char **cols = calloc(h->nfields + 1, sizeof *cols);
	char *text = malloc(h->nfields * (FIELD_SHOWN + 1) + 1);
	char what[256];
	enum prov_status st;

	if (cols == NULL || text == NULL) {
		st = prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
		goto out_free;
	}
	/* Each column as a C string, cut short and control bytes shown '?'. */
	for (size_t k = 0, at = 0; k < h->nfields; k++) {
		size_t n = h->fields[k].len < FIELD_SHOWN ? h->fields[k].len
							  : FIELD_SHOWN;

		cols[k] = text + at;
		for (size_t j = 0; j < n; j++) {
			unsigned char ch = (unsigned char)h->fields[k].p[j];

			text[at++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
		}
		text[at++] = '\0';
	}
	if (source_is_default(r, i))
		snprintf(what, sizeof what, "%s:1: field %s: the header has no "
			 "column \"%s\" (name one with map = %s=COLUMN)", name,
			 file_field_name(r, i), want, file_field_name(r, i));
	else
		snprintf(what, sizeof what, "%s:1: field %s is mapped to column "
			 "\"%.64s\", which the header does not have", name,
			 file_field_name(r, i), want);
	sqlmap_no_column(r->c->errbuf, sizeof r->c->errbuf, what, want, cols,
			 (int)h->nfields);
	r->c->fail_status = PROV_FAIL_CONFIG;
	st = PROV_FAIL_CONFIG;
out_free:
	free(cols);
	free(text);
	return st;
}

/*
 * header = true: find each field's column by name in this file's header;
 * every field must have one (each file of a glob is checked).
 */
static enum prov_status map_header(struct file_run *r, const char *name,
				   const struct csv_record *h)
{
	r->ncols = h->nfields;
	for (int i = 0; i < r->schema->nfields; i++) {
		bool dflt = source_is_default(r, i);
		const char *want = dflt ? file_field_name(r, i) : r->p->source[i];
		size_t wl = strlen(want);

		r->col[i] = -1;
		for (size_t k = 0; k < h->nfields; k++) {
			if (h->fields[k].len == wl &&
			    memcmp(h->fields[k].p, want, wl) == 0) {
				r->col[i] = (int)k;
				break;
			}
		}
		if (r->col[i] < 0)
			return no_column(r, name, h, i, want);
	}
	return ST_OK;
}

/*
 * The next CSV record of s, reading as needed.  Returns a csv_status, or
 * -2 with *st set when reading failed, or when a range (parallel) ends
 * inside a quoted field (PROV_FAIL_CUT: the supervisor reads the file
 * again whole, supervisor/par.h).
 */
static int csv_pull(struct file_run *r, struct file_src *s,
		    struct csv_record *rec, enum prov_status *st)
{
	for (;;) {
		int rc = csv_next(r->csv, rec);
		size_t got;

		if (rc != CSV_MORE)
			return rc;
		*st = file_src_read(r->c, s, r->buf, FILE_READ_BYTES, &got);
		if (*st != ST_OK)
			return -2;
		if (got == 0 && s->end != UINT64_MAX && r->p->whole &&
		    csv_in_quotes(r->csv)) {
			/* A range's end inside quotes: its cut was wrong. */
			*st = prov_fail(r->c, PROV_FAIL_CUT, "%s: a quoted "
					"field is open at byte %" PRIu64,
					s->name, s->end);
			return -2;
		}
		if (got == 0) {
			csv_finish(r->csv);
		} else if (r->bom_check && file_has_bom(r->buf, got)) {
			/* Offsets stay file offsets: the BOM is byte 0-2. */
			csv_reset(r->csv, 3, 1);
			csv_feed(r->csv, r->buf + 3, got - 3);
		} else {
			csv_feed(r->csv, r->buf, got);
		}
		r->bom_check = false;
	}
}

/*
 * An unquoted field that means NULL: empty, or one of the `null` markers.
 * A quoted field is never NULL, as in PostgreSQL's COPY CSV.
 */
static bool is_null_marker(const struct file_run *r, const char *p,
			   size_t len)
{
	if (len == 0)
		return true;
	for (int k = 0; k < r->fc->nnulls; k++)
		if (len == r->null_len[k] && memcmp(p, r->fc->nulls[k], len) == 0)
			return true;
	return false;
}

/* Field values of one CSV record; ST_OK, or rejected (1), or failure. */
static enum prov_status csv_values(struct file_run *r, const char *name,
				   const struct csv_record *rec, bool *rejected)
{
	char why[CONV_REASON_MAX];

	*rejected = false;
	if (r->fc->header ? rec->nfields != r->ncols : rec->nfields < r->ncols) {
		snprintf(r->reason, sizeof r->reason,
			 "expected %s%zu columns, got %zu",
			 r->fc->header ? "" : "at least ", r->ncols, rec->nfields);
		*rejected = true;
		return file_reject(r, name, rec->line, r->reason, rec->raw,
				   rec->raw_len);
	}
	for (int i = 0; i < r->schema->nfields; i++) {
		const struct csv_field *f;
		struct rec_value *v = &r->vals[i];

		if (r->col[i] < 0) {
			v->null = true;
			continue;
		}
		f = &rec->fields[r->col[i]];
		if (!f->quoted && is_null_marker(r, f->p, f->len)) {
			v->null = true;
			continue;
		}
		if (conv_text(&r->schema->fields[i], f->p, f->len, v, why,
			      sizeof why) < 0) {
			snprintf(r->reason, sizeof r->reason, "field %s: %s",
				 file_field_name(r, i), why);
			*rejected = true;
			return file_reject(r, name, rec->line, r->reason,
					   rec->raw, rec->raw_len);
		}
	}
	return ST_OK;
}

/* The fast path's plan for this file's columns (after its header). */
static int plan_fast(struct file_run *r)
{
	struct csvfast_options o = {
		.schema = r->schema,
		.col = r->col,
		.ncols = r->ncols,
		.exact_cols = r->fc->header,
		.delimiter = r->fc->delimiter,
		.quote = r->fc->quote,
		.nulls = (const char *const *)r->fc->nulls,
		.nnulls = r->fc->nnulls,
		.max_record = FILE_MAX_RECORD,
		.max_fields = CSV_DEFAULT_MAX_FIELDS,
		.drop = r->c->unused,
		/* Derived fields are encoded after the declared ones. */
		.whole = r->c->compute ? prov_whole_schema(r->c) : NULL,
	};

	return csvfast_plan(&r->fast, &o);
}

/* csvfast_encode_then()'s verdict: the runtime's derived fields, where. */
static enum csvfast_verdict compute_then(void *arg)
{
	int rc = prov_compute(arg);

	return rc == 0 ? CSVFAST_KEEP : rc > 0 ? CSVFAST_DROP : CSVFAST_REFUSE;
}

/*
 * The next record through the fast path, when it takes it: its values in
 * r->vals, its positions in *rec, and the parser past it.
 */
static bool take_fast(struct file_run *r, struct csv_record *rec)
{
	size_t avail, n;
	const char *in = csv_peek(r->csv, &avail);

	if (in == NULL)
		return false;
	n = csvfast_record(&r->fast, in, avail, r->vals);
	if (n == 0)
		return false;
	csv_take(r->csv, rec, n);
	return true;
}

/*
 * A checkpoint in the middle of a batch: the csv reader skips the records
 * taken so far (used bytes, taken records), which in, avail start after
 * from now on, and the checkpoint is made at its position.
 */
static enum prov_status batch_checkpoint(struct file_run *r, size_t idx,
					 const char **in, size_t *avail,
					 size_t *used, uint64_t *taken)
{
	uint64_t off, line;

	csv_skip(r->csv, *used, *taken);
	*in += *used;
	*avail -= *used;
	*used = 0;
	*taken = 0;
	csv_position(r->csv, &off, &line);
	return file_checkpoint(r, idx, off, line);
}

/*
 * The records at the parser's position through the fast path, encoded
 * straight into the frame (r->fast.enc), for as long as it takes them:
 * until it declines one (left, untouched, for the general path), the
 * buffer ends in a record, or one does not fit even in an empty frame
 * (the general path then fails it as too large).  The parser is moved
 * past the records taken, with a checkpoint wherever the runtime asks for
 * one (file_after_record()'s rules, per record): each batch of records stops
 * where the runtime would ask.  With derived fields or a `where`, each
 * record's values go through prov_compute() too (or its steps, when they
 * are all simple): one `where` drops is only read, and one whose
 * expression fails is left to the general path, which computes it again
 * and rejects it at its line, as it would have.
 */
static enum prov_status fast_batch(struct file_run *r, size_t idx)
{
	struct prov_ctx *c = r->c;
	struct csvfast_batch b;
	enum csvfast_stop why;
	size_t avail, used = 0, room;
	uint64_t taken = 0;
	const char *in = csv_peek(r->csv, &avail);
	unsigned char *out;
	bool fresh = false;
	enum prov_status st;
	/* Simple expressions run in the batch's loop, no call per record. */
	int nsteps = 0;
	const struct expr_simple_step *steps =
		c->compute != NULL ? prov_simple_steps(c, &nsteps) : NULL;

	if (in == NULL)
		return ST_OK;
	out = prov_room(c, false, &room);
	if (out == NULL)
		goto out_ring;
	for (;;) {
		if (c->compute == NULL) {
			why = csvfast_encode_batch(&r->fast, in + used,
						   avail - used, out, room,
						   prov_records_to_checkpoint(c),
						   PROV_FRAME_SLACK, &b);
		} else if (steps != NULL) {
			why = csvfast_encode_steps(&r->fast, in + used,
						   avail - used, out, room,
						   prov_records_to_checkpoint(c),
						   PROV_FRAME_SLACK,
						   prov_values(c), steps,
						   nsteps, &b);
			prov_filtered(c, b.seen - b.records);
		} else {
			why = csvfast_encode_then(&r->fast, in + used,
						  avail - used, out, room,
						  prov_records_to_checkpoint(c),
						  PROV_FRAME_SLACK,
						  prov_values(c), compute_then,
						  c, &b);
		}
		if (b.records > 0)
			prov_commit_records(c, b.len, b.records);
		if (b.seen > 0) {
			out += b.len;
			room -= b.len;
			used += b.used;
			taken += b.seen;
			fresh = false;
			file_beats(r, b.seen);
		}
		if (why == CSVFAST_NO_ROOM) {
			if (fresh)
				break;
			out = prov_room(c, true, &room);
			if (out == NULL)
				goto out_ring;
			fresh = true;
			continue;
		}
		if (why == CSVFAST_DECLINED || why == CSVFAST_REFUSED)
			break;
		if (!prov_want_checkpoint(c))
			continue;
		st = batch_checkpoint(r, idx, &in, &avail, &used, &taken);
		if (st != ST_OK)
			return st;
		out = prov_room(c, false, &room);
		if (out == NULL)
			goto out_ring;
	}
	csv_skip(r->csv, used, taken);
	return ST_OK;

out_ring:
	return prov_failure(c);
}

/* csvfast_read_then()'s verdict for a range reader's combine. */
static enum csvfast_verdict fold_then(void *arg)
{
	struct file_run *r = arg;
	struct prov_ctx *c = r->c;
	int rc;

	/* Stopped (too many groups): the encoding path takes over. */
	if (!prov_combining(c))
		return CSVFAST_REFUSE;
	if (c->compute != NULL) {
		rc = prov_compute(c);
		if (rc != 0)
			return rc > 0 ? CSVFAST_DROP : CSVFAST_REFUSE;
	}
	/* A failure is the general path's again, which words it. */
	if (prov_fold(c, c->compute ? prov_values(c) : r->vals) < 0)
		return CSVFAST_REFUSE;
	return CSVFAST_KEEP;
}

/*
 * fast_batch() for a range reader's combine: the records the fast path
 * takes are read into values and folded into the reader's groups
 * (prov_fold()), with a checkpoint wherever the runtime asks for one.
 */
static enum prov_status fold_batch(struct file_run *r, size_t idx)
{
	struct prov_ctx *c = r->c;
	struct rec_value *v = c->compute ? prov_values(c) : r->vals;
	struct csvfast_batch b;
	enum csvfast_stop why;
	size_t avail, used = 0;
	uint64_t taken = 0;
	const char *in = csv_peek(r->csv, &avail);
	enum prov_status st;

	if (in == NULL)
		return ST_OK;
	for (;;) {
		if (c->compute == NULL) {
			why = csvfast_fold(&r->fast, in + used, avail - used,
					   prov_records_to_checkpoint(c), v,
					   c->comb, &b);
			prov_folded(c, b.records);
		} else {
			why = csvfast_read_then(&r->fast, in + used,
						avail - used,
						prov_records_to_checkpoint(c),
						v, fold_then, r, &b);
		}
		if (b.seen > 0) {
			used += b.used;
			taken += b.seen;
			file_beats(r, b.seen);
		}
		if (why != CSVFAST_LIMIT || !prov_combining(c))
			break;
		if (!prov_want_checkpoint(c))
			continue;
		st = batch_checkpoint(r, idx, &in, &avail, &used, &taken);
		if (st != ST_OK)
			return st;
		/* The checkpoint's groups may have stopped the combine. */
		if (!prov_combining(c))
			return ST_OK;
	}
	csv_skip(r->csv, used, taken);
	return ST_OK;
}

enum prov_status file_csv_read(struct file_run *r, size_t idx,
			       struct file_src *s, uint64_t off, uint64_t line)
{
	const char *name = r->names[idx];
	struct csv_record rec;
	enum prov_status st = ST_OK;
	int rc;

	csv_reset(r->csv, 0, 1);
	r->bom_check = true;
	if (r->fc->header) {
		rc = csv_pull(r, s, &rec, &st);
		if (rc == -2)
			return st;
		if (rc == CSV_NOMEM)
			return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
		if (rc == CSV_END)
			return ST_OK; /* empty file */
		if (rc == CSV_MALFORMED)
			return prov_fail(r->c, PROV_FAIL_PERMANENT,
					 "%s:%" PRIu64 ": bad header: %s",
					 name, rec.line, rec.reason);
		st = map_header(r, name, &rec);
		if (st != ST_OK)
			return st;
	}
	if (off > 0) {
		st = file_src_seek(r->c, s, off);
		if (st != ST_OK)
			return st;
		csv_reset(r->csv, off, line);
		r->bom_check = false;
	}
	if (plan_fast(r) < 0 ||
	    (r->fc->pushdown && prov_combine_begin(r->c) < 0))
		return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");

	for (;;) {
		bool rejected = false;

		/* Then the general path reads the one record it stopped at. */
		if (r->fast.on && prov_combining(r->c)) {
			st = fold_batch(r, idx);
			if (st != ST_OK)
				return st;
		} else if (r->fast.on && r->fast.enc) {
			st = fast_batch(r, idx);
			if (st != ST_OK)
				return st;
		} else if (r->fast.on && take_fast(r, &rec)) {
			st = file_emit(r, name, rec.line, rec.raw, rec.raw_len);
			if (st == ST_OK)
				st = file_after_record(r, idx, rec.end_offset,
						       rec.next_line);
			if (st != ST_OK)
				return st;
			continue;
		}
		rc = csv_pull(r, s, &rec, &st);
		if (rc != CSV_RECORD && rc != CSV_MALFORMED)
			break;
		if (rc == CSV_MALFORMED) {
			st = file_reject(r, name, rec.line, rec.reason,
					 rec.raw, rec.raw_len);
		} else if (rec.raw_len == 0 && r->ncols != 1) {
			/* A blank line: no record, unless one column. */
		} else {
			st = csv_values(r, name, &rec, &rejected);
			if (st == ST_OK && !rejected)
				st = file_emit(r, name, rec.line, rec.raw,
					       rec.raw_len);
		}
		if (st == ST_OK)
			st = file_after_record(r, idx, rec.end_offset, rec.next_line);
		if (st != ST_OK)
			return st;
	}
	if (rc == -2)
		return st;
	if (rc == CSV_NOMEM)
		return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
	return ST_OK;
}

/*
 * --check of a CSV file with a header: read the header alone and resolve
 * the fields as a run would.  0, -1 (the file cannot be read), or
 * PROV_CHECK_CONFIG (a field without a column), with msg.
 */
int file_csv_check_header(const struct cfg *cfg,
			  const struct cfg_provider *p, const char *name,
			  char *msg, size_t msglen)
{
	struct prov_ctx c = { .cfg = cfg, .p = p };
	struct file_run r = { .c = &c, .p = p, .fc = file_conf(p),
			      .schema = &cfg->schema };
	struct csv_options o = {
		.delimiter = file_conf(p)->delimiter,
		.quote = file_conf(p)->quote,
		.max_record = FILE_MAX_RECORD,
	};
	struct file_src s = { .fd = -1 };
	struct csv_record rec;
	enum prov_status st = ST_OK;
	int rc = -1, got;

	r.csv = csv_new(&o);
	r.buf = malloc(FILE_READ_BYTES);
	r.col = calloc((size_t)cfg->schema.nfields + 1, sizeof *r.col);
	if (r.csv == NULL || r.buf == NULL || r.col == NULL) {
		snprintf(msg, msglen, "out of memory");
		goto out_free;
	}
	if (file_src_open(&c, &s, name) != ST_OK) {
		snprintf(msg, msglen, "%s", c.errbuf);
		goto out_free;
	}
	csv_reset(r.csv, 0, 1);
	r.bom_check = true;
	got = csv_pull(&r, &s, &rec, &st);
	if (got == -2) {
		snprintf(msg, msglen, "%s", c.errbuf);
	} else if (got == CSV_NOMEM) {
		snprintf(msg, msglen, "out of memory");
	} else if (got == CSV_MALFORMED) {
		snprintf(msg, msglen, "%s:%" PRIu64 ": bad header: %s", name,
			 rec.line, rec.reason);
	} else if (got == CSV_END) {
		rc = 0; /* empty: no header to check, no record to read */
	} else if (map_header(&r, name, &rec) != ST_OK) {
		snprintf(msg, msglen, "%s", c.errbuf);
		rc = c.fail_status == PROV_FAIL_CONFIG ? PROV_CHECK_CONFIG : -1;
	} else {
		rc = 0;
	}
	file_src_close(&s);
out_free:
	csv_free(r.csv);
	free(r.buf);
	free(r.col);
	return rc;
}
