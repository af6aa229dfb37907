// SPDX-License-Identifier: MIT
/*
 * tests/s3/t_xml.c - the S3 XML reader on good, malformed, truncated and
 * hostile documents (run it under ASan to catch any read past the buffer:
 * every document is copied into a buffer of exactly its length); the
 * listing-page reader on top of it the same way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3/xml.h"
#include "t_helpers.h"

struct seen {
	char log[8192];
	size_t len;
	int calls;
};

static int record(void *arg, const char *path, const char *text, size_t len)
{
	struct seen *s = arg;
	int n = snprintf(s->log + s->len, sizeof(s->log) - s->len, "%s=%.*s;", path, (int)len,
			 text);

	T_ASSERT(strlen(text) == len, "text length");
	if (n > 0 && (size_t)n < sizeof(s->log) - s->len)
		s->len += (size_t)n;
	s->calls++;
	return 0;
}

/* parse @doc from an exact-size heap copy */
static int parse(const char *doc, size_t len, struct seen *s)
{
	char *b = malloc(len ? len : 1);
	int ret;

	memcpy(b, doc, len);
	memset(s, 0, sizeof(*s));
	ret = s3_xml_parse(b, len, record, s);
	free(b);
	return ret;
}

static const char list_doc[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>"
	"<NextContinuationToken>1/a+b=</NextContinuationToken>"
	"<Contents><Key>p/a &amp; b &lt;&gt;&quot;&apos;&#233;&#x1F600;</Key>"
	"<LastModified>2024-05-01T12:00:00.000Z</LastModified><Size>12</Size></Contents>"
	"<!-- a comment <Key>no</Key> -->"
	"<Contents><Key><![CDATA[p/<raw>&amp;]]></Key><Size>0</Size></Contents>"
	"</ListBucketResult>\n";

static void good_docs(void)
{
	struct seen s;
	struct s3_xml_err e;
	int64_t t;
	uint64_t v;
	static const char err_doc[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>RequestTimeTooSkewed</Code>"
		"<Message></Message><RequestId>tx1</RequestId>"
		"<ServerTime>2024-05-01T12:00:00Z</ServerTime></Error>";
	static const char ns_doc[] =
		"<s3:A xmlns:s3=\"u\"><s3:B a='1' b = \"x>y\">t</s3:B><C/></s3:A>";

	T_ASSERT_EQ(parse(list_doc, strlen(list_doc), &s), 0);
	T_ASSERT(strstr(s.log,
			"ListBucketResult/Contents/Key=p/a & b <>\"'\xc3\xa9\xf0\x9f\x98\x80;"),
		 "%s", s.log);
	T_ASSERT(strstr(s.log, "ListBucketResult/Contents/Key=p/<raw>&amp;;"), "%s", s.log);
	T_ASSERT(strstr(s.log, "ListBucketResult/NextContinuationToken=1/a+b=;"), "%s", s.log);
	T_ASSERT(!strstr(s.log, "=no;"), "comment content leaked: %s", s.log);
	T_ASSERT(strstr(s.log, "ListBucketResult/Contents=;"), "%s", s.log);

	T_ASSERT_EQ(parse(ns_doc, strlen(ns_doc), &s), 0);
	T_ASSERT(!strcmp(s.log, "A/B=t;A/C=;A=;"), "%s", s.log);

	T_ASSERT_EQ(s3_xml_error(err_doc, strlen(err_doc), &e), 1);
	T_ASSERT(!strcmp(e.code, "RequestTimeTooSkewed") && !strcmp(e.request_id, "tx1") &&
			 !strcmp(e.server_time, "2024-05-01T12:00:00Z"),
		 "error fields");
	T_ASSERT_EQ(s3_xml_error(list_doc, strlen(list_doc), &e), 0);
	T_ASSERT_EQ(s3_xml_error("not xml", 7, &e), 0);
	T_ASSERT_EQ(s3_xml_error("", 0, &e), 0);

	T_ASSERT_EQ(s3_xml_time("2024-05-01T12:00:00.000Z", &t), 0);
	T_ASSERT_EQ(t, 1714564800);
	T_ASSERT_EQ(s3_xml_time("1970-01-01T00:00:00Z", &t), 0);
	T_ASSERT_EQ(t, 0);
	T_ASSERT_EQ(s3_xml_time("2024-13-01T00:00:00Z", &t), -EINVAL);
	T_ASSERT_EQ(s3_xml_time("2024-05-01", &t), -EINVAL);
	T_ASSERT_EQ(s3_xml_time("", &t), -EINVAL);
	T_ASSERT_EQ(s3_xml_u64("18446744073709551615", &v), 0);
	T_ASSERT(v == UINT64_MAX, "u64 max");
	T_ASSERT_EQ(s3_xml_u64("18446744073709551616", &v), -EINVAL);
	T_ASSERT_EQ(s3_xml_u64("12a", &v), -EINVAL);
	T_ASSERT_EQ(s3_xml_u64("", &v), -EINVAL);
	T_ASSERT_EQ(s3_xml_u64("-1", &v), -EINVAL);
}

#define DOC(s)                                                                                     \
	{                                                                                          \
		s, sizeof(s) - 1                                                                   \
	}

static void bad_docs(void)
{
	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
		DOC(""),
		DOC("   "),
		DOC("text"),
		DOC("<a>"),
		DOC("<a></b>"),
		DOC("<a><b></a></b>"),
		DOC("<a></a><b></b>"),
		DOC("<a></a>trailing"),
		DOC("lead<a></a>"),
		DOC("<a>&unknown;</a>"),
		DOC("<a>&amp</a>"),
		DOC("<a>&#0;</a>"),
		DOC("<a>&#xD800;</a>"),
		DOC("<a>&#x110000;</a>"),
		DOC("<a>&#99999999999;</a>"),
		DOC("<a>&#;</a>"),
		DOC("<a>&#x;</a>"),
		DOC("<a>&#12a;</a>"),
		DOC("<a>&#1;</a>"),
		DOC("<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><a>&lol2;</a>"),
		DOC("<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a></a>"),
		DOC("<a><!-- unterminated </a>"),
		DOC("<a><![CDATA[ unterminated </a>"),
		DOC("<?xml unterminated <a></a>"),
		DOC("<a b></a>"),
		DOC("<a b=></a>"),
		DOC("<a b=\"1></a>"),
		DOC("<a b=\"<\"></a>"),
		DOC("<a b=\"1\"c=\"2\"></a>"),
		DOC("< a></a>"),
		DOC("<1a></1a>"),
		DOC("<a></ a>"),
		DOC("<a/ >"),
		DOC("<a:></a:>"),
		DOC("</a>"),
		DOC("<a>\0</a>"),
		DOC("<a><![CDATA[\0]]></a>"),
		DOC("<![CDATA[x]]><a></a>"),
		DOC("<a><b>"),
		DOC("<a x='1' x></a>"),
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct seen s;

		if (parse(bad[i].s, bad[i].len, &s) != -EBADMSG)
			t_fail("bad document %zu accepted: %s", i, bad[i].s);
	}
}

/* every strict prefix of a good document is malformed, and reading it is safe */
static void truncations(void)
{
	size_t len = strlen(list_doc), end = len;
	struct seen s;

	while (end && (list_doc[end - 1] == '\n' || list_doc[end - 1] == ' '))
		end--;
	for (size_t n = 0; n < end; n++)
		if (parse(list_doc, n, &s) != -EBADMSG)
			t_fail("truncation at %zu of %zu accepted", n, len);
	T_ASSERT_EQ(parse(list_doc, end, &s), 0);
}

static void hostile(void)
{
	size_t n = 200000;
	char *b = malloc(n * 4 + 64), *p = b;
	struct seen s;
	int ret;

	/* deep nesting */
	for (size_t i = 0; i < 10000; i++)
		p += snprintf(p, 1024, "<a>");
	T_ASSERT_EQ(parse(b, (size_t)(p - b), &s), -EBADMSG);
	/* exactly the depth limit is fine, one more is not */
	p = b;
	for (int i = 0; i < S3_XML_DEPTH; i++)
		p += snprintf(p, 1024, "<a>");
	for (int i = 0; i < S3_XML_DEPTH; i++)
		p += snprintf(p, 1024, "</a>");
	T_ASSERT_EQ(parse(b, (size_t)(p - b), &s), 0);
	p = b;
	for (int i = 0; i <= S3_XML_DEPTH; i++)
		p += snprintf(p, 1024, "<a>");
	for (int i = 0; i <= S3_XML_DEPTH; i++)
		p += snprintf(p, 1024, "</a>");
	T_ASSERT_EQ(parse(b, (size_t)(p - b), &s), -EBADMSG);
	/* a path longer than the limit */
	p = b;
	p += snprintf(p, 1024, "<%0600d>", 0);
	p[-601] = 'x';
	T_ASSERT_EQ(parse(b, (size_t)(p - b), &s), -EBADMSG);
	/* a huge text and a huge attribute are fine and bounded */
	p = b;
	p += snprintf(p, 1024, "<a x=\"");
	memset(p, 'v', n);
	p += n;
	p += snprintf(p, 1024, "\">");
	for (size_t i = 0; i < n / 5; i++)
		p += snprintf(p, 1024, "&amp;");
	p += snprintf(p, 1024, "</a>");
	T_ASSERT_EQ(parse(b, (size_t)(p - b), &s), 0);
	T_ASSERT_EQ(s.calls, 1);
	/* random bytes and random mutations of a good document never crash */
	{
		uint64_t x = 88172645463325252ull;
		size_t dl = strlen(list_doc);

		for (int round = 0; round < 20000; round++) {
			size_t len = dl;

			memcpy(b, list_doc, dl);
			for (int k = 0; k < 1 + round % 8; k++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				b[x % dl] = (char)(x >> 32);
			}
			if (round % 3 == 0)
				len = (size_t)(x >> 40) % dl;
			ret = parse(b, len, &s);
			T_ASSERT(ret == 0 || ret == -EBADMSG, "round %d: %d", round, ret);
		}
	}
	free(b);
}

/* ---------------------------------------------------------- listing pages */

static const struct s3_xml_page_spec versions_spec = {
	.root = "ListVersionsResult",
	.entry = {"Version", "DeleteMarker"},
	.field = {"Key", "VersionId", "IsLatest", "Size"},
	.top = {"IsTruncated", "NextKeyMarker", "NextVersionIdMarker"},
};

static const char versions_doc[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	"<ListVersionsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
	"<IsTruncated>true</IsTruncated><NextKeyMarker>p/k</NextKeyMarker>"
	"<NextVersionIdMarker>v&amp;2</NextVersionIdMarker>"
	"<DeleteMarker><Key>p/k</Key><VersionId>dm</VersionId><IsLatest>true</IsLatest>"
	"<Owner><ID>someone</ID></Owner></DeleteMarker>"
	"<Version><Key>p/k</Key><VersionId>v1</VersionId><VersionId>v2</VersionId>"
	"<IsLatest>false</IsLatest><Size>12</Size><Owner><Key>not-a-key</Key></Owner></Version>"
	"<Other><Key>ignored</Key></Other>"
	"</ListVersionsResult>";

/* parse @doc from an exact-size heap copy */
static int page(const char *doc, size_t len, struct s3_xml_page *pg)
{
	char *b = malloc(len ? len : 1);
	int ret;

	memcpy(b, doc, len);
	memset(pg, 0, sizeof(*pg));
	ret = s3_xml_page_parse(b, len, &versions_spec, pg);
	free(b);
	return ret;
}

static void pages(void)
{
	size_t dl = strlen(versions_doc);
	struct s3_xml_page pg;
	char *b = malloc(dl + 1);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int ret;

	T_ASSERT_EQ(page(versions_doc, dl, &pg), 0);
	T_ASSERT_EQ(pg.n, 2);
	T_ASSERT(pg.e[0].kind == 1 && !strcmp(pg.e[0].f[0], "p/k") && !strcmp(pg.e[0].f[1], "dm") &&
			 !strcmp(pg.e[0].f[2], "true") && !pg.e[0].f[3],
		 "the delete marker");
	T_ASSERT(pg.e[1].kind == 0 && !strcmp(pg.e[1].f[0], "p/k") && !strcmp(pg.e[1].f[1], "v2") &&
			 !strcmp(pg.e[1].f[3], "12"),
		 "the version: the last VersionId wins, Owner/Key is not the key");
	T_ASSERT(!strcmp(pg.top[0], "true") && !strcmp(pg.top[1], "p/k") &&
			 !strcmp(pg.top[2], "v&2"),
		 "page values");
	s3_xml_page_fini(&pg);
	s3_xml_page_fini(&pg); /* twice, and NULL: no-ops */
	s3_xml_page_fini(NULL);

	/* another root (an <Error> with a 200), nothing, an empty result */
	T_ASSERT_EQ(page("<Error><Code>InternalError</Code></Error>", 41, &pg), -EBADMSG);
	s3_xml_page_fini(&pg);
	T_ASSERT_EQ(page("", 0, &pg), -EBADMSG);
	s3_xml_page_fini(&pg);
	T_ASSERT_EQ(page("<ListVersionsResult/>", 21, &pg), 0);
	T_ASSERT_EQ(pg.n, 0);
	s3_xml_page_fini(&pg);
	T_ASSERT_EQ(page("<ListVersionsResultX></ListVersionsResultX>", 43, &pg), -EBADMSG);
	s3_xml_page_fini(&pg);

	/* every truncation, and random mutations: refused or read, never unsafe */
	for (size_t n = 0; n < dl; n++) {
		T_ASSERT_EQ(page(versions_doc, n, &pg), -EBADMSG);
		s3_xml_page_fini(&pg);
	}
	for (int round = 0; round < 20000; round++) {
		size_t len = dl;

		memcpy(b, versions_doc, dl);
		for (int k = 0; k < 1 + round % 8; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			b[x % dl] = (char)(x >> 32);
		}
		if (round % 3 == 0)
			len = (size_t)(x >> 40) % dl;
		ret = page(b, len, &pg);
		T_ASSERT(ret == 0 || ret == -EBADMSG, "round %d: %d", round, ret);
		for (size_t i = 0; i < pg.n; i++)
			T_ASSERT(pg.e[i].kind < 2, "kind");
		s3_xml_page_fini(&pg);
	}
	free(b);
}

static int stop_at_second(void *arg, const char *path, const char *text, size_t len)
{
	int *n = arg;

	(void)path;
	(void)text;
	(void)len;
	return ++*n == 2 ? 42 : 0;
}

int main(void)
{
	int n = 0;

	good_docs();
	bad_docs();
	truncations();
	hostile();
	pages();
	T_ASSERT_EQ(s3_xml_parse(list_doc, strlen(list_doc), stop_at_second, &n), 42);
	printf("PASS: xml\n");
	return 0;
}
