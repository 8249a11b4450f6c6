"""Scheduler filter checks (what kube-scheduler's default filters would say) and why-pending.

Filters run in the scheduler's order and stop at the first failing one per node, as the
framework does: NodeUnschedulable, TaintToleration, NodeAffinity, NodeResourcesFit. The summary
mimics the scheduler's FitError ("0/40 nodes are available: 3 Insufficient cpu, ...").
"""
from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass

from ..model import Node, Pod, Requirement, Taint, Toleration
from ..snapshot import ClusterSnapshot, top_controller
from .allocation import Allocation, Load, allocation, mig_of, requests_of, wants_gpu
from .models import PendingPod, PendingReason, PendingView

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
FITTING_NODES_SHOWN = 20

UNSCHEDULABLE = "node(s) were unschedulable"
AFFINITY_MISMATCH = "node(s) didn't match Pod's node affinity/selector"
TOO_MANY_PODS = "Too many pods"


def tolerates(tolerations: tuple[Toleration, ...], taint: Taint) -> bool:
    for t in tolerations:
        if t.effect and t.effect != taint.effect:
            continue
        if not t.key:
            if t.operator == "Exists":
                return True
            continue
        if t.key != taint.key:
            continue
        if t.operator == "Exists" or t.value == taint.value:
            return True
    return False


def effective_taints(node: Node) -> tuple[Taint, ...]:
    """The node's taints plus those the node lifecycle controller adds for NotReady/unreachable."""
    taints = node.taints
    if node.ready != "True" and (node.ready == "False" or _has_ready_condition(node)):
        key = NOT_READY_TAINT if node.ready == "False" else UNREACHABLE_TAINT
        if not any(t.key == key for t in taints):
            taints = taints + (Taint(key=key, value="", effect="NoSchedule"),)
    return taints


def _has_ready_condition(node: Node) -> bool:
    return any(c.type == "Ready" for c in node.conditions)


def untolerated_taint(tolerations: tuple[Toleration, ...], taints: tuple[Taint, ...]) -> Taint | None:
    for t in taints:
        if t.effect in ("NoSchedule", "NoExecute") and not tolerates(tolerations, t):
            return t
    return None


def taint_reason(t: Taint) -> str:
    return f"node(s) had untolerated taint {{{t.key}: {t.value}}}"


def requirement_matches(labels: dict[str, str], r: Requirement) -> bool:
    v = labels.get(r.key)
    op = r.operator
    if op == "In":
        return v is not None and v in r.values
    if op == "NotIn":
        return v is None or v not in r.values
    if op == "Exists":
        return v is not None
    if op == "DoesNotExist":
        return v is None
    if op in ("Gt", "Lt"):
        try:
            a, b = int(v), int(r.values[0])  # type: ignore[arg-type]
        except (TypeError, ValueError, IndexError):
            return False
        return a > b if op == "Gt" else a < b
    return False


FIELD_PREFIX = "field:"  # sources/decode.py stores a term's matchFields as requirements on "field:<path>"


def node_requirement_matches(labels: dict[str, str], node_name: str, r: Requirement) -> bool:
    """A node selector term's requirement: matchExpressions on labels; matchFields on the node's fields,
    of which Kubernetes supports metadata.name only (DaemonSet pods are pinned to their node that way)."""
    if r.key.startswith(FIELD_PREFIX):
        return requirement_matches({"metadata.name": node_name}, Requirement(r.key[len(FIELD_PREFIX):], r.operator, r.values))
    return requirement_matches(labels, r)


def matches_node(node_selector: dict[str, str] | None, terms: tuple[tuple[Requirement, ...], ...],
                 labels: dict[str, str], node_name: str = "") -> bool:
    if node_selector:
        for k, v in node_selector.items():
            if labels.get(k) != v:
                return False
    if terms:
        return any(all(node_requirement_matches(labels, node_name, r) for r in term) for term in terms)
    return True


@dataclass(slots=True)
class NodeRoom:
    """A node as the scheduler's filters see it: labels, effective taints and free allocatable."""

    name: str
    zone: str
    labels: dict[str, str]
    taints: tuple[Taint, ...]
    unschedulable: bool
    ready: bool
    cpu_m: int
    memory: int
    gpu: int
    pods: int
    extended: dict[str, int]
    cpu_total_m: int = 0  # allocatable, for free shares
    memory_total: int = 0

    def copy(self) -> "NodeRoom":
        """A copy whose free amounts can be consumed (what-ifs) without touching this one."""
        return NodeRoom(self.name, self.zone, self.labels, self.taints, self.unschedulable, self.ready,
                        self.cpu_m, self.memory, self.gpu, self.pods, dict(self.extended),
                        self.cpu_total_m, self.memory_total)


def node_rooms(cluster: ClusterSnapshot, alloc: Allocation) -> list[NodeRoom]:
    rooms = []
    empty = Load()
    for n in cluster.nodes.values():
        a = n.allocatable
        used = alloc.by_node.get(n.name, empty)
        ext = dict(a.extended or {})
        for k, v in used.extended.items():
            ext[k] = ext.get(k, 0) - v
        rooms.append(NodeRoom(
            name=n.name, zone=n.zone, labels=n.labels, taints=effective_taints(n),
            unschedulable=n.unschedulable, ready=n.ready == "True",
            cpu_m=a.cpu_m - used.cpu_m, memory=a.memory - used.memory, gpu=a.gpu - used.gpu,
            pods=a.pods - used.pods, extended=ext, cpu_total_m=a.cpu_m, memory_total=a.memory,
        ))
    return rooms


@dataclass(frozen=True)
class PodShape:
    """What the filters look at in a pod: placement constraints and requests."""

    node_selector: tuple[tuple[str, str], ...]
    tolerations: tuple[Toleration, ...]
    terms: tuple[tuple[Requirement, ...], ...]
    cpu_m: int
    memory: int
    gpu: int
    extended: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, p: Pod) -> "PodShape":
        r = requests_of(p)
        return cls(
            tuple(sorted((p.node_selector or {}).items())), p.tolerations, p.affinity_terms,
            r.cpu_m, r.memory, r.gpu, tuple(sorted((k, v) for k, v in (r.extended or {}).items() if v > 0)),
        )

    def placement(self) -> tuple:
        return (self.node_selector, self.tolerations, self.terms)


class StaticIndex:
    """Which of `rooms` pass a placement's static filters (cordon, taints, node selector and required
    affinity), with the same answers as static_reason but without checking every node: taints are
    judged once per class of nodes with the same taints, and a nodeSelector starts from the nodes
    carrying its first label (pods pinned to a host or a GPU product look at a handful of nodes)."""

    def __init__(self, rooms: list[NodeRoom]):
        self.rooms = rooms
        classes: dict[tuple, int] = {}
        self._class_of: list[int] = []
        self._class_rooms: list[NodeRoom] = []  # one representative per (unschedulable, taints)
        for r in rooms:
            ck = (r.unschedulable, r.taints)
            cid = classes.get(ck)
            if cid is None:
                cid = classes[ck] = len(self._class_rooms)
                self._class_rooms.append(r)
            self._class_of.append(cid)
        self._by_label: dict[str, dict[str, list[int]]] = {}
        self._passing: dict[tuple, list[int]] = {}

    def _with_label(self, key: str, value: str) -> list[int]:
        idx = self._by_label.get(key)
        if idx is None:
            idx = self._by_label[key] = {}
            for i, r in enumerate(self.rooms):
                v = r.labels.get(key)
                if v is not None:
                    idx.setdefault(v, []).append(i)
        return idx.get(value, [])

    def passing(self, shape: PodShape) -> list[int]:
        """Indices (ascending) of the rooms where static_reason(shape, room) is None; cached per placement."""
        pl = shape.placement()
        got = self._passing.get(pl)
        if got is not None:
            return got
        rooms = self.rooms
        ok = [_taint_reason(shape, r) is None for r in self._class_rooms]
        if shape.node_selector:
            (k0, v0), *rest = shape.node_selector
            cand: list[int] | range = [i for i in self._with_label(k0, v0)
                                       if all(rooms[i].labels.get(k) == v for k, v in rest)]
        else:
            cand = range(len(rooms))
        if not all(ok):
            class_of = self._class_of
            cand = [i for i in cand if ok[class_of[i]]]
        if shape.terms:
            terms = shape.terms
            cand = [i for i in cand
                    if any(all(node_requirement_matches(rooms[i].labels, rooms[i].name, r) for r in term)
                           for term in terms)]
        got = self._passing[pl] = list(cand)
        return got


def _taint_reason(shape: PodShape, room: NodeRoom) -> str | None:
    """static_reason's first two filters: NodeUnschedulable, TaintToleration."""
    if room.unschedulable and not tolerates(shape.tolerations, Taint(UNSCHEDULABLE_TAINT, "", "NoSchedule")):
        return UNSCHEDULABLE
    t = untolerated_taint(shape.tolerations, room.taints)
    if t is not None:
        return taint_reason(t)
    return None


def static_reason(shape: PodShape, room: NodeRoom) -> str | None:
    """The first failing non-resource filter, or None when the node passes them."""
    if room.unschedulable and not tolerates(shape.tolerations, Taint(UNSCHEDULABLE_TAINT, "", "NoSchedule")):
        return UNSCHEDULABLE
    t = untolerated_taint(shape.tolerations, room.taints)
    if t is not None:
        return taint_reason(t)
    if not matches_node(dict(shape.node_selector), shape.terms, room.labels, room.name):
        return AFFINITY_MISMATCH
    return None


def resource_reasons(shape: PodShape, room: NodeRoom) -> list[str]:
    """NodeResourcesFit: every insufficient resource (the scheduler reports them all)."""
    out = []
    if room.pods < 1:
        out.append(TOO_MANY_PODS)
    if shape.cpu_m > 0 and shape.cpu_m > room.cpu_m:
        out.append("Insufficient cpu")
    if shape.memory > 0 and shape.memory > room.memory:
        out.append("Insufficient memory")
    if shape.gpu > 0 and shape.gpu > room.gpu:
        out.append("Insufficient nvidia.com/gpu")
    for k, v in shape.extended:
        if v > room.extended.get(k, 0):
            out.append(f"Insufficient {k}")
    return out


def fit_reasons(shape: PodShape, room: NodeRoom) -> list[str]:
    """[] when the pod fits the node now; else the reasons the scheduler would give."""
    r = static_reason(shape, room)
    return [r] if r is not None else resource_reasons(shape, room)


def fit_summary(total_nodes: int, counts: Counter) -> str:
    """The scheduler's wording: reasons as "<n> <reason>", sorted as strings, like FitError."""
    if total_nodes == 0:
        return "no nodes available to schedule pods"
    if not counts:
        return f"{total_nodes}/{total_nodes} nodes are available"
    parts = sorted(f"{n} {reason}" for reason, n in counts.items())
    return f"0/{total_nodes} nodes are available: " + ", ".join(parts) + "."


class _FreeIndex:
    """The nodes that pass a placement's static filters, sorted by each free resource: NodeResourcesFit's
    per-resource counts become bisections, and only nodes with enough of the scarcest resource the
    pod needs are checked in full (many distinct pending pods stay cheap on big clusters)."""

    def __init__(self, rooms: list[NodeRoom]):
        self.rooms = rooms
        self._sorted: dict[str, tuple[list[int], list[NodeRoom]]] = {}

    def _by(self, resource: str) -> tuple[list[int], list[NodeRoom]]:
        got = self._sorted.get(resource)
        if got is None:
            if resource in ("pods", "cpu_m", "memory", "gpu"):
                pairs = sorted((getattr(r, resource), i) for i, r in enumerate(self.rooms))
            else:
                pairs = sorted((r.extended.get(resource, 0), i) for i, r in enumerate(self.rooms))
            got = self._sorted[resource] = ([v for v, _ in pairs], [self.rooms[i] for _, i in pairs])
        return got

    def fit(self, shape: PodShape, counts: Counter, shown: int) -> tuple[list[NodeRoom], int]:
        """Adds every insufficient resource to `counts` (per node: the scheduler reports them all);
        returns up to `shown` nodes the pod fits now (freest first) and how many it fits in all."""
        needs = [("pods", 1, TOO_MANY_PODS)]
        for attr, need, reason in (("cpu_m", shape.cpu_m, "Insufficient cpu"), ("memory", shape.memory, "Insufficient memory"),
                                   ("gpu", shape.gpu, "Insufficient nvidia.com/gpu")):
            if need > 0:
                needs.append((attr, need, reason))
        needs.extend((k, v, f"Insufficient {k}") for k, v in shape.extended)
        candidates: list[NodeRoom] = self.rooms
        shorts: list[list[NodeRoom]] = []  # per resource, the nodes short of it
        for resource, need, reason in needs:
            values, rooms = self._by(resource)
            short = bisect.bisect_left(values, need)
            if short:
                counts[reason] += short
                shorts.append(rooms[:short])
            if len(values) - short < len(candidates):
                candidates = rooms[short:]
        if len(candidates) <= sum(len(x) for x in shorts):  # few nodes have room: check them in full
            fitting = [r for r in reversed(candidates) if not resource_reasons(shape, r)]
            return fitting[:shown], len(fitting)
        blocked = {id(r) for x in shorts for r in x}  # most nodes have room: count the others out
        out = []
        for r in reversed(candidates):
            if id(r) not in blocked:
                out.append(r)
                if len(out) == shown:
                    break
        return out, len(self.rooms) - len(blocked)


def why_pending(cluster: ClusterSnapshot, metrics=None, now: float | None = None, *,
                alloc: Allocation | None = None, rooms: list[NodeRoom] | None = None) -> PendingView:
    """For each Pending pod not bound to a node: the nodes that would fit, and why the others don't.
    Pods with the same shape (a workload's replicas) are evaluated once."""
    alloc = alloc or allocation(cluster)
    rooms = rooms if rooms is not None else node_rooms(cluster, alloc)
    now = cluster.taken_at if now is None else now
    cache: dict[PodShape, tuple[tuple[str, ...], int, Counter]] = {}
    static: dict[tuple, tuple[Counter, _FreeIndex]] = {}  # placement -> (reasons, nodes passing)
    rows = []
    for p in alloc.pending:
        shape = PodShape.of(p)
        hit = cache.get(shape)
        if hit is None:
            pl = shape.placement()
            st = static.get(pl)
            if st is None:
                st_counts: Counter = Counter()
                passing = []
                for room in rooms:
                    r = static_reason(shape, room)
                    if r is None:
                        passing.append(room)
                    else:
                        st_counts[r] += 1
                st = static[pl] = (st_counts, _FreeIndex(passing))
            counts = Counter(st[0])
            fitting, fit_n = st[1].fit(shape, counts, FITTING_NODES_SHOWN)
            hit = cache[shape] = (tuple(r.name for r in fitting), fit_n, counts)
        fitting_t, fit_count, counts = hit
        top = top_controller(p, cluster.workloads)
        sched_msg = next((c.message for c in p.conditions if c.type == "PodScheduled" and c.status != "True"), "")
        reasons = tuple(PendingReason(reason=r, nodes=n) for r, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        if fit_count == 0:
            summary = fit_summary(len(rooms), counts)
        elif p.has_anti_affinity or p.has_spread_constraints:  # filters this model does not evaluate
            summary = (f"{fit_count}/{len(rooms)} nodes pass the resource, taint and selector filters; "
                       "pod (anti-)affinity and topology spread are not evaluated here")
        else:
            summary = f"{fit_count}/{len(rooms)} nodes would fit now (the scheduler may not have retried yet)"
        rows.append(PendingPod(
            key=f"{p.namespace}/{p.name}", namespace=p.namespace, name=p.name, uid=p.uid,
            workload=f"{top[0]}/{top[2]}" if top else "", created=p.created,
            pending_for_s=max(0.0, now - p.created) if p.created else 0.0,
            cpu_m=shape.cpu_m, memory=shape.memory, gpu=shape.gpu,
            mig=tuple(sorted(mig_of(dict(shape.extended)).items())), wants_gpu=wants_gpu(p),
            fitting_nodes=fitting_t, fit_count=fit_count, reasons=reasons, summary=summary,
            scheduler_message=sched_msg,
        ))
    rows.sort(key=lambda r: (not r.wants_gpu, -r.pending_for_s, r.key))
    return PendingView(rows=tuple(rows))


def fits_count(shape: PodShape, room: NodeRoom) -> int:
    """How many pods of this shape the node's free room takes (resources only)."""
    n = room.pods
    for need, free in ((shape.cpu_m, room.cpu_m), (shape.memory, room.memory), (shape.gpu, room.gpu)):
        if need > 0:
            n = min(n, free // need)
    for k, v in shape.extended:
        n = min(n, room.extended.get(k, 0) // v)
    return max(0, n)


__all__ = ["why_pending", "fit_reasons", "fit_summary", "tolerates", "effective_taints", "node_rooms",
           "NodeRoom", "PodShape", "StaticIndex", "matches_node", "fits_count"]
