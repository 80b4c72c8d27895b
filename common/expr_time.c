/*
 * expr_time.c - time in a zone for the expression instructions: date_trunc,
 * time_bucket, extract, strftime, and timestamps as text (expr_int.h).
 *
 * A timestamp is microseconds since the epoch, UTC; its fields (day, hour,
 * ...) are read on the zone's wall clock (tz_offset), and a local time made
 * from them goes back to an instant with PostgreSQL's rule for gaps and
 * overlaps (tz_local_to_utc), each lookup through the frame's cache of the
 * span it fell in (struct expr_zone), except that date_trunc to an hour or a
 * minute keeps the instant's own offset, as PostgreSQL's timestamptz_trunc
 * does.  A NULL zone is UTC, with no lookup at all.
 */
#include "expr_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "tz.h"

#define US_PER_S 1000000LL
#define US_PER_DAY 86400000000LL

static int64_t floordiv(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static int64_t floormod(int64_t a, int64_t b)
{
	return a - floordiv(a, b) * b;
}

const char *const expr_unit_names[U_COUNT] = {
	"microseconds", "second", "minute", "hour", "day", "week", "month",
	"quarter", "year", "dow", "doy", "epoch", "isoyear",
};

int expr_unit(const char *s)
{
	static const struct { const char *name; int unit; } alias[] = {
		{ "microsecond", U_MICRO }, { "us", U_MICRO }, { "seconds", U_SECOND },
		{ "minutes", U_MINUTE }, { "hours", U_HOUR }, { "days", U_DAY },
		{ "weeks", U_WEEK }, { "months", U_MONTH }, { "quarters", U_QUARTER },
		{ "years", U_YEAR },
	};

	for (int i = 0; i < U_COUNT; i++)
		if (strcmp(s, expr_unit_names[i]) == 0)
			return i;
	for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
		if (strcmp(s, alias[i].name) == 0)
			return alias[i].unit;
	return -1;
}

static bool is_one_of(const char *s, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(s, *names) == 0)
			return true;
	return false;
}

int expr_bucket_parse(const char *s, size_t len, int64_t *us, int64_t *months)
{
	char unit[16];
	size_t i = 0, u = 0;
	int64_t n = 0;

	while (i < len && s[i] == ' ')
		i++;
	if (i == len || s[i] < '0' || s[i] > '9')
		return -1;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		n = n * 10 + (s[i++] - '0');
		if (n > 1000000000)
			return -1;
	}
	/* Below, widths are kept within 10,000 years, so no bucket overflows. */
	while (i < len && s[i] == ' ')
		i++;
	while (i < len && s[i] != ' ' && u + 1 < sizeof unit) {
		char ch = s[i++];

		unit[u++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
	}
	unit[u] = '\0';
	while (i < len && s[i] == ' ')
		i++;
	if (i != len || n <= 0)
		return -1;
	*us = 0;
	*months = 0;
#define IS(...) is_one_of(unit, (const char *const[]){ __VA_ARGS__, NULL })
	{
		int64_t k;

		if (IS("s", "sec", "secs", "second", "seconds"))
			k = US_PER_S;
		else if (IS("m", "min", "mins", "minute", "minutes"))
			k = 60 * US_PER_S;
		else if (IS("h", "hour", "hours"))
			k = 3600 * US_PER_S;
		else if (IS("d", "day", "days"))
			k = US_PER_DAY;
		else if (IS("w", "week", "weeks"))
			k = 7 * US_PER_DAY;
		else if (IS("mon", "month", "months")) {
			*months = n;
			return n <= 120000 ? 0 : -1;
		} else if (IS("y", "year", "years")) {
			*months = 12 * n;
			return n <= 10000 ? 0 : -1;
		} else
			return -1;
		if (n > 10000 * 366 * US_PER_DAY / k)
			return -1;
		*us = n * k;
	}
#undef IS
	return 0;
}

static int32_t offset_at(struct expr_zone *z, int64_t sec)
{
	return z && z->tz ? tz_offset_cached(z->tz, &z->off, sec) : 0;
}

static int64_t local_to_utc(struct expr_zone *z, int64_t local)
{
	return z && z->tz ? tz_local_to_utc_cached(z->tz, &z->local, local) : local;
}

/* A day count truncated to the unit (day and longer units). */
static int64_t trunc_days(int64_t days, int unit)
{
	int64_t y;
	unsigned m, d;

	switch (unit) {
	case U_WEEK:
		return days - floormod(days + 3, 7); /* back to Monday */
	case U_MONTH:
	case U_QUARTER:
	case U_YEAR:
		conv_civil_from_days(days, &y, &m, &d);
		if (unit == U_QUARTER)
			m = (m - 1) / 3 * 3 + 1;
		else if (unit == U_YEAR)
			m = 1;
		return conv_days_from_civil(y, m, 1);
	default:
		return days;
	}
}

int64_t expr_trunc_ts(struct expr_zone *z, int64_t us, int unit)
{
	int64_t sec, local;
	int32_t off;

	/* In UTC a day is a fixed length: the common key, one division. */
	if (unit == U_DAY && !(z && z->tz))
		return (us / US_PER_DAY - (us % US_PER_DAY < 0)) * US_PER_DAY;
	sec = floordiv(us, US_PER_S);
	off = offset_at(z, sec);
	local = sec + off;

	switch (unit) {
	case U_MICRO:
		return us;
	case U_SECOND:
		return sec * US_PER_S;
	case U_MINUTE:
		return (local - floormod(local, 60) - off) * US_PER_S;
	case U_HOUR:
		return (local - floormod(local, 3600) - off) * US_PER_S;
	default:
		return local_to_utc(z, trunc_days(floordiv(local, 86400), unit) * 86400) *
		       US_PER_S;
	}
}

int64_t expr_trunc_date(struct expr_zone *z, int64_t days, int unit)
{
	int64_t us = local_to_utc(z, days * 86400) * US_PER_S;

	return unit <= U_DAY ? us : expr_trunc_ts(z, us, unit);
}

int64_t expr_bucket_ts(struct expr_zone *z, int64_t us, int64_t width_us,
		       int64_t months)
{
	int64_t sec = floordiv(us, US_PER_S);
	int64_t local_us = us + (int64_t)offset_at(z, sec) * US_PER_S;
	int64_t b;

	if (months > 0) {
		int64_t y, total;
		unsigned m, d;

		conv_civil_from_days(floordiv(local_us, US_PER_DAY), &y, &m, &d);
		total = (y - 2000) * 12 + (m - 1);
		total = floordiv(total, months) * months;
		b = conv_days_from_civil(2000 + floordiv(total, 12),
					 (unsigned)floormod(total, 12) + 1, 1) * US_PER_DAY;
	} else {
		/* Buckets start at 2000-01-03 (a Monday), as TimescaleDB's. */
		int64_t origin = 10959 * US_PER_DAY;

		b = floordiv(local_us - origin, width_us) * width_us + origin;
	}
	return local_to_utc(z, floordiv(b, US_PER_S)) * US_PER_S + floormod(b, US_PER_S);
}

static void iso_week(int64_t days, int64_t *iso_year, int64_t *week)
{
	int64_t thursday = days - floormod(days + 3, 7) + 3, y;
	unsigned m, d;

	conv_civil_from_days(thursday, &y, &m, &d);
	*iso_year = y;
	*week = (thursday - conv_days_from_civil(y, 1, 1)) / 7 + 1;
}

static __int128 day_field(int64_t days, int unit)
{
	int64_t y, iy, wk;
	unsigned m, d;

	conv_civil_from_days(days, &y, &m, &d);
	switch (unit) {
	case U_YEAR: return y;
	case U_MONTH: return m;
	case U_DAY: return d;
	case U_QUARTER: return (m - 1) / 3 + 1;
	case U_DOW: return floormod(days + 4, 7);
	case U_DOY: return days - conv_days_from_civil(y, 1, 1) + 1;
	case U_WEEK: iso_week(days, &iy, &wk); return wk;
	case U_ISOYEAR: iso_week(days, &iy, &wk); return iy;
	default: return 0;
	}
}

__int128 expr_extract_ts(struct expr_zone *z, int64_t us, int unit)
{
	int64_t sec = floordiv(us, US_PER_S), micro = us - sec * US_PER_S;
	int64_t local = sec + offset_at(z, sec);
	int64_t sod = floormod(local, 86400);

	switch (unit) {
	case U_EPOCH: return us;
	case U_HOUR: return sod / 3600;
	case U_MINUTE: return sod / 60 % 60;
	case U_SECOND: return (__int128)(sod % 60) * US_PER_S + micro;
	default: return day_field(floordiv(local, 86400), unit);
	}
}

__int128 expr_extract_date(int64_t days, int unit)
{
	if (unit == U_EPOCH)
		return (__int128)days * 86400;
	return day_field(days, unit);
}

int64_t expr_date_to_ts(struct expr_zone *z, int64_t days)
{
	return local_to_utc(z, days * 86400) * US_PER_S;
}

int64_t expr_ts_to_date(struct expr_zone *z, int64_t us)
{
	int64_t sec = floordiv(us, US_PER_S);

	return floordiv(sec + offset_at(z, sec), 86400);
}

/* A timestamp as PostgreSQL's timestamptz output: in the zone, with its offset. */
size_t expr_format_ts(struct expr_zone *z, int64_t us, char *out)
{
	int64_t sec = floordiv(us, US_PER_S), micro = us - sec * US_PER_S;
	int32_t off = offset_at(z, sec);
	int64_t local = sec + off, days = floordiv(local, 86400), sod = local - days * 86400;
	int64_t y;
	unsigned m, d;
	size_t n;
	int aoff = off < 0 ? -off : off;

	conv_civil_from_days(days, &y, &m, &d);
	n = (size_t)sprintf(out, "%04lld-%02u-%02u %02d:%02d:%02d", (long long)y, m, d,
			    (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
	if (micro) {
		int digits = 6;

		while (micro % 10 == 0) {
			micro /= 10;
			digits--;
		}
		n += (size_t)sprintf(out + n, ".%0*lld", digits, (long long)micro);
	}
	n += (size_t)sprintf(out + n, "%c%02d", off < 0 ? '-' : '+', aoff / 3600);
	if (aoff % 3600)
		n += (size_t)sprintf(out + n, ":%02d", aoff / 60 % 60);
	if (aoff % 60)
		n += (size_t)sprintf(out + n, ":%02d", aoff % 60);
	return n;
}

/* A timestamp in text: with an offset it is that instant, without one local time. */
int expr_parse_ts(struct expr_zone *z, const char *s, size_t len, int64_t *us)
{
	bool zone = false;

	if (conv_parse_timestamp(s, len, us) < 0)
		return -1;
	for (size_t i = 10; i < len; i++)
		if (s[i] == 'Z' || s[i] == 'z' || s[i] == '+' || s[i] == '-')
			zone = true;
	if (!zone && z && z->tz) {
		int64_t sec = floordiv(*us, US_PER_S);

		*us = local_to_utc(z, sec) * US_PER_S + (*us - sec * US_PER_S);
	}
	return 0;
}

static const char *const month_names[] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
};
static const char *const day_names[] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday",
};

int expr_strftime(struct expr_frame *f, struct expr_zone *z, const char *fmt,
		  size_t fmtlen, int64_t us, struct rec_value *out, char *reason,
		  size_t reasonlen)
{
	int64_t sec = floordiv(us, US_PER_S), micro = us - sec * US_PER_S;
	int32_t off = offset_at(z, sec);
	int64_t local = sec + off, days = floordiv(local, 86400), sod = local - days * 86400;
	int64_t y, iy, wk;
	unsigned m, d;
	int dow = (int)floormod(days + 4, 7), hour = (int)(sod / 3600);
	size_t cap = fmtlen * 48 + 1, n = 0;
	char *buf;

	if (fmtlen > (1u << 20))
		return snprintf(reason, reasonlen, "strftime format too long"), -1;
	if (f == NULL || (buf = expr_scratch(f, cap)) == NULL)
		return snprintf(reason, reasonlen, "out of memory"), -1;
	conv_civil_from_days(days, &y, &m, &d);
	iso_week(days, &iy, &wk);
	for (size_t i = 0; i < fmtlen; i++) {
		char ch = fmt[i];

		if (ch != '%') {
			buf[n++] = ch;
			continue;
		}
		if (++i == fmtlen) {
			buf[n++] = '%';
			break;
		}
		switch (fmt[i]) {
#define PUT(...) n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__)
		case 'Y': PUT("%04lld", (long long)y); break;
		case 'y': PUT("%02lld", (long long)(y % 100)); break;
		case 'm': PUT("%02u", m); break;
		case 'd': PUT("%02u", d); break;
		case 'e': PUT("%2u", d); break;
		case 'H': PUT("%02d", hour); break;
		case 'I': PUT("%02d", hour % 12 ? hour % 12 : 12); break;
		case 'M': PUT("%02d", (int)(sod / 60 % 60)); break;
		case 'S': PUT("%02d", (int)(sod % 60)); break;
		case 'f': PUT("%06lld", (long long)micro); break;
		case 'p': PUT("%s", hour < 12 ? "AM" : "PM"); break;
		case 'j': PUT("%03lld", (long long)(days - conv_days_from_civil(y, 1, 1) + 1)); break;
		case 'b': case 'h': PUT("%.3s", month_names[m - 1]); break;
		case 'B': PUT("%s", month_names[m - 1]); break;
		case 'a': PUT("%.3s", day_names[dow]); break;
		case 'A': PUT("%s", day_names[dow]); break;
		case 'u': PUT("%d", dow ? dow : 7); break;
		case 'w': PUT("%d", dow); break;
		case 'V': PUT("%02lld", (long long)wk); break;
		case 'G': PUT("%04lld", (long long)iy); break;
		case 's': PUT("%lld", (long long)sec); break;
		case 'z': PUT("%c%02d%02d", off < 0 ? '-' : '+', abs(off) / 3600, abs(off) / 60 % 60); break;
		case 'Z': PUT("%s", z && z->tz ? tz_name(z->tz) : "UTC"); break;
		case 'F': PUT("%04lld-%02u-%02u", (long long)y, m, d); break;
		case 'T': PUT("%02d:%02d:%02d", hour, (int)(sod / 60 % 60), (int)(sod % 60)); break;
		case 'R': PUT("%02d:%02d", hour, (int)(sod / 60 % 60)); break;
		case 'D': PUT("%02u/%02u/%02lld", m, d, (long long)(y % 100)); break;
		case 'n': buf[n++] = '\n'; break;
		case 't': buf[n++] = '\t'; break;
		case '%': buf[n++] = '%'; break;
		default:
			snprintf(reason, reasonlen, "strftime: unknown directive %%%c",
				 fmt[i]);
			return -1;
#undef PUT
		}
	}
	out->null = false;
	out->u.s.p = buf;
	out->u.s.len = (uint32_t)n;
	return 0;
}
