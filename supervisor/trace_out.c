/*
 * trace_out.c - the run's trace file from the per-process event files
 * (see trace_out.h).
 *
 * Every line of every file is parsed (jansson) before it is kept, so a
 * line a dying process wrote only in part is dropped rather than copied;
 * what is kept is the line as written.  The events are sorted by
 * timestamp, then by the order they were read, which within a file is the
 * order they happened: a B and the E at the same microsecond stay in that
 * order, and the E events added here for spans left open come after every
 * event at their time.
 */
#include "trace_out.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../aggregator/outfile.h"
#include "../common/trace.h"

struct ev {
	uint64_t ts;
	uint64_t seq;           /* read order */
	long pid;
	char ph;
	bool always;            /* kept past the cap: names, lifetimes, ours */
	bool drop;
	bool paired;            /* an async e: its b is the event read at seq */
	uint64_t b_seq;
	char *name;             /* B: to close it; else NULL */
	char *text;             /* the JSON object, one line */
};

/* A process's lifetime as the supervisor recorded it. */
struct life {
	long pid;
	uint64_t end;
	int open;               /* B events not closed yet (the close pass) */
	size_t *stack;          /* their indices in the event list */
	size_t cap;
};

struct merge {
	struct ev *ev;
	size_t n, cap;
	struct life *lives;
	size_t nlives, lives_cap;
	uint64_t seq;
	uint64_t max_ts;
	long self;
	size_t capped;          /* processes that reached TRACE_MAX_EVENTS */
};

static struct life *life_of(struct merge *m, long pid, bool add)
{
	for (size_t i = 0; i < m->nlives; i++)
		if (m->lives[i].pid == pid)
			return &m->lives[i];
	if (!add)
		return NULL;
	if (m->nlives == m->lives_cap) {
		size_t cap = m->lives_cap ? 2 * m->lives_cap : 16;
		struct life *l = realloc(m->lives, cap * sizeof *l);

		if (l == NULL)
			return NULL;
		m->lives = l;
		m->lives_cap = cap;
	}
	m->lives[m->nlives] = (struct life){ .pid = pid };
	return &m->lives[m->nlives++];
}

static int add_event(struct merge *m, const struct ev *e)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 1024;
		struct ev *v = realloc(m->ev, cap * sizeof *v);

		if (v == NULL)
			return -1;
		m->ev = v;
		m->cap = cap;
	}
	m->ev[m->n++] = *e;
	return 0;
}

/* Keep one line if it is an event; a line that does not parse is skipped. */
static int take_line(struct merge *m, const char *line, size_t len)
{
	json_t *o = json_loadb(line, len, 0, NULL);
	const char *ph, *cat, *name;
	json_t *ts, *pid, *dur;
	struct ev e = { 0 };
	int rc = 0;

	if (o == NULL)
		return 0;
	ph = json_string_value(json_object_get(o, "ph"));
	name = json_string_value(json_object_get(o, "name"));
	cat = json_string_value(json_object_get(o, "cat"));
	ts = json_object_get(o, "ts");
	pid = json_object_get(o, "pid");
	dur = json_object_get(o, "dur");
	if (ph == NULL || ph[0] == '\0' || name == NULL ||
	    !json_is_integer(ts) || !json_is_integer(pid) ||
	    json_integer_value(ts) < 0)
		goto out;
	e.ts = (uint64_t)json_integer_value(ts);
	e.pid = (long)json_integer_value(pid);
	e.ph = ph[0];
	e.seq = m->seq++;
	if (strcmp(name, "trace capped") == 0)
		m->capped++;
	e.always = e.ph == 'M' || e.pid == m->self ||
		   (cat && strcmp(cat, "life") == 0);
	if (e.ts > m->max_ts)
		m->max_ts = e.ts;
	if (e.ph == 'X' && json_is_integer(dur) && json_integer_value(dur) > 0 &&
	    e.ts + (uint64_t)json_integer_value(dur) > m->max_ts)
		m->max_ts = e.ts + (uint64_t)json_integer_value(dur);
	if (cat && strcmp(cat, "life") == 0 && json_is_integer(dur)) {
		struct life *l = life_of(m, e.pid, true);

		if (l == NULL)
			goto fail;
		l->end = e.ts + (uint64_t)json_integer_value(dur);
	}
	/* An async pair is written as two lines in a row, b then e. */
	if (e.ph == 'e' && m->n > 0 && m->ev[m->n - 1].ph == 'b' &&
	    m->ev[m->n - 1].pid == e.pid) {
		e.paired = true;
		e.b_seq = m->ev[m->n - 1].seq;
	}
	e.text = strndup(line, len);
	e.name = e.ph == 'B' ? strdup(name) : NULL;
	if (e.text == NULL || (e.ph == 'B' && e.name == NULL) ||
	    add_event(m, &e) < 0) {
		free(e.text);
		free(e.name);
		goto fail;
	}
	goto out;
fail:
	rc = -1;
out:
	json_decref(o);
	return rc;
}

/* Every line of one process's file. */
static int take_file(struct merge *m, int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL, *p, *end;
	size_t len = 0;
	int rc = -1;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto out;
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		goto out;
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	for (p = buf; p < buf + len; p = end + 1) {
		end = memchr(p, '\n', (size_t)(buf + len - p));
		if (end == NULL)
			break; /* cut short: not a whole line */
		if (end > p && take_line(m, p, (size_t)(end - p)) < 0)
			goto out;
	}
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

static int by_time(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A line of our own: o (stolen) as compact JSON. */
static int add_own(struct merge *m, json_t *o, char ph, long pid, uint64_t ts)
{
	struct ev e = { .ts = ts, .seq = m->seq++, .pid = pid, .ph = ph,
			.always = true };

	e.text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (e.text == NULL || add_event(m, &e) < 0) {
		free(e.text);
		return -1;
	}
	return 0;
}

/*
 * The cap: TRACE_OUT_MAX_EVENTS, or in a test build AGG_TRACE_MAX_EVENTS
 * (so that a test reaches it with a small run).
 */
static size_t max_events(void)
{
#ifdef AGG_TESTING
	const char *v = getenv("AGG_TRACE_MAX_EVENTS");

	if (v != NULL && atol(v) > 0)
		return (size_t)atol(v);
#endif
	return TRACE_OUT_MAX_EVENTS;
}

/*
 * Keep every event that must stay and the earliest others, up to
 * max_events(); an async e goes with its b.  Returns how many were
 * dropped, or (size_t)-1 when memory ran out.
 */
static size_t cap_events(struct merge *m)
{
	size_t always = 0, budget, dropped = 0, max = max_events();
	size_t *at;

	for (size_t i = 0; i < m->n; i++)
		always += m->ev[i].always;
	budget = always < max ? max - always : 0;
	for (size_t i = 0; i < m->n; i++) {
		if (m->ev[i].always)
			continue;
		if (budget > 0)
			budget--;
		else {
			m->ev[i].drop = true;
			dropped++;
		}
	}
	if (dropped == 0)
		return 0;
	at = malloc((size_t)m->seq * sizeof *at);
	if (at == NULL)
		return (size_t)-1;
	for (size_t i = 0; i < m->n; i++)
		at[m->ev[i].seq] = i;
	for (size_t i = 0; i < m->n; i++) {
		struct ev *e = &m->ev[i];

		if (!e->paired || e->drop == m->ev[at[e->b_seq]].drop)
			continue;
		e->drop = !e->drop;
		if (e->drop)
			dropped++;
		else
			dropped--;
	}
	free(at);
	return dropped;
}

/*
 * Close every span left open: an E at the end of its process's lifetime,
 * or at the last event of the run.  An E without its B (dropped) goes.
 */
static int close_spans(struct merge *m)
{
	size_t n = m->n;

	for (size_t i = 0; i < n; i++) {
		struct ev *e = &m->ev[i];
		struct life *l;

		if (e->drop || (e->ph != 'B' && e->ph != 'E'))
			continue;
		l = life_of(m, e->pid, true);
		if (l == NULL)
			return -1;
		if (e->ph == 'E') {
			if (l->open == 0)
				e->drop = true;
			else
				l->open--;
			continue;
		}
		if ((size_t)l->open == l->cap) {
			size_t cap = l->cap ? 2 * l->cap : 8;
			size_t *s = realloc(l->stack, cap * sizeof *s);

			if (s == NULL)
				return -1;
			l->stack = s;
			l->cap = cap;
		}
		l->stack[l->open++] = i;
	}
	for (size_t k = 0; k < m->nlives; k++) {
		struct life *l = &m->lives[k];

		while (l->open > 0) {
			const struct ev *b = &m->ev[l->stack[--l->open]];
			uint64_t at = l->end >= b->ts && l->end ? l->end
								: m->max_ts;
			json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:{s:s}}",
					      "ph", "E", "name", b->name,
					      "pid", (json_int_t)b->pid,
					      "tid", (json_int_t)b->pid,
					      "ts", (json_int_t)at, "args",
					      "closed", "at the process's end");
			long pid = b->pid;

			if (add_own(m, o, 'E', pid, at) < 0)
				return -1;
		}
	}
	return 0;
}

static int write_file(const struct merge *m, const char *path, json_t *other,
		      char *err, size_t errlen)
{
	struct outfile of;
	FILE *f = NULL;
	bool first = true;
	int fd;

	if (outfile_open(&of, path, "trace file", 0, err, errlen) < 0)
		return -1;
	/* stdio on a duplicate: fclose() leaves of.fd to outfile_commit(). */
	fd = dup(of.fd);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	fputs("{\"traceEvents\":[", f);
	for (size_t i = 0; i < m->n; i++) {
		if (m->ev[i].drop)
			continue;
		fputs(first ? "\n" : ",\n", f);
		fputs(m->ev[i].text, f);
		first = false;
	}
	fputs("\n],\"displayTimeUnit\":\"ms\",\"otherData\":", f);
	if (json_dumpf(other, f, JSON_COMPACT) < 0)
		goto fail;
	fputs("}\n", f);
	if (fflush(f) != 0 || ferror(f)) {
		fclose(f);
		f = NULL;
		goto fail;
	}
	if (fclose(f) != 0) {
		f = NULL;
		goto fail;
	}
	return outfile_commit(&of, err, errlen);
fail:
	snprintf(err, errlen, "cannot write trace file %s: %s", path,
		 strerror(errno ? errno : EIO));
	if (f)
		fclose(f);
	outfile_abort(&of);
	return -1;
}

int trace_out_write(const char *path, int exit_code, const char *version,
		    char *err, size_t errlen)
{
	struct merge m = { .self = (long)getpid() };
	json_t *other = NULL;
	struct dirent *de;
	size_t dropped, kept = 0;
	DIR *d;
	int rc = -1;

	trace_flush();
	d = opendir(trace_dir());
	if (d == NULL) {
		snprintf(err, errlen, "cannot write trace file %s: %s: %s", path,
			 trace_dir(), strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		if (take_file(&m, dirfd(d), de->d_name) < 0)
			goto out_nomem;
	}
	qsort(m.ev, m.n, sizeof *m.ev, by_time);
	dropped = cap_events(&m);
	if (dropped == (size_t)-1)
		goto out_nomem;
	if (dropped) {
		uint64_t at = m.max_ts;

		for (size_t i = 0; i < m.n; i++)
			if (m.ev[i].drop) {
				at = m.ev[i].ts;
				break;
			}
		if (add_own(&m, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, "
					  "s:{s:I, s:I}}", "ph", "i", "s", "g",
					  "name", "trace capped", "pid",
					  (json_int_t)m.self, "tid",
					  (json_int_t)m.self, "ts",
					  (json_int_t)at, "args",
					  "dropped_events", (json_int_t)dropped,
					  "max_events", (json_int_t)max_events()),
			    'i', m.self, at) < 0)
			goto out_nomem;
	}
	if (close_spans(&m) < 0)
		goto out_nomem;
	qsort(m.ev, m.n, sizeof *m.ev, by_time);
	for (size_t i = 0; i < m.n; i++)
		kept += !m.ev[i].drop;
	other = json_pack("{s:s, s:s, s:i, s:s, s:I, s:b, s:I, s:I, s:I, s:I}",
			  "program", "aggregate", "version", version,
			  "exit_status", exit_code, "clock",
			  "CLOCK_MONOTONIC, microseconds", "events",
			  (json_int_t)kept, "capped", dropped > 0 || m.capped > 0,
			  "capped_processes", (json_int_t)m.capped,
			  "dropped_events", (json_int_t)dropped,
			  "max_events", (json_int_t)max_events(),
			  "max_events_per_process",
			  (json_int_t)TRACE_MAX_EVENTS);
	if (other == NULL)
		goto out_nomem;
	rc = write_file(&m, path, other, err, errlen);
	goto out;
out_nomem:
	snprintf(err, errlen, "cannot write trace file %s: out of memory", path);
out:
	json_decref(other);
	closedir(d);
	for (size_t i = 0; i < m.n; i++) {
		free(m.ev[i].text);
		free(m.ev[i].name);
	}
	for (size_t i = 0; i < m.nlives; i++)
		free(m.lives[i].stack);
	free(m.ev);
	free(m.lives);
	return rc;
}
