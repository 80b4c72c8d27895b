/*
 * http_jpage.h - a JSON page read in one pass without building it: the
 * whole body checked as jansson would accept it, the records array found
 * at its pointer with each element's place, and the cursor's value found
 * at its own.  The elements are then read one by one by the one-pass
 * record reader (jfast.h), and a declined one by jansson, on its own
 * bytes (http_records.c).
 *
 * The contract: http_jpage_scan() takes a body only when jansson's
 * json_loadb(body, JSON_ALLOW_NUL) parses it and the records pointer
 * resolves in its tree to an array (or null); what it finds is what
 * jsonptr_resolve() finds there (of duplicate keys the last wins, with
 * all it holds).  Anything else, and anything it does not take itself,
 * it declines: a failing body, invalid UTF-8 (which the caller marks,
 * http_records.c), "\u0000", a member name with escapes on a pointer's
 * way, nesting past
 * HTTP_JPAGE_MAX_DEPTH; the caller then parses the body with jansson as
 * before, so the errors and their texts are jansson's.
 *
 * No allocation but the spans' buffer, which the caller keeps.
 */
#ifndef AGG_HTTP_JPAGE_H
#define AGG_HTTP_JPAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/buf.h"
#include "jsonptr.h"

/* Deepest pointer the scanner follows. */
#define HTTP_JPAGE_MAX_SEG 32

/* Deepest nesting taken (jansson's own limit is 2048). */
#define HTTP_JPAGE_MAX_DEPTH 512

/* What a scan found.  spans is the caller's, reused from page to page. */
struct http_jpage {
	struct buf *spans;      /* the records: size_t pairs [start, end) of
				   each element, offsets into the body */
	size_t nrecords;        /* elements (0 when the pointer finds null) */
	bool cur_found;         /* the cursor pointer found a value ... */
	size_t cur_off;         /* ... at body[cur_off, cur_off + cur_len) */
	size_t cur_len;
};

/*
 * Scan body p[0..n) for the array at recs and, when cur is not NULL, the
 * value at cur.  Returns 1 (taken: out filled) or 0 (declined; out's
 * contents unspecified), or -1 when out of memory.  Neither pointer may
 * have more than HTTP_JPAGE_MAX_SEG tokens (declined).
 */
int http_jpage_scan(const char *p, size_t n, const struct jsonptr *recs,
		    const struct jsonptr *cur, struct http_jpage *out);

#endif
