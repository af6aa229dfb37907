#!/bin/sh
# SPDX-License-Identifier: MIT
# bpf/gen-vmlinux.sh BPFTOOL OUT - regenerate the vendored vmlinux.h from the
# running kernel's BTF (ninja -C build bpf-vmlinux). CO-RE relocations make
# the vendored copy work on other kernels; regenerate only to use new types.
set -eu
btf=${VMLINUX_BTF:-/sys/kernel/btf/vmlinux}
[ -r "$btf" ] || { echo "gen-vmlinux: no BTF at $btf" >&2; exit 1; }
"$1" btf dump file "$btf" format c > "$2.tmp"
mv "$2.tmp" "$2"
echo "gen-vmlinux: wrote $2 from $btf"
