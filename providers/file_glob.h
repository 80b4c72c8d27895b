/*
 * file_glob.h - the file provider's globs: glob(3) with braces, plus "**"
 * as a whole path component, which matches zero or more folders (data,
 * "**", "*.csv" as three components match data/a.csv and
 * data/x/y/b.csv), as Python's glob.glob(pattern, recursive=True) does.
 *
 * Hidden names are as glob(3) has them: "*" and "**" do not match a name
 * that starts with a dot unless the pattern's own dot does.  "**" follows
 * symbolic links to folders, but never into a folder it is already inside,
 * so a link to a parent does not loop.  Folders that cannot be read are
 * passed over, as glob(3) passes them over.
 */
#ifndef AGG_FILE_GLOB_H
#define AGG_FILE_GLOB_H

#include <glob.h>

/* Most patterns one path's braces may expand to when it holds "**". */
#define FILE_GLOB_MAX_ALTS 1024

/*
 * Add the matches of pattern to g: appended when g already holds some
 * (g->gl_pathc > 0; g zeroed or filled by glob(3) before), files and
 * folders alike, in no useful order.  Returns 0 when something matched,
 * GLOB_NOMATCH, GLOB_NOSPACE (out of memory, or braces that expand to
 * more than FILE_GLOB_MAX_ALTS patterns) or GLOB_ABORTED.
 */
int file_glob(const char *pattern, glob_t *g);

#endif
