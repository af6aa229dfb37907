// SPDX-License-Identifier: MIT
/*
 * tests/datapath/t_assert.c - the datapath's assert()s stop a broken state
 * transition in a debug build: a buffer put back twice (before, the second
 * put pushed it onto the free stack again, handing one buffer to two owners
 * and later writing past the stack) aborts at once, with the assertion's
 * text on stderr; so does a put of a pointer that is not one of the pool's
 * buffers. Release builds compile the checks out: the test skips there.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "datapath/pool.h"
#include "t_helpers.h"

#ifdef NDEBUG
int main(void)
{
	t_skip("a release build (NDEBUG): assert() is compiled out");
}
#else

/* Run @fn in a child with stderr into @err; return its wait status. */
static int t_death(void (*fn)(void), char *err, size_t len)
{
	int fd[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe(fd))
		t_error("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		t_error("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(fd[1], STDERR_FILENO);
		close(fd[0]);
		fn();
		_exit(0); /* it did not die */
	}
	close(fd[1]);
	while ((n = read(fd[0], err + got, len - 1 - (size_t)got)) > 0)
		got += n;
	err[got] = '\0';
	close(fd[0]);
	if (waitpid(pid, &status, 0) != pid)
		t_error("waitpid: %s", strerror(errno));
	return status;
}

static atomic_bool stop;

static void double_put(void)
{
	struct dp_bufs b;
	void *buf;

	if (dp_bufs_init(&b, 32u << 20, 64u << 10, 8u << 20, &stop))
		_exit(99);
	buf = dp_bufs_get_chunk(&b);
	dp_bufs_put_chunk(&b, buf);
	dp_bufs_put_chunk(&b, buf); /* the bug */
}

static void foreign_put(void)
{
	static char not_ours[64 << 10];
	struct dp_bufs b;

	if (dp_bufs_init(&b, 32u << 20, 64u << 10, 8u << 20, &stop))
		_exit(99);
	dp_bufs_put_chunk(&b, not_ours);
}

static void fine(void)
{
	struct dp_bufs b;
	void *a, *c;

	if (dp_bufs_init(&b, 32u << 20, 64u << 10, 8u << 20, &stop))
		_exit(99);
	a = dp_bufs_get_chunk(&b);
	c = dp_bufs_get_io(&b);
	dp_bufs_put_io(&b, c);
	dp_bufs_put_chunk(&b, a);
	dp_bufs_fini(&b);
}

static void expect_abort(const char *what, void (*fn)(void), const char *text)
{
	char err[4096];
	int status = t_death(fn, err, sizeof(err));

	T_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
		 "%s: the child did not abort (status %#x): %s", what, status, err);
	T_ASSERT(strstr(err, "Assertion") && strstr(err, text),
		 "%s: stderr lacks the assertion '%s': %s", what, text, err);
}

int main(void)
{
	char err[4096];
	int status;

	status = t_death(fine, err, sizeof(err));
	T_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "a correct get/put sequence died (status %#x): %s", status, err);
	expect_abort("a double put", double_put, "buffer put back twice, or never got");
	expect_abort("a foreign put", foreign_put, "off < (size_t)c->n * c->size");
	printf("t_assert: a double put and a foreign put abort with their assertion\n");
	return 0;
}
#endif
