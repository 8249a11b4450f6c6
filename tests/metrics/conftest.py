"""Fixtures for the metrics tests: a hand-filled simulated cluster (world.py), its exporters, and
one real Prometheus per session scraping them every second."""
from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from world import World, wait_until  # noqa: E402

from kubewatch_ml.sim.exporters import ExporterServer  # noqa: E402
from kubewatch_ml.sim.prometheus_server import PrometheusServer, find_prometheus_binary  # noqa: E402


def need_prometheus() -> str:
    """The prometheus binary; FAIL under CI when it is missing, skip otherwise."""
    path = find_prometheus_binary()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("prometheus is required under CI but not installed (apt-get install prometheus)")
        pytest.skip("prometheus not installed")
    return path


@pytest.fixture
def world():
    w = World()
    yield w
    w.stop()


@pytest.fixture
def exporters(world):
    with ExporterServer(world.store, world.telemetry) as exp:
        yield exp


class PromEnv:
    def __init__(self, world: World, exp: ExporterServer, prom: PrometheusServer):
        self.world, self.exp, self.prom = world, exp, prom


@pytest.fixture(scope="session")
def prom_env(tmp_path_factory):
    binary = need_prometheus()
    w = World()
    w.start_ticking(0.1)
    exp = ExporterServer(w.store, w.telemetry).start()
    prom = PrometheusServer(exp.urls, tmp_path_factory.mktemp("prom"), scrape_interval=1, binary=binary)
    try:
        prom.start()
        assert prom.wait_for_targets(30), "Prometheus never saw every exporter up"
        # irate and the recording rules need two scrapes and one rule evaluation
        assert wait_until(lambda: len(prom.query("node_namespace_pod_container:container_cpu_usage_seconds_total:sum_rate5m")) == 4
                          and len(prom.query('irate(container_cpu_usage_seconds_total{container!=""}[5m])')) == 4, 30)
        yield PromEnv(w, exp, prom)
    finally:
        prom.stop()
        exp.stop()
        w.stop()
