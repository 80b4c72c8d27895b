/*
 * test_buf.c - common/buf.c, the one growable byte buffer.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"

Test(buf, empty_buffer_is_an_empty_string)
{
	struct buf b = {0};

	cr_assert_str_eq(buf_str(&b), "");
	cr_assert_null(buf_take(&b));
	buf_free(&b);
}

Test(buf, grows_past_many_doublings_keeping_every_byte)
{
	struct buf b = {0};
	unsigned char chunk[37];

	for (size_t i = 0; i < sizeof chunk; i++)
		chunk[i] = (unsigned char)i; /* includes a NUL byte */
	for (int k = 0; k < 1000; k++)
		cr_assert_eq(buf_add(&b, chunk, sizeof chunk), 0);
	cr_assert_eq(b.len, 1000 * sizeof chunk);
	cr_assert_geq(b.cap, b.len + 1);
	for (size_t i = 0; i < b.len; i++)
		cr_assert_eq(b.p[i], (unsigned char)(i % sizeof chunk));
	cr_assert_eq(b.p[b.len], 0, "a NUL follows the contents");
	buf_free(&b);
	cr_assert_null(b.p);
	cr_assert_eq(b.len, 0);
}

Test(buf, printf_appends_text_of_any_length)
{
	struct buf b = {0};
	char big[300];

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	cr_assert_eq(buf_addstr(&b, "a="), 0);
	cr_assert_eq(buf_printf(&b, "%d;%s;", 42, big), 0);
	cr_assert_eq(buf_printf(&b, "%s", ""), 0);
	cr_assert_eq(b.len, 2 + 3 + sizeof big - 1 + 1);
	cr_assert_eq(strncmp(buf_str(&b), "a=42;xxx", 8), 0);
	cr_assert_eq(buf_str(&b)[b.len - 1], ';');
	buf_free(&b);
}

Test(buf, clear_keeps_memory_and_take_hands_it_over)
{
	struct buf b = {0};
	unsigned char *p;
	size_t cap;

	cr_assert_eq(buf_addstr(&b, "hello"), 0);
	cap = b.cap;
	buf_clear(&b);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.cap, cap);
	cr_assert_str_eq(buf_str(&b), "");
	cr_assert_eq(buf_addstr(&b, "bye"), 0);
	p = buf_take(&b);
	cr_assert_str_eq((char *)p, "bye");
	cr_assert_null(b.p);
	cr_assert_eq(b.cap, 0);
	free(p);
}

Test(buf, reserve_refuses_a_size_that_would_overflow)
{
	struct buf b = {0};

	cr_assert_eq(buf_addstr(&b, "keep"), 0);
	cr_assert_eq(buf_reserve(&b, SIZE_MAX - 2), -1);
	cr_assert_eq(buf_add(&b, "x", SIZE_MAX), -1);
	cr_assert_str_eq(buf_str(&b), "keep", "a failure leaves it as it was");
	cr_assert_eq(buf_reserve(&b, 100), 0);
	cr_assert_geq(b.cap, b.len + 101);
	buf_free(&b);
}
