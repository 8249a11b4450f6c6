"""The cold-load screen: what is being listed and how far, never a blank or frozen screen."""
from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from ..feed import FeedStatus
from ..widgets.render import Palette, clean, gauge, inert


class LoadingPanel(Static):
    """Shown until the first frame: what is being listed, never a blank screen."""


def loading_text(status: FeedStatus, pal: Palette, spinner: str) -> RenderableType:
    t = Table.grid(padding=(0, 2))
    t.add_column(no_wrap=True)
    t.add_column(no_wrap=True)
    t.add_column(no_wrap=True)
    head = Text.assemble((f"{spinner} connecting to ", "bold"), inert(status.context or "the cluster", "bold"),
                         ("  " + clean(status.server), pal.dim))
    if status.kinds:
        done, total = status.load_progress()
        head = Text.assemble((f"{spinner} loading ", "bold"), inert(status.context, "bold"), f"  {done} of {total} kinds listed")
    t.add_column(no_wrap=True)
    for kind, ks in sorted(status.kinds.items()):
        total = ks.total
        if ks.forbidden:
            state = Text("forbidden (RBAC)", style=pal.warning)
        elif ks.error:
            state = inert(f"error: {ks.error}", pal.critical)
        elif ks.complete:
            state = Text("✓", style=pal.ok)
        else:
            state = Text(f"page {ks.pages}…", style=pal.info)
        count = f"{ks.listed:,}" + (f" of {total:,}" if total else "")
        bar = gauge(min(1.0, ks.listed / total), 22, pal, color=pal.info) if total and not ks.complete else Text("")
        t.add_row(Text(kind), Text(count, justify="right"), bar, state)
    metrics = Text.assemble(("metrics: ", pal.dim), inert(status.metrics_source or "connecting…"))
    if status.api_error:  # e.g. the feed process exited before the first frame: said, not a spinner forever
        return Group(head, inert(status.api_error, pal.critical), Text(""), t, Text(""), metrics)
    return Group(head, Text(""), t, Text(""), metrics)
