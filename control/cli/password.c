// SPDX-License-Identifier: MIT
/*
 * control/cli/password.c - where a repository password comes from, in order:
 * --password-file FILE, --password-command CMD, FERRY_PASSWORD,
 * FERRY_PASSWORD_FILE, FERRY_PASSWORD_COMMAND, else a prompt on the terminal
 * (twice when a new password is set). A file's or a command's output loses
 * one trailing newline. Passwords are wiped after use and never logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"

extern char **environ;

static int pw_strip(struct ctl_password *pw, const char *from)
{
	if (pw->len && pw->buf[pw->len - 1] == '\n')
		pw->len--;
	if (pw->len && pw->buf[pw->len - 1] == '\r')
		pw->len--;
	if (!pw->len)
		return ctl_fail(-ENOKEY, NULL, "the password from %s is empty", from);
	return 0;
}

/* Read all of @fd into @pw (no newline handling). 0 or -errno. */
static int pw_read_raw(struct ctl_password *pw, int fd)
{
	pw->len = 0;
	for (;;) {
		ssize_t n = read(fd, pw->buf + pw->len, sizeof(pw->buf) - pw->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		pw->len += (size_t)n;
		if (pw->len == sizeof(pw->buf))
			return -E2BIG;
	}
}

static int pw_read_fd(struct ctl_password *pw, int fd, const char *from)
{
	int ret = pw_read_raw(pw, fd);

	if (ret == -E2BIG)
		return ctl_fail(-EINVAL, NULL, "the password from %s is longer than %zu bytes",
				from, sizeof(pw->buf) - 1);
	if (ret)
		return ctl_fail(ret, NULL, "reading the password from %s: %s", from,
				strerror(-ret));
	return pw_strip(pw, from);
}

static int pw_from_file(struct ctl_password *pw, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return ctl_fail(-errno, NULL, "password file %s: %s", path, strerror(errno));
	ret = pw_read_fd(pw, fd, path);
	close(fd);
	return ret;
}

static int pw_from_command(struct ctl_password *pw, const char *cmd)
{
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	posix_spawn_file_actions_t fa;
	int fds[2], status, ret;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return ctl_fail(-errno, NULL, "password command: pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	ret = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (ret) {
		close(fds[0]);
		return ctl_fail(-ret, NULL, "password command: %s", strerror(ret));
	}
	ret = pw_read_raw(pw, fds[0]);
	close(fds[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		OPENSSL_cleanse(pw->buf, sizeof(pw->buf));
		pw->len = 0;
		return ctl_fail(-ENOKEY, NULL, "the password command failed (exit status %d)",
				WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	if (ret)
		return ctl_fail(ret, NULL, "reading the password command's output: %s",
				strerror(-ret));
	return pw_strip(pw, "the password command");
}

static int pw_prompt(struct ctl_password *pw, const char *prompt)
{
	struct termios old, quiet;
	int fd, ret;
	char c;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd < 0 || !isatty(fd)) {
		if (fd >= 0)
			close(fd);
		return -ENOTTY;
	}
	if (write(fd, prompt, strlen(prompt)) < 0 || tcgetattr(fd, &old)) {
		close(fd);
		return -ENOTTY;
	}
	quiet = old;
	quiet.c_lflag &= (tcflag_t)~ECHO;
	tcsetattr(fd, TCSAFLUSH, &quiet);
	pw->len = 0;
	ret = 0;
	while (read(fd, &c, 1) == 1 && c != '\n') {
		if (pw->len + 1 >= sizeof(pw->buf)) {
			ret = -E2BIG;
			break;
		}
		pw->buf[pw->len++] = c;
	}
	tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0)
		ret = ret ? ret : -EIO;
	close(fd);
	return ret;
}

int ctl_password_get(const struct ctl_common *c, bool is_new, struct ctl_password *pw)
{
	const char *env;
	int ret;

	memset(pw, 0, sizeof(*pw));
	if (c->password_file)
		return pw_from_file(pw, c->password_file);
	if (c->password_command)
		return pw_from_command(pw, c->password_command);
	env = getenv("FERRY_PASSWORD");
	if (env && env[0]) {
		pw->len = strlen(env);
		if (pw->len >= sizeof(pw->buf))
			return ctl_fail(-EINVAL, NULL, "FERRY_PASSWORD is too long");
		memcpy(pw->buf, env, pw->len);
		return 0;
	}
	env = getenv("FERRY_PASSWORD_FILE");
	if (env && env[0])
		return pw_from_file(pw, env);
	env = getenv("FERRY_PASSWORD_COMMAND");
	if (env && env[0])
		return pw_from_command(pw, env);
	ret = pw_prompt(pw, is_new ? "new repository password: " : "repository password: ");
	if (ret == -ENOTTY)
		return ctl_fail(
			-ENOKEY, NULL,
			"the repository is encrypted and no password was given: set FERRY_PASSWORD, --password-file or --password-command%s",
			is_new ? " (or --insecure-no-encryption)" : "");
	if (!ret && is_new) {
		struct ctl_password again;

		ret = pw_prompt(&again, "again: ");
		if (!ret && (again.len != pw->len || memcmp(again.buf, pw->buf, pw->len)))
			ret = -EINVAL;
		OPENSSL_cleanse(&again, sizeof(again));
		if (ret == -EINVAL) {
			ctl_password_wipe(pw);
			return ctl_fail(-EINVAL, NULL, "the passwords do not match");
		}
	}
	if (ret)
		return ctl_fail(ret, NULL, "reading the password: %s", strerror(-ret));
	if (!pw->len)
		return ctl_fail(-EINVAL, NULL, "an empty password is not a password");
	return 0;
}

int ctl_password_other(const char *file, const char *env_name, const char *what,
		       struct ctl_password *pw)
{
	const char *env;
	char prompt[128];
	int ret;

	memset(pw, 0, sizeof(*pw));
	if (file)
		return pw_from_file(pw, file);
	env = getenv(env_name);
	if (env && env[0]) {
		pw->len = strlen(env);
		if (pw->len >= sizeof(pw->buf))
			return ctl_fail(-EINVAL, NULL, "%s is too long", env_name);
		memcpy(pw->buf, env, pw->len);
		return 0;
	}
	snprintf(prompt, sizeof(prompt), "%s: ", what);
	ret = pw_prompt(pw, prompt);
	if (ret == -ENOTTY)
		return ctl_fail(-EINVAL, NULL, "no %s: give its file option or set %s", what,
				env_name);
	if (ret)
		return ctl_fail(ret, NULL, "reading the password: %s", strerror(-ret));
	if (!pw->len)
		return ctl_fail(-EINVAL, NULL, "an empty password is not a password");
	return 0;
}

void ctl_password_wipe(struct ctl_password *pw)
{
	OPENSSL_cleanse(pw, sizeof(*pw));
}
