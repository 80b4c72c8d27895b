/*
 * incr.c - incremental runs over a state folder (incr.h): the run's
 * side, from incr_begin() to the commit in incr_end(); what reads the
 * state from outside a run (`aggregate state`, --check) is incr_show.c.
 *
 * G.marks, text, so that it can be read and diffed:
 *   aggregate-state 1
 *   fingerprint HEX16
 *   generation G
 *   time UNIX-SECONDS
 *   provider NAME TYPE
 *   file BYTES LINE HASH NAME      (NAME and provider NAMEs %-escaped)
 *   crc HEX8                       (CRC-32 of every byte before this line)
 * HASH is zlib's CRC-32 and Adler-32 of the file's first BYTES bytes
 * (decompressed for .gz), as 16 hex digits: a changed prefix is caught
 * unless both collide.
 */
#include "incr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "../aggregator/partial.h"
#include "../common/log.h"
#include "../providers/file_conf.h"
#include "../providers/file_src.h"
#include "../providers/http_conf.h"
#include "../providers/sql_conf.h"
#include "incr_int.h"
#include "sup.h"

#define MARKS_TAG "aggregate-state"
#define MARKS_VERSION 1

struct incr {
	char *dir;
	int lock_fd;
	unsigned long gen;          /* the current generation, 0: none */
	struct incr_prov_marks *next; /* per provider: the new bookmarks */
	struct partial_set *ps;
	char *save;                 /* DIR/G+1.partial */
	struct sup_token *tokens;   /* per provider: in and out of the run */
};

/* --- small helpers ----------------------------------------------------- */

char *incr_path_of(const char *dir, unsigned long gen, const char *ext)
{
	char *p;

	if (asprintf(&p, "%s/%lu.%s", dir, gen, ext) < 0)
		return NULL;
	return p;
}

static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c == '%' || c == 0x7f)
			fprintf(f, "%%%02x", c);
		else
			fputc(c, f);
	}
}

/* Undo put_escaped in place; false if malformed. */
static bool unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		unsigned v;

		if (*s != '%') {
			*w++ = *s;
			continue;
		}
		if (sscanf(s + 1, "%2x", &v) != 1 || v == 0)
			return false;
		*w++ = (char)v;
		s += 2;
	}
	*w = '\0';
	return true;
}

void incr_marks_free(struct incr_prov_marks *pm, int n)
{
	for (int i = 0; pm && i < n; i++) {
		for (size_t k = 0; k < pm[i].n; k++)
			free(pm[i].m[k].name);
		free(pm[i].m);
		free(pm[i].token);
	}
	free(pm);
}

static int marks_add(struct incr_prov_marks *pm, const char *name,
		     uint64_t bytes, uint64_t line, uint64_t hash)
{
	struct incr_mark *nm = realloc(pm->m, sizeof *nm * (pm->n + 1));

	if (nm == NULL)
		return -1;
	pm->m = nm;
	nm[pm->n].name = strdup(name);
	if (nm[pm->n].name == NULL)
		return -1;
	nm[pm->n].bytes = bytes;
	nm[pm->n].line = line;
	nm[pm->n].hash = hash;
	pm->n++;
	return 0;
}

static const char *type_name(enum cfg_provider_type t)
{
	return t == CFG_PROV_FILE ? "file" : t == CFG_PROV_SQLITE ? "sqlite"
	     : t == CFG_PROV_POSTGRES ? "postgres" : "http";
}

/* --- reading G.marks ---------------------------------------------------- */

void incr_marks_file_free(struct incr_marks_file *mf)
{
	for (int i = 0; i < mf->nprov; i++)
		free(mf->prov_names[i]);
	free(mf->prov_names);
	incr_marks_free(mf->pm, mf->nprov);
	memset(mf, 0, sizeof *mf);
}

int incr_marks_read(const char *path, struct incr_marks_file *mf, char *err,
		    size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *data = NULL, *line, *save = NULL, *crcline;
	size_t len = 0, cap = 0;
	unsigned long crc;
	int version = 0, rc = -1;

	memset(mf, 0, sizeof *mf);
	if (f == NULL) {
		snprintf(err, errlen, "state file %s: %s", path,
			 strerror(errno));
		return -1;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *nd = realloc(data, cap = cap * 2 + 8192);

			if (nd == NULL)
				goto out_nomem;
			data = nd;
		}
		size_t got = fread(data + len, 1, cap - len - 1, f);

		len += got;
		if (got == 0)
			break;
	}
	data[len] = '\0';
	/* The last line: "crc HEX8\n", over everything before it. */
	crcline = len >= 13 ? data + len - 13 : NULL;
	if (crcline == NULL || strncmp(crcline, "crc ", 4) != 0 ||
	    (crcline > data && crcline[-1] != '\n') ||
	    data[len - 1] != '\n' || sscanf(crcline + 4, "%8lx", &crc) != 1) {
		snprintf(err, errlen, "state file %s: truncated (no checksum "
			 "at its end)", path);
		goto out;
	}
	if (crc32(0, (const Bytef *)data, (uInt)(crcline - data)) != crc) {
		snprintf(err, errlen, "state file %s: corrupt (checksum "
			 "mismatch)", path);
		goto out;
	}
	*crcline = '\0';
	for (line = strtok_r(data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[4096], type[16];
		unsigned long long a, b, h;
		int used = 0;

		if (sscanf(line, MARKS_TAG " %d", &version) == 1) {
			if (version != MARKS_VERSION) {
				snprintf(err, errlen, "state file %s: format "
					 "version %d, this program reads %d",
					 path, version, MARKS_VERSION);
				goto out;
			}
		} else if (sscanf(line, "fingerprint %llx", &h) == 1) {
			mf->fingerprint = h;
		} else if (sscanf(line, "generation %lu", &mf->gen) == 1) {
		} else if (sscanf(line, "time %lld", &mf->time) == 1) {
		} else if (sscanf(line, "provider %4095s %15s", name,
				  type) == 2) {
			char **nn = realloc(mf->prov_names, sizeof *nn *
					    (size_t)(mf->nprov + 1));
			struct incr_prov_marks *np;

			if (nn == NULL)
				goto out_nomem;
			mf->prov_names = nn;
			np = realloc(mf->pm, sizeof *np * (size_t)(mf->nprov + 1));
			if (np == NULL)
				goto out_nomem;
			mf->pm = np;
			memset(&np[mf->nprov], 0, sizeof *np);
			if (!unescape(name) ||
			    (nn[mf->nprov] = strdup(name)) == NULL)
				goto out_bad;
			mf->nprov++;
		} else if (strncmp(line, "token ", 6) == 0 && mf->nprov > 0) {
			struct incr_prov_marks *pm = &mf->pm[mf->nprov - 1];
			size_t hl = strlen(line + 6);

			if (hl % 2 || hl / 2 > PROV_TOKEN_MAX || pm->token)
				goto out_bad;
			pm->token = malloc(hl / 2 + 1);
			if (pm->token == NULL)
				goto out_nomem;
			for (size_t k = 0; k < hl / 2; k++) {
				unsigned v;

				if (sscanf(line + 6 + 2 * k, "%2x", &v) != 1)
					goto out_bad;
				pm->token[k] = (unsigned char)v;
			}
			pm->token_len = (uint32_t)(hl / 2);
		} else if (sscanf(line, "file %llu %llu %llx %n", &a, &b, &h,
				  &used) == 3 && used > 0 && mf->nprov > 0) {
			char *n = line + used;

			if (!unescape(n) || b == 0)
				goto out_bad;
			if (marks_add(&mf->pm[mf->nprov - 1], n, a, b, h) < 0)
				goto out_nomem;
		} else {
			goto out_bad;
		}
	}
	if (version != MARKS_VERSION)
		goto out_bad;
	rc = 0;
	goto out;
out_bad:
	snprintf(err, errlen, "state file %s: malformed", path);
	goto out;
out_nomem:
	snprintf(err, errlen, "out of memory reading %s", path);
out:
	if (rc < 0)
		incr_marks_file_free(mf);
	free(data);
	fclose(f);
	return rc;
}

int incr_read_current(const char *dir, unsigned long *gen, char *err,
		      size_t errlen)
{
	char *path, buf[32];
	FILE *f;
	int rc = 0;

	*gen = 0;
	if (asprintf(&path, "%s/CURRENT", dir) < 0)
		return -1;
	f = fopen(path, "r");
	if (f == NULL) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "state %s: %s", path,
				 strerror(errno));
			rc = -1;
		}
		free(path);
		return rc;
	}
	if (fgets(buf, sizeof buf, f) == NULL ||
	    sscanf(buf, "%lu", gen) != 1 || *gen == 0) {
		snprintf(err, errlen, "state file %s: malformed", path);
		rc = -1;
	}
	fclose(f);
	free(path);
	return rc;
}

/* --- the snapshot of a file provider ----------------------------------- */

/*
 * Hash the file: its size now (*size, and the line after it), the hash of
 * it all, and of its first at bytes (*hash_at, *line_at; *short_of when
 * it has fewer than at).
 */
static int hash_file(const char *name, uint64_t at, uint64_t *size,
		     uint64_t *line, uint64_t *hash, uint64_t *hash_at,
		     uint64_t *line_at, bool *short_of)
{
	static unsigned char buf[256 << 10];
	gzFile gz = NULL;
	int fd = -1;
	uLong c = crc32(0, Z_NULL, 0), a = adler32(0, Z_NULL, 0);
	uint64_t off = 0, lf = 0;

	*short_of = true;
	*hash_at = 0;
	*line_at = 1;
	if (at == 0) {
		*short_of = false;
		*hash_at = (uint64_t)c << 32 | a;
	}
	fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (strlen(name) > 3 && strcasecmp(name + strlen(name) - 3, ".gz") == 0) {
		gz = gzdopen(fd, "rb");
		if (gz == NULL) {
			close(fd);
			return -1;
		}
	}
	for (;;) {
		ssize_t n = gz ? gzread(gz, buf, sizeof buf)
			       : read(fd, buf, sizeof buf);
		size_t k;

		if (n < 0) {
			if (gz)
				gzclose(gz);
			else
				close(fd);
			return -1;
		}
		if (n == 0)
			break;
		k = (size_t)n;
		/* Stop once at the bookmark, to take the hash there. */
		if (*short_of && off + k >= at)
			k = (size_t)(at - off);
		c = crc32(c, buf, (uInt)k);
		a = adler32(a, buf, (uInt)k);
		for (size_t i = 0; i < k; i++)
			lf += buf[i] == '\n';
		off += k;
		if (*short_of && off == at) {
			*short_of = false;
			*hash_at = (uint64_t)c << 32 | a;
			*line_at = lf + 1;
			c = crc32(c, buf + k, (uInt)((size_t)n - k));
			a = adler32(a, buf + k, (uInt)((size_t)n - k));
			for (size_t i = k; i < (size_t)n; i++)
				lf += buf[i] == '\n';
			off += (size_t)n - k;
		}
	}
	if (gz)
		gzclose(gz);
	else
		close(fd);
	*size = off;
	*line = lf + 1;
	*hash = (uint64_t)c << 32 | a;
	return 0;
}

static const struct incr_mark *find_mark(const struct incr_prov_marks *pm,
				    const char *name)
{
	for (size_t i = 0; pm && i < pm->n; i++)
		if (strcmp(pm->m[i].name, name) == 0)
			return &pm->m[i];
	return NULL;
}

void incr_files_free(struct cfg_provider *p)
{
	struct cfg_incr_file *f = (struct cfg_incr_file *)p->incr_files;

	for (size_t i = 0; f && i < p->nincr_files; i++)
		free(f[i].name);
	free(f);
	p->incr_files = NULL;
	p->nincr_files = 0;
	p->incr = false;
}

int incr_snapshot(struct cfg_provider *p, const struct incr_prov_marks *old,
		  struct incr_prov_marks *next)
{
	glob_t g;
	const char **names = NULL;
	size_t n = 0;
	char msg[512];
	struct cfg_incr_file *files;
	int rc = 0;

	if (file_match(p, &g, &names, &n, msg, sizeof msg) != ST_OK) {
		log_event(LOG_ERROR, p->name, msg, NULL);
		free(names);
		globfree(&g);
		return -1;
	}
	files = calloc(n + 1, sizeof *files);
	if (files == NULL)
		goto out_fail;
	p->incr_files = files;
	for (size_t i = 0; i < n; i++) {
		const struct incr_mark *m = rc ? NULL
						    : find_mark(old, names[i]);
		uint64_t size, line, hash, hash_at, line_at;
		bool short_of;

		files[i].name = strdup(names[i]);
		p->nincr_files = i + 1;
		if (files[i].name == NULL)
			goto out_fail;
		if (hash_file(names[i], m ? m->bytes : 0, &size, &line, &hash,
			      &hash_at, &line_at, &short_of) < 0) {
			log_event(LOG_ERROR, p->name, "cannot read a file for "
				  "its bookmark", "file", names[i], "error",
				  strerror(errno), NULL);
			goto out_fail_quiet;
		}
		files[i].to = size;
		files[i].line = 1;
		if (m && (short_of || hash_at != m->hash || line_at != m->line ||
			  (size != m->bytes &&
			   file_kind_of(p, names[i]) == FILE_KIND_JSON))) {
			log_event(LOG_WARN, p->name, "a file changed where it was "
				  "read before (or shrank): reading this "
				  "provider again in full", "file", names[i],
				  NULL);
			rc = 1;
		} else if (m) {
			files[i].from = m->bytes;
			files[i].line = m->line;
		}
		if (marks_add(next, names[i], size, line, hash) < 0)
			goto out_fail;
	}
	if (rc == 1) {
		for (size_t i = 0; i < n; i++) {
			files[i].from = 0;
			files[i].line = 1;
		}
	} else {
		/* Files read before and gone since: their records stay. */
		for (size_t k = 0; old && k < old->n; k++) {
			const struct incr_mark *m = &old->m[k];

			if (find_mark(next, m->name) == NULL &&
			    marks_add(next, m->name, m->bytes, m->line,
				      m->hash) < 0)
				goto out_fail;
		}
	}
	p->incr = true;
	free(names);
	globfree(&g);
	return rc;
out_fail:
	log_event(LOG_ERROR, p->name, "out of memory", NULL);
out_fail_quiet:
	free(names);
	globfree(&g);
	incr_files_free(p);
	return -1;
}

bool incr_keyed(const struct cfg_provider *p)
{
	if (p->type == CFG_PROV_HTTP)
		return http_conf(p)->since_field != NULL;
	return (p->type == CFG_PROV_SQLITE || p->type == CFG_PROV_POSTGRES) &&
	       sql_conf(p)->key != NULL;
}

int incr_http_start_token(const unsigned char *tok, uint32_t len,
			  char out[PROV_TOKEN_MAX + 1], char **mark)
{
	char t[PROV_TOKEN_MAX + 1], *a, *b, *e, *hex;
	size_t hl;
	int n;

	if (len > PROV_TOKEN_MAX)
		return -1;
	memcpy(t, tok, len);
	t[len] = '\0';
	if (strncmp(t, "since ", 6) != 0 || (b = strchr(a = t + 6, ' ')) == NULL ||
	    (e = strchr(++b, ' ')) == NULL)
		return -1;
	b[-1] = '\0';
	*e = '\0';
	hex = strcmp(b, "-") == 0 ? a : b + 1;
	n = snprintf(out, PROV_TOKEN_MAX + 1, "since %s %s ",
		     *hex ? hex : "-", b);
	if (n < 0 || n >= PROV_TOKEN_MAX)
		return -1;
	if (mark != NULL) {
		hl = strcmp(hex, "-") == 0 ? 0 : strlen(hex);
		*mark = malloc(hl / 2 + 1);
		if (*mark == NULL)
			return -1;
		for (size_t k = 0; k < hl; k += 2) {
			unsigned v = 0;

			sscanf(hex + k, "%2x", &v);
			(*mark)[k / 2] = (char)v;
		}
		(*mark)[hl / 2] = '\0';
	}
	return n;
}

/* --- begin and end ------------------------------------------------------ */

static void incr_free(struct incr *in, struct cfg *cfg)
{
	if (in == NULL)
		return;
	for (int i = 0; i < cfg->nproviders; i++)
		incr_files_free(&cfg->providers[i]);
	incr_marks_free(in->next, cfg->nproviders);
	free(in->tokens);
	partial_set_free(in->ps);
	cfg->partials = NULL;
	cfg->state_save = NULL;
	if (in->lock_fd >= 0)
		close(in->lock_fd);
	free(in->save);
	free(in->dir);
	free(in);
}

static int take_lock(struct incr *in)
{
	char *path;

	if (mkdir(in->dir, 0777) < 0 && errno != EEXIST) {
		log_event(LOG_ERROR, NULL, "cannot create the state folder",
			  "path", in->dir, "error", strerror(errno), NULL);
		return EXIT_FAILED;
	}
	if (asprintf(&path, "%s/lock", in->dir) < 0)
		return EXIT_FAILED;
	in->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	free(path);
	if (in->lock_fd < 0) {
		log_event(LOG_ERROR, NULL, "cannot open the state's lock",
			  "path", in->dir, "error", strerror(errno), NULL);
		return EXIT_FAILED;
	}
	if (flock(in->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		log_event(LOG_ERROR, NULL, "another run is using this state",
			  "path", in->dir, NULL);
		return EXIT_TEMPFAIL;
	}
	return -1;
}

/* Read generation in->gen into in->ps and *mf.  -1 to go on, or a status. */
static int load_current(struct incr *in, struct cfg *cfg,
			struct incr_marks_file *mf)
{
	char err[1024];
	char *marks = incr_path_of(in->dir, in->gen, "marks");
	char *part = incr_path_of(in->dir, in->gen, "partial");
	int code = EXIT_DATAERR;

	if (marks == NULL || part == NULL) {
		snprintf(err, sizeof err, "out of memory");
		code = EXIT_FAILED;
	} else if (incr_marks_read(marks, mf, err, sizeof err) == 0) {
		if (mf->fingerprint != cfg->fingerprint)
			snprintf(err, sizeof err, "state file %s: of another "
				 "config (or another version of this one)",
				 marks);
		else if (partial_set_add(in->ps, part, err, sizeof err,
					 &code) == 0)
			code = -1;
		if (code == EXIT_NOINPUT)
			code = EXIT_DATAERR;
	}
	if (code >= 0)
		log_event(LOG_ERROR, NULL, err, "hint", "run with --full to "
			  "read everything again and rebuild the state", NULL);
	free(marks);
	free(part);
	return code;
}

int incr_begin(struct cfg *cfg, const char *dir, bool full,
	       struct incr **out)
{
	struct incr *in = calloc(1, sizeof *in);
	struct incr_marks_file mf = { 0 };
	char err[1024];
	int code;

	*out = NULL;
	if (in == NULL)
		return EXIT_FAILED;
	for (int i = -1; i < cfg->noutputs; i++)
		if ((i < 0 ? cfg->write : cfg->outputs[i].write) ==
		    CFG_WRITE_APPEND) {
			log_event(LOG_ERROR, NULL, "write = append cannot be "
				  "used with state: an incremental run writes "
				  "its outputs whole from the state", "output",
				  i < 0 ? "[aggregate]" : cfg->outputs[i].name,
				  NULL);
			free(in);
			return EXIT_CONFIG;
		}
	in->lock_fd = -1;
	in->dir = strdup(dir);
	in->ps = partial_set_new(cfg);
	in->next = calloc((size_t)cfg->nproviders + 1, sizeof *in->next);
	in->tokens = calloc((size_t)cfg->nproviders + 1, sizeof *in->tokens);
	if (in->dir == NULL || in->ps == NULL || in->next == NULL ||
	    in->tokens == NULL) {
		code = EXIT_FAILED;
		goto out_free;
	}
	code = take_lock(in);
	if (code >= 0)
		goto out_free;
	code = EXIT_DATAERR;
	if (incr_read_current(dir, &in->gen, err, sizeof err) < 0) {
		if (!full) {
			log_event(LOG_ERROR, NULL, err, "hint", "run with "
				  "--full to read everything again and "
				  "rebuild the state", NULL);
			goto out_free;
		}
		in->gen = 0; /* --full: number on past it */
	}
	if (in->gen > 0 && !full) {
		code = load_current(in, cfg, &mf);
		if (code >= 0)
			goto out_free;
	}
	in->save = incr_path_of(dir, in->gen + 1, "partial");
	if (in->save == NULL) {
		code = EXIT_FAILED;
		goto out_free;
	}
	for (int i = 0; i < cfg->nproviders; i++) {
		struct cfg_provider *p = &cfg->providers[i];
		const struct incr_prov_marks *old = NULL;

		for (int k = 0; k < mf.nprov; k++)
			if (strcmp(mf.prov_names[k], p->name) == 0)
				old = &mf.pm[k];
		if (incr_keyed(p)) {
			if (old && old->token && p->type == CFG_PROV_HTTP) {
				/* records past its greatest since_field */
				char st[PROV_TOKEN_MAX + 1];
				int n = incr_http_start_token(old->token,
							 old->token_len, st,
							 NULL);

				if (n >= 0) {
					memcpy(in->tokens[i].b, st, (size_t)n);
					in->tokens[i].len = (uint32_t)n;
					p->incr = true;
					continue;
				}
			} else if (old && old->token) { /* rows past its last key */
				in->tokens[i].len = old->token_len;
				memcpy(in->tokens[i].b, old->token,
				       old->token_len);
				p->incr = true;
				continue;
			}
		} else if (p->type != CFG_PROV_FILE) {
			if (in->gen > 0 && !full)
				log_event(LOG_INFO, p->name, "no bookmark for "
					  "this provider (sqlite and postgres "
					  "need key, http since_field): it "
					  "reads everything again", NULL);
		}
		if (p->type == CFG_PROV_FILE && !file_conf(p)->encoding) {
			int r = incr_snapshot(p, old, &in->next[i]);

			if (r < 0) {
				code = EXIT_FAILED;
				goto out_free;
			}
			/* Read again from 0, or nothing of it in the state. */
			if (r == 1 || old == NULL)
				partial_set_drop(in->ps, i);
			continue;
		}
		if (in->gen > 0 && !full && p->type == CFG_PROV_FILE)
			log_event(LOG_INFO, p->name, "reads everything again "
				  "(encoding is set): its part of the state is "
				  "replaced", NULL);
		partial_set_drop(in->ps, i);
	}
	incr_marks_file_free(&mf);
	cfg->partials = in->ps;
	cfg->state_save = in->save;
	*out = in;
	return -1;
out_free:
	incr_marks_file_free(&mf);
	incr_free(in, cfg);
	return code;
}

/* Write data to path through a temporary, fsync'd, renamed over. */
static int write_atomic(const char *dir, const char *path, const char *data,
			size_t len)
{
	char *tmp;
	int fd, rc = -1;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd >= 0) {
		size_t off = 0;

		while (off < len) {
			ssize_t n = write(fd, data + off, len - off);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			off += (size_t)n;
		}
		if (off == len && fsync(fd) == 0 && close(fd) == 0) {
			fd = -1;
			rc = rename(tmp, path);
		}
		if (fd >= 0)
			close(fd);
	}
	if (rc < 0) {
		unlink(tmp);
	} else if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	free(tmp);
	return rc;
}

static char *marks_text(struct incr *in, const struct cfg *cfg, size_t *len)
{
	char *data = NULL;
	FILE *f = open_memstream(&data, len);

	if (f == NULL)
		return NULL;
	fprintf(f, MARKS_TAG " %d\nfingerprint %016" PRIx64 "\ngeneration "
		"%lu\ntime %lld\n", MARKS_VERSION, cfg->fingerprint,
		in->gen + 1, (long long)time(NULL));
	for (int i = 0; i < cfg->nproviders; i++) {
		const struct incr_prov_marks *pm = &in->next[i];

		fputs("provider ", f);
		put_escaped(f, cfg->providers[i].name);
		fprintf(f, " %s\n", type_name(cfg->providers[i].type));
		if (incr_keyed(&cfg->providers[i]) && in->tokens[i].len) {
			fputs("token ", f);
			for (uint32_t k = 0; k < in->tokens[i].len; k++)
				fprintf(f, "%02x", in->tokens[i].b[k]);
			fputc('\n', f);
		}
		for (size_t k = 0; k < pm->n; k++) {
			fprintf(f, "file %" PRIu64 " %" PRIu64 " %016" PRIx64
				" ", pm->m[k].bytes, pm->m[k].line,
				pm->m[k].hash);
			put_escaped(f, pm->m[k].name);
			fputc('\n', f);
		}
	}
	if (fclose(f) != 0) {
		free(data);
		return NULL;
	}
	return data;
}

int incr_end(struct incr *in, struct cfg *cfg, int rc)
{
	size_t len;
	char *text = NULL, *marks = NULL, *cur = NULL, *full = NULL;
	char line[32];

	if (in == NULL)
		return rc;
	if (rc != EXIT_OK)
		goto out;
	rc = EXIT_FAILED;
	text = marks_text(in, cfg, &len);
	marks = incr_path_of(in->dir, in->gen + 1, "marks");
	if (text == NULL || marks == NULL ||
	    asprintf(&cur, "%s/CURRENT", in->dir) < 0)
		goto out_fail;
	full = malloc(len + 16);
	if (full == NULL)
		goto out_fail;
	memcpy(full, text, len);
	len += (size_t)sprintf(full + len, "crc %08lx\n",
			       crc32(0, (const Bytef *)text, (uInt)len));
	snprintf(line, sizeof line, "%lu\n", in->gen + 1);
	/* The commit: the marks, then CURRENT renamed over (one rename). */
	if (write_atomic(in->dir, marks, full, len) < 0 ||
	    write_atomic(in->dir, cur, line, strlen(line)) < 0)
		goto out_fail;
	rc = EXIT_OK;
	if (in->gen > 0) { /* the previous generation, no longer needed */
		char *a = incr_path_of(in->dir, in->gen, "marks");
		char *b = incr_path_of(in->dir, in->gen, "partial");

		if (a)
			unlink(a);
		if (b)
			unlink(b);
		free(a);
		free(b);
	}
	goto out;
out_fail:
	log_event(LOG_ERROR, NULL, "cannot write the state", "path", in->dir,
		  "error", strerror(errno), NULL);
out:
	free(text);
	free(full);
	free(marks);
	free(cur);
	incr_free(in, cfg);
	return rc;
}

struct sup_token *incr_tokens(struct incr *in)
{
	return in ? in->tokens : NULL;
}
