/*
 * test_hostile.c - hostile input, end to end through the real binary.
 *
 * Each case feeds one provider something built to hurt (a line of a
 * gigabyte, a million columns, NUL bytes, invalid UTF-8, JSON nested
 * 100,000 deep, a body past max_response, a server that drips its answer,
 * a file that is not a database, columns of the wrong type) next to a
 * healthy provider in the same run.  Every case checks:
 *   - a clear reject or error naming the source (file:line, provider,
 *     page, row);
 *   - bounded memory: the runs set memory_limit (RLIMIT_AS of each
 *     provider) well below the size of the hostile input (not in the
 *     sanitizer build, AGG_TEST_SCALE=asan: ASan reserves terabytes of
 *     address space for its shadow memory, so RLIMIT_AS cannot apply;
 *     that build checks the same runs for memory errors and leaks);
 *   - the healthy provider's records all reach the output;
 *   - the JSON outputs (output and reject file) are valid UTF-8.
 * The limits are those of docs/design.md "Hostile input".
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "helpers/httpfix.h"
#include "helpers/testutil.h"

static char *dir;
static struct hf_server srv;

static void setup(void)
{
	tu_watchdog(300);
	dir = tu_tmpdir();
}

static void teardown(void)
{
	hf_stop(&srv);
	tu_tmpdir_free(&dir);
}

TestSuite(hostile, .init = setup, .fini = teardown);

/* The healthy provider every run has: five records, ids 100-104. */
#define GOOD_PROVIDER "[provider good]\ntype = file\npath = good.csv\n"

/* Write name in the test folder from len bytes (NUL bytes allowed). */
static void put_file(const char *name, const void *data, size_t len)
{
	char *p = tu_path(dir, name);
	FILE *f = fopen(p, "wb");

	cr_assert_not_null(f, "cannot write %s", p);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	free(p);
}

static void put_text(const char *name, const char *text)
{
	put_file(name, text, strlen(text));
}

/* p.conf: [aggregate] (with agg lines), the healthy provider, then provs. */
static void conf(const char *agg, const char *provs)
{
	const char *limit = getenv("AGG_TEST_SCALE") ? "" : "memory_limit = 256M\n";
	char *text;

	put_text("good.csv", "id,name\n100,g0\n101,g1\n102,g2\n103,g3\n104,g4\n");
	cr_assert(asprintf(&text, "[aggregate]\noutput = out.jsonl\n"
			   "fields = id:int, name:text\nbackoff = 10ms\n"
			   "reject_file = rejects.jsonl\nmax_rejects = 10\n"
			   "%s%s\n" GOOD_PROVIDER "%s", limit, agg, provs) > 0);
	put_text("p.conf", text);
	free(text);
}

static int run(struct tu_result *r)
{
	const char *args[] = { "-c", "p.conf", NULL };

	return tu_run(r, dir, args, NULL);
}

static char *get(const char *name)
{
	return tu_get(dir, name);
}

/* True when s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
static bool utf8_ok(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 3, cp = c & 0x07;
		else
			return false;
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return false;
		i += n + 1;
	}
	return true;
}

/* Count of non-overlapping occurrences of needle in s. */
static int count(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/*
 * The output exists, is valid UTF-8 with no NUL byte, holds all five
 * healthy records and `expected` records of provider `name`; the reject
 * file (if any) is valid UTF-8 too.  Returns the reject file's text
 * ("" when there is none; free() it).
 */
static char *check_outputs(const char *name, int expected)
{
	char key[128];
	size_t len;
	char *p = tu_path(dir, "out.jsonl");
	char *out = tu_read(p, &len);
	char *rej;

	free(p);
	cr_assert_not_null(out, "no output written");
	cr_assert_eq(strlen(out), len, "NUL byte in the output");
	cr_assert(utf8_ok((const unsigned char *)out, len),
		  "output is not UTF-8:\n%s", out);
	cr_assert_eq(count(out, "\"provider\":\"good\""), 5,
		     "the healthy provider lost records:\n%s", out);
	snprintf(key, sizeof key, "\"provider\":\"%s\"", name);
	cr_assert_eq(count(out, key), expected, "%s: expected %d rows:\n%s",
		     name, expected, out);
	free(out);
	p = tu_path(dir, "rejects.jsonl");
	rej = tu_read(p, &len);
	free(p);
	if (rej == NULL)
		return strdup("");
	cr_assert_eq(strlen(rej), len, "NUL byte in the reject file");
	cr_assert(utf8_ok((const unsigned char *)rej, len),
		  "reject file is not UTF-8");
	return rej;
}

/*
 * A file of name: head, then `hole` NUL bytes left as a hole (a sparse
 * file: nothing is written or stored), then tail.
 */
static void put_sparse(const char *name, const char *head, off_t hole,
		       const char *tail)
{
	char *p = tu_path(dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	size_t hl = strlen(head), tl = strlen(tail);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, head, hl), (ssize_t)hl);
	cr_assert_eq(lseek(fd, (off_t)hl + hole, SEEK_SET), (off_t)hl + hole);
	cr_assert_eq(write(fd, tail, tl), (ssize_t)tl);
	cr_assert_eq(close(fd), 0);
	free(p);
}

#define GIB ((off_t)1 << 30)

/* --- files ------------------------------------------------------------ */

Test(hostile, csv_line_of_a_gigabyte_is_one_reject)
{
	struct tu_result r;
	char *rej;

	/* Line 3 is 1 GiB long; the provider may use 256M of address space. */
	put_sparse("big.csv", "id,name\n1,a\n", GIB, "\n2,b\n3,c\n");
	conf("", "[provider big]\ntype = file\npath = big.csv\n");
	run(&r);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	tu_result_free(&r);
	rej = check_outputs("big", 3);
	cr_assert(strstr(rej, "\"position\":\"big.csv:3\"") != NULL, "%.300s",
		  rej);
	cr_assert(strstr(rej, "record larger than 67108864 bytes") != NULL,
		  "%.300s", rej);
	cr_assert_eq(count(rej, "\"provider\":"), 1);
	free(rej);
}

Test(hostile, jsonl_line_of_a_gigabyte_is_one_reject)
{
	struct tu_result r;
	char *rej;

	put_sparse("big.jsonl", "{\"id\":1,\"name\":\"a\"}\n", GIB,
		   "\n{\"id\":2,\"name\":\"b\"}\n");
	conf("", "[provider big]\ntype = file\npath = big.jsonl\n");
	run(&r);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	tu_result_free(&r);
	rej = check_outputs("big", 2);
	cr_assert(strstr(rej, "\"position\":\"big.jsonl:2\"") != NULL,
		  "%.300s", rej);
	cr_assert(strstr(rej, "longer than 67108864 bytes") != NULL, "%.300s",
		  rej);
	free(rej);
}

Test(hostile, csv_million_columns_is_one_reject)
{
	size_t n = 1000000, len = 0;
	char *text = malloc(2 * n + 64), *rej;
	struct tu_result r;

	cr_assert_not_null(text);
	len += (size_t)sprintf(text, "id,name\n1,a\n");
	for (size_t i = 0; i < n; i++)
		text[len++] = ',';
	len += (size_t)sprintf(text + len, "\n2,b\n");
	put_file("wide.csv", text, len);
	free(text);
	conf("", "[provider wide]\ntype = file\npath = wide.csv\n");
	run(&r);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	tu_result_free(&r);
	rej = check_outputs("wide", 2);
	cr_assert(strstr(rej, "\"position\":\"wide.csv:3\"") != NULL, "%.300s",
		  rej);
	cr_assert(strstr(rej, "fields") != NULL, "%.300s", rej);
	free(rej);
}

Test(hostile, nul_bytes_are_rejects)
{
	static const char csv[] = "id,name\n1,a\n2,b\0c\n3,c\n";
	static const char jsonl[] = "{\"id\":1,\"name\":\"a\"}\n"
				    "{\"id\":2,\"name\":\"b\\u0000c\"}\n"
				    "{\"id\":3,\"na\0me\":\"c\"}\n"
				    "{\"id\":4,\"name\":\"d\"}\n";
	struct tu_result r;
	char *rej;

	put_file("nul.csv", csv, sizeof csv - 1);
	put_file("nul.jsonl", jsonl, sizeof jsonl - 1);
	conf("", "[provider nulcsv]\ntype = file\npath = nul.csv\n"
	     "[provider nuljson]\ntype = file\npath = nul.jsonl\n");
	run(&r);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	tu_result_free(&r);
	rej = check_outputs("nulcsv", 2);
	free(rej);
	rej = check_outputs("nuljson", 2);
	cr_assert(strstr(rej, "\"position\":\"nul.csv:3\"") != NULL, "%s", rej);
	cr_assert(strstr(rej, "NUL byte") != NULL, "%s", rej);
	cr_assert(strstr(rej, "\"position\":\"nul.jsonl:2\"") != NULL, "%s",
		  rej);
	cr_assert(strstr(rej, "\"position\":\"nul.jsonl:3\"") != NULL, "%s",
		  rej);
	/* The raw text is kept, escaped: never a raw NUL in JSON. */
	cr_assert(strstr(rej, "b\\u0000c") != NULL, "%s", rej);
	free(rej);
}

Test(hostile, invalid_utf8_never_reaches_json_output)
{
	static const char csv[] = "id,name\n1,a\n2,b\xff\xfe" "c\n3,\xc3\xa9t\xc3\xa9\n"
				  "4,\xed\xa0\x80\n5,\xc0\xaf\n";
	static const char jsonl[] = "{\"id\":1,\"name\":\"a\"}\n"
				    "{\"id\":2,\"name\":\"b\xff" "c\"}\n"
				    "{\"id\":3,\"name\":\"c\"}\n";
	struct tu_result r;
	char *out, *rej;

	put_file("bad.csv", csv, sizeof csv - 1);
	put_file("bad.jsonl", jsonl, sizeof jsonl - 1);
	conf("", "[provider badcsv]\ntype = file\npath = bad.csv\n"
	     "[provider badjson]\ntype = file\npath = bad.jsonl\n");
	run(&r);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	tu_result_free(&r);
	/* 1 and 3 (valid two-byte UTF-8) pass; a surrogate and an
	 * overlong encoding are invalid UTF-8 as much as \xff. */
	rej = check_outputs("badcsv", 2);
	free(rej);
	rej = check_outputs("badjson", 2);
	cr_assert(strstr(rej, "\"position\":\"bad.csv:3\"") != NULL, "%s", rej);
	cr_assert(strstr(rej, "\"position\":\"bad.csv:5\"") != NULL, "%s", rej);
	cr_assert(strstr(rej, "\"position\":\"bad.csv:6\"") != NULL, "%s", rej);
	cr_assert(strstr(rej, "invalid UTF-8") != NULL, "%s", rej);
	cr_assert(strstr(rej, "\"position\":\"bad.jsonl:2\"") != NULL, "%s",
		  rej);
	free(rej);
	out = get("out.jsonl");
	cr_assert(strstr(out, "\"name\":\"\xc3\xa9t\xc3\xa9\"") != NULL, "%s", out);
	free(out);
}

/* big.csv: ids 1 and 3 short, id 2 with a name of n bytes ('a' + k % 26). */
static char *put_big_csv(size_t n)
{
	char *name = malloc(n + 1), *text;

	cr_assert_not_null(name);
	for (size_t k = 0; k < n; k++)
		name[k] = (char)('a' + k % 26);
	name[n] = '\0';
	cr_assert(asprintf(&text, "id,name\n1,x\n2,%s\n3,y\n", name) > 0);
	put_text("big.csv", text);
	free(text);
	return name;
}

/*
 * A record larger than the frames records usually travel in (256 KiB)
 * passes whole; one larger than the largest frame of the ring (a quarter
 * of ring_size) fails, saying which ring_size fits it, and that one does.
 */
Test(hostile, record_as_large_as_ring_size_allows)
{
	struct tu_result r;
	char *name, *out, *want;

	/* 300 KiB: more than a usual frame, less than 1 MiB (4M / 4). */
	name = put_big_csv(300 * 1024);
	conf("", "[provider big]\ntype = file\npath = big.csv\n");
	run(&r);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	tu_result_free(&r);
	free(check_outputs("big", 3));
	out = get("out.jsonl");
	cr_assert(asprintf(&want, "\"name\":\"%s\"", name) > 0);
	cr_assert(strstr(out, want) != NULL, "the large record is not whole");
	free(want);
	free(out);
	free(name);

	/* 1.1 MiB: past the default ring's largest frame. */
	name = put_big_csv(1100 * 1024);
	conf("on_error = partial\n",
	     "[provider big]\ntype = file\npath = big.csv\n");
	run(&r);
	cr_assert_eq(r.status, 2, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "provider=big failed") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "record of 1126") != NULL &&
		  strstr(r.err, "larger than the largest frame (1048576 "
			 "bytes, a quarter of the 4M ring); ring_size = 8M "
			 "would fit it") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "restarted") == NULL, "%s", r.err);
	tu_result_free(&r);

	conf("ring_size = 8M\n",
	     "[provider big]\ntype = file\npath = big.csv\n");
	run(&r);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	tu_result_free(&r);
	free(check_outputs("big", 3));
	out = get("out.jsonl");
	cr_assert(asprintf(&want, "{\"provider\":\"big\",\"id\":2,"
			   "\"name\":\"%s\"}", name) > 0);
	cr_assert(strstr(out, want) != NULL, "the large record is not whole");
	free(want);
	free(out);
	free(name);
}

/* A JSON value nested depth deep: [[[...]]] inside {"id":1,"name":...}. */
static char *deep_json(size_t depth)
{
	char *s = malloc(2 * depth + 64);
	size_t n;

	cr_assert_not_null(s);
	n = (size_t)sprintf(s, "{\"id\":1,\"name\":");
	memset(s + n, '[', depth);
	n += depth;
	memset(s + n, ']', depth);
	n += depth;
	strcpy(s + n, "}");
	return s;
}

Test(hostile, json_nested_100000_deep)
{
	char *deep = deep_json(100000), *text, *rej;
	struct tu_result r;

	cr_assert(asprintf(&text, "{\"id\":1,\"name\":\"a\"}\n%s\n"
			   "{\"id\":3,\"name\":\"c\"}\n", deep) > 0);
	put_text("deep.jsonl", text);
	free(text);
	free(deep);
	conf("", "[provider deep]\ntype = file\npath = deep.jsonl\n");
	run(&r);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	tu_result_free(&r);
	rej = check_outputs("deep", 2);
	cr_assert(strstr(rej, "\"position\":\"deep.jsonl:2\"") != NULL,
		  "%.300s", rej);
	cr_assert(strstr(rej, "depth") != NULL, "%.300s", rej);
	free(rej);
}

/* --- http -------------------------------------------------------------- */

static void start_http(void)
{
	cr_assert_eq(hf_start(&srv), 0, "the fixture server did not start");
}

/* An http provider named name on base + path, with extra lines. */
static char *http_prov(const char *name, const char *path, const char *extra)
{
	char *s;

	cr_assert(asprintf(&s, "[provider %s]\ntype = http\nurl = %s%s\n"
			   "records = /items\nmap = name=/name\n%s\n", name,
			   srv.base, path, extra) > 0);
	return s;
}

Test(hostile, http_json_nested_100000_deep)
{
	struct tu_result r;
	char *prov, *rej;

	start_http();
	/* Default retries and restarts: none may be spent on it, since the
	 * same body would come again. */
	prov = http_prov("deep", "/items?page=1&deep=100000", "");
	conf("on_error = partial\n", prov);
	free(prov);
	run(&r);
	cr_assert_eq(r.status, 2, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "provider=deep") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "/items page 1") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "maximum parsing depth") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "retrying") == NULL, "%s", r.err);
	cr_assert(strstr(r.err, "restarted") == NULL, "%s", r.err);
	tu_result_free(&r);
	rej = check_outputs("deep", 0);
	free(rej);
}

Test(hostile, http_body_past_max_response_fails_only_its_provider)
{
	struct tu_result r;
	char *provs, *a, *b, *rej;

	start_http();
	/* 8 MB of padding against a 64K limit; a healthy http provider too. */
	a = http_prov("huge", "/items?page=1&pad=8000000", "max_response = 64K\n");
	b = http_prov("fine", "/items?page=1&per_page=7&total=7",
		      "max_response = 64K\n");
	cr_assert(asprintf(&provs, "%s%s", a, b) > 0);
	conf("on_error = partial\n", provs);
	free(a);
	free(b);
	free(provs);
	run(&r);
	cr_assert_eq(r.status, 2, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "provider=huge") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "/items page 1: response larger than "
			 "max_response") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "provider=huge restarted") == NULL, "%s", r.err);
	tu_result_free(&r);
	rej = check_outputs("fine", 7);
	free(rej);
}

/*
 * Invalid UTF-8 in one record of a JSON page is that record's reject, as
 * the same bytes are in a JSON Lines file: no retry, the page's other
 * records arrive.  Bytes outside any string still make the page not JSON.
 */
Test(hostile, http_invalid_utf8_in_a_record_is_one_reject)
{
	struct tu_result r;
	char *prov, *rej, *out;

	start_http();
	prov = http_prov("bad", "/items?page=1&bad_utf8=1", "");
	conf("", prov);
	free(prov);
	run(&r);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "retrying") == NULL, "%s", r.err);
	cr_assert(strstr(r.err, "restarted") == NULL, "%s", r.err);
	tu_result_free(&r);
	cr_assert_eq(hf_hits(&srv, "/items?page=1&bad_utf8=1"), 1);
	rej = check_outputs("bad", 1);
	cr_assert_eq(count(rej, "\n"), 1, "%s", rej);
	cr_assert(strstr(rej, "\"provider\":\"bad\"") != NULL, "%s", rej);
	cr_assert(strstr(rej, "\"position\":\"") != NULL &&
		  strstr(rej, "/items page 1 record 2\"") != NULL, "%s", rej);
	cr_assert(strstr(rej, "\"reason\":\"invalid JSON: unable to decode "
			 "byte 0xff\"") != NULL, "%s", rej);
	/* The raw record, its bad bytes written as U+FFFD. */
	cr_assert(strstr(rej, "b\xef\xbf\xbd\xef\xbf\xbd" "d") != NULL, "%s",
		  rej);
	free(rej);
	out = get("out.jsonl");
	cr_assert(strstr(out, "\"id\":1,\"name\":\"ok\"") != NULL, "%s", out);
	free(out);

	/* NDJSON: the bad line is the reject, even as an unfinished last
	 * line (no newline: not taken for a cut-off transfer). */
	cr_assert(asprintf(&prov, "[provider bad]\ntype = http\nurl = %s"
			   "/ndjson?total=3&bad_utf8=1\nresponse = ndjson\n"
			   "map = name=/name\n", srv.base) > 0);
	conf("", prov);
	free(prov);
	run(&r);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "retrying") == NULL, "%s", r.err);
	tu_result_free(&r);
	cr_assert_eq(hf_hits(&srv, "/ndjson?total=3&bad_utf8=1"), 1);
	rej = check_outputs("bad", 3);
	cr_assert_eq(count(rej, "\n"), 1, "%s", rej);
	cr_assert(strstr(rej, "/ndjson page 1 line 4\"") != NULL, "%s", rej);
	cr_assert(strstr(rej, "invalid JSON: unable to decode byte 0xff") !=
		  NULL, "%s", rej);
	free(rej);

	/* A bad byte between the values: the page is not JSON at all. */
	prov = http_prov("bad", "/items?page=1&bad_utf8=2", "retries = 0\n");
	conf("on_error = partial\nrestart = 0\n", prov);
	free(prov);
	run(&r);
	cr_assert_eq(r.status, 2, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "provider=bad") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "/items page 1") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "response is not JSON") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "0xff") != NULL, "%s", r.err);
	tu_result_free(&r);
	rej = check_outputs("bad", 0);
	free(rej);
}

/* Every log line of a JSON-format run parses as JSON (so is UTF-8). */
static void check_json_log(const char *err)
{
	int lines = 0;

	for (const char *s = err; *s;) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		json_error_t e;
		json_t *v;

		if (len > 0 && s[0] == '{') {
			v = json_loadb(s, len, 0, &e);
			cr_assert_not_null(v, "log line is not JSON (%s): %.*s",
					   e.text, (int)len, s);
			json_decref(v);
			lines++;
		}
		s += len + (nl != NULL);
	}
	cr_assert_gt(lines, 0, "no JSON log line:\n%s", err);
}

Test(hostile, http_error_body_with_invalid_utf8_keeps_json_logs_valid)
{
	const char *args[] = { "-c", "p.conf", "--log-format", "json", NULL };
	struct tu_result r;
	char *prov, *rej;

	start_http();
	prov = http_prov("bad", "/items?page=1&status=400&bad_utf8=1", "");
	conf("on_error = partial\n", prov);
	free(prov);
	tu_run(&r, dir, args, NULL);
	cr_assert_eq(r.status, 2, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "HTTP 400") != NULL, "%s", r.err);
	check_json_log(r.err);
	tu_result_free(&r);
	rej = check_outputs("bad", 0);
	free(rej);
}

Test(hostile, http_drip_is_not_a_stall_but_timeout_applies)
{
	struct tu_result r;
	char *prov, *rej;

	start_http();
	/*
	 * One byte every 10ms of a ~250-byte body: the transfer takes at
	 * least 2.5s, more than twice the stall timeout.  Heartbeats go on
	 * while bytes arrive, so it is no stall: no restart, every record.
	 */
	prov = http_prov("drip", "/items?page=1&per_page=1&total=1&drip=10",
			 "timeout = 60s\n");
	conf("stall_timeout = 1s\n", prov);
	free(prov);
	run(&r);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "restarted") == NULL, "%s", r.err);
	cr_assert(strstr(r.err, "stall") == NULL, "%s", r.err);
	tu_result_free(&r);
	rej = check_outputs("drip", 1);
	free(rej);

	/* The request's timeout bounds the whole transfer, bytes or not. */
	prov = http_prov("drip", "/items?page=1&per_page=1&total=1&drip=10",
			 "timeout = 500ms\nretries = 0\n");
	conf("on_error = partial\nrestart = 0\nstall_timeout = 60s\n", prov);
	free(prov);
	run(&r);
	cr_assert_eq(r.status, 2, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "provider=drip") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "timed out") != NULL, "%s", r.err);
	tu_result_free(&r);
	rej = check_outputs("drip", 0);
	free(rej);
}

/*
 * A server that accepts connections and never answers: a child process
 * listening on a free loopback port, holding every connection open and
 * writing one byte to *acceptfd per connection it accepted.  Returns its
 * pid; it dies with the test.
 */
static pid_t silent_server(int *port, int *acceptfd)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), p[2];
	pid_t pid;

	cr_assert_geq(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(listen(fd, 16), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		for (;;) {
			/* Kept open, never read, never written. */
			if (accept4(fd, NULL, NULL, SOCK_CLOEXEC) >= 0 &&
			    write(p[1], "a", 1) != 1)
				_exit(1);
		}
	}
	close(fd);
	close(p[1]);
	*acceptfd = p[0];
	return pid;
}

/*
 * A server that accepts and never answers is a stall: no byte and no
 * record for stall_timeout, so the provider is killed and restarted, then
 * fails for good, saying so.  The request's timeout (30s) is not what
 * ends it; the healthy provider's records all arrive.
 */
Test(hostile, http_silent_server_is_a_stall)
{
	struct tu_result r;
	char *prov, *rej, got[8];
	int port, acc, status;
	pid_t pid = silent_server(&port, &acc);

	cr_assert(asprintf(&prov, "[provider silent]\ntype = http\n"
			   "url = http://127.0.0.1:%d/items?page=1\n"
			   "records = /items\nmap = name=/name\n"
			   "timeout = 30s\nretries = 0\n", port) > 0);
	conf("on_error = partial\nrestart = 1\nstall_timeout = 1s\n", prov);
	free(prov);
	run(&r);
	cr_assert_eq(r.status, 2, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "provider=silent restarted attempt=2 "
			 "cause=\"stalled: no progress for 1s\"") != NULL, "%s",
		  r.err);
	cr_assert(strstr(r.err, "provider=silent failed attempt=2 "
			 "cause=\"stalled: no progress for 1s\"") != NULL, "%s",
		  r.err);
	cr_assert(strstr(r.err, "timed out") == NULL, "%s", r.err);
	tu_result_free(&r);
	/* Both attempts reached the server: it was silent, not absent. */
	cr_assert_eq(read(acc, got, sizeof got), 2);
	kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	close(acc);
	rej = check_outputs("silent", 0);
	free(rej);
}

/* --- sqlite ------------------------------------------------------------ */

Test(hostile, sqlite_file_that_is_not_a_database)
{
	struct tu_result r;
	char *rej;

	put_text("junk.db", "this is not an SQLite database, just text that "
		 "goes on for a while so that the header is complete\n");
	conf("on_error = partial\n", "[provider junk]\ntype = sqlite\n"
	     "path = junk.db\nquery = SELECT id, name FROM t\n");
	run(&r);
	cr_assert_eq(r.status, 2, "exit %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "provider=junk") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "not a database") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "junk.db") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "provider=junk restarted") == NULL, "%s", r.err);
	tu_result_free(&r);
	rej = check_outputs("junk", 0);
	free(rej);
}

Test(hostile, sqlite_columns_of_unexpected_types)
{
	static const char *const sql =
		"CREATE TABLE t (k INTEGER PRIMARY KEY, id ANY, name ANY) STRICT;"
		"INSERT INTO t VALUES (1, 1, 'a');"
		"INSERT INTO t VALUES (2, x'00ff10', 'blob-int');"
		"INSERT INTO t VALUES (3, 1.5, 'float-int');"
		"INSERT INTO t VALUES (4, 2.0, 'integral float');"
		"INSERT INTO t VALUES (5, 'abc', 'text-int');"
		"INSERT INTO t VALUES (6, 6, x'ff00fe');"
		"INSERT INTO t VALUES (7, 1e300, 'huge float');"
		"INSERT INTO t VALUES (8, 8, 'h');";
	struct tu_result r;
	sqlite3 *db;
	char *p = tu_path(dir, "typed.db"), *rej, *out;

	cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s",
		     sqlite3_errmsg(db));
	sqlite3_close(db);
	free(p);
	conf("", "[provider typed]\ntype = sqlite\npath = typed.db\n"
	     "query = SELECT k, id, name FROM t ORDER BY k\nkey = k\n");
	run(&r);
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
	tu_result_free(&r);
	/* Rows 1, 4 (2.0 is an integer) and 8 pass; the others are rejects
	 * naming their key. */
	rej = check_outputs("typed", 3);
	for (int k = 2; k <= 7; k++) {
		char pos[32];

		if (k == 4)
			continue;
		snprintf(pos, sizeof pos, "\"row key=%d\"", k);
		cr_assert(strstr(rej, pos) != NULL, "no reject at %s:\n%s", pos,
			  rej);
	}
	out = get("out.jsonl");
	cr_assert(strstr(out, "\"id\":2,\"name\":\"integral float\"") != NULL,
		  "%s", out);
	free(out);
	free(rej);
}
