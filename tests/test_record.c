/*
 * test_record.c - unit tests of the record codec (ipc/record.c).
 *
 * Round trips of every type with and without NULLs, text with arbitrary
 * bytes, rejection of malformed input (every truncation, every wrong total
 * length, bad bools, stray bitmap bits, oversized text lengths), a fuzz
 * pass that checks rec_decode only ever accepts what rec_encode produces,
 * the bounds of rec_encode_within, the sort order of rec_value_cmp, and the
 * planned encoder (rec_plan_encode) against rec_encode_dropping byte for
 * byte.
 * rec_validate must give rec_decode's verdict and length on any bytes, and
 * rec_decode_trusted rec_decode's values on any record it accepted.
 * Buffers handed to rec_decode are heap copies of exactly avail bytes, so
 * AddressSanitizer catches any read past the end.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ipc/record.h"

static struct rec_field all_fields[] = {
	{ .name = "i", .type = REC_INT },   { .name = "f", .type = REC_FLOAT },  { .name = "t", .type = REC_TEXT },
	{ .name = "b", .type = REC_BOOL },  { .name = "ts", .type = REC_TIMESTAMP },
	{ .name = "i2", .type = REC_INT },  { .name = "t2", .type = REC_TEXT },  { .name = "b2", .type = REC_BOOL },
	{ .name = "f2", .type = REC_FLOAT }, { .name = "ts2", .type = REC_TIMESTAMP }, { .name = "t3", .type = REC_TEXT },
	{ .name = "d", .type = REC_DECIMAL, .prec = 38, .scale = 2 },
	{ .name = "day", .type = REC_DATE },
};
#define NALL ((int)(sizeof(all_fields) / sizeof(all_fields[0])))
static const struct rec_schema all_schema = { NALL, all_fields };

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

/* Byte text used by text fields: NUL, high bytes, separators, quotes. */
static const char odd_text[] = "a\0b\xff\xfe\n\r\",;\\\x01z";

/* Fill v with values of schema s, derived from seed; NULL where mask says. */
static void make_values(const struct rec_schema *s, struct rec_value *v,
			uint64_t seed, uint64_t null_mask)
{
	int i;

	for (i = 0; i < s->nfields; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		v[i].null = (null_mask >> i) & 1;
		if (v[i].null)
			continue;
		switch (s->fields[i].type) {
		case REC_INT:
			v[i].u.i = (int64_t)(seed * 0x100000001b3ull) - (int64_t)i;
			break;
		case REC_TIMESTAMP:
			v[i].u.i = -(int64_t)(seed % 1000000007) * 1000000 + i;
			break;
		case REC_DATE:
			v[i].u.i = (int64_t)(seed % 2932897) - 719162 + i;
			break;
		case REC_DECIMAL:
			/* Both halves, negative values, up to 38 digits. */
			rec_set_dec(&v[i],
				    (__int128)(int64_t)(seed * 0x9e3779b97f4a7c15ull)
					    * ((__int128)1 << 60)
				    - (__int128)i);
			break;
		case REC_FLOAT:
			v[i].u.f = (double)(int64_t)seed / 7.0 - i * 0.5;
			break;
		case REC_BOOL:
			v[i].u.b = ((seed >> i) & 1) != 0;
			break;
		case REC_TEXT:
			v[i].u.s.p = odd_text + (seed + i) % 4;
			v[i].u.s.len = (uint32_t)((seed + i) % (sizeof(odd_text) - 4));
			break;
		}
	}
}

static void expect_equal_values(const struct rec_schema *s,
				const struct rec_value *a,
				const struct rec_value *b)
{
	int i;

	for (i = 0; i < s->nfields; i++) {
		cr_assert_eq(a[i].null, b[i].null, "field %d null differs", i);
		if (a[i].null)
			continue;
		switch (s->fields[i].type) {
		case REC_INT:
		case REC_TIMESTAMP:
		case REC_DATE:
			cr_assert_eq(a[i].u.i, b[i].u.i, "field %d", i);
			break;
		case REC_DECIMAL:
			cr_assert(rec_dec(&a[i]) == rec_dec(&b[i]), "field %d", i);
			break;
		case REC_FLOAT:
			cr_assert(memcmp(&a[i].u.f, &b[i].u.f, 8) == 0,
				  "field %d: %g != %g", i, a[i].u.f, b[i].u.f);
			break;
		case REC_BOOL:
			cr_assert_eq(a[i].u.b, b[i].u.b, "field %d", i);
			break;
		case REC_TEXT:
			cr_assert_eq(a[i].u.s.len, b[i].u.s.len, "field %d", i);
			cr_assert(memcmp(a[i].u.s.p, b[i].u.s.p, a[i].u.s.len) == 0,
				  "field %d text differs", i);
			break;
		}
	}
}

/* Encode v into a fresh heap buffer of exactly the encoded size. */
static unsigned char *encode_alloc(const struct rec_schema *s,
				   const struct rec_value *v, size_t *len)
{
	size_t need = rec_encoded_size(s, v);
	unsigned char *buf = malloc(need);

	cr_assert_not_null(buf);
	*len = rec_encode(s, v, buf);
	cr_assert_eq(*len, need, "rec_encode wrote %zu, size said %zu", *len,
		     need);
	return buf;
}

/* rec_decode on a heap copy of exactly avail bytes of buf. */
static long decode_exact(const struct rec_schema *s, const unsigned char *buf,
			 size_t avail, struct rec_value *v)
{
	unsigned char *copy = malloc(avail ? avail : 1);
	long rc;

	cr_assert_not_null(copy);
	if (avail)
		memcpy(copy, buf, avail);
	rc = rec_decode(s, copy, avail, v);
	free(copy);
	return rc;
}

static void put_u32(unsigned char *p, uint32_t x)
{
	memcpy(p, &x, 4);
}

Test(record, type_names)
{
	static const struct {
		const char *name;
		enum rec_type t;
	} names[] = {
		{ "int", REC_INT },   { "float", REC_FLOAT },
		{ "text", REC_TEXT }, { "bool", REC_BOOL },
		{ "timestamp", REC_TIMESTAMP }, { "decimal", REC_DECIMAL },
		{ "date", REC_DATE },
	};
	enum rec_type t;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cr_assert_str_eq(rec_type_name(names[i].t), names[i].name);
		t = 0;
		cr_assert_eq(rec_type_parse(names[i].name, &t), 0);
		cr_assert_eq(t, names[i].t);
	}
	cr_assert_eq(rec_type_parse("integer", &t), -1);
	cr_assert_eq(rec_type_parse("", &t), -1);
	cr_assert_eq(rec_type_parse("in", &t), -1);
	cr_assert_eq(rec_type_parse("unknown", &t), -1);
	cr_assert_str_eq(rec_type_name((enum rec_type)0), "unknown");
	cr_assert_str_eq(rec_type_name((enum rec_type)99), "unknown");
}

Test(record, layout_is_as_documented)
{
	static struct rec_field f[] = {
		{ .name = "a", .type = REC_INT }, { .name = "b", .type = REC_BOOL }, { .name = "c", .type = REC_TEXT },
		{ .name = "d", .type = REC_FLOAT },
	};
	const struct rec_schema s = { 4, f };
	struct rec_value v[4];
	unsigned char buf[64];
	int64_t i = -5;
	uint32_t n;

	memset(v, 0, sizeof(v));
	v[0].u.i = -5;
	v[1].u.b = true;
	v[2].u.s.p = "xyz";
	v[2].u.s.len = 3;
	v[3].null = true;
	cr_assert_eq(rec_encoded_size(&s, v), 4 + 1 + 8 + 1 + 4 + 3);
	cr_assert_eq(rec_encode(&s, v, buf), 21);
	memcpy(&n, buf, 4);
	cr_assert_eq(n, 21);
	cr_assert_eq(buf[4], 0x08, "null bitmap: bit 3 only");
	cr_assert(memcmp(buf + 5, &i, 8) == 0);
	cr_assert_eq(buf[13], 1);
	memcpy(&n, buf + 14, 4);
	cr_assert_eq(n, 3);
	cr_assert(memcmp(buf + 18, "xyz", 3) == 0);
}

Test(record, round_trip_every_null_pattern)
{
	/* First five fields: every NULL combination; the rest vary with it. */
	struct rec_value in[NALL], out[NALL];
	uint64_t mask;

	for (mask = 0; mask < (1u << NALL); mask += (mask < 64 ? 1 : 37)) {
		size_t len;
		unsigned char *buf;
		long rc;

		make_values(&all_schema, in, mask * 2654435761u + 1, mask);
		buf = encode_alloc(&all_schema, in, &len);
		memset(out, 0xa5, sizeof(out));
		rc = decode_exact(&all_schema, buf, len, out);
		cr_assert_eq(rc, (long)len, "mask %#llx", (unsigned long long)mask);
		/* Text points into the buffer decoded: compare on the original. */
		rc = rec_decode(&all_schema, buf, len, out);
		cr_assert_eq(rc, (long)len);
		expect_equal_values(&all_schema, in, out);
		free(buf);
	}
}

/*
 * rec_encode_within: the same bytes as with room to spare when it fits;
 * 0 for every smaller room, with nothing written at or past the room (the
 * bytes after it may be another frame's).
 */
Test(record, encode_within_is_encode_or_nothing_past_the_room)
{
	struct rec_value in[NALL];

	for (uint64_t mask = 0; mask < (1u << NALL); mask += 97) {
		size_t len, room;
		unsigned char *want, *got;

		make_values(&all_schema, in, mask * 2654435761u + 7, mask);
		want = encode_alloc(&all_schema, in, &len);
		got = malloc(len + 16);
		cr_assert_not_null(got);
		for (room = 0; room <= len + 8; room++) {
			size_t n;

			memset(got, 0xa5, len + 16);
			n = rec_encode_within(&all_schema, in, got, room);
			if (room < len) {
				cr_assert_eq(n, 0, "room %zu of %zu", room, len);
			} else {
				cr_assert_eq(n, len, "room %zu", room);
				cr_assert(memcmp(got, want, len) == 0);
			}
			for (size_t k = n ? len : room; k < len + 16; k++)
				cr_assert_eq(got[k], 0xa5,
					     "byte %zu written, room %zu of %zu",
					     k, room, len);
		}
		free(got);
		free(want);
	}
}

Test(record, round_trip_extremes)
{
	static struct rec_field f[] = {
		{ .name = "i", .type = REC_INT }, { .name = "ts", .type = REC_TIMESTAMP }, { .name = "f", .type = REC_FLOAT },
		{ .name = "t", .type = REC_TEXT }, { .name = "b", .type = REC_BOOL },
	};
	const struct rec_schema s = { 5, f };
	static const char bytes[] = { 0, 0, (char)0xff, 0, (char)0x80 };
	const int64_t ints[] = { INT64_MIN, INT64_MAX, 0, -1 };
	const double floats[] = { -0.0, 0.0, INFINITY, -INFINITY, 1e-310,
				  1.7976931348623157e308 };
	struct rec_value in[5], out[5];
	unsigned char buf[128];
	size_t i, len;

	for (i = 0; i < 6; i++) {
		memset(in, 0, sizeof(in));
		in[0].u.i = ints[i % 4];
		in[1].u.i = ints[(i + 1) % 4];
		in[2].u.f = floats[i];
		in[3].u.s.p = bytes;
		in[3].u.s.len = (uint32_t)(i % 6);
		in[4].u.b = i & 1;
		len = rec_encode(&s, in, buf);
		cr_assert_eq(rec_decode(&s, buf, len, out), (long)len);
		expect_equal_values(&s, in, out);
		cr_assert_eq(out[3].u.s.p, (const char *)buf + 4 + 1 + 24 + 4,
			     "text must point into the buffer, not a copy");
	}
}

Test(record, empty_text_is_not_null)
{
	static struct rec_field f[] = { { .name = "t", .type = REC_TEXT }, { .name = "u", .type = REC_TEXT } };
	const struct rec_schema s = { 2, f };
	struct rec_value in[2], out[2];
	unsigned char buf[32];
	size_t len;

	memset(in, 0, sizeof(in));
	in[0].u.s.p = "";
	in[1].null = true;
	len = rec_encode(&s, in, buf);
	cr_assert_eq(len, 4 + 1 + 4);
	cr_assert_eq(rec_decode(&s, buf, len, out), (long)len);
	cr_assert(!out[0].null);
	cr_assert_eq(out[0].u.s.len, 0);
	cr_assert(out[1].null);
}

Test(record, zero_fields)
{
	const struct rec_schema s = { 0, NULL };
	unsigned char buf[8];
	struct rec_value v[1] = { { .null = false } };

	cr_assert_eq(rec_encoded_size(&s, v), 4);
	cr_assert_eq(rec_encode(&s, v, buf), 4);
	cr_assert_eq(decode_exact(&s, buf, 4, v), 4);
	put_u32(buf, 5);
	buf[4] = 0;
	cr_assert_eq(decode_exact(&s, buf, 5, v), -1);
}

Test(record, consecutive_records)
{
	struct rec_value in[NALL], out[NALL];
	unsigned char *buf = malloc(1 << 16);
	size_t off = 0, lens[40];
	int k;

	cr_assert_not_null(buf);
	for (k = 0; k < 40; k++) {
		make_values(&all_schema, in, (uint64_t)k * 77 + 3,
			    (uint64_t)k * 0x2f1);
		lens[k] = rec_encode(&all_schema, in, buf + off);
		off += lens[k];
	}
	for (k = 0, off = 0; k < 40; k++) {
		long rc = rec_decode(&all_schema, buf + off, (1 << 16) - off, out);

		cr_assert_eq(rc, (long)lens[k], "record %d", k);
		make_values(&all_schema, in, (uint64_t)k * 77 + 3,
			    (uint64_t)k * 0x2f1);
		expect_equal_values(&all_schema, in, out);
		off += (size_t)rc;
	}
	free(buf);
}

Test(record, truncated_at_every_byte)
{
	struct rec_value in[NALL], out[NALL];
	uint64_t seed;

	for (seed = 0; seed < 16; seed++) {
		size_t len, avail;
		unsigned char *buf;

		make_values(&all_schema, in, seed + 100, seed * 0x155);
		buf = encode_alloc(&all_schema, in, &len);
		for (avail = 0; avail < len; avail++) {
			/* As sent: the length word says more than there is. */
			cr_assert_eq(decode_exact(&all_schema, buf, avail, out), -1,
				     "seed %llu avail %zu of %zu",
				     (unsigned long long)seed, avail, len);
			/* Lying about its own length to fit: still refused. */
			if (avail >= 4) {
				unsigned char *lie = malloc(avail);

				cr_assert_not_null(lie);
				memcpy(lie, buf, avail);
				put_u32(lie, (uint32_t)avail);
				cr_assert_eq(rec_decode(&all_schema, lie, avail, out),
					     -1, "claimed total %zu of %zu", avail,
					     len);
				free(lie);
			}
		}
		cr_assert_eq(decode_exact(&all_schema, buf, len, out), (long)len);
		free(buf);
	}
}

Test(record, wrong_total_length)
{
	struct rec_value in[NALL], out[NALL];
	unsigned char *buf, *longer;
	size_t len;

	make_values(&all_schema, in, 42, 0);
	buf = encode_alloc(&all_schema, in, &len);
	longer = calloc(1, len + 16);
	cr_assert_not_null(longer);
	memcpy(longer, buf, len);
	/* Claims trailing bytes that no field accounts for. */
	put_u32(longer, (uint32_t)len + 1);
	cr_assert_eq(decode_exact(&all_schema, longer, len + 16, out), -1);
	put_u32(longer, (uint32_t)len + 8);
	cr_assert_eq(decode_exact(&all_schema, longer, len + 16, out), -1);
	put_u32(longer, UINT32_MAX);
	cr_assert_eq(decode_exact(&all_schema, longer, len + 16, out), -1);
	put_u32(longer, 0);
	cr_assert_eq(decode_exact(&all_schema, longer, len + 16, out), -1);
	put_u32(longer, 3);
	cr_assert_eq(decode_exact(&all_schema, longer, len + 16, out), -1);
	/* The right length with trailing bytes after it in the buffer: fine. */
	put_u32(longer, (uint32_t)len);
	cr_assert_eq(decode_exact(&all_schema, longer, len + 16, out), (long)len);
	free(longer);
	free(buf);
}

Test(record, bad_bool_rejected)
{
	static struct rec_field f[] = { { .name = "i", .type = REC_INT }, { .name = "b", .type = REC_BOOL } };
	const struct rec_schema s = { 2, f };
	struct rec_value v[2];
	unsigned char buf[32];
	size_t len;
	int x;

	memset(v, 0, sizeof(v));
	v[1].u.b = true;
	len = rec_encode(&s, v, buf);
	cr_assert_eq(len, 4 + 1 + 8 + 1);
	for (x = 0; x < 256; x++) {
		buf[len - 1] = (unsigned char)x;
		cr_assert_eq(decode_exact(&s, buf, len, v), x <= 1 ? (long)len : -1,
			     "bool byte %d", x);
		if (x <= 1)
			cr_assert_eq(v[1].u.b, x == 1);
	}
}

Test(record, stray_bitmap_bits_rejected)
{
	static struct rec_field f[] = { { .name = "a", .type = REC_INT }, { .name = "b", .type = REC_INT },
					{ .name = "c", .type = REC_INT } };
	const struct rec_schema s = { 3, f };
	struct rec_value v[3];
	unsigned char buf[64];
	size_t len;
	int bit;

	memset(v, 0, sizeof(v));
	v[0].null = v[1].null = v[2].null = true;
	len = rec_encode(&s, v, buf);
	cr_assert_eq(len, 5);
	cr_assert_eq(buf[4], 0x07);
	cr_assert_eq(decode_exact(&s, buf, len, v), 5);
	for (bit = 3; bit < 8; bit++) {
		buf[4] = (unsigned char)(0x07 | 1u << bit);
		cr_assert_eq(decode_exact(&s, buf, len, v), -1, "bit %d", bit);
	}
}

Test(record, bad_text_length_rejected)
{
	static struct rec_field f[] = { { .name = "t", .type = REC_TEXT }, { .name = "i", .type = REC_INT } };
	const struct rec_schema s = { 2, f };
	struct rec_value v[2];
	unsigned char buf[64];
	const uint32_t lens[] = { 4, 9, 12, 0x7fffffff, UINT32_MAX,
				  UINT32_MAX - 3 };
	size_t len, k;

	memset(v, 0, sizeof(v));
	v[0].u.s.p = "abc";
	v[0].u.s.len = 3;
	v[1].u.i = 7;
	len = rec_encode(&s, v, buf);
	cr_assert_eq(decode_exact(&s, buf, len, v), (long)len);
	for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		unsigned char bad[64];

		memcpy(bad, buf, len);
		put_u32(bad + 5, lens[k]);
		cr_assert_eq(decode_exact(&s, bad, len, v), -1, "text length %u",
			     lens[k]);
	}
}

/*
 * Random bytes and mutated records: decode must stay in bounds (ASan), and
 * whatever it accepts must re-encode to exactly the bytes it accepted.
 */
Test(record, fuzz_decode_accepts_only_canonical)
{
	struct rec_value in[NALL], out[NALL];
	int rounds = getenv("AGG_TEST_SCALE") ? 20000 : 200000;
	unsigned char scratch[512];
	int k, accepted = 0;

	rng_state = 0x1234567887654321ull;
	for (k = 0; k < rounds; k++) {
		unsigned char *buf;
		size_t len, avail;
		long rc;

		make_values(&all_schema, in, rng_next(), rng_next());
		buf = encode_alloc(&all_schema, in, &len);
		if (k % 3 == 0) {
			for (avail = 0; avail < len; avail++)
				buf[avail] = (unsigned char)rng_next();
			if (len >= 4 && k % 2)
				put_u32(buf, (uint32_t)len);
		} else {
			int flips = 1 + (int)(rng_next() % 3);

			while (flips--)
				buf[rng_next() % len] ^= (unsigned char)(1u << (rng_next() % 8));
		}
		avail = len;
		rc = decode_exact(&all_schema, buf, avail, out);
		if (rc >= 0) {
			size_t again;

			accepted++;
			rc = rec_decode(&all_schema, buf, avail, out);
			cr_assert(rc > 0 && (size_t)rc <= avail);
			again = rec_encoded_size(&all_schema, out);
			cr_assert_eq(again, (size_t)rc);
			cr_assert(again <= sizeof(scratch));
			cr_assert_eq(rec_encode(&all_schema, out, scratch), again);
			cr_assert(memcmp(scratch, buf, again) == 0,
				  "round %d: accepted a non-canonical record", k);
		}
		free(buf);
	}
	cr_assert(accepted > 0, "the mutations never produced a valid record");
}

/* Schemas of other shapes: one field, a full bitmap byte, nine fields. */
static struct rec_field one_bool_fields[] = { { .name = "b", .type = REC_BOOL } };
static struct rec_field one_text_fields[] = { { .name = "t", .type = REC_TEXT } };
static struct rec_field eight_fields[] = {
	{ .name = "a", .type = REC_BOOL }, { .name = "b", .type = REC_TEXT }, { .name = "c", .type = REC_INT },
	{ .name = "d", .type = REC_BOOL }, { .name = "e", .type = REC_FLOAT }, { .name = "f", .type = REC_TEXT },
	{ .name = "g", .type = REC_TIMESTAMP }, { .name = "h", .type = REC_BOOL },
};
static struct rec_field nine_fields[] = {
	{ .name = "a", .type = REC_TEXT }, { .name = "b", .type = REC_TEXT }, { .name = "c", .type = REC_TEXT },
	{ .name = "d", .type = REC_BOOL }, { .name = "e", .type = REC_BOOL }, { .name = "f", .type = REC_INT },
	{ .name = "g", .type = REC_TEXT }, { .name = "h", .type = REC_FLOAT }, { .name = "i", .type = REC_BOOL },
};
static const struct rec_schema other_schemas[] = {
	{ 1, one_bool_fields }, { 1, one_text_fields }, { 8, eight_fields },
	{ 9, nine_fields }, { 0, NULL },
};

/*
 * rec_validate and rec_decode on a heap copy of exactly avail bytes (so a
 * read past it is caught): same verdict, same length; on acceptance,
 * rec_decode_trusted gives the same values and length.  Returns rc.
 */
static long expect_same_verdict(const struct rec_schema *s,
				const unsigned char *buf, size_t avail)
{
	struct rec_value dv[NALL + 1], tv[NALL + 1];
	unsigned char *copy = malloc(avail ? avail : 1);
	long rc, vrc;

	cr_assert_not_null(copy);
	if (avail)
		memcpy(copy, buf, avail);
	rc = rec_decode(s, copy, avail, dv);
	vrc = rec_validate(s, copy, avail);
	cr_assert_eq(vrc, rc, "rec_validate %ld, rec_decode %ld (avail %zu)",
		     vrc, rc, avail);
	if (rc >= 0) {
		cr_assert_eq(rec_decode_trusted(s, copy, tv), (size_t)rc);
		expect_equal_values(s, dv, tv);
		for (int i = 0; i < s->nfields; i++)
			if (!dv[i].null && s->fields[i].type == REC_TEXT)
				cr_assert(tv[i].u.s.p == dv[i].u.s.p,
					  "text points into the buffer");
	}
	free(copy);
	return rc;
}

Test(record, validate_agrees_with_decode_on_every_truncation)
{
	const struct rec_schema *schemas[] = {
		&all_schema, &other_schemas[0], &other_schemas[1],
		&other_schemas[2], &other_schemas[3], &other_schemas[4],
	};
	struct rec_value in[NALL];

	for (size_t si = 0; si < sizeof(schemas) / sizeof(schemas[0]); si++) {
		const struct rec_schema *s = schemas[si];

		for (uint64_t seed = 0; seed < 64; seed++) {
			unsigned char *buf;
			size_t len;

			make_values(s, in, seed * 977 + 3, seed * 0x5bd1e995);
			buf = encode_alloc(s, in, &len);
			for (size_t avail = 0; avail <= len; avail++)
				cr_assert_eq(expect_same_verdict(s, buf, avail),
					     avail == len ? (long)len : -1);
			free(buf);
		}
	}
}

Test(record, validate_agrees_with_decode_on_mutated_and_random_bytes)
{
	const struct rec_schema *schemas[] = {
		&all_schema, &other_schemas[0], &other_schemas[1],
		&other_schemas[2], &other_schemas[3], &other_schemas[4],
	};
	int rounds = getenv("AGG_TEST_SCALE") ? 20000 : 200000;
	struct rec_value in[NALL];
	int accepted = 0, rejected = 0;

	rng_state = 0x0ddc0ffee0ddf00dull;
	for (int k = 0; k < rounds; k++) {
		size_t nschemas = sizeof(schemas) / sizeof(schemas[0]);
		const struct rec_schema *s = schemas[rng_next() % nschemas];
		unsigned char buf[600];
		size_t len, avail;
		unsigned char *enc;

		make_values(s, in, rng_next(), rng_next());
		enc = encode_alloc(s, in, &len);
		memcpy(buf, enc, len);
		free(enc);
		switch (k % 4) {
		case 0: /* random bytes, sometimes with a plausible length */
			for (size_t i = 0; i < len; i++)
				buf[i] = (unsigned char)rng_next();
			if (k % 8 == 0)
				put_u32(buf, (uint32_t)len);
			break;
		case 1: /* a few bit flips */
		case 2:
			for (int f = 1 + (int)(rng_next() % 3); f > 0; f--)
				buf[rng_next() % len] ^=
					(unsigned char)(1u << (rng_next() % 8));
			break;
		case 3: /* one byte replaced by a small value: bools, lengths */
			buf[rng_next() % len] = (unsigned char)(rng_next() % 4);
			break;
		}
		/* avail: exact, shorter, or with trailing bytes */
		avail = len;
		if (k % 5 == 1)
			avail = (size_t)(rng_next() % (len + 1));
		else if (k % 5 == 2)
			for (; avail < len + 16; avail++)
				buf[avail] = (unsigned char)rng_next();
		if (expect_same_verdict(s, buf, avail) >= 0)
			accepted++;
		else
			rejected++;
	}
	cr_assert(accepted > rounds / 10 && rejected > rounds / 10,
		  "both verdicts exercised: %d accepted, %d rejected", accepted,
		  rejected);
}

Test(record, decode_trusted_walks_consecutive_records)
{
	struct rec_value in[NALL], out[NALL];
	unsigned char buf[8192];
	size_t off = 0, lens[16];
	int k;

	for (k = 0; k < 16; k++) {
		make_values(&all_schema, in, (uint64_t)k * 31 + 7,
			    (uint64_t)k * 0x2545f491);
		lens[k] = rec_encode(&all_schema, in, buf + off);
		off += lens[k];
	}
	off = 0;
	for (k = 0; k < 16; k++) {
		make_values(&all_schema, in, (uint64_t)k * 31 + 7,
			    (uint64_t)k * 0x2545f491);
		cr_assert_eq(rec_decode_trusted(&all_schema, buf + off, out),
			     lens[k]);
		expect_equal_values(&all_schema, in, out);
		off += lens[k];
	}
}

static struct rec_value iv(int64_t i)
{
	struct rec_value v = { .null = false, .u.i = i };

	return v;
}

static struct rec_value fv(double f)
{
	struct rec_value v = { .null = false, .u.f = f };

	return v;
}

static struct rec_value bv(bool b)
{
	struct rec_value v = { .null = false, .u.b = b };

	return v;
}

static struct rec_value tv(const char *p, uint32_t len)
{
	struct rec_value v = { .null = false };

	v.u.s.p = p;
	v.u.s.len = len;
	return v;
}

/* Check that vals[] is strictly ascending under rec_value_cmp, pairwise. */
static void expect_ascending(enum rec_type t, const struct rec_value *vals,
			     int n)
{
	int i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			int c = rec_value_cmp(t, &vals[i], &vals[j]);

			if (i < j)
				cr_assert(c < 0, "%s: [%d] !< [%d]",
					  rec_type_name(t), i, j);
			else if (i > j)
				cr_assert(c > 0, "%s: [%d] !> [%d]",
					  rec_type_name(t), i, j);
			else
				cr_assert_eq(c, 0, "%s: [%d] != itself",
					     rec_type_name(t), i);
		}
	}
}

Test(record, value_order)
{
	const struct rec_value null = { .null = true };
	struct rec_value ints[] = { iv(INT64_MIN), iv(-2), iv(0), iv(1),
				    iv(INT64_MAX), null };
	struct rec_value floats[] = { fv(-INFINITY), fv(-1e300), fv(-1),
				      fv(0), fv(1e-310), fv(2.5), fv(INFINITY),
				      null };
	struct rec_value bools[] = { bv(false), bv(true), null };
	struct rec_value texts[] = { tv("", 0), tv("\0", 1), tv("A", 1),
				     tv("a", 1), tv("a\0", 2), tv("ab", 2),
				     tv("b", 1), tv("\x7f", 1), tv("\x80", 1),
				     tv("\xff\xff", 2), null };
	struct rec_value mz = fv(-0.0), pz = fv(0.0), n2 = null;

	expect_ascending(REC_INT, ints, 6);
	expect_ascending(REC_TIMESTAMP, ints, 6);
	expect_ascending(REC_FLOAT, floats, 8);
	expect_ascending(REC_BOOL, bools, 3);
	expect_ascending(REC_TEXT, texts, 11);
	cr_assert_eq(rec_value_cmp(REC_FLOAT, &mz, &pz), 0, "-0 must equal 0");
	cr_assert_eq(rec_value_cmp(REC_TEXT, &null, &n2), 0);
	cr_assert_eq(rec_value_cmp(REC_INT, &null, &n2), 0);
}

Test(record, text_of_every_short_length_round_trips)
{
	struct rec_field f[] = { { .name = "a", .type = REC_TEXT }, { .name = "b", .type = REC_TEXT } };
	struct rec_schema s = { 2, f };
	char src[64];
	unsigned char out[256];

	for (size_t i = 0; i < sizeof src; i++)
		src[i] = (char)('A' + i % 26);
	/* Each length the copy treats apart: 0-3, 4-7, 8-16, longer. */
	for (uint32_t n = 0; n <= 40; n++) {
		struct rec_value v[2], back[2];
		size_t len;

		v[0] = (struct rec_value){ .u.s = { src + 1, n } };
		v[1] = (struct rec_value){ .u.s = { src + 7, 40 - n } };
		memset(out, 0xee, sizeof out);
		len = rec_encode(&s, v, out);
		cr_assert_eq(len, rec_encoded_size(&s, v));
		cr_assert_eq(out[len], 0xee, "wrote past the record at %u", n);
		cr_assert_eq(rec_decode(&s, out, len, back), (long)len);
		cr_assert_eq(back[0].u.s.len, n);
		cr_assert(memcmp(back[0].u.s.p, src + 1, n) == 0, "len %u", n);
		cr_assert_eq(back[1].u.s.len, 40 - n);
		cr_assert(memcmp(back[1].u.s.p, src + 7, 40 - n) == 0,
			  "len %u", 40 - n);
	}
}

Test(record, dropping_is_encoding_those_fields_as_null)
{
	struct rec_field f[] = { { .name = "i", .type = REC_INT }, { .name = "t", .type = REC_TEXT },
				 { .name = "b", .type = REC_BOOL }, { .name = "x", .type = REC_FLOAT } };
	struct rec_schema s = { 4, f };
	struct rec_value v[4] = {
		{ .u.i = 42 }, { .u.s = { "hello", 5 } }, { .u.b = true },
		{ .u.f = 2.5 },
	};

	for (unsigned mask = 0; mask < 16; mask++) {
		bool drop[4];
		struct rec_value w[4];
		unsigned char a[128], b[128];
		size_t na, nb;

		for (int i = 0; i < 4; i++) {
			drop[i] = mask >> i & 1;
			w[i] = v[i];
			w[i].null = drop[i];
		}
		memset(a, 0x11, sizeof a);
		memset(b, 0x11, sizeof b);
		na = rec_encode_dropping(&s, v, drop, a, sizeof a);
		nb = rec_encode_within(&s, w, b, sizeof b);
		cr_assert_gt(na, 0);
		cr_assert_eq(na, nb, "mask %u", mask);
		cr_assert(memcmp(a, b, sizeof a) == 0, "mask %u", mask);
	}
}

/*
 * The frame a record travels alone in is its count and exactly the bytes
 * rec_encode_dropping() writes: one byte less room and the record does not
 * fit, so a producer that sized the frame by any other rule would either
 * fail to encode or send a frame larger than the record.
 */
Test(record, frame_alone_is_the_count_and_the_encoded_record)
{
	struct rec_value v[NALL];
	bool drop[NALL];
	unsigned char *buf;

	for (int k = 0; k < 2000; k++) {
		uint64_t seed = rng_next();
		uint64_t nulls = rng_next(), drops = rng_next();
		size_t size, frame, n;

		make_values(&all_schema, v, seed, nulls);
		for (int i = 0; i < NALL; i++)
			drop[i] = (drops >> i) & 1;
		size = rec_encoded_size_dropping(&all_schema, v, drop);
		frame = rec_frame_alone_size(&all_schema, v, drop);
		cr_assert_eq(frame, REC_FRAME_COUNT_BYTES + size);
		cr_assert_eq(rec_encoded_size_dropping(&all_schema, v, NULL),
			     rec_encoded_size(&all_schema, v));
		buf = malloc(frame);
		cr_assert_not_null(buf);
		cr_assert_eq(rec_encode_dropping(&all_schema, v, drop,
						 buf + REC_FRAME_COUNT_BYTES,
						 size - 1), 0,
			     "seed %" PRIu64 ": fits in one byte less", seed);
		n = rec_encode_dropping(&all_schema, v, drop,
					buf + REC_FRAME_COUNT_BYTES,
					frame - REC_FRAME_COUNT_BYTES);
		cr_assert_eq(n, size, "seed %" PRIu64 ": encoded %zu, sized %zu",
			     seed, n, size);
		cr_assert_eq(rec_validate(&all_schema, buf + REC_FRAME_COUNT_BYTES,
					  size), (long)size);
		free(buf);
	}
}

/*
 * A random schema of n fields over every type, for the planned encoder's
 * tests: wide ones too, so that the bitmap takes from 1 to 32 bytes.
 */
static void random_schema(struct rec_field *f, int n)
{
	static const enum rec_type types[] = {
		REC_INT, REC_FLOAT, REC_TEXT, REC_BOOL, REC_TIMESTAMP,
		REC_DECIMAL, REC_DATE,
	};

	for (int i = 0; i < n; i++) {
		f[i] = (struct rec_field){ .name = "x" };
		f[i].type = types[rng_next() % 7];
		/* Text half the time: the copy is what varies most. */
		if (rng_next() % 2 == 0)
			f[i].type = REC_TEXT;
	}
}

/*
 * Random values of s: a NULL one time in four, text of 0 to 40 bytes each
 * in a heap block of exactly its length, so that AddressSanitizer catches
 * a copy that reads past its end.  texts[i] is freed by free_texts().
 */
static void random_values(const struct rec_schema *s, struct rec_value *v,
			  char **texts)
{
	for (int i = 0; i < s->nfields; i++) {
		uint64_t r = rng_next();
		uint32_t len = (uint32_t)(r % 41);

		texts[i] = NULL;
		memset(&v[i], 0, sizeof v[i]);
		v[i].null = (r >> 8) % 4 == 0;
		switch (s->fields[i].type) {
		case REC_TEXT:
			texts[i] = malloc(len ? len : 1);
			cr_assert_not_null(texts[i]);
			for (uint32_t k = 0; k < len; k++)
				texts[i][k] = (char)rng_next();
			v[i].u.s.p = texts[i];
			v[i].u.s.len = len;
			break;
		case REC_BOOL:
			v[i].u.b = (r >> 12) & 1;
			break;
		case REC_DECIMAL:
			v[i].u.d.lo = rng_next();
			v[i].u.d.hi = (int64_t)rng_next();
			break;
		default:
			v[i].u.i = (int64_t)rng_next();
			break;
		}
	}
}

static void free_texts(char **texts, int n)
{
	for (int i = 0; i < n; i++)
		free(texts[i]);
}

/*
 * rec_plan_encode() against rec_encode_dropping(), the reference, over
 * random schemas of every type, NULLs, drop sets (none, some, all) and
 * every room from 0 to two bytes more than the record: the same length,
 * 0 for the same rooms, and on success the same bytes with nothing
 * written past the record.  The room is the end of a heap block, so a
 * write at or past it is AddressSanitizer's; rec_plan_size() is
 * rec_encoded_size_dropping().
 */
Test(record, plan_writes_what_dropping_writes)
{
	static struct rec_field f[REC_MAX_FIELDS];
	static struct rec_value v[REC_MAX_FIELDS];
	static char *texts[REC_MAX_FIELDS];
	static bool drop[REC_MAX_FIELDS];
	static struct rec_plan plan;

	for (int k = 0; k < 600; k++) {
		/* Mostly narrow; now and then up to the widest schema. */
		int n = k % 10 == 9 ? (int)(rng_next() % (REC_MAX_FIELDS + 1))
				    : (int)(rng_next() % 20);
		struct rec_schema s = { n, f };
		uint64_t how = rng_next() % 4;
		const bool *d = how == 0 ? NULL : drop;
		size_t size, cap;
		unsigned char *want, *got;

		random_schema(f, n);
		random_values(&s, v, texts);
		for (int i = 0; i < n; i++)
			drop[i] = how == 3 || (how == 2 && rng_next() % 3 == 0);
		rec_plan_init(&plan, &s, d);
		size = rec_encoded_size_dropping(&s, v, d);
		cr_assert_eq(rec_plan_size(&plan, v), size, "k %d", k);
		cap = size + 2;
		want = malloc(cap);
		got = malloc(cap);
		cr_assert(want && got);
		for (size_t room = 0; room <= cap; room++) {
			unsigned char *w = want + (cap - room);
			unsigned char *g = got + (cap - room);
			size_t nw, ng;

			memset(want, 0x5a, cap);
			memset(got, 0x5a, cap);
			nw = rec_encode_dropping(&s, v, d, w, room);
			ng = rec_plan_encode(&plan, v, g, room);
			cr_assert_eq(ng, nw, "k %d, %d fields, room %zu: %zu, "
				     "want %zu", k, n, room, ng, nw);
			cr_assert_eq(nw, room >= size ? size : 0);
			if (nw != 0)
				cr_assert(memcmp(w, g, room) == 0,
					  "k %d, %d fields, room %zu", k, n,
					  room);
			/* A wide record: every room is slow; a few will do. */
			if (size > 200 && room > 8 && room + 8 < size)
				room += rng_next() % 64;
		}
		free(want);
		free(got);
		free_texts(texts, n);
	}
}

/*
 * Text of every length from 0 to 40, and longer ones: the copy's moves
 * overlap but reach past neither the source's end (a heap block of
 * exactly its length) nor the record's (the end of out).
 */
Test(record, plan_copies_text_of_every_length_exactly)
{
	struct rec_field f[] = { { .name = "t", .type = REC_TEXT },
				 { .name = "i", .type = REC_INT } };
	struct rec_schema s = { 2, f };
	struct rec_plan plan;

	rec_plan_init(&plan, &s, NULL);
	for (uint32_t len = 0; len <= 300; len += len < 40 ? 1 : 37) {
		char *src = malloc(len ? len : 1);
		unsigned char *out = malloc(4 + 1 + 4 + len + 8);
		unsigned char want[4 + 1 + 4 + 300 + 8];
		struct rec_value v[2] = { { .u.s = { src, len } },
					  { .u.i = -7 } };
		size_t n;

		cr_assert(src && out);
		for (uint32_t k = 0; k < len; k++)
			src[k] = (char)('a' + k % 26);
		n = rec_plan_encode(&plan, v, out, 4 + 1 + 4 + len + 8);
		cr_assert_eq(n, 4 + 1 + 4 + len + 8);
		cr_assert_eq(rec_encode_within(&s, v, want, sizeof want), n);
		cr_assert(memcmp(out, want, n) == 0, "len %u", len);
		free(src);
		free(out);
	}
}
