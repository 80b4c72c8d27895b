/*
 * incr.h - incremental runs: `state = DIR` (or --state DIR), --full, and
 * `aggregate state DIR`.
 *
 * The state is one generation at a time in DIR: G.partial (every output's
 * aggregate state per provider, aggregator/partial.h) and G.marks (every
 * provider's bookmark, text), with CURRENT naming G.  A run loads
 * generation G into its merges, takes a snapshot of what its file
 * providers may read (each file's size now; what is new past the
 * bookmark), lets the aggregator write G+1.partial and then the outputs,
 * and commits by writing G+1.marks and renaming CURRENT over: one
 * rename, after the outputs.  A run that dies before it leaves G current,
 * and the next run reads again what this one read (docs/design.md,
 * "Incremental runs").  DIR/lock (flock) keeps two runs apart.
 *
 * Bookmarks: a file provider's files, each with the bytes read (the
 * decompressed ones for .gz), the line there and a hash of those bytes;
 * a file whose read part changed, or that shrank, makes its provider
 * read everything again, its part of the state dropped first, with a
 * warning naming the file.  sqlite and postgres with key: the last key
 * (their resume token).  http with since_field: the greatest since_field
 * counted (its resume token, turned into a start token).  Other providers
 * read in full every run and replace their part.
 */
#ifndef AGG_INCR_H
#define AGG_INCR_H

#include <stdbool.h>

#include "../common/config.h"
#include "sup.h"

struct incr;

/*
 * Set up an incremental run of cfg over the state in dir (cfg->fingerprint
 * set): lock it, read the current generation (refused: a clear error
 * naming the file and --full, exit 65; unless full), snapshot the file
 * providers, hang the state on cfg->partials and set cfg->state_save.
 * Returns -1 to go on (*out: for incr_end), or an exit status.
 */
int incr_begin(struct cfg *cfg, const char *dir, bool full,
	       struct incr **out);

/*
 * After the run: with rc EXIT_OK, commit the new generation.  Returns rc,
 * or EXIT_FAILED when the commit failed.  Frees in (NULL: nothing).
 */
int incr_end(struct incr *in, struct cfg *cfg, int rc);

/* The providers' first tokens for sup_opts.tokens (NULL: in is NULL). */
struct sup_token *incr_tokens(struct incr *in);

/* aggregate state DIR: print the bookmarks.  Returns an exit status. */
int incr_show(const char *dir, bool verbose);

/*
 * --check with a state: read it as a run would (not locked, nothing
 * written) and print, per enabled provider, whether the next run reads it
 * in full (and why) or from a bookmark (which: each file's byte and line,
 * the last key, the since value with the first url); "NAME state|file
 * STATUS MESSAGE" lines.  An http provider's since_start becomes its
 * bookmark in cfg, so that its probe asks what the run will.  full: as
 * with --full.  Returns EXIT_OK, EXIT_DATAERR for a state a run would
 * refuse, EXIT_FAILED for a provider whose files cannot be read.
 */
int incr_check(struct cfg *cfg, const char *dir, bool full);

#endif
