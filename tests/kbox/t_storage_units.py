#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Units of the box's storage without a box: extent arithmetic (changed and allocated ranges
from FIEMAP, on synthetic extents and on a real sparse file), quantities, the
SnapshotMetadata messages' wire format (checked against python3-protobuf when present) and
malformed request bytes."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kboxtest import check, eq, finish  # noqa: E402
from kboxd import csi, snapmeta  # noqa: E402

REF = "issue 14"
K = 4096
U = csi.FIEMAP_EXTENT_UNWRITTEN

# ---- changed ranges: a block differs when its mapping differs
base = [(0, 1000 * K, 4 * K, 0), (8 * K, 2000 * K, 2 * K, 0)]
target = [(0, 1000 * K, K, 0), (K, 5000 * K, K, 0), (2 * K, 1002 * K, 2 * K, 0), (8 * K, 2000 * K, 2 * K, 0),
          (12 * K, 7000 * K, K, 0)]
eq("a rewritten block (new physical place) and a newly written one are changed, shared ones are not",
   csi.changed_ranges(base, target, 16 * K), [(K, K), (12 * K, K)], REF)
eq("a block written in the base and punched in the target is changed", csi.changed_ranges(base, base[:1], 16 * K),
   [(8 * K, 2 * K)], REF)
eq("identical mappings: nothing changed", csi.changed_ranges(base, list(base), 16 * K), [], REF)
eq("adjacent changed blocks merge into one range", csi.changed_ranges([], [(0, 9 * K, K, 0), (K, 3 * K, K, 0)], 4 * K),
   [(0, 2 * K)], REF)
eq("an unwritten extent reads as zeros: a hole", csi.changed_ranges([], [(0, 9 * K, 4 * K, U)], 4 * K), [], "FIEMAP_EXTENT_UNWRITTEN")
eq("extents past the volume's size are cut", csi.changed_ranges([], [(2 * K, 9 * K, 8 * K, 0)], 4 * K), [(2 * K, 2 * K)], REF)
eq("allocated ranges merge adjacent extents and skip unwritten ones",
   csi.allocated_ranges([(0, 5 * K, K, 0), (K, 9 * K, K, 0), (3 * K, 1 * K, K, U), (5 * K, 7 * K, K, 0)], 8 * K),
   [(0, 2 * K), (5 * K, K)], REF)

# ---- FIEMAP of a real sparse file (the host's /tmp)
with tempfile.NamedTemporaryFile(dir=os.environ.get("TMPDIR", "/tmp")) as f:
    f.truncate(64 << 20)
    os.pwrite(f.fileno(), b"x" * K, 0)
    os.pwrite(f.fileno(), b"y" * K, 32 << 20)
    os.fsync(f.fileno())
    try:
        ext = csi.fiemap(f.fileno())
        eq("FIEMAP of a sparse file with two written blocks: two allocated 4 KiB ranges",
           csi.allocated_ranges(ext, 64 << 20), [(0, K), (32 << 20, K)], "FS_IOC_FIEMAP")
    except OSError as e:
        print(f"(FIEMAP not supported here: {e})")

# ---- quantities as resource.NewQuantity(n, BinarySI) prints them
eq("bytes print as BinarySI quantities", [csi.quantity(x) for x in (1 << 30, 3 << 29, 1000, 0, 16 << 30, 4096)],
   ["1Gi", "1536Mi", "1000", "0", "16Gi", "4Ki"], "apimachinery resource.Quantity")

# ---- the wire format
req = (snapmeta._key(1, 2) + snapmeta._varint(3) + b"tok" + snapmeta._key(2, 2) + snapmeta._varint(2) + b"ns" +
       snapmeta._key(3, 2) + snapmeta._varint(4) + b"base" + snapmeta._key(4, 2) + snapmeta._varint(1) + b"t" +
       snapmeta._key(5, 0) + snapmeta._varint(-1) + snapmeta._key(6, 0) + snapmeta._varint(7) +
       snapmeta._key(99, 2) + snapmeta._varint(1) + b"z")
eq("a GetMetadataDeltaRequest decodes (negative int64 as ten bytes, unknown fields skipped)",
   snapmeta.decode_request("GetMetadataDelta", req),
   {"security_token": "tok", "namespace": "ns", "base_snapshot_id": "base", "target_snapshot_name": "t",
    "starting_offset": -1, "max_results": 7}, "schema.proto")
eq("the last value of a repeated scalar wins (proto3)",
   snapmeta.decode_request("GetMetadataAllocated", snapmeta._key(5, 0) + b"\x01" + snapmeta._key(5, 0) + b"\x02")["max_results"],
   2, "protobuf encoding")
for what, bad in (("a truncated varint", b"\x08\xff"), ("a length past the end", b"\x0a\x05ab"), ("wire type 3", b"\x0b"),
                  ("field number 0", b"\x00\x01"), ("an overlong varint", b"\x08" + b"\xff" * 11 + b"\x01"),
                  ("a string field holding a varint", b"\x08\x01"), ("a number field holding bytes", b"\x22\x01a"),
                  ("invalid UTF-8 in a string", b"\x0a\x01\xff")):
    try:
        snapmeta.decode_request("GetMetadataAllocated", bad)
        check(f"{what} is refused", False, "decoded", "ValueError", "protobuf encoding")
    except ValueError:
        check(f"{what} is refused", True)
resp = {"block_metadata_type": 2, "volume_capacity_bytes": 16 << 30, "block_metadata": [(0, K), (1 << 33, 3 * K)]}
eq("a response round-trips", snapmeta.decode_response(snapmeta.encode_response(resp)), resp, "schema.proto")
eq("FIXED_LENGTH: 4 KiB tuples from the block holding starting_offset",
   list(snapmeta.blocks_of([(0, 3 * K), (10 * K, K)], "FIXED_LENGTH", K + 5)), [(K, K), (2 * K, K), (10 * K, K)], "schema.proto")
eq("VARIABLE_LENGTH: extents, the first cut at the block holding starting_offset",
   list(snapmeta.blocks_of([(0, 3 * K), (10 * K, K)], "VARIABLE_LENGTH", K + 5)), [(K, 2 * K), (10 * K, K)], "schema.proto")
try:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name="kbox_units_snapmeta.proto", package="snapshotmetadata", syntax="proto3")
    bm = fdp.message_type.add(name="BlockMetadata")
    bm.field.add(name="byte_offset", number=1, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    bm.field.add(name="size_bytes", number=2, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    r = fdp.message_type.add(name="Resp")
    r.field.add(name="block_metadata_type", number=1, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    r.field.add(name="volume_capacity_bytes", number=2, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    r.field.add(name="block_metadata", number=3, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                type_name=".snapshotmetadata.BlockMetadata")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    Resp = message_factory.MessageFactory(pool).GetPrototype(pool.FindMessageTypeByName("snapshotmetadata.Resp"))
    m = Resp.FromString(snapmeta.encode_response(resp))
    eq("python3-protobuf reads the box's encoding", (m.block_metadata_type, m.volume_capacity_bytes,
                                                     [(b.byte_offset, b.size_bytes) for b in m.block_metadata]),
       (2, 16 << 30, [(0, K), (1 << 33, 3 * K)]), "schema.proto")
    eq("... and the box reads python3-protobuf's", snapmeta.decode_response(m.SerializeToString()), resp, "schema.proto")
except ImportError:
    print("(python3-protobuf missing: the cross-check is skipped)")
finish()
