/*
 * config_key.h - applying one `key = value` of providers.conf: the key's
 * context, its "invalid value" message, and the setters of typed values.
 *
 * Every function that applies a key (config.c for [aggregate] and the
 * keys every provider has, config_schema.c for the schema's) gets a
 * struct cfg_key and reports a bad value through it, so that every such
 * message reads the same:
 *   FILE:LINE: invalid value 'V' for key 'K' in [S]: WHY
 * with V cut short (cfg_echo), and left out for a secret key.
 *
 * Errors: each function returns 0, or -1 after cfg_fail() on k->doc.
 * Memory: a setter that takes a string (cfg_key_string, cfg_key_append)
 * takes the malloc'd value from *vp and sets *vp to NULL.
 */
#ifndef AGG_CONFIG_KEY_H
#define AGG_CONFIG_KEY_H

#include <stdbool.h>
#include <stdint.h>

#include "config_read.h"

struct cfg_key {
	struct cfg_doc *doc;
	const struct cfg_entry *e; /* the key, its line and section */
	const char *val;     /* the expanded value quoted in messages; the
				setter may have cut it in place */
	bool secret;         /* never quote the value: credentials live there */
};

/*
 * "invalid value 'V' for key 'K' in [S]: WHY", or without V when the key
 * is secret.  shown is the text to quote (NULL: k->val).  Returns -1.
 */
int cfg_bad_value(const struct cfg_key *k, const char *shown,
		  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Replace *slot with *vp (which moves); an empty value is an error. */
int cfg_key_string(const struct cfg_key *k, char **slot, char **vp);

/* Append *vp (which moves) to the array *arr of *n strings. */
int cfg_key_append(const struct cfg_key *k, char ***arr, int *n, char **vp);

/* A duration in ms; 0 is an error unless zero_ok. */
int cfg_key_duration(const struct cfg_key *k, const char *v, bool zero_ok,
		     uint64_t *out);

/* stall_timeout: a duration of at least CFG_STALL_TIMEOUT_MIN_MS. */
int cfg_key_stall_timeout(const struct cfg_key *k, const char *v,
			  uint64_t *out);

/* A size in bytes. */
int cfg_key_size(const struct cfg_key *k, const char *v, uint64_t *out);

/* A boolean. */
int cfg_key_bool(const struct cfg_key *k, const char *v, bool *out);

/* A whole number in [min, max]. */
int cfg_key_long(const struct cfg_key *k, const char *v, long min, long max,
		 long *out);

#endif
