// SPDX-License-Identifier: MIT
/*
 * control/bluegreen/autoscalers.c - the autoscalers of blue during a switch
 * (bluegreen.h): HorizontalPodAutoscalers (autoscaling/v2) and ferry's
 * ScalePolicies whose scaleTargetRef names blue's StatefulSet.
 *
 * The switch and an autoscaler never fight over blue's replicas (DESIGN.md
 * "Ownership"): at the start each HPA's minReplicas and maxReplicas are kept
 * in status.autoscalers[] and both set to blue's replicas, so it holds blue
 * as it is; a ScalePolicy is paused by blue's ferry.io/autoscaling-paused.
 * At the switch each one's scaleTargetRef moves to green (an HPA's bounds
 * given back); a rollback moves it back to blue, an abort gives the bounds
 * back where they were.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bg_priv.h"

static const struct k8s_resource bg_hpas = K8S_RESOURCE(
	"autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true);
static const struct k8s_resource bg_scalepolicies =
	K8S_RESOURCE("ferry.io", "v1alpha1", "scalepolicies", "ScalePolicy", true);

static const struct k8s_resource *kinds[] = {&bg_hpas, &bg_scalepolicies};

/* status.autoscalers: every autoscaler of blue, once (at the start) */
static int record(struct sw *s)
{
	int ret = 0;

	if (k8s_obj_type(s->st, "/autoscalers") == K8S_T_ARRAY)
		return 0;
	ret = k8s_obj_set_empty(s->st, "/autoscalers", K8S_T_ARRAY);
	s->dirty = true;
	for (size_t k = 0; !ret && k < 2; k++) {
		struct k8s_items *l = NULL;

		ret = k8s_list(s->c, kinds[k], s->req->ns, NULL, &l, s->err);
		if (ret == -ENOENT || ret == -EOPNOTSUPP) { /* the kind is not served here */
			*s->err = (struct k8s_err){0};
			ret = 0;
		}
		for (size_t i = 0; !ret && i < k8s_items_len(l); i++) {
			const struct k8s_obj *a = k8s_items_at(l, i);
			struct k8s_obj *e = NULL;
			int64_t v;

			if (!bg_is(k8s_obj_str(a, "/spec/scaleTargetRef/kind"), "StatefulSet") ||
			    !bg_is(k8s_obj_str(a, "/spec/scaleTargetRef/name"), s->spec->blue))
				continue;
			ret = k8s_obj_new(&e);
			if (!ret)
				ret = k8s_obj_set_str(e, "/kind", kinds[k]->kind);
			if (!ret)
				ret = k8s_obj_set_str(e, "/name", k8s_obj_get_name(a));
			if (!ret && k == 0 && !k8s_obj_int(a, "/spec/minReplicas", &v))
				ret = k8s_obj_set_int(e, "/minReplicas", v);
			if (!ret && k == 0 && !k8s_obj_int(a, "/spec/maxReplicas", &v))
				ret = k8s_obj_set_int(e, "/maxReplicas", v);
			if (!ret) {
				ret = k8s_obj_set(s->st, "/autoscalers/-", e);
				if (!ret)
					e = NULL;
			}
			k8s_obj_free(e);
		}
		k8s_items_free(l);
	}
	return ret;
}

/*
 * Each recorded autoscaler: its target @target (NULL: unchanged), an HPA's
 * bounds both @hold (0: given back as recorded).
 */
static int set_all(struct sw *s, const char *target, int64_t hold)
{
	int ret = 0;

	for (const struct k8s_obj *e = k8s_obj_first(k8s_obj_at(s->st, "/autoscalers")); !ret && e;
	     e = k8s_obj_next(e)) {
		bool hpa = bg_is(k8s_obj_str(e, "/kind"), bg_hpas.kind);
		struct k8s_obj *p = NULL;
		int64_t min = -1, max = -1;

		k8s_obj_int(e, "/minReplicas", &min);
		k8s_obj_int(e, "/maxReplicas", &max);
		ret = k8s_obj_new(&p);
		if (!ret && target)
			ret = k8s_obj_set_str(p, "/spec/scaleTargetRef/name", target);
		if (!ret && hpa)
			ret = hold || min >= 0
				      ? k8s_obj_set_int(p, "/spec/minReplicas", hold ?: min)
				      : k8s_obj_set_null(p, "/spec/minReplicas");
		if (!ret && hpa && (hold || max >= 0))
			ret = k8s_obj_set_int(p, "/spec/maxReplicas", hold ?: max);
		if (!ret)
			ret = k8s_patch(s->c, hpa ? &bg_hpas : &bg_scalepolicies, s->req->ns,
					k8s_obj_str(e, "/name"), K8S_PATCH_MERGE, p, NULL, NULL,
					s->err);
		if (ret == -ENOENT) { /* deleted meanwhile: nothing to carry */
			*s->err = (struct k8s_err){0};
			ret = 0;
		}
		k8s_obj_free(p);
	}
	return ret;
}

int bg_autoscalers(struct sw *s, enum bg_as what)
{
	int ret = 0;

	switch (what) {
	case BG_AS_HOLD:
		ret = record(s);
		if (!ret)
			ret = set_all(s, NULL, bg_sint(s, "/blue/replicas", 1));
		break;
	case BG_AS_MOVE:
		ret = set_all(s, s->spec->green, 0);
		break;
	case BG_AS_BACK:
		ret = set_all(s, s->spec->blue, 0);
		break;
	}
	return ret;
}
