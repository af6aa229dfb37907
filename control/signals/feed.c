// SPDX-License-Identifier: MIT
/*
 * control/signals/feed.c - the controller's side of the per-pod feed
 * (signals.h, sig_feed_*): one thread lists the agents (the pods of the
 * agent DaemonSet, every list_ms), reads every agent's page at once with
 * libcurl's multi interface every period_ms, and keeps each pod's last
 * SIG_FEED_KEEP samples, dated on this process's clock (the time of the
 * answer minus the sample's age), in a table by pod UID that
 * sig_feed_points() reads under a mutex from the reconcilers' workers.
 * A sample seen twice (the same seq of one agent) is kept once; a pod that
 * no page named for a minute is dropped.
 *
 * With a CA (sig_feed_opts.ca_file) every read is HTTPS to the agent's TLS
 * port: the URL names the agents' certificate's name and libcurl connects
 * to the pod's address (CURLOPT_CONNECT_TO), so each agent proves it holds
 * a certificate of that CA for that name before the token is sent. The CA
 * is a file (sig_feed_opts.ca_file), a PEM in memory (ca_pem), or, with
 * sig_feed_opts.issue, the one sig_tls_ensure() makes sure of at the start
 * and every tls_check_ms after: the feed then reads nothing until it has it.
 */
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "signals.h"
#include "k8s/k8s.h"

#define DEFAULT_PERIOD_MS  1000
#define DEFAULT_LIST_MS	   10000
#define DEFAULT_TIMEOUT_MS 800
#define TOKEN_REREAD_MS	   60000
#define POD_FORGET_MS	   60000
#define PAGE_MAX	   (8u << 20) /* a page of 30 000 pods is about 4 MiB */
#define NBUCKETS	   65536      /* 30 000 pods: chains of one */
#define TLS_CHECK_MS	   3600000    /* the agents' Secrets, when the feed issues them */
#define TLS_RETRY_MS	   10000      /* ... after a failure */

struct sample {
	int64_t t, dt;
	bool has[SIG_KINDS];
	int64_t v[SIG_KINDS];
};

struct fpod {
	struct fpod *next;
	char uid[64];
	int64_t seen_ms;
	size_t head, n; /* ring of SIG_FEED_KEEP samples, @head the oldest */
	struct sample s[SIG_FEED_KEEP];
};

struct agent {
	char url[320];
	char addr[80];	       /* the pod's address ("" with sig_feed_opts.urls) */
	struct curl_slist *ct; /* CURLOPT_CONNECT_TO, or NULL */
	uint64_t seq;
	/* one read */
	CURL *easy;
	char *buf;
	size_t len;
	bool too_big;
};

struct sig_feed {
	struct k8s_client *c;
	char *ns, *selector, *token_file;
	char *ca_file, *server_name, *connect_to; /* NULL: plain HTTP */
	char *ca_pem;				  /* the CA in memory (instead of @ca_file) */
	bool tls, issue; /* HTTPS (a CA given or issued); sig_tls_ensure() */
	unsigned int tls_check_ms;
	int64_t tls_next_ms; /* the next sig_tls_ensure() */
	unsigned int port, period_ms, list_ms, timeout_ms;
	pthread_t thread;
	CURLM *multi;
	char auth[16400]; /* "Authorization: Bearer ..." */
	int64_t token_ms;

	struct agent *agents;
	size_t nagents;
	int64_t listed_ms;

	pthread_mutex_t lock; /* everything below */
	pthread_cond_t cond;
	bool stop;
	int64_t answered_ms; /* when a page last came in (0: never) */
	struct fpod *buckets[NBUCKETS];
	struct sig_feed_stats st;
};

static sig_log_fn log_fn;

void sig_set_log(sig_log_fn fn)
{
	log_fn = fn;
}

static void sig_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sig_log(int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fn(level, msg);
}

static int64_t wall_ms(void)
{
	return k8s_now_ns() / 1000000;
}

static unsigned int hash(const char *s)
{
	unsigned int h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % NBUCKETS;
}

static struct fpod *pod_find(struct sig_feed *f, const char *uid)
{
	struct fpod *p = f->buckets[hash(uid)];

	while (p && strcmp(p->uid, uid))
		p = p->next;
	return p;
}

/* ---- the token ---- */

static void token_read(struct sig_feed *f, int64_t now)
{
	char tok[16300];
	size_t n = 0;
	FILE *fp;

	if (f->token_ms && now - f->token_ms < TOKEN_REREAD_MS && now >= f->token_ms)
		return;
	f->token_ms = now;
	fp = fopen(f->token_file, "re");
	if (fp) {
		n = fread(tok, 1, sizeof(tok) - 1, fp);
		fclose(fp);
	}
	while (n && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' '))
		n--;
	tok[n] = '\0';
	if (n && !strpbrk(tok, "\r\n"))
		snprintf(f->auth, sizeof(f->auth), "Authorization: Bearer %s", tok);
	else
		f->auth[0] = '\0'; /* the agents answer 401: counted as failures */
}

/* ---- the agents ---- */

static void agents_free(struct sig_feed *f)
{
	for (size_t i = 0; i < f->nagents; i++) {
		if (f->agents[i].easy) {
			curl_multi_remove_handle(f->multi, f->agents[i].easy);
			curl_easy_cleanup(f->agents[i].easy);
		}
		curl_slist_free_all(f->agents[i].ct);
		free(f->agents[i].buf);
	}
	free(f->agents);
	f->agents = NULL;
	f->nagents = 0;
}

/*
 * @a's URL for the pod address @ip: plain, or with a CA the agents'
 * certificate's name, connected to @ip. Return: 0; -ENOMEM.
 */
static int agent_at(const struct sig_feed *f, struct agent *a, const char *ip)
{
	const char *fmt6 = f->tls ? "[%s]" : "http://[%s]:%u" SIG_PATH;
	char ct[400];

	snprintf(a->addr, sizeof(a->addr), strchr(ip, ':') ? "[%s]" : "%s", ip);
	if (!f->tls) {
		snprintf(a->url, sizeof(a->url), strchr(ip, ':') ? fmt6 : "http://%s:%u" SIG_PATH,
			 ip, f->port);
		return 0;
	}
	snprintf(a->url, sizeof(a->url), "https://%s:%u" SIG_PATH, f->server_name, f->port);
	snprintf(ct, sizeof(ct), "%s:%u:%s:%u", f->server_name, f->port, a->addr, f->port);
	a->ct = curl_slist_append(NULL, ct);
	return a->ct ? 0 : -ENOMEM;
}

/* list the agent pods; keep the seq of those still there */
static void agents_list(struct sig_feed *f, int64_t now)
{
	struct k8s_call call = {.label_selector = f->selector, .timeout_ms = 5000};
	struct k8s_items *l = NULL;
	struct k8s_err err;
	struct agent *na;
	size_t n, k = 0;

	if (f->listed_ms && now - f->listed_ms < f->list_ms && now >= f->listed_ms)
		return;
	if (f->nagents && !f->c)
		return; /* a fixed list (sig_feed_opts.urls) */
	if (k8s_list(f->c, &k8s_pods, f->ns, &call, &l, &err)) {
		pthread_mutex_lock(&f->lock);
		f->st.failures++;
		pthread_mutex_unlock(&f->lock);
		f->listed_ms = now - f->list_ms + 1000; /* again in a second */
		return;
	}
	f->listed_ms = now;
	n = k8s_items_len(l);
	na = calloc(n ? n : 1, sizeof(*na));
	if (!na) {
		k8s_items_free(l);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct k8s_obj *p = k8s_items_at(l, i);
		const char *ip = k8s_obj_str(p, "/status/podIP");
		const char *phase = k8s_obj_str(p, "/status/phase");

		if (!ip || !*ip || strlen(ip) > 64 || strpbrk(ip, "/?#@ ") || !phase ||
		    strcmp(phase, "Running"))
			continue;
		if (agent_at(f, &na[k], ip))
			continue;
		for (size_t j = 0; j < f->nagents; j++)
			if (!strcmp(f->agents[j].addr, na[k].addr))
				na[k].seq = f->agents[j].seq;
		k++;
	}
	k8s_items_free(l);
	agents_free(f);
	f->agents = na;
	f->nagents = k;
	pthread_mutex_lock(&f->lock);
	f->st.agents = k;
	pthread_mutex_unlock(&f->lock);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct agent *a = arg;
	size_t n = size * nmemb;
	char *b;

	if (a->len + n > PAGE_MAX) {
		a->too_big = true;
		return 0;
	}
	b = realloc(a->buf, a->len + n + 1);
	if (!b)
		return 0;
	memcpy(b + a->len, data, n);
	a->len += n;
	b[a->len] = '\0';
	a->buf = b;
	return n;
}

/* ---- a page into the table ---- */

struct ingest {
	struct sig_feed *f;
	struct agent *a;
	int64_t now;
	uint64_t pods;
};

/* one pod of a page: its sample appended to its ring (under the lock) */
static int ingest_pod(void *arg, const struct sig_page *pg, const struct sig_pod *sp)
{
	struct ingest *in = arg;
	struct sig_feed *f = in->f;
	int64_t t = in->now - pg->age_ms;
	struct fpod *p;
	struct sample *s;

	if (pg->seq == in->a->seq)
		return -EALREADY; /* the sample read last time: nothing new */
	if (strlen(sp->uid) >= sizeof(p->uid))
		return -EINVAL;
	p = pod_find(f, sp->uid);
	if (!p) {
		unsigned int h = hash(sp->uid);

		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		snprintf(p->uid, sizeof(p->uid), "%s", sp->uid);
		p->next = f->buckets[h];
		f->buckets[h] = p;
	}
	p->seen_ms = in->now;
	/* a sample no newer than the newest kept (an agent restarted, a pod moved) is not kept */
	if (p->n && t <= p->s[(p->head + p->n - 1) % SIG_FEED_KEEP].t)
		return 0;
	if (p->n == SIG_FEED_KEEP) {
		p->head = (p->head + 1) % SIG_FEED_KEEP;
		p->n--;
	}
	s = &p->s[(p->head + p->n++) % SIG_FEED_KEEP];
	s->t = t;
	s->dt = pg->interval_ms;
	memcpy(s->has, sp->has, sizeof(s->has));
	memcpy(s->v, sp->v, sizeof(s->v));
	in->pods++;
	return 0;
}

static void page_in(struct sig_feed *f, struct agent *a, int64_t now)
{
	struct ingest in = {.f = f, .a = a, .now = now};
	struct sig_page pg;
	int ret;

	pthread_mutex_lock(&f->lock);
	ret = sig_page_parse(a->buf, a->len, &pg, ingest_pod, &in);
	if (!ret || ret == -EALREADY) {
		f->answered_ms = now;
		f->st.pages++;
		f->st.bytes += a->len;
		f->st.pods += in.pods;
		a->seq = pg.seq;
	} else {
		f->st.failures++;
	}
	pthread_mutex_unlock(&f->lock);
}

/* drop the pods no page named for POD_FORGET_MS */
static void forget(struct sig_feed *f, int64_t now)
{
	pthread_mutex_lock(&f->lock);
	for (int b = 0; b < NBUCKETS; b++) {
		struct fpod **pp = &f->buckets[b];

		while (*pp) {
			struct fpod *p = *pp;

			if (now - p->seen_ms > POD_FORGET_MS) {
				*pp = p->next;
				free(p);
			} else {
				pp = &p->next;
			}
		}
	}
	pthread_mutex_unlock(&f->lock);
}

/* one read of every agent, all at once */
static void poll_all(struct sig_feed *f)
{
	struct curl_slist *hdr = NULL;
	int running = 0;

	if (f->tls && !f->ca_file && !f->ca_pem)
		return; /* the issued CA is not read yet: nothing goes out unverified */
	if (f->auth[0])
		hdr = curl_slist_append(NULL, f->auth);
	for (size_t i = 0; i < f->nagents; i++) {
		struct agent *a = &f->agents[i];

		a->len = 0;
		a->too_big = false;
		if (!a->easy && !(a->easy = curl_easy_init()))
			continue;
		curl_easy_reset(a->easy);
		curl_easy_setopt(a->easy, CURLOPT_URL, a->url);
		curl_easy_setopt(a->easy, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(a->easy, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(a->easy, CURLOPT_WRITEDATA, a);
		curl_easy_setopt(a->easy, CURLOPT_PRIVATE, a);
		curl_easy_setopt(a->easy, CURLOPT_TIMEOUT_MS, (long)f->timeout_ms);
		curl_easy_setopt(a->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)f->timeout_ms);
		curl_easy_setopt(a->easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(a->easy, CURLOPT_ACCEPT_ENCODING, "");
		if (f->tls) {
			/* the token goes to an agent that proved its certificate, nowhere else */
			curl_easy_setopt(a->easy, CURLOPT_PROTOCOLS_STR, "https");
			curl_easy_setopt(a->easy, CURLOPT_SSLVERSION,
					 (long)CURL_SSLVERSION_TLSv1_2);
			if (f->ca_pem) {
				struct curl_blob b = {.data = f->ca_pem,
						      .len = strlen(f->ca_pem),
						      .flags = CURL_BLOB_COPY};

				curl_easy_setopt(a->easy, CURLOPT_CAINFO_BLOB, &b);
				curl_easy_setopt(a->easy, CURLOPT_CAINFO, NULL);
			} else {
				curl_easy_setopt(a->easy, CURLOPT_CAINFO, f->ca_file);
			}
			curl_easy_setopt(a->easy, CURLOPT_CAPATH, NULL); /* that CA alone */
			curl_easy_setopt(a->easy, CURLOPT_SSL_VERIFYPEER, 1L);
			curl_easy_setopt(a->easy, CURLOPT_SSL_VERIFYHOST, 2L);
			if (a->ct)
				curl_easy_setopt(a->easy, CURLOPT_CONNECT_TO, a->ct);
		} else {
			curl_easy_setopt(a->easy, CURLOPT_PROTOCOLS_STR, "http");
		}
		curl_multi_add_handle(f->multi, a->easy);
	}
	pthread_mutex_lock(&f->lock);
	f->st.polls++;
	pthread_mutex_unlock(&f->lock);
	do {
		CURLMsg *m;
		int left;

		if (curl_multi_perform(f->multi, &running) != CURLM_OK)
			break;
		while ((m = curl_multi_info_read(f->multi, &left))) {
			struct agent *a = NULL;
			long code = 0;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&a);
			curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
			curl_multi_remove_handle(f->multi, m->easy_handle);
			if (m->data.result == CURLE_OK && code == 200 && a && !a->too_big) {
				page_in(f, a, wall_ms());
			} else {
				pthread_mutex_lock(&f->lock);
				f->st.failures++;
				pthread_mutex_unlock(&f->lock);
			}
		}
		if (running && curl_multi_poll(f->multi, NULL, 0, 100, NULL) != CURLM_OK)
			break;
	} while (running);
	/* a multi that failed leaves its reads in: none may stay for the next round */
	for (size_t i = 0; i < f->nagents; i++)
		if (f->agents[i].easy)
			curl_multi_remove_handle(f->multi, f->agents[i].easy);
	curl_slist_free_all(hdr);
}

/* the agents' Secrets, and the CA to trust from them (sig_feed_opts.issue) */
static void tls_check(struct sig_feed *f, int64_t now)
{
	struct k8s_err err;
	unsigned int did = 0;
	char *ca = NULL;
	int ret;

	if (!f->issue || now < f->tls_next_ms)
		return;
	ret = sig_tls_ensure(f->c, f->ns, now / 1000, &ca, &did, &err);
	/* a failure once per cause (it is retried every 10 s), each write */
	if (ret && ret != f->st.tls_error)
		sig_log(1, "the agents' certificate: %s (retried every %d s)", err.msg,
			TLS_RETRY_MS / 1000);
	else if (!ret && f->st.tls_error)
		sig_log(2, "the agents' certificate: the Secrets in %s are good again", f->ns);
	if (did & SIG_TLS_MADE_CA)
		sig_log(2, "the agents' certificate: a new CA in secret %s/" SIG_CA_SECRET, f->ns);
	if (did & SIG_TLS_MADE_CERT)
		sig_log(2,
			"the agents' certificate: issued for " SIG_AGENT_TLS_NAME
			" in secret %s/" SIG_TLS_SECRET ", %d days",
			f->ns, SIG_CERT_DAYS);
	pthread_mutex_lock(&f->lock);
	f->st.tls_checks++;
	if (ret) {
		f->st.tls_failures++;
		f->st.tls_error = ret;
	} else {
		f->st.tls_error = 0;
		f->st.tls_issued += !!(did & SIG_TLS_MADE_CERT);
		f->st.tls_cas += !!(did & SIG_TLS_MADE_CA);
	}
	pthread_mutex_unlock(&f->lock);
	if (!ret) {
		free(f->ca_pem); /* only this thread reads it */
		f->ca_pem = ca;
	}
	f->tls_next_ms = now + (ret ? TLS_RETRY_MS : f->tls_check_ms);
}

static void *feed_main(void *arg)
{
	struct sig_feed *f = arg;
	struct timespec next;

	clock_gettime(CLOCK_REALTIME, &next);
	for (;;) {
		int64_t now = wall_ms();
		bool stop;

		token_read(f, now);
		tls_check(f, now);
		agents_list(f, now);
		poll_all(f);
		forget(f, wall_ms());
		next.tv_nsec += (long)(f->period_ms % 1000) * 1000000;
		next.tv_sec += f->period_ms / 1000 + next.tv_nsec / 1000000000;
		next.tv_nsec %= 1000000000;
		pthread_mutex_lock(&f->lock);
		while (!f->stop && pthread_cond_timedwait(&f->cond, &f->lock, &next) != ETIMEDOUT)
			;
		stop = f->stop;
		pthread_mutex_unlock(&f->lock);
		if (stop)
			break;
		if (wall_ms() - (next.tv_sec * 1000 + next.tv_nsec / 1000000) > f->period_ms)
			clock_gettime(CLOCK_REALTIME, &next); /* fell behind: no burst */
	}
	return NULL;
}

/* a positive number of seconds (at most a day), else 0 */
static int secs_of(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end && v > 0 && v <= 86400 ? (int)v : 0;
}

static char *dup_or(const char *s, const char *dflt)
{
	return strdup(s && *s ? s : dflt);
}

int sig_feed_new(struct k8s_client *c, const struct sig_feed_opts *o, struct sig_feed **out)
{
	struct sig_feed *f = calloc(1, sizeof(*f));
	const char *env = getenv("FERRY_AGENT_TOKEN_FILE");
	const char *ca = o && o->ca_file ? o->ca_file : getenv("FERRY_AGENT_CA_FILE");
	int ret;

	*out = NULL;
	if (!f)
		return -ENOMEM;
	f->c = c;
	f->ns = dup_or(o ? o->agent_ns : NULL, "ferry-system");
	f->selector = dup_or(o ? o->selector : NULL, SIG_AGENT_SELECTOR);
	f->token_file = dup_or(o && o->token_file ? o->token_file : env, SIG_TOKEN_FILE);
	f->port = o && o->port ? o->port : SIG_AGENT_PORT; /* SIG_AGENT_TLS_PORT with TLS: below */
	f->period_ms = o && o->period_ms ? o->period_ms : DEFAULT_PERIOD_MS;
	f->list_ms = o && o->list_ms ? o->list_ms : DEFAULT_LIST_MS;
	f->timeout_ms = o && o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	f->multi = curl_multi_init();
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	if (!f->ns || !f->selector || !f->token_file || !f->multi) {
		ret = -ENOMEM;
		goto fail;
	}
	f->tls = (ca && *ca) || (o && ((o->ca_pem && *o->ca_pem) || (o->issue && c)));
	if (f->tls) {
		bool own = ca && *ca, pem = !own && o->ca_pem && *o->ca_pem;

		f->ca_file = own ? strdup(ca) : NULL;
		f->ca_pem = pem ? strdup(o->ca_pem) : NULL;
		f->issue = !own && o && o->issue && c && !o->nurls;
		f->tls_check_ms = o && o->tls_check_ms ? o->tls_check_ms : TLS_CHECK_MS;
		if (!(o && o->tls_check_ms) && getenv("FERRY_AGENT_TLS_CHECK_S") &&
		    secs_of(getenv("FERRY_AGENT_TLS_CHECK_S")) > 0)
			f->tls_check_ms =
				1000u * (unsigned int)secs_of(getenv("FERRY_AGENT_TLS_CHECK_S"));
		f->server_name = dup_or(o ? o->server_name : NULL, SIG_AGENT_TLS_NAME);
		if ((own && !f->ca_file) || (pem && !f->ca_pem) || !f->server_name) {
			ret = -ENOMEM;
			goto fail;
		}
		if (!(o && o->port))
			f->port = SIG_AGENT_TLS_PORT;
		if (o && o->connect_to && !(f->connect_to = strdup(o->connect_to))) {
			ret = -ENOMEM;
			goto fail;
		}
	}
	if (o && o->nurls) {
		f->c = NULL;
		f->agents = calloc(o->nurls, sizeof(*f->agents));
		if (!f->agents) {
			ret = -ENOMEM;
			goto fail;
		}
		f->nagents = o->nurls;
		f->st.agents = f->nagents;
		for (size_t i = 0; i < o->nurls; i++) {
			snprintf(f->agents[i].url, sizeof(f->agents[i].url), "%s", o->urls[i]);
			if (f->connect_to &&
			    !(f->agents[i].ct = curl_slist_append(NULL, f->connect_to))) {
				ret = -ENOMEM;
				goto fail;
			}
		}
	}
	/* the first check here: rights that are missing fail the start, with the verb logged */
	if (f->issue) {
		tls_check(f, wall_ms());
		if (f->st.tls_error == -EACCES || f->st.tls_error == -EPERM) {
			ret = f->st.tls_error;
			goto fail;
		}
	}
	ret = -pthread_create(&f->thread, NULL, feed_main, f);
	if (ret)
		goto fail;
	*out = f;
	return 0;
fail:
	agents_free(f);
	if (f->multi)
		curl_multi_cleanup(f->multi);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f->ns);
	free(f->selector);
	free(f->token_file);
	free(f->ca_file);
	free(f->ca_pem);
	free(f->server_name);
	free(f->connect_to);
	free(f);
	return ret;
}

void sig_feed_free(struct sig_feed *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = true;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
	pthread_join(f->thread, NULL);
	agents_free(f);
	curl_multi_cleanup(f->multi);
	for (int b = 0; b < NBUCKETS; b++)
		while (f->buckets[b]) {
			struct fpod *p = f->buckets[b];

			f->buckets[b] = p->next;
			free(p);
		}
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f->ns);
	free(f->selector);
	free(f->token_file);
	free(f->ca_file);
	free(f->ca_pem);
	free(f->server_name);
	free(f->connect_to);
	free(f);
}

int sig_feed_points(struct sig_feed *f, enum sig_kind kind, const char *uid,
		    const struct sig_point **pts, size_t *n)
{
	static _Thread_local struct sig_point out[SIG_FEED_KEEP];
	const struct fpod *p;
	int64_t now = wall_ms();
	int ret = 0;

	*pts = out;
	*n = 0;
	if ((int)kind < 0 || kind >= SIG_KINDS || !uid)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	if (!f->answered_ms || now - f->answered_ms >= SIG_DEFAULT_STALE_MS) {
		ret = -ENODATA;
	} else if (!(p = pod_find(f, uid))) {
		ret = -ENOENT;
	} else {
		for (size_t i = 0; i < p->n; i++) {
			const struct sample *s = &p->s[(p->head + i) % SIG_FEED_KEEP];

			if (s->has[kind])
				out[(*n)++] = (struct sig_point){s->t, s->dt, s->v[kind]};
		}
	}
	pthread_mutex_unlock(&f->lock);
	return ret;
}

void sig_feed_stats(struct sig_feed *f, struct sig_feed_stats *out)
{
	pthread_mutex_lock(&f->lock);
	*out = f->st;
	pthread_mutex_unlock(&f->lock);
}
