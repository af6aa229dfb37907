// SPDX-License-Identifier: MIT
/*
 * s3/xml.c - a strict, bounded XML reader for S3 responses, the reader of
 * listing pages on top of it, and the writer of request bodies.
 *
 * One pass, no recursion. Decoded text never grows past the raw input, so one
 * buffer of @len + 1 bytes holds the text of every open element at once: a
 * child's text is dropped from it when the child ends, leaving the parent's.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xml.h"

struct xml_parser {
	const char *p, *end;
	char path[S3_XML_PATH_MAX + 1];
	size_t pathlen;
	size_t name_off[S3_XML_DEPTH]; /* where each open element's name starts in path */
	size_t text_off[S3_XML_DEPTH]; /* where each open element's text starts in text */
	int depth;
	bool root_done;
	char *text;
	size_t textlen;
	s3_xml_fn fn;
	void *arg;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_name_char(char c)
{
	unsigned char u = (unsigned char)c;

	return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
	       u == '_' || u == '-' || u == '.' || u == ':' || u >= 0x80;
}

static bool starts(const struct xml_parser *x, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(x->end - x->p) >= n && !memcmp(x->p, s, n);
}

/* Advance past the first @s after the cursor; -EBADMSG if there is none. */
static int skip_past(struct xml_parser *x, const char *s)
{
	size_t n = strlen(s);

	while ((size_t)(x->end - x->p) >= n) {
		if (!memcmp(x->p, s, n)) {
			x->p += n;
			return 0;
		}
		x->p++;
	}
	return -EBADMSG;
}

static void text_add(struct xml_parser *x, const char *s, size_t n)
{
	memcpy(x->text + x->textlen, s, n);
	x->textlen += n;
}

/* UTF-8 of code point @cp into the text; -EBADMSG for one XML forbids. */
static int text_add_cp(struct xml_parser *x, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || cp == 0xfffe ||
	    cp == 0xffff || (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r'))
		return -EBADMSG;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	/* "&#1;" is never shorter than its UTF-8: the buffer cannot overflow */
	text_add(x, u, n);
	return 0;
}

/* An entity or character reference at the cursor ('&'). */
static int parse_ref(struct xml_parser *x)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''}};
	unsigned long cp = 0;
	int base = 10, digits = 0;

	x->p++;
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		if (starts(x, named[i].name)) {
			x->p += strlen(named[i].name);
			text_add(x, &named[i].c, 1);
			return 0;
		}
	}
	if (x->p >= x->end || *x->p != '#')
		return -EBADMSG;
	x->p++;
	if (x->p < x->end && *x->p == 'x') {
		base = 16;
		x->p++;
	}
	for (; x->p < x->end && *x->p != ';'; x->p++, digits++) {
		char c = *x->p;
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -EBADMSG;
		if (digits >= 8)
			return -EBADMSG;
		cp = cp * (unsigned long)base + (unsigned long)d;
	}
	if (x->p >= x->end || !digits)
		return -EBADMSG;
	x->p++;
	return text_add_cp(x, cp);
}

/* Character data up to the next '<'. */
static int parse_text(struct xml_parser *x)
{
	while (x->p < x->end && *x->p != '<') {
		char c = *x->p;

		if (x->depth == 0) {
			/* outside the root only blanks */
			if (!is_space(c))
				return -EBADMSG;
			x->p++;
			continue;
		}
		if (c == '&') {
			int ret = parse_ref(x);

			if (ret)
				return ret;
			continue;
		}
		if (c == '\0')
			return -EBADMSG;
		text_add(x, &c, 1);
		x->p++;
	}
	return 0;
}

/* A name at the cursor: its start and length in *@s, *@n. */
static int parse_name(struct xml_parser *x, const char **s, size_t *n)
{
	const char *start = x->p;

	while (x->p < x->end && is_name_char(*x->p))
		x->p++;
	*s = start;
	*n = (size_t)(x->p - start);
	if (!*n || start[0] == '-' || start[0] == '.' || (start[0] >= '0' && start[0] <= '9'))
		return -EBADMSG;
	return 0;
}

/* The local part of a qualified name: after the last ':'. */
static void local_name(const char **s, size_t *n)
{
	for (size_t i = *n; i > 0; i--) {
		if ((*s)[i - 1] == ':') {
			*s += i;
			*n -= i;
			return;
		}
	}
}

static void skip_space(struct xml_parser *x)
{
	while (x->p < x->end && is_space(*x->p))
		x->p++;
}

/* The innermost open element ends: report it with its own text, then pop it. */
static int element_end(struct xml_parser *x)
{
	int d = x->depth - 1, ret;

	x->text[x->textlen] = '\0';
	ret = x->fn(x->arg, x->path, x->text + x->text_off[d], x->textlen - x->text_off[d]);
	x->textlen = x->text_off[d];
	x->depth--;
	x->pathlen = x->name_off[d];
	x->path[x->pathlen] = '\0';
	if (!x->depth)
		x->root_done = true;
	return ret;
}

static int parse_start_tag(struct xml_parser *x)
{
	const char *name, *lname;
	size_t n, ln;
	bool empty = false;
	int ret;

	x->p++; /* '<' */
	ret = parse_name(x, &name, &n);
	if (ret)
		return ret;
	if (x->root_done || x->depth >= S3_XML_DEPTH)
		return -EBADMSG;
	/* attributes: name = "value" | 'value', values skipped */
	for (;;) {
		const char *an;
		size_t alen;
		char q;

		if (x->p < x->end && !is_space(*x->p) && *x->p != '>' && *x->p != '/')
			return -EBADMSG;
		skip_space(x);
		if (x->p >= x->end)
			return -EBADMSG;
		if (*x->p == '>') {
			x->p++;
			break;
		}
		if (*x->p == '/') {
			x->p++;
			if (x->p >= x->end || *x->p != '>')
				return -EBADMSG;
			x->p++;
			empty = true;
			break;
		}
		ret = parse_name(x, &an, &alen);
		if (ret)
			return ret;
		skip_space(x);
		if (x->p >= x->end || *x->p != '=')
			return -EBADMSG;
		x->p++;
		skip_space(x);
		if (x->p >= x->end || (*x->p != '"' && *x->p != '\''))
			return -EBADMSG;
		q = *x->p++;
		while (x->p < x->end && *x->p != q) {
			if (*x->p == '<')
				return -EBADMSG;
			x->p++;
		}
		if (x->p >= x->end)
			return -EBADMSG;
		x->p++;
	}
	lname = name;
	ln = n;
	local_name(&lname, &ln);
	if (!ln)
		return -EBADMSG;
	/* push: path gets "/name" (no slash for the root) */
	if (x->pathlen + ln + 1 > S3_XML_PATH_MAX)
		return -EBADMSG;
	x->name_off[x->depth] = x->pathlen;
	x->text_off[x->depth] = x->textlen;
	if (x->depth)
		x->path[x->pathlen++] = '/';
	memcpy(x->path + x->pathlen, lname, ln);
	x->pathlen += ln;
	x->path[x->pathlen] = '\0';
	x->depth++;
	if (empty)
		return element_end(x); /* as <name></name> */
	return 0;
}

static int parse_end_tag(struct xml_parser *x)
{
	const char *name;
	size_t n, off;
	int d, ret;

	x->p += 2; /* "</" */
	ret = parse_name(x, &name, &n);
	if (ret)
		return ret;
	skip_space(x);
	if (x->p >= x->end || *x->p != '>' || x->depth == 0)
		return -EBADMSG;
	x->p++;
	local_name(&name, &n);
	d = x->depth - 1;
	off = x->name_off[d] + (d ? 1 : 0);
	if (x->pathlen - off != n || memcmp(x->path + off, name, n))
		return -EBADMSG;
	return element_end(x);
}

int s3_xml_parse(const char *doc, size_t len, s3_xml_fn fn, void *arg)
{
	struct xml_parser x = {.p = doc, .end = doc + len, .fn = fn, .arg = arg};
	int ret = 0;

	x.text = malloc(len + 1);
	if (!x.text)
		return -ENOMEM;
	x.text[0] = '\0';
	if (len >= 3 && !memcmp(doc, "\xef\xbb\xbf", 3))
		x.p += 3;
	while (x.p < x.end) {
		if (*x.p != '<') {
			ret = parse_text(&x);
		} else if (starts(&x, "<?")) {
			ret = skip_past(&x, "?>");
		} else if (starts(&x, "<!--")) {
			x.p += 4;
			ret = skip_past(&x, "-->");
		} else if (starts(&x, "<![CDATA[")) {
			const char *s = x.p + 9;

			if (!x.depth) {
				ret = -EBADMSG;
			} else {
				x.p = s;
				ret = skip_past(&x, "]]>");
				if (!ret && memchr(s, '\0', (size_t)(x.p - 3 - s)))
					ret = -EBADMSG;
				if (!ret)
					text_add(&x, s, (size_t)(x.p - 3 - s));
			}
		} else if (starts(&x, "<!")) {
			ret = -EBADMSG; /* DOCTYPE and the like */
		} else if (starts(&x, "</")) {
			ret = parse_end_tag(&x);
		} else {
			ret = parse_start_tag(&x);
		}
		if (ret)
			goto out;
	}
	if (x.depth || !x.root_done)
		ret = -EBADMSG;
out:
	free(x.text);
	return ret;
}

/* ------------------------------------------------------------ S3 errors */

static void copy_field(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static int err_cb(void *arg, const char *path, const char *text, size_t len)
{
	struct s3_xml_err *e = arg;
	static const struct {
		const char *path;
		size_t off, cap;
	} f[] = {
		{"Error/Code", offsetof(struct s3_xml_err, code), sizeof(e->code)},
		{"Error/Message", offsetof(struct s3_xml_err, message), sizeof(e->message)},
		{"Error/RequestId", offsetof(struct s3_xml_err, request_id), sizeof(e->request_id)},
		{"Error/ServerTime", offsetof(struct s3_xml_err, server_time),
		 sizeof(e->server_time)},
		{"Error/RequestTime", offsetof(struct s3_xml_err, request_time),
		 sizeof(e->request_time)},
		{"Error/Region", offsetof(struct s3_xml_err, region), sizeof(e->region)},
		{"Error/Endpoint", offsetof(struct s3_xml_err, endpoint), sizeof(e->endpoint)},
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (!strcmp(path, f[i].path))
			copy_field((char *)e + f[i].off, f[i].cap, text, len);
	return 0;
}

int s3_xml_error(const char *doc, size_t len, struct s3_xml_err *e)
{
	memset(e, 0, sizeof(*e));
	if (s3_xml_parse(doc, len, err_cb, e)) {
		memset(e, 0, sizeof(*e));
		return 0;
	}
	/* the root is <Error> exactly when an "Error/..." child or "Error" ended last */
	return e->code[0] != '\0';
}

int s3_xml_u64(const char *s, uint64_t *v)
{
	uint64_t n = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*v = n;
	return 0;
}

static int num(const char **s, int digits, int *out)
{
	int v = 0;

	for (int i = 0; i < digits; i++) {
		char c = (*s)[i];

		if (c < '0' || c > '9')
			return -EINVAL;
		v = v * 10 + (c - '0');
	}
	*s += digits;
	*out = v;
	return 0;
}

int s3_xml_time(const char *s, int64_t *t)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, se;

	if (num(&s, 4, &y) || *s++ != '-' || num(&s, 2, &mo) || *s++ != '-' || num(&s, 2, &d) ||
	    *s++ != 'T' || num(&s, 2, &h) || *s++ != ':' || num(&s, 2, &mi) || *s++ != ':' ||
	    num(&s, 2, &se))
		return -EINVAL;
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'Z')
		s++;
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*t = (int64_t)timegm(&tm);
	return 0;
}

/* ------------------------------------------------------------ listing pages */

#define PAGE_MAX_ENTRIES 100000

static void entry_clear(struct s3_xml_entry *e)
{
	for (size_t i = 0; i < S3_PAGE_FIELDS; i++)
		free(e->f[i]);
	memset(e, 0, sizeof(*e));
}

/* index of @name (@n bytes) in the NULL-terminated @names, or -1 */
static int name_index(const char *const *names, const char *name, size_t n)
{
	for (int i = 0; names[i]; i++)
		if (strlen(names[i]) == n && !memcmp(names[i], name, n))
			return i;
	return -1;
}

static int set_text(char **slot, const char *text, size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		return -ENOMEM;
	memcpy(s, text, len);
	s[len] = '\0';
	free(*slot);
	*slot = s;
	return 0;
}

static int page_cb(void *arg, const char *path, const char *text, size_t len)
{
	struct s3_xml_page *pg = arg;
	const struct s3_xml_page_spec *sp = pg->spec;
	size_t rl = strlen(sp->root);
	const char *rest, *slash;
	int i;

	if (strncmp(path, sp->root, rl) || (path[rl] != '/' && path[rl] != '\0'))
		return -EBADMSG; /* another root */
	if (!path[rl]) {
		pg->root_seen = true;
		return 0;
	}
	rest = path + rl + 1;
	slash = strchr(rest, '/');
	if (!slash) {
		/* a child of the root: an entry ends, or a page value */
		i = name_index(sp->entry, rest, strlen(rest));
		if (i >= 0) {
			int ret = s3_grow(&pg->e, &pg->cap, pg->n + 1, sizeof(*pg->e),
					  PAGE_MAX_ENTRIES);

			if (ret)
				return ret == -EOVERFLOW ? -E2BIG : ret;
			pg->cur.kind = (unsigned int)i;
			pg->e[pg->n++] = pg->cur;
			memset(&pg->cur, 0, sizeof(pg->cur));
			return 0;
		}
		i = name_index(sp->top, rest, strlen(rest));
		return i >= 0 ? set_text(&pg->top[i], text, len) : 0;
	}
	/* a field: exactly entry/field (deeper elements, like Owner/ID, are skipped) */
	if (name_index(sp->entry, rest, (size_t)(slash - rest)) < 0 || strchr(slash + 1, '/'))
		return 0;
	i = name_index(sp->field, slash + 1, strlen(slash + 1));
	return i >= 0 ? set_text(&pg->cur.f[i], text, len) : 0;
}

int s3_xml_page_parse(const char *doc, size_t len, const struct s3_xml_page_spec *spec,
		      struct s3_xml_page *pg)
{
	int ret;

	pg->spec = spec;
	pg->root_seen = false;
	ret = s3_xml_parse(doc, len, page_cb, pg);
	/* fields of an entry that never closed belong to no entry */
	entry_clear(&pg->cur);
	if (!ret && !pg->root_seen)
		ret = -EBADMSG;
	return ret;
}

void s3_xml_page_fini(struct s3_xml_page *pg)
{
	if (!pg)
		return;
	for (size_t i = 0; i < pg->n; i++)
		entry_clear(&pg->e[i]);
	for (size_t i = 0; i < S3_PAGE_TOP; i++)
		free(pg->top[i]);
	entry_clear(&pg->cur);
	free(pg->e);
	memset(pg, 0, sizeof(*pg));
}

/* ------------------------------------------------------------ writing */

void s3_xml_begin(struct s3_sbuf *b, const char *root)
{
	s3_sb_printf(b, "<%s xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">", root);
}

void s3_xml_open(struct s3_sbuf *b, const char *name)
{
	s3_sb_printf(b, "<%s>", name);
}

void s3_xml_close(struct s3_sbuf *b, const char *name)
{
	s3_sb_printf(b, "</%s>", name);
}

void s3_xml_escape(struct s3_sbuf *b, const char *text)
{
	static const struct {
		char c;
		const char *entity;
	} esc[] = {{'<', "&lt;"}, {'>', "&gt;"}, {'&', "&amp;"}, {'"', "&quot;"}, {'\'', "&apos;"}};

	while (*text) {
		size_t n = strcspn(text, "<>&\"'");

		s3_sb_add(b, text, n);
		text += n;
		if (!*text)
			break;
		for (size_t i = 0; i < sizeof(esc) / sizeof(esc[0]); i++)
			if (*text == esc[i].c)
				s3_sb_puts(b, esc[i].entity);
		text++;
	}
}

void s3_xml_element(struct s3_sbuf *b, const char *name, const char *text)
{
	s3_xml_open(b, name);
	s3_xml_escape(b, text);
	s3_xml_close(b, name);
}
