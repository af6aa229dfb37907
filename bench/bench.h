/* SPDX-License-Identifier: MIT */
/*
 * bench/bench.h - what the files of `ferry bench` share; private to bench/.
 *
 *   cmd_bench.c   options, the order of the scenarios, where things go, cleanup
 *   gen.c         deterministic data: zero, random, text, mixed (seeded)
 *   stats.c       one stage's figures: clock, getrusage, peak RSS, latencies,
 *                 per-second samples; the worker threads of a stage
 *   scen_cpu.c    compress, hash, encrypt (in memory, per chunk, N threads)
 *   scen_read.c   read (io_uring, O_DIRECT, registered buffers)
 *   scen_store.c  put, get (s3/store.h)
 *   scen_job.c    backup, restore (datapath/dp.h jobs)
 *   report.c      the human table and the JSON (bench/SCHEMA.md)
 *
 * Every scenario fills one struct bench_stage; report.c prints them.
 */
#ifndef FERRY_BENCH_H
#define FERRY_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/resource.h>

#include <cjson/cJSON.h>

#include "control/cli/cli.h"

struct s3_store;
struct dp_snapshot;

#define BENCH_SCHEMA	      "ferry-bench/1"
#define BENCH_WORKSET_MAX     (256ull << 20) /* in-memory data of compress/hash/encrypt/put */
#define BENCH_SAMPLE_INTERVAL 1.0	     /* seconds between throughput samples */

/* ------------------------------------------------------------------ data */

enum bench_data { BENCH_DATA_ZERO, BENCH_DATA_RANDOM, BENCH_DATA_TEXT, BENCH_DATA_MIXED };

#define BENCH_GEN_BLOCK	 (64u << 10) /* the generator's unit: any aligned block alone */
#define BENCH_GEN_REGION (1u << 20)  /* mixed: each 1 MiB region is one kind */
#define BENCH_GEN_WORDS	 2048

/* A seeded generator: the bytes at an offset depend only on (kind, seed, offset). */
struct bench_gen {
	enum bench_data kind;
	uint64_t seed;
	char words[BENCH_GEN_WORDS][12];
	uint8_t wlen[BENCH_GEN_WORDS];
};

/* bench_data_parse() - "zero", "random", "text", "mixed". 0 or -EINVAL. */
int bench_data_parse(const char *s, enum bench_data *out);
const char *bench_data_name(enum bench_data kind);

/* bench_gen_init() - set up @g; cannot fail. */
void bench_gen_init(struct bench_gen *g, enum bench_data kind, uint64_t seed);

/*
 * bench_gen_fill() - the @len bytes at volume offset @off
 * @off: a multiple of BENCH_GEN_BLOCK
 */
void bench_gen_fill(const struct bench_gen *g, uint64_t off, void *buf, size_t len);

/* bench_gen_region_is_zero() - mixed/zero data: the 1 MiB region at @off is all zero */
bool bench_gen_region_is_zero(const struct bench_gen *g, uint64_t off);

/*
 * bench_gen_file() - write @size bytes of @g to a new file @path with
 * @threads threads; zero regions are left as holes.
 * Return: 0 or -errno (the detail in @err).
 */
int bench_gen_file(const struct bench_gen *g, const char *path, uint64_t size, unsigned int threads,
		   char *err, size_t errlen);

/* ---------------------------------------------------------------- stages */

/* Per-request (or per-chunk operation) latencies of a stage, in microseconds. */
struct bench_lat {
	pthread_mutex_t lock;
	float *v;
	size_t n, cap;
};

struct bench_sample {
	double t;	/* seconds since the stage started, at the end of the interval */
	uint64_t bytes; /* input bytes done by then */
};

/* The settings every scenario reads (cmd_bench.c fills them in). */
struct bench_opts {
	uint64_t size;
	double duration;	  /* seconds; 0: do --size once */
	unsigned int threads;	  /* 0: one per CPU */
	unsigned int concurrency; /* 0: the scenario's default */
	int compression;	  /* zstd level or DP_COMPRESSION_OFF */
	uint64_t part_size;
	uint64_t object_size;
	uint64_t block_size;
	uint32_t chunk_size;
	enum bench_data data;
	uint64_t seed;
	const char *source; /* --source, or the generated image */
	bool source_generated;
	const char *workdir;
	const char *repo; /* --repo as given; NULL: a directory in the workdir */
	bool keep;
	bool no_encryption;	   /* --encryption off: backup's repository in the clear */
	struct ctl_common *common; /* --memory, --s3-*, --repo */
};

struct bench_stage {
	const char *name;
	int err; /* 0 or -errno */
	char error[256];
	/* figures */
	double seconds;
	uint64_t bytes_in, bytes_stored, objects;
	bool has_lat;
	struct bench_lat lat;
	double cpu_user, cpu_sys;
	uint64_t peak_rss;
	struct bench_sample *samples;
	size_t nsamples, capsamples;
	cJSON *detail;	      /* scenario-specific fields (SCHEMA.md) */
	long objects_deleted; /* by the stage's own cleanup */
	/* while it runs */
	const struct bench_opts *o;
	struct timespec t0;
	struct rusage ru0;
	double next_sample;
	_Atomic uint64_t progress;  /* input bytes done, for the samples */
	_Atomic uint64_t next_unit; /* bench_stage_next_unit() */
	_Atomic bool failed;
	pthread_mutex_t err_lock;
};

/* bench_stage_init() - a stage named @name (a string literal); detail made here. 0/-ENOMEM */
int bench_stage_init(struct bench_stage *st, const char *name, const struct bench_opts *o);
void bench_stage_fini(struct bench_stage *st);

/* bench_stage_begin() - start the clock, the CPU count and the peak RSS. */
void bench_stage_begin(struct bench_stage *st);
/* bench_stage_tick() - record a sample when a sample interval has passed. */
void bench_stage_tick(struct bench_stage *st, uint64_t bytes_done);
/* bench_stage_end() - stop them; the last (partial) sample. */
void bench_stage_end(struct bench_stage *st, uint64_t bytes_done);
/* bench_stage_elapsed() - seconds since bench_stage_begin() */
double bench_stage_elapsed(const struct bench_stage *st);

/* bench_stage_fail() - record the first failure (thread-safe); returns @err. */
int bench_stage_fail(struct bench_stage *st, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * bench_stage_next_unit() - the next unit of work for a worker thread
 * @nunits: units in --size
 *
 * Without --duration, units 0..@nunits-1 once; with it, units go on (callers
 * take them modulo @nunits) until the duration has passed, however many that
 * is. Stops early on a failure or SIGINT/SIGTERM. Return: false when there is
 * no more work.
 */
bool bench_stage_next_unit(struct bench_stage *st, uint64_t nunits, uint64_t *unit);

/* bench_lat_add() - one latency, in seconds (thread-safe) */
void bench_lat_add(struct bench_lat *l, double seconds);
/* Latency percentile (nearest rank) in milliseconds; call after the stage. */
struct bench_lat_summary {
	size_t count;
	double p50, p90, p99, max;
};
void bench_lat_summarize(struct bench_lat *l, struct bench_lat_summary *out);

/* Monotonic seconds. */
double bench_now(void);

/*
 * bench_workers_run() - run @fn(@arg) on @n threads while this thread takes
 * the samples of @st from st->progress; returns when all have finished.
 * Return: 0, or -errno if a thread could not be started (the rest are joined).
 */
int bench_workers_run(struct bench_stage *st, unsigned int n, void *(*fn)(void *), void *arg);

/* Online CPUs (at least 1). */
unsigned int bench_cpus(void);

/* ------------------------------------------------------------ scenarios */

int bench_scen_compress(struct bench_stage *st);
int bench_scen_hash(struct bench_stage *st);
int bench_scen_encrypt(struct bench_stage *st);
int bench_scen_read(struct bench_stage *st);

/* The store scenarios open their own store at @url (a fresh prefix). */
int bench_scen_put(struct bench_stage *st, const char *url);
int bench_scen_get(struct bench_stage *st, const char *url);

/*
 * State shared by backup and restore: the repository a backup made, which a
 * restore in the same run reads. bench_job_ctx_fini() closes it.
 */
struct bench_job_ctx {
	char url[4096];
	struct s3_store *st;
	struct dp_repo *repo;
	struct dp_pool *pool;
	char snapshot_id[65];
	char restore_target[4096];
	bool backed_up;
};
int bench_scen_backup(struct bench_stage *st, struct bench_job_ctx *jc);
int bench_scen_restore(struct bench_stage *st, struct bench_job_ctx *jc);
void bench_job_ctx_fini(struct bench_job_ctx *jc);

/*
 * bench_store_open() - open the store at @url with the --s3-* settings
 * Return: 0 or -errno (detail in @st's error).
 */
int bench_store_open(struct bench_stage *st, const char *url, struct s3_store **out);

/*
 * bench_store_clean() - delete every object of a store bench opened (and, for
 * file://, its now-empty directories). Return: objects deleted, or -errno.
 */
long bench_store_clean(struct s3_store *s);

/* ---------------------------------------------------------------- report */

struct bench_cleanup {
	bool done;
	long objects_deleted;
	long files_removed;
	const char *kept[4];
	size_t nkept;
};

/* bench_report_json() - the JSON document of SCHEMA.md on stdout. 0/-ENOMEM */
int bench_report_json(const struct bench_opts *o, const char *const *scenarios, size_t nscen,
		      struct bench_stage *stages, size_t n, const struct bench_cleanup *cl);
/* bench_report_table() - the human table on stdout. */
void bench_report_table(const struct bench_opts *o, struct bench_stage *stages, size_t n,
			const struct bench_cleanup *cl);

#endif /* FERRY_BENCH_H */
