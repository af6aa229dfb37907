# SPDX-License-Identifier: MIT
"""kboxd.images: the box's image table: what `image:` means on a node.

No registry is reachable and no image is pulled: an image name maps to
something already on the machine. A row matches the normalized reference
(`busybox` -> `docker.io/library/busybox:latest`, as containerd normalizes
it) by shell pattern and says how a container of it is made:

- layer: a directory laid over the host's root file system (overlayfs lower
  layer) as the image's own files; `busybox`: /bin and /sbin holding only
  busybox's applets (Debian's busybox package), so `sh`, `wget`, `nc`... are
  busybox's, as in the busybox image;
- binds: files or directories bound read-only into the container (ferry's
  built binary at /usr/local/bin/ferry, the test scripts at /kbox/images);
- entrypoint, cmd, env, workdir: the image's config (ENTRYPOINT, CMD, ENV,
  WORKDIR); the pod's command replaces the entrypoint, its args the cmd, as
  the kubelet combines them.

Rows (first match wins; a box config's `images` rows come first):
  */ferry:*, */ferry@*      ferry's image: $FERRY (the built binary)
  */busybox:*               busybox
  */python:*                Debian's /usr/bin/python3 (python3-kubernetes importable)
  */kbox/web:*              images/web.py: a small HTTP server for tests
  */e2e-test-images/agnhost:*   images/web.py speaking agnhost's netexec/serve-hostname/pause
  */pause:*                 sleep forever
Anything else fails as an unknown image does on a real node: ErrImagePull,
then ImagePullBackOff.
"""
import fnmatch
import hashlib
import os

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGES_DIR = os.path.join(HERE, "images")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def normalize(ref):
    """containerd's normalization: docker.io/library/NAME:latest."""
    ref = ref.strip()
    name, digest = (ref.split("@", 1) + [""])[:2]
    first = name.split("/", 1)[0]
    if "/" not in name or ("." not in first and ":" not in first and first != "localhost"):
        name = "docker.io/" + ("library/" + name if "/" not in name else name)
    if not digest and ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name + ("@" + digest if digest else "")


def default_rows(ferry):
    py = "/usr/bin/python3"
    web = {"entrypoint": [py, "/kbox/images/web.py"], "binds": [[IMAGES_DIR, "/kbox/images"]]}
    rows = []
    if ferry:
        rows.append({"match": ["*/ferry:*", "*/ferry@*"], "binds": [[ferry, "/usr/local/bin/ferry"]],
                     "entrypoint": ["/usr/local/bin/ferry"]})
    rows += [
        {"match": ["*/busybox:*", "*/busybox@*"], "layer": "busybox", "cmd": ["sh"],
         "env": {"PATH": "/bin:/sbin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"}},
        {"match": ["*/python:*"], "cmd": ["python3"], "env": {"LANG": "C.UTF-8"}},
        {"match": ["*/kbox/web:*"], **web},
        {"match": ["*/e2e-test-images/agnhost:*"], **web},
        {"match": ["*/pause:*"], "entrypoint": ["/usr/bin/sleep", "infinity"]},
    ]
    return rows


def make_layers(d):
    """The busybox layer (bin/ and sbin/ with one symlink per applet) under d."""
    bb = "/usr/bin/busybox"
    root = os.path.join(d, "busybox")
    if os.path.isdir(root) or not os.path.exists(bb):
        return
    import subprocess
    applets = subprocess.run([bb, "--list-full"], stdout=subprocess.PIPE, text=True).stdout.split()
    tmp = root + ".tmp"
    for a in applets:
        p = os.path.join(tmp, a)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if not os.path.lexists(p):
            os.symlink(bb, p)
    os.makedirs(os.path.join(tmp, "bin"), exist_ok=True)
    if not os.path.lexists(os.path.join(tmp, "bin", "busybox")):
        os.symlink(bb, os.path.join(tmp, "bin", "busybox"))
    os.rename(tmp, root)


class Image:
    def __init__(self, ref, row, layers_dir):
        self.ref = normalize(ref)
        self.row = row
        self.layer = os.path.join(layers_dir, row["layer"]) if row.get("layer") else None
        self.entrypoint = list(row.get("entrypoint") or [])
        self.cmd = list(row.get("cmd") or [])
        self.env = dict({"PATH": PATH}, **(row.get("env") or {}))
        self.workdir = row.get("workdir") or "/"
        self.binds = [tuple(b) for b in row.get("binds") or []]
        self.digest = "sha256:" + hashlib.sha256(self.ref.encode()).hexdigest()

    @property
    def image_id(self):
        return self.ref.rsplit(":", 1)[0].split("@")[0] + "@" + self.digest

    def argv(self, command, args):
        """Entrypoint/cmd combined with the container's command/args (kubelet's rules)."""
        if command:
            return list(command) + list(args or [])
        if args:
            return self.entrypoint + list(args)
        return self.entrypoint + self.cmd


class Table:
    def __init__(self, rows, layers_dir):
        self.rows = rows
        self.layers_dir = layers_dir

    def resolve(self, ref):
        n = normalize(ref or "")
        for row in self.rows:
            if any(fnmatch.fnmatchcase(n, p) for p in row["match"]):
                return Image(ref, row, self.layers_dir)
        return None
