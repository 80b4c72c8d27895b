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

/*
 * A number no other zone loaded by this process has had (never 0), for a
 * cache that must notice its zone changed, even to one loaded at the
 * address of a zone since freed.
 */
uint64_t tz_serial(const struct tz *z);

/* Offset from UTC, in seconds east, at instant t. */
int32_t tz_offset(const struct tz *z, int64_t t);

/* The instant of local time `local`, gaps and overlaps as said above. */
int64_t tz_local_to_utc(const struct tz *z, int64_t local);

/*
 * A caller's memory of the last lookup: the offset, and the span of
 * instants [lo, hi) over which it holds.  Records in a stream are mostly
 * near one another, so the next lookup is most often in the same span and
 * costs two compares; a miss is the binary search (or the footer rule) of
 * tz_offset(), which also finds the span.  Answers are exactly
 * tz_offset()'s and tz_local_to_utc()'s.  One cache serves one zone:
 * initialise it with TZ_SPAN_EMPTY (or TZ_LOCAL_CACHE_EMPTY) and reset it
 * when the zone changes.
 */
struct tz_span {
	int64_t lo, hi;
	int32_t off;
};
#define TZ_SPAN_EMPTY ((struct tz_span){ 1, 0, 0 })

/* tz_offset(z, t), and c set to the span of instants about t. */
int32_t tz_offset_span(const struct tz *z, int64_t t, struct tz_span *c);

static inline int32_t tz_offset_cached(const struct tz *z, struct tz_span *c,
				       int64_t t)
{
	if (t >= c->lo && t < c->hi)
		return c->off;
	return tz_offset_span(z, t, c);
}

/*
 * tz_local_to_utc()'s three lookups, each with its own span, and the
 * span of local times [lo, hi) over which all of them give one offset
 * (no change within 30 hours either side), where the instant is local -
 * off: most calls are two compares.
 */
struct tz_local_cache {
	struct tz_span local, before, after, at;
};
#define TZ_LOCAL_CACHE_EMPTY                                      \
	((struct tz_local_cache){ TZ_SPAN_EMPTY, TZ_SPAN_EMPTY,  \
				  TZ_SPAN_EMPTY, TZ_SPAN_EMPTY })

/* tz_local_to_utc(z, local) on a miss of c->local, filling c. */
int64_t tz_local_to_utc_span(const struct tz *z, struct tz_local_cache *c,
			     int64_t local);

/* tz_local_to_utc(z, local), looked up through c. */
static inline int64_t tz_local_to_utc_cached(const struct tz *z,
					     struct tz_local_cache *c,
					     int64_t local)
{
	if (local >= c->local.lo && local < c->local.hi)
		return local - c->local.off;
	return tz_local_to_utc_span(z, c, local);
}

void tz_free(struct tz *z);

#endif
