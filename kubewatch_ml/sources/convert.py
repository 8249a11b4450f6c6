"""One converter per kind: a wire Struct (wire.py) -> its slim record (model.py).

Quantities parsed once, timestamps to POSIX floats, the controller owner picked, the Ready condition,
the mirror annotation, required node affinity, HPA metrics matched with their current values.
"""
from __future__ import annotations

from typing import Any, Callable

from .. import model as m
from ..quantity import QuantityError, cpu_millicores, quantity_for_key, to_int
from . import wire as w
from .pods import pod  # noqa: F401 - the pod converter lives with the page loop of the hot path
from .subrecords import (
    _annotations, _conditions, _containers, _controller, _tolerations_raw, _ts, labels, resources, selector,
)


def _int(text, key: str = "") -> int:
    try:
        return quantity_for_key(key, str(text)) if key else to_int(str(text))
    except QuantityError:
        return 0


def node(o: w.Node) -> m.Node:
    md, sp, st = o.metadata, o.spec, o.status
    conds = _conditions(st.conditions)
    ready = next((c.status for c in conds if c.type == "Ready"), "Unknown")
    ip = next((a.address for a in st.addresses or () if a.type == "InternalIP"), "")
    return m.Node(
        name=md.name, uid=md.uid, labels=labels(md.labels) or {}, created=_ts(md.creation_timestamp),
        resource_version=md.resource_version, unschedulable=sp.unschedulable,
        taints=tuple(m.Taint(key=t.key, value=t.value, effect=t.effect) for t in sp.taints or ()),
        capacity=resources(st.capacity), allocatable=resources(st.allocatable), conditions=conds,
        ready=ready, kubelet_version=st.node_info.kubelet_version if st.node_info else "",
        internal_ip=ip, annotations=_annotations(md.annotations),
    )


def namespace(o: w.Namespace) -> m.Namespace:
    md = o.metadata
    return m.Namespace(name=md.name, uid=md.uid, labels=labels(md.labels), created=_ts(md.creation_timestamp),
                       resource_version=md.resource_version, phase=o.status.phase)


def _quota_map(rl: dict | None) -> dict[str, int]:
    return {k: _int(v, k) for k, v in (rl or {}).items()}


def resource_quota(o: w.ResourceQuota) -> m.ResourceQuota:
    md = o.metadata
    return m.ResourceQuota(
        uid=md.uid, name=md.name, namespace=md.namespace, created=_ts(md.creation_timestamp),
        resource_version=md.resource_version,
        hard=_quota_map(o.status.hard if o.status.hard is not None else o.spec.hard),
        used=_quota_map(o.status.used),
    )


def limit_range(o: w.LimitRange) -> m.LimitRange:
    md = o.metadata

    def opt(rl):
        return resources(rl) if rl else None

    return m.LimitRange(
        uid=md.uid, name=md.name, namespace=md.namespace, created=_ts(md.creation_timestamp),
        resource_version=md.resource_version,
        limits=tuple(
            m.LimitRangeItem(type=i.type, default=opt(i.default), default_request=opt(i.default_request),
                             max=opt(i.max), min=opt(i.min))
            for i in o.spec.limits or ()
        ),
    )


def _metric_value(name: str, q) -> float:
    """A metric quantity in canonical units: millicores for cpu, bytes for memory, else float."""
    if q is None:
        return 0.0
    s = q if isinstance(q, str) else str(q)
    try:
        if name == "cpu":
            return float(cpu_millicores(s))
        if name == "memory":
            return float(to_int(s))
        from ..quantity import parse_quantity

        return float(parse_quantity(s))
    except QuantityError:
        return 0.0


def _metric_parts(ms: w.MetricSpec) -> tuple[str, str, Any]:
    """(name, container, source) of one metric spec/status entry."""
    t = ms.type
    if t == "Resource" and ms.resource is not None:
        return ms.resource.name, "", ms.resource
    if t == "ContainerResource" and ms.container_resource is not None:
        return ms.container_resource.name, ms.container_resource.container, ms.container_resource
    src = {"Pods": ms.pods, "Object": ms.object, "External": ms.external}.get(t)
    if src is not None:
        return (src.metric.name if src.metric else ""), "", src
    return "", "", None


def _hpa_metrics(spec: list[w.MetricSpec] | None, status: list[w.MetricSpec] | None) -> tuple[m.HpaMetric, ...]:
    current: dict[tuple[str, str, str], Any] = {}
    for ms in status or ():
        name, container, src = _metric_parts(ms)
        if src is not None and src.current is not None:
            current[(ms.type, name, container)] = src.current
    out = []
    for ms in spec or ():
        name, container, src = _metric_parts(ms)
        if src is None or src.target is None:
            continue
        tgt = src.target
        ttype = tgt.type or ("Utilization" if tgt.average_utilization is not None else
                             "AverageValue" if tgt.average_value is not None else "Value")
        cur = current.get((ms.type, name, container))
        if ttype == "Utilization":
            target = float(tgt.average_utilization or 0)
            now = float(cur.average_utilization) if cur is not None and cur.average_utilization is not None else None
        elif ttype == "AverageValue":
            target = _metric_value(name, tgt.average_value)
            now = _metric_value(name, cur.average_value) if cur is not None and cur.average_value is not None else None
        else:
            target = _metric_value(name, tgt.value)
            now = _metric_value(name, cur.value) if cur is not None and cur.value is not None else None
        out.append(m.HpaMetric(type=ms.type, name=name, target_type=ttype, target=target, current=now,
                               container=container))
    return tuple(out)


def _rules(r: w.ScalingRules | None) -> m.ScalingRules | None:
    if r is None:
        return None
    return m.ScalingRules(
        stabilization_window_seconds=r.stabilization_window_seconds, select_policy=r.select_policy,
        policies=tuple(m.ScalingPolicy(type=p.type, value=p.value, period_seconds=p.period_seconds)
                       for p in r.policies or ()),
    )


def hpa(o: w.Hpa) -> m.Hpa:
    md, sp, st = o.metadata, o.spec, o.status
    ref = sp.scale_target_ref
    beh = sp.behavior
    return m.Hpa(
        uid=md.uid, name=md.name, namespace=md.namespace, created=_ts(md.creation_timestamp),
        resource_version=md.resource_version,
        target_kind=ref.kind if ref else "", target_name=ref.name if ref else "",
        target_api_version=ref.api_version if ref else "",
        min_replicas=sp.min_replicas if sp.min_replicas is not None else 1, max_replicas=sp.max_replicas,
        current_replicas=st.current_replicas, desired_replicas=st.desired_replicas,
        metrics=_hpa_metrics(sp.metrics, st.current_metrics), conditions=_conditions(st.conditions),
        last_scale_time=_ts(st.last_scale_time),
        scale_up=_rules(beh.scale_up) if beh else None, scale_down=_rules(beh.scale_down) if beh else None,
        labels=labels(md.labels),
    )


def _workload(kind: str) -> Callable[[w.Workload], m.Workload]:
    def convert(o: w.Workload) -> m.Workload:
        md, sp, st = o.metadata, o.spec, o.status
        tpl = sp.template
        tspec = tpl.spec if tpl is not None else None
        if kind == "DaemonSet":
            replicas, ready, avail, updated = (st.desired_number_scheduled, st.number_ready,
                                               st.number_available, st.updated_number_scheduled)
        elif kind == "Job":
            replicas = sp.parallelism if sp.parallelism is not None else 1
            ready = st.ready if st.ready is not None else 0
            avail, updated = st.active, 0
        else:
            replicas = sp.replicas if sp.replicas is not None else 1
            ready, avail, updated = st.ready_replicas, st.available_replicas, st.updated_replicas
        return m.Workload(
            kind=kind, uid=md.uid, name=md.name, namespace=md.namespace, labels=labels(md.labels),
            created=_ts(md.creation_timestamp), resource_version=md.resource_version,
            owner=_controller(md.owner_references), selector=selector(sp.selector),
            replicas=replicas, ready_replicas=ready, available_replicas=avail, updated_replicas=updated,
            template_labels=(tpl.metadata.labels or None) if tpl is not None and tpl.metadata else None,
            containers=_containers(tspec) if tspec is not None else (),
            node_selector=labels(tspec.node_selector) if tspec is not None else None,
            tolerations=_tolerations_raw(tspec.tolerations) if tspec is not None else (),
            active=st.active, succeeded=st.succeeded, failed=st.failed,
            completions=sp.completions if kind == "Job" else None,
            annotations=_annotations(md.annotations),
        )

    return convert


def event(o: w.Event) -> m.Event:
    md, io = o.metadata, o.involved_object
    last = o.last_timestamp or (o.series.last_observed_time if o.series else None) or o.event_time
    first = o.first_timestamp or o.event_time or last
    count = o.count if o.count is not None else (o.series.count if o.series else 1)
    return m.Event(
        uid=md.uid, name=md.name, namespace=md.namespace, involved_kind=io.kind, involved_name=io.name,
        involved_namespace=io.namespace, involved_uid=io.uid, field_path=io.field_path, reason=o.reason,
        message=o.message, type=o.type or "Normal", count=count or 1, first_seen=_ts(first), last_seen=_ts(last),
        source=(o.source.component if o.source and o.source.component else o.reporting_component),
        resource_version=md.resource_version,
    )


def _int_or_str(v) -> str | None:
    return None if v is None else str(v)


def pdb(o: w.PodDisruptionBudget) -> m.PodDisruptionBudget:
    md, sp, st = o.metadata, o.spec, o.status
    return m.PodDisruptionBudget(
        uid=md.uid, name=md.name, namespace=md.namespace, selector=selector(sp.selector),
        min_available=_int_or_str(sp.min_available), max_unavailable=_int_or_str(sp.max_unavailable),
        current_healthy=st.current_healthy, desired_healthy=st.desired_healthy,
        disruptions_allowed=st.disruptions_allowed, expected_pods=st.expected_pods,
        created=_ts(md.creation_timestamp), resource_version=md.resource_version,
    )


def network_policy(o: w.NetworkPolicy) -> m.NetworkPolicy:
    md = o.metadata
    return m.NetworkPolicy(
        uid=md.uid, name=md.name, namespace=md.namespace, pod_selector=selector(o.spec.pod_selector),
        policy_types=tuple(o.spec.policy_types or ()), created=_ts(md.creation_timestamp),
        resource_version=md.resource_version,
    )


def service(o: w.Service) -> m.Service:
    md, sp = o.metadata, o.spec
    return m.Service(
        uid=md.uid, name=md.name, namespace=md.namespace, labels=labels(md.labels),
        selector=sp.selector or None, ports=tuple(p.port for p in sp.ports or ()), cluster_ip=sp.cluster_ip,
        created=_ts(md.creation_timestamp), resource_version=md.resource_version,
    )
