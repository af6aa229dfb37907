#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/s3/sigv4_vectors.py COUNT SEED - random S3 requests signed by botocore.

Prints one JSON object per line: the request (method, host, key as UTF-8 hex,
query parameters, headers, body as hex, credentials, region, timestamp), the
payload hash botocore used, its canonical request and its Authorization
header. t_sigv4 signs the same requests with s3/sigv4.c and compares.
botocore's S3SigV4Auth is SigV4Auth with S3's rules (the path is signed as
sent, no normalisation): exactly what an S3 server checks.
"""
import json
import random
import sys
from urllib.parse import quote

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

count, seed = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(seed)

KEY_CHARS = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
             + list("-_.~/ +=&%!*'()$@:;,?#[]{}^|`\"<>\\")
             + ["é", "ü", "ß", "日本", "語", "€", "😀", "Ω", "\u00a0"])
VAL_CHARS = list("abcXYZ0129-_.~ +=&%/!*'()$@:;,?#") + ["é", "日", "😀"]
HDR_CHARS = list("abcdefXYZ0189-_.~+=&%/!*'()$@:;,?#\"") + [" ", " ", "  "]


def rstr(chars, lo, hi):
    return "".join(rnd.choice(chars) for _ in range(rnd.randint(lo, hi)))


for i in range(count):
    method = rnd.choice(["GET", "PUT", "POST", "DELETE", "HEAD"])
    host = rnd.choice(["127.0.0.1:17480", "s3.eu-west-1.amazonaws.com", "localhost:9000",
                       "mybucket.s3.amazonaws.com", "[::1]:8080"])
    https = rnd.random() < 0.3
    key = rstr(KEY_CHARS, 1, 40).lstrip("/") or "k"
    bucket = "ferry-test"
    path = "/" + bucket + "/" + quote(key, safe="/~")
    params = []
    for _ in range(rnd.choice([0, 0, 1, 2, 3, 5])):
        name = rnd.choice(["uploads", "uploadId", "partNumber", "prefix", "list-type",
                           "continuation-token", "max-keys", "delete", "x-id",
                           rstr(VAL_CHARS, 1, 8)])
        value = "" if name in ("uploads", "delete") else rstr(VAL_CHARS, 0, 20)
        params.append([name, value])
    headers = {}
    for _ in range(rnd.randint(0, 5)):
        name = rnd.choice(["x-amz-meta-" + rstr(list("abcdef0123-"), 1, 8), "Range",
                           "Content-Type", "X-Amz-Storage-Class",
                           "x-amz-server-side-encryption", "Cache-Control"])
        headers[name] = rstr(HDR_CHARS, 0, 30)
    body = bytes(rnd.getrandbits(8) for _ in range(rnd.choice([0, 0, 1, 17, 300, 5000])))
    if method in ("GET", "HEAD", "DELETE") and rnd.random() < 0.7:
        body = b""
    unsigned = https and rnd.random() < 0.6
    if unsigned:
        headers["Content-MD5"] = "1B2M2Y8AsgTpgAmY7PhCfw=="
    ak = rstr(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), 16, 20)
    sk = rstr(list("abcdefABCDEF0123456789+/=~!@#$%^&*()"), 20, 40)
    token = rstr(list("abcDEF0123456789+/="), 40, 300) if rnd.random() < 0.3 else None
    region = rnd.choice(["us-east-1", "eu-west-1", "ap-southeast-2", "default", "x"])
    ts = "%04d%02d%02dT%02d%02d%02dZ" % (rnd.randint(2000, 2099), rnd.randint(1, 12),
                                        rnd.randint(1, 28), rnd.randint(0, 23),
                                        rnd.randint(0, 59), rnd.randint(0, 59))
    url = ("https://" if https else "http://") + host + path
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers),
                     params=[tuple(p) for p in params] or None)
    req.context["timestamp"] = ts
    if unsigned:
        req.context["payload_signing_enabled"] = False
    auth = S3SigV4Auth(Credentials(ak, sk, token), "s3", region)
    auth._modify_request_before_signing(req)
    cr = auth.canonical_request(req)
    sts = auth.string_to_sign(req, cr)
    sig = auth.signature(sts, req)
    auth._inject_signature_to_request(req, sig)
    print(json.dumps({
        "method": method, "host": host, "bucket": bucket, "key_hex": key.encode().hex(),
        "params": params, "headers": [[k, v] for k, v in headers.items()],
        "body_hex": body.hex(), "ak": ak, "sk": sk, "token": token, "region": region,
        "date": ts, "payload": req.headers["X-Amz-Content-SHA256"], "canonical": cr,
        "auth": req.headers["Authorization"],
    }))
