// SPDX-License-Identifier: MIT
/*
 * control/cluster/repo_open.c - a Repository (ferry.io/v1alpha1, in
 * ferry-system) opened for a reconciler: its object, its store at spec.url
 * (endpoint, region, caBundle, the keys of its credentialsSecret, else the
 * controller's own credentials: control/xfer/repo_conn.c), the repository,
 * unlocked with the password of its Secret (cluster_priv.h "struct
 * cluster_repo").
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cluster_priv.h"
#include "datapath/dp.h"
#include "k8s/k8s.h"
#include "control/xfer/xfer.h"
#include "s3/store.h"

int cluster_repo_open(struct k8s_client *c, const char *name, bool write, struct cluster_repo *r,
		      struct k8s_err *err)
{
	struct xfer_repo_ref ref;
	const char *url, *mode;
	char *pw = NULL, msg[400];
	size_t len = 0;
	int ret;

	assert(name && name[0]);
	snprintf(r->name, sizeof(r->name), "%s", name);
	ret = k8s_get(c, &cluster_repositories, CLUSTER_REPO_NS, name, NULL, &r->obj, err);
	if (ret == -ENOENT)
		return cluster_refuse(r->why, sizeof(r->why),
				      "the Repository %s/%.200s does not exist", CLUSTER_REPO_NS,
				      name);
	if (ret)
		return ret;
	url = k8s_obj_str(r->obj, "/spec/url");
	if (!url || !url[0])
		return cluster_refuse(r->why, sizeof(r->why),
				      "the Repository %s/%.200s has no spec.url", CLUSTER_REPO_NS,
				      name);
	mode = k8s_obj_str(r->obj, "/spec/accessMode");
	if (write && mode && !strcmp(mode, "ReadOnly"))
		return cluster_refuse(r->why, sizeof(r->why),
				      "the Repository %s/%.200s is ReadOnly", CLUSTER_REPO_NS,
				      name);
	xfer_repo_ref_of_repository(r->obj, &ref);
	ret = xfer_repo_store_open(c, &ref, &r->st, msg, sizeof(msg), err);
	if (ret == -ENOMEM)
		return cluster_fail(err, ret, "OutOfMemory", "opening %.200s: out of memory", url);
	if (ret == 1)
		return cluster_refuse(r->why, sizeof(r->why), "the Repository %s/%.60s: %.180s",
				      CLUSTER_REPO_NS, name, msg);
	if (ret)
		return ret;
	ret = dp_repo_open(r->st, &r->repo);
	if (ret == -ENOENT || ret == -EPROTONOSUPPORT || ret == -EBADMSG)
		return cluster_refuse(r->why, sizeof(r->why), "the Repository %s/%.60s: %.160s",
				      CLUSTER_REPO_NS, name, dp_last_error());
	if (ret)
		return cluster_fail(err, ret, "RepositoryUnavailable",
				    "the Repository %s/%.60s: %.160s", CLUSTER_REPO_NS, name,
				    dp_last_error());
	if (!dp_repo_is_encrypted(r->repo))
		return 0;
	ret = xfer_repo_password(c, &ref, &pw, &len, msg, sizeof(msg), err);
	if (ret == -ENOMEM)
		return cluster_fail(err, ret, "OutOfMemory", "the password Secret: out of memory");
	if (ret == 1)
		return cluster_refuse(r->why, sizeof(r->why), "the Repository %s/%.60s: %.180s",
				      CLUSTER_REPO_NS, name, msg);
	if (ret)
		return ret;
	if (!pw)
		return cluster_refuse(r->why, sizeof(r->why),
				      "the repository of Repository %s/%.100s is encrypted: its "
				      "spec.passwordSecret is required",
				      CLUSTER_REPO_NS, name);
	ret = dp_repo_unlock(r->repo, pw, len);
	k8s_secret_free(pw, len);
	if (ret == -EKEYREJECTED)
		return cluster_refuse(
			r->why, sizeof(r->why),
			"the Repository %s/%.100s: the password of its Secret is wrong",
			CLUSTER_REPO_NS, name);
	if (ret)
		return cluster_fail(err, ret, "RepositoryUnavailable",
				    "the Repository %s/%.60s: %.160s", CLUSTER_REPO_NS, name,
				    dp_last_error());
	return 0;
}

void cluster_repo_close(struct cluster_repo *r)
{
	if (!r)
		return;
	dp_repo_free(r->repo);
	s3_store_free(r->st);
	k8s_obj_free(r->obj);
	r->repo = NULL;
	r->st = NULL;
	r->obj = NULL;
}

bool cluster_repo_read_only(const struct cluster_repo *r)
{
	const char *mode = r->obj ? k8s_obj_str(r->obj, "/spec/accessMode") : NULL;

	return mode && !strcmp(mode, "ReadOnly");
}
