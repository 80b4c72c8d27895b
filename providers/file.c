/*
 * file.c - the file provider: CSV and JSON Lines files, plain or gzip, one
 * path or a glob whose matches are read in byte-wise sorted order (SPEC §3
 * type = file, §4 conversions).
 *
 * Data path: large read() / gzread() calls into one reusable 1 MiB buffer;
 * the CSV parser (csv.h) or the line splitter below hands out records that
 * point into it, every field converts in place (convert.h) and the record
 * goes to prov_emit() before the buffer is touched again.  Nothing is
 * allocated per record, except by jansson for JSON Lines.
 *
 * Resume token (text): "file1 IDX OFFSET LINE FP" - IDX the file's index
 * in the sorted match list, OFFSET the byte offset in the (decompressed)
 * file just after the last record emitted or rejected, LINE the physical
 * line that starts there, FP the FNV-1a hash of the file's name (of "" when
 * IDX is past the last file).  A token whose FP does not match the current
 * match list means the inputs changed under us: a permanent error, since
 * resuming would count records twice or never.
 *
 * Invariants:
 *  - a checkpoint is sent only between records, with the offset and line
 *    just after the last record emitted or rejected, so the next attempt
 *    starts exactly there; one always follows the end of each file;
 *  - a CSV header is read again from offset 0 on resume, never emitted;
 *  - every failure leaves its reason in c->errbuf (prov_fail), naming the
 *    file and, where there is one, the line.
 */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <zlib.h>

#include "../common/convert.h"
#include "csv.h"
#include "csvfast.h"
#include "jsonptr.h"
#include "sqlmap.h"

/* Bytes per read() / gzread(). */
#define READ_BYTES ((size_t)1 << 20)

/* Longest column name quoted back in a message about the header. */
#define FIELD_SHOWN 64

/* zlib's own input buffer for .gz files. */
#define GZ_BUFFER (256u * 1024u)

/* Longest CSV record or JSON line; longer ones are rejects. */
#define MAX_RECORD CSV_DEFAULT_MAX_RECORD

/* Records between two calls to prov_heartbeat() (itself rate-limited). */
#define BEAT_EVERY 4096u

#define TOKEN_TAG "file1"

/* What the helpers return when nothing failed (failures: a prov_status). */
#define ST_OK PROV_DONE

enum file_kind { KIND_CSV = 1, KIND_JSONL };

/* One input file being read. */
struct src {
	const char *name;
	int fd;              /* plain file, or -1 */
	gzFile gz;           /* .gz file, or NULL */
	uint64_t off;        /* (decompressed) offset of the next byte read */
};

/* The JSON Lines splitter: whole lines out of the read buffer. */
struct lines {
	size_t pos, len;     /* unread bytes of the read buffer */
	uint64_t off;        /* stream offset of buf[pos] */
	uint64_t line;       /* number of the next line */
	bool eof;
	bool partial;        /* an unfinished line's bytes are in carry */
	bool too_long;       /* ... and it has more than MAX_RECORD of them */
	char *carry;
	size_t carry_len, carry_cap;
};

/* One line out of the splitter. */
struct line {
	const char *p;
	size_t len;          /* without the LF */
	uint64_t no;         /* its line number */
	uint64_t end_off;    /* offset just after it and its LF */
	bool too_long;       /* p holds only its first MAX_RECORD bytes */
};

struct file_run {
	struct prov_ctx *c;
	const struct cfg_provider *p;
	const struct rec_schema *schema;

	glob_t g;
	bool have_glob;
	const char **names;  /* regular files matched, sorted; into g */
	size_t nnames;

	char *buf;           /* READ_BYTES */
	struct rec_value *vals;
	char (*scratch)[CONV_SCRATCH_MAX];
	uint64_t beat;

	/* CSV */
	struct csv_parser *csv;
	int *col;            /* column of each field, -1: always NULL */
	size_t ncols;        /* with header: its columns; without: needed */
	bool bom_check;      /* the next read is the file's first */
	struct csvfast fast; /* typed fast path for plain records */
	size_t *null_len;    /* strlen of each of p->nulls */

	/* JSON Lines */
	struct jsonptr *ptrs;
	char **dump;         /* compact JSON of objects/arrays, per field */
	size_t *dump_cap;
	struct lines ls;

	char pos[4200];      /* "FILE:LINE" of a reject */
	char reason[CONV_REASON_MAX + 320];
};

/* --- small helpers ---------------------------------------------------- */

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

/* KIND_CSV or KIND_JSONL from the config or the name (after .gz); or -1. */
static int kind_of(const struct cfg_provider *p, const char *name)
{
	size_t len = strlen(name);

	if (p->file_format == CFG_FMT_CSV)
		return KIND_CSV;
	if (p->file_format == CFG_FMT_JSONL)
		return KIND_JSONL;
	if (ends_with(name, len, ".gz"))
		len -= 3;
	if (ends_with(name, len, ".csv"))
		return KIND_CSV;
	if (ends_with(name, len, ".jsonl") || ends_with(name, len, ".ndjson"))
		return KIND_JSONL;
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

/*
 * Expand p->path into its regular files, sorted byte-wise (glob itself
 * sorts by the locale's collation).  *names points into g (globfree it).
 * Returns ST_OK or a failure status with msg filled.
 */
static enum prov_status match_files(const struct cfg_provider *p, glob_t *g,
				    const char ***names, size_t *n, char *msg,
				    size_t msglen)
{
	const char **v;
	int rc;

	*names = NULL;
	*n = 0;
	rc = glob(p->path, 0, NULL, g);
	if (rc == GLOB_NOSPACE) {
		snprintf(msg, msglen, "%s: out of memory while matching files",
			 p->path);
		return PROV_FAIL_RETRY;
	}
	if (rc == GLOB_ABORTED) {
		snprintf(msg, msglen, "%s: cannot read a folder while matching "
			 "files", p->path);
		return PROV_FAIL_PERMANENT;
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
		*names = v;
	}
	if (*n == 0) {
		snprintf(msg, msglen, "no file matches %s", p->path);
		return PROV_FAIL_PERMANENT;
	}
	return ST_OK;
}

/* --- reading files ---------------------------------------------------- */

static enum prov_status src_open(struct prov_ctx *c, struct src *s,
				 const char *name)
{
	s->name = name;
	s->gz = NULL;
	s->off = 0;
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
	return ST_OK;
}

static void src_close(struct src *s)
{
	if (s->gz != NULL)
		gzclose(s->gz);
	if (s->fd >= 0)
		close(s->fd);
	s->gz = NULL;
	s->fd = -1;
}

/* Read up to cap bytes into buf: *got = 0 at the end.  ST_OK or failure. */
static enum prov_status src_read(struct prov_ctx *c, struct src *s, char *buf,
				 size_t cap, size_t *got)
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
	s->off += *got;
	return ST_OK;
}

/* Continue reading at offset off (a resume point). */
static enum prov_status src_seek(struct prov_ctx *c, struct src *s,
				 uint64_t off)
{
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

static bool has_bom(const char *b, size_t n)
{
	return n >= 3 && (unsigned char)b[0] == 0xef &&
	       (unsigned char)b[1] == 0xbb && (unsigned char)b[2] == 0xbf;
}

/* --- records out ------------------------------------------------------ */

/* Reject one piece of input at FILE:LINE.  ST_OK, or how the run fails. */
static enum prov_status reject(struct file_run *r, const char *name,
			       uint64_t line, const char *reason,
			       const char *raw, size_t rawlen)
{
	snprintf(r->pos, sizeof r->pos, "%s:%" PRIu64, name, line);
	if (prov_reject(r->c, r->pos, reason, raw, rawlen) < 0)
		return prov_failure(r->c);
	return ST_OK;
}

static enum prov_status emit(struct file_run *r)
{
	if (prov_emit(r->c, r->vals) < 0)
		return prov_failure(r->c);
	return ST_OK;
}

static enum prov_status checkpoint(struct file_run *r, size_t idx,
				   uint64_t off, uint64_t line)
{
	char tok[128];
	int n = snprintf(tok, sizeof tok, TOKEN_TAG " %zu %" PRIu64 " %" PRIu64
			 " %016" PRIx64, idx, off, line,
			 fnv1a(idx < r->nnames ? r->names[idx] : ""));

	if (prov_checkpoint(r->c, tok, (size_t)n) < 0)
		return prov_failure(r->c);
	return ST_OK;
}

/*
 * After each record (emitted, rejected or a skipped blank line): a
 * heartbeat now and then, a checkpoint when the runtime wants one.
 */
static enum prov_status after_record(struct file_run *r, size_t idx,
				     uint64_t end_off, uint64_t next_line)
{
	if (++r->beat % BEAT_EVERY == 0)
		prov_heartbeat(r->c);
	if (prov_want_checkpoint(r->c))
		return checkpoint(r, idx, end_off, next_line);
	return ST_OK;
}

/* --- CSV -------------------------------------------------------------- */

/* The field's name in the schema, for messages. */
static const char *field_name(const struct file_run *r, int i)
{
	return r->schema->fields[i].name;
}

/*
 * True when field i's source is just its own name (what the config fills
 * in for an unmapped field, with or without the JSON pointer slash).
 */
static bool source_is_default(const struct file_run *r, int i)
{
	const char *s = r->p->source[i], *name = field_name(r, i);

	return strcmp(s, name) == 0 || (s[0] == '/' && strcmp(s + 1, name) == 0);
}

/* A 1-based column number ("3"), as 0-based, or -1. */
static long column_number(const char *s)
{
	long v = 0;

	if (*s == '\0' || *s == '0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1000000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v - 1;
}

/* header = false: columns from numbers or positions; the same for all files. */
static enum prov_status map_positions(struct file_run *r)
{
	r->ncols = 0;
	for (int i = 0; i < r->schema->nfields; i++) {
		long col = column_number(r->p->source[i]);

		if (col < 0) {
			if (!source_is_default(r, i))
				return prov_fail(r->c, PROV_FAIL_PERMANENT,
						 "field %s: with header = false "
						 "the source \"%s\" must be a "
						 "column number",
						 field_name(r, i),
						 r->p->source[i]);
			col = i;
		}
		r->col[i] = (int)col;
		if ((size_t)col + 1 > r->ncols)
			r->ncols = (size_t)col + 1;
	}
	return ST_OK;
}

/*
 * Field i has no column in the header h of file name: a config error (no
 * restart), naming the columns there are and the nearest one.
 */
static enum prov_status no_column(struct file_run *r, const char *name,
				  const struct csv_record *h, int i,
				  const char *want)
{
	const char **cols = calloc(h->nfields + 1, sizeof *cols);
	char *text = malloc(h->nfields * (FIELD_SHOWN + 1) + 1);
	char what[256];
	enum prov_status st;

	if (cols == NULL || text == NULL) {
		st = prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
		goto out_free;
	}
	/* Each column as a C string, cut short and control bytes shown '?'. */
	for (size_t k = 0, at = 0; k < h->nfields; k++) {
		size_t n = h->fields[k].len < FIELD_SHOWN ? h->fields[k].len
							  : FIELD_SHOWN;

		cols[k] = text + at;
		for (size_t j = 0; j < n; j++) {
			unsigned char ch = (unsigned char)h->fields[k].p[j];

			text[at++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
		}
		text[at++] = '\0';
	}
	if (source_is_default(r, i))
		snprintf(what, sizeof what, "%s:1: field %s: the header has no "
			 "column \"%s\" (name one with map = %s=COLUMN)", name,
			 field_name(r, i), want, field_name(r, i));
	else
		snprintf(what, sizeof what, "%s:1: field %s is mapped to column "
			 "\"%.64s\", which the header does not have", name,
			 field_name(r, i), want);
	sqlmap_no_column(r->c->errbuf, sizeof r->c->errbuf, what, want, cols,
			 (int)h->nfields);
	r->c->fail_status = PROV_FAIL_CONFIG;
	st = PROV_FAIL_CONFIG;
out_free:
	free(cols);
	free(text);
	return st;
}

/*
 * header = true: find each field's column by name in this file's header;
 * every field must have one (each file of a glob is checked).
 */
static enum prov_status map_header(struct file_run *r, const char *name,
				   const struct csv_record *h)
{
	r->ncols = h->nfields;
	for (int i = 0; i < r->schema->nfields; i++) {
		bool dflt = source_is_default(r, i);
		const char *want = dflt ? field_name(r, i) : r->p->source[i];
		size_t wl = strlen(want);

		r->col[i] = -1;
		for (size_t k = 0; k < h->nfields; k++) {
			if (h->fields[k].len == wl &&
			    memcmp(h->fields[k].p, want, wl) == 0) {
				r->col[i] = (int)k;
				break;
			}
		}
		if (r->col[i] < 0)
			return no_column(r, name, h, i, want);
	}
	return ST_OK;
}

/*
 * The next CSV record of s, reading as needed.  Returns a csv_status, or
 * -2 with *st set when reading failed.
 */
static int csv_pull(struct file_run *r, struct src *s, struct csv_record *rec,
		    enum prov_status *st)
{
	for (;;) {
		int rc = csv_next(r->csv, rec);
		size_t got;

		if (rc != CSV_MORE)
			return rc;
		*st = src_read(r->c, s, r->buf, READ_BYTES, &got);
		if (*st != ST_OK)
			return -2;
		if (got == 0) {
			csv_finish(r->csv);
		} else if (r->bom_check && has_bom(r->buf, got)) {
			/* Offsets stay file offsets: the BOM is byte 0-2. */
			csv_reset(r->csv, 3, 1);
			csv_feed(r->csv, r->buf + 3, got - 3);
		} else {
			csv_feed(r->csv, r->buf, got);
		}
		r->bom_check = false;
	}
}

/*
 * An unquoted field that means NULL: empty, or one of the `null` markers.
 * A quoted field is never NULL, as in PostgreSQL's COPY CSV.
 */
static bool is_null_marker(const struct file_run *r, const char *p,
			   size_t len)
{
	if (len == 0)
		return true;
	for (int k = 0; k < r->p->nnulls; k++)
		if (len == r->null_len[k] && memcmp(p, r->p->nulls[k], len) == 0)
			return true;
	return false;
}

/* Field values of one CSV record; ST_OK, or rejected (1), or failure. */
static enum prov_status csv_values(struct file_run *r, const char *name,
				   const struct csv_record *rec, bool *rejected)
{
	char why[CONV_REASON_MAX];

	*rejected = false;
	if (r->p->header ? rec->nfields != r->ncols : rec->nfields < r->ncols) {
		snprintf(r->reason, sizeof r->reason,
			 "expected %s%zu columns, got %zu",
			 r->p->header ? "" : "at least ", r->ncols, rec->nfields);
		*rejected = true;
		return reject(r, name, rec->line, r->reason, rec->raw,
			      rec->raw_len);
	}
	for (int i = 0; i < r->schema->nfields; i++) {
		const struct csv_field *f;
		struct rec_value *v = &r->vals[i];

		if (r->col[i] < 0) {
			v->null = true;
			continue;
		}
		f = &rec->fields[r->col[i]];
		if (!f->quoted && is_null_marker(r, f->p, f->len)) {
			v->null = true;
			continue;
		}
		if (conv_text(r->schema->fields[i].type, f->p, f->len, v, why,
			      sizeof why) < 0) {
			snprintf(r->reason, sizeof r->reason, "field %s: %s",
				 field_name(r, i), why);
			*rejected = true;
			return reject(r, name, rec->line, r->reason, rec->raw,
				      rec->raw_len);
		}
	}
	return ST_OK;
}

/* The fast path's plan for this file's columns (after its header). */
static int plan_fast(struct file_run *r)
{
	struct csvfast_options o = {
		.schema = r->schema,
		.col = r->col,
		.ncols = r->ncols,
		.exact_cols = r->p->header,
		.delimiter = r->p->delimiter,
		.quote = r->p->quote,
		.nulls = (const char *const *)r->p->nulls,
		.nnulls = r->p->nnulls,
		.max_record = MAX_RECORD,
		.max_fields = CSV_DEFAULT_MAX_FIELDS,
		.drop = r->c->unused,
	};

	return csvfast_plan(&r->fast, &o);
}

/*
 * The next record through the fast path, when it takes it: its values in
 * r->vals, its positions in *rec, and the parser past it.
 */
static bool take_fast(struct file_run *r, struct csv_record *rec)
{
	size_t avail, n;
	const char *in = csv_peek(r->csv, &avail);

	if (in == NULL)
		return false;
	n = csvfast_record(&r->fast, in, avail, r->vals);
	if (n == 0)
		return false;
	csv_take(r->csv, rec, n);
	return true;
}

/*
 * The records at the parser's position through the fast path, encoded
 * straight into the frame (r->fast.enc), for as long as it takes them:
 * until it declines one (left, untouched, for the general path), the
 * buffer ends in a record, or one does not fit even in an empty frame
 * (the general path then fails it as too large).  The parser is moved
 * past the records taken, with a checkpoint wherever the runtime asks for
 * one (after_record()'s rules, per record): each batch of records stops
 * where the runtime would ask.
 */
static enum prov_status fast_batch(struct file_run *r, size_t idx)
{
	struct prov_ctx *c = r->c;
	struct csvfast_batch b;
	enum csvfast_stop why;
	size_t avail, used = 0, room;
	uint64_t taken = 0, off, line;
	const char *in = csv_peek(r->csv, &avail);
	unsigned char *out;
	bool fresh = false;
	enum prov_status st;

	if (in == NULL)
		return ST_OK;
	out = prov_room(c, false, &room);
	if (out == NULL)
		goto out_ring;
	for (;;) {
		why = csvfast_encode_batch(&r->fast, in + used, avail - used,
					   out, room,
					   prov_records_to_checkpoint(c),
					   PROV_FRAME_SLACK, &b);
		if (b.records > 0) {
			prov_commit_records(c, b.len, b.records);
			out += b.len;
			room -= b.len;
			used += b.used;
			taken += b.records;
			fresh = false;
			/* A heartbeat each time the count passes BEAT_EVERY. */
			if ((r->beat + b.records) / BEAT_EVERY !=
			    r->beat / BEAT_EVERY)
				prov_heartbeat(c);
			r->beat += b.records;
		}
		if (why == CSVFAST_NO_ROOM) {
			if (fresh)
				break;
			out = prov_room(c, true, &room);
			if (out == NULL)
				goto out_ring;
			fresh = true;
			continue;
		}
		if (why == CSVFAST_DECLINED)
			break;
		if (!prov_want_checkpoint(c))
			continue;
		csv_skip(r->csv, used, taken);
		in += used;
		avail -= used;
		used = 0;
		taken = 0;
		csv_position(r->csv, &off, &line);
		st = checkpoint(r, idx, off, line);
		if (st != ST_OK)
			return st;
		out = prov_room(c, false, &room);
		if (out == NULL)
			goto out_ring;
	}
	csv_skip(r->csv, used, taken);
	return ST_OK;

out_ring:
	return prov_failure(c);
}

static enum prov_status read_csv(struct file_run *r, size_t idx,
				 struct src *s, uint64_t off, uint64_t line)
{
	const char *name = r->names[idx];
	struct csv_record rec;
	enum prov_status st = ST_OK;
	int rc;

	csv_reset(r->csv, 0, 1);
	r->bom_check = true;
	if (r->p->header) {
		rc = csv_pull(r, s, &rec, &st);
		if (rc == -2)
			return st;
		if (rc == CSV_NOMEM)
			return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
		if (rc == CSV_END)
			return ST_OK; /* empty file */
		if (rc == CSV_MALFORMED)
			return prov_fail(r->c, PROV_FAIL_PERMANENT,
					 "%s:%" PRIu64 ": bad header: %s",
					 name, rec.line, rec.reason);
		st = map_header(r, name, &rec);
		if (st != ST_OK)
			return st;
	}
	if (off > 0) {
		st = src_seek(r->c, s, off);
		if (st != ST_OK)
			return st;
		csv_reset(r->csv, off, line);
		r->bom_check = false;
	}
	if (plan_fast(r) < 0)
		return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");

	for (;;) {
		bool rejected = false;

		/* Then the general path reads the one record it stopped at. */
		if (r->fast.on && r->fast.enc) {
			st = fast_batch(r, idx);
			if (st != ST_OK)
				return st;
		} else if (r->fast.on && take_fast(r, &rec)) {
			st = emit(r);
			if (st == ST_OK)
				st = after_record(r, idx, rec.end_offset,
						  rec.next_line);
			if (st != ST_OK)
				return st;
			continue;
		}
		rc = csv_pull(r, s, &rec, &st);
		if (rc != CSV_RECORD && rc != CSV_MALFORMED)
			break;
		if (rc == CSV_MALFORMED) {
			st = reject(r, name, rec.line, rec.reason, rec.raw,
				    rec.raw_len);
		} else if (rec.raw_len == 0 && r->ncols != 1) {
			/* A blank line: no record, unless one column. */
		} else {
			st = csv_values(r, name, &rec, &rejected);
			if (st == ST_OK && !rejected)
				st = emit(r);
		}
		if (st == ST_OK)
			st = after_record(r, idx, rec.end_offset, rec.next_line);
		if (st != ST_OK)
			return st;
	}
	if (rc == -2)
		return st;
	if (rc == CSV_NOMEM)
		return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
	return ST_OK;
}

/* --- JSON Lines ------------------------------------------------------- */

/* Append to the splitter's carry, keeping at most MAX_RECORD bytes. */
static enum prov_status carry(struct file_run *r, const char *p, size_t n)
{
	struct lines *ls = &r->ls;

	ls->partial = true;
	if (ls->carry_len + n > MAX_RECORD) {
		n = MAX_RECORD - ls->carry_len;
		ls->too_long = true;
	}
	if (ls->carry_len + n > ls->carry_cap) {
		size_t cap = ls->carry_cap ? ls->carry_cap : 4096;
		char *nb;

		while (cap < ls->carry_len + n)
			cap *= 2;
		nb = realloc(ls->carry, cap);
		if (nb == NULL)
			return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
		ls->carry = nb;
		ls->carry_cap = cap;
	}
	if (n > 0)
		memcpy(ls->carry + ls->carry_len, p, n);
	ls->carry_len += n;
	return ST_OK;
}

/* The next line: 1 with *l, 0 at the end, -1 with *st on failure. */
static int line_next(struct file_run *r, struct src *s, struct line *l,
		     enum prov_status *st)
{
	struct lines *ls = &r->ls;

	for (;;) {
		size_t got;

		if (ls->pos < ls->len) {
			const char *p = r->buf + ls->pos;
			const char *lf = memchr(p, '\n', ls->len - ls->pos);
			size_t take = lf ? (size_t)(lf - p) : ls->len - ls->pos;

			if (lf == NULL || ls->partial) {
				*st = carry(r, p, take);
				if (*st != ST_OK)
					return -1;
			}
			ls->pos += take;
			ls->off += take;
			if (lf != NULL) {
				ls->pos++;
				ls->off++;
				l->p = ls->partial ? ls->carry : p;
				l->len = ls->partial ? ls->carry_len : take;
				goto line_done;
			}
			continue;
		}
		if (ls->eof) {
			if (!ls->partial)
				return 0;
			l->p = ls->carry;
			l->len = ls->carry_len;
			goto line_done;
		}
		*st = src_read(r->c, s, r->buf, READ_BYTES, &got);
		if (*st != ST_OK)
			return -1;
		ls->pos = 0;
		ls->len = got;
		ls->eof = got == 0;
		if (r->bom_check && has_bom(r->buf, got)) {
			ls->pos = 3;
			ls->off += 3;
		}
		r->bom_check = false;
	}

line_done:
	l->no = ls->line++;
	l->end_off = ls->off;
	l->too_long = ls->too_long;
	/* The carry's bytes stay valid until the next call. */
	ls->partial = false;
	ls->too_long = false;
	ls->carry_len = 0;
	return 1;
}

static bool blank_line(const char *p, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (p[k] != ' ' && p[k] != '\t' && p[k] != '\r')
			return false;
	return true;
}

static const char *json_kind(const json_t *v)
{
	return json_is_object(v) ? "object" : json_is_array(v) ? "array" :
	       "value";
}

/* Convert one JSON value for field i; 0, or -1 with why filled. */
static int json_value(struct file_run *r, int i, json_t *j, char *why,
		      size_t whylen)
{
	enum rec_type t = r->schema->fields[i].type;
	struct rec_value *v = &r->vals[i];

	switch (json_typeof(j)) {
	case JSON_NULL:
		v->null = true;
		return 0;
	case JSON_STRING:
		return conv_text(t, json_string_value(j), json_string_length(j),
				 v, why, whylen);
	case JSON_INTEGER:
		return conv_int(t, (int64_t)json_integer_value(j), v,
				r->scratch[i], why, whylen);
	case JSON_REAL:
		return conv_float(t, json_real_value(j), v, r->scratch[i], why,
				  whylen);
	case JSON_TRUE:
	case JSON_FALSE:
		return conv_bool(t, json_is_true(j), v, why, whylen);
	case JSON_OBJECT:
	case JSON_ARRAY:
		break;
	}
	if (t != REC_TEXT) {
		snprintf(why, whylen, "cannot convert a JSON %s to %s",
			 json_kind(j), rec_type_name(t));
		return -1;
	}
	for (;;) {
		size_t n = json_dumpb(j, r->dump[i], r->dump_cap[i],
				      JSON_COMPACT);
		char *nb;

		if (n == 0) {
			snprintf(why, whylen, "cannot write the JSON %s",
				 json_kind(j));
			return -1;
		}
		if (n <= r->dump_cap[i])
			return conv_text(REC_TEXT, r->dump[i], n, v, why, whylen);
		nb = realloc(r->dump[i], n);
		if (nb == NULL) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		r->dump[i] = nb;
		r->dump_cap[i] = n;
	}
}

/* One JSON line: ST_OK (emitted or rejected) or a failure. */
static enum prov_status json_line(struct file_run *r, const char *name,
				  const struct line *l)
{
	char why[CONV_REASON_MAX];
	json_error_t err;
	json_t *root;
	enum prov_status st = ST_OK;
	int i;

	if (l->too_long) {
		snprintf(r->reason, sizeof r->reason,
			 "line longer than %zu bytes", (size_t)MAX_RECORD);
		return reject(r, name, l->no, r->reason, l->p, l->len);
	}
	root = json_loadb(l->p, l->len, JSON_DECODE_ANY, &err);
	if (root == NULL) {
		snprintf(r->reason, sizeof r->reason,
			 "invalid JSON: %s at column %d", err.text, err.column);
		return reject(r, name, l->no, r->reason, l->p, l->len);
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return reject(r, name, l->no, "not a JSON object", l->p, l->len);
	}
	for (i = 0; i < r->schema->nfields; i++) {
		json_t *j = jsonptr_resolve(&r->ptrs[i], root);

		if (j == NULL) {
			r->vals[i].null = true;
			continue;
		}
		if (json_value(r, i, j, why, sizeof why) < 0)
			break;
	}
	if (i < r->schema->nfields) {
		snprintf(r->reason, sizeof r->reason, "field %s: %s",
			 field_name(r, i), why);
		st = reject(r, name, l->no, r->reason, l->p, l->len);
	} else {
		st = emit(r);
	}
	/* Text values point into root: it lives until they are emitted. */
	json_decref(root);
	return st;
}

static enum prov_status read_jsonl(struct file_run *r, size_t idx,
				   struct src *s, uint64_t off, uint64_t line)
{
	const char *name = r->names[idx];
	enum prov_status st = ST_OK;
	struct line l;
	int rc;

	r->ls.pos = r->ls.len = 0;
	r->ls.off = 0;
	r->ls.line = 1;
	r->ls.eof = r->ls.partial = r->ls.too_long = false;
	r->ls.carry_len = 0;
	r->bom_check = true;
	if (off > 0) {
		st = src_seek(r->c, s, off);
		if (st != ST_OK)
			return st;
		r->ls.off = off;
		r->ls.line = line;
		r->bom_check = false;
	}
	while ((rc = line_next(r, s, &l, &st)) == 1) {
		if (!l.too_long && blank_line(l.p, l.len))
			st = ST_OK;
		else
			st = json_line(r, name, &l);
		if (st == ST_OK)
			st = after_record(r, idx, l.end_off, l.no + 1);
		if (st != ST_OK)
			return st;
	}
	return rc < 0 ? st : ST_OK;
}

/* Compile each field's source: a JSON pointer, or else a top-level key. */
static enum prov_status compile_pointers(struct file_run *r)
{
	char err[160];

	for (int i = 0; i < r->schema->nfields; i++) {
		const char *s = r->p->source[i];
		struct jsonptr *jp = &r->ptrs[i];

		if (s[0] == '/' || s[0] == '\0') {
			if (jsonptr_compile(jp, s, err, sizeof err) < 0)
				return prov_fail(r->c, PROV_FAIL_PERMANENT,
						 "field %s: %s",
						 field_name(r, i), err);
			continue;
		}
		/* One segment holding the key as it is: no escapes apply. */
		jp->seg = calloc(1, sizeof *jp->seg);
		jp->buf = strdup(s);
		if (jp->seg == NULL || jp->buf == NULL)
			return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
		jp->nseg = 1;
		jp->seg[0].key = jp->buf;
		jp->seg[0].len = strlen(s);
		jp->seg[0].index = -1;
	}
	return ST_OK;
}

/* --- the run ---------------------------------------------------------- */

/* Parse a resume token into file index, offset and line.  ST_OK or failure. */
static enum prov_status parse_token(struct file_run *r, size_t *idx,
				    uint64_t *off, uint64_t *line)
{
	struct prov_ctx *c = r->c;
	char tok[128];
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
	if (*idx > r->nnames ||
	    fnv1a(*idx < r->nnames ? r->names[*idx] : "") != fp)
		return prov_fail(c, PROV_FAIL_PERMANENT,
				 "%s: input files changed since the last "
				 "checkpoint (file %zu of the matches is not "
				 "the one read before)", r->p->path, *idx + 1);
	return ST_OK;

bad_token:
	return prov_fail(c, PROV_FAIL_PERMANENT, "bad resume token");
}

static enum prov_status setup(struct file_run *r)
{
	int n = r->schema->nfields;
	struct csv_options o = {
		.delimiter = r->p->delimiter,
		.quote = r->p->quote,
		.max_record = MAX_RECORD,
	};

	r->null_len = calloc((size_t)r->p->nnulls + 1, sizeof *r->null_len);
	for (int i = 0; r->null_len && i < r->p->nnulls; i++)
		r->null_len[i] = strlen(r->p->nulls[i]);
	r->buf = malloc(READ_BYTES);
	r->vals = calloc((size_t)n, sizeof *r->vals);
	r->scratch = calloc((size_t)n, sizeof *r->scratch);
	r->col = calloc((size_t)n, sizeof *r->col);
	r->ptrs = calloc((size_t)n, sizeof *r->ptrs);
	r->dump = calloc((size_t)n, sizeof *r->dump);
	r->dump_cap = calloc((size_t)n, sizeof *r->dump_cap);
	if (r->buf == NULL || r->vals == NULL || r->scratch == NULL ||
	    r->col == NULL || r->ptrs == NULL || r->dump == NULL ||
	    r->dump_cap == NULL || r->null_len == NULL)
		return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
	r->csv = csv_new(&o);
	if (r->csv == NULL)
		return prov_fail(r->c, errno == EINVAL ? PROV_FAIL_PERMANENT :
				 PROV_FAIL_RETRY, "%s",
				 errno == EINVAL ? "delimiter and quote must "
				 "differ and be neither CR nor LF" :
				 "out of memory");
	return ST_OK;
}

static void teardown(struct file_run *r)
{
	int n = r->schema->nfields;

	csv_free(r->csv);
	csvfast_free(&r->fast);
	if (r->ptrs != NULL)
		for (int i = 0; i < n; i++)
			jsonptr_free(&r->ptrs[i]);
	if (r->dump != NULL)
		for (int i = 0; i < n; i++)
			free(r->dump[i]);
	free(r->dump);
	free(r->dump_cap);
	free(r->null_len);
	free(r->ptrs);
	free(r->col);
	free(r->scratch);
	free(r->vals);
	free(r->buf);
	free(r->ls.carry);
	free(r->names);
	if (r->have_glob)
		globfree(&r->g);
}

static enum prov_status file_run(struct prov_ctx *c)
{
	struct file_run r = { .c = c, .p = c->p, .schema = &c->cfg->schema };
	enum prov_status st;
	bool positions_mapped = false, pointers_compiled = false;
	size_t idx;
	uint64_t off, line;

	st = match_files(c->p, &r.g, &r.names, &r.nnames, c->errbuf,
			 sizeof c->errbuf);
	r.have_glob = true;
	if (st != ST_OK)
		goto out_teardown;
	st = setup(&r);
	if (st != ST_OK)
		goto out_teardown;
	st = parse_token(&r, &idx, &off, &line);
	if (st != ST_OK)
		goto out_teardown;

	for (; idx < r.nnames; idx++, off = 0, line = 1) {
		const char *name = r.names[idx];
		int kind = kind_of(c->p, name);
		struct src s;

		if (kind < 0) {
			st = prov_fail(c, PROV_FAIL_PERMANENT,
				       "%s: cannot tell the format from the "
				       "extension (set format = csv or jsonl)",
				       name);
			goto out_teardown;
		}
		if (kind == KIND_CSV && !c->p->header && !positions_mapped) {
			st = map_positions(&r);
			if (st != ST_OK)
				goto out_teardown;
			positions_mapped = true;
		}
		if (kind == KIND_JSONL && !pointers_compiled) {
			st = compile_pointers(&r);
			if (st != ST_OK)
				goto out_teardown;
			pointers_compiled = true;
		}
		st = src_open(c, &s, name);
		if (st != ST_OK)
			goto out_teardown;
		if (kind == KIND_CSV)
			st = read_csv(&r, idx, &s, off, line);
		else
			st = read_jsonl(&r, idx, &s, off, line);
		src_close(&s);
		if (st != ST_OK)
			goto out_teardown;
		/* The end of every file is a resume point of its own. */
		st = checkpoint(&r, idx + 1, 0, 1);
		if (st != ST_OK)
			goto out_teardown;
	}
	st = PROV_DONE;

out_teardown:
	teardown(&r);
	return st;
}

/* "12.4 MB" */
static void human_size(uint64_t bytes, char *out, size_t outlen)
{
	static const char *const unit[] = { "kB", "MB", "GB", "TB", "PB" };
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1000) {
		snprintf(out, outlen, "%" PRIu64 " bytes", bytes);
		return;
	}
	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(out, outlen, "%.1f %s", v, unit[u]);
}

/*
 * --check of a CSV file with a header: read the header alone and resolve
 * the fields as a run would.  0, -1 (the file cannot be read), or
 * PROV_CHECK_CONFIG (a field without a column), with msg.
 */
static int check_header(const struct cfg *cfg, const struct cfg_provider *p,
			const char *name, char *msg, size_t msglen)
{
	struct prov_ctx c = { .cfg = cfg, .p = p };
	struct file_run r = { .c = &c, .p = p, .schema = &cfg->schema };
	struct csv_options o = {
		.delimiter = p->delimiter,
		.quote = p->quote,
		.max_record = MAX_RECORD,
	};
	struct src s = { .fd = -1 };
	struct csv_record rec;
	enum prov_status st = ST_OK;
	int rc = -1, got;

	r.csv = csv_new(&o);
	r.buf = malloc(READ_BYTES);
	r.col = calloc((size_t)cfg->schema.nfields + 1, sizeof *r.col);
	if (r.csv == NULL || r.buf == NULL || r.col == NULL) {
		snprintf(msg, msglen, "out of memory");
		goto out_free;
	}
	if (src_open(&c, &s, name) != ST_OK) {
		snprintf(msg, msglen, "%s", c.errbuf);
		goto out_free;
	}
	csv_reset(r.csv, 0, 1);
	r.bom_check = true;
	got = csv_pull(&r, &s, &rec, &st);
	if (got == -2) {
		snprintf(msg, msglen, "%s", c.errbuf);
	} else if (got == CSV_NOMEM) {
		snprintf(msg, msglen, "out of memory");
	} else if (got == CSV_MALFORMED) {
		snprintf(msg, msglen, "%s:%" PRIu64 ": bad header: %s", name,
			 rec.line, rec.reason);
	} else if (got == CSV_END) {
		rc = 0; /* empty: no header to check, no record to read */
	} else if (map_header(&r, name, &rec) != ST_OK) {
		snprintf(msg, msglen, "%s", c.errbuf);
		rc = c.fail_status == PROV_FAIL_CONFIG ? PROV_CHECK_CONFIG : -1;
	} else {
		rc = 0;
	}
	src_close(&s);
out_free:
	csv_free(r.csv);
	free(r.buf);
	free(r.col);
	return rc;
}

static int file_check(const struct cfg *cfg, const struct cfg_provider *p,
		      char *msg, size_t msglen)
{
	const char **names = NULL;
	size_t n = 0;
	uint64_t total = 0;
	char size[32];
	glob_t g;
	int rc = -1;

	(void)cfg;
	if (match_files(p, &g, &names, &n, msg, msglen) != ST_OK)
		goto out_globfree;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		int fd = open(names[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			snprintf(msg, msglen, "%s: %s", names[i],
				 strerror(errno));
			goto out_globfree;
		}
		if (fstat(fd, &st) < 0) {
			snprintf(msg, msglen, "%s: %s", names[i],
				 strerror(errno));
			close(fd);
			goto out_globfree;
		}
		close(fd);
		if (kind_of(p, names[i]) < 0) {
			snprintf(msg, msglen, "%s: cannot tell the format from "
				 "the extension (set format = csv or jsonl)",
				 names[i]);
			goto out_globfree;
		}
		if (kind_of(p, names[i]) == KIND_CSV && p->header) {
			int hr = check_header(cfg, p, names[i], msg, msglen);

			if (hr != 0) {
				rc = hr;
				goto out_globfree;
			}
		}
		total += (uint64_t)st.st_size;
	}
	human_size(total, size, sizeof size);
	snprintf(msg, msglen, "%zu file%s, %s", n, n == 1 ? "" : "s", size);
	rc = 0;

out_globfree:
	free(names);
	globfree(&g);
	return rc;
}

const struct prov_ops file_provider_ops = {
	.name = "file",
	.run = file_run,
	.check = file_check,
};
