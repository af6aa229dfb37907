# SPDX-License-Identifier: MIT
"""kboxd.snapmeta: the CSI SnapshotMetadata service of the box's drivers (KEP-3314,
kubernetes-csi/external-snapshot-metadata proto/schema.proto, CONTROLPLANE.md §2.4).

gRPC (Debian's python3-grpcio, messages encoded by hand below from the proto's field
numbers) over TLS, both calls server-streaming:
  GetMetadataAllocated{security_token=1, namespace=2, snapshot_name=3, starting_offset=4,
                       max_results=5}
  GetMetadataDelta{security_token=1, namespace=2, base_snapshot_id=3 (the base content's
                   status.snapshotHandle), target_snapshot_name=4, starting_offset=5,
                   max_results=6}
  -> stream of {block_metadata_type=1 (FIXED_LENGTH=1, VARIABLE_LENGTH=2),
                volume_capacity_bytes=2, block_metadata=3 [{byte_offset=1, size_bytes=2}]}
Each request is authenticated as the sidecar does it: a TokenReview of security_token
for the service's audience, then a SubjectAccessReview of `get volumesnapshots` in the
namespace for that user (UNAUTHENTICATED / PERMISSION_DENIED otherwise). The answer
comes from FIEMAP of the snapshots' reflink copies (csi.changed_ranges,
csi.allocated_ranges): disk.csi.kbox.io answers in FIXED_LENGTH 4 KiB blocks,
hostpath.csi.kbox.io in VARIABLE_LENGTH extents; tuples are strictly increasing across
messages, none ends before starting_offset (a resumed stream starts in the block holding
it), at most max_results per message (256 when 0).

Where it is: one server for both drivers, listening on 172.30.0.1:50051 in the box's
fabric (reached from pods through the Service kube-system/kbox-snapshot-metadata, port
6443, whose EndpointSlice names that address) and on 127.0.0.1:<port in
DIR/storage/snapmeta.port> for the host. Its certificate (DIR/storage/snapmeta.crt, the
box's CA) names the Service (DNS kbox-snapshot-metadata.kube-system.svc, its ClusterIP),
172.30.0.1 and 127.0.0.1. The cluster-scoped SnapshotMetadataService objects
(cbt.storage.k8s.io/v1beta1, one per driver, named after it) give spec.address
<ClusterIP>:6443 (the box has no DNS), spec.audience and spec.caCert (the box's CA).
"""
import os
import subprocess

from . import csi

SERVICE = "snapshotmetadata.SnapshotMetadata"
AUDIENCE = "kbox-snapshot-metadata"
NS = "kube-system"
SVC = "kbox-snapshot-metadata"
SVC_PORT = 6443
FABRIC_PORT = 50051
DEFAULT_MAX = 256
TYPES = {"FIXED_LENGTH": 1, "VARIABLE_LENGTH": 2}


# ---------------------------------------------------------------- protobuf wire format
def _varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(num, wt):
    return _varint(num << 3 | wt)


def _read_varint(buf, i):
    n = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("truncated or overlong varint")
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def decode(buf):
    """-> {field number: [values]}: varints as unsigned ints, length-delimited as bytes."""
    out = {}
    i = 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if num == 0:
            raise ValueError("field number 0")
        if wt == 0:
            v, i = _read_varint(buf, i)
        elif wt == 1:
            if i + 8 > len(buf):
                raise ValueError("truncated fixed64")
            v, i = int.from_bytes(buf[i:i + 8], "little"), i + 8
        elif wt == 2:
            n, i = _read_varint(buf, i)
            if i + n > len(buf):
                raise ValueError("truncated length-delimited field")
            v, i = bytes(buf[i:i + n]), i + n
        elif wt == 5:
            if i + 4 > len(buf):
                raise ValueError("truncated fixed32")
            v, i = int.from_bytes(buf[i:i + 4], "little"), i + 4
        else:
            raise ValueError(f"wire type {wt}")
        out.setdefault(num, []).append(v)
    return out


def _int64(u):
    return u - (1 << 64) if u >= 1 << 63 else u


def _int32(u):
    u &= (1 << 32) - 1
    return u - (1 << 32) if u >= 1 << 31 else u


def _field(d, num, kind, default):
    vals = d.get(num)
    if not vals:
        return default
    v = vals[-1]  # proto3: the last one wins
    if kind == "string":
        if not isinstance(v, bytes):
            raise ValueError(f"field {num}: not a string")
        return v.decode("utf-8")
    if isinstance(v, bytes):
        raise ValueError(f"field {num}: not a number")
    return _int64(v) if kind == "int64" else _int32(v)


REQUESTS = {
    "GetMetadataAllocated": (("security_token", 1, "string", ""), ("namespace", 2, "string", ""),
                             ("snapshot_name", 3, "string", ""), ("starting_offset", 4, "int64", 0),
                             ("max_results", 5, "int32", 0)),
    "GetMetadataDelta": (("security_token", 1, "string", ""), ("namespace", 2, "string", ""),
                         ("base_snapshot_id", 3, "string", ""), ("target_snapshot_name", 4, "string", ""),
                         ("starting_offset", 5, "int64", 0), ("max_results", 6, "int32", 0)),
}


def decode_request(method, buf):
    d = decode(buf)
    return {name: _field(d, num, kind, dflt) for name, num, kind, dflt in REQUESTS[method]}


def encode_response(r):
    out = bytearray()
    if r["block_metadata_type"]:
        out += _key(1, 0) + _varint(r["block_metadata_type"])
    if r["volume_capacity_bytes"]:
        out += _key(2, 0) + _varint(r["volume_capacity_bytes"])
    for off, size in r["block_metadata"]:
        m = (_key(1, 0) + _varint(off) if off else b"") + (_key(2, 0) + _varint(size) if size else b"")
        out += _key(3, 2) + _varint(len(m)) + m
    return bytes(out)


def decode_response(buf):
    """The client side of encode_response (for kbox's own tools)."""
    d = decode(buf)
    blocks = []
    for m in d.get(3, []):
        b = decode(m)
        blocks.append((_field(b, 1, "int64", 0), _field(b, 2, "int64", 0)))
    return {"block_metadata_type": _field(d, 1, "int32", 0), "volume_capacity_bytes": _field(d, 2, "int64", 0),
            "block_metadata": blocks}


def blocks_of(ranges, kind, start):
    """Ranges -> tuples of the driver's type, none ending at or before start (FIXED_LENGTH: 4 KiB
    blocks; VARIABLE_LENGTH: the extents, the first cut at start's block)."""
    first = start // csi.BLOCK * csi.BLOCK
    for off, ln in ranges:
        end = off + ln
        if end <= first:
            continue
        off = max(off, first)
        if kind == "FIXED_LENGTH":
            for b in range(off, end, csi.BLOCK):
                yield (b, csi.BLOCK)
        else:
            yield (off, end - off)


# ---------------------------------------------------------------- the service
class Service:
    def __init__(self, box, pools):
        self.box = box
        self.pools = pools
        self.server = None
        self.port = None

    # -- auth, as the sidecar's authenticator and authorizer
    def _review(self, group, plural, body):
        api = self.box.api
        res = self.box.reg.lookup(group, "v1", plural)
        r = api.system_request(res, "", "", "POST", body)
        r.headers["Content-Type"] = "application/json"
        return api.create(r)[1]

    def authorize(self, ctx, token, ns):
        import grpc
        if not token:
            ctx.abort(grpc.StatusCode.UNAUTHENTICATED, "security token is required")
        tr = self._review("authentication.k8s.io", "tokenreviews", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": token, "audiences": [AUDIENCE]}})
        st = tr.get("status") or {}
        if not st.get("authenticated"):
            ctx.abort(grpc.StatusCode.UNAUTHENTICATED, "unauthenticated user")
        u = st.get("user") or {}
        sar = self._review("authorization.k8s.io", "subjectaccessreviews", {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": u.get("username", ""), "groups": u.get("groups") or [], "uid": u.get("uid", ""),
                     "resourceAttributes": {"namespace": ns, "verb": "get", "group": "snapshot.storage.k8s.io",
                                            "resource": "volumesnapshots"}}})
        if not (sar.get("status") or {}).get("allowed"):
            ctx.abort(grpc.StatusCode.PERMISSION_DENIED, f"user \"{u.get('username')}\" is not authorized to get "
                                                         f"volumesnapshots in namespace \"{ns}\"")

    def snapshot(self, ctx, ns, name):
        """A VolumeSnapshot's (pool, handle, content)."""
        import grpc
        st = self.box.store
        vs = st.get(("snapshot.storage.k8s.io", "volumesnapshots", ns, name))
        if vs is None:
            ctx.abort(grpc.StatusCode.NOT_FOUND, f"volumesnapshot \"{ns}/{name}\" not found")
        cname = (vs.get("status") or {}).get("boundVolumeSnapshotContentName")
        if not (vs.get("status") or {}).get("readyToUse") or not cname:
            ctx.abort(grpc.StatusCode.UNAVAILABLE, f"volumesnapshot \"{ns}/{name}\" is not ready to use")
        vsc = st.get(("snapshot.storage.k8s.io", "volumesnapshotcontents", "", cname)) or {}
        handle = (vsc.get("status") or {}).get("snapshotHandle")
        pool = self.pools.get((vsc.get("spec") or {}).get("driver"))
        if not handle or pool is None:
            ctx.abort(grpc.StatusCode.UNAVAILABLE, f"volumesnapshot \"{ns}/{name}\" has no snapshot of this driver")
        return pool, handle

    def _stream(self, ctx, kind, size, ranges, start, max_results):
        import grpc
        if start < 0:
            ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, "starting_offset cannot be negative")
        if max_results < 0:
            ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, "max_results cannot be negative")
        if start >= size > 0:
            ctx.abort(grpc.StatusCode.OUT_OF_RANGE, f"starting_offset {start} is beyond the volume size {size}")
        n = max_results or DEFAULT_MAX
        batch = []
        for b in blocks_of(ranges, kind, start):
            batch.append(b)
            if len(batch) == n:
                yield {"block_metadata_type": TYPES[kind], "volume_capacity_bytes": size, "block_metadata": batch}
                batch = []
        if batch:
            yield {"block_metadata_type": TYPES[kind], "volume_capacity_bytes": size, "block_metadata": batch}

    def allocated(self, req, ctx):
        import grpc
        ns = req["namespace"] or "default"
        self.authorize(ctx, req["security_token"], ns)
        if not req["snapshot_name"]:
            ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, "snapshot_name is required")
        pool, handle = self.snapshot(ctx, ns, req["snapshot_name"])
        try:
            meta, ext = pool.snapshot_extents(handle)
        except csi.CsiError as e:
            ctx.abort(grpc.StatusCode.NOT_FOUND, e.message)
        yield from self._stream(ctx, pool.driver.cbt_type, meta["size"], csi.allocated_ranges(ext, meta["size"]),
                                req["starting_offset"], req["max_results"])

    def delta(self, req, ctx):
        import grpc
        ns = req["namespace"] or "default"
        self.authorize(ctx, req["security_token"], ns)
        if not req["base_snapshot_id"] or not req["target_snapshot_name"]:
            ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, "base_snapshot_id and target_snapshot_name are required")
        pool, handle = self.snapshot(ctx, ns, req["target_snapshot_name"])
        try:
            meta, ext = pool.snapshot_extents(handle)
            base = pool.snapshot(req["base_snapshot_id"])
            if base is None:
                raise csi.CsiError("NotFound", f"base snapshot {req['base_snapshot_id']} not found")
            if base["source"] != meta["source"]:
                ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, f"base snapshot {req['base_snapshot_id']} is not a "
                                                            f"snapshot of volume {meta['source']}")
            if base["created"] > meta["created"]:
                ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, "the base snapshot was taken after the target snapshot")
            _, bext = pool.snapshot_extents(req["base_snapshot_id"])
        except csi.CsiError as e:
            ctx.abort(grpc.StatusCode.NOT_FOUND, e.message)
        yield from self._stream(ctx, pool.driver.cbt_type, meta["size"], csi.changed_ranges(bext, ext, meta["size"]),
                                req["starting_offset"], req["max_results"])

    # -- start
    def start(self, fabric_netns):
        import grpc
        from concurrent import futures
        d = self.pools.dir
        cluster_ip = self.objects_service()
        crt, key = self.certificate(cluster_ip)
        creds = grpc.ssl_server_credentials([(open(key, "rb").read(), open(crt, "rb").read())])
        handlers = {
            "GetMetadataAllocated": grpc.unary_stream_rpc_method_handler(
                self.allocated, request_deserializer=lambda b: decode_request("GetMetadataAllocated", b),
                response_serializer=encode_response),
            "GetMetadataDelta": grpc.unary_stream_rpc_method_handler(
                self.delta, request_deserializer=lambda b: decode_request("GetMetadataDelta", b),
                response_serializer=encode_response)}
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="snapmeta"))
        self.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        self.port = self.server.add_secure_port("127.0.0.1:0", creds)
        from .cluster import FABRIC_IP, NetnsThread
        with NetnsThread(fabric_netns):  # the listening socket is made in the calling thread's namespace
            self.server.add_secure_port(f"{FABRIC_IP}:{FABRIC_PORT}", creds)
        self.server.start()
        with open(os.path.join(d, "snapmeta.port"), "w") as f:
            f.write(f"{self.port}\n")
        self.objects_crs(cluster_ip)
        return self

    def stop(self):
        if self.server is not None:
            self.server.stop(0)

    def certificate(self, cluster_ip):
        d = self.pools.dir
        crt, key = os.path.join(d, "snapmeta.crt"), os.path.join(d, "snapmeta.key")
        sans = (f"DNS:{SVC}.{NS}.svc,DNS:{SVC}.{NS}.svc.cluster.local,DNS:{SVC}.{NS},IP:{cluster_ip},"
                "IP:172.30.0.1,IP:127.0.0.1")
        cnf = os.path.join(d, "snapmeta.cnf")
        with open(cnf, "w") as f:
            f.write("[req]\ndistinguished_name=dn\nx509_extensions=v3\nprompt=no\n[dn]\nCN=" + SVC + "\n"
                    "[v3]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                    f"extendedKeyUsage=serverAuth\nsubjectAltName={sans}\nsubjectKeyIdentifier=hash\n"
                    "authorityKeyIdentifier=keyid\n")
        box = self.box.dir
        r = subprocess.run(["openssl", "req", "-x509", "-config", cnf, "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-sha256", "-days", "3650",
                            "-CA", os.path.join(box, "ca.crt"), "-CAkey", os.path.join(box, "ca.key"),
                            "-keyout", key, "-out", crt], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise OSError(f"openssl: {r.stdout.strip()}")
        os.chmod(key, 0o600)
        return crt, key

    def objects_service(self):
        """The Service and its EndpointSlice (selectorless, as the kubernetes Service is)."""
        box = self.box
        box.ensure("", "v1", "services", {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": SVC, "namespace": NS, "labels": {"app.kubernetes.io/name": SVC}},
            "spec": {"type": "ClusterIP", "ports": [{"name": "grpc", "port": SVC_PORT, "protocol": "TCP",
                                                     "targetPort": FABRIC_PORT}]}})
        box.ensure("discovery.k8s.io", "v1", "endpointslices", {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": SVC, "namespace": NS, "labels": {"kubernetes.io/service-name": SVC}},
            "addressType": "IPv4", "endpoints": [{"addresses": ["172.30.0.1"], "conditions": {"ready": True}}],
            "ports": [{"name": "grpc", "port": FABRIC_PORT, "protocol": "TCP"}]}, replace=True)
        svc = box.store.get(("", "services", NS, SVC))
        return svc["spec"]["clusterIP"]

    def objects_crs(self, cluster_ip):
        import base64
        box = self.box
        box.ensure("apiextensions.k8s.io", "v1", "customresourcedefinitions", crd())
        ca = open(os.path.join(box.dir, "ca.crt"), "rb").read()
        for name in csi.DRIVERS:
            box.ensure("cbt.storage.k8s.io", "v1beta1", "snapshotmetadataservices", {
                "apiVersion": "cbt.storage.k8s.io/v1beta1", "kind": "SnapshotMetadataService",
                "metadata": {"name": name},
                "spec": {"address": f"{cluster_ip}:{SVC_PORT}", "audience": AUDIENCE,
                         "caCert": base64.b64encode(ca).decode()}}, replace=True)


def crd():
    """snapshotmetadataservices.cbt.storage.k8s.io, as external-snapshot-metadata installs it
    (client/apis/snapshotmetadataservice/v1beta1/types.go)."""
    s = {"type": "string"}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "snapshotmetadataservices.cbt.storage.k8s.io",
                         "annotations": {"api-approved.kubernetes.io":
                                         "https://github.com/kubernetes-csi/external-snapshot-metadata/pull/2"}},
            "spec": {"group": "cbt.storage.k8s.io", "scope": "Cluster",
                     "names": {"plural": "snapshotmetadataservices", "singular": "snapshotmetadataservice",
                               "kind": "SnapshotMetadataService", "listKind": "SnapshotMetadataServiceList",
                               "shortNames": ["sms"]},
                     "versions": [{"name": "v1beta1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                         "type": "object", "required": ["spec"], "properties": {
                             "apiVersion": s, "kind": s, "metadata": {"type": "object"},
                             "spec": {"type": "object", "required": ["address", "audience", "caCert"], "properties": {
                                 "address": s, "audience": s, "caCert": {"type": "string", "format": "byte"}}}}}}}]}}


def start(box, pools):
    """-> the running Service, or None (python3-grpcio missing: said in the log)."""
    try:
        import grpc
        del grpc
    except ImportError:
        print("kbox: python3-grpcio is missing: no SnapshotMetadata service (tests/install-deps.sh)", flush=True)
        return None
    return Service(box, pools).start(f"/run/netns/{box.cluster.fabric}")

