"""Zones: capacity per availability zone, each workload's ready replicas per zone, and a
zone-loss what-if (who goes down, and do the other zones have room for the displaced pods)."""
from __future__ import annotations

import heapq

from ..metrics_snapshot import MetricsSnapshot
from ..model import Pod
from ..snapshot import ClusterSnapshot
from .allocation import SPREAD_KINDS, Allocation, Load, allocation, is_prod
from .models import WorkloadZoneSpread, ZoneCount, ZoneLossImpact, ZoneSummary, ZoneView
from .scheduling import NodeRoom, PodShape, StaticIndex, fits_count, node_rooms

UNPLACED_SHOWN = 20
# The what-if is a greedy heuristic with bounded search: per group of identical pods, at most
# SEARCH_LIMIT of the freest nodes that turn out short of something are tried; per zone, at most
# SEARCH_BUDGET such misses in all. Once the budget is spent (a cluster with no room), the remaining
# groups count as unplaced without a search and the summary says the count is an upper bound.
SEARCH_LIMIT = 64
SEARCH_BUDGET = 20_000


def zone_view(cluster: ClusterSnapshot, metrics: MetricsSnapshot | None = None, *,
              alloc: Allocation | None = None, rooms: list[NodeRoom] | None = None) -> ZoneView:
    alloc = alloc or allocation(cluster)
    rooms = rooms if rooms is not None else node_rooms(cluster, alloc)
    zones = sorted(cluster.nodes_by_zone)
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
    ready_in: dict[str, dict[str, int]] = {}  # workload key -> ready replicas per zone
    for wkey, uids in cluster.pods_by_workload.items():
        kind, ns, name = wkey
        if kind not in SPREAD_KINDS:
            continue
        per_zone = alloc.ready_by_zone.get(wkey, {})
        wl = cluster.workloads.get(wkey)
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
            spread_constraints=wkey in alloc.spread,
        ))
    spreads.sort(key=lambda s: (not (s.prod and s.single_zone), not s.single_zone, -s.skew, s.key))

    # pods that would need a new home if their zone went (DaemonSet and static pods stay), gathered by
    # allocation() keyed (zone, owner, requests): a workload's replicas share a shape, so the what-if places groups
    by_zone = _shape_groups(alloc.displaced)
    static = StaticIndex(rooms)  # shared by the zones: a placement's eligible nodes are found once
    losses = tuple(_zone_loss(cluster, z, static, ready_in, by_zone.get(z, [])) for z in zones) if len(zones) > 1 else ()
    return ZoneView(rows=tuple(summaries), workloads=tuple(spreads),
                    single_zone=tuple(s.key for s in spreads if s.single_zone), losses=losses)


def _shape_groups(moving: dict[tuple, list[Pod]]) -> dict[str, list[tuple[PodShape, int, list[list[Pod]]]]]:
    """Per zone: (shape, pod count, member lists), owners with the same shape merged."""
    merged: dict[str, dict[PodShape, list]] = {}
    shapes: dict[tuple, PodShape] = {}  # by (owner, requests): the same in every zone
    for k, members in moving.items():
        shape = shapes.get(k[1:])
        if shape is None:
            shape = shapes[k[1:]] = PodShape.of(members[0])
        zone_groups = merged.setdefault(k[0], {})
        g = zone_groups.get(shape)
        if g is None:
            zone_groups[shape] = [len(members), [members]]
        else:
            g[0] += len(members)
            g[1].append(members)
    return {z: [(shape, n, lists) for shape, (n, lists) in gs.items()] for z, gs in merged.items()}


def _zone_loss(cluster: ClusterSnapshot, zone: str, static: StaticIndex, ready_in,
               groups: list[tuple[PodShape, int, list[list[Pod]]]]) -> ZoneLossImpact:
    down, degraded = [], []
    for key, per_zone in ready_in.items():
        lost = per_zone.get(zone, 0)
        if lost:
            (down if lost == sum(per_zone.values()) else degraded).append(key)
    # remaining capacity: other zones' nodes that take new pods (Ready, not cordoned); copied, then filled
    remaining = {i: r.copy() for i, r in enumerate(static.rooms) if r.zone != zone and r.ready and not r.unschedulable}
    # groups of identical pods, biggest first, each pod onto the eligible node with the most room left
    groups = sorted(groups, key=lambda g: (g[0].gpu, sum(v for _, v in g[0].extended), g[0].cpu_m, g[0].memory), reverse=True)
    eligible_by_placement: dict[tuple, list[NodeRoom]] = {}
    heaps: dict[tuple, list] = {}
    unplaced: list[str] = []
    unplaced_n = 0
    n_pods = cpu = mem = gpu = 0
    budget = [SEARCH_BUDGET]
    pools: dict[tuple, NodeRoom] = {}  # per placement, the summed free room (after the budget)
    for shape, n, member_lists in groups:
        n_pods += n
        cpu += n * shape.cpu_m
        mem += n * shape.memory
        gpu += n * shape.gpu
        pl = shape.placement()
        eligible = eligible_by_placement.get(pl)
        if eligible is None:
            # in node order, as the heap's tie-break on position needs
            eligible = eligible_by_placement[pl] = [remaining[i] for i in static.passing(shape) if i in remaining]
        key = _gpu_free if shape.gpu else _free_share
        heap = heaps.get((pl, key))
        if heap is None:
            heap = heaps[(pl, key)] = [(-key(r), i, r) for i, r in enumerate(eligible)]
            heapq.heapify(heap)
        if budget[0] > 0:
            left = _place(shape, n, heap, key, budget)
        else:
            pooled = pools.get(pl)
            if pooled is None:
                pooled = pools[pl] = _pool(eligible)
            left = _place_pooled(shape, n, pooled)
        if left:
            unplaced_n += left
            why = "no eligible node (taints/selectors)" if not eligible else _short_of(shape)
            shown = [p for ms in member_lists for p in ms][n - left:][: max(0, UNPLACED_SHOWN - len(unplaced))]
            unplaced.extend(f"{p.namespace}/{p.name}: {why}" for p in shown)
    nodes_lost = len(cluster.nodes_by_zone.get(zone, ()))
    fits = unplaced_n == 0
    if fits:
        room = "the other zones have room for all of them"
    elif budget[0] > 0:
        room = f"{unplaced_n} pods find no room"
    else:
        room = f"about {unplaced_n} pods find no room (estimate: search budget spent)"
    summary = (f"losing {zone or '(no zone)'}: {nodes_lost} nodes, {n_pods} pods displaced, "
               f"{len(down)} workloads down; {room}")
    return ZoneLossImpact(
        key=zone, zone=zone, nodes_lost=nodes_lost, pods_displaced=n_pods, cpu_displaced_m=cpu,
        memory_displaced=mem, gpu_displaced=gpu, workloads_down=tuple(sorted(down)),
        workloads_degraded=tuple(sorted(degraded)), fits=fits, unplaced_pods=unplaced_n,
        unplaced=tuple(unplaced), summary=summary,
    )


def _gpu_free(room: NodeRoom) -> float:
    return room.gpu


def _free_share(room: NodeRoom) -> float:
    """How free a node is, as the smaller of its free CPU and memory shares (the scheduler's default
    scoring prefers the least allocated node)."""
    return min(room.cpu_m / (room.cpu_total_m or 1), room.memory / (room.memory_total or 1))


def _place(shape: PodShape, n: int, heap: list, key, budget: list[int]) -> int:
    """Place n pods of a shape, each time on the eligible node that is freest by `key`; returns how
    many found no room. The heap holds (-key, i, room) entries that may be stale (free only
    shrinks): an entry is refreshed when it surfaces, so the top is always exact."""
    left = n
    aside = []  # the freest nodes that are still short of something this shape needs
    while left and heap:
        negk, i, room = heap[0]
        cur = key(room)
        if -negk != cur:
            heapq.heapreplace(heap, (-cur, i, room))
            continue
        if cur <= 0 or (shape.gpu and cur < shape.gpu):
            break  # not even the freest node has room
        k = min(left, fits_count(shape, room))
        if not k:
            aside.append(heapq.heappop(heap))
            budget[0] -= 1
            if len(aside) >= SEARCH_LIMIT or budget[0] <= 0:
                break
            continue
        room.cpu_m -= k * shape.cpu_m
        room.memory -= k * shape.memory
        room.gpu -= k * shape.gpu
        room.pods -= k
        for name, v in shape.extended:
            room.extended[name] = room.extended.get(name, 0) - k * v
        left -= k
        heapq.heapreplace(heap, (-key(room), i, room))
    for _negk, i, room in aside:
        heapq.heappush(heap, (-key(room), i, room))
    return left


def _pool(eligible: list[NodeRoom]) -> NodeRoom:
    """The eligible nodes' free room summed into one (what remains when searching is too costly)."""
    ext: dict[str, int] = {}
    for r in eligible:
        for k, v in r.extended.items():
            ext[k] = ext.get(k, 0) + max(0, v)
    return NodeRoom("(pooled)", "", {}, (), False, True, sum(max(0, r.cpu_m) for r in eligible),
                    sum(max(0, r.memory) for r in eligible), sum(max(0, r.gpu) for r in eligible),
                    sum(max(0, r.pods) for r in eligible), ext)


def _place_pooled(shape: PodShape, n: int, pool: NodeRoom) -> int:
    k = min(n, fits_count(shape, pool))
    pool.cpu_m -= k * shape.cpu_m
    pool.memory -= k * shape.memory
    pool.gpu -= k * shape.gpu
    pool.pods -= k
    for name, v in shape.extended:
        pool.extended[name] = pool.extended.get(name, 0) - k * v
    return n - k


def _short_of(shape: PodShape) -> str:
    parts = []
    if shape.gpu:
        parts.append(f"{shape.gpu} nvidia.com/gpu")
    parts.extend(f"{v} {k}" for k, v in shape.extended)
    parts.append(f"{shape.cpu_m}m cpu")
    parts.append(f"{shape.memory >> 20}Mi memory")
    return "not enough free room for " + ", ".join(parts)
