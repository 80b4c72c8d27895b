/*
 * http_page.c - pagination for the http provider (http_page.h): URL
 * templates, the Link header, cursors, the job generator and the resume
 * tokens.
 *
 * Invariant: a token names the next job to fetch after the last job whose
 * records the aggregator counted, so a restart resumes exactly there;
 * jobs past the end of a page url (after its first empty page) may have
 * been fetched, and are dropped, never emitted.
 */
#include "http_page.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_conf.h"
#include "http_fetch.h"
#include "http_records.h"

/* tmpl with every key replaced by val; NULL when out of memory. */
static char *subst(const char *tmpl, const char *key, const char *val)
{
	size_t klen = strlen(key), vlen = strlen(val), n = 0;
	const char *s;
	char *out, *o;

	for (s = tmpl; (s = strstr(s, key)) != NULL; s += klen)
		n++;
	out = malloc(strlen(tmpl) + n * vlen + 1);
	if (out == NULL)
		return NULL;
	o = out;
	for (s = tmpl; *s;) {
		if (strncmp(s, key, klen) == 0) {
			memcpy(o, val, vlen);
			o += vlen;
			s += klen;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

char *http_page_url(const char *tmpl, long page, const char *since)
{
	char num[24];
	char *u, *out;

	snprintf(num, sizeof num, "%ld", page);
	u = subst(tmpl, "{page}", num);
	if (u == NULL || since == NULL)
		return u;
	out = subst(u, "{since}", since);
	free(u);
	return out;
}

int http_since_begin(struct http *h, const char *since)
{
	const struct http_conf *hc = http_conf(h->p);
	char *q;

	if (hc->since_field == NULL)
		return 0;
	if (h->run_since == NULL && (h->run_since = strdup(since)) == NULL)
		return -1;
	q = curl_easy_escape(NULL, since, 0);
	if (q == NULL)
		return -1;
	h->since_q = strdup(q);
	curl_free(q);
	if (h->since_q == NULL)
		return -1;
	if (hc->body != NULL && (h->body = subst(hc->body, "{since}",
						 since)) == NULL)
		return -1;
	return 0;
}

void http_since_end(struct http *h)
{
	free(h->since_q);
	free(h->body);
	free(h->run_since);
	json_decref(h->since_max);
	h->since_q = NULL;
	h->body = NULL;
	h->run_since = NULL;
	h->since_max = NULL;
}

/* Append s's bytes in hex ("-" when empty) and a blank; -1: no room. */
static int put_hex(char **o, char *end, const char *kind, const char *s)
{
	size_t n = strlen(s);

	if (!*s && !*kind)
		return snprintf(*o, (size_t)(end - *o), "- ") == 2 ?
		       (*o += 2, 0) : -1;
	if ((size_t)(end - *o) <= strlen(kind) + 2 * n + 1)
		return -1;
	*o += sprintf(*o, "%s", kind);
	for (size_t i = 0; i < n; i++)
		*o += sprintf(*o, "%02x", (unsigned char)s[i]);
	*(*o)++ = ' ';
	**o = '\0';
	return 0;
}

/* The since_field value v as {since} text (numbers as JSON writes them). */
static int since_text(const json_t *v, char *out, size_t outlen)
{
	int n;

	if (json_is_integer(v))
		n = snprintf(out, outlen, "%" JSON_INTEGER_FORMAT,
			     json_integer_value(v));
	else if (json_is_real(v))
		n = snprintf(out, outlen, "%.17g", json_real_value(v));
	else
		n = snprintf(out, outlen, "%s", json_string_value(v));
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* "since RUN MAX ": the run's since and the greatest emitted, in hex. */
static int since_prefix(const struct http *h, char *tok, size_t toklen)
{
	char *o = tok, *end = tok + toklen;
	char text[PROV_TOKEN_MAX];
	const json_t *m = h->since_max;

	if (toklen < 7)
		return -1;
	o += sprintf(o, "since ");
	if (put_hex(&o, end, "", h->run_since) < 0)
		return -1;
	if (m == NULL)
		return put_hex(&o, end, "", "") < 0 ? -1 : (int)(o - tok);
	if (since_text(m, text, sizeof text) < 0 ||
	    put_hex(&o, end, json_is_integer(m) ? "i" : json_is_real(m) ?
		    "r" : "s", text) < 0)
		return -1;
	return (int)(o - tok);
}

/* Decode hex[0..n) into out (NUL-terminated); -1 when it is not hex. */
static int get_hex(const char *hex, size_t n, char *out)
{
	if (n % 2)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		unsigned v;

		if (sscanf(hex + i, "%2x", &v) != 1 || v == 0)
			return -1;
		*out++ = (char)v;
	}
	*out = '\0';
	return 0;
}

/*
 * Parse the "since RUN MAX " prefix of tok: set h->run_since and
 * h->since_max; return the length of the prefix, or -1.
 */
static int since_parse(struct http *h, const char *tok)
{
	char run[PROV_TOKEN_MAX / 2 + 1], max[PROV_TOKEN_MAX / 2 + 1];
	const char *a, *b, *e;

	if (strncmp(tok, "since ", 6) != 0)
		return -1;
	a = tok + 6;
	b = strchr(a, ' ');
	if (b == NULL || (e = strchr(b + 1, ' ')) == NULL)
		return -1;
	run[0] = '\0';
	if (!(b - a == 1 && *a == '-') &&
	    get_hex(a, (size_t)(b - a), run) < 0)
		return -1;
	h->run_since = strdup(run);
	if (h->run_since == NULL)
		return -1;
	b++;
	if (!(e - b == 1 && *b == '-')) {
		char *end;

		if (get_hex(b + 1, (size_t)(e - b - 1), max) < 0)
			return -1;
		if (*b == 's')
			h->since_max = json_string(max);
		else if (*b == 'i')
			h->since_max = json_integer(strtoll(max, &end, 10));
		else if (*b == 'r')
			h->since_max = json_real(strtod(max, &end));
		if (h->since_max == NULL)
			return -1;
	}
	return (int)(e + 1 - tok);
}

/* Does the rel value s[0..len) name "next" among its blank-separated words? */
static bool rel_has_next(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t start;

		while (i < len && http_is_ws(s[i]))
			i++;
		start = i;
		while (i < len && !http_is_ws(s[i]))
			i++;
		if (i - start == 4 && strncasecmp(s + start, "next", 4) == 0)
			return true;
	}
	return false;
}

int http_link_next(const char *links, char *out, size_t outlen)
{
	const char *s = links;

	while (*s) {
		const char *target, *end;
		bool next = false;

		while (*s == ',' || http_is_ws(*s))
			s++;
		if (*s != '<') {
			/* Not a link-value: skip to the next comma. */
			while (*s && *s != ',')
				s++;
			continue;
		}
		target = s + 1;
		end = strchr(target, '>');
		if (end == NULL)
			return -1;
		s = end + 1;
		/* Parameters: ; name[=value|="quoted"] ... up to ',' */
		while (*s && *s != ',') {
			const char *name, *val;
			size_t nlen, vlen = 0;
			char quoted[256];

			while (http_is_ws(*s) || *s == ';')
				s++;
			name = s;
			while (*s && *s != '=' && *s != ';' && *s != ',' &&
			       !http_is_ws(*s))
				s++;
			nlen = (size_t)(s - name);
			while (http_is_ws(*s))
				s++;
			val = s;
			if (*s == '=') {
				s++;
				while (http_is_ws(*s))
					s++;
				if (*s == '"') {
					s++;
					while (*s && *s != '"') {
						if (*s == '\\' && s[1])
							s++;
						if (vlen + 1 < sizeof quoted)
							quoted[vlen++] = *s;
						s++;
					}
					if (*s == '"')
						s++;
					val = quoted;
				} else {
					val = s;
					while (*s && *s != ';' && *s != ',')
						s++;
					vlen = (size_t)(s - val);
				}
			} else if (nlen == 0 && *s && *s != ',' && *s != ';') {
				s++; /* a stray character: step over it */
			}
			if (nlen == 3 && strncasecmp(name, "rel", 3) == 0 &&
			    rel_has_next(val, vlen))
				next = true;
		}
		if (next) {
			size_t tlen = (size_t)(end - target);

			if (tlen + 1 > outlen)
				return -1;
			memcpy(out, target, tlen);
			out[tlen] = '\0';
			return 0;
		}
	}
	return -1;
}

/* Set *out to a copy of the URL CURLU holds; 0, or -1. */
static int curlu_take(CURLU *u, char **out)
{
	char *s = NULL;

	*out = NULL;
	if (curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK)
		return -1;
	*out = strdup(s);
	curl_free(s);
	return *out ? 0 : -1;
}

/* cursor: the next URL from the body (NULL at the end).  0, or -1 + why. */
static int cursor_next(struct http *h, struct job *j, char *why, size_t wl)
{
	const struct http_conf *hc = http_conf(h->p);
	const char *param = hc->cursor_param && *hc->cursor_param ?
				    hc->cursor_param : "cursor";
	json_t *v = NULL;
	char num[32], *q = NULL, *base = NULL;
	const char *cur;
	CURLU *u = NULL;
	int rc = -1;

	j->next = NULL;
	if (http_records_cursor(h, j, &v) < 0) {
		snprintf(why, wl, "out of memory");
		return -1;
	}
	if (v == NULL || json_is_null(v) || json_is_false(v)) {
		rc = 0;
		goto out_free;
	}
	if (json_is_string(v)) {
		cur = json_string_value(v);
		if (json_string_length(v) == 0) {
			rc = 0;
			goto out_free;
		}
		if (j->marked && http_marked_byte(v) >= 0) {
			snprintf(why, wl, "cursor at \"%.100s\" is not valid "
				 "UTF-8", hc->cursor_path);
			goto out_free;
		}
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		cur = num;
	} else {
		snprintf(why, wl, "cursor at \"%.100s\" is neither a string "
			 "nor an integer", hc->cursor_path);
		goto out_free;
	}
	base = http_page_url(hc->urls[j->url], j->page + 1, h->since_q);
	if (base == NULL || asprintf(&q, "%s=%s", param, cur) < 0) {
		q = NULL;
		snprintf(why, wl, "out of memory");
		goto out_free;
	}
	u = curl_url();
	if (u == NULL ||
	    curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_QUERY, q,
			 CURLU_APPENDQUERY | CURLU_URLENCODE) != CURLUE_OK ||
	    curlu_take(u, &j->next) < 0) {
		snprintf(why, wl, "cannot build the next URL from the cursor");
		goto out_free;
	}
	rc = 0;
out_free:
	curl_url_cleanup(u);
	free(q);
	free(base);
	json_decref(v);
	return rc;
}

/* link: the next URL from the Link header (NULL at the end). */
static int link_next(struct job *j, const char *effective, char *why,
		     size_t wl)
{
	char *target = NULL;
	CURLU *u = NULL;
	int rc = -1;

	j->next = NULL;
	if (j->link.len == 0)
		return 0;
	target = malloc(j->link.len + 1);
	if (target == NULL) {
		snprintf(why, wl, "out of memory");
		return -1;
	}
	if (http_link_next((const char *)j->link.p, target,
			   j->link.len + 1) < 0) {
		rc = 0;
		goto out_free_target;
	}
	/* The target may be relative to the URL that answered. */
	u = curl_url();
	if (u == NULL ||
	    curl_url_set(u, CURLUPART_URL, effective ? effective : j->target,
			 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_URL, target, 0) != CURLUE_OK ||
	    curlu_take(u, &j->next) < 0) {
		snprintf(why, wl, "bad rel=\"next\" link in the Link header");
		goto out_free_target;
	}
	if (strcmp(j->next, j->target) == 0) {
		snprintf(why, wl, "the rel=\"next\" link points at the page "
			 "itself");
		free(j->next);
		j->next = NULL;
		goto out_free_target;
	}
	rc = 0;
out_free_target:
	curl_url_cleanup(u);
	free(target);
	return rc;
}

/*
 * page: every job of url after page p is past the end: drop them.  Their
 * transfers are cut at once only when more jobs may follow (the slots are
 * then wanted); past the last url they run on until the cleanup, after
 * DONE, rather than close a connection each before the last pages go out.
 */
static void skip_after(struct http *h, int url, long page)
{
	bool more = http_page_more(h);

	for (uint64_t s = h->head; s < h->tail; s++) {
		struct job *j = http_job_at(h, s);

		if (j->url != url || j->page <= page || j->state == JOB_SKIPPED)
			continue;
		if (more)
			http_job_detach(h, j);
		j->state = JOB_SKIPPED;
	}
}

int http_page_next(struct http *h, struct job *j, const char *effective,
		   char *why, size_t wl)
{
	if (h->pagination == CFG_PAGE_CURSOR)
		return cursor_next(h, j, why, wl);
	if (h->pagination == CFG_PAGE_LINK)
		return link_next(j, effective, why, wl);
	return 0;
}

int http_page_done(struct http *h, struct job *j)
{
	switch (h->pagination) {
	case CFG_PAGE_PAGE:
		if (j->nrecords == 0) {
			if (j->url == h->gen_url && j->page < h->gen_stop)
				h->gen_stop = j->page;
			skip_after(h, j->url, j->page);
		}
		break;
	case CFG_PAGE_CURSOR:
	case CFG_PAGE_LINK:
		/* The next job of the chain may start now. */
		free(h->gen_next);
		h->gen_next = NULL;
		if (j->next != NULL) {
			h->gen_next = strdup(j->next);
			if (h->gen_next == NULL)
				return -1;
			h->gen_page = j->page + 1;
		} else {
			h->gen_url = j->url + 1;
			h->gen_page = 1;
		}
		h->gen_ready = true;
		break;
	default:
		break;
	}
	return 0;
}

bool http_page_more(struct http *h)
{
	const struct http_conf *hc = http_conf(h->p);
	switch (h->pagination) {
	case CFG_PAGE_PAGE:
		while (h->gen_url < hc->nurls && h->gen_page > h->gen_stop) {
			h->gen_url++;
			h->gen_page = hc->page_start;
			h->gen_stop = LONG_MAX;
		}
		return h->gen_url < hc->nurls;
	case CFG_PAGE_CURSOR:
	case CFG_PAGE_LINK:
		return h->gen_ready && h->gen_url < hc->nurls;
	default:
		return h->gen_url < hc->nurls;
	}
}

/* Create the next job at the tail of the window.  NULL: out of memory. */
struct job *http_page_take(struct http *h)
{
	const struct http_conf *hc = http_conf(h->p);
	struct job *j = http_job_at(h, h->tail);

	j->url = h->gen_url;
	j->page = h->gen_page;
	j->tries = 0;
	j->due_us = 0;
	if (h->gen_next != NULL) {
		j->target = h->gen_next;
		h->gen_next = NULL;
	} else {
		j->target = http_page_url(hc->urls[j->url], j->page, h->since_q);
		if (j->target == NULL)
			return NULL;
	}
	switch (h->pagination) {
	case CFG_PAGE_PAGE:
		h->gen_page++;
		break;
	case CFG_PAGE_CURSOR:
	case CFG_PAGE_LINK:
		h->gen_ready = false;
		break;
	default:
		h->gen_url++;
		break;
	}
	j->state = JOB_QUEUED;
	h->tail++;
	return j;
}

int http_page_token(const struct http *h, const struct job *j, char *tok,
		    size_t toklen)
{
	int n, pre = 0;

	if (h->since_on) {
		pre = since_prefix(h, tok, toklen);
		if (pre < 0)
			return -1;
		tok += pre;
		toklen -= (size_t)pre;
	}
	switch (h->pagination) {
	case CFG_PAGE_PAGE:
		if (j->nrecords == 0)
			n = snprintf(tok, toklen, "page %d %ld", j->url + 1,
				     http_conf(h->p)->page_start);
		else
			n = snprintf(tok, toklen, "page %d %ld", j->url,
				     j->page + 1);
		break;
	case CFG_PAGE_CURSOR:
	case CFG_PAGE_LINK:
		if (j->next != NULL)
			n = snprintf(tok, toklen, "seq %d %ld %s", j->url,
				     j->page + 1, j->next);
		else
			n = snprintf(tok, toklen, "seq %d 1 ", j->url + 1);
		break;
	default:
		n = snprintf(tok, toklen, "none %d", j->url + 1);
		break;
	}
	return n < 0 || (size_t)n >= toklen ? -1 : pre + n;
}

enum prov_status http_page_resume(struct http *h)
{
	const struct http_conf *hc = http_conf(h->p);
	const struct prov_ctx *c = h->c;
	char tokbuf[PROV_TOKEN_MAX + 1], *tok = tokbuf;
	size_t toklen = c->token_len;
	int u = 0, n = -1;
	long page = 1;

	h->gen_url = 0;
	h->gen_page = h->pagination == CFG_PAGE_PAGE ? hc->page_start : 1;
	h->gen_stop = LONG_MAX;
	h->gen_ready = true;
	h->finished_url = -1;
	if (toklen > 0)
		memcpy(tok, c->token, toklen);
	tok[toklen] = '\0';
	if (h->since_on && toklen > 0) {
		int pre = since_parse(h, tok);

		if (pre < 0)
			return prov_fail(h->c, PROV_FAIL_PERMANENT,
					 "resume token does not fit this "
					 "provider");
		tok += pre;
		toklen -= (size_t)pre;
	}
	if (h->since_on && http_since_begin(h, h->run_since ? h->run_since :
					    hc->since_start) < 0)
		return prov_fail(h->c, PROV_FAIL_RETRY, "out of memory");
	if (toklen == 0)
		return PROV_DONE;
	switch (h->pagination) {
	case CFG_PAGE_PAGE:
		if (sscanf(tok, "page %d %ld%n", &u, &page, &n) != 2 ||
		    (size_t)n != toklen)
			n = -1;
		h->gen_page = page;
		break;
	case CFG_PAGE_CURSOR:
	case CFG_PAGE_LINK:
		if (sscanf(tok, "seq %d %ld %n", &u, &page, &n) != 2)
			n = -1;
		if (n >= 0 && tok[n] != '\0') {
			h->gen_next = strdup(tok + n);
			if (h->gen_next == NULL)
				return prov_fail(h->c, PROV_FAIL_RETRY,
						 "out of memory");
		}
		h->gen_page = page;
		break;
	default:
		if (sscanf(tok, "none %d%n", &u, &n) != 1 ||
		    (size_t)n != toklen)
			n = -1;
		break;
	}
	if (n < 0 || u < 0 || u > hc->nurls)
		return prov_fail(h->c, PROV_FAIL_PERMANENT,
				 "resume token does not fit this provider");
	h->gen_url = u;
	return PROV_DONE;
}
