/*
 * http_conf.c - an http provider's keys in providers.conf (http_conf.h).
 *
 * Its key table, how each key is applied, and the checks once all are:
 * at least one url; `{page}` in every url exactly when pagination = page;
 * cursor_path and cursor_param exactly with pagination = cursor;
 * page_start only with pagination = page; records not with NDJSON;
 * `{since}` in a url or the body exactly when since_field is given,
 * since_start only with since_field, since_field not with NDJSON.
 * url and header may be given more than once; url, header and body are
 * secrets, never quoted in a message.
 */
#include "http_conf.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/config_key.h"
#include "../common/config_read.h"
#include "../common/config_value.h"

enum http_key {
	HK_TIMEOUT, HK_HEADER, HK_URL, HK_PAGINATION, HK_PAGE_START,
	HK_CURSOR_PATH, HK_CURSOR_PARAM, HK_RECORDS, HK_RESPONSE,
	HK_CONCURRENCY, HK_METHOD, HK_BODY, HK_CONNECT_TIMEOUT, HK_RETRIES,
	HK_RATE_LIMIT, HK_MAX_RESPONSE, HK_CA_FILE, HK_INSECURE,
	HK_SINCE_FIELD, HK_SINCE_START,
};

static const struct cfg_key_def http_keys[] = {
	[HK_TIMEOUT] = { "timeout", 0 },
	[HK_HEADER] = { "header", CFG_KEY_REPEAT | CFG_KEY_SECRET },
	[HK_URL] = { "url", CFG_KEY_REPEAT | CFG_KEY_SECRET },
	[HK_PAGINATION] = { "pagination", 0 },
	[HK_PAGE_START] = { "page_start", 0 },
	[HK_CURSOR_PATH] = { "cursor_path", 0 },
	[HK_CURSOR_PARAM] = { "cursor_param", 0 },
	[HK_RECORDS] = { "records", 0 },
	[HK_RESPONSE] = { "response", 0 },
	[HK_CONCURRENCY] = { "concurrency", 0 },
	[HK_METHOD] = { "method", 0 },
	[HK_BODY] = { "body", CFG_KEY_SECRET },
	[HK_CONNECT_TIMEOUT] = { "connect_timeout", 0 },
	[HK_RETRIES] = { "retries", 0 },
	[HK_RATE_LIMIT] = { "rate_limit", 0 },
	[HK_MAX_RESPONSE] = { "max_response", 0 },
	[HK_CA_FILE] = { "ca_file", 0 },
	[HK_INSECURE] = { "insecure", 0 },
	[HK_SINCE_FIELD] = { "since_field", 0 },
	[HK_SINCE_START] = { "since_start", 0 },
};

static int http_init(struct cfg_provider *p)
{
	struct http_conf *h = calloc(1, sizeof *h);

	if (!h)
		return -1;
	h->pagination = CFG_PAGE_NONE;
	h->page_start = 1;
	h->response = CFG_RESP_JSON;
	h->concurrency = 8;
	h->timeout_ms = 30000;
	h->connect_timeout_ms = 10000;
	h->retries = 5;
	h->max_response = 64ull << 20;
	h->method = strdup("GET");
	h->records = strdup("");
	h->since_start = strdup("");
	p->opts = h;
	return h->method && h->records && h->since_start ? 0 : -1;
}

static void free_strings(char **a, int n)
{
	for (int i = 0; i < n; i++)
		free(a[i]);
	free(a);
}

static void http_free(struct cfg_provider *p)
{
	struct http_conf *h = p->opts;

	if (!h)
		return;
	free_strings(h->urls, h->nurls);
	free(h->cursor_path);
	free(h->cursor_param);
	free(h->records);
	free_strings(h->headers, h->nheaders);
	free(h->method);
	free(h->body);
	free(h->ca_file);
	free(h->since_field);
	free(h->since_start);
	free(h);
	p->opts = NULL;
}

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if (iscntrl((unsigned char)*s))
			return true;
	return false;
}

/* "Name: value" with an RFC 9110 token for the name. */
static bool is_header(const char *s)
{
	size_t n = strspn(s, "!#$%&'*+-.^_`|~0123456789"
			     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

	return n > 0 && s[n] == ':' && !has_ctl(s);
}

/* "20/s", "100/m", "3600/h" or a bare number (per second). */
static int apply_rate(const struct cfg_key *k, const char *v, double *out)
{
	char *end;
	double r;

	errno = 0;
	r = strtod(v, &end);
	if (end == v || errno || !(r > 0) || r > 1e9)
		goto bad_rate;
	end = (char *)cfg_skip_space(end);
	if (strcmp(end, "/m") == 0)
		r /= 60;
	else if (strcmp(end, "/h") == 0)
		r /= 3600;
	else if (*end && strcmp(end, "/s") != 0)
		goto bad_rate;
	*out = r;
	return 0;

bad_rate:
	return cfg_bad_value(k, NULL,
			     "expected requests per second or minute, such as 20/s or 100/m");
}

/* An enum key: its names, their values, the message for anything else. */
static int apply_enum(const struct cfg_key *k, const char *v,
		      const char *const *names, const int *vals,
		      const char *expected, int *out)
{
	if (cfg_parse_enum(v, names, vals, out) < 0)
		return cfg_bad_value(k, NULL, "%s", expected);
	return 0;
}

static int http_apply(const struct cfg_key *k, int id, struct cfg_provider *p,
		      char **vp)
{
	static const char *const pages[] = { "none", "page", "cursor", "link",
		NULL };
	static const int page_vals[] = { CFG_PAGE_NONE, CFG_PAGE_PAGE,
		CFG_PAGE_CURSOR, CFG_PAGE_LINK };
	static const char *const responses[] = { "json", "ndjson", NULL };
	static const int response_vals[] = { CFG_RESP_JSON, CFG_RESP_NDJSON };
	struct http_conf *h = p->opts;
	char *v = *vp;
	long l;
	int iv;

	switch (id) {
	case HK_HEADER:
		if (!is_header(v))
			return cfg_bad_value(k, NULL,
					     "expected 'Name: value' on one line");
		return cfg_key_append(k, &h->headers, &h->nheaders, vp);
	case HK_URL:
		if (!(strncasecmp(v, "http://", 7) == 0 ||
		      strncasecmp(v, "https://", 8) == 0) ||
		    strpbrk(v, " \t") || has_ctl(v))
			return cfg_bad_value(k, NULL,
					     "expected an http:// or https:// URL on one line, without spaces");
		return cfg_key_append(k, &h->urls, &h->nurls, vp);
	case HK_PAGINATION:
		if (apply_enum(k, v, pages, page_vals,
			       "expected none, page, cursor or link", &iv) < 0)
			return -1;
		h->pagination = (enum cfg_pagination)iv;
		return 0;
	case HK_PAGE_START:
		return cfg_key_long(k, v, 0, LONG_MAX, &h->page_start);
	case HK_CURSOR_PATH:
		if (!*v || !cfg_is_json_pointer(v))
			return cfg_bad_value(k, NULL,
					     "expected a JSON pointer such as /next");
		return cfg_key_string(k, &h->cursor_path, vp);
	case HK_CURSOR_PARAM:
		return cfg_key_string(k, &h->cursor_param, vp);
	case HK_RECORDS:
		if (!cfg_is_json_pointer(v))
			return cfg_bad_value(k, NULL,
					     "expected a JSON pointer such as /items (empty: the body is the array)");
		free(h->records);
		h->records = v;
		*vp = NULL;
		return 0;
	case HK_RESPONSE:
		if (apply_enum(k, v, responses, response_vals,
			       "expected json or ndjson", &iv) < 0)
			return -1;
		h->response = (enum cfg_response)iv;
		return 0;
	case HK_CONCURRENCY:
		if (cfg_key_long(k, v, 1, 1024, &l) < 0)
			return -1;
		h->concurrency = (int)l;
		return 0;
	case HK_METHOD:
		if (!*v || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(v))
			return cfg_bad_value(k, NULL,
					     "expected an upper-case HTTP method such as GET or POST");
		return cfg_key_string(k, &h->method, vp);
	case HK_BODY:
		free(h->body);
		h->body = v;
		*vp = NULL;
		return 0;
	case HK_TIMEOUT:
		return cfg_key_duration(k, v, false, &h->timeout_ms);
	case HK_CONNECT_TIMEOUT:
		return cfg_key_duration(k, v, false, &h->connect_timeout_ms);
	case HK_RETRIES:
		if (cfg_key_long(k, v, 0, 1000, &l) < 0)
			return -1;
		h->retries = (int)l;
		return 0;
	case HK_RATE_LIMIT:
		return apply_rate(k, v, &h->rate_limit);
	case HK_MAX_RESPONSE:
		if (cfg_key_size(k, v, &h->max_response) < 0)
			return -1;
		if (h->max_response == 0)
			return cfg_bad_value(k, NULL, "must be more than 0");
		return 0;
	case HK_CA_FILE:
		return cfg_key_string(k, &h->ca_file, vp);
	case HK_INSECURE:
		return cfg_key_bool(k, v, &h->insecure);
	case HK_SINCE_FIELD:
		if (!*v || !cfg_is_json_pointer(v))
			return cfg_bad_value(k, NULL,
					     "expected a JSON pointer such as /updated_at");
		return cfg_key_string(k, &h->since_field, vp);
	case HK_SINCE_START:
		if (has_ctl(v))
			return cfg_bad_value(k, NULL, "expected a value on one line");
		return cfg_key_string(k, &h->since_start, vp);
	default:
		break;
	}
	return cfg_fail(k->doc, k->e->line, "internal error: key '%s'",
			k->e->key);
}

/* {since} in a url or the body exactly with since_field; since_start only
 * with it; not with NDJSON (its records are not parsed as a document). */
static int check_since(const struct cfg_check *c, const struct http_conf *h,
		       const char *sd)
{
	bool in_body = h->body && strstr(h->body, "{since}");

	for (int i = 0; i < h->nurls && !h->since_field; i++)
		if (strstr(h->urls[i], "{since}"))
			return cfg_fail(c->doc, c->seen[HK_URL],
					"url of %s has '{since}' but no since_field",
					sd);
	if (in_body && !h->since_field)
		return cfg_fail(c->doc, c->seen[HK_BODY],
				"body of %s has '{since}' but no since_field",
				sd);
	if (c->seen[HK_SINCE_START] && !h->since_field)
		return cfg_fail(c->doc, c->seen[HK_SINCE_START],
				"since_start needs since_field in %s", sd);
	if (!h->since_field)
		return 0;
	if (h->response == CFG_RESP_NDJSON)
		return cfg_fail(c->doc, c->seen[HK_SINCE_FIELD],
				"since_field is not supported with response = ndjson in %s",
				sd);
	if (in_body)
		return 0;
	for (int i = 0; i < h->nurls; i++)
		if (strstr(h->urls[i], "{since}"))
			return 0;
	return cfg_fail(c->doc, c->seen[HK_SINCE_FIELD],
			"since_field of %s needs '{since}' in a url or the body",
			sd);
}

static int http_check(const struct cfg_check *c, struct cfg_provider *p)
{
	const struct http_conf *h = p->opts;
	char sd[CFG_SECT_DESC_MAX];

	cfg_sect_desc(c->doc, c->si, sd, sizeof sd);
	if (h->nurls == 0)
		return cfg_missing_key(c->doc, c->si, "url", NULL);
	for (int i = 0; i < h->nurls; i++) {
		bool has_page = strstr(h->urls[i], "{page}") != NULL;

		if (h->pagination == CFG_PAGE_PAGE && !has_page)
			return cfg_fail(c->doc, c->seen[HK_URL],
					"pagination = page needs '{page}' in every url of %s",
					sd);
		if (h->pagination != CFG_PAGE_PAGE && has_page)
			return cfg_fail(c->doc, c->seen[HK_URL],
					"url of %s has '{page}' but pagination is not page",
					sd);
	}
	if (h->pagination == CFG_PAGE_CURSOR) {
		if (!h->cursor_path)
			return cfg_missing_key(c->doc, c->si, "cursor_path",
					       " (pagination = cursor)");
		if (!h->cursor_param)
			return cfg_missing_key(c->doc, c->si, "cursor_param",
					       " (pagination = cursor)");
	} else if (c->seen[HK_CURSOR_PATH] || c->seen[HK_CURSOR_PARAM]) {
		int line = c->seen[HK_CURSOR_PATH];

		return cfg_fail(c->doc, line ? line : c->seen[HK_CURSOR_PARAM],
				"cursor_path and cursor_param need pagination = cursor in %s",
				sd);
	}
	if (c->seen[HK_PAGE_START] && h->pagination != CFG_PAGE_PAGE)
		return cfg_fail(c->doc, c->seen[HK_PAGE_START],
				"page_start needs pagination = page in %s", sd);
	if (h->response == CFG_RESP_NDJSON && *h->records)
		return cfg_fail(c->doc, c->seen[HK_RECORDS],
				"records is not used with response = ndjson in %s",
				sd);
	return check_since(c, h, sd);
}

const struct cfg_type http_conf_type = {
	.name = "http",
	.type = CFG_PROV_HTTP,
	.keys = http_keys,
	.nkeys = sizeof http_keys / sizeof http_keys[0],
	.init = http_init,
	.apply = http_apply,
	.check = http_check,
	.free = http_free,
};
