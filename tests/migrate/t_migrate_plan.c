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
		/* the stages' fields */
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"repository\":\"Repo\"}}",
		 "spec.repository"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"repository\":3}}", "spec.repository"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"start\":\"yes\"}}", "spec.start"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"cutover\":1}}", "spec.cutover"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"rollback\":[]}}", "spec.rollback"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"skipVerify\":\"no\"}}",
		 "spec.skipVerify"},
		{"{\"spec\":{" SRC ",\"namespaces\":[\"a\"],\"cutover\":true,\"rollback\":true}}",
		 "both asked for"},
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
		T_ASSERT_EQ(mig_spec_decode(o, &s, why, sizeof(why)), -EINVAL);
		T_ASSERT(strstr(why, bad[i].why), "%zu: '%s' does not say '%s'", i, why,
			 bad[i].why);
		k8s_obj_free(o);
	}
	/* the defaults, and a full spec */
	s = spec_of(SPEC(""));
	T_ASSERT(!strcmp(s.secret, "a") && !strcmp(s.secret_key, "kubeconfig") && !s.context[0] &&
			 s.timeout_s == MIG_DEFAULT_TIMEOUT_S && s.n_namespaces == 1 &&
			 !strcmp(s.target_namespaces[0], "shop") && !s.n_class_map &&
			 !strcmp(s.repository, "default") && !s.start && !s.cutover &&
			 !s.rollback && !s.skip_verify &&
			 s.sync_interval_s == MIG_DEFAULT_INTERVAL_S &&
			 s.cutover_bound_s == MIG_DEFAULT_BOUND_S,
		 "defaults");
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

int main(void)
{
	check_rounds();
	check_rows();
	check_messages();
	check_spec();
	printf("t_migrate_plan: %zu rows ok\n", sizeof(rows) / sizeof(rows[0]));
	return T_EXIT_PASS;
}
