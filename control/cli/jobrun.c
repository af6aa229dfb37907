// SPDX-License-Identifier: MIT
/*
 * control/cli/jobrun.c - running one datapath job in the foreground: progress
 * (a live line on a terminal, or JSON lines), SIGINT/SIGTERM cancellation
 * (the flag every long-running verb polls), and its outcome as 0 or -errno.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "datapath/dp.h"

static void ctl_progress_tty(const char *verb, const struct dp_progress *p, bool final)
{
	double mb = (double)p->bytes_done / 1e6;
	double rate = p->seconds > 0 ? mb / p->seconds : 0;
	double pct = p->bytes_total ? 100.0 * (double)p->bytes_done / (double)p->bytes_total : 100;
	double eta = rate > 0 ? ((double)(p->bytes_total - p->bytes_done) / 1e6) / rate : 0;

	fprintf(stderr, "\r%s: %5.1f%%  %.0f/%.0f MB  %.0f MB/s  new %.1f MB  ETA %.0fs   %s", verb,
		pct, mb, (double)p->bytes_total / 1e6, rate, (double)p->bytes_new / 1e6,
		final ? 0.0 : eta, final ? "\n" : "");
	fflush(stderr);
}

static void ctl_progress_json(const char *verb, const struct dp_progress *p)
{
	fprintf(stderr,
		"{\"progress\":\"%s\",\"seconds\":%.3f,\"bytes_total\":%llu,\"bytes_done\":%llu,"
		"\"bytes_read\":%llu,\"bytes_zero\":%llu,\"bytes_new\":%llu,\"bytes_written\":%llu,"
		"\"chunks_total\":%llu,\"chunks_new\":%llu}\n",
		verb, p->seconds, (unsigned long long)p->bytes_total,
		(unsigned long long)p->bytes_done, (unsigned long long)p->bytes_read,
		(unsigned long long)p->bytes_zero, (unsigned long long)p->bytes_new,
		(unsigned long long)p->bytes_written, (unsigned long long)p->chunks_total,
		(unsigned long long)p->chunks_new);
	fflush(stderr);
}

int ctl_job_run(struct dp_job *job, const struct ctl_common *c, const char *verb)
{
	enum ctl_progress mode = c->progress;
	const struct dp_result *r;
	struct dp_progress p;
	bool cancelled = false;
	int tick = 0;

	if (mode == CTL_PROGRESS_AUTO)
		mode = isatty(STDERR_FILENO) && ctl_verbosity >= CTL_LOG_WARN ? CTL_PROGRESS_TTY
									      : CTL_PROGRESS_NONE;
	while (dp_job_wait(job, 100) == -ETIMEDOUT) {
		if (ctl_interrupted() && !cancelled) {
			dp_job_cancel(job);
			cancelled = true;
		}
		if (++tick % (mode == CTL_PROGRESS_JSON ? 10 : 5))
			continue;
		dp_job_progress(job, &p);
		if (mode == CTL_PROGRESS_TTY)
			ctl_progress_tty(verb, &p, false);
		else if (mode == CTL_PROGRESS_JSON)
			ctl_progress_json(verb, &p);
	}
	r = dp_job_result(job);
	if (mode == CTL_PROGRESS_TTY)
		ctl_progress_tty(verb, &r->progress, true);
	else if (mode == CTL_PROGRESS_JSON)
		ctl_progress_json(verb, &r->progress);
	if (r->err) {
		if (r->err == -ECANCELED)
			return ctl_fail(r->err, NULL, "%s interrupted: nothing was committed",
					verb);
		return ctl_fail(r->err, NULL, "%s failed: %s", verb, dp_job_error(job));
	}
	return 0;
}

static atomic_int ctl_sigflag;

static void ctl_on_signal(int sig)
{
	atomic_store(&ctl_sigflag, sig);
}

void ctl_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ctl_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

bool ctl_interrupted(void)
{
	return atomic_load(&ctl_sigflag) != 0;
}
