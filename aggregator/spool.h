/*
 * spool.h - a union provider's records, kept until the output is written.
 *
 * Records are appended rec_encode()d to a large buffer that overflows into
 * an unlinked temporary file in $TMPDIR (O_TMPFILE, or a named file
 * unlinked at once), so a big run does not live in memory and nothing is
 * left behind whatever happens to the process.  spool_replay() writes them
 * back, in the order they came, as rows of an output.
 *
 * Memory: a spool owns its buffer (malloc'd at the first record), its file
 * and its scratch for records larger than the buffer; spool_free()
 * releases them.  Errors are messages in err naming the provider (name)
 * and what failed; a failed write leaves bytes past file_size, which
 * nothing reads.
 */
#ifndef AGG_SPOOL_H
#define AGG_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "../ipc/record.h"
#include "../common/buf.h"
#include "output.h"

/* A spool's buffer: records wait here before going to the file. */
#define SPOOL_BUF_SIZE (1024u * 1024u)

struct spool {
	int fd;             /* spool file, -1 until the buffer overflows */
	unsigned char *buf; /* SPOOL_BUF_SIZE; NULL until the first record */
	size_t len;
	uint64_t file_size; /* bytes of whole records in the file */
	struct buf big;     /* a record bigger than buf, encoded */
};

/* An empty spool.  This function can't fail. */
void spool_init(struct spool *sp);

/* spool_add() when the record does not fit the buffer as it is. */
int spool_add_slow(struct spool *sp, const struct rec_schema *s,
		   const struct rec_value *v, size_t n, const char *name,
		   char *err, size_t errlen);

/*
 * Append record v (schema s) of provider name.  Returns 0, or -1 with err
 * (out of memory, the file cannot be made or written).  Inline: it runs
 * for every record of a union.
 */
static inline int spool_add(struct spool *sp, const struct rec_schema *s,
			    const struct rec_value *v, const char *name,
			    char *err, size_t errlen)
{
	size_t n = rec_encoded_size(s, v);

	if (sp->buf != NULL && SPOOL_BUF_SIZE - sp->len >= n) {
		sp->len += rec_encode(s, v, sp->buf + sp->len);
		return 0;
	}
	return spool_add_slow(sp, s, v, n, name, err, errlen);
}

/* Where replayed rows go: row(ctx, ...) returns 0, or -1 with err. */
struct spool_sink {
	int (*row)(void *ctx, const struct rec_value *row, char *err,
		   size_t errlen);
	void *ctx;
};

/*
 * Write every record of the spool to w as a row: row[0] is set by the
 * caller (the provider column), row[1..] takes each record's values.
 * *rows counts the rows written.  Returns 0, or -1 with err (the spool
 * unreadable or corrupt, or out_row()'s error).
 */
int spool_replay(struct spool *sp, const struct rec_schema *s,
		 const char *name, const struct spool_sink *w, struct rec_value *row,
		 uint64_t *rows, char *err, size_t errlen);

/* Close the file, free the memory; sp is empty again. */
void spool_free(struct spool *sp);

#endif
