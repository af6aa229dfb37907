// SPDX-License-Identifier: MIT
/*
 * tests/autoscale/t_autoscale_spec.c - the ScalePolicy resource
 * (control/autoscale/policy.c): HPA specs pasted over decode to the policy
 * they say; every malformed input is refused with -EINVAL, the reason
 * InvalidSpec and a message naming the field (the wording of the API
 * server's validation of an autoscaling/v2 HPA where it has one); what is
 * well formed but not supported is refused with its own reason; the status
 * patch keeps a condition's lastTransitionTime while its status holds; and
 * the CRD's schema (k8s/deploy/crd-scalepolicy.yaml) names the same values
 * the decoder takes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/autoscale/autoscale.h"
#include "k8s/k8s.h"
#include "t_helpers.h"

static struct k8s_obj *yaml(const char *y)
{
	struct k8s_obj *o;
	struct k8s_err err;

	if (k8s_obj_parse_yaml(y, strlen(y), &o, &err))
		t_error("test input does not parse: %s: %s", err.msg, y);
	return o;
}

/* the cookbook's HPA (50 % cpu, 1 to 5 replicas) with its kind changed */
static const char cookbook[] = "apiVersion: ferry.io/v1alpha1\n"
			       "kind: ScalePolicy\n"
			       "metadata:\n"
			       "  name: web\n"
			       "  namespace: shop\n"
			       "  generation: 4\n"
			       "spec:\n"
			       "  scaleTargetRef:\n"
			       "    apiVersion: apps/v1\n"
			       "    kind: Deployment\n"
			       "    name: web\n"
			       "  minReplicas: 1\n"
			       "  maxReplicas: 5\n"
			       "  metrics:\n"
			       "  - type: Resource\n"
			       "    resource:\n"
			       "      name: cpu\n"
			       "      target:\n"
			       "        type: Utilization\n"
			       "        averageUtilization: 50\n";

static const char full[] =
	"metadata: {name: api, namespace: shop}\n"
	"spec:\n"
	"  scaleTargetRef: {apiVersion: apps/v1, kind: StatefulSet, name: api}\n"
	"  maxReplicas: 40\n"
	"  minReplicas: 2\n"
	"  mode: Shadow\n"
	"  sustainWindowSeconds: 5\n"
	"  sustainRule: Mean\n"
	"  metrics:\n"
	"  - type: Resource\n"
	"    resource: {name: memory, target: {type: AverageValue, averageValue: 512Mi}}\n"
	"  - type: ContainerResource\n"
	"    containerResource:\n"
	"      name: cpu\n"
	"      container: app\n"
	"      target: {type: Utilization, averageUtilization: 60}\n"
	"  - type: Pods\n"
	"    pods:\n"
	"      metric: {name: ferry_runqueue_wait_p99_seconds}\n"
	"      target: {type: AverageValue, averageValue: 5m}\n"
	"  - type: Pods\n"
	"    pods:\n"
	"      metric: {name: ferry_network_receive_bytes_per_second}\n"
	"      target: {type: AverageValue, averageValue: 2}\n"
	"  behavior:\n"
	"    scaleUp:\n"
	"      stabilizationWindowSeconds: 0\n"
	"      selectPolicy: Max\n"
	"      tolerance: 0.05\n"
	"      policies:\n"
	"      - {type: Pods, value: 4, periodSeconds: 15}\n"
	"      - {type: Percent, value: 100, periodSeconds: 15}\n"
	"    scaleDown:\n"
	"      stabilizationWindowSeconds: 60\n"
	"      selectPolicy: Min\n"
	"      tolerance: '0.2'\n"
	"      policies: [{type: Percent, value: 10, periodSeconds: 60}]\n";

static void test_good(void)
{
	struct k8s_obj *o = yaml(cookbook);
	struct as_spec s;
	struct as_err err;

	T_ASSERT(!as_spec_decode(o, &s, &err), "%s", err.msg);
	T_ASSERT(!strcmp(s.api_version, "apps/v1") && !strcmp(s.kind, "Deployment") &&
		 !strcmp(s.name, "web"));
	T_ASSERT_EQ(s.policy.min_replicas, 1);
	T_ASSERT_EQ(s.policy.max_replicas, 5);
	T_ASSERT_EQ(s.policy.n_metrics, 1);
	T_ASSERT(s.policy.metrics == s.metrics);
	T_ASSERT(s.metrics[0].source == AS_SRC_RESOURCE && s.metrics[0].resource == AS_RES_CPU &&
		 s.metrics[0].target == AS_TARGET_UTILIZATION && s.metrics[0].utilization == 50);
	T_ASSERT(!s.policy.has_behavior, "no behavior: upstream's behavior-less path");
	T_ASSERT(s.mode == AS_MODE_ACTIVE);
	T_ASSERT_EQ(s.window.window_ms, AS_DEFAULT_SUSTAIN_WINDOW_MS);
	T_ASSERT_EQ(s.window.window_ms, 6000);
	T_ASSERT_EQ(s.window.stale_ms, 12000); /* two windows */
	T_ASSERT(s.window.rule == AS_SUSTAIN_HELD);
	T_ASSERT_EQ(s.generation, 4);
	T_ASSERT(s.policy.tolerance == AS_DEFAULT_TOLERANCE);
	k8s_obj_free(o);

	o = yaml(full);
	T_ASSERT(!as_spec_decode(o, &s, &err), "%s", err.msg);
	T_ASSERT(!strcmp(s.kind, "StatefulSet") && s.mode == AS_MODE_SHADOW);
	T_ASSERT(s.policy.min_replicas == 2 && s.policy.max_replicas == 40);
	T_ASSERT_EQ(s.window.window_ms, 5000);
	T_ASSERT_EQ(s.window.stale_ms, 10000);
	T_ASSERT(s.window.rule == AS_SUSTAIN_MEAN);
	T_ASSERT_EQ(s.policy.n_metrics, 4);
	T_ASSERT(s.metrics[0].resource == AS_RES_MEMORY &&
		 s.metrics[0].target == AS_TARGET_AVERAGE_VALUE &&
		 s.metrics[0].value == 512LL * 1024 * 1024 * 1000);
	T_ASSERT(s.metrics[1].source == AS_SRC_CONTAINER_RESOURCE &&
		 s.metrics[1].resource == AS_RES_CPU && !strcmp(s.metrics[1].name, "app") &&
		 s.metrics[1].utilization == 60);
	T_ASSERT(s.metrics[2].source == AS_SRC_PODS &&
		 !strcmp(s.metrics[2].name, "ferry_runqueue_wait_p99_seconds") &&
		 s.metrics[2].value == 5);
	T_ASSERT_EQ(s.metrics[3].value, 2000); /* an integer quantity: 2 = 2000m */
	T_ASSERT(s.policy.has_behavior);
	T_ASSERT(s.policy.up.window_s == 0 && s.policy.up.select == AS_SELECT_MAX &&
		 s.policy.up.n_policies == 2);
	T_ASSERT(s.policy.up.policies[0].type == AS_POLICY_PODS &&
		 s.policy.up.policies[0].value == 4 && s.policy.up.policies[0].period_s == 15);
	T_ASSERT(s.policy.up.policies[1].type == AS_POLICY_PERCENT &&
		 s.policy.up.policies[1].value == 100);
	T_ASSERT(s.policy.up.tolerance == 0.05, "a float tolerance from YAML: %g",
		 s.policy.up.tolerance);
	T_ASSERT(s.policy.down.window_s == 60 && s.policy.down.select == AS_SELECT_MIN &&
		 s.policy.down.n_policies == 1 && s.policy.down.tolerance == 0.2);
	k8s_obj_free(o);

	/* no metrics: cpu at 80 %; no minReplicas: 1; a behavior with one direction */
	o = yaml("spec: {scaleTargetRef: {kind: Deployment, name: w}, maxReplicas: 3,"
		 " behavior: {scaleDown: {stabilizationWindowSeconds: 30}}}");
	T_ASSERT(!as_spec_decode(o, &s, &err), "%s", err.msg);
	T_ASSERT(!strcmp(s.api_version, ""), "absent apiVersion: the core group");
	T_ASSERT(s.policy.n_metrics == 1 && s.metrics[0].resource == AS_RES_CPU &&
		 s.metrics[0].utilization == AS_DEFAULT_CPU_UTILIZATION);
	T_ASSERT_EQ(s.policy.min_replicas, 1);
	T_ASSERT(s.policy.has_behavior && s.policy.up.window_s == AS_UNSET &&
		 s.policy.up.n_policies == 0 && s.policy.down.window_s == 30);
	k8s_obj_free(o);
}

#define REF    "scaleTargetRef: {kind: Deployment, name: w}, maxReplicas: 3"
#define M(x)   "spec: {" REF ", metrics: [" x "]}"
#define CPU(t) M("{type: Resource, resource: {name: cpu, target: " t "}}")
#define B(x)   "spec: {" REF ", behavior: " x "}"

static const struct {
	const char *yaml;
	int code;
	const char *reason;
	const char *msg; /* a substring of err.msg */
} bad[] = {
	/* the object and the reference */
	{"[1, 2]", -EINVAL, AS_REASON_INVALID_SPEC, "ScalePolicy: must be an object"},
	{"metadata: {name: x}", -EINVAL, AS_REASON_INVALID_SPEC, "spec: Required value"},
	{"spec: [1]", -EINVAL, AS_REASON_INVALID_SPEC, "spec: must be an object"},
	{"spec: {maxReplicas: 3}", -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.scaleTargetRef: Required value"},
	{"spec: {scaleTargetRef: web, maxReplicas: 3}", -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.scaleTargetRef: must be an object"},
	{"spec: {scaleTargetRef: {name: w}, maxReplicas: 3}", -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.scaleTargetRef.kind: Required value"},
	{"spec: {scaleTargetRef: {kind: Deployment, name: ''}, maxReplicas: 3}", -EINVAL,
	 AS_REASON_INVALID_SPEC, "spec.scaleTargetRef.name: must not be empty"},
	{"spec: {scaleTargetRef: {kind: 5, name: w}, maxReplicas: 3}", -EINVAL,
	 AS_REASON_INVALID_SPEC, "spec.scaleTargetRef.kind: must be a string"},
	{"spec: {scaleTargetRef: {apiVersion: [apps], kind: D, name: w}, maxReplicas: 3}", -EINVAL,
	 AS_REASON_INVALID_SPEC, "spec.scaleTargetRef.apiVersion: must be a string"},
	/* replicas */
	{"spec: {scaleTargetRef: {kind: D, name: w}}", -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.maxReplicas: Required value"},
	{"spec: {scaleTargetRef: {kind: D, name: w}, maxReplicas: 0}", -EINVAL,
	 AS_REASON_INVALID_SPEC, "spec.maxReplicas: must be greater than or equal to 1"},
	{"spec: {scaleTargetRef: {kind: D, name: w}, maxReplicas: '3'}", -EINVAL,
	 AS_REASON_INVALID_SPEC, "spec.maxReplicas: must be an integer"},
	{"spec: {scaleTargetRef: {kind: D, name: w}, maxReplicas: 1.5}", -EINVAL,
	 AS_REASON_INVALID_SPEC, "spec.maxReplicas: must be an integer"},
	{"spec: {scaleTargetRef: {kind: D, name: w}, maxReplicas: 3000000000}", -EINVAL,
	 AS_REASON_INVALID_SPEC, "spec.maxReplicas: out of the int32 range"},
	{"spec: {" REF ", minReplicas: -1}", -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.minReplicas: must be greater than or equal to 0"},
	{"spec: {" REF ", minReplicas: 4}", -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.maxReplicas: 3 is less than minReplicas 4"},
	/* metrics */
	{"spec: {" REF ", metrics: {type: Resource}}", -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.metrics: must be an array"},
	{M("cpu"), -EINVAL, AS_REASON_INVALID_SPEC, "spec.metrics[0]: must be an object"},
	{M("{resource: {name: cpu}}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.metrics[0].type: Required value"},
	{M("{type: Foo}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.metrics[0].type: Unsupported value: \"Foo\""},
	{M("{type: \"Fo\\no\"}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.metrics[0].type: Unsupported value: \"Fo o\""},
	{M("{type: Resource}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.metrics[0].resource: Required value: must populate information"},
	{M("{type: Resource, resource: 7}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.metrics[0].resource: must be an object"},
	{M("{type: Resource, resource: {name: cpu, target: {type: Utilization, "
	   "averageUtilization: 50}}, pods: {metric: {name: x}}}"),
	 -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.metrics[0].pods: Forbidden: must populate the given metric source only"},
	{M("{type: Resource, resource: {target: {type: Utilization, averageUtilization: 5}}}"),
	 -EINVAL, AS_REASON_INVALID_SPEC, "spec.metrics[0].resource.name: Required value"},
	{M("{type: Resource, resource: {name: cpu}}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.metrics[0].resource.target: Required value"},
	{CPU("{type: Bogus}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.metrics[0].resource.target.type: Unsupported value: \"Bogus\""},
	{CPU("{averageUtilization: 50}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.metrics[0].resource.target.type: Required value"},
	{CPU("{type: Utilization}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "averageUtilization: Required value: must set averageUtilization when type is Utilization"},
	{CPU("{type: Utilization, averageUtilization: 0}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.metrics[0].resource.target.averageUtilization: must be greater than 0"},
	{CPU("{type: Utilization, averageUtilization: '50'}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "averageUtilization: must be an integer"},
	{CPU("{type: AverageValue}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "averageValue: Required value: must set averageValue when type is AverageValue"},
	{CPU("{type: AverageValue, averageValue: abc}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "averageValue: \"abc\" is not a quantity"},
	{CPU("{type: AverageValue, averageValue: '-1'}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "averageValue: must be positive"},
	{CPU("{type: AverageValue, averageValue: 99999999999999999}"), -EINVAL,
	 AS_REASON_INVALID_SPEC, "averageValue: out of range"},
	{CPU("{type: AverageValue, averageValue: [1]}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "averageValue: must be a quantity"},
	{M("{type: ContainerResource, containerResource: {name: cpu, target: {type: "
	   "Utilization, averageUtilization: 5}}}"),
	 -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.metrics[0].containerResource.container: Required value"},
	{M("{type: Pods, pods: {target: {type: AverageValue, averageValue: 1}}}"), -EINVAL,
	 AS_REASON_INVALID_SPEC, "spec.metrics[0].pods.metric: Required value"},
	{M("{type: Pods, pods: {metric: {name: ferry_runqueue_wait_p99_seconds}, target: {type: "
	   "Utilization, averageUtilization: 5}}}"),
	 -EINVAL, AS_REASON_INVALID_SPEC, "Pods metrics take a positive averageValue"},
	{"spec: {" REF ", metrics: [{type: Resource, resource: {name: cpu, target: {type: "
	 "Utilization, averageUtilization: 5}}}, {type: Resource, resource: {name: cpu, target: "
	 "{type: Utilization, averageUtilization: 5}}}, {type: Resource, resource: {name: cpu, "
	 "target: {type: Utilization, averageUtilization: 5}}}, {type: Resource, resource: {name: "
	 "cpu, target: {type: Utilization, averageUtilization: 5}}}, {type: Resource, resource: "
	 "{name: cpu, target: {type: Utilization, averageUtilization: 5}}}, {type: Resource, "
	 "resource: {name: cpu, target: {type: Utilization, averageUtilization: 5}}}, {type: "
	 "Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 5}}}, "
	 "{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: "
	 "5}}}, {type: Resource, resource: {name: cpu, target: {type: Utilization, "
	 "averageUtilization: 5}}}, {type: Resource, resource: {name: cpu, target: {type: "
	 "Utilization, averageUtilization: 5}}}, {type: Resource, resource: {name: cpu, target: "
	 "{type: Utilization, averageUtilization: 5}}}, {type: Resource, resource: {name: cpu, "
	 "target: {type: Utilization, averageUtilization: 5}}}, {type: Resource, resource: {name: "
	 "cpu, target: {type: Utilization, averageUtilization: 5}}}, {type: Resource, resource: "
	 "{name: cpu, target: {type: Utilization, averageUtilization: 5}}}, {type: Resource, "
	 "resource: {name: cpu, target: {type: Utilization, averageUtilization: 5}}}, {type: "
	 "Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 5}}}, "
	 "{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: "
	 "5}}}]}",
	 -EINVAL, AS_REASON_INVALID_SPEC, "spec.metrics: Too many: 17: must have at most 16 items"},
	/* behavior */
	{B("[]"), -EINVAL, AS_REASON_INVALID_SPEC, "spec.behavior: must be an object"},
	{B("{scaleUp: 1}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.behavior.scaleUp: must be an object"},
	{B("{scaleUp: {stabilizationWindowSeconds: -1}}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: -1: must be within "
	 "0..3600"},
	{B("{scaleDown: {stabilizationWindowSeconds: 3601}}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: 3601"},
	{B("{scaleUp: {selectPolicy: Maximum}}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.behavior.scaleUp.selectPolicy: Unsupported value: \"Maximum\""},
	{B("{scaleUp: {policies: {type: Pods}}}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.behavior.scaleUp.policies: must be an array"},
	{B("{scaleUp: {policies: []}}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.behavior.scaleUp.policies: Required value: must specify at least one Percent or "
	 "Pods policy"},
	{B("{scaleUp: {policies: [7]}}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.behavior.scaleUp.policies[0]: must be an object"},
	{B("{scaleUp: {policies: [{type: Replicas, value: 1, periodSeconds: 1}]}}"), -EINVAL,
	 AS_REASON_INVALID_SPEC, "spec.behavior.scaleUp.policies[0].type: Unsupported value"},
	{B("{scaleUp: {policies: [{type: Pods, value: 0, periodSeconds: 1}]}}"), -EINVAL,
	 AS_REASON_INVALID_SPEC,
	 "spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be greater than zero"},
	{B("{scaleUp: {policies: [{type: Pods, periodSeconds: 1}]}}"), -EINVAL,
	 AS_REASON_INVALID_SPEC, "spec.behavior.scaleUp.policies[0].value: Required value"},
	{B("{scaleDown: {policies: [{type: Percent, value: 5, periodSeconds: 0}]}}"), -EINVAL,
	 AS_REASON_INVALID_SPEC,
	 "spec.behavior.scaleDown.policies[0].periodSeconds: Invalid value: 0: must be within "
	 "1..1800"},
	{B("{scaleDown: {policies: [{type: Percent, value: 5, periodSeconds: 1801}]}}"), -EINVAL,
	 AS_REASON_INVALID_SPEC, "periodSeconds: Invalid value: 1801"},
	{B("{scaleDown: {policies: [{type: Percent, value: 5}]}}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.behavior.scaleDown.policies[0].periodSeconds: Required"},
	{B("{scaleUp: {tolerance: '-0.1'}}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.behavior.scaleUp.tolerance: must be greater than or equal to 0"},
	{B("{scaleUp: {tolerance: ten}}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.behavior.scaleUp.tolerance: \"ten\" is not a quantity"},
	{B("{scaleUp: {policies: [{type: Pods, value: 1, periodSeconds: 1}, {type: Pods, value: 1, "
	   "periodSeconds: 1}, {type: Pods, value: 1, periodSeconds: 1}, {type: Pods, value: 1, "
	   "periodSeconds: 1}, {type: Pods, value: 1, periodSeconds: 1}, {type: Pods, value: 1, "
	   "periodSeconds: 1}, {type: Pods, value: 1, periodSeconds: 1}, {type: Pods, value: 1, "
	   "periodSeconds: 1}, {type: Pods, value: 1, periodSeconds: 1}, {type: Pods, value: 1, "
	   "periodSeconds: 1}, {type: Pods, value: 1, periodSeconds: 1}, {type: Pods, value: 1, "
	   "periodSeconds: 1}, {type: Pods, value: 1, periodSeconds: 1}, {type: Pods, value: 1, "
	   "periodSeconds: 1}, {type: Pods, value: 1, periodSeconds: 1}, {type: Pods, value: 1, "
	   "periodSeconds: 1}, {type: Pods, value: 1, periodSeconds: 1}]}}"),
	 -EINVAL, AS_REASON_INVALID_SPEC, "spec.behavior.scaleUp.policies: Too many: 17"},
	/* ferry's fields */
	{"spec: {" REF ", mode: Passive}", -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.mode: Unsupported value: \"Passive\""},
	{"spec: {" REF ", sustainWindowSeconds: 0}", -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.sustainWindowSeconds: Invalid value: 0: must be within 1..60"},
	{"spec: {" REF ", sustainWindowSeconds: 61}", -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.sustainWindowSeconds: Invalid value: 61"},
	{"spec: {" REF ", sustainWindowSeconds: '3'}", -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.sustainWindowSeconds: must be an integer"},
	{"spec: {" REF ", sustainRule: Median}", -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.sustainRule: Unsupported value: \"Median\": supported values: \"Held\", \"Mean\""},
	{"spec: {" REF ", sustainRule: held}", -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.sustainRule: Unsupported value: \"held\""},
	{"spec: {" REF ", sustainRule: 1}", -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.sustainRule: must be a string"},
	{"spec: {" REF ", sustainRule: ''}", -EINVAL, AS_REASON_INVALID_SPEC,
	 "spec.sustainRule: must not be empty"},
	/* well formed, refused */
	{M("{type: Object, object: {describedObject: {kind: Ingress, name: main}, metric: {name: "
	   "rps}, target: {type: Value, value: 10k}}}"),
	 -EOPNOTSUPP, AS_REASON_UNSUPPORTED_METRIC,
	 "spec.metrics[0]: Object metrics are not supported"},
	{M("{type: External, external: {metric: {name: queue}, target: {type: AverageValue, "
	   "averageValue: 30}}}"),
	 -EOPNOTSUPP, AS_REASON_UNSUPPORTED_METRIC, "External metrics are not supported"},
	{"spec: {" REF ", minReplicas: 0}", -EOPNOTSUPP, AS_REASON_UNSUPPORTED_SPEC,
	 "spec.minReplicas: 0 is not supported"},
	{M("{type: Pods, pods: {metric: {name: http_requests}, target: {type: AverageValue, "
	   "averageValue: 1}}}"),
	 -ENOENT, AS_REASON_UNSUPPORTED_METRIC, "pods metric http_requests: ferry serves"},
	{M("{type: Pods, pods: {metric: {name: \"a\\nb\"}, target: {type: AverageValue, "
	   "averageValue: 1}}}"),
	 -ENOENT, AS_REASON_UNSUPPORTED_METRIC, "pods metric a b: ferry serves"},
	{M("{type: Pods, pods: {metric: {name: ferry_runqueue_wait_p99_seconds, selector: "
	   "{matchLabels: {a: b}}}, target: {type: AverageValue, averageValue: 1}}}"),
	 -EOPNOTSUPP, AS_REASON_UNSUPPORTED_METRIC, "spec.metrics[0].pods.metric.selector"},
	{M("{type: Resource, resource: {name: ephemeral-storage, target: {type: AverageValue, "
	   "averageValue: 1Gi}}}"),
	 -EOPNOTSUPP, AS_REASON_UNSUPPORTED_METRIC,
	 "resource \"ephemeral-storage\" is not measured"},
	{CPU("{type: Value, value: 100m}"), -EINVAL, AS_REASON_INVALID_SPEC,
	 "target.type: must be Utilization or AverageValue for Resource metrics"},
};

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct k8s_obj *o = yaml(bad[i].yaml);
		struct as_spec s;
		struct as_err err;
		int ret = as_spec_decode(o, &s, &err);

		T_ASSERT(ret == bad[i].code, "case %zu (%s): %d, not %d: %s", i, bad[i].msg, ret,
			 bad[i].code, err.msg);
		T_ASSERT(err.code == ret && !strcmp(err.reason, bad[i].reason),
			 "case %zu: reason %s, not %s", i, err.reason, bad[i].reason);
		T_ASSERT(strstr(err.msg, bad[i].msg), "case %zu: \"%s\" lacks \"%s\"", i, err.msg,
			 bad[i].msg);
		T_ASSERT(!strchr(err.msg, '\n'), "case %zu: one line", i);
		k8s_obj_free(o);
	}
	/* NULL and a scalar */
	{
		struct as_spec s;
		struct as_err err;

		T_ASSERT_EQ(as_spec_decode(NULL, &s, &err), -EINVAL);
	}
	printf("t_autoscale_spec: %zu malformed or refused inputs\n", sizeof(bad) / sizeof(bad[0]));
}

static const char *cond_field(const struct k8s_obj *st, const char *type, const char *field)
{
	for (const struct k8s_obj *c = k8s_obj_first(k8s_obj_at(st, "/conditions")); c;
	     c = k8s_obj_next(c)) {
		const char *t = k8s_obj_str(c, "/type");

		if (t && !strcmp(t, type))
			return k8s_obj_str(c, field);
	}
	return NULL;
}

static void test_status(void)
{
	struct k8s_obj *o = yaml(
		"metadata: {name: w, namespace: n, generation: 7}\n"
		"spec:\n"
		"  scaleTargetRef: {kind: Deployment, name: w}\n"
		"  maxReplicas: 9\n"
		"  metrics:\n"
		"  - {type: Resource, resource: {name: cpu, target: {type: Utilization, "
		"averageUtilization: 50}}}\n"
		"  - {type: Pods, pods: {metric: {name: ferry_runqueue_wait_p99_seconds}, target: "
		"{type: AverageValue, averageValue: 5m}}}\n"
		"status:\n"
		"  desiredReplicas: 3\n"
		"  currentMetrics: [{type: Resource}]\n"
		"  conditions:\n"
		"  - {type: AbleToScale, status: 'True', lastTransitionTime: "
		"'2026-01-01T00:00:00Z', reason: ReadyForNewScale, message: old}\n"
		"  - {type: ScalingActive, status: 'True', lastTransitionTime: "
		"'2026-01-01T00:00:00Z', reason: ValidMetricFound, message: old}\n"
		"  - {type: ScalingLimited, status: 'False', lastTransitionTime: "
		"'2026-01-01T00:00:00Z', reason: DesiredWithinRange, message: old}\n"
		"  - {type: SomeoneElses, status: 'True', lastTransitionTime: "
		"'2026-01-01T00:00:00Z', reason: Theirs}\n");
	const int64_t now = 1798761600000; /* 2027-01-01T00:00:00Z */
	struct as_outcome out = {0};
	struct as_spec s;
	struct as_err err;
	struct k8s_obj *p;
	const struct k8s_obj *st;

	T_ASSERT(!as_spec_decode(o, &s, &err), "%s", err.msg);
	out.decided = true;
	out.dec.current_replicas = 3;
	out.dec.desired_replicas = 5;
	out.dec.n_metrics = 2;
	out.dec.metrics[0] = (struct as_metric_status){.valid = true,
						       .average_value = 150,
						       .has_utilization = true,
						       .average_utilization = 150};
	out.dec.metrics[1] = (struct as_metric_status){.valid = false};
	out.dec.able_to_scale = (struct as_condition){.set = true,
						      .status = true,
						      .reason = AS_REASON_SUCCEEDED_RESCALE,
						      .message = "new"};
	out.dec.scaling_active = (struct as_condition){
		.set = true, .status = false, .reason = AS_REASON_FAILED_PODS, .message = "bad"};
	out.scaled = true;
	snprintf(out.dec.rescale_reason, sizeof(out.dec.rescale_reason), "cpu above target");
	T_ASSERT(!as_status_patch(o, &s, &out, now, &p));
	st = k8s_obj_at(p, "/status");
	{
		int64_t v;

		T_ASSERT(!k8s_obj_int(st, "/observedGeneration", &v) && v == 7);
		T_ASSERT(!k8s_obj_int(st, "/currentReplicas", &v) && v == 3);
		T_ASSERT(!k8s_obj_int(st, "/desiredReplicas", &v) && v == 5);
		T_ASSERT(!k8s_obj_int(st, "/lastDecision/desiredReplicas", &v) && v == 5);
	}
	T_ASSERT(!strcmp(k8s_obj_str(st, "/lastScaleTime"), "2027-01-01T00:00:00Z"));
	T_ASSERT(!strcmp(k8s_obj_str(st, "/lastDecision/reason"), "cpu above target"));
	/* currentMetrics in autoscaling/v2's shape; a failed metric is its type only */
	T_ASSERT(!strcmp(k8s_obj_str(st, "/currentMetrics/0/resource/name"), "cpu"));
	T_ASSERT(!strcmp(k8s_obj_str(st, "/currentMetrics/0/resource/current/averageValue"),
			 "150m"));
	{
		int64_t v;

		T_ASSERT(!k8s_obj_int(st, "/currentMetrics/0/resource/current/averageUtilization",
				      &v) &&
			 v == 150);
	}
	T_ASSERT(!strcmp(k8s_obj_str(st, "/currentMetrics/1/type"), "Pods") &&
		 k8s_obj_len(st, "/currentMetrics/1") == 1);
	/* AbleToScale stayed True: its time is kept; ScalingActive turned False: now */
	T_ASSERT(!strcmp(cond_field(st, "AbleToScale", "/lastTransitionTime"),
			 "2026-01-01T00:00:00Z"));
	T_ASSERT(!strcmp(cond_field(st, "AbleToScale", "/message"), "new"));
	T_ASSERT(!strcmp(cond_field(st, "ScalingActive", "/lastTransitionTime"),
			 "2027-01-01T00:00:00Z"));
	T_ASSERT(!strcmp(cond_field(st, "ScalingActive", "/reason"), AS_REASON_FAILED_PODS));
	/* not set this pass: as it was; another writer's condition stays */
	T_ASSERT(!strcmp(cond_field(st, "ScalingLimited", "/message"), "old"));
	T_ASSERT(!strcmp(cond_field(st, "SomeoneElses", "/reason"), "Theirs"));
	T_ASSERT_EQ(k8s_obj_len(st, "/conditions"), 4);
	k8s_obj_free(p);

	/* no decision: desiredReplicas, currentMetrics and lastDecision are left alone */
	memset(&out, 0, sizeof(out));
	out.dec.desired_replicas = -1;
	out.dec.able_to_scale = (struct as_condition){.set = true,
						      .status = false,
						      .reason = AS_REASON_FAILED_GET_SCALE,
						      .message = "gone"};
	T_ASSERT(!as_status_patch(o, NULL, &out, now, &p));
	st = k8s_obj_at(p, "/status");
	T_ASSERT(k8s_obj_type(st, "/desiredReplicas") == K8S_T_ABSENT &&
		 k8s_obj_type(st, "/currentMetrics") == K8S_T_ABSENT &&
		 k8s_obj_type(st, "/lastDecision") == K8S_T_ABSENT &&
		 k8s_obj_type(st, "/lastScaleTime") == K8S_T_ABSENT);
	T_ASSERT(!strcmp(cond_field(st, "AbleToScale", "/reason"), AS_REASON_FAILED_GET_SCALE));
	T_ASSERT(!strcmp(cond_field(st, "AbleToScale", "/lastTransitionTime"),
			 "2027-01-01T00:00:00Z"));
	k8s_obj_free(p);

	/* shadow: lastDecision not applied, no lastScaleTime */
	memset(&out, 0, sizeof(out));
	out.decided = out.shadow = true;
	out.dec.current_replicas = 2;
	out.dec.desired_replicas = 4;
	T_ASSERT(!as_status_patch(o, &s, &out, now, &p));
	st = k8s_obj_at(p, "/status");
	{
		bool applied = true;

		T_ASSERT(!k8s_obj_bool(st, "/lastDecision/applied", &applied) && !applied);
	}
	T_ASSERT(k8s_obj_type(st, "/lastScaleTime") == K8S_T_ABSENT);
	k8s_obj_free(p);
	k8s_obj_free(o);
}

/* the CRD's schema and the decoder agree on the names they take */
static void test_crd(void)
{
	const char *src = getenv("FERRY_SRC");
	static const char *const types[] = {"Resource", "ContainerResource", "Pods", "Object",
					    "External"};
	const struct k8s_obj *spec, *m, *v;
	struct k8s_obj *crd;
	struct k8s_err kerr;
	char path[512], *buf;
	FILE *f;
	long len;

	if (!src)
		t_error("FERRY_SRC is not set (meson test sets it)");
	snprintf(path, sizeof(path), "%s/k8s/deploy/crd-scalepolicy.yaml", src);
	f = fopen(path, "r");
	if (!f)
		t_fail("%s: cannot open", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
		t_error("%s: cannot read", path);
	fclose(f);
	T_ASSERT(!k8s_obj_parse_yaml(buf, (size_t)len, &crd, &kerr), "%s", kerr.msg);
	free(buf);
	T_ASSERT(!strcmp(k8s_obj_str(crd, "/metadata/name"), "scalepolicies.ferry.io"));
	T_ASSERT(!strcmp(k8s_obj_str(crd, "/spec/names/kind"), "ScalePolicy"));
	T_ASSERT(!strcmp(k8s_obj_str(crd, "/spec/versions/0/name"), "v1alpha1"));
	T_ASSERT(k8s_obj_type(crd, "/spec/versions/0/subresources/status") == K8S_T_OBJECT);
	spec = k8s_obj_at(crd, "/spec/versions/0/schema/openAPIV3Schema/properties/spec");
	T_ASSERT(spec, "the schema has a spec");
	m = k8s_obj_at(spec, "/properties/metrics/items");
	T_ASSERT_EQ(k8s_obj_len(m, "/properties/type/enum"), 5);
	for (int i = 0; i < 5; i++) {
		char p[64];

		snprintf(p, sizeof(p), "/properties/type/enum/%d", i);
		T_ASSERT(!strcmp(k8s_obj_str(m, p), types[i]), "enum[%d]", i);
	}
	v = k8s_obj_at(spec, "/properties/sustainWindowSeconds");
	{
		int64_t lo, hi, def;

		T_ASSERT(!k8s_obj_int(v, "/minimum", &lo) && !k8s_obj_int(v, "/maximum", &hi) &&
			 !k8s_obj_int(v, "/default", &def));
		T_ASSERT(lo == 1 && hi == AS_MAX_SUSTAIN_S && def == AS_DEFAULT_SUSTAIN_S);
	}
	T_ASSERT(!strcmp(k8s_obj_str(spec, "/properties/mode/default"), "Active"));
	T_ASSERT(!strcmp(k8s_obj_str(spec, "/properties/sustainRule/default"), "Held"));
	T_ASSERT_EQ(k8s_obj_len(spec, "/properties/sustainRule/enum"), 2);
	T_ASSERT(k8s_obj_type(spec, "/properties/behavior/properties/scaleUp/properties/tolerance/"
				    "x-kubernetes-int-or-string") == K8S_T_BOOL);
	k8s_obj_free(crd);
}

int main(void)
{
	test_good();
	test_bad();
	test_status();
	test_crd();
	printf("t_autoscale_spec: ok\n");
	return 0;
}
