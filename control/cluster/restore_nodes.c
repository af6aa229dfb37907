// SPDX-License-Identifier: MIT
/*
 * control/cluster/restore_nodes.c - the node of each claim a Restore with
 * scaleWorkloadsToZero fills (cluster.h "THE NODE OF A CLAIM"), as a pure
 * function of the plan and the target cluster's Nodes, CSINodes and
 * StorageClasses: the pods that will use a claim, the nodes they may run
 * on, the choice among those, or why there is none. The reasons are in
 * control/cluster/README.md ("The node of a claim").
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_priv.h"
#include "k8s/k8s.h"

/* a pod that will run: a workload's template, one ordinal of a StatefulSet */
struct np_pod {
	const struct cluster_plan_item *user; /* NULL: a claim no template uses */
	const struct k8s_obj *spec;	      /* its pod spec, NULL for none */
	long ordinal;			      /* a StatefulSet's, else -1 */
};

struct np_claim {
	struct cluster_plan_item *it;
	const struct k8s_obj *cls;
	const char *driver; /* the class's provisioner */
	size_t pod;	    /* the pod that places it */
	const char *node;   /* chosen (borrowed from a Node), NULL none yet */
	size_t *users;	    /* the plan's items whose templates mount it */
	size_t nusers;
};

struct np {
	const struct cluster_node_facts *f;
	struct np_pod *pods;
	size_t npods;
	struct np_claim *claims;
	size_t nclaims;
	size_t *chosen; /* per node of @f: the claims this restore chose there */
};

/* ------------------------------------------------------------ a node's facts */

static const char *node_name(const struct k8s_obj *n)
{
	const char *s = k8s_obj_get_name(n);

	return s && s[0] ? s : NULL;
}

static const char *node_zone(const struct k8s_obj *n)
{
	const char *z = k8s_obj_label(n, CLUSTER_LABEL_ZONE);

	return z ? z : "";
}

/* ------------------------------------------------------------ CSI volume limits */

static const struct k8s_obj *csinode_of(const struct cluster_node_facts *f, const char *node)
{
	for (size_t i = 0; i < f->ncsinodes; i++) {
		const char *n = node_name(f->csinodes[i]);

		if (n && !strcmp(n, node))
			return f->csinodes[i];
	}
	return NULL;
}

/*
 * The driver's entry of @node's CSINode: 1 with @limit (-1: none given), 0
 * when the CSINode lists no such driver, -1 when there is no CSINode (not held).
 */
static int csi_driver(const struct cluster_node_facts *f, const char *node, const char *driver,
		      int64_t *limit)
{
	const struct k8s_obj *cn = csinode_of(f, node);

	*limit = -1;
	if (!cn)
		return -1;
	for (const struct k8s_obj *d = k8s_obj_first(k8s_obj_at(cn, "/spec/drivers")); d;
	     d = k8s_obj_next(d)) {
		const char *n = k8s_obj_str(d, "/name");

		if (n && driver && !strcmp(n, driver)) {
			if (k8s_obj_int(d, "/allocatable/count", limit) || *limit < 0)
				*limit = -1;
			return 1;
		}
	}
	return 0;
}

/* the claims of this restore chosen on node @ni of @driver */
static size_t chosen_of_driver(const struct np *np, size_t ni, const char *driver)
{
	const char *node = node_name(np->f->nodes[ni]);
	size_t n = 0;

	for (size_t c = 0; c < np->nclaims; c++)
		n += np->claims[c].node && !strcmp(np->claims[c].node, node) && driver &&
		     np->claims[c].driver && !strcmp(np->claims[c].driver, driver);
	return n;
}

/* ------------------------------------------------------------ the pods */

/* the pod spec of a workload item, NULL when it is none */
static const struct k8s_obj *pod_spec_of(const struct cluster_plan_item *it)
{
	const char *g = it->group, *k = it->kind;

	if (it->skip && it->skip != cluster_zero_pod_skip)
		return NULL;
	if (!g[0] && !strcmp(k, "Pod"))
		return k8s_obj_at(it->obj, "/spec");
	if (!strcmp(g, "batch") && !strcmp(k, "CronJob"))
		return k8s_obj_at(it->obj, "/spec/jobTemplate/spec/template/spec");
	if ((!strcmp(g, "apps") && (!strcmp(k, "Deployment") || !strcmp(k, "StatefulSet") ||
				    !strcmp(k, "ReplicaSet") || !strcmp(k, "DaemonSet"))) ||
	    (!g[0] && !strcmp(k, "ReplicationController")) ||
	    (!strcmp(g, "batch") && !strcmp(k, "Job")))
		return k8s_obj_at(it->obj, "/spec/template/spec");
	return NULL;
}

static bool mounts(const struct k8s_obj *spec, const char *claim)
{
	for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(spec, "/volumes")); v;
	     v = k8s_obj_next(v)) {
		const char *n = k8s_obj_str(v, "/persistentVolumeClaim/claimName");

		if (n && !strcmp(n, claim))
			return true;
	}
	return false;
}

/* the ordinal of @claim as "<template>-<sts>-<n>" of StatefulSet @sts, or -1 */
static long sts_ordinal(const struct cluster_plan_item *sts, const char *claim)
{
	size_t sl = strlen(sts->name), cl = strlen(claim);

	for (const struct k8s_obj *t =
		     k8s_obj_first(k8s_obj_at(sts->obj, "/spec/volumeClaimTemplates"));
	     t; t = k8s_obj_next(t)) {
		const char *tn = k8s_obj_str(t, "/metadata/name"), *d;
		size_t tl = tn ? strlen(tn) : 0;
		long n = 0;

		if (!tl || tl + 1 + sl + 2 > cl || strncmp(claim, tn, tl) || claim[tl] != '-' ||
		    strncmp(claim + tl + 1, sts->name, sl) || claim[tl + 1 + sl] != '-')
			continue;
		d = claim + tl + 1 + sl + 1;
		if (!*d || (*d == '0' && d[1]))
			continue;
		for (; *d >= '0' && *d <= '9' && n < 100000000; d++)
			n = n * 10 + (*d - '0');
		if (!*d)
			return n;
	}
	return -1;
}

static int pod_add(struct np *np, const struct cluster_plan_item *user, const struct k8s_obj *spec,
		   long ordinal, size_t *out)
{
	struct np_pod *n;

	for (size_t i = 0; user && i < np->npods; i++)
		if (np->pods[i].user == user && np->pods[i].ordinal == ordinal) {
			*out = i;
			return 0;
		}
	n = realloc(np->pods, (np->npods + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	np->pods = n;
	n[np->npods] = (struct np_pod){.user = user, .spec = spec, .ordinal = ordinal};
	*out = np->npods++;
	return 0;
}

/* the pod that places claim @c: the first workload of the plan that will use it */
static int claim_pod(struct np *np, const struct cluster_restore_plan *p, struct np_claim *c)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct cluster_plan_item *u = &p->items[i];
		const struct k8s_obj *spec = pod_spec_of(u);
		long ord = -1;

		if (!spec || strcmp(u->ns, c->it->ns))
			continue;
		if (!strcmp(u->group, "apps") && !strcmp(u->kind, "StatefulSet"))
			ord = sts_ordinal(u, c->it->name);
		if (ord >= 0 || mounts(spec, c->it->name))
			return pod_add(np, u, spec, ord, &c->pod);
	}
	return pod_add(np, NULL, NULL, -1, &c->pod);
}

/* whether workload @u mounts claim @c (by name, or as its StatefulSet's claim) */
static bool uses(const struct cluster_plan_item *u, const struct np_claim *c)
{
	const struct k8s_obj *spec = pod_spec_of(u);

	if (!spec || strcmp(u->ns, c->it->ns))
		return false;
	if (!strcmp(u->group, "apps") && !strcmp(u->kind, "StatefulSet") &&
	    sts_ordinal(u, c->it->name) >= 0)
		return true;
	return mounts(spec, c->it->name);
}

/* whether pod @pi mounts claim @c (one a StatefulSet makes: its own ordinal's only) */
static bool pod_uses(const struct np *np, size_t pi, const struct np_claim *c)
{
	const struct np_pod *pod = &np->pods[pi];
	long ord;

	if (c->pod == pi)
		return true;
	if (!pod->user || !pod->spec || strcmp(pod->user->ns, c->it->ns))
		return false;
	if (!strcmp(pod->user->group, "apps") && !strcmp(pod->user->kind, "StatefulSet") &&
	    (ord = sts_ordinal(pod->user, c->it->name)) >= 0)
		return ord == pod->ordinal;
	return mounts(pod->spec, c->it->name);
}

/* ------------------------------------------------------------ the candidates */

enum np_stage {
	NP_NO_NODES,  /* no node at all */
	NP_NOT_READY, /* none Ready and schedulable */
	NP_TEMPLATE,  /* none the templates allow */
	NP_TOPOLOGY,  /* none in the classes' allowedTopologies */
	NP_DRIVER,    /* none with the classes' drivers */
	NP_LIMIT,     /* all at their volume limits */
	NP_HELD,      /* not the node a shared claim holds it to */
	NP_FITS,
};

/* how far node @ni gets for pod @pi: NP_FITS when it is a candidate */
static enum np_stage node_fits(const struct np *np, const struct cluster_restore_plan *p, size_t pi,
			       size_t ni)
{
	const struct k8s_obj *node = np->f->nodes[ni];
	const char *name = node_name(node), *held = NULL;

	(void)p;
	if (!name)
		return NP_NO_NODES;
	if (!k8s_node_schedulable(node))
		return NP_NOT_READY;
	/* the templates of every workload that mounts a claim of this pod */
	for (size_t c = 0; c < np->nclaims; c++) {
		if (np->claims[c].pod != pi)
			continue;
		for (size_t u = 0; u < np->claims[c].nusers; u++) {
			const struct k8s_obj *spec = pod_spec_of(&p->items[np->claims[c].users[u]]);

			if (!k8s_node_tolerates(spec, node) || !k8s_node_matches(spec, node))
				return NP_TEMPLATE;
		}
	}
	if (!np->pods[pi].spec && !k8s_node_tolerates(NULL, node))
		return NP_TEMPLATE;
	for (size_t c = 0; c < np->nclaims; c++)
		if (np->claims[c].pod == pi && !k8s_node_in_topologies(np->claims[c].cls, node))
			return NP_TOPOLOGY;
	for (size_t c = 0; c < np->nclaims; c++) {
		const struct np_claim *cl = &np->claims[c];
		size_t want = 0;
		int64_t limit;

		if (cl->pod != pi || cl->node)
			continue;
		if (!csi_driver(np->f, name, cl->driver, &limit))
			return NP_DRIVER;
		if (limit < 0)
			continue;
		for (size_t d = 0; d < np->nclaims; d++)
			want += np->claims[d].pod == pi && !np->claims[d].node &&
				np->claims[d].driver && cl->driver &&
				!strcmp(np->claims[d].driver, cl->driver);
		if (chosen_of_driver(np, ni, cl->driver) + want > (size_t)limit)
			return NP_LIMIT;
	}
	/* a claim placed by an earlier pod that shares it holds this one to its node */
	for (size_t c = 0; c < np->nclaims; c++)
		if (np->claims[c].node && pod_uses(np, pi, &np->claims[c]))
			held = np->claims[c].node;
	if (held && strcmp(held, name))
		return NP_HELD;
	return NP_FITS;
}

/* ------------------------------------------------------------ the choice */

static int item_note(struct cluster_plan_item *it, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int item_note(struct cluster_plan_item *it, const char *fmt, ...)
{
	char msg[CLUSTER_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	free(it->note);
	it->note = strdup(msg);
	return it->note ? 0 : -ENOMEM;
}

/* why pod @pi has no candidate, the farthest stage any node reached */
static int no_node(struct np *np, size_t pi, enum np_stage st)
{
	const struct np_pod *pod = &np->pods[pi];
	const struct np_claim *first = NULL;
	char why[320], who[160] = "";
	int ret = 0;

	for (size_t c = 0; c < np->nclaims && !first; c++)
		if (np->claims[c].pod == pi && !np->claims[c].node)
			first = &np->claims[c];
	if (!first)
		return 0;
	if (pod->user)
		snprintf(who, sizeof(who), " of %.40s %.100s", pod->user->kind, pod->user->name);
	switch (st) {
	case NP_NO_NODES:
		snprintf(why, sizeof(why), "the cluster has no nodes");
		break;
	case NP_NOT_READY:
		snprintf(why, sizeof(why),
			 "no node is Ready and schedulable (NotReady or cordoned)");
		break;
	case NP_TEMPLATE:
		snprintf(why, sizeof(why),
			 "no Ready node tolerates the template's taints and matches its "
			 "affinity%s",
			 who);
		break;
	case NP_TOPOLOGY:
		snprintf(
			why, sizeof(why),
			"no node the template allows is in the allowedTopologies of its StorageClass");
		break;
	case NP_DRIVER:
		snprintf(why, sizeof(why),
			 "no node the template allows has the driver %.100s (CSINode)",
			 first->driver ? first->driver : "?");
		break;
	case NP_LIMIT:
		snprintf(
			why, sizeof(why),
			"every node the template allows is at its volume limit for %.100s (CSINode "
			"allocatable.count)",
			first->driver ? first->driver : "?");
		break;
	case NP_HELD:
	case NP_FITS:
		snprintf(why, sizeof(why),
			 "the node of a claim that its pod shares with another does not fit it");
		break;
	}
	for (size_t c = 0; c < np->nclaims && !ret; c++)
		if (np->claims[c].pod == pi && !np->claims[c].node)
			ret = item_note(
				np->claims[c].it,
				"scaleWorkloadsToZero: no node for it: %s; created without " CLUSTER_ANN_SELECTED_NODE
				" (filled only once a pod uses it)",
				why);
	return ret;
}

/* the node of pod @pi among its candidates @cand (@n, in name order) */
static size_t choose(const struct np *np, size_t pi, const size_t *cand, size_t n)
{
	const struct np_pod *pod = &np->pods[pi];
	const char *zones[64];
	size_t nz = 0, best = cand[0], k = 0, m;

	assert(n);
	if (pod->ordinal < 0) { /* the fewest claims chosen so far, ties by name */
		for (size_t i = 1; i < n; i++)
			if (np->chosen[cand[i]] < np->chosen[best])
				best = cand[i];
		return best;
	}
	/* a StatefulSet's replica: its zone round-robin by ordinal, then its node */
	for (size_t i = 0; i < n; i++) {
		const char *z = node_zone(np->f->nodes[cand[i]]);
		size_t j = 0;

		while (j < nz && strcmp(zones[j], z))
			j++;
		if (j == nz && nz < sizeof(zones) / sizeof(zones[0]))
			zones[nz++] = z;
	}
	for (size_t i = 1; i < nz; i++) /* insertion sort: a few zones */
		for (size_t j = i; j > 0 && strcmp(zones[j - 1], zones[j]) > 0; j--) {
			const char *t = zones[j];

			zones[j] = zones[j - 1];
			zones[j - 1] = t;
		}
	m = (size_t)pod->ordinal % nz;
	for (size_t i = 0; i < n; i++)
		k += !strcmp(node_zone(np->f->nodes[cand[i]]), zones[m]);
	if (!k) /* a zone past the 64 counted: the fewest claims instead */
		return cand[0];
	k = ((size_t)pod->ordinal / nz) % k;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(node_zone(np->f->nodes[cand[i]]), zones[m]) && !k--)
			return cand[i];
	return best;
}

static int place(struct np *np, const struct cluster_restore_plan *p, const size_t *order,
		 size_t norder, size_t *cand)
{
	int ret = 0;

	for (size_t pi = 0; pi < np->npods && !ret; pi++) {
		enum np_stage far = NP_NO_NODES;
		size_t n = 0, ni;

		for (size_t i = 0; i < norder; i++) {
			enum np_stage st = node_fits(np, p, pi, order[i]);

			if (st == NP_FITS)
				cand[n++] = order[i];
			else if (st > far)
				far = st;
		}
		if (!n) {
			ret = no_node(np, pi, far);
			continue;
		}
		ni = choose(np, pi, cand, n);
		for (size_t c = 0; c < np->nclaims && !ret; c++) {
			struct np_claim *cl = &np->claims[c];

			if (cl->pod != pi || cl->node)
				continue;
			cl->node = node_name(np->f->nodes[ni]);
			np->chosen[ni]++;
			ret = k8s_obj_set_annotation(cl->it->obj, CLUSTER_ANN_SELECTED_NODE,
						     cl->node);
		}
	}
	return ret;
}

/* ------------------------------------------------------------ the claims */

static const struct k8s_obj *class_of(const struct cluster_node_facts *f, const char *name)
{
	for (size_t i = 0; name && i < f->nclasses; i++) {
		const char *n = k8s_obj_get_name(f->classes[i]);

		if (n && !strcmp(n, name))
			return f->classes[i];
	}
	return NULL;
}

/* the claims to place: filled by the populator, of a WaitForFirstConsumer class */
static int claims_read(struct np *np, struct cluster_restore_plan *p)
{
	int ret = 0;

	for (size_t i = 0; i < p->n && !ret; i++) {
		struct cluster_plan_item *it = &p->items[i];
		const char *kind = k8s_obj_str(it->obj, "/spec/dataSourceRef/kind");
		const char *grp = k8s_obj_str(it->obj, "/spec/dataSourceRef/apiGroup");
		const char *cname = k8s_obj_str(it->obj, "/spec/storageClassName");
		const char *mode;
		const struct k8s_obj *cls;
		struct np_claim *n;

		if (it->skip || it->group[0] || strcmp(it->kind, "PersistentVolumeClaim") ||
		    !kind || strcmp(kind, "Snapshot") || !grp || strcmp(grp, CLUSTER_API_GROUP) ||
		    k8s_obj_annotation(it->obj, CLUSTER_ANN_SELECTED_NODE))
			continue;
		cls = class_of(np->f, cname);
		if (!cls) {
			ret = item_note(
				it,
				"scaleWorkloadsToZero: its StorageClass %.100s was not found: no "
				"node chosen (a WaitForFirstConsumer class waits for a pod)",
				cname ? cname : "(none named)");
			continue;
		}
		mode = k8s_obj_str(cls, "/volumeBindingMode");
		if (!mode || strcmp(mode, "WaitForFirstConsumer"))
			continue;
		n = realloc(np->claims, (np->nclaims + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		np->claims = n;
		n[np->nclaims++] = (struct np_claim){
			.it = it, .cls = cls, .driver = k8s_obj_str(cls, "/provisioner")};
	}
	for (size_t c = 0; c < np->nclaims && !ret; c++) {
		struct np_claim *cl = &np->claims[c];

		for (size_t i = 0; i < p->n; i++) {
			size_t *u;

			if (!uses(&p->items[i], cl))
				continue;
			u = realloc(cl->users, (cl->nusers + 1) * sizeof(*u));
			if (!u)
				return -ENOMEM;
			cl->users = u;
			u[cl->nusers++] = i;
		}
		ret = claim_pod(np, p, cl);
	}
	return ret;
}

struct np_named {
	const char *name;
	size_t i;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct np_named *)a)->name, ((const struct np_named *)b)->name);
}

int cluster_restore_plan_nodes(struct cluster_restore_plan *p, const struct cluster_node_facts *f,
			       struct cluster_err *err)
{
	struct np np = {.f = f};
	struct np_named *named = NULL;
	size_t *order = NULL, *cand = NULL, norder = 0;
	int ret;

	cluster_err_clear(err);
	ret = claims_read(&np, p);
	if (ret || !np.nclaims)
		goto out;
	ret = -ENOMEM;
	named = calloc(f->nnodes + 1, sizeof(*named));
	order = calloc(f->nnodes + 1, sizeof(*order));
	cand = calloc(f->nnodes + 1, sizeof(*cand));
	np.chosen = calloc(f->nnodes + 1, sizeof(*np.chosen));
	if (!named || !order || !cand || !np.chosen)
		goto out;
	for (size_t i = 0; i < f->nnodes; i++)
		if (node_name(f->nodes[i]))
			named[norder++] = (struct np_named){.name = node_name(f->nodes[i]), .i = i};
	qsort(named, norder, sizeof(*named), by_name);
	for (size_t i = 0; i < norder; i++)
		order[i] = named[i].i;
	ret = place(&np, p, order, norder, cand);
out:
	for (size_t c = 0; c < np.nclaims; c++)
		free(np.claims[c].users);
	free(np.claims);
	free(np.pods);
	free(np.chosen);
	free(named);
	free(order);
	free(cand);
	if (ret)
		return cluster_err_set(err, ret, "the nodes of the claims: out of memory");
	return 0;
}
