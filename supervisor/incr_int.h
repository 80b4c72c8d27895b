/*
 * incr_int.h - what incr.c (the run over a state) shares with incr_show.c
 * (`aggregate state DIR` and --check's account of the next run): the
 * bookmarks file read back, CURRENT, and how a provider's bookmark is
 * taken.  Not an API for anything else in the program.
 */
#ifndef AGG_INCR_INT_H
#define AGG_INCR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/config.h"
#include "../providers/provider.h"

/* One file's bookmark: bytes read, the line there, a hash of the bytes. */
struct incr_mark {
	char *name;
	uint64_t bytes, line, hash;
};

/* One provider's bookmarks: its files', or its resume token. */
struct incr_prov_marks {
	struct incr_mark *m;
	size_t n;
	unsigned char *token;       /* sqlite, postgres: the last key's;
				       http: its since_field's */
	uint32_t token_len;
};

/* G.marks, read and checked. */
struct incr_marks_file {
	uint64_t fingerprint;
	unsigned long gen;
	long long time;
	char **prov_names;          /* as written */
	struct incr_prov_marks *pm;
	int nprov;
};

/* DIR/GEN.EXT, malloc'd; NULL when out of memory. */
char *incr_path_of(const char *dir, unsigned long gen, const char *ext);

/* Read and check path into *mf.  0, or -1 with err naming it. */
int incr_marks_read(const char *path, struct incr_marks_file *mf, char *err,
		    size_t errlen);

void incr_marks_file_free(struct incr_marks_file *mf);

/*
 * The generation DIR/CURRENT names into *gen: 0 when there is none yet.
 * 0, or -1 with err naming the file.
 */
int incr_read_current(const char *dir, unsigned long *gen, char *err,
		      size_t errlen);

/*
 * A provider whose bookmark is its resume token: its key's last value
 * (sql_conf.h), or an http provider's greatest since_field (http_page.c).
 */
bool incr_keyed(const struct cfg_provider *p);

/*
 * An http token "since RUN MAX POSITION" (hex, "-" empty; MAX with its
 * kind first) as the next run's start: "since NEW MAX " with NEW the old
 * MAX (the old RUN when no record came) and no position.  The value that
 * is the bookmark, decoded, in *mark (malloc'd) unless mark is NULL.
 * Length, or -1.
 */
int incr_http_start_token(const unsigned char *tok, uint32_t len,
			  char out[PROV_TOKEN_MAX + 1], char **mark);

/*
 * Snapshot file provider p against its old bookmarks (NULL: none): the
 * files and what to read of each on p (p->incr_files: from, line, to),
 * the new bookmarks in next.  Returns 1 when p reads everything again (a
 * changed file, with a warning), 0, -1 on a failure (logged).
 * incr_files_free() undoes what it set on p.
 */
int incr_snapshot(struct cfg_provider *p, const struct incr_prov_marks *old,
		  struct incr_prov_marks *next);
void incr_files_free(struct cfg_provider *p);

/* Free n providers' bookmarks and the array. */
void incr_marks_free(struct incr_prov_marks *pm, int n);

#endif
