/*
 * sysio.c - system-call loops every process needs the same way (sysio.h).
 */
#include "sysio.h"

#include <errno.h>
#include <unistd.h>

int sys_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t k = write(fd, c, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0) {
			errno = EIO;
			return -1;
		}
		c += k;
		n -= (size_t)k;
	}
	return 0;
}
