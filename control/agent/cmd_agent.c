// SPDX-License-Identifier: MIT
/*
 * control/agent/cmd_agent.c - ferry agent: the node agent (the DaemonSet's process).
 *
 * Today it loads the eBPF pod metrics (bpf/ebpf.h), samples them every
 * --interval and serves them on --metrics-addr:
 *
 *   /metrics  Prometheus text of the last sample
 *   /healthz  200 while the sampling loop runs, 503 once it has stalled
 *   /readyz   200 once the first sample is in, 503 before
 *
 * In a cluster it watches its node's pods (podwatch.c) and labels every
 * per-pod series with namespace and pod; a series appears only once its
 * pod is known, so nothing is published before the first list of the pods
 * is in (/metrics and /readyz answer 503 until then). Without a cluster
 * the series carry pod_uid only, as before, after one notice.
 *
 * The HTTP side is control/httpd (libmicrohttpd with its own polling
 * thread); it only copies the text the sampling thread last published under
 * a mutex. With pins (the
 * default) a restarted agent continues the counters of the last one;
 * --cleanup removes the pins, which detaches the programs.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "lbsync.h"
#include "podwatch.h"
#include "tlsreload.h"
#include "transfers.h"
#include "control/cli/cli.h"
#include "control/httpd/httpd.h"
#include "control/signals/signals.h"
#include "bpf/ebpf.h"
#include "datapath/dp.h"

#define AGENT_PIN_DIR	   "/sys/fs/bpf/ferry"
#define AGENT_METRICS_ADDR "127.0.0.1:9464"
#define AGENT_TLS_ADDR	   ":9443" /* SIG_AGENT_TLS_PORT */
#define AGENT_TLS_CHECK_S  60	   /* how often the certificate's files are looked at */

struct agent_http {
	pthread_mutex_t lock;
	char *metrics; /* the last sample's exposition */
	size_t len;
	double last_sample; /* CLOCK_MONOTONIC seconds; 0: none yet */
	double stall_s;	    /* /healthz fails after this long without a sample */
	/* the per-pod page (control/signals): the pods of the last sample */
	char *pods;
	size_t pods_len;
	uint64_t seq;
	int64_t interval_ms;
	const char *node;
	struct sig_auth *auth; /* NULL: no cluster, nobody can be authenticated */
};

static void agent_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry agent [OPTIONS]\n"
		"       ferry agent --cleanup [--pin-dir DIR]\n\n"
		"Run the node agent: per-pod and per-container CPU time, run-queue wait and\n"
		"network traffic measured with eBPF, and CFS throttling from the cgroups'\n"
		"cpu.stat, served as Prometheus text.\n\n"
		"  --metrics-addr HOST:PORT  where /metrics, /healthz and /readyz listen\n"
		"                          (default " AGENT_METRICS_ADDR "; [::1]:PORT for IPv6)\n"
		"  --tls-cert FILE, --tls-key FILE  serve " SIG_PATH
		" over HTTPS only, with this PEM\n"
		"                          certificate (for " SIG_AGENT_TLS_NAME ") and key\n"
		"  --tls-addr HOST:PORT    where it listens then (default " AGENT_TLS_ADDR ")\n"
		"  --interval SECONDS      sampling period (default 1; 0.1 to 60, \"500ms\" works)\n"
		"  --pin-dir DIR           bpffs directory for maps and links, so that a restarted\n"
		"                          agent continues the counters (default " AGENT_PIN_DIR
		")\n"
		"  --no-pin                pin nothing: the programs go away with the agent\n"
		"  --cleanup               detach the programs and remove the pins, then exit\n"
		"  --cgroup-root DIR       cgroup v2 mount (default: found in /proc/self/mountinfo)\n"
		"  --cpu-cgroup-root DIR   cgroup v1 cpu hierarchy, for CFS throttling where the v2\n"
		"                          cgroups have no cpu controller (default: found in\n"
		"                          /proc/self/mountinfo; \"\" for none)\n"
		"  --net-cgroup DIR        cgroup the network programs attach to (default: the root)\n"
		"  --no-net                leave out the network programs (cgroup_skb)\n"
		"  --no-sched              leave out the scheduler programs (tp_btf/sched_*)\n"
		"  --max-cgroups N         entries of the per-cgroup maps (default 4096)\n"
		"  --max-pods N            pods whose removed containers are remembered (default 1024)\n"
		"  --node-name NAME        the node whose pods to watch (default: $NODE_NAME, which\n"
		"                          the DaemonSet sets; out of a cluster the host name)\n"
		"  --kubeconfig FILE       out of a cluster: this kubeconfig (default: in-cluster\n"
		"                          when KUBERNETES_SERVICE_HOST is set, else KUBECONFIG)\n"
		"  --no-kube               no cluster: series carry pod_uid only (and " SIG_PATH
		"\n"
		"                          answers 503: no caller can be authenticated)\n"
		"  --max-transfers N       run up to N volume transfers of this node at once\n"
		"                          (VolumeTransfers; default 0: none, the DaemonSet: 4)\n"
		"  --memory SIZE           the transfers' buffer pool (default 256M)\n"
		"  --kubelet-dir DIR       the kubelet's root (default /var/lib/kubelet)\n"
		"  --state-dir DIR         upload journals (default $FERRY_STATE_DIR, else none)\n"
		"  --snapshot-metadata-address HOST:PORT\n"
		"                          the drivers' SnapshotMetadata service at HOST:PORT instead\n"
		"                          of its SnapshotMetadataService's address (an agent outside\n"
		"                          the cluster's network; its certificate must name HOST)\n"
		"  --socket-lb=BOOL        balance Services annotated ferry.io/socket-lb: \"true\" at\n"
		"                          connect() in the pods of this node (default true)\n"
		"  --lb-cgroup DIR         cgroup v2 directory it attaches to (default: kubepods)\n"
		"  -h, --help              this text\n\n"
		"With a cluster, " SIG_PATH
		" serves the node's pods' last one-second values as JSON\n"
		"to the controller's service account (a bearer token for the audience " SIG_AUDIENCE
		",\n"
		"checked by TokenReview), for the autoscaler.\n"
		"With a cluster, every per-pod series carries namespace and pod and appears once\n"
		"the agent's watch of the node's pods knows the pod; other cgroups are left out.\n"
		"A feature the kernel refuses is reported once and left out; the rest works.\n"
		"Needs root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_SYS_ADMIN for the mounts).\n");
}

static double agent_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* /metrics: the last sample's exposition, 503 before the first */
static unsigned int agent_metrics(void *arg, FILE *f)
{
	struct agent_http *h = arg;
	unsigned int code = 200;

	pthread_mutex_lock(&h->lock);
	if (h->metrics)
		fwrite(h->metrics, 1, h->len, f);
	else
		code = 503;
	pthread_mutex_unlock(&h->lock);
	if (code != 200)
		fputs("no sample yet\n", f);
	return code;
}

static double agent_last_sample(struct agent_http *h)
{
	double last;

	pthread_mutex_lock(&h->lock);
	last = h->last_sample;
	pthread_mutex_unlock(&h->lock);
	return last;
}

/* /healthz: 503 once the sampling loop has stalled */
static unsigned int agent_healthz(void *arg, FILE *f)
{
	struct agent_http *h = arg;
	double last = agent_last_sample(h);

	if (last && agent_now() - last > h->stall_s) {
		fputs("sampling stalled\n", f);
		return 503;
	}
	fputs("ok\n", f);
	return 200;
}

/* /readyz: 200 once the first sample is in */
static unsigned int agent_readyz(void *arg, FILE *f)
{
	if (!agent_last_sample(arg)) {
		fputs("not ready\n", f);
		return 503;
	}
	fputs("ok\n", f);
	return 200;
}

/*
 * SIG_PATH: the per-pod page, for the controller's service account only
 * (control/signals/signals.h): 401, 403 or 503 with one line otherwise.
 */
static unsigned int agent_pods_page_http(void *arg, const char *authorization, FILE *f)
{
	struct agent_http *h = arg;
	struct sig_page pg = {0};
	char why[200];
	int ret;

	if (!h->auth) {
		fputs("no cluster: no caller can be authenticated\n", f);
		return 503;
	}
	ret = sig_auth_check(h->auth, authorization, why, sizeof(why));
	if (ret) {
		fprintf(f, "%s\n", why);
		return ret == -EACCES ? 401 : ret == -EPERM ? 403 : 503;
	}
	pthread_mutex_lock(&h->lock);
	if (h->pods && h->interval_ms > 0) {
		pg.node = h->node;
		pg.seq = h->seq;
		pg.interval_ms = h->interval_ms;
		pg.age_ms = (int64_t)((agent_now() - h->last_sample) * 1000);
		ret = sig_page_write(f, &pg, h->pods, h->pods_len);
	} else {
		ret = -EAGAIN;
	}
	pthread_mutex_unlock(&h->lock);
	if (ret == -EAGAIN)
		fputs("no sample yet\n", f);
	return ret ? 503 : 200;
}

struct agent_args {
	const char *addr, *pin_dir;
	const char *tls_cert, *tls_key, *tls_addr;
	double interval;
	bool cleanup, help;
	struct ebpf_opts o;
	struct agent_pods_opts po;
	struct agent_xfers_opts xo;
	bool no_lb; /* --socket-lb=false */
	struct agent_lb_opts lo;
};

/* SIG_PATH last: with --tls-cert the plain server leaves it out and the TLS one serves it */
static const struct ctl_httpd_page agent_pages[] = {
	{"/metrics", agent_metrics, CTL_HTTPD_PROMETHEUS, NULL},
	{"/healthz", agent_healthz, NULL, NULL},
	{"/readyz", agent_readyz, NULL, NULL},
	{SIG_PATH, NULL, "application/json", agent_pods_page_http},
};
#define AGENT_NPAGES (sizeof(agent_pages) / sizeof(agent_pages[0]))

/*
 * start the TLS server of SIG_PATH, restarted when its files change
 * (tlsreload.h); a failure is the command's, with a message
 */
static int agent_tls_start(const struct agent_args *a, struct agent_http *h, struct agent_tls **out)
{
	const char *every = getenv("FERRY_AGENT_TLS_CHECK_S");
	double every_s = every && atof(every) > 0 ? atof(every) : AGENT_TLS_CHECK_S;
	struct ctl_httpd *srv = NULL;
	struct ctl_httpd_opts o = {.sz = sizeof(o),
				   .addr = a->tls_addr ? a->tls_addr : AGENT_TLS_ADDR,
				   .pages = &agent_pages[AGENT_NPAGES - 1],
				   .npages = 1,
				   .arg = h,
				   .tls_cert = a->tls_cert,
				   .tls_key = a->tls_key};
	int ret = ctl_httpd_start(&o, &srv);

	switch (ret) {
	case 0:
		ret = agent_tls_new(&o, srv, every_s, out);
		if (ret) {
			ctl_httpd_stop(srv);
			return ctl_fail(ret, strerror(-ret), "agent");
		}
		ctl_log(CTL_LOG_INFO,
			"agent: " SIG_PATH " on https://%s (certificate %s, looked at every %g s)",
			o.addr, a->tls_cert, every_s);
		return 0;
	case -EINVAL:
		return ctl_fail(ret, NULL,
				"--tls-cert %s, --tls-key %s: not a PEM certificate and key",
				a->tls_cert, a->tls_key);
	case -EKEYREJECTED:
		return ctl_fail(ret, NULL,
				"--tls-key %s does not match --tls-cert %s (or is encrypted)",
				a->tls_key, a->tls_cert);
	case -EADDRINUSE:
		return ctl_fail(ret, NULL, "listen on %s failed (in use, or not an address here)",
				o.addr);
	default:
		return ctl_fail(ret, strerror(-ret), "--tls-cert %s, --tls-key %s", a->tls_cert,
				a->tls_key);
	}
}

/*
 * One sample, published for the HTTP thread. With a pod watch (@pods), the
 * series of known pods only, and nothing until the watch's first list is in.
 */
static int agent_publish(struct ebpf_agent *a, struct agent_pods *pods, struct agent_lb *lb,
			 struct agent_http *h)
{
	const struct ebpf_stat *st;
	char *buf = NULL, *pbuf = NULL;
	size_t len = 0, plen = 0, n;
	int64_t interval_ms = 0;
	double sampled;
	FILE *f;
	int ret;

	ret = ebpf_agent_sample(a);
	if (ret)
		return ret;
	sampled = agent_now();
	if (pods && !agent_pods_poll(pods))
		return 0; /* its series would appear unlabelled, then labelled */
	ebpf_agent_stats(a, &st, &n);
	f = open_memstream(&buf, &len);
	if (!f)
		return -errno;
	if (pods)
		ret = agent_pods_write(pods, f, st, n, ebpf_agent_features(a));
	else
		ret = ebpf_prom_write(f, st, n, ebpf_agent_features(a), NULL, NULL);
	if (!ret)
		agent_lb_prom(lb, f);
	fclose(f);
	if (ret) {
		free(buf);
		return ret;
	}
	if (pods) {
		f = open_memstream(&pbuf, &plen);
		if (!f) {
			free(buf);
			return -errno;
		}
		ret = agent_pods_page(pods, f, st, n, ebpf_agent_features(a), &interval_ms);
		fclose(f);
		if (ret) {
			free(buf);
			free(pbuf);
			return ret;
		}
	}
	pthread_mutex_lock(&h->lock);
	free(h->metrics);
	h->metrics = buf;
	h->len = len;
	h->last_sample = sampled;
	free(h->pods);
	h->pods = pbuf;
	h->pods_len = plen;
	h->interval_ms = interval_ms;
	h->seq++;
	pthread_mutex_unlock(&h->lock);
	return 0;
}

/* The command line of agent. */
static int agent_parse(int argc, char **argv, struct agent_args *a)
{
	enum {
		OPT_METRICS_ADDR = 1100,
		OPT_INTERVAL,
		OPT_PIN_DIR,
		OPT_NO_PIN,
		OPT_CLEANUP,
		OPT_CGROUP_ROOT,
		OPT_CPU_CGROUP_ROOT,
		OPT_NET_CGROUP,
		OPT_NO_NET,
		OPT_NO_SCHED,
		OPT_MAX_CGROUPS,
		OPT_MAX_PODS,
		OPT_NODE_NAME,
		OPT_KUBECONFIG,
		OPT_NO_KUBE,
		OPT_MAX_TRANSFERS,
		OPT_MEMORY,
		OPT_KUBELET_DIR,
		OPT_STATE_DIR,
		OPT_SNAPMETA_ADDRESS,
		OPT_TLS_CERT,
		OPT_TLS_KEY,
		OPT_TLS_ADDR,
		OPT_SOCKET_LB,
		OPT_LB_CGROUP,
	};
	static const struct option opts[] = {
		{"metrics-addr", required_argument, NULL, OPT_METRICS_ADDR},
		{"interval", required_argument, NULL, OPT_INTERVAL},
		{"pin-dir", required_argument, NULL, OPT_PIN_DIR},
		{"no-pin", no_argument, NULL, OPT_NO_PIN},
		{"cleanup", no_argument, NULL, OPT_CLEANUP},
		{"cgroup-root", required_argument, NULL, OPT_CGROUP_ROOT},
		{"cpu-cgroup-root", required_argument, NULL, OPT_CPU_CGROUP_ROOT},
		{"net-cgroup", required_argument, NULL, OPT_NET_CGROUP},
		{"no-net", no_argument, NULL, OPT_NO_NET},
		{"no-sched", no_argument, NULL, OPT_NO_SCHED},
		{"max-cgroups", required_argument, NULL, OPT_MAX_CGROUPS},
		{"max-pods", required_argument, NULL, OPT_MAX_PODS},
		{"node-name", required_argument, NULL, OPT_NODE_NAME},
		{"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
		{"no-kube", no_argument, NULL, OPT_NO_KUBE},
		{"max-transfers", required_argument, NULL, OPT_MAX_TRANSFERS},
		{"memory", required_argument, NULL, OPT_MEMORY},
		{"kubelet-dir", required_argument, NULL, OPT_KUBELET_DIR},
		{"state-dir", required_argument, NULL, OPT_STATE_DIR},
		{"snapshot-metadata-address", required_argument, NULL, OPT_SNAPMETA_ADDRESS},
		{"tls-cert", required_argument, NULL, OPT_TLS_CERT},
		{"tls-key", required_argument, NULL, OPT_TLS_KEY},
		{"tls-addr", required_argument, NULL, OPT_TLS_ADDR},
		{"socket-lb", required_argument, NULL, OPT_SOCKET_LB},
		{"lb-cgroup", required_argument, NULL, OPT_LB_CGROUP},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	unsigned long v;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			a->help = true;
			return 0;
		case OPT_METRICS_ADDR:
			a->addr = optarg;
			break;
		case OPT_INTERVAL:
			if (ctl_parse_interval(optarg, &a->interval, NULL))
				return ctl_usage_error(
					"agent", "--interval '%s': want 0.1 to 60 seconds", optarg);
			break;
		case OPT_PIN_DIR:
			a->pin_dir = optarg;
			break;
		case OPT_NO_PIN:
			a->pin_dir = NULL;
			break;
		case OPT_CLEANUP:
			a->cleanup = true;
			break;
		case OPT_CGROUP_ROOT:
			a->o.cgroup_root = optarg;
			break;
		case OPT_CPU_CGROUP_ROOT:
			a->o.cpu_cgroup_root = optarg;
			break;
		case OPT_NET_CGROUP:
			a->o.net_cgroup = optarg;
			break;
		case OPT_NO_NET:
			a->o.features &= ~EBPF_FEAT_NET;
			break;
		case OPT_NO_SCHED:
			a->o.features &= ~EBPF_FEAT_SCHED;
			break;
		case OPT_MAX_CGROUPS:
		case OPT_MAX_PODS:
			if (ctl_parse_ulong(optarg, 1, 1ul << 24, &v, NULL))
				return ctl_usage_error(
					"agent", "'%s' is not a count from 1 to 16777216", optarg);
			*(opt == OPT_MAX_CGROUPS ? &a->o.max_cgroups : &a->o.max_pods) =
				(uint32_t)v;
			break;
		case OPT_NODE_NAME:
			a->po.node_name = optarg;
			break;
		case OPT_KUBECONFIG:
			a->po.kubeconfig = optarg;
			break;
		case OPT_NO_KUBE:
			a->po.no_kube = true;
			break;
		case OPT_MAX_TRANSFERS:
			if (ctl_parse_ulong(optarg, 0, 64, &v, NULL))
				return ctl_usage_error(
					"agent", "--max-transfers '%s': want 0 to 64", optarg);
			a->xo.max = (unsigned int)v;
			break;
		case OPT_MEMORY:
			if (ctl_parse_size(optarg, &a->xo.memory, NULL) ||
			    a->xo.memory < DP_MEMORY_MIN)
				return ctl_usage_error("agent",
						       "--memory '%s': want a size of 24M or more",
						       optarg);
			break;
		case OPT_KUBELET_DIR:
			a->xo.kubelet_dir = optarg;
			break;
		case OPT_STATE_DIR:
			a->xo.state_dir = optarg;
			break;
		case OPT_SNAPMETA_ADDRESS:
			a->xo.snapmeta_address = optarg;
			break;
		case OPT_TLS_CERT:
			a->tls_cert = optarg;
			break;
		case OPT_TLS_KEY:
			a->tls_key = optarg;
			break;
		case OPT_TLS_ADDR:
			a->tls_addr = optarg;
			break;
		case OPT_SOCKET_LB:
			if (strcmp(optarg, "true") && strcmp(optarg, "false"))
				return ctl_usage_error(
					"agent", "--socket-lb '%s': want true or false", optarg);
			a->no_lb = !strcmp(optarg, "false");
			break;
		case OPT_LB_CGROUP:
			a->lo.cgroup = optarg;
			break;
		default:
			return ctl_usage_error("agent", "unknown option");
		}
	}
	if (optind < argc)
		return ctl_usage_error("agent", "unexpected argument '%s'", argv[optind]);
	if (a->po.no_kube && (a->po.kubeconfig || a->po.node_name))
		return ctl_usage_error("agent", "--no-kube takes no --kubeconfig or --node-name");
	if (a->xo.max && a->po.no_kube)
		return ctl_usage_error("agent", "--max-transfers needs a cluster, not --no-kube");
	if (!a->tls_cert != !a->tls_key)
		return ctl_usage_error("agent", "--tls-cert and --tls-key go together");
	if (a->tls_addr && !a->tls_cert)
		return ctl_usage_error("agent", "--tls-addr needs --tls-cert and --tls-key");
	if (!a->xo.state_dir && getenv("FERRY_STATE_DIR") && getenv("FERRY_STATE_DIR")[0])
		a->xo.state_dir = getenv("FERRY_STATE_DIR");
	return 0;
}

/* Sample every @interval seconds until SIGINT/SIGTERM; a failed sample is logged. */
static void agent_loop(struct ebpf_agent *ea, struct agent_pods *pods, struct agent_xfers *xf,
		       struct agent_lb *lb, struct agent_http *h, struct agent_tls *tls,
		       double interval)
{
	double next = agent_now();

	while (!ctl_interrupted()) {
		double now = agent_now(), d;
		struct timespec ts;
		int ret;

		if (xf)
			agent_xfers_poll(xf);
		agent_lb_poll(lb);
		if (tls)
			agent_tls_poll(tls, now); /* logs what it did */
		if (now >= next) {
			ret = agent_publish(ea, pods, lb, h);
			if (ret)
				ctl_log(CTL_LOG_WARN, "sample: %s", strerror(-ret));
			next += interval;
			if (next < now)
				next = now + interval; /* fell behind: do not catch up in a burst */
			continue;
		}
		d = next - now;
		if (d > 0.1)
			d = 0.1; /* signals end the wait early; stay responsive anyway */
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(d * 1e9);
		nanosleep(&ts, NULL);
	}
}

int ctl_cmd_agent(int argc, char **argv)
{
	struct agent_args a = {.addr = AGENT_METRICS_ADDR, .pin_dir = AGENT_PIN_DIR, .interval = 1};
	struct agent_http h = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct ctl_httpd_opts ho = {
		.sz = sizeof(ho), .pages = agent_pages, .npages = AGENT_NPAGES, .arg = &h};
	struct ctl_httpd *httpd = NULL;
	struct agent_tls *tls = NULL;
	struct ebpf_agent *ea = NULL;
	struct agent_pods *pods = NULL;
	struct agent_xfers *xf = NULL;
	struct agent_lb *lb = NULL;
	struct sockaddr_storage ss;
	int ret;

	ebpf_opts_init(&a.o);
	ret = agent_parse(argc, argv, &a);
	if (ret || a.help) {
		if (a.help)
			agent_usage(stdout);
		return ret;
	}
	ebpf_set_log(ctl_log_line);
	if (a.cleanup) {
		if (!a.pin_dir)
			return ctl_usage_error("agent", "--cleanup needs a --pin-dir");
		ret = ebpf_pins_remove(a.pin_dir);
		if (ret)
			return ctl_fail(ret, strerror(-ret), "remove the pins under %s", a.pin_dir);
		ctl_log(CTL_LOG_INFO, "removed the pins under %s", a.pin_dir);
		return 0;
	}
	if (!a.o.features)
		return ctl_usage_error("agent", "--no-net and --no-sched leave nothing to measure");
	if (ctl_httpd_parse_addr(a.addr, &ss))
		return ctl_usage_error("agent", "--metrics-addr '%s': want HOST:PORT", a.addr);
	if (a.tls_addr && ctl_httpd_parse_addr(a.tls_addr, &ss))
		return ctl_usage_error("agent", "--tls-addr '%s': want HOST:PORT", a.tls_addr);
	a.o.pin_dir = a.pin_dir;
	ret = agent_pods_open(&a.po, &pods);
	if (ret)
		return ret;
	if (a.xo.max && !pods) {
		ret = ctl_usage_error("agent", "--max-transfers needs a cluster (none was found)");
		goto out;
	}
	ctl_signals_init();
	ret = ebpf_agent_open(&a.o, &ea);
	if (ret) {
		ret = ctl_fail(ret, strerror(-ret), "load the eBPF programs");
		goto out;
	}
	h.stall_s = 3 * a.interval + 2;
	if (pods) {
		h.node = agent_pods_node(pods);
		ret = sig_auth_new(agent_pods_client(pods), SIG_CONTROLLER_SA, &h.auth);
		if (ret) {
			ret = ctl_fail(ret, strerror(-ret), "agent");
			goto out;
		}
	}
	ho.addr = a.addr;
	if (a.tls_cert) {
		ho.npages--; /* the page goes over TLS only */
		ret = agent_tls_start(&a, &h, &tls);
		if (ret)
			goto out;
	}
	ret = ctl_httpd_start(&ho, &httpd);
	if (ret) {
		ret = ctl_fail(ret, NULL, "listen on %s failed (in use, or not an address here)",
			       a.addr);
		goto out;
	}
	ctl_log(CTL_LOG_INFO, "agent: cgroup v2 at %s, features:%s%s, metrics on http://%s/metrics",
		ebpf_agent_cgroup_root(ea),
		ebpf_agent_features(ea) & EBPF_FEAT_SCHED ? " sched" : "",
		ebpf_agent_features(ea) & EBPF_FEAT_NET ? " net" : "", a.addr);
	if (a.xo.max) {
		ret = agent_xfers_open(agent_pods_client(pods), agent_pods_node(pods), &a.xo, &xf);
		if (ret)
			goto out;
	}
	/* the socket load balancer: without it (refused, no kubepods here) the agent goes on */
	a.lo.pin_dir = a.pin_dir;
	if (pods && !a.no_lb)
		agent_lb_open(agent_pods_client(pods), agent_pods_node(pods), &a.lo, &lb);
	agent_loop(ea, pods, xf, lb, &h, tls, a.interval);
out:
	agent_lb_close(lb);
	agent_xfers_close(xf);
	agent_tls_free(tls);
	ctl_httpd_stop(httpd);
	ebpf_agent_close(ea);
	agent_pods_close(pods);
	sig_auth_free(h.auth);
	free(h.metrics);
	free(h.pods);
	return ret;
}
