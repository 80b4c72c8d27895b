/*
 * http_records.h - the http provider's response bodies into records: a
 * 2xx body parsed (JSON, the array at `records`; or NDJSON, one record a
 * line), then each record's fields found by key or JSON pointer,
 * converted into the schema and emitted, or rejected at
 * "URL page P record N" (JSON) or "URL page P line N" (NDJSON).
 *
 * Invalid UTF-8 in a JSON body is one reject for the record holding it,
 * as the same bytes in a JSON Lines file are, not a failed page: each
 * byte that is not part of a well-formed sequence is marked (see
 * http_records.c) and the marked copy parsed.
 *
 * A JSON page is read first by the page scanner (http_jpage.h), which
 * checks it and finds its records without building it, then each record
 * and each NDJSON line by the one-pass reader (jfast.h) on the map's
 * pointers and keys; a page the scanner declines (not JSON, invalid
 * UTF-8, a form it leaves to jansson) is parsed whole by jansson, and a
 * record or line the reader declines (a reject, or a form it leaves to
 * jansson) is jansson's on its own bytes, as before, so rejects and their
 * reasons are unchanged.
 * Per-record work stays inside http_records.c (static), with no
 * allocation per record but jansson's for the lines it reads.
 */
#ifndef AGG_HTTP_RECORDS_H
#define AGG_HTTP_RECORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/buf.h"
#include "../common/convert.h"
#include "http_state.h"
#include "jsonptr.h"

/* Where one schema field comes from and its per-record scratch space. */
struct http_field {
	const char *name;
	const struct rec_field *field; /* the provider's own (its zone) */
	enum rec_type type;
	bool is_ptr;            /* source is a JSON pointer, else a key */
	const char *key;
	struct jsonptr ptr;
	struct buf json;        /* an object or array written as text */
	char scratch[CONV_SCRATCH_MAX];
};

/*
 * Compile the map: h->fields and h->vals, one per schema field.
 * PROV_DONE, or a failure through prov_fail() (a bad JSON pointer: for
 * good; no memory).  http_records_free() undoes it, also after a failure.
 */
enum prov_status http_records_compile(struct http *h);
void http_records_free(struct http *h);

/*
 * Parse job j's 2xx body (needs h->recptr compiled).  Returns 0 (j's doc,
 * records, marked and nrecords set, or with the scanner fast, spans and
 * nrecords; NDJSON: nrecords counted), -1 for a
 * body that is not JSON (cut off: worth a retry) or -2 for one whose
 * shape no retry will change; why says what is wrong.
 */
int http_records_parse(struct http *h, struct job *j, char *why, size_t wl);

/*
 * Emit (or reject) every record of DONE job j, in order; pub is its URL as
 * shown (http_url_public()).  PROV_DONE, or what the run returns (too many
 * rejects, the ring gone: prov_failure()).
 */
enum prov_status http_records_emit(struct http *h, struct job *j,
				   const char *pub);

/*
 * The value at the cursor pointer in DONE job j's body (a new reference,
 * or NULL when there is none).  0, or -1 when out of memory.
 */
int http_records_cursor(struct http *h, struct job *j, json_t **v);

/* The first marked (invalid UTF-8) byte in v's strings and keys, or -1. */
int http_marked_byte(json_t *v);

#endif
