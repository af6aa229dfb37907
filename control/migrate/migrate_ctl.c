// SPDX-License-Identifier: MIT
/*
 * control/migrate/migrate_ctl.c - the Migration reconciler of `ferry
 * controller`: the plan stage (migrate.h).
 *
 * One reconcile of a Migration whose plan is not yet made for its
 * generation:
 *   1. its spec decoded (mig_spec_decode()); a Migration outside the
 *      controller's namespace, or a bad spec, is refused for good (the
 *      condition says why; a new generation tries again);
 *   2. its kubeconfig Secret read (beside it) and loaded self-contained
 *      (k8s_config_opts.data: no exec plugin, no file of this pod); a client
 *      of the source with spec.source.timeoutSeconds on every request;
 *   3. the facts, from both clusters (gather.c: migrate_priv.h);
 *   4. mig_plan_make(), written into status.plan with status.phase Planned
 *      (no error) or PlanFailed (findings that block the move).
 * A source that cannot be reached, refuses the credentials, or a Secret not
 * found (yet) fail the reconcile with the reason (SourceUnreachable,
 * SourceForbidden, KubeconfigSecretNotFound...): the runtime writes it into
 * the condition and retries with backoff. Nothing is written to the source.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate_priv.h"

/* the source's client, from the kubeconfig Secret beside the Migration */
static int source_client(const struct k8s_reconcile_req *req, const struct mig_spec *spec,
			 struct k8s_client **out, char *server, size_t slen, struct k8s_err *err)
{
	struct k8s_obj *secret = NULL;
	struct k8s_config *cfg = NULL;
	char *data = NULL, name[2 * MIG_NAME_MAX + 64];
	size_t len = 0;
	int ret;

	ret = k8s_get(req->client, &k8s_secrets, req->ns, spec->secret, NULL, &secret, err);
	if (ret == -ENOENT) {
		ret = k8s_err_set(
			err, ret, "KubeconfigSecretNotFound",
			"Secret %s/%s (spec.source.kubeconfigSecretRef) not found: create it with the source cluster's kubeconfig under the key %s",
			req->ns, spec->secret, spec->secret_key);
		goto out;
	}
	if (ret)
		goto out;
	ret = k8s_secret_get(secret, spec->secret_key, &data, &len);
	if (ret) {
		ret = k8s_err_set(
			err, -EINVAL, "KubeconfigSecretInvalid",
			"Secret %s/%s has no key %s (spec.source.kubeconfigSecretRef.key)%s",
			req->ns, spec->secret, spec->secret_key,
			ret == -EINVAL ? ": its value is not base64" : "");
		goto out;
	}
	snprintf(name, sizeof(name), "Secret %s/%s key %s", req->ns, spec->secret,
		 spec->secret_key);
	{
		struct k8s_config_opts o = {.sz = sizeof(o),
					    .data = data,
					    .data_len = len,
					    .data_name = name,
					    .context = spec->context[0] ? spec->context : NULL};
		struct k8s_client_opts co = {.sz = sizeof(co),
					     .qps = 50,
					     .burst = 100,
					     .timeout_ms = spec->timeout_s * 1000,
					     .connect_timeout_ms = spec->timeout_s * 1000};

		ret = k8s_config_load(&o, &cfg, err);
		if (ret) {
			/* the loader's reason (NotSelfContained, BadConfig...) stays */
			goto out;
		}
		snprintf(server, slen, "%s", k8s_config_server(cfg));
		ret = k8s_client_new(cfg, &co, out, err);
		if (!ret)
			cfg = NULL;
	}
out:
	if (data)
		k8s_secret_free(data, len);
	k8s_config_free(cfg);
	k8s_obj_free(secret);
	return ret;
}

static int write_status(const struct k8s_reconcile_req *req, const char *phase, const char *message,
			struct k8s_obj *plan, struct k8s_err *err)
{
	struct k8s_call call = {.subresource = "status"};
	struct k8s_obj *patch = NULL;
	char now[K8S_TIME_SIZE];
	int64_t gen = 0;
	int ret;

	k8s_obj_int(req->obj, "/metadata/generation", &gen);
	k8s_time_format(k8s_now_ns(), false, now);
	ret = k8s_obj_new(&patch);
	if (!ret)
		ret = k8s_obj_set_str(patch, "/status/phase", phase);
	if (!ret)
		ret = k8s_obj_set_int(patch, "/status/observedGeneration", gen);
	if (!ret)
		ret = k8s_obj_set_str(patch, "/status/plannedAt", now);
	if (!ret)
		ret = k8s_obj_set_str(patch, "/status/message", message);
	if (!ret && plan) {
		ret = k8s_obj_set(patch, "/status/plan", plan);
		if (!ret)
			plan = NULL;
	} else if (!ret) {
		ret = k8s_obj_set_null(patch, "/status/plan");
	}
	if (ret) {
		k8s_obj_free(plan);
		k8s_obj_free(patch);
		return k8s_err_set(err, ret, "", "migration %s: out of memory", req->key);
	}
	ret = k8s_patch(req->client, &mig_migrations, req->ns, req->name, K8S_PATCH_MERGE, patch,
			&call, NULL, err);
	k8s_obj_free(patch);
	return ret;
}

/* whether the plan of this generation is written already */
static bool planned(const struct k8s_obj *m)
{
	const char *phase = k8s_obj_str(m, "/status/phase");
	int64_t gen = 0, seen = -1;

	k8s_obj_int(m, "/metadata/generation", &gen);
	k8s_obj_int(m, "/status/observedGeneration", &seen);
	return phase && (!strcmp(phase, "Planned") || !strcmp(phase, "PlanFailed")) && gen == seen;
}

/* past its plan (a stage's phase), or planned with spec.start: the stages' */
static bool wants_stage(const struct k8s_obj *m)
{
	const char *phase = k8s_obj_str(m, "/status/phase");
	bool start = false;

	if (mig_staged(phase))
		return true;
	return planned(m) && !strcmp(phase, "Planned") && !k8s_obj_bool(m, "/spec/start", &start) &&
	       start;
}

/* @spec decoded, or @res says why (InvalidSpec, the field in *@msg). Return: 0; 1 invalid; -ENOMEM. */
static int decode(const struct k8s_reconcile_req *req, struct mig_spec **spec,
		  struct k8s_reconcile_res *res, char *msg, size_t len, struct k8s_err *err)
{
	*spec = calloc(1, sizeof(**spec));
	if (!*spec)
		return k8s_err_set(err, -ENOMEM, "", "migration %s: out of memory", req->key);
	if (!mig_spec_decode(req->obj, *spec, msg, len))
		return 0;
	res->failed = true;
	res->reason = "InvalidSpec";
	res->message = msg;
	return 1;
}

/*
 * spec.namespaceSelector's namespaces added to @spec: at plan time those the
 * source lists (@src), afterwards those the plan recorded (status.plan.
 * namespaces: the stages move the set that was planned). Return: 0; 1 refused
 * (@res and *@msg say why); -errno of the source's list (@err).
 */
static int resolve(const struct k8s_reconcile_req *req, struct mig_spec *spec,
		   struct k8s_client *src, const char *server, struct k8s_reconcile_res *res,
		   char *msg, size_t len, struct k8s_err *err)
{
	const struct k8s_obj *rec = k8s_obj_at(req->obj, "/status/plan/namespaces");
	struct k8s_items *found = NULL;
	const char **names = NULL;
	size_t n = 0;
	int ret = 0;

	if (!spec->ns_selector[0])
		return 0;
	if (src) {
		struct k8s_call call = {.label_selector = spec->ns_selector};
		struct k8s_err e;

		if (k8s_list(src, &k8s_namespaces, "", &call, &found, &e))
			return source_fail(server, spec, "list namespaces", &e, err);
		n = k8s_items_len(found);
	} else {
		n = k8s_obj_len(rec, "");
	}
	names = calloc(n ? n : 1, sizeof(*names));
	if (!names) {
		k8s_items_free(found);
		return k8s_err_set(err, -ENOMEM, "", "migration %s: out of memory", req->key);
	}
	if (src) {
		for (size_t i = 0; i < n; i++)
			names[i] = k8s_obj_get_name(k8s_items_at(found, i));
	} else {
		size_t i = 0;

		for (const struct k8s_obj *e = k8s_obj_first(rec); e && i < n; e = k8s_obj_next(e))
			names[i++] = k8s_obj_str(e, "/name");
	}
	for (size_t i = 0; i < n; i++)
		if (!names[i])
			names[i] = ""; /* refused as no namespace's name */
	if (mig_spec_add_namespaces(req->obj, spec, names, n, msg, len)) {
		res->failed = true;
		res->reason = "InvalidSpec";
		res->message = msg;
		ret = 1;
	}
	free(names);
	k8s_items_free(found);
	return ret;
}

/* the stages (stages.c), with the source's client */
static int stage(const struct k8s_reconcile_req *req, struct k8s_reconcile_res *res,
		 struct k8s_err *err)
{
	static _Thread_local char msg[512];
	struct k8s_client *src = NULL;
	struct mig_spec *spec = NULL;
	char server[256];
	int ret;

	ret = decode(req, &spec, res, msg, sizeof(msg), err);
	if (ret) {
		ret = ret < 0 ? ret : 0; /* the stage's phase stays: a spec put right goes on */
		goto out;
	}
	ret = resolve(req, spec, NULL, "", res, msg, sizeof(msg), err);
	if (ret) {
		ret = ret < 0 ? ret : 0;
		goto out;
	}
	ret = source_client(req, spec, &src, server, sizeof(server), err);
	if (!ret)
		ret = mig_stage_step(req, spec, src, res, err);
out:
	k8s_client_free(src);
	free(spec);
	return ret;
}

static int mig_reconcile(const struct k8s_reconcile_req *req, struct k8s_reconcile_res *res,
			 struct k8s_err *err)
{
	static _Thread_local char msg[1024];
	struct k8s_client *src = NULL;
	struct gather g = {0};
	struct mig_plan plan = {0};
	struct mig_spec *spec = NULL;
	struct k8s_obj *st = NULL;
	char server[256] = "";
	int ret;

	if (!req->obj)
		return 0;
	if (wants_stage(req->obj))
		return stage(req, res, err);
	if (planned(req->obj)) {
		const char *phase = k8s_obj_str(req->obj, "/status/phase");

		res->reason = !strcmp(phase, "Planned") ? "PlanReady" : "PlanHasErrors";
		res->failed = strcmp(phase, "Planned") != 0;
		res->message = k8s_obj_str(req->obj, "/status/message");
		return 0;
	}
	if (strcmp(req->ns, req->own_ns)) {
		res->failed = true;
		res->reason = "WrongNamespace";
		snprintf(
			msg, sizeof(msg),
			"a Migration runs in the controller's namespace %s, beside its kubeconfig Secret",
			req->own_ns);
		res->message = msg;
		return 0;
	}
	ret = decode(req, &spec, res, msg, sizeof(msg), err);
	if (ret) {
		if (ret > 0)
			ret = write_status(req, "PlanFailed", msg, NULL, err);
		goto out;
	}
	ret = source_client(req, spec, &src, server, sizeof(server), err);
	if (!ret)
		ret = resolve(req, spec, src, server, res, msg, sizeof(msg), err);
	if (ret > 0) {
		ret = write_status(req, "PlanFailed", msg, NULL, err);
		goto out;
	}
	if (!ret)
		ret = gather_source(src, server, spec, &g, err);
	if (!ret)
		ret = gather_target(req->client, spec, &g, err);
	if (ret)
		goto out;
	{
		struct mig_facts f;

		gather_facts(&g, server, &f);
		ret = mig_plan_make(spec, &f, &plan);
		if (!ret)
			ret = mig_plan_status(&plan, &f, &st);
		/* the namespaces planned, where they go: what the stages move */
		if (!ret)
			ret = k8s_obj_set_empty(st, "/namespaces", K8S_T_ARRAY);
		for (size_t i = 0; !ret && i < spec->n_namespaces; i++) {
			char path[64];

			ret = k8s_obj_set_empty(st, "/namespaces/-", K8S_T_OBJECT);
			snprintf(path, sizeof(path), "/namespaces/%zu/name", i);
			if (!ret)
				ret = k8s_obj_set_str(st, path, spec->namespaces[i]);
			snprintf(path, sizeof(path), "/namespaces/%zu/targetNamespace", i);
			if (!ret)
				ret = k8s_obj_set_str(st, path, spec->target_namespaces[i]);
		}
		if (ret) {
			ret = k8s_err_set(err, ret, "", "migration %s: out of memory", req->key);
			goto out;
		}
	}
	if (plan.n_errors) {
		const struct mig_finding *first = NULL;

		for (size_t i = 0; i < plan.n_findings && !first; i++)
			if (plan.findings[i].severity == MIG_ERROR)
				first = &plan.findings[i];
		assert(first);
		res->failed = true;
		res->reason = "PlanHasErrors";
		snprintf(msg, sizeof(msg),
			 "%zu finding(s) block the move; the first: %.300s: %s: %s", plan.n_errors,
			 first->object, first->reason, first->message);
	} else {
		res->reason = "PlanReady";
		snprintf(msg, sizeof(msg), "%zu volume(s), %lld bytes, %zu warning(s)",
			 plan.n_volumes, (long long)plan.bytes, plan.n_findings);
	}
	res->message = msg;
	ret = write_status(req, plan.n_errors ? "PlanFailed" : "Planned", msg, st, err);
	st = NULL;
out:
	k8s_obj_free(st);
	mig_plan_fini(&plan);
	gather_fini(&g);
	k8s_client_free(src);
	free(spec);
	return ret;
}

static const struct k8s_watch mig_watches[] = {
	{.resource = &mig_migrations, .own_ns = true},
};

const struct k8s_reconciler mig_reconciler = {
	.sz = sizeof(struct k8s_reconciler),
	.name = "migrate",
	.watches = mig_watches,
	.nwatches = sizeof(mig_watches) / sizeof(mig_watches[0]),
	.workers = 2,
	.condition = "Planned",
	.reconcile = mig_reconcile,
};
