/*
 * file_conf.c - a file provider's keys in providers.conf (file_conf.h).
 *
 * Its key table, how each key is applied, and the checks once all are:
 * path is required (and may be given more than once); delimiter and quote
 * differ; the format comes from
 * `format`, else from the path's extension (".gz" aside), else, for a
 * glob whose extension is open, from each file's; CSV settings are refused
 * for JSON Lines and JSON.  TSV (format = tsv, or a .tsv path) is CSV
 * whose delimiter is a tab unless `delimiter` says otherwise; JSON
 * (format = json, or a .json path) is a JSON array of the records, at
 * `records` (a JSON pointer, spelt as the http provider's) when set.
 * `encoding` names the files' character set by a name iconv knows.
 * Messages are config_key.h's and config_read.h's, so they read as every
 * other key's.
 */
#include "file_conf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/config_key.h"
#include "../common/config_read.h"
#include "../common/config_value.h"

enum file_key {
	FK_FORMAT, FK_PATH, FK_DELIMITER, FK_QUOTE, FK_HEADER, FK_NULL,
	FK_RECORDS, FK_ENCODING, FK_PARALLEL, FK_PUSHDOWN,
};

static const struct cfg_key_def file_keys[] = {
	[FK_FORMAT] = { "format", 0 },
	[FK_PATH] = { "path", CFG_KEY_REPEAT },
	[FK_DELIMITER] = { "delimiter", 0 },
	[FK_QUOTE] = { "quote", 0 },
	[FK_HEADER] = { "header", 0 },
	[FK_NULL] = { "null", 0 },
	[FK_RECORDS] = { "records", 0 },
	[FK_ENCODING] = { "encoding", 0 },
	[FK_PARALLEL] = { "parallel", 0 },
	[FK_PUSHDOWN] = { "pushdown", 0 },
};

/*
 * encoding: the names a user may write (any case), and the name glibc's
 * iconv knows each by (NULL: UTF-8, read as it is).  UTF-16 without a
 * byte order mark is little-endian, as glibc's "UTF-16" reads it.
 */
static const char *const enc_names[] = {
	"utf-8", "utf8", "latin1", "iso-8859-1", "iso8859-1", "latin-1",
	"windows-1252", "cp1252", "utf-16", "utf16", "utf-16le", "utf-16be",
};
static const char *const enc_iconv[] = {
	NULL, NULL, "ISO-8859-1", "ISO-8859-1", "ISO-8859-1", "ISO-8859-1",
	"WINDOWS-1252", "WINDOWS-1252", "UTF-16", "UTF-16", "UTF-16LE",
	"UTF-16BE",
};

static int file_init(struct cfg_provider *p)
{
	struct file_conf *f = calloc(1, sizeof *f);

	if (!f)
		return -1;
	f->file_format = CFG_FMT_AUTO;
	f->delimiter = ',';
	f->quote = '"';
	f->header = true;
	f->parallel = 1;
	f->pushdown = true;
	p->opts = f;
	return 0;
}

static void file_free(struct cfg_provider *p)
{
	struct file_conf *f = p->opts;

	if (!f)
		return;
	for (int i = 0; i < f->npaths; i++)
		free(f->paths[i]);
	free(f->paths);
	for (int i = 0; i < f->nnulls; i++)
		free(f->nulls[i]);
	free(f->nulls);
	free(f->records);
	free(f);
	p->opts = NULL;
}

/* delimiter or quote: one ASCII character, or "\t", "tab", "semicolon". */
static int apply_char(const struct cfg_key *k, int id, const char *v,
		      char *out)
{
	/*
	 * inih strips a literal tab and reads " ;" as a comment, so those two
	 * are spelt "\t" or "tab", and "semicolon".
	 */
	if (strcmp(v, "\\t") == 0 || strcmp(v, "tab") == 0)
		*out = '\t';
	else if (strcmp(v, "semicolon") == 0)
		*out = ';';
	else if (strlen(v) == 1 && !isspace((unsigned char)*v) &&
		 !iscntrl((unsigned char)*v) && !((unsigned char)*v & 0x80))
		*out = *v;
	else if (id == FK_DELIMITER)
		return cfg_bad_value(k, NULL,
				     "expected one ASCII character, tab or semicolon");
	else
		return cfg_bad_value(k, NULL,
				     "expected one ASCII character for the quote, such as \" or '");
	return 0;
}

/* null: markers that also mean NULL, each added to the empty field. */
static int apply_nulls(const struct cfg_key *k, struct file_conf *f, char *v)
{
	char *item, *rest = v;

	while ((item = cfg_next_item(&rest))) {
		char *m;

		if (!*item)
			continue;
		if (f->nnulls == CFG_MAX_NULLS)
			return cfg_bad_value(k, NULL, "more than %d markers",
					     CFG_MAX_NULLS);
		m = strdup(item);
		if (!m || cfg_key_append(k, &f->nulls, &f->nnulls, &m) < 0) {
			free(m);
			return cfg_fail_oom(k->doc);
		}
	}
	return 0;
}

static int file_apply(const struct cfg_key *k, int id, struct cfg_provider *p,
		      char **vp)
{
	struct file_conf *f = p->opts;
	char *v = *vp;
	int iv;

	switch (id) {
	case FK_PATH:
		/* Repeatable: each adds files; path names the first. */
		if (!*v)
			return cfg_bad_value(k, NULL, "empty value");
		if (cfg_key_append(k, &f->paths, &f->npaths, vp) < 0)
			return -1;
		f->path = f->paths[0];
		return 0;
	case FK_FORMAT: {
		static const char *const names[] = { "csv", "tsv", "jsonl",
			"ndjson", "json", NULL };
		static const int vals[] = { CFG_FMT_CSV, CFG_FMT_CSV,
			CFG_FMT_JSONL, CFG_FMT_JSONL, CFG_FMT_JSONL };

		if (cfg_parse_enum(v, names, vals, &iv) < 0)
			return cfg_bad_value(k, NULL,
					     "expected csv, tsv, jsonl or json");
		f->file_format = (enum cfg_format)iv;
		f->tsv = strcasecmp(v, "tsv") == 0;
		f->json = strcasecmp(v, "json") == 0;
		return 0;
	}
	case FK_RECORDS:
		if (!cfg_is_json_pointer(v))
			return cfg_bad_value(k, NULL,
					     "expected a JSON pointer such as /items (empty: the file is the array)");
		free(f->records);
		f->records = v;
		*vp = NULL;
		return 0;
	case FK_ENCODING: {
		const char *near;

		for (size_t i = 0; i < sizeof enc_names / sizeof enc_names[0];
		     i++)
			if (strcasecmp(v, enc_names[i]) == 0) {
				f->encoding = enc_iconv[i];
				return 0;
			}
		near = cfg_nearest(v, enc_names,
				   sizeof enc_names / sizeof enc_names[0]);
		if (near)
			return cfg_bad_value(k, NULL,
					     "unknown encoding (did you mean '%s'?)",
					     near);
		return cfg_bad_value(k, NULL,
				     "expected utf-8, latin1, windows-1252, utf-16, utf-16le or utf-16be");
	}
	case FK_DELIMITER:
		return apply_char(k, id, v, &f->delimiter);
	case FK_QUOTE:
		return apply_char(k, id, v, &f->quote);
	case FK_HEADER:
		return cfg_key_bool(k, v, &f->header);
	case FK_PUSHDOWN:
		return cfg_key_bool(k, v, &f->pushdown);
	case FK_NULL:
		return apply_nulls(k, f, v);
	case FK_PARALLEL: {
		long n;

		f->parallel_line = k->e->line;
		if (strcasecmp(v, "auto") == 0) {
			f->parallel = 0;
			return 0;
		}
		if (cfg_parse_long(v, 1, FILE_MAX_PARALLEL, &n) < 0)
			return cfg_bad_value(k, NULL,
					     "expected auto or a whole number from 1 to %d",
					     FILE_MAX_PARALLEL);
		f->parallel = (int)n;
		return 0;
	}
	default:
		break;
	}
	return cfg_fail(k->doc, k->e->line, "internal error: key '%s'",
			k->e->key);
}

/*
 * The format of one path from its extension (".gz" ignored): *fmt CSV or
 * JSONL (*tsv for .tsv, *json for .json), or AUTO for a glob whose
 * extension is open (then each file's decides).  Returns 0, or -1 when the extension tells nothing.
 */
static int path_format(const char *path, enum cfg_format *fmt, bool *tsv,
		       bool *json)
{
	const char *base = strrchr(path, '/'), *dot;
	size_t n;
	char ext[16];

	*tsv = false;
	*json = false;
	*fmt = CFG_FMT_AUTO;
	base = base ? base + 1 : path;
	n = strlen(base);
	if (n > 3 && strcasecmp(base + n - 3, ".gz") == 0)
		n -= 3;
	dot = memrchr(base, '.', n);
	if (dot && (size_t)(base + n - dot) < sizeof ext) {
		memcpy(ext, dot + 1, (size_t)(base + n - dot - 1));
		ext[base + n - dot - 1] = '\0';
		if (strcasecmp(ext, "csv") == 0 ||
		    strcasecmp(ext, "tsv") == 0) {
			*fmt = CFG_FMT_CSV;
			*tsv = strcasecmp(ext, "tsv") == 0;
			return 0;
		}
		if (strcasecmp(ext, "jsonl") == 0 ||
		    strcasecmp(ext, "ndjson") == 0 ||
		    strcasecmp(ext, "json") == 0) {
			*fmt = CFG_FMT_JSONL;
			*json = strcasecmp(ext, "json") == 0;
			return 0;
		}
	}
	/*
	 * A glob whose extension is open ("in/x*", "part-??", "x.[cj]*",
	 * "x.{csv,jsonl}") may match either format: decided per file.
	 */
	if (dot) {
		size_t en = (size_t)(base + n - dot);

		if (memchr(dot, '*', en) || memchr(dot, '?', en) ||
		    memchr(dot, '[', en) || memchr(dot, '{', en))
			return 0;
	} else if (memchr(base, '*', n) || memchr(base, '?', n) ||
		   memchr(base, '[', n) || memchr(base, '{', n)) {
		return 0;
	}
	return -1;
}

/*
 * The provider's format, unless `format` set it: the paths' when they
 * agree, else (or when a glob leaves it open) each file's.
 */
static int file_format(const struct cfg_check *c, struct file_conf *f)
{
	char sd[CFG_SECT_DESC_MAX], eb[CFG_ECHO_BUF];

	if (f->file_format != CFG_FMT_AUTO)
		return 0;
	for (int i = 0; i < (f->npaths ? f->npaths : 1); i++) {
		const char *path = f->npaths ? f->paths[i] : f->path;
		enum cfg_format fmt;
		bool tsv, json;

		if (path_format(path, &fmt, &tsv, &json) < 0)
			return cfg_fail(c->doc, c->seen[FK_PATH],
					"cannot tell the format of path '%s' in %s from its extension (.csv, .tsv, .jsonl, .ndjson, .json, optionally .gz): set format",
					cfg_echo(path, eb, sizeof eb),
					cfg_sect_desc(c->doc, c->si, sd,
						      sizeof sd));
		if (i == 0) {
			f->file_format = fmt;
			f->tsv = tsv;
			f->json = json;
		} else if (fmt != f->file_format || tsv != f->tsv ||
			   json != f->json) {
			f->file_format = CFG_FMT_AUTO;
			f->tsv = false;
			f->json = false;
		}
	}
	return 0;
}

static int file_check(const struct cfg_check *c, struct cfg_provider *p)
{
	/* CSV settings; a glob open to both formats may use them. */
	static const enum file_key csv_only[] = {
		FK_HEADER, FK_NULL, FK_DELIMITER, FK_QUOTE,
	};
	struct file_conf *f = p->opts;
	char sd[CFG_SECT_DESC_MAX];

	if (!f->path)
		return cfg_missing_key(c->doc, c->si, "path", NULL);
	if (file_format(c, f) < 0)
		return -1;
	if (f->tsv && !c->seen[FK_DELIMITER])
		f->delimiter = '\t';
	if (f->delimiter == f->quote)
		return cfg_fail(c->doc, c->seen[FK_QUOTE] ? c->seen[FK_QUOTE] :
				c->seen[FK_DELIMITER],
				"delimiter and quote are the same character");
	/* records: JSON arrays only; a glob open to JSON may use it. */
	if (c->seen[FK_RECORDS] && !f->json &&
	    f->file_format != CFG_FMT_AUTO)
		return cfg_fail(c->doc, c->seen[FK_RECORDS],
				"key 'records' applies only to JSON files (format = json or a .json path) in %s",
				cfg_sect_desc(c->doc, c->si, sd, sizeof sd));
	if (f->file_format != CFG_FMT_JSONL)
		return 0;
	for (size_t i = 0; i < sizeof csv_only / sizeof csv_only[0]; i++)
		if (c->seen[csv_only[i]])
			return cfg_fail(c->doc, c->seen[csv_only[i]],
					"key '%s' does not apply to %s files in %s: it is a CSV setting",
					file_keys[csv_only[i]].name,
					f->json ? "JSON" : "JSON Lines",
					cfg_sect_desc(c->doc, c->si, sd,
						      sizeof sd));
	return 0;
}

const struct cfg_type file_conf_type = {
	.name = "file",
	.type = CFG_PROV_FILE,
	.keys = file_keys,
	.nkeys = sizeof file_keys / sizeof file_keys[0],
	.init = file_init,
	.apply = file_apply,
	.check = file_check,
	.free = file_free,
};
