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
 *   3. the facts: the source's /version, namespaces, claims, the pods that
 *      mount them (their nodes and zones), storage classes; the target's
 *      /version, storage classes, claims and ResourceQuotas in those
 *      namespaces;
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

#include "migrate.h"

#define MIG_ZONE_LABEL "topology.kubernetes.io/zone"

static const struct k8s_resource mig_storageclasses =
	K8S_RESOURCE("storage.k8s.io", "v1", "storageclasses", "StorageClass", false);
static const struct k8s_resource mig_quotas =
	K8S_RESOURCE("", "v1", "resourcequotas", "ResourceQuota", true);

/* what the gathering keeps alive while the plan is made */
struct gather {
	struct k8s_obj *src_version, *dst_version;
	struct k8s_items *src_classes, *dst_classes, *nodes;
	struct k8s_items *claims[MIG_MAX_NAMESPACES], *pods[MIG_MAX_NAMESPACES];
	struct k8s_items *dst_claims[MIG_MAX_NAMESPACES], *dst_quotas[MIG_MAX_NAMESPACES];
	bool src_ns[MIG_MAX_NAMESPACES], dst_ns[MIG_MAX_NAMESPACES];
	struct mig_class *scl, *dcl;
	struct mig_claim *cl;
	size_t ncl;
	char **dst_keys;
	size_t ndst_keys;
	struct mig_quota *q;
	size_t nq;
};

static void gather_fini(struct gather *g)
{
	k8s_obj_free(g->src_version);
	k8s_obj_free(g->dst_version);
	k8s_items_free(g->src_classes);
	k8s_items_free(g->dst_classes);
	k8s_items_free(g->nodes);
	for (size_t i = 0; i < MIG_MAX_NAMESPACES; i++) {
		k8s_items_free(g->claims[i]);
		k8s_items_free(g->pods[i]);
		k8s_items_free(g->dst_claims[i]);
		k8s_items_free(g->dst_quotas[i]);
	}
	free(g->scl);
	free(g->dcl);
	free(g->cl);
	for (size_t i = 0; i < g->ndst_keys; i++)
		free(g->dst_keys[i]);
	free(g->dst_keys);
	free(g->q);
}

/* a source request's failure, with the reason the condition shows */
static int source_fail(const char *server, const struct mig_spec *spec, const char *what,
		       const struct k8s_err *e, struct k8s_err *err)
{
	if (e->http == 401 || e->http == 403)
		return k8s_err_set(
			err, e->code, "SourceForbidden",
			"the source API server %s refuses to %s (HTTP %ld): give the kubeconfig's user the ClusterRole ferry-migration-source (k8s/deploy/migrate-source-rbac.yaml)",
			server, what, e->http);
	if (e->http)
		return k8s_err_set(err, e->code, "SourceError", "the source API server %s: %s: %s",
				   server, what, e->msg);
	return k8s_err_set(
		err, e->code, "SourceUnreachable",
		"the source API server %s did not answer (%s) within %u s (spec.source.timeoutSeconds): %.120s",
		server, e->reason[0] ? e->reason : "no answer", spec->timeout_s, e->msg);
}

static void version_of(const struct k8s_obj *v, struct mig_side *s)
{
	const char *ma = k8s_obj_str(v, "/major"), *mi = k8s_obj_str(v, "/minor");

	s->major = ma ? atoi(ma) : 0;
	s->minor = mi ? atoi(mi) : 0;
	if (s->major <= 0 || s->minor < 0)
		s->major = s->minor = 0;
}

static int classes_of(const struct k8s_items *l, struct mig_class **out)
{
	size_t n = k8s_items_len(l);

	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct k8s_obj *o = k8s_items_at(l, i);
		const char *d =
			k8s_obj_annotation(o, "storageclass.kubernetes.io/is-default-class");
		const char *mode = k8s_obj_str(o, "/volumeBindingMode");

		(*out)[i] = (struct mig_class){
			.name = k8s_obj_get_name(o),
			.provisioner = k8s_obj_str(o, "/provisioner"),
			.is_default = d && !strcmp(d, "true"),
			.wait_for_consumer = mode && !strcmp(mode, "WaitForFirstConsumer")};
	}
	return 0;
}

static unsigned int access_of(const struct k8s_obj *modes)
{
	unsigned int a = 0;

	for (const struct k8s_obj *m = k8s_obj_first(modes); m; m = k8s_obj_next(m)) {
		const char *s = k8s_obj_str(m, "");

		if (!s)
			continue;
		a |= !strcmp(s, "ReadWriteOnce")      ? MIG_RWO
		     : !strcmp(s, "ReadOnlyMany")     ? MIG_ROX
		     : !strcmp(s, "ReadWriteMany")    ? MIG_RWX
		     : !strcmp(s, "ReadWriteOncePod") ? MIG_RWOP
						      : 0;
	}
	return a;
}

/* the running pod of @pods that mounts claim @name, if any */
static const struct k8s_obj *user_of(const struct k8s_items *pods, const char *name)
{
	for (size_t i = 0; i < k8s_items_len(pods); i++) {
		const struct k8s_obj *p = k8s_items_at(pods, i);
		const char *node = k8s_obj_str(p, "/spec/nodeName");

		if (!node || !*node)
			continue;
		for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(p, "/spec/volumes")); v;
		     v = k8s_obj_next(v)) {
			const char *c = k8s_obj_str(v, "/persistentVolumeClaim/claimName");

			if (c && !strcmp(c, name))
				return p;
		}
	}
	return NULL;
}

static const char *zone_of(const struct k8s_items *nodes, const char *node)
{
	for (size_t i = 0; node && i < k8s_items_len(nodes); i++) {
		const struct k8s_obj *n = k8s_items_at(nodes, i);

		if (!strcmp(k8s_obj_get_name(n), node))
			return k8s_obj_label(n, MIG_ZONE_LABEL);
	}
	return NULL;
}

static int64_t quota_value(const struct k8s_obj *q, const char *path)
{
	const char *s = k8s_obj_str(q, path);
	int64_t v;

	if (!s || k8s_quantity_parse(s, &v) || v < 0)
		return -1;
	return v / 1000; /* milli-units */
}

/* what the source says: versions, namespaces, claims and their users */
static int gather_source(struct k8s_client *src, const char *server, const struct mig_spec *spec,
			 struct gather *g, struct k8s_err *err)
{
	struct k8s_err e;
	size_t total = 0;
	int ret;

	ret = k8s_request(src, "GET", "/version", NULL, &g->src_version, &e);
	if (ret)
		return source_fail(server, spec, "tell its version (GET /version)", &e, err);
	ret = k8s_list(src, &mig_storageclasses, "", NULL, &g->src_classes, &e);
	if (ret)
		return source_fail(server, spec, "list storageclasses", &e, err);
	ret = k8s_list(src, &k8s_nodes, "", NULL, &g->nodes, &e);
	if (ret)
		return source_fail(server, spec, "list nodes", &e, err);
	for (size_t i = 0; i < spec->n_namespaces; i++) {
		const char *ns = spec->namespaces[i];

		ret = k8s_get(src, &k8s_namespaces, NULL, ns, NULL, NULL, &e);
		if (ret == -ENOENT)
			continue;
		if (ret)
			return source_fail(server, spec, "get a namespace", &e, err);
		g->src_ns[i] = true;
		ret = k8s_list(src, &k8s_pvcs, ns, NULL, &g->claims[i], &e);
		if (ret)
			return source_fail(server, spec, "list persistentvolumeclaims", &e, err);
		ret = k8s_list(src, &k8s_pods, ns, NULL, &g->pods[i], &e);
		if (ret)
			return source_fail(server, spec, "list pods", &e, err);
		total += k8s_items_len(g->claims[i]);
	}
	ret = classes_of(g->src_classes, &g->scl);
	if (ret)
		return k8s_err_set(err, ret, "", "migration plan: out of memory");
	g->cl = calloc(total ? total : 1, sizeof(*g->cl));
	if (!g->cl)
		return k8s_err_set(err, -ENOMEM, "", "migration plan: out of memory");
	for (size_t i = 0; i < spec->n_namespaces; i++) {
		for (size_t j = 0; j < k8s_items_len(g->claims[i]); j++) {
			const struct k8s_obj *o = k8s_items_at(g->claims[i], j), *user;
			struct mig_claim *c = &g->cl[g->ncl];
			struct k8s_pvc v;

			if (k8s_pvc_view(o, &v))
				continue;
			user = user_of(g->pods[i], v.meta.name);
			*c = (struct mig_claim){
				.ns = spec->namespaces[i],
				.target_ns = spec->target_namespaces[i],
				.name = v.meta.name,
				.storage_class = v.storage_class,
				.phase = v.phase,
				.volume_mode = v.volume_mode ? v.volume_mode : "Filesystem",
				.bytes = v.capacity > 0 ? v.capacity : v.request,
				.access = access_of(v.access_modes),
				.pod = user ? k8s_obj_get_name(user) : NULL,
				.node = user ? k8s_obj_str(user, "/spec/nodeName") : NULL};
			c->zone = zone_of(g->nodes, c->node);
			g->ncl++;
		}
	}
	return 0;
}

/* what the target (this cluster) says */
static int gather_target(struct k8s_client *dst, const struct mig_spec *spec, struct gather *g,
			 struct k8s_err *err)
{
	size_t nq = 0, nk = 0;
	int ret;

	ret = k8s_request(dst, "GET", "/version", NULL, &g->dst_version, err);
	if (!ret)
		ret = k8s_list(dst, &mig_storageclasses, "", NULL, &g->dst_classes, err);
	for (size_t i = 0; !ret && i < spec->n_namespaces; i++) {
		const char *ns = spec->target_namespaces[i];

		ret = k8s_get(dst, &k8s_namespaces, NULL, ns, NULL, NULL, err);
		if (ret == -ENOENT) {
			ret = 0;
			continue;
		}
		if (ret)
			break;
		g->dst_ns[i] = true;
		ret = k8s_list(dst, &k8s_pvcs, ns, NULL, &g->dst_claims[i], err);
		if (!ret)
			ret = k8s_list(dst, &mig_quotas, ns, NULL, &g->dst_quotas[i], err);
		nk += k8s_items_len(g->dst_claims[i]);
		nq += k8s_items_len(g->dst_quotas[i]);
	}
	if (ret)
		return ret;
	ret = classes_of(g->dst_classes, &g->dcl);
	g->dst_keys = calloc(nk ? nk : 1, sizeof(*g->dst_keys));
	g->q = calloc(nq ? nq : 1, sizeof(*g->q));
	if (ret || !g->dst_keys || !g->q)
		return k8s_err_set(err, -ENOMEM, "", "migration plan: out of memory");
	for (size_t i = 0; i < spec->n_namespaces; i++) {
		for (size_t j = 0; j < k8s_items_len(g->dst_claims[i]); j++) {
			const char *name = k8s_obj_get_name(k8s_items_at(g->dst_claims[i], j));
			size_t len =
				strlen(spec->target_namespaces[i]) + strlen(name ? name : "") + 2;

			g->dst_keys[g->ndst_keys] = malloc(len);
			if (!g->dst_keys[g->ndst_keys])
				return k8s_err_set(err, -ENOMEM, "",
						   "migration plan: out of memory");
			snprintf(g->dst_keys[g->ndst_keys++], len, "%s/%s",
				 spec->target_namespaces[i], name ? name : "");
		}
		for (size_t j = 0; j < k8s_items_len(g->dst_quotas[i]); j++) {
			const struct k8s_obj *q = k8s_items_at(g->dst_quotas[i], j);

			g->q[g->nq++] = (struct mig_quota){
				.ns = spec->target_namespaces[i],
				.name = k8s_obj_get_name(q),
				.hard = quota_value(q, "/spec/hard/requests.storage"),
				.used = quota_value(q, "/status/used/requests.storage"),
				.claims_hard = quota_value(q, "/spec/hard/persistentvolumeclaims"),
				.claims_used =
					quota_value(q, "/status/used/persistentvolumeclaims")};
			if (g->q[g->nq - 1].used < 0)
				g->q[g->nq - 1].used = 0;
			if (g->q[g->nq - 1].claims_used < 0)
				g->q[g->nq - 1].claims_used = 0;
		}
	}
	return 0;
}

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
		ret = gather_source(src, server, spec, &g, err);
	if (!ret)
		ret = gather_target(req->client, spec, &g, err);
	if (ret)
		goto out;
	{
		struct mig_facts f = {
			.source = {.server = server,
				   .classes = g.scl,
				   .n_classes = k8s_items_len(g.src_classes)},
			.target = {.classes = g.dcl, .n_classes = k8s_items_len(g.dst_classes)},
			.source_ns_found = g.src_ns,
			.target_ns_found = g.dst_ns,
			.claims = g.cl,
			.n_claims = g.ncl,
			.target_claims = (const char *const *)g.dst_keys,
			.n_target_claims = g.ndst_keys,
			.quotas = g.q,
			.n_quotas = g.nq};

		version_of(g.src_version, &f.source);
		version_of(g.dst_version, &f.target);
		ret = mig_plan_make(spec, &f, &plan);
		if (!ret)
			ret = mig_plan_status(&plan, &f, &st);
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
