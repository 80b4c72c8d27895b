/*
 * rejects.h - REJECT payloads: their check, and the reject file.
 *
 * A REJECT payload is three u32-length-prefixed strings (the position in
 * the source, the reason, the raw bytes), nothing more.  The aggregator
 * checks each one as it arrives (rejects_valid()), the merge's stage keeps
 * it until its checkpoint (merge_stage_reject(), merge_commit()), and at
 * the end rejects_write() writes every committed one to the reject file.
 */
#ifndef AGG_REJECTS_H
#define AGG_REJECTS_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/config.h"
#include "merge.h"

/* Whether p[0..len) is a well-formed REJECT payload. */
bool rejects_valid(const unsigned char *p, size_t len);

/*
 * Write the committed rejects of every provider of m, in config order, to
 * cfg's reject file (none: nothing to do), atomically like the output
 * (outfile.h).  Returns 0, or -1 with err; nothing is left behind then.
 */
int rejects_write(const struct cfg *cfg, const struct merge *m, char *err,
		  size_t errlen);

#endif
