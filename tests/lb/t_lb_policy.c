// SPDX-License-Identifier: MIT
/*
 * tests/lb/t_lb_policy.c - a LoadBalancePolicy's spec decoded
 * (lb_policy_parse()): the CRD's defaults when fields are absent, each field
 * mapped to struct lb_policy (and lb_weight_policy), and malformed specs
 * refused with -EINVAL and one line that names the field. The shipped
 * sample in the CRD's words (k8s/deploy/crd-loadbalancepolicies.yaml's
 * defaults) is the first row.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "control/lb/lb.h"
#include "k8s/k8s.h"
#include "t_helpers.h"

static int parse(const char *spec_json, struct lb_policy *p, struct lb_err *err)
{
	char doc[4096];
	struct k8s_obj *o = NULL;
	int ret;

	snprintf(doc, sizeof(doc),
		 "{\"apiVersion\":\"ferry.io/v1alpha1\",\"kind\":\"LoadBalancePolicy\","
		 "\"metadata\":{\"name\":\"p\",\"namespace\":\"web\"}%s%s}",
		 spec_json ? ",\"spec\":" : "", spec_json ? spec_json : "");
	T_ASSERT(!k8s_obj_parse(doc, strlen(doc), &o), "test JSON: %s", doc);
	memset(err, 0, sizeof(*err));
	ret = lb_policy_parse(o, p, err);
	k8s_obj_free(o);
	return ret;
}

static bool near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

static void check_defaults(void)
{
	struct lb_policy p;
	struct lb_err err;

	T_ASSERT(!parse("{\"service\":\"web\"}", &p, &err), "defaults: %s", err.msg);
	T_ASSERT(!strcmp(p.service, "web"), "service %s", p.service);
	T_ASSERT_EQ(p.w.signals, (unsigned int)LB_SIGNAL_CPU_REQUESTS); /* runQueue absent: off */
	T_ASSERT(near(p.w.floor, 0.05) && near(p.w.hysteresis, 0.10), "floor %g hyst %g", p.w.floor,
		 p.w.hysteresis);
	T_ASSERT(near(p.w.slow_start_s, 30) && near(p.w.besteffort_cores, 1.0), "slow %g be %g",
		 p.w.slow_start_s, p.w.besteffort_cores);
	T_ASSERT_EQ(p.update_period_s, 5u);
	T_ASSERT_EQ(p.w.scale, (uint32_t)LB_WEIGHT_SCALE);
	T_ASSERT(!p.route[0] && p.n_services == 0, "no route");
	T_ASSERT(!err.msg[0], "no message on success: %s", err.msg);

	/* what the API server stores for {service: web, runQueue: {}}: its defaults written out */
	T_ASSERT(
		!parse("{\"service\":\"web\",\"cpu\":\"Requests\",\"runQueue\":{\"enabled\":true,"
		       "\"targetSeconds\":\"0.002\"},\"floorPercent\":5,\"hysteresisPercent\":10,"
		       "\"updatePeriodSeconds\":5,\"slowStartSeconds\":30,\"bestEffortCPU\":\"1\"}",
		       &p, &err),
		"CRD defaults: %s", err.msg);
	T_ASSERT_EQ(p.w.signals, (unsigned int)(LB_SIGNAL_CPU_REQUESTS | LB_SIGNAL_RUNQ));
	T_ASSERT(near(p.w.runq_target_s, 0.002), "target %g", p.w.runq_target_s);
	T_ASSERT(!parse("{\"service\":\"web\",\"runQueue\":{}}", &p, &err), "runQueue {}: %s",
		 err.msg);
	T_ASSERT_EQ(p.w.signals, (unsigned int)(LB_SIGNAL_CPU_REQUESTS | LB_SIGNAL_RUNQ));
	T_ASSERT(near(p.w.runq_target_s, LB_DEFAULT_RUNQ_TARGET_S), "target %g", p.w.runq_target_s);
}

static void check_fields(void)
{
	struct lb_policy p;
	struct lb_err err;

	T_ASSERT(
		!parse("{\"service\":\"api-v2\",\"cpu\":\"Limits\",\"runQueue\":{\"enabled\":true,"
		       "\"targetSeconds\":\"5m\"},\"floorPercent\":100,\"hysteresisPercent\":0,"
		       "\"updatePeriodSeconds\":3600,\"slowStartSeconds\":0,\"bestEffortCPU\":\"250m\","
		       "\"httpRoute\":{\"name\":\"shop.route\",\"services\":[\"api-v1\",\"api-v2\"]}}",
		       &p, &err),
		"every field: %s", err.msg);
	T_ASSERT_EQ(p.w.signals, (unsigned int)(LB_SIGNAL_CPU_LIMITS | LB_SIGNAL_RUNQ));
	T_ASSERT(near(p.w.runq_target_s, 0.005), "5m s: %g", p.w.runq_target_s);
	T_ASSERT(near(p.w.floor, 1.0) && near(p.w.hysteresis, 0), "bounds");
	T_ASSERT(p.update_period_s == 3600 && near(p.w.slow_start_s, 0), "period, slow start");
	T_ASSERT(near(p.w.besteffort_cores, 0.25), "250m: %g", p.w.besteffort_cores);
	T_ASSERT(!strcmp(p.route, "shop.route") && p.n_services == 2 &&
			 !strcmp(p.services[0], "api-v1") && !strcmp(p.services[1], "api-v2"),
		 "route %s, %zu services", p.route, p.n_services);

	/* cpu None: the run queue alone; a number where int-or-string allows one */
	T_ASSERT(
		!parse("{\"service\":\"web\",\"cpu\":\"None\",\"runQueue\":{\"targetSeconds\":0.01},"
		       "\"bestEffortCPU\":2}",
		       &p, &err),
		"cpu None: %s", err.msg);
	T_ASSERT_EQ(p.w.signals, (unsigned int)LB_SIGNAL_RUNQ);
	T_ASSERT(near(p.w.runq_target_s, 0.01) && near(p.w.besteffort_cores, 2), "numbers %g %g",
		 p.w.runq_target_s, p.w.besteffort_cores);

	/* runQueue enabled false: the target is still checked, not used */
	T_ASSERT(!parse("{\"service\":\"web\",\"runQueue\":{\"enabled\":false}}", &p, &err), "%s",
		 err.msg);
	T_ASSERT_EQ(p.w.signals, (unsigned int)LB_SIGNAL_CPU_REQUESTS);

	/* a route without services weighs the policy's Service alone */
	T_ASSERT(!parse("{\"service\":\"web\",\"httpRoute\":{\"name\":\"r\"}}", &p, &err), "%s",
		 err.msg);
	T_ASSERT(p.n_services == 1 && !strcmp(p.services[0], "web"), "default services");
	T_ASSERT(!parse("{\"service\":\"web\",\"httpRoute\":{\"name\":\"r\",\"services\":[]}}", &p,
			&err),
		 "%s", err.msg);
	T_ASSERT(p.n_services == 1 && !strcmp(p.services[0], "web"), "empty services");
	/* null is absent (a field cleared by a merge patch) */
	T_ASSERT(!parse("{\"service\":\"web\",\"httpRoute\":null,\"runQueue\":null,\"cpu\":null}",
			&p, &err),
		 "nulls: %s", err.msg);
	T_ASSERT(!p.route[0] && p.w.signals == LB_SIGNAL_CPU_REQUESTS, "nulls are absent");
}

struct bad_row {
	const char *spec; /* NULL: no spec at all */
	const char *names;
};

static const struct bad_row bad_rows[] = {
	{NULL, "spec: Required value"},
	{"[]", "spec: must be an object"},
	{"\"web\"", "spec: must be an object"},
	{"{}", "spec.service: Required value"},
	{"{\"service\":null}", "spec.service: Required value"},
	{"{\"service\":\"\"}", "spec.service:"},
	{"{\"service\":7}", "spec.service:"},
	{"{\"service\":\"Web\"}", "spec.service:"},
	{"{\"service\":\"1web\"}", "spec.service:"},
	{"{\"service\":\"web-\"}", "spec.service:"},
	{"{\"service\":\"web.svc\"}", "spec.service:"},
	{"{\"service\":\"a234567890123456789012345678901234567890123456789012345678901234\"}",
	 "spec.service:"},
	{"{\"service\":\"web\",\"cpu\":\"requests\"}",
	 "spec.cpu: must be Requests, Limits or None"},
	{"{\"service\":\"web\",\"cpu\":true}", "spec.cpu:"},
	{"{\"service\":\"web\",\"cpu\":\"None\"}", "leaves no signal"},
	{"{\"service\":\"web\",\"cpu\":\"None\",\"runQueue\":{\"enabled\":false}}",
	 "leaves no signal"},
	{"{\"service\":\"web\",\"runQueue\":true}", "spec.runQueue: must be an object"},
	{"{\"service\":\"web\",\"runQueue\":{\"enabled\":\"yes\"}}", "spec.runQueue.enabled"},
	{"{\"service\":\"web\",\"runQueue\":{\"targetSeconds\":\"0\"}}",
	 "spec.runQueue.targetSeconds: more than 0"},
	{"{\"service\":\"web\",\"runQueue\":{\"targetSeconds\":\"-2m\"}}",
	 "spec.runQueue.targetSeconds: more than 0"},
	{"{\"service\":\"web\",\"runQueue\":{\"targetSeconds\":\"11\"}}",
	 "spec.runQueue.targetSeconds: more than 0 and at most 10"},
	{"{\"service\":\"web\",\"runQueue\":{\"targetSeconds\":\"2ms\"}}",
	 "spec.runQueue.targetSeconds: \"2ms\" is not a quantity"},
	{"{\"service\":\"web\",\"runQueue\":{\"targetSeconds\":[1]}}",
	 "spec.runQueue.targetSeconds: must be a quantity"},
	{"{\"service\":\"web\",\"runQueue\":{\"targetSeconds\":1e400}}",
	 "spec.runQueue.targetSeconds"},
	{"{\"service\":\"web\",\"floorPercent\":0}",
	 "spec.floorPercent: must be an integer from 1 to 100"},
	{"{\"service\":\"web\",\"floorPercent\":101}", "spec.floorPercent:"},
	{"{\"service\":\"web\",\"floorPercent\":5.5}", "spec.floorPercent:"},
	{"{\"service\":\"web\",\"floorPercent\":\"5\"}", "spec.floorPercent:"},
	{"{\"service\":\"web\",\"hysteresisPercent\":100}",
	 "spec.hysteresisPercent: must be an integer from 0 to 99"},
	{"{\"service\":\"web\",\"hysteresisPercent\":-1}", "spec.hysteresisPercent:"},
	{"{\"service\":\"web\",\"updatePeriodSeconds\":4}",
	 "spec.updatePeriodSeconds: must be an integer from 5 to 3600"},
	{"{\"service\":\"web\",\"updatePeriodSeconds\":1}", "spec.updatePeriodSeconds:"},
	{"{\"service\":\"web\",\"updatePeriodSeconds\":3601}", "spec.updatePeriodSeconds:"},
	{"{\"service\":\"web\",\"slowStartSeconds\":-1}", "spec.slowStartSeconds:"},
	{"{\"service\":\"web\",\"slowStartSeconds\":3601}", "spec.slowStartSeconds:"},
	{"{\"service\":\"web\",\"bestEffortCPU\":\"0\"}", "spec.bestEffortCPU: more than 0"},
	{"{\"service\":\"web\",\"bestEffortCPU\":\"2000\"}",
	 "spec.bestEffortCPU: more than 0 and at most 1024"},
	{"{\"service\":\"web\",\"bestEffortCPU\":\"one\"}",
	 "spec.bestEffortCPU: \"one\" is not a quantity"},
	{"{\"service\":\"web\",\"bestEffortCPU\":\"9999999999999999999\"}", "spec.bestEffortCPU:"},
	{"{\"service\":\"web\",\"bestEffortCPU\":{}}", "spec.bestEffortCPU: must be a quantity"},
	{"{\"service\":\"web\",\"httpRoute\":\"r\"}", "spec.httpRoute: must be an object"},
	{"{\"service\":\"web\",\"httpRoute\":{}}", "spec.httpRoute.name: Required value"},
	{"{\"service\":\"web\",\"httpRoute\":{\"name\":\"R\"}}", "spec.httpRoute.name:"},
	{"{\"service\":\"web\",\"httpRoute\":{\"name\":\"a..b\"}}", "spec.httpRoute.name:"},
	{"{\"service\":\"web\",\"httpRoute\":{\"name\":\"r\",\"services\":\"web\"}}",
	 "spec.httpRoute.services: must be a list"},
	{"{\"service\":\"web\",\"httpRoute\":{\"name\":\"r\",\"services\":[\"a\",3]}}",
	 "spec.httpRoute.services[1]:"},
	{"{\"service\":\"web\",\"httpRoute\":{\"name\":\"r\",\"services\":[\"a\",\"b\",\"a\"]}}",
	 "spec.httpRoute.services[2]: a is listed twice"},
	{"{\"service\":\"web\",\"httpRoute\":{\"name\":\"r\",\"services\":[\"a\",\"b\",\"c\",\"d\","
	 "\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]}}",
	 "spec.httpRoute.services: at most 16 Services"},
	/* a quoted value with a newline in it stays on one line */
	{"{\"service\":\"web\",\"bestEffortCPU\":\"1\\n2\"}", "spec.bestEffortCPU: \"1 2\" is not"},
};

static void check_bad(void)
{
	for (size_t i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		const struct bad_row *r = &bad_rows[i];
		struct lb_policy p;
		struct lb_err err;
		int ret = parse(r->spec, &p, &err);

		T_ASSERT(ret == -EINVAL, "row %zu (%s): %d", i, r->spec ? r->spec : "no spec", ret);
		T_ASSERT(strstr(err.msg, r->names), "row %zu (%s): message '%s' lacks '%s'", i,
			 r->spec ? r->spec : "no spec", err.msg, r->names);
		T_ASSERT(!strchr(err.msg, '\n'), "row %zu: one line", i);
	}
	/* @err may be NULL */
	{
		struct k8s_obj *o = NULL;
		struct lb_policy p;

		T_ASSERT(!k8s_obj_parse("{\"spec\":{}}", 11, &o), "json");
		T_ASSERT(lb_policy_parse(o, &p, NULL) == -EINVAL, "NULL err");
		T_ASSERT(lb_policy_parse(NULL, &p, NULL) == -EINVAL, "NULL object");
		k8s_obj_free(o);
	}
}

int main(void)
{
	check_defaults();
	check_fields();
	check_bad();
	printf("t_lb_policy: defaults, fields, %zu malformed specs ok\n",
	       sizeof(bad_rows) / sizeof(bad_rows[0]));
	return T_EXIT_PASS;
}
