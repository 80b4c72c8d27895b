/*
 * test_arena.c - common/arena.c: the bump allocator's blocks and steps,
 * and the large zeroed arrays.
 *
 * What is resident is read with mincore(): a big array must be faulted in
 * when it is handed out, and a big arena block a step at a time, not all
 * at once (a table that stops growing keeps the rest of its last block
 * unfaulted).  With transparent huge pages set to "always" the kernel may
 * fault in 2 MiB at a touch, so the "not yet" checks are left out then.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/arena.h"

static uintptr_t page(void)
{
	return (uintptr_t)sysconf(_SC_PAGESIZE);
}

/* Pages of [p, p + n) that are resident, and how many pages there are. */
static size_t resident(const void *p, size_t n, size_t *pages)
{
	uintptr_t a = (uintptr_t)p & ~(page() - 1);
	uintptr_t e = ((uintptr_t)p + n + page() - 1) & ~(page() - 1);
	size_t np = (e - a) / page(), k, in = 0;
	unsigned char *vec = malloc(np ? np : 1);

	cr_assert(vec != NULL);
	cr_assert(mincore((void *)a, e - a, vec) == 0, "mincore: %m");
	for (k = 0; k < np; k++)
		in += vec[k] & 1;
	free(vec);
	*pages = np;
	return in;
}

/* Whether the kernel may fault in huge pages without being asked. */
static bool thp_always(void)
{
	char line[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (f == NULL)
		return false;
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	return strstr(line, "[always]") != NULL;
}

Test(arena, big_array_is_zeroed_and_faulted_in_when_handed_out)
{
	size_t n = 3 * ARENA_BIG + 12345, pages, i;
	unsigned char *p = arena_big_alloc(n);

	cr_assert(p != NULL);
	cr_expect_eq(resident(p, n, &pages), pages,
		     "%zu of %zu pages resident", resident(p, n, &pages),
		     pages);
	for (i = 0; i < n; i += 997)
		cr_assert_eq(p[i], 0, "byte %zu", i);
	cr_assert_eq(p[n - 1], 0);
	memset(p, 0xa5, n);
	arena_big_free(p, n);
}

/* Below ARENA_BIG from the heap: zeroed even where the heap had bytes. */
Test(arena, small_array_is_zeroed_from_a_used_heap)
{
	unsigned char *used = malloc(1000), *p;

	cr_assert(used != NULL);
	memset(used, 0xa5, 1000);
	free(used); /* the chunk the next allocation of its size takes */
	p = arena_big_alloc(1000);
	cr_assert(p != NULL);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(p[i], 0);
	arena_big_free(p, 1000);
	arena_big_free(NULL, 1 << 24); /* fine */
}

/*
 * Fill an arena with objects of n bytes until one lands in a block of
 * ARENA_BLOCK_MAX bytes; each object is written with its number, so an
 * overlap shows when they are read back.
 */
struct filled {
	unsigned char **objs;
	size_t count;
};

static struct filled fill(struct arena *a, size_t n, size_t count)
{
	struct filled f = { calloc(count, sizeof(*f.objs)), count };
	size_t i;

	cr_assert(f.objs != NULL);
	for (i = 0; i < count; i++) {
		unsigned char *o = arena_alloc(a, n, 8);

		cr_assert(o != NULL);
		cr_assert_eq((uintptr_t)o % 8, 0, "object %zu misaligned", i);
		cr_assert((uintptr_t)o + n <= a->end,
			  "object %zu past the ready part", i);
		memset(o, (int)(i % 251), n);
		f.objs[i] = o;
	}
	return f;
}

static void check_filled(const struct filled *f, size_t n)
{
	for (size_t i = 0; i < f->count; i++)
		for (size_t k = 0; k < n; k++)
			cr_assert_eq(f->objs[i][k], (unsigned char)(i % 251),
				     "object %zu byte %zu overwritten", i, k);
}

Test(arena, big_blocks_are_faulted_in_a_step_at_a_time)
{
	struct arena a = { 0 };
	size_t n = 88, count = 0, pages, in;
	struct filled f;
	uintptr_t start;

	/* 256 KiB + 512 KiB + 1 MiB + 2 MiB + 4 MiB, then into 8 MiB. */
	count = (ARENA_BLOCK_SIZE * 31 + ARENA_STEP / 2) / n;
	f = fill(&a, n, count);
	cr_assert_eq(a.blocks->size, (size_t)ARENA_BLOCK_MAX,
		     "the last block has %zu bytes", a.blocks->size);
	start = (uintptr_t)a.blocks;
	cr_assert_eq(a.limit, start + ARENA_BLOCK_MAX);
	cr_assert(a.end < a.limit, "the whole block made ready at once");
	cr_assert(a.end - start >= ARENA_STEP);
	in = resident((void *)start, a.end - start, &pages);
	cr_expect_eq(in, pages, "%zu of %zu ready pages resident", in, pages);
	if (!thp_always()) {
		in = resident((void *)a.end, a.limit - a.end, &pages);
		cr_expect_eq(in, 0, "%zu of %zu pages past the ready part "
			     "resident", in, pages);
	}
	check_filled(&f, n);
	free(f.objs);
	arena_free(&a);
	cr_assert_eq(a.blocks, NULL);
	cr_assert_eq(a.next, 0);
	cr_assert_eq(a.end, 0);
	cr_assert_eq(a.limit, 0);
}

Test(arena, object_larger_than_a_block_gets_its_own)
{
	struct arena a = { 0 };
	size_t big = ARENA_BLOCK_MAX + 3 * ARENA_STEP + 40, pages;
	unsigned char *small = arena_alloc(&a, 16, 8);
	unsigned char *p = arena_calloc(&a, big);
	unsigned char *after;

	cr_assert(small != NULL && p != NULL);
	cr_expect_eq(resident(p, big, &pages), pages);
	for (size_t i = 0; i < big; i += 4093)
		cr_assert_eq(p[i], 0);
	memset(p, 7, big);
	/* What follows goes on in the same block, within its limit. */
	after = arena_alloc(&a, 100, 1);
	cr_assert(after != NULL);
	cr_assert(after >= p + big || after + 100 <= p);
	memset(after, 9, 100);
	cr_assert_eq(p[big - 1], 7);
	arena_free(&a);
}

Test(arena, small_blocks_are_whole_from_the_start)
{
	struct arena a = { 0 };
	unsigned char *p = arena_alloc(&a, 24, 1);

	cr_assert(p != NULL);
	cr_assert_eq(a.blocks->size, (size_t)ARENA_BLOCK_SIZE);
	cr_assert_eq(a.end, a.limit);
	cr_assert_eq(a.limit, (uintptr_t)a.blocks + ARENA_BLOCK_SIZE);
	arena_free(&a);
}
