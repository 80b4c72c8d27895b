/*
 * log.c - event lines on stderr (see log.h).
 *
 * A line is built in a fixed buffer and written with a single write(2):
 * stderr is shared by every process of the run, and one write of less than
 * PIPE_BUF bytes is never interleaved with another process's.
 */
#include "log.h"

#include "../providers/convert.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4000

static int verbosity;
static bool json_format;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_init(int v, bool json)
{
	verbosity = v;
	json_format = json;
}

bool log_enabled(enum log_level level)
{
	if (verbosity < 0)
		return level == LOG_ERROR;
	if (verbosity == 0)
		return level <= LOG_INFO;
	return true;
}

struct line {
	char buf[LINE_MAX_BYTES];
	size_t len;
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
 * A JSON string body (no quotes), control characters escaped, invalid
 * UTF-8 (a server's error body, a byte of a bad input line) written as
 * U+FFFD: a JSON log line must parse.
 */
static void put_json(struct line *l, const char *s)
{
	char esc[8];

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch >= 0x80) {
			size_t n = (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3
				 : (ch >> 3) == 30 ? 4 : 0;

			if (n > 0 && strnlen(s, n) == n && conv_utf8_valid(s, n)) {
				put(l, s, n);
				s += n - 1;
			} else {
				puts_(l, "\xEF\xBF\xBD");
			}
		} else if (ch == '"' || ch == '\\') {
			putc_(l, '\\');
			putc_(l, (char)ch);
		} else if (ch < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", ch);
			puts_(l, esc);
		} else {
			putc_(l, (char)ch);
		}
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
	while ((key = va_arg(ap, const char *)) != NULL) {
		val = va_arg(ap, const char *);
		if (val == NULL)
			val = "";
		if (json_format) {
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
