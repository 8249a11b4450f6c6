"""GPU nodes: who holds which GPUs, what is free, what is allocated but idle; totals by product
and zone. Cordoned, tainted and NotReady nodes are shown (flagged), never hidden."""
from __future__ import annotations

from collections import defaultdict

from ..metrics_snapshot import GpuSample, MetricsSnapshot
from ..model import GPU_RESOURCE, INSTANCE_TYPE_LABEL, Node
from ..snapshot import ClusterSnapshot
from .allocation import Allocation, Load, allocation, mig_of, requests_of
from .areas import area_note
from .models import GpuDeviceRow, GpuNodeRow, GpuPodRef, GpuTotalRow, GpuView, MigSliceRow


def is_gpu_node(n: Node) -> bool:
    return n.allocatable.gpu > 0 or n.capacity.gpu > 0 or bool(n.allocatable.mig()) or bool(n.gpu_product)


def node_status(n: Node) -> str:
    s = "Ready" if n.ready == "True" else ("NotReady" if n.ready == "False" else "Unknown")
    return s + ",SchedulingDisabled" if n.unschedulable else s


def has_gpu_toleration(tolerations) -> bool:
    return any((not t.key and t.operator == "Exists") or t.key == GPU_RESOURCE for t in tolerations)


def device_key(g: GpuSample) -> str:
    """node/gpu[/profile/gi<GPU_I_ID>]/uuid: a MIG GPU's instances share its index, profile and UUID
    (DCGM labels them all with the parent GPU's), only GPU_I_ID tells them apart."""
    mig = f"/{g.mig_profile}/gi{g.mig_instance}" if g.mig_profile or g.mig_instance else ""
    return f"{g.node}/{g.gpu}{mig}/{g.uuid}"


def _device_row(g: GpuSample) -> GpuDeviceRow:
    total = None
    mem_pct = None
    if g.fb_used_mib is not None and g.fb_free_mib is not None:
        total = g.fb_used_mib + g.fb_free_mib
        mem_pct = 100.0 * g.fb_used_mib / total if total > 0 else None
    return GpuDeviceRow(
        key=device_key(g), node=g.node, gpu=g.gpu, uuid=g.uuid, model=g.model,
        mig_profile=g.mig_profile, util=g.util, fb_used_mib=g.fb_used_mib, fb_total_mib=total,
        mem_percent=mem_pct, power_w=g.power_w, temp_c=g.temp_c, xid=g.xid, namespace=g.namespace,
        pod=g.pod, container=g.container, allocated=g.allocated, idle=g.idle,
        util_avg_30m=g.util_avg_30m, util_history=g.util_history,
    )


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def gpu_view(cluster: ClusterSnapshot, metrics: MetricsSnapshot | None = None, *,
             alloc: Allocation | None = None) -> GpuView:
    alloc = alloc or allocation(cluster)
    area = metrics.area("gpu") if metrics is not None else None
    gpu_ok = area is not None and area.ok
    samples: dict[str, list[GpuSample]] = defaultdict(list)
    if gpu_ok:
        for g in metrics.gpus:  # type: ignore[union-attr]
            samples[g.node].append(g)
    empty = Load()
    rows = []
    for n in cluster.nodes.values():
        if not is_gpu_node(n):
            continue
        load = alloc.by_node.get(n.name, empty)
        mig_alloc = n.allocatable.mig()
        mig_used = mig_of(load.extended)
        mig = tuple(
            MigSliceRow(key=f"{n.name}/{prof}", profile=prof, allocatable=mig_alloc.get(prof, 0),
                        requested=mig_used.get(prof, 0), free=mig_alloc.get(prof, 0) - mig_used.get(prof, 0))
            for prof in sorted(set(mig_alloc) | set(mig_used))
        )
        pods = []
        for p in alloc.gpu_pods.get(n.name, ()):  # the node's non-terminated pods holding GPUs or MIG slices
            req = requests_of(p)
            pm = mig_of(req.extended)
            if req.gpu > 0 or pm:
                pods.append(GpuPodRef(
                    key=f"{p.namespace}/{p.name}", namespace=p.namespace, name=p.name, gpus=req.gpu,
                    mig=tuple(sorted(pm.items())), phase=p.phase, has_gpu_toleration=has_gpu_toleration(p.tolerations),
                ))
        pods.sort(key=lambda r: r.key)
        devs = tuple(_device_row(g) for g in sorted(samples.get(n.name, ()), key=lambda g: (_num(g.gpu), g.mig_profile, _num(g.mig_instance), g.uuid)))
        util = [d.util for d in devs if d.util is not None]
        memp = [d.mem_percent for d in devs if d.mem_percent is not None]
        power = [d.power_w for d in devs if d.power_w is not None]
        rows.append(GpuNodeRow(
            key=n.name, node=n.name, product=n.gpu_product, zone=n.zone,
            instance_type=n.labels.get(INSTANCE_TYPE_LABEL, ""),
            allocatable=n.allocatable.gpu, requested=load.gpu, free=n.allocatable.gpu - load.gpu,
            mig=mig, pods=tuple(pods), devices=devs, cordoned=n.unschedulable,
            taints=tuple(f"{t.key}={t.value}:{t.effect}" if t.value else f"{t.key}:{t.effect}" for t in n.taints),
            ready=n.ready, not_ready=n.ready != "True", status=node_status(n),
            util_avg=_mean(util) if gpu_ok else None, mem_percent_avg=_mean(memp) if gpu_ok else None,
            power_w=sum(power) if gpu_ok and power else None,
            idle_gpus=sum(1 for d in devs if d.idle) if gpu_ok else None,
            xid_gpus=sum(1 for d in devs if d.xid) if gpu_ok else None,
        ))
    rows.sort(key=lambda r: (r.product, r.zone, r.node))
    by_product = _totals(rows, lambda r: r.product, "product", gpu_ok)
    by_zone = _totals(rows, lambda r: r.zone, "zone", gpu_ok)
    total = _totals(rows, lambda r: "", "all", gpu_ok)
    total_row = total[0] if total else GpuTotalRow(key="all", group="", nodes=0, allocatable=0, requested=0, free=0,
                                                   mig_allocatable=0, mig_requested=0, unavailable_nodes=0,
                                                   idle_gpus=0 if gpu_ok else None)
    note = area_note(metrics, "gpu")
    return GpuView(rows=tuple(rows), by_product=by_product, by_zone=by_zone, total=total_row, note=note)


def _num(s: str) -> tuple[int, str]:
    return (int(s), "") if s.isdigit() else (1 << 30, s)


def _totals(rows: list[GpuNodeRow], group_of, prefix: str, gpu_ok: bool) -> tuple[GpuTotalRow, ...]:
    groups: dict[str, list[GpuNodeRow]] = defaultdict(list)
    for r in rows:
        groups[group_of(r)].append(r)
    out = []
    for g, rs in sorted(groups.items()):
        utils = [d.util for r in rs for d in r.devices if d.util is not None]
        out.append(GpuTotalRow(
            key="all" if prefix == "all" else f"{prefix}:{g}", group=g, nodes=len(rs),
            allocatable=sum(r.allocatable for r in rs), requested=sum(r.requested for r in rs),
            free=sum(r.free for r in rs),
            mig_allocatable=sum(m.allocatable for r in rs for m in r.mig),
            mig_requested=sum(m.requested for r in rs for m in r.mig),
            unavailable_nodes=sum(1 for r in rs if r.cordoned or r.not_ready),
            idle_gpus=sum(r.idle_gpus or 0 for r in rs) if gpu_ok else None,
            util_avg=_mean(utils) if gpu_ok else None,
        ))
    return tuple(out)
