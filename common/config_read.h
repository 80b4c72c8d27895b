/*
 * config_read.h - the reader of providers.conf: text into sections and
 * `key = value` entries, each with the line it came from, and the errors
 * that name that line.
 *
 * Phase 1 of loading a config (config.c is phase 2).  The reader knows the
 * INI syntax and nothing of the keys: it checks lines (control bytes,
 * comments, quoting, continuation lines, section headers) and collects
 * entries in file order; which keys exist, and what their values mean, is
 * for the later phases.  Values are expanded (${VAR}) only when asked for,
 * so that an error in one names its key and section.
 *
 * Memory: a struct cfg_doc owns its sections, their names and its entries
 * (cfg_doc_free).  Errors: every function that can fail returns -1 after
 * cfg_fail(); only the first error is kept, as "FILE:LINE: message" in the
 * caller's buffer.
 */
#ifndef AGG_CONFIG_READ_H
#define AGG_CONFIG_READ_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum cfg_sect_kind { CFG_SECT_AGGREGATE = 1, CFG_SECT_PROVIDER, CFG_SECT_OUTPUT };

struct cfg_sect {
	enum cfg_sect_kind kind;
	int line;      /* of the [header] */
	char *name;    /* a provider's or output's NAME; NULL for [aggregate] */
	int prov;      /* a provider's index among the providers, an
			  output's among the outputs; -1 else */
};

/* One `key = value`, continuation lines already joined. */
struct cfg_entry {
	int sect;      /* index into doc->sects */
	int line;
	char *key;
	struct buf val; /* as read: not trimmed, ${VAR} not expanded */
	bool quoted;   /* given "quoted": kept as is, blanks and all */
};

struct cfg_doc {
	/* Set by the caller before cfg_read(). */
	const char *name;      /* the file name in messages */
	char *err;             /* the first error goes here */
	size_t errlen;

	bool failed;           /* err holds the (first) error */
	struct cfg_sect *sects; /* in file order */
	int nsects;
	int nprovs;            /* sections that are [provider NAME] */
	int nouts;             /* sections that are [output NAME] */
	int agg_sect;          /* index of [aggregate], -1 if none */
	struct cfg_entry *ents; /* in file order */
	int nents;
};

/*
 * Read text[0..len) (it may hold NUL bytes: an error naming their line)
 * into doc's sections and entries.  A section is checked as it is opened
 * (known kind, provider name, no duplicate); a key outside any section,
 * a bad line or a line too long for the INI parser is an error.  Returns 0,
 * or -1 with the error set.  doc must have been zeroed but for name, err
 * and errlen.
 */
int cfg_read(struct cfg_doc *doc, const char *text, size_t len);

/* Free what cfg_read() allocated; doc may be half-read. */
void cfg_doc_free(struct cfg_doc *doc);

/*
 * Record the first error as "FILE:LINE: message" (line 0: "FILE: ...").
 * Returns -1, so that a caller can `return cfg_fail(...)`.  Later errors
 * are dropped.
 */
int cfg_fail(struct cfg_doc *doc, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* cfg_fail(doc, 0, "out of memory"). */
int cfg_fail_oom(struct cfg_doc *doc);

/* printf into err (errlen bytes; nothing when err is NULL or errlen 0). */
void cfg_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Size of a buffer that holds any cfg_sect_desc() result. */
#define CFG_SECT_DESC_MAX 128

/* "[aggregate]", "[provider NAME]" or "[output NAME]" for section si. */
const char *cfg_sect_desc(const struct cfg_doc *doc, int si, char *buf,
			  size_t n);

/* The first entry with this key in section si; NULL if none. */
const struct cfg_entry *cfg_find_entry(const struct cfg_doc *doc, int si,
				       const char *key);

/*
 * "missing required key 'KEY' in [S]WHY" at section si's header line
 * (why may be NULL).  Returns -1.
 */
int cfg_missing_key(struct cfg_doc *doc, int si, const char *key,
		    const char *why);

/*
 * The entry's value, trimmed (a value may start on the line after its key)
 * unless it was quoted, with ${VAR} and ${VAR:-default} expanded from the
 * environment (a default may itself hold ${...}); malloc'd, the caller
 * frees it.  NULL after cfg_fail() (unset variable, bad syntax, memory).
 */
char *cfg_expand(struct cfg_doc *doc, const struct cfg_entry *e);

#endif
