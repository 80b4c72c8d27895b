/*
 * jfast.c - one JSON record read in one pass, driven by the config's
 * pointers (see jfast.h).
 *
 * Why it exists: jansson builds a tree of every record, an allocation per
 * value, and the pointers then look the fields up in it; in a profile of
 * a large JSON Lines group-by that was most of the provider's time.  Here
 * the pointers are compiled once into a tree of the paths they take (a
 * trie: the root object, its keys, theirs), and a recursive descent walks
 * the record's bytes once beside it: a member whose key is on a path
 * follows it, any other value is only validated.  Strings are scanned
 * sixteen (SSE2) or eight bytes at a time for a quote, a backslash, a
 * control byte or a non-ASCII byte; they are unescaped only when a field
 * takes them.  Numbers' digits are read eight at a time, and a short
 * number (most are) from one word (jfast_num.h).  Records repeat their
 * keys' order: the key that came next in the previous record is compared
 * first, as bytes with its quotes and colon.
 *
 * Invariants: every byte of the record is checked against the grammar
 * jansson accepts (jfast.h) whether a field takes it or not, so a record
 * jansson would refuse is always declined; a field's value is set when
 * its value is met and cleared when a duplicate of a key on its path is
 * met (the last duplicate wins, with all it holds, as in jansson's tree).
 * Which JSON values the converters get is the file provider's rule:
 * string -> conv_text, integer -> conv_int, real -> conv_json_real,
 * true/false -> conv_bool, null -> NULL; a conversion that fails declines.
 */
#include "jfast.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jfast_num.h"
#include "jfast_str.h"

/* One step of a path: the member or element it names, and what is under. */
struct jfast_node {
	const char *key;      /* the reference token (into the pointer) */
	size_t len;
	long index;           /* as an array index, or -1 */
	uint64_t key8;        /* a key of at most 8 bytes, as a word */
	uint64_t mask8;       /* its bytes in that word (0: longer) */
	uint64_t qk[2];       /* '"' key '"' ':', as two words */
	uint64_t qm[2];       /* their bytes */
	int child;            /* first node under it, -1: none */
	int next;             /* its next sibling, -1: none */
	int guess;            /* the child of the first key on a path in
				 the last record's object here, -1: none */
	int after;            /* the sibling on a path that came after it
				 there, -1: none (records repeat their
				 keys' order: the guess is mostly right) */
	int field0, nfield;   /* fields found here: jf->fields[field0..] */
	int one, one_type;    /* the only field found here and its type,
				 or -1 (none, or more than one) */
	int sub0, nsub;       /* fields found here or under it */
};

/* Reading one record: what stays the same while its bytes are walked. */
struct rd {
	const unsigned char *end;
	unsigned char nl;         /* skip_ws()'s line feed */
	struct jfast *jf;
	struct rec_value *v;
	char (*scratch)[CONV_SCRATCH_MAX];
};

void jfast_free(struct jfast *jf)
{
	if (jf->text != NULL && jf->schema != NULL)
		for (int i = 0; i < jf->schema->nfields; i++)
			buf_free(&jf->text[i]);
	free(jf->text);
	free(jf->nodes);
	free(jf->fields);
	buf_free(&jf->key);
	memset(jf, 0, sizeof *jf);
}

/*
 * A key of printable ASCII without '"' or '\\' is, in a record, the bytes
 * '"' key '"' or another key: such a key of up to 13 bytes is compared
 * with its quotes and the colon of compact JSON as two words, and its
 * string needs no scan at all (the bytes it matches are a valid JSON
 * string jansson reads as the key, and its colon).
 */
static void plan_quoted(struct jfast_node *nd)
{
	unsigned char q[16] = { 0 };
	size_t n = nd->len + 3;

	/* A key not compared so: its first byte, '"' in a record, is
	 * compared with 0, which never matches. */
	q[0] = 0xFF;
	memcpy(nd->qm, q, 16);
	memset(q, 0, sizeof q);
	if (nd->len > 13)
		return;
	for (size_t i = 0; i < nd->len; i++)
		if ((unsigned char)nd->key[i] < 0x20 ||
		    (unsigned char)nd->key[i] > 0x7E || nd->key[i] == '"' ||
		    nd->key[i] == '\\')
			return;
	q[0] = '"';
	memcpy(q + 1, nd->key, nd->len);
	q[n - 2] = '"';
	q[n - 1] = ':';
	memcpy(nd->qk, q, 16);
	memset(q, 0, sizeof q);
	memset(q, 0xFF, n);
	memcpy(nd->qm, q, 16);
}

/* The child of node n for segment sg, added when add; -1 when not found. */
static int child_of(struct jfast *jf, int n, const struct jsonptr_seg *sg,
		    bool add)
{
	int k;

	for (k = jf->nodes[n].child; k >= 0; k = jf->nodes[k].next)
		if (jf->nodes[k].len == sg->len &&
		    memcmp(jf->nodes[k].key, sg->key, sg->len) == 0)
			return k;
	if (!add)
		return -1;
	k = jf->nnodes++;
	jf->nodes[k] = (struct jfast_node){
		.key = sg->key, .len = sg->len, .index = sg->index,
		.child = -1, .next = jf->nodes[n].child, .guess = -1,
		.after = -1,
	};
	jf->nodes[n].child = k;
	if (sg->len <= 8) {
		memcpy(&jf->nodes[k].key8, sg->key, sg->len);
		jf->nodes[k].mask8 = sg->len == 8 ? ~UINT64_C(0) :
				     (UINT64_C(1) << (8 * sg->len)) - 1;
	}
	plan_quoted(&jf->nodes[k]);
	return k;
}

int jfast_plan(struct jfast *jf, const struct rec_schema *s,
	       const struct jsonptr *ptrs)
{
	size_t cap = 1, nsub = 0;
	int i;

	jfast_free(jf);
	jf->schema = s;
	for (i = 0; i < s->nfields; i++) {
		if (ptrs[i].nseg == 0)
			return 0; /* the whole document into a field */
		cap += ptrs[i].nseg;
		nsub += ptrs[i].nseg;
	}
	jf->nodes = calloc(cap, sizeof *jf->nodes);
	jf->fields = malloc((nsub + (size_t)s->nfields + 1) * sizeof *jf->fields);
	jf->text = calloc((size_t)s->nfields + 1, sizeof *jf->text);
	if (jf->nodes == NULL || jf->fields == NULL || jf->text == NULL)
		return -1;
	jf->nodes[0] = (struct jfast_node){ .child = -1, .next = -1,
					    .index = -1, .guess = -1,
					    .after = -1 };
	jf->nnodes = 1;
	/* The tree, and how many fields each node ends and holds. */
	for (i = 0; i < s->nfields; i++) {
		int n = 0;

		for (size_t k = 0; k < ptrs[i].nseg; k++) {
			n = child_of(jf, n, &ptrs[i].seg[k], true);
			jf->nodes[n].nsub++;
		}
		jf->nodes[n].nfield++;
	}
	/* Each node's two lists, one after the other in jf->fields. */
	{
		int off = 0;

		for (int n = 0; n < jf->nnodes; n++) {
			jf->nodes[n].field0 = off;
			off += jf->nodes[n].nfield;
			jf->nodes[n].sub0 = off;
			off += jf->nodes[n].nsub;
			jf->nodes[n].nfield = jf->nodes[n].nsub = 0;
		}
	}
	for (i = 0; i < s->nfields; i++) {
		int n = 0;

		for (size_t k = 0; k < ptrs[i].nseg; k++) {
			struct jfast_node *nd;

			n = child_of(jf, n, &ptrs[i].seg[k], false);
			nd = &jf->nodes[n];
			jf->fields[nd->sub0 + nd->nsub++] = i;
		}
		jf->fields[jf->nodes[n].field0 + jf->nodes[n].nfield++] = i;
	}
	for (int n = 0; n < jf->nnodes; n++) {
		struct jfast_node *nd = &jf->nodes[n];

		nd->one = nd->nfield == 1 ? jf->fields[nd->field0] : -1;
		nd->one_type = nd->one >= 0 ? (int)s->fields[nd->one].type : -1;
	}
	jf->on = true;
	return 0;
}

/* --- the grammar ---------------------------------------------------------- */

/*
 * The walk threads its position through the calls (each takes p and
 * returns where it stopped, NULL: not JSON jansson takes), so that it
 * stays in a register rather than in memory.
 */

/* Past the blanks at p; nl: '\n', or ' ' where a line feed ends the text. */
static inline const unsigned char *skip_ws(const unsigned char *p,
					   const unsigned char *end,
					   unsigned char nl)
{
	/* Mostly there is none: one compare says so. */
	if (__builtin_expect(p < end && *p > ' ', 1))
		return p;
	while (p < end && *p <= ' ' &&
	       (*p == ' ' || *p == nl || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

/*
 * strtod of s[0..n), as jansson's: -1 when it overflows (underflow is
 * taken), or declined (too long to copy).
 */
static int read_strtod(struct jfast *jf, const unsigned char *s, size_t n,
		       double *d)
{
	locale_t c = conv_c_locale();

	if (n > JFAST_NUMBER_MAX)
		return -1;
	memcpy(jf->num, s, n);
	jf->num[n] = '\0';
	*d = c != (locale_t)0 ? strtod_l(jf->num, NULL, c)
			      : strtod(jf->num, NULL);
	return isinf(*d) ? -1 : 0;
}

/*
 * The number at p, its value in *out when want (else only checked, for
 * jansson refuses integers out of int64_t and reals out of double's range
 * wherever they are).  Past it, or NULL: not one jansson takes.
 */
static inline __attribute__((always_inline)) const unsigned char *
number(struct rd *r, const unsigned char *p, struct num *out, bool want)
{
	const unsigned char *end = r->end, *start = p;
	bool neg = false;
	uint64_t m = 0;
	int sig = 0, intdig = 0, frac = 0, esign = 1;
	long ev = 0;

	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	if (p >= end)
		return NULL;
#ifdef JF_WORDS
	if (end - p >= 8) {
		const unsigned char *q = word_number(p, neg, out, want);

		if (q != NULL)
			return q;
	}
#endif
	if (*p == '0') {
		p++;
		intdig = 1;
		if (p < end && *p >= '0' && *p <= '9')
			return NULL;
	} else if (*p >= '1' && *p <= '9') {
		/* m wraps past 19 digits, when sig says it is not exact. */
		p = digits(p, end, &m);
		intdig = (int)(p - start) - neg;
		sig = intdig > 19 ? 20 : intdig;
	} else {
		return NULL;
	}
	if (p >= end || (*p != '.' && *p != 'e' && *p != 'E')) {
		/* An integer: strtoll's range or jansson's overflow error. */
		if (sig > 19 || m > (uint64_t)INT64_MAX + neg)
			return NULL;
		out->real = false;
		out->i = neg ? (int64_t)(0 - m) : (int64_t)m;
		return p;
	}
	if (*p == '.') {
		const unsigned char *f0 = ++p, *d0;

		if (p >= end || *p < '0' || *p > '9')
			return NULL;
		if (sig == 0) /* leading zeros: not significant */
			while (p < end && *p == '0')
				p++;
		d0 = p;
		p = digits(p, end, &m);
		frac = (int)(p - f0);
		sig = sig + (p - d0) > 19 ? 20 : sig + (int)(p - d0);
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			esign = *p++ == '-' ? -1 : 1;
		if (p >= end || *p < '0' || *p > '9')
			return NULL;
		for (; p < end && *p >= '0' && *p <= '9'; p++)
			if (ev < 100000)
				ev = ev * 10 + (*p - '0');
	}
	out->real = true;
	if (want) {
		if (sig <= 19 &&
		    conv_float_exact(m, (int)(esign * ev) - frac, &out->d)) {
			if (neg)
				out->d = -out->d;
			return p;
		}
		return read_strtod(r->jf, start, (size_t)(p - start),
				   &out->d) < 0 ? NULL : p;
	}
	/* Only checked: only a big positive power may overflow. */
	if ((esign > 0 ? ev : 0) + intdig > 300 &&
	    read_strtod(r->jf, start, (size_t)(p - start), &out->d) < 0)
		return NULL;
	return p;
}

/* --- values into fields --------------------------------------------------- */

static void clear_sub(struct rd *r, const struct jfast_node *nd)
{
	for (int k = 0; k < nd->nsub; k++)
		r->v[r->jf->fields[nd->sub0 + k]].null = true;
}

static inline __attribute__((always_inline)) int
put_string(struct rd *r, const struct jfast_node *nd, const unsigned char *s,
	   size_t n, bool esc)
{
	const int *fl = r->jf->fields + nd->field0;
	char why[CONV_REASON_MAX];

	/* The commonest: one text field, nothing to unescape. */
	if (nd->one_type == REC_TEXT && !esc) {
		struct rec_value *v = &r->v[nd->one];

		v->null = false;
		v->u.s.p = (const char *)s;
		v->u.s.len = (uint32_t)n;
		return 0;
	}
	if (esc) {
		struct buf *b = &r->jf->text[fl[0]];

		if (unescape(b, s, n) < 0)
			return -1;
		s = b->p;
		n = b->len;
	}
	for (int k = 0; k < nd->nfield; k++) {
		const struct rec_field *f = &r->jf->schema->fields[fl[k]];
		struct rec_value *v = &r->v[fl[k]];

		if (f->type == REC_TEXT) {
			/* Valid UTF-8 without NUL: scan_string checked. */
			v->null = false;
			v->u.s.p = (const char *)s;
			v->u.s.len = (uint32_t)n;
		} else if (conv_text(f, (const char *)s, n, v, why,
				     sizeof why) < 0) {
			return -1;
		}
	}
	return 0;
}

/* A number, true or false (kind 'n', 't', 'f') or null ('0') into fields. */
static inline __attribute__((always_inline)) int
put_scalar(struct rd *r, const struct jfast_node *nd, int kind,
	   const struct num *x)
{
	const int *fl = r->jf->fields + nd->field0;
	char why[CONV_REASON_MAX];

	/* The commonest: one field, conv_int's and conv_float's commonest
	 * cases, in line. */
	if (kind == 'n' && nd->one_type == REC_INT && !x->real) {
		r->v[nd->one].null = false;
		r->v[nd->one].u.i = x->i;
		return 0;
	}
	/* number() gives only finite reals (it declines an overflow), so no
	 * branch waits here for the division that made x->d. */
	if (kind == 'n' && nd->one_type == REC_FLOAT) {
		r->v[nd->one].null = false;
		r->v[nd->one].u.f = x->real ? x->d : (double)x->i;
		return 0;
	}
	for (int k = 0; k < nd->nfield; k++) {
		int i = fl[k], rc = 0;
		const struct rec_field *f = &r->jf->schema->fields[i];
		struct rec_value *v = &r->v[i];

		if (kind == '0')
			v->null = true;
		else if (kind != 'n')
			rc = conv_bool(f, kind == 't', v, why, sizeof why);
		else if (x->real)
			rc = conv_json_real(f, x->d, v, r->scratch[i], why,
					    sizeof why);
		else
			rc = conv_int(f, x->i, v, r->scratch[i], why,
				      sizeof why);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* --- the descent ---------------------------------------------------------- */

static const unsigned char *value(struct rd *r, const unsigned char *p,
				  int node, int depth);
static const unsigned char *object(struct rd *r, const unsigned char *p,
				   int node, int depth);
static const unsigned char *array(struct rd *r, const unsigned char *p,
				  int node, int depth);

/* Past the literal word[0..n) at p, or NULL. */
static inline const unsigned char *literal(const unsigned char *p,
					   const unsigned char *end,
					   const char *word, size_t n)
{
	if ((size_t)(end - p) < n || memcmp(p, word, n) != 0)
		return NULL;
	return p + n;
}

/*
 * The value at p (no blank before it, depth not too deep for it); node:
 * where it is, or -1, and nd that node, or NULL.  Inlined into the
 * members' loop, where most values are, so that a string or a number
 * costs no call.
 */
static inline __attribute__((always_inline)) const unsigned char *
member_value(struct rd *r, const unsigned char *p, int node,
	     const struct jfast_node *nd, int depth)
{
	bool want = nd != NULL && nd->nfield > 0;
	const unsigned char *s, *end = r->end;
	struct num x;
	size_t n;
	bool esc;
	int kind;

	if (p >= end)
		return NULL;
	switch (*p) {
	case '{':
		/* Into a field it would be jansson's compact text. */
		if (want)
			return NULL;
		return object(r, p + 1, nd != NULL && nd->child >= 0 ? node : -1,
			      depth);
	case '[':
		if (want)
			return NULL;
		return array(r, p + 1, nd != NULL && nd->child >= 0 ? node : -1,
			     depth);
	case '"':
		p = scan_string(p + 1, end, &s, &n, &esc);
		if (p == NULL || (want && put_string(r, nd, s, n, esc) < 0))
			return NULL;
		return p;
	case 't':
		p = literal(p, end, "true", 4);
		kind = 't';
		break;
	case 'f':
		p = literal(p, end, "false", 5);
		kind = 'f';
		break;
	case 'n':
		p = literal(p, end, "null", 4);
		kind = '0';
		break;
	default:
		p = number(r, p, &x, want);
		kind = 'n';
		break;
	}
	if (p == NULL || (want && put_scalar(r, nd, kind, &x) < 0))
		return NULL;
	return p;
}

/*
 * Is node c's key s[0..n)?  wide: 8 bytes may be read at s.  Keys are
 * short: a word compare, else a loop, beats memcmp's call.
 */
static inline bool key_is(const struct jfast_node *c, const unsigned char *s,
			  size_t n, bool wide)
{
	size_t i = 0;

	if (c->len != n)
		return false;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (wide && c->mask8 != 0) {
		uint64_t w;

		memcpy(&w, s, 8);
		return (w & c->mask8) == c->key8;
	}
#else
	(void)wide;
#endif
	while (i < n && (unsigned char)c->key[i] == s[i])
		i++;
	return i == n;
}

/*
 * The child of node for key s[0..n) (escaped when esc), -1, or -2: no
 * memory.  guess is tried first.
 */
static inline int key_child(struct rd *r, int node, int guess,
			    const unsigned char *s, size_t n, bool esc)
{
	struct jfast *jf = r->jf;
	bool wide = r->end - s >= 8;

	if (esc) {
		if (unescape(&jf->key, s, n) < 0)
			return -2;
		s = jf->key.p;
		n = jf->key.len;
		wide = false;
	}
	if (guess >= 0 && key_is(&jf->nodes[guess], s, n, wide))
		return guess;
	for (int k = jf->nodes[node].child; k >= 0; k = jf->nodes[k].next)
		if (key_is(&jf->nodes[k], s, n, wide))
			return k;
	return -1;
}

/*
 * Is p (a member's opening quote) node c's key and colon, as
 * plan_quoted() has them?
 */
static inline bool quoted_is(const struct jfast_node *c,
			     const unsigned char *p, const unsigned char *end)
{
	uint64_t w[2];

	if (end - p >= 16) {
		memcpy(w, p, 16);
		return ((w[0] & c->qm[0]) ^ c->qk[0]) == 0 &&
		       ((w[1] & c->qm[1]) ^ c->qk[1]) == 0;
	}
	return c->len <= 13 && (size_t)(end - p) >= c->len + 3 &&
	       memcmp(p, c->qk, c->len + 3) == 0;
}

/*
 * The member's key at p (its opening quote), its colon and the blanks
 * around them: past the colon, or NULL.  *child: the key's child of node
 * (-1: none or node -1), guess tried first.
 */
static inline const unsigned char *member_key(struct rd *r,
					      const unsigned char *p,
					      int node, int guess, int *child)
{
	const unsigned char *s, *end = r->end;
	size_t n;
	bool esc;

	p = scan_string(p + 1, end, &s, &n, &esc);
	if (p == NULL)
		return NULL;
	*child = -1;
	if (node >= 0) {
		*child = key_child(r, node, guess, s, n, esc);
		if (*child == -2)
			return NULL;
	}
	/* Compact JSON first: the blanks only when there are. */
	if (p >= end || *p != ':') {
		p = skip_ws(p, end, r->nl);
		if (p >= end || *p != ':')
			return NULL;
	}
	return p + 1;
}

/* The object after its '{' at p; node: its place on the paths, or -1. */
static const unsigned char *object(struct rd *r, const unsigned char *p,
				   int node, int depth)
{
	const unsigned char *end = r->end;
	struct jfast_node *nodes = r->jf->nodes;
	/* The key expected next: the one that followed the last key met
	 * on a path in the previous record (at first, its first one). */
	int *hint = node >= 0 ? &nodes[node].guess : NULL;

	p = skip_ws(p, end, r->nl);
	if (p < end && *p == '}')
		return p + 1;
	/* Any member's value here would be too deep. */
	if (depth >= JFAST_MAX_DEPTH)
		return NULL;
	for (;;) {
		struct jfast_node *cn = NULL;
		int child = -1;

		/* Compact JSON first: the blanks only when there are. */
		if (p < end && *p != '"')
			p = skip_ws(p, end, r->nl);
		if (p >= end || *p != '"')
			return NULL;
		if (node >= 0) {
			if (*hint >= 0 && quoted_is(&nodes[*hint], p, end)) {
				child = *hint;
				cn = &nodes[child];
				p += cn->len + 3;
			} else {
				p = member_key(r, p, node, *hint, &child);
				if (p == NULL)
					return NULL;
				cn = child >= 0 ? &nodes[child] : NULL;
			}
			if (cn != NULL) {
				*hint = child;
				hint = &cn->after;
				/* A field ending here is set (or the record
				 * declined) by its value; only deeper ones
				 * need clearing. */
				if (cn->child >= 0)
					clear_sub(r, cn);
			}
		} else {
			p = member_key(r, p, -1, -1, &child);
			if (p == NULL)
				return NULL;
		}
		p = skip_ws(p, end, r->nl);
		p = member_value(r, p, child, cn, depth + 1);
		if (p == NULL || p >= end)
			return NULL;
		if (*p != ',' && *p != '}') {
			p = skip_ws(p, end, r->nl);
			if (p >= end)
				return NULL;
		}
		if (*p == '}')
			return p + 1;
		if (*p != ',')
			return NULL;
		p++;
	}
}

/* The array after its '[' at p; node: its place on the paths, or -1. */
static const unsigned char *array(struct rd *r, const unsigned char *p,
				  int node, int depth)
{
	const unsigned char *end = r->end;
	long idx = 0;

	p = skip_ws(p, end, r->nl);
	if (p < end && *p == ']')
		return p + 1;
	for (;; idx++) {
		int child = -1;

		if (node >= 0)
			for (int k = r->jf->nodes[node].child; k >= 0;
			     k = r->jf->nodes[k].next)
				if (r->jf->nodes[k].index == idx)
					child = k;
		p = value(r, p, child, depth + 1);
		if (p == NULL)
			return NULL;
		p = skip_ws(p, end, r->nl);
		if (p >= end)
			return NULL;
		if (*p == ']')
			return p + 1;
		if (*p != ',')
			return NULL;
		p = skip_ws(p + 1, end, r->nl);
	}
}

/* The value at p (no blank before it); node: where it is, or -1. */
static const unsigned char *value(struct rd *r, const unsigned char *p,
				  int node, int depth)
{
	if (depth > JFAST_MAX_DEPTH)
		return NULL;
	return member_value(r, p, node, node >= 0 ? &r->jf->nodes[node] : NULL,
			    depth);
}

/*
 * The object at p[0..end) into v: past it, or NULL (declined).  nl: '\n',
 * or ' ' to take no line feed anywhere (jfast_line).
 */
static inline const unsigned char *
record_at(struct jfast *jf, const char *p, const char *end,
	  struct rec_value *v, char (*scratch)[CONV_SCRATCH_MAX],
	  unsigned char nl)
{
	struct rd r = {
		.end = (const unsigned char *)end, .nl = nl,
		.jf = jf, .v = v, .scratch = scratch,
	};
	const unsigned char *at = (const unsigned char *)p;
	int nf = jf->schema->nfields;

	for (int i = 0; i < nf; i++)
		v[i].null = true;
	at = skip_ws(at, r.end, nl);
	if (at >= r.end || *at != '{')
		return NULL;
	return object(&r, at + 1, jf->nodes[0].child >= 0 ? 0 : -1, 1);
}

int jfast_record(struct jfast *jf, const char *p, size_t len,
		 struct rec_value *v, char (*scratch)[CONV_SCRATCH_MAX])
{
	const unsigned char *end = (const unsigned char *)p + len;
	const unsigned char *at;

	jf->tries++;
	at = record_at(jf, p, p + len, v, scratch, '\n');
	if (at == NULL || skip_ws(at, end, '\n') != end) {
		jf->declines++;
		return 0;
	}
	return 1;
}

int jfast_line(struct jfast *jf, const char *p, size_t avail,
	       struct rec_value *v, char (*scratch)[CONV_SCRATCH_MAX],
	       size_t *len)
{
	const unsigned char *end = (const unsigned char *)p + avail;
	const unsigned char *at = record_at(jf, p, p + avail, v, scratch, ' ');

	if (at == NULL)
		return 0;
	/* Mostly the line feed at once; else blanks (a CR among them) first. */
	if (at >= end || *at != '\n') {
		at = skip_ws(at, end, ' ');
		if (at >= end || *at != '\n')
			return 0;
	}
	jf->tries++;
	*len = (size_t)(at - (const unsigned char *)p);
	return 1;
}

int jfast_object(struct jfast *jf, const char *p, size_t avail,
		 struct rec_value *v, char (*scratch)[CONV_SCRATCH_MAX],
		 size_t *len)
{
	const unsigned char *at;

	jf->tries++;
	if (avail == 0 || *p != '{') {
		jf->declines++;
		return 0;
	}
	at = record_at(jf, p, p + avail, v, scratch, '\n');
	if (at == NULL) {
		jf->declines++;
		return 0;
	}
	*len = (size_t)(at - (const unsigned char *)p);
	return 1;
}
