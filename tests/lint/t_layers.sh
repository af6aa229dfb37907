#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/lint/t_layers.sh - the include rule of control/README.md: a folder
# includes only folders of lower layers, folders of one layer never include
# each other, bench/ builds on control/cli only, and s3/ and bpf/ include
# nothing of ours. Every '#include "dir/..."' of a tracked C file is held
# against the folders its own folder may use (an include without a folder is
# the file's own folder).
set -uo pipefail
cd "${FERRY_SRC:-$(dirname "$0")/../..}" || exit 99
git rev-parse --git-dir >/dev/null 2>&1 || { echo "t_layers: not a git checkout" >&2; exit 77; }

# folder: the folders it may include besides itself
declare -A may=(
	[control]="control/agent control/cli control/operator control/repo bench datapath s3"
	[control/repo]="control/cli control/cbt datapath s3"
	[control/agent]="control/cli control/cbt control/httpd control/signals control/xfer control/lb bpf k8s datapath s3"
	[control/operator]="control/cli control/httpd control/signals control/autoscale control/cluster control/migrate control/bluegreen control/xfer control/lb k8s"
	[control/cluster]="control/cli control/cbt control/httpd control/xfer datapath s3 k8s bpf"
	[bench]="control/cli datapath s3"
	[control/cli]="datapath s3"
	[control/cbt]="datapath k8s"
	[control/xfer]="k8s s3"
	[control/autoscale]="control/signals k8s"
	[control/migrate]="control/cli control/xfer k8s"
	[control/bluegreen]="control/cli control/xfer control/signals k8s"
	[control/lb]="control/signals k8s bpf"
	[control/signals]="k8s"
	[control/httpd]=""
	[datapath]="s3"
	[s3]=""
	[bpf]=""
	[k8s]=""
)
rules=$(for d in "${!may[@]}"; do echo "$d:${may[$d]}"; done)
git ls-files '*.c' '*.h' | grep -v '^bpf/vmlinux/' | xargs grep -H '^#include "' |
	awk -v rules="$rules" '
	BEGIN {
		n = split(rules, lines, "\n")
		for (i = 1; i <= n; i++) {
			split(lines[i], kv, ":")
			known[kv[1]] = 1
			allowed[kv[1]] = " " kv[2] " "
		}
	}
	{
		file = substr($0, 1, index($0, ":") - 1)
		inc = $0
		sub(/^[^"]*"/, "", inc)
		sub(/".*/, "", inc)
		dir = file; sub(/\/[^\/]*$/, "", dir)
		target = inc; if (!sub(/\/[^\/]*$/, "", target)) next
		if (!(dir in known) || target == dir) next
		if (index(allowed[dir], " " target " ")) next
		printf "t_layers: %s includes %s: %s may include only: %s\n", file, inc, dir, allowed[dir] > "/dev/stderr"
		bad = 1
	}
	END { exit bad }' || exit 1
echo "t_layers: every include goes down a layer"
