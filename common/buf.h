/*
 * buf.h - the one growable byte buffer.
 *
 * A struct buf starts zeroed ({0}: empty, nothing allocated) and grows by
 * doubling.  Once anything was added, p[len] is a NUL byte, so a buffer
 * that holds text is also a C string (buf_str()); bytes may still contain
 * NULs of their own.  On failure (no memory, or a size that would
 * overflow) a function returns -1 and leaves the buffer as it was.
 */
#ifndef AGG_BUF_H
#define AGG_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	unsigned char *p;  /* NULL until something was reserved */
	size_t len;        /* bytes held */
	size_t cap;        /* bytes allocated, len + 1 at least once used */
};

/*
 * Make room for extra more bytes (and the NUL after them) without moving
 * len.  Returns 0, or -1.  After it, p + len has extra writable bytes.
 */
int buf_reserve(struct buf *b, size_t extra);

/* Append n bytes of s.  Returns 0, or -1. */
int buf_add(struct buf *b, const void *s, size_t n);

/* Append the C string s.  Returns 0, or -1. */
int buf_addstr(struct buf *b, const char *s);

/* Append printf-style text.  Returns 0, or -1. */
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* The contents as a C string: "" when nothing was ever added. */
static inline const char *buf_str(const struct buf *b)
{
	return b->p ? (const char *)b->p : "";
}

/* Forget the contents, keep the memory. */
static inline void buf_clear(struct buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

/*
 * Hand the memory to the caller (who frees it) and leave b empty.  NULL
 * when nothing was ever reserved.
 */
unsigned char *buf_take(struct buf *b);

/* Free the memory and leave b empty. */
void buf_free(struct buf *b);

#endif
