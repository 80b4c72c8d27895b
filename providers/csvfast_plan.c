/*
 * csvfast_plan.c - the CSV fast path's plan (csvfast.h): what
 * csvfast_plan() decides once per file about each column (its field,
 * type and reader, whether its value is kept) and about the encoding
 * every record starts with, which the per-record loops in csvfast.c then
 * only read.  Apart from them because none of it runs per record.
 */
#include "csvfast.h"

#include <stdlib.h>
#include <string.h>

#include "csvfast_read.h"

void csvfast_free(struct csvfast *f)
{
	free(f->cols);
	free(f->always_null);
	free(f->tzc);
	f->cols = NULL;
	f->always_null = NULL;
	f->tzc = NULL;
	f->on = false;
	f->enc = false;
}

/* Whether fast_ts() may read a byte (then no field may end at it). */
static bool ts_byte(unsigned char c)
{
	return c != '\0' && strchr("0123456789-:.+ZzTt ", c) != NULL;
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

/*
 * csvfast_encode()'s part of the plan: each column's reader, the bitmap
 * every record starts with, and whether encoding in column order is
 * encoding in field order (f->enc).  After the rest of csvfast_plan().
 */
static void plan_encoding(struct csvfast *f, const struct csvfast_options *o)
{
	const struct rec_schema *s = o->schema;
	const struct rec_schema *w = o->whole ? o->whole : o->schema;
	int last = -1;

	f->enc = false;
	memset(f->nulls, 0, sizeof f->nulls);
	f->nfields = s->nfields;
	f->nwhole = w->nfields;
	f->whole = w->fields;
	f->drop = o->drop;
	f->put8 = true;
	for (int i = s->nfields; i < w->nfields; i++) {
		enum rec_type t = w->fields[i].type;

		if ((o->drop != NULL && o->drop[i]) ||
		    (t != REC_INT && t != REC_TIMESTAMP && t != REC_DATE &&
		     t != REC_FLOAT))
			f->put8 = false;
	}
	/* Records of ncols columns are all the general path's: nothing to do. */
	if (w->nfields > REC_MAX_FIELDS || w->nfields < s->nfields ||
	    f->max_fields < f->ncols || f->max_record > UINT32_MAX - 2)
		return;
	f->head = ENC_LEN_BYTES + ((size_t)w->nfields + 7) / 8;
	for (int i = 0; i < w->nfields; i++)
		if ((i < s->nfields && o->col[i] < 0) ||
		    (o->drop != NULL && o->drop[i]))
			f->nulls[i / 8] |= (unsigned char)(1u << (i % 8));
	for (size_t c = 0; c < f->ncols; c++) {
		struct csvfast_col *col = &f->cols[c];

		col->keep = false;
		if (col->field < 0) {
			col->op = OP_SKIP;
			continue;
		}
		if (col->field < last)
			return; /* the encoding's order is not the columns' */
		last = col->field;
		col->keep = o->drop == NULL || !o->drop[col->field];
		switch (col->type) {
		case REC_INT:
			col->op = f->numeric_null ? OP_OTHER :
				  col->keep ? OP_INT : OP_INT_CHECK;
			break;
		case REC_FLOAT:
			col->op = f->numeric_null ? OP_OTHER :
				  col->keep ? OP_FLOAT : OP_FLOAT_CHECK;
			break;
		case REC_TEXT:
			col->op = OP_TEXT;
			break;
		case REC_TIMESTAMP:
			col->op = !col->ts ? OP_OTHER :
				  col->keep ? OP_TS : OP_TS_CHECK;
			break;
		default:
			col->op = OP_OTHER;
			break;
		}
	}
	f->enc = true;
}

int csvfast_plan(struct csvfast *f, const struct csvfast_options *o)
{
	const struct rec_schema *s = o->schema;
	struct csvfast_col *cols;
	int *nul;
	bool ts_ok;

	csvfast_free(f);
	f->tries = f->declines = 0;
	if (o->ncols == 0 || o->nnulls > CSVFAST_MAX_NULLS)
		return 0;
	cols = malloc(o->ncols * sizeof *cols);
	nul = malloc(((size_t)s->nfields + 1) * sizeof *nul);
	f->tzc = malloc(o->ncols * sizeof *f->tzc);
	if (cols == NULL || nul == NULL || f->tzc == NULL) {
		free(cols);
		free(nul);
		free(f->tzc);
		f->tzc = NULL;
		return -1;
	}
	f->cols = cols;
	f->always_null = nul;
	f->nalways_null = 0;
	for (size_t c = 0; c < o->ncols; c++) {
		cols[c].field = -1;
		cols[c].ts = false;
		cols[c].tzc = &f->tzc[c];
		f->tzc[c] = TZ_LOCAL_CACHE_EMPTY;
	}
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
		cols[c].fld = &s->fields[i];
	}
	f->delim = (unsigned char)o->delimiter;
	f->quote = (unsigned char)o->quote;
	f->has_quote = o->quote != '\0';
	f->quote_byte = f->has_quote ? f->quote : -1;
	f->wd[0] = f->wd[1] = LO * f->delim;
	f->wq[0] = f->wq[1] = LO * (f->has_quote ? f->quote : '\n');
	f->numeric_null = false;
	ts_ok = !ts_byte(f->delim) && !(f->has_quote && ts_byte(f->quote));
	for (int k = 0; k < o->nnulls; k++) {
		f->null_text[k] = o->nulls[k];
		f->null_len[k] = strlen(o->nulls[k]);
		f->numeric_null |= looks_numeric(o->nulls[k]);
		ts_ok &= !(o->nulls[k][0] >= '0' && o->nulls[k][0] <= '9');
	}
	for (size_t c = 0; c < o->ncols; c++)
		cols[c].ts = ts_ok && cols[c].field >= 0 &&
			     cols[c].type == REC_TIMESTAMP &&
			     cols[c].fld->fmt == NULL;
	f->nnulls = o->nnulls;
	f->exact_cols = o->exact_cols;
	f->ncols = o->ncols;
	f->max_record = o->max_record;
	f->max_fields = o->max_fields;
	f->on = true;
	plan_encoding(f, o);
	return 0;
}
