/*
 * agg.h - the aggregator process: reads every provider's ring, stages
 * records until their checkpoint, folds them into the merge, writes the
 * output when the supervisor says so.
 */
#ifndef AGG_AGG_H
#define AGG_AGG_H

#include "../ipc/ring.h"
#include "config.h"

/*
 * Run the aggregator loop until CTL_FINISH has been answered or the
 * supervisor goes away.  rings[i] belongs to cfg->providers[i] (unused
 * entries have sh == NULL).  Returns the process exit status: 0 when the
 * output was written.
 */
int agg_main(const struct cfg *cfg, struct ring *rings, int ctl_fd);

#endif
