/*
 * http_fetch.c - the http provider's transfer engine (http_fetch.h): curl
 * callbacks and options, the easy pool, issuing and collecting transfers,
 * retries, backoff, Retry-After and the rate limit.
 *
 * Invariant: a job is RUNNING exactly when it holds an easy handle that
 * is in the multi handle; h->inflight counts them, and the easies not in
 * a transfer are on the idle stack.
 */
#include "http_fetch.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../common/trace.h"
#include "http_conf.h"
#include "http_page.h"
#include "http_records.h"
#include "http_redact.h"

/* Longest wait in curl_multi_poll, so that heartbeats keep flowing (ms). */
#define POLL_MS 250

/* Backoff between retries: 200ms doubling up to 30s, with jitter. */
#define RETRY_BASE_MS 200
#define RETRY_CAP_MS 30000

/* A Retry-After longer than this is cut to it (ms). */
#define RETRY_AFTER_CAP_MS 300000

/* A body buffer larger than this is freed once its page is emitted. */
#define BODY_KEEP_BYTES (1u << 20)

/*
 * Retries that fail the same way as the one logged last, within this long
 * of it, are counted instead of logged (us): a server that is down fails
 * every page fetched ahead at once.
 */
#define RETRY_QUIET_US 10000000u

/* Kinds of retried failure: a CURLcode, or one of these. */
#define RETRY_KIND_HTTP 1000    /* + the status */
#define RETRY_KIND_BODY 2000    /* a 2xx body that is not JSON */

long http_retry_after_ms(const char *v, size_t len, time_t now)
{
	char buf[128];
	long secs = 0;
	time_t t;
	size_t i;

	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t' ||
			   v[len - 1] == '\r' || v[len - 1] == '\n'))
		len--;
	if (len == 0)
		return -1;
	for (i = 0; i < len && v[i] >= '0' && v[i] <= '9'; i++)
		if (secs < RETRY_AFTER_CAP_MS / 1000 + 1)
			secs = secs * 10 + (v[i] - '0');
	if (i == len)
		return secs > RETRY_AFTER_CAP_MS / 1000 ? RETRY_AFTER_CAP_MS
							: secs * 1000;
	if (len >= sizeof buf)
		return -1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	t = curl_getdate(buf, NULL);
	if (t == (time_t)-1)
		return -1;
	if (t <= now)
		return 0;
	if (t - now > RETRY_AFTER_CAP_MS / 1000)
		return RETRY_AFTER_CAP_MS;
	return (long)(t - now) * 1000;
}

/* --- curl callbacks ---------------------------------------------------- */

size_t http_fetch_on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct job *j = ud;
	size_t len = size * nmemb;
	uint64_t max = http_conf(j->h->p)->max_response;

	j->h->received = true;
	if (max > 0 && j->body.len + len > max) {
		j->too_big = true;
		return 0; /* aborts the transfer */
	}
	if (buf_add(&j->body, ptr, len) < 0) {
		j->oom = true;
		return 0;
	}
	return len;
}

/* Is the header line h[0..len) the header name (any case)? */
static bool header_is(const char *h, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && h[n] == ':' && strncasecmp(h, name, n) == 0;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct job *j = ud;
	size_t len = size * nmemb, vlen;
	const char *v;

	j->h->received = true;
	if (len >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		/* A new response (redirect, 100 Continue): forget the last. */
		buf_clear(&j->link);
		j->retry_after_ms = -1;
		return len;
	}
	if (header_is(ptr, len, "link")) {
		v = ptr + 5;
		vlen = len - 5;
		while (vlen > 0 && http_is_ws(v[vlen - 1]))
			vlen--;
		if ((j->link.len > 0 && buf_add(&j->link, ", ", 2) < 0) ||
		    buf_add(&j->link, v, vlen) < 0)
			j->oom = true;
	} else if (header_is(ptr, len, "retry-after")) {
		j->retry_after_ms = http_retry_after_ms(ptr + 12, len - 12,
							time(NULL));
	}
	return len;
}

/* --- curl setup -------------------------------------------------------- */

struct curl_slist *http_fetch_headers(const struct cfg_provider *p)
{
	const struct http_conf *hc = http_conf(p);
	struct curl_slist *list = NULL, *l;
	bool accept = false;

	for (int i = 0; i < hc->nheaders; i++) {
		if (strncasecmp(hc->headers[i], "accept:", 7) == 0)
			accept = true;
		l = curl_slist_append(list, hc->headers[i]);
		if (l == NULL)
			goto out_free_list;
		list = l;
	}
	if (!accept) {
		l = curl_slist_append(list, "Accept: application/json");
		if (l == NULL)
			goto out_free_list;
		list = l;
	}
	/* No "Expect: 100-continue" round trip before a body. */
	l = curl_slist_append(list, "Expect:");
	if (l == NULL)
		goto out_free_list;
	return l;

out_free_list:
	curl_slist_free_all(list);
	return NULL;
}

int http_fetch_easy_setup(CURL *e, const struct cfg_provider *p,
			  struct curl_slist *headers, const char *body,
			  char *errbuf)
{
	const struct http_conf *hc = http_conf(p);
	const char *method = hc->method && *hc->method ? hc->method : "GET";
	CURLcode rc = CURLE_OK;

#define SET(opt, val) \
	do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_WRITEFUNCTION, http_fetch_on_body);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_TIMEOUT_MS, (long)hc->timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)hc->connect_timeout_ms);
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, 10L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_USERAGENT, "aggregate");
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	if (hc->max_response > 0)
		SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)hc->max_response);
	if (hc->ca_file != NULL && *hc->ca_file)
		SET(CURLOPT_CAINFO, hc->ca_file);
	if (hc->insecure) {
		SET(CURLOPT_SSL_VERIFYPEER, 0L);
		SET(CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (body == NULL)
		body = hc->body;
	if (body != NULL) {
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
		SET(CURLOPT_POSTFIELDS, body);
		if (strcasecmp(method, "POST") != 0)
			SET(CURLOPT_CUSTOMREQUEST, method);
	} else if (strcasecmp(method, "POST") == 0) {
		SET(CURLOPT_POSTFIELDSIZE, 0L);
		SET(CURLOPT_POSTFIELDS, "");
	} else if (strcasecmp(method, "GET") != 0) {
		SET(CURLOPT_CUSTOMREQUEST, method);
	}
#undef SET
	return rc == CURLE_OK ? 0 : -1;
}

/* Errors of curl that no retry can fix. */
static bool curl_permanent(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_LOGIN_DENIED:
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_BAD_FUNCTION_ARGUMENT:
		return true;
	default:
		return false;
	}
}

const char *http_tls_hint(CURLcode rc)
{
	if (rc == CURLE_PEER_FAILED_VERIFICATION)
		return " (TLS certificate verification failed: give the "
		       "server's CA in ca_file, or set insecure = true)";
	return "";
}

/* --- jobs -------------------------------------------------------------- */

static void wake_at(struct http *h, uint64_t t)
{
	if (h->wake_us == 0 || t < h->wake_us)
		h->wake_us = t;
}

void http_job_detach(struct http *h, struct job *j)
{
	if (j->easy == NULL)
		return;
	if (j->round != 0 && j->round == h->round) {
		if (h->round_first_us == 0)
			h->round_first_us = clock_us();
		if (--h->round_left == 0)
			h->round_end_us = clock_us();
	}
	j->round = 0;
	curl_multi_remove_handle(h->multi, j->easy->h);
	h->idle[h->nidle++] = j->easy;
	j->easy = NULL;
	h->inflight--;
}

void http_job_release(struct http *h, struct job *j)
{
	http_job_detach(h, j);
	json_decref(j->doc);
	j->doc = NULL;
	j->records = NULL;
	free(j->target);
	j->target = NULL;
	free(j->next);
	j->next = NULL;
	j->marked = false;
	j->fast = false;
	if (j->spans.cap > BODY_KEEP_BYTES)
		buf_free(&j->spans);
	j->spans.len = 0;
	if (j->body.cap > BODY_KEEP_BYTES)
		buf_free(&j->body);
	j->body.len = 0;
	j->link.len = 0;
	j->state = JOB_FREE;
}

static void job_fail(struct job *j, enum prov_status how, const char *pub,
		     const char *why)
{
	j->state = JOB_FAILED;
	j->fail = how;
	snprintf(j->msg, sizeof j->msg, "%s page %ld: %s", pub, j->page, why);
}

void http_retry_flush(struct http *h)
{
	char n[24];

	if (h->quiet_n == 0)
		return;
	snprintf(n, sizeof n, "%lu", h->quiet_n);
	log_event(LOG_WARN, h->p->name, "retrying", "requests", n,
		  "cause", h->quiet_why, "detail", "more requests failed the "
		  "same way", NULL);
	h->quiet_n = 0;
}

/*
 * Should the retry of a request that failed with kind (a curl error, an
 * HTTP status, a body) be logged?  Not when the last one logged failed the
 * same way less than RETRY_QUIET_US ago: then it is counted.
 */
static bool retry_logged(struct http *h, int kind, const char *why)
{
	uint64_t now = clock_us();

	if (h->quiet_since_us != 0 && kind == h->quiet_kind &&
	    now - h->quiet_since_us < RETRY_QUIET_US) {
		h->quiet_n++;
		return false;
	}
	http_retry_flush(h);
	h->quiet_kind = kind;
	h->quiet_since_us = now;
	snprintf(h->quiet_why, sizeof h->quiet_why, "%s", why);
	return true;
}

/*
 * A failure worth a retry: queue the job again, or fail it if no tries
 * left.  kind tells failures apart for the log (retry_logged()).
 */
static void job_retry(struct http *h, struct job *j, const char *pub,
		      int kind, const char *why)
{
	char attempt[16], delay[32], page[24];
	uint64_t ms;

	json_decref(j->doc);
	j->doc = NULL;
	j->records = NULL;
	j->fast = false;
	free(j->next);
	j->next = NULL;
	if (j->tries > http_conf(h->p)->retries) {
		char msg[HTTP_WHY_MAX + 40];

		snprintf(msg, sizeof msg, "%s (gave up after %d attempts)",
			 why, j->tries);
		job_fail(j, PROV_FAIL_RETRY, pub, msg);
		return;
	}
	if (j->retry_after_ms >= 0) {
		ms = (uint64_t)j->retry_after_ms; /* the server knows best */
	} else {
		uint64_t base = RETRY_BASE_MS;

		for (int i = 1; i < j->tries && base < RETRY_CAP_MS; i++)
			base *= 2;
		if (base > RETRY_CAP_MS)
			base = RETRY_CAP_MS;
		ms = base / 2 + (uint64_t)rand_r(&h->seed) % (base / 2 + 1);
	}
	j->state = JOB_QUEUED;
	j->due_us = clock_us() + ms * 1000u;
	wake_at(h, j->due_us);
	if (!retry_logged(h, kind, why))
		return;
	snprintf(attempt, sizeof attempt, "%d", j->tries + 1);
	snprintf(delay, sizeof delay, "%" PRIu64 "ms", ms);
	snprintf(page, sizeof page, "%ld", j->page);
	log_event(LOG_WARN, h->p->name, "retrying", "url", pub, "page", page,
		  "cause", why, "attempt", attempt, "delay", delay, NULL);
}

/* A transfer ended: decide what the job becomes. */
static void job_finish(struct http *h, struct job *j, CURLcode rc,
		       long status, const char *cerr, const char *effective)
{
	char pub[HTTP_URL_PUB_MAX], why[HTTP_WHY_MAX];
	char excerpt[HTTP_ERR_BODY_MAX + 1];
	int prc;

	http_url_public(j->target, pub, sizeof pub);
	if (j->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(why, sizeof why, "response larger than max_response "
			 "(%" PRIu64 " bytes)", http_conf(h->p)->max_response);
		job_fail(j, PROV_FAIL_PERMANENT, pub, why);
		return;
	}
	if (j->oom) {
		job_fail(j, PROV_FAIL_RETRY, pub, "out of memory");
		return;
	}
	if (rc != CURLE_OK) {
		snprintf(why, sizeof why, "%s%s",
			 cerr && *cerr ? cerr : curl_easy_strerror(rc),
			 http_tls_hint(rc));
		if (curl_permanent(rc))
			job_fail(j, PROV_FAIL_PERMANENT, pub, why);
		else
			job_retry(h, j, pub, (int)rc, why);
		return;
	}
	if (status == 408 || status == 429 || status >= 500) {
		snprintf(why, sizeof why, "HTTP %ld", status);
		job_retry(h, j, pub, RETRY_KIND_HTTP + (int)(status % 1000),
			  why);
		return;
	}
	if (status < 200 || status > 299) {
		http_body_excerpt(&j->body, h->p, j->target, excerpt,
				  sizeof excerpt);
		snprintf(why, sizeof why, "HTTP %ld%s%s", status,
			 excerpt[0] ? ": " : "", excerpt);
		job_fail(j, PROV_FAIL_PERMANENT, pub, why);
		return;
	}
	prc = http_records_parse(h, j, why, sizeof why);
	if (prc == -1) {
		job_retry(h, j, pub, RETRY_KIND_BODY, why);
		return;
	}
	if (prc == -2) {
		job_fail(j, PROV_FAIL_PERMANENT, pub, why);
		return;
	}
	if (http_page_next(h, j, effective, why, sizeof why) < 0) {
		job_fail(j, PROV_FAIL_PERMANENT, pub, why);
		return;
	}
	j->state = JOB_DONE;
	if (http_page_done(h, j) < 0)
		job_fail(j, PROV_FAIL_RETRY, pub, "out of memory");
}

/*
 * --trace: the request that just ended, from its start (curl's total
 * time), with its page, its URL as logs show it, its status; and its
 * connection's set-up when it made one.  Requests overlap: async spans.
 */
static __attribute__((cold)) void trace_request(const struct job *j, CURL *e,
						CURLcode rc, long status)
{
	curl_off_t total = 0, connect = 0;
	char pub[HTTP_URL_PUB_MAX], page[24], code[24];
	uint64_t now = clock_us(), start;

	curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total);
	curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connect);
	start = total > 0 && (uint64_t)total < now ? now - (uint64_t)total : now;
	http_url_public(j->target, pub, sizeof pub);
	snprintf(page, sizeof page, "%ld", j->page);
	snprintf(code, sizeof code, "%ld", status);
	if (connect > 0)
		trace_async("connect", start, start + (uint64_t)connect, "url",
			    pub, NULL);
	trace_async("request", start, now, "url", pub, "page", page,
		    "status", code, "error",
		    rc != CURLE_OK ? curl_easy_strerror(rc) : NULL, NULL);
	trace_flush();
}

void http_fetch_collect(struct http *h)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
		struct job *j;
		struct easy *e;
		char *priv = NULL, *eff = NULL, *effcopy = NULL;
		long status = 0;
		CURLcode rc;

		if (m->msg != CURLMSG_DONE)
			continue;
		rc = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		j = (struct job *)(void *)priv;
		e = j->easy;
		if (e == NULL || j->state != JOB_RUNNING)
			continue; /* cancelled meanwhile (SKIPPED) */
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE,
				  &status);
		if (trace_on)
			trace_request(j, m->easy_handle, rc, status);
		if (h->pagination == CFG_PAGE_LINK &&
		    curl_easy_getinfo(m->easy_handle, CURLINFO_EFFECTIVE_URL,
				      &eff) == CURLE_OK && eff != NULL)
			effcopy = strdup(eff);
		/* The error text stays in the easy until its next transfer. */
		http_job_detach(h, j);
		job_finish(h, j, rc, status, e->err, effcopy);
		free(effcopy);
		h->progress = true;
	}
}

/* Start the job's transfer on an idle easy handle.  0, or -1. */
static int job_start(struct http *h, struct job *j)
{
	struct easy *e;

	if (h->nidle == 0) {
		e = &h->easies[h->neasies];
		e->h = curl_easy_init();
		if (e->h == NULL || http_fetch_easy_setup(e->h, h->p,
						  h->headers, h->body, e->err) < 0) {
			if (e->h)
				curl_easy_cleanup(e->h);
			e->h = NULL;
			return -1;
		}
		h->neasies++;
		h->idle[h->nidle++] = e;
	}
	e = h->idle[h->nidle - 1];
	buf_clear(&j->body);
	buf_clear(&j->link);
	j->retry_after_ms = -1;
	j->too_big = false;
	j->oom = false;
	e->err[0] = '\0';
	if (curl_easy_setopt(e->h, CURLOPT_URL, j->target) != CURLE_OK ||
	    curl_easy_setopt(e->h, CURLOPT_WRITEDATA, j) != CURLE_OK ||
	    curl_easy_setopt(e->h, CURLOPT_HEADERDATA, j) != CURLE_OK ||
	    curl_easy_setopt(e->h, CURLOPT_PRIVATE, j) != CURLE_OK ||
	    curl_multi_add_handle(h->multi, e->h) != CURLM_OK)
		return -1;
	h->nidle--;
	j->easy = e;
	j->state = JOB_RUNNING;
	j->tries++;
	h->inflight++;
	return 0;
}

/* May one more request go out now (rate_limit)?  Takes the token if so. */
static bool take_token(struct http *h, uint64_t now)
{
	double rate = http_conf(h->p)->rate_limit;

	if (rate <= 0)
		return true;
	h->tokens += (double)(now - h->tokens_us) * rate / 1e6;
	h->tokens_us = now;
	if (h->tokens > HTTP_RATE_BURST)
		h->tokens = HTTP_RATE_BURST;
	if (h->tokens >= 1.0) {
		h->tokens -= 1.0;
		return true;
	}
	wake_at(h, now + (uint64_t)((1.0 - h->tokens) * 1e6 / rate) + 1);
	return false;
}

/*
 * Do new pages wait for the rest of the last round's answers?
 *
 * Pages fetched ahead (pagination = page) may lie past the end, which only
 * a page's answer tells.  A round of requests sent together is answered
 * together, in a burst; a new page started for each answer as it comes
 * would start most of a round again before the burst reaches the empty
 * page, all past the end, and send those requests while the rest of the
 * burst is still being received.  So once the last round's first answer
 * is in, new pages wait for the others: for at most an eighth of the time
 * that first answer took, so that one slow page holds the next round back
 * only that long.  Waiting costs each round the spread of its burst, while
 * only the last round has pages past the end: a run waits at most an
 * eighth of its first round's time in all (h->hold_left_us), which a run
 * of one or two rounds does not reach and a long one spends early.
 */
static uint64_t hold_until(const struct http *h)
{
	uint64_t cap = (h->round_first_us - h->round_start_us) / 8;

	return h->round_first_us + (cap < h->hold_left_us ? cap
							  : h->hold_left_us);
}

static bool round_holds(struct http *h, uint64_t now)
{
	uint64_t until;

	if (h->pagination != CFG_PAGE_PAGE || h->round_left <= 0 ||
	    h->round_first_us == 0)
		return false;
	if (h->hold_left_us == UINT64_MAX)
		h->hold_left_us = (h->round_first_us - h->round_start_us) / 8;
	until = hold_until(h);
	if (now >= until)
		return false;
	h->hold_us = until;
	return true;
}

/* A new round starts now: charge the last one's wait to the budget. */
static void round_begin(struct http *h, uint64_t now)
{
	if (h->round_first_us != 0 && h->hold_left_us != UINT64_MAX) {
		uint64_t end = h->round_left > 0 ? now : h->round_end_us;
		uint64_t until = hold_until(h);

		if (end > until)
			end = until;
		if (end > h->round_first_us)
			h->hold_left_us -= end - h->round_first_us;
	}
	h->round++;
	h->round_left = 0;
	h->round_start_us = now;
	h->round_first_us = 0;
	h->round_end_us = 0;
}

int http_fetch_issue(struct http *h)
{
	uint64_t now = clock_us();
	bool fresh = true;

	h->wake_us = 0;
	h->hold_us = 0;
	/* Retries first: they are earlier in the sequence. */
	for (uint64_t s = h->head; s < h->tail; s++) {
		struct job *j = http_job_at(h, s);

		if (j->state != JOB_QUEUED)
			continue;
		if (j->due_us > now) {
			wake_at(h, j->due_us);
			continue;
		}
		if (h->inflight >= h->concurrency || !take_token(h, now))
			return 0;
		if (job_start(h, j) < 0)
			return -1;
	}
	if (round_holds(h, now))
		return 0;
	while (h->tail - h->head < h->wcap &&
	       h->inflight < h->concurrency && http_page_more(h)) {
		struct job *j;

		if (!take_token(h, now))
			break;
		j = http_page_take(h);
		if (j == NULL || job_start(h, j) < 0)
			return -1;
		if (fresh) {
			round_begin(h, now);
			fresh = false;
		}
		j->round = h->round;
		h->round_left++;
	}
	return 0;
}

int http_fetch_wait_ms(const struct http *h)
{
	uint64_t now = clock_us(), wake = h->wake_us;

	if (h->hold_us != 0 && (wake == 0 || h->hold_us < wake))
		wake = h->hold_us;
	if (wake == 0)
		return POLL_MS;
	if (wake <= now)
		return 0;
	if (wake - now >= POLL_MS * 1000u)
		return POLL_MS;
	return (int)((wake - now + 999) / 1000);
}

enum prov_status http_fetch_open(struct http *h)
{
	int conc = h->concurrency;

	h->headers = http_fetch_headers(h->p);
	h->multi = curl_multi_init();
	h->easies = calloc((size_t)conc, sizeof *h->easies);
	h->idle = calloc((size_t)conc, sizeof *h->idle);
	h->wcap = (size_t)conc * 2;
	h->win = calloc(h->wcap, sizeof *h->win);
	if (h->headers == NULL || h->multi == NULL || h->easies == NULL ||
	    h->idle == NULL || h->win == NULL)
		return prov_fail(h->c, PROV_FAIL_RETRY, "out of memory");
	for (size_t i = 0; i < h->wcap; i++)
		h->win[i].h = h;
	h->hold_left_us = UINT64_MAX; /* set by the first round's answer */
	if (curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			      (long)conc) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
			      (long)conc) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS,
			      (long)conc) != CURLM_OK)
		return prov_fail(h->c, PROV_FAIL_PERMANENT,
				 "cannot configure libcurl");
	return PROV_DONE;
}

void http_fetch_close(struct http *h)
{
	if (h->win != NULL) {
		for (size_t i = 0; i < h->wcap; i++) {
			http_job_release(h, &h->win[i]);
			buf_free(&h->win[i].body);
			buf_free(&h->win[i].spans);
			buf_free(&h->win[i].link);
		}
		free(h->win);
	}
	for (int i = 0; i < h->neasies; i++)
		curl_easy_cleanup(h->easies[i].h);
	free(h->easies);
	free(h->idle);
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	curl_slist_free_all(h->headers);
}
