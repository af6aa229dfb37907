// SPDX-License-Identifier: MIT
/*
 * datapath/record_copy.c - a backup record copied into another repository
 * (dp.h dp_record_copy()): after its snapshots (copy.c), so that a cluster
 * that reads only the target finds the Backup, as the source's cluster did.
 *
 * The archive is read from the source (every chunk verified) and written
 * into the target as a new archive: the same objects in the same order cut
 * into the same chunks, so a target that holds an earlier copy stores only
 * the objects that changed, whatever its keys. Then the Backup's log, then
 * the record with the source's fields: it is the target's last write, as in
 * the source.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "dp_int.h"

/* Each object of the source's archive into the target's. */
static int rc_add(void *arg, const char *obj, size_t len)
{
	return dp_archive_add(arg, obj, len);
}

/* The Backup's own log (none: a Backup older than logs), under the target's id. */
static int rc_log(struct dp_repo *from, struct dp_repo *to, const char *from_id, const char *id)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = dp_log_get(from, from_id, NULL, NULL, NULL, &text, &len);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return dp_fail(ret, "the log of record %.16s: %s", from_id, dp_last_error());
	ret = dp_log_put(to, id, NULL, NULL, NULL, text, len);
	free(text);
	return ret;
}

int dp_record_copy(struct dp_repo *from, struct dp_repo *to, const struct dp_record *rec, char *id,
		   bool *copied)
{
	struct dp_archive_opts ao = {.sz = sizeof(ao), .allow_secrets = true};
	struct dp_record *have = NULL;
	struct dp_archive *a = NULL;
	char tid[65];
	int ret;

	assert(from && to && rec && copied);
	*copied = false;
	dp_clear_error();
	ret = dp_record_id(to, rec->cluster, rec->namespace, rec->name, tid);
	if (ret)
		return ret;
	ret = dp_record_get(to, tid, NULL, NULL, &have);
	dp_record_free(have);
	if (!ret)
		goto done; /* copied before: a record is written once */
	if (ret != -ENOENT)
		return ret;
	/* an unencrypted source took its Secrets when asked to; an encrypted one may not spill them */
	if (rec->secrets && dp_repo_is_encrypted(from) && !dp_repo_is_encrypted(to))
		return dp_fail(-EPERM,
			       "its archive holds %llu Secret(s): the target is not encrypted and "
			       "the source is",
			       (unsigned long long)rec->secrets);
	if (rec->objects) {
		ret = dp_archive_new(to, &ao, &a);
		if (!ret)
			ret = dp_archive_read(from, rec, rc_add, a);
		if (!ret)
			ret = dp_archive_finish(a);
		if (ret)
			goto out;
	}
	dp_test_point("record-copy-archived");
	ret = rc_log(from, to, rec->id, tid);
	if (!ret)
		ret = dp_record_put(to, rec, a, NULL);
	if (ret == -EEXIST) /* another copy wrote it meanwhile */
		ret = 0;
	if (ret)
		goto out;
	*copied = true;
done:
	if (id)
		memcpy(id, tid, sizeof(tid));
out:
	dp_archive_free(a);
	return ret;
}
