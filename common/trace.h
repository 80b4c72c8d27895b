/*
 * trace.h - a timeline of the run (--trace FILE), in the Trace Event
 * Format that Perfetto UI and chrome://tracing open.
 *
 * Every process of a run (supervisor, aggregator, each provider attempt,
 * the PostgreSQL snapshot holder) buffers its events in memory and writes
 * them, one write() per buffer, to a file of its own in a private folder
 * the supervisor made for the run (mkdtemp, 0700).  A process flushes at
 * its checkpoints, page ends and exit, so one that is killed loses only
 * what it did since its last flush; the supervisor, which saw it spawn and
 * die, records its lifetime itself.  At the end of the run the supervisor
 * merges the files into one JSON object (supervisor/trace_out.c).
 *
 * An event is one line of JSON in a process's file: {"ph":..., "name":...,
 * "pid":..., "tid":..., "ts":..., ...}.  Timestamps are CLOCK_MONOTONIC in
 * microseconds, the same clock in every process, so the tracks line up.
 * pid and tid are the process's real pid: one track per process.
 *
 * Cost: trace_on is a plain flag that callers test only at phase and
 * batch boundaries (a connect, a page, a checkpoint), never per record;
 * with tracing off, nothing else runs.  A process records at most
 * TRACE_MAX_EVENTS events; past that it records one instant saying so and
 * nothing more.
 *
 * Arguments: the functions taking "..." take pairs of strings, key then
 * value, ended by NULL; a NULL value leaves its key out.  A value that is
 * a plain decimal integer is written as a JSON number, any other as a
 * JSON string (escaped).  Names and keys are the caller's literals.
 * Nothing here fails for the caller: a write that fails turns tracing off
 * in that process.
 */
#ifndef AGG_TRACE_H
#define AGG_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Events one process records at most. */
#define TRACE_MAX_EVENTS 50000u

/* True when this run is traced (set by trace_start, inherited by fork). */
extern bool trace_on;

/*
 * Supervisor, before any fork: make the run's private folder in $TMPDIR
 * (or /tmp) and start recording this process as name.  Returns 0, or -1
 * with a message in err (tracing stays off).
 */
int trace_start(const char *name, char *err, size_t errlen);

/* The run's folder ("" when tracing is off). */
const char *trace_dir(void);

/*
 * In a freshly forked child: forget the events inherited from the parent
 * and record this process from now on, named name (the process_name of its
 * track; printf-style).  Nothing when tracing is off.
 */
void trace_child(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Open a span named name on this process's track (Trace Event "B"). */
void trace_begin(const char *name, ...);

/* Close the last span named name (Trace Event "E"), with arguments. */
void trace_end(const char *name, ...);

/* A span from start_us (clock_us()) to now, with arguments ("X"). */
void trace_span(const char *name, uint64_t start_us, ...);

/*
 * A span from start_us to end_us that may overlap others of the process
 * (concurrent HTTP requests, batches): an async pair ("b" and "e",
 * written together, with an id of their own), shown on a track of its
 * own under the process.
 */
void trace_async(const char *name, uint64_t start_us, uint64_t end_us, ...);

/* An instant event on this process's track, with arguments ("i"). */
void trace_instant(const char *name, ...);

/* A counter sample: series name, value (Trace Event "C"). */
void trace_counter(const char *name, const char *series, double value);

/*
 * The supervisor, on behalf of another process pid: a span of its track
 * from start_us to end_us ("X") or an instant at ts_us, with arguments.
 */
void trace_span_for(pid_t pid, const char *name, uint64_t start_us,
		    uint64_t end_us, ...);
void trace_instant_for(pid_t pid, const char *name, uint64_t ts_us, ...);

/*
 * Name pid's track ("provider NAME attempt N"), with its place among the
 * tracks (sort): metadata events.  Any process may name any pid.
 */
void trace_name(pid_t pid, const char *name, int sort);

/* Write what is buffered to this process's file. */
void trace_flush(void);

/*
 * trace_flush() when the buffer holds more than half its room, or
 * TRACE_FLUSH_MS have passed since the last flush: for loops that flush
 * at every checkpoint or page.
 */
void trace_flush_due(void);

/*
 * Flush, close this process's file and stop recording; in the supervisor
 * after the merge, also remove the folder and every file in it.
 */
void trace_stop(void);

/* Milliseconds between flushes at most, for trace_flush_due(). */
#define TRACE_FLUSH_MS 100u

#endif
