/*
 * stage_int.h - what the stage's two files share (stage.c stages the
 * entries, stage_fold.c folds them): an entry's layout and how each
 * aggregate folds it.  Not an API: only stage.c and stage_fold.c include
 * it.
 */
#ifndef AGG_STAGE_INT_H
#define AGG_STAGE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "gtable.h"

/*
 * How a staged input folds into one aggregate's state: the common kinds
 * inline, the others (min, max) through state_add().
 */
enum stage_op_kind { SOP_COUNT_STAR, SOP_COUNT, SOP_ISUM, SOP_FSUM, SOP_OTHER,
		    SOP_DSUM, SOP_DEC_OTHER };

struct stage_op {
	enum stage_op_kind kind;
	int input;      /* 0 for count(*) */
	size_t off;     /* of the state in a group (st_agg.off) */
};

/*
 * A staged record: its group and what its aggregates read, each input
 * field once: its NULL flag and its value as 8 bytes (int, timestamp and
 * date as int64, float as its IEEE bits, bool as 0 or 1; nothing for
 * text, which only count reads), a decimal as two (v[j] its low word,
 * v[j + 1] its high word; its NULL flag is bit j).
 */
struct stage_entry {
	struct group *g;
	uint64_t nulls;  /* bit j: input j is NULL */
	uint64_t v[];    /* sg->ninputs */
};

#endif
