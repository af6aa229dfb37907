// SPDX-License-Identifier: MIT
/*
 * control/operator/cmd_appbackup.c - `ferry backup create|get|describe` and
 * `ferry restore create|get|describe` on a cluster's Backup and Restore
 * objects (k8s/deploy/crd-backups.yaml, crd-restores.yaml), with Velero's
 * flags and kubectl's habits:
 *
 *   backup create NAME [-l SEL] [--or-selector 'S or S'] [--include-namespaces L]
 *          [--exclude-namespaces L] [--include-resources L] [--exclude-resources L]
 *          [--include-cluster-resources[=BOOL]] [--snapshot-volumes[=BOOL]]
 *          [--ttl DUR] [--storage-location REPO] [--from-schedule SCHEDULE]
 *          [--wait] [-o json|yaml]
 *   restore create [NAME] --from-backup B [--namespace-mappings a:b,c:d] [...]
 *   backup|restore get [NAME]... [-A] [-o json|yaml|wide]
 *   backup|restore describe NAME [--details] [-o json|yaml]
 *   backup|restore delete NAME... [--yes|--confirm] [--wait]
 *   backup|restore logs NAME
 *
 * Every flag's value is checked here (control/cli/values.c), and the spec it
 * makes by the controller's own decoders (cluster_sel_parse(),
 * cluster_restore_opts_read()), so what the controller would refuse is
 * refused before anything is sent: one line and exit 2. `-o json|yaml` on
 * create prints the object instead of creating it, as Velero's -o does.
 * --wait polls the object every second until its phase is final: a live
 * line on a terminal, a line per change otherwise; Completed is 0, any
 * other final phase an error with its reason (exit 1).
 *
 * logs prints the log the controller kept in the repository when the Backup
 * or the Restore ended (control/cluster/cluster_log.c): the repository is
 * reached as the controller reaches it, with the caller's identity (it must
 * be allowed to read the Repository and its Secrets in ferry-system).
 *
 * control/main.c sends `ferry backup|restore create|get|describe|delete|logs`
 * here, and `backup get|describe|download|logs` with a repository (--repo,
 * FERRY_REPO) to the repository's records (control/repo/cmd_backup_record.c).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "operator.h"
#include "verbs.h"
#include "control/cli/cli.h"
#include "control/cluster/cluster.h"
#include "k8s/k8s.h"

static const struct k8s_resource ab_restores =
	K8S_RESOURCE(CLUSTER_API_GROUP, CLUSTER_API_VERSION, "restores", "Restore", true);

enum ab_out { AB_OUT_TEXT, AB_OUT_WIDE, AB_OUT_JSON, AB_OUT_YAML };

struct ab_args {
	bool restore;  /* the noun: restore, */
	bool schedule; /* or schedule, else backup */
	const char *word;
	char verb[32]; /* "backup create": what usage errors name */
	struct op_cluster k;
	enum ab_out out;
	bool wait, details, help, yes;
	const char *selector, *or_selector, *inc_ns, *exc_ns, *inc_res, *exc_res;
	int inc_cluster, snap_vols, restore_vols, preserve_np, zero; /* -1: not given */
	const char *ttl, *location, *from_schedule, *from_backup, *ns_map, *existing;
	const char *cron, *zone; /* schedule create: --schedule, --time-zone */
	int paused, skip_now;	 /* schedule create: --paused, --skip-immediately (-1: not given) */
	long keep[5];		 /* schedule create: --keep-last..--keep-monthly (-1: not given) */
	char **names;
	int nnames;
};

static const char *ab_noun(const struct ab_args *a)
{
	return a->schedule ? "schedule" : a->restore ? "restore" : "backup";
}

/* the kind, capitalized, as messages name it */
static const char *ab_kind(const struct ab_args *a)
{
	return a->schedule ? "Schedule" : a->restore ? "Restore" : "Backup";
}

static const char *ab_verb(const struct ab_args *a)
{
	return a->verb;
}

static const struct k8s_resource *ab_res(const struct ab_args *a)
{
	return a->schedule ? &cluster_schedules : a->restore ? &ab_restores : &cluster_backups;
}

static void schedule_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry schedule create NAME --schedule CRON [--time-zone ZONE] [--paused[=BOOL]]\n"
		"                       [--skip-immediately[=BOOL]] [--keep-last N] [--keep-hourly N]\n"
		"                       [--keep-daily N] [--keep-weekly N] [--keep-monthly N]\n"
		"                       [BACKUP FLAGS] [-o json|yaml]\n"
		"       ferry schedule get [NAME]... [-l SEL] [-A] [-o json|yaml]\n"
		"       ferry schedule describe NAME [-o json|yaml]\n"
		"       ferry schedule pause|unpause NAME...\n"
		"       ferry schedule delete NAME... [--yes]\n\n"
		"A cluster's Schedules (ferry.io/v1alpha1): `ferry controller` makes a Backup of\n"
		"the template at each run. CRON is a 5-field cron line (day of week 0-7, 0 and 7\n"
		"Sunday), @yearly..@hourly, @every DURATION, or a Quartz line with seconds ('0 0 1\n"
		"* * ?', day of week 1-7 = SUN-SAT); one ferry cannot run exactly is refused with\n"
		"the reason (control/cluster/README.md). --time-zone: an IANA zone (default UTC).\n"
		"BACKUP FLAGS are `ferry backup create`'s (-l, --include-namespaces, --ttl,\n"
		"--storage-location, ...): the template of each run's Backup. --keep-*: the\n"
		"Schedule's GFS retention over its finished Backups, as ferry forget's.\n"
		"  -n, --namespace NS   the Schedule's namespace (default: the context's)\n"
		"      --yes            delete: without asking\n"
		"      --kubeconfig FILE, --context NAME\n"
		"  -h, --help           this text\n");
}

static void ab_usage(FILE *f, bool restore)
{
	if (!restore)
		fprintf(f,
			"usage: ferry backup create NAME [OPTIONS] [--wait] [-o json|yaml]\n"
			"       ferry backup get [NAME]... [-l SEL] [-A] [-o json|yaml|wide]\n"
			"       ferry backup describe NAME [--details] [-o json|yaml]\n"
			"       ferry backup delete NAME... [--yes] [--wait]\n"
			"       ferry backup logs NAME\n\n"
			"A cluster's Backups (ferry.io/v1alpha1), run by `ferry controller`. With a\n"
			"repository (--repo URL or FERRY_REPO) get and describe read the Backups'\n"
			"records in the repository instead, without a cluster (ferry backup get --help\n"
			"--repo URL).\n\n"
			"create:\n"
			"  -l, --selector SEL                 only objects with these labels (app=web,tier in (a,b))\n"
			"      --or-selector 'SEL or SEL'     objects that match any of these\n"
			"      --include-namespaces NS,...    namespaces (names or patterns; default all)\n"
			"      --exclude-namespaces NS,...\n"
			"      --include-resources RES,...    resources (plural or resource.group; default all)\n"
			"      --exclude-resources RES,...\n"
			"      --include-cluster-resources[=BOOL]  cluster-scoped objects: all (true), none\n"
			"                                     (false); not given, those the others need\n"
			"      --snapshot-volumes[=BOOL]      back up the PVCs' volumes (default true)\n"
			"      --ttl DURATION                 how long it is kept (720h, 30d)\n"
			"      --storage-location REPO        the Repository in ferry-system (default 'default')\n"
			"      --from-schedule SCHEDULE       the spec of this Schedule's template\n");
	else
		fprintf(f,
			"usage: ferry restore create [NAME] --from-backup BACKUP [OPTIONS] [--wait] [-o json|yaml]\n"
			"       ferry restore get [NAME]... [-l SEL] [-A] [-o json|yaml|wide]\n"
			"       ferry restore describe NAME [--details] [-o json|yaml]\n"
			"       ferry restore delete NAME... [--yes] [--wait]\n"
			"       ferry restore logs NAME\n"
			"       ferry restore SNAPSHOT TARGET    (a volume from a repository: ferry restore --help)\n\n"
			"A cluster's Restores (ferry.io/v1alpha1), run by `ferry controller`.\n\n"
			"create (NAME defaults to BACKUP-YYYYMMDDhhmmss):\n"
			"      --from-backup BACKUP           the Backup to restore (its name)\n"
			"      --namespace-mappings a:b,c:d   restore namespace a's objects into b\n"
			"      --include-namespaces NS,...    --exclude-namespaces NS,...\n"
			"      --include-resources RES,...    --exclude-resources RES,...\n"
			"  -l, --selector SEL                 only objects with these labels\n"
			"      --include-cluster-resources[=BOOL]\n"
			"      --existing-resource-policy none|update  an object that exists: left as it\n"
			"                                     is (none, the default) or updated\n"
			"      --storage-location REPO        the Repository holding the backup's record,\n"
			"                                     for a Backup this cluster does not have\n"
			"      --restore-volumes[=BOOL]       the volumes' data (default true)\n"
			"      --preserve-nodeports[=BOOL]    keep Services' nodePorts (default false)\n"
			"      --scale-workloads-to-zero[=BOOL]  nothing starts (default false): replicas 0\n"
			"                                     and CronJobs suspended, the backup's values\n"
			"                                     in annotations; each claim of a\n"
			"                                     WaitForFirstConsumer class gets its node\n");
	fprintf(f,
		"      --wait                         until it ends: Completed exits 0, any other\n"
		"                                     end its reason and exit 1 (interrupting\n"
		"                                     stops the waiting, not the %s)\n"
		"  -o, --output FORMAT                create: print the object as json or yaml\n"
		"                                     instead of creating it; get: json, yaml, wide\n"
		"      --details                      describe: every volume, warning and error\n"
		"      --yes, --confirm               delete: without asking (it asks on a terminal,\n"
		"                                     and is refused elsewhere without it)\n"
		"  -n, --namespace NS                 the %s's namespace (default: the context's)\n"
		"  -A, --all-namespaces               get: in every namespace\n"
		"  -l, --selector SEL                 get: those with these labels\n"
		"      --kubeconfig FILE, --context NAME\n"
		"  -h, --help                         this text\n\n"
		"delete: a Backup's controller forgets its backup record and snapshots before it\n"
		"goes (refused while Object Lock keeps them: the reason is its condition, and\n"
		"--wait exits 6 with it); a Restore goes alone, what it restored stays.\n"
		"--wait: until each is gone.\n\n"
		"logs: the log the controller kept in the repository when the %s ended (its\n"
		"start, spec, volumes, objects, warnings and errors, its end), read with your\n"
		"identity from its Repository in ferry-system; none while it runs.\n\n"
		"The words create, get, describe, download, logs and delete are reserved as the\n"
		"first argument: an image file named so is given as ./create.\n",
		restore ? "Restore" : "Backup", restore ? "Restore" : "Backup",
		restore ? "Restore" : "Backup");
}

/* an optional boolean: absent is true, as Velero's --snapshot-volumes */
static int ab_bool(const struct ab_args *a, const char *opt, const char *arg, int *out)
{
	struct ctl_err err;
	bool v = true;

	if (arg && ctl_parse_bool(arg, &v, &err))
		return ctl_usage_error(ab_verb(a), "--%s: %s", opt, err.msg);
	*out = v;
	return 0;
}

/* the retention flags, as spec.retention's fields are named after them */
static const char *const keep_names[5] = {"keep-last", "keep-hourly", "keep-daily", "keep-weekly",
					  "keep-monthly"};
static const char *const keep_fields[5] = {"last", "hourly", "daily", "weekly", "monthly"};

static int ab_parse(int argc, char **argv, struct ab_args *a)
{
	enum {
		O_WAIT = OP_OPT_VERB_BASE,
		O_DETAILS,
		O_OR_SEL,
		O_INC_NS,
		O_EXC_NS,
		O_INC_RES,
		O_EXC_RES,
		O_INC_CLUSTER,
		O_SNAP_VOLS,
		O_TTL,
		O_LOCATION,
		O_FROM_SCHEDULE,
		O_FROM_BACKUP,
		O_NS_MAP,
		O_EXISTING,
		O_RESTORE_VOLS,
		O_PRESERVE_NP,
		O_ZERO,
		O_YES,
		O_CRON,
		O_ZONE,
		O_PAUSED,
		O_SKIP_NOW,
		O_KEEP, /* O_KEEP + 0..4: last, hourly, daily, weekly, monthly */
		O_KEEP_END = O_KEEP + 4,
	};
	static const struct option opts[] = {
		OP_CLUSTER_LONGOPTS,
		OP_ALL_NAMESPACES_LONGOPT,
		{"output", required_argument, NULL, 'o'},
		{"wait", no_argument, NULL, O_WAIT},
		{"details", no_argument, NULL, O_DETAILS},
		{"selector", required_argument, NULL, 'l'},
		{"or-selector", required_argument, NULL, O_OR_SEL},
		{"include-namespaces", required_argument, NULL, O_INC_NS},
		{"exclude-namespaces", required_argument, NULL, O_EXC_NS},
		{"include-resources", required_argument, NULL, O_INC_RES},
		{"exclude-resources", required_argument, NULL, O_EXC_RES},
		{"include-cluster-resources", optional_argument, NULL, O_INC_CLUSTER},
		{"snapshot-volumes", optional_argument, NULL, O_SNAP_VOLS},
		{"ttl", required_argument, NULL, O_TTL},
		{"storage-location", required_argument, NULL, O_LOCATION},
		{"from-schedule", required_argument, NULL, O_FROM_SCHEDULE},
		{"from-backup", required_argument, NULL, O_FROM_BACKUP},
		{"namespace-mappings", required_argument, NULL, O_NS_MAP},
		{"existing-resource-policy", required_argument, NULL, O_EXISTING},
		{"restore-volumes", optional_argument, NULL, O_RESTORE_VOLS},
		{"preserve-nodeports", optional_argument, NULL, O_PRESERVE_NP},
		{"scale-workloads-to-zero", optional_argument, NULL, O_ZERO},
		{"yes", no_argument, NULL, O_YES},
		{"confirm", no_argument, NULL, O_YES},
		{"schedule", required_argument, NULL, O_CRON},
		{"time-zone", required_argument, NULL, O_ZONE},
		{"paused", optional_argument, NULL, O_PAUSED},
		{"skip-immediately", optional_argument, NULL, O_SKIP_NOW},
		{"keep-last", required_argument, NULL, O_KEEP},
		{"keep-hourly", required_argument, NULL, O_KEEP + 1},
		{"keep-daily", required_argument, NULL, O_KEEP + 2},
		{"keep-weekly", required_argument, NULL, O_KEEP + 3},
		{"keep-monthly", required_argument, NULL, O_KEEP + 4},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *noun = ab_verb(a);
	bool create = !strcmp(a->word, "create");
	int opt, ret = 0;

	optind = 1;
	opterr = 0; /* one line of ours, not getopt's */
	while (!ret && (opt = getopt_long(argc, argv, "hn:Ao:l:", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			a->help = true;
			return 0;
		case 'o':
			if (!strcmp(optarg, "json"))
				a->out = AB_OUT_JSON;
			else if (!strcmp(optarg, "yaml"))
				a->out = AB_OUT_YAML;
			else if (!strcmp(optarg, "wide") && !strcmp(a->word, "get"))
				a->out = AB_OUT_WIDE;
			else
				ret = ctl_usage_error(noun, "-o takes json or yaml%s, not '%s'",
						      strcmp(a->word, "get") ? "" : " or wide",
						      optarg);
			break;
		case O_WAIT:
			a->wait = true;
			break;
		case O_YES:
			a->yes = true;
			break;
		case O_CRON:
			a->cron = optarg;
			break;
		case O_ZONE:
			a->zone = optarg;
			break;
		case O_PAUSED:
			ret = ab_bool(a, "paused", optarg, &a->paused);
			break;
		case O_SKIP_NOW:
			ret = ab_bool(a, "skip-immediately", optarg, &a->skip_now);
			break;
		case O_KEEP:
		case O_KEEP + 1:
		case O_KEEP + 2:
		case O_KEEP + 3:
		case O_KEEP_END: {
			unsigned long n;

			ret = ctl_parse_uint(noun, keep_names[opt - O_KEEP], optarg, 0, 1000000,
					     &n);
			a->keep[opt - O_KEEP] = (long)n;
			break;
		}
		case O_DETAILS:
			a->details = true;
			break;
		case 'l':
			a->selector = optarg;
			break;
		case O_OR_SEL:
			a->or_selector = optarg;
			break;
		case O_INC_NS:
			a->inc_ns = optarg;
			break;
		case O_EXC_NS:
			a->exc_ns = optarg;
			break;
		case O_INC_RES:
			a->inc_res = optarg;
			break;
		case O_EXC_RES:
			a->exc_res = optarg;
			break;
		case O_INC_CLUSTER:
			ret = ab_bool(a, "include-cluster-resources", optarg, &a->inc_cluster);
			break;
		case O_SNAP_VOLS:
			ret = ab_bool(a, "snapshot-volumes", optarg, &a->snap_vols);
			break;
		case O_RESTORE_VOLS:
			ret = ab_bool(a, "restore-volumes", optarg, &a->restore_vols);
			break;
		case O_PRESERVE_NP:
			ret = ab_bool(a, "preserve-nodeports", optarg, &a->preserve_np);
			break;
		case O_ZERO:
			ret = ab_bool(a, "scale-workloads-to-zero", optarg, &a->zero);
			break;
		case O_TTL:
			a->ttl = optarg;
			break;
		case O_LOCATION:
			a->location = optarg;
			break;
		case O_FROM_SCHEDULE:
			a->from_schedule = optarg;
			break;
		case O_FROM_BACKUP:
			a->from_backup = optarg;
			break;
		case O_NS_MAP:
			a->ns_map = optarg;
			break;
		case O_EXISTING:
			if (strcmp(optarg, "none") && strcmp(optarg, "update"))
				ret = ctl_usage_error(
					noun,
					"--existing-resource-policy takes none or update, not '%s'",
					optarg);
			a->existing = optarg;
			break;
		default:
			if (op_cluster_opt(&a->k, opt, optarg))
				ret = ctl_usage_error(noun,
						      "'%s' is an unknown option or needs a value",
						      argv[optind - 1]);
			break;
		}
	}
	if (ret)
		return ret;
	a->names = argv + optind;
	a->nnames = argc - optind;
	/* each flag where it means something, said at once */
	if (!create &&
	    ((a->wait && strcmp(a->word, "delete")) || (a->selector && strcmp(a->word, "get")) ||
	     a->or_selector || a->inc_ns || a->exc_ns || a->inc_res || a->exc_res ||
	     a->inc_cluster >= 0 || a->snap_vols >= 0 || a->restore_vols >= 0 ||
	     a->preserve_np >= 0 || a->zero >= 0 || a->ttl || a->location || a->from_schedule ||
	     a->from_backup || a->ns_map || a->existing))
		return ctl_usage_error(noun, "%s takes no selection flags%s: they are create's",
				       a->word, strcmp(a->word, "get") ? "" : " but -l");
	if (create && a->restore &&
	    (a->or_selector || a->snap_vols >= 0 || a->ttl || a->from_schedule))
		return ctl_usage_error(noun, "--or-selector, --snapshot-volumes, --ttl and "
					     "--from-schedule are backup's");
	if (create && !a->restore &&
	    (a->from_backup || a->ns_map || a->existing || a->restore_vols >= 0 ||
	     a->preserve_np >= 0 || a->zero >= 0))
		return ctl_usage_error(noun,
				       "--from-backup, --namespace-mappings, "
				       "--existing-resource-policy, --restore-volumes, "
				       "--preserve-nodeports and --scale-workloads-to-zero are "
				       "restore's");
	if (a->selector && a->or_selector)
		return ctl_usage_error(noun, "--selector and --or-selector exclude each other");
	if (a->schedule && a->out == AB_OUT_WIDE)
		return ctl_usage_error(noun, "-o takes json or yaml");
	for (int i = 0; i < 5; i++)
		if (a->keep[i] >= 0 && !(a->schedule && create))
			return ctl_usage_error(noun, "--%s is schedule create's", keep_names[i]);
	if ((a->cron || a->zone || a->paused >= 0 || a->skip_now >= 0) && !(a->schedule && create))
		return ctl_usage_error(noun, "--schedule, --time-zone, --paused and "
					     "--skip-immediately are schedule create's");
	if (a->schedule && create && !a->cron)
		return ctl_usage_error(noun, "create needs --schedule CRON");
	if (a->schedule && (a->wait || a->details || a->from_schedule))
		return ctl_usage_error(noun, "--wait, --details and --from-schedule are not "
					     "schedule's");
	if ((!strcmp(a->word, "pause") || !strcmp(a->word, "unpause")) &&
	    (!a->nnames || a->out != AB_OUT_TEXT))
		return ctl_usage_error(noun, "%s takes one NAME or more, and no -o", a->word);
	if (a->yes && strcmp(a->word, "delete"))
		return ctl_usage_error(noun, "--yes is delete's");
	if (!strcmp(a->word, "delete") && (!a->nnames || a->out != AB_OUT_TEXT))
		return ctl_usage_error(noun, "delete takes one NAME or more, and no -o");
	if (a->details && strcmp(a->word, "describe"))
		return ctl_usage_error(noun, "--details is describe's");
	if (a->k.all && strcmp(a->word, "get"))
		return ctl_usage_error(noun, "-A is get's");
	if (a->wait && a->out != AB_OUT_TEXT)
		return ctl_usage_error(noun, "--wait creates the object: -o prints it instead");
	if (a->k.ns && !ctl_namespace_valid(a->k.ns))
		return ctl_usage_error(noun, "-n: '%s' is not a namespace", a->k.ns);
	if (!strcmp(a->word, "describe") && a->nnames != 1)
		return ctl_usage_error(noun, "describe takes one NAME, not %d", a->nnames);
	if (!strcmp(a->word, "logs") && (a->nnames != 1 || a->out != AB_OUT_TEXT))
		return ctl_usage_error(noun, "logs takes one NAME, and no -o");
	if (create && a->nnames > 1)
		return ctl_usage_error(noun, "create takes one NAME, not %d", a->nnames);
	if (create && !a->restore && a->nnames != 1)
		return ctl_usage_error(noun, "create needs a NAME");
	if (create && a->restore && !a->from_backup)
		return ctl_usage_error(noun, "create needs --from-backup BACKUP");
	return 0;
}

/* ----------------------------------------------------------- the spec */

/* a comma-separated list of @kind at /spec/@field */
static int spec_list(const struct ab_args *a, struct k8s_obj *o, const char *opt, const char *field,
		     const char *arg, enum ctl_list_kind kind)
{
	struct ctl_list l;
	struct ctl_err err;
	char path[96];
	int ret;

	if (!arg)
		return 0;
	if (ctl_parse_list(arg, kind, &l, &err))
		return ctl_usage_error(ab_verb(a), "--%s: %s", opt, err.msg);
	snprintf(path, sizeof(path), "/spec/%s", field);
	ret = k8s_obj_set_empty(o, path, K8S_T_ARRAY);
	snprintf(path, sizeof(path), "/spec/%s/-", field);
	for (size_t i = 0; !ret && i < l.n; i++)
		ret = k8s_obj_set_str(o, path, l.items[i]);
	ctl_list_fini(&l);
	return ret ? ctl_fail(ret, NULL, "out of memory") : 0;
}

/* -l/--selector at /spec/labelSelector */
static int spec_selector(const struct ab_args *a, struct k8s_obj *o)
{
	struct ctl_selector sel;
	struct k8s_obj *ls = NULL;
	struct ctl_err err;
	int ret;

	if (ctl_selector_parse(a->selector, &sel, &err))
		return ctl_usage_error(ab_verb(a), "--selector: %s", err.msg);
	if (!sel.n) {
		ctl_selector_fini(&sel);
		return ctl_usage_error(ab_verb(a), "--selector: an empty selector");
	}
	ret = op_selector_obj(&sel, &ls);
	ctl_selector_fini(&sel);
	if (!ret)
		ret = k8s_obj_set(o, "/spec/labelSelector", ls);
	if (ret) {
		k8s_obj_free(ls);
		return ctl_fail(ret, NULL, "out of memory");
	}
	return 0;
}

/* Velero's --or-selector ("S or S") at /spec/orLabelSelectors */
static int spec_or_selector(const struct ab_args *a, struct k8s_obj *o)
{
	struct ctl_selector *sels;
	struct ctl_err err;
	size_t n;
	int ret;

	if (ctl_parse_or_selector(a->or_selector, &sels, &n, &err))
		return ctl_usage_error(ab_verb(a), "--or-selector: %s", err.msg);
	ret = k8s_obj_set_empty(o, "/spec/orLabelSelectors", K8S_T_ARRAY);
	for (size_t i = 0; !ret && i < n; i++) {
		struct k8s_obj *ls = NULL;

		ret = op_selector_obj(&sels[i], &ls);
		if (!ret)
			ret = k8s_obj_set(o, "/spec/orLabelSelectors/-", ls);
		if (ret)
			k8s_obj_free(ls);
	}
	ctl_or_selector_free(sels, n);
	return ret ? ctl_fail(ret, NULL, "out of memory") : 0;
}

/* a duration as Velero's ttl: Go's form, "720h0m0s" */
static int spec_ttl(const struct ab_args *a, struct k8s_obj *o)
{
	struct ctl_err err;
	char buf[64];
	int64_t s;

	if (ctl_parse_duration(a->ttl, &s, &err))
		return ctl_usage_error(ab_verb(a), "--ttl: %s", err.msg);
	if (s > INT64_MAX / 1000000000)
		return ctl_usage_error(ab_verb(a), "--ttl: '%s' is too long", a->ttl);
	snprintf(buf, sizeof(buf), "%" PRId64 "h%" PRId64 "m%" PRId64 "s", s / 3600, s / 60 % 60,
		 s % 60);
	return k8s_obj_set_str(o, "/spec/ttl", buf) ? ctl_fail(-ENOMEM, NULL, "out of memory") : 0;
}

static int spec_mapping(const struct ab_args *a, struct k8s_obj *o)
{
	struct ctl_mapping m;
	struct ctl_err err;
	int ret;

	if (ctl_parse_mapping(a->ns_map, &m, &err))
		return ctl_usage_error(ab_verb(a), "--namespace-mappings: %s", err.msg);
	ret = k8s_obj_set_empty(o, "/spec/namespaceMapping", K8S_T_OBJECT);
	for (size_t i = 0; !ret && i < m.n; i++) {
		char path[128];

		snprintf(path, sizeof(path), "/spec/namespaceMapping/%s", m.pairs[i].from);
		ret = k8s_obj_set_str(o, path, m.pairs[i].to);
	}
	ctl_mapping_fini(&m);
	return ret ? ctl_fail(ret, NULL, "out of memory") : 0;
}

/* The Backup or Restore @a asks for, checked as the controller checks it. */
/*
 * A Schedule's spec from what ab_build() made as a Backup's: that spec is the
 * template; the cron line and the zone are checked by the controller's own
 * parser and zone reader (the zone must exist here: CLUSTER_TZDIR).
 */
static int schedule_spec(const struct ab_args *a, struct k8s_obj *o)
{
	struct k8s_obj *tpl = k8s_obj_dup(k8s_obj_at(o, "/spec"));
	struct cluster_tz *tz = NULL;
	struct cluster_cron cron;
	struct cluster_err cerr;
	const char *zone;
	int ret;

	if (!tpl)
		return ctl_fail(-ENOMEM, NULL, "out of memory");
	if (cluster_cron_parse(a->cron, &cron, &cerr) ||
	    cluster_cron_zone(&cron, a->zone, &zone, &cerr) || cluster_tz_get(zone, &tz, &cerr)) {
		k8s_obj_free(tpl);
		return ctl_usage_error(ab_verb(a), "--schedule '%s': %s", a->cron, cerr.msg);
	}
	cluster_tz_put(tz);
	k8s_obj_remove(o, "/spec");
	ret = k8s_obj_set_str(o, "/spec/schedule", a->cron);
	if (!ret && a->zone)
		ret = k8s_obj_set_str(o, "/spec/timeZone", a->zone);
	if (!ret && a->paused >= 0)
		ret = k8s_obj_set_bool(o, "/spec/paused", a->paused);
	if (!ret && a->skip_now >= 0)
		ret = k8s_obj_set_bool(o, "/spec/skipImmediately", a->skip_now);
	for (int i = 0; !ret && i < 5; i++)
		if (a->keep[i] >= 0) {
			char path[40];

			snprintf(path, sizeof(path), "/spec/retention/%s", keep_fields[i]);
			ret = k8s_obj_set_int(o, path, a->keep[i]);
		}
	if (!ret)
		ret = k8s_obj_set(o, "/spec/template", tpl);
	if (ret) {
		k8s_obj_free(tpl);
		return ctl_fail(-ENOMEM, NULL, "out of memory");
	}
	return 0;
}

static int ab_build(const struct ab_args *a, struct k8s_client *c, const char *ns, const char *name,
		    struct k8s_obj **out)
{
	const char *noun = ab_noun(a);
	struct k8s_obj *o = NULL, *sched = NULL;
	struct cluster_err cerr;
	struct k8s_err kerr;
	int ret;

	*out = NULL;
	ret = k8s_obj_new_kind(ab_res(a), ns, name, &o);
	if (ret)
		return ctl_fail(ret, NULL, "out of memory");
	if (a->from_schedule) {
		/*
		 * the Schedule's template, without its label: a Backup made by hand
		 * is none of the Schedule's runs, nor dropped by its retention
		 */
		ret = k8s_get(c, &cluster_schedules, ns, a->from_schedule, NULL, &sched, &kerr);
		if (ret) {
			ret = ctl_fail(ret, kerr.msg, "%s create: the Schedule %s", noun,
				       a->from_schedule);
			goto out;
		}
		if (k8s_obj_type(sched, "/spec/template") == K8S_T_OBJECT) {
			const struct k8s_obj *labels =
				k8s_obj_at(sched, "/spec/template/metadata/labels");

			if (k8s_obj_set_copy(o, "/spec", k8s_obj_at(sched, "/spec/template")))
				goto nomem;
			k8s_obj_remove(o, "/spec/metadata");
			/* the template's labels, as a run's Backup has them */
			for (const struct k8s_obj *m = k8s_obj_first(labels); m;
			     m = k8s_obj_next(m))
				if (k8s_obj_str(m, "") && k8s_obj_name(m)[0] &&
				    k8s_obj_set_label(o, k8s_obj_name(m), k8s_obj_str(m, "")))
					goto nomem;
		}
	}
	if (!k8s_obj_at(o, "/spec") && k8s_obj_set_empty(o, "/spec", K8S_T_OBJECT))
		goto nomem;
	if ((ret = spec_list(a, o, "include-namespaces", "includedNamespaces", a->inc_ns,
			     CTL_LIST_NAMESPACES)) ||
	    (ret = spec_list(a, o, "exclude-namespaces", "excludedNamespaces", a->exc_ns,
			     CTL_LIST_NAMESPACES)) ||
	    (ret = spec_list(a, o, "include-resources", "includedResources", a->inc_res,
			     CTL_LIST_RESOURCES)) ||
	    (ret = spec_list(a, o, "exclude-resources", "excludedResources", a->exc_res,
			     CTL_LIST_RESOURCES)))
		goto out;
	if (a->selector && (ret = spec_selector(a, o)))
		goto out;
	if (a->or_selector && (ret = spec_or_selector(a, o)))
		goto out;
	if (a->ttl && (ret = spec_ttl(a, o)))
		goto out;
	if (a->ns_map && (ret = spec_mapping(a, o)))
		goto out;
	if ((a->location && k8s_obj_set_str(o, "/spec/storageLocation", a->location)) ||
	    (a->from_backup && k8s_obj_set_str(o, "/spec/backupName", a->from_backup)) ||
	    (a->existing && k8s_obj_set_str(o, "/spec/existingResourcePolicy", a->existing)) ||
	    (a->inc_cluster >= 0 &&
	     k8s_obj_set_bool(o, "/spec/includeClusterResources", a->inc_cluster)) ||
	    (a->snap_vols >= 0 && k8s_obj_set_bool(o, "/spec/snapshotVolumes", a->snap_vols)) ||
	    (a->restore_vols >= 0 &&
	     k8s_obj_set_bool(o, "/spec/restoreVolumes", a->restore_vols)) ||
	    (a->preserve_np >= 0 &&
	     k8s_obj_set_bool(o, "/spec/preserveNodePorts", a->preserve_np)) ||
	    (a->zero >= 0 && k8s_obj_set_bool(o, "/spec/scaleWorkloadsToZero", a->zero)))
		goto nomem;
	/* what the controller would refuse, refused here in its words */
	if (a->restore) {
		struct cluster_restore_opts ro;

		memset(&ro, 0, sizeof(ro));
		ret = cluster_restore_opts_read(k8s_obj_at(o, "/spec"), name, &ro, &cerr);
		cluster_restore_opts_fini(&ro);
	} else {
		struct cluster_sel *cs = NULL;

		ret = cluster_sel_parse(k8s_obj_at(o, "/spec"), &cs, &cerr);
		cluster_sel_free(cs);
	}
	if (ret == -ENOMEM)
		goto nomem;
	if (ret) {
		ret = ctl_usage_error(noun, "%s", cerr.msg);
		goto out;
	}
	if (a->schedule && (ret = schedule_spec(a, o)))
		goto out;
	*out = o;
	o = NULL;
	goto out;
nomem:
	ret = ctl_fail(-ENOMEM, NULL, "out of memory");
out:
	k8s_obj_free(sched);
	k8s_obj_free(o);
	return ret;
}

/* ------------------------------------------------------------ printing */

static const char *or_none(const char *s)
{
	return s && *s ? s : "<none>";
}

/* a timestamp as Velero prints it: local time with its zone */
static void when(const struct k8s_obj *o, const char *path, char *buf, size_t len)
{
	const char *s = k8s_obj_str(o, path);
	struct tm tm;
	int64_t t;
	time_t tt;

	if (!s || k8s_time_parse(s, &t)) {
		snprintf(buf, len, "<none>");
		return;
	}
	tt = (time_t)(t / 1000000000);
	if (!localtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S %z", &tm))
		snprintf(buf, len, "%s", s);
}

static int64_t num(const struct k8s_obj *o, const char *path)
{
	int64_t v = 0;

	k8s_obj_int(o, path, &v);
	return v;
}

/* the LabelSelector at @path as its string, "<none>" without one */
static void selector_str(const struct k8s_obj *o, const char *path, char *buf, size_t len)
{
	const struct k8s_obj *s = k8s_obj_at(o, path);
	char *str = NULL;

	if (s && k8s_obj_type(s, "") == K8S_T_OBJECT && !k8s_selector_string(s, &str) && str &&
	    *str)
		snprintf(buf, len, "%s", str);
	else
		snprintf(buf, len, "<none>");
	free(str);
}

/* a list as "a, b", "*" without one */
static void strs(const struct k8s_obj *o, const char *path, const char *none, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (const struct k8s_obj *e = k8s_obj_first(k8s_obj_at(o, path)); e && off < len;
	     e = k8s_obj_next(e))
		off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
					or_none(k8s_obj_str(e, "")));
	if (!off)
		snprintf(buf, len, "%s", none);
}

static void row_head(const struct ab_args *a)
{
	if (a->k.all)
		printf("%-20s ", "NAMESPACE");
	if (a->schedule)
		printf("%-28s %-10s %-20s %-16s %-7s %-25s %-25s %s", "NAME", "STATUS", "SCHEDULE",
		       "ZONE", "PAUSED", "LAST BACKUP", "NEXT RUN", "SELECTOR");
	else if (!a->restore)
		printf("%-28s %-17s %-6s %-8s %-25s %-8s %-20s %s", "NAME", "STATUS", "ERRORS",
		       "WARNINGS", "CREATED", "EXPIRES", "STORAGE LOCATION", "SELECTOR");
	else
		printf("%-28s %-28s %-17s %-25s %-25s %-6s %-8s %-25s %s", "NAME", "BACKUP",
		       "STATUS", "STARTED", "COMPLETED", "ERRORS", "WARNINGS", "CREATED",
		       "SELECTOR");
	if (a->out == AB_OUT_WIDE)
		printf("  %-7s %-7s %s", "ITEMS", "VOLUMES", a->restore ? "REASON" : "RECORD");
	printf("\n");
}

static void row(const struct ab_args *a, const struct k8s_obj *o)
{
	char created[40], exp[32], sel[256], t1[40], t2[40];
	const char *phase = k8s_obj_str(o, "/status/phase");

	when(o, "/metadata/creationTimestamp", created, sizeof(created));
	selector_str(o, "/spec/labelSelector", sel, sizeof(sel));
	if (a->k.all)
		printf("%-20s ", or_none(k8s_obj_get_ns(o)));
	if (a->schedule) {
		bool paused = false;

		k8s_obj_bool(o, "/spec/paused", &paused);
		selector_str(o, "/spec/template/labelSelector", sel, sizeof(sel));
		when(o, "/status/lastBackup", t1, sizeof(t1));
		printf("%-28s %-10s %-20s %-16s %-7s %-25s %-25s %s", or_none(k8s_obj_get_name(o)),
		       phase ? phase : "New", or_none(k8s_obj_str(o, "/spec/schedule")),
		       k8s_obj_str(o, "/spec/timeZone") ? k8s_obj_str(o, "/spec/timeZone") : "UTC",
		       paused ? "true" : "false", t1, or_none(k8s_obj_str(o, "/status/nextRun")),
		       sel);
	} else if (!a->restore) {
		const char *loc = k8s_obj_str(o, "/spec/storageLocation");

		op_age(k8s_obj_str(o, "/status/expiration"), "<none>", true, exp, sizeof(exp));
		printf("%-28s %-17s %-6" PRId64 " %-8" PRId64 " %-25s %-8s %-20s %s",
		       or_none(k8s_obj_get_name(o)), phase ? phase : "New",
		       num(o, "/status/errors"), num(o, "/status/warnings"), created, exp,
		       loc ? loc : "default", sel);
	} else {
		when(o, "/status/startTimestamp", t1, sizeof(t1));
		when(o, "/status/completionTimestamp", t2, sizeof(t2));
		printf("%-28s %-28s %-17s %-25s %-25s %-6" PRId64 " %-8" PRId64 " %-25s %s",
		       or_none(k8s_obj_get_name(o)), or_none(k8s_obj_str(o, "/spec/backupName")),
		       phase ? phase : "New", t1, t2, num(o, "/status/errors"),
		       num(o, "/status/warnings"), created, sel);
	}
	if (a->out == AB_OUT_WIDE) {
		char items[32], vols[32];

		snprintf(items, sizeof(items), "%" PRId64 "/%" PRId64,
			 num(o, a->restore ? "/status/progress/itemsRestored"
					   : "/status/progress/itemsBackedUp"),
			 num(o, "/status/progress/totalItems"));
		snprintf(vols, sizeof(vols), "%zu", k8s_obj_len(o, "/status/volumes"));
		printf("  %-7s %-7s %s", items, vols,
		       a->restore ? or_none(k8s_obj_str(o, "/status/failureReason"))
				  : or_none(k8s_obj_str(o, "/status/recordId")));
	}
	printf("\n");
}

/* -o json|yaml: one object, or a List of them, on stdout */
static int print_obj(const struct ab_args *a, const struct k8s_obj *o)
{
	char *s = a->out == AB_OUT_YAML ? k8s_obj_yaml(o) : k8s_obj_json(o);

	if (!s)
		return ctl_fail(-ENOMEM, NULL, "%s: printing the object", ab_noun(a));
	if (a->out == AB_OUT_JSON)
		printf("%s\n", s);
	else
		fputs(s, stdout);
	free(s);
	return fflush(stdout) ? ctl_fail(-EIO, NULL, "writing stdout") : 0;
}

/* ------------------------------------------------------------- the verbs */

static int ab_client(const struct ab_args *a, struct k8s_client **c, const char **ns)
{
	return op_cluster_client(&a->k, ab_verb(a), " (a repository's records: --repo URL)", c, ns);
}

static bool phase_final(const char *p)
{
	return p && (!strcmp(p, "Completed") || !strcmp(p, "PartiallyFailed") ||
		     !strcmp(p, "Failed") || !strcmp(p, "FailedValidation"));
}

/* The reason of a final phase that is not Completed: the first one said. */
static const char *final_reason(const struct k8s_obj *o)
{
	const char *s = k8s_obj_str(o, "/status/validationErrors/0");

	if (!s)
		s = k8s_obj_str(o, "/status/failureReason");
	for (const struct k8s_obj *c = k8s_obj_first(k8s_obj_at(o, "/status/conditions")); !s && c;
	     c = k8s_obj_next(c))
		if (k8s_obj_str(c, "/status") && !strcmp(k8s_obj_str(c, "/status"), "False"))
			s = k8s_obj_str(c, "/message");
	if (!s)
		s = k8s_obj_str(o, "/status/warningMessages/0");
	return s ? s : "no reason given";
}

/* the progress line without its time: phase, items, volumes */
static void progress_text(const struct ab_args *a, const struct k8s_obj *o, char *buf, size_t len)
{
	const char *phase = k8s_obj_str(o, "/status/phase");
	size_t nv = k8s_obj_len(o, "/status/volumes"), done = 0;

	for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(o, "/status/volumes")); v;
	     v = k8s_obj_next(v)) {
		const char *p = k8s_obj_str(v, "/phase");

		done += p && (!strcmp(p, "Completed") || !strcmp(p, "Skipped"));
	}
	snprintf(buf, len, "%s %s/%s: %s, %" PRId64 "/%" PRId64 " items, %zu/%zu volumes",
		 ab_noun(a), k8s_obj_get_ns(o) ? k8s_obj_get_ns(o) : "", k8s_obj_get_name(o),
		 phase ? phase : "New",
		 num(o, a->restore ? "/status/progress/itemsRestored"
				   : "/status/progress/itemsBackedUp"),
		 num(o, "/status/progress/totalItems"), done, nv);
}

/*
 * --wait: every second until a final phase. On a terminal one line
 * rewritten in place; otherwise a line each time the phase, the items or
 * the volumes change. Still New after AB_WAIT_HINT_S: a hint on stderr.
 */
#define AB_WAIT_HINT_S 30
static int ab_wait(const struct ab_args *a, struct k8s_client *c, const char *ns, const char *name)
{
	bool tty = isatty(STDOUT_FILENO), hinted = false;
	char line[256], last[256] = "";
	int64_t t0 = k8s_now_ns(), secs;
	struct k8s_obj *o = NULL;
	struct k8s_err err;
	const char *phase;
	int ret;

	for (;;) {
		k8s_obj_free(o);
		o = NULL;
		ret = k8s_get(c, ab_res(a), ns, name, NULL, &o, &err);
		if (ret) {
			if (tty)
				printf("\n");
			return ctl_fail(ret, err.msg, "%s %s/%s", ab_noun(a), ns, name);
		}
		secs = (k8s_now_ns() - t0) / 1000000000;
		progress_text(a, o, line, sizeof(line));
		if (tty)
			printf("\r\033[K%s, %" PRId64 " s", line, secs);
		else if (strcmp(line, last))
			printf("%s, %" PRId64 " s\n", line, secs);
		fflush(stdout);
		snprintf(last, sizeof(last), "%s", line);
		phase = k8s_obj_str(o, "/status/phase");
		if (phase_final(phase))
			break;
		if (!hinted && secs >= AB_WAIT_HINT_S && (!phase || !strcmp(phase, "New"))) {
			fprintf(stderr,
				"%sferry: %s %s/%s is still New after %d s: is `ferry "
				"controller` running?\n",
				tty ? "\n" : "", ab_noun(a), ns, name, AB_WAIT_HINT_S);
			hinted = true;
		}
		sleep(1);
	}
	if (tty)
		printf("\n");
	if (!strcmp(phase, "Completed")) {
		printf("%s %s/%s completed. 'ferry %s describe %s -n %s' for details.\n",
		       ab_noun(a), ns, name, ab_noun(a), name, ns);
		ret = 0;
	} else {
		ret = ctl_fail(-EPROTO, NULL, "%s %s/%s ended %s: %s", ab_noun(a), ns, name, phase,
			       final_reason(o));
	}
	k8s_obj_free(o);
	return ret;
}

static int ab_create(const struct ab_args *a)
{
	struct k8s_client *c = NULL;
	struct k8s_obj *o = NULL, *made = NULL;
	struct k8s_err err;
	const char *ns = a->k.ns;
	char name[CLUSTER_NAME_MAX + 20];
	int ret;

	if (a->nnames && strlen(a->names[0]) > CLUSTER_NAME_MAX)
		return ctl_usage_error(ab_verb(a), "NAME is longer than %d characters",
				       CLUSTER_NAME_MAX);
	if (a->nnames)
		snprintf(name, sizeof(name), "%s", a->names[0]);
	else {
		/* Velero's default: BACKUP-YYYYMMDDhhmmss */
		time_t now = time(NULL);
		struct tm tm;
		char ts[16];

		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y%m%d%H%M%S", &tm);
		snprintf(name, sizeof(name), "%.*s-%s", CLUSTER_NAME_MAX - 15, a->from_backup, ts);
	}
	if (a->out == AB_OUT_TEXT || a->from_schedule) {
		ret = ab_client(a, &c, &ns);
		if (ret)
			return ret;
	} else if (!ns) {
		/* -o needs no cluster: the kubeconfig's namespace if there is one */
		struct k8s_config_opts co = {
			.sz = sizeof(co), .kubeconfig = a->k.kubeconfig, .context = a->k.context};
		struct k8s_err quiet;

		if (!k8s_client_open(&co, NULL, &c, &quiet))
			ns = k8s_config_ns(k8s_client_config(c));
		else
			ns = "default";
	}
	ret = ab_build(a, c, ns, name, &o);
	if (ret)
		goto out;
	if (a->out != AB_OUT_TEXT) {
		ret = print_obj(a, o);
		goto out;
	}
	ret = k8s_create(c, ab_res(a), ns, o, NULL, &made, &err);
	if (ret) {
		ret = ctl_fail(ret, err.msg, "%s create %s/%s", ab_noun(a), ns, name);
		goto out;
	}
	if (a->schedule) {
		printf("Schedule \"%s\" created successfully (namespace %s).\n", name, ns);
		goto out;
	}
	printf("%s request \"%s\" submitted successfully (namespace %s).\n",
	       a->restore ? "Restore" : "Backup", name, ns);
	if (a->wait)
		ret = ab_wait(a, c, ns, name);
	else
		printf("Run 'ferry %s describe %s -n %s' for more details.\n", ab_noun(a), name,
		       ns);
out:
	k8s_obj_free(made);
	k8s_obj_free(o);
	k8s_client_free(c);
	return ret;
}

static int ab_get(const struct ab_args *a)
{
	struct k8s_client *c = NULL;
	struct k8s_items *l = NULL;
	struct k8s_obj *list = NULL, *one = NULL;
	struct k8s_err err;
	struct ctl_selector sel;
	struct ctl_err cerr;
	const char *ns = NULL;
	int ret;

	if (a->selector) {
		if (ctl_selector_parse(a->selector, &sel, &cerr))
			return ctl_usage_error(ab_verb(a), "-l: %s", cerr.msg);
		ctl_selector_fini(&sel);
		if (a->nnames)
			return ctl_usage_error(ab_verb(a), "-l lists: no NAME with it");
	}
	ret = ab_client(a, &c, &ns);
	if (ret)
		return ret;
	ret = k8s_obj_parse("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[]}",
			    strlen("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[]}"),
			    &list);
	if (ret) {
		ret = ctl_fail(ret, NULL, "out of memory");
		goto out;
	}
	if (!a->nnames) {
		struct k8s_call call = {.label_selector = a->selector};

		ret = k8s_list(c, ab_res(a), a->k.all ? "" : ns, &call, &l, &err);
		if (ret) {
			ret = ctl_fail(ret, err.msg, "%s get", ab_noun(a));
			goto out;
		}
		for (size_t i = 0; !ret && i < k8s_items_len(l); i++)
			ret = k8s_obj_set_copy(list, "/items/-", k8s_items_at(l, i));
	}
	for (int i = 0; !ret && i < a->nnames; i++) {
		ret = k8s_get(c, ab_res(a), ns, a->names[i], NULL, &one, &err);
		if (ret) {
			ret = ctl_fail(ret, err.msg, "%s get %s", ab_noun(a), a->names[i]);
			goto out;
		}
		ret = k8s_obj_set(list, "/items/-", one);
		if (ret)
			k8s_obj_free(one);
		one = NULL;
	}
	if (ret) {
		ret = ctl_fail(ret, NULL, "out of memory");
		goto out;
	}
	if (a->out == AB_OUT_JSON || a->out == AB_OUT_YAML) {
		ret = print_obj(a, list);
		goto out;
	}
	if (!k8s_obj_len(list, "/items")) {
		fprintf(stderr, "No %ss found in %s.\n", ab_kind(a),
			a->k.all ? "any namespace" : ns);
		goto out;
	}
	row_head(a);
	for (const struct k8s_obj *o = k8s_obj_first(k8s_obj_at(list, "/items")); o;
	     o = k8s_obj_next(o))
		row(a, o);
out:
	k8s_obj_free(list);
	k8s_items_free(l);
	k8s_client_free(c);
	return ret;
}

static void describe_msgs(const struct k8s_obj *o, const char *path, const char *title,
			  bool details)
{
	size_t n = k8s_obj_len(o, path), shown = 0;

	if (!n)
		return;
	printf("%s:\n", title);
	for (const struct k8s_obj *e = k8s_obj_first(k8s_obj_at(o, path)); e; e = k8s_obj_next(e)) {
		if (!details && shown == 3) {
			printf("  ... %zu more (--details)\n", n - shown);
			break;
		}
		printf("  %s\n", or_none(k8s_obj_str(e, "")));
		shown++;
	}
}

static void describe_volumes(const struct ab_args *a, const struct k8s_obj *o)
{
	size_t n = k8s_obj_len(o, "/status/volumes");
	int64_t total = 0, fresh = 0;

	printf("Volumes:           %zu\n", n);
	for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(o, "/status/volumes")); v;
	     v = k8s_obj_next(v)) {
		total += num(v, "/size");
		fresh += num(v, a->restore ? "/bytesDone" : "/bytesNew");
		if (!a->details)
			continue;
		printf("  %s/%s: %s, %.1f MB, %.1f MB %s", or_none(k8s_obj_str(v, "/namespace")),
		       or_none(k8s_obj_str(v, "/pvc")), or_none(k8s_obj_str(v, "/phase")),
		       (double)num(v, "/size") / 1e6,
		       (double)num(v, a->restore ? "/bytesDone" : "/bytesNew") / 1e6,
		       a->restore ? "written" : "new");
		if (num(v, "/milliseconds") > 0)
			printf(", %.1f s, %.0f MB/s", (double)num(v, "/milliseconds") / 1e3,
			       (double)num(v, "/size") / 1e3 / (double)num(v, "/milliseconds"));
		if (k8s_obj_str(v, "/snapshotId"))
			printf(", snapshot %.16s", k8s_obj_str(v, "/snapshotId"));
		if (k8s_obj_str(v, "/volume"))
			printf(" (%s)", k8s_obj_str(v, "/volume"));
		if (k8s_obj_str(v, "/message"))
			printf(": %s", k8s_obj_str(v, "/message"));
		printf("\n");
	}
	if (n)
		printf("  total %.1f MB, %.1f MB %s\n", (double)total / 1e6, (double)fresh / 1e6,
		       a->restore ? "written" : "new");
}

static int ab_describe(const struct ab_args *a)
{
	struct k8s_client *c = NULL;
	struct k8s_obj *o = NULL;
	struct k8s_err err;
	const char *ns = NULL, *phase;
	char buf[1024], t1[40], t2[40];
	int64_t s, e;
	int ret = ab_client(a, &c, &ns);

	if (ret)
		return ret;
	ret = k8s_get(c, ab_res(a), ns, a->names[0], NULL, &o, &err);
	if (ret) {
		ret = ctl_fail(ret, err.msg, "%s describe %s", ab_noun(a), a->names[0]);
		goto out;
	}
	if (a->out != AB_OUT_TEXT) {
		ret = print_obj(a, o);
		goto out;
	}
	phase = k8s_obj_str(o, "/status/phase");
	printf("Name:              %s\nNamespace:         %s\n", a->names[0], ns);
	buf[0] = '\0';
	for (const struct k8s_obj *l = k8s_obj_first(k8s_obj_at(o, "/metadata/labels")); l;
	     l = k8s_obj_next(l))
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s=%s", buf[0] ? "," : "",
			 k8s_obj_name(l), or_none(k8s_obj_str(l, "")));
	printf("Labels:            %s\n", or_none(buf));
	printf("Phase:             %s\n", phase ? phase : "New");
	if (phase_final(phase) && strcmp(phase, "Completed"))
		printf("Reason:            %s\n", final_reason(o));
	if (a->restore)
		printf("Backup:            %s\n", or_none(k8s_obj_str(o, "/spec/backupName")));
	else
		printf("Storage location:  %s\n", k8s_obj_str(o, "/spec/storageLocation")
							  ? k8s_obj_str(o, "/spec/storageLocation")
							  : "default");
	strs(o, "/spec/includedNamespaces", "*", buf, sizeof(buf));
	printf("Namespaces:\n  Included:        %s\n", buf);
	strs(o, "/spec/excludedNamespaces", "<none>", buf, sizeof(buf));
	printf("  Excluded:        %s\n", buf);
	strs(o, "/spec/includedResources", "*", buf, sizeof(buf));
	printf("Resources:\n  Included:        %s\n", buf);
	strs(o, "/spec/excludedResources", "<none>", buf, sizeof(buf));
	printf("  Excluded:        %s\n", buf);
	{
		bool b;

		printf("  Cluster-scoped:  %s\n",
		       k8s_obj_bool(o, "/spec/includeClusterResources", &b) ? "auto"
		       : b						    ? "included"
									    : "excluded");
	}
	selector_str(o, "/spec/labelSelector", buf, sizeof(buf));
	printf("Label selector:    %s\n", buf);
	if (k8s_obj_len(o, "/spec/orLabelSelectors")) {
		printf("Or label selectors:\n");
		for (const struct k8s_obj *x =
			     k8s_obj_first(k8s_obj_at(o, "/spec/orLabelSelectors"));
		     x; x = k8s_obj_next(x)) {
			char *str = NULL;

			if (!k8s_selector_string(x, &str))
				printf("  %s\n", or_none(str));
			free(str);
		}
	}
	if (a->restore) {
		const char *p = k8s_obj_str(o, "/spec/existingResourcePolicy");
		bool b;

		buf[0] = '\0';
		for (const struct k8s_obj *m =
			     k8s_obj_first(k8s_obj_at(o, "/spec/namespaceMapping"));
		     m; m = k8s_obj_next(m))
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s:%s",
				 buf[0] ? "," : "", k8s_obj_name(m), or_none(k8s_obj_str(m, "")));
		printf("Namespace mappings: %s\n", or_none(buf));
		printf("Existing resource policy: %s\n", p ? p : "none");
		printf("Restore volumes:   %s\n",
		       k8s_obj_bool(o, "/spec/restoreVolumes", &b) || b ? "true" : "false");
		printf("Preserve nodePorts: %s\n",
		       !k8s_obj_bool(o, "/spec/preserveNodePorts", &b) && b ? "true" : "false");
		printf("Scale workloads to zero: %s\n",
		       !k8s_obj_bool(o, "/spec/scaleWorkloadsToZero", &b) && b ? "true" : "false");
	} else {
		bool b;

		printf("Snapshot volumes:  %s\n",
		       k8s_obj_bool(o, "/spec/snapshotVolumes", &b) || b ? "true" : "false");
		printf("TTL:               %s\n", or_none(k8s_obj_str(o, "/spec/ttl")));
	}
	when(o, "/status/startTimestamp", t1, sizeof(t1));
	when(o, "/status/completionTimestamp", t2, sizeof(t2));
	printf("Started:           %s\nCompleted:         %s\n", t1, t2);
	if (k8s_obj_str(o, "/status/startTimestamp") &&
	    !k8s_time_parse(k8s_obj_str(o, "/status/startTimestamp"), &s) &&
	    k8s_obj_str(o, "/status/completionTimestamp") &&
	    !k8s_time_parse(k8s_obj_str(o, "/status/completionTimestamp"), &e))
		printf("Duration:          %.0f s\n", (double)(e - s) / 1e9);
	if (!a->restore) {
		when(o, "/status/expiration", t1, sizeof(t1));
		printf("Expiration:        %s\n", t1);
	}
	printf("Items:             %" PRId64 " of %" PRId64 " %s\n",
	       num(o, a->restore ? "/status/progress/itemsRestored"
				 : "/status/progress/itemsBackedUp"),
	       num(o, "/status/progress/totalItems"), a->restore ? "restored" : "backed up");
	if (!a->restore)
		printf("Record:            %s\n", or_none(k8s_obj_str(o, "/status/recordId")));
	describe_volumes(a, o);
	printf("Errors:            %" PRId64 "\nWarnings:          %" PRId64 "\n",
	       num(o, "/status/errors"), num(o, "/status/warnings"));
	describe_msgs(o, "/status/validationErrors", "Validation errors", true);
	describe_msgs(o, "/status/warningMessages", "Warning messages", a->details);
	if (a->details && !a->restore && k8s_obj_str(o, "/status/recordId"))
		printf("Objects:           listed by the record: ferry backup describe %s -n %s "
		       "--details --repo URL\n",
		       a->names[0], ns);
out:
	k8s_obj_free(o);
	k8s_client_free(c);
	return ret;
}

/* logs NAME: the log kept in the repository, on stdout */
static int ab_logs(const struct ab_args *a)
{
	struct k8s_client *c = NULL;
	struct k8s_err err = {0};
	const char *ns = NULL;
	char why[512], *text = NULL;
	size_t len = 0;
	int ret = ab_client(a, &c, &ns);

	if (ret)
		return ret;
	ret = cluster_log_read(c, ns, a->names[0], a->restore, &text, &len, why, sizeof(why), &err);
	if (ret)
		ret = ctl_fail(ret, NULL, "%s logs %s: %s", ab_noun(a), a->names[0], why);
	else if (fwrite(text, 1, len, stdout) != len || fflush(stdout))
		ret = ctl_fail(-EIO, NULL, "writing stdout");
	free(text);
	k8s_client_free(c);
	return ret;
}

/* whether the user says yes to deleting what @a names (a terminal's answer) */
static int ab_confirm(const struct ab_args *a, const char *ns)
{
	char line[16];

	if (a->yes)
		return 0;
	if (!isatty(STDIN_FILENO))
		return ctl_usage_error(ab_verb(a),
				       "deleting asks first: give --yes (stdin is not a terminal)");
	printf("Delete %d %s%s in namespace %s (%s%s)? [y/N] ", a->nnames, ab_noun(a),
	       a->nnames == 1 ? "" : "s", ns, a->names[0], a->nnames > 1 ? ", ..." : "");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin) ||
	    (strcmp(line, "y\n") && strcmp(line, "yes\n") && strcmp(line, "Y\n")))
		return ctl_fail(-ECANCELED, NULL, "not confirmed: nothing deleted");
	return 0;
}

/*
 * --wait of a delete: every second until @name is gone (0). A Backup whose
 * finalizer refuses to let it go (Object Lock, a ReadOnly or unreachable
 * Repository: its Ready condition False with the reason) ends the wait
 * with that reason (-EBUSY: exit 6) once the condition is about the delete.
 */
static int ab_wait_gone(const struct ab_args *a, struct k8s_client *c, const char *ns,
			const char *name)
{
	static const char *const refusals[] = {"ObjectLocked", "RepositoryReadOnly",
					       "RepositoryUnavailable"};

	for (;;) {
		struct k8s_condition cond;
		struct k8s_obj *o = NULL;
		struct k8s_err err;
		int ret = k8s_get(c, ab_res(a), ns, name, NULL, &o, &err);

		if (ret == -ENOENT)
			return 0;
		if (ret)
			return ctl_fail(ret, err.msg, "%s delete %s/%s", ab_noun(a), ns, name);
		if (k8s_obj_str(o, "/metadata/deletionTimestamp") &&
		    !k8s_condition_get(o, "Ready", &cond) && !strcmp(cond.status, "False"))
			for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
				if (!strcmp(cond.reason, refusals[i])) {
					ret = ctl_fail(
						-EBUSY, NULL, "%s %s/%s is not deleted: %s: %s",
						ab_noun(a), ns, name, cond.reason, cond.message);
					k8s_obj_free(o);
					return ret;
				}
		k8s_obj_free(o);
		sleep(1);
	}
}

/* delete NAME...: each asked for; a Backup's finalizer then forgets what it stored */
static int ab_delete(const struct ab_args *a)
{
	struct k8s_client *c = NULL;
	const char *ns = NULL;
	int ret, first = 0;

	ret = ab_client(a, &c, &ns);
	if (ret)
		return ret;
	ret = ab_confirm(a, ns);
	for (int i = 0; !ret && i < a->nnames; i++) {
		struct k8s_err err;
		int r = k8s_delete(c, ab_res(a), ns, a->names[i], NULL, NULL, &err);

		if (r) {
			r = ctl_fail(r, err.msg, "%s delete %s/%s", ab_noun(a), ns, a->names[i]);
			first = first ? first : r;
			continue;
		}
		printf("Request to delete %s \"%s\" submitted successfully (namespace %s).\n",
		       ab_noun(a), a->names[i], ns);
		if (!a->restore)
			printf("The backup is deleted once its backup record and snapshots are "
			       "forgotten.\n");
	}
	for (int i = 0; !ret && a->wait && i < a->nnames; i++) {
		int r = ab_wait_gone(a, c, ns, a->names[i]);

		if (!r)
			printf("%s \"%s\" deleted.\n", a->restore ? "Restore" : "Backup",
			       a->names[i]);
		first = first ? first : r;
	}
	k8s_client_free(c);
	return ret ? ret : first;
}

/* schedule describe NAME: the spec, the template, the status */
static int schedule_describe(const struct ab_args *a)
{
	struct k8s_client *c = NULL;
	struct k8s_obj *o = NULL;
	struct k8s_err err;
	const char *ns = NULL;
	char t1[40], sel[256];
	char *tpl = NULL;
	bool paused = false, skip = false;
	int ret;

	ret = ab_client(a, &c, &ns);
	if (ret)
		return ret;
	ret = k8s_get(c, ab_res(a), ns, a->names[0], NULL, &o, &err);
	if (ret) {
		ret = ctl_fail(ret, err.msg, "schedule describe %s/%s", ns, a->names[0]);
		goto out;
	}
	if (a->out != AB_OUT_TEXT) {
		ret = print_obj(a, o);
		goto out;
	}
	k8s_obj_bool(o, "/spec/paused", &paused);
	k8s_obj_bool(o, "/spec/skipImmediately", &skip);
	selector_str(o, "/spec/template/labelSelector", sel, sizeof(sel));
	printf("Name:              %s\nNamespace:         %s\n", a->names[0], ns);
	printf("Schedule:          %s\nTime zone:         %s\n",
	       or_none(k8s_obj_str(o, "/spec/schedule")),
	       k8s_obj_str(o, "/spec/timeZone") ? k8s_obj_str(o, "/spec/timeZone") : "UTC");
	printf("Paused:            %s\nSkip immediately:  %s\n", paused ? "true" : "false",
	       skip ? "true" : "false");
	printf("Phase:             %s\n", or_none(k8s_obj_str(o, "/status/phase")));
	when(o, "/status/lastBackup", t1, sizeof(t1));
	printf("Last backup:       %s\nNext run:          %s\n", t1,
	       or_none(k8s_obj_str(o, "/status/nextRun")));
	printf("Selector:          %s\n", sel);
	tpl = k8s_obj_json(k8s_obj_at(o, "/spec/template"));
	printf("Template:          %s\n", tpl ? tpl : "<none>");
	describe_msgs(o, "/status/validationErrors", "Validation errors", true);
out:
	free(tpl);
	k8s_obj_free(o);
	k8s_client_free(c);
	return ret;
}

/* schedule pause|unpause NAME...: spec.paused, a merge patch each */
static int schedule_pause(const struct ab_args *a, bool pause)
{
	struct k8s_client *c = NULL;
	struct k8s_obj *patch = NULL;
	const char *ns = NULL;
	int ret, first = 0;

	ret = ab_client(a, &c, &ns);
	if (ret)
		return ret;
	if (k8s_obj_new(&patch) || k8s_obj_set_bool(patch, "/spec/paused", pause)) {
		ret = ctl_fail(-ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (int i = 0; i < a->nnames; i++) {
		struct k8s_err err;
		int r = k8s_patch(c, ab_res(a), ns, a->names[i], K8S_PATCH_MERGE, patch, NULL, NULL,
				  &err);

		if (r)
			r = ctl_fail(r, err.msg, "schedule %s %s/%s", a->word, ns, a->names[i]);
		else
			printf("Schedule \"%s\" %s.\n", a->names[i], pause ? "paused" : "unpaused");
		first = first ? first : r;
	}
	ret = first;
out:
	k8s_obj_free(patch);
	k8s_client_free(c);
	return ret;
}

static int ab_cmd(int argc, char **argv, bool restore, bool schedule)
{
	struct ab_args a = {.restore = restore,
			    .schedule = schedule,
			    .paused = -1,
			    .skip_now = -1,
			    .keep = {-1, -1, -1, -1, -1},
			    .word = argv[0],
			    .inc_cluster = -1,
			    .snap_vols = -1,
			    .restore_vols = -1,
			    .preserve_np = -1,
			    .zero = -1};
	int ret;

	snprintf(a.verb, sizeof(a.verb), "%s %s", ab_noun(&a), a.word);
	ret = ab_parse(argc, argv, &a);
	if (ret || a.help) {
		if (a.help && schedule)
			schedule_usage(stdout);
		else if (a.help)
			ab_usage(stdout, restore);
		return ret;
	}
	if (schedule && !strcmp(a.word, "describe"))
		return schedule_describe(&a);
	if (schedule && (!strcmp(a.word, "pause") || !strcmp(a.word, "unpause")))
		return schedule_pause(&a, !strcmp(a.word, "pause"));
	if (!strcmp(a.word, "create"))
		return ab_create(&a);
	if (!strcmp(a.word, "get"))
		return ab_get(&a);
	if (!strcmp(a.word, "describe"))
		return ab_describe(&a);
	if (!strcmp(a.word, "delete"))
		return ab_delete(&a);
	if (!strcmp(a.word, "logs") && !schedule)
		return ab_logs(&a);
	return ctl_usage_error(ab_verb(&a), "'%s': create, get, describe%s or delete", a.word,
			       schedule ? ", pause, unpause" : ", logs");
}

int ctl_cmd_backup_cluster(int argc, char **argv)
{
	return ab_cmd(argc, argv, false, false);
}

int ctl_cmd_restore_cluster(int argc, char **argv)
{
	return ab_cmd(argc, argv, true, false);
}

int ctl_cmd_schedule(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		schedule_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? -EINVAL : 0;
	}
	return ab_cmd(argc - 1, argv + 1, false, true);
}
