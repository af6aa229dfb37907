// SPDX-License-Identifier: MIT
/*
 * tests/bpf/t_sockbal_drive.c - drives the socket load balancer's API
 * (bpf/ebpf_lb.h) for the root tests and bench/sockbal.sh; `ferry lb` comes
 * later. Output is "key value" lines for the shell.
 *
 *   attach CG PIN [connect,peer,udp]      open (load, attach, pin), close
 *   set CG PIN VIP PORT tcp|udp none|client [IP,PORT,WEIGHT]...
 *   remove CG PIN VIP PORT tcp|udp
 *   table CG PIN VIP PORT tcp|udp          the kernel's table: m, gen, its map id, slots
 *                                          per backend
 *   moved CG PIN VIP PORT tcp|udp IP,PORT,WEIGHT...
 *                                          slots that would move if the set became this
 *   detach PIN                             ebpf_lb_pins_remove()
 *   skip CG PIN DIR on|off                 ebpf_lb_skip_set() of cgroup DIR; prints the
 *                                          number skipped and the Service ports listed
 *   empty CG SECONDS                       an empty cgroup/connect4 program beside ours
 *                                          for SECONDS (bench: the floor of the cost)
 *   block CG                               attach a pass-all cgroup/sendmsg4 program
 *                                          exclusively (no BPF_F_ALLOW_MULTI), as another
 *                                          tool may: the kernel then refuses our link there
 *   serve PORT IP...                       TCP and UDP on each IP:PORT, answering with IP
 *   connect NETNS ADDR PORT COUNT tcp|udp|udpc
 *                                          COUNT exchanges with ADDR:PORT; per backend
 *                                          counts, errors, peers that are not ADDR:PORT
 *   swaps CG PIN NETNS VIP PORT SECONDS IP,PORT,WEIGHT...
 *                                          a connector in NETNS while backends are
 *                                          removed and put back, and the balancer is
 *                                          reopened (an agent restart) halfway
 *   build N [ROUNDS]                       Maglev build time and table bytes, N backends
 *   genmem CG PIN N                        kernel memory of one generation of N backends
 *
 * The process must already be in the cgroup for connect and swaps (the test
 * joins it first); NETNS is a path (/var/run/netns/NAME) entered with setns(),
 * so the mount namespace, and /sys/fs/bpf, stay as they are.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpf/ebpf_lb.h"
#include "bpf/sockbal.h"
#include "t_helpers.h"

#define MAXB 64

static void log_line(int level, const char *msg)
{
	fprintf(stderr, "%s: %s\n", level <= EBPF_LOG_WARN ? "warning" : "info", msg);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t proto_of(const char *s)
{
	if (!strcmp(s, "tcp"))
		return IPPROTO_TCP;
	if (!strcmp(s, "udp"))
		return IPPROTO_UDP;
	t_error("protocol '%s': tcp or udp", s);
}

static void vip_of(const char *ip, const char *port, const char *proto, struct ebpf_lb_vip *v)
{
	memset(v, 0, sizeof(*v));
	if (ebpf_lb_addr_parse(ip, (uint16_t)atoi(port), &v->addr))
		t_error("address '%s'", ip);
	v->proto = proto_of(proto);
}

/* "IP,PORT,WEIGHT" */
static void backend_of(const char *s, struct ebpf_lb_backend *b)
{
	char ip[64];
	unsigned int port, w;

	if (sscanf(s, "%63[^,],%u,%u", ip, &port, &w) != 3 || port > 65535 ||
	    ebpf_lb_addr_parse(ip, (uint16_t)port, &b->addr))
		t_error("backend '%s': IP,PORT,WEIGHT", s);
	b->weight = w;
}

static struct ebpf_lb *lb_open_mode(const char *cg, const char *pin, unsigned int feats, bool ro)
{
	struct ebpf_lb_opts o;
	struct ebpf_lb *lb;
	int ret;

	ebpf_lb_opts_init(&o);
	o.cgroup = cg;
	o.pin_dir = pin;
	o.readonly = ro;
	if (feats)
		o.features = feats;
	ret = ebpf_lb_open(&o, &lb);
	if (ret)
		t_fail("ebpf_lb_open: %s", strerror(-ret));
	return lb;
}

static struct ebpf_lb *lb_open(const char *cg, const char *pin, unsigned int feats)
{
	return lb_open_mode(cg, pin, feats, false);
}

static void print_features(unsigned int f)
{
	printf("features %s%s%s\n", f & EBPF_LB_FEAT_CONNECT ? "connect," : "",
	       f & EBPF_LB_FEAT_PEER ? "peer," : "", f & EBPF_LB_FEAT_UDP ? "udp," : "");
}

static int cmd_attach(int argc, char **argv)
{
	unsigned int feats = 0;
	struct ebpf_lb *lb;

	if (argc < 2)
		t_error("attach CG PIN [connect,peer,udp]");
	if (argc > 2) {
		feats |= strstr(argv[2], "connect") ? EBPF_LB_FEAT_CONNECT : 0;
		feats |= strstr(argv[2], "peer") ? EBPF_LB_FEAT_PEER : 0;
		feats |= strstr(argv[2], "udp") ? EBPF_LB_FEAT_UDP : 0;
	}
	lb = lb_open(argv[0], argv[1], feats);
	print_features(ebpf_lb_features(lb));
	ebpf_lb_close(lb);
	return 0;
}

static int cmd_set(int argc, char **argv)
{
	struct ebpf_lb_backend be[MAXB];
	struct ebpf_lb_service s = {0};
	struct ebpf_lb *lb;
	int ret;

	if (argc < 6 || argc - 6 > MAXB)
		t_error("set CG PIN VIP PORT PROTO none|client [IP,PORT,WEIGHT]...");
	vip_of(argv[2], argv[3], argv[4], &s.vip);
	s.affinity = !strcmp(argv[5], "client") ? EBPF_LB_AFFINITY_CLIENT : EBPF_LB_AFFINITY_NONE;
	for (int i = 6; i < argc; i++)
		backend_of(argv[i], &be[i - 6]);
	s.be = be;
	s.n = (size_t)(argc - 6);
	lb = lb_open(argv[0], argv[1], 0);
	ret = ebpf_lb_service_set(lb, &s);
	ebpf_lb_close(lb);
	if (ret)
		t_fail("set: %s", strerror(-ret));
	return 0;
}

static int cmd_remove(int argc, char **argv)
{
	struct ebpf_lb_vip v;
	struct ebpf_lb *lb;
	int ret;

	if (argc < 5)
		t_error("remove CG PIN VIP PORT PROTO");
	vip_of(argv[2], argv[3], argv[4], &v);
	lb = lb_open(argv[0], argv[1], 0);
	ret = ebpf_lb_service_remove(lb, &v);
	ebpf_lb_close(lb);
	if (ret)
		t_fail("remove: %s", strerror(-ret));
	return 0;
}

/* the kernel's id of @v's generation map now, read through the pinned sb_services (0: none) */
static unsigned int gen_map_id(const char *pin, const struct ebpf_lb_vip *v)
{
	struct sockbal_vip key = {0};
	char path[4200];
	__u32 id = 0;
	int outer;

	snprintf(path, sizeof(path), "%s/sockbal-v2/sb_services", pin);
	outer = bpf_obj_get(path);
	if (outer < 0)
		return 0;
	memcpy(key.addr, v->addr.ip, 16);
	key.port = htons(v->addr.port);
	key.proto = v->proto;
	if (bpf_map_lookup_elem(outer, &key, &id))
		id = 0;
	close(outer);
	return id;
}

static int cmd_table(int argc, char **argv)
{
	struct ebpf_maglev *t;
	struct ebpf_lb_vip v;
	struct ebpf_lb *lb;
	uint64_t gen;
	uint32_t *cnt;
	char a[64];
	int ret;

	if (argc < 5)
		t_error("table CG PIN VIP PORT PROTO");
	vip_of(argv[2], argv[3], argv[4], &v);
	lb = lb_open_mode(argv[0], argv[1], 0, true); /* beside the running balancer */
	ret = ebpf_lb_service_get(lb, &v, &t, &gen);
	/* read-only changes nothing */
	printf("readonly_refuses %d\n",
	       ebpf_lb_service_remove(lb, &v) == -EROFS && ebpf_lb_detach(lb) == -EROFS);
	ebpf_lb_close(lb);
	if (ret)
		t_fail("table: %s", strerror(-ret));
	cnt = calloc(t->n + 1, sizeof(*cnt));
	for (uint32_t s = 0; s < t->m; s++)
		cnt[t->slot[s]]++;
	printf("m %u\ngen %llu\nmap_id %u\n", t->m, (unsigned long long)gen,
	       gen_map_id(argv[1], &v));
	for (uint32_t i = 0; i < t->n; i++) {
		ebpf_lb_addr_format(&t->be[i].addr, a, sizeof(a));
		printf("slots %s %u %u\n", a, t->be[i].weight, cnt[i]);
	}
	free(cnt);
	ebpf_maglev_free(t);
	return 0;
}

static int cmd_moved(int argc, char **argv)
{
	struct ebpf_lb_backend be[MAXB];
	struct ebpf_maglev *cur, *next;
	struct ebpf_lb_vip v;
	struct ebpf_lb *lb;
	int ret;

	if (argc < 6 || argc - 5 > MAXB)
		t_error("moved CG PIN VIP PORT PROTO IP,PORT,WEIGHT...");
	vip_of(argv[2], argv[3], argv[4], &v);
	for (int i = 5; i < argc; i++)
		backend_of(argv[i], &be[i - 5]);
	lb = lb_open_mode(argv[0], argv[1], 0, true); /* beside the running balancer */
	ret = ebpf_lb_service_get(lb, &v, &cur, NULL);
	ebpf_lb_close(lb);
	if (ret)
		t_fail("table: %s", strerror(-ret));
	/* as ebpf_lb_service_set() builds it: affinity tables, the size in use kept */
	ret = ebpf_maglev_build(be, (size_t)(argc - 5), true, cur->m, &next);
	if (ret)
		t_fail("build: %s", strerror(-ret));
	printf("m %u %u\nmoved %u\n", cur->m, next->m, ebpf_maglev_moved(cur, next));
	ebpf_maglev_free(cur);
	ebpf_maglev_free(next);
	return 0;
}

static int cmd_detach(int argc, char **argv)
{
	int ret;

	if (argc < 1)
		t_error("detach PIN");
	ret = ebpf_lb_pins_remove(argv[0]);
	if (ret)
		t_fail("detach: %s", strerror(-ret));
	return 0;
}

static int cmd_block(int argc, char **argv)
{
	/* r0 = 1; exit: let every sendmsg through */
	struct bpf_insn insns[2] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, po, .expected_attach_type = BPF_CGROUP_UDP4_SENDMSG);
	int fd, cg;

	if (argc < 1)
		t_error("block CG");
	cg = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "block", "GPL", insns, 2, &po);
	if (cg < 0 || fd < 0)
		t_error("block: %s", strerror(errno));
	if (bpf_prog_attach(fd, cg, BPF_CGROUP_UDP4_SENDMSG, 0))
		t_error("block: attach: %s", strerror(errno));
	close(fd);
	close(cg);
	return 0;
}

static int cmd_empty(int argc, char **argv)
{
	struct bpf_insn insns[2] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, po, .expected_attach_type = BPF_CGROUP_INET4_CONNECT);
	int fd, cg, link;

	if (argc < 2)
		t_error("empty CG SECONDS");
	cg = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "empty_connect4", "GPL", insns, 2, &po);
	if (cg < 0 || fd < 0)
		t_error("empty: %s", strerror(errno));
	link = bpf_link_create(fd, cg, BPF_CGROUP_INET4_CONNECT, NULL);
	if (link < 0)
		t_error("empty: attach: %s", strerror(errno));
	printf("attached\n");
	sleep((unsigned int)atoi(argv[1]));
	close(link);
	return 0;
}

/* ---- sockets ---- */

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static socklen_t sa_of(const struct ebpf_lb_addr *a, int want6, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ebpf_lb_addr_is_v4(a) && !want6) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(a->port);
		memcpy(&s4->sin_addr, &a->ip[12], 4);
		return sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->ip, 16);
		return sizeof(*s6);
	}
}

static void addr_of_sa(const struct sockaddr_storage *ss, struct ebpf_lb_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		a->ip[10] = a->ip[11] = 0xff;
		memcpy(&a->ip[12], &s4->sin_addr, 4);
		a->port = ntohs(s4->sin_port);
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		memcpy(a->ip, &s6->sin6_addr, 16);
		a->port = ntohs(s6->sin6_port);
	}
}

static int cmd_serve(int argc, char **argv)
{
	int ep, nfd = 0;
	int fds[2 * MAXB], tcp[2 * MAXB];
	char names[2 * MAXB][64];

	if (argc < 2 || argc - 1 > MAXB)
		t_error("serve PORT IP...");
	ep = epoll_create1(0);
	for (int i = 1; i < argc; i++) {
		struct ebpf_lb_addr a;
		struct sockaddr_storage ss;
		socklen_t len;
		int one = 1;

		if (ebpf_lb_addr_parse(argv[i], (uint16_t)atoi(argv[0]), &a))
			t_error("address '%s'", argv[i]);
		len = sa_of(&a, 0, &ss);
		for (int udp = 0; udp < 2; udp++) {
			int fd = socket(ss.ss_family, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
			struct epoll_event ev = {.events = EPOLLIN};

			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) ||
			    (!udp && listen(fd, 4096)))
				t_error("serve %s: %s", argv[i], strerror(errno));
			snprintf(names[nfd], sizeof(names[nfd]), "%s", argv[i]);
			fds[nfd] = fd;
			tcp[nfd] = !udp;
			ev.data.u32 = (uint32_t)nfd++;
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		}
	}
	printf("serving %d\n", nfd);
	fflush(stdout);
	for (;;) {
		struct epoll_event ev[16];
		int n = epoll_wait(ep, ev, 16, -1);

		for (int i = 0; i < n; i++) {
			int k = (int)ev[i].data.u32;
			size_t len = strlen(names[k]);

			if (tcp[k]) {
				int c = accept4(fds[k], NULL, NULL, SOCK_CLOEXEC);

				if (c < 0)
					continue;
				if (write(c, names[k], len) < 0) {
					/* the client gave up: nothing to do */
				}
				close(c);
			} else {
				struct sockaddr_storage from;
				socklen_t fl = sizeof(from);
				char buf[512];

				if (recvfrom(fds[k], buf, sizeof(buf), 0, (struct sockaddr *)&from,
					     &fl) >= 0)
					sendto(fds[k], names[k], len, 0, (struct sockaddr *)&from,
					       fl);
			}
		}
	}
	return 0;
}

static void enter_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, CLONE_NEWNET))
		t_error("setns %s: %s", path, strerror(errno));
	close(fd);
}

/* an exchange's outcome */
struct xres {
	int err;	  /* 0 or an errno */
	double connect_s; /* socket() to connected (TCP: the handshake done) */
	char who[64];	  /* the backend's answer */
	bool peer_ok;	  /* getpeername()/recvfrom() said the address asked for */
};

/* one exchange with @a: @mode 0 tcp, 1 udp (sendto/recvfrom), 2 udp connected */
static void exchange(const struct ebpf_lb_addr *a, int want6, int mode, struct xres *r)
{
	struct sockaddr_storage ss, peer;
	struct ebpf_lb_addr pa;
	socklen_t len = sa_of(a, want6, &ss), pl = sizeof(peer);
	struct pollfd pfd;
	ssize_t got = 0;
	double t0 = now_s();
	int fd;

	memset(r, 0, sizeof(*r));
	fd = socket(ss.ss_family, (mode ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		r->err = errno;
		return;
	}
	pfd.fd = fd;
	if (mode != 1) {
		if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS) {
			r->err = errno;
			goto out;
		}
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 3000) != 1) {
			r->err = ETIMEDOUT;
			goto out;
		}
		if (getpeername(fd, (struct sockaddr *)&peer, &pl)) {
			socklen_t el = sizeof(r->err);

			getsockopt(fd, SOL_SOCKET, SO_ERROR, &r->err, &el);
			if (!r->err)
				r->err = errno;
			goto out;
		}
		r->connect_s = now_s() - t0;
		addr_of_sa(&peer, &pa);
		r->peer_ok = pa.port == a->port && !memcmp(pa.ip, a->ip, 16);
	}
	if (mode == 1) {
		if (sendto(fd, "q", 1, 0, (struct sockaddr *)&ss, len) < 0) {
			r->err = errno;
			goto out;
		}
	} else if (mode == 2 && send(fd, "q", 1, 0) < 0) {
		r->err = errno;
		goto out;
	}
	pfd.events = POLLIN;
	while (got < (ssize_t)sizeof(r->who) - 1) {
		ssize_t n;

		if (poll(&pfd, 1, 3000) != 1) {
			r->err = ETIMEDOUT;
			goto out;
		}
		pl = sizeof(peer);
		n = recvfrom(fd, r->who + got, sizeof(r->who) - 1 - (size_t)got, 0,
			     (struct sockaddr *)&peer, &pl);
		if (n < 0) {
			r->err = errno;
			goto out;
		}
		if (mode) {
			/* a datagram: where recvfrom() says it came from */
			addr_of_sa(&peer, &pa);
			r->peer_ok = pa.port == a->port && !memcmp(pa.ip, a->ip, 16);
			got = n;
			break;
		}
		if (!n)
			break;
		got += n;
	}
	r->who[got] = '\0';
out:
	close(fd);
}

struct tally {
	char who[MAXB][64];
	unsigned long cnt[MAXB];
	int n;
	unsigned long errs[256];
	unsigned long peer_bad, total;
	double max_fail_s;
};

static int tally_add(struct tally *t, const char *who)
{
	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->who[i], who))
			return i;
	if (t->n == MAXB)
		t_error("more than %d distinct answers", MAXB);
	snprintf(t->who[t->n], sizeof(t->who[0]), "%s", who);
	return t->n++;
}

static int cmd_connect(int argc, char **argv)
{
	struct ebpf_lb_addr a;
	struct tally t = {0};
	int mode, want6;
	long count, nlat = 0;
	double *lat, t_all;

	if (argc < 5)
		t_error("connect NETNS ADDR PORT COUNT tcp|udp|udpc");
	enter_netns(argv[0]);
	if (ebpf_lb_addr_parse(argv[1], (uint16_t)atoi(argv[2]), &a))
		t_error("address '%s'", argv[1]);
	/* an IPv6 socket for IPv6 and IPv4-mapped (::ffff:...) addresses */
	want6 = strchr(argv[1], ':') != NULL;
	count = atol(argv[3]);
	mode = !strcmp(argv[4], "tcp") ? 0 : !strcmp(argv[4], "udp") ? 1 : 2;
	lat = calloc(count > 0 ? (size_t)count : 1, sizeof(*lat));
	if (!lat)
		t_error("out of memory");
	t_all = now_s();
	for (long i = 0; i < count; i++) {
		struct xres r;
		double t0 = now_s(), dt;

		exchange(&a, want6, mode, &r);
		dt = now_s() - t0;
		t.total++;
		if (r.err) {
			t.errs[r.err & 255]++;
			if (dt > t.max_fail_s)
				t.max_fail_s = dt;
			continue;
		}
		t.cnt[tally_add(&t, r.who)]++;
		if (!r.peer_ok)
			t.peer_bad++;
		if (mode != 1)
			lat[nlat++] = r.connect_s;
	}
	t_all = now_s() - t_all;
	printf("total %lu\n", t.total);
	for (int i = 0; i < t.n; i++)
		printf("backend %s %lu\n", t.who[i], t.cnt[i]);
	for (int e = 1; e < 256; e++)
		if (t.errs[e])
			printf("error %s %lu\n", strerrorname_np(e) ? strerrorname_np(e) : "?",
			       t.errs[e]);
	printf("peer_bad %lu\nmax_fail_ms %.3f\n", t.peer_bad, t.max_fail_s * 1e3);
	/* for bench/sockbal.sh: connect() latency and exchanges per second */
	if (nlat) {
		qsort(lat, (size_t)nlat, sizeof(*lat), cmp_d);
		printf("connect_us_p50 %.1f\nconnect_us_p99 %.1f\n", lat[nlat / 2] * 1e6,
		       lat[nlat * 99 / 100] * 1e6);
	}
	printf("exchanges_per_s %.0f\n", (double)t.total / t_all);
	free(lat);
	return 0;
}

/* ---- swaps: a connector during table swaps and a reopen ---- */

#define MAXSWAPS 100000

static struct {
	struct ebpf_lb_addr vip;
	const char *netns;
	_Atomic unsigned int epoch;    /* sets done (their set call returned) */
	_Atomic unsigned int inflight; /* the set being made now (epoch + 1 while in a call) */
	_Atomic int stop;
	uint64_t allowed[MAXSWAPS + 2]; /* per epoch: bitmask of the backends in the table */
	struct ebpf_lb_backend be[MAXB];
	int nbe;
	unsigned long connects, fails, violations, during_reopen;
	_Atomic int reopening;
	unsigned long errs[256];
} sw;

static int backend_index(const char *who)
{
	struct ebpf_lb_addr a;

	if (ebpf_lb_addr_parse(who, 0, &a))
		return -1;
	for (int i = 0; i < sw.nbe; i++)
		if (!memcmp(sw.be[i].addr.ip, a.ip, 16))
			return i;
	return -1;
}

static void *connector(void *arg)
{
	(void)arg;
	enter_netns(sw.netns);
	while (!atomic_load(&sw.stop)) {
		unsigned int e1 = atomic_load_explicit(&sw.epoch, memory_order_acquire), e2;
		int reopen = atomic_load(&sw.reopening);
		uint64_t ok = 0;
		struct xres r;
		int i;

		exchange(&sw.vip, !ebpf_lb_addr_is_v4(&sw.vip), 0, &r);
		e2 = atomic_load_explicit(&sw.inflight, memory_order_acquire);
		sw.connects++;
		if (reopen || atomic_load(&sw.reopening))
			sw.during_reopen++;
		if (r.err) {
			sw.fails++;
			sw.errs[r.err & 255]++;
			continue;
		}
		/* the tables this connect could have seen: from e1's to the one being set */
		for (unsigned int e = e1; e <= e2 && e <= MAXSWAPS + 1; e++)
			ok |= sw.allowed[e];
		i = backend_index(r.who);
		if (i < 0 || !(ok & (1ull << i))) {
			sw.violations++;
			fprintf(stderr, "violation: epochs %u..%u, answer %s\n", e1, e2, r.who);
		}
	}
	return NULL;
}

static int cmd_swaps(int argc, char **argv)
{
	struct ebpf_lb_service s = {0};
	struct ebpf_lb_backend cur[MAXB];
	struct ebpf_lb *lb;
	pthread_t th;
	double end, half;
	bool reopened = false;
	unsigned int k = 0;
	int ret;

	if (argc < 8 || argc - 6 > MAXB)
		t_error("swaps CG PIN NETNS VIP PORT SECONDS IP,PORT,WEIGHT...");
	sw.netns = argv[2];
	vip_of(argv[3], argv[4], "tcp", &s.vip);
	sw.vip = s.vip.addr;
	sw.nbe = argc - 6;
	for (int i = 0; i < sw.nbe; i++)
		backend_of(argv[6 + i], &sw.be[i]);
	lb = lb_open(argv[0], argv[1], 0);
	/* epoch 0: all backends */
	s.be = sw.be;
	s.n = (size_t)sw.nbe;
	sw.allowed[0] = (1ull << sw.nbe) - 1;
	atomic_store(&sw.inflight, 0);
	ret = ebpf_lb_service_set(lb, &s);
	if (ret)
		t_fail("set: %s", strerror(-ret));
	if (pthread_create(&th, NULL, connector, NULL))
		t_error("pthread_create");
	end = now_s() + atof(argv[5]);
	half = now_s() + atof(argv[5]) / 2;
	while (now_s() < end && k < MAXSWAPS) {
		/* odd steps drop backend (step / 2) % n, even steps bring all back */
		int drop = (k % 2 == 0) ? (int)((k / 2) % (unsigned int)sw.nbe) : -1, n = 0;
		uint64_t mask = 0;

		for (int i = 0; i < sw.nbe; i++) {
			if (i == drop)
				continue;
			cur[n++] = sw.be[i];
			mask |= 1ull << i;
		}
		sw.allowed[k + 1] = mask;
		atomic_store_explicit(&sw.inflight, k + 1, memory_order_release);
		s.be = cur;
		s.n = (size_t)n;
		ret = ebpf_lb_service_set(lb, &s);
		if (ret)
			t_fail("set: %s", strerror(-ret));
		atomic_store_explicit(&sw.epoch, k + 1, memory_order_release);
		k++;
		if (!reopened && now_s() > half) {
			/* an agent restart: the programs are swapped into the pinned links */
			atomic_store(&sw.reopening, 1);
			ebpf_lb_close(lb);
			lb = lb_open(argv[0], argv[1], 0);
			atomic_store(&sw.reopening, 0);
			reopened = true;
		}
		usleep(2000);
	}
	atomic_store(&sw.stop, 1);
	pthread_join(th, NULL);
	ebpf_lb_close(lb);
	printf("swaps %u\nconnects %lu\nfails %lu\nviolations %lu\nduring_reopen %lu\n", k,
	       sw.connects, sw.fails, sw.violations, sw.during_reopen);
	for (int e = 1; e < 256; e++)
		if (sw.errs[e])
			printf("error %s %lu\n", strerrorname_np(e) ? strerrorname_np(e) : "?",
			       sw.errs[e]);
	return 0;
}

/* ---- bench ---- */

static void backends_make(struct ebpf_lb_backend *be, int n)
{
	for (int i = 0; i < n; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.%d.%d.%d", 100 + i / 65536, (i / 256) % 256, i % 256);
		ebpf_lb_addr_parse(ip, 8080, &be[i].addr);
		be[i].weight = 1;
	}
}

static int cmd_build(int argc, char **argv)
{
	struct ebpf_lb_backend *be;
	double best[64];
	int n, rounds;

	if (argc < 1)
		t_error("build N [ROUNDS]");
	n = atoi(argv[0]);
	rounds = argc > 1 ? atoi(argv[1]) : 9;
	if (n < 1 || n > EBPF_LB_MAX_BACKENDS || rounds < 1 || rounds > 64)
		t_error("build: bad N or ROUNDS");
	be = calloc((size_t)n, sizeof(*be));
	backends_make(be, n);
	for (int c = 0; c < 2; c++) {
		uint32_t m = 0;

		for (int r = 0; r < rounds; r++) {
			struct ebpf_maglev *t;
			double t0 = now_s();

			if (ebpf_maglev_build(be, (size_t)n, c, 0, &t))
				t_fail("build");
			best[r] = now_s() - t0;
			m = t->m;
			ebpf_maglev_free(t);
		}
		qsort(best, (size_t)rounds, sizeof(best[0]), cmp_d);
		/* what a generation map holds: header row, 32 B per backend, 2 B per slot (64 B rows) */
		printf("build %s n %d m %u median_ms %.3f table_bytes %u\n",
		       c ? "affinity" : "random", n, m, best[rounds / 2] * 1e3,
		       64 * (1 + (n + 1) / 2 + (m + 31) / 32));
	}
	free(be);
	return 0;
}

/* memlock of the generation map of @vip, from its fdinfo */
static long gen_memlock(int map_fd)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", map_fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static int cmd_genmem(int argc, char **argv)
{
	struct ebpf_lb_service s = {0};
	struct ebpf_lb_backend *be;
	struct ebpf_lb *lb;
	char path[4200];
	int n, ret, outer;
	struct sockbal_vip key = {0};
	__u32 id;

	if (argc < 3)
		t_error("genmem CG PIN N");
	n = atoi(argv[2]);
	be = calloc((size_t)n, sizeof(*be));
	backends_make(be, n);
	vip_of("10.96.200.1", "80", "tcp", &s.vip);
	s.be = be;
	s.n = (size_t)n;
	lb = lb_open(argv[0], argv[1], 0);
	for (int c = 0; c < 2; c++) {
		double t0 = now_s();
		int fd;

		s.affinity = c ? EBPF_LB_AFFINITY_CLIENT : EBPF_LB_AFFINITY_NONE;
		ebpf_lb_service_remove(lb, &s.vip);
		ret = ebpf_lb_service_set(lb, &s);
		if (ret)
			t_fail("set: %s", strerror(-ret));
		t0 = now_s() - t0;
		snprintf(path, sizeof(path), "%s/sockbal-v2/sb_services", argv[1]);
		outer = bpf_obj_get(path);
		memcpy(key.addr, s.vip.addr.ip, 16);
		key.port = htons(80);
		key.proto = IPPROTO_TCP;
		if (outer < 0 || bpf_map_lookup_elem(outer, &key, &id))
			t_fail("lookup of the generation");
		fd = bpf_map_get_fd_by_id(id);
		printf("genmem %s n %d set_ms %.3f memlock %ld\n", c ? "affinity" : "random", n,
		       t0 * 1e3, gen_memlock(fd));
		close(fd);
		close(outer);
	}
	ebpf_lb_service_remove(lb, &s.vip);
	ebpf_lb_close(lb);
	free(be);
	return 0;
}

static int cmd_skip(int argc, char **argv)
{
	struct ebpf_lb_vip *v = NULL;
	uint64_t id, *ids = NULL;
	struct ebpf_lb *lb;
	size_t n = 0, nv = 0;
	int ret;

	if (argc < 4)
		t_error("skip CG PIN DIR on|off");
	ret = ebpf_lb_cgroup_id(argv[2], &id);
	if (ret)
		t_fail("cgroup id of %s: %s", argv[2], strerror(-ret));
	lb = lb_open(argv[0], argv[1], 0);
	ret = ebpf_lb_skip_set(lb, id, !strcmp(argv[3], "on"));
	ebpf_lb_close(lb);
	if (ret)
		t_fail("skip: %s", strerror(-ret));
	lb = lb_open_mode(argv[0], argv[1], 0, true);
	if (ebpf_lb_skip_list(lb, &ids, &n) || ebpf_lb_service_list(lb, &v, &nv))
		t_fail("list");
	printf("readonly_refuses %d\n", ebpf_lb_skip_set(lb, id, true) == -EROFS);
	ebpf_lb_close(lb);
	printf("skipped %zu\nlisted %d\nservices %zu\n", n, n == 1 && ids[0] == id, nv);
	free(ids);
	free(v);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{"attach", cmd_attach},	  {"set", cmd_set},	{"remove", cmd_remove},
		{"table", cmd_table},	  {"moved", cmd_moved}, {"detach", cmd_detach},
		{"block", cmd_block},	  {"empty", cmd_empty}, {"serve", cmd_serve},
		{"connect", cmd_connect}, {"swaps", cmd_swaps}, {"build", cmd_build},
		{"genmem", cmd_genmem},	  {"skip", cmd_skip},
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	ebpf_set_log(log_line);
	if (argc < 2)
		t_error("usage: t_sockbal_drive COMMAND ARGS (see the head of the source)");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 2, argv + 2);
	t_error("unknown command '%s'", argv[1]);
}
