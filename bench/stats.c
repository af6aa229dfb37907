// SPDX-License-Identifier: MIT
/*
 * bench/stats.c - the figures of one stage and the worker threads that run it.
 *
 * CPU time is getrusage(RUSAGE_SELF) user+sys over the stage: every thread of
 * the process, the datapath's and the store's included. Peak RSS is the
 * stage's own: the kernel's high-water mark is reset through
 * /proc/self/clear_refs ("5") when the stage begins and read from VmHWM when
 * it ends (ru_maxrss, the process's peak so far, where that is refused).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "control/cli/cli.h"

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

unsigned int bench_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned int)n : 1;
}

static double ts_sec(const struct timespec *ts)
{
	return (double)ts->tv_sec + (double)ts->tv_nsec / 1e9;
}

static double tv_sec(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

int bench_stage_init(struct bench_stage *st, const char *name, const struct bench_opts *o)
{
	memset(st, 0, sizeof(*st));
	st->name = name;
	st->o = o;
	pthread_mutex_init(&st->lat.lock, NULL);
	pthread_mutex_init(&st->err_lock, NULL);
	st->detail = cJSON_CreateObject();
	return st->detail ? 0 : -ENOMEM;
}

void bench_stage_fini(struct bench_stage *st)
{
	if (!st || !st->name)
		return;
	free(st->lat.v);
	free(st->samples);
	cJSON_Delete(st->detail);
	pthread_mutex_destroy(&st->lat.lock);
	pthread_mutex_destroy(&st->err_lock);
	st->name = NULL;
}

/* Reset the peak RSS to the current RSS (Linux >= 4.0). */
static void stage_reset_hwm(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, "5", 1) != 1)
		ctl_log(CTL_LOG_DEBUG, "bench: cannot reset the peak RSS: %s", strerror(errno));
	close(fd);
}

static uint64_t stage_hwm(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long long kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb << 10;
}

void bench_stage_begin(struct bench_stage *st)
{
	stage_reset_hwm();
	getrusage(RUSAGE_SELF, &st->ru0);
	clock_gettime(CLOCK_MONOTONIC, &st->t0);
	st->next_sample = BENCH_SAMPLE_INTERVAL;
}

double bench_stage_elapsed(const struct bench_stage *st)
{
	return bench_now() - ts_sec(&st->t0);
}

static void stage_sample(struct bench_stage *st, double t, uint64_t bytes)
{
	if (st->nsamples == st->capsamples) {
		size_t cap = st->capsamples ? st->capsamples * 2 : 64;
		struct bench_sample *s = realloc(st->samples, cap * sizeof(*s));

		if (!s)
			return; /* a sample less; the totals stay right */
		st->samples = s;
		st->capsamples = cap;
	}
	st->samples[st->nsamples++] = (struct bench_sample){.t = t, .bytes = bytes};
}

void bench_stage_tick(struct bench_stage *st, uint64_t bytes_done)
{
	double t = bench_stage_elapsed(st);

	while (t >= st->next_sample) {
		stage_sample(st, st->next_sample, bytes_done);
		st->next_sample += BENCH_SAMPLE_INTERVAL;
	}
}

void bench_stage_end(struct bench_stage *st, uint64_t bytes_done)
{
	struct rusage ru;
	uint64_t hwm;

	st->seconds = bench_stage_elapsed(st);
	getrusage(RUSAGE_SELF, &ru);
	st->cpu_user = tv_sec(&ru.ru_utime) - tv_sec(&st->ru0.ru_utime);
	st->cpu_sys = tv_sec(&ru.ru_stime) - tv_sec(&st->ru0.ru_stime);
	hwm = stage_hwm();
	st->peak_rss = hwm ? hwm : (uint64_t)ru.ru_maxrss << 10;
	/* the last sample covers the rest; one a moment before the end becomes it */
	if (st->nsamples && st->samples[st->nsamples - 1].t >= st->seconds - 1e-3)
		st->samples[st->nsamples - 1] =
			(struct bench_sample){.t = st->seconds, .bytes = bytes_done};
	else
		stage_sample(st, st->seconds, bytes_done);
}

int bench_stage_fail(struct bench_stage *st, int err, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&st->err_lock);
	if (!st->err) {
		st->err = err;
		va_start(ap, fmt);
		vsnprintf(st->error, sizeof(st->error), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&st->err_lock);
	st->failed = true;
	return err;
}

bool bench_stage_next_unit(struct bench_stage *st, uint64_t nunits, uint64_t *unit)
{
	uint64_t u;

	if (st->failed || ctl_interrupted())
		return false;
	u = atomic_fetch_add(&st->next_unit, 1);
	if (st->o->duration > 0) {
		if (bench_stage_elapsed(st) >= st->o->duration)
			return false;
	} else if (u >= nunits) {
		return false;
	}
	*unit = u;
	return true;
}

void bench_lat_add(struct bench_lat *l, double seconds)
{
	pthread_mutex_lock(&l->lock);
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		float *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			pthread_mutex_unlock(&l->lock);
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (float)(seconds * 1e6);
	pthread_mutex_unlock(&l->lock);
}

static int lat_cmp(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

/* nearest rank: the smallest value with at least p% of the values at or below it */
static double lat_rank(const float *v, size_t n, double p)
{
	size_t k = (size_t)((p / 100.0) * (double)n + 0.999999);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1] / 1e3;
}

void bench_lat_summarize(struct bench_lat *l, struct bench_lat_summary *out)
{
	memset(out, 0, sizeof(*out));
	if (!l->n)
		return;
	qsort(l->v, l->n, sizeof(*l->v), lat_cmp);
	out->count = l->n;
	out->p50 = lat_rank(l->v, l->n, 50);
	out->p90 = lat_rank(l->v, l->n, 90);
	out->p99 = lat_rank(l->v, l->n, 99);
	out->max = l->v[l->n - 1] / 1e3;
}

struct bench_workers {
	void *(*fn)(void *);
	void *arg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int running;
};

static void *workers_main(void *p)
{
	struct bench_workers *w = p;

	w->fn(w->arg);
	pthread_mutex_lock(&w->lock);
	w->running--;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int bench_workers_run(struct bench_stage *st, unsigned int n, void *(*fn)(void *), void *arg)
{
	struct bench_workers w = {.fn = fn, .arg = arg};
	pthread_condattr_t ca;
	pthread_t *t;
	unsigned int i, started = 0;
	int ret = 0;

	t = calloc(n, sizeof(*t));
	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&w.lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&w.lock);
	for (i = 0; i < n; i++) {
		ret = pthread_create(&t[i], NULL, workers_main, &w);
		if (ret) {
			ret = -ret;
			bench_stage_fail(st, ret, "cannot start a thread: %s", strerror(-ret));
			break;
		}
		w.running++;
		started++;
	}
	while (w.running) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&w.cond, &w.lock, &ts);
		bench_stage_tick(st, st->progress);
	}
	pthread_mutex_unlock(&w.lock);
	for (i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	free(t);
	return ret;
}
