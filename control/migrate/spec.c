// SPDX-License-Identifier: MIT
/*
 * control/migrate/spec.c - a Migration's spec, decoded and checked as the
 * API server's validation of its CRD would check it (migrate.h). It reads
 * anything: fuzzed by tests/fuzz/fuzz_migrate_spec.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli/cli.h"
#include "migrate.h"

const struct k8s_resource mig_migrations =
	K8S_RESOURCE("ferry.io", "v1alpha1", "migrations", "Migration", true);

/* a DNS-1123 subdomain: what names a Secret or a StorageClass (NULL: none, no) */
static bool subdomain(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > MIG_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (alnum)
			continue;
		if ((c != '-' && c != '.') || i == 0 || i == n - 1)
			return false;
		if (c == '.' && (s[i - 1] == '.' || s[i - 1] == '-' || s[i + 1] == '-'))
			return false;
	}
	return true;
}

/* a Secret's data key: [-._a-zA-Z0-9]+, at most 253 */
static bool secret_key(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > MIG_NAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("-._", s[i]) && !(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= 'A' && s[i] <= 'Z') && !(s[i] >= '0' && s[i] <= '9'))
			return false;
	return true;
}

static int source_of(const struct k8s_obj *m, struct mig_spec *out, char *why, size_t len)
{
	const struct k8s_obj *src = k8s_obj_at(m, "/spec/source");
	const char *name, *key, *ctx;
	int64_t t;

	if (k8s_obj_type(src, "") != K8S_T_OBJECT)
		return ctl_refuse(why, len, "spec.source: Required value");
	if (k8s_obj_type(src, "/kubeconfigSecretRef") != K8S_T_OBJECT)
		return ctl_refuse(why, len, "spec.source.kubeconfigSecretRef: Required value");
	name = k8s_obj_str(src, "/kubeconfigSecretRef/name");
	if (!name || !subdomain(name))
		return ctl_refuse(
			why, len,
			"spec.source.kubeconfigSecretRef.name: Invalid value: a Secret's name (a DNS-1123 subdomain) is required");
	snprintf(out->secret, sizeof(out->secret), "%s", name);
	switch (k8s_obj_type(src, "/kubeconfigSecretRef/key")) {
	case K8S_T_ABSENT:
	case K8S_T_NULL:
		key = "kubeconfig";
		break;
	case K8S_T_STRING:
		key = k8s_obj_str(src, "/kubeconfigSecretRef/key");
		if (secret_key(key))
			break;
		/* fall through */
	default:
		return ctl_refuse(
			why, len,
			"spec.source.kubeconfigSecretRef.key: Invalid value: a Secret's key ([-._a-zA-Z0-9]+)");
	}
	snprintf(out->secret_key, sizeof(out->secret_key), "%s", key);
	switch (k8s_obj_type(src, "/context")) {
	case K8S_T_ABSENT:
	case K8S_T_NULL:
		break;
	case K8S_T_STRING:
		ctx = k8s_obj_str(src, "/context");
		if (strlen(ctx) <= MIG_NAME_MAX && !memchr(ctx, '\n', strlen(ctx))) {
			snprintf(out->context, sizeof(out->context), "%s", ctx);
			break;
		}
		/* fall through */
	default:
		return ctl_refuse(
			why, len,
			"spec.source.context: Invalid value: a context's name, at most 253 characters");
	}
	out->timeout_s = MIG_DEFAULT_TIMEOUT_S;
	switch (k8s_obj_type(src, "/timeoutSeconds")) {
	case K8S_T_ABSENT:
	case K8S_T_NULL:
		break;
	case K8S_T_NUMBER:
		if (!k8s_obj_int(src, "/timeoutSeconds", &t) && t >= 1 && t <= 300) {
			out->timeout_s = (unsigned int)t;
			break;
		}
		/* fall through */
	default:
		return ctl_refuse(
			why, len,
			"spec.source.timeoutSeconds: Invalid value: must be a whole number of seconds from 1 to 300");
	}
	return 0;
}

static int namespaces_of(const struct k8s_obj *m, struct mig_spec *out, char *why, size_t len)
{
	const struct k8s_obj *a = k8s_obj_at(m, "/spec/namespaces");
	size_t i = 0;

	if (out->ns_selector[0] &&
	    (k8s_obj_type(a, "") == K8S_T_ABSENT || k8s_obj_type(a, "") == K8S_T_NULL))
		return 0; /* the selector's namespaces come at plan time */
	if (k8s_obj_type(a, "") != K8S_T_ARRAY || (!k8s_obj_len(a, "") && !out->ns_selector[0]))
		return ctl_refuse(
			why, len,
			"spec.namespaces: Required value: the application's namespaces (or "
			"spec.namespaceSelector)");
	if (k8s_obj_len(a, "") > MIG_MAX_NAMESPACES)
		return ctl_refuse(why, len,
				  "spec.namespaces: Too many: %zu: must have at most %d items",
				  k8s_obj_len(a, ""), MIG_MAX_NAMESPACES);
	for (const struct k8s_obj *e = k8s_obj_first(a); e; e = k8s_obj_next(e), i++) {
		const char *ns = k8s_obj_str(e, "");

		if (!ns || !ctl_namespace_valid(ns) || strlen(ns) >= sizeof(out->namespaces[0]))
			return ctl_refuse(
				why, len,
				"spec.namespaces[%zu]: Invalid value: a namespace's name (a DNS-1123 label)",
				i);
		for (size_t j = 0; j < out->n_namespaces; j++)
			if (!strcmp(out->namespaces[j], ns))
				return ctl_refuse(why, len,
						  "spec.namespaces[%zu]: Duplicate value: \"%s\"",
						  i, ns);
		snprintf(out->namespaces[out->n_namespaces++], sizeof(out->namespaces[0]), "%s",
			 ns);
	}
	return 0;
}

static int classes_of(const struct k8s_obj *m, struct mig_spec *out, char *why, size_t len)
{
	const struct k8s_obj *map = k8s_obj_at(m, "/spec/storageClassMapping");

	switch (k8s_obj_type(map, "")) {
	case K8S_T_ABSENT:
	case K8S_T_NULL:
		return 0;
	case K8S_T_OBJECT:
		break;
	default:
		return ctl_refuse(
			why, len,
			"spec.storageClassMapping: Invalid value: a map of source class to target class");
	}
	if (k8s_obj_len(map, "") > MIG_MAX_CLASS_MAP)
		return ctl_refuse(
			why, len,
			"spec.storageClassMapping: Too many: must have at most %d entries",
			MIG_MAX_CLASS_MAP);
	for (const struct k8s_obj *e = k8s_obj_first(map); e; e = k8s_obj_next(e)) {
		const char *from = k8s_obj_name(e), *to = k8s_obj_str(e, "");

		if (!from || !subdomain(from))
			return ctl_refuse(
				why, len,
				"spec.storageClassMapping: Invalid value: \"%.80s\": a storage class's name (a DNS-1123 subdomain)",
				from ? from : "");
		if (!to || !subdomain(to))
			return ctl_refuse(
				why, len,
				"spec.storageClassMapping[%s]: Invalid value: a storage class's name (a DNS-1123 subdomain)",
				from);
		snprintf(out->class_map[out->n_class_map].from, sizeof(out->class_map[0].from),
			 "%s", from);
		snprintf(out->class_map[out->n_class_map].to, sizeof(out->class_map[0].to), "%s",
			 to);
		out->n_class_map++;
	}
	return 0;
}

/*
 * spec.nodeLabelMapping ("key=value" -> "key=value" or "", a key -> a key
 * or "") and spec.imageMapping (an image or prefix -> its replacement),
 * checked here and handed to the seed's Restore as they are
 */
static int transforms_of(const struct k8s_obj *m, struct mig_spec *out, char *why, size_t len)
{
	const struct k8s_obj *nl = k8s_obj_at(m, "/spec/nodeLabelMapping");
	const struct k8s_obj *im = k8s_obj_at(m, "/spec/imageMapping");

	if (nl && k8s_obj_type(nl, "") != K8S_T_NULL && k8s_obj_type(nl, "") != K8S_T_OBJECT)
		return ctl_refuse(
			why, len,
			"spec.nodeLabelMapping: Invalid value: a map of node label to node label");
	for (const struct k8s_obj *e = k8s_obj_first(nl); e; e = k8s_obj_next(e)) {
		const char *from = k8s_obj_name(e), *to = k8s_obj_str(e, "");
		bool pair = strchr(from, '=') != NULL;

		if (pair ? !ctl_label_pair_valid(from) : !ctl_label_key_valid(from))
			return ctl_refuse(
				why, len,
				"spec.nodeLabelMapping: Invalid value: \"%.80s\": a node label "
				"(key=value) or a label's key",
				from);
		if (!to || (to[0] && (pair ? !ctl_label_pair_valid(to) : !ctl_label_key_valid(to))))
			return ctl_refuse(
				why, len,
				"spec.nodeLabelMapping[%.80s]: Invalid value: \"\" (drop it) or %s",
				from, pair ? "a node label (key=value)" : "a label's key");
		if (out->n_label_map == MIG_MAX_LABEL_MAP)
			return ctl_refuse(
				why, len,
				"spec.nodeLabelMapping: Too many: must have at most %d entries",
				MIG_MAX_LABEL_MAP);
		snprintf(out->label_map[out->n_label_map].from, sizeof(out->label_map[0].from),
			 "%s", from);
		snprintf(out->label_map[out->n_label_map].to, sizeof(out->label_map[0].to), "%s",
			 to);
		out->n_label_map++;
	}
	if (im && k8s_obj_type(im, "") != K8S_T_NULL && k8s_obj_type(im, "") != K8S_T_OBJECT)
		return ctl_refuse(why, len,
				  "spec.imageMapping: Invalid value: a map of image to image");
	for (const struct k8s_obj *e = k8s_obj_first(im); e; e = k8s_obj_next(e)) {
		const char *from = k8s_obj_name(e), *to = k8s_obj_str(e, "");

		if (!from[0] || !to || !to[0] || strpbrk(from, " \t\r\n") || strpbrk(to, " \t\r\n"))
			return ctl_refuse(
				why, len,
				"spec.imageMapping[%.80s]: Invalid value: an image or a prefix, "
				"not empty, no spaces",
				from);
	}
	return 0;
}

/* spec.namespaceSelector: a metav1.LabelSelector, kept in the string form lists take */
static int ns_selector_of(const struct k8s_obj *m, struct mig_spec *out, char *why, size_t len)
{
	const struct k8s_obj *sel = k8s_obj_at(m, "/spec/namespaceSelector");
	struct ctl_selector parsed;
	struct ctl_err e;
	char *str = NULL;
	int ret;

	if (k8s_obj_type(sel, "") == K8S_T_ABSENT || k8s_obj_type(sel, "") == K8S_T_NULL)
		return 0;
	if (k8s_obj_type(sel, "") != K8S_T_OBJECT)
		return ctl_refuse(why, len,
				  "spec.namespaceSelector: Invalid value: a label selector "
				  "({matchLabels, matchExpressions})");
	ret = k8s_selector_string(sel, &str);
	if (ret == -EINVAL)
		return ctl_refuse(
			why, len,
			"spec.namespaceSelector: Invalid value: an unknown operator, or In/NotIn "
			"without values");
	if (ret)
		return ret;
	if (!str[0])
		ret = ctl_refuse(why, len,
				 "spec.namespaceSelector: Invalid value: {}: it would select every "
				 "namespace; list them in spec.namespaces instead");
	else if (strlen(str) >= sizeof(out->ns_selector))
		ret = ctl_refuse(why, len,
				 "spec.namespaceSelector: Too long: must have at most %zu bytes",
				 sizeof(out->ns_selector) - 1);
	else if ((ret = ctl_selector_parse(str, &parsed, &e)) == -EINVAL)
		ret = ctl_refuse(why, len, "spec.namespaceSelector: Invalid value: %.160s", e.msg);
	else if (!ret)
		ctl_selector_fini(&parsed);
	if (!ret)
		snprintf(out->ns_selector, sizeof(out->ns_selector), "%s", str);
	free(str);
	return ret;
}

static int ns_map_of(const struct k8s_obj *m, struct mig_spec *out, char *why, size_t len)
{
	const struct k8s_obj *map = k8s_obj_at(m, "/spec/namespaceMapping");

	for (size_t i = 0; i < out->n_namespaces; i++)
		memcpy(out->target_namespaces[i], out->namespaces[i], sizeof(out->namespaces[i]));
	switch (k8s_obj_type(map, "")) {
	case K8S_T_ABSENT:
	case K8S_T_NULL:
		return 0;
	case K8S_T_OBJECT:
		break;
	default:
		return ctl_refuse(
			why, len,
			"spec.namespaceMapping: Invalid value: a map of source namespace to target namespace");
	}
	for (const struct k8s_obj *e = k8s_obj_first(map); e; e = k8s_obj_next(e)) {
		const char *from = k8s_obj_name(e), *to = k8s_obj_str(e, "");
		size_t i;

		for (i = 0; from && i < out->n_namespaces; i++)
			if (!strcmp(out->namespaces[i], from))
				break;
		if ((!from || i == out->n_namespaces) && out->ns_selector[0] && !out->resolved)
			continue; /* a namespace the selector may find: checked once it has */
		if (!from || i == out->n_namespaces)
			return ctl_refuse(
				why, len,
				"spec.namespaceMapping: Invalid value: \"%.63s\": not one of spec.namespaces%s",
				from ? from : "",
				out->ns_selector[0] ? " nor of those spec.namespaceSelector selects"
						    : "");
		if (!to || !ctl_namespace_valid(to) || strlen(to) >= sizeof(out->namespaces[0]))
			return ctl_refuse(
				why, len,
				"spec.namespaceMapping[%s]: Invalid value: a namespace's name (a DNS-1123 label)",
				from);
		snprintf(out->target_namespaces[i], sizeof(out->target_namespaces[i]), "%s", to);
	}
	for (size_t i = 0; i < out->n_namespaces; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(out->target_namespaces[i], out->target_namespaces[j]))
				return ctl_refuse(
					why, len,
					"spec.namespaceMapping: Duplicate value: %s and %s both go to namespace %s",
					out->namespaces[j], out->namespaces[i],
					out->target_namespaces[i]);
	return 0;
}

/* a boolean field of spec: absent or null is false */
static int flag_of(const struct k8s_obj *m, const char *field, bool *out, char *why, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/spec/%s", field);
	switch (k8s_obj_type(m, path)) {
	case K8S_T_ABSENT:
	case K8S_T_NULL:
		*out = false;
		return 0;
	case K8S_T_BOOL:
		return k8s_obj_bool(m, path, out);
	default:
		return ctl_refuse(why, len, "spec.%s: Invalid value: must be true or false", field);
	}
}

/* a whole number of seconds of spec, 1..3600: absent or null is @dflt */
static int seconds_of(const struct k8s_obj *m, const char *field, unsigned int dflt,
		      unsigned int *out, char *why, size_t len)
{
	char path[64];
	int64_t t;

	snprintf(path, sizeof(path), "/spec/%s", field);
	switch (k8s_obj_type(m, path)) {
	case K8S_T_ABSENT:
	case K8S_T_NULL:
		*out = dflt;
		return 0;
	case K8S_T_NUMBER:
		if (!k8s_obj_int(m, path, &t) && t >= 1 && t <= 3600) {
			*out = (unsigned int)t;
			return 0;
		}
		/* fall through */
	default:
		return ctl_refuse(
			why, len,
			"spec.%s: Invalid value: must be a whole number of seconds from 1 to 3600",
			field);
	}
}

static int existing_of(const struct k8s_obj *m, struct mig_spec *out, char *why, size_t len)
{
	const char *p = k8s_obj_str(m, "/spec/existingResourcePolicy");
	enum k8s_type t = k8s_obj_type(m, "/spec/existingResourcePolicy");

	out->existing = MIG_EXISTING_NONE;
	if (t == K8S_T_ABSENT || t == K8S_T_NULL || (p && !strcmp(p, "none")))
		return 0;
	if (p && !strcmp(p, "update"))
		out->existing = MIG_EXISTING_UPDATE;
	else if (p && !strcmp(p, "fail"))
		out->existing = MIG_EXISTING_FAIL;
	else
		return ctl_refuse(
			why, len,
			"spec.existingResourcePolicy: Unsupported value: \"%.40s\": supported "
			"values: \"none\", \"update\", \"fail\"",
			p ? p : "(not a string)");
	return 0;
}

/* A Secret reference of spec.copy.from (@field: passwordSecretRef, credentialsSecretRef), if any. */
static int copy_secret_of(const struct k8s_obj *m, const char *field, char *why, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/spec/copy/from/%s", field);
	if (k8s_obj_type(m, path) == K8S_T_ABSENT)
		return 0;
	snprintf(path, sizeof(path), "/spec/copy/from/%s/name", field);
	if (!subdomain(k8s_obj_str(m, path)))
		return ctl_refuse(
			why, len,
			"spec.copy.from.%s.name: Invalid value: a Secret's name (a DNS-1123 "
			"subdomain) is required",
			field);
	return 0;
}

/* spec.copy: the source's repository, which this cluster's agents copy from. */
static int copy_of(const struct k8s_obj *m, struct mig_spec *out, char *why, size_t len)
{
	const char *url = k8s_obj_str(m, "/spec/copy/from/url");
	int ret;

	switch (k8s_obj_type(m, "/spec/copy")) {
	case K8S_T_ABSENT:
	case K8S_T_NULL:
		return 0;
	case K8S_T_OBJECT:
		break;
	default:
		return ctl_refuse(why, len, "spec.copy: Invalid value: an object");
	}
	if (!url || (strncmp(url, "s3://", 5) && strncmp(url, "file://", 7)) || strlen(url) > 4096)
		return ctl_refuse(why, len,
				  "spec.copy.from.url: Invalid value: the source's repository, an "
				  "s3:// or file:// URL, is required");
	ret = copy_secret_of(m, "passwordSecretRef", why, len);
	if (!ret)
		ret = copy_secret_of(m, "credentialsSecretRef", why, len);
	if (ret)
		return ret;
	switch (k8s_obj_type(m, "/spec/copy/bandwidth")) {
	case K8S_T_ABSENT:
	case K8S_T_NULL:
		break;
	default:
		if (k8s_obj_int(m, "/spec/copy/bandwidth", &out->copy_bandwidth) ||
		    out->copy_bandwidth < 0)
			return ctl_refuse(
				why, len,
				"spec.copy.bandwidth: Invalid value: bytes a second, 0 or "
				"more");
	}
	out->copy = true;
	return 0;
}

static int stages_of(const struct k8s_obj *m, struct mig_spec *out, char *why, size_t len)
{
	int ret;

	switch (k8s_obj_type(m, "/spec/repository")) {
	case K8S_T_ABSENT:
	case K8S_T_NULL:
		snprintf(out->repository, sizeof(out->repository), "default");
		break;
	case K8S_T_STRING:
		if (subdomain(k8s_obj_str(m, "/spec/repository"))) {
			snprintf(out->repository, sizeof(out->repository), "%s",
				 k8s_obj_str(m, "/spec/repository"));
			break;
		}
		/* fall through */
	default:
		return ctl_refuse(
			why, len,
			"spec.repository: Invalid value: a Repository's name (a DNS-1123 subdomain)");
	}
	ret = flag_of(m, "start", &out->start, why, len);
	if (!ret)
		ret = flag_of(m, "cutover", &out->cutover, why, len);
	if (!ret)
		ret = flag_of(m, "rollback", &out->rollback, why, len);
	if (!ret)
		ret = flag_of(m, "skipVerify", &out->skip_verify, why, len);
	if (!ret)
		ret = existing_of(m, out, why, len);
	if (!ret)
		ret = copy_of(m, out, why, len);
	if (!ret)
		ret = seconds_of(m, "syncIntervalSeconds", MIG_DEFAULT_INTERVAL_S,
				 &out->sync_interval_s, why, len);
	if (!ret)
		ret = seconds_of(m, "cutoverBoundSeconds", MIG_DEFAULT_BOUND_S,
				 &out->cutover_bound_s, why, len);
	if (!ret && out->rollback && out->cutover)
		return ctl_refuse(
			why, len,
			"spec.rollback: Invalid value: true: cutover and rollback both asked for");
	return ret;
}

int mig_spec_decode(const struct k8s_obj *m, struct mig_spec *out, char *why, size_t len)
{
	int ret;

	memset(out, 0, sizeof(*out));
	if (len)
		why[0] = '\0';
	if (k8s_obj_type(m, "/spec") != K8S_T_OBJECT)
		return ctl_refuse(why, len, "spec: Required value");
	ret = source_of(m, out, why, len);
	if (!ret)
		ret = ns_selector_of(m, out, why, len);
	if (!ret)
		ret = namespaces_of(m, out, why, len);
	if (!ret)
		ret = ns_map_of(m, out, why, len);
	if (!ret)
		ret = classes_of(m, out, why, len);
	if (!ret)
		ret = transforms_of(m, out, why, len);
	if (!ret)
		ret = stages_of(m, out, why, len);
	return ret;
}

int mig_spec_add_namespaces(const struct k8s_obj *m, struct mig_spec *s, const char *const *names,
			    size_t n, char *why, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		bool listed = false;

		for (size_t j = 0; j < s->n_namespaces && !listed; j++)
			listed = !strcmp(s->namespaces[j], names[i]);
		if (listed)
			continue;
		if (!ctl_namespace_valid(names[i]) || strlen(names[i]) >= sizeof(s->namespaces[0]))
			return ctl_refuse(why, len,
					  "spec.namespaceSelector: Invalid value: \"%.63s\": not a "
					  "namespace's name",
					  names[i]);
		if (s->n_namespaces == MIG_MAX_NAMESPACES)
			return ctl_refuse(
				why, len,
				"spec.namespaceSelector: Too many: it selects more than %d "
				"namespaces with those listed; narrow it, or make two Migrations",
				MIG_MAX_NAMESPACES);
		snprintf(s->namespaces[s->n_namespaces++], sizeof(s->namespaces[0]), "%s",
			 names[i]);
	}
	s->resolved = true;
	return ns_map_of(m, s, why, len);
}
