/*
 * http_page.h - pagination for the http provider: which request comes
 * next, and the resume token that says so.
 *
 *   none    one job per url
 *   page    (url, page) for page = page_start, page_start + 1, ... until a
 *           page with no records; pages are fetched ahead, `concurrency` at
 *           a time, and the pages past the first empty one are dropped
 *   cursor  one job at a time: the next URL comes from the response body
 *   link    one job at a time: the next URL comes from the Link header
 *
 * Resume tokens (text): "none U" (next url index), "page U P" (next url
 * index and page), "seq U P URL" (cursor/link: next url index, page count
 * and URL to fetch; an empty URL means the url's own start).
 *
 * The generator is struct http's gen_* fields; these functions are its
 * only writers.
 */
#ifndef AGG_HTTP_PAGE_H
#define AGG_HTTP_PAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "http_state.h"

/*
 * tmpl with every "{page}" replaced by page and, when since is not NULL,
 * every "{since}" by since (already URL-encoded); malloc'd, NULL: no
 * memory.
 */
char *http_page_url(const char *tmpl, long page, const char *since);

/*
 * A since_field provider's run reads records after since: set
 * h->run_since (a copy of since, unless already set), h->since_q
 * (since URL-encoded, for the urls' {since}) and h->body (the body with
 * {since} replaced by since as it is).  Nothing without since_field.
 * 0, or -1 (out of memory); http_since_end() frees both either way.
 */
int http_since_begin(struct http *h, const char *since);
void http_since_end(struct http *h);

/*
 * The target of the first link with rel="next" in one or more RFC 8288
 * Link header values (joined with ", "), copied NUL-terminated into out.
 * Returns 0, or -1 when there is none (or it does not fit).
 */
int http_link_next(const char *links, char *out, size_t outlen);

/*
 * cursor, link: set j->next (malloc'd) to the URL after the parsed
 * response of job j - from the cursor in its body, or the rel="next" link
 * of its Link header, resolved against effective (the URL that answered;
 * NULL: j->target) - or to NULL at the end.  Other paginations: nothing.
 * Returns 0, or -1 with why filled (a cursor of the wrong type, a bad
 * link, a link to the page itself): no retry will change it.
 */
int http_page_next(struct http *h, struct job *j, const char *effective,
		   char *why, size_t wl);

/*
 * Job j is DONE: move the generator on (page: an empty page ends its url
 * and the jobs past it are SKIPPED; cursor/link: the next job of the
 * chain may start).  Returns 0, or -1 when out of memory.
 */
int http_page_done(struct http *h, struct job *j);

/* Is there a job to create now?  (page: moves on past a finished url.) */
bool http_page_more(struct http *h);

/*
 * Create the next job, QUEUED, at the tail of the window (the caller has
 * checked http_page_more() and the window's room).  NULL: out of memory.
 */
struct job *http_page_take(struct http *h);

/* The resume token that follows job j.  Its length, or -1 if too long. */
int http_page_token(const struct http *h, const struct job *j, char *tok,
		    size_t toklen);

/*
 * Set the generator from c's resume token (or the start).  PROV_DONE, or
 * a failure through prov_fail() (a token that does not fit).
 */
enum prov_status http_page_resume(struct http *h);

#endif
