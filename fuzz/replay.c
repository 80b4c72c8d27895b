/*
 * replay.c - run a fuzz target over saved inputs, without libFuzzer.
 *
 *   replay_TARGET FILE_OR_DIR...
 *
 * Feeds each file (each regular file of a folder, in name order) once to
 * the target's LLVMFuzzerTestOneInput.  Built with gcc in the sanitizer
 * build, it replays the seed corpus and the saved crash inputs as part of
 * `make test`; a crash, a sanitizer report or a leak fails it.  Exit 0
 * when every input ran, 1 when an input could not be read.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			if (buf == NULL) {
				fclose(f);
				fprintf(stderr, "replay: out of memory\n");
				return -1;
			}
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	/* An exact-size copy, so that reads past the end are caught. */
	{
		unsigned char *exact = malloc(len ? len : 1);

		if (exact == NULL) {
			free(buf);
			return -1;
		}
		memcpy(exact, buf, len);
		free(buf);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	int ran = 0, bad = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		struct dirent **names;
		int n;

		if (stat(argv[i], &st) != 0) {
			/* A target may have no saved crash inputs yet. */
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad += run_file(argv[i]) < 0;
			ran++;
			continue;
		}
		n = scandir(argv[i], &names, NULL, by_name);
		if (n < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
				strerror(errno));
			bad++;
			continue;
		}
		for (int k = 0; k < n; k++) {
			char path[4096];

			if (names[k]->d_name[0] != '.') {
				snprintf(path, sizeof path, "%s/%s", argv[i],
					 names[k]->d_name);
				if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
					bad += run_file(path) < 0;
					ran++;
				}
			}
			free(names[k]);
		}
		free(names);
	}
	printf("replay: %d inputs, %d unreadable\n", ran, bad);
	return bad ? 1 : 0;
}
