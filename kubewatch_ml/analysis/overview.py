"""The overview: the cluster's headline numbers, drawn from the computed views."""
from __future__ import annotations

from ..metrics_snapshot import AREAS, MetricsSnapshot
from ..snapshot import ClusterSnapshot
from .allocation import Allocation, allocation
from .models import Finding, GpuView, HpaState, HpaView, Overview, PendingView, ProbeView, QuotaView, ZoneView


def area_states(metrics: MetricsSnapshot | None) -> tuple[tuple[str, str], ...]:
    out = []
    for a in AREAS:
        st = metrics.area(a) if metrics is not None else None
        if st is None:
            out.append((a, "unavailable: no metrics source"))
        elif not st.ok:
            out.append((a, f"unavailable: {st.reason}"))
        elif st.stale:
            out.append((a, f"stale: {st.reason}" if st.reason else "stale"))
        else:
            out.append((a, "ok"))
    return tuple(out)


def overview(cluster: ClusterSnapshot, metrics: MetricsSnapshot | None, now: float, *, quotas: QuotaView,
             gpus: GpuView, hpas: HpaView, probes: ProbeView, zones: ZoneView, pending: PendingView,
             findings: tuple[Finding, ...], alloc: Allocation | None = None) -> Overview:
    nodes = cluster.nodes.values()
    phases = (alloc or allocation(cluster)).phases
    sev = {"critical": 0, "warning": 0, "info": 0}
    for f in findings:
        sev[f.severity] += 1
    t = gpus.total
    return Overview(
        context=cluster.cluster.context, server=cluster.cluster.server, version=cluster.cluster.version,
        taken_at=cluster.taken_at, now=now, metrics_source=metrics.source if metrics is not None else "none",
        nodes=len(cluster.nodes), ready_nodes=sum(1 for n in nodes if n.ready == "True"),
        not_ready_nodes=sum(1 for n in nodes if n.ready != "True"),
        cordoned_nodes=sum(1 for n in nodes if n.unschedulable), namespaces=len(quotas.rows),
        pods=len(cluster.pods), running_pods=phases.get("Running", 0), pending_pods=phases.get("Pending", 0),
        failed_pods=phases.get("Failed", 0), gpu_nodes=len(gpus.rows), gpu_allocatable=t.allocatable,
        gpu_requested=t.requested, gpu_free=t.free, gpu_idle=t.idle_gpus, gpu_util_avg=t.util_avg,
        quotas_over_90=sum(1 for r in quotas.quota_rows if r.ratio is not None and r.ratio > 0.9),
        namespaces_without_quota=len(quotas.without_quota), hpas=len(hpas.rows),
        hpas_maxed_out=sum(1 for r in hpas.rows if HpaState.MAXED_OUT in r.states),
        hpas_blind=sum(1 for r in hpas.rows if HpaState.BLIND in r.states),
        crashlooping_containers=sum(1 for r in probes.containers if r.crashloop),
        pending_gpu_pods=sum(1 for r in pending.rows if r.wants_gpu), zones=len([z for z in zones.rows if z.zone]),
        findings_critical=sev["critical"], findings_warning=sev["warning"], findings_info=sev["info"],
        metrics_areas=area_states(metrics),
    )
