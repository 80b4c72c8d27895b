/*
 * pgtest.c - a throwaway PostgreSQL server for a test program (pgtest.h).
 */
#include "pgtest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

char *pgt_copy_csv_try(PGconn *c, const char *query, char **why)
{
	char *q, *out = NULL, *buf;
	size_t len = 0;
	FILE *f;
	PGresult *res;
	int n;

	*why = NULL;
	cr_assert(asprintf(&q, "COPY (%s) TO STDOUT (FORMAT csv, HEADER)",
			   query) > 0);
	res = PQexec(c, q);
	free(q);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		*why = strdup(PQerrorMessage(c));
		PQclear(res);
		return NULL;
	}
	PQclear(res);
	f = open_memstream(&out, &len);
	cr_assert_not_null(f);
	while ((n = PQgetCopyData(c, &buf, 0)) > 0) {
		fwrite(buf, 1, (size_t)n, f);
		PQfreemem(buf);
	}
	fclose(f);
	if (n != -1)
		*why = strdup(PQerrorMessage(c));
	/* An error while the rows went out (division by zero) comes here. */
	while ((res = PQgetResult(c)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && *why == NULL)
			*why = strdup(PQerrorMessage(c));
		PQclear(res);
	}
	if (*why != NULL) {
		free(out);
		return NULL;
	}
	return out;
}

char *pgt_copy_csv(PGconn *c, const char *fmt, ...)
{
	char *query, *out, *why;
	va_list ap;

	va_start(ap, fmt);
	cr_assert(vasprintf(&query, fmt, ap) > 0);
	va_end(ap);
	out = pgt_copy_csv_try(c, query, &why);
	cr_assert_not_null(out, "%s: %s", query, why);
	free(query);
	return out;
}

void pgt_expect_csv(PGconn *c, const char *got, const char *what,
		    const char *fmt, ...)
{
	char *query, *want;
	va_list ap;

	va_start(ap, fmt);
	cr_assert(vasprintf(&query, fmt, ap) > 0);
	va_end(ap);
	want = pgt_copy_csv(c, "%s", query);
	cr_assert_str_eq(got, want, "%s\naggregate:\n%s\nPostgreSQL:\n%s",
			 what, got, want);
	free(want);
	free(query);
}

void pgt_table(PGconn *c, const char *table, const char *columns,
	       const char *csv, bool header)
{
	pgt_sql(c, "CREATE TEMP TABLE IF NOT EXISTS %s (%s)", table, columns);
	pgt_sql(c, "TRUNCATE %s", table);
	pgt_load_csv(c, table, csv, header);
}

void pgt_fixture_open(struct pgt_fixture *fx, const char *prefix,
		      unsigned watchdog)
{
	tu_watchdog(watchdog);
	fx->dir = tu_tmpdir();
	fx->db = pgt_connect();
	snprintf(fx->table, sizeof fx->table, "%s_%ld", prefix,
		 (long)getpid());
}

void pgt_fixture_close(struct pgt_fixture *fx)
{
	PQfinish(fx->db);
	fx->db = NULL;
	tu_tmpdir_free(&fx->dir);
}

char *pgt_run(const struct pgt_fixture *fx, const char *conf,
	      struct tu_result *r)
{
	struct tu_result own;
	char *out;

	if (r == NULL)
		r = &own;
	tu_put(fx->dir, "t.conf", conf);
	tu_run(r, fx->dir, (const char *[]){ "-c", "t.conf", NULL }, NULL);
	cr_assert_eq(r->status, 0, "exit %d:\n%s\n%s", r->status, r->err,
		     conf);
	if (r == &own)
		tu_result_free(&own);
	out = tu_get(fx->dir, "out.csv");
	cr_assert_not_null(out);
	return out;
}
