// SPDX-License-Identifier: MIT
/*
 * control/signals/page.c - the agent's per-pod page (signals.h): written by
 * the agent, parsed by the controller's feed (and the fuzz target). The
 * parser takes the page as untrusted input: every field is checked for
 * its type and range before a pod is passed on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "signals.h"
#include "k8s/k8s.h"

/* a JSON string: what the API allows in names and uids never needs more than \" and \\ */
static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

int sig_page_pods(FILE *f, const struct sig_pod *pods, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		const struct sig_pod *p = &pods[i];

		fputs(i ? ",{\"namespace\":" : "{\"namespace\":", f);
		put_str(f, p->ns);
		fputs(",\"name\":", f);
		put_str(f, p->name);
		fputs(",\"uid\":", f);
		put_str(f, p->uid);
		fputs(",\"v\":[", f);
		for (int k = 0; k < SIG_V_KINDS; k++) {
			if (k)
				fputc(',', f);
			if (p->has[k])
				fprintf(f, "%lld", (long long)p->v[k]);
			else
				fputs("null", f);
		}
		fputc(']', f);
		if (p->has[SIG_THROTTLED])
			fprintf(f, ",\"throttled\":%lld", (long long)p->v[SIG_THROTTLED]);
		fputc('}', f);
	}
	fputc(']', f);
	return ferror(f) ? -EIO : 0;
}

int sig_page_write(FILE *f, const struct sig_page *pg, const char *pods_json, size_t len)
{
	fputs("{\"node\":", f);
	put_str(f, pg->node ? pg->node : "");
	fprintf(f, ",\"seq\":%llu,\"interval_ms\":%lld,\"age_ms\":%lld,\"pods\":",
		(unsigned long long)pg->seq, (long long)pg->interval_ms, (long long)pg->age_ms);
	if (len)
		fwrite(pods_json, 1, len, f);
	else
		fputs("[]", f);
	fputs("}\n", f);
	return ferror(f) ? -EIO : 0;
}

/* a name of the API: 1..253 characters */
static const char *name_at(const struct k8s_obj *o, const char *path)
{
	const char *s = k8s_obj_str(o, path);

	return s && *s && strlen(s) <= 253 ? s : NULL;
}

int sig_page_parse(const char *buf, size_t len, struct sig_page *pg, sig_pod_fn each, void *arg)
{
	struct k8s_obj *doc = NULL;
	const struct k8s_obj *pods, *p;
	int64_t seq;
	int ret;

	memset(pg, 0, sizeof(*pg));
	ret = k8s_obj_parse(buf, len, &doc);
	if (ret)
		return ret == -ENOMEM ? -ENOMEM : -EINVAL;
	pg->node = name_at(doc, "/node");
	pods = k8s_obj_at(doc, "/pods");
	if (!pg->node || k8s_obj_int(doc, "/seq", &seq) || seq < 1 ||
	    k8s_obj_int(doc, "/interval_ms", &pg->interval_ms) || pg->interval_ms <= 0 ||
	    pg->interval_ms > 3600 * 1000 || k8s_obj_int(doc, "/age_ms", &pg->age_ms) ||
	    pg->age_ms < 0 || pg->age_ms > 3600 * 1000 ||
	    k8s_obj_type(doc, "/pods") != K8S_T_ARRAY) {
		ret = -EINVAL;
		goto out;
	}
	pg->seq = (uint64_t)seq;
	for (p = each ? k8s_obj_first(pods) : NULL; p && !ret; p = k8s_obj_next(p)) {
		struct sig_pod sp = {.ns = name_at(p, "/namespace"),
				     .name = name_at(p, "/name"),
				     .uid = name_at(p, "/uid")};
		const struct k8s_obj *v = k8s_obj_at(p, "/v"), *e;
		enum k8s_type t;
		int k = 0;

		if (!sp.ns || !sp.name || !sp.uid || k8s_obj_type(p, "/v") != K8S_T_ARRAY ||
		    k8s_obj_len(p, "/v") != SIG_V_KINDS) {
			ret = -EINVAL;
			break;
		}
		/* optional: absent (or null) from agents that do not measure it */
		t = k8s_obj_type(p, "/throttled");
		if (t != K8S_T_ABSENT && t != K8S_T_NULL) {
			if (k8s_obj_int(p, "/throttled", &sp.v[SIG_THROTTLED]) ||
			    sp.v[SIG_THROTTLED] < 0) {
				ret = -EINVAL;
				break;
			}
			sp.has[SIG_THROTTLED] = true;
		}
		for (e = k8s_obj_first(v); e && !ret; e = k8s_obj_next(e), k++) {
			if (k8s_obj_type(e, "") == K8S_T_NULL)
				continue;
			if (k8s_obj_int(e, "", &sp.v[k]) || sp.v[k] < 0)
				ret = -EINVAL;
			sp.has[k] = true;
		}
		if (!ret)
			ret = each(arg, pg, &sp);
	}
out:
	pg->node = NULL;
	k8s_obj_free(doc);
	return ret;
}
