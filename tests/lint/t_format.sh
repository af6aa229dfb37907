#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/lint/t_format.sh - every tracked C file is formatted as .clang-format says,
# by Debian 12's clang-format-14 (pinned: other versions format differently).
# The vendored bpf/vmlinux/ is not ours and is left as generated.
#
# To fix: git ls-files '*.c' '*.h' | grep -v ^bpf/vmlinux/ | xargs clang-format-14 -i
set -uo pipefail
cd "${FERRY_SRC:-$(dirname "$0")/../..}" || exit 99
cf=$(command -v clang-format-14) || {
	echo "t_format: clang-format-14 is not installed (apt-get install clang-format-14)" >&2
	exit 1
}
git rev-parse --git-dir >/dev/null 2>&1 || { echo "t_format: not a git checkout" >&2; exit 77; }
mapfile -t files < <(git ls-files '*.c' '*.h' | grep -v '^bpf/vmlinux/')
# one clang-format per file, all cores: names of the files that differ come back
mapfile -t bad < <(printf '%s\0' "${files[@]}" |
	xargs -0 -P "$(nproc)" -n 8 sh -c 'for f; do [ -f "$f" ] || continue; "$0" --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"; done' "$cf" | sort)
if [ ${#bad[@]} -gt 0 ]; then
	echo "t_format: ${#bad[@]} of ${#files[@]} files are not formatted (clang-format-14 -i FILE):" >&2
	printf '  %s\n' "${bad[@]}" >&2
	exit 1
fi
echo "t_format: ${#files[@]} files formatted"
