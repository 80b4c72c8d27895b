/*
 * test_log.c - the event lines of common/log.c, written into a file
 * that stands in for stderr: JSON lines parse with jansson whatever the
 * values hold (quotes, control characters, invalid UTF-8, values longer
 * than a line), text values are quoted when they need it, levels follow
 * -q / -v, and the redraw prefix appears only while progress is shown.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/log.h"
#include "helpers/testutil.h"

static char *dir, *path;
static int saved_stderr = -1;

static void setup(void)
{
	int fd;

	tu_watchdog(60);
	dir = tu_tmpdir();
	path = tu_path(dir, "stderr");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

/* Everything logged so far; stderr is put back.  Caller frees. */
static char *logged(void)
{
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	saved_stderr = -1;
	return tu_read(path, NULL);
}

static void teardown(void)
{
	if (saved_stderr >= 0) {
		dup2(saved_stderr, STDERR_FILENO);
		close(saved_stderr);
	}
	log_set_redraw(false);
	log_init(0, false);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

TestSuite(log, .init = setup, .fini = teardown);

Test(log, json_lines_parse_whatever_the_values_hold)
{
	char *longv = malloc(10001), *text, *save = NULL;
	const char *nasty = "quote\" back\\ nl\n tab\t bell\a bad\xff\xfe "
			    "cut\xe2\x82 ok\xe2\x82\xac surrogate\xed\xa0\x80";
	int lines = 0;

	memset(longv, 'x', 10000);
	longv[10000] = '\0';
	longv[5000] = '\xc3'; /* a lone lead byte in the middle */
	log_init(1, true);
	log_event(LOG_WARN, "p\"1", "restarted", "cause", nasty, NULL);
	log_event(LOG_ERROR, NULL, "failed", "long", longv, "after", "x", NULL);
	log_event(LOG_DEBUG, "p", "started", "attempt", "1", NULL);
	free(longv);
	text = logged();
	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_error_t e;
		json_t *o = json_loads(line, 0, &e);

		cr_assert_not_null(o, "not JSON (%s): %.200s", e.text, line);
		cr_assert(json_is_string(json_object_get(o, "ts")));
		cr_assert(json_is_string(json_object_get(o, "level")));
		if (lines == 0) {
			cr_assert_str_eq(json_string_value(json_object_get(o,
					 "provider")), "p\"1");
			cr_assert_str_eq(json_string_value(json_object_get(o,
					 "cause")),
					 "quote\" back\\ nl\n tab\t bell\a "
					 "bad\xef\xbf\xbd\xef\xbf\xbd cut\xef\xbf\xbd"
					 "\xef\xbf\xbd ok\xe2\x82\xac surrogate"
					 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
		}
		if (lines == 1)
			cr_assert_lt(strlen(line), 4000);
		json_decref(o);
		lines++;
	}
	cr_assert_eq(lines, 3);
	free(text);
}

Test(log, text_values_quoted_and_levels_follow_verbosity)
{
	char *text;

	log_init(-1, false); /* -q */
	log_event(LOG_INFO, "p", "finished", "records", "1", NULL);
	log_event(LOG_DEBUG, "p", "started", NULL);
	log_event(LOG_WARN, "p", "restarted", "cause", "killed by SIGSEGV",
		  "attempt", "2", NULL);
	log_event(LOG_ERROR, NULL, "failed", "cause", "a=b \"c\"", NULL);
	log_init(0, false);
	log_event(LOG_DEBUG, "p", "hidden", NULL);
	log_event(LOG_INFO, "p", "shown", "empty", "", NULL);
	log_init(1, false);
	log_event(LOG_DEBUG, "p", "debug-shown", NULL);
	log_set_redraw(true);
	log_event(LOG_INFO, NULL, "redrawn", NULL);
	text = logged();
	cr_assert(strstr(text, "finished") == NULL, "%s", text);
	cr_assert(strstr(text, "provider=p started") == NULL, "%s", text);
	cr_assert(strstr(text, "hidden") == NULL, "%s", text);
	cr_assert(strstr(text, "Z warn provider=p restarted cause=\"killed by SIGSEGV\" "
			       "attempt=2\n") != NULL, "%s", text);
	cr_assert(strstr(text, "Z error failed cause=\"a=b \\\"c\\\"\"\n") != NULL,
		  "%s", text);
	cr_assert(strstr(text, "Z info provider=p shown empty=\"\"\n") != NULL,
		  "%s", text);
	cr_assert(strstr(text, "Z debug provider=p debug-shown\n") != NULL, "%s",
		  text);
	/* Only the line logged while progress is drawn erases the block. */
	cr_assert(strstr(text, "\r\033[J") != NULL, "%s", text);
	cr_assert(strstr(text, "\r\033[J") == strstr(text, "\r\033[J2"), "%s",
		  text);
	cr_assert(strstr(strstr(text, "\r\033[J"), "redrawn") != NULL, "%s", text);
	cr_assert_eq(strchr(text, '\033'), strrchr(text, '\033'), "%s", text);
	free(text);
}
