/*
 * out_buf.c - the row buffer's allocation and its flush (out_buf.h); the
 * per-byte work is inline in the header.
 */
#include "out_buf.h"

#include <errno.h>
#include <stdlib.h>

#include "../common/sysio.h"

int out_buf_init(struct out_buf *b)
{
	*b = (struct out_buf){ .fd = -1 };
	b->buf = malloc(OUT_BUF_SIZE);
	return b->buf ? 0 : -1;
}

void out_buf_free(struct out_buf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = 0;
}

void out_buf_flush(struct out_buf *b)
{
	if (b->len > 0 && b->error == 0 &&
	    (b->sink ? b->sink(b->sink_arg, b->buf, b->len)
		     : sys_write_all(b->fd, b->buf, b->len)) < 0)
		b->error = errno ? errno : EIO;
	b->len = 0;
}
