// SPDX-License-Identifier: MIT
/*
 * tests/switch/t_switch_spec.c - a StatefulSwitch's spec decoded (issue 20):
 * the defaults, green's name, each field's range, and malformed specs, each
 * refused with its field named in one line; a round's verdict.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/bluegreen/bluegreen.h"
#include "t_helpers.h"

#define MiB (1024LL * 1024)

static int decode(const char *json, struct bg_spec *s, struct k8s_obj **o, char *why, size_t len)
{
	T_ASSERT(!k8s_obj_parse(json, strlen(json), o), "parse %s", json);
	return bg_spec_decode(*o, s, why, len);
}

static void good(void)
{
	struct k8s_obj *o = NULL;
	struct bg_spec s;
	char why[256];

	T_ASSERT(!decode("{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\"}}",
			 &s, &o, why, sizeof(why)),
		 "%s", why);
	T_ASSERT(!strcmp(s.blue, "db") && !strcmp(s.green, "db-green"), "green %s", s.green);
	T_ASSERT(!strcmp(s.active, "db") && !s.preview && !strcmp(s.repository, "default"),
		 "names");
	T_ASSERT(s.sync_interval_s == BG_DEFAULT_INTERVAL_S && s.bound_s == BG_DEFAULT_BOUND_S &&
			 s.deadline_s == 2 * BG_DEFAULT_BOUND_S &&
			 s.scale_down_delay_s == BG_DEFAULT_DELAY_S && s.auto_promotion_s == -1,
		 "defaults");
	T_ASSERT(s.auto_promote && !s.promote && !s.abort && !s.rollback && !s.release_delete,
		 "flags");
	T_ASSERT(!strcmp(s.rollback_mode, BG_DISCARD), "the default rollback discards");
	k8s_obj_free(o);

	/* a switch back needs no name: db-green's green is db */
	T_ASSERT(
		!decode("{\"spec\":{\"workloadRef\":{\"name\":\"db-green\",\"kind\":\"StatefulSet\"},"
			"\"activeService\":\"db\",\"previewService\":\"db-preview\","
			"\"image\":{\"records\":\"kbox/records:2\"},\"syncIntervalSeconds\":3,"
			"\"maxWriteUnavailableSeconds\":2.5,\"cutoverDeadlineSeconds\":9,"
			"\"autoPromotionEnabled\":false,\"autoPromotionSeconds\":0,\"promote\":true,"
			"\"rollbackMode\":\"KeepGreenWrites\",\"releasePolicy\":\"Delete\"}}",
			&s, &o, why, sizeof(why)),
		"%s", why);
	T_ASSERT(!strcmp(s.green, "db"), "green %s", s.green);
	T_ASSERT(s.images && !strcmp(k8s_obj_str(s.images, "/records"), "kbox/records:2"), "image");
	T_ASSERT(s.sync_interval_s == 3 && s.bound_s == 2.5 && s.deadline_s == 9 &&
			 !s.auto_promote && s.auto_promotion_s == 0 && s.promote &&
			 !strcmp(s.rollback_mode, BG_KEEP_GREEN) && s.release_delete,
		 "the fields as given");
	k8s_obj_free(o);
}

/* both analyses, their metrics' bounds as milli-units */
static void analyses(void)
{
	struct k8s_obj *o = NULL;
	struct bg_spec s;
	char why[256];

	T_ASSERT(!decode("{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\","
			 "\"analysis\":{\"durationSeconds\":4,\"http\":[{\"path\":\"/healthz\","
			 "\"port\":8080}],\"metrics\":[{\"name\":\"cpu\",\"max\":\"500m\"},"
			 "{\"name\":\"ferry_runqueue_wait_p99_seconds\",\"max\":\"50m\","
			 "\"failureLimit\":2}]},\"postPromotionAnalysis\":{\"metrics\":[{\"name\":"
			 "\"memory\",\"min\":\"1Ki\",\"max\":\"256Mi\"}],\"maxRestarts\":1}}}",
			 &s, &o, why, sizeof(why)),
		 "%s", why);
	T_ASSERT(s.pre.obj && s.pre.duration_s == 4 && s.pre.http && s.pre.nmetrics == 2, "pre");
	T_ASSERT(!strcmp(s.pre.metrics[0].name, "cpu") && s.pre.metrics[0].has_max &&
			 !s.pre.metrics[0].has_min && s.pre.metrics[0].max == 500 &&
			 s.pre.metrics[0].failure_limit == 0,
		 "cpu max 500m: 500 millicores");
	T_ASSERT(s.pre.metrics[1].max == 50 && s.pre.metrics[1].failure_limit == 2,
		 "50m seconds: 50 milli-seconds");
	T_ASSERT(s.post.obj && !s.post.http && s.post.duration_s == BG_DEFAULT_ANALYSIS_S &&
			 s.post.max_restarts == 1 && s.post.nmetrics == 1 &&
			 s.post.metrics[0].min == 1024 * 1000 &&
			 s.post.metrics[0].max == 256 * MiB * 1000 &&
			 !strcmp(s.post.check_image, BG_CHECK_IMAGE),
		 "post: memory in milli-bytes, the defaults");
	k8s_obj_free(o);
	T_ASSERT(!decode("{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\"}}",
			 &s, &o, why, sizeof(why)) &&
			 !s.pre.obj && !s.post.obj && !s.pre.nmetrics,
		 "no analysis");
	k8s_obj_free(o);
}

#define SW "{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\","

static const struct {
	const char *spec, *field;
} bad[] = {
	{SW "\"analysis\":[]}}", "spec.analysis:"},
	{SW "\"analysis\":{\"durationSeconds\":0}}}", "spec.analysis.durationSeconds"},
	{SW "\"analysis\":{\"metrics\":{}}}}", "spec.analysis.metrics"},
	{SW "\"analysis\":{\"metrics\":[{\"name\":\"load\",\"max\":\"1\"}]}}}",
	 "spec.analysis.metrics[0].name"},
	{SW "\"analysis\":{\"metrics\":[{\"max\":\"1\"}]}}}", "spec.analysis.metrics[0].name"},
	{SW "\"analysis\":{\"metrics\":[{\"name\":\"cpu\"}]}}}", "spec.analysis.metrics[0]:"},
	{SW "\"analysis\":{\"metrics\":[{\"name\":\"cpu\",\"max\":\"lots\"}]}}}",
	 "spec.analysis.metrics[0].max"},
	{SW "\"analysis\":{\"metrics\":[{\"name\":\"cpu\",\"max\":5}]}}}",
	 "spec.analysis.metrics[0].max"},
	{SW "\"analysis\":{\"metrics\":[{\"name\":\"cpu\",\"min\":\"2\",\"max\":\"1\"}]}}}",
	 "spec.analysis.metrics[0]:"},
	{SW "\"analysis\":{\"metrics\":[{\"name\":\"cpu\",\"max\":\"1\",\"failureLimit\":-1}]}}}",
	 "spec.analysis.metrics[0].failureLimit"},
	{SW "\"postPromotionAnalysis\":{\"metrics\":[{\"name\":\"cpu\",\"min\":\"1\"},{\"name\":"
	    "\"memory\",\"min\":\"x\"}]}}}",
	 "spec.postPromotionAnalysis.metrics[1].min"},
	{SW "\"postPromotionAnalysis\":{\"http\":[{\"path\":\"healthz\",\"port\":80}]}}}",
	 "spec.postPromotionAnalysis.http[0].path"},
	{SW "\"postPromotionAnalysis\":{\"image\":\"\"}}}", "spec.postPromotionAnalysis.image"},
	{SW "\"postPromotionAnalysis\":{\"maxRestarts\":1001}}}",
	 "spec.postPromotionAnalysis.maxRestarts"},
	{"{}", "spec:"},
	{"{\"spec\":{\"activeService\":\"db\"}}", "spec.workloadRef.name"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"Db\"},\"activeService\":\"db\"}}",
	 "spec.workloadRef.name"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"db\",\"kind\":\"Deployment\"},\"activeService\":\"db\"}}",
	 "spec.workloadRef.kind"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"db\"}}}", "spec.activeService"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"-db\"}}",
	 "spec.activeService"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\",\"previewService\":\"db\"}}",
	 "spec.previewService"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\",\"greenName\":\"db\"}}",
	 "spec.greenName"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"a123456789a123456789a123456789a123456789a123456789a12345678\"},"
	 "\"activeService\":\"db\"}}",
	 "spec.greenName"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\",\"image\":[]}}",
	 "spec.image"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\",\"image\":{\"c\":\"a b\"}}}",
	 "spec.image.c"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\",\"image\":{\"C\":\"x\"}}}",
	 "spec.image"},
	/* a key quoted in the reason, with a newline in it: the reason stays one line */
	{"{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\",\"image\":{\"a\\nb\":\"x\"}}}",
	 "spec.image"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\",\"image\":{\"c\":\"x\"},"
	 "\"template\":{\"spec\":{}}}}",
	 "spec.template"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\",\"template\":{}}}",
	 "spec.template"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\",\"syncIntervalSeconds\":0}}",
	 "spec.syncIntervalSeconds"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\",\"syncIntervalSeconds\":1.5}}",
	 "spec.syncIntervalSeconds"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\",\"maxWriteUnavailableSeconds\":0.5}}",
	 "spec.maxWriteUnavailableSeconds"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\",\"cutoverDeadlineSeconds\":\"9\"}}",
	 "spec.cutoverDeadlineSeconds"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\",\"promote\":\"yes\"}}",
	 "spec.promote"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\",\"rollbackMode\":\"Keep\"}}",
	 "spec.rollbackMode"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\",\"releasePolicy\":\"delete\"}}",
	 "spec.releasePolicy"},
	{"{\"spec\":{\"workloadRef\":{\"name\":\"db\"},\"activeService\":\"db\",\"scaleDownDelaySeconds\":-1}}",
	 "spec.scaleDownDelaySeconds"},
};

static void malformed(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct k8s_obj *o = NULL;
		struct bg_spec s;
		char why[256] = "";
		int ret = decode(bad[i].spec, &s, &o, why, sizeof(why));

		T_ASSERT(ret == -EINVAL, "%s: %d", bad[i].spec, ret);
		T_ASSERT(!strncmp(why, bad[i].field, strlen(bad[i].field)) && !strchr(why, '\n'),
			 "%s: '%s' does not name %s", bad[i].spec, why, bad[i].field);
		k8s_obj_free(o);
	}
}

static void verdicts(void)
{
	T_ASSERT(!strcmp(bg_verdict(5 * MiB, 0, false, 1, 30), "First"), "first");
	T_ASSERT(!strcmp(bg_verdict(100 * MiB, 100 * MiB, true, 5, 30), "Converged"), "equal");
	T_ASSERT(!strcmp(bg_verdict(109 * MiB, 100 * MiB, true, 5, 30), "Converged"), "+9 %%");
	T_ASSERT(!strcmp(bg_verdict(120 * MiB, 100 * MiB, true, 5, 30), "NotConverging"),
		 "+20 %%: writes outrun the rounds");
	T_ASSERT(!strcmp(bg_verdict(10 * MiB, 100 * MiB, true, 5, 30), "Converged"), "shrinking");
	T_ASSERT(!strcmp(bg_verdict(7 * MiB, 5 * MiB, true, 5, 30), "Converged"),
		 "both under the floor: equal");
	T_ASSERT(!strcmp(bg_verdict(100 * MiB, 100 * MiB, true, 31, 30), "TooSlow"), "the bound");
}

int main(void)
{
	good();
	analyses();
	malformed();
	verdicts();
	printf("t_switch_spec: ok\n");
	return 0;
}
