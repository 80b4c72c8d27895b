/*
 * fuzz_config.c - providers.conf parsing and validation (common/config*.c).
 *
 * The input is a whole config file, given to load() exactly as cfg_load()
 * does after reading the file (config.c is included for that: NUL bytes
 * reach the reader, config_read.c, as they would from disk).  It must either accept
 * it or fail with a message that names the file and a line; it must never
 * crash, read out of bounds or leak, whatever the bytes (long lines that
 * config.c feeds to inih in chunks, NUL bytes, ${VAR} expansions, broken
 * UTF-8).  An accepted config is also put through cfg_select and
 * cfg_set_output, as the command line does.
 */
#include "../common/config.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CFG_ERR_MAX];
	struct cfg cfg;
	char *text;
	int rc;

	if (size > 1 << 20)
		return 0;
	/* Fixed values for the ${VAR} expansions the corpus uses. */
	setenv("FUZZ_TOKEN", "s3cret-token", 0);
	setenv("FUZZ_EMPTY", "", 0);
	/* An exact copy, so that ASan sees any read past the end. */
	text = malloc(size ? size : 1);
	if (text == NULL)
		abort();
	memcpy(text, data, size);
	memset(&cfg, 0, sizeof cfg);
	err[0] = '\0';
	rc = load("fuzz.conf", text, size, &cfg, err, sizeof err);
	if (rc == 0) {
		if (cfg.nproviders > 0) {
			(void)cfg_select(&cfg, cfg.providers[0].name, err,
					 sizeof err);
		}
		(void)cfg_set_output(&cfg, "-", err, sizeof err);
		cfg_free(&cfg);
	} else if (strncmp(err, "fuzz.conf", 9) != 0) {
		fprintf(stderr, "config error without the file name: %s\n", err);
		abort();
	}
	free(text);
	return 0;
}
