"""The views as a registry (STYLE.md 14): each view says its columns, how a view model becomes
rows, which object a row stands for, and how the detail pane renders a row. Pure: rich Text
only (no Textual), so rows can be built in the feed worker thread, off the UI thread.
Every cluster-supplied string goes through `inert()` (never parsed as markup).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Sequence

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


@dataclass(frozen=True)
class Ctx:
    """What a row's cells need besides the item: colours, the frame, the zone columns."""

    pal: Palette
    frame: Frame
    zones: tuple[str, ...] = ()

    @property
    def now(self) -> float:
        return self.frame.analysis.now


def _hay(*parts: object) -> str:
    return " ".join(clean(p) for p in parts if p not in (None, "")).lower()


def _num(v, fmt: str = "{:,.0f}", style: str = "") -> Text:
    return Text("-" if v is None else fmt.format(v), style=style if v is not None else "dim", end="")


def _kv(table: Table, key: str, value: object, style: str = "") -> None:
    table.add_row(Text(key, style="bold"), value if isinstance(value, Text) else inert(value, style))


def _kv_table() -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(no_wrap=True)
    t.add_column(overflow="fold")
    return t


@dataclass(frozen=True)
class ViewSpec:
    id: str  # quotas | gpus | hpas | probes | zones | findings | pending
    title: str
    key: str  # the number key that opens it
    columns: Callable[[object], list[Column]]  # analysis -> columns (zones depend on the data)
    seq: Callable[[object], Sequence]  # analysis -> the view models, in the analysis' order (worst first)
    key_of: Callable[[object], str]
    sort: Callable[[object, Ctx], tuple]  # one sort value per column
    text: Callable[[object], str]  # lower-case words for the filter
    cells: Callable[[object, Ctx], tuple]  # built only for rows on screen
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


LEVEL_RANK = {"exceeded": 0, "fully_used": 1, "almost_full": 2, "ok": 3}


def quota_sort(nq, ctx: Ctx) -> tuple:
    cpu = _quota_ratio(nq, "requests.cpu", "cpu")
    mem = _quota_ratio(nq, "requests.memory", "memory")
    gpu = _quota_ratio(nq, "requests.nvidia.com/gpu")
    return (nq.namespace, LEVEL_RANK.get(nq.level, 4), nq.max_ratio, cpu.ratio if cpu else None,
            mem.ratio if mem else None, gpu.ratio if gpu else None, nq.pods, nq.cpu_used_cores,
            nq.cpu_idle_reserved_m, nq.gpus_idle)


def quota_text(nq) -> str:
    return _hay(nq.namespace, nq.level.replace("_", " ") if nq.has_quota else "no quota", *nq.quotas, "prod" if nq.prod else "")


def quota_cells(nq, ctx: Ctx) -> tuple[Text, ...]:
    pal = ctx.pal
    sev = LEVEL_SEVERITY.get(nq.level, "")
    cpu = _quota_ratio(nq, "requests.cpu", "cpu")
    mem = _quota_ratio(nq, "requests.memory", "memory")
    gpu = _quota_ratio(nq, "requests.nvidia.com/gpu")
    level = nq.level.replace("_", " ") if nq.has_quota else "no quota"
    gpu_cell = (gauge(gpu.ratio, 11, pal, label=f"{gpu.used}/{gpu.hard}") if gpu else
                _t(f"{nq.gpu_requested} req" if nq.gpu_requested else "-", pal.dim))
    return (
        _t(nq.namespace, "bold" if nq.prod else ""),
        _t(level, pal.severity(sev) if sev else pal.dim),
        gauge(nq.max_ratio, 12, pal),
        gauge(cpu.ratio, 12, pal) if cpu else _t(fmt_cpu(nq.cpu_requested_m), pal.dim),
        gauge(mem.ratio, 12, pal) if mem else _t(fmt_bytes(nq.memory_requested), pal.dim),
        gpu_cell,
        _num(nq.pods),
        _t(fmt_cores(nq.cpu_used_cores)),
        _t(fmt_cpu(nq.cpu_idle_reserved_m)),
        _num(nq.gpus_idle, style=pal.warning if nq.gpus_idle else ""),
    )


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


def gpu_sort(g, ctx: Ctx) -> tuple:
    ratio = g.requested / g.allocatable if g.allocatable else None
    return (g.node, g.product, g.zone, ratio, g.free, g.util_avg, g.util_avg, g.idle_gpus, g.mem_percent_avg,
            g.power_w, g.status, len(g.taints))


def gpu_text(g) -> str:
    return _hay(g.node, g.product, g.zone, g.instance_type, g.status, *g.taints)


def gpu_cells(g, ctx: Ctx) -> tuple[Text, ...]:
    pal = ctx.pal
    ratio = g.requested / g.allocatable if g.allocatable else None
    bad = g.not_ready or g.cordoned
    status_style = pal.critical if g.not_ready else (pal.warning if g.cordoned else pal.ok)
    util_style = pal.warning if (g.util_avg is not None and g.util_avg < 5 and g.requested) else ""
    return (
        _t(g.node, pal.dim if bad else ""),
        _t(g.product),
        _t(g.zone),
        gauge(ratio, 15, pal, label=f"{g.requested}/{g.allocatable}", color=pal.accent),
        _num(g.free),
        _t(fmt_pct(g.util_avg), util_style),
        sparkline(_node_history(g), 12, lo=0, hi=100, style=pal.info),
        _num(g.idle_gpus, style=pal.warning if g.idle_gpus else ""),
        _t(fmt_pct(g.mem_percent_avg)),
        _t("-" if g.power_w is None else f"{g.power_w:.0f}W"),
        _t(g.status, status_style),
        _t(",".join(g.taints), pal.dim),
    )


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


HPA_RANK = {"maxed_out": 0, "blind": 1, "flapping": 2, "mismatch": 3, "unknown": 4, "pinned_at_min": 5, "healthy": 6}


def hpa_sort(h, ctx: Ctx) -> tuple:
    return (h.key, h.target, h.min_replicas, h.max_replicas, h.current, h.desired, h.computed_desired,
            HPA_RANK.get(h.state, 9), h.metrics[0].ratio if h.metrics else None, len(h.history_current))


def hpa_text(h) -> str:
    return _hay(h.namespace, h.name, h.target, *h.states, *(m.text for m in h.metrics), h.state.replace("_", " "))


def hpa_cells(h, ctx: Ctx) -> tuple[Text, ...]:
    pal = ctx.pal
    sev = HPA_SEVERITY.get(h.state, "")
    calc_style = pal.warning if (h.computed_desired is not None and h.computed_desired != h.desired) else ""
    return (
        _t(f"{h.namespace}/{h.name}"),
        _t(h.target, pal.dim),
        _num(h.min_replicas),
        _num(h.max_replicas),
        _num(h.current, style=pal.critical if h.current >= h.max_replicas and h.max_replicas > h.min_replicas else ""),
        _num(h.desired),
        _num(h.computed_desired, style=calc_style),
        _t(h.state.replace("_", " "), pal.severity(sev)),
        _t("  ".join(m.text for m in h.metrics)),
        sparkline(h.history_current, 14, lo=0, hi=max(h.max_replicas, 1), style=pal.info),
    )


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


def probe_sort(p, ctx: Ctx) -> tuple:
    return (p.key, p.workload, len(p.failing), p.failures_5m, p.restarts, p.restarts_1h,
            (0 if p.crashloop else 1, p.reason or p.state), p.last_event_at or None, -p.since if p.since else None)


def probe_text(p) -> str:
    return _hay(p.namespace, p.pod, p.container, p.workload, p.node, *p.failing, p.reason or p.state,
                p.last_event_reason, p.last_event_message, "crashloop" if p.crashloop else "")


def probe_cells(p, ctx: Ctx) -> tuple[Text, ...]:
    pal = ctx.pal
    state = p.reason or p.state
    st_style = pal.critical if p.crashloop else (pal.warning if not p.ready else pal.ok)
    return (
        _t(f"{p.namespace}/{p.pod}/{p.container}"),
        _t(p.workload, pal.dim),
        _t(",".join(f[:4] for f in p.failing) or "-", pal.warning if p.failing else pal.dim),
        _num(p.failures_5m, style=pal.warning if p.failures_5m else ""),
        _num(p.restarts, style=pal.critical if p.restarts > 5 else ""),
        _num(p.restarts_1h),
        _t(state, st_style),
        _t(f"{p.last_event_reason}: {p.last_event_message}" if p.last_event_reason else "", pal.dim),
        _t(since(p.since, ctx.now)),
    )


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


def _zone_flags(w) -> list[str]:
    return [f for f, on in (("single-zone", w.single_zone), ("prod", w.prod), ("spread", w.spread_constraints)) if on]


def zone_sort(w, ctx: Ctx) -> tuple:
    per = {c.zone: c.ready for c in w.by_zone}
    return (w.key, w.ready, *(per.get(z, 0) for z in ctx.zones), w.skew, " ".join(_zone_flags(w)))


def zone_text(w) -> str:
    return _hay(w.kind, w.namespace, w.name, *_zone_flags(w))


def zone_cells(w, ctx: Ctx) -> tuple[Text, ...]:
    pal = ctx.pal
    per = {c.zone: c.ready for c in w.by_zone}
    cells = [_t(f"{w.kind}/{w.namespace}/{w.name}"),
             _t(f"{w.ready}/{w.replicas}", pal.warning if w.ready < w.replicas else "")]
    for z in ctx.zones:
        n = per.get(z, 0)
        cells.append(_num(n, style=pal.dim if n == 0 else ""))
    cells += [_num(w.skew, style=pal.warning if w.skew > 1 else ""),
              _t(" ".join(_zone_flags(w)), pal.critical if (w.single_zone and w.prod) else (pal.warning if w.single_zone else pal.dim))]
    return tuple(cells)


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


def _finding_object(f) -> str:
    return f"{f.kind}/{f.namespace}/{f.name}" if f.namespace else f"{f.kind}/{f.name}"


def finding_sort(f, ctx: Ctx) -> tuple:
    return ((SEV_ORDER.get(f.severity, 3), -f.impact), f.id, _finding_object(f), f.summary, f.view)


def finding_text(f) -> str:
    return _hay(f.severity, f.id, _finding_object(f), f.summary, f.view, f.action, f.alert)


def finding_cells(f, ctx: Ctx) -> tuple[Text, ...]:
    pal = ctx.pal
    return (_t(f.severity, pal.severity(f.severity)), _t(f.id), _t(_finding_object(f)), _t(f.summary), _t(f.view, pal.dim))


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


def _pending_top(p) -> str:
    return p.reasons[0].reason if p.reasons else (p.scheduler_message or "")


def pending_sort(p, ctx: Ctx) -> tuple:
    return (p.key, p.workload, p.pending_for_s, p.gpu, p.cpu_m, p.memory, p.fit_count, _pending_top(p))


def pending_text(p) -> str:
    return _hay(p.namespace, p.name, p.workload, _pending_top(p), p.summary, "gpu" if p.wants_gpu else "")


def pending_cells(p, ctx: Ctx) -> tuple[Text, ...]:
    pal = ctx.pal
    return (
        _t(f"{p.namespace}/{p.name}"),
        _t(p.workload, pal.dim),
        _t(fmt_age(p.pending_for_s), pal.warning if p.pending_for_s > 300 else ""),
        _num(p.gpu or None, style=pal.accent),
        _t(fmt_cpu(p.cpu_m)),
        _t(fmt_bytes(p.memory)),
        _num(p.fit_count, style=pal.ok if p.fit_count else pal.critical),
        _t(_pending_top(p), pal.warning),
    )


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
def _key(x) -> str:
    return x.key


VIEWS: tuple[ViewSpec, ...] = (
    ViewSpec("quotas", "Quotas", "2", quota_columns, lambda a: a.quotas.rows, _key, quota_sort, quota_text, quota_cells,
             lambda r: ObjectRef("Namespace", "", r.namespace), quota_detail, lambda a: a.quotas.note, empty="no namespaces"),
    ViewSpec("gpus", "GPU nodes", "3", gpu_columns, lambda a: a.gpu_nodes.rows, _key, gpu_sort, gpu_text, gpu_cells,
             lambda r: ObjectRef("Node", "", r.node), gpu_detail, lambda a: a.gpu_nodes.note, empty="no GPU nodes"),
    ViewSpec("hpas", "HPAs", "4", hpa_columns, lambda a: a.hpas.rows, _key, hpa_sort, hpa_text, hpa_cells,
             lambda r: ObjectRef("HorizontalPodAutoscaler", r.namespace, r.name), hpa_detail, lambda a: a.hpas.note,
             empty="no HorizontalPodAutoscalers"),
    ViewSpec("probes", "Probes", "5", probe_columns, lambda a: a.probes.containers, _key, probe_sort, probe_text, probe_cells,
             lambda r: ObjectRef("Pod", r.namespace, r.pod), probe_detail, lambda a: a.probes.note,
             empty="no failing probes, crash loops or restarts"),
    ViewSpec("zones", "Zones", "6", zone_columns, lambda a: a.zones.workloads, _key, zone_sort, zone_text, zone_cells,
             lambda r: ObjectRef(r.kind, r.namespace, r.name), zone_detail, lambda a: a.zones.note, empty="no workloads"),
    ViewSpec("findings", "Findings", "7", finding_columns, lambda a: a.findings, finding_key, finding_sort, finding_text,
             finding_cells, lambda f: ObjectRef(f.kind, f.namespace, f.name), finding_detail, empty="no findings"),
    ViewSpec("pending", "Pending", "8", pending_columns, lambda a: a.pending.rows, _key, pending_sort, pending_text,
             pending_cells, lambda p: ObjectRef("Pod", p.namespace, p.name), pending_detail, lambda a: a.pending.note,
             empty="no pending pods"),
)
VIEW_BY_ID = {v.id: v for v in VIEWS}
INLINE_ROWS = 3000  # views up to this many rows are built on the UI thread when first shown


@dataclass(frozen=True)
class PreparedFrame:
    """A frame plus, per view, its items by row key (all views) and its rows (built on demand,
    off the UI thread for big views; only the visible view's rows are built for each frame)."""

    frame: Frame
    items: dict[str, dict]
    palette: Palette
    rows: dict[str, list[Row]] = field(default_factory=dict)

    def has_rows(self, view_id: str) -> bool:
        return view_id in self.rows

    def rows_for(self, view_id: str) -> list[Row]:
        rows = self.rows.get(view_id)
        if rows is None:
            rows = self.rows[view_id] = build_rows(VIEW_BY_ID[view_id], self)
        return rows


def _error_cells(message: str, pal: Palette):
    def cells(_item, ctx=None):
        return (Text(message, style=pal.critical),)
    return cells


def build_rows(spec: ViewSpec, prepared: PreparedFrame) -> list[Row]:
    pal = prepared.palette
    analysis = prepared.frame.analysis
    try:
        ctx = Ctx(pal, prepared.frame, tuple(_zones(analysis)))
        cells = partial(spec.cells, ctx=ctx)
        return [Row(k, spec.sort(x, ctx), spec.text(x), x, cells) for k, x in prepared.items[spec.id].items()]
    except Exception as e:  # one broken view must not take the dashboard down
        msg = f"cannot render this view: {type(e).__name__}: {clean(e)}"
        return [Row("!error", (msg,), msg.lower(), None, _error_cells(msg, pal))]


def prepare(frame: Frame, palette: Palette, views: Sequence[str] = ()) -> PreparedFrame:
    """Index every view's items by key; build rows for `views` (the visible one)."""
    items = {}
    for v in VIEWS:
        try:
            items[v.id] = {v.key_of(x): x for x in v.seq(frame.analysis)}
        except Exception:
            items[v.id] = {}
    prepared = PreparedFrame(frame, items, palette)
    for view_id in views:
        if view_id in VIEW_BY_ID:
            prepared.rows_for(view_id)
    return prepared
