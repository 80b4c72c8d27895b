/*
 * file_par.h - one file provider's input cut into byte ranges, each read
 * by a process of its own (`parallel = N | auto`; the supervisor makes
 * the processes, supervisor/par.h).
 *
 * The input is the provider's match list, in its order, as one sequence
 * of bytes.  It is cut into N ranges of about the same size; a cut that
 * falls in a file too small to split, in a .gz file, a JSON array or a
 * file in another encoding moves to that file's end.  A cut inside a
 * file moves to the first record start at or after it: just after the
 * first line feed at or after the byte before it.  A reader then reads
 * from its first cut to the next one, and the records of one reader's
 * range are exactly those that start in it: each is read once.
 *
 * A line feed is a record boundary in JSON Lines (a JSON string cannot
 * hold one), and in CSV or TSV unless a quoted field holds it.  Nothing
 * rules that out before the run: a range that starts at a cut in a CSV
 * file with quotes is `unsure`, and the range before it, reading up to
 * that cut, tells whether its parse ends there outside quotes (then the
 * cut was a record start) or inside a quoted field (PROV_FAIL_CUT: the
 * run is done again with the file read whole, supervisor/par.h).
 */
#ifndef AGG_FILE_PAR_H
#define AGG_FILE_PAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/config.h"

/* One range: from (first, lo) up to (last, hi) of the match list. */
struct file_range {
	size_t first, last;
	uint64_t lo, hi;    /* hi UINT64_MAX: up to the end of last */
	uint64_t bytes;     /* its size */
	bool unsure;        /* starts at a cut inside a CSV file with quotes:
			       a record start only if the range before it
			       ends outside quotes */
};

/* How one provider's input is cut. */
struct file_plan {
	int n;                   /* ranges; 1: read whole, as without */
	struct file_range *r;    /* n of them (NULL when n is 1) */
	char **names;            /* the match list, for messages */
	size_t nnames;
	uint64_t total;          /* bytes of every file */
	char why[600];           /* n == 1: why not cut; else what was
				    not cut and why ("" : nothing) */
};

/* Ranges are at least this large, unless a test says otherwise. */
#define FILE_PAR_MIN_RANGE ((uint64_t)8 << 20)

/*
 * Cut p's input for want readers (0: the online cores).  Never fails: a
 * file that cannot be listed or read leaves the input whole (n 1, with
 * why), and the provider then fails on it as it would have.  Free with
 * file_par_free().
 */
void file_par_plan(const struct cfg_provider *p, int want,
		   struct file_plan *pl);

void file_par_free(struct file_plan *pl);

/*
 * The line feeds in name's first off bytes, for the lines that a range
 * starting at off names in its messages; -1 with errno when the file
 * cannot be read.
 */
int64_t file_par_lines_before(const char *name, uint64_t off);

/*
 * --check: scan the files up to pl's unsure cuts by csv.c's quote states
 * (the run does not: its readers tell).  1 with *k the first range that
 * would end inside a quoted field and *line the line its end starts; 0
 * when none would; -1 when a file cannot be read.
 */
int file_par_cut_in_quotes(const struct cfg_provider *p,
			   const struct file_plan *pl, int *k, int64_t *line);

#endif
