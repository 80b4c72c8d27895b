/*
 * sup_spawn.c - forking the aggregator and the providers (see
 * sup_spawn.h), and reaping the strays of a run.
 */
#include "sup_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../aggregator/agg.h"
#include "../common/clock.h"
#include "../common/log.h"
#include "../common/proctitle.h"
#include "../common/trace.h"
#include "../providers/provider.h"
#include "sup_trace.h"

/*
 * In a freshly forked child: die with the supervisor, default signal
 * handling, unblocked signals.
 */
static void child_setup(struct sup *s)
{
	sigset_t all;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != s->self)
		_exit(1);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	close(s->sig_fd);
}

int sup_spawn_aggregator(struct sup *s)
{
	int sv[2], hb[2], rc;
	pid_t pid;

	/* Non-blocking at both ends: see struct ctl_queue. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) < 0)
		return -1;
	if (pipe2(hb, O_NONBLOCK) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	s->agg_start_us = clock_us();
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		close(hb[0]);
		close(hb[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		close(hb[0]);
		child_setup(s);
		proctitle_set("aggregate: aggregator");
		trace_child("aggregator");
		rc = agg_main(s->cfg, s->rings, sv[1], hb[1]);
		trace_stop();
		_exit(rc);
	}
	close(sv[1]);
	close(hb[1]);
	s->ctl_fd = sv[0];
	s->agg_hb_fd = hb[0];
	s->agg_beat = clock_ms();
	s->agg_pid = pid;
	if (trace_on)
		trace_name(pid, "aggregator", 1);
	return 0;
}

/*
 * The bytes of address space this process maps now (VmSize), 0 if
 * unknown.  In a provider, right after fork: its ring, the code and
 * libraries, what the supervisor had allocated.
 */
static uint64_t vm_size(void)
{
	char buf[4096], *p;
	unsigned long long kb = 0;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "\nVmSize:");
	if (p == NULL || sscanf(p + 8, "%llu", &kb) != 1)
		return 0;
	return (uint64_t)kb * 1024u;
}

void sup_spawn_provider(struct sup *s, int i)
{
	struct child *c = &s->ch[i];
	const struct cfg_provider *p = &s->cfg->providers[i];
	uint64_t start_us = trace_on ? clock_us() : 0;
	int hb[2];
	pid_t pid;

	if (pipe2(hb, O_NONBLOCK) < 0) {
		log_event(LOG_ERROR, p->name, "cannot start", "cause",
			  strerror(errno), NULL);
		hb[0] = hb[1] = -1;
	}
	pid = fork();
	if (pid == 0) {
		struct prov_ctx *ctx;
		char title[256];
		int rc;

		child_setup(s);
		close(s->ctl_fd);
		if (s->agg_hb_fd >= 0)
			close(s->agg_hb_fd);
		if (hb[0] >= 0)
			close(hb[0]);
		for (int k = 0; k < s->n; k++) {
			if (s->ch[k].hb_fd >= 0)
				close(s->ch[k].hb_fd);
			/* A provider sees no ring but its own. */
			if (k != i)
				ring_destroy(&s->rings[k]);
		}
		snprintf(title, sizeof title, "aggregate: provider %s", p->name);
		proctitle_set(title);
		trace_child("provider %s attempt %u", p->name, c->attempt);
		if (p->memory_limit) {
			/*
			 * The limit is the provider's own memory: what is
			 * mapped at this point (its ring above all, whatever
			 * ring_size is) comes on top.  Past it, mmap and brk
			 * fail: malloc returns NULL.
			 */
			uint64_t as = p->memory_limit + vm_size();
			struct rlimit rl = { as, as };

			if (setrlimit(RLIMIT_AS, &rl) < 0)
				log_event(LOG_WARN, p->name, "memory_limit not set",
					  "cause", strerror(errno), NULL);
		}
		ctx = calloc(1, sizeof *ctx);
		if (ctx == NULL)
			_exit(PROV_FAIL_RETRY);
		ctx->cfg = s->cfg;
		ctx->p = p;
		ctx->index = i;
		ctx->attempt = c->attempt;
		ctx->token_len = c->token_len;
		memcpy(ctx->token, c->token, c->token_len);
		ctx->records = c->records;
		ctx->rejects = c->rejects;
		ctx->filtered = c->filtered;
		ctx->ring = &s->rings[i];
		ctx->heartbeat_fd = hb[1];
		rc = prov_main(ctx);
		free(ctx); /* valgrind's leak check runs at _exit too */
		trace_stop();
		_exit(rc);
	}
	if (hb[1] >= 0)
		close(hb[1]);
	if (pid < 0) {
		/* Treated like a crash: the restart policy applies. */
		log_event(LOG_ERROR, p->name, "cannot fork", "cause",
			  strerror(errno), NULL);
		if (hb[0] >= 0)
			close(hb[0]);
		c->pid = -1;
		c->state = P_RUNNING;
		return;
	}
	c->pid = pid;
	c->hb_fd = hb[0];
	c->state = P_RUNNING;
	c->last_beat = clock_ms();
	c->kill_cause[0] = '\0';
	sup_trace_spawned(s, i, pid, start_us);
	if (log_enabled(LOG_DEBUG)) {
		char num[16];

		snprintf(num, sizeof num, "%u", c->attempt);
		log_event(LOG_DEBUG, p->name, "started", "attempt", num, NULL);
	}
}

/*
 * Kill and reap the children the table does not know.  The postgres
 * provider's snapshot holder is started with CLONE_PARENT, so it is ours:
 * it goes by itself after a provider's last attempt, but after a failure
 * or an abort it may still be there, and nothing may outlive the run.
 * Linux lists a task's children in /proc/self/task/TID/children; they are
 * not reaped yet, so their pids cannot have been reused.
 */
void sup_spawn_reap_strays(void)
{
	char path[64], buf[4096];

	snprintf(path, sizeof path, "/proc/self/task/%ld/children",
		 (long)getpid());
	for (int pass = 0; pass < 8; pass++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC), n_pids = 0;
		ssize_t n;
		char *p, *end;

		if (fd < 0)
			return;
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			return;
		buf[n] = '\0';
		for (p = buf;; p = end) {
			long pid = strtol(p, &end, 10);

			if (end == p)
				break;
			if (pid <= 0)
				continue;
			kill((pid_t)pid, SIGKILL);
			while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR)
				;
			n_pids++;
		}
		if (n_pids == 0)
			return;
	}
}
