/*
 * metrics.c - the Prometheus textfile (see metrics.h).
 *
 * Written with stdio into a temporary beside FILE (outfile.h: a dot name,
 * which the textfile collector, reading only *.prom, ignores), fsync'd,
 * and renamed over FILE.  The previous file is read first, for its
 * last-success timestamp.
 */
#include "metrics.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../aggregator/outfile.h"
#include "sup_child.h"

static const char *const statuses[] = { "ok", "failed", "stopped" };

/*
 * The value of aggregate_last_success_timestamp_seconds in the file at
 * path, or 0 when there is none.
 */
static double previous_success(const char *path)
{
	static const char name[] = "aggregate_last_success_timestamp_seconds ";
	char line[512];
	double v = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, name, sizeof name - 1) == 0) {
			char *end;
			double d = strtod(line + sizeof name - 1, &end);

			if (end != line + sizeof name - 1 && d >= 0)
				v = d;
		}
	fclose(f);
	return v;
}

/* A label value: backslash, double quote and newline escaped. */
static void put_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void head(FILE *f, const char *name, const char *type,
		 const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One labelled sample per provider that ran, of a per-provider value. */
enum pv { PV_RECORDS, PV_REJECTS, PV_FILTERED, PV_RESTARTS, PV_SECONDS };

static void per_provider(FILE *f, const struct cfg *cfg,
			 const struct metrics_run *run, const char *name,
			 enum pv which)
{
	for (int i = 0; i < cfg->nproviders; i++) {
		const struct metrics_prov *p = &run->prov[i];

		if (p->status == NULL)
			continue;
		fprintf(f, "%s{provider=\"", name);
		put_label(f, cfg->providers[i].name);
		fputs("\"} ", f);
		switch (which) {
		case PV_RECORDS:
			fprintf(f, "%llu\n", (unsigned long long)p->records);
			break;
		case PV_REJECTS:
			fprintf(f, "%llu\n", (unsigned long long)p->rejects);
			break;
		case PV_FILTERED:
			fprintf(f, "%llu\n", (unsigned long long)p->filtered);
			break;
		case PV_RESTARTS:
			fprintf(f, "%d\n", p->restarts);
			break;
		case PV_SECONDS:
			fprintf(f, "%.3f\n", p->seconds);
			break;
		}
	}
}

/*
 * The per-provider series, in the order the file lists them; a `where`
 * one only when a where can drop records (as the summary's column).
 */
static const struct series {
	const char *name, *type, *help;
	enum pv which;
	bool where;
} prov_series[] = {
	{ "aggregate_provider_records_total", "counter",
	  "Records counted from the provider in the last run.", PV_RECORDS, false },
	{ "aggregate_provider_rejects_total", "counter",
	  "Input rejected by the provider in the last run.", PV_REJECTS, false },
	{ "aggregate_provider_filtered_total", "counter",
	  "Records of the provider that a where dropped in the last run.",
	  PV_FILTERED, true },
	{ "aggregate_provider_restarts_total", "counter",
	  "Restarts of the provider in the last run.", PV_RESTARTS, false },
	{ "aggregate_provider_duration_seconds", "gauge",
	  "Seconds from the provider's first start to its end in the last run.",
	  PV_SECONDS, false },
};

static void write_body(FILE *f, const struct cfg *cfg,
		       const struct metrics_run *run, double now,
		       double last_success)
{
	if (cfg != NULL && run->prov != NULL) {
		bool where = sup_child_any_where(cfg);

		for (size_t k = 0; k < sizeof prov_series / sizeof *prov_series;
		     k++) {
			const struct series *m = &prov_series[k];

			if (m->where && !where)
				continue;
			head(f, m->name, m->type, m->help);
			per_provider(f, cfg, run, m->name, m->which);
		}
		head(f, "aggregate_provider_status", "gauge",
		     "Status of the provider at the end of the last run: 1 for the one it has.");
		for (int i = 0; i < cfg->nproviders; i++) {
			const struct metrics_prov *p = &run->prov[i];

			if (p->status == NULL)
				continue;
			for (size_t k = 0; k < sizeof statuses / sizeof *statuses;
			     k++) {
				fputs("aggregate_provider_status{provider=\"", f);
				put_label(f, cfg->providers[i].name);
				fprintf(f, "\",status=\"%s\"} %d\n", statuses[k],
					strcmp(p->status, statuses[k]) == 0);
			}
		}
	}
	head(f, "aggregate_run_success", "gauge",
	     "1 when the last run succeeded (exit status 0), else 0.");
	fprintf(f, "aggregate_run_success %d\n", run->exit_code == 0);
	head(f, "aggregate_run_exit_code", "gauge",
	     "Exit status of the last run.");
	fprintf(f, "aggregate_run_exit_code %d\n", run->exit_code);
	head(f, "aggregate_run_duration_seconds", "gauge",
	     "Seconds the last run took.");
	fprintf(f, "aggregate_run_duration_seconds %.3f\n", run->seconds);
	head(f, "aggregate_run_rows_written", "gauge",
	     "Rows the last run wrote, every output counted.");
	fprintf(f, "aggregate_run_rows_written %llu\n",
		(unsigned long long)run->rows);
	head(f, "aggregate_run_timestamp_seconds", "gauge",
	     "Unix time at which the last run ended.");
	fprintf(f, "aggregate_run_timestamp_seconds %.3f\n", now);
	head(f, "aggregate_last_success_timestamp_seconds", "gauge",
	     "Unix time at which a run last succeeded (0: never).");
	fprintf(f, "aggregate_last_success_timestamp_seconds %.3f\n",
		last_success);
}

int metrics_write(const char *path, const struct cfg *cfg,
		  const struct metrics_run *run, char *err, size_t errlen)
{
	struct timespec ts;
	struct outfile of;
	double now, last;
	FILE *f = NULL;
	int fd = -1, rc = -1;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	last = run->exit_code == 0 ? now : previous_success(path);
	if (outfile_open(&of, path, "metrics file", 0, err, errlen) < 0)
		return -1;
	/* Scrapers run as other users: the usual mode of a new file. */
	if (!of.stream)
		(void)fchmod(of.fd, 0644);
	/* stdio on a duplicate: fclose() leaves of.fd to outfile_commit(). */
	fd = dup(of.fd);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "cannot write metrics %s: %s", path,
			 strerror(errno));
		goto out_abort;
	}
	fd = -1;
	write_body(f, cfg, run, now, last);
	if (fflush(f) != 0 || ferror(f)) {
		snprintf(err, errlen, "cannot write metrics %s: %s", path,
			 strerror(errno));
		goto out_abort;
	}
	if (fclose(f) != 0) {
		f = NULL;
		snprintf(err, errlen, "cannot write metrics %s: %s", path,
			 strerror(errno));
		goto out_abort;
	}
	f = NULL;
	rc = outfile_commit(&of, err, errlen);
	goto out;

out_abort:
	outfile_abort(&of);
out:
	if (f != NULL)
		fclose(f);
	if (fd >= 0)
		close(fd);
	return rc;
}
