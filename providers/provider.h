/*
 * provider.h - the one interface every provider type implements, and the
 * runtime services a provider uses to hand its records to the aggregator.
 *
 * A provider runs in its own process, forked by the supervisor, one process
 * per attempt.  Its run function reads the source from the resume point it
 * is given, converts each row into a record of the schema (convert.h) and
 * calls prov_emit(); now and then (when prov_want_checkpoint() says so, and
 * always at the end) it calls prov_checkpoint() with a resume token that
 * says where in the source it is, so that the next attempt, given that
 * token, continues right after the last record covered by it.
 *
 * Invariant: records emitted between two checkpoints are counted only if
 * the second checkpoint (or DONE) reaches the aggregator, so a token must
 * describe exactly the position after the last record emitted before it.
 *
 * The runtime (runtime.c) batches records into RECORDS frames, sends
 * heartbeats to the supervisor, enforces max_rejects, and turns the run
 * function's result into the process's exit status.
 */
#ifndef AGG_PROVIDER_H
#define AGG_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/config.h"
#include "../common/expr.h"
#include "../ipc/record.h"
#include "../ipc/ring.h"
#include "../ipc/token.h"
#include "combine.h"
#include "faults.h"

/* What a run function returns; also the provider process's exit status. */
enum prov_status {
	PROV_DONE = 0,          /* all input read, final checkpoint sent */
	PROV_FAIL_RETRY = 1,    /* failed; a restart may succeed */
	PROV_FAIL_PERMANENT = 2, /* failed; no retry can fix it */
	PROV_FAIL_CONFIG = 3,    /* the config does not fit the source (a
				    field without a column): no retry, and
				    the run exits 78 as for any config error */
	PROV_FAIL_CUT = 4        /* a range of a file (parallel) ends inside
				    a quoted field: its cut was not a record
				    start, the file is read again whole */
};

struct prov_ctx {
	const struct cfg *cfg;
	const struct cfg_provider *p;
	int index;                  /* in cfg->providers */
	uint16_t attempt;           /* 1 for the first */

	/* Resume point: token of the last folded checkpoint (len 0: start). */
	unsigned char token[PROV_TOKEN_MAX];
	size_t token_len;
	uint64_t records;           /* records counted so far, all attempts */
	uint64_t rejects;           /* rejects counted so far, all attempts */

	/* Runtime state, private to runtime.c. */
	struct ring *ring;
	int heartbeat_fd;           /* pipe to the supervisor, -1: none */
	uint64_t last_beat_ns;
	unsigned char *buf;         /* reserved RECORDS frame being filled, or NULL */
	size_t buf_cap;
	size_t buf_len;
	uint32_t buf_count;
	uint16_t frame_type;        /* RING_RECORDS, or RING_GROUPS once the
				       provider sends groups */
	uint64_t since_checkpoint;  /* records emitted since the last one */
	bool *unused;               /* group mode: fields no group key or
				       aggregate reads, sent as NULL; NULL:
				       none.  Set once, before the run
				       function, and never changed */
	struct rec_plan plan;       /* the encoding of a record (the whole
				       schema, unused dropped), planned from
				       unused when it was set */
	char errbuf[1024];
	enum prov_status fail_status; /* what prov_fail() last said */

	/*
	 * Derived fields and `where` (runtime.c), NULL when the config has
	 * none: then a record goes to the ring exactly as the provider
	 * converted it.  When set, cfg is a copy whose schema has the
	 * declared fields only (what the run function converts), a record
	 * goes through prov_emit(), or through prov_compute() for a
	 * provider that encodes records itself, and prov_emit() returns 1
	 * for a record whose expressions failed, with the reason in why.
	 */
	struct prov_compute *compute;
	uint64_t filtered;          /* records `where` dropped so far (from
				       the last run's count, as records) */
	bool done_sent;             /* prov_done() published DONE */
	struct comb *comb;          /* a range reader folding its rows into
				       groups (combine.h), NULL: records */
	bool emit_slow;             /* compute or comb: prov_emit() off its
				       plain path */
	uint64_t every;             /* records per checkpoint: the provider's
				       batch (PROV_CHECKPOINT_RECORDS if 0),
				       COMB_CHECKPOINT_BATCHES times that
				       while combining */
	char why[EXPR_REASON_MAX + 96];
};

/*
 * The provider types.  run() returns a prov_status; on failure it has
 * written a one-line reason into c->errbuf (never a secret).  check()
 * probes the source without reading it (--check) and writes a short
 * description into msg; it returns 0 when the source answers, -1 when it
 * does not, and PROV_CHECK_CONFIG when it answers but the config does not
 * fit it (a field or `map` entry that matches no column of a CSV header
 * or a query's result: a config error).
 */
#define PROV_CHECK_CONFIG (-2)

struct prov_ops {
	const char *name;
	enum prov_status (*run)(struct prov_ctx *c);
	int (*check)(const struct cfg *cfg, const struct cfg_provider *p,
		     char *msg, size_t msglen);
};

/* The ops for a type, or NULL if that type is not built in. */
const struct prov_ops *prov_ops_for(enum cfg_provider_type type);

/* --- runtime services for run functions ------------------------------ */

/*
 * Emit one record (v has cfg->schema.nfields values).  Returns 0, or -1 if
 * the ring is gone (the run function should then return PROV_FAIL_RETRY).
 * With derived fields or a `where` (c->compute), they are computed here:
 * a record `where` does not keep is dropped (0, counted in c->filtered),
 * and one whose expression fails (division by zero, overflow) is not
 * emitted: 1, with the reason in c->why ("derive ratio: division by
 * zero"), for the caller to reject at its position as a conversion error.
 */
int prov_emit(struct prov_ctx *c, const struct rec_value *v);

/*
 * Emit one group of a pushed-down group-by: v holds the values of s, the
 * group record (common/pushdown.h).  From the first call on, this
 * attempt's frames are GROUPS frames and prov_emit() may not be called;
 * each group counts as one record in the checkpoints.  0, or -1 as
 * prov_emit().
 */
int prov_emit_group(struct prov_ctx *c, const struct rec_schema *s,
		    const struct rec_value *v);

/*
 * The combine (combine.h): a range of a file read with `parallel` folds
 * its rows into groups in the reader, when push_combine_allowed() says
 * the config lets it, and sends them as GROUPS frames before each
 * checkpoint (and DONE); the checkpoints count rows, as without it.
 * prov_combine_begin() starts it (0; -1: no memory), and prov_emit()
 * folds from then on.  It stops for the rest of the attempt, records sent
 * again, when a batch's rows come to fewer than COMB_MIN_ROWS a group.
 * prov_fold() is prov_emit() for a provider that reads values itself:
 * v over the whole schema, derived fields computed (prov_compute()).
 * 0, or -1 as prov_emit().
 */
#define COMB_MIN_ROWS 4

/*
 * A reader folding its rows checkpoints this many times less often: each
 * checkpoint sends the table's groups and wakes the aggregator for a few
 * records, a round of system calls and a process switch that the rows
 * folded in a batch no longer pay for; a restart reads again at most that
 * many rows.
 */
#define COMB_CHECKPOINT_BATCHES 16
int prov_combine_begin(struct prov_ctx *c);
int prov_fold_full(struct prov_ctx *c, const struct rec_value *v, int r);

/* Inline: called per row; prov_fold_full() when the table said no. */
static inline int prov_fold(struct prov_ctx *c, const struct rec_value *v)
{
	int r = comb_fold(c->comb, v);

	if (__builtin_expect(r != 0, 0))
		return prov_fold_full(c, v, r);
	c->records++;
	c->since_checkpoint++;
	faults_hit(c, FAULT_RECORD);
	return 0;
}

static inline bool prov_combining(const struct prov_ctx *c)
{
	return c->comb != NULL;
}

/*
 * prov_fold()'s count of rows, for count rows a reader folded into
 * c->comb itself (comb_fold(): csvfast_fold()): a fault injected at the
 * record point fires with the whole batch counted, as with
 * prov_commit_records().
 */
static inline void prov_folded(struct prov_ctx *c, uint64_t count)
{
	c->records += count;
	c->since_checkpoint += count;
	for (uint64_t k = 0; k < count; k++)
		faults_hit(c, FAULT_RECORD);
}

/*
 * For a provider that encodes records itself when c->compute is set: the
 * schema records are encoded in (the declared fields, then the derived
 * ones; c->unused is over it), the array (of its nfields values) to read
 * a record's declared values into, and prov_compute() on them: the
 * derived fields computed into that array and `where` applied.  0: keep
 * it (encode every field); 1: dropped (counted in c->filtered); -1: an
 * expression failed (c->why), a reject at the record's position, as
 * prov_emit()'s 1.
 */
const struct rec_schema *prov_whole_schema(const struct prov_ctx *c);
struct rec_value *prov_values(struct prov_ctx *c);
int prov_compute(struct prov_ctx *c);

/*
 * When every derived field and `where` is an expr_simple (and no derived
 * field is guarded): prov_compute()'s work as steps for the provider's
 * own loop (expr_simple_run() on prov_values()), with *n of them; else
 * NULL.  A provider that runs them counts the records they drop with
 * prov_filtered(), as prov_compute() counts its own.
 */
const struct expr_simple_step *prov_simple_steps(const struct prov_ctx *c,
						int *n);
void prov_filtered(struct prov_ctx *c, uint64_t n);

/*
 * For a provider that encodes records itself, in record.h's format with
 * the fields c->unused names sent as NULL (what prov_emit() would write):
 * where the next record goes in the RECORDS frame being filled, with
 * *room bytes free there.  fresh: first publish the records of the frame
 * and take a new one (for a record that did not fit).  Returns NULL when
 * the ring is gone (the run function should return PROV_FAIL_RETRY).
 * Anything written there counts only once prov_commit() is called.
 */
unsigned char *prov_room(struct prov_ctx *c, bool fresh, size_t *room);

/*
 * Count the n bytes written at prov_room()'s pointer as one record: the
 * bookkeeping of prov_emit() after it encoded one.  The next record goes
 * n bytes further, with n bytes less room (until a frame is published:
 * after prov_checkpoint() or prov_reject(), ask prov_room() again).
 * Inline: called per record.
 */
static inline void prov_commit(struct prov_ctx *c, size_t n)
{
	c->buf_len += n;
	c->buf_count++;
	c->records++;
	c->since_checkpoint++;
	faults_hit(c, FAULT_RECORD);
}

/*
 * prov_commit() for count records of n bytes in all, written one after
 * another at prov_room()'s pointer: as count calls would do, except that
 * a fault injected at the record point (faults.h) fires with the whole
 * batch counted; nothing is published before the frame is, either way.
 */
static inline void prov_commit_records(struct prov_ctx *c, size_t n,
				       uint64_t count)
{
	c->buf_len += n;
	c->buf_count += (uint32_t)count;
	c->records += count;
	c->since_checkpoint += count;
	for (uint64_t k = 0; k < count; k++)
		faults_hit(c, FAULT_RECORD);
}

/*
 * Reject one piece of input.  position says where it is ("file.csv:12",
 * "page 3 record 7", "row key=42"), reason why, raw is the input itself
 * (may be NULL).  Returns 0, or -1 when this reject is one more than
 * max_rejects: the run function must then return PROV_FAIL_PERMANENT
 * (errbuf is already filled).
 */
int prov_reject(struct prov_ctx *c, const char *position, const char *reason,
		const char *raw, size_t rawlen);

/* Records between checkpoints when the provider has no `batch` of its own. */
#define PROV_CHECKPOINT_RECORDS 8192u

/* A frame with less room than this left wants a checkpoint. */
#define PROV_FRAME_SLACK 4096u

/*
 * True when the runtime would like a checkpoint at the next row boundary.
 * Inline: providers ask after every row.
 */
static inline bool prov_want_checkpoint(const struct prov_ctx *c)
{
	return c->since_checkpoint >= c->every ||
	       c->buf_len + PROV_FRAME_SLACK > c->buf_cap;
}

/*
 * For a provider that commits records in batches: how many more records
 * may be committed before prov_want_checkpoint() turns true by their
 * count (0: it is true now).  It also turns true after the record that
 * leaves less than PROV_FRAME_SLACK bytes of prov_room()'s room.
 */
static inline uint64_t prov_records_to_checkpoint(const struct prov_ctx *c)
{
	return c->since_checkpoint >= c->every ? 0
					       : c->every - c->since_checkpoint;
}

/*
 * Send the records emitted so far and a checkpoint with this resume token.
 * Returns 0, or -1 (token too long, or the ring is gone).
 */
int prov_checkpoint(struct prov_ctx *c, const void *token, size_t len);

/* Tell the supervisor this provider is alive.  Cheap: rate-limited. */
void prov_heartbeat(struct prov_ctx *c);

/* Fill c->errbuf with a formatted reason; returns status, for chaining. */
enum prov_status prov_fail(struct prov_ctx *c, enum prov_status status,
			   const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Publish DONE now, before the run function returns: for a run that still
 * has slow work to do that changes nothing counted (closing connections,
 * freeing), so that the aggregator folds the provider meanwhile and the
 * output need not wait for it.  The records and checkpoints sent so far are
 * all the provider sends: after it the run function may not emit, reject
 * or checkpoint, and returns PROV_DONE (prov_main() then sends nothing
 * more).  Returns 0, or -1 (the ring is gone: return prov_failure(c)).
 */
int prov_done(struct prov_ctx *c);

/*
 * What a run function returns after prov_emit(), prov_room(),
 * prov_reject() or prov_checkpoint() failed: the status their reason was
 * given with (too many rejects, a record larger than a frame, a resume
 * token too long: for good; no memory: a restart may do), or, when they
 * gave none (the ring is gone), PROV_FAIL_RETRY with a reason saying so.
 */
enum prov_status prov_failure(struct prov_ctx *c);

/*
 * The provider process's main: set up the runtime, run the type's run
 * function, send DONE or ERROR, and return the exit status.  Called in the
 * child right after fork.
 */
int prov_main(struct prov_ctx *c);

#endif
