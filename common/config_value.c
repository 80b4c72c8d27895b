/*
 * config_value.c - the value parsers of providers.conf (config_value.h).
 *
 * Every function here is pure: it reads its argument (or cuts it in
 * place, for the list helpers) and answers; messages are the caller's.
 */
#include "config_value.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool cfg_is_ident(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

char *cfg_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*e = '\0';
	return s;
}

const char *cfg_item_end(const char *s)
{
	char quote = '\0';
	int depth = 0;

	for (; *s; s++) {
		if (quote) {
			if (*s == quote)
				quote = '\0';
		} else if (*s == '\'' || *s == '"') {
			quote = *s;
		} else if (*s == '(') {
			depth++;
		} else if (*s == ')') {
			depth -= depth > 0;
		} else if (*s == ',' && depth == 0) {
			break;
		}
	}
	return s;
}

char *cfg_next_item(char **sp)
{
	char *s = *sp, *comma;

	if (!s)
		return NULL;
	comma = strchr(s, ',');
	if (comma) {
		*comma = '\0';
		*sp = comma + 1;
	} else {
		*sp = NULL;
	}
	return cfg_trim(s);
}

/*
 * Case-insensitive optimal-string-alignment distance (Levenshtein plus
 * transpositions), capped at 9; words too long to be keys count as far.
 */
static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int d[32][32];

	if (la > 31 || lb > 31)
		return strcasecmp(a, b) == 0 ? 0 : 9;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]);
			int cb = tolower((unsigned char)b[j - 1]);
			int cost = ca != cb;
			int v = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 &&
			    ca == tolower((unsigned char)b[j - 2]) &&
			    cb == tolower((unsigned char)a[i - 2]) &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb] > 9 ? 9 : d[la][lb];
}

bool cfg_near_miss(const char *word, const char *candidate, int *best)
{
	int d = edit_distance(word, candidate);
	int limit = strlen(candidate) <= 4 ? 1 : 2;

	if (d <= limit && d < *best) {
		*best = d;
		return true;
	}
	return false;
}

const char *cfg_nearest(const char *word, const char *const *candidates,
			size_t n)
{
	const char *best_name = NULL;
	int best = 10;

	/* As near_miss(), but a long word may also be 2 edits from a short one. */
	for (size_t i = 0; i < n; i++) {
		int d, limit;

		if (!candidates[i])
			continue;
		d = edit_distance(word, candidates[i]);
		limit = strlen(candidates[i]) <= 4 && strlen(word) <= 4 ? 1 : 2;
		if (d <= limit && d < best) {
			best = d;
			best_name = candidates[i];
		}
	}
	return best_name;
}

const char *cfg_echo(const char *v, char *buf, size_t n)
{
	size_t i = 0;

	for (; v[i] && i < CFG_ECHO_MAX && i + 4 < n; i++)
		buf[i] = iscntrl((unsigned char)v[i]) ? '?' : v[i];
	if (v[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

int cfg_parse_bool(const char *s, bool *b)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*b = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*b = false;
			return 0;
		}
	}
	return -1;
}

/*
 * A non-negative decimal number "D[.F]" at *sp, scaled by unit (an
 * integer: the fraction is truncated).  Returns 0 and advances *sp, or -1
 * on no digits or overflow.
 */
static int scaled_number(const char **sp, uint64_t unit, uint64_t *out)
{
	const char *s = *sp;
	uint64_t whole = 0, frac = 0, scale = 1;
	bool digits = false;

	for (; isdigit((unsigned char)*s); s++) {
		uint64_t d = (uint64_t)(*s - '0');

		digits = true;
		if (whole > (UINT64_MAX - d) / 10)
			return -1;
		whole = whole * 10 + d;
	}
	if (*s == '.') {
		s++;
		for (; isdigit((unsigned char)*s); s++) {
			digits = true;
			if (scale < 1000000) {
				frac = frac * 10 + (uint64_t)(*s - '0');
				scale *= 10;
			}
		}
	}
	if (!digits)
		return -1;
	if (unit && whole > UINT64_MAX / unit)
		return -1;
	whole *= unit;
	/* frac < scale <= 1e6, unit <= 2^40: frac * unit could overflow. */
	frac = (frac * (unit / scale)) + (frac * (unit % scale)) / scale;
	if (whole > UINT64_MAX - frac)
		return -1;
	*out = whole + frac;
	*sp = s;
	return 0;
}

int cfg_parse_duration(const char *s, uint64_t *ms)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	};
	uint64_t total = 0;

	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	if (!*s)
		return -1;
	/* One or more NUMBER UNIT terms: "250ms", "1.5s", "1h30m". */
	while (*s) {
		const char *num = s, *u;
		size_t ulen = 0;
		uint64_t v;
		size_t i;

		while (isdigit((unsigned char)*s) || *s == '.')
			s++;
		u = s;
		while (isalpha((unsigned char)u[ulen]))
			ulen++;
		for (i = 0; i < 4; i++)
			if (strlen(units[i].name) == ulen &&
			    strncasecmp(u, units[i].name, ulen) == 0)
				break;
		if (i == 4 || s == num)
			return -1;
		s = num;
		if (scaled_number(&s, units[i].ms, &v) < 0 || s != u)
			return -1;
		if (total > UINT64_MAX - v)
			return -1;
		total += v;
		s = u + ulen;
	}
	*ms = total;
	return 0;
}

int cfg_parse_size(const char *s, uint64_t *bytes)
{
	const char *p = s;
	uint64_t unit = 1;

	while (isdigit((unsigned char)*p) || *p == '.')
		p++;
	if (p == s)
		return -1;
	switch (toupper((unsigned char)*p)) {
	case 'K':
		unit = 1ull << 10;
		p++;
		break;
	case 'M':
		unit = 1ull << 20;
		p++;
		break;
	case 'G':
		unit = 1ull << 30;
		p++;
		break;
	case 'T':
		unit = 1ull << 40;
		p++;
		break;
	default:
		break;
	}
	/* "64K", "64KB", "64KiB", "512B", "512". */
	if (unit > 1 && (p[0] == 'i' || p[0] == 'I') &&
	    (p[1] == 'B' || p[1] == 'b'))
		p += 2;
	else if (*p == 'B' || *p == 'b')
		p++;
	if (*p)
		return -1;
	if (unit == 1 && strchr(s, '.'))
		return -1; /* a fraction of a byte */
	return scaled_number(&s, unit, bytes) < 0 ? -1 : 0;
}

int cfg_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

bool cfg_is_json_pointer(const char *s)
{
	if (*s && *s != '/')
		return false;
	for (; *s; s++)
		if (*s == '~' && s[1] != '0' && s[1] != '1')
			return false;
	return true;
}

int cfg_conninfo_ok(const char *s)
{
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(s, &msg);

	if (opts) {
		PQconninfoFree(opts);
		return 1;
	}
	if (!msg)
		return -1;
	PQfreemem(msg);
	return 0;
}

size_t cfg_ident_len(const char *s)
{
	size_t n = 0;

	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	while (isalnum((unsigned char)s[n]) || s[n] == '_')
		n++;
	return n;
}

const char *cfg_skip_space(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

int cfg_parse_enum(const char *v, const char *const *names,
		   const int *values, int *out)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(v, names[i]) == 0) {
			*out = values[i];
			return 0;
		}
	return -1;
}

