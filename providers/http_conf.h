/*
 * http_conf.h - an http provider's options, as providers.conf sets them.
 *
 * The keys (url, pagination, headers, timeouts, ...), their checks and
 * defaults are http_conf.c's, through http_conf_type (a struct cfg_type,
 * config.h).  Only the http provider reads a struct http_conf, through
 * http_conf().  url, header and body hold secrets: they are never quoted
 * in a config message, and reach logs only through http_url_public().
 */
#ifndef AGG_HTTP_CONF_H
#define AGG_HTTP_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/config.h"

enum cfg_pagination {
	CFG_PAGE_NONE = 1,
	CFG_PAGE_PAGE,
	CFG_PAGE_CURSOR,
	CFG_PAGE_LINK,
};

enum cfg_response { CFG_RESP_JSON = 1, CFG_RESP_NDJSON };

struct http_conf {
	char **urls;               /* at least one */
	int nurls;
	enum cfg_pagination pagination;
	long page_start;
	char *cursor_path;
	char *cursor_param;
	char *records;             /* JSON pointer; "" = the body is the array */
	enum cfg_response response;
	int concurrency;
	char **headers;            /* "Name: value", secrets included */
	int nheaders;
	char *method;              /* "GET" when not given */
	char *body;
	uint64_t timeout_ms;
	uint64_t connect_timeout_ms;
	int retries;
	double rate_limit;         /* requests per second, 0 = none */
	uint64_t max_response;
	char *ca_file;
	bool insecure;
	char *since_field;         /* JSON pointer; NULL = not incremental */
	char *since_start;         /* {since} of a first run; "" when not given */
};

extern const struct cfg_type http_conf_type;

/* The options of p, an http provider. */
static inline const struct http_conf *http_conf(const struct cfg_provider *p)
{
	return p->opts;
}

#endif
