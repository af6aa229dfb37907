/* SPDX-License-Identifier: MIT */
/*
 * datapath/packer.h - writing packs for a job (packer.c). Private to datapath/.
 */
#ifndef FERRY_DP_PACKER_H
#define FERRY_DP_PACKER_H

#include "chunkidx.h"
#include "pool.h"

struct dp_job;

/*
 * Packs being written for @job (packer.c): dp_packer_append() from any
 * thread; dp_packer_finish() closes the open pack and waits until every pack
 * is complete and indexed. Failures fail @job. @point names the test points
 * "<point>-mid-pack" and "<point>-pack-done".
 */
struct dp_packer;
int dp_packer_new(struct dp_job *job, struct dp_bufs *bufs, uint64_t target, const char *point,
		  const char *journal_dir, struct dp_packer **out);
/*
 * Resume the packs journaled in the packer's journal directory (packer.c):
 * their kept chunks go into @ix; *@reused gets the bytes not sent again.
 */
int dp_packer_resume(struct dp_packer *pk, struct dp_chunkidx *ix, uint64_t *reused);
int dp_packer_append(struct dp_packer *pk, const uint8_t id[DP_ID_LEN], const void *data,
		     uint32_t len, uint32_t raw_len, uint8_t kind);
int dp_packer_finish(struct dp_packer *pk);
void dp_packer_wake(struct dp_packer *pk);
void dp_packer_free(struct dp_packer *pk);

#endif /* FERRY_DP_PACKER_H */
