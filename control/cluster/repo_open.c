// SPDX-License-Identifier: MIT
/*
 * control/cluster/repo_open.c - a Repository (ferry.io/v1alpha1, in
 * ferry-system) opened for a reconciler: its object, its store at spec.url
 * with the controller's own S3 credentials, the repository, unlocked with
 * the password of its Secret (cluster_priv.h "struct cluster_repo").
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cluster_priv.h"
#include "datapath/dp.h"
#include "k8s/k8s.h"
#include "s3/store.h"

#define REPO_PASSWORD_KEY "password"

/* the password of the Repository's Secret; *@pw NULL when it names none */
static int password(struct k8s_client *c, struct cluster_repo *r, char **pw, size_t *len,
		    struct k8s_err *err)
{
	const char *sname = k8s_obj_str(r->obj, "/spec/passwordSecret/name");
	const char *key = k8s_obj_str(r->obj, "/spec/passwordSecret/key");
	struct k8s_obj *sec = NULL;
	int ret;

	*pw = NULL;
	*len = 0;
	if (!sname)
		return 0;
	if (!key || !key[0])
		key = REPO_PASSWORD_KEY;
	ret = k8s_get(c, &k8s_secrets, CLUSTER_REPO_NS, sname, NULL, &sec, err);
	if (ret == -ENOENT)
		return cluster_refuse(
			r->why, sizeof(r->why),
			"the password Secret %s/%.200s of the Repository does not exist",
			CLUSTER_REPO_NS, sname);
	if (ret)
		return ret;
	ret = k8s_secret_get(sec, key, pw, len);
	k8s_obj_free(sec);
	if (ret == -ENOMEM)
		return cluster_fail(err, ret, "OutOfMemory",
				    "reading the password Secret: out of memory");
	if (ret)
		return cluster_refuse(r->why, sizeof(r->why),
				      "the password Secret %s/%.100s has no key %.100s",
				      CLUSTER_REPO_NS, sname, key);
	if (*len && (*pw)[*len - 1] == '\n')
		(*pw)[--*len] = '\0';
	return 0;
}

int cluster_repo_open(struct k8s_client *c, const char *name, bool write, struct cluster_repo *r,
		      struct k8s_err *err)
{
	struct s3_store_opts so = {.sz = sizeof(so)};
	const char *url, *mode;
	char *pw = NULL;
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
	if (k8s_obj_at(r->obj, "/spec/credentialsSecret"))
		return cluster_refuse(
			r->why, sizeof(r->why),
			"the Repository %s/%.100s: credentialsSecret is not read by the "
			"controller yet (it uses its own S3 credentials)",
			CLUSTER_REPO_NS, name);
	so.endpoint = k8s_obj_str(r->obj, "/spec/endpoint");
	so.region = k8s_obj_str(r->obj, "/spec/region");
	ret = s3_store_open(url, &so, &r->st);
	if (ret == -ENOMEM)
		return cluster_fail(err, ret, "OutOfMemory", "opening %.200s: out of memory", url);
	if (ret)
		return cluster_refuse(r->why, sizeof(r->why), "the Repository %s/%.60s: %.160s",
				      CLUSTER_REPO_NS, name, s3_last_error());
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
	ret = password(c, r, &pw, &len, err);
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
