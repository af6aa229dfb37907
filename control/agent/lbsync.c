// SPDX-License-Identifier: MIT
/*
 * control/agent/lbsync.c - Services, EndpointSlices and LoadBalancePolicies
 * -> the pinned socket load balancer; mesh pods -> its skipped cgroups
 * (lbsync.h).
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbsync.h"
#include "control/cli/cli.h"
#include "control/lb/lb.h"
#include "bpf/ebpf_lb.h"
#include "k8s/k8s.h"

/* keys handled per poll once synced (the loop samples between polls) */
#define LB_POLL_KEYS 256
/* a mesh pod whose cgroup is not there yet is looked for again after this */
#define LB_POD_RETRY_MS 200

/* an entry's port and backends as set: what /metrics says of it */
struct lb_ent_info {
	char port[64];
	struct ebpf_lb_backend *be;
	size_t n;
};

/* what one Service has in the kernel now */
struct lb_svc_state {
	char key[K8S_KEY_SIZE]; /* ns/name */
	struct ebpf_lb_vip *vip;
	uint64_t *sum; /* of each entry as set: unchanged entries are not set again */
	struct lb_ent_info *info;
	size_t n;
};

static void svc_state_fini(struct lb_svc_state *st)
{
	for (size_t i = 0; st->info && i < st->n; i++)
		free(st->info[i].be);
	free(st->info);
	free(st->vip);
	free(st->sum);
	st->info = NULL;
	st->vip = NULL;
	st->sum = NULL;
	st->n = 0;
}

/* a warning logged once for a Service (kind 'c' two policies, 'e' a status unread) */
struct lb_note {
	char key[K8S_KEY_SIZE + 2]; /* kind/ns/name */
	char *msg;		    /* as logged */
};

/* a skipped pod cgroup */
struct lb_pod_state {
	char key[K8S_KEY_SIZE];
	char uid[64]; /* a pod of the same name later is another pod */
	uint64_t cgid;
};

struct agent_lb {
	struct k8s_client *c;
	const char *node;
	char zone[128];
	struct ebpf_lb *lb;
	struct k8s_wq *wq;
	struct k8s_informer *svc_inf, *eps_inf, *pod_inf, *pol_inf;
	bool synced;
	bool pol_off; /* LoadBalancePolicies could not be listed at the first sync */
	struct lb_note *notes;
	size_t nnotes;
	struct lb_svc_state *svcs;
	size_t nsvcs;
	struct lb_pod_state *pods;
	size_t npods;
};

/* ---- handlers: the client's I/O thread; queue keys, nothing else */

static void queue(struct agent_lb *l, char kind, const char *key)
{
	char k[K8S_KEY_SIZE + 2];

	snprintf(k, sizeof(k), "%c/%s", kind, key);
	k8s_wq_add(l->wq, k);
}

static void queue_obj(struct agent_lb *l, char kind, const struct k8s_obj *o)
{
	char key[K8S_KEY_SIZE];

	if (!k8s_obj_key_of(o, key))
		queue(l, kind, key);
}

static void svc_add(void *arg, const struct k8s_obj *o)
{
	queue_obj(arg, 's', o);
}

static void svc_update(void *arg, const struct k8s_obj *old, const struct k8s_obj *cur)
{
	(void)old;
	queue_obj(arg, 's', cur);
}

/* an EndpointSlice is queued as its Service */
static void eps_add(void *arg, const struct k8s_obj *o)
{
	struct k8s_endpointslice es;
	char key[K8S_KEY_SIZE];

	if (k8s_endpointslice_view(o, &es) || !es.service || !es.meta.ns)
		return;
	if (snprintf(key, sizeof(key), "%s/%s", es.meta.ns, es.service) < (int)sizeof(key))
		queue(arg, 's', key);
}

static void eps_update(void *arg, const struct k8s_obj *old, const struct k8s_obj *cur)
{
	eps_add(arg, old); /* its service-name label may have changed */
	eps_add(arg, cur);
}

static void pod_add(void *arg, const struct k8s_obj *o)
{
	queue_obj(arg, 'p', o);
}

static void pod_update(void *arg, const struct k8s_obj *old, const struct k8s_obj *cur)
{
	(void)old;
	queue_obj(arg, 'p', cur);
}

/* a LoadBalancePolicy is queued as the Service it names (spec.service, same namespace) */
static void pol_add(void *arg, const struct k8s_obj *o)
{
	const char *ns = k8s_obj_get_ns(o), *svc = k8s_obj_str(o, "/spec/service");
	char key[K8S_KEY_SIZE];

	if (!ns || !svc || !svc[0])
		return;
	if (snprintf(key, sizeof(key), "%s/%s", ns, svc) < (int)sizeof(key))
		queue(arg, 's', key);
}

static void pol_update(void *arg, const struct k8s_obj *old, const struct k8s_obj *cur)
{
	pol_add(arg, old); /* its spec.service may have changed */
	pol_add(arg, cur);
}

static const struct k8s_handlers svc_handlers = {svc_add, svc_update, svc_add};
static const struct k8s_handlers eps_handlers = {eps_add, eps_update, eps_add};
static const struct k8s_handlers pod_handlers = {pod_add, pod_update, pod_add};
static const struct k8s_handlers pol_handlers = {pol_add, pol_update, pol_add};

/* ---- the work: the main loop */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* an entry as set: its vip, affinity and backends (control/lb sorts them) */
static uint64_t entry_sum(const struct lb_entry *e)
{
	uint64_t h = 0xcbf29ce484222325ull;
	uint32_t aff = e->svc.affinity;

	h = fnv(h, &e->svc.vip.addr, sizeof(e->svc.vip.addr));
	h = fnv(h, &e->svc.vip.proto, sizeof(e->svc.vip.proto));
	h = fnv(h, &aff, sizeof(aff));
	for (size_t i = 0; i < e->svc.n; i++) {
		h = fnv(h, &e->be[i].addr, sizeof(e->be[i].addr));
		h = fnv(h, &e->be[i].weight, sizeof(e->be[i].weight));
	}
	return h + e->svc.n;
}

static bool vip_eq(const struct ebpf_lb_vip *a, const struct ebpf_lb_vip *b)
{
	return !memcmp(a->addr.ip, b->addr.ip, sizeof(a->addr.ip)) &&
	       a->addr.port == b->addr.port && a->proto == b->proto;
}

static void vip_name(const struct ebpf_lb_vip *v, char *buf, size_t len)
{
	char a[64];

	ebpf_lb_addr_format(&v->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%s", a, v->proto == IPPROTO_TCP ? "tcp" : "udp");
}

static struct lb_svc_state *svc_state(struct agent_lb *l, const char *key)
{
	for (size_t i = 0; i < l->nsvcs; i++)
		if (!strcmp(l->svcs[i].key, key))
			return &l->svcs[i];
	return NULL;
}

/*
 * log @msg for Service @svc once: again only when it changes; @msg NULL:
 * the condition is gone (the next one is logged again)
 */
static void note(struct agent_lb *l, char kind, const char *svc, const char *msg)
{
	struct lb_note *n = NULL, *nn;
	char key[K8S_KEY_SIZE + 2];

	snprintf(key, sizeof(key), "%c/%s", kind, svc);
	for (size_t i = 0; i < l->nnotes && !n; i++)
		if (!strcmp(l->notes[i].key, key))
			n = &l->notes[i];
	if (!msg) {
		if (n) {
			free(n->msg);
			*n = l->notes[--l->nnotes];
		}
		return;
	}
	if (n && !strcmp(n->msg, msg))
		return;
	ctl_log(CTL_LOG_WARN, "%s", msg);
	if (!n) {
		nn = realloc(l->notes, (l->nnotes + 1) * sizeof(*nn));
		if (!nn)
			return; /* logged again next time */
		l->notes = nn;
		n = &l->notes[l->nnotes++];
		snprintf(n->key, sizeof(n->key), "%s", key);
		n->msg = NULL;
	}
	free(n->msg);
	n->msg = strdup(msg);
	if (!n->msg)
		*n = l->notes[--l->nnotes];
}

/* the LoadBalancePolicies of one Service: the oldest, and how many name it */
struct pol_pick {
	const char *svc; /* the Service's name */
	struct k8s_obj *best;
	int64_t best_ts;
	size_t n;
	bool oom;
};

/* creationTimestamp in ns; a policy without one (no API server omits it) sorts last */
static int64_t created_ns(const struct k8s_obj *o)
{
	const char *t = k8s_obj_str(o, "/metadata/creationTimestamp");
	int64_t ns;

	return t && !k8s_time_parse(t, &ns) ? ns : INT64_MAX;
}

static int pol_keep(void *arg, const struct k8s_obj *o)
{
	struct pol_pick *pk = arg;
	const char *svc = k8s_obj_str(o, "/spec/service"), *name = k8s_obj_get_name(o);
	struct k8s_obj *d;
	int64_t ts;

	if (!svc || !name || strcmp(svc, pk->svc))
		return 0;
	pk->n++;
	ts = created_ns(o);
	if (pk->best && (ts > pk->best_ts ||
			 (ts == pk->best_ts && strcmp(name, k8s_obj_get_name(pk->best)) >= 0)))
		return 0;
	d = k8s_obj_dup(o);
	if (!d) {
		pk->oom = true;
		return -ENOMEM;
	}
	k8s_obj_free(pk->best);
	pk->best = d;
	pk->best_ts = ts;
	return 0;
}

/*
 * the LoadBalancePolicy that names Service @key (@ns, @name), parsed into
 * *@pub (NULL when none, or when its status does not read: equal weights),
 * its name into @pol ("" when none)
 */
static int svc_policy(struct agent_lb *l, const char *key, const char *ns, const char *name,
		      struct lb_published **pub, char pol[K8S_KEY_SIZE])
{
	struct pol_pick pk = {.svc = name};
	struct lb_err err;
	char msg[640];
	int ret;

	*pub = NULL;
	pol[0] = 0;
	ret = k8s_informer_each(l->pol_inf, ns, NULL, pol_keep, &pk);
	if (ret || pk.oom) {
		k8s_obj_free(pk.best);
		return -ENOMEM;
	}
	if (!pk.best) {
		note(l, 'c', key, NULL);
		note(l, 'e', key, NULL);
		return 0;
	}
	/* the cache holds no object whose key does not fit; "?" keeps @pol non-empty */
	if (k8s_obj_key_of(pk.best, pol))
		snprintf(pol, K8S_KEY_SIZE, "?");
	if (pk.n > 1) {
		/* the order is the same on every node: each agent uses the same one */
		snprintf(msg, sizeof(msg),
			 "lb: service %s: %zu loadbalancepolicies name it: the oldest, %s, is used",
			 key, pk.n, k8s_obj_get_name(pk.best));
		note(l, 'c', key, msg);
	} else {
		note(l, 'c', key, NULL);
	}
	ret = lb_published_parse(pk.best, pub, &err);
	if (ret == -EINVAL) {
		snprintf(msg, sizeof(msg),
			 "lb: loadbalancepolicy %s: %s: service %s is balanced with equal weights",
			 pol, err.msg, key);
		note(l, 'e', key, msg);
		ret = 0;
	} else if (!ret) {
		note(l, 'e', key, NULL);
	}
	k8s_obj_free(pk.best);
	return ret;
}

struct slices {
	struct k8s_obj **o;
	size_t n, cap;
	bool oom;
};

static int slice_keep(void *arg, const struct k8s_obj *o)
{
	struct slices *s = arg;

	if (s->n == s->cap) {
		size_t nc = s->cap ? 2 * s->cap : 8;
		struct k8s_obj **no = realloc(s->o, nc * sizeof(*no));

		if (!no) {
			s->oom = true;
			return -ENOMEM;
		}
		s->o = no;
		s->cap = nc;
	}
	s->o[s->n] = k8s_obj_dup(o);
	if (!s->o[s->n]) {
		s->oom = true;
		return -ENOMEM;
	}
	s->n++;
	return 0;
}

/*
 * the plan of Service @key (ns/name) now; NULL *@out when it is not
 * balanced; @pol the LoadBalancePolicy whose weights it has ("": none)
 */
static int svc_plan(struct agent_lb *l, const char *key, struct lb_plan **out,
		    char pol[K8S_KEY_SIZE])
{
	struct lb_node node = {.name = l->node, .zone = l->zone[0] ? l->zone : NULL};
	struct lb_plan_opts po = {.sz = sizeof(po)};
	struct lb_published *pub = NULL;
	struct k8s_selector *sel = NULL;
	struct slices s = {0};
	const char *slash = strchr(key, '/');
	struct k8s_obj *svc;
	struct lb_err err;
	char sels[K8S_KEY_SIZE + 64], ns[K8S_KEY_SIZE];
	int ret;

	*out = NULL;
	pol[0] = 0;
	if (!slash)
		return 0;
	svc = k8s_informer_get(l->svc_inf, key);
	if (!svc) {
		note(l, 'c', key, NULL);
		note(l, 'e', key, NULL);
		return 0;
	}
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - key), key);
	ret = svc_policy(l, key, ns, slash + 1, &pub, pol);
	if (ret) {
		k8s_obj_free(svc);
		return ret;
	}
	po.policy = pol[0] != 0;
	po.published = pub;
	if (!lb_opted_in(svc) && !po.policy) {
		k8s_obj_free(svc);
		return 0;
	}
	snprintf(sels, sizeof(sels), "kubernetes.io/service-name=%s", k8s_obj_get_name(svc));
	ret = k8s_selector_parse(sels, &sel, NULL);
	if (!ret)
		ret = k8s_informer_each(l->eps_inf, k8s_obj_get_ns(svc), sel, slice_keep, &s);
	if (!ret && s.oom)
		ret = -ENOMEM;
	if (!ret) {
		ret = lb_plan_build_opts(svc, (const struct k8s_obj *const *)s.o, s.n, &node, &po,
					 out, &err);
		if (ret == -EINVAL)
			ctl_log(CTL_LOG_WARN, "lb: service %s: %s: not balanced", key, err.msg);
	}
	for (size_t i = 0; i < s.n; i++)
		k8s_obj_free(s.o[i]);
	free(s.o);
	k8s_selector_free(sel);
	k8s_obj_free(svc);
	lb_published_free(pub);
	return ret;
}

/* bring Service @key's entries in the kernel to what the API says */
static int svc_sync(struct agent_lb *l, const char *key)
{
	struct lb_svc_state *st = svc_state(l, key), nst = {0};
	struct lb_plan *p = NULL;
	char vs[96], pol[K8S_KEY_SIZE];
	int ret, fail = 0;

	ret = svc_plan(l, key, &p, pol);
	if (ret && ret != -EINVAL)
		return ret;
	/* -EINVAL: a malformed Service is left to kube-proxy (removed, like one not opted in) */
	if (p && !p->skip && p->n) {
		nst.vip = calloc(p->n, sizeof(*nst.vip));
		nst.sum = calloc(p->n, sizeof(*nst.sum));
		nst.info = calloc(p->n, sizeof(*nst.info));
		if (!nst.vip || !nst.sum || !nst.info) {
			ret = -ENOMEM;
			goto out;
		}
	}
	snprintf(nst.key, sizeof(nst.key), "%s", key);
	for (size_t i = 0; p && !p->skip && i < p->n; i++) {
		const struct lb_entry *e = &p->e[i];
		uint64_t sum = entry_sum(e);
		bool same = false;

		for (size_t j = 0; st && j < st->n && !same; j++)
			same = vip_eq(&st->vip[j], &e->svc.vip) && st->sum[j] == sum;
		vip_name(&e->svc.vip, vs, sizeof(vs));
		if (!same) {
			ret = ebpf_lb_service_set(l->lb, &e->svc);
			if (ret) {
				ctl_log(CTL_LOG_WARN, "lb: service %s port %s (%s): %s", key,
					e->port_name[0] ? e->port_name : "-", vs, strerror(-ret));
				fail = ret;
				continue; /* not recorded: set again on the retry */
			}
			ctl_log(CTL_LOG_INFO, "lb: service %s port %s: %s -> %zu backends%s%s", key,
				e->port_name[0] ? e->port_name : "-", vs, e->svc.n,
				pol[0] ? ", weights of loadbalancepolicy " : "", pol);
		}
		nst.vip[nst.n] = e->svc.vip;
		nst.sum[nst.n] = sum;
		snprintf(nst.info[nst.n].port, sizeof(nst.info[nst.n].port), "%s", e->port_name);
		if (e->svc.n) {
			nst.info[nst.n].be = malloc(e->svc.n * sizeof(*e->be));
			if (nst.info[nst.n].be) {
				memcpy(nst.info[nst.n].be, e->svc.be, e->svc.n * sizeof(*e->be));
				nst.info[nst.n].n = e->svc.n;
			}
		}
		nst.n++;
	}
	/* the entries it had and has no longer */
	for (size_t j = 0; st && j < st->n; j++) {
		bool kept = false;

		for (size_t i = 0; i < nst.n && !kept; i++)
			kept = vip_eq(&st->vip[j], &nst.vip[i]);
		if (kept)
			continue;
		vip_name(&st->vip[j], vs, sizeof(vs));
		ret = ebpf_lb_service_remove(l->lb, &st->vip[j]);
		if (ret && ret != -ENOENT) {
			ctl_log(CTL_LOG_WARN, "lb: remove %s of %s: %s", vs, key, strerror(-ret));
			fail = ret;
			continue;
		}
		ctl_log(CTL_LOG_INFO, "lb: service %s: %s no longer balanced", key, vs);
	}
	if (st) {
		svc_state_fini(st);
		if (nst.n) {
			*st = nst;
			memset(&nst, 0, sizeof(nst));
		} else {
			*st = l->svcs[--l->nsvcs];
		}
	} else if (nst.n) {
		struct lb_svc_state *ns = realloc(l->svcs, (l->nsvcs + 1) * sizeof(*ns));

		if (!ns) {
			ret = -ENOMEM;
			goto out;
		}
		l->svcs = ns;
		l->svcs[l->nsvcs++] = nst;
		memset(&nst, 0, sizeof(nst));
	}
	ret = fail;
out:
	svc_state_fini(&nst);
	lb_plan_free(p);
	return ret;
}

/* the cgroup directory of pod @uid below @dir (two levels at most), into @buf */
static int pod_cgroup(const char *dir, const char *uid, int depth, char *buf, size_t len)
{
	char u1[80], u2[80];
	struct dirent *d;
	DIR *dp;
	int ret = -ENOENT;

	snprintf(u1, sizeof(u1), "pod%s", uid);
	snprintf(u2, sizeof(u2), "pod%s", uid);
	for (char *p = u2; *p; p++)
		if (*p == '-')
			*p = '_'; /* the systemd driver's spelling */
	dp = opendir(dir);
	if (!dp)
		return -errno;
	while (ret && (d = readdir(dp))) {
		char sub[4096];

		if (d->d_type != DT_DIR || d->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", dir, d->d_name) >= (int)sizeof(sub))
			continue;
		if (strstr(d->d_name, u1) || strstr(d->d_name, u2)) {
			snprintf(buf, len, "%s", sub);
			ret = 0;
		} else if (!depth &&
			   (strstr(d->d_name, "kubepods") || !strcmp(d->d_name, "burstable") ||
			    !strcmp(d->d_name, "besteffort"))) {
			/* a QoS class's cgroup (cgroupfs or systemd spelling) */
			ret = pod_cgroup(sub, uid, depth + 1, buf, len);
		}
	}
	closedir(dp);
	return ret;
}

static struct lb_pod_state *pod_state(struct agent_lb *l, const char *key)
{
	for (size_t i = 0; i < l->npods; i++)
		if (!strcmp(l->pods[i].key, key))
			return &l->pods[i];
	return NULL;
}

/* skip pod @key's cgroup while it has a mesh sidecar; 1: look again later */
static int pod_sync(struct agent_lb *l, const char *key)
{
	struct k8s_obj *pod = k8s_informer_get(l->pod_inf, key);
	struct lb_pod_state *st = pod_state(l, key);
	bool mesh = pod && lb_pod_has_mesh(pod);
	const char *phase = pod ? k8s_obj_str(pod, "/status/phase") : NULL;
	const char *uid = pod ? k8s_obj_get_uid(pod) : NULL;
	char dir[4096];
	uint64_t id;
	int ret = 0;

	if (st && (!mesh || !uid || strcmp(uid, st->uid))) {
		/* no sidecar any more, gone, or replaced by a pod of the same name */
		ret = ebpf_lb_skip_set(l->lb, st->cgid, false);
		if (ret && ret != -ENOENT)
			goto out;
		ctl_log(CTL_LOG_INFO, "lb: pod %s (uid %s): no longer skipped", key, st->uid);
		*st = l->pods[--l->npods];
		st = NULL;
		ret = 0;
	}
	if (mesh && !st) {
		ret = uid ? pod_cgroup(ebpf_lb_cgroup(l->lb), uid, 0, dir, sizeof(dir)) : -ENOENT;
		if (!ret)
			ret = ebpf_lb_cgroup_id(dir, &id);
		if (ret) {
			/* not made yet (Pending), or gone with a finished pod */
			ret = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))
				      ? 0
				      : 1;
			goto out;
		}
		ret = ebpf_lb_skip_set(l->lb, id, true);
		if (!ret) {
			struct lb_pod_state *np = realloc(l->pods, (l->npods + 1) * sizeof(*np));

			if (!np) {
				ebpf_lb_skip_set(l->lb, id, false);
				ret = -ENOMEM;
				goto out;
			}
			l->pods = np;
			snprintf(np[l->npods].key, sizeof(np[l->npods].key), "%s", key);
			snprintf(np[l->npods].uid, sizeof(np[l->npods].uid), "%s", uid);
			np[l->npods++].cgid = id;
			ctl_log(CTL_LOG_INFO,
				"lb: pod %s has a mesh sidecar: its cgroup %s is skipped", key,
				dir);
		}
	}
out:
	k8s_obj_free(pod);
	return ret;
}

/* Service ports and skipped cgroups in the kernel that nothing claims: an earlier agent's */
static void gc(struct agent_lb *l)
{
	struct ebpf_lb_vip *v = NULL;
	uint64_t *ids = NULL;
	size_t n = 0;
	char vs[96];

	if (ebpf_lb_service_list(l->lb, &v, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		bool owned = false;

		for (size_t s = 0; s < l->nsvcs && !owned; s++)
			for (size_t j = 0; j < l->svcs[s].n && !owned; j++)
				owned = vip_eq(&l->svcs[s].vip[j], &v[i]);
		if (owned)
			continue;
		vip_name(&v[i], vs, sizeof(vs));
		if (!ebpf_lb_service_remove(l->lb, &v[i]))
			ctl_log(CTL_LOG_INFO, "lb: %s: no Service claims it: removed", vs);
	}
	free(v);
	/* skipped cgroups of pods gone while no agent ran (cgroup ids are never reused) */
	if (ebpf_lb_skip_list(l->lb, &ids, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		bool owned = false;

		for (size_t p = 0; p < l->npods && !owned; p++)
			owned = l->pods[p].cgid == ids[i];
		if (!owned)
			ebpf_lb_skip_set(l->lb, ids[i], false);
	}
	free(ids);
}

/*
 * whether the LoadBalancePolicies informer has listed, or cannot: the CRD is
 * not installed (404) or RBAC does not let the agent list them (403). Then
 * the annotated Services are balanced without waiting; the informer goes on
 * retrying, and once it lists, its policies queue their Services.
 */
static bool pol_ready(struct agent_lb *l)
{
	struct k8s_informer_stats st;

	if (!k8s_informer_wait_synced(l->pol_inf, 0))
		return true;
	k8s_informer_stats(l->pol_inf, &st);
	if (!st.failures || (st.last_err.code != -ENOENT && st.last_err.code != -EPERM))
		return false;
	if (!l->pol_off)
		ctl_log(CTL_LOG_WARN,
			"lb: loadbalancepolicies cannot be listed (%s): only Services annotated " LB_ANNOTATION
			" are balanced until they can",
			st.last_err.msg);
	l->pol_off = true;
	return true;
}

void agent_lb_poll(struct agent_lb *l)
{
	const char *key;
	size_t done = 0;
	bool first = false;

	if (!l)
		return;
	if (!l->synced) {
		if (k8s_informer_wait_synced(l->svc_inf, 0) ||
		    k8s_informer_wait_synced(l->eps_inf, 0) ||
		    k8s_informer_wait_synced(l->pod_inf, 0) || !pol_ready(l))
			return; /* the first lists queue every object: wait for all of them */
		first = true;
	} else if (l->pol_off && !k8s_informer_wait_synced(l->pol_inf, 0)) {
		ctl_log(CTL_LOG_INFO, "lb: loadbalancepolicies listed: %zu",
			k8s_informer_len(l->pol_inf));
		l->pol_off = false;
	}
	while ((first || done < LB_POLL_KEYS) && !k8s_wq_get(l->wq, &key, 0)) {
		int ret = key[0] == 's' ? svc_sync(l, key + 2) : pod_sync(l, key + 2);

		if (ret == 1)
			k8s_wq_add_after(l->wq, key, LB_POD_RETRY_MS);
		else if (ret)
			k8s_wq_add_rate_limited(l->wq, key);
		else
			k8s_wq_forget(l->wq, key);
		k8s_wq_done(l->wq, key);
		done++;
	}
	if (first) {
		gc(l);
		l->synced = true;
		ctl_log(CTL_LOG_INFO, "lb: in sync: %zu Services balanced, %zu mesh pods skipped",
			l->nsvcs, l->npods);
	}
}

/* the node's zone label, for topology hints: "" when it has none or cannot be read */
static void node_zone(struct agent_lb *l)
{
	struct k8s_obj *n = NULL;
	struct k8s_err err;
	const char *z;

	if (k8s_get(l->c, &k8s_nodes, NULL, l->node, NULL, &n, &err)) {
		ctl_log(CTL_LOG_WARN, "lb: node %s: %s: topology hints are not used", l->node,
			err.msg);
		return;
	}
	z = k8s_obj_label(n, "topology.kubernetes.io/zone");
	snprintf(l->zone, sizeof(l->zone), "%s", z ? z : "");
	k8s_obj_free(n);
}

int agent_lb_open(struct k8s_client *c, const char *node, const struct agent_lb_opts *o,
		  struct agent_lb **out)
{
	struct k8s_informer_opts io = {.sz = sizeof(io)};
	struct ebpf_lb_opts lo;
	struct agent_lb *l;
	struct k8s_err err;
	char sel[320];
	int ret;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->c = c;
	l->node = node;
	ebpf_lb_opts_init(&lo);
	lo.cgroup = o->cgroup;
	lo.pin_dir = o->pin_dir;
	ret = ebpf_lb_open(&lo, &l->lb);
	if (ret) {
		ctl_log(CTL_LOG_WARN, "lb: the socket load balancer is off: %s", strerror(-ret));
		goto out_free;
	}
	node_zone(l);
	ret = k8s_wq_new(NULL, &l->wq);
	if (ret)
		goto out_free;
	io.arg = l;
	io.handlers = &svc_handlers;
	ret = k8s_informer_new(c, &k8s_services, &io, &l->svc_inf, &err);
	if (!ret) {
		io.handlers = &eps_handlers;
		ret = k8s_informer_new(c, &k8s_endpointslices, &io, &l->eps_inf, &err);
	}
	if (!ret) {
		snprintf(sel, sizeof(sel), "spec.nodeName=%s", node);
		io.handlers = &pod_handlers;
		io.field_selector = sel;
		ret = k8s_informer_new(c, &k8s_pods, &io, &l->pod_inf, &err);
	}
	if (!ret) {
		io.handlers = &pol_handlers;
		io.field_selector = NULL;
		ret = k8s_informer_new(c, &lb_policies, &io, &l->pol_inf, &err);
	}
	if (ret) {
		ctl_log(CTL_LOG_WARN, "lb: the socket load balancer is off: watch: %s", err.msg);
		goto out_free;
	}
	ctl_log(CTL_LOG_INFO,
		"lb: socket load balancer at %s (features 0x%x), node %s, zone %s; Services "
		"annotated " LB_ANNOTATION ": \"true\" or named by a LoadBalancePolicy are "
		"balanced",
		ebpf_lb_cgroup(l->lb), ebpf_lb_features(l->lb), node, l->zone[0] ? l->zone : "-");
	*out = l;
	return 0;
out_free:
	agent_lb_close(l);
	return ret;
}

void agent_lb_close(struct agent_lb *l)
{
	if (!l)
		return;
	/* informers first: after k8s_informer_free() no handler runs */
	k8s_informer_free(l->pol_inf);
	k8s_informer_free(l->pod_inf);
	k8s_informer_free(l->eps_inf);
	k8s_informer_free(l->svc_inf);
	k8s_wq_free(l->wq);
	ebpf_lb_close(l->lb);
	for (size_t i = 0; i < l->nsvcs; i++) {
		svc_state_fini(&l->svcs[i]);
	}
	free(l->svcs);
	free(l->pods);
	for (size_t i = 0; i < l->nnotes; i++)
		free(l->notes[i].msg);
	free(l->notes);
	free(l);
}

void agent_lb_prom(const struct agent_lb *l, FILE *f)
{
	static const char *const fam[][2] = {
		{"ferry_lb_backend_weight",
		 "The backend's weight in the Service port's Maglev table on this node (0: listed, given no connection)"},
		{"ferry_lb_backend_share",
		 "The backend's share of new connections on this node: its weight over the port's (the table gives each within 1 % of it)"},
	};
	size_t n = 0;

	if (!l)
		return;
	for (size_t i = 0; i < l->nsvcs; i++)
		n += l->svcs[i].n;
	fputs("# HELP ferry_lb_services Service ports this node's socket load balancer serves\n",
	      f);
	fputs("# TYPE ferry_lb_services gauge\n", f);
	fprintf(f, "ferry_lb_services %zu\n", n);
	/* families without a sample are left out, as the pod series' are */
	for (size_t k = 0; n && k < 2; k++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", fam[k][0], fam[k][1], fam[k][0]);
		for (size_t i = 0; i < l->nsvcs; i++) {
			const struct lb_svc_state *st = &l->svcs[i];

			for (size_t j = 0; j < st->n; j++) {
				const struct lb_ent_info *e = &st->info[j];
				uint64_t total = 0;
				char vs[96], be[64];

				vip_name(&st->vip[j], vs, sizeof(vs));
				for (size_t b = 0; b < e->n; b++)
					total += e->be[b].weight;
				for (size_t b = 0; b < e->n; b++) {
					ebpf_lb_addr_format(&e->be[b].addr, be, sizeof(be));
					fprintf(f, "%s{service=\"", fam[k][0]);
					ebpf_prom_escape(f, st->key);
					fputs("\",port=\"", f);
					ebpf_prom_escape(f, e->port);
					fprintf(f, "\",address=\"%s\",backend=\"%s\"} ", vs, be);
					if (k == 0)
						fprintf(f, "%u\n", e->be[b].weight);
					else
						fprintf(f, "%.6g\n",
							total ? (double)e->be[b].weight /
									(double)total
							      : 0);
				}
			}
		}
	}
}
