/*
 * tsfmt.h - timestamp formats: timestamp('%d/%m/%Y %H:%M', epoch_ms, ...).
 *
 * A list of formats is compiled once, when the config is read, and each
 * value is then tried against the formats in order; the first that reads
 * the whole value wins.  A format is either one of the epoch counts
 * (epoch_s, epoch_ms, epoch_us: an integer, optionally signed, with an
 * optional fraction for epoch_s and epoch_ms) or a strptime-style pattern,
 * read as Python's datetime.strptime() reads it:
 *
 *   %Y  year, 4 digits          %m  month, 1-2 digits    %d  day, 1-2 digits
 *   %y  year, 2 digits (69-99: 19xx, else 20xx)          (or space and 1)
 *   %H  hour 0-23, 1-2 digits   %I  hour 1-12, with %p   %p  AM or PM
 *   %M  minute, 1-2 digits      %S  second, 1-2 digits   %j  day of year
 *   %f  fraction of a second, 1-6 digits (microseconds)
 *   %b, %B, %h  month name, abbreviated or full (English)
 *   %a, %A  weekday name (read, not checked against the date)
 *   %z  UTC offset: Z, +hhmm, +hh:mm, +hhmmss, +hh:mm:ss
 *   %T  %H:%M:%S   %F  %Y-%m-%d   %D  %m/%d/%y   %R  %H:%M   %e  as %d
 *   %%  a percent sign; white space matches one or more white space
 *   characters; any other character matches itself, letters in either
 *   case (as Python's pattern, compiled case-insensitively).
 *
 * Fields not given default as in Python: year 1900, month and day 1,
 * time 00:00:00.  A value with %z is an instant; one without is a local
 * time in the zone the caller gives (tz.h: gaps and overlaps as
 * PostgreSQL reads them).  Dates are checked (no February 30, no second
 * 60) and years kept within 0001-9999, as every other timestamp.
 */
#ifndef AGG_TSFMT_H
#define AGG_TSFMT_H

#include <stddef.h>
#include <stdint.h>

struct tz;
struct tsfmt;

/*
 * Compile the n formats.  Returns the list (release with tsfmt_free), or
 * NULL with err naming the format and what is wrong with it ("unknown
 * directive %Q in \"%Y-%Q\"").
 */
struct tsfmt *tsfmt_compile(const char *const *formats, int n, char *err,
			    size_t errlen);

/*
 * Read s[0..len) with the first format that reads all of it, in zone z
 * (NULL: UTC) when the format gives no offset.  Returns 0 with *us the
 * microseconds since 1970-01-01 UTC, or -1 when no format reads it.
 */
int tsfmt_parse(const struct tsfmt *f, const struct tz *z, const char *s,
		size_t len, int64_t *us);

/* How many formats the list has, and format i's text as compiled. */
int tsfmt_count(const struct tsfmt *f);
const char *tsfmt_text(const struct tsfmt *f, int i);

void tsfmt_free(struct tsfmt *f);

#endif
