/*
 * jsonptr.c - RFC 6901 JSON pointers over jansson values (see jsonptr.h).
 *
 * Compilation unescapes every reference token into one buffer, so that
 * resolution is a loop of json_object_getn / json_array_get calls with no
 * allocation and no parsing.
 *
 * Invariant: after jsonptr_compile succeeds, seg[i].key points into buf and
 * seg[i].index is >= 0 exactly when the token is a canonical array index.
 */
#include "jsonptr.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The token as an array index, or -1 (leading zeros, signs, "-", overflow). */
static long token_index(const char *s, size_t len)
{
	long v = 0;

	if (len == 0 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (LONG_MAX - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int jsonptr_compile(struct jsonptr *jp, const char *ptr, char *err,
		    size_t errlen)
{
	size_t len = strlen(ptr), n = 0;
	char *o;

	memset(jp, 0, sizeof *jp);
	if (len == 0)
		return 0;
	if (ptr[0] != '/') {
		snprintf(err, errlen, "json pointer \"%.64s\" does not start "
			 "with '/'", ptr);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if (ptr[i] == '/')
			n++;
	jp->seg = calloc(n, sizeof *jp->seg);
	jp->buf = malloc(len + 1);
	if (jp->seg == NULL || jp->buf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	o = jp->buf;
	for (size_t i = 0; i < len;) {
		struct jsonptr_seg *sg = &jp->seg[jp->nseg++];

		i++; /* the '/' */
		sg->key = o;
		while (i < len && ptr[i] != '/') {
			if (ptr[i] == '~') {
				if (i + 1 < len && ptr[i + 1] == '0')
					*o++ = '~';
				else if (i + 1 < len && ptr[i + 1] == '1')
					*o++ = '/';
				else {
					snprintf(err, errlen, "json pointer "
						 "\"%.64s\": '~' must be "
						 "followed by 0 or 1", ptr);
					return -1;
				}
				i += 2;
			} else {
				*o++ = ptr[i++];
			}
		}
		sg->len = (size_t)(o - sg->key);
		sg->index = token_index(sg->key, sg->len);
	}
	*o = '\0';
	return 0;
}

json_t *jsonptr_resolve(const struct jsonptr *jp, json_t *root)
{
	json_t *v = root;

	for (size_t i = 0; i < jp->nseg && v != NULL; i++) {
		const struct jsonptr_seg *sg = &jp->seg[i];

		if (json_is_object(v))
			v = json_object_getn(v, sg->key, sg->len);
		else if (json_is_array(v) && sg->index >= 0)
			v = json_array_get(v, (size_t)sg->index);
		else
			v = NULL;
	}
	return v;
}

void jsonptr_free(struct jsonptr *jp)
{
	free(jp->seg);
	free(jp->buf);
	memset(jp, 0, sizeof *jp);
}

json_t *jsonptr_get(json_t *root, const char *ptr)
{
	struct jsonptr jp;
	char err[128];
	json_t *v = NULL;

	if (jsonptr_compile(&jp, ptr, err, sizeof err) == 0)
		v = jsonptr_resolve(&jp, root);
	jsonptr_free(&jp);
	return v;
}
