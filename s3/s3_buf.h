/* SPDX-License-Identifier: MIT */
/*
 * s3/s3_buf.h - growing arrays and strings for s3/; private to s3/.
 *
 * One way to grow an array (s3_grow(): geometric, on reallocarray(), with the
 * multiplication and the doubling checked for overflow and an upper bound) and
 * one string builder on it (struct s3_sbuf, after curl's dynbuf: appends that
 * fail leave the builder marked failed, so a run of appends needs one check
 * at the end, and a size cap refuses what grows past it).
 */
#ifndef FERRY_S3_BUF_H
#define FERRY_S3_BUF_H

#include <stdbool.h>
#include <stddef.h>

/**
 * s3_grow() - make an array hold at least @need elements
 * @pp:   the address of the array's pointer (any object pointer type; its
 *        array is NULL or from malloc()); on success it may have moved
 * @cap:  its capacity in elements, updated
 * @need: elements needed
 * @elem: the size of one element, > 0
 * @max:  the most elements it may hold (0: as many as fit in memory)
 *
 * Doubles the capacity (from 16) until @need fits, then cuts it to @max.
 * New elements are not initialised. On failure the array is untouched.
 *
 * Return: 0; -EOVERFLOW (@need over @max, or more bytes than a size_t
 * holds); -ENOMEM.
 */
int s3_grow(void *pp, size_t *cap, size_t need, size_t elem, size_t max);

/*
 * A string being built: @p NUL-terminated (NULL while empty), @len bytes.
 * Zero-initialised it is empty, with no cap.
 */
struct s3_sbuf {
	char *p;
	size_t len, cap;
	size_t max; /* most bytes it may hold, NUL excluded (0: no cap) */
	int err;    /* 0, or the first failure: -ENOMEM, -E2BIG (past @max) */
};

/* An empty builder that refuses to grow past @max bytes (0: no cap). */
void s3_sb_init(struct s3_sbuf *b, size_t max);
/* Append @n bytes of @s (which need no NUL); nothing after a failure. */
void s3_sb_add(struct s3_sbuf *b, const char *s, size_t n);
/* Append the string @s. */
void s3_sb_puts(struct s3_sbuf *b, const char *s);
/* Append printf() output. */
void s3_sb_printf(struct s3_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * s3_sb_finish() - the string built, handed to the caller
 * Return: a malloc()ed string ("" if nothing was appended) the caller frees;
 * NULL after a failure (@b->err says which), and @b is empty again either way.
 */
char *s3_sb_finish(struct s3_sbuf *b);

/* Free what @b holds and empty it; NULL is a no-op. */
void s3_sb_free(struct s3_sbuf *b);

#endif /* FERRY_S3_BUF_H */
