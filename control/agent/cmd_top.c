// SPDX-License-Identifier: MIT
/*
 * control/agent/cmd_top.c - ferry top: the agent's per-pod table on a terminal,
 * refreshed every second (kubectl top pod, at 1 s and with run-queue wait
 * and traffic).
 *
 * Beside a running agent it reads the maps the agent pinned, read-only;
 * without one it loads the programs itself for as long as it runs.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "control/cli/cli.h"
#include "bpf/ebpf.h"

static void top_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry top [OPTIONS]\n\n"
		"Print CPU, run-queue wait and network rates per pod, every interval.\n\n"
		"  --containers            a row per container under each pod\n"
		"  --interval SECONDS      refresh period (default 1; 0.1 to 60, \"500ms\" works)\n"
		"  --count N               stop after N tables (default: until interrupted)\n"
		"  --pin-dir DIR           where a running agent pinned its maps (default\n"
		"                          /sys/fs/bpf/ferry); without an agent, top loads the\n"
		"                          programs itself, unpinned, for as long as it runs\n"
		"  --cgroup-root DIR       cgroup v2 mount (default: found in /proc/self/mountinfo)\n"
		"  -h, --help              this text\n\n"
		"Columns: CPU in cores; P50/P99 run-queue wait over the interval; bytes and\n"
		"packets per second (L3, both directions); THROTTLED: seconds per second the\n"
		"cgroup's CPU limit (CFS quota) held it back, from its cpu.stat (\"-\": none).\n");
}

static void top_dur(char *buf, size_t len, double s)
{
	if (s <= 0)
		snprintf(buf, len, "-");
	else if (s < 1e-3)
		snprintf(buf, len, "%.0fus", s * 1e6);
	else if (s < 1)
		snprintf(buf, len, "%.1fms", s * 1e3);
	else
		snprintf(buf, len, "%.2fs", s);
}

static void top_rate(char *buf, size_t len, double v)
{
	if (v < 1000)
		snprintf(buf, len, "%.0f", v);
	else if (v < 1e6)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else if (v < 1e9)
		snprintf(buf, len, "%.1fM", v / 1e6);
	else
		snprintf(buf, len, "%.2fG", v / 1e9);
}

static void top_row(const struct ebpf_stat *s, const char *name, const char *qos)
{
	char p50[16], p99[16], rx[16], tx[16], rxp[16], txp[16], thr[16];

	top_dur(p50, sizeof(p50), s->rate.runq_p50_s);
	top_dur(p99, sizeof(p99), s->rate.runq_p99_s);
	top_rate(rx, sizeof(rx), s->rate.rx_bytes_s);
	top_rate(tx, sizeof(tx), s->rate.tx_bytes_s);
	top_rate(rxp, sizeof(rxp), s->rate.rx_packets_s);
	top_rate(txp, sizeof(txp), s->rate.tx_packets_s);
	if (s->rate.has_cfs)
		snprintf(thr, sizeof(thr), "%.3f", s->rate.cfs_throttled_s);
	else
		snprintf(thr, sizeof(thr), "-");
	printf("%-38s %-10s %7.3f %8s %8s %8s %8s %8s %8s %9s\n", name, qos, s->rate.cpu_cores, p50,
	       p99, rx, tx, rxp, txp, thr);
}

static void top_table(struct ebpf_agent *a, bool containers, bool tty)
{
	const struct ebpf_stat *st;
	unsigned int feat = ebpf_agent_features(a);
	size_t n, pods = 0;

	ebpf_agent_stats(a, &st, &n);
	if (tty)
		fputs("\033[H\033[2J", stdout);
	printf("%-38s %-10s %7s %8s %8s %8s %8s %8s %8s %9s\n", "POD UID", "QOS", "CPU", "RUNQ-P50",
	       "RUNQ-P99", "RX B/s", "TX B/s", "RX pk/s", "TX pk/s", "THROTTLED");
	for (size_t i = 0; i < n; i++) {
		if (st[i].kind == EBPF_KIND_POD) {
			top_row(&st[i], st[i].pod_uid, st[i].qos);
			pods++;
		} else if (containers) {
			char name[64];

			snprintf(name, sizeof(name), "  %.34s", st[i].container_id);
			top_row(&st[i], name, "");
		}
	}
	printf("%zu pod%s%s%s\n", pods, pods == 1 ? "" : "s",
	       feat & EBPF_FEAT_SCHED ? "" : " (no CPU metrics: scheduler programs missing)",
	       feat & EBPF_FEAT_NET ? "" : " (no network metrics: network programs missing)");
	fflush(stdout);
}

static void top_sleep(double s)
{
	while (s > 0 && !ctl_interrupted()) {
		double d = s > 0.1 ? 0.1 : s;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(d * 1e9)};

		nanosleep(&ts, NULL);
		s -= d;
	}
}

int ctl_cmd_top(int argc, char **argv)
{
	enum { OPT_CONTAINERS = 1100, OPT_INTERVAL, OPT_COUNT, OPT_PIN_DIR, OPT_CGROUP_ROOT };
	static const struct option opts[] = {
		{"containers", no_argument, NULL, OPT_CONTAINERS},
		{"interval", required_argument, NULL, OPT_INTERVAL},
		{"count", required_argument, NULL, OPT_COUNT},
		{"pin-dir", required_argument, NULL, OPT_PIN_DIR},
		{"cgroup-root", required_argument, NULL, OPT_CGROUP_ROOT},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *pin_dir = "/sys/fs/bpf/ferry";
	struct ebpf_agent *a = NULL;
	bool containers = false, tty = isatty(STDOUT_FILENO);
	double interval = 1;
	long count = -1;
	struct ebpf_opts o;
	int opt, ret;

	ebpf_opts_init(&o);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			top_usage(stdout);
			return 0;
		case OPT_CONTAINERS:
			containers = true;
			break;
		case OPT_INTERVAL:
			if (ctl_parse_interval(optarg, &interval, NULL))
				return ctl_usage_error(
					"top", "--interval '%s': want 0.1 to 60 seconds", optarg);
			break;
		case OPT_COUNT: {
			char *end;

			errno = 0;
			count = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || count < 1)
				return ctl_usage_error(
					"top", "--count '%s': want a positive number", optarg);
			break;
		}
		case OPT_PIN_DIR:
			pin_dir = optarg;
			break;
		case OPT_CGROUP_ROOT:
			o.cgroup_root = optarg;
			break;
		default:
			return ctl_usage_error("top", "unknown option");
		}
	}
	if (optind < argc)
		return ctl_usage_error("top", "unexpected argument '%s'", argv[optind]);
	ebpf_set_log(ctl_log_line);
	ctl_signals_init();
	o.pin_dir = pin_dir;
	o.readonly = true;
	ret = ebpf_agent_open(&o, &a);
	if (ret == -ENOENT) {
		ctl_log(CTL_LOG_INFO, "no agent pins under %s: loading the programs for this run",
			pin_dir);
		o.pin_dir = NULL;
		o.readonly = false;
		ret = ebpf_agent_open(&o, &a);
	}
	if (ret)
		return ctl_fail(ret, strerror(-ret), "open the eBPF pod metrics");
	ret = ebpf_agent_sample(a);
	while (!ret && count && !ctl_interrupted()) {
		top_sleep(interval);
		if (ctl_interrupted())
			break;
		ret = ebpf_agent_sample(a);
		if (ret)
			break;
		top_table(a, containers, tty);
		if (count > 0)
			count--;
	}
	if (ret)
		ret = ctl_fail(ret, strerror(-ret), "sample the counters");
	else
		ret = 0;
	ebpf_agent_close(a);
	return ret;
}
