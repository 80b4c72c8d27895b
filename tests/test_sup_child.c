/*
 * test_sup_child.c - the supervisor's process table and restart policy
 * (supervisor/sup_child.c), without a supervisor: rows are filled by hand,
 * control messages made up, and the one kill goes to a real child.
 *
 * What the policy promises: CTL_END says "final" for a permanent failure,
 * a provider with no restarts, or a streak that used up its restarts; a
 * CTL_ENDED with DONE finishes the provider whatever its exit; a failure
 * restarts with a jittered backoff in [d/2, d], d doubling per failure in
 * a row up to backoff_max, until the streak reaches restart; a healthy
 * attempt starts a new streak; the cause names the most specific reason.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../supervisor/sup_child.h"

static struct cfg cfg;
static struct cfg_provider prov;

static void setup(void)
{
	memset(&cfg, 0, sizeof cfg);
	memset(&prov, 0, sizeof prov);
	prov.name = "p";
	prov.restart = 2;
	cfg.providers = &prov;
	cfg.nproviders = 1;
	cfg.backoff_ms = 1000;
	cfg.backoff_max_ms = 3000;
}

TestSuite(sup_child, .init = setup);

/* A row that was reaped with wait status status, attempt attempt. */
static struct child reaped(int status, uint16_t attempt)
{
	struct child c = { .state = P_ENDING, .hb_fd = -1, .attempt = attempt };

	sup_child_reaped(&c, status);
	return c;
}

static struct ctl_msg ended(uint32_t flag, const char *text)
{
	struct ctl_msg m = { .type = CTL_ENDED, .flag = flag, .records = 7,
			     .rejects = 2, .token_len = 3 };

	memcpy(m.token, "tok", 3);
	snprintf(m.text, sizeof m.text, "%s", text);
	return m;
}

Test(sup_child, reaped_tells_permanent_and_config_exits)
{
	struct child c = reaped(PROV_FAIL_PERMANENT << 8, 1);

	cr_assert(c.permanent);
	cr_assert_not(c.config_error);
	cr_assert_eq(c.pid, 0);
	c = reaped(PROV_FAIL_CONFIG << 8, 1);
	cr_assert(c.permanent);
	cr_assert(c.config_error);
	c = reaped(PROV_FAIL_RETRY << 8, 1);
	cr_assert_not(c.permanent);
	c = reaped(SIGKILL, 1);
	cr_assert_not(c.permanent);
}

Test(sup_child, end_flag)
{
	struct child c = reaped(1 << 8, 1);

	cr_assert_eq(sup_child_end_flag(&c, 2), 0);
	c.streak = 2;
	cr_assert_eq(sup_child_end_flag(&c, 2), CTL_END_FINAL_UNLESS_PROGRESS);
	c.streak = 0;
	cr_assert_eq(sup_child_end_flag(&c, 0), CTL_END_FINAL);
	c = reaped(PROV_FAIL_PERMANENT << 8, 1);
	cr_assert_eq(sup_child_end_flag(&c, 5), CTL_END_FINAL);
}

Test(sup_child, done_finishes_whatever_the_exit)
{
	struct child c = reaped(SIGSEGV, 1);
	struct ctl_msg m = ended(CTL_ENDED_DONE, "");
	unsigned rng = 1;

	cr_assert_eq(sup_child_ended(&c, &cfg, &prov, &m, &rng), SUP_END_DONE);
	cr_assert_eq(c.state, P_DONE);
	cr_assert_eq(c.records, 7);
	cr_assert_eq(c.rejects, 2);
	cr_assert_eq(c.token_len, 3);
	cr_assert_eq(memcmp(c.token, "tok", 3), 0);
	cr_assert_neq(c.finished, 0);
	cr_assert_eq(c.restarts, 0);
}

Test(sup_child, restarts_back_off_doubling_capped_then_fail)
{
	struct child c = reaped(1 << 8, 1);
	struct ctl_msg m = ended(0, "connection refused");
	unsigned rng = 42;
	uint64_t lo[] = { 500, 1000 }, hi[] = { 1000, 2000 };

	for (int k = 0; k < 2; k++) {
		uint64_t before = clock_ms(), after;

		cr_assert_eq(sup_child_ended(&c, &cfg, &prov, &m, &rng),
			     SUP_END_RESTART);
		after = clock_ms();
		cr_assert_eq(c.state, P_BACKOFF);
		cr_assert_eq(c.restarts, k + 1);
		cr_assert_eq(c.streak, k + 1);
		cr_assert_geq(c.backoff_until, before + lo[k]);
		cr_assert_leq(c.backoff_until, after + hi[k]);
		cr_assert_str_eq(c.cause, "connection refused");
		c.state = P_ENDING;
		c.attempt++;
	}
	/* The streak used up restart = 2: the third failure is the last. */
	cr_assert_eq(sup_child_ended(&c, &cfg, &prov, &m, &rng),
		     SUP_END_FAILED);
	cr_assert_eq(c.state, P_FAILED);
	cr_assert_eq(c.restarts, 2);
}

Test(sup_child, backoff_is_capped)
{
	struct child c = reaped(1 << 8, 1);
	struct ctl_msg m = ended(0, "");
	unsigned rng = 7;

	prov.restart = 10;
	c.streak = 5; /* 1s doubled five times is over the 3s cap */
	for (int k = 0; k < 20; k++) {
		uint64_t before = clock_ms(), after;

		c.state = P_ENDING;
		cr_assert_eq(sup_child_ended(&c, &cfg, &prov, &m, &rng),
			     SUP_END_RESTART);
		after = clock_ms();
		cr_assert_geq(c.backoff_until, before + 1500);
		cr_assert_leq(c.backoff_until, after + 3000);
		c.streak = 5;
	}
}

Test(sup_child, healthy_attempt_starts_a_new_streak)
{
	struct child c = reaped(1 << 8, 3);
	struct ctl_msg m = ended(CTL_ENDED_PROGRESSED, "");
	unsigned rng = 3;

	c.streak = 2; /* restart = 2 used up, but this attempt progressed */
	cr_assert_eq(sup_child_ended(&c, &cfg, &prov, &m, &rng),
		     SUP_END_RESTART);
	cr_assert_eq(c.streak, 1);
}

Test(sup_child, permanent_fails_at_once)
{
	struct child c = reaped(PROV_FAIL_PERMANENT << 8, 1);
	struct ctl_msg m = ended(0, "HTTP 404");
	unsigned rng = 3;

	cr_assert_eq(sup_child_ended(&c, &cfg, &prov, &m, &rng),
		     SUP_END_FAILED);
	cr_assert_eq(c.state, P_FAILED);
	cr_assert_str_eq(c.cause, "HTTP 404");
}

Test(sup_child, cause_most_specific_first)
{
	struct child c = reaped(SIGKILL, 1);
	struct ctl_msg m = ended(0, "ignored: it was killed");
	unsigned rng = 3;

	/* Killed: the signal, not the text it left. */
	sup_child_ended(&c, &cfg, &prov, &m, &rng);
	cr_assert_str_eq(c.cause, "killed by SIGKILL");
	/* Killed by us: our reason first. */
	c = reaped(SIGKILL, 1);
	snprintf(c.kill_cause, sizeof c.kill_cause, "%s",
		 "stalled: no progress for 2s");
	sup_child_ended(&c, &cfg, &prov, &m, &rng);
	cr_assert_str_eq(c.cause, "stalled: no progress for 2s");
	/* No text: the exit. */
	c = reaped(0, 1);
	m = ended(0, "");
	sup_child_ended(&c, &cfg, &prov, &m, &rng);
	cr_assert_str_eq(c.cause, "exited without finishing");
}

Test(sup_child, describe)
{
	char b[64];

	sup_child_describe(3 << 8, b, sizeof b);
	cr_assert_str_eq(b, "exit status 3");
	sup_child_describe(0, b, sizeof b);
	cr_assert_str_eq(b, "exited without finishing");
	sup_child_describe(SIGSEGV, b, sizeof b);
	cr_assert_str_eq(b, "killed by SIGSEGV");
}

Test(sup_child, kill_stalled_names_the_wait_and_kills_once_running)
{
	struct child c = { .state = P_WAITING, .hb_fd = -1 };
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	c.pid = pid;
	/* Not running: nothing happens. */
	sup_child_kill_stalled(&c, 2000);
	cr_assert_str_eq(c.kill_cause, "");
	c.state = P_RUNNING;
	sup_child_kill_stalled(&c, 1500);
	cr_assert_str_eq(c.kill_cause, "stalled: no progress for 1500ms");
	/* The first cause stays. */
	sup_child_kill(&c, "bad frame");
	cr_assert_str_eq(c.kill_cause, "stalled: no progress for 1500ms");
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	c.kill_cause[0] = '\0';
	c.pid = 0;
	sup_child_kill_stalled(&c, 2000);
	cr_assert_str_eq(c.kill_cause, "", "no process, no kill");
}

Test(sup_child, state_names)
{
	cr_assert_null(sup_child_state_name(P_OFF));
	cr_assert_str_eq(sup_child_state_name(P_STARTING), "running");
	cr_assert_str_eq(sup_child_state_name(P_ENDING), "running");
	cr_assert_str_eq(sup_child_state_name(P_BACKOFF), "backoff");
	cr_assert_str_eq(sup_child_state_name(P_STOPPED), "stopped");
}

Test(sup_child, stats)
{
	struct child ch[3] = {
		{ .state = P_OFF },
		{ .state = P_DONE, .records = 5, .rejects = 1, .restarts = 2,
		  .started = 1000, .finished = 3500 },
		{ .state = P_FAILED, .started = 0 },
	};
	struct metrics_prov st[3];

	sup_child_stats(ch, 3, st);
	cr_assert_null(st[0].status);
	cr_assert_str_eq(st[1].status, "ok");
	cr_assert_eq(st[1].records, 5);
	cr_assert_eq(st[1].rejects, 1);
	cr_assert_eq(st[1].restarts, 2);
	cr_assert_float_eq(st[1].seconds, 2.5, 1e-9);
	cr_assert_str_eq(st[2].status, "failed");
	cr_assert_float_eq(st[2].seconds, 0.0, 1e-9);
}
