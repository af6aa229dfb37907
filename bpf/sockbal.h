/* SPDX-License-Identifier: MIT */
/*
 * bpf/sockbal.h - types shared by sockbal.bpf.c (the socket load balancer)
 * and bpf/sockbal.c, its user-space side.
 *
 * These are ABI: the maps are pinned and outlive the agent that filled them,
 * so a restarted agent (and its new programs) must read exactly the layout
 * the old one wrote. Fixed-width fields, explicit padding, sizes pinned by
 * static_assert in both compilation worlds. Changing a layout means changing
 * EBPF_LB_PIN_LAYOUT (bpf/sockbal.c refuses pins of another layout).
 *
 * Addresses are IPv6-sized everywhere; an IPv4 address is stored as its
 * IPv4-mapped IPv6 form ::ffff:a.b.c.d. So one service map serves connect4,
 * connect6 and IPv4-mapped connects of dual-stack sockets alike. Addresses
 * and ports are in network byte order, as struct bpf_sock_addr has them.
 *
 * Maps (names as pinned):
 *   sb_services  hash of maps, key struct sockbal_vip -> one generation
 *                (an array of union sockbal_row, see below). A whole
 *                generation is swapped by one update of the outer map: the
 *                atomic switch of a service from one backend set to another.
 *   sb_sk        socket storage, struct sockbal_sk: what connect() rewrote,
 *                for getpeername() and recvmsg() of connected sockets.
 *   sb_rev       LRU hash, struct sockbal_rev_key -> struct sockbal_rev:
 *                what sendmsg() rewrote on unconnected UDP sockets, so that
 *                recvmsg() reports the reply as coming from the Service.
 *   sb_skip      hash, __u64 cgroup id -> __u8 (1): cgroups whose sockets
 *                are never rewritten, with everything below them (pods with
 *                a mesh sidecar, whose proxy must see the Service address).
 *                Checked only for a connect() to a Service port: the
 *                current cgroup and its ancestors at levels 1 ..
 *                SOCKBAL_SKIP_LEVELS (16).
 *   sb_conf      array of one struct sockbal_conf: skip_any is 0 while
 *                sb_skip is empty, so that a Service connect then costs no
 *                walk up the cgroup tree (30-45 ns a level).
 */
#ifndef FERRY_BPF_SOCKBAL_H
#define FERRY_BPF_SOCKBAL_H

#ifndef __VMLINUX_H__
#include <assert.h>
#include <linux/types.h>
#endif

/* A generation's rows: 32 slot entries or 2 backends or the header per row. */
#define SOCKBAL_ROW_SLOTS    32
#define SOCKBAL_ROW_BACKENDS 2
/* Slot entries are 16-bit backend indices: at most 65535 backends. */
#define SOCKBAL_MAX_BACKENDS 65535
/* The largest table (the top of the prime ladder, bpf/maglev.c). */
#define SOCKBAL_MAX_SLOTS 131071

/* Ancestor levels looked up in sb_skip: a pod sits 2 or 3 below kubepods, which may itself be deep (a node in a container, the box of tests/kbox). */
#define SOCKBAL_SKIP_LEVELS 16

#define SOCKBAL_MAGIC	    0x53424c31 /* "SBL1" */

/* sockbal_hdr.flags */
#define SOCKBAL_F_AFFINITY 1u /* sessionAffinity ClientIP: key on the client */

/* A Service port: the key of sb_services. */
struct sockbal_vip {
	__u32 addr[4]; /* IPv6, or ::ffff:a.b.c.d; network order */
	__u16 port;    /* network order */
	__u8 proto;    /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;      /* 0 */
};

/* Row 0 of a generation. */
struct sockbal_hdr {
	__u32 magic;	/* SOCKBAL_MAGIC */
	__u32 m;	/* table slots (a prime); 0: no ready backend -> ECONNREFUSED */
	__u32 n;	/* backends (rows 1 .. 1 + ceil(n / 2) - 1) */
	__u32 slot_row; /* the row of slot 0: 1 + ceil(n / 2) */
	__u32 flags;	/* SOCKBAL_F_* */
	__u32 pad;
	__u64 gen; /* generation number, for humans and tests */
	__u8 pad2[32];
};

/* Backend i is be[i % 2] of row 1 + i / 2. */
struct sockbal_backend {
	__u32 addr[4]; /* as sockbal_vip.addr; the family of the Service's address */
	__u16 port;    /* network order */
	__u16 pad;
	__u32 weight; /* as given (0: in the list, but owns no slot) */
	__u32 pad2[2];
};

/*
 * A generation is a BPF_MAP_TYPE_ARRAY (BPF_F_INNER_MAP, so its length may
 * differ from the template's) of these rows: the header, the backends, then
 * the Maglev table, slot s being slot[s % 32] of row slot_row + s / 32. Each
 * slot holds the index of a backend. 64-byte rows keep a slot at 2 bytes
 * (an array map rounds every element up to 8 bytes).
 */
union sockbal_row {
	struct sockbal_hdr hdr;
	struct sockbal_backend be[SOCKBAL_ROW_BACKENDS];
	__u16 slot[SOCKBAL_ROW_SLOTS];
};

/* sb_conf[0] */
struct sockbal_conf {
	__u32 skip_any; /* 1: sb_skip may hold a cgroup (user space sets it before the first) */
	__u32 pad;
};

/* sb_sk: the last connect() this socket made to a Service. */
struct sockbal_sk {
	__u32 vip[4];	/* the Service address the application asked for */
	__u32 be[4];	/* the backend it was sent to */
	__u16 vip_port; /* network order */
	__u16 be_port;	/* network order */
	__u32 pad;
};

/* sb_rev key: a socket and the backend it sent a datagram to. */
struct sockbal_rev_key {
	__u64 cookie;  /* bpf_get_socket_cookie() */
	__u32 addr[4]; /* the backend */
	__u16 port;    /* network order */
	__u16 pad;
	__u32 pad2;
};

/* sb_rev value: the Service that datagram was addressed to. */
struct sockbal_rev {
	__u32 addr[4];
	__u16 port; /* network order */
	__u16 pad;
};

#ifdef __VMLINUX_H__
#define SOCKBAL_ASSERT _Static_assert
#else
#define SOCKBAL_ASSERT static_assert
#endif
SOCKBAL_ASSERT(sizeof(struct sockbal_vip) == 20, "sockbal_vip layout");
SOCKBAL_ASSERT(sizeof(struct sockbal_hdr) == 64, "sockbal_hdr layout");
SOCKBAL_ASSERT(sizeof(struct sockbal_backend) == 32, "sockbal_backend layout");
SOCKBAL_ASSERT(sizeof(union sockbal_row) == 64, "sockbal_row layout");
SOCKBAL_ASSERT(sizeof(struct sockbal_sk) == 40, "sockbal_sk layout");
SOCKBAL_ASSERT(sizeof(struct sockbal_rev_key) == 32, "sockbal_rev_key layout");
SOCKBAL_ASSERT(sizeof(struct sockbal_rev) == 20, "sockbal_rev layout");
SOCKBAL_ASSERT(sizeof(struct sockbal_conf) == 8, "sockbal_conf layout");
#undef SOCKBAL_ASSERT

#endif /* FERRY_BPF_SOCKBAL_H */
