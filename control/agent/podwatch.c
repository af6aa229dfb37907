// SPDX-License-Identifier: MIT
/*
 * control/agent/podwatch.c - the agent's view of its node's pods: an informer
 * of the pods with spec.nodeName=NODE (k8s/), kept as a table sorted by pod
 * UID, through which ferry agent labels its series with namespace and pod and
 * leaves out those of pods it does not know (podwatch.h says why).
 *
 * The informer's handlers run on the client's I/O thread and only update the
 * table under its mutex; the sampling thread holds the same mutex while it
 * writes one exposition, so a scrape sees one consistent set of pods.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "podwatch.h"
#include "control/signals/signals.h"
#include "control/cli/cli.h"
#include "k8s/k8s.h"

struct pw_entry {
	char uid[48];
	char ns[64];	/* a DNS label: at most 63 */
	char name[256]; /* a DNS subdomain: at most 253 */
	double gone_at; /* CLOCK_MONOTONIC seconds of its deletion; 0: alive */
};

struct agent_pods {
	struct k8s_client *c;
	struct k8s_informer *inf;
	char node[256];
	char selector[300];

	pthread_mutex_t lock; /* the table */
	struct pw_entry *e;   /* sorted by uid */
	size_t n, cap;
	bool oom_logged;

	/* the sampling thread's own */
	uint64_t failures_seen;
	bool synced;
	struct ebpf_stat *buf; /* the series of known pods, for one exposition */
	size_t buf_cap;
};

static double pw_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* the index of @uid, or where it would go (*found false); lock held */
static size_t pw_find(const struct agent_pods *p, const char *uid, bool *found)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(p->e[mid].uid, uid);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* an added or changed pod: known from now on (again, if it was deleted) */
static void pw_upsert(struct agent_pods *p, const struct k8s_obj *obj)
{
	const char *uid = k8s_obj_get_uid(obj), *ns = k8s_obj_get_ns(obj);
	const char *name = k8s_obj_get_name(obj), *node = k8s_obj_str(obj, "/spec/nodeName");
	struct pw_entry *e;
	bool found;
	size_t i;

	if (!uid || !ns || !name || strlen(uid) >= sizeof(e->uid) || strlen(ns) >= sizeof(e->ns) ||
	    strlen(name) >= sizeof(e->name))
		return; /* not a pod the API server would have stored */
	if (!node || strcmp(node, p->node))
		return; /* the field selector keeps others out; never label them */
	pthread_mutex_lock(&p->lock);
	i = pw_find(p, uid, &found);
	if (!found) {
		if (p->n == p->cap) {
			size_t cap = p->cap ? 2 * p->cap : 64;
			struct pw_entry *ne = realloc(p->e, cap * sizeof(*ne));

			if (!ne) {
				if (!p->oom_logged)
					ctl_log(CTL_LOG_WARN,
						"agent: out of memory for pod %s/%s: its series stay out",
						ns, name);
				p->oom_logged = true;
				goto out_unlock;
			}
			p->e = ne;
			p->cap = cap;
		}
		memmove(&p->e[i + 1], &p->e[i], (p->n - i) * sizeof(*p->e));
		p->n++;
		snprintf(p->e[i].uid, sizeof(p->e[i].uid), "%s", uid);
	}
	e = &p->e[i];
	snprintf(e->ns, sizeof(e->ns), "%s", ns);
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->gone_at = 0;
out_unlock:
	pthread_mutex_unlock(&p->lock);
}

static void pw_add(void *arg, const struct k8s_obj *obj)
{
	pw_upsert(arg, obj);
}

static void pw_update(void *arg, const struct k8s_obj *old, const struct k8s_obj *cur)
{
	(void)old;
	pw_upsert(arg, cur);
}

/* a deleted pod keeps its names for AGENT_PODS_KEEP_S (podwatch.h) */
static void pw_del(void *arg, const struct k8s_obj *last)
{
	struct agent_pods *p = arg;
	const char *uid = k8s_obj_get_uid(last);
	bool found;
	size_t i;

	if (!uid)
		return;
	pthread_mutex_lock(&p->lock);
	i = pw_find(p, uid, &found);
	if (found && !p->e[i].gone_at)
		p->e[i].gone_at = pw_now();
	pthread_mutex_unlock(&p->lock);
}

static const struct k8s_handlers pw_handlers = {
	.add = pw_add,
	.update = pw_update,
	.del = pw_del,
};

/* ebpf_pod_meta_fn, called by agent_pods_write() with the lock held */
static bool pw_meta(const char *uid, char *ns, size_t ns_len, char *name, size_t name_len,
		    void *arg)
{
	const struct agent_pods *p = arg;
	bool found;
	size_t i = pw_find(p, uid, &found);

	if (!found)
		return false;
	snprintf(ns, ns_len, "%s", p->e[i].ns);
	snprintf(name, name_len, "%s", p->e[i].name);
	return true;
}

/* a node name as the API spells it: a lower-case DNS subdomain */
static bool pw_node_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 253 || s[0] == '.' || s[0] == '-' || s[n - 1] == '.' || s[n - 1] == '-')
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-' ||
		      *s == '.'))
			return false;
	return true;
}

int agent_pods_open(const struct agent_pods_opts *o, struct agent_pods **out)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *kc = getenv("KUBECONFIG");
	const char *env_node = getenv("NODE_NAME");
	struct k8s_config_opts co = {.sz = sizeof(co), .kubeconfig = o->kubeconfig};
	struct k8s_informer_opts io = {.sz = sizeof(io), .handlers = &pw_handlers};
	struct agent_pods *p = NULL;
	struct k8s_err err;
	int ret;

	*out = NULL;
	if (o->no_kube) {
		ctl_log(CTL_LOG_WARN, "agent: no cluster (--no-kube): series carry pod_uid only");
		return 0;
	}
	if (!o->kubeconfig) {
		if (host && *host)
			co.in_cluster = true;
		else if (!kc || !*kc) {
			ctl_log(CTL_LOG_WARN,
				"agent: no cluster (not in a pod, no --kubeconfig or KUBECONFIG): series carry pod_uid only");
			return 0;
		}
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return ctl_fail(-ENOMEM, NULL, "agent: pod watch");
	pthread_mutex_init(&p->lock, NULL);
	if (o->node_name)
		snprintf(p->node, sizeof(p->node), "%s", o->node_name);
	else if (env_node && *env_node)
		snprintf(p->node, sizeof(p->node), "%s", env_node);
	else if (co.in_cluster) {
		ret = ctl_usage_error(
			"agent",
			"NODE_NAME is not set: the DaemonSet passes spec.nodeName through the downward API (or give --node-name)");
		goto out_free;
	} else {
		/* the kubelet's default node name: the host name, in lower case */
		if (gethostname(p->node, sizeof(p->node) - 1)) {
			ret = ctl_fail(-errno, strerror(errno), "agent: the host name");
			goto out_free;
		}
		for (char *s = p->node; *s; s++)
			*s = (char)tolower((unsigned char)*s);
	}
	if (!pw_node_name_ok(p->node)) {
		ret = ctl_usage_error("agent", "node name '%s' is not a DNS subdomain", p->node);
		goto out_free;
	}
	snprintf(p->selector, sizeof(p->selector), "spec.nodeName=%s", p->node);
	k8s_set_log(ctl_log_line);
	ret = k8s_client_open(&co, NULL, &p->c, &err);
	if (ret) {
		ret = ctl_fail(ret, err.msg, "agent: the cluster's configuration");
		goto out_free;
	}
	io.field_selector = p->selector;
	io.arg = p;
	ret = k8s_informer_new(p->c, &k8s_pods, &io, &p->inf, &err);
	if (ret) {
		ret = ctl_fail(ret, err.msg, "agent: watch the pods of node %s", p->node);
		goto out_free;
	}
	ctl_log(CTL_LOG_INFO, "agent: watching the pods of node %s (%s)", p->node,
		k8s_config_source(k8s_client_config(p->c)));
	*out = p;
	return 0;
out_free:
	agent_pods_close(p);
	return ret;
}

void agent_pods_close(struct agent_pods *p)
{
	if (!p)
		return;
	k8s_informer_free(p->inf); /* no handler runs after this */
	k8s_client_free(p->c);
	pthread_mutex_destroy(&p->lock);
	free(p->e);
	free(p->buf);
	free(p);
}

const char *agent_pods_node(const struct agent_pods *p)
{
	return p->node;
}

bool agent_pods_poll(struct agent_pods *p)
{
	struct k8s_informer_stats st;
	double now = pw_now();
	size_t j = 0;

	k8s_informer_stats(p->inf, &st);
	if (st.failures > p->failures_seen) {
		ctl_log(CTL_LOG_WARN, "agent: pod watch of node %s: %s", p->node,
			st.last_err.msg[0] ? st.last_err.msg : strerror(-st.last_err.code));
		p->failures_seen = st.failures;
	}
	if (!p->synced && !k8s_informer_wait_synced(p->inf, 0)) {
		p->synced = true;
		ctl_log(CTL_LOG_INFO, "agent: %zu pods on node %s", k8s_informer_len(p->inf),
			p->node);
	}
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n; i++)
		if (!p->e[i].gone_at || now - p->e[i].gone_at < AGENT_PODS_KEEP_S)
			p->e[j++] = p->e[i];
	p->n = j;
	pthread_mutex_unlock(&p->lock);
	return p->synced;
}

int agent_pods_write(struct agent_pods *p, FILE *f, const struct ebpf_stat *st, size_t n,
		     unsigned int features)
{
	size_t m = 0, alive = 0;
	bool found;
	int ret;

	if (n > p->buf_cap) {
		struct ebpf_stat *nb = realloc(p->buf, n * sizeof(*nb));

		if (!nb)
			return -ENOMEM;
		p->buf = nb;
		p->buf_cap = n;
	}
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < n; i++) {
		pw_find(p, st[i].pod_uid, &found);
		if (found)
			p->buf[m++] = st[i];
	}
	for (size_t i = 0; i < p->n; i++)
		alive += !p->e[i].gone_at;
	ret = ebpf_prom_write(f, p->buf, m, features, pw_meta, p);
	pthread_mutex_unlock(&p->lock);
	if (ret)
		return ret;
	fputs("# HELP ferry_agent_pods Pods bound to this node, as the agent's watch of the API knows them\n",
	      f);
	fputs("# TYPE ferry_agent_pods gauge\n", f);
	fprintf(f, "ferry_agent_pods %zu\n", alive);
	fflush(f);
	return ferror(f) ? -EIO : 0;
}

/* milli-units of a rate, as the feed carries them */
static int64_t pw_milli(double v)
{
	return v > 0 && v < 9e15 ? (int64_t)llround(v * 1000) : 0;
}

int agent_pods_page(struct agent_pods *p, FILE *f, const struct ebpf_stat *st, size_t n,
		    unsigned int features, int64_t *interval_ms)
{
	struct sig_pod *sp = calloc(n ? n : 1, sizeof(*sp));
	size_t m = 0;
	int ret;

	if (!sp)
		return -ENOMEM;
	*interval_ms = 0;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < n; i++) {
		const struct ebpf_stat *s = &st[i];
		const struct ebpf_rates *r = &s->rate;
		bool found;
		size_t j;

		if (s->kind != EBPF_KIND_POD || r->interval_s <= 0)
			continue;
		j = pw_find(p, s->pod_uid, &found);
		if (!found || p->e[j].gone_at)
			continue;
		sp[m] = (struct sig_pod){
			.ns = p->e[j].ns, .name = p->e[j].name, .uid = p->e[j].uid};
		if (features & EBPF_FEAT_SCHED) {
			sp[m].has[SIG_CPU] = sp[m].has[SIG_RUNQ_P50] = sp[m].has[SIG_RUNQ_P99] =
				true;
			sp[m].v[SIG_CPU] = pw_milli(r->cpu_cores);
			sp[m].v[SIG_RUNQ_P50] = pw_milli(r->runq_p50_s);
			sp[m].v[SIG_RUNQ_P99] = pw_milli(r->runq_p99_s);
		}
		if (features & EBPF_FEAT_NET) {
			for (int k = SIG_RX_BYTES; k <= SIG_TX_PACKETS; k++)
				sp[m].has[k] = true;
			sp[m].v[SIG_RX_BYTES] = pw_milli(r->rx_bytes_s);
			sp[m].v[SIG_TX_BYTES] = pw_milli(r->tx_bytes_s);
			sp[m].v[SIG_RX_PACKETS] = pw_milli(r->rx_packets_s);
			sp[m].v[SIG_TX_PACKETS] = pw_milli(r->tx_packets_s);
		}
		/* from the pod cgroup's memory files, whatever programs are loaded */
		if (r->has_mem) {
			sp[m].has[SIG_MEMORY] = true;
			sp[m].v[SIG_MEMORY] = pw_milli(r->mem_working_set_bytes);
		}
		/* from the pod cgroup's cpu.stat, whatever programs are loaded */
		if (r->has_cfs) {
			sp[m].has[SIG_THROTTLED] = true;
			sp[m].v[SIG_THROTTLED] = pw_milli(r->cfs_throttled_s);
		}
		if (!*interval_ms)
			*interval_ms = (int64_t)llround(r->interval_s * 1000);
		m++;
	}
	ret = sig_page_pods(f, sp, m);
	pthread_mutex_unlock(&p->lock);
	free(sp);
	fflush(f);
	return ret || ferror(f) ? -EIO : 0;
}

struct k8s_client *agent_pods_client(const struct agent_pods *p)
{
	return p ? p->c : NULL;
}
