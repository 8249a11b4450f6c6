import pytest

from kubewatch_ml.analysis import hpa_view
from kubewatch_ml.analysis.hpas import compute_desired, direction_changes_per_hour, replicas_mismatch
from kubewatch_ml.metrics_snapshot import AREAS, AreaState, HpaHistory, MetricsSnapshot
from kubewatch_ml.model import Condition, Hpa, HpaMetric, ScalingRules
from kubewatch_ml.snapshot import ClusterSnapshot

NOW = 10_000.0


def hpa(name="web", current=5, desired=5, mn=2, mx=10, metrics=None, conditions=(), scale_up=ScalingRules()):
    return Hpa(uid=name, name=name, namespace="ml-prod", target_kind="Deployment", target_name=name,
               min_replicas=mn, max_replicas=mx, current_replicas=current, desired_replicas=desired,
               metrics=tuple(metrics if metrics is not None else [HpaMetric("Resource", "cpu", "Utilization", 60.0, 60.0)]),
               conditions=tuple(conditions), scale_up=scale_up)


def cpu(current, target=60.0):
    return HpaMetric("Resource", "cpu", "Utilization", target, current)


def test_formula_ceil_of_ratio_capped_at_max_with_the_reason():
    h = hpa(current=5, desired=6, mx=6, metrics=[cpu(92.0)],
            conditions=[Condition("ScalingLimited", "True", "TooManyReplicas")])
    desired, why, raw = compute_desired(h)
    assert raw == 8  # ceil(5 * 92/60) = ceil(7.67)
    assert desired == 6
    assert why == "cpu 92% vs target 60% -> 8, capped at max 6 (ScalingLimited TooManyReplicas)"


def test_within_tolerance_keeps_current():
    assert compute_desired(hpa(current=5, metrics=[cpu(65.0)]))[0] == 5  # 65/60 = 1.083, within 0.1
    assert compute_desired(hpa(current=5, metrics=[cpu(67.0)]))[0] == 6  # 1.117: ceil(5.58)


def test_highest_metric_proposal_wins_and_min_clamps():
    h = hpa(current=4, metrics=[cpu(30.0), HpaMetric("Pods", "queue_depth", "AverageValue", 10.0, 25.0)])
    desired, why, _ = compute_desired(h)
    assert desired == 10  # cpu -> 2, queue -> ceil(4 * 2.5) = 10
    assert why.startswith("queue_depth 25 vs target 10 -> 10")
    assert compute_desired(hpa(current=4, mn=3, metrics=[cpu(15.0)]))[0] == 3  # ceil(1) raised to min 3


def test_missing_metric_blocks_scale_down_and_makes_it_blind():
    h = hpa(current=6, metrics=[cpu(20.0), HpaMetric("External", "queue", "Value", 100.0, None)])
    desired, why, _ = compute_desired(h)
    assert desired == 6 and "scale-down blocked: queue missing" in why
    row = hpa_view(ClusterSnapshot.build(NOW, hpas=[h]), None, NOW).rows[0]
    assert row.state == "blind"
    assert row.metrics[1].current is None and row.metrics[1].proposal is None


def test_scale_up_limit_without_behavior():
    h = hpa(current=2, mx=50, metrics=[cpu(600.0)], scale_up=None)
    assert compute_desired(h)[0] == 4  # ceil(2 * 10) = 20, limited to max(2*2, 4)


def test_states():
    rows = {r.name: r for r in hpa_view(ClusterSnapshot.build(NOW, hpas=[
        hpa("maxed", current=10, desired=10, mx=10, metrics=[cpu(95.0)]),
        hpa("fixed", current=3, desired=3, mn=3, mx=3, metrics=[cpu(95.0)]),  # max == min: not maxed out
        hpa("inactive", conditions=[Condition("ScalingActive", "False", "FailedGetResourceMetric")]),
        hpa("atmin", current=2, desired=2, mn=2, metrics=[cpu(10.0)]),
        hpa("fine", current=5, desired=5, metrics=[cpu(61.0)]),
        hpa("moving", current=5, desired=7, metrics=[cpu(84.0)]),
    ]), None, NOW).rows}
    assert rows["maxed"].state == "maxed_out"
    assert rows["fixed"].state != "maxed_out"
    assert rows["inactive"].state == "blind"
    assert rows["atmin"].state == "pinned_at_min"
    assert rows["fine"].state == "healthy" and rows["fine"].computed_desired == 5
    assert rows["moving"].state == "unknown"  # desired != current, no history to tell for how long
    assert list(rows)[0] == "inactive"  # blind first


def _hist(current, desired, step=60.0, end=NOW):
    n = len(current)
    return HpaHistory(times=tuple(end - step * (n - 1 - i) for i in range(n)), current=tuple(map(float, current)),
                      desired=tuple(map(float, desired)))


def test_mismatch_needs_current_unchanged_over_15_minutes():
    h = hpa(current=5, desired=7)
    steady = _hist([5] * 20, [7] * 20)  # 19 minutes of history, current constant
    assert replicas_mismatch(h, steady, NOW) is True
    changed = _hist([4] * 10 + [5] * 10, [7] * 20)  # current changed 9 minutes ago
    assert replicas_mismatch(h, changed, NOW) is False
    short = _hist([5] * 5, [7] * 5)  # 4 minutes: cannot tell
    assert replicas_mismatch(h, short, NOW) is None
    assert replicas_mismatch(h, None, NOW) is None
    assert replicas_mismatch(hpa(current=10, desired=12, mx=10), steady, NOW) is False  # at max: not the alert's case
    assert replicas_mismatch(hpa(current=2, desired=1, mn=2), steady, NOW) is False  # at min


def test_mismatch_and_flapping_from_history_in_the_view():
    ok = {a: AreaState(ok=True) for a in AREAS}
    flappy = [3, 5, 3, 5, 3, 5, 3, 5, 3, 5, 3]  # 9 direction changes over 50 min
    m = MetricsSnapshot(taken_at=NOW, areas=ok, hpa_history={
        ("ml-prod", "stuck"): _hist([5] * 20, [7] * 20),
        ("ml-prod", "flappy"): _hist(flappy, flappy, step=300.0),
    })
    rows = {r.name: r for r in hpa_view(ClusterSnapshot.build(NOW, hpas=[hpa("stuck", current=5, desired=7), hpa("flappy")]), m, NOW).rows}
    assert rows["stuck"].state == "mismatch"
    assert rows["stuck"].mismatch_for_s == pytest.approx(19 * 60)
    assert rows["flappy"].state == "flapping"
    assert rows["flappy"].direction_changes_per_hour == pytest.approx(9 * 3600 / 3000)
    assert len(rows["stuck"].history_current) == 20


def test_direction_changes_need_enough_history():
    assert direction_changes_per_hour(_hist([1, 2, 1], [1, 2, 1])) is None  # 2 minutes of history
    assert direction_changes_per_hour(_hist([2, 2, 3, 3, 4], [0] * 5, step=600.0)) == 0.0  # only up
