// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_k8s_status.c - an API server's answer from any bytes, as
 * the client reads a failed one: the Status object (reason, message,
 * details.causes) through the error table (k8s/errmap.c) in every request
 * context and for statuses around the input's own code; the result is a
 * negative errno, a known exit class and a NUL-terminated one-line message.
 * Also an ExecCredential from the same bytes. Seeds: Status bodies of
 * kube-apiserver (tests/k8s/data/status/).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/k8s_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct k8s_config cfg = {
	.server = "https://10.0.0.1:6443",
	.file = "/k/config",
	.cluster_name = "c",
	.user_name = "u",
	.auth = KAUTH_EXEC,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int ctxs[] = {KCTX_READ,  KCTX_WATCH,  KCTX_CREATE, KCTX_UPDATE,
				   KCTX_PATCH, KCTX_JPATCH, KCTX_APPLY,	 KCTX_DELETE};
	cJSON *st = kjson_parse((const char *)data, size);
	int64_t code = 500;
	long http;
	struct kcred cr;
	struct k8s_err err;

	/* as the client reads it: a whole number within 2^53, else none */
	if (k8s_obj_int(O(st), "/code", &code) || code < -1000000 || code > 1000000)
		code = 500;
	http = (long)code;
	for (size_t i = 0; i < sizeof(ctxs) / sizeof(ctxs[0]); i++) {
		for (long d = -1; d <= 1; d++) {
			struct kfail f = {
				.http = http + d,
				.reason = kjson_str(st, "reason"),
				.message = kjson_str(st, "message"),
				.details = cJSON_GetObjectItemCaseSensitive(st, "details"),
				.ctx = ctxs[i],
				.verb = "get",
				.resource = "pods",
				.ns = "ns",
				.name = "n",
				.what = "get pods/n in namespace ns",
				.cfg = &cfg,
				.connect_timeout_ms = 10000,
				.timeout_ms = 60000,
			};

			memset(&err, 0xa5, sizeof(err));
			if (f.http <= 0)
				f.transport = "ConnectionReset";
			kerr_map(&f, &err);
			if (err.code >= 0 || err.exit < K8S_EXIT_FAILURE ||
			    err.exit > K8S_EXIT_NETWORK || !memchr(err.msg, 0, sizeof(err.msg)) ||
			    !memchr(err.reason, 0, sizeof(err.reason)) ||
			    strncmp(err.msg, f.what, strlen(f.what)))
				abort();
		}
	}
	cJSON_Delete(st);
	if (!kauth_parse_exec((const char *)data, size, &cr, &err)) {
		if (!cr.token && !(cr.cert && cr.key))
			abort();
		kcred_fini(&cr);
	}
	return 0;
}
