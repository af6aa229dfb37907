// SPDX-License-Identifier: MIT
/*
 * tests/k8s/t_k8s_unreach.c MODE SERVER - one request to an API server that
 * cannot be reached, run by t_k8s_netns.sh inside a network namespace with no
 * route out of the machine. MODE says how it cannot be reached and what the
 * client must say:
 *   refused    nothing listens:     -ECONNREFUSED, 3 tries, at once
 *   noroute    no route to it:      -EHOSTUNREACH, 1 try, at once
 *   blackhole  SYNs go unanswered:  -ETIMEDOUT after the 2 s connect timeout,
 *              3 tries at most, within the call's 20 s deadline
 * Each with one line naming the server and the kubeconfig, and the exit class.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/k8s_int.h"
#include "t_helpers.h"

int main(int argc, char **argv)
{
	struct k8s_client_opts o = {
		.sz = sizeof(o), .qps = -1, .connect_timeout_ms = 2000, .timeout_ms = 20000};
	struct k8s_config_opts co = {.sz = sizeof(co)};
	struct k8s_client_stats st;
	struct k8s_client *c;
	struct k8s_obj *out;
	struct k8s_err err;
	char *dir, path[512], text[512];
	uint64_t t0, ms;
	int ret;

	if (argc != 3)
		t_error("usage: t_k8s_unreach refused|noroute|blackhole SERVER");
	dir = t_tmpdir("k8s-unreach");
	snprintf(path, sizeof(path), "%s/kubeconfig", dir);
	snprintf(text, sizeof(text),
		 "current-context: t\nclusters:\n- name: far\n  cluster: {server: '%s'}\n"
		 "users:\n- name: u\n  user: {token: t}\n"
		 "contexts:\n- name: t\n  context: {cluster: far, user: u}\n",
		 argv[2]);
	t_write_file(path, text, strlen(text));
	co.kubeconfig = path;
	T_ASSERT(!k8s_client_open(&co, &o, &c, &err), "%s", err.msg);
	t0 = kmono_ms();
	ret = k8s_get(c, &k8s_pods, "x", "y", NULL, &out, &err);
	ms = kmono_ms() - t0;
	k8s_client_stats(c, &st);
	printf("# %s: %d after %llu ms, %llu tries: %s\n", argv[1], ret, (unsigned long long)ms,
	       (unsigned long long)st.requests, err.msg);
	T_ASSERT(strstr(err.msg, argv[2]) && strstr(err.msg, path), "names server and file: %s",
		 err.msg);
	T_ASSERT(!strchr(err.msg, '\n'));
	T_ASSERT_EQ(err.exit, K8S_EXIT_NETWORK);
	if (!strcmp(argv[1], "refused")) {
		T_ASSERT_EQ(ret, -ECONNREFUSED);
		T_ASSERT_EQ(st.requests, 3);
		T_ASSERT(ms < 5000, "no long waits");
	} else if (!strcmp(argv[1], "noroute")) {
		T_ASSERT_EQ(ret, -EHOSTUNREACH);
		T_ASSERT_EQ(st.requests, 1);
		T_ASSERT(strstr(err.msg, "no route"), "%s", err.msg);
	} else if (!strcmp(argv[1], "blackhole")) {
		T_ASSERT_EQ(ret, -ETIMEDOUT);
		T_ASSERT(strstr(err.msg, "within 2 s (connect timeout)"), "%s", err.msg);
		T_ASSERT(st.requests >= 1 && st.requests <= 3, "%llu tries",
			 (unsigned long long)st.requests);
		T_ASSERT(ms >= 2000 && ms <= 20000 + 3000, "%llu ms", (unsigned long long)ms);
	} else {
		t_error("unknown mode %s", argv[1]);
	}
	k8s_client_free(c);
	t_rmtree(dir);
	free(dir);
	return 0;
}
