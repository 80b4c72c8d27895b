/*
 * sup_spawn.h - the supervisor's forks: the aggregator, each provider
 * attempt, and the sweep of children the process table does not know.
 *
 * A forked child dies with the supervisor (PR_SET_PDEATHSIG, and a
 * getppid() check for a supervisor already gone), gets default signal
 * handling back, closes what belongs to the supervisor and names itself
 * (`aggregate: aggregator`, `aggregate: provider NAME`).  It never
 * returns into the caller: it _exits with its main function's status.
 */
#ifndef AGG_SUP_SPAWN_H
#define AGG_SUP_SPAWN_H

#include "sup_state.h"

/*
 * Fork the aggregator over s->rings, with the control socket pair and its
 * heartbeat pipe: sets s->ctl_fd, s->agg_hb_fd, s->agg_beat, s->agg_pid.
 * Returns 0, or -1 with errno (nothing left open).
 */
int sup_spawn_aggregator(struct sup *s);

/*
 * Fork attempt s->ch[i].attempt of provider i, which resumes from the
 * row's token and counts; the child sees no ring but its own and runs
 * under the provider's memory_limit.  The row goes to P_RUNNING either
 * way: a fork that failed is logged and leaves pid -1, for the timers to
 * treat as a crash of the attempt.
 */
void sup_spawn_provider(struct sup *s, int i);

/*
 * Kill and reap every child of this process that is still there: the
 * ones the table does not know (the postgres provider's snapshot holder).
 */
void sup_spawn_reap_strays(void);

#endif
