// SPDX-License-Identifier: MIT
/*
 * k8s/watch.c - the decoder of watch streams: newline-delimited JSON
 * events ({"type": "ADDED", "object": {…}}) as they arrive, in pieces of any
 * size (chunked HTTP/1.1, HTTP/2 DATA frames): a line may span many pieces
 * and a piece may hold many lines. Where a piece is cut never changes the
 * events (the fuzz target checks it).
 */
#include <errno.h>
#include <string.h>

#include "k8s_int.h"

#define LINE_MAX_DEFAULT (64u << 20)

int kwatch_parse_line(const char *line, size_t len, enum kwatch_type *type, cJSON **obj)
{
	cJSON *ev = kjson_parse(line, len), *o;
	const char *t = kjson_str(ev, "type");
	int ret = 0;

	*obj = NULL;
	if (!cJSON_IsObject(ev) || !t) {
		ret = -EBADMSG;
		goto out;
	}
	if (!strcmp(t, "ADDED"))
		*type = KW_ADDED;
	else if (!strcmp(t, "MODIFIED"))
		*type = KW_MODIFIED;
	else if (!strcmp(t, "DELETED"))
		*type = KW_DELETED;
	else if (!strcmp(t, "BOOKMARK"))
		*type = KW_BOOKMARK;
	else if (!strcmp(t, "ERROR"))
		*type = KW_ERROR;
	else {
		ret = -EBADMSG;
		goto out;
	}
	o = cJSON_DetachItemFromObjectCaseSensitive(ev, "object");
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		ret = -EBADMSG;
		goto out;
	}
	*obj = o;
out:
	cJSON_Delete(ev);
	return ret;
}

void kwatch_dec_init(struct kwatch_dec *d, kwatch_event_fn fn, void *arg)
{
	memset(d, 0, sizeof(*d));
	d->fn = fn;
	d->arg = arg;
}

void kwatch_dec_fini(struct kwatch_dec *d)
{
	kbuf_free(&d->line);
}

static bool blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

/* one whole line (without its newline) */
static int dec_line(struct kwatch_dec *d, const char *p, size_t n)
{
	enum kwatch_type type = KW_ERROR;
	cJSON *obj;
	int ret;

	if (blank(p, n))
		return 0;
	ret = kwatch_parse_line(p, n, &type, &obj);
	if (ret) {
		/* not an event: the consumer decides (an informer watches again) */
		d->bad++;
		return d->fn(d->arg, KW_ERROR, NULL);
	}
	d->events++;
	return d->fn(d->arg, type, obj);
}

int kwatch_dec_feed(struct kwatch_dec *d, const char *buf, size_t len)
{
	size_t max = d->max_line ? d->max_line : LINE_MAX_DEFAULT;

	while (len) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) : len;
		int ret;

		if (d->line.len + n > max) {
			kbuf_free(&d->line);
			return -E2BIG;
		}
		if (!nl) {
			/* the start of a line: keep it for the next piece */
			d->line.max = max + 1;
			kbuf_add(&d->line, buf, n);
			if (d->line.failed) {
				kbuf_free(&d->line);
				return -ENOMEM;
			}
			return 0;
		}
		if (d->line.len) {
			kbuf_add(&d->line, buf, n);
			if (d->line.failed) {
				kbuf_free(&d->line);
				return -ENOMEM;
			}
			ret = dec_line(d, d->line.p, d->line.len);
			d->line.len = 0;
		} else {
			/* the whole line is in this piece: no copy */
			ret = dec_line(d, buf, n);
		}
		if (ret)
			return ret;
		buf += n + 1;
		len -= n + 1;
	}
	return 0;
}

int kwatch_dec_finish(struct kwatch_dec *d)
{
	int ret = 0;

	if (d->line.len)
		ret = dec_line(d, d->line.p, d->line.len);
	kbuf_free(&d->line);
	return ret;
}
