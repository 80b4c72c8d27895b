/*
 * agg.h - the aggregator process: reads every provider's ring, hands
 * records and rejects to the merge's stage until their checkpoint, has
 * them folded then, writes the output when the supervisor says so.
 */
#ifndef AGG_AGG_H
#define AGG_AGG_H

#include "../ipc/ring.h"
#include "../common/config.h"

/* The aggregator's heartbeat: a byte on its pipe at least this often (ms)
 * while it reads rings, so that the supervisor can tell a hung one. */
#define AGG_BEAT_MS 500

/*
 * Run the aggregator loop until CTL_FINISH has been answered or the
 * supervisor goes away.  rings[i] belongs to cfg->providers[i] (unused
 * entries have sh == NULL).  ctl_fd is the control socket (made
 * non-blocking here), hb_fd the write end of the heartbeat pipe
 * (non-blocking; -1: none).  Returns the process exit status: 0 when the
 * output was written.
 */
int agg_main(const struct cfg *cfg, struct ring *rings, int ctl_fd, int hb_fd);

#endif
