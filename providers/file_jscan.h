/*
 * file_jscan.h - a streaming scanner that finds the elements of one JSON
 * array in a document read in pieces, without building the document: the
 * file provider's `format = json` (file_json.c) hands each element's bytes
 * to the JSON record code, one record at a time (or reads the element
 * itself and moves the scanner past it: jscan_skip_elem).
 *
 * The array is the document itself, or the value a JSON pointer names
 * inside it (`records = /data/items`: member keys and array indexes, as
 * jsonptr.h resolves them; the first member of a name wins).  Everything
 * outside the elements is checked for structure (brackets, strings and
 * their escapes, commas and colons, one document and nothing after it but
 * white space), not built; numbers and literals outside the elements are
 * checked only by their first byte.  Inside an element the scanner finds
 * its end; the record code judges the rest.
 *
 * No allocation: a struct jscan is a fixed-size value.  Not thread-safe;
 * one per document being read.
 */
#ifndef AGG_FILE_JSCAN_H
#define AGG_FILE_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonptr.h"

/* Deepest nesting of the document (jansson's own limit is 2048). */
#define JSCAN_MAX_DEPTH 2048

/* Longest member name on the path compared to a pointer's token. */
#define JSCAN_MAX_KEY 1024

enum jscan_event {
	JSCAN_MORE,       /* every byte given was consumed: feed more */
	JSCAN_ELEM_START, /* an element starts at the next byte (not consumed;
			     elem_line, elem_index say where) */
	JSCAN_ELEM_END,   /* the element ended at the last byte consumed */
	JSCAN_DONE,       /* jscan_finish: the document is whole and well */
	JSCAN_ERROR,      /* err and err_line say what and where; sticky */
};

struct jscan {
	const struct jsonptr *path; /* borrowed; nseg 0: the document */
	uint64_t off;               /* offset of the next byte to consume */
	uint64_t line;              /* its line (1: the first) */
	uint64_t elem_line;         /* line of the element's first byte */
	uint64_t elem_index;        /* 0-based index of the element */
	uint64_t nelems;            /* elements started so far */
	char err[200];
	uint64_t err_line;

	/* private */
	int st;
	bool empty_ok;       /* the container was just opened */
	bool esc;            /* in a string, after a backslash */
	bool is_key;         /* the string is a member name */
	bool want_key;       /* ... and is compared to the path */
	bool key_long;       /* ... and is longer than JSCAN_MAX_KEY */
	bool child_on;       /* the member whose name was read is on path */
	bool announced;      /* ELEM_START was returned for the next byte */
	bool found;          /* the array was found (and may be closed) */
	bool in_target;      /* ... and is open */
	bool lost;           /* the path cannot be found any more */
	bool any;            /* a document started */
	size_t depth;        /* open containers */
	size_t on;           /* the first `on` of them are on the path */
	size_t arr_depth;    /* depth inside the array */
	long cnt;            /* elements so far of the deepest on-path array */
	size_t keylen;
	char key[JSCAN_MAX_KEY];
	unsigned char kind[JSCAN_MAX_DEPTH]; /* '{' or '[' per level */
};

/* Start scanning a document for the array at path (borrowed). */
void jscan_init(struct jscan *s, const struct jsonptr *path);

/*
 * Right after JSCAN_ELEM_START: the caller read the element itself, its
 * len bytes (nl line feeds among them) one whole JSON value that it has
 * checked; the scanner moves past them as if it had consumed them, into
 * the state JSCAN_ELEM_END leaves.
 */
void jscan_skip_elem(struct jscan *s, size_t len, uint64_t nl);

/*
 * Consume p[0..n) up to the next event: *used is how many bytes were
 * consumed (the rest must be given again).  JSCAN_MORE when all were;
 * with JSCAN_ERROR, *used is 0 and off stays at p's start.
 */
enum jscan_event jscan_feed(struct jscan *s, const char *p, size_t n,
			    size_t *used);

/*
 * The input ended: JSCAN_DONE, or JSCAN_ERROR (the document is cut short,
 * empty, or has no array at the path).
 */
enum jscan_event jscan_finish(struct jscan *s);

#endif
