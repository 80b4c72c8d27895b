/*
 * test_progress.c - the --progress block (supervisor/progress.c) drawn on
 * a pseudo-terminal of a chosen width: a provider's line, and its filtered
 * count once told.
 *
 * What it promises: a line is "NAME STATE RECORDS records RATE/s
 * restarts N", then "filtered N" only after progress_filtered() told it
 * (so a line without a where is unchanged); no count goes back (a late,
 * lower report keeps the higher one); a line is cut to the terminal's
 * width, and on 80 columns the cut takes the filtered count, not the rest.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "../supervisor/progress.h"

static struct cfg cfg;
static struct cfg_provider prov[2];
static int master = -1, slave = -1;

static void setup(void)
{
	struct termios t;

	memset(&cfg, 0, sizeof cfg);
	memset(prov, 0, sizeof prov);
	prov[0].name = "orders";
	prov[1].name = "users";
	cfg.providers = prov;
	cfg.nproviders = 2;
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	cr_assert_geq(master, 0);
	cr_assert_eq(grantpt(master), 0);
	cr_assert_eq(unlockpt(master), 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	cr_assert_geq(slave, 0);
	/* Bytes as written: no \r added before each \n. */
	cr_assert_eq(tcgetattr(slave, &t), 0);
	cfmakeraw(&t);
	cr_assert_eq(tcsetattr(slave, TCSANOW, &t), 0);
}

static void teardown(void)
{
	close(slave);
	close(master);
}

TestSuite(progress, .init = setup, .fini = teardown);

static void set_width(int cols)
{
	struct winsize ws = { .ws_row = 24, .ws_col = (unsigned short)cols };

	cr_assert_eq(ioctl(slave, TIOCSWINSZ, &ws), 0);
}

/* One forced draw of pg, as the terminal got it (free() it). */
static char *draw(struct progress *pg)
{
	char *buf = calloc(1, 4096);
	ssize_t n;

	cr_assert_not_null(buf);
	progress_draw(pg, true);
	n = read(master, buf, 4095); /* one write(2) of a small frame */
	cr_assert_gt(n, 0);
	return buf;
}

/* The line of provider name in a frame, up to its newline (free() it). */
static char *line_of(const char *frame, const char *name)
{
	const char *at = strstr(frame, name), *end;

	cr_assert_not_null(at, "no line of %s in %s", name, frame);
	end = strchr(at, '\n');
	cr_assert_not_null(end);
	return strndup(at, (size_t)(end - at));
}

Test(progress, filtered_only_once_told)
{
	struct progress *pg = progress_new(slave, &cfg);
	char *frame, *a, *b;
	unsigned long long rec, filt;
	int restarts;

	cr_assert_not_null(pg);
	set_width(200);
	progress_set(pg, 0, "running", 1, 120345);
	progress_set(pg, 1, "running", 0, 77);
	progress_filtered(pg, 0, 5120);
	frame = draw(pg);
	a = line_of(frame, "orders");
	b = line_of(frame, "users");
	cr_assert_eq(sscanf(a, "orders running %llu records %*f/s  restarts "
			    "%d  filtered %llu", &rec, &restarts, &filt), 3,
		     "%s", a);
	cr_assert_eq(rec, 120345);
	cr_assert_eq(restarts, 1);
	cr_assert_eq(filt, 5120);
	cr_assert(strstr(b, "filtered") == NULL, "%s", b);
	cr_assert_eq(sscanf(b, "users running %llu records %*f/s  restarts %d",
			    &rec, &restarts), 2, "%s", b);
	free(frame);
	free(a);
	free(b);

	/* A late, lower report (an older message) keeps the count. */
	progress_filtered(pg, 0, 10);
	progress_filtered(pg, 1, 0);
	frame = draw(pg);
	a = line_of(frame, "orders");
	b = line_of(frame, "users");
	cr_assert(strstr(a, "  restarts 1  filtered 5120") != NULL, "%s", a);
	cr_assert(strstr(b, "  restarts 0  filtered 0") != NULL, "%s", b);
	free(frame);
	free(a);
	free(b);

	/* 80 columns: each line one row of 79, the restarts still in it. */
	set_width(80);
	frame = draw(pg);
	a = line_of(frame, "orders");
	cr_assert_eq(strlen(a), 79, "%s", a);
	cr_assert(strstr(a, "  restarts 1") != NULL, "%s", a);
	free(frame);
	free(a);
	progress_free(pg);
}
