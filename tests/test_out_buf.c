/*
 * test_out_buf.c - the row buffer of the outputs (aggregator/out_buf.h):
 * bytes go out only in full buffers or on a flush, a failed send sticks
 * (nothing more is sent, the bytes are dropped), and the value formatters
 * write what the text outputs expect.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../aggregator/out_buf.h"

/* A sink that records what it gets, failing from call fail_at on. */
struct rec_sink {
	size_t calls, bytes;
	size_t fail_at;       /* 0: never */
	char first[16];       /* the first bytes of the first call */
};

static int rec_send(void *arg, const char *p, size_t n)
{
	struct rec_sink *s = arg;

	s->calls++;
	if (s->fail_at != 0 && s->calls >= s->fail_at) {
		errno = ENOSPC;
		return -1;
	}
	if (s->calls == 1)
		memcpy(s->first, p, n < sizeof s->first ? n : sizeof s->first);
	s->bytes += n;
	return 0;
}

static void open_buf(struct out_buf *b, struct rec_sink *s)
{
	cr_assert_eq(out_buf_init(b), 0);
	b->sink = rec_send;
	b->sink_arg = s;
}

Test(out_buf, sends_only_full_buffers_or_on_flush)
{
	struct rec_sink s = { 0 };
	struct out_buf b;
	char *big = malloc(OUT_BUF_SIZE + 10);

	cr_assert_not_null(big);
	memset(big, 'x', OUT_BUF_SIZE + 10);
	open_buf(&b, &s);
	out_buf_putc(&b, 'a');
	out_buf_put(&b, "bc", 2);
	cr_assert_eq(s.calls, 0);
	out_buf_put(&b, big, OUT_BUF_SIZE + 10);
	cr_assert_eq(s.calls, 1);
	cr_assert_eq(s.bytes, OUT_BUF_SIZE);
	cr_assert_eq(memcmp(s.first, "abcx", 4), 0);
	out_buf_flush(&b);
	cr_assert_eq(s.calls, 2);
	cr_assert_eq(s.bytes, OUT_BUF_SIZE + 13);
	cr_assert_eq(b.len, 0);
	out_buf_flush(&b);
	cr_assert_eq(s.calls, 2, "an empty buffer sends nothing");
	cr_assert_eq(b.error, 0);
	out_buf_free(&b);
	out_buf_free(&b);
	free(big);
}

Test(out_buf, a_failed_send_sticks)
{
	struct rec_sink s = { .fail_at = 1 };
	struct out_buf b;

	open_buf(&b, &s);
	out_buf_put(&b, "row\n", 4);
	out_buf_flush(&b);
	cr_assert_eq(b.error, ENOSPC);
	cr_assert_eq(b.len, 0, "the bytes are dropped");
	out_buf_put(&b, "more\n", 5);
	out_buf_flush(&b);
	cr_assert_eq(s.calls, 1, "nothing is sent after a failure");
	cr_assert_eq(b.error, ENOSPC);
	out_buf_free(&b);
}

Test(out_buf, plain_values)
{
	static const struct {
		enum rec_type type;
		struct rec_value v;
		bool quote_ts;
	} vals[] = {
		{ REC_INT, { .u.i = INT64_MIN }, false },
		{ REC_INT, { .u.i = 0 }, false },
		{ REC_FLOAT, { .u.f = 0.1 }, false },
		{ REC_FLOAT, { .u.f = NAN }, false },
		{ REC_BOOL, { .u.b = true }, false },
		{ REC_BOOL, { .u.b = false }, false },
		{ REC_TIMESTAMP, { .u.i = 0 }, true },
		{ REC_DATE, { .u.i = -1 }, false },
		{ REC_DATE, { .u.i = 19723 }, true },
	};
	struct rec_sink s = { 0 };
	struct out_buf b;

	open_buf(&b, &s);
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		if (i > 0)
			out_buf_putc(&b, '|');
		struct out_col c = { .name = "c", .type = vals[i].type };

		out_buf_plain(&b, &c, &vals[i].v, vals[i].quote_ts);
	}
	out_buf_putc(&b, '\0');
	cr_assert_str_eq(b.buf, "-9223372036854775808|0|0.1||true|false|"
				"\"1970-01-01T00:00:00Z\"|1969-12-31|"
				"\"2024-01-01\"");
	out_buf_free(&b);
}

/*
 * A decimal is its digits with exactly scale fraction digits, never
 * quoted (a bare number in JSON): the largest and smallest decimal(38,s)
 * too.
 */
Test(out_buf, plain_decimals)
{
	static const struct {
		const char *v; /* the integer at the scale, in decimal */
		int scale;
		const char *want;
	} vals[] = {
		{ "3762", 2, "37.62" },
		{ "-5", 2, "-0.05" },
		{ "12", 0, "12" },
		{ "0", 3, "0.000" },
		{ "-0", 1, "0.0" },
		{ "99999999999999999999999999999999999999", 0,
		  "99999999999999999999999999999999999999" },
		{ "-99999999999999999999999999999999999999", 38,
		  "-0.99999999999999999999999999999999999999" },
		{ "100000000000000000000000000000000000", 6,
		  "100000000000000000000000000000.000000" },
	};
	struct rec_sink s = { 0 };
	struct out_buf b;

	open_buf(&b, &s);
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		struct out_col c = { .name = "c", .type = REC_DECIMAL,
				     .prec = 38, .scale = (uint8_t)vals[i].scale };
		struct rec_value v = { 0 };
		const char *p = vals[i].v;
		__int128 x = 0;
		bool neg = *p == '-';

		for (p += neg; *p; p++)
			x = x * 10 + (*p - '0');
		rec_set_dec(&v, neg ? -x : x);
		b.len = 0;
		out_buf_plain(&b, &c, &v, i % 2 == 0);
		out_buf_putc(&b, '\0');
		cr_assert_str_eq(b.buf, vals[i].want, "%s at scale %d",
				 vals[i].v, vals[i].scale);
	}
	out_buf_free(&b);
}
