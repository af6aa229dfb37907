// SPDX-License-Identifier: MIT
/*
 * control/agent/cmd_lb.c - ferry lb status|disable: the node's socket load
 * balancer as the agent pinned it (bpf/ebpf_lb.h).
 *
 *   status   what the pinned maps hold: each Service port, its generation,
 *            table size and backends with their weights and slots, and the
 *            cgroups skipped (pods with a mesh sidecar); read-only, beside a
 *            running agent
 *   disable  detach every program and remove the pins: kube-proxy's rules
 *            serve the Services again. A running agent with --socket-lb
 *            (the default) attaches it again when it restarts.
 */
#include <errno.h>
#include <netinet/in.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "control/cli/cli.h"
#include "bpf/ebpf_lb.h"

#define LB_PIN_DIR "/sys/fs/bpf/ferry"

static void lb_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry lb status [--pin-dir DIR]\n"
		"       ferry lb disable [--pin-dir DIR]\n"
		"       ferry lb get|describe ...   LoadBalancePolicies ('ferry lb get --help')\n\n"
		"The node's socket load balancer, which the agent programs with the Services\n"
		"annotated ferry.io/socket-lb: \"true\".\n\n"
		"  status                  the Service ports in the kernel's map, each with its\n"
		"                          table's generation, slots and backends (weight, slots),\n"
		"                          and the cgroups left alone (pods with a mesh sidecar)\n"
		"  disable                 detach the programs and remove the pins: kube-proxy's\n"
		"                          rules serve every Service again (an agent started with\n"
		"                          --socket-lb=true attaches it again)\n"
		"  --pin-dir DIR           the agent's pin directory (default " LB_PIN_DIR ")\n"
		"  -h, --help              this text\n\n"
		"Needs root (CAP_BPF, CAP_SYS_ADMIN).\n");
}

static int lb_show(struct ebpf_lb *lb, const struct ebpf_lb_vip *v)
{
	struct ebpf_maglev *t = NULL;
	uint32_t *cnt = NULL;
	uint64_t gen = 0;
	char a[64];
	int ret;

	ebpf_lb_addr_format(&v->addr, a, sizeof(a));
	ret = ebpf_lb_service_get(lb, v, &t, &gen);
	if (ret == -ENOENT)
		return 0; /* removed since the listing */
	if (ret)
		return ctl_fail(ret, strerror(-ret), "read the table of %s", a);
	cnt = calloc(t->n + 1, sizeof(*cnt));
	if (!cnt) {
		ebpf_maglev_free(t);
		return ctl_fail(-ENOMEM, NULL, "lb status");
	}
	for (uint32_t s = 0; s < t->m; s++)
		cnt[t->slot[s]]++;
	printf("service %s/%s generation %llu slots %u backends %u%s\n", a,
	       v->proto == IPPROTO_TCP ? "tcp" : "udp", (unsigned long long)gen, t->m, t->n,
	       t->m ? "" : " (refused: no backend)");
	for (uint32_t i = 0; i < t->n; i++) {
		ebpf_lb_addr_format(&t->be[i].addr, a, sizeof(a));
		printf("  backend %s weight %u slots %u\n", a, t->be[i].weight, cnt[i]);
	}
	free(cnt);
	ebpf_maglev_free(t);
	return 0;
}

static int lb_status(const char *pin_dir)
{
	struct ebpf_lb_vip *v = NULL;
	struct ebpf_lb_opts o;
	struct ebpf_lb *lb = NULL;
	uint64_t *ids = NULL;
	size_t n = 0, nids = 0;
	unsigned int f;
	int ret;

	ebpf_lb_opts_init(&o);
	o.pin_dir = pin_dir;
	o.readonly = true;
	ret = ebpf_lb_open(&o, &lb);
	if (ret == -ENOENT) {
		printf("socket load balancer: off (nothing pinned under %s)\n", pin_dir);
		return 0;
	}
	if (ret)
		return ctl_fail(ret, strerror(-ret), "open the balancer pinned under %s", pin_dir);
	ret = ebpf_lb_service_list(lb, &v, &n);
	if (!ret)
		ret = ebpf_lb_skip_list(lb, &ids, &nids);
	if (ret) {
		ret = ctl_fail(ret, strerror(-ret), "read the balancer's maps under %s", pin_dir);
		goto out;
	}
	f = ebpf_lb_features(lb);
	printf("socket load balancer: on (%s) programs:%s%s%s services %zu skipped_cgroups %zu\n",
	       pin_dir, f & EBPF_LB_FEAT_CONNECT ? " connect" : "",
	       f & EBPF_LB_FEAT_PEER ? " getpeername" : "", f & EBPF_LB_FEAT_UDP ? " udp" : "", n,
	       nids);
	for (size_t i = 0; i < n && !ret; i++)
		ret = lb_show(lb, &v[i]);
	for (size_t i = 0; i < nids; i++)
		printf("skipped cgroup %llu\n", (unsigned long long)ids[i]);
out:
	free(v);
	free(ids);
	ebpf_lb_close(lb);
	return ret;
}

int ctl_cmd_lb(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pin-dir", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *pin_dir = LB_PIN_DIR, *what;
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			lb_usage(stdout);
			return 0;
		case 'p':
			pin_dir = optarg;
			break;
		default:
			return ctl_usage_error("lb", "unknown option");
		}
	}
	if (optind != argc - 1)
		return ctl_usage_error("lb", "want one of status, disable, get, describe");
	what = argv[optind];
	ebpf_set_log(ctl_log_line);
	if (!strcmp(what, "status"))
		return lb_status(pin_dir);
	if (strcmp(what, "disable"))
		return ctl_usage_error("lb", "'%s': want status, disable, get or describe", what);
	ret = ebpf_lb_pins_remove(pin_dir);
	if (ret)
		return ctl_fail(ret, strerror(-ret), "remove the balancer pinned under %s",
				pin_dir);
	printf("socket load balancer: disabled (detached, pins under %s removed): kube-proxy "
	       "serves the Services\n",
	       pin_dir);
	return 0;
}
