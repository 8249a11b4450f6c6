"""The demo's and `sim --prometheus`'s backfill: the simulator runs through the last 30 minutes while a
real Prometheus's history is written from its exporters, so idle held GPUs show within seconds of
start, computed by the real PromQL over what the simulated cluster really exported."""
from __future__ import annotations

import time

import pytest

from metrics_support import need_prometheus
from test_prometheus_server import need_promtool

from kubewatch_ml.sim.backfill import sim_start, start_prometheus
from kubewatch_ml.sim.cluster import SimCluster
from kubewatch_ml.sources.prometheus import PrometheusMetrics


@pytest.fixture
def backfilled(tmp_path):
    binary = need_prometheus()
    need_promtool()
    t0 = time.monotonic()
    with SimCluster(seed=7, nodes=40, pods=600, speed=1, workdir=str(tmp_path / "sim"),
                    start=sim_start(1, 1800), start_clock=False) as sim:
        prom = start_prometheus(sim, str(tmp_path / "prom"), 1800, scrape_interval=1, binary=binary)
        try:
            yield sim, prom, time.monotonic() - t0
        finally:
            prom.stop()


def test_idle_held_gpus_from_simulated_history_within_seconds(backfilled):
    sim, prom, took = backfilled
    assert prom.backfill_note.startswith("backfilled ") and "(simulated)" in prom.backfill_note, prom.backfill_note
    assert took < 60, f"backfill took {took:.0f}s"
    # the clock ran through the window and now runs live, where it would have stood without a backfill
    assert abs(time.time() - sim.now()) < took + 30
    before = sim.now()
    time.sleep(1.5)
    assert sim.now() > before, "the simulated clock does not run after the backfill"
    assert prom.wait_for_targets(30)
    pm = PrometheusMetrics(prom.url, history_step=30)
    try:
        m = pm.fetch(time.time())
    finally:
        pm.close()
    assert m.area("gpu").ok, m.area("gpu")
    idle = sorted({g.pod.rsplit("-", 1)[0] for g in m.gpus if g.idle})
    # exactly the scenario's planted idle holders (notebooks, the stalled fine-tune), not the busy servers
    planted = sim.planted()["idle_gpu_workloads"]
    assert idle and all(p.startswith("notebook-") or p.startswith("whisper-finetune-3") for p in idle), (idle, planted)
    assert sum(1 for g in m.gpus if g.idle) >= 5
    busy = [g for g in m.gpus if g.allocated and not g.idle and g.util_avg_30m is not None]
    assert busy and all(g.util_avg_30m >= 5 for g in busy)


def test_the_history_is_the_simulation_not_one_state_repeated(backfilled):
    _sim, prom, _took = backfilled
    # before any live scrape: the backfilled window alone (a repeated start state never changes)
    changes = prom.query("sum(changes(DCGM_FI_DEV_GPU_UTIL[20m] offset 2m))")
    assert changes and float(changes[0]["value"][1]) > 100, changes
    cpu = prom.query('sum(increase(container_cpu_usage_seconds_total{job="cadvisor"}[20m] offset 2m))')
    assert cpu and float(cpu[0]["value"][1]) > 0, cpu
    # history and live scrapes are one series per node (the same job/instance labels), not two
    assert prom.wait_for_targets(30)
    series = prom.query("count(count_over_time(kube_node_info[30m]))")
    live = prom.query("count(kube_node_info)")
    assert series and live and series[0]["value"][1] == live[0]["value"][1] == "40"
