/*
 * rejects.c - REJECT payloads: their check, and the reject file (rejects.h).
 *
 * The file is JSON Lines, one object per reject: the provider's name, then
 * the payload's three strings as "position", "reason" and "raw", invalid
 * UTF-8 replaced by U+FFFD.
 */
#include "rejects.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/convert.h"
#include "outfile.h"

static bool get_u32(const unsigned char **p, size_t *left, uint32_t *v)
{
	if (*left < sizeof *v)
		return false;
	memcpy(v, *p, sizeof *v);
	*p += sizeof *v;
	*left -= sizeof *v;
	return true;
}

bool rejects_valid(const unsigned char *p, size_t len)
{
	for (int i = 0; i < 3; i++) {
		uint32_t n;

		if (!get_u32(&p, &len, &n) || n > len)
			return false;
		p += n;
		len -= n;
	}
	return len == 0;
}

/* Append s as a JSON string, invalid UTF-8 replaced by U+FFFD. */
static void json_string(FILE *f, const unsigned char *s, size_t len)
{
	putc('"', f);
	for (size_t i = 0; i < len;) {
		unsigned char ch = s[i];
		size_t n = ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3
			 : (ch >> 3) == 30 ? 4 : 0;
		/* Strictly: overlong forms and surrogates are invalid too. */
		bool ok = n > 0 && i + n <= len &&
			  (n == 1 || conv_utf8_valid((const char *)s + i, n));

		if (!ok) {
			fputs("\xEF\xBF\xBD", f);
			i++;
			continue;
		}
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fwrite(s + i, 1, n, f);
		i += n;
	}
	putc('"', f);
}

int rejects_write(const struct cfg *cfg, const struct merge *m, char *err,
		  size_t errlen)
{
	const char *path = cfg->reject_file;
	struct outfile of;
	FILE *f;
	int fd;

	if (path == NULL)
		return 0;
	if (outfile_open(&of, path, "reject file", 0, err, errlen) < 0)
		return -1;
	/* stdio on a duplicate: fclose() leaves of.fd to outfile_commit(). */
	fd = dup(of.fd);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "cannot write reject file %s: %s", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		outfile_abort(&of);
		return -1;
	}
	for (int pi = 0; pi < cfg->nproviders; pi++) {
		size_t left;
		const unsigned char *q = merge_rejects(m, pi, &left);

		while (left > 0) {
			uint32_t total, n;
			const char *keys[3] = { "position", "reason", "raw" };

			memcpy(&total, q, sizeof total);
			q += sizeof total;
			left -= sizeof total + total;
			fputs("{\"provider\":", f);
			json_string(f, (const unsigned char *)cfg_provider_label(
					    &cfg->providers[pi]),
				    strlen(cfg_provider_label(&cfg->providers[pi])));
			for (int k = 0; k < 3; k++) {
				memcpy(&n, q, sizeof n);
				q += sizeof n;
				fprintf(f, ",\"%s\":", keys[k]);
				json_string(f, q, n);
				q += n;
			}
			fputs("}\n", f);
		}
	}
	if (fflush(f) != 0 || ferror(f)) {
		snprintf(err, errlen, "cannot write reject file %s: %s", path,
			 strerror(errno));
		fclose(f);
		outfile_abort(&of);
		return -1;
	}
	fclose(f);
	return outfile_commit(&of, err, errlen);
}
