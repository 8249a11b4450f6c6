"""What is reserved where: requests of non-terminated pods summed per node and per namespace, in the
one pass over the pods (computed once per snapshot and shared by the views). The same pass gathers
the per-pod facts other views need, so none of them walks all 150,000 pods again: the pods holding
GPUs per node, each workload's ready replicas per zone, and the pods a zone loss would displace."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from ..model import GPU_RESOURCE, MIG_PREFIX, Namespace, Pod, Resources
from ..snapshot import ClusterSnapshot, WorkloadKey

SPREAD_KINDS = ("Deployment", "StatefulSet", "ReplicaSet")  # DaemonSets follow nodes; Jobs finish


@dataclass(slots=True)
class Load:
    """Requests summed over the non-terminated pods bound to one node (or living in one namespace)."""

    cpu_m: int = 0
    memory: int = 0
    gpu: int = 0
    pods: int = 0
    extended: dict[str, int] = field(default_factory=dict)
    cpu_limit_m: int = 0
    memory_limit: int = 0


@dataclass
class Allocation:
    by_node: dict[str, Load]
    by_namespace: dict[str, Load]
    pending: list[Pod]  # Pending, not bound to a node, not being deleted
    bare: list[Pod] = field(default_factory=list)  # not finished, no controller owner, not a static pod
    phases: dict[str, int] = field(default_factory=dict)  # pods per phase, finished ones included
    # node -> its non-terminated pods that request GPUs or MIG slices
    gpu_pods: dict[str, list[Pod]] = field(default_factory=dict)
    # every SPREAD_KINDS workload in pods_by_workload -> its Ready pods per zone (placed, not finished)
    ready_by_zone: dict[WorkloadKey, dict[str, int]] = field(default_factory=dict)
    # workloads with a placed pod that declares topology spread or pod anti-affinity
    spread: set[WorkloadKey] = field(default_factory=set)
    # pods a zone loss would displace (not DaemonSet, not static), grouped by
    # (zone, owner uid, cpu_m, memory, gpu) for controlled pods and (zone, pod uid) for bare ones;
    # in pods_by_workload order, then bare pods in snapshot order (the what-if's tie-break)
    displaced: dict[tuple, list[Pod]] = field(default_factory=dict)
    # pods whose container statuses show trouble (restarts, CrashLoopBackOff, running but not ready),
    # finished pods included: the probe view's candidates besides the pods metrics and events name
    troubled: list[Pod] = field(default_factory=list)


def requests_of(p: Pod) -> Resources:
    """The pod's requests as the API server defaults them: a GPU / extended resource given only as a
    limit is requested at that limit (extended resources cannot be overcommitted)."""
    r, lim = p.requests, p.limits
    if not lim.gpu and not lim.extended:
        return r
    gpu = r.gpu or lim.gpu
    ext = r.extended
    if lim.extended:
        missing = {k: v for k, v in lim.extended.items() if k not in (ext or {})}
        if missing:
            ext = {**(ext or {}), **missing}
    if gpu == r.gpu and ext is r.extended:
        return r
    return Resources(cpu_m=r.cpu_m, memory=r.memory, gpu=gpu, pods=r.pods, extended=ext)


def allocation(cluster: ClusterSnapshot) -> Allocation:
    """One pass over the pods, workload by workload (pods_by_workload), then the pods without an owner."""
    a = Allocation({}, {}, [])
    # per node: its load and zone (None: a node the snapshot no longer has), found with one lookup per pod
    slots: dict[str, tuple[Load, str | None]] = {n.name: (Load(), n.zone) for n in cluster.nodes.values()}
    pods = cluster.pods
    get = pods.__getitem__
    seen = 0
    for key, uids in cluster.pods_by_workload.items():
        seen += len(uids)
        _add_pods(a, key, map(get, uids), slots)
    if seen < len(pods):
        ownerless = [p for p in pods.values() if p.owner is None]
        if seen + len(ownerless) != len(pods):  # an owned pod missing from the index: count it too
            indexed = {u for uids in cluster.pods_by_workload.values() for u in uids}
            _add_pods(a, None, [p for u, p in pods.items() if p.owner is not None and u not in indexed], slots)
        _add_pods(a, None, ownerless, slots)
    a.by_node = {name: load for name, (load, _z) in slots.items() if load.pods}
    return a


def _add_pods(a: Allocation, key: WorkloadKey | None, pods: Iterable[Pod], slots: dict[str, tuple[Load, str | None]]) -> None:
    """Adds the pods of one workload (key: all in namespace key[1]) or pods without a controller (key None).
    The hot loop of analyze(): locals instead of attribute updates where the sums allow it."""
    phases, gpu_pods, displaced = a.phases, a.gpu_pods, a.displaced
    count_ready = key is not None and key[0] in SPREAD_KINDS
    moves = key is None or key[0] != "DaemonSet"
    per_zone: dict[str, int] = {}
    spread = False
    running = 0
    # a workload's namespace totals, added once at the end (pods without a controller: per pod)
    cpu = mem = gpu = n_pods = cpu_lim = mem_lim = 0
    ns_ext: dict[str, int] = {}
    troubled = a.troubled
    for p in pods:
        for s in p.statuses:
            if s.restart_count > 0 or s.reason == "CrashLoopBackOff" or (not s.ready and s.state == "running"):
                troubled.append(p)
                break
        phase = p.phase
        if phase == "Running":
            running += 1
        else:
            phases[phase] = phases.get(phase, 0) + 1
            if phase == "Succeeded" or phase == "Failed":
                continue
        raw = p.requests
        lim = p.limits
        r = requests_of(p) if lim.gpu or lim.extended else raw
        if key is None:
            bare = p.owner is None and not p.is_mirror
            if bare:
                a.bare.append(p)
            ns = a.by_namespace.get(p.namespace)
            if ns is None:
                ns = a.by_namespace[p.namespace] = Load()
            ns.cpu_m += r.cpu_m
            ns.memory += r.memory
            ns.gpu += r.gpu
            ns.pods += 1
            ns.cpu_limit_m += lim.cpu_m
            ns.memory_limit += lim.memory
            if r.extended:
                _add_ext(ns.extended, r.extended)
        else:
            cpu += r.cpu_m
            mem += r.memory
            gpu += r.gpu
            n_pods += 1
            cpu_lim += lim.cpu_m
            mem_lim += lim.memory
            if r.extended:
                _add_ext(ns_ext, r.extended)
        node = p.node_name
        if not node:
            if phase == "Pending" and not p.deleting:
                a.pending.append(p)
            continue
        slot = slots.get(node)
        if slot is None:
            slot = slots[node] = (Load(), None)
        n, z = slot
        n.cpu_m += r.cpu_m
        n.memory += r.memory
        n.gpu += r.gpu
        n.pods += 1
        if r.extended:
            _add_ext(n.extended, r.extended)
            if r.gpu or mig_of(r.extended):
                gpu_pods.setdefault(node, []).append(p)
        elif r.gpu:
            gpu_pods.setdefault(node, []).append(p)
        if z is None:  # bound to a node the snapshot no longer has
            continue
        if key is None:
            if bare:  # bare pods move too, if they are recreated
                displaced[(z, p.uid)] = [p]
            continue
        if moves and not p.is_mirror:
            # a workload's replicas share a shape, so the what-if places groups (limits-only GPUs are
            # folded in later by PodShape.of)
            k = (z, p.owner.uid or p.owner.name, raw.cpu_m, raw.memory, raw.gpu)  # type: ignore[union-attr]
            group = displaced.get(k)
            if group is None:
                displaced[k] = [p]
            else:
                group.append(p)
        if not spread and (p.has_spread_constraints or p.has_anti_affinity):
            spread = True
        if count_ready:
            for c in p.conditions:
                if c.type == "Ready":
                    if c.status == "True":
                        per_zone[z] = per_zone.get(z, 0) + 1
                    break
    if running:
        phases["Running"] = phases.get("Running", 0) + running
    if key is None:
        return
    if n_pods:
        ns = a.by_namespace.get(key[1])
        if ns is None:
            ns = a.by_namespace[key[1]] = Load()
        ns.cpu_m += cpu
        ns.memory += mem
        ns.gpu += gpu
        ns.pods += n_pods
        ns.cpu_limit_m += cpu_lim
        ns.memory_limit += mem_lim
        if ns_ext:
            _add_ext(ns.extended, ns_ext)
    if count_ready:
        a.ready_by_zone[key] = per_zone
    if spread:
        a.spread.add(key)


def _add_ext(into: dict[str, int], ext: dict[str, int]) -> None:
    for k, v in ext.items():
        into[k] = into.get(k, 0) + v


def mig_of(ext: dict[str, int] | None) -> dict[str, int]:
    return {k: v for k, v in (ext or {}).items() if k.startswith(MIG_PREFIX)}


def wants_gpu(p: Pod) -> bool:
    r = requests_of(p)
    return r.gpu > 0 or bool(mig_of(r.extended))


def is_prod(namespace: str, ns: Namespace | None) -> bool:
    """A production namespace: its name ends in -prod, or it is labelled env=prod."""
    if namespace.endswith("-prod"):
        return True
    return bool(ns is not None and ns.labels and ns.labels.get("env") == "prod")


def object_key(kind: str, namespace: str, name: str) -> str:
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


__all__ = ["Allocation", "Load", "allocation", "SPREAD_KINDS", "mig_of", "wants_gpu", "is_prod", "object_key", "requests_of", "GPU_RESOURCE"]
