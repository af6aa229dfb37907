#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t_warm_path: a warm migration's data path across two clusters, driven step by step as the
Migration controller will drive it (issue 19): seed while the application runs, deltas
applied onto the target's volumes, a short cutover.

Two boxes (tests/migrate/warmkit.py: each its own nodes, storage, `ferry controller` and
agents), one file:// repository, the target's Repository ReadOnly with a 1 s backup sync.
The application in the source, namespace shop: a StatefulSet `web` of one replica with two
64 MiB ext4 claims of kbox-disk (WaitForFirstConsumer), its pod changing files on both every
100 ms (fsync) and serving /data over HTTP behind the Service `web`, probed at 25 Hz from a
node of the box. Checked:
- seed: a Backup of shop (every resource) while the writer runs: Completed, both volumes,
  the probe never failing; backup sync brings it to the target, Completed; a Restore of its
  claims alone (includedResources persistentvolumeclaims, namespaceMapping shop: shop) with
  each claim given a node by hand (volume.kubernetes.io/selected-node: no pod will use them
  before the cutover) completes, both claims Bound and filled by the populator, each PV's
  ferry.io/stamp clean and naming its seed snapshot;
- two syncs: a Backup of the claims (changed blocks), then per volume a VolumeTransfer in the
  target (restore, overwrite, onto the snapshot it holds): Completed, writing more than
  nothing and less than the volume, the PV's stamp naming the new snapshot;
- cutover: the source scaled to 0 (its pod gone), a final Backup of shop, the final deltas,
  each target volume's bytes equal to its source's (SHA-256 of the backing files) and clean
  for e2fsck -fn on both sides; the final Backup's objects restored in the target (volumes
  not: its claims are there), the StatefulSet at 0 as it was backed up, scaled to 1: ready,
  the probe through the target's Service answering, with the writer's counter at or past the
  last the source served (it goes on from the copied volume); no VolumeSnapshot in the
  target's shop (the final Restore leaves out the source's changed-block bases, which it
  would otherwise restore as new snapshots of the target's claims);
- the way back: the source scaled to 1 again mounts its volumes (snapshotted since) and is
  ready.
The figures (seed, each sync's bytes and seconds, the cutover's parts and the window without
service) are printed as notes. CI budget: 3 minutes.
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import warmkit  # noqa: E402
from warmkit import note, stamp  # noqa: E402
from warmkit import NS, check, eq, wait_until  # noqa: E402
import xferkit  # noqa: E402
from kboxtest import finish  # noqa: E402

T0 = time.time()
REF = "issue 19: a warm migration's data path"
FERRY = xferkit.require(("nsenter", "e2fsck"))
PASSWORD = "warm-test-password"
NODE = "node-a1"  # where the target's claims are made (the disk driver's zone-a)
PROBE_NODE = "node-b1"  # where the probes run from
SYNCS = 2
FIG = {}


def volumes_of(st):
    return {v.get("pvc"): v for v in st.get("volumes") or []}


def apply(dst, tag, vols, held):
    """Per claim, the delta of @vols' snapshot onto what @held says it holds, all at once; @held
    updated. Return: {claim: (status, seconds to the end, seconds until cleaned up)}."""
    started = {f"{tag}-{i}": warmkit.start_delta(dst, f"{tag}-{i}", vols[c]["volume"], vols[c]["snapshotId"],
                                                 held[c], c) for i, c in enumerate(warmkit.CLAIMS)}
    res = warmkit.wait_transfers(dst, started)
    out = {}
    for i, c in enumerate(warmkit.CLAIMS):
        st, end, clean = res[f"{tag}-{i}"]
        out[c] = (st, end, clean)
        if st.get("phase") == "Completed":
            held[c] = vols[c]["snapshotId"]
        note(f"{tag} {c}: {st.get('phase')} in {end and round(end, 2)} s (cleaned up at {clean and round(clean, 2)} s),"
             f" wrote {st.get('bytesWritten')} bytes, message {st.get('message')!r}")
    return out


src = dst = None
probes = []
try:
    src, dst, REPO = warmkit.pair(FERRY, PASSWORD)
    FIG["clusters up"] = round(time.time() - T0, 1)

    # ------------------------------------------------------------ the application in the source
    t = time.time()
    warmkit.make_app(src)
    check("the application runs in the source: web-0 ready (its files written, HTTP served)", warmkit.ready(src),
          warmkit.pods(src), ["web-0"], REF)
    FIG["app ready"] = round(time.time() - t, 1)
    sprobe = warmkit.Probe(src, PROBE_NODE, warmkit.service_ip(src)).start()
    probes.append(sprobe)
    check("the probe reaches the source's Service web from a node", wait_until(sprobe.last_ok, 20, 0.1),
          sprobe.error or sprobe.samples[-3:], "an answer", REF)
    t_app = time.time()

    # ------------------------------------------------------------ seed: a Backup of shop, a Restore of its claims
    seed, secs = warmkit.backup(src, "seed")
    vols = volumes_of(seed)
    note(f"seed Backup: {seed.get('phase')} in {secs:.1f} s: " + json.dumps(
        {c: {k: v.get(k) for k in ("volume", "snapshotId", "bytesRead")} for c, v in vols.items()}))
    FIG["seed backup s"] = round(secs, 1)
    eq("seed: a Backup of shop while the writer runs completes with both volumes",
       (seed.get("phase"), sorted(vols), all(v.get("snapshotId") for v in vols.values())),
       ("Completed", sorted(warmkit.CLAIMS), True), REF)
    st, secs = warmkit.synced(dst, "seed")
    FIG["seed sync s"] = round(secs, 1)
    eq("backup sync brings the seed Backup to the target: Completed, the same volumes",
       (st.get("phase"), sorted((v.get("pvc"), v.get("snapshotId")) for v in st.get("volumes") or [])),
       ("Completed", sorted((c, v.get("snapshotId")) for c, v in vols.items())), "control/cluster/README.md")
    rst, secs = warmkit.restore(dst, "seed", "seed", namespaceMapping={NS: NS},
                                includedResources=["persistentvolumeclaims"], restoreVolumes=True,
                                during=lambda: warmkit.select_node(dst, NODE))
    FIG["seed restore s"] = round(secs, 1)
    note(f"seed Restore: {secs:.1f} s: " + json.dumps({k: v for k, v in rst.items() if k != "conditions"})[:1500])
    eq("the Restore of the seed's claims into the target completes, each volume filled",
       (rst.get("phase"), sorted((v.get("pvc"), v.get("phase")) for v in rst.get("volumes") or [])),
       ("Completed", sorted((c, "Completed") for c in warmkit.CLAIMS)), "control/xfer/README.md")
    held = {c: v.get("snapshotId") for c, v in vols.items()}
    dpvs = warmkit.claim_pvs(dst)
    stamps = {c: stamp(dst, pv) for c, pv in dpvs.items() if pv}
    eq("each target claim is bound, its PV stamped clean with its seed snapshot (ferry.io/stamp)",
       {c: (s.get("state"), s.get("snapshot")) for c, s in stamps.items()},
       {c: ("clean", held[c]) for c in warmkit.CLAIMS}, "datapath/FORMAT.md: Target stamps")
    eq("no pod in the target's shop", warmkit.pods(dst), [], REF)
    FIG["seed s"] = round(time.time() - t_app, 1)

    # ------------------------------------------------------------ syncs: a Backup of the claims, the deltas
    FIG["syncs"] = []
    for k in range(1, SYNCS + 1):
        t = time.time()
        b, bsecs = warmkit.backup(src, f"sync-{k}", includedResources=["persistentvolumeclaims"])
        bv = volumes_of(b)
        eq(f"sync {k}: a Backup of the claims completes with both volumes",
           (b.get("phase"), sorted(bv)), ("Completed", sorted(warmkit.CLAIMS)), REF)
        res = apply(dst, f"sync-{k}", bv, held)
        size = {c: (dst.get(f"/api/v1/persistentvolumes/{pv}") or {}).get("spec", {}).get("capacity", {}).get(
            "storage") for c, pv in dpvs.items()}
        check(f"sync {k}: each delta Completed, writing something and no more than its Backup read as changed "
              "(the chunks in which the two snapshots differ)",
              all(r[0].get("phase") == "Completed" and 0 < (r[0].get("bytesWritten") or 0) <=
                  (bv[c].get("bytesRead") or 0) < 64 * warmkit.MiB for c, r in res.items()),
              {c: (r[0].get("phase"), r[0].get("bytesWritten"), bv[c].get("bytesRead")) for c, r in res.items()},
              f"Completed, 0 < written <= read < 64 MiB ({size})", "control/xfer/README.md: Writing over a claim")
        eq(f"sync {k}: each target PV's stamp names the sync's snapshot",
           {c: (stamp(dst, pv).get("state"), stamp(dst, pv).get("snapshot")) for c, pv in dpvs.items()},
           {c: ("clean", bv[c].get("snapshotId")) for c in warmkit.CLAIMS}, "datapath/FORMAT.md: Target stamps")
        FIG["syncs"].append({"backup s": round(bsecs, 1),
                             "read": {c: v.get("bytesRead") for c, v in bv.items()},
                             "cbt": {c: v.get("changedBlocksUsed") for c, v in bv.items()},
                             "written": {c: r[0].get("bytesWritten") for c, r in res.items()},
                             "delta s": {c: r[1] and round(r[1], 1) for c, r in res.items()},
                             "round s": round(time.time() - t, 1)})
    gap = sprobe.longest_gap(t_app)
    check(f"the source's Service answered through the seed and the syncs: no time without an answer of "
          f"{warmkit.OUTAGE_S} s or more", gap is not None and gap < warmkit.OUTAGE_S,
          (gap and round(gap, 3), f"{sprobe.failures(t_app)} probe(s) failed"), f"< {warmkit.OUTAGE_S} s", REF)

    # ------------------------------------------------------------ cutover
    cut = {}
    t_stop = time.time()
    last_src = sprobe.last_ok()
    cut["scale to 0 s"] = round(warmkit.scale(src, 0), 2)
    eq("cutover: the source's pod is gone", warmkit.pods(src), [], REF)
    t = time.time()
    fin, secs = warmkit.backup(src, "final")
    cut["final backup s"] = round(secs, 2)
    fv = volumes_of(fin)
    eq("cutover: the final Backup of shop completes with both volumes", (fin.get("phase"), sorted(fv)),
       ("Completed", sorted(warmkit.CLAIMS)), REF)
    t = time.time()
    res = apply(dst, "final", fv, held)
    cut["final deltas s"] = round(time.time() - t, 2)
    cut["final written"] = {c: r[0].get("bytesWritten") for c, r in res.items()}
    eq("cutover: each final delta Completed", {c: r[0].get("phase") for c, r in res.items()},
       {c: "Completed" for c in warmkit.CLAIMS}, REF)
    t = time.time()
    spvs = warmkit.claim_pvs(src)
    sums = {c: (warmkit.volume_sum(src, spvs[c]), warmkit.volume_sum(dst, dpvs[c])) for c in warmkit.CLAIMS}
    cut["compare s"] = round(time.time() - t, 2)
    note("SHA-256 source / target: " + json.dumps(sums))
    eq("cutover: each target volume's bytes equal its source's (SHA-256 of the backing files, both unmounted)",
       {c: s[0] is not None and s[0] == s[1] for c, s in sums.items()}, {c: True for c in warmkit.CLAIMS}, REF)
    t = time.time()
    fs = {c: (warmkit.fsck(src, spvs[c])[0], warmkit.fsck(dst, dpvs[c])[0]) for c in warmkit.CLAIMS}
    cut["e2fsck s"] = round(time.time() - t, 2)
    eq("cutover: each ext4, source and target, is clean for e2fsck -fn", fs, {c: (0, 0) for c in warmkit.CLAIMS},
       "e2fsck(8)")
    t = time.time()
    st, secs = warmkit.synced(dst, "final")
    cut["final sync wait s"] = round(secs, 2)
    eq("the final Backup is synced to the target", st.get("phase"), "Completed", REF)
    t = time.time()
    # the final Backup holds the source's changed-block bases too (VolumeSnapshots labelled
    # ferry.io/cbt-base, spec.source.persistentVolumeClaimName): restored, each cuts a new
    # snapshot of the target's claim. Left out here until a Backup leaves ferry's own bases out
    rst, secs = warmkit.restore(dst, "final", "final", namespaceMapping={NS: NS}, restoreVolumes=False,
                                excludedResources=["volumesnapshots.snapshot.storage.k8s.io"])
    cut["restore objects s"] = round(secs, 2)
    note(f"final Restore: {secs:.1f} s: " + json.dumps({k: v for k, v in rst.items() if k != "conditions"})[:1500])
    check("cutover: the final Backup's objects restored in the target (its claims left as they are)",
          rst.get("phase") in ("Completed", "PartiallyFailed") and not rst.get("errors"),
          {k: rst.get(k) for k in ("phase", "errors", "warnings", "validationErrors")}, "Completed, no error", REF)
    eq("no VolumeSnapshot in the target's shop (none of the source's bases, none cut of the target's claims)",
       dst.items(f"/apis/snapshot.storage.k8s.io/v1/namespaces/{NS}/volumesnapshots"), [], REF)
    sts = dst.get(f"/apis/apps/v1/namespaces/{NS}/statefulsets/web") or {}
    eq("the target's StatefulSet web is there at 0 replicas, as the final Backup holds it",
       sts.get("spec", {}).get("replicas"), 0, REF)
    t = time.time()
    warmkit.scale(dst, 1)
    dprobe = warmkit.Probe(dst, PROBE_NODE, warmkit.service_ip(dst)).start()
    probes.append(dprobe)
    first = wait_until(lambda: dprobe.first_ok(), 60, 0.02)
    cut["target up s"] = round(time.time() - t, 2)
    if not check("cutover: the target's Service answers once web-0 runs there", first,
                 dprobe.error or dprobe.samples[-3:], "an answer", REF):
        warmkit.diagnose(dst, "the target's Service does not answer")
    gap = warmkit.window(sprobe, dprobe, t_stop)
    cut["window s"] = gap and round(gap, 2)
    note(f"probe: source {sprobe.rate():.1f} req/s, target {dprobe.rate():.1f} req/s; last source answer "
         f"{last_src and last_src[2]!r}, first target answer {first and first[2]!r}")
    check("the target's writer goes on from the copied volume: its first counter at or past the source's last",
          first and last_src and int(first[2]) >= int(last_src[2]), (last_src, first), ">=", REF)
    eq("the target's pod is web-0 and only it", warmkit.pods(dst), ["web-0"], REF)
    FIG["cutover"] = cut
    FIG["cutover total s"] = round(time.time() - t_stop, 1)

    # ------------------------------------------------------------ the way back stays open
    # the source's volumes were snapshotted since its pod last mounted them (each Backup, and
    # the bases kept for changed blocks): a rollback mounts them again
    t = time.time()
    warmkit.scale(src, 1)
    if not check("rollback stays possible: the source scaled back to 1 mounts its snapshotted volumes and is ready",
                 warmkit.ready(src, 60), warmkit.pods(src), "web-0 ready", REF):
        warmkit.diagnose(src, "the source does not come back")
    FIG["source back s"] = round(time.time() - t, 1)
finally:
    for p in probes:
        p.stop()
    warmkit.close([src, dst], REF)
note("figures: " + json.dumps(FIG))
note(f"{time.time() - T0:.1f} s in all")
finish()
