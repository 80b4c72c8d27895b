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
	CFG_AGG_STDDEV,      /* stddev_samp */
	CFG_AGG_STDDEV_POP,
	CFG_AGG_VARIANCE,    /* var_samp */
	CFG_AGG_VAR_POP,
	CFG_AGG_PERCENTILE,  /* percentile_cont(p); median: p = 0.5 */
	CFG_AGG_ARG_MIN,     /* field's value at the least field2 */
	CFG_AGG_ARG_MAX,
};

struct expr_prog;

struct cfg_agg {
	enum cfg_agg_kind kind;
	int field;          /* schema field index; -1 for count(*) */
	char *name;         /* output column: "as" name or the default */
	enum rec_type type; /* type of the result column */
	uint8_t prec, scale; /* a decimal result's p and s; 0 otherwise */
	int field2;         /* arg_min/arg_max's second field (g); else -1 */
	double p;           /* percentile's fraction, 0..1 */
	int filter;         /* `filter (where ...)`: a bool field (a hidden
			       derived one); the aggregate folds only the
			       records where it is true.  -1: every record */
};

/* One term of order_by: an output column, its direction and NULLs. */
struct cfg_order {
	int col;            /* the output column's index */
	bool desc;
	bool nulls_first;
};

enum cfg_provider_type {
	CFG_PROV_HTTP = 1,
	CFG_PROV_POSTGRES,
	CFG_PROV_SQLITE,
	CFG_PROV_FILE,
};

/* A file of an incremental run: read [from, to), line the line at from. */
struct cfg_incr_file {
	char *name;
	uint64_t from, to, line;
};

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

	/*
	 * The schema this provider converts with: cfg->schema's fields (their
	 * names and formats shared with it), the timestamp and date fields in
	 * the provider's zone.  The wire format is cfg->schema's.
	 */
	struct rec_schema schema;
	struct tz *tz;             /* `timezone` as set here, NULL: the
				      [aggregate] zone's */

	/*
	 * `where` of this provider (NULL: none), over cfg->schema's fields
	 * (declared and derived) in the [aggregate] zone: evaluated in the
	 * provider's process after cfg->where, on each converted record.
	 */
	struct expr_prog *where;

	/* Per-provider values; the [aggregate] defaults are filled in. */
	int restart;
	uint64_t stall_timeout_ms;
	uint64_t memory_limit;     /* bytes, 0 = none */
	long max_rejects;

	/*
	 * Records between checkpoints: the sql types' `batch`, 10000 for
	 * every type that has no such key.
	 */
	long batch;

	/*
	 * The type's own options (struct file_opts, sql_opts or http_opts in
	 * providers/), allocated and freed through the type's struct cfg_type:
	 * only providers/ read them.
	 */
	void *opts;

	/*
	 * shard = split: each shard of a sharded run reads a share of the
	 * input (a file provider: files [n*shard/nshards, n*(shard+1)/nshards)
	 * of the n its paths match, in their order; a query or URL: what
	 * ${SHARD} and ${SHARDS} select).  shard and nshards are set by the
	 * command line (nshards 0: the whole input).
	 */
	bool shard_split;
	int shard, nshards;

	/*
	 * An incremental run (supervisor/incr.h), file providers: the files
	 * to read, each from byte `from` (its line `line`) up to `to`, in
	 * place of the match list.  Set by the supervisor before the fork.
	 */
	const struct cfg_incr_file *incr_files;
	size_t nincr_files;
	bool incr;

	/*
	 * parallel = N (supervisor/par.h), file providers: this provider is
	 * range `range` (0-based) of provider `whole`'s input, read from
	 * (range_first, range_lo) up to (range_last, range_hi) of its match
	 * list, offsets at record starts, range_hi UINT64_MAX the file's end;
	 * whole is NULL for a provider read whole.  Set by the supervisor
	 * before the fork.
	 */
	const char *whole;
	int range;
	size_t range_first, range_last;
	uint64_t range_lo, range_hi;
	/*
	 * Its start is a cut inside a CSV file with quotes: a record start
	 * only if the range before it ends outside quotes (file_par.h).
	 */
	bool range_unsure;
};

/* The name outputs and the reject file give p: a range's is its whole's. */
static inline const char *cfg_provider_label(const struct cfg_provider *p)
{
	return p->whole ? p->whole : p->name;
}

struct expr_prog;

/*
 * An `[output NAME]` section: one more output of the same run, with its
 * own mode, grouping, aggregates and post-processing over the same
 * records (fields and derive are [aggregate]'s).  Its group_by
 * expressions, aggregate arguments and filters, and its where, are
 * derived fields of cfg->schema (hidden but for group_by's `as` names);
 * keep is where's bool field (-1: every record).  cfg_output_view()
 * gives it as a struct cfg.
 */
struct cfg_output {
	char *name;
	int line;                  /* of its [output NAME] header */
	char *output;
	enum cfg_format format;
	bool format_given;
	char *table;
	enum cfg_write write;
	enum cfg_mode mode;
	int *group_by;
	int ngroup_by;
	struct cfg_agg *aggs;
	int naggs;
	char *order_by_text;
	struct cfg_order *order_by;
	int norder_by;
	int64_t limit;
	bool limit_set;
	char *having;
	struct expr_prog *having_prog;
	int keep;
};

struct cfg {
	char *path;                /* the config file, as given */

	/* [aggregate] */
	char *output;
	enum cfg_format format;    /* resolved: never CFG_FMT_AUTO */
	char *table;
	enum cfg_write write;
	struct rec_schema schema;  /* the fields in the [aggregate] zone */
	struct tz *tz;             /* [aggregate] timezone, NULL: UTC */

	/*
	 * schema.fields[0..nfields_declared) are `fields`, read from the
	 * sources (each provider's schema has these only); the others are
	 * derived, computed in the provider's process from the record:
	 * derive[i] computes field nfields_declared + i, and reads only
	 * fields before it, so they are computed in field order.  They are
	 * `derive`'s, then group_by's expressions and the hidden fields
	 * (hidden[i]) that hold an aggregate's expression argument or its
	 * filter.  The ring carries all of them: the aggregator sees
	 * ordinary fields.  guard[i] is a bool field before it that must be
	 * true for derived field i to be computed (else it is NULL: the
	 * arguments of an aggregate with a filter), -1: always computed.
	 */
	int nfields_declared;
	struct expr_prog **derive;
	bool *hidden;
	int *guard;
	int nfields_union;         /* a union output writes the fields
				      [0, this): the declared ones and
				      derive's (0: all of them) */
	struct expr_prog *where;   /* [aggregate] where, NULL: none */
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
	/*
	 * memory: the aggregator's budget for the values percentiles keep;
	 * past it they go to a temporary file (aggregator/pctspill.h).
	 */
	uint64_t memory;
#define CFG_MEMORY_DEFAULT (1ull << 30)
#define CFG_MEMORY_MIN (64ull << 10)
	char *reject_file;
	long max_rejects;
	char *lock_file;           /* as set, or NULL: then the run locks on
				      the output's real path in a runtime
				      folder (main.c, outfile_lock_path) */
	char *metrics_file;
	char *trace_file;          /* --trace's file, or NULL */
	bool format_given;         /* [aggregate] format was set: -o keeps it */
	bool lock_file_given;      /* lock_file was set: -o keeps it */
	char *order_by_text;       /* order_by as set, resolved by the check */
	struct cfg_order *order_by; /* over the output columns; NULL: none */
	int norder_by;
	int64_t limit;             /* rows at most, when limit_set */
	bool limit_set;
	char *having;              /* over the output columns; NULL: none */
	struct expr_prog *having_prog; /* having compiled (common/expr.h) */

	struct cfg_provider *providers; /* in config order */
	int nproviders;

	/* [output NAME] sections, in config order (the first output is
	   [aggregate]'s own). */
	struct cfg_output *outputs;
	int noutputs;

	/*
	 * Set in a view of an output (cfg_output_view): its name, NULL for
	 * [aggregate]'s; with has_keep, keep is a bool field: the output
	 * folds only the records where it is true.  agg_base: added to
	 * an aggregate's number in its hidden fields' names, so that every
	 * output's are distinct (config only).
	 */
	const char *output_name;
	bool has_keep;
	int keep;
	int agg_base;

	/*
	 * Set by the command line, never by the file (aggregator/partial.h):
	 * with partial, this run is shard `shard` of `nshards` and writes its
	 * aggregate state there instead of the outputs; with partials, the
	 * merges start from those loaded states (aggregate merge).
	 * fingerprint identifies what determines the states.
	 */
	const char *partial;
	int shard, nshards;
	uint64_t fingerprint;
	struct partial_set *partials;

	/* `state = DIR` (or --state); state_save: where the aggregator
	   writes the new state's partial before the outputs (incr.h). */
	char *state_dir;
	const char *state_save;
};

/* The fields a union output writes (struct cfg: nfields_union). */
static inline int cfg_union_fields(const struct cfg *cfg)
{
	return cfg->nfields_union ? cfg->nfields_union : cfg->schema.nfields;
}

/*
 * Into *view, cfg as output i sees it: [aggregate]'s struct (schema,
 * providers, limits shared) with output i's keys; i = -1: [aggregate]'s
 * own output.  It shares all cfg holds: nothing to free, valid while
 * cfg is (and after cfg_select(), which changes the providers, take it
 * again).  view->noutputs is 0.
 */
void cfg_output_view(const struct cfg *cfg, int i, struct cfg *view);

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

/*
 * Into *view, a shallow copy of cfg whose schema has the declared fields
 * only: what a provider reads and converts (its run and check functions
 * are given it; the derived fields are computed after).  It shares all
 * cfg holds: nothing to free, valid while cfg is.
 */
void cfg_provider_view(const struct cfg *cfg, struct cfg *view);

/* --- provider types -------------------------------------------------- */

struct cfg_doc;
struct cfg_key;

/*
 * A key of a provider type's own (struct cfg_type): the type's number for
 * it is its index in the type's table.  A NULL name is a number the type
 * does not use (two types sharing one numbering: sql_conf.c).
 */
struct cfg_key_def {
	const char *name;
	unsigned flags;
};
#define CFG_KEY_REPEAT 0x1u        /* may be given more than once */
#define CFG_KEY_SECRET 0x2u        /* never quoted back in a message */

/* Most keys a provider type may have of its own. */
#define CFG_TYPE_KEYS_MAX 32

/* What a type's check is given: its section, and where each key was set. */
struct cfg_check {
	struct cfg_doc *doc;       /* for cfg_fail() and friends */
	int si;                    /* the provider's section */
	const int *seen;           /* seen[id]: line where the type's key id
				      was first set; 0: never (a default) */
};

/*
 * A provider type as the config sees it: its name, the keys it has besides
 * those every provider has (type, map, enabled, restart, stall_timeout,
 * memory_limit, max_rejects), how each is applied, and the checks once all
 * are.  Each type defines one in providers/ (providers/X_conf.c), where
 * its options struct lives, so that the config reader never names a
 * type's option: a key of one type is refused in a provider of another.
 *
 * init() allocates p->opts with the type's defaults (-1: no memory);
 * apply() sets option id from the expanded value *vp (a setter may take
 * the string: config_key.h), 0 or -1 after an error through k;
 * check() runs after every key of every section was applied: keys that
 * must be there, combinations that do not go together (0, or -1 after
 * cfg_fail()); free() frees p->opts and what it holds (NULL: nothing).
 */
struct cfg_type {
	const char *name;          /* as written in `type = NAME` */
	enum cfg_provider_type type;
	const struct cfg_key_def *keys;
	int nkeys;                 /* at most CFG_TYPE_KEYS_MAX */
	int (*init)(struct cfg_provider *p);
	int (*apply)(const struct cfg_key *k, int id, struct cfg_provider *p,
		     char **vp);
	int (*check)(const struct cfg_check *c, struct cfg_provider *p);
	void (*free)(struct cfg_provider *p);
};

/*
 * The provider types built into the program, in the order the messages
 * name them: defined by providers/ (conf_types.c), so that common/ names no
 * type's options.  cfg_load() and cfg_free() use them.
 */
extern const struct cfg_type *const cfg_types[];
extern const int cfg_ntypes;

#endif
