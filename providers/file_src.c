/*
 * file_src.c - the file provider's inputs (file_src.h): the match list of
 * a path or glob, opening and reading each file, plain or gzip, with
 * large read() / gzread() calls, seeking to a resume point, and the
 * resume token that names a file of the list and a place in it.
 *
 * A file in another encoding goes through iconv (glibc's) on its way
 * out, in pieces of FILE_RAW_BYTES: memory stays the same whatever the
 * file's size, and a resume converts the file again from its start up
 * to the offset (as zlib decompresses up to it), which gives the same
 * bytes every time.
 *
 * Invariant: a file's offset (struct file_src.off) counts the bytes
 * handed out so far (decompressed, then converted), so an offset in a
 * token is the same for a .gz file and for its plain copy, and falls on
 * the same record boundary in every attempt.
 */
#include "file_src.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_conf.h"
#include "file_glob.h"

/* zlib's own input buffer for .gz files. */
#define GZ_BUFFER (256u * 1024u)

#define TOKEN_TAG "file1"

static uint64_t fnv1a(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && strncasecmp(s + len - n, suffix, n) == 0;
}

static bool is_gz(const char *name)
{
	return ends_with(name, strlen(name), ".gz");
}

int file_kind_of(const struct cfg_provider *p, const char *name)
{
	size_t len = strlen(name);

	if (file_conf(p)->file_format == CFG_FMT_CSV)
		return FILE_KIND_CSV;
	if (file_conf(p)->file_format == CFG_FMT_JSONL)
		return file_conf(p)->json ? FILE_KIND_JSON : FILE_KIND_JSONL;
	if (ends_with(name, len, ".gz"))
		len -= 3;
	if (ends_with(name, len, ".csv"))
		return FILE_KIND_CSV;
	if (ends_with(name, len, ".jsonl") || ends_with(name, len, ".ndjson"))
		return FILE_KIND_JSONL;
	if (ends_with(name, len, ".json"))
		return FILE_KIND_JSON;
	return -1;
}

/* An errno of open(2) / read(2) that no retry will fix. */
static enum prov_status errno_status(int err)
{
	switch (err) {
	case ENOENT:
	case EACCES:
	case EPERM:
	case EISDIR:
	case ENOTDIR:
	case ELOOP:
	case ENAMETOOLONG:
	case EINVAL:
		return PROV_FAIL_PERMANENT;
	default:
		return PROV_FAIL_RETRY;
	}
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The paths as a message names them: "a.csv", or "a.csv, in/x.csv". */
const char *file_paths_desc(const struct file_conf *fc, char *buf,
			    size_t len)
{
	size_t k = 0;

	if (fc->npaths <= 1)
		return fc->path;
	buf[0] = '\0';
	for (int i = 0; i < fc->npaths && k < len; i++) {
		int w = snprintf(buf + k, len - k, "%s%s", i ? ", " : "",
				 fc->paths[i]);

		if (w < 0)
			break;
		k += (size_t)w;
	}
	return buf;
}

enum prov_status file_match(const struct cfg_provider *p, glob_t *g,
			    const char ***names, size_t *n, char *msg,
			    size_t msglen)
{
	const struct file_conf *fc = file_conf(p);
	int npat = fc->npaths ? fc->npaths : 1;
	char desc[512];
	const char **v;
	int rc = GLOB_NOMATCH;

	*names = NULL;
	*n = 0;
	memset(g, 0, sizeof *g);
	/*
	 * Every path's matches in one list; braces expand ("{a,b}"), "**"
	 * matches folders at any depth (file_glob.h).
	 */
	for (int i = 0; i < npat; i++) {
		const char *pat = fc->npaths ? fc->paths[i] : fc->path;
		int r = file_glob(pat, g);

		if (r == GLOB_NOSPACE) {
			snprintf(msg, msglen,
				 "%s: out of memory while matching files", pat);
			return PROV_FAIL_RETRY;
		}
		if (r == GLOB_ABORTED) {
			snprintf(msg, msglen, "%s: cannot read a folder while "
				 "matching files", pat);
			return PROV_FAIL_PERMANENT;
		}
		if (r == 0)
			rc = 0;
	}
	if (rc == 0 && g->gl_pathc > 0) {
		v = malloc(g->gl_pathc * sizeof *v);
		if (v == NULL) {
			snprintf(msg, msglen, "out of memory");
			return PROV_FAIL_RETRY;
		}
		/* Folders match globs too; only files are inputs. */
		for (size_t i = 0; i < g->gl_pathc; i++) {
			struct stat st;

			if (stat(g->gl_pathv[i], &st) == 0 &&
			    S_ISDIR(st.st_mode))
				continue;
			v[(*n)++] = g->gl_pathv[i];
		}
		qsort(v, *n, sizeof *v, cmp_names);
		/* A file two paths match is read once. */
		if (*n > 1) {
			size_t k = 1;

			for (size_t i = 1; i < *n; i++)
				if (strcmp(v[i], v[k - 1]) != 0)
					v[k++] = v[i];
			*n = k;
		}
		*names = v;
		/* shard = split: this shard's run of the files, in order. */
		if (p->shard_split && p->nshards > 1) {
			size_t all = *n, lo = all * (size_t)p->shard /
					      (size_t)p->nshards;

			*n = all * (size_t)(p->shard + 1) / (size_t)p->nshards -
			     lo;
			memmove(v, v + lo, *n * sizeof *v);
			return ST_OK;
		}
	}
	if (*n == 0) {
		snprintf(msg, msglen, "no file matches %s",
			 file_paths_desc(fc, desc, sizeof desc));
		return PROV_FAIL_PERMANENT;
	}
	return ST_OK;
}

/* --- reading files ---------------------------------------------------- */

/* Set s up to convert from enc to UTF-8.  ST_OK or failure. */
static enum prov_status conv_open(struct prov_ctx *c, struct file_src *s,
				  const char *enc)
{
	s->cd = iconv_open("UTF-8", enc);
	if (s->cd == (iconv_t)-1)
		return prov_fail(c, errno == EINVAL ? PROV_FAIL_PERMANENT :
				 PROV_FAIL_RETRY, "%s: cannot convert from %s: %s",
				 s->name, enc, strerror(errno));
	s->raw = malloc(FILE_RAW_BYTES);
	if (s->raw == NULL) {
		iconv_close(s->cd);
		return prov_fail(c, PROV_FAIL_RETRY, "out of memory");
	}
	s->enc = enc;
	return ST_OK;
}

enum prov_status file_src_open(struct prov_ctx *c, struct file_src *s,
			       const char *name)
{
	const char *enc = c->p ? file_conf(c->p)->encoding : NULL;
	enum prov_status st;

	s->name = name;
	s->gz = NULL;
	s->off = 0;
	s->end = UINT64_MAX;
	s->raw = NULL;
	s->raw_pos = s->raw_len = 0;
	s->raw_eof = false;
	s->raw_off = 0;
	s->lines = 0;
	s->fd = open(name, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		int err = errno;

		return prov_fail(c, errno_status(err), "%s: %s", name,
				 strerror(err));
	}
	if (is_gz(name)) {
		s->gz = gzdopen(s->fd, "rb");
		if (s->gz == NULL) {
			close(s->fd);
			s->fd = -1;
			return prov_fail(c, PROV_FAIL_RETRY,
					 "%s: out of memory opening gzip", name);
		}
		s->fd = -1; /* gzclose closes it */
		(void)gzbuffer(s->gz, GZ_BUFFER);
	} else {
		/* One pass from front to back: let the kernel read ahead. */
		(void)posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	}
	if (enc != NULL) {
		st = conv_open(c, s, enc);
		if (st != ST_OK) {
			file_src_close(s);
			return st;
		}
	}
	return ST_OK;
}

void file_src_close(struct file_src *s)
{
	if (s->gz != NULL)
		gzclose(s->gz);
	if (s->fd >= 0)
		close(s->fd);
	if (s->raw != NULL) {
		iconv_close(s->cd);
		free(s->raw);
	}
	s->gz = NULL;
	s->fd = -1;
	s->raw = NULL;
}

/* The file's own bytes, as file_src_read() hands them without encoding. */
static enum prov_status read_raw(struct prov_ctx *c, struct file_src *s,
				 char *buf, size_t cap, size_t *got)
{
	if (s->gz != NULL) {
		int n = gzread(s->gz, buf, (unsigned)cap);

		if (n < 0) {
			int zerr;
			const char *m = gzerror(s->gz, &zerr);

			if (zerr == Z_ERRNO)
				return prov_fail(c, errno_status(errno),
						 "%s: %s", s->name,
						 strerror(errno));
			return prov_fail(c, zerr == Z_MEM_ERROR ?
					 PROV_FAIL_RETRY : PROV_FAIL_PERMANENT,
					 "%s: bad gzip data: %s", s->name, m);
		}
		/* A truncated .gz reads as a short file plus an error. */
		if (n == 0) {
			int zerr;
			const char *m = gzerror(s->gz, &zerr);

			if (zerr != Z_OK && zerr != Z_STREAM_END)
				return prov_fail(c, PROV_FAIL_PERMANENT,
						 "%s: bad gzip data: %s",
						 s->name, m);
		}
		*got = (size_t)n;
	} else {
		ssize_t n;

		do
			n = read(s->fd, buf, cap);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			int err = errno;

			return prov_fail(c, errno_status(err), "%s: %s", s->name,
					 strerror(err));
		}
		*got = (size_t)n;
	}
	return ST_OK;
}

/* "utf-16" for "UTF-16": the encoding as the config spells it. */
static const char *enc_name(const struct file_src *s, char *out, size_t len)
{
	size_t i = 0;

	for (; s->enc[i] && i + 1 < len; i++)
		out[i] = (char)tolower((unsigned char)s->enc[i]);
	out[i] = '\0';
	return out;
}

/* Refill raw, keeping its unconverted tail (a character cut short). */
static enum prov_status refill(struct prov_ctx *c, struct file_src *s)
{
	size_t keep = s->raw_len - s->raw_pos, got;
	enum prov_status st;

	memmove(s->raw, s->raw + s->raw_pos, keep);
	s->raw_pos = 0;
	s->raw_len = keep;
	st = read_raw(c, s, s->raw + keep, FILE_RAW_BYTES - keep, &got);
	if (st != ST_OK)
		return st;
	s->raw_len += got;
	s->raw_eof = got == 0;
	return ST_OK;
}

/* Up to cap bytes of UTF-8 converted from the file's encoding. */
static enum prov_status read_conv(struct prov_ctx *c, struct file_src *s,
				  char *buf, size_t cap, size_t *got)
{
	char en[32];

	for (;;) {
		char *in = s->raw + s->raw_pos, *out = buf;
		size_t inleft = s->raw_len - s->raw_pos, outleft = cap;
		size_t r = (size_t)-1;
		int err = 0;

		if (inleft > 0) {
			r = iconv(s->cd, &in, &inleft, &out, &outleft);
			err = r == (size_t)-1 ? errno : 0;
		}
		s->raw_off += (uint64_t)(in - (s->raw + s->raw_pos));
		s->raw_pos = (size_t)(in - s->raw);
		*got = cap - outleft;
		for (const char *p = buf; (p = memchr(p, '\n',
					(size_t)(buf + *got - p))) != NULL; p++)
			s->lines++;
		/* What came before a bad byte is handed out first. */
		if (*got > 0)
			return ST_OK;
		if (err == EILSEQ)
			return prov_fail(c, PROV_FAIL_PERMANENT,
					 "%s: byte %" PRIu64 " (line %" PRIu64
					 ") is not valid %s", s->name,
					 s->raw_off, s->lines + 1,
					 enc_name(s, en, sizeof en));
		if (err == E2BIG)
			return prov_fail(c, PROV_FAIL_PERMANENT,
					 "%s: cannot stop inside a character at "
					 "offset %" PRIu64 ": input files changed",
					 s->name, s->off);
		if (s->raw_eof) {
			if (s->raw_pos < s->raw_len)
				return prov_fail(c, PROV_FAIL_PERMANENT,
						 "%s: the file ends inside a %s "
						 "character (line %" PRIu64 ")",
						 s->name, enc_name(s, en, sizeof en),
						 s->lines + 1);
			return ST_OK; /* *got == 0: the end */
		}
		/* All converted, or a character cut by raw's end: more. */
		{
			enum prov_status st = refill(c, s);

			if (st != ST_OK)
				return st;
		}
	}
}

enum prov_status file_src_read(struct prov_ctx *c, struct file_src *s,
			       char *buf, size_t cap, size_t *got)
{
	enum prov_status st;

	if (s->off >= s->end) { /* an incremental run's snapshot ends here */
		*got = 0;
		return ST_OK;
	}
	if (cap > s->end - s->off && s->raw == NULL)
		cap = (size_t)(s->end - s->off);
	st = s->raw != NULL ? read_conv(c, s, buf, cap, got)
			    : read_raw(c, s, buf, cap, got);
	if (st == ST_OK)
		s->off += *got;
	return st;
}

/* Back to the file's first byte, and iconv to its first state. */
static enum prov_status rewind_conv(struct prov_ctx *c, struct file_src *s)
{
	iconv_t cd;

	if (s->gz != NULL ? gzrewind(s->gz) < 0 :
	    lseek(s->fd, 0, SEEK_SET) < 0)
		return prov_fail(c, PROV_FAIL_RETRY, "%s: cannot read it again "
				 "from its start", s->name);
	/* A new descriptor: UTF-16 looks for its byte order mark again. */
	cd = iconv_open("UTF-8", s->enc);
	if (cd == (iconv_t)-1)
		return prov_fail(c, PROV_FAIL_RETRY, "%s: cannot convert from "
				 "%s: %s", s->name, s->enc, strerror(errno));
	iconv_close(s->cd);
	s->cd = cd;
	s->raw_pos = s->raw_len = 0;
	s->raw_eof = false;
	s->raw_off = 0;
	s->lines = 0;
	s->off = 0;
	return ST_OK;
}

/*
 * Convert from the start up to off, handing nothing out (from where the
 * stream is, when that is not past off: a CSV header read first).
 */
static enum prov_status seek_conv(struct prov_ctx *c, struct file_src *s,
				  uint64_t off)
{
	size_t cap = 64u << 10;
	char *scratch;
	enum prov_status st = ST_OK;

	if (s->off > off) {
		st = rewind_conv(c, s);
		if (st != ST_OK)
			return st;
	}
	scratch = malloc(cap);
	if (scratch == NULL)
		return prov_fail(c, PROV_FAIL_RETRY, "out of memory");
	while (s->off < off) {
		size_t got, want = off - s->off < cap ? (size_t)(off - s->off)
						      : cap;

		st = file_src_read(c, s, scratch, want, &got);
		if (st != ST_OK)
			break;
		if (got == 0) {
			st = prov_fail(c, PROV_FAIL_PERMANENT,
				       "%s: shorter than the resume point "
				       "%" PRIu64 ": input files changed",
				       s->name, off);
			break;
		}
	}
	free(scratch);
	return st;
}

enum prov_status file_src_seek(struct prov_ctx *c, struct file_src *s,
			       uint64_t off)
{
	if (s->raw != NULL)
		return seek_conv(c, s, off);
	if (s->gz != NULL) {
		/* Emulated by zlib: decompresses up to off (or rewinds first). */
		z_off_t r = gzseek(s->gz, (z_off_t)off, SEEK_SET);

		if (r < 0 || (uint64_t)r != off)
			return prov_fail(c, PROV_FAIL_PERMANENT,
					 "%s: cannot seek to the resume point "
					 "%" PRIu64 ": input files changed",
					 s->name, off);
	} else {
		struct stat st;

		if (fstat(s->fd, &st) < 0)
			return prov_fail(c, PROV_FAIL_RETRY, "%s: %s", s->name,
					 strerror(errno));
		if ((uint64_t)st.st_size < off)
			return prov_fail(c, PROV_FAIL_PERMANENT,
					 "%s: shorter than the resume point "
					 "%" PRIu64 ": input files changed",
					 s->name, off);
		if (lseek(s->fd, (off_t)off, SEEK_SET) < 0)
			return prov_fail(c, PROV_FAIL_RETRY, "%s: %s", s->name,
					 strerror(errno));
	}
	s->off = off;
	return ST_OK;
}

/* --- resume tokens ---------------------------------------------------- */

int file_token(char *tok, size_t toklen, const char *const *names,
	       size_t nnames, size_t idx, uint64_t off, uint64_t line)
{
	return snprintf(tok, toklen, TOKEN_TAG " %zu %" PRIu64 " %" PRIu64
			" %016" PRIx64, idx, off, line,
			fnv1a(idx < nnames ? names[idx] : ""));
}

enum prov_status file_token_parse(struct prov_ctx *c,
				  const char *const *names, size_t nnames,
				  size_t *idx, uint64_t *off, uint64_t *line)
{
	const struct file_conf *fc = file_conf(c->p);
	char tok[FILE_TOKEN_MAX], desc[512];
	uint64_t fp;
	int used = -1;

	*idx = 0;
	*off = 0;
	*line = 1;
	if (c->token_len == 0)
		return ST_OK;
	if (c->token_len >= sizeof tok)
		goto bad_token;
	memcpy(tok, c->token, c->token_len);
	tok[c->token_len] = '\0';
	if (sscanf(tok, TOKEN_TAG " %zu %" SCNu64 " %" SCNu64 " %" SCNx64 "%n",
		   idx, off, line, &fp, &used) != 4 ||
	    used != (int)c->token_len || *line == 0)
		goto bad_token;
	if (*idx > nnames || fnv1a(*idx < nnames ? names[*idx] : "") != fp)
		return prov_fail(c, PROV_FAIL_PERMANENT,
				 "%s: input files changed since the last "
				 "checkpoint (file %zu of the matches is not "
				 "the one read before)",
				 file_paths_desc(fc, desc, sizeof desc), *idx + 1);
	return ST_OK;

bad_token:
	return prov_fail(c, PROV_FAIL_PERMANENT, "bad resume token");
}
