// SPDX-License-Identifier: MIT
/*
 * tests/s3/t_s3_cleanup.c - `ferry repo cleanup` against the RGW of
 * tests/run and on file://: two stale unfinished uploads and a fresh one;
 * after a 6 s wait, --older-than 5s --dry-run aborts nothing, and without
 * --dry-run exactly the stale ones go (ListMultipartUploads shows it; on
 * file://, the temporary files). An upload of another prefix in the same
 * bucket is never touched; a prefix without a repository is refused.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "s3t.h"

#define MiB (1u << 20)

static struct s3t t;
static const char *ferry;
static char outpath[512];

/* Run ferry with @args (NULL-terminated); stdout into outpath. Its exit status. */
static int run_ferry(const char *const *args)
{
	char *argv[24] = {(char *)ferry};
	int n = 1, status, fd;
	pid_t pid;

	for (int i = 0; args[i] && n < 23; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	pid = fork();
	T_ASSERT(pid >= 0, "fork");
	if (pid == 0) {
		fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(127);
		execv(ferry, argv);
		_exit(127);
	}
	T_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	T_ASSERT(WIFEXITED(status), "ferry exited");
	return WEXITSTATUS(status);
}

/* what ferry printed */
static char *output(void)
{
	static char buf[16384];
	FILE *f = fopen(outpath, "r");
	size_t n;

	T_ASSERT(f, "ferry's output");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

struct uploads {
	char key[8][128];
	int n;
};

static int upload_one(void *arg, const char *key, const char *upload_id, int64_t initiated)
{
	struct uploads *u = arg;

	(void)upload_id;
	T_ASSERT(initiated > 1600000000, "initiated %lld", (long long)initiated);
	if (u->n < 8)
		snprintf(u->key[u->n], sizeof(u->key[0]), "%s", key);
	u->n++;
	return 0;
}

static struct uploads uploads_of(struct s3_store *st)
{
	struct uploads u = {.n = 0};

	T_ASSERT(s3_store_list_uploads(st, "", upload_one, &u) == 0, "list uploads: %s",
		 s3_last_error());
	return u;
}

static bool has(const struct uploads *u, const char *key)
{
	for (int i = 0; i < u->n && i < 8; i++)
		if (!strcmp(u->key[i], key))
			return true;
	return false;
}

/* an upload left behind: created, then the process lets go of it */
static void leave_upload(struct s3_store *st, const char *key)
{
	struct s3_upload *up;
	const char *id;

	T_ASSERT_EQ(s3_upload_new(st, key, 5 * MiB, &up), 0);
	T_ASSERT(s3_upload_id(up, &id) == 0, "create %s: %s", key, s3_last_error());
	s3_upload_detach(up);
}

/* a temporary file a crashed file:// write left behind */
static void leave_tmp(const char *root, const char *dir, const char *name)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", root, dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%s/%s", root, dir, name);
	t_write_file(path, "partial", 7);
}

int main(void)
{
	struct s3_store *st, *other, *fst;
	char other_url[300], file_url[600], *dir = t_tmpdir("s3cleanup");
	struct uploads u;
	double t0;

	s3t_init(&t, "cleanup");
	ferry = getenv("FERRY");
	T_ASSERT(ferry && ferry[0], "FERRY is not set: run the tests with meson test or tests/run");
	snprintf(outpath, sizeof(outpath), "%s/out", dir);
	snprintf(other_url, sizeof(other_url), "%s-other", t.url);
	snprintf(file_url, sizeof(file_url), "file://%s/repo", dir);
	st = s3t_open(&t, NULL, NULL);
	{
		struct s3_store_opts o = {.sz = sizeof(o), .endpoint = t.endpoint};

		T_ASSERT_EQ(s3_store_open(other_url, &o, &other), 0);
		T_ASSERT_EQ(s3_store_open(file_url, NULL, &fst), 0);
	}

	/* no repository there yet: refused */
	{
		const char *a[] = {"repo",     "cleanup",      "--repo", t.url, "--s3-endpoint",
				   t.endpoint, "--older-than", "1s",	 NULL};

		T_ASSERT_EQ(run_ferry(a), 3);
	}
	T_ASSERT_EQ(s3_store_put(st, "config", "{}", 2), 0);
	T_ASSERT_EQ(s3_store_mkroot(fst), 0);
	T_ASSERT_EQ(s3_store_put(fst, "config", "{}", 2), 0);

	t0 = s3t_now();
	leave_upload(st, "data/aa/stale-1");
	leave_upload(st, "snapshots/stale-2");
	leave_upload(other, "data/aa/not-ours");
	leave_tmp(dir, "repo/data", ".tmp-00000000000000a1");
	leave_tmp(dir, "repo", ".tmp-00000000000000a2");
	/*
	 * The fresh ones must stay younger than 5 s through the cleanups below
	 * (several ferry runs, slow in a sanitizer build on a loaded machine: a
	 * 1 s margin was too little).
	 */
	usleep((useconds_t)((6.05 - (s3t_now() - t0)) * 1e6));
	leave_upload(st, "data/bb/fresh");
	leave_tmp(dir, "repo/data", ".tmp-00000000000000f0");

	/* --dry-run: says what would go, aborts nothing */
	{
		const char *a[] = {
			"repo",	    "cleanup",	    "--repo", t.url,	   "--s3-endpoint",
			t.endpoint, "--older-than", "5s",     "--dry-run", "--json",
			NULL};

		T_ASSERT_EQ(run_ferry(a), 0);
		T_ASSERT(count(output(), "\"action\":\"would abort\"") == 2 &&
				 count(output(), "\"action\":\"kept\"") == 1 &&
				 strstr(output(), "\"would_abort\":2"),
			 "dry run: %s", output());
	}
	u = uploads_of(st);
	T_ASSERT_EQ(u.n, 3);
	printf("ok: --dry-run: 2 would be aborted, 1 kept, none aborted\n");

	{
		const char *a[] = {"repo",     "cleanup",      "--repo", t.url, "--s3-endpoint",
				   t.endpoint, "--older-than", "5s",	 NULL};

		T_ASSERT_EQ(run_ferry(a), 0);
		printf("%s", output());
		T_ASSERT(count(output(), "aborted  ") == 2 && count(output(), "kept  ") == 1 &&
				 strstr(output(),
					"3 unfinished uploads: 2 aborted, 1 younger than 5s kept"),
			 "cleanup: %s", output());
	}
	u = uploads_of(st);
	T_ASSERT(u.n == 1 && has(&u, "data/bb/fresh"), "only the fresh upload is left (%d)", u.n);
	u = uploads_of(other);
	T_ASSERT(u.n == 1 && has(&u, "data/aa/not-ours"), "another prefix's upload stays");
	printf("ok: the stale uploads aborted, the fresh one and another prefix's kept\n");

	/* file://: the temporary files of interrupted writes */
	u = uploads_of(fst);
	T_ASSERT_EQ(u.n, 3);
	{
		const char *a[] = {"repo",	   "cleanup", "--repo", file_url,
				   "--older-than", "5s",      "--json", NULL};

		T_ASSERT_EQ(run_ferry(a), 0);
		T_ASSERT(count(output(), "\"action\":\"aborted\"") == 2 &&
				 strstr(output(), "\"aborted\":2"),
			 "file:// cleanup: %s", output());
	}
	u = uploads_of(fst);
	T_ASSERT(u.n == 1 && has(&u, "data/.tmp-00000000000000f0"),
		 "the fresh temporary file stays");
	printf("ok: file://: the stale temporary files removed, the fresh one kept\n");

	/* the command line */
	{
		const char *none[] = {"repo", NULL}, *bad[] = {"repo", "bogus", NULL};
		const char *age[] = {"repo",	     "cleanup", "--repo", file_url,
				     "--older-than", "soon",	NULL};

		T_ASSERT_EQ(run_ferry(none), 2);
		T_ASSERT_EQ(run_ferry(bad), 2);
		T_ASSERT_EQ(run_ferry(age), 2);
	}

	/* leave nothing behind: --older-than 0 takes the fresh ones too */
	T_ASSERT_EQ(s3_store_put(other, "config", "{}", 2), 0);
	{
		const char *a[] = {"repo",     "cleanup",      "--repo", t.url,	   "--s3-endpoint",
				   t.endpoint, "--older-than", "0",	 "--json", NULL};
		const char *b[] = {"repo",     "cleanup",      "--repo", other_url, "--s3-endpoint",
				   t.endpoint, "--older-than", "0",	 NULL};

		T_ASSERT_EQ(run_ferry(a), 0);
		T_ASSERT(strstr(output(), "\"aborted\":1"), "%s", output());
		T_ASSERT_EQ(run_ferry(b), 0);
	}
	u = uploads_of(st);
	T_ASSERT_EQ(u.n, 0);
	u = uploads_of(other);
	T_ASSERT_EQ(u.n, 0);
	s3_store_free(fst);
	s3_store_free(other);
	s3_store_free(st);
	t_rmtree(dir);
	free(dir);
	printf("PASS: t_s3_cleanup\n");
	return 0;
}
