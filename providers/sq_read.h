/*
 * sq_read.h - one attempt of the sqlite provider (struct sq_run), and the
 * loop that reads its rows: each row's key checked, the row encoded
 * straight into the RECORDS frame, or sent as a reject.
 *
 * struct sq_run is the attempt's state, shared by the provider's files:
 * sqlite.c fills and frees it, sq_db.c opens its database, sq_resume.c
 * reads and writes its resume state (rows, last) and this file reads the
 * rows.  It owns every pointer in it but c and p; out points into the
 * ring's frame being filled (NULL: none reserved).
 */
#ifndef AGG_SQ_READ_H
#define AGG_SQ_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "../common/buf.h"
#include "provider.h"

/* The key of the last row consumed, in its SQLite type. */
struct sq_key {
	int type;               /* SQLITE_INTEGER, _FLOAT, _TEXT, _BLOB; 0: none */
	int64_t i;
	double f;
	struct buf bytes;       /* text or blob bytes */
};

/*
 * What a field takes from a row, decided once: its column, its type,
 * whether it travels (group mode sends unread fields as NULL, still
 * converted so that rejects are the same), and whether its column is the
 * key's (then the value sq_take_key() already read is used).
 */
struct sq_field {
	int col;                /* -1: always NULL */
	enum rec_type type;
	bool drop;
	bool key;
};

struct sq_run {
	struct prov_ctx *c;
	const struct cfg_provider *p;
	sqlite3 *db;
	sqlite3_stmt *st;
	char *path;             /* what sqlite3_open_v2 was given */
	int nfields;
	int *map;               /* field -> column, -1: NULL */
	int key_col;            /* -1: no key */
	struct rec_value *vals;
	char *scratch;          /* CONV_SCRATCH_MAX per field */
	uint64_t rows;          /* rows consumed, all attempts */
	struct sq_key last;     /* key of row `rows` */
	bool push;              /* rows are groups (sq_push.h); in the
				   token once an attempt pushed */

	/* The direct encoder (sq_encode) and where it writes. */
	struct sq_field *fields;
	unsigned char nulls[(REC_MAX_FIELDS + 7) / 8]; /* a record's first bitmap */
	size_t bitmap;          /* bytes of the null bitmap */
	/* Derived fields and `where` (c->compute): the values sq_encode()
	   reads go to v as well (prov_values()), prov_compute() decides,
	   and the computed fields' values follow the columns' in the
	   record, as the whole schema w says. */
	struct rec_value *v;    /* NULL: nothing computed */
	const struct rec_schema *w;
	unsigned char *out;     /* next record's place in the frame, or NULL */
	size_t room;            /* bytes free at out */
	int mode;               /* test builds: SQ_DIRECT, _GENERAL, _CHECK */
};

/* How rows become records (test builds may choose; see sq_read.c). */
enum { SQ_DIRECT, SQ_GENERAL, SQ_CHECK };

/*
 * Decide, once the columns are resolved (r->map, r->key_col), what the
 * encoder does for each field (r->fields, r->nulls, r->mode).
 */
void sq_plan(struct sq_run *r);

/*
 * Step r->st to its end: every row a record or a reject, checkpointing
 * whenever the runtime asks, and with done=1 at the end.  Returns
 * PROV_DONE, or a failure (errbuf filled).
 */
enum prov_status sq_loop(struct sq_run *r);

#endif
