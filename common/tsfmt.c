/*
 * tsfmt.c - timestamp formats (tsfmt.h).
 *
 * A pattern compiles into a list of steps (a literal, white space, a
 * number with its width and range, a name from a table, an offset), and
 * reading a value walks the list once, left to right, greedily: a number
 * takes as many digits as its width allows.  Python's strptime is a
 * backtracking regular expression, so on patterns that put two numbers
 * side by side with no separator ("%m%d") the two may split an ambiguous
 * value differently; with separators, or fixed widths (%Y%m%d with two
 * digits each), they agree.
 */
#include "tsfmt.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "tz.h"

enum field {
	F_YEAR, F_YEAR2, F_MONTH, F_DAY, F_HOUR, F_HOUR12, F_MINUTE, F_SECOND,
	F_YDAY, F_NFIELDS
};

enum op {
	OP_LIT,     /* c, either case */
	OP_SPACE,   /* one or more white space characters */
	OP_NUM,     /* field f: min..max digits, value lo..hi */
	OP_FRAC,    /* 1-6 digits of a second */
	OP_MONTH,   /* month name: full (wide) or abbreviated */
	OP_WDAY,    /* weekday name, read and dropped */
	OP_AMPM,
	OP_OFFSET,
};

struct step {
	enum op op;
	char c;
	bool wide;         /* names: full, not abbreviated */
	bool space_pad;    /* OP_NUM: " 5" reads as 5 (%d, %e) */
	enum field f;
	int min, max, lo, hi;
};

struct fmt {
	char *text;
	long long epoch_unit; /* 0: a pattern; else microseconds per unit */
	int frac_digits;      /* epoch: fraction digits that count (0: none) */
	struct step *steps;
	int nsteps;
};

struct tsfmt {
	struct fmt *f;
	int n;
};

static const char *const month_full[12] = {
	"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december",
};
static const char *const wday_full[7] = {
	"monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
	"sunday",
};

/* --- compiling ------------------------------------------------------- */

static int push(struct fmt *f, struct step s)
{
	struct step *n = realloc(f->steps, sizeof *n * (size_t)(f->nsteps + 1));

	if (!n)
		return -1;
	f->steps = n;
	f->steps[f->nsteps++] = s;
	return 0;
}

static int push_num(struct fmt *f, enum field fl, int min, int max, int lo,
		    int hi, bool pad)
{
	return push(f, (struct step){ .op = OP_NUM, .f = fl, .min = min,
				      .max = max, .lo = lo, .hi = hi,
				      .space_pad = pad });
}

static int directive(struct fmt *f, char d);

/* The steps of a built-in pattern (%T and the like). */
static int expand(struct fmt *f, const char *p)
{
	for (int rc; *p; p++) {
		rc = *p == '%' ? directive(f, *++p)
			       : push(f, (struct step){ .op = OP_LIT, .c = *p });
		if (rc)
			return rc;
	}
	return 0;
}

/* One directive (the character after %).  Returns 0, -1 (memory) or 1. */
static int directive(struct fmt *f, char d)
{
	switch (d) {
	case 'Y': return push_num(f, F_YEAR, 4, 4, 1, 9999, false);
	case 'y': return push_num(f, F_YEAR2, 2, 2, 0, 99, false);
	case 'm': return push_num(f, F_MONTH, 1, 2, 1, 12, false);
	case 'd':
	case 'e': return push_num(f, F_DAY, 1, 2, 1, 31, true);
	case 'H': return push_num(f, F_HOUR, 1, 2, 0, 23, false);
	case 'I': return push_num(f, F_HOUR12, 1, 2, 1, 12, false);
	case 'M': return push_num(f, F_MINUTE, 1, 2, 0, 59, false);
	case 'S': return push_num(f, F_SECOND, 1, 2, 0, 59, false);
	case 'j': return push_num(f, F_YDAY, 1, 3, 1, 366, false);
	case 'f': return push(f, (struct step){ .op = OP_FRAC });
	case 'b':
	case 'h': return push(f, (struct step){ .op = OP_MONTH });
	case 'B': return push(f, (struct step){ .op = OP_MONTH, .wide = true });
	case 'a': return push(f, (struct step){ .op = OP_WDAY });
	case 'A': return push(f, (struct step){ .op = OP_WDAY, .wide = true });
	case 'p': return push(f, (struct step){ .op = OP_AMPM });
	case 'z': return push(f, (struct step){ .op = OP_OFFSET });
	case '%': return push(f, (struct step){ .op = OP_LIT, .c = '%' });
	case 'T': return expand(f, "%H:%M:%S");
	case 'R': return expand(f, "%H:%M");
	case 'F': return expand(f, "%Y-%m-%d");
	case 'D': return expand(f, "%m/%d/%y");
	default:
		return 1;
	}
}

static int compile_one(struct fmt *f, const char *text, char *err,
		       size_t errlen)
{
	static const struct { const char *name; long long unit; int frac; }
		epochs[] = {
			{ "epoch_s", 1000000, 6 },
			{ "epoch_ms", 1000, 3 },
			{ "epoch_us", 1, 0 },
		};

	f->text = strdup(text);
	if (!f->text)
		goto oom;
	for (size_t k = 0; k < sizeof epochs / sizeof *epochs; k++) {
		if (strcmp(text, epochs[k].name) == 0) {
			f->epoch_unit = epochs[k].unit;
			f->frac_digits = epochs[k].frac;
			return 0;
		}
	}
	if (*text == '\0') {
		snprintf(err, errlen, "empty timestamp format");
		return -1;
	}
	for (const char *p = text; *p; p++) {
		int rc;

		if (*p == '%') {
			if (p[1] == '\0') {
				snprintf(err, errlen,
					 "timestamp format \"%s\" ends with %%",
					 text);
				return -1;
			}
			rc = directive(f, *++p);
			if (rc > 0) {
				snprintf(err, errlen,
					 "unknown directive %%%c in timestamp "
					 "format \"%s\"",
					 *p, text);
				return -1;
			}
		} else if (isspace((unsigned char)*p)) {
			while (isspace((unsigned char)p[1]))
				p++;
			rc = push(f, (struct step){ .op = OP_SPACE });
		} else {
			rc = push(f, (struct step){ .op = OP_LIT, .c = *p });
		}
		if (rc < 0)
			goto oom;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

struct tsfmt *tsfmt_compile(const char *const *formats, int n, char *err,
			    size_t errlen)
{
	struct tsfmt *t = calloc(1, sizeof *t);

	if (!t || !(t->f = calloc((size_t)(n > 0 ? n : 1), sizeof *t->f))) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		t->n = i + 1;
		if (compile_one(&t->f[i], formats[i], err, errlen) < 0) {
			tsfmt_free(t);
			return NULL;
		}
	}
	return t;
}

int tsfmt_count(const struct tsfmt *t)
{
	return t->n;
}

const char *tsfmt_text(const struct tsfmt *t, int i)
{
	return t->f[i].text;
}

void tsfmt_free(struct tsfmt *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->n; i++) {
		free(t->f[i].text);
		free(t->f[i].steps);
	}
	free(t->f);
	free(t);
}

/* --- reading --------------------------------------------------------- */

/* The first and last instants a timestamp may be (years 0001-9999). */
#define US_MIN (-62135596800LL * 1000000)
#define US_MAX (253402300799LL * 1000000 + 999999)

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Whether s[*i..) starts with word (either case); if so, step past it. */
static bool take_word(const char *s, size_t len, size_t *i, const char *w,
		      size_t wl)
{
	if (len - *i < wl || strncasecmp(s + *i, w, wl) != 0)
		return false;
	*i += wl;
	return true;
}

/* A month (or weekday) name from table t of n; its index, or -1. */
static int take_name(const char *s, size_t len, size_t *i,
		     const char *const *t, int n, bool wide)
{
	for (int k = 0; k < n; k++)
		if (take_word(s, len, i, t[k], wide ? strlen(t[k]) : 3))
			return k;
	return -1;
}

/* +hh[:]mm[[:]ss] or Z, into seconds east.  Returns 0 or -1. */
static int take_offset(const char *s, size_t len, size_t *i, int32_t *off)
{
	size_t p = *i;
	int sign, v[3] = { 0, 0, 0 }, parts = 0;

	if (p < len && s[p] == 'Z') {
		*off = 0;
		*i = p + 1;
		return 0;
	}
	if (p >= len || (s[p] != '+' && s[p] != '-'))
		return -1;
	sign = s[p++] == '-' ? -1 : 1;
	while (parts < 3) {
		if (parts > 0 && p < len && s[p] == ':')
			p++;
		if (len - p < 2 || !is_digit(s[p]) || !is_digit(s[p + 1]))
			break;
		v[parts++] = (s[p] - '0') * 10 + (s[p + 1] - '0');
		p += 2;
	}
	if (parts < 2 || v[0] > 23 || v[1] > 59 || v[2] > 59 || s[p - 1] == ':')
		return -1;
	*off = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
	*i = p;
	return 0;
}

static int read_epoch(const struct fmt *f, const char *s, size_t len,
		      int64_t *us)
{
	size_t i = 0, nd = 0;
	bool neg = false;
	int64_t whole = 0, frac = 0;
	int fd = 0;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	for (; i < len && is_digit(s[i]); i++, nd++) {
		if (nd >= 18)
			return -1;
		whole = whole * 10 + (s[i] - '0');
	}
	if (nd == 0)
		return -1;
	if (i < len && s[i] == '.' && f->frac_digits > 0) {
		size_t start = ++i;

		for (; i < len && is_digit(s[i]); i++)
			if (fd < f->frac_digits) {
				frac = frac * 10 + (s[i] - '0');
				fd++;
			}
		if (i == start)
			return -1;
		for (; fd < f->frac_digits; fd++)
			frac *= 10;
	}
	if (i != len)
		return -1;
	/* Past 10^18 / unit the instant is out of range anyway. */
	if (whole > US_MAX / f->epoch_unit + 1)
		return -1;
	/* The fraction's digits are microseconds for either unit. */
	whole = whole * f->epoch_unit + frac;
	if (neg)
		whole = -whole;
	if (whole < US_MIN || whole > US_MAX)
		return -1;
	*us = whole;
	return 0;
}

static int read_pattern(const struct fmt *f, const struct tz *z,
			const char *s, size_t len, int64_t *us)
{
	int v[F_NFIELDS] = { 1900, -1, 1, 1, 0, -1, 0, 0, -1 };
	bool has_md = false, has_off = false, pm = false;
	int32_t off = 0;
	int64_t frac = 0, day, local, t;
	size_t i = 0;

	for (int k = 0; k < f->nsteps; k++) {
		const struct step *st = &f->steps[k];

		switch (st->op) {
		case OP_LIT:
			if (i >= len || tolower((unsigned char)s[i]) !=
						tolower((unsigned char)st->c))
				return -1;
			i++;
			break;
		case OP_SPACE:
			if (i >= len || !isspace((unsigned char)s[i]))
				return -1;
			while (i < len && isspace((unsigned char)s[i]))
				i++;
			break;
		case OP_NUM: {
			int n = 0, val = 0;

			if (st->space_pad && i + 1 < len && s[i] == ' ' &&
			    is_digit(s[i + 1])) {
				val = s[i + 1] - '0';
				i += 2;
				n = 1;
			} else {
				while (n < st->max && i < len &&
				       is_digit(s[i])) {
					val = val * 10 + (s[i++] - '0');
					n++;
				}
			}
			if (n < st->min || val < st->lo || val > st->hi)
				return -1;
			v[st->f] = val;
			if (st->f == F_MONTH || st->f == F_DAY)
				has_md = true;
			break;
		}
		case OP_FRAC: {
			int n = 0;

			frac = 0;
			for (; i < len && is_digit(s[i]) && n < 6; n++, i++)
				frac = frac * 10 + (s[i] - '0');
			if (n == 0)
				return -1;
			for (; n < 6; n++)
				frac *= 10;
			break;
		}
		case OP_MONTH: {
			int m = take_name(s, len, &i, month_full, 12, st->wide);

			if (m < 0)
				return -1;
			v[F_MONTH] = m + 1;
			has_md = true;
			break;
		}
		case OP_WDAY:
			if (take_name(s, len, &i, wday_full, 7, st->wide) < 0)
				return -1;
			break;
		case OP_AMPM:
			if (take_word(s, len, &i, "pm", 2))
				pm = true;
			else if (!take_word(s, len, &i, "am", 2))
				return -1;
			break;
		case OP_OFFSET:
			if (take_offset(s, len, &i, &off) < 0)
				return -1;
			has_off = true;
			break;
		}
	}
	if (i != len)
		return -1;
	if (v[F_YEAR2] >= 0)
		v[F_YEAR] = v[F_YEAR2] + (v[F_YEAR2] < 69 ? 2000 : 1900);
	if (v[F_HOUR12] >= 0)
		v[F_HOUR] = v[F_HOUR12] % 12 + (pm ? 12 : 0);
	if (v[F_YDAY] >= 0 && !has_md) {
		if (v[F_YDAY] > 365 + conv_is_leap(v[F_YEAR]))
			return -1;
		day = conv_days_from_civil(v[F_YEAR], 1, 1) + v[F_YDAY] - 1;
	} else {
		if (v[F_DAY] > (int)conv_days_in_month(v[F_YEAR],
							 (unsigned)v[F_MONTH]))
			return -1;
		day = conv_days_from_civil(v[F_YEAR], (unsigned)v[F_MONTH],
					   (unsigned)v[F_DAY]);
	}
	local = day * 86400 + v[F_HOUR] * 3600 + v[F_MINUTE] * 60 +
		v[F_SECOND];
	if (has_off)
		t = local - off;
	else
		t = z ? tz_local_to_utc(z, local) : local;
	if (t < US_MIN / 1000000 || t > US_MAX / 1000000)
		return -1;
	*us = t * 1000000 + frac;
	return 0;
}

int tsfmt_parse(const struct tsfmt *t, const struct tz *z, const char *s,
		size_t len, int64_t *us)
{
	for (int k = 0; k < t->n; k++) {
		const struct fmt *f = &t->f[k];

		if (f->epoch_unit ? read_epoch(f, s, len, us) == 0
				  : read_pattern(f, z, s, len, us) == 0)
			return 0;
	}
	return -1;
}
