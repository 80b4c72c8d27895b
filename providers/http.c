/*
 * http.c - the `http` provider type (SPEC §3 "type = http", §4, §6): pages
 * of JSON (or NDJSON) records fetched over HTTP(S) with libcurl's multi
 * interface, converted into the schema and handed to the runtime.
 *
 * How it fits: the runtime (runtime.c) calls http_run() in the provider's
 * own process.  This file holds the run's loop and --check; the rest is in
 * rooms sharing the run's state (http_state.h: the jobs, their window and
 * their states):
 *
 *   http_fetch    the transfers: curl multi, retries, backoff, Retry-After,
 *                 the rate limit
 *   http_page     pagination (none, page, cursor, link) and resume tokens
 *   http_records  response bodies into records, and their rejects
 *   http_redact   URLs and error bodies as they may be shown
 *
 * Invariants:
 *  - records are emitted, and checkpoints sent, strictly in sequence
 *    order, each job's after the one before it; a checkpoint follows every
 *    job, and its token names the next job to fetch, so a restart resumes
 *    exactly after the last page the aggregator counted;
 *  - a failure counts only when the emitter reaches its job: a page past
 *    the end that fails (many APIs answer 404 there) is simply dropped;
 *  - header values and query strings never reach a log line or a message:
 *    URLs are shown through http_url_public().
 */
#include "http.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../common/trace.h"
#include "http_conf.h"
#include "http_fetch.h"
#include "http_page.h"
#include "http_records.h"
#include "http_redact.h"
#include "http_state.h"

#define MAX_CONCURRENCY 1024

/* --- emitting ---------------------------------------------------------- */

/*
 * A job past the end leaves the window.  While more jobs may follow, its
 * transfer (if any) is cut now, freeing its slot; when none can, the
 * transfer is left to close_all(), after DONE (skip_after() likewise).
 */
static void drop_job(struct http *h, struct job *j)
{
	if (j->easy != NULL && !http_page_more(h))
		return;
	http_job_release(h, j);
}

/* Emit, in sequence order, every job at the head that is ready. */
static enum prov_status emit_ready(struct http *h)
{
	char tok[PROV_TOKEN_MAX + 1], pub[HTTP_URL_PUB_MAX];
	enum prov_status st;
	int toklen;

	while (h->head < h->tail) {
		struct job *j = http_job_at(h, h->head);

		if (j->state == JOB_SKIPPED ||
		    (h->pagination == CFG_PAGE_PAGE &&
		     j->url <= h->finished_url)) {
			drop_job(h, j);
			h->head++;
			h->progress = true;
			continue;
		}
		if (j->state == JOB_FAILED)
			return prov_fail(h->c, j->fail, "%s", j->msg);
		if (j->state != JOB_DONE)
			break;
		http_url_public(j->target, pub, sizeof pub);
		st = http_records_emit(h, j, pub);
		if (st != PROV_DONE)
			return st;
		toklen = http_page_token(h, j, tok, sizeof tok);
		if (toklen < 0)
			return prov_fail(h->c, PROV_FAIL_PERMANENT,
					 "%s page %ld: next URL too long for "
					 "a resume token", pub, j->page);
		if (prov_checkpoint(h->c, tok, (size_t)toklen) < 0)
			return prov_failure(h->c);
		if (h->pagination == CFG_PAGE_PAGE && j->nrecords == 0)
			h->finished_url = j->url;
		http_job_release(h, j);
		h->head++;
		h->progress = true;
	}
	return PROV_DONE;
}

/* --- the run ----------------------------------------------------------- */

/* Compile the map and the pointers; check the settings.  */
static enum prov_status prepare(struct http *h)
{
	const struct cfg_provider *p = h->p;
	const struct http_conf *hc = http_conf(p);
	char err[256];

	if (hc->nurls < 1)
		return prov_fail(h->c, PROV_FAIL_PERMANENT, "no url");
	if (h->pagination == CFG_PAGE_PAGE)
		for (int i = 0; i < hc->nurls; i++)
			if (strstr(hc->urls[i], "{page}") == NULL)
				return prov_fail(h->c, PROV_FAIL_PERMANENT,
						 "url %d has no {page} "
						 "(pagination = page)", i + 1);
	if (h->pagination == CFG_PAGE_CURSOR &&
	    hc->response == CFG_RESP_NDJSON)
		return prov_fail(h->c, PROV_FAIL_PERMANENT, "pagination = "
				 "cursor needs a JSON response, not ndjson");
	if (jsonptr_compile(&h->recptr, hc->records ? hc->records : "", err,
			    sizeof err) < 0)
		return prov_fail(h->c, PROV_FAIL_PERMANENT, "records: %s", err);
	h->since_on = hc->since_field != NULL;
	if (h->since_on && jsonptr_compile(&h->sinceptr, hc->since_field,
					   err, sizeof err) < 0)
		return prov_fail(h->c, PROV_FAIL_PERMANENT, "since_field: %s",
				 err);
	if (h->pagination == CFG_PAGE_CURSOR &&
	    jsonptr_compile(&h->curptr, hc->cursor_path ? hc->cursor_path : "",
			    err, sizeof err) < 0)
		return prov_fail(h->c, PROV_FAIL_PERMANENT, "cursor_path: %s",
				 err);
	return http_records_compile(h);
}

static void close_all(struct http *h)
{
	http_fetch_close(h);
	http_records_free(h);
	free(h->gen_next);
	http_since_end(h);
	jsonptr_free(&h->recptr);
	jsonptr_free(&h->curptr);
	jsonptr_free(&h->sinceptr);
}

/* The event loop: start, collect, emit, sleep; until done or failed. */
static enum prov_status pump(struct http *h)
{
	CURLMcode mc;
	int running;

	for (;;) {
		enum prov_status st;

		if (http_fetch_issue(h) < 0)
			return prov_fail(h->c, PROV_FAIL_RETRY,
					 "cannot start a transfer (out of "
					 "memory)");
		mc = curl_multi_perform(h->multi, &running);
		if (mc != CURLM_OK)
			return prov_fail(h->c, PROV_FAIL_RETRY, "libcurl: %s",
					 curl_multi_strerror(mc));
		http_fetch_collect(h);
		st = emit_ready(h);
		if (st != PROV_DONE)
			return st;
		if (h->head == h->tail && !http_page_more(h))
			return PROV_DONE;
		/*
		 * A heartbeat means progress: bytes arrived, a transfer
		 * ended, a page was emitted; or we wait on our own clock (a
		 * retry's backoff or Retry-After, the rate limit: wake_us),
		 * which is deliberate and bounded.  Waiting on a server that
		 * says nothing is not: stall_timeout then applies.
		 */
		if (h->progress || h->received || h->wake_us != 0) {
			prov_heartbeat(h->c);
			h->received = false;
		}
		if (h->progress) {
			h->progress = false;
			continue;
		}
		mc = curl_multi_poll(h->multi, NULL, 0, http_fetch_wait_ms(h),
				     NULL);
		if (mc != CURLM_OK)
			return prov_fail(h->c, PROV_FAIL_RETRY, "libcurl: %s",
					 curl_multi_strerror(mc));
	}
}

static enum prov_status http_run(struct prov_ctx *c)
{
	const struct http_conf *hc = http_conf(c->p);
	struct http h;
	enum prov_status st;
	uint64_t t0;

	memset(&h, 0, sizeof h);
	h.c = c;
	h.p = c->p;
	h.pagination = hc->pagination ? hc->pagination : CFG_PAGE_NONE;
	h.concurrency = hc->concurrency;
	if (h.concurrency < 1)
		h.concurrency = 1;
	if (h.concurrency > MAX_CONCURRENCY)
		h.concurrency = MAX_CONCURRENCY;
	h.tokens = HTTP_RATE_BURST;
	h.tokens_us = clock_us();
	h.seed = (unsigned)getpid() ^ (unsigned)h.tokens_us;
	/* A peer closing a TLS connection must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return prov_fail(c, PROV_FAIL_RETRY, "cannot start libcurl");
	if (hc->insecure)
		log_event(LOG_WARN, c->p->name, "tls verification off",
			  "detail", "insecure = true: the server's certificate "
			  "and name are not checked", NULL);
	st = prepare(&h);
	if (st == PROV_DONE)
		st = http_page_resume(&h);
	if (st == PROV_DONE)
		st = http_fetch_open(&h);
	if (st == PROV_DONE)
		st = pump(&h);
	http_retry_flush(&h);
	/*
	 * DONE before the cleanup: closing every connection (and the
	 * transfers past the last page, left running: see drop_job()) takes
	 * milliseconds that the output need not wait for.
	 */
	if (st == PROV_DONE && prov_done(c) < 0)
		st = prov_failure(c);
	t0 = trace_on ? clock_us() : 0;
	close_all(&h);
	curl_global_cleanup();
	if (trace_on)
		trace_span("close", t0, NULL);
	return st;
}

/* --check: fetch the first page and count its records. */
static int http_check(const struct cfg *cfg, const struct cfg_provider *p,
		      char *msg, size_t msglen)
{
	const struct http_conf *hc = http_conf(p);
	struct prov_ctx ctx;
	struct http h;
	struct job j;
	char err[CURL_ERROR_SIZE], pub[HTTP_URL_PUB_MAX], why[HTTP_WHY_MAX];
	char excerpt[HTTP_ERR_BODY_MAX + 1];
	CURL *e = NULL;
	CURLcode rc;
	long status = 0;
	int ret = -1;

	memset(&ctx, 0, sizeof ctx);
	memset(&h, 0, sizeof h);
	memset(&j, 0, sizeof j);
	ctx.cfg = cfg;
	ctx.p = p;
	h.c = &ctx;
	h.p = p;
	j.h = &h;
	err[0] = '\0';
	if (hc->nurls < 1) {
		snprintf(msg, msglen, "no url");
		return -1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(msg, msglen, "cannot start libcurl");
		return -1;
	}
	j.page = hc->pagination == CFG_PAGE_PAGE ? hc->page_start : 1;
	if (http_since_begin(&h, hc->since_start) < 0) {
		snprintf(msg, msglen, "out of memory");
		goto out_cleanup;
	}
	j.target = http_page_url(hc->urls[0], j.page, h.since_q);
	h.headers = http_fetch_headers(p);
	e = curl_easy_init();
	if (j.target == NULL || h.headers == NULL || e == NULL ||
	    http_fetch_easy_setup(e, p, h.headers, h.body, err) < 0 ||
	    curl_easy_setopt(e, CURLOPT_URL, j.target) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, &j) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HEADERDATA, &j) != CURLE_OK) {
		snprintf(msg, msglen, "cannot set up libcurl");
		goto out_cleanup;
	}
	http_url_public(j.target, pub, sizeof pub);
	if (hc->insecure)
		log_event(LOG_WARN, p->name, "tls verification off",
			  "detail", "insecure = true: the server's certificate "
			  "and name are not checked", NULL);
	if (jsonptr_compile(&h.recptr, hc->records ? hc->records : "", why,
			    sizeof why) < 0) {
		snprintf(msg, msglen, "records: %s", why);
		goto out_cleanup;
	}
	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (j.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(msg, msglen, "%s: response larger than max_response",
			 pub);
		goto out_cleanup;
	}
	if (rc != CURLE_OK) {
		snprintf(msg, msglen, "%s: %s%s", pub,
			 err[0] ? err : curl_easy_strerror(rc),
			 http_tls_hint(rc));
		goto out_cleanup;
	}
	if (status < 200 || status > 299) {
		http_body_excerpt(&j.body, p, j.target, excerpt,
				  sizeof excerpt);
		snprintf(msg, msglen, "%s: HTTP %ld%s%s", pub, status,
			 excerpt[0] ? ": " : "", excerpt);
		goto out_cleanup;
	}
	if (http_records_parse(&h, &j, why, sizeof why) < 0) {
		snprintf(msg, msglen, "%s: HTTP %ld, %s", pub, status, why);
		goto out_cleanup;
	}
	snprintf(msg, msglen, "HTTP %ld, %zu records", status, j.nrecords);
	ret = 0;
out_cleanup:
	json_decref(j.doc);
	buf_free(&j.body);
	buf_free(&j.link);
	free(j.target);
	jsonptr_free(&h.recptr);
	if (e != NULL)
		curl_easy_cleanup(e);
	http_since_end(&h);
	curl_slist_free_all(h.headers);
	curl_global_cleanup();
	return ret;
}

const struct prov_ops http_provider_ops = {
	.name = "http",
	.run = http_run,
	.check = http_check,
};
