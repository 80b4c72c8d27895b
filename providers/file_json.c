/*
 * file_json.c - JSON array files for the file provider (file_json.h): the
 * streaming scanner (file_jscan.h) finds each element's bytes in the run's
 * read buffer, and each element goes through the same code as a JSON
 * Lines line (file_jsonl_record: jansson, then the fields).
 *
 * Only an element cut by the buffer's end is copied, into r->elem (at
 * most FILE_MAX_RECORD bytes of it: the rest is skipped and the element
 * rejected).  The document around the elements is never built.
 *
 * An element that is an object wholly in the buffer is read at its start
 * by the one-pass reader (jfast_object()), which finds its end as it
 * reads its fields: the scanner is moved past it (jscan_skip_elem())
 * instead of walking its bytes too.  What the reader declines is left to
 * the scanner and file_jsonl_record(), as before.
 *
 * Resuming: a checkpoint's offset is just after an element.  A restarted
 * attempt scans the file again from its start, skipping the elements
 * that end at or before that offset (the scanner's state there, the open
 * containers around the array, cannot be rebuilt from an offset alone);
 * no element ends exactly there means the file changed, a permanent
 * failure as for the other formats.
 */
#include "file_json.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "file_jscan.h"
#include "file_run.h"

enum prov_status file_json_compile(struct file_run *r)
{
	const char *ptr = r->fc->records ? r->fc->records : "";
	char err[160];

	if (jsonptr_compile(&r->records, ptr, err, sizeof err) < 0)
		return prov_fail(r->c, PROV_FAIL_PERMANENT, "records: %s", err);
	r->jscan = malloc(sizeof *r->jscan);
	if (r->jscan == NULL)
		return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
	return ST_OK;
}

/* Keep n more bytes of an element cut by the buffer's end. */
static enum prov_status keep(struct file_run *r, const char *p, size_t n,
			     bool *too_long)
{
	if (r->elem.len + n > FILE_MAX_RECORD) {
		n = FILE_MAX_RECORD - r->elem.len;
		*too_long = true;
	}
	if (n > 0 && buf_add(&r->elem, p, n) < 0)
		return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
	return ST_OK;
}

static enum prov_status scan_failed(struct file_run *r, const char *name)
{
	const struct jscan *sc = r->jscan;

	if (r->records.nseg > 0)
		return prov_fail(r->c, PROV_FAIL_PERMANENT,
				 "%s:%" PRIu64 ": %s (records = %s)", name,
				 sc->err_line, sc->err, r->fc->records);
	return prov_fail(r->c, PROV_FAIL_PERMANENT, "%s:%" PRIu64 ": %s", name,
			 sc->err_line, sc->err);
}

/* Line feeds in p[0..n) (blanks between an element's tokens). */
static uint64_t count_lf(const char *p, size_t n)
{
	const char *end = p + n;
	uint64_t k = 0;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		k++;
		p++;
	}
	return k;
}

/*
 * The element starting at p[0..avail), when the one-pass reader takes it
 * whole: its length, its values in r->vals, the scanner past it.  0: not.
 */
static size_t take_whole(struct file_run *r, const char *p, size_t avail)
{
	struct jscan *sc = r->jscan;
	size_t len;

	/* The reader's nesting within the scanner's limit. */
	if (!r->jfast.on || sc->depth + JFAST_MAX_DEPTH >= JSCAN_MAX_DEPTH ||
	    jfast_object(&r->jfast, p, avail, r->vals, r->scratch, &len) == 0)
		return 0;
	jscan_skip_elem(sc, len, count_lf(p, len));
	return len;
}

static enum prov_status changed(struct file_run *r, const char *name,
				uint64_t off)
{
	return prov_fail(r->c, PROV_FAIL_PERMANENT,
			 "%s: no record ends at the resume point %" PRIu64
			 ": input files changed", name, off);
}

enum prov_status file_json_read(struct file_run *r, size_t idx,
				struct file_src *s, uint64_t off)
{
	const char *name = r->names[idx];
	struct jscan *sc = r->jscan;
	enum prov_status st = ST_OK;
	bool first = true, in_elem = false, too_long = false;
	bool resumed = off == 0;

	jscan_init(sc, &r->records);
	r->elem.len = 0;
	for (;;) {
		size_t got, pos = 0, from = 0;

		st = file_src_read(r->c, s, r->buf, FILE_READ_BYTES, &got);
		if (st != ST_OK)
			return st;
		if (got == 0)
			break;
		if (first && file_has_bom(r->buf, got)) {
			pos = 3;
			sc->off = 3;
		}
		first = false;
		while (pos < got) {
			size_t used;
			enum jscan_event ev = jscan_feed(sc, r->buf + pos,
							 got - pos, &used);
			const char *p;
			size_t len;

			pos += used;
			if (ev == JSCAN_MORE)
				break;
			if (ev == JSCAN_ERROR)
				return scan_failed(r, name);
			if (ev == JSCAN_ELEM_START) {
				in_elem = true;
				too_long = false;
				from = pos;
				r->elem.len = 0;
				/* One to emit (it ends past the resume point),
				 * read whole by the one-pass reader? */
				if (!resumed || sc->off < off ||
				    (len = take_whole(r, r->buf + pos,
						      got - pos)) == 0)
					continue;
				pos += len;
				in_elem = false;
				r->json_record = sc->elem_index + 1;
				st = file_emit(r, name, sc->elem_line,
					       r->buf + from, len);
				r->json_record = 0;
				if (st == ST_OK)
					st = file_after_record(r, idx, sc->off,
							       sc->line);
				if (st != ST_OK)
					return st;
				continue;
			}
			/* JSCAN_ELEM_END: the element is [from, pos). */
			in_elem = false;
			if (sc->off <= off) {
				/* Read before the resume point: not again. */
				resumed = sc->off == off;
				file_beats(r, 1);
				continue;
			}
			if (!resumed)
				return changed(r, name, off);
			if (r->elem.len > 0 || too_long) {
				st = keep(r, r->buf + from, pos - from,
					  &too_long);
				if (st != ST_OK)
					return st;
				p = (const char *)r->elem.p;
				len = r->elem.len;
			} else {
				p = r->buf + from;
				len = pos - from;
			}
			r->json_record = sc->elem_index + 1;
			st = file_jsonl_record(r, name, sc->elem_line, p, len,
					       too_long);
			r->json_record = 0;
			if (st == ST_OK)
				st = file_after_record(r, idx, sc->off,
						       sc->line);
			if (st != ST_OK)
				return st;
		}
		if (in_elem) {
			st = keep(r, r->buf + from, got - from, &too_long);
			if (st != ST_OK)
				return st;
		}
	}
	if (jscan_finish(sc) != JSCAN_DONE)
		return scan_failed(r, name);
	if (!resumed)
		return changed(r, name, off);
	return ST_OK;
}
