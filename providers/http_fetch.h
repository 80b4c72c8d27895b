/*
 * http_fetch.h - the http provider's transfer engine: one curl multi
 * handle carrying every request, a pool of reused easy handles (so
 * connections are reused too), retries with backoff or the server's
 * Retry-After, the rate limit, and the job window's state changes
 * (http_state.h draws them).
 *
 * Errors of a job are kept in the job (JOB_FAILED, with its message) and
 * count only when the emitter reaches it: a page past the end that fails
 * is simply dropped.  Retries are logged, except those that fail the same
 * way as the one logged last within a short while: those are counted,
 * and the count is logged by http_retry_flush().
 */
#ifndef AGG_HTTP_FETCH_H
#define AGG_HTTP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <curl/curl.h>

#include "http_state.h"

/* Rate limiter bucket size: no bursts beyond the configured rate. */
#define HTTP_RATE_BURST 1.0

/*
 * A Retry-After value (delta-seconds or an HTTP date; v[0..len), not
 * NUL-terminated) as milliseconds from now, at least 0.  -1 if it is
 * neither.
 */
long http_retry_after_ms(const char *v, size_t len, time_t now);

/*
 * The request headers: the user's, plus defaults they did not set.  NULL
 * when out of memory; the caller frees the list (curl_slist_free_all).
 */
struct curl_slist *http_fetch_headers(const struct cfg_provider *p);

/*
 * The options every transfer of p shares, on e: headers, errbuf (curl's
 * message, CURL_ERROR_SIZE bytes), method and body, timeouts, TLS, and
 * the body and header callbacks, whose data (CURLOPT_WRITEDATA and
 * _HEADERDATA) must be the struct job being fetched.  body is the request
 * body (curl does not copy it: it must outlive e), NULL: the configured
 * one.  Returns 0 or -1.
 */
int http_fetch_easy_setup(CURL *e, const struct cfg_provider *p,
			  struct curl_slist *headers, const char *body,
			  char *errbuf);

/*
 * The body callback: appends to job ud's body, or stops the transfer
 * (returns other than size * nmemb) when it passes max_response or memory
 * runs out.  Set by http_fetch_easy_setup().
 */
size_t http_fetch_on_body(char *ptr, size_t size, size_t nmemb, void *ud);

/* What to add to curl's message for a certificate that did not verify. */
const char *http_tls_hint(CURLcode rc);

/*
 * Make the multi handle, the header list, the easy pool and the window
 * (2 * h->concurrency slots).  PROV_DONE, or a failure through
 * prov_fail().  http_fetch_close() undoes it, also after a failure.
 */
enum prov_status http_fetch_open(struct http *h);
void http_fetch_close(struct http *h);

/*
 * Start every transfer that may start now: retries that are due first,
 * then new jobs (http_page_take()) while the window, `concurrency` and
 * the rate limit allow, and the last round of pages does not hold them
 * back (see round_holds()).  Sets h->wake_us to when something blocked
 * may start, h->hold_us to when the hold ends.  0, or -1 (out of memory).
 */
int http_fetch_issue(struct http *h);

/* Collect finished transfers: each job becomes DONE, QUEUED or FAILED. */
void http_fetch_collect(struct http *h);

/*
 * How long curl_multi_poll may sleep (ms): until h->wake_us or h->hold_us,
 * whichever comes first, at most 250.
 */
int http_fetch_wait_ms(const struct http *h);

/* Give a job's easy handle back to the pool (cancelling its transfer). */
void http_job_detach(struct http *h, struct job *j);

/* Free what the job holds, keep its buffers (unless large), mark it FREE. */
void http_job_release(struct http *h, struct job *j);

/* Log the retries counted and not logged since the last one that was. */
void http_retry_flush(struct http *h);

#endif
