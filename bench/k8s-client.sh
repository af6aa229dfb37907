#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/k8s-client.sh [BUILD_DIR] [N] [THREADS] - requests per second of ferry's Kubernetes
# client (k8s/) against the cluster in a box, beside the box's own ceiling measured in the
# same run with the same requests (h2load, HTTP/1.1 and HTTP/2) and the same operations from
# python3-kubernetes; and the informer's memory per object with 10 000 ConfigMaps.
# Figures, not a pass/fail test. Starts (and stops) a box of its own.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
N=${2:-2000}
T=${3:-4}
MEM_OBJECTS=${K8S_BENCH_OBJECTS:-10000}
log() { echo "[k8s-client] $*" >&2; }

ninja -C "$BUILD" tests/k8s/k8s_bench >/dev/null
bench=$BUILD/tests/k8s/k8s_bench
dir=$(mktemp -d "${TMPDIR:-/tmp}/k8s-bench.XXXXXX")
cleanup() { "$ROOT/tests/kbox/kbox" stop "$dir/box" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
"$ROOT/tests/kbox/kbox" start "$dir/box" >/dev/null
. "$dir/box/env"
KC=$KBOX_KUBECONFIG
sed "s#$KBOX_URL#$KBOX_H2_URL#" "$KC" >"$dir/h2.kubeconfig"
KC2=$dir/h2.kubeconfig
AUTH="Authorization: Bearer $KBOX_ADMIN_TOKEN"
api() { curl -sS --cacert "$KBOX_CA" -H "$AUTH" -H 'Content-Type: application/json' "$@" >/dev/null; }
api -X POST "$KBOX_URL/api/v1/namespaces" -d '{"metadata":{"name":"bench"}}'
api -X POST "$KBOX_URL/api/v1/namespaces" -d '{"metadata":{"name":"bench-mem"}}'
api -X POST "$KBOX_URL/api/v1/namespaces" -d '{"metadata":{"name":"bench-list"}}'
"$bench" "$KC" bench setup 1 1 >/dev/null
# lists read a namespace of 100 ConfigMaps that nothing else writes to
"$bench" "$KC" bench-list setup 100 4 >/dev/null
log "load before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"

results=()
row() { results+=("$(printf '%-8s %-22s %8s' "$1" "$2" "$3")"); }
rps_of() { sed -n 's/.* rps=\([0-9]*\).*/\1/p'; }

# ---- ferry's client, HTTP/1.1 and HTTP/2
for op in get list create patch watch; do
    n=$N; [ "$op" = list ] && n=$((N / 10))
    for proto in h1 h2; do
        kc=$KC; [ $proto = h2 ] && kc=$KC2
        ns=bench; [ "$op" = list ] && ns=bench-list
        out=$("$bench" "$kc" "$ns" "$op" "$n" "$T" || true)
        log "ferry $proto: $out"
        row "$op" "ferry $proto" "$(rps_of <<<"$out")"
    done
done

# ---- the box's ceiling: h2load, the same requests
if command -v h2load >/dev/null; then
    base=api/v1/namespaces/bench/configmaps
    printf '{"metadata":{"generateName":"h2load-","labels":{"app":"bench"}},"data":{"owner":"team-storage"}}' >"$dir/create.json"
    printf '{"data":{"n":"h2load"}}' >"$dir/patch.json"
    for proto in h1 h2; do
        if [ $proto = h1 ]; then url=$KBOX_URL; flags=(--h1 -c "$T"); else url=$KBOX_H2_URL; flags=(-c 1 -m "$T"); fi
        for op in get list create patch; do
            n=$N; args=(); path=$base/bench-0
            case $op in
            list) n=$((N / 10)); path="api/v1/namespaces/bench-list/configmaps?limit=500" ;;
            create) path=$base; args=(-d "$dir/create.json") ;;
            patch) args=(-d "$dir/patch.json" -H ':method: PATCH' -H 'Content-Type: application/merge-patch+json') ;;
            esac
            out=$(h2load -n "$n" "${flags[@]}" -H "$AUTH" "${args[@]}" "$url/$path" 2>&1 || true)
            rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out" | cut -d. -f1)
            ok=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' <<<"$out")
            log "h2load $proto $op: ${rps:-?} req/s, ${ok:-?} 2xx of $n"
            row "$op" "h2load $proto" "${rps:-?}"
        done
    done
fi

# ---- python3-kubernetes, the same operations
if /usr/bin/python3 -c 'import kubernetes' 2>/dev/null; then
    for op in get list create patch watch; do
        n=$N; [ "$op" = list ] && n=$((N / 10))
        out=$(/usr/bin/python3 - "$KC" "$op" "$n" "$T" <<'PY' 2>&1 || true
import sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from kubernetes import client, config, watch
kc, op, n, t = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
config.load_kube_config(config_file=kc)
cfg = client.Configuration.get_default_copy()
cfg.connection_pool_maxsize = max(t, 4)
v1 = client.CoreV1Api(client.ApiClient(cfg))
body = {"metadata": {"generateName": "py-", "labels": {"app": "bench"}}, "data": {"owner": "team-storage"}}
seen = threading.Event()
if op == "watch":
    base = len(v1.list_namespaced_config_map("bench").items)
    def watcher():
        got = 0
        for ev in watch.Watch().stream(v1.list_namespaced_config_map, "bench", resource_version=rv):
            if ev["type"] == "ADDED":
                got += 1
                if got >= n:
                    seen.set()
                    return
    rv = v1.list_namespaced_config_map("bench").metadata.resource_version
    threading.Thread(target=watcher, daemon=True).start()
    time.sleep(0.5)
def one(i):
    if op == "get": v1.read_namespaced_config_map("bench-0", "bench")
    elif op == "list": v1.list_namespaced_config_map("bench-list", limit=500)
    elif op in ("create", "watch"): v1.create_namespaced_config_map("bench", body)
    elif op == "patch": v1.patch_namespaced_config_map("bench-0", "bench", {"data": {"n": str(i)}})
t0 = time.monotonic()
with ThreadPoolExecutor(t) as ex:
    list(ex.map(one, range(n)))
if op == "watch":
    seen.wait(600)
print(f"rps={n / (time.monotonic() - t0):.0f}")
PY
)
        log "python3-kubernetes $op: $out"
        row "$op" "python3-kubernetes" "$(sed -n 's/.*rps=\([0-9]*\).*/\1/p' <<<"$out" | tail -1)"
    done
fi

# ---- informer memory per object
log "creating $MEM_OBJECTS ConfigMaps in bench-mem"
"$bench" "$KC2" bench-mem setup "$MEM_OBJECTS" 8 >&2 || log "some creates failed (above)"
mem=$("$bench" "$KC2" bench-mem mem)
mem_managed=$("$bench" "$KC2" bench-mem mem-managed)
list_bytes=$(curl -sS --cacert "$KBOX_CA" -H "$AUTH" "$KBOX_URL/api/v1/namespaces/bench-mem/configmaps" | wc -c)
log "informer: $mem; with managedFields kept: $mem_managed; the list is $list_bytes bytes of JSON"
log "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "op       client                 requests/s"
printf '%s\n' "${results[@]}"
echo "informer: $mem (list JSON: $((list_bytes / MEM_OBJECTS)) bytes per object)"
echo "informer, managedFields kept: $mem_managed"
