# SPDX-License-Identifier: MIT
"""kboxd.volumes: a pod's volumes, as the kubelet's volume plugins lay them out on a node.

Each volume is a directory under /var/lib/kubelet/pods/<uid>/volumes/<plugin>/<name>
(the node's view: that is DIR/nodes/NAME/kubelet/pods/... on the host), made
before the pod's containers start and bound into each container at its
volumeMounts (spawn.py), with subPath, readOnly and mountPropagation:

- configMap, secret, downwardAPI, projected (serviceAccountToken, configMap,
  secret, downwardAPI sources): files written by the atomic writer's layout
  (a `..<timestamp>` directory, the `..data` symlink to it, one symlink per
  top-level name), `items`, `defaultMode`/`mode`, `optional`; refreshed when
  the source changes and the token re-requested at 80 % of its lifetime, as
  the kubelet does;
- emptyDir: a directory; `medium: Memory` a tmpfs (sizeLimit) mounted in the
  node's mount namespace;
- hostPath: the path in the node's mount namespace, with the `type` checks
  (DirectoryOrCreate, Directory, FileOrCreate, File, Socket, CharDevice,
  BlockDevice).

Storage plugs in here (storage.py, csi.NodePlugin): PLUGINS maps a volume source
key (`persistentVolumeClaim`, `csi`, `ephemeral`) to a handler with
setup(ctx, pod, vol) -> node path (or raise NotReady to keep the pod in
ContainerCreating with a FailedMount event; called again at each refresh) and
teardown(ctx, pod, vol), called before the pod's directory is removed; for a Block
volume the path is the device to bind at devicePath. A kind no handler takes
leaves the pod waiting with that event. NODE_START: fn(kubelet) once the Node is
registered (the drivers' registration).
"""
import base64
import os
import shutil
import stat
import time

from . import sysns

PLUGIN_DIRS = {"configMap": "kubernetes.io~configmap", "secret": "kubernetes.io~secret",
               "emptyDir": "kubernetes.io~empty-dir", "projected": "kubernetes.io~projected",
               "downwardAPI": "kubernetes.io~downward-api", "hostPath": None,
               "persistentVolumeClaim": "kubernetes.io~csi", "csi": "kubernetes.io~csi",
               "ephemeral": "kubernetes.io~csi"}


class NotReady(Exception):
    """The volume cannot be set up yet (missing source, unbound claim): retry later."""


# storage plugs in here (see the module doc): {"persistentVolumeClaim": handler, ...}
PLUGINS = {}
# fn(kubelet) run once the kubelet has registered its Node (the storage driver's registration:
# CSINode, topology labels)
NODE_START = []


def source_kind(vol):
    for k in vol:
        if k != "name":
            return k
    return None


def parse_quantity(q):
    """A resource quantity -> float in base units ("100m" -> 0.1, "1Gi" -> 1073741824)."""
    if q is None:
        return 0.0
    if isinstance(q, (int, float)):
        return float(q)
    s = str(q).strip()
    suffixes = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
                "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
    for suf in sorted(suffixes, key=len, reverse=True):
        if s.endswith(suf):
            return float(s[:-len(suf)]) * suffixes[suf]
    return float(s)


class Writer:
    """The kubelet's AtomicWriter layout: payload {relative path: (bytes, mode)}."""

    def __init__(self, d):
        self.d = d

    def write(self, payload):
        os.makedirs(self.d, exist_ok=True)
        data_link = os.path.join(self.d, "..data")
        old = os.readlink(data_link) if os.path.islink(data_link) else None
        if old is not None and self._same(os.path.join(self.d, old), payload):
            return False
        ts = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime()) + f"{time.time_ns() % 10 ** 9:09d}"
        tsdir = os.path.join(self.d, ts)
        os.makedirs(tsdir)
        for rel, (content, mode) in payload.items():
            p = os.path.join(tsdir, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(content)
            os.chmod(p, mode)
        tmp = os.path.join(self.d, "..data_tmp")
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(ts, tmp)
        os.rename(tmp, data_link)
        tops = {rel.split("/", 1)[0] for rel in payload}
        for t in tops:
            p = os.path.join(self.d, t)
            if not os.path.lexists(p):
                os.symlink(os.path.join("..data", t), p)
        for name in os.listdir(self.d):
            if name.startswith(".."):
                continue
            if name not in tops:
                os.unlink(os.path.join(self.d, name))
        if old:
            shutil.rmtree(os.path.join(self.d, old), ignore_errors=True)
        return True

    @staticmethod
    def _same(d, payload):
        try:
            have = set()
            for root, dirs, files in os.walk(d):
                for f in files:
                    have.add(os.path.relpath(os.path.join(root, f), d))
            if have != set(payload):
                return False
            for rel, (content, mode) in payload.items():
                p = os.path.join(d, rel)
                if stat.S_IMODE(os.stat(p).st_mode) != mode:
                    return False
                with open(p, "rb") as f:
                    if f.read() != content:
                        return False
            return True
        except OSError:
            return False


class Volumes:
    """One pod's volumes. ctx: the kubelet (API access, token requests, node paths)."""

    def __init__(self, ctx, pod):
        self.ctx = ctx
        self.uid = pod["metadata"]["uid"]
        self.dir = os.path.join("/var/lib/kubelet/pods", self.uid)
        self.paths = {}
        self.tmpfs = []
        self.token_due = {}
        self.pod = pod

    def vol_dir(self, vol):
        plug = PLUGIN_DIRS.get(source_kind(vol)) or "kubernetes.io~" + source_kind(vol).lower()
        return os.path.join(self.dir, "volumes", plug, vol["name"])

    def setup(self, pod):
        """Make (or refresh) every volume. -> None; raises NotReady/OSError with the reason."""
        self.pod = pod
        os.makedirs(self.dir, exist_ok=True)
        for vol in (pod.get("spec") or {}).get("volumes") or []:
            kind = source_kind(vol)
            src = vol.get(kind) or {}
            if kind in PLUGINS:
                self.paths[vol["name"]] = PLUGINS[kind].setup(self.ctx, pod, vol)
                continue
            if kind == "hostPath":
                self.paths[vol["name"]] = self._host_path(src)
                continue
            d = self.vol_dir(vol)
            if kind == "emptyDir":
                if vol["name"] not in self.paths:
                    os.makedirs(d, exist_ok=True)
                    os.chmod(d, 0o777)
                    if src.get("medium") == "Memory":
                        size = int(parse_quantity(src.get("sizeLimit"))) if src.get("sizeLimit") else 0
                        sysns.mount("tmpfs", d, "tmpfs", sysns.MS_NOSUID | sysns.MS_NODEV,
                                    "mode=0777" + (f",size={size}" if size else ""))
                        self.tmpfs.append(d)
                self.paths[vol["name"]] = d
            elif kind in ("configMap", "secret", "downwardAPI", "projected"):
                payload = self._payload(pod, kind, src, vol["name"])
                Writer(d).write(payload)
                self.paths[vol["name"]] = d
            else:
                raise NotReady(f"volume \"{vol['name']}\": {kind} volumes are not supported by the box's kubelet")

    def _host_path(self, src):
        p = src.get("path") or ""
        t = src.get("type") or ""
        exists = os.path.lexists(p)
        if t == "DirectoryOrCreate" and not exists:
            os.makedirs(p, 0o755, exist_ok=True)
        elif t == "FileOrCreate" and not exists:
            os.makedirs(os.path.dirname(p) or "/", exist_ok=True)
            os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))
        checks = {"Directory": (stat.S_ISDIR, "a directory"), "DirectoryOrCreate": (stat.S_ISDIR, "a directory"),
                  "File": (stat.S_ISREG, "a file"), "FileOrCreate": (stat.S_ISREG, "a file"),
                  "Socket": (stat.S_ISSOCK, "a socket file"), "CharDevice": (stat.S_ISCHR, "a character device"),
                  "BlockDevice": (stat.S_ISBLK, "a block device")}
        if t in checks:
            fn, what = checks[t]
            try:
                st = os.stat(p)
            except OSError:
                raise NotReady(f"hostPath type check failed: {p} is not {what}")
            if not fn(st.st_mode):
                raise NotReady(f"hostPath type check failed: {p} is not {what}")
        return p

    # ---- files of configMap / secret / downwardAPI / projected
    def _payload(self, pod, kind, src, vname):
        mode = src.get("defaultMode", 0o644)
        out = {}
        if kind == "projected":
            for s in src.get("sources") or []:
                if "serviceAccountToken" in s:
                    st = s["serviceAccountToken"]
                    tok = self._token(pod, st, vname)
                    out[st.get("path", "token")] = (tok.encode(), mode)
                elif "configMap" in s:
                    out.update(self._keys(pod, "configmaps", s["configMap"], mode))
                elif "secret" in s:
                    out.update(self._keys(pod, "secrets", s["secret"], mode))
                elif "downwardAPI" in s:
                    out.update(self._downward(pod, s["downwardAPI"], mode))
            return out
        if kind == "configMap":
            return self._keys(pod, "configmaps", src, mode)
        if kind == "secret":
            return self._keys(pod, "secrets", dict(src, name=src.get("secretName")), mode)
        return self._downward(pod, src, mode)

    def _keys(self, pod, plural, src, mode):
        ns = pod["metadata"]["namespace"]
        obj = self.ctx.get_object(plural, ns, src.get("name"))
        if obj is None:
            if src.get("optional"):
                return {}
            kind = "configmap" if plural == "configmaps" else "secret"
            raise NotReady(f"{kind} \"{src.get('name')}\" not found")
        data = {}
        for k, v in (obj.get("data") or {}).items():
            data[k] = base64.b64decode(v) if plural == "secrets" else v.encode()
        for k, v in (obj.get("binaryData") or {}).items():
            data[k] = base64.b64decode(v)
        out = {}
        items = src.get("items")
        if items:
            for it in items:
                if it["key"] not in data:
                    if src.get("optional"):
                        continue
                    what = "configmap references non-existent config key" if plural == "configmaps" else \
                        "references non-existent secret key"
                    raise NotReady(f"{what}: {it['key']}")
                out[it.get("path", it["key"])] = (data[it["key"]], it.get("mode", mode))
        else:
            for k, v in data.items():
                out[k] = (v, mode)
        return out

    def _downward(self, pod, src, mode):
        out = {}
        for it in src.get("items") or []:
            fr = it.get("fieldRef")
            if fr:
                v = field_ref(pod, fr.get("fieldPath", ""))
            else:
                v = resource_ref(pod, it.get("resourceFieldRef") or {})
            out[it["path"]] = (v.encode(), it.get("mode", mode))
        return out

    def _token(self, pod, st, vname):
        key = (vname, st.get("path", "token"))
        due = self.token_due.get(key)
        cur = self.token_due.get(key + ("tok",))
        if cur and due and time.time() < due:
            return cur
        secs = st.get("expirationSeconds", 3600)
        tok, exp = self.ctx.request_token(pod, st.get("audience"), secs)
        now = time.time()
        self.token_due[key] = now + 0.8 * max(exp - now, 0)
        self.token_due[key + ("tok",)] = tok
        return tok

    def teardown(self):
        """Unmount and remove the pod's volumes. A plugin's volume (a PVC's mount) is torn down
        by its plugin first; while anything is still mounted below the pod's directory it is
        left in place (removing the files would reach into the mounted volume)."""
        for vol in (self.pod.get("spec") or {}).get("volumes") or []:
            kind = source_kind(vol)
            if kind in PLUGINS and vol["name"] in self.paths:
                try:
                    PLUGINS[kind].teardown(self.ctx, self.pod, vol)
                    del self.paths[vol["name"]]
                except Exception as e:
                    print(f"volume {vol['name']} of pod {self.uid}: teardown failed: {e}", flush=True)
        for d in self.tmpfs:
            try:
                sysns.umount(d)
            except OSError:
                pass
        self.tmpfs = []
        left = mounts_under(self.dir)
        if left:
            print(f"pod {self.uid}: still mounted, its directory is kept: {left}", flush=True)
            return
        shutil.rmtree(self.dir, ignore_errors=True)


def mounts_under(d):
    d = d.rstrip("/") + "/"
    try:
        with open("/proc/self/mountinfo") as f:
            return [line.split()[4] for line in f if line.split()[4].startswith(d)]
    except OSError:
        return []


def field_ref(pod, path):
    m = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    st = pod.get("status") or {}
    if path in ("metadata.name",):
        return m.get("name", "")
    if path == "metadata.namespace":
        return m.get("namespace", "")
    if path == "metadata.uid":
        return m.get("uid", "")
    if path in ("metadata.labels", "metadata.annotations"):
        d = m.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(d.items()))
    for prefix in ("metadata.labels['", "metadata.annotations['"):
        if path.startswith(prefix) and path.endswith("']"):
            return (m.get(prefix.split(".")[1].split("[")[0]) or {}).get(path[len(prefix):-2], "")
    if path == "spec.nodeName":
        return spec.get("nodeName", "")
    if path == "spec.serviceAccountName":
        return spec.get("serviceAccountName", "")
    if path == "status.hostIP":
        return st.get("hostIP", "")
    if path == "status.hostIPs":
        return ",".join(x.get("ip", "") for x in st.get("hostIPs") or [])
    if path == "status.podIP":
        return st.get("podIP", "")
    if path == "status.podIPs":
        return ",".join(x.get("ip", "") for x in st.get("podIPs") or [])
    return ""


def resource_ref(pod, ref, container=None):
    """resourceFieldRef: limits.cpu etc., with the divisor; limits default to the node's
    allocatable when unset (as the kubelet reports them), here a generous constant."""
    cname = ref.get("containerName") or container
    res = ""
    for c in (pod.get("spec") or {}).get("containers") or []:
        if c.get("name") == cname or cname is None:
            r = ref.get("resource", "")
            a, _, b = r.partition(".")
            res = ((c.get("resources") or {}).get(a) or {}).get(b)
            break
    div = parse_quantity(ref.get("divisor") or ("1m" if False else "1"))
    if not res:
        res = {"cpu": "2", "memory": str(8 << 30), "ephemeral-storage": str(64 << 30)}.get(
            ref.get("resource", "").split(".")[-1], "0")
    v = parse_quantity(res) / (div or 1)
    import math
    return str(int(math.ceil(v)))
