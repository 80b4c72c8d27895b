/*
 * http.h - the `http` provider type: JSON (or NDJSON) over HTTP(S), with
 * page, cursor and Link-header pagination (SPEC §3 "type = http").
 *
 * The ops are all the program needs; the helpers below are exposed only so
 * that tests can check the parsing that decides retries and pagination.
 */
#ifndef AGG_HTTP_H
#define AGG_HTTP_H

#include <stddef.h>
#include <time.h>

#include "provider.h"

extern const struct prov_ops http_provider_ops;

/*
 * A Retry-After value (delta-seconds or an HTTP date; v[0..len), not
 * NUL-terminated) as milliseconds from now, at least 0.  -1 if it is
 * neither.
 */
long http_retry_after_ms(const char *v, size_t len, time_t now);

/*
 * The target of the first link with rel="next" in one or more RFC 8288
 * Link header values (joined with ", "), copied NUL-terminated into out.
 * Returns 0, or -1 when there is none (or it does not fit).
 */
int http_link_next(const char *links, char *out, size_t outlen);

/*
 * url as it may appear in logs and error messages: no user information,
 * no query string, no fragment (tokens live there).  Always NUL-terminates
 * out (outlen > 0), cutting if need be.
 */
void http_url_public(const char *url, char *out, size_t outlen);

#endif
