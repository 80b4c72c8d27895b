/*
 * proctitle.c - process titles (see proctitle.h).
 *
 * Linux shows /proc/PID/cmdline, which is the memory where argv[] strings
 * live.  The environment strings usually follow them; we copy argv and
 * environ to the heap so the whole contiguous area can be overwritten with
 * the title, then NUL-padded.  The short comm name stays "aggregate" (as
 * PostgreSQL leaves "postgres"), so pgrep and killall find every process.
 */
#include "proctitle.h"

#include <stdlib.h>
#include <string.h>

extern char **environ;

static char *area;       /* start of argv[0] */
static size_t area_len;  /* contiguous bytes we may overwrite */
/* The copies live for the whole process; volatile so the stores that keep
 * them reachable (for leak checkers) are not optimised away. */
static char **volatile saved_argv;
static char **volatile saved_env;

char **proctitle_init(int argc, char **argv)
{
	char **copy, **env;
	char *end;
	int n = 0;

	copy = calloc((size_t)argc + 1, sizeof *copy);
	if (copy == NULL)
		return NULL;
	saved_argv = copy;
	for (int i = 0; i < argc; i++)
		if ((copy[i] = strdup(argv[i])) == NULL)
			return NULL;

	end = argv[0];
	for (int i = 0; i < argc; i++)
		if (argv[i] == end)
			end = argv[i] + strlen(argv[i]) + 1;
	for (n = 0; environ[n]; n++)
		;
	env = calloc((size_t)n + 1, sizeof *env);
	if (env == NULL)
		return copy;
	saved_env = env;
	for (int i = 0; i < n; i++) {
		if (environ[i] == end)
			end = environ[i] + strlen(environ[i]) + 1;
		if ((env[i] = strdup(environ[i])) == NULL)
			return copy;
	}
	environ = env;
	area = argv[0];
	area_len = (size_t)(end - argv[0]);
	return copy;
}

void proctitle_set(const char *title)
{
	size_t n;

	if (area && area_len > 1) {
		n = strlen(title);
		if (n > area_len - 1)
			n = area_len - 1;
		memcpy(area, title, n);
		memset(area + n, 0, area_len - n);
	}

}
