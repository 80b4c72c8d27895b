/*
 * pgtest.c - a throwaway PostgreSQL server for a test program (pgtest.h).
 */
#include "pgtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static char *own_cluster; /* the folder of the cluster we started, if any */

/* Apply the "export A='x' B=y" lines pg-test.sh prints. */
static void apply_exports(char *text)
{
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *p = line;

		if (strncmp(p, "export ", 7) != 0)
			continue;
		p += 7;
		while (*p) {
			char *name = p, *eq = strchr(p, '='), *v, *w;

			if (eq == NULL)
				break;
			*eq = '\0';
			v = w = eq + 1;
			p = v;
			while (*p && *p != ' ') {
				if (*p == '\'') {
					for (p++; *p && *p != '\''; p++)
						*w++ = *p;
					if (*p)
						p++;
				} else {
					*w++ = *p++;
				}
			}
			if (*p == ' ')
				p++;
			*w = '\0';
			setenv(name, v, 1);
		}
	}
}

void pgt_start(void)
{
	char *cmd, *out, *err;
	int status;

	if (getenv("PGHOST") && *getenv("PGHOST"))
		return;
	own_cluster = tu_tmpdir();
	out = tu_path(own_cluster, "env");
	err = tu_path(own_cluster, "log");
	if (asprintf(&cmd, "sh '%s/scripts/pg-test.sh' start '%s/pg' >'%s' 2>'%s'",
		     tu_srcdir(), own_cluster, out, err) < 0)
		abort();
	status = system(cmd);
	if (status == 0) {
		char *text = tu_read(out, NULL);

		if (text)
			apply_exports(text);
		free(text);
	} else {
		char *text = tu_read(err, NULL);

		setenv("AGG_PG_SKIP", text && *text ? text : "pg-test.sh failed", 1);
		free(text);
	}
	free(cmd);
	free(out);
	free(err);
}

void pgt_stop(void)
{
	char *cmd;

	if (own_cluster == NULL)
		return;
	if (asprintf(&cmd, "sh '%s/scripts/pg-test.sh' stop '%s/pg'",
		     tu_srcdir(), own_cluster) >= 0) {
		if (system(cmd) != 0)
			fprintf(stderr, "pgtest: pg-test.sh stop failed\n");
		free(cmd);
	}
	tu_rmrf(own_cluster);
	free(own_cluster);
	own_cluster = NULL;
}
