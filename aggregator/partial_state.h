/*
 * partial_state.h - one provider's part of one output, as the bytes of a
 * partial (partial.h) and back: its groups and every aggregate's state,
 * or its rows.
 *
 * The bytes (little-endian, as the record encoding):
 *   group mode: u64 groups, then per group its canonical key (u32 length,
 *               the bytes) and each aggregate's state in config order:
 *               i64 n, then what its kind keeps (partial_state.c)
 *   union mode: u64 rows, then the rows rec_encode()d back to back
 * A group part lists the live groups only, in the table's slot order
 * (the same for the same records folded the same way).
 */
#ifndef AGG_PARTIAL_STATE_H
#define AGG_PARTIAL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/config.h"
#include "merge.h"

/*
 * Append to b provider pi's part of m, the merge of output view.  Returns
 * 0, or -1 with err (out of memory, a spool that cannot be read back).
 */
int pstate_save(struct buf *b, const struct cfg *view, struct merge *m,
		int pi, char *err, size_t errlen);

/*
 * Fold the part p[0..len) (written by pstate_save() for the same view)
 * into provider pi's part of m, after what it holds, as if its records
 * came next.  Returns 0, or -1 with err (malformed bytes, out of memory).
 */
int pstate_load(const struct cfg *view, struct merge *m, int pi,
		const unsigned char *p, size_t len, char *err, size_t errlen);

/*
 * Bounded reading of a partial's bytes, shared by the file (partial.c) and
 * its parts (partial_state.c): any read past the end sets bad, and every
 * later read fails, so a parser checks once at the end.
 */
struct part_rd {
	const unsigned char *p;
	size_t len, off;
	bool bad;
};

static inline const unsigned char *part_take(struct part_rd *r, size_t n)
{
	const unsigned char *p = r->p + r->off;

	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		return NULL;
	}
	r->off += n;
	return p;
}

static inline bool part_get(struct part_rd *r, void *out, size_t n)
{
	const unsigned char *p = part_take(r, n);

	if (p)
		memcpy(out, p, n);
	return p != NULL;
}

#endif
