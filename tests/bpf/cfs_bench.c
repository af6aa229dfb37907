// SPDX-License-Identifier: MIT
/*
 * tests/bpf/cfs_bench.c - what reading the CFS counters costs per series at
 * each sample (bench/cfs-read.sh drives it; figures, never a pass/fail gate):
 * pread() from offset 0 of a cpu.stat kept open plus ebpf_cpu_stat_parse(),
 * as bpf/collector.c does, against open + read + close of the path each time.
 *
 *   cfs_bench ROUNDS CPU_STAT...
 *
 * Prints one line per method: nanoseconds per file (wall and this thread's
 * CPU), over ROUNDS rounds of every file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpf/ebpf.h"

static double now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int one(int fd, char *buf, size_t len, uint64_t *sink)
{
	struct ebpf_counters c = {0};
	ssize_t r = pread(fd, buf, len, 0);

	if (r <= 0 || ebpf_cpu_stat_parse(buf, (size_t)r, &c))
		return -1;
	*sink += c.cfs_periods;
	return 0;
}

int main(int argc, char **argv)
{
	char buf[4096];
	uint64_t sink = 0;
	long rounds;
	int n, *fds, bad = 0;
	double w0, c0, w, c;

	if (argc < 3 || (rounds = strtol(argv[1], NULL, 10)) < 1) {
		fprintf(stderr, "usage: cfs_bench ROUNDS CPU_STAT...\n");
		return 2;
	}
	n = argc - 2;
	fds = calloc((size_t)n, sizeof(*fds));
	if (!fds)
		return 1;
	for (int i = 0; i < n; i++) {
		fds[i] = open(argv[i + 2], O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0 || one(fds[i], buf, sizeof(buf), &sink)) {
			fprintf(stderr, "cfs_bench: %s: %s\n", argv[i + 2],
				fds[i] < 0 ? strerror(errno) : "no CFS fields");
			return 1;
		}
	}
	w0 = now(CLOCK_MONOTONIC);
	c0 = now(CLOCK_THREAD_CPUTIME_ID);
	for (long r = 0; r < rounds; r++)
		for (int i = 0; i < n; i++)
			bad += one(fds[i], buf, sizeof(buf), &sink);
	w = now(CLOCK_MONOTONIC) - w0;
	c = now(CLOCK_THREAD_CPUTIME_ID) - c0;
	printf("kept fd, pread + parse: %.0f ns wall, %.0f ns CPU per file (%d files x %ld rounds)\n",
	       w / (double)n / (double)rounds, c / (double)n / (double)rounds, n, rounds);
	w0 = now(CLOCK_MONOTONIC);
	c0 = now(CLOCK_THREAD_CPUTIME_ID);
	for (long r = 0; r < rounds; r++)
		for (int i = 0; i < n; i++) {
			int fd = open(argv[i + 2], O_RDONLY | O_CLOEXEC);

			bad += fd < 0 || one(fd, buf, sizeof(buf), &sink);
			if (fd >= 0)
				close(fd);
		}
	w = now(CLOCK_MONOTONIC) - w0;
	c = now(CLOCK_THREAD_CPUTIME_ID) - c0;
	printf("open + read + close + parse: %.0f ns wall, %.0f ns CPU per file\n",
	       w / (double)n / (double)rounds, c / (double)n / (double)rounds);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	if (bad)
		fprintf(stderr, "cfs_bench: %d reads failed\n", bad);
	return bad ? 1 : (int)(sink & 0);
}
