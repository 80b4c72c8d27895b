/*
 * runtime.c - the provider process's side of the ring: batching records
 * into frames, checkpoints, rejects, heartbeats, and the process's exit.
 *
 * A provider's run function only converts rows; everything about the ring
 * lives here.  Records are encoded straight into ring space reserved for a
 * RECORDS frame (ring_reserve) and published as one frame (ring_commit)
 * when the frame is full or a checkpoint is due, so the ring sees no system
 * call, no atomic and no copy per record.  Until it is committed the frame
 * is invisible to the aggregator; any other frame sent in between takes
 * the same ring space, so flush_records() always ends the reservation.
 *
 * Ordering invariant: frames are sent in the order the run function called
 * us; a REJECT or CHECKPOINT first flushes the records before it, so the
 * aggregator stages exactly what precedes each checkpoint.
 *
 * The process exits with the run function's prov_status: 0 only after DONE
 * was published.  While the ring is full (the aggregator is slower) the
 * runtime keeps beating so the supervisor does not take a slow consumer for
 * a hung provider.
 */
#include "provider.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../common/pushdown.h"
#include "../common/trace.h"
#include "combine.h"
#include "faults.h"
#include "runtime_int.h"

/* A heartbeat at most this often (nanoseconds). */
#define BEAT_INTERVAL_NS 500000000ull

/* How long one wait for ring space lasts before we beat again (ms). */
#define RESERVE_WAIT_MS 250

/*
 * Frame buffer size: big enough to amortise, small against the ring.  A
 * record larger than this travels alone in a frame of its own size, up to
 * ring_max_payload() (emit_alone()).
 */
#define FRAME_BYTES (256u * 1024u)

/* The supervisor that forked this process (prov_main() records it). */
static pid_t supervisor;

/*
 * --trace: where the batch being read began (clock_us) and its counts.
 * Batches end at checkpoints, which fall inside a file or a query as often
 * as between them: async spans, on a track of their own, so that they need
 * not nest with the provider's other spans.
 */
static struct {
	uint64_t start_us, records, rejects;
} batch;

/*
 * --trace, at a checkpoint: the batch it ends as one span, its rate, its
 * rejects as one count (not an event each); then the events go to the
 * file, so that a process killed later loses none of them.
 */
static __attribute__((noinline, cold)) void trace_batch(struct prov_ctx *c)
{
	uint64_t now = clock_us(), n = c->records - batch.records;
	char num[24], rej[24];

	snprintf(num, sizeof num, "%llu", (unsigned long long)n);
	snprintf(rej, sizeof rej, "%llu",
		 (unsigned long long)(c->rejects - batch.rejects));
	trace_async("batch", batch.start_us, now, "records", num, "rejects", rej,
		    NULL);
	if (c->rejects > batch.rejects)
		trace_instant("rejects", "count", rej, NULL);
	if (now > batch.start_us)
		trace_counter("records/s", "records/s",
			      (double)n * 1e6 / (double)(now - batch.start_us));
	batch.start_us = now;
	batch.records = c->records;
	batch.rejects = c->rejects;
	trace_flush();
}

void prov_heartbeat(struct prov_ctx *c)
{
	uint64_t now;
	char b = 'h';

	if (c->heartbeat_fd < 0)
		return;
	now = clock_coarse_ns();
	if (now - c->last_beat_ns < BEAT_INTERVAL_NS)
		return;
	c->last_beat_ns = now;
	/* The pipe is non-blocking: a full pipe already says we are alive. */
	if (write(c->heartbeat_fd, &b, 1) < 0 && errno != EAGAIN)
		c->heartbeat_fd = -1;
}

/*
 * Reserve ring space for a frame of len payload bytes, waiting (and
 * beating) while the ring is full.  NULL: the supervisor is gone.
 */
static void *reserve_frame(struct prov_ctx *c, size_t len)
{
	for (;;) {
		void *p = ring_reserve(c->ring, len, RESERVE_WAIT_MS);

		if (p != NULL)
			return p;
		if (errno != EAGAIN)
			return NULL;
		prov_heartbeat(c);
		/*
		 * The supervisor is gone (re-parented: to init, or to a
		 * subreaper).  PR_SET_PDEATHSIG normally kills us first.
		 */
		if (getppid() != supervisor)
			return NULL;
	}
}

/* Send one frame, waiting (and beating) while the ring is full. */
static int send_frame(struct prov_ctx *c, enum ring_frame_type type,
		      const void *payload, size_t len)
{
	void *p;

	/* Any reserved RECORDS frame was flushed or dropped before this. */
	assert(c->buf == NULL);
	p = reserve_frame(c, len);
	if (p == NULL)
		return -1;
	if (len != 0)
		memcpy(p, payload, len);
	ring_commit(c->ring, len, type, c->attempt);
	return 0;
}

/*
 * Publish the RECORDS frame being filled, if it holds any record, and end
 * the reservation either way (the next frame reuses its space).
 */
static int flush_records(struct prov_ctx *c)
{
	if (c->buf_count == 0) {
		c->buf = NULL;
		return 0;
	}
	memcpy(c->buf, &c->buf_count, sizeof c->buf_count);
	faults_hit(c, FAULT_MID_FRAME);
	faults_hit(c, FAULT_BEFORE_RECORDS);
	ring_commit(c->ring, c->buf_len, c->frame_type, c->attempt);
	c->buf = NULL;
	faults_hit(c, FAULT_AFTER_RECORDS);
	c->buf_len = REC_FRAME_COUNT_BYTES;
	c->buf_count = 0;
	prov_heartbeat(c);
	return 0;
}

/* n bytes as "4M", "256K" or "1234" (a whole multiple of a unit, else bytes). */
static void size_text(uint64_t n, char *out, size_t outlen)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (u < 3 && n >= 1024 && n % 1024 == 0) {
		n /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(out, outlen, "%" PRIu64, n);
	else
		snprintf(out, outlen, "%" PRIu64 "%c", n, units[u]);
}

/*
 * Encode one record of s into out[0..room) (0: it does not fit), by plan
 * (a record: c->plan) or, with no plan, every field written (a group
 * record: its schema is not the records' and it has no unused field).
 */
static inline size_t encode_in(const struct rec_schema *s,
			       const struct rec_plan *plan,
			       const struct rec_value *v, unsigned char *out,
			       size_t room)
{
	if (plan != NULL)
		return rec_plan_encode(plan, v, out, room);
	return rec_encode_within(s, v, out, room);
}

/*
 * A record that does not fit a frame of buf_cap bytes: send it alone in a
 * frame of its own size (rec_frame_alone_size(), the record encoding's
 * rule), up to the ring's largest (a quarter of it), so that a larger
 * ring_size really lets a larger record through.  Not on the hot path:
 * only records larger than a whole ordinary frame come here.
 * 0, or -1 (too large for this ring: failed for good; the ring is gone).
 */
static __attribute__((noinline, cold)) int
emit_alone(struct prov_ctx *c, const struct rec_schema *s,
	   const struct rec_plan *plan, const struct rec_value *v)
{
	/* Fields the plan sends as NULL (c->unused) take no bytes. */
	size_t need = plan != NULL
		? REC_FRAME_COUNT_BYTES + rec_plan_size(plan, v)
		: rec_frame_alone_size(s, v, NULL);
	size_t size = need - REC_FRAME_COUNT_BYTES;
	size_t max = ring_max_payload(c->ring), n;
	char have[32], fits[32];
	uint64_t ring;

	if (need > max) {
		/*
		 * The ring rounds up to a power of two; a frame is a quarter
		 * of it, and at most 2 GiB (ring_max_payload()).
		 */
		for (ring = RING_MIN_CAPACITY; ring / 4 < need &&
		     ring < RING_MAX_CAPACITY; ring *= 2)
			;
		size_text(c->ring->cap, have, sizeof have);
		if (ring / 4 < need || need > (1ull << 31)) {
			prov_fail(c, PROV_FAIL_PERMANENT,
				  "record of %zu bytes is larger than the "
				  "largest frame of any ring (%zu bytes with "
				  "the %s ring)", size, max, have);
			return -1;
		}
		size_text(ring, fits, sizeof fits);
		prov_fail(c, PROV_FAIL_PERMANENT,
			  "record of %zu bytes is larger than the largest "
			  "frame (%zu bytes, a quarter of the %s ring); "
			  "ring_size = %s would fit it", size, max, have, fits);
		return -1;
	}
	if (flush_records(c) < 0)
		return -1;
	c->buf = reserve_frame(c, need);
	if (c->buf == NULL)
		return -1;
	n = encode_in(s, plan, v, c->buf + c->buf_len, need - c->buf_len);
	assert(n != 0);
	prov_commit(c, n);
	/* Published at once: the next record takes an ordinary frame. */
	return flush_records(c);
}

/*
 * Encode one record of s into the frame (prov_emit()'s work): by plan,
 * c->plan for a record, NULL for a group record (encode_in()).
 */
static inline int emit_record(struct prov_ctx *c, const struct rec_schema *s,
			      const struct rec_plan *plan,
			      const struct rec_value *v)
{
	size_t n = 0;

	/*
	 * One pass: encode if it fits, else flush and encode into a new
	 * frame.  Fields the group-by never reads travel as NULL: no bytes.
	 */
	if (c->buf != NULL)
		n = encode_in(s, plan, v, c->buf + c->buf_len,
			      c->buf_cap - c->buf_len);
	if (n == 0) {
		if (flush_records(c) < 0)
			return -1;
		c->buf = reserve_frame(c, c->buf_cap);
		if (c->buf == NULL)
			return -1;
		n = encode_in(s, plan, v, c->buf + c->buf_len,
			      c->buf_cap - c->buf_len);
		if (n == 0)
			return emit_alone(c, s, plan, v);
	}
	prov_commit(c, n);
	return 0;
}

/* The schema records are sent in: the whole one, derived fields included. */
static const struct rec_schema *records_schema(const struct prov_ctx *c)
{
	return c->compute ? &c->compute->cfg->schema : &c->cfg->schema;
}

/* Why derived field i failed, into c->why. */
static __attribute__((noinline, cold)) void
derive_failed(struct prov_ctx *c, const struct cfg *cfg, int i,
	      const char *reason)
{
	if (cfg->hidden[i - cfg->nfields_declared])
		snprintf(c->why, sizeof c->why, "aggregate %s: %s",
			 cfg->schema.fields[i].name + 2, reason);
	else
		snprintf(c->why, sizeof c->why, "derive %s: %s",
			 cfg->schema.fields[i].name, reason);
}

/* Derived field i (schema index), d of cfg->derive, by expr_eval(). */
static __attribute__((noinline)) int
derive_eval(struct prov_ctx *c, struct prov_compute *k, int i, int d)
{
	char reason[EXPR_REASON_MAX];

	if (expr_eval(k->cfg->derive[d], k->vals, k->frames[d], &k->vals[i],
		      reason, sizeof reason) == 0)
		return 0;
	derive_failed(c, k->cfg, i, reason);
	return 1;
}

/* Derived field i (schema index) into k->vals; 0, or 1 with c->why. */
static inline int derive_one(struct prov_ctx *c, struct prov_compute *k,
			     int i)
{
	const struct cfg *cfg = k->cfg;
	int d = i - cfg->nfields_declared, g = cfg->guard[d];

	if (g >= 0 && (k->vals[g].null || !k->vals[g].u.b)) {
		k->vals[i].null = true; /* never read: its filter is false */
		return 0;
	}
	if (k->simple[d].kind == EXPR_SIMPLE_NONE)
		return derive_eval(c, k, i, d);
	expr_simple_eval(&k->simple[d], k->vals, &k->vals[i]);
	return 0;
}

/* Whether a `where` keeps the record: 1 yes, 0 no, -1 failed (c->why). */
static __attribute__((noinline)) int
keep_eval(struct prov_ctx *c, struct prov_compute *k,
	  const struct expr_prog *prog, struct expr_frame *frame)
{
	struct rec_value w;
	char reason[EXPR_REASON_MAX];

	if (expr_eval(prog, k->vals, frame, &w, reason, sizeof reason) < 0) {
		snprintf(c->why, sizeof c->why, "where: %s", reason);
		return -1;
	}
	return !w.null && w.u.b;
}

/* keep_eval(), or e (expr_simple_of()) inline when it is one. */
static inline int keep(struct prov_ctx *c, struct prov_compute *k,
		       const struct expr_prog *prog, struct expr_frame *frame,
		       const struct expr_simple *e)
{
	struct rec_value w;

	if (e->kind == EXPR_SIMPLE_NONE)
		return keep_eval(c, k, prog, frame);
	expr_simple_eval(e, k->vals, &w);
	return !w.null && w.u.b;
}

/*
 * The derived fields and `where` of the record whose declared values are
 * in k->vals: 0 kept (every derived field computed), 1 dropped, -1 an
 * expression failed (c->why).
 */
static inline int compute(struct prov_ctx *c, struct prov_compute *k)
{
	const struct cfg *cfg = k->cfg;
	int nd = k->nd, n = cfg->schema.nfields, i, r;

	for (i = nd; i < nd + k->pre; i++)
		if (derive_one(c, k, i))
			return -1;
	if (cfg->where && (r = keep(c, k, cfg->where, k->where, &k->swhere)) <= 0)
		goto dropped;
	if (c->p->where && (r = keep(c, k, c->p->where, k->pwhere,
				     &k->spwhere)) <= 0)
		goto dropped;
	for (; i < n; i++)
		if (derive_one(c, k, i))
			return -1;
	return 0;

dropped:
	if (r < 0)
		return -1;
	/* Alive while a where drops everything: no frame, no beat else. */
	if (++c->filtered % 4096 == 0)
		prov_heartbeat(c);
	return 1;
}

int prov_compute(struct prov_ctx *c)
{
	return compute(c, c->compute);
}

const struct expr_simple_step *prov_simple_steps(const struct prov_ctx *c,
						int *n)
{
	*n = c->compute->nsteps;
	return c->compute->steps;
}

void prov_filtered(struct prov_ctx *c, uint64_t n)
{
	c->filtered += n;
}

struct rec_value *prov_values(struct prov_ctx *c)
{
	return c->compute->vals;
}

const struct rec_schema *prov_whole_schema(const struct prov_ctx *c)
{
	return &c->compute->cfg->schema;
}

/* prov_emit() with derived fields or a `where`: off the plain path. */
static __attribute__((noinline)) int emit_computed(struct prov_ctx *c,
						   const struct rec_value *v)
{
	struct prov_compute *k = c->compute;
	int r;

	memcpy(k->vals, v, (size_t)k->nd * sizeof *v);
	r = compute(c, k);
	if (r != 0)
		return r < 0;
	return emit_record(c, &k->cfg->schema, &c->plan, k->vals);
}

int prov_emit_group(struct prov_ctx *c, const struct rec_schema *s,
		    const struct rec_value *v)
{
	if (c->frame_type != RING_GROUPS) {
		if (flush_records(c) < 0)
			return -1;
		c->frame_type = RING_GROUPS;
	}
	return emit_record(c, s, NULL, v);
}

/* A group record, not counted: the checkpoints count the rows. */
static int emit_uncounted(void *arg, const struct rec_schema *s,
			  const struct rec_value *v)
{
	struct prov_ctx *c = arg;
	uint64_t records = c->records, since = c->since_checkpoint;
	int rc = emit_record(c, s, NULL, v);

	c->records = records;
	c->since_checkpoint = since;
	return rc;
}

/* What this process's combine sent, for -v: rows, group records. */
static uint64_t comb_sent_rows, comb_sent_groups;

/* -v: what the combine did, and why it stopped (NULL: at the end). */
static void combine_log(const struct prov_ctx *c, const char *why)
{
	char rows[24], groups[24];

	if (!log_enabled(LOG_DEBUG) || comb_sent_rows == 0)
		return;
	snprintf(rows, sizeof rows, "%" PRIu64, comb_sent_rows);
	snprintf(groups, sizeof groups, "%" PRIu64, comb_sent_groups);
	log_event(LOG_DEBUG, c->p->name, "rows folded into groups in the "
		  "reader", "rows", rows, "groups", groups,
		  why ? "stopped" : NULL, why, NULL);
}

/* Records per checkpoint (struct prov_ctx.every) without the combine. */
static uint64_t rows_per_checkpoint(const struct prov_ctx *c)
{
	return c->p->batch > 0 ? (uint64_t)c->p->batch
			       : PROV_CHECKPOINT_RECORDS;
}

static void combine_end(struct prov_ctx *c)
{
	comb_free(c->comb);
	c->comb = NULL;
	c->emit_slow = c->compute != NULL;
	c->every = rows_per_checkpoint(c);
}

/* What the combine sent since the last checkpoint: rows, group records. */
static uint64_t since_rows, since_groups;

/*
 * Send the combine's groups (GROUPS frames), and, at a checkpoint (a full
 * table's groups go out between them), stop it when the groups sent since
 * the last were too many for their rows.  0, or -1 (the ring is gone).
 */
static int combine_send(struct prov_ctx *c, bool checkpoint)
{
	uint64_t groups = comb_groups(c->comb), rows = comb_rows(c->comb);
	bool few;
	int rc = 0;

	if (groups > 0) {
		if (flush_records(c) < 0)
			return -1;
		c->frame_type = RING_GROUPS;
		rc = comb_send(c->comb, emit_uncounted, c);
		if (rc == 0)
			rc = flush_records(c);
		c->frame_type = RING_RECORDS;
		comb_sent_rows += rows;
		comb_sent_groups += groups;
		since_rows += rows;
		since_groups += groups;
	}
	if (rc != 0 || !checkpoint)
		return rc;
	few = since_rows < COMB_MIN_ROWS * since_groups;
	since_rows = since_groups = 0;
	if (few) {
		combine_log(c, "too many groups for their rows: records "
			    "from here");
		combine_end(c);
	}
	return 0;
}

int prov_combine_begin(struct prov_ctx *c)
{
	const struct cfg *cfg = c->compute ? c->compute->cfg : c->cfg;
	char why[128];

	if (c->comb != NULL ||
	    !push_combine_allowed(cfg, c->index, why, sizeof why))
		return 0;
	c->comb = comb_new(cfg);
	if (c->comb == NULL)
		return -1;
	c->emit_slow = true;
	c->every = COMB_CHECKPOINT_BATCHES * rows_per_checkpoint(c);
	return 0;
}

int prov_fold_full(struct prov_ctx *c, const struct rec_value *v, int r)
{
	if (r > 0) {
		if (combine_send(c, false) < 0)
			return -1;
		if (c->comb == NULL)
			return emit_record(c, records_schema(c), &c->plan, v);
		r = comb_add(c->comb, v);
	}
	if (r != 0) {
		prov_fail(c, PROV_FAIL_RETRY, "out of memory");
		return -1;
	}
	c->records++;
	c->since_checkpoint++;
	faults_hit(c, FAULT_RECORD);
	return 0;
}

/* prov_emit() with derived fields, a `where` or the combine. */
static __attribute__((noinline)) int emit_slow(struct prov_ctx *c,
					       const struct rec_value *v)
{
	struct prov_compute *k = c->compute;
	int r;

	if (c->comb == NULL)
		return emit_computed(c, v);
	if (k != NULL) {
		memcpy(k->vals, v, (size_t)k->nd * sizeof *v);
		r = compute(c, k);
		if (r != 0)
			return r < 0;
		v = k->vals;
	}
	return prov_fold(c, v);
}

int prov_emit(struct prov_ctx *c, const struct rec_value *v)
{
	/* Chosen once per process; the plain path is as it always was. */
	if (__builtin_expect(c->emit_slow, 0))
		return emit_slow(c, v);
	return emit_record(c, &c->cfg->schema, &c->plan, v);
}

unsigned char *prov_room(struct prov_ctx *c, bool fresh, size_t *room)
{
	if (fresh || c->buf == NULL) {
		if (flush_records(c) < 0)
			return NULL;
		c->buf = reserve_frame(c, c->buf_cap);
		if (c->buf == NULL)
			return NULL;
	}
	*room = c->buf_cap - c->buf_len;
	return c->buf + c->buf_len;
}

/* Append a u32-length-prefixed string to a frame payload. */
static size_t put_str(unsigned char *p, const char *s, size_t len)
{
	uint32_t n = (uint32_t)len;

	memcpy(p, &n, sizeof n);
	if (len)
		memcpy(p + sizeof n, s, len);
	return sizeof n + len;
}

int prov_reject(struct prov_ctx *c, const char *position, const char *reason,
		const char *raw, size_t rawlen)
{
	size_t plen = strlen(position), rlen = strlen(reason);
	size_t max = ring_max_payload(c->ring) - 3 * sizeof(uint32_t);
	unsigned char *frame;
	size_t len;
	int rc = -1;

	if (raw == NULL)
		rawlen = 0;
	/* Keep the frame within the ring; the raw text is cut if need be. */
	if (plen > 1024)
		plen = 1024;
	if (rlen > 1024)
		rlen = 1024;
	if (plen + rlen + rawlen > max)
		rawlen = max - plen - rlen;

	if (flush_records(c) < 0)
		return -1;
	frame = malloc(3 * sizeof(uint32_t) + plen + rlen + rawlen);
	if (frame == NULL) {
		prov_fail(c, PROV_FAIL_RETRY, "out of memory");
		return -1;
	}
	len = put_str(frame, position, plen);
	len += put_str(frame + len, reason, rlen);
	len += put_str(frame + len, raw, rawlen);
	if (send_frame(c, RING_REJECT, frame, len) == 0)
		rc = 0;
	free(frame);
	if (rc < 0)
		return -1;
	/* The one reject too many is still sent: the reject file shows it. */
	c->rejects++;
	if (c->rejects > (uint64_t)c->p->max_rejects) {
		prov_fail(c, PROV_FAIL_PERMANENT,
			  "too many rejects (max_rejects = %ld), last at %s: %s",
			  c->p->max_rejects, position, reason);
		return -1;
	}
	return 0;
}

int prov_checkpoint(struct prov_ctx *c, const void *token, size_t len)
{
	unsigned char frame[3 * sizeof(uint64_t) + PROV_TOKEN_MAX];

	if (len > PROV_TOKEN_MAX) {
		prov_fail(c, PROV_FAIL_PERMANENT, "resume token too long");
		return -1;
	}
	if ((c->comb != NULL && combine_send(c, true) < 0) ||
	    flush_records(c) < 0)
		return -1;
	memcpy(frame, &c->records, sizeof(uint64_t));
	memcpy(frame + sizeof(uint64_t), &c->rejects, sizeof(uint64_t));
	memcpy(frame + 2 * sizeof(uint64_t), &c->filtered, sizeof(uint64_t));
	if (len)
		memcpy(frame + 3 * sizeof(uint64_t), token, len);
	faults_hit(c, FAULT_BEFORE_CHECKPOINT);
	if (send_frame(c, RING_CHECKPOINT, frame, 3 * sizeof(uint64_t) + len) < 0)
		return -1;
	faults_hit(c, FAULT_AFTER_CHECKPOINT);
	c->since_checkpoint = 0;
	prov_heartbeat(c);
	if (trace_on)
		trace_batch(c);
	return 0;
}

enum prov_status prov_fail(struct prov_ctx *c, enum prov_status status,
			   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->errbuf, sizeof c->errbuf, fmt, ap);
	va_end(ap);
	c->fail_status = status;
	return status;
}

enum prov_status prov_failure(struct prov_ctx *c)
{
	if (c->errbuf[0] == '\0')
		return prov_fail(c, PROV_FAIL_RETRY,
				 "the ring to the aggregator is gone");
	return c->fail_status;
}

int prov_done(struct prov_ctx *c)
{
	/* DONE also covers records sent after the last checkpoint. */
	if ((c->comb != NULL && combine_send(c, true) < 0) ||
	    flush_records(c) < 0 ||
	    send_frame(c, RING_DONE, &c->filtered, sizeof c->filtered) < 0) {
		prov_fail(c, PROV_FAIL_RETRY,
			  "could not hand over the last records");
		if (c->comb != NULL)
			combine_log(c, NULL);
		return -1;
	}
	c->done_sent = true;
	trace_end("read", "status", "done", NULL);
	faults_hit(c, FAULT_AFTER_DONE);
	if (c->comb != NULL)
		combine_log(c, NULL);
	return 0;
}

int prov_main(struct prov_ctx *c)
{
	const struct prov_ops *ops = prov_ops_for(c->p->type);
	enum prov_status st;

	supervisor = getppid();
	c->buf_cap = ring_max_payload(c->ring);
	if (c->buf_cap > FRAME_BYTES)
		c->buf_cap = FRAME_BYTES;
	c->buf = NULL;
	c->buf_len = REC_FRAME_COUNT_BYTES;
	c->buf_count = 0;
	c->frame_type = RING_RECORDS;
	c->errbuf[0] = '\0';
	c->done_sent = false;
	ring_producer_attach(c->ring);
	faults_init(c);
	trace_begin("read", NULL);
	batch.start_us = clock_us();
	batch.records = c->records;
	batch.rejects = c->rejects;

	if (ops == NULL)
		st = prov_fail(c, PROV_FAIL_PERMANENT,
			       "provider type not built in");
	else if (prov_compute_init(c) < 0 || prov_find_unused(c) < 0)
		st = prov_fail(c, PROV_FAIL_RETRY, "out of memory");
	else {
		/* c->unused is final: a record's encoding is planned once. */
		rec_plan_init(&c->plan, records_schema(c), c->unused);
		c->emit_slow = c->compute != NULL;
		c->every = rows_per_checkpoint(c);
		st = ops->run(c);
	}

	/* After prov_done() a run function has nothing left to fail. */
	assert(st == PROV_DONE || !c->done_sent);
	if (st == PROV_DONE && !c->done_sent && prov_done(c) < 0)
		st = prov_failure(c);
	if (st != PROV_DONE) {
		trace_end("read", "status", "failed", "cause", c->errbuf,
			  NULL);
		c->buf = NULL;    /* the ERROR frame takes its space */
		if (c->errbuf[0] == '\0')
			snprintf(c->errbuf, sizeof c->errbuf, "failed");
		(void)ring_send(c->ring, RING_ERROR, c->attempt, c->errbuf,
				strlen(c->errbuf), 0);
	}
	c->buf = NULL;
	free(c->unused);
	c->unused = NULL;
	combine_end(c);
	if (c->compute != NULL) {
		c->cfg = c->compute->cfg;
		prov_compute_free(c->compute);
		c->compute = NULL;
	}
	return st;
}
