/*
 * jfsetup.h - the schemas that jfast (providers/jfast.c) is checked
 * under, each loaded from a config and planned as the file provider
 * plans it, for the differential tests (test_jfast.c, test_http_jpage.c)
 * and the fuzz target (fuzz/fuzz_jfast.c, which includes jfsetup.c, as it
 * links no test helper).
 *
 * The schemas: 0, the bench's rows by top-level key (id:int, region:text,
 * day:text, amount:float); 1, pointers of every kind (through objects and
 * arrays, escapes, one value read twice) into every type; 2, the same
 * keys as 0 read as decimal, timestamp, bool and date.
 */
#ifndef AGG_JFSETUP_H
#define AGG_JFSETUP_H

#include <stddef.h>

#include <jansson.h>

#include "../../common/buf.h"
#include "../../common/config.h"
#include "../../providers/jfast.h"
#include "../../providers/jsonptr.h"

#define JFS_NSCHEMAS 4
#define JFS_MAXF 16     /* fields a schema has at most */

struct jfs_setup {
	struct cfg cfg;
	const struct rec_schema *s;     /* &cfg.schema */
	struct jsonptr ptrs[JFS_MAXF];  /* field i's place in a record */
	struct jfast jf;                /* planned, and on */
	struct buf dump[JFS_MAXF];      /* jfs_convert()'s room per field */
};

/*
 * Load schema k into *t (zeroed first) and plan jfast over it: a field's
 * source is a pointer when it starts with '/' (or is empty), else one
 * top-level key, as file_jsonl_compile() reads it.  Returns 0, or -1 with
 * a reason in err; release with jfs_close() either way.
 */
int jfs_open(struct jfs_setup *t, size_t k, char *err, size_t errlen);

/* Release what jfs_open() holds.  Safe on a zeroed struct. */
void jfs_close(struct jfs_setup *t);

/*
 * Field i's value from jansson's j as the JSON readers convert it
 * (jsonval_convert), into *v and scratch (CONV_SCRATCH_MAX bytes).
 * Returns 0, or -1: the record is a reject.
 */
int jfs_convert(struct jfs_setup *t, int i, json_t *j, struct rec_value *v,
		char *scratch);

#endif
