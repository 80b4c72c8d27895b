/*
 * fuzz_encoding.c - the file provider's conversion of a file in another
 * encoding to UTF-8 (providers/file_src.c, `encoding`).
 *
 * Input: one byte choosing the encoding and the size of the reads, then
 * the file's bytes (written to a memfd the provider opens by its
 * /proc/self/fd name).  The file is read through file_src_read() in reads
 * of that size, and glibc's iconv converts the same bytes in one call: the
 * bytes handed out must be iconv's, and the read must fail exactly when
 * iconv finds a byte that is not valid or a character cut short (after
 * handing out everything before it).  Then a resume: a fresh open seeks to
 * a character boundary of the output and must read exactly the rest, and
 * a seek past the end must fail for good.
 */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../providers/file_conf.h"
#include "../providers/file_src.h"
#include "../providers/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const encodings[] = {
	"ISO-8859-1", "WINDOWS-1252", "UTF-16", "UTF-16LE", "UTF-16BE",
};

/* All of s through reads of cap bytes; *failed: the read failed. */
static char *read_all(struct prov_ctx *c, struct file_src *s, size_t cap,
		      size_t *len, int *failed)
{
	char *out = NULL, *buf = malloc(cap);
	size_t n = 0;

	if (buf == NULL)
		abort();
	*failed = 0;
	for (;;) {
		size_t got;
		char *grown;

		if (file_src_read(c, s, buf, cap, &got) != PROV_DONE) {
			*failed = 1;
			break;
		}
		if (got == 0)
			break;
		if (got > cap)
			abort();
		grown = realloc(out, n + got);
		if (grown == NULL)
			abort();
		out = grown;
		memcpy(out + n, buf, got);
		n += got;
	}
	free(buf);
	*len = n;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct file_conf fc = { .file_format = CFG_FMT_CSV };
	struct cfg_provider p = { .type = CFG_PROV_FILE, .opts = &fc };
	struct prov_ctx c = { .p = &p };
	struct file_src s;
	char name[64], *want, *in, *out, *got, *rest;
	size_t inleft, outleft, wantlen, gotlen, restlen, cap, off;
	int fd, failed, want_failed = 0;
	iconv_t cd;

	if (size < 1)
		return 0;
	fc.encoding = encodings[data[0] % 5];
	cap = 4 + (data[0] >> 3) * 3; /* room for one UTF-8 character */
	fd = memfd_create("fuzz_encoding", 0);
	if (fd < 0 || write(fd, data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	snprintf(name, sizeof name, "/proc/self/fd/%d", fd);

	/* iconv on the whole file at once: the oracle. */
	cd = iconv_open("UTF-8", fc.encoding);
	if (cd == (iconv_t)-1)
		abort();
	want = malloc(4 * size + 16);
	if (want == NULL)
		abort();
	in = (char *)data + 1;
	inleft = size - 1;
	out = want;
	outleft = 4 * size + 16;
	if (inleft > 0 && iconv(cd, &in, &inleft, &out, &outleft) == (size_t)-1) {
		if (errno != EILSEQ && errno != EINVAL)
			abort();
		want_failed = 1;
	}
	wantlen = (size_t)(out - want);
	iconv_close(cd);

	if (file_src_open(&c, &s, name) != PROV_DONE) {
		fprintf(stderr, "%s\n", c.errbuf);
		abort();
	}
	got = read_all(&c, &s, cap, &gotlen, &failed);
	file_src_close(&s);
	if (failed != want_failed || gotlen != wantlen ||
	    (gotlen && memcmp(got, want, gotlen) != 0))
		abort();

	/* A resume at a character boundary of the output reads the rest. */
	off = wantlen / 2;
	while (off > 0 && ((unsigned char)want[off] & 0xc0) == 0x80)
		off--;
	if (!want_failed) {
		if (file_src_open(&c, &s, name) != PROV_DONE)
			abort();
		if (file_src_seek(&c, &s, off) != PROV_DONE)
			abort();
		rest = read_all(&c, &s, cap, &restlen, &failed);
		file_src_close(&s);
		if (failed || restlen != wantlen - off ||
		    (restlen && memcmp(rest, want + off, restlen) != 0))
			abort();
		free(rest);
		if (file_src_open(&c, &s, name) != PROV_DONE)
			abort();
		if (file_src_seek(&c, &s, wantlen + 1) != PROV_FAIL_PERMANENT)
			abort();
		file_src_close(&s);
	}
	free(got);
	free(want);
	close(fd);
	return 0;
}
