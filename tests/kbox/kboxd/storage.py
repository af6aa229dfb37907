# SPDX-License-Identifier: MIT
"""kboxd.storage: the box's storage (issue 14), plugged in through cluster.EXTENSIONS.

Imported by every kubelet: registers the CSI node plugin for `persistentVolumeClaim` and
`ephemeral` volumes (csi.NodePlugin) and, once the kubelet has registered its Node, the
drivers' registration as the kubelet does it for node-driver-registrar: the CSINode
object (drivers, nodeID, topologyKeys, allocatable.count), the topology label
topology.hostpath.csi/node and the csi.volume.kubernetes.io/nodeid annotation.

Imported by the server, controllers(box) (before the nodes start):
- mounts the pools (csi.Pools: a helper process's mount namespace, which the nodes are
  then made from);
- registers the scheduler's volume plugins, the admission plugins and the hooks
  (pvctrl.py);
- makes what installing the drivers makes: CSIDriver objects, the StorageClasses
  kbox-disk (WaitForFirstConsumer, the default class) and kbox-hostpath (Immediate), the
  VolumeSnapshotClasses kbox-disk-snapclass and kbox-hostpath-snapclass (each the default
  of its driver), and the SnapshotMetadata service (snapmeta.py);
- returns the controllers: pvctrl.PVController, snapshots.SnapshotController,
  populators.Populators.

The box config's `storage:` (YAML or JSON):
  storage:
    enabled: true                     # false: a box without storage
    poolSize: 64Gi                    # each pool's (sparse) XFS image
    snapshotReadySeconds: 1           # a snapshot's readyToUse comes this long after its cut
    defaultClasses: true              # false: no StorageClasses or VolumeSnapshotClasses made
    drivers:
      disk.csi.kbox.io: {maxVolumesPerNode: 16}     # CSINode allocatable.count (0: none)
      hostpath.csi.kbox.io: {maxVolumesPerNode: 0}
"""
from . import csi, volumes

NODE_DIR = "/var/lib/kbox-storage"  # DIR/storage as the nodes see it (their /tmp is their own)
PLUGIN = csi.NodePlugin()
volumes.PLUGINS["persistentVolumeClaim"] = PLUGIN
volumes.PLUGINS["ephemeral"] = PLUGIN


def node_start(k):
    """The drivers' registration on one node (kubelet's csi plugin manager)."""
    cfg = k.cfg.get("storage")
    if not cfg:
        return
    csi.configure(cfg)
    PLUGIN.dir = cfg["dir"]
    code, node = k.client.get(f"/api/v1/nodes/{k.name}")
    if code != 200:
        raise OSError(f"get node {k.name}: {code}")
    labels = {d.topology_key: k.name for d in csi.DRIVERS.values() if d.topology_key.endswith("/node")}
    ann = {"csi.volume.kubernetes.io/nodeid": "{" + ",".join(f'"{d}":"{k.name}"' for d in sorted(csi.DRIVERS)) + "}"}
    code, body = k.client.patch(f"/api/v1/nodes/{k.name}", {"metadata": {"labels": labels, "annotations": ann}})
    if code != 200:
        raise OSError(f"label node {k.name}: {code} {body}")
    drivers = []
    for d in sorted(csi.DRIVERS.values(), key=lambda x: x.name):
        e = {"name": d.name, "nodeID": k.name, "topologyKeys": [d.topology_key]}
        if d.max_volumes:
            e["allocatable"] = {"count": d.max_volumes}
        drivers.append(e)
    obj = {"apiVersion": "storage.k8s.io/v1", "kind": "CSINode",
           "metadata": {"name": k.name, "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": k.name,
                                                             "uid": node["metadata"]["uid"]}]},
           "spec": {"drivers": drivers}}
    code, body = k.client.post("/apis/storage.k8s.io/v1/csinodes", obj)
    if code == 409:
        code, cur = k.client.get(f"/apis/storage.k8s.io/v1/csinodes/{k.name}")
        if code == 200:
            cur["spec"] = obj["spec"]
            cur["metadata"]["ownerReferences"] = obj["metadata"]["ownerReferences"]
            code, body = k.client.put(f"/apis/storage.k8s.io/v1/csinodes/{k.name}", cur)
    if code not in (200, 201):
        raise OSError(f"CSINode {k.name}: {code} {body}")


volumes.NODE_START.append(node_start)


def controllers(box):
    cl = box.cluster
    cfg = cl.cfg.get("storage")
    cfg = {} if cfg is None or cfg is True else cfg
    if cfg is False or cfg.get("enabled") is False:
        return []
    from . import api, pvctrl, sched, snapmeta, snapshots
    csi.configure(cfg)
    pools = csi.Pools(box.dir, cfg)
    try:
        cl.mount_ns = pools.start()
    except OSError as e:
        print(f"kbox: no storage: {e}", flush=True)
        return []
    cl.on_stop.append(pools.stop)
    cl.node_binds.append([pools.dir, NODE_DIR])
    cl.kubelet_extra["storage"] = {"dir": NODE_DIR, "drivers": cfg.get("drivers") or {}}
    sched.EXTRA_FILTERS += [pvctrl.volume_binding, pvctrl.volume_limits]
    sched.PRE_BIND.append(pvctrl.pre_bind)
    api.ADMISSION.append(pvctrl.admission)
    install(box, cfg)
    try:
        svc = snapmeta.start(box, pools)
        if svc is not None:
            cl.on_stop.insert(0, svc.stop)
    except Exception as e:  # the rest of the storage works without it
        print(f"kbox: no SnapshotMetadata service: {e}", flush=True)
    from . import populators
    populators.install(box)
    return [pvctrl.PVController(box, pools), snapshots.SnapshotController(box, pools, cfg.get("snapshotReadySeconds", 1)),
            populators.Populators(box)]


def install(box, cfg):
    """What installing the two drivers makes."""
    for d in sorted(csi.DRIVERS):
        box.ensure("storage.k8s.io", "v1", "csidrivers", {
            "apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": {"name": d},
            "spec": {"attachRequired": False, "podInfoOnMount": True, "volumeLifecycleModes": ["Persistent"],
                     "fsGroupPolicy": "File", "storageCapacity": False, "requiresRepublish": False,
                     "seLinuxMount": False}})
    if cfg.get("defaultClasses") is False:
        return
    for name, drv, mode, default in (("kbox-disk", "disk.csi.kbox.io", "WaitForFirstConsumer", True),
                                     ("kbox-hostpath", "hostpath.csi.kbox.io", "Immediate", False)):
        sc = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
              "provisioner": drv, "reclaimPolicy": "Delete", "volumeBindingMode": mode, "allowVolumeExpansion": True}
        if default:
            sc["metadata"]["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
        box.ensure("storage.k8s.io", "v1", "storageclasses", sc)
        box.ensure("snapshot.storage.k8s.io", "v1", "volumesnapshotclasses", {
            "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
            "metadata": {"name": name + "-snapclass",
                         "annotations": {"snapshot.storage.kubernetes.io/is-default-class": "true"}},
            "driver": drv, "deletionPolicy": "Delete"})
