/*
 * test_http.c - the http provider: its parsing helpers one by one, then the
 * real aggregate binary end to end against the fixture HTTP server
 * (tests/fixtures/httpd.py, one per test): every pagination kind, records
 * pointers, NDJSON, map pointers and conversions, page order under
 * concurrency, retries (500, 429 + Retry-After, dropped and cut-off
 * responses), permanent failures (404, max_response), secrets kept out of
 * the logs, --check, rejects, and resuming after a provider is killed.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "../providers/http.h"
#include "../providers/http_conf.h"
#include "../providers/http_fetch.h"
#include "../providers/http_page.h"
#include "../providers/http_redact.h"
#include "../providers/jsonptr.h"
#include "helpers/httpfix.h"
#include "helpers/testutil.h"

/* --- helpers, without a server ---------------------------------------- */

Test(http_unit, retry_after_seconds_and_dates)
{
	time_t now = 1700000000;
	char date[64];
	struct tm tm;
	time_t later = now + 7;

	cr_assert_eq(http_retry_after_ms("120", 3, now), 120000);
	cr_assert_eq(http_retry_after_ms(" 0\r\n", 4, now), 0);
	cr_assert_eq(http_retry_after_ms("", 0, now), -1);
	cr_assert_eq(http_retry_after_ms("soon", 4, now), -1);
	gmtime_r(&later, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	cr_assert_eq(http_retry_after_ms(date, strlen(date), now), 7000,
		     "%s", date);
	/* A date in the past means now. */
	cr_assert_eq(http_retry_after_ms(date, strlen(date), now + 100), 0);
	/* Absurd waits are cut to five minutes. */
	cr_assert_eq(http_retry_after_ms("99999999999", 11, now), 300000);
}

Test(http_unit, link_header_next)
{
	char out[256];

	cr_assert_eq(http_link_next("<https://a.example/x?page=2>; rel=\"next\"",
				    out, sizeof out), 0);
	cr_assert_str_eq(out, "https://a.example/x?page=2");
	cr_assert_eq(http_link_next("</p?page=9>; rel=\"last\", </p?a=1,2>; "
				    "title=\"a, b\"; rel=\"prev next\"",
				    out, sizeof out), 0);
	cr_assert_str_eq(out, "/p?a=1,2");
	cr_assert_eq(http_link_next("<u>; rel=NEXT", out, sizeof out), 0);
	cr_assert_str_eq(out, "u");
	cr_assert_eq(http_link_next("<u>; rel=\"last\"", out, sizeof out), -1);
	cr_assert_eq(http_link_next("<u>; rel=\"nextpage\"", out, sizeof out),
		     -1);
	cr_assert_eq(http_link_next("", out, sizeof out), -1);
	cr_assert_eq(http_link_next("<https://long/url>; rel=next", out, 5), -1);
}

Test(http_unit, public_url_hides_credentials_and_query)
{
	char out[128];

	http_url_public("https://user:pw@api.example:8443/v1/items?token=abc#f",
			out, sizeof out);
	cr_assert_str_eq(out, "https://api.example:8443/v1/items");
	http_url_public("http://h/p?x=http://user:pw@other/", out, sizeof out);
	cr_assert_str_eq(out, "http://h/p");
	http_url_public("http://a@b@h/p", out, sizeof out);
	cr_assert_str_eq(out, "http://h/p");
	http_url_public("http://h/p", out, 6);
	cr_assert_str_eq(out, "http:");
}

Test(http_unit, page_template_replaces_every_placeholder)
{
	char *u = http_page_url("http://h/p/{page}?page={page}&n=1", 12, NULL);

	cr_assert_not_null(u);
	cr_assert_str_eq(u, "http://h/p/12?page=12&n=1");
	free(u);
	u = http_page_url("http://h/all", 3, NULL);
	cr_assert_str_eq(u, "http://h/all");
	free(u);
	/* {since} only when there is a since (a since_field provider) */
	u = http_page_url("http://h/{since}?p={page}&s={since}", 2, "a%20b");
	cr_assert_str_eq(u, "http://h/a%20b?p=2&s=a%20b");
	free(u);
	u = http_page_url("http://h/?s={since}", 2, "");
	cr_assert_str_eq(u, "http://h/?s=");
	free(u);
}

Test(http_unit, error_excerpt_hides_the_request_secrets)
{
	char *headers[] = { "Authorization: Bearer hdr-s3cret-tok" };
	struct http_conf pc = { .headers = headers, .nheaders = 1 };
	struct cfg_provider p = { .type = CFG_PROV_HTTP, .opts = &pc };
	const char *target = "http://u:pw-s3cret@h/p?key=qry-s3cret&x=1";
	const char *body = "denied: Bearer hdr-s3cret-tok, key=qry-s3cret, "
			   "user u:pw-s3cret,\nbasic dTpwdy1zM2NyZXQ=";
	struct buf b = {0};
	char out[HTTP_ERR_BODY_MAX + 1];

	cr_assert_eq(buf_addstr(&b, body), 0);
	http_body_excerpt(&b, &p, target, out, sizeof out);
	cr_assert_null(strstr(out, "hdr-s3cret"), "%s", out);
	cr_assert_null(strstr(out, "qry-s3cret"), "%s", out);
	cr_assert_null(strstr(out, "pw-s3cret"), "%s", out);
	/* base64 of "u:pw-s3cret", the Basic credentials curl sends */
	cr_assert_null(strstr(out, "dTpwdy1zM2NyZXQ="), "%s", out);
	cr_assert_str_eq(out, "denied: ***, key=***, user ***, basic ***");
	buf_clear(&b);
	http_body_excerpt(&b, &p, target, out, sizeof out);
	cr_assert_str_eq(out, "");
	buf_free(&b);
}

Test(http_unit, json_pointers)
{
	json_t *doc = json_loads("{\"a\": {\"b\": [10, 20, {\"c\": 3}]},"
				 " \"m~n\": 1, \"x/y\": 2, \"\": 4, \"01\": 5}",
				 0, NULL);
	struct jsonptr jp;
	char err[128];

	cr_assert_not_null(doc);
	cr_assert_eq(json_integer_value(jsonptr_get(doc, "/a/b/1")), 20);
	cr_assert_eq(json_integer_value(jsonptr_get(doc, "/a/b/2/c")), 3);
	cr_assert_eq(json_integer_value(jsonptr_get(doc, "/m~0n")), 1);
	cr_assert_eq(json_integer_value(jsonptr_get(doc, "/x~1y")), 2);
	cr_assert_eq(json_integer_value(jsonptr_get(doc, "/")), 4);
	cr_assert_eq(json_integer_value(jsonptr_get(doc, "/01")), 5);
	cr_assert_eq(jsonptr_get(doc, ""), doc);
	cr_assert_null(jsonptr_get(doc, "/a/b/3"));
	cr_assert_null(jsonptr_get(doc, "/a/b/-"));
	cr_assert_null(jsonptr_get(doc, "/a/b/01"));
	cr_assert_null(jsonptr_get(doc, "/a/b/1/z"));
	cr_assert_null(jsonptr_get(doc, "/nope"));
	cr_assert_null(jsonptr_get(NULL, "/a"));
	cr_assert_eq(jsonptr_compile(&jp, "a/b", err, sizeof err), -1);
	cr_assert(strstr(err, "'/'") != NULL, "%s", err);
	jsonptr_free(&jp);
	cr_assert_eq(jsonptr_compile(&jp, "/a~2", err, sizeof err), -1);
	jsonptr_free(&jp);
	cr_assert_eq(jsonptr_compile(&jp, "/a/b/0", err, sizeof err), 0);
	cr_assert_eq(jp.nseg, 3);
	cr_assert_eq(jp.seg[2].index, 0);
	cr_assert_eq(jp.seg[0].index, -1);
	cr_assert_eq(json_integer_value(jsonptr_resolve(&jp, doc)), 10);
	jsonptr_free(&jp);
	json_decref(doc);
}

/* --- end to end ------------------------------------------------------- */

static char *dir;
static struct hf_server srv;

static void setup(void)
{
	tu_watchdog(90);
	dir = tu_tmpdir();
	cr_assert_eq(hf_start(&srv), 0, "the fixture server did not start");
}

static void teardown(void)
{
	hf_stop(&srv);
	tu_rmrf(dir);
	free(dir);
}

TestSuite(http, .init = setup, .fini = teardown);

/* The schema the generated records map into. */
#define FIELDS "id:int, name:text, price:float, region:text, " \
	"customer:int, tags:text, created:timestamp, note:text, active:bool"
#define MAP "map = customer=/customer/id, tags=/customer/tags\n"

/* s with every "@@" replaced by the server's base URL; free() it. */
static char *with_base(const char *s)
{
	size_t n = 0, blen = strlen(srv.base);
	char *out, *o;

	for (const char *p = s; (p = strstr(p, "@@")) != NULL; p += 2)
		n++;
	out = malloc(strlen(s) + n * blen + 1);
	cr_assert_not_null(out);
	for (o = out; *s;) {
		if (s[0] == '@' && s[1] == '@') {
			memcpy(o, srv.base, blen);
			o += blen;
			s += 2;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

/*
 * Write p.conf: [aggregate] with output out.jsonl, the fields and agg
 * lines, and one [provider api] of type http with the prov lines ("@@"
 * stands for the server's base URL).
 */
static void conf(const char *fields, const char *agg, const char *prov)
{
	char *text, *p = tu_path(dir, "p.conf");
	char *body = with_base(prov);

	if (asprintf(&text, "[aggregate]\noutput = out.jsonl\nfields = %s\n"
		     "backoff = 10ms\n%s\n[provider api]\ntype = http\n%s",
		     fields, agg ? agg : "", body) < 0)
		abort();
	tu_write(p, text);
	free(text);
	free(body);
	free(p);
}

/* Run the binary on p.conf with extra args (NULL-terminated) and env. */
static int run(struct tu_result *r, const char *const *env, ...)
{
	const char *args[16] = { "-c", "p.conf" };
	int n = 2;
	va_list ap;

	va_start(ap, env);
	for (const char *a; n < 15 && (a = va_arg(ap, const char *)) != NULL;)
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	return tu_run(r, dir, args, env);
}

static char *get(const char *name)
{
	return tu_get(dir, name);
}

/* Run and insist on success; returns the output (free() it). */
static char *run_ok(const char *const *env)
{
	struct tu_result r;
	char *out;

	run(&r, env, NULL);
	cr_assert_eq(r.status, 0, "exit %d, stderr:\n%s", r.status, r.err);
	tu_result_free(&r);
	out = get("out.jsonl");
	cr_assert_not_null(out, "no output file");
	return out;
}

static const char *const regions[] = { "north", "south", "east", "west" };

/* Check one output row against generated record i (httpd.py make_record). */
static void check_record(json_t *row, long i)
{
	char buf[64];
	json_t *v;

	cr_assert_str_eq(json_string_value(json_object_get(row, "provider")),
			 "api");
	cr_assert_eq(json_integer_value(json_object_get(row, "id")), i,
		     "expected record %ld, got id %lld", i,
		     (long long)json_integer_value(json_object_get(row, "id")));
	snprintf(buf, sizeof buf, "item-%ld", i);
	cr_assert_str_eq(json_string_value(json_object_get(row, "name")), buf);
	cr_assert_float_eq(json_number_value(json_object_get(row, "price")),
			   (double)i * 1.25, 1e-9);
	cr_assert_str_eq(json_string_value(json_object_get(row, "region")),
			 regions[i % 4]);
	cr_assert_eq(json_integer_value(json_object_get(row, "customer")),
		     1000 + i % 13);
	snprintf(buf, sizeof buf, "[\"t%ld\",\"x\"]", i % 3);
	cr_assert_str_eq(json_string_value(json_object_get(row, "tags")), buf);
	snprintf(buf, sizeof buf, "2026-01-%02ldT10:00:00Z", 1 + i % 28);
	cr_assert_str_eq(json_string_value(json_object_get(row, "created")),
			 buf);
	v = json_object_get(row, "note");
	if (i % 5 == 0) {
		cr_assert(json_is_null(v), "record %ld: note not null", i);
	} else {
		snprintf(buf, sizeof buf, "n-%ld", i);
		cr_assert_str_eq(json_string_value(v), buf);
	}
	cr_assert_eq(json_is_true(json_object_get(row, "active")), i % 3 == 0);
}

/* The output holds exactly records first..last, in order. */
static void check_rows(const char *out, long first, long last)
{
	long i = first;

	for (const char *s = out; *s;) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		json_error_t e;
		json_t *row = json_loadb(s, len, 0, &e);

		cr_assert_not_null(row, "bad output line: %.*s", (int)len, s);
		cr_assert_leq(i, last, "more rows than records %ld..%ld", first,
			      last);
		check_record(row, i++);
		json_decref(row);
		s = nl ? nl + 1 : s + len;
	}
	cr_assert_eq(i, last + 1, "%ld rows, expected %ld", i - first,
		     last - first + 1);
}

static void run_expect(const char *agg, const char *prov, long first,
		       long last)
{
	char *out;

	conf(FIELDS, agg, prov);
	out = run_ok(NULL);
	check_rows(out, first, last);
	free(out);
}

Test(http, page_pagination)
{
	run_expect(NULL, "url = @@/items?page={page}&per_page=10&total=95\n"
		   "pagination = page\nrecords = /items\nconcurrency = 4\n" MAP,
		   1, 95);
	/* It stopped at the first empty page, fetched once. */
	cr_assert_eq(hf_hits(&srv, "/items?page=10&per_page=10&total=95"), 1);
	cr_assert_eq(hf_hits(&srv, "/items?page=11&per_page=10&total=95"), 1);
}

Test(http, page_start)
{
	run_expect(NULL, "url = @@/items?page={page}&per_page=10&total=35\n"
		   "pagination = page\npage_start = 2\nrecords = /items\n" MAP,
		   11, 35);
	cr_assert_eq(hf_hits(&srv, "/items?page=1&per_page=10&total=35"), 0);
}

Test(http, page_pagination_sequential)
{
	run_expect(NULL, "url = @@/items?page={page}&per_page=7&total=30\n"
		   "pagination = page\nrecords = /items\nconcurrency = 1\n" MAP,
		   1, 30);
	cr_assert_eq(hf_stat(&srv, "max_inflight"), 1);
}

Test(http, cursor_pagination)
{
	/* The fixture's cursors hold ':', '/', ' ' and '&': they must be
	 * URL-encoded to come back intact. */
	run_expect(NULL, "url = @@/cursor?per_page=10&total=42\n"
		   "pagination = cursor\ncursor_path = /meta/next\n"
		   "cursor_param = cursor\nrecords = /data\n" MAP, 1, 42);
	cr_assert_eq(hf_stat(&srv, "requests"), 5 + 1);
}

Test(http, link_pagination)
{
	run_expect(NULL, "url = @@/link?page=1&per_page=10&total=42\n"
		   "pagination = link\nrecords = /items\n" MAP, 1, 42);
	cr_assert_eq(hf_stat(&srv, "requests"), 5 + 1);
}

Test(http, body_is_the_array)
{
	run_expect(NULL, "url = @@/items?page={page}&per_page=10&total=25&"
		   "wrap=0\npagination = page\n" MAP, 1, 25);
}

Test(http, ndjson)
{
	run_expect(NULL, "url = @@/ndjson?total=23\nresponse = ndjson\n" MAP,
		   1, 23);
}

/*
 * NDJSON lines whose fields are all scalars go through the one-pass
 * reader (providers/jfast.c); the same records as one JSON page go
 * through jansson: the outputs are the same, byte for byte.
 */
Test(http, ndjson_one_pass_reader_gives_jansson_values)
{
	static const char *const fields = "id:int, name:text, price:float, "
		"region:text, customer:int, created:timestamp, note:text, "
		"active:bool, price_d:decimal(12,2)";
	static const char *const map = "map = customer=/customer/id, "
		"price_d=/price\n";
	char *prov, *a, *b;
	size_t lines = 0;

	cr_assert_geq(asprintf(&prov, "url = @@/items?per_page=30&total=23\n"
			       "records = /items\n%s", map), 0);
	conf(fields, NULL, prov);
	a = run_ok(NULL);
	free(prov);
	cr_assert_geq(asprintf(&prov, "url = @@/ndjson?total=23\n"
			       "response = ndjson\n%s", map), 0);
	conf(fields, NULL, prov);
	b = run_ok(NULL);
	free(prov);
	for (const char *c = b; *c; c++)
		lines += *c == '\n';
	cr_assert_eq(lines, 23);
	cr_assert_str_eq(b, a);
	free(a);
	free(b);
}

/*
 * JSON pages go through the page scanner and the one-pass reader
 * (providers/http_jpage.c, jfast.c); a "\u0000" anywhere in the page
 * (the fixture's nul=1) leaves the whole page to jansson.  Over the same
 * records (nested values, escapes, unicode, wrong types, non-objects) the
 * outputs and the rejects are the same, byte for byte.
 */
Test(http, json_pages_one_pass_as_jansson)
{
	static const char *const prov = "url = @@/items?data=mixed&"
		"per_page=3&page={page}%s\npagination = page\n"
		"records = /items\nmap = amount=/values/amount, "
		"label=/a~1b, flag=/flags/0, when=/when, extra=/meta\n";
	char *out[2], *rej[2], *p;
	struct tu_result r;

	for (int k = 0; k < 2; k++) {
		cr_assert_geq(asprintf(&p, prov, k ? "&nul=1" : ""), 0);
		conf("id:int, amount:float, label:text, flag:bool, "
		     "when:timestamp, extra:text",
		     "reject_file = rejects.jsonl\nmax_rejects = 10\n", p);
		free(p);
		run(&r, NULL, NULL);
		cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
		tu_result_free(&r);
		out[k] = get("out.jsonl");
		rej[k] = get("rejects.jsonl");
		cr_assert(out[k] != NULL && rej[k] != NULL);
		cr_assert(strstr(rej[k], "page 2 record 1") != NULL, "%s",
			  rej[k]);
	}
	cr_assert_str_eq(out[0], out[1]);
	cr_assert_str_eq(rej[0], rej[1]);
	for (int k = 0; k < 2; k++) {
		free(out[k]);
		free(rej[k]);
	}
}

Test(http, ndjson_pages)
{
	run_expect(NULL, "url = @@/ndjson?page={page}&per_page=10&total=23\n"
		   "pagination = page\nresponse = ndjson\nconcurrency = 3\n"
		   MAP, 1, 23);
}

Test(http, several_urls_in_order)
{
	char *out;
	size_t n = 0;

	/* Two URLs: records 1..12 then 1..5 again, the first URL first. */
	conf(FIELDS, NULL,
	     "url = @@/items?page={page}&per_page=5&total=12&slow=1:200\n"
	     "url = @@/items?page={page}&per_page=5&total=5\n"
	     "pagination = page\nrecords = /items\nconcurrency = 8\n" MAP);
	out = run_ok(NULL);
	for (const char *s = out; (s = strchr(s, '\n')) != NULL; s++)
		n++;
	cr_assert_eq(n, 17);
	/* Row 13 is the second URL's first record. */
	{
		const char *s = out;

		for (int k = 0; k < 12; k++)
			s = strchr(s, '\n') + 1;
		cr_assert(strncmp(s, "{\"provider\":\"api\",\"id\":1,", 25) == 0,
			  "%.60s", s);
	}
	free(out);
}

Test(http, none_pagination_several_urls)
{
	char *out;

	conf(FIELDS, NULL,
	     "url = @@/items?page=1&per_page=4&total=12&delay=300\n"
	     "url = @@/items?page=2&per_page=4&total=12\n"
	     "url = @@/items?page=3&per_page=4&total=12&delay=100\n"
	     "records = /items\nconcurrency = 3\n" MAP);
	out = run_ok(NULL);
	check_rows(out, 1, 12);
	free(out);
	cr_assert_geq(hf_stat(&srv, "max_inflight"), 2);
}

Test(http, concurrency_keeps_page_order)
{
	char *out;

	/* Early pages answer last: the output must still be in page order. */
	conf(FIELDS, NULL,
	     "url = @@/items?page={page}&per_page=5&total=60&"
	     "slow=1:400,2:50,3:300,5:200\n"
	     "pagination = page\nrecords = /items\nconcurrency = 8\n" MAP);
	out = run_ok(NULL);
	check_rows(out, 1, 60);
	free(out);
	cr_assert_gt(hf_stat(&srv, "max_inflight"), 1);
}

Test(http, connections_are_reused)
{
	long n;

	run_expect(NULL, "url = @@/items?page={page}&per_page=2&total=60\n"
		   "pagination = page\nrecords = /items\nconcurrency = 3\n" MAP,
		   1, 60);
	/* 31 pages (and a few fetched ahead past the end) over at most 3
	 * connections (+2: each of these questions opens its own). */
	cr_assert_geq(hf_stat(&srv, "requests"), 31 + 1);
	n = hf_stat(&srv, "connections");
	cr_assert_leq(n, 3 + 2, "%ld connections", n);
}

Test(http, map_pointers_and_conversions)
{
	struct tu_result r;
	char *out, *rej;
	json_t *rows[6];
	const char *s;
	int n = 0;

	conf("id:int, amount:float, label:text, flag:bool, when:timestamp, "
	     "extra:text",
	     "reject_file = rejects.jsonl\nmax_rejects = 10\n",
	     "url = @@/items?data=mixed&per_page=100&page={page}\n"
	     "pagination = page\nrecords = /items\n"
	     "map = amount=/values/amount, label=/a~1b, flag=/flags/0, "
	     "when=/when, extra=/meta\n");
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	tu_result_free(&r);
	out = get("out.jsonl");
	cr_assert_not_null(out);
	for (s = out; *s && n < 6; n++) {
		const char *nl = strchr(s, '\n');

		rows[n] = json_loadb(s, (size_t)(nl - s), 0, NULL);
		cr_assert_not_null(rows[n]);
		s = nl + 1;
	}
	cr_assert_eq(n, 5, "rows: %s", out);
#define F(k, name) json_object_get(rows[k], name)
	cr_assert_eq(json_integer_value(F(0, "id")), 1);
	cr_assert_float_eq(json_real_value(F(0, "amount")), 12.5, 1e-12);
	cr_assert_str_eq(json_string_value(F(0, "label")), "slash key");
	cr_assert(json_is_true(F(0, "flag")));
	cr_assert_str_eq(json_string_value(F(0, "when")),
			 "2026-11-22T01:00:01Z");
	cr_assert_str_eq(json_string_value(F(0, "extra")),
			 "{\"k\":[1,2,{\"z\":null}]}");
	cr_assert_eq(json_integer_value(F(1, "id")), 2);
	cr_assert_float_eq(json_number_value(F(1, "amount")), 3.0, 1e-12);
	cr_assert_str_eq(json_string_value(F(1, "label")), "42");
	cr_assert(json_is_false(F(1, "flag")));
	cr_assert_str_eq(json_string_value(F(1, "when")),
			 "2026-01-01T00:00:00Z");
	cr_assert_str_eq(json_string_value(F(1, "extra")), "plain");
	cr_assert_eq(json_integer_value(F(2, "id")), 3);
	cr_assert(json_is_null(F(2, "amount")));
	cr_assert_str_eq(json_string_value(F(2, "label")), "true");
	cr_assert(json_is_null(F(2, "flag")));
	cr_assert(json_is_null(F(2, "when")));
	cr_assert_str_eq(json_string_value(F(2, "extra")), "[1,\"\xc3\xa9\"]");
	cr_assert_eq(json_integer_value(F(3, "id")), 5);
	cr_assert_float_eq(json_number_value(F(3, "amount")), 100.0, 1e-12);
	cr_assert_str_eq(json_string_value(F(3, "label")), "0.1");
	cr_assert_str_eq(json_string_value(F(3, "extra")), "{}");
	cr_assert_eq(json_integer_value(F(4, "id")), 9);
	cr_assert_str_eq(json_string_value(F(4, "label")),
			 "tab\there \"quoted\"");
	cr_assert(json_is_true(F(4, "flag")));
	cr_assert_str_eq(json_string_value(F(4, "when")),
			 "2026-02-28T23:59:59.5Z");
#undef F
	for (int k = 0; k < n; k++)
		json_decref(rows[k]);
	free(out);

	rej = get("rejects.jsonl");
	cr_assert_not_null(rej);
	cr_assert(strstr(rej, "/items page 1 record 4") != NULL, "%s", rej);
	cr_assert(strstr(rej, "field amount") != NULL, "%s", rej);
	cr_assert(strstr(rej, "/items page 1 record 6") != NULL, "%s", rej);
	cr_assert(strstr(rej, "not a JSON object") != NULL, "%s", rej);
	cr_assert(strstr(rej, "/items page 1 record 7") != NULL, "%s", rej);
	cr_assert(strstr(rej, "/items page 1 record 8") != NULL, "%s", rej);
	cr_assert(strstr(rej, "data=mixed") == NULL, "query shown: %s", rej);
	free(rej);
}

Test(http, reject_position_names_page_and_record)
{
	struct tu_result r;
	char *rej, *out;

	conf(FIELDS ", qty:int", "reject_file = rejects.jsonl\n"
	     "max_rejects = 1\n",
	     "url = @@/items?page={page}&per_page=10&total=30&bad_record=17\n"
	     "pagination = page\nrecords = /items\n" MAP);
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	tu_result_free(&r);
	rej = get("rejects.jsonl");
	cr_assert_not_null(rej);
	cr_assert(strstr(rej, "/items page 2 record 7") != NULL, "%s", rej);
	cr_assert(strstr(rej, "field qty") != NULL, "%s", rej);
	cr_assert(strstr(rej, "not a number") != NULL, "%s", rej);
	free(rej);
	out = get("out.jsonl");
	cr_assert(strstr(out, "\"id\":17,") == NULL);
	cr_assert(strstr(out, "\"id\":18,") != NULL);
	free(out);

	/* One more than max_rejects fails the provider for good. */
	conf(FIELDS ", qty:int", "max_rejects = 0\n",
	     "url = @@/items?page={page}&per_page=10&total=30&bad_record=17\n"
	     "pagination = page\nrecords = /items\n" MAP);
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 1, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "restarted") == NULL, "%s", r.err);
	tu_result_free(&r);
}

Test(http, retries_500_then_succeeds)
{
	run_expect(NULL, "url = @@/items?page={page}&per_page=10&total=25&"
		   "fail=2\npagination = page\nrecords = /items\n" MAP, 1, 25);
	cr_assert_eq(hf_hits(&srv, "/items?page=2&per_page=10&total=25&"
			     "fail=2"), 3);
}

/*
 * Retry-After: 1 says wait a second; backoff alone (10ms) would not.  The
 * fixture counts a request that comes before the time it named as early.
 */
Test(http, retry_after_429_is_honoured)
{
	run_expect(NULL, "url = @@/items?page={page}&per_page=10&total=25&"
		   "r429=1&ra=1&fail_page=2\npagination = page\n"
		   "records = /items\n" MAP, 1, 25);
	cr_assert_eq(hf_hits(&srv, "/items?page=2&per_page=10&total=25&"
			     "r429=1&ra=1&fail_page=2"), 2);
	cr_assert_eq(hf_stat(&srv, "early"), 0, "retried before Retry-After");
}

Test(http, retry_after_http_date)
{
	/* An HTTP date 2s ahead, to the second. */
	run_expect(NULL, "url = @@/items?page={page}&per_page=10&total=15&"
		   "r429=1&ra=date&ra_s=2&fail_page=1\npagination = page\n"
		   "records = /items\n" MAP, 1, 15);
	cr_assert_eq(hf_hits(&srv, "/items?page=1&per_page=10&total=15&"
			     "r429=1&ra=date&ra_s=2&fail_page=1"), 2);
	cr_assert_eq(hf_stat(&srv, "early"), 0, "retried before Retry-After");
}

Test(http, broken_responses_are_retried)
{
	static const char *const knobs[] = { "drop", "trunc", "badjson" };

	for (int k = 0; k < 3; k++) {
		char prov[256], path[128];

		snprintf(prov, sizeof prov, "url = @@/items?page={page}&"
			 "per_page=10&total=25&%s=1&fail_page=2\n"
			 "pagination = page\nrecords = /items\n" MAP,
			 knobs[k]);
		run_expect(NULL, prov, 1, 25);
		snprintf(path, sizeof path, "/items?page=2&per_page=10&"
			 "total=25&%s=1&fail_page=2", knobs[k]);
		cr_assert_eq(hf_hits(&srv, path), 2, "%s", knobs[k]);
	}
}

Test(http, not_found_fails_at_once)
{
	struct tu_result r;

	conf(FIELDS, NULL, "url = @@/items?page=1&status=404&key=q-s3cret\n"
	     "records = /items\nretries = 3\n" MAP);
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 1, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "HTTP 404") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "status 404 as asked") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "/items") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "q-s3cret") == NULL, "query shown:\n%s", r.err);
	cr_assert(strstr(r.err, "restarted") == NULL, "%s", r.err);
	tu_result_free(&r);
	cr_assert_eq(hf_hits(&srv, "/items?page=1&status=404&key=q-s3cret"), 1);
	cr_assert_null(get("out.jsonl"));
}

Test(http, errors_past_the_last_page_are_ignored)
{
	/* Pages 4.. answer 404, but page 3 is already empty: not an error. */
	run_expect(NULL, "url = @@/items?page={page}&per_page=10&total=20&"
		   "slow=1:100&past=404\npagination = page\nrecords = /items\n"
		   "concurrency = 8\n" MAP, 1, 20);
}

Test(http, retries_exhausted_restart_then_fail)
{
	struct tu_result r;

	conf(FIELDS, "restart = 1\n",
	     "url = @@/items?page={page}&per_page=10&total=25&fail=99&"
	     "fail_page=2\npagination = page\nrecords = /items\nretries = 1\n"
	     MAP);
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 1, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "HTTP 500 (gave up after 2 attempts)") != NULL,
		  "%s", r.err);
	cr_assert(strstr(r.err, "restarted") != NULL, "%s", r.err);
	tu_result_free(&r);
	/* Two requests per attempt; the restart resumed at page 2. */
	cr_assert_eq(hf_hits(&srv, "/items?page=2&per_page=10&total=25&"
			     "fail=99&fail_page=2"), 4);
	cr_assert_eq(hf_hits(&srv, "/items?page=1&per_page=10&total=25&"
			     "fail=99&fail_page=2"), 1);
}

Test(http, max_response)
{
	struct tu_result r;

	conf(FIELDS, NULL, "url = @@/items?page=1&pad=10000\n"
	     "records = /items\nmax_response = 4K\n" MAP);
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 1, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "response larger than max_response") != NULL,
		  "%s", r.err);
	cr_assert(strstr(r.err, "restarted") == NULL, "%s", r.err);
	tu_result_free(&r);

	/* Under the limit, the same page is fine. */
	conf(FIELDS, NULL, "url = @@/items?page=1&pad=10000\n"
	     "records = /items\nmax_response = 64K\n" MAP);
	free(run_ok(NULL));
}

Test(http, timeout_is_retried_then_fails)
{
	struct tu_result r;

	conf(FIELDS, "restart = 0\n", "url = @@/items?page=1&delay=3000\n"
	     "records = /items\ntimeout = 200ms\nretries = 1\n" MAP);
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 1, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "gave up after 2 attempts") != NULL, "%s",
		  r.err);
	tu_result_free(&r);
}

Test(http, header_sent_and_never_logged)
{
	struct tu_result r;

	conf(FIELDS, NULL, "url = @@/items?page={page}&per_page=10&total=15&"
	     "auth=hdr-s3cret-1\npagination = page\nrecords = /items\n"
	     "header = Authorization: Bearer hdr-s3cret-1\n"
	     "header = X-Other: also-s3cret\n" MAP);
	run(&r, NULL, "-v", NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "s3cret") == NULL, "secret logged:\n%s", r.err);
	tu_result_free(&r);
	run(&r, NULL, "--check", "-v", NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s%s", r.status, r.out, r.err);
	cr_assert(strstr(r.out, "s3cret") == NULL && strstr(r.err, "s3cret") ==
		  NULL, "secret shown:\n%s%s", r.out, r.err);
	tu_result_free(&r);

	/* A wrong token: 401, fails at once, neither token shown. */
	conf(FIELDS, NULL, "url = @@/items?page={page}&per_page=10&total=15&"
	     "auth=hdr-s3cret-1\npagination = page\nrecords = /items\n"
	     "header = Authorization: Bearer wrong-s3cret-2\n" MAP);
	run(&r, NULL, "-v", NULL);
	cr_assert_eq(r.status, 1, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "HTTP 401") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "s3cret") == NULL, "secret logged:\n%s", r.err);
	cr_assert(strstr(r.err, "restarted") == NULL, "%s", r.err);
	tu_result_free(&r);
}

Test(http, method_and_body)
{
	long status;
	char *log;

	run_expect(NULL, "url = @@/items?page=1&per_page=5&total=5\n"
		   "records = /items\nmethod = POST\n"
		   "body = {\"query\": \"all\"}\n" MAP, 1, 5);
	log = hf_get(&srv, "/_log", &status);
	cr_assert_not_null(log);
	cr_assert(strstr(log, "\"method\": \"POST\"") != NULL, "%s", log);
	cr_assert(strstr(log, "{\\\"query\\\": \\\"all\\\"}") != NULL, "%s",
		  log);
	free(log);
}

/* A first run's {since} is since_start: the API answers what follows it. */
Test(http, since_start_is_the_first_since)
{
	run_expect(NULL, "url = @@/items?page={page}&per_page=10&total=95"
		   "&since={since}\npagination = page\nrecords = /items\n"
		   "since_field = /id\nsince_start = 40\n" MAP, 41, 95);
	cr_assert_eq(hf_hits(&srv, "/items?page=1&per_page=10&total=95"
			     "&since=40"), 1);
	/* none given: empty, the API's everything */
	run_expect(NULL, "url = @@/items?page={page}&per_page=10&total=25"
		   "&since={since}\npagination = page\nrecords = /items\n"
		   "since_field = /id\n" MAP, 1, 25);
	cr_assert_eq(hf_hits(&srv, "/items?page=1&per_page=10&total=25"
			     "&since="), 1);
}

/* In a url {since} is URL-encoded; in the body it is as it is. */
Test(http, since_in_url_is_encoded_in_body_as_is)
{
	long status;
	char *log;

	run_expect(NULL, "url = @@/items?page=1&per_page=5&total=5"
		   "&after={since}\nrecords = /items\nmethod = POST\n"
		   "body = {\"after\": \"{since}\"}\nsince_field = /id\n"
		   "since_start = 2026-01-05 10:00/x&y=1\n" MAP, 1, 5);
	log = hf_get(&srv, "/_log", &status);
	cr_assert_not_null(log);
	cr_assert(strstr(log, "&after=2026-01-05%2010%3A00%2Fx%26y%3D1\"")
		  != NULL, "%s", log);
	cr_assert(strstr(log, "{\\\"after\\\": \\\"2026-01-05 10:00/x&y=1\\\"}")
		  != NULL, "%s", log);
	free(log);
}

/* since_field missing or of another type: that record's reject. */
Test(http, since_field_of_another_type_is_a_reject)
{
	struct tu_result r;
	char *rej;

	conf(FIELDS, "reject_file = rejects.jsonl\nmax_rejects = 1\n",
	     "url = @@/items?page={page}&per_page=10&total=30&bad_record=17"
	     "&since={since}\npagination = page\nrecords = /items\n"
	     "since_field = /qty\n" MAP);
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	tu_result_free(&r);
	rej = get("rejects.jsonl");
	cr_assert_not_null(rej);
	cr_assert(strstr(rej, "/items page 2 record 7") != NULL, "%s", rej);
	cr_assert(strstr(rej, "since_field /qty is a string, others a number")
		  != NULL, "%s", rej);
	free(rej);

	conf(FIELDS, "reject_file = rejects.jsonl\nmax_rejects = 1\n",
	     "url = @@/items?page={page}&per_page=10&total=1&since={since}\n"
	     "pagination = page\nrecords = /items\nsince_field = /nope\n"
	     MAP);
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	tu_result_free(&r);
	rej = get("rejects.jsonl");
	cr_assert_not_null(rej);
	cr_assert(strstr(rej, "page 1 record 1") != NULL, "%s", rej);
	cr_assert(strstr(rej, "since_field /nope is missing") != NULL, "%s",
		  rej);
	free(rej);
}

Test(http, check_requests_the_first_page)
{
	struct tu_result r;

	conf(FIELDS, NULL, "url = @@/items?page={page}&per_page=10&total=95\n"
	     "pagination = page\nrecords = /items\n" MAP);
	run(&r, NULL, "--check", NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s%s", r.status, r.out, r.err);
	cr_assert(strstr(r.out, "HTTP 200, 10 records") != NULL ||
		  strstr(r.err, "HTTP 200, 10 records") != NULL, "%s%s",
		  r.out, r.err);
	tu_result_free(&r);
	cr_assert_eq(hf_stat(&srv, "requests"), 1 + 1);
	cr_assert_null(get("out.jsonl"));

	conf(FIELDS, NULL, "url = @@/items?page={page}&status=503\n"
	     "pagination = page\nrecords = /items\n" MAP);
	run(&r, NULL, "--check", NULL);
	cr_assert_neq(r.status, 0);
	cr_assert(strstr(r.out, "HTTP 503") != NULL ||
		  strstr(r.err, "HTTP 503") != NULL, "%s%s", r.out, r.err);
	tu_result_free(&r);
}

/*
 * 10/s: a request every 100ms, though 8 may run at once.  The fixture
 * counts one that comes within 50ms of the one before it as early (the
 * margin: a request that waits longer on its way in than the next one).
 */
Test(http, rate_limit_spaces_requests)
{
	run_expect(NULL, "url = @@/items?page={page}&per_page=5&total=25&"
		   "gap=50\npagination = page\nrecords = /items\n"
		   "concurrency = 8\nrate_limit = 10/s\n" MAP, 1, 25);
	cr_assert_geq(hf_stat(&srv, "requests"), 6);
	cr_assert_eq(hf_stat(&srv, "early"), 0, "requests closer than 10/s");
}

/* Bytes arriving are progress: a body sent in pieces over 3s is no stall. */
Test(http, slow_server_is_not_a_stall)
{
	struct tu_result r;

	conf(FIELDS, "stall_timeout = 1s\nrestart = 0\n",
	     "url = @@/items?page=1&per_page=5&total=5&trickle=200\n"
	     "records = /items\n" MAP);
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "stalled") == NULL, "%s", r.err);
	tu_result_free(&r);
}

/*
 * Our own waits are no stall either: a Retry-After of 2s with a
 * stall_timeout of 1s is waited out, without a restart.
 */
Test(http, retry_after_longer_than_stall_timeout_is_not_a_stall)
{
	struct tu_result r;
	char *out;

	conf(FIELDS, "stall_timeout = 1s\nrestart = 0\n",
	     "url = @@/items?page={page}&per_page=10&total=15&r429=1&ra=2&"
	     "fail_page=1\npagination = page\nrecords = /items\n" MAP);
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "stalled") == NULL, "%s", r.err);
	tu_result_free(&r);
	cr_assert_eq(hf_hits(&srv, "/items?page=1&per_page=10&total=15&"
			     "r429=1&ra=2&fail_page=1"), 2);
	out = get("out.jsonl");
	check_rows(out, 1, 15);
	free(out);
}

/* A loopback port nobody listens on (bound, then closed). */
static int closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	cr_assert_geq(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Lines of text holding s. */
static int lines_with(const char *text, const char *s)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, s)) != NULL; n++) {
		p = strchr(p, '\n');
		if (p == NULL)
			break;
	}
	return n;
}

/*
 * A server that is down fails every page fetched ahead, again and again:
 * the first retry is logged, the others that failed the same way are
 * counted in one more line, not one line each.
 */
Test(http, retries_of_a_down_server_are_summarised)
{
	struct tu_result r;
	char prov[256];
	const char *at;
	long n;

	snprintf(prov, sizeof prov, "url = http://127.0.0.1:%d/items?"
		 "page={page}\npagination = page\nrecords = /items\n"
		 "concurrency = 16\nretries = 3\n" MAP, closed_port());
	conf(FIELDS, "restart = 0\n", prov);
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 1, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "/items page 1: ") != NULL &&
		  strstr(r.err, "(gave up after 4 attempts)") != NULL, "%s",
		  r.err);
	/* 16 pages at a time, 3 retries each: one line, then the count. */
	cr_assert_leq(lines_with(r.err, " retrying "), 2, "%s", r.err);
	at = strstr(r.err, "retrying requests=");
	cr_assert_not_null(at, "%s", r.err);
	n = strtol(at + strlen("retrying requests="), NULL, 10);
	cr_assert_geq(n, 16, "%s", r.err);
	cr_assert(strstr(at, "more requests failed the same way") != NULL,
		  "%s", r.err);
	tu_result_free(&r);
}

/* A clean run, then one where the provider is killed; outputs match. */
static void resume_case(const char *prov, const char *fault)
{
	char env[128];
	const char *envp[] = { env, NULL };
	struct tu_result r;
	char *clean, *out;

	snprintf(env, sizeof env, "AGG_FAULT=%s", fault);
	conf(FIELDS, NULL, prov);
	clean = run_ok(NULL);
	run(&r, envp, NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "restarted") != NULL, "no restart (%s):\n%s",
		  fault, r.err);
	tu_result_free(&r);
	out = get("out.jsonl");
	cr_assert_not_null(out);
	cr_assert_str_eq(out, clean, "output differs after %s", fault);
	free(out);
	free(clean);
}

Test(http, resume_page_after_kill)
{
	const char *prov = "url = @@/items?page={page}&per_page=10&total=95&"
			   "slow=2:100,4:150\npagination = page\n"
			   "records = /items\nconcurrency = 4\n" MAP;

	resume_case(prov, "api:1:after_checkpoint:3");
	resume_case(prov, "api:1:record:45");
	resume_case(prov, "api:0:before_checkpoint:4");
}

Test(http, resume_cursor_after_kill)
{
	resume_case("url = @@/cursor?per_page=10&total=42\n"
		    "pagination = cursor\ncursor_path = /meta/next\n"
		    "cursor_param = cursor\nrecords = /data\n" MAP,
		    "api:1:after_checkpoint:3");
}

Test(http, resume_link_after_kill)
{
	resume_case("url = @@/link?page=1&per_page=10&total=42\n"
		    "pagination = link\nrecords = /items\n" MAP,
		    "api:1:after_checkpoint:2");
}

Test(http, resume_urls_after_kill)
{
	resume_case("url = @@/ndjson?total=7\n"
		    "url = @@/ndjson?total=9\n"
		    "url = @@/ndjson?total=3\n"
		    "response = ndjson\n" MAP, "api:1:after_checkpoint:2");
}

/* --- TLS --------------------------------------------------------------- */

static void setup_tls(void)
{
	tu_watchdog(90);
	dir = tu_tmpdir();
	cr_assert_eq(hf_start_tls(&srv), 0, "the TLS fixture did not start");
}

TestSuite(https, .init = setup_tls, .fini = teardown);

Test(https, verification_is_on_by_default)
{
	struct tu_result r;

	conf(FIELDS, NULL, "url = @@/items?page=1&per_page=5&total=5\n"
	     "records = /items\n" MAP);
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 1, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "TLS certificate verification failed") != NULL,
		  "%s", r.err);
	cr_assert(strstr(r.err, "restarted") == NULL, "%s", r.err);
	tu_result_free(&r);
	run(&r, NULL, "--check", NULL);
	cr_assert_neq(r.status, 0);
	cr_assert(strstr(r.out, "TLS certificate verification failed") != NULL ||
		  strstr(r.err, "TLS certificate verification failed") != NULL,
		  "%s%s", r.out, r.err);
	tu_result_free(&r);
}

Test(https, ca_file_and_insecure)
{
	char prov[512];
	char *out;

	snprintf(prov, sizeof prov, "url = @@/items?page={page}&per_page=5&"
		 "total=12\npagination = page\nrecords = /items\n"
		 "ca_file = %s/tests/data/http/tls-cert.pem\n" MAP,
		 tu_srcdir());
	conf(FIELDS, NULL, prov);
	out = run_ok(NULL);
	check_rows(out, 1, 12);
	free(out);

	conf(FIELDS, NULL, "url = @@/items?page={page}&per_page=5&total=12\n"
	     "pagination = page\nrecords = /items\ninsecure = true\n" MAP);
	out = run_ok(NULL);
	check_rows(out, 1, 12);
	free(out);
}

Test(https, insecure_logs_a_warning)
{
	struct tu_result r;

	conf(FIELDS, NULL, "url = @@/items?page=1&per_page=5&total=5\n"
	     "records = /items\ninsecure = true\n" MAP);
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "warn provider=api tls verification off") !=
		  NULL, "no warning:\n%s", r.err);
	tu_result_free(&r);
	run(&r, NULL, "--check", NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s%s", r.status, r.out, r.err);
	cr_assert(strstr(r.err, "tls verification off") != NULL,
		  "no warning:\n%s", r.err);
	tu_result_free(&r);

	/* Verified (the default): no such warning. */
	conf(FIELDS, NULL, "url = @@/items?page=1&per_page=5&total=5\n"
	     "records = /items\n" MAP);
	run(&r, NULL, NULL);
	cr_assert_eq(r.status, 1, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "verification off") == NULL, "%s", r.err);
	tu_result_free(&r);
}

/*
 * Numbers and strings into timestamp('%d/%m/%Y %H:%M', epoch_ms) and the
 * standard forms, local times in the provider's zone (not the
 * aggregate's), dates and decimals: the values and the rejects.
 */
Test(http, timestamp_formats_zones_dates_and_decimals)
{
	struct tu_result r;
	char *out, *rej;

	conf("id:int, at:timestamp('%d/%m/%Y %H:%M', epoch_ms), "
	     "local:timestamp('%d/%m/%Y %H:%M', '%Y-%m-%d %H:%M:%S', "
	     "'%Y-%m-%d %H:%M:%S%z'), day:date, price:decimal(10,2)",
	     "reject_file = rejects.jsonl\nmax_rejects = 10\n"
	     "timezone = Asia/Tokyo\n",
	     "url = @@/items?data=typed&per_page=100&page={page}\n"
	     "pagination = page\nrecords = /items\n"
	     "timezone = Europe/Paris\n");
	run(&r, NULL, "--only", "api", NULL);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	tu_result_free(&r);
	out = get("out.jsonl");
	cr_assert_not_null(out);
	/* The decimal column is the outputs' to write: not checked here. */
	cr_assert(strstr(out, "\"at\":\"2018-02-07T01:26:13.84Z\""), "%s", out);
	cr_assert(strstr(out, "\"at\":\"2018-02-07T01:26:13.8405Z\""), "%s",
		  out);
	cr_assert(strstr(out, "\"local\":\"2024-03-31T01:30:00Z\""), "%s", out);
	cr_assert(strstr(out, "\"local\":\"2024-10-27T01:30:00Z\""), "%s", out);
	cr_assert(strstr(out, "\"at\":\"2024-03-31T01:30:00Z\""), "%s", out);
	cr_assert(strstr(out, "\"local\":\"2024-07-01T12:00:00Z\""), "%s", out);
	free(out);
	rej = get("rejects.jsonl");
	cr_assert_not_null(rej);
	cr_assert(strstr(rej, "field at: invalid timestamp \\\"yesterday\\\""),
		  "%s", rej);
	cr_assert(strstr(rej, "field day: invalid date \\\"2024-02-30\\\""),
		  "%s", rej);
	cr_assert(strstr(rej, "field price: decimal(10,2) overflow "
			 "\\\"123456789\\\""), "%s", rej);
	free(rej);
}
