// SPDX-License-Identifier: MIT
/*
 * k8s/events.c - Events (events.k8s.io/v1) about an object, named and
 * timed as client-go's recorder does: <name>.<unix ns in hex>, eventTime a
 * MicroTime. Events are best effort: callers log a failure and go on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "k8s_int.h"

#define NOTE_MAX 1024 /* the API server refuses longer notes */

const struct k8s_resource k8s_events = K8S_RESOURCE("events.k8s.io", "v1", "events", "Event", true);

int k8s_event_emit(struct k8s_client *c, const struct k8s_event *ev, struct k8s_err *err)
{
	const struct k8s_obj *reg = ev ? ev->regarding : NULL;
	const char *rname = k8s_obj_get_name(reg), *rns = k8s_obj_get_ns(reg);
	char name[K8S_KEY_SIZE], now[K8S_TIME_SIZE], note[NOTE_MAX + 1];
	struct k8s_obj *o = NULL;
	int64_t t = k8s_now_ns();
	int ret;

	kerr_clear(err);
	if (!ev || !rname || !ev->reason || !ev->type || !ev->action)
		return kerr_set(
			err, -EINVAL, K8S_EXIT_USAGE, "BadRequest",
			"an event needs the object it is about, a type, a reason and an action");
	if (!rns || !*rns)
		rns = "default";
	snprintf(name, sizeof(name), "%.200s.%llx", rname, (unsigned long long)t);
	snprintf(note, sizeof(note), "%s", ev->note ? ev->note : "");
	k8s_time_format(t, true, now);
	ret = k8s_obj_new_kind(&k8s_events, rns, name, &o);
	if (!ret)
		ret = k8s_obj_set_str(o, "/eventTime", now);
	if (!ret)
		ret = k8s_obj_set_str(o, "/type", ev->type);
	if (!ret)
		ret = k8s_obj_set_str(o, "/reason", ev->reason);
	if (!ret)
		ret = k8s_obj_set_str(o, "/action", ev->action);
	if (!ret)
		ret = k8s_obj_set_str(o, "/note", note);
	if (!ret)
		ret = k8s_obj_set_str(o, "/reportingController",
				      ev->controller ? ev->controller : "ferry.io/controller");
	if (!ret)
		ret = k8s_obj_set_str(o, "/reportingInstance",
				      ev->instance ? ev->instance : "ferry");
	if (!ret && k8s_obj_str(reg, "/apiVersion"))
		ret = k8s_obj_set_str(o, "/regarding/apiVersion", k8s_obj_str(reg, "/apiVersion"));
	if (!ret && k8s_obj_str(reg, "/kind"))
		ret = k8s_obj_set_str(o, "/regarding/kind", k8s_obj_str(reg, "/kind"));
	if (!ret)
		ret = k8s_obj_set_str(o, "/regarding/name", rname);
	if (!ret && k8s_obj_get_ns(reg))
		ret = k8s_obj_set_str(o, "/regarding/namespace", k8s_obj_get_ns(reg));
	if (!ret && k8s_obj_get_uid(reg))
		ret = k8s_obj_set_str(o, "/regarding/uid", k8s_obj_get_uid(reg));
	if (!ret && k8s_obj_get_rv(reg))
		ret = k8s_obj_set_str(o, "/regarding/resourceVersion", k8s_obj_get_rv(reg));
	if (ret) {
		k8s_obj_free(o);
		return kerr_set(err, ret, -1, "", "out of memory");
	}
	ret = k8s_create(c, &k8s_events, rns, o, NULL, NULL, err);
	k8s_obj_free(o);
	return ret;
}
