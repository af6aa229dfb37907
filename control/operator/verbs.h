/* SPDX-License-Identifier: MIT */
/*
 * control/operator/verbs.h - what the verbs on a cluster's objects share
 * (verbs.c): cmd_autoscale.c, cmd_lbpolicy.c, cmd_appbackup.c,
 * cmd_migrate.c and cmd_switch.c. Private to control/operator.
 *
 *   the options each of them takes: --kubeconfig, --context, -n/--namespace,
 *   and -A/--all-namespaces where the verb lists it (OP_CLUSTER_LONGOPTS,
 *   op_cluster_opt());
 *   the client they name, opened as each of them opens it
 *   (op_cluster_client());
 *   the pieces of kubectl's printing they have in common: an age
 *   (op_age()) and the status.conditions table of describe
 *   (op_conditions_print()).
 *
 * Each verb keeps its own usage text, -h, unknown-option line and the
 * options only it has.
 */
#ifndef FERRY_CTL_OPERATOR_VERBS_H
#define FERRY_CTL_OPERATOR_VERBS_H

#include <stdbool.h>
#include <stddef.h>

#include "control/cli/cli.h"
#include "k8s/k8s.h"

/*
 * struct op_cluster - the options every cluster verb takes. Strings are
 * borrowed from argv (or set by the verb: migrate's default namespace).
 */
struct op_cluster {
	const char *kubeconfig; /* --kubeconfig (NULL: KUBECONFIG, ~/.kube/config, in-cluster) */
	const char *context;	/* --context (NULL: the kubeconfig's current one) */
	const char *ns;		/* -n/--namespace (NULL: the context's) */
	bool all;		/* -A/--all-namespaces, for a verb that lists it */
};

enum {
	OP_OPT_KUBECONFIG = CTL_OPT_VERB_BASE,
	OP_OPT_CONTEXT,
	OP_OPT_VERB_BASE, /* a cluster verb's own long-only options start here */
};

/* First in a cluster verb's getopt_long table; "n:" goes into its short options. */
#define OP_CLUSTER_LONGOPTS                                                                        \
	{"kubeconfig", required_argument, NULL, OP_OPT_KUBECONFIG},                                \
		{"context", required_argument, NULL, OP_OPT_CONTEXT},                              \
	{                                                                                          \
		"namespace", required_argument, NULL, 'n'                                          \
	}

/* -A, in the table (and "A" in the short options) of a verb that lists every namespace. */
#define OP_ALL_NAMESPACES_LONGOPT                                                                  \
	{                                                                                          \
		"all-namespaces", no_argument, NULL, 'A'                                           \
	}

/*
 * op_cluster_opt() - take @opt, getopt_long's return, and its @arg into @k
 * if it is one of OP_CLUSTER_LONGOPTS or -A. Prints nothing.
 * Return: 0 (taken); -ENOENT (not one of them: the verb's own, or an
 * unknown option the verb reports in its words).
 */
int op_cluster_opt(struct op_cluster *k, int opt, const char *arg);

/*
 * op_cluster_client() - the client @k names, k8s/'s log sent to the
 * command's (ctl_log_line)
 * @verb: names the failure: "VERB: the cluster's configuration@hint"
 * @hint: appended to that line; NULL for none
 * @c:    freed with k8s_client_free(); NULL on failure
 * @ns:   NULL, or set to the namespace to use: -n, else the context's
 *        (borrowed from the client, until it is freed)
 *
 * Return: 0; the -errno of the configuration or the client (printed with
 * k8s/'s detail: ferry's exit codes, 2 for a configuration that does not
 * load).
 */
int op_cluster_client(const struct op_cluster *k, const char *verb, const char *hint,
		      struct k8s_client **c, const char **ns);

/*
 * op_age() - the time from the RFC 3339 @stamp to now as kubectl prints an
 * age: 45s, 12m, 3h, 2d (whole units, rounded down), into @buf
 * @none:  what stands for a @stamp that is NULL or not a time
 * @ahead: a time to come (an expiration) is printed as the time to it;
 *         without it such a time counts as 0 s (clock skew)
 */
void op_age(const char *stamp, const char *none, bool ahead, char *buf, size_t len);

/*
 * op_conditions_print() - describe's table of @o's status.conditions on
 * stdout: a "Conditions:" line, the head (Type, Status, Reason, Message) and
 * one row a condition, the Reason column @reason_width wide; @missing
 * stands for a field that is absent or empty.
 */
void op_conditions_print(const struct k8s_obj *o, int reason_width, const char *missing);

/*
 * op_selector_obj() - a parsed label selector (`-l`, --selector) as a
 * metav1.LabelSelector object, as Velero's metav1.ParseToLabelSelector:
 * key=value into matchLabels (a key given twice: an In expression), the rest
 * into matchExpressions. Return: 0 and *@out (the caller frees); -ENOMEM.
 */
int op_selector_obj(const struct ctl_selector *sel, struct k8s_obj **out);

#endif /* FERRY_CTL_OPERATOR_VERBS_H */
