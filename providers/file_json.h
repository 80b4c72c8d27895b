/*
 * file_json.h - JSON array files for the file provider (`format = json`,
 * or a .json path): the file is one JSON array of objects, or holds the
 * array at the JSON pointer `records`.  Each element is read as a JSON
 * Lines line is (file_jsonl_record); rejects name FILE:LINE (record N),
 * LINE where the element starts, N its 1-based place in the array.
 *
 * A file that is not such an array (or is not JSON at all, or has more
 * after it than white space) fails the provider for good, naming the file
 * and the line.  Failures go through prov_fail() (c->errbuf).
 */
#ifndef AGG_FILE_JSON_H
#define AGG_FILE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "provider.h"

struct file_run;
struct file_src;

/*
 * Compile `records` and make the scanner.  Once per run, after
 * file_jsonl_compile() (the fields' pointers).  ST_OK or failure.
 */
enum prov_status file_json_compile(struct file_run *r);

/*
 * Read file idx (open in s, at its start) emitting the elements that end
 * after offset off (0: all), with a checkpoint wherever the runtime asks
 * for one.  ST_OK at its end, or how the run fails.
 */
enum prov_status file_json_read(struct file_run *r, size_t idx,
				struct file_src *s, uint64_t off);

#endif
