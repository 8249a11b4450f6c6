"""An immutable view of the cluster at one instant, with the indexes the views need.

The store (store.py) hands readers a ClusterSnapshot; analysis/ reads only this. Tests and
replays build one from plain records with `ClusterSnapshot.build(...)`.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Iterable, Mapping

from .model import (
    Event,
    Hpa,
    LimitRange,
    Namespace,
    NetworkPolicy,
    Node,
    Pod,
    PodDisruptionBudget,
    ResourceQuota,
    Service,
    Workload,
)

WorkloadKey = tuple[str, str, str]  # (kind, namespace, name)

_EMPTY: Mapping = MappingProxyType({})


def _empty_map() -> Mapping:
    return _EMPTY


@dataclass(frozen=True)
class ClusterInfo:
    context: str = ""
    server: str = ""
    version: str = ""  # gitVersion from /version
    user: str = ""
    insecure: bool = False  # TLS verification skipped on request


@dataclass(frozen=True)
class KindState:
    """Load/watch state of one kind, for status lines and stale/forbidden markers."""

    kind: str
    listed: int = 0
    pages: int = 0
    complete: bool = False
    forbidden: bool = False
    error: str = ""  # last error, one line; "" when healthy
    synced_at: float = 0.0  # when the list (or last watch event/bookmark) was applied
    total: int | None = None  # expected items while listing: listed + metadata.remainingItemCount (None: unknown)


@dataclass(frozen=True)
class ClusterSnapshot:
    taken_at: float
    cluster: ClusterInfo = ClusterInfo()
    nodes: Mapping[str, Node] = field(default_factory=_empty_map)  # by name
    pods: Mapping[str, Pod] = field(default_factory=_empty_map)  # by uid
    namespaces: Mapping[str, Namespace] = field(default_factory=_empty_map)  # by name
    quotas: tuple[ResourceQuota, ...] = ()
    limit_ranges: tuple[LimitRange, ...] = ()
    hpas: tuple[Hpa, ...] = ()
    workloads: Mapping[WorkloadKey, Workload] = field(default_factory=_empty_map)  # deployments, statefulsets, replicasets, daemonsets, jobs
    events: tuple[Event, ...] = ()
    pdbs: tuple[PodDisruptionBudget, ...] = ()
    network_policies: tuple[NetworkPolicy, ...] = ()
    services: tuple[Service, ...] = ()
    kinds: Mapping[str, KindState] = field(default_factory=_empty_map)  # by plural resource name
    # indexes (values are pod uids)
    pods_by_node: Mapping[str, tuple[str, ...]] = field(default_factory=_empty_map)
    pods_by_namespace: Mapping[str, tuple[str, ...]] = field(default_factory=_empty_map)
    # pods by their top controller: (Deployment|StatefulSet|DaemonSet|Job|ReplicaSet, ns, name)
    pods_by_workload: Mapping[WorkloadKey, tuple[str, ...]] = field(default_factory=_empty_map)
    nodes_by_zone: Mapping[str, tuple[str, ...]] = field(default_factory=_empty_map)  # zone ("" if unlabelled) -> node names
    events_by_object: Mapping[tuple[str, str, str], tuple[Event, ...]] = field(default_factory=_empty_map)  # (kind, ns, name)
    extra: Mapping[str, object] = field(default_factory=dict)
    # GPU nodes (a gpu.product label or allocatable GPUs) by product ("" if unlabelled) -> node names
    nodes_by_gpu_product: Mapping[str, tuple[str, ...]] = field(default_factory=_empty_map)

    @classmethod
    def build(
        cls,
        taken_at: float,
        *,
        cluster: ClusterInfo = ClusterInfo(),
        nodes: Iterable[Node] = (),
        pods: Iterable[Pod] = (),
        namespaces: Iterable[Namespace] = (),
        quotas: Iterable[ResourceQuota] = (),
        limit_ranges: Iterable[LimitRange] = (),
        hpas: Iterable[Hpa] = (),
        workloads: Iterable[Workload] = (),
        events: Iterable[Event] = (),
        pdbs: Iterable[PodDisruptionBudget] = (),
        network_policies: Iterable[NetworkPolicy] = (),
        services: Iterable[Service] = (),
        kinds: Mapping[str, KindState] | None = None,
    ) -> "ClusterSnapshot":
        node_map = {n.name: n for n in nodes}
        pod_map = {p.uid: p for p in pods}
        wl_map = {(w.kind, w.namespace, w.name): w for w in workloads}
        events_t = tuple(events)
        by_node: dict[str, list[str]] = defaultdict(list)
        by_ns: dict[str, list[str]] = defaultdict(list)
        by_wl: dict[WorkloadKey, list[str]] = defaultdict(list)
        for uid, p in pod_map.items():
            if p.node_name:
                by_node[p.node_name].append(uid)
            by_ns[p.namespace].append(uid)
            top = top_controller(p, wl_map)
            if top is not None:
                by_wl[top].append(uid)
        by_zone: dict[str, list[str]] = defaultdict(list)
        for n in node_map.values():
            by_zone[n.zone].append(n.name)
        by_gpu = nodes_by_gpu_product(node_map.values())
        by_obj: dict[tuple[str, str, str], list[Event]] = defaultdict(list)
        for e in events_t:
            by_obj[(e.involved_kind, e.involved_namespace or e.namespace, e.involved_name)].append(e)
        return cls(
            taken_at=taken_at,
            cluster=cluster,
            nodes=MappingProxyType(node_map),
            pods=MappingProxyType(pod_map),
            namespaces=MappingProxyType({n.name: n for n in namespaces}),
            quotas=tuple(quotas),
            limit_ranges=tuple(limit_ranges),
            hpas=tuple(hpas),
            workloads=MappingProxyType(wl_map),
            events=events_t,
            pdbs=tuple(pdbs),
            network_policies=tuple(network_policies),
            services=tuple(services),
            kinds=MappingProxyType(dict(kinds or {})),
            pods_by_node=_freeze(by_node),
            pods_by_namespace=_freeze(by_ns),
            pods_by_workload=_freeze(by_wl),
            nodes_by_zone=_freeze(by_zone),
            events_by_object=_freeze(by_obj),
            nodes_by_gpu_product=by_gpu,
        )

    def pods_on(self, node: str) -> list[Pod]:
        return [self.pods[u] for u in self.pods_by_node.get(node, ())]

    def pods_in(self, namespace: str) -> list[Pod]:
        return [self.pods[u] for u in self.pods_by_namespace.get(namespace, ())]

    def pods_of(self, key: WorkloadKey) -> list[Pod]:
        return [self.pods[u] for u in self.pods_by_workload.get(key, ())]


def top_controller(pod: Pod, workloads: Mapping[WorkloadKey, Workload]) -> WorkloadKey | None:
    """The pod's top controller: a ReplicaSet owned by a Deployment resolves to the Deployment."""
    o = pod.owner
    if o is None:
        return None
    key = (o.kind, pod.namespace, o.name)
    if o.kind == "ReplicaSet":
        rs = workloads.get(key)
        if rs is not None and rs.owner is not None and rs.owner.kind == "Deployment":
            return ("Deployment", pod.namespace, rs.owner.name)
    return key


def nodes_by_gpu_product(nodes: Iterable[Node]) -> Mapping[str, tuple[str, ...]]:
    """GPU nodes grouped by their nvidia.com/gpu.product label ("" when only allocatable says GPU)."""
    out: dict[str, list[str]] = defaultdict(list)
    for n in nodes:
        if n.gpu_product or n.allocatable.gpu or n.capacity.gpu:
            out[n.gpu_product].append(n.name)
    return _freeze(out)


def _freeze(d: Mapping[object, list]) -> Mapping:
    return MappingProxyType({k: tuple(v) for k, v in d.items()})
