#!/usr/bin/env bash
# tests/s3-server.sh - install, start, wait for, and stop a local S3 test server (loopback only).
#
#   s3-server.sh start  PORT ACCESS_KEY SECRET_KEY   # installs if needed, starts, waits until ready
#   s3-server.sh stop   PORT                         # stops it and removes its data (KEEP_DATA=1 keeps it)
#   s3-server.sh status PORT                         # exit 0 if it answers
#
# Backends (S3_BACKEND):
#   rgw    (default) Ceph RADOS Gateway from Debian (ceph 16): 1 mon + 1 OSD (bluestore on a sparse
#          file, or memstore with RGW_STORE=memstore) + radosgw. Real S3: SigV4 verified, full
#          multipart API (create/upload/list/complete/abort), ListObjectsV2, ranged GET, HEAD.
#          Cold start ~15-20 s on 2 cores. Needs about 1 GiB RAM; disk grows with data.
#   s3rver npm s3rver 3.7.1: starts in <1 s, but does NOT verify SigV4 (only the access key id),
#          has no AbortMultipartUpload / ListParts / ListMultipartUploads. Good for smoke tests.
#   sink   nginx + Lua that reads and discards every body and answers the multipart calls
#          (Initiate / UploadPart ETag / Complete / Abort). For client throughput benchmarks only:
#          it stores nothing and checks no signature.
#
# Other settings (environment): S3_DIR (state dir, default /tmp/test-s3-PORT), S3_REGION (us-east-1),
#   S3_BUCKETS ("b1 b2": created at start), READY_TIMEOUT (seconds, default 180),
#   RGW_OSD_SIZE_GB (bluestore sparse file, default 20; memstore RAM cap, default 4),
#   RGW_STORE (bluestore|memstore), S3RVER_PKG_DIR (where npm installs s3rver).
# Prints "S3_ENDPOINT=http://127.0.0.1:PORT" when ready.
set -euo pipefail

CMD=${1:-}; PORT=${2:-}
BACKEND=${S3_BACKEND:-rgw}
REGION=${S3_REGION:-us-east-1}
READY_TIMEOUT=${READY_TIMEOUT:-180}
[[ -n "$CMD" && -n "$PORT" ]] || { sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 2; }
[[ "$PORT" =~ ^[0-9]+$ ]] || { echo "PORT must be a number" >&2; exit 2; }
D=${S3_DIR:-/tmp/test-s3-$PORT}
EP="http://127.0.0.1:$PORT"

log() { echo "[s3-server] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
apt_install() {   # apt_install CMD PKG... : install PKGs when CMD is missing
  local cmd=$1; shift
  command -v "$cmd" >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || die "need root to apt-get install $*"
  log "installing $* ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1; apt-get install -y --no-install-recommends "$@" >/dev/null; }
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_http() {     # wait_http URL SECONDS : until anything answers over HTTP
  local url=$1 t=$2 i
  for ((i = 0; i < t * 4; i++)); do
    curl -s -o /dev/null --max-time 2 "$url" && return 0
    sleep 0.25
  done
  return 1
}
signed_ok() {     # an authenticated ListBuckets returns 200
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --aws-sigv4 "aws:amz:$REGION:s3" \
        --user "$AK:$SK" -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
        "$EP/")" = 200 ]
}
make_buckets() {
  local b code
  for b in ${S3_BUCKETS:-}; do      # S3 names: 3-63 chars of a-z 0-9 . -
    code=$(curl -s -o "$D/mkbucket.out" -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:$REGION:s3" --user "$AK:$SK" \
      -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' "$EP/$b")
    [ "$code" = 200 ] || grep -q BucketAlreadyOwnedByYou "$D/mkbucket.out" ||
      die "cannot create bucket $b: HTTP $code $(head -c 300 "$D/mkbucket.out")"
  done
}
kill_pidfile() {  # kill_pidfile FILE : TERM, wait up to 15 s, then KILL
  local f=$1 p i
  [ -f "$f" ] || return 0
  p=$(cat "$f" 2>/dev/null || true)
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
    kill "$p" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null || true
  fi
  rm -f "$f"
}

# ---------------------------------------------------------------- rgw
rgw_start() {
  apt_install radosgw ceph-mon ceph-osd radosgw ceph-common
  command -v curl >/dev/null || apt_install curl curl
  rm -rf "$D"; mkdir -p "$D"/{run,log,mon,osd}
  local fsid C monport i osduuid osdkey id store
  fsid=$(cat /proc/sys/kernel/random/uuid); C=$D/ceph.conf
  monport=${RGW_MON_PORT:-0}
  if [ "$monport" = 0 ]; then   # first free port from PORT+1
    for ((monport = PORT + 1; monport < PORT + 200; monport++)); do port_busy $monport || break; done
  fi
  store=${RGW_STORE:-bluestore}
  local gb=${RGW_OSD_SIZE_GB:-20}; [ "$store" = memstore ] && gb=${RGW_OSD_SIZE_GB:-4}   # memstore = RAM
  cat > "$C" <<EOF
[global]
fsid = $fsid
mon_host = v2:127.0.0.1:$monport
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
keyring = $D/\$name.keyring
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_max_pg_per_osd = 1000
osd_crush_chooseleaf_type = 0
mon_warn_on_pool_no_redundancy = false
mon_data_avail_warn = 1
mon_data_avail_crit = 1
run_dir = $D/run
admin_socket = $D/run/\$name.asok
log_file = $D/log/\$name.log
pid_file = $D/run/\$name.pid
mon_data = $D/mon/\$name
osd_data = $D/osd/\$name
osd_objectstore = $store
memstore_device_bytes = $(( gb * 1073741824 ))
bluestore_block_path = $D/osd/\$name/block.img
bluestore_block_size = $(( gb * 1073741824 ))
bluestore_block_create = true
bluestore_block_db_create = false
bluestore_block_wal_create = false
bluestore_fsck_on_mkfs = false
osd_memory_target = 939524096
[client.rgw.gw]
rgw_frontends = beast endpoint=127.0.0.1:$PORT
rgw_data = $D/rgw
rgw_gc_obj_min_wait = 0
rgw_gc_processor_period = 10
rgw_enable_usage_log = false
EOF
  ceph-authtool --create-keyring "$D/mon.a.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$D/client.admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$D/mon.a.keyring" --import-keyring "$D/client.admin.keyring" >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$monport]" "$D/monmap" >/dev/null
  ceph-mon -c "$C" --mkfs -i a --monmap "$D/monmap" --keyring "$D/mon.a.keyring"
  ceph-mon -c "$C" -i a || die "ceph-mon failed (see $D/log/mon.a.log)"
  ceph -c "$C" --connect-timeout 30 mon stat >/dev/null || die "mon not answering"
  osduuid=$(cat /proc/sys/kernel/random/uuid); osdkey=$(ceph-authtool --gen-print-key)
  id=$(echo "{\"cephx_secret\": \"$osdkey\"}" | ceph -c "$C" osd new "$osduuid" -i -)
  mkdir -p "$D/osd/osd.$id"
  ceph-authtool --create-keyring "$D/osd.$id.keyring" --name "osd.$id" --add-key "$osdkey" >/dev/null
  ceph-osd -c "$C" -i "$id" --mkfs --osd-uuid "$osduuid" >"$D/log/osd-mkfs.log" 2>&1 ||
    die "osd mkfs failed (see $D/log/osd-mkfs.log)"
  ceph-osd -c "$C" -i "$id" 2>>"$D/log/osd-start.log" || die "ceph-osd failed (see $D/log)"
  for ((i = 0; i < 120; i++)); do ceph -c "$C" osd stat 2>/dev/null | grep -q " 1 up" && break; sleep 0.5; done
  ceph -c "$C" auth get-or-create client.rgw.gw mon 'allow rw' osd 'allow rwx' > "$D/client.rgw.gw.keyring"
  radosgw -c "$C" -n client.rgw.gw || die "radosgw failed (see $D/log/client.rgw.gw.log)"
  wait_http "$EP/" "$READY_TIMEOUT" || die "radosgw not answering on $EP (see $D/log)"
  radosgw-admin -c "$C" user create --uid test --display-name test \
    --access-key "$AK" --secret "$SK" >/dev/null 2>"$D/log/user-create.log" ||
    die "radosgw-admin user create failed (see $D/log/user-create.log)"
  for ((i = 0; i < 40; i++)); do signed_ok && return 0; sleep 0.25; done
  die "radosgw answers but rejects the credentials"
}
rgw_stop() {
  kill_pidfile "$D/run/client.rgw.gw.pid"
  local f; for f in "$D"/run/osd.*.pid; do kill_pidfile "$f"; done
  kill_pidfile "$D/run/mon.a.pid"
}

# ---------------------------------------------------------------- s3rver
s3rver_start() {
  command -v node >/dev/null || die "node is needed for s3rver"
  local pkg=${S3RVER_PKG_DIR:-/tmp/test-s3-s3rver-pkg}   # npm install kept across start/stop
  rm -rf "$D/data" "$D/run"; mkdir -p "$D/data" "$D/run" "$D/log" "$pkg"
  if [ ! -x "$pkg/node_modules/.bin/s3rver" ]; then
    log "npm install s3rver@3.7.1 ..."
    (cd "$pkg" && npm install --no-audit --no-fund --silent s3rver@3.7.1 >/dev/null 2>&1) || die "npm install s3rver failed"
  fi
  cat > "$D/run/launch.js" <<'EOF'
// s3rver accepts only access keys present in its account registry (default S3RVER/S3RVER)
const path = require('path');
const S3rver = require(path.join(process.env.PKG, 'node_modules/s3rver'));
const { DUMMY_ACCOUNT } = require(path.join(process.env.PKG, 'node_modules/s3rver/lib/models/account'));
DUMMY_ACCOUNT.createKeyPair(process.env.AK, process.env.SK);
new S3rver({ address: '127.0.0.1', port: +process.env.PORT, silent: true,
             directory: path.join(process.env.S3_DIR, 'data') }).run().then(() => console.log('ready'));
EOF
  PKG=$pkg S3_DIR=$D AK=$AK SK=$SK PORT=$PORT nohup node "$D/run/launch.js" >"$D/log/s3rver.log" 2>&1 &
  echo $! > "$D/run/s3rver.pid"
  wait_http "$EP/" "$READY_TIMEOUT" || die "s3rver not answering (see $D/log/s3rver.log)"
}
s3rver_stop() { kill_pidfile "$D/run/s3rver.pid"; }

# ---------------------------------------------------------------- sink
sink_start() {
  apt_install nginx nginx
  [ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libnginx-mod-http-lua >/dev/null 2>&1 ||
    die "cannot install libnginx-mod-http-lua"
  rm -rf "$D"; mkdir -p "$D"/{run,log,tmp}
  cat > "$D/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
worker_processes ${SINK_WORKERS:-2};
pid $D/run/nginx.pid;
error_log $D/log/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $D/tmp;
  client_max_body_size 0;
  keepalive_requests 1000000;
  lua_socket_buffer_size 1m;     # big reads from the client socket (1.7+ GiB/s vs 0.7 without)
  client_body_buffer_size 1m;
  server {
    listen 127.0.0.1:$PORT reuseport backlog=4096;
    default_type application/xml;
    location / {
      content_by_lua_block {
        local m, args = ngx.req.get_method(), ngx.var.args or ""
        local bucket, key = ngx.var.uri:match("^/([^/]+)/?(.*)\$")
        local len, got = tonumber(ngx.var.http_content_length or "0") or 0, 0
        if len > 0 then                      -- read the whole body (64 KiB at a time) and drop it
          local sock, err = ngx.req.socket()
          if not sock then return ngx.exit(400) end
          sock:settimeout(60000)
          while got < len do
            local n = len - got; if n > 65536 then n = 65536 end
            local data = sock:receiveany(n)
            if not data then return ngx.exit(400) end
            got = got + #data
          end
        end
        local id = ngx.var.request_id
        if m == "POST" and (args == "uploads" or args:find("^uploads[=&]") or args:find("&uploads")) then
          ngx.say('<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>', bucket, '</Bucket><Key>', key, '</Key><UploadId>', id, '</UploadId></InitiateMultipartUploadResult>')
        elseif m == "POST" and args:find("uploadId=") then
          ngx.say('<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>', bucket, '</Bucket><Key>', key, '</Key><ETag>"', id, '-1"</ETag></CompleteMultipartUploadResult>')
        elseif m == "PUT" then
          ngx.header["ETag"] = '"' .. id .. '"'
          return ngx.exit(200)
        elseif m == "DELETE" then
          return ngx.exit(204)
        elseif m == "GET" and bucket ~= nil and key == "" and args:find("list%-type=2") then
          -- an empty bucket: clients check it exists before they upload
          ngx.say('<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>', bucket, '</Name><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>')
        elseif m == "GET" and bucket == nil then
          ngx.say('<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Buckets></Buckets></ListAllMyBucketsResult>')
        else
          ngx.status = 404
          ngx.say('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>sink stores nothing</Message></Error>')
        end
      }
    }
  }
}
EOF
  nginx -c "$D/nginx.conf" -p "$D" -t >/dev/null 2>"$D/log/nginx-t.log" || die "bad nginx config (see $D/log/nginx-t.log)"
  nginx -c "$D/nginx.conf" -p "$D" || die "nginx failed to start"
  wait_http "$EP/" "$READY_TIMEOUT" || die "sink not answering"
}
sink_stop() { kill_pidfile "$D/run/nginx.pid"; }

# ---------------------------------------------------------------- main
case "$CMD" in
  start)
    AK=${3:-}; SK=${4:-}
    [[ -n "$AK" && -n "$SK" ]] || die "usage: $0 start PORT ACCESS_KEY SECRET_KEY"
    if [ -f "$D/backend" ]; then          # leftovers of an earlier run on this port
      log "stale state in $D: stopping it first"; "$(cat "$D/backend")_stop" || true
    fi
    port_busy "$PORT" && die "port $PORT is already in use"
    t0=$SECONDS
    case "$BACKEND" in rgw|s3rver|sink) ;; *) die "S3_BACKEND must be rgw, s3rver or sink";; esac
    mkdir -p "$D"
    "${BACKEND}_start"
    echo "$BACKEND" > "$D/backend"
    [ "$BACKEND" = sink ] || make_buckets
    log "$BACKEND ready on $EP after $((SECONDS - t0)) s (state in $D)"
    echo "S3_ENDPOINT=$EP"
    ;;
  stop)
    [ -f "$D/backend" ] && BACKEND=$(cat "$D/backend")
    "${BACKEND}_stop"
    [ "${KEEP_DATA:-0}" = 1 ] || rm -rf "$D"
    log "stopped $BACKEND on port $PORT"
    ;;
  status)
    curl -s -o /dev/null --max-time 3 "$EP/" && { echo "up: $EP"; exit 0; } || { echo "down: $EP"; exit 1; }
    ;;
  *) die "unknown command $CMD (start|stop|status)";;
esac
