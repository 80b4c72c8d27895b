/*
 * runtime_int.h - what the provider runtime (runtime.c) and the setup of
 * a run it makes once before the run function starts (runtime_setup.c)
 * share: the state of derived fields and `where`, and the setup's calls.
 * Private to those two files.
 */
#ifndef AGG_RUNTIME_INT_H
#define AGG_RUNTIME_INT_H

#include "provider.h"

/*
 * What derived fields and `where` need in the provider's process: the
 * config as loaded (whose schema has the derived fields), a frame per
 * program, and the record's values, declared then derived.
 */
struct prov_compute {
	const struct cfg *cfg;      /* the whole config (c->cfg is a copy) */
	struct cfg view;            /* that copy: the declared fields */
	struct rec_value *vals;     /* schema.nfields values */
	struct expr_frame **frames; /* one per derived field */
	struct expr_frame *where, *pwhere; /* [aggregate]'s, the provider's */
	struct expr_simple *simple; /* per derived field: run inline when
				       it is one (expr_simple_of()) */
	struct expr_simple swhere, spwhere; /* the same for the wheres */
	struct expr_simple_step *steps; /* all of them, when each is simple
					  and unguarded, in compute()'s
					  order (prov_simple_steps()) */
	int nsteps;
	int nd;                     /* the declared fields */
	int pre;                    /* derived fields `where` reads: computed
				       before it, the others only after */
};

/*
 * With derived fields or a `where`, set up c->compute and give the run
 * function a copy of the config with the declared fields only.  0, or -1:
 * no memory.
 */
int prov_compute_init(struct prov_ctx *c);

/* c->compute's memory (NULL: nothing). */
void prov_compute_free(struct prov_compute *k);

/*
 * Group mode: the fields that neither the group key nor any aggregate
 * (of any output) reads, in c->unused.  They are still converted (a bad
 * one is still a reject) but sent as NULL, which takes no bytes in the
 * ring and no work in the aggregator.  Union mode (of any output) writes
 * every field: nothing is left out (c->unused NULL).  -1: no memory.
 */
int prov_find_unused(struct prov_ctx *c);

#endif
