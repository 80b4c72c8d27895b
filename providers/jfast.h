/*
 * jfast.h - one JSON record read in one pass, driven by the config's
 * pointers: only the values the pointers name are converted, everything
 * else is validated and skipped without building anything.
 *
 * The contract (as csvfast.h's): jfast_record() either gives exactly the
 * values that jansson's json_loadb(p, len, JSON_DECODE_ANY), the pointers
 * resolved against its tree (jsonptr_resolve) and the file provider's
 * per-value conversion would give, or declines, and the caller then reads
 * the record through jansson as it always did.  It declines every record
 * that path would reject (invalid JSON, a root that is not an object, a
 * value that does not convert), so rejects and their reasons stay
 * jansson's; it also declines what it does not take itself: an object or
 * an array where a field points (jansson writes it as compact text),
 * nesting deeper than JFAST_MAX_DEPTH, a number literal longer than
 * JFAST_NUMBER_MAX bytes that strtod must read.
 *
 * What jansson accepts, and so what jfast_record() takes (RFC 8259):
 * whitespace is space, tab, CR and LF; strings are valid UTF-8 (no
 * overlong forms, no surrogates, nothing above U+10FFFF) without control
 * bytes, escapes \" \\ \/ \b \f \n \r \t \uXXXX with surrogates only in
 * pairs and never \u0000; an integer (no fraction, no exponent) fits
 * int64_t ("-0" is 0); a real does not overflow a double (underflow to 0
 * is taken); of duplicate keys the last wins, with all it holds.
 */
#ifndef AGG_JFAST_H
#define AGG_JFAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/convert.h"
#include "../ipc/record.h"
#include "jsonptr.h"

/* Deepest nesting taken (the root object is 1); deeper ones decline. */
#define JFAST_MAX_DEPTH 64

/* Longest number literal read through strtod; longer ones decline. */
#define JFAST_NUMBER_MAX 400

struct jfast_node;

struct jfast {
	bool on;                  /* a plan is set */
	const struct rec_schema *schema;
	struct jfast_node *nodes; /* [0]: the root object */
	int nnodes;
	int *fields;              /* the nodes' field lists, one array */
	struct buf *text;         /* per field: its string unescaped */
	struct buf key;           /* an object key unescaped */
	char num[JFAST_NUMBER_MAX + 1]; /* a literal for strtod */
	uint64_t tries;
	uint64_t declines;
};

/*
 * Plan the reading of records of schema s whose field i is found at
 * ptrs[i] (compiled: jsonptr_compile, or one segment holding a top-level
 * key).  jf->on stays false for a plan it does not take (a pointer to the
 * whole document).  Returns 0, or -1 on no memory (jf->on false).  jf
 * starts zeroed; jfast_free() releases it, also after a failure.
 */
int jfast_plan(struct jfast *jf, const struct rec_schema *s,
	       const struct jsonptr *ptrs);

void jfast_free(struct jfast *jf);

/*
 * Read the JSON text p[0..len) as one record into v (s->nfields values),
 * numbers written into text through scratch (one CONV_SCRATCH_MAX buffer
 * per field, as conv_int() wants).  Returns 1: v holds the record, text
 * values pointing into p or into jf (valid until the next call); or 0:
 * declined, v's contents unspecified.  Only when jf->on.
 */
int jfast_record(struct jfast *jf, const char *p, size_t len,
		 struct rec_value *v, char (*scratch)[CONV_SCRATCH_MAX]);

/*
 * The same for the line at p in p[0..avail) (a JSON Lines file's buffer):
 * 1 when it is one record ending in blanks then a line feed, p[*len] the
 * line feed, the values as jfast_record(p, *len) gives them.  0 leaves
 * the line to jfast_record() (a line feed before it, declined, or avail
 * ending first) and counts nothing, so that call counts it once.
 */
int jfast_line(struct jfast *jf, const char *p, size_t avail,
	       struct rec_value *v, char (*scratch)[CONV_SCRATCH_MAX],
	       size_t *len);
/*
 * The same for the object whose '{' is p[0], followed by anything (an
 * array's next element, say) in p[0..avail): 1 with its length in *len
 * (its '}' is p[*len - 1]) and the values as jfast_record(p, *len) gives
 * them; 0: declined, also when avail ends inside it.
 */
int jfast_object(struct jfast *jf, const char *p, size_t avail,
		 struct rec_value *v, char (*scratch)[CONV_SCRATCH_MAX],
		 size_t *len);

#endif
