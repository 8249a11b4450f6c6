"""The views as a registry (STYLE.md 14): each view says its columns, how a view model becomes
rows, which object a row stands for, and how the detail pane renders a row. Pure: rich Text
only (no Textual), so rows can be built in the feed worker thread, off the UI thread.
Every cluster-supplied string goes through `inert()` (never parsed as markup).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..feed import Frame, ObjectRef
from ..widgets.render import (
    Palette, clean, fmt_age, fmt_bytes, fmt_cores, fmt_cpu, fmt_pct, fmt_qty, gauge, inert, since, sparkline,
)
from ..widgets.table import Column, Row

LEVEL_SEVERITY = {"exceeded": "critical", "fully_used": "critical", "almost_full": "warning", "ok": "ok", "no_limit": ""}
HPA_SEVERITY = {"maxed_out": "critical", "blind": "critical", "flapping": "warning", "mismatch": "warning",
                "unknown": "warning", "pinned_at_min": "info", "healthy": "ok"}


def _t(value, style: str = "") -> Text:
    return inert(value, style)


def _row(key: str, cells: list[tuple[object, object]], extra: str = "") -> Row:
    """cells: (Text or str, sort value)."""
    texts = tuple(c if isinstance(c, Text) else inert(c) for c, _ in cells)
    hay = " ".join(t.plain for t in texts).lower()
    return Row(key=key, cells=texts, sort=tuple(s for _, s in cells), text=f"{hay} {extra.lower()}" if extra else hay)


def _num(v, fmt: str = "{:,.0f}", style: str = "") -> Text:
    return Text("-" if v is None else fmt.format(v), style=style if v is not None else "dim", end="")


def _kv(table: Table, key: str, value: object, style: str = "") -> None:
    table.add_row(Text(key, style="bold"), value if isinstance(value, Text) else inert(value, style))


def _kv_table() -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(no_wrap=True)
    t.add_column(overflow="fold")
    return t


def _note(note: str, pal: Palette) -> RenderableType:
    return Text(clean(note), style=pal.warning) if note else Text("")


@dataclass(frozen=True)
class ViewSpec:
    id: str  # quotas | gpus | hpas | probes | zones | findings | pending
    title: str
    key: str  # the number key that opens it
    columns: Callable[[object], list[Column]]  # analysis -> columns (zones depend on the data)
    rows: Callable[[Frame, Palette], list[Row]]
    items: Callable[[object], dict]  # analysis -> {row key: view model}
    ref: Callable[[object], ObjectRef | None]  # view model -> the object actions operate on
    detail: Callable[[object, Frame, Palette], RenderableType]
    note: Callable[[object], str] = lambda a: ""
    empty: str = "nothing to show"


# ---------------------------------------------------------------- quotas
def _quota_ratio(nq, *resources: str):
    best = None
    for r in nq.rows:
        if r.resource in resources and r.ratio is not None:
            if best is None or r.ratio > best.ratio:
                best = r
    return best


def quota_columns(_a) -> list[Column]:
    return [
        Column("namespace", "NAMESPACE", 16, flex=True),
        Column("level", "LEVEL", 11),
        Column("max", "MAX", 12),
        Column("cpu", "CPU REQ", 12, drop=1),
        Column("memory", "MEM REQ", 12, drop=1),
        Column("gpu", "GPU", 11),
        Column("pods", "PODS", 5, align="right", drop=2),
        Column("cpu_used", "CPU USED", 8, align="right", drop=3),
        Column("idle", "IDLE RSV", 8, align="right", drop=3),
        Column("gpu_idle", "GPU IDLE", 8, align="right", drop=2),
    ]


def quota_rows(frame: Frame, pal: Palette) -> list[Row]:
    out = []
    for nq in frame.analysis.quotas.rows:
        sev = LEVEL_SEVERITY.get(nq.level, "")
        cpu = _quota_ratio(nq, "requests.cpu", "cpu")
        mem = _quota_ratio(nq, "requests.memory", "memory")
        gpu = _quota_ratio(nq, "requests.nvidia.com/gpu")
        level = nq.level.replace("_", " ") if nq.has_quota else "no quota"
        gpu_cell = (gauge(gpu.ratio, 11, pal, label=f"{gpu.used}/{gpu.hard}") if gpu else
                    _t(f"{nq.gpu_requested} req" if nq.gpu_requested else "-", pal.dim))
        out.append(_row(nq.key, [
            (_t(nq.namespace, "bold" if nq.prod else ""), nq.namespace),
            (_t(level, pal.severity(sev) if sev else pal.dim), {"exceeded": 0, "fully_used": 1, "almost_full": 2, "ok": 3}.get(nq.level, 4)),
            (gauge(nq.max_ratio, 12, pal), nq.max_ratio),
            (gauge(cpu.ratio, 12, pal) if cpu else _t(fmt_cpu(nq.cpu_requested_m), pal.dim), cpu.ratio if cpu else None),
            (gauge(mem.ratio, 12, pal) if mem else _t(fmt_bytes(nq.memory_requested), pal.dim), mem.ratio if mem else None),
            (gpu_cell, gpu.ratio if gpu else None),
            (_num(nq.pods), nq.pods),
            (_t(fmt_cores(nq.cpu_used_cores)), nq.cpu_used_cores),
            (_t(fmt_cpu(nq.cpu_idle_reserved_m)), nq.cpu_idle_reserved_m),
            (_num(nq.gpus_idle, style=pal.warning if nq.gpus_idle else ""), nq.gpus_idle),
        ], extra=" ".join(nq.quotas) + (" prod" if nq.prod else "")))
    return out


def quota_detail(nq, frame: Frame, pal: Palette) -> RenderableType:
    head = Text.assemble(("namespace ", "bold"), inert(nq.namespace, "bold"),
                         ("  prod" if nq.prod else "", pal.accent),
                         ("   quotas: ", "dim"), inert(", ".join(nq.quotas) or "none"))
    t = Table(box=None, padding=(0, 1), expand=False, show_edge=False)
    for name, just in (("QUOTA", "left"), ("RESOURCE", "left"), ("USED", "right"), ("HARD", "right"), ("", "left")):
        t.add_column(name, justify=just, no_wrap=True)
    for r in nq.rows:
        t.add_row(inert(r.quota), inert(r.resource), Text(fmt_qty(r.used, r.unit)), Text(fmt_qty(r.hard, r.unit)),
                  gauge(r.ratio, 22, pal))
    usage = _kv_table()
    _kv(usage, "requested", f"cpu {fmt_cpu(nq.cpu_requested_m)}  memory {fmt_bytes(nq.memory_requested)}  gpu {nq.gpu_requested}")
    _kv(usage, "limits", f"cpu {fmt_cpu(nq.cpu_limit_m)}  memory {fmt_bytes(nq.memory_limit)}")
    _kv(usage, "used (metrics)", f"cpu {fmt_cores(nq.cpu_used_cores)}  memory {fmt_bytes(nq.memory_used)}")
    _kv(usage, "reserved, idle", f"cpu {fmt_cpu(nq.cpu_idle_reserved_m)}  memory {fmt_bytes(nq.memory_idle_reserved)}"
        + (f"  gpus idle {nq.gpus_idle}/{nq.gpus_allocated}" if nq.gpus_allocated is not None else ""))
    return Group(head, t if nq.rows else Text("no ResourceQuota in this namespace", style=pal.dim), usage)


# ---------------------------------------------------------------- GPU nodes
def _node_history(row) -> list[float]:
    hists = [d.util_history for d in row.devices if d.util_history]
    if not hists:
        return []
    n = min(len(h) for h in hists)
    return [sum(h[-n + i] for h in hists) / len(hists) for i in range(n)]


def gpu_columns(_a) -> list[Column]:
    return [
        Column("node", "NODE", 20, flex=True),
        Column("product", "PRODUCT", 14, drop=2),
        Column("zone", "ZONE", 10, drop=1),
        Column("gpus", "GPUS REQ/ALLOC", 15),
        Column("free", "FREE", 4, align="right"),
        Column("util", "UTIL", 5, align="right"),
        Column("trend", "UTIL TREND", 12, drop=2),
        Column("idle", "IDLE", 4, align="right"),
        Column("mem", "MEM%", 5, align="right", drop=3),
        Column("power", "POWER", 6, align="right", drop=3),
        Column("status", "STATUS", 12),
        Column("taints", "TAINTS", 16, drop=3),
    ]


def gpu_rows(frame: Frame, pal: Palette) -> list[Row]:
    out = []
    for g in frame.analysis.gpu_nodes.rows:
        ratio = g.requested / g.allocatable if g.allocatable else None
        bad = g.not_ready or g.cordoned
        status_style = pal.critical if g.not_ready else (pal.warning if g.cordoned else pal.ok)
        util_style = pal.warning if (g.util_avg is not None and g.util_avg < 5 and g.requested) else ""
        out.append(_row(g.key, [
            (_t(g.node, pal.dim if bad else ""), g.node),
            (_t(g.product), g.product),
            (_t(g.zone), g.zone),
            (gauge(ratio, 15, pal, label=f"{g.requested}/{g.allocatable}", color=pal.accent), ratio),
            (_num(g.free), g.free),
            (_t(fmt_pct(g.util_avg), util_style), g.util_avg),
            (sparkline(_node_history(g), 12, lo=0, hi=100, style=pal.info), g.util_avg),
            (_num(g.idle_gpus, style=pal.warning if g.idle_gpus else ""), g.idle_gpus),
            (_t(fmt_pct(g.mem_percent_avg)), g.mem_percent_avg),
            (_t("-" if g.power_w is None else f"{g.power_w:.0f}W"), g.power_w),
            (_t(g.status, status_style), g.status),
            (_t(",".join(g.taints), pal.dim), len(g.taints)),
        ], extra=g.instance_type))
    return out


def gpu_detail(g, frame: Frame, pal: Palette) -> RenderableType:
    now = frame.analysis.now
    head = Text.assemble(("node ", "bold"), inert(g.node, "bold"), "  ", inert(g.product), "  zone ", inert(g.zone or "-"),
                         "  ", inert(g.instance_type), "  ", inert(g.status, pal.critical if g.not_ready else (pal.warning if g.cordoned else pal.ok)))
    parts: list[RenderableType] = [head]
    if g.taints:
        parts.append(Text.assemble(("taints ", "bold"), inert(", ".join(g.taints), pal.dim)))
    if g.devices:
        dt = Table(box=None, padding=(0, 1), show_edge=False)
        for name, just in (("GPU", "left"), ("MIG", "left"), ("UTIL", "right"), ("TREND", "left"), ("MEM", "right"),
                           ("TEMP", "right"), ("XID", "right"), ("HELD BY", "left")):
            dt.add_column(name, justify=just, no_wrap=True)
        for d in g.devices:
            holder = f"{d.namespace}/{d.pod}" if d.pod else "-"
            dt.add_row(inert(d.gpu), inert(d.mig_profile or "-"),
                       Text(fmt_pct(d.util), style=pal.warning if d.idle else ""),
                       sparkline(d.util_history, 20, lo=0, hi=100, style=pal.info),
                       Text(fmt_pct(d.mem_percent)), Text("-" if d.temp_c is None else f"{d.temp_c:.0f}C"),
                       Text(str(d.xid) if d.xid else "", style=pal.critical),
                       inert(holder + ("  (idle)" if d.idle else ""), pal.warning if d.idle else ""))
        parts.append(dt)
    if g.mig:
        parts.append(Text.assemble(("MIG slices  ", "bold"), *[inert(f"{m.profile}: {m.requested}/{m.allocatable}  ") for m in g.mig]))
    pods = sorted(frame.cluster.pods_on(g.node), key=lambda p: (-p.requests.gpu, p.namespace, p.name))
    pt = Table(box=None, padding=(0, 1), show_edge=False, title=Text(f"pods on node ({len(pods)})", style="bold"), title_justify="left")
    for name, just in (("POD", "left"), ("PHASE", "left"), ("GPU", "right"), ("CPU", "right"), ("MEM", "right"), ("AGE", "right")):
        pt.add_column(name, justify=just, no_wrap=True)
    for p in pods[:200]:
        pt.add_row(inert(f"{p.namespace}/{p.name}"), inert(p.phase), Text(str(p.requests.gpu or "")),
                   Text(fmt_cpu(p.requests.cpu_m)), Text(fmt_bytes(p.requests.memory)), Text(since(p.created, now)))
    parts.append(pt)
    return Group(*parts)


# ---------------------------------------------------------------- HPAs
def hpa_columns(_a) -> list[Column]:
    return [
        Column("hpa", "HPA", 22, flex=True),
        Column("target", "TARGET", 18, drop=2),
        Column("min", "MIN", 3, align="right"),
        Column("max", "MAX", 3, align="right"),
        Column("current", "CUR", 3, align="right"),
        Column("desired", "DES", 3, align="right"),
        Column("computed", "CALC", 4, align="right", drop=1),
        Column("state", "STATE", 13),
        Column("metrics", "METRICS", 18, flex=True, drop=1),
        Column("history", "REPLICAS", 14, drop=2),
    ]


def hpa_rows(frame: Frame, pal: Palette) -> list[Row]:
    out = []
    for h in frame.analysis.hpas.rows:
        sev = HPA_SEVERITY.get(h.state, "")
        calc_style = pal.warning if (h.computed_desired is not None and h.computed_desired != h.desired) else ""
        out.append(_row(h.key, [
            (_t(f"{h.namespace}/{h.name}"), h.key),
            (_t(h.target, pal.dim), h.target),
            (_num(h.min_replicas), h.min_replicas),
            (_num(h.max_replicas), h.max_replicas),
            (_num(h.current, style=pal.critical if h.current >= h.max_replicas and h.max_replicas > h.min_replicas else ""), h.current),
            (_num(h.desired), h.desired),
            (_num(h.computed_desired, style=calc_style), h.computed_desired),
            (_t(h.state.replace("_", " "), pal.severity(sev)), h.state),
            (_t("  ".join(m.text for m in h.metrics)), h.metrics[0].ratio if h.metrics else None),
            (sparkline(h.history_current, 14, lo=0, hi=max(h.max_replicas, 1), style=pal.info), len(h.history_current)),
        ], extra=" ".join(h.states)))
    return out


def hpa_detail(h, frame: Frame, pal: Palette) -> RenderableType:
    now = frame.analysis.now
    sev = HPA_SEVERITY.get(h.state, "")
    head = Text.assemble(("HPA ", "bold"), inert(f"{h.namespace}/{h.name}", "bold"), " → ", inert(h.target),
                         "   ", inert(", ".join(s.replace("_", " ") for s in h.states), pal.severity(sev)))
    kv = _kv_table()
    _kv(kv, "replicas", f"min {h.min_replicas}  max {h.max_replicas}  current {h.current}  desired (reported) {h.desired}")
    calc = "-" if h.computed_desired is None else str(h.computed_desired)
    _kv(kv, "computed desired", Text.assemble(inert(calc, pal.warning if h.computed_desired not in (None, h.desired) else pal.ok),
                                              "  ", inert(h.why, pal.dim)))
    hist = sparkline(h.history_current, 60, lo=0, hi=max(h.max_replicas, 1), style=pal.info)
    _kv(kv, "replicas history", hist if h.history_current else Text("no history yet", style=pal.dim))
    if h.history_desired:
        _kv(kv, "desired history", sparkline(h.history_desired, 60, lo=0, hi=max(h.max_replicas, 1), style=pal.accent))
    if h.direction_changes_per_hour is not None:
        _kv(kv, "direction changes", f"{h.direction_changes_per_hour:.1f}/h")
    if h.mismatch_for_s:
        _kv(kv, "desired ≠ current for", fmt_age(h.mismatch_for_s))
    _kv(kv, "last scale", since(h.last_scale_time, now) + (" ago" if h.last_scale_time else ""))
    mt = Table(box=None, padding=(0, 1), show_edge=False)
    for name, just in (("METRIC", "left"), ("CURRENT/TARGET", "left"), ("RATIO", "right"), ("WANTS", "right")):
        mt.add_column(name, justify=just, no_wrap=True)
    for m in h.metrics:
        mt.add_row(inert(f"{m.type}/{m.name}"), inert(m.text, pal.critical if m.current is None else ""),
                   Text("-" if m.ratio is None else f"{m.ratio:.2f}"), Text("-" if m.proposal is None else str(m.proposal)))
    ct = Table(box=None, padding=(0, 1), show_edge=False)
    for name in ("CONDITION", "STATUS", "REASON", "SINCE", "MESSAGE"):
        ct.add_column(name, no_wrap=name != "MESSAGE", overflow="fold")
    for c in h.conditions:
        ct.add_row(inert(c.type), inert(c.status, pal.ok if c.status == "True" else pal.warning), inert(c.reason),
                   Text(since(c.since, now)), inert(c.message, pal.dim))
    return Group(head, kv, mt, ct)


# ---------------------------------------------------------------- probes
def probe_columns(_a) -> list[Column]:
    return [
        Column("container", "POD/CONTAINER", 26, flex=True),
        Column("workload", "WORKLOAD", 18, drop=2),
        Column("failing", "FAILING", 10),
        Column("fail5m", "FAIL/5m", 7, align="right"),
        Column("restarts", "RESTARTS", 8, align="right"),
        Column("r1h", "R/1h", 4, align="right", drop=2),
        Column("state", "STATE", 16),
        Column("event", "LAST EVENT", 24, flex=True, drop=1),
        Column("since", "SINCE", 5, align="right"),
    ]


def probe_rows(frame: Frame, pal: Palette) -> list[Row]:
    now = frame.analysis.now
    out = []
    for p in frame.analysis.probes.containers:
        state = p.reason or p.state
        st_style = pal.critical if p.crashloop else (pal.warning if not p.ready else pal.ok)
        out.append(_row(p.key, [
            (_t(f"{p.namespace}/{p.pod}/{p.container}"), p.key),
            (_t(p.workload, pal.dim), p.workload),
            (_t(",".join(f[:4] for f in p.failing) or "-", pal.warning if p.failing else pal.dim), len(p.failing)),
            (_num(p.failures_5m, style=pal.warning if p.failures_5m else ""), p.failures_5m),
            (_num(p.restarts, style=pal.critical if p.restarts > 5 else ""), p.restarts),
            (_num(p.restarts_1h), p.restarts_1h),
            (_t(state, st_style), (0 if p.crashloop else 1, state)),
            (_t(f"{p.last_event_reason}: {p.last_event_message}" if p.last_event_reason else "", pal.dim), p.last_event_at or None),
            (_t(since(p.since, now)), -p.since if p.since else None),
        ], extra=f"{p.node} {' '.join(p.failing)}"))
    return out


def probe_detail(p, frame: Frame, pal: Palette) -> RenderableType:
    now = frame.analysis.now
    head = Text.assemble(("container ", "bold"), inert(f"{p.namespace}/{p.pod}/{p.container}", "bold"),
                         "  on ", inert(p.node or "-"), "  ", inert(p.workload, pal.dim))
    kv = _kv_table()
    _kv(kv, "probes", ", ".join(p.probes) or "none configured")
    _kv(kv, "failing", Text(", ".join(p.failing) or "none", style=pal.warning if p.failing else pal.ok))
    _kv(kv, "state", Text.assemble(inert(p.state), " ", inert(p.reason, pal.critical if p.crashloop else ""),
                                   ("  ready" if p.ready else "  not ready", pal.ok if p.ready else pal.warning)))
    _kv(kv, "restarts", f"{p.restarts} total, {'-' if p.restarts_1h is None else f'{p.restarts_1h:.0f}'} in the last hour")
    if p.last_term_reason:
        _kv(kv, "last termination", f"{p.last_term_reason} (exit {p.last_term_exit_code})")
    if p.failures_5m is not None:
        _kv(kv, "probe failures", f"{p.failures_5m:.0f} in 5 min ({p.failure_rate_per_min or 0:.1f}/min)")
    _kv(kv, "trouble since", since(p.since, now))
    events = sorted(frame.cluster.events_by_object.get(("Pod", p.namespace, p.pod), ()), key=lambda e: -e.last_seen)
    et = Table(box=None, padding=(0, 1), show_edge=False, title=Text(f"events ({len(events)})", style="bold"), title_justify="left")
    for name in ("LAST", "TYPE", "REASON", "COUNT", "MESSAGE"):
        et.add_column(name, no_wrap=name != "MESSAGE", overflow="fold")
    mine = [e for e in events if not e.field_path or f"{{{p.container}}}" in e.field_path] or events
    for e in mine[:50]:
        et.add_row(Text(since(e.last_seen, now)), inert(e.type, pal.warning if e.type == "Warning" else ""),
                   inert(e.reason), Text(str(e.count)), inert(e.message))
    return Group(head, kv, et)


# ---------------------------------------------------------------- zones
def _zones(analysis) -> list[str]:
    return [z.zone for z in analysis.zones.rows]


def zone_columns(analysis) -> list[Column]:
    cols = [Column("workload", "WORKLOAD", 24, flex=True), Column("ready", "READY", 7, align="right")]
    for z in (_zones(analysis) if analysis is not None else []):
        cols.append(Column(f"zone:{z}", (z or "(none)")[-10:], max(6, min(len(z), 10)), align="right"))
    cols += [Column("skew", "SKEW", 4, align="right"), Column("flags", "FLAGS", 18, drop=1)]
    return cols


def zone_rows(frame: Frame, pal: Palette) -> list[Row]:
    zones = _zones(frame.analysis)
    out = []
    for w in frame.analysis.zones.workloads:
        per = {c.zone: c.ready for c in w.by_zone}
        flags = []
        if w.single_zone:
            flags.append("single-zone")
        if w.prod:
            flags.append("prod")
        if w.spread_constraints:
            flags.append("spread")
        cells = [(_t(f"{w.kind}/{w.namespace}/{w.name}"), w.key),
                 (_t(f"{w.ready}/{w.replicas}", pal.warning if w.ready < w.replicas else ""), w.ready)]
        for z in zones:
            n = per.get(z, 0)
            cells.append((_num(n, style=pal.dim if n == 0 else ""), n))
        cells += [(_num(w.skew, style=pal.warning if w.skew > 1 else ""), w.skew),
                  (_t(" ".join(flags), pal.critical if (w.single_zone and w.prod) else (pal.warning if w.single_zone else pal.dim)),
                   " ".join(flags))]
        out.append(_row(w.key, cells))
    return out


def zone_summary(analysis, pal: Palette) -> RenderableType:
    """The per-zone table above the workload list: capacity and what losing the zone would do."""
    losses = {z.zone: z for z in analysis.zones.losses}
    t = Table(box=None, padding=(0, 1), show_edge=False, expand=True)
    for name, just in (("ZONE", "left"), ("NODES", "right"), ("GPU FREE/ALLOC", "right"), ("CPU FREE", "right"),
                       ("PODS", "right"), ("IF LOST", "left")):
        t.add_column(name, justify=just, no_wrap=name != "IF LOST", overflow="ellipsis", ratio=1 if name == "IF LOST" else None)
    for z in analysis.zones.rows:
        loss = losses.get(z.zone)
        lost = Text("-")
        if loss is not None:
            style = pal.critical if (loss.workloads_down or not loss.fits) else (pal.warning if loss.workloads_degraded else pal.ok)
            lost = inert(loss.summary, style)
        t.add_row(inert(z.zone or "(unlabelled)"), Text(f"{z.ready_nodes}/{z.nodes}", style=pal.warning if z.ready_nodes < z.nodes else ""),
                  Text(f"{z.gpu_free}/{z.gpu_allocatable}"), Text(fmt_cpu(z.cpu_free_m)), Text(f"{z.pods:,}"), lost)
    return t


def zone_detail(w, frame: Frame, pal: Palette) -> RenderableType:
    head = Text.assemble(("workload ", "bold"), inert(f"{w.kind}/{w.namespace}/{w.name}", "bold"),
                         f"   ready {w.ready}/{w.replicas}   zones used {w.zones_used}   skew {w.skew}",
                         ("   SINGLE ZONE" if w.single_zone else "", pal.critical if w.prod else pal.warning))
    peak = max([c.ready for c in w.by_zone] + [1])
    t = Table(box=None, padding=(0, 1), show_edge=False)
    t.add_column("ZONE", no_wrap=True)
    t.add_column("READY", justify="right")
    t.add_column("", no_wrap=True)
    for c in w.by_zone:
        t.add_row(inert(c.zone or "(unlabelled)"), Text(str(c.ready)),
                  gauge(c.ready / peak if peak else 0, 30, pal, label=f"{c.ready / max(w.ready, 1) * 100:3.0f}%", color=pal.info))
    losses = [z for z in frame.analysis.zones.losses if w.key in z.workloads_down or w.key in z.workloads_degraded]
    lines = [Text.assemble(("if ", "dim"), inert(z.zone, "bold"), (" is lost: ", "dim"),
                           ("DOWN" if w.key in z.workloads_down else "degraded", pal.critical if w.key in z.workloads_down else pal.warning))
             for z in losses]
    pods = frame.cluster.pods_of((w.kind, w.namespace, w.name))
    extra = Text(f"spread constraints: {'yes' if w.spread_constraints else 'no'}   pods: {len(pods)}", style=pal.dim)
    return Group(head, t, *lines, extra)


# ---------------------------------------------------------------- findings
SEV_ORDER = {"critical": 0, "warning": 1, "info": 2}


def finding_columns(_a) -> list[Column]:
    return [
        Column("severity", "SEVERITY", 8),
        Column("id", "ID", 8),
        Column("object", "OBJECT", 24, flex=True),
        Column("summary", "SUMMARY", 30, flex=True),
        Column("view", "VIEW", 8, drop=1),
    ]


def finding_key(f) -> str:
    return f.key or f"{f.id}/{f.kind}/{f.namespace}/{f.name}"


def finding_rows(frame: Frame, pal: Palette) -> list[Row]:
    out = []
    for n, f in enumerate(frame.analysis.findings):
        obj = f"{f.kind}/{f.namespace}/{f.name}" if f.namespace else f"{f.kind}/{f.name}"
        out.append(_row(finding_key(f), [
            (_t(f.severity, pal.severity(f.severity)), (SEV_ORDER.get(f.severity, 3), n)),
            (_t(f.id), f.id),
            (_t(obj), obj),
            (_t(f.summary), f.summary),
            (_t(f.view, pal.dim), f.view),
        ], extra=f"{f.action} {f.alert}"))
    return out


def finding_detail(f, frame: Frame, pal: Palette) -> RenderableType:
    kv = _kv_table()
    _kv(kv, "finding", Text.assemble(inert(f.id, "bold"), "  ", inert(f.severity.upper(), pal.severity(f.severity))))
    _kv(kv, "object", f"{f.kind} {f.namespace + '/' if f.namespace else ''}{f.name}")
    _kv(kv, "what", f.summary)
    _kv(kv, "do", Text(clean(f.action), style=pal.ok))
    if f.alert:
        _kv(kv, "same as alert", f.alert)
    if f.view:
        _kv(kv, "see view", f.view)
    return kv


# ---------------------------------------------------------------- why pending
def pending_columns(_a) -> list[Column]:
    return [
        Column("pod", "POD", 24, flex=True),
        Column("workload", "WORKLOAD", 18, drop=2),
        Column("for", "FOR", 5, align="right"),
        Column("gpu", "GPU", 3, align="right"),
        Column("cpu", "CPU", 6, align="right", drop=1),
        Column("memory", "MEM", 6, align="right", drop=2),
        Column("fits", "FITS", 4, align="right"),
        Column("reason", "WHY", 30, flex=True),
    ]


def pending_rows(frame: Frame, pal: Palette) -> list[Row]:
    out = []
    for p in frame.analysis.pending.rows:
        top = p.reasons[0].reason if p.reasons else (p.scheduler_message or "")
        out.append(_row(p.key, [
            (_t(f"{p.namespace}/{p.name}"), p.key),
            (_t(p.workload, pal.dim), p.workload),
            (_t(fmt_age(p.pending_for_s), pal.warning if p.pending_for_s > 300 else ""), p.pending_for_s),
            (_num(p.gpu or None, style=pal.accent), p.gpu),
            (_t(fmt_cpu(p.cpu_m)), p.cpu_m),
            (_t(fmt_bytes(p.memory)), p.memory),
            (_num(p.fit_count, style=pal.ok if p.fit_count else pal.critical), p.fit_count),
            (_t(top, pal.warning), top),
        ], extra=p.summary))
    return out


def pending_detail(p, frame: Frame, pal: Palette) -> RenderableType:
    head = Text.assemble(("pending pod ", "bold"), inert(f"{p.namespace}/{p.name}", "bold"), "  ", inert(p.workload, pal.dim),
                         f"   for {fmt_age(p.pending_for_s)}")
    kv = _kv_table()
    mig = ", ".join(f"{k}={v}" for k, v in p.mig)
    _kv(kv, "requests", f"cpu {fmt_cpu(p.cpu_m)}  memory {fmt_bytes(p.memory)}  gpu {p.gpu}" + (f"  mig {mig}" if mig else ""))
    _kv(kv, "scheduler", Text(clean(p.scheduler_message) or "-", style=pal.dim))
    _kv(kv, "summary", p.summary)
    _kv(kv, "would fit now", Text(f"{p.fit_count} node(s): " + ", ".join(clean(n) for n in p.fitting_nodes[:10]) if p.fit_count else "no node",
                                  style=pal.ok if p.fit_count else pal.critical))
    rt = Table(box=None, padding=(0, 1), show_edge=False)
    rt.add_column("NODES", justify="right")
    rt.add_column("REASON", overflow="fold")
    for r in p.reasons:
        rt.add_row(Text(str(r.nodes)), inert(r.reason, pal.warning))
    return Group(head, kv, rt)


# ---------------------------------------------------------------- registry
def _by_key(rows) -> dict:
    return {r.key: r for r in rows}


VIEWS: tuple[ViewSpec, ...] = (
    ViewSpec("quotas", "Quotas", "2", quota_columns, quota_rows, lambda a: _by_key(a.quotas.rows),
             lambda r: ObjectRef("Namespace", "", r.namespace), quota_detail, lambda a: a.quotas.note,
             empty="no namespaces"),
    ViewSpec("gpus", "GPU nodes", "3", gpu_columns, gpu_rows, lambda a: _by_key(a.gpu_nodes.rows),
             lambda r: ObjectRef("Node", "", r.node), gpu_detail, lambda a: a.gpu_nodes.note, empty="no GPU nodes"),
    ViewSpec("hpas", "HPAs", "4", hpa_columns, hpa_rows, lambda a: _by_key(a.hpas.rows),
             lambda r: ObjectRef("HorizontalPodAutoscaler", r.namespace, r.name), hpa_detail, lambda a: a.hpas.note,
             empty="no HorizontalPodAutoscalers"),
    ViewSpec("probes", "Probes", "5", probe_columns, probe_rows, lambda a: _by_key(a.probes.containers),
             lambda r: ObjectRef("Pod", r.namespace, r.pod), probe_detail, lambda a: a.probes.note,
             empty="no failing probes, crash loops or restarts"),
    ViewSpec("zones", "Zones", "6", zone_columns, zone_rows, lambda a: _by_key(a.zones.workloads),
             lambda r: ObjectRef(r.kind, r.namespace, r.name), zone_detail, lambda a: a.zones.note, empty="no workloads"),
    ViewSpec("findings", "Findings", "7", finding_columns, finding_rows, lambda a: {finding_key(f): f for f in a.findings},
             lambda f: ObjectRef(f.kind, f.namespace, f.name), finding_detail, empty="no findings"),
    ViewSpec("pending", "Pending", "8", pending_columns, pending_rows, lambda a: _by_key(a.pending.rows),
             lambda p: ObjectRef("Pod", p.namespace, p.name), pending_detail, lambda a: a.pending.note,
             empty="no pending pods"),
)
VIEW_BY_ID = {v.id: v for v in VIEWS}


@dataclass(frozen=True)
class PreparedFrame:
    """A frame plus every view's rows and row index, built off the UI thread."""

    frame: Frame
    rows: dict[str, list[Row]]
    items: dict[str, dict]
    palette: Palette


def prepare(frame: Frame, palette: Palette) -> PreparedFrame:
    rows, items = {}, {}
    for v in VIEWS:
        try:
            rows[v.id] = v.rows(frame, palette)
            items[v.id] = v.items(frame.analysis)
        except Exception as e:  # one broken view must not take the dashboard down
            rows[v.id] = [_row("!error", [(Text(f"cannot render this view: {type(e).__name__}: {clean(e)}", style=palette.critical), "")])]
            items[v.id] = {}
    return PreparedFrame(frame, rows, items, palette)
