/*
 * partial.c - partials: the file, its checks, sets of them, and merging
 * them (partial.h).  What a provider's part of an output holds is
 * partial_state.c's.
 *
 * The file (little-endian):
 *    0  magic "AGGPART\0"
 *    8  u32 format version (PARTIAL_VERSION; PARTIAL_VERSION_MIN read)
 *   12  u32 shards of the run (N)
 *   16  u64 the config's fingerprint
 *   24  u64 length of the whole file, the checksum included
 *   32  u32 outputs, u32 providers, u32 pieces
 *   44  the shards covered: N bits, shard i at bit i % 8 of byte i / 8
 *       then each piece, by provider then first shard:
 *       u32 provider, u32 first and u32 last shard, u8 dropped,
 *       u64 records, u64 rejects, u64 filtered (from version 2; one
 *       read from version 1 is PARTIAL_FILTERED_UNKNOWN), u64 length
 *       and the REJECT payloads
 *       (each after its u32 length), and per output u64 length and its
 *       part (partial_state.h)
 *  end  u32 CRC-32 (zlib's) of every byte before it
 *
 * Checks, in order, each refusing the file with its name: the magic (not
 * a partial), the length (truncated), the checksum (corrupt), the
 * version, the fingerprint (another config), the shards (another N, a
 * shard another file covers), then the layout itself.
 *
 * Invariant: in a file, a provider's pieces never share a shard, and
 * pieces on consecutive shards of one provider are one piece when a merge
 * wrote them; partial_set_load() folds them in shard order, which is the
 * order a single run reads a split provider's input in.
 */
#include "partial.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../common/buf.h"
#include "../common/config_read.h"
#include "../common/sysio.h"
#include "gtable.h"
#include "outfile.h"
#include "partial_state.h"

#define MAGIC "AGGPART"    /* and its NUL: 8 bytes */
#define HDR_SIZE 44

/* ------------------------------------------------------------------ */
/* The fingerprint                                                     */
/* ------------------------------------------------------------------ */

/* Keys of [aggregate] and [output NAME] that do not shape the states. */
static const char *const out_keys[] = {
	"output", "format", "table", "write", "order_by", "having", "limit",
	"reject_file", "lock_file", "metrics_file", "on_error", "restart",
	"backoff", "backoff_max", "stall_timeout", "timeout", "memory_limit",
	"ring_size", "max_rejects", "trace_file", "memory", "state",
	NULL
};

/* Keys of a provider that say how, not what, it reads. */
static const char *const prov_keys[] = {
	"restart", "stall_timeout", "memory_limit", "max_rejects", "batch",
	"pushdown",
	"concurrency", "connect_timeout", "retries", "rate_limit", "timeout",
	"ca_file", "insecure", "max_response", NULL
};

static bool listed(const char *const *l, const char *key)
{
	for (; *l; l++)
		if (strcmp(*l, key) == 0)
			return true;
	return false;
}

/*
 * Add value v of key to b without its credentials: a conninfo's
 * password=..., a URL's user:password@, a header's value.
 */
static int add_masked(struct buf *b, const char *key, const char *v,
		      size_t n)
{
	const char *end = v + n, *p;

	if (n == 0)
		return 0;
	if (strcmp(key, "header") == 0) {
		p = memchr(v, ':', n);
		return buf_add(b, v, p ? (size_t)(p - v) : n);
	}
	if (strcmp(key, "url") == 0 && (p = strstr(v, "://")) != NULL &&
	    p < end) {
		const char *host = p + 3, *at = host;

		while (at < end && *at != '@' && *at != '/')
			at++;
		if (at < end && *at == '@')
			return buf_add(b, v, (size_t)(host - v)) < 0 ? -1 :
			       buf_add(b, at + 1, (size_t)(end - at - 1));
	}
	if (strcmp(key, "conninfo") == 0) {
		for (p = v; p < end;) {
			const char *w = p;

			while (w < end && *w != ' ' && *w != '\t')
				w++;
			if (!((size_t)(w - p) >= 9 &&
			      strncmp(p, "password=", 9) == 0) &&
			    buf_add(b, p, (size_t)(w - p + (w < end))) < 0)
				return -1;
			p = w + (w < end);
		}
		return 0;
	}
	return buf_add(b, v, n);
}

int partial_fingerprint(const char *path, uint64_t *fp, char *err,
			size_t errlen)
{
	struct cfg_doc doc = { .name = path, .err = err, .errlen = errlen };
	struct buf text = { 0 }, canon = { 0 };
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
	ssize_t n;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		if (buf_add(&text, chunk, (size_t)n) < 0)
			goto out_nomem;
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (cfg_read(&doc, (const char *)text.p, text.len) < 0)
		goto out;
	for (int i = 0; i < doc.nents; i++) {
		const struct cfg_entry *e = &doc.ents[i];
		const struct cfg_sect *s = &doc.sects[e->sect];
		const char *name = s->name ? s->name : "";

		if (listed(s->kind == CFG_SECT_PROVIDER ? prov_keys : out_keys,
			   e->key))
			continue;
		if (buf_add(&canon, &s->kind, sizeof s->kind) < 0 ||
		    buf_add(&canon, name, strlen(name) + 1) < 0 ||
		    buf_add(&canon, e->key, strlen(e->key) + 1) < 0 ||
		    add_masked(&canon, e->key, (const char *)e->val.p,
			       e->val.len) < 0 ||
		    buf_add(&canon, "\n", 1) < 0)
			goto out_nomem;
	}
	*fp = hash_bytes(canon.p ? canon.p : (const unsigned char *)"",
			 canon.len) ^
	      ((uint64_t)crc32(0, canon.p, (uInt)canon.len) << 17);
	rc = 0;
	goto out;
out_nomem:
	snprintf(err, errlen, "out of memory");
out:
	close(fd);
	cfg_doc_free(&doc);
	buf_free(&text);
	buf_free(&canon);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Writing a file                                                      */
/* ------------------------------------------------------------------ */

static int put_u32(struct buf *b, uint32_t v)
{
	return buf_add(b, &v, 4);
}

static int put_u64(struct buf *b, uint64_t v)
{
	return buf_add(b, &v, 8);
}

/* The header, its length left for finish_file(). */
static int start_file(struct buf *b, int nshards, uint64_t fp, int nouts,
		      int nprovs, int npieces, const bool *covered)
{
	size_t nb = ((size_t)nshards + 7) / 8;
	unsigned char *bits;

	if (buf_add(b, MAGIC, 8) < 0 || put_u32(b, PARTIAL_VERSION) < 0 ||
	    put_u32(b, (uint32_t)nshards) < 0 || put_u64(b, fp) < 0 ||
	    put_u64(b, 0) < 0 || put_u32(b, (uint32_t)nouts) < 0 ||
	    put_u32(b, (uint32_t)nprovs) < 0 ||
	    put_u32(b, (uint32_t)npieces) < 0 || buf_reserve(b, nb) < 0)
		return -1;
	bits = b->p + b->len;
	memset(bits, 0, nb);
	for (int i = 0; i < nshards; i++)
		if (covered[i])
			bits[i / 8] |= (unsigned char)(1u << (i % 8));
	b->len += nb;
	return 0;
}

/* The length and the checksum, then the file, atomically. */
static int finish_file(struct buf *b, const char *path, char *err,
		       size_t errlen)
{
	struct outfile o;
	uint64_t total = b->len + 4;
	uint32_t crc;

	memcpy(b->p + 24, &total, 8);
	crc = (uint32_t)crc32(0, b->p, (uInt)b->len);
	if (put_u32(b, crc) < 0) {
		snprintf(err, errlen, "out of memory writing %s", path);
		return -1;
	}
	if (outfile_open(&o, path, "partial", 0, err, errlen) < 0)
		return -1;
	if (sys_write_all(o.fd, b->p, b->len) < 0) {
		snprintf(err, errlen, "cannot write partial %s: %s", path,
			 strerror(errno));
		outfile_abort(&o);
		return -1;
	}
	return outfile_commit(&o, err, errlen);
}

/* One piece's head: provider, shards, counts and rejects. */
static int put_piece_head(struct buf *b, int pi, int lo, int hi,
			  bool dropped, const struct partial_prov *n,
			  const unsigned char *rej, size_t rejlen)
{
	unsigned char d = dropped;

	return put_u32(b, (uint32_t)pi) < 0 || put_u32(b, (uint32_t)lo) < 0 ||
	       put_u32(b, (uint32_t)hi) < 0 || buf_add(b, &d, 1) < 0 ||
	       put_u64(b, n->records) < 0 || put_u64(b, n->rejects) < 0 ||
	       put_u64(b, n->filtered) < 0 || put_u64(b, rejlen) < 0 ||
	       buf_add(b, rej, rejlen) < 0 ? -1 : 0;
}

/* Provider pi's part of every output, each after its u64 length. */
static int put_parts(struct buf *b, const struct cfg *views,
		     struct merge *const *merges, int nmerges, int pi,
		     char *err, size_t errlen)
{
	for (int o = 0; o < nmerges; o++) {
		size_t at = b->len;
		uint64_t len;

		if (put_u64(b, 0) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (pstate_save(b, &views[o], merges[o], pi, err, errlen) < 0)
			return -1;
		len = b->len - at - 8;
		memcpy(b->p + at, &len, 8);
	}
	return 0;
}

/* The view of every output of cfg: [aggregate]'s first.  NULL: no memory. */
static struct cfg *make_views(const struct cfg *cfg, int *n)
{
	struct cfg *v = calloc((size_t)cfg->noutputs + 1, sizeof *v);

	*n = cfg->noutputs + 1;
	for (int i = 0; v && i < *n; i++)
		cfg_output_view(cfg, i - 1, &v[i]);
	return v;
}

int partial_save(const char *path, const struct cfg *cfg,
		 struct merge *const *merges, int nmerges,
		 const struct partial_prov *prov, char *err, size_t errlen)
{
	struct buf b = { 0 };
	int nshards = cfg->nshards > 0 ? cfg->nshards : 1; /* 0: not sharded */
	bool *covered = calloc((size_t)nshards + 1, sizeof *covered);
	int nviews, npieces = 0, rc = -1;
	struct cfg *views = make_views(cfg, &nviews);

	if (covered == NULL || views == NULL || nviews != nmerges)
		goto out_nomem;
	covered[cfg->shard < nshards ? cfg->shard : 0] = true;
	for (int i = 0; i < cfg->nproviders; i++)
		npieces += prov[i].ran;
	if (start_file(&b, nshards, cfg->fingerprint, nmerges,
		       cfg->nproviders, npieces, covered) < 0)
		goto out_nomem;
	for (int i = 0; i < cfg->nproviders; i++) {
		size_t rejlen;
		const unsigned char *rej;

		if (!prov[i].ran)
			continue;
		rej = merge_rejects(merges[0], i, &rejlen);
		if (put_piece_head(&b, i, cfg->shard, cfg->shard,
				   prov[i].dropped ||
				   merge_part_dropped(merges[0], i), &prov[i],
				   rej, rejlen) < 0)
			goto out_nomem;
		if (put_parts(&b, views, merges, nmerges, i, err, errlen) < 0)
			goto out;
	}
	rc = finish_file(&b, path, err, errlen);
	goto out;
out_nomem:
	snprintf(err, errlen, "out of memory writing partial %s", path);
out:
	buf_free(&b);
	free(covered);
	free(views);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Reading files into a set                                            */
/* ------------------------------------------------------------------ */

struct piece {
	int prov, lo, hi;
	bool dropped;
	uint64_t records, rejects, filtered;
	const unsigned char *rej;
	size_t rejlen;
	const unsigned char **part; /* per output */
	size_t *partlen;
};

struct pfile {
	char *path;
	unsigned char *data;
	size_t len;
};

struct partial_set {
	const struct cfg *cfg;
	struct cfg *views;
	int nouts;
	int nshards;          /* 0 until the first file */
	int *owner;           /* per shard: the file covering it + 1, or 0 */
	struct pfile *files;
	int nfiles;
	struct piece *pieces;
	int npieces;
};

struct partial_set *partial_set_new(const struct cfg *cfg)
{
	struct partial_set *ps = calloc(1, sizeof *ps);

	if (ps == NULL)
		return NULL;
	ps->cfg = cfg;
	ps->views = make_views(cfg, &ps->nouts);
	if (ps->views == NULL) {
		free(ps);
		return NULL;
	}
	return ps;
}

void partial_set_free(struct partial_set *ps)
{
	if (ps == NULL)
		return;
	for (int i = 0; i < ps->nfiles; i++) {
		free(ps->files[i].path);
		free(ps->files[i].data);
	}
	for (int i = 0; i < ps->npieces; i++) {
		free(ps->pieces[i].part);
		free(ps->pieces[i].partlen);
	}
	free(ps->files);
	free(ps->pieces);
	free(ps->owner);
	free(ps->views);
	free(ps);
}

/* The whole of path into *data.  0, or -1 with err. */
static int slurp(const char *path, unsigned char **data, size_t *len,
		 char *err, size_t errlen)
{
	struct buf b = { 0 };
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		snprintf(err, errlen, "cannot read partial %s: %s", path,
			 strerror(errno));
		return -1;
	}
	while ((n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || buf_add(&b, chunk, (size_t)n) < 0) {
			snprintf(err, errlen, "partial %s: %s", path,
				 n < 0 ? strerror(errno) : "out of memory");
			close(fd);
			buf_free(&b);
			return -1;
		}
	}
	close(fd);
	*data = b.p;
	*len = b.len;
	return 0;
}

/* Bounded reads of a file's layout (partial_state.h). */
static uint32_t get_u32(struct part_rd *r)
{
	uint32_t v = 0;

	part_get(r, &v, 4);
	return v;
}

static uint64_t get_u64(struct part_rd *r)
{
	uint64_t v = 0;

	part_get(r, &v, 8);
	return v;
}

/* The header checks; *nshards and the covered bits on success. */
static int check_head(const struct partial_set *ps, const char *path,
		      const unsigned char *d, size_t len, char *err,
		      size_t errlen)
{
	uint64_t total, fp;
	uint32_t crc, version, n;

	if (len < 8 || memcmp(d, MAGIC, 8) != 0) {
		snprintf(err, errlen, "partial %s: not a partial of aggregate "
			 "(no AGGPART header)", path);
		return -1;
	}
	if (len < HDR_SIZE + 4) {
		snprintf(err, errlen, "partial %s: truncated (%zu bytes, not "
			 "even a header)", path, len);
		return -1;
	}
	memcpy(&total, d + 24, 8);
	if (total != len) {
		snprintf(err, errlen, "partial %s: %s (%zu bytes, its header "
			 "says %llu)", path, len < total ? "truncated" :
			 "trailing bytes after its end", len,
			 (unsigned long long)total);
		return -1;
	}
	memcpy(&crc, d + len - 4, 4);
	if (crc != (uint32_t)crc32(0, d, (uInt)(len - 4))) {
		snprintf(err, errlen, "partial %s: corrupt (checksum "
			 "mismatch)", path);
		return -1;
	}
	memcpy(&version, d + 8, 4);
	if (version < PARTIAL_VERSION_MIN || version > PARTIAL_VERSION) {
		snprintf(err, errlen, "partial %s: format version %u, this "
			 "aggregate reads versions %d to %d", path, version,
			 PARTIAL_VERSION_MIN, PARTIAL_VERSION);
		return -1;
	}
	memcpy(&fp, d + 16, 8);
	if (fp != ps->cfg->fingerprint) {
		snprintf(err, errlen, "partial %s: written for another config "
			 "(fingerprint %016llx, %s has %016llx)", path,
			 (unsigned long long)fp, ps->cfg->path,
			 (unsigned long long)ps->cfg->fingerprint);
		return -1;
	}
	memcpy(&n, d + 12, 4);
	if (n < 1 || n > PARTIAL_SHARDS_MAX) {
		snprintf(err, errlen, "partial %s: malformed (%u shards)", path,
			 n);
		return -1;
	}
	if (ps->nshards && (int)n != ps->nshards) {
		snprintf(err, errlen, "partial %s: a run of %u shards, the "
			 "others are of %d", path, n, ps->nshards);
		return -1;
	}
	return 0;
}

/* The pieces of file fi (its header checked) into ps. */
static int read_pieces(struct partial_set *ps, int fi, char *err,
		       size_t errlen)
{
	const struct pfile *f = &ps->files[fi];
	struct part_rd r = { f->data, f->len - 4, 32, false };
	uint32_t nouts = get_u32(&r), nprovs = get_u32(&r);
	uint32_t npieces = get_u32(&r), version;
	struct piece *np;

	memcpy(&version, f->data + 8, 4); /* check_head() took it */
	if (part_take(&r, ((size_t)ps->nshards + 7) / 8) == NULL ||
	    nouts != (uint32_t)ps->nouts ||
	    nprovs != (uint32_t)ps->cfg->nproviders ||
	    npieces > nprovs * (uint32_t)ps->nshards)
		goto out_bad;
	np = realloc(ps->pieces, sizeof *np * (size_t)(ps->npieces + (int)npieces + 1));
	if (np == NULL)
		goto out_nomem;
	ps->pieces = np;
	for (uint32_t k = 0; k < npieces; k++) {
		struct piece *p = &ps->pieces[ps->npieces];
		const unsigned char *dropped;

		memset(p, 0, sizeof *p);
		p->prov = (int)get_u32(&r);
		p->lo = (int)get_u32(&r);
		p->hi = (int)get_u32(&r);
		dropped = part_take(&r, 1);
		p->records = get_u64(&r);
		p->rejects = get_u64(&r);
		p->filtered = version >= 2 ? get_u64(&r)
					   : PARTIAL_FILTERED_UNKNOWN;
		p->rejlen = get_u64(&r);
		p->rej = part_take(&r, p->rejlen);
		if (r.bad || p->prov < 0 || p->prov >= ps->cfg->nproviders ||
		    p->lo < 0 || p->hi < p->lo || p->hi >= ps->nshards ||
		    *dropped > 1)
			goto out_bad;
		/* Every shard of the piece is the file's. */
		for (int s = p->lo; s <= p->hi; s++)
			if (ps->owner[s] != fi + 1)
				goto out_bad;
		p->dropped = *dropped;
		p->part = calloc((size_t)ps->nouts, sizeof *p->part);
		p->partlen = calloc((size_t)ps->nouts, sizeof *p->partlen);
		ps->npieces++;
		if (p->part == NULL || p->partlen == NULL)
			goto out_nomem;
		for (int o = 0; o < ps->nouts; o++) {
			p->partlen[o] = get_u64(&r);
			p->part[o] = part_take(&r, p->partlen[o]);
			if (r.bad)
				goto out_bad;
		}
	}
	if (r.off != r.len)
		goto out_bad;
	return 0;
out_bad:
	snprintf(err, errlen, "partial %s: malformed (its layout does not "
		 "match this config's outputs and providers)", f->path);
	return -1;
out_nomem:
	snprintf(err, errlen, "out of memory reading partial %s", f->path);
	return -1;
}

int partial_set_add(struct partial_set *ps, const char *path, char *err,
		    size_t errlen, int *exit_code)
{
	struct pfile f = { 0 }, *nf;
	uint32_t n;
	const unsigned char *bits;

	*exit_code = 66;
	if (slurp(path, &f.data, &f.len, err, errlen) < 0)
		return -1;
	*exit_code = 65;
	if (check_head(ps, path, f.data, f.len, err, errlen) < 0)
		goto out_free;
	memcpy(&n, f.data + 12, 4);
	if (ps->nshards == 0) {
		ps->owner = calloc(n, sizeof *ps->owner);
		if (ps->owner == NULL)
			goto out_nomem;
		ps->nshards = (int)n;
	}
	if (f.len < HDR_SIZE + ((size_t)n + 7) / 8 + 4) {
		snprintf(err, errlen, "partial %s: malformed (no shard map)",
			 path);
		goto out_free;
	}
	bits = f.data + HDR_SIZE;
	for (uint32_t s = 0; s < n; s++) {
		if (!(bits[s / 8] & (1u << (s % 8))))
			continue;
		if (ps->owner[s]) {
			snprintf(err, errlen, "partial %s: shard %u of %u is "
				 "also in %s (each shard must be given once)",
				 path, s, n, ps->files[ps->owner[s] - 1].path);
			goto out_free;
		}
	}
	nf = realloc(ps->files, sizeof *nf * (size_t)(ps->nfiles + 1));
	if (nf == NULL)
		goto out_nomem;
	ps->files = nf;
	f.path = strdup(path);
	if (f.path == NULL)
		goto out_nomem;
	ps->files[ps->nfiles++] = f;
	for (uint32_t s = 0; s < n; s++)
		if (bits[s / 8] & (1u << (s % 8)))
			ps->owner[s] = ps->nfiles;
	return read_pieces(ps, ps->nfiles - 1, err, errlen);
out_nomem:
	snprintf(err, errlen, "out of memory reading partial %s", path);
	*exit_code = 1;
out_free:
	free(f.data);
	return -1;
}

int partial_set_complete(const struct partial_set *ps, char *err,
			 size_t errlen)
{
	size_t len = 0;
	int missing = 0;

	if (ps->nshards == 0) {
		snprintf(err, errlen, "no partial given");
		return -1;
	}
	for (int s = 0; s < ps->nshards; s++) {
		if (ps->owner[s])
			continue;
		if (missing++ == 0)
			len = (size_t)snprintf(err, errlen, "missing the "
					       "partial of shard");
		if (len < errlen)
			len += (size_t)snprintf(err + len, errlen - len, "%s %d",
						missing > 1 ? "," : "", s);
	}
	if (missing == 0)
		return 0;
	if (len < errlen)
		snprintf(err + len, errlen - len, " of %d (shards count from "
			 "0)", ps->nshards);
	return -1;
}

void partial_set_drop(struct partial_set *ps, int pi)
{
	int k = 0;

	for (int i = 0; i < ps->npieces; i++) {
		if (ps->pieces[i].prov == pi) {
			free(ps->pieces[i].part);
			free(ps->pieces[i].partlen);
			continue;
		}
		ps->pieces[k++] = ps->pieces[i];
	}
	ps->npieces = k;
}

int partial_set_nshards(const struct partial_set *ps)
{
	return ps->nshards;
}

void partial_set_prov(const struct partial_set *ps, int pi,
		      struct partial_prov *out)
{
	memset(out, 0, sizeof *out);
	for (int i = 0; i < ps->npieces; i++) {
		const struct piece *p = &ps->pieces[i];

		if (p->prov != pi)
			continue;
		out->ran = true;
		out->dropped |= p->dropped;
		out->records += p->records;
		out->rejects += p->rejects;
		out->filtered = partial_filtered_add(out->filtered,
						     p->filtered);
	}
}

/* ------------------------------------------------------------------ */
/* Loading and merging                                                 */
/* ------------------------------------------------------------------ */

static int piece_cmp(const void *pa, const void *pb)
{
	const struct piece *a = pa, *b = pb;

	if (a->prov != b->prov)
		return a->prov < b->prov ? -1 : 1;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* Sort the pieces once: by provider, then shard. */
static void sort_pieces(const struct partial_set *ps)
{
	if (ps->npieces > 0) /* none: an incremental run's first state */
		qsort(ps->pieces, (size_t)ps->npieces, sizeof *ps->pieces,
		      piece_cmp);
}

/* Fold pieces [from, to) (one provider's, in shard order) into merges. */
static int load_pieces(const struct partial_set *ps, int from, int to,
		       struct merge *const *merges, char *err, size_t errlen)
{
	for (int i = from; i < to; i++) {
		const struct piece *p = &ps->pieces[i];

		for (int o = 0; o < ps->nouts; o++)
			if (pstate_load(&ps->views[o], merges[o], p->prov,
					p->part[o], p->partlen[o], err,
					errlen) < 0)
				return -1;
		if (merge_add_rejects(merges[0], p->prov, p->rej,
				      p->rejlen) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

int partial_set_load(const struct partial_set *ps, struct merge *const *merges,
		     int nmerges, char *err, size_t errlen)
{
	if (nmerges != ps->nouts) {
		snprintf(err, errlen, "internal error: %d outputs, %d in the "
			 "partials", nmerges, ps->nouts);
		return -1;
	}
	sort_pieces(ps);
	if (load_pieces(ps, 0, ps->npieces, merges, err, errlen) < 0)
		return -1;
	for (int pi = 0; pi < ps->cfg->nproviders; pi++) {
		struct partial_prov pp;

		partial_set_prov(ps, pi, &pp);
		for (int o = 0; pp.dropped && o < nmerges; o++)
			merge_drop(merges[o], pi);
	}
	return 0;
}

/* Pieces [from, to) of one provider on consecutive shards as one. */
static int put_run(const struct partial_set *ps, struct buf *b, int from,
		   int to, char *err, size_t errlen)
{
	const struct piece *first = &ps->pieces[from];
	struct merge **ms = calloc((size_t)ps->nouts, sizeof *ms);
	struct buf rej = { 0 };
	struct partial_prov n = { 0 };
	bool dropped = false;
	int rc = -1;

	for (int i = from; i < to; i++) {
		n.records += ps->pieces[i].records;
		n.rejects += ps->pieces[i].rejects;
		n.filtered = partial_filtered_add(n.filtered,
						  ps->pieces[i].filtered);
		dropped |= ps->pieces[i].dropped;
		if (buf_add(&rej, ps->pieces[i].rej, ps->pieces[i].rejlen) < 0)
			goto out_nomem;
	}
	for (int o = 0; ms && o < ps->nouts; o++)
		if ((ms[o] = merge_new(&ps->views[o])) == NULL)
			goto out_nomem;
	if (ms == NULL)
		goto out_nomem;
	if (put_piece_head(b, first->prov, first->lo, ps->pieces[to - 1].hi,
			   dropped, &n, rej.p, rej.len) < 0)
		goto out_nomem;
	/* Rejects are the pieces' own, above: only the states fold here. */
	for (int i = from; i < to; i++)
		for (int o = 0; o < ps->nouts; o++)
			if (pstate_load(&ps->views[o], ms[o], first->prov,
					ps->pieces[i].part[o],
					ps->pieces[i].partlen[o], err,
					errlen) < 0)
				goto out;
	rc = put_parts(b, ps->views, ms, ps->nouts, first->prov, err, errlen);
	goto out;
out_nomem:
	snprintf(err, errlen, "out of memory merging partials");
out:
	for (int o = 0; ms && o < ps->nouts; o++)
		merge_free(ms[o]);
	free(ms);
	buf_free(&rej);
	return rc;
}

int partial_set_save(const struct partial_set *ps, const char *path,
		     char *err, size_t errlen)
{
	struct buf b = { 0 };
	bool *covered = calloc((size_t)ps->nshards + 1, sizeof *covered);
	int nruns = 0, rc = -1;

	if (covered == NULL)
		goto out_nomem;
	for (int s = 0; s < ps->nshards; s++)
		covered[s] = ps->owner[s] != 0;
	sort_pieces(ps);
	for (int i = 0; i < ps->npieces; i++)
		nruns += i == 0 || ps->pieces[i].prov != ps->pieces[i - 1].prov ||
			 ps->pieces[i].lo != ps->pieces[i - 1].hi + 1;
	if (start_file(&b, ps->nshards, ps->cfg->fingerprint, ps->nouts,
		       ps->cfg->nproviders, nruns, covered) < 0)
		goto out_nomem;
	for (int i = 0, j; i < ps->npieces; i = j) {
		for (j = i + 1; j < ps->npieces &&
				ps->pieces[j].prov == ps->pieces[i].prov &&
				ps->pieces[j].lo == ps->pieces[j - 1].hi + 1;
		     j++)
			;
		if (put_run(ps, &b, i, j, err, errlen) < 0)
			goto out;
	}
	rc = finish_file(&b, path, err, errlen);
	goto out;
out_nomem:
	snprintf(err, errlen, "out of memory writing partial %s", path);
out:
	buf_free(&b);
	free(covered);
	return rc;
}
