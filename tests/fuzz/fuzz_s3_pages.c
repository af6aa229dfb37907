// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_s3_pages.c - libFuzzer target of the listing-page reader
 * (s3_xml_page_parse()) in the shapes the s3:// backend reads: ListParts,
 * ListMultipartUploads, ListObjectVersions, GetBucketVersioning,
 * ListObjectsV2 and DeleteObjects' answer. The first byte picks the shape. Every input must be read or refused, never crash or
 * read out of bounds; every text it keeps must be a NUL-terminated string no
 * longer than the input, and every entry of a known kind.
 *
 * Built with -Dfuzzing=true (tests/s3/meson.build); run it as run-fuzzers
 * runs those of tests/fuzz, on a copy of its seeds in tests/s3/corpus/s3_pages
 * (real RGW answers, each after its shape byte).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct s3_xml_page_spec specs[] = {
	{.root = "ListPartsResult",
	 .entry = {"Part"},
	 .field = {"PartNumber", "Size", "ETag"},
	 .top = {"IsTruncated", "NextPartNumberMarker"}},
	{.root = "ListMultipartUploadsResult",
	 .entry = {"Upload"},
	 .field = {"Key", "UploadId", "Initiated"},
	 .top = {"IsTruncated", "NextKeyMarker", "NextUploadIdMarker"}},
	{.root = "ListVersionsResult",
	 .entry = {"Version", "DeleteMarker"},
	 .field = {"Key", "VersionId", "IsLatest", "Size", "LastModified"},
	 .top = {"IsTruncated", "NextKeyMarker", "NextVersionIdMarker"}},
	{.root = "VersioningConfiguration", .top = {"Status"}},
	{.root = "ListBucketResult",
	 .entry = {"Contents"},
	 .field = {"Key", "Size", "LastModified"},
	 .top = {"IsTruncated", "NextContinuationToken"}},
	{.root = "DeleteResult",
	 .entry = {"Deleted", "Error"},
	 .field = {"Key", "VersionId", "Code", "Message"}},
};

static void check(const char *s, size_t size)
{
	if (s && strlen(s) > size)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct s3_xml_page_spec *spec;
	struct s3_xml_page pg = {0};
	int ret;

	if (size < 1)
		return 0;
	spec = &specs[data[0] % (sizeof(specs) / sizeof(specs[0]))];
	ret = s3_xml_page_parse((const char *)data + 1, size - 1, spec, &pg);
	if (ret && ret != -EBADMSG && ret != -ENOMEM && ret != -E2BIG)
		abort();
	for (size_t i = 0; i < pg.n; i++) {
		if (pg.e[i].kind >= 2 || !spec->entry[pg.e[i].kind])
			abort();
		for (size_t f = 0; f < S3_PAGE_FIELDS; f++) {
			if (pg.e[i].f[f] && !spec->field[f])
				abort();
			check(pg.e[i].f[f], size);
		}
	}
	for (size_t t = 0; t < S3_PAGE_TOP; t++)
		check(pg.top[t], size);
	s3_xml_page_fini(&pg);
	return 0;
}
