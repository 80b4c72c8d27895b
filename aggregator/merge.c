/*
 * merge.c - folding the providers' records into the result: union and group.
 *
 * How it fits: the aggregator loop calls merge_add() for every record whose
 * checkpoint it has folded, provider by provider in each one's source order,
 * but with the providers interleaved however the timing fell.  To keep the
 * output byte-identical whatever that interleaving, nothing here is shared
 * between providers until merge_write():
 *
 *  - union: each provider's records are appended, rec_encode()d, to its own
 *    spool: a large buffer that overflows into an unlinked temporary file in
 *    $TMPDIR, so a big run does not live in memory.  merge_write() replays
 *    the spools in config order.
 *  - group: each provider has its own hash table of groups, keyed by the
 *    rec_encode()d group key, holding per group one state per aggregate.
 *    One text or one int key (the common shapes) is hashed and compared as
 *    the value it is, without encoding it per record (see key_shape); the
 *    table still stores the encoded key.
 *    merge_write() folds the later providers' tables into the first live
 *    one, in config order, so float sums always add in the same order
 *    (provider 0's partial sum + provider 1's + ...), then sorts the groups
 *    by key (one int key: by a radix sort of the keys themselves).
 *  - group, staged (merge_stages(): every aggregate's input fixed-size):
 *    instead of the aggregator keeping raw records until their checkpoint
 *    and calling merge_add() for each, merge_stage() takes each RECORDS
 *    payload as it arrives: one walk checks every record as rec_decode()
 *    would, finds or creates its group, and keeps an entry of the group and
 *    the inputs; merge_commit() applies the entries in order at the
 *    checkpoint, merge_discard() drops them.  A group an attempt created but
 *    never committed a record to stays in the table, not live, and is
 *    skipped by everything after (folding, sorting, writing).
 *
 * State machine: merge_new -> (merge_add | merge_stage | merge_commit |
 * merge_discard | merge_drop)* -> merge_write (which may be repeated and
 * gives the same rows) -> merge_free.  Folding the tables together is
 * one-way: after the first merge_write(), merge_add(), merge_stage() and a
 * merge_commit() with entries fail, and merge_drop() changes nothing.
 *
 * Invariants:
 *  - merge_add() and merge_stage() do no malloc for a record of an existing
 *    group (the stage of entries grows only until it holds the longest run
 *    between two checkpoints) and no system call but the spool's write(2)
 *    once per buffer; keys, states and copied text live in per-table arenas
 *    freed only by merge_free() (after folding, tables point into each
 *    other's arenas).
 *  - A group key is canonical: equal keys (by rec_value_cmp) encode to equal
 *    bytes, -0.0 being stored as 0.0.
 *  - Each aggregate's state takes only the bytes its kind needs (a count is
 *    8 bytes), laid out one after the other behind the group's header: the
 *    memory of a run with millions of groups is mostly these states.
 *  - Integer sums are exact (128 bits) and checked against the 64-bit range
 *    before anything is written, so an overflow leaves no output at all.
 */
#include "merge.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/convert.h"
#include "../common/sysio.h"
#include "output.h"

/* A union spool's buffer: records wait here before going to the file. */
#define SPOOL_BUF_SIZE (1024u * 1024u)

/* An arena grabs memory from malloc in blocks of this size (or bigger). */
#define ARENA_BLOCK_SIZE (256u * 1024u)

/* Slots of a provider's group table when its first record comes. */
#define GTABLE_INITIAL 64u

/* Slots of a count_distinct set when its first value comes. */
#define DSET_INITIAL 4u

/* ------------------------------------------------------------------ */
/* Arena                                                               */
/* ------------------------------------------------------------------ */

struct arena_block {
	struct arena_block *next;
};

/* Bump allocator over malloc'd blocks, freed all at once. */
struct arena {
	struct arena_block *blocks;
	uintptr_t next; /* first free byte of the current block */
	uintptr_t end;
};

static void *arena_grow(struct arena *a, size_t n)
{
	size_t hdr = sizeof(struct arena_block);
	size_t size = n + hdr + 8 > ARENA_BLOCK_SIZE ? n + hdr + 8 :
		      ARENA_BLOCK_SIZE;
	struct arena_block *b = malloc(size);
	uintptr_t p;

	if (b == NULL)
		return NULL;
	b->next = a->blocks;
	a->blocks = b;
	p = ((uintptr_t)b + hdr + 7) & ~(uintptr_t)7;
	a->next = p + n;
	a->end = (uintptr_t)b + size;
	return (void *)p;
}

/* n bytes aligned to align (1 or 8), not zeroed; NULL on no memory. */
static inline void *arena_alloc(struct arena *a, size_t n, size_t align)
{
	uintptr_t p = (a->next + align - 1) & ~(uintptr_t)(align - 1);

	if (a->blocks == NULL || p > a->end || a->end - p < n)
		return arena_grow(a, n);
	a->next = p + n;
	return (void *)p;
}

static void *arena_calloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n, 8);

	if (p != NULL)
		memset(p, 0, n);
	return p;
}

static void arena_free(struct arena *a)
{
	while (a->blocks != NULL) {
		struct arena_block *b = a->blocks;

		a->blocks = b->next;
		free(b);
	}
	a->next = a->end = 0;
}

/* ------------------------------------------------------------------ */
/* Hashing                                                             */
/* ------------------------------------------------------------------ */

/* 64x64 -> 128-bit multiply folded to 64 bits (as wyhash does). */
static inline uint64_t mum(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

#define H_P0 0xa0761d6478bd642full
#define H_P1 0xe7037ed1a0b428dbull
#define H_P2 0x8ebc6af09c88c6e3ull
#define H_P3 0x589965cc75374cc3ull

static inline uint64_t rd64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t rd32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/*
 * wyhash's scheme: short keys are read with overlapping fixed-size loads
 * (no loop, no variable-length copy), longer ones 16 bytes at a time.
 */
static inline uint64_t hash_bytes(const unsigned char *p, size_t len)
{
	uint64_t seed = H_P0, a, b;

	if (len <= 16) {
		if (len >= 4) {
			size_t mid = (len >> 3) << 2;

			a = (rd32(p) << 32) | rd32(p + mid);
			b = (rd32(p + len - 4) << 32) | rd32(p + len - 4 - mid);
		} else if (len > 0) {
			a = ((uint64_t)p[0] << 16) |
			    ((uint64_t)p[len >> 1] << 8) | p[len - 1];
			b = 0;
		} else {
			a = b = 0;
		}
	} else {
		size_t i = len;

		while (i > 16) {
			seed = mum(rd64(p) ^ H_P1, rd64(p + 8) ^ seed);
			p += 16;
			i -= 16;
		}
		/* The last 16 bytes of the key, overlapping what went before. */
		a = rd64(p + i - 16);
		b = rd64(p + i - 8);
	}
	return mum(mum(a ^ H_P1, b ^ seed) ^ H_P0 ^ (uint64_t)len, H_P3);
}

static inline uint64_t hash_u64(uint64_t v)
{
	return mum(mum(v ^ H_P1, H_P2) ^ H_P3, H_P0);
}

/* a[0..n) == b[0..n), short lengths with a few overlapping loads. */
static inline bool bytes_eq(const unsigned char *a, const unsigned char *b,
			    size_t n)
{
	if (n > 16)
		return memcmp(a, b, n) == 0;
	if (n >= 8)
		return rd64(a) == rd64(b) && rd64(a + n - 8) == rd64(b + n - 8);
	if (n >= 4)
		return rd32(a) == rd32(b) && rd32(a + n - 4) == rd32(b + n - 4);
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* ------------------------------------------------------------------ */
/* Aggregate states                                                    */
/* ------------------------------------------------------------------ */

/* One value of a count_distinct set. */
struct dslot {
	uint64_t hash;
	union {
		uint64_t bits;          /* int, timestamp, float, bool */
		const unsigned char *p; /* text */
	} v;
	uint32_t len;                   /* text */
	bool used;
};

/* Open addressing, linear probing; slots live in the table's arena. */
struct dset {
	struct dslot *slots;
	uint32_t mask;
	uint32_t n;
};

/*
 * The state of one aggregate in one group, by kind.  Each begins with n,
 * the rows (count(*)) or non-NULL values seen; all are multiples of 8 bytes
 * and 8-byte aligned.
 */
struct st_count {
	int64_t n;
};

struct st_isum {
	int64_t n;
	unsigned char sum[16]; /* __int128, through memcpy: 8-byte aligned */
};

struct st_fsum {
	int64_t n;
	double sum;
};

struct st_mm {
	int64_t n;
	union {
		int64_t i;  /* int, timestamp */
		double f;
		bool b;
		struct {
			const char *p;
			uint32_t len;
			uint32_t cap; /* room at p if this table owns it */
		} s;
	} u;
};

struct st_set {
	int64_t n;
	struct dset set;
};

enum st_kind { ST_COUNT, ST_ISUM, ST_FSUM, ST_MM, ST_SET };

/* What merge.c needs of an aggregate, resolved once by merge_new(). */
struct agg_info {
	enum cfg_agg_kind kind;
	enum st_kind st;
	int field;             /* -1 for count(*) */
	enum rec_type ftype;   /* the field's type */
	enum rec_type natural; /* the type the state yields */
	enum rec_type otype;   /* the output column's type */
	size_t off;            /* of its state from the start of a group */
};

/*
 * A group: this header, then the states at their agg_info.off.  A group is
 * live once a committed record has been folded into it; merge_stage()
 * creates groups for records that may never commit, and a group that is
 * not live (its states all zero) is left out of everything that follows:
 * folding the tables, sorting, writing.
 */
struct group {
	const unsigned char *key; /* rec_encode()d key, in some table's arena */
	uint32_t klen;
	bool live;
};

#define STATE(g, a) ((void *)((unsigned char *)(g) + (a)->off))

struct gslot {
	uint64_t hash;
	struct group *g; /* NULL: free */
};

struct gtable {
	struct gslot *slots; /* malloc'd; NULL until the first group */
	size_t mask;
	size_t n;
	struct arena arena;  /* groups, keys, text, sets */
};

/* One provider's partial result. */
struct part {
	bool dropped;
	/* union */
	int fd;                /* spool file, -1 until the buffer overflows */
	unsigned char *buf;    /* SPOOL_BUF_SIZE; NULL until the first record */
	size_t len;
	uint64_t file_size;
	/* group */
	struct gtable t;
	/* group, staged by merge_stage(): nstaged entries of stage_size */
	unsigned char *stage;
	size_t nstaged;
	size_t stage_cap;     /* entries */
};

/*
 * Group keys that merge_add() looks up without encoding them first: one
 * non-NULL text or int (timestamp) key.  Anything else (NULL, several
 * fields, float, bool) takes the general path.  Either way the table holds
 * the same canonical encoded key, so folding, sorting and writing do not
 * know the difference; a key always takes the same path, so its hash is
 * always the same function of it.
 */
enum key_shape { KEY_GENERAL, KEY_TEXT1, KEY_INT1 };

/* One text key encoded: u32 total, 1 bitmap byte, u32 length, the bytes. */
#define TEXT1_OFF 9u
/* One int key encoded: u32 total, 1 bitmap byte, 8 bytes. */
#define INT1_OFF 5u
#define INT1_KLEN 13u

struct merge {
	const struct cfg *cfg;
	struct part *parts;      /* cfg->nproviders */
	enum key_shape shape;
#ifdef AGG_TESTING
	uint64_t hash_mask;      /* weakens group key hashes: see merge.h */
#endif
	struct rec_schema keyschema;
	struct rec_value *keyv;  /* scratch: one record's key values */
	unsigned char *scratch;  /* scratch: encoded key or big record */
	size_t scratch_cap;
	struct agg_info *aggs;
	int naggs;
	size_t group_size;       /* header and states */
	bool folded;             /* group: the tables are folded into result */
	bool fold_failed;
	struct gtable *result;   /* group: the folded table, once folded */
	struct gtable own;       /* the result when no provider is left */
	uint64_t rows;
	/* staging (merge_stage): possible when every input is fixed-size */
	bool stages;
	struct stage_field *sfields; /* per schema field */
	struct stage_op *sops;       /* per aggregate */
	int ninputs;
	size_t entry_size;       /* of a struct stage_entry with its values */
	struct rec_value *vals;  /* scratch: a staged record's key values */
	struct stage_plan *plans; /* 256 when the schema has 1 to 8 fields */
};

/* Inputs a staged entry can hold: one NULL flag each in a uint64_t. */
#define STAGE_MAX_INPUTS 64

/* What a field of the schema is to staging: a key, an input, both, none. */
#define SF_KEY 1u
#define SF_INPUT 2u

struct stage_field {
	enum rec_type type;
	unsigned role;  /* SF_KEY | SF_INPUT */
	int input;      /* its input, when SF_INPUT */
};

/*
 * How a staged input folds into one aggregate's state: the common kinds
 * inline, the others (min, max) through state_add().
 */
enum stage_op_kind { SOP_COUNT_STAR, SOP_COUNT, SOP_ISUM, SOP_FSUM, SOP_OTHER };

struct stage_op {
	enum stage_op_kind kind;
	int input;      /* 0 for count(*) */
	size_t off;     /* of the state in a group (agg_info.off) */
};

/*
 * How staging reads the records whose null bitmap is a given byte (schemas
 * of up to 8 fields, m->plans[byte]): the fields present, in order, and the
 * keys and inputs that are NULL; or that the byte has bits past the last
 * field, which makes every such record malformed.
 */
enum { PLAN_UNKNOWN, PLAN_BAD, PLAN_OK };

struct stage_plan {
	unsigned char state;
	unsigned char n;          /* fields present */
	unsigned char nknull;     /* keys that are NULL */
	unsigned char field[8];
	unsigned char knull[8];
	uint64_t nulls;           /* inputs that are NULL */
};

/*
 * A staged record: its group and what its aggregates read, each input
 * field once: its NULL flag and its value as 8 bytes (int and timestamp
 * as int64, float as its IEEE bits, bool as 0 or 1; nothing for text,
 * which only count reads).
 */
struct stage_entry {
	struct group *g;
	uint64_t nulls;  /* bit j: input j is NULL */
	uint64_t v[];    /* m->ninputs */
};

static void gtable_free(struct gtable *t)
{
	free(t->slots);
	t->slots = NULL;
	t->mask = t->n = 0;
	arena_free(&t->arena);
}

static int gtable_resize(struct gtable *t, size_t cap)
{
	struct gslot *slots = calloc(cap, sizeof(*slots));
	size_t i;

	if (slots == NULL)
		return -1;
	if (t->slots != NULL) {
		for (i = 0; i <= t->mask; i++) {
			size_t j;

			if (t->slots[i].g == NULL)
				continue;
			j = t->slots[i].hash & (cap - 1);
			while (slots[j].g != NULL)
				j = (j + 1) & (cap - 1);
			slots[j] = t->slots[i];
		}
	}
	free(t->slots);
	t->slots = slots;
	t->mask = cap - 1;
	return 0;
}

/* A group key's hash; test builds can make it collide on purpose. */
#ifdef AGG_TESTING
#define KEY_HASH(m, h) ((h) & (m)->hash_mask)
#else
#define KEY_HASH(m, h) (h)
#endif

/* Room for one more group in t (it grows at half full).  0, or -1. */
static inline int gtable_reserve(struct gtable *t)
{
	if (t->slots == NULL || (t->n + 1) * 2 > t->mask + 1) {
		size_t cap = t->slots == NULL ? GTABLE_INITIAL :
			     (t->mask + 1) * 2;

		if (gtable_resize(t, cap) < 0)
			return -1;
	}
	return 0;
}

/*
 * Where a new group of hash h goes in t: slot i, the free slot its probe
 * ended on, unless t must grow first (at half full; a table without slots
 * gets its first ones), and then the free slot of the grown table.  So
 * that a lookup that finds its group never checks the table's size.
 * SIZE_MAX when out of memory.
 */
static size_t gtable_new_slot(struct gtable *t, uint64_t h, size_t i)
{
	if (t->slots != NULL && (t->n + 1) * 2 <= t->mask + 1)
		return i;
	if (gtable_reserve(t) < 0)
		return SIZE_MAX;
	for (i = h & t->mask; t->slots[i].g != NULL; i = (i + 1) & t->mask)
		;
	return i;
}

/*
 * A new group with zeroed states in free slot i of t, its key key[0..klen)
 * (in an arena that lives as long as t).  NULL when out of memory, with t
 * unchanged.
 */
static struct group *gtable_put(struct merge *m, struct gtable *t, size_t i,
				uint64_t h, const unsigned char *key,
				uint32_t klen)
{
	struct group *g = arena_calloc(&t->arena, m->group_size);

	if (g == NULL)
		return NULL;
	g->key = key;
	g->klen = klen;
	t->slots[i].hash = h;
	t->slots[i].g = g;
	t->n++;
	return g;
}

/*
 * The group of key[0..klen) (hash h) in t, created with zeroed states if
 * new; its key is copied into t's arena when copy_key, else the caller keeps
 * key alive as long as t.  NULL when out of memory.
 */
static struct group *gtable_get(struct merge *m, struct gtable *t, uint64_t h,
				const unsigned char *key, uint32_t klen,
				bool copy_key)
{
	struct group *g;
	size_t i;

	if (gtable_reserve(t) < 0)
		return NULL;
	for (i = h & t->mask; t->slots[i].g != NULL; i = (i + 1) & t->mask) {
		g = t->slots[i].g;
		if (t->slots[i].hash == h && g->klen == klen &&
		    memcmp(g->key, key, klen) == 0)
			return g;
	}
	if (copy_key) {
		unsigned char *k = arena_alloc(&t->arena, klen, 1);

		if (k == NULL)
			return NULL;
		memcpy(k, key, klen);
		key = k;
	}
	return gtable_put(m, t, i, h, key, klen);
}

/*
 * gtable_get() for one non-NULL text key p[0..len), hashed and compared as
 * it is: only a new group's key is encoded (as key_encode() would).
 */
static inline __attribute__((always_inline)) struct group *
gtable_get_text1(struct merge *m, struct gtable *t, const unsigned char *p,
		 uint32_t len)
{
	uint64_t h = KEY_HASH(m, hash_bytes(p, len));
	uint32_t klen = TEXT1_OFF + len;
	struct group *g;
	unsigned char *k;
	size_t i = 0;

	if (t->slots != NULL) {
		for (i = h & t->mask; (g = t->slots[i].g) != NULL;
		     i = (i + 1) & t->mask) {
			/* klen >= TEXT1_OFF: never the NULL key's 5 bytes. */
			if (t->slots[i].hash == h && g->klen == klen &&
			    bytes_eq(g->key + TEXT1_OFF, p, len))
				return g;
		}
	}
	i = gtable_new_slot(t, h, i);
	if (i == SIZE_MAX)
		return NULL;
	k = arena_alloc(&t->arena, klen, 1);
	if (k == NULL)
		return NULL;
	memcpy(k, &klen, 4);
	k[4] = 0; /* the null bitmap */
	memcpy(k + 5, &len, 4);
	if (len != 0)
		memcpy(k + TEXT1_OFF, p, len);
	return gtable_put(m, t, i, h, k, klen);
}

/* gtable_get() for one non-NULL int or timestamp key x, likewise. */
static inline __attribute__((always_inline)) struct group *
gtable_get_int1(struct merge *m, struct gtable *t, int64_t x)
{
	uint64_t h = KEY_HASH(m, hash_u64((uint64_t)x));
	uint32_t klen = INT1_KLEN;
	struct group *g;
	unsigned char *k;
	size_t i = 0;

	if (t->slots != NULL) {
		for (i = h & t->mask; (g = t->slots[i].g) != NULL;
		     i = (i + 1) & t->mask) {
			if (t->slots[i].hash == h && g->klen == INT1_KLEN &&
			    rd64(g->key + INT1_OFF) == (uint64_t)x)
				return g;
		}
	}
	i = gtable_new_slot(t, h, i);
	if (i == SIZE_MAX)
		return NULL;
	k = arena_alloc(&t->arena, klen, 1);
	if (k == NULL)
		return NULL;
	memcpy(k, &klen, 4);
	k[4] = 0;
	memcpy(k + INT1_OFF, &x, 8);
	return gtable_put(m, t, i, h, k, klen);
}

/* The bits that identify a non-text value in a count_distinct set. */
static inline uint64_t value_bits(enum rec_type t, const struct rec_value *v)
{
	uint64_t bits;

	switch (t) {
	case REC_FLOAT:
		if (v->u.f == 0)
			return 0; /* -0.0 and 0.0 are one value */
		memcpy(&bits, &v->u.f, 8);
		return bits;
	case REC_BOOL:
		return v->u.b ? 1 : 0;
	default:
		return (uint64_t)v->u.i;
	}
}

/*
 * Add one value to s unless it is there already.  Text p[0..len) is copied
 * into a, unless copy is false (then the caller keeps it alive as long as
 * s).  Returns 0, or -1 on no memory.
 */
static int dset_insert(struct arena *a, struct dset *s, bool text,
		       uint64_t hash, uint64_t bits, const unsigned char *p,
		       uint32_t len, bool copy)
{
	struct dslot *sl;
	uint32_t i;

	if (s->slots == NULL || (s->n + 1) * 2 > s->mask + 1) {
		uint32_t cap = s->slots == NULL ? DSET_INITIAL :
			       (s->mask + 1) * 2;
		struct dslot *ns = arena_calloc(a, sizeof(*ns) * cap);
		uint32_t k;

		if (ns == NULL || cap == 0)
			return -1;
		for (k = 0; s->slots != NULL && k <= s->mask; k++) {
			uint32_t j;

			if (!s->slots[k].used)
				continue;
			j = (uint32_t)s->slots[k].hash & (cap - 1);
			while (ns[j].used)
				j = (j + 1) & (cap - 1);
			ns[j] = s->slots[k];
		}
		/* The old slots stay in the arena: geometric, so <= 2x. */
		s->slots = ns;
		s->mask = cap - 1;
	}
	for (i = (uint32_t)hash & s->mask; s->slots[i].used;
	     i = (i + 1) & s->mask) {
		sl = &s->slots[i];
		if (sl->hash != hash)
			continue;
		if (text ? sl->len == len &&
				   (len == 0 || memcmp(sl->v.p, p, len) == 0) :
			   sl->v.bits == bits)
			return 0;
	}
	sl = &s->slots[i];
	if (text && copy && len > 0) {
		unsigned char *c = arena_alloc(a, len, 1);

		if (c == NULL)
			return -1;
		memcpy(c, p, len);
		p = c;
	}
	sl->hash = hash;
	sl->used = true;
	sl->len = len;
	if (text)
		sl->v.p = p;
	else
		sl->v.bits = bits;
	s->n++;
	return 0;
}

/* A min/max state's value as a rec_value (the state must have n > 0). */
static inline struct rec_value mm_value(enum rec_type t, const struct st_mm *s)
{
	struct rec_value v;

	memset(&v, 0, sizeof(v));
	switch (t) {
	case REC_TEXT:
		v.u.s.p = s->u.s.p;
		v.u.s.len = s->u.s.len;
		break;
	case REC_FLOAT:
		v.u.f = s->u.f;
		break;
	case REC_BOOL:
		v.u.b = s->u.b;
		break;
	case REC_INT:
	case REC_TIMESTAMP:
		v.u.i = s->u.i;
		break;
	}
	return v;
}

/*
 * Keep v (not NULL) as s's min/max.  Text is copied into a when copy (into
 * room that grows geometrically, so a falling sequence wastes <= 2x), or
 * else shared with its owner.  Returns 0, or -1 on no memory.
 */
static int mm_set(struct arena *a, enum rec_type t, struct st_mm *s,
		  const struct rec_value *v, bool copy)
{
	uint32_t len;

	switch (t) {
	case REC_TEXT:
		break;
	case REC_FLOAT:
		s->u.f = v->u.f;
		return 0;
	case REC_BOOL:
		s->u.b = v->u.b;
		return 0;
	case REC_INT:
	case REC_TIMESTAMP:
		s->u.i = v->u.i;
		return 0;
	}
	len = v->u.s.len;
	if (!copy) {
		s->u.s.p = v->u.s.p;
		s->u.s.len = len;
		s->u.s.cap = 0;
		return 0;
	}
	if (len > s->u.s.cap || (len > 0 && s->u.s.p == NULL)) {
		uint32_t cap = s->u.s.cap * 2 > len ? s->u.s.cap * 2 : len;
		char *p;

		cap = cap < 16 ? 16 : cap;
		p = arena_alloc(a, cap, 1);
		if (p == NULL)
			return -1;
		s->u.s.p = p;
		s->u.s.cap = cap;
	}
	if (len > 0)
		memcpy((char *)s->u.s.p, v->u.s.p, len);
	s->u.s.len = len;
	return 0;
}

/*
 * Fold one value (NULL for count(*)) into g's state of a.  Returns 0, or -1
 * on no memory.
 */
static inline int state_add(struct arena *ar, const struct agg_info *a,
			    struct group *g, const struct rec_value *v)
{
	void *sp = STATE(g, a);

	if (a->kind == CFG_AGG_COUNT_STAR) {
		((struct st_count *)sp)->n++;
		return 0;
	}
	if (v->null)
		return 0;
	switch (a->st) {
	case ST_COUNT:
		break;
	case ST_ISUM: {
		struct st_isum *s = sp;
		__int128 sum;

		memcpy(&sum, s->sum, sizeof(sum));
		sum += a->ftype == REC_BOOL ? (v->u.b ? 1 : 0) : v->u.i;
		memcpy(s->sum, &sum, sizeof(sum));
		break;
	}
	case ST_FSUM: {
		struct st_fsum *s = sp;

		/* From the first value, so that a sum of -0.0 stays -0.0. */
		s->sum = s->n == 0 ? v->u.f : s->sum + v->u.f;
		break;
	}
	case ST_MM: {
		struct st_mm *s = sp;

		if (s->n > 0) {
			struct rec_value cur = mm_value(a->ftype, s);
			int c = rec_value_cmp(a->ftype, v, &cur);

			/* Ties keep the first value seen (0.0 vs -0.0). */
			if (a->kind == CFG_AGG_MIN ? c >= 0 : c <= 0)
				break;
		}
		if (mm_set(ar, a->ftype, s, v, true) < 0)
			return -1;
		break;
	}
	case ST_SET: {
		struct st_set *s = sp;

		if (a->ftype == REC_TEXT) {
			const unsigned char *p =
				(const unsigned char *)v->u.s.p;

			if (dset_insert(ar, &s->set, true,
					hash_bytes(p, v->u.s.len), 0, p,
					v->u.s.len, true) < 0)
				return -1;
		} else {
			uint64_t bits = value_bits(a->ftype, v);

			if (dset_insert(ar, &s->set, false, hash_u64(bits),
					bits, NULL, 0, false) < 0)
				return -1;
		}
		break;
	}
	}
	((struct st_count *)sp)->n++;
	return 0;
}

/*
 * Fold the state of a in src (a later provider's) into dst's.  Text and
 * set values are shared, not copied: every arena lives until merge_free().
 * Returns 0, or -1 on no memory.
 */
static int state_combine(struct arena *ar, const struct agg_info *a,
			 struct group *dst, const struct group *src)
{
	void *dp = STATE(dst, a);
	const void *sp = STATE(src, a);
	int64_t *dn = dp;
	const int64_t *sn = sp;

	if (*sn == 0)
		return 0;
	switch (a->st) {
	case ST_COUNT:
		break;
	case ST_ISUM: {
		struct st_isum *d = dp;
		const struct st_isum *s = sp;
		__int128 x, y;

		memcpy(&x, d->sum, sizeof(x));
		memcpy(&y, s->sum, sizeof(y));
		x += y;
		memcpy(d->sum, &x, sizeof(x));
		break;
	}
	case ST_FSUM: {
		struct st_fsum *d = dp;
		const struct st_fsum *s = sp;

		d->sum = d->n == 0 ? s->sum : d->sum + s->sum;
		break;
	}
	case ST_MM: {
		struct st_mm *d = dp;
		const struct st_mm *s = sp;
		struct rec_value sv = mm_value(a->ftype, s);

		if (d->n > 0) {
			struct rec_value dv = mm_value(a->ftype, d);
			int c = rec_value_cmp(a->ftype, &sv, &dv);

			if (a->kind == CFG_AGG_MIN ? c >= 0 : c <= 0)
				break;
		}
		mm_set(ar, a->ftype, d, &sv, false);
		break;
	}
	case ST_SET: {
		struct st_set *d = dp;
		const struct st_set *s = sp;
		uint32_t k;

		for (k = 0; k <= s->set.mask; k++) {
			const struct dslot *sl = &s->set.slots[k];

			if (sl->used &&
			    dset_insert(ar, &d->set, a->ftype == REC_TEXT,
					sl->hash, sl->v.bits, sl->v.p, sl->len,
					false) < 0)
				return -1;
		}
		break;
	}
	}
	*dn += *sn;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Union spools                                                        */
/* ------------------------------------------------------------------ */

static const char *spool_dir(void)
{
	const char *d = getenv("TMPDIR");

	return d != NULL && d[0] != '\0' ? d : "/tmp";
}

/* An anonymous file in $TMPDIR: gone with the process, whatever happens. */
static int spool_create(struct merge *m, int pi, char *err, size_t errlen)
{
	const char *dir = spool_dir();
	struct part *p = &m->parts[pi];
	char *name = NULL;
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR ||
		       errno == EINVAL)) {
		/* No O_TMPFILE here: a named file, unlinked at once. */
		if (asprintf(&name, "%s/aggregate-spool-XXXXXX", dir) < 0) {
			name = NULL;
			errno = ENOMEM;
		} else {
			fd = mkostemp(name, O_CLOEXEC);
			if (fd >= 0)
				unlink(name);
		}
	}
	if (fd < 0)
		snprintf(err, errlen,
			 "cannot create a spool file in %s for provider %s: %s",
			 dir, m->cfg->providers[pi].name, strerror(errno));
	free(name);
	p->fd = fd;
	return fd < 0 ? -1 : 0;
}

static int spool_write(struct merge *m, int pi, const unsigned char *data,
		       size_t n, char *err, size_t errlen)
{
	struct part *p = &m->parts[pi];

	if (p->fd < 0 && spool_create(m, pi, err, errlen) < 0)
		return -1;
	if (sys_write_all(p->fd, data, n) < 0) {
		snprintf(err, errlen,
			 "cannot write the spool file of provider %s in %s: %s",
			 m->cfg->providers[pi].name, spool_dir(),
			 strerror(errno));
		return -1;
	}
	p->file_size += n;
	return 0;
}

static int spool_flush(struct merge *m, int pi, char *err, size_t errlen)
{
	struct part *p = &m->parts[pi];

	if (p->len == 0)
		return 0;
	if (spool_write(m, pi, p->buf, p->len, err, errlen) < 0)
		return -1;
	p->len = 0;
	return 0;
}

static int scratch_reserve(struct merge *m, size_t n)
{
	unsigned char *s;
	size_t cap = m->scratch_cap ? m->scratch_cap : 256;

	if (n <= m->scratch_cap)
		return 0;
	while (cap < n)
		cap *= 2;
	s = realloc(m->scratch, cap);
	if (s == NULL)
		return -1;
	m->scratch = s;
	m->scratch_cap = cap;
	return 0;
}

static int spool_add(struct merge *m, int pi, const struct rec_value *v,
		     char *err, size_t errlen)
{
	const struct rec_schema *s = &m->cfg->schema;
	struct part *p = &m->parts[pi];
	size_t n = rec_encoded_size(s, v);

	if (p->buf == NULL) {
		p->buf = malloc(SPOOL_BUF_SIZE);
		if (p->buf == NULL)
			goto out_nomem;
	}
	if (SPOOL_BUF_SIZE - p->len < n && spool_flush(m, pi, err, errlen) < 0)
		return -1;
	if (n <= SPOOL_BUF_SIZE) {
		p->len += rec_encode(s, v, p->buf + p->len);
		return 0;
	}
	/* Bigger than the whole buffer: straight to the file. */
	if (scratch_reserve(m, n) < 0)
		goto out_nomem;
	rec_encode(s, v, m->scratch);
	return spool_write(m, pi, m->scratch, n, err, errlen);

out_nomem:
	snprintf(err, errlen, "out of memory spooling records of provider %s",
		 m->cfg->providers[pi].name);
	return -1;
}

static int emit_row(struct merge *m, struct out_writer *w,
		    const struct rec_value *row, char *err, size_t errlen)
{
	if (out_row(w, row, err, errlen) < 0)
		return -1;
	m->rows++;
	return 0;
}

/* Write one spool's records in memory: data[0..n) holds whole records. */
static int replay_buffer(struct merge *m, int pi, const unsigned char *data,
			 size_t n, struct out_writer *w, struct rec_value *row,
			 char *err, size_t errlen)
{
	size_t off = 0;

	while (off < n) {
		long r = rec_decode(&m->cfg->schema, data + off, n - off,
				    row + 1);

		if (r <= 0) {
			snprintf(err, errlen,
				 "the spool of provider %s is corrupt",
				 m->cfg->providers[pi].name);
			return -1;
		}
		if (emit_row(m, w, row, err, errlen) < 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

/*
 * Write the records of provider pi's spool file, read back in big chunks;
 * a record that does not fit the chunk buffer grows it.
 */
static int replay_file(struct merge *m, int pi, struct out_writer *w,
		       struct rec_value *row, char *err, size_t errlen)
{
	struct part *p = &m->parts[pi];
	unsigned char *buf = NULL;
	size_t cap = SPOOL_BUF_SIZE, have = 0, start = 0;
	uint64_t off = 0;
	int rc = -1;

	buf = malloc(cap);
	if (buf == NULL)
		goto out_nomem;
	for (;;) {
		uint32_t rlen = 0;
		size_t need = 4, want;
		ssize_t k;

		if (have >= 4) {
			memcpy(&rlen, buf + start, 4);
			if (rlen < 4)
				goto out_corrupt;
			need = rlen;
			if (have >= rlen) {
				long r = rec_decode(&m->cfg->schema,
						    buf + start, rlen, row + 1);

				if (r != (long)rlen)
					goto out_corrupt;
				if (emit_row(m, w, row, err, errlen) < 0)
					goto out_free;
				start += rlen;
				have -= rlen;
				continue;
			}
		}
		if (off == p->file_size) {
			if (have != 0)
				goto out_corrupt;
			break;
		}
		memmove(buf, buf + start, have);
		start = 0;
		if (need > cap) {
			unsigned char *nb = realloc(buf, need);

			if (nb == NULL)
				goto out_nomem;
			buf = nb;
			cap = need;
		}
		want = cap - have;
		/* Bytes past file_size are a failed write's leftovers. */
		if (want > p->file_size - off)
			want = (size_t)(p->file_size - off);
		k = pread(p->fd, buf + have, want, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(err, errlen,
				 "cannot read the spool file of provider %s: %s",
				 m->cfg->providers[pi].name, strerror(errno));
			goto out_free;
		}
		if (k == 0)
			goto out_corrupt;
		have += (size_t)k;
		off += (uint64_t)k;
	}
	rc = 0;
	goto out_free;

out_nomem:
	snprintf(err, errlen, "out of memory reading the spool of provider %s",
		 m->cfg->providers[pi].name);
	goto out_free;
out_corrupt:
	snprintf(err, errlen, "the spool file of provider %s is corrupt",
		 m->cfg->providers[pi].name);
out_free:
	free(buf);
	return rc;
}

static int write_union(struct merge *m, char *err, size_t errlen)
{
	const struct cfg *cfg = m->cfg;
	int nf = cfg->schema.nfields, i, rc = -1;
	struct out_col *cols = calloc((size_t)nf + 1, sizeof(*cols));
	struct rec_value *row = calloc((size_t)nf + 1, sizeof(*row));
	struct out_writer *w = NULL;

	if (cols == NULL || row == NULL) {
		snprintf(err, errlen, "out of memory writing the output");
		goto out_free;
	}
	cols[0].name = "provider";
	cols[0].type = REC_TEXT;
	for (i = 0; i < nf; i++) {
		cols[i + 1].name = cfg->schema.fields[i].name;
		cols[i + 1].type = cfg->schema.fields[i].type;
	}
	w = out_open(cfg, cols, nf + 1, err, errlen);
	if (w == NULL)
		goto out_free;
	for (i = 0; i < cfg->nproviders; i++) {
		struct part *p = &m->parts[i];
		const char *name = cfg->providers[i].name;

		if (p->dropped)
			continue;
		row[0].null = false;
		row[0].u.s.p = name;
		row[0].u.s.len = (uint32_t)strlen(name);
		if (p->fd >= 0) {
			if (spool_flush(m, i, err, errlen) < 0 ||
			    replay_file(m, i, w, row, err, errlen) < 0)
				goto out_abort;
		} else if (replay_buffer(m, i, p->buf, p->len, w, row, err,
					 errlen) < 0) {
			goto out_abort;
		}
	}
	rc = out_commit(w, err, errlen);
	goto out_free;

out_abort:
	out_abort(w);
out_free:
	free(cols);
	free(row);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Group result                                                        */
/* ------------------------------------------------------------------ */

/* A group on its way out, with its key decoded for sorting and writing. */
struct out_group {
	const struct group *g;
	struct rec_value *kv; /* ngroup_by values */
};

/* qsort_r order of groups: by each group_by value, NULL last. */
static int group_key_cmp(const void *pa, const void *pb, void *arg)
{
	const struct merge *m = arg;
	const struct out_group *a = pa, *b = pb;
	int j, c;

	for (j = 0; j < m->keyschema.nfields; j++) {
		c = rec_value_cmp(m->keyschema.fields[j].type, &a->kv[j],
				  &b->kv[j]);
		if (c != 0)
			return c;
	}
	return 0;
}

/* avg of an exact integer sum: one rounding while the sum fits a double. */
static double avg_int(__int128 sum, int64_t n)
{
	const __int128 exact = (__int128)1 << 53;
	__int128 q, r;

	if (sum > -exact && sum < exact)
		return (double)(int64_t)sum / (double)n;
	q = sum / n;
	r = sum % n;
	return (double)q + (double)(int64_t)r / (double)n;
}

/* The result of aggregate k of group g. */
static void agg_result(const struct merge *m, int k, const struct group *g,
		       struct rec_value *out)
{
	const struct agg_info *a = &m->aggs[k];
	const void *sp = STATE(g, a);
	int64_t n = *(const int64_t *)sp;
	__int128 sum;

	memset(out, 0, sizeof(*out));
	if (n == 0 && a->kind != CFG_AGG_COUNT_STAR &&
	    a->kind != CFG_AGG_COUNT && a->kind != CFG_AGG_COUNT_DISTINCT) {
		out->null = true; /* SQL: no value, no sum, avg, min, max */
		return;
	}
	switch (a->kind) {
	case CFG_AGG_COUNT_STAR:
	case CFG_AGG_COUNT:
		out->u.i = n;
		break;
	case CFG_AGG_COUNT_DISTINCT:
		out->u.i = ((const struct st_set *)sp)->set.n;
		break;
	case CFG_AGG_SUM:
	case CFG_AGG_AVG:
		if (a->st == ST_FSUM) {
			double s = ((const struct st_fsum *)sp)->sum;

			out->u.f = a->kind == CFG_AGG_SUM ? s : s / (double)n;
			break;
		}
		memcpy(&sum, ((const struct st_isum *)sp)->sum, sizeof(sum));
		if (a->kind == CFG_AGG_SUM)
			out->u.i = (int64_t)sum; /* range checked before */
		else
			out->u.f = avg_int(sum, n);
		break;
	case CFG_AGG_MIN:
	case CFG_AGG_MAX:
		*out = mm_value(a->ftype, sp);
		break;
	}
	if (a->otype == REC_FLOAT && a->natural != REC_FLOAT)
		out->u.f = (double)out->u.i;
}

/* `region="west" day=2026-11-22T00:00:00Z` for an error message. */
static void describe_key(const struct merge *m, const struct rec_value *kv,
			 char *out, size_t outlen)
{
	size_t len = 0;
	int j;

	out[0] = '\0';
	for (j = 0; j < m->keyschema.nfields && len < outlen; j++) {
		const struct rec_value *v = &kv[j];
		const char *name = m->keyschema.fields[j].name;
		const char *sep = j ? " " : "";
		char num[CONV_TS_MAX + CONV_FLOAT_MAX];
		int n;

		if (!v->null && m->keyschema.fields[j].type == REC_TEXT) {
			n = snprintf(out + len, outlen - len, "%s%s=\"%.*s%s\"",
				     sep, name,
				     v->u.s.len > 64 ? 64 : (int)v->u.s.len,
				     v->u.s.p, v->u.s.len > 64 ? "..." : "");
		} else {
			if (v->null)
				snprintf(num, sizeof(num), "NULL");
			else if (m->keyschema.fields[j].type == REC_FLOAT)
				conv_format_float(v->u.f, num);
			else if (m->keyschema.fields[j].type == REC_BOOL)
				snprintf(num, sizeof(num), "%s",
					 v->u.b ? "true" : "false");
			else if (m->keyschema.fields[j].type == REC_TIMESTAMP)
				conv_format_timestamp(v->u.i, num);
			else
				snprintf(num, sizeof(num), "%lld",
					 (long long)v->u.i);
			n = snprintf(out + len, outlen - len, "%s%s=%s", sep,
				     name, num);
		}
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

static const char *agg_func_name(enum cfg_agg_kind k)
{
	switch (k) {
	case CFG_AGG_COUNT_STAR:
	case CFG_AGG_COUNT:
		return "count";
	case CFG_AGG_SUM:
		return "sum";
	case CFG_AGG_AVG:
		return "avg";
	case CFG_AGG_MIN:
		return "min";
	case CFG_AGG_MAX:
		return "max";
	case CFG_AGG_COUNT_DISTINCT:
		return "count_distinct";
	}
	return "?";
}

/* 0 when every int sum fits 64 bits; else -1 naming the first that does not. */
static int check_overflow(const struct merge *m, const struct out_group *gs,
			  size_t ng, char *err, size_t errlen)
{
	size_t i;
	int k;

	for (i = 0; i < ng; i++) {
		for (k = 0; k < m->naggs; k++) {
			const struct agg_info *a = &m->aggs[k];
			const struct st_isum *s = STATE(gs[i].g, a);
			char where[512];
			__int128 sum;

			if (a->kind != CFG_AGG_SUM || a->st != ST_ISUM)
				continue;
			memcpy(&sum, s->sum, sizeof(sum));
			if (sum >= INT64_MIN && sum <= INT64_MAX)
				continue;
			describe_key(m, gs[i].kv, where, sizeof(where));
			snprintf(err, errlen,
				 "%s(%s) overflows a 64-bit integer%s%s",
				 agg_func_name(a->kind),
				 m->cfg->schema.fields[a->field].name,
				 m->keyschema.nfields > 0 ? " in group " : "",
				 where);
			return -1;
		}
	}
	return 0;
}

/*
 * Fold every live provider's table into the first live one, in config
 * order, and make it the result.  One-way: see the state machine above.
 */
static int fold(struct merge *m)
{
	struct gtable *r = NULL;
	int pi, k;
	size_t i;

	for (pi = 0; pi < m->cfg->nproviders; pi++) {
		const struct gtable *t = &m->parts[pi].t;

		if (m->parts[pi].dropped)
			continue;
		if (r == NULL) {
			r = &m->parts[pi].t;
			continue;
		}
		for (i = 0; t->slots != NULL && i <= t->mask; i++) {
			const struct group *g = t->slots[i].g;
			struct group *rg;

			if (g == NULL || !g->live)
				continue;
			rg = gtable_get(m, r, t->slots[i].hash, g->key,
					g->klen, false);
			if (rg == NULL)
				return -1;
			rg->live = true;
			for (k = 0; k < m->naggs; k++)
				if (state_combine(&r->arena, &m->aggs[k], rg,
						  g) < 0)
					return -1;
		}
	}
	m->result = r != NULL ? r : &m->own;
	return 0;
}

/* A non-NULL one-int key on its way through int_sort(). */
struct int_item {
	uint64_t k; /* the key, sign bit flipped: unsigned order = signed */
	const struct group *g;
};

/*
 * Sort a[0..n) by k, using tmp[0..n): a radix sort, one byte at a time
 * from the lowest, skipping the bytes every key shares (five of eight for
 * ids up to 10 M).  Group keys are distinct, so this is the order any sort
 * gives.  Returns a or tmp, whichever holds the result.
 */
static struct int_item *int_sort(struct int_item *a, struct int_item *tmp,
				 size_t n)
{
	size_t cnt[8][256];
	size_t i, sum;
	int b, d;

	if (n < 2)
		return a;
	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < n; i++)
		for (b = 0; b < 8; b++)
			cnt[b][(a[i].k >> (8 * b)) & 0xff]++;
	for (b = 0; b < 8; b++) {
		struct int_item *t;

		if (cnt[b][(a[0].k >> (8 * b)) & 0xff] == n)
			continue;
		for (d = 0, sum = 0; d < 256; d++) {
			size_t c = cnt[b][d];

			cnt[b][d] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			tmp[cnt[b][(a[i].k >> (8 * b)) & 0xff]++] = a[i];
		t = a;
		a = tmp;
		tmp = t;
	}
	return a;
}

/*
 * sorted_groups() for one int key: gs[0..*np) in key order, NULL last, by
 * int_sort() instead of qsort_r() over decoded keys, whose compares chase
 * pointers all over memory (with millions of groups most of the time of
 * writing the result went there).
 */
static int sorted_int_groups(struct merge *m, struct out_group *gs,
			     size_t *np)
{
	const struct gtable *r = m->result;
	struct int_item *a = malloc(sizeof(*a) * 2 * (r->n ? r->n : 1));
	const struct int_item *sorted;
	const struct group *null_g = NULL;
	size_t n = 0, i;

	if (a == NULL)
		return -1;
	for (i = 0; r->slots != NULL && i <= r->mask; i++) {
		const struct group *g = r->slots[i].g;
		uint64_t x;

		if (g == NULL || !g->live)
			continue;
		if (g->klen != INT1_KLEN) {
			null_g = g; /* rec_decode() below checks it is NULL */
			continue;
		}
		x = rd64(g->key + INT1_OFF);
		a[n].k = x ^ (UINT64_C(1) << 63);
		a[n++].g = g;
	}
	sorted = int_sort(a, a + r->n, n);
	for (i = 0; i < n; i++)
		gs[i].g = sorted[i].g;
	if (null_g != NULL)
		gs[n++].g = null_g;
	free(a);
	*np = n;
	return 0;
}

/* The groups of the result, keys decoded, sorted; *n of them. */
static int sorted_groups(struct merge *m, struct out_group **gsp,
			 struct rec_value **kvp, size_t *np, char *err,
			 size_t errlen)
{
	const struct gtable *r = m->result;
	size_t ng = (size_t)m->keyschema.nfields, n = 0, i;
	struct out_group *gs = malloc(sizeof(*gs) * (r->n ? r->n : 1));
	struct rec_value *kv = malloc(sizeof(*kv) * (ng ? ng : 1) *
				      (r->n ? r->n : 1));

	*gsp = gs;
	*kvp = kv;
	if (gs == NULL || kv == NULL) {
		snprintf(err, errlen, "out of memory sorting the groups");
		return -1;
	}
	if (m->shape == KEY_INT1) {
		if (sorted_int_groups(m, gs, &n) < 0) {
			snprintf(err, errlen,
				 "out of memory sorting the groups");
			return -1;
		}
		/* Decoded in output order: the rows read kv front to back. */
		for (i = 0; i < n; i++) {
			gs[i].kv = kv + i;
			if (rec_decode(&m->keyschema, gs[i].g->key,
				       gs[i].g->klen, gs[i].kv) !=
				    (long)gs[i].g->klen ||
			    (gs[i].kv->null && i != n - 1)) {
				snprintf(err, errlen, "a group key is corrupt");
				return -1;
			}
		}
		*np = n;
		return 0;
	}
	for (i = 0; r->slots != NULL && i <= r->mask; i++) {
		const struct group *g = r->slots[i].g;

		if (g == NULL || !g->live)
			continue;
		gs[n].g = g;
		gs[n].kv = kv + n * ng;
		if (rec_decode(&m->keyschema, g->key, g->klen, gs[n].kv) !=
		    (long)g->klen) {
			snprintf(err, errlen, "a group key is corrupt");
			return -1;
		}
		n++;
	}
	qsort_r(gs, n, sizeof(*gs), group_key_cmp, m);
	*np = n;
	return 0;
}

static int write_group(struct merge *m, char *err, size_t errlen)
{
	const struct cfg *cfg = m->cfg;
	int ng = m->keyschema.nfields, ncols = ng + m->naggs, j, rc = -1;
	struct out_group *gs = NULL;
	struct rec_value *kv = NULL;
	struct out_col *cols = calloc((size_t)ncols + 1, sizeof(*cols));
	struct rec_value *row = calloc((size_t)ncols + 1, sizeof(*row));
	struct out_writer *w = NULL;
	size_t n = 0, i;

	if (cols == NULL || row == NULL)
		goto out_nomem;
	if (!m->folded) {
		m->folded = true;
		m->fold_failed = fold(m) < 0;
	}
	if (m->fold_failed)
		goto out_nomem;
	if (ng == 0 && m->naggs > 0) {
		/*
		 * No group_by: one row for everything, even for nothing (the
		 * one group may be there but not live: its states are zero).
		 */
		size_t klen = rec_encoded_size(&m->keyschema, m->keyv);
		struct group *g;

		if (scratch_reserve(m, klen) < 0)
			goto out_nomem;
		rec_encode(&m->keyschema, m->keyv, m->scratch);
		g = gtable_get(m, m->result,
			       KEY_HASH(m, hash_bytes(m->scratch, klen)),
			       m->scratch, (uint32_t)klen, true);
		if (g == NULL)
			goto out_nomem;
		g->live = true;
	}
	if (sorted_groups(m, &gs, &kv, &n, err, errlen) < 0 ||
	    check_overflow(m, gs, n, err, errlen) < 0)
		goto out_free;

	for (j = 0; j < ng; j++)
		cols[j] = (struct out_col){ m->keyschema.fields[j].name,
					    m->keyschema.fields[j].type };
	for (j = 0; j < m->naggs; j++)
		cols[ng + j] = (struct out_col){ cfg->aggs[j].name,
						 m->aggs[j].otype };
	w = out_open(cfg, cols, ncols, err, errlen);
	if (w == NULL)
		goto out_free;
	for (i = 0; i < n; i++) {
		if (ng > 0)
			memcpy(row, gs[i].kv, sizeof(*row) * (size_t)ng);
		for (j = 0; j < m->naggs; j++)
			agg_result(m, j, gs[i].g, &row[ng + j]);
		if (emit_row(m, w, row, err, errlen) < 0) {
			out_abort(w);
			goto out_free;
		}
	}
	rc = out_commit(w, err, errlen);
	goto out_free;

out_nomem:
	snprintf(err, errlen, "out of memory combining the groups");
out_free:
	free(gs);
	free(kv);
	free(cols);
	free(row);
	return rc;
}

/* ------------------------------------------------------------------ */
/* API                                                                 */
/* ------------------------------------------------------------------ */

/* Bytes of the state of an aggregate of this kind. */
static size_t state_size(enum st_kind k)
{
	switch (k) {
	case ST_COUNT:
		return sizeof(struct st_count);
	case ST_ISUM:
		return sizeof(struct st_isum);
	case ST_FSUM:
		return sizeof(struct st_fsum);
	case ST_MM:
		return sizeof(struct st_mm);
	case ST_SET:
		return sizeof(struct st_set);
	}
	return 0;
}

/* Resolve aggregate c of cfg into a, its state at offset off. */
static void agg_resolve(const struct cfg *cfg, const struct cfg_agg *c,
			struct agg_info *a, size_t off)
{
	a->kind = c->kind;
	a->field = c->kind == CFG_AGG_COUNT_STAR ? -1 : c->field;
	a->ftype = a->field >= 0 ? cfg->schema.fields[a->field].type : REC_INT;
	switch (a->kind) {
	case CFG_AGG_SUM:
	case CFG_AGG_AVG:
		/* int, timestamp and bool sum exactly; float in double */
		a->st = a->ftype == REC_FLOAT ? ST_FSUM : ST_ISUM;
		a->natural = a->kind == CFG_AGG_AVG || a->st == ST_FSUM ?
				     REC_FLOAT :
				     REC_INT;
		break;
	case CFG_AGG_MIN:
	case CFG_AGG_MAX:
		a->st = ST_MM;
		a->natural = a->ftype;
		break;
	case CFG_AGG_COUNT_DISTINCT:
		a->st = ST_SET;
		a->natural = REC_INT;
		break;
	case CFG_AGG_COUNT_STAR:
	case CFG_AGG_COUNT:
		a->st = ST_COUNT;
		a->natural = REC_INT;
		break;
	}
	/* The config's type wins where the value can follow it. */
	a->otype = c->type == a->natural ||
				   (c->type == REC_FLOAT &&
				    a->natural == REC_INT) ?
			   c->type :
			   a->natural;
	a->off = off;
}

/*
 * Decide whether this merge stages records (group mode, and every
 * aggregate's input, if any, fixed-size or only tested for NULL: count,
 * and sum, avg, min, max of int, float, bool or timestamp), and give each
 * distinct input field its place in a staged entry.  0, or -1 on no memory.
 */
static int stage_plan(struct merge *m)
{
	const struct cfg *cfg = m->cfg;
	int nf = cfg->schema.nfields, j;

	m->stages = false;
	if (cfg->mode != CFG_MODE_GROUP)
		return 0;
	for (j = 0; j < m->naggs; j++) {
		const struct agg_info *a = &m->aggs[j];

		if (a->st == ST_SET ||
		    (a->st == ST_MM && a->ftype == REC_TEXT))
			return 0;
	}
	m->sfields = calloc((size_t)(nf ? nf : 1), sizeof(*m->sfields));
	m->sops = calloc((size_t)(m->naggs ? m->naggs : 1), sizeof(*m->sops));
	m->vals = calloc((size_t)(nf ? nf : 1), sizeof(*m->vals));
	if (m->sfields == NULL || m->sops == NULL || m->vals == NULL)
		return -1;
	if (nf >= 1 && nf <= 8) {
		m->plans = calloc(256, sizeof(*m->plans));
		if (m->plans == NULL)
			return -1;
	}
	for (j = 0; j < nf; j++)
		m->sfields[j].type = cfg->schema.fields[j].type;
	for (j = 0; j < m->keyschema.nfields; j++)
		m->sfields[cfg->group_by[j]].role |= SF_KEY;
	m->ninputs = 0;
	for (j = 0; j < m->naggs; j++) {
		const struct agg_info *a = &m->aggs[j];
		struct stage_op *o = &m->sops[j];

		o->off = a->off;
		if (a->field >= 0) {
			struct stage_field *f = &m->sfields[a->field];

			if (!(f->role & SF_INPUT)) {
				f->role |= SF_INPUT;
				f->input = m->ninputs++;
			}
			o->input = f->input;
		}
		if (a->kind == CFG_AGG_COUNT_STAR)
			o->kind = SOP_COUNT_STAR;
		else if (a->st == ST_COUNT)
			o->kind = SOP_COUNT;
		else if (a->st == ST_ISUM)
			o->kind = SOP_ISUM; /* a bool is staged as 0 or 1 */
		else if (a->st == ST_FSUM)
			o->kind = SOP_FSUM;
		else
			o->kind = SOP_OTHER;
	}
	if (m->ninputs > STAGE_MAX_INPUTS)
		return 0;
	m->entry_size = sizeof(struct stage_entry) +
			sizeof(uint64_t) * (size_t)m->ninputs;
	m->stages = true;
#ifdef AGG_TESTING
	{
		const char *st = getenv("AGG_STAGE");

		if (st != NULL && strcmp(st, "raw") == 0)
			m->stages = false;
	}
#endif
	return 0;
}

struct merge *merge_new(const struct cfg *cfg)
{
	struct merge *m = calloc(1, sizeof(*m));
	int i, ng = cfg->mode == CFG_MODE_GROUP ? cfg->ngroup_by : 0;
	size_t off = sizeof(struct group);

	if (m == NULL)
		return NULL;
	m->cfg = cfg;
	m->parts = calloc((size_t)(cfg->nproviders ? cfg->nproviders : 1),
			  sizeof(*m->parts));
	m->keyschema.fields = calloc((size_t)(ng ? ng : 1),
				     sizeof(*m->keyschema.fields));
	m->keyv = calloc((size_t)(ng ? ng : 1), sizeof(*m->keyv));
	m->naggs = cfg->mode == CFG_MODE_GROUP ? cfg->naggs : 0;
	m->aggs = calloc((size_t)(m->naggs ? m->naggs : 1), sizeof(*m->aggs));
	if (m->parts == NULL || m->keyschema.fields == NULL ||
	    m->keyv == NULL || m->aggs == NULL)
		goto out_free;
	for (i = 0; i < cfg->nproviders; i++)
		m->parts[i].fd = -1;
	m->keyschema.nfields = ng;
	for (i = 0; i < ng; i++)
		m->keyschema.fields[i] = cfg->schema.fields[cfg->group_by[i]];
#ifdef AGG_TESTING
	m->hash_mask = UINT64_MAX;
#endif
	m->shape = KEY_GENERAL;
	if (ng == 1 && m->keyschema.fields[0].type == REC_TEXT)
		m->shape = KEY_TEXT1;
	if (ng == 1 && (m->keyschema.fields[0].type == REC_INT ||
			m->keyschema.fields[0].type == REC_TIMESTAMP))
		m->shape = KEY_INT1;
	for (i = 0; i < m->naggs; i++) {
		agg_resolve(cfg, &cfg->aggs[i], &m->aggs[i], off);
		off += state_size(m->aggs[i].st);
	}
	m->group_size = off;
	if (stage_plan(m) < 0)
		goto out_free;
	return m;

out_free:
	merge_free(m);
	return NULL;
}

/*
 * Encode the group key of record v into m->scratch: the bytes rec_encode()
 * gives for the key fields, -0.0 written as 0.0 (one group for both, as
 * they compare equal).  Straight from v, in one pass after the size: this
 * runs for every record folded.  Returns the length, or 0 on no memory.
 */
static size_t key_encode(struct merge *m, const struct rec_value *v)
{
	const struct rec_schema *ks = &m->keyschema;
	const int *by = m->cfg->group_by;
	size_t bitmap = ((size_t)ks->nfields + 7) / 8;
	size_t need = 4 + bitmap, pos = 4 + bitmap;
	unsigned char *out;
	uint32_t total;
	int j;

	for (j = 0; j < ks->nfields; j++) {
		const struct rec_value *x = &v[by[j]];

		if (!x->null)
			need += ks->fields[j].type == REC_TEXT ?
					4 + (size_t)x->u.s.len : 8;
	}
	if (scratch_reserve(m, need) < 0)
		return 0;
	out = m->scratch;
	memset(out + 4, 0, bitmap);
	for (j = 0; j < ks->nfields; j++) {
		const struct rec_value *x = &v[by[j]];
		double f;

		if (x->null) {
			out[4 + j / 8] |= (unsigned char)(1u << (j % 8));
			continue;
		}
		switch (ks->fields[j].type) {
		case REC_INT:
		case REC_TIMESTAMP:
			memcpy(out + pos, &x->u.i, 8);
			pos += 8;
			break;
		case REC_FLOAT:
			f = x->u.f == 0 ? 0.0 : x->u.f;
			memcpy(out + pos, &f, 8);
			pos += 8;
			break;
		case REC_BOOL:
			out[pos++] = x->u.b ? 1 : 0;
			break;
		case REC_TEXT:
			memcpy(out + pos, &x->u.s.len, 4);
			pos += 4;
			if (x->u.s.len != 0)
				memcpy(out + pos, x->u.s.p, x->u.s.len);
			pos += x->u.s.len;
			break;
		}
	}
	total = (uint32_t)pos;
	memcpy(out, &total, 4);
	return pos;
}

/* The group of record v in t, created if new; NULL on no memory. */
static inline __attribute__((always_inline)) struct group *
group_of(struct merge *m, struct gtable *t, const struct rec_value *v)
{
	const struct rec_value *x;
	size_t klen;

	switch (m->shape) {
	case KEY_TEXT1:
		x = &v[m->cfg->group_by[0]];
		if (!x->null && x->u.s.len <= UINT32_MAX - TEXT1_OFF)
			return gtable_get_text1(m, t,
						(const unsigned char *)x->u.s.p,
						x->u.s.len);
		break;
	case KEY_INT1:
		x = &v[m->cfg->group_by[0]];
		if (!x->null)
			return gtable_get_int1(m, t, x->u.i);
		break;
	case KEY_GENERAL:
		break;
	}
	klen = key_encode(m, v);
	if (klen == 0)
		return NULL;
	return gtable_get(m, t, KEY_HASH(m, hash_bytes(m->scratch, klen)),
			  m->scratch, (uint32_t)klen, true);
}

static int group_add(struct merge *m, int pi, const struct rec_value *v,
		     char *err, size_t errlen)
{
	struct gtable *t = &m->parts[pi].t;
	struct group *g;
	int j;

	g = group_of(m, t, v);
	if (g == NULL)
		goto out_nomem;
	g->live = true;
	for (j = 0; j < m->naggs; j++) {
		const struct agg_info *a = &m->aggs[j];

		if (state_add(&t->arena, a, g,
			      a->field >= 0 ? &v[a->field] : NULL) < 0)
			goto out_nomem;
	}
	return 0;

out_nomem:
	snprintf(err, errlen, "out of memory grouping records of provider %s",
		 m->cfg->providers[pi].name);
	return -1;
}

int merge_add(struct merge *m, int pi, const struct rec_value *v, char *err,
	      size_t errlen)
{
	if (m->parts[pi].dropped)
		return 0;
	if (m->folded) {
		snprintf(err, errlen,
			 "record of provider %s after the result was written",
			 m->cfg->providers[pi].name);
		return -1;
	}
	if (m->cfg->mode == CFG_MODE_GROUP)
		return group_add(m, pi, v, err, errlen);
	return spool_add(m, pi, v, err, errlen);
}

bool merge_stages(const struct merge *m)
{
	return m->stages;
}

/* Room in p's stage for n more entries.  0, or -1 on no memory. */
static int stage_reserve(struct merge *m, struct part *p, size_t n)
{
	size_t cap = p->stage_cap ? p->stage_cap : 1024;
	unsigned char *ns;

	if (p->stage_cap - p->nstaged >= n)
		return 0;
	while (cap - p->nstaged < n)
		cap *= 2;
	ns = realloc(p->stage, cap * m->entry_size);
	if (ns == NULL)
		return -1;
	p->stage = ns;
	p->stage_cap = cap;
	return 0;
}

/* Entry i of p's stage. */
static inline struct stage_entry *stage_at(const struct merge *m,
					   const struct part *p, size_t i)
{
	return (struct stage_entry *)(void *)(p->stage + i * m->entry_size);
}

/*
 * What the walk reads for every record, loaded once per frame: the group
 * lookups between records are calls the compiler must assume change any
 * memory, so it would load these again through m for every record.
 */
struct stage_ctx {
	const struct stage_field *sf; /* m->sfields */
	struct rec_value *vals;       /* m->vals */
	struct stage_plan *plans;     /* m->plans */
	int nf;                       /* fields of the schema */
};

/*
 * Take non-NULL field i of a record at buf[*pos..total) with rec_decode()'s
 * checks: its value into m->vals[i] if it is a key, into e if it is an
 * input.  Advances *pos; returns 0, or -1 if the field does not fit or is
 * not a valid value of its type.
 */
static inline __attribute__((always_inline)) int
stage_take(const struct stage_ctx *c, int i, const unsigned char *buf,
	   size_t *pos, size_t total, struct stage_entry *e)
{
	const struct stage_field *f = &c->sf[i];
	struct rec_value *k = &c->vals[i];
	size_t left = total - *pos;
	uint64_t bits;
	uint32_t len;

	switch (f->type) {
	case REC_INT:
	case REC_TIMESTAMP:
	case REC_FLOAT:
		if (left < 8)
			return -1;
		memcpy(&bits, buf + *pos, 8);
		*pos += 8;
		break;
	case REC_BOOL:
		if (left < 1 || buf[*pos] > 1)
			return -1;
		bits = buf[*pos];
		*pos += 1;
		break;
	case REC_TEXT:
		if (left < 4)
			return -1;
		memcpy(&len, buf + *pos, 4);
		if (len > left - 4)
			return -1;
		if (f->role & SF_KEY) {
			k->null = false;
			k->u.s.p = (const char *)buf + *pos + 4;
			k->u.s.len = len;
		}
		*pos += 4 + (size_t)len;
		return 0; /* as an input only its NULL flag counts */
	default:
		return -1;
	}
	if (f->role & SF_KEY) {
		k->null = false;
		if (f->type == REC_FLOAT)
			memcpy(&k->u.f, &bits, 8);
		else if (f->type == REC_BOOL)
			k->u.b = bits != 0;
		else
			k->u.i = (int64_t)bits;
	}
	if (f->role & SF_INPUT)
		e->v[f->input] = bits;
	return 0;
}

/*
 * The plan of null bitmap byte bm (schemas of up to 8 fields), built the
 * first time that byte is seen.
 */
static __attribute__((noinline)) const struct stage_plan *
stage_plan_of(struct merge *m, unsigned bm)
{
	struct stage_plan *pl = &m->plans[bm];
	int nf = m->cfg->schema.nfields, i;

	if (pl->state != PLAN_UNKNOWN)
		return pl;
	if (nf < 8 && (bm >> nf) != 0) {
		pl->state = PLAN_BAD;
		return pl;
	}
	for (i = 0; i < nf; i++) {
		const struct stage_field *f = &m->sfields[i];

		if (!((bm >> i) & 1)) {
			pl->field[pl->n++] = (unsigned char)i;
			continue;
		}
		if (f->role & SF_KEY)
			pl->knull[pl->nknull++] = (unsigned char)i;
		if (f->role & SF_INPUT)
			pl->nulls |= UINT64_C(1) << f->input;
	}
	pl->state = PLAN_OK;
	return pl;
}

/*
 * Check one record at buf[0..avail) with exactly rec_decode()'s checks, in
 * its order (the same verdict, the same length), and take what staging
 * needs: the key fields into m->vals, the inputs and their NULL flags into
 * e (e->g untouched).  Returns the record's length, or -1 if malformed.
 */
static inline __attribute__((always_inline)) long
stage_walk(struct merge *m, const struct stage_ctx *c,
	   const unsigned char *buf, size_t avail, struct stage_entry *e)
{
	int nf = c->nf, i, k;
	size_t bitmap = ((size_t)nf + 7) / 8;
	size_t pos = 4 + bitmap;
	uint64_t nulls = 0;
	uint32_t total;

	if (avail < 4)
		return -1;
	memcpy(&total, buf, 4);
	if (total > avail || total < pos)
		return -1;
	if (c->plans != NULL) {
		/* One bitmap byte: only the fields present, by its plan. */
		const struct stage_plan *pl = &c->plans[buf[4]];

		if (pl->state != PLAN_OK)
			pl = stage_plan_of(m, buf[4]);
		if (pl->state == PLAN_BAD)
			return -1;
		for (k = 0; k < pl->n; k++)
			if (stage_take(c, pl->field[k], buf, &pos, total, e) < 0)
				return -1;
		for (k = 0; k < pl->nknull; k++)
			c->vals[pl->knull[k]].null = true;
		nulls = pl->nulls;
		goto out_end;
	}
	if (nf % 8 != 0 && (buf[4 + bitmap - 1] >> (nf % 8)) != 0)
		return -1;
	/* From here on every read is bounded by total, not avail. */
	for (i = 0; i < nf; i++) {
		const struct stage_field *f = &c->sf[i];

		if ((buf[4 + i / 8] >> (i % 8)) & 1) {
			if (f->role & SF_KEY)
				c->vals[i].null = true;
			if (f->role & SF_INPUT)
				nulls |= UINT64_C(1) << f->input;
			continue;
		}
		if (stage_take(c, i, buf, &pos, total, e) < 0)
			return -1;
	}
out_end:
	if (pos != total)
		return -1;
	e->nulls = nulls;
	return (long)total;
}

int merge_stage(struct merge *m, int pi, const unsigned char *recs,
		size_t len, uint32_t count, char *err, size_t errlen)
{
	const struct rec_schema *s = &m->cfg->schema;
	/* The least bytes a record takes: its length and its null bitmap. */
	size_t least = 4 + ((size_t)s->nfields + 7) / 8;
	struct part *p = &m->parts[pi];
	size_t start = p->nstaged, off = 0;
	uint32_t i;

	assert(m->stages);
	if (m->folded) {
		snprintf(err, errlen,
			 "record of provider %s after the result was written",
			 m->cfg->providers[pi].name);
		return -1;
	}
	/* Fewer bytes than count records need: one of them cannot parse. */
	if (count > len / least)
		goto out_bad;
	if (p->dropped) {
		/* Left out of the result: only checked. */
		for (i = 0; i < count; i++) {
			long n = rec_validate(s, recs + off, len - off);

			if (n < 0)
				goto out_bad;
			off += (size_t)n;
		}
		goto out_end;
	}
	if (stage_reserve(m, p, count) < 0)
		goto out_nomem;
	{
		const struct stage_ctx c = { m->sfields, m->vals, m->plans,
					     s->nfields };
		unsigned char *at = p->stage + start * m->entry_size;
		const size_t es = m->entry_size;

		for (i = 0; i < count; i++, at += es) {
			struct stage_entry *e = (struct stage_entry *)(void *)at;
			long n = stage_walk(m, &c, recs + off, len - off, e);

			if (n < 0)
				goto out_bad;
			off += (size_t)n;
			e->g = group_of(m, &p->t, c.vals);
			if (e->g == NULL)
				goto out_nomem;
		}
		p->nstaged = start + count;
	}
out_end:
	if (off != len) {
		p->nstaged = start;
		snprintf(err, errlen, "RECORDS frame longer than its records");
		return 1;
	}
	return 0;

out_bad:
	p->nstaged = start;
	snprintf(err, errlen, "record does not match the schema");
	return 1;
out_nomem:
	p->nstaged = start;
	snprintf(err, errlen, "out of memory grouping records of provider %s",
		 m->cfg->providers[pi].name);
	return -1;
}

/* Input j of staged entry e as the value state_add() takes (type t). */
static inline struct rec_value entry_value(const struct stage_entry *e,
					   int j, enum rec_type t)
{
	struct rec_value x;

	memset(&x, 0, sizeof(x));
	x.null = (e->nulls >> j) & 1;
	if (t == REC_FLOAT)
		memcpy(&x.u.f, &e->v[j], 8);
	else if (t == REC_BOOL)
		x.u.b = e->v[j] != 0;
	else
		x.u.i = (int64_t)e->v[j];
	return x;
}

/*
 * Fold input o of every staged entry of p into its group's state, entry
 * after entry: the aggregates' states are independent, so folding them one
 * aggregate at a time adds each one's values in the same order as
 * state_add() record after record, with one kind of step per loop.
 * Returns 0, or -1 on no memory.
 */
static int commit_op(struct merge *m, struct part *p, int j)
{
	const struct stage_op *o = &m->sops[j];
	const size_t off = o->off, n = p->nstaged, es = m->entry_size;
	const unsigned char *at = p->stage;
	const uint64_t bit = UINT64_C(1) << o->input;
	const int in = o->input;
	size_t i;

	switch (o->kind) {
	case SOP_COUNT_STAR:
		for (i = 0; i < n; i++, at += es) {
			const struct stage_entry *e = (const void *)at;

			((struct st_count *)(void *)((unsigned char *)e->g +
						     off))->n++;
		}
		return 0;
	case SOP_COUNT:
		for (i = 0; i < n; i++, at += es) {
			const struct stage_entry *e = (const void *)at;

			((struct st_count *)(void *)((unsigned char *)e->g +
						     off))->n +=
				!(e->nulls & bit);
		}
		return 0;
	case SOP_ISUM:
		for (i = 0; i < n; i++, at += es) {
			const struct stage_entry *e = (const void *)at;
			struct st_isum *st =
				(void *)((unsigned char *)e->g + off);
			__int128 sum;

			if (e->nulls & bit)
				continue;
			memcpy(&sum, st->sum, sizeof(sum));
			sum += (int64_t)e->v[in];
			memcpy(st->sum, &sum, sizeof(sum));
			st->n++;
		}
		return 0;
	case SOP_FSUM:
		for (i = 0; i < n; i++, at += es) {
			const struct stage_entry *e = (const void *)at;
			struct st_fsum *st =
				(void *)((unsigned char *)e->g + off);
			double f;

			if (e->nulls & bit)
				continue;
			memcpy(&f, &e->v[in], 8);
			/* As state_add(): a sum of -0.0 stays -0.0. */
			st->sum = st->n == 0 ? f : st->sum + f;
			st->n++;
		}
		return 0;
	case SOP_OTHER:
		for (i = 0; i < n; i++, at += es) {
			const struct stage_entry *e = (const void *)at;
			struct rec_value x = entry_value(e, in, m->aggs[j].ftype);

			if (state_add(&p->t.arena, &m->aggs[j], e->g, &x) < 0)
				return -1;
		}
		return 0;
	}
	return 0;
}

int merge_commit(struct merge *m, int pi, char *err, size_t errlen)
{
	struct part *p = &m->parts[pi];
	size_t i;
	int j;

	if (p->nstaged == 0)
		return 0;
	if (m->folded) {
		snprintf(err, errlen,
			 "record of provider %s after the result was written",
			 m->cfg->providers[pi].name);
		return -1;
	}
	for (i = 0; i < p->nstaged; i++)
		stage_at(m, p, i)->g->live = true;
	for (j = 0; j < m->naggs; j++) {
		if (commit_op(m, p, j) < 0) {
			snprintf(err, errlen, "out of memory grouping records "
				 "of provider %s", m->cfg->providers[pi].name);
			return -1;
		}
	}
	p->nstaged = 0;
	return 0;
}

void merge_discard(struct merge *m, int pi)
{
	m->parts[pi].nstaged = 0;
}

static void part_free(struct part *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	free(p->buf);
	p->buf = NULL;
	p->len = 0;
	p->file_size = 0;
	gtable_free(&p->t);
	free(p->stage);
	p->stage = NULL;
	p->nstaged = p->stage_cap = 0;
}

void merge_drop(struct merge *m, int pi)
{
	/* Once folded, other tables point into this one's arena. */
	if (m->folded)
		return;
	part_free(&m->parts[pi]);
	m->parts[pi].dropped = true;
}

int merge_write(struct merge *m, char *err, size_t errlen)
{
	int rc;

	m->rows = 0;
	if (m->cfg->mode == CFG_MODE_GROUP)
		rc = write_group(m, err, errlen);
	else
		rc = write_union(m, err, errlen);
	if (rc < 0)
		m->rows = 0;
	return rc;
}

uint64_t merge_rows_written(const struct merge *m)
{
	return m->rows;
}

#ifdef AGG_TESTING
void merge_test_keys(struct merge *m, bool general, uint64_t hash_mask)
{
	if (general)
		m->shape = KEY_GENERAL;
	m->hash_mask = hash_mask;
}
#endif

void merge_free(struct merge *m)
{
	int i;

	if (m == NULL)
		return;
	if (m->parts != NULL)
		for (i = 0; i < m->cfg->nproviders; i++)
			part_free(&m->parts[i]);
	gtable_free(&m->own);
	free(m->parts);
	free(m->keyschema.fields);
	free(m->keyv);
	free(m->aggs);
	free(m->scratch);
	free(m->sfields);
	free(m->sops);
	free(m->vals);
	free(m->plans);
	free(m);
}
