// SPDX-License-Identifier: MIT
/*
 * tests/cluster/t_objects_probe.c - control/cluster's collection and
 * restore over the cluster of KUBECONFIG, for tests/cluster/t_objects_kbox.py.
 *
 *   t_objects_probe collect SPEC_JSON     JSON lines of the objects taken on
 *                                         stdout; then on stderr one line
 *                                         "VOLUME {...}" per volume and
 *                                         "WARNING ..." per warning
 *   t_objects_probe restore OPTS_JSON [NAME]   JSON lines on stdin; one line
 *                                         per object on stdout: {"kind",
 *                                         "namespace","name","tier",
 *                                         "outcome","reason"}
 * Exit 0; 1 with one line on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cluster/cluster.h"
#include "k8s/k8s.h"

static int emit(void *arg, const struct cluster_item *it, const char *line, size_t len)
{
	(void)arg;
	(void)it;
	if (fwrite(line, 1, len, stdout) != len || fputc('\n', stdout) == EOF)
		return -EIO;
	return 0;
}

static void result(void *arg, const struct cluster_plan_item *it, enum cluster_outcome oc,
		   const char *reason)
{
	struct k8s_obj *o = NULL;
	char *s;

	(void)arg;
	if (k8s_obj_new(&o) || k8s_obj_set_str(o, "/kind", it->kind) ||
	    k8s_obj_set_str(o, "/namespace", it->ns) || k8s_obj_set_str(o, "/name", it->name) ||
	    k8s_obj_set_int(o, "/tier", it->tier) ||
	    k8s_obj_set_str(o, "/outcome", cluster_outcome_name(oc)) ||
	    k8s_obj_set_str(o, "/reason", reason) || !(s = k8s_obj_json(o))) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	printf("%s\n", s);
	free(s);
	k8s_obj_free(o);
}

static struct k8s_obj *arg_json(const char *s)
{
	struct k8s_obj *o = NULL;

	if (k8s_obj_parse(s, strlen(s), &o)) {
		fprintf(stderr, "not JSON: %s\n", s);
		exit(1);
	}
	return o;
}

static int collect(struct k8s_client *c, const char *spec_json)
{
	struct k8s_obj *spec = arg_json(spec_json);
	struct cluster_collect_result res;
	struct cluster_sel *s = NULL;
	struct cluster_err err;
	int ret;

	ret = cluster_sel_parse(spec, &s, &err);
	if (!ret)
		ret = cluster_collect(c, s, NULL, emit, NULL, &res, &err);
	if (ret) {
		fprintf(stderr, "collect: %s\n", err.msg);
		goto out;
	}
	for (size_t i = 0; i < res.nvolumes; i++) {
		const struct cluster_volume *v = &res.volumes[i];

		fprintf(stderr,
			"VOLUME {\"namespace\":\"%s\",\"pvc\":\"%s\",\"pv\":\"%s\",\"skip\":%s,"
			"\"snapshottable\":%s}\n",
			v->ns, v->pvc, v->pv, v->skip ? "true" : "false",
			v->snapshottable ? "true" : "false");
	}
	for (size_t i = 0; i < res.nwarnings; i++)
		fprintf(stderr, "WARNING %s\n", res.warnings[i]);
	cluster_collect_result_fini(&res);
out:
	cluster_sel_free(s);
	k8s_obj_free(spec);
	return ret;
}

static int restore(struct k8s_client *c, const char *opts_json, const char *name)
{
	struct k8s_obj *spec = arg_json(opts_json);
	struct cluster_restore_opts o = {0};
	struct cluster_restore_plan p = {0};
	struct cluster_apply_opts ao = {.workers = 4, .qps = 100};
	struct cluster_err err;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	int ret;

	ret = cluster_restore_opts_read(spec, name, &o, &err);
	while (!ret && (n = getline(&line, &cap, stdin)) > 0) {
		lineno++;
		ret = cluster_restore_plan_line(&p, line, (size_t)n, &err);
		if (ret)
			fprintf(stderr, "line %zu: ", lineno);
	}
	if (!ret)
		ret = cluster_restore_plan_finish(&p, &o, &err);
	if (!ret)
		ret = cluster_restore_apply(c, &p, &o, &ao, result, NULL, NULL, &err);
	if (ret)
		fprintf(stderr, "restore: %s\n", err.msg);
	free(line);
	cluster_restore_plan_fini(&p);
	cluster_restore_opts_fini(&o);
	k8s_obj_free(spec);
	return ret;
}

int main(int argc, char **argv)
{
	struct k8s_config_opts copts = {.sz = sizeof(copts)};
	struct k8s_client_opts opts = {.sz = sizeof(opts), .qps = -1};
	struct k8s_client *c = NULL;
	struct k8s_err kerr;
	int ret;

	if (argc < 3 || (strcmp(argv[1], "collect") && strcmp(argv[1], "restore"))) {
		fprintf(stderr, "usage: t_objects_probe collect SPEC | restore OPTS [NAME]\n");
		return 1;
	}
	ret = k8s_client_open(&copts, &opts, &c, &kerr);
	if (ret) {
		fprintf(stderr, "client: %s\n", kerr.msg);
		return 1;
	}
	if (!strcmp(argv[1], "collect"))
		ret = collect(c, argv[2]);
	else
		ret = restore(c, argv[2], argc > 3 ? argv[3] : "");
	k8s_client_free(c);
	return ret ? 1 : 0;
}
