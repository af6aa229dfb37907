// SPDX-License-Identifier: MIT
/*
 * control/operator/metrics.c - Prometheus text helpers (exposition format
 * 0.0.4), the process_* series client_golang's process collector exports,
 * read from /proc/self, so a controller's cost is visible the same way as
 * any other controller's, and the Backup, Restore and prune series of the
 * cluster capability's counters (control/cluster/metrics.c).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "operator.h"
#include "control/cluster/cluster.h"

void op_prom_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void op_prom_label(FILE *f, const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '"')
			fputs("\\\"", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* fields 22 (starttime, clock ticks since boot) and 23 (vsize) of /proc/self/stat */
static int op_stat(unsigned long long *start_ticks, unsigned long long *vsize)
{
	char buf[1024], *p;
	size_t n;
	FILE *f = fopen("/proc/self/stat", "r");

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command may hold spaces and parentheses: count from the last ')' */
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	/* after ") " come fields 3.. (state is field 3) */
	return sscanf(p + 2,
		      "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
		      "%*d %llu %llu",
		      start_ticks, vsize) == 2
		       ? 0
		       : -1;
}

static double op_boot_time(void)
{
	char line[256];
	double bt = 0;
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %lf", &bt) == 1)
			break;
	fclose(f);
	return bt;
}

static long op_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

void op_prom_process(FILE *f)
{
	unsigned long long start = 0, vsize = 0, rss_pages = 0;
	long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE), fds = op_open_fds();
	struct rusage ru;
	struct rlimit rl;
	FILE *sm;

	if (!getrusage(RUSAGE_SELF, &ru)) {
		op_prom_head(f, "process_cpu_seconds_total", "counter",
			     "Total user and system CPU time spent in seconds.");
		fprintf(f, "process_cpu_seconds_total %.6f\n",
			(double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
				(double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	}
	sm = fopen("/proc/self/statm", "r");
	if (sm) {
		if (fscanf(sm, "%*u %llu", &rss_pages) == 1) {
			op_prom_head(f, "process_resident_memory_bytes", "gauge",
				     "Resident memory size in bytes.");
			fprintf(f, "process_resident_memory_bytes %llu\n",
				rss_pages * (unsigned long long)page);
		}
		fclose(sm);
	}
	if (!op_stat(&start, &vsize)) {
		op_prom_head(f, "process_virtual_memory_bytes", "gauge",
			     "Virtual memory size in bytes.");
		fprintf(f, "process_virtual_memory_bytes %llu\n", vsize);
		if (ticks > 0) {
			op_prom_head(f, "process_start_time_seconds", "gauge",
				     "Start time of the process since unix epoch in seconds.");
			fprintf(f, "process_start_time_seconds %.2f\n",
				op_boot_time() + (double)start / (double)ticks);
		}
	}
	if (fds >= 0) {
		op_prom_head(f, "process_open_fds", "gauge", "Number of open file descriptors.");
		fprintf(f, "process_open_fds %ld\n", fds);
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		op_prom_head(f, "process_max_fds", "gauge",
			     "Maximum number of open file descriptors.");
		fprintf(f, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
	}
}

/* "@name{@k1="@v1"[,@k2="@v2"]} " */
static void op_prom_sample(FILE *f, const char *name, const char *k1, const char *v1,
			   const char *k2, const char *v2)
{
	fprintf(f, "%s{%s=\"", name, k1);
	op_prom_label(f, v1);
	if (k2) {
		fprintf(f, "\",%s=\"", k2);
		op_prom_label(f, v2);
	}
	fputs("\"} ", f);
}

void op_prom_cluster(FILE *f)
{
	struct cluster_metric *m = calloc(CLUSTER_METRIC_SERIES, sizeof(*m));
	size_t n;

	if (!m)
		return;
	n = cluster_metrics_copy(m, CLUSTER_METRIC_SERIES);
	op_prom_head(
		f, "ferry_backup_total", "counter",
		"Backups this controller ran to an end, by schedule (\"\" for none) and phase.");
	for (const struct cluster_metric *s = m; s < m + n; s++) {
		if (s->kind != CLUSTER_METRIC_BACKUPS)
			continue;
		op_prom_sample(f, "ferry_backup_total", "schedule", s->key, "phase", s->phase);
		fprintf(f, "%llu\n", s->count);
	}
	op_prom_head(f, "ferry_backup_last_successful_timestamp_seconds", "gauge",
		     "When the schedule's (\"\": no schedule's) last Completed Backup completed, "
		     "from the Backups this controller ran or found.");
	for (const struct cluster_metric *s = m; s < m + n; s++) {
		if (s->kind != CLUSTER_METRIC_SCHEDULE || !s->last_success)
			continue;
		op_prom_sample(f, "ferry_backup_last_successful_timestamp_seconds", "schedule",
			       s->key, NULL, NULL);
		fprintf(f, "%.3f\n", s->last_success);
	}
	op_prom_head(f, "ferry_backup_duration_seconds", "histogram",
		     "From start to completion of the Completed and PartiallyFailed Backups this "
		     "controller ran, by schedule.");
	for (const struct cluster_metric *s = m; s < m + n; s++) {
		char le[32];

		if (s->kind != CLUSTER_METRIC_SCHEDULE || !s->count)
			continue;
		for (size_t k = 0; k <= CLUSTER_METRIC_NBOUNDS; k++) {
			if (k < CLUSTER_METRIC_NBOUNDS)
				snprintf(le, sizeof(le), "%g", cluster_metric_bounds[k]);
			op_prom_sample(f, "ferry_backup_duration_seconds_bucket", "schedule",
				       s->key, "le", k < CLUSTER_METRIC_NBOUNDS ? le : "+Inf");
			fprintf(f, "%llu\n", k < CLUSTER_METRIC_NBOUNDS ? s->buckets[k] : s->count);
		}
		op_prom_sample(f, "ferry_backup_duration_seconds_sum", "schedule", s->key, NULL,
			       NULL);
		fprintf(f, "%.3f\n", s->sum);
		op_prom_sample(f, "ferry_backup_duration_seconds_count", "schedule", s->key, NULL,
			       NULL);
		fprintf(f, "%llu\n", s->count);
	}
	op_prom_head(f, "ferry_restore_total", "counter",
		     "Restores this controller ran to an end, by phase.");
	for (const struct cluster_metric *s = m; s < m + n; s++) {
		if (s->kind != CLUSTER_METRIC_RESTORES)
			continue;
		op_prom_sample(f, "ferry_restore_total", "phase", s->phase, NULL, NULL);
		fprintf(f, "%llu\n", s->count);
	}
	op_prom_head(f, "ferry_repository_prunes_total", "counter",
		     "Prunes this controller ran, by Repository and result (Succeeded, Failed, "
		     "Busy).");
	for (const struct cluster_metric *s = m; s < m + n; s++) {
		if (s->kind != CLUSTER_METRIC_PRUNES)
			continue;
		op_prom_sample(f, "ferry_repository_prunes_total", "repository", s->key, "result",
			       s->phase);
		fprintf(f, "%llu\n", s->count);
	}
	op_prom_head(f, "ferry_repository_pruned_bytes_total", "counter",
		     "Bytes of data objects the prunes this controller ran freed, by Repository.");
	for (const struct cluster_metric *s = m; s < m + n; s++) {
		if (s->kind != CLUSTER_METRIC_PRUNES || strcmp(s->phase, "Succeeded"))
			continue;
		op_prom_sample(f, "ferry_repository_pruned_bytes_total", "repository", s->key, NULL,
			       NULL);
		fprintf(f, "%llu\n", s->bytes);
	}
	free(m);
}
