// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_migrate_spec.c - the Migration's decoder
 * (control/migrate/spec.c) on any bytes, read as JSON or else as YAML: 0, or
 * -EINVAL with a one-line reason; what it accepts is a spec the plan takes
 * (a claim in each namespace, one class mapped or not) and whose status
 * serializes and parses back.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/migrate/migrate.h"
#include "k8s/k8s.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void plan(const struct mig_spec *s)
{
	static const struct mig_class classes[] = {{.name = "fast", .is_default = true}};
	struct mig_claim claims[MIG_MAX_NAMESPACES];
	struct mig_node_port nps[MIG_MAX_NAMESPACES], tnps[MIG_MAX_NAMESPACES];
	struct mig_lb lbs[MIG_MAX_NAMESPACES];
	struct mig_pull_secret pulls[MIG_MAX_NAMESPACES];
	bool found[MIG_MAX_NAMESPACES];
	struct mig_quota q = {.hard = 1, .claims_hard = -1};
	struct mig_facts f = {.source = {.classes = classes, .n_classes = 1},
			      .target = {.classes = classes, .n_classes = 1},
			      .source_ns_found = found,
			      .claims = claims,
			      .n_claims = s->n_namespaces,
			      .quotas = &q,
			      .n_quotas = 1,
			      /* the Services' and pull secrets' checks, every read refused said */
			      .node_ports = nps,
			      .n_node_ports = s->n_namespaces,
			      .target_node_ports = tnps,
			      .n_target_node_ports = s->n_namespaces,
			      .target_services_known = true,
			      .lbs = lbs,
			      .n_lbs = s->n_namespaces,
			      .pulls = pulls,
			      .n_pulls = s->n_namespaces,
			      .snapshots_known = true,
			      .unread = ~0u};
	struct mig_plan p;
	struct k8s_obj *st = NULL, *back = NULL;
	char *json;

	if ((!s->n_namespaces && !s->ns_selector[0]) || s->n_namespaces > MIG_MAX_NAMESPACES ||
	    !s->secret[0] || !s->secret_key[0] || s->timeout_s < 1 || s->timeout_s > 300)
		abort();
	for (size_t i = 0; i < s->n_namespaces; i++) {
		found[i] = i % 2 == 0;
		claims[i] = (struct mig_claim){.ns = s->namespaces[i],
					       .target_ns = s->target_namespaces[i],
					       .name = "data",
					       .storage_class =
						       s->n_class_map ? s->class_map[0].from : NULL,
					       .phase = "Bound",
					       .bytes = 1 << 20,
					       .access = MIG_RWO};
		/* namespace i's Service keeps the port the target's (i + 1)'s holds */
		nps[i] = (struct mig_node_port){s->namespaces[i], "web", 30000 + (int64_t)(i % 3),
						i % 2 == 0};
		tnps[i] = (struct mig_node_port){s->target_namespaces[(i + 1) % s->n_namespaces],
						 "web", 30000 + (int64_t)(i % 3), false};
		lbs[i] = (struct mig_lb){s->namespaces[i], "lb", i % 2 ? "192.0.2.1" : NULL,
					 i % 3 ? NULL : "192.0.2.2"};
		pulls[i] = (struct mig_pull_secret){s->namespaces[i], "p", "regcred", i % 2 == 1};
	}
	q.ns = s->target_namespaces[0];
	q.name = "q";
	if (mig_plan_make(s, &f, &p))
		abort();
	if (mig_plan_status(&p, &f, &st))
		abort();
	json = k8s_obj_json(st);
	if (!json || k8s_obj_parse(json, strlen(json), &back))
		abort();
	free(json);
	k8s_obj_free(back);
	k8s_obj_free(st);
	mig_plan_fini(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct k8s_obj *o = NULL;
	struct k8s_err kerr;
	struct mig_spec *s = malloc(sizeof(*s));
	char why[256];
	int ret;

	if (!s)
		return 0;
	if (k8s_obj_parse((const char *)data, size, &o) &&
	    k8s_obj_parse_yaml((const char *)data, size, &o, &kerr)) {
		free(s);
		return 0;
	}
	ret = mig_spec_decode(o, s, why, sizeof(why));
	if (ret == 0 && s->ns_selector[0] && (size & 2)) {
		/* what the selector found on the source (the last not a namespace's name) */
		static const char *const found[] = {"team-a", "team-b", "Bad_NS"};

		ret = mig_spec_add_namespaces(o, s, found, 2 + (size & 1), why, sizeof(why));
		if ((size & 1) && !ret)
			abort(); /* Bad_NS is no namespace's name */
	}
	if (ret == 0)
		plan(s);
	else if (ret != -EINVAL || !why[0] || strchr(why, '\n'))
		abort();
	else if (ret != -EINVAL || !why[0] || strchr(why, '\n'))
		abort();
	k8s_obj_free(o);
	free(s);
	return 0;
}
