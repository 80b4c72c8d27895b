/*
 * test_tz.c - common/tz.c against Python's zoneinfo.
 *
 * tests/fixtures/tz_oracle.py reads the same tz database files with
 * Python's zoneinfo and writes offsets at random instants from 1901 to
 * 2100 (past 2037 the files' POSIX rules decide), local times read back
 * as instants, and, around every change of offset from 1960 to 2060,
 * the local times that a gap skips or an overlap repeats, read as
 * PostgreSQL reads them.  Zones with half-hour daylight time
 * (Australia/Lord_Howe), southern summers, negative daylight time
 * (Europe/Dublin), odd offsets (Asia/Kathmandu) and a day skipped at the
 * date line (Pacific/Apia) are among them.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/tz.h"
#include "helpers/testutil.h"

#define NZONES 12
static const char *zones[NZONES] = {
	"Europe/Paris", "America/New_York", "Australia/Lord_Howe",
	"Europe/Dublin", "America/Sao_Paulo", "Pacific/Apia",
	"Asia/Kathmandu", "America/St_Johns", "Africa/Casablanca",
	"Asia/Tehran", "Europe/London", "UTC",
};

static struct tz *zone_named(struct tz **loaded, const char *name)
{
	char err[256];

	for (int i = 0; i < NZONES; i++) {
		if (strcmp(zones[i], name) != 0)
			continue;
		if (!loaded[i])
			loaded[i] = tz_load(name, err, sizeof err);
		cr_assert_not_null(loaded[i], "%s", err);
		return loaded[i];
	}
	cr_assert_fail("zone %s not in the list", name);
	return NULL;
}

Test(tz, matches_python_zoneinfo)
{
	char cmd[8192], *line = NULL, kind[8], name[64];
	struct tz *loaded[NZONES] = {0};
	size_t cap = 0, len;
	long long a, b;
	int lineno = 0, nl2u = 0;
	FILE *p;

	len = (size_t)snprintf(cmd, sizeof cmd,
			       "python3 '%s/tests/fixtures/tz_oracle.py' "
			       "20261206 %d",
			       tu_srcdir(), tu_scale(400));
	for (int i = 0; i < NZONES; i++)
		len += (size_t)snprintf(cmd + len, sizeof cmd - len, " %s",
					zones[i]);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (getline(&line, &cap, p) > 0) {
		struct tz *z;

		lineno++;
		cr_assert_eq(sscanf(line, "%7s %63s %lld %lld", kind, name, &a,
				    &b), 4, "line %d: %s", lineno, line);
		z = zone_named(loaded, name);
		if (strcmp(kind, "off") == 0) {
			cr_assert_eq(tz_offset(z, a), b,
				     "%s at %lld: offset %d, Python %lld", name,
				     a, tz_offset(z, a), b);
		} else {
			nl2u++;
			cr_assert_eq(tz_local_to_utc(z, a), b,
				     "%s: local %lld read as %lld, Python %lld",
				     name, a, (long long)tz_local_to_utc(z, a),
				     b);
		}
	}
	free(line);
	cr_assert_eq(pclose(p), 0, "the oracle failed");
	cr_assert_gt(nl2u, 1000, "only %d local times", nl2u);
	for (int i = 0; i < NZONES; i++)
		tz_free(loaded[i]);
}

Test(tz, paris_spring_gap_and_autumn_overlap_as_postgresql)
{
	char err[256];
	struct tz *z = tz_load("Europe/Paris", err, sizeof err);

	cr_assert_not_null(z, "%s", err);
	cr_assert_str_eq(tz_name(z), "Europe/Paris");
	/* 2026-03-29 02:30 does not exist: read as 03:30 CEST = 01:30Z. */
	cr_assert_eq(tz_local_to_utc(z, 1774751400), 1774747800);
	/* 2026-10-25 02:30 happens twice: the later, 02:30 CET = 01:30Z. */
	cr_assert_eq(tz_local_to_utc(z, 1792895400), 1792891800);
	/* Past the file's listed changes, its rule: 2090-07-01 is CEST. */
	cr_assert_eq(tz_offset(z, 3802636800), 7200);
	tz_free(z);
}

Test(tz, bad_names_and_files_are_errors)
{
	char err[256], *dir = tu_tmpdir(), *f = tu_path(dir, "Bad/Zone");
	char *sub = tu_path(dir, "Bad");
	struct tz *z;

	cr_assert_null(tz_load("Europe/Pariss", err, sizeof err));
	cr_assert_str_eq(err, "unknown time zone \"Europe/Pariss\"");
	cr_assert_null(tz_load("../etc/passwd", err, sizeof err));
	cr_assert_str_eq(err, "invalid time zone name \"../etc/passwd\"");
	cr_assert_null(tz_load("/etc/localtime", err, sizeof err));
	cr_assert_null(tz_load("", err, sizeof err));

	cr_assert_eq(mkdir(sub, 0755), 0);
	tu_write(f, "TZif2 but not really a zone file at all, sorry");
	setenv("TZDIR", dir, 1);
	cr_assert_null(tz_load("Bad/Zone", err, sizeof err));
	cr_assert_str_eq(err,
			 "time zone \"Bad/Zone\": not a tz database zone file");
	/* UTC needs no file. */
	z = tz_load("UTC", err, sizeof err);
	cr_assert_not_null(z, "%s", err);
	cr_assert_eq(tz_offset(z, 1234567890), 0);
	cr_assert_eq(tz_local_to_utc(z, 1234567890), 1234567890);
	tz_free(z);
	unsetenv("TZDIR");
	tu_rmrf(dir);
	free(f);
	free(sub);
	free(dir);
}

/*
 * The cached lookups (tz_offset_cached, tz_local_to_utc_cached) against
 * the uncached ones, over every change of offset from 1900 to 2100
 * (past 2037 the footer rule's): the instants and local times about each
 * change are looked up in ascending then descending order through one
 * cache, so that each lookup meets a span remembered from the other side
 * of the change, then random instants and local times in random order.
 */
static void check_point(const struct tz *z, struct tz_span *c,
			struct tz_local_cache *lc, int64_t t)
{
	cr_assert_eq(tz_offset_cached(z, c, t), tz_offset(z, t),
		     "%s offset at %lld", tz_name(z), (long long)t);
	cr_assert_eq(tz_local_to_utc_cached(z, lc, t), tz_local_to_utc(z, t),
		     "%s local %lld", tz_name(z), (long long)t);
}

Test(tz, cached_lookups_equal_uncached_about_every_change)
{
	static const int64_t deltas[] = { -86400, -3601, -3600, -1801, -1800,
					  -2, -1, 0, 1, 2, 1799, 1800, 3599,
					  3600, 86400 };
	const int nd = (int)(sizeof deltas / sizeof deltas[0]);
	const int64_t from = -2208988800LL, to = 4102444800LL; /* 1900, 2100 */
	int nchanges[NZONES] = {0};
	char err[256];

	for (int zi = 0; zi < NZONES; zi++) {
		struct tz *z = tz_load(zones[zi], err, sizeof err);
		struct tz_span c = TZ_SPAN_EMPTY;
		struct tz_local_cache lc = TZ_LOCAL_CACHE_EMPTY;
		int32_t prev = tz_offset(z, from);

		cr_assert_not_null(z, "%s", err);
		for (int64_t t = from + 3600; t < to; t += 3600) {
			int32_t off = tz_offset(z, t);
			int64_t lo = t - 3600, hi = t, at;

			if (off == prev)
				continue;
			/* The first instant of the new offset. */
			while (hi - lo > 1) {
				int64_t mid = lo + (hi - lo) / 2;

				if (tz_offset(z, mid) == off)
					hi = mid;
				else
					lo = mid;
			}
			at = hi;
			nchanges[zi]++;
			/* Instants, and local times on either offset's clock. */
			for (int k = 0; k < 3; k++) {
				int64_t base = at + (k == 0 ? 0 : k == 1 ? prev : off);

				for (int i = 0; i < nd; i++)
					check_point(z, &c, &lc, base + deltas[i]);
				for (int i = nd - 1; i >= 0; i--)
					check_point(z, &c, &lc, base + deltas[i]);
			}
			prev = off;
		}
		srand(16 + zi);
		for (int i = 0; i < 200000; i++) {
			int64_t t = from + (int64_t)((double)rand() / RAND_MAX *
						     (double)(to - from));

			check_point(z, &c, &lc, t);
			/* A neighbour, as records in a stream are. */
			check_point(z, &c, &lc, t + rand() % 7200);
		}
		/* A walk by the hour through two centuries: mostly hits. */
		for (int64_t t = from; t < to; t += 3600 + 17)
			check_point(z, &c, &lc, t);
		tz_free(z);
	}
	/* Changes were met where there are some (twice a year past 2037). */
	cr_assert_gt(nchanges[0], 300, "Europe/Paris: %d changes", nchanges[0]);
	cr_assert_gt(nchanges[1], 300, "America/New_York: %d", nchanges[1]);
	cr_assert_gt(nchanges[2], 200, "Australia/Lord_Howe: %d", nchanges[2]);
	cr_assert_eq(nchanges[NZONES - 1], 0, "UTC changes");
}

/* A cache filled in one zone is reset, not trusted, in another. */
Test(tz, serials_differ_between_zones)
{
	char err[256];
	struct tz *a = tz_load("Europe/Paris", err, sizeof err);
	struct tz *b = tz_load("Europe/Paris", err, sizeof err);

	cr_assert(a && b);
	cr_assert_neq(tz_serial(a), tz_serial(b));
	cr_assert_neq(tz_serial(a), 0);
	tz_free(a);
	tz_free(b);
}
