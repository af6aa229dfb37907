// SPDX-License-Identifier: MIT
/*
 * control/operator/cmd_controller.c - ferry controller: the controller's
 * process (a Deployment of two replicas; one leads, the other waits).
 *
 *   1. configuration: in-cluster by default (the service account a pod
 *      mounts); --kubeconfig, --context or KUBECONFIG out of a cluster;
 *   2. one read of its Lease: an API server that cannot be reached, or
 *      refuses (401, 403, an untrusted certificate), ends it here with one
 *      line and ferry's exit code (9, 8);
 *   3. /metrics, /healthz, /readyz (control/httpd);
 *   4. leader election on the Lease (k8s_lease_start(): 15 s / 10 s / 2 s),
 *      every write of the client fenced by it;
 *   5. while leading: an Event on the Lease, and the reconcilers of
 *      op_registry[] in the runtime (manager.c);
 *   6. SIGTERM/SIGINT: the reconcilers stop, then the Lease is released so
 *      that the standby takes over within a retry period; exit 0. A leader
 *      that could not renew within the renew deadline has stopped acting
 *      already (its writes fail with -ENOLCK): it says so and exits 11, and
 *      its Deployment restarts it, as client-go's leader election does.
 *
 * Threads: this one waits on a signalfd and an eventfd (the lease's
 * callbacks, on the lease's thread, only set state and write the eventfd);
 * the client's I/O thread, the lease's thread, the HTTP server's thread and
 * the reconcilers' workers do the rest. SIGINT and SIGTERM are blocked in
 * all of them and read here.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "operator.h"
#include "control/cli/cli.h"
#include "control/httpd/httpd.h"
#include "control/signals/signals.h"

#define CTLR_LEASE_NAME	  "ferry-controller"
#define CTLR_METRICS_ADDR ":9465"
#define CTLR_PROBE_MS	  15000 /* the first read of the Lease: connect + answer */
#define CTLR_STALL_S	  30	/* /healthz fails when the main loop stood this long */

struct ctlr {
	/* the command line */
	const char *kubeconfig, *context, *ns_opt, *lease_name, *identity_opt, *addr;
	double lease_s, renew_s, retry_s, qps;
	unsigned long burst;
	bool help;

	char identity[256];
	char ns[256];
	struct k8s_client *c;
	struct ctl_httpd *httpd;
	int evfd;

	pthread_mutex_t lock; /* everything below */
	struct k8s_lease *lease;
	bool leading, lost, stopping, connected;
	int fatal; /* a -errno of the lease's requests that ends the process */
	char why[512];
	struct op_manager *mgr;
	unsigned long long transitions, holder_changes, lease_errors;
	char last_reason[64];
	double heartbeat;
};

static double ctlr_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ctlr_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry controller [OPTIONS]\n\n"
		"Run ferry's controller: one replica leads (a coordination.k8s.io Lease), the\n"
		"others wait to take over. The leader runs the reconcilers; every process serves\n"
		"/metrics, /healthz and /readyz.\n\n"
		"  --kubeconfig FILE       out of a cluster: this kubeconfig (default: in-cluster\n"
		"                          when KUBERNETES_SERVICE_HOST is set, else KUBECONFIG,\n"
		"                          else ~/.kube/config)\n"
		"  --context NAME          the kubeconfig's context (default: current-context)\n"
		"  -n, --namespace NS      the controller's namespace, where its Lease and Events\n"
		"                          live (default: $POD_NAMESPACE, else the service\n"
		"                          account's or the context's namespace)\n"
		"  --lease-name NAME       the Lease (default " CTLR_LEASE_NAME ")\n"
		"  --lease-duration SECS   how long a standby waits on a silent leader (default 15)\n"
		"  --renew-deadline SECS   a leader that could not renew for this long stops\n"
		"                          (default 10)\n"
		"  --retry-period SECS     between tries and renewals (default 2); the three must\n"
		"                          satisfy lease > renew deadline > 1.2 x retry period\n"
		"  --identity ID           this candidate (default: $POD_NAME or the host name,\n"
		"                          '_' and a random suffix)\n"
		"  --metrics-addr HOST:PORT  where /metrics, /healthz and /readyz listen\n"
		"                          (default " CTLR_METRICS_ADDR
		"; port 0 picks a free port)\n"
		"  --kube-api-qps N, --kube-api-burst N  the client's request rate limit\n"
		"                          (default 20 and 30)\n"
		"  -h, --help              this text\n\n"
		"Exit codes: 0 stopped by SIGTERM/SIGINT (the Lease released); 2 bad options or\n"
		"configuration; 8 the API server refused (401, 403, a certificate not signed by\n"
		"the CA); 9 the API server cannot be reached; 11 the leader could not renew its\n"
		"Lease within the renew deadline and stopped (its Deployment restarts it).\n");
}

/* seconds of a --lease-duration etc.: "15", "15s", "1500ms" */
static int ctlr_seconds(const char *opt, const char *arg, bool whole, double *out)
{
	if (ctl_parse_interval(arg, out, NULL) || (whole && *out != floor(*out)))
		return ctl_usage_error("controller", "--%s '%s': want %s from 0.1 to 60", opt, arg,
				       whole ? "whole seconds" : "seconds");
	return 0;
}

static int ctlr_parse(int argc, char **argv, struct ctlr *x)
{
	enum {
		OPT_KUBECONFIG = CTL_OPT_VERB_BASE,
		OPT_CONTEXT,
		OPT_LEASE_NAME,
		OPT_LEASE_DURATION,
		OPT_RENEW_DEADLINE,
		OPT_RETRY_PERIOD,
		OPT_IDENTITY,
		OPT_METRICS_ADDR,
		OPT_QPS,
		OPT_BURST,
	};
	static const struct option opts[] = {
		{"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
		{"context", required_argument, NULL, OPT_CONTEXT},
		{"namespace", required_argument, NULL, 'n'},
		{"lease-name", required_argument, NULL, OPT_LEASE_NAME},
		{"lease-duration", required_argument, NULL, OPT_LEASE_DURATION},
		{"renew-deadline", required_argument, NULL, OPT_RENEW_DEADLINE},
		{"retry-period", required_argument, NULL, OPT_RETRY_PERIOD},
		{"identity", required_argument, NULL, OPT_IDENTITY},
		{"metrics-addr", required_argument, NULL, OPT_METRICS_ADDR},
		{"kube-api-qps", required_argument, NULL, OPT_QPS},
		{"kube-api-burst", required_argument, NULL, OPT_BURST},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct sockaddr_storage ss;
	unsigned long v;
	int opt, ret = 0;

	optind = 1;
	while (!ret && (opt = getopt_long(argc, argv, "hn:", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			x->help = true;
			return 0;
		case OPT_KUBECONFIG:
			x->kubeconfig = optarg;
			break;
		case OPT_CONTEXT:
			x->context = optarg;
			break;
		case 'n':
			x->ns_opt = optarg;
			break;
		case OPT_LEASE_NAME:
			x->lease_name = optarg;
			break;
		case OPT_LEASE_DURATION:
			ret = ctlr_seconds("lease-duration", optarg, true, &x->lease_s);
			break;
		case OPT_RENEW_DEADLINE:
			ret = ctlr_seconds("renew-deadline", optarg, false, &x->renew_s);
			break;
		case OPT_RETRY_PERIOD:
			ret = ctlr_seconds("retry-period", optarg, false, &x->retry_s);
			break;
		case OPT_IDENTITY:
			x->identity_opt = optarg;
			break;
		case OPT_METRICS_ADDR:
			x->addr = optarg;
			break;
		case OPT_QPS:
			ret = ctl_parse_uint("controller", "kube-api-qps", optarg, 1, 10000, &v);
			x->qps = (double)v;
			break;
		case OPT_BURST:
			ret = ctl_parse_uint("controller", "kube-api-burst", optarg, 1, 10000,
					     &x->burst);
			break;
		default:
			return ctl_usage_error("controller", "unknown option");
		}
	}
	if (ret)
		return ret;
	if (optind < argc)
		return ctl_usage_error("controller", "unexpected argument '%s'", argv[optind]);
	/* client-go: leaseDuration > renewDeadline > JitterFactor (1.2) x retryPeriod */
	if (!(x->lease_s > x->renew_s && x->renew_s > 1.2 * x->retry_s))
		return ctl_usage_error(
			"controller",
			"--lease-duration (%g s) must exceed --renew-deadline (%g s), which must exceed 1.2 x --retry-period (%g s)",
			x->lease_s, x->renew_s, x->retry_s);
	if (!*x->lease_name || strlen(x->lease_name) > 253)
		return ctl_usage_error("controller", "--lease-name '%s': want a name",
				       x->lease_name);
	if (ctl_httpd_parse_addr(x->addr, &ss))
		return ctl_usage_error("controller", "--metrics-addr '%s': want HOST:PORT",
				       x->addr);
	if (x->identity_opt && (!*x->identity_opt || strlen(x->identity_opt) > 200))
		return ctl_usage_error("controller", "--identity: want 1 to 200 characters");
	return 0;
}

/* $POD_NAME or the host name, '_', 8 random hex digits (client-go: host name + a UUID) */
static void ctlr_identity(struct ctlr *x)
{
	const char *pod = getenv("POD_NAME");
	char host[128] = "ferry";
	unsigned char rnd[4] = {0};

	if (x->identity_opt) {
		snprintf(x->identity, sizeof(x->identity), "%s", x->identity_opt);
		return;
	}
	if (pod && *pod && strlen(pod) < sizeof(host))
		snprintf(host, sizeof(host), "%s", pod);
	else if (gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "ferry");
	host[sizeof(host) - 1] = '\0';
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		memcpy(rnd, &ts.tv_nsec, sizeof(rnd));
	}
	snprintf(x->identity, sizeof(x->identity), "%s_%02x%02x%02x%02x", host, rnd[0], rnd[1],
		 rnd[2], rnd[3]);
}

/*
 * The errno whose exit code (ctl_exit_code()) is the class the client's
 * error table gave the failure: ferry's exit codes for one cause stay the
 * same whichever errno the table chose.
 */
static int ctlr_errno(const struct k8s_err *e)
{
	switch (e->exit) {
	case K8S_EXIT_USAGE:
		return -EINVAL;
	case K8S_EXIT_NOT_FOUND:
		return -ENOENT;
	case K8S_EXIT_REFUSED:
		return -EEXIST;
	case K8S_EXIT_ACCESS:
		return e->code == -EPERM ? -EPERM : -EACCES;
	case K8S_EXIT_NETWORK:
		return e->code == -ETIMEDOUT || e->code == -EHOSTUNREACH ? e->code : -ECONNREFUSED;
	default:
		return e->code == -ENOMEM ? -ENOMEM : -ENOTRECOVERABLE;
	}
}

static void ctlr_wake(struct ctlr *x)
{
	uint64_t one = 1;

	if (write(x->evfd, &one, sizeof(one)) < 0)
		return; /* the counter is full: the main loop is awake anyway */
}

/* ------------------------------------------------------------ lease callbacks */

static void ctlr_started(void *arg)
{
	struct ctlr *x = arg;

	pthread_mutex_lock(&x->lock);
	x->leading = true;
	x->transitions++;
	pthread_mutex_unlock(&x->lock);
	ctlr_wake(x);
}

static void ctlr_stopped(void *arg, const char *why)
{
	struct ctlr *x = arg;

	pthread_mutex_lock(&x->lock);
	x->leading = false;
	x->transitions++;
	if (!x->stopping) {
		x->lost = true;
		snprintf(x->why, sizeof(x->why), "%s", why);
	}
	pthread_mutex_unlock(&x->lock);
	ctlr_wake(x);
}

static void ctlr_new_leader(void *arg, const char *identity)
{
	struct ctlr *x = arg;

	pthread_mutex_lock(&x->lock);
	x->holder_changes++;
	pthread_mutex_unlock(&x->lock);
	ctl_log(CTL_LOG_INFO, "%s: the leader is %s", x->identity, identity);
}

/*
 * A request of the lease failed. RBAC that refuses it (403) or credentials
 * the server does not take (401) will not heal by retrying: stop with the
 * line (exit 8). Anything else (the network, a 5xx) is retried by the lease
 * and logged once per cause.
 */
static void ctlr_failed(void *arg, const struct k8s_err *err)
{
	struct ctlr *x = arg;
	bool log;

	if (!err)
		return;
	pthread_mutex_lock(&x->lock);
	x->lease_errors++;
	if (err->code == -EPERM || err->code == -EACCES) {
		if (!x->fatal) {
			x->fatal = ctlr_errno(err);
			snprintf(x->why, sizeof(x->why), "%s", err->msg);
		}
		pthread_mutex_unlock(&x->lock);
		ctlr_wake(x);
		return;
	}
	log = strcmp(x->last_reason, err->reason);
	snprintf(x->last_reason, sizeof(x->last_reason), "%s", err->reason);
	pthread_mutex_unlock(&x->lock);
	if (log)
		ctl_log(CTL_LOG_WARN, "%s: lease %s/%s: %s (retrying every retry period)",
			x->identity, x->ns, x->lease_name, err->msg);
}

/* ------------------------------------------------------------ HTTP pages */

static unsigned int ctlr_healthz(void *arg, FILE *f)
{
	struct ctlr *x = arg;
	double idle;

	pthread_mutex_lock(&x->lock);
	idle = ctlr_now() - x->heartbeat;
	pthread_mutex_unlock(&x->lock);
	if (idle > CTLR_STALL_S) {
		fprintf(f, "the main loop has not run for %.0f s\n", idle);
		return 503;
	}
	fputs("ok\n", f);
	return 200;
}

static unsigned int ctlr_readyz(void *arg, FILE *f)
{
	struct ctlr *x = arg;
	const char *why = NULL;

	pthread_mutex_lock(&x->lock);
	if (x->stopping)
		why = "stopping";
	else if (x->lost || x->fatal)
		why = "lost the lease";
	else if (!x->connected)
		why = "the API server has not answered yet";
	else if (x->leading && !op_manager_synced(x->mgr))
		why = "leading; the informers have not synced yet";
	pthread_mutex_unlock(&x->lock);
	if (why) {
		fprintf(f, "not ready: %s\n", why);
		return 503;
	}
	fputs("ok\n", f);
	return 200;
}

static unsigned int ctlr_metrics(void *arg, FILE *f)
{
	struct ctlr *x = arg;
	struct k8s_client_stats st;
	bool leader;

	k8s_client_stats(x->c, &st);
	op_prom_head(f, "ferry_build_info", "gauge", "The version of ferry that runs.");
	fprintf(f, "ferry_build_info{version=\"%s\"} 1\n", FERRY_VERSION);
	pthread_mutex_lock(&x->lock);
	leader = x->lease && k8s_lease_is_leader(x->lease);
	op_prom_head(
		f, "ferry_controller_leader", "gauge",
		"1 while this process leads: it holds the Lease and renewed it within the renew deadline.");
	fprintf(f, "ferry_controller_leader{lease=\"");
	op_prom_label(f, x->ns);
	fputc('/', f);
	op_prom_label(f, x->lease_name);
	fprintf(f, "\"} %d\n", leader ? 1 : 0);
	op_prom_head(f, "ferry_controller_leader_transitions_total", "counter",
		     "Times this process started or stopped leading.");
	fprintf(f, "ferry_controller_leader_transitions_total %llu\n", x->transitions);
	op_prom_head(f, "ferry_controller_lease_holder_changes_total", "counter",
		     "Other holders of the Lease this process has seen.");
	fprintf(f, "ferry_controller_lease_holder_changes_total %llu\n", x->holder_changes);
	op_prom_head(f, "ferry_controller_lease_errors_total", "counter",
		     "Requests of the leader election that failed (lost races not counted).");
	fprintf(f, "ferry_controller_lease_errors_total %llu\n", x->lease_errors);
	op_manager_metrics(x->mgr, f);
	pthread_mutex_unlock(&x->lock);
	op_prom_head(f, "ferry_controller_api_requests_total", "counter",
		     "Requests sent to the API server, retries and watches included.");
	fprintf(f, "ferry_controller_api_requests_total %llu\n", (unsigned long long)st.requests);
	op_prom_head(f, "ferry_controller_api_retries_total", "counter",
		     "Attempts after the first of a request.");
	fprintf(f, "ferry_controller_api_retries_total %llu\n", (unsigned long long)st.retries);
	op_prom_head(f, "ferry_controller_api_throttled_seconds_total", "counter",
		     "Time requests waited for the client-side rate limit.");
	fprintf(f, "ferry_controller_api_throttled_seconds_total %.3f\n",
		(double)st.throttled_ms / 1000.0);
	op_prom_head(f, "ferry_controller_api_connections_total", "counter",
		     "Connections opened to the API server.");
	fprintf(f, "ferry_controller_api_connections_total %llu\n",
		(unsigned long long)st.connections);
	op_prom_cluster(f);
	op_prom_process(f);
	return 200;
}

static const struct ctl_httpd_page ctlr_pages[] = {
	{"/metrics", ctlr_metrics, CTL_HTTPD_PROMETHEUS, NULL},
	{"/healthz", ctlr_healthz, NULL, NULL},
	{"/readyz", ctlr_readyz, NULL, NULL},
};

/* ------------------------------------------------------------ leading */

/* an Event on the Lease, as client-go's leader election records one */
static void ctlr_event(struct ctlr *x)
{
	struct k8s_obj *lease = NULL;
	struct k8s_err err;
	char note[512];
	struct k8s_event ev = {.type = "Normal",
			       .reason = "LeaderElection",
			       .action = "Acquire",
			       .note = note,
			       .controller = "ferry.io/controller",
			       .instance = x->identity};

	snprintf(note, sizeof(note), "%s became leader", x->identity);
	if (k8s_get(x->c, &k8s_leases, x->ns, x->lease_name, NULL, &lease, &err) &&
	    k8s_obj_new_kind(&k8s_leases, x->ns, x->lease_name, &lease))
		return;
	ev.regarding = lease;
	if (k8s_event_emit(x->c, &ev, &err))
		ctl_log(CTL_LOG_WARN, "%s: event on lease %s/%s: %s", x->identity, x->ns,
			x->lease_name, err.msg);
	k8s_obj_free(lease);
}

/* the main thread's part of becoming the leader: 0, or -errno with the line printed */
static int ctlr_lead(struct ctlr *x)
{
	struct op_manager_opts mo = {.sz = sizeof(mo),
				     .client = x->c,
				     .own_ns = x->ns,
				     .identity = x->identity,
				     .reconcilers = op_registry};
	struct op_manager *m;
	struct k8s_err err;
	size_t n = 0;
	int ret;

	while (op_registry[n])
		n++;
	ctl_log(CTL_LOG_INFO,
		"%s: leading %s/%s (lease %g s, renew deadline %g s, retry period %g s); %zu reconciler%s",
		x->identity, x->ns, x->lease_name, x->lease_s, x->renew_s, x->retry_s, n,
		n == 1 ? "" : "s");
	ctlr_event(x);
	ret = op_manager_start(&mo, &m, &err);
	if (ret)
		return ctl_fail(ctlr_errno(&err), err.msg, "%s: cannot start the reconcilers",
				x->identity);
	pthread_mutex_lock(&x->lock);
	x->mgr = m;
	pthread_mutex_unlock(&x->lock);
	return 0;
}

/* ------------------------------------------------------------ the verb */

/* configuration, client, and the first read of the Lease: 0 or -errno, printed */
static int ctlr_connect(struct ctlr *x)
{
	struct k8s_config_opts co = {
		.sz = sizeof(co), .kubeconfig = x->kubeconfig, .context = x->context};
	struct k8s_client_opts o = {.sz = sizeof(o), .qps = x->qps, .burst = (unsigned)x->burst};
	struct k8s_call probe = {.timeout_ms = CTLR_PROBE_MS};
	const char *env_ns = getenv("POD_NAMESPACE");
	struct k8s_config *cfg;
	struct k8s_obj *lease = NULL;
	struct k8s_err err;
	char ua[400];
	int ret;

	/* in-cluster first, as controller-runtime: unless a kubeconfig is named */
	co.in_cluster = !x->kubeconfig && !x->context &&
			!(getenv("KUBECONFIG") && *getenv("KUBECONFIG")) &&
			getenv("KUBERNETES_SERVICE_HOST") && *getenv("KUBERNETES_SERVICE_HOST");
	ret = k8s_config_load(&co, &cfg, &err);
	if (ret)
		return ctl_fail(ctlr_errno(&err), NULL, "controller: %s", err.msg);
	if (x->ns_opt && *x->ns_opt)
		snprintf(x->ns, sizeof(x->ns), "%s", x->ns_opt);
	else if (env_ns && *env_ns)
		snprintf(x->ns, sizeof(x->ns), "%s", env_ns);
	else
		snprintf(x->ns, sizeof(x->ns), "%s", k8s_config_ns(cfg));
	snprintf(ua, sizeof(ua), "ferry-controller/%s (%s)", FERRY_VERSION, x->identity);
	o.user_agent = ua;
	ret = k8s_client_new(cfg, &o, &x->c, &err);
	if (ret) {
		k8s_config_free(cfg);
		return ctl_fail(ctlr_errno(&err), NULL, "controller: %s", err.msg);
	}
	ret = k8s_get(x->c, &k8s_leases, x->ns, x->lease_name, &probe, &lease, &err);
	k8s_obj_free(lease);
	if (ret && ret != -ENOENT)
		return ctl_fail(ctlr_errno(&err), NULL, "controller: %s", err.msg);
	ctl_log(CTL_LOG_INFO, "%s: API server %s (%s), namespace %s", x->identity,
		k8s_config_server(k8s_client_config(x->c)),
		k8s_config_source(k8s_client_config(x->c)), x->ns);
	pthread_mutex_lock(&x->lock);
	x->connected = true;
	pthread_mutex_unlock(&x->lock);
	return 0;
}

/* wait for a signal or a word from the lease; 0 (SIGTERM/SIGINT) or -errno, printed */
static int ctlr_loop(struct ctlr *x, int sigfd)
{
	struct pollfd pfd[2] = {{.fd = sigfd, .events = POLLIN}, {.fd = x->evfd, .events = POLLIN}};

	for (;;) {
		bool lead_now = false;
		int fatal, ret;
		uint64_t v;

		pthread_mutex_lock(&x->lock);
		x->heartbeat = ctlr_now();
		fatal = x->fatal;
		if (fatal) {
			pthread_mutex_unlock(&x->lock);
			return ctl_fail(fatal, NULL, "controller %s: lease %s/%s: %s", x->identity,
					x->ns, x->lease_name, x->why);
		}
		if (x->lost) {
			pthread_mutex_unlock(&x->lock);
			return ctl_fail(
				-ENOLCK, NULL,
				"controller %s: %s; its writes are refused since the deadline (fenced): exiting so that the Deployment restarts it",
				x->identity, x->why);
		}
		lead_now = x->leading && !x->mgr;
		pthread_mutex_unlock(&x->lock);
		if (lead_now) {
			ret = ctlr_lead(x);
			if (ret)
				return ret;
			continue;
		}
		ret = poll(pfd, 2, 1000);
		if (ret < 0 && errno != EINTR)
			return ctl_fail(-errno, strerror(errno), "controller: poll");
		pthread_mutex_lock(&x->lock);
		op_manager_report(x->mgr);
		pthread_mutex_unlock(&x->lock);
		if (ret > 0 && (pfd[0].revents & POLLIN)) {
			struct signalfd_siginfo si;

			if (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				ctl_log(CTL_LOG_INFO, "%s: %s: stopping", x->identity,
					strsignal((int)si.ssi_signo));
				return 0;
			}
		}
		if (ret > 0 && (pfd[1].revents & POLLIN) && read(x->evfd, &v, sizeof(v)) < 0)
			continue;
	}
}

int ctl_cmd_controller(int argc, char **argv)
{
	struct ctlr x = {.lease_name = CTLR_LEASE_NAME,
			 .addr = CTLR_METRICS_ADDR,
			 .lease_s = 15,
			 .renew_s = 10,
			 .retry_s = 2,
			 .qps = 20,
			 .burst = 30,
			 .evfd = -1,
			 .lock = PTHREAD_MUTEX_INITIALIZER};
	struct ctl_httpd_opts ho = {.sz = sizeof(ho),
				    .pages = ctlr_pages,
				    .npages = sizeof(ctlr_pages) / sizeof(ctlr_pages[0]),
				    .arg = &x};
	struct k8s_lease_opts lo = {.sz = sizeof(lo),
				    .started = ctlr_started,
				    .stopped = ctlr_stopped,
				    .new_leader = ctlr_new_leader,
				    .failed = ctlr_failed,
				    .arg = &x};
	struct k8s_lease *lease = NULL;
	struct op_manager *m;
	sigset_t set, old;
	struct k8s_err err;
	bool was_leader;
	int ret, sigfd = -1;

	ret = ctlr_parse(argc, argv, &x);
	if (ret || x.help) {
		if (x.help)
			ctlr_usage(stdout);
		return ret;
	}
	/* a controller's log is its leadership: say it unless -q */
	if (ctl_verbosity == CTL_LOG_WARN)
		ctl_verbosity = CTL_LOG_INFO;
	k8s_set_log(ctl_log_line);
	sig_set_log(ctl_log_line); /* the feed's checks of the agents' Secrets */
	ctlr_identity(&x);
	/* before any thread starts, so that only this one sees the signals */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	x.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sigfd < 0 || x.evfd < 0) {
		ret = ctl_fail(-errno, strerror(errno), "controller: signalfd/eventfd");
		goto out;
	}
	x.heartbeat = ctlr_now();
	ret = ctlr_connect(&x);
	if (ret)
		goto out;
	ho.addr = x.addr;
	ret = ctl_httpd_start(&ho, &x.httpd);
	if (ret) {
		ret = ctl_fail(ret, NULL,
			       "controller: listen on %s failed (in use, or not an address here)",
			       x.addr);
		goto out;
	}
	ctl_log(CTL_LOG_INFO, "%s: /metrics, /healthz and /readyz on %s (port %u)", x.identity,
		x.addr, ctl_httpd_port(x.httpd));
	lo.ns = x.ns;
	lo.name = x.lease_name;
	lo.identity = x.identity;
	lo.lease_ms = (unsigned int)lround(x.lease_s * 1000);
	lo.renew_ms = (unsigned int)lround(x.renew_s * 1000);
	lo.retry_ms = (unsigned int)lround(x.retry_s * 1000);
	ret = k8s_lease_start(x.c, &lo, &lease, &err);
	if (ret) {
		ret = ctl_fail(ctlr_errno(&err), NULL, "controller: %s", err.msg);
		goto out;
	}
	/* no write of this client before the lease says it leads, none after it stops */
	k8s_lease_fence(lease, x.c);
	pthread_mutex_lock(&x.lock);
	x.lease = lease;
	pthread_mutex_unlock(&x.lock);
	ctl_log(CTL_LOG_INFO, "%s: candidate for lease %s/%s", x.identity, x.ns, x.lease_name);
	ret = ctlr_loop(&x, sigfd);
out:
	pthread_mutex_lock(&x.lock);
	x.stopping = true;
	m = x.mgr;
	x.mgr = NULL;
	lease = x.lease;
	x.lease = NULL;
	pthread_mutex_unlock(&x.lock);
	/* the reconcilers stop before the Lease goes, so no two leaders ever overlap */
	op_manager_stop(m);
	was_leader = k8s_lease_is_leader(lease);
	k8s_lease_free(lease); /* a leader releases it */
	if (was_leader && !ret)
		ctl_log(CTL_LOG_INFO, "%s: released lease %s/%s", x.identity, x.ns, x.lease_name);
	ctl_httpd_stop(x.httpd);
	k8s_client_free(x.c);
	if (sigfd >= 0)
		close(sigfd);
	if (x.evfd >= 0)
		close(x.evfd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}
