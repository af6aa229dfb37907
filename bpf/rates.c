// SPDX-License-Identifier: MIT
/*
 * bpf/rates.c - counter arithmetic: per-CPU sums, monotonic clamps, rates
 * and histogram quantiles. Pure functions, unit-tested in tests/bpf.
 */
#include <math.h>
#include <string.h>

#include "ebpf_int.h"

void ebpf_counters_add_cpu(struct ebpf_counters *c, const struct podstat_cpu *v)
{
	c->cpu_ns += v->oncpu_ns;
	c->runq_ns += v->runq_ns;
	c->runq_cnt += v->runq_cnt;
	for (unsigned int i = 0; i < EBPF_RUNQ_SLOTS; i++)
		c->hist[i] += v->hist[i];
}

void ebpf_counters_add_net(struct ebpf_counters *c, const struct podstat_net *v)
{
	c->rx_bytes += v->rx_bytes;
	c->rx_packets += v->rx_packets;
	c->tx_bytes += v->tx_bytes;
	c->tx_packets += v->tx_packets;
}

#define CLAMP(f)                                                                                   \
	do {                                                                                       \
		if (c->f < floor->f)                                                               \
			c->f = floor->f;                                                           \
	} while (0)

void ebpf_counters_clamp(struct ebpf_counters *c, const struct ebpf_counters *floor)
{
	CLAMP(cpu_ns);
	CLAMP(runq_ns);
	CLAMP(runq_cnt);
	CLAMP(rx_bytes);
	CLAMP(rx_packets);
	CLAMP(tx_bytes);
	CLAMP(tx_packets);
	for (unsigned int i = 0; i < EBPF_RUNQ_SLOTS; i++)
		CLAMP(hist[i]);
	if (c->has_cfs && floor->has_cfs) {
		CLAMP(cfs_periods);
		CLAMP(cfs_throttled_periods);
		CLAMP(cfs_throttled_ns);
	}
}

double ebpf_hist_le(unsigned int i)
{
	if (i >= EBPF_RUNQ_SLOTS - 1)
		return INFINITY;
	return ldexp(1e-6, (int)i);
}

double ebpf_hist_quantile(const uint64_t hist[EBPF_RUNQ_SLOTS], double q)
{
	uint64_t total = 0, cum = 0;
	double rank;

	for (unsigned int i = 0; i < EBPF_RUNQ_SLOTS; i++)
		total += hist[i];
	if (!total)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	rank = q * (double)total;
	for (unsigned int i = 0; i < EBPF_RUNQ_SLOTS; i++) {
		double lo, hi;

		if (!hist[i] || (double)(cum + hist[i]) < rank) {
			cum += hist[i];
			continue;
		}
		/* as histogram_quantile(): the +Inf bucket answers its lower bound */
		if (i == EBPF_RUNQ_SLOTS - 1)
			return ebpf_hist_le(i - 1);
		lo = i ? ebpf_hist_le(i - 1) : 0;
		hi = ebpf_hist_le(i);
		return lo + (hi - lo) * (rank - (double)cum) / (double)hist[i];
	}
	return ebpf_hist_le(EBPF_RUNQ_SLOTS - 2);
}

static double rate_of(uint64_t prev, uint64_t cur, double dt)
{
	return cur > prev ? (double)(cur - prev) / dt : 0;
}

void ebpf_rates_compute(const struct ebpf_counters *prev, const struct ebpf_counters *cur,
			double dt, struct ebpf_rates *out)
{
	uint64_t d[EBPF_RUNQ_SLOTS];

	memset(out, 0, sizeof(*out));
	if (!prev || !(dt > 0))
		return;
	if (cur->has_mem) {
		out->has_mem = true;
		out->mem_working_set_bytes = (double)cur->mem_working_set;
	}
	out->interval_s = dt;
	out->cpu_cores = rate_of(prev->cpu_ns, cur->cpu_ns, dt) / 1e9;
	out->rx_bytes_s = rate_of(prev->rx_bytes, cur->rx_bytes, dt);
	out->tx_bytes_s = rate_of(prev->tx_bytes, cur->tx_bytes, dt);
	out->rx_packets_s = rate_of(prev->rx_packets, cur->rx_packets, dt);
	out->tx_packets_s = rate_of(prev->tx_packets, cur->tx_packets, dt);
	for (unsigned int i = 0; i < EBPF_RUNQ_SLOTS; i++) {
		d[i] = cur->hist[i] > prev->hist[i] ? cur->hist[i] - prev->hist[i] : 0;
		out->runq_samples += d[i];
	}
	out->runq_p50_s = ebpf_hist_quantile(d, 0.50);
	out->runq_p99_s = ebpf_hist_quantile(d, 0.99);
	if (prev->has_cfs && cur->has_cfs) {
		uint64_t np = cur->cfs_periods > prev->cfs_periods
				      ? cur->cfs_periods - prev->cfs_periods
				      : 0;
		uint64_t nt = cur->cfs_throttled_periods > prev->cfs_throttled_periods
				      ? cur->cfs_throttled_periods - prev->cfs_throttled_periods
				      : 0;

		out->has_cfs = true;
		out->cfs_throttled_s =
			rate_of(prev->cfs_throttled_ns, cur->cfs_throttled_ns, dt) / 1e9;
		out->cfs_throttled_frac = np ? (double)(nt < np ? nt : np) / (double)np : 0;
	}
}
