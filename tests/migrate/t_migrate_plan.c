// SPDX-License-Identifier: MIT
/*
 * tests/migrate/t_migrate_plan.c - a Migration's plan from facts (issue 19,
 * "Bad input found at plan time, before any data moves, each with its
 * reason"), and its spec's decoder on good and malformed specs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/migrate/migrate.h"
#include "t_helpers.h"

#define MiB (1024LL * 1024)

static const struct mig_class src_classes[] = {
	{.name = "fast", .provisioner = "disk.csi.a", .is_default = true},
	{.name = "slow", .provisioner = "disk.csi.a"},
	{.name = "nfs", .provisioner = "nfs.csi.a"},
};
static const struct mig_class dst_classes[] = {
	{.name = "fast", .provisioner = "disk.csi.b", .is_default = true},
	{.name = "gold", .provisioner = "disk.csi.b"},
};

static struct mig_spec spec_of(const char *json)
{
	struct mig_spec s;
	struct k8s_obj *o = NULL;
	char why[256];

	T_ASSERT(!k8s_obj_parse(json, strlen(json), &o), "parse %s", json);
	T_ASSERT(!mig_spec_decode(o, &s, why, sizeof(why)), "%s: %s", json, why);
	k8s_obj_free(o);
	return s;
}

/* the reasons of the plan's findings, space-separated, in order */
static void reasons(const struct mig_plan *p, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < p->n_findings; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s%s", i ? " " : "",
				      p->findings[i].severity == MIG_WARNING ? "~" : "",
				      p->findings[i].reason);
}

struct row {
	const char *name;
	const char *spec;
	struct mig_claim claims[4];
	size_t n_claims;
	const char *target_claims[2];
	struct mig_quota quota;
	int src_minor, dst_minor;
	bool ns_missing;
	const char *want; /* reasons; "~" marks a warning */
	size_t volumes;
	int64_t bytes;
	const char *target_class0;
};

#define SPEC(extra)                                                                                \
	"{\"spec\":{\"source\":{\"kubeconfigSecretRef\":{\"name\":\"a\"}},"                        \
	"\"namespaces\":[\"shop\"]" extra "}}"
#define CLAIM(n, cls, sz, acc)                                                                     \
	{                                                                                          \
		.ns = "shop", .target_ns = "shop", .name = (n), .storage_class = (cls),            \
		.phase = "Bound", .volume_mode = "Filesystem", .bytes = (sz), .access = (acc)      \
	}

static const struct row rows[] = {
	{"a class both sides have keeps its name",
	 SPEC(""),
	 {CLAIM("d0", "fast", 64 * MiB, MIG_RWO)},
	 1,
	 {0},
	 {0},
	 31,
	 31,
	 false,
	 "",
	 1,
	 64 * MiB,
	 "fast"},
	{"a class the target lacks: NoStorageClass",
	 SPEC(""),
	 {CLAIM("d0", "slow", 64 * MiB, MIG_RWO)},
	 1,
	 {0},
	 {0},
	 31,
	 31,
	 false,
	 "NoStorageClass",
	 0,
	 0,
	 NULL},
	{"storageClassMapping gives it one",
	 SPEC(",\"storageClassMapping\":{\"slow\":\"gold\"}"),
	 {CLAIM("d0", "slow", 64 * MiB, MIG_RWO)},
	 1,
	 {0},
	 {0},
	 31,
	 31,
	 false,
	 "",
	 1,
	 64 * MiB,
	 "gold"},
	{"a mapping to a class the target lacks: MappedClassMissing",
	 SPEC(",\"storageClassMapping\":{\"slow\":\"silver\"}"),
	 {CLAIM("d0", "slow", 64 * MiB, MIG_RWO)},
	 1,
	 {0},
	 {0},
	 31,
	 31,
	 false,
	 "MappedClassMissing",
	 0,
	 0,
	 NULL},
	{"no class: the source's default, mapped by its name",
	 SPEC(""),
	 {CLAIM("d0", NULL, 64 * MiB, MIG_RWO)},
	 1,
	 {0},
	 {0},
	 31,
	 31,
	 false,
	 "",
	 1,
	 64 * MiB,
	 "fast"},
	{"a claim the target has already: ClaimExists",
	 SPEC(""),
	 {CLAIM("d0", "fast", 64 * MiB, MIG_RWO)},
	 1,
	 {"shop/d0"},
	 {0},
	 31,
	 31,
	 false,
	 "ClaimExists",
	 1,
	 64 * MiB,
	 "fast"},
	{"the same claim in another target namespace: no collision",
	 SPEC(",\"namespaceMapping\":{\"shop\":\"shop-b\"}"),
	 {{.ns = "shop",
	   .target_ns = "shop-b",
	   .name = "d0",
	   .storage_class = "fast",
	   .phase = "Bound",
	   .bytes = 64 * MiB,
	   .access = MIG_RWO}},
	 1,
	 {"shop/d0"},
	 {0},
	 31,
	 31,
	 false,
	 "",
	 1,
	 64 * MiB,
	 "fast"},
	{"ReadWriteMany is a warning, the volume still moves",
	 SPEC(""),
	 {CLAIM("d0", "fast", 64 * MiB, MIG_RWX)},
	 1,
	 {0},
	 {0},
	 31,
	 31,
	 false,
	 "~ReadWriteMany",
	 1,
	 64 * MiB,
	 "fast"},
	{"a Pending claim: ClaimNotBound",
	 SPEC(""),
	 {{.ns = "shop",
	   .target_ns = "shop",
	   .name = "d0",
	   .storage_class = "fast",
	   .phase = "Pending",
	   .bytes = 64 * MiB}},
	 1,
	 {0},
	 {0},
	 31,
	 31,
	 false,
	 "ClaimNotBound",
	 0,
	 0,
	 NULL},
	{"a quota that leaves too little: QuotaExceeded",
	 SPEC(""),
	 {CLAIM("d0", "fast", 64 * MiB, MIG_RWO), CLAIM("d1", "fast", 128 * MiB, MIG_RWO)},
	 2,
	 {0},
	 {.ns = "shop", .name = "q", .hard = 256 * MiB, .used = 100 * MiB, .claims_hard = -1},
	 31,
	 31,
	 false,
	 "QuotaExceeded",
	 2,
	 192 * MiB,
	 "fast"},
	{"a quota with room: nothing",
	 SPEC(""),
	 {CLAIM("d0", "fast", 64 * MiB, MIG_RWO), CLAIM("d1", "fast", 128 * MiB, MIG_RWO)},
	 2,
	 {0},
	 {.ns = "shop", .name = "q", .hard = 256 * MiB, .used = 64 * MiB, .claims_hard = -1},
	 31,
	 31,
	 false,
	 "",
	 2,
	 192 * MiB,
	 "fast"},
	{"a quota on the number of claims",
	 SPEC(""),
	 {CLAIM("d0", "fast", 64 * MiB, MIG_RWO), CLAIM("d1", "fast", 128 * MiB, MIG_RWO)},
	 2,
	 {0},
	 {.ns = "shop", .name = "q", .hard = -1, .claims_hard = 2, .claims_used = 1},
	 31,
	 31,
	 false,
	 "QuotaExceeded",
	 2,
	 192 * MiB,
	 "fast"},
	{"a quota of another namespace: nothing",
	 SPEC(""),
	 {CLAIM("d0", "fast", 64 * MiB, MIG_RWO)},
	 1,
	 {0},
	 {.ns = "other", .name = "q", .hard = 1, .claims_hard = -1},
	 31,
	 31,
	 false,
	 "",
	 1,
	 64 * MiB,
	 "fast"},
	{"an older target: TargetOlder (a warning)",
	 SPEC(""),
	 {CLAIM("d0", "fast", 64 * MiB, MIG_RWO)},
	 1,
	 {0},
	 {0},
	 31,
	 29,
	 false,
	 "~TargetOlder",
	 1,
	 64 * MiB,
	 "fast"},
	{"a namespace the source lacks: NamespaceNotFound",
	 SPEC(""),
	 {{0}},
	 0,
	 {0},
	 {0},
	 31,
	 31,
	 true,
	 "NamespaceNotFound",
	 0,
	 0,
	 NULL},
	{"everything at once, in order",
	 SPEC(""),
	 {CLAIM("d0", "slow", 64 * MiB, MIG_RWX), CLAIM("d1", "fast", 1 * MiB, MIG_RWO)},
	 2,
	 {"shop/d1"},
	 {0},
	 31,
	 30,
	 false,
	 "~ReadWriteMany NoStorageClass ClaimExists ~TargetOlder",
	 1,
	 1 * MiB,
	 "fast"},
};

static void check_rows(void)
{
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		const struct row *w = &rows[r];
		struct mig_spec s = spec_of(w->spec);
		bool found = !w->ns_missing;
		size_t nt = 0;
		struct mig_facts f = {
			.source = {.major = 1,
				   .minor = w->src_minor,
				   .server = "https://a:6443",
				   .classes = src_classes,
				   .n_classes = 3},
			.target = {.major = 1,
				   .minor = w->dst_minor,
				   .classes = dst_classes,
				   .n_classes = 2},
			.source_ns_found = &found,
			.claims = w->claims,
			.n_claims = w->n_claims,
			.quotas = &w->quota,
			.n_quotas = w->quota.name ? 1 : 0,
		};
		struct mig_plan p;
		char got[256];

		while (nt < 2 && w->target_claims[nt])
			nt++;
		f.target_claims = w->target_claims;
		f.n_target_claims = nt;
		T_ASSERT_EQ(mig_plan_make(&s, &f, &p), 0);
		reasons(&p, got, sizeof(got));
		T_ASSERT(!strcmp(got, w->want), "%s: findings '%s', want '%s'", w->name, got,
			 w->want);
		T_ASSERT(p.n_volumes == w->volumes && p.bytes == w->bytes,
			 "%s: %zu volumes, %lld bytes", w->name, p.n_volumes, (long long)p.bytes);
		if (w->target_class0)
			T_ASSERT(!strcmp(p.volumes[0].target_class, w->target_class0),
				 "%s: class %s", w->name, p.volumes[0].target_class);
		for (size_t i = 0; i < p.n_findings; i++)
			T_ASSERT(p.findings[i].object[0] && p.findings[i].message[0],
				 "%s: each finding has its object and message", w->name);
		{
			struct k8s_obj *st = NULL;
			int64_t v = -1;

			T_ASSERT_EQ(mig_plan_status(&p, &f, &st), 0);
			T_ASSERT(!k8s_obj_int(st, "/bytes", &v) && v == w->bytes,
				 "%s: status bytes", w->name);
			T_ASSERT(k8s_obj_len(st, "/findings") == p.n_findings &&
					 k8s_obj_len(st, "/volumes") == p.n_volumes,
				 "%s: status lists", w->name);
			k8s_obj_free(st);
		}
		mig_plan_fini(&p);
	}
}

/* the messages name what to do */
static void check_messages(void)
{
	struct mig_spec s = spec_of(SPEC(""));
	struct mig_claim c = CLAIM("d0", "slow", 64 * MiB, MIG_RWO);
	struct mig_quota q = {.ns = "shop", .name = "q", .hard = 32 * MiB, .claims_hard = -1};
	bool found = true;
	struct mig_facts f = {.source = {.classes = src_classes, .n_classes = 3},
			      .target = {.classes = dst_classes, .n_classes = 2},
			      .source_ns_found = &found,
			      .claims = &c,
			      .n_claims = 1,
			      .quotas = &q,
			      .n_quotas = 1};
	struct mig_plan p;

	T_ASSERT_EQ(mig_plan_make(&s, &f, &p), 0);
	T_ASSERT(p.n_findings == 1, "only the class: the claim does not move, so the quota holds");
	T_ASSERT(!strcmp(p.findings[0].object, "PersistentVolumeClaim shop/d0"), "%s",
		 p.findings[0].object);
	T_ASSERT(strstr(p.findings[0].message, "storage class slow") &&
			 strstr(p.findings[0].message, "fast, gold") &&
			 strstr(p.findings[0].message, "spec.storageClassMapping"),
		 "%s", p.findings[0].message);
	mig_plan_fini(&p);
	c.storage_class = "fast";
	T_ASSERT_EQ(mig_plan_make(&s, &f, &p), 0);
	T_ASSERT(p.n_findings == 1 && strstr(p.findings[0].message, "request 64 MiB") &&
			 strstr(p.findings[0].message, "leaves 32 MiB"),
		 "%s", p.n_findings ? p.findings[0].message : "");
	mig_plan_fini(&p);
}

/* the node labels the source's pods ask for, through nodeLabelMapping, against the target's nodes */
static void check_node_labels(void)
{
	struct mig_spec s = spec_of(SPEC(
		",\"nodeLabelMapping\":{\"topology.kubernetes.io/zone=a\":\"topology.kubernetes.io/"
		"zone=eu-1a\",\"disk\":\"storage\",\"pool\":\"\"}"));
	struct mig_node_ask asks[] = {
		{"shop", "web-0", "topology.kubernetes.io/zone", "a"}, /* mapped, present */
		{"shop", "web-1", "topology.kubernetes.io/zone", "a"}, /* the same: once */
		{"shop", "db-0", "disk", "ssd"},	       /* key mapped: storage=ssd, absent */
		{"shop", "db-0", "pool", "blue"},	       /* dropped: a warning */
		{"shop", "db-0", "kubernetes.io/os", "linux"}, /* unmapped, present */
		{"shop", "job-0", "gpu", "a100"},	       /* unmapped, absent */
	};
	const char *labels[] = {"topology.kubernetes.io/zone=eu-1a", "kubernetes.io/os=linux",
				"storage=hdd"};
	bool found = true;
	struct mig_facts f = {.source = {.classes = src_classes, .n_classes = 3},
			      .target = {.classes = dst_classes, .n_classes = 2},
			      .source_ns_found = &found,
			      .asks = asks,
			      .n_asks = 6,
			      .target_labels = labels,
			      .n_target_labels = 3,
			      .target_nodes_known = true};
	struct mig_plan p;
	char got[256];

	T_ASSERT_EQ(mig_plan_make(&s, &f, &p), 0);
	reasons(&p, got, sizeof(got));
	T_ASSERT(!strcmp(got, "NodeLabelMissing ~NodeLabelDropped NodeLabelMissing"), "%s", got);
	T_ASSERT(!strcmp(p.findings[0].object, "Pod shop/db-0") &&
			 strstr(p.findings[0].message, "storage=ssd (mapped from disk)"),
		 "%s: %s", p.findings[0].object, p.findings[0].message);
	T_ASSERT(strstr(p.findings[1].message, "pool=blue") &&
			 strstr(p.findings[2].message, "gpu=a100") && p.n_errors == 2,
		 "%s / %s", p.findings[1].message, p.findings[2].message);
	mig_plan_fini(&p);
	/* pods no node takes: web-9 a warning; db-0 not, NodeLabelMissing said why */
	{
		struct mig_unplaced un[] = {{"shop", "web-9", "no node of the target is Ready"},
					    {"shop", "db-0", "no node matches"}};

		f.unplaced = un;
		f.n_unplaced = 2;
		T_ASSERT_EQ(mig_plan_make(&s, &f, &p), 0);
		reasons(&p, got, sizeof(got));
		T_ASSERT(!strcmp(got, "NodeLabelMissing ~NodeLabelDropped NodeLabelMissing "
				      "~NoNodeFits"),
			 "%s", got);
		T_ASSERT(!strcmp(p.findings[3].object, "Pod shop/web-9") &&
				 strstr(p.findings[3].message, "no node of the target is Ready") &&
				 strstr(p.findings[3].message, "autoscaler"),
			 "%s: %s", p.findings[3].object, p.findings[3].message);
		mig_plan_fini(&p);
		f.unplaced = NULL;
		f.n_unplaced = 0;
	}
	f.target_nodes_known = false; /* the nodes not listed (no right to): nothing said */
	T_ASSERT_EQ(mig_plan_make(&s, &f, &p), 0);
	T_ASSERT(p.n_findings == 0, "%zu findings", p.n_findings);
	mig_plan_fini(&p);
}

/* the Services' nodePorts and load balancers, the pods' image pull secrets */
static void check_services(void)
{
	struct mig_spec s = spec_of(SPEC(",\"namespaceMapping\":{\"shop\":\"shop-b\"}"));
	struct mig_node_port src[] = {
		{"shop", "web", 30080, true},	   /* kept, held by another Service: an error */
		{"shop", "api", 30081, true},	   /* kept, held by itself (a previous try): fine */
		{"shop", "admin", 30082, true},	   /* kept, free: fine */
		{"shop", "metrics", 31000, false}, /* the API server's pick: changes */
	};
	struct mig_node_port dst[] = {
		{"other", "gateway", 30080, false},
		{"shop-b", "api", 30081, false},
	};
	struct mig_lb lbs[] = {
		{"shop", "web", "203.0.113.7", NULL},
		{"shop", "edge", "203.0.113.8", "203.0.113.8"},
	};
	struct mig_pull_secret pulls[] = {
		{"shop", "web-0", "regcred", true},
		{"shop", "web-0", "gone", false},
		{"shop", "web-1", "gone", false}, /* the same Secret: once */
	};
	bool found = true;
	struct mig_facts f = {.source = {.classes = src_classes, .n_classes = 3},
			      .target = {.classes = dst_classes, .n_classes = 2},
			      .source_ns_found = &found,
			      .node_ports = src,
			      .n_node_ports = 4,
			      .target_node_ports = dst,
			      .n_target_node_ports = 2,
			      .target_services_known = true,
			      .lbs = lbs,
			      .n_lbs = 2,
			      .pulls = pulls,
			      .n_pulls = 3};
	struct mig_plan p;
	char got[256];

	T_ASSERT_EQ(mig_plan_make(&s, &f, &p), 0);
	reasons(&p, got, sizeof(got));
	T_ASSERT(!strcmp(got, "NodePortTaken ~NodePortChanges ~LoadBalancerAddressChanges "
			      "~LoadBalancerIPPinned ImagePullSecretMissing"),
		 "%s", got);
	T_ASSERT(p.n_errors == 2, "%zu errors", p.n_errors);
	T_ASSERT(!strcmp(p.findings[0].object, "Service shop/web") &&
			 strstr(p.findings[0].message, "30080") &&
			 strstr(p.findings[0].message, "Service other/gateway"),
		 "%s: %s", p.findings[0].object, p.findings[0].message);
	T_ASSERT(!strcmp(p.findings[1].object, "Service shop/metrics") &&
			 strstr(p.findings[1].message, "31000"),
		 "%s: %s", p.findings[1].object, p.findings[1].message);
	T_ASSERT(strstr(p.findings[2].message, "203.0.113.7") &&
			 strstr(p.findings[3].message, "spec.loadBalancerIP 203.0.113.8"),
		 "%s / %s", p.findings[2].message, p.findings[3].message);
	T_ASSERT(!strcmp(p.findings[4].object, "Pod shop/web-0") &&
			 strstr(p.findings[4].message, "Secret gone"),
		 "%s: %s", p.findings[4].object, p.findings[4].message);
	mig_plan_fini(&p);
	f.target_services_known = false; /* the target's Services not listed: no clash said */
	T_ASSERT_EQ(mig_plan_make(&s, &f, &p), 0);
	reasons(&p, got, sizeof(got));
	T_ASSERT(!strncmp(got, "~NodePortChanges ", 17), "%s", got);
	mig_plan_fini(&p);
}

/* the seed snapshots each claim through its driver's default VolumeSnapshotClass */
static void check_snapshottable(void)
{
	struct mig_spec s = spec_of(SPEC(",\"storageClassMapping\":{\"nfs\":\"gold\"}"));
	struct mig_claim c[] = {
		CLAIM("d0", "fast", MiB, MIG_RWO), /* disk.csi.a: has a default class */
		CLAIM("d1", NULL, MiB, MIG_RWO),   /* the source's default, fast: the same */
		CLAIM("n0", "nfs", MiB, MIG_RWX),  /* nfs.csi.a: none */
	};
	const char *drivers[] = {"disk.csi.a"};
	bool found = true;
	struct mig_facts f = {.source = {.classes = src_classes, .n_classes = 3},
			      .target = {.classes = dst_classes, .n_classes = 2},
			      .source_ns_found = &found,
			      .claims = c,
			      .n_claims = 3,
			      .snapshot_drivers = drivers,
			      .n_snapshot_drivers = 1,
			      .snapshots_known = true};
	struct mig_plan p;
	char got[256];

	T_ASSERT_EQ(mig_plan_make(&s, &f, &p), 0);
	reasons(&p, got, sizeof(got));
	T_ASSERT(!strcmp(got, "NotSnapshottable ~ReadWriteMany"), "%s", got);
	T_ASSERT(!strcmp(p.findings[0].object, "PersistentVolumeClaim shop/n0") &&
			 strstr(p.findings[0].message, "nfs.csi.a") &&
			 strstr(p.findings[0].message, "is-default-class"),
		 "%s: %s", p.findings[0].object, p.findings[0].message);
	mig_plan_fini(&p);
	f.n_snapshot_drivers = 0; /* the snapshot API not served: known, none */
	T_ASSERT_EQ(mig_plan_make(&s, &f, &p), 0);
	T_ASSERT(p.n_errors == 3, "%zu errors", p.n_errors);
	mig_plan_fini(&p);
	f.snapshots_known = false; /* the classes not listed (no right to): not checked, said */
	f.unread = MIG_UNREAD_SNAPSHOT_CLASSES | MIG_UNREAD_TARGET_SERVICES;
	T_ASSERT_EQ(mig_plan_make(&s, &f, &p), 0);
	reasons(&p, got, sizeof(got));
	T_ASSERT(p.n_errors == 0 && !strcmp(got, "~ReadWriteMany ~NotChecked ~NotChecked"), "%s",
		 got);
	T_ASSERT(!strcmp(p.findings[1].object, "Cluster target") &&
			 strstr(p.findings[1].message, "nodePort clashes: not checked") &&
			 strstr(p.findings[1].message, "grant list services"),
		 "%s: %s", p.findings[1].object, p.findings[1].message);
	T_ASSERT(!strcmp(p.findings[2].object, "Cluster source") &&
			 strstr(p.findings[2].message, "list volumesnapshotclasses"),
		 "%s: %s", p.findings[2].object, p.findings[2].message);
	mig_plan_fini(&p);
}

/* objects the target has already: what existingResourcePolicy makes of each */
static void check_existing(void)
{
	static const struct {
		const char *policy, *want, *says;
		size_t errors;
	} pol[] = {
		{"", "~ObjectExists ~ObjectExists", "leaves it as it is there", 0},
		{",\"existingResourcePolicy\":\"update\"", "~ObjectExists ~ObjectExists",
		 "makes it the source's", 0},
		{",\"existingResourcePolicy\":\"fail\"", "ObjectExists ObjectExists",
		 "fail refuses the move", 2},
	};
	struct mig_object ex[] = {{"ConfigMap", "shop", "settings"}, {"Deployment", "shop", "web"}};
	bool found = true;
	struct mig_facts f = {.source = {.classes = src_classes, .n_classes = 3},
			      .target = {.classes = dst_classes, .n_classes = 2},
			      .source_ns_found = &found,
			      .existing = ex,
			      .n_existing = 2};

	for (size_t i = 0; i < sizeof(pol) / sizeof(pol[0]); i++) {
		char json[256], got[256];
		struct mig_spec s;
		struct mig_plan p;

		snprintf(json, sizeof(json), SPEC(",\"namespaceMapping\":{\"shop\":\"shop-b\"}%s"),
			 pol[i].policy);
		s = spec_of(json);
		T_ASSERT_EQ(mig_plan_make(&s, &f, &p), 0);
		reasons(&p, got, sizeof(got));
		T_ASSERT(!strcmp(got, pol[i].want) && p.n_errors == pol[i].errors, "%s: %s",
			 pol[i].policy, got);
		T_ASSERT(!strcmp(p.findings[1].object, "Deployment shop/web") &&
				 strstr(p.findings[1].message, "namespace shop-b") &&
				 strstr(p.findings[1].message, pol[i].says),
			 "%s: %s", p.findings[1].object, p.findings[1].message);
		mig_plan_fini(&p);
	}
}

/* custom resources: their CRDs on the target, serving the version that moves */
static void check_customs(void)
{
	struct mig_spec s = spec_of(SPEC(""));
	struct mig_custom cus[] = {
		{"widgets.example.io", "Widget", "v1", "shop", false, false},
		{"gadgets.example.io", "Gadget", "v2", "shop", true, false},
		{"things.example.io", "Thing", "v1", "shop", true, true},
	};
	bool found = true;
	struct mig_facts f = {.source = {.classes = src_classes, .n_classes = 3},
			      .target = {.classes = dst_classes, .n_classes = 2},
			      .source_ns_found = &found,
			      .customs = cus,
			      .n_customs = 3,
			      .unread = MIG_UNREAD_CUSTOM,
			      .unread_custom = "gizmos.example.io",
			      .n_unread_custom = 2};
	struct mig_plan p;
	char got[256];

	T_ASSERT_EQ(mig_plan_make(&s, &f, &p), 0);
	reasons(&p, got, sizeof(got));
	T_ASSERT(!strcmp(got, "CRDMissing APIVersionMissing ~NotChecked"), "%s", got);
	T_ASSERT(!strcmp(p.findings[0].object, "CustomResourceDefinition widgets.example.io") &&
			 strstr(p.findings[0].message, "Widget objects (v1)"),
		 "%s: %s", p.findings[0].object, p.findings[0].message);
	T_ASSERT(strstr(p.findings[1].message, "move as v2") &&
			 strstr(p.findings[2].message, "view ClusterRole") &&
			 strstr(p.findings[2].message, "(gizmos.example.io and more)"),
		 "%s / %s", p.findings[1].message, p.findings[2].message);
	mig_plan_fini(&p);
}

#define SRC "\"source\":{\"kubeconfigSecretRef\":{\"name\":\"a\"}}"

static void check_spec(void)
{
	static const struct {
		const char *json, *why;
	} bad[] = {
		{"{}", "spec: Required"},
		{"{\"spec\":[]}", "spec: Required"},
		{"{\"spec\":{\"namespaces\":[\"a\"]}}", "spec.source: Required"},
		{"{\"spec\":{\"source\":{},\"namespaces\":[\"a\"]}}",
		 "kubeconfigSecretRef: Required"},
		{"{\"spec\":{\"source\":{\"kubeconfigSecretRef\":{\"name\":\"A_b\"}},\"namespaces\":[\"a\"]}}",
		 "kubeconfigSecretRef.name"},
		{"{\"spec\":{\"source\":{\"kubeconfigSecretRef\":{\"name\":\"a\",\"key\":\"x/y\"}},\"namespaces\":[\"a\"]}}",
		 "kubeconfigSecretRef.key"},
		{"{\"spec\":{\"source\":{\"kubeconfigSecretRef\":{\"name\":\"a\"},\"timeoutSeconds\":0},\"namespaces\":[\"a\"]}}",
		 "timeoutSeconds"},
		{"{\"spec\":{\"source\":{\"kubeconfigSecretRef\":{\"name\":\"a\"},\"timeoutSeconds\":301},\"namespaces\":[\"a\"]}}",
		 "timeoutSeconds"},
		{"{\"spec\":{\"source\":{\"kubeconfigSecretRef\":{\"name\":\"a\"},\"context\":7},\"namespaces\":[\"a\"]}}",
		 "spec.source.context"},
		{"{\"spec\":{" SRC "}}", "spec.namespaces: Required"},
		{"{\"spec\":{" SRC ",\"namespaces\":[]}}", "spec.namespaces: Required"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"Shop\"]}}", "spec.namespaces[0]"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\",\"a\"]}}", "Duplicate"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\",3]}}", "spec.namespaces[1]"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"namespaceMapping\":{\"b\":\"c\"}}}",
		 "not one of spec.namespaces"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"namespaceMapping\":{\"a\":\"C\"}}}",
		 "spec.namespaceMapping[a]"},
		{"{\"spec\":{" SRC
		 ",\"namespaces\":[\"a\",\"b\"],\"namespaceMapping\":{\"a\":\"b\"}}}",
		 "both go to namespace b"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"namespaceMapping\":[]}}",
		 "spec.namespaceMapping"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"storageClassMapping\":{\"x\":\"\"}}}",
		 "spec.storageClassMapping[x]"},
		{"{\"spec\":{" SRC
		 ",\"namespaces\":[\"a\"],\"storageClassMapping\":{\"-x\":\"y\"}}}",
		 "spec.storageClassMapping"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"storageClassMapping\":\"x=y\"}}",
		 "spec.storageClassMapping"},
		/* the transforms handed to the seed's Restore */
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"nodeLabelMapping\":[]}}",
		 "spec.nodeLabelMapping: Invalid value: a map"},
		{"{\"spec\":{" SRC
		 ",\"namespaces\":[\"a\"],\"nodeLabelMapping\":{\"zone=a b\":\"z=a\"}}}",
		 "\"zone=a b\": a node label"},
		{"{\"spec\":{" SRC
		 ",\"namespaces\":[\"a\"],\"nodeLabelMapping\":{\"zone=a\":\"zone\"}}}",
		 "spec.nodeLabelMapping[zone=a]"},
		{"{\"spec\":{" SRC
		 ",\"namespaces\":[\"a\"],\"nodeLabelMapping\":{\"zone\":\"z=a\"}}}",
		 "a label's key"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"nodeLabelMapping\":{\"zone\":1}}}",
		 "spec.nodeLabelMapping[zone]"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"imageMapping\":\"a\"}}",
		 "spec.imageMapping"},
		{"{\"spec\":{" SRC
		 ",\"namespaces\":[\"a\"],\"imageMapping\":{\"docker.io/\":\"\"}}}",
		 "spec.imageMapping[docker.io/]"},
		/* the stages' fields */
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"repository\":\"Repo\"}}",
		 "spec.repository"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"repository\":3}}", "spec.repository"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"start\":\"yes\"}}", "spec.start"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"cutover\":1}}", "spec.cutover"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"rollback\":[]}}", "spec.rollback"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"skipVerify\":\"no\"}}",
		 "spec.skipVerify"},
		{"{\"spec\":{" SRC ",\"namespaceSelector\":[]}}",
		 "spec.namespaceSelector: Invalid"},
		{"{\"spec\":{" SRC ",\"namespaceSelector\":{}}}",
		 "it would select every namespace"},
		{"{\"spec\":{" SRC ",\"namespaceSelector\":{\"matchExpressions\":[{\"key\":\"a\","
		 "\"operator\":\"Near\"}]}}}",
		 "spec.namespaceSelector: Invalid value: an unknown operator"},
		{"{\"spec\":{" SRC ",\"namespaceSelector\":{\"matchLabels\":{\"-bad\":\"x\"}}}}",
		 "spec.namespaceSelector: Invalid value"},
		{"{\"spec\":{" SRC ",\"namespaces\":[],\"namespaceSelector\":null}}",
		 "spec.namespaces: Required"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"existingResourcePolicy\":\"merge\"}}",
		 "spec.existingResourcePolicy: Unsupported value: \"merge\""},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"existingResourcePolicy\":1}}",
		 "spec.existingResourcePolicy: Unsupported value"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"cutover\":true,\"rollback\":true}}",
		 "both asked for"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"copy\":{}}}", "spec.copy.from.url"},
		{"{\"spec\":{" SRC
		 ",\"namespaces\":[\"a\"],\"copy\":{\"from\":{\"url\":\"http://x\"}}}}",
		 "spec.copy.from.url: Invalid value"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"copy\":[1]}}",
		 "spec.copy: Invalid value"},
		/* a Secret reference without a name (the fuzzer's: strlen(NULL)) */
		{"{\"spec\":{" SRC
		 ",\"namespaces\":[\"a\"],\"copy\":{\"from\":{\"url\":\"s3://b/r\","
		 "\"credentialsSecretRef\":{\"n~ame\":\"k\"}}}}}",
		 "spec.copy.from.credentialsSecretRef.name: Invalid value"},
		{"{\"spec\":{" SRC
		 ",\"namespaces\":[\"a\"],\"copy\":{\"from\":{\"url\":\"s3://b/r\","
		 "\"passwordSecretRef\":{\"name\":\"A_B\"}}}}}",
		 "spec.copy.from.passwordSecretRef.name: Invalid value"},
		{"{\"spec\":{" SRC
		 ",\"namespaces\":[\"a\"],\"copy\":{\"from\":{\"url\":\"s3://b/r\"},"
		 "\"bandwidth\":-1}}}",
		 "spec.copy.bandwidth: Invalid value"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"syncIntervalSeconds\":0}}",
		 "spec.syncIntervalSeconds"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"syncIntervalSeconds\":1.5}}",
		 "spec.syncIntervalSeconds"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"cutoverBoundSeconds\":3601}}",
		 "spec.cutoverBoundSeconds"},
	};
	struct mig_spec s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct k8s_obj *o = NULL;
		char why[256];

		T_ASSERT(!k8s_obj_parse(bad[i].json, strlen(bad[i].json), &o), "parse %zu", i);
		T_ASSERT(mig_spec_decode(o, &s, why, sizeof(why)) == -EINVAL, "%s: decoded",
			 bad[i].json);
		T_ASSERT(strstr(why, bad[i].why), "%zu: '%s' does not say '%s'", i, why,
			 bad[i].why);
		k8s_obj_free(o);
	}
	/* the transforms as a user writes them */
	s = spec_of(
		SPEC(",\"nodeLabelMapping\":{\"zone=a\":\"topology.kubernetes.io/zone=eu-1a\","
		     "\"rack\":\"\",\"gpu\":\"nvidia.com/gpu\"},\"imageMapping\":{\"docker.io/\":"
		     "\"registry.eu.example/mirror/\"}"));
	T_ASSERT(s.n_namespaces == 1, "transforms decode");
	/* the defaults, and a full spec */
	s = spec_of(SPEC(""));
	T_ASSERT(
		!strcmp(s.secret, "a") && !strcmp(s.secret_key, "kubeconfig") && !s.context[0] &&
			s.timeout_s == MIG_DEFAULT_TIMEOUT_S && s.n_namespaces == 1 &&
			!strcmp(s.target_namespaces[0], "shop") && !s.n_class_map &&
			!strcmp(s.repository, "default") && !s.start && !s.cutover && !s.rollback &&
			!s.skip_verify && s.sync_interval_s == MIG_DEFAULT_INTERVAL_S &&
			s.cutover_bound_s == MIG_DEFAULT_BOUND_S && s.existing == MIG_EXISTING_NONE,
		"defaults");
	s = spec_of(SPEC(",\"existingResourcePolicy\":\"update\""));
	T_ASSERT(s.existing == MIG_EXISTING_UPDATE, "existingResourcePolicy update");
	s = spec_of(SPEC(",\"existingResourcePolicy\":\"fail\""));
	T_ASSERT(s.existing == MIG_EXISTING_FAIL, "existingResourcePolicy fail");
	T_ASSERT(!s.copy, "no spec.copy: one repository");
	s = spec_of(SPEC(",\"copy\":{\"from\":{\"url\":\"s3://cloud-a/repo\",\"passwordSecretRef\":"
			 "{\"name\":\"pw-a\"},\"credentialsSecretRef\":{\"name\":\"keys-a\"}},"
			 "\"bandwidth\":52428800}"));
	T_ASSERT(s.copy && s.copy_bandwidth == 52428800, "spec.copy");
	s = spec_of("{\"spec\":{" SRC
		    ",\"namespaces\":[\"a\"],\"repository\":\"r2\",\"start\":true,"
		    "\"cutover\":true,\"syncIntervalSeconds\":2,\"cutoverBoundSeconds\":5,"
		    "\"skipVerify\":true}}");
	T_ASSERT(!strcmp(s.repository, "r2") && s.start && s.cutover && !s.rollback &&
			 s.skip_verify && s.sync_interval_s == 2 && s.cutover_bound_s == 5,
		 "the stages' fields");
	s = spec_of(
		"{\"spec\":{\"source\":{\"kubeconfigSecretRef\":{\"name\":\"src.a\",\"key\":\"kc.yaml\"},"
		"\"context\":\"prod\",\"timeoutSeconds\":3},\"namespaces\":[\"a\",\"b\"],"
		"\"namespaceMapping\":{\"b\":\"b2\"},\"storageClassMapping\":{\"x\":\"y.z\"}}}");
	T_ASSERT(!strcmp(s.secret, "src.a") && !strcmp(s.secret_key, "kc.yaml") &&
			 !strcmp(s.context, "prod") && s.timeout_s == 3 && s.n_namespaces == 2 &&
			 !strcmp(s.target_namespaces[0], "a") &&
			 !strcmp(s.target_namespaces[1], "b2") && s.n_class_map == 1 &&
			 !strcmp(s.class_map[0].to, "y.z"),
		 "a full spec");
}

/* spec.namespaceSelector: decoded alone, its namespaces added at plan time, mapped again */
static void check_ns_selector(void)
{
	static const char *const found[] = {"shop", "shop-db", "shop-web"};
	static const char *const bad_name[] = {"Shop"};
	const char *many[MIG_MAX_NAMESPACES + 1];
	char names[MIG_MAX_NAMESPACES + 1][16];
	struct k8s_obj *o = NULL;
	struct mig_spec s;
	char why[256];

	T_ASSERT_EQ(k8s_obj_parse("{\"spec\":{" SRC ",\"namespaceSelector\":{\"matchLabels\":"
				  "{\"team\":\"shop\"},\"matchExpressions\":[{\"key\":\"tier\","
				  "\"operator\":\"In\",\"values\":[\"web\",\"db\"]}]},"
				  "\"namespaces\":[\"shop\"],\"namespaceMapping\":{\"shop-db\":"
				  "\"db-b\"}}}",
				  SIZE_MAX, &o),
		    0);
	T_ASSERT_EQ(mig_spec_decode(o, &s, why, sizeof(why)), 0);
	T_ASSERT(s.n_namespaces == 1 && !strcmp(s.ns_selector, "team=shop,tier in (db,web)"),
		 "%zu: '%s'", s.n_namespaces, s.ns_selector);
	/* the listed namespace again, then two more; the mapping of shop-db applies now */
	T_ASSERT_EQ(mig_spec_add_namespaces(o, &s, found, 3, why, sizeof(why)), 0);
	T_ASSERT(s.n_namespaces == 3 && !strcmp(s.namespaces[1], "shop-db") &&
			 !strcmp(s.target_namespaces[1], "db-b") &&
			 !strcmp(s.target_namespaces[2], "shop-web"),
		 "%zu namespaces", s.n_namespaces);
	T_ASSERT_EQ(mig_spec_decode(o, &s, why, sizeof(why)), 0);
	T_ASSERT(mig_spec_add_namespaces(o, &s, bad_name, 1, why, sizeof(why)) == -EINVAL &&
			 strstr(why, "\"Shop\""),
		 "%s", why);
	/* a mapping of a namespace the selector did not find */
	T_ASSERT_EQ(mig_spec_decode(o, &s, why, sizeof(why)), 0);
	T_ASSERT(mig_spec_add_namespaces(o, &s, found, 1, why, sizeof(why)) == -EINVAL &&
			 strstr(why, "nor of those spec.namespaceSelector selects"),
		 "%s", why);
	/* too many */
	for (size_t i = 0; i <= MIG_MAX_NAMESPACES; i++) {
		snprintf(names[i], sizeof(names[i]), "ns-%zu", i);
		many[i] = names[i];
	}
	T_ASSERT_EQ(mig_spec_decode(o, &s, why, sizeof(why)), 0);
	T_ASSERT(mig_spec_add_namespaces(o, &s, many, MIG_MAX_NAMESPACES + 1, why, sizeof(why)) ==
				 -EINVAL &&
			 strstr(why, "Too many"),
		 "%s", why);
	k8s_obj_free(o);
	/* a selector alone: no namespace yet; the plan of none found says so */
	s = spec_of("{\"spec\":{" SRC ",\"namespaceSelector\":{\"matchLabels\":{\"team\":"
		    "\"x\"}}}}");
	T_ASSERT(s.n_namespaces == 0 && !strcmp(s.ns_selector, "team=x"), "%zu", s.n_namespaces);
	{
		struct mig_facts f = {.source = {.classes = src_classes, .n_classes = 3},
				      .target = {.classes = dst_classes, .n_classes = 2}};
		struct mig_plan p;
		char got[256];

		T_ASSERT_EQ(mig_plan_make(&s, &f, &p), 0);
		reasons(&p, got, sizeof(got));
		T_ASSERT(!strcmp(got, "NoNamespaces") && strstr(p.findings[0].message, "team=x"),
			 "%s", got);
		mig_plan_fini(&p);
	}
}

/* mig_round_verdict(): each word, and the figures in its line */
static void check_rounds(void)
{
	static const struct {
		int64_t prev, cur;
		double prev_s, cur_s;
		bool first;
		enum mig_verdict want;
		const char *says;
	} rounds[] = {
		{0, 8 << 20, 0, 2.0, true, MIG_ROUND_FIRST, "the first round wrote 8 MiB"},
		{0, 8 << 20, 0, 61.0, true, MIG_ROUND_TOO_SLOW, "bound of 60 s"},
		{100 << 20, 105 << 20, 3, 3.1, false, MIG_ROUND_CONVERGED, "within 10 %"},
		{100 << 20, 91 << 20, 3, 3.1, false, MIG_ROUND_CONVERGED,
		 "predicted at about 3.1 s"},
		{100 << 20, 111 << 20, 3, 3, false, MIG_ROUND_GROWING, "not converging"},
		{100 << 20, 80 << 20, 3, 3, false, MIG_ROUND_SHRINKING, "shrinking"},
		/* small rounds: within MIG_ROUND_FLOOR of each other is equal */
		{0, 4096, 1, 1, false, MIG_ROUND_CONVERGED, "4 KiB"},
		{512 << 10, 0, 1, 1, false, MIG_ROUND_CONVERGED, "0 B"},
		{1 << 20, (2 << 20) + 1, 1, 1, false, MIG_ROUND_GROWING, "not converging"},
		{100 << 20, 100 << 20, 3, 70, false, MIG_ROUND_TOO_SLOW, "longer than its bound"},
	};

	for (size_t i = 0; i < sizeof(rounds) / sizeof(rounds[0]); i++) {
		struct mig_round p = {rounds[i].prev, rounds[i].prev_s},
				 c = {rounds[i].cur, rounds[i].cur_s};
		char why[512];
		enum mig_verdict v =
			mig_round_verdict(rounds[i].first ? NULL : &p, &c, 60, why, sizeof(why));

		T_ASSERT(v == rounds[i].want, "row %zu: %s, want %s (%s)", i, mig_verdict_name(v),
			 mig_verdict_name(rounds[i].want), why);
		T_ASSERT(strstr(why, rounds[i].says), "row %zu: '%s' does not say '%s'", i, why,
			 rounds[i].says);
	}
	T_ASSERT(mig_staged("Syncing") && mig_staged("Failed") && !mig_staged("Planned") &&
			 !mig_staged(NULL),
		 "the stages' phases");
}

/* mig_live_rate(): the transfer's own rate first, else bytes over time; the time left at it */
static void check_live_rate(void)
{
	static const int64_t S = 1000000000;
	static const struct {
		int64_t done, total;
		double mbps;
		int64_t start, now;
		int64_t bps, eta;
	} rates[] = {
		{16 << 20, 64 << 20, 8.0, 0, 0, 8000000, 6}, /* the agent's 8 MB/s */
		{16 << 20, 64 << 20, 8.0, 1 * S, 3 * S, 8000000,
		 6},						   /* ... preferred to the clock */
		{10000000, 50000000, 0, 1 * S, 3 * S, 5000000, 8}, /* 10 MB in 2 s */
		{0, 50000000, 0, 1 * S, 3 * S, 0, -1},		   /* nothing yet: unknown */
		{10000000, 50000000, 0, 0, 3 * S, 0, -1},	   /* no start: unknown */
		{10000000, 50000000, 0, 3 * S, 3 * S, 0, -1},	   /* no time yet */
		{64 << 20, 64 << 20, 0, 0, 0, 0, 0},		   /* done: no time left */
		{0, 0, 0, 0, 0, 0, -1},				   /* nothing to move, not done */
		{-1, 10, 1.0, 0, 0, 0, -1},			   /* nonsense: unknown */
	};

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		double bps = -1;
		int64_t eta = -2;

		mig_live_rate(rates[i].done, rates[i].total, rates[i].mbps, rates[i].start,
			      rates[i].now, &bps, &eta);
		T_ASSERT((int64_t)bps == rates[i].bps && eta == rates[i].eta,
			 "row %zu: %.0f B/s, eta %lld s; want %lld, %lld", i, bps, (long long)eta,
			 (long long)rates[i].bps, (long long)rates[i].eta);
	}
}

int main(void)
{
	check_rounds();
	check_live_rate();
	check_rows();
	check_messages();
	check_node_labels();
	check_services();
	check_snapshottable();
	check_existing();
	check_customs();
	check_ns_selector();
	check_spec();
	printf("t_migrate_plan: %zu rows ok\n", sizeof(rows) / sizeof(rows[0]));
	return T_EXIT_PASS;
}
