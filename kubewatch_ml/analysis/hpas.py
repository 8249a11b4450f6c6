"""HPA behaviour: state (healthy / maxed out / pinned at min / mismatch / flapping / blind) and the
controller's own desired-replica computation beside the reported one, with a one-line why."""
from __future__ import annotations

import math

from ..metrics_snapshot import HpaHistory, MetricsSnapshot
from ..model import Hpa, HpaMetric
from ..snapshot import ClusterSnapshot
from .areas import area_note, join_notes, kind_unreadable
from .models import ConditionRow, HpaMetricRow, HpaRow, HpaState, HpaView

TOLERANCE = 0.1  # --horizontal-pod-autoscaler-tolerance
MISMATCH_WINDOW_S = 15 * 60  # changes(current[15m]) == 0 in KubeHpaReplicasMismatch
FLAPPING_CHANGES_PER_HOUR = 3.0  # more direction changes per hour than this is flapping
FLAPPING_MIN_SPAN_S = 30 * 60  # history needed before judging flapping
HISTORY_SLACK_S = 60.0  # a sample this close to the window start counts as covering it

_STATE_ORDER = (HpaState.BLIND, HpaState.MAXED_OUT, HpaState.MISMATCH, HpaState.FLAPPING,
                HpaState.UNKNOWN, HpaState.PINNED_AT_MIN)


def _cond(h: Hpa, type_: str):
    return next((c for c in h.conditions if c.type == type_), None)


def _fmt_value(m: HpaMetric, v: float) -> str:
    if m.target_type == "Utilization":
        return f"{v:g}%"
    if m.name == "cpu" and m.type in ("Resource", "ContainerResource"):
        return f"{v:g}m"
    if m.name == "memory" and m.type in ("Resource", "ContainerResource"):
        for unit, size in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
            if v >= size:
                return f"{v / size:.3g}{unit}"
        return f"{v:g}"
    return f"{v:.4g}"


def metric_proposal(m: HpaMetric, current_replicas: int) -> tuple[float | None, int | None]:
    """(ratio, replicas this metric proposes): ceil(current * ratio), unchanged within tolerance."""
    if m.current is None or m.target <= 0:
        return None, None
    ratio = m.current / m.target
    if abs(1.0 - ratio) <= TOLERANCE:
        return ratio, current_replicas
    return ratio, math.ceil(current_replicas * ratio)


def compute_desired(h: Hpa) -> tuple[int | None, str, int | None]:
    """(computed desired after clamping, why, raw proposal before clamping) as the controller would."""
    cur = h.current_replicas
    if cur == 0:
        return None, "scaling disabled: the target has 0 replicas", None
    sa = _cond(h, "ScalingActive")
    proposals: list[tuple[int, HpaMetric, float]] = []
    missing = []
    for m in h.metrics:
        ratio, prop = metric_proposal(m, cur)
        if prop is None:
            missing.append(m.name)
        else:
            proposals.append((prop, m, ratio))  # type: ignore[arg-type]
    if not proposals:
        why = "no metric available" + (f" ({', '.join(missing)} missing)" if missing else "")
        if sa is not None and sa.status == "False":
            why += f"; ScalingActive False {sa.reason}"
        return None, why, None
    prop, m, ratio = max(proposals, key=lambda t: t[0])
    within = abs(1.0 - ratio) <= TOLERANCE
    why = f"{m.name} {_fmt_value(m, m.current)} vs target {_fmt_value(m, m.target)} -> {prop}"  # type: ignore[arg-type]
    if within:
        why += " (within 10% tolerance)"
    raw = prop
    if missing and prop < cur:
        prop = cur
        why += f", scale-down blocked: {', '.join(missing)} missing"
    desired = prop
    if h.scale_up is None and desired > max(2 * cur, 4):
        desired = max(2 * cur, 4)
        why += f", limited to {desired} (ScaleUpLimit: at most max(2x current, 4) per step)"
    lim = _cond(h, "ScalingLimited")
    if desired > h.max_replicas:
        desired = h.max_replicas
        why += f", capped at max {h.max_replicas}" + (f" (ScalingLimited {lim.reason})" if lim and lim.status == "True" else "")
    elif desired < h.min_replicas:
        desired = h.min_replicas
        why += f", raised to min {h.min_replicas}" + (f" (ScalingLimited {lim.reason})" if lim and lim.status == "True" else "")
    if desired < cur and h.desired_replicas == cur:
        why += f"; scale-down held by the stabilization window ({_window(h)}s)"
    if missing and not (raw < cur):
        why += f"; {', '.join(missing)} missing"
    return desired, why, raw


def _window(h: Hpa) -> int:
    if h.scale_down is not None and h.scale_down.stabilization_window_seconds is not None:
        return h.scale_down.stabilization_window_seconds
    return 300


def direction_changes_per_hour(hist: HpaHistory | None) -> float | None:
    if hist is None or len(hist.times) < 2:
        return None
    span = hist.times[-1] - hist.times[0]
    if span < FLAPPING_MIN_SPAN_S:
        return None
    changes = 0
    last_dir = 0
    prev = hist.current[0]
    for v in hist.current[1:]:
        d = (v > prev) - (v < prev)
        if d:
            if last_dir and d != last_dir:
                changes += 1
            last_dir = d
        prev = v
    return changes * 3600.0 / span


def replicas_mismatch(h: Hpa, hist: HpaHistory | None, now: float) -> bool | None:
    """KubeHpaReplicasMismatch's expression: desired != current, min < current < max, and current
    unchanged over the last 15 minutes. None when that cannot be told (no history covering 15 min)."""
    if not (h.desired_replicas != h.current_replicas and h.min_replicas < h.current_replicas < h.max_replicas):
        return False
    if hist is None or not hist.times or hist.times[0] > now - MISMATCH_WINDOW_S + HISTORY_SLACK_S:
        return None
    start = now - MISMATCH_WINDOW_S
    window = [c for t, c in zip(hist.times, hist.current) if t >= start]
    # the last sample before the window is the value at its start
    before = [c for t, c in zip(hist.times, hist.current) if t < start]
    if before:
        window.insert(0, before[-1])
    return all(c == h.current_replicas for c in window)


def hpa_row(h: Hpa, hist: HpaHistory | None, now: float) -> HpaRow:
    cur = h.current_replicas
    metric_rows = []
    for m in h.metrics:
        ratio, prop = metric_proposal(m, cur)
        cur_txt = "<missing>" if m.current is None else _fmt_value(m, m.current)
        metric_rows.append(HpaMetricRow(
            key=f"{h.namespace}/{h.name}/{m.type}/{m.name}" + (f"/{m.container}" if m.container else ""),
            type=m.type, name=m.name, target_type=m.target_type, target=m.target, current=m.current,
            ratio=ratio, proposal=prop, text=f"{m.name} {cur_txt} / {_fmt_value(m, m.target)}",
        ))
    computed, why, raw = compute_desired(h)
    sa = _cond(h, "ScalingActive")
    lim = _cond(h, "ScalingLimited")
    states = set()
    if any(m.current is None for m in h.metrics) or (sa is not None and sa.status == "False"):
        states.add(HpaState.BLIND)
    if cur == h.max_replicas and h.max_replicas != h.min_replicas:
        states.add(HpaState.MAXED_OUT)
    if cur == h.min_replicas and h.max_replicas != h.min_replicas and (
            (lim is not None and lim.status == "True" and lim.reason == "TooFewReplicas")
            or (raw is not None and raw < h.min_replicas)):
        states.add(HpaState.PINNED_AT_MIN)
    mismatch = replicas_mismatch(h, hist, now)
    if mismatch:
        states.add(HpaState.MISMATCH)
    elif mismatch is None:
        states.add(HpaState.UNKNOWN)
    rate = direction_changes_per_hour(hist)
    if rate is not None and rate > FLAPPING_CHANGES_PER_HOUR:
        states.add(HpaState.FLAPPING)
    ordered = tuple(s.value for s in _STATE_ORDER if s in states) or (HpaState.HEALTHY.value,)
    mismatch_for = _mismatch_for(h, hist, now)
    return HpaRow(
        key=f"{h.namespace}/{h.name}", namespace=h.namespace, name=h.name,
        target=f"{h.target_kind}/{h.target_name}", min_replicas=h.min_replicas, max_replicas=h.max_replicas,
        current=cur, desired=h.desired_replicas, computed_desired=computed, why=why,
        state=ordered[0], states=ordered, metrics=tuple(metric_rows),
        conditions=tuple(ConditionRow(c.type, c.status, c.reason, c.message, c.last_transition) for c in h.conditions),
        history_times=hist.times if hist else (), history_current=hist.current if hist else (),
        history_desired=hist.desired if hist else (), direction_changes_per_hour=rate,
        mismatch_for_s=mismatch_for, last_scale_time=h.last_scale_time,
    )


def _mismatch_for(h: Hpa, hist: HpaHistory | None, now: float) -> float | None:
    """How long desired has differed from current (from history); 0 when they agree now."""
    if h.desired_replicas == h.current_replicas:
        return 0.0
    if hist is None or not hist.times or len(hist.desired) != len(hist.times):
        return None
    since = None
    for t, c, d in zip(reversed(hist.times), reversed(hist.current), reversed(hist.desired)):
        if c == d:
            break
        since = t
    return None if since is None else max(0.0, now - since)


def hpa_view(cluster: ClusterSnapshot, metrics: MetricsSnapshot | None = None, now: float | None = None) -> HpaView:
    now = cluster.taken_at if now is None else now
    area = metrics.area("hpa_history") if metrics is not None else None
    hist_ok = area is not None and area.ok
    # replica history is in the metrics source's clock: measure its windows from that source's own "now"
    # (a cluster whose clock is skewed from Prometheus' would otherwise see all history as future or past)
    hist_now = metrics.taken_at if hist_ok and metrics.taken_at else now  # type: ignore[union-attr]
    rows = [hpa_row(h, metrics.hpa_history.get((h.namespace, h.name)) if hist_ok else None, hist_now)  # type: ignore[union-attr]
            for h in cluster.hpas]
    order = {s.value: i for i, s in enumerate(_STATE_ORDER + (HpaState.HEALTHY,))}
    rows.sort(key=lambda r: (order[r.state], r.key))
    unreadable = kind_unreadable(cluster, "horizontalpodautoscalers")
    note = join_notes(f"HPAs unreadable ({unreadable})" if unreadable else "", area_note(metrics, "hpa_history", "history"))
    return HpaView(rows=tuple(rows), note=note)
