/*
 * gtable.h - the merge's group tables: hashing, groups, group keys.
 *
 * A group table maps a group key to its group: a header (struct group)
 * followed by the aggregates' states (state.h), group_size bytes in all,
 * zeroed when the group is created.  Open addressing, linear probing,
 * grown at half full; the slots come from arena_big_alloc() (faulted in
 * at once for big tables), the groups, their keys and whatever the states
 * copy live in the table's arena (arena.h), freed
 * only by gtable_free().  Groups never move, so a pointer to one stays
 * valid while its table lives; after the merge folds the tables into one,
 * a table may point into another's arena.
 *
 * A group key is stored canonical: the bytes rec_encode() gives for the
 * key fields (struct gtable_keys), -0.0 written as 0.0, so equal keys (by
 * rec_value_cmp) are equal bytes.  One non-NULL text or int (timestamp)
 * key, the common shapes, is hashed and compared as the value it is,
 * without being encoded per record (enum gtable_shape): only a new group's
 * key is encoded.  A key always takes the same path, so its hash is
 * always the same function of it.
 *
 * A group is live once a committed record was folded into it; the stage
 * (stage.h) creates groups for records that may never commit, and a group
 * that is not live is left out of everything that reads a table.
 *
 * Errors: the functions that may allocate return NULL (or -1) on no memory
 * and leave the table as it was.  The lookups are inline: they run for
 * every record folded or staged.
 */
#ifndef AGG_GTABLE_H
#define AGG_GTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../ipc/record.h"
#include "../common/buf.h"
#include "arena.h"

/* ------------------------------------------------------------------ */
/* Hashing                                                             */
/* ------------------------------------------------------------------ */

/* 64x64 -> 128-bit multiply folded to 64 bits (as wyhash does). */
static inline uint64_t hash_mum(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

#define HASH_P0 0xa0761d6478bd642full
#define HASH_P1 0xe7037ed1a0b428dbull
#define HASH_P2 0x8ebc6af09c88c6e3ull
#define HASH_P3 0x589965cc75374cc3ull

static inline uint64_t hash_rd64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t hash_rd32(const unsigned char *p)
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
	uint64_t seed = HASH_P0, a, b;

	if (len <= 16) {
		if (len >= 4) {
			size_t mid = (len >> 3) << 2;

			a = (hash_rd32(p) << 32) | hash_rd32(p + mid);
			b = (hash_rd32(p + len - 4) << 32) |
			    hash_rd32(p + len - 4 - mid);
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
			seed = hash_mum(hash_rd64(p) ^ HASH_P1,
					hash_rd64(p + 8) ^ seed);
			p += 16;
			i -= 16;
		}
		/* The last 16 bytes of the key, overlapping what went before. */
		a = hash_rd64(p + i - 16);
		b = hash_rd64(p + i - 8);
	}
	return hash_mum(hash_mum(a ^ HASH_P1, b ^ seed) ^ HASH_P0 ^
				(uint64_t)len,
			HASH_P3);
}

static inline uint64_t hash_u64(uint64_t v)
{
	return hash_mum(hash_mum(v ^ HASH_P1, HASH_P2) ^ HASH_P3, HASH_P0);
}

/* a[0..n) == b[0..n), short lengths with a few overlapping loads. */
static inline bool hash_eq(const unsigned char *a, const unsigned char *b,
			   size_t n)
{
	if (n > 16)
		return memcmp(a, b, n) == 0;
	if (n >= 8)
		return hash_rd64(a) == hash_rd64(b) &&
		       hash_rd64(a + n - 8) == hash_rd64(b + n - 8);
	if (n >= 4)
		return hash_rd32(a) == hash_rd32(b) &&
		       hash_rd32(a + n - 4) == hash_rd32(b + n - 4);
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* ------------------------------------------------------------------ */
/* Groups and tables                                                   */
/* ------------------------------------------------------------------ */

/* A group: this header, then the aggregates' states (state.h). */
struct group {
	const unsigned char *key; /* canonical encoded key, in some arena */
	uint32_t klen;
	bool live;
};

struct gslot {
	uint64_t hash;
	struct group *g; /* NULL: free */
};

struct gtable {
	struct gslot *slots; /* malloc'd; NULL until the first group */
	size_t mask;
	size_t n;
	size_t group_size;   /* header and states */
	struct arena arena;  /* groups, keys, text, sets */
};

/* An empty table whose groups take group_size bytes.  Can't fail. */
void gtable_init(struct gtable *t, size_t group_size);

/* Free the slots and the arena; t is empty (group_size kept). */
void gtable_free(struct gtable *t);

/*
 * The group of key[0..klen) (hash h) in t, created with zeroed states if
 * new; its key is copied into t's arena when copy_key, else the caller
 * keeps key alive as long as t.  NULL when out of memory.
 */
struct group *gtable_get(struct gtable *t, uint64_t h,
			 const unsigned char *key, uint32_t klen,
			 bool copy_key);

/*
 * Where a new group of hash h goes in t: slot i, the free slot its probe
 * ended on, unless t must grow first, and then the free slot of the grown
 * table; so a lookup that finds its group never checks the table's size.
 * SIZE_MAX when out of memory.
 */
size_t gtable_new_slot(struct gtable *t, uint64_t h, size_t i);

/*
 * A new group with zeroed states in free slot i of t, its key
 * key[0..klen) (in an arena that lives as long as t).  NULL when out of
 * memory, with t unchanged.
 */
struct group *gtable_put(struct gtable *t, size_t i, uint64_t h,
			 const unsigned char *key, uint32_t klen);

/*
 * gtable_put() for a key of klen bytes that the caller writes at *key,
 * right behind the group's states: a lookup then finds the group and its
 * key in neighbouring cache lines (gtable_prefetch_group()).
 */
struct group *gtable_put_room(struct gtable *t, size_t i, uint64_t h,
			      uint32_t klen, unsigned char **key);

/*
 * The live groups of t, whose keys are one int, timestamp or date (or
 * NULL), in
 * key order, the NULL key last, into out[0..*np) (room for t->n): by a
 * radix sort of the keys themselves.  0, or -1 on no memory.
 */
int gtable_sort_int1(const struct gtable *t, const struct group **out,
		     size_t *np);

/*
 * The same for one-text keys (or NULL): bytewise, a shorter key before a
 * longer one it begins, as rec_value_cmp() orders text; by a radix sort
 * of each key's first 8 bytes, then the keys that share them.
 */
int gtable_sort_text1(const struct gtable *t, const struct group **out,
		      size_t *np);

/* ------------------------------------------------------------------ */
/* Group keys                                                          */
/* ------------------------------------------------------------------ */

/*
 * Group keys a lookup takes without encoding them first: one non-NULL
 * text or int (timestamp, date: 8 bytes too) key.  Anything else (NULL,
 * several fields, float, bool, decimal) takes the general path.  Either way the table holds the
 * same canonical encoded key.
 */
enum gtable_shape { KEY_GENERAL, KEY_TEXT1, KEY_INT1 };

/* One text key encoded: u32 total, 1 bitmap byte, u32 length, the bytes. */
#define TEXT1_OFF 9u
/* One int key encoded: u32 total, 1 bitmap byte, 8 bytes. */
#define INT1_OFF 5u
#define INT1_KLEN 13u

/* How a record's group key is found: the key fields and their shape. */
struct gtable_keys {
	struct rec_schema schema; /* the key fields, in group_by order */
	const int *group_by;      /* their places in the record */
	enum gtable_shape shape;
	struct buf scratch;       /* the general path's encoded key */
#ifdef AGG_TESTING
	uint64_t hash_mask;       /* weakens key hashes: see merge.h */
#endif
};

/* A group key's hash; test builds can make it collide on purpose. */
#ifdef AGG_TESTING
#define GTABLE_HASH(k, h) ((h) & (k)->hash_mask)
#else
#define GTABLE_HASH(k, h) (h)
#endif

/*
 * The keys of schema s grouped by group_by[0..n) (the array is kept, not
 * copied).  0, or -1 on no memory.
 */
int gtable_keys_init(struct gtable_keys *k, const struct rec_schema *s,
		     const int *group_by, int n);

void gtable_keys_free(struct gtable_keys *k);

/*
 * Encode the group key of record v into k->scratch (see above).  Returns
 * the length, or 0 on no memory.
 */
size_t gtable_key_encode(struct gtable_keys *k, const struct rec_value *v);

/*
 * gtable_get() for one non-NULL text key p[0..len), hashed and compared as
 * it is: only a new group's key is encoded (as gtable_key_encode() would).
 * The _h form takes the hash gtable_hash_text1() gave, so that a caller can
 * prefetch its slot (gtable_prefetch()) before the lookup.
 * It and gtable_get_int1() are deliberate hot-path specialisations of one
 * probe loop: each hashes, compares and encodes its shape in place, which
 * a shared loop could do only through a call per probe.
 */
static inline __attribute__((always_inline)) struct group *
gtable_get_text1_h(struct gtable *t, uint64_t h, const unsigned char *p,
		   uint32_t len)
{
	uint32_t klen = TEXT1_OFF + len;
	struct group *g;
	unsigned char *k;
	size_t i = 0;

	if (t->slots != NULL) {
		for (i = h & t->mask; (g = t->slots[i].g) != NULL;
		     i = (i + 1) & t->mask) {
			/* klen >= TEXT1_OFF: never the NULL key's 5 bytes. */
			if (t->slots[i].hash == h && g->klen == klen &&
			    hash_eq(g->key + TEXT1_OFF, p, len))
				return g;
		}
	}
	i = gtable_new_slot(t, h, i);
	if (i == SIZE_MAX || (g = gtable_put_room(t, i, h, klen, &k)) == NULL)
		return NULL;
	memcpy(k, &klen, 4);
	k[4] = 0; /* the null bitmap */
	memcpy(k + 5, &len, 4);
	if (len != 0)
		memcpy(k + TEXT1_OFF, p, len);
	return g;
}

/* gtable_get_text1_h() for the key's hash under ks. */
static inline uint64_t gtable_hash_text1(const struct gtable_keys *ks,
					 const unsigned char *p, uint32_t len)
{
	(void)ks;
	return GTABLE_HASH(ks, hash_bytes(p, len));
}

static inline __attribute__((always_inline)) struct group *
gtable_get_text1(const struct gtable_keys *ks, struct gtable *t,
		 const unsigned char *p, uint32_t len)
{
	return gtable_get_text1_h(t, gtable_hash_text1(ks, p, len), p, len);
}

/* gtable_get() for one non-NULL int, timestamp or date key x, likewise. */
static inline __attribute__((always_inline)) struct group *
gtable_get_int1_h(struct gtable *t, uint64_t h, int64_t x)
{
	uint32_t klen = INT1_KLEN;
	struct group *g;
	unsigned char *k;
	size_t i = 0;

	if (t->slots != NULL) {
		for (i = h & t->mask; (g = t->slots[i].g) != NULL;
		     i = (i + 1) & t->mask) {
			if (t->slots[i].hash == h && g->klen == INT1_KLEN &&
			    hash_rd64(g->key + INT1_OFF) == (uint64_t)x)
				return g;
		}
	}
	i = gtable_new_slot(t, h, i);
	if (i == SIZE_MAX || (g = gtable_put_room(t, i, h, klen, &k)) == NULL)
		return NULL;
	memcpy(k, &klen, 4);
	k[4] = 0;
	memcpy(k + INT1_OFF, &x, 8);
	return g;
}

static inline uint64_t gtable_hash_int1(const struct gtable_keys *ks,
					int64_t x)
{
	(void)ks;
	return GTABLE_HASH(ks, hash_u64((uint64_t)x));
}

static inline __attribute__((always_inline)) struct group *
gtable_get_int1(const struct gtable_keys *ks, struct gtable *t, int64_t x)
{
	return gtable_get_int1_h(t, gtable_hash_int1(ks, x), x);
}

/*
 * Start loading the slot where a lookup of hash h begins, for a lookup a
 * few records later: with a table larger than the caches, that slot's
 * miss is most of a lookup's time.
 */
static inline void gtable_prefetch(const struct gtable *t, uint64_t h)
{
	if (t->slots != NULL)
		__builtin_prefetch(&t->slots[h & t->mask]);
}

/*
 * Then, once that slot is in the cache, start loading the group it holds
 * and the key behind it (klen bytes, gtable_put_room()): for a key seen
 * before, mostly the group the lookup will find.  A group spans two or
 * three cache lines; loaded one after the other, each lookup stalled on
 * them in turn.
 */
static inline void gtable_prefetch_group(const struct gtable *t, uint64_t h,
					 uint32_t klen)
{
	const char *g;

	if (t->slots == NULL || (g = (const char *)t->slots[h & t->mask].g) ==
				NULL)
		return;
	__builtin_prefetch(g);
	__builtin_prefetch(g + 64);
	__builtin_prefetch(g + t->group_size + klen - 1);
}

/*
 * The group of record v (the schema's values; only the key fields are
 * read) in t, created if new; NULL on no memory.
 */
static inline __attribute__((always_inline)) struct group *
gtable_group_of(struct gtable_keys *k, struct gtable *t,
		const struct rec_value *v)
{
	const struct rec_value *x;
	size_t klen;

	switch (k->shape) {
	case KEY_TEXT1:
		x = &v[k->group_by[0]];
		if (!x->null && x->u.s.len <= UINT32_MAX - TEXT1_OFF)
			return gtable_get_text1(k, t,
						(const unsigned char *)x->u.s.p,
						x->u.s.len);
		break;
	case KEY_INT1:
		x = &v[k->group_by[0]];
		if (!x->null)
			return gtable_get_int1(k, t, x->u.i);
		break;
	case KEY_GENERAL:
		break;
	}
	klen = gtable_key_encode(k, v);
	if (klen == 0)
		return NULL;
	return gtable_get(t, GTABLE_HASH(k, hash_bytes(k->scratch.p, klen)),
			  k->scratch.p, (uint32_t)klen, true);
}

#endif
