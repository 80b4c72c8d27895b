/*
 * merge_rows.c - a grouped result's rows on two threads (merge_rows.h).
 *
 * Why chunks in turn rather than halves: with the second half formatted
 * into memory while the first is written, a result of G groups would hold
 * half its output in memory (10 MB for 1 M short keys, gigabytes for
 * large results); with chunks taken in turn the worker is never more than
 * PAR_SLOTS chunks ahead, so the memory is PAR_SLOTS buffers whatever the
 * size, and both threads format from the first chunk to the last.
 *
 * The hand-over: chunk c (PAR_CHUNK rows) is the calling thread's when c
 * is even.  The worker claims the odd chunks in turn (p->claim), formats
 * chunk c into slot (c / 2) % PAR_SLOTS, marks it full and goes on, once
 * that slot is empty; the calling thread, at an odd chunk, waits for its
 * slot to be full, writes its bytes through the writer and marks it empty
 * - or, when the worker has not claimed it yet (kept off the core by
 * other work), claims it and formats it itself, so it never waits for
 * work that has not begun.  One mutex and one condition variable guard
 * the claim, the slots' flags and the quit flag; a slot's bytes belong to
 * whichever thread its flag says, so they are read without the lock.
 */
#include "merge_rows.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "out_buf.h"
#include "split2.h"

/* Rows of a chunk: some 100 KB of CSV, under one out_buf. */
#define PAR_CHUNK 4096u
/* The worker's buffers: how far ahead of the writing it may get. */
#define PAR_SLOTS 4

/* Groups between a prefetch and its use. */
#define ROWS_AHEAD 8u

struct slot {
	struct out_buf b;   /* the chunk's bytes, or their end */
	struct buf spill;   /* its first bytes when they outgrew b */
	size_t rows;
	bool full;          /* the worker's until set, then the writer's */
};

struct par {
	const struct merge_rows *r;
	const struct out_writer *w; /* read only, by the worker */
	size_t chunk;
	struct slot slots[PAR_SLOTS];
	struct rec_value *row;      /* the worker's */
	pthread_mutex_t mu;
	pthread_cond_t changed;
	size_t claim;               /* the next odd chunk nobody has taken */
	bool quit;                  /* the writer is done or gave up */
};

void merge_rows_fill(const struct merge_rows *r, size_t i,
		     struct rec_value *row)
{
	const struct group *g = r->gs[i].g;
	int j;

	if (r->nkeys > 0)
		memcpy(row, r->gs[i].kv, sizeof(*row) * (size_t)r->nkeys);
	for (j = 0; j < r->naggs; j++)
		state_result(&r->aggs[j], g, &row[r->nkeys + j]);
}

/* Test builds: AGG_PAR_CHUNK=N rows a chunk, to test many hand-overs. */
static size_t chunk_rows(void)
{
#ifdef AGG_TESTING
	const char *s = getenv("AGG_PAR_CHUNK");

	if (s != NULL && *s != '\0' && strtoul(s, NULL, 10) > 0)
		return (size_t)strtoul(s, NULL, 10);
#endif
	return PAR_CHUNK;
}

bool merge_rows_parallel(const struct out_writer *w,
			 const struct merge_rows *r)
{
	int j;

	if (!out_can_format(w) || !split2_wanted(r->n))
		return false;
	for (j = 0; j < r->naggs; j++)
		if (state_is_stat(&r->aggs[j]))
			return false;
	return true;
}

struct decode {
	const struct rec_schema *ks;
	const struct group *const *order;
	size_t n;
	struct out_group *gs;
	struct rec_value *kv;
	bool bad[2];
};

/* One half of merge_rows_decode()'s groups (split2_run()). */
static void decode_half(void *arg, int half)
{
	struct decode *d = arg;
	size_t mid = d->n / 2, i = half ? mid : 0, end = half ? d->n : mid;

	for (; i < end; i++) {
		const struct group *g = d->order[i];

		/* In key order the groups are all over memory: load ahead. */
		if (i + ROWS_AHEAD < end)
			__builtin_prefetch(d->order[i + ROWS_AHEAD]->key);
		d->gs[i].g = g;
		d->gs[i].kv = d->kv + i;
		if (rec_decode(d->ks, g->key, g->klen, d->gs[i].kv) !=
			    (long)g->klen ||
		    (d->gs[i].kv->null && i != d->n - 1)) {
			d->bad[half] = true;
			return;
		}
	}
}

int merge_rows_decode(const struct rec_schema *ks,
		      const struct group *const *order, size_t n,
		      struct out_group *gs, struct rec_value *kv)
{
	struct decode d = { ks, order, n, gs, kv, { false, false } };

	split2_run(n, decode_half, &d);
	return d.bad[0] || d.bad[1] ? -1 : 0;
}

/* out_buf's sink for a slot: a full buffer's bytes kept, not sent. */
static int slot_spill(void *arg, const char *p, size_t n)
{
	struct slot *s = arg;

	if (buf_add(&s->spill, p, n) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

static bool chunk_of_worker(size_t c)
{
	return c % 2 == 1;
}

static struct slot *slot_of(struct par *p, size_t c)
{
	return &p->slots[(c / 2) % PAR_SLOTS];
}

/* Format rows [from, to) into s (the worker's side). */
static void format_chunk(struct par *p, struct slot *s, size_t from,
			 size_t to)
{
	size_t i;

	for (i = from; i < to; i++) {
		if (i + ROWS_AHEAD < to)
			__builtin_prefetch(p->r->gs[i + ROWS_AHEAD].g);
		merge_rows_fill(p->r, i, p->row);
		out_format_row(p->w, &s->b, p->row);
	}
	s->rows = to - from;
}

/* Rows [from, to) of chunk c. */
static void chunk_rows_of(const struct par *p, size_t c, size_t *from,
			  size_t *to)
{
	*from = c * p->chunk;
	*to = *from + p->chunk < p->r->n ? *from + p->chunk : p->r->n;
}

static void *worker(void *arg)
{
	struct par *p = arg;
	size_t n = p->r->n;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		size_t c, from, to;
		struct slot *s;

		while (!p->quit && p->claim * p->chunk < n &&
		       slot_of(p, p->claim)->full)
			pthread_cond_wait(&p->changed, &p->mu);
		if (p->quit || p->claim * p->chunk >= n)
			break;
		c = p->claim;
		p->claim += 2;
		s = slot_of(p, c);
		pthread_mutex_unlock(&p->mu);
		chunk_rows_of(p, c, &from, &to);
		format_chunk(p, s, from, to);
		pthread_mutex_lock(&p->mu);
		s->full = true;
		pthread_cond_broadcast(&p->changed);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/*
 * Whether the worker has chunk c (odd): else the calling thread takes it
 * now, so that it never waits for a chunk the worker has not begun (a
 * worker kept off the core by other work).
 */
static bool worker_has(struct par *p, size_t c)
{
	bool has;

	pthread_mutex_lock(&p->mu);
	has = p->claim > c;
	if (!has)
		p->claim = c + 2;
	pthread_mutex_unlock(&p->mu);
	return has;
}

/* Write the worker's chunk c through w once it is there; then free it. */
static int put_chunk(struct par *p, struct out_writer *w, size_t c,
		     char *err, size_t errlen)
{
	struct slot *s = slot_of(p, c);
	int rc;

	pthread_mutex_lock(&p->mu);
	while (!s->full)
		pthread_cond_wait(&p->changed, &p->mu);
	pthread_mutex_unlock(&p->mu);
	if (s->b.error != 0) {
		snprintf(err, errlen, "out of memory writing the output");
		return -1;
	}
	rc = out_put_rows(w, (const char *)s->spill.p, s->spill.len, 0, err,
			  errlen);
	if (rc == 0)
		rc = out_put_rows(w, s->b.buf, s->b.len, (long)s->rows, err,
				  errlen);
	s->b.len = 0;
	buf_clear(&s->spill);
	pthread_mutex_lock(&p->mu);
	s->full = false;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* Rows [from, to) formatted by the calling thread, into the writer. */
static int write_rows(struct par *p, struct out_writer *w, size_t from,
		      size_t to, struct rec_value *row, char *err,
		      size_t errlen)
{
	size_t i;

	for (i = from; i < to; i++) {
		if (i + ROWS_AHEAD < to)
			__builtin_prefetch(p->r->gs[i + ROWS_AHEAD].g);
		merge_rows_fill(p->r, i, row);
		if (out_row(w, row, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* The calling thread's side: its chunks formatted, the worker's put. */
static int write_chunks(struct par *p, struct out_writer *w,
			struct rec_value *row, uint64_t *written, char *err,
			size_t errlen)
{
	size_t c, from, to;

	for (c = 0; c * p->chunk < p->r->n; c++) {
		chunk_rows_of(p, c, &from, &to);
		if (chunk_of_worker(c) && worker_has(p, c)) {
			if (put_chunk(p, w, c, err, errlen) < 0)
				return -1;
		} else if (write_rows(p, w, from, to, row, err, errlen) < 0) {
			return -1;
		}
		*written += to - from;
	}
	return 0;
}

static void par_free(struct par *p)
{
	int k;

	for (k = 0; k < PAR_SLOTS; k++) {
		out_buf_free(&p->slots[k].b);
		buf_free(&p->slots[k].spill);
	}
	free(p->row);
	pthread_cond_destroy(&p->changed);
	pthread_mutex_destroy(&p->mu);
}

static int par_init(struct par *p, const struct out_writer *w,
		    const struct merge_rows *r)
{
	size_t ncols = (size_t)(r->nkeys + r->naggs);
	int k, rc = 0;

	*p = (struct par){ .r = r, .w = w, .claim = 1 };
	p->chunk = chunk_rows();
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->changed, NULL);
	p->row = calloc(ncols + 1, sizeof(*p->row));
	if (p->row == NULL)
		rc = -1;
	for (k = 0; k < PAR_SLOTS; k++) {
		if (out_buf_init(&p->slots[k].b) < 0)
			rc = -1;
		p->slots[k].b.sink = slot_spill;
		p->slots[k].b.sink_arg = &p->slots[k];
	}
	return rc;
}

int merge_rows_write(struct out_writer *w, const struct merge_rows *r,
		     uint64_t *written, char *err, size_t errlen)
{
	size_t ncols = (size_t)(r->nkeys + r->naggs);
	struct rec_value *row = calloc(ncols + 1, sizeof(*row));
	struct par p;
	pthread_t t;
	bool started;
	int rc = -1;

	if (par_init(&p, w, r) < 0 || row == NULL) {
		snprintf(err, errlen, "out of memory writing the output");
		goto out;
	}
	/* No worker: the calling thread takes every chunk (worker_has()). */
	started = split2_start(&t, worker, &p) == 0;
	rc = write_chunks(&p, w, row, written, err, errlen);
	if (started) {
		pthread_mutex_lock(&p.mu);
		p.quit = true;
		pthread_cond_broadcast(&p.changed);
		pthread_mutex_unlock(&p.mu);
		pthread_join(t, NULL);
	}
out:
	par_free(&p);
	free(row);
	return rc;
}
