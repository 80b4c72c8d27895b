/*
 * http_redact.h - what of an http request may be shown in a log line or a
 * message: a URL without its user information, query and fragment, and
 * the first bytes of an error body with every secret the request carried
 * blanked out.  Nothing these functions write holds a header value, a
 * query value or a password of the request.
 */
#ifndef AGG_HTTP_REDACT_H
#define AGG_HTTP_REDACT_H

#include <stddef.h>

#include "../common/buf.h"
#include "../common/config.h"

/* Bytes of an error response quoted in the failure message. */
#define HTTP_ERR_BODY_MAX 200

/*
 * url as it may appear in logs and error messages: no user information,
 * no query string, no fragment (tokens live there).  Always NUL-terminates
 * out (outlen > 0), cutting if need be.
 */
void http_url_public(const char *url, char *out, size_t outlen);

/*
 * The first bytes (at most HTTP_ERR_BODY_MAX) of the error body b, on one
 * line, cut at a character, with the secrets of the request to target
 * with p's headers blanked out: each header value (whole, and its last
 * word: the TOKEN of "Bearer TOKEN"), the URL's user information (as
 * written, and as the Basic credentials curl sends for it) and its query
 * values.  Into out (NUL-terminated, "" when the body is empty or memory
 * ran out); target may be NULL.
 */
void http_body_excerpt(const struct buf *b, const struct cfg_provider *p,
		       const char *target, char *out, size_t outlen);

#endif
