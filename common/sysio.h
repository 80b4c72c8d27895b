/*
 * sysio.h - system-call loops every process needs the same way.
 */
#ifndef AGG_SYSIO_H
#define AGG_SYSIO_H

#include <stddef.h>

/*
 * Write all n bytes of p to fd with write(2), as many calls as it takes:
 * a short write goes on with the rest, EINTR is retried.  Returns 0 when
 * all n bytes were written, or -1 with errno set by the write that failed
 * (EIO should write ever return 0 for a non-empty rest); how much was
 * written before a failure is not reported.  n == 0 writes nothing.
 * For a non-blocking fd, EAGAIN is a failure like any other.
 */
int sys_write_all(int fd, const void *p, size_t n);

#endif
