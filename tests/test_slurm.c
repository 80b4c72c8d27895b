/*
 * test_slurm.c - shards on a real Slurm cluster: the example job scripts
 * of conf/examples/slurm run the shards as a job array and the merge as a
 * job that depends on it (afterok), and the outputs must be the bytes one
 * run over everything writes.
 *
 * The cluster is a throwaway single node from Debian's slurm-wlm and
 * munge (scripts/deps.sh installs them): munged with a key and a socket
 * in a temporary folder, then slurmctld and slurmd in the foreground with
 * a slurm.conf there (state, spool, logs, pid files there too, free
 * ports), all as children of this test, as root.  Teardown stops each
 * and reaps it, also when a test failed.  Without the packages, or not
 * as root, the test is skipped with the reason.  Waits are polls with a
 * bounded total, never a fixed sleep.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers/testutil.h"

static char *dir;
static pid_t daemons[3];
static const char *skip_why;

static const char *const bins[] = { "/usr/sbin/munged", "/usr/sbin/slurmctld",
				    "/usr/sbin/slurmd", "/usr/bin/sbatch",
				    "/usr/bin/scontrol", "/usr/bin/sinfo" };

/* A TCP port nobody listens on now. */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	cr_assert(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Start argv as a child, its output appended to log. */
static pid_t start(const char *const *argv, const char *log)
{
	pid_t pid = fork();

	cr_assert(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setsid(); /* a signal to the test is not the daemons' */
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Run a shell command in dir; its stdout (free it) and exit status. */
static int sh(const char *cmd, char **out)
{
	char *full, buf[4096];
	size_t len = 0, n;
	FILE *p;
	int st;

	cr_assert(asprintf(&full, "cd '%s' && %s", dir, cmd) > 0);
	p = popen(full, "r");
	cr_assert(p);
	*out = malloc(1);
	while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
		*out = realloc(*out, len + n + 1);
		memcpy(*out + len, buf, n);
		len += n;
	}
	(*out)[len] = '\0';
	st = pclose(p);
	free(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* 100 ms, for the poll loops (each bounded by its own total). */
static void pause_poll(void)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void mkdir_in(const char *name)
{
	char *p = tu_path(dir, name);

	cr_assert_eq(mkdir(p, 0755), 0, "mkdir %s", p);
	free(p);
}

static char *file_in(const char *name)
{
	return tu_path(dir, name);
}

static void setup(void)
{
	char host[256], *conf, *p, *out = NULL;
	int ctl_port = free_port(), d_port = free_port();

	tu_watchdog(300);
	for (size_t i = 0; i < sizeof bins / sizeof bins[0]; i++)
		if (access(bins[i], X_OK) != 0) {
			skip_why = "slurm-wlm and munge are not installed "
				   "(scripts/deps.sh installs them as root)";
			return;
		}
	if (geteuid() != 0) {
		skip_why = "slurmd must run as root";
		return;
	}
	dir = tu_tmpdir();
	cr_assert_eq(chmod(dir, 0755), 0);
	mkdir_in("state");
	mkdir_in("spool");
	mkdir_in("log");
	mkdir_in("run");
	mkdir_in("in");
	mkdir_in("out");
	mkdir_in("single");
	mkdir_in("logs");
	/* munge: a key of random bytes, readable by its owner only. */
	{
		unsigned char key[1024];
		int fd = open("/dev/urandom", O_RDONLY);

		cr_assert(fd >= 0 && read(fd, key, sizeof key) == sizeof key);
		close(fd);
		p = file_in("munge.key");
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		cr_assert(fd >= 0 && write(fd, key, sizeof key) == sizeof key);
		close(fd);
		free(p);
	}
	cr_assert_eq(gethostname(host, sizeof host), 0);
	host[strcspn(host, ".")] = '\0';
	cr_assert(asprintf(&conf,
		"ClusterName=aggtest\n"
		"SlurmctldHost=%s(127.0.0.1)\n"
		"SlurmctldPort=%d\nSlurmdPort=%d\n"
		"AuthType=auth/munge\nCredType=cred/munge\n"
		"AuthInfo=socket=%s/run/munge.sock\n"
		"SlurmUser=root\nSlurmdUser=root\n"
		"StateSaveLocation=%s/state\nSlurmdSpoolDir=%s/spool\n"
		"SlurmctldPidFile=%s/run/slurmctld.pid\n"
		"SlurmdPidFile=%s/run/slurmd.pid\n"
		"SlurmctldLogFile=%s/log/slurmctld.log\n"
		"SlurmdLogFile=%s/log/slurmd.log\n"
		"ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
		"JobAcctGatherType=jobacct_gather/none\n"
		"AccountingStorageType=accounting_storage/none\n"
		"JobCompType=jobcomp/none\nSchedulerType=sched/builtin\n"
		"SelectType=select/cons_tres\nSelectTypeParameters=CR_Core\n"
		"MpiDefault=none\nReturnToService=2\nSwitchType=switch/none\n"
		"NodeName=%s NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN\n"
		"PartitionName=debug Nodes=%s Default=YES MaxTime=INFINITE "
		"State=UP\n",
		host, ctl_port, d_port, dir, dir, dir, dir, dir, dir, dir, host,
		host) > 0);
	tu_put(dir, "slurm.conf", conf);
	free(conf);
	p = file_in("slurm.conf");
	setenv("SLURM_CONF", p, 1);
	{
		char *key = file_in("munge.key"), *sock = file_in("run/munge.sock");
		char *log = file_in("log/munged.log"), *seed = file_in("run/seed");
		char *pid = file_in("run/munged.pid"), *dlog = file_in("log/daemons.log");
		char a1[512], a2[512], a3[512], a4[512], a5[512];
		const char *munged[] = { bins[0], "-F", "-f", a1, a2, a3, a4, a5,
					 NULL };
		const char *ctl[] = { bins[1], "-D", "-f", p, NULL };
		const char *slurmd[] = { bins[2], "-D", "-f", p, NULL };
		int ok = 0;

		snprintf(a1, sizeof a1, "--key-file=%s", key);
		snprintf(a2, sizeof a2, "--socket=%s", sock);
		snprintf(a3, sizeof a3, "--log-file=%s", log);
		snprintf(a4, sizeof a4, "--seed-file=%s", seed);
		snprintf(a5, sizeof a5, "--pid-file=%s", pid);
		daemons[0] = start(munged, dlog);
		/* Wait for munged's socket, then start Slurm. */
		for (int i = 0; i < 300 && access(sock, F_OK) != 0; i++)
			pause_poll();
		cr_assert_eq(access(sock, F_OK), 0, "munged did not start");
		daemons[1] = start(ctl, dlog);
		daemons[2] = start(slurmd, dlog);
		for (int i = 0; i < 600 && !ok; i++) {
			ok = sh("sinfo -h -o %t 2>/dev/null", &out) == 0 &&
			     strncmp(out, "idle", 4) == 0;
			free(out);
			if (!ok)
				pause_poll();
		}
		cr_assert(ok, "the Slurm node never became idle (see %s/log)",
			  dir);
		free(key);
		free(sock);
		free(log);
		free(seed);
		free(pid);
		free(dlog);
	}
	free(p);
}

/* Stop and reap every daemon we started: TERM, then KILL after 10 s. */
static void teardown(void)
{
	for (int i = 2; i >= 0; i--) {
		int st, k;

		if (daemons[i] <= 0)
			continue;
		kill(daemons[i], SIGTERM);
		for (k = 0; k < 100; k++) {
			if (waitpid(daemons[i], &st, WNOHANG) == daemons[i])
				break;
			pause_poll();
		}
		if (k == 100) {
			kill(daemons[i], SIGKILL);
			waitpid(daemons[i], &st, 0);
		}
		daemons[i] = 0;
	}
	unsetenv("SLURM_CONF");
	if (dir)
		tu_tmpdir_free(&dir);
}

TestSuite(slurm, .init = setup, .fini = teardown, .timeout = 300);

static const char config[] =
	"[aggregate]\n"
	"output = out/groups.csv\n"
	"fields = id:int, region:text, qty:int, price:float\n"
	"group_by = region\n"
	"aggregates = count(*) as n, sum(qty) as sq, sum(price) as sp,\n"
	"  median(price) as mp, min(region) as r, arg_max(id, price) as top\n"
	"\n"
	"[output rows]\n"
	"output = out/rows.csv\n"
	"mode = union\n"
	"\n"
	"[provider csv]\n"
	"type = file\n"
	"path = in/part-*.csv\n"
	"shard = split\n"
	"\n"
	"[provider other]\n"
	"type = file\n"
	"path = in/part-03.csv\n";

static void make_data(void)
{
	uint64_t rng = 7;

	for (int f = 0; f < 8; f++) {
		char name[32], *text = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&text, &len);

		fputs("id,region,qty,price\n", m);
		for (int k = 0; k < 10 + f * 7; k++) {
			uint64_t r = tu_rng(&rng);

			fprintf(m, "%d,r%d,%d,%.17g\n", f * 1000 + k,
				(int)(r % 5), (int)(r >> 8) % 100,
				(double)(int64_t)(r >> 11) / 3e9);
		}
		fclose(m);
		snprintf(name, sizeof name, "in/part-%02d.csv", f);
		tu_put(dir, name, text);
		free(text);
	}
}

/* The state of job id as scontrol tells it ("" while unknown). */
static void job_state(const char *id, char *state, size_t len)
{
	char cmd[128], *out, *at;

	snprintf(cmd, sizeof cmd, "scontrol show job %s 2>/dev/null", id);
	state[0] = '\0';
	if (sh(cmd, &out) == 0 && (at = strstr(out, "JobState=")) != NULL)
		snprintf(state, len, "%.*s", (int)strcspn(at + 9, " \n"),
			 at + 9);
	free(out);
}

Test(slurm, array_and_dependent_merge_equal_one_run)
{
	static const char *const files[] = { "out/groups.csv", "out/rows.csv" };
	struct tu_result r;
	const char *single[] = { "-q", "-c", "shard.conf", NULL };
	char *cmd, *out, state[64] = "", shards[32], merge[32];
	int i;

	if (skip_why)
		cr_skip_test("%s", skip_why);
	make_data();
	tu_put(dir, "shard.conf", config);
	cr_assert_eq(tu_run(&r, dir, single, NULL), 0, "%s", r.err);
	tu_result_free(&r);
	for (size_t k = 0; k < 2; k++) {
		char *s = tu_get(dir, files[k]), name[64];

		snprintf(name, sizeof name, "single/%s", files[k] + 4);
		tu_put(dir, name, s);
		free(s);
		s = tu_path(dir, files[k]);
		unlink(s);
		free(s);
	}

	/* An array that starts at 1: shards 0..2 all the same. */
	cr_assert(asprintf(&cmd, "AGG_CONF=shard.conf AGG_PARTS=parts "
			   "AGGREGATE='%s' sh '%s/conf/examples/slurm/submit.sh' "
			   "--array=1-3", tu_bin(), tu_srcdir()) > 0);
	cr_assert_eq(sh(cmd, &out), 0, "submit.sh: %s", out);
	cr_assert_eq(sscanf(out, "%31s %31s", shards, merge), 2, "%s", out);
	free(out);
	free(cmd);
	for (i = 0; i < 1200; i++) {
		job_state(merge, state, sizeof state);
		if (strcmp(state, "COMPLETED") == 0 ||
		    strcmp(state, "FAILED") == 0 ||
		    strcmp(state, "CANCELLED") == 0 ||
		    strcmp(state, "TIMEOUT") == 0)
			break;
		pause_poll();
	}
	{
		char *m = tu_get(dir, "logs/merge.log");
		char *s1 = tu_get(dir, "logs/shard-1.log");

		cr_assert_str_eq(state, "COMPLETED",
				 "merge job %s: %s\nmerge log: %s\nshard 1 "
				 "log: %s", merge, state, m ? m : "",
				 s1 ? s1 : "");
		free(m);
		free(s1);
	}
	for (size_t k = 0; k < 2; k++) {
		char name[64], *want, *got;

		snprintf(name, sizeof name, "single/%s", files[k] + 4);
		want = tu_get(dir, name);
		got = tu_get(dir, files[k]);
		cr_assert(got, "the merge job wrote no %s", files[k]);
		cr_assert_str_eq(got, want, "%s differs from the single run's",
				 files[k]);
		free(want);
		free(got);
	}
	/* The shards were three, numbered from 0 whatever the array. */
	for (i = 1; i <= 3; i++) {
		char name[32], *p;

		snprintf(name, sizeof name, "parts/part-%d.agp", i);
		p = tu_path(dir, name);
		cr_assert_eq(access(p, F_OK), 0, "no %s", name);
		free(p);
	}
}
