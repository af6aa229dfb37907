#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/bpf/hist.py BEFORE AFTER NAME POD_UID: the quantiles of a histogram's
# growth between two /metrics texts, as histogram_quantile() computes them.
# Prints "p50 p99 count sum" (seconds, seconds, samples, seconds waited).
import math
import re
import sys

before, after, name, uid = sys.argv[1:5]
pat = re.compile(r'^' + re.escape(name) + r'_bucket\{(.*)\} (\S+)$')


def buckets(path):
    out = {}
    for line in open(path):
        m = pat.match(line.strip())
        if not m or 'pod_uid="%s"' % uid not in m.group(1):
            continue
        le = re.search(r'le="([^"]+)"', m.group(1)).group(1)
        out[math.inf if le == "+Inf" else float(le)] = float(m.group(2))
    return out


def hsum(path):
    for line in open(path):
        if line.startswith(name + '_sum{') and 'pod_uid="%s"' % uid in line:
            return float(line.split()[-1])
    return 0.0


b, a = buckets(before), buckets(after)
les = sorted(a)
cum = [a[le] - b.get(le, 0) for le in les]
total = cum[-1] if cum else 0


def quantile(q):
    if total <= 0:
        return 0.0
    rank = q * total
    prev_le, prev_c = 0.0, 0.0
    for le, c in zip(les, cum):
        if c >= rank:
            if math.isinf(le):
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_c) / (c - prev_c)
        prev_le, prev_c = le, c
    return prev_le


print("%.9f %.9f %d %.6f" % (quantile(0.5), quantile(0.99), total, hsum(after) - hsum(before)))
