// SPDX-License-Identifier: MIT
/*
 * control/cluster/cluster_log.c - the logs of Backups and Restores kept in
 * their repository (cluster.h "LOGS", datapath/FORMAT.md "Logs"): the lines
 * a reconciler composes when a run ends, written with dp_log_put(); and what
 * `ferry backup|restore logs` reads back through the API server with the
 * caller's identity (cluster_log_read()).
 *
 * A line is `time="<RFC 3339>" level=<info|warning|error> msg="<text>"`, the
 * text quoted: '"' and '\' escaped, control bytes as \n, \t or \u00XX, a byte
 * that is not UTF-8 as '?'.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "cluster_priv.h"
#include "datapath/dp.h"
#include "k8s/k8s.h"

#define LOG_DEFAULT_REPO "default"

static int log_reserve(struct cluster_log *l, size_t more)
{
	size_t cap = l->cap ? l->cap : 4096;
	char *p;

	if (l->oom)
		return -ENOMEM;
	if (l->len + more + 1 <= l->cap)
		return 0;
	while (cap < l->len + more + 1)
		cap *= 2;
	p = realloc(l->buf, cap);
	if (!p) {
		l->oom = true;
		return -ENOMEM;
	}
	l->buf = p;
	l->cap = cap;
	return 0;
}

/* the length of the UTF-8 sequence at @s (of @n bytes), 0 if it is not one */
static size_t log_utf8_len(const unsigned char *s, size_t n)
{
	size_t want;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		want = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		want = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		want = 4;
	else
		return 0;
	if (n < want)
		return 0;
	for (size_t i = 1; i < want; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0; /* overlong, a surrogate, beyond U+10FFFF */
	return want;
}

void cluster_log_add(struct cluster_log *l, int64_t t_ns, const char *level, const char *fmt, ...)
{
	char when[K8S_TIME_SIZE], small[512], *msg = small;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(small)) {
		msg = malloc((size_t)n + 1);
		if (!msg) {
			l->oom = true;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(msg, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	k8s_time_format(t_ns, false, when);
	/* each byte takes at most 6 ("\u00XX") */
	if (!log_reserve(l, strlen(when) + strlen(level) + 32 + 6 * (size_t)n)) {
		const unsigned char *s = (const unsigned char *)msg;
		char *o = l->buf + l->len;
		size_t left = (size_t)n;

		o += sprintf(o, "time=\"%s\" level=%s msg=\"", when, level);
		while (left) {
			size_t u = *s >= 0x80 ? log_utf8_len(s, left) : 1;

			if (*s >= 0x80 && u) {
				memcpy(o, s, u);
				o += u;
				s += u;
				left -= u;
				continue;
			}
			if (*s >= 0x80)
				*o++ = '?';
			else if (*s == '"' || *s == '\\')
				o += sprintf(o, "\\%c", *s);
			else if (*s == '\n')
				o += sprintf(o, "\\n");
			else if (*s == '\t')
				o += sprintf(o, "\\t");
			else if (*s < 0x20 || *s == 0x7f)
				o += sprintf(o, "\\u%04x", *s);
			else
				*o++ = (char)*s;
			s++;
			left--;
		}
		o += sprintf(o, "\"\n");
		l->len = (size_t)(o - l->buf);
	}
	if (msg != small)
		free(msg);
}

void cluster_log_append(struct cluster_log *l, const struct cluster_log *from)
{
	if (from->oom)
		l->oom = true;
	if (!from->len || log_reserve(l, from->len))
		return;
	memcpy(l->buf + l->len, from->buf, from->len);
	l->len += from->len;
	l->buf[l->len] = '\0';
}

void cluster_log_fini(struct cluster_log *l)
{
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

int cluster_log_put(struct dp_repo *repo, const char *record_id, const char *restore_ns,
		    const char *restore_name, const char *cluster, const struct cluster_log *l,
		    char *why, size_t wlen)
{
	int ret;

	if (l->oom) {
		snprintf(why, wlen, "the log: out of memory");
		return -ENOMEM;
	}
	ret = dp_log_put(repo, record_id, restore_ns, restore_name, cluster, l->buf ? l->buf : "",
			 l->len);
	if (ret)
		snprintf(why, wlen, "%.200s", ret == -ENOMEM ? "out of memory" : dp_last_error());
	return ret;
}

/* ------------------------------------------------------------ reading */

int cluster_id_read(struct k8s_client *c, char id[CLUSTER_NAME_MAX + 1], struct k8s_err *err)
{
	struct k8s_obj *ns = NULL;
	const char *uid;
	int ret;

	ret = k8s_get(c, &k8s_namespaces, NULL, "kube-system", NULL, &ns, err);
	if (ret)
		return ret;
	uid = k8s_obj_get_uid(ns);
	if (!uid || !uid[0] || strlen(uid) > CLUSTER_NAME_MAX) {
		k8s_obj_free(ns);
		return cluster_fail(err, -EBADMSG, "ClusterIdUnknown",
				    "the namespace kube-system has no metadata.uid");
	}
	snprintf(id, CLUSTER_NAME_MAX + 1, "%s", uid);
	k8s_obj_free(ns);
	return 0;
}

static const char *log_phase(const struct k8s_obj *o)
{
	const char *p = k8s_obj_str(o, "/status/phase");

	return p ? p : "New";
}

int cluster_log_read(struct k8s_client *c, const char *ns, const char *name, bool restore,
		     char **text, size_t *len, char *why, size_t wlen, struct k8s_err *err)
{
	struct k8s_obj *o = NULL, *bk = NULL;
	struct cluster_repo r = {0};
	const char *loc = NULL, *id = NULL, *cl = NULL, *bname = NULL, *kind;
	char cluster[CLUSTER_NAME_MAX + 1] = "", rid[65];
	int ret;

	*text = NULL;
	*len = 0;
	why[0] = '\0';
	kind = restore ? "Restore" : "Backup";
	ret = k8s_get(c, restore ? &cluster_restores : &cluster_backups, ns, name, NULL, &o, err);
	if (ret == -ENOENT) {
		snprintf(why, wlen, "no %s %s/%s", kind, ns, name);
		goto out;
	}
	if (ret) {
		snprintf(why, wlen, "reading %s %s/%s: %s", kind, ns, name, err->msg);
		goto out;
	}
	loc = k8s_obj_str(o, "/spec/storageLocation");
	id = k8s_obj_str(o, "/status/recordId");
	if (restore) {
		bname = k8s_obj_str(o, "/spec/backupName");
		if (!id || strlen(id) != 64) {
			ret = -ENOENT;
			snprintf(why, wlen,
				 "Restore %s/%s has no log: it is %s (a Restore's log is "
				 "written when it ends)",
				 ns, name, log_phase(o));
			goto out;
		}
		if ((!loc || !loc[0]) && bname &&
		    !k8s_get(c, &cluster_backups, ns, bname, NULL, &bk, err))
			loc = k8s_obj_str(bk, "/spec/storageLocation");
		ret = cluster_id_read(c, cluster, err);
		if (ret) {
			snprintf(why, wlen, "the cluster's id: %s", err->msg);
			goto out;
		}
	} else if (!id || strlen(id) != 64) {
		cl = k8s_obj_str(o, "/status/clusterId");
		if (cl && cl[0] && strlen(cl) <= CLUSTER_NAME_MAX) {
			snprintf(cluster, sizeof(cluster), "%s", cl);
		} else {
			ret = cluster_id_read(c, cluster, err);
			if (ret) {
				snprintf(why, wlen, "the cluster's id: %s", err->msg);
				goto out;
			}
		}
	}
	if (!loc || !loc[0])
		loc = LOG_DEFAULT_REPO;
	ret = cluster_repo_open(c, loc, false, &r, err);
	if (ret == 1) {
		ret = -EPERM;
		snprintf(why, wlen, "%s", r.why);
		goto out;
	}
	if (ret) {
		snprintf(why, wlen, "the Repository %s/%s: %s", CLUSTER_REPO_NS, loc, err->msg);
		goto out;
	}
	if (!id || strlen(id) != 64) {
		ret = dp_record_id(r.repo, cluster, ns, name, rid);
		if (ret) {
			snprintf(why, wlen, "the record's id: %s", dp_last_error());
			goto out;
		}
		id = rid;
	}
	ret = dp_log_get(r.repo, id, restore ? ns : NULL, restore ? name : NULL, cluster, text,
			 len);
	if (ret == -ENOENT && restore)
		snprintf(why, wlen, "Restore %s/%s has no log in Repository %s/%s (it is %s)", ns,
			 name, CLUSTER_REPO_NS, loc, log_phase(o));
	else if (ret == -ENOENT)
		snprintf(why, wlen,
			 "Backup %s/%s has no log in Repository %s/%s (it is %s: a Backup's log "
			 "is written when it ends, and Backups made before logs were have none)",
			 ns, name, CLUSTER_REPO_NS, loc, log_phase(o));
	else if (ret)
		snprintf(why, wlen, "%s", ret == -ENOMEM ? "out of memory" : dp_last_error());
out:
	cluster_repo_close(&r);
	k8s_obj_free(bk);
	k8s_obj_free(o);
	return ret;
}
