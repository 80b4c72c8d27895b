/*
 * config_key.c - applying one key of providers.conf (config_key.h).
 */
#include "config_key.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "config_value.h"

int cfg_bad_value(const struct cfg_key *k, const char *shown,
		  const char *fmt, ...)
{
	char why[CFG_ERR_MAX], sd[CFG_SECT_DESC_MAX], eb[CFG_ECHO_BUF];
	const struct cfg_entry *e = k->e;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	cfg_sect_desc(k->doc, e->sect, sd, sizeof sd);
	if (k->secret)
		return cfg_fail(k->doc, e->line,
				"invalid value for key '%s' in %s: %s", e->key,
				sd, why);
	return cfg_fail(k->doc, e->line,
			"invalid value '%s' for key '%s' in %s: %s",
			cfg_echo(shown ? shown : k->val, eb, sizeof eb),
			e->key, sd, why);
}

int cfg_key_string(const struct cfg_key *k, char **slot, char **v)
{
	if (!**v)
		return cfg_bad_value(k, NULL, "empty value");
	free(*slot);
	*slot = *v;
	*v = NULL;
	return 0;
}

int cfg_key_duration(const struct cfg_key *k, const char *v, bool zero_ok,
		     uint64_t *out)
{
	if (cfg_parse_duration(v, out) < 0)
		return cfg_bad_value(k, NULL,
				     "expected a duration such as 250ms, 10s, 5m or 1h");
	if (!zero_ok && *out == 0)
		return cfg_bad_value(k, NULL, "must be more than 0");
	return 0;
}

int cfg_key_stall_timeout(const struct cfg_key *k, const char *v,
			  uint64_t *out)
{
	if (cfg_key_duration(k, v, false, out) < 0)
		return -1;
	if (*out < CFG_STALL_TIMEOUT_MIN_MS)
		return cfg_bad_value(k, NULL, "must be at least %dms (twice "
				     "the providers' heartbeat interval)",
				     CFG_STALL_TIMEOUT_MIN_MS);
	return 0;
}

int cfg_key_size(const struct cfg_key *k, const char *v, uint64_t *out)
{
	if (cfg_parse_size(v, out) < 0)
		return cfg_bad_value(k, NULL,
				     "expected a size such as 65536, 64K, 8M or 1G");
	return 0;
}

int cfg_key_bool(const struct cfg_key *k, const char *v, bool *out)
{
	if (cfg_parse_bool(v, out) < 0)
		return cfg_bad_value(k, NULL,
				     "expected true or false (yes/no, on/off, 1/0)");
	return 0;
}

int cfg_key_long(const struct cfg_key *k, const char *v, long min, long max,
		 long *out)
{
	if (cfg_parse_long(v, min, max, out) < 0) {
		if (max == LONG_MAX)
			return cfg_bad_value(k, NULL,
					     "expected a whole number of at least %ld",
					     min);
		return cfg_bad_value(k, NULL,
				     "expected a whole number from %ld to %ld",
				     min, max);
	}
	return 0;
}

int cfg_key_append(const struct cfg_key *k, char ***arr, int *n, char **v)
{
	char **a = realloc(*arr, (size_t)(*n + 1) * sizeof *a);

	if (!a)
		return cfg_fail_oom(k->doc);
	*arr = a;
	a[(*n)++] = *v;
	*v = NULL;
	return 0;
}

