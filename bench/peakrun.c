/*
 * peakrun.c - run a command and write its peak resident memory to a file.
 *
 *   peakrun FILE COMMAND [ARG...]
 *
 * FILE gets one line: the largest resident set, in KiB, of COMMAND and of
 * every process it waited for (wait4()'s ru_maxrss).  peakrun exits with
 * COMMAND's status, or 128 + the signal that ended it.
 *
 * Why not read ru_maxrss in bench.py itself: Linux hands a forked child
 * the high-water mark of the memory it was forked from, and keeps it
 * across exec.  A bench that has grown (1 M groups parsed to compare them
 * with a peer's) would make every later command seem that large.  peakrun
 * is small when it forks the command, so the figure is the command's own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rusage ru;
	pid_t pid;
	FILE *f;
	int status;

	if (argc < 3) {
		fprintf(stderr, "usage: peakrun FILE COMMAND [ARG...]\n");
		return 64;
	}
	pid = fork();
	if (pid < 0) {
		perror("peakrun: fork");
		return 71;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "peakrun: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) {
			perror("peakrun: wait4");
			return 71;
		}
	f = fopen(argv[1], "w");
	if (f == NULL || fprintf(f, "%ld\n", ru.ru_maxrss) < 0 ||
	    fclose(f) != 0) {
		perror("peakrun: writing the peak");
		return 74;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
