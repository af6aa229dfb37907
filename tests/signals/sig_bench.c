// SPDX-License-Identifier: MIT
/*
 * tests/signals/sig_bench.c - the controller's feed (control/signals,
 * feed.c) against synthetic agents (bench/signals.sh; figures, not a test):
 * NODES listening sockets on 127.0.0.1, each an agent whose page holds PODS
 * pods (a new sample every second, its age the time since), served by one
 * epoll thread with keep-alive; the feed reads every agent once a second for
 * SECONDS. Prints pages and pods taken in per second, failures, and the CPU
 * of the feed (the process's CPU time less the agents' thread's) in cores.
 *
 *   sig_bench [NODES [PODS [SECONDS]]]     (default 1000 30 10)
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "control/signals/signals.h"

struct conn {
	int fd;
	int agent; /* -1: a listening socket of agent -(agent + 2)... see below */
	bool listening;
	char in[4096];
	size_t len;
};

static int nodes = 1000, npods = 30, seconds = 10;
static char **pods_json;
static size_t *pods_len;
static atomic_bool stop_srv;
static atomic_llong srv_cpu_ns;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long cpu_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void reply(struct conn *c)
{
	char head[256], *doc = NULL;
	size_t dl = 0;
	int64_t t = now_ms();
	struct sig_page pg = {.node = "node",
			      .seq = (uint64_t)(t / 1000),
			      .interval_ms = 1000,
			      .age_ms = t % 1000};
	FILE *f = open_memstream(&doc, &dl);
	int hl;

	if (!f)
		return;
	sig_page_write(f, &pg, pods_json[c->agent], pods_len[c->agent]);
	fclose(f);
	hl = snprintf(
		head, sizeof(head),
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		dl);
	if (write(c->fd, head, (size_t)hl) < 0 || write(c->fd, doc, dl) < 0)
		c->len = 0;
	free(doc);
}

static void *server(void *arg)
{
	struct conn **ls = arg;
	struct epoll_event ev, evs[256];
	int ep = epoll_create1(0);

	for (int i = 0; i < nodes; i++) {
		ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = ls[i]};
		epoll_ctl(ep, EPOLL_CTL_ADD, ls[i]->fd, &ev);
	}
	while (!atomic_load(&stop_srv)) {
		int n = epoll_wait(ep, evs, 256, 100);

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c->listening) {
				int fd = accept(c->fd, NULL, NULL);
				struct conn *nc;

				if (fd < 0)
					continue;
				nc = calloc(1, sizeof(*nc));
				nc->fd = fd;
				nc->agent = c->agent;
				ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = nc};
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				continue;
			}
			ssize_t r = read(c->fd, c->in + c->len, sizeof(c->in) - c->len - 1);

			if (r <= 0) {
				close(c->fd);
				free(c);
				continue;
			}
			c->len += (size_t)r;
			c->in[c->len] = '\0';
			while (strstr(c->in, "\r\n\r\n")) {
				char *end = strstr(c->in, "\r\n\r\n") + 4;

				reply(c);
				c->len -= (size_t)(end - c->in);
				memmove(c->in, end, c->len + 1);
			}
			if (c->len == sizeof(c->in) - 1)
				c->len = 0;
		}
		atomic_store(&srv_cpu_ns, cpu_ns(CLOCK_THREAD_CPUTIME_ID));
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct rlimit rl = {.rlim_cur = 65536, .rlim_max = 65536};
	struct sig_feed_opts fo = {.sz = sizeof(fo), .token_file = "/dev/null"};
	struct sig_feed_stats s0, s1;
	struct conn **ls;
	const char **urls;
	struct sig_feed *feed;
	pthread_t th;
	long long p0, p1, v0, v1;
	int ret;

	if (argc > 1)
		nodes = atoi(argv[1]);
	if (argc > 2)
		npods = atoi(argv[2]);
	if (argc > 3)
		seconds = atoi(argv[3]);
	if (nodes < 1 || npods < 0 || seconds < 2) {
		fprintf(stderr, "usage: sig_bench [NODES [PODS [SECONDS]]]\n");
		return 2;
	}
	setrlimit(RLIMIT_NOFILE, &rl);
	pods_json = calloc((size_t)nodes, sizeof(*pods_json));
	pods_len = calloc((size_t)nodes, sizeof(*pods_len));
	ls = calloc((size_t)nodes, sizeof(*ls));
	urls = calloc((size_t)nodes, sizeof(*urls));
	for (int i = 0; i < nodes; i++) {
		struct sig_pod *sp = calloc((size_t)npods + 1, sizeof(*sp));
		char(*names)[64] = calloc((size_t)npods + 1, 64);
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t sl = sizeof(sa);
		char url[96];
		FILE *f;

		for (int j = 0; j < npods; j++) {
			snprintf(names[j], 64, "n%d-p%d-0f8e9a7c-1b2d-4c3e-9f00-%012d", i, j, j);
			sp[j] = (struct sig_pod){.ns = "bench", .name = names[j], .uid = names[j]};
			for (int k = 0; k < SIG_KINDS; k++) {
				sp[j].has[k] = k != SIG_MEMORY;
				sp[j].v[k] = 1000 + 37 * k + j;
			}
		}
		f = open_memstream(&pods_json[i], &pods_len[i]);
		sig_page_pods(f, sp, (size_t)npods);
		fclose(f);
		free(sp);
		free(names);
		ls[i] = calloc(1, sizeof(**ls));
		ls[i]->listening = true;
		ls[i]->agent = i;
		ls[i]->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (ls[i]->fd < 0 || bind(ls[i]->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    listen(ls[i]->fd, 16) || getsockname(ls[i]->fd, (struct sockaddr *)&sa, &sl)) {
			perror("sig_bench: an agent's socket");
			return 99;
		}
		snprintf(url, sizeof(url), "http://127.0.0.1:%u" SIG_PATH, ntohs(sa.sin_port));
		urls[i] = strdup(url);
	}
	pthread_create(&th, NULL, server, ls);
	fo.urls = urls;
	fo.nurls = (size_t)nodes;
	ret = sig_feed_new(NULL, &fo, &feed);
	if (ret) {
		fprintf(stderr, "sig_bench: sig_feed_new: %s\n", strerror(-ret));
		return 99;
	}
	sleep(2); /* connections made, first pages in */
	sig_feed_stats(feed, &s0);
	p0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	v0 = atomic_load(&srv_cpu_ns);
	sleep((unsigned int)seconds);
	sig_feed_stats(feed, &s1);
	p1 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	v1 = atomic_load(&srv_cpu_ns);
	{
		const struct sig_point *pts;
		size_t n = 0;
		char uid[64];
		int got;

		snprintf(uid, sizeof(uid), "n%d-p%d-0f8e9a7c-1b2d-4c3e-9f00-%012d", nodes - 1,
			 npods - 1, npods - 1);
		got = npods ? sig_feed_points(feed, SIG_CPU, uid, &pts, &n) : 0;
		printf("sig_bench: %d agents x %d pods, %d s: %.0f pages/s, %.0f pods/s, %llu failures, "
		       "%.1f MB/s; the feed's CPU %.3f cores (the agents' thread %.3f); last pod: %d, %zu points\n",
		       nodes, npods, seconds, (double)(s1.pages - s0.pages) / seconds,
		       (double)(s1.pods - s0.pods) / seconds,
		       (unsigned long long)(s1.failures - s0.failures),
		       (double)(s1.bytes - s0.bytes) / seconds / 1e6,
		       (double)((p1 - p0) - (v1 - v0)) / 1e9 / seconds,
		       (double)(v1 - v0) / 1e9 / seconds, got, n);
	}
	fflush(stdout);
	sig_feed_free(feed);
	atomic_store(&stop_srv, true);
	pthread_join(th, NULL);
	for (int i = 0; i < nodes; i++) {
		close(ls[i]->fd);
		free(ls[i]);
		free(pods_json[i]);
		free((char *)urls[i]);
	}
	free(ls);
	free(urls);
	free(pods_json);
	free(pods_len);
	return 0;
}
