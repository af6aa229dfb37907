#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's second main job, tests/demo_cluster.py, as a user runs it: the box with
# three nodes and storage, ferry's manifests created with python3-kubernetes, the
# controller and the agents under their service accounts, an application backed up,
# its namespace deleted and restored, the restored pods verifying every file's checksum.
# Root (the box's nodes, cgroups and loop devices); its directory under /var/tmp, which
# the agents read from the nodes' mount namespaces (each node has its own /tmp).
. "$(dirname "$0")/lib/t_lib.sh"
[ "$(id -u)" = 0 ] || t_skip "the box's nodes need root"
dir=$(mktemp -d /var/tmp/ferry-t-demo-cluster-XXXXXX) || t_error "mktemp"
t_on_exit "rm -rf '$dir'"
t_run env DEMO_DIR="$dir" FERRY="$FERRY" /usr/bin/python3 "$FERRY_SRC/tests/demo_cluster.py"
t_ok "tests/demo_cluster.py succeeds (exit $t_rc: $(tail -3 <<<"$t_out$t_err"))" [ "$t_rc" = 0 ]
t_ok "the Backup completed with both volumes" grep -q "backup shop-1: Completed, .* volumes 2/2" <<<"$t_out"
t_ok "the Restore waited for its volumes, then completed" \
    grep -q "restore shop-1: WaitingForPluginOperations" <<<"$t_out"
t_ok "... with both claims filled" grep -q "restore shop-1: Completed, .* volumes 2/2 filled" <<<"$t_out"
t_ok "both restored pods verified their files" [ "$(grep -c ': VERIFIED 3' <<<"$t_out")" = 2 ]
t_done
