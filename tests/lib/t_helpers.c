// SPDX-License-Identifier: MIT
/*
 * tests/lib/t_helpers.c - skip/fail reporting, temporary directories,
 * deterministic data and loop devices for ferry's C tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <liburing.h>

#include "t_helpers.h"

static void t_vreport(const char *tag, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", tag);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void t_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	t_vreport("SKIP", fmt, ap);
	va_end(ap);
	exit(T_EXIT_SKIP);
}

void t_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	t_vreport("FAIL", fmt, ap);
	va_end(ap);
	exit(T_EXIT_FAIL);
}

void t_fail_at(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL: %s:%d: %s", file, line, cond);
	/* T_ASSERT() prefixes the message with a space, so that it is never empty */
	if (fmt[0] && fmt[1]) {
		fputs(":", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
	exit(T_EXIT_FAIL);
}

void t_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	t_vreport("ERROR", fmt, ap);
	va_end(ap);
	exit(T_EXIT_ERROR);
}

char *t_dq(const char *s)
{
	char *d = strdup(s);

	if (!d)
		t_error("out of memory");
	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

void t_require_root(void)
{
	if (geteuid() != 0)
		t_skip("needs root (raw block devices, io_uring sysctls, BPF)");
}

void t_require_io_uring(void)
{
	struct io_uring ring;
	int ret = io_uring_queue_init(4, &ring, 0);

	if (ret == -ENOSYS || ret == -EPERM)
		t_skip("io_uring is not available here (%s)", strerror(-ret));
	if (ret)
		t_error("io_uring_queue_init: %s", strerror(-ret));
	io_uring_queue_exit(&ring);
}

char *t_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (!base || !base[0])
		base = "/tmp";
	if (asprintf(&path, "%s/ferry-%s-XXXXXX", base, tag) < 0)
		t_error("out of memory");
	if (!mkdtemp(path))
		t_error("mkdtemp %s: %s", path, strerror(errno));
	return path;
}

static int t_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) ? -errno : 0;
}

int t_rmtree(const char *path)
{
	return nftw(path, t_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void t_fill_random(void *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	unsigned char *p = buf;

	for (size_t i = 0; i < len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, len - i < 8 ? len - i : 8);
	}
}

void t_write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const char *p = buf;

	if (fd < 0)
		t_error("create %s: %s", path, strerror(errno));
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0)
			t_error("write %s: %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	close(fd);
}

char *t_loop_open(const char *file)
{
	char cmd[4096], dev[256] = "";
	FILE *f;

	snprintf(cmd, sizeof(cmd), "losetup -f --show --direct-io=on '%s' 2>&1", file);
	f = popen(cmd, "r");
	if (!f)
		t_error("popen losetup: %s", strerror(errno));
	if (!fgets(dev, sizeof(dev), f))
		dev[0] = '\0';
	if (pclose(f) != 0 || strncmp(dev, "/dev/loop", 9))
		t_error("losetup over %s failed: %s", file, dev);
	dev[strcspn(dev, "\n")] = '\0';
	return strdup(dev);
}

int t_spawn(char *const argv[])
{
	pid_t pid;
	int status;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void t_loop_close(const char *dev)
{
	char *argv[] = {"losetup", "-d", (char *)dev, NULL};

	if (dev && t_spawn(argv) != 0)
		fprintf(stderr, "warning: losetup -d %s failed\n", dev);
}
