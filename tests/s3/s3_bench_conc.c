// SPDX-License-Identifier: MIT
/*
 * tests/s3/s3_bench_conc.c - upload throughput of the s3:// client at a given
 * concurrency (not a test; figures for s3/README.md):
 *
 *   s3_bench_conc URL ENDPOINT PART_MIB PARTS K...
 *
 * For each K: one multipart upload of PARTS parts of PART_MIB MiB with K
 * transfers in flight; prints K and MB/s. Credentials from AWS_*.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "s3/store.h"

static atomic_int failed;

static void done(void *arg, int ret, const char *detail)
{
	(void)arg;
	if (ret) {
		fprintf(stderr, "part: %d %s\n", ret, detail);
		atomic_fetch_add(&failed, 1);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	size_t part, n;
	unsigned char *data;

	if (argc < 6) {
		fprintf(stderr, "usage: s3_bench_conc URL ENDPOINT PART_MIB PARTS K...\n");
		return 2;
	}
	part = strtoul(argv[3], NULL, 10) << 20;
	n = strtoul(argv[4], NULL, 10);
	data = malloc(part);
	for (size_t i = 0; i < part; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	for (int a = 5; a < argc; a++) {
		struct s3_store_opts o = {.sz = sizeof(o), .endpoint = argv[2]};
		struct s3_store *st;
		struct s3_upload *up;
		double t0;

		o.concurrency = (unsigned int)strtoul(argv[a], NULL, 10);
		if (s3_store_open(argv[1], &o, &st)) {
			fprintf(stderr, "open: %s\n", s3_last_error());
			return 1;
		}
		t0 = now();
		if (s3_upload_new(st, "data/bench/conc", part, &up))
			return 1;
		for (unsigned int i = 1; i <= n; i++)
			if (s3_upload_part(up, i, data, part, done, NULL))
				return 1;
		if (s3_upload_complete(up) || atomic_load(&failed)) {
			fprintf(stderr, "upload: %s\n", s3_last_error());
			return 1;
		}
		printf("K=%u %.1f MB/s\n", o.concurrency, (double)(part * n) / (now() - t0) / 1e6);
		fflush(stdout);
		s3_store_delete(st, "data/bench/conc");
		s3_store_free(st);
	}
	free(data);
	return 0;
}
