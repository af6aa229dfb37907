#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/cbt/cbt_files.py - the images of the changed-block tests and what a
# list made from them must say.
#
#   cbt_files.py base FILE [text]     64 MiB: [0,40) random, [40,48) text,
#                                     [48,56) hole, [56,60) unwritten
#                                     (fallocate), [60,64) random; with
#                                     'text', text (compressible) everywhere
#   cbt_files.py mutate FILE SEED OUT random small writes (1 B..200 KiB, some
#                                     across chunk boundaries), a write into the
#                                     unwritten range, a punched hole, a zeroed
#                                     range, a fallocate over the hole (content
#                                     unchanged: must not be listed), growth
#   cbt_files.py sparse FILE FROM_MIB MIB OUT  a 4 KiB write to every other
#                                     block of [FROM, FROM+MIB) MiB: thousands
#                                     of extents
#   cbt_files.py check LIST OUT SLACK the list's chunks against OUT; with
#                                     SLACK = 'exact', its 4 KiB blocks too
# OUT is JSON: {"chunks": [changed 1 MiB chunks], "blocks": [changed 4 KiB
# blocks], "unchanged": [chunks that must not be listed], "size": bytes}.
import json
import os
import random
import subprocess
import sys

MiB = 1 << 20
BLK = 4096


def fallocate(path, *args):
    subprocess.run(['fallocate', *args, path], check=True)


def span(off, n, unit):
    return range(off // unit, (off + n - 1) // unit + 1)


def base(path, kind):
    chars = b'abcdefghijklmnopqrstuvwxyz0123456789 \n'
    text = bytes(random.choice(chars) for _ in range(64 << 10))

    def data(n):
        return os.urandom(n) if kind == 'random' else text * (n // len(text))
    with open(path, 'wb') as f:
        f.truncate(64 * MiB)
        f.seek(0)
        f.write(data(40 * MiB))
        f.write(text * 128)
        f.seek(60 * MiB)
        f.write(data(4 * MiB))
        # written back before the fallocate: btrfs does not compress an
        # inode's writes once it has preallocated extents
        f.flush()
        os.fsync(f.fileno())
    fallocate(path, '-o', str(56 * MiB), '-l', str(4 * MiB))
    os.sync()


class Changes:
    def __init__(self):
        self.chunks, self.blocks = set(), set()

    def add(self, off, n):
        self.chunks.update(span(off, n, MiB))
        self.blocks.update(span(off, n, BLK))

    def dump(self, out, size, unchanged=()):
        json.dump({'chunks': sorted(self.chunks), 'blocks': sorted(self.blocks),
                   'unchanged': sorted(set(unchanged) - self.chunks), 'size': size},
                  open(out, 'w'))


def mutate(path, seed, out):
    rnd = random.Random(seed)
    c = Changes()
    size = os.path.getsize(path)
    fd = os.open(path, os.O_RDWR)
    for _ in range(12):
        n = rnd.randint(1, 200 << 10)
        off = rnd.randrange(0, size - n)
        if rnd.random() < 0.3:  # across a chunk boundary
            off = max(0, (off // MiB + 1) * MiB - n // 2)
        os.pwrite(fd, os.urandom(n), off)
        c.add(off, n)
    # into the unwritten range: unwritten -> written where it lies
    os.pwrite(fd, os.urandom(8192), 57 * MiB + 12345)
    c.add(57 * MiB + 12345, 8192)
    # grow: 3 MiB and a bit past the end
    os.pwrite(fd, os.urandom(3 * MiB + 5000), size)
    c.add(size, 3 * MiB + 5000)
    os.close(fd)
    # a punched hole (block aligned) and a zeroed range in the data
    fallocate(path, '-p', '-o', str(20 * MiB + 3 * BLK), '-l', str(300 << 10))
    c.add(20 * MiB + 3 * BLK, 300 << 10)
    fallocate(path, '-z', '-o', str(30 * MiB), '-l', str(256 << 10))
    c.add(30 * MiB, 256 << 10)
    # fallocate over the hole: it still reads as zeros, so it is no change
    fallocate(path, '-o', str(50 * MiB), '-l', str(MiB))
    os.sync()
    c.dump(out, os.path.getsize(path), unchanged=[50])


def sparse(path, from_mib, mib, out):
    c = Changes()
    fd = os.open(path, os.O_RDWR)
    for off in range(from_mib * MiB, (from_mib + mib) * MiB, 2 * BLK):
        os.pwrite(fd, os.urandom(BLK), off)
        c.add(off, BLK)
    os.close(fd)
    os.sync()
    c.dump(out, os.path.getsize(path))


def read_list(path):
    text = open(path).read()
    if text.lstrip().startswith('{'):
        j = json.loads(text)
        return j['parent'], j.get('size'), [tuple(r) for r in j['ranges']]
    parent, size, ranges = None, None, []
    for i, line in enumerate(text.splitlines()):
        if i == 0:
            assert line == '# ferry changed-blocks v1', line
        elif line.startswith('parent '):
            parent = line.split()[1]
        elif line.startswith('size '):
            size = int(line.split()[1])
        elif line.startswith('end '):
            assert int(line.split()[1]) == len(ranges), line
        elif line and not line.startswith('#'):
            off, n = line.split()
            ranges.append((int(off), int(n)))
    return parent, size, ranges


def check(listfile, expfile, slack):
    exp = json.load(open(expfile))
    parent, size, ranges = read_list(listfile)
    chunks, blocks = set(), set()
    for off, n in ranges:
        chunks.update(span(off, n, MiB))
        blocks.update(span(off, n, BLK))
    want = set(exp['chunks'])
    problems = []
    if size != exp['size']:
        problems.append(f"size {size}, expected {exp['size']}")
    if want - chunks:
        problems.append(f"chunks missing: {sorted(want - chunks)}")
    extra = chunks - want
    allowed = 0 if slack == 'exact' else int(slack)
    if len(extra) > allowed:
        problems.append(f"{len(extra)} extra chunks (slack {allowed}): {sorted(extra)[:20]}")
    bad = chunks & set(exp['unchanged'])
    if bad:
        problems.append(f"chunks listed that did not change: {sorted(bad)}")
    if slack == 'exact' and blocks != set(exp['blocks']):
        wb = set(exp['blocks'])
        problems.append(f"blocks: {len(wb - blocks)} missing {sorted(wb - blocks)[:10]}, "
                        f"{len(blocks - wb)} extra {sorted(blocks - wb)[:10]}")
    print(f"{len(ranges)} ranges, {len(chunks)} chunks listed, {len(want)} written, "
          f"{len(extra)} extra, {len(blocks)} blocks listed, {len(exp['blocks'])} written")
    if problems:
        print('; '.join(problems), file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == 'base':
        base(args[0], args[1] if len(args) > 1 else 'random')
    elif cmd == 'mutate':
        mutate(args[0], int(args[1]), args[2])
    elif cmd == 'sparse':
        sparse(args[0], int(args[1]), int(args[2]), args[3])
    elif cmd == 'check':
        check(args[0], args[1], args[2])
    else:
        sys.exit(f'unknown command {cmd}')
