/*
 * test_http_end.c - how the http provider ends, on the real binary and the
 * fixture server (tests/fixtures/httpd.py): pages fetched ahead past the
 * end of a page-paginated API, and the order of DONE and the cleanup.
 *
 * - A round of pages sent together is answered together: new pages wait
 *   for the rest of the round's answers, so the empty page is read before
 *   any page past the round is asked for (without the wait, each early
 *   answer starts a page past the end at once).
 * - The wait is short: one slow page holds the next pages back only an
 *   eighth of the time its round's first answer took, not until it comes,
 *   and the waits of a whole run add up to no more than that for its
 *   first round.
 * - DONE is published before the connections are closed (the "read" span
 *   of the provider's --trace track ends before its "close" span begins),
 *   so the output does not wait for the cleanup.
 *
 * The server logs each request with its arrival time on its own clock;
 * the tests compare those times only with the delays the URLs ask for.
 */
#include <criterion/criterion.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

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

/*
 * What SQLite makes of the fixture's records 1..n (id i, price i * 1.25,
 * region north/south/east/west by i % 4): the output's CSV, free() it.
 */
static char *oracle(int n)
{
	static const char *const regions[] = { "north", "south", "east",
					       "west" };
	sqlite3 *db;
	sqlite3_stmt *st;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	cr_assert_not_null(f);
	cr_assert_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "CREATE TABLE t (region TEXT, price "
				  "REAL)", NULL, NULL, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?, ?)", -1,
					&st, NULL), SQLITE_OK);
	for (int i = 1; i <= n; i++) {
		sqlite3_bind_text(st, 1, regions[i % 4], -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 2, i * 1.25);
		cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT region, count(*), "
					"printf('%.15g', sum(price)) FROM t "
					"GROUP BY region ORDER BY region", -1,
					&st, NULL), SQLITE_OK);
	fputs("region,n,total\n", f);
	while (sqlite3_step(st) == SQLITE_ROW)
		fprintf(f, "%s,%lld,%s\n", sqlite3_column_text(st, 0),
			(long long)sqlite3_column_int64(st, 1),
			sqlite3_column_text(st, 2));
	sqlite3_finalize(st);
	sqlite3_close(db);
	cr_assert_eq(fclose(f), 0);
	return out;
}

/* The server's request log: an array of {"path", "t", ...}; decref it. */
static json_t *server_log(void)
{
	long status = 0;
	char *body = hf_get(&srv, "/_log", &status);
	json_error_t e;
	json_t *log;

	cr_assert_not_null(body, "no /_log");
	cr_assert_eq(status, 200);
	log = json_loads(body, 0, &e);
	cr_assert(json_is_array(log), "/_log: %s", body);
	free(body);
	return log;
}

/* The arrival time of the request for page p (/items), -1 if none. */
static double asked_at(json_t *log, long p)
{
	char want[32];
	size_t i;
	json_t *e;

	snprintf(want, sizeof want, "page=%ld&", p);
	json_array_foreach(log, i, e) {
		const char *path = json_string_value(json_object_get(e, "path"));

		if (path && strncmp(path, "/items?", 7) == 0 &&
		    strstr(path, want) != NULL)
			return json_number_value(json_object_get(e, "t"));
	}
	return -1;
}

/* The highest page of /items the server was asked for. */
static long last_page_asked(json_t *log)
{
	long last = 0;
	size_t i;
	json_t *e;

	json_array_foreach(log, i, e) {
		const char *path = json_string_value(json_object_get(e, "path"));
		const char *p = path ? strstr(path, "page=") : NULL;

		if (p && strncmp(path, "/items?", 7) == 0 &&
		    atol(p + 5) > last)
			last = atol(p + 5);
	}
	return last;
}

/*
 * 4 pages of 10 and the empty 5th, 8 at a time: pages 1-4 answer after
 * 1.6 s, 5-8 after 1.64 s.  The first answers free four slots 40 ms
 * before the empty page comes; the round's wait (up to 1.6 s / 8 = 0.2 s)
 * keeps them free, so no page past 8 is ever asked for.  Without it pages
 * 9-12 go out as soon as pages 1-4 are in.  The output is the data set's.
 */
Test(http_end, pages_past_the_round_wait_for_its_answers)
{
	const char *const args[] = { "-q", "-c", "p.conf", NULL };
	char *out, *want = oracle(40);
	json_t *log;

	conf("@@/items?page={page}&per_page=10&total=40&delay=1600&"
	     "slow=5:1640,6:1640,7:1640,8:1640", "concurrency = 8\n");
	run_ok(args);
	out = tu_get(dir, "out.csv");
	cr_assert_str_eq(out, want);
	free(out);
	free(want);
	log = server_log();
	cr_assert_eq(last_page_asked(log), 8, "pages up to %ld were asked "
		     "for", last_page_asked(log));
	json_decref(log);
}

/*
 * Page 2 of 20 answers after 3 s, the others after 0.2 s, 4 at a time: the
 * pages after the first round are asked for while page 2 is still on its
 * way (before its 3 s are up on the server's clock), not after it.
 */
Test(http_end, a_slow_page_holds_the_next_ones_back_briefly)
{
	const char *const args[] = { "-q", "-c", "p.conf", NULL };
	double t2, t5;
	json_t *log;

	conf("@@/items?page={page}&per_page=10&total=200&delay=200&"
	     "slow=2:3000", "concurrency = 4\n");
	run_ok(args);
	log = server_log();
	t2 = asked_at(log, 2);
	t5 = asked_at(log, 5);
	cr_assert(t2 >= 0 && t5 >= 0);
	cr_assert_lt(t5, t2 + 3.0, "page 5 was asked for %.3f s after page 2, "
		     "not before page 2's answer", t5 - t2);
	cr_assert_eq(last_page_asked(log) >= 21, true);
	json_decref(log);
}

/*
 * The waits of a run add up to an eighth of its first round's time: here
 * round 1 (pages 1-4, page 4 answering late) waits the whole of it, 0.2 s,
 * so round 2 (pages 5-7) waits no more: pages 8 and 9 are asked for as
 * soon as 5 and 6 are in, before page 7's answer 0.15 s later.  A wait of
 * its own would hold them until page 7 came.
 */
Test(http_end, the_waits_of_a_run_are_bounded_in_all)
{
	const char *const args[] = { "-q", "-c", "p.conf", NULL };
	double t7, t8;
	json_t *log;

	conf("@@/items?page={page}&per_page=10&total=80&delay=1600&"
	     "slow=4:4000,7:1750", "concurrency = 4\n");
	run_ok(args);
	log = server_log();
	t7 = asked_at(log, 7);
	t8 = asked_at(log, 8);
	cr_assert(t7 >= 0 && t8 >= 0);
	cr_assert_lt(t8, t7 + 1.75, "page 8 was asked for %.3f s after page 7, "
		     "after page 7's answer", t8 - t7);
	json_decref(log);
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
