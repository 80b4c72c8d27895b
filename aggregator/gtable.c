/*
 * gtable.c - the merge's group tables and group keys (gtable.h).
 *
 * Invariants: a table is at most half full (so a probe always ends on a
 * free slot); t->n counts the groups in it, live or not; a key is stored
 * once per table, in the canonical encoding gtable_key_encode() gives.
 */
#include "gtable.h"

#include <stdlib.h>
#include <string.h>

#include "split2.h"

/* Slots of a table when its first group comes. */
#define GTABLE_INITIAL 64u

/* Slots between a group's prefetch and its reading in a walk of them. */
#define GTABLE_AHEAD 16u

void gtable_init(struct gtable *t, size_t group_size)
{
	memset(t, 0, sizeof(*t));
	t->group_size = group_size;
}

void gtable_free(struct gtable *t)
{
	if (t->slots != NULL)
		arena_big_free(t->slots, (t->mask + 1) * sizeof(*t->slots));
	t->slots = NULL;
	t->mask = t->n = 0;
	arena_free(&t->arena);
}

static int gtable_resize(struct gtable *t, size_t cap)
{
	struct gslot *slots;
	size_t i;

	if (cap > SIZE_MAX / sizeof(*slots))
		return -1;
	slots = arena_big_alloc(cap * sizeof(*slots));
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
	if (t->slots != NULL)
		arena_big_free(t->slots, (t->mask + 1) * sizeof(*t->slots));
	t->slots = slots;
	t->mask = cap - 1;
	return 0;
}

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

size_t gtable_new_slot(struct gtable *t, uint64_t h, size_t i)
{
	if (t->slots != NULL && (t->n + 1) * 2 <= t->mask + 1)
		return i;
	if (gtable_reserve(t) < 0)
		return SIZE_MAX;
	for (i = h & t->mask; t->slots[i].g != NULL; i = (i + 1) & t->mask)
		;
	return i;
}

struct group *gtable_put(struct gtable *t, size_t i, uint64_t h,
			 const unsigned char *key, uint32_t klen)
{
	struct group *g = arena_calloc(&t->arena, t->group_size);

	if (g == NULL)
		return NULL;
	g->key = key;
	g->klen = klen;
	t->slots[i].hash = h;
	t->slots[i].g = g;
	t->n++;
	return g;
}

struct group *gtable_put_room(struct gtable *t, size_t i, uint64_t h,
			      uint32_t klen, unsigned char **key)
{
	struct group *g;

	if (t->group_size > SIZE_MAX - klen)
		return NULL;
	g = arena_alloc(&t->arena, t->group_size + klen, 8);
	if (g == NULL)
		return NULL;
	memset(g, 0, t->group_size);
	*key = (unsigned char *)g + t->group_size;
	g->key = *key;
	g->klen = klen;
	t->slots[i].hash = h;
	t->slots[i].g = g;
	t->n++;
	return g;
}

struct group *gtable_get(struct gtable *t, uint64_t h,
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
	return gtable_put(t, i, h, key, klen);
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

/* The key bytes of a one-text group (TEXT1_OFF on) and their length. */
static inline const unsigned char *text1_bytes(const struct group *g,
					       uint32_t *len)
{
	*len = g->klen - TEXT1_OFF;
	return g->key + TEXT1_OFF;
}

/* qsort order of one-text groups whose first 8 bytes tie: bytewise. */
static int text1_cmp(const void *pa, const void *pb)
{
	const struct int_item *a = pa, *b = pb;
	uint32_t la, lb;
	const unsigned char *ka = text1_bytes(a->g, &la);
	const unsigned char *kb = text1_bytes(b->g, &lb);
	int c = memcmp(ka, kb, la < lb ? la : lb);

	if (c != 0)
		return c;
	return (la > lb) - (la < lb);
}

/* A one-text key's first 8 bytes, big-endian, zero-padded. */
static uint64_t text1_prefix(const struct group *g)
{
	uint32_t len;
	const unsigned char *k = text1_bytes(g, &len);
	unsigned char pre[8] = { 0 };
	uint64_t x = 0;
	int b;

	if (len >= 8) {
		/* big-endian: unsigned order is memcmp order */
		memcpy(&x, k, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		x = __builtin_bswap64(x);
#endif
		return x;
	}
	memcpy(pre, k, len);
	for (b = 0; b < 8; b++)
		x = x << 8 | pre[b];
	return x;
}

/*
 * A one-key sort in two halves (split2.h), each gathering and sorting the
 * groups of half the slots, then merged into out[] from both ends at once.
 * a holds 2 * t->n items: half 0 gathers into a[0..), half 1 into
 * a[t->n..); each then sorts with the room the other leaves as its
 * scratch (half 0 after half 1's items, half 1 after half 0's).
 */
struct sort1 {
	const struct gtable *t;
	bool text;                   /* one text key, else one int */
	struct int_item *a;
	size_t n[2];                 /* each half's items */
	struct int_item *sorted[2];  /* where each half's order ended */
	const struct group *null_g[2];
	const struct group **out;
};

static void gather_half(void *arg, int h)
{
	struct sort1 *s = arg;
	const struct gtable *t = s->t;
	size_t slots = t->slots != NULL ? t->mask + 1 : 0;
	size_t i = h ? slots / 2 : 0, end = h ? slots : slots / 2;
	struct int_item *a = s->a + (h ? t->n : 0);
	size_t n = 0;

	for (; i < end; i++) {
		const struct group *g = t->slots[i].g;

		/* The slots are read in turn, the groups all over memory. */
		if (i + GTABLE_AHEAD < end && t->slots[i + GTABLE_AHEAD].g)
			__builtin_prefetch(t->slots[i + GTABLE_AHEAD].g);
		if (g == NULL || !g->live)
			continue;
		if (s->text ? g->klen < TEXT1_OFF : g->klen != INT1_KLEN) {
			s->null_g[h] = g; /* the caller's decode checks it */
			continue;
		}
		a[n].k = s->text ? text1_prefix(g) :
				   hash_rd64(g->key + INT1_OFF) ^
					   (UINT64_C(1) << 63);
		a[n++].g = g;
	}
	s->n[h] = n;
}

static void sort_half(void *arg, int h)
{
	struct sort1 *s = arg;
	size_t tn = s->t->n, n = s->n[h], i, j;
	struct int_item *a = s->a + (h ? tn : 0);
	struct int_item *tmp = s->a + (h ? s->n[0] : tn + s->n[1]);
	struct int_item *sorted = int_sort(a, tmp, n);

	for (i = 0; s->text && i < n; i = j) {
		for (j = i + 1; j < n && sorted[j].k == sorted[i].k; j++)
			;
		if (j - i > 1)
			qsort(sorted + i, j - i, sizeof(*sorted), text1_cmp);
	}
	s->sorted[h] = sorted;
}

/* <0, 0, >0: x before, with or after y in key order. */
static int item_cmp(const struct sort1 *s, const struct int_item *x,
		    const struct int_item *y)
{
	if (x->k != y->k)
		return x->k < y->k ? -1 : 1;
	return s->text ? text1_cmp(x, y) : 0;
}

/* The lowest total / 2 items of the two sorted runs, into out[] in order. */
static void merge_front(const struct sort1 *s, size_t total)
{
	const struct int_item *x = s->sorted[0], *y = s->sorted[1];
	size_t nx = s->n[0], ny = s->n[1], i = 0, j = 0, k;

	for (k = 0; k < total / 2; k++) {
		bool take_x = j >= ny ||
			      (i < nx && item_cmp(s, &x[i], &y[j]) <= 0);

		s->out[k] = take_x ? x[i++].g : y[j++].g;
	}
}

/* The others, the highest, into out[] from the back. */
static void merge_back(const struct sort1 *s, size_t total)
{
	const struct int_item *x = s->sorted[0], *y = s->sorted[1];
	size_t i = s->n[0], j = s->n[1], k;

	for (k = total; k > total / 2; k--) {
		bool take_y = i == 0 ||
			      (j > 0 && item_cmp(s, &x[i - 1], &y[j - 1]) <= 0);

		s->out[k - 1] = take_y ? y[--j].g : x[--i].g;
	}
}

/*
 * The two sorted runs merged, half 0 of the work from the front, half 1
 * from the back; ties (none: the keys are distinct) would go left first
 * both ways, as one merge puts them.
 */
static void merge_half(void *arg, int h)
{
	struct sort1 *s = arg;
	size_t total = s->n[0] + s->n[1];

	if (h == 0)
		merge_front(s, total);
	else
		merge_back(s, total);
}

static int sort1(const struct gtable *t, bool text,
		 const struct group **out, size_t *np)
{
	struct sort1 s = { .t = t, .text = text, .out = out };
	size_t size = sizeof(*s.a) * 2 * (t->n ? t->n : 1), n;

	s.a = arena_big_alloc(size); /* faulted in at once when large */
	if (s.a == NULL)
		return -1;
	split2_run(t->n, gather_half, &s);
	split2_run(t->n, sort_half, &s);
	split2_run(t->n, merge_half, &s);
	n = s.n[0] + s.n[1];
	if (s.null_g[0] != NULL || s.null_g[1] != NULL)
		out[n++] = s.null_g[0] != NULL ? s.null_g[0] : s.null_g[1];
	arena_big_free(s.a, size);
	*np = n;
	return 0;
}

/*
 * A radix sort instead of qsort_r() over decoded keys, whose compares
 * chase pointers all over memory (with millions of groups most of the
 * time of writing the result went there).
 */
int gtable_sort_int1(const struct gtable *t, const struct group **out,
		     size_t *np)
{
	return sort1(t, false, out, np);
}

/*
 * The sort of one-text keys: each group's first 8 key bytes, big-endian
 * and zero-padded, radix sorted as an int (so unsigned order is memcmp
 * order of the prefixes), then each run of equal prefixes (keys that share
 * 8 bytes, or a shorter key padded like a longer one's zero bytes) sorted
 * by qsort with the whole keys.  A qsort of all the keys chased two
 * pointers per compare, 20 compares a key at 1 M groups.
 */
int gtable_sort_text1(const struct gtable *t, const struct group **out,
		      size_t *np)
{
	return sort1(t, true, out, np);
}

int gtable_keys_init(struct gtable_keys *k, const struct rec_schema *s,
		     const int *group_by, int n)
{
	int i;

	memset(k, 0, sizeof(*k));
	k->schema.fields = calloc((size_t)(n ? n : 1),
				  sizeof(*k->schema.fields));
	if (k->schema.fields == NULL)
		return -1;
	k->schema.nfields = n;
	for (i = 0; i < n; i++)
		k->schema.fields[i] = s->fields[group_by[i]];
	k->group_by = group_by;
#ifdef AGG_TESTING
	k->hash_mask = UINT64_MAX;
#endif
	k->shape = KEY_GENERAL;
	if (n == 1 && k->schema.fields[0].type == REC_TEXT)
		k->shape = KEY_TEXT1;
	if (n == 1 && (k->schema.fields[0].type == REC_INT ||
		       k->schema.fields[0].type == REC_TIMESTAMP ||
		       k->schema.fields[0].type == REC_DATE))
		k->shape = KEY_INT1;
	return 0;
}

void gtable_keys_free(struct gtable_keys *k)
{
	free(k->schema.fields);
	k->schema.fields = NULL;
	buf_free(&k->scratch);
}

/*
 * Straight from v, in one pass after the size: this runs for every record
 * of the general shape.  The scratch buffer is a struct buf, its size
 * checked inline before buf_reserve() is called.
 */
size_t gtable_key_encode(struct gtable_keys *k, const struct rec_value *v)
{
	const struct rec_schema *ks = &k->schema;
	const int *by = k->group_by;
	size_t bitmap = ((size_t)ks->nfields + 7) / 8;
	size_t need = 4 + bitmap, pos = 4 + bitmap;
	unsigned char *out;
	uint32_t total;
	int j;

	for (j = 0; j < ks->nfields; j++) {
		const struct rec_value *x = &v[by[j]];

		/* 16: the most any other type takes (a decimal) */
		if (!x->null)
			need += ks->fields[j].type == REC_TEXT ?
					4 + (size_t)x->u.s.len : 16;
	}
	if (need >= k->scratch.cap && buf_reserve(&k->scratch, need) < 0)
		return 0;
	out = k->scratch.p;
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
		case REC_DATE:
			memcpy(out + pos, &x->u.i, 8);
			pos += 8;
			break;
		case REC_DECIMAL:
			memcpy(out + pos, &x->u.d.lo, 8);
			memcpy(out + pos + 8, &x->u.d.hi, 8);
			pos += 16;
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
