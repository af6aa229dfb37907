// SPDX-License-Identifier: MIT
/*
 * control/operator/cmd_migrate.c - `ferry migrate plan|status`: Migrations
 * (control/migrate/migrate.h) in the target cluster.
 *
 *   plan NAME (--source-kubeconfig FILE | --source-secret SECRET)
 *        --include-namespaces L [--namespace-mappings a:b,..]
 *        [--storage-class-mappings a:b,..] [--source-context C]
 *        [--existing-resource-policy none|update|fail]
 *        [--source-timeout SECONDS] [--wait-timeout SECONDS] [-o json|yaml]
 *        the Migration made (or its spec replaced: a new generation is
 *        planned again) and its plan awaited and printed: what would move,
 *        and every finding; exit 0 when the plan has no error, 1 when
 *        findings block the move or the source cannot be read (the
 *        condition's reason and message), 2 for bad input refused here
 *   status NAME [-o json|yaml]   the plan, the findings and the conditions
 *
 * --source-kubeconfig FILE is checked here as the controller will read it
 * (self-contained: no exec plugin, no file paths) and stored in the Secret
 * `ferry-migrate-NAME` (key kubeconfig) beside the Migration, in the
 * controller's namespace (-n, default ferry-system). The spec is checked by
 * the controller's decoder before anything is sent.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "operator.h"
#include "verbs.h"
#include "control/cli/cli.h"
#include "control/migrate/migrate.h"
#include "k8s/k8s.h"

#define MG_DEFAULT_NS	  "ferry-system"
#define MG_WAIT_DEFAULT_S 120

enum mg_out { MG_OUT_TEXT, MG_OUT_JSON, MG_OUT_YAML };

struct mg_args {
	struct op_cluster k;
	const char *src_kubeconfig, *src_secret, *src_context;
	const char *namespaces, *ns_selector, *ns_map, *class_map, *node_map, *existing;
	unsigned long src_timeout, wait_s;
	const char *repository;
	/* spec.copy: the source's repository, copied from into this cluster's */
	const char *copy_from, *copy_pw, *copy_keys, *copy_ep, *copy_region;
	uint64_t copy_bw;
	unsigned long interval_s, bound_s;
	bool skip_verify;
	enum mg_out out;
	bool help, wait;
};

static void mg_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry migrate plan NAME (--source-kubeconfig FILE | --source-secret SECRET)\n"
		"                          (--include-namespaces NS[,NS] | --namespace-selector SEL)\n"
		"                          [--namespace-mappings A:B,..]\n"
		"                          [--storage-class-mappings A:B,..] [--node-label-mappings A:B,..]\n"
		"                          [--existing-resource-policy none|update|fail]\n"
		"                          [--source-context NAME]\n"
		"                          [--source-timeout SECONDS] [--wait-timeout SECONDS]\n"
		"                          [-o json|yaml]\n"
		"       ferry migrate status NAME [-o json|yaml]\n"
		"       ferry migrate start NAME [--repository R] [--sync-interval SECONDS]\n"
		"                          [--cutover-bound SECONDS] [--skip-verify]\n"
		"                          [--copy-from URL [--copy-password-secret S]\n"
		"                          [--copy-credentials-secret S] [--copy-endpoint URL]\n"
		"                          [--copy-region R] [--copy-bandwidth SIZE]]\n"
		"       ferry migrate cutover NAME [--wait [--wait-timeout SECONDS]]\n"
		"       ferry migrate rollback NAME\n"
		"       ferry migrate report NAME [-o json|yaml]\n\n"
		"A Migration moves an application from a source cluster into this one; the first\n"
		"stage is its plan: what would move (volumes, sizes, target classes, the nodes that\n"
		"use them) and every problem found before any data moves. `ferry controller` of\n"
		"this cluster makes it. Exit: 0 a plan without errors, 1 findings that block the\n"
		"move or a source that cannot be read, 2 bad input.\n\n"
		"start seeds (a Backup in the source, restored here with the workloads at zero) and\n"
		"syncs (each round's changed blocks written onto the volumes here); cutover, once a\n"
		"round converged, stops the source, writes the last change, starts the workloads\n"
		"here (--wait: until they are ready; exit 0 Completed, 1 otherwise); rollback puts\n"
		"the source back until the workloads here start; report prints the rounds and the\n"
		"cutover's parts.\n\n"
		"  --repository R             the Repository both clusters share (default: default)\n"
		"  --copy-from URL            two repositories, one per cloud: the source's Repository R\n"
		"                             is this other one (s3:// or file://); each snapshot and\n"
		"                             the seed's record are copied from it into this cluster's\n"
		"                             R by the agents here, a volume's write after its copy\n"
		"  --copy-password-secret S   its password: the Secret S here (key password)\n"
		"  --copy-credentials-secret S  its S3 keys: the Secret S here (AWS_ACCESS_KEY_ID,\n"
		"                             AWS_SECRET_ACCESS_KEY); --copy-endpoint, --copy-region\n"
		"  --copy-bandwidth SIZE      each copy's cap a second each way (\"50M\"; s3://)\n"
		"  --sync-interval SECONDS    between sync rounds (default 30)\n"
		"  --cutover-bound SECONDS    the longest cutover a converged round may predict (60)\n"
		"  --skip-verify              after the cutover, do not compare the target's volumes\n"
		"                             with the final snapshots (a snapshot of each is cut\n"
		"                             before the target starts, then read in full)\n"
		"  --wait                     cutover: wait until Completed, Failed or RolledBack\n"
		"  --source-kubeconfig FILE   the source's kubeconfig, self-contained (a token or a\n"
		"                             client certificate inline; no exec plugin), stored in\n"
		"                             the Secret ferry-migrate-NAME beside the Migration\n"
		"  --source-secret SECRET     ... or a Secret there already (key kubeconfig)\n"
		"  --source-context NAME      the kubeconfig's context (default: its current one)\n"
		"  --source-timeout SECONDS   each request to the source (default 10, 1-300)\n"
		"  --include-namespaces L     the application's namespaces on the source\n"
		"  --namespace-selector SEL   ... and/or those with these labels (\"team=shop\",\n"
		"                             \"tier in (web,db)\"), found once, at plan time\n"
		"  --namespace-mappings L     SOURCE:TARGET namespace pairs\n"
		"  --storage-class-mappings L SOURCE:TARGET storage class pairs\n"
		"  --node-label-mappings L    SOURCE:TARGET node labels rewritten in the pod specs\n"
		"                             (key=value:key=value, or key:key keeping values;\n"
		"                             an empty TARGET drops it)\n"
		"  --existing-resource-policy P  an object the target has already: none (default)\n"
		"                             leaves it, update makes it the source's, fail refuses\n"
		"                             the move at plan time\n"
		"  --wait-timeout SECONDS     how long plan waits for the plan (default 120)\n"
		"  -o json|yaml               print the Migration instead of the table\n"
		"  -n, --namespace NS         the controller's namespace (default ferry-system)\n"
		"  --kubeconfig FILE, --context NAME   this (the target) cluster\n"
		"  -h, --help                 this text\n");
}

static int mg_parse(int argc, char **argv, struct mg_args *a)
{
	enum {
		O_SKC = OP_OPT_VERB_BASE,
		O_SSEC,
		O_SCTX,
		O_STO,
		O_INC,
		O_NSMAP,
		O_SCMAP,
		O_NLMAP,
		O_WAIT,
		O_REPO,
		O_IVL,
		O_BOUND,
		O_WAITF,
		O_NOVERIFY,
		O_EXISTING,
		O_NSSEL,
		O_CFROM,
		O_CPW,
		O_CKEYS,
		O_CEP,
		O_CREGION,
		O_CBW
	};
	static const struct option opts[] = {
		OP_CLUSTER_LONGOPTS,
		{"source-kubeconfig", required_argument, NULL, O_SKC},
		{"source-secret", required_argument, NULL, O_SSEC},
		{"source-context", required_argument, NULL, O_SCTX},
		{"source-timeout", required_argument, NULL, O_STO},
		{"include-namespaces", required_argument, NULL, O_INC},
		{"namespace-selector", required_argument, NULL, O_NSSEL},
		{"namespace-mappings", required_argument, NULL, O_NSMAP},
		{"storage-class-mappings", required_argument, NULL, O_SCMAP},
		{"node-label-mappings", required_argument, NULL, O_NLMAP},
		{"wait-timeout", required_argument, NULL, O_WAIT},
		{"repository", required_argument, NULL, O_REPO},
		{"sync-interval", required_argument, NULL, O_IVL},
		{"cutover-bound", required_argument, NULL, O_BOUND},
		{"wait", no_argument, NULL, O_WAITF},
		{"skip-verify", no_argument, NULL, O_NOVERIFY},
		{"existing-resource-policy", required_argument, NULL, O_EXISTING},
		{"copy-from", required_argument, NULL, O_CFROM},
		{"copy-password-secret", required_argument, NULL, O_CPW},
		{"copy-credentials-secret", required_argument, NULL, O_CKEYS},
		{"copy-endpoint", required_argument, NULL, O_CEP},
		{"copy-region", required_argument, NULL, O_CREGION},
		{"copy-bandwidth", required_argument, NULL, O_CBW},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int opt;

	optind = 1;
	a->wait_s = MG_WAIT_DEFAULT_S;
	while ((opt = getopt_long(argc, argv, "hn:o:", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			a->help = true;
			return 0;
		case O_SKC:
			a->src_kubeconfig = optarg;
			break;
		case O_SSEC:
			a->src_secret = optarg;
			break;
		case O_SCTX:
			a->src_context = optarg;
			break;
		case O_STO:
		case O_WAIT:
			if (ctl_parse_ulong(optarg, 1, opt == O_STO ? 300 : 86400,
					    opt == O_STO ? &a->src_timeout : &a->wait_s, NULL))
				return ctl_usage_error(
					"migrate", "%s '%s': a whole number of seconds%s",
					opt == O_STO ? "--source-timeout" : "--wait-timeout",
					optarg, opt == O_STO ? " from 1 to 300" : "");
			break;
		case O_IVL:
		case O_BOUND:
			if (ctl_parse_ulong(optarg, 1, 3600,
					    opt == O_IVL ? &a->interval_s : &a->bound_s, NULL))
				return ctl_usage_error(
					"migrate",
					"%s '%s': a whole number of seconds from 1 to 3600",
					opt == O_IVL ? "--sync-interval" : "--cutover-bound",
					optarg);
			break;
		case O_REPO:
			a->repository = optarg;
			break;
		case O_WAITF:
			a->wait = true;
			break;
		case O_NOVERIFY:
			a->skip_verify = true;
			break;
		case O_EXISTING:
			a->existing = optarg;
			break;
		case O_CFROM:
			a->copy_from = optarg;
			break;
		case O_CPW:
			a->copy_pw = optarg;
			break;
		case O_CKEYS:
			a->copy_keys = optarg;
			break;
		case O_CEP:
			a->copy_ep = optarg;
			break;
		case O_CREGION:
			a->copy_region = optarg;
			break;
		case O_CBW: {
			struct ctl_err e = {0};

			if (ctl_parse_size(optarg, &a->copy_bw, &e))
				return ctl_usage_error("migrate", "--copy-bandwidth: %s", e.msg);
			break;
		}
		case O_INC:
			a->namespaces = optarg;
			break;
		case O_NSSEL:
			a->ns_selector = optarg;
			break;
		case O_NSMAP:
			a->ns_map = optarg;
			break;
		case O_SCMAP:
			a->class_map = optarg;
			break;
		case O_NLMAP:
			a->node_map = optarg;
			break;
		case 'o':
			if (!strcmp(optarg, "json"))
				a->out = MG_OUT_JSON;
			else if (!strcmp(optarg, "yaml"))
				a->out = MG_OUT_YAML;
			else
				return ctl_usage_error("migrate", "-o %s: json or yaml", optarg);
			break;
		default:
			if (op_cluster_opt(&a->k, opt, optarg))
				return ctl_usage_error("migrate", "unknown option");
			break;
		}
	}
	return 0;
}

/* "a:b,c:d" into the object at @path ({"a": "b", "c": "d"}) */
/* SOURCE:TARGET pairs at @path; @drop: an empty TARGET is taken (it drops SOURCE) */
static int pairs(struct k8s_obj *m, const char *path, const char *flag, const char *list, bool drop)
{
	char *dup = strdup(list), *save = NULL;
	int ret = dup ? 0 : -ENOMEM;

	if (!ret)
		ret = k8s_obj_set_empty(m, path, K8S_T_OBJECT);
	for (char *p = dup ? strtok_r(dup, ",", &save) : NULL; p && !ret;
	     p = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(p, ':');
		char key[600];

		if (!colon || colon == p || (!colon[1] && !drop)) {
			ret = ctl_usage_error("migrate", "%s '%s': SOURCE:TARGET pairs", flag, p);
			break;
		}
		*colon = '\0';
		ret = k8s_ptr_join(key, sizeof(key), path, p);
		if (ret) {
			ret = ctl_usage_error("migrate", "%s '%.80s': too long", flag, p);
			break;
		}
		ret = k8s_obj_set_str(m, key, colon + 1);
	}
	free(dup);
	return ret;
}

/* --namespace-selector SEL into spec.namespaceSelector (a LabelSelector); 0, or an exit code */
static int ns_selector(struct k8s_obj *m, const char *s)
{
	struct ctl_selector sel;
	struct k8s_obj *obj = NULL;
	struct ctl_err e;
	int ret;

	ret = ctl_selector_parse(s, &sel, &e);
	if (ret == -ENOMEM)
		return ctl_fail(ret, NULL, "migrate plan");
	if (ret)
		return ctl_usage_error("migrate", "--namespace-selector: %s", e.msg);
	ret = op_selector_obj(&sel, &obj);
	ctl_selector_fini(&sel);
	if (!ret)
		ret = k8s_obj_set(m, "/spec/namespaceSelector", obj);
	if (ret) {
		k8s_obj_free(obj);
		return ctl_fail(ret, NULL, "migrate plan");
	}
	return 0;
}

/* the Migration the flags say, checked by the controller's decoder */
static int mg_object(const struct mg_args *a, const char *name, const char *secret,
		     struct k8s_obj **out)
{
	struct k8s_obj *m = NULL;
	struct mig_spec *spec = NULL;
	char why[256];
	int ret;

	ret = k8s_obj_new_kind(&mig_migrations, a->k.ns, name, &m);
	if (!ret)
		ret = k8s_obj_set_str(m, "/spec/source/kubeconfigSecretRef/name", secret);
	if (!ret)
		ret = k8s_obj_set_str(m, "/spec/source/kubeconfigSecretRef/key", "kubeconfig");
	if (!ret && a->src_context)
		ret = k8s_obj_set_str(m, "/spec/source/context", a->src_context);
	if (!ret && a->src_timeout)
		ret = k8s_obj_set_int(m, "/spec/source/timeoutSeconds", (int64_t)a->src_timeout);
	if (!ret && a->namespaces)
		ret = k8s_obj_set_empty(m, "/spec/namespaces", K8S_T_ARRAY);
	if (!ret && a->namespaces) {
		char *dup = strdup(a->namespaces), *save = NULL;

		ret = dup ? 0 : -ENOMEM;
		for (char *p = dup ? strtok_r(dup, ",", &save) : NULL; p && !ret;
		     p = strtok_r(NULL, ",", &save))
			ret = k8s_obj_set_str(m, "/spec/namespaces/-", p);
		free(dup);
	}
	if (!ret && a->ns_selector)
		ret = ns_selector(m, a->ns_selector);
	if (!ret && a->ns_map)
		ret = pairs(m, "/spec/namespaceMapping", "--namespace-mappings", a->ns_map, false);
	if (!ret && a->class_map)
		ret = pairs(m, "/spec/storageClassMapping", "--storage-class-mappings",
			    a->class_map, false);
	if (!ret && a->node_map)
		ret = pairs(m, "/spec/nodeLabelMapping", "--node-label-mappings", a->node_map,
			    true);
	if (!ret && a->existing)
		ret = k8s_obj_set_str(m, "/spec/existingResourcePolicy", a->existing);
	if (ret) {
		k8s_obj_free(m);
		return ret == -ENOMEM ? ctl_fail(ret, NULL, "migrate plan") : ret;
	}
	spec = malloc(sizeof(*spec));
	if (!spec) {
		k8s_obj_free(m);
		return ctl_fail(-ENOMEM, NULL, "migrate plan");
	}
	ret = mig_spec_decode(m, spec, why, sizeof(why));
	free(spec);
	if (ret) {
		k8s_obj_free(m);
		return ctl_usage_error("migrate", "%s", why);
	}
	*out = m;
	return 0;
}

/* the source's kubeconfig, checked as the controller reads it, into the Secret */
static int mg_secret(const struct mg_args *a, struct k8s_client *c, const char *secret)
{
	struct k8s_obj *s = NULL, *old = NULL;
	struct k8s_config *cfg = NULL;
	struct k8s_err err;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(a->src_kubeconfig, "re");
	int ret;

	if (!f)
		return ctl_fail(-errno, NULL, "--source-kubeconfig %s", a->src_kubeconfig);
	buf = malloc(16u << 20);
	len = buf ? fread(buf, 1, (16u << 20) - 1, f) : 0;
	fclose(f);
	if (!buf)
		return ctl_fail(-ENOMEM, NULL, "migrate plan");
	{
		struct k8s_config_opts o = {.sz = sizeof(o),
					    .data = buf,
					    .data_len = len,
					    .data_name = a->src_kubeconfig,
					    .context = a->src_context};

		ret = k8s_config_load(&o, &cfg, &err);
		k8s_config_free(cfg);
		if (ret) {
			k8s_secret_free(buf, len);
			return ctl_usage_error("migrate", "%s", err.msg);
		}
	}
	ret = k8s_obj_new_kind(&k8s_secrets, a->k.ns, secret, &s);
	if (!ret)
		ret = k8s_obj_set_label(s, "app.kubernetes.io/part-of", "ferry");
	if (!ret)
		ret = k8s_secret_set(s, "kubeconfig", buf, len);
	k8s_secret_free(buf, len);
	if (ret) {
		k8s_obj_free(s);
		return ctl_fail(ret, NULL, "migrate plan");
	}
	ret = k8s_create(c, &k8s_secrets, a->k.ns, s, NULL, NULL, &err);
	if (ret == -EEXIST) {
		ret = k8s_get(c, &k8s_secrets, a->k.ns, secret, NULL, &old, &err);
		if (!ret)
			ret = k8s_obj_set_str(s, "/metadata/resourceVersion",
					      k8s_obj_str(old, "/metadata/resourceVersion"));
		if (!ret)
			ret = k8s_update(c, &k8s_secrets, a->k.ns, s, NULL, NULL, &err);
	}
	k8s_obj_free(old);
	k8s_obj_free(s);
	if (ret)
		return ctl_fail(ret, err.msg, "migrate plan: Secret %s/%s", a->k.ns, secret);
	return 0;
}

static const struct k8s_obj *cond_of(const struct k8s_obj *m, const char *type)
{
	for (const struct k8s_obj *c = k8s_obj_first(k8s_obj_at(m, "/status/conditions")); c;
	     c = k8s_obj_next(c)) {
		const char *t = k8s_obj_str(c, "/type");

		if (t && !strcmp(t, type))
			return c;
	}
	return NULL;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

/* a duration in seconds as 45s, 12m05s, 3h02m ("-": unknown) */
static void mg_secs(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600, s / 60 % 60);
}

/*
 * The live table (status.progress): a row per volume of the Backup in flight,
 * its rate and time left as the controller last wrote them; LAG is the age of
 * the recovery point, which every application of the migration shares; NODE
 * the node whose agent moves it.
 */
static void mg_live(const struct k8s_obj *m)
{
	const struct k8s_obj *pr = k8s_obj_at(m, "/status/progress");
	const char *rp = k8s_obj_str(m, "/status/recoveryPointTime");
	int64_t lag = -1, at = 0;
	char upd[32], lags[32];

	if (!k8s_obj_len(pr, "/volumes"))
		return;
	if (rp && !k8s_time_parse(rp, &at))
		lag = (k8s_now_ns() - at) / 1000000000;
	mg_secs(lag, lags, sizeof(lags));
	op_age(k8s_obj_str(pr, "/updateTime"), "-", false, upd, sizeof(upd));
	printf("\nIn flight: Backup %s (a row moved %s ago)\n", or_dash(k8s_obj_str(pr, "/backup")),
	       upd);
	printf("%-20s %-24s %-6s %-10s %10s %10s %8s %8s %8s  %s\n", "NAMESPACE", "CLAIM", "STAGE",
	       "STATE", "DONE", "TOTAL", "MB/S", "ETA", "LAG", "NODE");
	for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(pr, "/volumes")); v;
	     v = k8s_obj_next(v)) {
		int64_t done = 0, total = 0, bps = -1, eta = -1;
		char d[32], t[32], r[32], e[32];

		k8s_obj_int(v, "/bytesDone", &done);
		k8s_obj_int(v, "/bytesTotal", &total);
		k8s_obj_int(v, "/bytesPerSecond", &bps);
		k8s_obj_int(v, "/etaSeconds", &eta);
		mig_human_bytes(done, d, sizeof(d));
		mig_human_bytes(total, t, sizeof(t));
		if (bps >= 0)
			snprintf(r, sizeof(r), "%.1f", (double)bps / 1e6);
		else
			snprintf(r, sizeof(r), "-");
		mg_secs(eta, e, sizeof(e));
		printf("%-20s %-24s %-6s %-10s %10s %10s %8s %8s %8s  %s\n",
		       or_dash(k8s_obj_str(v, "/namespace")), or_dash(k8s_obj_str(v, "/pvc")),
		       or_dash(k8s_obj_str(v, "/stage")), or_dash(k8s_obj_str(v, "/state")), d, t,
		       r, e, lags, or_dash(k8s_obj_str(v, "/node")));
	}
}

/* the plan as a table: volumes, then findings, then the condition */
static void mg_print(const struct k8s_obj *m)
{
	const struct k8s_obj *plan = k8s_obj_at(m, "/status/plan"), *c = cond_of(m, "Planned");
	int64_t bytes = 0, errors = 0, warnings = 0;
	char size[32];

	printf("Migration %s/%s: %s\n", or_dash(k8s_obj_get_ns(m)), k8s_obj_get_name(m),
	       or_dash(k8s_obj_str(m, "/status/phase")));
	if (plan) {
		printf("Source: %s (Kubernetes %s); target Kubernetes %s\n\n",
		       or_dash(k8s_obj_str(plan, "/sourceServer")),
		       or_dash(k8s_obj_str(plan, "/sourceVersion")),
		       or_dash(k8s_obj_str(plan, "/targetVersion")));
		if (k8s_obj_len(plan, "/namespaces")) {
			const char *sep = "";

			printf("Namespaces:");
			for (const struct k8s_obj *n =
				     k8s_obj_first(k8s_obj_at(plan, "/namespaces"));
			     n; n = k8s_obj_next(n), sep = ",") {
				const char *from = or_dash(k8s_obj_str(n, "/name"));
				const char *to = or_dash(k8s_obj_str(n, "/targetNamespace"));

				printf("%s %s%s%s", sep, from, strcmp(from, to) ? "->" : "",
				       strcmp(from, to) ? to : "");
			}
			printf("\n\n");
		}
		printf("%-24s %-24s %10s  %-28s %-16s %s\n", "NAMESPACE", "CLAIM", "SIZE",
		       "CLASS -> TARGET CLASS", "NODE", "ZONE");
		for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(plan, "/volumes")); v;
		     v = k8s_obj_next(v)) {
			char ns[140], cls[140];
			int64_t b = 0;

			k8s_obj_int(v, "/bytes", &b);
			mig_human_bytes(b, size, sizeof(size));
			snprintf(ns, sizeof(ns), "%s%s%s", or_dash(k8s_obj_str(v, "/namespace")),
				 strcmp(or_dash(k8s_obj_str(v, "/namespace")),
					or_dash(k8s_obj_str(v, "/targetNamespace")))
					 ? "->"
					 : "",
				 strcmp(or_dash(k8s_obj_str(v, "/namespace")),
					or_dash(k8s_obj_str(v, "/targetNamespace")))
					 ? or_dash(k8s_obj_str(v, "/targetNamespace"))
					 : "");
			snprintf(cls, sizeof(cls), "%s -> %s",
				 or_dash(k8s_obj_str(v, "/storageClass")),
				 or_dash(k8s_obj_str(v, "/targetStorageClass")));
			printf("%-24s %-24s %10s  %-28s %-16s %s\n", ns,
			       or_dash(k8s_obj_str(v, "/claim")), size, cls,
			       or_dash(k8s_obj_str(v, "/node")), or_dash(k8s_obj_str(v, "/zone")));
		}
		k8s_obj_int(plan, "/bytes", &bytes);
		k8s_obj_int(plan, "/errors", &errors);
		k8s_obj_int(plan, "/warnings", &warnings);
		mig_human_bytes(bytes, size, sizeof(size));
		printf("\n%zu volume(s), %s; %" PRId64 " error(s), %" PRId64 " warning(s)\n",
		       k8s_obj_len(plan, "/volumes"), size, errors, warnings);
		for (const struct k8s_obj *f = k8s_obj_first(k8s_obj_at(plan, "/findings")); f;
		     f = k8s_obj_next(f))
			printf("  %-7s %s: %s: %s\n", or_dash(k8s_obj_str(f, "/severity")),
			       or_dash(k8s_obj_str(f, "/object")),
			       or_dash(k8s_obj_str(f, "/reason")),
			       or_dash(k8s_obj_str(f, "/message")));
	}
	if (c)
		printf("\nPlanned: %s %s: %s\n", or_dash(k8s_obj_str(c, "/status")),
		       or_dash(k8s_obj_str(c, "/reason")), or_dash(k8s_obj_str(c, "/message")));
	if (mig_staged(k8s_obj_str(m, "/status/phase")))
		printf("\n%s: %s\n", k8s_obj_str(m, "/status/phase"),
		       or_dash(k8s_obj_str(m, "/status/message")));
	if (k8s_obj_str(m, "/status/recoveryPointTime")) {
		char age[32];

		op_age(k8s_obj_str(m, "/status/recoveryPointTime"), "-", false, age, sizeof(age));
		printf("Recovery point: %s (%s ago): the volumes here hold the source as of then "
		       "or later\n",
		       k8s_obj_str(m, "/status/recoveryPointTime"), age);
	}
	mg_live(m);
}

/* the verification's word on claim @ns/@pvc here ("-": none) */
static const char *mg_verified(const struct k8s_obj *m, const char *ns, const char *pvc)
{
	for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(m, "/status/verify/volumes")); v;
	     v = k8s_obj_next(v))
		if (ns && pvc && k8s_obj_str(v, "/namespace") && k8s_obj_str(v, "/pvc") &&
		    !strcmp(k8s_obj_str(v, "/namespace"), ns) &&
		    !strcmp(k8s_obj_str(v, "/pvc"), pvc))
			return or_dash(k8s_obj_str(v, "/result"));
	return "-";
}

/* each volume: the bytes the seed, the sync rounds and the final delta wrote onto it here */
static void mg_report_volumes(const struct k8s_obj *m)
{
	if (!k8s_obj_len(m, "/status/volumes"))
		return;
	printf("\n%-44s %10s %10s %10s  %s\n", "VOLUME (HERE)", "SEED", "SYNCS", "FINAL",
	       "VERIFIED");
	for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(m, "/status/volumes")); v;
	     v = k8s_obj_next(v)) {
		const char *ns = k8s_obj_str(v, "/targetNamespace"), *pvc = k8s_obj_str(v, "/pvc");
		char name[160], b[3][32];
		static const char *const f[] = {"/seedBytes", "/syncBytes", "/finalBytes"};

		for (size_t i = 0; i < 3; i++) {
			int64_t n = 0;

			if (k8s_obj_int(v, f[i], &n))
				snprintf(b[i], sizeof(b[i]), "-");
			else
				mig_human_bytes(n, b[i], sizeof(b[i]));
		}
		snprintf(name, sizeof(name), "%s/%s", or_dash(ns), or_dash(pvc));
		printf("%-44s %10s %10s %10s  %s\n", name, b[0], b[1], b[2],
		       mg_verified(m, ns, pvc));
	}
}

/* the stages: the seed, each sync round, the cutover's instants and parts */
static void mg_report(const struct k8s_obj *m)
{
	const struct k8s_obj *cut = k8s_obj_at(m, "/status/cutover");
	static const char *const parts[][2] = {
		{"quiesceSeconds", "quiesce (fence to the source's last pod gone)"},
		{"backupSeconds", "final snapshot, read and upload"},
		{"snapshotSeconds", "  of it: snapshots, copies, claims, holders"},
		{"readUploadSeconds", "  of it: the longest volume's read and upload"},
		{"applySeconds", "final delta downloaded and written"},
		{"verifySnapshotSeconds", "volumes here snapshotted for their verification"},
		{"startSeconds", "workloads scaled up until a pod runs"},
		{"readySeconds", "a pod running until every replica is ready"},
		{"windowSeconds", "window (source stopped to target ready)"},
	};
	char size[32];

	printf("Migration %s/%s: %s\n%s\n", or_dash(k8s_obj_get_ns(m)), k8s_obj_get_name(m),
	       or_dash(k8s_obj_str(m, "/status/phase")),
	       or_dash(k8s_obj_str(m, "/status/message")));
	printf("\nSeed: Backup %s (source), Restore %s; done %s\n",
	       or_dash(k8s_obj_str(m, "/status/seed/backup")),
	       or_dash(k8s_obj_str(m, "/status/seed/restore")),
	       or_dash(k8s_obj_str(m, "/status/seed/completionTime")));
	printf("\n%-6s %-28s %10s %9s %10s  %s\n", "ROUND", "BACKUP", "WRITTEN", "SECONDS",
	       "READ MS", "VERDICT");
	for (const struct k8s_obj *r = k8s_obj_first(k8s_obj_at(m, "/status/rounds")); r;
	     r = k8s_obj_next(r)) {
		int64_t n = 0, b = 0, ms = 0;
		double sec = 0;

		k8s_obj_int(r, "/round", &n);
		k8s_obj_int(r, "/bytesWritten", &b);
		k8s_obj_int(r, "/readMilliseconds", &ms);
		k8s_obj_num(r, "/seconds", &sec);
		mig_human_bytes(b, size, sizeof(size));
		printf("%-6" PRId64 " %-28s %10s %9.1f %10" PRId64 "  %s\n", n,
		       or_dash(k8s_obj_str(r, "/backup")), size, sec, ms,
		       or_dash(k8s_obj_str(r, "/verdict")));
	}
	mg_report_volumes(m);
	if (!cut)
		return;
	printf("\nCutover: started %s, source stopped %s, ready %s\n",
	       or_dash(k8s_obj_str(cut, "/startTime")),
	       or_dash(k8s_obj_str(cut, "/sourceStoppedTime")),
	       or_dash(k8s_obj_str(cut, "/readyTime")));
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		char path[64];
		double v = 0;

		snprintf(path, sizeof(path), "/%s", parts[i][0]);
		if (!k8s_obj_num(cut, path, &v))
			printf("  %-48s %8.3f s\n", parts[i][1], v);
	}
	if (!k8s_obj_at(m, "/status/verify"))
		return;
	printf("\nVerification (each volume here read whole, compared with the final snapshot): "
	       "%s\n",
	       or_dash(k8s_obj_str(m, "/status/verify/result")));
	for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(m, "/status/verify/volumes")); v;
	     v = k8s_obj_next(v)) {
		int64_t n = 0, at = 0;

		k8s_obj_int(v, "/mismatches", &n);
		k8s_obj_int(v, "/firstMismatch", &at);
		printf("  %s/%s: %s", or_dash(k8s_obj_str(v, "/namespace")),
		       or_dash(k8s_obj_str(v, "/pvc")), or_dash(k8s_obj_str(v, "/result")));
		if (n)
			printf(" (%" PRId64 " chunk(s), the first at byte %" PRId64 ")", n, at);
		else if (k8s_obj_str(v, "/message"))
			printf(" (%s)", k8s_obj_str(v, "/message"));
		printf("\n");
	}
}

static int mg_emit(const struct mg_args *a, const struct k8s_obj *m)
{
	char *s;

	if (a->out == MG_OUT_TEXT) {
		mg_print(m);
		return 0;
	}
	s = a->out == MG_OUT_JSON ? k8s_obj_json(m) : k8s_obj_yaml(m);
	if (!s)
		return ctl_fail(-ENOMEM, NULL, "migrate");
	fputs(s, stdout);
	if (a->out == MG_OUT_JSON)
		fputc('\n', stdout);
	free(s);
	return 0;
}

/* 0: a plan without errors; -EPROTO (exit 1) with the condition's reason, else */
static int mg_outcome(const struct k8s_obj *m)
{
	const char *phase = k8s_obj_str(m, "/status/phase");
	const struct k8s_obj *c = cond_of(m, "Planned");

	if (phase && !strcmp(phase, "Planned"))
		return 0;
	if (!c) /* the plan without its condition yet: its phase and message say as much */
		return ctl_fail(-EPROTO, or_dash(k8s_obj_str(m, "/status/message")),
				"migration %s: %s", k8s_obj_get_name(m), or_dash(phase));
	return ctl_fail(-EPROTO, or_dash(k8s_obj_str(c, "/message")), "migration %s: %s",
			k8s_obj_get_name(m), or_dash(k8s_obj_str(c, "/reason")));
}

/*
 * Until the plan of @gen and its condition are written (the controller
 * writes the plan, then its runtime the condition: a plan whose condition
 * is still missing after MG_COND_WAIT_MS is taken as it is), or the
 * condition says False for @gen (the source cannot be read: retried by the
 * controller, reported here).
 */
#define MG_COND_WAIT_MS 5000

static int mg_wait(const struct mg_args *a, struct k8s_client *c, const char *name, int64_t gen,
		   struct k8s_obj **out)
{
	int64_t end = k8s_now_ns() + (int64_t)a->wait_s * 1000000000, planned_at = 0;
	struct k8s_err err;
	int ret;

	for (;;) {
		struct k8s_obj *m = NULL;
		const struct k8s_obj *cond;
		int64_t seen = -1, cg = -1;

		ret = k8s_get(c, &mig_migrations, a->k.ns, name, NULL, &m, &err);
		if (ret)
			return ctl_fail(ret, err.msg, "migrate plan %s", name);
		k8s_obj_int(m, "/status/observedGeneration", &seen);
		cond = cond_of(m, "Planned");
		k8s_obj_int(cond, "/observedGeneration", &cg);
		if (seen == gen && k8s_obj_str(m, "/status/phase")) {
			if (!planned_at)
				planned_at = k8s_now_ns();
			if ((cond && cg == gen) ||
			    k8s_now_ns() - planned_at > (int64_t)MG_COND_WAIT_MS * 1000000) {
				*out = m;
				return 0;
			}
		} else if (cond && cg == gen &&
			   !strcmp(or_dash(k8s_obj_str(cond, "/status")), "False")) {
			*out = m;
			return 0;
		}
		k8s_obj_free(m);
		if (k8s_now_ns() > end)
			return ctl_fail(
				-ETIMEDOUT, NULL,
				"migrate plan %s: no plan within %lu s (is `ferry controller` running in %s?)",
				name, a->wait_s, a->k.ns);
		usleep(300 * 1000);
	}
}

static int mg_plan(struct mg_args *a, const char *name)
{
	struct k8s_client *c = NULL;
	struct k8s_obj *m = NULL, *got = NULL, *done = NULL;
	struct k8s_err err;
	char secret[MIG_NAME_MAX + 1];
	int64_t gen = 0;
	int ret;

	if (!!a->src_kubeconfig == !!a->src_secret)
		return ctl_usage_error(
			"migrate",
			"plan needs one of --source-kubeconfig FILE and --source-secret SECRET");
	if (!a->namespaces && !a->ns_selector)
		return ctl_usage_error(
			"migrate",
			"plan needs --include-namespaces NS[,NS] or --namespace-selector SEL");
	if (strlen(name) > 63)
		return ctl_usage_error("migrate", "NAME '%s': at most 63 characters", name);
	snprintf(secret, sizeof(secret), "%s%s", a->src_secret ? "" : "ferry-migrate-",
		 a->src_secret ? a->src_secret : name);
	ret = mg_object(a, name, secret, &m);
	if (ret)
		return ret;
	ret = op_cluster_client(&a->k, "migrate", NULL, &c, NULL);
	if (!ret && a->src_kubeconfig)
		ret = mg_secret(a, c, secret);
	if (ret)
		goto out;
	/* made, or its spec replaced (a new generation: planned again) */
	ret = k8s_create(c, &mig_migrations, a->k.ns, m, NULL, &got, &err);
	if (ret == -EEXIST) {
		struct k8s_obj *patch = NULL;

		ret = k8s_obj_new(&patch);
		if (!ret)
			ret = k8s_obj_set_copy(patch, "/spec", k8s_obj_at(m, "/spec"));
		if (!ret)
			ret = k8s_patch(c, &mig_migrations, a->k.ns, name, K8S_PATCH_MERGE, patch,
					NULL, &got, &err);
		k8s_obj_free(patch);
	}
	if (ret) {
		ret = ctl_fail(ret, err.msg, "migrate plan %s", name);
		goto out;
	}
	k8s_obj_int(got, "/metadata/generation", &gen);
	ret = mg_wait(a, c, name, gen, &done);
	if (!ret)
		ret = mg_emit(a, done);
	if (!ret)
		ret = mg_outcome(done);
out:
	k8s_obj_free(done);
	k8s_obj_free(got);
	k8s_obj_free(m);
	k8s_client_free(c);
	return ret;
}

/* spec.copy of the --copy-* options into the patch @p */
static int mg_copy(const struct mg_args *a, struct k8s_obj *p)
{
	int ret = k8s_obj_set_str(p, "/spec/copy/from/url", a->copy_from);

	if (!ret && a->copy_pw)
		ret = k8s_obj_set_str(p, "/spec/copy/from/passwordSecretRef/name", a->copy_pw);
	if (!ret && a->copy_keys)
		ret = k8s_obj_set_str(p, "/spec/copy/from/credentialsSecretRef/name", a->copy_keys);
	if (!ret && a->copy_ep)
		ret = k8s_obj_set_str(p, "/spec/copy/from/endpoint", a->copy_ep);
	if (!ret && a->copy_region)
		ret = k8s_obj_set_str(p, "/spec/copy/from/region", a->copy_region);
	if (!ret && a->copy_bw)
		ret = k8s_obj_set_int(p, "/spec/copy/bandwidth", (int64_t)a->copy_bw);
	return ret;
}

/* the spec's stage fields merged in: start, cutover or rollback */
static int mg_stage(struct mg_args *a, const char *verb, const char *name)
{
	struct k8s_client *c = NULL;
	struct k8s_obj *p = NULL, *m = NULL;
	int64_t end = k8s_now_ns() + (int64_t)a->wait_s * 1000000000;
	struct k8s_err err;
	int ret = op_cluster_client(&a->k, "migrate", NULL, &c, NULL);

	if (!ret)
		ret = k8s_obj_new(&p);
	if (!ret && !strcmp(verb, "start")) {
		ret = k8s_obj_set_bool(p, "/spec/start", true);
		if (!ret && a->repository)
			ret = k8s_obj_set_str(p, "/spec/repository", a->repository);
		if (!ret && a->interval_s)
			ret = k8s_obj_set_int(p, "/spec/syncIntervalSeconds",
					      (int64_t)a->interval_s);
		if (!ret && a->bound_s)
			ret = k8s_obj_set_int(p, "/spec/cutoverBoundSeconds", (int64_t)a->bound_s);
		if (!ret && a->skip_verify)
			ret = k8s_obj_set_bool(p, "/spec/skipVerify", true);
		if (!ret && a->copy_from)
			ret = mg_copy(a, p);
	} else if (!ret && !strcmp(verb, "cutover")) {
		ret = k8s_obj_set_bool(p, "/spec/cutover", true);
	} else if (!ret) {
		ret = k8s_obj_set_bool(p, "/spec/rollback", true);
		if (!ret)
			ret = k8s_obj_set_bool(p, "/spec/cutover", false);
	}
	if (ret)
		goto out;
	ret = k8s_patch(c, &mig_migrations, a->k.ns, name, K8S_PATCH_MERGE, p, NULL, &m, &err);
	if (ret) {
		ret = ctl_fail(ret, err.msg, "migrate %s %s", verb, name);
		goto out;
	}
	if (!strcmp(verb, "start") || (!strcmp(verb, "cutover") && !a->wait)) {
		printf("migration %s: %s asked for; `ferry migrate status %s` follows it\n", name,
		       verb, name);
		goto out;
	}
	/* rollback, and cutover --wait: until it ends */
	for (;;) {
		const char *phase;
		const struct k8s_obj *cond;

		k8s_obj_free(m);
		m = NULL;
		ret = k8s_get(c, &mig_migrations, a->k.ns, name, NULL, &m, &err);
		if (ret) {
			ret = ctl_fail(ret, err.msg, "migrate %s %s", verb, name);
			goto out;
		}
		phase = k8s_obj_str(m, "/status/phase");
		cond = cond_of(m, "Planned");
		if (!strcmp(verb, "rollback") && cond &&
		    !strcmp(or_dash(k8s_obj_str(cond, "/reason")), "RollbackRefused")) {
			ret = ctl_fail(-EPROTO, k8s_obj_str(cond, "/message"),
				       "migrate rollback %s", name);
			goto out;
		}
		/* a rollback waits for RolledBack or its refusal; a cutover for any end */
		if (phase && !strcmp(verb, "rollback") && !strcmp(phase, "RolledBack"))
			break;
		if (phase && strcmp(verb, "rollback") &&
		    (!strcmp(phase, "Completed") || !strcmp(phase, "Failed") ||
		     !strcmp(phase, "RolledBack") || !strcmp(phase, "PlanFailed")))
			break;
		if (k8s_now_ns() > end) {
			ret = ctl_fail(-ETIMEDOUT, or_dash(k8s_obj_str(m, "/status/message")),
				       "migrate %s %s: not done within %lu s (phase %s)", verb,
				       name, a->wait_s, or_dash(phase));
			goto out;
		}
		usleep(250 * 1000);
	}
	mg_report(m);
	if (strcmp(k8s_obj_str(m, "/status/phase"),
		   !strcmp(verb, "rollback") ? "RolledBack" : "Completed"))
		ret = ctl_fail(-EPROTO, or_dash(k8s_obj_str(m, "/status/message")),
			       "migrate %s %s: %s", verb, name, k8s_obj_str(m, "/status/phase"));
out:
	k8s_obj_free(m);
	k8s_obj_free(p);
	k8s_client_free(c);
	return ret;
}

static int mg_status(struct mg_args *a, const char *name, bool report)
{
	struct k8s_client *c = NULL;
	struct k8s_obj *m = NULL;
	struct k8s_err err;
	int ret = op_cluster_client(&a->k, "migrate", NULL, &c, NULL);

	if (!ret) {
		ret = k8s_get(c, &mig_migrations, a->k.ns, name, NULL, &m, &err);
		if (ret)
			ret = ctl_fail(ret, err.msg, "migrate %s %s", report ? "report" : "status",
				       name);
	}
	if (!ret && report && a->out == MG_OUT_TEXT)
		mg_report(m);
	else if (!ret)
		ret = mg_emit(a, m);
	k8s_obj_free(m);
	k8s_client_free(c);
	return ret;
}

int ctl_cmd_migrate(int argc, char **argv)
{
	struct mg_args a = {0};
	const char *verb = argc > 1 ? argv[1] : NULL;
	int ret;

	if (!verb || !strcmp(verb, "-h") || !strcmp(verb, "--help")) {
		mg_usage(verb ? stdout : stderr);
		return verb ? 0
			    : ctl_usage_error("migrate",
					      "plan, status, start, cutover, rollback or report");
	}
	ret = mg_parse(argc - 1, argv + 1, &a);
	if (ret)
		return ret;
	if (a.help) {
		mg_usage(stdout);
		return 0;
	}
	if (!a.k.ns)
		a.k.ns = MG_DEFAULT_NS;
	if (optind + 1 != argc - 1)
		return ctl_usage_error("migrate", "%s takes one NAME", verb);
	if (!strcmp(verb, "plan"))
		return mg_plan(&a, argv[optind + 1]);
	if (!strcmp(verb, "status") || !strcmp(verb, "report"))
		return mg_status(&a, argv[optind + 1], !strcmp(verb, "report"));
	if (!strcmp(verb, "start") || !strcmp(verb, "cutover") || !strcmp(verb, "rollback"))
		return mg_stage(&a, verb, argv[optind + 1]);
	return ctl_usage_error(
		"migrate", "unknown verb '%s': plan, status, start, cutover, rollback or report",
		verb);
}
