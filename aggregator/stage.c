/*
 * stage.c - what a provider sent since its last checkpoint (stage.h).
 *
 * Invariants: st->records counts every record staged since the last
 * clear, st->nkept those kept (all of them, unless the provider was left
 * out of the result); a malformed frame leaves the stage as it was; the
 * entries' walk gives exactly rec_decode()'s verdict and length for every
 * record, so a frame is accepted in one form if and only if in the other;
 * the memo's entries name groups of memo_t that hold their keys.  The
 * entries' fold is stage_fold.c's.
 */
#include "stage.h"
#include "stage_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Inputs an entry can hold: one NULL flag each in a uint64_t. */
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
 * How the walk reads the records whose null bitmap is a given byte
 * (schemas of up to 8 fields, sg->plans[byte]): the steps over the
 * fields present, in order, and the keys and inputs that are NULL; or
 * that the byte has bits past the last field, which makes every such
 * record malformed.
 *
 * A step is one field's type and role fused into one case, so that the
 * commonest fields cost a bounds check and a move: fixed-size fields that
 * nothing reads (several in a row are one step: one check of their total
 * length fails exactly when one of theirs would), an 8-byte input, a text
 * read only for its NULL flag or not at all, a text key, an 8-byte int
 * key; any other field takes stage_take(), which serves every type.
 */
enum { PLAN_UNKNOWN, PLAN_BAD, PLAN_OK };

enum stage_step {
	STEP_SKIP,     /* arg bytes of fixed-size fields nothing reads */
	STEP_IN8,      /* int, timestamp, date or float input arg */
	STEP_TEXT,     /* a text that is no key */
	STEP_TEXT_KEY, /* text field arg, a key and no input */
	STEP_INT_KEY,  /* int, timestamp or date field arg, a key only */
	STEP_TAKE,     /* stage_take() of field arg */
	STEP_END       /* after the last */
};

struct stage_plan {
	unsigned char state;
	unsigned char nstep;      /* steps */
	unsigned char nknull;     /* keys that are NULL */
	unsigned char step[9];    /* enum stage_step, STEP_END after them */
	unsigned char arg[9];
	unsigned char knull[8];
	uint64_t nulls;           /* inputs that are NULL */
};

/*
 * The memo (stage.h): 2-way sets of entries, a key's words (a text's
 * bytes, zero-padded to 16, an int as a) and its tag (the text's length,
 * or STAGE_MEMO_INT) with its group.  A set holds the last two keys that
 * came to it; a miss moves the newer one to the second place.  32 KiB:
 * the caches keep it close, and with at most STAGE_MEMO_GROUPS groups in
 * the table (one a set on average) few sets are wanted by more than two
 * keys.  Empty entries have a tag no key has.
 */
#define STAGE_MEMO_SETS 512u
#define STAGE_MEMO_BITS 9
#define STAGE_MEMO_GROUPS 512u
#define STAGE_MEMO_INT 17u
#define STAGE_MEMO_TEXT 16u /* the longest text key it takes */

/*
 * Bytes a text key's memo words may read past the end of the frame's
 * copy (which keeps that much room).
 */
#define STAGE_SLACK 16u

/* The masks of a word's n low bytes (little-endian: its first n). */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the memo's masks keep a loaded word's first bytes");
static const uint64_t stage_low_bytes[9] = {
	0, 0xff, 0xffff, 0xffffff, 0xffffffffull, 0xffffffffffull,
	0xffffffffffffull, 0xffffffffffffffull, UINT64_MAX
};

struct stage_memo_ent {
	uint64_t a, b;
	uint64_t tag;
	struct group *g;
};

struct stage_memo {
	struct stage_memo_ent e[2 * STAGE_MEMO_SETS];
};

int stage_setup(struct stager *sg, const struct cfg *cfg,
		const struct gtable_keys *keys, const struct st_agg *aggs,
		int naggs)
{
	int nf = cfg->schema.nfields, j;

	memset(sg, 0, sizeof(*sg));
	sg->schema = &cfg->schema;
	sg->aggs = aggs;
	sg->naggs = naggs;
	if (cfg->mode != CFG_MODE_GROUP)
		return 0;
	for (j = 0; j < naggs; j++) {
		const struct st_agg *a = &aggs[j];

		if (a->st == ST_SET || a->st == ST_SET_DEC ||
		    (a->st == ST_MM && a->ftype == REC_TEXT) ||
		    state_is_stat(a) || a->filter >= 0)
			return 0;
	}
	sg->sfields = calloc((size_t)(nf ? nf : 1), sizeof(*sg->sfields));
	sg->sops = calloc((size_t)(naggs ? naggs : 1), sizeof(*sg->sops));
	sg->vals = calloc((size_t)(nf ? nf : 1), sizeof(*sg->vals));
	if (sg->sfields == NULL || sg->sops == NULL || sg->vals == NULL)
		return -1;
	if (nf >= 1 && nf <= 8) {
		sg->plans = calloc(256, sizeof(*sg->plans));
		if (sg->plans == NULL)
			return -1;
	}
	for (j = 0; j < nf; j++)
		sg->sfields[j].type = cfg->schema.fields[j].type;
	for (j = 0; j < keys->schema.nfields; j++)
		sg->sfields[keys->group_by[j]].role |= SF_KEY;
	sg->ninputs = 0;
	for (j = 0; j < naggs; j++) {
		const struct st_agg *a = &aggs[j];
		struct stage_op *o = &sg->sops[j];

		o->off = a->off;
		if (a->field >= 0) {
			struct stage_field *f = &sg->sfields[a->field];

			if (!(f->role & SF_INPUT)) {
				f->role |= SF_INPUT;
				f->input = sg->ninputs;
				sg->ninputs += f->type == REC_DECIMAL ? 2 : 1;
			}
			o->input = f->input;
		}
		if (a->kind == CFG_AGG_COUNT_STAR)
			o->kind = SOP_COUNT_STAR;
		else if (a->st == ST_COUNT)
			o->kind = SOP_COUNT;
		else if (a->st == ST_ISUM)
			o->kind = SOP_ISUM; /* a bool is staged as 0 or 1 */
		else if (a->st == ST_DSUM)
			o->kind = SOP_DSUM;
		else if (a->st == ST_FSUM)
			o->kind = SOP_FSUM;
		else if (a->ftype == REC_DECIMAL)
			o->kind = SOP_DEC_OTHER;
		else
			o->kind = SOP_OTHER;
	}
	if (sg->ninputs > STAGE_MAX_INPUTS)
		return 0;
	sg->entry_size = sizeof(struct stage_entry) +
			 sizeof(uint64_t) * (size_t)sg->ninputs;
	sg->entries = true;
#ifdef AGG_TESTING
	{
		const char *st = getenv("AGG_STAGE");

		if (st != NULL && strcmp(st, "raw") == 0)
			sg->entries = false;
		if (st != NULL && strcmp(st, "general") == 0)
			sg->general = true;
	}
#endif
	return 0;
}

/* Test builds: only the general walk and lookups (stage.h). */
#ifdef AGG_TESTING
#define STAGE_GENERAL(sg) ((sg)->general)
#else
#define STAGE_GENERAL(sg) false
#endif

void stage_setup_free(struct stager *sg)
{
	free(sg->sfields);
	free(sg->sops);
	free(sg->vals);
	free(sg->plans);
	free(sg->memo);
	buf_free(&sg->frame);
	sg->sfields = NULL;
	sg->sops = NULL;
	sg->vals = NULL;
	sg->plans = NULL;
	sg->memo = NULL;
}

/*
 * What the walk reads for every record, loaded once per frame: the group
 * lookups between records are calls the compiler must assume change any
 * memory, so it would load these again through sg for every record.
 */
struct stage_ctx {
	const struct stage_field *sf; /* sg->sfields */
	struct rec_value *vals;       /* sg->vals */
	struct stage_plan *plans;     /* sg->plans */
	int nf;                       /* fields of the schema */
};

/*
 * Take non-NULL field i of a record at buf[*pos..total) with rec_decode()'s
 * checks: its value into c->vals[i] if it is a key, into e if it is an
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
	case REC_DATE:
	case REC_FLOAT:
		if (left < 8)
			return -1;
		memcpy(&bits, buf + *pos, 8);
		*pos += 8;
		break;
	case REC_DECIMAL:
		if (left < 16)
			return -1;
		if (f->role & SF_KEY) {
			k->null = false;
			memcpy(&k->u.d.lo, buf + *pos, 8);
			memcpy(&k->u.d.hi, buf + *pos + 8, 8);
		}
		if (f->role & SF_INPUT)
			memcpy(&e->v[f->input], buf + *pos, 16);
		*pos += 16;
		return 0;
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
stage_plan_of(struct stager *sg, unsigned bm)
{
	struct stage_plan *pl = &sg->plans[bm];
	int nf = sg->schema->nfields, i;

	if (pl->state != PLAN_UNKNOWN)
		return pl;
	if (nf < 8 && (bm >> nf) != 0) {
		pl->state = PLAN_BAD;
		return pl;
	}
	for (i = 0; i < nf; i++) {
		const struct stage_field *f = &sg->sfields[i];
		bool eight = f->type == REC_INT || f->type == REC_TIMESTAMP ||
			     f->type == REC_DATE || f->type == REC_FLOAT;
		unsigned char step = STEP_TAKE, arg = (unsigned char)i;

		if ((bm >> i) & 1) {
			if (f->role & SF_KEY)
				pl->knull[pl->nknull++] = (unsigned char)i;
			if (f->role & SF_INPUT)
				pl->nulls |= UINT64_C(1) << f->input;
			continue;
		}
		if (STAGE_GENERAL(sg)) {
			/* step stays STEP_TAKE */
		} else if (eight && f->role == 0) {
			step = STEP_SKIP;
			arg = 8;
			if (pl->nstep > 0 &&
			    pl->step[pl->nstep - 1] == STEP_SKIP) {
				pl->arg[pl->nstep - 1] += 8;
				continue;
			}
		} else if (eight && f->role == SF_INPUT) {
			step = STEP_IN8;
			arg = (unsigned char)f->input;
		} else if (f->type == REC_TEXT && !(f->role & SF_KEY)) {
			step = STEP_TEXT;
		} else if (f->type == REC_TEXT && f->role == SF_KEY) {
			step = STEP_TEXT_KEY;
		} else if (eight && f->type != REC_FLOAT &&
			   f->role == SF_KEY) {
			step = STEP_INT_KEY;
		}
		pl->step[pl->nstep] = step;
		pl->arg[pl->nstep++] = arg;
	}
	pl->step[pl->nstep] = STEP_END;
	pl->state = PLAN_OK;
	return pl;
}

/*
 * Check one record at buf[0..avail) with exactly rec_decode()'s checks, in
 * its order (the same verdict, the same length), and take what staging
 * needs: the key fields into c->vals, the inputs and their NULL flags into
 * e (e->g untouched).  Returns the record's length, or -1 if malformed.
 */
static inline __attribute__((always_inline)) long
stage_walk(struct stager *sg, const struct stage_ctx *c,
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
			pl = stage_plan_of(sg, buf[4]);
		if (pl->state == PLAN_BAD)
			return -1;
		for (k = 0;; k++) {
			const size_t left = total - pos;
			const unsigned arg = pl->arg[k];
			uint32_t len;

			switch ((enum stage_step)pl->step[k]) {
			case STEP_SKIP:
				if (left < arg)
					return -1;
				pos += arg;
				continue;
			case STEP_IN8:
				if (left < 8)
					return -1;
				memcpy(&e->v[arg], buf + pos, 8);
				pos += 8;
				continue;
			case STEP_TEXT:
				if (left < 4)
					return -1;
				memcpy(&len, buf + pos, 4);
				if (len > left - 4)
					return -1;
				pos += 4 + (size_t)len;
				continue;
			case STEP_TEXT_KEY:
				if (left < 4)
					return -1;
				memcpy(&len, buf + pos, 4);
				if (len > left - 4)
					return -1;
				c->vals[arg].null = false;
				c->vals[arg].u.s.p = (const char *)buf + pos + 4;
				c->vals[arg].u.s.len = len;
				pos += 4 + (size_t)len;
				continue;
			case STEP_INT_KEY:
				if (left < 8)
					return -1;
				c->vals[arg].null = false;
				memcpy(&c->vals[arg].u.i, buf + pos, 8);
				pos += 8;
				continue;
			case STEP_TAKE:
				if (stage_take(c, (int)arg, buf, &pos, total,
					       e) < 0)
					return -1;
				continue;
			case STEP_END:
				break;
			}
			break;
		}
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

/* rec_validate() over count records at p[0..len); bytes used, or -1. */
static long validate(const struct rec_schema *s, const unsigned char *p,
		     size_t len, uint32_t count)
{
	size_t off = 0;

	for (uint32_t i = 0; i < count; i++) {
		long n = rec_validate(s, p + off, len - off);

		if (n < 0)
			return -1;
		off += (size_t)n;
	}
	return (long)off;
}

/*
 * Tables of at least this many slots (16 bytes each: 1 MiB) are looked up
 * with prefetching (walk_entries_far()); smaller ones stay in the caches
 * and take the plain loop, which costs no instruction more per record.
 */
#define STAGE_FAR_SLOTS (UINT64_C(1) << 16)

/* Keys hashed and prefetched before their lookups, in one batch. */
#define STAGE_BATCH 16u

/* A one-int or one-text key waiting for its lookup. */
struct stage_far {
	struct stage_entry *e;
	uint64_t h;
	const unsigned char *p; /* text */
	int64_t x;              /* the int, or the text's length */
};

/*
 * walk_entries() for a one-int or one-text key in a large table: the
 * records are walked STAGE_BATCH at a time, each key's hash taken and its
 * slot prefetched; then the batch before, whose slots have come in
 * meanwhile, has the groups in those slots prefetched and its keys looked
 * up, so that the lookups' cache misses overlap each other and the walk
 * instead of stalling it one by one.  A NULL key (the general path) is
 * looked up at once.  The groups found are the same; only the order new
 * ones are made in differs, which nothing reads (the result is sorted,
 * sums are exact).
 */
static long walk_entries_far(struct stager *sg, struct stage *st,
			     struct gtable_keys *k, struct gtable *t,
			     uint32_t count, int *nomem)
{
	const struct stage_ctx c = { sg->sfields, sg->vals, sg->plans,
				     sg->schema->nfields };
	const unsigned char *recs = sg->frame.p;
	const size_t es = sg->entry_size, len = sg->frame.len;
	const struct rec_value *x = &sg->vals[k->group_by[0]];
	const bool text = k->shape == KEY_TEXT1;
	unsigned char *at = st->kept.p + st->kept.len;
	struct stage_far q[2][STAGE_BATCH];
	unsigned nq[2] = { 0, 0 }, cur = 0;
	size_t off = 0;
	uint32_t i = 0;

	while (i < count || nq[!cur] > 0) {
		struct stage_far *b = q[cur];
		unsigned nb = 0, j;

		for (; i < count && nb < STAGE_BATCH; i++, at += es) {
			struct stage_entry *e = (struct stage_entry *)(void *)at;
			long n = stage_walk(sg, &c, recs + off, len - off, e);
			struct stage_far *f = &b[nb];

			if (n < 0)
				return -1;
			off += (size_t)n;
			if (x->null ||
			    (text && x->u.s.len > UINT32_MAX - TEXT1_OFF)) {
				e->g = gtable_group_of(k, t, c.vals);
				if (e->g == NULL)
					goto out_nomem;
				continue;
			}
			f->e = e;
			if (text) {
				f->p = (const unsigned char *)x->u.s.p;
				f->x = (int64_t)x->u.s.len;
				f->h = gtable_hash_text1(k, f->p,
							 (uint32_t)f->x);
			} else {
				f->x = x->u.i;
				f->h = gtable_hash_int1(k, f->x);
			}
			gtable_prefetch(t, f->h);
			nb++;
		}
		nq[cur] = nb;
		cur = !cur;
		b = q[cur];
		for (j = 0; j < nq[cur]; j++)
			gtable_prefetch_group(t, b[j].h,
					      text ? TEXT1_OFF +
							     (uint32_t)b[j].x :
						     INT1_KLEN);
		for (j = 0; j < nq[cur]; j++) {
			struct stage_far *f = &b[j];

			f->e->g = text ? gtable_get_text1_h(t, f->h, f->p,
							    (uint32_t)f->x) :
					 gtable_get_int1_h(t, f->h, f->x);
			if (f->e->g == NULL)
				goto out_nomem;
		}
		nq[cur] = 0;
	}
	return (long)off;

out_nomem:
	*nomem = 1;
	return -1;
}

/*
 * The first entry of the memo set of a key's words and tag.  Test builds
 * keep only k's hash_mask bits of the set's number too (gtable.h), so
 * that keys share sets and the memo's compares decide.
 */
static inline size_t memo_set(const struct gtable_keys *k, uint64_t a,
			      uint64_t b, uint64_t tag)
{
	uint64_t h = (a ^ (b << 1 | b >> 63) ^ tag) * HASH_P2;

	(void)k;
	return (size_t)GTABLE_HASH(k, h >> (64 - STAGE_MEMO_BITS)) * 2;
}

/*
 * A memo miss: the group of non-NULL key x (a short text when text, else
 * an int; words a, b and tag) from the table, then first in its set.
 * NULL on no memory.
 */
static __attribute__((noinline)) struct group *
memo_miss(struct stage_memo_ent *set, struct gtable_keys *k,
	  struct gtable *t, const struct rec_value *x, bool text,
	  uint64_t a, uint64_t b, uint64_t tag)
{
	struct group *g;

	if (text)
		g = gtable_get_text1(k, t, (const unsigned char *)x->u.s.p,
				     x->u.s.len);
	else
		g = gtable_get_int1(k, t, x->u.i);
	if (g != NULL) {
		set[1] = set[0];
		set[0] = (struct stage_memo_ent){ a, b, tag, g };
	}
	return g;
}

/*
 * walk_entries() for a one-text or one-int key (text tells which) while
 * the table is small: a non-NULL key (a text of at most STAGE_MEMO_TEXT
 * bytes) is looked up in the stager's memo first, the table only on a
 * miss.
 */
static inline __attribute__((always_inline)) long
walk_entries_memo(struct stager *sg, struct stage *st, struct gtable_keys *k,
		  struct gtable *t, uint32_t count, int *nomem, bool text)
{
	const struct stage_ctx c = { sg->sfields, sg->vals, sg->plans,
				     sg->schema->nfields };
	const unsigned char *recs = sg->frame.p;
	const size_t es = sg->entry_size, len = sg->frame.len;
	const struct rec_value *x = &sg->vals[k->group_by[0]];
	struct stage_memo_ent *const memo = sg->memo->e;
	unsigned char *at = st->kept.p + st->kept.len;
	size_t off = 0;

	for (uint32_t i = 0; i < count; i++, at += es) {
		struct stage_entry *e = (struct stage_entry *)(void *)at;
		long n = stage_walk(sg, &c, recs + off, len - off, e);
		struct stage_memo_ent *set;
		uint64_t a, b, tag;
		struct group *g;

		if (n < 0)
			return -1;
		off += (size_t)n;
		if (x->null || (text && x->u.s.len > STAGE_MEMO_TEXT)) {
			g = gtable_group_of(k, t, c.vals);
			goto got;
		}
		if (text) {
			const unsigned char *p =
				(const unsigned char *)x->u.s.p;

			/*
			 * The key's bytes as two words, zero past its end:
			 * the loads may read up to STAGE_SLACK bytes past
			 * the frame, which the copy has room for, and the
			 * masks drop them.
			 */
			tag = x->u.s.len;
			a = hash_rd64(p);
			b = hash_rd64(p + 8);
			if (tag <= 8) {
				a &= stage_low_bytes[tag];
				b = 0;
			} else {
				b &= stage_low_bytes[tag - 8];
			}
		} else {
			a = (uint64_t)x->u.i;
			b = 0;
			tag = STAGE_MEMO_INT;
		}
		set = &memo[memo_set(k, a, b, tag)];
		if (set[0].a == a && set[0].b == b && set[0].tag == tag)
			g = set[0].g;
		else if (set[1].a == a && set[1].b == b && set[1].tag == tag)
			g = set[1].g;
		else
			g = memo_miss(set, k, t, x, text, a, b, tag);
got:
		if (g == NULL) {
			*nomem = 1;
			return -1;
		}
		e->g = g;
	}
	return (long)off;
}

/*
 * The memo for stage st and its table t, emptied if it served another
 * (stage.h); NULL if there is no memory for it (the walk then goes
 * without).
 */
static struct stage_memo *memo_for(struct stager *sg, const struct stage *st,
				   const struct gtable *t)
{
	if (sg->memo == NULL || sg->memo_st != st || sg->memo_t != t ||
	    t->n < sg->memo_n) {
		if (sg->memo == NULL)
			sg->memo = malloc(sizeof(*sg->memo));
		if (sg->memo == NULL)
			return NULL;
		memset(sg->memo, 0xff, sizeof(*sg->memo)); /* no key's tags */
		sg->memo_st = st;
		sg->memo_t = t;
	}
	sg->memo_n = t->n;
	return sg->memo;
}

/* Walk count records of the frame into entries from st->kept's end. */
static long walk_entries(struct stager *sg, struct stage *st,
			 struct gtable_keys *k, struct gtable *t,
			 uint32_t count, int *nomem)
{
	const struct stage_ctx c = { sg->sfields, sg->vals, sg->plans,
				     sg->schema->nfields };
	const unsigned char *recs = sg->frame.p;
	const size_t es = sg->entry_size, len = sg->frame.len;
	unsigned char *at = st->kept.p + st->kept.len;
	size_t off = 0;

	if (k->shape != KEY_GENERAL && t->mask + 1 >= STAGE_FAR_SLOTS &&
	    !STAGE_GENERAL(sg))
		return walk_entries_far(sg, st, k, t, count, nomem);
	if (k->shape != KEY_GENERAL && t->n <= STAGE_MEMO_GROUPS &&
	    !STAGE_GENERAL(sg) && memo_for(sg, st, t) != NULL) {
		if (k->shape == KEY_TEXT1)
			return walk_entries_memo(sg, st, k, t, count, nomem,
						 true);
		return walk_entries_memo(sg, st, k, t, count, nomem, false);
	}
	for (uint32_t i = 0; i < count; i++, at += es) {
		struct stage_entry *e = (struct stage_entry *)(void *)at;
		long n = stage_walk(sg, &c, recs + off, len - off, e);

		if (n < 0)
			return -1;
		off += (size_t)n;
		e->g = gtable_group_of(k, t, c.vals);
		if (e->g == NULL) {
			*nomem = 1;
			return -1;
		}
	}
	return (long)off;
}

int stage_records(struct stager *sg, struct stage *st, struct gtable_keys *k,
		  struct gtable *t, const unsigned char *recs, size_t len,
		  uint32_t count, const char *name, char *err, size_t errlen)
{
	const struct rec_schema *s = sg->schema;
	/* The least bytes a record takes: its length and its null bitmap. */
	size_t least = 4 + ((size_t)s->nfields + 7) / 8;
	size_t start = st->kept.len;
	int nomem = 0;
	long used;

	if (t != NULL && !sg->entries) {
		/* Bytes: copied into the stage, checked there. */
		if (buf_add(&st->kept, recs, len) < 0)
			goto out_copy;
		used = validate(s, st->kept.p + start, len, count);
		if (used < 0)
			goto out_bad;
		if ((size_t)used != len)
			goto out_long;
		st->nkept += count;
		st->records += count;
		return 0;
	}
	buf_clear(&sg->frame);
	if (buf_reserve(&sg->frame, len + STAGE_SLACK) < 0 ||
	    buf_add(&sg->frame, recs, len) < 0)
		goto out_copy;
	/* Fewer bytes than count records need: one of them cannot parse. */
	if (count > len / least)
		goto out_bad;
	if (t == NULL) {
		/* Left out of the result: only checked. */
		used = validate(s, sg->frame.p, len, count);
	} else {
		if (buf_reserve(&st->kept, (size_t)count * sg->entry_size) < 0)
			goto out_nomem;
		used = walk_entries(sg, st, k, t, count, &nomem);
		if (nomem)
			goto out_nomem;
	}
	if (used < 0)
		goto out_bad;
	if ((size_t)used != len)
		goto out_long;
	if (t != NULL) {
		st->kept.len += (size_t)count * sg->entry_size;
		st->nkept += count;
	}
	st->records += count;
	return 0;

out_long:
	st->kept.len = start;
	snprintf(err, errlen, "RECORDS frame longer than its records");
	return 1;
out_bad:
	st->kept.len = start;
	snprintf(err, errlen, "record does not match the schema");
	return 1;
out_copy:
	snprintf(err, errlen, "out of memory");
	return -1;
out_nomem:
	snprintf(err, errlen, "out of memory grouping records of provider %s",
		 name);
	return -1;
}

int stage_reject(struct stage *st, const unsigned char *p, uint32_t len)
{
	if (buf_add(&st->rejects, &len, sizeof len) < 0 ||
	    buf_add(&st->rejects, p, len) < 0)
		return -1;
	st->nrejects++;
	return 0;
}

void stage_clear(struct stage *st)
{
	buf_clear(&st->kept);
	st->nkept = 0;
	st->records = 0;
	buf_clear(&st->rejects);
	st->nrejects = 0;
}

void stage_forget_records(struct stage *st)
{
	buf_free(&st->kept);
	st->nkept = 0;
}

void stage_free(struct stage *st)
{
	buf_free(&st->kept);
	buf_free(&st->rejects);
	memset(st, 0, sizeof(*st));
}
