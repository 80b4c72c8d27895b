/*
 * out_text.h - the CSV and JSON Lines outputs: rows as text, to a file
 * (a temporary renamed into place on commit) or a stream (outfile.h).
 *
 * Contract, beyond out_sink.h's:
 *  - The previous file is untouched until commit renames the temporary
 *    over it; abort and a failed commit remove the temporary.  A FIFO, a
 *    character device and "-" (stdout) are written in place.
 *  - write = append: the temporary starts as a copy of the old file, so
 *    the rename swaps in old rows + new ones at once; CSV checks the old
 *    header (the first line must equal this run's) and writes none.
 *  - CSV: RFC 4180, LF line ends; NULL is an empty unquoted field and an
 *    empty string is "" (as PostgreSQL's COPY CSV), so both read back.
 *  - JSON Lines: one object per row, keys in column order; text is always
 *    valid UTF-8 JSON: control characters are escaped and invalid UTF-8
 *    is replaced by U+FFFD (one per maximal ill-formed subpart), never
 *    copied raw.  NULL, NaN and infinities are null.
 *  - A failed write is reported by the row it happens in ("cannot write
 *    NAME: REASON"), or by commit.
 */
#ifndef AGG_OUT_TEXT_H
#define AGG_OUT_TEXT_H

#include "out_sink.h"

extern const struct out_sink out_text_csv;
extern const struct out_sink out_text_jsonl;

#endif
