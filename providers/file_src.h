/*
 * file_src.h - where the file provider's input comes from: which files a
 * path or glob names and in what order, how each is opened and read
 * (plain or gzip), and the resume token that says where in them a run is.
 *
 * Errors: functions that take a prov_ctx fail through prov_fail() (the
 * reason, naming the file, in c->errbuf) and return the status; those that
 * take a msg buffer write the reason there.  Either way the status says
 * whether a restart may help (PROV_FAIL_RETRY) or not.
 */
#ifndef AGG_FILE_SRC_H
#define AGG_FILE_SRC_H

#include <glob.h>
#include <iconv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

#include "file_conf.h"
#include "provider.h"

/* What the file_ helpers return when nothing failed (else a prov_status). */
#define ST_OK PROV_DONE

enum file_kind { FILE_KIND_CSV = 1, FILE_KIND_JSONL, FILE_KIND_JSON };

/*
 * FILE_KIND_CSV, FILE_KIND_JSONL or FILE_KIND_JSON (one array) from the
 * config's `format`, or else from the name's extension (after a .gz); -1
 * when neither tells.
 */
int file_kind_of(const struct cfg_provider *p, const char *name);

/*
 * The provider's paths as messages name them (the one path, or all of
 * them joined by ", " into buf).
 */
const char *file_paths_desc(const struct file_conf *fc, char *buf,
			    size_t len);

/*
 * Expand every `path` of p (file names or globs, braces included:
 * "in/{2025,2026}-*.csv"; and "**" as a whole component for any depth
 * of folders, file_glob.h) into their regular files, sorted byte-wise
 * (glob itself sorts by the locale's collation), a file that two paths
 * match once.  *names (malloc'd, the caller frees
 * it) points into g, which the caller globfree()s whatever the result.
 * Returns ST_OK, or a failure status with msg filled (no match is a
 * permanent failure).
 */
enum prov_status file_match(const struct cfg_provider *p, glob_t *g,
			    const char ***names, size_t *n, char *msg,
			    size_t msglen);

/* Bytes of a file in another encoding read per read() / gzread(). */
#define FILE_RAW_BYTES ((size_t)256 << 10)

/* One input file being read. */
struct file_src {
	const char *name;    /* borrowed: the match list's string */
	int fd;              /* plain file, or -1 */
	gzFile gz;           /* .gz file, or NULL */
	uint64_t off;        /* offset of the next byte read, in the bytes
				handed out: decompressed, and in UTF-8 when
				the file is in another encoding */
	uint64_t end;        /* reads stop at this offset (an incremental
				run's snapshot); UINT64_MAX: the file's end */

	/* Another encoding (`encoding`): raw is NULL when there is none. */
	iconv_t cd;          /* from the file's encoding to UTF-8 */
	const char *enc;     /* its iconv name, for messages */
	char *raw;           /* FILE_RAW_BYTES read but not converted */
	size_t raw_pos, raw_len;
	bool raw_eof;
	uint64_t raw_off;    /* the file's offset of raw[raw_pos] */
	uint64_t lines;      /* LFs handed out, for messages */
};

/*
 * Open name for reading: gzip by its .gz extension; converted to UTF-8
 * when c->p (may be NULL) sets an encoding.  ST_OK or failure.
 */
enum prov_status file_src_open(struct prov_ctx *c, struct file_src *s,
			       const char *name);

/* Close what file_src_open() opened; safe to call twice. */
void file_src_close(struct file_src *s);

/*
 * Read up to cap bytes into buf: *got = 0 at the end.  ST_OK or failure.
 * In another encoding cap must hold a UTF-8 character (4 bytes), and
 * bytes that are not valid in it (or a file that ends inside a
 * character) fail for good, naming the byte's offset in the file and the
 * line of the converted text it falls on, once everything before them
 * has been handed out: the reader cannot tell which record they belong
 * to.
 */
enum prov_status file_src_read(struct prov_ctx *c, struct file_src *s,
			       char *buf, size_t cap, size_t *got);

/*
 * Continue reading at offset off (as in struct file_src), a resume point:
 * zlib decompresses up to it, and a file in another encoding is converted
 * again up to it.  A file now shorter than off is a permanent failure:
 * the inputs changed.
 */
enum prov_status file_src_seek(struct prov_ctx *c, struct file_src *s,
			       uint64_t off);

/* Does b[0..n) start with a UTF-8 byte order mark? */
static inline bool file_has_bom(const char *b, size_t n)
{
	return n >= 3 && (unsigned char)b[0] == 0xef &&
	       (unsigned char)b[1] == 0xbb && (unsigned char)b[2] == 0xbf;
}

/*
 * Resume token (text): "file1 IDX OFFSET LINE FP" - IDX the file's index
 * in the sorted match list, OFFSET the byte offset in the (decompressed)
 * file just after the last record emitted or rejected, LINE the physical
 * line that starts there, FP the FNV-1a hash of the file's name (of ""
 * when IDX is past the last file).  A token whose FP does not match the
 * current match list means the inputs changed under us: a permanent
 * error, since resuming would count records twice or never.
 */
#define FILE_TOKEN_MAX 128

/* Write the token for (idx, off, line) into tok; returns its length. */
int file_token(char *tok, size_t toklen, const char *const *names,
	       size_t nnames, size_t idx, uint64_t off, uint64_t line);

/*
 * Read c's resume token against the match list: *idx, *off, *line (0, 0,
 * 1 when there is none).  ST_OK, or a permanent failure (a bad token, or
 * inputs that changed: the message names c->p->path).
 */
enum prov_status file_token_parse(struct prov_ctx *c,
				  const char *const *names, size_t nnames,
				  size_t *idx, uint64_t *off, uint64_t *line);

#endif
