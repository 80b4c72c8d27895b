/*
 * http.c - the `http` provider type (SPEC §3 "type = http", §4, §6): pages
 * of JSON (or NDJSON) records fetched over HTTP(S) with libcurl's multi
 * interface, converted into the schema and handed to the runtime.
 *
 * How it fits: the runtime (runtime.c) calls http_run() in the provider's
 * own process.  One curl multi handle carries every transfer; easy handles
 * are kept in a pool and reused, so connections are reused too.  Work is a
 * sequence of jobs - one request each - numbered in the order their
 * records must be emitted:
 *
 *   none    one job per url
 *   page    (url, page) for page = page_start, page_start + 1, ... until a
 *           page with no records; pages are fetched ahead, `concurrency` at
 *           a time, and the pages past the first empty one are dropped
 *   cursor  one job at a time: the next URL comes from the response body
 *   link    one job at a time: the next URL comes from the Link header
 *
 * The jobs live in a window of 2 * concurrency slots indexed by sequence
 * number: up to `concurrency` transfers in flight, while responses that
 * arrived before an earlier, slower page wait in the window.
 *
 * Job states:
 *
 *   QUEUED --(issue: slot, rate token, due time)--> RUNNING
 *   RUNNING --(2xx, parsed)--> DONE
 *   RUNNING --(connection error, 5xx, 408, 429, not JSON)--> QUEUED (retry)
 *                                                        \-> FAILED (no tries left)
 *   RUNNING --(other 4xx, too big, ...)--> FAILED
 *   any --(an earlier page of its url was empty)--> SKIPPED
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
 *
 * Resume tokens (text): "none U" (next url index), "page U P" (next url
 * index and page), "seq U P URL" (cursor/link: next url index, page count
 * and URL to fetch; an empty URL means the url's own start).
 */
#include "http.h"

#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "../common/log.h"
#include "../common/convert.h"
#include "../common/clock.h"
#include "jsonptr.h"

/* Longest wait in curl_multi_poll, so that heartbeats keep flowing (ms). */
#define POLL_MS 250

/* Backoff between retries: 200ms doubling up to 30s, with jitter. */
#define RETRY_BASE_MS 200
#define RETRY_CAP_MS 30000

/* A Retry-After longer than this is cut to it (ms). */
#define RETRY_AFTER_CAP_MS 300000

/* Bytes of an error response quoted in the failure message. */
#define ERR_BODY_MAX 200

#define MAX_CONCURRENCY 1024

/* A body buffer larger than this is freed once its page is emitted. */
#define BODY_KEEP_BYTES (1u << 20)

/* Room for a URL in messages, for a reason, and for a whole message. */
#define URL_PUB_MAX 512
#define WHY_MAX 400
#define MSG_MAX 1024

/* Rate limiter bucket size: no bursts beyond the configured rate. */
#define RATE_BURST 1.0

/*
 * Retries that fail the same way as the one logged last, within this long
 * of it, are counted instead of logged (us): a server that is down fails
 * every page fetched ahead at once.
 */
#define RETRY_QUIET_US 10000000u

/* Kinds of retried failure: a CURLcode, or one of these. */
#define RETRY_KIND_HTTP 1000    /* + the status */
#define RETRY_KIND_BODY 2000    /* a 2xx body that is not JSON */

/* A growable byte buffer, always NUL-terminated once used. */
struct hbuf {
	char *p;
	size_t len;
	size_t cap;
};

enum job_state {
	JOB_FREE = 0,
	JOB_QUEUED,     /* waiting to be sent: first time, or a retry */
	JOB_RUNNING,    /* a transfer in flight */
	JOB_DONE,       /* response parsed, records waiting to be emitted */
	JOB_FAILED,     /* failed for good: fails the provider when reached */
	JOB_SKIPPED,    /* past the last page of its url: dropped when reached */
};

struct easy {
	CURL *h;
	char err[CURL_ERROR_SIZE];
};

struct http;

struct job {
	struct http *h;
	enum job_state state;
	int url;                /* index in p->urls */
	long page;              /* page number (page), page count (others) */
	char *target;           /* the URL requested, owned */
	int tries;              /* requests sent so far */
	uint64_t due_us;        /* QUEUED: not before this time */
	struct easy *easy;      /* RUNNING: its transfer */
	struct hbuf body;       /* kept across jobs of this slot */
	struct hbuf link;       /* Link header values, ", "-joined */
	long retry_after_ms;    /* from the last response, -1: none */
	bool too_big;           /* the body passed max_response */
	bool oom;               /* the body could not be stored */
	json_t *doc;            /* DONE, json: the parsed body */
	bool marked;            /* DONE, json: doc holds invalid UTF-8 marks */
	json_t *records;        /* DONE, json: the array (borrowed), or NULL */
	size_t nrecords;        /* DONE: records (json) or lines (ndjson) */
	char *next;             /* DONE, cursor/link: next URL, NULL: the end */
	enum prov_status fail;  /* FAILED: how */
	char msg[MSG_MAX];      /* FAILED: why */
};

/* Where one schema field comes from and its per-record scratch space. */
struct field {
	const char *name;
	enum rec_type type;
	bool is_ptr;            /* source is a JSON pointer, else a key */
	const char *key;
	struct jsonptr ptr;
	struct hbuf json;       /* an object or array written as text */
	char scratch[CONV_SCRATCH_MAX];
};

struct http {
	struct prov_ctx *c;
	const struct cfg_provider *p;
	enum cfg_pagination pagination;
	int concurrency;
	CURLM *multi;
	struct curl_slist *headers;
	struct easy *easies;    /* concurrency of them, made on demand */
	int neasies;
	struct easy **idle;     /* stack of easies not in a transfer */
	int nidle;
	int inflight;

	struct job *win;        /* the window, indexed by seq % wcap */
	size_t wcap;
	uint64_t head;          /* next job to emit */
	uint64_t tail;          /* next job to create */

	/* The next job to create. */
	int gen_url;
	long gen_page;
	long gen_stop;          /* page: first known empty page of gen_url */
	char *gen_next;         /* cursor/link: its URL, NULL: the url's start */
	bool gen_ready;         /* cursor/link: the previous job is done */
	int finished_url;       /* page: urls <= this one are finished */

	double tokens;          /* rate limit bucket */
	uint64_t tokens_us;
	uint64_t wake_us;       /* when something blocked may start, 0: never */
	bool progress;          /* the last round changed something */
	bool received;          /* bytes arrived since the last heartbeat */

	/* The last retry logged, and how many like it were not (yet). */
	int quiet_kind;         /* its retry_kind() */
	char quiet_why[WHY_MAX];
	uint64_t quiet_since_us;  /* when it was logged, 0: none */
	unsigned long quiet_n;

	struct jsonptr recptr;  /* `records` */
	struct jsonptr curptr;  /* `cursor_path` */
	struct field *fields;
	struct rec_value *vals;
	unsigned seed;          /* backoff jitter */
};

/* --- small helpers ----------------------------------------------------- */

static int hbuf_add(struct hbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		char *p;

		while (cap < b->len + n + 1) {
			if (cap > SIZE_MAX / 2)
				return -1;
			cap *= 2;
		}
		p = realloc(b->p, cap);
		if (p == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static void hbuf_free(struct hbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* tmpl with every "{page}" replaced by page; NULL when out of memory. */
static char *expand_page(const char *tmpl, long page)
{
	char num[24];
	size_t nlen, n = 0, len;
	const char *s;
	char *out, *o;

	nlen = (size_t)snprintf(num, sizeof num, "%ld", page);
	for (s = tmpl; (s = strstr(s, "{page}")) != NULL; s += 6)
		n++;
	len = strlen(tmpl) + n * nlen + 1;
	out = malloc(len);
	if (out == NULL)
		return NULL;
	o = out;
	for (s = tmpl; *s;) {
		if (strncmp(s, "{page}", 6) == 0) {
			memcpy(o, num, nlen);
			o += nlen;
			s += 6;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

void http_url_public(const char *url, char *out, size_t outlen)
{
	const char *rest = url, *sep = strstr(url, "://");
	size_t o = 0, auth;
	const char *at;

	if (outlen == 0)
		return;
	if (sep != NULL && (size_t)(sep - url) < strcspn(url, "/?#")) {
		for (const char *s = url; s < sep + 3 && o + 1 < outlen; s++)
			out[o++] = *s;
		rest = sep + 3;
		auth = strcspn(rest, "/?#");
		at = memchr(rest, '@', auth);
		if (at != NULL) {
			/* user:password@ may come after the last '@' only. */
			while ((at = memchr(rest, '@', auth)) != NULL) {
				auth -= (size_t)(at + 1 - rest);
				rest = at + 1;
			}
		}
	}
	for (; *rest && *rest != '?' && *rest != '#' && o + 1 < outlen; rest++)
		out[o++] = *rest;
	out[o] = '\0';
}

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

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Does the rel value s[0..len) name "next" among its blank-separated words? */
static bool rel_has_next(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t start;

		while (i < len && is_ws(s[i]))
			i++;
		start = i;
		while (i < len && !is_ws(s[i]))
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

		while (*s == ',' || is_ws(*s))
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

			while (is_ws(*s) || *s == ';')
				s++;
			name = s;
			while (*s && *s != '=' && *s != ';' && *s != ',' &&
			       !is_ws(*s))
				s++;
			nlen = (size_t)(s - name);
			while (is_ws(*s))
				s++;
			val = s;
			if (*s == '=') {
				s++;
				while (is_ws(*s))
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

/* Secrets shorter than this are not looked for in error bodies. */
#define REDACT_MIN 4

/* Replace every occurrence of sec[0..n) in the string text with "***". */
static void redact(char *text, const char *sec, size_t n)
{
	char *at = text;

	if (n < REDACT_MIN)
		return;
	while ((at = memmem(at, strlen(at), sec, n)) != NULL) {
		memcpy(at, "***", 3);
		memmove(at + 3, at + n, strlen(at + n) + 1);
		at += 3;
	}
}

/*
 * The credentials of URL user information u[0..n) ("user:pass",
 * percent-encoded) as curl sends them: base64 of the decoded text, into
 * out (NUL-terminated; cut short if it does not fit).
 */
static void basic_credentials(const char *u, size_t n, char *out,
			      size_t outlen)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char plain[512];
	size_t k = 0, o = 0;

	for (size_t i = 0; i < n && k < sizeof plain; i++) {
		unsigned hi, lo;

		if (u[i] == '%' && i + 2 < n &&
		    sscanf(u + i + 1, "%1x%1x", &hi, &lo) == 2) {
			plain[k++] = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else {
			plain[k++] = (unsigned char)u[i];
		}
	}
	for (size_t i = 0; i < k && o + 5 <= outlen; i += 3) {
		unsigned v = (unsigned)plain[i] << 16;

		v |= i + 1 < k ? (unsigned)plain[i + 1] << 8 : 0;
		v |= i + 2 < k ? plain[i + 2] : 0;
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < k ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < k ? b64[v & 63] : '=';
	}
	out[o] = '\0';
}

/*
 * Blank out of text every secret the request carried, in case the server
 * echoed it in an error body: each header value (whole, and its last word:
 * the TOKEN of "Bearer TOKEN"), the URL's user information (as written,
 * and as the Basic credentials curl sends for it) and its query values.
 * Returns the length of the longest secret looked for.
 */
static size_t redact_secrets(char *text, const struct cfg_provider *p,
			     const char *target)
{
	const char *sep = target ? strstr(target, "://") : NULL;
	size_t longest = 0;

	for (int i = 0; i < p->nheaders; i++) {
		const char *v = strchr(p->headers[i], ':'), *w;
		size_t n;

		if (v == NULL)
			continue;
		for (v++; *v == ' ' || *v == '\t'; v++)
			;
		n = strlen(v);
		while (n > 0 && is_ws(v[n - 1]))
			n--;
		redact(text, v, n);
		longest = n > longest ? n : longest;
		w = memrchr(v, ' ', n);
		if (w != NULL)
			redact(text, w + 1, n - (size_t)(w + 1 - v));
	}
	if (sep != NULL) {
		const char *auth = sep + 3;
		size_t alen = strcspn(auth, "/?#");
		const char *at = memrchr(auth, '@', alen);
		const char *q = strchr(auth, '?');

		if (at != NULL) {
			const char *colon = memchr(auth, ':', (size_t)(at - auth));
			char basic[700];

			basic_credentials(auth, (size_t)(at - auth), basic,
					  sizeof basic);
			redact(text, basic, strlen(basic));
			redact(text, auth, (size_t)(at - auth));
			if (strlen(basic) > longest)
				longest = strlen(basic);
			if ((size_t)(at - auth) > longest)
				longest = (size_t)(at - auth);
			if (colon != NULL)
				redact(text, colon + 1, (size_t)(at - colon - 1));
		}
		while (q != NULL && *q && *q != '#') {
			const char *v = q + 1, *end = v + strcspn(v, "&#");
			const char *eq = memchr(v, '=', (size_t)(end - v));

			if (eq != NULL) {
				redact(text, eq + 1, (size_t)(end - eq - 1));
				if ((size_t)(end - eq - 1) > longest)
					longest = (size_t)(end - eq - 1);
			}
			q = *end == '&' ? end : NULL;
		}
	}
	return longest;
}

/*
 * The first bytes of an error body, on one line, cut at a character, with
 * the request's secrets blanked out (see redact_secrets).  The secrets are
 * looked for in a window longer than the excerpt, so that one cut by the
 * excerpt's end cannot show its first bytes; when the body is longer than
 * the window, the window's last bytes (which may hold the start of a
 * secret it cut) are dropped after the redaction.
 */
static void body_excerpt(const struct hbuf *b, const struct cfg_provider *p,
			 const char *target, char *out, size_t outlen)
{
	size_t window = ERR_BODY_MAX + PROV_TOKEN_MAX, n, o = 0, longest;
	char *text;

	out[0] = '\0';
	if (b->len == 0)
		return;
	for (int i = 0; i < p->nheaders; i++)
		window += strlen(p->headers[i]);
	if (target != NULL)
		window += strlen(target);
	n = b->len < window ? b->len : window;
	text = malloc(n + 1);
	if (text == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)b->p[i];

		text[i] = ch < 0x20 || ch == 0x7F ? ' ' : (char)ch;
	}
	text[n] = '\0';
	longest = redact_secrets(text, p, target);
	if (n < b->len) {
		size_t left = strlen(text);

		text[left > longest ? left - longest : 0] = '\0';
	}
	n = strlen(text);
	if (n > ERR_BODY_MAX) {
		n = ERR_BODY_MAX;
		while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n && o + 1 < outlen; i++)
		out[o++] = text[i];
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	free(text);
}

/* --- curl callbacks ---------------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct job *j = ud;
	size_t len = size * nmemb;
	uint64_t max = j->h->p->max_response;

	j->h->received = true;
	if (max > 0 && j->body.len + len > max) {
		j->too_big = true;
		return 0; /* aborts the transfer */
	}
	if (hbuf_add(&j->body, ptr, len) < 0) {
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
		j->link.len = 0;
		if (j->link.p)
			j->link.p[0] = '\0';
		j->retry_after_ms = -1;
		return len;
	}
	if (header_is(ptr, len, "link")) {
		v = ptr + 5;
		vlen = len - 5;
		while (vlen > 0 && is_ws(v[vlen - 1]))
			vlen--;
		if ((j->link.len > 0 && hbuf_add(&j->link, ", ", 2) < 0) ||
		    hbuf_add(&j->link, v, vlen) < 0)
			j->oom = true;
	} else if (header_is(ptr, len, "retry-after")) {
		j->retry_after_ms = http_retry_after_ms(ptr + 12, len - 12,
							time(NULL));
	}
	return len;
}

/* --- curl setup -------------------------------------------------------- */

/* The request headers: the user's, plus defaults they did not set. */
static struct curl_slist *make_headers(const struct cfg_provider *p)
{
	struct curl_slist *list = NULL, *l;
	bool accept = false;

	for (int i = 0; i < p->nheaders; i++) {
		if (strncasecmp(p->headers[i], "accept:", 7) == 0)
			accept = true;
		l = curl_slist_append(list, p->headers[i]);
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

/* Options every transfer of this provider shares.  Returns 0 or -1. */
static int easy_setup(CURL *e, const struct cfg_provider *p,
		      struct curl_slist *headers, char *errbuf)
{
	const char *method = p->method && *p->method ? p->method : "GET";
	CURLcode rc = CURLE_OK;

#define SET(opt, val) \
	do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)p->connect_timeout_ms);
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, 10L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_USERAGENT, "aggregate");
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	if (p->max_response > 0)
		SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)p->max_response);
	if (p->ca_file != NULL && *p->ca_file)
		SET(CURLOPT_CAINFO, p->ca_file);
	if (p->insecure) {
		SET(CURLOPT_SSL_VERIFYPEER, 0L);
		SET(CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (p->body != NULL) {
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(p->body));
		SET(CURLOPT_POSTFIELDS, p->body);
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

/* What to add to curl's message for a certificate that did not verify. */
static const char *tls_hint(CURLcode rc)
{
	if (rc == CURLE_PEER_FAILED_VERIFICATION)
		return " (TLS certificate verification failed: give the "
		       "server's CA in ca_file, or set insecure = true)";
	return "";
}

/* --- parsing a response ------------------------------------------------ */

/* Does s[0..len) hold only blanks? */
static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_ws(s[i]))
			return false;
	return true;
}

/*
 * Count the records of an NDJSON body (its non-blank lines).  A last line
 * without its newline that does not parse is a cut-off transfer.
 */
static int scan_ndjson(struct job *j, char *why, size_t wl)
{
	const char *s = j->body.p, *end = s, *last = s;
	size_t n = 0;

	/* An empty body has no buffer: no arithmetic on NULL. */
	if (s != NULL)
		end = s + j->body.len;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;

		if (!blank(s, (size_t)(e - s)))
			n++;
		last = s;
		s = nl ? nl + 1 : end;
	}
	if (j->body.len > 0 && end[-1] != '\n' &&
	    !blank(last, (size_t)(end - last))) {
		json_error_t e;
		json_t *v = json_loadb(last, (size_t)(end - last),
				       JSON_ALLOW_NUL | JSON_DECODE_ANY, &e);

		/* Invalid UTF-8 is that line's reject, not a cut-off. */
		if (v == NULL &&
		    json_error_code(&e) != json_error_invalid_utf8) {
			snprintf(why, wl, "response cut off (last line is not "
				 "JSON: %s)", e.text);
			return -1;
		}
		json_decref(v);
	}
	j->nrecords = n;
	return 0;
}

/*
 * Invalid UTF-8 in a JSON body.  jansson refuses the whole document for
 * one bad byte, but the byte belongs to one record: that record is one
 * reject, as the same bytes in a JSON Lines file are.  Each byte that is
 * not part of a well-formed UTF-8 sequence is replaced by a mark, the code
 * point MARK_BASE + the byte (supplementary private use plane: F3 B0 8x
 * xx), and the copy is parsed; emit_json() rejects every record holding a
 * mark.  A body that already holds such a code point (raw or escaped) is
 * not marked: it fails as before.
 */
#define MARK_BASE 0xF0000u
#define MARK_LEN 4

/* Is s[0..n) (n >= MARK_LEN) a mark?  Its byte, or -1. */
static int mark_at(const unsigned char *s, size_t n)
{
	if (n < MARK_LEN || s[0] != 0xF3 || s[1] != 0xB0 ||
	    (s[2] & 0xFC) != 0x80 || (s[3] & 0xC0) != 0x80)
		return -1;
	return (s[2] & 0x03) << 6 | (s[3] & 0x3F);
}

/* Bytes of the well-formed UTF-8 sequence at s[0..n) (n > 0), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80 ? 1 : s[0] < 0xC2 ? 0 : s[0] < 0xE0 ? 2 :
		     s[0] < 0xF0 ? 3 : s[0] < 0xF5 ? 4 : 0;

	if (len == 0 || len > n)
		return 0;
	for (size_t k = 1; k < len; k++)
		if ((s[k] & 0xC0) != 0x80)
			return 0;
	/* Overlong forms, surrogates, past U+10FFFF. */
	if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) ||
	    (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
		return 0;
	return len;
}

/*
 * The body with every invalid byte marked, or NULL when the body holds a
 * mark already (or no memory).  Sets *len.
 */
static char *mark_invalid(const struct hbuf *b, size_t *len)
{
	const unsigned char *s = (const unsigned char *)b->p;
	struct hbuf out = { 0 };
	size_t i = 0, run = 0;

	if (memmem(b->p, b->len, "\\udb80", 6) != NULL ||
	    memmem(b->p, b->len, "\\uDB80", 6) != NULL)
		return NULL;
	while (i < b->len) {
		size_t n = utf8_len(s + i, b->len - i);
		unsigned char m[MARK_LEN];
		unsigned v;

		if (n == MARK_LEN && mark_at(s + i, n) >= 0)
			goto out_fail;
		if (n > 0) {
			i += n;
			run += n;
			continue;
		}
		v = MARK_BASE + s[i];
		m[0] = (unsigned char)(0xF0 | v >> 18);
		m[1] = (unsigned char)(0x80 | (v >> 12 & 0x3F));
		m[2] = (unsigned char)(0x80 | (v >> 6 & 0x3F));
		m[3] = (unsigned char)(0x80 | (v & 0x3F));
		if (hbuf_add(&out, (const char *)s + i - run, run) < 0 ||
		    hbuf_add(&out, (const char *)m, MARK_LEN) < 0)
			goto out_fail;
		run = 0;
		i++;
	}
	if (hbuf_add(&out, (const char *)s + i - run, run) < 0)
		goto out_fail;
	*len = out.len;
	return out.p;

out_fail:
	hbuf_free(&out);
	return NULL;
}

/* The first marked byte in a string, or -1. */
static int mark_in(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	const unsigned char *p;

	while ((p = memchr(s, 0xF3, n)) != NULL) {
		int b = mark_at(p, n - (size_t)(p - s));

		if (b >= 0)
			return b;
		n -= (size_t)(p + 1 - s);
		s = p + 1;
	}
	return -1;
}

/* The first marked byte in a value (its strings and keys), or -1. */
static int marked_byte(json_t *v)
{
	const char *key;
	json_t *m;
	size_t i;
	int b = -1;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return mark_in(json_string_value(v), json_string_length(v));
	case JSON_OBJECT:
		json_object_foreach(v, key, m) {
			b = mark_in(key, strlen(key));
			if (b < 0)
				b = marked_byte(m);
			if (b >= 0)
				break;
		}
		return b;
	case JSON_ARRAY:
		json_array_foreach(v, i, m)
			if ((b = marked_byte(m)) >= 0)
				break;
		return b;
	default:
		return -1;
	}
}

/* Turn each mark in the NUL-terminated s back into U+FFFD, in place. */
static void unmark(char *s)
{
	char *o = s;

	for (size_t n = strlen(s); *s; n--) {
		if (mark_at((const unsigned char *)s, n) >= 0) {
			memcpy(o, "\xEF\xBF\xBD", 3);
			o += 3;
			s += MARK_LEN;
			n -= MARK_LEN - 1;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

/*
 * Parse a 2xx body.  Returns 0 (doc, records, nrecords set), -1 for a body
 * that is not JSON (cut off: worth a retry) or -2 for one whose shape no
 * retry will change; why says what is wrong.
 */
static int parse_body(struct http *h, struct job *j, char *why, size_t wl)
{
	json_error_t e;
	json_t *arr;

	if (h->p->response == CFG_RESP_NDJSON)
		return scan_ndjson(j, why, wl);
	j->marked = false;
	j->doc = json_loadb(j->body.p ? j->body.p : "", j->body.len,
			   JSON_ALLOW_NUL, &e);
	if (j->doc == NULL && json_error_code(&e) == json_error_invalid_utf8) {
		size_t len;
		char *marked = mark_invalid(&j->body, &len);

		if (marked != NULL) {
			j->doc = json_loadb(marked, len, JSON_ALLOW_NUL, NULL);
			j->marked = j->doc != NULL;
			free(marked);
		}
	}
	if (j->doc == NULL) {
		snprintf(why, wl, "response is not JSON (line %d: %s)", e.line,
			 e.text);
		/* Nesting past jansson's depth limit is no cut-off transfer:
		 * the same body would come again. */
		return json_error_code(&e) == json_error_stack_overflow ? -2
									: -1;
	}
	arr = jsonptr_resolve(&h->recptr, j->doc);
	if (arr == NULL) {
		snprintf(why, wl, "no value at records pointer \"%.100s\"",
			 h->p->records ? h->p->records : "");
		return -2;
	}
	if (json_is_null(arr)) {
		j->nrecords = 0;
		return 0;
	}
	if (!json_is_array(arr)) {
		snprintf(why, wl, "records pointer \"%.100s\" is not an array",
			 h->p->records ? h->p->records : "");
		return -2;
	}
	j->records = arr;
	j->nrecords = json_array_size(arr);
	return 0;
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
	const char *param = h->p->cursor_param && *h->p->cursor_param ?
				    h->p->cursor_param : "cursor";
	json_t *v = jsonptr_resolve(&h->curptr, j->doc);
	char num[32], *q = NULL, *base = NULL;
	const char *cur;
	CURLU *u = NULL;
	int rc = -1;

	j->next = NULL;
	if (v == NULL || json_is_null(v) || json_is_false(v))
		return 0;
	if (json_is_string(v)) {
		cur = json_string_value(v);
		if (json_string_length(v) == 0)
			return 0;
		if (j->marked && marked_byte(v) >= 0) {
			snprintf(why, wl, "cursor at \"%.100s\" is not valid "
				 "UTF-8", h->p->cursor_path);
			return -1;
		}
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		cur = num;
	} else {
		snprintf(why, wl, "cursor at \"%.100s\" is neither a string "
			 "nor an integer", h->p->cursor_path);
		return -1;
	}
	base = expand_page(h->p->urls[j->url], j->page + 1);
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
	if (http_link_next(j->link.p, target, j->link.len + 1) < 0) {
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

/* --- jobs -------------------------------------------------------------- */

static struct job *job_at(struct http *h, uint64_t seq)
{
	return &h->win[seq % h->wcap];
}

static void wake_at(struct http *h, uint64_t t)
{
	if (h->wake_us == 0 || t < h->wake_us)
		h->wake_us = t;
}

/* Give a job's easy handle back to the pool (cancelling its transfer). */
static void job_detach(struct http *h, struct job *j)
{
	if (j->easy == NULL)
		return;
	curl_multi_remove_handle(h->multi, j->easy->h);
	h->idle[h->nidle++] = j->easy;
	j->easy = NULL;
	h->inflight--;
}

/* Free what the job holds, keep its buffers (unless large), mark it FREE. */
static void job_release(struct http *h, struct job *j)
{
	job_detach(h, j);
	json_decref(j->doc);
	j->doc = NULL;
	j->records = NULL;
	free(j->target);
	j->target = NULL;
	free(j->next);
	j->next = NULL;
	j->marked = false;
	if (j->body.cap > BODY_KEEP_BYTES)
		hbuf_free(&j->body);
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

/* Log the retries counted and not logged since the last one that was. */
static void retry_flush(struct http *h)
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
	retry_flush(h);
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
	free(j->next);
	j->next = NULL;
	if (j->tries > h->p->retries) {
		char msg[WHY_MAX + 40];

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

/* page: every job of url after page p is past the end: drop them. */
static void skip_after(struct http *h, int url, long page)
{
	for (uint64_t s = h->head; s < h->tail; s++) {
		struct job *j = job_at(h, s);

		if (j->url != url || j->page <= page || j->state == JOB_SKIPPED)
			continue;
		job_detach(h, j);
		j->state = JOB_SKIPPED;
	}
}

/* A transfer ended: decide what the job becomes. */
static void job_finish(struct http *h, struct job *j, CURLcode rc,
		       long status, const char *cerr, const char *effective)
{
	char pub[URL_PUB_MAX], why[WHY_MAX], excerpt[ERR_BODY_MAX + 1];
	int prc;

	http_url_public(j->target, pub, sizeof pub);
	if (j->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(why, sizeof why, "response larger than max_response "
			 "(%" PRIu64 " bytes)", h->p->max_response);
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
			 tls_hint(rc));
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
		body_excerpt(&j->body, h->p, j->target, excerpt,
			     sizeof excerpt);
		snprintf(why, sizeof why, "HTTP %ld%s%s", status,
			 excerpt[0] ? ": " : "", excerpt);
		job_fail(j, PROV_FAIL_PERMANENT, pub, why);
		return;
	}
	prc = parse_body(h, j, why, sizeof why);
	if (prc == -1) {
		job_retry(h, j, pub, RETRY_KIND_BODY, why);
		return;
	}
	if (prc == -2) {
		job_fail(j, PROV_FAIL_PERMANENT, pub, why);
		return;
	}
	if ((h->pagination == CFG_PAGE_CURSOR &&
	     cursor_next(h, j, why, sizeof why) < 0) ||
	    (h->pagination == CFG_PAGE_LINK &&
	     link_next(j, effective, why, sizeof why) < 0)) {
		job_fail(j, PROV_FAIL_PERMANENT, pub, why);
		return;
	}
	j->state = JOB_DONE;
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
			if (h->gen_next == NULL) {
				job_fail(j, PROV_FAIL_RETRY, pub,
					 "out of memory");
				return;
			}
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
}

/* Collect finished transfers. */
static void collect(struct http *h)
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
			continue; /* cancelled meanwhile (skip_after) */
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE,
				  &status);
		if (h->pagination == CFG_PAGE_LINK &&
		    curl_easy_getinfo(m->easy_handle, CURLINFO_EFFECTIVE_URL,
				      &eff) == CURLE_OK && eff != NULL)
			effcopy = strdup(eff);
		/* The error text stays in the easy until its next transfer. */
		job_detach(h, j);
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
		if (e->h == NULL || easy_setup(e->h, h->p, h->headers,
					       e->err) < 0) {
			if (e->h)
				curl_easy_cleanup(e->h);
			e->h = NULL;
			return -1;
		}
		h->neasies++;
		h->idle[h->nidle++] = e;
	}
	e = h->idle[h->nidle - 1];
	j->body.len = 0;
	j->link.len = 0;
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
	double rate = h->p->rate_limit;

	if (rate <= 0)
		return true;
	h->tokens += (double)(now - h->tokens_us) * rate / 1e6;
	h->tokens_us = now;
	if (h->tokens > RATE_BURST)
		h->tokens = RATE_BURST;
	if (h->tokens >= 1.0) {
		h->tokens -= 1.0;
		return true;
	}
	wake_at(h, now + (uint64_t)((1.0 - h->tokens) * 1e6 / rate) + 1);
	return false;
}

/* Is there a job to create now?  (page: moves on past a finished url.) */
static bool gen_more(struct http *h)
{
	switch (h->pagination) {
	case CFG_PAGE_PAGE:
		while (h->gen_url < h->p->nurls && h->gen_page > h->gen_stop) {
			h->gen_url++;
			h->gen_page = h->p->page_start;
			h->gen_stop = LONG_MAX;
		}
		return h->gen_url < h->p->nurls;
	case CFG_PAGE_CURSOR:
	case CFG_PAGE_LINK:
		return h->gen_ready && h->gen_url < h->p->nurls;
	default:
		return h->gen_url < h->p->nurls;
	}
}

/* Create the next job at the tail of the window.  NULL: out of memory. */
static struct job *gen_take(struct http *h)
{
	struct job *j = job_at(h, h->tail);

	j->url = h->gen_url;
	j->page = h->gen_page;
	j->tries = 0;
	j->due_us = 0;
	if (h->gen_next != NULL) {
		j->target = h->gen_next;
		h->gen_next = NULL;
	} else {
		j->target = expand_page(h->p->urls[j->url], j->page);
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

/* Start every transfer that may start now.  0, or -1 (out of memory). */
static int issue(struct http *h)
{
	uint64_t now = clock_us();

	h->wake_us = 0;
	/* Retries first: they are earlier in the sequence. */
	for (uint64_t s = h->head; s < h->tail; s++) {
		struct job *j = job_at(h, s);

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
	while (h->tail - h->head < h->wcap &&
	       h->inflight < h->concurrency && gen_more(h)) {
		struct job *j;

		if (!take_token(h, now))
			break;
		j = gen_take(h);
		if (j == NULL || job_start(h, j) < 0)
			return -1;
	}
	return 0;
}

/* How long curl_multi_poll may sleep (ms). */
static int wait_ms(const struct http *h)
{
	uint64_t now = clock_us();

	if (h->wake_us == 0)
		return POLL_MS;
	if (h->wake_us <= now)
		return 0;
	if (h->wake_us - now >= POLL_MS * 1000u)
		return POLL_MS;
	return (int)((h->wake_us - now + 999) / 1000);
}

/* --- emitting ---------------------------------------------------------- */

/* Convert one JSON value into field f.  0, or -1 with a reason. */
static int convert(struct field *f, json_t *v, struct rec_value *out,
		   char *reason, size_t rl)
{
	char why[CONV_REASON_MAX];
	size_t need;
	int rc = -1;

	why[0] = '\0';
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_NULL:
		out->null = true;
		return 0;
	case JSON_STRING:
		rc = conv_text(f->type, json_string_value(v),
			       json_string_length(v), out, why, sizeof why);
		break;
	case JSON_INTEGER:
		rc = conv_int(f->type, json_integer_value(v), out, f->scratch,
			      why, sizeof why);
		break;
	case JSON_REAL:
		rc = conv_float(f->type, json_real_value(v), out, f->scratch,
				why, sizeof why);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		rc = conv_bool(f->type, json_is_true(v), out, why, sizeof why);
		break;
	case JSON_OBJECT:
	case JSON_ARRAY:
		if (f->type != REC_TEXT) {
			snprintf(why, sizeof why, "cannot convert %s to %s",
				 json_is_object(v) ? "object" : "array",
				 rec_type_name(f->type));
			break;
		}
		need = json_dumpb(v, f->json.p, f->json.cap, JSON_COMPACT);
		if (need > f->json.cap) {
			char *p = realloc(f->json.p, need);

			if (p == NULL) {
				snprintf(why, sizeof why, "out of memory");
				break;
			}
			f->json.p = p;
			f->json.cap = need;
			need = json_dumpb(v, f->json.p, f->json.cap,
					  JSON_COMPACT);
		}
		if (need == 0 || need > UINT32_MAX) {
			snprintf(why, sizeof why, "cannot write as JSON text");
			break;
		}
		out->null = false;
		out->u.s.p = f->json.p;
		out->u.s.len = (uint32_t)need;
		rc = 0;
		break;
	}
	if (rc < 0)
		snprintf(reason, rl, "field %s: %s", f->name, why);
	return rc;
}

static enum prov_status reject(struct http *h, const char *pos,
			       const char *reason, json_t *rec,
			       const char *raw, size_t rawlen)
{
	char *dump = NULL;
	int rc;

	if (raw == NULL && rec != NULL) {
		dump = json_dumps(rec, JSON_COMPACT | JSON_ENCODE_ANY);
		/* Marked bytes show as U+FFFD, as invalid UTF-8 does. */
		if (dump != NULL)
			unmark(dump);
		raw = dump;
		rawlen = dump ? strlen(dump) : 0;
	}
	rc = prov_reject(h->c, pos, reason, raw, rawlen);
	free(dump);
	return rc < 0 ? prov_failure(h->c) : PROV_DONE;
}

/* Convert and emit one record (or reject it). */
static enum prov_status emit_record(struct http *h, json_t *rec,
				    const char *pos, const char *raw,
				    size_t rawlen)
{
	const struct rec_schema *s = &h->c->cfg->schema;
	char reason[CONV_REASON_MAX + 160];

	if (!json_is_object(rec))
		return reject(h, pos, "record is not a JSON object", rec, raw,
			      rawlen);
	for (int i = 0; i < s->nfields; i++) {
		struct field *f = &h->fields[i];
		json_t *v = f->is_ptr ? jsonptr_resolve(&f->ptr, rec) :
					json_object_get(rec, f->key);

		if (convert(f, v, &h->vals[i], reason, sizeof reason) < 0)
			return reject(h, pos, reason, rec, raw, rawlen);
	}
	if (prov_emit(h->c, h->vals) < 0)
		return prov_failure(h->c);
	return PROV_DONE;
}

static enum prov_status emit_json(struct http *h, struct job *j,
				  const char *pub)
{
	char pos[URL_PUB_MAX + 64];
	enum prov_status st;

	for (size_t k = 0; k < j->nrecords; k++) {
		json_t *rec = json_array_get(j->records, k);
		char reason[64];
		int b;

		snprintf(pos, sizeof pos, "%s page %ld record %zu", pub,
			 j->page, k + 1);
		if (j->marked && (b = marked_byte(rec)) >= 0) {
			/* What jansson says of the same bytes on their own. */
			snprintf(reason, sizeof reason, "invalid JSON: unable "
				 "to decode byte 0x%x", (unsigned)b);
			st = reject(h, pos, reason, rec, NULL, 0);
		} else {
			st = emit_record(h, rec, pos, NULL, 0);
		}
		if (st != PROV_DONE)
			return st;
	}
	return PROV_DONE;
}

static enum prov_status emit_ndjson(struct http *h, struct job *j,
				    const char *pub)
{
	const char *s = j->body.p, *end = s ? s + j->body.len : s;
	char pos[URL_PUB_MAX + 64];
	enum prov_status st = PROV_DONE;
	size_t line = 0;

	while (s < end && st == PROV_DONE) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = (size_t)((nl ? nl : end) - s);
		json_error_t e;
		json_t *rec;
		char reason[256];

		line++;
		if (!blank(s, len)) {
			snprintf(pos, sizeof pos, "%s page %ld line %zu", pub,
				 j->page, line);
			rec = json_loadb(s, len, JSON_ALLOW_NUL |
					 JSON_DECODE_ANY, &e);
			if (rec == NULL) {
				snprintf(reason, sizeof reason,
					 "invalid JSON: %s", e.text);
				st = reject(h, pos, reason, NULL, s, len);
			} else {
				st = emit_record(h, rec, pos, s, len);
				json_decref(rec);
			}
		}
		s = nl ? nl + 1 : end;
	}
	return st;
}

/* The resume token that follows job j.  Its length, or -1 if too long. */
static int job_token(const struct http *h, const struct job *j, char *tok,
		     size_t toklen)
{
	int n;

	switch (h->pagination) {
	case CFG_PAGE_PAGE:
		if (j->nrecords == 0)
			n = snprintf(tok, toklen, "page %d %ld", j->url + 1,
				     h->p->page_start);
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
	return n < 0 || (size_t)n >= toklen ? -1 : n;
}

/* Emit, in sequence order, every job at the head that is ready. */
static enum prov_status emit_ready(struct http *h)
{
	char tok[PROV_TOKEN_MAX + 1], pub[URL_PUB_MAX];
	enum prov_status st;
	int toklen;

	while (h->head < h->tail) {
		struct job *j = job_at(h, h->head);

		if (j->state == JOB_SKIPPED ||
		    (h->pagination == CFG_PAGE_PAGE &&
		     j->url <= h->finished_url)) {
			job_release(h, j);
			h->head++;
			h->progress = true;
			continue;
		}
		if (j->state == JOB_FAILED)
			return prov_fail(h->c, j->fail, "%s", j->msg);
		if (j->state != JOB_DONE)
			break;
		http_url_public(j->target, pub, sizeof pub);
		st = h->p->response == CFG_RESP_NDJSON ? emit_ndjson(h, j, pub) :
							  emit_json(h, j, pub);
		if (st != PROV_DONE)
			return st;
		toklen = job_token(h, j, tok, sizeof tok);
		if (toklen < 0)
			return prov_fail(h->c, PROV_FAIL_PERMANENT,
					 "%s page %ld: next URL too long for "
					 "a resume token", pub, j->page);
		if (prov_checkpoint(h->c, tok, (size_t)toklen) < 0)
			return prov_failure(h->c);
		if (h->pagination == CFG_PAGE_PAGE && j->nrecords == 0)
			h->finished_url = j->url;
		job_release(h, j);
		h->head++;
		h->progress = true;
	}
	return PROV_DONE;
}

/* --- the run ----------------------------------------------------------- */

/* Set the generator from the resume token (or the start). */
static enum prov_status resume(struct http *h)
{
	const struct prov_ctx *c = h->c;
	char tok[PROV_TOKEN_MAX + 1];
	int u = 0, n = -1;
	long page = 1;

	h->gen_url = 0;
	h->gen_page = h->pagination == CFG_PAGE_PAGE ? h->p->page_start : 1;
	h->gen_stop = LONG_MAX;
	h->gen_ready = true;
	h->finished_url = -1;
	if (c->token_len == 0)
		return PROV_DONE;
	memcpy(tok, c->token, c->token_len);
	tok[c->token_len] = '\0';
	switch (h->pagination) {
	case CFG_PAGE_PAGE:
		if (sscanf(tok, "page %d %ld%n", &u, &page, &n) != 2 ||
		    (size_t)n != c->token_len)
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
		    (size_t)n != c->token_len)
			n = -1;
		break;
	}
	if (n < 0 || u < 0 || u > h->p->nurls)
		return prov_fail(h->c, PROV_FAIL_PERMANENT,
				 "resume token does not fit this provider");
	h->gen_url = u;
	return PROV_DONE;
}

/* Compile the map and the pointers; check the settings.  */
static enum prov_status prepare(struct http *h)
{
	const struct cfg_provider *p = h->p;
	const struct rec_schema *s = &h->c->cfg->schema;
	char err[256];

	if (p->nurls < 1)
		return prov_fail(h->c, PROV_FAIL_PERMANENT, "no url");
	if (h->pagination == CFG_PAGE_PAGE)
		for (int i = 0; i < p->nurls; i++)
			if (strstr(p->urls[i], "{page}") == NULL)
				return prov_fail(h->c, PROV_FAIL_PERMANENT,
						 "url %d has no {page} "
						 "(pagination = page)", i + 1);
	if (h->pagination == CFG_PAGE_CURSOR &&
	    p->response == CFG_RESP_NDJSON)
		return prov_fail(h->c, PROV_FAIL_PERMANENT, "pagination = "
				 "cursor needs a JSON response, not ndjson");
	if (jsonptr_compile(&h->recptr, p->records ? p->records : "", err,
			    sizeof err) < 0)
		return prov_fail(h->c, PROV_FAIL_PERMANENT, "records: %s", err);
	if (h->pagination == CFG_PAGE_CURSOR &&
	    jsonptr_compile(&h->curptr, p->cursor_path ? p->cursor_path : "",
			    err, sizeof err) < 0)
		return prov_fail(h->c, PROV_FAIL_PERMANENT, "cursor_path: %s",
				 err);
	h->fields = calloc((size_t)s->nfields, sizeof *h->fields);
	h->vals = calloc((size_t)s->nfields, sizeof *h->vals);
	if (h->fields == NULL || h->vals == NULL)
		return prov_fail(h->c, PROV_FAIL_RETRY, "out of memory");
	for (int i = 0; i < s->nfields; i++) {
		struct field *f = &h->fields[i];
		const char *src = p->source[i];

		f->name = s->fields[i].name;
		f->type = s->fields[i].type;
		f->key = src;
		f->is_ptr = src[0] == '/';
		if (f->is_ptr && jsonptr_compile(&f->ptr, src, err,
						 sizeof err) < 0)
			return prov_fail(h->c, PROV_FAIL_PERMANENT,
					 "map %s: %s", f->name, err);
	}
	return PROV_DONE;
}

static enum prov_status open_curl(struct http *h)
{
	int conc = h->concurrency;

	h->headers = make_headers(h->p);
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

static void close_all(struct http *h)
{
	const struct rec_schema *s = &h->c->cfg->schema;

	if (h->win != NULL) {
		for (size_t i = 0; i < h->wcap; i++) {
			job_release(h, &h->win[i]);
			hbuf_free(&h->win[i].body);
			hbuf_free(&h->win[i].link);
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
	if (h->fields != NULL) {
		for (int i = 0; i < s->nfields; i++) {
			jsonptr_free(&h->fields[i].ptr);
			hbuf_free(&h->fields[i].json);
		}
		free(h->fields);
	}
	free(h->vals);
	free(h->gen_next);
	jsonptr_free(&h->recptr);
	jsonptr_free(&h->curptr);
}

/* The event loop: start, collect, emit, sleep; until done or failed. */
static enum prov_status pump(struct http *h)
{
	CURLMcode mc;
	int running;

	for (;;) {
		enum prov_status st;

		if (issue(h) < 0)
			return prov_fail(h->c, PROV_FAIL_RETRY,
					 "cannot start a transfer (out of "
					 "memory)");
		mc = curl_multi_perform(h->multi, &running);
		if (mc != CURLM_OK)
			return prov_fail(h->c, PROV_FAIL_RETRY, "libcurl: %s",
					 curl_multi_strerror(mc));
		collect(h);
		st = emit_ready(h);
		if (st != PROV_DONE)
			return st;
		if (h->head == h->tail && !gen_more(h))
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
		mc = curl_multi_poll(h->multi, NULL, 0, wait_ms(h), NULL);
		if (mc != CURLM_OK)
			return prov_fail(h->c, PROV_FAIL_RETRY, "libcurl: %s",
					 curl_multi_strerror(mc));
	}
}

static enum prov_status http_run(struct prov_ctx *c)
{
	struct http h;
	enum prov_status st;

	memset(&h, 0, sizeof h);
	h.c = c;
	h.p = c->p;
	h.pagination = c->p->pagination ? c->p->pagination : CFG_PAGE_NONE;
	h.concurrency = c->p->concurrency;
	if (h.concurrency < 1)
		h.concurrency = 1;
	if (h.concurrency > MAX_CONCURRENCY)
		h.concurrency = MAX_CONCURRENCY;
	h.tokens = RATE_BURST;
	h.tokens_us = clock_us();
	h.seed = (unsigned)getpid() ^ (unsigned)h.tokens_us;
	/* A peer closing a TLS connection must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return prov_fail(c, PROV_FAIL_RETRY, "cannot start libcurl");
	if (c->p->insecure)
		log_event(LOG_WARN, c->p->name, "tls verification off",
			  "detail", "insecure = true: the server's certificate "
			  "and name are not checked", NULL);
	st = prepare(&h);
	if (st == PROV_DONE)
		st = resume(&h);
	if (st == PROV_DONE)
		st = open_curl(&h);
	if (st == PROV_DONE)
		st = pump(&h);
	retry_flush(&h);
	close_all(&h);
	curl_global_cleanup();
	return st;
}

/* --check: fetch the first page and count its records. */
static int http_check(const struct cfg *cfg, const struct cfg_provider *p,
		      char *msg, size_t msglen)
{
	struct prov_ctx ctx;
	struct http h;
	struct job j;
	char err[CURL_ERROR_SIZE], pub[URL_PUB_MAX], why[WHY_MAX];
	char excerpt[ERR_BODY_MAX + 1];
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
	if (p->nurls < 1) {
		snprintf(msg, msglen, "no url");
		return -1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(msg, msglen, "cannot start libcurl");
		return -1;
	}
	j.page = p->pagination == CFG_PAGE_PAGE ? p->page_start : 1;
	j.target = expand_page(p->urls[0], j.page);
	h.headers = make_headers(p);
	e = curl_easy_init();
	if (j.target == NULL || h.headers == NULL || e == NULL ||
	    easy_setup(e, p, h.headers, err) < 0 ||
	    curl_easy_setopt(e, CURLOPT_URL, j.target) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, &j) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HEADERDATA, &j) != CURLE_OK) {
		snprintf(msg, msglen, "cannot set up libcurl");
		goto out_cleanup;
	}
	http_url_public(j.target, pub, sizeof pub);
	if (p->insecure)
		log_event(LOG_WARN, p->name, "tls verification off",
			  "detail", "insecure = true: the server's certificate "
			  "and name are not checked", NULL);
	if (jsonptr_compile(&h.recptr, p->records ? p->records : "", why,
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
			 err[0] ? err : curl_easy_strerror(rc), tls_hint(rc));
		goto out_cleanup;
	}
	if (status < 200 || status > 299) {
		body_excerpt(&j.body, p, j.target, excerpt, sizeof excerpt);
		snprintf(msg, msglen, "%s: HTTP %ld%s%s", pub, status,
			 excerpt[0] ? ": " : "", excerpt);
		goto out_cleanup;
	}
	if (parse_body(&h, &j, why, sizeof why) < 0) {
		snprintf(msg, msglen, "%s: HTTP %ld, %s", pub, status, why);
		goto out_cleanup;
	}
	snprintf(msg, msglen, "HTTP %ld, %zu records", status, j.nrecords);
	ret = 0;
out_cleanup:
	json_decref(j.doc);
	hbuf_free(&j.body);
	hbuf_free(&j.link);
	free(j.target);
	jsonptr_free(&h.recptr);
	if (e != NULL)
		curl_easy_cleanup(e);
	curl_slist_free_all(h.headers);
	curl_global_cleanup();
	return ret;
}

const struct prov_ops http_provider_ops = {
	.name = "http",
	.run = http_run,
	.check = http_check,
};
