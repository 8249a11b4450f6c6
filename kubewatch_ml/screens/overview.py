"""The overview: cluster health at a glance, one card per question, laid out by the terminal width."""
from __future__ import annotations

from collections import Counter

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, VerticalScroll
from textual.widgets import Static

from ..feed import Frame
from ..widgets.render import Palette, fmt_pct, gauge, inert
from .views import HPA_SEVERITY, LEVEL_SEVERITY

CARDS = ("cluster", "gpus", "findings", "quotas", "hpas", "zones")
TITLES = {"cluster": "Cluster", "gpus": "GPUs", "quotas": "Quota hot spots", "hpas": "Autoscalers",
          "findings": "Top findings", "zones": "Zones"}


def _grid() -> Table:
    t = Table.grid(padding=(0, 1))
    t.add_column(no_wrap=True, min_width=11)
    t.add_column(overflow="fold")
    return t


def card_cluster(frame: Frame, pal: Palette) -> RenderableType:
    o = frame.analysis.overview
    t = _grid()
    t.add_row(Text("nodes", style="bold"), Text(f"{o.ready_nodes}/{o.nodes} ready", style=pal.ok if o.ready_nodes == o.nodes else ""))
    issues = [(f"{o.not_ready_nodes} NotReady", pal.critical), (f"{o.cordoned_nodes} cordoned", pal.warning)]
    issues = [(txt, st) for (txt, st), n in zip(issues, (o.not_ready_nodes, o.cordoned_nodes)) if n]
    if issues:
        t.add_row(Text(""), Text.assemble(*[x for i, part in enumerate(issues) for x in ((", " if i else ""), part)]))
    t.add_row(Text("pods", style="bold"), Text.assemble(f"{o.pods:,} ({o.running_pods:,} running",
              (f", {o.pending_pods:,} pending" if o.pending_pods else "", pal.warning),
              (f", {o.failed_pods:,} failed" if o.failed_pods else "", pal.critical), ")"))
    t.add_row(Text("namespaces", style="bold"), Text.assemble(f"{o.namespaces}",
              (f", {o.namespaces_without_quota} without quota" if o.namespaces_without_quota else "", pal.dim)))
    t.add_row(Text("crash loops", style="bold"), Text(str(o.crashlooping_containers), style=pal.critical if o.crashlooping_containers else pal.ok))
    bad = [(a, s) for a, s in o.metrics_areas if s != "ok"]
    t.add_row(Text("metrics", style="bold"), inert(o.metrics_source or "none", pal.dim))
    if bad:
        t.add_row(Text(""), inert("; ".join(f"{a}: {s}" for a, s in bad[:3]), pal.warning))
    return t


def short_resource(resource: str) -> str:
    """requests.nvidia.com/gpu -> gpu req, limits.memory -> mem lim, pods -> pods."""
    kind, _, name = resource.partition(".")
    if not name:
        return resource
    name = {"nvidia.com/gpu": "gpu", "memory": "mem", "ephemeral-storage": "disk"}.get(name, name.rsplit("/", 1)[-1])
    return f"{name} {'req' if kind == 'requests' else 'lim' if kind == 'limits' else kind}"


def card_gpus(frame: Frame, pal: Palette) -> RenderableType:
    o = frame.analysis.overview
    g = frame.analysis.gpu_nodes
    ratio = o.gpu_requested / o.gpu_allocatable if o.gpu_allocatable else None
    t = _grid()
    t.add_row(Text("allocated", style="bold"), gauge(ratio, 18, pal, label=f"{o.gpu_requested}/{o.gpu_allocatable}", color=pal.accent))
    t.add_row(Text("free", style="bold"), Text(f"{o.gpu_free} on {o.gpu_nodes} GPU nodes"))
    idle = "-" if o.gpu_idle is None else str(o.gpu_idle)
    t.add_row(Text("idle held", style="bold"), Text(f"{idle} allocated but idle", style=pal.warning if o.gpu_idle else ""))
    t.add_row(Text("utilisation", style="bold"), gauge(None if o.gpu_util_avg is None else o.gpu_util_avg / 100, 18, pal,
                                                     color=pal.info, label=fmt_pct(o.gpu_util_avg)))
    for p in g.by_product[:3]:
        r = p.requested / p.allocatable if p.allocatable else None
        t.add_row(inert((p.group or "(unlabelled)")[:14], pal.dim), gauge(r, 18, pal, label=f"{p.requested}/{p.allocatable}", color=pal.accent))
    if o.pending_gpu_pods:
        t.add_row(Text("waiting", style="bold"), Text(f"{o.pending_gpu_pods} pod{'' if o.pending_gpu_pods == 1 else 's'} pending for GPUs", style=pal.warning))
    return t


def card_quotas(frame: Frame, pal: Palette) -> RenderableType:
    rows = [r for r in frame.analysis.quotas.rows if r.has_quota and r.max_ratio is not None][:6]
    if not rows:
        return Text("no ResourceQuota set", style=pal.dim)
    t = _grid()
    for nq in rows:
        worst = max((r for r in nq.rows if r.ratio is not None), key=lambda r: r.ratio, default=None)
        t.add_row(inert(nq.namespace, "bold" if nq.prod else ""), gauge(nq.max_ratio, 14, pal),
                  inert(short_resource(worst.resource) if worst else "", pal.severity(LEVEL_SEVERITY.get(nq.level, "")) or pal.dim))
    return t


def card_hpas(frame: Frame, pal: Palette) -> RenderableType:
    o = frame.analysis.overview
    counts = Counter(h.state for h in frame.analysis.hpas.rows)
    t = _grid()
    t.add_row(Text("total", style="bold"), Text(str(o.hpas)))
    for state in ("maxed_out", "blind", "flapping", "mismatch", "unknown", "pinned_at_min", "healthy"):
        if counts.get(state):
            t.add_row(Text(state.replace("_", " "), style=pal.severity(HPA_SEVERITY[state])), Text(str(counts[state])))
    worst = [h for h in frame.analysis.hpas.rows if HPA_SEVERITY.get(h.state) == "critical"][:2]
    for h in worst:
        t.add_row(inert(f"{h.namespace}/{h.name}", pal.dim), inert(f"{h.current}/{h.max_replicas} {h.state.replace('_', ' ')}", pal.dim))
    return t


def card_findings(frame: Frame, pal: Palette, limit: int = 6) -> RenderableType:
    o = frame.analysis.overview
    head = Text.assemble((f"{o.findings_critical} critical", pal.critical if o.findings_critical else pal.dim), "  ",
                         (f"{o.findings_warning} warning", pal.warning if o.findings_warning else pal.dim), "  ",
                         (f"{o.findings_info} info", pal.dim))
    t = Table.grid(padding=(0, 1))
    t.add_column(no_wrap=True, min_width=1)
    t.add_column(no_wrap=True, overflow="ellipsis")
    for f in frame.analysis.findings[:limit]:
        t.add_row(Text("●", style=pal.severity(f.severity)), Text.assemble(inert(f.id, pal.dim), " ", inert(f.summary)))
    return Group(head, t)


def card_zones(frame: Frame, pal: Palette) -> RenderableType:
    z = frame.analysis.zones
    losses = {x.zone: x for x in z.losses}
    t = Table(box=None, padding=(0, 1), show_edge=False, expand=False)
    for name, just in (("ZONE", "left"), ("NODES", "right"), ("GPU FREE", "right"), ("IF LOST", "left")):
        t.add_column(name, justify=just, no_wrap=True, overflow="ellipsis", header_style="dim")
    for s in z.rows[:6]:
        loss = losses.get(s.zone)
        down = len(loss.workloads_down) if loss else 0
        degraded = len(loss.workloads_degraded) if loss else 0
        if loss is None:
            what = Text("-", style=pal.dim)
        elif down:
            what = Text(f"{down} workloads down" + ("" if loss.fits else ", pods don't fit"), style=pal.critical)
        elif not loss.fits:
            what = Text(f"{loss.unplaced_pods} pods don't fit", style=pal.critical)
        else:
            what = Text(f"fits ({degraded} degraded)" if degraded else "fits", style=pal.warning if degraded else pal.ok)
        t.add_row(inert(s.zone or "(unlabelled)", "bold"), Text(f"{s.ready_nodes}/{s.nodes}"),
                  Text(f"{s.gpu_free}/{s.gpu_allocatable}"), what)
    if z.single_zone:
        return Group(t, Text(f"{len(z.single_zone)} workloads run in a single zone", style=pal.warning))
    return t


RENDER = {"cluster": card_cluster, "gpus": card_gpus, "quotas": card_quotas, "hpas": card_hpas,
          "findings": card_findings, "zones": card_zones}


class OverviewCard(Static):
    pass


class OverviewPanel(VerticalScroll):
    """Six cards in a grid whose column count follows the width (see kubewatch.tcss)."""

    def compose(self) -> ComposeResult:
        with Grid(id="overview-grid"):
            for c in CARDS:
                card = OverviewCard(Text("…", style="dim"), id=f"card-{c}", classes="card")
                card.border_title = TITLES[c]
                yield card

    def show(self, frame: Frame, pal: Palette) -> None:
        w, h = self.screen.size  # (this panel may still be hidden, with no size of its own)
        limit = max(6, min(20, (h - 16) // 2)) if w >= 140 else 6
        for c in CARDS:
            try:
                body = card_findings(frame, pal, limit) if c == "findings" else RENDER[c](frame, pal)
            except Exception as e:  # a card must never take the overview down
                body = Text(f"cannot render: {type(e).__name__}: {e}", style=pal.critical)
            self.query_one(f"#card-{c}", OverviewCard).update(body)
