/*
 * arena.c - a bump allocator over malloc'd blocks (arena.h), and the large
 * zeroed arrays (arena_big_alloc()).
 */
#include "arena.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* n rounded up to whole pages of p bytes (a power of two). */
static uintptr_t round_up(uintptr_t n, uintptr_t p)
{
	return (n + p - 1) & ~(p - 1);
}

static uintptr_t page_size(void)
{
	static uintptr_t size;

	if (size == 0) {
		long s = sysconf(_SC_PAGESIZE);

		size = s > 0 ? (uintptr_t)s : 4096;
	}
	return size;
}

/*
 * Fault in [p, p + n) writable, in one pass of the kernel: a page fault
 * per 4 KiB page cost more.  Only a hint: without MADV_POPULATE_WRITE
 * (Linux before 5.14) the pages fault in when first touched.
 */
static void populate(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
	if (n > 0)
		(void)madvise(p, n, MADV_POPULATE_WRITE);
#else
	(void)p;
	(void)n;
#endif
}

/* A mapping of n zeroed bytes (whole pages) or NULL; not yet faulted in. */
static void *map_big(size_t n)
{
	void *p;

	if (round_up(n, page_size()) < n)
		return NULL;
	p = mmap(NULL, round_up(n, page_size()), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void *arena_big_alloc(size_t n)
{
	void *p;

	if (n < ARENA_BIG)
		return calloc(1, n ? n : 1);
	p = map_big(n);
	if (p != NULL)
		populate(p, round_up(n, page_size()));
	return p;
}

void arena_big_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	if (n < ARENA_BIG)
		free(p);
	else
		munmap(p, round_up(n, page_size()));
}

/*
 * Make [a->end, at least p + n) of the current big block ready, a step at
 * a time, and return p, n bytes for the caller; NULL when the block
 * cannot hold them.
 */
static void *arena_step(struct arena *a, uintptr_t p, size_t n)
{
	uintptr_t end;

	if (a->blocks == NULL || p > a->limit || a->limit - p < n)
		return NULL;
	end = a->end + ARENA_STEP > p + n ? a->end + ARENA_STEP : p + n;
	end = round_up(end, page_size());
	if (end > a->limit)
		end = a->limit;
	populate((void *)a->end, end - a->end);
	a->end = end;
	a->next = p + n;
	return (void *)p;
}

void *arena_grow(struct arena *a, size_t n)
{
	size_t hdr = sizeof(struct arena_block);
	size_t size = a->grow ? a->grow : ARENA_BLOCK_SIZE;
	struct arena_block *b;
	uintptr_t p = (a->next + 7) & ~(uintptr_t)7;
	void *q = arena_step(a, p, n);

	if (q != NULL)
		return q;
	if (n > SIZE_MAX - hdr - 8)
		return NULL;
	if (n + hdr + 8 > size)
		size = n + hdr + 8;
	b = size >= ARENA_BIG ? map_big(size) : malloc(size);
	if (b == NULL)
		return NULL;
	b->next = a->blocks;
	b->size = size;
	a->blocks = b;
	if (a->grow < ARENA_BLOCK_MAX)
		a->grow = a->grow ? a->grow * 2 : ARENA_BLOCK_SIZE * 2;
	p = ((uintptr_t)b + hdr + 7) & ~(uintptr_t)7;
	a->limit = (uintptr_t)b + size;
	if (size < ARENA_BIG) {
		a->next = p + n;
		a->end = a->limit;
		return (void *)p;
	}
	a->end = (uintptr_t)b; /* nothing populated yet */
	return arena_step(a, p, n);
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
		if (b->size >= ARENA_BIG)
			arena_big_free(b, b->size);
		else
			free(b);
	}
	a->next = a->end = a->limit = 0;
	a->grow = 0;
}
