/*
 * config_value.h - the value parsers of providers.conf: durations, sizes,
 * booleans, whole numbers, names from a list, lists, and the nearest name
 * for a "did you mean" hint.
 *
 * Pure functions: none allocates, none writes a message.  Each parser
 * returns 0 and fills *out, or -1 and leaves *out as it was; the caller
 * (config_key.h) turns -1 into the message that names the key.  The list
 * helpers cut their argument in place.
 */
#ifndef AGG_CONFIG_VALUE_H
#define AGG_CONFIG_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest value text quoted back in an error message (cfg_echo). */
#define CFG_ECHO_MAX 60

/* Size of a buffer that holds any cfg_echo() result. */
#define CFG_ECHO_BUF (CFG_ECHO_MAX + 8)

/*
 * "0", or one or more NUMBER UNIT terms ("250ms", "1.5s", "1h30m"; units
 * ms, s, m, h, any case) into milliseconds.
 */
int cfg_parse_duration(const char *s, uint64_t *ms);

/* "65536", "64K", "64KB", "64KiB", "8M", "1G", "2T", "512B" into bytes. */
int cfg_parse_size(const char *s, uint64_t *bytes);

/* true/yes/on/1 or false/no/off/0, any case. */
int cfg_parse_bool(const char *s, bool *b);

/* A whole decimal number in [min, max], nothing before or after it. */
int cfg_parse_long(const char *s, long min, long max, long *out);

/*
 * The value of the name v in names (NULL-terminated; values[i] goes with
 * names[i]), compared exactly.
 */
int cfg_parse_enum(const char *v, const char *const *names,
		   const int *values, int *out);

/*
 * The candidate nearest to word (a typo of it: at most 1 edit when both
 * are of up to 4 bytes, else 2; case-insensitive), or NULL.  NULL
 * candidates are skipped.  For "did you mean" hints.
 */
const char *cfg_nearest(const char *word, const char *const *candidates,
			size_t n);

/*
 * True when word is close enough to be a typo of candidate (1 edit for a
 * candidate of up to 4 bytes, 2 else) and nearer than *best, which it then
 * lowers: call it over every candidate with *best = 10 to keep the nearest.
 */
bool cfg_near_miss(const char *word, const char *candidate, int *best);

/* A letter or '_', then letters, digits or '_'. */
bool cfg_is_ident(const char *s);

/* Length of the identifier at s (0 if none). */
size_t cfg_ident_len(const char *s);

/* s past its leading whitespace. */
const char *cfg_skip_space(const char *s);

/* Trim whitespace at both ends, in place; returns the trimmed start. */
char *cfg_trim(char *s);

/*
 * Next comma-separated item of *sp, trimmed and NUL-terminated in place;
 * NULL when the list is exhausted.  Callers treat an all-blank value as
 * the empty list before calling this.
 */
char *cfg_next_item(char **sp);

/*
 * The end of the list item that starts at s: the first comma outside
 * parentheses and quotes ("a:decimal(10,2), t:timestamp('%d,%m', epoch_s)"
 * has two items), else the string's end.
 */
const char *cfg_item_end(const char *s);

/* RFC 6901: "" or "/" segments, '~' only as "~0" or "~1". */
bool cfg_is_json_pointer(const char *s);

/* libpq accepts it (keywords or URI).  Returns 1, 0, or -1 on no memory. */
int cfg_conninfo_ok(const char *s);

/*
 * v fit to quote in a message, in buf (n bytes, CFG_ECHO_BUF is enough):
 * cut after CFG_ECHO_MAX bytes with "...", control bytes as '?'.
 */
const char *cfg_echo(const char *v, char *buf, size_t n);

#endif
