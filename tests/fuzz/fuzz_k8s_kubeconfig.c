// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_k8s_kubeconfig.c - kubeconfig files from any bytes: YAML
 * (libyaml, aliases, nesting), one file or several merged (the input cut at
 * "\n#---\n", as KUBECONFIG lists them), a context named on a first line
 * "#context: NAME". Resolution must end in a configuration or one error
 * line, never a crash or a leak; an exec plugin is never run. A resolved
 * configuration has a server URL and a namespace. Seeds: real kubeconfigs
 * (kind, GKE, EKS, AKS shapes; tokens, data, files, exec).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/k8s_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kcfg_file files[4];
	struct k8s_config_opts o = {.sz = sizeof(o)};
	struct k8s_config *cfg = NULL;
	struct k8s_err err;
	char *buf = malloc(size + 1), *p, ctx[64];
	size_t n = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	p = buf;
	if (!strncmp(p, "#context: ", 10)) {
		size_t k = strcspn(p + 10, "\n");

		if (k >= sizeof(ctx))
			k = sizeof(ctx) - 1;
		memcpy(ctx, p + 10, k);
		ctx[k] = '\0';
		o.context = ctx;
	}
	while (n < 4) {
		char *sep = strstr(p, "\n#---\n");
		size_t len = sep ? (size_t)(sep - p) + 1 : strlen(p);

		files[n].path = n ? "/fuzz/dir/b.yaml" : "/fuzz/a.yaml";
		files[n].buf = p;
		files[n].len = len;
		n++;
		if (!sep)
			break;
		p = sep + 6;
	}
	if (!kcfg_from_buffers(files, n, &o, &cfg, &err)) {
		if (!cfg || !cfg->server || strncmp(cfg->server, "http", 4) ||
		    !k8s_config_ns(cfg)[0])
			abort();
		k8s_config_free(cfg);
	} else if (!err.msg[0] && err.code != -ENOMEM) {
		abort(); /* every refusal says why */
	}
	/* the first file again as a kubeconfig held in memory (self-contained only) */
	o.data = files[0].buf;
	o.data_len = files[0].len;
	o.data_name = "Secret fuzz/kc key kubeconfig";
	memset(&err, 0, sizeof(err));
	if (!k8s_config_load(&o, &cfg, &err)) {
		if (!cfg || !cfg->server || cfg->exec.command || cfg->token_file ||
		    cfg->cert_file || cfg->key_file || cfg->ca_file)
			abort(); /* nothing of the reader's files or programs */
		k8s_config_free(cfg);
	} else if (!err.msg[0] && err.code != -ENOMEM) {
		abort();
	}
	free(buf);
	return 0;
}
