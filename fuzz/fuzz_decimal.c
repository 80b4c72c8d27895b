/*
 * fuzz_decimal.c - decimal(p,s) parsing and writing (common/decimal.c).
 *
 * The first input byte picks the precision (1..38) and the second the
 * scale (0..p); the rest is the text.  Besides memory errors, checks what
 * decimal.h promises: a value that parses fits its precision, is written
 * in fewer than DEC_STR_MAX bytes with exactly `scale` fraction digits,
 * and reads back as itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/decimal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[DEC_STR_MAX];
	const char *dot;
	__int128 v, back;
	int p, s;
	size_t n;

	if (size < 2)
		return 0;
	p = 1 + data[0] % DEC_MAX_PRECISION;
	s = data[1] % (p + 1);
	if (dec_parse((const char *)data + 2, size - 2, p, s, &v) != DEC_OK)
		return 0;
	if (!dec_fits(v, p))
		abort();
	n = dec_format(v, s, out);
	if (n == 0 || n >= DEC_STR_MAX || strlen(out) != n)
		abort();
	dot = strchr(out, '.');
	if (s == 0 ? dot != NULL : (dot == NULL || strlen(dot + 1) != (size_t)s))
		abort();
	if (dec_parse(out, n, p, s, &back) != DEC_OK || back != v)
		abort();
	return 0;
}
