/*
 * http_state.h - the state of one run of the http provider, shared by its
 * rooms: http.c (the run and --check), http_fetch.c (the transfers),
 * http_page.c (pagination and resume tokens), http_records.c (bodies into
 * records).  No other file includes it.
 *
 * Work is a sequence of jobs - one request each - numbered in the order
 * their records must be emitted.  The jobs live in a window of
 * 2 * concurrency slots indexed by sequence number: up to `concurrency`
 * transfers in flight, while responses that arrived before an earlier,
 * slower page wait in the window.
 *
 * Job states (the function that makes each transition):
 *
 *   QUEUED --(issue: slot, rate token, due time; a new page also waits
 *             while the last round's answers are coming in)--> RUNNING
 *   RUNNING --(2xx, parsed)--> DONE
 *   RUNNING --(connection error, 5xx, 408, 429, not JSON)--> QUEUED (retry)
 *                                                    \-> FAILED (no tries left)
 *   RUNNING --(other 4xx, too big, ...)--> FAILED
 *   any --(an earlier page of its url was empty)--> SKIPPED (a transfer
 *             past the last url's end runs on until the cleanup)
 *   DONE, FAILED, SKIPPED --(emitted or dropped)--> FREE
 *
 * http_fetch.c makes the first four (http_fetch_issue(), and job_finish()
 * as transfers are collected), http_page_done() the SKIPPED one, and
 * http_job_release() the last.
 *
 * Memory: a struct http owns everything it points to (freed by http.c's
 * close_all); a job owns its target, doc and next, and keeps its body and
 * link buffers across the jobs of its slot.
 */
#ifndef AGG_HTTP_STATE_H
#define AGG_HTTP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include "../common/buf.h"
#include "http_conf.h"
#include "jsonptr.h"
#include "provider.h"

/* Room for a URL in messages, for a reason, and for a whole message. */
#define HTTP_URL_PUB_MAX 512
#define HTTP_WHY_MAX 400
#define HTTP_MSG_MAX 1024

enum job_state {
	JOB_FREE = 0,
	JOB_QUEUED,     /* waiting to be sent: first time, or a retry */
	JOB_RUNNING,    /* a transfer in flight */
	JOB_DONE,       /* response parsed, records waiting to be emitted */
	JOB_FAILED,     /* failed for good: fails the provider when reached */
	JOB_SKIPPED,    /* past the last page of its url: dropped when
			   reached */
};

struct easy {
	CURL *h;
	char err[CURL_ERROR_SIZE];
};

struct http;
struct http_field;
struct http_fast;

struct job {
	struct http *h;
	enum job_state state;
	int url;                /* index in p->urls */
	long page;              /* page number (page), page count (others) */
	char *target;           /* the URL requested, owned */
	int tries;              /* requests sent so far */
	uint64_t due_us;        /* QUEUED: not before this time */
	uint64_t round;         /* RUNNING: the round that started it (0: a
				   retry, in none) */
	struct easy *easy;      /* RUNNING: its transfer */
	struct buf body;        /* kept across jobs of this slot */
	struct buf link;        /* Link header values, ", "-joined */
	long retry_after_ms;    /* from the last response, -1: none */
	bool too_big;           /* the body passed max_response */
	bool oom;               /* the body could not be stored */
	json_t *doc;            /* DONE, json: the parsed body */
	bool marked;            /* DONE, json: doc holds invalid UTF-8 marks */
	json_t *records;        /* DONE, json: the array (borrowed), or NULL */
	bool fast;              /* DONE, json: read by the page scanner
				   (http_jpage.h), doc NULL: */
	struct buf spans;       /* ... each record's [start, end) in body,
				   size_t pairs; kept across jobs */
	bool cur_found;         /* ... the cursor's value at body[cur_off, */
	size_t cur_off, cur_len; /* cur_off + cur_len) */
	size_t nrecords;        /* DONE: records (json) or lines (ndjson) */
	char *next;             /* DONE, cursor/link: next URL, NULL: the end */
	enum prov_status fail;  /* FAILED: how */
	char msg[HTTP_MSG_MAX]; /* FAILED: why */
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
	char *gen_next;         /* cursor/link: its URL, NULL: the url's
				   start */
	bool gen_ready;         /* cursor/link: the previous job is done */
	int finished_url;       /* page: urls <= this one are finished */

	/*
	 * The last round: the new jobs one http_fetch_issue() call started
	 * together (pagination = page), whose answers come together.
	 */
	uint64_t round;         /* its number, 0: none yet */
	int round_left;         /* its transfers still in flight */
	uint64_t round_start_us; /* when it started */
	uint64_t round_first_us; /* its first answer, 0: none yet */
	uint64_t round_end_us;  /* its last transfer left, 0: not yet */
	uint64_t hold_left_us;  /* what the run may still wait for rounds
				   (UINT64_MAX: not known before the first
				   round's first answer) */
	uint64_t hold_us;       /* new pages wait for the round until then
				   (0: they do not); not a heartbeat's
				   reason, unlike wake_us */

	double tokens;          /* rate limit bucket */
	uint64_t tokens_us;
	uint64_t wake_us;       /* when something blocked may start, 0: never */
	bool progress;          /* the last round changed something */
	bool received;          /* bytes arrived since the last heartbeat */

	/* The last retry logged, and how many like it were not (yet). */
	int quiet_kind;         /* its retry_kind() */
	char quiet_why[HTTP_WHY_MAX];
	uint64_t quiet_since_us;  /* when it was logged, 0: none */
	unsigned long quiet_n;

	struct jsonptr recptr;  /* `records` */
	struct jsonptr curptr;  /* `cursor_path` */
	struct http_field *fields;
	struct rec_value *vals;
	struct http_fast *fast; /* the one-pass reader of NDJSON lines and
				   of a JSON page's records (http_records.c) */
	unsigned seed;          /* backoff jitter */
	char *since_q;          /* since_field: {since} in a url (URL-encoded),
				   NULL: none */
	char *body;             /* the body to send, {since} replaced; NULL:
				   the configured one */
	char *run_since;        /* since_field: what this run reads after */
	bool since_on;          /* since_field is set */
	struct jsonptr sinceptr; /* since_field */
	json_t *since_max;      /* the greatest since_field emitted, with
				   the run's before it; NULL: none yet */
};

/* The job with sequence number seq (in the window: head <= seq < tail). */
static inline struct job *http_job_at(struct http *h, uint64_t seq)
{
	return &h->win[seq % h->wcap];
}

/* Blank in HTTP's sense (header values, NDJSON lines, Link headers). */
static inline bool http_is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

#endif
