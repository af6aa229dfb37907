// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/*
 * bpf/sockbal.bpf.c - socket load balancing: a connect() (or an unconnected
 * UDP sendmsg()) to a Service address and port is rewritten, before any
 * packet exists, to one backend drawn from the Service's weighted Maglev
 * table; getpeername() and recvmsg() show the Service address again.
 *
 * One lookup of sb_services (key: address, port, protocol) finds the
 * Service's current generation, an array map holding its header, backends
 * and table (sockbal.h). User space replaces a generation with one update of
 * sb_services; a program that already holds the old one finishes with it
 * (RCU), and the update syscall returns only after such programs are done.
 * Anything that is not a Service port is left untouched.
 *
 * The key into the table is bpf_get_prandom_u32() per connection, or, with
 * session affinity ClientIP, a hash of the client's network namespace
 * cookie (one per pod): the source address is not chosen yet at connect().
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

#include "sockbal.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define ECONNREFUSED 111

/* a generation: the template of the inner maps (its length is each map's own) */
struct sb_gen {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(union sockbal_row));
};

/* max_entries are set by bpf/sockbal.c from ebpf_lb_opts before load */
struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct sockbal_vip);
	__array(values, struct sb_gen);
} sb_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sockbal_sk);
} sb_sk SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sockbal_rev_key);
	__type(value, struct sockbal_rev);
} sb_rev SEC(".maps");

/* max_entries set by bpf/sockbal.c from ebpf_lb_opts.max_skip */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} sb_skip SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sockbal_conf);
} sb_conf SEC(".maps");

/* the chosen backend, copied out of the generation */
struct pick {
	__u32 addr[4];
	__u16 port;
};

static __always_inline __u32 mix32(__u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return (__u32)x;
}

/* the calling task's cgroup, or one of its ancestors, is in sb_skip */
static __always_inline bool skipped(void)
{
	struct sockbal_conf *conf;
	__u32 zero = 0;
	__u64 id;

	conf = bpf_map_lookup_elem(&sb_conf, &zero);
	if (!conf || !conf->skip_any)
		return false; /* nothing skipped: no walk */
	id = bpf_get_current_cgroup_id();
	if (bpf_map_lookup_elem(&sb_skip, &id))
		return true;
#pragma unroll
	for (int l = 1; l <= SOCKBAL_SKIP_LEVELS; l++) {
		id = bpf_get_current_ancestor_cgroup_id(l);
		if (!id)
			break;
		if (bpf_map_lookup_elem(&sb_skip, &id))
			return true;
	}
	return false;
}

/*
 * 1: @k is a Service port and @out its backend; 0: not a Service port;
 * -ECONNREFUSED: a Service without backends.
 */
static __always_inline int pick(struct bpf_sock_addr *ctx, const struct sockbal_vip *k,
				struct pick *out)
{
	union sockbal_row *row;
	__u32 m, n, base, flags, s, i, key;
	__u16 idx;
	void *gen;

	gen = bpf_map_lookup_elem(&sb_services, k);
	if (!gen || skipped())
		return 0;
	key = 0;
	row = bpf_map_lookup_elem(gen, &key);
	if (!row || row->hdr.magic != SOCKBAL_MAGIC)
		return 0;
	m = row->hdr.m;
	n = row->hdr.n;
	base = row->hdr.slot_row;
	flags = row->hdr.flags;
	if (!m)
		return -ECONNREFUSED;
	if (flags & SOCKBAL_F_AFFINITY)
		s = mix32(bpf_get_netns_cookie(ctx)) % m;
	else
		s = bpf_get_prandom_u32() % m;
	key = base + s / SOCKBAL_ROW_SLOTS;
	row = bpf_map_lookup_elem(gen, &key);
	if (!row)
		return -ECONNREFUSED;
	idx = row->slot[s & (SOCKBAL_ROW_SLOTS - 1)];
	if (idx >= n)
		return -ECONNREFUSED;
	key = 1 + idx / SOCKBAL_ROW_BACKENDS;
	row = bpf_map_lookup_elem(gen, &key);
	if (!row)
		return -ECONNREFUSED;
	i = idx & (SOCKBAL_ROW_BACKENDS - 1);
	out->addr[0] = row->be[i].addr[0];
	out->addr[1] = row->be[i].addr[1];
	out->addr[2] = row->be[i].addr[2];
	out->addr[3] = row->be[i].addr[3];
	out->port = row->be[i].port;
	return 1;
}

/* bpf_set_retval() exists since 5.18; before, a refused connect() says EPERM */
static __always_inline int refuse(void)
{
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_set_retval))
		bpf_set_retval(-ECONNREFUSED);
	return 0;
}

static __always_inline void vip4(struct bpf_sock_addr *ctx, struct sockbal_vip *k)
{
	k->addr[0] = 0;
	k->addr[1] = 0;
	k->addr[2] = bpf_htonl(0xffff);
	k->addr[3] = ctx->user_ip4;
	k->port = (__u16)ctx->user_port;
	k->proto = (__u8)ctx->protocol;
	k->pad = 0;
}

static __always_inline void vip6(struct bpf_sock_addr *ctx, struct sockbal_vip *k)
{
	k->addr[0] = ctx->user_ip6[0];
	k->addr[1] = ctx->user_ip6[1];
	k->addr[2] = ctx->user_ip6[2];
	k->addr[3] = ctx->user_ip6[3];
	k->port = (__u16)ctx->user_port;
	k->proto = (__u8)ctx->protocol;
	k->pad = 0;
}

/* remember a connected socket's rewrite for getpeername() and recvmsg() */
static __always_inline void sk_remember(struct bpf_sock_addr *ctx, const struct sockbal_vip *k,
					const struct pick *p)
{
	struct bpf_sock *sk = ctx->sk;
	struct sockbal_sk *st;

	if (!sk)
		return;
	st = bpf_sk_storage_get(&sb_sk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		return;
	__builtin_memcpy(st->vip, k->addr, sizeof(st->vip));
	__builtin_memcpy(st->be, p->addr, sizeof(st->be));
	st->vip_port = k->port;
	st->be_port = p->port;
}

SEC("cgroup/connect4")
int sockbal_connect4(struct bpf_sock_addr *ctx)
{
	struct sockbal_vip k;
	struct pick p;
	int ret;

	vip4(ctx, &k);
	ret = pick(ctx, &k, &p);
	if (ret < 0)
		return refuse();
	if (!ret)
		return 1;
	ctx->user_ip4 = p.addr[3]; /* a Service's backends share its family */
	ctx->user_port = p.port;
	sk_remember(ctx, &k, &p);
	return 1;
}

SEC("cgroup/connect6")
int sockbal_connect6(struct bpf_sock_addr *ctx)
{
	struct sockbal_vip k;
	struct pick p;
	int ret;

	vip6(ctx, &k);
	ret = pick(ctx, &k, &p);
	if (ret < 0)
		return refuse();
	if (!ret)
		return 1;
	/* an IPv4 Service reached as ::ffff:a.b.c.d gets an IPv4-mapped backend */
	ctx->user_ip6[0] = p.addr[0];
	ctx->user_ip6[1] = p.addr[1];
	ctx->user_ip6[2] = p.addr[2];
	ctx->user_ip6[3] = p.addr[3];
	ctx->user_port = p.port;
	sk_remember(ctx, &k, &p);
	return 1;
}

/* the peer @a:@port of a balanced socket, as the Service: 1 if rewritten */
static __always_inline int peer_to_vip(struct bpf_sock_addr *ctx, __u32 a[4], __u16 port, int v6)
{
	struct bpf_sock *sk = ctx->sk;
	struct sockbal_rev_key rk = {};
	struct sockbal_rev *rev;
	struct sockbal_sk *st;

	if (!sk)
		return 0;
	st = bpf_sk_storage_get(&sb_sk, sk, 0, 0);
	if (st && st->be_port == port && st->be[0] == a[0] && st->be[1] == a[1] &&
	    st->be[2] == a[2] && st->be[3] == a[3]) {
		if (v6) {
			ctx->user_ip6[0] = st->vip[0];
			ctx->user_ip6[1] = st->vip[1];
			ctx->user_ip6[2] = st->vip[2];
			ctx->user_ip6[3] = st->vip[3];
		} else {
			ctx->user_ip4 = st->vip[3];
		}
		ctx->user_port = st->vip_port;
		return 1;
	}
	rk.cookie = bpf_get_socket_cookie(ctx);
	__builtin_memcpy(rk.addr, a, sizeof(rk.addr));
	rk.port = port;
	rev = bpf_map_lookup_elem(&sb_rev, &rk);
	if (!rev)
		return 0;
	if (v6) {
		ctx->user_ip6[0] = rev->addr[0];
		ctx->user_ip6[1] = rev->addr[1];
		ctx->user_ip6[2] = rev->addr[2];
		ctx->user_ip6[3] = rev->addr[3];
	} else {
		ctx->user_ip4 = rev->addr[3];
	}
	ctx->user_port = rev->port;
	return 1;
}

SEC("cgroup/getpeername4")
int sockbal_getpeername4(struct bpf_sock_addr *ctx)
{
	struct sockbal_vip k;

	vip4(ctx, &k);
	peer_to_vip(ctx, k.addr, k.port, 0);
	return 1;
}

SEC("cgroup/getpeername6")
int sockbal_getpeername6(struct bpf_sock_addr *ctx)
{
	struct sockbal_vip k;

	vip6(ctx, &k);
	peer_to_vip(ctx, k.addr, k.port, 1);
	return 1;
}

/* an unconnected datagram to a Service: remember (socket, backend) -> Service for the reply */
static __always_inline void rev_remember(struct bpf_sock_addr *ctx, const struct sockbal_vip *k,
					 const struct pick *p)
{
	struct sockbal_rev_key rk = {};
	struct sockbal_rev rv = {};

	rk.cookie = bpf_get_socket_cookie(ctx);
	__builtin_memcpy(rk.addr, p->addr, sizeof(rk.addr));
	rk.port = p->port;
	__builtin_memcpy(rv.addr, k->addr, sizeof(rv.addr));
	rv.port = k->port;
	bpf_map_update_elem(&sb_rev, &rk, &rv, BPF_ANY);
}

SEC("cgroup/sendmsg4")
int sockbal_sendmsg4(struct bpf_sock_addr *ctx)
{
	struct sockbal_vip k;
	struct pick p;
	int ret;

	vip4(ctx, &k);
	ret = pick(ctx, &k, &p);
	if (ret < 0)
		return refuse();
	if (!ret)
		return 1;
	ctx->user_ip4 = p.addr[3];
	ctx->user_port = p.port;
	rev_remember(ctx, &k, &p);
	return 1;
}

SEC("cgroup/sendmsg6")
int sockbal_sendmsg6(struct bpf_sock_addr *ctx)
{
	struct sockbal_vip k;
	struct pick p;
	int ret;

	vip6(ctx, &k);
	ret = pick(ctx, &k, &p);
	if (ret < 0)
		return refuse();
	if (!ret)
		return 1;
	ctx->user_ip6[0] = p.addr[0];
	ctx->user_ip6[1] = p.addr[1];
	ctx->user_ip6[2] = p.addr[2];
	ctx->user_ip6[3] = p.addr[3];
	ctx->user_port = p.port;
	rev_remember(ctx, &k, &p);
	return 1;
}

SEC("cgroup/recvmsg4")
int sockbal_recvmsg4(struct bpf_sock_addr *ctx)
{
	struct sockbal_vip k;

	vip4(ctx, &k);
	peer_to_vip(ctx, k.addr, k.port, 0);
	return 1;
}

SEC("cgroup/recvmsg6")
int sockbal_recvmsg6(struct bpf_sock_addr *ctx)
{
	struct sockbal_vip k;

	vip6(ctx, &k);
	peer_to_vip(ctx, k.addr, k.port, 1);
	return 1;
}
