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
	bool found[MIG_MAX_NAMESPACES];
	struct mig_quota q = {.hard = 1, .claims_hard = -1};
	struct mig_facts f = {.source = {.classes = classes, .n_classes = 1},
			      .target = {.classes = classes, .n_classes = 1},
			      .source_ns_found = found,
			      .claims = claims,
			      .n_claims = s->n_namespaces,
			      .quotas = &q,
			      .n_quotas = 1};
	struct mig_plan p;
	struct k8s_obj *st = NULL, *back = NULL;
	char *json;

	if (!s->n_namespaces || s->n_namespaces > MIG_MAX_NAMESPACES || !s->secret[0] ||
	    !s->secret_key[0] || s->timeout_s < 1 || s->timeout_s > 300)
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
	if (ret == 0)
		plan(s);
	else if (ret != -EINVAL || !why[0] || strchr(why, '\n'))
		abort();
	k8s_obj_free(o);
	free(s);
	return 0;
}
