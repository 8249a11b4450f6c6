"""The HorizontalPodAutoscaler controller's decision, as a pure function.

Follows kubernetes pkg/controller/podautoscaler (horizontal.go, replica_calculator.go) v1.32:
ratio with a 0.1 tolerance, unready pods set aside for CPU, missing metrics counted as 100 % of the
request on a scale-down and 0 on a scale-up with the direction re-check, the highest proposal over
several metrics, a failed metric blocking scale-down, the 300 s scale-down stabilisation window
(max of recent recommendations), scale-up limited to max(2 x current, 4) without `behavior`, behavior
policies (Pods / Percent per period, selectPolicy Max / Min / Disabled), min/max clamps, and the
AbleToScale / ScalingActive / ScalingLimited conditions with the controller's reasons and messages.

`decide(spec, current, readings, history, now)` returns a Decision with the new history; nothing is
mutated and the clock is a parameter, so documented cases are plain unit tests.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

TOLERANCE = 0.1
DOWNSCALE_WINDOW = 300  # --horizontal-pod-autoscaler-downscale-stabilization
MAX_INT32 = 2 ** 31 - 1


@dataclass(frozen=True)
class Policy:
    type: str  # Pods | Percent
    value: int
    period_seconds: int


@dataclass(frozen=True)
class Rules:
    window: int
    select: str  # Max | Min | Disabled
    policies: tuple[Policy, ...]


DEFAULT_SCALE_UP = Rules(0, "Max", (Policy("Pods", 4, 15), Policy("Percent", 100, 15)))
DEFAULT_SCALE_DOWN = Rules(DOWNSCALE_WINDOW, "Max", (Policy("Percent", 100, 15),))


@dataclass(frozen=True)
class MetricTarget:
    kind: str  # Resource | Pods | Object | External | ContainerResource
    name: str  # "cpu" / "memory" or the metric name
    target_type: str  # Utilization | AverageValue | Value
    target: float  # % for Utilization, else the value (cores for cpu AverageValue)


@dataclass(frozen=True)
class HpaSpec:
    min_replicas: int
    max_replicas: int
    metrics: tuple[MetricTarget, ...]
    scale_up: Rules | None = None  # None with scale_down None: no `behavior`
    scale_down: Rules | None = None

    @property
    def has_behavior(self) -> bool:
        return self.scale_up is not None or self.scale_down is not None


@dataclass(frozen=True)
class Reading:
    """What the metrics API returned for one spec metric over the target's pods.
    usage None: the metric could not be fetched at all (the condition's reason says why)."""

    usage: float | None  # sum over the pods that have a reading (cores for cpu, metric units otherwise)
    ready: int = 0  # ready pods with a reading
    unready: int = 0  # pods not ready yet (CPU: set aside; count as 0 on a scale-up)
    missing: int = 0  # pods without a reading
    request: float = 0.0  # per-pod request (Resource metrics), same unit as usage
    error_reason: str = ""  # e.g. FailedGetPodsMetric
    error_message: str = ""


@dataclass(frozen=True)
class History:
    """What the controller remembers between syncs for one HPA."""

    recommendations: tuple[tuple[float, int], ...] = ()  # (timestamp, recommendation)
    scale_up_events: tuple[tuple[float, int], ...] = ()  # (timestamp, replicas added)
    scale_down_events: tuple[tuple[float, int], ...] = ()


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str
    message: str


@dataclass(frozen=True)
class Decision:
    desired: int
    rescale: bool
    conditions: tuple[Condition, ...]
    current_metrics: tuple[tuple[MetricTarget, float | None, float | None], ...]  # (target, utilization %, average value)
    history: History
    reason: str = ""  # for the SuccessfulRescale event: "cpu resource utilization (percentage of request) above target"


# --- replica calculator -------------------------------------------------------------------------
def _proposal(target: MetricTarget, current: int, r: Reading) -> tuple[int, float | None, float | None]:
    """(replica proposal, utilization %, average value) for one healthy metric."""
    resource = target.kind in ("Resource", "ContainerResource")
    util_type = target.target_type == "Utilization"
    if target.target_type == "Value":  # Object/External Value: ratio over the whole target
        ratio = (r.usage or 0.0) / target.target if target.target else 0.0
        if abs(1.0 - ratio) <= TOLERANCE:
            return current, None, r.usage
        return math.ceil(ratio * current), None, r.usage

    def ratio_of(usage_sum: float, pods: int) -> tuple[float, float]:
        if util_type:
            req = r.request * pods
            util = 100.0 * usage_sum / req if req else 0.0
            return util / target.target, util
        avg = usage_sum / pods if pods else 0.0
        return avg / target.target, avg

    pods_with = r.ready
    usage = r.usage or 0.0
    usage_ratio, shown = ratio_of(usage, pods_with)
    avg_value = usage / pods_with if pods_with else 0.0
    util = shown if util_type else None
    unready = r.unready if resource else 0  # unready pods are set aside only for CPU
    ready_count = pods_with
    scale_up_with_unready = unready > 0 and usage_ratio > 1.0
    if not scale_up_with_unready and r.missing == 0:
        if abs(1.0 - usage_ratio) <= TOLERANCE:
            return current, util, avg_value
        return math.ceil(usage_ratio * ready_count), util, avg_value
    # fill in missing and unready pods, then re-check the direction
    new_usage, pods = usage, pods_with
    if r.missing:
        if usage_ratio < 1.0:
            fallback = max(100.0, target.target) if util_type else target.target
            new_usage += r.missing * (r.request * fallback / 100.0 if util_type else fallback)
        pods += r.missing
    if scale_up_with_unready:
        pods += unready
    new_ratio, _ = ratio_of(new_usage, pods)
    if abs(1.0 - new_ratio) <= TOLERANCE or (usage_ratio < 1.0 < new_ratio) or (usage_ratio > 1.0 > new_ratio):
        return current, util, avg_value
    proposal = math.ceil(new_ratio * pods)
    if (new_ratio < 1.0 and proposal > current) or (new_ratio > 1.0 and proposal < current):
        return current, util, avg_value
    return proposal, util, avg_value


def _metric_label(t: MetricTarget) -> str:
    if t.kind in ("Resource", "ContainerResource"):
        if t.target_type == "Utilization":
            return f"{t.name} resource utilization (percentage of request)"
        return f"{t.name} resource"
    return {"Pods": "pods metric", "Object": "object metric", "External": "external metric"}.get(t.kind, "metric") + f" {t.name}"


# --- stabilisation and rate limits --------------------------------------------------------------
def _change_in_period(events: tuple[tuple[float, int], ...], period: int, now: float) -> int:
    cutoff = now - period
    return sum(n for ts, n in events if ts > cutoff)


def _scale_up_limit(current: int, h: History, rules: Rules, now: float) -> int:
    if rules.select == "Disabled":
        return current
    result = MAX_INT32 if rules.select == "Min" else -MAX_INT32
    pick = min if rules.select == "Min" else max
    for p in rules.policies:
        start = current - _change_in_period(h.scale_up_events, p.period_seconds, now) \
            + _change_in_period(h.scale_down_events, p.period_seconds, now)
        proposed = start + p.value if p.type == "Pods" else math.ceil(start * (1 + p.value / 100.0))
        result = pick(result, proposed)
    return result


def _scale_down_limit(current: int, h: History, rules: Rules, now: float) -> int:
    if rules.select == "Disabled":
        return current
    result = -MAX_INT32 if rules.select == "Min" else MAX_INT32
    pick = max if rules.select == "Min" else min
    for p in rules.policies:
        start = current - _change_in_period(h.scale_up_events, p.period_seconds, now) \
            + _change_in_period(h.scale_down_events, p.period_seconds, now)
        proposed = start - p.value if p.type == "Pods" else int(start * (1 - p.value / 100.0))
        result = pick(result, proposed)
    return result


def _record(recs: tuple[tuple[float, int], ...], rec: int, now: float, keep: float) -> tuple[tuple[float, int], ...]:
    """Replace one sample older than `keep` seconds (as the controller does) or append."""
    cutoff = now - keep
    out = list(recs)
    for i, (ts, _) in enumerate(out):
        if ts < cutoff:
            out[i] = (now, rec)
            return tuple(out)
    out.append((now, rec))
    return tuple(out)


def _normalize(spec: HpaSpec, current: int, proposed: int, h: History, now: float,
               conds: dict[str, Condition]) -> tuple[int, History]:
    """No `behavior`: 300 s window for scale-down, max(2x, 4) for scale-up, then min/max."""
    recommendation = proposed
    cutoff = now - DOWNSCALE_WINDOW
    for ts, rec in h.recommendations:
        if ts >= cutoff and rec > recommendation:
            recommendation = rec
    h = replace(h, recommendations=_record(h.recommendations, proposed, now, DOWNSCALE_WINDOW))
    if recommendation != proposed:
        conds["AbleToScale"] = Condition("AbleToScale", "True", "ScaleDownStabilized",
                                         "recent recommendations were higher than current one, applying the highest recent recommendation")
    else:
        conds["AbleToScale"] = Condition("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")
    up_limit = max(2 * current, 4)
    if spec.max_replicas > up_limit:
        max_allowed, lim_reason, lim_msg = up_limit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
    else:
        max_allowed, lim_reason, lim_msg = spec.max_replicas, "TooManyReplicas", "the desired replica count is more than the maximum replica count"
    if recommendation < spec.min_replicas:
        desired, lim_reason, lim_msg = spec.min_replicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
    elif recommendation > max_allowed:
        desired = max_allowed
    else:
        desired = recommendation
    if desired == recommendation:
        conds["ScalingLimited"] = Condition("ScalingLimited", "False", "DesiredWithinRange", "the desired count is within the acceptable range")
    else:
        conds["ScalingLimited"] = Condition("ScalingLimited", "True", lim_reason, lim_msg)
    return desired, h


def _normalize_with_behavior(spec: HpaSpec, current: int, proposed: int, h: History, now: float,
                             conds: dict[str, Condition]) -> tuple[int, History]:
    up = spec.scale_up or DEFAULT_SCALE_UP
    down = spec.scale_down or DEFAULT_SCALE_DOWN
    if proposed >= current:
        window, better = up.window, min
        reason, msg = "ScaleUpStabilized", "recent recommendations were lower than current one, applying the lowest recent recommendation"
    else:
        window, better = down.window, max
        reason, msg = "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation"
    recommendation = proposed
    cutoff = now - window
    for ts, rec in h.recommendations:
        if ts > cutoff:
            recommendation = better(rec, recommendation)
    h = replace(h, recommendations=_record(h.recommendations, proposed, now, max(up.window, down.window)))
    if recommendation != proposed:
        conds["AbleToScale"] = Condition("AbleToScale", "True", reason, msg)
    else:
        conds["AbleToScale"] = Condition("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")

    desired, lim_reason, lim_msg = recommendation, "DesiredWithinRange", "the desired count is within the acceptable range"
    if recommendation > current:
        limit = max(_scale_up_limit(current, h, up, now), current)
        if spec.max_replicas > limit:
            max_allowed, r_, m_ = limit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
        else:
            max_allowed, r_, m_ = spec.max_replicas, "TooManyReplicas", "the desired replica count is more than the maximum replica count"
        if recommendation > max_allowed:
            desired, lim_reason, lim_msg = max_allowed, r_, m_
    elif recommendation < current:
        limit = min(_scale_down_limit(current, h, down, now), current)
        if spec.min_replicas < limit:
            min_allowed, r_, m_ = limit, "ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate"
        else:
            min_allowed, r_, m_ = spec.min_replicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
        if recommendation < min_allowed:
            desired, lim_reason, lim_msg = min_allowed, r_, m_
    if desired == recommendation:
        conds["ScalingLimited"] = Condition("ScalingLimited", "False", lim_reason, lim_msg)
    else:
        conds["ScalingLimited"] = Condition("ScalingLimited", "True", lim_reason, lim_msg)
    return desired, h


def _prune_events(events: tuple[tuple[float, int], ...], rules: Rules | None, now: float) -> tuple[tuple[float, int], ...]:
    longest = max((p.period_seconds for p in (rules.policies if rules else ())), default=0)
    return tuple(e for e in events if e[0] > now - longest)


# --- the sync -----------------------------------------------------------------------------------
def decide(spec: HpaSpec, current: int, readings: list[Reading] | tuple[Reading, ...], history: History,
           now: float) -> Decision:
    """One HPA sync: `current` is the scale target's spec.replicas; readings align with spec.metrics."""
    conds: dict[str, Condition] = {
        "AbleToScale": Condition("AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale"),
    }
    statuses: list[tuple[MetricTarget, float | None, float | None]] = []
    if current == 0 and spec.min_replicas != 0:
        conds["ScalingActive"] = Condition("ScalingActive", "False", "ScalingDisabled",
                                           "scaling is disabled since the replica count of the target is zero")
        return Decision(0, False, _ordered(conds), (), history)
    if current > spec.max_replicas or current < spec.min_replicas:
        desired = spec.max_replicas if current > spec.max_replicas else spec.min_replicas
        reason = ("Current number of replicas above Spec.MaxReplicas" if current > spec.max_replicas
                  else "Current number of replicas below Spec.MinReplicas")
        conds["ScalingActive"] = Condition("ScalingActive", "True", "ValidMetricFound", "the HPA was able to successfully calculate a replica count")
        conds["AbleToScale"] = Condition("AbleToScale", "True", "SucceededRescale", f"the HPA controller was able to update the target scale to {desired}")
        conds["ScalingLimited"] = Condition("ScalingLimited", "True", "TooManyReplicas" if current > spec.max_replicas else "TooFewReplicas",
                                            "the desired replica count is more than the maximum replica count" if current > spec.max_replicas
                                            else "the desired replica count is less than the minimum replica count")
        h = _with_scale_event(spec, history, current, desired, now)
        return Decision(desired, True, _ordered(conds), (), h, reason)

    best = 0
    best_label = ""
    invalid = 0
    invalid_cond: Condition | None = None
    for target, r in zip(spec.metrics, readings):
        if r.usage is None:
            statuses.append((target, None, None))
            if invalid_cond is None:
                invalid_cond = Condition("ScalingActive", "False", r.error_reason or "FailedGetResourceMetric",
                                         r.error_message or f"the HPA was unable to compute the replica count: unable to get metric {target.name}")
            invalid += 1
            continue
        p, util, avg = _proposal(target, current, r)
        statuses.append((target, util, avg))
        if best == 0 or p > best:
            best, best_label = p, _metric_label(target)
    if invalid >= len(spec.metrics) or (invalid > 0 and best < current):
        conds["ScalingActive"] = invalid_cond or Condition("ScalingActive", "False", "FailedGetResourceMetric", "no metrics")
        return Decision(current, False, _ordered(conds), tuple(statuses), history)
    conds["ScalingActive"] = Condition("ScalingActive", "True", "ValidMetricFound",
                                       f"the HPA was able to successfully calculate a replica count from {best_label}")
    if spec.has_behavior:
        desired, h = _normalize_with_behavior(spec, current, best, history, now, conds)
    else:
        desired, h = _normalize(spec, current, best, history, now, conds)
    rescale = desired != current
    reason = ""
    if rescale:
        conds["AbleToScale"] = Condition("AbleToScale", "True", "SucceededRescale",
                                         f"the HPA controller was able to update the target scale to {desired}")
        reason = f"{best_label} {'above' if desired > current else 'below'} target"
        h = _with_scale_event(spec, h, current, desired, now)
    return Decision(desired, rescale, _ordered(conds), tuple(statuses), h, reason)


def _with_scale_event(spec: HpaSpec, h: History, current: int, desired: int, now: float) -> History:
    if not spec.has_behavior or desired == current:
        return h
    up = spec.scale_up or DEFAULT_SCALE_UP
    down = spec.scale_down or DEFAULT_SCALE_DOWN
    if desired > current:
        return replace(h, scale_up_events=_prune_events(h.scale_up_events, up, now) + ((now, desired - current),))
    return replace(h, scale_down_events=_prune_events(h.scale_down_events, down, now) + ((now, current - desired),))


def _ordered(conds: dict[str, Condition]) -> tuple[Condition, ...]:
    return tuple(conds[k] for k in ("AbleToScale", "ScalingActive", "ScalingLimited") if k in conds)


# --- reading the API object ---------------------------------------------------------------------
def _rules(obj: dict | None, default: Rules) -> Rules:
    if obj is None:
        return default
    window = obj.get("stabilizationWindowSeconds")
    pols = tuple(Policy(p["type"], int(p["value"]), int(p["periodSeconds"])) for p in obj.get("policies") or ())
    return Rules(default.window if window is None else int(window), obj.get("selectPolicy") or "Max",
                 pols or default.policies)


def spec_from_object(hpa: dict[str, Any]) -> HpaSpec:
    """The algorithm's input from an autoscaling/v2 HorizontalPodAutoscaler dict."""
    from .units import parse_quantity
    s = hpa["spec"]
    metrics = []
    for m in s.get("metrics") or ():
        kind = m["type"]
        body = m.get({"Resource": "resource", "ContainerResource": "containerResource", "Pods": "pods",
                      "Object": "object", "External": "external"}[kind], {})
        name = body.get("name") or body.get("metric", {}).get("name", "")
        t = body.get("target", {})
        tt = t.get("type", "Utilization")
        if tt == "Utilization":
            val = float(t.get("averageUtilization", 0))
        elif tt == "AverageValue":
            val = parse_quantity(t.get("averageValue", "0"))
        else:
            val = parse_quantity(t.get("value", "0"))
        metrics.append(MetricTarget(kind, name, tt, val))
    if not metrics:  # the API default: 80 % CPU
        metrics.append(MetricTarget("Resource", "cpu", "Utilization", 80.0))
    b = s.get("behavior")
    up = down = None
    if b is not None:
        up = _rules(b.get("scaleUp"), DEFAULT_SCALE_UP)
        down = _rules(b.get("scaleDown"), DEFAULT_SCALE_DOWN)
    return HpaSpec(int(s.get("minReplicas", 1)), int(s["maxReplicas"]), tuple(metrics), up, down)
