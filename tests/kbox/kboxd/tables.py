# SPDX-License-Identifier: MIT
"""kboxd.tables: server-side printing (meta.k8s.io/v1 Table), what `kubectl get` shows.

kubectl asks for `application/json;as=Table;v=v1;g=meta.k8s.io` and prints
the columns the server chose (CONTROLPLANE.md §6.9). Built-in kinds get the
columns of kube-apiserver's printers for them (pkg/printers/internalversion),
filled as far as the box's objects carry the data; custom resources get Name,
their CRD's additionalPrinterColumns (JSONPath, type date rendered as an
age, priority > 0 shown by -o wide) and Age when the CRD declares none;
anything else the default Name / Created At. Each row carries the object's
metadata as PartialObjectMetadata (includeObject=Metadata, kubectl's default).
"""
import datetime
import json
import re

from .util import parse_time


def human_age(ts):
    t = parse_time(ts)
    if t is None:
        return "<unknown>"
    s = int((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds())
    if s < -1:
        return "<invalid>"
    if s < 0:
        s = 0
    m, h, d = s // 60, s // 3600, s // 86400
    if s < 120:
        return f"{s}s"
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if h < 192:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    if d < 730:
        return f"{d}d"
    return f"{d // 365}y{d % 365}d" if d < 365 * 8 else f"{d // 365}y"


def col(name, typ="string", desc="", prio=0, fmt=""):
    return {"name": name, "type": typ, "format": fmt, "description": desc, "priority": prio}


NAME = col("Name", fmt="name", desc="Name must be unique within a namespace.")
AGE = col("Age", desc="CreationTimestamp is a timestamp representing the server time when this object was created.")


def _pod_cells(o):
    st = o.get("status") or {}
    cs = (o.get("spec") or {}).get("containers") or []
    statuses = st.get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(c.get("restartCount", 0) for c in statuses)
    reason = st.get("reason") or st.get("phase") or ""
    for c in statuses:
        w = (c.get("state") or {}).get("waiting")
        if w and w.get("reason"):
            reason = w["reason"]
    if (o.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Terminating"
    return [f"{ready}/{len(cs)}", reason, restarts, human_age(o["metadata"].get("creationTimestamp")),
            st.get("podIP") or "<none>", (o.get("spec") or {}).get("nodeName") or "<none>", "<none>", "<none>"]


def _ports(svc):
    out = []
    for p in (svc.get("spec") or {}).get("ports") or []:
        s = f"{p.get('port')}"
        if p.get("nodePort"):
            s += f":{p['nodePort']}"
        out.append(s + "/" + p.get("protocol", "TCP"))
    return ",".join(out) or "<none>"


def _sel(m):
    return ",".join(f"{k}={v}" for k, v in sorted((m or {}).items())) or "<none>"


BUILTIN = {
    "pods": ([NAME, col("Ready", desc="The aggregate readiness state of this pod for accepting traffic."),
              col("Status", desc="The aggregate status of the containers in this pod."),
              col("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
              AGE, col("IP", prio=1, desc="IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."),
              col("Node", prio=1, desc="NodeName is a request to schedule this pod onto a specific node."),
              col("Nominated Node", prio=1, desc="nominatedNodeName is set only when this pod preempts other pods on the node."),
              col("Readiness Gates", prio=1, desc="If specified, all readiness gates will be evaluated for pod readiness.")],
             _pod_cells),
    "namespaces": ([NAME, col("Status", desc="The status of the namespace"), AGE],
                   lambda o: [(o.get("status") or {}).get("phase", ""), human_age(o["metadata"].get("creationTimestamp"))]),
    "deployments": ([NAME, col("Ready", desc="Number of the pod with ready state"),
                     col("Up-to-date", "integer", "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
                     col("Available", "integer", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
                     AGE, col("Containers", prio=1, desc="Names of each container in the template."),
                     col("Images", prio=1, desc="Images referenced by each container in the template."),
                     col("Selector", prio=1, desc="Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.")],
                    lambda o: [f"{(o.get('status') or {}).get('readyReplicas', 0)}/{(o.get('spec') or {}).get('replicas', 0)}",
                               (o.get("status") or {}).get("updatedReplicas", 0),
                               (o.get("status") or {}).get("availableReplicas", 0),
                               human_age(o["metadata"].get("creationTimestamp")),
                               ",".join(c.get("name", "") for c in _tmpl_containers(o)),
                               ",".join(c.get("image", "") for c in _tmpl_containers(o)),
                               _sel(((o.get("spec") or {}).get("selector") or {}).get("matchLabels"))]),
    "statefulsets": ([NAME, col("Ready", desc="Number of the pod with ready state"), AGE,
                      col("Containers", prio=1), col("Images", prio=1)],
                     lambda o: [f"{(o.get('status') or {}).get('readyReplicas', 0)}/{(o.get('spec') or {}).get('replicas', 0)}",
                                human_age(o["metadata"].get("creationTimestamp")),
                                ",".join(c.get("name", "") for c in _tmpl_containers(o)),
                                ",".join(c.get("image", "") for c in _tmpl_containers(o))]),
    "services": ([NAME, col("Type", desc="The type of service"),
                  col("Cluster-IP", desc="clusterIP is the IP address of the service"),
                  col("External-IP", desc="externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."),
                  col("Port(s)", desc="The list of ports that are exposed by this service."), AGE,
                  col("Selector", prio=1, desc="Route service traffic to pods with label keys and values matching this selector.")],
                 lambda o: [(o.get("spec") or {}).get("type", ""), (o.get("spec") or {}).get("clusterIP", "") or "<none>",
                            ",".join((o.get("spec") or {}).get("externalIPs") or []) or "<none>", _ports(o),
                            human_age(o["metadata"].get("creationTimestamp")),
                            _sel((o.get("spec") or {}).get("selector"))]),
    "configmaps": ([NAME, col("Data", "integer", "Number of data entries"), AGE],
                   lambda o: [len(o.get("data") or {}) + len(o.get("binaryData") or {}),
                              human_age(o["metadata"].get("creationTimestamp"))]),
    "secrets": ([NAME, col("Type", desc="The type of the secret"), col("Data", "integer", "Number of data entries"), AGE],
                lambda o: [o.get("type", ""), len(o.get("data") or {}), human_age(o["metadata"].get("creationTimestamp"))]),
    "serviceaccounts": ([NAME, col("Secrets", "integer"), AGE],
                        lambda o: [len(o.get("secrets") or []), human_age(o["metadata"].get("creationTimestamp"))]),
    "persistentvolumeclaims": ([NAME, col("Status"), col("Volume"), col("Capacity"), col("Access Modes"),
                                col("StorageClass"), col("VolumeAttributesClass"), AGE, col("VolumeMode", prio=1)],
                               lambda o: [(o.get("status") or {}).get("phase", ""), (o.get("spec") or {}).get("volumeName", ""),
                                          ((o.get("status") or {}).get("capacity") or {}).get("storage", ""),
                                          ",".join(_am((o.get("status") or {}).get("accessModes"))),
                                          (o.get("spec") or {}).get("storageClassName") or "<unset>", "<unset>",
                                          human_age(o["metadata"].get("creationTimestamp")),
                                          (o.get("spec") or {}).get("volumeMode", "")]),
    "leases": ([NAME, col("Holder", desc="holderIdentity contains the identity of the holder of a current lease."), AGE],
               lambda o: [(o.get("spec") or {}).get("holderIdentity", ""), human_age(o["metadata"].get("creationTimestamp"))]),
    "nodes": ([NAME, col("Status"), col("Roles"), AGE, col("Version")],
              lambda o: [_node_status(o), "<none>", human_age(o["metadata"].get("creationTimestamp")),
                         ((o.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "")]),
}


def _age(o):
    return human_age(o["metadata"].get("creationTimestamp"))


def _g(o, *path, default=""):
    cur = o
    for p in path:
        if not isinstance(cur, dict):
            return default
        cur = cur.get(p)
    return default if cur is None else cur


def _event_object(o):
    ref = o.get("involvedObject") or o.get("regarding") or {}
    return f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}"


def _ep_list(o):
    out = []
    for s in o.get("subsets") or []:
        for a in s.get("addresses") or []:
            for p in s.get("ports") or [{}]:
                out.append(f"{a.get('ip')}:{p.get('port')}" if p.get("port") else a.get("ip", ""))
    return ",".join(out[:3]) + (f" + {len(out) - 3} more..." if len(out) > 3 else "") if out else "<none>"


# further kube-apiserver printers (pkg/printers/internalversion/printers.go), columns as kubectl shows them
BUILTIN.update({
    "replicasets": ([NAME, col("Desired", "integer"), col("Current", "integer"), col("Ready", "integer"), AGE],
                    lambda o: [_g(o, "spec", "replicas", default=0), _g(o, "status", "replicas", default=0),
                               _g(o, "status", "readyReplicas", default=0), _age(o)]),
    "daemonsets": ([NAME, col("Desired", "integer"), col("Current", "integer"), col("Ready", "integer"),
                    col("Up-to-date", "integer"), col("Available", "integer"), col("Node Selector"), AGE],
                   lambda o: [_g(o, "status", "desiredNumberScheduled", default=0),
                              _g(o, "status", "currentNumberScheduled", default=0),
                              _g(o, "status", "numberReady", default=0), _g(o, "status", "updatedNumberScheduled", default=0),
                              _g(o, "status", "numberAvailable", default=0),
                              _sel(_g(o, "spec", "template", "spec", "nodeSelector", default={})), _age(o)]),
    "jobs": ([NAME, col("Status"), col("Completions"), col("Duration"), AGE],
             lambda o: [_job_status(o), f"{_g(o, 'status', 'succeeded', default=0)}/{_g(o, 'spec', 'completions', default=1)}",
                        "", _age(o)]),
    "persistentvolumes": ([NAME, col("Capacity"), col("Access Modes"), col("Reclaim Policy"), col("Status"), col("Claim"),
                           col("StorageClass"), col("VolumeAttributesClass"), col("Reason"), AGE],
                          lambda o: [_g(o, "spec", "capacity", "storage"), ",".join(_am(_g(o, "spec", "accessModes", default=[]))),
                                     _g(o, "spec", "persistentVolumeReclaimPolicy"), _g(o, "status", "phase"),
                                     (f"{_g(o, 'spec', 'claimRef', 'namespace')}/{_g(o, 'spec', 'claimRef', 'name')}"
                                      if _g(o, "spec", "claimRef", default=None) else ""),
                                     _g(o, "spec", "storageClassName"), "<unset>", _g(o, "status", "reason"), _age(o)]),
    "storageclasses": ([NAME, col("Provisioner"), col("ReclaimPolicy"), col("VolumeBindingMode"),
                        col("AllowVolumeExpansion"), AGE],
                       lambda o: [o.get("provisioner", ""), o.get("reclaimPolicy", "Delete"),
                                  o.get("volumeBindingMode", "Immediate"), str(bool(o.get("allowVolumeExpansion"))).lower(),
                                  _age(o)]),
    "events": ([col("Last Seen"), col("Type"), col("Reason"), col("Object"), col("Message")],
               lambda o: [o.get("type", ""), o.get("reason", ""), _event_object(o), o.get("message") or o.get("note", "")]),
    "endpoints": ([NAME, col("Endpoints"), AGE], lambda o: [_ep_list(o), _age(o)]),
    "endpointslices": ([NAME, col("AddressType"), col("Ports"), col("Endpoints"), AGE],
                       lambda o: [o.get("addressType", ""),
                                  ",".join(str(p.get("port")) for p in o.get("ports") or []) or "<unset>",
                                  ",".join(a for e in o.get("endpoints") or [] for a in e.get("addresses") or []) or "<unset>",
                                  _age(o)]),
    "priorityclasses": ([NAME, col("Value", "integer"), col("Global-Default", "boolean"), AGE, col("PreemptionPolicy")],
                        lambda o: [o.get("value", 0), bool(o.get("globalDefault")), _age(o),
                                   o.get("preemptionPolicy", "")]),
    "rolebindings": ([NAME, col("Role"), AGE], lambda o: [f"{_g(o, 'roleRef', 'kind')}/{_g(o, 'roleRef', 'name')}", _age(o)]),
    "clusterrolebindings": ([NAME, col("Role"), AGE],
                            lambda o: [f"{_g(o, 'roleRef', 'kind')}/{_g(o, 'roleRef', 'name')}", _age(o)]),
    "csinodes": ([NAME, col("Drivers", "integer"), AGE], lambda o: [len(_g(o, "spec", "drivers", default=[]) or []), _age(o)]),
    "volumeattachments": ([NAME, col("Attacher"), col("PV"), col("Node"), col("Attached", "boolean"), AGE],
                          lambda o: [_g(o, "spec", "attacher"), _g(o, "spec", "source", "persistentVolumeName"),
                                     _g(o, "spec", "nodeName"), bool(_g(o, "status", "attached", default=False)), _age(o)]),
})


def _job_status(o):
    for cnd in _g(o, "status", "conditions", default=[]) or []:
        if cnd.get("status") == "True" and cnd.get("type") in ("Complete", "Failed", "Suspended"):
            return cnd["type"]
    return "Running"


def _am(modes):
    short = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}
    return [short.get(m, m) for m in modes or []]


def _node_status(o):
    for c in (o.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return "Ready" if c.get("status") == "True" else "NotReady"
    return "Unknown"


def _tmpl_containers(o):
    return ((((o.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or [])


def jsonpath(obj, path):
    """The subset of JSONPath CRD printer columns use: .a.b, .a[0].b, .a[*].b; lists joined with ','."""
    p = path.strip()
    if p.startswith("{") and p.endswith("}"):
        p = p[1:-1]
    toks = re.findall(r"\.([^.\[]+)|\[(\*|\d+)\]", p)
    vals = [obj]
    for name, idx in toks:
        nxt = []
        for v in vals:
            if name:
                if isinstance(v, dict) and name in v:
                    nxt.append(v[name])
            elif isinstance(v, list):
                if idx == "*":
                    nxt.extend(v)
                elif int(idx) < len(v):
                    nxt.append(v[int(idx)])
        vals = nxt
    if not vals:
        return None
    if len(vals) == 1:
        return vals[0]
    return ",".join(json.dumps(v) if not isinstance(v, str) else v for v in vals)


def _crd_columns(res, version):
    v = next((x for x in res.crd["spec"]["versions"] if x["name"] == version), {})
    cols = v.get("additionalPrinterColumns")
    if cols is None:
        return [NAME, AGE], [{"jsonPath": ".metadata.creationTimestamp", "type": "date"}]
    defs = [NAME] + [col(c["name"], c.get("type", "string"), c.get("description", ""), c.get("priority", 0),
                         c.get("format", "")) for c in cols]
    return defs, cols


def partial(o):
    m = dict(o.get("metadata") or {})
    m.pop("managedFields", None)
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": m}


def table(res, version, objs, list_meta, include_object=True):
    if res.crd is not None:
        defs, cols = _crd_columns(res, version)

        def cells(o):
            out = []
            for c in cols:
                v = jsonpath(o, c["jsonPath"])
                if c.get("type") == "date" and v is not None:
                    v = human_age(v)
                out.append(v)
            return out
    elif res.plural in BUILTIN:
        defs, fn = BUILTIN[res.plural]
        defs = list(defs)

        def cells(o):
            return fn(o)[:len(defs) - 1]
    else:
        defs = [NAME, col("Created At", "date", "CreationTimestamp is a timestamp representing the server time when this object was created.")]

        def cells(o):
            return [o["metadata"].get("creationTimestamp")]
    rows = []
    no_name = res.plural == "events"
    for o in objs:
        if no_name:
            last = o.get("lastTimestamp") or o.get("eventTime") or o["metadata"].get("creationTimestamp")
            r = {"cells": [human_age(last)] + cells(o)}
        else:
            name = o["metadata"]["name"]
            if res.plural == "storageclasses" and str((o["metadata"].get("annotations") or {}).get(
                    "storageclass.kubernetes.io/is-default-class")).lower() == "true":
                name += " (default)"  # printStorageClass
            r = {"cells": [name] + cells(o)}
        if include_object:
            r["object"] = partial(o)
        rows.append(r)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
            "columnDefinitions": defs, "rows": rows}
