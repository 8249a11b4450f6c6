"""The generated Prometheus config and the shipped mixin rules are valid for the real promtool."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from kubewatch_ml.sim.prometheus_server import JOBS, write_config


def need_promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is required under CI but not installed (apt-get install prometheus)")
        pytest.skip("promtool not installed")
    return path


def test_config_and_rules_pass_promtool(tmp_path):
    promtool = need_promtool()
    targets = {"kube-state-metrics": "http://127.0.0.1:8080/metrics", "dcgm": "http://127.0.0.1:9400/metrics",
               "kubelet": "http://127.0.0.1:10250"}
    cfg = write_config(targets, tmp_path, scrape_interval=1)
    r = subprocess.run([promtool, "check", "config", str(cfg)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "4 rules found" in r.stdout + r.stderr  # the mixin rules came along
    doc = json.loads(cfg.read_text())
    jobs = {c["job_name"]: (c["metrics_path"], c["static_configs"][0]["targets"]) for c in doc["scrape_configs"]}
    assert jobs == {"kube-state-metrics": ("/metrics", ["127.0.0.1:8080"]), "dcgm-exporter": ("/metrics", ["127.0.0.1:9400"]),
                    "kubelet": ("/metrics/probes", ["127.0.0.1:10250"]), "cadvisor": ("/metrics/cadvisor", ["127.0.0.1:10250"])}
    assert doc["global"]["scrape_interval"] == "1s"
    assert set(JOBS) >= set(targets)


def test_backfilled_history_joins_live_scrapes(world, exporters, tmp_path):
    """The demo's backfill: 30 min of history at once, on the very series the live scrapes extend."""
    import time

    from metrics_support import need_prometheus
    from world import wait_until

    from kubewatch_ml.sim.prometheus_server import PrometheusServer
    from kubewatch_ml.sources.prometheus import PrometheusMetrics
    need_promtool()
    prom = PrometheusServer(exporters.urls, tmp_path, scrape_interval=1, binary=need_prometheus(),
                            backfill_seconds=1800, backfill_step=30).start()
    try:
        assert prom.backfill_note.startswith("backfilled ")
        assert prom.wait_for_targets(30)
        world.set_hpa(3, 3)  # a live change after the backfilled (2, 3)
        pm = PrometheusMetrics(prom.url, history_step=30)
        try:
            m = wait_until(lambda: (lambda m: m if m.hpa_history[("llm-prod", "infer")].current[-1] == 3 else None)(
                pm.fetch(time.time())), 15)
            assert m, "the live HPA change never showed"
            h = m.hpa_history[("llm-prod", "infer")]
            assert h.times[-1] - h.times[0] >= 1700 and h.current[0] == 2  # history from the backfill...
            assert len(prom.query("kube_horizontalpodautoscaler_status_current_replicas[1h]")) == 1  # ...one series, not two
            # a full 30-min window: the allocated GPU at 1% is idle from the start, the busy ones are not
            assert m.area("gpu").ok and m.area("gpu").reason == ""
            assert sorted((g.node, g.gpu) for g in m.gpus if g.idle) == [("gpu-a-1", "2")]
            cover = pm.instant("gpu_util_coverage_30m")
            assert len(cover) == 10 and all(v >= 0.95 for _, v in cover)
        finally:
            pm.close()
    finally:
        prom.stop()
