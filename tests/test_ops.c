/*
 * test_ops.c - the operator's interface of the aggregate binary, end to
 * end: live progress on a terminal (through a real pseudo-terminal) and
 * never on a pipe; -j/--jobs and --only; text and JSON logs, -q and -v; the
 * Prometheus metrics file; --check for every provider type; the example
 * configs; the man page and `make install`.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "../common/config.h"
#include "helpers/httpfix.h"
#include "helpers/testutil.h"

static char *dir;

static void setup(void)
{
	tu_watchdog(120);
	dir = tu_tmpdir();
}

static void teardown(void)
{
	tu_tmpdir_free(&dir);
}

TestSuite(ops, .init = setup, .fini = teardown);

static void put(const char *name, const char *content)
{
	tu_put(dir, name, content);
}

static void rm(const char *name)
{
	char *p = tu_path(dir, name);

	unlink(p);
	free(p);
}

static char *get(const char *name)
{
	return tu_get(dir, name);
}

/* Run the binary in dir with "-c p.conf" and the extra args. */
static int run(struct tu_result *r, const char *const *env, ...)
{
	const char *args[24] = { "-c", "p.conf" };
	int n = 2;
	va_list ap;

	va_start(ap, env);
	for (const char *a; n < 23 && (a = va_arg(ap, const char *)) != NULL;)
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	return tu_run(r, dir, args, env);
}

/* Three file providers a, b, c of 3, 2 and 1 rows; union into out.csv. */
static void three_providers(const char *extra)
{
	char *text;

	cr_assert(asprintf(&text,
			   "[aggregate]\n"
			   "output = out.csv\n"
			   "fields = id:int, name:text\n"
			   "backoff = 10ms\n"
			   "%s"
			   "[provider a]\ntype = file\npath = a.csv\n"
			   "[provider b]\ntype = file\npath = b.csv\n"
			   "[provider c]\ntype = file\npath = c.csv\n",
			   extra ? extra : "") > 0);
	put("p.conf", text);
	free(text);
	put("a.csv", "id,name\n1,a1\n2,a2\n3,a3\n");
	put("b.csv", "id,name\n4,b1\n5,b2\n");
	put("c.csv", "id,name\n6,c1\n");
}

/* --- progress ---------------------------------------------------------- */

/*
 * Run the binary in dir on a new pseudo-terminal (120 columns) with the
 * args; everything it wrote to the terminal goes to *out.  Returns the exit
 * status.
 */
static int pty_run(char **out, const char *const *args)
{
	struct winsize ws = { .ws_row = 40, .ws_col = 120 };
	const char *argv[24] = { tu_bin() };
	size_t len = 0, cap = 4096;
	int master, status, n = 1;
	pid_t pid;

	for (int i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	*out = malloc(cap);
	cr_assert_not_null(*out);
	pid = forkpty(&master, NULL, NULL, &ws);
	cr_assert_geq(pid, 0, "forkpty: %s", strerror(errno));
	if (pid == 0) {
		if (chdir(dir) < 0)
			_exit(127);
		execv(tu_bin(), (char *const *)argv);
		_exit(127);
	}
	for (;;) {
		ssize_t k;

		if (cap - len < 1024) {
			cap *= 2;
			*out = realloc(*out, cap);
			cr_assert_not_null(*out);
		}
		k = read(master, *out + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break; /* EIO: every process of the run has closed it */
		len += (size_t)k;
	}
	(*out)[len] = '\0';
	close(master);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Start the binary in dir on a new pseudo-terminal; *master reads what it
 * writes.  Returns its pid.
 */
static pid_t pty_start(int *master, const char *const *args)
{
	struct winsize ws = { .ws_row = 40, .ws_col = 120 };
	const char *argv[24] = { tu_bin() };
	int n = 1;
	pid_t pid;

	for (int i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = forkpty(master, NULL, NULL, &ws);
	cr_assert_geq(pid, 0, "forkpty: %s", strerror(errno));
	if (pid == 0) {
		if (chdir(dir) < 0)
			_exit(127);
		execv(tu_bin(), (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Append what master has to *out (len, cap); false at its end. */
static bool pty_read(int master, char **out, size_t *len, size_t *cap)
{
	ssize_t k;

	if (*cap - *len < 1024) {
		*cap = *cap ? *cap * 2 : 4096;
		*out = realloc(*out, *cap);
		cr_assert_not_null(*out);
	}
	do
		k = read(master, *out + *len, *cap - *len - 1);
	while (k < 0 && errno == EINTR);
	if (k <= 0)
		return false;
	*len += (size_t)k;
	(*out)[*len] = '\0';
	return true;
}

/* True when s holds a cursor-up sequence "ESC [ digits A". */
static bool has_cursor_up(const char *s)
{
	for (const char *p = s; (p = strstr(p, "\033[")) != NULL; p += 2) {
		const char *q = p + 2;

		while (*q >= '0' && *q <= '9')
			q++;
		if (q > p + 2 && *q == 'A')
			return true;
	}
	return false;
}

Test(ops, progress_redraws_on_a_terminal_only)
{
	struct tu_result r;
	char *out, *last_erase, *summary;

	three_providers(NULL);
	cr_assert_eq(pty_run(&out, (const char *[]){ "-c", "p.conf", NULL }), 0,
		     "%s", out);
	/* The block: erased, drawn, cursor back up; one line per provider. */
	cr_assert(strstr(out, "\r\033[J") != NULL, "%s", out);
	cr_assert(has_cursor_up(out), "%s", out);
	cr_assert(strstr(out, "\033[J") != NULL);
	for (int i = 0; i < 3; i++) {
		char want[128];

		snprintf(want, sizeof want, "%-20c %-8s %12d records", "abc"[i],
			 "done", 3 - i);
		cr_assert(strstr(out, want) != NULL, "no '%s' in:\n%s", want, out);
	}
	/* The summary comes after the block was erased for the last time. */
	last_erase = NULL;
	for (char *p = out; (p = strstr(p, "\r\033[J")) != NULL; p += 4)
		last_erase = p;
	summary = strstr(out, "provider             status");
	cr_assert(summary != NULL && last_erase < summary, "%s", out);
	cr_assert(strstr(summary, "\033") == NULL, "%s", summary);
	free(out);

	/* --no-progress on a terminal: no escape sequence at all. */
	cr_assert_eq(pty_run(&out, (const char *[]){ "-c", "p.conf",
						     "--no-progress", NULL }), 0);
	cr_assert(strchr(out, '\033') == NULL, "%s", out);
	cr_assert(strstr(out, "provider             status") != NULL, "%s", out);
	free(out);

	/* Rows to the same terminal (-o -): not drawn over them. */
	cr_assert_eq(pty_run(&out, (const char *[]){ "-c", "p.conf", "-o", "-",
						     NULL }), 0);
	cr_assert(strchr(out, '\033') == NULL, "%s", out);
	cr_assert(strstr(out, "a,1,a1\r\n") != NULL, "%s", out);
	free(out);

	/* A pipe (cron): nothing of it, only the log and the summary. */
	cr_assert_eq(run(&r, NULL, NULL), 0, "%s", r.err);
	cr_assert(strchr(r.err, '\033') == NULL, "%s", r.err);
	cr_assert(strstr(r.err, "provider             status") != NULL);
	tu_result_free(&r);

	/* --progress forces it even on a pipe. */
	cr_assert_eq(run(&r, NULL, "--progress", NULL), 0, "%s", r.err);
	cr_assert(has_cursor_up(r.err), "%s", r.err);
	tu_result_free(&r);
}

/*
 * Run an http provider whose page 1 answers at once and page 2 only after
 * a minute (extra: more [aggregate] keys), on a terminal, until its
 * progress line shows page 1's records counted (and, with filtered, a
 * filtered count above 0): they come from the aggregator's CTL_PROGRESS,
 * as the provider has not ended.  Stops the run (SIGTERM: 143) and
 * returns that line (free() it).
 */
static char *slow_api_progress_line(const char *extra, bool filtered)
{
	struct hf_server srv;
	char *conf, *out = NULL, *line, *got = NULL;
	size_t len = 0, cap = 0;
	int master, status;
	pid_t pid;

	cr_assert_eq(hf_start(&srv), 0);
	cr_assert(asprintf(&conf,
			   "[aggregate]\noutput = out.csv\nfields = id:int\n%s"
			   "[provider api]\ntype = http\n"
			   "url = %s/items?page={page}&per_page=10&total=95&slow=2:60000\n"
			   "pagination = page\nrecords = /items\nconcurrency = 2\n",
			   extra ? extra : "", srv.base) > 0);
	put("p.conf", conf);
	free(conf);
	pid = pty_start(&master, (const char *[]){ "-c", "p.conf", NULL });
	while (got == NULL) {
		cr_assert(pty_read(master, &out, &len, &cap),
			  "run ended before progress showed:\n%s", out);
		for (line = out; (line = strstr(line, "api ")) != NULL; line++) {
			unsigned long long n = 0, f = 0;

			if (sscanf(line, "api running %llu records %*f/s  restarts "
				   "%*d  filtered %llu", &n, &f) >= 1 && n > 0 &&
			    (!filtered || f > 0)) {
				got = strndup(line, strcspn(line, "\r\n\033"));
				break;
			}
		}
	}
	kill(pid, SIGTERM);
	while (pty_read(master, &out, &len, &cap))
		;
	close(master);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 143, "%d", status);
	free(out);
	hf_stop(&srv);
	return got;
}

Test(ops, progress_shows_counts_while_a_provider_runs)
{
	char *line = slow_api_progress_line(NULL, false);
	unsigned long long shown = 0;

	cr_assert_eq(sscanf(line, "api running %llu records", &shown), 1, "%s",
		     line);
	cr_assert_eq(shown, 10);
	cr_assert(strstr(line, "filtered") == NULL, "%s", line);
	free(line);
}

/*
 * A provider whose `where` drops records shows the count on its line while
 * it runs: page 1's ids 1-10 under `where = id > 3` are 7 records and 3
 * filtered, told by the aggregator's CTL_PROGRESS before the provider ends.
 */
Test(ops, progress_shows_the_filtered_count_while_a_provider_runs)
{
	char *line = slow_api_progress_line("where = id > 3\n", true);
	unsigned long long shown = 0, filtered = 0;

	cr_assert_eq(sscanf(line, "api running %llu records %*f/s  restarts "
			    "%*d  filtered %llu", &shown, &filtered), 2, "%s",
		     line);
	cr_assert_eq(shown, 7);
	cr_assert_eq(filtered, 3);
	free(line);
}

Test(ops, log_lines_replace_the_progress_block)
{
	char *out, *line;

	TU_REQUIRE_HOOKS(teardown);
	/* A restart logs a warning while the block is on screen. */
	three_providers(NULL);
	setenv("AGG_FAULT", "b:1:after_checkpoint:1", 1);
	cr_assert_eq(pty_run(&out, (const char *[]){ "-c", "p.conf", NULL }), 0,
		     "%s", out);
	unsetenv("AGG_FAULT");
	/* Every log line starts by erasing the block below the cursor. */
	line = strstr(out, " warn provider=b restarted");
	cr_assert_not_null(line, "%s", out);
	cr_assert(line - out >= 24 && strncmp(line - 24, "\r\033[J", 4) == 0,
		  "%s", out);
	free(out);
}

/* --- jobs and --only ----------------------------------------------------- */

/* "S a", "F a", ... for each started / finished event of stderr. */
static char *event_order(const char *err)
{
	char *seq = calloc(1, strlen(err) + 1), *p = seq;
	const char *line = err;

	cr_assert_not_null(seq);
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		const char *prov = strstr(line, "provider=");
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (prov && prov < line + len) {
			char name = prov[9];

			if (strstr(line, " started attempt=") &&
			    strstr(line, " started attempt=") < line + len)
				p += sprintf(p, "S%c ", name);
			else if (strstr(line, " finished records=") &&
				 strstr(line, " finished records=") < line + len)
				p += sprintf(p, "F%c ", name);
		}
		line = nl ? nl + 1 : NULL;
	}
	return seq;
}

/* Most providers running at once according to the event order. */
static int most_at_once(const char *seq)
{
	int now = 0, most = 0;

	for (const char *p = seq; *p; p++) {
		if (*p == 'S' && ++now > most)
			most = now;
		if (*p == 'F')
			now--;
	}
	return most;
}

Test(ops, jobs_limits_providers_running_at_once)
{
	struct tu_result r;
	char *seq, *out1, *out;

	TU_REQUIRE_HOOKS(teardown);
	three_providers(NULL);
	cr_assert_eq(run(&r, NULL, "-v", "-j", "1", NULL), 0, "%s", r.err);
	seq = event_order(r.err);
	cr_assert_str_eq(seq, "Sa Fa Sb Fb Sc Fc ", "%s", r.err);
	free(seq);
	tu_result_free(&r);
	out1 = get("out.csv");

	cr_assert_eq(run(&r, NULL, "-v", "--jobs", "2", NULL), 0, "%s", r.err);
	seq = event_order(r.err);
	cr_assert_eq(strlen(seq), 18, "%s", seq);
	cr_assert_leq(most_at_once(seq), 2, "%s", seq);
	free(seq);
	tu_result_free(&r);
	out = get("out.csv");
	cr_assert_str_eq(out, out1);
	free(out);

	/* Even with restarts the slot is held until the provider is done. */
	cr_assert_eq(run(&r, (const char *[]){ "AGG_FAULT=a:1:after_checkpoint:1",
					       NULL }, "-v", "-j", "1", NULL), 0,
		     "%s", r.err);
	seq = event_order(r.err);
	cr_assert_str_eq(seq, "Sa Sa Fa Sb Fb Sc Fc ", "%s", r.err);
	free(seq);
	tu_result_free(&r);
	out = get("out.csv");
	cr_assert_str_eq(out, out1);
	free(out);
	free(out1);
}

Test(ops, only_runs_just_the_named_providers)
{
	struct tu_result r;
	char *out;

	three_providers(NULL);
	cr_assert_eq(run(&r, NULL, "-v", "--only", "c,a", NULL), 0, "%s", r.err);
	cr_assert(strstr(r.err, "provider=b") == NULL, "%s", r.err);
	tu_result_free(&r);
	out = get("out.csv");
	cr_assert_str_eq(out, "provider,id,name\na,1,a1\na,2,a2\na,3,a3\nc,6,c1\n");
	free(out);
	cr_assert_eq(run(&r, NULL, "--only", "a,zz", NULL), 64);
	cr_assert(strstr(r.err, "zz") != NULL, "%s", r.err);
	tu_result_free(&r);
}

/* --- logs ------------------------------------------------------------- */

Test(ops, json_logs_are_one_object_per_line)
{
	struct tu_result r;
	int lines = 0, warns = 0, summaries = 0, totals = 0, debugs = 0;
	char *copy, *save = NULL;

	TU_REQUIRE_HOOKS(teardown);
	three_providers("reject_file = rejects.jsonl\nmax_rejects = 5\n");
	put("c.csv", "id,name\n6,\"c \"\"quoted\"\" \\\\ name\"\nnope,bad\n");
	cr_assert_eq(run(&r, (const char *[]){ "AGG_FAULT=b:1:after_checkpoint:1",
					       NULL }, "-v", "--log-format",
			 "json", NULL), 0, "%s", r.err);
	copy = strdup(r.err);
	for (char *line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_error_t e;
		json_t *o = json_loads(line, 0, &e);
		const char *level, *event;

		cr_assert_not_null(o, "line %d not JSON (%s): %s", lines + 1,
				   e.text, line);
		cr_assert(json_is_object(o), "%s", line);
		cr_assert(json_is_string(json_object_get(o, "ts")), "%s", line);
		level = json_string_value(json_object_get(o, "level"));
		event = json_string_value(json_object_get(o, "event"));
		cr_assert(level && event, "%s", line);
		warns += strcmp(level, "warn") == 0 &&
			 strcmp(event, "restarted") == 0;
		debugs += strcmp(level, "debug") == 0;
		summaries += strcmp(event, "summary") == 0;
		if (strcmp(event, "total") == 0) {
			totals++;
			cr_assert_str_eq(json_string_value(json_object_get(o,
					 "exit_status")), "0");
		}
		json_decref(o);
		lines++;
	}
	free(copy);
	cr_assert_eq(warns, 1, "%s", r.err);
	cr_assert_geq(debugs, 4, "%s", r.err);
	cr_assert_eq(summaries, 3, "%s", r.err);
	cr_assert_eq(totals, 1, "%s", r.err);
	tu_result_free(&r);
}

Test(ops, quiet_keeps_warnings_and_errors_verbose_adds_debug)
{
	struct tu_result r;
	const char *const fault[] = { "AGG_FAULT=b:1:after_checkpoint:1", NULL };

	TU_REQUIRE_HOOKS(teardown);
	three_providers(NULL);
	cr_assert_eq(run(&r, fault, "-q", NULL), 0, "%s", r.err);
	cr_assert(strstr(r.err, " warn provider=b restarted attempt=2") != NULL,
		  "%s", r.err);
	cr_assert(strstr(r.err, " info ") == NULL, "%s", r.err);
	cr_assert(strstr(r.err, "records/s") == NULL, "no summary:\n%s", r.err);
	tu_result_free(&r);

	cr_assert_eq(run(&r, fault, NULL), 0, "%s", r.err);
	cr_assert(strstr(r.err, " warn provider=b restarted") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, " info provider=a finished records=3") != NULL,
		  "%s", r.err);
	cr_assert(strstr(r.err, " debug ") == NULL, "%s", r.err);
	cr_assert(strstr(r.err, "records/s") != NULL, "%s", r.err);
	tu_result_free(&r);

	cr_assert_eq(run(&r, fault, "-v", NULL), 0, "%s", r.err);
	cr_assert(strstr(r.err, " debug provider=b started attempt=2") != NULL,
		  "%s", r.err);
	tu_result_free(&r);

	/* -q: a failure is still reported. */
	rm("c.csv");
	cr_assert_eq(run(&r, NULL, "-q", NULL), 1, "%s", r.err);
	cr_assert(strstr(r.err, " error provider=c failed") != NULL, "%s", r.err);
	tu_result_free(&r);
}

/* --- metrics ----------------------------------------------------------- */

struct sample {
	char key[256];  /* name{labels} as written */
	char val[64];
};

/*
 * Parse a Prometheus text file strictly enough to fail on mistakes: every
 * sample's metric has HELP and TYPE lines before it, every value is a
 * number.  Returns the samples (n in *n).
 */
static struct sample *parse_prom(const char *text, int *n)
{
	struct sample *s = calloc(256, sizeof *s);
	char typed[64][128];
	int ntyped = 0, helped = 0;
	char *copy = strdup(text), *save = NULL;

	*n = 0;
	cr_assert(text[strlen(text) - 1] == '\n');
	for (char *line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[128], *sp, *end;
		size_t nl;

		if (strncmp(line, "# HELP ", 7) == 0) {
			helped++;
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			char type[32];

			cr_assert_eq(sscanf(line + 7, "%127s %31s", typed[ntyped],
					    type), 2, "%s", line);
			cr_assert(strcmp(type, "gauge") == 0 ||
				  strcmp(type, "counter") == 0, "%s", line);
			ntyped++;
			continue;
		}
		cr_assert(line[0] != '#', "%s", line);
		sp = strrchr(line, ' ');
		cr_assert_not_null(sp, "%s", line);
		nl = strcspn(line, "{ ");
		snprintf(name, sizeof name, "%.*s", (int)nl, line);
		cr_assert(ntyped > 0 && strcmp(typed[ntyped - 1], name) == 0,
			  "sample before its TYPE: %s", line);
		strtod(sp + 1, &end);
		cr_assert(end != sp + 1 && *end == '\0', "value: %s", line);
		snprintf(s[*n].key, sizeof s[*n].key, "%.*s",
			 (int)(sp - line), line);
		snprintf(s[*n].val, sizeof s[*n].val, "%s", sp + 1);
		(*n)++;
	}
	cr_assert_eq(helped, ntyped);
	free(copy);
	return s;
}

static const char *val(const struct sample *s, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (strcmp(s[i].key, key) == 0)
			return s[i].val;
	cr_assert_fail("no sample %s", key);
	return NULL;
}

static bool tmp_left(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".tmp"))
			found = true;
	closedir(d);
	return found;
}

Test(ops, metrics_file_parses_and_keeps_the_last_success)
{
	struct tu_result r;
	struct sample *s;
	char *text, last[64];
	int n;

	TU_REQUIRE_HOOKS(teardown);
	three_providers("reject_file = rejects.jsonl\nmax_rejects = 5\n");
	put("c.csv", "id,name\n6,c1\nnope,bad\n");
	cr_assert_eq(run(&r, (const char *[]){ "AGG_FAULT=b:1:after_checkpoint:1",
					       NULL }, "--metrics", "m.prom",
			 NULL), 0, "%s", r.err);
	tu_result_free(&r);
	text = get("m.prom");
	cr_assert_not_null(text);
	s = parse_prom(text, &n);
	cr_assert_str_eq(val(s, n, "aggregate_provider_records_total{provider=\"a\"}"), "3");
	cr_assert_str_eq(val(s, n, "aggregate_provider_records_total{provider=\"b\"}"), "2");
	cr_assert_str_eq(val(s, n, "aggregate_provider_records_total{provider=\"c\"}"), "1");
	cr_assert_str_eq(val(s, n, "aggregate_provider_rejects_total{provider=\"c\"}"), "1");
	cr_assert_str_eq(val(s, n, "aggregate_provider_restarts_total{provider=\"b\"}"), "1");
	cr_assert_str_eq(val(s, n, "aggregate_provider_restarts_total{provider=\"a\"}"), "0");
	val(s, n, "aggregate_provider_duration_seconds{provider=\"a\"}");
	cr_assert_str_eq(val(s, n, "aggregate_provider_status{provider=\"a\",status=\"ok\"}"), "1");
	cr_assert_str_eq(val(s, n, "aggregate_provider_status{provider=\"a\",status=\"failed\"}"), "0");
	cr_assert_str_eq(val(s, n, "aggregate_run_success"), "1");
	cr_assert_str_eq(val(s, n, "aggregate_run_exit_code"), "0");
	cr_assert_str_eq(val(s, n, "aggregate_run_rows_written"), "6");
	val(s, n, "aggregate_run_duration_seconds");
	snprintf(last, sizeof last, "%s",
		 val(s, n, "aggregate_last_success_timestamp_seconds"));
	cr_assert_str_eq(last, val(s, n, "aggregate_run_timestamp_seconds"));
	cr_assert_gt(strtod(last, NULL), 1e9);
	free(s);
	free(text);
	cr_assert(!tmp_left());

	/* A failed run: written too, the last success kept. */
	rm("c.csv");
	cr_assert_eq(run(&r, NULL, "--metrics", "m.prom", NULL), 1, "%s", r.err);
	tu_result_free(&r);
	text = get("m.prom");
	s = parse_prom(text, &n);
	cr_assert_str_eq(val(s, n, "aggregate_run_success"), "0");
	cr_assert_str_eq(val(s, n, "aggregate_run_exit_code"), "1");
	cr_assert_str_eq(val(s, n, "aggregate_provider_status{provider=\"c\",status=\"failed\"}"), "1");
	cr_assert_str_eq(val(s, n, "aggregate_last_success_timestamp_seconds"), last);
	cr_assert_str_neq(val(s, n, "aggregate_run_timestamp_seconds"), last);
	free(s);
	free(text);

	/* A broken config, with metrics_file from the command line. */
	put("p.conf", "[aggregate]\noutput = out.csv\nfields = id:int\nbogus = 1\n");
	cr_assert_eq(run(&r, NULL, "--metrics", "m.prom", NULL), 78, "%s", r.err);
	tu_result_free(&r);
	text = get("m.prom");
	s = parse_prom(text, &n);
	cr_assert_str_eq(val(s, n, "aggregate_run_exit_code"), "78");
	cr_assert_str_eq(val(s, n, "aggregate_last_success_timestamp_seconds"), last);
	free(s);
	free(text);
	cr_assert(!tmp_left());

	/* metrics_file in the config works the same. */
	three_providers("metrics_file = from-config.prom\n");
	cr_assert_eq(run(&r, NULL, NULL), 0, "%s", r.err);
	tu_result_free(&r);
	text = get("from-config.prom");
	s = parse_prom(text, &n);
	cr_assert_str_eq(val(s, n, "aggregate_run_success"), "1");
	free(s);
	free(text);
}

/* --- --check ------------------------------------------------------------- */

/* The line of provider name in --check's output; NULL if none. */
static char *check_line(const char *out, const char *name)
{
	size_t n = strlen(name);

	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, name, n) == 0 && l[n] == ' ')
			return strndup(l, strcspn(l, "\n"));
	return NULL;
}

static void assert_check(const char *out, const char *name, const char *type,
			 const char *status, const char *msg)
{
	char *line = check_line(out, name), *want;

	cr_assert_not_null(line, "no line for %s:\n%s", name, out);
	cr_assert(asprintf(&want, "%-20s %-8s %s", name, type, status) > 0);
	cr_assert(strncmp(line, want, strlen(want)) == 0, "%s", line);
	cr_assert(strstr(line, msg) != NULL, "want '%s' in: %s", msg, line);
	free(want);
	free(line);
}

Test(ops, check_probes_every_provider_type)
{
	struct hf_server srv;
	struct tu_result r;
	sqlite3 *db;
	char *conf, *p = tu_path(dir, "src.db");

	cr_assert_eq(hf_start(&srv), 0);
	cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
	free(p);
	cr_assert_eq(sqlite3_exec(db, "CREATE TABLE t (id INTEGER, name TEXT);"
				      "INSERT INTO t VALUES (1, 'x')",
				  NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	put("a.csv", "id,name\n1,a\n");
	cr_assert(asprintf(&conf,
			   "[aggregate]\n"
			   "output = out.csv\n"
			   "fields = id:int, name:text\n"
			   "[provider files]\ntype = file\npath = *.csv\n"
			   "[provider nofiles]\ntype = file\npath = none/*.csv\n"
			   "[provider db]\ntype = sqlite\npath = src.db\n"
			   "query = SELECT id, name FROM t ORDER BY id\n"
			   "[provider baddb]\ntype = sqlite\npath = src.db\n"
			   "query = SELECT id, name FROM missing\n"
			   "[provider api]\ntype = http\n"
			   "url = %s/items?page={page}&per_page=10&total=15\n"
			   "pagination = page\nrecords = /items\n"
			   "[provider badapi]\ntype = http\n"
			   "url = %s/items?page={page}&status=404\n"
			   "pagination = page\nrecords = /items\n"
			   "[provider off]\ntype = file\npath = gone.csv\n"
			   "enabled = false\n",
			   srv.base, srv.base) > 0);
	put("p.conf", conf);
	free(conf);

	cr_assert_eq(run(&r, NULL, "--check", NULL), 1, "%s%s", r.out, r.err);
	assert_check(r.out, "files", "file", "ok", "1 file");
	assert_check(r.out, "nofiles", "file", "error", "none/*.csv");
	assert_check(r.out, "db", "sqlite", "ok", "query prepared");
	assert_check(r.out, "baddb", "sqlite", "error", "missing");
	assert_check(r.out, "api", "http", "ok", "HTTP 200");
	assert_check(r.out, "badapi", "http", "error", "HTTP 404");
	assert_check(r.out, "off", "file", "disabled", "");
	tu_result_free(&r);
	cr_assert_null(get("out.csv"));
	/* Only the first page was asked for. */
	cr_assert_eq(hf_hits(&srv, "/items?page=1&per_page=10&total=15"), 1);
	cr_assert_eq(hf_hits(&srv, "/items?page=2&per_page=10&total=15"), 0);

	cr_assert_eq(run(&r, NULL, "--check", "--only", "files,db,api", NULL), 0,
		     "%s%s", r.out, r.err);
	tu_result_free(&r);

	put("p.conf", "[aggregate]\noutput = out.csv\nfields = id:int\n"
		      "[provider x]\ntype = file\npth = a.csv\n");
	cr_assert_eq(run(&r, NULL, "--check", NULL), 78, "%s", r.err);
	cr_assert(strstr(r.err, "p.conf:6") != NULL, "%s", r.err);
	tu_result_free(&r);
	hf_stop(&srv);
}

Test(ops, field_without_a_column_is_a_config_error)
{
	struct tu_result r;
	sqlite3 *db;
	char *p = tu_path(dir, "src.db");

	cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
	free(p);
	cr_assert_eq(sqlite3_exec(db, "CREATE TABLE t (id INTEGER, nam TEXT);"
				      "INSERT INTO t VALUES (1, 'x')",
				  NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	put("a.csv", "id,name\n1,a\n");
	put("b.csv", "id,nme\n2,b\n");
	put("p.conf", "[aggregate]\n"
		      "output = out.csv\n"
		      "fields = id:int, name:text\n"
		      "restart = 3\n"
		      "[provider files]\ntype = file\npath = *.csv\n"
		      "[provider db]\ntype = sqlite\npath = src.db\n"
		      "query = SELECT id, nam FROM t ORDER BY id\n"
		      "[provider good]\ntype = file\npath = a.csv\n");

	/* --check reads each header and prepares each query: exit 78 */
	cr_assert_eq(run(&r, NULL, "--check", NULL), 78, "%s%s", r.out, r.err);
	assert_check(r.out, "files", "file", "error",
		     "b.csv:1: field name: the header has no column \"name\" "
		     "(name one with map = name=COLUMN) (columns: id, nme; did "
		     "you mean \"nme\"?)");
	assert_check(r.out, "db", "sqlite", "error",
		     "field name: the query returns no column \"name\" (name "
		     "one with map = name=COLUMN) (columns: id, nam; did you "
		     "mean \"nam\"?)");
	assert_check(r.out, "good", "file", "ok", "1 file");
	tu_result_free(&r);
	cr_assert_eq(run(&r, NULL, "--check", "--only", "good", NULL), 0,
		     "%s%s", r.out, r.err);
	tu_result_free(&r);

	/* a run fails that provider for good, without restarts: exit 78 */
	cr_assert_eq(run(&r, NULL, "--only", "db", NULL), 78, "%s", r.err);
	cr_assert(strstr(r.err, "error provider=db failed attempt=1 cause=\""
			 "field name: the query returns no column") != NULL,
		  "%s", r.err);
	cr_assert(strstr(r.err, "provider=db restarted") == NULL, "%s", r.err);
	tu_result_free(&r);
	cr_assert_null(get("out.csv"));

	/* with map naming the column, the same config is fine */
	put("p.conf", "[aggregate]\n"
		      "output = out.csv\n"
		      "fields = id:int, name:text\n"
		      "[provider db]\ntype = sqlite\npath = src.db\n"
		      "query = SELECT id, nam FROM t ORDER BY id\n"
		      "map = name=nam\n");
	cr_assert_eq(run(&r, NULL, "--check", NULL), 0, "%s%s", r.out, r.err);
	tu_result_free(&r);
}

/* --- shipped files ------------------------------------------------------ */

Test(ops, example_configs_load)
{
	char *pattern = tu_path(tu_srcdir(), "conf/examples/*.conf");
	const char *want[] = { "http.conf", "postgres.conf", "sqlite.conf",
			       "file.conf" };
	glob_t g;

	setenv("ORDERS_TOKEN", "example-token", 1);
	cr_assert_eq(glob(pattern, 0, NULL, &g), 0, "%s", pattern);
	for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
		bool found = false;

		for (size_t i = 0; i < g.gl_pathc; i++)
			if (strcmp(strrchr(g.gl_pathv[i], '/') + 1, want[k]) == 0)
				found = true;
		cr_assert(found, "conf/examples/%s missing", want[k]);
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct cfg cfg;
		char err[CFG_ERR_MAX];
		int code;

		cr_assert_eq(cfg_load(g.gl_pathv[i], &cfg, err, sizeof err, &code),
			     0, "%s", err);
		cr_assert_gt(cfg.nproviders, 0);
		cfg_free(&cfg);
	}
	globfree(&g);
	free(pattern);
}

Test(ops, man_page_renders_without_warnings)
{
	char *cmd, *out = tu_path(dir, "groff.out"), *text;

	cr_assert(asprintf(&cmd, "groff -man -Tutf8 -ww -z '%s/docs/aggregate.1' "
			   ">'%s' 2>&1", tu_srcdir(), out) > 0);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	text = tu_read(out, NULL);
	cr_assert_str_eq(text, "");
	free(text);
	free(cmd);
	free(out);
	out = tu_path(tu_srcdir(), "docs/aggregate.1");
	text = tu_read(out, NULL);
	free(out);
	cr_assert_not_null(text);
	for (const char *sec = "SYNOPSIS\0OPTIONS\0CONFIGURATION\0EXIT STATUS\0"
			       "FILES\0SIGNALS\0EXAMPLES\0"; *sec;
	     sec += strlen(sec) + 1) {
		char want[64];

		snprintf(want, sizeof want, ".SH %s", sec);
		cr_assert(strstr(text, want) != NULL, "no section %s", sec);
	}
	free(text);
}

Test(ops, make_install_puts_binary_and_man_page)
{
	char *cmd, *bin, *man, *version;

	cr_assert(asprintf(&cmd, "make -s -C '%s' install PREFIX='%s/usr' "
			   "BIN='%s' >/dev/null", tu_srcdir(), dir,
			   tu_bin()) > 0);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	free(cmd);
	bin = tu_path(dir, "usr/bin/aggregate");
	man = tu_path(dir, "usr/share/man/man1/aggregate.1");
	cr_assert_eq(access(bin, X_OK), 0, "%s", bin);
	cr_assert_eq(access(man, R_OK), 0, "%s", man);
	cr_assert(asprintf(&cmd, "'%s' --version >'%s/v.out'", bin, dir) > 0);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	free(cmd);
	version = get("v.out");
	cr_assert(strncmp(version, "aggregate ", 10) == 0, "%s", version);
	free(version);
	free(bin);
	free(man);
}

/* Every word in the NUL-separated list words must be in text. */
static void assert_all_in(const char *text, const char *words, const char *what)
{
	for (const char *w = words; *w; w += strlen(w) + 1)
		cr_assert(strstr(text, w) != NULL, "%s lacks %s", what, w);
}

/* The files that hold a table of config keys (NAME_keys[] = { ... }). */
static const char *const key_tables[] = {
	"common/config.c", "common/config_agg.c", "providers/file_conf.c",
	"providers/sql_conf.c", "providers/http_conf.c",
};

Test(ops, help_and_man_page_cover_every_option_and_key)
{
	static const char opts_help[] =
		"--config\0--output\0--only\0--check\0--jobs\0--progress\0"
		"--no-progress\0--quiet\0--verbose\0--log-format\0--metrics\0"
		"--version\0--help\0";
	static const char opts_man[] =
		"\\-\\-config\0\\-\\-output\0\\-\\-only\0\\-\\-check\0\\-\\-jobs\0"
		"\\-\\-progress\0\\-\\-no\\-progress\0\\-\\-quiet\0\\-\\-verbose\0"
		"\\-\\-log\\-format\0\\-\\-metrics\0\\-\\-version\0\\-\\-help\0";
	struct tu_result r;
	char *path, *man, *src, *p;
	int lines = 0, keys = 0;

	cr_assert_eq(tu_run(&r, dir, (const char *[]){ "--help", NULL }, NULL), 0);
	assert_all_in(r.out, opts_help, "--help");
	cr_assert(strstr(r.out, "examples:\n  aggregate -c") != NULL, "%s", r.out);
	for (p = r.out; *p; p++)
		lines += *p == '\n';
	cr_assert_leq(lines, 30, "--help is %d lines", lines);
	tu_result_free(&r);

	path = tu_path(tu_srcdir(), "docs/aggregate.1");
	man = tu_read(path, NULL);
	free(path);
	cr_assert_not_null(man);
	assert_all_in(man, opts_man, "the man page");

	/*
	 * Every key of the config grammar is documented: the tables of
	 * [aggregate]'s and every provider's keys (config.c), and each
	 * provider type's own (providers/X_conf.c).
	 */
	for (size_t fi = 0; fi < sizeof key_tables / sizeof *key_tables; fi++) {
		path = tu_path(tu_srcdir(), key_tables[fi]);
		src = tu_read(path, NULL);
		free(path);
		cr_assert_not_null(src, "%s", key_tables[fi]);
		for (char *t = src; (t = strstr(t, "_keys[] = {")); ) {
			char *end = strstr(t, "\n};");

			cr_assert_not_null(end);
			for (p = t; (p = strstr(p, "{ \"")) && p < end; ) {
				char key[64], bold[80], *q;

				p += 3;
				q = strchr(p, '"');
				cr_assert_not_null(q);
				snprintf(key, sizeof key, "%.*s", (int)(q - p), p);
				/* ".B key", ".BR key ..." or a comma list: bold. */
				snprintf(bold, sizeof bold, "B %s", key);
				cr_assert(strstr(man, bold) != NULL ||
					  (snprintf(bold, sizeof bold, "BR %s ", key),
					   strstr(man, bold) != NULL) ||
					  (snprintf(bold, sizeof bold, "\" %s ", key),
					   strstr(man, bold) != NULL) ||
					  (snprintf(bold, sizeof bold, "\" %s\n", key),
					   strstr(man, bold) != NULL),
					  "man page lacks the key %s", key);
				keys++;
			}
			t = end;
		}
		free(src);
	}
	cr_assert_gt(keys, 50, "read only %d keys from the key tables", keys);
	free(man);
}

Test(ops, sigterm_while_writing_keeps_the_previous_output)
{
	struct tu_result r;
	char *out;

	TU_REQUIRE_HOOKS(teardown);
	three_providers(NULL);
	put("out.csv", "previous\n");
	/* Test hook: SIGTERM reaches the run after the first row is written. */
	cr_assert_eq(run(&r, (const char *[]){ "AGG_OUT_STOP_AFTER=1", NULL },
			 NULL), 143, "%s", r.err);
	cr_assert(strstr(r.err, "stopped by a signal") != NULL, "%s", r.err);
	tu_result_free(&r);
	out = get("out.csv");
	cr_assert_str_eq(out, "previous\n");
	free(out);
	cr_assert(!tmp_left());
}
