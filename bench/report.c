// SPDX-License-Identifier: MIT
/*
 * bench/report.c - what ferry bench prints: the human table, or with --json
 * the one JSON document that bench/SCHEMA.md describes field by field (the
 * test suite checks the two against each other). MB is 10^6 bytes, GB 10^9.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "bench.h"
#include "control/cli/cli.h"
#include "datapath/dp.h"

static double rate(uint64_t bytes, double seconds)
{
	return seconds > 0 ? (double)bytes / 1e6 / seconds : 0;
}

static double cpu_per_gb(const struct bench_stage *st)
{
	return st->bytes_in ? (st->cpu_user + st->cpu_sys) / ((double)st->bytes_in / 1e9) : 0;
}

static cJSON *report_stage(struct bench_stage *st)
{
	cJSON *o = cJSON_CreateObject(), *lat, *samples;
	struct bench_lat_summary ls;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", st->name);
	cJSON_AddBoolToObject(o, "ok", st->err == 0);
	if (st->err)
		cJSON_AddStringToObject(o, "error", st->error[0] ? st->error : "failed");
	else
		cJSON_AddNullToObject(o, "error");
	cJSON_AddNumberToObject(o, "seconds", st->seconds);
	cJSON_AddNumberToObject(o, "bytes_in", (double)st->bytes_in);
	cJSON_AddNumberToObject(o, "bytes_stored", (double)st->bytes_stored);
	cJSON_AddNumberToObject(o, "mb_per_s_in", rate(st->bytes_in, st->seconds));
	cJSON_AddNumberToObject(o, "mb_per_s_stored", rate(st->bytes_stored, st->seconds));
	cJSON_AddNumberToObject(o, "objects", (double)st->objects);
	cJSON_AddNumberToObject(o, "objects_per_s",
				st->seconds > 0 ? (double)st->objects / st->seconds : 0);
	if (st->has_lat) {
		bench_lat_summarize(&st->lat, &ls);
		lat = cJSON_AddObjectToObject(o, "latency_ms");
		if (lat) {
			cJSON_AddNumberToObject(lat, "count", (double)ls.count);
			cJSON_AddNumberToObject(lat, "p50", ls.p50);
			cJSON_AddNumberToObject(lat, "p90", ls.p90);
			cJSON_AddNumberToObject(lat, "p99", ls.p99);
			cJSON_AddNumberToObject(lat, "max", ls.max);
		}
	} else {
		cJSON_AddNullToObject(o, "latency_ms");
	}
	cJSON_AddNumberToObject(o, "cpu_user_s", st->cpu_user);
	cJSON_AddNumberToObject(o, "cpu_sys_s", st->cpu_sys);
	cJSON_AddNumberToObject(o, "cpu_s_per_gb", cpu_per_gb(st));
	cJSON_AddNumberToObject(o, "peak_rss_bytes", (double)st->peak_rss);
	samples = cJSON_AddArrayToObject(o, "samples");
	for (size_t i = 0; samples && i < st->nsamples; i++) {
		cJSON *s = cJSON_CreateObject();
		double t0 = i ? st->samples[i - 1].t : 0;
		uint64_t b0 = i ? st->samples[i - 1].bytes : 0;

		if (!s)
			break;
		cJSON_AddNumberToObject(s, "t", st->samples[i].t);
		cJSON_AddNumberToObject(s, "bytes", (double)st->samples[i].bytes);
		cJSON_AddNumberToObject(s, "mb_per_s",
					rate(st->samples[i].bytes - b0, st->samples[i].t - t0));
		cJSON_AddItemToArray(samples, s);
	}
	/* the detail moves into the document */
	cJSON_AddItemToObject(o, "detail", st->detail);
	st->detail = NULL;
	return o;
}

static void report_time(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "?");
}

int bench_report_json(const struct bench_opts *o, const char *const *scenarios, size_t nscen,
		      struct bench_stage *stages, size_t n, const struct bench_cleanup *cl)
{
	cJSON *root = cJSON_CreateObject(), *host, *opts, *arr, *clean, *kept;
	int level = o->compression ? o->compression : DP_COMPRESSION_DEFAULT;
	uint64_t mem = o->common->memory ? o->common->memory : DP_MEMORY_DEFAULT;
	struct utsname u;
	char t[32], hn[256] = "";
	bool ok = true;
	char *s;

	if (!root)
		return -ENOMEM;
	report_time(t, sizeof(t));
	cJSON_AddStringToObject(root, "schema", BENCH_SCHEMA);
	cJSON_AddStringToObject(root, "ferry_version", FERRY_VERSION);
	cJSON_AddStringToObject(root, "time", t);
	host = cJSON_AddObjectToObject(root, "host");
	if (host) {
		gethostname(hn, sizeof(hn) - 1);
		cJSON_AddStringToObject(host, "hostname", hn);
		cJSON_AddNumberToObject(host, "cpus", bench_cpus());
		cJSON_AddStringToObject(host, "kernel", uname(&u) ? "?" : u.release);
	}
	arr = cJSON_AddArrayToObject(root, "scenarios");
	for (size_t i = 0; arr && i < nscen; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(scenarios[i]));
	opts = cJSON_AddObjectToObject(root, "options");
	if (opts) {
		cJSON_AddNumberToObject(opts, "size", (double)o->size);
		cJSON_AddNumberToObject(opts, "duration", o->duration);
		cJSON_AddNumberToObject(opts, "threads", o->threads ? o->threads : bench_cpus());
		cJSON_AddNumberToObject(opts, "concurrency", o->concurrency);
		if (o->compression == DP_COMPRESSION_OFF)
			cJSON_AddNullToObject(opts, "compression");
		else
			cJSON_AddNumberToObject(opts, "compression", level);
		cJSON_AddNumberToObject(opts, "part_size", (double)o->part_size);
		cJSON_AddNumberToObject(opts, "object_size", (double)o->object_size);
		cJSON_AddNumberToObject(opts, "block_size", (double)o->block_size);
		cJSON_AddNumberToObject(opts, "chunk_size", o->chunk_size);
		cJSON_AddNumberToObject(opts, "memory", (double)mem);
		cJSON_AddStringToObject(opts, "data", bench_data_name(o->data));
		cJSON_AddNumberToObject(opts, "seed", (double)o->seed);
		if (o->repo)
			cJSON_AddStringToObject(opts, "repo", o->repo);
		else
			cJSON_AddNullToObject(opts, "repo");
		if (o->source && !o->source_generated)
			cJSON_AddStringToObject(opts, "source", o->source);
		else
			cJSON_AddNullToObject(opts, "source");
		cJSON_AddStringToObject(opts, "workdir", o->workdir);
		cJSON_AddBoolToObject(opts, "keep", o->keep);
		cJSON_AddBoolToObject(opts, "encryption", !o->no_encryption);
	}
	arr = cJSON_AddArrayToObject(root, "stages");
	for (size_t i = 0; arr && i < n; i++) {
		cJSON_AddItemToArray(arr, report_stage(&stages[i]));
		ok = ok && !stages[i].err;
	}
	clean = cJSON_AddObjectToObject(root, "cleanup");
	if (clean) {
		cJSON_AddBoolToObject(clean, "done", cl->done);
		cJSON_AddNumberToObject(clean, "objects_deleted", (double)cl->objects_deleted);
		cJSON_AddNumberToObject(clean, "files_removed", (double)cl->files_removed);
		kept = cJSON_AddArrayToObject(clean, "kept");
		for (size_t i = 0; kept && i < cl->nkept; i++)
			cJSON_AddItemToArray(kept, cJSON_CreateString(cl->kept[i]));
	}
	cJSON_AddBoolToObject(root, "ok", ok);
	s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!s)
		return -ENOMEM;
	puts(s);
	cJSON_free(s);
	return 0;
}

static void table_num(double v, int width, int prec)
{
	if (v >= 100000)
		printf(" %*.0f", width, v);
	else
		printf(" %*.*f", width, prec, v);
}

void bench_report_table(const struct bench_opts *o, struct bench_stage *stages, size_t n,
			const struct bench_cleanup *cl)
{
	char level[16];

	if (o->compression == DP_COMPRESSION_OFF)
		snprintf(level, sizeof(level), "off");
	else
		snprintf(level, sizeof(level), "%d",
			 o->compression ? o->compression : DP_COMPRESSION_DEFAULT);
	printf("ferry bench: %.1f MB of %s data (seed %llu), %u threads, zstd %s, %u CPUs\n",
	       (double)o->size / 1e6, o->source_generated ? bench_data_name(o->data) : o->source,
	       (unsigned long long)o->seed, o->threads ? o->threads : bench_cpus(), level,
	       bench_cpus());
	printf("%-9s %9s %11s %9s %8s %8s %8s %8s %8s %8s\n", "stage", "MB/s in", "MB/s stored",
	       "obj/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "CPU s/GB", "RSS MiB");
	for (size_t i = 0; i < n; i++) {
		struct bench_stage *st = &stages[i];
		struct bench_lat_summary ls = {0};

		printf("%-9s", st->name);
		if (st->err) {
			printf(" FAILED: %s\n", st->error);
			continue;
		}
		table_num(rate(st->bytes_in, st->seconds), 9, 1);
		table_num(rate(st->bytes_stored, st->seconds), 11, 1);
		table_num(st->seconds > 0 ? (double)st->objects / st->seconds : 0, 9, 1);
		if (st->has_lat) {
			bench_lat_summarize(&st->lat, &ls);
			table_num(ls.p50, 8, 2);
			table_num(ls.p90, 8, 2);
			table_num(ls.p99, 8, 2);
			table_num(ls.max, 8, 2);
		} else {
			printf(" %8s %8s %8s %8s", "-", "-", "-", "-");
		}
		table_num(cpu_per_gb(st), 8, 2);
		table_num((double)st->peak_rss / 1048576.0, 8, 0);
		printf("\n");
	}
	for (size_t i = 0; i < n; i++) {
		struct bench_stage *st = &stages[i];

		if (st->err || st->nsamples < 2)
			continue;
		printf("%s MB/s each second:", st->name);
		for (size_t j = 0; j < st->nsamples && j < 60; j++) {
			double t0 = j ? st->samples[j - 1].t : 0;
			uint64_t b0 = j ? st->samples[j - 1].bytes : 0;

			printf(" %.0f", rate(st->samples[j].bytes - b0, st->samples[j].t - t0));
		}
		printf("%s\n", st->nsamples > 60 ? " ..." : "");
	}
	if (cl->nkept)
		for (size_t i = 0; i < cl->nkept; i++)
			printf("kept: %s\n", cl->kept[i]);
	else if (!cl->done)
		printf("cleanup incomplete (see the warnings above)\n");
}
