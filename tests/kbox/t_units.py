#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The box's parsers and patch engines on their own (no server): well-formed and malformed input.

Label selector grammar (k8s.io/apimachinery labels), RFC 7386 merge patch, RFC 6902
JSON patch (every op, bad pointers), strategic merge directives, managedFields
(FieldsV1) round trips, and the protobuf envelope decoder on truncated bytes.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kboxtest import check, eq, finish  # noqa: E402
from kboxd import patches, proto, selectors  # noqa: E402
from kboxd.util import ApiError  # noqa: E402


def raises(fn, code):
    try:
        fn()
    except ApiError as e:
        return e.code == code
    return False


LAB = "k8s.io/apimachinery/pkg/labels grammar"
eq("selector: all operators", selectors.parse_labels("a=b,c==d,e!=f,g in (h, i),j notin (k),l,!m"),
   [("a", "=", ["b"]), ("c", "=", ["d"]), ("e", "!=", ["f"]), ("g", "in", ["h", "i"]), ("j", "notin", ["k"]),
    ("l", "exists", []), ("m", "!exists", [])], LAB)
check("selector: != matches an absent key", selectors.match_reqs(selectors.parse_labels("a!=b"), {}), ref=LAB)
check("selector: notin matches an absent key", selectors.match_reqs(selectors.parse_labels("a notin (b)"), {}), ref=LAB)
check("selector: in needs the key", not selectors.match_reqs(selectors.parse_labels("a in (b)"), {}), ref=LAB)
for bad in ("a in b", "a in (b", "=b", "a b", "a,,", "!"):
    check(f"selector {bad!r} is a 400", raises(lambda: selectors.parse_labels(bad), 400), ref=LAB)
eq("LabelSelector object -> string (Scale.status.selector)",
   selectors.selector_object_to_string({"matchLabels": {"b": "2", "a": "1"},
                                        "matchExpressions": [{"key": "c", "operator": "In", "values": ["y", "x"]},
                                                             {"key": "d", "operator": "DoesNotExist"}]}),
   "!d,a=1,b=2,c in (x,y)", "CONTROLPLANE.md §6.3")

eq("merge patch: nested null deletes, lists replace", patches.merge_patch({"a": {"b": 1, "c": [1, 2]}, "d": 1},
                                                                          {"a": {"b": None, "c": [3]}}),
   {"a": {"c": [3]}, "d": 1}, "RFC 7386")
doc = {"a": [1, 2], "b": {"c": "x"}}
eq("json patch: add at index, move, copy, remove", patches.json_patch(doc, [
    {"op": "add", "path": "/a/1", "value": 9}, {"op": "move", "from": "/b/c", "path": "/m"},
    {"op": "copy", "from": "/m", "path": "/n"}, {"op": "remove", "path": "/a/0"}, {"op": "add", "path": "/a/-", "value": 7}]),
   {"a": [9, 2, 7], "b": {}, "m": "x", "n": "x"}, "RFC 6902")
eq("json patch: ~1 and ~0 escapes", patches.json_patch({"a/b": {"c~d": 1}}, [{"op": "replace", "path": "/a~1b/c~0d", "value": 2}]),
   {"a/b": {"c~d": 2}}, "RFC 6901")
for bad in ([{"op": "remove", "path": "/zz"}], [{"op": "replace", "path": "/a/9", "value": 1}],
            [{"op": "add", "path": "nope", "value": 1}], [{"op": "test", "path": "/a/0", "value": 5}]):
    check(f"json patch {bad} is a 422", raises(lambda: patches.json_patch(doc, bad), 422), ref="CONTROLPLANE.md §6.3")
check("json patch that is not a list is a 400", raises(lambda: patches.json_patch(doc, {"op": "add"}), 400))
eq("json patch leaves its input alone", doc, {"a": [1, 2], "b": {"c": "x"}}, "RFC 6902")

from kboxd.schema import model_schema  # noqa: E402
pod = model_schema("V1PodSpec")
base = {"containers": [{"name": "a", "image": "1", "env": [{"name": "X", "value": "1"}]}, {"name": "b", "image": "2"}],
        "volumes": [{"name": "v", "emptyDir": {}}]}
eq("SMP: $setElementOrder reorders a merged list", [c["name"] for c in patches.strategic_merge(base, {
    "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}], "containers": [{"name": "a", "image": "3"}]}, pod)["containers"]],
   ["b", "a"], "SMP directives")
eq("SMP: $retainKeys drops the old volume source", patches.strategic_merge(base, {
    "volumes": [{"name": "v", "$retainKeys": ["name", "hostPath"], "hostPath": {"path": "/x"}}]}, pod)["volumes"],
   [{"name": "v", "hostPath": {"path": "/x"}}], "core/v1 PodSpec.Volumes patchStrategy merge,retainKeys")
eq("SMP: $patch replace on a list element replaces the list", [c["name"] for c in patches.strategic_merge(base, {
    "containers": [{"name": "z", "image": "9"}, {"$patch": "replace"}]}, pod)["containers"]], ["z"], "SMP directives")
eq("SMP: a list without a patch strategy is replaced whole (tolerations)",
   patches.strategic_merge({"tolerations": [{"key": "a"}]}, {"tolerations": [{"key": "b"}]}, pod)["tolerations"],
   [{"key": "b"}], "core/v1 PodSpec.Tolerations has no patch tags")
check("SMP: an element without its merge key is a 400",
      raises(lambda: patches.strategic_merge(base, {"containers": [{"image": "x"}]}, pod), 400), ref="SMP")

fs = patches.fieldset({"metadata": {"name": "x", "labels": {"a": "1"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
                      model_schema("V1Pod"), True)
eq("managedFields: FieldsV1 round trip", patches.decode_fields(patches.encode_fields(fs)), fs, "Server-Side Apply")
check("managedFields: list-map items keyed by name", ("f:spec", "f:containers", 'k:{"name":"c"}', "f:image") in fs, sorted(fs), ref="Server-Side Apply")

for bad in (b"k8s\x00\x0a\xff", b"k8s\x00\x0a\x05ab", b"nope", b"k8s\x00" + b"\x80" * 20):
    check(f"protobuf body {bad!r} is refused, not crashed on", raises(lambda: proto.decode(bad), 400), ref="COMMON.md bad input")

finish()
