"""Triage findings: one ranked list drawn from every view and from good practice.

Each finding's id, severity and action come from registry.REGISTRY (documented in
docs/FINDINGS.md). Where a kubernetes-mixin alert exists for the same condition, the finding fires
on exactly the objects that alert's expression selects, and `alert` names it.
"""
from __future__ import annotations

from ..metrics_snapshot import MetricsSnapshot
from ..model import ContainerSpec, GPU_RESOURCE
from ..snapshot import ClusterSnapshot
from .allocation import Allocation, allocation, is_prod, requests_of
from .areas import kind_unreadable
from .models import (SEVERITY_RANK, Finding, GpuView, HpaState, HpaView, PendingView, ProbeView, QuotaLevel,
                     QuotaView, Severity, ZoneView)
from .gpus import gpu_view
from .hpas import hpa_view
from .probes import probe_view
from .quotas import quota_view
from .scheduling import node_rooms, requirement_matches, tolerates, why_pending
from .zones import zone_view
from .registry import BY_ID, REGISTRY, RESERVED_IDLE_MIN_M, RESERVED_IDLE_RATIO, FindingDef, render_findings_doc

TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet")
REPLICATED_KINDS = ("Deployment", "StatefulSet")
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")


def _f(out: list[Finding], fid: str, kind: str, ns: str, name: str, summary: str, impact: float = 0.0,
       prod: bool = False, suffix: str = "") -> None:
    d = BY_ID[fid]
    sev = d.prod_severity if prod and d.prod_severity else d.severity
    impact = d.weight * impact
    key = f"{fid}/{kind}/{ns}/{name}" + (f"/{suffix}" if suffix else "")
    out.append(Finding(id=fid, severity=sev.value, kind=kind, namespace=ns, name=name, summary=summary,
                       action=d.action, alert=d.alert, key=key, impact=impact, view=d.view))


def rank(findings: list[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=lambda f: (SEVERITY_RANK[Severity(f.severity)], -f.impact, f.id, f.namespace, f.name, f.key)))


def findings(cluster: ClusterSnapshot, metrics: MetricsSnapshot | None, now: float, *,
             quotas: QuotaView | None = None, gpus: GpuView | None = None, hpas: HpaView | None = None,
             probes: ProbeView | None = None, zones: ZoneView | None = None, pending: PendingView | None = None,
             alloc: Allocation | None = None) -> tuple[Finding, ...]:
    """Every finding, ranked. Views already computed are reused; missing ones are computed here."""
    alloc = alloc or allocation(cluster)
    rooms = node_rooms(cluster, alloc) if zones is None or pending is None else None
    quotas = quotas or quota_view(cluster, metrics, alloc=alloc)
    gpus = gpus or gpu_view(cluster, metrics, alloc=alloc)
    hpas = hpas or hpa_view(cluster, metrics, now)
    probes = probes or probe_view(cluster, metrics, now, alloc=alloc)
    zones = zones or zone_view(cluster, metrics, alloc=alloc, rooms=rooms)
    pending = pending or why_pending(cluster, metrics, now, alloc=alloc, rooms=rooms)
    out: list[Finding] = []
    _quota_findings(out, quotas)
    _gpu_findings(out, gpus, cluster, alloc.bare)
    _hpa_findings(out, hpas)
    _probe_findings(out, probes, cluster)
    _zone_findings(out, zones)
    _pending_findings(out, pending, cluster)
    _node_findings(out, cluster)
    _practice_findings(out, cluster, alloc.bare)
    return rank(out)


def _quota_findings(out, q: QuotaView) -> None:
    without = set(q.without_quota)  # empty when quotas could not be read
    for ns in q.rows:
        if ns.namespace in SYSTEM_NAMESPACES:
            continue
        if not ns.has_quota and ns.pods and ns.namespace in without:
            _f(out, "KW-Q001", "Namespace", "", ns.namespace, f"namespace {ns.namespace} has {ns.pods} pods and no ResourceQuota",
               impact=ns.pods, prod=ns.prod)
        for r in ns.rows:
            fid = {QuotaLevel.ALMOST_FULL: "KW-Q002", QuotaLevel.FULLY_USED: "KW-Q003", QuotaLevel.EXCEEDED: "KW-Q004"}.get(QuotaLevel(r.level))
            if fid:
                _f(out, fid, "ResourceQuota", r.namespace, r.quota,
                   f"{r.resource} at {r.percent:.0f}% of quota ({_qty(r.used, r.unit)} / {_qty(r.hard, r.unit)})",
                   impact=r.ratio or 0.0, suffix=r.resource)
        if (ns.cpu_usage_ratio is not None and ns.cpu_requested_m >= RESERVED_IDLE_MIN_M
                and ns.cpu_usage_ratio < RESERVED_IDLE_RATIO):
            _f(out, "KW-Q005", "Namespace", "", ns.namespace,
               f"uses {ns.cpu_used_cores:.1f} of {ns.cpu_requested_m / 1000:.1f} requested cores ({ns.cpu_usage_ratio:.0%})",
               impact=(ns.cpu_idle_reserved_m or 0) / 1000)


def _qty(v: int, unit: str) -> str:
    if unit == "millicores":
        return f"{v / 1000:g}" if v % 1000 == 0 else f"{v}m"
    if unit == "bytes":
        return f"{v / (1 << 30):.1f}Gi"
    return str(v)


def _gpu_findings(out, g: GpuView, cluster: ClusterSnapshot, bare: list) -> None:
    for n in g.rows:
        if n.product and n.allocatable == 0 and not any(m.allocatable for m in n.mig):
            _f(out, "KW-G005", "Node", "", n.node, f"node {n.node} ({n.product}) has 0 allocatable GPUs", impact=1.0)
        for d in n.devices:
            label = f"GPU {d.gpu}" + (f" ({d.mig_profile})" if d.mig_profile else "")
            if d.idle:
                _f(out, "KW-G001", "Pod", d.namespace, d.pod,
                   f"{label} on {d.node} held by {d.namespace}/{d.pod} at {d.util_avg_30m:.1f}% over 30 min",
                   impact=1.0, suffix=d.key)
            if d.xid:
                _f(out, "KW-G002", "Node", "", d.node, f"{label} ({d.uuid}) reported XID {d.xid}", impact=1.0, suffix=d.key)
    gpu_taints = {t for n in cluster.nodes.values() for t in n.taints
                  if t.key == GPU_RESOURCE and t.effect in ("NoSchedule", "NoExecute")}
    if not gpu_taints:
        return

    def untolerated(tolerations) -> bool:
        return any(not tolerates(tolerations, t) for t in gpu_taints)

    for (kind, ns, name), w in cluster.workloads.items():
        if kind not in TEMPLATE_KINDS or _owned_by_controller(w):
            continue
        if any(c.requests.gpu > 0 or c.limits.gpu > 0 for c in w.containers) and untolerated(w.tolerations):
            _f(out, "KW-G003", kind, ns, name, f"{kind} {ns}/{name} requests GPUs but does not tolerate the nvidia.com/gpu taint",
               impact=w.replicas)
    for p in bare:  # bare pods have no template to report through
        if requests_of(p).gpu > 0 and untolerated(p.tolerations):
            _f(out, "KW-G003", "Pod", p.namespace, p.name, f"pod {p.namespace}/{p.name} requests GPUs but does not tolerate "
               "the nvidia.com/gpu taint", impact=1.0)


def _owned_by_controller(w) -> bool:
    """A ReplicaSet managed by a Deployment (or a Job by a CronJob) is reported through its owner."""
    return w.owner is not None and w.kind in ("ReplicaSet", "Job")


def _hpa_findings(out, h: HpaView) -> None:
    for r in h.rows:
        if HpaState.MAXED_OUT in r.states:
            _f(out, "KW-H001", "HorizontalPodAutoscaler", r.namespace, r.name,
               f"at max {r.max_replicas} replicas; {r.why}", impact=r.max_replicas)
        if HpaState.MISMATCH in r.states:
            _f(out, "KW-H002", "HorizontalPodAutoscaler", r.namespace, r.name,
               f"desired {r.desired} != current {r.current} for 15 min", impact=abs(r.desired - r.current))
        if HpaState.BLIND in r.states:
            missing = [m.name for m in r.metrics if m.current is None]
            cond = next((c for c in r.conditions if c.type == "ScalingActive" and c.status == "False"), None)
            what = (f"metric {', '.join(missing)} missing" if missing else "") + (
                ("; " if missing and cond else "") + (f"ScalingActive False ({cond.reason})" if cond else ""))
            _f(out, "KW-H003", "HorizontalPodAutoscaler", r.namespace, r.name, f"cannot scale on data it lacks: {what}",
               impact=r.current)
        if HpaState.FLAPPING in r.states:
            _f(out, "KW-H004", "HorizontalPodAutoscaler", r.namespace, r.name,
               f"{r.direction_changes_per_hour:.1f} direction changes per hour", impact=r.direction_changes_per_hour or 0.0)


def _probe_findings(out, p: ProbeView, cluster: ClusterSnapshot) -> None:
    for r in p.containers:
        prod = is_prod(r.namespace, cluster.namespaces.get(r.namespace))
        if r.crashloop:
            last = f"; last exit {r.last_term_reason}" if r.last_term_reason else ""
            _f(out, "KW-P001", "Pod", r.namespace, r.pod, f"container {r.container} in CrashLoopBackOff, {r.restarts} restarts{last}",
               impact=r.restarts, prod=prod, suffix=r.container)
        if r.failing:
            rate = f", {r.failures_5m:.0f} failures in 5 min" if r.failures_5m else ""
            _f(out, "KW-P002", "Pod", r.namespace, r.pod, f"container {r.container} failing {'/'.join(r.failing)} probe{rate}",
               impact=r.failures_5m or 1.0, suffix=r.container)
        if r.last_term_reason == "OOMKilled":
            _f(out, "KW-P003", "Pod", r.namespace, r.pod, f"container {r.container} was OOMKilled ({r.restarts} restarts)",
               impact=r.restarts, suffix=r.container)


def _zone_findings(out, z: ZoneView) -> None:
    for w in z.workloads:
        if w.prod and w.single_zone:
            zone = next((c.zone for c in w.by_zone if c.ready), "")
            _f(out, "KW-W002", w.kind, w.namespace, w.name, f"all {w.ready} ready replicas in zone {zone}", impact=w.ready)
    for loss in z.losses:
        if loss.workloads_down or not loss.fits:
            _f(out, "KW-Z001", "Zone", "", loss.zone or "(no zone)", loss.summary,
               impact=len(loss.workloads_down) + loss.unplaced_pods)


def _pending_findings(out, pv: PendingView, cluster: ClusterSnapshot) -> None:
    for r in pv.rows:
        prod = is_prod(r.namespace, cluster.namespaces.get(r.namespace))
        if r.wants_gpu:
            _f(out, "KW-G004", "Pod", r.namespace, r.name, f"pending {r.pending_for_s / 60:.0f} min: {r.summary}",
               impact=r.gpu + len(r.mig), prod=prod)
        elif r.fit_count == 0:
            _f(out, "KW-S001", "Pod", r.namespace, r.name, f"pending {r.pending_for_s / 60:.0f} min: {r.summary}",
               impact=r.pending_for_s / 60)


def _node_findings(out, cluster: ClusterSnapshot) -> None:
    for n in cluster.nodes.values():
        if node_not_ready_alert(n):
            _f(out, "KW-N001", "Node", "", n.name, f"node {n.name} Ready={n.ready}", impact=n.allocatable.gpu + 1)
        if n.unschedulable:
            _f(out, "KW-N002", "Node", "", n.name, f"node {n.name} is cordoned (Ready={n.ready})", impact=n.allocatable.gpu)


def node_not_ready_alert(n) -> bool:
    """KubeNodeNotReady: kube_node_status_condition{condition="Ready",status="true"} == 0 and the node
    is schedulable. KSM emits the series only when the node has a Ready condition."""
    has_ready = any(c.type == "Ready" for c in n.conditions) or n.ready in ("True", "False")
    return has_ready and n.ready != "True" and not n.unschedulable


def _practice_findings(out, cluster: ClusterSnapshot, bare: list) -> None:
    defaults = limit_range_defaults(cluster)
    pdb_selectors: dict[str, list] = {}
    for pdb in cluster.pdbs:
        pdb_selectors.setdefault(pdb.namespace, []).append(pdb.selector)
    netpol_ns = {np.namespace for np in cluster.network_policies}
    # an absence is only a finding when the kind could be read
    pdbs_known = not kind_unreadable(cluster, "poddisruptionbudgets")
    netpols_known = not kind_unreadable(cluster, "networkpolicies")
    for (kind, ns, name), w in cluster.workloads.items():
        if kind not in TEMPLATE_KINDS or _owned_by_controller(w) or ns in SYSTEM_NAMESPACES:
            continue
        prod = is_prod(ns, cluster.namespaces.get(ns))
        long_running = kind != "Job"
        for c in w.containers:
            if c.init:
                continue
            _container_findings(out, kind, ns, name, c, prod, long_running, w.replicas, defaults.get(ns, frozenset()))
        if prod and kind in REPLICATED_KINDS:
            if w.replicas <= 1:
                _f(out, "KW-W001", kind, ns, name, f"{kind} {ns}/{name} runs {w.replicas} replica", impact=1.0)
            elif pdbs_known and not any(_selects(sel, w.template_labels or {}) for sel in pdb_selectors.get(ns, ())):
                _f(out, "KW-W003", kind, ns, name, f"{w.replicas} replicas and no PodDisruptionBudget", impact=w.replicas)
    for ns, uids in cluster.pods_by_namespace.items():
        if not netpols_known or ns in SYSTEM_NAMESPACES or ns in netpol_ns or not uids:
            continue
        _f(out, "KW-W004", "Namespace", "", ns, f"namespace {ns} has {len(uids)} pods and no NetworkPolicy",
           impact=len(uids), prod=is_prod(ns, cluster.namespaces.get(ns)))
    for p in bare:  # bare pods: nobody else reports their containers
        if p.namespace not in SYSTEM_NAMESPACES:
            for c in p.containers:
                if not c.init:
                    _container_findings(out, "Pod", p.namespace, p.name, c, is_prod(p.namespace, cluster.namespaces.get(p.namespace)),
                                        True, 1, defaults.get(p.namespace, frozenset()))


def limit_range_defaults(cluster: ClusterSnapshot) -> dict[str, set[str]]:
    """Per namespace, the resources a LimitRange fills in for containers that leave them out:
    "cpu"/"memory" requests (from defaultRequest, or from default, which also sets the request) and
    "memory-limit" (from default)."""
    out: dict[str, set[str]] = {}
    for lr in cluster.limit_ranges:
        for item in lr.limits:
            if item.type != "Container":
                continue
            got = out.setdefault(lr.namespace, set())
            for res in (item.default_request, item.default):
                if res is not None:
                    if res.cpu_m:
                        got.add("cpu")
                    if res.memory:
                        got.add("memory")
            if item.default is not None and item.default.memory:
                got.add("memory-limit")
    return out


def _container_findings(out, kind, ns, name, c: ContainerSpec, prod: bool, long_running: bool, replicas: int,
                        defaulted: set[str] = frozenset()) -> None:
    missing = [r for r, v in (("cpu", c.requests.cpu_m), ("memory", c.requests.memory)) if v == 0 and r not in defaulted]
    if missing:
        _f(out, "KW-C001", kind, ns, name, f"container {c.name} has no {' or '.join(missing)} request", impact=replicas, suffix=c.name)
    if c.limits.memory == 0 and "memory-limit" not in defaulted:
        _f(out, "KW-C002", kind, ns, name, f"container {c.name} has no memory limit", impact=replicas, suffix=c.name)
    if long_running and not (c.liveness or c.readiness):
        _f(out, "KW-C003", kind, ns, name, f"container {c.name} has no liveness or readiness probe",
           impact=replicas, prod=prod, suffix=c.name)
    if image_unpinned(c.image):
        _f(out, "KW-C004", kind, ns, name, f"container {c.name} image {c.image or '(none)'} is not pinned", impact=replicas, suffix=c.name)


def image_unpinned(image: str) -> bool:
    """True for images tagged :latest or without a tag (a digest pins it either way)."""
    if "@" in image:
        return False
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return True
    return last.rsplit(":", 1)[1] == "latest"


def _selects(sel, labels: dict[str, str]) -> bool:
    """A PDB's label selector matches the pod template (an empty selector matches every pod)."""
    if sel is None:
        return False
    for k, v in (sel.match_labels or {}).items():
        if labels.get(k) != v:
            return False
    return all(requirement_matches(labels, r) for r in sel.match_expressions)


__all__ = ["findings", "rank", "image_unpinned", "node_not_ready_alert", "REGISTRY", "BY_ID", "FindingDef",
           "render_findings_doc"]
