/*
 * main.c - the aggregate program: the options (read by cli.c), the config,
 * the lock, --check's probes, then the supervisor, and the run's account
 * at the end.  Exit statuses are the user contract's (sup.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../providers/provider.h"
#include "../common/clock.h"
#include "../common/config.h"
#include "../common/log.h"
#include "metrics.h"
#include "par.h"
#include "../aggregator/outfile.h"
#include "../aggregator/output.h"
#include "../aggregator/partial.h"
#include "cli.h"
#include "incr.h"
#include "progress.h"
#include "shard.h"
#include "../common/proctitle.h"
#include "sup.h"
#include "sup_child.h"
#include "../common/trace.h"
#include "trace_out.h"

static const char *type_name(enum cfg_provider_type t)
{
	switch (t) {
	case CFG_PROV_HTTP:
		return "http";
	case CFG_PROV_POSTGRES:
		return "postgres";
	case CFG_PROV_SQLITE:
		return "sqlite";
	case CFG_PROV_FILE:
		return "file";
	}
	return "?";
}

/*
 * --check: check that the output, reject file and metrics folders exist
 * and are writable (a line "KEY file error MESSAGE" per problem), then
 * probe each provider without reading its data; one line each on stdout,
 * "NAME TYPE ok|error|disabled MESSAGE".  Returns 0 when every file can be
 * written and every enabled provider answers; else 78 when a source's
 * columns do not fit the config (a field that matches no column), else 1.
 * Messages never hold a secret (each type's check() promises it).
 */
static int run_check(const struct cfg *cfg, const char *metrics,
		     const char *trace)
{
	const struct {
		const char *key, *path, *what;
		unsigned flags;
	} files[] = {
		{ "output", cfg->format != CFG_FMT_POSTGRES ? cfg->output
							     : NULL, "output",
		  OUTFILE_STDOUT },
		{ "reject_file", cfg->reject_file, "reject file", 0 },
		{ "metrics_file", metrics, "metrics file", 0 },
		{ "trace_file", trace, "trace file", 0 },
	};
	int failed = 0, config = 0;
	struct cfg view; /* the fields a provider reads: not the derived */

	/* Where the run writes: each problem on a line of its own. */
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char msg[1024];

		if (files[i].path == NULL ||
		    outfile_check(files[i].path, files[i].what, files[i].flags,
				  msg, sizeof msg) == 0)
			continue;
		printf("%-20s %-8s %-8s %s\n", files[i].key, "file", "error",
		       msg);
		failed++;
	}
	for (int i = 0; i < cfg->noutputs; i++) {
		const struct cfg_output *o = &cfg->outputs[i];
		char msg[1024], key[80];

		if (o->format == CFG_FMT_POSTGRES ||
		    outfile_check(o->output, "output", OUTFILE_STDOUT, msg,
				  sizeof msg) == 0)
			continue;
		snprintf(key, sizeof key, "output %s", o->name);
		printf("%-20s %-8s %-8s %s\n", key, "file", "error", msg);
		failed++;
	}

	cfg_provider_view(cfg, &view);
	for (int i = 0; i < cfg->nproviders; i++) {
		const struct cfg_provider *p = &cfg->providers[i];
		const struct prov_ops *ops = prov_ops_for(p->type);
		char msg[512] = "";
		int rc;

		if (!p->enabled) {
			printf("%-20s %-8s disabled\n", p->name,
			       type_name(p->type));
			continue;
		}
		if (ops == NULL || ops->check == NULL) {
			printf("%-20s %-8s error    provider type not built in\n",
			       p->name, type_name(p->type));
			failed++;
			continue;
		}
		rc = ops->check(&view, p, msg, sizeof msg);
		for (char *c = msg; *c; c++)
			if (*c == '\n' || *c == '\r')
				*c = ' ';
		printf("%-20s %-8s %-8s %s\n", p->name, type_name(p->type),
		       rc == 0 ? "ok" : "error", msg);
		if (rc != 0)
			failed++;
		if (rc == PROV_CHECK_CONFIG)
			config++;
		if (rc == 0)
			par_report(p);
	}
	fflush(stdout);
	return config ? EXIT_CONFIG : failed ? EXIT_FAILED : EXIT_OK;
}

/* --log-format json: the summary as events, so every line is JSON. */
static void log_summary(const struct cfg *cfg, const struct metrics_run *mr)
{
	char rec[32], rej[32], rs[32], secs[32], rate[32], filt[32];
	bool where = sup_child_any_where(cfg);

	for (int i = 0; mr->prov && i < cfg->nproviders; i++) {
		const struct metrics_prov *p = &mr->prov[i];

		if (p->status == NULL)
			continue;
		snprintf(rec, sizeof rec, "%llu", (unsigned long long)p->records);
		snprintf(rej, sizeof rej, "%llu", (unsigned long long)p->rejects);
		snprintf(rs, sizeof rs, "%d", p->restarts);
		snprintf(secs, sizeof secs, "%.2f", p->seconds);
		snprintf(rate, sizeof rate, "%.0f",
			 p->seconds > 0 ? (double)p->records / p->seconds : 0.0);
		snprintf(filt, sizeof filt, "%llu",
			 (unsigned long long)p->filtered);
		log_event(LOG_INFO, cfg->providers[i].name, "summary", "status",
			  p->status, "records", rec, "rejects", rej, "restarts",
			  rs, "seconds", secs, "records_per_second", rate,
			  where ? "filtered" : NULL, filt, NULL);
	}
	snprintf(secs, sizeof secs, "%.2f", mr->seconds);
	snprintf(rec, sizeof rec, "%llu", (unsigned long long)mr->rows);
	snprintf(rs, sizeof rs, "%d", mr->exit_code);
	log_event(LOG_INFO, NULL, "total", "seconds", secs, "rows_written", rec,
		  "exit_status", rs, NULL);
}

/*
 * Rejects are warnings, so that -q still tells them: one line per provider
 * that had any, saying where they were written; a provider that gave no
 * record at all because every one was rejected says so.
 */
static void warn_rejects(const struct cfg *cfg, const struct metrics_prov *st)
{
	const char *where = cfg->reject_file ? cfg->reject_file : "none";
	char rej[32], rec[32];

	for (int i = 0; st && i < cfg->nproviders; i++) {
		if (st[i].status == NULL || st[i].rejects == 0)
			continue;
		snprintf(rej, sizeof rej, "%llu",
			 (unsigned long long)st[i].rejects);
		snprintf(rec, sizeof rec, "%llu",
			 (unsigned long long)st[i].records);
		log_event(LOG_WARN, cfg->providers[i].name,
			  st[i].records == 0 ? "every record rejected"
					     : "records rejected",
			  "rejects", rej, "records", rec, "reject_file", where,
			  NULL);
	}
}

/* The run's lock (take_lock). */
struct run_lock {
	int fd;          /* -1: no lock */
	char *path;      /* the lock file */
	bool runtime;    /* ours in a runtime folder: removed at the end */
};

/*
 * Open and flock path.  Returns 0, or -1 with *exit_code set: 75 when
 * another run holds it.  A runtime lock is removed by its holder at the
 * end, so one opened just before that is checked to be still the file at
 * path, or opened again.
 */
static int lock_path(struct run_lock *lk, int *exit_code)
{
	struct stat fst, pst;
	char buf[32];
	ssize_t n;
	int fd;

	for (;;) {
		fd = open(lk->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			log_event(LOG_ERROR, NULL, "cannot open lock file",
				  "path", lk->path, "cause", strerror(errno),
				  NULL);
			*exit_code = EXIT_FAILED;
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			n = pread(fd, buf, sizeof buf - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			log_event(LOG_ERROR, NULL, "another run holds the lock",
				  "path", lk->path, "pid",
				  buf[0] ? buf : "unknown", NULL);
			close(fd);
			*exit_code = EXIT_TEMPFAIL;
			return -1;
		}
		if (!lk->runtime ||
		    (fstat(fd, &fst) == 0 && stat(lk->path, &pst) == 0 &&
		     fst.st_dev == pst.st_dev && fst.st_ino == pst.st_ino))
			break;
		close(fd); /* removed by the run that held it: again */
	}
	lk->fd = fd;
	n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		log_event(LOG_WARN, NULL, "cannot write pid to lock file",
			  "path", lk->path, NULL);
	return 0;
}

/*
 * Take the run's lock: lock_file when it is set; else, for an output that
 * is a file or a FIFO, one named after its real path in a runtime folder
 * (outfile_lock_path), so that nothing is left beside the output and two
 * configs that name one output differently still exclude each other.
 * stdout, a character device and PostgreSQL take none.  A missing output
 * folder is reported as such first.  Returns 0, or -1 with *exit_code set
 * (75 when another run holds the lock).
 */
static int take_lock(const struct cfg *cfg, struct run_lock *lk,
		     int *exit_code)
{
	struct outfile_loc loc = { 0 };
	char err[1024];
	int rc = -1;

	*lk = (struct run_lock){ .fd = -1 };
	if (cfg->format != CFG_FMT_POSTGRES &&
	    outfile_locate(cfg->output, "output", OUTFILE_STDOUT, &loc, err,
			   sizeof err) < 0) {
		log_event(LOG_ERROR, NULL, err, NULL);
		*exit_code = EXIT_FAILED;
		goto out;
	}
	if (cfg->lock_file != NULL) {
		lk->path = strdup(cfg->lock_file);
	} else if (loc.real != NULL && (!loc.stream || loc.fifo)) {
		lk->path = outfile_lock_path(loc.real);
		lk->runtime = true;
	} else {
		rc = 0;
		goto out;
	}
	if (lk->path == NULL) {
		log_event(LOG_ERROR, NULL, "out of memory", NULL);
		*exit_code = EXIT_FAILED;
		goto out;
	}
	rc = lock_path(lk, exit_code);
out:
	if (rc < 0) {
		free(lk->path);
		lk->path = NULL;
	}
	free(loc.real);
	return rc;
}

/*
 * A shard's lock: on its partial's real path, in a runtime folder, so that
 * a retried shard and a late first attempt never write it at once; the
 * outputs are the merge's.  Returns 0, or -1 with *exit_code set.
 */
static int take_partial_lock(const char *partial, struct run_lock *lk,
			     int *exit_code)
{
	struct outfile_loc loc = { 0 };
	char err[1024];
	int rc = -1;

	*lk = (struct run_lock){ .fd = -1, .runtime = true };
	if (outfile_locate(partial, "partial", 0, &loc, err, sizeof err) < 0) {
		log_event(LOG_ERROR, NULL, err, NULL);
		*exit_code = EXIT_FAILED;
		return -1;
	}
	lk->path = loc.real ? outfile_lock_path(loc.real) : NULL;
	if (loc.real == NULL || loc.stream) {
		log_event(LOG_ERROR, NULL, "a partial must be a file", "path",
			  partial, NULL);
		*exit_code = EXIT_USAGE;
	} else if (lk->path == NULL) {
		log_event(LOG_ERROR, NULL, "out of memory", NULL);
		*exit_code = EXIT_FAILED;
	} else {
		rc = lock_path(lk, exit_code);
	}
	if (rc < 0) {
		free(lk->path);
		lk->path = NULL;
	}
	free(loc.real);
	return rc;
}

/* Let go of the lock; a runtime lock file goes too (while still held). */
static void release_lock(struct run_lock *lk)
{
	if (lk->fd >= 0 && lk->runtime)
		unlink(lk->path);
	if (lk->fd >= 0)
		close(lk->fd);
	free(lk->path);
	*lk = (struct run_lock){ .fd = -1 };
}

/*
 * Under the lock: remove what killed runs left beside the files this run
 * writes (temporaries of dead processes, outfile_clean).
 */
static void clean_stale(const struct cfg *cfg, const char *metrics,
			const char *trace)
{
	if (cfg->format != CFG_FMT_POSTGRES)
		outfile_clean(cfg->output, OUTFILE_STDOUT);
	if (cfg->reject_file)
		outfile_clean(cfg->reject_file, 0);
	if (metrics)
		outfile_clean(metrics, 0);
	if (trace)
		outfile_clean(trace, 0);
}

/*
 * Make sure descriptors 0, 1 and 2 are open, as daemons do, before anything
 * else is opened: started with one closed (`2>&-`, some cron setups), the
 * next file opened (the lock, say) would take its number and receive what
 * is meant for it.  A closed one gets /dev/null.  Returns 0, or -1 (there
 * is nowhere to say why: the caller exits).
 */
static int std_fds_open(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int nfd;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* The lowest free number: fd itself. */
		nfd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (nfd != fd) {
			if (nfd >= 0)
				close(nfd);
			return -1;
		}
	}
	return 0;
}

/*
 * Raise the soft limit on open files to the hard one: every provider costs
 * the supervisor a few descriptors (sup_room.c says how many and checks).
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Write the metrics file, if there is one; a failure is only logged. */
static void write_metrics(const char *path, const struct cfg *cfg,
			  const struct metrics_run *run)
{
	char err[512];

	if (path == NULL)
		return;
	if (metrics_write(path, cfg, run, err, sizeof err) < 0)
		log_event(LOG_ERROR, NULL, "cannot write metrics", "cause", err,
			  NULL);
}

/*
 * Write the trace file, if the run is traced, and remove the run's trace
 * folder; a failure is only logged.
 */
static void write_trace(const char *path, int exit_code)
{
	char err[1024];

	if (path == NULL)
		return;
	if (trace_out_write(path, exit_code, AGG_VERSION, err, sizeof err) < 0)
		log_event(LOG_ERROR, NULL, "cannot write trace", "cause", err,
			  NULL);
	trace_stop();
}

int main(int argc, char **argv)
{
	struct cli_opts o;
	struct cfg cfg;
	struct sup_opts so = { 0 };
	struct metrics_run mr = { 0 };
	struct metrics_prov *stats = NULL;
	struct progress *pg = NULL;
	uint64_t rows = 0;
	uint64_t t0 = clock_ns();
	char err[CFG_ERR_MAX];
	char **args;
	struct run_lock lock;
	const char *trace;
	struct partial_set *ps = NULL;
	struct incr *inc = NULL;
	struct par *par = NULL;
	bool *whole = NULL;
	int cut = -1;
	int rc, code, shard = 0, nshards = 1, sharded = 0;

	if (std_fds_open() < 0)
		return EXIT_FAILED;
	raise_fd_limit();
	args = proctitle_init(argc, argv);
	if (args)
		argv = args;
	rc = cli_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	log_init(o.verbosity, o.json_logs);

	/* ${SHARD} and ${SHARDS} in the config: this shard's, 0 of 1 else. */
	if ((o.partial || o.shard || o.shards) && !o.merge &&
	    shard_resolve(o.shard, o.shards, &shard, &nshards, &sharded, err,
			  sizeof err) < 0)
		return cli_usage_error("%s", err);
	if (shard_setenv(shard, nshards) < 0)
		return EXIT_FAILED;
	if (cfg_load(o.config, &cfg, err, sizeof err, &code) < 0) {
		fprintf(stderr, "aggregate: %s\n", err);
		/* A broken config is a failed run for whoever watches metrics. */
		if (!o.check) {
			mr.exit_code = code;
			mr.seconds = (double)(clock_ns() - t0) / 1e9;
			write_metrics(o.metrics, NULL, &mr);
		}
		return code;
	}
	if ((o.only && cfg_select(&cfg, o.only, err, sizeof err) < 0) ||
	    (o.output && cfg_set_output(&cfg, o.output, err, sizeof err) < 0)) {
		fprintf(stderr, "aggregate: %s\n", err);
		cfg_free(&cfg);
		return EXIT_USAGE;
	}
	if (o.state) { /* --state over `state =` */
		free(cfg.state_dir);
		cfg.state_dir = strdup(o.state);
	}
	if (par_check_state(&cfg, err, sizeof err) < 0) {
		fprintf(stderr, "aggregate: %s\n", err);
		cfg_free(&cfg);
		return EXIT_CONFIG;
	}
	if ((o.partial || o.merge || cfg.state_dir) &&
	    partial_fingerprint(o.config, &cfg.fingerprint, err,
				sizeof err) < 0) {
		fprintf(stderr, "aggregate: %s\n", err);
		cfg_free(&cfg);
		return EXIT_NOINPUT;
	}
	if (o.merge) {
		rc = shard_merge_setup(&cfg, o.parts, o.nparts, o.partial, &ps);
		if (rc >= 0) {
			partial_set_free(ps);
			cfg_free(&cfg);
			return rc;
		}
	} else if (o.partial || sharded) {
		if (o.check)
			shard_report(&cfg, shard, nshards);
		shard_apply(&cfg, shard, nshards);
		cfg.partial = o.partial;
	}
	if (o.check) {
		/* First: an http provider's probe asks from its bookmark. */
		int st = cfg.state_dir && !cfg.partial
				 ? incr_check(&cfg, cfg.state_dir, o.full)
				 : EXIT_OK;

		if (cfg.state_dir && cfg.partial)
			printf("%-20s state    unused   a shard writes a "
			       "partial, not the state\n", "state");
		rc = run_check(&cfg, o.metrics ? o.metrics : cfg.metrics_file,
			       o.trace ? o.trace : cfg.trace_file);
		if (st != EXIT_OK && rc != EXIT_CONFIG)
			rc = st;
		cfg_free(&cfg);
		return rc;
	}

	if (cfg.partial ? take_partial_lock(cfg.partial, &lock, &code) < 0
			: take_lock(&cfg, &lock, &code) < 0) {
		partial_set_free(ps);
		cfg_free(&cfg);
		return code;
	}
	if (cfg.state_dir && cfg.partial && !o.merge)
		log_event(LOG_WARN, NULL, "a shard writes a partial: state is "
			  "not used", NULL);
	else if (cfg.state_dir && !o.merge &&
		 (rc = incr_begin(&cfg, cfg.state_dir, o.full, &inc)) >= 0) {
		release_lock(&lock);
		cfg_free(&cfg);
		return rc;
	}
	trace = o.trace ? o.trace : cfg.trace_file;
	if (cfg.partial) {
		outfile_clean(cfg.partial, 0);
		if (trace)
			outfile_clean(trace, 0);
	} else {
		clean_stale(&cfg, o.metrics ? o.metrics : cfg.metrics_file,
			    trace);
	}
	whole = calloc((size_t)cfg.nproviders + 1, sizeof *whole);
	if (whole == NULL) {
		log_event(LOG_ERROR, NULL, "out of memory", NULL);
		incr_end(inc, &cfg, EXIT_FAILED);
		release_lock(&lock);
		cfg_free(&cfg);
		return EXIT_FAILED;
	}
	if (trace && trace_start("supervisor", err, sizeof err) < 0) {
		log_event(LOG_ERROR, NULL, err, NULL);
		trace = NULL;
	}
again:
	if (par_expand(&cfg, whole, &par) < 0) {
		incr_end(inc, &cfg, EXIT_FAILED);
		release_lock(&lock);
		free(whole);
		cfg_free(&cfg);
		return EXIT_FAILED;
	}
	so.jobs = o.jobs;
	/* JSON logs get the summary as events (log_summary), not a table. */
	so.quiet = o.verbosity < 0 || o.json_logs;
	/*
	 * Progress by default only on a terminal, and not when the rows go to
	 * that same terminal (-o - on a TTY): they would be drawn over.
	 */
	so.progress = o.progress >= 0 ? o.progress
		    : isatty(STDERR_FILENO) &&
		      !(strcmp(cfg.output, "-") == 0 && isatty(STDOUT_FILENO));
	so.metrics_file = o.metrics ? o.metrics : cfg.metrics_file;
	if (so.progress) {
		pg = progress_new(STDERR_FILENO, &cfg);
		so.progress_block = pg;
		log_set_redraw(pg != NULL);
	}
	stats = calloc((size_t)cfg.nproviders + 1, sizeof *stats);
	so.stats = stats;
	so.rows_written = &rows;
	so.cut = &cut;
	so.tokens = incr_tokens(inc);
	rc = sup_run(&cfg, &so);
	if (cut >= 0) {
		/*
		 * A cut of a parallel read was inside a quoted field: nothing
		 * was written; the run again, with that file read whole.
		 */
		par_redo(&cfg, par, cut, whole);
		par_collapse(&cfg, par, NULL);
		log_set_redraw(false);
		progress_free(pg);
		pg = NULL;
		free(stats);
		goto again;
	}
	free(whole);
	rc = incr_end(inc, &cfg, rc); /* commits the state */
	par_collapse(&cfg, par, stats);
	log_set_redraw(false);
	for (int i = 0; ps && rc == EXIT_OK && i < cfg.nproviders; i++) {
		struct partial_prov pp;

		partial_set_prov(ps, i, &pp);
		if (pp.dropped)
			rc = EXIT_PARTIAL; /* as the shard's run was */
	}
	warn_rejects(&cfg, stats);
	if (cfg.partial && (rc == EXIT_OK || rc == EXIT_PARTIAL)) {
		log_event(LOG_INFO, NULL, "partial written", "to", cfg.partial,
			  NULL);
	} else if (rc == EXIT_OK || rc == EXIT_PARTIAL) {
		char where[512];

		/* Never the conninfo itself: it may hold a password. */
		out_describe(&cfg, where, sizeof where);
		if (strcmp(cfg.output, "-") != 0)
			log_event(LOG_INFO, NULL, "output written", "to", where,
				  NULL);
		for (int i = 0; i < cfg.noutputs; i++) {
			struct cfg v;

			cfg_output_view(&cfg, i, &v);
			out_describe(&v, where, sizeof where);
			if (strcmp(v.output, "-") != 0)
				log_event(LOG_INFO, NULL, "output written",
					  "output", v.output_name, "to", where,
					  NULL);
		}
	}
	mr.exit_code = rc;
	mr.seconds = (double)(clock_ns() - t0) / 1e9;
	mr.rows = rows;
	mr.prov = stats;
	if (o.json_logs)
		log_summary(&cfg, &mr);
	write_metrics(so.metrics_file, &cfg, &mr);
	write_trace(trace, rc);
	progress_free(pg);
	free(stats);
	release_lock(&lock);
	partial_set_free(ps);
	cfg_free(&cfg);
	return rc;
}
