/* SPDX-License-Identifier: MIT */
/*
 * control/agent/transfers.h - the agent's volume transfers (private to
 * control/agent/): a watch of the VolumeTransfers in ferry-system labelled
 * ferry.io/node=<this node> (control/xfer/xfer.h), and for each one in phase
 * Attaching (or Running: one this agent was running when it stopped) the
 * datapath job on the block device the kubelet published for its holder pod:
 * a backup into the repository the transfer names, or a restore that writes
 * and verifies every chunk. Up to @max run at once, sharing one buffer pool.
 * Each job writes its progress into the transfer's status at most once a
 * second (phase, bytes total/done/reused/new, MB/s, heartbeat), and at its
 * end the snapshot id (Completed) or the reason (Failed).
 *
 * A backup reads only the ranges the driver's SnapshotMetadata service lists
 * as changed since the claim's base snapshot (control/cbt, status.changedBlocks
 * as the controller wrote it) when the base stands for the volume's newest
 * repository snapshot; else everything, and status.changedBlocks says why
 * (control/xfer/README.md "Changed blocks").
 *
 * The repository: spec.repository.url with the password from the Secret
 * spec.repository.passwordSecretRef (key "password") in ferry-system, read
 * when the job starts and wiped after the unlock.
 *
 * Threads: open/poll/close on the agent's main loop; one thread per job.
 */
#ifndef FERRY_CTL_AGENT_TRANSFERS_H
#define FERRY_CTL_AGENT_TRANSFERS_H

#include <stdint.h>

#include "k8s/k8s.h"

struct agent_xfers;

/*
 * struct agent_xfers_opts - @max transfers at once (1..64), @memory bytes of
 * buffer pool shared by them, @kubelet_dir (NULL: /var/lib/kubelet),
 * @state_dir for the upload journals (NULL: none), @snapmeta_address the
 * HOST:PORT of the drivers' SnapshotMetadata service (NULL: each
 * SnapshotMetadataService's spec.address)
 */
struct agent_xfers_opts {
	unsigned int max;
	uint64_t memory;
	const char *kubelet_dir;
	const char *state_dir;
	const char *snapmeta_address;
};

/**
 * agent_xfers_open() - start watching @node's transfers through @c
 * @c, @node: borrowed until agent_xfers_close()
 * Return: 0; -ENOMEM; -EINVAL; printed.
 */
int agent_xfers_open(struct k8s_client *c, const char *node, const struct agent_xfers_opts *o,
		     struct agent_xfers **out);

/* agent_xfers_poll() - reap finished jobs and start the ones due (main loop) */
void agent_xfers_poll(struct agent_xfers *x);

/* agent_xfers_close() - cancel the running jobs (their transfers stay Running,
 * resumed by the next agent), stop the watch and free; NULL ok */
void agent_xfers_close(struct agent_xfers *x);

#endif /* FERRY_CTL_AGENT_TRANSFERS_H */
