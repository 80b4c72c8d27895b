/*
 * tz.c - time zones from the system's tz database (tz.h).
 *
 * The TZif file gives the instants at which the offset changes and the
 * offset after each; before the first, the file's first type.  Version 2
 * and later files carry 64-bit instants (read here; the version 1 block
 * is skipped) and a footer: a POSIX TZ string ("CET-1CEST,M3.5.0,
 * M10.5.0/3") for instants past the last listed change, which this file
 * evaluates for the year at hand.  Leap-second records ("right/" zones)
 * are ignored: instants here are POSIX seconds, as everywhere else in the
 * program.
 *
 * Written here rather than taken from a library: glibc's localtime_r()
 * serves one zone per process through the TZ variable and takes a lock
 * per call, and GLib's GTimeZone looks intervals up with a linear scan;
 * timestamps are converted per record, in more than one zone per process
 * (a provider's and the report's).
 */
#include "tz.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"

#define TZ_FILE_MAX (1u << 20)

/* One date of a POSIX rule: Jn, n or Mm.w.d, and the time of day. */
struct rule_date {
	char kind;       /* 'J', 'n' or 'M' */
	int n, m, w, d;  /* as the kind says */
	int32_t secs;    /* time of day, local; may be negative or > 24h */
};

struct rule {
	bool has;        /* a footer rule applies past the last change */
	bool dst;        /* it has a daylight part */
	int32_t std_off; /* seconds east of UTC */
	int32_t dst_off;
	struct rule_date start, end;
};

struct tz {
	char *name;
	uint64_t serial;
	int64_t *trans;  /* instants of change, ascending */
	int32_t *after;  /* offset from trans[i] on */
	size_t n;
	int32_t first;   /* offset before trans[0] (or always, n == 0) */
	struct rule rule;
};

static void set_err(char *err, size_t errlen, const char *fmt,
		    const char *name)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, name);
}

static bool name_ok(const char *name)
{
	if (!*name || *name == '/' || strlen(name) > 255)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '/' || *p == '_' ||
		      *p == '-' || *p == '+' || *p == '.'))
			return false;
	return strstr(name, "..") == NULL;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* --- POSIX TZ strings ------------------------------------------------ */

/* [+-]hh[:mm[:ss]] into seconds; hours up to 167.  Returns the end. */
static const char *parse_hms(const char *s, int32_t *out)
{
	int sign = 1, h = 0, m = 0, sec = 0, nd = 0;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	while (*s >= '0' && *s <= '9' && nd < 3) {
		h = h * 10 + (*s++ - '0');
		nd++;
	}
	if (nd == 0 || h > 167)
		return NULL;
	if (*s == ':') {
		s++;
		if (!(s[0] >= '0' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9'))
			return NULL;
		m = (s[0] - '0') * 10 + (s[1] - '0');
		s += 2;
		if (*s == ':') {
			s++;
			if (!(s[0] >= '0' && s[0] <= '5' && s[1] >= '0' &&
			      s[1] <= '9'))
				return NULL;
			sec = (s[0] - '0') * 10 + (s[1] - '0');
			s += 2;
		}
	}
	*out = sign * (h * 3600 + m * 60 + sec);
	return s;
}

/* A zone abbreviation: <...> or three letters or more. */
static const char *skip_abbr(const char *s)
{
	const char *b = s;

	if (*s == '<') {
		while (*s && *s != '>')
			s++;
		return *s == '>' ? s + 1 : NULL;
	}
	while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
		s++;
	return s - b >= 3 ? s : NULL;
}

static const char *parse_num(const char *s, int lo, int hi, int *out)
{
	int v = 0, nd = 0;

	while (*s >= '0' && *s <= '9' && nd < 4) {
		v = v * 10 + (*s++ - '0');
		nd++;
	}
	if (nd == 0 || v < lo || v > hi)
		return NULL;
	*out = v;
	return s;
}

static const char *parse_date(const char *s, struct rule_date *d)
{
	d->secs = 7200; /* 02:00 unless a time is given */
	if (*s == 'J') {
		d->kind = 'J';
		s = parse_num(s + 1, 1, 365, &d->n);
	} else if (*s == 'M') {
		d->kind = 'M';
		s = parse_num(s + 1, 1, 12, &d->m);
		if (s && *s == '.')
			s = parse_num(s + 1, 1, 5, &d->w);
		else
			s = NULL;
		if (s && *s == '.')
			s = parse_num(s + 1, 0, 6, &d->d);
		else
			s = NULL;
	} else {
		d->kind = 'n';
		s = parse_num(s, 0, 365, &d->n);
	}
	if (s && *s == '/')
		s = parse_hms(s + 1, &d->secs);
	return s;
}

/* The footer's TZ string into r.  Returns 0, or -1 if it is not one. */
static int parse_rule(const char *s, struct rule *r)
{
	int32_t off;

	memset(r, 0, sizeof *r);
	if (!(s = skip_abbr(s)) || !(s = parse_hms(s, &off)))
		return -1;
	r->std_off = -off; /* POSIX counts west */
	r->has = true;
	if (*s == '\0')
		return 0;
	if (!(s = skip_abbr(s)))
		return -1;
	r->dst = true;
	r->dst_off = r->std_off + 3600;
	if (*s && *s != ',') {
		if (!(s = parse_hms(s, &off)))
			return -1;
		r->dst_off = -off;
	}
	if (*s == '\0') {
		/* No dates: the US rule POSIX takes as the default. */
		r->start = (struct rule_date){ 'M', 0, 3, 2, 0, 7200 };
		r->end = (struct rule_date){ 'M', 0, 11, 1, 0, 7200 };
		return 0;
	}
	if (*s != ',' || !(s = parse_date(s + 1, &r->start)) || *s != ',' ||
	    !(s = parse_date(s + 1, &r->end)))
		return -1;
	return *s == '\0' ? 0 : -1;
}

/* The local second (since the epoch) at which date d of year y falls. */
static int64_t rule_local(const struct rule_date *d, int64_t y)
{
	int64_t jan1 = conv_days_from_civil(y, 1, 1), day;

	switch (d->kind) {
	case 'J':
		day = jan1 + d->n - 1 + (conv_is_leap(y) && d->n >= 60);
		break;
	case 'n':
		day = jan1 + d->n;
		break;
	default: {
		int64_t first = conv_days_from_civil(y, (unsigned)d->m, 1);
		int dim = (int)conv_days_in_month(y, (unsigned)d->m);
		/* 1970-01-01 was a Thursday (4). */
		int dow1 = (int)(((first % 7) + 7 + 4) % 7);
		int dom = 1 + (d->d - dow1 + 7) % 7 + (d->w - 1) * 7;

		while (dom > dim)
			dom -= 7;
		day = first + dom - 1;
		break;
	}
	}
	return day * 86400 + d->secs;
}

static int32_t rule_offset(const struct rule *r, int64_t t)
{
	int64_t y, s, e, lt = t + r->std_off;
	unsigned mo, dd;

	if (!r->dst)
		return r->std_off;
	conv_civil_from_days(lt >= 0 ? lt / 86400 : (lt - 86399) / 86400, &y,
			     &mo, &dd);
	s = rule_local(&r->start, y) - r->std_off; /* said in standard time */
	e = rule_local(&r->end, y) - r->dst_off;   /* said in daylight time */
	if (s < e)
		return t >= s && t < e ? r->dst_off : r->std_off;
	return t >= e && t < s ? r->std_off : r->dst_off;
}

/* --- TZif ------------------------------------------------------------ */

/* A TZif header's counts (RFC 8536, 3.1). */
struct tzif_head {
	int ver;
	uint32_t isut, isstd, leap, timecnt, typecnt, charcnt;
};

/*
 * Read the header at p (end: the file's end) for times of tsize bytes (4
 * in the version 1 block, 8 in the version 2 one).  Returns the size of
 * the data block that follows it, or 0 if there is no valid header.
 */
static size_t tzif_head(const unsigned char *p, const unsigned char *end,
			size_t tsize, struct tzif_head *h)
{
	size_t data;

	if ((size_t)(end - p) < 44 || memcmp(p, "TZif", 4) != 0)
		return 0;
	h->ver = p[4];
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	data = (size_t)h->timecnt * (tsize + 1) + (size_t)h->typecnt * 6 +
	       h->charcnt + (size_t)h->leap * (tsize + 4) + h->isstd + h->isut;
	if (h->typecnt == 0 || data > (size_t)(end - p) - 44)
		return 0;
	return data;
}

/* Parse a whole TZif file into z.  Returns 0, or -1 if it is not one. */
static int parse_tzif(struct tz *z, const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len, *data;
	struct tzif_head h;
	uint32_t timecnt, typecnt;
	int ver;
	size_t skip;

	if (!(skip = tzif_head(p, end, 4, &h)))
		return -1;
	ver = h.ver;
	if (ver >= '2') {
		/* The version 2 header and 64-bit block follow the first. */
		p += 44 + skip;
		if (!(skip = tzif_head(p, end, 8, &h)))
			return -1;
	}
	timecnt = h.timecnt;
	typecnt = h.typecnt;
	data = p + 44;
	z->n = timecnt;
	z->trans = calloc(timecnt ? timecnt : 1, sizeof *z->trans);
	z->after = calloc(timecnt ? timecnt : 1, sizeof *z->after);
	if (!z->trans || !z->after)
		return -1;
	{
		size_t tsz = ver >= '2' ? 8 : 4;
		const unsigned char *idx = data + (size_t)timecnt * tsz;
		const unsigned char *types = idx + timecnt;

		for (uint32_t i = 0; i < timecnt; i++) {
			z->trans[i] = tsz == 8 ? be64(data + 8 * i)
					       : (int32_t)be32(data + 4 * i);
			if (idx[i] >= typecnt ||
			    (i > 0 && z->trans[i] <= z->trans[i - 1]))
				return -1;
			z->after[i] = (int32_t)be32(types + 6 * idx[i]);
		}
		z->first = (int32_t)be32(types);
	}
	if (ver >= '2') {
		/* The footer: "\n" TZ string "\n". */
		const unsigned char *f = data + skip, *nl;
		char buf[256];

		if (f < end && *f == '\n' &&
		    (nl = memchr(f + 1, '\n', (size_t)(end - f - 1))) &&
		    (size_t)(nl - f - 1) < sizeof buf && nl > f + 1) {
			memcpy(buf, f + 1, (size_t)(nl - f - 1));
			buf[nl - f - 1] = '\0';
			if (parse_rule(buf, &z->rule) < 0)
				return -1;
		}
	}
	return 0;
}

struct tz *tz_load(const char *name, char *err, size_t errlen)
{
	const char *dir = getenv("TZDIR");
	struct tz *z;
	char path[4096];
	unsigned char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!name_ok(name)) {
		set_err(err, errlen, "invalid time zone name \"%s\"", name);
		return NULL;
	}
	z = calloc(1, sizeof *z);
	if (!z || !(z->name = strdup(name)))
		goto oom;
	{
		static _Atomic uint64_t serials;

		z->serial = ++serials;
	}
	snprintf(path, sizeof path, "%s/%s",
		 dir && *dir ? dir : "/usr/share/zoneinfo", name);
	f = fopen(path, "rb");
	if (!f) {
		if (strcmp(name, "UTC") == 0) {
			/* UTC needs no file: no change, offset 0. */
			z->trans = calloc(1, sizeof *z->trans);
			z->after = calloc(1, sizeof *z->after);
			if (!z->trans || !z->after)
				goto oom;
			return z;
		}
		set_err(err, errlen, "unknown time zone \"%s\"", name);
		tz_free(z);
		return NULL;
	}
	buf = malloc(TZ_FILE_MAX);
	if (buf)
		len = fread(buf, 1, TZ_FILE_MAX, f);
	fclose(f);
	if (!buf)
		goto oom;
	if (parse_tzif(z, buf, len) < 0) {
		set_err(err, errlen,
			"time zone \"%s\": not a tz database zone file", name);
		free(buf);
		tz_free(z);
		return NULL;
	}
	free(buf);
	return z;
oom:
	set_err(err, errlen, "time zone \"%s\": out of memory", name);
	tz_free(z);
	return NULL;
}

const char *tz_name(const struct tz *z)
{
	return z->name;
}

uint64_t tz_serial(const struct tz *z)
{
	return z->serial;
}

/*
 * The footer rule's offset at t and the span about t over which it holds:
 * within the local year of t (read in standard time, as rule_offset()
 * does) the offset changes only at that year's start and end instants.
 */
static int32_t rule_span(const struct rule *r, int64_t t, struct tz_span *c)
{
	int64_t y, s, e, lt = t + r->std_off, y0, y1, lo, hi;
	unsigned mo, dd;
	int32_t off = rule_offset(r, t);

	if (!r->dst) {
		c->lo = INT64_MIN;
		c->hi = INT64_MAX;
		return c->off = off;
	}
	conv_civil_from_days(lt >= 0 ? lt / 86400 : (lt - 86399) / 86400, &y,
			     &mo, &dd);
	y0 = conv_days_from_civil(y, 1, 1) * 86400 - r->std_off;
	y1 = conv_days_from_civil(y + 1, 1, 1) * 86400 - r->std_off;
	s = rule_local(&r->start, y) - r->std_off;
	e = rule_local(&r->end, y) - r->dst_off;
	lo = y0;
	hi = y1;
	/* Narrow [y0, y1) to the piece between the cuts s and e holding t. */
	if (s > lo && s <= t)
		lo = s;
	if (e > lo && e <= t)
		lo = e;
	if (s < hi && s > t)
		hi = s;
	if (e < hi && e > t)
		hi = e;
	c->lo = lo;
	c->hi = hi;
	return c->off = off;
}

int32_t tz_offset_span(const struct tz *z, int64_t t, struct tz_span *c)
{
	size_t lo = 0, hi = z->n;

	if (z->n == 0) {
		if (z->rule.has)
			return rule_span(&z->rule, t, c);
		c->lo = INT64_MIN;
		c->hi = INT64_MAX;
		return c->off = z->first;
	}
	if (t < z->trans[0]) {
		c->lo = INT64_MIN;
		c->hi = z->trans[0];
		return c->off = z->first;
	}
	if (t >= z->trans[z->n - 1]) {
		if (z->rule.has) {
			int32_t off = rule_span(&z->rule, t, c);

			if (c->lo < z->trans[z->n - 1])
				c->lo = z->trans[z->n - 1];
			return off;
		}
		c->lo = z->trans[z->n - 1];
		c->hi = INT64_MAX;
		return c->off = z->after[z->n - 1];
	}
	/* The last change at or before t: trans[lo] <= t < trans[hi]. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (z->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	c->lo = z->trans[lo];
	c->hi = z->trans[hi];
	return c->off = z->after[lo];
}

int32_t tz_offset(const struct tz *z, int64_t t)
{
	struct tz_span c;

	return tz_offset_span(z, t, &c);
}

/*
 * Offsets stay within a day of UTC, so the instants that read as `local`
 * lie within 26 hours of it: take the offset in force after that window
 * and the one before.  The one after is right when the instant it gives
 * has it: alone, or with the one before also right in an overlap (the
 * later, standard, reading is wanted).  Else the one before is right, or
 * neither is (a gap: the offset from before the change is wanted).  This
 * assumes one change at most within the 60-hour window, which every
 * zone's history keeps.
 */
static int64_t add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

int64_t tz_local_to_utc_span(const struct tz *z, struct tz_local_cache *c,
			     int64_t local)
{
	const int64_t w = 30 * 3600;
	int32_t before = tz_offset_cached(z, &c->before, local - w);
	int32_t after = tz_offset_cached(z, &c->after, local + w);

	if (after == before) {
		/*
		 * Every local time whose two lookups fall in these same
		 * spans gets this same answer: remember that range.
		 */
		int64_t lo = add_sat(c->before.lo, w), hi = add_sat(c->before.hi, w);
		int64_t alo = add_sat(c->after.lo, -w), ahi = add_sat(c->after.hi, -w);

		c->local.lo = lo > alo ? lo : alo;
		c->local.hi = hi < ahi ? hi : ahi;
		c->local.off = after;
		return local - after;
	}
	if (tz_offset_cached(z, &c->at, local - after) == after)
		return local - after;
	return local - before;
}

int64_t tz_local_to_utc(const struct tz *z, int64_t local)
{
	struct tz_local_cache c = TZ_LOCAL_CACHE_EMPTY;

	return tz_local_to_utc_span(z, &c, local);
}

void tz_free(struct tz *z)
{
	if (!z)
		return;
	free(z->name);
	free(z->trans);
	free(z->after);
	free(z);
}
