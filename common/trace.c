/*
 * trace.c - each process's side of --trace (see trace.h): events formatted
 * as JSON lines into a buffer, written with one write() per flush to the
 * process's own file, DIR/PID.json, in the run's private folder.
 *
 * A process's file is appended to only by that process, and each flush
 * ends at a line's end, so a file holds whole lines but for a write that
 * failed half way (a full disk): the merge skips a line that does not
 * parse.  A fork copies the buffer; trace_child() forgets the copy, and a
 * fork that does not call it (nothing here knows every fork) records
 * nothing: an event is kept only when the process that formats it is the
 * one recording (tr.pid).
 */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "clock.h"

/* Bytes buffered before a flush is forced. */
#define TRACE_BUF 65536u

/* Bytes of one event at most (arguments are cut to fit). */
#define TRACE_LINE 2048u

/* Bytes of one argument value at most. */
#define TRACE_VALUE 512u

bool trace_on;

static struct {
	char dir[256];          /* the run's folder; "" when off */
	pid_t owner;            /* the supervisor: made the folder */
	pid_t pid;              /* the process recording; 0: none */
	int fd;                 /* its file, -1: not open */
	char buf[TRACE_BUF];
	size_t len;
	unsigned events;        /* recorded by this process */
	bool capped;            /* TRACE_MAX_EVENTS reached */
	uint64_t flushed_ms;    /* last flush */
	unsigned long async_id; /* the last async span's */
} tr = { .fd = -1 };

const char *trace_dir(void)
{
	return tr.dir;
}

static int open_file(void)
{
	char path[sizeof tr.dir + 32];

	snprintf(path, sizeof path, "%s/%ld.json", tr.dir, (long)tr.pid);
	tr.fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	return tr.fd < 0 ? -1 : 0;
}

int trace_start(const char *name, char *err, size_t errlen)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(tr.dir, sizeof tr.dir, "%s/aggregate-trace-XXXXXX",
			     tmp) >= sizeof tr.dir) {
		snprintf(err, errlen, "cannot trace: TMPDIR is too long");
		tr.dir[0] = '\0';
		return -1;
	}
	/* mkdtemp makes it 0700: nobody else reads what a run records. */
	if (mkdtemp(tr.dir) == NULL) {
		snprintf(err, errlen, "cannot trace: cannot make a folder in %s: "
			 "%s", tmp, strerror(errno));
		tr.dir[0] = '\0';
		return -1;
	}
	tr.owner = tr.pid = getpid();
	tr.len = 0;
	tr.events = 0;
	tr.capped = false;
	tr.flushed_ms = clock_ms();
	if (open_file() < 0) {
		snprintf(err, errlen, "cannot trace: %s: %s", tr.dir,
			 strerror(errno));
		rmdir(tr.dir);
		tr.dir[0] = '\0';
		return -1;
	}
	trace_on = true;
	trace_name(tr.pid, name, 0);
	return 0;
}

void trace_child(const char *fmt, ...)
{
	char name[256];
	va_list ap;

	if (!trace_on)
		return;
	/*
	 * The parent's descriptor is left open, not closed: the child may
	 * have closed its number already and reused it (close_range).
	 */
	tr.fd = -1;
	tr.len = 0;
	tr.events = 0;
	tr.capped = false;
	tr.pid = getpid();
	tr.flushed_ms = clock_ms();
	if (open_file() < 0) {
		trace_on = false;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	trace_name(tr.pid, name, -1);
}

void trace_flush(void)
{
	size_t off = 0;

	if (!trace_on || tr.fd < 0 || tr.pid != getpid())
		return;
	while (off < tr.len) {
		ssize_t n = write(tr.fd, tr.buf + off, tr.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* A full disk: the run goes on untraced here. */
			trace_on = false;
			break;
		}
		off += (size_t)n;
	}
	tr.len = 0;
	tr.flushed_ms = clock_ms();
}

void trace_flush_due(void)
{
	if (trace_on && (tr.len > TRACE_BUF / 2 ||
			 clock_ms() - tr.flushed_ms >= TRACE_FLUSH_MS))
		trace_flush();
}

/* Append s to line (size cap, used *n), JSON-escaped, cut at limit bytes. */
static void put_escaped(char *line, size_t cap, size_t *n, const char *s,
			size_t limit)
{
	static const char hex[] = "0123456789abcdef";
	size_t done = 0;

	for (; *s && done < limit && *n + 8 < cap; s++, done++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			line[(*n)++] = '\\';
			line[(*n)++] = (char)ch;
		} else if (ch < 0x20) {
			memcpy(line + *n, "\\u00", 4);
			line[*n + 4] = hex[ch >> 4];
			line[*n + 5] = hex[ch & 15];
			*n += 6;
		} else {
			line[(*n)++] = (char)ch;
		}
	}
	/* A cut in the middle of a UTF-8 sequence would not parse. */
	while (*s && done > 0 && *n > 0 &&
	       ((unsigned char)line[*n - 1] & 0xC0) == 0x80)
		(*n)--;
	if (*s && *n > 0 && ((unsigned char)line[*n - 1] & 0xC0) == 0xC0)
		(*n)--;
}

static void put(char *line, size_t cap, size_t *n, const char *s)
{
	size_t len = strlen(s);

	if (*n + len + 8 < cap) {
		memcpy(line + *n, s, len);
		*n += len;
	}
}

/* A plain decimal integer: written as a JSON number. */
static bool is_integer(const char *v)
{
	size_t i = v[0] == '-';

	if (v[i] == '\0' || (v[i] == '0' && v[i + 1] != '\0') ||
	    strlen(v + i) > 15)
		return false;
	for (; v[i]; i++)
		if (v[i] < '0' || v[i] > '9')
			return false;
	return true;
}

/* ,"args":{...} from the key/value pairs of ap, if there are any. */
static void put_args(char *line, size_t cap, size_t *n, va_list ap)
{
	const char *key;
	bool first = true;

	while ((key = va_arg(ap, const char *)) != NULL) {
		const char *val = va_arg(ap, const char *);

		if (val == NULL)
			continue; /* an argument that does not apply */
		put(line, cap, n, first ? ",\"args\":{\"" : ",\"");
		put_escaped(line, cap, n, key, 64);
		put(line, cap, n, "\":");
		if (is_integer(val)) {
			put(line, cap, n, val);
		} else {
			put(line, cap, n, "\"");
			put_escaped(line, cap, n, val, TRACE_VALUE);
			put(line, cap, n, "\"");
		}
		first = false;
	}
	if (!first)
		put(line, cap, n, "}");
}

/* Buffer one line, flushing first when it does not fit. */
static void keep(const char *line, size_t n)
{
	if (tr.len + n > sizeof tr.buf)
		trace_flush();
	if (n <= sizeof tr.buf - tr.len) {
		memcpy(tr.buf + tr.len, line, n);
		tr.len += n;
	}
}

static void emit(char ph, const char *name, pid_t pid, uint64_t ts,
		 uint64_t dur, const char *extra, va_list ap);
static void emit_plain(char ph, const char *name, pid_t pid, uint64_t ts,
		       const char *extra, ...);

/* May this process record one more event?  Says so once when capped. */
static bool room(void)
{
	if (!trace_on || tr.fd < 0 || tr.pid != getpid())
		return false;
	if (tr.capped)
		return false;
	if (++tr.events < TRACE_MAX_EVENTS)
		return true;
	tr.capped = true;
	{
		char line[256];
		int n = snprintf(line, sizeof line,
				 "{\"ph\":\"i\",\"s\":\"p\",\"name\":\"trace capped\","
				 "\"pid\":%ld,\"tid\":%ld,\"ts\":%llu,\"args\":"
				 "{\"max_events\":%u}}\n",
				 (long)tr.pid, (long)tr.pid,
				 (unsigned long long)clock_us(),
				 TRACE_MAX_EVENTS);

		keep(line, (size_t)n);
	}
	return false;
}

static void emit(char ph, const char *name, pid_t pid, uint64_t ts,
		 uint64_t dur, const char *extra, va_list ap)
{
	char line[TRACE_LINE];
	size_t n = 0;
	char head[160];

	put(line, sizeof line, &n, "{\"ph\":\"");
	line[n++] = ph;
	put(line, sizeof line, &n, "\",\"name\":\"");
	put_escaped(line, sizeof line, &n, name, 128);
	snprintf(head, sizeof head, "\",\"pid\":%ld,\"tid\":%ld,\"ts\":%llu",
		 (long)pid, (long)pid, (unsigned long long)ts);
	put(line, sizeof line, &n, head);
	if (ph == 'X') {
		snprintf(head, sizeof head, ",\"dur\":%llu",
			 (unsigned long long)dur);
		put(line, sizeof line, &n, head);
	}
	if (extra)
		put(line, sizeof line, &n, extra);
	put_args(line, sizeof line, &n, ap);
	line[n++] = '}';
	line[n++] = '\n';
	keep(line, n);
}

void trace_begin(const char *name, ...)
{
	va_list ap;

	if (!room())
		return;
	va_start(ap, name);
	emit('B', name, tr.pid, clock_us(), 0, NULL, ap);
	va_end(ap);
}

void trace_end(const char *name, ...)
{
	va_list ap;

	/* An E whose B was kept is kept even past the cap. */
	if (!trace_on || tr.fd < 0 || tr.pid != getpid())
		return;
	va_start(ap, name);
	emit('E', name, tr.pid, clock_us(), 0, NULL, ap);
	va_end(ap);
}

void trace_span(const char *name, uint64_t start_us, ...)
{
	uint64_t now;
	va_list ap;

	if (!room())
		return;
	now = clock_us();
	va_start(ap, start_us);
	emit('X', name, tr.pid, start_us, now > start_us ? now - start_us : 0,
	     NULL, ap);
	va_end(ap);
}

void trace_async(const char *name, uint64_t start_us, uint64_t end_us, ...)
{
	char extra[64];
	va_list ap;

	if (!room())
		return;
	/* Ids are global to the file: the pid makes them this process's. */
	snprintf(extra, sizeof extra, ",\"cat\":\"async\",\"id\":\"0x%llx\"",
		 ((unsigned long long)tr.pid << 32) | (++tr.async_id & 0xffffffffu));
	va_start(ap, end_us);
	emit('b', name, tr.pid, start_us, 0, extra, ap);
	va_end(ap);
	emit_plain('e', name, tr.pid, end_us > start_us ? end_us : start_us,
		   extra, NULL);
}

void trace_instant(const char *name, ...)
{
	va_list ap;

	if (!room())
		return;
	va_start(ap, name);
	emit('i', name, tr.pid, clock_us(), 0, ",\"s\":\"t\"", ap);
	va_end(ap);
}

void trace_span_for(pid_t pid, const char *name, uint64_t start_us,
		    uint64_t end_us, ...)
{
	va_list ap;

	if (!room())
		return;
	va_start(ap, end_us);
	emit('X', name, pid, start_us, end_us > start_us ? end_us - start_us : 0,
	     ",\"cat\":\"life\"", ap);
	va_end(ap);
}

void trace_instant_for(pid_t pid, const char *name, uint64_t ts_us, ...)
{
	va_list ap;

	if (!room())
		return;
	va_start(ap, ts_us);
	emit('i', name, pid, ts_us, 0, ",\"s\":\"p\"", ap);
	va_end(ap);
}

/* emit() for a call without arguments. */
static void emit_plain(char ph, const char *name, pid_t pid, uint64_t ts,
		       const char *extra, ...)
{
	va_list ap;

	va_start(ap, extra);
	emit(ph, name, pid, ts, 0, extra, ap);
	va_end(ap);
}

void trace_counter(const char *name, const char *series, double value)
{
	char extra[160];
	size_t n = 0;

	if (!room())
		return;
	put(extra, sizeof extra, &n, ",\"args\":{\"");
	put_escaped(extra, sizeof extra, &n, series, 64);
	n += (size_t)snprintf(extra + n, sizeof extra - n, "\":%.6g}", value);
	emit_plain('C', name, tr.pid, clock_us(), extra, NULL);
}

void trace_name(pid_t pid, const char *name, int sort)
{
	char extra[64];

	if (!room())
		return;
	/* Metadata: the two names Perfetto shows, and the track's place. */
	emit_plain('M', "process_name", pid, 0, NULL, "name", name, NULL);
	emit_plain('M', "thread_name", pid, 0, NULL, "name", name, NULL);
	if (sort >= 0) {
		snprintf(extra, sizeof extra, "%d", sort);
		emit_plain('M', "process_sort_index", pid, 0, NULL,
			   "sort_index", extra, NULL);
	}
}

/* Remove the run's folder and the files in it (the supervisor's end). */
static void remove_dir(void)
{
	DIR *d = opendir(tr.dir);
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			(void)unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	(void)rmdir(tr.dir);
}

void trace_stop(void)
{
	if (tr.dir[0] == '\0')
		return;
	trace_flush();
	if (tr.fd >= 0)
		close(tr.fd);
	tr.fd = -1;
	if (tr.owner == getpid())
		remove_dir();
	trace_on = false;
	tr.dir[0] = '\0';
}
