/*
 * httpfix.c - the fixture HTTP server, seen from a test (see httpfix.h).
 *
 * The server is a child process: fork, exec python3 with a pipe on its
 * stdin (closing it stops the server) and one on its stdout (its first
 * line is the port).  Both of our ends are close-on-exec so that the
 * aggregate binary a test runs never inherits them.
 */
#include "httpfix.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "testutil.h"

/* How long the server may take to print its port (ms). */
#define START_TIMEOUT_MS 20000

static const char *python(void)
{
	const char *p = getenv("AGG_PYTHON");

	if (p && *p)
		return p;
	if (access("/usr/bin/python3", X_OK) == 0)
		return "/usr/bin/python3";
	return "python3";
}

/* Read the first line of fd (the port) within the timeout. */
static int read_port(int fd)
{
	char line[32];
	size_t n = 0;

	while (n + 1 < sizeof line) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t got;
		int rc = poll(&p, 1, START_TIMEOUT_MS);

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return -1;
		got = read(fd, line + n, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		if (line[n] == '\n') {
			line[n] = '\0';
			return atoi(line);
		}
		n++;
	}
	return -1;
}

static int start(struct hf_server *s, bool tls)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	char *script = NULL, *datadir = NULL;
	pid_t pid;
	int rc = -1;

	memset(s, 0, sizeof *s);
	s->stdin_fd = -1;
	script = tu_path(tu_srcdir(), "tests/fixtures/httpd.py");
	datadir = tu_path(tu_srcdir(), "tests/data/http");
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		perror("httpfix: pipe");
		goto out_close;
	}
	pid = fork();
	if (pid < 0) {
		perror("httpfix: fork");
		goto out_close;
	}
	if (pid == 0) {
		/* dup2 clears close-on-exec on the copies. */
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		execlp(python(), python(), script, "--datadir", datadir,
		       tls ? "--tls" : (char *)NULL, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	in[0] = -1;
	close(out[1]);
	out[1] = -1;
	s->pid = pid;
	s->stdin_fd = in[1];
	in[1] = -1;
	s->port = read_port(out[0]);
	if (s->port <= 0) {
		fprintf(stderr, "httpfix: %s did not start\n", script);
		hf_stop(s);
		goto out_close;
	}
	snprintf(s->base, sizeof s->base, "%s://127.0.0.1:%d",
		 tls ? "https" : "http", s->port);
	rc = 0;
out_close:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	free(script);
	free(datadir);
	return rc;
}

int hf_start(struct hf_server *s)
{
	return start(s, false);
}

int hf_start_tls(struct hf_server *s)
{
	return start(s, true);
}

void hf_stop(struct hf_server *s)
{
	int status;

	if (s->stdin_fd >= 0)
		close(s->stdin_fd);
	s->stdin_fd = -1;
	if (s->pid > 0) {
		/* EOF on stdin stops it too; SIGTERM makes it not wait. */
		kill(s->pid, SIGTERM);
		while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	s->pid = 0;
}

char *hf_url(const struct hf_server *s, const char *path)
{
	char *u;

	if (asprintf(&u, "%s%s", s->base, path) < 0)
		abort();
	return u;
}

struct body {
	char *p;
	size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *ud)
{
	struct body *b = ud;
	char *p = realloc(b->p, b->len + size * n + 1);

	if (p == NULL)
		return 0;
	memcpy(p + b->len, ptr, size * n);
	b->p = p;
	b->len += size * n;
	b->p[b->len] = '\0';
	return size * n;
}

char *hf_get(const struct hf_server *s, const char *path, long *status)
{
	struct body b = { NULL, 0 };
	char *url = hf_url(s, path);
	CURL *e = curl_easy_init();
	CURLcode rc = CURLE_FAILED_INIT;

	*status = 0;
	if (e != NULL) {
		curl_easy_setopt(e, CURLOPT_URL, url);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 20000L);
		/* The TLS fixture's certificate is self-signed. */
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
		rc = curl_easy_perform(e);
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
		curl_easy_cleanup(e);
	}
	free(url);
	if (rc != CURLE_OK) {
		free(b.p);
		return NULL;
	}
	if (b.p == NULL)
		b.p = calloc(1, 1);
	return b.p;
}

/* The /_stats document, parsed; NULL on error. */
static json_t *stats(const struct hf_server *s)
{
	long status;
	char *body = hf_get(s, "/_stats", &status);
	json_t *doc = NULL;

	if (body != NULL && status == 200)
		doc = json_loads(body, 0, NULL);
	free(body);
	return doc;
}

long hf_stat(const struct hf_server *s, const char *name)
{
	json_t *doc = stats(s);
	json_t *v = doc ? json_object_get(doc, name) : NULL;
	long n = json_is_integer(v) ? (long)json_integer_value(v) : -1;

	json_decref(doc);
	return n;
}

long hf_hits(const struct hf_server *s, const char *path)
{
	json_t *doc = stats(s);
	json_t *hits = doc ? json_object_get(doc, "hits") : NULL;
	json_t *v;
	long n = -1;

	if (hits != NULL) {
		v = json_object_get(hits, path);
		n = json_is_integer(v) ? (long)json_integer_value(v) : 0;
	}
	json_decref(doc);
	return n;
}
