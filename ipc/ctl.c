/*
 * ctl.c - sending and receiving supervisor/aggregator messages (ctl.h).
 * Messages are sent whole, without the unused tail of the token.  The
 * outgoing queue keeps whole messages in a growable ring; control
 * messages are a few per provider attempt, never per record.
 */
#include "ctl.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
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

/* Append m to the queue, growing it.  Returns 0, or -1 with ENOMEM. */
static int ctl_queue_push(struct ctl_queue *q, const struct ctl_msg *m)
{
	if (q->len == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 16;
		struct ctl_msg *n = calloc(cap, sizeof *n);

		if (n == NULL)
			return -1;
		for (size_t k = 0; k < q->len; k++)
			n[k] = q->msgs[(q->head + k) % q->cap];
		free(q->msgs);
		q->msgs = n;
		q->cap = cap;
		q->head = 0;
	}
	q->msgs[(q->head + q->len) % q->cap] = *m;
	q->len++;
	return 0;
}

int ctl_queue_flush(int fd, struct ctl_queue *q)
{
	while (q->len > 0) {
		if (ctl_send(fd, &q->msgs[q->head]) < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		q->head = (q->head + 1) % q->cap;
		q->len--;
	}
	q->head = 0;
	return 0;
}

int ctl_queue_send(int fd, struct ctl_queue *q, const struct ctl_msg *m)
{
	if (m->token_len > PROV_TOKEN_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (ctl_queue_flush(fd, q) < 0)
		return -1;
	if (q->len == 0) {
		if (ctl_send(fd, m) == 0)
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
	}
	return ctl_queue_push(q, m);
}

void ctl_queue_free(struct ctl_queue *q)
{
	free(q->msgs);
	q->msgs = NULL;
	q->head = q->len = q->cap = 0;
}
