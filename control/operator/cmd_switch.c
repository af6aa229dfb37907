// SPDX-License-Identifier: MIT
/*
 * control/operator/cmd_switch.c - `ferry switch start|status|promote|abort|
 * rollback|list`: StatefulSwitches (k8s/deploy/crd-statefulswitches.yaml), the
 * blue/green switches of a StatefulSet with its volumes that `ferry
 * controller` runs (control/bluegreen/).
 *
 *   start NAME --workload STS --service SVC [...]   the StatefulSwitch made
 *        beside blue's StatefulSet; one that exists already is refused
 *        (exit 6), never changed
 *   status NAME [-o json|yaml]   the phase, health, message, the rounds, the
 *        prediction and the cutover's instants; -o: the object
 *   promote|abort NAME           spec.promote / spec.abort set (a merge patch)
 *   rollback NAME [--mode M]     spec.rollback set (and spec.rollbackMode)
 *   list [-A] [-o json|yaml]     a row per switch
 *
 * Every value is checked here before anything is sent, as the CRD's schema
 * would check it (names as DNS labels, the enums, the ranges): bad input is
 * one line on stderr and exit 2, with nothing written. The namespace is -n,
 * else the kubeconfig context's.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "operator.h"
#include "verbs.h"
#include "control/bluegreen/bluegreen.h"
#include "control/cli/cli.h"
#include "k8s/k8s.h"

#define SW_NAME_MAX   63   /* the CRD's maxLength of every name it holds */
#define SW_REPO_MAX   253  /* a Repository's name: a DNS subdomain */
#define SW_IMAGE_MAX  1024 /* the CRD's maxLength of an image */
#define SW_IMAGES_MAX 64
#define SW_ROUNDS     5 /* the rounds status prints, the last ones */
#define SW_GREEN      "-green"

enum sw_out { SW_OUT_TEXT, SW_OUT_JSON, SW_OUT_YAML };

struct sw_image {
	char container[SW_NAME_MAX + 1];
	const char *image; /* borrowed from argv */
};

struct sw_args {
	struct op_cluster k;
	const char *workload, *service, *preview, *green, *repository;
	const char *rollback_mode, *release, *mode, *copy;
	struct sw_image images[SW_IMAGES_MAX];
	size_t nimages;
	unsigned long sync_s, promote_after_s, scale_down_s;
	bool has_sync, has_promote_after, has_scale_down, no_auto;
	double max_window_s, deadline_s; /* 0: not given */
	const char *start_only;		 /* the first of start's options given */
	bool has_out, help;
	enum sw_out out;
};

static void sw_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry switch start NAME --workload STS --service SVC [--preview-service SVC]\n"
		"                         [--image CONTAINER=IMAGE]... [--green-name NAME]\n"
		"                         [--repository R] [--sync-interval SECONDS]\n"
		"                         [--max-window SECONDS] [--deadline SECONDS]\n"
		"                         [--no-auto-promote] [--auto-promotion-seconds SECONDS]\n"
		"                         [--scale-down-delay SECONDS]\n"
		"                         [--rollback-mode Discard|KeepGreenWrites]\n"
		"                         [--release Retain|Delete] [--copy-method Repository|Clone]\n"
		"                         [-o json|yaml]\n"
		"       ferry switch status NAME [-o json|yaml]\n"
		"       ferry switch promote NAME\n"
		"       ferry switch abort NAME\n"
		"       ferry switch rollback NAME [--mode Discard|KeepGreenWrites]\n"
		"       ferry switch list [-A] [-o json|yaml]\n\n"
		"A StatefulSwitch moves a StatefulSet's service from blue (the StatefulSet serving\n"
		"now) to green (a copy of it with the new image): green's volumes are seeded from\n"
		"blue's snapshots and kept close by delta rounds while blue serves; at the switch\n"
		"blue stops only for the last delta, then the Service's selector moves to green's\n"
		"pods in one patch. Blue is kept at zero replicas, with its volumes, for the\n"
		"rollback window. `ferry controller` runs it (the object only is written here).\n\n"
		"start makes the StatefulSwitch (one of that name is refused, exit 6); status\n"
		"prints its phase, health, the last rounds, the prediction of the write-unavailable\n"
		"window and the cutover's instants; promote switches once a round converged (with\n"
		"--no-auto-promote); abort stops it before the switch (green deleted, blue as it\n"
		"was) or during the cutover (blue started again); rollback, inside the window after\n"
		"the switch, puts blue back.\n\n"
		"  --workload STS              blue: the StatefulSet in the switch's namespace\n"
		"  --service SVC               the Service that serves it (its selector is moved)\n"
		"  --preview-service SVC       a Service pointed at green's pods once they run\n"
		"  --image CONTAINER=IMAGE     green's image of a container (repeat for others)\n"
		"  --green-name NAME           green's StatefulSet (default: STS-green; STS without\n"
		"                              -green when it ends in it)\n"
		"  --repository R              the Repository in ferry-system (default: default)\n"
		"  --sync-interval SECONDS     between delta rounds, 1-86400 (default 30)\n"
		"  --max-window SECONDS        the longest write-unavailable window a switch may be\n"
		"                              predicted to take, 1-3600 (default 30)\n"
		"  --deadline SECONDS          abort a cutover not done this long after blue was told\n"
		"                              to stop, 1-7200 (default: twice --max-window)\n"
		"  --no-auto-promote           wait for `ferry switch promote` once a round converged\n"
		"  --auto-promotion-seconds S  ... or switch S seconds after it could (implies\n"
		"                              --no-auto-promote)\n"
		"  --scale-down-delay SECONDS  the rollback window after the switch (default 30)\n"
		"  --rollback-mode M, --mode M Discard (the default: blue as it was at the switch,\n"
		"                              green's writes lost) or KeepGreenWrites (green's\n"
		"                              volumes written back onto blue's: only when blue's\n"
		"                              version reads green's on-disk format)\n"
		"  --release Retain|Delete     after the window: blue's StatefulSet (at zero) and\n"
		"                              claims kept (Retain, the default) or deleted\n"
		"  --copy-method M             Repository (the default: seeded and synced through the\n"
		"                              repository while blue serves) or Clone (green's claims\n"
		"                              cloned from blue's in the cutover: copy-on-write drivers)\n"
		"  -o json|yaml                the object (list: a List) instead of the text\n"
		"  -n, --namespace NS          (default: the context's)\n"
		"  -A, --all-namespaces        list: every namespace\n"
		"  --kubeconfig FILE, --context NAME\n"
		"  -h, --help                  this text\n\n"
		"Exit: 0 done; 2 bad input (nothing sent); 3 no such switch; 6 refused (a switch of\n"
		"that name exists, or it has ended); 8, 9 the API server refused or cannot be\n"
		"reached.\n");
}

/* a DNS-1123 subdomain: dot-separated DNS labels, at most @max characters */
static bool sw_subdomain(const char *s, size_t max)
{
	char label[SW_NAME_MAX + 1];
	size_t n = strlen(s);

	if (!n || n > max)
		return false;
	for (const char *p = s;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		if (len > SW_NAME_MAX)
			return false;
		memcpy(label, p, len);
		label[len] = '\0';
		if (!ctl_namespace_valid(label))
			return false;
		if (!dot)
			return true;
		p = dot + 1;
	}
}

/* a Service's name: an RFC 1035 label (a DNS label that starts with a letter) */
static bool sw_service_name(const char *s)
{
	return ctl_namespace_valid(s) && s[0] >= 'a' && s[0] <= 'z';
}

/*
 * a number of seconds: digits with at most one '.', in [@min, @max] (no
 * sign, exponent, blank, inf or nan: what the CRD's number would refuse or
 * what nobody means). Return: 0; -EINVAL.
 */
static int sw_seconds(const char *s, double min, double max, double *out)
{
	size_t dots = 0, digits = 0;
	char *end = NULL;
	double v;

	for (const char *p = s; *p; p++) {
		if (*p == '.')
			dots++;
		else if (*p >= '0' && *p <= '9')
			digits++;
		else
			return -EINVAL;
	}
	if (!digits || dots > 1 || s[0] == '.')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* --image CONTAINER=IMAGE, added to @a's images */
static int sw_image_opt(struct sw_args *a, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t clen = eq ? (size_t)(eq - arg) : 0;
	struct sw_image *im;

	if (!eq || !clen || !eq[1])
		return ctl_usage_error("switch", "--image '%s': CONTAINER=IMAGE", arg);
	if (clen > SW_NAME_MAX)
		return ctl_usage_error("switch",
				       "--image '%s': the container's name is longer than %d", arg,
				       SW_NAME_MAX);
	if (strlen(eq + 1) > SW_IMAGE_MAX)
		return ctl_usage_error("switch", "--image %.*s=...: the image is longer than %d",
				       (int)clen, arg, SW_IMAGE_MAX);
	for (const char *p = eq + 1; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return ctl_usage_error(
				"switch",
				"--image %.*s=...: a blank or a control character in "
				"the image",
				(int)clen, arg);
	if (a->nimages == SW_IMAGES_MAX)
		return ctl_usage_error("switch", "--image: at most %d containers", SW_IMAGES_MAX);
	im = &a->images[a->nimages];
	memcpy(im->container, arg, clen);
	im->container[clen] = '\0';
	if (!ctl_namespace_valid(im->container))
		return ctl_usage_error("switch",
				       "--image '%s': the container's name '%s' is not a DNS label "
				       "(a-z, 0-9, '-')",
				       arg, im->container);
	for (size_t i = 0; i < a->nimages; i++)
		if (!strcmp(a->images[i].container, im->container))
			return ctl_usage_error("switch", "--image: container '%s' given twice",
					       im->container);
	im->image = eq + 1;
	a->nimages++;
	return 0;
}

static int sw_enum(const char *flag, const char *arg, const char *one, const char *two,
		   const char **out)
{
	if (strcmp(arg, one) && strcmp(arg, two))
		return ctl_usage_error("switch", "%s '%s': %s or %s", flag, arg, one, two);
	*out = arg;
	return 0;
}

/* getopt_long's refusal, in one line: the option named */
static int sw_bad_opt(int argc, char **argv, int opt)
{
	const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "?";

	if (opt == ':')
		return ctl_usage_error("switch", "option '%s' needs a value", word);
	if (optopt && !strncmp(word, "--", 2) && strchr(word, '='))
		return ctl_usage_error("switch", "option '%s' takes no value", word);
	return ctl_usage_error("switch", "unknown option '%s'", word);
}

static int sw_parse(int argc, char **argv, struct sw_args *a)
{
	enum {
		O_WORKLOAD = OP_OPT_VERB_BASE,
		O_SERVICE,
		O_PREVIEW,
		O_IMAGE,
		O_GREEN,
		O_REPO,
		O_SYNC,
		O_WINDOW,
		O_DEADLINE,
		O_NOAUTO,
		O_AUTOSEC,
		O_SCALEDOWN,
		O_RBMODE,
		O_RELEASE,
		O_COPY,
		O_MODE,
	};
	static const struct option opts[] = {
		OP_CLUSTER_LONGOPTS,
		OP_ALL_NAMESPACES_LONGOPT,
		{"workload", required_argument, NULL, O_WORKLOAD},
		{"service", required_argument, NULL, O_SERVICE},
		{"preview-service", required_argument, NULL, O_PREVIEW},
		{"image", required_argument, NULL, O_IMAGE},
		{"green-name", required_argument, NULL, O_GREEN},
		{"repository", required_argument, NULL, O_REPO},
		{"sync-interval", required_argument, NULL, O_SYNC},
		{"max-window", required_argument, NULL, O_WINDOW},
		{"deadline", required_argument, NULL, O_DEADLINE},
		{"no-auto-promote", no_argument, NULL, O_NOAUTO},
		{"auto-promotion-seconds", required_argument, NULL, O_AUTOSEC},
		{"scale-down-delay", required_argument, NULL, O_SCALEDOWN},
		{"rollback-mode", required_argument, NULL, O_RBMODE},
		{"release", required_argument, NULL, O_RELEASE},
		{"copy-method", required_argument, NULL, O_COPY},
		{"mode", required_argument, NULL, O_MODE},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int opt, li, ret = 0;

	optind = 1;
	opterr = 0; /* its messages are ours, one line each */
	while (!ret && (li = -1, opt = getopt_long(argc, argv, ":hn:o:A", opts, &li)) != -1) {
		if (opt >= O_WORKLOAD && opt != O_MODE && !a->start_only && li >= 0)
			a->start_only = opts[li].name;
		switch (opt) {
		case 'h':
			a->help = true;
			return 0;
		case O_WORKLOAD:
			a->workload = optarg;
			break;
		case O_SERVICE:
			a->service = optarg;
			break;
		case O_PREVIEW:
			a->preview = optarg;
			break;
		case O_IMAGE:
			ret = sw_image_opt(a, optarg);
			break;
		case O_GREEN:
			a->green = optarg;
			break;
		case O_REPO:
			a->repository = optarg;
			break;
		case O_SYNC:
			a->has_sync = true;
			if (ctl_parse_ulong(optarg, 1, 86400, &a->sync_s, NULL))
				ret = ctl_usage_error(
					"switch",
					"--sync-interval '%s': whole seconds from 1 to 86400",
					optarg);
			break;
		case O_AUTOSEC:
		case O_SCALEDOWN:
			if (ctl_parse_ulong(optarg, 0, 31536000,
					    opt == O_AUTOSEC ? &a->promote_after_s
							     : &a->scale_down_s,
					    NULL))
				ret = ctl_usage_error("switch",
						      "%s '%s': whole seconds from 0 to 31536000",
						      opt == O_AUTOSEC ? "--auto-promotion-seconds"
								       : "--scale-down-delay",
						      optarg);
			*(opt == O_AUTOSEC ? &a->has_promote_after : &a->has_scale_down) = true;
			break;
		case O_WINDOW:
			if (sw_seconds(optarg, 1, 3600, &a->max_window_s))
				ret = ctl_usage_error("switch",
						      "--max-window '%s': seconds from 1 to 3600",
						      optarg);
			break;
		case O_DEADLINE:
			if (sw_seconds(optarg, 1, 7200, &a->deadline_s))
				ret = ctl_usage_error("switch",
						      "--deadline '%s': seconds from 1 to 7200",
						      optarg);
			break;
		case O_NOAUTO:
			a->no_auto = true;
			break;
		case O_RBMODE:
			ret = sw_enum("--rollback-mode", optarg, "Discard", "KeepGreenWrites",
				      &a->rollback_mode);
			break;
		case O_RELEASE:
			ret = sw_enum("--release", optarg, "Retain", "Delete", &a->release);
			break;
		case O_COPY:
			ret = sw_enum("--copy-method", optarg, "Repository", "Clone", &a->copy);
			break;
		case O_MODE:
			ret = sw_enum("--mode", optarg, "Discard", "KeepGreenWrites", &a->mode);
			break;
		case 'o':
			a->has_out = true;
			if (!strcmp(optarg, "json"))
				a->out = SW_OUT_JSON;
			else if (!strcmp(optarg, "yaml"))
				a->out = SW_OUT_YAML;
			else
				ret = ctl_usage_error("switch", "-o %s: json or yaml", optarg);
			break;
		case ':':
		case '?':
			return sw_bad_opt(argc, argv, opt);
		default:
			if (op_cluster_opt(&a->k, opt, optarg))
				ret = sw_bad_opt(argc, argv, opt);
			break;
		}
	}
	return ret;
}

/* green's default name: blue's with -green added, or taken away when it ends in it */
static void sw_default_green(const char *blue, char *buf, size_t len)
{
	size_t n = strlen(blue), g = strlen(SW_GREEN);

	if (n > g && !strcmp(blue + n - g, SW_GREEN))
		snprintf(buf, len, "%.*s", (int)(n - g), blue);
	else
		snprintf(buf, len, "%s%s", blue, SW_GREEN);
}

/* start's names (sw_parse() took them as given) and its options together */
static int sw_start_check(const struct sw_args *a, char *green, size_t len)
{
	if (!a->workload || !a->service)
		return ctl_usage_error("switch", "start needs --workload STS and --service SVC");
	if (!ctl_namespace_valid(a->workload))
		return ctl_usage_error("switch",
				       "--workload '%s': not a DNS label (a-z, 0-9, '-', "
				       "at most 63)",
				       a->workload);
	if (!sw_service_name(a->service))
		return ctl_usage_error("switch",
				       "--service '%s': not a Service's name (a DNS label that "
				       "starts with a letter)",
				       a->service);
	if (a->preview && !sw_service_name(a->preview))
		return ctl_usage_error("switch",
				       "--preview-service '%s': not a Service's name (a DNS label "
				       "that starts with a letter)",
				       a->preview);
	if (a->preview && !strcmp(a->preview, a->service))
		return ctl_usage_error("switch", "--preview-service '%s' is the active Service",
				       a->preview);
	if (a->green && !ctl_namespace_valid(a->green))
		return ctl_usage_error("switch",
				       "--green-name '%s': not a DNS label (a-z, 0-9, '-', at most "
				       "63)",
				       a->green);
	if (a->repository && !sw_subdomain(a->repository, SW_REPO_MAX))
		return ctl_usage_error("switch", "--repository '%s': not a DNS subdomain",
				       a->repository);
	if (a->green)
		snprintf(green, len, "%s", a->green);
	else
		sw_default_green(a->workload, green, len);
	if (strlen(green) > SW_NAME_MAX)
		return ctl_usage_error("switch", "green's name %s is longer than %d: --green-name",
				       green, SW_NAME_MAX);
	if (!strcmp(green, a->workload))
		return ctl_usage_error("switch", "--green-name '%s' is blue's StatefulSet", green);
	return 0;
}

/* the StatefulSwitch the flags say */
static int sw_object(const struct sw_args *a, const char *ns, const char *name,
		     struct k8s_obj **out)
{
	struct k8s_obj *o = NULL;
	int ret = k8s_obj_new_kind(&bg_switches, ns, name, &o);

	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/workloadRef/apiVersion", "apps/v1");
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/workloadRef/kind", "StatefulSet");
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/workloadRef/name", a->workload);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/activeService", a->service);
	if (!ret && a->preview)
		ret = k8s_obj_set_str(o, "/spec/previewService", a->preview);
	if (!ret && a->green)
		ret = k8s_obj_set_str(o, "/spec/greenName", a->green);
	if (!ret && a->nimages)
		ret = k8s_obj_set_empty(o, "/spec/image", K8S_T_OBJECT);
	for (size_t i = 0; !ret && i < a->nimages; i++) {
		char path[SW_NAME_MAX + 16];

		/* a DNS label (sw_image_opt()): nothing to escape in a JSON Pointer */
		snprintf(path, sizeof(path), "/spec/image/%s", a->images[i].container);
		ret = k8s_obj_set_str(o, path, a->images[i].image);
	}
	if (!ret && a->repository)
		ret = k8s_obj_set_str(o, "/spec/repository", a->repository);
	if (!ret && a->has_sync)
		ret = k8s_obj_set_int(o, "/spec/syncIntervalSeconds", (int64_t)a->sync_s);
	if (!ret && a->max_window_s > 0)
		ret = k8s_obj_set_num(o, "/spec/maxWriteUnavailableSeconds", a->max_window_s);
	if (!ret && a->deadline_s > 0)
		ret = k8s_obj_set_num(o, "/spec/cutoverDeadlineSeconds", a->deadline_s);
	if (!ret && (a->no_auto || a->has_promote_after))
		ret = k8s_obj_set_bool(o, "/spec/autoPromotionEnabled", false);
	if (!ret && a->has_promote_after)
		ret = k8s_obj_set_int(o, "/spec/autoPromotionSeconds", (int64_t)a->promote_after_s);
	if (!ret && a->has_scale_down)
		ret = k8s_obj_set_int(o, "/spec/scaleDownDelaySeconds", (int64_t)a->scale_down_s);
	if (!ret && a->rollback_mode)
		ret = k8s_obj_set_str(o, "/spec/rollbackMode", a->rollback_mode);
	if (!ret && a->release)
		ret = k8s_obj_set_str(o, "/spec/releasePolicy", a->release);
	if (!ret && a->copy)
		ret = k8s_obj_set_str(o, "/spec/copyMethod", a->copy);
	if (ret) {
		k8s_obj_free(o);
		return ctl_fail(ret, NULL, "switch start: the object");
	}
	*out = o;
	return 0;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static int sw_emit(enum sw_out out, const struct k8s_obj *o)
{
	char *s = out == SW_OUT_JSON ? k8s_obj_json(o) : k8s_obj_yaml(o);

	if (!s)
		return ctl_fail(-ENOMEM, NULL, "switch: printing the object");
	fputs(s, stdout);
	if (out == SW_OUT_JSON)
		fputc('\n', stdout);
	free(s);
	return fflush(stdout) ? ctl_fail(-EIO, NULL, "writing stdout") : 0;
}

static void sw_bytes(int64_t b, char *buf, size_t len)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)b;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		u++;
	}
	if (u)
		snprintf(buf, len, "%.1f %s", v, unit[u]);
	else
		snprintf(buf, len, "%" PRId64 " B", b);
}

/* "  label  value s" when @o has a number at @path */
static void sw_secs_line(const struct k8s_obj *o, const char *path, const char *label)
{
	double v;

	if (!k8s_obj_num(o, path, &v))
		printf("  %-18s %.3f s\n", label, v);
}

/* green's name: status's, spec's, else the default (the controller's rule) */
static const char *sw_green_of(const struct k8s_obj *o, char *buf, size_t len)
{
	const char *g = k8s_obj_str(o, "/status/green/name"),
		   *blue = k8s_obj_str(o, "/spec/workloadRef/name");

	if (!g)
		g = k8s_obj_str(o, "/spec/greenName");
	if (g || !blue)
		return g;
	sw_default_green(blue, buf, len);
	return buf;
}

/* the last SW_ROUNDS rounds: bytes, seconds, verdict */
static void sw_print_rounds(const struct k8s_obj *st)
{
	size_t n = k8s_obj_len(st, "/rounds"), i = 0;
	char size[32];

	if (!n)
		return;
	if (n > SW_ROUNDS)
		printf("Rounds (the last %d of %zu):\n", SW_ROUNDS, n);
	else
		printf("Rounds:\n");
	printf("  %-6s %12s %9s  %s\n", "ROUND", "BYTES", "SECONDS", "VERDICT");
	for (const struct k8s_obj *r = k8s_obj_first(k8s_obj_at(st, "/rounds")); r;
	     r = k8s_obj_next(r), i++) {
		int64_t round = 0, b = 0;
		double sec = 0;

		if (n > SW_ROUNDS && i < n - SW_ROUNDS)
			continue;
		k8s_obj_int(r, "/round", &round);
		k8s_obj_int(r, "/bytes", &b);
		k8s_obj_num(r, "/seconds", &sec);
		sw_bytes(b, size, sizeof(size));
		printf("  %-6" PRId64 " %12s %9.3f  %s\n", round, size, sec,
		       or_dash(k8s_obj_str(r, "/verdict")));
	}
}

/* the cutover's instants, each with its time from the start */
static void sw_print_cutover(const struct k8s_obj *cut)
{
	static const char *const instants[][2] = {
		{"startTime", "started"},
		{"blueStoppedTime", "blue stopped"},
		{"deltaDoneTime", "last delta done"},
		{"greenStartTime", "green started"},
		{"greenReadyTime", "green ready"},
		{"switchTime", "selector switched"},
		{"endpointsReadyTime", "endpoints ready"},
	};
	const char *s0 = k8s_obj_str(cut, "/startTime");
	int64_t t0 = 0, t;
	bool has_t0 = s0 && !k8s_time_parse(s0, &t0);

	if (!cut)
		return;
	printf("Cutover:\n");
	for (size_t k = 0; k < sizeof(instants) / sizeof(instants[0]); k++) {
		char path[40];
		const char *at;

		snprintf(path, sizeof(path), "/%s", instants[k][0]);
		at = k8s_obj_str(cut, path);
		if (!at)
			continue;
		printf("  %-18s %s", instants[k][1], at);
		if (k && has_t0 && !k8s_time_parse(at, &t))
			printf("  (+%.3f s)", (double)(t - t0) / 1e9);
		printf("\n");
	}
}

/* status.analysis or status.postAnalysis: the phase, its message, each metric's counts */
static void sw_print_analysis(const struct k8s_obj *a, const char *title)
{
	const struct k8s_obj *ms = k8s_obj_at(a, "/metrics");

	if (!a)
		return;
	printf("%s %s", title, or_dash(k8s_obj_str(a, "/phase")));
	if (k8s_obj_str(a, "/message"))
		printf(": %s", k8s_obj_str(a, "/message"));
	printf("\n");
	for (const struct k8s_obj *m = k8s_obj_first(ms); m; m = k8s_obj_next(m)) {
		int64_t n = 0, bad = 0, last = 0;

		k8s_obj_int(m, "/measurements", &n);
		k8s_obj_int(m, "/failures", &bad);
		printf("  %-40s %" PRId64 " measurement(s), %" PRId64 " out of bounds",
		       or_dash(k8s_obj_str(m, "/name")), n, bad);
		if (!k8s_obj_int(m, "/lastValue", &last))
			printf(", the last %.12g (%s)", (double)last / 1000.0,
			       or_dash(k8s_obj_str(m, "/lastPod")));
		printf("\n");
	}
}

/* the summary of status, with the spec's choices that shape it */
static void sw_print(const struct k8s_obj *o)
{
	const struct k8s_obj *st = k8s_obj_at(o, "/status"), *pr;
	const char *blue = k8s_obj_str(o, "/status/blue/name");
	int64_t gen = 0, seen = -1, round = 0, after = 0, delay = 30;
	bool autop = true;
	char gbuf[2 * SW_NAME_MAX];
	double v;

	printf("StatefulSwitch %s/%s: %s", or_dash(k8s_obj_get_ns(o)), or_dash(k8s_obj_get_name(o)),
	       or_dash(k8s_obj_str(st, "/phase")));
	if (k8s_obj_str(st, "/health"))
		printf(" (%s)", k8s_obj_str(st, "/health"));
	printf("\n");
	if (!st)
		printf("No status yet: is `ferry controller` running?\n");
	k8s_obj_int(o, "/metadata/generation", &gen);
	if (st && !k8s_obj_int(st, "/observedGeneration", &seen) && seen < gen)
		printf("(the controller has seen generation %" PRId64 " of %" PRId64 ")\n", seen,
		       gen);
	if (k8s_obj_str(st, "/message"))
		printf("Message:   %s\n", k8s_obj_str(st, "/message"));
	if (!blue)
		blue = k8s_obj_str(o, "/spec/workloadRef/name");
	printf("Blue:      StatefulSet %s\nGreen:     StatefulSet %s\n", or_dash(blue),
	       or_dash(sw_green_of(o, gbuf, sizeof(gbuf))));
	printf("Service:   %s", or_dash(k8s_obj_str(o, "/spec/activeService")));
	if (k8s_obj_str(o, "/spec/previewService"))
		printf(" (preview %s)", k8s_obj_str(o, "/spec/previewService"));
	printf("\n");
	k8s_obj_bool(o, "/spec/autoPromotionEnabled", &autop);
	k8s_obj_int(o, "/spec/scaleDownDelaySeconds", &delay);
	if (autop)
		printf("Promotion: once a round converged");
	else if (!k8s_obj_int(o, "/spec/autoPromotionSeconds", &after))
		printf("Promotion: %" PRId64
		       " s after a round converged, or `ferry switch promote`",
		       after);
	else
		printf("Promotion: `ferry switch promote`");
	printf("; rollback window %" PRId64 " s (%s), then blue's objects %s\n", delay,
	       k8s_obj_str(o, "/spec/rollbackMode") ? k8s_obj_str(o, "/spec/rollbackMode")
						    : "Discard",
	       k8s_obj_str(o, "/spec/releasePolicy") &&
			       !strcmp(k8s_obj_str(o, "/spec/releasePolicy"), "Delete")
		       ? "deleted"
		       : "kept");
	if (!k8s_obj_int(st, "/round", &round))
		printf("Round:     %" PRId64 "\n", round);
	sw_print_rounds(st);
	pr = k8s_obj_at(st, "/prediction");
	if (pr) {
		printf("Prediction of the write-unavailable window:\n");
		sw_secs_line(pr, "/windowSeconds", "window");
		sw_secs_line(pr, "/quiesceSeconds", "quiesce");
		sw_secs_line(pr, "/deltaSeconds", "last delta");
		sw_secs_line(pr, "/startSeconds", "green's start");
	}
	if (!k8s_obj_num(o, "/spec/maxWriteUnavailableSeconds", &v))
		printf("Bound:     %.3f s\n", v);
	sw_print_analysis(k8s_obj_at(st, "/analysis"), "Analysis (before the switch):");
	sw_print_cutover(k8s_obj_at(st, "/cutover"));
	sw_print_analysis(k8s_obj_at(st, "/postAnalysis"), "Analysis (after the switch):");
	if (k8s_obj_str(st, "/rollback/reason"))
		printf("Rolled back because %s\n", k8s_obj_str(st, "/rollback/reason"));
	if (!k8s_obj_num(st, "/writeUnavailableSeconds", &v))
		printf("Write-unavailable: %.3f s (blue told to stop until green's endpoints were "
		       "ready)\n",
		       v);
	if (k8s_obj_len(st, "/conditions"))
		op_conditions_print(o, 20, "-");
}

static int sw_client(const struct sw_args *a, struct k8s_client **c, const char **ns)
{
	return op_cluster_client(&a->k, "switch", NULL, c, ns);
}

/* an API error on a switch, in one line; 404 names the switch (or the CRD) */
static int sw_api_fail(int ret, const struct k8s_err *err, const char *verb, const char *ns,
		       const char *name)
{
	if (ret == -ENOENT && name)
		return ctl_fail(
			ret, NULL,
			"switch %s: no StatefulSwitch %s in namespace %s (or its CRD is not "
			"installed: kubectl apply -k k8s/deploy)",
			verb, name, ns);
	return ctl_fail(ret, err->msg, "switch %s%s%s", verb, name ? " " : "", name ? name : "");
}

static int sw_start(const struct sw_args *a, const char *name)
{
	struct k8s_client *c = NULL;
	struct k8s_obj *o = NULL, *made = NULL;
	struct k8s_err err;
	char green[2 * SW_NAME_MAX];
	const char *ns = NULL;
	int ret = sw_start_check(a, green, sizeof(green));

	if (!ret)
		ret = sw_client(a, &c, &ns);
	if (!ret)
		ret = sw_object(a, ns, name, &o);
	if (ret)
		goto out;
	ret = k8s_create(c, &bg_switches, ns, o, NULL, &made, &err);
	if (ret == -EEXIST) {
		ret = ctl_fail(
			ret, NULL,
			"switch start %s: a StatefulSwitch %s exists in namespace %s already "
			"(ferry switch status %s -n %s)",
			name, name, ns, name, ns);
		goto out;
	}
	if (ret == -ENOENT) {
		ret = ctl_fail(ret, err.msg,
			       "switch start %s: no StatefulSwitch kind in the cluster (kubectl "
			       "apply -k k8s/deploy)",
			       name);
		goto out;
	}
	if (ret) {
		ret = sw_api_fail(ret, &err, "start", ns, name);
		goto out;
	}
	if (a->out != SW_OUT_TEXT) {
		ret = sw_emit(a->out, made);
		goto out;
	}
	printf("StatefulSwitch %s/%s created: StatefulSet %s -> %s behind Service %s.\n"
	       "`ferry switch status %s -n %s` follows it.\n",
	       ns, name, a->workload, green, a->service, name, ns);
out:
	k8s_obj_free(made);
	k8s_obj_free(o);
	k8s_client_free(c);
	return ret;
}

static int sw_status(const struct sw_args *a, const char *name)
{
	struct k8s_client *c = NULL;
	struct k8s_obj *o = NULL;
	struct k8s_err err;
	const char *ns = NULL;
	int ret = sw_client(a, &c, &ns);

	if (ret)
		return ret;
	ret = k8s_get(c, &bg_switches, ns, name, NULL, &o, &err);
	if (ret)
		ret = sw_api_fail(ret, &err, "status", ns, name);
	else if (a->out != SW_OUT_TEXT)
		ret = sw_emit(a->out, o);
	else
		sw_print(o);
	k8s_obj_free(o);
	k8s_client_free(c);
	return ret;
}

/* phases after which nothing is done: promote, abort and rollback are refused */
static bool sw_ended(const char *phase)
{
	return phase && (!strcmp(phase, "Completed") || !strcmp(phase, "Aborted") ||
			 !strcmp(phase, "RolledBack"));
}

/* promote, abort, rollback: the spec's field merged in */
static int sw_ask(const struct sw_args *a, const char *verb, const char *name)
{
	struct k8s_client *c = NULL;
	struct k8s_obj *p = NULL, *o = NULL;
	struct k8s_err err;
	const char *ns = NULL, *phase;
	int ret = sw_client(a, &c, &ns);

	if (ret)
		return ret;
	ret = k8s_get(c, &bg_switches, ns, name, NULL, &o, &err);
	if (ret) {
		ret = sw_api_fail(ret, &err, verb, ns, name);
		goto out;
	}
	phase = k8s_obj_str(o, "/status/phase");
	if (sw_ended(phase)) {
		ret = ctl_fail(-EBUSY, NULL, "switch %s %s: it has ended (%s): nothing to %s", verb,
			       name, phase, verb);
		goto out;
	}
	ret = k8s_obj_new(&p);
	if (!ret && !strcmp(verb, "promote"))
		ret = k8s_obj_set_bool(p, "/spec/promote", true);
	else if (!ret && !strcmp(verb, "abort"))
		ret = k8s_obj_set_bool(p, "/spec/abort", true);
	else if (!ret) {
		ret = k8s_obj_set_bool(p, "/spec/rollback", true);
		if (!ret && a->mode)
			ret = k8s_obj_set_str(p, "/spec/rollbackMode", a->mode);
	}
	if (ret) {
		ret = ctl_fail(ret, NULL, "switch %s %s", verb, name);
		goto out;
	}
	k8s_obj_free(o);
	o = NULL;
	ret = k8s_patch(c, &bg_switches, ns, name, K8S_PATCH_MERGE, p, NULL, &o, &err);
	if (ret) {
		ret = sw_api_fail(ret, &err, verb, ns, name);
		goto out;
	}
	printf("StatefulSwitch %s/%s: %s asked for%s%s (phase %s).\n"
	       "`ferry switch status %s -n %s` follows it.\n",
	       ns, name, verb, a->mode ? ", mode " : "", a->mode ? a->mode : "",
	       or_dash(k8s_obj_str(o, "/status/phase")), name, ns);
out:
	k8s_obj_free(o);
	k8s_obj_free(p);
	k8s_client_free(c);
	return ret;
}

static void sw_row(const struct k8s_obj *o, bool all)
{
	char age[32], pred[32] = "-", win[32] = "-", round[32] = "-";
	const char *blue = k8s_obj_str(o, "/status/blue/name");
	char gbuf[2 * SW_NAME_MAX];
	int64_t r;
	double v;

	op_age(k8s_obj_str(o, "/metadata/creationTimestamp"), "<none>", false, age, sizeof(age));
	if (!k8s_obj_int(o, "/status/round", &r))
		snprintf(round, sizeof(round), "%" PRId64, r);
	if (!k8s_obj_num(o, "/status/prediction/windowSeconds", &v))
		snprintf(pred, sizeof(pred), "%.1fs", v);
	if (!k8s_obj_num(o, "/status/writeUnavailableSeconds", &v))
		snprintf(win, sizeof(win), "%.1fs", v);
	if (all)
		printf("%-16s ", or_dash(k8s_obj_get_ns(o)));
	printf("%-20s %-12s %-12s %-20s %-20s %-5s %-9s %-7s %s\n", or_dash(k8s_obj_get_name(o)),
	       or_dash(k8s_obj_str(o, "/status/phase")), or_dash(k8s_obj_str(o, "/status/health")),
	       or_dash(blue ? blue : k8s_obj_str(o, "/spec/workloadRef/name")),
	       or_dash(sw_green_of(o, gbuf, sizeof(gbuf))), round, pred, win, age);
}

static int sw_list(const struct sw_args *a)
{
	struct k8s_client *c = NULL;
	struct k8s_items *l = NULL;
	struct k8s_obj *list = NULL;
	struct k8s_err err;
	const char *ns = NULL;
	int ret = sw_client(a, &c, &ns);

	if (ret)
		return ret;
	ret = k8s_list(c, &bg_switches, a->k.all ? "" : ns, NULL, &l, &err);
	if (ret) {
		ret = sw_api_fail(ret, &err, "list", ns, NULL);
		goto out;
	}
	if (a->out != SW_OUT_TEXT) {
		ret = k8s_obj_new(&list);
		if (!ret)
			ret = k8s_obj_set_str(list, "/apiVersion", "v1");
		if (!ret)
			ret = k8s_obj_set_str(list, "/kind", "List");
		if (!ret)
			ret = k8s_obj_set_empty(list, "/items", K8S_T_ARRAY);
		for (size_t i = 0; !ret && i < k8s_items_len(l); i++)
			ret = k8s_obj_set_copy(list, "/items/-", k8s_items_at(l, i));
		ret = ret ? ctl_fail(ret, NULL, "switch list") : sw_emit(a->out, list);
		goto out;
	}
	if (!k8s_items_len(l)) {
		fprintf(stderr, "No StatefulSwitches found in %s.\n",
			a->k.all ? "any namespace" : ns);
		goto out;
	}
	if (a->k.all)
		printf("%-16s ", "NAMESPACE");
	printf("%-20s %-12s %-12s %-20s %-20s %-5s %-9s %-7s %s\n", "NAME", "PHASE", "HEALTH",
	       "BLUE", "GREEN", "ROUND", "PREDICTED", "WINDOW", "AGE");
	for (size_t i = 0; i < k8s_items_len(l); i++)
		sw_row(k8s_items_at(l, i), a->k.all);
out:
	k8s_obj_free(list);
	k8s_items_free(l);
	k8s_client_free(c);
	return ret;
}

#define SW_VERBS "start, status, promote, abort, rollback or list"

int ctl_cmd_switch(int argc, char **argv)
{
	struct sw_args a = {0};
	const char *verb = argc > 1 ? argv[1] : NULL, *name;
	bool start, list, rollback;
	int ret;

	if (!verb)
		return ctl_usage_error("switch", "a verb: " SW_VERBS);
	if (!strcmp(verb, "-h") || !strcmp(verb, "--help")) {
		sw_usage(stdout);
		return 0;
	}
	start = !strcmp(verb, "start");
	list = !strcmp(verb, "list");
	rollback = !strcmp(verb, "rollback");
	if (!start && !list && !rollback && strcmp(verb, "status") && strcmp(verb, "promote") &&
	    strcmp(verb, "abort"))
		return ctl_usage_error("switch", "unknown verb '%s': " SW_VERBS, verb);
	ret = sw_parse(argc - 1, argv + 1, &a);
	if (ret)
		return ret;
	if (a.help) {
		sw_usage(stdout);
		return 0;
	}
	if (a.k.ns && !ctl_namespace_valid(a.k.ns))
		return ctl_usage_error("switch", "-n '%s': not a namespace's name (a DNS label)",
				       a.k.ns);
	if (!start && a.start_only)
		return ctl_usage_error("switch", "--%s is start's, not %s's", a.start_only, verb);
	if (a.mode && !rollback)
		return ctl_usage_error("switch", "--mode is rollback's, not %s's%s", verb,
				       start ? " (start: --rollback-mode)" : "");
	if (a.has_out && !start && !list && strcmp(verb, "status"))
		return ctl_usage_error("switch", "-o is for start, status and list, not %s", verb);
	if (a.k.all && !list)
		return ctl_usage_error("switch", "-A is list's, not %s's", verb);
	if (list) {
		if (optind != argc - 1)
			return ctl_usage_error("switch", "list takes no NAME");
		return sw_list(&a);
	}
	if (optind + 1 != argc - 1)
		return ctl_usage_error("switch", "%s takes one NAME", verb);
	name = argv[optind + 1];
	if (!ctl_namespace_valid(name))
		return ctl_usage_error("switch",
				       "NAME '%s': not a DNS label (a-z, 0-9, '-', at "
				       "most 63)",
				       name);
	if (start)
		return sw_start(&a, name);
	if (!strcmp(verb, "status"))
		return sw_status(&a, name);
	return sw_ask(&a, verb, name);
}
