/*
 * file_run.h - the state of one run of the file provider, shared by its
 * rooms: file.c (the run, --check), file_csv.c (CSV files),
 * file_jsonl.c (JSON Lines files) and file_json.c (JSON arrays); and the per-record steps they all take
 * (emit, reject, heartbeat, checkpoint), inline where called per record.
 *
 * Memory: everything a file_run points to is owned by it and freed by
 * file.c's teardown, except c, p and schema (the caller's) and the
 * names, which point into g.  Record values (vals) point into buf, the
 * CSV parser or a JSON document, and are valid only until the next read:
 * a record goes to prov_emit() before the buffer is touched again.
 */
#ifndef AGG_FILE_RUN_H
#define AGG_FILE_RUN_H

#include <glob.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/convert.h"
#include "csv.h"
#include "csvfast.h"
#include "file_conf.h"
#include "file_jscan.h"
#include "file_json.h"
#include "file_jsonl.h"
#include "file_src.h"
#include "jfast.h"
#include "jsonptr.h"
#include "provider.h"

/* Bytes per read() / gzread(). */
#define FILE_READ_BYTES ((size_t)1 << 20)

/* Longest CSV record or JSON line; longer ones are rejects. */
#define FILE_MAX_RECORD CSV_DEFAULT_MAX_RECORD

/* Records between two calls to prov_heartbeat() (itself rate-limited). */
#define FILE_BEAT_EVERY 4096u

struct file_run {
	struct prov_ctx *c;
	const struct cfg_provider *p;
	const struct file_conf *fc; /* p's options: read per field */
	const struct rec_schema *schema;

	glob_t g;
	bool have_glob;
	const char **names;  /* regular files matched, sorted; into g */
	size_t nnames;

	char *buf;           /* FILE_READ_BYTES */
	struct rec_value *vals;
	char (*scratch)[CONV_SCRATCH_MAX];
	uint64_t beat;

	/* CSV */
	struct csv_parser *csv;
	int *col;            /* column of each field, -1: always NULL */
	size_t ncols;        /* with header: its columns; without: needed */
	bool bom_check;      /* the next read is the file's first */
	struct csvfast fast; /* typed fast path for plain records */
	size_t *null_len;    /* strlen of each of p->nulls */

	/* JSON Lines */
	struct jsonptr *ptrs;
	struct buf *dump;    /* compact JSON of objects/arrays, per field */
	struct file_lines ls;
	struct jfast jfast;  /* the one-pass reader, before jansson */

	/* JSON arrays */
	uint64_t json_record; /* 1-based number of the element read, which
				 rejects name; 0 outside JSON arrays */
	struct jsonptr records; /* where the array is (nseg 0: the file) */
	struct buf elem;      /* an element cut by the buffer's end */
	struct jscan *jscan;  /* the scanner, made on first use */

	/* A range of a file (parallel, file_par.h) that starts past its
	   first line counts lines from 1 there: the line feeds before it,
	   counted when a message first needs them, make them the file's. */
	const char *rel_name; /* that file, or NULL */
	uint64_t rel_off;     /* where the range starts in it */
	int64_t rel_lines;    /* the line feeds before, -1: not counted */

	char pos[4200];      /* "FILE:LINE" of a reject */
	char reason[CONV_REASON_MAX + 320];
};

/* The field's name in the schema, for messages. */
static inline const char *file_field_name(const struct file_run *r, int i)
{
	return r->schema->fields[i].name;
}

/* Reject one piece of input at FILE:LINE.  ST_OK, or how the run fails. */
enum prov_status file_reject(struct file_run *r, const char *name,
			     uint64_t line, const char *reason,
			     const char *raw, size_t rawlen);

/*
 * Send the records so far and a checkpoint at (file idx, offset off,
 * line).  ST_OK, or how the run fails.
 */
enum prov_status file_checkpoint(struct file_run *r, size_t idx,
				 uint64_t off, uint64_t line);

/*
 * Emit the record in r->vals, read at name:line from raw[0..rawlen) (a
 * reject of its expressions quotes it).  ST_OK, or how the run fails.
 */
static inline enum prov_status file_emit(struct file_run *r,
					 const char *name, uint64_t line,
					 const char *raw, size_t rawlen)
{
	int rc = prov_emit(r->c, r->vals);

	if (rc < 0)
		return prov_failure(r->c);
	if (rc > 0)
		return file_reject(r, name, line, r->c->why, raw, rawlen);
	return ST_OK;
}

/*
 * Count n records read (emitted, rejected, dropped or skipped): a
 * heartbeat each time the count passes a multiple of FILE_BEAT_EVERY.
 */
static inline void file_beats(struct file_run *r, uint64_t n)
{
	if ((r->beat + n) / FILE_BEAT_EVERY != r->beat / FILE_BEAT_EVERY)
		prov_heartbeat(r->c);
	r->beat += n;
}

/*
 * After each record (emitted, rejected or a skipped blank line): a
 * heartbeat now and then, a checkpoint when the runtime wants one.
 * Inline: called per record.
 */
static inline enum prov_status file_after_record(struct file_run *r,
						 size_t idx, uint64_t end_off,
						 uint64_t next_line)
{
	file_beats(r, 1);
	if (prov_want_checkpoint(r->c))
		return file_checkpoint(r, idx, end_off, next_line);
	return ST_OK;
}

#endif
