/*
 * arena.h - a bump allocator over malloc'd blocks, freed all at once.
 *
 * The merge's group tables keep their groups, keys, copied text and
 * count_distinct sets in one arena each: no per-record malloc, no free
 * of single objects, everything released by arena_free().  An arena
 * starts zeroed ({0}: empty).  It owns its blocks; a pointer it handed
 * out stays valid until arena_free() (objects never move).
 */
#ifndef AGG_ARENA_H
#define AGG_ARENA_H

#include <stddef.h>
#include <stdint.h>

/* An arena grabs memory from malloc in blocks of this size (or bigger). */
#define ARENA_BLOCK_SIZE (256u * 1024u)

struct arena_block {
	struct arena_block *next;
};

struct arena {
	struct arena_block *blocks;
	uintptr_t next; /* first free byte of the current block */
	uintptr_t end;
};

/* n bytes from a new block (arena_alloc()'s slow path); NULL on no memory. */
void *arena_grow(struct arena *a, size_t n);

/*
 * n bytes aligned to align (1 or 8), not zeroed; NULL on no memory.
 * Inline: it runs for every new group and every copied text.
 */
static inline void *arena_alloc(struct arena *a, size_t n, size_t align)
{
	uintptr_t p = (a->next + align - 1) & ~(uintptr_t)(align - 1);

	if (a->blocks == NULL || p > a->end || a->end - p < n)
		return arena_grow(a, n);
	a->next = p + n;
	return (void *)p;
}

/* n zeroed bytes, 8-byte aligned; NULL on no memory. */
void *arena_calloc(struct arena *a, size_t n);

/* Free every block and leave a empty.  This function can't fail. */
void arena_free(struct arena *a);

#endif
