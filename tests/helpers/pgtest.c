/*
 * pgtest.c - a throwaway PostgreSQL server for a test program (pgtest.h).
 */
#include "pgtest.h"

#include <stdarg.h>
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

PGconn *pgt_connect(void)
{
	const char *skip = getenv("AGG_PG_SKIP");
	PGconn *c;

	if (skip)
		cr_assert_fail("no PostgreSQL server: %s", skip);
	c = PQconnectdb("");
	if (PQstatus(c) != CONNECTION_OK)
		cr_assert_fail("cannot connect to PostgreSQL: %s",
			       PQerrorMessage(c));
	return c;
}

void pgt_sql(PGconn *c, const char *fmt, ...)
{
	va_list ap;
	char *text;
	PGresult *res;

	va_start(ap, fmt);
	cr_assert(vasprintf(&text, fmt, ap) > 0);
	va_end(ap);
	res = PQexec(c, text);
	cr_assert(PQresultStatus(res) == PGRES_COMMAND_OK ||
		  PQresultStatus(res) == PGRES_TUPLES_OK,
		  "%s: %s", text, PQerrorMessage(c));
	PQclear(res);
	free(text);
}

void pgt_load_csv(PGconn *c, const char *table, const char *csv,
		  bool header)
{
	PGresult *res;
	char *q;

	cr_assert(asprintf(&q, "COPY %s FROM STDIN (FORMAT csv%s)", table,
			   header ? ", HEADER" : "") > 0);
	res = PQexec(c, q);
	cr_assert_eq(PQresultStatus(res), PGRES_COPY_IN, "%s: %s", q,
		     PQerrorMessage(c));
	PQclear(res);
	cr_assert_eq(PQputCopyData(c, csv, (int)strlen(csv)), 1);
	cr_assert_eq(PQputCopyEnd(c, NULL), 1);
	res = PQgetResult(c);
	cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s: %s", q,
		     PQerrorMessage(c));
	PQclear(res);
	while ((res = PQgetResult(c)))
		PQclear(res);
	free(q);
}

char *pgt_copy_csv(PGconn *c, const char *fmt, ...)
{
	char *q, *query, *out = NULL, *buf;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	PGresult *res;
	va_list ap;
	int n;

	va_start(ap, fmt);
	cr_assert(vasprintf(&query, fmt, ap) > 0);
	va_end(ap);
	cr_assert(asprintf(&q, "COPY (%s) TO STDOUT (FORMAT csv, HEADER)",
			   query) > 0);
	res = PQexec(c, q);
	cr_assert_eq(PQresultStatus(res), PGRES_COPY_OUT, "%s: %s", q,
		     PQerrorMessage(c));
	PQclear(res);
	while ((n = PQgetCopyData(c, &buf, 0)) > 0) {
		fwrite(buf, 1, (size_t)n, f);
		PQfreemem(buf);
	}
	cr_assert_eq(n, -1, "%s: %s", q, PQerrorMessage(c));
	while ((res = PQgetResult(c)))
		PQclear(res);
	fclose(f);
	free(q);
	free(query);
	return out;
}
