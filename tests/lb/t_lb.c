// SPDX-License-Identifier: MIT
/*
 * tests/lb/t_lb.c - control/lb's plan from tables: a Service and its
 * EndpointSlices (JSON, with ' for ") on a node, and the entries expected,
 * written as one line:
 *
 *   "10.96.0.10:80/tcp: 10.1.0.1:8080 10.1.0.2:8080; [fd00::a]:53/udp client: ..."
 *
 * (backends sorted by address; "client" marks session affinity), or
 * "skip: WHY", or "EINVAL". The rules are kube-proxy's CategorizeEndpoints
 * (pkg/proxy/topology.go); each row says which one it holds. Every row is
 * run a second time with the slices in reverse order: the plan is the same.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/lb/lb.h"
#include "k8s/k8s.h"
#include "t_helpers.h"

#define MAXS 4

struct row {
	const char *what;
	const char *svc;
	const char *slices[MAXS];
	const char *node, *zone;
	const char *want;
};

/* a Service: opted in, ClusterIP 10.96.0.10, port http 80 */
#define SVC(extra_spec)                                                                                     \
	"{'metadata':{'name':'web','namespace':'app','annotations':{'ferry.io/socket-lb':'true'}},"         \
	"'spec':{'clusterIP':'10.96.0.10','ports':[{'name':'http','port':80,'targetPort':8080}]" extra_spec \
	"}}"
/* an IPv4 slice of web with port http 8080 and these endpoints */
#define SLICE(name, eps)                                                                           \
	"{'metadata':{'name':'" name "','namespace':'app','labels':{'kubernetes.io/service-name':" \
	"'web'}},'addressType':'IPv4','ports':[{'name':'http','port':8080,'protocol':'TCP'}],"     \
	"'endpoints':[" eps "]}"
#define EP(ip, node)	    "{'addresses':['" ip "'],'nodeName':'" node "'}"
#define EPC(ip, node, cond) "{'addresses':['" ip "'],'nodeName':'" node "','conditions':" cond "}"
#define EPZ(ip, zones)	    "{'addresses':['" ip "'],'nodeName':'n2','hints':{'forZones':[" zones "]}}"
#define NOT_READY	    "{'ready':false,'serving':false,'terminating':false}"
#define TERMINATING	    "{'ready':false,'serving':true,'terminating':true}"
#define GONE		    "{'ready':false,'serving':false,'terminating':true}"
#define EPS3		    EP("10.1.0.1", "n1") "," EP("10.1.0.2", "n2") "," EP("10.1.0.3", "n3")
#define WANT3		    "10.96.0.10:80/tcp: 10.1.0.1:8080 10.1.0.2:8080 10.1.0.3:8080"

static const struct row rows[] = {
	{"three ready endpoints, port http by name -> 8080",
	 SVC(""),
	 {SLICE("w1", EPS3)},
	 "n1",
	 NULL,
	 WANT3},
	{"split over two slices",
	 SVC(""),
	 {SLICE("w1", EP("10.1.0.1", "n1")),
	  SLICE("w2", EP("10.1.0.2", "n2") "," EP("10.1.0.3", "n3"))},
	 "n1",
	 NULL,
	 WANT3},
	{"no endpoints: an entry without backends (ECONNREFUSED)",
	 SVC(""),
	 {NULL},
	 "n1",
	 NULL,
	 "10.96.0.10:80/tcp:"},
	{"not opted in",
	 "{'metadata':{'name':'web','namespace':'app'},'spec':{'clusterIP':'10.96.0.10','ports':[{'port':80}]}}",
	 {SLICE("w1", EPS3)},
	 "n1",
	 NULL,
	 "skip: not opted in"},
	{"opt-in is exactly \"true\"",
	 "{'metadata':{'name':'web','namespace':'app','annotations':{'ferry.io/socket-lb':'True'}},"
	 "'spec':{'clusterIP':'10.96.0.10','ports':[{'port':80}]}}",
	 {NULL},
	 "n1",
	 NULL,
	 "skip: not opted in"},
	{"ExternalName",
	 "{'metadata':{'name':'web','namespace':'app','annotations':{'ferry.io/socket-lb':'true'}},"
	 "'spec':{'type':'ExternalName','externalName':'example.com'}}",
	 {NULL},
	 "n1",
	 NULL,
	 "skip: ExternalName"},
	{"headless",
	 "{'metadata':{'name':'web','namespace':'app','annotations':{'ferry.io/socket-lb':'true'}},"
	 "'spec':{'clusterIP':'None','ports':[{'name':'http','port':80}]}}",
	 {SLICE("w1", EPS3)},
	 "n1",
	 NULL,
	 "skip: headless"},
	{"no ClusterIP yet",
	 "{'metadata':{'name':'web','namespace':'app','annotations':{'ferry.io/socket-lb':'true'}},"
	 "'spec':{'ports':[{'name':'http','port':80}]}}",
	 {NULL},
	 "n1",
	 NULL,
	 "skip: no ClusterIP"},
	{"not ready endpoints are left out",
	 SVC(""),
	 {SLICE("w1", EP("10.1.0.1", "n1") "," EPC("10.1.0.2", "n2", NOT_READY) "," EPC(
			      "10.1.0.3", "n3", TERMINATING))},
	 "n1",
	 NULL,
	 "10.96.0.10:80/tcp: 10.1.0.1:8080"},
	{"none ready: serving and terminating ones (the terminating fallback)",
	 SVC(""),
	 {SLICE("w1",
		EPC("10.1.0.1", "n1", NOT_READY) "," EPC("10.1.0.2", "n2", TERMINATING) "," EPC(
			"10.1.0.3", "n3", TERMINATING) "," EPC("10.1.0.4", "n3", GONE))},
	 "n1",
	 NULL,
	 "10.96.0.10:80/tcp: 10.1.0.2:8080 10.1.0.3:8080"},
	{"none ready, none serving: no backends",
	 SVC(""),
	 {SLICE("w1", EPC("10.1.0.1", "n1", NOT_READY) "," EPC("10.1.0.4", "n3", GONE))},
	 "n1",
	 NULL,
	 "10.96.0.10:80/tcp:"},
	{"nil conditions count as ready",
	 SVC(""),
	 {SLICE("w1", "{'addresses':['10.1.0.9'],'conditions':{}}")},
	 "n1",
	 NULL,
	 "10.96.0.10:80/tcp: 10.1.0.9:8080"},
	{"internalTrafficPolicy Local: this node's only",
	 SVC(",'internalTrafficPolicy':'Local'"),
	 {SLICE("w1", EPS3 "," EP("10.1.0.4", "n1"))},
	 "n1",
	 NULL,
	 "10.96.0.10:80/tcp: 10.1.0.1:8080 10.1.0.4:8080"},
	{"Local: none here -> no backends, though others are ready",
	 SVC(",'internalTrafficPolicy':'Local'"),
	 {SLICE("w1", EPS3)},
	 "n9",
	 NULL,
	 "10.96.0.10:80/tcp:"},
	{"Local: no local ready one -> local serving and terminating",
	 SVC(",'internalTrafficPolicy':'Local'"),
	 {SLICE("w1", EPC("10.1.0.1", "n1", TERMINATING) "," EP("10.1.0.2", "n2"))},
	 "n1",
	 NULL,
	 "10.96.0.10:80/tcp: 10.1.0.1:8080"},
	{"internalTrafficPolicy Cluster is the default",
	 SVC(",'internalTrafficPolicy':'Cluster'"),
	 {SLICE("w1", EPS3)},
	 "n9",
	 NULL,
	 WANT3},
	{"hints: every endpoint hinted, two for zone a -> those two",
	 SVC(""),
	 {SLICE("w1", EPZ("10.1.0.1", "{'name':'a'}") "," EPZ("10.1.0.2", "{'name':'b'}") "," EPZ(
			      "10.1.0.3", "{'name':'a'},{'name':'c'}"))},
	 "n1",
	 "a",
	 "10.96.0.10:80/tcp: 10.1.0.1:8080 10.1.0.3:8080"},
	{"hints: one ready endpoint without hints -> all",
	 SVC(""),
	 {SLICE("w1", EPZ("10.1.0.1", "{'name':'a'}") "," EPZ("10.1.0.2", "{'name':'b'}") "," EP(
			      "10.1.0.3", "n3"))},
	 "n1",
	 "a",
	 WANT3},
	{"hints: an unhinted endpoint that is not ready does not count",
	 SVC(""),
	 {SLICE("w1", EPZ("10.1.0.1", "{'name':'a'}") "," EPZ("10.1.0.2", "{'name':'b'}") "," EPC(
			      "10.1.0.3", "n3", NOT_READY))},
	 "n1",
	 "a",
	 "10.96.0.10:80/tcp: 10.1.0.1:8080"},
	{"hints: none for this zone -> all",
	 SVC(""),
	 {SLICE("w1", EPZ("10.1.0.1", "{'name':'b'}") "," EPZ("10.1.0.2", "{'name':'b'}") "," EPZ(
			      "10.1.0.3", "{'name':'c'}"))},
	 "n1",
	 "a",
	 WANT3},
	{"hints: a node without a zone uses none",
	 SVC(""),
	 {SLICE("w1", EPZ("10.1.0.1", "{'name':'a'}") "," EPZ("10.1.0.2", "{'name':'b'}") "," EPZ(
			      "10.1.0.3", "{'name':'c'}"))},
	 "n1",
	 NULL,
	 WANT3},
	{"hints: ignored under internalTrafficPolicy Local",
	 SVC(",'internalTrafficPolicy':'Local'"),
	 {SLICE("w1",
		"{'addresses':['10.1.0.1'],'nodeName':'n1','hints':{'forZones':[{'name':'b'}]}},"
		"{'addresses':['10.1.0.2'],'nodeName':'n2','hints':{'forZones':[{'name':'a'}]}}")},
	 "n1",
	 "a",
	 "10.96.0.10:80/tcp: 10.1.0.1:8080"},
	{"sessionAffinity ClientIP",
	 SVC(",'sessionAffinity':'ClientIP'"),
	 {SLICE("w1", EPS3)},
	 "n1",
	 NULL,
	 "10.96.0.10:80/tcp client: 10.1.0.1:8080 10.1.0.2:8080 10.1.0.3:8080"},
	{"sessionAffinity None",
	 SVC(",'sessionAffinity':'None'"),
	 {SLICE("w1", EPS3)},
	 "n1",
	 NULL,
	 WANT3},
	{"the same address in two slices counts once",
	 SVC(""),
	 {SLICE("w1", EP("10.1.0.1", "n1") "," EP("10.1.0.2", "n1")),
	  SLICE("w2", EP("10.1.0.2", "n2") "," EP("10.1.0.3", "n3"))},
	 "n1",
	 NULL,
	 WANT3},
	{"slices of another Service or namespace, and FQDN slices, are ignored",
	 SVC(""),
	 {SLICE("w1", EP("10.1.0.1", "n1")),
	  "{'metadata':{'name':'o1','namespace':'app','labels':{'kubernetes.io/service-name':'other'}},"
	  "'addressType':'IPv4','ports':[{'name':'http','port':8080}],'endpoints':[{'addresses':['10.1.0.7']}]}",
	  "{'metadata':{'name':'o2','namespace':'elsewhere','labels':{'kubernetes.io/service-name':'web'}},"
	  "'addressType':'IPv4','ports':[{'name':'http','port':8080}],'endpoints':[{'addresses':['10.1.0.8']}]}",
	  "{'metadata':{'name':'o3','namespace':'app','labels':{'kubernetes.io/service-name':'web'}},"
	  "'addressType':'FQDN','ports':[{'name':'http','port':8080}],'endpoints':[{'addresses':['x.example']}]}"},
	 "n1",
	 NULL,
	 "10.96.0.10:80/tcp: 10.1.0.1:8080"},
	{"a slice without the port's name serves nothing for it",
	 SVC(""),
	 {"{'metadata':{'name':'w1','namespace':'app','labels':{'kubernetes.io/service-name':'web'}},"
	  "'addressType':'IPv4','ports':[{'name':'metrics','port':9090}],'endpoints':[{'addresses':['10.1.0.1']}]}"},
	 "n1",
	 NULL,
	 "10.96.0.10:80/tcp:"},
	{"a slice port of the other protocol serves nothing",
	 SVC(""),
	 {"{'metadata':{'name':'w1','namespace':'app','labels':{'kubernetes.io/service-name':'web'}},"
	  "'addressType':'IPv4','ports':[{'name':'http','port':8080,'protocol':'UDP'}],'endpoints':[{'addresses':['10.1.0.1']}]}"},
	 "n1",
	 NULL,
	 "10.96.0.10:80/tcp:"},
	{"a nil slice port number serves nothing",
	 SVC(""),
	 {"{'metadata':{'name':'w1','namespace':'app','labels':{'kubernetes.io/service-name':'web'}},"
	  "'addressType':'IPv4','ports':[{'name':'http'}],'endpoints':[{'addresses':['10.1.0.1']}]}"},
	 "n1",
	 NULL,
	 "10.96.0.10:80/tcp:"},
	{"one unnamed port",
	 "{'metadata':{'name':'web','namespace':'app','annotations':{'ferry.io/socket-lb':'true'}},"
	 "'spec':{'clusterIP':'10.96.0.10','ports':[{'port':80}]}}",
	 {"{'metadata':{'name':'w1','namespace':'app','labels':{'kubernetes.io/service-name':'web'}},"
	  "'addressType':'IPv4','ports':[{'name':'','port':8080}],'endpoints':[{'addresses':['10.1.0.1']}]}"},
	 "n1",
	 NULL,
	 "10.96.0.10:80/tcp: 10.1.0.1:8080"},
	{"two ports by name, one UDP; SCTP is kube-proxy's",
	 "{'metadata':{'name':'web','namespace':'app','annotations':{'ferry.io/socket-lb':'true'}},"
	 "'spec':{'clusterIP':'10.96.0.10','ports':[{'name':'http','port':80},"
	 "{'name':'dns','port':53,'protocol':'UDP'},{'name':'s','port':9,'protocol':'SCTP'}]}}",
	 {"{'metadata':{'name':'w1','namespace':'app','labels':{'kubernetes.io/service-name':'web'}},"
	  "'addressType':'IPv4','ports':[{'name':'dns','port':5353,'protocol':'UDP'},{'name':'http','port':8080},"
	  "{'name':'s','port':9,'protocol':'SCTP'}],"
	  "'endpoints':[{'addresses':['10.1.0.1']},{'addresses':['10.1.0.2']}]}"},
	 "n1",
	 NULL,
	 "10.96.0.10:80/tcp: 10.1.0.1:8080 10.1.0.2:8080; 10.96.0.10:53/udp: 10.1.0.1:5353 10.1.0.2:5353"},
	{"dual stack: each ClusterIP with the slices of its family",
	 "{'metadata':{'name':'web','namespace':'app','annotations':{'ferry.io/socket-lb':'true'}},"
	 "'spec':{'clusterIP':'10.96.0.10','clusterIPs':['10.96.0.10','fd00:96::a'],"
	 "'ipFamilies':['IPv4','IPv6'],'ports':[{'name':'http','port':80}]}}",
	 {SLICE("w1", EP("10.1.0.1", "n1")),
	  "{'metadata':{'name':'w6','namespace':'app','labels':{'kubernetes.io/service-name':'web'}},"
	  "'addressType':'IPv6','ports':[{'name':'http','port':8080}],"
	  "'endpoints':[{'addresses':['fd00:1::1']},{'addresses':['fd00:1::2']}]}"},
	 "n1",
	 NULL,
	 "10.96.0.10:80/tcp: 10.1.0.1:8080; [fd00:96::a]:80/tcp: [fd00:1::1]:8080 [fd00:1::2]:8080"},
	{"IPv6 only",
	 "{'metadata':{'name':'web','namespace':'app','annotations':{'ferry.io/socket-lb':'true'}},"
	 "'spec':{'clusterIP':'fd00:96::a','ports':[{'name':'http','port':80}]}}",
	 {SLICE("w1", EP("10.1.0.1", "n1")),
	  "{'metadata':{'name':'w6','namespace':'app','labels':{'kubernetes.io/service-name':'web'}},"
	  "'addressType':'IPv6','ports':[{'name':'http','port':8080}],'endpoints':[{'addresses':['fd00:1::1']}]}"},
	 "n1",
	 NULL,
	 "[fd00:96::a]:80/tcp: [fd00:1::1]:8080"},
	/* malformed input: a clear error, never a crash */
	{"not JSON", "{'metadata':", {NULL}, "n1", NULL, "EINVAL"},
	{"no metadata.name", "{'spec':{}}", {NULL}, "n1", NULL, "EINVAL"},
	{"ClusterIP not an address",
	 "{'metadata':{'name':'web','namespace':'app','annotations':{'ferry.io/socket-lb':'true'}},"
	 "'spec':{'clusterIP':'10.96.0','ports':[{'port':80}]}}",
	 {NULL},
	 "n1",
	 NULL,
	 "EINVAL"},
	{"ports not a list",
	 "{'metadata':{'name':'web','namespace':'app','annotations':{'ferry.io/socket-lb':'true'}},"
	 "'spec':{'clusterIP':'10.96.0.10','ports':{'port':80}}}",
	 {NULL},
	 "n1",
	 NULL,
	 "EINVAL"},
	{"port 70000",
	 "{'metadata':{'name':'web','namespace':'app','annotations':{'ferry.io/socket-lb':'true'}},"
	 "'spec':{'clusterIP':'10.96.0.10','ports':[{'port':70000}]}}",
	 {NULL},
	 "n1",
	 NULL,
	 "EINVAL"},
	{"protocol unknown",
	 "{'metadata':{'name':'web','namespace':'app','annotations':{'ferry.io/socket-lb':'true'}},"
	 "'spec':{'clusterIP':'10.96.0.10','ports':[{'port':80,'protocol':'ICMP'}]}}",
	 {NULL},
	 "n1",
	 NULL,
	 "EINVAL"},
	{"an endpoint address of the wrong family",
	 SVC(""),
	 {SLICE("w1", EP("fd00::1", "n1"))},
	 "n1",
	 NULL,
	 "EINVAL"},
	{"an endpoint without addresses",
	 SVC(""),
	 {SLICE("w1", "{'nodeName':'n1'}")},
	 "n1",
	 NULL,
	 "EINVAL"},
	{"a slice port of 0",
	 SVC(""),
	 {"{'metadata':{'name':'w1','namespace':'app','labels':{'kubernetes.io/service-name':'web'}},"
	  "'addressType':'IPv4','ports':[{'name':'http','port':0}],'endpoints':[]}"},
	 "n1",
	 NULL,
	 "EINVAL"},
	{"a slice without addressType",
	 SVC(""),
	 {"{'metadata':{'name':'w1','namespace':'app','labels':{'kubernetes.io/service-name':'web'}},"
	  "'ports':[{'name':'http','port':8080}],'endpoints':[]}"},
	 "n1",
	 NULL,
	 "EINVAL"},
	{"hints not a list",
	 SVC(""),
	 {SLICE("w1", "{'addresses':['10.1.0.1'],'hints':{'forZones':{'name':'a'}}}")},
	 "n1",
	 "a",
	 "EINVAL"},
	{"endpoints not a list",
	 SVC(""),
	 {"{'metadata':{'name':'w1','namespace':'app','labels':{'kubernetes.io/service-name':'web'}},"
	  "'addressType':'IPv4','ports':[{'name':'http','port':8080}],'endpoints':{'a':1}}"},
	 "n1",
	 NULL,
	 "EINVAL"},
};

static void plan_format(const struct lb_plan *p, char *buf, size_t len)
{
	FILE *f = fmemopen(buf, len, "w");
	char a[64];

	if (!f)
		t_error("fmemopen");
	if (p->skip)
		fprintf(f, "skip: %s", p->skip);
	for (size_t i = 0; i < p->n && !p->skip; i++) {
		const struct lb_entry *e = &p->e[i];

		T_ASSERT(e->svc.be == e->be, "the entry's backends are its own");
		ebpf_lb_addr_format(&e->svc.vip.addr, a, sizeof(a));
		fprintf(f, "%s%s/%s%s:", i ? "; " : "", a,
			e->svc.vip.proto == IPPROTO_TCP ? "tcp" : "udp",
			e->svc.affinity == EBPF_LB_AFFINITY_CLIENT ? " client" : "");
		for (size_t j = 0; j < e->svc.n; j++) {
			T_ASSERT_EQ(e->be[j].weight, 1);
			ebpf_lb_addr_format(&e->be[j].addr, a, sizeof(a));
			fprintf(f, " %s", a);
		}
	}
	fclose(f);
}

static void run(const struct row *r, bool reverse, char *got, size_t len)
{
	const char *sl[MAXS];
	char *svc = t_dq(r->svc), *own[MAXS];
	size_t sll[MAXS], n = 0;
	struct lb_node node = {.name = r->node, .zone = r->zone};
	struct lb_plan *p = NULL;
	struct lb_err err;
	int ret;

	while (n < MAXS && r->slices[n])
		n++;
	for (size_t i = 0; i < n; i++) {
		own[i] = t_dq(r->slices[reverse ? n - 1 - i : i]);
		sl[i] = own[i];
		sll[i] = strlen(own[i]);
	}
	ret = lb_plan_build_json(svc, strlen(svc), sl, sll, n, &node, &p, &err);
	if (ret == -EINVAL) {
		T_ASSERT(err.msg[0], "%s: -EINVAL says why", r->what);
		snprintf(got, len, "EINVAL");
		printf("  (%s)\n", err.msg);
	} else if (ret) {
		t_fail("%s: %s", r->what, strerror(-ret));
	} else {
		plan_format(p, got, len);
	}
	lb_plan_free(p);
	for (size_t i = 0; i < n; i++)
		free(own[i]);
	free(svc);
}

/* lb_pod_has_mesh(): which pods the balancer leaves alone */
static int mesh_rows(void)
{
	static const struct {
		const char *pod;
		bool mesh;
	} m[] = {
		{"{'metadata':{'name':'p'},'spec':{'containers':[{'name':'app'}]}}", false},
		{"{'metadata':{'name':'p'},'spec':{'containers':[{'name':'app'},{'name':'istio-proxy'}]}}",
		 true},
		{"{'metadata':{'name':'p'},'spec':{'containers':[{'name':'linkerd-proxy'},{'name':'app'}]}}",
		 true},
		{"{'metadata':{'name':'p'},'spec':{'initContainers':[{'name':'istio-init'}],"
		 "'containers':[{'name':'app'}]}}",
		 true},
		{"{'metadata':{'name':'p'},'spec':{'initContainers':[{'name':'linkerd-init'}],"
		 "'containers':[{'name':'app'}]}}",
		 true},
		{"{'metadata':{'name':'p'},'spec':{'initContainers':[{'name':'istio-proxy','restartPolicy':"
		 "'Always'}],'containers':[{'name':'app'}]}}",
		 true},
		{"{'metadata':{'name':'p','annotations':{'sidecar.istio.io/status':'{}'}},"
		 "'spec':{'containers':[{'name':'app'}]}}",
		 true},
		{"{'metadata':{'name':'p','annotations':{'sidecar.istio.io/inject':'false'}},"
		 "'spec':{'initContainers':[{'name':'setup'}],'containers':[{'name':'proxy'}]}}",
		 false},
		{"{'metadata':{'name':'p'},'spec':{'containers':{'name':'istio-proxy'}}}", false},
	};
	int fails = 0;

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		char *js = t_dq(m[i].pod);
		struct k8s_obj *o;

		if (k8s_obj_parse(js, strlen(js), &o))
			t_error("row %zu is not JSON", i);
		if (lb_pod_has_mesh(o) != m[i].mesh) {
			printf("FAIL mesh %zu: %s\n", i, m[i].pod);
			fails++;
		} else {
			printf("ok   mesh %d: %s\n", m[i].mesh, m[i].pod);
		}
		k8s_obj_free(o);
		free(js);
	}
	return fails;
}

int main(void)
{
	char got[2048], again[2048];
	int fails = 0;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		run(r, false, got, sizeof(got));
		run(r, true, again, sizeof(again));
		if (strcmp(got, r->want) || strcmp(again, got)) {
			printf("FAIL %s\n  want: %s\n  got:  %s\n  reversed: %s\n", r->what,
			       r->want, got, again);
			fails++;
			continue;
		}
		printf("ok   %s\n", r->what);
	}
	lb_plan_free(NULL);
	fails += mesh_rows();
	if (fails)
		t_fail("%d of %zu rows", fails, sizeof(rows) / sizeof(rows[0]));
	printf("%zu rows\n", sizeof(rows) / sizeof(rows[0]));
	return 0;
}
