/*
 * file_jsonl.h - JSON Lines files for the file provider: a line splitter
 * over the run's read buffer, each line read by the one-pass reader
 * (jfast.h), or by jansson when it declines, and its fields found by JSON
 * pointer or top-level key, converted and emitted.
 *
 * A line that is not a JSON object, is longer than FILE_MAX_RECORD, or
 * has a field that does not convert is one reject at FILE:LINE; blank
 * lines are skipped.  Failures go through prov_fail() (c->errbuf).
 */
#ifndef AGG_FILE_JSONL_H
#define AGG_FILE_JSONL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "provider.h"

struct file_run;
struct file_src;

/* The JSON Lines splitter: whole lines out of the read buffer. */
struct file_lines {
	size_t pos, len;     /* unread bytes of the read buffer */
	uint64_t off;        /* stream offset of buf[pos] */
	uint64_t line;       /* number of the next line */
	bool eof;
	bool partial;        /* an unfinished line's bytes are in carry */
	bool too_long;       /* ... and more than FILE_MAX_RECORD of them */
	struct buf carry;    /* a line cut by the buffer's end; its len is
				set to 0 by hand (buf_clear would write over
				the line just handed out) */
};

/*
 * Compile each field's source: a JSON pointer, or else a top-level key
 * (one segment, no escapes).  Once per run.  ST_OK or failure.
 */
enum prov_status file_jsonl_compile(struct file_run *r);

/*
 * One JSON text p[0..len) from line `line` of file name: a record when it
 * is an object whose fields convert, else one reject at NAME:LINE (with
 * " (record N)" when r->json_record is set); too_long: p holds only the
 * first FILE_MAX_RECORD bytes of it.  ST_OK (emitted or rejected) or how
 * the run fails.  JSON Lines' lines and JSON arrays' elements alike.
 */
enum prov_status file_jsonl_record(struct file_run *r, const char *name,
				   uint64_t line, const char *p, size_t len,
				   bool too_long);

/*
 * Read file idx (open in s) from offset off, at line number line (0 and
 * 1: its start), emitting its records, with a checkpoint wherever the
 * runtime asks for one.  ST_OK at its end, or how the run fails.
 */
enum prov_status file_jsonl_read(struct file_run *r, size_t idx,
				 struct file_src *s, uint64_t off,
				 uint64_t line);

#endif
