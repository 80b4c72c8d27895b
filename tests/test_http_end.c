/*
 * test_http_end.c - how the http provider ends, on the real binary and the
 * fixture server (tests/fixtures/httpd.py): pages fetched ahead past the
 * end of a page-paginated API, and the order of DONE and the cleanup.
 *
 * - DONE is published before the connections are closed (the "read" span
 *   of the provider's --trace track ends before its "close" span begins),
 *   so the output does not wait for the cleanup.
 * */
#include <criterion/criterion.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/httpfix.h"
#include "helpers/testutil.h"

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

TestSuite(http_end, .init = setup, .fini = teardown);

/*
 * p.conf: a group-by over the fixture's records (count and sum of price
 * per region), output out.csv, one http provider of url ("@@" stands for
 * the server's base URL) with the extra lines prov.
 */
static void conf(const char *url, const char *prov)
{
	char *p = tu_path(dir, "p.conf"), *u = hf_url(&srv, url + 2), *text;

	cr_assert(strncmp(url, "@@", 2) == 0);
	if (asprintf(&text, "[aggregate]\noutput = out.csv\n"
		     "fields = id:int, region:text, price:float\n"
		     "group_by = region\n"
		     "aggregates = count(*) as n, sum(price) as total\n\n"
		     "[provider api]\ntype = http\nurl = %s\n"
		     "pagination = page\nrecords = /items\n%s", u, prov) < 0)
		abort();
	tu_write(p, text);
	free(text);
	free(u);
	free(p);
}

static void run_ok(const char *const *args)
{
	struct tu_result r;

	tu_run(&r, dir, args, NULL);
	cr_assert_eq(r.status, 0, "exit %d, stderr:\n%s", r.status, r.err);
	tu_result_free(&r);
}

/* The ts of the first event of the provider's track named name, ph. */
static double provider_event(json_t *events, const char *name, char ph)
{
	json_int_t prov = -1;
	size_t i;
	json_t *e;

	json_array_foreach(events, i, e) {
		json_t *args = json_object_get(e, "args");
		const char *n = json_string_value(json_object_get(e, "name"));
		const char *v = json_string_value(json_object_get(args, "name"));

		if (n && strcmp(n, "process_name") == 0 && v &&
		    strncmp(v, "provider api", 12) == 0)
			prov = json_integer_value(json_object_get(e, "pid"));
	}
	cr_assert_neq(prov, -1, "no provider track");
	json_array_foreach(events, i, e) {
		const char *n = json_string_value(json_object_get(e, "name"));
		const char *p = json_string_value(json_object_get(e, "ph"));

		if (n && p && strcmp(n, name) == 0 && p[0] == ph &&
		    json_integer_value(json_object_get(e, "pid")) == prov)
			return json_number_value(json_object_get(e, "ts"));
	}
	cr_assert_fail("no %s (%c) on the provider's track", name, ph);
	return -1;
}

Test(http_end, done_is_published_before_the_connections_close)
{
	const char *const args[] = { "-q", "--trace", "t.json", "-c", "p.conf",
				     NULL };
	char *path = tu_path(dir, "t.json");
	json_error_t e;
	json_t *trace, *events;
	double done, closing;

	conf("@@/items?page={page}&per_page=10&total=95",
	     "concurrency = 16\n");
	run_ok(args);
	trace = json_load_file(path, 0, &e);
	cr_assert_not_null(trace, "%s: %s", path, e.text);
	events = json_is_array(trace) ? trace
				      : json_object_get(trace, "traceEvents");
	done = provider_event(events, "read", 'E');
	closing = provider_event(events, "close", 'X');
	cr_assert_leq(done, closing, "DONE at %.0f us, the connections "
		      "closed from %.0f us", done, closing);
	json_decref(trace);
	free(path);
}
