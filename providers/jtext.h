/*
 * jtext.h - the pieces of JSON string text that every JSON reader here
 * (jfast, http_jpage, file_jscan) decodes alike: the four hex digits of a
 * \uXXXX escape and the UTF-8 bytes an escape stands for.  Whether raw
 * bytes are well-formed UTF-8 is common/convert.h's conv_utf8_seq(), the
 * same check conv_utf8_valid() makes of every text value.
 *
 * What a reader accepts around these (a lone surrogate, "\u0000") is the
 * reader's own rule and stays with it.  static inline: jfast's loop over a
 * string needs them inlined.
 */
#ifndef AGG_JTEXT_H
#define AGG_JTEXT_H

/*
 * The code unit written by the four hex digits s[0..4) (either case), or
 * -1 when one is not a hex digit.  The caller has checked that the four
 * bytes are there.
 */
static inline int jtext_hex4(const unsigned char *s)
{
	int v = 0;

	for (int k = 0; k < 4; k++) {
		int c = s[k], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (c | 0x20) - 'a' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/*
 * Code point cp (at most U+10FFFF) as UTF-8 at o, one to four bytes: past
 * them.  A lone surrogate comes out as its three bytes: whether to take
 * one is the reader's call.
 */
static inline unsigned char *jtext_put_utf8(unsigned char *o, unsigned cp)
{
	if (cp < 0x80) {
		*o++ = (unsigned char)cp;
	} else if (cp < 0x800) {
		*o++ = (unsigned char)(0xC0 | cp >> 6);
		*o++ = (unsigned char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*o++ = (unsigned char)(0xE0 | cp >> 12);
		*o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		*o++ = (unsigned char)(0x80 | (cp & 0x3F));
	} else {
		*o++ = (unsigned char)(0xF0 | cp >> 18);
		*o++ = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
		*o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		*o++ = (unsigned char)(0x80 | (cp & 0x3F));
	}
	return o;
}

#endif
