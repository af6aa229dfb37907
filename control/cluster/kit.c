// SPDX-License-Identifier: MIT
/*
 * control/cluster/kit.c - what the cluster capability's reconcilers share
 * (cluster_priv.h "THE KIT"): an error filled, a refusal's one-line reason, a final phase,
 * times in a status, a status merge patch.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cluster_priv.h"
#include "k8s/k8s.h"

int cluster_fail(struct k8s_err *err, int code, const char *reason, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	snprintf(err->reason, sizeof(err->reason), "%s", reason);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int cluster_refuse(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	for (char *c = buf; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return 1;
}

int64_t cluster_time_of(const struct k8s_obj *o, const char *path)
{
	const char *s = k8s_obj_str(o, path);
	int64_t ns;

	return s && !k8s_time_parse(s, &ns) ? ns : 0;
}

int cluster_set_time(struct k8s_obj *o, const char *path, int64_t ns)
{
	char buf[K8S_TIME_SIZE];

	k8s_time_format(ns, false, buf);
	return k8s_obj_set_str(o, path, buf);
}

int cluster_status_patch(struct k8s_client *c, const struct k8s_resource *res, const char *ns,
			 const char *name, struct k8s_obj *st, const char *rv, struct k8s_err *err)
{
	struct k8s_obj *patch = NULL;
	int ret;

	ret = k8s_obj_new(&patch);
	if (!ret && rv)
		ret = k8s_obj_set_str(patch, "/metadata/resourceVersion", rv);
	if (!ret)
		ret = k8s_obj_set(patch, "/status", st);
	if (ret) {
		k8s_obj_free(st);
		k8s_obj_free(patch);
		return cluster_fail(err, ret, "OutOfMemory", "the status patch: out of memory");
	}
	ret = k8s_patch(c, res, ns, name, K8S_PATCH_MERGE, patch,
			&(struct k8s_call){.subresource = "status"}, NULL, err);
	k8s_obj_free(patch);
	return ret;
}

bool cluster_phase_done(const char *phase)
{
	static const char *const done[] = {"Completed", "PartiallyFailed", "Failed",
					   "FailedValidation"};

	for (size_t i = 0; i < sizeof(done) / sizeof(done[0]); i++)
		if (!strcmp(phase, done[i]))
			return true;
	return false;
}
