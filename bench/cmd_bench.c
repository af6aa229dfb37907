// SPDX-License-Identifier: MIT
/*
 * bench/cmd_bench.c - ferry bench: throughput of each stage of the backup
 * path, alone or all of them, with generated data.
 *
 * Everything a run writes goes into places of its own, removed at the end
 * unless --keep: a directory "ferry-bench-<id>" in the work directory (the
 * generated source image, restore targets) and a prefix "ferry-bench-<id>/"
 * under --repo (put/, get/, repo/ for backup and restore). The URL given is
 * never written to outside that prefix.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "bench.h"
#include "bench_cmd.h"
#include "control/cli/cli.h"
#include "datapath/dp.h"
#include "s3/store.h"

enum scen {
	SC_READ,
	SC_HASH,
	SC_COMPRESS,
	SC_ENCRYPT,
	SC_PUT,
	SC_GET,
	SC_BACKUP,
	SC_RESTORE,
	SC_N
};

/* In the order "all" runs them. */
static const char *const scen_names[SC_N] = {
	"read", "hash", "compress", "encrypt", "put", "get", "backup", "restore",
};

static void bench_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry bench [OPTIONS] SCENARIO...\n\n"
		"Measure each stage of the backup path with generated data (nothing of yours\n"
		"is read unless --source says so). Scenarios, alone or several, or 'all':\n"
		"  read      io_uring O_DIRECT reads of the source (registered buffers)\n"
		"  hash      SHA-256 of each chunk (the chunk id), in memory\n"
		"  compress  zstd of each chunk at --compression, in memory\n"
		"  encrypt   AES-256-GCM of each chunk (OpenSSL EVP), in memory, sealed as an\n"
		"            encrypted repository seals its blobs (nonce, tag, additional data)\n"
		"  put       object uploads (PUT, multipart) through the store of --repo\n"
		"  get       ranged GETs through the store of --repo (objects written first)\n"
		"  backup    a whole backup of the source into a fresh repository under --repo\n"
		"            (encrypted, as new repositories are, with $FERRY_PASSWORD or\n"
		"            'ferry-bench')\n"
		"  restore   a whole restore of that backup into a new file, then compared\n\n"
		"Per stage: MB/s of input and of stored bytes, objects/s, request latency\n"
		"p50/p90/p99/max, CPU seconds per GB (user+sys), peak RSS, and a throughput\n"
		"sample each second. A table, or with --json the document of bench/SCHEMA.md.\n"
		"Timings on a shared machine are noisy: compare runs interleaved, use medians.\n\n"
		"  --size SIZE             data per scenario (default 1G)\n"
		"  --duration DURATION     run read, hash, compress, encrypt, put and get for this\n"
		"                          long, cycling over --size (default: --size once);\n"
		"                          backup and restore always run once\n"
		"  --data KIND             zero, random, text or mixed (1/4 zero, 1/4 random,\n"
		"                          1/2 text, by 1 MiB region; default mixed)\n"
		"  --seed N                seed of the generated data (default 1)\n"
		"  --threads N             threads of hash, compress, encrypt, backup, restore\n"
		"                          (default: one per CPU)\n"
		"  --concurrency N         requests in flight: reads of read (default 32),\n"
		"                          PUTs/parts of put and GETs of get (default 8)\n"
		"  --compression LEVEL     zstd level of compress and backup, -7..19 or off\n"
		"                          (default %d)\n"
		"  --chunk-size SIZE       chunk of hash/compress/encrypt and of the backup's\n"
		"                          repository, a power of two 64K..16M (default 1M)\n"
		"  --part-size SIZE        put: multipart part size; get: range size (default 16M)\n"
		"  --object-size SIZE      put and get: object size (default 64M)\n"
		"  --block-size SIZE       read: bytes per read, a multiple of 4K (default 1M)\n"
		"  --encryption on|off     backup and restore: an encrypted repository (default on,\n"
		"                          as for ferry init) or one in the clear\n"
		"  --source PATH           read and back up this device or file (whole) instead\n"
		"                          of a generated image\n"
		"  --workdir DIR           where the generated image and the restore target go\n"
		"                          (default: $TMPDIR, else /tmp; tmpfs for pipeline figures)\n"
		"  --keep                  keep what the run wrote and print where it is\n"
		"  -h, --help              this text\n"
		"Without --repo (or FERRY_REPO) put, get, backup and restore use a file://\n"
		"directory in the work directory. --no-fsync matters for file:// figures.\n",
		DP_COMPRESSION_DEFAULT);
	ctl_common_help(f);
}

static int bench_size_opt(const char *opt, const char *arg, uint64_t min, uint64_t max,
			  uint64_t *out)
{
	if (ctl_parse_size(arg, out, NULL) || *out < min || *out > max)
		return ctl_usage_error("bench", "--%s: '%s' is not a size from %llu to %llu bytes",
				       opt, arg, (unsigned long long)min, (unsigned long long)max);
	return 0;
}

/* "s3://b/p/" + "/" + name, "file:///x" + ... */
static int bench_url_join(char *buf, size_t len, const char *base, const char *name)
{
	size_t n = strlen(base);

	if (!n)
		return -EINVAL;
	while (n > 0 && base[n - 1] == '/' && !(n >= 3 && !strncmp(base + n - 3, "://", 3)))
		n--;
	if (snprintf(buf, len, "%.*s%s%s", (int)n, base, base[n - 1] == '/' ? "" : "/", name) >=
	    (int)len)
		return -ENAMETOOLONG;
	return 0;
}

static int bench_parse(int argc, char **argv, struct bench_opts *o, struct ctl_common *c,
		       bool *want, bool *help)
{
	enum {
		OPT_SIZE = CTL_OPT_VERB_BASE,
		OPT_DURATION,
		OPT_DATA,
		OPT_SEED,
		OPT_THREADS,
		OPT_CONC,
		OPT_COMPRESSION,
		OPT_CHUNK,
		OPT_PART,
		OPT_OBJECT,
		OPT_BLOCK,
		OPT_SOURCE,
		OPT_WORKDIR,
		OPT_KEEP,
		OPT_ENCRYPTION,
	};
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{"size", required_argument, NULL, OPT_SIZE},
		{"duration", required_argument, NULL, OPT_DURATION},
		{"data", required_argument, NULL, OPT_DATA},
		{"seed", required_argument, NULL, OPT_SEED},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"concurrency", required_argument, NULL, OPT_CONC},
		{"compression", required_argument, NULL, OPT_COMPRESSION},
		{"chunk-size", required_argument, NULL, OPT_CHUNK},
		{"part-size", required_argument, NULL, OPT_PART},
		{"object-size", required_argument, NULL, OPT_OBJECT},
		{"block-size", required_argument, NULL, OPT_BLOCK},
		{"source", required_argument, NULL, OPT_SOURCE},
		{"workdir", required_argument, NULL, OPT_WORKDIR},
		{"keep", no_argument, NULL, OPT_KEEP},
		{"encryption", required_argument, NULL, OPT_ENCRYPTION},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	unsigned long v;
	int64_t secs;
	uint64_t sz;
	char *end;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "h" CTL_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			*help = true;
			return 0;
		case OPT_SIZE:
			if (bench_size_opt("size", optarg, 1, 1ull << 50, &o->size))
				return -EINVAL;
			break;
		case OPT_DURATION:
			if (ctl_parse_duration(optarg, &secs, NULL) || secs < 1 || secs > 86400)
				return ctl_usage_error(
					"bench",
					"--duration takes a duration from 1s to 24h, not '%s'",
					optarg);
			o->duration = (double)secs;
			break;
		case OPT_DATA:
			if (bench_data_parse(optarg, &o->data))
				return ctl_usage_error(
					"bench",
					"--data takes zero, random, text or mixed, not '%s'",
					optarg);
			break;
		case OPT_SEED:
			errno = 0;
			o->seed = strtoull(optarg, &end, 0);
			if (errno || !optarg[0] || *end || optarg[0] == '-')
				return ctl_usage_error(
					"bench", "--seed takes a whole number, not '%s'", optarg);
			break;
		case OPT_THREADS:
			if (ctl_parse_uint("bench", "threads", optarg, 1, 256, &v))
				return -EINVAL;
			o->threads = (unsigned int)v;
			break;
		case OPT_CONC:
			if (ctl_parse_uint("bench", "concurrency", optarg, 1, 1024, &v))
				return -EINVAL;
			o->concurrency = (unsigned int)v;
			break;
		case OPT_COMPRESSION:
			if (!strcmp(optarg, "off") || !strcmp(optarg, "none")) {
				o->compression = DP_COMPRESSION_OFF;
				break;
			}
			o->compression = (int)strtol(optarg, &end, 10);
			if (!optarg[0] || *end || o->compression < -7 || o->compression > 19 ||
			    o->compression == 0)
				return ctl_usage_error(
					"bench",
					"--compression takes a zstd level from -7 to 19 (not 0) or 'off', not '%s'",
					optarg);
			break;
		case OPT_CHUNK:
			if (bench_size_opt("chunk-size", optarg, DP_CHUNK_SIZE_MIN,
					   DP_CHUNK_SIZE_MAX, &sz))
				return -EINVAL;
			if (sz & (sz - 1))
				return ctl_usage_error(
					"bench", "--chunk-size must be a power of two, not '%s'",
					optarg);
			o->chunk_size = (uint32_t)sz;
			break;
		case OPT_PART:
			if (bench_size_opt("part-size", optarg, 64u << 10, 5ull << 30,
					   &o->part_size))
				return -EINVAL;
			break;
		case OPT_OBJECT:
			if (bench_size_opt("object-size", optarg, 1, 5ull << 40, &o->object_size))
				return -EINVAL;
			break;
		case OPT_BLOCK:
			if (bench_size_opt("block-size", optarg, 4096, 64u << 20, &o->block_size))
				return -EINVAL;
			if (o->block_size % 4096)
				return ctl_usage_error(
					"bench", "--block-size must be a multiple of 4K, not '%s'",
					optarg);
			break;
		case OPT_SOURCE:
			o->source = optarg;
			break;
		case OPT_WORKDIR:
			o->workdir = optarg;
			break;
		case OPT_KEEP:
			o->keep = true;
			break;
		case OPT_ENCRYPTION:
			if (strcmp(optarg, "on") && strcmp(optarg, "off"))
				return ctl_usage_error(
					"bench", "--encryption takes on or off, not '%s'", optarg);
			o->no_encryption = !strcmp(optarg, "off");
			break;
		default:
			ret = ctl_common_opt(c, "bench", opt, optarg);
			if (ret)
				return ret;
			break;
		}
	}
	if (optind >= argc)
		return ctl_usage_error(
			"bench",
			"no SCENARIO given (read, hash, compress, encrypt, put, get, backup, restore or all)");
	for (int i = optind; i < argc; i++) {
		bool found = false;

		for (int s = 0; s < SC_N; s++) {
			if (!strcmp(argv[i], scen_names[s]) || !strcmp(argv[i], "all")) {
				want[s] = true;
				found = true;
			}
		}
		if (!found)
			return ctl_usage_error("bench", "unknown scenario '%s'", argv[i]);
	}
	if (o->part_size > o->object_size && want[SC_GET])
		o->part_size = o->object_size; /* a range never spans objects */
	return 0;
}

/* The run's directory and URL prefix: "ferry-bench-<16 hex digits>". */
static int bench_run_name(char *buf, size_t len)
{
	uint64_t id;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		return -errno;
	snprintf(buf, len, "ferry-bench-%016llx", (unsigned long long)id);
	return 0;
}

/* Where one run writes: a directory of its own and a prefix under --repo. */
struct bench_run {
	char name[64];
	char rundir[4096]; /* <workdir>/<name> */
	char root[4096];   /* <repo>/<name>, or file://<rundir>/repo */
	char source[4096]; /* the generated image */
	bool made_dir;
};

/* The run's name, directory and URLs; the directory made. 0 or -errno, printed. */
static int bench_run_setup(const struct bench_opts *o, struct bench_run *r,
			   struct bench_job_ctx *jc)
{
	int ret = bench_run_name(r->name, sizeof(r->name));

	if (ret)
		return ctl_fail(ret, NULL, "getrandom: %s", strerror(-ret));
	if (snprintf(r->rundir, sizeof(r->rundir), "%s/%s", o->workdir, r->name) >=
	    (int)sizeof(r->rundir))
		return ctl_usage_error("bench", "--workdir is too long");
	if (o->repo)
		ret = bench_url_join(r->root, sizeof(r->root), o->repo, r->name);
	else
		ret = snprintf(r->root, sizeof(r->root), "file://%s/repo", r->rundir) >=
				      (int)sizeof(r->root)
			      ? -ENAMETOOLONG
			      : 0;
	if (ret || bench_url_join(jc->url, sizeof(jc->url), r->root, "repo") ||
	    snprintf(jc->restore_target, sizeof(jc->restore_target), "%s/restore.img", r->rundir) >=
		    (int)sizeof(jc->restore_target))
		return ctl_usage_error("bench", "--repo or --workdir is too long");
	if (mkdir(r->rundir, 0700))
		return ctl_fail(-errno, NULL, "cannot create %s: %s", r->rundir, strerror(errno));
	r->made_dir = true;
	return 0;
}

/* The generated source image, unless --source names one or no scenario reads one. */
static int bench_source(struct bench_opts *o, struct bench_run *r, const bool *want)
{
	struct bench_gen *g;
	char err[256];
	double t0 = bench_now();
	int ret;

	if (o->source || !(want[SC_READ] || want[SC_BACKUP] || want[SC_RESTORE]))
		return 0;
	g = malloc(sizeof(*g));
	if (!g || snprintf(r->source, sizeof(r->source), "%s/source.img", r->rundir) >=
			  (int)sizeof(r->source)) {
		free(g);
		return ctl_fail(-ENOMEM, NULL, "out of memory");
	}
	bench_gen_init(g, o->data, o->seed);
	ret = bench_gen_file(g, r->source, o->size, bench_cpus(), err, sizeof(err));
	free(g);
	if (ret)
		return ctl_fail(ret, NULL, "%s", err);
	o->source = r->source;
	o->source_generated = true;
	ctl_log(CTL_LOG_INFO, "bench: generated %s (%.1f MB of %s data) in %.1f s", r->source,
		(double)o->size / 1e6, bench_data_name(o->data), bench_now() - t0);
	return 0;
}

/* One scenario into @st (its failure is in @st). */
static void bench_stage_run(int s, struct bench_stage *st, const struct bench_run *r,
			    struct bench_job_ctx *jc)
{
	char url[4096];

	switch (s) {
	case SC_READ:
		bench_scen_read(st);
		break;
	case SC_HASH:
		bench_scen_hash(st);
		break;
	case SC_COMPRESS:
		bench_scen_compress(st);
		break;
	case SC_ENCRYPT:
		bench_scen_encrypt(st);
		break;
	case SC_PUT:
	case SC_GET:
		if (bench_url_join(url, sizeof(url), r->root, scen_names[s])) {
			bench_stage_fail(st, -ENAMETOOLONG, "URL too long");
			break;
		}
		if (s == SC_PUT)
			bench_scen_put(st, url);
		else
			bench_scen_get(st, url);
		break;
	case SC_BACKUP:
		bench_scen_backup(st, jc);
		break;
	case SC_RESTORE:
		bench_scen_restore(st, jc);
		break;
	}
}

/*
 * The scenarios of @want in order, each into the next of @stages (named in
 * @scen_run), until SIGINT/SIGTERM. *@first_err: the first failed stage's
 * -errno (-EINTR when interrupted), 0 if none.
 * Return: 0; -errno (printed) if a stage cannot be set up.
 */
static int bench_stages(const struct bench_opts *o, const struct bench_run *r,
			struct bench_job_ctx *jc, const bool *want, struct bench_stage *stages,
			const char **scen_run, size_t *nstages, struct bench_cleanup *cl,
			int *first_err)
{
	int ret;

	*first_err = 0;
	for (int s = 0; s < SC_N && !ctl_interrupted(); s++) {
		struct bench_stage *st = &stages[*nstages];

		if (!want[s])
			continue;
		ret = bench_stage_init(st, scen_names[s], o);
		if (ret)
			return ctl_fail(ret, NULL, "out of memory");
		scen_run[(*nstages)++] = scen_names[s];
		ctl_log(CTL_LOG_INFO, "bench: %s", scen_names[s]);
		bench_stage_run(s, st, r, jc);
		cl->objects_deleted += st->objects_deleted;
		if (st->err) {
			ctl_log(CTL_LOG_ERR, "bench %s: %s", st->name, st->error);
			if (!*first_err)
				*first_err = st->err;
		}
	}
	if (ctl_interrupted() && !*first_err)
		*first_err = -EINTR;
	return 0;
}

/* Remove what the run wrote (the repository, the work files, the directories) unless --keep. */
static void bench_clean(const struct bench_opts *o, struct bench_run *r, struct bench_job_ctx *jc,
			struct bench_cleanup *cl)
{
	char url[4096];

	if (!o->keep && jc->st) {
		long n = bench_store_clean(jc->st);

		if (n < 0)
			cl->done = false;
		else
			cl->objects_deleted += n;
	}
	bench_job_ctx_fini(jc);
	if (!r->made_dir)
		return;
	if (o->keep) {
		cl->done = false;
		cl->kept[cl->nkept++] = r->rundir;
		cl->kept[cl->nkept++] = r->root;
		return;
	}
	if (!unlink(jc->restore_target))
		cl->files_removed++;
	if (o->source_generated && !unlink(o->source))
		cl->files_removed++;
	if (!o->repo) { /* the default file:// repository inside the run directory */
		if (snprintf(url, sizeof(url), "%s/repo", r->rundir) < (int)sizeof(url))
			rmdir(url);
	} else if (!strncmp(r->root, "file://", 7)) {
		rmdir(r->root + 7);
	}
	if (rmdir(r->rundir) && errno != ENOENT) {
		ctl_log(CTL_LOG_WARN, "bench: cannot remove %s: %s", r->rundir, strerror(errno));
		cl->done = false;
	}
}

int bench_cmd(int argc, char **argv)
{
	struct bench_opts o = {
		.size = 1ull << 30,
		.part_size = 16u << 20,
		.object_size = 64u << 20,
		.block_size = 1u << 20,
		.chunk_size = DP_CHUNK_SIZE_DEFAULT,
		.data = BENCH_DATA_MIXED,
		.seed = 1,
	};
	struct bench_stage stages[SC_N];
	struct bench_job_ctx *jc = NULL;
	struct bench_cleanup cl = {.done = true};
	struct bench_run *r = NULL;
	const char *scen_run[SC_N];
	bool want[SC_N] = {false}, help = false;
	size_t nstages = 0;
	struct ctl_common c;
	int ret, first_err = 0;

	ctl_common_init(&c);
	o.common = &c;
	memset(stages, 0, sizeof(stages));
	ret = bench_parse(argc, argv, &o, &c, want, &help);
	if (ret || help) {
		if (help)
			bench_usage(stdout);
		return ret;
	}
	o.repo = c.repo;
	if (!o.workdir) {
		o.workdir = getenv("TMPDIR");
		if (!o.workdir || !o.workdir[0])
			o.workdir = "/tmp";
	}
	if (o.concurrency && !c.s3.concurrency && o.concurrency > 8)
		c.s3.concurrency = o.concurrency; /* the store must let that many through */
	jc = calloc(1, sizeof(*jc));
	r = calloc(1, sizeof(*r));
	if (!jc || !r) {
		free(jc);
		free(r);
		return ctl_fail(-ENOMEM, NULL, "out of memory");
	}
	ret = bench_run_setup(&o, r, jc);
	if (!ret) {
		ctl_signals_init();
		ret = bench_source(&o, r, want);
	}
	if (!ret)
		ret = bench_stages(&o, r, jc, want, stages, scen_run, &nstages, &cl, &first_err);
	bench_clean(&o, r, jc, &cl);
	if (!ret && nstages) {
		if (c.json)
			bench_report_json(&o, scen_run, nstages, stages, nstages, &cl);
		else
			bench_report_table(&o, stages, nstages, &cl);
		ret = first_err;
		if (!ret && !cl.done && !o.keep)
			ret = -EIO;
	}
	for (size_t i = 0; i < nstages; i++)
		bench_stage_fini(&stages[i]);
	free(r);
	free(jc);
	return ret;
}
