/*
 * test_jtext.c - providers/jtext.h, the JSON string pieces the readers
 * share: a \uXXXX escape's four hex digits against strtol() on every code
 * unit and every byte at every position, and the UTF-8 an escape stands
 * for against iconv() on every code point.
 */
#include <criterion/criterion.h>

#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../providers/jtext.h"

Test(jtext, hex4_every_code_unit)
{
	static const char *const fmt[] = { "%04x", "%04X" };
	char s[8];

	for (int v = 0; v <= 0xffff; v++) {
		for (size_t f = 0; f < 2; f++) {
			snprintf(s, sizeof s, fmt[f], v);
			cr_assert_eq(jtext_hex4((const unsigned char *)s), v,
				     "%s", s);
		}
		/* Mixed case. */
		snprintf(s, sizeof s, "%02x%02X", v >> 8, v & 0xff);
		cr_assert_eq(jtext_hex4((const unsigned char *)s), v, "%s", s);
	}
}

/* Any byte at any of the four places: a digit's value in place, or -1. */
Test(jtext, hex4_every_byte_everywhere)
{
	static const char digits[] = "0123456789abcdefABCDEF";

	for (int k = 0; k < 4; k++) {
		for (int b = 0; b < 256; b++) {
			unsigned char s[5] = "0000";
			int want = -1;

			s[k] = (unsigned char)b;
			if (b != 0 && memchr(digits, b, sizeof digits - 1)) {
				char one[2] = { (char)b, '\0' };

				want = (int)strtol(one, NULL, 16)
				       << (4 * (3 - k));
			}
			cr_assert_eq(jtext_hex4(s), want, "byte 0x%02x at %d",
				     b, k);
		}
	}
}

/*
 * Every code point but the surrogates through jtext_put_utf8(), one
 * after the other, is what iconv() makes of them as UTF-32.
 */
Test(jtext, put_utf8_as_iconv)
{
	size_t ncp = 0x110000 - 0x800; /* the surrogates are 0x800 */
	uint32_t *in = malloc(ncp * sizeof *in);
	unsigned char *want = malloc(ncp * 4), *got = malloc(ncp * 4);
	unsigned char *o = got;
	char *ip = (char *)in, *op = (char *)want;
	size_t il = ncp * sizeof *in, ol = ncp * 4, n = 0;
	iconv_t cd = iconv_open("UTF-8", "UTF-32LE");

	cr_assert(in && want && got);
	cr_assert(cd != (iconv_t)-1);
	for (uint32_t cp = 0; cp < 0x110000; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		/* UTF-32LE whatever the machine's order. */
		memcpy(&in[n], (unsigned char[4]){ (unsigned char)cp,
						   (unsigned char)(cp >> 8),
						   (unsigned char)(cp >> 16),
						   0 }, 4);
		n++;
		o = jtext_put_utf8(o, cp);
	}
	il = n * sizeof *in;
	cr_assert_neq(iconv(cd, &ip, &il, &op, &ol), (size_t)-1);
	cr_assert_eq(il, 0);
	cr_assert_eq((size_t)(o - got), (size_t)(op - (char *)want));
	cr_assert_eq(memcmp(got, want, (size_t)(o - got)), 0);
	iconv_close(cd);
	free(in);
	free(want);
	free(got);
}

/* A lone surrogate is written as its three bytes (a reader may take one). */
Test(jtext, put_utf8_surrogates)
{
	static const struct {
		unsigned cp;
		unsigned char b[3];
	} c[] = {
		{ 0xd800, { 0xed, 0xa0, 0x80 } },
		{ 0xdbff, { 0xed, 0xaf, 0xbf } },
		{ 0xdc00, { 0xed, 0xb0, 0x80 } },
		{ 0xdfff, { 0xed, 0xbf, 0xbf } },
	};

	for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
		unsigned char o[4];

		cr_assert_eq(jtext_put_utf8(o, c[k].cp) - o, 3);
		cr_assert_eq(memcmp(o, c[k].b, 3), 0, "U+%04X", c[k].cp);
	}
}
