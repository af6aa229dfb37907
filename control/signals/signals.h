/* SPDX-License-Identifier: MIT */
/*
 * control/signals/signals.h - the per-pod metrics feed (issue 18 §1,
 * DESIGN.md "Talking"): each node's agent serves its node's pods' newest
 * one-second values on a compact page, the controller finds the agents
 * through the API (the agent DaemonSet's pods and their addresses) and
 * reads every agent once a second. Layer 1 of control/ (control/README.md):
 * it uses k8s/ (the API client, TokenReview) and libcurl, nothing else of
 * ours; the agent (layer 3) writes and guards the page with it, the
 * autoscaler (layer 2) reads the feed through it.
 *
 * The page: GET SIG_PATH on the agent's TLS port (SIG_AGENT_TLS_PORT, as
 * the shipped DaemonSet runs it: the certificate sig_tls_ensure() issues;
 * on the metrics port without one), with
 * "Authorization: Bearer TOKEN", TOKEN a service-account token of the
 * controller bound to the audience SIG_AUDIENCE (a projected token: the API
 * server refuses it, so a token read off the wire opens nothing but other
 * agents' pages). The agent asks the API server who the token is
 * (TokenReview, audience SIG_AUDIENCE) and serves only the identity it was
 * told to (the controller's service account): 401 without a token or with
 * one the API server does not authenticate, 403 for another identity, 503
 * before the first sample or when the API server cannot answer. The body
 * (application/json):
 *
 *   {"node":"node-1","seq":42,"interval_ms":1000,"age_ms":180,
 *    "pods":[{"namespace":"web","name":"web-1","uid":"0f8e...",
 *             "v":[cpu, memory, runq_p50, runq_p99, rx_bytes, tx_bytes,
 *                  rx_packets, tx_packets],
 *             "throttled":800}, ...]}
 *
 * seq counts the agent's samples (the same seq is the same sample); age_ms
 * is how old the sample was when the page was written and interval_ms the
 * time it covers, so the reader dates it on its own clock (no clock is
 * compared between machines). Values are integers in milli-units (CPU in
 * millicores, memory (the working set: usage less inactive file pages) in
 * milli-bytes, run-queue wait in milliseconds of seconds, i.e. 2 ms is 2,
 * bytes and packets per second times 1000), in the order of enum
 * sig_kind; null where the agent measures nothing (memory of a pod whose
 * cgroup has no memory files; CPU and run-queue wait without the scheduler
 * programs, traffic without the network ones). Values added after the first eight
 * are fields of their own, optional, so that a reader of either version
 * takes a page of the other: "throttled", the pod's CFS-throttled seconds
 * per second (times 1000: 800 is 0.8 s/s, a busy thread held to a fifth of
 * a CPU), left out where the pod's cgroup has no CFS statistics.
 *
 * Threads: a sig_feed runs one thread of its own (the 1 Hz poll) and
 * answers sig_feed_points() from any thread; the controller's capabilities
 * share one per process (sig_feed_shared_get(), below); a sig_auth is used by one
 * thread (the agent's HTTP thread). Errors are 0 or -errno; nothing here
 * prints, and the one thing logged (through sig_set_log()) is what the
 * feed's checks of the agents' Secrets wrote or why they failed; the feed
 * counts its reads' failures (sig_feed_stats()).
 */
#ifndef FERRY_CTL_SIGNALS_H
#define FERRY_CTL_SIGNALS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SIG_PATH	     "/v1/pods"
#define SIG_AUDIENCE	     "ferry-agent"
#define SIG_CONTROLLER_SA    "system:serviceaccount:ferry-system:ferry-controller"
#define SIG_AGENT_SELECTOR   "app.kubernetes.io/name=ferry-agent"
#define SIG_AGENT_PORT	     9464
#define SIG_AGENT_TLS_PORT   9443
#define SIG_AGENT_TLS_NAME   "ferry-agent.ferry-system.svc"
#define SIG_TOKEN_FILE	     "/var/run/secrets/ferry.io/agent-token/token"
#define SIG_DEFAULT_STALE_MS 5000

/* Log sink (levels 0 error, 1 warning, 2 info, as control/cli's): one line without a newline, never a key */
typedef void (*sig_log_fn)(int level, const char *msg);
/* sig_set_log() - route the module's log lines to @fn (NULL, the default: discard them); call before sig_feed_new() */
void sig_set_log(sig_log_fn fn);

/* what a page carries per pod, in the order of the "v" array (autoscale.h's enum as_signal) */
enum sig_kind {
	SIG_CPU,
	SIG_MEMORY,
	SIG_RUNQ_P50,
	SIG_RUNQ_P99,
	SIG_RX_BYTES,
	SIG_TX_BYTES,
	SIG_RX_PACKETS,
	SIG_TX_PACKETS,
	SIG_V_KINDS,		     /* the "v" array: the kinds above */
	SIG_THROTTLED = SIG_V_KINDS, /* "throttled" (optional): CFS-throttled s/s */
	SIG_KINDS,
};

/*
 * sig_kind_name() - @k as a metric is named where a user writes it (a
 * ScalePolicy's metrics, a StatefulSwitch's analysis): "cpu", "memory" (the
 * Resource metrics), "ferry_runqueue_wait_p99_seconds", ... (Pods metrics);
 * "?" out of range. sig_kind_by_name() - the reverse: 0, or -ENOENT.
 * Header-only: the capabilities' spec decoders (fuzzed alone) link nothing.
 */
static inline const char *sig_kind_name(enum sig_kind k)
{
	static const char *const names[SIG_KINDS] = {
		[SIG_CPU] = "cpu",
		[SIG_MEMORY] = "memory",
		[SIG_RUNQ_P50] = "ferry_runqueue_wait_p50_seconds",
		[SIG_RUNQ_P99] = "ferry_runqueue_wait_p99_seconds",
		[SIG_RX_BYTES] = "ferry_network_receive_bytes_per_second",
		[SIG_TX_BYTES] = "ferry_network_transmit_bytes_per_second",
		[SIG_RX_PACKETS] = "ferry_network_receive_packets_per_second",
		[SIG_TX_PACKETS] = "ferry_network_transmit_packets_per_second",
		[SIG_THROTTLED] = "ferry_cpu_throttled_seconds_per_second",
	};

	return (unsigned int)k < SIG_KINDS ? names[k] : "?";
}

static inline int sig_kind_by_name(const char *name, enum sig_kind *out)
{
	for (int k = 0; name && k < SIG_KINDS; k++) {
		if (!strcmp(name, sig_kind_name((enum sig_kind)k))) {
			*out = (enum sig_kind)k;
			return 0;
		}
	}
	return -ENOENT;
}

/**
 * struct sig_pod - one pod's values on a page
 * @ns, @name, @uid: the pod (borrowed, NUL-terminated)
 * @has: which of @v were measured
 * @v:   milli-units
 */
struct sig_pod {
	const char *ns, *name, *uid;
	bool has[SIG_KINDS];
	int64_t v[SIG_KINDS];
};

/**
 * struct sig_page - a page's header
 * @node:        the agent's node
 * @seq:         the sample's number (>= 1)
 * @interval_ms: the time the sample covers (> 0)
 * @age_ms:      its age when the page was written (>= 0)
 */
struct sig_page {
	const char *node;
	uint64_t seq;
	int64_t interval_ms;
	int64_t age_ms;
};

/*
 * sig_page_pods() - the page's "pods" array alone (the agent writes it once
 * per sample, and the page around it per request, with the age then).
 * Return: 0; -EIO (the stream failed).
 */
int sig_page_pods(FILE *f, const struct sig_pod *pods, size_t n);

/* sig_page_write() - the page: @pg and the array @pods_json (sig_page_pods()). Return: 0; -EIO. */
int sig_page_write(FILE *f, const struct sig_page *pg, const char *pods_json, size_t len);

/*
 * sig_pod_fn - one pod of a page being parsed, with the page's header
 * (checked before the first pod); their strings are borrowed for the call.
 * Return 0 to go on, or -errno to stop the parse with it.
 */
typedef int (*sig_pod_fn)(void *arg, const struct sig_page *pg, const struct sig_pod *pod);

/**
 * sig_page_parse() - a page from an agent (untrusted input)
 * @buf, @len: the body
 * @pg:        the header (@pg->node is NULL after the return: it lived in
 *             the parsed document)
 * @each:      called per pod, in the page's order (NULL: the header alone)
 *
 * A pod without "throttled" (or with null) has has[SIG_THROTTLED] false.
 * Return: 0; -EINVAL (not JSON, a field missing or of the wrong type, a
 * value out of range, a "v" of another length; nothing after the pods
 * already passed to @each is passed), -ENOMEM, or @each's error.
 */
int sig_page_parse(const char *buf, size_t len, struct sig_page *pg, sig_pod_fn each, void *arg);

/* ---- the agent's side: who may read the page ---- */

struct k8s_client;
struct k8s_err;
struct sig_auth;

/**
 * sig_auth_new() - a guard that lets @user (SIG_CONTROLLER_SA) in
 * @c:    the agent's API client (borrowed; needs create tokenreviews)
 * @user: borrowed for the guard's life
 * Return: 0; -ENOMEM.
 */
int sig_auth_new(struct k8s_client *c, const char *user, struct sig_auth **out);
void sig_auth_free(struct sig_auth *a);

/**
 * sig_auth_check() - may the request with this Authorization header read?
 * @why: one line for the response body (never the token)
 *
 * The API server's answer is cached per token (its SHA-256) for a minute,
 * a refusal for 10 s, so an agent asks it about once a minute per caller
 * (a token revoked meanwhile reads on for up to that minute, as a cached
 * webhook authentication does). Return: 0 (allowed); -EACCES
 * (401: no bearer token, or one the API server does not authenticate for
 * SIG_AUDIENCE); -EPERM (403: another identity); -EAGAIN (503: the API
 * server could not be asked).
 */
int sig_auth_check(struct sig_auth *a, const char *authorization, char *why, size_t len);

/* ---- the controller's side: the feed ---- */

/**
 * struct sig_point - one value of a pod, dated on the reader's clock
 * @t:  end of the interval it covers (wall clock ms)
 * @dt: its length (ms)
 * @value: milli-units
 */
struct sig_point {
	int64_t t;
	int64_t dt;
	int64_t value;
};

/**
 * struct sig_feed_opts - where the agents are, how to read them (zero: default)
 * @sz:         sizeof(struct sig_feed_opts)
 * @agent_ns:   their namespace ("ferry-system")
 * @selector:   their pods' label selector (SIG_AGENT_SELECTOR)
 * @port:       their page's port (SIG_AGENT_PORT)
 * @token_file: the bearer token for them, re-read every minute
 *              ($FERRY_AGENT_TOKEN_FILE, else SIG_TOKEN_FILE)
 * @period_ms:  how often every agent is read (1000)
 * @list_ms:    how often the agents are listed again (10 000)
 * @timeout_ms: one read's deadline (800)
 * @urls, @nurls: instead of listing the agents, read these pages
 *              ("http://HOST:PORT/v1/pods"; copied): bench/signals.c's
 *              synthetic agents
 * @ca_file:    PEM file of the CA that signed the agents' certificates
 *              ($FERRY_AGENT_CA_FILE when NULL; NULL or "": plain HTTP).
 *              With it every read is HTTPS (TLS 1.2 or later) to @port
 *              (default SIG_AGENT_TLS_PORT), the agent's certificate is
 *              verified against that CA alone and must name @server_name,
 *              and nothing is sent to an agent that fails either check;
 *              there is no way to read without verifying. Read by libcurl
 *              at each poll, so a renewed CA file is taken as it comes
 * @server_name: the DNS name the agents' certificate carries
 *              (SIG_AGENT_TLS_NAME): every agent (one Secret mounted into
 *              the DaemonSet) shares it, and each is reached at its pod
 *              address with that name checked (CURLOPT_CONNECT_TO)
 * @connect_to: with @urls and a CA: a CURLOPT_CONNECT_TO entry
 *              ("NAME:PORT:ADDR:PORT") for each of them (tests)
 * @ca_pem:     without @ca_file (nor $FERRY_AGENT_CA_FILE): the CA as PEM
 *              in memory (copied; CURLOPT_CAINFO_BLOB), with @ca_file's
 *              rules
 * @issue:      without @ca_file (nor $FERRY_AGENT_CA_FILE), with @c (not @urls): the
 *              feed makes sure of the agents' Secrets in @agent_ns
 *              (sig_tls_ensure(): needs get, create and update of them)
 *              in sig_feed_new() and every @tls_check_ms after, and trusts
 *              the CA it read, in place of @ca_pem; until it has one it
 *              reads no agent (never in plain HTTP); a failure is retried
 *              10 s later (counted: sig_feed_stats); what each check wrote,
 *              and each failure once per cause, is logged (sig_set_log())
 * @tls_check_ms: (0: $FERRY_AGENT_TLS_CHECK_S seconds, 1 to 86 400, else an
 *              hour)
 */
struct sig_feed_opts {
	size_t sz;
	const char *agent_ns;
	const char *selector;
	unsigned int port;
	const char *token_file;
	unsigned int period_ms, list_ms, timeout_ms;
	const char *const *urls;
	size_t nurls;
	const char *ca_file, *server_name, *connect_to;
	const char *ca_pem;
	bool issue;
	unsigned int tls_check_ms;
};

struct sig_feed;

/**
 * sig_feed_new() - start reading the agents (a thread of its own)
 * @c: the controller's API client (borrowed until sig_feed_free(); lists
 *     pods in @agent_ns); unused with @o->urls
 * Return: 0; -ENOMEM; -errno of a thread that could not start; with
 * @o->issue, -EACCES or -EPERM when the first check of the agents' Secrets
 * was refused (the API server's line, naming the verb, is logged; other
 * failures of it are retried by the feed).
 */
int sig_feed_new(struct k8s_client *c, const struct sig_feed_opts *o, struct sig_feed **out);

/* sig_feed_free() - stop the thread and free; NULL is a no-op */
void sig_feed_free(struct sig_feed *f);

/**
 * sig_feed_points() - the recent points of pod @uid's value @kind, oldest
 * first (up to SIG_FEED_KEEP of them)
 * @pts, @n: set to a copy that stays valid until this thread's next call
 *
 * Return: 0 (@n may be 0: the agent reports the pod but not this value);
 * -ENOENT (no agent reported the pod); -ENODATA (no agent answered in the
 * last SIG_DEFAULT_STALE_MS: the feed can answer nothing); -EINVAL (a
 * @kind out of range).
 */
#define SIG_FEED_KEEP 16
int sig_feed_points(struct sig_feed *f, enum sig_kind kind, const char *uid,
		    const struct sig_point **pts, size_t *n);

/*
 * ---- one feed per process (shared.c) ----
 *
 * Every capability of the controller that reads the agents (the autoscaler,
 * the load balancer's weights) takes the process's one feed rather than
 * starting its own: two feeds would read every agent twice a second and
 * each check, and issue, the agents' Secrets. A count of references:
 *
 *   setup:     ret = sig_feed_controller_get(client, own_ns, &feed, err);
 *   reconcile: sig_feed_points(feed, ...);          any worker thread
 *   teardown:  sig_feed_shared_put(feed);
 *
 * The first get starts the feed with its @o (later gets' @o are not read:
 * every reader of one process wants the same agents, so they pass the same
 * options, sig_feed_opts_controller()'s); the last put stops it (a later
 * get starts a new one). Both are thread-safe.
 */

/**
 * sig_feed_opts_controller() - @o as the controller reads its agents: the
 * agents in @own_ns (borrowed until the feed starts), their page on the TLS
 * port, and sig_feed_opts.issue unless $FERRY_AGENT_CA_FILE names a CA of
 * one's own
 */
void sig_feed_opts_controller(struct sig_feed_opts *o, const char *own_ns);

/**
 * sig_feed_controller_get() - sig_feed_shared_get() with
 * sig_feed_opts_controller()'s options: what a reconciler's setup calls
 * @err: on failure, "the per-pod feed: ..." with the code
 * Return: as sig_feed_shared_get().
 */
int sig_feed_controller_get(struct k8s_client *c, const char *own_ns, struct sig_feed **out,
			    struct k8s_err *err);

/**
 * sig_feed_shared_get() - a reference to the process's feed, started now
 * with @c and @o (as sig_feed_new()) if none runs
 * @c:   borrowed until the last sig_feed_shared_put()
 * @out: the feed; give the reference back with sig_feed_shared_put(), never
 *       sig_feed_free()
 * Return: 0; sig_feed_new()'s errors (nothing is held then); -EBUSY (the
 * feed runs with another client: one process, one API client).
 */
int sig_feed_shared_get(struct k8s_client *c, const struct sig_feed_opts *o, struct sig_feed **out);

/* sig_feed_shared_put() - give back a reference; the last stops the feed. NULL is a no-op. */
void sig_feed_shared_put(struct sig_feed *f);

/* sig_feed_shared_refs() - the references held now (tests, /metrics) */
unsigned int sig_feed_shared_refs(void);

/*
 * Counters, for /metrics and the bench; with sig_feed_opts.issue the checks
 * of the agents' Secrets, those that failed, the certificates and CAs
 * written, and the last check's error (0: it succeeded).
 */
struct sig_feed_stats {
	uint64_t polls, pages, failures, pods, bytes;
	size_t agents;
	uint64_t tls_checks, tls_failures, tls_issued, tls_cas;
	int tls_error;
};
void sig_feed_stats(struct sig_feed *f, struct sig_feed_stats *out);

/* ---- the agents' certificate (cert.c: PEM made and checked; issue.c: the Secrets) ---- */

#define SIG_CA_SECRET  "ferry-agent-ca"	 /* Opaque: ca.crt, ca.key (the controller's only) */
#define SIG_TLS_SECRET "ferry-agent-tls" /* kubernetes.io/tls: tls.crt, tls.key, ca.crt */
#define SIG_CA_DAYS    1826		 /* the CA: 5 years */
#define SIG_CERT_DAYS  365		 /* the agents' certificate: 1 year */

/* a certificate and its private key, PEM, malloc()ed; sig_pem_fini() wipes the key */
struct sig_pem {
	char *crt, *key;
};
/* sig_pem_fini() - free both (the key wiped first) and NULL them; NULL is a no-op */
void sig_pem_fini(struct sig_pem *p);

/**
 * sig_cert_ca_make() - a self-signed CA ("CN=ferry-agent-ca", CA:TRUE,
 * pathlen 0, keyCertSign) with a new ECDSA P-256 key, valid from 5 minutes
 * before @now (unix seconds: agents' clocks that run behind) for @days
 * @out: filled on success (sig_pem_fini()); zeroed on error
 * Return: 0; -ENOMEM; -EIO (no random numbers).
 */
int sig_cert_ca_make(int64_t now, unsigned int days, struct sig_pem *out);

/**
 * sig_cert_make() - a TLS server certificate for the DNS name @name
 * (serverAuth, digitalSignature, CA:FALSE) with a new P-256 key, signed by
 * @ca (borrowed), valid from 5 minutes before @now for @days, and never
 * past @ca's own end
 * Return: 0; -EBADMSG (@ca is no PEM certificate and key); -EKEYREJECTED
 * (@ca's key is not its certificate's); -EINVAL (no @name, or over 253
 * bytes); -ENOMEM; -EIO.
 */
int sig_cert_make(const struct sig_pem *ca, const char *name, int64_t now, unsigned int days,
		  struct sig_pem *out);

/**
 * sig_cert_check() - is @crt (PEM), with its key @key, good at @now?
 * @ca_crt: the CA's certificate it must be signed by, and then @name is the
 *          DNS name it must carry and it must be a TLS server's (not a CA);
 *          NULL: @crt must be a CA signed by its own key (@name unused)
 * @not_after: its end (unix seconds) once it parsed; NULL: not wanted
 *
 * Return: 0 (good, more than a third of its life left); -EKEYEXPIRED
 * (due: a third of its life or less left, expired, or not yet valid);
 * -EKEYREJECTED (@key is not the certificate's; not signed by @ca_crt; not
 * for @name; not a server's, or not a CA); -EBADMSG (@crt, @key or
 * @ca_crt holds no PEM certificate or key); -ENOMEM.
 */
int sig_cert_check(const char *crt, const char *key, const char *ca_crt, const char *name,
		   int64_t now, int64_t *not_after);

/* what sig_tls_ensure() wrote */
#define SIG_TLS_MADE_CA	  1u /* a new CA (SIG_CA_SECRET created or replaced) */
#define SIG_TLS_MADE_CERT 2u /* a new certificate (SIG_TLS_SECRET created or replaced) */

/**
 * sig_tls_ensure() - make sure of the agents' two Secrets in @ns (issue.c)
 * @c:      the controller's API client (borrowed; get, create and update of
 *          secrets in @ns)
 * @now:    unix seconds
 * @ca_pem: set to the CA's certificate (PEM, malloc()ed: free()) that the
 *          agents' certificate is of, for the feed to trust
 * @did:    NULL, or set to the SIG_TLS_MADE_* of what was written
 * @err:    the detail on error ("secret ferry-system/ferry-agent-tls: ..."),
 *          never a key
 *
 * SIG_CA_SECRET (Opaque: ca.crt, ca.key) holds a CA good by
 * sig_cert_check(); SIG_TLS_SECRET (kubernetes.io/tls: tls.crt, tls.key,
 * ca.crt) a certificate of that CA for SIG_AGENT_TLS_NAME good by
 * sig_cert_check(), with that CA's certificate as ca.crt. Each missing one
 * is created (409 AlreadyExists: another controller made it; it is read and
 * used); each unusable or due one is replaced by an update on the
 * resourceVersion read (409 Conflict: read again); a new CA replaces the
 * agents' certificate too. The API server's errors are returned as the
 * client maps them (-EACCES, -EPERM, -ENOENT for a missing namespace...);
 * -EAGAIN after 4 races or conflicts in a row; -ENOMEM; -EIO.
 */
int sig_tls_ensure(struct k8s_client *c, const char *ns, int64_t now, char **ca_pem,
		   unsigned int *did, struct k8s_err *err);

#endif /* FERRY_CTL_SIGNALS_H */
