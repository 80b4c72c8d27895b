/*
 * log.c - event lines on stderr (see log.h).
 *
 * A line is built in a fixed buffer and written with a single write(2):
 * stderr is shared by every process of the run, and one write of less than
 * PIPE_BUF bytes is never interleaved with another process's.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4000

static int verbosity;
static bool json_format;
static bool redraw;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_init(int v, bool json)
{
	verbosity = v;
	json_format = json;
}

void log_set_redraw(bool on)
{
	redraw = on;
}

bool log_enabled(enum log_level level)
{
	if (verbosity < 0)
		return level <= LOG_WARN;
	if (verbosity == 0)
		return level <= LOG_INFO;
	return true;
}

/* Room kept at the end of a JSON line for what closes it ("}\n"). */
#define JSON_RESERVE 16

struct line {
	char buf[LINE_MAX_BYTES];
	size_t len;
	bool full;       /* JSON: a value was cut; no more pairs */
};

static void put(struct line *l, const char *s, size_t n)
{
	if (n > sizeof l->buf - 2 - l->len)
		n = sizeof l->buf - 2 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void putc_(struct line *l, char ch)
{
	put(l, &ch, 1);
}

/*
 * Length of the well-formed UTF-8 sequence at s (s[0] >= 0x80), or 0 when
 * it is not one.  s is NUL-terminated, so a cut sequence stops at the NUL.
 */
static int utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xBF;
	int need;

	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		need = 1;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		need = 2;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		need = 3;
	else
		return 0;
	if (s[0] == 0xE0)
		lo = 0xA0;
	else if (s[0] == 0xED)
		hi = 0x9F;
	else if (s[0] == 0xF0)
		lo = 0x90;
	else if (s[0] == 0xF4)
		hi = 0x8F;
	for (int k = 1; k <= need; k++) {
		if (s[k] < lo || s[k] > hi)
			return 0;
		lo = 0x80;
		hi = 0xBF;
	}
	return need + 1;
}

/*
 * A JSON string body (no quotes): control characters escaped, and any byte
 * that is not part of well-formed UTF-8 replaced by U+FFFD, so that every
 * line parses whatever a message carries (file names, server text).
 */
static void put_json(struct line *l, const char *s)
{
	char esc[8];

	while (*s) {
		unsigned char ch = (unsigned char)*s;
		int n;

		/* Cut whole characters only, so the line stays valid JSON. */
		if (l->len + 8 + JSON_RESERVE > sizeof l->buf) {
			l->full = true;
			return;
		}
		if (ch == '"' || ch == '\\') {
			putc_(l, '\\');
			putc_(l, (char)ch);
		} else if (ch < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", ch);
			puts_(l, esc);
		} else if (ch < 0x80) {
			putc_(l, (char)ch);
		} else if ((n = utf8_len((const unsigned char *)s)) > 0) {
			put(l, s, (size_t)n);
			s += n;
			continue;
		} else {
			puts_(l, "\\ufffd");
		}
		s++;
	}
}

/* A text value, quoted when it would not read back as one token. */
static void put_text_value(struct line *l, const char *s)
{
	bool quote = *s == '\0' || strpbrk(s, " \t\"=\\") != NULL;

	for (const char *p = s; !quote && *p; p++)
		if ((unsigned char)*p < 0x20)
			quote = true;
	if (!quote) {
		puts_(l, s);
		return;
	}
	putc_(l, '"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			putc_(l, '\\');
			putc_(l, (char)ch);
		} else if (ch == '\n') {
			puts_(l, "\\n");
		} else if (ch < 0x20) {
			putc_(l, ' ');
		} else {
			putc_(l, (char)ch);
		}
	}
	putc_(l, '"');
}

void log_event(enum log_level level, const char *provider, const char *event,
	       ...)
{
	struct line l;
	char ts[32];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;
	const char *key, *val;

	if (!log_enabled(level))
		return;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	l.len = 0;
	l.full = false;
	if (redraw)
		puts_(&l, "\r\033[J");

	if (json_format) {
		puts_(&l, "{\"ts\":\"");
		puts_(&l, ts);
		puts_(&l, "\",\"level\":\"");
		puts_(&l, level_names[level]);
		puts_(&l, "\"");
		if (provider) {
			puts_(&l, ",\"provider\":\"");
			put_json(&l, provider);
			puts_(&l, "\"");
		}
		puts_(&l, ",\"event\":\"");
		put_json(&l, event);
		puts_(&l, "\"");
	} else {
		puts_(&l, ts);
		putc_(&l, ' ');
		puts_(&l, level_names[level]);
		if (provider) {
			puts_(&l, " provider=");
			put_text_value(&l, provider);
		}
		putc_(&l, ' ');
		puts_(&l, event);
	}

	va_start(ap, event);
	while ((key = va_arg(ap, const char *)) != NULL && !l.full) {
		val = va_arg(ap, const char *);
		if (val == NULL)
			val = "";
		if (json_format) {
			/* A pair that cannot start whole is left out. */
			if (l.len + strlen(key) + 8 + JSON_RESERVE > sizeof l.buf)
				break;
			puts_(&l, ",\"");
			put_json(&l, key);
			puts_(&l, "\":\"");
			put_json(&l, val);
			puts_(&l, "\"");
		} else {
			putc_(&l, ' ');
			puts_(&l, key);
			putc_(&l, '=');
			put_text_value(&l, val);
		}
	}
	va_end(ap);
	if (json_format)
		putc_(&l, '}');
	l.buf[l.len++] = '\n';
	(void)!write(STDERR_FILENO, l.buf, l.len);
}
