/*
 * pg_copy.h - one attempt of the postgres provider (struct pg_run), and
 * the COPY that reads its rows: the choice of text or binary format, the
 * stream read row by row, each row into a record or a reject.
 *
 * struct pg_run is the attempt's state, shared by the provider's files:
 * postgres.c fills it and frees it, pg_resume.c reads and writes its
 * resume state (rows, key), pg_snapshot.c its snapshot (snap, holder),
 * and this file its per-column arrays.  It owns what its pointers point
 * to (postgres.c frees all of it at the attempt's end), except c and p,
 * and col[j] and bval[j], which point into the COPY message being read
 * (or into tbuf[j]).
 */
#ifndef AGG_PG_COPY_H
#define AGG_PG_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <libpq-fe.h>

#include "../common/buf.h"
#include "pgbin.h"
#include "provider.h"

/* Longest snapshot id accepted ("00000003-0000001B-1"). */
#define PG_SNAP_MAX 64

/* Type OIDs (pg_type.h) of the keys whose order is checked client-side. */
#define PG_OID_INT8 20
#define PG_OID_INT2 21
#define PG_OID_INT4 23
#define PG_OID_FLOAT4 700
#define PG_OID_FLOAT8 701

struct pg_run {
	struct prov_ctx *c;
	const struct cfg_provider *p;
	PGconn *conn;
	char *body;             /* the query, trailing ';' removed */
	int nfields;
	int ncols;
	int *map;               /* field -> column, -1: NULL */
	bool *used;             /* column -> some field or the key reads it */
	int key_col;            /* -1: no key */
	unsigned key_type;      /* its type OID */
	struct rec_value *vals;
	const char **col;       /* current row: column text (unescaped) */
	size_t *col_len;
	bool *col_null;

	/* Binary COPY (see pgbin.h): this attempt's choice, the kind of each
	 * column, the current row's bytes, and scratch for values written as
	 * text (a reject's raw text, a key, a type read through its text).
	 * tbuf[j]/tcap[j] grow as their own realloc, not a struct buf: they
	 * are refilled per row on the binary path, a deliberate hot-path
	 * specialisation (pg_bin_text()). */
	bool binary;
	bool bin_header;        /* the stream's header was read */
	bool bin_trailer;       /* ... and its trailer */
	enum pgbin_kind *kind;
	const unsigned char **bval;
	uint32_t *blen;
	char **tbuf;
	size_t *tcap;

	uint64_t rows;          /* rows consumed, all attempts */
	uint64_t skip;          /* rows still to drop (resume without key) */

	/* The key of row `rows`, as text, and as a number when checked. */
	struct buf key;
	bool have_key;
	int64_t key_i;
	double key_f;

	bool push;              /* groups, not rows (pg_push.h) */
	bool push_tok;          /* the token says an attempt pushed */

	char snap[PG_SNAP_MAX]; /* "" when snapshot = false */
	pid_t holder;           /* the snapshot's holder, 0: none */
};

/*
 * Allocate the per-column arrays once the description gave ncols columns,
 * and mark the columns a field or the key reads.  0, or -1 when out of
 * memory (what was allocated is freed with the run).
 */
int pg_copy_alloc(struct pg_run *r, int ncols);

/*
 * Choose this attempt's transfer (r->binary) from the description and log
 * it at debug level ("copy format").  Binary only when every used column
 * reads exactly as in text (pgbin.h) and the server can send every unused
 * one (pg_type is asked).  Returns PROV_DONE, or a failure of that query.
 */
enum prov_status pg_choose(struct pg_run *r, const PGresult *desc);

/*
 * Run the COPY of this attempt (pg_copy_sql()): drop r->skip rows, then
 * one record or reject per row, checkpointing whenever the runtime asks.
 * Returns PROV_DONE once the stream ended well, or a failure (errbuf).
 */
enum prov_status pg_copy(struct pg_run *r);

#endif
