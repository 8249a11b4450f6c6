"""Helpers for the fault-matrix tests (a unique module name: every test directory is on sys.path).

A small SimCluster (start_clock=False, TLS) reached only over HTTP; faults are switched through the
admin endpoint /_sim/faults exactly as a user of `kubewatch-ml sim` would, and waits poll a condition
(never a fixed sleep)."""
from __future__ import annotations

import time

from kubewatch_ml.settings import KubeOptions, MetricsOptions, Settings
from kubewatch_ml.sim.cluster import SimCluster
from kubewatch_ml.sources.kube import connect


def start_sim(tmp_path, **kw) -> SimCluster:
    opts = {"seed": 7, "nodes": 6, "pods": 30, "start_clock": False, "tls": True, "workdir": str(tmp_path / "sim")}
    opts.update(kw)
    return SimCluster(**opts).start()


def admin(sim):
    return connect(KubeOptions(kubeconfig=sim.kubeconfig_path, context="sim-admin"))


def faults(sim, spec: str | None = None, *, clear: bool = False) -> dict:
    """Switch faults on (spec) or off (clear) over HTTP with the admin token; returns the state.
    Plain urllib, not connect(): connect() asks /version first, which a `*` fault answers too."""
    import json
    import ssl
    import urllib.parse
    import urllib.request
    method, url = "GET", sim.api_url + "/_sim/faults"
    if clear:
        method = "DELETE"
    elif spec is not None:
        method, url = "PUT", url + "?" + urllib.parse.urlencode({"spec": spec})
    req = urllib.request.Request(url, method=method, headers={"Authorization": f"Bearer {sim.admin_token}"})
    ctx = ssl.create_default_context(cafile=sim.api.ca_file) if sim.tls else None
    with urllib.request.urlopen(req, timeout=30, context=ctx) as r:
        assert r.status == 200
        return json.loads(r.read())


def settings_for(sim, context: str = "sim-viewer", *, metrics: bool = False, **kube) -> Settings:
    m = MetricsOptions(no_prometheus=True) if metrics else MetricsOptions(no_prometheus=True, kube_state_metrics_url="",
                                                                          dcgm_url="")
    return Settings(kube=KubeOptions(kubeconfig=sim.kubeconfig_path, context=context, **kube), metrics=m,
                    refresh_seconds=0.5)


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    """Poll predicate() until it is truthy; returns its value or fails naming `what`."""
    end = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def fast_retries(monkeypatch) -> None:
    """Short backoff caps so recovery happens in test time (the store reads them at run time)."""
    import kubewatch_ml.store as store
    monkeypatch.setattr(store, "BACKOFF_START_S", 0.05)
    monkeypatch.setattr(store, "BACKOFF_MAX_S", 0.3)
    monkeypatch.setattr(store, "FORBIDDEN_RETRY_S", 0.3)


def screen_text(app) -> str:
    """What the terminal shows, as plain text (no colours)."""
    import io

    from rich.console import Console
    w, h = app.size
    c = Console(width=w, height=h, file=io.StringIO(), color_system=None, record=True, legacy_windows=False)
    c.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return c.export_text()


def status_line(app) -> str:
    """The status line as the user reads it (the screen row that starts with the context)."""
    rows = [r for r in screen_text(app).splitlines() if "ctx " in r and "API " in r]
    return rows[-1].strip() if rows else ""


def live_feed(sim, *, context: str = "sim-viewer", metrics=None, refresh_seconds: float = 0.5, **kube):
    """A LiveFeed over the simulator, reached over HTTP like any cluster (no metrics unless given)."""
    from kubewatch_ml.feed import LiveFeed
    from kubewatch_ml.sources.metrics import NoMetrics
    from kubewatch_ml.store import ClusterStore
    kube.setdefault("kubeconfig", sim.kubeconfig_path)
    conn = connect(KubeOptions(context=context, **kube))
    feed = LiveFeed(conn, lambda poke: ClusterStore(conn, on_change=poke), metrics or NoMetrics("--no-metrics"),
                    refresh_seconds=refresh_seconds, min_interval=0.1)
    feed.conn = conn
    return feed.start()


async def until(pilot, predicate, timeout: float = 20.0, what: str = "condition"):
    """Let the app run until predicate() holds (workers and messages settle) — no fixed sleeps."""
    end = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            await pilot.pause()
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}; status line: {status_line(pilot.app)!r}")
        await pilot.pause(0.05)
