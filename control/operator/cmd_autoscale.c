// SPDX-License-Identifier: MIT
/*
 * control/operator/cmd_autoscale.c - `ferry autoscale create|get|describe`:
 * ScalePolicies (control/autoscale/README.md) as kubectl's autoscale, get hpa
 * and describe hpa show HorizontalPodAutoscalers.
 *
 *   create NAME --target KIND/NAME --max N [--min N] [--cpu PERCENT]
 *          [--sustain SECONDS] [--shadow] [--dry-run]
 *          a ScalePolicy of one CPU metric (as `kubectl autoscale`), checked
 *          by the controller's own decoder before it is sent
 *   get [NAME]      NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS MODE AGE
 *   describe NAME   the spec, the conditions, the last decision
 * Common: -n/--namespace, -A/--all-namespaces (get), --kubeconfig,
 * --context. Exit codes as every verb's (README "Exit codes").
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "operator.h"
#include "verbs.h"
#include "control/autoscale/autoscale.h"
#include "control/cli/cli.h"
#include "k8s/k8s.h"

struct asc_args {
	struct op_cluster k;
	bool shadow, dry_run, help, mean;
	const char *target;
	long min, max, cpu, sustain;
};

static void asc_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry autoscale create NAME --target KIND/NAME --max N [--min N]\n"
		"                              [--cpu PERCENT] [--sustain SECONDS] [--mean] [--shadow]\n"
		"                              [--dry-run]\n"
		"       ferry autoscale get [NAME] [-A]\n"
		"       ferry autoscale describe NAME\n\n"
		"ScalePolicies: the HorizontalPodAutoscaler's algorithm on ferry's 1 s signals\n"
		"(control/autoscale/README.md); `ferry controller` runs them.\n\n"
		"  --target KIND/NAME   deployment/web, statefulset/db (apps/v1)\n"
		"  --min N, --max N     replicas (min defaults to 1)\n"
		"  --cpu PERCENT        average CPU utilization of the requests (default 80)\n"
		"  --sustain SECONDS    each pod's value is the level it held this long (default 6)\n"
		"  --mean               ... or its mean over that long (a spike moves it by its share)\n"
		"  --shadow             decide and report only, write nothing (beside an HPA)\n"
		"  --dry-run            validate on the server, store nothing\n"
		"  -n, --namespace NS   (default: the context's)\n"
		"  -A, --all-namespaces get: every namespace\n"
		"  --kubeconfig FILE, --context NAME\n"
		"  -h, --help           this text\n");
}

static int asc_parse(int argc, char **argv, struct asc_args *a)
{
	enum {
		O_TARGET = OP_OPT_VERB_BASE,
		O_MIN,
		O_MAX,
		O_CPU,
		O_SUSTAIN,
		O_MEAN,
		O_SHADOW,
		O_DRY
	};
	static const struct option opts[] = {
		OP_CLUSTER_LONGOPTS,
		OP_ALL_NAMESPACES_LONGOPT,
		{"target", required_argument, NULL, O_TARGET},
		{"min", required_argument, NULL, O_MIN},
		{"max", required_argument, NULL, O_MAX},
		{"cpu", required_argument, NULL, O_CPU},
		{"sustain", required_argument, NULL, O_SUSTAIN},
		{"mean", no_argument, NULL, O_MEAN},
		{"shadow", no_argument, NULL, O_SHADOW},
		{"dry-run", no_argument, NULL, O_DRY},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	unsigned long v;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "hn:A", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			a->help = true;
			return 0;
		case O_TARGET:
			a->target = optarg;
			break;
		case O_MIN:
		case O_MAX:
		case O_CPU:
		case O_SUSTAIN:
			if (ctl_parse_ulong(optarg, 1, INT32_MAX, &v, NULL))
				return ctl_usage_error("autoscale",
						       "'%s' is not a whole number >= 1", optarg);
			*(opt == O_MIN	 ? &a->min
			  : opt == O_MAX ? &a->max
			  : opt == O_CPU ? &a->cpu
					 : &a->sustain) = (long)v;
			break;
		case O_MEAN:
			a->mean = true;
			break;
		case O_SHADOW:
			a->shadow = true;
			break;
		case O_DRY:
			a->dry_run = true;
			break;
		default:
			if (op_cluster_opt(&a->k, opt, optarg))
				return ctl_usage_error("autoscale", "unknown option");
			break;
		}
	}
	return 0;
}

static const char *kind_of(const char *lower)
{
	static const char *const kinds[][2] = {{"deployment", "Deployment"},
					       {"deployments", "Deployment"},
					       {"deploy", "Deployment"},
					       {"statefulset", "StatefulSet"},
					       {"statefulsets", "StatefulSet"},
					       {"sts", "StatefulSet"},
					       {"replicaset", "ReplicaSet"},
					       {"replicasets", "ReplicaSet"},
					       {"rs", "ReplicaSet"}};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(lower, kinds[i][0]))
			return kinds[i][1];
	return NULL;
}

static int asc_create(struct asc_args *a, const char *name)
{
	char kind_l[64], json[1024];
	const char *slash = a->target ? strchr(a->target, '/') : NULL, *kind, *ns = NULL;
	struct k8s_client *c = NULL;
	struct k8s_obj *sp = NULL, *out = NULL;
	struct k8s_call call = {.dry_run = a->dry_run};
	struct as_spec spec;
	struct as_err aerr;
	struct k8s_err err;
	int ret;

	if (!a->target || !slash || slash == a->target || !slash[1] ||
	    (size_t)(slash - a->target) >= sizeof(kind_l))
		return ctl_usage_error("autoscale",
				       "create needs --target KIND/NAME (deployment/web)");
	snprintf(kind_l, sizeof(kind_l), "%.*s", (int)(slash - a->target), a->target);
	kind = kind_of(kind_l);
	if (!kind)
		return ctl_usage_error("autoscale",
				       "--target %s: KIND is deployment, statefulset or replicaset",
				       a->target);
	if (!a->max)
		return ctl_usage_error("autoscale", "create needs --max N");
	snprintf(json, sizeof(json),
		 "{\"apiVersion\":\"ferry.io/v1alpha1\",\"kind\":\"ScalePolicy\","
		 "\"metadata\":{\"name\":\"\"},\"spec\":{\"scaleTargetRef\":{\"apiVersion\":"
		 "\"apps/v1\",\"kind\":\"%s\",\"name\":\"\"},\"minReplicas\":%ld,"
		 "\"maxReplicas\":%ld,\"metrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":"
		 "\"cpu\",\"target\":{\"type\":\"Utilization\",\"averageUtilization\":%ld}}}],"
		 "\"mode\":\"%s\",\"sustainWindowSeconds\":%ld,\"sustainRule\":\"%s\"}}",
		 kind, a->min ? a->min : 1, a->max, a->cpu ? a->cpu : AS_DEFAULT_CPU_UTILIZATION,
		 a->shadow ? "Shadow" : "Active", a->sustain ? a->sustain : AS_DEFAULT_SUSTAIN_S,
		 a->mean ? "Mean" : "Held");
	ret = k8s_obj_parse(json, strlen(json), &sp);
	if (!ret)
		ret = k8s_obj_set_str(sp, "/metadata/name", name);
	if (!ret)
		ret = k8s_obj_set_str(sp, "/spec/scaleTargetRef/name", slash + 1);
	if (ret) {
		k8s_obj_free(sp);
		return ctl_fail(-ENOMEM, NULL, "autoscale create");
	}
	/* what the controller would refuse is refused here, in its words */
	ret = as_spec_decode(sp, &spec, &aerr);
	if (ret) {
		k8s_obj_free(sp);
		return ctl_usage_error("autoscale", "%s", aerr.msg);
	}
	ret = op_cluster_client(&a->k, "autoscale", NULL, &c, &ns);
	if (!ret) {
		ret = k8s_create(c, &as_scalepolicies, ns, sp, &call, &out, &err);
		if (ret)
			ret = ctl_fail(ret, err.msg, "autoscale create %s", name);
		else
			printf("scalepolicy.ferry.io/%s %s\n", name,
			       a->dry_run ? "created (server dry run)" : "created");
	}
	k8s_obj_free(out);
	k8s_obj_free(sp);
	k8s_client_free(c);
	return ret;
}

/* AGE as kubectl prints it, "<unknown>" without a creationTimestamp */
static void age(const struct k8s_obj *o, char *buf, size_t len)
{
	op_age(k8s_obj_str(o, "/metadata/creationTimestamp"), "<unknown>", false, buf, len);
}

static const char *or_q(const char *s)
{
	return s ? s : "?";
}

static const char *or_e(const char *s)
{
	return s ? s : "";
}

/* TARGETS as kubectl prints an HPA's: current/target per metric */
static void targets(const struct k8s_obj *sp, char *buf, size_t len)
{
	const struct k8s_obj *m = k8s_obj_first(k8s_obj_at(sp, "/spec/metrics"));
	const struct k8s_obj *cur = k8s_obj_first(k8s_obj_at(sp, "/status/currentMetrics"));
	size_t off = 0;

	buf[0] = '\0';
	if (!m)
		snprintf(buf, len, "<unknown>/%d%%", AS_DEFAULT_CPU_UTILIZATION);
	for (; m && off < len; m = k8s_obj_next(m), cur = cur ? k8s_obj_next(cur) : NULL) {
		const char *type = k8s_obj_str(m, "/type"), *src, *q;
		char p[96], tv[64], cv[64] = "<unknown>";
		int64_t v;

		src = !type				   ? NULL
		      : !strcmp(type, "Resource")	   ? "/resource"
		      : !strcmp(type, "ContainerResource") ? "/containerResource"
		      : !strcmp(type, "Pods")		   ? "/pods"
							   : NULL;
		if (!src) {
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
						or_q(type));
			continue;
		}
		snprintf(p, sizeof(p), "%s/target/averageUtilization", src);
		if (!k8s_obj_int(m, p, &v)) {
			snprintf(tv, sizeof(tv), "%" PRId64 "%%", v);
			snprintf(p, sizeof(p), "%s/current/averageUtilization", src);
			if (cur && !k8s_obj_int(cur, p, &v))
				snprintf(cv, sizeof(cv), "%" PRId64 "%%", v);
		} else {
			snprintf(p, sizeof(p), "%s/target/averageValue", src);
			snprintf(tv, sizeof(tv), "%s", or_q(k8s_obj_str(m, p)));
			snprintf(p, sizeof(p), "%s/current/averageValue", src);
			q = cur ? k8s_obj_str(cur, p) : NULL;
			if (q)
				snprintf(cv, sizeof(cv), "%s", q);
		}
		off += (size_t)snprintf(buf + off, len - off, "%s%s/%s", off ? ", " : "", cv, tv);
	}
}

static void row(const struct k8s_obj *sp, bool all)
{
	char a[32], t[160];
	int64_t min = 1, max = 0, cur = 0;
	const char *mode = k8s_obj_str(sp, "/spec/mode");

	age(sp, a, sizeof(a));
	targets(sp, t, sizeof(t));
	k8s_obj_int(sp, "/spec/minReplicas", &min);
	k8s_obj_int(sp, "/spec/maxReplicas", &max);
	k8s_obj_int(sp, "/status/currentReplicas", &cur);
	if (all)
		printf("%-16s ", k8s_obj_get_ns(sp));
	printf("%-20s %s/%-18s %-24s %-7" PRId64 " %-7" PRId64 " %-8" PRId64 " %-6s %s\n",
	       k8s_obj_get_name(sp), or_q(k8s_obj_str(sp, "/spec/scaleTargetRef/kind")),
	       or_q(k8s_obj_str(sp, "/spec/scaleTargetRef/name")), t, min, max, cur,
	       mode ? mode : "Active", a);
}

static int asc_get(struct asc_args *a, const char *name)
{
	struct k8s_client *c = NULL;
	struct k8s_items *l = NULL;
	struct k8s_obj *one = NULL;
	struct k8s_err err;
	const char *ns = NULL;
	int ret = op_cluster_client(&a->k, "autoscale", NULL, &c, &ns);

	if (ret)
		return ret;
	if (name)
		ret = k8s_get(c, &as_scalepolicies, ns, name, NULL, &one, &err);
	else
		ret = k8s_list(c, &as_scalepolicies, a->k.all ? "" : ns, NULL, &l, &err);
	if (ret) {
		ret = ctl_fail(ret, err.msg, "autoscale get");
		goto out;
	}
	if (!one && !k8s_items_len(l)) {
		fprintf(stderr, "No ScalePolicies found in %s.\n", a->k.all ? "any namespace" : ns);
		goto out;
	}
	if (a->k.all)
		printf("%-16s ", "NAMESPACE");
	printf("%-20s %-29s %-24s %-7s %-7s %-8s %-6s %s\n", "NAME", "REFERENCE", "TARGETS",
	       "MINPODS", "MAXPODS", "REPLICAS", "MODE", "AGE");
	if (one)
		row(one, false);
	for (size_t i = 0; l && i < k8s_items_len(l); i++)
		row(k8s_items_at(l, i), a->k.all);
out:
	k8s_obj_free(one);
	k8s_items_free(l);
	k8s_client_free(c);
	return ret;
}

static int asc_describe(struct asc_args *a, const char *name)
{
	struct k8s_client *c = NULL;
	struct k8s_obj *sp = NULL;
	struct k8s_err err;
	const char *ns = NULL, *s;
	char t[256], ag[32];
	int64_t v;
	int ret = op_cluster_client(&a->k, "autoscale", NULL, &c, &ns);

	if (ret)
		return ret;
	ret = k8s_get(c, &as_scalepolicies, ns, name, NULL, &sp, &err);
	if (ret) {
		ret = ctl_fail(ret, err.msg, "autoscale describe %s", name);
		goto out;
	}
	age(sp, ag, sizeof(ag));
	targets(sp, t, sizeof(t));
	printf("Name:              %s\nNamespace:         %s\nAge:               %s\n", name, ns,
	       ag);
	printf("Reference:         %s/%s\n", or_q(k8s_obj_str(sp, "/spec/scaleTargetRef/kind")),
	       or_q(k8s_obj_str(sp, "/spec/scaleTargetRef/name")));
	printf("Metrics:           ( current / target )\n  %s\n", t);
	v = 1;
	k8s_obj_int(sp, "/spec/minReplicas", &v);
	printf("Min replicas:      %" PRId64 "\n", v);
	v = 0;
	k8s_obj_int(sp, "/spec/maxReplicas", &v);
	printf("Max replicas:      %" PRId64 "\n", v);
	s = k8s_obj_str(sp, "/spec/mode");
	printf("Mode:              %s\n", s ? s : "Active");
	v = AS_DEFAULT_SUSTAIN_S;
	k8s_obj_int(sp, "/spec/sustainWindowSeconds", &v);
	s = k8s_obj_str(sp, "/spec/sustainRule");
	printf("Sustain window:    %" PRId64 " s (%s)\n", v, s ? s : "Held");
	v = 0;
	k8s_obj_int(sp, "/status/currentReplicas", &v);
	printf("Replicas:          %" PRId64 " current", v);
	if (!k8s_obj_int(sp, "/status/desiredReplicas", &v))
		printf(" / %" PRId64 " desired", v);
	printf("\n");
	s = k8s_obj_str(sp, "/status/lastScaleTime");
	printf("Last scale time:   %s\n", s ? s : "<none>");
	if (k8s_obj_type(sp, "/status/lastDecision") == K8S_T_OBJECT) {
		int64_t from = 0, to = 0;
		bool applied = false;

		k8s_obj_int(sp, "/status/lastDecision/currentReplicas", &from);
		k8s_obj_int(sp, "/status/lastDecision/desiredReplicas", &to);
		k8s_obj_bool(sp, "/status/lastDecision/applied", &applied);
		printf("Last decision:     %s: %" PRId64 " -> %" PRId64 " (%s): %s\n",
		       or_q(k8s_obj_str(sp, "/status/lastDecision/time")), from, to,
		       applied ? "applied" : "not applied",
		       or_e(k8s_obj_str(sp, "/status/lastDecision/reason")));
	}
	op_conditions_print(sp, 28, "");
out:
	k8s_obj_free(sp);
	k8s_client_free(c);
	return ret;
}

int ctl_cmd_autoscale(int argc, char **argv)
{
	struct asc_args a = {0};
	const char *sub, *name;
	int ret;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		asc_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? -EINVAL : 0;
	}
	sub = argv[1];
	ret = asc_parse(argc - 1, argv + 1, &a);
	if (ret || a.help) {
		if (a.help)
			asc_usage(stdout);
		return ret;
	}
	name = optind < argc - 1 ? argv[optind + 1] : NULL;
	if (name && optind + 2 < argc)
		return ctl_usage_error("autoscale", "unexpected argument '%s'", argv[optind + 2]);
	if (!strcmp(sub, "create")) {
		if (!name)
			return ctl_usage_error("autoscale", "create needs a NAME");
		return asc_create(&a, name);
	}
	if (!strcmp(sub, "get"))
		return asc_get(&a, name);
	if (!strcmp(sub, "describe")) {
		if (!name)
			return ctl_usage_error("autoscale", "describe needs a NAME");
		return asc_describe(&a, name);
	}
	return ctl_usage_error("autoscale", "unknown command '%s': create, get or describe", sub);
}
