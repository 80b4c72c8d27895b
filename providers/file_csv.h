/*
 * file_csv.h - CSV files for the file provider: the header (or the column
 * numbers) mapped to the schema's fields, then every record parsed
 * (csv.h, or the typed fast path of csvfast.h), converted and emitted.
 *
 * A record with the wrong number of columns, a field that does not
 * convert or malformed quoting is one reject at FILE:LINE.  A field with
 * no column in a file's header is a config error (PROV_FAIL_CONFIG, its
 * reason naming the columns there are); other failures go through
 * prov_fail() (c->errbuf).
 */
#ifndef AGG_FILE_CSV_H
#define AGG_FILE_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "provider.h"

struct file_run;
struct file_src;

/*
 * header = false: each field's column from its number ("3") or, for an
 * unmapped field, its position; the same for every file.  ST_OK, or a
 * permanent failure (a source that is not a column number).
 */
enum prov_status file_csv_map_positions(struct file_run *r);

/*
 * Read file idx (open in s) from offset off, at line number line (0 and
 * 1: its start; its header, if any, is read again from offset 0 and never
 * emitted), emitting its records, with a checkpoint wherever the runtime
 * asks for one.  ST_OK at its end, or how the run fails.
 */
enum prov_status file_csv_read(struct file_run *r, size_t idx,
			       struct file_src *s, uint64_t off, uint64_t line);

/*
 * --check of a CSV file with a header: read the header alone and resolve
 * the fields as a run would.  0, -1 (the file cannot be read), or
 * PROV_CHECK_CONFIG (a field without a column), with msg.
 */
int file_csv_check_header(const struct cfg *cfg,
			  const struct cfg_provider *p, const char *name,
			  char *msg, size_t msglen);

#endif
