/*
 * progress.c - the live progress block (see progress.h for how it is drawn
 * and why log lines never get lost under it).
 *
 * One line per shown provider:
 *
 *   orders_api           running        120345 records    48213/s  restarts 1
 *
 * and, once the supervisor has told it (progress_filtered), the records a
 * `where` dropped after them: "...  restarts 1  filtered 5120" (last, so
 * that a terminal of 80 columns, which cuts it, still shows the rest).
 * records/s is the provider's count over the time since it first ran, which
 * stays readable at four redraws a second where an instantaneous rate would
 * flicker.
 */
#include "progress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/sysio.h"

struct prog_line {
	const char *state;      /* NULL: not shown */
	int restarts;
	uint64_t records;
	uint64_t filtered;      /* dropped by a `where`, when told */
	bool filtered_told;     /* progress_filtered() was called */
	uint64_t first_run_ms;  /* when it was first seen running; 0: never */
	uint64_t end_ms;        /* when it was first seen done/failed; 0 */
};

struct progress {
	int fd;
	int n;
	const struct cfg *cfg;
	struct prog_line *lines;
	int drawn;              /* rows of the block on screen now */
	uint64_t last_draw_ms;  /* 0: never */
	bool ended;             /* progress_end() or a write error */
	char *buf;              /* one frame */
	size_t cap;
};

struct progress *progress_new(int fd, const struct cfg *cfg)
{
	struct progress *pg = calloc(1, sizeof *pg);
	int n = cfg->nproviders;

	if (pg == NULL)
		return NULL;
	pg->fd = fd;
	pg->n = n;
	pg->cfg = cfg;
	pg->lines = calloc((size_t)(n > 0 ? n : 1), sizeof *pg->lines);
	pg->cap = 256 * (size_t)(n + 2);
	pg->buf = malloc(pg->cap);
	if (pg->lines == NULL || pg->buf == NULL) {
		progress_free(pg);
		return NULL;
	}
	return pg;
}

void progress_set(struct progress *pg, int i, const char *state, int restarts,
		  uint64_t records)
{
	struct prog_line *l;

	if (pg == NULL || i < 0 || i >= pg->n)
		return;
	l = &pg->lines[i];
	l->state = state;
	l->restarts = restarts;
	if (records > l->records)
		l->records = records;
	if (state && strcmp(state, "waiting") != 0 && l->first_run_ms == 0)
		l->first_run_ms = clock_ms();
	if (state && (strcmp(state, "done") == 0 || strcmp(state, "failed") == 0 ||
		      strcmp(state, "stopped") == 0)) {
		if (l->end_ms == 0)
			l->end_ms = clock_ms();
	}
}

void progress_records(struct progress *pg, int i, uint64_t records)
{
	if (pg == NULL || i < 0 || i >= pg->n)
		return;
	if (records > pg->lines[i].records)
		pg->lines[i].records = records;
}

void progress_filtered(struct progress *pg, int i, uint64_t filtered)
{
	struct prog_line *l;

	if (pg == NULL || i < 0 || i >= pg->n)
		return;
	l = &pg->lines[i];
	l->filtered_told = true;
	if (filtered > l->filtered)
		l->filtered = filtered;
}

/* Columns of the terminal on fd; 80 when it cannot tell. */
static int term_width(int fd)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

static void write_frame(struct progress *pg, size_t len)
{
	if (sys_write_all(pg->fd, pg->buf, len) < 0)
		pg->ended = true; /* stderr is gone: stop drawing */
}

void progress_draw(struct progress *pg, bool force)
{
	uint64_t now;
	int width, rows = 0;
	size_t len = 0;

	if (pg == NULL || pg->ended)
		return;
	now = clock_ms();
	if (!force && pg->last_draw_ms &&
	    now - pg->last_draw_ms < PROGRESS_INTERVAL_MS)
		return;
	pg->last_draw_ms = now;
	width = term_width(pg->fd);
	/* Erase the old block (the cursor rests on its first line). */
	len += (size_t)snprintf(pg->buf + len, pg->cap - len, "\r\033[J");
	for (int i = 0; i < pg->n; i++) {
		const struct prog_line *l = &pg->lines[i];
		uint64_t end = l->end_ms ? l->end_ms : now;
		double secs = l->first_run_ms && end > l->first_run_ms
			      ? (double)(end - l->first_run_ms) / 1000.0 : 0.0;
		char line[256], filt[40] = "";
		int n;

		if (l->state == NULL)
			continue;
		if (l->filtered_told)
			snprintf(filt, sizeof filt, "  filtered %llu",
				 (unsigned long long)l->filtered);
		n = snprintf(line, sizeof line,
			     "%-20s %-8s %12llu records %9.0f/s  restarts %d%s",
			     pg->cfg->providers[i].name, l->state,
			     (unsigned long long)l->records,
			     secs > 0 ? (double)l->records / secs : 0.0,
			     l->restarts, filt);
		if (n < 0)
			continue;
		if (n >= width)
			n = width > 1 ? width - 1 : 0; /* one row each */
		if ((size_t)n + 2 > pg->cap - len - 16)
			break;
		memcpy(pg->buf + len, line, (size_t)n);
		len += (size_t)n;
		pg->buf[len++] = '\n';
		rows++;
	}
	/* Back to the block's first line, where the next line will go. */
	if (rows > 0)
		len += (size_t)snprintf(pg->buf + len, pg->cap - len, "\033[%dA",
					rows);
	pg->drawn = rows;
	write_frame(pg, len);
}

void progress_end(struct progress *pg)
{
	if (pg == NULL || pg->ended)
		return;
	memcpy(pg->buf, "\r\033[J", 4);
	write_frame(pg, 4);
	pg->drawn = 0;
	pg->ended = true;
}

void progress_free(struct progress *pg)
{
	if (pg == NULL)
		return;
	free(pg->lines);
	free(pg->buf);
	free(pg);
}
