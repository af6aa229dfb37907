// SPDX-License-Identifier: MIT
/*
 * tests/bpf/t_bpf_rates.c - histogram slot bounds, quantiles (as Prometheus's
 * histogram_quantile() interpolates) and rates between two samples, CFS
 * throttling included.
 */
#include <math.h>
#include <string.h>

#include "t_helpers.h"
#include "bpf/ebpf.h"

static bool near(double a, double b)
{
	return fabs(a - b) <= 1e-12 + 1e-9 * fabs(b);
}

int main(void)
{
	uint64_t h[EBPF_RUNQ_SLOTS] = {0};
	struct ebpf_counters a, b;
	struct ebpf_rates r;

	/* slot bounds: 1 us, 2 us, ... 2^24 us, +Inf */
	T_ASSERT(near(ebpf_hist_le(0), 1e-6), "le0 %g", ebpf_hist_le(0));
	T_ASSERT(near(ebpf_hist_le(10), 1024e-6), "le10 %g", ebpf_hist_le(10));
	T_ASSERT(near(ebpf_hist_le(EBPF_RUNQ_SLOTS - 2), 16.777216), "le24");
	T_ASSERT(isinf(ebpf_hist_le(EBPF_RUNQ_SLOTS - 1)), "last is +Inf");

	/* empty */
	T_ASSERT(ebpf_hist_quantile(h, 0.99) == 0, "empty");
	/* all in slot 0 [0, 1us): median 0.5 us */
	h[0] = 100;
	T_ASSERT(near(ebpf_hist_quantile(h, 0.5), 0.5e-6), "p50 %g", ebpf_hist_quantile(h, 0.5));
	/* 90 in [0,1us), 10 in [512us, 1024us): p99 inside the upper slot */
	memset(h, 0, sizeof(h));
	h[0] = 90;
	h[10] = 10;
	/* rank 99 -> 9 of 10 into [512, 1024): 512 + 512 * 0.9 = 972.8 us */
	T_ASSERT(near(ebpf_hist_quantile(h, 0.99), 972.8e-6), "p99 %g",
		 ebpf_hist_quantile(h, 0.99));
	T_ASSERT(near(ebpf_hist_quantile(h, 0.5), 0.5e-6 * 50 / 45), "p50 %g",
		 ebpf_hist_quantile(h, 0.5));
	T_ASSERT(near(ebpf_hist_quantile(h, 0), 0), "q0");
	T_ASSERT(near(ebpf_hist_quantile(h, 1), 1024e-6), "q1 %g", ebpf_hist_quantile(h, 1));
	/* the +Inf slot answers the highest finite bound */
	memset(h, 0, sizeof(h));
	h[EBPF_RUNQ_SLOTS - 1] = 5;
	T_ASSERT(near(ebpf_hist_quantile(h, 0.99), 16.777216), "inf %g",
		 ebpf_hist_quantile(h, 0.99));

	/* rates */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.cpu_ns = 1000000000;
	b.cpu_ns = 2500000000; /* 1.5 s of CPU in 2 s: 0.75 cores */
	a.rx_bytes = 100;
	b.rx_bytes = 2100;
	a.tx_packets = 10;
	b.tx_packets = 30;
	b.hist[3] = 7; /* [4, 8) us */
	ebpf_rates_compute(&a, &b, 2.0, &r);
	T_ASSERT(near(r.interval_s, 2.0), "dt");
	T_ASSERT(near(r.cpu_cores, 0.75), "cores %g", r.cpu_cores);
	T_ASSERT(near(r.rx_bytes_s, 1000), "rx %g", r.rx_bytes_s);
	T_ASSERT(near(r.tx_packets_s, 10), "txp %g", r.tx_packets_s);
	T_ASSERT(r.runq_samples == 7, "samples %llu", (unsigned long long)r.runq_samples);
	T_ASSERT(r.runq_p99_s > 4e-6 && r.runq_p99_s <= 8e-6, "p99 %g", r.runq_p99_s);
	/* a counter that went down (cannot happen, but a series may be new) is 0, not huge */
	ebpf_rates_compute(&b, &a, 2.0, &r);
	T_ASSERT(r.cpu_cores == 0 && r.rx_bytes_s == 0 && r.runq_samples == 0, "backwards");
	/* no previous sample, or no time: all zero */
	ebpf_rates_compute(NULL, &b, 2.0, &r);
	T_ASSERT(r.interval_s == 0 && r.cpu_cores == 0, "no prev");
	ebpf_rates_compute(&a, &b, 0, &r);
	T_ASSERT(r.interval_s == 0 && r.cpu_cores == 0, "dt 0");

	/* CFS: 0.8 s throttled per second, 8 of 10 periods throttled */
	T_ASSERT(!r.has_cfs, "no CFS without cpu.stat");
	a.has_cfs = b.has_cfs = true;
	a.cfs_periods = 100;
	b.cfs_periods = 120;
	a.cfs_throttled_periods = 50;
	b.cfs_throttled_periods = 66;
	a.cfs_throttled_ns = 3000000000;
	b.cfs_throttled_ns = 4600000000;
	ebpf_rates_compute(&a, &b, 2.0, &r);
	T_ASSERT(r.has_cfs, "CFS rates with both samples");
	T_ASSERT(near(r.cfs_throttled_s, 0.8), "throttled s/s %g", r.cfs_throttled_s);
	T_ASSERT(near(r.cfs_throttled_frac, 0.8), "throttled fraction %g", r.cfs_throttled_frac);
	/* no period elapsed (no quota): 0, not NaN */
	b.cfs_periods = a.cfs_periods;
	ebpf_rates_compute(&a, &b, 2.0, &r);
	T_ASSERT(r.cfs_throttled_frac == 0, "no period: %g", r.cfs_throttled_frac);
	/* only one sample has it (the file appeared or went): no CFS rates */
	a.has_cfs = false;
	ebpf_rates_compute(&a, &b, 2.0, &r);
	T_ASSERT(!r.has_cfs && r.cfs_throttled_s == 0, "one side only");
	puts("PASS: rates");
	return T_EXIT_PASS;
}
