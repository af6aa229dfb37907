// SPDX-License-Identifier: MIT
/*
 * tests/k8s/t_k8s_watch.c - the watch stream decoder (k8s/watch.c) on
 * streams in the API server's format (data/watch/): whole, cut at every
 * byte, and cut into random small pieces, the events are the same; bookmarks
 * and ERROR events with their Status; CRLF, blank lines, a last line without
 * its newline; a line that is not an event; a line over the limit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/k8s_int.h"
#include "t_helpers.h"

/* events as text: "TYPE ns/name rv;" (ERROR: "ERROR code;", a bad line: "BAD;") */
struct digest {
	struct kbuf b;
	int stop_after; /* return 1 from the Nth event (0: never) */
	int n;
};

static const char *dash(const char *s)
{
	return s ? s : "-";
}

static int on_event(void *arg, enum kwatch_type t, cJSON *obj)
{
	static const char *names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};
	struct digest *d = arg;
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");

	d->n++;
	if (!obj)
		kbuf_puts(&d->b, "BAD;");
	else if (t == KW_ERROR)
		kbuf_printf(&d->b, "ERROR %g;",
			    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(obj, "code")));
	else
		kbuf_printf(&d->b, "%s %s/%s %s;", names[t], dash(kjson_str(md, "namespace")),
			    dash(kjson_str(md, "name")), dash(kjson_str(md, "resourceVersion")));
	cJSON_Delete(obj);
	return d->stop_after && d->n == d->stop_after ? 1 : 0;
}

static char *read_data(const char *name, size_t *len)
{
	char path[512], *buf;

	snprintf(path, sizeof(path), "%s/data/watch/%s",
		 getenv("K8S_TESTDIR") ? getenv("K8S_TESTDIR") : ".", name);
	if (kfile_read(path, 1 << 20, &buf, len))
		t_error("cannot read %s", path);
	return buf;
}

/* decode @buf cut at the offsets @cuts (ascending, @n of them) */
static char *decode(const char *buf, size_t len, const size_t *cuts, size_t n, int *ret)
{
	struct digest d = {0};
	struct kwatch_dec dec;
	size_t from = 0;

	kwatch_dec_init(&dec, on_event, &d);
	*ret = 0;
	for (size_t i = 0; i <= n && !*ret; i++) {
		size_t to = i < n ? cuts[i] : len;

		*ret = kwatch_dec_feed(&dec, buf + from, to - from);
		from = to;
	}
	if (!*ret)
		*ret = kwatch_dec_finish(&dec);
	kwatch_dec_fini(&dec);
	kbuf_puts(&d.b, "");
	return kbuf_take(&d.b);
}

static void check_splits(const char *name, const char *want)
{
	size_t len, cuts[64];
	char *buf = read_data(name, &len), *got;
	int ret;

	got = decode(buf, len, NULL, 0, &ret);
	T_ASSERT(!ret && !strcmp(got, want), "%s whole: %s", name, got);
	free(got);
	/* one cut at every byte */
	for (size_t at = 0; at <= len; at++) {
		got = decode(buf, len, &at, 1, &ret);
		T_ASSERT(!ret && !strcmp(got, want), "%s cut at %zu: %s", name, at, got);
		free(got);
	}
	/* many small pieces (a reader whose reads return 1..17 bytes) */
	t_fill_random(cuts, sizeof(cuts), len);
	for (int round = 0; round < 200; round++) {
		size_t n = 0, at = 0;
		uint64_t r = (uint64_t)round * 2654435761u + 12345;

		while (n < 64) {
			r = r * 6364136223846793005ull + 1442695040888963407ull;
			at += 1 + (size_t)((r >> 33) % 17);
			if (at >= len)
				break;
			cuts[n++] = at;
		}
		got = decode(buf, len, cuts, n, &ret);
		T_ASSERT(!ret && !strcmp(got, want), "%s round %d: %s", name, round, got);
		free(got);
	}
	free(buf);
}

static void test_limits(void)
{
	struct digest d = {0};
	struct kwatch_dec dec;
	char *big = malloc(5000);
	size_t len;
	char *buf = read_data("pods.jsonl", &len);

	/* a line over the limit is refused whether it came in one piece or many */
	memset(big, 'x', 5000);
	kwatch_dec_init(&dec, on_event, &d);
	dec.max_line = 4096;
	T_ASSERT_EQ(kwatch_dec_feed(&dec, big, 5000), -E2BIG);
	kwatch_dec_fini(&dec);
	kwatch_dec_init(&dec, on_event, &d);
	dec.max_line = 4096;
	T_ASSERT_EQ(kwatch_dec_feed(&dec, big, 3000), 0);
	T_ASSERT_EQ(kwatch_dec_feed(&dec, big, 2000), -E2BIG);
	kwatch_dec_fini(&dec);
	free(big);
	/* a consumer that stops: the stream stops at that event */
	kbuf_free(&d.b);
	d.n = 0;
	d.stop_after = 2;
	kwatch_dec_init(&dec, on_event, &d);
	T_ASSERT_EQ(kwatch_dec_feed(&dec, buf, len), 1);
	kwatch_dec_fini(&dec);
	T_ASSERT_EQ(d.n, 2);
	kbuf_free(&d.b);
	free(buf);
}

int main(void)
{
	check_splits("pods.jsonl", "ADDED shop/web-0 101;MODIFIED shop/web-0 102;BOOKMARK -/- 150;"
				   "ADDED shop/db-0 151;DELETED shop/web-0 160;ERROR 410;");
	check_splits("crlf-unterminated.jsonl", "ADDED n/a 7;MODIFIED n/a 8;DELETED n/a 9;");
	check_splits("bad-line.jsonl", "ADDED n/a 7;BAD;BAD;BAD;ADDED n/b 8;");
	test_limits();
	printf("t_k8s_watch: ok\n");
	return 0;
}
