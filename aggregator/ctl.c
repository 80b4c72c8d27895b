/*
 * ctl.c - sending and receiving supervisor/aggregator messages (ctl.h).
 * Messages are sent whole, without the unused tail of the token.
 */
#include "ctl.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

int ctl_send(int fd, const struct ctl_msg *m)
{
	size_t len = offsetof(struct ctl_msg, token) + m->token_len;
	ssize_t n;

	if (m->token_len > PROV_TOKEN_MAX) {
		errno = EINVAL;
		return -1;
	}
	do
		n = send(fd, m, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -1;
}

int ctl_recv(int fd, struct ctl_msg *m)
{
	ssize_t n;

	do
		n = recv(fd, m, sizeof *m, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return (int)n;
	if ((size_t)n < offsetof(struct ctl_msg, token) ||
	    m->token_len > PROV_TOKEN_MAX ||
	    (size_t)n != offsetof(struct ctl_msg, token) + m->token_len) {
		errno = EPROTO;
		return -1;
	}
	m->text[CTL_TEXT_MAX - 1] = '\0';
	return 1;
}
