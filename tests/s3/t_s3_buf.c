// SPDX-License-Identifier: MIT
/*
 * tests/s3/t_s3_buf.c - the growth helper and the string builder of s3/
 * (s3_buf.h), and the XML writer on them: arrays grow and keep their
 * contents, bounds and overflowing sizes are refused without touching the
 * array, a capped builder stops at its cap, and what the writer writes reads
 * back through the XML reader with the same text.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3/s3_buf.h"
#include "s3/xml.h"
#include "t_helpers.h"

static void grow(void)
{
	unsigned int *a = NULL, *before;
	size_t cap = 0;

	T_ASSERT_EQ(s3_grow(&a, &cap, 1, sizeof(*a), 0), 0);
	T_ASSERT(a && cap == 16, "first: 16 elements, not %zu", cap);
	for (unsigned int i = 0; i < 16; i++)
		a[i] = i;
	T_ASSERT_EQ(s3_grow(&a, &cap, 16, sizeof(*a), 0), 0);
	T_ASSERT_EQ(cap, 16);
	T_ASSERT_EQ(s3_grow(&a, &cap, 17, sizeof(*a), 0), 0);
	T_ASSERT_EQ(cap, 32);
	T_ASSERT_EQ(s3_grow(&a, &cap, 1000, sizeof(*a), 0), 0);
	T_ASSERT_EQ(cap, 1024);
	for (unsigned int i = 0; i < 16; i++)
		T_ASSERT_EQ(a[i], i);
	/* a bound: cut to it, never past it; asking past it changes nothing */
	T_ASSERT_EQ(s3_grow(&a, &cap, 1500, sizeof(*a), 1500), 0);
	T_ASSERT_EQ(cap, 1500);
	before = a;
	T_ASSERT_EQ(s3_grow(&a, &cap, 1501, sizeof(*a), 1500), -EOVERFLOW);
	T_ASSERT(a == before && cap == 1500, "untouched");
	/* more bytes than a size_t holds: refused before any allocation */
	T_ASSERT_EQ(s3_grow(&a, &cap, SIZE_MAX / 2, sizeof(*a), 0), -EOVERFLOW);
	T_ASSERT_EQ(s3_grow(&a, &cap, SIZE_MAX / sizeof(*a) + 1, sizeof(*a), 0), -EOVERFLOW);
	T_ASSERT(a == before && cap == 1500, "untouched");
	free(a);
	printf("ok: s3_grow: doubling from 16, bounds, overflow refused\n");
}

static void sbuf(void)
{
	struct s3_sbuf b = {0};
	char *s, big[1000];

	s = s3_sb_finish(&b);
	T_ASSERT(s && !strcmp(s, ""), "empty is \"\"");
	free(s);
	s3_sb_puts(&b, "abc");
	s3_sb_add(&b, "defgh", 2);
	s3_sb_printf(&b, "-%d-", 42);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s3_sb_printf(&b, "%s", big); /* longer than the builder's own small buffer */
	T_ASSERT_EQ(b.err, 0);
	T_ASSERT_EQ(b.len, 3 + 2 + 4 + 999);
	s = s3_sb_finish(&b);
	T_ASSERT(s && !strncmp(s, "abcde-42-xxx", 12) && strlen(s) == 1008, "%.20s", s);
	free(s);
	T_ASSERT(b.p == NULL && b.len == 0, "finish empties it");

	s3_sb_init(&b, 8);
	s3_sb_puts(&b, "12345678");
	T_ASSERT_EQ(b.err, 0);
	s3_sb_puts(&b, "9");
	T_ASSERT_EQ(b.err, -E2BIG);
	s3_sb_puts(&b, "");
	T_ASSERT_EQ(b.err, -E2BIG);
	T_ASSERT(s3_sb_finish(&b) == NULL, "a failed builder gives nothing");
	T_ASSERT_EQ(b.err, -E2BIG);
	s3_sb_free(&b);
	s3_sb_free(NULL);
	printf("ok: string builder: appends, printf, a cap\n");
}

struct seen {
	char key[64], vid[64];
	int n;
};

static int seen_cb(void *arg, const char *path, const char *text, size_t len)
{
	struct seen *s = arg;

	(void)len;
	if (!strcmp(path, "Delete/Object/Key"))
		snprintf(s->key, sizeof(s->key), "%s", text);
	else if (!strcmp(path, "Delete/Object/VersionId"))
		snprintf(s->vid, sizeof(s->vid), "%s", text);
	else if (!strcmp(path, "Delete/Object"))
		s->n++;
	return 0;
}

static void writer(void)
{
	const char *odd = "a<b>&c\"d'e ü/";
	struct s3_sbuf b = {0};
	struct seen seen = {.n = 0};
	char *doc;

	s3_xml_begin(&b, "Delete");
	s3_xml_element(&b, "Quiet", "false");
	s3_xml_open(&b, "Object");
	s3_xml_open(&b, "Key");
	s3_xml_escape(&b, "pre/");
	s3_xml_escape(&b, odd);
	s3_xml_close(&b, "Key");
	s3_xml_element(&b, "VersionId", "v&1");
	s3_xml_close(&b, "Object");
	s3_xml_close(&b, "Delete");
	doc = s3_sb_finish(&b);
	T_ASSERT(doc, "written");
	T_ASSERT(!strcmp(doc, "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			      "<Quiet>false</Quiet><Object><Key>pre/a&lt;b&gt;&amp;c&quot;d&apos;e "
			      "ü/</Key><VersionId>v&amp;1</VersionId></Object></Delete>"),
		 "%s", doc);
	T_ASSERT_EQ(s3_xml_parse(doc, strlen(doc), seen_cb, &seen), 0);
	T_ASSERT(seen.n == 1 && !strncmp(seen.key, "pre/", 4) && !strcmp(seen.key + 4, odd) &&
			 !strcmp(seen.vid, "v&1"),
		 "read back: %s %s", seen.key, seen.vid);
	free(doc);
	printf("ok: the XML writer escapes, and the reader reads it back\n");
}

int main(void)
{
	grow();
	sbuf();
	writer();
	printf("PASS: t_s3_buf\n");
	return 0;
}
