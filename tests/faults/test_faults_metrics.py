"""Metrics faults through the dashboard: exporters serving torn text or down (direct scrape) and a
Prometheus that is down, slow or answering errors (the simulator's fault proxy in front of a real
Prometheus). The app keeps running, says which metrics are stale or missing and why, and recovers."""
from __future__ import annotations

import asyncio
import os

import pytest

from faults_support import faults, live_feed, screen_text, status_line, until
from kubewatch_ml.app import KubewatchApp
from kubewatch_ml.settings import MetricsOptions
from kubewatch_ml.sim.faults import PrometheusFaultProxy
from kubewatch_ml.sim.prometheus_server import PrometheusServer, find_prometheus_binary
from kubewatch_ml.sources.metrics import open_metrics


def _areas(feed) -> dict:
    f = feed._metrics  # the last MetricsSnapshot the feed handed to frames
    return dict(f.areas) if f is not None else {}


def _direct(sim, timeout=1.0):
    u = sim.exporter_urls
    return open_metrics(MetricsOptions(no_prometheus=True, kube_state_metrics_url=u["kube-state-metrics"],
                                       dcgm_url=u["dcgm"], kubelet_urls=(u["kubelet"],), scrape_timeout=timeout),
                        stale_after=600)


async def _with_app(sim, metrics, body):
    feed = live_feed(sim, metrics=metrics, refresh_seconds=0.3)
    app = KubewatchApp(feed)
    try:
        async with app.run_test(size=(200, 30)) as pilot:
            await until(pilot, lambda: app.main_screen is not None and app.main_screen.latest is not None,
                        what="the first frame")
            await body(pilot, app, feed)
    finally:
        feed.conn.close()


def test_malformed_and_down_exporters_are_named_and_recover(sim):
    async def body(pilot, app, feed):
        await until(pilot, lambda: _areas(feed) and all(a.ok and not a.stale for a in _areas(feed).values()),
                    what="every metrics area ok")
        await until(pilot, lambda: "metrics ● " in status_line(app) and "[" not in status_line(app).split("metrics")[1],
                    what="metrics ok in the status line")
        faults(sim, "exporter-malformed=dcgm")
        await until(pilot, lambda: _areas(feed)["gpu"].stale, what="gpu area stale")
        gpu = _areas(feed)["gpu"]
        assert "malformed" in gpu.reason and "\n" not in gpu.reason and gpu.fetched_at > 0
        assert all(a.ok and not a.stale for k, a in _areas(feed).items() if k not in ("gpu",)), _areas(feed)
        await until(pilot, lambda: "[stale]" in status_line(app), what="[stale] in the status line")
        await pilot.press("3")  # the GPU view says its utilisation columns are stale, and why
        await until(pilot, lambda: app.active_view == "gpus" and "stale: dcgm" in screen_text(app)
                    and "malformed" in screen_text(app), what="the GPU view naming the stale dcgm data")
        faults(sim, "none,exporter-down=ksm")
        await until(pilot, lambda: not _areas(feed)["gpu"].stale and (_areas(feed)["quota"].stale
                                                                        or not _areas(feed)["quota"].ok),
                    what="gpu back, quota stale")
        assert "kube-state-metrics" in _areas(feed)["quota"].reason
        faults(sim, clear=True)
        await until(pilot, lambda: all(a.ok and not a.stale for a in _areas(feed).values()), what="all ok again")
        await until(pilot, lambda: "[" not in status_line(app).split("metrics")[1], what="status line ok again")
    asyncio.run(_with_app(sim, _direct(sim), body))


def _need_prometheus() -> str:
    path = find_prometheus_binary()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("prometheus is required under CI but not installed (apt-get install prometheus)")
        pytest.skip("prometheus not installed")
    return path


@pytest.fixture
def prom_proxy(sim, tmp_path):
    binary = _need_prometheus()
    prom = PrometheusServer(sim.exporter_urls, tmp_path / "prom", scrape_interval=1, binary=binary, with_rules=False)
    prom.start()
    proxy = PrometheusFaultProxy(prom.url).start()
    sim.faults.prometheus = proxy  # the admin endpoint can now switch prometheus-* faults
    try:
        assert prom.wait_for_targets(30), "Prometheus never saw the exporters up"
        yield proxy
    finally:
        sim.faults.prometheus = None
        proxy.stop()
        prom.stop()


def test_prometheus_down_slow_and_erroring_are_named_and_recover(sim, prom_proxy):
    metrics = open_metrics(MetricsOptions(prometheus_url=prom_proxy.url, query_timeout=1.0),
                           history_seconds=60, history_step=5)

    async def body(pilot, app, feed):
        await until(pilot, lambda: _areas(feed).get("ksm") is not None and _areas(feed)["ksm"].ok
                    and not _areas(feed)["ksm"].stale, timeout=30, what="prometheus answering")
        for spec, says in (("prometheus-down", ("closed", "refused", "reset", "aborted", "disconnected")),
                           ("prometheus-error=503", ("503",)),
                           ("prometheus-slow=2.5", ("timed out",))):
            faults(sim, spec)
            await until(pilot, lambda: all(a.stale or not a.ok for a in _areas(feed).values()), timeout=30,
                        what=f"every area stale under {spec}")
            reasons = {a.reason for a in _areas(feed).values()}
            assert any(any(w in r.lower() for w in says) for r in reasons), (spec, reasons)
            assert all("\n" not in r and r for r in reasons)
            await until(pilot, lambda: "[stale]" in status_line(app) or "[unavailable]" in status_line(app),
                        what=f"status line under {spec}")
            faults(sim, clear=True)
            await until(pilot, lambda: all(a.ok and not a.stale for a in _areas(feed).values()), timeout=30,
                        what=f"recovery after {spec}")
        assert prom_proxy.requests > 0
    asyncio.run(_with_app(sim, metrics, body))
