/*
 * cli.c - the command line read into struct cli_opts: getopt_long over
 * the options table, the usage text, and usage errors in aggregate's own
 * words (getopt's would name argv[0]), with the nearest long option for a
 * typo.  Every usage error is exit 64 (EXIT_USAGE, sup.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../aggregator/partial.h"
#include "../common/config.h"
#include "cli.h"
#include "incr.h"
#include "sup.h"

/* -V says when this is a test build (fault hooks), for the test suite. */
#ifdef AGG_TESTING
#define AGG_BUILD_TAG " (test build)"
#else
#define AGG_BUILD_TAG ""
#endif

static const char usage_text[] =
	"usage: aggregate [-c FILE] [options]\n"
	"       aggregate merge [-c FILE] [options] PARTIAL...\n"
	"       aggregate state [-v] DIR     print an incremental state's bookmarks\n"
	"\n"
	"Pull records from HTTP APIs, PostgreSQL, SQLite and files at once; merge them.\n"
	"\n"
	"  -c, --config FILE     the config (default ./providers.conf)\n"
	"  -o, --output PATH     override [aggregate] output; - writes to stdout\n"
	"      --only NAME,...   run only these providers\n"
	"      --check           validate the config and probe each provider\n"
	"  -j, --jobs N          run at most N providers at once\n"
	"      --progress        live progress on stderr (default when a TTY)\n"
	"      --no-progress     no live progress\n"
	"  -q, --quiet           warnings and errors only, no summary\n"
	"  -v, --verbose         more log lines\n"
	"      --log-format F    text (default) or json\n"
	"      --metrics FILE    also write Prometheus metrics to FILE\n"
	"      --trace FILE      write a timeline of the run to FILE (Perfetto)\n"
	"      --shard I/N       run shard I of N (from 0) and write --partial\n"
	"      --shards N        N shards, I from JOB_COMPLETION_INDEX or Slurm\n"
	"      --partial FILE    write the aggregate state to FILE, not the outputs\n"
	"      --state DIR       read only what is new since DIR (--full: rebuild)\n"
	"  -V, --version, -h, --help   print the version, this help\n"
	"\n"
	"examples:\n"
	"  aggregate -c providers.conf --check      probe every provider\n"
	"  aggregate -c /etc/aggregate/providers.conf -q --metrics agg.prom\n"

	"exit status: 0 ok, 1 failed, 2 partial, 64 usage, 65 bad partial, 66 no\n"
	"config, 75 locked by another run, 78 bad config, 130/143 interrupted.\n"
	"See aggregate(1).\n";

enum {
	OPT_ONLY = 256,
	OPT_CHECK,
	OPT_PROGRESS,
	OPT_NO_PROGRESS,
	OPT_LOG_FORMAT,
	OPT_METRICS,
	OPT_TRACE,
	OPT_SHARD,
	OPT_SHARDS,
	OPT_PARTIAL,
	OPT_STATE,
	OPT_FULL,
};

static const struct option long_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "output", required_argument, NULL, 'o' },
	{ "only", required_argument, NULL, OPT_ONLY },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "jobs", required_argument, NULL, 'j' },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "shard", required_argument, NULL, OPT_SHARD },
	{ "shards", required_argument, NULL, OPT_SHARDS },
	{ "partial", required_argument, NULL, OPT_PARTIAL },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "full", no_argument, NULL, OPT_FULL },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* cli.h */
int cli_usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "aggregate: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'aggregate --help' for more information.\n");
	return EXIT_USAGE;
}

/*
 * getopt's own messages name argv[0] (the full path it was run by): ours
 * say "aggregate:", and suggest the nearest long option for a typo.
 */
static int option_error(int ch, const char *arg)
{
	const char *names[sizeof long_options / sizeof long_options[0]];
	const char *near = NULL;
	char word[64];
	size_t n = 0;

	if (arg == NULL)
		arg = "?";
	if (ch == ':') {
		if (arg[0] == '-' && arg[1] == '-')
			return cli_usage_error("option '%s' needs a value",
					       arg);
		snprintf(word, sizeof word, "-%c", optopt);
		return cli_usage_error("option '%s' needs a value", word);
	}
	if (optopt > 0 && optopt < 128) {
		snprintf(word, sizeof word, "-%c", optopt);
		return cli_usage_error("unknown option '%s'", word);
	}
	if (arg[0] == '-' && arg[1] == '-') {
		snprintf(word, sizeof word, "%.*s", (int)strcspn(arg + 2, "="),
			 arg + 2);
		for (const struct option *lo = long_options; lo->name; lo++)
			names[n++] = lo->name;
		near = cfg_nearest(word, names, n);
		for (const struct option *lo = long_options; lo->name; lo++)
			if (strcmp(lo->name, word) == 0 && lo->has_arg == no_argument)
				return cli_usage_error("option '--%s' takes "
						       "no value", word);
	}
	if (near) {
		fprintf(stderr, "aggregate: unknown option '%s' (did you mean "
			"'--%s'?)\nTry 'aggregate --help' for more "
			"information.\n", arg, near);
		return EXIT_USAGE;
	}
	return cli_usage_error("unknown option '%s'", arg);
}

/* cli.h */
int cli_parse(int argc, char **argv, struct cli_opts *o)
{
	int ch;
	char *end;

	*o = (struct cli_opts){ .config = "providers.conf", .progress = -1 };
	opterr = 0;
	if (argc > 1 && strcmp(argv[1], "state") == 0) /* incr.h */
		return argc == 3 || (argc == 4 && strcmp(argv[2], "-v") == 0)
		       ? incr_show(argv[argc - 1], argc == 4)
		       : cli_usage_error("%s: aggregate state [-v] DIR",
					 "state");
	if (argc > 1 && strcmp(argv[1], "merge") == 0) {
		o->merge = true;
		argv++;
		argc--;
	}
	while ((ch = getopt_long(argc, argv, ":c:o:j:qvVh", long_options,
				 NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 'o':
			o->output = optarg;
			break;
		case OPT_ONLY:
			o->only = optarg;
			break;
		case OPT_CHECK:
			o->check = true;
			break;
		case 'j':
			errno = 0;
			o->jobs = (int)strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || o->jobs < 1)
				return cli_usage_error("invalid --jobs '%s': "
						       "need a positive number",
						       optarg);
			break;
		case OPT_PROGRESS:
			o->progress = 1;
			break;
		case OPT_NO_PROGRESS:
			o->progress = 0;
			break;
		case 'q':
			o->verbosity = -1;
			break;
		case 'v':
			o->verbosity = 1;
			break;
		case OPT_LOG_FORMAT:
			if (strcmp(optarg, "json") == 0)
				o->json_logs = true;
			else if (strcmp(optarg, "text") == 0)
				o->json_logs = false;
			else
				return cli_usage_error("invalid --log-format "
						       "'%s': text or json",
						       optarg);
			break;
		case OPT_METRICS:
			o->metrics = optarg;
			break;
		case OPT_TRACE:
			o->trace = optarg;
			break;
		case OPT_SHARD:
			o->shard = optarg;
			break;
		case OPT_SHARDS:
			errno = 0;
			o->shards = (int)strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || o->shards < 1 ||
			    o->shards > PARTIAL_SHARDS_MAX)
				return cli_usage_error("invalid --shards '%s': "
						       "need a positive number",
						       optarg);
			break;
		case OPT_PARTIAL:
			o->partial = optarg;
			break;
		case OPT_STATE:
			o->state = optarg;
			break;
		case OPT_FULL:
			o->full = true;
			break;
		case 'V':
			printf("aggregate %s%s\n", AGG_VERSION, AGG_BUILD_TAG);
			return EXIT_OK;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		default:
			return option_error(ch, argv[optind - 1]);
		}
	}
	if (o->merge) {
		o->parts = argv + optind;
		o->nparts = argc - optind;
		if (o->nparts == 0)
			return cli_usage_error("%s: name the partials to "
					       "merge", "merge");
		if (o->shard || o->shards || o->only || o->check)
			return cli_usage_error("merge takes no %s",
					       o->check ? "--check" :
					       o->only ? "--only" :
					       "--shard or --shards");
		return -1;
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'",
				       argv[optind]);
	if ((o->shard || o->shards) && !o->partial && !o->check)
		return cli_usage_error("%s: a shard writes a partial (add "
				       "--partial FILE)",
				       o->shard ? "--shard" : "--shards");
	if (o->state && (o->partial || o->only))
		return cli_usage_error("%s: an incremental run reads every "
				       "provider and writes the outputs",
				       o->partial ? "--state with --partial"
						  : "--state with --only");
	if (o->partial && o->only)
		return cli_usage_error("%s: a shard runs what the shard "
				       "rule gives it",
				       "--only with --partial");
	return -1;
}
