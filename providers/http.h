/*
 * http.h - the `http` provider type: JSON (or NDJSON) over HTTP(S), with
 * page, cursor and Link-header pagination (SPEC §3 "type = http").
 *
 * The ops are all the program needs.  The parsing that decides retries
 * and pagination is declared where it lives, for tests: Retry-After in
 * http_fetch.h, the Link header in http_page.h, URLs as shown in
 * http_redact.h.
 */
#ifndef AGG_HTTP_H
#define AGG_HTTP_H

#include "provider.h"

extern const struct prov_ops http_provider_ops;

#endif
