#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/install-deps.sh - install (apt-get, Debian 12) what ferry needs to build and
# what its test suite runs: compilers and libraries, the Ceph RGW test server,
# and the tools the tests and benchmarks compare against. Needs root.
#
#   tests/install-deps.sh           build + test packages
#   tests/install-deps.sh --bench   also the peers bench/compare runs (rclone, aws-cli; restic
#                                   is a test package: the retention test runs it)
set -euo pipefail

BUILD=(build-essential meson ninja-build pkg-config clang llvm libclang-rt-14-dev clang-format-14
    liburing-dev libbpf-dev bpftool libzstd-dev libcurl4-openssl-dev libcjson-dev libssl-dev
    libmicrohttpd-dev)
TEST=(python3 python3-botocore zstd fio util-linux e2fsprogs iproute2 procps curl openssl
    ceph-mon ceph-osd radosgw ceph-common prometheus nginx libnginx-mod-http-lua
    xfsprogs btrfs-progs python3-fusepy restic python3-cryptography)
BENCH=(rclone awscli gnuplot hyperfine iperf3 time)

pkgs=("${BUILD[@]}" "${TEST[@]}")
[ "${1:-}" = --bench ] && pkgs+=("${BENCH[@]}")
[ "$(id -u)" = 0 ] || { echo "tests/install-deps.sh: run as root (apt-get)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
