/*
 * log.h - one event per line on stderr, as text or JSON.
 *
 *   2026-11-22T03:00:01Z warn provider=orders_api restarted attempt=2 cause="killed by SIGSEGV"
 *   {"ts":"2026-11-22T03:00:01Z","level":"warn","provider":"orders_api","event":"restarted","attempt":"2",...}
 *
 * Every process (supervisor, aggregator, providers) logs through here; each
 * line goes out in one write(2), so lines of different processes never mix.
 * Callers never pass secrets: config values are logged only where the code
 * names them explicitly.
 */
#ifndef AGG_LOG_H
#define AGG_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/*
 * verbosity: -1 (-q: warnings and errors), 0 (default: up to info),
 * 1 (-v: debug too).
 */
void log_init(int verbosity, bool json);

/*
 * While a progress block is drawn on the terminal (progress.h), start every
 * line with "erase to end of screen", so that a line of any process takes
 * the block's place instead of being drawn over.  Inherited through fork.
 */
void log_set_redraw(bool on);

/* True when events of this level are printed. */
bool log_enabled(enum log_level level);

/*
 * Log an event: provider may be NULL; then pairs of (const char *key,
 * const char *value) strings, ended by one NULL.  Values are quoted in text
 * form when they hold blanks, quotes or '='.
 */
void log_event(enum log_level level, const char *provider, const char *event,
	       ...) __attribute__((sentinel));

#endif
