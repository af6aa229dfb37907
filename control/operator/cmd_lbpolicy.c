// SPDX-License-Identifier: MIT
/*
 * control/operator/cmd_lbpolicy.c - `ferry lb get|describe`: LoadBalancePolicies
 * (control/lb/README.md, "The LoadBalancePolicy") and the weights the
 * controller publishes in their status, read from the API server.
 * (`ferry lb status|disable`, the node's tables, are control/agent/cmd_lb.c's;
 * control/main.c routes the words.)
 *
 *   get [NAME] [-A] [--json]  NAME SERVICE CPU BACKENDS READY UPDATED AGE;
 *                              --json: the object, or a List of them
 *   describe NAME              the spec, each backend (pod, address, node,
 *                              ready, weight, share, score, reason), the
 *                              route's Services, the conditions
 * Common: -n/--namespace, --kubeconfig, --context. Exit codes as every
 * verb's (README "Exit codes"): 3 for a policy that does not exist.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "operator.h"
#include "verbs.h"
#include "control/cli/cli.h"
#include "control/lb/lb.h"
#include "k8s/k8s.h"

struct lbc_args {
	struct op_cluster k;
	bool json, help;
};

static void lbc_usage(FILE *f)
{
	fprintf(f, "usage: ferry lb get [NAME] [-A] [--json]\n"
		   "       ferry lb describe NAME\n"
		   "       ferry lb status|disable   the node's tables (run on the node)\n\n"
		   "LoadBalancePolicies: load-aware weights of a Service's backends, which\n"
		   "`ferry controller` publishes in their status (control/lb/README.md).\n\n"
		   "  -n, --namespace NS   (default: the context's)\n"
		   "  -A, --all-namespaces get: every namespace\n"
		   "  --json               get: the object (a List without NAME) as JSON\n"
		   "  --kubeconfig FILE, --context NAME\n"
		   "  -h, --help           this text\n");
}

static int lbc_parse(int argc, char **argv, struct lbc_args *a)
{
	enum { O_JSON = OP_OPT_VERB_BASE };
	static const struct option opts[] = {
		OP_CLUSTER_LONGOPTS,
		OP_ALL_NAMESPACES_LONGOPT,
		{"json", no_argument, NULL, O_JSON},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "hn:A", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			a->help = true;
			return 0;
		case O_JSON:
			a->json = true;
			break;
		default:
			if (op_cluster_opt(&a->k, opt, optarg))
				return ctl_usage_error("lb", "unknown option");
			break;
		}
	}
	return 0;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

/* the Ready condition's reason ("Published", "NoSignals", ...), "-" without one */
static const char *ready_reason(const struct k8s_obj *p)
{
	struct k8s_condition c;

	return k8s_condition_get(p, "Ready", &c) ? "-" : or_dash(c.reason);
}

static void row(const struct k8s_obj *p, bool all)
{
	char upd[32], age[32];
	int64_t ready = 0;
	const char *cpu = k8s_obj_str(p, "/spec/cpu");

	op_age(k8s_obj_str(p, "/status/lastUpdateTime"), "<none>", false, upd, sizeof(upd));
	op_age(k8s_obj_str(p, "/metadata/creationTimestamp"), "<none>", false, age, sizeof(age));
	k8s_obj_int(p, "/status/readyBackends", &ready);
	if (all)
		printf("%-16s ", or_dash(k8s_obj_get_ns(p)));
	printf("%-20s %-20s %-9s %-4" PRId64 "/%-4zu %-16s %-8s %s\n", or_dash(k8s_obj_get_name(p)),
	       or_dash(k8s_obj_str(p, "/spec/service")), cpu ? cpu : "Requests", ready,
	       k8s_obj_len(p, "/status/backends"), ready_reason(p), upd, age);
}

static int print_json(const struct k8s_obj *o)
{
	char *s = k8s_obj_json(o);

	if (!s)
		return ctl_fail(-ENOMEM, NULL, "lb get --json");
	printf("%s\n", s);
	free(s);
	return 0;
}

static int lbc_get(const struct lbc_args *a, const char *name)
{
	struct k8s_client *c = NULL;
	struct k8s_items *l = NULL;
	struct k8s_obj *one = NULL, *list = NULL;
	struct k8s_err err;
	const char *ns = NULL;
	int ret = op_cluster_client(&a->k, "lb", NULL, &c, &ns);

	if (ret)
		return ret;
	if (name)
		ret = k8s_get(c, &lb_policies, ns, name, NULL, &one, &err);
	else
		ret = k8s_list(c, &lb_policies, a->k.all ? "" : ns, NULL, &l, &err);
	if (ret) {
		ret = ctl_fail(ret, err.msg, "lb get");
		goto out;
	}
	if (a->json) {
		if (one) {
			ret = print_json(one);
			goto out;
		}
		ret = k8s_obj_new(&list);
		if (!ret)
			ret = k8s_obj_set_str(list, "/apiVersion", "v1");
		if (!ret)
			ret = k8s_obj_set_str(list, "/kind", "List");
		if (!ret)
			ret = k8s_obj_set_empty(list, "/items", K8S_T_ARRAY);
		for (size_t i = 0; !ret && i < k8s_items_len(l); i++)
			ret = k8s_obj_set_copy(list, "/items/-", k8s_items_at(l, i));
		ret = ret ? ctl_fail(ret, NULL, "lb get --json") : print_json(list);
		goto out;
	}
	if (!one && !k8s_items_len(l)) {
		fprintf(stderr, "No LoadBalancePolicies found in %s.\n",
			a->k.all ? "any namespace" : ns);
		goto out;
	}
	if (a->k.all)
		printf("%-16s ", "NAMESPACE");
	printf("%-20s %-20s %-9s %-9s %-16s %-8s %s\n", "NAME", "SERVICE", "CPU", "BACKENDS",
	       "READY", "UPDATED", "AGE");
	if (one)
		row(one, false);
	for (size_t i = 0; l && i < k8s_items_len(l); i++)
		row(k8s_items_at(l, i), a->k.all);
out:
	k8s_obj_free(list);
	k8s_obj_free(one);
	k8s_items_free(l);
	k8s_client_free(c);
	return ret;
}

static void describe_spec(const struct k8s_obj *p)
{
	struct lb_policy pol;
	struct lb_err lerr;

	if (lb_policy_parse(p, &pol, &lerr)) {
		printf("Spec:              invalid: %s\n", lerr.msg);
		return;
	}
	printf("CPU:               %s\n", pol.w.signals & LB_SIGNAL_CPU_LIMITS ? "against limits"
					  : pol.w.signals & LB_SIGNAL_CPU_REQUESTS
						  ? "against requests"
						  : "not used");
	if (pol.w.signals & LB_SIGNAL_RUNQ)
		printf("Run queue:         p99 wait, %g s halves a score\n", pol.w.runq_target_s);
	else
		printf("Run queue:         not used\n");
	printf("Floor:             %g %% of the largest weight\n", pol.w.floor * 100);
	printf("Hysteresis:        %g %%\n", pol.w.hysteresis * 100);
	printf("Slow start:        %g s\n", pol.w.slow_start_s);
	printf("BestEffort pods:   %g cores\n", pol.w.besteffort_cores);
	printf("Update period:     %u s\n", pol.update_period_s);
	if (pol.route[0]) {
		printf("HTTPRoute:         %s (", pol.route);
		for (size_t i = 0; i < pol.n_services; i++)
			printf("%s%s", i ? ", " : "", pol.services[i]);
		printf(")\n");
	}
}

static int lbc_describe(const struct lbc_args *a, const char *name)
{
	struct k8s_client *c = NULL;
	struct k8s_obj *p = NULL;
	struct k8s_err err;
	const char *ns = NULL;
	char upd[32], age[32];
	int64_t v = 0;
	int ret = op_cluster_client(&a->k, "lb", NULL, &c, &ns);

	if (ret)
		return ret;
	ret = k8s_get(c, &lb_policies, ns, name, NULL, &p, &err);
	if (ret) {
		ret = ctl_fail(ret, err.msg, "lb describe %s", name);
		goto out;
	}
	op_age(k8s_obj_str(p, "/metadata/creationTimestamp"), "<none>", false, age, sizeof(age));
	op_age(k8s_obj_str(p, "/status/lastUpdateTime"), "<none>", false, upd, sizeof(upd));
	printf("Name:              %s\nNamespace:         %s\nAge:               %s\n", name, ns,
	       age);
	printf("Service:           %s\n", or_dash(k8s_obj_str(p, "/spec/service")));
	describe_spec(p);
	printf("Last update:       %s (%s ago)\n",
	       or_dash(k8s_obj_str(p, "/status/lastUpdateTime")), upd);
	k8s_obj_int(p, "/status/readyBackends", &v);
	printf("Backends:          %" PRId64 " ready of %zu\n", v,
	       k8s_obj_len(p, "/status/backends"));
	printf("  %-24s %-16s %-16s %-5s %-7s %-6s %-6s %s\n", "Pod", "Address", "Node", "Ready",
	       "Weight", "Share", "Score", "Reason");
	for (const struct k8s_obj *b = k8s_obj_first(k8s_obj_at(p, "/status/backends")); b;
	     b = k8s_obj_next(b)) {
		bool ready = false;
		double share = 0, score = 0;
		int64_t w = 0;

		k8s_obj_bool(b, "/ready", &ready);
		k8s_obj_int(b, "/weight", &w);
		k8s_obj_num(b, "/share", &share);
		k8s_obj_num(b, "/score", &score);
		printf("  %-24s %-16s %-16s %-5s %-7" PRId64 " %-6.3f %-6.3f %s\n",
		       or_dash(k8s_obj_str(b, "/pod")), or_dash(k8s_obj_str(b, "/address")),
		       or_dash(k8s_obj_str(b, "/node")), ready ? "yes" : "no", w, share, score,
		       or_dash(k8s_obj_str(b, "/reason")));
	}
	if (k8s_obj_len(p, "/status/services")) {
		printf("Route services:\n  %-24s %-7s %s\n", "Service", "Weight", "Spare cores");
		for (const struct k8s_obj *s = k8s_obj_first(k8s_obj_at(p, "/status/services")); s;
		     s = k8s_obj_next(s)) {
			double spare = -1;
			int64_t w = 0;

			k8s_obj_int(s, "/weight", &w);
			if (k8s_obj_num(s, "/spareCores", &spare))
				printf("  %-24s %-7" PRId64 " -\n",
				       or_dash(k8s_obj_str(s, "/name")), w);
			else
				printf("  %-24s %-7" PRId64 " %.3f\n",
				       or_dash(k8s_obj_str(s, "/name")), w, spare);
		}
	}
	op_conditions_print(p, 20, "-");
out:
	k8s_obj_free(p);
	k8s_client_free(c);
	return ret;
}

int ctl_cmd_lb_policy(int argc, char **argv)
{
	struct lbc_args a = {0};
	const char *sub, *name;
	int ret;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		lbc_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? -EINVAL : 0;
	}
	sub = argv[1];
	ret = lbc_parse(argc - 1, argv + 1, &a);
	if (ret || a.help) {
		if (a.help)
			lbc_usage(stdout);
		return ret;
	}
	name = optind < argc - 1 ? argv[optind + 1] : NULL;
	if (name && optind + 2 < argc)
		return ctl_usage_error("lb", "unexpected argument '%s'", argv[optind + 2]);
	if (!strcmp(sub, "get")) {
		if (a.k.all && name)
			return ctl_usage_error("lb", "get: a NAME or -A, not both");
		return lbc_get(&a, name);
	}
	if (!strcmp(sub, "describe")) {
		if (!name)
			return ctl_usage_error("lb", "describe needs a NAME");
		if (a.json || a.k.all)
			return ctl_usage_error("lb", "describe takes neither --json nor -A");
		return lbc_describe(&a, name);
	}
	return ctl_usage_error("lb", "unknown command '%s': get or describe", sub);
}
