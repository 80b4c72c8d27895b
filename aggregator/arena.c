/*
 * arena.c - a bump allocator over malloc'd blocks (arena.h).
 */
#include "arena.h"

#include <stdlib.h>
#include <string.h>

void *arena_grow(struct arena *a, size_t n)
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

void *arena_calloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n, 8);

	if (p != NULL)
		memset(p, 0, n);
	return p;
}

void arena_free(struct arena *a)
{
	while (a->blocks != NULL) {
		struct arena_block *b = a->blocks;

		a->blocks = b->next;
		free(b);
	}
	a->next = a->end = 0;
}
