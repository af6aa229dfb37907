// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_switch_spec.c - the StatefulSwitch's decoder
 * (control/bluegreen/spec.c) on any bytes, read as JSON or else as YAML: 0,
 * or -EINVAL with a one-line reason; what it accepts holds the spec's
 * promises (names of DNS labels, green's not blue's, numbers in range, a
 * deadline set) and gives a round's verdict for any figures.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/bluegreen/bluegreen.h"
#include "k8s/k8s.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct bg_spec *s, size_t size)
{
	static const char *const verdicts[] = {"First", "Converged", "NotConverging", "TooSlow"};
	const char *v;
	bool known = false;

	if (!s->blue || !*s->blue || strlen(s->blue) > BG_NAME_MAX || !s->green[0] ||
	    !strcmp(s->blue, s->green) || !s->active || !s->repository || !s->rollback_mode)
		abort();
	if (s->preview && !strcmp(s->preview, s->active))
		abort();
	if (s->sync_interval_s < 1 || s->scale_down_delay_s < 0 || !isfinite(s->bound_s) ||
	    s->bound_s < 1 || !(s->deadline_s >= 1) || (s->images && s->template))
		abort();
	v = bg_verdict((int64_t)size << 10, (int64_t)s->sync_interval_s << 10, size & 1,
		       s->bound_s / 2, s->bound_s);
	for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++)
		known |= !strcmp(v, verdicts[i]);
	if (!known)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct k8s_obj *o = NULL;
	struct k8s_err kerr;
	struct bg_spec s;
	char why[256];
	int ret;

	if (k8s_obj_parse((const char *)data, size, &o) &&
	    k8s_obj_parse_yaml((const char *)data, size, &o, &kerr))
		return 0;
	ret = bg_spec_decode(o, &s, why, sizeof(why));
	if (ret == 0)
		check(&s, size);
	else if (ret != -EINVAL || !why[0] || strchr(why, '\n'))
		abort();
	k8s_obj_free(o);
	return 0;
}
