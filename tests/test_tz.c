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
