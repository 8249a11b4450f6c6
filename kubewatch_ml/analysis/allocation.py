"""What is reserved where: requests of non-terminated pods summed per node and per namespace,
in one pass over the pods (computed once per snapshot and shared by the views)."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..model import GPU_RESOURCE, MIG_PREFIX, Namespace, Pod, Resources
from ..snapshot import ClusterSnapshot


@dataclass
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
    by_node: dict[str, Load] = {}
    by_ns: dict[str, Load] = {}
    pending: list[Pod] = []
    bare: list[Pod] = []
    phases: dict[str, int] = {}
    for p in cluster.pods.values():
        phases[p.phase] = phases.get(p.phase, 0) + 1
        if p.phase == "Succeeded" or p.phase == "Failed":
            continue
        if p.owner is None and not p.is_mirror:
            bare.append(p)
        r = requests_of(p)
        ns = by_ns.get(p.namespace)
        if ns is None:
            ns = by_ns[p.namespace] = Load()
        ns.cpu_m += r.cpu_m
        ns.memory += r.memory
        ns.gpu += r.gpu
        ns.pods += 1
        lim = p.limits
        ns.cpu_limit_m += lim.cpu_m
        ns.memory_limit += lim.memory
        if r.extended:
            _add_ext(ns.extended, r.extended)
        if not p.node_name:
            if p.phase == "Pending" and not p.deleting:
                pending.append(p)
            continue
        n = by_node.get(p.node_name)
        if n is None:
            n = by_node[p.node_name] = Load()
        n.cpu_m += r.cpu_m
        n.memory += r.memory
        n.gpu += r.gpu
        n.pods += 1
        if r.extended:
            _add_ext(n.extended, r.extended)
    return Allocation(by_node, by_ns, pending, bare, phases)


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


__all__ = ["Allocation", "Load", "allocation", "mig_of", "wants_gpu", "is_prod", "object_key", "requests_of", "GPU_RESOURCE"]
