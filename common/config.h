/*
 * config.h - providers.conf: parsing, validation and the resulting tree.
 *
 * The whole grammar of the user contract is parsed and checked here, so
 * that every later stage can trust the struct cfg it is given: names are
 * resolved to field indexes, durations to milliseconds, sizes to bytes.
 * Every string is owned by the struct cfg and freed by cfg_free().
 */
#ifndef AGG_CONFIG_H
#define AGG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ipc/record.h"
#include "config_value.h" /* the value parsers and cfg_nearest() */

/* Most markers a file provider's `null` may list. */
#define CFG_MAX_NULLS 16

/* Error message buffer size used by every cfg_ function. */
#define CFG_ERR_MAX 512

/*
 * Smallest stall_timeout (ms): twice the interval at which a busy provider
 * beats (500 ms), so that a healthy provider is never taken for a stalled
 * one between two beats.
 */
#define CFG_STALL_TIMEOUT_MIN_MS 1000

enum cfg_format {
	CFG_FMT_AUTO = 0, /* from the output's (or file's) extension */
	CFG_FMT_CSV,
	CFG_FMT_JSONL,
	CFG_FMT_SQLITE,
	CFG_FMT_POSTGRES,
};

enum cfg_mode { CFG_MODE_UNION = 1, CFG_MODE_GROUP };
enum cfg_write { CFG_WRITE_REPLACE = 1, CFG_WRITE_APPEND };
enum cfg_on_error { CFG_ON_ERROR_FAIL = 1, CFG_ON_ERROR_PARTIAL };

enum cfg_agg_kind {
	CFG_AGG_COUNT_STAR = 1,
	CFG_AGG_COUNT,
	CFG_AGG_SUM,
	CFG_AGG_AVG,
	CFG_AGG_MIN,
	CFG_AGG_MAX,
	CFG_AGG_COUNT_DISTINCT,
};

struct cfg_agg {
	enum cfg_agg_kind kind;
	int field;          /* schema field index; -1 for count(*) */
	char *name;         /* output column: "as" name or the default */
	enum rec_type type; /* type of the result column */
};

enum cfg_provider_type {
	CFG_PROV_HTTP = 1,
	CFG_PROV_POSTGRES,
	CFG_PROV_SQLITE,
	CFG_PROV_FILE,
};

enum cfg_pagination {
	CFG_PAGE_NONE = 1,
	CFG_PAGE_PAGE,
	CFG_PAGE_CURSOR,
	CFG_PAGE_LINK,
};

enum cfg_response { CFG_RESP_JSON = 1, CFG_RESP_NDJSON };

struct cfg_provider {
	char *name;
	int line;                  /* line of its [provider NAME] header */
	enum cfg_provider_type type;
	bool enabled;

	/*
	 * Where each schema field comes from: source[i] is the column name or
	 * JSON pointer for field i; never NULL.  It is what `map` says, else
	 * the field's bare name.  Providers read a source starting with '/'
	 * as an RFC 6901 JSON pointer, any other as a column or top-level key.
	 */
	char **source;

	/* Per-provider values; the [aggregate] defaults are filled in. */
	int restart;
	uint64_t stall_timeout_ms;
	uint64_t memory_limit;     /* bytes, 0 = none */
	long max_rejects;

	/* file */
	char *path;                /* file or glob; also sqlite's file */
	enum cfg_format file_format; /* CSV, JSONL or AUTO (per file) */
	char delimiter;
	char quote;
	bool header;
	char **nulls;              /* markers that also mean NULL in an
				      unquoted field, besides the empty one */
	int nnulls;                /* at most CFG_MAX_NULLS */

	/* sqlite, postgres */
	char *query;
	char *key;                 /* NULL: resume by skipping rows */
	long batch;
	char *conninfo;            /* postgres */
	bool snapshot;             /* postgres */

	/* http */
	char **urls;
	int nurls;
	enum cfg_pagination pagination;
	long page_start;
	char *cursor_path;
	char *cursor_param;
	char *records;             /* JSON pointer; "" = the body is the array */
	enum cfg_response response;
	int concurrency;
	char **headers;            /* "Name: value", secrets included */
	int nheaders;
	char *method;
	char *body;
	uint64_t timeout_ms;
	uint64_t connect_timeout_ms;
	int retries;
	double rate_limit;         /* requests per second, 0 = none */
	uint64_t max_response;
	char *ca_file;
	bool insecure;
};

struct cfg {
	char *path;                /* the config file, as given */

	/* [aggregate] */
	char *output;
	enum cfg_format format;    /* resolved: never CFG_FMT_AUTO */
	char *table;
	enum cfg_write write;
	struct rec_schema schema;
	enum cfg_mode mode;
	int *group_by;             /* field indexes */
	int ngroup_by;
	struct cfg_agg *aggs;
	int naggs;
	enum cfg_on_error on_error;
	int restart;
	uint64_t backoff_ms;
	uint64_t backoff_max_ms;
	uint64_t stall_timeout_ms;
	uint64_t timeout_ms;       /* 0 = none */
	uint64_t memory_limit;     /* 0 = none */
	uint64_t ring_size;
	char *reject_file;
	long max_rejects;
	char *lock_file;           /* as set, or NULL: then the run locks on
				      the output's real path in a runtime
				      folder (main.c, outfile_lock_path) */
	char *metrics_file;
	bool format_given;         /* [aggregate] format was set: -o keeps it */
	bool lock_file_given;      /* lock_file was set: -o keeps it */

	struct cfg_provider *providers; /* in config order */
	int nproviders;
};

/*
 * Read and validate the config file at path.  On success returns 0 and
 * fills *cfg (release with cfg_free).  On failure returns -1, fills err
 * with "FILE:LINE: message" (naming the key, and suggesting the nearest
 * known key for a misspelt one) and sets *exit_code to 66 (file missing or
 * unreadable) or 78 (invalid config).  Environment variables are expanded
 * from the process environment.
 */
int cfg_load(const char *path, struct cfg *cfg, char *err, size_t errlen,
	     int *exit_code);

/* Same, from a string (tests, fuzzing); name is used in messages. */
int cfg_load_string(const char *name, const char *text, struct cfg *cfg,
		    char *err, size_t errlen);

/*
 * Apply the command line's -o: set the output (and re-derive the format
 * from its extension unless [aggregate] format was given; "-" means
 * stdout, CSV unless format says jsonl).  Returns 0, or -1 with err.
 */
int cfg_set_output(struct cfg *cfg, const char *output, char *err,
		   size_t errlen);

/*
 * Keep only the providers named in the comma-separated list (in config
 * order).  Returns 0, or -1 with err naming an unknown provider.
 */
int cfg_select(struct cfg *cfg, const char *names, char *err, size_t errlen);

void cfg_free(struct cfg *cfg);

#endif
