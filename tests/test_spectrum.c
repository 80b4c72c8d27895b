/*
 * test_spectrum.c - the CSV reader against csv-spectrum, a peer's suite
 * of CSV files and the JSON a correct reader makes of each.
 *
 * scripts/peer-suites.sh fetches the suite (pinned version and checksum) into
 * build/peers/; tests/fixtures/spectrum.py reads each file with the
 * binary under test, every column a text field, and compares the records
 * with the suite's JSON.  Every file must read the same, except those
 * listed below with the reason; a listed file that starts to read the
 * same fails the test too, so the list stays true.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers/testutil.h"

static const struct {
	const char *name;
	const char *reason;
} differs[] = {
	{ "location_coordinates",
	  "a quote inside an unquoted field (37°36'37.8\"N) is a reject, as "
	  "RFC 4180 has it, where the suite reads it literally; the file is "
	  "also not UTF-8, and the suite's JSON gives another phone number "
	  "than its own CSV file (1234567890 for 2095257564)" },
};

Test(spectrum, every_file_reads_as_the_suite_says)
{
	char suite[4096], cmd[8192], *line = NULL, *work = tu_tmpdir();
	size_t cap = 0;
	int files = 0;
	FILE *p;

	snprintf(suite, sizeof suite, "%s/build/peers/csv-spectrum/package",
		 tu_srcdir());
	cr_assert_eq(access(suite, R_OK), 0,
		     "%s is missing: make test fetches it (scripts/peer-suites.sh)",
		     suite);
	snprintf(cmd, sizeof cmd,
		 "python3 '%s/tests/fixtures/spectrum.py' '%s' '%s' '%s'",
		 tu_srcdir(), tu_bin(), suite, work);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (getline(&line, &cap, p) > 0) {
		char name[256];
		const char *reason = NULL;

		files++;
		cr_assert_eq(sscanf(line, "%255s", name), 1);
		for (size_t i = 0; i < sizeof differs / sizeof *differs; i++)
			if (strcmp(differs[i].name, name) == 0)
				reason = differs[i].reason;
		if (reason)
			cr_assert(strstr(line, " differs: ") != NULL,
				  "%s now reads as the suite says: take it off "
				  "the list (%s)", name, reason);
		else
			cr_assert(strstr(line, " same") != NULL, "%s", line);
	}
	free(line);
	cr_assert_eq(pclose(p), 0, "the checker failed");
	cr_assert_eq(files, 12, "the suite has 12 files, %d were read", files);
	tu_rmrf(work);
	free(work);
}
