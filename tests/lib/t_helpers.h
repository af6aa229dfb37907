/* SPDX-License-Identifier: MIT */
/*
 * tests/lib/t_helpers.h - what ferry's C tests share.
 *
 * Exit codes (meson): 0 pass, 1 fail, 77 skip, 99 hard error. A test skips
 * only when a feature is truly absent here, and says which (t_skip()).
 */
#ifndef FERRY_T_HELPERS_H
#define FERRY_T_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define T_EXIT_PASS  0
#define T_EXIT_FAIL  1
#define T_EXIT_SKIP  77
#define T_EXIT_ERROR 99

/* Print "SKIP: <why>" and exit 77. */
void t_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Print "FAIL: <why>" and exit 1. */
void t_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Print "ERROR: <why>" (the test could not run at all) and exit 99. */
void t_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Checks: on failure print file:line, the expression and the message, exit 1. */
void t_fail_at(const char *file, int line, const char *cond, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), noreturn));
#define T_ASSERT(cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond))                                                                       \
			t_fail_at(__FILE__, __LINE__, #cond, " " __VA_ARGS__);                     \
	} while (0)
#define T_ASSERT_EQ(a, b)                                                                          \
	do {                                                                                       \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);                            \
		if (t_a_ != t_b_)                                                                  \
			t_fail("%s:%d: %s == %s: %lld != %lld", __FILE__, __LINE__, #a, #b, t_a_,  \
			       t_b_);                                                              \
	} while (0)

/* Skip unless running as root. */
void t_require_root(void);
/* Skip unless io_uring can be set up (not -ENOSYS/-EPERM, io_uring_disabled). */
void t_require_io_uring(void);

/* A fresh directory under $TMPDIR (or /tmp), removed by t_rmtree(). Caller frees. */
char *t_tmpdir(const char *tag);
/* rm -rf @path; returns 0 or -errno. */
int t_rmtree(const char *path);

/* Fill @buf deterministically from @seed (xorshift). */
void t_fill_random(void *buf, size_t len, uint64_t seed);

/* A copy of @s with each single quote made double: JSON written in C strings
 * without escapes ("{'a': 1}"). Caller frees; exits 99 out of memory. */
char *t_dq(const char *s);

/* Write @len bytes from @buf to a new file @path. Exits 99 on failure. */
void t_write_file(const char *path, const void *buf, size_t len);

/*
 * t_loop_open() - attach a loop device (--direct-io=on) over @file
 * Returns the device path (malloc()ed); exits 99 if losetup fails, skips if
 * loop devices cannot be made here.
 */
char *t_loop_open(const char *file);
/* Run @argv (searched in PATH) and wait: its exit status, 128+signal, or -errno. */
int t_spawn(char *const argv[]);
void t_loop_close(const char *dev);

#endif /* FERRY_T_HELPERS_H */
