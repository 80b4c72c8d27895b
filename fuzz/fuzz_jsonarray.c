/*
 * fuzz_jsonarray.c - the streaming JSON array scanner
 * (providers/file_jscan.c) that reads `format = json` files.
 *
 * Input: one byte choosing the records pointer (the document, or one of a
 * few pointers through objects and arrays) and how the document is cut
 * into pieces, then the document.  It is scanned twice: fed whole, and fed
 * in pieces (as file_json.c does with its read buffer); the events, their
 * offsets and lines, and the error must be the same.  Every element's
 * bytes are read, so ASan sees a range past what was fed.
 *
 * Then jansson is the oracle: when it reads the whole document (without
 * NUL bytes, which it lets pass between values, and without a member
 * name twice, of which it keeps the last) and finds an array at the
 * pointer (jsonptr.c), the scanner must have found the
 * same number of elements, each of whose bytes jansson reads as the
 * array's element at that index (json_equal).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../providers/file_jscan.h"
#include "../providers/jsonptr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const pointers[] = {
	"", "/items", "/data/items", "/0", "/a~1b/1", "/data/0/x",
};

#define MAX_ELEMS 4096

struct trace {
	uint64_t start[MAX_ELEMS], end[MAX_ELEMS], line[MAX_ELEMS];
	size_t n;
	int done;            /* 1 DONE, 0 error */
	char err[200];
	uint64_t err_line;
};

static void run(const char *doc, size_t len, const struct jsonptr *jp,
		size_t piece, struct jscan *s, struct trace *t)
{
	size_t at = 0;
	volatile unsigned char sink = 0;

	memset(t, 0, sizeof *t);
	jscan_init(s, jp);
	while (at < len) {
		size_t end = piece && at + piece < len ? at + piece : len, used;
		enum jscan_event ev = jscan_feed(s, doc + at, end - at, &used);

		if (used > end - at)
			abort();
		at += used;
		if (ev == JSCAN_ERROR)
			goto failed;
		if (s->off != at)
			abort();
		if (ev == JSCAN_ELEM_START && t->n < MAX_ELEMS) {
			t->start[t->n] = at;
			t->line[t->n] = s->elem_line;
			if (s->elem_index != t->n)
				abort();
		} else if (ev == JSCAN_ELEM_END && t->n < MAX_ELEMS) {
			t->end[t->n] = at;
			if (at <= t->start[t->n])
				abort();
			for (uint64_t k = t->start[t->n]; k < at; k++)
				sink ^= (unsigned char)doc[k];
			t->n++;
		} else if (ev == JSCAN_MORE && at != end) {
			abort();
		}
	}
	if (jscan_finish(s) == JSCAN_DONE) {
		t->done = 1;
		return;
	}
failed:
	snprintf(t->err, sizeof t->err, "%s", s->err);
	t->err_line = s->err_line;
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jscan s;
	static struct trace whole, cut;
	struct jsonptr jp;
	const char *doc = (const char *)data + 1;
	size_t len, piece;
	char err[160];
	json_t *root, *arr;

	if (size < 1)
		return 0;
	len = size - 1;
	piece = 1 + (data[0] >> 3);
	if (jsonptr_compile(&jp, pointers[data[0] % 6], err, sizeof err) < 0)
		abort();
	run(doc, len, &jp, 0, &s, &whole);
	run(doc, len, &jp, piece, &s, &cut);
	if (whole.done != cut.done || whole.n != cut.n ||
	    whole.err_line != cut.err_line || strcmp(whole.err, cut.err) != 0 ||
	    memcmp(whole.start, cut.start, whole.n * sizeof *whole.start) ||
	    memcmp(whole.end, cut.end, whole.n * sizeof *whole.end) ||
	    memcmp(whole.line, cut.line, whole.n * sizeof *whole.line))
		abort();

	/* Of two members of one name the scanner takes the first. */
	root = json_loadb(doc, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
			  NULL);
	arr = jsonptr_resolve(&jp, root);
	/* jansson reads a NUL byte between values as white space. */
	if (root != NULL && json_is_array(arr) &&
	    memchr(doc, 0, len) == NULL &&
	    strcmp(whole.err, "nested too deep") != 0) {
		if (!whole.done || whole.n != json_array_size(arr))
			abort();
		for (size_t k = 0; k < whole.n; k++) {
			json_t *e = json_loadb(doc + whole.start[k],
					       whole.end[k] - whole.start[k],
					       JSON_DECODE_ANY, NULL);

			if (e == NULL || !json_equal(e, json_array_get(arr, k)))
				abort();
			json_decref(e);
		}
	}
	json_decref(root);
	jsonptr_free(&jp);
	return 0;
}
