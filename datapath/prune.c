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

/* What prune does with a pack. */
enum prune_fate {
	PRUNE_KEEP,
	PRUNE_ORPHAN, /* data without an index (an interrupted backup): deleted */
	PRUNE_DELETE, /* no live chunk: deleted with its index */
	PRUNE_REPACK, /* its live chunks rewritten into new packs, then deleted */
};

static enum prune_fate prune_fate(const struct dp_scan_pack *p, uint32_t repack_below_pct)
{
	if (!p->index)
		return PRUNE_ORPHAN;
	if (!p->nlive)
		return PRUNE_DELETE;
	if (p->live * 100 < p->stored * repack_below_pct)
		return PRUNE_REPACK;
	return PRUNE_KEEP;
}

/* Count a pack that went (or, in a dry run, would go). */
static void prune_count(struct dp_prune_report *r, const struct dp_scan_pack *p,
			enum prune_fate fate)
{
	switch (fate) {
	case PRUNE_KEEP:
		return;
	case PRUNE_ORPHAN:
		r->packs_orphaned++;
		r->bytes_freed += p->size;
		break;
	case PRUNE_DELETE:
		r->packs_deleted++;
		r->bytes_freed += p->size;
		break;
	case PRUNE_REPACK:
		r->packs_repacked++;
		r->bytes_repacked += p->live;
		r->bytes_freed += p->size - p->live;
		break;
	}
	/* its dead chunks are gone now; the live ones were copied by repack */
	r->chunks_removed += p->n - p->nlive;
}

/*
 * Delete the index objects of the packs that go, then the packs whose index
 * is gone: a pack whose index could not be deleted stays (its chunks are
 * still found through it). The report counts what was deleted.
 */
static int prune_delete(struct dp_scan *m, const enum prune_fate *fate, bool versioned,
			struct dp_prune_report *r)
{
	char(*keys)[96] = calloc(m->np ? m->np : 1, sizeof(*keys));
	const char **kp = calloc(m->np ? m->np : 1, sizeof(*kp));
	size_t *which = calloc(m->np ? m->np : 1, sizeof(*which));
	bool *gone = calloc(m->np ? m->np : 1, sizeof(*gone));
	bool *index_gone = calloc(m->np ? m->np : 1, sizeof(*index_gone));
	struct dp_err first = {0};
	ssize_t failed;
	size_t n = 0;
	int ret = 0;

	if (!keys || !kp || !which || !gone || !index_gone) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < m->np; i++) {
		if (fate[i] == PRUNE_KEEP || fate[i] == PRUNE_ORPHAN) {
			index_gone[i] = fate[i] == PRUNE_ORPHAN; /* it has none */
			continue;
		}
		dp_key_index(m->p[i].id, keys[n], sizeof(keys[n]));
		kp[n] = keys[n];
		which[n++] = i;
	}
	failed = dp_purge_keys(m->repo, versioned, "index/", m->np, kp, n, gone, "prune-deleted",
			       &r->purge, &first);
	for (size_t k = 0; k < n; k++) {
		index_gone[which[k]] = gone[k];
		r->objects_deleted += gone[k];
	}
	if (failed < 0) {
		ret = (int)failed;
		goto out;
	}
	n = 0;
	for (size_t i = 0; i < m->np; i++) {
		if (fate[i] == PRUNE_KEEP || !index_gone[i] || !m->p[i].data)
			continue;
		kp[n] = m->p[i].key;
		which[n++] = i;
	}
	failed = dp_purge_keys(m->repo, versioned, "data/", m->np, kp, n, gone, "prune-deleted",
			       &r->purge, &first);
	for (size_t k = 0; k < n; k++) {
		r->objects_deleted += gone[k];
		if (gone[k])
			prune_count(r, &m->p[which[k]], fate[which[k]]);
	}
	if (failed < 0)
		ret = (int)failed;
	else if (first.code)
		ret = dp_fail(first.code, "%s (see the warnings for the others)", first.msg);
out:
	free(keys);
	free(kp);
	free(which);
	free(gone);
	free(index_gone);
	return ret;
}

int dp_prune(struct dp_repo *repo, const struct dp_prune_opts *opts, struct dp_prune_report *r)
{
	struct dp_prune_opts o = {0};
	struct dp_lock *lock = NULL;
	bool *repack = NULL, versioned = false;
	enum prune_fate *fate = NULL;
	struct dp_scan m;
	int ret;

	dp_clear_error();
	memset(r, 0, sizeof(*r));
	memset(&m, 0, sizeof(m));
	dp_opts_copy(&o, sizeof(o), opts);
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
	fate = calloc(m.np ? m.np : 1, sizeof(*fate));
	repack = calloc(m.np ? m.np : 1, sizeof(*repack));
	if (!fate || !repack) {
		ret = -ENOMEM;
		goto out;
	}
	r->packs = m.np;
	r->chunks_live = dp_chunkidx_count(m.live);
	for (size_t i = 0; i < m.np; i++) {
		struct dp_scan_pack *p = &m.p[i];

		r->bytes_total += p->size;
		fate[i] = prune_fate(p, o.repack_below_pct);
		repack[i] = fate[i] == PRUNE_REPACK;
	}
	if (o.dry_run) {
		/* what would go */
		for (size_t i = 0; i < m.np; i++)
			prune_count(r, &m.p[i], fate[i]);
		goto out;
	}
	dp_test_point("prune-planned");

	/* 1. repack: the new packs are complete before anything old goes */
	for (size_t i = 0; i < m.np; i++)
		if (repack[i]) {
			ret = dp_repack(&m, repack, &r->packs_written);
			if (ret)
				goto out;
			dp_test_point("prune-repacked");
			break;
		}
	/* 2. indexes first (their chunks stop being found), then the packs */
	ret = prune_delete(&m, fate, versioned, r);
out:
	free(fate);
	free(repack);
	dp_scan_fini(&m);
	dp_lock_release(lock);
	return ret;
}
