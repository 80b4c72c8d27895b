/*
 * test_k8s.c - the Kubernetes example (conf/examples/k8s): every manifest
 * is read by kubectl on the client side, offline (kubectl label --local:
 * it parses each object and needs its apiVersion and kind, no cluster),
 * and the config the ConfigMap carries loads as a config.  Without
 * kubectl the manifest test is skipped with the reason.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/config.h"
#include "helpers/testutil.h"

static const char *const manifests[] = { "configmap.yaml",
					 "partials-pvc.yaml",
					 "shards-job.yaml", "merge-job.yaml" };

/* Where kubectl is, or NULL. */
static const char *kubectl(void)
{
	static const char *const where[] = { "/usr/bin/kubectl",
					     "/usr/local/bin/kubectl" };

	for (size_t i = 0; i < sizeof where / sizeof where[0]; i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return NULL;
}

/* kubectl's exit status reading path offline; its output into out. */
static int kubectl_reads(const char *path, char *out, size_t len)
{
	char *cmd;
	FILE *p;
	size_t n;
	int st;

	cr_assert(asprintf(&cmd, "'%s' label --local -f '%s' aggregate-check=1 "
			   "-o name 2>&1", kubectl(), path) > 0);
	p = popen(cmd, "r");
	cr_assert(p);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	st = pclose(p);
	free(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

Test(k8s, manifests_pass_kubectl_client_side)
{
	char out[4096], *path, *dir;

	if (kubectl() == NULL)
		cr_skip_test("kubectl is not installed: the manifests are not "
			     "checked");
	for (size_t i = 0; i < sizeof manifests / sizeof manifests[0]; i++) {
		cr_assert(asprintf(&path, "%s/conf/examples/k8s/%s",
				   tu_srcdir(), manifests[i]) > 0);
		cr_assert_eq(kubectl_reads(path, out, sizeof out), 0, "%s: %s",
			     manifests[i], out);
		free(path);
	}
	/* The check sees a broken manifest. */
	dir = tu_tmpdir();
	tu_put(dir, "bad.yaml", "apiVersion: batch/v1\nmetadata:\n  name: x\n");
	path = tu_path(dir, "bad.yaml");
	cr_assert_neq(kubectl_reads(path, out, sizeof out), 0,
		      "kubectl took a manifest without a kind: %s", out);
	free(path);
	tu_tmpdir_free(&dir);
}

Test(k8s, configmap_holds_a_valid_config)
{
	char *path, *yaml, *at, *conf, *o, *dir, err[CFG_ERR_MAX];
	struct cfg cfg;
	int code, split = 0;

	cr_assert(asprintf(&path, "%s/conf/examples/k8s/configmap.yaml",
			   tu_srcdir()) > 0);
	yaml = tu_read(path, NULL);
	cr_assert(yaml);
	/* The block scalar under `providers.conf: |`, 4 spaces in. */
	at = strstr(yaml, "providers.conf: |\n");
	cr_assert(at);
	at += strlen("providers.conf: |\n");
	conf = malloc(strlen(at) + 1);
	o = conf;
	while (*at) {
		size_t n = strcspn(at, "\n");

		if (n > 0 && strncmp(at, "    ", 4) != 0)
			break; /* the block ends */
		if (n >= 4) {
			memcpy(o, at + 4, n - 4);
			o += n - 4;
		}
		*o++ = '\n';
		at += n + (at[n] == '\n');
	}
	*o = '\0';
	dir = tu_tmpdir();
	free(path);
	path = tu_path(dir, "providers.conf");
	tu_write(path, conf);
	setenv("PGURL", "host=db.example.com dbname=shop", 1);
	setenv("SHARD", "3", 1);
	setenv("SHARDS", "8", 1);
	cr_assert_eq(cfg_load(path, &cfg, err, sizeof err, &code), 0, "%s",
		     err);
	cr_assert_eq(cfg.nproviders, 3);
	cr_assert_eq(cfg.noutputs, 1);
	for (int i = 0; i < cfg.nproviders; i++)
		split += cfg.providers[i].shard_split;
	cr_assert_eq(split, 2);
	cfg_free(&cfg);
	free(path);
	free(conf);
	free(yaml);
	tu_tmpdir_free(&dir);
}
