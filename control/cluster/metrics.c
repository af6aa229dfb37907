// SPDX-License-Identifier: MIT
/*
 * control/cluster/metrics.c - the counters behind what the controller's
 * /metrics says of Backups, Restores and prunes (cluster.h "METRICS"): runs
 * this process ended, by schedule and phase; backup durations per schedule;
 * the last successful backup per schedule, also learnt from the Completed
 * Backups every reconcile finds (so a restarted controller knows it at
 * once); prunes by Repository and result, and the bytes they freed. The
 * operator formats them (control/operator/metrics.c). One mutex; the series
 * are few (one per schedule and phase), bounded.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cluster.h"

const double cluster_metric_bounds[CLUSTER_METRIC_NBOUNDS] = {10,   30,	  60,	300,   900,
							      1800, 3600, 7200, 14400, 43200};

static pthread_mutex_t met_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cluster_metric met[CLUSTER_METRIC_SERIES];
static size_t met_n;

/* the series (@kind, @key, @phase), made if new; NULL when full. Under met_lock. */
static struct cluster_metric *met_at(enum cluster_metric_kind kind, const char *key,
				     const char *phase)
{
	struct cluster_metric *s;

	for (size_t i = 0; i < met_n; i++)
		if (met[i].kind == kind && !strcmp(met[i].key, key) && !strcmp(met[i].phase, phase))
			return &met[i];
	if (met_n == CLUSTER_METRIC_SERIES)
		return NULL;
	s = &met[met_n++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	snprintf(s->key, sizeof(s->key), "%s", key);
	snprintf(s->phase, sizeof(s->phase), "%s", phase);
	return s;
}

static const char *met_key(const char *key)
{
	return key && strlen(key) < sizeof(met[0].key) ? key : "";
}

void cluster_metrics_backup_ended(const char *schedule, const char *phase, int64_t start_ns,
				  int64_t end_ns)
{
	struct cluster_metric *s;

	pthread_mutex_lock(&met_lock);
	s = met_at(CLUSTER_METRIC_BACKUPS, met_key(schedule), phase);
	if (s)
		s->count++;
	if (strcmp(phase, "Completed") && strcmp(phase, "PartiallyFailed"))
		goto out;
	s = met_at(CLUSTER_METRIC_SCHEDULE, met_key(schedule), "");
	if (!s)
		goto out;
	if (start_ns > 0 && end_ns >= start_ns) {
		double d = (double)(end_ns - start_ns) / 1e9;

		for (size_t i = 0; i < CLUSTER_METRIC_NBOUNDS; i++)
			if (d <= cluster_metric_bounds[i])
				s->buckets[i]++;
		s->sum += d;
	}
	s->count++;
out:
	pthread_mutex_unlock(&met_lock);
	if (!strcmp(phase, "Completed"))
		cluster_metrics_backup_seen(schedule, end_ns);
}

void cluster_metrics_backup_seen(const char *schedule, int64_t completed_ns)
{
	struct cluster_metric *s;
	double t = (double)completed_ns / 1e9;

	if (completed_ns <= 0)
		return;
	pthread_mutex_lock(&met_lock);
	s = met_at(CLUSTER_METRIC_SCHEDULE, met_key(schedule), "");
	if (s && t > s->last_success)
		s->last_success = t;
	pthread_mutex_unlock(&met_lock);
}

void cluster_metrics_restore_ended(const char *phase)
{
	struct cluster_metric *s;

	pthread_mutex_lock(&met_lock);
	s = met_at(CLUSTER_METRIC_RESTORES, "", phase);
	if (s)
		s->count++;
	pthread_mutex_unlock(&met_lock);
}

void cluster_metrics_prune_ended(const char *repository, const char *result, uint64_t bytes_freed)
{
	struct cluster_metric *s;

	pthread_mutex_lock(&met_lock);
	s = met_at(CLUSTER_METRIC_PRUNES, met_key(repository), result);
	if (s) {
		s->count++;
		s->bytes += bytes_freed;
	}
	pthread_mutex_unlock(&met_lock);
}

size_t cluster_metrics_copy(struct cluster_metric *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&met_lock);
	n = met_n < max ? met_n : max;
	memcpy(out, met, n * sizeof(*out));
	pthread_mutex_unlock(&met_lock);
	return n;
}
