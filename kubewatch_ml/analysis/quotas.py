"""Namespaces & quotas: each quota resource used/hard with the kubernetes-mixin levels, requests
against actual usage (reserved but idle), and the namespaces without any quota."""
from __future__ import annotations

from ..metrics_snapshot import MetricsSnapshot
from ..snapshot import ClusterSnapshot
from .allocation import Allocation, Load, allocation, is_prod
from .areas import area_note, join_notes, kind_unreadable
from .models import NamespaceQuota, QuotaLevel, QuotaRow, QuotaView

_LEVEL_RANK = {QuotaLevel.EXCEEDED: 0, QuotaLevel.FULLY_USED: 1, QuotaLevel.ALMOST_FULL: 2,
               QuotaLevel.OK: 3, QuotaLevel.NO_LIMIT: 4}
_MEMORY_LIKE = ("memory", "storage", "hugepages")


def quota_level(used: int, hard: int) -> tuple[float | None, QuotaLevel]:
    """Ratio Q = used / hard and its level, exactly as KubeQuotaAlmostFull / FullyUsed / Exceeded."""
    if hard <= 0:
        return None, QuotaLevel.NO_LIMIT
    q = used / hard
    if q > 1:
        return q, QuotaLevel.EXCEEDED
    if q == 1:
        return q, QuotaLevel.FULLY_USED
    if q > 0.9:
        return q, QuotaLevel.ALMOST_FULL
    return q, QuotaLevel.OK


def quota_unit(resource: str) -> str:
    base = resource.split(".", 1)[1] if resource.startswith(("requests.", "limits.")) else resource
    if base == "cpu":
        return "millicores"
    if base.startswith(_MEMORY_LIKE) or base == "ephemeral-storage":
        return "bytes"
    return "count"


def quota_view(cluster: ClusterSnapshot, metrics: MetricsSnapshot | None = None, *,
               alloc: Allocation | None = None) -> QuotaView:
    alloc = alloc or allocation(cluster)
    usage = metrics.area("usage") if metrics is not None else None
    usage_ok = usage is not None and usage.ok
    gpu_area = metrics.area("gpu") if metrics is not None else None
    gpu_ok = gpu_area is not None and gpu_area.ok
    gpus_alloc: dict[str, int] = {}
    gpus_idle: dict[str, int] = {}
    if gpu_ok:
        for g in metrics.gpus:  # type: ignore[union-attr]
            if g.allocated:
                gpus_alloc[g.namespace] = gpus_alloc.get(g.namespace, 0) + 1
                if g.idle:
                    gpus_idle[g.namespace] = gpus_idle.get(g.namespace, 0) + 1

    rows_by_ns: dict[str, list[QuotaRow]] = {}
    names_by_ns: dict[str, list[str]] = {}
    for q in cluster.quotas:
        names_by_ns.setdefault(q.namespace, []).append(q.name)
        out = rows_by_ns.setdefault(q.namespace, [])
        for res in sorted(set(q.hard) | set(q.used)):
            used, hard = q.used.get(res, 0), q.hard.get(res, 0)
            ratio, level = quota_level(used, hard)
            out.append(QuotaRow(
                key=f"{q.namespace}/{q.name}/{res}", namespace=q.namespace, quota=q.name, resource=res,
                unit=quota_unit(res), used=used, hard=hard, ratio=ratio,
                percent=None if ratio is None else ratio * 100.0, level=level,
            ))

    namespaces = set(cluster.namespaces) | set(cluster.pods_by_namespace) | set(rows_by_ns)
    empty = Load()
    result = []
    for ns in namespaces:
        rows = rows_by_ns.get(ns, [])
        load = alloc.by_namespace.get(ns, empty)
        level = min((r.level for r in rows), key=_LEVEL_RANK.__getitem__, default=QuotaLevel.OK)
        if level == QuotaLevel.NO_LIMIT:
            level = QuotaLevel.OK
        ratios = [r.ratio for r in rows if r.ratio is not None]
        cpu_used = mem_used = None
        cpu_idle = mem_idle = None
        cpu_ratio = mem_ratio = None
        if usage_ok:
            cpu_used = metrics.namespace_cpu.get(ns)  # type: ignore[union-attr]
            mem_used = metrics.namespace_memory.get(ns)  # type: ignore[union-attr]
            if load.pods == 0:  # nothing runs there: no usage is a true zero
                cpu_used = 0.0 if cpu_used is None else cpu_used
                mem_used = 0.0 if mem_used is None else mem_used
            if cpu_used is not None:
                cpu_idle = max(0, load.cpu_m - int(cpu_used * 1000))
                cpu_ratio = cpu_used * 1000 / load.cpu_m if load.cpu_m else None
            if mem_used is not None:
                mem_idle = max(0, load.memory - int(mem_used))
                mem_ratio = mem_used / load.memory if load.memory else None
        result.append(NamespaceQuota(
            key=ns, namespace=ns, has_quota=ns in names_by_ns, quotas=tuple(names_by_ns.get(ns, ())),
            rows=tuple(rows), level=level, max_ratio=max(ratios) if ratios else None,
            prod=is_prod(ns, cluster.namespaces.get(ns)), pods=load.pods,
            cpu_requested_m=load.cpu_m, memory_requested=load.memory, gpu_requested=load.gpu,
            cpu_limit_m=load.cpu_limit_m, memory_limit=load.memory_limit,
            cpu_used_cores=cpu_used, memory_used=mem_used,
            cpu_idle_reserved_m=cpu_idle, memory_idle_reserved=mem_idle,
            cpu_usage_ratio=cpu_ratio, memory_usage_ratio=mem_ratio,
            gpus_allocated=gpus_alloc.get(ns, 0) if gpu_ok else None,
            gpus_idle=gpus_idle.get(ns, 0) if gpu_ok else None,
        ))
    unreadable = kind_unreadable(cluster, "resourcequotas")
    result.sort(key=lambda r: (_LEVEL_RANK[QuotaLevel(r.level)], -(r.max_ratio or 0.0), r.namespace))
    quota_rows = tuple(r for ns in result for r in ns.rows)
    return QuotaView(
        rows=tuple(result), quota_rows=quota_rows,
        without_quota=() if unreadable else tuple(sorted(r.namespace for r in result if not r.has_quota)),
        note=join_notes(f"quotas unreadable ({unreadable})" if unreadable else "",
                        area_note(metrics, "usage", "usage"), area_note(metrics, "gpu", "gpu usage")),
    )
