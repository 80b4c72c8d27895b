/*
 * config.c - providers.conf: read, validate and resolve into a struct cfg.
 *
 * The file is read in two phases.  Phase 1 runs Debian's inih over the
 * text and collects raw (section, key, value, line) entries; phase 2 checks
 * every entry against the grammar of the user contract (SPEC.md §3),
 * expands ${VAR}, parses the values and resolves the defaults.  Two phases
 * because the grammar is not local: a provider's `type` may come after its
 * other keys, and [aggregate] (whose `fields` every `map` refers to, and
 * whose restart/stall_timeout/... every provider inherits) may come last.
 *
 * The reader trick.  Debian's inih is built with INI_MAX_LINE 200 (on the
 * stack) and INI_HANDLER_LINENO 0: a longer line is silently cut in two and
 * the handler never learns a line number.  So we hand inih our own reader
 * (ini_parse_stream) that
 *   - reads the text one physical line at a time and counts lines, so the
 *     handler knows the file:line of every call (ld->lineno);
 *   - does the comment and syntax checks itself, so that every error names
 *     the physical line (inih only counts the lines it was given), and
 *     strips inline comments itself: ';' or '#' after a blank (inih, as
 *     Debian builds it, knows only ';');
 *   - takes a "quoted" value out of the line itself and hands inih only
 *     "key =" (inih would cut the value at " ;"); the handler then stores
 *     the text between the quotes, kept as it is;
 *   - cuts a line too long for inih into chunks, at points where neither
 *     neighbour is whitespace (nothing for inih to strip), and feeds every
 *     chunk after the first as an indented continuation line that starts
 *     with the marker byte CHUNK_MARK; the handler glues marked chunks back
 *     without a separator, and genuine indented continuation lines
 *     (python-ConfigParser style) with a newline;
 *   - says what kind of line inih is handling (ld->kind), so that a second
 *     `url = ...` (repeatable) is told apart from a continuation of the
 *     first, and any other key given twice is an error naming both lines.
 * Section names are taken from the reader too: inih keeps only 49 bytes.
 *
 * Invariants: after a successful load every string the header promises is
 * non-NULL where it says so, every index is valid, cfg->format is never
 * AUTO, and every provider's restart/stall_timeout/memory_limit/max_rejects
 * hold the value to use.  On failure the struct cfg is left zeroed, nothing
 * allocated.  Secret values (http `header`, `conninfo`, `body`, `url`, a
 * postgres `output`) are never copied into an error message.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ipc/ring.h"

/* Starts every continuation chunk of a cut line: a byte no config holds. */
#define CHUNK_MARK '\x1f'

/* Longest value text quoted back in an error message. */
#define ECHO_MAX 60

/* Longest field or column name: PostgreSQL's identifier limit. */
#define FIELD_NAME_MAX 63

enum key_id {
	K_OUTPUT, K_FORMAT, K_TABLE, K_WRITE, K_FIELDS, K_MODE, K_GROUP_BY,
	K_AGGREGATES, K_ON_ERROR, K_RESTART, K_BACKOFF, K_BACKOFF_MAX,
	K_STALL_TIMEOUT, K_TIMEOUT, K_MEMORY_LIMIT, K_RING_SIZE,
	K_REJECT_FILE, K_MAX_REJECTS, K_LOCK_FILE, K_METRICS_FILE,
	K_TYPE, K_MAP, K_ENABLED, K_PATH, K_DELIMITER, K_QUOTE, K_HEADER,
	K_NULL, K_QUERY, K_KEY, K_BATCH, K_CONNINFO, K_SNAPSHOT, K_URL,
	K_PAGINATION, K_PAGE_START, K_CURSOR_PATH, K_CURSOR_PARAM, K_RECORDS,
	K_RESPONSE, K_CONCURRENCY, K_METHOD, K_BODY, K_CONNECT_TIMEOUT,
	K_RETRIES, K_RATE_LIMIT, K_MAX_RESPONSE, K_CA_FILE, K_INSECURE,
	K_NKEYS
};

/* Where a key is valid: [aggregate], or providers of these types. */
#define M_AGG    0x01u
#define M_HTTP   0x02u
#define M_PG     0x04u
#define M_SQLITE 0x08u
#define M_FILE   0x10u
#define M_PROV   (M_HTTP | M_PG | M_SQLITE | M_FILE)

static const struct key_def {
	const char *name;
	enum key_id id;
	unsigned mask;
} key_defs[] = {
	{ "output", K_OUTPUT, M_AGG },
	{ "format", K_FORMAT, M_AGG | M_FILE },
	{ "table", K_TABLE, M_AGG },
	{ "write", K_WRITE, M_AGG },
	{ "fields", K_FIELDS, M_AGG },
	{ "mode", K_MODE, M_AGG },
	{ "group_by", K_GROUP_BY, M_AGG },
	{ "aggregates", K_AGGREGATES, M_AGG },
	{ "on_error", K_ON_ERROR, M_AGG },
	{ "restart", K_RESTART, M_AGG | M_PROV },
	{ "backoff", K_BACKOFF, M_AGG },
	{ "backoff_max", K_BACKOFF_MAX, M_AGG },
	{ "stall_timeout", K_STALL_TIMEOUT, M_AGG | M_PROV },
	{ "timeout", K_TIMEOUT, M_AGG | M_HTTP },
	{ "memory_limit", K_MEMORY_LIMIT, M_AGG | M_PROV },
	{ "ring_size", K_RING_SIZE, M_AGG },
	{ "reject_file", K_REJECT_FILE, M_AGG },
	{ "max_rejects", K_MAX_REJECTS, M_AGG | M_PROV },
	{ "lock_file", K_LOCK_FILE, M_AGG },
	{ "metrics_file", K_METRICS_FILE, M_AGG },
	{ "type", K_TYPE, M_PROV },
	{ "map", K_MAP, M_PROV },
	{ "enabled", K_ENABLED, M_PROV },
	{ "path", K_PATH, M_FILE | M_SQLITE },
	{ "delimiter", K_DELIMITER, M_FILE },
	{ "quote", K_QUOTE, M_FILE },
	{ "header", K_HEADER, M_FILE | M_HTTP },
	{ "null", K_NULL, M_FILE },
	{ "query", K_QUERY, M_SQLITE | M_PG },
	{ "key", K_KEY, M_SQLITE | M_PG },
	{ "batch", K_BATCH, M_SQLITE | M_PG },
	{ "conninfo", K_CONNINFO, M_PG },
	{ "snapshot", K_SNAPSHOT, M_PG },
	{ "url", K_URL, M_HTTP },
	{ "pagination", K_PAGINATION, M_HTTP },
	{ "page_start", K_PAGE_START, M_HTTP },
	{ "cursor_path", K_CURSOR_PATH, M_HTTP },
	{ "cursor_param", K_CURSOR_PARAM, M_HTTP },
	{ "records", K_RECORDS, M_HTTP },
	{ "response", K_RESPONSE, M_HTTP },
	{ "concurrency", K_CONCURRENCY, M_HTTP },
	{ "method", K_METHOD, M_HTTP },
	{ "body", K_BODY, M_HTTP },
	{ "connect_timeout", K_CONNECT_TIMEOUT, M_HTTP },
	{ "retries", K_RETRIES, M_HTTP },
	{ "rate_limit", K_RATE_LIMIT, M_HTTP },
	{ "max_response", K_MAX_RESPONSE, M_HTTP },
	{ "ca_file", K_CA_FILE, M_HTTP },
	{ "insecure", K_INSECURE, M_HTTP },
};
#define NKEY_DEFS (sizeof key_defs / sizeof key_defs[0])

static const struct {
	const char *name;
	enum cfg_provider_type type;
	unsigned mask;
} prov_types[] = {
	{ "http", CFG_PROV_HTTP, M_HTTP },
	{ "postgres", CFG_PROV_POSTGRES, M_PG },
	{ "sqlite", CFG_PROV_SQLITE, M_SQLITE },
	{ "file", CFG_PROV_FILE, M_FILE },
};
#define NPROV_TYPES (sizeof prov_types / sizeof prov_types[0])

/* A growable byte string, always NUL-terminated once non-empty. */
struct sbuf {
	char *p;
	size_t len;
	size_t cap;
};

enum sect_kind { SECT_AGGREGATE = 1, SECT_PROVIDER };

struct sect {
	enum sect_kind kind;
	int line;   /* of the [header] */
	int prov;   /* index into cfg->providers; -1 for [aggregate] */
};

/* One `key = value`, continuation lines already joined. */
struct entry {
	int sect;
	int line;
	char *key;
	struct sbuf val;
	bool quoted;  /* given "quoted": kept as is, blanks and all */
};

/* What the reader last handed to inih (read by the handler). */
enum line_kind { LINE_NONE, LINE_SECTION, LINE_KEY, LINE_CONT, LINE_CHUNK };

struct loader {
	const char *name;       /* the file name in messages */
	struct cfg *cfg;
	char *err;
	size_t errlen;
	bool failed;            /* err holds the (first) error */

	/* input */
	const char *text;
	size_t len;
	size_t pos;
	int lineno;             /* physical line of the current line */

	/* the current physical line; split_off < line_len: chunks pending */
	struct sbuf line;
	size_t split_off;
	enum line_kind kind;
	bool have_key;          /* an indented line continues the last key */
	bool quoted;            /* the key line's value was "quoted" ... */
	struct sbuf qval;       /* ... and this is the text inside */

	/* inih's line n (1-based) is physical line emitted[n - 1] */
	int *emitted;
	int nemitted;
	int emitted_cap;

	/* phase 1 output */
	struct sect *sects;
	int nsects;
	int sects_cap;
	int cur_sect;           /* -1 before the first [section] */
	struct entry *ents;
	int nents;
	int ents_cap;

	/* phase 2: seen[si * K_NKEYS + k] = line of key k in section si */
	int *seen;
	int agg_sect;           /* index of [aggregate], -1 if none */
	const char *cur_val;    /* the expanded value being applied */
};

/* ------------------------------------------------------------------ */
/* small helpers                                                        */

static int sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static const char *sbuf_str(const struct sbuf *b)
{
	return b->p ? b->p : "";
}


static bool is_ident(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

/* Trim whitespace at both ends, in place. */
static char *trim(char *s)
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

/*
 * Next comma-separated item of *sp, trimmed and NUL-terminated in place;
 * NULL when the list is exhausted.  Callers treat an all-blank value as
 * the empty list before calling this.
 */
static char *next_item(char **sp)
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
	return trim(s);
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

/* Close enough to be a typo of candidate: 1 edit for short words, 2 else. */
static bool near_miss(const char *word, const char *candidate, int *best)
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

/* The declared field nearest to name, or NULL. */
static const char *field_suggest(const struct cfg *cfg, const char *name)
{
	const char *best_name = NULL;
	int best = 10;

	for (int i = 0; i < cfg->schema.nfields; i++)
		if (near_miss(name, cfg->schema.fields[i].name, &best))
			best_name = cfg->schema.fields[i].name;
	return best_name;
}

static const struct key_def *key_lookup(const char *name)
{
	for (size_t i = 0; i < NKEY_DEFS; i++)
		if (strcmp(key_defs[i].name, name) == 0)
			return &key_defs[i];
	return NULL;
}

/* The nearest known key valid under mask, or NULL. */
static const char *key_suggest(const char *name, unsigned mask)
{
	const char *best_name = NULL;
	int best = 10;

	for (size_t i = 0; i < NKEY_DEFS; i++)
		if ((key_defs[i].mask & mask) &&
		    near_miss(name, key_defs[i].name, &best))
			best_name = key_defs[i].name;
	return best_name;
}

static unsigned type_mask(enum cfg_provider_type t)
{
	for (size_t i = 0; i < NPROV_TYPES; i++)
		if (prov_types[i].type == t)
			return prov_types[i].mask;
	return 0;
}

static const char *type_name(enum cfg_provider_type t)
{
	for (size_t i = 0; i < NPROV_TYPES; i++)
		if (prov_types[i].type == t)
			return prov_types[i].name;
	return "?";
}

/* ------------------------------------------------------------------ */
/* errors                                                               */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Record the first error as "FILE:LINE: message" (line 0: "FILE: ..."). */
static int fail(struct loader *ld, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct loader *ld, int line, const char *fmt, ...)
{
	char msg[CFG_ERR_MAX];
	va_list ap;

	if (ld->failed)
		return -1;
	ld->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		set_err(ld->err, ld->errlen, "%s:%d: %s", ld->name, line, msg);
	else
		set_err(ld->err, ld->errlen, "%s: %s", ld->name, msg);
	return -1;
}

static int fail_oom(struct loader *ld)
{
	return fail(ld, 0, "out of memory");
}

/* "[aggregate]" or "[provider NAME]" for section si. */
static const char *sect_desc(const struct loader *ld, int si, char *buf,
			     size_t n)
{
	const struct sect *s = &ld->sects[si];

	if (s->kind == SECT_AGGREGATE)
		snprintf(buf, n, "[aggregate]");
	else
		snprintf(buf, n, "[provider %s]",
			 ld->cfg->providers[s->prov].name);
	return buf;
}

/* A value fit to quote in a message: cut short, control bytes as '?'. */
static const char *echo(const char *v, char *buf, size_t n)
{
	size_t i = 0;

	for (; v[i] && i < ECHO_MAX && i + 4 < n; i++)
		buf[i] = iscntrl((unsigned char)v[i]) ? '?' : v[i];
	if (v[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* True for the values never to be quoted back: credentials live there. */
static bool is_secret(const struct loader *ld, const struct entry *e,
		      enum key_id k)
{
	const struct sect *s = &ld->sects[e->sect];

	if (s->kind == SECT_AGGREGATE)
		return k == K_OUTPUT && ld->cfg->format == CFG_FMT_POSTGRES;
	if (k == K_HEADER)
		return ld->cfg->providers[s->prov].type == CFG_PROV_HTTP;
	return k == K_CONNINFO || k == K_BODY || k == K_URL;
}

/*
 * "invalid value 'V' for key 'K' in [S]: WHY", without V for secrets.
 * shown is the text to quote (NULL: the whole value).
 */
static int bad_value(struct loader *ld, const struct entry *e, enum key_id k,
		     const char *shown, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int bad_value(struct loader *ld, const struct entry *e, enum key_id k,
		     const char *shown, const char *fmt, ...)
{
	char why[CFG_ERR_MAX], sd[128], eb[ECHO_MAX + 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	sect_desc(ld, e->sect, sd, sizeof sd);
	if (is_secret(ld, e, k))
		return fail(ld, e->line, "invalid value for key '%s' in %s: %s",
			    e->key, sd, why);
	return fail(ld, e->line, "invalid value '%s' for key '%s' in %s: %s",
		    echo(shown ? shown :
			 ld->cur_val ? ld->cur_val : sbuf_str(&e->val),
			 eb, sizeof eb),
		    e->key, sd, why);
}

/* ------------------------------------------------------------------ */
/* phase 1: the reader and the handler                                  */

/*
 * Offset of the inline comment of l[from..n), else n: a ';' or '#' after
 * whitespace (inih itself knows only ';').
 */
static size_t comment_at(const char *l, size_t from, size_t n)
{
	bool was_space = false;

	for (size_t i = from; i < n; i++) {
		if (was_space && (l[i] == ';' || l[i] == '#'))
			return i;
		was_space = isspace((unsigned char)l[i]);
	}
	return n;
}

/*
 * A quoted value: l[v] is '"', the next '"' closes it, and only whitespace
 * and a comment may follow.  Returns the offset of the closing quote, or 0
 * when the value is not quoted (then it is read as it stands).
 */
static size_t quoted_end(const char *l, size_t v, size_t n)
{
	const char *q;
	size_t i;

	if (v >= n || l[v] != '"')
		return 0;
	q = memchr(l + v + 1, '"', n - v - 1);
	if (!q)
		return 0;
	for (i = (size_t)(q - l) + 1; i < n && isspace((unsigned char)l[i]); i++)
		;
	if (i < n && !(i > (size_t)(q - l) + 1 && (l[i] == ';' || l[i] == '#')))
		return 0;
	return (size_t)(q - l);
}

static int push_emitted(struct loader *ld)
{
	if (ld->nemitted == ld->emitted_cap) {
		int cap = ld->emitted_cap ? 2 * ld->emitted_cap : 64;
		int *p = realloc(ld->emitted, (size_t)cap * sizeof *p);

		if (!p)
			return fail_oom(ld);
		ld->emitted = p;
		ld->emitted_cap = cap;
	}
	ld->emitted[ld->nemitted++] = ld->lineno;
	return 0;
}

static void prov_defaults(struct cfg_provider *p)
{
	p->enabled = true;
	p->file_format = CFG_FMT_AUTO;
	p->delimiter = ',';
	p->quote = '"';
	p->header = true;
	p->batch = 10000;
	p->snapshot = true;
	p->pagination = CFG_PAGE_NONE;
	p->page_start = 1;
	p->response = CFG_RESP_JSON;
	p->concurrency = 8;
	p->timeout_ms = 30000;
	p->connect_timeout_ms = 10000;
	p->retries = 5;
	p->max_response = 64ull << 20;
}

/* Open a new section from the text between '[' and ']'. */
static int open_section(struct loader *ld, char *inner)
{
	char *words[3] = { NULL, NULL, NULL };
	int nwords = 0;
	char *s = inner;
	struct sect *sp;
	struct cfg *cfg = ld->cfg;

	while (*s && nwords < 3) {
		while (isspace((unsigned char)*s))
			*s++ = '\0';
		if (!*s)
			break;
		words[nwords++] = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
	}
	if (nwords == 0)
		return fail(ld, ld->lineno, "empty section header []");
	if (ld->nsects == ld->sects_cap) {
		int cap = ld->sects_cap ? 2 * ld->sects_cap : 8;

		sp = realloc(ld->sects, (size_t)cap * sizeof *sp);
		if (!sp)
			return fail_oom(ld);
		ld->sects = sp;
		ld->sects_cap = cap;
	}
	sp = &ld->sects[ld->nsects];
	sp->line = ld->lineno;
	sp->prov = -1;

	if (strcmp(words[0], "aggregate") == 0) {
		if (nwords > 1)
			return fail(ld, ld->lineno,
				    "[aggregate] takes no name: write [aggregate]");
		if (ld->agg_sect >= 0)
			return fail(ld, ld->lineno,
				    "duplicate section [aggregate] (first at line %d)",
				    ld->sects[ld->agg_sect].line);
		sp->kind = SECT_AGGREGATE;
		ld->agg_sect = ld->nsects;
	} else if (strcmp(words[0], "provider") == 0) {
		const char *name = words[1];
		struct cfg_provider *p;

		if (!name)
			return fail(ld, ld->lineno,
				    "missing provider name: write [provider NAME]");
		if (nwords > 2 ||
		    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") !=
			    strlen(name))
			return fail(ld, ld->lineno,
				    "invalid provider name in section header: use letters, digits, '_', '.' and '-'");
		for (int i = 0; i < cfg->nproviders; i++)
			if (strcmp(cfg->providers[i].name, name) == 0)
				return fail(ld, ld->lineno,
					    "duplicate section [provider %s] (first at line %d)",
					    name, cfg->providers[i].line);
		p = realloc(cfg->providers,
			    (size_t)(cfg->nproviders + 1) * sizeof *p);
		if (!p)
			return fail_oom(ld);
		cfg->providers = p;
		p = &cfg->providers[cfg->nproviders];
		memset(p, 0, sizeof *p);
		p->name = strdup(name);
		if (!p->name)
			return fail_oom(ld);
		cfg->nproviders++;
		p->line = ld->lineno;
		prov_defaults(p);
		sp->kind = SECT_PROVIDER;
		sp->prov = cfg->nproviders - 1;
	} else {
		int best = 10;

		if (near_miss(words[0], "aggregate", &best))
			return fail(ld, ld->lineno,
				    "unknown section [%s] (did you mean [aggregate]?)",
				    words[0]);
		if (near_miss(words[0], "provider", &best))
			return fail(ld, ld->lineno,
				    "unknown section [%s%s%s] (did you mean [provider %s]?)",
				    words[0], words[1] ? " " : "",
				    words[1] ? words[1] : "",
				    words[1] ? words[1] : "NAME");
		return fail(ld, ld->lineno,
			    "unknown section [%s]: expected [aggregate] or [provider NAME]",
			    words[0]);
	}
	ld->cur_sect = ld->nsects++;
	return 0;
}

/* Read the next physical line into ld->line; false at the end or error. */
static bool read_line(struct loader *ld)
{
	const char *start, *nl;
	size_t n;

	if (ld->pos >= ld->len)
		return false;
	start = ld->text + ld->pos;
	nl = memchr(start, '\n', ld->len - ld->pos);
	n = nl ? (size_t)(nl - start) : ld->len - ld->pos;
	ld->pos += n + (nl ? 1 : 0);
	ld->lineno++;
	if (n > 0 && start[n - 1] == '\r')
		n--;
	ld->line.len = 0;
	if (sbuf_add(&ld->line, start, n) < 0) {
		fail_oom(ld);
		return false;
	}
	return true;
}

/*
 * Look at the physical line in ld->line: check it, strip its comment, set
 * ld->kind.  Returns 1 to hand it to inih, 0 to skip it (blank, comment),
 * -1 on error.
 */
static int classify_line(struct loader *ld, size_t room)
{
	char *l = ld->line.p;
	size_t n = ld->line.len, ind = 0, cut;

	if (ld->lineno == 1 && n >= 3 && memcmp(l, "\xEF\xBB\xBF", 3) == 0) {
		memmove(l, l + 3, n - 3);
		n -= 3;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)l[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(ld, ld->lineno,
				    "control character 0x%02x in line", c);
	}
	while (ind < n && isspace((unsigned char)l[ind]))
		ind++;
	if (ind == n || l[ind] == '#' || l[ind] == ';')
		return 0;

	if (ind > 0 && ld->have_key) {
		ld->kind = LINE_CONT;
		cut = comment_at(l, ind, n);
	} else if (l[ind] == '[') {
		char *close, *inner;
		int r;

		cut = comment_at(l, ind + 1, n);
		l[cut] = '\0';
		close = memchr(l + ind + 1, ']', cut - ind - 1);
		if (!close)
			return fail(ld, ld->lineno,
				    "missing ']' in section header");
		for (char *t = close + 1; *t; t++)
			if (!isspace((unsigned char)*t))
				return fail(ld, ld->lineno,
					    "unexpected text after ']' in section header");
		/* inih needs a section line whole; no real name is that long. */
		if ((size_t)(close - l) + 1 > room)
			return fail(ld, ld->lineno, "section header too long");
		inner = strndup(l + ind + 1, (size_t)(close - l) - ind - 1);
		if (!inner)
			return fail_oom(ld);
		r = open_section(ld, inner);
		free(inner);
		if (r < 0)
			return -1;
		close[1] = '\0';
		ld->line.len = (size_t)(close - l) + 1;
		ld->kind = LINE_SECTION;
		ld->have_key = false;
		return 1;
	} else {
		bool was_space = false;
		size_t sep, k;

		/* As inih: the first '=' or ':' not inside a comment. */
		for (sep = ind; sep < n; sep++) {
			if (l[sep] == '=' || l[sep] == ':' ||
			    (was_space && l[sep] == ';'))
				break;
			was_space = isspace((unsigned char)l[sep]);
		}
		if (sep >= n || l[sep] == ';')
			return fail(ld, ld->lineno,
				    "expected 'key = value' or a [section]");
		k = sep;
		while (k > ind && isspace((unsigned char)l[k - 1]))
			k--;
		if (k == ind)
			return fail(ld, ld->lineno, "missing key name before '%c'",
				    l[sep]);
		/* The first chunk of a cut line must hold the key and '='. */
		if (sep + 8 > room)
			return fail(ld, ld->lineno, "key name too long");
		ld->kind = LINE_KEY;
		ld->have_key = true;
		cut = comment_at(l, sep + 1, n);
		k = sep + 1;
		while (k < n && isspace((unsigned char)l[k]))
			k++;
		ld->quoted = false;
		if (quoted_end(l, k, n)) {
			/* inih gets "key =", the handler the text inside. */
			size_t q = quoted_end(l, k, n);

			ld->qval.len = 0;
			if (sbuf_add(&ld->qval, l + k + 1, q - k - 1) < 0)
				return fail_oom(ld);
			ld->quoted = true;
			cut = sep + 1;
		}
	}
	while (cut > ind && isspace((unsigned char)l[cut - 1]))
		cut--;
	l[cut] = '\0';
	ld->line.len = cut;
	return 1;
}

/*
 * Where to end a chunk of l that starts at lo and may reach hi (exclusive
 * of hi itself): the last point with no whitespace on either side, else the
 * last one with none before it (the mark protects what follows), else 0.
 */
static size_t split_point(const char *l, size_t lo, size_t hi)
{
	for (size_t e = hi; e > lo; e--)
		if (!isspace((unsigned char)l[e - 1]) &&
		    !isspace((unsigned char)l[e]))
			return e;
	for (size_t e = hi; e > lo; e--)
		if (!isspace((unsigned char)l[e - 1]))
			return e;
	return 0;
}

/* inih's reader: one line (or chunk of a line) per call, fgets-style. */
static char *cfg_reader(char *str, int num, void *stream)
{
	struct loader *ld = stream;
	size_t room, end;
	const char *l;

	if (ld->failed || num < 64)
		return NULL;
	/* Like fgets: at most num - 1 bytes, a newline ending the line. */
	room = (size_t)num - 2;
	l = ld->line.p;

	if (ld->split_off < ld->line.len) {
		size_t lo = ld->split_off, avail = room - 2;

		end = ld->line.len;
		if (end - lo > avail) {
			end = split_point(l, lo, lo + avail);
			if (end == 0) {
				fail(ld, ld->lineno,
				     "line too long to read: a run of whitespace exceeds %zu bytes",
				     avail);
				return NULL;
			}
		}
		str[0] = '\t';
		str[1] = CHUNK_MARK;
		memcpy(str + 2, l + lo, end - lo);
		memcpy(str + 2 + end - lo, "\n", 2);
		ld->split_off = end;
		ld->kind = LINE_CHUNK;
		return push_emitted(ld) < 0 ? NULL : str;
	}

	for (;;) {
		int r;

		if (!read_line(ld))
			return NULL;
		r = classify_line(ld, room);
		if (r < 0)
			return NULL;
		if (r > 0)
			break;
	}
	l = ld->line.p;
	end = ld->line.len;
	if (end > room) {
		/* The first chunk must keep the key and its separator. */
		size_t lo = strcspn(l, "=:") + 1;

		if (ld->kind == LINE_CONT)
			lo = strspn(l, " \t");
		end = split_point(l, lo, room);
		if (end == 0) {
			fail(ld, ld->lineno,
			     "line too long to read: a run of whitespace exceeds %zu bytes",
			     room);
			return NULL;
		}
	}
	memcpy(str, l, end);
	memcpy(str + end, "\n", 2);
	ld->split_off = end;
	return push_emitted(ld) < 0 ? NULL : str;
}

static int cfg_handler(void *user, const char *section, const char *name,
		       const char *value)
{
	struct loader *ld = user;
	struct entry *e;

	(void)section; /* inih's copy is cut at 49 bytes; ours is whole */
	if (ld->failed)
		return 0;
	switch (ld->kind) {
	case LINE_KEY:
		if (ld->cur_sect < 0) {
			fail(ld, ld->lineno,
			     "key '%s' outside any section: put it under [aggregate] or [provider NAME]",
			     name);
			return 0;
		}
		if (ld->nents == ld->ents_cap) {
			int cap = ld->ents_cap ? 2 * ld->ents_cap : 32;

			e = realloc(ld->ents, (size_t)cap * sizeof *e);
			if (!e) {
				fail_oom(ld);
				return 0;
			}
			ld->ents = e;
			ld->ents_cap = cap;
		}
		e = &ld->ents[ld->nents];
		memset(e, 0, sizeof *e);
		e->sect = ld->cur_sect;
		e->line = ld->lineno;
		e->key = strdup(name);
		ld->nents++;
		if (ld->quoted) {
			value = sbuf_str(&ld->qval);
			e->quoted = true;
		}
		if (!e->key || sbuf_add(&e->val, value, strlen(value)) < 0) {
			fail_oom(ld);
			return 0;
		}
		return 1;
	case LINE_CONT:
	case LINE_CHUNK:
		if (ld->nents == 0)
			break;
		e = &ld->ents[ld->nents - 1];
		if (ld->kind == LINE_CHUNK) {
			if (value[0] != CHUNK_MARK)
				break;
			value++;
		} else if (sbuf_add(&e->val, "\n", 1) < 0) {
			fail_oom(ld);
			return 0;
		}
		if (sbuf_add(&e->val, value, strlen(value)) < 0) {
			fail_oom(ld);
			return 0;
		}
		return 1;
	default:
		break;
	}
	fail(ld, ld->lineno, "cannot parse this line");
	return 0;
}

static int read_entries(struct loader *ld)
{
	int rc = ini_parse_stream(cfg_reader, ld, cfg_handler, ld);

	if (ld->failed)
		return -1;
	if (rc == -2)
		return fail_oom(ld);
	if (rc != 0) {
		int line = rc > 0 && rc <= ld->nemitted ? ld->emitted[rc - 1] : 0;

		return fail(ld, line, "syntax error");
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* values                                                               */

/* Deepest ${A:-${B:-...}} nesting of defaults. */
#define EXPAND_DEPTH 8

/* Expand ${VAR}, ${VAR:-default} of s[0..end) into out; -1 on error. */
static int expand_into(struct loader *ld, const struct entry *e,
		       const char *s, const char *end, struct sbuf *out,
		       int depth)
{
	char sd[128];

	while (s < end) {
		const char *name, *p, *def = NULL, *v;
		size_t n = 0, deflen = 0;
		char var[256];

		if (!(s[0] == '$' && s + 1 < end && s[1] == '{')) {
			const char *d = memchr(s + 1, '$', (size_t)(end - s) - 1);
			size_t run = d ? (size_t)(d - s) : (size_t)(end - s);

			if (sbuf_add(out, s, run) < 0)
				return fail_oom(ld);
			s += run;
			continue;
		}
		name = s + 2;
		while (name + n < end &&
		       (isalnum((unsigned char)name[n]) || name[n] == '_'))
			n++;
		p = name + n;
		if (p + 1 < end && p[0] == ':' && p[1] == '-') {
			int open = 0;

			/* The default runs to the '}' that closes this '${'. */
			def = p + 2;
			for (p = def; p < end; p++) {
				if (p[0] == '$' && p + 1 < end && p[1] == '{') {
					open++;
					p++;
				} else if (*p == '}' && open-- == 0) {
					break;
				}
			}
			deflen = (size_t)(p - def);
		}
		if (p >= end || !memchr(p, '}', (size_t)(end - p)))
			return fail(ld, e->line,
				    "unterminated '${' in key '%s' in %s (write ${NAME} or ${NAME:-default})",
				    e->key, sect_desc(ld, e->sect, sd, sizeof sd));
		if (*p != '}' || n == 0 || n >= sizeof var ||
		    isdigit((unsigned char)name[0]))
			return fail(ld, e->line,
				    "bad variable name in '${...}' in key '%s' in %s",
				    e->key, sect_desc(ld, e->sect, sd, sizeof sd));
		memcpy(var, name, n);
		var[n] = '\0';
		v = getenv(var);
		if (def && (!v || !*v)) {
			if (depth >= EXPAND_DEPTH)
				return fail(ld, e->line,
					    "defaults nested more than %d deep in key '%s' in %s",
					    EXPAND_DEPTH, e->key,
					    sect_desc(ld, e->sect, sd, sizeof sd));
			if (expand_into(ld, e, def, def + deflen, out,
					depth + 1) < 0)
				return -1;
		} else if (!v) {
			return fail(ld, e->line,
				    "environment variable '%s' is not set (key '%s' in %s)",
				    var, e->key, sect_desc(ld, e->sect, sd, sizeof sd));
		} else if (sbuf_add(out, v, strlen(v)) < 0) {
			return fail_oom(ld);
		}
		s = p + 1;
	}
	return 0;
}

/*
 * The entry's value, trimmed (a value may start on the line after its key)
 * unless it was quoted, with ${VAR}, ${VAR:-default} expanded (a default
 * may itself hold ${...}); malloc'd.
 */
static char *expand(struct loader *ld, const struct entry *e)
{
	const char *s = sbuf_str(&e->val), *end;
	struct sbuf out = { 0 };

	if (sbuf_add(&out, "", 0) < 0) {
		fail_oom(ld);
		return NULL;
	}
	end = s + strlen(s);
	if (!e->quoted) {
		while (isspace((unsigned char)*s))
			s++;
		while (end > s && isspace((unsigned char)end[-1]))
			end--;
	}
	if (expand_into(ld, e, s, end, &out, 0) < 0) {
		free(out.p);
		return NULL;
	}
	return out.p;
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

/* A whole number in [min, max]. */
static int parse_long(const char *s, long min, long max, long *out)
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

/* RFC 6901: "" or "/" segments, '~' only as "~0" or "~1". */
static bool is_json_pointer(const char *s)
{
	if (*s && *s != '/')
		return false;
	for (; *s; s++)
		if (*s == '~' && s[1] != '0' && s[1] != '1')
			return false;
	return true;
}

/* Output format from the extension; -1 if unknown. */
static int format_from_ext(const char *path, enum cfg_format *f)
{
	const char *base = strrchr(path, '/'), *dot;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (!dot)
		return -1;
	dot++;
	if (strcasecmp(dot, "csv") == 0)
		*f = CFG_FMT_CSV;
	else if (strcasecmp(dot, "jsonl") == 0 || strcasecmp(dot, "ndjson") == 0)
		*f = CFG_FMT_JSONL;
	else if (strcasecmp(dot, "db") == 0 || strcasecmp(dot, "sqlite") == 0 ||
		 strcasecmp(dot, "sqlite3") == 0)
		*f = CFG_FMT_SQLITE;
	else
		return -1;
	return 0;
}

/* Looks like a libpq connection string rather than a file name. */
static bool looks_like_conninfo(const char *s)
{
	return strchr(s, '=') || strncasecmp(s, "postgres://", 11) == 0 ||
	       strncasecmp(s, "postgresql://", 13) == 0;
}

/* libpq accepts it (keywords or URI).  Returns 1, 0, or -1 on no memory. */
static int conninfo_ok(const char *s)
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

/* ------------------------------------------------------------------ */
/* phase 2: [aggregate]                                                 */

static int field_index(const struct cfg *cfg, const char *name)
{
	for (int i = 0; i < cfg->schema.nfields; i++)
		if (strcmp(cfg->schema.fields[i].name, name) == 0)
			return i;
	return -1;
}

static int parse_fields(struct loader *ld, const struct entry *e, char *v)
{
	struct rec_schema *s = &ld->cfg->schema;
	char *item, *rest = v;
	int n = 1;

	if (!*trim(v))
		return bad_value(ld, e, K_FIELDS, NULL, "no field declared");
	for (const char *c = v; *c; c++)
		n += *c == ',';
	if (n > REC_MAX_FIELDS)
		return bad_value(ld, e, K_FIELDS, NULL,
				 "more than %d fields", REC_MAX_FIELDS);
	s->fields = calloc((size_t)n, sizeof *s->fields);
	if (!s->fields)
		return fail_oom(ld);
	while ((item = next_item(&rest))) {
		char *colon = strchr(item, ':'), *name, *type;
		enum rec_type t;

		if (!*item)
			return bad_value(ld, e, K_FIELDS, NULL, "empty item in list");
		if (!colon)
			return bad_value(ld, e, K_FIELDS, item,
					 "expected name:type");
		*colon = '\0';
		name = trim(item);
		type = trim(colon + 1);
		if (!is_ident(name) || strlen(name) > FIELD_NAME_MAX)
			return bad_value(ld, e, K_FIELDS, name,
					 "a field name is a letter or '_' then letters, digits or '_', at most %d bytes",
					 FIELD_NAME_MAX);
		if (rec_type_parse(type, &t) < 0)
			return bad_value(ld, e, K_FIELDS, type,
					 "unknown type (int, float, text, bool, timestamp)");
		if (field_index(ld->cfg, name) >= 0)
			return bad_value(ld, e, K_FIELDS, name,
					 "field declared twice");
		s->fields[s->nfields].name = strdup(name);
		if (!s->fields[s->nfields].name)
			return fail_oom(ld);
		s->fields[s->nfields].type = t;
		s->nfields++;
	}
	return 0;
}

static int parse_group_by(struct loader *ld, const struct entry *e, char *v)
{
	struct cfg *cfg = ld->cfg;
	char *item, *rest = v;
	int n = 1;

	if (!*trim(v))
		return 0; /* none */
	for (const char *c = v; *c; c++)
		n += *c == ',';
	cfg->group_by = calloc((size_t)n, sizeof *cfg->group_by);
	if (!cfg->group_by)
		return fail_oom(ld);
	while ((item = next_item(&rest))) {
		int fi;

		if (!*item)
			return bad_value(ld, e, K_GROUP_BY, NULL,
					 "empty item in list");
		fi = field_index(cfg, item);
		if (fi < 0 && field_suggest(cfg, item))
			return bad_value(ld, e, K_GROUP_BY, item,
					 "not a field declared in fields (did you mean '%s'?)",
					 field_suggest(cfg, item));
		if (fi < 0)
			return bad_value(ld, e, K_GROUP_BY, item,
					 "not a field declared in fields");
		for (int i = 0; i < cfg->ngroup_by; i++)
			if (cfg->group_by[i] == fi)
				return bad_value(ld, e, K_GROUP_BY, item,
						 "field listed twice");
		cfg->group_by[cfg->ngroup_by++] = fi;
	}
	return 0;
}

static const struct {
	const char *name;
	enum cfg_agg_kind kind;
} agg_funcs[] = {
	{ "count", CFG_AGG_COUNT }, { "sum", CFG_AGG_SUM },
	{ "avg", CFG_AGG_AVG }, { "min", CFG_AGG_MIN },
	{ "max", CFG_AGG_MAX }, { "count_distinct", CFG_AGG_COUNT_DISTINCT },
};

/* Length of the identifier at s (0 if none). */
static size_t ident_len(const char *s)
{
	size_t n = 0;

	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	while (isalnum((unsigned char)s[n]) || s[n] == '_')
		n++;
	return n;
}

static const char *skip_space(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

/* One aggregate item: func(arg) [as name]. */
static int parse_agg(struct loader *ld, const struct entry *e, char *item,
		     struct cfg_agg *a)
{
	const struct cfg *cfg = ld->cfg;
	const char *s = item, *fn = NULL;
	char func[32], arg[FIELD_NAME_MAX + 2], as[FIELD_NAME_MAX + 2];
	size_t n;
	size_t fi;

	n = ident_len(s);
	if (n == 0 || n >= sizeof func)
		goto syntax;
	memcpy(func, s, n);
	func[n] = '\0';
	s = skip_space(s + n);
	if (*s++ != '(')
		goto syntax;
	s = skip_space(s);
	if (*s == '*') {
		strcpy(arg, "*");
		s++;
	} else {
		n = ident_len(s);
		if (n == 0 || n > FIELD_NAME_MAX)
			goto syntax;
		memcpy(arg, s, n);
		arg[n] = '\0';
		s += n;
	}
	s = skip_space(s);
	if (*s++ != ')')
		goto syntax;
	s = skip_space(s);
	as[0] = '\0';
	if (*s) {
		if (strncasecmp(s, "as", 2) != 0 || !isspace((unsigned char)s[2]))
			goto syntax;
		s = skip_space(s + 2);
		n = ident_len(s);
		if (n == 0 || n > FIELD_NAME_MAX || *skip_space(s + n))
			return bad_value(ld, e, K_AGGREGATES, item,
					 "'as' needs a column name (a letter or '_' then letters, digits or '_', at most %d bytes)",
					 FIELD_NAME_MAX);
		memcpy(as, s, n);
		as[n] = '\0';
	}

	for (fi = 0; fi < sizeof agg_funcs / sizeof agg_funcs[0]; fi++)
		if (strcasecmp(func, agg_funcs[fi].name) == 0)
			break;
	if (fi == sizeof agg_funcs / sizeof agg_funcs[0]) {
		const char *names[sizeof agg_funcs / sizeof agg_funcs[0]];
		const char *near;

		for (size_t i = 0; i < sizeof agg_funcs / sizeof agg_funcs[0]; i++)
			names[i] = agg_funcs[i].name;
		near = cfg_nearest(func, names, sizeof names / sizeof names[0]);
		if (near)
			return bad_value(ld, e, K_AGGREGATES, item,
					 "unknown function '%s' (did you mean '%s'?)",
					 func, near);
		return bad_value(ld, e, K_AGGREGATES, item,
				 "unknown function '%s' (count, sum, avg, min, max, count_distinct)",
				 func);
	}
	a->kind = agg_funcs[fi].kind;
	fn = agg_funcs[fi].name;
	if (strcmp(arg, "*") == 0) {
		if (a->kind != CFG_AGG_COUNT)
			return bad_value(ld, e, K_AGGREGATES, item,
					 "only count takes '*'");
		a->kind = CFG_AGG_COUNT_STAR;
		a->field = -1;
		a->type = REC_INT;
	} else {
		enum rec_type ft;

		a->field = field_index(cfg, arg);
		if (a->field < 0) {
			const char *near = field_suggest(cfg, arg);

			if (near)
				return bad_value(ld, e, K_AGGREGATES, item,
						 "'%s' is not a field declared in fields (did you mean '%s'?)",
						 arg, near);
			return bad_value(ld, e, K_AGGREGATES, item,
					 "'%s' is not a field declared in fields",
					 arg);
		}
		ft = cfg->schema.fields[a->field].type;
		switch (a->kind) {
		case CFG_AGG_COUNT:
		case CFG_AGG_COUNT_DISTINCT:
			a->type = REC_INT;
			break;
		case CFG_AGG_SUM:
		case CFG_AGG_AVG:
			if (ft != REC_INT && ft != REC_FLOAT)
				return bad_value(ld, e, K_AGGREGATES, item,
						 "%s needs an int or float field; '%s' is %s",
						 fn, arg, rec_type_name(ft));
			a->type = a->kind == CFG_AGG_AVG ? REC_FLOAT : ft;
			break;
		default:
			a->type = ft;
			break;
		}
	}
	if (as[0]) {
		a->name = strdup(as);
	} else if (a->kind == CFG_AGG_COUNT_STAR) {
		a->name = strdup("count");
	} else {
		size_t len = strlen(fn) + 1 + strlen(arg) + 1;

		a->name = malloc(len);
		if (a->name)
			snprintf(a->name, len, "%s_%s", fn, arg);
	}
	if (!a->name)
		return fail_oom(ld);
	return 0;

syntax:
	return bad_value(ld, e, K_AGGREGATES, item,
			 "expected func(field) [as name], e.g. sum(amount) as revenue");
}

static int parse_aggregates(struct loader *ld, const struct entry *e, char *v)
{
	struct cfg *cfg = ld->cfg;
	char *item, *rest = v;
	int n = 1;

	if (!*trim(v))
		return 0; /* none */
	for (const char *c = v; *c; c++)
		n += *c == ',';
	cfg->aggs = calloc((size_t)n, sizeof *cfg->aggs);
	if (!cfg->aggs)
		return fail_oom(ld);
	while ((item = next_item(&rest))) {
		struct cfg_agg *a = &cfg->aggs[cfg->naggs];

		if (!*item)
			return bad_value(ld, e, K_AGGREGATES, NULL,
					 "empty item in list");
		/* counted now, so that cfg_free sees a->name */
		cfg->naggs++;
		if (parse_agg(ld, e, item, a) < 0)
			return -1;
	}
	return 0;
}

static int parse_enum(const char *v, const char *const *names,
		      const int *values, int *out)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(v, names[i]) == 0) {
			*out = values[i];
			return 0;
		}
	return -1;
}

/* Replace *slot with v (v's ownership moves); no empty strings. */
static int take_string(struct loader *ld, const struct entry *e,
		       enum key_id k, char **slot, char **v)
{
	if (!**v)
		return bad_value(ld, e, k, NULL, "empty value");
	free(*slot);
	*slot = *v;
	*v = NULL;
	return 0;
}

static int apply_duration(struct loader *ld, const struct entry *e,
			  enum key_id k, const char *v, bool zero_ok,
			  uint64_t *out)
{
	if (cfg_parse_duration(v, out) < 0)
		return bad_value(ld, e, k, NULL,
				 "expected a duration such as 250ms, 10s, 5m or 1h");
	if (!zero_ok && *out == 0)
		return bad_value(ld, e, k, NULL, "must be more than 0");
	return 0;
}

/* stall_timeout: a duration of at least CFG_STALL_TIMEOUT_MIN_MS. */
static int apply_stall_timeout(struct loader *ld, const struct entry *e,
			       enum key_id k, const char *v, uint64_t *out)
{
	if (apply_duration(ld, e, k, v, false, out) < 0)
		return -1;
	if (*out < CFG_STALL_TIMEOUT_MIN_MS)
		return bad_value(ld, e, k, NULL, "must be at least %dms (twice "
				 "the providers' heartbeat interval)",
				 CFG_STALL_TIMEOUT_MIN_MS);
	return 0;
}

static int apply_size(struct loader *ld, const struct entry *e, enum key_id k,
		      const char *v, uint64_t *out)
{
	if (cfg_parse_size(v, out) < 0)
		return bad_value(ld, e, k, NULL,
				 "expected a size such as 65536, 64K, 8M or 1G");
	return 0;
}

static int apply_bool(struct loader *ld, const struct entry *e, enum key_id k,
		      const char *v, bool *out)
{
	if (cfg_parse_bool(v, out) < 0)
		return bad_value(ld, e, k, NULL,
				 "expected true or false (yes/no, on/off, 1/0)");
	return 0;
}

static int apply_long(struct loader *ld, const struct entry *e, enum key_id k,
		      const char *v, long min, long max, long *out)
{
	if (parse_long(v, min, max, out) < 0) {
		if (max == LONG_MAX)
			return bad_value(ld, e, k, NULL,
					 "expected a whole number of at least %ld",
					 min);
		return bad_value(ld, e, k, NULL,
				 "expected a whole number from %ld to %ld",
				 min, max);
	}
	return 0;
}

static int apply_aggregate(struct loader *ld, const struct entry *e,
			   enum key_id k, char **vp)
{
	struct cfg *cfg = ld->cfg;
	char *v = *vp;
	long l;
	int iv;

	switch (k) {
	case K_OUTPUT:
		return take_string(ld, e, k, &cfg->output, vp);
	case K_FORMAT: {
		static const char *const names[] = { "csv", "jsonl", "ndjson",
			"sqlite", "postgres", NULL };
		static const int vals[] = { CFG_FMT_CSV, CFG_FMT_JSONL,
			CFG_FMT_JSONL, CFG_FMT_SQLITE, CFG_FMT_POSTGRES };

		if (parse_enum(v, names, vals, &iv) < 0)
			return bad_value(ld, e, k, NULL,
					 "expected csv, jsonl, sqlite or postgres");
		cfg->format = (enum cfg_format)iv;
		cfg->format_given = true;
		return 0;
	}
	case K_TABLE: {
		char *dot = strchr(v, '.');
		bool ok;

		if (dot) {
			*dot = '\0';
			ok = is_ident(v) && is_ident(dot + 1);
			*dot = '.';
		} else {
			ok = is_ident(v);
		}
		if (!ok)
			return bad_value(ld, e, k, NULL,
					 "expected a table name (letters, digits, '_'; optionally schema.table)");
		return take_string(ld, e, k, &cfg->table, vp);
	}
	case K_WRITE: {
		static const char *const names[] = { "replace", "append", NULL };
		static const int vals[] = { CFG_WRITE_REPLACE, CFG_WRITE_APPEND };

		if (parse_enum(v, names, vals, &iv) < 0)
			return bad_value(ld, e, k, NULL,
					 "expected replace or append");
		cfg->write = (enum cfg_write)iv;
		return 0;
	}
	case K_FIELDS:
		return 0; /* parsed first, in resolve() */
	case K_MODE: {
		static const char *const names[] = { "union", "group", NULL };
		static const int vals[] = { CFG_MODE_UNION, CFG_MODE_GROUP };

		if (parse_enum(v, names, vals, &iv) < 0)
			return bad_value(ld, e, k, NULL, "expected union or group");
		cfg->mode = (enum cfg_mode)iv;
		return 0;
	}
	case K_GROUP_BY:
		return parse_group_by(ld, e, v);
	case K_AGGREGATES:
		return parse_aggregates(ld, e, v);
	case K_ON_ERROR: {
		static const char *const names[] = { "fail", "partial", NULL };
		static const int vals[] = { CFG_ON_ERROR_FAIL,
			CFG_ON_ERROR_PARTIAL };

		if (parse_enum(v, names, vals, &iv) < 0)
			return bad_value(ld, e, k, NULL, "expected fail or partial");
		cfg->on_error = (enum cfg_on_error)iv;
		return 0;
	}
	case K_RESTART:
		if (apply_long(ld, e, k, v, 0, INT_MAX, &l) < 0)
			return -1;
		cfg->restart = (int)l;
		return 0;
	case K_BACKOFF:
		return apply_duration(ld, e, k, v, true, &cfg->backoff_ms);
	case K_BACKOFF_MAX:
		return apply_duration(ld, e, k, v, true, &cfg->backoff_max_ms);
	case K_STALL_TIMEOUT:
		return apply_stall_timeout(ld, e, k, v, &cfg->stall_timeout_ms);
	case K_TIMEOUT:
		return apply_duration(ld, e, k, v, true, &cfg->timeout_ms);
	case K_MEMORY_LIMIT:
		return apply_size(ld, e, k, v, &cfg->memory_limit);
	case K_RING_SIZE:
		if (apply_size(ld, e, k, v, &cfg->ring_size) < 0)
			return -1;
		if (cfg->ring_size < RING_MIN_CAPACITY ||
		    cfg->ring_size > RING_MAX_CAPACITY)
			return bad_value(ld, e, k, NULL,
					 "must be from 64K to 16G");
		return 0;
	case K_REJECT_FILE:
		return take_string(ld, e, k, &cfg->reject_file, vp);
	case K_MAX_REJECTS:
		return apply_long(ld, e, k, v, 0, LONG_MAX, &cfg->max_rejects);
	case K_LOCK_FILE:
		cfg->lock_file_given = true;
		return take_string(ld, e, k, &cfg->lock_file, vp);
	case K_METRICS_FILE:
		return take_string(ld, e, k, &cfg->metrics_file, vp);
	default:
		break;
	}
	return fail(ld, e->line, "internal error: key '%s'", e->key);
}

/* ------------------------------------------------------------------ */
/* phase 2: [provider NAME]                                             */

/* Line where key k was first given in section si; 0: never (a default). */
static int seen_line(const struct loader *ld, int si, enum key_id k)
{
	return ld->seen[(size_t)si * K_NKEYS + k];
}

/* Split at commas that start a new "field =" (sources may hold commas). */
static char *next_mapping(char **sp)
{
	char *s = *sp;

	if (!s)
		return NULL;
	for (char *c = strchr(s, ','); c; c = strchr(c + 1, ',')) {
		const char *t = skip_space(c + 1);
		size_t n = ident_len(t);

		if (n && *skip_space(t + n) == '=') {
			*c = '\0';
			*sp = c + 1;
			return trim(s);
		}
	}
	*sp = NULL;
	s = trim(s);
	return s;
}

static int parse_map(struct loader *ld, const struct entry *e,
		     struct cfg_provider *p, char *v)
{
	const struct cfg *cfg = ld->cfg;
	char *item, *rest = v;

	if (!p->source) {
		p->source = calloc((size_t)cfg->schema.nfields,
				   sizeof *p->source);
		if (!p->source)
			return fail_oom(ld);
	}
	if (!*trim(v))
		return 0;
	while ((item = next_mapping(&rest))) {
		char *eq = strchr(item, '='), *field, *src;
		int fi;

		if (!*item)
			return bad_value(ld, e, K_MAP, NULL, "empty item in list");
		if (!eq)
			return bad_value(ld, e, K_MAP, item,
					 "expected field=source");
		*eq = '\0';
		field = trim(item);
		src = trim(eq + 1);
		fi = field_index(cfg, field);
		if (fi < 0 && field_suggest(cfg, field))
			return bad_value(ld, e, K_MAP, field,
					 "not a field declared in [aggregate] fields (did you mean '%s'?)",
					 field_suggest(cfg, field));
		if (fi < 0)
			return bad_value(ld, e, K_MAP, field,
					 "not a field declared in [aggregate] fields");
		if (!*src)
			return bad_value(ld, e, K_MAP, field,
					 "no source given for this field");
		if (*src == '/' && !is_json_pointer(src))
			return bad_value(ld, e, K_MAP, src,
					 "bad JSON pointer: '~' must be followed by 0 or 1");
		if (p->source[fi])
			return bad_value(ld, e, K_MAP, field,
					 "field mapped twice");
		p->source[fi] = strdup(src);
		if (!p->source[fi])
			return fail_oom(ld);
	}
	return 0;
}

static int add_string(struct loader *ld, char ***arr, int *n, char **v)
{
	char **a = realloc(*arr, (size_t)(*n + 1) * sizeof *a);

	if (!a)
		return fail_oom(ld);
	*arr = a;
	a[(*n)++] = *v;
	*v = NULL;
	return 0;
}

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if (iscntrl((unsigned char)*s))
			return true;
	return false;
}

/* "Name: value" with an RFC 9110 token for the name. */
static bool is_header(const char *s)
{
	size_t n = strspn(s, "!#$%&'*+-.^_`|~0123456789"
			     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

	return n > 0 && s[n] == ':' && !has_ctl(s);
}

static int apply_provider(struct loader *ld, const struct entry *e,
			  struct cfg_provider *p, enum key_id k, char **vp)
{
	char *v = *vp;
	long l;
	int iv;

	switch (k) {
	case K_TYPE:
		return 0; /* parsed first, in resolve() */
	case K_MAP:
		return parse_map(ld, e, p, v);
	case K_ENABLED:
		return apply_bool(ld, e, k, v, &p->enabled);
	case K_RESTART:
		if (apply_long(ld, e, k, v, 0, INT_MAX, &l) < 0)
			return -1;
		p->restart = (int)l;
		return 0;
	case K_STALL_TIMEOUT:
		return apply_stall_timeout(ld, e, k, v, &p->stall_timeout_ms);
	case K_MEMORY_LIMIT:
		return apply_size(ld, e, k, v, &p->memory_limit);
	case K_MAX_REJECTS:
		return apply_long(ld, e, k, v, 0, LONG_MAX, &p->max_rejects);
	case K_PATH:
		return take_string(ld, e, k, &p->path, vp);
	case K_FORMAT: {
		static const char *const names[] = { "csv", "jsonl", "ndjson",
			NULL };
		static const int vals[] = { CFG_FMT_CSV, CFG_FMT_JSONL,
			CFG_FMT_JSONL };

		if (parse_enum(v, names, vals, &iv) < 0)
			return bad_value(ld, e, k, NULL, "expected csv or jsonl");
		p->file_format = (enum cfg_format)iv;
		return 0;
	}
	case K_DELIMITER:
	case K_QUOTE: {
		char c;

		/*
		 * inih strips a literal tab and reads " ;" as a comment, so
		 * those two are spelt "\t" or "tab", and "semicolon".
		 */
		if (strcmp(v, "\\t") == 0 || strcmp(v, "tab") == 0)
			c = '\t';
		else if (strcmp(v, "semicolon") == 0)
			c = ';';
		else if (strlen(v) == 1 && !isspace((unsigned char)*v) &&
			 !iscntrl((unsigned char)*v) && !((unsigned char)*v & 0x80))
			c = *v;
		else if (k == K_DELIMITER)
			return bad_value(ld, e, k, NULL,
					 "expected one ASCII character, tab or semicolon");
		else
			return bad_value(ld, e, k, NULL,
					 "expected one ASCII character for the quote, such as \" or '");
		if (k == K_DELIMITER)
			p->delimiter = c;
		else
			p->quote = c;
		return 0;
	}
	case K_HEADER:
		if (p->type == CFG_PROV_FILE)
			return apply_bool(ld, e, k, v, &p->header);
		if (!is_header(v))
			return bad_value(ld, e, k, NULL,
					 "expected 'Name: value' on one line");
		return add_string(ld, &p->headers, &p->nheaders, vp);
	case K_NULL: {
		char *item, *rest = v;

		/* Each marker adds to the unquoted empty field, always NULL. */
		while ((item = next_item(&rest))) {
			char *m;

			if (!*item)
				continue;
			if (p->nnulls == CFG_MAX_NULLS)
				return bad_value(ld, e, k, NULL,
						 "more than %d markers",
						 CFG_MAX_NULLS);
			m = strdup(item);
			if (!m || add_string(ld, &p->nulls, &p->nnulls, &m) < 0) {
				free(m);
				return fail_oom(ld);
			}
		}
		return 0;
	}
	case K_QUERY:
		return take_string(ld, e, k, &p->query, vp);
	case K_KEY:
		return take_string(ld, e, k, &p->key, vp);
	case K_BATCH:
		return apply_long(ld, e, k, v, 1, INT_MAX, &p->batch);
	case K_CONNINFO:
		iv = conninfo_ok(v);
		if (iv < 0)
			return fail_oom(ld);
		if (iv == 0)
			return bad_value(ld, e, k, NULL,
					 "not a libpq connection string (key=value ... or postgresql://...)");
		free(p->conninfo);
		p->conninfo = v;
		*vp = NULL;
		return 0;
	case K_SNAPSHOT:
		return apply_bool(ld, e, k, v, &p->snapshot);
	case K_URL:
		if (!(strncasecmp(v, "http://", 7) == 0 ||
		      strncasecmp(v, "https://", 8) == 0) ||
		    strpbrk(v, " \t") || has_ctl(v))
			return bad_value(ld, e, k, NULL,
					 "expected an http:// or https:// URL on one line, without spaces");
		return add_string(ld, &p->urls, &p->nurls, vp);
	case K_PAGINATION: {
		static const char *const names[] = { "none", "page", "cursor",
			"link", NULL };
		static const int vals[] = { CFG_PAGE_NONE, CFG_PAGE_PAGE,
			CFG_PAGE_CURSOR, CFG_PAGE_LINK };

		if (parse_enum(v, names, vals, &iv) < 0)
			return bad_value(ld, e, k, NULL,
					 "expected none, page, cursor or link");
		p->pagination = (enum cfg_pagination)iv;
		return 0;
	}
	case K_PAGE_START:
		return apply_long(ld, e, k, v, 0, LONG_MAX, &p->page_start);
	case K_CURSOR_PATH:
		if (!*v || !is_json_pointer(v))
			return bad_value(ld, e, k, NULL,
					 "expected a JSON pointer such as /next");
		return take_string(ld, e, k, &p->cursor_path, vp);
	case K_CURSOR_PARAM:
		return take_string(ld, e, k, &p->cursor_param, vp);
	case K_RECORDS:
		if (!is_json_pointer(v))
			return bad_value(ld, e, k, NULL,
					 "expected a JSON pointer such as /items (empty: the body is the array)");
		free(p->records);
		p->records = v;
		*vp = NULL;
		return 0;
	case K_RESPONSE: {
		static const char *const names[] = { "json", "ndjson", NULL };
		static const int vals[] = { CFG_RESP_JSON, CFG_RESP_NDJSON };

		if (parse_enum(v, names, vals, &iv) < 0)
			return bad_value(ld, e, k, NULL, "expected json or ndjson");
		p->response = (enum cfg_response)iv;
		return 0;
	}
	case K_CONCURRENCY:
		if (apply_long(ld, e, k, v, 1, 1024, &l) < 0)
			return -1;
		p->concurrency = (int)l;
		return 0;
	case K_METHOD:
		if (!*v || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(v))
			return bad_value(ld, e, k, NULL,
					 "expected an upper-case HTTP method such as GET or POST");
		return take_string(ld, e, k, &p->method, vp);
	case K_BODY:
		free(p->body);
		p->body = v;
		*vp = NULL;
		return 0;
	case K_TIMEOUT:
		return apply_duration(ld, e, k, v, false, &p->timeout_ms);
	case K_CONNECT_TIMEOUT:
		return apply_duration(ld, e, k, v, false,
				      &p->connect_timeout_ms);
	case K_RETRIES:
		if (apply_long(ld, e, k, v, 0, 1000, &l) < 0)
			return -1;
		p->retries = (int)l;
		return 0;
	case K_RATE_LIMIT: {
		char *end;
		double r;

		errno = 0;
		r = strtod(v, &end);
		if (end == v || errno || !(r > 0) || r > 1e9)
			goto bad_rate;
		end = (char *)skip_space(end);
		if (strcmp(end, "/m") == 0)
			r /= 60;
		else if (strcmp(end, "/h") == 0)
			r /= 3600;
		else if (*end && strcmp(end, "/s") != 0)
			goto bad_rate;
		p->rate_limit = r;
		return 0;
bad_rate:
		return bad_value(ld, e, k, NULL,
				 "expected requests per second or minute, such as 20/s or 100/m");
	}
	case K_MAX_RESPONSE:
		if (apply_size(ld, e, k, v, &p->max_response) < 0)
			return -1;
		if (p->max_response == 0)
			return bad_value(ld, e, k, NULL, "must be more than 0");
		return 0;
	case K_CA_FILE:
		return take_string(ld, e, k, &p->ca_file, vp);
	case K_INSECURE:
		return apply_bool(ld, e, k, v, &p->insecure);
	default:
		break;
	}
	return fail(ld, e->line, "internal error: key '%s'", e->key);
}

/* ------------------------------------------------------------------ */
/* phase 2: the driver                                                  */

/* Find the first entry with this key in section si; NULL if none. */
static const struct entry *find_entry(const struct loader *ld, int si,
				      const char *key)
{
	for (int i = 0; i < ld->nents; i++)
		if (ld->ents[i].sect == si && strcmp(ld->ents[i].key, key) == 0)
			return &ld->ents[i];
	return NULL;
}

static int missing_key(struct loader *ld, int si, const char *key,
		       const char *why)
{
	char sd[128];

	return fail(ld, ld->sects[si].line, "missing required key '%s' in %s%s",
		    key, sect_desc(ld, si, sd, sizeof sd), why ? why : "");
}

/* Parse every provider's type, then [aggregate] fields: all else needs them. */
static int resolve_types_and_fields(struct loader *ld)
{
	struct cfg *cfg = ld->cfg;
	const struct entry *e;
	char *v;
	int rc;

	for (int si = 0; si < ld->nsects; si++) {
		struct cfg_provider *p;
		size_t i;

		if (ld->sects[si].kind != SECT_PROVIDER)
			continue;
		p = &cfg->providers[ld->sects[si].prov];
		e = find_entry(ld, si, "type");
		if (!e)
			return missing_key(ld, si, "type",
					   " (http, postgres, sqlite or file)");
		v = expand(ld, e);
		if (!v)
			return -1;
		for (i = 0; i < NPROV_TYPES; i++)
			if (strcmp(v, prov_types[i].name) == 0)
				p->type = prov_types[i].type;
		if (!p->type) {
			bad_value(ld, e, K_TYPE, v,
				  "expected http, postgres, sqlite or file");
			free(v);
			return -1;
		}
		free(v);
	}
	if (ld->agg_sect < 0)
		return fail(ld, 0, "missing [aggregate] section");
	e = find_entry(ld, ld->agg_sect, "fields");
	if (!e)
		return missing_key(ld, ld->agg_sect, "fields",
				   " (name:type, ...)");
	v = expand(ld, e);
	if (!v)
		return -1;
	ld->cur_val = v;
	rc = parse_fields(ld, e, v);
	ld->cur_val = NULL;
	free(v);
	return rc;
}

/* Check the key of e is known here and not given twice, then apply it. */
static int apply_entry(struct loader *ld, const struct entry *e)
{
	const struct sect *s = &ld->sects[e->sect];
	const struct key_def *kd = key_lookup(e->key);
	struct cfg_provider *p = NULL;
	unsigned mask = M_AGG;
	int *seen;
	char sd[128];
	char *v;
	int rc;

	sect_desc(ld, e->sect, sd, sizeof sd);
	if (s->kind == SECT_PROVIDER) {
		p = &ld->cfg->providers[s->prov];
		mask = type_mask(p->type);
	}
	if (!kd || !(kd->mask & mask)) {
		const char *sugg = key_suggest(e->key, mask);

		if (kd && p && (kd->mask & M_PROV))
			return fail(ld, e->line,
				    "key '%s' is not valid for a provider of type %s",
				    e->key, type_name(p->type));
		if (sugg)
			return fail(ld, e->line,
				    "unknown key '%s' in %s (did you mean '%s'?)",
				    e->key, sd, sugg);
		if (kd && p)
			return fail(ld, e->line,
				    "unknown key '%s' in %s (it belongs in [aggregate])",
				    e->key, sd);
		if (kd)
			return fail(ld, e->line,
				    "unknown key '%s' in %s (it belongs in a [provider NAME] section)",
				    e->key, sd);
		return fail(ld, e->line, "unknown key '%s' in %s", e->key, sd);
	}
	seen = &ld->seen[(size_t)e->sect * K_NKEYS + kd->id];
	if (*seen && !(kd->id == K_URL ||
		       (kd->id == K_HEADER && p && p->type == CFG_PROV_HTTP)))
		return fail(ld, e->line,
			    "duplicate key '%s' in %s (first set at line %d)",
			    e->key, sd, *seen);
	if (!*seen)
		*seen = e->line;

	v = expand(ld, e);
	if (!v)
		return -1;
	ld->cur_val = v;
	if (p)
		rc = apply_provider(ld, e, p, kd->id, &v);
	else
		rc = apply_aggregate(ld, e, kd->id, &v);
	ld->cur_val = NULL;
	free(v);
	return rc;
}

/* Output columns must be unique: "provider" + fields, or keys + aggregates. */
static int check_columns(struct loader *ld)
{
	struct cfg *cfg = ld->cfg;
	int si = ld->agg_sect;

	if (cfg->mode == CFG_MODE_UNION) {
		int fi = field_index(cfg, "provider");

		if (fi >= 0)
			return fail(ld, seen_line(ld, si, K_FIELDS),
				    "field name 'provider' clashes with the provider column that mode = union writes first");
		return 0;
	}
	for (int i = 0; i < cfg->naggs; i++) {
		const char *name = cfg->aggs[i].name;
		int clash = 0;

		for (int j = 0; j < cfg->ngroup_by && !clash; j++)
			clash = strcmp(cfg->schema.fields[cfg->group_by[j]].name,
				       name) == 0;
		for (int j = 0; j < i && !clash; j++)
			clash = strcmp(cfg->aggs[j].name, name) == 0;
		if (clash)
			return fail(ld, seen_line(ld, si, K_AGGREGATES),
				    "duplicate output column '%s' in [aggregate] aggregates (rename one with 'as NAME')",
				    name);
	}
	return 0;
}

static int resolve_aggregate(struct loader *ld)
{
	struct cfg *cfg = ld->cfg;
	int si = ld->agg_sect;
	char sd[128] = "[aggregate]";
	char eb[ECHO_MAX + 8];
	enum cfg_format f;

	if (!cfg->output)
		return missing_key(ld, si, "output", NULL);

	/* mode */
	if (!seen_line(ld, si, K_MODE)) {
		cfg->mode = cfg->ngroup_by || cfg->naggs ? CFG_MODE_GROUP
							 : CFG_MODE_UNION;
	} else if (cfg->mode == CFG_MODE_UNION && (cfg->ngroup_by || cfg->naggs)) {
		return fail(ld, seen_line(ld, si, K_MODE),
			    "mode = union writes every record: remove group_by and aggregates, or use mode = group");
	} else if (cfg->mode == CFG_MODE_GROUP && !cfg->ngroup_by && !cfg->naggs) {
		return fail(ld, seen_line(ld, si, K_MODE),
			    "mode = group needs group_by or aggregates in %s", sd);
	}
	if (check_columns(ld) < 0)
		return -1;

	/* format */
	if (strcmp(cfg->output, "-") == 0) {
		if (cfg->format_given && (cfg->format == CFG_FMT_SQLITE ||
					  cfg->format == CFG_FMT_POSTGRES))
			return fail(ld, seen_line(ld, si, K_FORMAT),
				    "format = %s cannot be written to stdout (output = -)",
				    cfg->format == CFG_FMT_SQLITE ? "sqlite" : "postgres");
		if (!cfg->format_given)
			cfg->format = CFG_FMT_CSV;
	} else if (cfg->format_given) {
		if (cfg->format == CFG_FMT_POSTGRES) {
			int ok = conninfo_ok(cfg->output);

			if (ok < 0)
				return fail_oom(ld);
			if (!ok)
				return fail(ld, seen_line(ld, si, K_OUTPUT),
					    "invalid value for key 'output' in [aggregate]: not a libpq connection string (format = postgres)");
		}
	} else if (format_from_ext(cfg->output, &f) == 0) {
		cfg->format = f;
	} else if (looks_like_conninfo(cfg->output)) {
		return fail(ld, seen_line(ld, si, K_OUTPUT),
			    "output in [aggregate] looks like a PostgreSQL connection string: add format = postgres");
	} else {
		return fail(ld, seen_line(ld, si, K_OUTPUT),
			    "cannot tell the format of output '%s' from its extension (.csv, .jsonl, .ndjson, .db, .sqlite, .sqlite3): set format",
			    echo(cfg->output, eb, sizeof eb));
	}

	/* Keys that name something only some outputs have. */
	if (seen_line(ld, si, K_TABLE) && (cfg->format == CFG_FMT_CSV ||
					   cfg->format == CFG_FMT_JSONL))
		return fail(ld, seen_line(ld, si, K_TABLE),
			    "key 'table' does not apply to a %s output: it names the table of a sqlite or postgres output",
			    cfg->format == CFG_FMT_CSV ? "CSV" : "JSON Lines");

	if (cfg->backoff_ms > cfg->backoff_max_ms) {
		int line = seen_line(ld, si, K_BACKOFF_MAX);

		return fail(ld, line ? line : seen_line(ld, si, K_BACKOFF),
			    "backoff (%llums) is longer than backoff_max (%llums)",
			    (unsigned long long)cfg->backoff_ms,
			    (unsigned long long)cfg->backoff_max_ms);
	}

	/* No lock_file: the run locks on the output's real path (main.c). */
	return 0;
}

/* A file provider's format from its path's extension (".gz" ignored). */
static int resolve_file_format(struct loader *ld, int si,
			       struct cfg_provider *p)
{
	const char *base = strrchr(p->path, '/'), *dot;
	size_t n;
	char ext[16];
	char sd[128], eb[ECHO_MAX + 8];

	if (p->file_format != CFG_FMT_AUTO)
		return 0;
	base = base ? base + 1 : p->path;
	n = strlen(base);
	if (n > 3 && strcasecmp(base + n - 3, ".gz") == 0)
		n -= 3;
	dot = memrchr(base, '.', n);
	if (dot && (size_t)(base + n - dot) < sizeof ext) {
		memcpy(ext, dot + 1, (size_t)(base + n - dot - 1));
		ext[base + n - dot - 1] = '\0';
		if (strcasecmp(ext, "csv") == 0) {
			p->file_format = CFG_FMT_CSV;
			return 0;
		}
		if (strcasecmp(ext, "jsonl") == 0 ||
		    strcasecmp(ext, "ndjson") == 0) {
			p->file_format = CFG_FMT_JSONL;
			return 0;
		}
	}
	/*
	 * A glob whose extension is open ("in/x*", "part-??", "x.[cj]*") may
	 * match either format: decided per file.
	 */
	if (dot) {
		size_t en = (size_t)(base + n - dot);

		if (memchr(dot, '*', en) || memchr(dot, '?', en) ||
		    memchr(dot, '[', en))
			return 0;
	} else if (memchr(base, '*', n) || memchr(base, '?', n) ||
		   memchr(base, '[', n)) {
		return 0;
	}
	return fail(ld, seen_line(ld, si, K_PATH),
		    "cannot tell the format of path '%s' in %s from its extension (.csv, .jsonl, .ndjson, optionally .gz): set format",
		    echo(p->path, eb, sizeof eb), sect_desc(ld, si, sd, sizeof sd));
}

static int resolve_http(struct loader *ld, int si, struct cfg_provider *p)
{
	char sd[128];

	sect_desc(ld, si, sd, sizeof sd);
	if (p->nurls == 0)
		return missing_key(ld, si, "url", NULL);
	for (int i = 0; i < p->nurls; i++) {
		bool has_page = strstr(p->urls[i], "{page}") != NULL;

		if (p->pagination == CFG_PAGE_PAGE && !has_page)
			return fail(ld, seen_line(ld, si, K_URL),
				    "pagination = page needs '{page}' in every url of %s",
				    sd);
		if (p->pagination != CFG_PAGE_PAGE && has_page)
			return fail(ld, seen_line(ld, si, K_URL),
				    "url of %s has '{page}' but pagination is not page",
				    sd);
	}
	if (p->pagination == CFG_PAGE_CURSOR) {
		if (!p->cursor_path)
			return missing_key(ld, si, "cursor_path",
					   " (pagination = cursor)");
		if (!p->cursor_param)
			return missing_key(ld, si, "cursor_param",
					   " (pagination = cursor)");
	} else if (seen_line(ld, si, K_CURSOR_PATH) ||
		   seen_line(ld, si, K_CURSOR_PARAM)) {
		int line = seen_line(ld, si, K_CURSOR_PATH);

		return fail(ld, line ? line : seen_line(ld, si, K_CURSOR_PARAM),
			    "cursor_path and cursor_param need pagination = cursor in %s",
			    sd);
	}
	if (seen_line(ld, si, K_PAGE_START) && p->pagination != CFG_PAGE_PAGE)
		return fail(ld, seen_line(ld, si, K_PAGE_START),
			    "page_start needs pagination = page in %s", sd);
	if (p->response == CFG_RESP_NDJSON && *p->records)
		return fail(ld, seen_line(ld, si, K_RECORDS),
			    "records is not used with response = ndjson in %s",
			    sd);
	return 0;
}

static int resolve_provider(struct loader *ld, int si)
{
	struct cfg *cfg = ld->cfg;
	struct cfg_provider *p = &cfg->providers[ld->sects[si].prov];

	switch (p->type) {
	case CFG_PROV_FILE:
		if (!p->path)
			return missing_key(ld, si, "path", NULL);
		if (p->delimiter == p->quote)
			return fail(ld, seen_line(ld, si, K_QUOTE) ?
					seen_line(ld, si, K_QUOTE) :
					seen_line(ld, si, K_DELIMITER),
				    "delimiter and quote are the same character");
		if (resolve_file_format(ld, si, p) < 0)
			return -1;
		if (p->file_format == CFG_FMT_JSONL) {
			/* CSV settings; a glob open to both formats may use them. */
			static const struct {
				enum key_id id;
				const char *name;
			} csv_only[] = {
				{ K_HEADER, "header" }, { K_NULL, "null" },
				{ K_DELIMITER, "delimiter" }, { K_QUOTE, "quote" },
			};
			char sd[128];

			for (size_t i = 0; i < sizeof csv_only / sizeof csv_only[0]; i++)
				if (seen_line(ld, si, csv_only[i].id))
					return fail(ld, seen_line(ld, si, csv_only[i].id),
						    "key '%s' does not apply to JSON Lines files in %s: it is a CSV setting",
						    csv_only[i].name,
						    sect_desc(ld, si, sd, sizeof sd));
		}
		break;
	case CFG_PROV_SQLITE:
		if (!p->path)
			return missing_key(ld, si, "path", NULL);
		if (!p->query)
			return missing_key(ld, si, "query", NULL);
		break;
	case CFG_PROV_POSTGRES:
		if (!p->query)
			return missing_key(ld, si, "query", NULL);
		break;
	case CFG_PROV_HTTP:
		if (resolve_http(ld, si, p) < 0)
			return -1;
		break;
	}

	/* Unmapped fields come from the source column/key of the same name. */
	if (!p->source) {
		p->source = calloc((size_t)cfg->schema.nfields,
				   sizeof *p->source);
		if (!p->source)
			return fail_oom(ld);
	}
	for (int i = 0; i < cfg->schema.nfields; i++) {
		if (p->source[i])
			continue;
		p->source[i] = strdup(cfg->schema.fields[i].name);
		if (!p->source[i])
			return fail_oom(ld);
	}

	if (!seen_line(ld, si, K_RESTART))
		p->restart = cfg->restart;
	if (!seen_line(ld, si, K_STALL_TIMEOUT))
		p->stall_timeout_ms = cfg->stall_timeout_ms;
	if (!seen_line(ld, si, K_MEMORY_LIMIT))
		p->memory_limit = cfg->memory_limit;
	if (!seen_line(ld, si, K_MAX_REJECTS))
		p->max_rejects = cfg->max_rejects;
	return 0;
}

static int resolve(struct loader *ld)
{
	struct cfg *cfg = ld->cfg;
	bool any_enabled = false;

	ld->seen = calloc((size_t)(ld->nsects ? ld->nsects : 1) * K_NKEYS,
			  sizeof *ld->seen);
	if (!ld->seen)
		return fail_oom(ld);
	if (resolve_types_and_fields(ld) < 0)
		return -1;
	for (int i = 0; i < ld->nents; i++)
		if (apply_entry(ld, &ld->ents[i]) < 0)
			return -1;
	if (resolve_aggregate(ld) < 0)
		return -1;
	for (int si = 0; si < ld->nsects; si++)
		if (ld->sects[si].kind == SECT_PROVIDER &&
		    resolve_provider(ld, si) < 0)
			return -1;
	for (int i = 0; i < cfg->nproviders; i++)
		any_enabled |= cfg->providers[i].enabled;
	if (!any_enabled)
		return fail(ld, 0, cfg->nproviders ?
			    "no enabled provider: every [provider NAME] has enabled = false" :
			    "no provider: add a [provider NAME] section");
	return 0;
}

/* ------------------------------------------------------------------ */
/* the API                                                              */

static int cfg_defaults(struct cfg *cfg)
{
	cfg->write = CFG_WRITE_REPLACE;
	cfg->on_error = CFG_ON_ERROR_FAIL;
	cfg->restart = 3;
	cfg->backoff_ms = 200;
	cfg->backoff_max_ms = 10000;
	cfg->stall_timeout_ms = 60000;
	cfg->ring_size = 4ull << 20;
	cfg->table = strdup("aggregate");
	return cfg->table ? 0 : -1;
}

/* Strings every provider has, whatever its type. */
static int prov_strings(struct cfg_provider *p)
{
	if (!p->method)
		p->method = strdup("GET");
	if (!p->records)
		p->records = strdup("");
	if (!p->conninfo)
		p->conninfo = strdup("");
	return p->method && p->records && p->conninfo ? 0 : -1;
}

static int load(const char *name, const char *text, size_t len,
		struct cfg *cfg, char *err, size_t errlen)
{
	struct loader ld = {
		.name = name, .cfg = cfg, .err = err, .errlen = errlen,
		.text = text, .len = len, .cur_sect = -1, .agg_sect = -1,
	};
	int rc = -1;

	memset(cfg, 0, sizeof *cfg);
	cfg->path = strdup(name);
	if (!cfg->path || cfg_defaults(cfg) < 0) {
		fail_oom(&ld);
		goto out_free_loader;
	}
	if (memchr(text, '\0', len)) {
		size_t at = (size_t)((const char *)memchr(text, '\0', len) - text);
		int line = 1;

		for (size_t i = 0; i < at; i++)
			line += text[i] == '\n';
		fail(&ld, line, "NUL byte in line");
		goto out_free_loader;
	}
	if (read_entries(&ld) < 0)
		goto out_free_loader;
	for (int i = 0; i < cfg->nproviders; i++)
		if (prov_strings(&cfg->providers[i]) < 0) {
			fail_oom(&ld);
			goto out_free_loader;
		}
	if (resolve(&ld) < 0)
		goto out_free_loader;
	rc = 0;

out_free_loader:
	for (int i = 0; i < ld.nents; i++) {
		free(ld.ents[i].key);
		free(ld.ents[i].val.p);
	}
	free(ld.ents);
	free(ld.sects);
	free(ld.seen);
	free(ld.emitted);
	free(ld.line.p);
	free(ld.qval.p);
	if (rc < 0)
		cfg_free(cfg);
	return rc;
}

int cfg_load_string(const char *name, const char *text, struct cfg *cfg,
		    char *err, size_t errlen)
{
	return load(name, text, strlen(text), cfg, err, errlen);
}

int cfg_load(const char *path, struct cfg *cfg, char *err, size_t errlen,
	     int *exit_code)
{
	struct sbuf buf = { 0 };
	FILE *f;
	int rc = -1;

	memset(cfg, 0, sizeof *cfg);
	*exit_code = 66;
	f = fopen(path, "r");
	if (!f) {
		set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	for (;;) {
		char chunk[8192];
		size_t n = fread(chunk, 1, sizeof chunk, f);

		if (n > 0 && sbuf_add(&buf, chunk, n) < 0) {
			set_err(err, errlen, "cannot read %s: %s", path,
				strerror(ENOMEM));
			goto out_close_file;
		}
		if (n < sizeof chunk) {
			if (ferror(f)) {
				set_err(err, errlen, "cannot read %s: %s", path,
					strerror(errno));
				goto out_close_file;
			}
			break;
		}
	}
	*exit_code = 78;
	rc = load(path, sbuf_str(&buf), buf.len, cfg, err, errlen);
	if (rc == 0)
		*exit_code = 0;

out_close_file:
	fclose(f);
out:
	free(buf.p);
	return rc;
}

int cfg_set_output(struct cfg *cfg, const char *output, char *err,
		   size_t errlen)
{
	enum cfg_format f = cfg->format;
	char *out = NULL;
	char eb[ECHO_MAX + 8];
	bool stdout_ = strcmp(output, "-") == 0;

	if (!*output) {
		set_err(err, errlen, "-o: empty output");
		return -1;
	}
	if (stdout_) {
		if (cfg->format_given && (f == CFG_FMT_SQLITE || f == CFG_FMT_POSTGRES)) {
			set_err(err, errlen,
				"-o -: format = %s cannot be written to stdout",
				f == CFG_FMT_SQLITE ? "sqlite" : "postgres");
			return -1;
		}
		if (!cfg->format_given)
			f = CFG_FMT_CSV;
	} else if (cfg->format_given) {
		if (f == CFG_FMT_POSTGRES && conninfo_ok(output) != 1) {
			set_err(err, errlen,
				"-o: not a libpq connection string (format = postgres)");
			return -1;
		}
	} else if (format_from_ext(output, &f) < 0) {
		if (looks_like_conninfo(output))
			set_err(err, errlen,
				"-o: looks like a PostgreSQL connection string: set [aggregate] format = postgres");
		else
			set_err(err, errlen,
				"-o: cannot tell the format of '%s' from its extension (.csv, .jsonl, .ndjson, .db, .sqlite, .sqlite3): set [aggregate] format",
				echo(output, eb, sizeof eb));
		return -1;
	}
	out = strdup(output);
	if (!out)
		goto fail_oom;
	free(cfg->output);
	cfg->output = out;
	cfg->format = f;
	return 0;

fail_oom:
	free(out);
	set_err(err, errlen, "out of memory");
	return -1;
}

static void prov_free(struct cfg_provider *p, int nfields)
{
	if (p->source)
		for (int i = 0; i < nfields; i++)
			free(p->source[i]);
	free(p->source);
	free(p->name);
	free(p->path);
	for (int i = 0; i < p->nnulls; i++)
		free(p->nulls[i]);
	free(p->nulls);
	free(p->query);
	free(p->key);
	free(p->conninfo);
	for (int i = 0; i < p->nurls; i++)
		free(p->urls[i]);
	free(p->urls);
	free(p->cursor_path);
	free(p->cursor_param);
	free(p->records);
	for (int i = 0; i < p->nheaders; i++)
		free(p->headers[i]);
	free(p->headers);
	free(p->method);
	free(p->body);
	free(p->ca_file);
}

int cfg_select(struct cfg *cfg, const char *names, char *err, size_t errlen)
{
	bool *keep = NULL, any = false, enabled = false;
	char *list = NULL, *rest, *item;
	int n = 0, rc = -1;

	if (cfg->nproviders == 0) {
		set_err(err, errlen, "--only: no provider to select");
		return -1;
	}
	keep = calloc((size_t)cfg->nproviders, sizeof *keep);
	list = strdup(names);
	if (!keep || !list) {
		set_err(err, errlen, "out of memory");
		goto out_free;
	}
	rest = list;
	while ((item = next_item(&rest))) {
		int i;

		if (!*item)
			continue;
		for (i = 0; i < cfg->nproviders; i++)
			if (strcmp(cfg->providers[i].name, item) == 0)
				break;
		if (i == cfg->nproviders) {
			char eb[ECHO_MAX + 8];
			const char *near = NULL;
			int best = 10;

			for (int j = 0; j < cfg->nproviders; j++)
				if (near_miss(item, cfg->providers[j].name,
					      &best))
					near = cfg->providers[j].name;
			if (near)
				set_err(err, errlen,
					"--only: unknown provider '%s' (did you mean '%s'?)",
					echo(item, eb, sizeof eb), near);
			else
				set_err(err, errlen,
					"--only: unknown provider '%s'",
					echo(item, eb, sizeof eb));
			goto out_free;
		}
		keep[i] = true;
		any = true;
	}
	if (!any) {
		set_err(err, errlen, "--only: no provider named");
		goto out_free;
	}
	for (int i = 0; i < cfg->nproviders; i++)
		enabled |= keep[i] && cfg->providers[i].enabled;
	if (!enabled) {
		set_err(err, errlen,
			"--only: every provider selected has enabled = false");
		goto out_free;
	}
	for (int i = 0; i < cfg->nproviders; i++) {
		if (keep[i])
			cfg->providers[n++] = cfg->providers[i];
		else
			prov_free(&cfg->providers[i], cfg->schema.nfields);
	}
	cfg->nproviders = n;
	rc = 0;

out_free:
	free(list);
	free(keep);
	return rc;
}

void cfg_free(struct cfg *cfg)
{
	if (!cfg)
		return;
	for (int i = 0; i < cfg->nproviders; i++)
		prov_free(&cfg->providers[i], cfg->schema.nfields);
	free(cfg->providers);
	for (int i = 0; i < cfg->schema.nfields; i++)
		free(cfg->schema.fields[i].name);
	free(cfg->schema.fields);
	for (int i = 0; i < cfg->naggs; i++)
		free(cfg->aggs[i].name);
	free(cfg->aggs);
	free(cfg->group_by);
	free(cfg->path);
	free(cfg->output);
	free(cfg->table);
	free(cfg->reject_file);
	free(cfg->lock_file);
	free(cfg->metrics_file);
	memset(cfg, 0, sizeof *cfg);
}
