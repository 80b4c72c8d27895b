/*
 * test_tsfmt.c - common/tsfmt.c against Python's datetime.strptime.
 *
 * tests/fixtures/tsfmt_oracle.py writes texts made by strftime from
 * random datetimes in a dozen formats (names of months and weekdays,
 * 12-hour clocks, fractions, offsets, two-digit years, days of the year),
 * a quarter of them mutated, and epoch counts, each with what
 * strptime (and zoneinfo, for local times) makes of it.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/tsfmt.h"
#include "../common/tz.h"
#include "helpers/testutil.h"

static int64_t parse_one(const char *fmt, const struct tz *z,
			 const char *text, bool *ok)
{
	char err[256];
	const char *list[1] = { fmt };
	struct tsfmt *f = tsfmt_compile(list, 1, err, sizeof err);
	int64_t us = 0;

	cr_assert_not_null(f, "%s", err);
	*ok = tsfmt_parse(f, z, text, strlen(text), &us) == 0;
	tsfmt_free(f);
	return us;
}

Test(tsfmt, matches_python_strptime)
{
	static const char *names[] = { "UTC", "Europe/Paris",
				       "America/New_York",
				       "Australia/Lord_Howe" };
	struct tz *zones[4] = {0};
	char cmd[4096], *line = NULL, err[256];
	size_t cap = 0;
	int lineno = 0, rejects = 0;
	FILE *p;

	for (int i = 0; i < 4; i++) {
		zones[i] = tz_load(names[i], err, sizeof err);
		cr_assert_not_null(zones[i], "%s", err);
	}
	snprintf(cmd, sizeof cmd,
		 "python3 '%s/tests/fixtures/tsfmt_oracle.py' 20261206 %d",
		 tu_srcdir(), tu_scale(6000));
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (getline(&line, &cap, p) > 0) {
		char *f[4], *rest = line;
		struct tz *z = NULL;
		int64_t us;
		bool ok;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		/* strsep, not strtok: a text may be empty. */
		for (int k = 0; k < 4; k++)
			f[k] = strsep(&rest, "\t");
		cr_assert_not_null(f[3], "line %d", lineno);
		for (int i = 0; i < 4; i++)
			if (strcmp(names[i], f[0]) == 0)
				z = zones[i];
		cr_assert_not_null(z);
		us = parse_one(f[1], z, f[2], &ok);
		if (strcmp(f[3], "REJECT") == 0) {
			rejects++;
			cr_assert(!ok, "line %d: \"%s\" with \"%s\" read as "
				  "%lld; Python rejects it",
				  lineno, f[2], f[1], (long long)us);
		} else {
			cr_assert(ok, "line %d: \"%s\" with \"%s\" rejected; "
				  "Python reads %s", lineno, f[2], f[1], f[3]);
			cr_assert_eq(us, strtoll(f[3], NULL, 10),
				     "line %d: \"%s\" with \"%s\" in %s: %lld, "
				     "Python %s", lineno, f[2], f[1], f[0],
				     (long long)us, f[3]);
		}
	}
	free(line);
	cr_assert_eq(pclose(p), 0, "the oracle failed");
	cr_assert_gt(lineno, 500);
	cr_assert_gt(rejects, 50);
	for (int i = 0; i < 4; i++)
		tz_free(zones[i]);
}

Test(tsfmt, formats_are_tried_in_order)
{
	const char *list[] = { "epoch_ms", "%Y/%m/%d %H:%M", "%b %d %Y" };
	char err[256];
	struct tsfmt *f = tsfmt_compile(list, 3, err, sizeof err);
	int64_t us;

	cr_assert_not_null(f, "%s", err);
	cr_assert_eq(tsfmt_parse(f, NULL, "1517966773840", 13, &us), 0);
	cr_assert_eq(us, 1517966773840000LL);
	cr_assert_eq(tsfmt_parse(f, NULL, "2001/01/01 00:47", 16, &us), 0);
	cr_assert_eq(us, 978310020000000LL);
	cr_assert_eq(tsfmt_parse(f, NULL, "Jan 1 2000", 10, &us), 0);
	cr_assert_eq(us, 946684800000000LL);
	cr_assert_eq(tsfmt_parse(f, NULL, "2000-01-01", 10, &us), -1);
	tsfmt_free(f);
}

Test(tsfmt, bad_formats_are_config_errors)
{
	const char *bad[] = { "%Y-%Q", "%", "", "%Y %Z" };
	const char *want[] = {
		"unknown directive %Q in timestamp format \"%Y-%Q\"",
		"timestamp format \"%\" ends with %",
		"empty timestamp format",
		"unknown directive %Z in timestamp format \"%Y %Z\"",
	};
	char err[256];

	for (int i = 0; i < 4; i++) {
		cr_assert_null(tsfmt_compile(&bad[i], 1, err, sizeof err));
		cr_assert_str_eq(err, want[i]);
	}
}
