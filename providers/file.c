/*
 * file.c - the file provider: CSV, JSON Lines and JSON array files, plain
 * or gzip, in any encoding iconv reads, one path or a glob whose matches
 * are read in byte-wise sorted order (SPEC §3 type = file, §4
 * conversions, §7).  This file holds the run and --check; its rooms are
 * file_src (the match list, reading, resume tokens), file_csv, file_jsonl
 * and file_json (one per format), sharing the run's state (file_run.h).
 *
 * Data path: large read() / gzread() calls into one reusable 1 MiB buffer;
 * the CSV parser (csv.h) or the line splitter (file_jsonl.c) hands out
 * records that point into it, every field converts in place (convert.h)
 * and the record goes to prov_emit() before the buffer is touched again.
 * Nothing is allocated per record, except by jansson for JSON Lines.
 *
 * The resume token names the file, the offset and the line (file_src.h).
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
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/trace.h"
#include "file_conf.h"
#include "file_csv.h"
#include "file_json.h"
#include "file_jsonl.h"
#include "file_par.h"
#include "file_run.h"
#include "file_src.h"

/* --- records out ------------------------------------------------------ */

enum prov_status file_reject(struct file_run *r, const char *name,
			     uint64_t line, const char *reason,
			     const char *raw, size_t rawlen)
{
	if (name == r->rel_name) { /* a range's own line: the file's */
		if (r->rel_lines < 0)
			r->rel_lines = file_par_lines_before(name, r->rel_off);
		if (r->rel_lines < 0)
			return prov_fail(r->c, PROV_FAIL_RETRY, "%s: %s", name,
					 strerror(errno));
		line += (uint64_t)r->rel_lines;
	}
	if (r->json_record)
		snprintf(r->pos, sizeof r->pos, "%s:%" PRIu64 " (record %"
			 PRIu64 ")", name, line, r->json_record);
	else
		snprintf(r->pos, sizeof r->pos, "%s:%" PRIu64, name, line);
	if (prov_reject(r->c, r->pos, reason, raw, rawlen) < 0)
		return prov_failure(r->c);
	return ST_OK;
}

enum prov_status file_checkpoint(struct file_run *r, size_t idx,
				 uint64_t off, uint64_t line)
{
	char tok[FILE_TOKEN_MAX];
	int n = file_token(tok, sizeof tok, r->names, r->nnames, idx, off,
			   line);

	if (prov_checkpoint(r->c, tok, (size_t)n) < 0)
		return prov_failure(r->c);
	return ST_OK;
}

/* --- the run ---------------------------------------------------------- */

static enum prov_status setup(struct file_run *r)
{
	int n = r->schema->nfields;
	struct csv_options o = {
		.delimiter = r->fc->delimiter,
		.quote = r->fc->quote,
		.max_record = FILE_MAX_RECORD,
	};

	r->null_len = calloc((size_t)r->fc->nnulls + 1, sizeof *r->null_len);
	for (int i = 0; r->null_len && i < r->fc->nnulls; i++)
		r->null_len[i] = strlen(r->fc->nulls[i]);
	r->buf = malloc(FILE_READ_BYTES);
	r->vals = calloc((size_t)n, sizeof *r->vals);
	r->scratch = calloc((size_t)n, sizeof *r->scratch);
	r->col = calloc((size_t)n, sizeof *r->col);
	r->ptrs = calloc((size_t)n, sizeof *r->ptrs);
	r->dump = calloc((size_t)n, sizeof *r->dump);
	if (r->buf == NULL || r->vals == NULL || r->scratch == NULL ||
	    r->col == NULL || r->ptrs == NULL || r->dump == NULL ||
	    r->null_len == NULL)
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
	jfast_free(&r->jfast);
	if (r->ptrs != NULL)
		for (int i = 0; i < n; i++)
			jsonptr_free(&r->ptrs[i]);
	if (r->dump != NULL)
		for (int i = 0; i < n; i++)
			buf_free(&r->dump[i]);
	free(r->dump);
	free(r->null_len);
	free(r->ptrs);
	free(r->col);
	free(r->scratch);
	free(r->vals);
	free(r->buf);
	buf_free(&r->ls.carry);
	buf_free(&r->elem);
	jsonptr_free(&r->records);
	free(r->jscan);
	free(r->names);
	if (r->have_glob)
		globfree(&r->g);
}

/* An incremental run's files (config.h: cfg_incr_file), in their order. */
static enum prov_status incr_names(struct file_run *r)
{
	const struct cfg_provider *p = r->p;

	r->names = calloc(p->nincr_files + 1, sizeof *r->names);
	if (r->names == NULL)
		return prov_fail(r->c, PROV_FAIL_RETRY, "out of memory");
	for (size_t i = 0; i < p->nincr_files; i++)
		r->names[i] = p->incr_files[i].name;
	r->nnames = p->nincr_files;
	return ST_OK;
}

static enum prov_status file_run(struct prov_ctx *c)
{
	struct file_run r = { .c = c, .p = c->p, .fc = file_conf(c->p),
			      .schema = &c->p->schema };
	enum prov_status st;
	bool positions_mapped = false, pointers_compiled = false;
	size_t idx, last;
	uint64_t off, line;

	if (c->p->incr) { /* an incremental run: the supervisor's snapshot */
		st = incr_names(&r);
	} else {
		st = file_match(c->p, &r.g, &r.names, &r.nnames, c->errbuf,
				sizeof c->errbuf);
		r.have_glob = true;
	}
	if (st != ST_OK)
		goto out_teardown;
	last = r.nnames;
	st = setup(&r);
	if (st != ST_OK)
		goto out_teardown;
	st = file_token_parse(c, r.names, r.nnames, &idx, &off, &line);
	if (st != ST_OK)
		goto out_teardown;
	if (c->p->whole) { /* one range of the files (parallel) */
		if (c->p->range_last >= r.nnames) {
			st = prov_fail(c, PROV_FAIL_PERMANENT, "%s: files "
				       "changed while being read",
				       c->p->whole);
			goto out_teardown;
		}
		if (idx < c->p->range_first) {
			idx = c->p->range_first;
			off = 0;
			line = 1;
		}
		if (c->p->range_lo > 0) {
			r.rel_name = r.names[c->p->range_first];
			r.rel_off = c->p->range_lo;
			r.rel_lines = -1;
		}
		last = c->p->range_last + 1;
	}

	for (; idx < last; idx++, off = 0, line = 1) {
		const char *name = r.names[idx];
		int kind = file_kind_of(c->p, name);
		struct file_src s;

		if (kind < 0) {
			st = prov_fail(c, PROV_FAIL_PERMANENT,
				       "%s: cannot tell the format from the "
				       "extension (set format = csv, tsv, "
				       "jsonl or json)",
				       name);
			goto out_teardown;
		}
		if (kind == FILE_KIND_CSV && !file_conf(c->p)->header && !positions_mapped) {
			st = file_csv_map_positions(&r);
			if (st != ST_OK)
				goto out_teardown;
			positions_mapped = true;
		}
		if (kind != FILE_KIND_CSV && !pointers_compiled) {
			st = file_jsonl_compile(&r);
			if (st != ST_OK)
				goto out_teardown;
			pointers_compiled = true;
		}
		if (kind == FILE_KIND_JSON && r.jscan == NULL) {
			st = file_json_compile(&r);
			if (st != ST_OK)
				goto out_teardown;
		}
		trace_begin("file", "path", name, NULL);
		st = file_src_open(c, &s, name);
		if (st != ST_OK)
			goto out_teardown;
		if (c->p->whole) {
			if (idx == c->p->range_first && off < c->p->range_lo) {
				off = c->p->range_lo;
				line = 1; /* counted from there: rel_name */
			}
			if (idx == c->p->range_last)
				s.end = c->p->range_hi;
		}
		if (c->p->incr) {
			const struct cfg_incr_file *f = &c->p->incr_files[idx];

			s.end = f->to;
			if (off < f->from) { /* not resuming past it already */
				off = f->from;
				line = f->line;
			}
		}
		if (kind == FILE_KIND_CSV)
			st = file_csv_read(&r, idx, &s, off, line);
		else if (kind == FILE_KIND_JSON)
			st = file_json_read(&r, idx, &s, off);
		else
			st = file_jsonl_read(&r, idx, &s, off, line);
		file_src_close(&s);
		trace_end("file", NULL);
		if (st != ST_OK)
			goto out_teardown;
		/* The end of every file is a resume point of its own. */
		st = file_checkpoint(&r, idx + 1, 0, 1);
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

static int file_check(const struct cfg *cfg, const struct cfg_provider *p,
		      char *msg, size_t msglen)
{
	const struct file_conf *fc = file_conf(p);
	const char **names = NULL;
	size_t n = 0;
	uint64_t total = 0;
	char size[32];
	glob_t g;
	int rc = -1;

	(void)cfg;
	if (file_match(p, &g, &names, &n, msg, msglen) != ST_OK)
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
		if (file_kind_of(p, names[i]) < 0) {
			snprintf(msg, msglen, "%s: cannot tell the format from "
				 "the extension (set format = csv, tsv, "
				 "jsonl or json)",
				 names[i]);
			goto out_globfree;
		}
		if (file_kind_of(p, names[i]) == FILE_KIND_CSV && fc->header) {
			int hr = file_csv_check_header(cfg, p, names[i], msg,
							   msglen);

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
