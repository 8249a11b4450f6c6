import orjson

from kubewatch_ml.analysis import analyze
from kubewatch_ml.metrics_snapshot import AREAS, AreaState, GpuSample, MetricsSnapshot
from kubewatch_ml.model import ContainerStatus, Hpa, HpaMetric, ResourceQuota
from kubewatch_ml.snapshot import ClusterSnapshot

from _records import GPU_TOLERATION, node, pod

NOW = 2000.0


def _cluster():
    return ClusterSnapshot.build(
        NOW, nodes=[node("g1", "zone-a", gpu=8, product="A100"), node("c1", "zone-b")],
        pods=[pod("train", "ml-dev", "g1", gpu=2, tolerations=[GPU_TOLERATION]), pod("web", "web-prod", "c1"),
              pod("wait", "ml-dev", phase="Pending", gpu=16, tolerations=[GPU_TOLERATION], created=NOW - 120),
              pod("restarting", "web-prod", "c1", statuses=(ContainerStatus(name="main", ready=True, state="running"),))],
        quotas=[ResourceQuota(uid="q", name="q", namespace="ml-dev", hard={"requests.nvidia.com/gpu": 2},
                              used={"requests.nvidia.com/gpu": 2})],
        hpas=[Hpa(uid="h", name="web", namespace="web-prod", min_replicas=1, max_replicas=4, current_replicas=2,
                  desired_replicas=2, metrics=(HpaMetric("Resource", "cpu", "Utilization", 50.0, 50.0),))],
    )


def test_without_metrics_every_metric_column_is_none_and_explained():
    for metrics in (None, MetricsSnapshot.empty(NOW, "prometheus unreachable")):
        a = analyze(_cluster(), metrics, NOW)
        assert a.gpu_nodes.rows[0].util_avg is None and a.gpu_nodes.total.idle_gpus is None
        assert a.gpu_nodes.note.startswith("unavailable: ")
        assert all(r.cpu_used_cores is None for r in a.quotas.rows if r.pods)
        assert "unavailable" in a.quotas.note and "unavailable" in a.hpas.note
        assert a.overview.gpu_idle is None
        assert all(v.startswith("unavailable: ") for _, v in a.overview.metrics_areas)
        if metrics is not None:
            assert "prometheus unreachable" in a.gpu_nodes.note
        # the views that need no metrics still work
        assert a.quotas.quota_rows[0].level == "fully_used" and a.pending.rows[0].name == "wait"


def test_stale_area_is_reported_and_its_numbers_used():
    areas = {a: AreaState(ok=True) for a in AREAS}
    areas["gpu"] = AreaState(ok=True, stale=True, reason="dcgm timed out, numbers from 09:00")
    m = MetricsSnapshot(taken_at=NOW, areas=areas, gpus=(GpuSample(node="g1", gpu="0", uuid="U0", util=3.0,
                                                                   namespace="ml-dev", pod="train", util_avg_30m=1.0),))
    a = analyze(_cluster(), m, NOW)
    assert dict(a.overview.metrics_areas)["gpu"] == "stale: dcgm timed out, numbers from 09:00"
    assert a.gpu_nodes.note == "stale: dcgm timed out, numbers from 09:00"
    assert a.quotas.note == "gpu usage stale: dcgm timed out, numbers from 09:00"
    assert a.gpu_nodes.total.idle_gpus == 1
    assert [f.name for f in a.findings if f.id == "KW-G001"] == ["train"]


def test_overview_and_json_roundtrip_are_deterministic():
    c = _cluster()
    a, b = analyze(c, None, NOW), analyze(c, None, NOW)
    assert a == b
    o = a.overview
    assert (o.nodes, o.pods, o.pending_pods, o.gpu_allocatable, o.gpu_requested, o.pending_gpu_pods, o.zones) == (2, 4, 1, 8, 2, 1, 2)
    assert o.quotas_over_90 == 1 and o.hpas == 1
    assert o.findings_critical + o.findings_warning + o.findings_info == len(a.findings)
    doc = orjson.loads(orjson.dumps(a.to_dict()))
    assert set(doc) == {"now", "overview", "quotas", "gpu_nodes", "hpas", "probes", "zones", "pending", "findings"}
    assert doc["pending"]["rows"][0]["summary"].startswith("0/2 nodes are available")
    assert doc["hpas"]["rows"][0]["state"] == "healthy"


def test_findings_alone_equal_the_ones_analyze_ranks():
    from kubewatch_ml.analysis import findings
    c = _cluster()
    assert findings(c, None, NOW) == analyze(c, None, NOW).findings
