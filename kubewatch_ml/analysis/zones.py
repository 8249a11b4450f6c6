"""Zones: capacity per availability zone, each workload's ready replicas per zone, and a
zone-loss what-if (who goes down, and do the other zones have room for the displaced pods)."""
from __future__ import annotations

from collections import defaultdict

from ..metrics_snapshot import MetricsSnapshot
from ..model import Pod
from ..snapshot import ClusterSnapshot
from .allocation import Allocation, Load, allocation, is_prod
from .models import WorkloadZoneSpread, ZoneCount, ZoneLossImpact, ZoneSummary, ZoneView
from .scheduling import NodeRoom, PodShape, fits_count, node_rooms, static_reason

SPREAD_KINDS = ("Deployment", "StatefulSet", "ReplicaSet")  # DaemonSets follow nodes; Jobs finish
UNPLACED_SHOWN = 20


def zone_view(cluster: ClusterSnapshot, metrics: MetricsSnapshot | None = None, *,
              alloc: Allocation | None = None, rooms: list[NodeRoom] | None = None) -> ZoneView:
    alloc = alloc or allocation(cluster)
    rooms = rooms if rooms is not None else node_rooms(cluster, alloc)
    zones = sorted(cluster.nodes_by_zone)
    node_zone = {n.name: n.zone for n in cluster.nodes.values()}
    empty = Load()

    summaries = []
    for z in zones:
        names = cluster.nodes_by_zone[z]
        ns = [cluster.nodes[n] for n in names]
        loads = [alloc.by_node.get(n, empty) for n in names]
        summaries.append(ZoneSummary(
            key=z, zone=z, nodes=len(ns), ready_nodes=sum(1 for n in ns if n.ready == "True"),
            schedulable_nodes=sum(1 for n in ns if n.ready == "True" and not n.unschedulable),
            cordoned_nodes=sum(1 for n in ns if n.unschedulable),
            gpu_allocatable=sum(n.allocatable.gpu for n in ns),
            gpu_free=sum(n.allocatable.gpu - l.gpu for n, l in zip(ns, loads)),
            cpu_allocatable_m=sum(n.allocatable.cpu_m for n in ns),
            cpu_free_m=sum(n.allocatable.cpu_m - l.cpu_m for n, l in zip(ns, loads)),
            memory_allocatable=sum(n.allocatable.memory for n in ns),
            memory_free=sum(n.allocatable.memory - l.memory for n, l in zip(ns, loads)),
            pods=sum(l.pods for l in loads),
        ))

    spreads = []
    ready_zones: dict[str, set[str]] = {}  # workload key -> zones holding its ready replicas
    ready_in: dict[str, dict[str, int]] = {}
    for (kind, ns, name), uids in cluster.pods_by_workload.items():
        if kind not in SPREAD_KINDS:
            continue
        wl = cluster.workloads.get((kind, ns, name))
        per_zone: dict[str, int] = {}
        spread = False
        for u in uids:
            p = cluster.pods[u]
            spread = spread or p.has_spread_constraints or p.has_anti_affinity
            if p.node_name and not p.terminated and p.ready:
                z = node_zone.get(p.node_name, "")
                per_zone[z] = per_zone.get(z, 0) + 1
        key = f"{kind}/{ns}/{name}"
        ready = sum(per_zone.values())
        counts = [per_zone.get(z, 0) for z in zones] or [0]
        ready_in[key] = per_zone
        spreads.append(WorkloadZoneSpread(
            key=key, kind=kind, namespace=ns, name=name,
            replicas=wl.replicas if wl is not None else len(uids), ready=ready,
            by_zone=tuple(ZoneCount(zone=z, ready=per_zone.get(z, 0)) for z in zones),
            zones_used=sum(1 for v in per_zone.values() if v > 0),
            single_zone=len(zones) > 1 and ready >= 2 and len(per_zone) == 1,
            skew=max(counts) - min(counts), prod=is_prod(ns, cluster.namespaces.get(ns)),
            spread_constraints=spread,
        ))
        ready_zones[key] = set(per_zone)
    spreads.sort(key=lambda s: (not (s.prod and s.single_zone), not s.single_zone, -s.skew, s.key))

    losses = tuple(_zone_loss(cluster, z, rooms, ready_in) for z in zones) if len(zones) > 1 else ()
    return ZoneView(rows=tuple(summaries), workloads=tuple(spreads),
                    single_zone=tuple(s.key for s in spreads if s.single_zone), losses=losses)


def _displaced(cluster: ClusterSnapshot, zone: str) -> list[Pod]:
    """Pods that would need a new home: bound to the zone, not finished, not node-bound (DaemonSet, static)."""
    out = []
    for node in cluster.nodes_by_zone.get(zone, ()):
        for u in cluster.pods_by_node.get(node, ()):
            p = cluster.pods[u]
            if p.terminated or p.is_mirror or (p.owner is not None and p.owner.kind in ("DaemonSet", "Node")):
                continue
            out.append(p)
    return out


def _zone_loss(cluster: ClusterSnapshot, zone: str, rooms: list[NodeRoom], ready_in) -> ZoneLossImpact:
    down, degraded = [], []
    for key, per_zone in ready_in.items():
        lost = per_zone.get(zone, 0)
        if lost:
            (down if lost == sum(per_zone.values()) else degraded).append(key)
    pods = _displaced(cluster, zone)
    # remaining capacity: other zones' nodes that take new pods (Ready, not cordoned); copied, then filled
    remaining = [NodeRoom(**{**r.__dict__, "extended": dict(r.extended)})
                 for r in rooms if r.zone != zone and r.ready and not r.unschedulable]
    # group identical pods (a workload's replicas) and place the biggest first (first-fit decreasing)
    groups: dict[PodShape, list[Pod]] = defaultdict(list)
    for p in pods:
        groups[PodShape.of(p)].append(p)
    order = sorted(groups, key=lambda s: (s.gpu, sum(v for _, v in s.extended), s.cpu_m, s.memory), reverse=True)
    eligible_by_placement: dict[tuple, list[NodeRoom]] = {}
    unplaced: list[str] = []
    unplaced_n = 0
    for shape in order:
        members = groups[shape]
        pl = shape.placement()
        eligible = eligible_by_placement.get(pl)
        if eligible is None:
            eligible = eligible_by_placement[pl] = [r for r in remaining if static_reason(shape, r) is None]
        left = len(members)
        for room in eligible:
            if not left:
                break
            k = min(left, fits_count(shape, room))
            if k:
                room.cpu_m -= k * shape.cpu_m
                room.memory -= k * shape.memory
                room.gpu -= k * shape.gpu
                room.pods -= k
                for name, v in shape.extended:
                    room.extended[name] = room.extended.get(name, 0) - k * v
                left -= k
        if left:
            unplaced_n += left
            why = "no eligible node (taints/selectors)" if not eligible else _short_of(shape)
            for p in members[len(members) - left:][: max(0, UNPLACED_SHOWN - len(unplaced))]:
                unplaced.append(f"{p.namespace}/{p.name}: {why}")
    cpu = sum(p.requests.cpu_m for p in pods)
    mem = sum(p.requests.memory for p in pods)
    gpu = sum(p.requests.gpu for p in pods)
    nodes_lost = len(cluster.nodes_by_zone.get(zone, ()))
    fits = unplaced_n == 0
    summary = (f"losing {zone or '(no zone)'}: {nodes_lost} nodes, {len(pods)} pods displaced, "
               f"{len(down)} workloads down; "
               + ("the other zones have room for all of them" if fits else f"{unplaced_n} pods find no room"))
    return ZoneLossImpact(
        key=zone, zone=zone, nodes_lost=nodes_lost, pods_displaced=len(pods), cpu_displaced_m=cpu,
        memory_displaced=mem, gpu_displaced=gpu, workloads_down=tuple(sorted(down)),
        workloads_degraded=tuple(sorted(degraded)), fits=fits, unplaced_pods=unplaced_n,
        unplaced=tuple(unplaced), summary=summary,
    )


def _short_of(shape: PodShape) -> str:
    parts = []
    if shape.gpu:
        parts.append(f"{shape.gpu} nvidia.com/gpu")
    parts.extend(f"{v} {k}" for k, v in shape.extended)
    parts.append(f"{shape.cpu_m}m cpu")
    parts.append(f"{shape.memory >> 20}Mi memory")
    return "not enough free room for " + ", ".join(parts)
