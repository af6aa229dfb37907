// SPDX-License-Identifier: MIT
/*
 * tests/datapath/t_record.c - backup records and object archives (dp.h
 * "backup records", FORMAT.md "Backup records"), against a file://
 * repository, or with the argument "s3" against the RGW of tests/run
 * (FERRY_TEST_S3_*; failing without it):
 * - an archive of Kubernetes objects reads back object for object, in order,
 *   an object longer than a chunk included; a second archive of the same
 *   objects with one changed stores only the chunk that changed;
 * - a record is written once (-EEXIST), lists, and is found by its id, a
 *   prefix and its Backup's name; its fields read back as written;
 * - check counts records and finds no problem; prune keeps every chunk a
 *   record references, removes an archive whose record was never written,
 *   and frees a forgotten record's chunks; an archive holds off prune (-EBUSY)
 *   until freed;
 * - Secrets are refused in an unencrypted repository unless allowed, taken
 *   in an encrypted one; malformed objects and records are refused with the
 *   archive going on; a volume whose snapshot is not there is refused;
 * - a damaged record (file://) is skipped by the listing, -EUCLEAN by name,
 *   a problem for check and a refusal for prune;
 * - dp_record_decode() refuses each malformed record of a table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "datapath/dp.h"
#include "s3/store.h"
#include "t_helpers.h"

#define NOBJ 300

static char *objs[NOBJ + 1];
static size_t objlen[NOBJ + 1];

struct readback {
	size_t n;
	bool match;
};

static int readback_obj(void *arg, const char *obj, size_t len)
{
	struct readback *rb = arg;

	if (rb->n > NOBJ || len != objlen[rb->n] || memcmp(obj, objs[rb->n], len) ||
	    obj[len] != '\0')
		rb->match = false;
	rb->n++;
	return 0;
}

static int count_obj(void *arg, const char *obj, size_t len)
{
	(void)obj;
	(void)len;
	(*(size_t *)arg)++;
	return 0;
}

static int stop_at_3(void *arg, const char *obj, size_t len)
{
	(void)obj;
	(void)len;
	return ++*(size_t *)arg == 3 ? 42 : 0;
}

static struct s3_store *open_store(const char *url)
{
	struct s3_store_opts o = {.sz = sizeof(o), .fsync = -1};
	struct s3_store *st = NULL;

	if (!strncmp(url, "s3://", 5)) {
		o.endpoint = getenv("FERRY_TEST_S3_ENDPOINT");
		o.region = getenv("FERRY_TEST_S3_REGION");
		o.fsync = 0;
	}
	T_ASSERT(!s3_store_open(url, &o, &st), "%s", s3_last_error());
	return st;
}

/* the stores of the repositories new_repo() opened, freed with them */
static struct s3_store *stores[8];
static struct dp_repo *store_repos[8];

static struct dp_repo *new_repo(const char *url, bool encrypted)
{
	struct dp_init_opts io = {.sz = sizeof(io),
				  .chunk_size = 64u << 10,
				  .password = "records",
				  .password_len = 7,
				  .no_encryption = !encrypted,
				  .scrypt_n = 1024};
	struct s3_store *st = open_store(url);
	struct dp_repo *repo = NULL;

	T_ASSERT(!dp_repo_init(st, &io, NULL), "%s", dp_last_error());
	T_ASSERT(!dp_repo_open(st, &repo));
	T_ASSERT(!dp_repo_unlock(repo, "records", 7));
	for (size_t i = 0; i < 8; i++)
		if (!stores[i]) {
			stores[i] = st;
			store_repos[i] = repo;
			break;
		}
	return repo;
}

static void free_repo(struct dp_repo *repo)
{
	dp_repo_free(repo);
	for (size_t i = 0; i < 8; i++)
		if (store_repos[i] == repo) {
			s3_store_free(stores[i]);
			stores[i] = NULL;
			store_repos[i] = NULL;
		}
}

/* A snapshot of a 1 MiB image, for the records' volumes. */
static void backup_volume(struct dp_repo *repo, const char *img, char id[65])
{
	static uint8_t buf[1u << 20];
	struct dp_pool *pool = NULL;
	struct dp_job *job = NULL;

	t_fill_random(buf, sizeof(buf), 7);
	t_write_file(img, buf, sizeof(buf));
	T_ASSERT(!dp_pool_new(DP_MEMORY_MIN, &pool));
	T_ASSERT(!dp_backup_start(repo, pool,
				  &(struct dp_backup_opts){.sz = sizeof(struct dp_backup_opts),
							   .source = img,
							   .volume = "k8s/c1/app/data-0",
							   .no_direct = true},
				  &job),
		 "%s", dp_last_error());
	T_ASSERT(!dp_job_wait(job, -1));
	T_ASSERT(!dp_job_result(job)->err, "%s", dp_job_error(job));
	memcpy(id, dp_job_result(job)->snapshot_id, 65);
	dp_job_free(job);
	dp_pool_free(pool);
}

static void make_objects(void)
{
	for (size_t i = 0; i < NOBJ; i++) {
		char *o = malloc(512);

		objlen[i] = (size_t)snprintf(
			o, 512,
			"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
			"\"cm-%zu\",\"namespace\":\"app\",\"labels\":{\"app\":\"app2backup\"}},"
			"\"data\":{\"key\":\"value %zu\"}}",
			i, i * 7919);
		objs[i] = o;
	}
	/* one object longer than two chunks (64 KiB) */
	objs[NOBJ] = malloc(200000);
	objlen[NOBJ] =
		(size_t)snprintf(objs[NOBJ], 200000,
				 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
				 "{\"name\":\"big\"},\"data\":{\"blob\":\"");
	while (objlen[NOBJ] < 150000) {
		objs[NOBJ][objlen[NOBJ]] = (char)('a' + objlen[NOBJ] % 26);
		objlen[NOBJ]++;
	}
	memcpy(objs[NOBJ] + objlen[NOBJ], "\"}}", 4);
	objlen[NOBJ] += 3;
}

static struct dp_archive *archive_of(struct dp_repo *repo, size_t changed)
{
	struct dp_archive *a = NULL;
	struct dp_err err = {0};

	T_ASSERT(!dp_archive_new(repo,
				 &(struct dp_archive_opts){.sz = sizeof(struct dp_archive_opts),
							   .err = &err},
				 &a),
		 "%s", err.msg);
	for (size_t i = 0; i <= NOBJ; i++) {
		if (i == changed) {
			const char *o =
				"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
				"{\"name\":\"changed\"}}";

			T_ASSERT(!dp_archive_add(a, o, strlen(o)), "%s", dp_last_error());
			continue;
		}
		T_ASSERT(!dp_archive_add(a, objs[i], objlen[i]), "%s", dp_last_error());
	}
	T_ASSERT(!dp_archive_finish(a), "%s", dp_last_error());
	return a;
}

static struct dp_record record_of(const char *name, struct dp_record_volume *vol, size_t nvol)
{
	static struct dp_label labels[] = {{"ferry.io/schedule", "nightly"}};

	return (struct dp_record){
		.name = (char *)name,
		.namespace = "ferry-system",
		.cluster = "0b7e7e4e-1111-2222-3333-444455556666",
		.phase = "Completed",
		.spec = "{\"includedNamespaces\":[\"app\"],\"labelSelector\":"
			"{\"matchLabels\":{\"app\":\"app2backup\"}},\"ttl\":\"720h\"}",
		.labels = labels,
		.nlabels = 1,
		.time_start = 1796506248410470,
		.time_end = 1796506248510470,
		.warnings = 1,
		.volumes = vol,
		.nvolumes = nvol};
}

static uint64_t check_problems(struct dp_repo *repo, uint64_t *records)
{
	struct dp_check_report r = {0};

	dp_check(repo,
		 &(struct dp_check_opts){.sz = sizeof(struct dp_check_opts), .read_data = true},
		 &r);
	if (records)
		*records = r.records;
	return r.problems;
}

static void test_repository(const char *url, bool local)
{
	struct dp_repo *repo = new_repo(url, true);
	struct dp_record_volume vol = {.namespace = "app",
				       .pvc = "data-0",
				       .volume = "k8s/c1/app/data-0",
				       .size = 1u << 20,
				       .bytes_stored = 4096,
				       .milliseconds = 1500};
	struct dp_archive *a = NULL, *b = NULL;
	struct dp_archive_stats sa, sb;
	struct dp_record r1, *got = NULL, *list = NULL;
	struct dp_prune_report pr;
	struct readback rb = {.match = true};
	char id1[65], id2[65], img[600], prefix[9], *dir = t_tmpdir("record-vol");
	uint64_t records = 0;
	size_t n = 0, count = 0, deleted = 0;
	int ret;

	snprintf(img, sizeof(img), "%s/v.img", dir);
	backup_volume(repo, img, vol.snapshot);

	/* an archive, and its record */
	a = archive_of(repo, (size_t)-1);
	dp_archive_stats(a, &sa);
	T_ASSERT(sa.objects == NOBJ + 1 && sa.secrets == 0 && sa.chunks_new == sa.chunks &&
			 sa.chunks > NOBJ / 64,
		 "objects %llu chunks %llu new %llu", (unsigned long long)sa.objects,
		 (unsigned long long)sa.chunks, (unsigned long long)sa.chunks_new);
	/* prune waits for the archive: it holds a shared lock */
	ret = dp_prune(repo, &(struct dp_prune_opts){.sz = sizeof(struct dp_prune_opts)}, &pr);
	T_ASSERT(ret == -EBUSY, "prune with an archive open: %d", ret);
	r1 = record_of("app-backup", &vol, 1);
	T_ASSERT(!dp_record_put(repo, &r1, a, id1), "%s", dp_last_error());
	ret = dp_record_put(repo, &r1, a, NULL);
	T_ASSERT(ret == -EEXIST, "a second record of the same Backup: %d", ret);
	dp_archive_free(a);

	/* the same objects but one: only that chunk is new */
	b = archive_of(repo, 150);
	dp_archive_stats(b, &sb);
	T_ASSERT(sb.chunks_new >= 1 && sb.chunks_new <= 2 && sb.chunks >= sa.chunks - 1,
		 "second archive: %llu of %llu chunks new", (unsigned long long)sb.chunks_new,
		 (unsigned long long)sb.chunks);
	printf("archive: %llu objects, %llu bytes in %llu chunks; the second: %llu of %llu chunks "
	       "new\n",
	       (unsigned long long)sa.objects, (unsigned long long)sa.bytes,
	       (unsigned long long)sa.chunks, (unsigned long long)sb.chunks_new,
	       (unsigned long long)sb.chunks);
	r1 = record_of("app-backup-2", NULL, 0);
	r1.phase = "PartiallyFailed";
	T_ASSERT(!dp_record_put(repo, &r1, b, id2), "%s", dp_last_error());
	dp_archive_free(b);

	/* listing and finding */
	T_ASSERT(!dp_record_list(repo, &list, &n), "%s", dp_last_error());
	T_ASSERT(n == 2, "%zu records", n);
	T_ASSERT(!strcmp(list[0].id, id1) || !strcmp(list[1].id, id1));
	for (size_t i = 0; i < n; i++) {
		const struct dp_record *r = &list[i];

		T_ASSERT(!strcmp(r->namespace, "ferry-system") && r->nlabels == 1 &&
			 !strcmp(r->labels[0].value, "nightly") && r->objects == NOBJ + 1 &&
			 r->time_end == 1796506248510470 && r->warnings == 1 &&
			 r->record_size > 0 &&
			 !strcmp(r->cluster, "0b7e7e4e-1111-2222-3333-444455556666"));
		T_ASSERT(!strcmp(r->spec,
				 "{\"includedNamespaces\":[\"app\"],\"labelSelector\":{"
				 "\"matchLabels\":{\"app\":\"app2backup\"}},\"ttl\":\"720h\"}"),
			 "%s", r->spec);
	}
	dp_record_list_free(list, n);
	T_ASSERT(!dp_record_get(repo, "app-backup", NULL, NULL, &got), "%s", dp_last_error());
	T_ASSERT(!strcmp(got->id, id1) && got->nvolumes == 1 &&
		 !strcmp(got->volumes[0].snapshot, vol.snapshot) &&
		 got->volumes[0].size == 1u << 20 && !strcmp(got->volumes[0].pvc, "data-0") &&
		 got->volumes[0].bytes_stored == 4096 && got->volumes[0].milliseconds == 1500 &&
		 !strcmp(got->phase, "Completed"));
	/* the archive reads back, object for object */
	T_ASSERT(!dp_archive_read(repo, got, readback_obj, &rb), "%s", dp_last_error());
	T_ASSERT(rb.match && rb.n == NOBJ + 1, "read back %zu objects, match %d", rb.n, rb.match);
	count = 0;
	T_ASSERT(dp_archive_read(repo, got, stop_at_3, &count) == 42 && count == 3);
	dp_record_free(got);
	memcpy(prefix, id2, 8);
	prefix[8] = '\0';
	T_ASSERT(!dp_record_get(repo, prefix, NULL, NULL, &got), "%s", dp_last_error());
	T_ASSERT(!strcmp(got->name, "app-backup-2") && !strcmp(got->phase, "PartiallyFailed"));
	dp_record_free(got);
	T_ASSERT(!dp_record_get(repo, id2, NULL, NULL, &got));
	dp_record_free(got);
	T_ASSERT(dp_record_get(repo, "app-backup", "other-ns", NULL, &got) == -ENOENT && !got);
	T_ASSERT(dp_record_get(repo, "nothing", NULL, NULL, &got) == -ENOENT);

	/* bad records are refused, nothing written */
	r1 = record_of("Bad_Name", NULL, 0);
	T_ASSERT(dp_record_put(repo, &r1, NULL, NULL) == -EINVAL);
	r1 = record_of("specless", NULL, 0);
	r1.spec = "[1,2]";
	T_ASSERT(dp_record_put(repo, &r1, NULL, NULL) == -EINVAL);
	r1.spec = "{";
	T_ASSERT(dp_record_put(repo, &r1, NULL, NULL) == -EINVAL);
	r1 = record_of("phaseless", NULL, 0);
	r1.phase = "InProgress";
	T_ASSERT(dp_record_put(repo, &r1, NULL, NULL) == -EINVAL);
	{
		struct dp_record_volume gone = vol;

		memset(gone.snapshot, 'a', 64);
		r1 = record_of("gone", &gone, 1);
		ret = dp_record_put(repo, &r1, NULL, NULL);
		T_ASSERT(ret == -ENOENT && strstr(dp_last_error(), "app/data-0"), "%d %s", ret,
			 dp_last_error());
	}
	/* a record without objects */
	r1 = record_of("empty", NULL, 0);
	T_ASSERT(!dp_record_put(repo, &r1, NULL, NULL), "%s", dp_last_error());
	T_ASSERT(!dp_record_get(repo, "empty", NULL, NULL, &got));
	count = 0;
	T_ASSERT(!dp_archive_read(repo, got, count_obj, &count) && count == 0 && got->objects == 0);
	dp_record_free(got);
	T_ASSERT(!dp_record_list(repo, &list, &n) && n == 3);
	dp_record_list_free(list, n);

	/* check: the records, no problem */
	T_ASSERT(check_problems(repo, &records) == 0 && records == 3, "records %llu",
		 (unsigned long long)records);

	/* an archive whose record is never written goes at the next prune */
	a = archive_of(repo, 7);
	dp_archive_stats(a, &sa);
	T_ASSERT(sa.chunks_new >= 1);
	dp_archive_free(a);
	T_ASSERT(!dp_prune(repo,
			   &(struct dp_prune_opts){.sz = sizeof(struct dp_prune_opts),
						   .repack_below_pct = 100},
			   &pr),
		 "%s", dp_last_error());
	T_ASSERT(pr.chunks_removed >= 1, "prune removed %llu chunks",
		 (unsigned long long)pr.chunks_removed);
	/* ...and every chunk the records reference stays */
	T_ASSERT(!dp_record_get(repo, "app-backup", NULL, NULL, &got));
	rb = (struct readback){.match = true};
	T_ASSERT(!dp_archive_read(repo, got, readback_obj, &rb), "%s", dp_last_error());
	T_ASSERT(rb.match && rb.n == NOBJ + 1);
	dp_record_free(got);

	/* forgetting a record frees what only it referenced */
	T_ASSERT(!dp_record_forget(repo, (const char *[]){id2}, 1, &deleted) && deleted == 1, "%s",
		 dp_last_error());
	T_ASSERT(!dp_prune(repo,
			   &(struct dp_prune_opts){.sz = sizeof(struct dp_prune_opts),
						   .repack_below_pct = 100},
			   &pr),
		 "%s", dp_last_error());
	T_ASSERT(pr.chunks_removed >= 1, "prune after forget removed %llu chunks",
		 (unsigned long long)pr.chunks_removed);
	T_ASSERT(dp_record_get(repo, id2, NULL, NULL, &got) == -ENOENT);
	T_ASSERT(!dp_record_get(repo, "app-backup", NULL, NULL, &got));
	count = 0;
	T_ASSERT(!dp_archive_read(repo, got, count_obj, &count) && count == NOBJ + 1, "%s",
		 dp_last_error());
	dp_record_free(got);
	T_ASSERT(check_problems(repo, NULL) == 0);

	/* a record whose volume's snapshot is forgotten: a problem for check, not for prune */
	T_ASSERT(!dp_forget(repo, (const char *[]){vol.snapshot}, 1, &deleted, NULL) &&
		 deleted == 1);
	T_ASSERT(check_problems(repo, NULL) == 1);
	T_ASSERT(!dp_prune(repo, &(struct dp_prune_opts){.sz = sizeof(struct dp_prune_opts)}, &pr),
		 "%s", dp_last_error());

	/* damage (file://): the listing skips it, by name -EUCLEAN, check and prune refuse */
	if (local) {
		char path[800];
		FILE *f;
		int c;

		snprintf(path, sizeof(path), "%s/backups/%s", url + strlen("file://"), id1);
		f = fopen(path, "r+b");
		T_ASSERT(f);
		/* byte 40 flipped: read it, then seek back (a stream may not write right after a read) */
		fseek(f, 40, SEEK_SET);
		c = fgetc(f);
		fseek(f, 40, SEEK_SET);
		fputc(0x55 ^ c, f);
		fclose(f);
		T_ASSERT(!dp_record_list(repo, &list, &n) && n == 1, "%zu", n);
		dp_record_list_free(list, n);
		ret = dp_record_get(repo, id1, NULL, NULL, &got);
		T_ASSERT(ret == -EUCLEAN, "%d", ret);
		T_ASSERT(check_problems(repo, NULL) >= 1);
		ret = dp_prune(repo, &(struct dp_prune_opts){.sz = sizeof(struct dp_prune_opts)},
			       &pr);
		T_ASSERT(ret == -EUCLEAN, "prune with a damaged record: %d", ret);
	}
	T_ASSERT(!dp_record_forget(repo, (const char *[]){id1}, 1, &deleted) && deleted == 1);
	free_repo(repo);
	t_rmtree(dir);
	free(dir);
}

static void test_secrets(const char *url_plain, const char *url_enc)
{
	const char *secret =
		"{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},"
		"\"data\":{\"password\":\"aHVudGVyMg==\"}}";
	const char *bad[] = {"{\"kind\":\"ConfigMap\",\n\"metadata\":{}}",
			     "not json",
			     "[1,2]",
			     "{\"metadata\":{}}",
			     "{\"kind\":5}",
			     "{\"kind\":\"\"}",
			     "\"Secret\""};
	struct dp_repo *plain = new_repo(url_plain, false), *enc = new_repo(url_enc, true);
	struct dp_archive *a = NULL;
	struct dp_archive_stats s;
	int ret;

	T_ASSERT(!dp_archive_new(plain, NULL, &a));
	ret = dp_archive_add(a, secret, strlen(secret));
	T_ASSERT(ret == -EPERM && strstr(dp_last_error(), "Secret"), "%d %s", ret, dp_last_error());
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ret = dp_archive_add(a, bad[i], strlen(bad[i]));
		T_ASSERT(ret == -EINVAL, "bad object %zu: %d", i, ret);
	}
	T_ASSERT(dp_archive_add(a, "", 0) == -EINVAL);
	/* the archive goes on */
	T_ASSERT(!dp_archive_add(a, objs[0], objlen[0]));
	T_ASSERT(!dp_archive_finish(a));
	dp_archive_stats(a, &s);
	T_ASSERT(s.objects == 1 && s.secrets == 0);
	T_ASSERT(dp_archive_add(a, objs[1], objlen[1]) == -EINVAL); /* finished */
	dp_archive_free(a);

	/* a stream of lines at once: empty lines skipped, the failing line named */
	T_ASSERT(!dp_archive_new(plain, NULL, &a));
	{
		char stream[1024];
		size_t line = 0;

		snprintf(stream, sizeof(stream), "%s\n\n%s\n%s", objs[2], objs[3], objs[4]);
		T_ASSERT(!dp_archive_add_lines(a, stream, strlen(stream), &line), "%s",
			 dp_last_error());
		snprintf(stream, sizeof(stream), "%s\n%s\n%s\n", objs[5], secret, objs[6]);
		T_ASSERT(dp_archive_add_lines(a, stream, strlen(stream), &line) == -EPERM &&
				 line == 2,
			 "line %zu", line);
		dp_archive_stats(a, &s);
		T_ASSERT(s.objects == 4, "%llu", (unsigned long long)s.objects);
	}
	dp_archive_free(a);

	T_ASSERT(!dp_archive_new(plain,
				 &(struct dp_archive_opts){.sz = sizeof(struct dp_archive_opts),
							   .allow_secrets = true},
				 &a));
	T_ASSERT(!dp_archive_add(a, secret, strlen(secret)), "%s", dp_last_error());
	dp_archive_stats(a, &s);
	T_ASSERT(s.secrets == 1);
	dp_archive_free(a);
	T_ASSERT(!dp_archive_new(enc, NULL, &a));
	T_ASSERT(!dp_archive_add(a, secret, strlen(secret)), "%s", dp_last_error());
	dp_archive_free(a);
	free_repo(plain);
	free_repo(enc);
}

/* dp_record_decode() against a table of malformed records */
static void test_decode(void)
{
	static const char id[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	static const char sha0[] =
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	char good[2048], buf[4096];
	struct dp_record *r = NULL;
	const struct {
		const char *from, *to;
	} bad[] = {
		{"\"format\":\"ferry-backup-record\"", "\"format\":\"other\""},
		{"\"format\":\"ferry-backup-record\",", ""},
		{"\"id\":\"0123", "\"id\":\"1123"},
		{"\"name\":\"app\"", "\"name\":\"App\""},
		{"\"name\":\"app\"", "\"name\":\"\""},
		{"\"name\":\"app\"", "\"name\":5"},
		{"\"namespace\":\"velero\"", "\"namespace\":\"a b\""},
		{"\"cluster\":\"c1\"", "\"cluster\":\"c 1\""},
		{"\"phase\":\"Completed\"", "\"phase\":\"Failed\""},
		{"\"time_start\":1", "\"time_start\":-1"},
		{"\"time_start\":1", "\"time_start\":1.5"},
		{"\"time_end\":2", "\"time_end\":\"2\""},
		{"\"warnings\":0", "\"warnings\":1e300"},
		{"\"labels\":{}", "\"labels\":[]"},
		{"\"labels\":{}", "\"labels\":{\"a\":1}"},
		{"\"spec\":{}", "\"spec\":[]"},
		{"\"spec\":{},", ""},
		{"\"objects\":1", "\"objects\":9"},
		{"\"secrets\":0", "\"secrets\":2"},
		{"\"bytes\":25", "\"bytes\":26"},
		{"\"sha256\":\"e3", "\"sha256\":\"z3"},
		{",25]", ",0]"},
		{",25]", ",16777217]"},
		{"[\"ab", "[\"zz"},
		{"[[", "[{"},
		{",25]", ",25,1]"},
		{"\"chunks\":[", "\"chunks\":{\"a\":"},
		{"\"volumes\":[", "\"volumes\":{\"a\":"},
		{"\"pvc\":\"data-0\"", "\"pvc\":\"Data\""},
		{"\"snapshot\":\"ab", "\"snapshot\":\"xx"},
		{"\"size\":1048576", "\"size\":-1"},
		{"\"size\":1048576", "\"size\":1048576,\"bytes_stored\":-1"},
		{"\"size\":1048576", "\"size\":1048576,\"milliseconds\":\"5\""},
		{"\"volume\":\"k8s/c1/app/data-0\"", "\"volume\":\"\""},
		{"\"hostname\":\"h\",", ""},
	};

	snprintf(
		good, sizeof(good),
		"{\"format\":\"ferry-backup-record\",\"version\":1,\"id\":\"%s\",\"name\":\"app\","
		"\"namespace\":\"velero\",\"cluster\":\"c1\",\"phase\":\"Completed\",\"hostname\":\"h\","
		"\"time_start\":1,\"time_end\":2,\"warnings\":0,\"errors\":0,\"labels\":{},"
		"\"spec\":{},\"archive\":{\"objects\":1,\"secrets\":0,\"bytes\":25,\"sha256\":\"%s\","
		"\"chunks\":[[\"ab%.62s\",25]]},\"volumes\":[{\"namespace\":\"app\",\"pvc\":\"data-0\","
		"\"volume\":\"k8s/c1/app/data-0\",\"snapshot\":\"ab%.62s\",\"size\":1048576}]}",
		id, sha0, id, id);
	T_ASSERT(!dp_record_decode(good, strlen(good), id, &r), "%s", dp_last_error());
	T_ASSERT(r->nvolumes == 1 && r->archive_bytes == 25 && !strcmp(r->spec, "{}"));
	/* the optional volume fields absent: 0, not said */
	T_ASSERT(!r->volumes[0].bytes_stored && !r->volumes[0].milliseconds);
	dp_record_free(r);
	T_ASSERT(dp_record_decode(good, strlen(good) - 1, id, &r) == -EBADMSG && !r);
	T_ASSERT(dp_record_decode(good, strlen(good), sha0, &r) == -EBADMSG && !r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *at = strstr(good, bad[i].from);
		int ret;

		T_ASSERT(at, "table entry %zu does not apply", i);
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - good), good, bad[i].to,
			 at + strlen(bad[i].from));
		ret = dp_record_decode(buf, strlen(buf), id, &r);
		T_ASSERT(ret == -EBADMSG && !r, "malformed record %zu (%s) taken: %d", i, bad[i].to,
			 ret);
		T_ASSERT(dp_last_error()[0]);
	}
	{
		const char *at = strstr(good, "\"version\":1");

		snprintf(buf, sizeof(buf), "%.*s\"version\":2%s", (int)(at - good), good,
			 at + strlen("\"version\":1"));
		T_ASSERT(dp_record_decode(buf, strlen(buf), id, &r) == -EPROTONOSUPPORT);
	}
}

/*
 * t_record put URL NAME SNAPSHOT SIZE: a record of the Backup ferry-system/NAME
 * (cluster c1) into the repository at URL (FERRY_PASSWORD unlocks it), its
 * archive the JSON lines of stdin, its one volume app/data-0 the snapshot
 * SNAPSHOT of SIZE bytes ("-": none); prints the record id. For
 * tests/datapath/t_backup_record.sh, which reads it back with ferry backup.
 */
static int put_record(char **argv)
{
	const char *pw = getenv("FERRY_PASSWORD"), *log = getenv("T_RECORD_LOG");
	struct dp_record_volume vol = {
		.namespace = "app", .pvc = "data-0", .volume = "k8s/c1/app/data-0"};
	struct s3_store *st = open_store(argv[2]);
	struct dp_repo *repo = NULL;
	struct dp_archive *a = NULL;
	struct dp_record r;
	char *line = NULL, id[65];
	size_t cap = 0;
	ssize_t len;

	T_ASSERT(!dp_repo_open(st, &repo), "%s", dp_last_error());
	T_ASSERT(!dp_repo_unlock(repo, pw ? pw : "", pw ? strlen(pw) : 0), "%s", dp_last_error());
	T_ASSERT(!dp_archive_new(repo, NULL, &a), "%s", dp_last_error());
	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len && dp_archive_add(a, line, (size_t)len))
			t_error("%s", dp_last_error());
	}
	free(line);
	T_ASSERT(!dp_archive_finish(a), "%s", dp_last_error());
	snprintf(vol.snapshot, sizeof(vol.snapshot), "%s", argv[4]);
	vol.size = strtoull(argv[5], NULL, 10);
	r = record_of(argv[3], &vol, strcmp(argv[4], "-") ? 1 : 0);
	if (log) { /* the Backup's log, before its record (as the controller writes them) */
		T_ASSERT(!dp_record_id(repo, r.cluster, r.namespace, r.name, id));
		if (dp_log_put(repo, id, NULL, NULL, NULL, log, strlen(log)))
			t_error("%s", dp_last_error());
	}
	if (dp_record_put(repo, &r, a, id))
		t_error("%s", dp_last_error());
	printf("%s\n", id);
	dp_archive_free(a);
	dp_repo_free(repo);
	s3_store_free(st);
	return 0;
}

int main(int argc, char **argv)
{
	char url[700], url2[700], url3[700], rnd[65];
	bool s3 = argc > 1 && !strcmp(argv[1], "s3");
	char *dir;

	if (argc == 6 && !strcmp(argv[1], "put"))
		return put_record(argv);
	dir = t_tmpdir("record");
	make_objects();
	test_decode();
	if (!s3) {
		snprintf(url, sizeof(url), "file://%s/repo", dir);
		snprintf(url2, sizeof(url2), "file://%s/plain", dir);
		snprintf(url3, sizeof(url3), "file://%s/enc", dir);
	} else {
		const char *vars[] = {"FERRY_TEST_S3_ENDPOINT", "FERRY_TEST_S3_ACCESS_KEY",
				      "FERRY_TEST_S3_SECRET_KEY", "FERRY_TEST_S3_REGION",
				      "FERRY_TEST_S3_BUCKET"};

		for (size_t i = 0; i < 5; i++)
			if (!getenv(vars[i]))
				t_fail("%s is not set: run the S3 tests through tests/run",
				       vars[i]);
		setenv("AWS_ACCESS_KEY_ID", getenv("FERRY_TEST_S3_ACCESS_KEY"), 1);
		setenv("AWS_SECRET_ACCESS_KEY", getenv("FERRY_TEST_S3_SECRET_KEY"), 1);
		unsetenv("AWS_SESSION_TOKEN");
		unsetenv("AWS_PROFILE");
		unsetenv("AWS_CA_BUNDLE");
		snprintf(rnd, sizeof(rnd), "%08lx%08lx", (unsigned long)getpid(),
			 (unsigned long)time(NULL));
		snprintf(url, sizeof(url), "s3://%s/t-record-%.16s/repo",
			 getenv("FERRY_TEST_S3_BUCKET"), rnd);
		snprintf(url2, sizeof(url2), "s3://%s/t-record-%.16s/plain",
			 getenv("FERRY_TEST_S3_BUCKET"), rnd);
		snprintf(url3, sizeof(url3), "s3://%s/t-record-%.16s/enc",
			 getenv("FERRY_TEST_S3_BUCKET"), rnd);
	}
	test_repository(url, !s3);
	test_secrets(url2, url3);
	for (size_t i = 0; i <= NOBJ; i++)
		free(objs[i]);
	t_rmtree(dir);
	free(dir);
	printf("PASS\n");
	return 0;
}
