// SPDX-License-Identifier: MIT
/*
 * datapath/repo_stats.c - `ferry stats`: what the repository holds, from the scan
 * (scan.c): logical, referenced and stored bytes, and what prune can reclaim.
 */
#include <stdlib.h>

#include "repo_int.h"
#include "scan.h"

int dp_repo_stats(struct dp_repo *repo, struct dp_stats *s)
{
	struct dp_snapshot *snaps = NULL;
	struct dp_scan m;
	size_t n = 0;
	int ret;

	dp_clear_error();
	memset(s, 0, sizeof(*s));
	memset(&m, 0, sizeof(m));
	ret = dp_snapshot_list(repo, &snaps, &n);
	if (ret)
		return ret;
	ret = dp_scan_run(&m, repo, false, NULL, NULL);
	if (ret)
		goto out;
	s->snapshots = n;
	for (size_t i = 0; i < n; i++)
		s->logical_bytes += snaps[i].size;
	s->zero_bytes = m.zero;
	s->referenced_bytes = m.referenced;
	for (size_t i = 0; i < m.np; i++) {
		struct dp_scan_pack *p = &m.p[i];

		if (p->data) {
			s->packs++;
			s->pack_bytes += p->size;
		}
		for (size_t k = 0; k < p->n; k++) {
			s->index_chunks++;
			if (dp_scan_is_live_copy(&m, i, k)) {
				s->unique_chunks++;
				s->unique_raw_bytes += p->e[k].raw_len;
				s->unique_stored_bytes += p->e[k].stored_len;
			} else {
				s->unreferenced_chunks++;
				s->unreferenced_bytes += p->e[k].stored_len;
			}
		}
	}
	s->problems = m.problems;
out:
	dp_scan_fini(&m);
	dp_snapshot_list_free(snaps, n);
	return ret;
}
