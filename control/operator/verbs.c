// SPDX-License-Identifier: MIT
/*
 * control/operator/verbs.c - what the verbs on a cluster's objects share
 * (verbs.h): their common options, the client they open, an age and the
 * conditions table as kubectl prints them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "verbs.h"

int op_cluster_opt(struct op_cluster *k, int opt, const char *arg)
{
	switch (opt) {
	case OP_OPT_KUBECONFIG:
		k->kubeconfig = arg;
		return 0;
	case OP_OPT_CONTEXT:
		k->context = arg;
		return 0;
	case 'n':
		k->ns = arg;
		return 0;
	case 'A':
		k->all = true;
		return 0;
	default:
		return -ENOENT;
	}
}

int op_cluster_client(const struct op_cluster *k, const char *verb, const char *hint,
		      struct k8s_client **c, const char **ns)
{
	struct k8s_config_opts co = {
		.sz = sizeof(co), .kubeconfig = k->kubeconfig, .context = k->context, .ns = k->ns};
	struct k8s_err err;
	int ret;

	k8s_set_log(ctl_log_line);
	ret = k8s_client_open(&co, NULL, c, &err);
	if (ret)
		return ctl_fail(ret, err.msg, "%s: the cluster's configuration%s", verb,
				hint ? hint : "");
	if (ns)
		*ns = k8s_config_ns(k8s_client_config(*c));
	return 0;
}

void op_age(const char *stamp, const char *none, bool ahead, char *buf, size_t len)
{
	int64_t t, d;

	if (!stamp || k8s_time_parse(stamp, &t)) {
		snprintf(buf, len, "%s", none);
		return;
	}
	d = (k8s_now_ns() - t) / 1000000000;
	if (d < 0)
		d = ahead ? -d : 0;
	if (d < 120)
		snprintf(buf, len, "%" PRId64 "s", d);
	else if (d < 7200)
		snprintf(buf, len, "%" PRId64 "m", d / 60);
	else if (d < 172800)
		snprintf(buf, len, "%" PRId64 "h", d / 3600);
	else
		snprintf(buf, len, "%" PRId64 "d", d / 86400);
}

static const char *or_missing(const char *s, const char *missing)
{
	return s && *s ? s : missing;
}

void op_conditions_print(const struct k8s_obj *o, int reason_width, const char *missing)
{
	printf("Conditions:\n  %-15s %-6s %-*s %s\n", "Type", "Status", reason_width, "Reason",
	       "Message");
	for (const struct k8s_obj *cd = k8s_obj_first(k8s_obj_at(o, "/status/conditions")); cd;
	     cd = k8s_obj_next(cd))
		printf("  %-15s %-6s %-*s %s\n", or_missing(k8s_obj_str(cd, "/type"), missing),
		       or_missing(k8s_obj_str(cd, "/status"), missing), reason_width,
		       or_missing(k8s_obj_str(cd, "/reason"), missing),
		       or_missing(k8s_obj_str(cd, "/message"), missing));
}

/* a selector as a LabelSelector object (verbs.h) */
int op_selector_obj(const struct ctl_selector *sel, struct k8s_obj **out)
{
	static const char *const ops[] = {
		[CTL_SEL_EXISTS] = "Exists", [CTL_SEL_NOT_EXISTS] = "DoesNotExist",
		[CTL_SEL_EQ] = "In",	     [CTL_SEL_NE] = "NotIn",
		[CTL_SEL_IN] = "In",	     [CTL_SEL_NOTIN] = "NotIn",
	};
	struct k8s_obj *o = NULL, *labels = NULL, *exprs = NULL, *e = NULL;
	int ret;

	*out = NULL;
	ret = k8s_obj_new(&o);
	if (!ret)
		ret = k8s_obj_new(&labels);
	if (!ret)
		ret = k8s_obj_new_array(&exprs);
	for (size_t i = 0; !ret && i < sel->n; i++) {
		const struct ctl_sel_req *r = &sel->reqs[i];

		if (r->op == CTL_SEL_EQ && !k8s_obj_key(labels, r->key)) {
			char tok[2 * 320 + 2];

			ret = k8s_ptr_join(tok, sizeof(tok), "", r->key);
			if (!ret)
				ret = k8s_obj_set_str(labels, tok, r->values[0]);
			continue;
		}
		ret = k8s_obj_new(&e);
		if (!ret)
			ret = k8s_obj_set_str(e, "/key", r->key);
		if (!ret)
			ret = k8s_obj_set_str(e, "/operator", ops[r->op]);
		if (!ret && r->nvalues) {
			ret = k8s_obj_set_empty(e, "/values", K8S_T_ARRAY);
			for (size_t k = 0; !ret && k < r->nvalues; k++)
				ret = k8s_obj_set_str(e, "/values/-", r->values[k]);
		}
		if (!ret)
			ret = k8s_obj_set(exprs, "/-", e);
		if (!ret)
			e = NULL;
	}
	if (!ret && k8s_obj_len(labels, ""))
		ret = k8s_obj_set(o, "/matchLabels", labels);
	if (!ret && k8s_obj_len(labels, ""))
		labels = NULL;
	if (!ret && k8s_obj_len(exprs, ""))
		ret = k8s_obj_set(o, "/matchExpressions", exprs);
	if (!ret && k8s_obj_len(exprs, ""))
		exprs = NULL;
	k8s_obj_free(e);
	k8s_obj_free(labels);
	k8s_obj_free(exprs);
	if (ret) {
		k8s_obj_free(o);
		return -ENOMEM;
	}
	*out = o;
	return 0;
}
