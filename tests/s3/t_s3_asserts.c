// SPDX-License-Identifier: MIT
/*
 * tests/s3/t_s3_asserts.c - the multipart state machine stops an illegal
 * move (s3/multipart.c): a part acknowledged (DONE) moved back to UPLOADING
 * through the test-only s3_upload_test_part_state() aborts, naming the
 * assertion on stderr. Legal moves are accepted. A death test: it runs in
 * a child (this program again, with --die), and needs a build with assert()
 * on (debug, ASan): a release build (NDEBUG) skips it.
 *
 * No server: the upload's CreateMultipartUpload goes to a closed loopback
 * port and fails; part records exist without it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "s3/store.h"
#include "t_helpers.h"

/* An s3:// upload whose create has failed already: nothing on the loop touches it any more. */
static struct s3_upload *dead_upload(struct s3_store **st)
{
	struct s3_store_opts o = {.sz = sizeof(o), .endpoint = "http://127.0.0.1:1"};
	struct s3_upload *up;
	const char *id;

	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
	unsetenv("AWS_SESSION_TOKEN");
	T_ASSERT(s3_store_open("s3://ferry-test/asserts", &o, st) == 0, "open: %s",
		 s3_last_error());
	T_ASSERT_EQ(s3_upload_new(*st, "data/aa/pack", S3_PART_MIN, &up), 0);
	T_ASSERT(s3_upload_id(up, &id) == -ECONNREFUSED, "the create fails: %s", s3_last_error());
	return up;
}

/* The child: legal moves, then DONE -> UPLOADING, which must not return. */
static int die(void)
{
	struct s3_store *st;
	struct s3_upload *up = dead_upload(&st);

	T_ASSERT_EQ(s3_upload_test_part_state(up, 3, "listed"), 0);
	T_ASSERT_EQ(s3_upload_test_part_state(up, 3, "uploading"), 0);
	T_ASSERT_EQ(s3_upload_test_part_state(up, 3, "done"), 0);
	fprintf(stderr, "moving part 3 from done back to uploading\n");
	s3_upload_test_part_state(up, 3, "uploading");
	fprintf(stderr, "the move was not stopped\n");
	return 0;
}

static void legal(void)
{
	struct s3_store *st;
	struct s3_upload *up = dead_upload(&st);
	char *dir = t_tmpdir("s3asserts"), url[600];
	struct s3_store_opts fo = {.sz = sizeof(fo), .fsync = -1};
	struct s3_store *fst;
	struct s3_upload *fup;

	T_ASSERT_EQ(s3_upload_test_part_state(up, 1, "uploading"), 0);
	T_ASSERT_EQ(s3_upload_test_part_state(up, 1, "none"), 0); /* a part that failed */
	T_ASSERT_EQ(s3_upload_test_part_state(up, 1, "uploading"), 0);
	T_ASSERT_EQ(s3_upload_test_part_state(up, 1, "done"), 0);
	T_ASSERT_EQ(s3_upload_test_part_state(up, 2, "listed"), 0);
	T_ASSERT_EQ(s3_upload_test_part_state(up, 2, "listed"), 0); /* listed again */
	T_ASSERT_EQ(s3_upload_test_part_state(up, 2, "sent"), -EINVAL);
	T_ASSERT_EQ(s3_upload_test_part_state(up, 0, "none"), -EINVAL);
	T_ASSERT_EQ(s3_upload_test_part_state(up, S3_UPLOAD_MAX_PARTS + 1, "none"), -EINVAL);
	s3_upload_detach(up);
	s3_store_free(st);

	snprintf(url, sizeof(url), "file://%s", dir);
	T_ASSERT_EQ(s3_store_open(url, &fo, &fst), 0);
	T_ASSERT_EQ(s3_upload_new(fst, "data/aa/pack", S3_PART_MIN, &fup), 0);
	T_ASSERT_EQ(s3_upload_test_part_state(fup, 1, "uploading"), -EOPNOTSUPP);
	s3_upload_abort(fup);
	s3_store_free(fst);
	t_rmtree(dir);
	free(dir);
	printf("ok: legal moves of a part's record are taken, bad names refused\n");
}

int main(int argc, char **argv)
{
	char err[4096] = "";
	int pfd[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	if (argc > 1 && !strcmp(argv[1], "--die"))
		return die();
#ifdef NDEBUG
	t_skip("a release build (NDEBUG): assert() is off, the death test needs a debug build");
#endif
	legal();
	if (pipe(pfd))
		t_error("pipe");
	pid = fork();
	if (pid < 0)
		t_error("fork");
	if (pid == 0) {
		dup2(pfd[1], STDERR_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execl("/proc/self/exe", argv[0], "--die", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], err + got, sizeof(err) - 1 - (size_t)got)) > 0)
		got += n;
	err[got] = '\0';
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid)
		t_error("waitpid");
	T_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
		 "the child was not aborted (status %#x): %s", status, err);
	T_ASSERT(strstr(err, "moving part 3 from done back to uploading") &&
			 !strstr(err, "was not stopped"),
		 "it died at the move: %s", err);
	T_ASSERT(strstr(err, "part_move_ok") && strstr(err, "Assertion"),
		 "stderr names the assertion: %s", err);
	printf("ok: done -> uploading aborts: %s",
	       strstr(err, "Assertion") ? strstr(err, "multipart") : err);
	printf("PASS: t_s3_asserts\n");
	return 0;
}
