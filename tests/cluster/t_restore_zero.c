// SPDX-License-Identifier: MIT
/*
 * tests/cluster/t_restore_zero.c - a Restore with scaleWorkloadsToZero
 * (control/cluster/cluster.h "SCALED TO ZERO", "THE NODE OF A CLAIM"):
 * the rewrite of each workload kind and its annotations, prepared twice
 * as once; the plan's DaemonSets and Pods; and the node chosen for each
 * claim of a WaitForFirstConsumer class from tables of nodes: taints and
 * tolerations, nodeSelector, each affinity operator, cordoned and NotReady
 * nodes, allowedTopologies, CSI volume limits, a StatefulSet spread over
 * zones, the claims of one pod on one node, and no candidate with its
 * reason. JSON in the tables is written with ' for " (J()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cluster/cluster.h"
#include "k8s/k8s.h"
#include "t_cluster_kit.h"
#include "t_helpers.h"

/* ------------------------------------------------------------ the rewrite */

struct zero_case {
	const char *why, *in, *out;
};

#define META(k, av) "'apiVersion':'" av "','kind':'" k "','metadata':{'name':'w','namespace':'a'"

static const struct zero_case zero_cases[] = {
	{"a Deployment: replicas 0, the archive's count kept",
	 "{" META("Deployment", "apps/v1") "},'spec':{'replicas':3}}",
	 "{" META("Deployment", "apps/v1") ",'annotations':{'ferry.io/restore-replicas':'3'}},"
					   "'spec':{'replicas':0}}"},
	{"a StatefulSet without replicas: the API server's default, 1",
	 "{" META("StatefulSet", "apps/v1") "},'spec':{'serviceName':'s'}}",
	 "{" META("StatefulSet", "apps/v1") ",'annotations':{'ferry.io/restore-replicas':'1'}},"
					    "'spec':{'serviceName':'s','replicas':0}}"},
	{"a ReplicaSet", "{" META("ReplicaSet", "apps/v1") "},'spec':{'replicas':2}}",
	 "{" META("ReplicaSet", "apps/v1") ",'annotations':{'ferry.io/restore-replicas':'2'}},"
					   "'spec':{'replicas':0}}"},
	{"a ReplicationController (core)",
	 "{" META("ReplicationController", "v1") "},'spec':{'replicas':5}}",
	 "{" META("ReplicationController",
		  "v1") ",'annotations':{'ferry.io/restore-replicas':'5'}},"
			"'spec':{'replicas':0}}"},
	{"a Deployment the archive had at zero: 0 kept as the count",
	 "{" META("Deployment", "apps/v1") "},'spec':{'replicas':0}}",
	 "{" META("Deployment", "apps/v1") ",'annotations':{'ferry.io/restore-replicas':'0'}},"
					   "'spec':{'replicas':0}}"},
	{"one restored so already (the live object compared): left as it is",
	 "{" META("Deployment", "apps/v1") ",'annotations':{'ferry.io/restore-replicas':'4'}},"
					   "'spec':{'replicas':0}}",
	 "{" META("Deployment", "apps/v1") ",'annotations':{'ferry.io/restore-replicas':'4'}},"
					   "'spec':{'replicas':0}}"},
	{"an annotation left by an earlier restore, scaled up since: the count now",
	 "{" META("Deployment", "apps/v1") ",'annotations':{'ferry.io/restore-replicas':'4'}},"
					   "'spec':{'replicas':2}}",
	 "{" META("Deployment", "apps/v1") ",'annotations':{'ferry.io/restore-replicas':'2'}},"
					   "'spec':{'replicas':0}}"},
	{"a CronJob: suspended, its suspend (absent: false) kept",
	 "{" META("CronJob", "batch/v1") "},'spec':{'schedule':'* * * * *'}}",
	 "{" META("CronJob", "batch/v1") ",'annotations':{'ferry.io/restore-suspend':'false'}},"
					 "'spec':{'schedule':'* * * * *','suspend':true}}"},
	{"a CronJob suspended in the archive: 'true' kept",
	 "{" META("CronJob", "batch/v1") "},'spec':{'suspend':true}}",
	 "{" META("CronJob", "batch/v1") ",'annotations':{'ferry.io/restore-suspend':'true'}},"
					 "'spec':{'suspend':true}}"},
	{"a Job that has not completed: suspended too (its pods would run)",
	 "{" META("Job", "batch/v1") "},'spec':{'suspend':false}}",
	 "{" META("Job", "batch/v1") ",'annotations':{'ferry.io/restore-suspend':'false'}},"
				     "'spec':{'suspend':true}}"},
	{"a DaemonSet cannot be held at zero: as it is (the plan notes it)",
	 "{" META("DaemonSet", "apps/v1") "},'spec':{'template':{}}}",
	 "{" META("DaemonSet", "apps/v1") "},'spec':{'template':{}}}"},
	{"other kinds: untouched", "{" META("ConfigMap", "v1") "},'data':{'replicas':'3'}}",
	 "{" META("ConfigMap", "v1") "},'data':{'replicas':'3'}}"},
	{"a Deployment of another group: untouched",
	 "{" META("Deployment", "example.com/v1") "},'spec':{'replicas':3}}",
	 "{" META("Deployment", "example.com/v1") "},'spec':{'replicas':3}}"},
};

static void test_rewrite(void)
{
	struct k8s_obj *spec = J("{'scaleWorkloadsToZero':true}");
	struct cluster_restore_opts o = {0};
	struct cluster_err err;

	T_ASSERT(!cluster_restore_opts_read(spec, "", &o, &err), "%s", err.msg);
	for (size_t i = 0; i < sizeof(zero_cases) / sizeof(zero_cases[0]); i++) {
		const struct zero_case *c = &zero_cases[i];
		struct k8s_obj *in = J(c->in), *want = J(c->out), *again;
		const char *skip = NULL;
		char *got;

		CHECK(!cluster_restore_prepare(&o, in, &skip, &err), "%s: %s", c->why, err.msg);
		got = k8s_obj_json(in);
		CHECK(!skip && k8s_obj_equal(in, want), "%s:\n  got  %s\n  want %s", c->why, got,
		      c->out);
		free(got);
		/* prepared twice is prepared once: a live object compares equal */
		again = k8s_obj_dup(in);
		T_ASSERT(again);
		CHECK(!cluster_restore_prepare(&o, again, &skip, &err) && k8s_obj_equal(again, in),
		      "%s: prepared again, changed", c->why);
		k8s_obj_free(again);
		k8s_obj_free(in);
		k8s_obj_free(want);
	}
	/* without the option, nothing of it */
	{
		struct cluster_restore_opts none = {0};
		struct k8s_obj *in = J(zero_cases[0].in), *want = J(zero_cases[0].in);
		const char *skip;

		CHECK(!cluster_restore_prepare(&none, in, &skip, &err) && k8s_obj_equal(in, want),
		      "scaleWorkloadsToZero false: replicas as the archive has them");
		k8s_obj_free(in);
		k8s_obj_free(want);
	}
	/* replicas of the wrong type: refused with the object named */
	{
		struct k8s_obj *in =
			J("{" META("Deployment", "apps/v1") "},'spec':{'replicas':'3'}}");
		const char *skip;

		CHECK(cluster_restore_prepare(&o, in, &skip, &err) == -EINVAL &&
			      strstr(err.msg, "Deployment w") && !strchr(err.msg, '\n'),
		      "replicas a string: %s", err.msg);
		k8s_obj_free(in);
	}
	cluster_restore_opts_fini(&o);
	k8s_obj_free(spec);
}

/* ------------------------------------------------------------ the plan */

static const struct cluster_plan_item *item(const struct cluster_restore_plan *p, const char *kind,
					    const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->items[i].kind, kind) && !strcmp(p->items[i].name, name))
			return &p->items[i];
	return NULL;
}

static void plan_of(struct cluster_restore_plan *p, const char *opts, const char *const *lines)
{
	struct k8s_obj *spec = J(opts);
	struct cluster_restore_opts o = {0};
	struct cluster_err err;

	T_ASSERT(!cluster_restore_opts_read(spec, "r1", &o, &err), "%s", err.msg);
	for (size_t i = 0; lines[i]; i++) {
		char *l = t_dq(lines[i]);

		T_ASSERT(!cluster_restore_plan_line(p, l, strlen(l), &err), "%s: %s", err.msg, l);
		free(l);
	}
	T_ASSERT(!cluster_restore_plan_finish(p, &o, &err), "%s", err.msg);
	cluster_restore_opts_fini(&o);
	k8s_obj_free(spec);
}

static void test_plan_zero(void)
{
	static const char *const lines[] = {
		"{'apiVersion':'apps/v1','kind':'DaemonSet','metadata':{'name':'agent','namespace':"
		"'a'},'spec':{}}",
		"{'apiVersion':'v1','kind':'Pod','metadata':{'name':'bare','namespace':'a'},'spec':{}}",
		"{'apiVersion':'v1','kind':'Pod','metadata':{'name':'orphan','namespace':'a',"
		"'ownerReferences':[{'apiVersion':'apps/v1','kind':'ReplicaSet','name':'gone',"
		"'controller':true,'uid':'u'}]},'spec':{}}",
		"{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'a'},"
		"'spec':{'replicas':2}}",
		"{'apiVersion':'apps/v1','kind':'ReplicaSet','metadata':{'name':'web-1','namespace':'a',"
		"'ownerReferences':[{'apiVersion':'apps/v1','kind':'Deployment','name':'web',"
		"'controller':true,'uid':'u'}]},'spec':{'replicas':2}}",
		"{'apiVersion':'v1','kind':'Pod','metadata':{'name':'web-1-x','namespace':'a',"
		"'ownerReferences':[{'apiVersion':'apps/v1','kind':'ReplicaSet','name':'web-1',"
		"'controller':true,'uid':'u'}]},'spec':{}}",
		NULL,
	};
	struct cluster_restore_plan p = {0}, q = {0};
	const struct cluster_plan_item *it;

	plan_of(&p, "{'scaleWorkloadsToZero':true}", lines);
	it = item(&p, "DaemonSet", "agent");
	CHECK(it && !it->skip && it->note && strstr(it->note, "cannot be held at zero"),
	      "a DaemonSet: restored, with a note: %s", it && it->note ? it->note : "(none)");
	it = item(&p, "Pod", "bare");
	CHECK(it && it->skip && it->note && strstr(it->note, "bare pod (no controller)"),
	      "a bare pod: not created, a note: %s", it && it->note ? it->note : "(none)");
	it = item(&p, "Pod", "orphan");
	CHECK(it && it->skip && it->note && strstr(it->note, "ReplicaSet gone is not restored"),
	      "a pod whose controller is not restored: not created, a note naming it: %s",
	      it && it->note ? it->note : "(none)");
	it = item(&p, "Pod", "web-1-x");
	CHECK(it && it->skip && !it->note, "a pod its restored controller makes: skipped, no note");
	it = item(&p, "ReplicaSet", "web-1");
	CHECK(it && it->skip && !it->note, "a Deployment's ReplicaSet: its controller's, no note");
	it = item(&p, "Deployment", "web");
	CHECK(it && !it->skip && !it->note, "the Deployment: restored, no note");
	{
		int64_t r = -1;

		CHECK(it && !k8s_obj_int(it->obj, "/spec/replicas", &r) && r == 0 &&
			      !strcmp(k8s_obj_annotation(it->obj, CLUSTER_ANN_RESTORE_REPLICAS),
				      "2"),
		      "the Deployment: replicas 0, the annotation 2");
	}
	plan_of(&q, "{}", lines);
	it = item(&q, "Pod", "bare");
	CHECK(it && !it->skip && !it->note, "without the option a bare pod is restored");
	it = item(&q, "DaemonSet", "agent");
	CHECK(it && !it->note, "without the option no note");
	cluster_restore_plan_fini(&p);
	cluster_restore_plan_fini(&q);
}

/* ------------------------------------------------------------ the node of a claim */

#define NODEX(name, labels, spec, ready)                                                           \
	"{'apiVersion':'v1','kind':'Node','metadata':{'name':'" name "','labels':{" labels "}},"   \
	"'spec':" spec ",'status':{'conditions':[{'type':'MemoryPressure','status':'False'},{"     \
	"'type':'Ready','status':'" ready "'}]}}"
#define ZONE(z)	      "'topology.kubernetes.io/zone':'" z "'"
#define NODE(name, z) NODEX(name, ZONE(z), "{}", "True")
#define PVC(name)                                                                                  \
	"{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'" name "',"         \
	"'namespace':'app'},'spec':{'storageClassName':'wffc','dataSourceRef':{'apiGroup':"        \
	"'ferry.io','kind':'Snapshot','name':'s-" name "'}}}"
#define PVC_CLASS(name, cls)                                                                       \
	"{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'" name "',"         \
	"'namespace':'app'},'spec':{'storageClassName':'" cls "','dataSourceRef':{'apiGroup':"     \
	"'ferry.io','kind':'Snapshot','name':'s-" name "'}}}"
#define VOL(c) "{'name':'v-" c "','persistentVolumeClaim':{'claimName':'" c "'}}"
#define DEP(name, extra, vols)                                                                     \
	"{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'" name "','namespace':"   \
	"'app'},'spec':{'replicas':1,'template':{'spec':{" extra "'volumes':[" vols "]}}}}"
#define STS(name, extra, tmpls)                                                                    \
	"{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'" name "','namespace':"  \
	"'app'},'spec':{'replicas':3,'template':{'spec':{" extra "'containers':[]}},"              \
	"'volumeClaimTemplates':[" tmpls "]}}"
#define TMPL(n) "{'metadata':{'name':'" n "'}}"
#define WFFC                                                                                       \
	"{'apiVersion':'storage.k8s.io/v1','kind':'StorageClass','metadata':{'name':'wffc'},'provisioner':'disk.csi','volumeBindingMode':'WaitForFirstConsumer'}"
#define CSINODE(n, count)                                                                             \
	"{'metadata':{'name':'" n                                                                     \
	"'},'spec':{'drivers':[{'name':'other.csi'},{'name':'disk.csi','allocatable':{'count':" count \
	"}}]}}"
#define REQ(exprs)                                                                                 \
	"'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"           \
	"'nodeSelectorTerms':[" exprs "]}}},"
#define EXPR(k, op, vals)                                                                          \
	"{'matchExpressions':[{'key':'" k "','operator':'" op "','values':[" vals "]}]}"

struct node_case {
	const char *why;
	const char *lines[8];
	const char *nodes[6];
	const char *csinodes[4];
	const char *classes[3]; /* none: WFFC */
	/* "claim=node": annotated so; "claim!text": no annotation, a note with text; "claim-": neither */
	const char *want[6];
};

static const struct node_case node_cases[] = {
	{"NoSchedule taint not tolerated: the other node",
	 {DEP("web", "", VOL("c1")), PVC("c1")},
	 {NODEX("n1", ZONE("a"),
		"{'taints':[{'key':'dedicated','value':'db','effect':'NoSchedule'}]}", "True"),
	  NODE("n2", "a")},
	 {0},
	 {0},
	 {"c1=n2"}},
	{"a toleration (Equal, key, value) and a nodeSelector: the tainted node it asks for",
	 {DEP("web",
	      "'nodeSelector':{'disk':'ssd'},'tolerations':[{'key':'dedicated','operator':'Equal',"
	      "'value':'db','effect':'NoSchedule'}],",
	      VOL("c1")),
	  PVC("c1")},
	 {NODEX("n1", ZONE("a") ",'disk':'ssd'",
		"{'taints':[{'key':'dedicated','value':'db','effect':'NoSchedule'}]}", "True"),
	  NODE("n2", "a"), NODEX("n3", ZONE("a") ",'disk':'hdd'", "{}", "True")},
	 {0},
	 {0},
	 {"c1=n1"}},
	{"NoExecute taint tolerated by operator Exists without a key; PreferNoSchedule ignored",
	 {DEP("web", "'tolerations':[{'operator':'Exists'}],'nodeSelector':{'pick':'me'},",
	      VOL("c1")),
	  DEP("api", "'nodeSelector':{'soft':'yes'},", VOL("c2")), PVC("c1"), PVC("c2")},
	 {NODEX("n1", ZONE("a") ",'pick':'me'", "{'taints':[{'key':'x','effect':'NoExecute'}]}",
		"True"),
	  NODEX("n2", ZONE("a") ",'soft':'yes'",
		"{'taints':[{'key':'x','effect':'PreferNoSchedule'}]}", "True")},
	 {0},
	 {0},
	 {"c1=n1", "c2=n2"}},
	{"a toleration of another value does not tolerate",
	 {DEP("web", "'tolerations':[{'key':'dedicated','operator':'Equal','value':'web'}],",
	      VOL("c1")),
	  PVC("c1")},
	 {NODEX("n1", ZONE("a"),
		"{'taints':[{'key':'dedicated','value':'db','effect':'NoSchedule'}]}", "True")},
	 {0},
	 {0},
	 {"c1!no Ready node tolerates the template's taints and matches its affinity of "
	  "Deployment web"}},
	{"affinity In",
	 {DEP("web", REQ(EXPR("tier", "In", "'gold','silver'")), VOL("c1")), PVC("c1")},
	 {NODEX("n1", "'tier':'bronze'", "{}", "True"),
	  NODEX("n2", "'tier':'silver'", "{}", "True")},
	 {0},
	 {0},
	 {"c1=n2"}},
	{"affinity NotIn (an absent label is not in)",
	 {DEP("web", REQ(EXPR("tier", "NotIn", "'bronze'")), VOL("c1")), PVC("c1")},
	 {NODEX("n1", "'tier':'bronze'", "{}", "True"), NODEX("n2", "'other':'x'", "{}", "True")},
	 {0},
	 {0},
	 {"c1=n2"}},
	{"affinity Exists",
	 {DEP("web", REQ("{'matchExpressions':[{'key':'gpu','operator':'Exists'}]}"), VOL("c1")),
	  PVC("c1")},
	 {NODE("n1", "a"), NODEX("n2", "'gpu':''", "{}", "True")},
	 {0},
	 {0},
	 {"c1=n2"}},
	{"affinity DoesNotExist",
	 {DEP("web", REQ("{'matchExpressions':[{'key':'gpu','operator':'DoesNotExist'}]}"),
	      VOL("c1")),
	  PVC("c1")},
	 {NODEX("n1", "'gpu':'1'", "{}", "True"), NODEX("n2", ZONE("a"), "{}", "True")},
	 {0},
	 {0},
	 {"c1=n2"}},
	{"affinity Gt (integers: 10 > 9, not as strings)",
	 {DEP("web", REQ(EXPR("cores", "Gt", "'9'")), VOL("c1")), PVC("c1")},
	 {NODEX("n1", "'cores':'8'", "{}", "True"), NODEX("n2", "'cores':'10'", "{}", "True"),
	  NODEX("n3", "'cores':'many'", "{}", "True")},
	 {0},
	 {0},
	 {"c1=n2"}},
	{"affinity Lt",
	 {DEP("web", REQ(EXPR("cores", "Lt", "'9'")), VOL("c1")), PVC("c1")},
	 {NODEX("n1", "'cores':'10'", "{}", "True"), NODEX("n2", "'cores':'8'", "{}", "True")},
	 {0},
	 {0},
	 {"c1=n2"}},
	{"matchFields metadata.name In",
	 {DEP("web",
	      REQ("{'matchFields':[{'key':'metadata.name','operator':'In','values':['n3']}]}"),
	      VOL("c1")),
	  PVC("c1")},
	 {NODE("n1", "a"), NODE("n2", "a"), NODE("n3", "b")},
	 {0},
	 {0},
	 {"c1=n3"}},
	{"terms are ORed, a term's expressions ANDed; an empty term matches nothing",
	 {DEP("web",
	      REQ("{},{'matchExpressions':[{'key':'a','operator':'In','values':['1']},{'key':'b',"
		  "'operator':'In','values':['2']}]}"),
	      VOL("c1")),
	  PVC("c1")},
	 {NODEX("n1", "'a':'1'", "{}", "True"), NODEX("n2", "'a':'1','b':'2'", "{}", "True")},
	 {0},
	 {0},
	 {"c1=n2"}},
	{"cordoned and NotReady nodes are passed over",
	 {DEP("web", "", VOL("c1")), PVC("c1")},
	 {NODEX("n1", ZONE("a"), "{'unschedulable':true}", "True"),
	  NODEX("n2", ZONE("a"), "{}", "False"), NODE("n3", "a")},
	 {0},
	 {0},
	 {"c1=n3"}},
	{"every node cordoned or NotReady: no node, the reason",
	 {DEP("web", "", VOL("c1")), PVC("c1")},
	 {NODEX("n1", ZONE("a"), "{'unschedulable':true}", "True"),
	  NODEX("n2", ZONE("a"), "{}", "Unknown")},
	 {0},
	 {0},
	 {"c1!no node is Ready and schedulable"}},
	{"the class's allowedTopologies",
	 {DEP("web", "", VOL("c1")), PVC("c1")},
	 {NODE("n1", "a"), NODE("n2", "b")},
	 {0},
	 {"{'metadata':{'name':'wffc'},'provisioner':'disk.csi','volumeBindingMode':"
	  "'WaitForFirstConsumer','allowedTopologies':[{'matchLabelExpressions':[{'key':"
	  "'topology.kubernetes.io/zone','values':['b']}]}]}"},
	 {"c1=n2"}},
	{"allowedTopologies that no node the template allows is in",
	 {DEP("web", "'nodeSelector':{'topology.kubernetes.io/zone':'a'},", VOL("c1")), PVC("c1")},
	 {NODE("n1", "a"), NODE("n2", "b")},
	 {0},
	 {"{'metadata':{'name':'wffc'},'provisioner':'disk.csi','volumeBindingMode':"
	  "'WaitForFirstConsumer','allowedTopologies':[{'matchLabelExpressions':[{'key':"
	  "'topology.kubernetes.io/zone','values':['b']}]}]}"},
	 {"c1!allowedTopologies"}},
	{"a StatefulSet of 3 over 2 zones: zone by ordinal, then node",
	 {STS("db", "", TMPL("data")), PVC("data-db-0"), PVC("data-db-1"), PVC("data-db-2")},
	 {NODE("b1", "zone-b"), NODE("a2", "zone-a"), NODE("a1", "zone-a")},
	 {0},
	 {0},
	 {"data-db-0=a1", "data-db-1=b1", "data-db-2=a2"}},
	{"a StatefulSet's two claims of one ordinal on one node; a replica beside its own",
	 {STS("db", "", TMPL("data") "," TMPL("logs")), PVC("data-db-0"), PVC("logs-db-0"),
	  PVC("data-db-1"), PVC("logs-db-1")},
	 {NODE("a1", "zone-a"), NODE("b1", "zone-b")},
	 {0},
	 {0},
	 {"data-db-0=a1", "logs-db-0=a1", "data-db-1=b1", "logs-db-1=b1"}},
	{"two claims of one pod on one node; other pods where the fewest claims are",
	 {DEP("web", "", VOL("c1") "," VOL("c2")), DEP("api", "", VOL("c3")),
	  DEP("job", "", VOL("c4")), PVC("c1"), PVC("c2"), PVC("c3"), PVC("c4")},
	 {NODE("n2", "a"), NODE("n1", "a"), NODE("n3", "a")},
	 {0},
	 {0},
	 {"c1=n1", "c2=n1", "c3=n2", "c4=n3"}},
	{"CSI volume limits: a node full of this restore's claims is passed over; no room left",
	 {DEP("web", "", VOL("c1")), DEP("api", "", VOL("c2")), DEP("job", "", VOL("c3")),
	  PVC("c1"), PVC("c2"), PVC("c3")},
	 {NODE("n1", "a"), NODE("n2", "a")},
	 {CSINODE("n1", "1"), CSINODE("n2", "1")},
	 {0},
	 {"c1=n1", "c2=n2", "c3!at its volume limit for disk.csi"}},
	{"a CSINode without the class's driver: not a candidate",
	 {DEP("web", "", VOL("c1")), PVC("c1")},
	 {NODE("n1", "a"), NODE("n2", "a")},
	 {"{'metadata':{'name':'n1'},'spec':{'drivers':[{'name':'other.csi'}]}}"},
	 {0},
	 {"c1=n2"}},
	{"a claim no template uses: the least used schedulable, untainted node",
	 {PVC("alone")},
	 {NODEX("n1", ZONE("a"), "{'taints':[{'key':'k','effect':'NoSchedule'}]}", "True"),
	  NODE("n2", "a")},
	 {0},
	 {0},
	 {"alone=n2"}},
	{"a bare pod not created (scaled to zero): its spec still places its claim",
	 {"{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'app'},'spec':{"
	  "'nodeSelector':{'x':'y'},'volumes':[" VOL("c1") "]}}",
	  PVC("c1")},
	 {NODE("n1", "a"), NODEX("n2", "'x':'y'", "{}", "True")},
	 {0},
	 {0},
	 {"c1=n2"}},
	{"a template in another namespace does not use the claim",
	 {"{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'other'},"
	  "'spec':{'template':{'spec':{'nodeSelector':{'x':'y'},'volumes':[" VOL("c1") "]}}}}",
	  PVC("c1")},
	 {NODE("n1", "a"), NODEX("n2", "'x':'y'", "{}", "True")},
	 {0},
	 {0},
	 {"c1=n1"}},
	{"an Immediate class, a claim not filled by the populator: left alone; the archive's "
	 "selected-node is stripped (velero#9053) and the claim placed anew",
	 {DEP("web", "", VOL("c1") "," VOL("c2") "," VOL("c3")), PVC_CLASS("c1", "fast"),
	  "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'c2','namespace':"
	  "'app'},'spec':{'storageClassName':'wffc'}}",
	  "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'c3','namespace':"
	  "'app','annotations':{'volume.kubernetes.io/selected-node':'n9'}},'spec':{"
	  "'storageClassName':'wffc','dataSourceRef':{'apiGroup':'ferry.io','kind':'Snapshot',"
	  "'name':'s'}}}"},
	 {NODE("n1", "a")},
	 {0},
	 {WFFC,
	  "{'metadata':{'name':'fast'},'provisioner':'disk.csi','volumeBindingMode':'Immediate'}"},
	 {"c1-", "c2-", "c3=n1"}},
	{"a class that does not exist: a note",
	 {DEP("web", "", VOL("c1")), PVC_CLASS("c1", "gone")},
	 {NODE("n1", "a")},
	 {0},
	 {0},
	 {"c1!StorageClass gone was not found"}},
	{"no nodes at all", {PVC("c1")}, {0}, {0}, {0}, {"c1!the cluster has no nodes"}},
};

static void test_nodes(void)
{
	for (size_t i = 0; i < sizeof(node_cases) / sizeof(node_cases[0]); i++) {
		const struct node_case *c = &node_cases[i];
		const struct k8s_obj *nodes[6], *csi[4], *cls[3];
		struct k8s_obj *owned[13];
		struct cluster_restore_plan p = {0};
		struct cluster_node_facts f = {0};
		struct cluster_err err;
		size_t no = 0;

		plan_of(&p, "{'scaleWorkloadsToZero':true}", c->lines);
		for (size_t j = 0; j < 6 && c->nodes[j]; j++)
			nodes[f.nnodes++] = owned[no++] = J(c->nodes[j]);
		for (size_t j = 0; j < 4 && c->csinodes[j]; j++)
			csi[f.ncsinodes++] = owned[no++] = J(c->csinodes[j]);
		for (size_t j = 0; j < 3 && c->classes[j]; j++)
			cls[f.nclasses++] = owned[no++] = J(c->classes[j]);
		if (!f.nclasses)
			cls[f.nclasses++] = owned[no++] = J(WFFC);
		f.nodes = nodes;
		f.csinodes = csi;
		f.classes = cls;
		CHECK(!cluster_restore_plan_nodes(&p, &f, &err), "%s: %s", c->why, err.msg);
		for (size_t w = 0; w < 6 && c->want[w]; w++) {
			const char *want = c->want[w], *sep = strpbrk(want, "=!");
			char claim[64];
			const struct cluster_plan_item *it;
			const char *got;

			if (!sep) /* "claim-" */
				sep = want + strlen(want) - 1;
			T_ASSERT(*sep && (size_t)(sep - want) < sizeof(claim));
			snprintf(claim, sizeof(claim), "%.*s", (int)(sep - want), want);
			it = item(&p, "PersistentVolumeClaim", claim);
			T_ASSERT(it, "%s: no claim %s", c->why, claim);
			got = k8s_obj_annotation(it->obj, CLUSTER_ANN_SELECTED_NODE);
			if (*sep == '=')
				CHECK(got && !strcmp(got, sep + 1) && !it->note,
				      "%s: %s on %s, not %s (note %s)", c->why, claim, sep + 1,
				      got ? got : "(none)", it->note ? it->note : "(none)");
			else if (*sep == '!')
				CHECK(!got && it->note && strstr(it->note, sep + 1) &&
					      !strchr(it->note, '\n'),
				      "%s: %s: no node and a note with \"%s\", not %s / %s", c->why,
				      claim, sep + 1, got ? got : "(none)",
				      it->note ? it->note : "(none)");
			else
				CHECK(!it->note && !got, "%s: %s left alone, not %s / %s", c->why,
				      claim, got ? got : "(none)", it->note ? it->note : "(none)");
		}
		for (size_t j = 0; j < no; j++)
			k8s_obj_free(owned[j]);
		cluster_restore_plan_fini(&p);
	}
}

/* the claim of a plan made by cluster_restore_plan_volumes() is the one placed */
static void test_nodes_after_volumes(void)
{
	static const char *const lines[] = {
		STS("db", "", TMPL("data")),
		"{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'data-db-0',"
		"'namespace':'src'},'spec':{'storageClassName':'wffc','volumeName':'pv-1'}}",
		NULL,
	};
	struct k8s_obj *spec = J("{'scaleWorkloadsToZero':true,'namespaceMapping':{'src':'app'}}");
	struct k8s_obj *node = J(NODE("n1", "a")), *cls = J(WFFC);
	const struct k8s_obj *nodes[] = {node}, *classes[] = {cls};
	struct cluster_node_facts f = {
		.nodes = nodes, .nnodes = 1, .classes = classes, .nclasses = 1};
	struct cluster_restore_volume vol = {.ns = "src",
					     .pvc = "data-db-0",
					     .volume = "v",
					     .snapshot =
						     "0123456789abcdef0123456789abcdef0123456789"
						     "abcdef0123456789abcd"};
	struct cluster_snapshot_src src = {.repository = "default"};
	struct cluster_restore_opts o = {0};
	struct cluster_restore_plan p = {0};
	const struct cluster_plan_item *it;
	struct cluster_err err;

	T_ASSERT(!cluster_restore_opts_read(spec, "r1", &o, &err), "%s", err.msg);
	for (size_t i = 0; lines[i]; i++) {
		char *l = t_dq(lines[i]);

		T_ASSERT(!cluster_restore_plan_line(&p, l, strlen(l), &err), "%s", err.msg);
		free(l);
	}
	/* the StatefulSet's namespace is src too: mapped with it */
	T_ASSERT(!cluster_restore_plan_finish(&p, &o, &err), "%s", err.msg);
	T_ASSERT(!cluster_restore_plan_volumes(&p, &o, &vol, 1, &src, true, &err), "%s", err.msg);
	T_ASSERT(!cluster_restore_plan_nodes(&p, &f, &err), "%s", err.msg);
	it = item(&p, "PersistentVolumeClaim", "data-db-0");
	CHECK(it && !strcmp(it->ns, "app") &&
		      !strcmp(k8s_obj_str(it->obj, "/spec/dataSourceRef/kind"), "Snapshot") &&
		      k8s_obj_annotation(it->obj, CLUSTER_ANN_SELECTED_NODE) &&
		      !strcmp(k8s_obj_annotation(it->obj, CLUSTER_ANN_SELECTED_NODE), "n1"),
	      "the claim filled from its Snapshot, mapped into app, placed on n1");
	cluster_restore_plan_fini(&p);
	cluster_restore_opts_fini(&o);
	k8s_obj_free(spec);
	k8s_obj_free(node);
	k8s_obj_free(cls);
}

int main(void)
{
	test_rewrite();
	test_plan_zero();
	test_nodes();
	test_nodes_after_volumes();
	if (failures) {
		printf("%d failures\n", failures);
		return T_EXIT_FAIL;
	}
	printf("PASS\n");
	return T_EXIT_PASS;
}
