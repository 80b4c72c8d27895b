/*
 * jsonptr.h - RFC 6901 JSON pointers over jansson values.
 *
 * A pointer is compiled once (when a provider starts) into its unescaped
 * reference tokens, then resolved against every record without allocating:
 * resolution is on the hot path of every JSON provider.
 *
 *   ""            the whole document
 *   "/a/b"        member b of member a
 *   "/items/0"    element 0 of array items
 *   "/a~1b/m~0n"  member "a/b", then member "m~n"
 *
 * An array step takes a decimal index without leading zeros ("0", "17");
 * "-" (the element after the last) and anything else resolve to nothing.
 */
#ifndef AGG_JSONPTR_H
#define AGG_JSONPTR_H

#include <stddef.h>

#include <jansson.h>

/* One reference token, unescaped (~0 -> ~, ~1 -> /); may hold NUL bytes. */
struct jsonptr_seg {
	const char *key;   /* into the pointer's own buffer */
	size_t len;
	long index;        /* as an array index, or -1 if it is not one */
};

struct jsonptr {
	struct jsonptr_seg *seg;
	size_t nseg;
	char *buf;         /* owns the unescaped tokens */
};

/*
 * Compile ptr (NUL-terminated).  Returns 0, or -1 with a reason in err
 * (ptr does not start with '/', a '~' not followed by 0 or 1, out of
 * memory).  Release with jsonptr_free, also after a failure.
 */
int jsonptr_compile(struct jsonptr *jp, const char *ptr, char *err,
		    size_t errlen);

/*
 * The value jp points at inside root (borrowed: owned by root), or NULL
 * when it does not exist.  Never allocates; root may be NULL.
 */
json_t *jsonptr_resolve(const struct jsonptr *jp, json_t *root);

/* Release what jsonptr_compile allocated.  Safe on a zeroed struct. */
void jsonptr_free(struct jsonptr *jp);

/*
 * One-shot convenience: compile, resolve, free.  NULL for a malformed
 * pointer as for a missing value.  Allocates: not for per-record use.
 */
json_t *jsonptr_get(json_t *root, const char *ptr);

#endif
