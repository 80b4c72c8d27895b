/*
 * config_read.c - the reader of providers.conf (config_read.h).
 *
 * Phase 1 of loading a config: runs Debian's inih over the text and
 * collects raw (section, key, value, line) entries; config.c's phase 2
 * checks them against the grammar of the user contract (SPEC.md §3).
 *
 * The reader trick.  Debian's inih is built with INI_MAX_LINE 200 (on the
 * stack) and INI_HANDLER_LINENO 0: a longer line is silently cut in two and
 * the handler never learns a line number.  So we hand inih our own reader
 * (ini_parse_stream) that
 *   - reads the text one physical line at a time and counts lines, so the
 *     handler knows the file:line of every call (rd->lineno);
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
 *   - says what kind of line inih is handling (rd->kind), so that a second
 *     `url = ...` (repeatable) is told apart from a continuation of the
 *     first, and any other key given twice is an error naming both lines.
 * Section names are taken from the reader too: inih keeps only 49 bytes.
 *
 * Invariants: every entry's sect is a valid section index; sections and
 * entries are in file order; after the first error (doc->failed) nothing
 * more is read or recorded.
 */
#include "config_read.h"

#include <ctype.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_value.h"

/* Starts every continuation chunk of a cut line: a byte no config holds. */
#define CHUNK_MARK '\x1f'

/* What the reader last handed to inih (read by the handler). */
enum line_kind { LINE_NONE, LINE_SECTION, LINE_KEY, LINE_CONT, LINE_CHUNK };

/* The reader's state while it feeds inih; doc gets what it reads. */
struct reader {
	struct cfg_doc *doc;

	/* input */
	const char *text;
	size_t len;
	size_t pos;
	int lineno;             /* physical line of the current line */

	/* the current physical line; split_off < line_len: chunks pending */
	struct buf line;
	size_t split_off;
	enum line_kind kind;
	bool have_key;          /* an indented line continues the last key */
	bool quoted;            /* the key line's value was "quoted" ... */
	struct buf qval;        /* ... and this is the text inside */

	/* inih's line n (1-based) is physical line emitted[n - 1] */
	int *emitted;
	int nemitted;
	int emitted_cap;

	int sects_cap;
	int ents_cap;
	int cur_sect;           /* -1 before the first [section] */
};

/* ------------------------------------------------------------------ */
/* errors                                                               */

void cfg_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int cfg_fail(struct cfg_doc *doc, int line, const char *fmt, ...)
{
	char msg[CFG_ERR_MAX];
	va_list ap;

	if (doc->failed)
		return -1;
	doc->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		cfg_set_err(doc->err, doc->errlen, "%s:%d: %s", doc->name, line,
			    msg);
	else
		cfg_set_err(doc->err, doc->errlen, "%s: %s", doc->name, msg);
	return -1;
}

int cfg_fail_oom(struct cfg_doc *doc)
{
	return cfg_fail(doc, 0, "out of memory");
}

const char *cfg_sect_desc(const struct cfg_doc *doc, int si, char *buf,
			  size_t n)
{
	const struct cfg_sect *s = &doc->sects[si];

	if (s->kind == CFG_SECT_AGGREGATE)
		snprintf(buf, n, "[aggregate]");
	else if (s->kind == CFG_SECT_OUTPUT)
		snprintf(buf, n, "[output %s]", s->name);
	else
		snprintf(buf, n, "[provider %s]", s->name);
	return buf;
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

static int push_emitted(struct reader *rd)
{
	if (rd->nemitted == rd->emitted_cap) {
		int cap = rd->emitted_cap ? 2 * rd->emitted_cap : 64;
		int *p = realloc(rd->emitted, (size_t)cap * sizeof *p);

		if (!p)
			return cfg_fail_oom(rd->doc);
		rd->emitted = p;
		rd->emitted_cap = cap;
	}
	rd->emitted[rd->nemitted++] = rd->lineno;
	return 0;
}

/* Open a new section from the text between '[' and ']'. */
static int open_section(struct reader *rd, char *inner)
{
	char *words[3] = { NULL, NULL, NULL };
	int nwords = 0;
	char *s = inner;
	struct cfg_doc *doc = rd->doc;
	struct cfg_sect *sp;

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
		return cfg_fail(doc, rd->lineno, "empty section header []");
	if (doc->nsects == rd->sects_cap) {
		int cap = rd->sects_cap ? 2 * rd->sects_cap : 8;

		sp = realloc(doc->sects, (size_t)cap * sizeof *sp);
		if (!sp)
			return cfg_fail_oom(doc);
		doc->sects = sp;
		rd->sects_cap = cap;
	}
	sp = &doc->sects[doc->nsects];
	sp->line = rd->lineno;
	sp->name = NULL;
	sp->prov = -1;

	if (strcmp(words[0], "aggregate") == 0) {
		if (nwords > 1)
			return cfg_fail(doc, rd->lineno,
					"[aggregate] takes no name: write [aggregate]");
		if (doc->agg_sect >= 0)
			return cfg_fail(doc, rd->lineno,
					"duplicate section [aggregate] (first at line %d)",
					doc->sects[doc->agg_sect].line);
		sp->kind = CFG_SECT_AGGREGATE;
		doc->agg_sect = doc->nsects;
	} else if (strcmp(words[0], "provider") == 0) {
		const char *name = words[1];

		if (!name)
			return cfg_fail(doc, rd->lineno,
					"missing provider name: write [provider NAME]");
		if (nwords > 2 ||
		    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") !=
			    strlen(name))
			return cfg_fail(doc, rd->lineno,
					"invalid provider name in section header: use letters, digits, '_', '.' and '-'");
		for (int i = 0; i < doc->nsects; i++)
			if (doc->sects[i].kind == CFG_SECT_PROVIDER &&
			    strcmp(doc->sects[i].name, name) == 0)
				return cfg_fail(doc, rd->lineno,
						"duplicate section [provider %s] (first at line %d)",
						name, doc->sects[i].line);
		sp->name = strdup(name);
		if (!sp->name)
			return cfg_fail_oom(doc);
		sp->kind = CFG_SECT_PROVIDER;
		sp->prov = doc->nprovs++;
	} else if (strcmp(words[0], "output") == 0) {
		const char *name = words[1];

		if (!name)
			return cfg_fail(doc, rd->lineno,
					"missing output name: write [output NAME]");
		if (nwords > 2 ||
		    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") !=
			    strlen(name))
			return cfg_fail(doc, rd->lineno,
					"invalid output name in section header: use letters, digits, '_', '.' and '-'");
		for (int i = 0; i < doc->nsects; i++)
			if (doc->sects[i].kind == CFG_SECT_OUTPUT &&
			    strcmp(doc->sects[i].name, name) == 0)
				return cfg_fail(doc, rd->lineno,
						"duplicate section [output %s] (first at line %d)",
						name, doc->sects[i].line);
		sp->name = strdup(name);
		if (!sp->name)
			return cfg_fail_oom(doc);
		sp->kind = CFG_SECT_OUTPUT;
		sp->prov = doc->nouts++;
	} else {
		int best = 10;

		if (cfg_near_miss(words[0], "aggregate", &best))
			return cfg_fail(doc, rd->lineno,
					"unknown section [%s] (did you mean [aggregate]?)",
					words[0]);
		if (cfg_near_miss(words[0], "provider", &best))
			return cfg_fail(doc, rd->lineno,
					"unknown section [%s%s%s] (did you mean [provider %s]?)",
					words[0], words[1] ? " " : "",
					words[1] ? words[1] : "",
					words[1] ? words[1] : "NAME");
		if (cfg_near_miss(words[0], "output", &best))
			return cfg_fail(doc, rd->lineno,
					"unknown section [%s%s%s] (did you mean [output %s]?)",
					words[0], words[1] ? " " : "",
					words[1] ? words[1] : "",
					words[1] ? words[1] : "NAME");
		return cfg_fail(doc, rd->lineno,
				"unknown section [%s]: expected [aggregate], [provider NAME] or [output NAME]",
				words[0]);
	}
	rd->cur_sect = doc->nsects++;
	return 0;
}

/* Read the next physical line into rd->line; false at the end or error. */
static bool read_line(struct reader *rd)
{
	const char *start, *nl;
	size_t n;

	if (rd->pos >= rd->len)
		return false;
	start = rd->text + rd->pos;
	nl = memchr(start, '\n', rd->len - rd->pos);
	n = nl ? (size_t)(nl - start) : rd->len - rd->pos;
	rd->pos += n + (nl ? 1 : 0);
	rd->lineno++;
	if (n > 0 && start[n - 1] == '\r')
		n--;
	rd->line.len = 0;
	if (buf_add(&rd->line, start, n) < 0) {
		cfg_fail_oom(rd->doc);
		return false;
	}
	return true;
}

/*
 * Look at the physical line in rd->line: check it, strip its comment, set
 * rd->kind.  Returns 1 to hand it to inih, 0 to skip it (blank, comment),
 * -1 on error.
 */
static int classify_line(struct reader *rd, size_t room)
{
	char *l = (char *)rd->line.p;
	size_t n = rd->line.len, ind = 0, cut;

	if (rd->lineno == 1 && n >= 3 && memcmp(l, "\xEF\xBB\xBF", 3) == 0) {
		memmove(l, l + 3, n - 3);
		n -= 3;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)l[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return cfg_fail(rd->doc, rd->lineno,
					"control character 0x%02x in line", c);
	}
	while (ind < n && isspace((unsigned char)l[ind]))
		ind++;
	if (ind == n || l[ind] == '#' || l[ind] == ';')
		return 0;

	if (ind > 0 && rd->have_key) {
		rd->kind = LINE_CONT;
		cut = comment_at(l, ind, n);
	} else if (l[ind] == '[') {
		char *close, *inner;
		int r;

		cut = comment_at(l, ind + 1, n);
		l[cut] = '\0';
		close = memchr(l + ind + 1, ']', cut - ind - 1);
		if (!close)
			return cfg_fail(rd->doc, rd->lineno,
					"missing ']' in section header");
		for (char *t = close + 1; *t; t++)
			if (!isspace((unsigned char)*t))
				return cfg_fail(rd->doc, rd->lineno,
						"unexpected text after ']' in section header");
		/* inih needs a section line whole; no real name is that long. */
		if ((size_t)(close - l) + 1 > room)
			return cfg_fail(rd->doc, rd->lineno, "section header too long");
		inner = strndup(l + ind + 1, (size_t)(close - l) - ind - 1);
		if (!inner)
			return cfg_fail_oom(rd->doc);
		r = open_section(rd, inner);
		free(inner);
		if (r < 0)
			return -1;
		close[1] = '\0';
		rd->line.len = (size_t)(close - l) + 1;
		rd->kind = LINE_SECTION;
		rd->have_key = false;
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
			return cfg_fail(rd->doc, rd->lineno,
					"expected 'key = value' or a [section]");
		k = sep;
		while (k > ind && isspace((unsigned char)l[k - 1]))
			k--;
		if (k == ind)
			return cfg_fail(rd->doc, rd->lineno, "missing key name before '%c'",
					l[sep]);
		/* The first chunk of a cut line must hold the key and '='. */
		if (sep + 8 > room)
			return cfg_fail(rd->doc, rd->lineno, "key name too long");
		rd->kind = LINE_KEY;
		rd->have_key = true;
		cut = comment_at(l, sep + 1, n);
		k = sep + 1;
		while (k < n && isspace((unsigned char)l[k]))
			k++;
		rd->quoted = false;
		if (quoted_end(l, k, n)) {
			/* inih gets "key =", the handler the text inside. */
			size_t q = quoted_end(l, k, n);

			rd->qval.len = 0;
			if (buf_add(&rd->qval, l + k + 1, q - k - 1) < 0)
				return cfg_fail_oom(rd->doc);
			rd->quoted = true;
			cut = sep + 1;
		}
	}
	while (cut > ind && isspace((unsigned char)l[cut - 1]))
		cut--;
	l[cut] = '\0';
	rd->line.len = cut;
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
	struct reader *rd = stream;
	size_t room, end;
	const char *l;

	if (rd->doc->failed || num < 64)
		return NULL;
	/* Like fgets: at most num - 1 bytes, a newline ending the line. */
	room = (size_t)num - 2;
	l = (char *)rd->line.p;

	if (rd->split_off < rd->line.len) {
		size_t lo = rd->split_off, avail = room - 2;

		end = rd->line.len;
		if (end - lo > avail) {
			end = split_point(l, lo, lo + avail);
			if (end == 0) {
				cfg_fail(rd->doc, rd->lineno,
					 "line too long to read: a run of whitespace exceeds %zu bytes",
					 avail);
				return NULL;
			}
		}
		str[0] = '\t';
		str[1] = CHUNK_MARK;
		memcpy(str + 2, l + lo, end - lo);
		memcpy(str + 2 + end - lo, "\n", 2);
		rd->split_off = end;
		rd->kind = LINE_CHUNK;
		return push_emitted(rd) < 0 ? NULL : str;
	}

	for (;;) {
		int r;

		if (!read_line(rd))
			return NULL;
		r = classify_line(rd, room);
		if (r < 0)
			return NULL;
		if (r > 0)
			break;
	}
	l = (char *)rd->line.p;
	end = rd->line.len;
	if (end > room) {
		/* The first chunk must keep the key and its separator. */
		size_t lo = strcspn(l, "=:") + 1;

		if (rd->kind == LINE_CONT)
			lo = strspn(l, " \t");
		end = split_point(l, lo, room);
		if (end == 0) {
			cfg_fail(rd->doc, rd->lineno,
				 "line too long to read: a run of whitespace exceeds %zu bytes",
				 room);
			return NULL;
		}
	}
	memcpy(str, l, end);
	memcpy(str + end, "\n", 2);
	rd->split_off = end;
	return push_emitted(rd) < 0 ? NULL : str;
}

static int cfg_handler(void *user, const char *section, const char *name,
		       const char *value)
{
	struct reader *rd = user;
	struct cfg_doc *doc = rd->doc;
	struct cfg_entry *e;

	(void)section; /* inih's copy is cut at 49 bytes; ours is whole */
	if (doc->failed)
		return 0;
	switch (rd->kind) {
	case LINE_KEY:
		if (rd->cur_sect < 0) {
			cfg_fail(doc, rd->lineno,
				 "key '%s' outside any section: put it under [aggregate] or [provider NAME]",
				 name);
			return 0;
		}
		if (doc->nents == rd->ents_cap) {
			int cap = rd->ents_cap ? 2 * rd->ents_cap : 32;

			e = realloc(doc->ents, (size_t)cap * sizeof *e);
			if (!e) {
				cfg_fail_oom(doc);
				return 0;
			}
			doc->ents = e;
			rd->ents_cap = cap;
		}
		e = &doc->ents[doc->nents];
		memset(e, 0, sizeof *e);
		e->sect = rd->cur_sect;
		e->line = rd->lineno;
		e->key = strdup(name);
		doc->nents++;
		if (rd->quoted) {
			value = buf_str(&rd->qval);
			e->quoted = true;
		}
		if (!e->key || buf_add(&e->val, value, strlen(value)) < 0) {
			cfg_fail_oom(doc);
			return 0;
		}
		return 1;
	case LINE_CONT:
	case LINE_CHUNK:
		if (doc->nents == 0)
			break;
		e = &doc->ents[doc->nents - 1];
		if (rd->kind == LINE_CHUNK) {
			if (value[0] != CHUNK_MARK)
				break;
			value++;
		} else if (buf_add(&e->val, "\n", 1) < 0) {
			cfg_fail_oom(doc);
			return 0;
		}
		if (buf_add(&e->val, value, strlen(value)) < 0) {
			cfg_fail_oom(doc);
			return 0;
		}
		return 1;
	default:
		break;
	}
	cfg_fail(doc, rd->lineno, "cannot parse this line");
	return 0;
}

int cfg_read(struct cfg_doc *doc, const char *text, size_t len)
{
	struct reader rd = {
		.doc = doc, .text = text, .len = len, .cur_sect = -1,
	};
	const char *nul = memchr(text, '\0', len);
	int rc = -1;

	doc->agg_sect = -1;
	if (nul) {
		int line = 1;

		for (const char *c = text; c < nul; c++)
			line += *c == '\n';
		cfg_fail(doc, line, "NUL byte in line");
		goto out_free_reader;
	}
	rc = ini_parse_stream(cfg_reader, &rd, cfg_handler, &rd);
	if (doc->failed) {
		rc = -1;
	} else if (rc == -2) {
		rc = cfg_fail_oom(doc);
	} else if (rc != 0) {
		int line = rc > 0 && rc <= rd.nemitted ? rd.emitted[rc - 1] : 0;

		rc = cfg_fail(doc, line, "syntax error");
	}

out_free_reader:
	free(rd.emitted);
	buf_free(&rd.line);
	buf_free(&rd.qval);
	return rc;
}

void cfg_doc_free(struct cfg_doc *doc)
{
	for (int i = 0; i < doc->nsects; i++)
		free(doc->sects[i].name);
	free(doc->sects);
	for (int i = 0; i < doc->nents; i++) {
		free(doc->ents[i].key);
		buf_free(&doc->ents[i].val);
	}
	free(doc->ents);
	doc->sects = NULL;
	doc->ents = NULL;
	doc->nsects = doc->nents = 0;
}

/* ------------------------------------------------------------------ */
/* values                                                               */

/* Deepest ${A:-${B:-...}} nesting of defaults. */
#define EXPAND_DEPTH 8

/* Expand ${VAR}, ${VAR:-default} of s[0..end) into out; -1 on error. */
static int expand_into(struct cfg_doc *doc, const struct cfg_entry *e,
		       const char *s, const char *end, struct buf *out,
		       int depth)
{
	char sd[CFG_SECT_DESC_MAX];

	while (s < end) {
		const char *name, *p, *def = NULL, *v;
		size_t n = 0, deflen = 0;
		char var[256];

		if (!(s[0] == '$' && s + 1 < end && s[1] == '{')) {
			const char *d = memchr(s + 1, '$', (size_t)(end - s) - 1);
			size_t run = d ? (size_t)(d - s) : (size_t)(end - s);

			if (buf_add(out, s, run) < 0)
				return cfg_fail_oom(doc);
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
			return cfg_fail(doc, e->line,
					"unterminated '${' in key '%s' in %s (write ${NAME} or ${NAME:-default})",
					e->key, cfg_sect_desc(doc, e->sect, sd, sizeof sd));
		if (*p != '}' || n == 0 || n >= sizeof var ||
		    isdigit((unsigned char)name[0]))
			return cfg_fail(doc, e->line,
					"bad variable name in '${...}' in key '%s' in %s",
					e->key, cfg_sect_desc(doc, e->sect, sd, sizeof sd));
		memcpy(var, name, n);
		var[n] = '\0';
		v = getenv(var);
		if (def && (!v || !*v)) {
			if (depth >= EXPAND_DEPTH)
				return cfg_fail(doc, e->line,
						"defaults nested more than %d deep in key '%s' in %s",
						EXPAND_DEPTH, e->key,
						cfg_sect_desc(doc, e->sect, sd, sizeof sd));
			if (expand_into(doc, e, def, def + deflen, out,
					depth + 1) < 0)
				return -1;
		} else if (!v) {
			return cfg_fail(doc, e->line,
					"environment variable '%s' is not set (key '%s' in %s)",
					var, e->key, cfg_sect_desc(doc, e->sect, sd, sizeof sd));
		} else if (buf_add(out, v, strlen(v)) < 0) {
			return cfg_fail_oom(doc);
		}
		s = p + 1;
	}
	return 0;
}

char *cfg_expand(struct cfg_doc *doc, const struct cfg_entry *e)
{
	const char *s = buf_str(&e->val), *end;
	struct buf out = { 0 };

	if (buf_add(&out, "", 0) < 0) {
		cfg_fail_oom(doc);
		return NULL;
	}
	end = s + strlen(s);
	if (!e->quoted) {
		while (isspace((unsigned char)*s))
			s++;
		while (end > s && isspace((unsigned char)end[-1]))
			end--;
	}
	if (expand_into(doc, e, s, end, &out, 0) < 0) {
		buf_free(&out);
		return NULL;
	}
	return (char *)buf_take(&out);
}

const struct cfg_entry *cfg_find_entry(const struct cfg_doc *doc, int si,
				       const char *key)
{
	for (int i = 0; i < doc->nents; i++)
		if (doc->ents[i].sect == si && strcmp(doc->ents[i].key, key) == 0)
			return &doc->ents[i];
	return NULL;
}

int cfg_missing_key(struct cfg_doc *doc, int si, const char *key,
		    const char *why)
{
	char sd[CFG_SECT_DESC_MAX];

	return cfg_fail(doc, doc->sects[si].line,
			"missing required key '%s' in %s%s", key,
			cfg_sect_desc(doc, si, sd, sizeof sd), why ? why : "");
}

