"""A real Prometheus for a simulated cluster, with history from the start: the simulator starts the
backfill window in the past with its clock held, a real Prometheus's history is written from the
exporters while the clock is advanced through the window step by step, then the clock runs live.
So the 30-minute views (idle held GPUs, HPA history) show real numbers, computed by the real PromQL
over what the simulated cluster really exported, within seconds of start (demo, `sim --prometheus`)."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .prometheus_server import PrometheusServer

MAX_BACKFILL_S = 6 * 3600.0  # well inside the Prometheus retention (1d) and the simulator's 24 h lag
BACKFILL_STEP_S = 60.0  # 31 scrapes for 30 min: ~5 s at demo size; the 30-min averages need no finer


def parse_backfill(text: str) -> float:
    """--backfill: 30m, 1h, 90s or 0 (none); a UserError says what is wrong."""
    from ..errors import UserError
    from ..recording import parse_duration
    try:
        seconds = 0.0 if text.strip() == "0" else parse_duration(text)
    except UserError as e:
        raise UserError(f"--backfill: {e}") from None
    if seconds > MAX_BACKFILL_S:
        raise UserError(f"--backfill: at most {MAX_BACKFILL_S / 3600:g}h (got {text})")
    return seconds


def sim_start(speed: float, backfill_s: float) -> float | None:
    """Where the simulated clock starts so that, after the backfill, it stands where it would have
    (None: the simulator's default). A faster clock already starts a day behind and has room."""
    from .cluster import DEFAULT_LAG_S
    if backfill_s <= 0 or speed > 1:
        return None
    return time.time() - backfill_s if backfill_s < DEFAULT_LAG_S else None


def start_prometheus(sim: Any, workdir: str, backfill_s: float, scrape_interval: float = 5.0,
                     binary: str | None = None, say: Callable[[str], None] = lambda _m: None) -> "PrometheusServer":
    """Prometheus on `sim`'s exporters with `backfill_s` of simulated history, then the sim's clock
    running (SimCluster(start_clock=False)). Whatever happens to Prometheus, the simulated clock
    ends up where the backfill would have left it, so the cluster is the same with or without it."""
    from .prometheus_server import PrometheusServer
    target = sim.now() + backfill_s
    if backfill_s > 0:
        say(f"simulating the last {backfill_s / 60:g} min into Prometheus's history…")
    try:
        prom = PrometheusServer(dict(sim.exporter_urls), workdir, scrape_interval=scrape_interval, binary=binary,
                                backfill_seconds=backfill_s, backfill_step=BACKFILL_STEP_S, advance=sim.advance)
        prom.start()
        if prom.backfill_note:
            say(prom.backfill_note)
        return prom
    finally:
        if sim.now() < target:
            sim.advance(target - sim.now())
        sim.start_clock_thread()
