import pytest

from kubewatch_ml.analysis import analyze, quota_view
from kubewatch_ml.analysis.models import QuotaLevel
from kubewatch_ml.analysis.quotas import quota_level, quota_unit
from kubewatch_ml.metrics_snapshot import AREAS, AreaState, MetricsSnapshot
from kubewatch_ml.model import Namespace, ResourceQuota
from kubewatch_ml.snapshot import ClusterSnapshot

from _records import GIB, node, pod


@pytest.mark.parametrize("used,hard,level", [
    (90, 100, QuotaLevel.OK),  # 0.9 is not > 0.9
    (91, 100, QuotaLevel.ALMOST_FULL),
    (99, 100, QuotaLevel.ALMOST_FULL),
    (100, 100, QuotaLevel.FULLY_USED),
    (101, 100, QuotaLevel.EXCEEDED),
    (0, 100, QuotaLevel.OK),
    (5, 0, QuotaLevel.NO_LIMIT),  # hard == 0 is excluded by the alerts' `> 0`
])
def test_levels_follow_the_mixin_thresholds(used, hard, level):
    assert quota_level(used, hard)[1] == level


def test_units_by_quota_key():
    assert quota_unit("requests.cpu") == "millicores"
    assert quota_unit("limits.memory") == "bytes"
    assert quota_unit("requests.nvidia.com/gpu") == "count"
    assert quota_unit("pods") == "count"
    assert quota_unit("cpu") == "millicores"


def _cluster():
    quota = ResourceQuota(uid="q1", name="compute", namespace="ml-prod",
                          hard={"requests.cpu": 10_000, "requests.nvidia.com/gpu": 8, "limits.memory": 64 * GIB, "count/jobs": 0},
                          used={"requests.cpu": 9_500, "requests.nvidia.com/gpu": 8, "limits.memory": 70 * GIB, "count/jobs": 3})
    pods = [
        pod("a", "ml-prod", "n1", cpu_m=4000, memory=8 * GIB, gpu=2),
        pod("b", "ml-prod", "n1", cpu_m=4000, memory=8 * GIB),
        pod("done", "ml-prod", "n1", phase="Succeeded", cpu_m=1000, gpu=4),  # finished: not counted
        pod("c", "scratch", "n1", cpu_m=500, memory=GIB),
    ]
    return ClusterSnapshot.build(
        1000.0, nodes=[node("n1", cpu_m=64000, memory=256 * GIB, gpu=8)], pods=pods, quotas=[quota],
        namespaces=[Namespace(name="ml-prod", uid="1"), Namespace(name="scratch", uid="2"), Namespace(name="empty", uid="3")])


def test_quota_rows_ratios_and_levels():
    v = quota_view(_cluster(), None)
    rows = {r.resource: r for r in v.quota_rows}
    assert rows["requests.cpu"].percent == pytest.approx(95.0)
    assert rows["requests.cpu"].level == "almost_full"
    assert rows["requests.nvidia.com/gpu"].level == "fully_used"
    assert rows["limits.memory"].level == "exceeded"
    assert rows["limits.memory"].ratio == pytest.approx(70 / 64)
    assert rows["count/jobs"].level == "no_limit" and rows["count/jobs"].ratio is None
    ns = {r.namespace: r for r in v.rows}
    assert ns["ml-prod"].level == "exceeded" and ns["ml-prod"].prod
    assert ns["ml-prod"].max_ratio == pytest.approx(70 / 64)
    # requests of non-terminated pods only
    assert (ns["ml-prod"].cpu_requested_m, ns["ml-prod"].gpu_requested, ns["ml-prod"].pods) == (8000, 2, 2)
    assert v.rows[0].namespace == "ml-prod"  # worst first
    assert v.without_quota == ("empty", "scratch")


def test_usage_columns_are_none_and_explained_without_metrics():
    v = quota_view(_cluster(), None)
    ns = {r.namespace: r for r in v.rows}["ml-prod"]
    assert ns.cpu_used_cores is None and ns.cpu_idle_reserved_m is None and ns.gpus_idle is None
    assert "unavailable" in v.note


def test_reserved_but_idle_from_usage_metrics():
    ok = {a: AreaState(ok=True) for a in AREAS}
    m = MetricsSnapshot(taken_at=1000.0, areas=ok, namespace_cpu={"ml-prod": 2.0}, namespace_memory={"ml-prod": 4 * GIB})
    v = quota_view(_cluster(), m)
    ns = {r.namespace: r for r in v.rows}
    assert ns["ml-prod"].cpu_used_cores == 2.0
    assert ns["ml-prod"].cpu_idle_reserved_m == 6000  # 8000m requested - 2000m used
    assert ns["ml-prod"].cpu_usage_ratio == pytest.approx(0.25)
    assert ns["ml-prod"].memory_idle_reserved == 12 * GIB
    assert ns["scratch"].cpu_used_cores is None  # pods run there but no sample: unknown, not 0
    assert ns["empty"].cpu_used_cores == 0.0  # nothing runs there
    assert v.note == ""


def test_quota_findings_fire_per_quota_resource_like_the_alerts():
    a = analyze(_cluster(), None, 1000.0)
    got = {(f.id, f.alert, f.kind, f.namespace, f.name, f.key) for f in a.findings if f.id in ("KW-Q002", "KW-Q003", "KW-Q004")}
    assert got == {
        ("KW-Q002", "KubeQuotaAlmostFull", "ResourceQuota", "ml-prod", "compute", "KW-Q002/ResourceQuota/ml-prod/compute/requests.cpu"),
        ("KW-Q003", "KubeQuotaFullyUsed", "ResourceQuota", "ml-prod", "compute",
         "KW-Q003/ResourceQuota/ml-prod/compute/requests.nvidia.com/gpu"),
        ("KW-Q004", "KubeQuotaExceeded", "ResourceQuota", "ml-prod", "compute", "KW-Q004/ResourceQuota/ml-prod/compute/limits.memory"),
    }
    no_quota = {f.name for f in a.findings if f.id == "KW-Q001"}
    assert no_quota == {"scratch"}  # "empty" has no pods
