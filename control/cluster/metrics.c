// SPDX-License-Identifier: MIT
/*
 * control/cluster/metrics.c - what the controller's /metrics says of Backups,
 * Restores and prunes, for alerting (cluster.h "METRICS"): counters of the
 * runs this process ended, by schedule and phase; a histogram of backup
 * durations; the last successful backup per schedule, also learnt from the
 * Completed Backups every reconcile finds (so a restarted controller knows
 * it at once); prunes by Repository and result, and the bytes they freed.
 * One mutex; the series are few (one per schedule and phase), bounded.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cluster.h"

#define MET_SERIES 512 /* schedules (or repositories) and phases; more are not counted */
#define MET_NAME   64

static const double met_bounds[] = {10, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 43200};
#define MET_NBOUNDS (sizeof(met_bounds) / sizeof(met_bounds[0]))

struct met_series {
	char kind;		  /* 'b' backup, 'r' restore, 'p' prune */
	char key[MET_NAME + 1];	  /* schedule ("" none) or Repository */
	char phase[24];		  /* phase or result */
	unsigned long long count; /* runs ended here */
	/* backups, phase "": the schedule's durations and last success */
	unsigned long long buckets[MET_NBOUNDS];
	double sum;
	double last_success;	  /* seconds since the epoch, 0: none */
	unsigned long long bytes; /* prunes: bytes freed */
};

static pthread_mutex_t met_lock = PTHREAD_MUTEX_INITIALIZER;
static struct met_series met[MET_SERIES];
static size_t met_n;

/* the series (@kind, @key, @phase), made if new; NULL when full. Under met_lock. */
static struct met_series *met_at(char kind, const char *key, const char *phase)
{
	struct met_series *s;

	for (size_t i = 0; i < met_n; i++)
		if (met[i].kind == kind && !strcmp(met[i].key, key) && !strcmp(met[i].phase, phase))
			return &met[i];
	if (met_n == MET_SERIES)
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
	return key && strlen(key) <= MET_NAME ? key : "";
}

void cluster_metrics_backup_ended(const char *schedule, const char *phase, int64_t start_ns,
				  int64_t end_ns)
{
	struct met_series *s;

	pthread_mutex_lock(&met_lock);
	s = met_at('b', met_key(schedule), phase);
	if (s)
		s->count++;
	if (strcmp(phase, "Completed") && strcmp(phase, "PartiallyFailed"))
		goto out;
	s = met_at('b', met_key(schedule), "");
	if (!s)
		goto out;
	if (start_ns > 0 && end_ns >= start_ns) {
		double d = (double)(end_ns - start_ns) / 1e9;

		for (size_t i = 0; i < MET_NBOUNDS; i++)
			if (d <= met_bounds[i])
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
	struct met_series *s;
	double t = (double)completed_ns / 1e9;

	if (completed_ns <= 0)
		return;
	pthread_mutex_lock(&met_lock);
	s = met_at('b', met_key(schedule), "");
	if (s && t > s->last_success)
		s->last_success = t;
	pthread_mutex_unlock(&met_lock);
}

void cluster_metrics_restore_ended(const char *phase)
{
	struct met_series *s;

	pthread_mutex_lock(&met_lock);
	s = met_at('r', "", phase);
	if (s)
		s->count++;
	pthread_mutex_unlock(&met_lock);
}

void cluster_metrics_prune_ended(const char *repository, const char *result, uint64_t bytes_freed)
{
	struct met_series *s;

	pthread_mutex_lock(&met_lock);
	s = met_at('p', met_key(repository), result);
	if (s) {
		s->count++;
		s->bytes += bytes_freed;
	}
	pthread_mutex_unlock(&met_lock);
}

/* a label value: \, " and newline escaped (names are DNS labels: never, but safe) */
static void met_label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void met_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void cluster_metrics_prom(FILE *f)
{
	pthread_mutex_lock(&met_lock);
	met_head(f, "ferry_backup_total", "counter",
		 "Backups this controller ran to an end, by schedule (\"\" for none) and phase.");
	for (size_t i = 0; i < met_n; i++) {
		if (met[i].kind != 'b' || !met[i].phase[0])
			continue;
		fputs("ferry_backup_total{schedule=\"", f);
		met_label(f, met[i].key);
		fputs("\",phase=\"", f);
		met_label(f, met[i].phase);
		fprintf(f, "\"} %llu\n", met[i].count);
	}
	met_head(f, "ferry_backup_last_successful_timestamp_seconds", "gauge",
		 "When the schedule's (\"\": no schedule's) last Completed Backup completed, "
		 "from the Backups this controller ran or found.");
	for (size_t i = 0; i < met_n; i++) {
		if (met[i].kind != 'b' || met[i].phase[0] || !met[i].last_success)
			continue;
		fputs("ferry_backup_last_successful_timestamp_seconds{schedule=\"", f);
		met_label(f, met[i].key);
		fprintf(f, "\"} %.3f\n", met[i].last_success);
	}
	met_head(f, "ferry_backup_duration_seconds", "histogram",
		 "From start to completion of the Completed and PartiallyFailed Backups this "
		 "controller ran, by schedule.");
	for (size_t i = 0; i < met_n; i++) {
		if (met[i].kind != 'b' || met[i].phase[0] || !met[i].count)
			continue;
		for (size_t k = 0; k < MET_NBOUNDS; k++) {
			fputs("ferry_backup_duration_seconds_bucket{schedule=\"", f);
			met_label(f, met[i].key);
			fprintf(f, "\",le=\"%g\"} %llu\n", met_bounds[k], met[i].buckets[k]);
		}
		fputs("ferry_backup_duration_seconds_bucket{schedule=\"", f);
		met_label(f, met[i].key);
		fprintf(f, "\",le=\"+Inf\"} %llu\n", met[i].count);
		fputs("ferry_backup_duration_seconds_sum{schedule=\"", f);
		met_label(f, met[i].key);
		fprintf(f, "\"} %.3f\n", met[i].sum);
		fputs("ferry_backup_duration_seconds_count{schedule=\"", f);
		met_label(f, met[i].key);
		fprintf(f, "\"} %llu\n", met[i].count);
	}
	met_head(f, "ferry_restore_total", "counter",
		 "Restores this controller ran to an end, by phase.");
	for (size_t i = 0; i < met_n; i++) {
		if (met[i].kind != 'r')
			continue;
		fputs("ferry_restore_total{phase=\"", f);
		met_label(f, met[i].phase);
		fprintf(f, "\"} %llu\n", met[i].count);
	}
	met_head(f, "ferry_repository_prunes_total", "counter",
		 "Prunes this controller ran, by Repository and result (Succeeded, Failed, Busy).");
	for (size_t i = 0; i < met_n; i++) {
		if (met[i].kind != 'p')
			continue;
		fputs("ferry_repository_prunes_total{repository=\"", f);
		met_label(f, met[i].key);
		fputs("\",result=\"", f);
		met_label(f, met[i].phase);
		fprintf(f, "\"} %llu\n", met[i].count);
	}
	met_head(f, "ferry_repository_pruned_bytes_total", "counter",
		 "Bytes of data objects the prunes this controller ran freed, by Repository.");
	for (size_t i = 0; i < met_n; i++) {
		if (met[i].kind != 'p' || strcmp(met[i].phase, "Succeeded"))
			continue;
		fputs("ferry_repository_pruned_bytes_total{repository=\"", f);
		met_label(f, met[i].key);
		fprintf(f, "\"} %llu\n", met[i].bytes);
	}
	pthread_mutex_unlock(&met_lock);
}
