/*
 * httpfix.h - run the fixture HTTP server (tests/fixtures/httpd.py) from a
 * test: start it on a free loopback port, ask it for its counters, stop it.
 *
 * The server exits when its stdin closes, so a test process that dies
 * (crash, failed assertion) takes its server with it.  The pipe ends this
 * side keeps are close-on-exec: programs the test runs do not hold the
 * server open.
 */
#ifndef AGG_HTTPFIX_H
#define AGG_HTTPFIX_H

#include <sys/types.h>

struct hf_server {
	pid_t pid;       /* the python process, 0 when not running */
	int stdin_fd;    /* write end of its stdin */
	int port;
	char base[64];   /* "http://127.0.0.1:PORT" */
};

/*
 * Start the fixture; it serves data sets from tests/data/http under the
 * source folder (tu_srcdir()).  The interpreter is $AGG_PYTHON, else
 * /usr/bin/python3, else python3 from PATH.  Returns 0, or -1 with a
 * message on stderr.
 */
int hf_start(struct hf_server *s);

/*
 * Same, serving HTTPS (base "https://127.0.0.1:PORT") with the self-signed
 * certificate tests/data/http/tls-cert.pem.
 */
int hf_start_tls(struct hf_server *s);

/* Stop the server and reap it.  Safe on a server that is not running. */
void hf_stop(struct hf_server *s);

/* base + path ("/items?page={page}"): free() the result. */
char *hf_url(const struct hf_server *s, const char *path);

/*
 * GET base + path with libcurl; returns the body (NUL-terminated, free()
 * it) and sets *status, or NULL if the request failed.
 */
char *hf_get(const struct hf_server *s, const char *path, long *status);

/* An integer member of /_stats ("requests", "max_inflight", "connections"); -1 on error. */
long hf_stat(const struct hf_server *s, const char *name);

/* Requests the server received for exactly this path (with its query); -1 on error. */
long hf_hits(const struct hf_server *s, const char *path);

#endif
