/*
 * spool.c - a union provider's records until the output (spool.h).
 *
 * Invariant: buf[0..len) and the file's bytes [0..file_size) hold whole
 * records, the file's first; a record larger than the buffer goes
 * straight to the file, after the buffer is flushed.
 */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/sysio.h"

void spool_init(struct spool *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->fd = -1;
}

static const char *spool_dir(void)
{
	const char *d = getenv("TMPDIR");

	return d != NULL && d[0] != '\0' ? d : "/tmp";
}

/* An anonymous file in $TMPDIR: gone with the process, whatever happens. */
static int spool_create(struct spool *sp, const char *pname, char *err,
			size_t errlen)
{
	const char *dir = spool_dir();
	char *name = NULL;
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR ||
		       errno == EINVAL)) {
		/* No O_TMPFILE here: a named file, unlinked at once. */
		if (asprintf(&name, "%s/aggregate-spool-XXXXXX", dir) < 0) {
			name = NULL;
			errno = ENOMEM;
		} else {
			fd = mkostemp(name, O_CLOEXEC);
			if (fd >= 0)
				unlink(name);
		}
	}
	if (fd < 0)
		snprintf(err, errlen,
			 "cannot create a spool file in %s for provider %s: %s",
			 dir, pname, strerror(errno));
	free(name);
	sp->fd = fd;
	return fd < 0 ? -1 : 0;
}

static int spool_write(struct spool *sp, const unsigned char *data, size_t n,
		       const char *name, char *err, size_t errlen)
{
	if (sp->fd < 0 && spool_create(sp, name, err, errlen) < 0)
		return -1;
	if (sys_write_all(sp->fd, data, n) < 0) {
		snprintf(err, errlen,
			 "cannot write the spool file of provider %s in %s: %s",
			 name, spool_dir(), strerror(errno));
		return -1;
	}
	sp->file_size += n;
	return 0;
}

static int spool_flush(struct spool *sp, const char *name, char *err,
		       size_t errlen)
{
	if (sp->len == 0)
		return 0;
	if (spool_write(sp, sp->buf, sp->len, name, err, errlen) < 0)
		return -1;
	sp->len = 0;
	return 0;
}

int spool_add_slow(struct spool *sp, const struct rec_schema *s,
		   const struct rec_value *v, size_t n, const char *name,
		   char *err, size_t errlen)
{
	if (sp->buf == NULL) {
		sp->buf = malloc(SPOOL_BUF_SIZE);
		if (sp->buf == NULL)
			goto out_nomem;
	}
	if (SPOOL_BUF_SIZE - sp->len < n &&
	    spool_flush(sp, name, err, errlen) < 0)
		return -1;
	if (n <= SPOOL_BUF_SIZE) {
		sp->len += rec_encode(s, v, sp->buf + sp->len);
		return 0;
	}
	/* Bigger than the whole buffer: straight to the file. */
	buf_clear(&sp->big);
	if (buf_reserve(&sp->big, n) < 0)
		goto out_nomem;
	rec_encode(s, v, sp->big.p);
	return spool_write(sp, sp->big.p, n, name, err, errlen);

out_nomem:
	snprintf(err, errlen, "out of memory spooling records of provider %s",
		 name);
	return -1;
}

static int emit_row(const struct spool_sink *w, const struct rec_value *row,
		    uint64_t *rows, char *err, size_t errlen)
{
	if (w->row(w->ctx, row, err, errlen) < 0)
		return -1;
	(*rows)++;
	return 0;
}

/* Write the records in memory: data[0..n) holds whole records. */
static int replay_buffer(const struct rec_schema *s, const char *name,
			 const unsigned char *data, size_t n,
			 const struct spool_sink *w, struct rec_value *row,
			 uint64_t *rows, char *err, size_t errlen)
{
	size_t off = 0;

	while (off < n) {
		long r = rec_decode(s, data + off, n - off, row + 1);

		if (r <= 0) {
			snprintf(err, errlen,
				 "the spool of provider %s is corrupt", name);
			return -1;
		}
		if (emit_row(w, row, rows, err, errlen) < 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

/*
 * Write the records of the spool file, read back in big chunks into b
 * (b.len: the bytes read and not yet written, from start); a record that
 * does not fit grows it.
 */
static int replay_file(struct spool *sp, const struct rec_schema *s,
		       const char *name, const struct spool_sink *w,
		       struct rec_value *row, uint64_t *rows, char *err,
		       size_t errlen)
{
	struct buf b = { 0 };
	size_t start = 0;
	uint64_t off = 0;
	int rc = -1;

	if (buf_reserve(&b, SPOOL_BUF_SIZE - 1) < 0)
		goto out_nomem;
	for (;;) {
		uint32_t rlen = 0;
		size_t need = 4, want;
		ssize_t k;

		if (b.len >= 4) {
			memcpy(&rlen, b.p + start, 4);
			if (rlen < 4)
				goto out_corrupt;
			need = rlen;
			if (b.len >= rlen) {
				long r = rec_decode(s, b.p + start, rlen,
						    row + 1);

				if (r != (long)rlen)
					goto out_corrupt;
				if (emit_row(w, row, rows, err, errlen) < 0)
					goto out_free;
				start += rlen;
				b.len -= rlen;
				continue;
			}
		}
		if (off == sp->file_size) {
			if (b.len != 0)
				goto out_corrupt;
			break;
		}
		memmove(b.p, b.p + start, b.len);
		start = 0;
		if (need > b.len && buf_reserve(&b, need - b.len) < 0)
			goto out_nomem;
		/* The room buf_reserve() keeps for a NUL is never read into. */
		want = b.cap - 1 - b.len;
		/* Bytes past file_size are a failed write's leftovers. */
		if (want > sp->file_size - off)
			want = (size_t)(sp->file_size - off);
		k = pread(sp->fd, b.p + b.len, want, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(err, errlen,
				 "cannot read the spool file of provider %s: %s",
				 name, strerror(errno));
			goto out_free;
		}
		if (k == 0)
			goto out_corrupt;
		b.len += (size_t)k;
		off += (uint64_t)k;
	}
	rc = 0;
	goto out_free;

out_nomem:
	snprintf(err, errlen, "out of memory reading the spool of provider %s",
		 name);
	goto out_free;
out_corrupt:
	snprintf(err, errlen, "the spool file of provider %s is corrupt", name);
out_free:
	buf_free(&b);
	return rc;
}

int spool_replay(struct spool *sp, const struct rec_schema *s,
		 const char *name, const struct spool_sink *w, struct rec_value *row,
		 uint64_t *rows, char *err, size_t errlen)
{
	if (sp->fd < 0)
		return replay_buffer(s, name, sp->buf, sp->len, w, row, rows,
				     err, errlen);
	if (spool_flush(sp, name, err, errlen) < 0)
		return -1;
	return replay_file(sp, s, name, w, row, rows, err, errlen);
}

void spool_free(struct spool *sp)
{
	if (sp->fd >= 0)
		close(sp->fd);
	free(sp->buf);
	buf_free(&sp->big);
	spool_init(sp);
}
