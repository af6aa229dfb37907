// SPDX-License-Identifier: MIT
/*
 * tests/cluster/t_objects.c - the objects of a cluster backup from tables
 * (control/cluster/select.c, restore_plan.c): Velero's selection, volume
 * policies and the volumes that cannot be snapshotted; the restore's strip
 * list, mappings (and Velero's mapping ConfigMaps), priority tiers and the
 * whole-set rules of a plan; refusals of malformed specs and lines.
 * Each case names the Velero behaviour it holds ferry to: the doc page
 * (site/content/docs/main/...) or source file, as
 * shared/research/CONTROLPLANE.md §3 cites them.
 * JSON in the tables is written with ' for " (J()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cluster/cluster.h"
#include "k8s/k8s.h"
#include "t_cluster_kit.h"
#include "t_helpers.h"

/* ------------------------------------------------------------ resources */

#define R(g, res, sing, k, shorts, nsd)                                                            \
	{                                                                                          \
		.group = g, .version = "v1", .resource = res, .singular = sing, .kind = k,         \
		.short_names = shorts, .namespaced = nsd, .listable = true, .creatable = true      \
	}
static const struct cluster_res pods = R("", "pods", "pod", "Pod", "po", true);
static const struct cluster_res deps =
	R("apps", "deployments", "deployment", "Deployment", "deploy", true);
static const struct cluster_res pvs =
	R("", "persistentvolumes", "persistentvolume", "PersistentVolume", "pv", false);
static const struct cluster_res nss = R("", "namespaces", "namespace", "Namespace", "ns", false);
static const struct cluster_res scs =
	R("storage.k8s.io", "storageclasses", "storageclass", "StorageClass", "sc", false);
static const struct cluster_res crds =
	R("apiextensions.k8s.io", "customresourcedefinitions", "customresourcedefinition",
	  "CustomResourceDefinition", "crd,crds", false);
static const struct cluster_res widgets =
	R("example.com", "widgets", "widget", "Widget", "wd", true);

struct sel_case {
	const char *why; /* the Velero behaviour */
	const char *spec;
	const struct cluster_res *res;
	const char *obj;
	bool related;
	enum cluster_verdict want;
};

#define POD(ns, labels)	 "{'metadata':{'name':'p','namespace':'" ns "','labels':{" labels "}}}"
#define CL(name, labels) "{'metadata':{'name':'" name "','labels':{" labels "}}}"

static const struct sel_case sel_cases[] = {
	{"resource-filtering.md: no filter includes every object", "{}", &pods, POD("a", ""), false,
	 CLUSTER_TAKE},
	{"--include-namespaces: only those", "{'includedNamespaces':['a']}", &pods, POD("b", ""),
	 false, CLUSTER_OUT_NAMESPACE},
	{"--include-namespaces accepts globs * ? [abc]", "{'includedNamespaces':['a*','x?[yz]']}",
	 &pods, POD("abc", ""), false, CLUSTER_TAKE},
	{"globs: ? is one character", "{'includedNamespaces':['x?[yz]']}", &pods, POD("xqy", ""),
	 false, CLUSTER_TAKE},
	{"globs: [yz] is a set", "{'includedNamespaces':['x?[yz]']}", &pods, POD("xqa", ""), false,
	 CLUSTER_OUT_NAMESPACE},
	{"an excluded namespace wins over *",
	 "{'includedNamespaces':['*'],'excludedNamespaces':['b']}", &pods, POD("b", ""), false,
	 CLUSTER_OUT_NAMESPACE},
	{"--include-resources: only those", "{'includedResources':['deployments']}", &pods,
	 POD("a", ""), false, CLUSTER_OUT_RESOURCE},
	{"resources by short name (kubectl's)", "{'includedResources':['deploy']}", &deps,
	 POD("a", ""), false, CLUSTER_TAKE},
	{"resources as resource.group", "{'includedResources':['deployments.apps']}", &deps,
	 POD("a", ""), false, CLUSTER_TAKE},
	{"resource.group: another group is not it",
	 "{'includedResources':['deployments.extensions']}", &deps, POD("a", ""), false,
	 CLUSTER_OUT_RESOURCE},
	{"resources by kind or singular, any case", "{'includedResources':['Deployment','pod']}",
	 &deps, POD("a", ""), false, CLUSTER_TAKE},
	{"an excluded resource wins over *",
	 "{'includedResources':['*'],'excludedResources':['pods']}", &pods, POD("a", ""), false,
	 CLUSTER_OUT_RESOURCE},
	{"* includes the rest", "{'includedResources':['*'],'excludedResources':['pods']}", &deps,
	 POD("a", ""), false, CLUSTER_TAKE},
	{"--selector: matching labels", "{'labelSelector':{'matchLabels':{'app':'web'}}}", &pods,
	 POD("a", "'app':'web'"), false, CLUSTER_TAKE},
	{"--selector: others are left", "{'labelSelector':{'matchLabels':{'app':'web'}}}", &pods,
	 POD("a", "'app':'db'"), false, CLUSTER_OUT_SELECTOR},
	{"set-based selector 'backup notin (false)' (cookbook)",
	 "{'labelSelector':{'matchExpressions':[{'key':'backup','operator':'NotIn','values':["
	 "'false']}]}}",
	 &pods, POD("a", "'app':'db'"), false, CLUSTER_TAKE},
	{"--or-selector: any of them",
	 "{'orLabelSelectors':[{'matchLabels':{'app':'web'}},{'matchExpressions':[{'key':'tier',"
	 "'operator':'In','values':['cache']}]}]}",
	 &pods, POD("a", "'tier':'cache'"), false, CLUSTER_TAKE},
	{"--or-selector: none of them",
	 "{'orLabelSelectors':[{'matchLabels':{'app':'web'}},{'matchLabels':{'tier':'x'}}]}", &pods,
	 POD("a", "'tier':'cache'"), false, CLUSTER_OUT_SELECTOR},
	{"velero.io/exclude-from-backup=true wins over a matching selector",
	 "{'labelSelector':{'matchLabels':{'app':'web'}}}", &pods,
	 POD("a", "'app':'web','velero.io/exclude-from-backup':'true'"), false,
	 CLUSTER_OUT_EXCLUDE_LABEL},
	{"exclude-from-backup: only the value true", "{}", &pods,
	 POD("a", "'velero.io/exclude-from-backup':'false'"), false, CLUSTER_TAKE},
	{"what a VolumeTransfer made (a changed-block base) is ferry's plumbing: never taken", "{}",
	 &pods, POD("a", "'ferry.io/volumetransfer':'bk-1','app':'web'"), false,
	 CLUSTER_OUT_EXCLUDE_LABEL},
	{"exclude-from-backup holds for related objects too", "{'includedNamespaces':['a']}", &pvs,
	 CL("pv1", "'velero.io/exclude-from-backup':'true'"), true, CLUSTER_OUT_EXCLUDE_LABEL},
	{"include-cluster-resources nil, namespaces filtered: unrelated cluster objects left",
	 "{'includedNamespaces':['a']}", &pvs, CL("pv1", ""), false, CLUSTER_OUT_RESOURCE},
	{"include-cluster-resources nil: the PV of a PVC comes along",
	 "{'includedNamespaces':['a']}", &pvs, CL("pv1", ""), true, CLUSTER_TAKE},
	{"include-cluster-resources nil, every namespace: all cluster objects", "{}", &scs,
	 CL("fast", ""), false, CLUSTER_TAKE},
	{"nil, '*' included is every namespace", "{'includedNamespaces':['*']}", &scs,
	 CL("fast", ""), false, CLUSTER_TAKE},
	{"nil, a namespace excluded is not every namespace",
	 "{'excludedNamespaces':['kube-system']}", &scs, CL("fast", ""), false,
	 CLUSTER_OUT_RESOURCE},
	{"include-cluster-resources false: no cluster object, not even a PVC's PV",
	 "{'includeClusterResources':false}", &pvs, CL("pv1", ""), true, CLUSTER_OUT_RESOURCE},
	{"include-cluster-resources true: all of them, namespaces filtered or not",
	 "{'includedNamespaces':['a'],'includeClusterResources':true}", &scs, CL("fast", ""), false,
	 CLUSTER_TAKE},
	{"include-cluster-resources null is nil",
	 "{'includedNamespaces':['a'],"
	 "'includeClusterResources':null}",
	 &scs, CL("fast", ""), false, CLUSTER_OUT_RESOURCE},
	{"the CRD of a custom resource in scope comes along (velero#2673)",
	 "{'includedNamespaces':['a']}", &crds, CL("widgets.example.com", ""), true, CLUSTER_TAKE},
	{"...unless its resource is excluded",
	 "{'includedNamespaces':['a'],'excludedResources':['crds']}", &crds,
	 CL("widgets.example.com", ""), true, CLUSTER_OUT_RESOURCE},
	{"custom resources are selected like any", "{'includedResources':['wd.example.com']}",
	 &widgets, POD("a", ""), false, CLUSTER_TAKE},
	{"related objects are not held to the label selector",
	 "{'labelSelector':{'matchLabels':{'app':'web'}},'includedNamespaces':['a']}", &pvs,
	 CL("pv1", ""), true, CLUSTER_TAKE},
	{"the selector holds for cluster objects listed",
	 "{'labelSelector':{'matchLabels':{'app':'web'}},'includeClusterResources':true}", &scs,
	 CL("fast", ""), false, CLUSTER_OUT_SELECTOR},
	{"Namespace objects follow the namespace filters", "{'includedNamespaces':['a']}", &nss,
	 CL("b", ""), false, CLUSTER_OUT_NAMESPACE},
	{"...whatever include-cluster-resources says",
	 "{'includedNamespaces':['a'],'includeClusterResources':false}", &nss, CL("a", ""), false,
	 CLUSTER_TAKE},
	{"the Namespace of a taken object comes along",
	 "{'labelSelector':{'matchLabels':{'app':'web'}}}", &nss, CL("a", ""), true, CLUSTER_TAKE},
};

static void test_selection(void)
{
	for (size_t i = 0; i < sizeof(sel_cases) / sizeof(sel_cases[0]); i++) {
		const struct sel_case *c = &sel_cases[i];
		struct k8s_obj *spec = J(c->spec), *o = J(c->obj);
		struct cluster_sel *s = NULL;
		struct cluster_err err;
		int ret = cluster_sel_parse(spec, &s, &err);

		CHECK(!ret, "%s: parse: %s", c->why, err.msg);
		if (!ret) {
			enum cluster_verdict v = cluster_sel_object(s, c->res, o, c->related);

			CHECK(v == c->want, "%s: %s, not %s", c->why, cluster_verdict_name(v),
			      cluster_verdict_name(c->want));
		}
		cluster_sel_free(s);
		k8s_obj_free(spec);
		k8s_obj_free(o);
	}
}

static void test_scope(void)
{
	struct k8s_obj *spec = J("{'includedNamespaces':['a']}");
	struct cluster_sel *s = NULL;
	struct cluster_err err;

	T_ASSERT(!cluster_sel_parse(spec, &s, &err));
	CHECK(cluster_sel_resource(s, &pods) == CLUSTER_SCOPE_ALL, "namespaced: listed");
	CHECK(cluster_sel_resource(s, &pvs) == CLUSTER_SCOPE_RELATED,
	      "nil + namespaces: cluster objects only related");
	CHECK(cluster_sel_resource(s, &nss) == CLUSTER_SCOPE_ALL, "namespaces: listed");
	CHECK(cluster_sel_namespace(s, "a") && !cluster_sel_namespace(s, "b"), "namespace filter");
	cluster_sel_free(s);
	k8s_obj_free(spec);
	/* NULL spec: everything */
	T_ASSERT(!cluster_sel_parse(NULL, &s, &err));
	CHECK(cluster_sel_resource(s, &pvs) == CLUSTER_SCOPE_ALL, "no spec: everything");
	cluster_sel_free(s);
}

static const struct {
	const char *why, *spec, *msg;
} sel_bad[] = {
	{"Velero: --selector and --or-selector are exclusive",
	 "{'labelSelector':{'matchLabels':{'a':'b'}},'orLabelSelectors':[{'matchLabels':{'c':'d'}}]}",
	 "only one"},
	{"tri-state: a boolean or null", "{'includeClusterResources':'yes'}",
	 "includeClusterResources"},
	{"a list of namespaces", "{'includedNamespaces':'a'}", "includedNamespaces"},
	{"no empty names", "{'excludedResources':['']}", "excludedResources[0]"},
	{"a selector's operator",
	 "{'labelSelector':{'matchExpressions':[{'key':'a','operator':'Is'}]}}", "labelSelector"},
	{"ferry has no fs-backup",
	 "{'volumePolicies':[{'conditions':{},'action':{'type':'fs-backup'}}]}", "fs-backup"},
	{"capacity is MIN,MAX (resource policies)",
	 "{'volumePolicies':[{'conditions':{'capacity':'10Gi'},'action':{'type':'skip'}}]}",
	 "MIN,MAX"},
	{"capacity: quantities",
	 "{'volumePolicies':[{'conditions':{'capacity':'1x,2Gi'},"
	 "'action':{'type':'skip'}}]}",
	 "not a quantity"},
	{"capacity: MIN at most MAX",
	 "{'volumePolicies':[{'conditions':{'capacity':'2Gi,1Gi'},"
	 "'action':{'type':'skip'}}]}",
	 "MIN above MAX"},
	{"conditions ferry does not know are refused, not ignored",
	 "{'volumePolicies':[{'conditions':{'nfs':{}},'action':{'type':'skip'}}]}", "nfs"},
	{"a spec is an object", "[]", "spec"},
};

static void test_selection_refused(void)
{
	for (size_t i = 0; i < sizeof(sel_bad) / sizeof(sel_bad[0]); i++) {
		struct k8s_obj *spec = J(sel_bad[i].spec);
		struct cluster_sel *s = NULL;
		struct cluster_err err;
		int ret = cluster_sel_parse(spec, &s, &err);

		CHECK(ret == -EINVAL && !s && strstr(err.msg, sel_bad[i].msg) &&
			      !strchr(err.msg, '\n'),
		      "%s: %d \"%s\"", sel_bad[i].why, ret, err.msg);
		k8s_obj_free(spec);
	}
}

/* ------------------------------------------------------------ volumes */

#define PVC(name, sc, size, labels, vol)                                                           \
	"{'metadata':{'name':'" name "','namespace':'a','labels':{" labels "}},'spec':{"           \
	"'storageClassName':'" sc "','volumeName':'" vol "','resources':{'requests':{"             \
	"'storage':'" size "'}}}}"

static const struct {
	const char *why, *policies, *pvc, *pv;
	bool skip, snapshottable;
	const char *warning;
} vol_cases[] = {
	{"a CSI volume with a VolumeSnapshotClass for its driver", NULL,
	 PVC("d", "fast", "5Gi", "", "pv1"), "{'spec':{'csi':{'driver':'d1'}}}", false, true, ""},
	{"no VolumeSnapshotClass for the driver: a warning", NULL,
	 PVC("d", "fast", "5Gi", "", "pv1"), "{'spec':{'csi':{'driver':'d2'}}}", false, false,
	 "no VolumeSnapshotClass for its driver d2"},
	{"hostPath cannot be snapshotted", NULL, PVC("d", "", "1Gi", "", "pv1"),
	 "{'spec':{'hostPath':{'path':'/x'}}}", false, false, "hostPath volume cannot"},
	{"NFS cannot be snapshotted", NULL, PVC("d", "", "1Gi", "", "pv1"),
	 "{'spec':{'nfs':{'server':'s','path':'/'}}}", false, false, "nfs volume cannot"},
	{"a PVC not bound has no data", NULL, PVC("d", "fast", "1Gi", "", ""), NULL, false, false,
	 "not bound"},
	{"resource policies: skip by storage class",
	 "[{'conditions':{'storageClass':['slow','gp2']},'action':{'type':'skip'}}]",
	 PVC("d", "slow", "1Gi", "", "pv1"), "{'spec':{'csi':{'driver':'d1'}}}", true, false,
	 "skipped by a volume policy"},
	{"skip by capacity: inside MIN,MAX",
	 "[{'conditions':{'capacity':'0,1Gi'},'action':{'type':'skip'}}]",
	 PVC("d", "fast", "512Mi", "", "pv1"), "{'spec':{'csi':{'driver':'d1'}}}", true, false,
	 "skipped"},
	{"skip by capacity: outside",
	 "[{'conditions':{'capacity':'0,1Gi'},'action':{'type':'skip'}}]",
	 PVC("d", "fast", "5Gi", "", "pv1"), "{'spec':{'csi':{'driver':'d1'}}}", false, true, ""},
	{"capacity with no MAX", "[{'conditions':{'capacity':'10Gi,'},'action':{'type':'skip'}}]",
	 PVC("d", "fast", "20Gi", "", "pv1"), "{'spec':{'csi':{'driver':'d1'}}}", true, false,
	 "skipped"},
	{"skip by PVC labels",
	 "[{'conditions':{'pvcLabels':{'backup':'no'}},'action':{'type':'skip'}}]",
	 PVC("d", "fast", "1Gi", "'backup':'no','app':'x'", "pv1"),
	 "{'spec':{'csi':{'driver':'d1'}}}", true, false, "skipped"},
	{"PVC labels: all must match",
	 "[{'conditions':{'pvcLabels':{'backup':'no','tier':'x'}},'action':{'type':'skip'}}]",
	 PVC("d", "fast", "1Gi", "'backup':'no'", "pv1"), "{'spec':{'csi':{'driver':'d1'}}}", false,
	 true, ""},
	{"the first policy that matches decides",
	 "[{'conditions':{'storageClass':['fast']},'action':{'type':'snapshot'}},"
	 "{'conditions':{},'action':{'type':'skip'}}]",
	 PVC("d", "fast", "1Gi", "", "pv1"), "{'spec':{'csi':{'driver':'d1'}}}", false, true, ""},
	{"...and the catch-all after it",
	 "[{'conditions':{'storageClass':['fast']},'action':{'type':'snapshot'}},"
	 "{'conditions':{},'action':{'type':'skip'}}]",
	 PVC("d", "slow", "1Gi", "", "pv1"), "{'spec':{'csi':{'driver':'d1'}}}", true, false,
	 "skipped"},
};

static void test_volumes(void)
{
	static const char *const drivers[] = {"d1"};

	for (size_t i = 0; i < sizeof(vol_cases) / sizeof(vol_cases[0]); i++) {
		char spec[1024];
		struct k8s_obj *sp, *pvc = J(vol_cases[i].pvc);
		struct k8s_obj *pv = vol_cases[i].pv ? J(vol_cases[i].pv) : NULL;
		struct cluster_sel *s = NULL;
		struct cluster_volume v;
		struct cluster_err err;

		snprintf(spec, sizeof(spec), "{'volumePolicies':%s}",
			 vol_cases[i].policies ? vol_cases[i].policies : "null");
		sp = J(spec);
		T_ASSERT(!cluster_sel_parse(sp, &s, &err), "%s: %s", vol_cases[i].why, err.msg);
		T_ASSERT(!cluster_volume_check(s, pvc, pv, drivers, 1, &v));
		CHECK(v.skip == vol_cases[i].skip &&
			      v.snapshottable == vol_cases[i].snapshottable &&
			      strstr(v.warning, vol_cases[i].warning) &&
			      (vol_cases[i].warning[0] || !v.warning[0]),
		      "%s: skip %d snapshottable %d \"%s\"", vol_cases[i].why, v.skip,
		      v.snapshottable, v.warning);
		cluster_sel_free(s);
		k8s_obj_free(sp);
		k8s_obj_free(pvc);
		k8s_obj_free(pv);
	}
	/* the fields read */
	{
		struct k8s_obj *pvc = J(PVC("data", "fast", "5Gi", "", "pv9"));
		struct k8s_obj *pv = J("{'spec':{'csi':{'driver':'d1'}}}");
		struct cluster_volume v;

		T_ASSERT(!cluster_volume_check(NULL, pvc, pv, drivers, 1, &v));
		CHECK(!strcmp(v.ns, "a") && !strcmp(v.pvc, "data") && !strcmp(v.pv, "pv9") &&
			      !strcmp(v.storage_class, "fast") && !strcmp(v.driver, "d1") &&
			      v.bytes == 5LL << 30,
		      "fields: %s %s %s %s %s %lld", v.ns, v.pvc, v.pv, v.storage_class, v.driver,
		      (long long)v.bytes);
		k8s_obj_free(pvc);
		k8s_obj_free(pv);
	}
}

/* Velero's resource-policies ConfigMap: one data key holding the YAML */
static void test_policies_configmap(void)
{
	struct k8s_obj *cm =
		J("{'data':{'policy.yaml':'version: v1\\nvolumePolicies:\\n- conditions:"
		  "\\n    storageClass: [slow]\\n  action:\\n    type: skip\\n'}}");
	struct k8s_obj *bad = J("{'data':{'p':'version: v2\\n'}}");
	struct k8s_obj *pvc = J(PVC("d", "slow", "1Gi", "", "pv1"));
	struct cluster_sel *s = NULL;
	struct cluster_volume v;
	struct cluster_err err;

	T_ASSERT(!cluster_sel_parse(NULL, &s, &err));
	CHECK(!cluster_sel_policies_configmap(s, cm, &err), "configmap: %s", err.msg);
	T_ASSERT(!cluster_volume_check(s, pvc, NULL, NULL, 0, &v));
	CHECK(v.skip, "the ConfigMap's policy skips the slow volume");
	CHECK(cluster_sel_policies_configmap(s, bad, &err) == -EINVAL && strstr(err.msg, "v1"),
	      "version v1 only: %s", err.msg);
	cluster_sel_free(s);
	k8s_obj_free(cm);
	k8s_obj_free(bad);
	k8s_obj_free(pvc);
}

/* ------------------------------------------------------------ restore: strip and map */

struct prep_case {
	const char *why, *opts, *in, *out; /* out NULL: skipped */
};

static const struct prep_case prep_cases[] = {
	{"restore.go resetMetadata and resetStatus: the server's fields go, the user's stay", "{}",
	 "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'a',"
	 "'generateName':'w-','selfLink':'/x','uid':'u','resourceVersion':'5','generation':3,"
	 "'creationTimestamp':'2024-01-01T00:00:00Z','deletionTimestamp':'2024-01-02T00:00:00Z',"
	 "'deletionGracePeriodSeconds':30,'ownerReferences':[{'kind':'X','name':'x','uid':'1',"
	 "'apiVersion':'v1'}],'managedFields':[{'manager':'kubectl'}],'labels':{'app':'web'},"
	 "'annotations':{'a':'b'},'finalizers':['f']},'spec':{'replicas':2},'status':{"
	 "'replicas':2}}",
	 "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'a',"
	 "'labels':{'app':'web'},'annotations':{'a':'b'},'finalizers':['f']},'spec':{'replicas':2}}"},
	{"service_action.go: clusterIP(s) and nodePorts cleared", "{}",
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s','namespace':'a'},'spec':{"
	 "'type':'NodePort','clusterIP':'10.0.0.5','clusterIPs':['10.0.0.5'],'ports':[{'port':80,"
	 "'nodePort':30080}],'healthCheckNodePort':31000}}",
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s','namespace':'a'},'spec':{"
	 "'type':'NodePort','ports':[{'port':80}]}}"},
	{"service_action.go: clusterIP None (headless) kept", "{}",
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s','namespace':'a'},'spec':{"
	 "'clusterIP':'None','clusterIPs':['None']}}",
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s','namespace':'a'},'spec':{"
	 "'clusterIP':'None','clusterIPs':['None']}}"},
	{"--preserve-nodeports keeps them", "{'preserveNodePorts':true}",
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s','namespace':'a'},'spec':{"
	 "'clusterIP':'10.0.0.5','ports':[{'port':80,'nodePort':30080}]}}",
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s','namespace':'a'},'spec':{"
	 "'ports':[{'port':80,'nodePort':30080}]}}"},
	{"service_action.go: a nodePort in last-applied-configuration is the user's: kept", "{}",
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s','namespace':'a','annotations':{"
	 "'kubectl.kubernetes.io/last-applied-configuration':'{\\'spec\\':{\\'ports\\':[{\\'nodePort"
	 "\\':30081}]}}'}},'spec':{'ports':[{'port':80,'nodePort':30080},{'port':81,'nodePort':"
	 "30081}]}}",
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s','namespace':'a','annotations':{"
	 "'kubectl.kubernetes.io/last-applied-configuration':'{\\'spec\\':{\\'ports\\':[{\\'nodePort"
	 "\\':30081}]}}'}},'spec':{'ports':[{'port':80},{'port':81,'nodePort':30081}]}}"},
	{"pod_action.go: nodeName, priority and the SA token volume and mount", "{}",
	 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'a'},'spec':{"
	 "'nodeName':'n1','priority':5,'serviceAccountName':'sa','volumes':[{'name':'data'},{"
	 "'name':'sa-token-x1'}],'containers':[{'name':'c','image':'i','volumeMounts':[{'name':"
	 "'sa-token-x1','mountPath':'/t'},{'name':'data','mountPath':'/d'}]}]},'status':{'phase':"
	 "'Running'}}",
	 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'a'},'spec':{"
	 "'serviceAccountName':'sa','volumes':[{'name':'data'}],'containers':[{'name':'c','image':"
	 "'i','volumeMounts':[{'name':'data','mountPath':'/d'}]}]}}"},
	{"restore.go: a completed pod is not restored", "{}",
	 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'a'},'status':{"
	 "'phase':'Succeeded'}}",
	 NULL},
	{"job_action.go: the controller-uid selector and label", "{}",
	 "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j','namespace':'a'},'spec':{"
	 "'selector':{'matchLabels':{'controller-uid':'u','batch.kubernetes.io/controller-uid':'u'}},"
	 "'template':{'metadata':{'labels':{'controller-uid':'u','job-name':'j'}}}}}",
	 "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j','namespace':'a'},'spec':{"
	 "'template':{'metadata':{'labels':{'job-name':'j'}}}}}"},
	{"pvc_action.go: binding annotations and selected-node (velero#9053); class mapped",
	 "{'storageClassMapping':{'fast':'slow'}}",
	 "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'d','namespace':'a',"
	 "'annotations':{'pv.kubernetes.io/bind-completed':'yes','pv.kubernetes.io/"
	 "bound-by-controller':'yes','volume.beta.kubernetes.io/storage-provisioner':'x','volume."
	 "kubernetes.io/storage-provisioner':'x','volume.kubernetes.io/selected-node':'n1','keep':"
	 "'me'}},'spec':{'storageClassName':'fast','volumeName':'pv1'},'status':{'phase':'Bound'}}",
	 "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'d','namespace':'a',"
	 "'annotations':{'keep':'me'}},'spec':{'storageClassName':'slow','volumeName':'pv1'}}"},
	{"restore.go resetVolumeBindingInfo: claimRef uid and resourceVersion; namespace mapped",
	 "{'namespaceMapping':{'a':'b'},'storageClassMapping':{'fast':'slow'}}",
	 "{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':'pv1','annotations':{"
	 "'pv.kubernetes.io/bound-by-controller':'yes','pv.kubernetes.io/provisioned-by':'d1'}},"
	 "'spec':{'storageClassName':'fast','claimRef':{'namespace':'a','name':'d','uid':'u',"
	 "'resourceVersion':'9','kind':'PersistentVolumeClaim'}}}",
	 "{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':'pv1','annotations':{"
	 "'pv.kubernetes.io/provisioned-by':'d1'}},'spec':{'storageClassName':'slow','claimRef':{"
	 "'namespace':'b','name':'d','kind':'PersistentVolumeClaim'}}}"},
	{"change-storage-class: StatefulSet claim templates",
	 "{'storageClassMapping':{'fast':'slow'}}",
	 "{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'s','namespace':'a'},"
	 "'spec':{'volumeClaimTemplates':[{'spec':{'storageClassName':'fast'}},{'spec':{}}]}}",
	 "{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'s','namespace':'a'},"
	 "'spec':{'volumeClaimTemplates':[{'spec':{'storageClassName':'slow'}},{'spec':{}}]}}"},
	{"service_account_action.go: the SA's own token Secrets", "{}",
	 "{'apiVersion':'v1','kind':'ServiceAccount','metadata':{'name':'sa','namespace':'a'},"
	 "'secrets':[{'name':'sa-token-abc'},{'name':'other'}]}",
	 "{'apiVersion':'v1','kind':'ServiceAccount','metadata':{'name':'sa','namespace':'a'},"
	 "'secrets':[{'name':'other'}]}"},
	{"--namespace-mappings: the object, a Namespace's name, RoleBinding subjects",
	 "{'namespaceMapping':{'a':'b'}}",
	 "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'RoleBinding','metadata':{'name':'r',"
	 "'namespace':'a'},'subjects':[{'kind':'ServiceAccount','name':'sa','namespace':'a'},{"
	 "'kind':'ServiceAccount','name':'sb','namespace':'c'}]}",
	 "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'RoleBinding','metadata':{'name':'r',"
	 "'namespace':'b'},'subjects':[{'kind':'ServiceAccount','name':'sa','namespace':'b'},{"
	 "'kind':'ServiceAccount','name':'sb','namespace':'c'}]}"},
	{"--namespace-mappings: the Namespace object", "{'namespaceMapping':{'a':'b'}}",
	 "{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'a','labels':{'x':'y'}},'spec':{"
	 "'finalizers':['kubernetes']},'status':{'phase':'Active'}}",
	 "{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'b','labels':{'x':'y'}},'spec':{"
	 "'finalizers':['kubernetes']}}"},
	{"change-image-name: the first OLD substring of each image",
	 "{'imageMapping':{'registry.old/':'registry.new/'}}",
	 "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'w','namespace':'a'},"
	 "'spec':{'template':{'spec':{'containers':[{'name':'c','image':'registry.old/web:1'}],"
	 "'initContainers':[{'name':'i','image':'docker.io/x'}]}}}}",
	 "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'w','namespace':'a'},"
	 "'spec':{'template':{'spec':{'containers':[{'name':'c','image':'registry.new/web:1'}],"
	 "'initContainers':[{'name':'i','image':'docker.io/x'}]}}}}"},
	{"change-image-name: CronJobs' job template", "{'imageMapping':{':1':':2'}}",
	 "{'apiVersion':'batch/v1','kind':'CronJob','metadata':{'name':'c','namespace':'a'},'spec':{"
	 "'jobTemplate':{'spec':{'template':{'spec':{'containers':[{'name':'c','image':'w:1'}]}}}}}}",
	 "{'apiVersion':'batch/v1','kind':'CronJob','metadata':{'name':'c','namespace':'a'},'spec':{"
	 "'jobTemplate':{'spec':{'template':{'spec':{'containers':[{'name':'c','image':'w:2'}]}}}}}}"},
	{"nodeLabelMapping: nodeSelector labels mapped, dropped, kept; a key mapped keeps its value",
	 "{'nodeLabelMapping':{'disk=ssd':'storage=fast','pool=a':'','zone':'topology.kubernetes.io/zone'}}",
	 "{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'db','namespace':'a'},"
	 "'spec':{'template':{'spec':{'nodeSelector':{'disk':'ssd','pool':'a','zone':'z1','arch':'arm64'},"
	 "'containers':[{'name':'c','image':'x'}]}}}}",
	 "{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'db','namespace':'a'},"
	 "'spec':{'template':{'spec':{'nodeSelector':{'storage':'fast','topology.kubernetes.io/zone':'z1',"
	 "'arch':'arm64'},'containers':[{'name':'c','image':'x'}]}}}}"},
	{"nodeLabelMapping: nodeAffinity In values as labels, Exists by the key; an emptied term and "
	 "preference go, and the required rule with its last term",
	 "{'nodeLabelMapping':{'zone=a':'topology.kubernetes.io/zone=eu-1a',"
	 "'zone=b':'topology.kubernetes.io/zone=eu-1b','zone=c':'','gpu':'nvidia.com/gpu','pool=x':''}}",
	 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'a'},'spec':{'affinity':{"
	 "'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{'nodeSelectorTerms':["
	 "{'matchExpressions':[{'key':'zone','operator':'In','values':['a','b','c']},"
	 "{'key':'gpu','operator':'Exists'}]},{'matchExpressions':[{'key':'zone','operator':'In',"
	 "'values':['c']}]}]},'preferredDuringSchedulingIgnoredDuringExecution':[{'weight':5,"
	 "'preference':{'matchExpressions':[{'key':'pool','operator':'In','values':['x']}]}}]}},"
	 "'containers':[{'name':'c','image':'x'}]}}",
	 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'a'},'spec':{'affinity':{"
	 "'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{'nodeSelectorTerms':["
	 "{'matchExpressions':[{'key':'topology.kubernetes.io/zone','operator':'In','values':['eu-1a',"
	 "'eu-1b']},{'key':'nvidia.com/gpu','operator':'Exists'}]}]}}},"
	 "'containers':[{'name':'c','image':'x'}]}}"},
	{"nodeLabelMapping: every term emptied: no required rule left",
	 "{'nodeLabelMapping':{'zone=c':''}}",
	 "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'w','namespace':'a'},'spec':{"
	 "'template':{'spec':{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':"
	 "{'nodeSelectorTerms':[{'matchExpressions':[{'key':'zone','operator':'In','values':['c']}]}]}}},"
	 "'containers':[{'name':'c','image':'x'}]}}}}",
	 "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'w','namespace':'a'},'spec':{"
	 "'template':{'spec':{'affinity':{'nodeAffinity':{}},'containers':[{'name':'c','image':'x'}]}}}}"},
	{"nodeLabelMapping: values mapping to two keys leave the expression as it was",
	 "{'nodeLabelMapping':{'zone=a':'k1=a','zone=b':'k2=b'}}",
	 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'a'},'spec':{'affinity':{"
	 "'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{'nodeSelectorTerms':["
	 "{'matchExpressions':[{'key':'zone','operator':'In','values':['a','b']}]}]}}},"
	 "'containers':[{'name':'c','image':'x'}]}}",
	 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'a'},'spec':{'affinity':{"
	 "'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{'nodeSelectorTerms':["
	 "{'matchExpressions':[{'key':'zone','operator':'In','values':['a','b']}]}]}}},"
	 "'containers':[{'name':'c','image':'x'}]}}"},
	{"nodeLabelMapping: topology spread keys and tolerations (CronJobs' template); dropped ones go",
	 "{'nodeLabelMapping':{'zone':'topology.kubernetes.io/zone','rack':'','dedicated=db':"
	 "'workload=db','spot':''}}",
	 "{'apiVersion':'batch/v1','kind':'CronJob','metadata':{'name':'c','namespace':'a'},'spec':{"
	 "'jobTemplate':{'spec':{'template':{'spec':{'topologySpreadConstraints':[{'maxSkew':1,"
	 "'topologyKey':'zone','whenUnsatisfiable':'DoNotSchedule'},{'maxSkew':1,'topologyKey':'rack',"
	 "'whenUnsatisfiable':'ScheduleAnyway'}],'tolerations':[{'key':'dedicated','operator':'Equal',"
	 "'value':'db','effect':'NoSchedule'},{'key':'spot','operator':'Exists'},{'operator':'Exists'}],"
	 "'containers':[{'name':'c','image':'x'}]}}}}}}",
	 "{'apiVersion':'batch/v1','kind':'CronJob','metadata':{'name':'c','namespace':'a'},'spec':{"
	 "'jobTemplate':{'spec':{'template':{'spec':{'topologySpreadConstraints':[{'maxSkew':1,"
	 "'topologyKey':'topology.kubernetes.io/zone','whenUnsatisfiable':'DoNotSchedule'}],"
	 "'tolerations':[{'key':'workload','operator':'Equal','value':'db','effect':'NoSchedule'},"
	 "{'operator':'Exists'}],'containers':[{'name':'c','image':'x'}]}}}}}}"},
	{"restore.go: nodes and events are never restored", "{}",
	 "{'apiVersion':'v1','kind':'Node','metadata':{'name':'n1'}}", NULL},
	{"events.k8s.io Events likewise", "{}",
	 "{'apiVersion':'events.k8s.io/v1','kind':'Event','metadata':{'name':'e','namespace':'a'}}",
	 NULL},
	{"the backup's and restore's names as labels (Velero's velero.io/backup-name)",
	 "{'backupName':'b1'}",
	 "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'a'},'data':{}}",
	 "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'a','labels':{"
	 "'ferry.io/backup-name':'b1','ferry.io/restore-name':'r1'}},'data':{}}"},
};

static void test_prepare(void)
{
	for (size_t i = 0; i < sizeof(prep_cases) / sizeof(prep_cases[0]); i++) {
		const struct prep_case *c = &prep_cases[i];
		struct k8s_obj *spec = J(c->opts), *in = J(c->in);
		struct cluster_restore_opts o = {0};
		struct cluster_err err;
		const char *skip = NULL;
		int ret;

		T_ASSERT(!cluster_restore_opts_read(spec, strstr(c->opts, "backupName") ? "r1" : "",
						    &o, &err),
			 "%s: %s", c->why, err.msg);
		ret = cluster_restore_prepare(&o, in, &skip, &err);
		CHECK(!ret, "%s: %s", c->why, err.msg);
		if (!c->out) {
			CHECK(skip, "%s: not skipped", c->why);
		} else {
			struct k8s_obj *want = J(c->out);
			char *got = k8s_obj_json(in);

			CHECK(!skip && k8s_obj_equal(in, want), "%s:\n  got  %s\n  want %s", c->why,
			      got, c->out);
			free(got);
			k8s_obj_free(want);
		}
		cluster_restore_opts_fini(&o);
		k8s_obj_free(spec);
		k8s_obj_free(in);
	}
}

static void test_opts(void)
{
	static const struct {
		const char *spec, *msg;
	} bad[] = {
		{"{'existingResourcePolicy':'recreate'}", "\"none\" or \"update\""},
		{"{'existingResourcePolicy':3}", "existingResourcePolicy"},
		{"{'namespaceMapping':['a']}", "namespaceMapping"},
		{"{'namespaceMapping':{'a':''}}", "namespaceMapping.a"},
		{"{'preserveNodePorts':'yes'}", "preserveNodePorts"},
		{"{'scaleWorkloadsToZero':'yes'}", "scaleWorkloadsToZero"},
		{"{'scaleWorkloadsToZero':1}", "scaleWorkloadsToZero"},
		{"{'scaleWorkloadsToZero':{}}", "scaleWorkloadsToZero"},
		{"{'backupName':'0123456789012345678901234567890123456789012345678901234567890123'}",
		 "backupName"},
		{"{'nodeLabelMapping':['a']}", "spec.nodeLabelMapping: not a map"},
		{"{'nodeLabelMapping':{'zone=a':'zone'}}", "nodeLabelMapping.zone=a"},
		{"{'nodeLabelMapping':{'zone':'zone=a'}}", "a label's key"},
		{"{'nodeLabelMapping':{'zone=a b':'x=y'}}", "not a label"},
		{"{'nodeLabelMapping':{'=a':'x=y'}}", "not a label"},
		{"{'nodeLabelMapping':{'zone=a':3}}", "(drop)"},
	};
	struct cluster_restore_opts o = {0};
	struct cluster_err err;
	struct k8s_obj *spec;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		spec = J(bad[i].spec);
		CHECK(cluster_restore_opts_read(spec, "", &o, &err) == -EINVAL &&
			      strstr(err.msg, bad[i].msg),
		      "%s: \"%s\"", bad[i].spec, err.msg);
		cluster_restore_opts_fini(&o);
		k8s_obj_free(spec);
	}
	spec = J("{'existingResourcePolicy':'update','namespaceMapping':{'a':'b','c':'d'}}");
	T_ASSERT(!cluster_restore_opts_read(spec, "r", &o, &err), "%s", err.msg);
	CHECK(o.existing == CLUSTER_EXISTING_UPDATE && o.n_ns_map == 2 && !o.scale_to_zero &&
		      !strcmp(cluster_restore_map(o.ns_map, o.n_ns_map, "c"), "d") &&
		      !strcmp(cluster_restore_map(o.ns_map, o.n_ns_map, "x"), "x"),
	      "options read");
	cluster_restore_opts_fini(&o);
	k8s_obj_free(spec);
	spec = J("{'scaleWorkloadsToZero':true}");
	T_ASSERT(!cluster_restore_opts_read(spec, "r", &o, &err), "%s", err.msg);
	CHECK(o.scale_to_zero, "scaleWorkloadsToZero true read");
	cluster_restore_opts_fini(&o);
	k8s_obj_free(spec);
	spec = J("{'scaleWorkloadsToZero':null}");
	T_ASSERT(!cluster_restore_opts_read(spec, "r", &o, &err), "%s", err.msg);
	CHECK(!o.scale_to_zero, "scaleWorkloadsToZero null: false");
	cluster_restore_opts_fini(&o);
	k8s_obj_free(spec);
}

/* restore-reference.md: the ConfigMaps of change-storage-class and change-image-name */
static void test_mapping_configmaps(void)
{
	struct k8s_obj *sc = J("{'metadata':{'name':'m','labels':{'velero.io/plugin-config':'',"
			       "'velero.io/change-storage-class':'RestoreItemAction'}},'data':{"
			       "'fast':'slow','gp2':'gp3'}}");
	struct k8s_obj *img = J("{'metadata':{'name':'m','labels':{'velero.io/plugin-config':'',"
				"'velero.io/change-image-name':'RestoreItemAction'}},'data':{"
				"'case1':'1.1.1.1:5000,2.2.2.2:3000'}}");
	struct k8s_obj *bad = J("{'metadata':{'name':'m','labels':{'velero.io/change-image-name':"
				"'RestoreItemAction'}},'data':{'case1':'no-comma'}}");
	struct k8s_obj *none = J("{'metadata':{'name':'m'},'data':{'a':'b'}}");
	struct cluster_restore_opts o = {0};
	struct cluster_err err;

	CHECK(!cluster_restore_opts_configmap(&o, sc, &err), "%s", err.msg);
	CHECK(!cluster_restore_opts_configmap(&o, img, &err), "%s", err.msg);
	CHECK(o.n_sc_map == 2 && !strcmp(cluster_restore_map(o.sc_map, o.n_sc_map, "gp2"), "gp3"),
	      "storage classes");
	CHECK(o.n_image_map == 1 && !strcmp(o.image_map[0].from, "1.1.1.1:5000") &&
		      !strcmp(o.image_map[0].to, "2.2.2.2:3000"),
	      "images");
	CHECK(cluster_restore_opts_configmap(&o, bad, &err) == -EINVAL &&
		      strstr(err.msg, "OLD,NEW"),
	      "image value without a comma: %s", err.msg);
	CHECK(cluster_restore_opts_configmap(&o, none, &err) == -ENOENT, "no label");
	cluster_restore_opts_fini(&o);
	k8s_obj_free(sc);
	k8s_obj_free(img);
	k8s_obj_free(bad);
	k8s_obj_free(none);
}

/* ------------------------------------------------------------ the plan */

static void test_tiers(void)
{
	/* config.go defaultRestorePriorities, in order (CONTROLPLANE.md §3.3) */
	static const char *const order[][2] = {
		{"apiextensions.k8s.io", "CustomResourceDefinition"},
		{"", "Namespace"},
		{"storage.k8s.io", "StorageClass"},
		{"snapshot.storage.k8s.io", "VolumeSnapshotClass"},
		{"snapshot.storage.k8s.io", "VolumeSnapshotContent"},
		{"snapshot.storage.k8s.io", "VolumeSnapshot"},
		{"velero.io", "DataUpload"},
		{"ferry.io", "Snapshot"}, /* ferry's populator source, as Velero's DataUpload */
		{"", "PersistentVolume"},
		{"", "PersistentVolumeClaim"},
		{"rbac.authorization.k8s.io", "ClusterRole"},
		{"rbac.authorization.k8s.io", "Role"},
		{"", "ServiceAccount"},
		{"rbac.authorization.k8s.io", "ClusterRoleBinding"},
		{"rbac.authorization.k8s.io", "RoleBinding"},
		{"", "Secret"},
		{"", "ConfigMap"},
		{"", "LimitRange"},
		{"scheduling.k8s.io", "PriorityClass"},
		{"", "Pod"},
		{"apps", "ReplicaSet"},
		{"cluster.x-k8s.io", "ClusterClass"},
		{"", "Endpoints"},
		{"", "Service"},
	};

	for (int i = 0; i < (int)(sizeof(order) / sizeof(order[0])); i++)
		CHECK(cluster_restore_tier(order[i][0], order[i][1]) == i, "%s %s: tier %d",
		      order[i][0], order[i][1], cluster_restore_tier(order[i][0], order[i][1]));
	CHECK(cluster_restore_tier("apps", "Deployment") == CLUSTER_TIER_REST, "the rest");
	CHECK(cluster_restore_tier("example.com", "Service") == CLUSTER_TIER_REST, "group counts");
	CHECK(cluster_restore_tier("cluster.x-k8s.io", "Cluster") == CLUSTER_TIER_LOW, "low");
	CHECK(!strcmp(cluster_restore_tier_name(0),
		      "customresourcedefinitions.apiextensions.k8s.io"),
	      "names");
}

static const char *const plan_lines[] = {
	"{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'a'}}",
	"{'apiVersion':'v1','kind':'Service','metadata':{'name':'web','namespace':'a'}}",
	"{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'d1','namespace':'a'},"
	"'spec':{'volumeName':'pv-del'}}",
	"{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'d2','namespace':'a'},"
	"'spec':{'volumeName':'pv-keep'}}",
	"{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':'pv-del'},'spec':{"
	"'persistentVolumeReclaimPolicy':'Delete'}}",
	"{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':'pv-keep'},'spec':{"
	"'persistentVolumeReclaimPolicy':'Retain'}}",
	"{'apiVersion':'v1','kind':'Secret','metadata':{'name':'s','namespace':'a'}}",
	"{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'a'}}",
	"{'apiVersion':'apiextensions.k8s.io/v1','kind':'CustomResourceDefinition','metadata':{"
	"'name':'widgets.example.com'}}",
	"{'apiVersion':'example.com/v1','kind':'Widget','metadata':{'name':'w','namespace':'a'}}",
	"{'apiVersion':'v1','kind':'Event','metadata':{'name':'e','namespace':'a'}}",
	"{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'other','namespace':'z'}}",
	"{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'a'}}",
};

static void test_plan(void)
{
	/* kind/name in the order the plan applies them */
	static const char *const want[] = {
		"CustomResourceDefinition/widgets.example.com",
		"Namespace/b",
		"Namespace/z", /* added: objects go there, no Namespace line */
		"PersistentVolume/pv-del",
		"PersistentVolume/pv-keep",
		"PersistentVolumeClaim/d1",
		"PersistentVolumeClaim/d2",
		"Secret/s",
		"ConfigMap/c",
		"ConfigMap/other",
		"Service/web",
		"Deployment/web",
		"Widget/w",
		"Event/e",
	};
	struct k8s_obj *spec = J("{'namespaceMapping':{'a':'b'}}");
	struct cluster_restore_plan p = {0};
	struct cluster_restore_opts o = {0};
	struct cluster_err err;

	T_ASSERT(!cluster_restore_opts_read(spec, "", &o, &err));
	for (size_t i = 0; i < sizeof(plan_lines) / sizeof(plan_lines[0]); i++) {
		char line[1024];

		snprintf(line, sizeof(line), "%s\n", plan_lines[i]);
		for (char *c = line; *c; c++)
			if (*c == '\'')
				*c = '"';
		T_ASSERT(!cluster_restore_plan_line(&p, line, strlen(line), &err), "%s", err.msg);
	}
	T_ASSERT(!cluster_restore_plan_finish(&p, &o, &err), "%s", err.msg);
	CHECK(p.n == sizeof(want) / sizeof(want[0]), "%zu items", p.n);
	for (size_t i = 0; i < p.n && i < sizeof(want) / sizeof(want[0]); i++) {
		char got[600];

		snprintf(got, sizeof(got), "%s/%s", p.items[i].kind, p.items[i].name);
		CHECK(!strcmp(got, want[i]), "item %zu: %s, not %s", i, got, want[i]);
		CHECK(p.items[i].tier >= (i ? p.items[i - 1].tier : 0), "tiers in order");
		if (!strcmp(p.items[i].kind, "ConfigMap") && !strcmp(p.items[i].name, "c"))
			CHECK(!strcmp(p.items[i].ns, "b"), "mapped namespace: %s", p.items[i].ns);
		if (!strcmp(p.items[i].name, "pv-del"))
			CHECK(p.items[i].skip && strstr(p.items[i].skip, "Delete"),
			      "reclaim Delete: re-provisioned, not restored");
		if (!strcmp(p.items[i].name, "pv-keep"))
			CHECK(!p.items[i].skip, "reclaim Retain: restored");
		if (!strcmp(p.items[i].name, "d1"))
			CHECK(!k8s_obj_str(p.items[i].obj, "/spec/volumeName"),
			      "the PVC of a PV not restored loses volumeName");
		if (!strcmp(p.items[i].name, "d2"))
			CHECK(k8s_obj_str(p.items[i].obj, "/spec/volumeName"),
			      "the PVC of a restored PV keeps it");
		if (!strcmp(p.items[i].kind, "Event"))
			CHECK(p.items[i].skip, "events skipped");
	}
	for (int t = 0; t < CLUSTER_TIERS; t++)
		for (size_t i = p.tier_start[t]; i < p.tier_start[t + 1]; i++)
			CHECK(p.items[i].tier == t, "tier_start[%d]", t);
	cluster_restore_plan_fini(&p);
	cluster_restore_opts_fini(&o);
	k8s_obj_free(spec);
}

/* what a controller makes again is not restored when the controller is */
static void test_plan_owned(void)
{
#define OWN(kind, av, name)                                                                        \
	"'ownerReferences':[{'apiVersion':'" av "','kind':'" kind "','name':'" name                \
	"','uid':'u','controller':true}]"
	static const struct {
		const char *line;
		const char *name; /* kind/name */
		bool restored;
		const char *why;
	} cases[] = {
		{"{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'db','namespace':'a'}}",
		 "StatefulSet/db", true, "the controller itself"},
		{"{'apiVersion':'v1','kind':'Pod','metadata':{'name':'db-0','namespace':'a'," OWN(
			 "StatefulSet", "apps/v1", "db") "}}",
		 "Pod/db-0", false, "a StatefulSet's pod: made again"},
		{"{'apiVersion':'apps/v1','kind':'ControllerRevision','metadata':{'name':'db-1',"
		 "'namespace':'a'," OWN("StatefulSet", "apps/v1", "db") "}}",
		 "ControllerRevision/db-1", false, "its revision: made again"},
		{"{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'a'}}",
		 "Deployment/web", true, "a Deployment"},
		{"{'apiVersion':'apps/v1','kind':'ReplicaSet','metadata':{'name':'web-1','namespace':"
		 "'a'," OWN("Deployment", "apps/v1", "web") "}}",
		 "ReplicaSet/web-1", false, "a Deployment's ReplicaSet"},
		{"{'apiVersion':'v1','kind':'Pod','metadata':{'name':'web-1-x','namespace':'a'," OWN(
			 "ReplicaSet", "apps/v1", "web-1") "}}",
		 "Pod/web-1-x", false, "down the chain: the pod of that ReplicaSet"},
		{"{'apiVersion':'v1','kind':'Pod','metadata':{'name':'lone','namespace':'a'," OWN(
			 "ReplicaSet", "apps/v1", "gone") "}}",
		 "Pod/lone", true, "an owner the backup does not hold: the pod is restored"},
		{"{'apiVersion':'v1','kind':'Pod','metadata':{'name':'ref','namespace':'a',"
		 "'ownerReferences':[{'apiVersion':'apps/v1','kind':'StatefulSet','name':'db',"
		 "'uid':'u'}]}}",
		 "Pod/ref", true, "an owner that is not its controller"},
		{"{'apiVersion':'v1','kind':'Pod','metadata':{'name':'other-ns','namespace':'b'," OWN(
			 "StatefulSet", "apps/v1", "db") "}}",
		 "Pod/other-ns", true, "an owner of that name in another namespace is not its"},
		{"{'apiVersion':'v1','kind':'Service','metadata':{'name':'web','namespace':'a'},"
		 "'spec':{'selector':{'app':'web'}}}",
		 "Service/web", true, "a Service"},
		{"{'apiVersion':'v1','kind':'Endpoints','metadata':{'name':'web','namespace':'a'}}",
		 "Endpoints/web", false, "the Endpoints of a Service with a selector"},
		{"{'apiVersion':'v1','kind':'Endpoints','metadata':{'name':'manual','namespace':'a'}}",
		 "Endpoints/manual", true, "Endpoints of no Service: someone wrote them"},
		{"{'apiVersion':'discovery.k8s.io/v1','kind':'EndpointSlice','metadata':{'name':"
		 "'web-x','namespace':'a','labels':{'endpointslice.kubernetes.io/managed-by':"
		 "'endpointslice-controller.k8s.io'}}}",
		 "EndpointSlice/web-x", false, "the EndpointSlice controller's"},
		{"{'apiVersion':'discovery.k8s.io/v1','kind':'EndpointSlice','metadata':{'name':"
		 "'mine','namespace':'a','labels':{'endpointslice.kubernetes.io/managed-by':'me'}}}",
		 "EndpointSlice/mine", true, "a slice someone else manages"},
	};
#undef OWN
	struct k8s_obj *spec = J("{'namespaceMapping':{'a':'m'}}");
	struct cluster_restore_plan p = {0};
	struct cluster_restore_opts o = {0};
	struct cluster_err err;

	T_ASSERT(!cluster_restore_opts_read(spec, "", &o, &err));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char line[1024];

		snprintf(line, sizeof(line), "%s\n", cases[i].line);
		for (char *c = line; *c; c++)
			if (*c == '\'')
				*c = '"';
		T_ASSERT(!cluster_restore_plan_line(&p, line, strlen(line), &err), "%s: %s",
			 cases[i].name, err.msg);
	}
	T_ASSERT(!cluster_restore_plan_finish(&p, &o, &err), "%s", err.msg);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct cluster_plan_item *it = NULL;

		for (size_t i = 0; i < p.n && !it; i++) {
			char got[600];

			snprintf(got, sizeof(got), "%s/%s", p.items[i].kind, p.items[i].name);
			if (!strcmp(got, cases[c].name))
				it = &p.items[i];
		}
		CHECK(it, "%s is in the plan", cases[c].name);
		if (it)
			CHECK(!it->skip == cases[c].restored, "%s (%s): %s", cases[c].name,
			      cases[c].why, it->skip ? it->skip : "restored");
	}
	cluster_restore_plan_fini(&p);
	cluster_restore_opts_fini(&o);
	k8s_obj_free(spec);
}

/* a backup's volumes: a Snapshot per claim before the claims, or claims restored empty */
static void test_plan_volumes(void)
{
	static const char *const lines[] = {
		"{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'d1',"
		"'namespace':'a'},'spec':{'volumeName':'pv-1','dataSource':{'kind':'X','name':'y'}}}",
		"{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'d2',"
		"'namespace':'a'},'spec':{'volumeName':'pv-2'}}",
		"{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':'pv-1'},'spec':{"
		"'persistentVolumeReclaimPolicy':'Retain'}}",
		"{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':'pv-2'},'spec':{"
		"'persistentVolumeReclaimPolicy':'Retain'}}",
	};
	static const char snap[] =
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	const struct cluster_restore_volume vols[] = {
		{.ns = "a", .pvc = "d1", .volume = "k8s/c/a/d1", .snapshot = snap, .size = 1 << 20},
	};
	const struct cluster_snapshot_src src = {
		.repository = "default", .url = "s3://b/r", .password_secret = "pw"};
	char name[CLUSTER_NAME_MAX + 1], name2[CLUSTER_NAME_MAX + 1], longpvc[254];

	for (int fill = 1; fill >= 0; fill--) {
		struct k8s_obj *spec = J("{'namespaceMapping':{'a':'b'}}");
		struct cluster_restore_plan p = {0};
		struct cluster_restore_opts o = {0};
		const struct cluster_plan_item *s = NULL, *d1 = NULL, *d2 = NULL, *pv1 = NULL,
					       *pv2 = NULL;
		struct cluster_err err;

		T_ASSERT(!cluster_restore_opts_read(spec, "r1", &o, &err));
		for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
			char line[1024];

			snprintf(line, sizeof(line), "%s", lines[i]);
			for (char *c = line; *c; c++)
				if (*c == '\'')
					*c = '"';
			T_ASSERT(!cluster_restore_plan_line(&p, line, strlen(line), &err), "%s",
				 err.msg);
		}
		T_ASSERT(!cluster_restore_plan_finish(&p, &o, &err), "%s", err.msg);
		T_ASSERT(!cluster_restore_plan_volumes(&p, &o, vols, 1, &src, fill, &err), "%s",
			 err.msg);
		for (size_t i = 0; i < p.n; i++) {
			const struct cluster_plan_item *it = &p.items[i];

			if (!strcmp(it->kind, "Snapshot"))
				s = it;
			else if (!strcmp(it->name, "d1"))
				d1 = it;
			else if (!strcmp(it->name, "d2"))
				d2 = it;
			else if (!strcmp(it->name, "pv-1"))
				pv1 = it;
			else if (!strcmp(it->name, "pv-2"))
				pv2 = it;
		}
		T_ASSERT(d1 && d2 && pv1 && pv2);
		for (int t = 0; t < CLUSTER_TIERS; t++)
			for (size_t i = p.tier_start[t]; i < p.tier_start[t + 1]; i++)
				CHECK(p.items[i].tier == t, "tier_start[%d] after the Snapshots",
				      t);
		CHECK(!k8s_obj_str(d1->obj, "/spec/volumeName") &&
			      !k8s_obj_at(d1->obj, "/spec/dataSource"),
		      "a claim of a backed-up volume gets a new volume: no volumeName, no dataSource");
		CHECK(pv1->skip && !pv2->skip, "its PV is not restored; the other claim's is");
		CHECK(!strcmp(k8s_obj_str(d2->obj, "/spec/volumeName"), "pv-2"),
		      "a claim of no backed-up volume as the plan has it");
		if (!fill) {
			CHECK(!s && !k8s_obj_at(d1->obj, "/spec/dataSourceRef"),
			      "restoreVolumes false: no Snapshot, the claim restored empty");
		} else {
			T_ASSERT(s, "restoreVolumes: a Snapshot for the claim");
			CHECK(s < d1 && s->tier == cluster_restore_tier("ferry.io", "Snapshot") &&
				      s->tier < d1->tier,
			      "the Snapshot comes in its tier, before the claims");
			CHECK(!strcmp(s->name, "r1-d1") && !strcmp(s->ns, "b"),
			      "the Snapshot r1-d1 in the mapped namespace: %s/%s", s->ns, s->name);
			CHECK(!strcmp(k8s_obj_str(s->obj, "/spec/snapshotID"), snap) &&
				      !strcmp(k8s_obj_str(s->obj, "/spec/repository"), "default") &&
				      !strcmp(k8s_obj_str(s->obj, "/spec/volume"), "k8s/c/a/d1") &&
				      !strcmp(k8s_obj_str(s->obj, "/spec/url"), "s3://b/r") &&
				      !strcmp(k8s_obj_str(s->obj, "/spec/passwordSecretRef/name"),
					      "pw") &&
				      !strcmp(k8s_obj_label(s->obj, CLUSTER_LABEL_RESTORE_NAME),
					      "r1"),
			      "the Snapshot names the repository, the snapshot and its volume");
			CHECK(!strcmp(k8s_obj_str(d1->obj, "/spec/dataSourceRef/apiGroup"),
				      "ferry.io") &&
				      !strcmp(k8s_obj_str(d1->obj, "/spec/dataSourceRef/kind"),
					      "Snapshot") &&
				      !strcmp(k8s_obj_str(d1->obj, "/spec/dataSourceRef/name"),
					      "r1-d1"),
			      "the claim's dataSourceRef names the Snapshot");
		}
		cluster_restore_plan_fini(&p);
		cluster_restore_opts_fini(&o);
		k8s_obj_free(spec);
	}
	memset(longpvc, 'p', 253);
	longpvc[253] = '\0';
	T_ASSERT(!cluster_restore_snapshot_name("r1", longpvc, name));
	T_ASSERT(!cluster_restore_snapshot_name("r1", longpvc, name2));
	CHECK(strlen(name) == 2 + 17 && !strcmp(name, name2) && !strncmp(name, "r1-", 3),
	      "a long name: the restore's and a hash, the same each time: %s", name);
	CHECK(cluster_restore_snapshot_name("", "d", name) == -EINVAL, "no restore name");
}

static void test_plan_refused(void)
{
	static const char *const bad[] = {
		"not json",
		"[1,2]",
		"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}",
		"{\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"p\"}}",
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{}}",
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"\"}}",
		"{\"apiVersion\":\"/v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}",
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":5}}",
		/* the API server reads the last of two keys, a lookup here the first */
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"status\":{},"
		"\"status\":{}}",
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"spec\":{\"a\":[{"
		"\"b\":1,\"b\":2}]}}",
		"",
	};
	struct cluster_restore_plan p = {0};
	struct cluster_err err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(cluster_restore_plan_line(&p, bad[i], strlen(bad[i]), &err) == -EINVAL &&
			      err.msg[0] && !strchr(err.msg, '\n'),
		      "line %zu refused: %s", i, err.msg);
	CHECK(p.n == 0, "nothing added");
	cluster_restore_plan_fini(&p);
}

int main(void)
{
	test_selection();
	test_scope();
	test_selection_refused();
	test_volumes();
	test_policies_configmap();
	test_prepare();
	test_opts();
	test_mapping_configmaps();
	test_tiers();
	test_plan();
	test_plan_owned();
	test_plan_volumes();
	test_plan_refused();
	if (failures) {
		printf("%d failures\n", failures);
		return T_EXIT_FAIL;
	}
	printf("PASS\n");
	return T_EXIT_PASS;
}
