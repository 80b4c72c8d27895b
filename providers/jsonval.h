/*
 * jsonval.h - one jansson value converted into one schema field: the rule
 * every JSON reader shares (the file provider's JSON Lines and arrays,
 * the http provider's pages and NDJSON lines, and the tests and fuzz
 * targets that hold the one-pass reader, jfast.h, to it).
 *
 *   null, a missing value   NULL
 *   string                  the field's conversion of its text
 *   integer, real           the field's conversion of the number
 *   true, false             the field's conversion of the boolean
 *   object, array           a text field: the value written as compact
 *                           JSON text; any other type: a reject
 */
#ifndef AGG_JSONVAL_H
#define AGG_JSONVAL_H

#include <stddef.h>

#include <jansson.h>

#include "../common/buf.h"
#include "../common/convert.h"
#include "../ipc/record.h"

/*
 * Convert v (NULL: missing) for field f into out.  Numbers are written
 * through scratch (CONV_SCRATCH_MAX bytes, as conv_int() wants); an object
 * or array into a text field is written into dump (grown as needed, kept
 * by the caller for the next record).  Text values point into v, scratch
 * or dump.  Returns 0, or -1 with why filled ("cannot convert a JSON
 * object to int", the converter's reason, "out of memory").
 */
int jsonval_convert(const struct rec_field *f, json_t *v,
		    struct rec_value *out, char *scratch, struct buf *dump,
		    char *why, size_t wl);

#endif
