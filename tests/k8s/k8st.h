/* SPDX-License-Identifier: MIT */
/*
 * tests/k8s/k8st.h - what the tests of k8s/ against an API server share:
 * the cluster comes from FERRY_TEST_KUBECONFIG (the box tests/run starts,
 * the one t_k8s_run.sh starts, or a real cluster); FERRY_TEST_KBOX_DIR is
 * set only for a box (its fault hooks); K8S_H2_KUBECONFIG names the same box
 * through its HTTP/2 front.
 */
#ifndef FERRY_T_K8ST_H
#define FERRY_T_K8ST_H

#include <stdbool.h>

#include "k8s/k8s.h"

/* FERRY_TEST_KUBECONFIG, or fail naming tests/run */
const char *k8st_kubeconfig(void);
/* whether the cluster is the box (fault hooks, its files) */
bool k8st_is_box(void);
/* a client of @kubeconfig (NULL: k8st_kubeconfig()); fails the test on error */
struct k8s_client *k8st_client(const char *kubeconfig, const struct k8s_client_opts *o);
/* a fresh namespace "<prefix>-<random>", malloc()ed; deleted by k8st_ns_delete() */
char *k8st_ns(struct k8s_client *c, const char *prefix);
void k8st_ns_delete(struct k8s_client *c, const char *ns);
/* box only: POST a fault rule (JSON), clear them, forget the watch history */
void k8st_fault(struct k8s_client *admin, const char *json);
void k8st_faults_clear(struct k8s_client *admin);
void k8st_compact(struct k8s_client *admin);
/* a kubeconfig file for @server with @user's YAML fields, CA @ca (a path or NULL) */
char *k8st_kubeconfig_for(const char *dir, const char *name, const char *server,
			  const char *ca_file, const char *ca_data, const char *user);
/* a ConfigMap object @name in @ns with data {k: v} (a root) */
struct k8s_obj *k8st_cm(const char *ns, const char *name, const char *k, const char *v);
void k8st_sleep_ms(unsigned int ms);

#endif /* FERRY_T_K8ST_H */
