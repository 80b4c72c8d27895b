/*
 * csvfast.c - the CSV reader's typed fast path (see csvfast.h).
 *
 * Why it exists: in a profile of a large CSV group-by the provider spent
 * its time splitting fields into an array, then walking that array once
 * per field through conv_text()'s dispatch, blank trimming and parsers.
 * Here each field is read once, where it lies, by a loop that knows the
 * column's type.
 *
 * What it accepts without conv_text() (everything else in a field goes to
 * conv_text() on the field's bytes, as the general path does):
 *   int    -?[0-9]{1,18}: parse_int's own no-overflow case;
 *   float  -?[0-9]*(\.[0-9]*)? with a digit, under 512 bytes, whose value
 *          conv_float_exact() gets exactly: parse_float's own fast path;
 *   text   bytes that are neither NUL nor above 0x7f (no UTF-8 to check).
 * The field ends right after those bytes at a delimiter, or at the record's
 * LF (CR LF), or it is not accepted.  A null_text that reads as a number
 * sends every number to the general test (the NULL check comes first).
 */
#include "csvfast.h"

#include <stdlib.h>
#include <string.h>

#include "convert.h"

/* one_field()'s answer when the record is not for the fast path. */
#define DECLINE SIZE_MAX

/* parse_float copies at most this many bytes; longer floats are rejects. */
#define FLOAT_TEXT_MAX 512

#define LO UINT64_C(0x0101010101010101)
#define HI UINT64_C(0x8080808080808080)

/* Non-zero where w has a zero byte; exact at the lowest one. */
static inline uint64_t zero_bytes(uint64_t w)
{
	return (w - LO) & ~w & HI;
}

void csvfast_free(struct csvfast *f)
{
	free(f->cols);
	free(f->always_null);
	f->cols = NULL;
	f->always_null = NULL;
	f->on = false;
}

static bool looks_numeric(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (strchr("+-.0123456789eE", *s) == NULL)
			return false;
	return true;
}

int csvfast_plan(struct csvfast *f, const struct csvfast_options *o)
{
	const struct rec_schema *s = o->schema;
	struct csvfast_col *cols;
	int *nul;

	csvfast_free(f);
	f->tries = f->declines = 0;
	if (o->ncols == 0)
		return 0;
	cols = malloc(o->ncols * sizeof *cols);
	nul = malloc(((size_t)s->nfields + 1) * sizeof *nul);
	if (cols == NULL || nul == NULL) {
		free(cols);
		free(nul);
		return -1;
	}
	f->cols = cols;
	f->always_null = nul;
	f->nalways_null = 0;
	for (size_t c = 0; c < o->ncols; c++)
		cols[c].field = -1;
	for (int i = 0; i < s->nfields; i++) {
		int c = o->col[i];

		if (c < 0) {
			nul[f->nalways_null++] = i;
			continue;
		}
		if ((size_t)c >= o->ncols || cols[c].field >= 0)
			return 0; /* a column feeding two fields: not taken */
		cols[c].field = i;
		cols[c].type = s->fields[i].type;
	}
	f->delim = (unsigned char)o->delimiter;
	f->quote = (unsigned char)o->quote;
	f->has_quote = o->quote != '\0';
	f->null_text = o->null_text;
	f->null_len = o->null_text ? strlen(o->null_text) : 0;
	f->numeric_null = o->null_text && looks_numeric(o->null_text);
	f->exact_cols = o->exact_cols;
	f->ncols = o->ncols;
	f->max_record = o->max_record;
	f->max_fields = o->max_fields;
	f->on = true;
	return 0;
}

/*
 * The end of the unquoted field at in[i]: the first delimiter, quote or LF
 * at or after i, or avail.  Sets *odd when a byte before it is NUL or
 * above 0x7f (then the text needs its UTF-8 check).
 */
static inline size_t field_end(const struct csvfast *f,
			       const unsigned char *in, size_t i,
			       size_t avail, bool *odd)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t wd = LO * f->delim;
	const uint64_t wq = LO * (f->has_quote ? f->quote : '\n');
	const uint64_t wlf = LO * '\n';

	while (avail - i >= 8) {
		uint64_t w, hit, o;

		memcpy(&w, in + i, 8);
		hit = zero_bytes(w ^ wd) | zero_bytes(w ^ wq) |
		      zero_bytes(w ^ wlf);
		o = (w & HI) | zero_bytes(w);
		if (hit != 0) {
			unsigned k = (unsigned)__builtin_ctzll(hit) / 8;

			/* Only the bytes before the stop count. */
			if (k != 0 && (o & ((UINT64_C(1) << (8 * k)) - 1)))
				*odd = true;
			return i + k;
		}
		if (o != 0)
			*odd = true;
		i += 8;
	}
#endif
	for (; i < avail; i++) {
		unsigned char ch = in[i];

		if (ch == f->delim || ch == '\n' ||
		    (f->has_quote && ch == f->quote))
			return i;
		if (ch == 0 || ch >= 0x80)
			*odd = true;
	}
	return avail;
}

/*
 * Where a field whose bytes end at in[k] stops: k if in[k] is the
 * delimiter or the LF, k when in[k..k+1] is CR LF (the CR is not the
 * field's), else 0 (nothing a field may end with; k > 0 always).
 */
static inline bool field_stops(const struct csvfast *f,
			       const unsigned char *in, size_t k, size_t avail)
{
	if (k >= avail)
		return false;
	if (in[k] == f->delim || in[k] == '\n')
		return true;
	return in[k] == '\r' && k + 1 < avail && in[k + 1] == '\n';
}

/* The index of the delimiter or LF after a field that stopped at k. */
static inline size_t stop_at(const unsigned char *in, size_t k)
{
	return in[k] == '\r' ? k + 1 : k;
}

/* -?[0-9]{1,18} at in[i], ending where a field may: the end, or 0. */
static inline size_t fast_int(const struct csvfast *f,
			      const unsigned char *in, size_t i,
			      size_t avail, int64_t *v)
{
	size_t k = i, d0;
	uint64_t acc = 0;
	bool neg = false;

	if (k < avail && in[k] == '-') {
		neg = true;
		k++;
	}
	d0 = k;
	while (k < avail && k - d0 < 19) {
		unsigned d = (unsigned)in[k] - '0';

		if (d > 9)
			break;
		acc = acc * 10 + d;
		k++;
	}
	if (k == d0 || k - d0 > 18 || !field_stops(f, in, k, avail))
		return 0;
	*v = neg ? -(int64_t)acc : (int64_t)acc;
	return k;
}

/* A short decimal float at in[i] that one IEEE operation reads: end, or 0. */
static inline size_t fast_float(const struct csvfast *f,
				const unsigned char *in, size_t i,
				size_t avail, double *v)
{
	size_t k = i, mant = 0;
	uint64_t m = 0;
	int digits = 0, scale = 0;
	bool neg = false;
	double d;

	if (k < avail && in[k] == '-') {
		neg = true;
		k++;
	}
	/* The same digit rules as parse_float, stopping where it goes inexact. */
	for (; k < avail && in[k] >= '0' && in[k] <= '9'; k++, mant++) {
		if (digits >= 19)
			return 0;
		m = m * 10 + (uint64_t)(in[k] - '0');
		digits += m != 0;
	}
	if (k < avail && in[k] == '.') {
		for (k++; k < avail && in[k] >= '0' && in[k] <= '9';
		     k++, mant++) {
			if (digits >= 19)
				return 0;
			m = m * 10 + (uint64_t)(in[k] - '0');
			digits += m != 0;
			scale++;
		}
	}
	if (mant == 0 || k - i >= FLOAT_TEXT_MAX ||
	    !field_stops(f, in, k, avail) || !conv_float_exact(m, -scale, &d))
		return 0;
	*v = neg ? -d : d;
	return k;
}

/* The field's bytes are null_text (or empty, without one). */
static inline bool is_null(const struct csvfast *f, const unsigned char *p,
			   size_t len)
{
	if (f->null_text == NULL)
		return len == 0;
	return len == f->null_len && memcmp(p, f->null_text, len) == 0;
}

/*
 * One field at in[i] of column col (NULL: a column past the mapped ones).
 * Returns the index of the delimiter or LF that ends it, or DECLINE.
 */
static inline size_t one_field(const struct csvfast *f,
			       const struct csvfast_col *col,
			       const unsigned char *in, size_t i, size_t avail,
			       struct rec_value *v)
{
	struct rec_value *x;
	size_t j, len;
	bool odd = false;
	char why[CONV_REASON_MAX];

	if (i >= avail || (f->has_quote && in[i] == f->quote))
		return DECLINE;
	if (col == NULL || col->field < 0) {
		j = field_end(f, in, i, avail, &odd);
		return j < avail && in[j] != f->quote ? j : DECLINE;
	}
	x = &v[col->field];
	if (!f->numeric_null) {
		if (col->type == REC_INT &&
		    (j = fast_int(f, in, i, avail, &x->u.i)) != 0) {
			x->null = false;
			return stop_at(in, j);
		}
		if (col->type == REC_FLOAT &&
		    (j = fast_float(f, in, i, avail, &x->u.f)) != 0) {
			x->null = false;
			return stop_at(in, j);
		}
	}
	j = field_end(f, in, i, avail, &odd);
	if (j >= avail || in[j] == f->quote)
		return DECLINE;
	len = j - i;
	/* The record's last field does not keep the CR of a CR LF. */
	if (in[j] == '\n' && len > 0 && in[j - 1] == '\r')
		len--;
	if (is_null(f, in + i, len)) {
		x->null = true;
		return j;
	}
	if (col->type == REC_TEXT && !odd && len <= UINT32_MAX) {
		x->null = false;
		x->u.s.p = (const char *)in + i;
		x->u.s.len = (uint32_t)len;
		return j;
	}
	if (conv_text(col->type, (const char *)in + i, len, x, why,
		      sizeof why) < 0)
		return DECLINE; /* a reject: the general path words it */
	return j;
}

static size_t record(const struct csvfast *f, const unsigned char *in,
		     size_t avail, struct rec_value *v)
{
	size_t i = 0, c, raw_len;

	/* The general path's bound: max_record bytes, then CR LF. */
	if (avail > f->max_record + 2)
		avail = f->max_record + 2;
	for (c = 0;; c++) {
		const struct csvfast_col *col = c < f->ncols ? &f->cols[c]
							     : NULL;
		size_t j = one_field(f, col, in, i, avail, v);

		if (j == DECLINE)
			return 0;
		if (in[j] == f->delim) {
			/* More columns than a header's, or than allowed. */
			if ((f->exact_cols && c + 1 == f->ncols) ||
			    c + 1 == f->max_fields)
				return 0;
			i = j + 1;
			continue;
		}
		/* in[j] is the LF: too few columns go to the general path. */
		if (c + 1 < f->ncols)
			return 0;
		raw_len = j > 0 && in[j - 1] == '\r' ? j - 1 : j;
		/* A blank line is skipped or read by the general path. */
		if (raw_len == 0 || raw_len > f->max_record)
			return 0;
		return j + 1;
	}
}

size_t csvfast_record(struct csvfast *f, const char *in, size_t avail,
		      struct rec_value *v)
{
	size_t n;

	n = record(f, (const unsigned char *)in, avail, v);
	f->tries++;
	if (n == 0) {
		/* Mostly quoted or odd records: stop trying for this file. */
		if (++f->declines >= 1024 && f->declines * 2 > f->tries)
			f->on = false;
		return 0;
	}
	for (int k = 0; k < f->nalways_null; k++)
		v[f->always_null[k]].null = true;
	return n;
}
