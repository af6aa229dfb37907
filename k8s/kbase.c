// SPDX-License-Identifier: MIT
/*
 * k8s/kbase.c - what every file of k8s/ uses: the log sink, struct k8s_err
 * helpers, a growable string, base64, whole-file reads, jitter, clocks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "k8s_int.h"

/* ------------------------------------------------------------ logging */

static k8s_log_fn log_fn;

void k8s_set_log(k8s_log_fn fn)
{
	log_fn = fn;
}

bool k8s_log_debug_on(void)
{
	return log_fn != NULL;
}

void k8s_log(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fn(level, msg);
}

/* ------------------------------------------------------------ errors */

void kerr_clear(struct k8s_err *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

int kerr_exit_of(int code)
{
	switch (code) {
	case 0:
		return K8S_EXIT_OK;
	case -EINVAL:
	case -EOPNOTSUPP:
		return K8S_EXIT_USAGE;
	case -ENOENT:
		return K8S_EXIT_NOT_FOUND;
	case -EEXIST:
	case -EAGAIN:
	case -EBUSY:
	case -ENOLCK:
		return K8S_EXIT_REFUSED;
	case -EACCES:
	case -EPERM:
	case -EPROTO:
		return K8S_EXIT_ACCESS;
	case -ECONNREFUSED:
	case -ETIMEDOUT:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
	case -ECONNRESET:
		return K8S_EXIT_NETWORK;
	default:
		return K8S_EXIT_FAILURE;
	}
}

int kerr_set(struct k8s_err *err, int code, int exit, const char *reason, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	err->exit = exit >= 0 ? exit : kerr_exit_of(code);
	snprintf(err->reason, sizeof(err->reason), "%s", reason ? reason : "");
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int k8s_err_set(struct k8s_err *err, int code, const char *reason, const char *fmt, ...)
{
	va_list ap;

	memset(err, 0, sizeof(*err));
	err->code = code;
	snprintf(err->reason, sizeof(err->reason), "%s", reason ? reason : "");
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void kerr_prefix(struct k8s_err *err, const char *prefix)
{
	size_t p, m, cap;

	if (!err || !prefix)
		return;
	p = strlen(prefix);
	m = strlen(err->msg);
	cap = sizeof(err->msg) - 1;
	if (p + 2 >= cap)
		return;
	if (p + 2 + m > cap)
		m = cap - p - 2;
	memmove(err->msg + p + 2, err->msg, m);
	memcpy(err->msg, prefix, p);
	err->msg[p] = ':';
	err->msg[p + 1] = ' ';
	err->msg[p + 2 + m] = '\0';
}

/* ------------------------------------------------------------ kbuf */

/* Room for @need bytes and a NUL, doubling; false (and failed set) past max. */
static bool kbuf_grow(struct kbuf *b, size_t need)
{
	size_t max = b->max ? b->max : (64u << 20), cap;
	char *p;

	if (b->failed)
		return false;
	if (need > max || need < b->len) {
		b->failed = true;
		return false;
	}
	if (need + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < need + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void kbuf_add(struct kbuf *b, const void *s, size_t n)
{
	if (!kbuf_grow(b, b->len + n))
		return;
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void kbuf_puts(struct kbuf *b, const char *s)
{
	kbuf_add(b, s, strlen(s));
}

void kbuf_printf(struct kbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !kbuf_grow(b, b->len + (size_t)n)) {
		b->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void kbuf_escape(struct kbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		/* RFC 3986 unreserved characters stay */
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			kbuf_add(b, s, 1);
		} else {
			char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};

			kbuf_add(b, e, 3);
		}
	}
}

const char *kbuf_str(struct kbuf *b)
{
	if (b->failed)
		return NULL;
	if (!b->p && !kbuf_grow(b, 0))
		return NULL;
	return b->p;
}

char *kbuf_take(struct kbuf *b)
{
	char *p;

	if (!kbuf_str(b)) {
		kbuf_free(b);
		return NULL;
	}
	p = b->p;
	memset(b, 0, sizeof(*b));
	return p;
}

void kbuf_free(struct kbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->failed = false;
}

void kbuf_wipe(struct kbuf *b)
{
	if (b->p)
		OPENSSL_cleanse(b->p, b->cap);
	kbuf_free(b);
}

/* ------------------------------------------------------------ base64 */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *kb64_encode(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	char *out, *o;
	size_t i;

	if (len > (SIZE_MAX / 4) - 4)
		return NULL;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	o = out;
	for (i = 0; i + 2 < len; i += 3) {
		*o++ = b64[p[i] >> 2];
		*o++ = b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*o++ = b64[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		*o++ = b64[p[i + 2] & 63];
	}
	if (i < len) {
		*o++ = b64[p[i] >> 2];
		if (i + 1 < len) {
			*o++ = b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
			*o++ = b64[(p[i + 1] & 15) << 2];
		} else {
			*o++ = b64[(p[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Standard base64 (RFC 4648), padded or not; a trailing newline is allowed
 * (a secret written with echo). The result has a NUL after it, since certs
 * and tokens are used as strings; partial output is wiped on failure.
 */
int kb64_decode(const char *s, size_t slen, unsigned char **out, size_t *len)
{
	unsigned char *buf;
	size_t n = 0, i, pad = 0;
	uint32_t acc = 0;
	unsigned int bits = 0;

	*out = NULL;
	*len = 0;
	while (slen && (s[slen - 1] == '\n' || s[slen - 1] == '\r'))
		slen--;
	while (slen && s[slen - 1] == '=' && pad < 2) {
		slen--;
		pad++;
	}
	if ((slen + pad) % 4 != 0 && pad)
		return -EINVAL;
	if (slen % 4 == 1)
		return -EINVAL;
	/* a NUL after the data: decoded PEM and tokens are used as strings */
	buf = malloc(slen / 4 * 3 + 3 + 1);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < slen; i++) {
		int v = b64_val(s[i]);

		if (v < 0) {
			OPENSSL_cleanse(buf, n);
			free(buf);
			return -EINVAL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits);
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* ------------------------------------------------------------ files */

/*
 * A whole file, at most @max bytes (plus a NUL). Tokens and keys pass
 * through here: buffers outgrown are wiped before they are freed.
 */
int kfile_read(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int fd, ret;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	for (;;) {
		ssize_t r;

		if (n + 4096 + 1 > cap) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *p;

			if (cap > max + 1) {
				ret = -EFBIG;
				goto out_free;
			}
			p = malloc(ncap);
			if (!p) {
				ret = -ENOMEM;
				goto out_free;
			}
			if (buf) {
				memcpy(p, buf, n);
				/* files may hold keys and tokens: leave no copies behind */
				OPENSSL_cleanse(buf, cap);
				free(buf);
			}
			buf = p;
			cap = ncap;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out_free;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			ret = -EFBIG;
			goto out_free;
		}
	}
	close(fd);
	if (!buf) {
		buf = calloc(1, 1);
		if (!buf)
			return -ENOMEM;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
out_free:
	close(fd);
	if (buf)
		OPENSSL_cleanse(buf, cap);
	free(buf);
	return ret;
}

char *kstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

void kfree_secret(char *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

/* ------------------------------------------------------------ clocks, jitter */

uint64_t kmono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t k8s_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static pthread_mutex_t rnd_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t rnd_state;

uint64_t krand(void)
{
	uint64_t x;

	pthread_mutex_lock(&rnd_lock);
	if (!rnd_state &&
	    (getrandom(&rnd_state, sizeof(rnd_state), 0) != sizeof(rnd_state) || !rnd_state))
		rnd_state = 0x9e3779b97f4a7c15ull ^ kmono_ms();
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	x = rnd_state * 2685821657736338717ull;
	pthread_mutex_unlock(&rnd_lock);
	return x;
}
