/*
 * outfile.h - every file the run writes (the output, the reject file, the
 * metrics file) goes through here, which decides how: a stream or an
 * atomic replace.
 *
 *  - "-" is stdout; a FIFO or a character device (also through symlinks)
 *    is a stream: opened O_WRONLY and written in place, never renamed.
 *    Opening a FIFO blocks until it has a reader.  A failed run has
 *    already written part of a stream.
 *  - Anything else must be a regular file or absent, in a folder that
 *    exists: the rows go to a temporary beside it, and outfile_commit()
 *    fsyncs it and renames it over the target.  A symlink is followed (to
 *    its final target, also a dangling one): the target is replaced, the
 *    link stays.
 *
 * A temporary's name says whose it is: ".NAME.aggregate-PID.XXXXXX" beside
 * the target NAME, hidden from globs such as *.csv.  outfile_clean()
 * removes those whose process is gone, which a run does once it holds the
 * lock on that target.
 *
 * Messages name the file with the noun the caller gives ("output",
 * "reject file", "metrics file").
 */
#ifndef AGG_OUTFILE_H
#define AGG_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Where a path leads (outfile_locate). */
struct outfile_loc {
	bool stream;    /* "-", a FIFO or a character device */
	bool fifo;      /* a FIFO (stream) */
	char *real;     /* absolute, symlinks resolved: the file a replace
			   renames over, or the FIFO/device; NULL for "-"
			   and for a stream with no name (a pipe reached
			   through /dev/stdout) */
};

struct outfile {
	int fd;         /* -1 once closed */
	bool stream;
	const char *what;   /* the noun for messages */
	char *name;     /* the path as given ("stdout" for "-") */
	char *target;   /* replace: the file renamed over; NULL: stream */
	char *tmp;      /* replace: the temporary; NULL: stream */
	off_t kept;     /* OUTFILE_APPEND: bytes of the old file copied */
};

/* Flags. */
#define OUTFILE_APPEND 1u   /* outfile_open(): the temporary starts as a copy
			       of the target */
#define OUTFILE_STDOUT 2u   /* "-" is stdout (the output); else a file "-" */

/*
 * Resolve path (what names it in messages) into loc; free loc->real with
 * free().  flags: OUTFILE_STDOUT or 0.  Returns 0, or -1 with a message: a missing folder is "WHAT
 * folder DIR does not exist"; a folder, a socket or a block device is
 * refused.
 */
int outfile_locate(const char *path, const char *what, unsigned flags,
		   struct outfile_loc *loc, char *err, size_t errlen);

/*
 * outfile_locate(), then whether the run could write there: the target's
 * folder (or the stream) must be writable.  For --check.  Returns 0, or -1
 * with a message.
 */
int outfile_check(const char *path, const char *what, unsigned flags,
		  char *err, size_t errlen);

/*
 * Open path for writing (flags: OUTFILE_APPEND, OUTFILE_STDOUT): a stream
 * as it is, else a new temporary beside the
 * target with the mode a new file would get.  With OUTFILE_APPEND, the
 * target's current content (if any) is first copied into the temporary and
 * o->kept says how many bytes, so that the commit keeps the old rows; a
 * last line without its newline gets one.  Returns 0, or -1 with a message
 * (nothing is left behind).
 */
int outfile_open(struct outfile *o, const char *path, const char *what,
		 unsigned flags, char *err, size_t errlen);

/*
 * Finish: a replace is fsync'd, renamed over the target and its folder
 * fsync'd; a stream is closed (stdout stays open).  Everything is released
 * either way; on failure the temporary is removed.  Returns 0, or -1 with
 * a message.
 */
int outfile_commit(struct outfile *o, char *err, size_t errlen);

/* Give up: close, remove the temporary, release.  A closed one is fine. */
void outfile_abort(struct outfile *o);

/*
 * Remove the temporaries of ours beside path's target whose process is
 * gone (or is this very process: it has none yet, so such a file is from
 * an earlier process that had our pid).  Call it only while holding the
 * lock on that target.  flags: OUTFILE_STDOUT or 0.  Returns how many were
 * removed; never fails.
 */
int outfile_clean(const char *path, unsigned flags);

/*
 * The lock a run takes when no lock_file is set, for a target whose real
 * path is real: "aggregate-HASH.lock" in /run/lock when it is writable,
 * else in $TMPDIR or /tmp.  malloc'd; NULL when out of memory.
 */
char *outfile_lock_path(const char *real);

#endif
