/*
 * test_secrets.c - credentials never leave the process (SPEC §3: secrets
 * never appear in logs, errors or metrics).
 *
 * Every run uses configs that hold recognisable secrets in every place a
 * user puts them: an Authorization header from ${VAR}, another header, a
 * token in the URL's query, a password in the URL's user information, a
 * PostgreSQL password as a conninfo keyword and inside a postgresql:// URI.
 * Runs that succeed, fail (401, a server that echoes the request in its
 * error body, unreachable databases, config errors) and --check are made
 * with text and JSON logs, -v, and a metrics file; stdout, stderr, the
 * metrics file and the reject file are searched for each secret.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/httpfix.h"
#include "helpers/pgtest.h"
#include "helpers/testutil.h"

static char *dir;
static struct hf_server srv;

/* --- a PostgreSQL server with a password role (as test_postgres.c) ---- */

PGT_START_BEFORE_ALL()
PGT_STOP_AFTER_ALL()

static void setup(void)
{
	tu_watchdog(120);
	dir = tu_tmpdir();
	cr_assert_eq(hf_start(&srv), 0, "the fixture server did not start");
}

static void teardown(void)
{
	hf_stop(&srv);
	tu_tmpdir_free(&dir);
}

TestSuite(secrets, .init = setup, .fini = teardown);

/* A skipped test does not reach the suite's .fini: clean up first. */
#define skip_test(...) do { teardown(); cr_skip_test(__VA_ARGS__); } while (0)

/* Every secret the configs below hold; none may ever be printed. */
static const char *const secrets[] = {
	"TokA-9f3e1d77c2",      /* Authorization header, from ${AGG_TOKEN} */
	"HdrB-55aa01c4e9",      /* X-Api-Key header */
	"QryC-0be7d2f6a1",      /* ?api_key= in the URL */
	"UsrD-7c1f0e9b3d",      /* https://user:PASSWORD@ in the URL */
	"c29tZW9uZTpVc3JELTdjMWYwZTliM2Q=", /* ... as Basic credentials */
	"PgwE-31d8a6f0c2",      /* conninfo password=... */
	"PgwF-c04e9f17ab",      /* postgresql://user:PASSWORD@... */
	NULL
};

static const char *const env_token[] = { "AGG_TOKEN=TokA-9f3e1d77c2", NULL };

/* One more secret a test may plant (the server's real password). */
static const char *extra_secret;

static void write_conf(const char *text)
{
	char *p = tu_path(dir, "p.conf");

	tu_write(p, text);
	free(p);
}

/* The config: [aggregate] with agg, then the provider sections given. */
static void conf(const char *agg, const char *provs)
{
	char *text;

	cr_assert(asprintf(&text, "[aggregate]\noutput = out.jsonl\n"
			   "fields = id:int, name:text\nbackoff = 10ms\n"
			   "reject_file = rejects.jsonl\n%s\n%s", agg,
			   provs) > 0);
	write_conf(text);
	free(text);
}

/* A file a run may have written; "" when it did not. */
static char *file_text(const char *name)
{
	char *p = tu_path(dir, name);
	char *s = tu_read(p, NULL);

	free(p);
	return s ? s : strdup("");
}

/*
 * Run with args (NULL-terminated) in each log format, plus --metrics, and
 * check that no secret shows anywhere.  Returns the exit status of the
 * text-format run.
 */
static int run_clean(const char *what, ...)
{
	const char *args[24] = { "-c", "p.conf", "--metrics", "m.prom" };
	int n = 4, status = -1;
	va_list ap;

	va_start(ap, what);
	for (const char *a; n < 20 && (a = va_arg(ap, const char *)) != NULL;)
		args[n++] = a;
	va_end(ap);
	for (int json = 0; json < 2; json++) {
		struct tu_result r;
		char *metrics, *rejects;

		args[n] = "--log-format";
		args[n + 1] = json ? "json" : "text";
		args[n + 2] = NULL;
		tu_run(&r, dir, args, env_token);
		if (!json)
			status = r.status;
		/* The run must have said something: a test that sees no
		 * output cannot prove anything is hidden. */
		cr_assert(r.err[0] || r.out[0], "%s: no output at all", what);
		metrics = file_text("m.prom");
		rejects = file_text("rejects.jsonl");
		for (int i = 0; secrets[i]; i++) {
			cr_assert_null(strstr(r.err, secrets[i]),
				       "%s: %s on stderr:\n%s", what,
				       secrets[i], r.err);
			cr_assert_null(strstr(r.out, secrets[i]),
				       "%s: %s on stdout:\n%s", what,
				       secrets[i], r.out);
			cr_assert_null(strstr(metrics, secrets[i]),
				       "%s: %s in the metrics:\n%s", what,
				       secrets[i], metrics);
			cr_assert_null(strstr(rejects, secrets[i]),
				       "%s: %s in the reject file", what,
				       secrets[i]);
		}
		if (extra_secret != NULL) {
			cr_assert_null(strstr(r.err, extra_secret),
				       "%s: password on stderr:\n%s", what, r.err);
			cr_assert_null(strstr(r.out, extra_secret),
				       "%s: password on stdout:\n%s", what, r.out);
			cr_assert_null(strstr(metrics, extra_secret),
				       "%s: password in the metrics", what);
		}
		free(metrics);
		free(rejects);
		tu_result_free(&r);
	}
	return status;
}

/* An http provider section; extra may add keys. */
static char *http_prov(const char *name, const char *query, const char *extra)
{
	char *s;

	cr_assert(asprintf(&s, "[provider %s]\ntype = http\n"
			   "url = %s/items?page={page}&per_page=5&total=12&"
			   "api_key=QryC-0be7d2f6a1%s\n"
			   "pagination = page\nrecords = /items\n"
			   "header = Authorization: Bearer ${AGG_TOKEN}\n"
			   "header = X-Api-Key: HdrB-55aa01c4e9\n%s\n",
			   name, srv.base, query, extra) > 0);
	return s;
}

Test(secrets, http_success_failure_and_check)
{
	char *ok = http_prov("api", "&auth=TokA-9f3e1d77c2&bad_record=3",
			     "map = id=/qty\n");
	char *text;
	int st;

	/* Succeeds: the token was sent (the server insists on it); record 3
	 * is a reject, so the reject file names the page's URL too. */
	conf("max_rejects = 5\n", ok);
	st = run_clean("http success", "-v", NULL);
	cr_assert_eq(st, 0);
	text = file_text("rejects.jsonl");
	cr_assert(strstr(text, "/items page 1 record 3") != NULL, "%s", text);
	free(text);
	st = run_clean("http --check", "--check", "-v", NULL);
	cr_assert_eq(st, 0);

	/* 401: the server wants another token. */
	free(ok);
	ok = http_prov("api", "&auth=other-token-0000", "");
	conf("restart = 0\n", ok);
	st = run_clean("http 401", "-v", NULL);
	cr_assert_eq(st, 1);
	st = run_clean("http 401 --check", "--check", NULL);
	cr_assert_neq(st, 0);

	/* A server that echoes the request (token included) in its error. */
	free(ok);
	ok = http_prov("api", "&echo=1", "");
	conf("restart = 0\n", ok);
	st = run_clean("http echo", "-v", NULL);
	cr_assert_eq(st, 1);
	st = run_clean("http echo --check", "--check", NULL);
	cr_assert_neq(st, 0);
	free(ok);

	/* User information in the URL, on a page that fails, and on one
	 * whose error echoes the Basic credentials curl made of it. */
	cr_assert(asprintf(&text, "[provider basic]\ntype = http\n"
			   "url = http://someone:UsrD-7c1f0e9b3d@127.0.0.1:%d/"
			   "items?page=1&status=403\nrecords = /items\n",
			   srv.port) > 0);
	conf("restart = 0\n", text);
	st = run_clean("http userinfo", "-v", NULL);
	cr_assert_eq(st, 1);
	free(text);
	cr_assert(asprintf(&text, "[provider basic]\ntype = http\n"
			   "url = http://someone:UsrD-7c1f0e9b3d@127.0.0.1:%d/"
			   "items?page=1&echo=1\nrecords = /items\n",
			   srv.port) > 0);
	conf("restart = 0\n", text);
	st = run_clean("http userinfo echoed", "-v", NULL);
	cr_assert_eq(st, 1);
	free(text);
}

/*
 * A long token echoed many times: the excerpt is cut from a window of the
 * body, which may end inside one copy; no piece of it may show.
 */
Test(secrets, long_token_echoed_many_times)
{
	char token[401], *text, *env;
	const char *envp[2];
	const char *args[] = { "-c", "p.conf", NULL };
	struct tu_result r;

	for (int i = 0; i < 400; i++)
		token[i] = "QZXJKWVPRT0123456789"[i % 20];
	memcpy(token, "LongTok-", 8);
	token[400] = '\0';
	cr_assert(asprintf(&env, "AGG_TOKEN=%s", token) > 0);
	envp[0] = env;
	envp[1] = NULL;
	cr_assert(asprintf(&text, "[provider api]\ntype = http\n"
			   "url = %s/items?page=1&echo=20\nrecords = /items\n"
			   "header = Authorization: Bearer ${AGG_TOKEN}\n",
			   srv.base) > 0);
	conf("restart = 0\n", text);
	free(text);
	tu_run(&r, dir, args, envp);
	cr_assert_eq(r.status, 1, "%s", r.err);
	cr_assert(strstr(r.err, "HTTP 400") != NULL, "%s", r.err);
	cr_assert_null(strstr(r.err, "LongTok"), "a piece of the token:\n%s",
		       r.err);
	tu_result_free(&r);
	free(env);
}

/* The server really did get the secrets (so the runs above had them). */
Test(secrets, the_secrets_reach_the_server)
{
	char *prov = http_prov("api", "&auth=TokA-9f3e1d77c2&echo=1", "");
	struct tu_result r;
	const char *args[] = { "-c", "p.conf", NULL };

	conf("restart = 0\n", prov);
	free(prov);
	tu_run(&r, dir, args, env_token);
	cr_assert_eq(r.status, 1, "%s", r.err);
	/* The message says what went wrong, with the secret blanked out. */
	cr_assert(strstr(r.err, "HTTP 400") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "***") != NULL, "nothing redacted:\n%s", r.err);
	tu_result_free(&r);
}

Test(secrets, postgres_conninfo_failures)
{
	char *text;
	int st;

	/* Keyword form and URI form, to a server that is not there. */
	cr_assert(asprintf(&text,
			   "[provider pgk]\ntype = postgres\n"
			   "conninfo = host=%s/no-such-dir user=someone "
			   "password=PgwE-31d8a6f0c2 dbname=x connect_timeout=2\n"
			   "query = SELECT 1 AS id\n"
			   "[provider pgu]\ntype = postgres\n"
			   "conninfo = postgresql://someone:PgwF-c04e9f17ab@/x?"
			   "host=%s/no-such-dir\n"
			   "query = SELECT 1 AS id\n", dir, dir) > 0);
	conf("restart = 0\non_error = partial\n", text);
	free(text);
	st = run_clean("postgres unreachable", "-v", NULL);
	cr_assert_neq(st, 0);
	st = run_clean("postgres --check", "--check", "-v", NULL);
	cr_assert_neq(st, 0);

	/* Conninfo that libpq cannot parse: a config error (78), and the
	 * provider's own parse when the config accepts it. */
	conf("", "[provider pgbad]\ntype = postgres\n"
	     "conninfo = postgresql://someone:PgwF-c04e9f17ab@host%zz/x\n"
	     "query = SELECT 1 AS id\n");
	st = run_clean("postgres bad URI", NULL);
	cr_assert_eq(st, 78);
	/* Parsed by the config, refused by libpq when connecting. */
	conf("restart = 0\n", "[provider pgbad]\ntype = postgres\n"
	     "conninfo = postgresql://someone:PgwF-c04e9f17ab@host:port/x\n"
	     "query = SELECT 1 AS id\n");
	st = run_clean("postgres bad port", NULL);
	cr_assert_eq(st, 1);
	conf("", "[provider pgbad]\ntype = postgres\n"
	     "conninfo = password=PgwE-31d8a6f0c2 'unterminated\n"
	     "query = SELECT 1 AS id\n");
	st = run_clean("postgres bad keywords", NULL);
	cr_assert_neq(st, 0);
}

Test(secrets, config_errors_never_echo_secrets)
{
	char *prov;
	int st;

	/* A bad value next to a secret key, and a misspelt key. */
	prov = http_prov("api", "", "retries = many\n");
	conf("", prov);
	free(prov);
	st = run_clean("config bad retries", NULL);
	cr_assert_eq(st, 78);

	conf("", "[provider api]\ntype = http\nurl = not a url "
	     "QryC-0be7d2f6a1\nheader = Authorization Bearer TokA-9f3e1d77c2\n");
	st = run_clean("config bad header", NULL);
	cr_assert_eq(st, 78);

	conf("", "[provider pg]\ntype = postgres\nconninfo = host=/tmp "
	     "password=PgwE-31d8a6f0c2\nquery = SELECT 1 AS id\n"
	     "conninfo = password=PgwE-31d8a6f0c2\n");
	st = run_clean("config repeated conninfo", NULL);
	cr_assert_eq(st, 78);

	/* An unset ${VAR} in a header: named, value not needed. */
	conf("", "[provider api]\ntype = http\nurl = http://127.0.0.1:1/x\n"
	     "header = X-Key: ${AGG_NOT_SET_ANYWHERE}\n");
	st = run_clean("config unset variable", NULL);
	cr_assert_eq(st, 78);
}

/* A real server: the right password connects, a wrong one is refused. */
Test(secrets, postgres_right_and_wrong_passwords)
{
	const char *role = getenv("AGG_PG_PASSROLE");
	const char *pw = getenv("AGG_PG_PASSWORD");
	const char *skip = getenv("AGG_PG_SKIP");
	char *text, *out;
	int st;

	if (skip != NULL)
		skip_test("no PostgreSQL server: %s", skip);
	if (role == NULL || pw == NULL || strlen(pw) < 6)
		skip_test("the server has no password role (AGG_PG_PASSROLE)");
	extra_secret = pw;
	cr_assert(asprintf(&text,
			   "[provider pgk]\ntype = postgres\n"
			   "conninfo = user=%s password=%s dbname=aggtest\n"
			   "query = SELECT 1 AS id, 'k' AS name\n"
			   "[provider pgu]\ntype = postgres\n"
			   "conninfo = postgresql://%s:%s@/aggtest\n"
			   "query = SELECT 2 AS id, 'u' AS name\n",
			   role, pw, role, pw) > 0);
	conf("", text);
	free(text);
	st = run_clean("postgres right password", "-v", NULL);
	cr_assert_eq(st, 0);
	out = file_text("out.jsonl");
	cr_assert(strstr(out, "\"provider\":\"pgk\",\"id\":1") != NULL, "%s",
		  out);
	cr_assert(strstr(out, "\"provider\":\"pgu\",\"id\":2") != NULL, "%s",
		  out);
	free(out);
	st = run_clean("postgres right password --check", "--check", "-v", NULL);
	cr_assert_eq(st, 0);

	/* The wrong passwords are the planted secrets. */
	cr_assert(asprintf(&text,
			   "[provider pgk]\ntype = postgres\n"
			   "conninfo = user=%s password=PgwE-31d8a6f0c2 "
			   "dbname=aggtest\nquery = SELECT 1 AS id\n"
			   "[provider pgu]\ntype = postgres\n"
			   "conninfo = postgresql://%s:PgwF-c04e9f17ab@/aggtest\n"
			   "query = SELECT 2 AS id\n", role, role) > 0);
	conf("", text);
	free(text);
	st = run_clean("postgres wrong password", "-v", NULL);
	cr_assert_eq(st, 1);
	st = run_clean("postgres wrong password --check", "--check", NULL);
	cr_assert_neq(st, 0);
	extra_secret = NULL;
}
