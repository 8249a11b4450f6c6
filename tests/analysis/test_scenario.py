"""analyze() on the simulated ML cluster, read over HTTP like any cluster: what the scenario planted
(kubewatch_ml/sim/scenario.py) must be found."""
from __future__ import annotations

import pytest

from kubewatch_ml.analysis import analyze
from kubewatch_ml.settings import KubeOptions, MetricsOptions
from kubewatch_ml.sim import scenario as planted  # the names of the planted cases only
from kubewatch_ml.sim.cluster import SimCluster
from kubewatch_ml.sources.kube import connect
from kubewatch_ml.sources.metrics import open_metrics
from kubewatch_ml.store import load_snapshot


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    with SimCluster(seed=7, nodes=40, pods=600, workdir=tmp_path_factory.mktemp("sim"), start_clock=False) as sim:
        conn = connect(KubeOptions(kubeconfig=str(sim.kubeconfig_path)))
        try:
            cluster = load_snapshot(conn)
            urls = sim.exporter_urls
            opts = MetricsOptions(no_prometheus=True, kube_state_metrics_url=urls["kube-state-metrics"],
                                  dcgm_url=urls["dcgm"], kubelet_urls=tuple(u for u in [urls.get("kubelet")] if u))
            source = open_metrics(opts, conn, idle_window=0.0)  # one scrape stands for the 30-minute window
            try:
                metrics = source.fetch(cluster.taken_at)
            finally:
                source.close()
        finally:
            conn.close()
    return cluster, metrics, analyze(cluster, metrics, cluster.taken_at)


def _found(a, fid):
    return {(f.namespace, f.name) for f in a.findings if f.id == fid}


def test_quota_pressure_and_namespace_without_quota(result):
    _, _, a = result
    ns, res = planted.QUOTA_NEAR_FULL
    row = next(r for r in a.quotas.quota_rows if r.namespace == ns and r.resource == res)
    assert row.ratio is not None and row.ratio > 0.9
    ns_x, res_x = planted.QUOTA_EXCEEDED
    row_x = next(r for r in a.quotas.quota_rows if r.namespace == ns_x and r.resource == res_x)
    assert row_x.level == "exceeded"
    assert any(f.id == "KW-Q004" and f.namespace == ns_x and f.key.endswith(res_x) for f in a.findings)
    assert planted.NAMESPACE_WITHOUT_QUOTA in a.quotas.without_quota
    assert ("", planted.NAMESPACE_WITHOUT_QUOTA) in _found(a, "KW-Q001")


def test_hpas_maxed_out_and_blind(result):
    _, _, a = result
    hpas = {(h.namespace, h.name): h for h in a.hpas.rows}
    assert "maxed_out" in hpas[planted.MAXED_HPA].states
    assert planted.MAXED_HPA in _found(a, "KW-H001")
    assert hpas[planted.BLIND_HPA].state == "blind"
    assert planted.BLIND_HPA in _found(a, "KW-H003")


def test_crash_loops_and_probe_failures(result):
    _, _, a = result
    loops = [r for r in a.probes.containers if r.crashloop]
    assert any(r.namespace == "platform" and r.container == "sync" for r in loops)
    assert any(r.last_term_reason == "OOMKilled" for r in loops)
    assert {(r.namespace, r.pod) for r in loops} <= _found(a, "KW-P001")
    assert any(r.failing for r in a.probes.containers)  # the planted liveness failure


def test_single_zone_and_single_replica_prod_services(result):
    _, _, a = result
    for ns, name in planted.SINGLE_ZONE_SERVICES:
        assert f"Deployment/{ns}/{name}" in a.zones.single_zone
        assert (ns, name) in _found(a, "KW-W002")
    assert planted.SINGLE_REPLICA_SERVICE in _found(a, "KW-W001")


def test_pending_gpu_pods_with_their_reasons(result):
    _, _, a = result
    assert any(r.wants_gpu for r in a.pending.rows), "the planted Pending GPU pods are missing"
    debug = next(r for r in a.pending.rows if r.name == "gpu-debug")
    assert any("untolerated taint {nvidia.com/gpu: present}" in x.reason for x in debug.reasons)
    bench = next(r for r in a.pending.rows if r.name.startswith("tts-b200-benchmark"))
    assert bench.fit_count == 0 and any("node affinity/selector" in x.reason for x in bench.reasons)
    big = [r for r in a.pending.rows if r.name.startswith("llm-finetune-70b")]
    assert big and all(r.fit_count == 0 and r.gpu == 8 for r in big)
    for r in (debug, bench, *big):
        assert r.summary.startswith(f"0/{a.overview.nodes} nodes are available: ")
        # computed from the records alone, the summary reads exactly like the scheduler's own FitError
        assert r.summary == r.scheduler_message.split(" preemption:")[0]
    assert {(r.namespace, r.name) for r in (debug, bench, *big)} <= _found(a, "KW-G004")


def test_not_ready_and_cordoned_nodes(result):
    cluster, _, a = result
    not_ready = [n.name for n in cluster.nodes.values() if n.ready != "True"]
    cordoned = [n.name for n in cluster.nodes.values() if n.unschedulable]
    assert not_ready and cordoned
    assert {("", n) for n in not_ready if n not in cordoned} == _found(a, "KW-N001")
    assert {("", n) for n in cordoned} == _found(a, "KW-N002")
    gpu_rows = {r.node: r for r in a.gpu_nodes.rows}
    assert any(gpu_rows[n].cordoned for n in cordoned if n in gpu_rows)


def test_idle_gpus_with_metrics(result):
    _, metrics, a = result
    assert metrics.area("gpu").ok, metrics.area("gpu").reason
    assert a.gpu_nodes.total.idle_gpus and a.gpu_nodes.total.idle_gpus > 0
    idle_holders = {(f.namespace, f.name) for f in a.findings if f.id == "KW-G001"}
    assert any(name.startswith("notebook-") for _, name in idle_holders)


def test_every_row_and_finding_key_is_unique(result):
    _, _, a = result
    for rows in (a.quotas.rows, a.quotas.quota_rows, a.gpu_nodes.rows, a.hpas.rows, a.probes.rows, a.probes.containers,
                 a.zones.rows, a.zones.workloads, a.zones.losses, a.pending.rows, a.findings):
        keys = [r.key for r in rows]
        assert len(keys) == len(set(keys)) and all(keys)
