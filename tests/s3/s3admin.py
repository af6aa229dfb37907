#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/s3/s3admin.py - bucket set-up the store API does not do, for S3 tests.

  s3admin.py ENDPOINT mkbucket NAME [--versioning] [--object-lock-days N] [-- MORE]
  s3admin.py ENDPOINT rmbucket NAME [-- MORE]

MORE is another command (mkbucket ... or rmbucket ...): one process for all,
as importing botocore takes most of a second.

Credentials and region come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_REGION. Requests are signed with botocore's SigV4 (independent of ferry's).
mkbucket creates NAME (path style); --versioning enables versioning
(PutBucketVersioning); --object-lock-days creates it with Object Lock
(x-amz-bucket-object-lock-enabled) and a default GOVERNANCE retention of N
days (PutObjectLockConfiguration). rmbucket deletes every version and delete
marker, bypassing GOVERNANCE retention, aborts every multipart upload and
deletes the bucket. Exits 1 with the server's answer on any failure.
"""
import base64
import hashlib
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def call(ep, method, path, query="", body=b"", headers=None, ok=(200, 204)):
    url = ep.rstrip("/") + path + ("?" + query if query else "")
    h = dict(headers or {})
    h["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    if body:
        h["Content-MD5"] = base64.b64encode(hashlib.md5(body).digest()).decode()
    req = AWSRequest(method=method, url=url, data=body, headers=h)
    creds = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    S3SigV4Auth(creds, "s3", os.environ.get("AWS_REGION", "us-east-1")).add_auth(req)
    r = urllib.request.Request(url, data=body if body else None, method=method,
                               headers=dict(req.headers.items()))
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, data = e.code, e.read()
    if status not in ok:
        sys.exit("s3admin: %s %s?%s: HTTP %d %s" % (method, path, query, status, data[:300]))
    return status, data


def mkbucket(ep, name, versioning, lock_days):
    hdrs = {"x-amz-bucket-object-lock-enabled": "true"} if lock_days else {}
    call(ep, "PUT", "/" + name, headers=hdrs)
    if versioning:
        call(ep, "PUT", "/" + name, "versioning=",
             b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
             b"<Status>Enabled</Status></VersioningConfiguration>")
    if lock_days:
        call(ep, "PUT", "/" + name, "object-lock=",
             ('<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
              "<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>"
              "<Mode>GOVERNANCE</Mode><Days>%d</Days></DefaultRetention></Rule>"
              "</ObjectLockConfiguration>" % lock_days).encode())


def find(el, tag):
    v = el.find(NS + tag)
    if v is None:
        v = el.find(tag)
    return v.text if v is not None and v.text else ""


def children(root, tag):
    return root.findall(NS + tag) + root.findall(tag)


def rmbucket(ep, name):
    while True:
        _, data = call(ep, "GET", "/" + name, "versions=")
        root = ET.fromstring(data)
        items = children(root, "Version") + children(root, "DeleteMarker")
        for v in items:
            q = "versionId=" + urllib.parse.quote(find(v, "VersionId"), safe="")
            call(ep, "DELETE", "/" + name + "/" + urllib.parse.quote(find(v, "Key")), q,
                 headers={"x-amz-bypass-governance-retention": "true"})
        if not items:
            break
    _, data = call(ep, "GET", "/" + name, "uploads=")
    for u in children(ET.fromstring(data), "Upload"):
        q = "uploadId=" + urllib.parse.quote(find(u, "UploadId"), safe="")
        call(ep, "DELETE", "/" + name + "/" + urllib.parse.quote(find(u, "Key")), q,
             ok=(200, 204, 404))
    call(ep, "DELETE", "/" + name)


def run(ep, cmd, name, rest):
    if cmd == "mkbucket":
        lock = int(rest[rest.index("--object-lock-days") + 1]) if "--object-lock-days" in rest else 0
        mkbucket(ep, name, "--versioning" in rest, lock)
    elif cmd == "rmbucket":
        rmbucket(ep, name)
    else:
        sys.exit(__doc__)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    ep, args = sys.argv[1], sys.argv[2:]
    while args:
        group = args[:args.index("--")] if "--" in args else args
        args = args[len(group) + 1:]
        if len(group) < 2:
            sys.exit(__doc__)
        run(ep, group[0], group[1], group[2:])


main()
