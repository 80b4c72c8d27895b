/*
 * ctl.h - messages between the supervisor and the aggregator.
 *
 * They travel over an AF_UNIX SOCK_SEQPACKET socket pair, one message per
 * packet.  The supervisor never reads record data or shared memory for its
 * decisions; everything it learns about a provider's progress comes from
 * here, from waitpid(), or from the provider's heartbeat pipe.
 *
 *   supervisor -> aggregator            aggregator -> supervisor
 *   CTL_START   attempt n may begin     CTL_STARTED  ring is ready for it
 *   CTL_END     the attempt's process   CTL_ENDED    ring drained: done or
 *               is dead (final: no                   not, records/rejects
 *               retry will follow)                   counted, resume token
 *   CTL_DROP    leave it out (partial)  CTL_BAD      it sent a malformed frame
 *   CTL_FINISH  write the output        CTL_FINISHED written (or not), why
 *                                       CTL_FATAL    the aggregator gives up
 *                                       CTL_PROGRESS counts, for --progress
 *                                       CTL_DONE     DONE folded: finished,
 *                                                    the process may still
 *                                                    be on its way out
 *
 * A first attempt's process is forked with its CTL_START (its ring is new);
 * a restart's only after CTL_STARTED, the old attempt's leftovers gone.
 * CTL_DONE carries what CTL_ENDED would (counts, token, the DONE bit) as
 * soon as the provider's DONE is folded: the run need not wait for the
 * process to tear itself down (libraries, connections) before the output
 * is written.  The CTL_ENDED that may follow for the same attempt (its
 * process was reaped before the supervisor read CTL_DONE) says the same.
 */
#ifndef AGG_CTL_H
#define AGG_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "token.h"

enum ctl_type {
	CTL_START = 1,
	CTL_STARTED,
	CTL_END,
	CTL_ENDED,
	CTL_DROP,
	CTL_BAD,
	CTL_FINISH,
	CTL_FINISHED,
	CTL_FATAL,
	CTL_PROGRESS,
	CTL_DONE,
};

#define CTL_TEXT_MAX 512

/* CTL_END flag: may this be the provider's last attempt? */
enum {
	CTL_END_FINAL = 1,                 /* yes: no retry follows */
	CTL_END_FINAL_UNLESS_PROGRESS = 2, /* yes, unless the attempt folded
	                                    * a checkpoint that moved forward */
};

/* CTL_ENDED flag bits. */
enum {
	CTL_ENDED_DONE = 1,         /* DONE was folded: the provider finished */
	CTL_ENDED_PROGRESSED = 2,   /* the attempt folded a checkpoint that
	                             * moved the provider forward */
};

struct ctl_msg {
	uint32_t type;          /* enum ctl_type */
	int32_t provider;       /* index in cfg->providers, -1: none */
	uint32_t attempt;
	uint32_t flag;          /* END: CTL_END_*; ENDED: CTL_ENDED_* bits;
	                         * FINISH: write; FINISHED: ok */
	uint64_t records;       /* ENDED, DONE, PROGRESS: counted so far;
	                         * FINISHED: rows */
	uint64_t rejects;       /* ENDED, DONE, PROGRESS */
	uint64_t filtered;      /* ENDED, DONE, PROGRESS: records a `where`
	                         * dropped */
	uint32_t token_len;     /* ENDED, DONE */
	char text[CTL_TEXT_MAX]; /* ENDED: the provider's error; BAD, FATAL,
	                          * FINISHED: a message */
	unsigned char token[PROV_TOKEN_MAX]; /* ENDED, DONE */
};

/* Send one message (retrying on EINTR).  Returns 0 or -1 with errno. */
int ctl_send(int fd, const struct ctl_msg *m);

/*
 * Outgoing messages that did not fit in the socket yet.  Both ends keep
 * their socket non-blocking, so neither can block the other (a supervisor
 * and an aggregator each blocked sending to the other would never wake):
 * a message the socket refuses with EAGAIN waits here, in order, until
 * poll() says POLLOUT.  Nothing is ever dropped; a message is lost only
 * with the peer itself.  Zero-initialise; ctl_queue_free() when done.
 */
struct ctl_queue {
	struct ctl_msg *msgs;   /* ring of cap messages */
	size_t head;            /* index of the oldest */
	size_t len;             /* messages waiting */
	size_t cap;
};

/*
 * Send m now if nothing is waiting and the socket takes it, else queue it
 * behind the others.  Returns 0, or -1 with errno when the peer is gone
 * (EPIPE, ECONNRESET, ...) or the queue cannot grow (ENOMEM).
 */
int ctl_queue_send(int fd, struct ctl_queue *q, const struct ctl_msg *m);

/*
 * Send what waits, oldest first, until the socket is full.  Returns 0
 * (messages may still wait: see ctl_queue_pending), or -1 with errno when
 * the peer is gone.
 */
int ctl_queue_flush(int fd, struct ctl_queue *q);

/* Are messages waiting for POLLOUT? */
static inline int ctl_queue_pending(const struct ctl_queue *q)
{
	return q->len > 0;
}

/* Free the queue (waiting messages are discarded). */
void ctl_queue_free(struct ctl_queue *q);

/*
 * Receive one message.  Returns 1, 0 when the other side has closed, or -1
 * with errno (EAGAIN when nothing is waiting on a non-blocking socket).
 * A short or impossible message is EPROTO.
 */
int ctl_recv(int fd, struct ctl_msg *m);

#endif
