/*
 * http_redact.c - what of a request may be shown (http_redact.h).
 *
 * Secrets are looked for in a window of the body longer than the excerpt,
 * so that one cut by the excerpt's end cannot show its first bytes; when
 * the body is longer than the window, the window's last bytes (which may
 * hold the start of a secret it cut) are dropped after the redaction.
 */
#include "http_redact.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_conf.h"
#include "http_state.h"

void http_url_public(const char *url, char *out, size_t outlen)
{
	const char *rest = url, *sep = strstr(url, "://");
	size_t o = 0, auth;
	const char *at;

	if (outlen == 0)
		return;
	if (sep != NULL && (size_t)(sep - url) < strcspn(url, "/?#")) {
		for (const char *s = url; s < sep + 3 && o + 1 < outlen; s++)
			out[o++] = *s;
		rest = sep + 3;
		auth = strcspn(rest, "/?#");
		at = memchr(rest, '@', auth);
		if (at != NULL) {
			/* user:password@ may come after the last '@' only. */
			while ((at = memchr(rest, '@', auth)) != NULL) {
				auth -= (size_t)(at + 1 - rest);
				rest = at + 1;
			}
		}
	}
	for (; *rest && *rest != '?' && *rest != '#' && o + 1 < outlen; rest++)
		out[o++] = *rest;
	out[o] = '\0';
}

/* Secrets shorter than this are not looked for in error bodies. */
#define REDACT_MIN 4

/* Replace every occurrence of sec[0..n) in the string text with "***". */
static void redact(char *text, const char *sec, size_t n)
{
	char *at = text;

	if (n < REDACT_MIN)
		return;
	while ((at = memmem(at, strlen(at), sec, n)) != NULL) {
		memcpy(at, "***", 3);
		memmove(at + 3, at + n, strlen(at + n) + 1);
		at += 3;
	}
}

/*
 * The credentials of URL user information u[0..n) ("user:pass",
 * percent-encoded) as curl sends them: base64 of the decoded text, into
 * out (NUL-terminated; cut short if it does not fit).
 */
static void basic_credentials(const char *u, size_t n, char *out,
			      size_t outlen)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char plain[512];
	size_t k = 0, o = 0;

	for (size_t i = 0; i < n && k < sizeof plain; i++) {
		unsigned hi, lo;

		if (u[i] == '%' && i + 2 < n &&
		    sscanf(u + i + 1, "%1x%1x", &hi, &lo) == 2) {
			plain[k++] = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else {
			plain[k++] = (unsigned char)u[i];
		}
	}
	for (size_t i = 0; i < k && o + 5 <= outlen; i += 3) {
		unsigned v = (unsigned)plain[i] << 16;

		v |= i + 1 < k ? (unsigned)plain[i + 1] << 8 : 0;
		v |= i + 2 < k ? plain[i + 2] : 0;
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < k ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < k ? b64[v & 63] : '=';
	}
	out[o] = '\0';
}

/*
 * Blank out of text every secret the request carried, in case the server
 * echoed it in an error body: each header value (whole, and its last word:
 * the TOKEN of "Bearer TOKEN"), the URL's user information (as written,
 * and as the Basic credentials curl sends for it) and its query values.
 * Returns the length of the longest secret looked for.
 */
static size_t redact_secrets(char *text, const struct cfg_provider *p,
			     const char *target)
{
	const char *sep = target ? strstr(target, "://") : NULL;
	size_t longest = 0;

	for (int i = 0; i < http_conf(p)->nheaders; i++) {
		const char *v = strchr(http_conf(p)->headers[i], ':'), *w;
		size_t n;

		if (v == NULL)
			continue;
		for (v++; *v == ' ' || *v == '\t'; v++)
			;
		n = strlen(v);
		while (n > 0 && http_is_ws(v[n - 1]))
			n--;
		redact(text, v, n);
		longest = n > longest ? n : longest;
		w = memrchr(v, ' ', n);
		if (w != NULL)
			redact(text, w + 1, n - (size_t)(w + 1 - v));
	}
	if (sep != NULL) {
		const char *auth = sep + 3;
		size_t alen = strcspn(auth, "/?#");
		const char *at = memrchr(auth, '@', alen);
		const char *q = strchr(auth, '?');

		if (at != NULL) {
			const char *colon = memchr(auth, ':', (size_t)(at - auth));
			char basic[700];

			basic_credentials(auth, (size_t)(at - auth), basic,
					  sizeof basic);
			redact(text, basic, strlen(basic));
			redact(text, auth, (size_t)(at - auth));
			if (strlen(basic) > longest)
				longest = strlen(basic);
			if ((size_t)(at - auth) > longest)
				longest = (size_t)(at - auth);
			if (colon != NULL)
				redact(text, colon + 1, (size_t)(at - colon - 1));
		}
		while (q != NULL && *q && *q != '#') {
			const char *v = q + 1, *end = v + strcspn(v, "&#");
			const char *eq = memchr(v, '=', (size_t)(end - v));

			if (eq != NULL) {
				redact(text, eq + 1, (size_t)(end - eq - 1));
				if ((size_t)(end - eq - 1) > longest)
					longest = (size_t)(end - eq - 1);
			}
			q = *end == '&' ? end : NULL;
		}
	}
	return longest;
}

void http_body_excerpt(const struct buf *b, const struct cfg_provider *p,
		       const char *target, char *out, size_t outlen)
{
	size_t window = HTTP_ERR_BODY_MAX + PROV_TOKEN_MAX, n, o = 0, longest;
	char *text;

	out[0] = '\0';
	if (b->len == 0)
		return;
	for (int i = 0; i < http_conf(p)->nheaders; i++)
		window += strlen(http_conf(p)->headers[i]);
	if (target != NULL)
		window += strlen(target);
	n = b->len < window ? b->len : window;
	text = malloc(n + 1);
	if (text == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)b->p[i];

		text[i] = ch < 0x20 || ch == 0x7F ? ' ' : (char)ch;
	}
	text[n] = '\0';
	longest = redact_secrets(text, p, target);
	if (n < b->len) {
		size_t left = strlen(text);

		text[left > longest ? left - longest : 0] = '\0';
	}
	n = strlen(text);
	if (n > HTTP_ERR_BODY_MAX) {
		n = HTTP_ERR_BODY_MAX;
		while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n && o + 1 < outlen; i++)
		out[o++] = text[i];
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	free(text);
}
