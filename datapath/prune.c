// SPDX-License-Identifier: MIT
/*
 * datapath/prune.c - `ferry prune`: delete what no snapshot references.
 *
 * prune is strict: if any manifest, index or referenced chunk cannot be
 * accounted for (scan.c) it deletes nothing and says to run check. Under its
 * exclusive lock no backup runs; new packs and their indexes are complete
 * before anything old goes (repack.c), and an index is deleted before its
 * pack, so a crash at any point leaves at worst duplicates or an index-less
 * pack that the next prune removes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "chunkidx.h"
#include "packfmt.h"
#include "repo_int.h"
#include "scan.h"

static int prune_delete(struct dp_repo *repo, const char *key, bool versioned,
			struct dp_prune_report *r)
{
	int ret = dp_purge(repo, key, versioned, &r->purge);

	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	r->objects_deleted++;
	dp_test_point("prune-deleted");
	return 0;
}

int dp_prune(struct dp_repo *repo, const struct dp_prune_opts *opts, struct dp_prune_report *r)
{
	struct dp_prune_opts o = {0};
	struct dp_lock *lock = NULL;
	bool *repack = NULL, versioned = false;
	struct dp_scan m;
	char key[96];
	int ret;

	dp_clear_error();
	memset(r, 0, sizeof(*r));
	memset(&m, 0, sizeof(m));
	if (opts)
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if (!o.repack_below_pct)
		o.repack_below_pct = DP_REPACK_BELOW_DEFAULT;
	ret = dp_lock_acquire(repo, true, "prune", &lock);
	if (ret)
		return ret;
	dp_test_point("prune-locked");
	ret = dp_bucket_is_versioned(repo, &versioned);
	if (!ret)
		ret = dp_scan_run(&m, repo, true, NULL, NULL);
	if (ret)
		goto out;
	if (m.refs_missing || m.problems) {
		ret = dp_fail(
			-EUCLEAN,
			"the repository has %llu problem%s (chunks referenced but in no index, damaged indexes): nothing was deleted; run 'ferry check'",
			(unsigned long long)m.problems, m.problems == 1 ? "" : "s");
		goto out;
	}
	/* which copy of each live chunk stays: the one the live set recorded */
	for (size_t i = 0; i < m.np; i++) {
		struct dp_scan_pack *p = &m.p[i];

		for (size_t k = 0; k < p->n; k++) {
			if (dp_scan_is_live_copy(&m, i, k)) {
				p->live += p->e[k].stored_len;
				p->nlive++;
			}
		}
		if (p->index && !p->data) {
			ret = dp_fail(
				-EUCLEAN,
				"%s is missing but indexed: nothing was deleted; run 'ferry check'",
				p->key);
			goto out;
		}
	}
	repack = calloc(m.np ? m.np : 1, sizeof(*repack));
	if (!repack) {
		ret = -ENOMEM;
		goto out;
	}
	r->packs = m.np;
	for (size_t i = 0; i < m.np; i++) {
		struct dp_scan_pack *p = &m.p[i];

		r->bytes_total += p->size;
		if (!p->index) {
			r->packs_orphaned++;
			r->bytes_freed += p->size;
		} else if (!p->nlive) {
			r->packs_deleted++;
			r->bytes_freed += p->size;
		} else if (p->live * 100 < p->stored * o.repack_below_pct) {
			repack[i] = true;
			r->packs_repacked++;
			r->bytes_repacked += p->live;
			r->bytes_freed += p->size - p->live;
		}
		r->chunks_removed += p->n - p->nlive;
	}
	r->chunks_live = dp_chunkidx_count(m.live);
	if (o.dry_run)
		goto out;
	dp_test_point("prune-planned");

	/* 1. repack: the new packs are complete before anything old goes */
	if (r->packs_repacked) {
		ret = dp_repack(&m, repack, &r->packs_written);
		if (ret)
			goto out;
		dp_test_point("prune-repacked");
	}
	/* 2. indexes first (their chunks stop being found), then the packs */
	for (size_t i = 0; i < m.np && !ret; i++) {
		struct dp_scan_pack *p = &m.p[i];

		if (!p->index || (p->nlive && !repack[i]))
			continue;
		dp_key_index(p->id, key, sizeof(key));
		ret = prune_delete(repo, key, versioned, r);
	}
	for (size_t i = 0; i < m.np && !ret; i++) {
		struct dp_scan_pack *p = &m.p[i];

		if (p->index && p->nlive && !repack[i])
			continue;
		if (p->data)
			ret = prune_delete(repo, p->key, versioned, r);
	}
out:
	free(repack);
	dp_scan_fini(&m);
	dp_lock_release(lock);
	return ret;
}
