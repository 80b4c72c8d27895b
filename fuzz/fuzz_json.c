/*
 * fuzz_json.c - record extraction from HTTP response bodies: the
 * `records` and `map` JSON pointers (providers/jsonptr.c) and the http
 * provider's own body parsing and record extraction (http_records_parse,
 * http_records_emit: providers/http_records.c) and its cursor and Link
 * pagination (http_page_next: providers/http_page.c).  providers/http.c
 * is included, so its setup (prepare) runs exactly as in the program; the
 * runtime is replaced by the small stubs below, which encode each record
 * as runtime.c would and check what reaches the ring.
 *
 * The error-body excerpt (http_body_excerpt) is made of every body too, and
 * must never show the secrets the settings plant in headers, user
 * information or the query.
 *
 * Input: one byte choosing the provider settings, a line holding an extra
 * JSON pointer (compiled and resolved against the body, as `records` and
 * `map` are), a line holding a Link header value, then the body.
 */
#include "../providers/http.c"

#include <math.h>
#include <stdarg.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* --- runtime stubs ----------------------------------------------------- */

static unsigned char rec_buf[1 << 16];

int prov_emit(struct prov_ctx *c, const struct rec_value *v)
{
	const struct rec_schema *s = &c->cfg->schema;
	struct rec_value back[16];
	size_t n = rec_encoded_size(s, v);
	unsigned char *out = n <= sizeof rec_buf ? rec_buf : malloc(n);

	if (out == NULL)
		abort();
	if (rec_encode(s, v, out) != n || rec_decode(s, out, n, back) != (long)n)
		abort();
	for (int i = 0; i < s->nfields; i++) {
		if (back[i].null)
			continue;
		/* record.h: text in the ring is UTF-8 without NUL bytes. */
		if (s->fields[i].type == REC_TEXT &&
		    !conv_utf8_valid(back[i].u.s.p, back[i].u.s.len))
			abort();
		if (s->fields[i].type == REC_FLOAT && !isfinite(back[i].u.f))
			abort();
	}
	if (out != rec_buf)
		free(out);
	c->records++;
	return 0;
}

int prov_reject(struct prov_ctx *c, const char *position, const char *reason,
		const char *raw, size_t rawlen)
{
	volatile size_t sum = strlen(position) + strlen(reason);

	/* Read every byte, as the reject frame's copy does. */
	for (size_t i = 0; raw != NULL && i < rawlen; i++)
		sum += (unsigned char)raw[i];
	(void)sum;
	c->rejects++;
	return 0;
}

int prov_checkpoint(struct prov_ctx *c, const void *token, size_t len)
{
	(void)c;
	(void)token;
	return len <= PROV_TOKEN_MAX ? 0 : -1;
}

void prov_heartbeat(struct prov_ctx *c)
{
	(void)c;
}

/* The pages read: DONE has no ring to go to here. */
int prov_done(struct prov_ctx *c)
{
	c->done_sent = true;
	return 0;
}

enum prov_status prov_fail(struct prov_ctx *c, enum prov_status status,
			   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->errbuf, sizeof c->errbuf, fmt, ap);
	va_end(ap);
	c->fail_status = status;
	return status;
}

enum prov_status prov_failure(struct prov_ctx *c)
{
	return c->errbuf[0] ? c->fail_status : PROV_FAIL_RETRY;
}

/* --- the settings tried ------------------------------------------------ */

#define FIELDS "[aggregate]\noutput = /nonexistent/out.jsonl\n" \
	"fields = id:int, name:text, price:float, ok:bool, at:timestamp, " \
	"tags:text, deep:text\n[provider p]\ntype = http\n"

static const char *const variants[] = {
	FIELDS "url = http://127.0.0.1:1/items?page={page}&key=qry-secret\n"
	"pagination = page\nrecords = /items\n"
	"map = tags=/customer/tags, deep=/a~1b/m~0n/0\n"
	"header = Authorization: Bearer hdr-secret\n",
	FIELDS "url = http://127.0.0.1:1/all\nrecords =\n"
	"map = name=/name/first, deep=/x/-\n",
	FIELDS "url = http://127.0.0.1:1/nd\nresponse = ndjson\n"
	"map = price=/p, at=/t/0/1\n",
	FIELDS "url = http://127.0.0.1:1/c\npagination = cursor\n"
	"cursor_path = /meta/next\ncursor_param = c\nrecords = /data\n",
	FIELDS "url = http://u:usr-secret@127.0.0.1:1/l?page=1\n"
	"pagination = link\nrecords = /items\n",
};
#define NVARIANTS (sizeof variants / sizeof variants[0])

static struct cfg cfgs[NVARIANTS];
static struct prov_ctx ctxs[NVARIANTS];
static struct http https[NVARIANTS];
static bool ready;

static void setup(void)
{
	char err[CFG_ERR_MAX];

	log_init(-2, false);
	for (size_t k = 0; k < NVARIANTS; k++) {
		struct http *h = &https[k];

		if (cfg_load_string("fuzz.conf", variants[k], &cfgs[k], err,
				    sizeof err) < 0) {
			fprintf(stderr, "fuzz_json: variant %zu: %s\n", k, err);
			abort();
		}
		ctxs[k].cfg = &cfgs[k];
		ctxs[k].p = &cfgs[k].providers[0];
		h->c = &ctxs[k];
		h->p = ctxs[k].p;
		h->pagination = http_conf(h->p)->pagination ? http_conf(h->p)->pagination
						  : CFG_PAGE_NONE;
		if (prepare(h) != PROV_DONE) {
			fprintf(stderr, "fuzz_json: variant %zu: %s\n", k,
				ctxs[k].errbuf);
			abort();
		}
	}
	ready = true;
}

/* Cut the next line off *p (not NUL-terminated): a malloc'd string. */
static char *take_line(const uint8_t **p, size_t *left)
{
	const uint8_t *nl = memchr(*p, '\n', *left);
	size_t n = nl ? (size_t)(nl - *p) : *left;
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, *p, n);
	s[n] = '\0';
	*p += nl ? n + 1 : n;
	*left -= nl ? n + 1 : n;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http *h;
	struct job j;
	struct jsonptr jp;
	char why[HTTP_WHY_MAX], err[256], pub[HTTP_URL_PUB_MAX];
	char excerpt[HTTP_ERR_BODY_MAX + 1];
	char *ptr, *link;
	int rc;

	if (!ready)
		setup();
	if (size < 1 || size > (1 << 20))
		return 0;
	h = &https[data[0] % NVARIANTS];
	data++;
	size--;
	ptr = take_line(&data, &size);
	link = take_line(&data, &size);

	memset(&j, 0, sizeof j);
	j.h = h;
	j.page = 1;
	j.target = strdup(http_conf(h->p)->urls[0]);
	if (j.target == NULL)
		abort();
	/* The body as curl hands it over, through the same callback. */
	if (size > 0 && http_fetch_on_body((char *)data, 1, size, &j) != size)
		goto out;
	if (*link && buf_add(&j.link, link, strlen(link)) < 0)
		abort();

	/* An error excerpt never shows a secret the request carried. */
	http_body_excerpt(&j.body, h->p, j.target, excerpt, sizeof excerpt);
	if (h == &https[0] && (strstr(excerpt, "hdr-secret") ||
			       strstr(excerpt, "qry-secret")))
		abort();
	if (h == &https[4] && (strstr(excerpt, "usr-secret") ||
			       /* base64 of "u:usr-secret" */
			       strstr(excerpt, "dTp1c3Itc2VjcmV0")))
		abort();

	rc = http_records_parse(h, &j, why, sizeof why);
	if (rc == 0) {
		http_url_public(j.target, pub, sizeof pub);
		(void)http_records_emit(h, &j, pub);
		(void)http_page_next(h, &j, NULL, why, sizeof why);
		free(j.next);
		j.next = NULL;
	}
	/* Any pointer, against the whole document. */
	memset(&jp, 0, sizeof jp);
	if (jsonptr_compile(&jp, ptr, err, sizeof err) == 0 && j.doc != NULL)
		(void)jsonptr_resolve(&jp, j.doc);
	jsonptr_free(&jp);
out:
	json_decref(j.doc);
	buf_free(&j.body);
	buf_free(&j.link);
	buf_free(&j.spans);
	free(j.target);
	free(link);
	free(ptr);
	return 0;
}
