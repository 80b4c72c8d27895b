/*
 * fuzz_convert.c - the value converters (common/convert.c).
 *
 * The first input byte picks what to check; the rest is the text (or the
 * raw 8 bytes of a number).  Besides memory errors, each case checks a
 * property convert.h promises:
 *   timestamps   a parsed timestamp, formatted, parses back to itself
 *   floats       a parsed double, formatted, parses back to the same bits
 *   text         a value converted into text is valid UTF-8 without NUL
 *   numbers      int and float converted into every type stay in range
 *   decimals     a decimal(p,s) has at most p digits and its text reads
 *                back to itself
 *   dates        a date is in 0001-9999 and its text reads back to itself
 * Each value goes into every field of a fixed schema: every type, decimals
 * of several precisions and scales, timestamps with formats, and zones
 * (Europe/Paris, Australia/Lord_Howe) on timestamps and dates.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/convert.h"
#include "../common/decimal.h"
#include "../common/tsfmt.h"
#include "../common/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ts(const char *s, size_t len)
{
	char out[CONV_TS_MAX];
	int64_t us, back;
	size_t n;

	if (conv_parse_timestamp(s, len, &us) < 0)
		return;
	n = conv_format_timestamp(us, out);
	if (n == 0 || n >= CONV_TS_MAX || strlen(out) != n)
		abort();
	if (conv_parse_timestamp(out, n, &back) < 0 || back != us) {
		fprintf(stderr, "timestamp %.*s -> %s does not read back\n",
			(int)len, s, out);
		abort();
	}
}

static void check_float_text(double d)
{
	char out[CONV_FLOAT_MAX];
	double back;
	size_t n;

	if (isnan(d) || isinf(d))
		return;
	n = conv_format_float(d, out);
	if (n == 0 || n >= CONV_FLOAT_MAX)
		abort();
	if (conv_parse_float(out, n, &back) < 0 ||
	    memcmp(&back, &d, sizeof d) != 0) {
		fprintf(stderr, "float %.17g -> %.*s does not read back\n", d,
			(int)n, out);
		abort();
	}
}

/* The fields every value goes into, made once. */
static struct rec_field fields[16];
static int nfields;

static void add_field(enum rec_type t, int p, int sc, struct tsfmt *fmt,
		      struct tz *z)
{
	fields[nfields++] = (struct rec_field){ .type = t, .prec = (uint8_t)p,
		.scale = (uint8_t)sc, .fmt = fmt, .tz = z };
}

static void make_fields(void)
{
	static const char *const fmts[] = { "%d/%m/%Y %H:%M", "epoch_ms",
					    "%Y-%m-%dT%H:%M:%S%z" };
	char err[256];
	struct tz *paris = tz_load("Europe/Paris", err, sizeof err);
	struct tz *lh = tz_load("Australia/Lord_Howe", err, sizeof err);
	struct tsfmt *f = tsfmt_compile(fmts, 3, err, sizeof err);

	if (!f)
		abort();
	for (enum rec_type t = REC_INT; t <= REC_DATE; t++)
		add_field(t, t == REC_DECIMAL ? 10 : 0,
			  t == REC_DECIMAL ? 2 : 0, NULL, NULL);
	add_field(REC_DECIMAL, 38, 0, NULL, NULL);
	add_field(REC_DECIMAL, 38, 38, NULL, NULL);
	add_field(REC_DECIMAL, 1, 1, NULL, NULL);
	add_field(REC_TIMESTAMP, 0, 0, f, paris);
	add_field(REC_TIMESTAMP, 0, 0, NULL, lh);
	add_field(REC_DATE, 0, 0, NULL, lh);
}

static void check_value(const struct rec_field *f, const struct rec_value *v)
{
	enum rec_type t = f->type;

	if (v->null)
		return;
	if (t == REC_DECIMAL) {
		char out[DEC_STR_MAX];
		__int128 x = rec_dec(v), back;
		size_t n;

		if (!dec_fits(x, f->prec))
			abort();
		n = dec_format(x, f->scale, out);
		if (dec_parse(out, n, f->prec, f->scale, &back) != DEC_OK ||
		    back != x)
			abort();
	}
	if (t == REC_DATE) {
		char out[CONV_TS_MAX];
		int64_t back;
		size_t n = conv_format_date(v->u.i, out);

		if (conv_parse_date(out, n, NULL, &back) < 0 || back != v->u.i)
			abort();
	}
	if (t == REC_TIMESTAMP) {
		char out[CONV_TS_MAX];
		int64_t back;
		size_t n = conv_format_timestamp(v->u.i, out);

		if (conv_parse_timestamp(out, n, &back) < 0 || back != v->u.i)
			abort();
	}
	if (t == REC_TEXT && !conv_utf8_valid(v->u.s.p, v->u.s.len))
		abort();
	if (t == REC_FLOAT) {
		/* record.h: the converters never produce NaN or infinities. */
		if (!isfinite(v->u.f))
			abort();
		check_float_text(v->u.f);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char reason[CONV_REASON_MAX], scratch[CONV_SCRATCH_MAX];
	const char *s;
	struct rec_value v;
	int64_t i;
	double d;
	bool b;

	if (nfields == 0)
		make_fields();
	if (size < 1)
		return 0;
	s = (const char *)data + 1;
	size--;
	switch (data[0] % 6) {
	case 0:
		check_ts(s, size);
		break;
	case 1:
		if (conv_parse_float(s, size, &d) == 0)
			check_float_text(d);
		(void)conv_parse_int(s, size, &i);
		(void)conv_parse_bool(s, size, &b);
		break;
	case 2:
		/* Text into every type, as CSV, SQLite text and JSON strings go. */
		for (int k = 0; k < nfields; k++) {
			memset(&v, 0, sizeof v);
			reason[0] = '\0';
			if (conv_text(&fields[k], s, size, &v, reason,
				      sizeof reason) == 0)
				check_value(&fields[k], &v);
			else if (strlen(reason) >= sizeof reason)
				abort();
		}
		(void)conv_utf8_valid(s, size);
		break;
	case 3:
	case 4:
		/* Typed numbers (SQLite, PostgreSQL binary, JSON) into each type. */
		if (size < 8)
			break;
		memcpy(&i, s, 8);
		memcpy(&d, s, 8);
		for (int k = 0; k < nfields; k++) {
			const struct rec_field *f = &fields[k];

			memset(&v, 0, sizeof v);
			if (data[0] % 6 == 3) {
				if (conv_int(f, i, &v, scratch, reason,
					     sizeof reason) == 0)
					check_value(f, &v);
			} else if (conv_float(f, d, &v, scratch, reason,
					      sizeof reason) == 0) {
				check_value(f, &v);
			}
			if (conv_bool(f, (i & 1) != 0, &v, reason,
				      sizeof reason) == 0)
				check_value(f, &v);
		}
		break;
	case 5:
		/* Any 64-bit timestamp formats within its buffer. */
		if (size >= 8) {
			char out[CONV_TS_MAX];

			memcpy(&i, s, 8);
			if (conv_format_timestamp(i, out) >= CONV_TS_MAX)
				abort();
		}
		break;
	}
	return 0;
}
