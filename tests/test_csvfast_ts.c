/*
 * test_csvfast_ts.c - the CSV fast path's timestamp reader (csvfast.c's
 * fast_ts(), through csvfast_timestamp() and csvfast_record()) against the
 * general converter it stands in for, conv_text() on the field's bytes.
 *
 * The promise checked: whatever the reader takes, conv_text() reads to the
 * same microsecond; every canonical form conv_text() reads (date, time,
 * 0-6 fraction digits, Z and offsets) the reader takes; and a record
 * through csvfast_record() has conv_text()'s value or is declined exactly
 * when conv_text() rejects the field.  Inputs: random dates and times on
 * every edge (leap days, years 0001 and 9999, fractions of 0-10 digits,
 * offsets), every minute and the seconds around each change of the DST
 * days of Europe/Paris and America/New_York over several years (so the
 * reader's lookup cache is walked across gaps and overlaps, forwards and
 * at random), and malformed strings made by mutating valid ones.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../common/convert.h"
#include "../common/tz.h"
#include "../providers/csvfast.h"
#include "helpers/testutil.h"

static uint64_t rng_state = UINT64_C(0x2545f4914f6cdd1d);

static uint64_t rng(void)
{
	return tu_rng(&rng_state);
}

static unsigned pick(unsigned n)
{
	return (unsigned)(rng() % n);
}

static const struct tz *zone(const char *name)
{
	static struct {
		char name[64];
		struct tz *z;
	} cache[4];
	char err[256];

	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof cache / sizeof *cache; i++) {
		if (cache[i].z && strcmp(cache[i].name, name) == 0)
			return cache[i].z;
		if (!cache[i].z) {
			cache[i].z = tz_load(name, err, sizeof err);
			cr_assert_not_null(cache[i].z, "%s", err);
			snprintf(cache[i].name, sizeof cache[i].name, "%s", name);
			return cache[i].z;
		}
	}
	cr_assert_fail("too many zones");
	return NULL;
}

/* One timestamp column read in a zone, its plan and counts. */
struct ts_case {
	struct rec_field field;
	struct rec_schema schema;
	int col;
	struct csvfast f;
	unsigned long taken, general, rejected;
};

static void ts_setup(struct ts_case *t, const char *zname, char delim)
{
	struct csvfast_options o = { 0 };

	memset(t, 0, sizeof *t);
	t->field.name = "t";
	t->field.type = REC_TIMESTAMP;
	t->field.tz = zone(zname);
	t->schema.nfields = 1;
	t->schema.fields = &t->field;
	t->col = 0;
	o.schema = &t->schema;
	o.col = &t->col;
	o.ncols = 1;
	o.exact_cols = true;
	o.delimiter = delim;
	o.quote = '"';
	o.max_record = 1 << 16;
	o.max_fields = 16;
	cr_assert_eq(csvfast_plan(&t->f, &o), 0);
	cr_assert(t->f.on);
}

/*
 * Check one field text s.  canonical: a form the reader must take when
 * conv_text() reads it.
 */
static void check(struct ts_case *t, const char *s, bool canonical)
{
	static const char *const ends[] = { "\n", "\r\n", ",\n" };
	size_t len = strlen(s);
	char buf[160], why[CONV_REASON_MAX];
	struct rec_value want, got;
	int64_t us = 0;
	int rc;
	size_t n;

	cr_assert(len + 3 < sizeof buf);
	rc = conv_text(&t->field, s, len, &want, why, sizeof why);
	for (size_t e = 0; e < sizeof ends / sizeof *ends; e++) {
		snprintf(buf, sizeof buf, "%s%s", s, ends[e]);
		n = csvfast_timestamp(&t->f, 0, buf, strlen(buf), &us);
		if (n != 0) {
			cr_assert_eq(rc, 0, "fast reader took [%s], conv_text "
				     "rejects it (%s)", s, why);
			/* A CR before the LF is not the field's. */
			cr_assert(n == len || (n + 1 == len && s[n] == '\r'),
				  "[%s] read as %zu bytes", s, n);
			cr_assert_eq(us, want.u.i, "[%s]: %lld, conv_text %lld",
				     s, (long long)us, (long long)want.u.i);
		} else if (canonical) {
			cr_assert_neq(rc, 0, "fast reader declined [%s]", s);
		}
		if (e == 0)
			n != 0 ? t->taken++ : rc == 0 ? t->general++
						      : t->rejected++;
	}
	/* The whole record: conv_text()'s value, or declined on a reject. */
	snprintf(buf, sizeof buf, "%s\n", s);
	memset(&got, 0, sizeof got);
	n = csvfast_record(&t->f, buf, len + 1, &got);
	if (len == 0)
		return; /* NULL, not conv_text()'s */
	if (rc != 0) {
		cr_assert_eq(n, 0, "record [%s] taken, conv_text rejects", s);
		return;
	}
	/* Blanks around a value are conv_text()'s: a text the CSV reader
	 * would take as it is. */
	cr_assert_eq(n, len + 1, "record [%s] declined", s);
	cr_assert(!got.null);
	cr_assert_eq(got.u.i, want.u.i, "record [%s]: %lld, conv_text %lld", s,
		     (long long)got.u.i, (long long)want.u.i);
}

static unsigned edge_year(void)
{
	static const unsigned years[] = { 1, 2, 4, 99, 100, 400, 1582, 1600,
					  1899, 1900, 1969, 1970, 1971, 2000,
					  2024, 2025, 2038, 2100, 9998, 9999 };

	return pick(3) ? years[pick(sizeof years / sizeof *years)]
		       : 1 + pick(9999);
}

/* A random timestamp text, *canonical whether it is one of the forms. */
static void random_ts(char *out, size_t n, bool *canonical)
{
	static const char *const zones[] = { "", "", "", "Z", "z", "+00:00",
					     "+01:00", "-05:00", "+05:30",
					     "-0330", "+14", "+23:59",
					     "-23:59", "+24:00", "+01:60",
					     "+1", "+01:", "+01:0", "Z ",
					     "-00:00", "+0100x" };
	static const char seps[] = { 'T', 't', ' ', 'T', 'x', '_' };
	unsigned y = edge_year(), mo = pick(14), d = pick(33);
	unsigned h = pick(25), mi = pick(61), s = pick(61);
	unsigned nfrac = pick(11), form = pick(8);
	const char *z = zones[pick(sizeof zones / sizeof *zones)];
	char sep = seps[pick(sizeof seps / sizeof *seps)];
	char frac[16] = "";
	int k;

	if (pick(2)) {
		/* Mostly valid dates and times. */
		mo = 1 + pick(12);
		d = 1 + pick(conv_days_in_month(y, mo));
		h = pick(24);
		mi = pick(60);
		s = pick(60);
		if (pick(4) == 0 && mo == 2)
			d = 29;
	}
	if (nfrac > 0) {
		frac[0] = '.';
		for (unsigned i = 1; i <= nfrac; i++)
			frac[i] = (char)('0' + pick(10));
		frac[nfrac + 1] = '\0';
	}
	if (form == 0)
		k = snprintf(out, n, "%04u-%02u-%02u", y, mo, d);
	else
		k = snprintf(out, n, "%04u-%02u-%02u%c%02u:%02u:%02u%s%s", y,
			     mo, d, sep, h, mi, s, frac, z);
	cr_assert(k > 0 && (size_t)k < n);
	*canonical = y >= 1 && y <= 9999 && (form == 0 ||
		     ((sep == 'T' || sep == 't' || sep == ' ') &&
		      nfrac <= 9 && strchr(z, 'x') == NULL &&
		      strchr(z, ' ') == NULL));
}

/* s mutated: a byte replaced, dropped or added, or the text cut. */
static void mutate(char *s)
{
	static const char bytes[] = "0123456789-:.+TtZz \"\r\n\t\x80";
	size_t len = strlen(s), i = len ? pick((unsigned)len) : 0;
	char c = bytes[pick(sizeof bytes - 1)];

	switch (pick(4)) {
	case 0:
		if (len)
			s[i] = c;
		break;
	case 1:
		memmove(s + i, s + i + 1, len - i);
		break;
	case 2:
		memmove(s + i + 1, s + i, len - i + 1);
		s[i] = c;
		break;
	default:
		s[i] = '\0';
		break;
	}
	/* The record is the one line (the delimiter, a comma, is not added). */
	for (char *p = s; *p; p++)
		if (*p == '\n')
			*p = 'x';
}

static const char *const zone_names[] = { NULL, "UTC", "Europe/Paris",
					  "America/New_York" };

Test(csvfast_ts, random_against_conv_text)
{
	for (size_t zi = 0; zi < sizeof zone_names / sizeof *zone_names;
	     zi++) {
		struct ts_case t;

		ts_setup(&t, zone_names[zi], ',');
		for (int i = 0; i < 60000; i++) {
			char s[96];
			bool canonical;

			random_ts(s, sizeof s, &canonical);
			check(&t, s, canonical);
			mutate(s);
			check(&t, s, false);
		}
		/* The reader did the work, and the general path its part. */
		cr_assert_gt(t.taken, 20000, "%lu taken", t.taken);
		cr_assert_gt(t.rejected, 1000);
		csvfast_free(&t.f);
	}
}

Test(csvfast_ts, edges)
{
	static const char *const cases[] = {
		"0001-01-01", "0001-01-01T00:00:00", "0001-01-01 00:00:00Z",
		"0001-01-01T00:00:00+00:01", "0001-01-01T00:00:00-00:01",
		"0001-01-01T00:00:00+14:00", "0000-12-31", "9999-12-31",
		"9999-12-31T23:59:59.999999", "9999-12-31T23:59:59.9999999",
		"9999-12-31T23:59:59.999999-00:01",
		"9999-12-31T23:59:59.999999+00:01", "10000-01-01",
		"2024-02-29", "2023-02-29", "2000-02-29", "1900-02-29",
		"2024-02-30", "2024-04-31", "2024-00-10", "2024-13-01",
		"2024-01-00", "2024-01-32", "2024-01-01T24:00:00",
		"2024-01-01T23:60:00", "2024-01-01T23:59:60",
		"2024-01-01T", "2024-01-01 ", " 2024-01-01", "2024-01-01\t",
		"2024-01-01T12:00", "2024-01-01T12:00:00.",
		"2024-01-01T12:00:00.1", "2024-01-01T12:00:00.12",
		"2024-01-01T12:00:00.123", "2024-01-01T12:00:00.1234",
		"2024-01-01T12:00:00.12345", "2024-01-01T12:00:00.123456",
		"2024-01-01T12:00:00.1234567", "2024-01-01T12:00:00.12345678",
		"2024-01-01T12:00:00.123456789",
		"2024-01-01T12:00:00.1234567890", "2024-01-01T12:00:00+05",
		"2024-01-01T12:00:00+0530", "2024-01-01T12:00:00+05:30",
		"2024-01-01T12:00:00-05:3", "2024-01-01T12:00:00+5:30",
		"2024-01-01T12:00:00ZZ", "2024-01-01T12:00:00+05:30Z",
		"2024-1-01", "2024/01/01", "24-01-01", "2024-01-01T1:00:00",
		"+2024-01-01", "-2024-01-01", "2024-01-01t12:00:00z",
		"2024-01-01 12:00:00-00:00", "1970-01-01T00:00:00.000001-00:00",
		"1969-12-31T23:59:59.999999Z", "", "\"2024-01-01\"",
	};

	for (size_t zi = 0; zi < sizeof zone_names / sizeof *zone_names;
	     zi++) {
		struct ts_case t;

		ts_setup(&t, zone_names[zi], ',');
		for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
			bool canonical = cases[i][0] >= '0' &&
					 cases[i][0] <= '9' &&
					 strchr(cases[i], ' ') != cases[i] +
					 strlen(cases[i]) - 1 &&
					 strchr(cases[i], '\t') == NULL;

			check(&t, cases[i], canonical);
		}
		csvfast_free(&t.f);
	}
}

/* Every minute of the day (and the seconds about each change) of y-m-d. */
static void walk_day(struct ts_case *t, unsigned y, unsigned m, unsigned d,
		     const char *fmt_sep)
{
	char s[64];

	for (unsigned h = 0; h < 24; h++)
		for (unsigned mi = 0; mi < 60; mi++) {
			snprintf(s, sizeof s, "%04u-%02u-%02u%s%02u:%02u:00", y,
				 m, d, fmt_sep, h, mi);
			check(t, s, true);
			if (mi == 59 || mi == 0)
				for (unsigned sec = 0; sec < 60; sec += 7) {
					snprintf(s, sizeof s,
						 "%04u-%02u-%02u%s%02u:%02u:%02u.999999",
						 y, m, d, fmt_sep, h, mi, sec);
					check(t, s, true);
				}
		}
	snprintf(s, sizeof s, "%04u-%02u-%02u", y, m, d);
	check(t, s, true);
}

/* The last Sunday of month m of year y (the EU's changes). */
static unsigned last_sunday(unsigned y, unsigned m)
{
	unsigned d = conv_days_in_month(y, m);
	int64_t days = conv_days_from_civil(y, m, d);
	/* 1970-01-01 was a Thursday: (days + 4) % 7 is 0 on a Sunday. */
	int64_t wd = ((days + 4) % 7 + 7) % 7;

	return d - (unsigned)wd;
}

/* The n-th Sunday of month m of year y (the US's changes since 2007). */
static unsigned nth_sunday(unsigned y, unsigned m, unsigned n)
{
	int64_t days = conv_days_from_civil(y, m, 1);
	int64_t wd = ((days + 4) % 7 + 7) % 7;

	return 1 + (unsigned)((7 - wd) % 7) + 7 * (n - 1);
}

Test(csvfast_ts, dst_days)
{
	static const unsigned years[] = { 1996, 2007, 2019, 2025, 2037, 2099 };
	struct ts_case paris, ny;

	ts_setup(&paris, "Europe/Paris", ',');
	ts_setup(&ny, "America/New_York", ',');
	for (size_t i = 0; i < sizeof years / sizeof *years; i++) {
		unsigned y = years[i];

		walk_day(&paris, y, 3, last_sunday(y, 3), "T");
		walk_day(&paris, y, 10, last_sunday(y, 10), " ");
		walk_day(&ny, y, 3, nth_sunday(y, 3, 2), "T");
		walk_day(&ny, y, 11, nth_sunday(y, 11, 1), " ");
		/* The other zone's days too: cache misses far apart. */
		walk_day(&ny, y, 3, last_sunday(y, 3), "T");
		walk_day(&paris, y, 11, nth_sunday(y, 11, 1), "T");
	}
	cr_assert_eq(paris.rejected + ny.rejected, 0);
	csvfast_free(&paris.f);
	csvfast_free(&ny.f);
}

Test(csvfast_ts, dst_random_order)
{
	struct ts_case t;

	ts_setup(&t, "Europe/Paris", ',');
	for (int i = 0; i < 100000; i++) {
		unsigned y = 1900 + pick(200), m = pick(2) ? 3 : 10;
		unsigned d = pick(3) ? last_sunday(y, m) : 1 + pick(31);
		char s[64];

		if (d > conv_days_in_month(y, m))
			d = conv_days_in_month(y, m);
		snprintf(s, sizeof s, "%04u-%02u-%02uT%02u:%02u:%02u", y, m, d,
			 pick(5), pick(60), pick(60));
		check(&t, s, true);
	}
	csvfast_free(&t.f);
}

/* A delimiter or quote the reader reads as part of a timestamp: it is off. */
Test(csvfast_ts, reader_off_for_its_bytes)
{
	static const char delims[] = { '-', ':', '.', ' ', 'T', '0', '+' };

	for (size_t i = 0; i < sizeof delims; i++) {
		struct ts_case t;
		int64_t us;

		ts_setup(&t, NULL, delims[i]);
		cr_assert_eq(csvfast_timestamp(&t.f, 0, "2024-01-01T00:00:00Z\n",
					       21, &us), 0);
		csvfast_free(&t.f);
	}
}
