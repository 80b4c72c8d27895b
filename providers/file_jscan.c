/*
 * file_jscan.c - the streaming JSON array scanner (file_jscan.h).
 *
 * A pushdown automaton over bytes: one state for what may come next
 * (a value, a member name, a colon, a comma or a closing bracket, the
 * inside of a string or of a number or literal) and a stack of the open
 * containers' kinds.  It stops at each element's first and last byte, so
 * the caller can cut the element out of its read buffer.
 *
 * Invariants:
 *  - on <= depth: the containers at levels 0..on-1 are the ones the path
 *    passes through; a value at level d is on the path when on == d and
 *    the container's member name or index matches the path's token d-1;
 *  - in_target: the array is open at level arr_depth - 1, and the values
 *    that start at level arr_depth are its elements;
 *  - an error is sticky: feed and finish return it again.
 */
#include "file_jscan.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "jtext.h"

enum {
	ST_VALUE,  /* a value (or, when empty_ok, the end of the array) */
	ST_KEY,    /* a member name (or, when empty_ok, '}') */
	ST_COLON,
	ST_AFTER,  /* a comma or the end of the container; at level 0 the
		      end of the input */
	ST_STRING,
	ST_LITERAL,
	ST_ERROR,
};

void jscan_init(struct jscan *s, const struct jsonptr *path)
{
	memset(s, 0, offsetof(struct jscan, key));
	s->path = path;
	s->line = 1;
	s->st = ST_VALUE;
}

static enum jscan_event fail(struct jscan *s, const char *msg)
{
	snprintf(s->err, sizeof s->err, "%s", msg);
	s->err_line = s->line;
	s->st = ST_ERROR;
	return JSCAN_ERROR;
}

/* "WHAT 'c'", or "WHAT byte 0xNN" for a byte that does not print. */
static enum jscan_event fail_at(struct jscan *s, const char *what,
				unsigned char c)
{
	char m[120];

	if (c >= 0x20 && c < 0x7f)
		snprintf(m, sizeof m, "%s '%c'", what, c);
	else
		snprintf(m, sizeof m, "%s byte 0x%02x", what, c);
	return fail(s, m);
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_literal(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || c == '.' || c == '+' || c == '-';
}

/*
 * Does the member name in s->key (raw, between the quotes) equal token
 * t of the path once its escapes are undone?  Decodes in place: the
 * decoded form is never longer than the raw one.
 */
static bool key_matches(struct jscan *s, const struct jsonptr_seg *t)
{
	size_t i = 0, o = 0, n = s->keylen;
	char *k = s->key;
	unsigned char *u = (unsigned char *)k;

	if (s->key_long)
		return false;
	while (i < n) {
		if (k[i] != '\\') {
			k[o++] = k[i++];
			continue;
		}
		if (i + 1 >= n)
			return false;
		switch (k[i + 1]) {
		case 'b': k[o++] = '\b'; break;
		case 'f': k[o++] = '\f'; break;
		case 'n': k[o++] = '\n'; break;
		case 'r': k[o++] = '\r'; break;
		case 't': k[o++] = '\t'; break;
		case 'u': {
			int hi = i + 6 <= n ? jtext_hex4(u + i + 2) : -1;
			unsigned cp = (unsigned)hi;

			if (hi < 0)
				return false;
			i += 6;
			if (hi >= 0xd800 && hi < 0xdc00 && i + 6 <= n &&
			    k[i] == '\\' && k[i + 1] == 'u') {
				int lo = jtext_hex4(u + i + 2);

				if (lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + (((unsigned)hi - 0xd800) << 10) +
					     ((unsigned)lo - 0xdc00);
					i += 6;
				}
			}
			/* Never longer: 6 or 12 raw bytes give 1 to 4. */
			o = (size_t)(jtext_put_utf8(u + o, cp) - u);
			continue;
		}
		default: k[o++] = k[i + 1]; break; /* " \ / */
		}
		i += 2;
	}
	return o == t->len && memcmp(k, t->key, o) == 0;
}

/* A value ends at the current level: what may follow it. */
static enum jscan_event value_done(struct jscan *s)
{
	s->st = ST_AFTER;
	if (s->in_target && s->depth == s->arr_depth)
		return JSCAN_ELEM_END;
	return JSCAN_MORE;
}

/*
 * Is a value starting now at level depth on the path?  Called once per
 * value, when its first byte is consumed.
 */
static bool starts_on_path(struct jscan *s)
{
	const struct jsonptr *pt = s->path;
	size_t d = s->depth;

	if (s->found || s->lost)
		return false;
	if (d == 0)
		return true;
	if (s->on != d || d - 1 >= pt->nseg)
		return false;
	if (s->kind[d - 1] == '{')
		return s->child_on;
	return pt->seg[d - 1].index >= 0 && s->cnt++ == pt->seg[d - 1].index;
}

/* The first byte c of a value, consumed.  MORE, ELEM_END or ERROR. */
static enum jscan_event value_start(struct jscan *s, unsigned char c)
{
	bool on = starts_on_path(s);
	bool target = on && s->depth == s->path->nseg;

	s->any = true;
	if (target && c != '[')
		return fail(s, c == '{' ? "not a JSON array but an object" :
			    c == '"' ? "not a JSON array but a string" :
			    "not a JSON array");
	if (on && c != '{' && c != '[') {
		/* A scalar on the way: the pointer goes no further. */
		s->lost = true;
	}
	switch (c) {
	case '{':
	case '[':
		if (s->depth == JSCAN_MAX_DEPTH)
			return fail(s, "nested too deep");
		s->kind[s->depth++] = c;
		s->empty_ok = true;
		s->st = c == '{' ? ST_KEY : ST_VALUE;
		if (on) {
			s->on = s->depth;
			s->cnt = 0;
		}
		if (target) {
			s->found = s->in_target = true;
			s->arr_depth = s->depth;
		}
		return JSCAN_MORE;
	case '"':
		s->st = ST_STRING;
		s->is_key = false;
		s->esc = false;
		return JSCAN_MORE;
	default:
		if ((c >= '0' && c <= '9') || c == '-' || c == 't' ||
		    c == 'f' || c == 'n') {
			s->st = ST_LITERAL;
			return JSCAN_MORE;
		}
		return fail_at(s, "unexpected", c);
	}
}

/* c (']' or '}') closes the innermost container, consumed. */
static enum jscan_event close_container(struct jscan *s, unsigned char c)
{
	unsigned char open = c == ']' ? '[' : '{';

	if (s->depth == 0 || s->kind[s->depth - 1] != open)
		return fail_at(s, "unexpected", c);
	if (s->in_target && s->depth == s->arr_depth)
		s->in_target = false;
	s->depth--;
	if (s->on > s->depth) {
		/* Left the path without finding the array: first match wins. */
		if (!s->found)
			s->lost = true;
		s->on = s->depth;
	}
	return value_done(s);
}

void jscan_skip_elem(struct jscan *s, size_t len, uint64_t nl)
{
	/* What value_start() and close_container() would leave for an
	 * element: no level pushed and popped, the path untouched (an
	 * element is never on it: the array was found). */
	s->announced = false;
	s->empty_ok = false;
	s->any = true;
	s->off += len;
	s->line += nl;
	(void)value_done(s);
}

enum jscan_event jscan_feed(struct jscan *s, const char *p, size_t n,
			    size_t *used)
{
	enum jscan_event ev = JSCAN_MORE;
	size_t i = 0;

	*used = 0;
	if (s->st == ST_ERROR) {
		*used = 0;
		return JSCAN_ERROR;
	}
	while (i < n) {
		unsigned char c = (unsigned char)p[i];

		switch (s->st) {
		case ST_STRING:
			/* The run of plain bytes first: most of a document. */
			while (i < n && p[i] != '"' && p[i] != '\\' && !s->esc) {
				if (p[i] == '\n')
					s->line++;
				if (s->want_key && s->is_key) {
					if (s->keylen < JSCAN_MAX_KEY)
						s->key[s->keylen++] = p[i];
					else
						s->key_long = true;
				}
				i++;
			}
			if (i == n)
				break;
			c = (unsigned char)p[i];
			if (s->want_key && s->is_key && !(c == '"' && !s->esc)) {
				if (s->keylen < JSCAN_MAX_KEY)
					s->key[s->keylen++] = (char)c;
				else
					s->key_long = true;
			}
			if (c == '\n')
				s->line++;
			i++;
			if (s->esc) {
				s->esc = false;
			} else if (c == '\\') {
				s->esc = true;
			} else if (s->is_key) {
				s->child_on = s->want_key &&
					      key_matches(s, &s->path->seg[s->depth - 1]);
				s->st = ST_COLON;
			} else {
				ev = value_done(s);
			}
			break;
		case ST_LITERAL:
			if (is_literal(c)) {
				i++;
				break;
			}
			/* c belongs to what follows: not consumed. */
			ev = value_done(s);
			break;
		case ST_VALUE:
			if (is_space(c)) {
				s->line += c == '\n';
				i++;
				break;
			}
			if (c == ']' && s->empty_ok) {
				s->empty_ok = false;
				i++;
				ev = close_container(s, c);
				break;
			}
			if (s->depth > 0 && s->depth == s->arr_depth &&
			    s->in_target && !s->announced) {
				s->announced = true;
				s->elem_line = s->line;
				s->elem_index = s->nelems++;
				*used = i;
				s->off += i;
				return JSCAN_ELEM_START;
			}
			s->announced = false;
			s->empty_ok = false;
			i++;
			ev = value_start(s, c);
			break;
		case ST_KEY:
			if (is_space(c)) {
				s->line += c == '\n';
				i++;
				break;
			}
			i++;
			if (c == '}' && s->empty_ok) {
				s->empty_ok = false;
				ev = close_container(s, c);
				break;
			}
			s->empty_ok = false;
			if (c != '"')
				return fail_at(s, "expected a member name, not",
					       c);
			s->st = ST_STRING;
			s->is_key = true;
			s->esc = false;
			s->want_key = !s->found && !s->lost &&
				      s->on == s->depth &&
				      s->depth - 1 < s->path->nseg;
			s->keylen = 0;
			s->key_long = false;
			s->child_on = false;
			break;
		case ST_COLON:
			if (is_space(c)) {
				s->line += c == '\n';
				i++;
				break;
			}
			i++;
			if (c != ':')
				return fail_at(s, "expected ':', not", c);
			s->st = ST_VALUE;
			break;
		case ST_AFTER:
			if (is_space(c)) {
				s->line += c == '\n';
				i++;
				break;
			}
			if (s->depth == 0)
				return fail_at(s, "trailing characters after "
					       "the JSON document: unexpected", c);
			i++;
			if (c == ',') {
				s->st = s->kind[s->depth - 1] == '{' ? ST_KEY :
					ST_VALUE;
				break;
			}
			if (c == ']' || c == '}') {
				ev = close_container(s, c);
				break;
			}
			return fail_at(s, "expected ',' or a closing bracket, "
				       "not", c);
		default:
			*used = 0;
			return JSCAN_ERROR;
		}
		if (s->st == ST_ERROR) {
			*used = 0;
			return JSCAN_ERROR;
		}
		if (ev != JSCAN_MORE) {
			*used = i;
			s->off += i;
			return ev;
		}
	}
	*used = i;
	s->off += i;
	return JSCAN_MORE;
}

enum jscan_event jscan_finish(struct jscan *s)
{
	if (s->st == ST_ERROR)
		return JSCAN_ERROR;
	if (s->st == ST_LITERAL)
		(void)value_done(s);
	if (!s->any)
		return fail(s, "no JSON document: the file is empty");
	if (s->depth > 0 || s->st != ST_AFTER)
		return fail(s, "the file ends inside the JSON document");
	if (!s->found)
		return fail(s, "no array at the records pointer");
	return JSCAN_DONE;
}
