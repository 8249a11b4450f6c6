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
