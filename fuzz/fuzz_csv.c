/*
 * fuzz_csv.c - the streaming CSV parser (providers/csv.c).
 *
 * Input: one byte of options (delimiter, quote, small limits), one byte
 * that chooses how the stream is cut into buffers, then the CSV text.
 * The text is parsed twice: fed whole, and fed in pieces (as file.c does
 * with read() and gzread()).  csv.h promises the same records, reasons
 * and offsets whatever the boundaries; any difference aborts.  Every
 * field and raw byte is read, so ASan sees any pointer past what was fed.
 *
 * Then the typed fast path (csvfast.h) is tried at every record start of
 * the whole parse, for a four-field schema chosen by the options: each
 * record it takes must be the record the parser gives next, of the right
 * length, with the values that conv_text() gives its fields (bit for bit),
 * and no record the general path would reject or skip.  The encoding fast
 * path (csvfast_encode(), some fields dropped as the runtime drops them)
 * must take exactly the same records, in rec_encode_dropping()'s bytes of
 * the general path's values, writing nothing past the room it is given;
 * and a batch of them (csvfast_encode_batch()) from any record start must
 * be those records one after another.  With a computed field and a
 * verdict per record (csvfast_encode_then(): kept, dropped or refused by
 * a pattern), the batch must be the kept ones among those records, each
 * with its computed value after the columns', and stop at the refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/convert.h"
#include "../providers/csv.h"
#include "../providers/csvfast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A summary of every record, to compare two parses. */
struct trace {
	unsigned char *p;
	size_t len, cap;
};

static void put(struct trace *t, const void *p, size_t n)
{
	if (t->len + n > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;

		while (cap < t->len + n)
			cap *= 2;
		t->p = realloc(t->p, cap);
		if (t->p == NULL)
			abort();
		t->cap = cap;
	}
	if (n)
		memcpy(t->p + t->len, p, n);
	t->len += n;
}

static void put_u64(struct trace *t, uint64_t v)
{
	put(t, &v, sizeof v);
}

static void record(struct trace *t, int st, const struct csv_record *r)
{
	put_u64(t, (uint64_t)st);
	put_u64(t, r->line);
	put_u64(t, r->next_line);
	put_u64(t, r->offset);
	put_u64(t, r->end_offset);
	put_u64(t, r->raw_len);
	put(t, r->raw, r->raw_len);
	if (r->end_offset < r->offset)
		abort();
	if (st == CSV_MALFORMED) {
		if (r->reason == NULL)
			abort();
		put(t, r->reason, strlen(r->reason));
		return;
	}
	put_u64(t, r->nfields);
	for (size_t i = 0; i < r->nfields; i++) {
		put_u64(t, r->fields[i].len);
		put_u64(t, r->fields[i].quoted);
		if (r->fields[i].len)
			put(t, r->fields[i].p, r->fields[i].len);
	}
}

/*
 * Parse text with options o, fed in pieces of `step` bytes (0: whole).
 * Returns 0, or -1 when the parser ran out of memory.
 */
static int parse(const struct csv_options *o, const uint8_t *text, size_t len,
		 size_t step, struct trace *t)
{
	struct csv_parser *p = csv_new(o);
	struct csv_record r;
	size_t pos = 0;
	char *piece = NULL;
	int st, rc = 0;

	if (p == NULL)
		abort();
	for (;;) {
		st = csv_next(p, &r);
		if (st == CSV_RECORD || st == CSV_MALFORMED) {
			record(t, st, &r);
			continue;
		}
		if (st == CSV_NOMEM) {
			rc = -1;
			break;
		}
		if (st == CSV_END)
			break;
		/* CSV_MORE */
		if (pos == len) {
			csv_finish(p);
			pos = len + 1;
			continue;
		}
		if (pos > len)
			abort(); /* MORE after finish */
		{
			size_t n = step == 0 || len - pos < step ? len - pos : step;

			/* A fresh copy per piece: records must not point at old ones. */
			free(piece);
			piece = malloc(n ? n : 1);
			if (piece == NULL)
				abort();
			memcpy(piece, text + pos, n);
			csv_feed(p, piece, n);
			pos += n;
		}
	}
	csv_free(p);
	free(piece);
	return rc;
}

static bool same(enum rec_type t, const struct rec_value *a,
		 const struct rec_value *b)
{
	if (a->null || b->null)
		return a->null == b->null;
	switch (t) {
	case REC_FLOAT:
		return memcmp(&a->u.f, &b->u.f, sizeof a->u.f) == 0;
	case REC_BOOL:
		return a->u.b == b->u.b;
	case REC_TEXT:
		return a->u.s.len == b->u.s.len &&
		       memcmp(a->u.s.p, b->u.s.p, a->u.s.len) == 0;
	default:
		return a->u.i == b->u.i;
	}
}

/* The general path's values for r (file.c's rules); false: a reject. */
static bool general_values(const struct csvfast *f, const struct csv_record *r,
			   const struct rec_schema *s, struct rec_value *v)
{
	char why[CONV_REASON_MAX];

	if (f->exact_cols ? r->nfields != f->ncols : r->nfields < f->ncols)
		return false;
	for (int i = 0; i < s->nfields; i++) {
		const struct csv_field *x = &r->fields[i];

		/* An unquoted "" is NULL, and so is an unquoted marker. */
		if (!x->quoted &&
		    (x->len == 0 ||
		     (f->nnulls > 0 && x->len == f->null_len[0] &&
		      memcmp(x->p, f->null_text[0], x->len) == 0))) {
			v[i].null = true;
			continue;
		}
		if (conv_text(&s->fields[i], x->p, x->len, &v[i], why,
			      sizeof why) < 0)
			return false;
	}
	return true;
}

/*
 * csvfast_encode_batch() with fb at in[0..avail) against csvfast_encode()
 * with fs (planned alike; the singles are checked against the general
 * path as the parse goes on) record after record: the same records and
 * bytes, nothing written past the room, and the stop it says.
 */
static void batch_agrees(struct csvfast *fb, struct csvfast *fs,
			 const char *in, size_t avail, uint64_t max,
			 size_t slack)
{
	static unsigned char got[1024 + 16], want[1024];
	struct csvfast_batch b;
	enum csvfast_stop why, stop = CSVFAST_LIMIT;
	size_t used = 0, pos = 0, e, elen;
	uint64_t n = 0;

	memset(got + 1024, 0xa5, 16);
	why = csvfast_encode_batch(fb, in, avail, got, 1024, max, slack, &b);
	for (int k = 0; k < 16; k++)
		if (got[1024 + k] != 0xa5)
			abort();
	while (n < max) {
		e = csvfast_encode(fs, in + used, avail - used, want + pos,
				   1024 - pos, &elen);
		if (e == 0 || e == CSVFAST_FULL) {
			stop = e == 0 ? CSVFAST_DECLINED : CSVFAST_NO_ROOM;
			break;
		}
		used += e;
		pos += elen;
		n++;
		if (1024 - pos < slack)
			break;
	}
	if (why != stop || b.records != n || b.used != used || b.len != pos ||
	    memcmp(got, want, pos) != 0 || fb->on != fs->on)
		abort();
}

/* csvfast_encode_then()'s verdicts: two bits per record from a pattern. */
struct verdicts {
	unsigned pattern;
	int calls;
	struct rec_value *v;
};

static enum csvfast_verdict verdict_of(unsigned pattern, int call)
{
	switch ((pattern >> (2 * (call % 8))) & 3) {
	case 1:
		return CSVFAST_DROP;
	case 2:
		return CSVFAST_REFUSE;
	default:
		return CSVFAST_KEEP;
	}
}

static enum csvfast_verdict then_verdict(void *arg)
{
	struct verdicts *vd = arg;

	vd->v[4].null = false;
	vd->v[4].u.i = vd->calls;
	return verdict_of(vd->pattern, vd->calls++);
}

/*
 * csvfast_encode_then() with ft (planned with a fifth, computed int
 * field, dropped when drop4) against csvfast_encode() with fs record
 * after record, the verdicts applied: the kept records' bytes with the
 * computed value (the call's number) appended, the dropped ones consumed
 * and absent, the stop at a refused one.
 */
static void then_agrees(struct csvfast *ft, struct csvfast *fs,
			const char *in, size_t avail, uint64_t max,
			size_t slack, unsigned pattern, bool drop4)
{
	static unsigned char got[1024 + 16], want[1024 + 8];
	struct rec_value v[5];
	struct verdicts vd = { pattern, 0, v };
	struct csvfast_batch b;
	enum csvfast_stop why, stop = CSVFAST_LIMIT;
	size_t used = 0, pos = 0, e, elen;
	uint64_t n = 0, seen = 0;
	int call = 0;

	memset(got + 1024, 0xa5, 16);
	why = csvfast_encode_then(ft, in, avail, got, 1024, max, slack, v,
				  then_verdict, &vd, &b);
	for (int k = 0; k < 16; k++)
		if (got[1024 + k] != 0xa5)
			abort();
	while (n < max) {
		enum csvfast_verdict d;
		uint32_t total;

		e = csvfast_encode(fs, in + used, avail - used, want + pos,
				   1024 - pos, &elen);
		if (e == 0 || e == CSVFAST_FULL) {
			stop = e == 0 ? CSVFAST_DECLINED : CSVFAST_NO_ROOM;
			break;
		}
		d = verdict_of(pattern, call++);
		if (d == CSVFAST_REFUSE) {
			stop = CSVFAST_REFUSED;
			break;
		}
		if (d == CSVFAST_DROP) {
			used += e;
			seen++;
			continue;
		}
		if (drop4) {
			want[pos + 4] |= 1u << 4;
		} else {
			int64_t x = call - 1;

			if (1024 - pos - elen < 8) {
				stop = CSVFAST_NO_ROOM;
				break;
			}
			memcpy(want + pos + elen, &x, 8);
			elen += 8;
			total = (uint32_t)elen;
			memcpy(want + pos, &total, 4);
		}
		used += e;
		pos += elen;
		seen++;
		n++;
		if (1024 - pos < slack)
			break;
	}
	if (why != stop || b.records != n || b.seen != seen || b.used != used ||
	    b.len != pos || memcmp(got, want, pos) != 0 || vd.calls != call)
		abort();
}

static void fast_agrees(const struct csv_options *o, unsigned bits,
			const uint8_t *text, size_t len)
{
	static const enum rec_type types[] = { REC_INT, REC_TEXT, REC_FLOAT,
					       REC_TEXT, REC_BOOL, REC_INT,
					       REC_TIMESTAMP, REC_FLOAT };
	struct rec_field fields[4] = { { .name = "a" }, { .name = "b" },
				       { .name = "c" }, { .name = "d" } };
	struct rec_field wf[5] = { { .name = "a" }, { .name = "b" },
				   { .name = "c" }, { .name = "d" },
				   { .name = "x", .type = REC_INT } };
	struct rec_schema s = { 4, fields }, whole = { 5, wf };
	int col[4] = { 0, 1, 2, 3 };
	/* The fields the encoder drops: from the length (bits has no more). */
	bool drop[5] = { len & 1, (len >> 1) & 1, (len >> 2) & 1,
			 (len >> 3) & 1, (len >> 4) & 1 };
	struct csvfast f = { 0 }, fb = { 0 }, fs = { 0 }, ft = { 0 },
		       ft1 = { 0 };
	static const char *const nulls[] = { "\\N" };
	struct csvfast_options fo = {
		.schema = &s, .col = col, .ncols = 4, .exact_cols = bits & 1,
		.delimiter = o->delimiter, .quote = o->quote,
		.nulls = nulls,
		.nnulls = (bits & 2) ? 1 : 0,
		.max_record = o->max_record ? o->max_record
					    : CSV_DEFAULT_MAX_RECORD,
		.max_fields = o->max_fields ? o->max_fields
					    : CSV_DEFAULT_MAX_FIELDS,
		.drop = drop,
	};
	struct csv_parser *p = csv_new(o);
	struct csv_record r;
	struct rec_value fv[4], gv[4];
	char *copy = malloc(len ? len : 1);
	static unsigned char enc[1024 + 16], want[1024];
	int st;

	for (int i = 0; i < 4; i++)
		wf[i].type = fields[i].type =
			types[((bits >> 2) + (unsigned)i) & 7];
	if (p == NULL || copy == NULL || csvfast_plan(&f, &fo) < 0 ||
	    csvfast_plan(&fb, &fo) < 0 || csvfast_plan(&fs, &fo) < 0 ||
	    csvfast_plan(&ft1, &fo) < 0)
		abort();
	fo.whole = &whole;
	if (csvfast_plan(&ft, &fo) < 0 || ft.enc != fb.enc)
		abort();
	if (len)
		memcpy(copy, text, len);
	csv_feed(p, copy, len);
	for (;;) {
		size_t avail = 0, n = 0, e = 0, elen = 0, wlen;
		const char *in = csv_peek(p, &avail);
		bool tried = false;

		if (in != NULL && f.on) {
			n = csvfast_record(&f, in, avail, fv);
			if (f.enc) {
				/* Guard bytes past the room: never written. */
				memset(enc + 1024, 0xa5, 16);
				e = csvfast_encode(&f, in, avail, enc, 1024,
						   &elen);
				for (int k = 0; k < 16; k++)
					if (enc[1024 + k] != 0xa5)
						abort();
				tried = e != CSVFAST_FULL;
				if (tried && e != n)
					abort();
			}
			/* A batch from here: up to 8 records, some slack. */
			if (fb.enc && fb.on)
				batch_agrees(&fb, &fs, in, avail,
					     1 + (avail & 7),
					     (avail >> 3 & 3) * 300);
			/* And with verdicts and a computed field. */
			if (ft.enc && ft.on && ft1.on)
				then_agrees(&ft, &ft1, in, avail,
					    1 + (avail >> 2 & 7),
					    (avail >> 5 & 3) * 300,
					    (unsigned)avail * 2654435761u,
					    drop[4]);
		}
		st = csv_next(p, &r);
		if (st == CSV_MORE) {
			csv_finish(p);
			st = csv_next(p, &r);
		}
		if (n == 0) {
			if (st == CSV_RECORD || st == CSV_MALFORMED)
				continue;
			break;
		}
		/* Taken: the general path must read the same record alike. */
		if (st != CSV_RECORD || r.end_offset - r.offset != n ||
		    (r.raw_len == 0 && f.ncols != 1) ||
		    !general_values(&f, &r, &s, gv))
			abort();
		for (int i = 0; i < 4; i++)
			if (!same(fields[i].type, &fv[i], &gv[i]))
				abort();
		if (!tried)
			continue;
		wlen = rec_encode_dropping(&s, gv, drop, want, sizeof want);
		if (wlen != elen || memcmp(enc, want, wlen) != 0)
			abort();
	}
	csvfast_free(&f);
	csvfast_free(&fb);
	csvfast_free(&fs);
	csvfast_free(&ft);
	csvfast_free(&ft1);
	csv_free(p);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char delims[] = { ',', ';', '\t', '|', '"', '\'', 'a', ' ' };
	static const char quotes[] = { '"', '\'', '\0', '"' };
	struct csv_options o = { 0 };
	struct trace whole = { 0 }, pieces = { 0 };
	size_t step;
	int a, b;

	if (size < 2)
		return 0;
	o.delimiter = delims[data[0] & 7];
	o.quote = quotes[(data[0] >> 3) & 3];
	if (o.delimiter == o.quote)
		o.delimiter = ',';
	if (data[0] & 0x20)
		o.max_record = 1 + (data[1] & 63);
	if (data[0] & 0x40)
		o.max_fields = 1 + (data[1] >> 4);
	step = 1 + (data[1] % 7);
	data += 2;
	size -= 2;

	a = parse(&o, data, size, 0, &whole);
	b = parse(&o, data, size, step, &pieces);
	if (a == 0 && b == 0 &&
	    (whole.len != pieces.len ||
	     (whole.len && memcmp(whole.p, pieces.p, whole.len) != 0))) {
		fprintf(stderr, "fuzz_csv: feeding in pieces of %zu bytes "
			"changed the records\n", step);
		abort();
	}
	free(whole.p);
	free(pieces.p);
	fast_agrees(&o, (unsigned)(data[-1] >> 3) ^ (unsigned)(data[-2] >> 7),
		    data, size);
	return 0;
}
