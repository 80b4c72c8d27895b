/*
 * file.h - the file provider: CSV, JSON Lines and JSON array files, plain
 * or .gz, in UTF-8 or another encoding, one file or a glob read in sorted
 * order (SPEC §3 type = file, §7).
 *
 * Its resume token names the file (index in the sorted match list and a
 * fingerprint of its name), the byte offset into the decompressed (and
 * converted) file just after the last record covered, and the line number
 * there.
 */
#ifndef AGG_FILE_H
#define AGG_FILE_H

#include "provider.h"

extern const struct prov_ops file_provider_ops;

#endif
