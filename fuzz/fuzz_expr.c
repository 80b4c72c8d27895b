/*
 * fuzz_expr.c - the expression compiler and evaluator (common/expr*.c).
 *
 * The first input byte picks the zone; the rest is an expression over a
 * fixed schema of every type.  A text that compiles is evaluated over a
 * few records (NULLs, zeros, the ends of int, long texts).  Besides memory
 * errors and undefined behaviour, checks what expr.h promises: a value has
 * the type expr_result_type() says, a text result is valid UTF-8, a
 * decimal fits 38 digits, an error always comes with a reason, and the
 * names expr_names_read() finds in the text cover the fields the program
 * reads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/convert.h"
#include "../common/decimal.h"
#include "../common/expr.h"
#include "../common/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rec_field fields[] = {
	{ "i", REC_INT, 0, 0, NULL, NULL },
	{ "j", REC_INT, 0, 0, NULL, NULL },
	{ "f", REC_FLOAT, 0, 0, NULL, NULL },
	{ "d", REC_DECIMAL, 12, 2, NULL, NULL },
	{ "e", REC_DECIMAL, 38, 10, NULL, NULL },
	{ "t", REC_TEXT, 0, 0, NULL, NULL },
	{ "u", REC_TEXT, 0, 0, NULL, NULL },
	{ "b", REC_BOOL, 0, 0, NULL, NULL },
	{ "ts", REC_TIMESTAMP, 0, 0, NULL, NULL },
	{ "dt", REC_DATE, 0, 0, NULL, NULL },
};
#define NF (int)(sizeof fields / sizeof fields[0])
#define NREC 4

static struct rec_value recs[NREC][sizeof fields / sizeof fields[0]];

static void make_records(void)
{
	static const char *const texts[NREC][2] = {
		{ "Hello, World", "a.b.c" }, { "", "%_\\" },
		{ "caf\xc3\xa9 \xe2\x82\xac", "\xc3\xa9" }, { "  x  ", "x" },
	};
	static const int64_t ints[NREC][2] = {
		{ 7, -3 }, { 0, 0 }, { INT64_MAX, INT64_MIN }, { -1, 1 },
	};
	static const double floats[NREC] = { 2.5, 0, 1e308, -1e-308 };

	for (int k = 0; k < NREC; k++) {
		struct rec_value *v = recs[k];

		memset(v, 0, sizeof recs[k]);
		v[0].u.i = ints[k][0];
		v[1].u.i = ints[k][1];
		v[2].u.f = floats[k];
		rec_set_dec(&v[3], k == 2 ? (__int128)999999999999LL : (__int128)1234 * (k - 1));
		rec_set_dec(&v[4], k == 2 ? dec_pow10(38) - 1 : -(__int128)5000001 * k);
		v[5].u.s.p = texts[k][0];
		v[5].u.s.len = (uint32_t)strlen(texts[k][0]);
		v[6].u.s.p = texts[k][1];
		v[6].u.s.len = (uint32_t)strlen(texts[k][1]);
		v[7].u.b = k & 1;
		v[8].u.i = k == 2 ? 253402300799999999LL : k == 3 ? -62135596800000000LL
			   : 1711846800000000LL * k;
		v[9].u.i = k == 2 ? 2932896 : k == 3 ? -719162 : 19813;
		if (k == 1)
			for (int i = 0; i < NF; i += 2)
				v[i].null = true;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const zones[] = { "UTC", "Europe/Paris",
					     "Australia/Lord_Howe", "America/New_York" };
	static struct tz *tzs[4];
	static bool made;
	struct rec_schema schema = { NF, fields };
	struct expr_error err;
	struct expr_prog *p;
	struct expr_frame *f;
	char *text, msg[256];
	int zi;

	if (size < 1 || size > 4096)
		return 0;
	if (!made) {
		make_records();
		made = true;
	}
	zi = data[0] & 3;
	if (!tzs[zi] && !(tzs[zi] = tz_load(zones[zi], msg, sizeof msg)))
		abort();
	text = malloc(size);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	p = expr_compile(text, &schema, tzs[zi], &err);
	{
		/* What the syntax reads covers what the program reads. */
		struct expr_error err2;
		char **names;
		int nn = expr_names_read(text, &names, &err2);

		if (p && nn < 0)
			abort();
		if (p) {
			int nf;
			const int *idx = expr_fields_read(p, &nf);

			for (int i = 0; i < nf; i++) {
				int k = 0;

				while (k < nn && strcmp(names[k], fields[idx[i]].name) != 0)
					k++;
				if (k == nn)
					abort();
			}
		}
		if (nn >= 0)
			expr_names_free(names, nn);
	}
	if (p == NULL) {
		if (err.msg[0] == '\0')
			abort();
		free(text);
		return 0;
	}
	f = expr_frame_new(p);
	if (f == NULL)
		abort();
	for (int k = 0; k < NREC; k++) {
		struct rec_value out;
		char reason[EXPR_REASON_MAX];
		struct expr_type t = expr_result_type(p);

		reason[0] = '\0';
		if (expr_eval(p, recs[k], f, &out, reason, sizeof reason) < 0) {
			if (reason[0] == '\0')
				abort();
			continue;
		}
		if (out.null)
			continue;
		if (t.type == REC_TEXT && !conv_utf8_valid(out.u.s.p, out.u.s.len))
			abort();
		if (t.type == REC_DECIMAL && !dec_fits(rec_dec(&out), DEC_MAX_PRECISION))
			abort();
		if (t.type == REC_BOOL && out.u.b != 0 && out.u.b != 1)
			abort();
		{
			char buf[128];

			expr_format(t, &out, tzs[zi], buf, sizeof buf);
		}
	}
	expr_frame_free(f);
	expr_free(p);
	free(text);
	return 0;
}
