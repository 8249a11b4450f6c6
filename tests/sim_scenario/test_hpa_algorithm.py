"""The simulator's HPA controller against the documented cases (metrics.md section 5; kubernetes
horizontal.go / replica_calculator.go)."""
from kubewatch_ml.sim.hpa_controller import (
    History, HpaSpec, MetricTarget, Policy, Reading, Rules, decide, spec_from_object,
)

CPU50 = MetricTarget("Resource", "cpu", "Utilization", 50.0)
RPS = MetricTarget("Pods", "inference_requests_per_second", "AverageValue", 100.0)


def cpu(util_pct: float, pods: int, request: float = 1.0, **kw) -> Reading:
    return Reading(usage=util_pct / 100.0 * request * pods, ready=pods, request=request, **kw)


def cond(d, type_):
    return next(c for c in d.conditions if c.type == type_)


def test_four_replicas_at_100_percent_with_50_target_become_eight():
    d = decide(HpaSpec(1, 20, (CPU50,)), 4, [cpu(100, 4)], History(), 1000.0)
    assert d.desired == 8 and d.rescale
    assert cond(d, "AbleToScale").reason == "SucceededRescale"
    assert cond(d, "ScalingActive").reason == "ValidMetricFound"
    assert cond(d, "ScalingLimited").reason == "DesiredWithinRange"
    assert d.current_metrics[0][1] == 100.0
    assert "above target" in d.reason


def test_within_tolerance_is_unchanged():
    for util in (46, 50, 54.9):
        d = decide(HpaSpec(1, 20, (CPU50,)), 4, [cpu(util, 4)], History(), 1000.0)
        assert d.desired == 4 and not d.rescale, util
    d = decide(HpaSpec(1, 20, (CPU50,)), 4, [cpu(56, 4)], History(), 1000.0)
    assert d.desired == 5  # ratio 1.12 leaves the tolerance


def test_scale_down_held_by_the_300s_window_then_allowed():
    spec = HpaSpec(1, 20, (CPU50,))
    d1 = decide(spec, 8, [cpu(50, 8)], History(), 1000.0)  # recommendation 8 recorded
    assert d1.desired == 8
    d2 = decide(spec, 8, [cpu(10, 8)], d1.history, 1100.0)  # wants 2, window still holds 8
    assert d2.desired == 8 and not d2.rescale
    assert cond(d2, "AbleToScale").reason == "ScaleDownStabilized"
    d3 = decide(spec, 8, [cpu(10, 8)], d2.history, 1301.0)  # 8 is older than 300 s now
    assert d3.desired == 2 and d3.rescale


def test_max_caps_with_too_many_replicas():
    d = decide(HpaSpec(2, 6, (CPU50,)), 5, [cpu(200, 5)], History(), 1000.0)
    assert d.desired == 6
    lim = cond(d, "ScalingLimited")
    assert (lim.status, lim.reason) == ("True", "TooManyReplicas")


def test_min_clamp_too_few_replicas():
    spec = HpaSpec(3, 10, (CPU50,))
    d = decide(spec, 3, [cpu(5, 3)], History(), 1000.0)
    assert d.desired == 3
    assert cond(d, "ScalingLimited").reason == "TooFewReplicas"


def test_scale_up_without_behavior_limited_to_double_or_four():
    d = decide(HpaSpec(1, 100, (CPU50,)), 2, [cpu(500, 2)], History(), 1000.0)
    assert d.desired == 4  # wants 20, max(2*2, 4) = 4
    assert cond(d, "ScalingLimited").reason == "ScaleUpLimit"
    d = decide(HpaSpec(1, 100, (CPU50,)), 10, [cpu(500, 10)], History(), 1000.0)
    assert d.desired == 20


def test_behavior_policy_limits_scale_up_and_counts_recent_events():
    up = Rules(0, "Max", (Policy("Pods", 2, 60),))
    spec = HpaSpec(1, 50, (CPU50,), scale_up=up, scale_down=Rules(300, "Max", (Policy("Percent", 100, 15),)))
    d1 = decide(spec, 4, [cpu(200, 4)], History(), 1000.0)
    assert d1.desired == 6 and cond(d1, "ScalingLimited").reason == "ScaleUpLimit"
    d2 = decide(spec, 6, [cpu(200, 6)], d1.history, 1015.0)  # the 2 added 15 s ago count in the 60 s period
    assert d2.desired == 6 and not d2.rescale
    d3 = decide(spec, 6, [cpu(200, 6)], d2.history, 1061.0)
    assert d3.desired == 8


def test_behavior_select_policy_min_and_disabled():
    pols = (Policy("Pods", 4, 60), Policy("Percent", 100, 60))
    down = Rules(0, "Max", (Policy("Percent", 100, 15),))
    mx = decide(HpaSpec(1, 99, (CPU50,), Rules(0, "Max", pols), down), 10, [cpu(500, 10)], History(), 0.0)
    mn = decide(HpaSpec(1, 99, (CPU50,), Rules(0, "Min", pols), down), 10, [cpu(500, 10)], History(), 0.0)
    off = decide(HpaSpec(1, 99, (CPU50,), Rules(0, "Disabled", pols), down), 10, [cpu(500, 10)], History(), 0.0)
    assert (mx.desired, mn.desired, off.desired) == (20, 14, 10)


def test_behavior_scale_down_percent_policy():
    down = Rules(0, "Max", (Policy("Percent", 10, 60),))
    spec = HpaSpec(1, 100, (CPU50,), Rules(0, "Max", (Policy("Percent", 100, 15),)), down)
    d = decide(spec, 40, [cpu(5, 40)], History(), 0.0)
    assert d.desired == 36  # 10 % per minute
    assert cond(d, "ScalingLimited").reason == "ScaleDownLimit"


def test_missing_metric_blocks_scale_down_but_not_scale_up():
    missing = Reading(None, error_reason="FailedGetPodsMetric",
                      error_message="the HPA was unable to compute the replica count: unable to get metric inference_queue_depth")
    spec = HpaSpec(1, 20, (CPU50, RPS))
    down = decide(spec, 6, [cpu(10, 6), missing], History(), 0.0)
    assert down.desired == 6 and not down.rescale
    sa = cond(down, "ScalingActive")
    assert (sa.status, sa.reason) == ("False", "FailedGetPodsMetric")
    up = decide(spec, 4, [cpu(100, 4), missing], History(), 0.0)
    assert up.desired == 8
    assert cond(up, "ScalingActive").reason == "ValidMetricFound"
    assert up.current_metrics[1][1:] == (None, None)


def test_multiple_metrics_take_the_highest_proposal():
    d = decide(HpaSpec(1, 50, (CPU50, RPS)), 4, [cpu(60, 4), Reading(usage=4 * 300.0, ready=4)], History(), 0.0)
    assert d.desired == 8  # cpu says 5, rps says 12, scale-up limit max(8, 4) = 8
    assert "pods metric inference_requests_per_second" in d.reason


def test_unready_pods_count_as_zero_on_a_scale_up():
    # 4 ready pods at 100 %, 4 not ready: plain ratio 2 -> 8, with the unready at 0 -> ratio 1 -> no change
    d = decide(HpaSpec(1, 50, (CPU50,)), 8, [Reading(usage=4.0, ready=4, unready=4, request=1.0)], History(), 0.0)
    assert d.desired == 8 and not d.rescale


def test_missing_pods_count_as_full_request_on_a_scale_down():
    # 2 pods report 10 %, 2 report nothing: the missing count as 100 % -> ratio (0.2+2)/4/0.5 = 1.1 -> no change
    d = decide(HpaSpec(1, 50, (CPU50,)), 4, [Reading(usage=0.2, ready=2, missing=2, request=1.0)], History(), 0.0)
    assert d.desired == 4


def test_zero_replicas_disables_scaling():
    d = decide(HpaSpec(1, 5, (CPU50,)), 0, [cpu(100, 1)], History(), 0.0)
    assert d.desired == 0 and cond(d, "ScalingActive").reason == "ScalingDisabled"


def test_spec_from_object_reads_v2_metrics_and_behavior_defaults():
    obj = {"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "x", "apiVersion": "apps/v1"},
                    "minReplicas": 2, "maxReplicas": 9,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}},
                                {"type": "Pods", "pods": {"metric": {"name": "inference_requests_per_second"},
                                                          "target": {"type": "AverageValue", "averageValue": "500m"}}}],
                    "behavior": {"scaleDown": {"stabilizationWindowSeconds": 600, "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}}}
    s = spec_from_object(obj)
    assert (s.min_replicas, s.max_replicas) == (2, 9)
    assert s.metrics[0].target == 60.0 and s.metrics[1].target == 0.5
    assert s.scale_down.window == 600 and s.scale_down.policies == (Policy("Pods", 1, 60),)
    assert s.scale_up.window == 0 and s.scale_up.select == "Max" and len(s.scale_up.policies) == 2
