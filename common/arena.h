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

/*
 * An arena's first block takes this many bytes (or the first object, if
 * bigger); each next one twice the last, up to ARENA_BLOCK_MAX.  Blocks of
 * ARENA_BIG bytes or more are mapped, not malloc'd, and their pages are
 * faulted in ARENA_STEP bytes at a time, one system call each, as the
 * arena reaches them (arena_grow()): a table of a few groups takes what it
 * did, one of millions few blocks and no page fault per 4 KiB page.
 */
#define ARENA_BLOCK_SIZE (256u * 1024u)
#define ARENA_BLOCK_MAX (8u * 1024u * 1024u)
#define ARENA_STEP (1024u * 1024u)

struct arena_block {
	struct arena_block *next;
	size_t size;    /* of the block, this header included */
};

struct arena {
	struct arena_block *blocks;
	uintptr_t next; /* first free byte of the current block */
	uintptr_t end;  /* end of its part ready for use (faulted in) */
	uintptr_t limit; /* end of the current block */
	size_t grow;    /* the next block's size */
};

/*
 * n bytes, 8-byte aligned, from the current block's next step or a new
 * block (arena_alloc()'s slow path); NULL on no memory.
 */
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

/*
 * n zeroed bytes for a large array (a group table's slots): from mmap,
 * every page faulted in by one system call (MADV_POPULATE_WRITE), when n
 * is at least ARENA_BIG, else from calloc.  With millions of groups much
 * of the aggregator's time went to faulting in 4 KiB pages one by one (and
 * to calloc's memset).  Transparent huge pages are left to the system's
 * setting: see docs/design.md (Many groups) for why they are no longer
 * asked for.  NULL on no memory.  Freed by arena_big_free() with the same
 * n.
 */
#define ARENA_BIG (2u * 1024u * 1024u)
void *arena_big_alloc(size_t n);
void arena_big_free(void *p, size_t n);

#endif
