/*
 * file.h - the file provider: CSV and JSON Lines files, plain or .gz, one
 * file or a glob read in sorted order (SPEC §3 type = file).
 *
 * Its resume token names the file (index in the sorted match list and a
 * fingerprint of its name), the byte offset into the decompressed file just
 * after the last record covered, and the line number there.
 */
#ifndef AGG_FILE_H
#define AGG_FILE_H

#include "provider.h"

extern const struct prov_ops file_provider_ops;

#endif
