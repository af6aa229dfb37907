// SPDX-License-Identifier: MIT
/*
 * control/cluster/cluster_err.c - struct cluster_err: the one-line reason
 * that goes with every refusal of the capability. Text that came from
 * outside (a schedule, a zone name) is shown through cluster_quote(), so a
 * reason stays one printable line whatever it quotes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cluster_priv.h"

void cluster_err_clear(struct cluster_err *err)
{
	err->code = 0;
	err->msg[0] = '\0';
}

int cluster_err_set(struct cluster_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

const char *cluster_quote(char *dst, size_t size, const char *src, size_t len)
{
	size_t n = 0, i;

	for (i = 0; i < len && src[i]; i++) {
		if (n + 4 >= size) {
			memcpy(dst + n, "...", 3);
			n += 3;
			break;
		}
		dst[n++] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	}
	dst[n] = '\0';
	return dst;
}
