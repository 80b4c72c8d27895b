/*
 * tz.h - time zones from the system's tz database (Area/City).
 *
 * A zone is read once, at config time, from its TZif file (RFC 8536) in
 * $TZDIR or /usr/share/zoneinfo: the transitions it lists, and past the
 * last of them the POSIX TZ rule in the file's footer.  Lookups are then
 * pure arithmetic and a binary search, with no global state, so that a
 * process may hold several zones and convert every record.
 *
 * Times are seconds since 1970-01-01 00:00:00 UTC ("instants"), and
 * "local" seconds are the same count read on the zone's wall clock.  A
 * local time that a change of offset skips (a gap, spring forward) or
 * repeats (an overlap, fall back) is read as PostgreSQL reads it: in a
 * gap with the offset in force just before the change (so 02:30 on the
 * night clocks go from 02:00 to 03:00 is 03:30 daylight time); in an
 * overlap with the offset in force just after it (the later instant,
 * standard time).
 */
#ifndef AGG_TZ_H
#define AGG_TZ_H

#include <stddef.h>
#include <stdint.h>

struct tz;

/*
 * Load zone `name` ("Europe/Paris", "UTC").  A name that is absolute,
 * contains "..", or names no TZif file is an error.  Returns the zone
 * (release with tz_free), or NULL with err saying why
 * ("unknown time zone \"Europe/Pariss\"").
 */
struct tz *tz_load(const char *name, char *err, size_t errlen);

/* The zone's name, as given to tz_load(). */
const char *tz_name(const struct tz *z);

/* Offset from UTC, in seconds east, at instant t. */
int32_t tz_offset(const struct tz *z, int64_t t);

/* The instant of local time `local`, gaps and overlaps as said above. */
int64_t tz_local_to_utc(const struct tz *z, int64_t local);

void tz_free(struct tz *z);

#endif
