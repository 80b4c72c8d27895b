/*
 * incr_show.c - the state seen from outside a run (incr.h): `aggregate
 * state DIR` prints its bookmarks, and --check tells, provider by
 * provider, what the next run will read.  Both only read the state: no
 * lock, nothing written.  --check decides as incr_begin() does, with the
 * same pieces (incr_int.h): a file provider is snapshotted (its files
 * hashed) exactly as a run would, so what it says is what will happen.
 */
#include "incr.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "../aggregator/partial.h"
#include "../providers/file_conf.h"
#include "../providers/http_conf.h"
#include "../providers/http_page.h"
#include "../providers/http_redact.h"
#include "../providers/sql_conf.h"
#include "../providers/sqlmap.h"
#include "incr_int.h"

/* --- aggregate state DIR ------------------------------------------------ */

int incr_show(const char *dir, bool verbose)
{
	struct incr_marks_file mf;
	unsigned long gen;
	char err[1024], when[64];
	char *marks;
	struct tm tm;
	time_t t;

	if (incr_read_current(dir, &gen, err, sizeof err) < 0) {
		fprintf(stderr, "aggregate: %s\n", err);
		return EXIT_DATAERR;
	}
	if (gen == 0) {
		fprintf(stderr, "aggregate: %s: no state yet (no CURRENT)\n",
			dir);
		return EXIT_NOINPUT;
	}
	marks = incr_path_of(dir, gen, "marks");
	if (marks == NULL)
		return EXIT_FAILED;
	if (incr_marks_read(marks, &mf, err, sizeof err) < 0) {
		fprintf(stderr, "aggregate: %s\n", err);
		free(marks);
		return EXIT_DATAERR;
	}
	t = (time_t)mf.time;
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	printf("state        %s (generation %lu)\n", dir, gen);
	printf("last run     %s\n", when);
	printf("fingerprint  %016" PRIx64 "\n", mf.fingerprint);
	for (int i = 0; i < mf.nprov; i++) {
		uint64_t bytes = 0;

		for (size_t k = 0; k < mf.pm[i].n; k++)
			bytes += mf.pm[i].m[k].bytes;
		char tb[PROV_TOKEN_MAX + 1], *mark = NULL;

		if (mf.pm[i].token &&
		    incr_http_start_token(mf.pm[i].token, mf.pm[i].token_len, tb,
				     &mark) >= 0)
			printf("provider     %s: records with since_field past "
			       "'%s'\n", mf.prov_names[i], mark);
		else if (mf.pm[i].token)
			printf("provider     %s: rows past its last key\n",
			       mf.prov_names[i]);
		else if (mf.pm[i].n == 0)
			printf("provider     %s: reads everything each run\n",
			       mf.prov_names[i]);
		else
			printf("provider     %s: %zu files, %" PRIu64
			       " bytes read\n", mf.prov_names[i], mf.pm[i].n,
			       bytes);
		for (size_t k = 0; verbose && k < mf.pm[i].n; k++)
			printf("  %s  %" PRIu64 " bytes, line %" PRIu64
			       ", hash %016" PRIx64 "\n", mf.pm[i].m[k].name,
			       mf.pm[i].m[k].bytes, mf.pm[i].m[k].line,
			       mf.pm[i].m[k].hash);
		free(mark);
	}
	incr_marks_file_free(&mf);
	free(marks);
	return EXIT_OK;
}

/* --- --check ------------------------------------------------------------ */

/* One --check line about provider name (or "state"). */
static void say(const char *name, const char *what, const char *status,
		const char *msg)
{
	printf("%-20s %-8s %-8s %s\n", name, what, status, msg);
}

/*
 * The last key in a sqlite or postgres token as SQL text, into out:
 * sqlite's integers and reals bare, text and postgres's key quoted, a
 * blob as x'..'.  Returns 0, or -1 for a token without one.
 */
static int key_text(const struct cfg_provider *p, const unsigned char *tok,
		    size_t len, char *out, size_t outlen)
{
	const unsigned char *kt = (const unsigned char *)"t", *kv;
	size_t ktlen = 1, kvlen, o = 0;
	char num[32];

	if (p->type == CFG_PROV_POSTGRES) {
		if (sqlmap_tok_get(tok, len, "key", &kv, &kvlen) != 1)
			return -1;
	} else if (sqlmap_tok_get(tok, len, "kt", &kt, &ktlen) != 1 ||
		   ktlen != 1 || sqlmap_tok_get(tok, len, "kv", &kv,
						&kvlen) != 1) {
		return -1;
	}
	if (kt[0] == 'f') {
		uint64_t bits;
		double d;

		if (kvlen >= sizeof num)
			return -1;
		memcpy(num, kv, kvlen);
		num[kvlen] = '\0';
		bits = strtoull(num, NULL, 10);
		memcpy(&d, &bits, sizeof d);
		snprintf(out, outlen, "%.17g", d);
		return 0;
	}
	if (kt[0] == 'i') {
		snprintf(out, outlen, "%.*s", (int)kvlen, (const char *)kv);
		return 0;
	}
	if (outlen < 8)
		return -1;
	if (kt[0] == 'b')
		out[o++] = 'x';
	out[o++] = '\'';
	for (size_t k = 0; k < kvlen && o + 6 < outlen; k++) {
		if (kt[0] == 'b') {
			o += (size_t)sprintf(out + o, "%02x", kv[k]);
			continue;
		}
		if (kv[k] == '\'')
			out[o++] = '\'';
		out[o++] = (char)kv[k];
	}
	if (o + 6 >= outlen)
		o += (size_t)sprintf(out + o, "...");
	out[o++] = '\'';
	out[o] = '\0';
	return 0;
}

/*
 * An http provider going on from its bookmark mark: say so with the first
 * url the run will ask for ({since} = mark, credentials hidden), and make
 * mark its since_start so that the probe after asks for the same (the
 * config in memory only).  Takes mark.  0, or -1 when out of memory.
 */
static int check_http(struct cfg_provider *p, char *mark)
{
	struct http_conf *hc = (struct http_conf *)http_conf(p);
	char pub[HTTP_URL_PUB_MAX], msg[HTTP_URL_PUB_MAX + 256];
	char *q = curl_easy_escape(NULL, mark, 0), *url = NULL;
	long page = hc->pagination == CFG_PAGE_PAGE ? hc->page_start : 1;

	if (q != NULL)
		url = http_page_url(hc->urls[0], page, q);
	curl_free(q);
	if (url == NULL) {
		free(mark);
		return -1;
	}
	http_url_public(url, pub, sizeof pub);
	snprintf(msg, sizeof msg, "records with %s past '%s': %s",
		 hc->since_field, mark, pub);
	say(p->name, "state", "bookmark", msg);
	free(url);
	free(hc->since_start);
	hc->since_start = mark;
	return 0;
}

/* The files of a file provider going on from its bookmarks, one a line. */
static void check_files(const struct cfg_provider *p,
			const struct incr_prov_marks *old)
{
	char msg[1024];

	for (size_t i = 0; i < p->nincr_files; i++) {
		const struct cfg_incr_file *f = &p->incr_files[i];
		bool known = false;

		for (size_t k = 0; old && k < old->n; k++)
			known |= strcmp(old->m[k].name, f->name) == 0;
		if (!known)
			snprintf(msg, sizeof msg, "%s: from the start to byte "
				 "%" PRIu64, f->name, f->to);
		else if (f->from == f->to)
			snprintf(msg, sizeof msg, "%s: nothing new (read to "
				 "byte %" PRIu64 ", line %" PRIu64 ")", f->name,
				 f->from, f->line);
		else
			snprintf(msg, sizeof msg, "%s: from byte %" PRIu64
				 " (line %" PRIu64 ") to byte %" PRIu64,
				 f->name, f->from, f->line, f->to);
		say(p->name, "file", known ? "resume" : "new", msg);
	}
}

/*
 * What provider p reads next run, given its old bookmarks (NULL: none).
 * Returns EXIT_OK, or EXIT_FAILED when a run would fail here.
 */
static int check_provider(struct cfg_provider *p,
			  const struct incr_prov_marks *old)
{
	char msg[1200], key[256];
	struct incr_prov_marks *next;
	int r;

	if (incr_keyed(p) && old && old->token && p->type == CFG_PROV_HTTP) {
		char tb[PROV_TOKEN_MAX + 1], *mark = NULL;

		if (incr_http_start_token(old->token, old->token_len, tb,
					  &mark) >= 0)
			return check_http(p, mark) < 0 ? EXIT_FAILED : EXIT_OK;
		free(mark);
	} else if (incr_keyed(p) && old && old->token &&
		   key_text(p, old->token, old->token_len, key,
			    sizeof key) == 0) {
		snprintf(msg, sizeof msg, "rows with %s > %s",
			 sql_conf(p)->key, key);
		say(p->name, "state", "bookmark", msg);
		return EXIT_OK;
	}
	if (incr_keyed(p)) {
		say(p->name, "state", "full", "no bookmark yet (its last run "
		    "did not finish, or read nothing)");
		return EXIT_OK;
	}
	if (p->type != CFG_PROV_FILE) {
		say(p->name, "state", "full", "no bookmark (sqlite and postgres "
		    "need key, http since_field): reads everything, its part "
		    "of the state replaced");
		return EXIT_OK;
	}
	if (file_conf(p)->encoding) {
		say(p->name, "state", "full", "encoding is set: reads "
		    "everything, its part of the state replaced");
		return EXIT_OK;
	}
	next = calloc(1, sizeof *next);
	r = next ? incr_snapshot(p, old, next) : -1;
	if (r < 0) {
		say(p->name, "state", "error", "cannot list or read its files "
		    "for their bookmarks");
	} else if (r == 1) {
		say(p->name, "state", "full", "a file changed where it was "
		    "read before (or shrank): every file read again, its part "
		    "of the state replaced");
	} else {
		snprintf(msg, sizeof msg, "%zu files%s", p->nincr_files,
			 old ? "" : ", none read before");
		say(p->name, "state", old ? "bookmark" : "full", msg);
		check_files(p, old);
	}
	incr_files_free(p);
	incr_marks_free(next, next ? 1 : 0);
	return r < 0 ? EXIT_FAILED : EXIT_OK;
}

/* Read and check generation gen as a run would.  0, or -1 with err. */
static int check_state(const struct cfg *cfg, const char *dir,
		       unsigned long gen, struct incr_marks_file *mf,
		       char *err, size_t errlen)
{
	char *marks = incr_path_of(dir, gen, "marks");
	char *part = incr_path_of(dir, gen, "partial");
	struct partial_set *ps = partial_set_new(cfg);
	int code, rc = -1;

	if (marks == NULL || part == NULL || ps == NULL)
		snprintf(err, errlen, "out of memory");
	else if (incr_marks_read(marks, mf, err, errlen) < 0)
		;
	else if (mf->fingerprint != cfg->fingerprint)
		snprintf(err, errlen, "state file %s: of another config (or "
			 "another version of this one)", marks);
	else if (partial_set_add(ps, part, err, errlen, &code) == 0)
		rc = 0;
	partial_set_free(ps);
	free(marks);
	free(part);
	return rc;
}

int incr_check(struct cfg *cfg, const char *dir, bool full)
{
	struct incr_marks_file mf = { 0 };
	unsigned long gen = 0;
	char err[1024], msg[1200];
	const char *why = NULL; /* every provider reads in full: why */
	int rc = EXIT_OK;

	if (full) {
		why = "--full: reads everything, the state rebuilt";
	} else if (incr_read_current(dir, &gen, err, sizeof err) < 0 ||
		   (gen > 0 &&
		    check_state(cfg, dir, gen, &mf, err, sizeof err) < 0)) {
		snprintf(msg, sizeof msg, "%s (run with --full to read "
			 "everything again and rebuild the state)", err);
		say("state", "state", "error", msg);
		incr_marks_file_free(&mf);
		return EXIT_DATAERR;
	} else if (gen == 0) {
		why = "no state yet: reads everything";
	}
	if (full)
		snprintf(msg, sizeof msg, "%s: not read, rebuilt (--full)", dir);
	else
		snprintf(msg, sizeof msg, "%s: generation %lu", dir, gen);
	say("state", "state", full ? "full" : gen ? "ok" : "none", msg);
	for (int i = 0; i < cfg->nproviders; i++) {
		struct cfg_provider *p = &cfg->providers[i];
		const struct incr_prov_marks *old = NULL;

		if (!p->enabled)
			continue;
		if (why) {
			say(p->name, "state", "full", why);
			continue;
		}
		for (int k = 0; k < mf.nprov; k++)
			if (strcmp(mf.prov_names[k], p->name) == 0)
				old = &mf.pm[k];
		if (check_provider(p, old) != EXIT_OK)
			rc = EXIT_FAILED;
	}
	incr_marks_file_free(&mf);
	fflush(stdout);
	return rc;
}
