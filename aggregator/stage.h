/*
 * stage.h - what a provider sent since its last checkpoint: the one stage.
 *
 * Exactly once (docs/design.md) needs every record and reject a provider
 * sends to wait until the checkpoint that covers it: then it counts, and
 * if the attempt dies first it vanishes.  This is where they wait, for
 * every mode; the merge folds a stage on a checkpoint and forgets it when
 * the attempt dies (merge.h).  A record is staged in one of two forms,
 * chosen once per merge by stage_setup():
 *
 *  - entries: in group mode, when every aggregate reads nothing
 *    (count(*)), only whether a field is NULL (count), or a fixed-size
 *    value (sum, avg, min, max of int, float, bool, timestamp, decimal;
 *    min, max of date).  One walk
 *    over a RECORDS payload checks every record as rec_decode() would,
 *    finds or creates its group in the provider's table and keeps an
 *    entry: the group and the aggregates' inputs.  stage_fold() applies
 *    the entries in arrival order (so float sums add in the same order as
 *    folding record after record would).  A group that only uncommitted
 *    records created stays in the table without being live.
 *  - bytes: otherwise (union; count_distinct; min or max of text; the
 *    statistics: stddev, variance, percentile, arg_min, arg_max; any
 *    aggregate with a filter) the
 *    records as they arrived, checked by rec_validate(); the merge decodes
 *    them without checks when it folds them.
 *
 * Rejects are staged as they arrived (each REJECT payload after its u32
 * length) in both forms.
 *
 * A one-text key of at most 16 bytes or a one-int key is looked up
 * first in the stager's memo: a small cache of the keys last seen and
 * their groups in one provider's table, compared as two words, used
 * while the table has few groups (with many, most lookups would miss).
 * It returns the group the table holds for the key, so nothing changes
 * but the cost.  It serves one stage and table at a time and starts
 * empty when another comes (or when the table has fewer groups than
 * when last used: it was freed); groups never move or go while their
 * table lives, so what it holds stays true until then.
 *
 * Memory: a RECORDS payload may be in shared memory that its producer can
 * still scribble over, so it is copied into private memory before a byte
 * of it is read (the walk must not read a byte twice from the ring).  The
 * stager owns the plan and that copy; each struct stage owns its buffers
 * (struct buf); an entry points into a group table and must not outlive
 * it (stage_forget_records() when the table goes).
 */
#ifndef AGG_STAGE_H
#define AGG_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ipc/record.h"
#include "../common/buf.h"
#include "../common/config.h"
#include "gtable.h"
#include "state.h"

struct stage_field;
struct stage_op;
struct stage_plan;

/* How a merge stages records, decided once by stage_setup(). */
struct stager {
	bool entries;                /* records staged as entries */
	const struct rec_schema *schema;
	const struct st_agg *aggs;   /* the merge's, naggs of them */
	int naggs;
	struct stage_field *sfields; /* per schema field */
	struct stage_op *sops;       /* per aggregate */
	int ninputs;
	size_t entry_size;           /* of an entry with its values */
	struct rec_value *vals;      /* scratch: a record's key values */
	struct stage_plan *plans;    /* 256 when the schema has 1 to 8 fields */
	struct buf frame;            /* a RECORDS payload, copied */
	struct stage_memo *memo;     /* short keys' groups, or NULL */
	const struct stage *memo_st; /* the stage and table it serves */
	const struct gtable *memo_t;
	size_t memo_n;               /* memo_t's groups when last used */
#ifdef AGG_TESTING
	bool general;                /* only the general walk and lookups */
#endif
};

/* One provider's stage. */
struct stage {
	uint64_t records;  /* staged, kept or not (a dropped provider's) */
	struct buf kept;   /* entries, or the records' bytes */
	size_t nkept;      /* records in kept */
	uint64_t nrejects;
	struct buf rejects;
};

/*
 * Decide how records of cfg are staged: as entries when cfg is in group
 * mode and every aggregate of aggs[0..naggs) allows it, as bytes
 * otherwise.  sg keeps cfg's schema and aggs.  0, or -1 on no memory.
 *
 * Test builds: AGG_STAGE=raw in the environment makes every merge stage
 * bytes, so that a test can compare both forms; AGG_STAGE=general (or
 * sg->general set after the setup) makes it walk every record field by
 * field and find every group through gtable_group_of(), without the
 * plans' fused steps or the memo, so that a test can compare those with
 * the general path.
 */
int stage_setup(struct stager *sg, const struct cfg *cfg,
		const struct gtable_keys *keys, const struct st_agg *aggs,
		int naggs);

void stage_setup_free(struct stager *sg);

/*
 * Stage the count records of recs[0..len) (a RECORDS payload, copied
 * first); with t NULL (a provider left out of the result) only check
 * and count them, else entries' groups are found in t, keys by k.
 * Returns 0; 1 when the bytes are not exactly count well-formed records
 * of the schema (rec_decode()'s verdict: the reason in err, nothing of the
 * frame staged); or -1 with err, out of memory (name: the provider).
 */
int stage_records(struct stager *sg, struct stage *st, struct gtable_keys *k,
		  struct gtable *t, const unsigned char *recs, size_t len,
		  uint32_t count, const char *name, char *err, size_t errlen);

/* Stage a REJECT payload p[0..len).  0, or -1 on no memory. */
int stage_reject(struct stage *st, const unsigned char *p, uint32_t len);

/*
 * Fold the staged entries into their groups' states (copying into ar),
 * in the order they were staged, and mark the groups live.  0, or -1 on
 * no memory.  The entries stay: stage_clear() forgets them.
 */
int stage_fold(const struct stager *sg, struct stage *st, struct arena *ar);

/* Forget the records and rejects staged.  This function can't fail. */
void stage_clear(struct stage *st);

/*
 * Free the records kept (their table is going), keeping the counts and
 * the rejects.  This function can't fail.
 */
void stage_forget_records(struct stage *st);

void stage_free(struct stage *st);

#endif
