/*
 * jfast_str.h - the one-pass JSON reader's strings (jfast.c): a string
 * scanned for its end as jansson would take it (escapes, UTF-8, no control
 * bytes), sixteen (SSE2) or eight bytes at a time between the bytes that
 * need a look, and unescaped into a buffer only when a field takes it.
 * Apart from the walk of the record so that each part reads on its own;
 * static inline because the members' loop needs scan_string() inlined.
 */
#ifndef AGG_JFAST_STR_H
#define AGG_JFAST_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "../common/buf.h"
#include "../common/convert.h"
#include "../common/swar.h"
#include "jtext.h"

/* The word tests' constants, as csvfast_read.h names them. */
#define LO SWAR_ONES
#define HI SWAR_HIGHS

/* The length of the escape at s (s[0] is '\'), or 0 when jansson refuses it. */
static inline size_t escape_len(const unsigned char *s, const unsigned char *end)
{
	int cp, lo;

	if (end - s < 2)
		return 0;
	switch (s[1]) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r':
	case 't':
		return 2;
	case 'u':
		break;
	default:
		return 0;
	}
	if (end - s < 6 || (cp = jtext_hex4(s + 2)) < 0 || cp == 0)
		return 0;
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return 0;
	if (cp < 0xD800 || cp > 0xDBFF)
		return 6;
	if (end - s < 12 || s[6] != '\\' || s[7] != 'u' ||
	    (lo = jtext_hex4(s + 8)) < 0xDC00 || lo > 0xDFFF)
		return 0;
	return 12;
}

/*
 * The string whose opening quote is just before p: its raw bytes
 * s[0..*n) and whether they hold an escape.  Past its closing quote, or
 * NULL: not a string jansson takes.
 */
static inline __attribute__((always_inline)) const unsigned char *
scan_string(const unsigned char *p,
					const unsigned char *end,
					const unsigned char **s, size_t *n,
					bool *esc)
{
	bool e = false;

	*s = p;
	for (;;) {
		size_t k;

#ifdef __SSE2__
		/* Sixteen bytes at a time (x86-64's baseline): as signed
		 * bytes, those below 0x20 are the control bytes and the
		 * non-ASCII ones. */
		while (end - p >= 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)p);
			__m128i hit = _mm_or_si128(
				_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
					     _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
				_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
			unsigned m = (unsigned)_mm_movemask_epi8(hit);

			if (m != 0) {
				p += __builtin_ctz(m);
				goto stop;
			}
			p += 16;
		}
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		while (end - p >= 8) {
			uint64_t w, q, b, ctl;

			memcpy(&w, p, 8);
			q = w ^ (LO * '"');
			b = w ^ (LO * '\\');
			q = (q - LO) & ~q;
			b = (b - LO) & ~b;
			ctl = w - LO * 0x20;
			/* The lowest flag of each is exact: a borrow only
			 * flags bytes above a flagged one. */
			w = ((q | b | ctl) & ~w & HI) | (w & HI);
			if (w != 0) {
				p += __builtin_ctzll(w) / 8;
				break;
			}
			p += 8;
		}
#endif
#ifdef __SSE2__
stop:
#endif
		if (p >= end)
			return NULL;
		if (*p == '"')
			break;
		if (*p == '\\') {
			e = true;
			k = escape_len(p, end);
		} else if (*p < 0x20) {
			return NULL;
		} else if (*p < 0x80) {
			k = 1;
		} else {
			k = conv_utf8_seq(p, (size_t)(end - p));
		}
		if (k == 0)
			return NULL;
		p += k;
	}
	*n = (size_t)(p - *s);
	*esc = e;
	return p + 1;
}

/*
 * The string s[0..n) (scan_string() took it) unescaped into b, which it
 * replaces: never longer than s.  0, or -1 on no memory.
 */
static inline int unescape(struct buf *b, const unsigned char *s, size_t n)
{
	unsigned char *o;
	size_t i = 0;

	b->len = 0;
	if (buf_reserve(b, n) < 0)
		return -1;
	o = b->p;
	while (i < n) {
		const unsigned char *bs = memchr(s + i, '\\', n - i);
		size_t run = bs ? (size_t)(bs - (s + i)) : n - i;
		unsigned cp;

		memcpy(o, s + i, run);
		o += run;
		i += run;
		if (i >= n)
			break;
		switch (s[i + 1]) {
		case 'b': *o++ = '\b'; i += 2; continue;
		case 'f': *o++ = '\f'; i += 2; continue;
		case 'n': *o++ = '\n'; i += 2; continue;
		case 'r': *o++ = '\r'; i += 2; continue;
		case 't': *o++ = '\t'; i += 2; continue;
		case 'u': break;
		default: *o++ = s[i + 1]; i += 2; continue;
		}
		cp = (unsigned)jtext_hex4(s + i + 2);
		i += 6;
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			cp = 0x10000 + ((cp - 0xD800) << 10) +
			     ((unsigned)jtext_hex4(s + i + 2) - 0xDC00);
			i += 6;
		}
		o = jtext_put_utf8(o, cp);
	}
	b->len = (size_t)(o - b->p);
	return 0;
}

#endif
