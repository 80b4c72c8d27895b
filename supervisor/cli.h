/*
 * cli.h - the aggregate command line: its options read into one struct,
 * the usage text, and the usage errors (exit 64) in one form.
 * `aggregate state DIR` is answered here whole (incr_show); `aggregate
 * merge` sets merge and the partials.  What the options mean for a run
 * (the config, the lock, the supervisor) is main.c's.
 */
#ifndef AGG_CLI_H
#define AGG_CLI_H

#include <stdbool.h>

#ifndef AGG_VERSION
#define AGG_VERSION "0.1.0"
#endif

/* The options as given; cli_parse() fills in the defaults first. */
struct cli_opts {
	const char *config;     /* -c, default providers.conf */
	const char *output;     /* -o */
	const char *only;       /* --only NAME,... */
	bool check;
	int jobs;               /* -j, 0: not given */
	int progress;           /* -1: when stderr is a TTY */
	int verbosity;          /* -1 -q, 0, 1 -v */
	bool json_logs;
	const char *metrics;
	const char *trace;
	const char *shard;      /* --shard I/N */
	int shards;             /* --shards N, 0: not given */
	const char *partial;    /* --partial FILE */
	const char *state;      /* --state DIR */
	bool full;              /* --full */
	bool merge;             /* aggregate merge PARTIAL... */
	char **parts;           /* the partials to merge, in argv */
	int nparts;
};

/*
 * Read argv into *o.  Returns -1 to go on with the run, or the exit status
 * to leave with: 0 after --help, --version or `aggregate state`, 64 after
 * a usage error (said on stderr).
 */
int cli_parse(int argc, char **argv, struct cli_opts *o);

/*
 * Say "aggregate: " fmt (with arg) and where help is on stderr.  Returns
 * 64, the usage error's exit status.
 */
int cli_usage_error(const char *fmt, const char *arg);

#endif
