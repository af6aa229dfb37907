// SPDX-License-Identifier: MIT
/*
 * bench/lb/lb_bench.c - the tools of bench/lb-latency.sh (not a test, not
 * linked into ferry). Output is "key value" lines for the shell.
 *
 *   serve IP PORT BURN_US NAME     an HTTP/1.1 backend: one thread, keep-alive,
 *                                  BURN_US of its own CPU time per request
 *                                  (CLOCK_THREAD_CPUTIME_ID, so time it is not
 *                                  running does not count), "X-Backend: NAME";
 *                                  a request whose client has gone is dropped
 *                                  unburnt
 *   burn                           a busy loop (the degraded backend's burner)
 *   load NETNS HOST PORT RATE WARMUP_S SECONDS close|keepalive CONNS TIMEOUT_S SEED
 *                                  open loop: requests on a schedule fixed in
 *                                  advance (Poisson, RATE a second, from SEED),
 *                                  whatever the answers; latency from the
 *                                  scheduled send time, so a late client or a
 *                                  queue in it counts (no coordinated
 *                                  omission). close: a new connection per
 *                                  request. keepalive: CONNS connections opened
 *                                  at the start, each request on the one idle
 *                                  longest, queued in the client when none is.
 *                                  Counted: the requests scheduled in
 *                                  [WARMUP_S, WARMUP_S + SECONDS); errors count
 *                                  as infinitely slow in the percentiles
 *   capacity NETNS SECONDS CONNS HOST:PORT...
 *                                  closed loop, CONNS keep-alive connections to
 *                                  each backend: requests a second each can do
 *   weigh CG PIN VIP PORT PERIOD_S REL,IP,PORT,REQ_CORES,LIM_CORES...
 *                                  the load-aware weights as the controller
 *                                  computes them (lb_weights()), from each
 *                                  backend cgroup REL (under the cgroup mounts):
 *                                  CPU from cpu.stat usage_usec, CFS throttling
 *                                  from throttled_usec (v2) or the v1 cpu
 *                                  hierarchy's throttled_time, and run-queue
 *                                  wait from its tasks' /proc/TID/schedstat
 *                                  (mean wait per time slice: the agent
 *                                  measures a p99 with BPF); written into the
 *                                  socket balancer's table of VIP:PORT every
 *                                  PERIOD_S. Starts from equal weights, paused;
 *                                  SIGUSR1 resumes (a fresh baseline), SIGUSR2
 *                                  pauses: only the cells that use these
 *                                  weights move them. A line per publication.
 *   cost N CALLS                   lb_weights() over N backends (median of
 *                                  CALLS calls) and the Maglev build of N
 *                                  weighted backends (median of 9)
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bpf/ebpf_lb.h"
#include "control/lb/lb.h"

#define NS 1000000000LL

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "lb_bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static int64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static void enter_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, CLONE_NEWNET))
		die("setns %s: %s", path, strerror(errno));
	close(fd);
}

static void nofile_max(void)
{
	struct rlimit r;

	getrlimit(RLIMIT_NOFILE, &r);
	r.rlim_cur = r.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &r))
		die("RLIMIT_NOFILE: %s", strerror(errno));
}

static void sa_of(const char *host, int port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		die("address '%s'", host);
}

/* ------------------------------------------------------------ serve */

struct sconn {
	char buf[4096];
	size_t got;
	bool hup;
};

static bool peer_gone(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static int cmd_serve(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct sconn **c;
	int lfd, ep, one = 1;
	int64_t burn;
	const char *name;
	char resp[256];
	int rlen_ka, rlen_close;
	char resp_close[256];

	if (argc < 4)
		die("serve IP PORT BURN_US NAME");
	nofile_max();
	sa_of(argv[0], atoi(argv[1]), &sa);
	burn = atoll(argv[2]) * 1000;
	name = argv[3];
	rlen_ka = snprintf(resp, sizeof(resp),
			   "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nX-Backend: %s\r\n\r\n%s\n",
			   strlen(name) + 1, name, name);
	rlen_close = snprintf(resp_close, sizeof(resp_close),
			      "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nX-Backend: %s\r\n"
			      "Connection: close\r\n\r\n%s\n",
			      strlen(name) + 1, name, name);
	c = calloc(65536, sizeof(*c));
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (!c || lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4096))
		die("serve %s:%s: %s", argv[0], argv[1], strerror(errno));
	ep = epoll_create1(EPOLL_CLOEXEC);
	{
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};

		epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	}
	printf("serving %s:%s\n", argv[0], argv[1]);
	fflush(stdout);
	for (;;) {
		struct epoll_event ev[64];
		int n = epoll_wait(ep, ev, 64, -1);

		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			struct sconn *s;
			bool drop = false;

			if (fd == lfd) {
				for (;;) {
					int a = accept4(lfd, NULL, NULL,
							SOCK_NONBLOCK | SOCK_CLOEXEC);
					struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP};

					if (a < 0)
						break;
					if (a >= 65536 || !(c[a] = calloc(1, sizeof(*c[a])))) {
						close(a);
						continue;
					}
					setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					e.data.fd = a;
					epoll_ctl(ep, EPOLL_CTL_ADD, a, &e);
				}
				continue;
			}
			s = c[fd];
			for (;;) {
				ssize_t r = read(fd, s->buf + s->got, sizeof(s->buf) - 1 - s->got);

				if (r > 0) {
					s->got += (size_t)r;
					if (s->got == sizeof(s->buf) - 1)
						break;
					continue;
				}
				if (r == 0 || errno != EAGAIN)
					s->hup = true;
				break;
			}
			/* each complete request, in order */
			for (;;) {
				char *end;
				bool close_req;
				size_t len;

				s->buf[s->got] = '\0';
				end = strstr(s->buf, "\r\n\r\n");
				if (!end)
					break;
				len = (size_t)(end + 4 - s->buf);
				*end = '\0';
				close_req = strcasestr(s->buf, "\r\nconnection: close") != NULL;
				if (s->hup || peer_gone(fd)) {
					drop = true; /* its client has gone: no one waits for it */
					break;
				}
				for (int64_t t = thread_cpu_ns() + burn; thread_cpu_ns() < t;)
					;
				if (write(fd, close_req ? resp_close : resp,
					  (size_t)(close_req ? rlen_close : rlen_ka)) < 0 ||
				    close_req) {
					drop = true;
					break;
				}
				memmove(s->buf, s->buf + len, s->got - len);
				s->got -= len;
			}
			if (drop || s->hup || s->got == sizeof(s->buf) - 1) {
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
				free(s);
				c[fd] = NULL;
			}
		}
	}
}

static int cmd_burn(void) __attribute__((noreturn));
static int cmd_burn(void)
{
	volatile uint64_t x = 0;

	for (;;)
		x++;
}

/* ------------------------------------------------------------ the client */

enum { C_FREE, C_CONNECTING, C_SENDING, C_READING, C_IDLE };
enum { E_NONE, E_CONNECT, E_TIMEOUT, E_EOF, E_HTTP, E_OVERFLOW, E_NKINDS };
static const char *const ename[E_NKINDS] = {"", "connect", "timeout", "eof", "http", "overflow"};

#define MAXBE 16

struct req {
	int64_t t_sched, lat; /* lat: -1 pending */
	int8_t err;
	int8_t be;
};

struct cconn {
	int fd, state;
	long req; /* -1: none */
	int64_t deadline;
	char buf[2048];
	size_t got, sent;
	int target; /* capacity: the backend's index */
	int be;	    /* keepalive: the backend that answered last (-1 unknown) */
	long done;
};

static struct {
	int ep;
	struct sockaddr_in *sa; /* targets */
	int nsa;
	bool keepalive;
	const char *reqtext;
	size_t reqlen;
	struct cconn *c;
	int nc;
	int *freelist, nfree;
	char be_name[MAXBE][64];
	int nbe;
	int64_t timeout;
} cl;

static int be_index(const char *name, size_t len)
{
	for (int i = 0; i < cl.nbe; i++)
		if (strlen(cl.be_name[i]) == len && !memcmp(cl.be_name[i], name, len))
			return i;
	if (cl.nbe == MAXBE || len >= sizeof(cl.be_name[0]))
		return -1;
	memcpy(cl.be_name[cl.nbe], name, len);
	cl.be_name[cl.nbe][len] = '\0';
	return cl.nbe++;
}

/* a new connection for @k to target @t; -errno */
static int cconn_open(int k, int t)
{
	struct cconn *c = &cl.c[k];
	struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)k};
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&cl.sa[t], sizeof(cl.sa[t])) &&
	    errno != EINPROGRESS) {
		int ret = -errno;

		close(c->fd);
		c->fd = -1;
		return ret;
	}
	c->state = C_CONNECTING;
	c->got = c->sent = 0;
	c->target = t;
	epoll_ctl(cl.ep, EPOLL_CTL_ADD, c->fd, &ev);
	return 0;
}

static void cconn_close(struct cconn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(cl.ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = C_FREE;
}

static void cconn_want(struct cconn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.u32 = (uint32_t)(c - cl.c)};

	epoll_ctl(cl.ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/*
 * Progress on @c after an event. Returns 1 when a response is complete (its
 * status in *status, its backend in c->be, *closing when the server closes),
 * 0 to wait, -E_* on an error (the connection is then closed).
 */
static int cconn_step(struct cconn *c, int *status, bool *closing)
{
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err)
			return -E_CONNECT;
		c->state = C_SENDING;
		c->sent = 0;
	}
	if (c->state == C_SENDING) {
		ssize_t w = write(c->fd, cl.reqtext + c->sent, cl.reqlen - c->sent);

		if (w < 0)
			return errno == EAGAIN ? 0 : -E_EOF;
		c->sent += (size_t)w;
		if (c->sent < cl.reqlen)
			return 0;
		c->state = C_READING;
		c->got = 0;
		cconn_want(c, EPOLLIN);
	}
	if (c->state == C_READING) {
		for (;;) {
			ssize_t r = read(c->fd, c->buf + c->got, sizeof(c->buf) - 1 - c->got);
			char *hdr_end, *p;
			size_t body = 0;

			if (r < 0)
				return errno == EAGAIN ? 0 : -E_EOF;
			if (r == 0)
				return -E_EOF;
			c->got += (size_t)r;
			c->buf[c->got] = '\0';
			hdr_end = strstr(c->buf, "\r\n\r\n");
			if (!hdr_end) {
				if (c->got == sizeof(c->buf) - 1)
					return -E_HTTP;
				continue;
			}
			*hdr_end = '\0';
			p = strcasestr(c->buf, "\r\ncontent-length:");
			if (p)
				body = strtoul(p + 17, NULL, 10);
			if ((size_t)(hdr_end + 4 - c->buf) + body > c->got) {
				*hdr_end = '\r';
				continue;
			}
			*status = strncmp(c->buf, "HTTP/1.", 7) ? 0 : atoi(c->buf + 9);
			*closing = strcasestr(c->buf, "\r\nconnection: close") != NULL;
			p = strcasestr(c->buf, "\r\nx-backend:");
			c->be = -1;
			if (p) {
				size_t n;

				p += 12;
				while (*p == ' ')
					p++;
				n = strcspn(p, "\r\n ");
				c->be = be_index(p, n);
			}
			c->state = C_IDLE;
			return 1;
		}
	}
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* the q-quantile of @v (sorted, INT64_MAX for errors), in ms; "inf" past the answers */
static void print_q(const char *key, const int64_t *v, size_t n, double q)
{
	size_t i;

	if (!n) {
		printf("%s nan\n", key);
		return;
	}
	i = (size_t)ceil(q * (double)n);
	i = i ? i - 1 : 0;
	if (v[i] == INT64_MAX)
		printf("%s inf\n", key);
	else
		printf("%s %.3f\n", key, (double)v[i] / 1e6);
}

static int cmd_load(int argc, char **argv)
{
	static char text[256];
	struct req *r;
	long nreq, next = 0, *queue, qh = 0, qt = 0, counted = 0, pending = 0;
	double rate, warm, secs;
	int conns;
	unsigned short xs[3];
	int64_t t0, from, to, *lat, late_max = 0;
	unsigned long errs[E_NKINDS] = {0}, per_be[MAXBE] = {0};
	struct sockaddr_in sa;

	if (argc < 10)
		die("load NETNS HOST PORT RATE WARMUP_S SECONDS close|keepalive CONNS TIMEOUT_S SEED");
	nofile_max();
	enter_netns(argv[0]);
	sa_of(argv[1], atoi(argv[2]), &sa);
	rate = atof(argv[3]);
	warm = atof(argv[4]);
	secs = atof(argv[5]);
	cl.keepalive = !strcmp(argv[6], "keepalive");
	conns = atoi(argv[7]);
	cl.timeout = (int64_t)(atof(argv[8]) * 1e9);
	xs[0] = 0x330e;
	xs[1] = (unsigned short)atoi(argv[9]);
	xs[2] = (unsigned short)(atoi(argv[9]) >> 16);
	if (rate <= 0 || secs <= 0 || warm < 0 || conns < 1 || conns > 60000)
		die("load: bad arguments");
	cl.reqlen = (size_t)snprintf(text, sizeof(text), "GET / HTTP/1.1\r\nHost: bench\r\n%s\r\n",
				     cl.keepalive ? "" : "Connection: close\r\n");
	cl.reqtext = text;
	cl.sa = &sa;
	cl.nsa = 1;
	/* the schedule, fixed in advance */
	nreq = (long)(rate * (warm + secs) * 1.2) + 100;
	r = calloc((size_t)nreq, sizeof(*r));
	queue = calloc((size_t)nreq, sizeof(*queue));
	{
		struct rlimit rl;

		getrlimit(RLIMIT_NOFILE, &rl);
		cl.nc = cl.keepalive ? conns
				     : (int)(rl.rlim_cur > 30064 ? 30000 : rl.rlim_cur - 64);
	}
	cl.c = calloc((size_t)cl.nc, sizeof(*cl.c));
	cl.freelist = calloc((size_t)cl.nc, sizeof(int));
	if (!r || !queue || !cl.c || !cl.freelist)
		die("out of memory");
	{
		double t = 0;
		long i = 0;

		for (; i < nreq; i++) {
			t += -log(1.0 - erand48(xs)) / rate;
			if (t >= warm + secs)
				break;
			r[i].t_sched = (int64_t)(t * 1e9);
			r[i].lat = -1;
			r[i].be = -1;
		}
		nreq = i;
	}
	from = (int64_t)(warm * 1e9);
	to = (int64_t)((warm + secs) * 1e9);
	cl.ep = epoll_create1(EPOLL_CLOEXEC);
	for (int k = 0; k < cl.nc; k++) {
		cl.c[k].fd = -1;
		cl.c[k].req = -1;
		cl.c[k].be = -1;
		cl.freelist[cl.nfree++] = cl.nc - 1 - k;
	}
	/* keepalive: the pool, opened before the schedule starts */
	if (cl.keepalive) {
		cl.nfree = 0;
		for (int k = 0; k < conns; k++)
			if (cconn_open(k, 0))
				die("connect: %s", strerror(errno));
	}
	t0 = mono_ns() + 50 * 1000000LL;

	/*
	 * idle keep-alive connections, longest idle first; a connection the
	 * server closed while idle is reopened at once and leaves a stale entry,
	 * skipped when popped (its state is no longer idle)
	 */
	int ring = 4 * conns + 4, *idle = calloc((size_t)ring, sizeof(int)), ih = 0, it = 0,
	    nidle = 0;
#define IDLE_PUSH(k)                                                                               \
	do {                                                                                       \
		if (nidle < ring) {                                                                \
			idle[it] = (k);                                                            \
			it = (it + 1) % ring;                                                      \
			nidle++;                                                                   \
		}                                                                                  \
	} while (0)

	for (;;) {
		int64_t now = mono_ns() - t0, wait_ns;
		struct epoll_event ev[256];
		struct timespec tmo;
		int n;

		/* send what is due */
		while (next < nreq && r[next].t_sched <= now) {
			long i = next++;

			if (now - r[i].t_sched > late_max)
				late_max = now - r[i].t_sched;
			pending++;
			if (cl.keepalive) {
				queue[qt++] = i;
				continue;
			}
			if (!cl.nfree) {
				r[i].err = E_OVERFLOW;
				r[i].lat = 0;
				pending--;
				continue;
			}
			{
				int k = cl.freelist[--cl.nfree];

				if (cconn_open(k, 0)) {
					r[i].err = E_CONNECT;
					r[i].lat = now - r[i].t_sched;
					pending--;
					cl.freelist[cl.nfree++] = k;
					continue;
				}
				cl.c[k].req = i;
				cl.c[k].deadline = r[i].t_sched + cl.timeout;
			}
		}
		/* keepalive: queued requests onto idle connections */
		while (cl.keepalive && qh < qt && nidle) {
			int k = idle[ih];
			struct cconn *c = &cl.c[k];

			ih = (ih + 1) % ring;
			nidle--;
			if (c->state != C_IDLE || c->req >= 0)
				continue;
			c->req = queue[qh++];
			c->deadline = r[c->req].t_sched + cl.timeout;
			c->state = C_SENDING;
			c->sent = 0;
			cconn_want(c, EPOLLOUT | EPOLLIN);
		}
		if (next >= nreq && !pending)
			break;
		wait_ns = next < nreq ? r[next].t_sched - now : 10 * 1000000LL;
		if (wait_ns > 10 * 1000000LL)
			wait_ns = 10 * 1000000LL;
		if (wait_ns < 0)
			wait_ns = 0;
		tmo.tv_sec = 0;
		tmo.tv_nsec = wait_ns;
		n = epoll_pwait2(cl.ep, ev, 256, &tmo, NULL);
		now = mono_ns() - t0;
		for (int e = 0; e < n; e++) {
			int k = (int)ev[e].data.u32, status = 0, ret;
			struct cconn *c = &cl.c[k];
			bool closing = false;
			long i = c->req;

			if (i < 0) {
				/* an idle keep-alive connection closed by the server */
				if (c->state == C_IDLE && cl.keepalive) {
					char b[64];

					if (read(c->fd, b, sizeof(b)) <= 0) {
						/* out of the idle ring lazily: reopened at once */
						cconn_close(c);
						cconn_open(k, 0);
					}
				}
				continue;
			}
			ret = cconn_step(c, &status, &closing);
			if (ret == 0)
				continue;
			r[i].lat = now - r[i].t_sched;
			r[i].be = (int8_t)c->be;
			r[i].err = ret < 0 ? (int8_t)-ret : (status / 100 == 2 ? E_NONE : E_HTTP);
			pending--;
			c->req = -1;
			if (!cl.keepalive) {
				cconn_close(c);
				cl.freelist[cl.nfree++] = k;
				continue;
			}
			if (ret < 0 || closing) {
				cconn_close(c);
				if (cconn_open(k, 0))
					die("reconnect: %s", strerror(errno));
				continue;
			}
			IDLE_PUSH(k);
		}
		/* pool's first connects done: idle */
		if (cl.keepalive)
			for (int k = 0; k < conns; k++)
				if (cl.c[k].state == C_CONNECTING && cl.c[k].req < 0) {
					int err = 0;
					socklen_t l = sizeof(err);
					struct pollfd p = {.fd = cl.c[k].fd, .events = POLLOUT};

					if (poll(&p, 1, 0) == 1) {
						getsockopt(cl.c[k].fd, SOL_SOCKET, SO_ERROR, &err,
							   &l);
						if (err)
							die("keep-alive connect: %s",
							    strerror(err));
						cl.c[k].state = C_IDLE;
						cconn_want(&cl.c[k], EPOLLIN);
						IDLE_PUSH(k);
					}
				}
		/* deadlines */
		for (int k = 0; k < cl.nc; k++) {
			struct cconn *c = &cl.c[k];

			if (c->req < 0 || c->state == C_FREE || now < c->deadline)
				continue;
			r[c->req].lat = now - r[c->req].t_sched;
			r[c->req].err = E_TIMEOUT;
			pending--;
			c->req = -1;
			cconn_close(c);
			if (cl.keepalive) {
				if (cconn_open(k, 0))
					die("reconnect: %s", strerror(errno));
			} else {
				cl.freelist[cl.nfree++] = k;
			}
		}
		/* keepalive: queued requests past their deadline */
		while (cl.keepalive && qh < qt && now >= r[queue[qh]].t_sched + cl.timeout) {
			long i = queue[qh++];

			r[i].lat = now - r[i].t_sched;
			r[i].err = E_TIMEOUT;
			pending--;
		}
	}
	lat = calloc((size_t)nreq + 1, sizeof(*lat));
	for (long i = 0; i < nreq; i++) {
		if (r[i].t_sched < from || r[i].t_sched >= to)
			continue;
		errs[r[i].err]++;
		if (!r[i].err && r[i].be >= 0)
			per_be[r[i].be]++;
		lat[counted++] = r[i].err ? INT64_MAX : r[i].lat;
	}
	qsort(lat, (size_t)counted, sizeof(*lat), cmp_i64);
	printf("scheduled %ld\nok %lu\n", counted, errs[E_NONE]);
	for (int e = 1; e < E_NKINDS; e++)
		printf("err_%s %lu\n", ename[e], errs[e]);
	print_q("p50_ms", lat, (size_t)counted, 0.50);
	print_q("p99_ms", lat, (size_t)counted, 0.99);
	print_q("p999_ms", lat, (size_t)counted, 0.999);
	print_q("max_ms", lat, (size_t)counted, 1.0);
	printf("send_late_max_ms %.3f\n", (double)late_max / 1e6);
	for (int b = 0; b < cl.nbe; b++)
		printf("backend %s %lu\n", cl.be_name[b], per_be[b]);
	if (cl.keepalive) {
		/* where the pool's connections went */
		for (int b = 0; b < cl.nbe; b++) {
			int n = 0;

			for (int k = 0; k < conns; k++)
				n += cl.c[k].be == b;
			printf("conns %s %d\n", cl.be_name[b], n);
		}
	}
	return 0;
}

static int cmd_capacity(int argc, char **argv)
{
	static const char text[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
	int per, nt;
	int64_t t_end, t_start;
	double secs;

	if (argc < 4)
		die("capacity NETNS SECONDS CONNS HOST:PORT...");
	nofile_max();
	enter_netns(argv[0]);
	secs = atof(argv[1]);
	per = atoi(argv[2]);
	nt = argc - 3;
	cl.sa = calloc((size_t)nt, sizeof(*cl.sa));
	cl.nc = per * nt;
	cl.c = calloc((size_t)cl.nc, sizeof(*cl.c));
	for (int t = 0; t < nt; t++) {
		char host[64];
		int port;

		if (sscanf(argv[3 + t], "%63[^:]:%d", host, &port) != 2)
			die("capacity: HOST:PORT");
		sa_of(host, port, &cl.sa[t]);
	}
	cl.reqtext = text;
	cl.reqlen = sizeof(text) - 1;
	cl.keepalive = true;
	cl.ep = epoll_create1(EPOLL_CLOEXEC);
	for (int k = 0; k < cl.nc; k++) {
		cl.c[k].fd = -1;
		if (cconn_open(k, k % nt))
			die("connect: %s", strerror(errno));
	}
	/* half a second to settle, then count */
	t_start = mono_ns() + NS / 2;
	t_end = t_start + (int64_t)(secs * 1e9);
	for (;;) {
		struct epoll_event ev[256];
		int64_t now = mono_ns();
		int n;

		if (now >= t_end)
			break;
		n = epoll_wait(cl.ep, ev, 256, 10);
		now = mono_ns();
		for (int e = 0; e < n; e++) {
			struct cconn *c = &cl.c[ev[e].data.u32];
			int status = 0, ret;
			bool closing = false;

			ret = cconn_step(c, &status, &closing);
			if (ret < 0)
				die("capacity: %s", ename[-ret]);
			if (ret == 0)
				continue;
			if (now >= t_start && now < t_end && status == 200)
				c->done++;
			c->state = C_SENDING;
			c->sent = 0;
			cconn_want(c, EPOLLOUT | EPOLLIN);
		}
	}
	{
		double total = 0;

		for (int t = 0; t < nt; t++) {
			long d = 0;

			for (int k = t; k < cl.nc; k += nt)
				d += cl.c[k].done;
			printf("rps %s %.1f\n", argv[3 + t], (double)d / secs);
			total += (double)d / secs;
		}
		printf("rps_total %.1f\n", total);
	}
	return 0;
}

/* ------------------------------------------------------------ weigh */

#define MAXTID 256

struct wbe {
	char rel[256];
	struct ebpf_lb_backend be;
	double req, lim;	   /* the pod's CPU request and limit, cores */
	uint64_t usage_ns, thr_ns; /* the last sample */
	int ntid;
	struct {
		int tid;
		uint64_t wait_ns, slices;
	} tid[MAXTID];
	uint64_t d_wait, d_slices;
	uint32_t weight;
};

static char v2root[256], v1cpu[256];
static volatile sig_atomic_t w_active, w_toggled, w_stop;

static void on_sig(int s)
{
	if (s == SIGUSR1)
		w_active = 1;
	else if (s == SIGUSR2)
		w_active = 0;
	else
		w_stop = 1;
	w_toggled = 1;
}

static void mounts_find(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024];

	if (!f)
		die("mountinfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char mnt[256], fstype[64], opts[256];

		/* id parent maj:min root mount opts ... - fstype source superopts */
		if (sscanf(line, "%*s %*s %*s %*s %255s %*s", mnt) != 1)
			continue;
		{
			char *dash = strstr(line, " - ");

			if (!dash || sscanf(dash, " - %63s %*s %255s", fstype, opts) != 2)
				continue;
		}
		if (!strcmp(fstype, "cgroup2") && !v2root[0])
			snprintf(v2root, sizeof(v2root), "%s", mnt);
		if (!strcmp(fstype, "cgroup") && !v1cpu[0]) {
			char *o, *save = NULL;

			for (o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save))
				if (!strcmp(o, "cpu"))
					snprintf(v1cpu, sizeof(v1cpu), "%s", mnt);
		}
	}
	fclose(f);
	if (!v2root[0])
		die("no cgroup2 mount");
}

/* the value of @key in the "key value" file @path; 0 when missing */
static bool kv_read(const char *path, const char *key, uint64_t *v)
{
	FILE *f = fopen(path, "re");
	char k[64];
	unsigned long long x;
	bool found = false;

	if (!f)
		return false;
	while (fscanf(f, "%63s %llu", k, &x) == 2)
		if (!strcmp(k, key)) {
			*v = x;
			found = true;
			break;
		}
	fclose(f);
	return found;
}

static void sample(struct wbe *b)
{
	char path[600];
	uint64_t v = 0;
	FILE *f;
	int tid, n = 0;
	uint64_t d_wait = 0, d_slices = 0;
	__typeof__(b->tid) old;

	snprintf(path, sizeof(path), "%s/%s/cpu.stat", v2root, b->rel);
	if (kv_read(path, "usage_usec", &v))
		b->usage_ns = v * 1000;
	if (kv_read(path, "throttled_usec", &v)) {
		b->thr_ns = v * 1000;
	} else if (v1cpu[0]) {
		snprintf(path, sizeof(path), "%s/%s/cpu.stat", v1cpu, b->rel);
		if (kv_read(path, "throttled_time", &v))
			b->thr_ns = v;
	}
	memcpy(old, b->tid, sizeof(old));
	snprintf(path, sizeof(path), "%s/%s/cgroup.threads", v2root, b->rel);
	f = fopen(path, "re");
	while (f && n < MAXTID && fscanf(f, "%d", &tid) == 1) {
		char sp[64];
		unsigned long long run, wait, slices;
		FILE *s;

		snprintf(sp, sizeof(sp), "/proc/%d/schedstat", tid);
		s = fopen(sp, "re");
		if (!s)
			continue;
		if (fscanf(s, "%llu %llu %llu", &run, &wait, &slices) == 3) {
			b->tid[n].tid = tid;
			b->tid[n].wait_ns = wait;
			b->tid[n].slices = slices;
			for (int j = 0; j < b->ntid; j++)
				if (old[j].tid == tid) {
					d_wait += wait - old[j].wait_ns;
					d_slices += slices - old[j].slices;
				}
			n++;
		}
		fclose(s);
	}
	if (f)
		fclose(f);
	b->ntid = n;
	b->d_wait = d_wait;
	b->d_slices = d_slices;
}

static int weights_set(struct ebpf_lb *lb, const struct ebpf_lb_vip *vip, struct wbe *b, int n)
{
	struct ebpf_lb_backend be[MAXBE];
	struct ebpf_lb_service s = {.vip = *vip, .be = be, .n = (size_t)n};

	for (int i = 0; i < n; i++) {
		be[i] = b[i].be;
		be[i].weight = b[i].weight;
	}
	return ebpf_lb_service_set(lb, &s);
}

static int cmd_weigh(int argc, char **argv)
{
	struct lb_backend_obs obs[MAXBE];
	struct lb_weight_out out[MAXBE];
	struct lb_weight_policy pol;
	struct ebpf_lb_opts o;
	struct ebpf_lb_vip vip = {0};
	struct ebpf_lb *lb;
	struct wbe *b;
	double period;
	int n, ret;
	int64_t t_last = 0, t0 = mono_ns();
	uint64_t *u_last, *thr_last;

	if (argc < 6 || argc - 5 > MAXBE)
		die("weigh CG PIN VIP PORT PERIOD_S REL,IP,PORT,REQ_CORES,LIM_CORES...");
	mounts_find();
	if (ebpf_lb_addr_parse(argv[2], (uint16_t)atoi(argv[3]), &vip.addr))
		die("VIP '%s'", argv[2]);
	vip.proto = IPPROTO_TCP;
	period = atof(argv[4]);
	n = argc - 5;
	b = calloc((size_t)n, sizeof(*b));
	u_last = calloc((size_t)n, sizeof(*u_last));
	thr_last = calloc((size_t)n, sizeof(*thr_last));
	for (int i = 0; i < n; i++) {
		char ip[64];
		int port;

		if (sscanf(argv[5 + i], "%255[^,],%63[^,],%d,%lf,%lf", b[i].rel, ip, &port,
			   &b[i].req, &b[i].lim) != 5 ||
		    ebpf_lb_addr_parse(ip, (uint16_t)port, &b[i].be.addr))
			die("backend '%s': REL,IP,PORT,REQ_CORES,LIM_CORES", argv[5 + i]);
		b[i].weight = LB_WEIGHT_SCALE;
	}
	lb_weight_policy_init(&pol);
	ebpf_lb_opts_init(&o);
	o.cgroup = argv[0];
	o.pin_dir = argv[1];
	ret = ebpf_lb_open(&o, &lb);
	if (ret)
		die("ebpf_lb_open: %s", strerror(-ret));
	ret = weights_set(lb, &vip, b, n);
	if (ret)
		die("set: %s", strerror(-ret));
	signal(SIGUSR1, on_sig);
	signal(SIGUSR2, on_sig);
	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);
	printf("ready policy requests+runq target_ms %.1f floor %.2f hysteresis %.2f period_s %.1f\n",
	       pol.runq_target_s * 1e3, pol.floor, pol.hysteresis, period);
	while (!w_stop) {
		int64_t now;
		double dt;
		bool changed = false;

		if (w_toggled) {
			w_toggled = 0;
			if (w_active) {
				/* a fresh baseline: what happened while paused is not ours */
				for (int i = 0; i < n; i++) {
					sample(&b[i]);
					u_last[i] = b[i].usage_ns;
					thr_last[i] = b[i].thr_ns;
				}
				t_last = mono_ns();
			}
		}
		if (!w_active || mono_ns() - t_last < (int64_t)(period * 1e9)) {
			usleep(20000);
			continue;
		}
		now = mono_ns();
		dt = (double)(now - t_last) / 1e9;
		for (int i = 0; i < n; i++) {
			sample(&b[i]);
			memset(&obs[i], 0, sizeof(obs[i]));
			obs[i].ready = true;
			obs[i].ready_for_s = 1e6;
			obs[i].has_signal = true;
			obs[i].cpu_cores = (double)(b[i].usage_ns - u_last[i]) / 1e9 / dt;
			obs[i].throttled_s = (double)(b[i].thr_ns - thr_last[i]) / 1e9 / dt;
			obs[i].cpu_request = b[i].req;
			obs[i].cpu_limit = b[i].lim;
			obs[i].runq_p99_s =
				b[i].d_slices ? (double)b[i].d_wait / (double)b[i].d_slices / 1e9
					      : 0;
			obs[i].prev_weight = b[i].weight;
			u_last[i] = b[i].usage_ns;
			thr_last[i] = b[i].thr_ns;
		}
		t_last = now;
		ret = lb_weights(&pol, obs, (size_t)n, out, &changed);
		if (ret)
			die("lb_weights: %s", strerror(-ret));
		for (int i = 0; i < n; i++)
			b[i].weight = out[i].weight;
		if (changed && (ret = weights_set(lb, &vip, b, n)))
			die("set: %s", strerror(-ret));
		printf("pub t=%.1f changed=%d", (double)(now - t0) / 1e9, changed);
		for (int i = 0; i < n; i++)
			printf(" | %s cpu=%.3f thr=%.3f runq_ms=%.2f score=%.3f w=%u", b[i].rel,
			       obs[i].cpu_cores, obs[i].throttled_s, obs[i].runq_p99_s * 1e3,
			       out[i].score, out[i].weight);
		printf("\n");
		fflush(stdout);
	}
	ebpf_lb_close(lb);
	free(b);
	free(u_last);
	free(thr_last);
	return 0;
}

/* ------------------------------------------------------------ cost */

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int cmd_cost(int argc, char **argv)
{
	struct lb_weight_policy pol;
	struct lb_backend_obs *obs;
	struct lb_weight_out *out;
	struct ebpf_lb_backend *be;
	double *t, tb[9];
	unsigned short xs[3] = {1, 2, 3};
	int n, calls;
	bool changed;

	if (argc < 2)
		die("cost N CALLS");
	n = atoi(argv[0]);
	calls = atoi(argv[1]);
	if (n < 1 || n > 100000 || calls < 1)
		die("cost: bad N or CALLS");
	obs = calloc((size_t)n, sizeof(*obs));
	out = calloc((size_t)n, sizeof(*out));
	be = calloc((size_t)n, sizeof(*be));
	t = calloc((size_t)calls, sizeof(*t));
	lb_weight_policy_init(&pol);
	for (int i = 0; i < n; i++) {
		char ip[32];

		obs[i].ready = true;
		obs[i].ready_for_s = 1e6;
		obs[i].has_signal = true;
		obs[i].cpu_request = 0.5;
		obs[i].cpu_limit = 1.0;
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", 100 + i / 65536, (i / 256) % 256, i % 256);
		ebpf_lb_addr_parse(ip, 8080, &be[i].addr);
	}
	for (int c = 0; c < calls; c++) {
		int64_t t0;

		/* new measurements each call, the weights published by the last */
		for (int i = 0; i < n; i++) {
			obs[i].cpu_cores = 0.05 + 0.45 * erand48(xs);
			obs[i].runq_p99_s = 0.005 * erand48(xs);
			obs[i].prev_weight = c ? out[i].weight : 0;
		}
		t0 = mono_ns();
		if (lb_weights(&pol, obs, (size_t)n, out, &changed))
			die("lb_weights");
		t[c] = (double)(mono_ns() - t0);
	}
	qsort(t, (size_t)calls, sizeof(*t), cmp_d);
	printf("weights n %d calls %d median_us %.1f p90_us %.1f per_backend_ns %.0f\n", n, calls,
	       t[calls / 2] / 1e3, t[calls * 9 / 10] / 1e3, t[calls / 2] / n);
	for (int i = 0; i < n; i++)
		be[i].weight = out[i].weight;
	for (int c = 0; c < 2; c++) {
		uint32_t m = 0;

		for (int k = 0; k < 9; k++) {
			struct ebpf_maglev *mt;
			int64_t t0 = mono_ns();

			if (ebpf_maglev_build(be, (size_t)n, c, 0, &mt))
				die("ebpf_maglev_build");
			tb[k] = (double)(mono_ns() - t0);
			m = mt->m;
			ebpf_maglev_free(mt);
		}
		qsort(tb, 9, sizeof(tb[0]), cmp_d);
		printf("maglev %s n %d m %u median_ms %.2f\n", c ? "affinity" : "random", n, m,
		       tb[4] / 1e6);
	}
	free(obs);
	free(out);
	free(be);
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		die("usage: lb_bench serve|burn|load|capacity|weigh|cost ARGS (see the source's head)");
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 2, argv + 2);
	if (!strcmp(argv[1], "burn"))
		return cmd_burn();
	if (!strcmp(argv[1], "load"))
		return cmd_load(argc - 2, argv + 2);
	if (!strcmp(argv[1], "capacity"))
		return cmd_capacity(argc - 2, argv + 2);
	if (!strcmp(argv[1], "weigh"))
		return cmd_weigh(argc - 2, argv + 2);
	if (!strcmp(argv[1], "cost"))
		return cmd_cost(argc - 2, argv + 2);
	die("unknown command '%s'", argv[1]);
}
