// SPDX-License-Identifier: MIT
/*
 * bpf/prom.c - Prometheus text exposition (format 0.0.4) of the series.
 *
 * Names follow cAdvisor's container_* families with ferry_pod_ and
 * ferry_container_ prefixes, so dashboards carry over. Every family gets
 * HELP and TYPE lines and all its samples together, which is what
 * `promtool check metrics` asks for. A family whose feature is not loaded is
 * left out rather than reported as zero. Beside the counters, the rates of
 * the last sample interval are gauges (what `ferry top` prints), for
 * consumers that want a per-second value without a PromQL rate().
 * CFS throttling (cAdvisor's container_cpu_cfs_* names) is read from the
 * cgroups, not from eBPF: its families appear for the series that have a
 * cpu.stat with CFS fields, and are left out when none has. The pods'
 * working set (cAdvisor's container_memory_working_set_bytes) is read from
 * their cgroups' memory files the same way.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "ebpf_int.h"

struct prom_ctx {
	FILE *f;
	ebpf_pod_meta_fn meta;
	void *arg;
};

void ebpf_prom_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

static void prom_labels(const struct prom_ctx *p, const struct ebpf_stat *s, const char *le)
{
	char ns[256], name[256];
	FILE *f = p->f;

	fputs("{pod_uid=\"", f);
	ebpf_prom_escape(f, s->pod_uid);
	fputc('"', f);
	if (p->meta && p->meta(s->pod_uid, ns, sizeof(ns), name, sizeof(name), p->arg)) {
		fputs(",namespace=\"", f);
		ebpf_prom_escape(f, ns);
		fputs("\",pod=\"", f);
		ebpf_prom_escape(f, name);
		fputc('"', f);
	}
	if (s->kind == EBPF_KIND_CONTAINER) {
		fputs(",container_id=\"", f);
		ebpf_prom_escape(f, s->container_id);
		fputc('"', f);
	}
	if (le)
		fprintf(f, ",le=\"%s\"", le);
	fputc('}', f);
}

enum prom_field { F_CPU, F_RX_BYTES, F_TX_BYTES, F_RX_PACKETS, F_TX_PACKETS };

static const struct prom_family {
	const char *name; /* after ferry_pod_ / ferry_container_ */
	const char *help;
	unsigned int feature;
} prom_counters[] = {
	[F_CPU] = {"cpu_usage_seconds_total", "CPU time consumed, seconds (sched_switch)",
		   EBPF_FEAT_SCHED},
	[F_RX_BYTES] = {"network_receive_bytes_total",
			"Bytes received, IP header on (cgroup_skb ingress)", EBPF_FEAT_NET},
	[F_TX_BYTES] = {"network_transmit_bytes_total",
			"Bytes sent, IP header on (cgroup_skb egress)", EBPF_FEAT_NET},
	[F_RX_PACKETS] = {"network_receive_packets_total", "Packets received (GSO segments)",
			  EBPF_FEAT_NET},
	[F_TX_PACKETS] = {"network_transmit_packets_total", "Packets sent (GSO segments)",
			  EBPF_FEAT_NET},
};

static void prom_value(FILE *f, enum prom_field fld, const struct ebpf_counters *c)
{
	switch (fld) {
	case F_CPU:
		fprintf(f, " %" PRIu64 ".%09" PRIu64 "\n", c->cpu_ns / 1000000000u,
			c->cpu_ns % 1000000000u);
		break;
	case F_RX_BYTES:
		fprintf(f, " %" PRIu64 "\n", c->rx_bytes);
		break;
	case F_TX_BYTES:
		fprintf(f, " %" PRIu64 "\n", c->tx_bytes);
		break;
	case F_RX_PACKETS:
		fprintf(f, " %" PRIu64 "\n", c->rx_packets);
		break;
	case F_TX_PACKETS:
		fprintf(f, " %" PRIu64 "\n", c->tx_packets);
		break;
	}
}

static void prom_histogram(const struct prom_ctx *p, const char *scope, const struct ebpf_stat *st,
			   size_t n, enum ebpf_kind kind)
{
	FILE *f = p->f;

	fprintf(f,
		"# HELP ferry_%s_runqueue_wait_seconds Time runnable tasks waited for a CPU (wakeup or preemption to switch-in)\n",
		scope);
	fprintf(f, "# TYPE ferry_%s_runqueue_wait_seconds histogram\n", scope);
	for (size_t i = 0; i < n; i++) {
		const struct ebpf_counters *c = &st[i].total;
		uint64_t cum = 0;

		if (st[i].kind != kind)
			continue;
		for (unsigned int b = 0; b < EBPF_RUNQ_SLOTS; b++) {
			char le[32];

			cum += c->hist[b];
			if (b == EBPF_RUNQ_SLOTS - 1)
				snprintf(le, sizeof(le), "+Inf");
			else
				snprintf(le, sizeof(le), "%g", ebpf_hist_le(b));
			fprintf(f, "ferry_%s_runqueue_wait_seconds_bucket", scope);
			prom_labels(p, &st[i], le);
			fprintf(f, " %" PRIu64 "\n", cum);
		}
		fprintf(f, "ferry_%s_runqueue_wait_seconds_sum", scope);
		prom_labels(p, &st[i], NULL);
		fprintf(f, " %" PRIu64 ".%09" PRIu64 "\n", c->runq_ns / 1000000000u,
			c->runq_ns % 1000000000u);
		fprintf(f, "ferry_%s_runqueue_wait_seconds_count", scope);
		prom_labels(p, &st[i], NULL);
		/* _count must equal the +Inf bucket */
		fprintf(f, " %" PRIu64 "\n", cum);
	}
}

/*
 * The per-second rates `ferry top` shows, as gauges over the agent's last
 * sample interval. A series in its first sample has no interval yet
 * (rate.interval_s 0): its gauges are left out rather than reported as 0.
 */
enum prom_gauge { G_CPU, G_P50, G_P99, G_RX_BYTES, G_TX_BYTES, G_RX_PACKETS, G_TX_PACKETS };

static const struct prom_family prom_gauges[] = {
	[G_CPU] = {"cpu_usage_cores", "CPU seconds per second over the last sample interval",
		   EBPF_FEAT_SCHED},
	[G_P50] = {"runqueue_wait_p50_seconds",
		   "Median run-queue wait over the last sample interval (0: no wait in it)",
		   EBPF_FEAT_SCHED},
	[G_P99] =
		{"runqueue_wait_p99_seconds",
		 "99th percentile run-queue wait over the last sample interval (0: no wait in it)",
		 EBPF_FEAT_SCHED},
	[G_RX_BYTES] = {"network_receive_bytes_per_second",
			"Bytes received per second over the last sample interval", EBPF_FEAT_NET},
	[G_TX_BYTES] = {"network_transmit_bytes_per_second",
			"Bytes sent per second over the last sample interval", EBPF_FEAT_NET},
	[G_RX_PACKETS] = {"network_receive_packets_per_second",
			  "Packets received per second over the last sample interval",
			  EBPF_FEAT_NET},
	[G_TX_PACKETS] = {"network_transmit_packets_per_second",
			  "Packets sent per second over the last sample interval", EBPF_FEAT_NET},
};

static double prom_gauge_value(enum prom_gauge g, const struct ebpf_rates *r)
{
	switch (g) {
	case G_CPU:
		return r->cpu_cores;
	case G_P50:
		return r->runq_p50_s;
	case G_P99:
		return r->runq_p99_s;
	case G_RX_BYTES:
		return r->rx_bytes_s;
	case G_TX_BYTES:
		return r->tx_bytes_s;
	case G_RX_PACKETS:
		return r->rx_packets_s;
	case G_TX_PACKETS:
		return r->tx_packets_s;
	}
	return 0;
}

static void prom_rate_gauges(const struct prom_ctx *p, const char *scope,
			     const struct ebpf_stat *st, size_t n, enum ebpf_kind kind,
			     unsigned int features)
{
	FILE *f = p->f;

	for (size_t g = 0; g < sizeof(prom_gauges) / sizeof(prom_gauges[0]); g++) {
		const struct prom_family *pf = &prom_gauges[g];

		if (!(features & pf->feature))
			continue;
		fprintf(f, "# HELP ferry_%s_%s %s\n", scope, pf->name, pf->help);
		fprintf(f, "# TYPE ferry_%s_%s gauge\n", scope, pf->name);
		for (size_t i = 0; i < n; i++) {
			if (st[i].kind != kind || !(st[i].rate.interval_s > 0))
				continue;
			fprintf(f, "ferry_%s_%s", scope, pf->name);
			prom_labels(p, &st[i], NULL);
			fprintf(f, " %.9g\n", prom_gauge_value((enum prom_gauge)g, &st[i].rate));
		}
	}
}

/* the CFS counters and gauges of the series of @kind that have them */
static void prom_cfs(const struct prom_ctx *p, const char *scope, const struct ebpf_stat *st,
		     size_t n, enum ebpf_kind kind)
{
	static const char *const counters[][2] = {
		{"cpu_cfs_periods_total",
		 "Elapsed CFS enforcement periods (cgroup cpu.stat nr_periods)"},
		{"cpu_cfs_throttled_periods_total",
		 "CFS periods in which the quota ran out (cgroup cpu.stat nr_throttled)"},
		{"cpu_cfs_throttled_seconds_total",
		 "Time runnable tasks were held back by the CFS quota, summed over CPUs (cgroup cpu.stat throttled time)"},
	};
	static const char *const gauges[][2] = {
		{"cpu_cfs_throttled_seconds_per_second",
		 "CFS-throttled seconds per second over the last sample interval (the fraction of time throttled; above 1 when several CPUs are)"},
		{"cpu_cfs_throttled_periods_fraction",
		 "Throttled CFS periods / elapsed periods over the last sample interval (0: no period)"},
	};
	bool any = false, anyrate = false;
	FILE *f = p->f;

	for (size_t i = 0; i < n; i++) {
		if (st[i].kind != kind)
			continue;
		any |= st[i].total.has_cfs;
		anyrate |= st[i].rate.interval_s > 0 && st[i].rate.has_cfs;
	}
	for (size_t c = 0; any && c < sizeof(counters) / sizeof(counters[0]); c++) {
		fprintf(f, "# HELP ferry_%s_%s %s\n", scope, counters[c][0], counters[c][1]);
		fprintf(f, "# TYPE ferry_%s_%s counter\n", scope, counters[c][0]);
		for (size_t i = 0; i < n; i++) {
			const struct ebpf_counters *t = &st[i].total;

			if (st[i].kind != kind || !t->has_cfs)
				continue;
			fprintf(f, "ferry_%s_%s", scope, counters[c][0]);
			prom_labels(p, &st[i], NULL);
			if (c == 0)
				fprintf(f, " %" PRIu64 "\n", t->cfs_periods);
			else if (c == 1)
				fprintf(f, " %" PRIu64 "\n", t->cfs_throttled_periods);
			else
				fprintf(f, " %" PRIu64 ".%09" PRIu64 "\n",
					t->cfs_throttled_ns / 1000000000u,
					t->cfs_throttled_ns % 1000000000u);
		}
	}
	for (size_t g = 0; anyrate && g < sizeof(gauges) / sizeof(gauges[0]); g++) {
		fprintf(f, "# HELP ferry_%s_%s %s\n", scope, gauges[g][0], gauges[g][1]);
		fprintf(f, "# TYPE ferry_%s_%s gauge\n", scope, gauges[g][0]);
		for (size_t i = 0; i < n; i++) {
			const struct ebpf_rates *r = &st[i].rate;

			if (st[i].kind != kind || !(r->interval_s > 0) || !r->has_cfs)
				continue;
			fprintf(f, "ferry_%s_%s", scope, gauges[g][0]);
			prom_labels(p, &st[i], NULL);
			fprintf(f, " %.9g\n", g == 0 ? r->cfs_throttled_s : r->cfs_throttled_frac);
		}
	}
}

/* the working set of the series of @kind that have it (pods), cAdvisor's name */
static void prom_mem(const struct prom_ctx *p, const char *scope, const struct ebpf_stat *st,
		     size_t n, enum ebpf_kind kind)
{
	bool any = false;
	FILE *f = p->f;

	for (size_t i = 0; i < n; i++)
		any |= st[i].kind == kind && st[i].total.has_mem;
	if (!any)
		return;
	fprintf(f,
		"# HELP ferry_%s_memory_working_set_bytes Memory usage less inactive file pages at the last sample (cgroup memory.current - inactive_file)\n",
		scope);
	fprintf(f, "# TYPE ferry_%s_memory_working_set_bytes gauge\n", scope);
	for (size_t i = 0; i < n; i++) {
		if (st[i].kind != kind || !st[i].total.has_mem)
			continue;
		fprintf(f, "ferry_%s_memory_working_set_bytes", scope);
		prom_labels(p, &st[i], NULL);
		fprintf(f, " %" PRIu64 "\n", st[i].total.mem_working_set);
	}
}

int ebpf_prom_write(FILE *f, const struct ebpf_stat *st, size_t n, unsigned int features,
		    ebpf_pod_meta_fn meta, void *arg)
{
	double interval = 0;

	static const struct {
		const char *scope;
		enum ebpf_kind kind;
	} scopes[] = {{"pod", EBPF_KIND_POD}, {"container", EBPF_KIND_CONTAINER}};
	struct prom_ctx p = {.f = f, .meta = meta, .arg = arg};

	for (size_t s = 0; s < 2; s++) {
		for (size_t fam = 0; fam < sizeof(prom_counters) / sizeof(prom_counters[0]);
		     fam++) {
			const struct prom_family *pf = &prom_counters[fam];

			if (!(features & pf->feature))
				continue;
			fprintf(f, "# HELP ferry_%s_%s %s\n", scopes[s].scope, pf->name, pf->help);
			fprintf(f, "# TYPE ferry_%s_%s counter\n", scopes[s].scope, pf->name);
			for (size_t i = 0; i < n; i++) {
				if (st[i].kind != scopes[s].kind)
					continue;
				fprintf(f, "ferry_%s_%s", scopes[s].scope, pf->name);
				prom_labels(&p, &st[i], NULL);
				prom_value(f, (enum prom_field)fam, &st[i].total);
			}
		}
		if (features & EBPF_FEAT_SCHED)
			prom_histogram(&p, scopes[s].scope, st, n, scopes[s].kind);
		prom_rate_gauges(&p, scopes[s].scope, st, n, scopes[s].kind, features);
		prom_cfs(&p, scopes[s].scope, st, n, scopes[s].kind);
		prom_mem(&p, scopes[s].scope, st, n, scopes[s].kind);
	}
	for (size_t i = 0; i < n && !(interval > 0); i++)
		interval = st[i].rate.interval_s;
	fputs("# HELP ferry_agent_rate_interval_seconds The interval the *_per_second, *_cores, *_fraction and *_p50/p99 gauges cover (0: one sample so far)\n",
	      f);
	fputs("# TYPE ferry_agent_rate_interval_seconds gauge\n", f);
	fprintf(f, "ferry_agent_rate_interval_seconds %.9g\n", interval);
	fputs("# HELP ferry_agent_feature_enabled Whether the agent's eBPF feature is loaded and attached\n",
	      f);
	fputs("# TYPE ferry_agent_feature_enabled gauge\n", f);
	fprintf(f, "ferry_agent_feature_enabled{feature=\"sched\"} %d\n",
		!!(features & EBPF_FEAT_SCHED));
	fprintf(f, "ferry_agent_feature_enabled{feature=\"net\"} %d\n",
		!!(features & EBPF_FEAT_NET));
	fflush(f);
	return ferror(f) ? -EIO : 0;
}
