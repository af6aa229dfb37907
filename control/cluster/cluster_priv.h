/* SPDX-License-Identifier: MIT */
/*
 * control/cluster/cluster_priv.h - what cron.c and tz.c share inside the
 * capability: the proleptic Gregorian calendar on "civil seconds" (a wall
 * time counted as if it were UTC: days since 1970-01-01 * 86400 + the time
 * of day), and a zone's segments (the spans of one time type).
 */
#ifndef FERRY_CLUSTER_PRIV_H
#define FERRY_CLUSTER_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "control/cli/cli.h"

/* Largest |UT offset| a zone may have (RFC 8536 §3.2: -89999..93599 s). */
#define TZ_UTOFF_MIN (-89999)
#define TZ_UTOFF_MAX 93599

static inline bool cal_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static inline int cal_days_in_month(int64_t y, int m)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && cal_is_leap(y) ? 29 : dim[m - 1];
}

static inline int64_t cal_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/*
 * Days from 1970-01-01 to @y-@m-@d. Years are shifted by whole 400-year
 * cycles (146097 days each) so that the counting below runs on positive
 * years only; @y from -399 on.
 */
static inline int64_t cal_days(int64_t y, int m, int d)
{
	static const int before[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	int64_t yy = y + 400, n;

	/* days from 0001-01-01 to yy-01-01: 365 a year and one per leap year before it */
	n = 365 * (yy - 1) + (yy - 1) / 4 - (yy - 1) / 100 + (yy - 1) / 400;
	n += before[m - 1] + (m > 2 && cal_is_leap(y)) + d - 1;
	/* 0001-01-01 to 1970-01-01 is 719162 days; and the 400 years added */
	return n - 719162 - 146097;
}

/* 0 Sunday .. 6 Saturday; 1970-01-01 was a Thursday. */
static inline int cal_wday(int64_t days)
{
	return (int)(((days % 7) + 7 + 4) % 7);
}

/* The date of day @days (from 1970-01-01). */
static inline void cal_date(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t yr = 1970 + cal_floor_div(days * 400, 146097), rest;
	int mo = 1;

	while (cal_days(yr, 1, 1) > days)
		yr--;
	while (cal_days(yr + 1, 1, 1) <= days)
		yr++;
	rest = days - cal_days(yr, 1, 1);
	while (rest >= cal_days_in_month(yr, mo)) {
		rest -= cal_days_in_month(yr, mo);
		mo++;
	}
	*y = yr;
	*m = mo;
	*d = (int)rest + 1;
}

static inline int64_t cal_secs(int64_t y, int m, int d, int hh, int mm, int ss)
{
	return cal_days(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
}

static inline void cal_civil(int64_t secs, struct cluster_civil *c)
{
	int64_t days = cal_floor_div(secs, 86400), y, tod = secs - days * 86400;

	cal_date(days, &y, &c->mon, &c->mday);
	c->year = (int)y;
	c->hour = (int)(tod / 3600);
	c->min = (int)(tod / 60 % 60);
	c->sec = (int)(tod % 60);
	c->wday = cal_wday(days);
}

/*
 * struct tz_seg - one span of a zone's time type: [since, until), with
 * INT64_MIN / INT64_MAX for none. @abbr points into the zone.
 */
struct tz_seg {
	int64_t since, until;
	int32_t utoff;
	bool isdst;
	const char *abbr;
};

/* The span holding instant @t (@tz NULL: UTC). @t within a few days of the time range. */
void tz_seg_at(const struct cluster_tz *tz, int64_t t, struct tz_seg *s);

/*
 * The latest wall time (civil seconds) the zone's clock has shown at or
 * before instant @t: its wall time at @t, or more just after the clock was
 * set back.
 */
int64_t tz_wall_max(const struct cluster_tz *tz, int64_t t);

/* The first instant at which the clock reads civil second @wall or later. */
int64_t tz_resolve_secs(const struct cluster_tz *tz, int64_t wall);

/* Fill @err (code, then the formatted reason); returns @code. */
int cluster_err_set(struct cluster_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cluster_err_clear(struct cluster_err *err);

/*
 * cluster_quote() - @src (at most @len bytes, or to its NUL) made printable
 * for a reason: other bytes become '?', and a long text ends in "...".
 * Returns @dst (@size bytes, at least 4).
 */
const char *cluster_quote(char *dst, size_t size, const char *src, size_t len);

/*
 * cluster_sel_server_selector() - the labelSelector of @s as the string a
 * list takes, for the API server to filter (NULL: none, or
 * orLabelSelectors, which are matched here only). Borrowed from @s.
 */
const char *cluster_sel_server_selector(const struct cluster_sel *s);

/*
 * cluster_sel_unknown() - the names of @s's included and excluded resources
 * that name no resource of @a (a typo, a CRD not installed), at most @max
 * into @out (borrowed from @s). Return: how many.
 */
size_t cluster_sel_unknown(const struct cluster_sel *s, const struct cluster_apis *a,
			   const char **out, size_t max);

/*
 * cluster_err_oneline() - @err's message made one printable line (control
 * bytes of values quoted from input become '?'); returns @code. For the
 * entry points whose messages quote what the user wrote.
 */
static inline int cluster_err_oneline(struct cluster_err *err, int code)
{
	ctl_one_line(err->msg);
	return code;
}

/*
 * struct cluster_repo - a Repository opened by cluster_repo_open(): @obj as
 * read, its store @st and repository @repo (unlocked when encrypted), all
 * owned, freed by cluster_repo_close(); @why a refusal's one-line reason.
 */
#define CLUSTER_REPO_NS	  "ferry-system" /* where Repositories and their Secrets live */
#define CLUSTER_NS_SYSTEM CLUSTER_REPO_NS
#define CLUSTER_MSG_MAX	  256
struct s3_store;
struct k8s_client;
struct k8s_err;
struct k8s_obj;
struct cluster_repo {
	char name[CLUSTER_NAME_MAX + 1];
	struct k8s_obj *obj;
	struct s3_store *st;
	struct dp_repo *repo;
	char why[256];
};

/*
 * cluster_repo_open() - the Repository CLUSTER_REPO_NS/@name of the cluster
 * of @c: read, its store at spec.url opened (spec.endpoint, spec.region,
 * spec.caBundle, the keys of spec.credentialsSecret, else the process's own
 * S3 credentials), the repository opened and, when encrypted,
 * unlocked with its password Secret (key "password" unless
 * passwordSecret.key). @write: a ReadOnly Repository is refused.
 * Return: 0; 1 when refused (no such Repository or Secret, no spec.url, a
 * bad caBundle, no repository at the URL, a wrong password: the reason
 * in @r->why, nothing to retry); -errno of the API server or the store, with
 * @err filled. @r is the caller's, zeroed first; close it in every case.
 */
int cluster_repo_open(struct k8s_client *c, const char *name, bool write, struct cluster_repo *r,
		      struct k8s_err *err);
void cluster_repo_close(struct cluster_repo *r);
/* cluster_repo_read_only() - whether @r is spec.accessMode ReadOnly */
bool cluster_repo_read_only(const struct cluster_repo *r);

/*
 * struct cluster_log - the lines of a Backup's or a Restore's log being
 * composed (cluster_log.c, cluster.h "LOGS"); zero it to start, free it with
 * cluster_log_fini(). @oom: a line could not be added (cluster_log_put()
 * then refuses).
 */
struct cluster_log {
	char *buf;
	size_t len, cap;
	bool oom;
};
/* cluster_log_add() - one line at @t_ns (ns since the epoch); @level "info", "warning", "error" */
void cluster_log_add(struct cluster_log *l, int64_t t_ns, const char *level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* cluster_log_append() - the lines of @from after those of @l */
void cluster_log_append(struct cluster_log *l, const struct cluster_log *from);
void cluster_log_fini(struct cluster_log *l);
/*
 * cluster_log_put() - @l into @repo with dp_log_put() (@restore_name NULL:
 * the Backup's own). Return: 0; -errno with a one-line reason in @why.
 */
int cluster_log_put(struct dp_repo *repo, const char *record_id, const char *restore_ns,
		    const char *restore_name, const char *cluster, const struct cluster_log *l,
		    char *why, size_t wlen);
/* cluster_id_read() - the cluster's id: the kube-system namespace's UID. Return: 0; -errno (@err). */
int cluster_id_read(struct k8s_client *c, char id[CLUSTER_NAME_MAX + 1], struct k8s_err *err);

/*
 * cluster_zero_pod_skip - the skip of a Pod that scaleWorkloadsToZero does not
 * create (restore_plan.c); restore_nodes.c still reads its template, the
 * placement the archive meant for its claims.
 */
extern const char cluster_zero_pod_skip[];

/* ------------------------------------------------------------ Repositories
 *
 * What the Backup reconciler's delete (backup_delete.c) and the Repository
 * reconciler (repo_ctl.c) share: a Repository of ferry-system opened.
 */

struct k8s_reconcile_req;
struct k8s_reconcile_res;

/*
 * cluster_backup_record_status() - the status of a Backup as its record @rec
 * (in @repo) says: phase, times, expiration (@expiry_s > 0), counts, ids, the
 * volumes. For the Backup that wrote it and for one backup sync makes.
 * Return: 0 and *@out (the caller's); -ENOMEM.
 */
struct dp_record;
int cluster_backup_record_status(const struct dp_record *rec, const struct dp_repo *repo,
				 int64_t expiry_s, struct k8s_obj **out);

/* cluster_backup_synced() - whether @backup was made by backup sync (its label) */
bool cluster_backup_synced(const struct k8s_obj *backup);

/*
 * cluster_backup_finalizer_add() - put CLUSTER_FINALIZER_RECORD on
 * req->obj's Backup (a merge patch carrying the resourceVersion read), and
 * the new resourceVersion into req->obj, so that a later patch that carries
 * it holds. Return: 0; -EAGAIN (written meanwhile: retry); API errors.
 */
int cluster_backup_finalizer_add(const struct k8s_reconcile_req *req, struct k8s_err *err);

/*
 * cluster_backup_delete() - a Backup being deleted: its record and the
 * snapshots it names forgotten in its Repository, then the finalizer removed
 * (cluster.h "DELETING A BACKUP"). The reconcile of a Backup with a
 * deletionTimestamp.
 */
int cluster_backup_delete(const struct k8s_reconcile_req *req, struct k8s_reconcile_res *res,
			  struct k8s_err *err);

/* ------------------------------------------------------------ THE KIT (kit.c)
 * What the reconcilers of this folder share.
 */
struct k8s_resource;

/* cluster_fail() - @err filled (@code, @reason, the message); returns @code */
int cluster_fail(struct k8s_err *err, int code, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* cluster_refuse() - a refusal's one-line reason into @buf (control characters
 * as '?'); returns 1, the reconcilers' "refused, not an error" */
int cluster_refuse(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* cluster_phase_done() - whether a Backup's or Restore's @phase is final */
bool cluster_phase_done(const char *phase);
/* cluster_time_of() - the RFC 3339 time at @path of @o in ns since the epoch, 0 if none */
int64_t cluster_time_of(const struct k8s_obj *o, const char *path);
/* cluster_set_time() - @ns since the epoch at @path of @o, as RFC 3339 */
int cluster_set_time(struct k8s_obj *o, const char *path, int64_t ns);
/*
 * cluster_status_patch() - merge-patch {"status": @st} (taken, also on failure)
 * into @res @ns/@name's status subresource, carrying @rv when not NULL (then a
 * write since that version is a conflict). Return: 0; the API's -errno.
 */
int cluster_status_patch(struct k8s_client *c, const struct k8s_resource *res, const char *ns,
			 const char *name, struct k8s_obj *st, const char *rv, struct k8s_err *err);

#endif /* FERRY_CLUSTER_PRIV_H */
