/*
 * fuzz_tsfmt.c - timestamp formats (common/tsfmt.c) and zones (tz.c).
 *
 * The first input byte picks a format list and a zone; the rest is the
 * value.  Besides memory errors, checks what tsfmt.h promises: a value
 * that reads is an instant within years 0001-9999, and the zone's
 * reading of the local time it came from lies within a day of it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/tsfmt.h"
#include "../common/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const lists[][3] = {
	{ "%Y-%m-%d %H:%M:%S", "%d/%m/%Y", "epoch_ms" },
	{ "%a, %d %b %Y %H:%M:%S %z", "%B %d %Y %I:%M %p", "epoch_s" },
	{ "%Y-%m-%dT%H:%M:%S.%f%z", "%y%j", "epoch_us" },
	{ "%F %T", "%D %R", "%e %h %Y" },
};
static const char *const zones[] = { "UTC", "Europe/Paris",
				     "Australia/Lord_Howe",
				     "America/New_York" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tsfmt *fmts[4];
	static struct tz *tzs[4];
	char err[256];
	int64_t us;
	int k, zi;

	if (size < 1)
		return 0;
	k = data[0] & 3;
	zi = (data[0] >> 2) & 3;
	if (!fmts[k] && !(fmts[k] = tsfmt_compile(lists[k], 3, err, sizeof err)))
		abort();
	if (!tzs[zi] && !(tzs[zi] = tz_load(zones[zi], err, sizeof err)))
		abort();
	if (tsfmt_parse(fmts[k], tzs[zi], (const char *)data + 1, size - 1,
			&us) == 0) {
		int64_t t = us / 1000000 - (us % 1000000 < 0);

		if (us < -62135596800000000LL || us > 253402300799999999LL)
			abort();
		if (llabs(tz_local_to_utc(tzs[zi], t) - t) > 2 * 86400)
			abort();
	}
	return 0;
}
