// SPDX-License-Identifier: MIT
/*
 * s3/s3_buf.c - growing arrays and strings (s3_buf.h): every buffer of s3/
 * that grows does it through s3_grow().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_buf.h"

#define GROW_FIRST 16

int s3_grow(void *pp, size_t *cap, size_t need, size_t elem, size_t max)
{
	size_t ncap = *cap ? *cap : GROW_FIRST;
	void *p, *np;

	if (need <= *cap)
		return 0;
	if (!max || max > SIZE_MAX / elem)
		max = SIZE_MAX / elem;
	if (need > max)
		return -EOVERFLOW;
	while (ncap < need)
		ncap = ncap > max / 2 ? max : ncap * 2;
	if (ncap > max)
		ncap = max;
	/* the pointer is read and written as bytes: @pp may point at any object pointer */
	memcpy(&p, pp, sizeof(p));
	np = reallocarray(p, ncap, elem);
	if (!np)
		return -ENOMEM;
	memcpy(pp, &np, sizeof(np));
	*cap = ncap;
	return 0;
}

void s3_sb_init(struct s3_sbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void s3_sb_add(struct s3_sbuf *b, const char *s, size_t n)
{
	int ret;

	if (b->err || !n)
		return;
	if (b->max && (n > b->max || b->len > b->max - n)) {
		b->err = -E2BIG;
		return;
	}
	ret = s3_grow(&b->p, &b->cap, b->len + n + 1, 1, b->max ? b->max + 1 : 0);
	if (ret) {
		b->err = ret == -EOVERFLOW ? -E2BIG : ret;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void s3_sb_puts(struct s3_sbuf *b, const char *s)
{
	s3_sb_add(b, s, strlen(s));
}

void s3_sb_printf(struct s3_sbuf *b, const char *fmt, ...)
{
	char small[256], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		if (!b->err)
			b->err = -EINVAL;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		s3_sb_add(b, small, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n < 0) {
		if (!b->err)
			b->err = -ENOMEM;
		return;
	}
	s3_sb_add(b, big, (size_t)n);
	free(big);
}

char *s3_sb_finish(struct s3_sbuf *b)
{
	char *s = b->p;

	if (b->err) {
		free(b->p);
		s = NULL;
	} else if (!s) {
		s = strdup("");
		if (!s)
			b->err = -ENOMEM;
	}
	b->p = NULL;
	b->len = b->cap = 0;
	return s;
}

void s3_sb_free(struct s3_sbuf *b)
{
	if (!b)
		return;
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}
