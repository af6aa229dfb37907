// SPDX-License-Identifier: MIT
/*
 * tests/k8s/t_k8s_api.c - the client against an API server: the box, or a
 * real cluster (FERRY_TEST_KUBECONFIG); nothing here needs the box's hooks.
 * Everything happens in a namespace of its own, deleted at the end.
 *
 * What it checks, each against the API's rules (CONTROLPLANE.md §6):
 * create/get/list/update/delete with their codes; a stale resourceVersion is
 * -EAGAIN and the read-modify-write loop wins against a concurrent writer;
 * merge and JSON patches (a failed "test" is -EAGAIN); server-side apply
 * with field managers (a conflict names the other manager, force takes
 * over, the managers are read back); dry run writes nothing; 422 lists the
 * causes; pages; delete preconditions; the scale and status subresources;
 * an informer with a label selector; Events; leader election; TokenRequest
 * and TokenReview; a service account without RBAC rights gets -EPERM naming
 * the verb and resource, and with a Role it may; a bad token is -EACCES; a
 * CA that does not match is -EPROTO naming the CA. With the box, all of it
 * once more through its HTTP/2 front.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/k8s_int.h"
#include "k8st.h"
#include "t_helpers.h"

static struct k8s_client *c;
static char *ns;
static const char *tmp;

static void test_crud(void)
{
	struct k8s_obj *o = k8st_cm(ns, "one", "k", "v1"), *got, *stale;
	struct k8s_call call = {0};
	struct k8s_items *l;
	struct k8s_err err;

	T_ASSERT(!k8s_obj_set_label(o, "app", "crud"));
	T_ASSERT(!k8s_create(c, &k8s_configmaps, ns, o, NULL, &got, &err), "%s", err.msg);
	T_ASSERT(k8s_obj_get_uid(got) && k8s_obj_get_rv(got), "server-set metadata");
	k8s_obj_free(got);
	T_ASSERT_EQ(k8s_create(c, &k8s_configmaps, ns, o, NULL, NULL, &err), -EEXIST);
	T_ASSERT(err.http == 409 && !strcmp(err.reason, "AlreadyExists") &&
			 err.exit == K8S_EXIT_REFUSED,
		 "%s", err.msg);
	T_ASSERT_EQ(k8s_get(c, &k8s_configmaps, ns, "none", NULL, &got, &err), -ENOENT);
	T_ASSERT(err.http == 404 && strstr(err.msg, "\"none\" not found"), "%s", err.msg);
	/* update with the version read; the same stale version again is a conflict */
	T_ASSERT(!k8s_get(c, &k8s_configmaps, ns, "one", NULL, &got, &err), "%s", err.msg);
	stale = k8s_obj_dup(got);
	T_ASSERT(!k8s_obj_set_str(got, "/data/k", "v2"));
	T_ASSERT(!k8s_update(c, &k8s_configmaps, ns, got, NULL, NULL, &err), "%s", err.msg);
	T_ASSERT(!k8s_obj_set_str(stale, "/data/k", "v3"));
	T_ASSERT_EQ(k8s_update(c, &k8s_configmaps, ns, stale, NULL, NULL, &err), -EAGAIN);
	T_ASSERT(err.http == 409 && !strcmp(err.reason, "Conflict") &&
			 strstr(err.msg, "read it again"),
		 "%s", err.msg);
	k8s_obj_free(got);
	k8s_obj_free(stale);
	/* dry run: answered, not stored */
	k8s_obj_free(o);
	o = k8st_cm(ns, "dry", "k", "v");
	call.dry_run = true;
	T_ASSERT(!k8s_create(c, &k8s_configmaps, ns, o, &call, NULL, &err), "%s", err.msg);
	T_ASSERT_EQ(k8s_get(c, &k8s_configmaps, ns, "dry", NULL, &got, &err), -ENOENT);
	/* 422 with its causes */
	k8s_obj_free(o);
	o = k8st_cm(ns, "Not_A_Name", "k", "v");
	T_ASSERT_EQ(k8s_create(c, &k8s_configmaps, ns, o, NULL, NULL, &err), -EINVAL);
	T_ASSERT(err.http == 422 && strstr(err.msg, "invalid: metadata.name"), "%s", err.msg);
	T_ASSERT_EQ(err.exit, K8S_EXIT_USAGE);
	k8s_obj_free(o);
	/* pages: 7 objects, 3 per page */
	for (int i = 0; i < 6; i++) {
		char name[16];

		snprintf(name, sizeof(name), "p%d", i);
		o = k8st_cm(ns, name, "i", name);
		T_ASSERT(!k8s_obj_set_label(o, "app", "crud"));
		T_ASSERT(!k8s_create(c, &k8s_configmaps, ns, o, NULL, NULL, &err), "%s", err.msg);
		k8s_obj_free(o);
	}
	call = (struct k8s_call){.limit = 3, .label_selector = "app=crud"};
	T_ASSERT(!k8s_list(c, &k8s_configmaps, ns, &call, &l, &err), "%s", err.msg);
	T_ASSERT_EQ(k8s_items_len(l), 7);
	T_ASSERT(*k8s_items_rv(l));
	k8s_items_free(l);
	call = (struct k8s_call){.label_selector = "app!=crud"};
	T_ASSERT(!k8s_list(c, &k8s_configmaps, ns, &call, &l, &err), "%s", err.msg);
	for (size_t i = 0; i < k8s_items_len(l); i++)
		T_ASSERT(!k8s_obj_label(k8s_items_at(l, i), "app") ||
			 strcmp(k8s_obj_label(k8s_items_at(l, i), "app"), "crud"));
	k8s_items_free(l);
	/* delete preconditions: a wrong uid is refused */
	call = (struct k8s_call){.pre_uid = "00000000-0000-0000-0000-000000000000"};
	T_ASSERT_EQ(k8s_delete(c, &k8s_configmaps, ns, "p0", &call, NULL, &err), -EAGAIN);
	T_ASSERT(err.http == 409, "%ld %s", err.http, err.msg);
	call = (struct k8s_call){.propagation = "Foreground"};
	T_ASSERT(!k8s_delete(c, &k8s_configmaps, ns, "p0", &call, NULL, &err), "%s", err.msg);
	/* foreground: the garbage collector removes it once its dependents are gone */
	{
		int ret = 0;

		for (int i = 0; i < 300 && !ret; i++) {
			ret = k8s_get(c, &k8s_configmaps, ns, "p0", NULL, &got, &err);
			if (!ret) {
				T_ASSERT(k8s_obj_str(got, "/metadata/deletionTimestamp"),
					 "being deleted");
				k8s_obj_free(got);
				k8st_sleep_ms(50);
			}
		}
		T_ASSERT_EQ(ret, -ENOENT);
	}
	T_ASSERT_EQ(k8s_delete(c, &k8s_configmaps, ns, "p0", NULL, NULL, &err), -ENOENT);
}

/* another writer, between each read and write */
struct racer {
	struct k8s_client *c;
	int writes;
};

static int racy_mutate(void *arg, struct k8s_obj *o)
{
	struct racer *r = arg;
	struct k8s_obj *other;
	struct k8s_err err;

	if (r->writes < 2) {
		r->writes++;
		T_ASSERT(!k8s_get(r->c, &k8s_configmaps, ns, "race", NULL, &other, &err));
		T_ASSERT(!k8s_obj_set_str(other, "/data/other", r->writes == 1 ? "1" : "2"));
		T_ASSERT(!k8s_update(r->c, &k8s_configmaps, ns, other, NULL, NULL, &err), "%s",
			 err.msg);
		k8s_obj_free(other);
	}
	return k8s_obj_set_str(o, "/data/mine", "yes");
}

static void test_conflicts_and_patches(void)
{
	struct racer r = {.c = c};
	struct k8s_obj *o = k8st_cm(ns, "race", "n", "0"), *got, *p, *ops, *v;
	struct k8s_err err;

	T_ASSERT(!k8s_create(c, &k8s_configmaps, ns, o, NULL, NULL, &err), "%s", err.msg);
	k8s_obj_free(o);
	T_ASSERT(!k8s_update_retry(c, &k8s_configmaps, ns, "race", NULL, racy_mutate, &r, &got,
				   &err),
		 "%s", err.msg);
	T_ASSERT(!strcmp(k8s_obj_str(got, "/data/mine"), "yes") &&
			 !strcmp(k8s_obj_str(got, "/data/other"), "2"),
		 "both writers' changes are kept");
	/* merge patch: null deletes */
	T_ASSERT(!k8s_obj_new(&p));
	T_ASSERT(!k8s_obj_set_null(p, "/data/other"));
	T_ASSERT(!k8s_obj_set_str(p, "/data/merged", "1"));
	T_ASSERT(!k8s_patch(c, &k8s_configmaps, ns, "race", K8S_PATCH_MERGE, p, NULL, &o, &err),
		 "%s", err.msg);
	T_ASSERT(!k8s_obj_at(o, "/data/other") && !strcmp(k8s_obj_str(o, "/data/merged"), "1"));
	k8s_obj_free(p);
	/* JSON patch with a compare-and-swap on the resourceVersion */
	T_ASSERT(!k8s_obj_new_array(&ops) && !k8s_obj_new(&v));
	T_ASSERT(!k8s_obj_set_str(v, "/rv", k8s_obj_get_rv(o)));
	T_ASSERT(!k8s_obj_set_str(v, "/new", "cas"));
	T_ASSERT(!k8s_jsonpatch_add(ops, "test", "/metadata/resourceVersion", NULL,
				    k8s_obj_at(v, "/rv")));
	T_ASSERT(!k8s_jsonpatch_add(ops, "add", "/data/cas", NULL, k8s_obj_at(v, "/new")));
	T_ASSERT(!k8s_patch(c, &k8s_configmaps, ns, "race", K8S_PATCH_JSON, ops, NULL, NULL, &err),
		 "%s", err.msg);
	/* the same test again: the version moved on, nothing is written. kube-apiserver
	 * names the failed test in the Status's causes (-EAGAIN: read again); the box
	 * answers a bare 422, which can only be -EINVAL */
	{
		int ret = k8s_patch(c, &k8s_configmaps, ns, "race", K8S_PATCH_JSON, ops, NULL, NULL,
				    &err);

		T_ASSERT(ret == -EAGAIN || (ret == -EINVAL && k8st_is_box()), "%d %s", ret,
			 err.msg);
		T_ASSERT(err.http == 422, "%ld %s", err.http, err.msg);
	}
	k8s_obj_free(ops);
	k8s_obj_free(v);
	k8s_obj_free(o);
	k8s_obj_free(got);
}

struct mgrs {
	char names[256];
};

static int collect(void *arg, const char *m, const char *op)
{
	struct mgrs *x = arg;
	size_t n = strlen(x->names);

	snprintf(x->names + n, sizeof(x->names) - n, "%s%s/%s", n ? "," : "", m, op);
	return 0;
}

static void test_apply(void)
{
	struct k8s_obj *o = k8st_cm(ns, "applied", "owner", "gitops"), *got;
	struct mgrs m = {{0}};
	struct k8s_err err;

	T_ASSERT(!k8s_apply(c, &k8s_configmaps, ns, o, "gitops-tool", false, NULL, &got, &err),
		 "%s", err.msg);
	T_ASSERT(!k8s_obj_managers(got, "/data/owner", collect, &m));
	T_ASSERT(!strcmp(m.names, "gitops-tool/Apply"), "%s", m.names);
	k8s_obj_free(got);
	k8s_obj_free(o);
	/* ferry applies another value of the same field: a conflict naming the owner */
	o = k8st_cm(ns, "applied", "owner", "ferry");
	T_ASSERT_EQ(k8s_apply(c, &k8s_configmaps, ns, o, "ferry-test", false, NULL, NULL, &err),
		    -EBUSY);
	T_ASSERT(err.http == 409 && strstr(err.msg, "gitops-tool") && err.exit == K8S_EXIT_REFUSED,
		 "%s", err.msg);
	/* force takes it over */
	T_ASSERT(!k8s_apply(c, &k8s_configmaps, ns, o, "ferry-test", true, NULL, &got, &err), "%s",
		 err.msg);
	m.names[0] = '\0';
	T_ASSERT(!k8s_obj_managers(got, "/data/owner", collect, &m));
	T_ASSERT(!strcmp(m.names, "ferry-test/Apply"), "%s", m.names);
	T_ASSERT(!strcmp(k8s_obj_str(got, "/data/owner"), "ferry"));
	k8s_obj_free(got);
	k8s_obj_free(o);
}

static int set_status(void *arg, struct k8s_obj *o)
{
	(void)arg;
	if (k8s_obj_set_int(o, "/status/observedGeneration", 1) ||
	    k8s_obj_set_int(o, "/status/replicas", 1) || k8s_obj_set_int(o, "/spec/replicas", 9))
		return -ENOMEM;
	return 0;
}

static void test_scale_status(void)
{
	static const char dep[] =
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},"
		"\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
		"\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":"
		"[{\"name\":\"web\",\"image\":\"registry.invalid/web:1\"}]}}}}";
	struct k8s_obj *o, *s;
	struct k8s_scale sc;
	struct k8s_workload w;
	struct k8s_err err;
	struct mgrs m = {{0}};
	struct k8s_call call = {.subresource = "status"};
	int ret;

	T_ASSERT(!k8s_obj_parse(dep, strlen(dep), &o));
	T_ASSERT(!k8s_create(c, &k8s_deployments, ns, o, NULL, NULL, &err), "%s", err.msg);
	k8s_obj_free(o);
	T_ASSERT(!k8s_scale_get(c, &k8s_deployments, ns, "web", &s, &err), "%s", err.msg);
	T_ASSERT(!k8s_scale_view(s, &sc) && sc.replicas == 2 && sc.selector &&
			 !strcmp(sc.selector, "app=web"),
		 "%lld %s", (long long)sc.replicas, sc.selector ? sc.selector : "(none)");
	k8s_obj_free(s);
	ret = k8s_scale_apply(c, &k8s_deployments, ns, "web", 4, "ferry-autoscale", false, NULL,
			      &err);
	if (ret == -EOPNOTSUPP && k8st_is_box()) {
		/* kube-apiserver serves apply on /scale (client-go's ApplyScale); the box
		 * answers 415: set it with a merge patch of /scale, as kubectl scale does */
		struct k8s_call sc_call = {.subresource = "scale",
					   .field_manager = "ferry-autoscale"};

		printf("# the box does not serve server-side apply on /scale (415): merge patch\n");
		T_ASSERT(!k8s_obj_new(&s) && !k8s_obj_set_int(s, "/spec/replicas", 4));
		ret = k8s_patch(c, &k8s_deployments, ns, "web", K8S_PATCH_MERGE, s, &sc_call, NULL,
				&err);
		k8s_obj_free(s);
	} else {
		/* the creator (manager "ferry", from the User-Agent) owns spec.replicas: a
		 * conflict that names it; force takes the field over */
		T_ASSERT(ret == -EBUSY && strstr(err.msg, "\"ferry\"") &&
				 strstr(err.msg, "replicas"),
			 "%d %s", ret, err.msg);
		ret = k8s_scale_apply(c, &k8s_deployments, ns, "web", 4, "ferry-autoscale", true,
				      NULL, &err);
	}
	T_ASSERT(!ret, "%s", err.msg);
	T_ASSERT(!k8s_get(c, &k8s_deployments, ns, "web", NULL, &o, &err));
	T_ASSERT(!k8s_workload_view(o, &w) && w.replicas == 4);
	T_ASSERT(!k8s_obj_managers(o, "/spec/replicas", collect, &m));
	T_ASSERT(strstr(m.names, "ferry-autoscale"), "%s", m.names);
	k8s_obj_free(o);
	/* a status write changes the status only (a real controller may write in between) */
	T_ASSERT(!k8s_update_retry(c, &k8s_deployments, ns, "web", &call, set_status, NULL, NULL,
				   &err),
		 "%s", err.msg);
	T_ASSERT(!k8s_get(c, &k8s_deployments, ns, "web", NULL, &o, &err));
	T_ASSERT(!k8s_workload_view(o, &w) && w.replicas == 4, "spec untouched: %lld",
		 (long long)w.replicas);
	k8s_obj_free(o);
}

/* ------------------------------------------------------------ informer */

struct watched {
	atomic_int adds, updates, dels;
};

static void w_add(void *arg, const struct k8s_obj *o)
{
	(void)o;
	atomic_fetch_add(&((struct watched *)arg)->adds, 1);
}

static void w_update(void *arg, const struct k8s_obj *a, const struct k8s_obj *b)
{
	(void)a;
	(void)b;
	atomic_fetch_add(&((struct watched *)arg)->updates, 1);
}

static void w_del(void *arg, const struct k8s_obj *o)
{
	(void)o;
	atomic_fetch_add(&((struct watched *)arg)->dels, 1);
}

static void test_informer(void)
{
	static const struct k8s_handlers h = {w_add, w_update, w_del};
	struct watched w = {0};
	struct k8s_informer_opts io = {
		.sz = sizeof(io), .ns = ns, .label_selector = "app=inf", .handlers = &h, .arg = &w};
	struct k8s_informer *inf;
	struct k8s_informer_stats st;
	struct k8s_obj *o, *got;
	struct k8s_err err;
	char key[K8S_KEY_SIZE];

	o = k8st_cm(ns, "i0", "k", "v");
	T_ASSERT(!k8s_obj_set_label(o, "app", "inf"));
	T_ASSERT(!k8s_create(c, &k8s_configmaps, ns, o, NULL, NULL, &err));
	k8s_obj_free(o);
	T_ASSERT(!k8s_informer_new(c, &k8s_configmaps, &io, &inf, &err), "%s", err.msg);
	T_ASSERT(!k8s_informer_wait_synced(inf, 20000));
	T_ASSERT_EQ(k8s_informer_len(inf), 1);
	for (int i = 1; i <= 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "i%d", i);
		o = k8st_cm(ns, name, "k", "v");
		T_ASSERT(!k8s_obj_set_label(o, "app", "inf"));
		T_ASSERT(!k8s_create(c, &k8s_configmaps, ns, o, NULL, NULL, &err));
		k8s_obj_free(o);
	}
	/* not selected: never seen */
	o = k8st_cm(ns, "other", "k", "v");
	T_ASSERT(!k8s_create(c, &k8s_configmaps, ns, o, NULL, NULL, &err));
	k8s_obj_free(o);
	T_ASSERT(!k8s_get(c, &k8s_configmaps, ns, "i1", NULL, &o, &err));
	T_ASSERT(!k8s_obj_set_str(o, "/data/k", "changed"));
	T_ASSERT(!k8s_update(c, &k8s_configmaps, ns, o, NULL, NULL, &err));
	k8s_obj_free(o);
	T_ASSERT(!k8s_delete(c, &k8s_configmaps, ns, "i2", NULL, NULL, &err));
	/* a label change out of the selector arrives as a delete */
	T_ASSERT(!k8s_get(c, &k8s_configmaps, ns, "i3", NULL, &o, &err));
	T_ASSERT(!k8s_obj_set_label(o, "app", "gone"));
	T_ASSERT(!k8s_update(c, &k8s_configmaps, ns, o, NULL, NULL, &err));
	k8s_obj_free(o);
	for (int i = 0; i < 500 && atomic_load(&w.dels) < 2; i++)
		k8st_sleep_ms(20);
	T_ASSERT_EQ(atomic_load(&w.adds), 4);
	T_ASSERT_EQ(atomic_load(&w.updates), 1);
	T_ASSERT_EQ(atomic_load(&w.dels), 2);
	T_ASSERT_EQ(k8s_informer_len(inf), 2);
	snprintf(key, sizeof(key), "%s/i1", ns);
	got = k8s_informer_get(inf, key);
	T_ASSERT(got && !strcmp(k8s_obj_str(got, "/data/k"), "changed"));
	T_ASSERT(!k8s_obj_at(got, "/metadata/managedFields"), "the cache drops managedFields");
	k8s_obj_free(got);
	k8s_informer_stats(inf, &st);
	T_ASSERT(st.lists == 1 && st.expired == 0, "one list, no relist");
	k8s_informer_free(inf);
}

/* ------------------------------------------------------------ events, leases */

static void test_events_and_lease(void)
{
	struct k8s_obj *cm, *o;
	struct k8s_event ev = {.type = "Normal",
			       .reason = "TestPassed",
			       .action = "Test",
			       .note = "the client wrote this",
			       .controller = "ferry.io/test",
			       .instance = "t_k8s_api"};
	struct k8s_lease_opts lo = {.sz = sizeof(lo),
				    .ns = ns,
				    .name = "leader",
				    .identity = "one",
				    .lease_ms = 3000,
				    .renew_ms = 2000,
				    .retry_ms = 300};
	struct k8s_call call = {.field_selector = NULL};
	struct k8s_lease_view lv;
	struct k8s_items *l;
	struct k8s_lease *a, *b;
	struct k8s_err err;
	bool found = false;

	T_ASSERT(!k8s_get(c, &k8s_configmaps, ns, "race", NULL, &cm, &err));
	ev.regarding = cm;
	T_ASSERT(!k8s_event_emit(c, &ev, &err), "%s", err.msg);
	T_ASSERT(!k8s_list(c, &k8s_events, ns, &call, &l, &err), "%s", err.msg);
	for (size_t i = 0; i < k8s_items_len(l); i++) {
		const struct k8s_obj *e = k8s_items_at(l, i);

		if (k8s_obj_str(e, "/reason") && !strcmp(k8s_obj_str(e, "/reason"), "TestPassed") &&
		    !strcmp(k8s_obj_str(e, "/regarding/name"), "race") &&
		    !strcmp(k8s_obj_str(e, "/regarding/uid"), k8s_obj_get_uid(cm)))
			found = true;
	}
	T_ASSERT(found, "the event is listed");
	k8s_items_free(l);
	k8s_obj_free(cm);

	/* two candidates; the first leads; when it stops, the other takes over */
	T_ASSERT(!k8s_lease_start(c, &lo, &a, &err), "%s", err.msg);
	for (int i = 0; i < 500 && !k8s_lease_is_leader(a); i++)
		k8st_sleep_ms(20);
	T_ASSERT(k8s_lease_is_leader(a));
	lo.identity = "two";
	T_ASSERT(!k8s_lease_start(c, &lo, &b, &err));
	k8st_sleep_ms(1000);
	T_ASSERT(!k8s_lease_is_leader(b));
	T_ASSERT(!k8s_get(c, &k8s_leases, ns, "leader", NULL, &o, &err), "%s", err.msg);
	T_ASSERT(!k8s_lease_view(o, &lv) && !strcmp(lv.holder, "one") && lv.duration_s == 3 &&
		 lv.renew_ns > 0 && lv.acquire_ns > 0);
	T_ASSERT(strchr(k8s_obj_str(o, "/spec/renewTime"), '.'), "MicroTime: %s",
		 k8s_obj_str(o, "/spec/renewTime"));
	k8s_obj_free(o);
	k8s_lease_free(a);
	for (int i = 0; i < 500 && !k8s_lease_is_leader(b); i++)
		k8st_sleep_ms(20);
	T_ASSERT(k8s_lease_is_leader(b));
	T_ASSERT(!k8s_get(c, &k8s_leases, ns, "leader", NULL, &o, &err));
	T_ASSERT(!k8s_lease_view(o, &lv) && !strcmp(lv.holder, "two") && lv.transitions >= 1,
		 "%s %lld", lv.holder, (long long)lv.transitions);
	k8s_obj_free(o);
	k8s_lease_free(b);
}

/* ------------------------------------------------------------ identities */

/* the CA of the cluster under test, as a file (NULL: the system's, or insecure) */
static const char *ca_path(void)
{
	static char path[512];
	const struct k8s_config *cfg = k8s_client_config(c);

	if (cfg->ca_file)
		return cfg->ca_file;
	if (!cfg->ca_data)
		return NULL;
	snprintf(path, sizeof(path), "%s/cluster-ca.crt", tmp);
	t_write_file(path, cfg->ca_data, cfg->ca_data_len);
	return path;
}

static void test_identities(void)
{
	static const char role[] =
		"{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"Role\",\"metadata\":{"
		"\"name\":\"cm-reader\"},\"rules\":[{\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"],"
		"\"verbs\":[\"get\",\"list\"]}]}";
	static const struct k8s_resource roles =
		K8S_RESOURCE("rbac.authorization.k8s.io", "v1", "roles", "Role", true);
	static const struct k8s_resource bindings = K8S_RESOURCE(
		"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true);
	const struct k8s_config *cfg = k8s_client_config(c);
	struct k8s_client *sa;
	struct k8s_token_review tr;
	struct k8s_items *l;
	struct k8s_obj *o;
	struct k8s_err err;
	char *tok, *kc, *user, want[256];
	int64_t exp;

	T_ASSERT(!k8s_obj_new_kind(&k8s_serviceaccounts, ns, "tester", &o));
	T_ASSERT(!k8s_create(c, &k8s_serviceaccounts, ns, o, NULL, NULL, &err), "%s", err.msg);
	k8s_obj_free(o);
	T_ASSERT(!k8s_token_request(c, ns, "tester", NULL, 3600, &tok, &exp, &err), "%s", err.msg);
	T_ASSERT(strlen(tok) > 10 && exp > k8s_now_ns());
	T_ASSERT(!k8s_token_review(c, tok, NULL, &tr, &err), "%s", err.msg);
	snprintf(want, sizeof(want), "system:serviceaccount:%s:tester", ns);
	T_ASSERT(tr.authenticated && !strcmp(tr.user, want), "%s", tr.user);
	T_ASSERT(!k8s_token_review(c, "not-a-token", NULL, &tr, &err));
	T_ASSERT(!tr.authenticated);

	/* the service account's own client: RBAC denies until a Role allows */
	if (asprintf(&user, "token: %s", tok) < 0)
		t_error("out of memory");
	kc = k8st_kubeconfig_for(tmp, "sa.kubeconfig", k8s_config_server(cfg), ca_path(), NULL,
				 user);
	sa = k8st_client(kc, NULL);
	T_ASSERT_EQ(k8s_list(sa, &k8s_configmaps, ns, NULL, &l, &err), -EPERM);
	T_ASSERT(err.http == 403 && strstr(err.msg, "grant 'list' on 'configmaps'") &&
			 err.exit == K8S_EXIT_ACCESS,
		 "%s", err.msg);
	T_ASSERT(!k8s_obj_parse(role, strlen(role), &o));
	T_ASSERT(!k8s_create(c, &roles, ns, o, NULL, NULL, &err), "%s", err.msg);
	k8s_obj_free(o);
	{
		char *rb;

		if (asprintf(
			    &rb,
			    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"RoleBinding\","
			    "\"metadata\":{\"name\":\"cm-reader\"},\"roleRef\":{\"apiGroup\":"
			    "\"rbac.authorization.k8s.io\",\"kind\":\"Role\",\"name\":\"cm-reader\"},"
			    "\"subjects\":[{\"kind\":\"ServiceAccount\",\"name\":\"tester\","
			    "\"namespace\":\"%s\"}]}",
			    ns) < 0)
			t_error("out of memory");
		T_ASSERT(!k8s_obj_parse(rb, strlen(rb), &o));
		free(rb);
	}
	T_ASSERT(!k8s_create(c, &bindings, ns, o, NULL, NULL, &err), "%s", err.msg);
	k8s_obj_free(o);
	{
		int ret = -EPERM;

		/* RBAC caches on real servers take a moment */
		for (int i = 0; i < 100 && ret == -EPERM; i++) {
			ret = k8s_list(sa, &k8s_configmaps, ns, NULL, &l, &err);
			if (ret == -EPERM)
				k8st_sleep_ms(100);
		}
		T_ASSERT(!ret, "%s", err.msg);
		k8s_items_free(l);
	}
	T_ASSERT_EQ(k8s_list(sa, &k8s_secrets, ns, NULL, &l, &err), -EPERM);
	k8s_client_free(sa);
	free(kc);
	k8s_secret_free(tok, strlen(tok));
	free(user);

	/* a token the server does not know: 401, one line, no storm */
	kc = k8st_kubeconfig_for(tmp, "bad.kubeconfig", k8s_config_server(cfg), ca_path(), NULL,
				 "token: not-a-valid-token");
	sa = k8st_client(kc, NULL);
	T_ASSERT_EQ(k8s_list(sa, &k8s_configmaps, ns, NULL, &l, &err), -EACCES);
	T_ASSERT(err.http == 401 && strstr(err.msg, "refused the credentials") &&
			 strstr(err.msg, kc) && err.exit == K8S_EXIT_ACCESS,
		 "%s", err.msg);
	{
		struct k8s_client_stats st;

		k8s_client_stats(sa, &st);
		T_ASSERT_EQ(st.requests, 1); /* a static token cannot get better: no second try */
	}
	k8s_client_free(sa);
	free(kc);
}

/* a CA that does not match: one line naming the CA file */
static void test_wrong_ca(void)
{
	const struct k8s_config *cfg = k8s_client_config(c);
	const char *other = getenv("K8S_OTHER_CA");
	struct k8s_client *x;
	struct k8s_items *l;
	struct k8s_err err;
	char *kc;

	if (!other || strncmp(k8s_config_server(cfg), "https://", 8))
		return;
	kc = k8st_kubeconfig_for(tmp, "wrongca.kubeconfig", k8s_config_server(cfg), other, NULL,
				 "token: whatever");
	x = k8st_client(kc, NULL);
	T_ASSERT_EQ(k8s_list(x, &k8s_configmaps, ns, NULL, &l, &err), -EPROTO);
	T_ASSERT(strstr(err.msg, other) && strstr(err.msg, "not signed by") && strstr(err.msg, kc),
		 "%s", err.msg);
	k8s_client_free(x);
	free(kc);
}

static void run_all(const char *kubeconfig, const char *what)
{
	struct k8s_client_stats st;

	printf("# %s\n", what);
	c = k8st_client(kubeconfig, NULL);
	ns = k8st_ns(c, "ferry-k8s-api");
	test_crud();
	test_conflicts_and_patches();
	test_apply();
	test_scale_status();
	test_informer();
	test_events_and_lease();
	test_identities();
	test_wrong_ca();
	k8s_client_stats(c, &st);
	printf("# %llu requests, %llu over HTTP/2, %llu connections\n",
	       (unsigned long long)st.requests, (unsigned long long)st.http2,
	       (unsigned long long)st.connections);
	k8st_ns_delete(c, ns);
	free(ns);
	k8s_client_free(c);
}

int main(void)
{
	tmp = getenv("K8S_TMP") ? getenv("K8S_TMP") : "/tmp";
	run_all(k8st_kubeconfig(), "the API server (FERRY_TEST_KUBECONFIG)");
	if (getenv("K8S_H2_KUBECONFIG"))
		run_all(getenv("K8S_H2_KUBECONFIG"), "its HTTP/2 front");
	printf("t_k8s_api: ok\n");
	return 0;
}
