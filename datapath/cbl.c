// SPDX-License-Identifier: MIT
/*
 * datapath/cbl.c - changed-block lists (FORMAT.md "Changed-block lists"):
 * parsing the text form (the JSON form is parsed in dp_json.c, with the rest
 * of the datapath's JSON), formatting both, and keeping the ranges sorted and
 * merged so a backup can walk them in volume order.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dp_json.h"

#define CBL_HEADER   "# ferry changed-blocks v1"
#define CBL_FILE_MAX (1ull << 30)

void dp_cbl_fini(struct dp_cbl *l)
{
	free(l->ranges);
	memset(l, 0, sizeof(*l));
}

int dp_cbl_add(struct dp_cbl *l, uint64_t off, uint64_t len)
{
	if (!len)
		return 0;
	if (off + len < off)
		return dp_fail(-EINVAL, "range %llu+%llu overflows", (unsigned long long)off,
			       (unsigned long long)len);
	if (l->n == l->cap) {
		void *p = dp_grow(l->ranges, &l->cap, l->n + 1, sizeof(*l->ranges));

		if (!p)
			return -ENOMEM;
		l->ranges = p;
	}
	l->ranges[l->n].off = off;
	l->ranges[l->n].len = len;
	l->n++;
	return 0;
}

static int cbl_cmp(const void *a, const void *b)
{
	const struct dp_range *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

void dp_cbl_normalize(struct dp_cbl *l)
{
	size_t w = 0;

	if (l->n < 2)
		return;
	qsort(l->ranges, l->n, sizeof(*l->ranges), cbl_cmp);
	for (size_t i = 1; i < l->n; i++) {
		struct dp_range *last = &l->ranges[w], *r = &l->ranges[i];

		if (r->off <= last->off + last->len) {
			if (r->off + r->len > last->off + last->len)
				last->len = r->off + r->len - last->off;
		} else {
			l->ranges[++w] = *r;
		}
	}
	l->n = w + 1;
}

static int cbl_add_range(void *arg, uint64_t off, uint64_t len)
{
	return dp_cbl_add(arg, off, len);
}

static int cbl_u64(const char *s, const char **end, uint64_t *out)
{
	char *e;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &e, 10);
	if (errno)
		return -EINVAL;
	*end = e;
	return 0;
}

static int cbl_parse_text(const char *buf, size_t len, struct dp_cbl *l)
{
	const char *p = buf, *end = buf + len;
	unsigned long line = 0;
	uint64_t ranges = 0;
	bool ended = false;
	int ret;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *q;
		size_t n;
		uint64_t a, b;

		if (!eol)
			eol = end;
		n = (size_t)(eol - p);
		if (n && p[n - 1] == '\r')
			n--;
		line++;
		if (ended && n && p[0] != '#') {
			return dp_fail(-EINVAL, "line %lu: nothing may follow the 'end' line",
				       line);
		} else if (line == 1) {
			if (n != strlen(CBL_HEADER) || memcmp(p, CBL_HEADER, n))
				return dp_fail(
					-EINVAL,
					"not a changed-block list: the first line must be '%s'",
					CBL_HEADER);
		} else if (n == 0 || p[0] == '#') {
			/* blank or comment */
		} else if (n > 7 && !memcmp(p, "parent ", 7)) {
			uint8_t bin[DP_ID_LEN];

			if (n != 7 + 64 || l->parent[0])
				return dp_fail(
					-EINVAL,
					"line %lu: 'parent' takes one 64-digit snapshot id, once",
					line);
			memcpy(l->parent, p + 7, 64);
			l->parent[64] = '\0';
			if (dp_unhex(l->parent, bin, DP_ID_LEN))
				return dp_fail(-EINVAL, "line %lu: '%s' is not a snapshot id", line,
					       l->parent);
			dp_hex(bin, DP_ID_LEN, l->parent);
		} else if (n > 4 && !memcmp(p, "end ", 4)) {
			if (cbl_u64(p + 4, &q, &a) || q != p + n)
				return dp_fail(-EINVAL,
					       "line %lu: 'end' takes the number of ranges", line);
			if (a != ranges)
				return dp_fail(
					-EINVAL,
					"the list ends after %llu ranges but says %llu: it is incomplete",
					(unsigned long long)ranges, (unsigned long long)a);
			ended = true;
		} else if (n > 5 && !memcmp(p, "size ", 5)) {
			if (cbl_u64(p + 5, &q, &a) || q != p + n)
				return dp_fail(-EINVAL, "line %lu: 'size' takes a byte count",
					       line);
			l->size = a;
		} else {
			if (cbl_u64(p, &q, &a) || *q != ' ' || cbl_u64(q + 1, &q, &b) || q != p + n)
				return dp_fail(
					-EINVAL,
					"line %lu: expected 'OFFSET LENGTH' in bytes: '%.*s'", line,
					(int)(n > 80 ? 80 : n), p);
			ret = dp_cbl_add(l, a, b);
			if (ret)
				return ret == -EINVAL
					       ? dp_fail(ret, "line %lu: %s", line, dp_last_error())
					       : ret;
			ranges++;
		}
		p = eol + 1;
	}
	if (!line)
		return dp_fail(-EINVAL, "the changed-block list is empty");
	/* without its last line a list cut short would look whole */
	if (!ended)
		return dp_fail(-EINVAL,
			       "the changed-block list has no 'end' line: it is incomplete");
	return 0;
}

int dp_cbl_parse(const char *buf, size_t len, struct dp_cbl *out)
{
	int ret;

	dp_clear_error();
	memset(out, 0, sizeof(*out));
	while (len && (*buf == ' ' || *buf == '\t' || *buf == '\n'))
		buf++, len--;
	if (len && *buf == '{')
		ret = dp_cbl_decode_json(buf, len, out->parent, &out->size, cbl_add_range, out);
	else
		ret = cbl_parse_text(buf, len, out);
	if (!ret && !out->parent[0])
		ret = dp_fail(
			-EINVAL,
			"the changed-block list names no parent snapshot: it cannot be trusted");
	for (size_t i = 0; !ret && out->size && i < out->n; i++)
		if (out->ranges[i].off + out->ranges[i].len > out->size)
			ret = dp_fail(-EINVAL,
				      "range %llu+%llu lies beyond the volume's %llu bytes",
				      (unsigned long long)out->ranges[i].off,
				      (unsigned long long)out->ranges[i].len,
				      (unsigned long long)out->size);
	if (!ret)
		dp_cbl_normalize(out);
	return ret;
}

int dp_cbl_read_file(const char *path, struct dp_cbl *out)
{
	struct stat sb;
	char *buf = NULL;
	size_t got = 0;
	int fd, ret;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dp_fail(-errno, "changed-block list %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > CBL_FILE_MAX) {
		ret = dp_fail(-EINVAL,
			      "changed-block list %s is not a regular file of at most 1 GiB", path);
		goto out;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = dp_fail(n < 0 ? -errno : -EIO, "reading %s: %s", path,
				      n < 0 ? strerror(errno) : "short read");
			goto out;
		}
		got += (size_t)n;
	}
	ret = dp_cbl_parse(buf, got, out);
	if (ret && ret != -ENOMEM) {
		char detail[512];

		snprintf(detail, sizeof(detail), "%s", dp_last_error());
		dp_fail(ret, "%s: %s", path, detail);
	}
out:
	free(buf);
	close(fd);
	return ret;
}

int dp_cbl_format(const struct dp_cbl *l, bool json, char **out, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f;

	*out = NULL;
	if (!l->parent[0])
		return dp_fail(-EINVAL, "a changed-block list must name its parent snapshot");
	if (json)
		return dp_cbl_encode_json(l, out, len);
	f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	fprintf(f, CBL_HEADER "\nparent %s\n", l->parent);
	if (l->size)
		fprintf(f, "size %llu\n", (unsigned long long)l->size);
	for (size_t i = 0; i < l->n; i++)
		fprintf(f, "%llu %llu\n", (unsigned long long)l->ranges[i].off,
			(unsigned long long)l->ranges[i].len);
	fprintf(f, "end %zu\n", l->n);
	if (fclose(f) || !buf) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*len = size;
	return 0;
}
