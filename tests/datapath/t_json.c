// SPDX-License-Identifier: MIT
/*
 * tests/datapath/t_json.c - every JSON writer of a repository (config, key
 * objects, manifest metadata, locks, changed-block lists) prints integers
 * as plain decimal digits: values ending in 0 between 10^15 and 10^16 are
 * the ones cJSON's own number printing writes as 1.79650624841047e+15
 * (FORMAT.md "JSON numbers"). Each is written, its bytes searched for an
 * exponent or a fraction, and read back equal. The readers still take the
 * exponent form older repositories hold, and refuse a fractional value.
 */
#include <errno.h>
#include <string.h>

#include "datapath/dp_json.h"
#include "t_helpers.h"

/* integers that %1.15g prints with an exponent: 16 digits, ending in 0 */
static const uint64_t values[] = {
	1796506248410470ull, 1000000000000000ull, 1234567890123450ull,
	9007199254740990ull, 1999999999999990ull, 5000000000000000ull,
};
#define NVALUES (sizeof(values) / sizeof(values[0]))

/* a digit, '.', a digit: a number's fraction (the strings written here have none) */
static bool has_fraction(const char *s)
{
	for (; *s; s++)
		if (s[0] >= '0' && s[0] <= '9' && s[1] == '.' && s[2] >= '0' && s[2] <= '9')
			return true;
	return false;
}

/* The bytes a writer produced: no exponent, no fraction, and @digits somewhere. */
static void check_bytes(const char *what, const char *json, uint64_t v)
{
	char digits[24];

	T_ASSERT(json, "%s: nothing written", what);
	T_ASSERT(!strstr(json, "e+") && !strstr(json, "E+") && !strstr(json, "e1") &&
			 !strstr(json, "E1"),
		 "%s: an exponent in %s", what, json);
	T_ASSERT(!has_fraction(json), "%s: a fraction in %s", what, json);
	snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
	T_ASSERT(strstr(json, digits), "%s: %s not in %s", what, digits, json);
}

static void test_meta(uint64_t v)
{
	static char vol[] = "vol", src[] = "img/A1.img", host[] = "node";
	struct dp_snapshot s = {0}, back;
	char *json = NULL;

	memset(s.id, 'a', 64);
	s.volume = vol;
	s.source = src;
	s.hostname = host;
	s.size = v;
	s.chunk_size = 1 << 20;
	s.time_start = (int64_t)v;
	s.time_end = (int64_t)v;
	s.chunks_total = v;
	s.chunks_zero = v;
	s.chunks_new = v;
	s.bytes_read = v;
	s.bytes_zero = v;
	s.bytes_new = v;
	s.bytes_stored = v;
	T_ASSERT_EQ(dp_meta_encode(&s, &json), 0);
	check_bytes("manifest metadata", json, v);
	T_ASSERT_EQ(dp_meta_decode(json, strlen(json), &back), 0);
	T_ASSERT(back.size == v && back.time_start == (int64_t)v && back.time_end == (int64_t)v &&
		 back.chunks_total == v && back.bytes_stored == v && back.bytes_new == v);
	T_ASSERT(!strcmp(back.source, "img/A1.img"));
	dp_snapshot_fini(&back);
	free(json);
}

static void test_config(uint64_t v)
{
	struct dp_repo_info info = {.version = DP_FORMAT_VERSION, .chunk_size = 1 << 20}, back;
	char *json = NULL;

	memset(info.id, 'b', 64);
	strcpy(info.hash, "sha256");
	strcpy(info.compression, "zstd");
	strcpy(info.encryption, "none");
	info.created = (int64_t)v;
	T_ASSERT_EQ(dp_config_encode(&info, &json), 0);
	check_bytes("config", json, v);
	T_ASSERT_EQ(dp_config_decode(json, strlen(json), &back), 0);
	T_ASSERT(back.created == (int64_t)v);
	free(json);
}

static void test_keyobj(uint64_t v)
{
	struct dp_keyobj k = {.n = 32768, .r = 8, .p = 1}, back;
	char *json = NULL;

	k.created = (int64_t)v;
	strcpy(k.hostname, "node");
	T_ASSERT_EQ(dp_keyobj_encode(&k, &json), 0);
	check_bytes("key object", json, v);
	T_ASSERT_EQ(dp_keyobj_decode(json, strlen(json), &back), 0);
	T_ASSERT(back.created == (int64_t)v && back.n == 32768);
	free(json);
}

static void test_lock(uint64_t v)
{
	struct dp_lockinfo l = {.time = (int64_t)v, .pid = (int64_t)v}, back;
	char *json = NULL;

	strcpy(l.hostname, "node");
	strcpy(l.operation, "backup");
	T_ASSERT_EQ(dp_lock_encode(&l, &json), 0);
	check_bytes("lock", json, v);
	T_ASSERT_EQ(dp_lock_decode(json, strlen(json), &back), 0);
	T_ASSERT(back.time == (int64_t)v && back.pid == (int64_t)v && !back.exclusive);
	free(json);
}

static void test_cbl(uint64_t v)
{
	struct dp_range r[2] = {{1000, 10}, {v - 1000, 1000}};
	struct dp_cbl l = {.size = v, .ranges = r, .n = 2, .cap = 2}, back;
	char *json = NULL;
	size_t len;

	memset(l.parent, 'c', 64);
	T_ASSERT_EQ(dp_cbl_format(&l, true, &json, &len), 0);
	check_bytes("changed-block list", json, v);
	check_bytes("changed-block list", json, v - 1000);
	T_ASSERT_EQ(dp_cbl_parse(json, len, &back), 0);
	T_ASSERT(back.size == v && back.n == 2 && back.ranges[0].off == 1000 &&
		 back.ranges[1].off == v - 1000 && back.ranges[1].len == 1000);
	dp_cbl_fini(&back);
	free(json);
}

/* What older writers left: the exponent form is read as the integer it is. */
static void test_old_form(void)
{
	static const char meta[] =
		"{\"id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		"\"volume\":\"v\",\"source\":\"s\",\"hostname\":\"h\",\"parent\":\"\","
		"\"size\":1048576,\"chunk_size\":1048576,\"time_start\":1.79650624841047e+15,"
		"\"time_end\":1796506248997351,\"labels\":{},\"totals\":{\"chunks_total\":1,"
		"\"chunks_zero\":0,\"chunks_new\":1,\"bytes_read\":1048576,\"bytes_zero\":0,"
		"\"bytes_new\":1E+6,\"bytes_stored\":1000000}}";
	struct dp_snapshot s;
	char *bad;

	T_ASSERT_EQ(dp_meta_decode(meta, strlen(meta), &s), 0);
	T_ASSERT(s.time_start == 1796506248410470ll, "%lld", (long long)s.time_start);
	T_ASSERT(s.bytes_new == 1000000);
	dp_snapshot_fini(&s);

	/* a fraction is not an integer: refused, not truncated */
	bad = strdup(meta);
	T_ASSERT(bad);
	memcpy(strstr(bad, "\"size\":1048576") + 7, "1048.576", 8);
	T_ASSERT_EQ(dp_meta_decode(bad, strlen(bad), &s), -EBADMSG);
	free(bad);
	T_ASSERT_EQ(dp_config_decode("{\"format\":\"ferry-repository\",\"version\":1.5}", 42,
				     &(struct dp_repo_info){0}),
		    -EBADMSG);
}

int main(void)
{
	for (size_t i = 0; i < NVALUES; i++) {
		test_meta(values[i]);
		test_config(values[i]);
		test_keyobj(values[i]);
		test_lock(values[i]);
		test_cbl(values[i]);
	}
	test_old_form();
	printf("t_json: %zu values through 5 writers, no exponents; the old form read\n", NVALUES);
	return 0;
}
