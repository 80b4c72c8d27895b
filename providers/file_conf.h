/*
 * file_conf.h - a file provider's options, as providers.conf sets them.
 *
 * The keys (path, repeatable; format, delimiter, quote, header, null,
 * records, encoding, parallel), their checks
 * and their defaults are file_conf.c's, through file_conf_type (a struct
 * cfg_type, config.h); the config reader fills a struct file_conf per
 * file provider and hangs it on its struct cfg_provider.  Only the file
 * provider reads it, through file_conf().
 */
#ifndef AGG_FILE_CONF_H
#define AGG_FILE_CONF_H

#include <stdbool.h>

#include "../common/config.h"

/* Most markers a file provider's `null` may list. */
#define CFG_MAX_NULLS 16

struct file_conf {
	char *path;                /* the first path: file or glob (paths[0]
				      when paths is set, not owned apart) */
	char **paths;              /* every `path` given, in order (npaths
				      0: path alone) */
	int npaths;
	enum cfg_format file_format; /* CSV, JSONL or AUTO (per file) */
	bool tsv;                  /* format = tsv or a .tsv path: CSV whose
				      delimiter is a tab unless one is set */
	bool json;                 /* format = json or a .json path: JSONL
				      records, but one JSON array of them
				      (file_format is then JSONL) */
	char *records;             /* JSON: pointer to the array (NULL or
				      "": the document is the array) */
	const char *encoding;      /* iconv's name of the files' encoding,
				      or NULL for UTF-8 (read as it is) */
	char delimiter;
	char quote;
	bool header;
	char **nulls;              /* markers that also mean NULL in an
				      unquoted field, besides the empty one */
	int nnulls;                /* at most CFG_MAX_NULLS */
	int parallel;              /* readers of one file: 1 (the default),
				      N, or 0 for auto (supervisor/par.h) */
	int parallel_line;         /* the line of `parallel`, 0: not set */
	bool pushdown;             /* with parallel: a range reader may fold
				      its rows into groups (combine.h) */
};

/* Most readers `parallel` may ask for. */
#define FILE_MAX_PARALLEL 256

extern const struct cfg_type file_conf_type;

/* The options of p, a file provider. */
static inline const struct file_conf *file_conf(const struct cfg_provider *p)
{
	return p->opts;
}

#endif
