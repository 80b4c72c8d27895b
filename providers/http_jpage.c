/*
 * http_jpage.c - a JSON page checked and its records array found in one
 * pass (http_jpage.h).
 *
 * Recursive descent over the body held in memory, one function per kind
 * of value, each leaving s->i just past what it read and returning false
 * for anything it does not take (the caller then hands the body to
 * jansson).  The grammar is RFC 8259 as jansson reads it: numbers as
 * jansson's lexer cuts them ("01", "1.", ".5", "+1" are errors), literals
 * exactly true, false and null, whitespace space, tab, CR and LF, one
 * value (an object or an array) and nothing after it but whitespace.
 *
 * The pointers: a value is on a pointer's way when it is the candidate for
 * the pointer's first d tokens (d its depth: the root is the candidate
 * for none).  A new candidate for any prefix drops what an earlier one
 * found: in jansson's tree a later duplicate key replaces the earlier
 * member with all it holds, so the last candidate is the one resolved.
 */
#include "http_jpage.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/convert.h"
#include "jtext.h"

enum { T_RECS, T_CUR, T_N };

struct found {
	const struct jsonptr *ptr;  /* NULL: not looked for */
	bool found;
	unsigned char first;        /* the value's first byte */
	size_t off, end;
};

struct scan {
	const unsigned char *p;
	size_t n, i;
	struct found t[T_N];
	struct buf *spans;
	bool nomem;
};

/* Bytes a string holds as they are: printable ASCII but '"' and '\'. */
static const bool plain[256] = {
	[0x20 ... 0x21] = true, [0x23 ... 0x5b] = true, [0x5d ... 0x7f] = true,
};

/* The index of the first byte at or after i that is not whitespace. */
static inline size_t skip_ws(const unsigned char *p, size_t n, size_t i)
{
	while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' ||
			 p[i] == '\t'))
		i++;
	return i;
}

static inline void ws(struct scan *s)
{
	s->i = skip_ws(s->p, s->n, s->i);
}

static inline bool at(const struct scan *s, unsigned char c)
{
	return s->i < s->n && s->p[s->i] == c;
}

static inline bool is_digit(const unsigned char *p, size_t n, size_t i)
{
	return i < n && p[i] >= '0' && p[i] <= '9';
}

/* \uXXXX at p[0..n) (p[0] is the backslash): its code unit, or -1. */
static long escape_unit(const unsigned char *p, size_t n)
{
	if (n < 6 || p[0] != '\\' || p[1] != 'u')
		return -1;
	return jtext_hex4(p + 2);
}

/*
 * The string whose '"' is p[i]: the index past its closing quote, or 0.
 * *esc: it holds an escape.
 */
static size_t string_end(const unsigned char *p, size_t n, size_t i,
			 bool *esc)
{
	for (i++;;) {
		while (i < n && plain[p[i]])
			i++;
		if (i >= n)
			return 0;
		if (p[i] == '"')
			return i + 1;
		if (p[i] == '\\') {
			long u, lo;

			*esc = true;
			if (i + 1 >= n)
				return 0;
			switch (p[i + 1]) {
			case '"': case '\\': case '/': case 'b': case 'f':
			case 'n': case 'r': case 't':
				i += 2;
				continue;
			case 'u':
				break;
			default:
				return 0;
			}
			/* "\u0000" and lone surrogates: left to jansson. */
			u = escape_unit(p + i, n - i);
			if (u <= 0 || (u >= 0xDC00 && u <= 0xDFFF))
				return 0;
			i += 6;
			if (u >= 0xD800 && u <= 0xDBFF) {
				lo = escape_unit(p + i, n - i);
				if (lo < 0xDC00 || lo > 0xDFFF)
					return 0;
				i += 6;
			}
			continue;
		}
		if (p[i] < 0x20)
			return 0;
		{
			size_t len = conv_utf8_seq(p + i, n - i);

			if (len == 0)
				return 0;
			i += len;
		}
	}
}

/* Could the real p[st..end) overflow a double?  strtod says. */
static bool real_fits(const unsigned char *p, size_t st, size_t end)
{
	char num[400];
	size_t len = end - st;

	if (len >= sizeof num)
		return false;
	memcpy(num, p + st, len);
	num[len] = '\0';
	return !isinf(strtod(num, NULL));
}

/*
 * The number at p[i] as jansson reads it: the index past it, or 0.  An
 * integer (no fraction, no exponent) must fit int64_t, a real must not
 * overflow a double (underflow is fine).
 */
static size_t number_end(const unsigned char *p, size_t n, size_t i)
{
	size_t st = i, intd;
	bool real = false, neg = p[i] == '-';
	long e = 0;

	i += neg;
	if (!is_digit(p, n, i))
		return 0;
	if (p[i] == '0')
		i++;
	else
		while (is_digit(p, n, i))
			i++;
	intd = i - st - neg;
	if (i < n && p[i] == '.') {
		i++;
		if (!is_digit(p, n, i))
			return 0;
		while (is_digit(p, n, i))
			i++;
		real = true;
	}
	if (i < n && (p[i] | 0x20) == 'e') {
		bool eneg = false;

		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			eneg = p[i++] == '-';
		if (!is_digit(p, n, i))
			return 0;
		while (is_digit(p, n, i)) {
			if (e < 100000)
				e = e * 10 + (p[i] - '0');
			i++;
		}
		if (eneg)
			e = -e;
		real = true;
	}
	if (!real) {
		/* int64_t: up to 9223372036854775807, -9223372036854775808 */
		if (intd < 19 ||
		    (intd == 19 &&
		     memcmp(p + st + neg, neg ? "9223372036854775808" :
			    "9223372036854775807", 19) <= 0))
			return i;
		return 0;
	}
	/* Below 10^(intd + e): no overflow up to 10^300. */
	if ((long)intd + e > 300 && !real_fits(p, st, i))
		return 0;
	return i;
}

/* The literal lit (len bytes) at p[i]: the index past it, or 0. */
static inline size_t literal_end(const unsigned char *p, size_t n, size_t i,
				 const char *lit, size_t len)
{
	if (n - i < len || memcmp(p + i, lit, len) != 0)
		return 0;
	return i + len;
}

/*
 * A value at depth d off every pointer's way, p[i] its first byte (i < n):
 * the index past it, or 0.  Most of a page is read here.
 */
static size_t skip_value(const unsigned char *p, size_t n, size_t i,
			 size_t d)
{
	bool esc;

	switch (p[i]) {
	case '"':
		return string_end(p, n, i, &esc);
	case '{':
		if (d + 1 > HTTP_JPAGE_MAX_DEPTH)
			return 0;
		i = skip_ws(p, n, i + 1);
		if (i < n && p[i] == '}')
			return i + 1;
		for (;;) {
			if (i >= n || p[i] != '"' ||
			    (i = string_end(p, n, i, &esc)) == 0)
				return 0;
			i = skip_ws(p, n, i);
			if (i >= n || p[i] != ':')
				return 0;
			i = skip_ws(p, n, i + 1);
			if (i >= n || (i = skip_value(p, n, i, d + 1)) == 0)
				return 0;
			i = skip_ws(p, n, i);
			if (i < n && p[i] == '}')
				return i + 1;
			if (i >= n || p[i] != ',')
				return 0;
			i = skip_ws(p, n, i + 1);
		}
	case '[':
		if (d + 1 > HTTP_JPAGE_MAX_DEPTH)
			return 0;
		i = skip_ws(p, n, i + 1);
		if (i < n && p[i] == ']')
			return i + 1;
		for (;;) {
			if (i >= n || (i = skip_value(p, n, i, d + 1)) == 0)
				return 0;
			i = skip_ws(p, n, i);
			if (i < n && p[i] == ']')
				return i + 1;
			if (i >= n || p[i] != ',')
				return 0;
			i = skip_ws(p, n, i + 1);
		}
	case 't':
		return literal_end(p, n, i, "true", 4);
	case 'f':
		return literal_end(p, n, i, "false", 5);
	case 'n':
		return literal_end(p, n, i, "null", 4);
	default:
		return number_end(p, n, i);
	}
}

static bool value(struct scan *s, size_t d, unsigned on);

/* An object at depth d; on: the pointers it is on the way of. */
static bool object(struct scan *s, size_t d, unsigned on)
{
	if (d + 1 > HTTP_JPAGE_MAX_DEPTH)
		return false;
	s->i++;
	ws(s);
	if (at(s, '}')) {
		s->i++;
		return true;
	}
	for (;;) {
		size_t k0 = s->i + 1;
		unsigned child = 0;
		bool esc = false;

		if (!at(s, '"') ||
		    (s->i = string_end(s->p, s->n, s->i, &esc)) == 0)
			return false;
		for (int t = 0; t < T_N; t++) {
			const struct jsonptr_seg *sg;

			if (!(on & 1u << t))
				continue;
			/* Escapes in a name on the way: jansson's to compare. */
			if (esc)
				return false;
			sg = &s->t[t].ptr->seg[d];
			if (sg->len == s->i - 1 - k0 &&
			    memcmp(sg->key, s->p + k0, sg->len) == 0)
				child |= 1u << t;
		}
		ws(s);
		if (!at(s, ':'))
			return false;
		s->i++;
		ws(s);
		if (!value(s, d + 1, child))
			return false;
		ws(s);
		if (at(s, '}')) {
			s->i++;
			return true;
		}
		if (!at(s, ','))
			return false;
		s->i++;
		ws(s);
	}
}

/* An array at depth d; recs: it is the records array. */
static bool array(struct scan *s, size_t d, unsigned on, bool recs)
{
	long idx = 0;

	if (d + 1 > HTTP_JPAGE_MAX_DEPTH)
		return false;
	s->i++;
	ws(s);
	if (at(s, ']')) {
		s->i++;
		return true;
	}
	for (;; idx++) {
		size_t st = s->i;
		unsigned child = 0;

		for (int t = 0; t < T_N; t++)
			if ((on & 1u << t) && s->t[t].ptr->seg[d].index == idx)
				child |= 1u << t;
		if (child == 0) {
			/* The records' elements: off every pointer's way. */
			if (s->i >= s->n ||
			    (s->i = skip_value(s->p, s->n, s->i, d + 1)) == 0)
				return false;
		} else if (!value(s, d + 1, child)) {
			return false;
		}
		if (recs) {
			size_t sp[2] = { st, s->i };

			if (buf_add(s->spans, sp, sizeof sp) < 0) {
				s->nomem = true;
				return false;
			}
		}
		ws(s);
		if (at(s, ']')) {
			s->i++;
			return true;
		}
		if (!at(s, ','))
			return false;
		s->i++;
		ws(s);
	}
}

/*
 * A value at depth d, s->p[s->i] its first byte; on: the pointers it is
 * the candidate of (for their first d tokens).
 */
static bool value(struct scan *s, size_t d, unsigned on)
{
	size_t st = s->i;
	unsigned target = 0, deeper = 0;
	bool ok;

	if (s->i >= s->n)
		return false;
	if (on == 0)
		return (s->i = skip_value(s->p, s->n, s->i, d)) != 0;
	for (int t = 0; t < T_N; t++) {
		if (!(on & 1u << t))
			continue;
		s->t[t].found = false;
		if (t == T_RECS)
			s->spans->len = 0;
		if (d == s->t[t].ptr->nseg)
			target |= 1u << t;
		else
			deeper |= 1u << t;
	}
	switch (s->p[s->i]) {
	case '{':
		ok = object(s, d, deeper);
		break;
	case '[':
		ok = array(s, d, deeper, target & 1u << T_RECS);
		break;
	default:
		ok = (s->i = skip_value(s->p, s->n, s->i, d)) != 0;
		break;
	}
	if (!ok)
		return false;
	for (int t = 0; t < T_N; t++) {
		if (!(target & 1u << t))
			continue;
		s->t[t].found = true;
		s->t[t].first = s->p[st];
		s->t[t].off = st;
		s->t[t].end = s->i;
	}
	return true;
}

int http_jpage_scan(const char *p, size_t n, const struct jsonptr *recs,
		    const struct jsonptr *cur, struct http_jpage *out)
{
	struct scan s = { .p = (const unsigned char *)p, .n = n };
	const struct found *r = &s.t[T_RECS];
	unsigned on = 1u << T_RECS;

	if (recs->nseg > HTTP_JPAGE_MAX_SEG ||
	    (cur != NULL && cur->nseg > HTTP_JPAGE_MAX_SEG))
		return 0;
	s.spans = out->spans;
	s.spans->len = 0;
	s.t[T_RECS].ptr = recs;
	s.t[T_CUR].ptr = cur;
	if (cur != NULL)
		on |= 1u << T_CUR;
	ws(&s);
	/* jansson wants an object or an array at the top. */
	if (!at(&s, '{') && !at(&s, '['))
		return 0;
	if (!value(&s, 0, on))
		return s.nomem ? -1 : 0;
	ws(&s);
	if (s.i != n || !r->found || (r->first != '[' && r->first != 'n'))
		return 0;
	out->nrecords = r->first == 'n' ? 0 :
			s.spans->len / (2 * sizeof(size_t));
	out->cur_found = cur != NULL && s.t[T_CUR].found;
	out->cur_off = s.t[T_CUR].off;
	out->cur_len = s.t[T_CUR].end - s.t[T_CUR].off;
	return 1;
}
