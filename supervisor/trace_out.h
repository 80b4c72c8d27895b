/*
 * trace_out.h - the end of --trace: the per-process event files of the
 * run's folder (common/trace.h) merged into one Trace Event Format file.
 *
 * The file is one JSON object, {"traceEvents": [...], "displayTimeUnit":
 * "ms", "otherData": {...}}, its events sorted by timestamp, written
 * atomically like the metrics file (aggregator/outfile.h).  Spans a
 * process left open (it was killed) are closed at its death, which the
 * supervisor recorded as the end of its lifetime span, or else at the last
 * event of the run.  At most TRACE_OUT_MAX_EVENTS events are kept (the
 * earliest; every process's lifetime and names always): a capped file says
 * so in otherData ("capped", "dropped_events") and with an instant event
 * "trace capped" on the supervisor's track.
 */
#ifndef AGG_TRACE_OUT_H
#define AGG_TRACE_OUT_H

#include <stddef.h>

/* Events one trace file holds at most. */
#define TRACE_OUT_MAX_EVENTS 250000u

/*
 * Merge the files of the run's folder (trace_dir()) into path, the run
 * having ended with exit status exit_code.  Returns 0, or -1 with a
 * message in err.  The folder is left to trace_stop().
 */
int trace_out_write(const char *path, int exit_code, const char *version,
		    char *err, size_t errlen);

#endif
