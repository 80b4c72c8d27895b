/*
 * fuzz_csv.c - the streaming CSV parser (providers/csv.c).
 *
 * Input: one byte of options (delimiter, quote, small limits), one byte
 * that chooses how the stream is cut into buffers, then the CSV text.
 * The text is parsed twice: fed whole, and fed in pieces (as file.c does
 * with read() and gzread()).  csv.h promises the same records, reasons
 * and offsets whatever the boundaries; any difference aborts.  Every
 * field and raw byte is read, so ASan sees any pointer past what was fed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../providers/csv.h"

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
	return 0;
}
