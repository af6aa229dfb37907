// SPDX-License-Identifier: MIT
/*
 * tests/bpf/t_bpf_prom.c - the exposition text: HELP/TYPE once per family
 * before its samples, labels (escaped), cumulative buckets ending in +Inf
 * equal to _count, nanosecond-exact seconds, features leaving families out;
 * the last interval's rates as gauges, only for series that have one; CFS
 * families only for series with CFS statistics.
 */
#include <string.h>

#include "t_helpers.h"
#include "bpf/ebpf.h"

static bool meta(const char *uid, char *ns, size_t ns_len, char *name, size_t name_len, void *arg)
{
	(void)arg;
	if (strcmp(uid, "u1"))
		return false;
	snprintf(ns, ns_len, "default");
	snprintf(name, name_len, "web-\"0\"\\x\n");
	return true;
}

static char *render(const struct ebpf_stat *st, size_t n, unsigned int feat, ebpf_pod_meta_fn m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	T_ASSERT(f, "open_memstream");
	T_ASSERT_EQ(ebpf_prom_write(f, st, n, feat, m, NULL), 0);
	fclose(f);
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

int main(void)
{
	struct ebpf_stat st[3];
	char *out;

	memset(st, 0, sizeof(st));
	st[0].kind = EBPF_KIND_POD;
	snprintf(st[0].pod_uid, sizeof(st[0].pod_uid), "u1");
	st[0].total.cpu_ns = 1500000001;
	st[0].total.rx_bytes = 42;
	st[0].total.hist[0] = 3;
	st[0].total.hist[5] = 2;
	st[0].total.runq_ns = 123;
	st[1] = st[0];
	st[1].kind = EBPF_KIND_CONTAINER;
	snprintf(st[1].container_id, sizeof(st[1].container_id), "c1");
	st[2].kind = EBPF_KIND_POD;
	snprintf(st[2].pod_uid, sizeof(st[2].pod_uid), "u2");

	out = render(st, 3, EBPF_FEAT_ALL, meta);
	/* one HELP and TYPE per family, before its samples */
	T_ASSERT_EQ(count(out, "# TYPE ferry_pod_cpu_usage_seconds_total counter\n"), 1);
	T_ASSERT_EQ(count(out, "# HELP ferry_pod_cpu_usage_seconds_total "), 1);
	T_ASSERT(strstr(out, "# TYPE ferry_pod_cpu_usage_seconds_total") <
			 strstr(out, "\nferry_pod_cpu_usage_seconds_total{"),
		 "TYPE before samples");
	T_ASSERT_EQ(count(out, "# TYPE ferry_container_runqueue_wait_seconds histogram\n"), 1);
	/* labels, with the pod name escaped */
	T_ASSERT(
		strstr(out,
		       "ferry_pod_cpu_usage_seconds_total{pod_uid=\"u1\",namespace=\"default\",pod=\"web-\\\"0\\\"\\\\x\\n\"} 1.500000001\n"),
		"pod sample:\n%s", out);
	T_ASSERT(strstr(out, "ferry_pod_cpu_usage_seconds_total{pod_uid=\"u2\"} 0.000000000\n"),
		 "pod without meta");
	T_ASSERT(
		strstr(out,
		       "ferry_container_network_receive_bytes_total{pod_uid=\"u1\",namespace=\"default\",pod=\"web-\\\"0\\\"\\\\x\\n\",container_id=\"c1\"} 42\n"),
		"container sample");
	/* cumulative buckets, +Inf == _count, sum in seconds */
	T_ASSERT(strstr(out,
			"ferry_pod_runqueue_wait_seconds_bucket{pod_uid=\"u2\",le=\"1e-06\"} 0\n"),
		 "first bucket");
	T_ASSERT(
		strstr(out,
		       "ferry_container_runqueue_wait_seconds_bucket{pod_uid=\"u1\",namespace=\"default\",pod=\"web-\\\"0\\\"\\\\x\\n\",container_id=\"c1\",le=\"3.2e-05\"} 5\n"),
		"cumulative bucket:\n%s", out);
	T_ASSERT(strstr(out, ",le=\"+Inf\"} 5\n"), "+Inf bucket");
	T_ASSERT(
		strstr(out,
		       "ferry_pod_runqueue_wait_seconds_count{pod_uid=\"u1\",namespace=\"default\",pod=\"web-\\\"0\\\"\\\\x\\n\"} 5\n"),
		"count");
	T_ASSERT(strstr(out, "ferry_pod_runqueue_wait_seconds_sum{pod_uid=\"u2\"} 0.000000000\n"),
		 "sum");
	T_ASSERT_EQ(count(out, "ferry_pod_runqueue_wait_seconds_bucket{pod_uid=\"u1\""),
		    EBPF_RUNQ_SLOTS);
	T_ASSERT(strstr(out, "ferry_agent_feature_enabled{feature=\"net\"} 1\n"), "net gauge");
	/* no series has a rate yet: the gauge families are there, without samples */
	T_ASSERT_EQ(count(out, "# TYPE ferry_pod_cpu_usage_cores gauge\n"), 1);
	T_ASSERT_EQ(count(out, "\nferry_pod_cpu_usage_cores{"), 0);
	T_ASSERT(strstr(out, "\nferry_agent_rate_interval_seconds 0\n"), "no interval yet");
	free(out);

	/* the rates of the last interval, as gauges; a series without one has none */
	st[0].rate = (struct ebpf_rates){.interval_s = 1.0,
					 .cpu_cores = 0.25,
					 .runq_p50_s = 3e-06,
					 .runq_p99_s = 0.0125,
					 .runq_samples = 7,
					 .rx_bytes_s = 1500,
					 .tx_bytes_s = 123456789,
					 .rx_packets_s = 2.5,
					 .tx_packets_s = 1};
	st[1].rate = st[0].rate;
	st[1].rate.cpu_cores = 0.125;
	out = render(st, 3, EBPF_FEAT_ALL, NULL);
	T_ASSERT(strstr(out, "# TYPE ferry_pod_cpu_usage_cores gauge\n"
			     "ferry_pod_cpu_usage_cores{pod_uid=\"u1\"} 0.25\n# HELP"),
		 "cpu gauge, u1 only:\n%s", out);
	T_ASSERT(
		strstr(out,
		       "ferry_container_cpu_usage_cores{pod_uid=\"u1\",container_id=\"c1\"} 0.125\n"),
		"container cpu gauge");
	T_ASSERT(strstr(out, "ferry_pod_runqueue_wait_p50_seconds{pod_uid=\"u1\"} 3e-06\n"), "p50");
	T_ASSERT(strstr(out, "ferry_pod_runqueue_wait_p99_seconds{pod_uid=\"u1\"} 0.0125\n"),
		 "p99");
	T_ASSERT(strstr(out, "ferry_pod_network_receive_bytes_per_second{pod_uid=\"u1\"} 1500\n"),
		 "rx");
	T_ASSERT(strstr(out,
			"ferry_pod_network_transmit_bytes_per_second{pod_uid=\"u1\"} 123456789\n"),
		 "tx, exact");
	T_ASSERT(strstr(out, "ferry_pod_network_receive_packets_per_second{pod_uid=\"u1\"} 2.5\n"),
		 "rx packets");
	T_ASSERT(strstr(out, "ferry_pod_network_transmit_packets_per_second{pod_uid=\"u1\"} 1\n"),
		 "tx packets");
	T_ASSERT(!strstr(out, "_cores{pod_uid=\"u2\"") &&
			 !strstr(out, "_per_second{pod_uid=\"u2\""),
		 "no gauge for a series in its first sample");
	T_ASSERT(strstr(out, "\nferry_agent_rate_interval_seconds 1\n"), "interval");
	free(out);
	out = render(st, 3, EBPF_FEAT_NET, NULL);
	T_ASSERT(!strstr(out, "ferry_pod_cpu_usage_cores") && !strstr(out, "_p99_seconds"),
		 "no sched gauges without sched");
	T_ASSERT(strstr(out, "ferry_pod_network_receive_bytes_per_second{pod_uid=\"u1\"} 1500\n"),
		 "net gauges with net");
	free(out);
	out = render(st, 3, EBPF_FEAT_SCHED, NULL);
	T_ASSERT(!strstr(out, "_per_second{") && !strstr(out, "_per_second gauge"),
		 "no net gauges without net");
	free(out);
	memset(&st[0].rate, 0, sizeof(st[0].rate));
	memset(&st[1].rate, 0, sizeof(st[1].rate));

	/* a feature that is not loaded leaves its families out */
	out = render(st, 3, EBPF_FEAT_SCHED, NULL);
	T_ASSERT(!strstr(out, "network_"), "no network families");
	T_ASSERT(strstr(out, "ferry_agent_feature_enabled{feature=\"net\"} 0\n"), "net 0");
	T_ASSERT(strstr(out, "ferry_pod_cpu_usage_seconds_total{pod_uid=\"u1\"} 1.500000001\n"),
		 "no meta");
	free(out);
	out = render(st, 3, EBPF_FEAT_NET, NULL);
	T_ASSERT(!strstr(out, "cpu_usage") && !strstr(out, "runqueue"), "no sched families");
	T_ASSERT(strstr(out, "ferry_pod_network_receive_bytes_total{pod_uid=\"u1\"} 42\n"), "rx");
	free(out);
	/* no series with cpu.stat: no CFS family at all */
	out = render(st, 3, EBPF_FEAT_ALL, NULL);
	T_ASSERT(!strstr(out, "_cfs_"), "no CFS families without CFS statistics");
	free(out);
	/* CFS counters for the series that have them, whatever eBPF feature is loaded */
	st[0].total.has_cfs = true;
	st[0].total.cfs_periods = 120;
	st[0].total.cfs_throttled_periods = 96;
	st[0].total.cfs_throttled_ns = 7712345678ull;
	st[2].total.has_cfs = true; /* an unlimited pod: zeros */
	out = render(st, 3, EBPF_FEAT_NET, NULL);
	T_ASSERT_EQ(count(out, "# TYPE ferry_pod_cpu_cfs_periods_total counter\n"), 1);
	T_ASSERT_EQ(count(out, "# TYPE ferry_pod_cpu_cfs_throttled_periods_total counter\n"), 1);
	T_ASSERT_EQ(count(out, "# TYPE ferry_pod_cpu_cfs_throttled_seconds_total counter\n"), 1);
	T_ASSERT(strstr(out, "ferry_pod_cpu_cfs_periods_total{pod_uid=\"u1\"} 120\n"),
		 "periods:\n%s", out);
	T_ASSERT(strstr(out, "ferry_pod_cpu_cfs_throttled_periods_total{pod_uid=\"u1\"} 96\n"),
		 "throttled periods");
	T_ASSERT(strstr(out,
			"ferry_pod_cpu_cfs_throttled_seconds_total{pod_uid=\"u1\"} 7.712345678\n"),
		 "throttled seconds, ns-exact");
	T_ASSERT(strstr(out,
			"ferry_pod_cpu_cfs_throttled_seconds_total{pod_uid=\"u2\"} 0.000000000\n"),
		 "an unlimited pod: 0");
	T_ASSERT(!strstr(out, "_cfs_periods_total{pod_uid=\"u1\",container_id"),
		 "no CFS sample for the container without cpu.stat");
	T_ASSERT(!strstr(out, "ferry_container_cpu_cfs"), "no container CFS family");
	T_ASSERT(!strstr(out, "_cfs_throttled_seconds_per_second"), "no CFS gauge without rates");
	free(out);
	st[0].rate = (struct ebpf_rates){.interval_s = 1.0,
					 .has_cfs = true,
					 .cfs_throttled_s = 0.8,
					 .cfs_throttled_frac = 0.75};
	st[1].total.has_cfs = true;
	st[1].total.cfs_periods = 120;
	st[1].rate = (struct ebpf_rates){.interval_s = 1.0}; /* cpu.stat in one sample only */
	out = render(st, 3, EBPF_FEAT_ALL, NULL);
	T_ASSERT(strstr(out,
			"# TYPE ferry_pod_cpu_cfs_throttled_seconds_per_second gauge\n"
			"ferry_pod_cpu_cfs_throttled_seconds_per_second{pod_uid=\"u1\"} 0.8\n"),
		 "throttled s/s gauge:\n%s", out);
	T_ASSERT(strstr(out, "ferry_pod_cpu_cfs_throttled_periods_fraction{pod_uid=\"u1\"} 0.75\n"),
		 "throttled periods fraction");
	T_ASSERT(strstr(out,
			"ferry_container_cpu_cfs_periods_total{pod_uid=\"u1\",container_id=\"c1\"} "
			"120\n"),
		 "container CFS counter");
	T_ASSERT(!strstr(out, "ferry_container_cpu_cfs_throttled_seconds_per_second"),
		 "no container CFS gauge without a CFS rate");
	T_ASSERT(!strstr(out, "_per_second{pod_uid=\"u2\""), "no gauge in a first sample");
	free(out);
	memset(&st[0].rate, 0, sizeof(st[0].rate));
	memset(&st[1].rate, 0, sizeof(st[1].rate));
	for (int i = 0; i < 3; i++)
		st[i].total.has_cfs = false;

	/* nothing at all: still valid text */
	out = render(NULL, 0, EBPF_FEAT_ALL, NULL);
	T_ASSERT(strstr(out, "# TYPE ferry_pod_cpu_usage_seconds_total counter\n"), "empty");
	free(out);
	puts("PASS: exposition");
	return T_EXIT_PASS;
}
