// SPDX-License-Identifier: MIT
/*
 * tests/s3/t_s3_resume.c - resuming multipart uploads against the RGW of
 * tests/run, through the proxy (s3proxy.py) that logs every request:
 *
 *  - a child process creates an upload, sends parts 1-3 and is SIGKILLed
 *    once they are acknowledged; the parent resumes by id, lists the parts
 *    (3, with the child's ETags, over two pages), sends 4-6, completes; the
 *    object is checked byte by byte and the proxy's log shows every part
 *    sent exactly once;
 *  - a part sent again replaces the one the server listed; a part of an
 *    earlier run beyond the new end (s3_upload_set_nparts()): S3 drops it,
 *    Ceph RGW refuses, and says so;
 *  - a resume of a completed, an aborted, an unknown upload: -ENOENT.
 */
#include <stdatomic.h>

#include "s3t.h"

#define MiB   (1u << 20)
#define PART  (5 * MiB)
#define NPART 6
#define LAST  12345

static struct s3t t;
static struct s3t_proxy px;

struct acks {
	atomic_int done, failed;
};

static void part_done(void *arg, int ret, const char *detail)
{
	struct acks *a = arg;

	if (ret) {
		fprintf(stderr, "part failed: %d %s\n", ret, detail);
		atomic_fetch_add(&a->failed, 1);
	}
	atomic_fetch_add(&a->done, 1);
}

static void wait_acks(struct acks *a, int n)
{
	double t0 = s3t_now();

	while (atomic_load(&a->done) < n) {
		T_ASSERT(s3t_now() - t0 < 60, "parts not acknowledged in 60 s");
		usleep(2000);
	}
	T_ASSERT_EQ(atomic_load(&a->failed), 0);
}

static size_t part_len(unsigned int num)
{
	return num == NPART ? LAST : PART;
}

static const unsigned char *part_at(const unsigned char *data, unsigned int num)
{
	return data + (size_t)(num - 1) * PART;
}

struct listed {
	unsigned int n, num[16];
	uint64_t size[16];
	char etag[16][S3_ETAG_SIZE];
};

static int list_one(void *arg, unsigned int num, uint64_t size, const char *etag)
{
	struct listed *l = arg;

	T_ASSERT(l->n < 16, "too many parts listed");
	l->num[l->n] = num;
	l->size[l->n] = size;
	snprintf(l->etag[l->n], S3_ETAG_SIZE, "%s", etag);
	l->n++;
	return 0;
}

/* How many PUTs of part @num of upload @id the proxy relayed. */
static int part_puts(const char *id, unsigned int num)
{
	char q[1200];
	const char *subs[] = {"\"method\": \"PUT\"", q, NULL};

	snprintf(q, sizeof(q), "partNumber=%u&uploadId=%s\"", num, id);
	return s3t_proxy_count(&px, subs);
}

/*
 * The first run, as its own process: parts 1-3, then it reports the upload
 * id and the ETags on @fd and waits to be killed.
 */
static void first_run(int fd, const unsigned char *data, const char *key)
{
	struct s3_store *st = s3t_open(&t, px.endpoint, NULL);
	struct acks a = {0};
	struct listed l = {0};
	struct s3_upload *up;
	char etag[S3_ETAG_SIZE];
	const char *id;
	FILE *f = fdopen(fd, "w");

	T_ASSERT_EQ(s3_upload_new(st, key, PART, &up), 0);
	T_ASSERT(s3_upload_id(up, &id) == 0 && id[0], "upload id: %s", s3_last_error());
	T_ASSERT_EQ(s3_upload_part_etag(up, 1, etag), -ENOENT);
	for (unsigned int num = 1; num <= 3; num++)
		T_ASSERT_EQ(s3_upload_part(up, num, part_at(data, num), PART, part_done, &a), 0);
	wait_acks(&a, 3);
	/* a fresh upload lists what it sent, with the ETags it got */
	T_ASSERT_EQ(s3_upload_list_parts(up, list_one, &l), 0);
	T_ASSERT_EQ(l.n, 3);
	fprintf(f, "%s\n", id);
	for (unsigned int num = 1; num <= 3; num++) {
		T_ASSERT_EQ(s3_upload_part_etag(up, num, etag), 0);
		T_ASSERT(!strcmp(etag, l.etag[num - 1]), "part %u: sent %s, listed %s", num, etag,
			 l.etag[num - 1]);
		fprintf(f, "%s\n", etag);
	}
	fclose(f);
	pause(); /* SIGKILL comes here: no abort, no free */
	_exit(1);
}

#define KEY_RESUMED "data/aa/resumed"

/* Run 1 in a child (forked before this process starts any thread), killed after 1-3. */
static void killed(const unsigned char *data, char *id, size_t idlen, char etags[3][S3_ETAG_SIZE])
{
	int pfd[2], status;
	pid_t pid;
	FILE *f;

	T_ASSERT(!pipe(pfd), "pipe");
	pid = fork();
	T_ASSERT(pid >= 0, "fork");
	if (pid == 0) {
		close(pfd[0]);
		first_run(pfd[1], data, KEY_RESUMED);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	T_ASSERT(fgets(id, (int)idlen, f), "the first run reported no upload id");
	id[strcspn(id, "\n")] = '\0';
	for (int i = 0; i < 3; i++) {
		T_ASSERT(fgets(etags[i], sizeof(etags[i]), f), "the first run reported no ETag %d",
			 i);
		etags[i][strcspn(etags[i], "\n")] = '\0';
	}
	fclose(f);
	kill(pid, SIGKILL);
	T_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	T_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the first run was killed");
	printf("ok: first run killed after parts 1-3 of upload %s\n", id);
}

/* Run 2: resume, list, send the rest, complete. */
static void resumed(struct s3_store *st, const unsigned char *data, const char *id,
		    char etags[3][S3_ETAG_SIZE])
{
	const char *key = KEY_RESUMED;
	size_t total = (size_t)(NPART - 1) * PART + LAST;
	char etag[S3_ETAG_SIZE];
	struct listed l = {0};
	struct acks a = {0};
	struct s3_upload *up;
	void *back;
	size_t len;

	T_ASSERT(s3_upload_resume(st, key, id, PART, &up) == 0, "resume: %s", s3_last_error());
	T_ASSERT_EQ(s3_upload_list_parts(up, list_one, &l), 0);
	T_ASSERT_EQ(l.n, 3);
	for (unsigned int i = 0; i < 3; i++) {
		T_ASSERT_EQ(l.num[i], i + 1);
		T_ASSERT_EQ(l.size[i], PART);
		T_ASSERT(!strcmp(l.etag[i], etags[i]), "part %u: listed %s, the first run got %s",
			 i + 1, l.etag[i], etags[i]);
		T_ASSERT_EQ(s3_upload_part_etag(up, i + 1, etag), 0);
		T_ASSERT(!strcmp(etag, etags[i]), "part %u: known ETag %s", i + 1, etag);
	}
	T_ASSERT_EQ(s3_upload_part_etag(up, 4, etag), -ENOENT);
	for (unsigned int num = 4; num <= NPART; num++)
		T_ASSERT_EQ(
			s3_upload_part(up, num, part_at(data, num), part_len(num), part_done, &a),
			0);
	T_ASSERT(s3_upload_complete(up) == 0, "complete: %s", s3_last_error());
	T_ASSERT_EQ(atomic_load(&a.done), 3);
	T_ASSERT_EQ(atomic_load(&a.failed), 0);

	T_ASSERT_EQ(s3_store_get(st, key, total, &back, &len), 0);
	T_ASSERT_EQ(len, total);
	if (memcmp(back, data, total)) {
		size_t off = 0;

		while (((unsigned char *)back)[off] == data[off])
			off++;
		t_fail("the resumed object differs from byte %zu on", off);
	}
	free(back);
	for (unsigned int num = 1; num <= NPART; num++)
		T_ASSERT(part_puts(id, num) == 1, "part %u was PUT %d times", num,
			 part_puts(id, num));
	/* ListParts in pages of 2: the resume's and the listing's, 2 pages each */
	{
		char q[1200];
		const char *subs[] = {"\"method\": \"GET\"", q, "max-parts=2", NULL};

		snprintf(q, sizeof(q), "uploadId=%s\"", id);
		T_ASSERT_EQ(s3t_proxy_count(&px, subs), 4);
		snprintf(q, sizeof(q), "part-number-marker=2&uploadId=%s\"", id);
		T_ASSERT_EQ(s3t_proxy_count(&px, subs), 2);
	}
	printf("ok: resumed, parts 4-6 sent, %zu bytes complete, each part PUT once\n", total);
}

/* Parts of run 1 with ids; run 1 gives up for now (s3_upload_detach()). */
static void upload_some(struct s3_store *st, const char *key, const unsigned char *const *bufs,
			const size_t *lens, unsigned int n, char *id, size_t idlen)
{
	struct acks a = {0};
	struct s3_upload *up;
	const char *idp;

	T_ASSERT_EQ(s3_upload_new(st, key, PART, &up), 0);
	T_ASSERT_EQ(s3_upload_id(up, &idp), 0);
	snprintf(id, idlen, "%s", idp);
	for (unsigned int i = 0; i < n; i++)
		T_ASSERT_EQ(s3_upload_part(up, i + 1, bufs[i], lens[i], part_done, &a), 0);
	wait_acks(&a, (int)n);
	s3_upload_detach(up);
}

/*
 * A part queued again replaces the one the store listed; a part of run 1
 * beyond the new end (s3_upload_set_nparts()) is dropped by S3 and refused
 * by Ceph RGW, with a message that says so.
 */
static void recut(struct s3_store *st, const unsigned char *data)
{
	const unsigned char *b1[] = {data, data + PART, data + 2 * PART};
	const size_t l1[] = {PART, PART, 1000};
	const unsigned char *p2 = data + 3 * PART; /* not run 1's part 2 */
	struct acks a = {0};
	struct s3_upload *up;
	char id[1100];
	void *back;
	size_t len;
	int ret;

	upload_some(st, "data/bb/again", b1, l1, 3, id, sizeof(id));
	T_ASSERT(s3_upload_resume(st, "data/bb/again", id, PART, &up) == 0, "resume: %s",
		 s3_last_error());
	T_ASSERT_EQ(s3_upload_part(up, 2, p2, PART, part_done, &a), 0);
	T_ASSERT(s3_upload_complete(up) == 0, "complete: %s", s3_last_error());
	T_ASSERT_EQ(s3_store_get(st, "data/bb/again", 3 * PART, &back, &len), 0);
	T_ASSERT_EQ(len, 2 * PART + 1000);
	T_ASSERT(!memcmp(back, data, PART) && !memcmp((char *)back + PART, p2, PART) &&
			 !memcmp((char *)back + 2 * PART, data + 2 * PART, 1000),
		 "parts 1 and 3 as listed, 2 as sent again");
	free(back);
	T_ASSERT_EQ(part_puts(id, 2), 2);
	printf("ok: a part sent again replaces the one listed\n");

	upload_some(st, "data/bb/shorter", b1, l1 + 1, 2, id, sizeof(id));
	T_ASSERT(s3_upload_resume(st, "data/bb/shorter", id, PART, &up) == 0, "resume: %s",
		 s3_last_error());
	T_ASSERT_EQ(s3_upload_set_nparts(up, 0), -EINVAL);
	T_ASSERT_EQ(s3_upload_set_nparts(up, 1), 0);
	ret = s3_upload_complete(up);
	if (ret == 0) {
		/* AWS S3: part 2 dropped */
		T_ASSERT_EQ(s3_store_head(st, "data/bb/shorter", (uint64_t *)&len), 0);
		T_ASSERT_EQ(len, PART);
		printf("ok: a part beyond the end is left out\n");
	} else {
		T_ASSERT_EQ(ret, -EREMOTEIO);
		T_ASSERT(strstr(s3_last_error(), "start the upload over"), "%s", s3_last_error());
		printf("ok: a part beyond the end: %s\n", s3_last_error());
		/* and the upload is aborted */
		T_ASSERT_EQ(s3_upload_resume(st, "data/bb/shorter", id, PART, &up), -ENOENT);
	}
}

static void gone(struct s3_store *st, const char *completed_id)
{
	struct s3_upload *up;
	const char *idp;
	char id[1100];

	T_ASSERT_EQ(s3_upload_resume(st, "data/aa/resumed", completed_id, PART, &up), -ENOENT);
	T_ASSERT(strstr(s3_last_error(), "does not exist"), "completed: %s", s3_last_error());
	printf("ok: resume of a completed upload: %s\n", s3_last_error());

	T_ASSERT_EQ(s3_upload_new(st, "data/cc/aborted", PART, &up), 0);
	T_ASSERT_EQ(s3_upload_id(up, &idp), 0);
	snprintf(id, sizeof(id), "%s", idp);
	s3_upload_detach(up);
	T_ASSERT(s3_store_abort_upload(st, "data/cc/aborted", id) == 0, "abort: %s",
		 s3_last_error());
	T_ASSERT_EQ(s3_store_abort_upload(st, "data/cc/aborted", id), 0); /* gone already */
	T_ASSERT_EQ(s3_upload_resume(st, "data/cc/aborted", id, PART, &up), -ENOENT);
	printf("ok: resume of an aborted upload: %s\n", s3_last_error());
	T_ASSERT_EQ(s3_upload_resume(st, "data/cc/aborted", "2~nosuchupload", PART, &up), -ENOENT);
	T_ASSERT_EQ(s3_upload_resume(st, "data/cc/aborted", "", PART, &up), -EINVAL);
	T_ASSERT_EQ(s3_upload_resume(st, "data/cc/aborted", id, 1 * MiB, &up), -EINVAL);
	T_ASSERT(up == NULL, "no handle on failure");
}

static void logline(int level, const char *msg)
{
	if (level <= S3_LOG_WARN || getenv("FERRY_TEST_DEBUG"))
		fprintf(stderr, "[s3 %d] %s\n", level, msg);
}

int main(void)
{
	size_t total = (size_t)(NPART - 1) * PART + LAST;
	unsigned char *data = malloc(total);
	char *dir = t_tmpdir("s3resume"), id[1100], etags[3][S3_ETAG_SIZE];
	struct s3_store *st;

	s3_set_log(logline);
	s3t_init(&t, "resume");
	t_fill_random(data, total, 7);
	s3t_proxy_start(&t, &px, dir, NULL);
	killed(data, id, sizeof(id), etags);
	st = s3t_open(&t, px.endpoint, NULL);
	s3_store_set_page_size(st, 2);
	resumed(st, data, id, etags);
	recut(st, data);
	gone(st, id);
	s3_store_free(st);
	s3t_proxy_stop(&px);
	t_rmtree(dir);
	free(dir);
	free(data);
	printf("PASS: t_s3_resume\n");
	return 0;
}
