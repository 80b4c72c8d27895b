/*
 * faults.h - fault injection for the test suite, compiled in only when
 * AGG_TESTING is defined (build/test, build/asan); the program users run has
 * none of it.
 *
 * AGG_FAULT="NAME:ATTEMPT:POINT:N[:ACTION][;...]" makes provider NAME, on its
 * attempt ATTEMPT (0 = every attempt), do ACTION the Nth time it passes
 * POINT.  Points: start, record (after a record is buffered), before_records,
 * after_records (around publishing a RECORDS frame), before_checkpoint,
 * after_checkpoint, mid_frame (a frame half written, never published),
 * after_done (DONE published, the process not yet exited).
 * POINT "random" takes N as a seed and picks a point from record to
 * mid_frame and a count on it (1..2000 records, or 1..6 frames).
 * Actions: kill (SIGKILL, the default), segv, exit0 (exit 0 without DONE),
 * hang (stop making progress), garbage (publish a RECORDS frame of junk),
 * badlen (publish a frame header whose length runs past the ring's
 * contents), badattempt (publish a frame with another attempt number),
 * leak (allocate until malloc fails, then fail as out of memory), stubborn
 * (hang and ignore SIGTERM).  Every fault logs "fault injected".  After
 * garbage, badlen and badattempt the provider goes on as if nothing
 * happened; the aggregator must catch it.
 */
#ifndef AGG_FAULTS_H
#define AGG_FAULTS_H

struct prov_ctx;

enum fault_point {
	FAULT_START,
	FAULT_RECORD,
	FAULT_BEFORE_RECORDS,
	FAULT_AFTER_RECORDS,
	FAULT_BEFORE_CHECKPOINT,
	FAULT_AFTER_CHECKPOINT,
	FAULT_MID_FRAME,
	FAULT_AFTER_DONE,
	FAULT_NPOINTS
};

#ifdef AGG_TESTING
void faults_init(struct prov_ctx *c);
void faults_hit(struct prov_ctx *c, enum fault_point p);
#else
static inline void faults_init(struct prov_ctx *c) { (void)c; }
static inline void faults_hit(struct prov_ctx *c, enum fault_point p)
{
	(void)c;
	(void)p;
}
#endif

#endif
