/*
 * arena.c - a bump allocator over malloc'd blocks (arena.h), and the large
 * zeroed arrays (arena_big_alloc()).
 */
#include "arena.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* n rounded up to whole huge pages: what arena_big_alloc() maps. */
static size_t huge_round(size_t n)
{
	return (n + ARENA_HUGE - 1) & ~(size_t)(ARENA_HUGE - 1);
}

void *arena_big_alloc(size_t n)
{
	void *p;

	if (n < ARENA_HUGE)
		return calloc(1, n ? n : 1);
	if (huge_round(n) < n)
		return NULL;
	p = mmap(NULL, huge_round(n), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* A hint: without transparent huge pages it is 4 KiB pages. */
	(void)madvise(p, huge_round(n), MADV_HUGEPAGE);
	return p;
}

void arena_big_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	if (n < ARENA_HUGE)
		free(p);
	else
		munmap(p, huge_round(n));
}

void *arena_grow(struct arena *a, size_t n)
{
	size_t hdr = sizeof(struct arena_block);
	size_t size = a->grow ? a->grow : ARENA_BLOCK_SIZE;
	struct arena_block *b;
	uintptr_t p;

	if (n > SIZE_MAX - hdr - 8)
		return NULL;
	if (n + hdr + 8 > size)
		size = n + hdr + 8;
	b = size >= ARENA_HUGE ? arena_big_alloc(size) : malloc(size);
	if (b == NULL)
		return NULL;
	b->next = a->blocks;
	b->size = size;
	a->blocks = b;
	if (a->grow < ARENA_BLOCK_MAX)
		a->grow = a->grow ? a->grow * 2 : ARENA_BLOCK_SIZE * 2;
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
		if (b->size >= ARENA_HUGE)
			arena_big_free(b, b->size);
		else
			free(b);
	}
	a->next = a->end = 0;
	a->grow = 0;
}
