"""SVG export: the dashboard's own screen, one per view, from a headless Textual run.

The app runs on a StaticFeed holding the one analysed moment; the pilot presses the view keys a
user would press and Textual's export_screenshot() saves what is on screen. The app's clock is
pinned to the snapshot time, so ages read as they did at that moment and reruns are identical.
"""
from __future__ import annotations

import asyncio

from ..errors import UserError

# snapshot view names -> the TUI's view ids (the TUI also has overview and findings screens)
TUI_VIEW = {"overview": "overview", "quotas": "quotas", "gpu_nodes": "gpus", "hpas": "hpas", "probes": "probes",
            "zones": "zones", "findings": "findings", "pending": "pending"}
_SETTLE_STEPS = 200  # pauses of 0.05 s while the first frame is prepared (10 s on a busy machine)


def resolve_svg_views(names) -> tuple[str, ...]:
    """Like json_export.resolve_views, plus the dashboard's overview and findings screens; all eight
    by default."""
    from .json_export import resolve_views

    if not names:
        return tuple(TUI_VIEW)
    extra = {n.strip().lower() for raw in names for n in raw.split(",")} & {"overview", "findings"}
    rest = [n for raw in names for n in raw.split(",") if n.strip().lower() not in ("overview", "findings")]
    chosen = set(extra) | (set(resolve_views(rest)) if rest else set())
    return tuple(v for v in TUI_VIEW if v in chosen)


def export_svgs(moment, views, size: tuple[int, int] | None = None) -> dict[str, str]:
    """{view name: SVG text} for each of `views` (snapshot view names, or overview/findings)."""
    return asyncio.run(_export(moment, list(views), size or (160, 50)))


async def _export(moment, views: list[str], size: tuple[int, int]) -> dict[str, str]:
    from ..app import KubewatchApp
    from ..feed import FeedStatus, Frame, StaticFeed, metrics_state
    from ..screens.main import VIEW_IDS
    from ..settings import Settings

    cluster, metrics = moment.cluster, moment.metrics
    status = FeedStatus(context=cluster.cluster.context, server=cluster.cluster.server, api_state="static",
                        metrics_source=metrics.source if metrics else "none", metrics_state=metrics_state(metrics),
                        kinds=cluster.kinds, insecure=cluster.cluster.insecure, loaded=True,
                        forbidden=tuple(sorted(k for k, s in cluster.kinds.items() if s.forbidden)))
    frame = Frame(cluster=cluster, metrics=metrics, analysis=moment.analysis, taken_at=cluster.taken_at, status=status)
    app = KubewatchApp(StaticFeed([frame]), Settings(), clock=lambda: cluster.taken_at)
    out: dict[str, str] = {}
    async with app.run_test(size=size, notifications=False) as pilot:
        for _ in range(_SETTLE_STEPS):
            if app.main_screen is not None and app.main_screen.latest is not None:
                break
            await pilot.pause(0.05)
        else:
            raise UserError("the dashboard did not render the snapshot in time (svg export)")
        for view in views:
            tui_id = TUI_VIEW[view]
            await pilot.press(str(VIEW_IDS.index(tui_id) + 1))  # the user's key for this view
            await pilot.pause()
            await pilot.pause(0.05)
            if app.active_view != tui_id:
                raise UserError(f"the dashboard did not switch to the {view} view (svg export)")
            title = f"kubewatch-ml {view}: {cluster.cluster.context or 'cluster'}"
            out[view] = app.export_screenshot(title=title)
        await pilot.press("q")
    return out
