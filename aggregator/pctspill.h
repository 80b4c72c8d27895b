/*
 * pctspill.h - where percentiles' values go past the memory budget.
 *
 * median and percentile keep every value of their group (state_stat.c).
 * The arrays that hold them count against one budget for the whole
 * aggregator process (the config's `memory`, shared by every output);
 * once it is spent, a state whose array is full writes its values,
 * sorted, as a run to one temporary file instead of growing, and starts
 * again in the same array.  The result merges the state's runs with what
 * is left in memory, so it is the value the in-memory path gives, bit
 * for bit.
 *
 * The file is unlinked from its creation (O_TMPFILE, else a name removed
 * at once): it goes with the process however that ends.  Runs of states
 * that are dropped (a provider that fails for good) stay in it until
 * then.  Not for threads: one aggregator process, one file.
 */
#ifndef AGG_PCTSPILL_H
#define AGG_PCTSPILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A run: n sorted doubles at byte offset off of the file. */
struct pspill_run {
	int64_t off;
	int64_t n;
};

/* A state spills only once it holds this many values (smaller ones grow). */
#define PSPILL_MIN_VALUES 64

/* Set the budget in bytes (0: none, never spill). */
void pspill_set_budget(uint64_t bytes);

/* Count bytes of value arrays taken; whether the budget is spent. */
void pspill_take(uint64_t bytes);
bool pspill_spent(void);

/*
 * Append v[0..n) (sorted) to the file as one run, described in *run.
 * 0, or -1 with errno (the file cannot be created or written).
 */
int pspill_write(const double *v, int64_t n, struct pspill_run *run);

/* Read n values of run from its value i on into out.  0, or -1 with errno. */
int pspill_read(const struct pspill_run *run, int64_t i, double *out,
		int64_t n);

/* Runs written and bytes in the file so far (for tests and logs). */
void pspill_stats(uint64_t *runs, uint64_t *bytes);

#endif
