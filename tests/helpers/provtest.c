/*
 * provtest.c - one provider attempt against a test consumer (provtest.h).
 *
 * The parent plays the aggregator's part only as far as reading goes: it
 * decodes every frame and keeps it, and trusts nothing (a frame that does
 * not decode sets bad and ends the run).  It sleeps on the ring's eventfd
 * and on a pidfd of the child, so it wakes for data and for the child's
 * end, never on a timer.
 */
#include "provtest.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../ipc/record.h"
#include "../../ipc/ring.h"
#include "../../common/convert.h"
#include "../../common/decimal.h"

/* Ring capacity: room for the runtime's largest frames. */
#define PT_RING_BYTES (1u << 20)

/* pt_run_inline's ring: the whole output must fit. */
#define PT_INLINE_RING_BYTES (16u << 20)

/* pt_dump_inline's ring: room for the largest file test's output. */
#define PT_DUMP_RING_BYTES (64u << 20)

int pt_config(const char *text, struct cfg *cfg)
{
	char err[CFG_ERR_MAX];

	memset(cfg, 0, sizeof *cfg);
	if (cfg_load_string("test.conf", text, cfg, err, sizeof err) < 0) {
		fprintf(stderr, "pt_config: %s\n", err);
		return -1;
	}
	return 0;
}

/*
 * The context of one attempt (see pt_run), producing into ring; calloc'd,
 * NULL on no memory.
 */
static struct prov_ctx *pt_ctx(const struct cfg *cfg, int index,
			       uint16_t attempt, const void *token,
			       size_t token_len, uint64_t records,
			       uint64_t rejects, struct ring *ring)
{
	struct prov_ctx *ctx = calloc(1, sizeof *ctx);

	if (ctx == NULL)
		return NULL;
	ctx->cfg = cfg;
	ctx->p = &cfg->providers[index];
	ctx->index = index;
	ctx->attempt = attempt;
	if (token_len)
		memcpy(ctx->token, token, token_len);
	ctx->token_len = token_len;
	ctx->records = records;
	ctx->rejects = rejects;
	ctx->ring = ring;
	ctx->heartbeat_fd = -1;
	return ctx;
}

/* The child: one provider attempt as the producer of ring. */
static void __attribute__((noreturn))
pt_child(const struct cfg *cfg, int index, uint16_t attempt,
	 const void *token, size_t token_len, uint64_t records,
	 uint64_t rejects, const char *const *env, struct ring *ring,
	 pid_t parent)
{
	struct prov_ctx *ctx;
	int st;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; env && env[i]; i++)
		putenv((char *)env[i]);
	ctx = pt_ctx(cfg, index, attempt, token, token_len, records, rejects,
		     ring);
	if (ctx == NULL)
		_exit(127);
	st = prov_main(ctx);
	free(ctx);
	_exit(st);
}

static int pt_push_row(struct pt_result *r, char *row)
{
	char **rows = realloc(r->rows, (r->nrows + 1) * sizeof *rows);

	if (rows == NULL)
		return -1;
	r->rows = rows;
	r->rows[r->nrows++] = row;
	return 0;
}

/* Bytes with CR and LF spelled out, so that one dump line is one frame. */
static void pt_put_esc(FILE *f, const char *s, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (s[k] == '\n')
			fputs("\\n", f);
		else if (s[k] == '\r')
			fputs("\\r", f);
		else
			fputc(s[k], f);
	}
}

/*
 * A record's values joined by '|'; with quoted (the dump), text between
 * single quotes with CR and LF spelled out, else text as is.
 */
static void pt_put_values(FILE *f, const struct rec_schema *s,
			  const struct rec_value *v, bool quoted)
{
	char num[CONV_TS_MAX + CONV_FLOAT_MAX];

	for (int i = 0; i < s->nfields; i++) {
		if (i)
			fputc('|', f);
		if (v[i].null) {
			fputs("NULL", f);
			continue;
		}
		switch (s->fields[i].type) {
		case REC_INT:
			fprintf(f, "%" PRId64, v[i].u.i);
			break;
		case REC_FLOAT:
			conv_format_float(v[i].u.f, num);
			fputs(num, f);
			break;
		case REC_BOOL:
			fputs(v[i].u.b ? "true" : "false", f);
			break;
		case REC_TIMESTAMP:
			conv_format_timestamp(v[i].u.i, num);
			fputs(num, f);
			break;
		case REC_DATE:
			conv_format_date(v[i].u.i, num);
			fputs(num, f);
			break;
		case REC_DECIMAL:
			dec_format(rec_dec(&v[i]), s->fields[i].scale, num);
			fputs(num, f);
			break;
		case REC_TEXT:
			if (!quoted) {
				fwrite(v[i].u.s.p, 1, v[i].u.s.len, f);
				break;
			}
			fputc('\'', f);
			pt_put_esc(f, v[i].u.s.p, v[i].u.s.len);
			fputc('\'', f);
			break;
		}
	}
}

/* A record as "a|b|NULL"; malloc'd, NULL on no memory. */
static char *pt_row_text(const struct rec_schema *s, const struct rec_value *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	pt_put_values(f, s, v, false);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static bool pt_get_u32(const unsigned char **p, size_t *len, uint32_t *v)
{
	if (*len < sizeof *v)
		return false;
	memcpy(v, *p, sizeof *v);
	*p += sizeof *v;
	*len -= sizeof *v;
	return true;
}

static char *pt_get_str(const unsigned char **p, size_t *len)
{
	uint32_t n;
	char *s;

	if (!pt_get_u32(p, len, &n) || n > *len)
		return NULL;
	s = strndup((const char *)*p, n);
	*p += n;
	*len -= n;
	return s;
}

/*
 * Take one frame into r, and its line into dump if not NULL (the format
 * of pt_dump_inline).  Returns 0, or -1 if it is malformed.
 */
static int pt_frame(const struct cfg *cfg, struct pt_result *r,
		    const struct ring_frame_hdr *h, const unsigned char *pl,
		    struct rec_value *vals, FILE *dump)
{
	size_t len = h->len;

	switch (h->type) {
	case RING_RECORDS: {
		uint32_t count;

		if (!pt_get_u32(&pl, &len, &count))
			return -1;
		for (uint32_t k = 0; k < count; k++) {
			long n = rec_decode(&cfg->schema, pl, len, vals);
			char *row;

			if (n <= 0)
				return -1;
			if (dump) {
				fputs("rec ", dump);
				pt_put_values(dump, &cfg->schema, vals, true);
				fputc('\n', dump);
			}
			row = pt_row_text(&cfg->schema, vals);
			if (row == NULL || pt_push_row(r, row) < 0) {
				free(row);
				return -1;
			}
			pl += n;
			len -= (size_t)n;
		}
		return len == 0 ? 0 : -1;
	}
	case RING_CHECKPOINT: {
		struct pt_checkpoint *cps, *cp;

		if (len < 3 * sizeof(uint64_t) ||
		    len - 3 * sizeof(uint64_t) > PROV_TOKEN_MAX)
			return -1;
		cps = realloc(r->cps, (r->ncps + 1) * sizeof *cps);
		if (cps == NULL)
			return -1;
		r->cps = cps;
		cp = &r->cps[r->ncps++];
		memcpy(&cp->records, pl, sizeof cp->records);
		memcpy(&cp->rejects, pl + sizeof(uint64_t), sizeof cp->rejects);
		memcpy(&cp->filtered, pl + 2 * sizeof(uint64_t),
		       sizeof cp->filtered);
		cp->token_len = len - 3 * sizeof(uint64_t);
		memcpy(cp->token, pl + 3 * sizeof(uint64_t), cp->token_len);
		cp->rows = r->nrows;
		r->folded = r->nrows;
		if (dump) {
			fprintf(dump, "ckpt %llu/%llu ",
				(unsigned long long)cp->records,
				(unsigned long long)cp->rejects);
			fwrite(cp->token, 1, cp->token_len, dump);
			fputc('\n', dump);
		}
		return 0;
	}
	case RING_REJECT: {
		struct pt_reject *rj = realloc(r->rejects,
					       (r->nrejects + 1) * sizeof *rj);

		if (rj == NULL)
			return -1;
		r->rejects = rj;
		rj = &r->rejects[r->nrejects];
		rj->position = pt_get_str(&pl, &len);
		rj->reason = pt_get_str(&pl, &len);
		rj->raw = pt_get_str(&pl, &len);
		r->nrejects++;
		if (!(rj->position && rj->reason && rj->raw && len == 0))
			return -1;
		if (dump) {
			fputs("rej ", dump);
			pt_put_esc(dump, rj->position, strlen(rj->position));
			fputc(' ', dump);
			pt_put_esc(dump, rj->reason, strlen(rj->reason));
			fputs(" [", dump);
			pt_put_esc(dump, rj->raw, strlen(rj->raw));
			fputs("]\n", dump);
		}
		return 0;
	}
	case RING_DONE:
		r->done = true;
		r->folded = r->nrows;
		if (len == sizeof r->filtered)
			memcpy(&r->filtered, pl, sizeof r->filtered);
		if (dump)
			fputs("done\n", dump);
		return len == sizeof r->filtered ? 0 : -1;
	case RING_ERROR:
		snprintf(r->error, sizeof r->error, "%.*s", (int)len,
			 (const char *)pl);
		if (dump) {
			fputs("error ", dump);
			fwrite(pl, 1, len, dump);
			fputc('\n', dump);
		}
		return 0;
	default:
		return -1;
	}
}

int pt_run(const struct cfg *cfg, int index, uint16_t attempt,
	   const void *token, size_t token_len, uint64_t records,
	   uint64_t rejects, const char *const *env, struct pt_result *out)
{
	struct ring ring;
	struct rec_value *vals = NULL;
	pid_t parent = getpid(), pid;
	int pidfd = -1, status = 0, rc = -1;
	bool exited = false;

	memset(out, 0, sizeof *out);
	out->status = -1;
	vals = calloc((size_t)cfg->schema.nfields + 1, sizeof *vals);
	if (vals == NULL)
		return -1;
	if (ring_create(&ring, PT_RING_BYTES) < 0) {
		perror("pt_run: ring_create");
		goto out_free;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("pt_run: fork");
		goto out_ring;
	}
	if (pid == 0)
		pt_child(cfg, index, attempt, token, token_len, records, rejects,
			 env, &ring, parent);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		perror("pt_run: pidfd_open");
		kill(pid, SIGKILL);
	}

	for (;;) {
		struct ring_frame_hdr h;
		const unsigned char *pl;
		int n = ring_next(&ring, &h, &pl);

		if (n < 0 || (n == 1 && pt_frame(cfg, out, &h, pl, vals, NULL) < 0)) {
			out->bad = true;
			snprintf(out->error, sizeof out->error,
				 "pt_run: malformed frame (type %u)",
				 n < 0 ? 0u : (unsigned)h.type);
			kill(pid, SIGKILL);
			if (!exited)
				waitpid(pid, &status, 0);
			exited = true;
			break;
		}
		if (n == 1) {
			ring_consume(&ring);
			continue;
		}
		if (exited)
			break; /* it is gone and everything it published is read */
		if (ring_consumer_prepare_sleep(&ring) == 1)
			continue;
		struct pollfd pfd[2] = {
			{ .fd = ring_consumer_fd(&ring), .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
		};
		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			perror("pt_run: poll");
			kill(pid, SIGKILL);
		}
		if (pfd[0].revents)
			ring_consumer_woken(&ring);
		if (pfd[1].revents || pidfd < 0) {
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			exited = true;
		}
	}
	out->status = WIFEXITED(status) ? WEXITSTATUS(status)
					: 128 + WTERMSIG(status);
	rc = out->status;
	if (pidfd >= 0)
		close(pidfd);
out_ring:
	ring_destroy(&ring);
out_free:
	free(vals);
	return rc;
}

/* pt_run_inline and pt_dump_inline: a ring of ring_bytes, dump or NULL. */
static int pt_inline(const struct cfg *cfg, int index, uint16_t attempt,
		     const void *token, size_t token_len, uint64_t records,
		     uint64_t rejects, struct pt_result *out,
		     uint32_t ring_bytes, FILE *dump)
{
	struct ring ring;
	struct rec_value *vals = NULL;
	struct prov_ctx *ctx = NULL;
	int rc = -1;

	memset(out, 0, sizeof *out);
	out->status = -1;
	vals = calloc((size_t)cfg->schema.nfields + 1, sizeof *vals);
	ctx = pt_ctx(cfg, index, attempt, token, token_len, records, rejects,
		     &ring);
	if (vals == NULL || ctx == NULL)
		goto out_free;
	if (ring_create(&ring, ring_bytes) < 0) {
		perror("pt_run_inline: ring_create");
		goto out_free;
	}
	out->status = prov_main(ctx);
	rc = out->status;
	for (;;) {
		struct ring_frame_hdr h;
		const unsigned char *pl;
		int n = ring_next(&ring, &h, &pl);

		if (n == 0)
			break;
		if (n < 0 || pt_frame(cfg, out, &h, pl, vals, dump) < 0) {
			out->bad = true;
			snprintf(out->error, sizeof out->error,
				 "pt_run_inline: malformed frame");
			rc = -1;
			break;
		}
		ring_consume(&ring);
	}
	ring_destroy(&ring);
out_free:
	free(ctx);
	free(vals);
	return rc;
}

int pt_run_inline(const struct cfg *cfg, int index, uint16_t attempt,
		  const void *token, size_t token_len, uint64_t records,
		  uint64_t rejects, struct pt_result *out)
{
	return pt_inline(cfg, index, attempt, token, token_len, records,
			 rejects, out, PT_INLINE_RING_BYTES, NULL);
}

char *pt_dump_inline(const struct cfg *cfg, int index, const void *token,
		     size_t token_len, struct pt_result *out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	memset(out, 0, sizeof *out);
	out->status = -1;
	if (f == NULL)
		return NULL;
	pt_inline(cfg, index, 1, token, token_len, 0, 0, out,
		  PT_DUMP_RING_BYTES, f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

const struct pt_checkpoint *pt_last_checkpoint(const struct pt_result *r)
{
	return r->ncps ? &r->cps[r->ncps - 1] : NULL;
}

/*
 * What an open_memstream() f wrote into *buf, once closed (the stream
 * sets *buf only then); NULL: failed.
 */
static char *closed(FILE *f, char **buf)
{
	if (fclose(f) != 0) {
		free(*buf);
		return NULL;
	}
	return *buf;
}

char *pt_rows_text(const struct pt_result *r, size_t from, size_t to)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	if (to > r->nrows)
		to = r->nrows;
	for (size_t k = from; k < to; k++)
		fprintf(f, "%s\n", r->rows[k]);
	return closed(f, &buf);
}

/*
 * The lines of dump that data keeps (rec and rej), or all of them with
 * checkpoints' tokens and rejects' raw text cut off (!data).
 */
static char *dump_lines(const char *dump, bool data)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (f == NULL)
		return NULL;
	for (const char *l = dump; *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l), keep = n;
		bool rej = strncmp(l, "rej ", 4) == 0;

		if (data) {
			keep = rej || strncmp(l, "rec ", 4) == 0 ? n : 0;
		} else if (strncmp(l, "ckpt ", 5) == 0) {
			const char *sp = memchr(l + 5, ' ', n - 5);

			keep = sp ? (size_t)(sp - l) : n;
		} else if (rej) {
			for (size_t k = n; k-- > 1;)
				if (l[k - 1] == ' ' && l[k] == '[') {
					keep = k - 1;
					break;
				}
		}
		if (!data || keep > 0)
			fprintf(f, "%.*s\n", (int)keep, l);
		l += e ? n + 1 : n;
	}
	return closed(f, &out);
}

char *pt_dump_comparable(const char *dump)
{
	return dump_lines(dump, false);
}

char *pt_dump_data(const char *dump)
{
	return dump_lines(dump, true);
}

int pt_resumes_to_rest(const struct cfg *cfg, const char *dump, int every,
		       char *why, size_t whylen)
{
	char *all = pt_dump_data(dump);
	int tried = 0, seen = 0;

	if (all == NULL) {
		snprintf(why, whylen, "no memory");
		return -1;
	}
	for (const char *l = dump; *l;) {
		const char *e = strchr(l, '\n'), *sp;
		size_t before = 0, n = e ? (size_t)(e - l) + 1 : strlen(l);
		char token[256], *rest, *tail;
		struct pt_result r;
		bool same;

		if (strncmp(l, "ckpt ", 5) != 0 || seen++ % every != 0 ||
		    (sp = memchr(l + 5, ' ', n - 5)) == NULL) {
			l += n;
			continue;
		}
		snprintf(token, sizeof token, "%.*s",
			 (int)(l + n - (e ? 1 : 0) - (sp + 1)), sp + 1);
		/* The records and rejects sent before this checkpoint. */
		for (const char *m = dump; m < l;) {
			const char *me = strchr(m, '\n');
			size_t mn = me ? (size_t)(me - m) + 1 : strlen(m);

			if (strncmp(m, "rec ", 4) == 0 ||
			    strncmp(m, "rej ", 4) == 0)
				before += mn;
			m += mn;
		}
		rest = pt_dump_inline(cfg, 0, token, strlen(token), &r);
		if (rest == NULL || r.bad || r.status != PROV_DONE) {
			snprintf(why, whylen, "resumed from %s: %s", token,
				 rest == NULL ? "no memory" : r.error);
			pt_result_free(&r);
			free(rest);
			free(all);
			return -1;
		}
		pt_result_free(&r);
		tail = pt_dump_data(rest);
		same = tail != NULL && strcmp(tail, all + before) == 0;
		free(tail);
		free(rest);
		if (!same) {
			snprintf(why, whylen, "resumed from %s: not the rest "
				 "of the run", token);
			free(all);
			return -1;
		}
		tried++;
		l += n;
	}
	free(all);
	return tried;
}

void pt_result_free(struct pt_result *r)
{
	for (size_t k = 0; k < r->nrows; k++)
		free(r->rows[k]);
	free(r->rows);
	for (size_t k = 0; k < r->nrejects; k++) {
		free(r->rejects[k].position);
		free(r->rejects[k].reason);
		free(r->rejects[k].raw);
	}
	free(r->rejects);
	free(r->cps);
	memset(r, 0, sizeof *r);
}
