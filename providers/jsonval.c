/*
 * jsonval.c - a jansson value into a schema field (jsonval.h).
 */
#include "jsonval.h"

#include <stdint.h>
#include <stdio.h>

static const char *kind(const json_t *v)
{
	return json_is_object(v) ? "object" : json_is_array(v) ? "array" :
	       "value";
}

int jsonval_convert(const struct rec_field *f, json_t *v,
		    struct rec_value *out, char *scratch, struct buf *dump,
		    char *why, size_t wl)
{
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_NULL:
		out->null = true;
		return 0;
	case JSON_STRING:
		return conv_text(f, json_string_value(v), json_string_length(v),
				 out, why, wl);
	case JSON_INTEGER:
		return conv_int(f, (int64_t)json_integer_value(v), out, scratch,
				why, wl);
	case JSON_REAL:
		return conv_json_real(f, json_real_value(v), out, scratch, why,
				      wl);
	case JSON_TRUE:
	case JSON_FALSE:
		return conv_bool(f, json_is_true(v), out, why, wl);
	case JSON_OBJECT:
	case JSON_ARRAY:
		break;
	}
	if (f->type != REC_TEXT) {
		char type[128];

		conv_type_text(f, type, sizeof type);
		snprintf(why, wl, "cannot convert a JSON %s to %s", kind(v),
			 type);
		return -1;
	}
	for (;;) {
		size_t n = json_dumpb(v, (char *)dump->p, dump->cap,
				      JSON_COMPACT);

		if (n == 0) {
			snprintf(why, wl, "cannot write the JSON %s", kind(v));
			return -1;
		}
		if (n <= dump->cap)
			return conv_text(f, (const char *)dump->p, n, out, why,
					 wl);
		if (buf_reserve(dump, n) < 0) {
			snprintf(why, wl, "out of memory");
			return -1;
		}
	}
}
