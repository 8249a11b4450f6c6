"""Raw API JSON -> the slim records of model.py, never through the official client's models.

A page is decoded with one msgspec Decoder into the wire Structs (sources/wire.py), then converted
to records: quantities parsed once, timestamps to POSIX floats, the controller owner picked, the
Ready condition, the mirror annotation, required node affinity, HPA metrics matched with their
current values. Identical sub-records (resource lists, container specs, label dicts of a
ReplicaSet's pods) are shared through small caches, so 150,000 pods cost far less memory.
The cyclic GC is paused during a page decode: records hold no cycles.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import msgspec

from .. import model as m
from ..quantity import QuantityError, cpu_millicores, quantity_for_key, to_int
from . import wire as w

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
# Huge, and nothing reads it: never kept in a record.
_DROP_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


_ts_memo: dict = {}


def _ts(d) -> float:
    """POSIX seconds. Equal instants inside one object (a pod's start, its conditions) share one float."""
    if d is None:
        return 0.0
    f = _ts_memo.get(d)
    if f is None:
        if len(_ts_memo) > 32:
            _ts_memo.clear()
        f = _ts_memo[d] = d.timestamp()
    return f


def _int(text, key: str = "") -> int:
    try:
        return quantity_for_key(key, str(text)) if key else to_int(str(text))
    except QuantityError:
        return 0


# --- shared sub-records -------------------------------------------------------------------

_EMPTY_RES = m.Resources()
_res_cache: dict[tuple, m.Resources] = {}
_spec_cache: dict[tuple, m.ContainerSpec] = {}
_CACHE_MAX = 50_000


def _bounded(cache: dict) -> dict:
    if len(cache) > _CACHE_MAX:
        cache.clear()
    return cache


def resources(rl: dict | None) -> m.Resources:
    """A resource list in canonical units (cpu millicores, memory bytes, gpu/pods counts)."""
    if not rl:
        return _EMPTY_RES
    key = tuple(rl.items())
    r = _res_cache.get(key)
    if r is not None:
        return r
    cpu = mem = gpu = pods = 0
    ext: dict[str, int] | None = None
    for k, v in key:
        s = v if isinstance(v, str) else str(v)
        try:
            if k == "cpu":
                cpu = cpu_millicores(s)
            elif k == "memory":
                mem = to_int(s)
            elif k == m.GPU_RESOURCE:
                gpu = to_int(s)
            elif k == "pods":
                pods = to_int(s)
            else:
                if ext is None:
                    ext = {}
                ext[k] = to_int(s)
        except QuantityError:
            continue
    r = m.Resources(cpu_m=cpu, memory=mem, gpu=gpu, pods=pods, extended=ext)
    _bounded(_res_cache)[key] = r
    return r


def _add(a: m.Resources, b: m.Resources) -> m.Resources:
    if b is _EMPTY_RES:
        return a
    if a is _EMPTY_RES:
        return b
    ext = dict(a.extended or {})
    for k, v in (b.extended or {}).items():
        ext[k] = ext.get(k, 0) + v
    return m.Resources(a.cpu_m + b.cpu_m, a.memory + b.memory, a.gpu + b.gpu, a.pods + b.pods, ext or None)


def _max(a: m.Resources, b: m.Resources) -> m.Resources:
    if b is _EMPTY_RES:
        return a
    if a is _EMPTY_RES:
        return b
    ext = dict(a.extended or {})
    for k, v in (b.extended or {}).items():
        ext[k] = max(ext.get(k, 0), v)
    return m.Resources(max(a.cpu_m, b.cpu_m), max(a.memory, b.memory), max(a.gpu, b.gpu), max(a.pods, b.pods), ext or None)


def effective(containers: tuple[m.ContainerSpec, ...], attr: str) -> m.Resources:
    """Pod effective requests/limits: max(sum of app containers and sidecars, max of init containers)."""
    total = _EMPTY_RES
    init_max = _EMPTY_RES
    for c in containers:
        r = getattr(c, attr)
        if c.init:
            # an init container runs beside the sidecars started before it; approximate with max
            init_max = _max(init_max, r)
        else:
            total = _add(total, r)
    return _max(total, init_max) if init_max is not _EMPTY_RES else total


def container_spec(c: w.Container, init: bool) -> m.ContainerSpec:
    res = c.resources
    req = res.requests if res is not None else None
    lim = res.limits if res is not None else None
    sidecar = init and c.restart_policy == "Always"
    key = (
        c.name, c.image, tuple(req.items()) if req else None, tuple(lim.items()) if lim else None,
        c.liveness_probe is not None, c.readiness_probe is not None, c.startup_probe is not None,
        init and not sidecar,
    )
    s = _spec_cache.get(key)
    if s is None:
        s = m.ContainerSpec(
            name=c.name, image=c.image, requests=resources(req), limits=resources(lim),
            liveness=key[4], readiness=key[5], startup=key[6], init=key[7],
        )
        _bounded(_spec_cache)[key] = s
    return s


class _PodTemplate:
    """What one distinct containers/initContainers byte string converts to."""

    __slots__ = ("containers", "requests", "limits")

    def __init__(self, containers: tuple[m.ContainerSpec, ...]):
        self.containers = containers
        self.requests = effective(containers, "requests")
        self.limits = effective(containers, "limits")


_EMPTY_TEMPLATE = _PodTemplate(())
_template_cache: dict[tuple, _PodTemplate] = {}
_containers_dec = msgspec.json.Decoder(list[w.Container])
_str_map_dec = msgspec.json.Decoder(dict[str, str])
_tolerations_dec = msgspec.json.Decoder(list[w.Toleration])
_affinity_dec = msgspec.json.Decoder(w.Affinity)


def _template(spec: w.PodSpec) -> _PodTemplate:
    key = (bytes(spec.containers), bytes(spec.init_containers))
    if key == (b"", b""):
        return _EMPTY_TEMPLATE
    t = _template_cache.get(key)
    if t is None:
        c, i = key
        out = [container_spec(x, True) for x in (_containers_dec.decode(i) or () if _present(i) else ())]
        out.extend(container_spec(x, False) for x in (_containers_dec.decode(c) or () if _present(c) else ()))
        t = _PodTemplate(tuple(out))
        _bounded(_template_cache)[key] = t
    return t


def _containers(spec: w.PodSpec) -> tuple[m.ContainerSpec, ...]:
    return _template(spec).containers


_raw_caches: dict[str, dict[bytes, object]] = {}


def _cached_raw(tag: str, raw, convert):
    """Convert a raw JSON fragment once per distinct byte string (pods of one template share it)."""
    if not raw:
        return None
    b = bytes(raw)
    cache = _raw_caches.get(tag)
    if cache is None:
        cache = _raw_caches[tag] = {}
    got = cache.get(b, cache)
    if got is cache:
        if not _present(b):
            return None
        got = convert(b)
        _bounded(cache)[b] = got
    return got


def _present(b: bytes) -> bool:
    return bool(b) and b != b"null"


def _str_map(raw) -> dict | None:
    return _str_map_dec.decode(raw) or None


def labels(raw) -> dict[str, str] | None:
    """A label / selector map; identical maps share one dict (records never mutate them)."""
    return _cached_raw("m", raw, _str_map) if raw else None


def _tolerations_raw(raw) -> tuple[m.Toleration, ...]:
    return (_cached_raw("t", raw, lambda r: _tolerations(_tolerations_dec.decode(r))) or ()) if raw else ()


_NO_AFFINITY: tuple[tuple, bool] = ((), False)


def _affinity_raw(raw) -> tuple[tuple, bool]:
    """(required node affinity terms, has pod anti-affinity)."""
    if not raw:
        return _NO_AFFINITY

    def convert(r):
        a = _affinity_dec.decode(r)
        return (_affinity_terms(a), a.pod_anti_affinity is not None)

    return _cached_raw("a", raw, convert) or _NO_AFFINITY


def _annotations(d: dict | None) -> dict | None:
    if not d:
        return None
    for k in _DROP_ANNOTATIONS:
        if k in d:
            d = {a: b for a, b in d.items() if a != k}
            break
    return d or None


def _tolerations(ts: list[w.Toleration] | None) -> tuple[m.Toleration, ...]:
    if not ts:
        return ()
    return tuple(m.Toleration(key=t.key, operator=t.operator or "Equal", value=t.value, effect=t.effect) for t in ts)


def _requirement(r: w.LabelSelectorRequirement) -> m.Requirement:
    return m.Requirement(key=r.key, operator=r.operator, values=tuple(r.values or ()))


def selector(s: w.LabelSelector | None) -> m.LabelSelector | None:
    if s is None:
        return None
    return m.LabelSelector(
        match_labels=s.match_labels or None,
        match_expressions=tuple(_requirement(r) for r in s.match_expressions or ()),
    )


_strings: dict[str, str] = {}
_owner_cache: dict[tuple, m.OwnerRef] = {}


_S = _strings.setdefault  # _S(x, x): one shared copy of a low-cardinality string (namespace, node, reasons)


def _s(text: str) -> str:
    return _S(text, text)


def _conditions(cs: list[w.Condition] | None) -> tuple[m.Condition, ...]:
    if not cs:
        return ()
    return tuple(
        m.Condition(type=_s(c.type), status=_s(c.status), reason=_s(c.reason), message=c.message,
                    last_transition=_ts(c.last_transition_time))
        for c in cs
    )


def _controller(refs: list[w.OwnerReference] | None) -> m.OwnerRef | None:
    """The controller owner reference, shared by all pods of one ReplicaSet/Job/..."""
    if not refs:
        return None
    for r in refs:
        if r.controller:
            key = (r.kind, r.name, r.uid)
            got = _owner_cache.get(key)
            if got is None:
                got = m.OwnerRef(kind=_s(r.kind), name=r.name, uid=r.uid, controller=True)
                _bounded(_owner_cache)[key] = got
            return got
    return None


def _status(s: w.ContainerStatus) -> m.ContainerStatus:
    st = s.state
    state, reason, message, started_at = "waiting", "", "", 0.0
    if st is not None:
        if st.running is not None:
            state, started_at = "running", _ts(st.running.started_at)
        elif st.terminated is not None:
            state, reason, message = "terminated", st.terminated.reason, st.terminated.message
        elif st.waiting is not None:
            reason, message = st.waiting.reason, st.waiting.message
    lt = s.last_state.terminated if s.last_state is not None else None
    return m.ContainerStatus(
        name=_S(s.name, s.name), ready=s.ready,
        started=bool(s.started) if s.started is not None else state == "running",
        restart_count=s.restart_count, state=state, reason=_S(reason, reason), message=message, started_at=started_at,
        last_term_reason=_s(lt.reason) if lt is not None else "",
        last_term_exit_code=lt.exit_code if lt is not None else None,
        last_term_finished_at=_ts(lt.finished_at) if lt is not None else 0.0,
    )


def _affinity_terms(a: w.Affinity | None) -> tuple[tuple[m.Requirement, ...], ...]:
    if a is None or a.node_affinity is None:
        return ()
    req = a.node_affinity.required_during_scheduling_ignored_during_execution
    if req is None or not req.node_selector_terms:
        return ()
    return tuple(
        tuple(_requirement(r) for r in (t.match_expressions or ()))
        + tuple(m.Requirement(key="field:" + r.key, operator=r.operator, values=tuple(r.values or ()))
                for r in (t.match_fields or ()))
        for t in req.node_selector_terms
    )


# --- one converter per kind ---------------------------------------------------------------


def pod(o: w.Pod) -> m.Pod:
    md, sp, st = o.metadata, o.spec, o.status
    tpl = _template(sp)
    ann = md.annotations
    terms, anti = _affinity_raw(sp.affinity)
    tsc = sp.topology_spread_constraints
    return m.Pod(
        uid=md.uid, name=md.name, namespace=_S(md.namespace, md.namespace),
        labels=labels(md.labels), created=_ts(md.creation_timestamp),
        resource_version=md.resource_version, owner=_controller(md.owner_references),
        node_name=_S(sp.node_name, sp.node_name), phase=_S(st.phase, st.phase),
        deleting=md.deletion_timestamp is not None, is_mirror=bool(ann) and MIRROR_ANNOTATION in ann,
        priority_class=_S(sp.priority_class_name, sp.priority_class_name), start_time=_ts(st.start_time),
        containers=tpl.containers,
        statuses=tuple(_status(s) for s in st.container_statuses or ()),
        requests=tpl.requests, limits=tpl.limits,
        node_selector=labels(sp.node_selector), tolerations=_tolerations_raw(sp.tolerations),
        affinity_terms=terms, has_anti_affinity=anti,
        has_spread_constraints=bool(tsc) and bytes(tsc).strip() not in (b"[]", b"null"),
        conditions=_pod_conditions(st.conditions), annotations=_annotations(ann),
    )


# True on every healthy pod and read by no view: not kept (~0.2 KB per pod at 150,000 pods).
# Ready and PodScheduled are always kept; any condition that is not True is kept.
_ROUTINE_POD_CONDITIONS = frozenset({"Initialized", "ContainersReady", "PodReadyToStartContainers"})


def _pod_conditions(cs: list[w.Condition] | None) -> tuple[m.Condition, ...]:
    if not cs:
        return ()
    out = []
    for c in cs:
        t, st = c.type, c.status
        if st == "True" and t in _ROUTINE_POD_CONDITIONS:
            continue
        r = c.reason
        out.append(m.Condition(_S(t, t), _S(st, st), _S(r, r), c.message, _ts(c.last_transition_time)))
    return tuple(out)


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


# --- the kind table -----------------------------------------------------------------------


@dataclass(frozen=True)
class KindCodec:
    resource: str  # plural, as in the URL
    kind: str
    group: str  # "" = core
    version: str
    namespaced: bool
    wire: type
    convert: Callable[[Any], Any]

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        if namespace and self.namespaced:
            base += f"/namespaces/{namespace}"
        base += f"/{self.resource}"
        return base + (f"/{name}" if name else "")


def _codec(resource, kind, group, version, namespaced, wire_t, convert) -> KindCodec:
    return KindCodec(resource, kind, group, version, namespaced, wire_t, convert)


CODECS: dict[str, KindCodec] = {c.resource: c for c in (
    _codec("nodes", "Node", "", "v1", False, w.Node, node),
    _codec("namespaces", "Namespace", "", "v1", False, w.Namespace, namespace),
    _codec("pods", "Pod", "", "v1", True, w.Pod, pod),
    _codec("resourcequotas", "ResourceQuota", "", "v1", True, w.ResourceQuota, resource_quota),
    _codec("limitranges", "LimitRange", "", "v1", True, w.LimitRange, limit_range),
    _codec("horizontalpodautoscalers", "HorizontalPodAutoscaler", "autoscaling", "v2", True, w.Hpa, hpa),
    _codec("deployments", "Deployment", "apps", "v1", True, w.Workload, _workload("Deployment")),
    _codec("statefulsets", "StatefulSet", "apps", "v1", True, w.Workload, _workload("StatefulSet")),
    _codec("replicasets", "ReplicaSet", "apps", "v1", True, w.Workload, _workload("ReplicaSet")),
    _codec("daemonsets", "DaemonSet", "apps", "v1", True, w.Workload, _workload("DaemonSet")),
    _codec("jobs", "Job", "batch", "v1", True, w.Workload, _workload("Job")),
    _codec("events", "Event", "", "v1", True, w.Event, event),
    _codec("poddisruptionbudgets", "PodDisruptionBudget", "policy", "v1", True, w.PodDisruptionBudget, pdb),
    _codec("networkpolicies", "NetworkPolicy", "networking.k8s.io", "v1", True, w.NetworkPolicy, network_policy),
    _codec("services", "Service", "", "v1", True, w.Service, service),
)}
assert "secrets" not in CODECS and set(CODECS) == set(m.RECORD_KINDS)

_list_decoders: dict[str, msgspec.json.Decoder] = {}
_obj_decoders: dict[str, msgspec.json.Decoder] = {}
_watch_decoder = msgspec.json.Decoder(w.WatchEvent)
_status_decoder = msgspec.json.Decoder(w.Status)
_bookmark_decoder = msgspec.json.Decoder(w.BookmarkObject)


def _list_decoder(resource: str) -> msgspec.json.Decoder:
    d = _list_decoders.get(resource)
    if d is None:
        d = _list_decoders[resource] = msgspec.json.Decoder(w.ObjectList[CODECS[resource].wire])
    return d


def _obj_decoder(resource: str) -> msgspec.json.Decoder:
    d = _obj_decoders.get(resource)
    if d is None:
        d = _obj_decoders[resource] = msgspec.json.Decoder(CODECS[resource].wire)
    return d


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Bulk decodes allocate millions of acyclic objects: don't let the cyclic GC walk them."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class Page:
    records: list
    resource_version: str
    continue_token: str
    remaining: int | None = None


def decode_list(resource: str, body: bytes) -> Page:
    """One list page (a `<Kind>List`) -> records, the list's resourceVersion and continue token."""
    codec = CODECS[resource]
    if len(_strings) > 200_000:  # interned strings are low-cardinality; bound them anyway
        _strings.clear()
    with no_cyclic_gc():
        lst = _list_decoder(resource).decode(body)
        convert = codec.convert
        records = [convert(o) for o in lst.items or ()]
    return Page(records, lst.metadata.resource_version, lst.metadata.continue_, lst.metadata.remaining_item_count)


class _ListHead(msgspec.Struct, gc=False):
    metadata: w.ListMeta = msgspec.field(default_factory=w.ListMeta)


_list_head_decoder = msgspec.json.Decoder(_ListHead)


def list_continue_token(body: bytes) -> str:
    """The continue token of a list page, without materialising its items (they are skipped)."""
    return _list_head_decoder.decode(body).metadata.continue_


def decode_object(resource: str, body: bytes):
    """One object (GET by name, or a watch event's object) -> its record."""
    return CODECS[resource].convert(_obj_decoder(resource).decode(body))


@dataclass
class WatchChange:
    type: str  # ADDED | MODIFIED | DELETED | BOOKMARK | ERROR
    record: Any = None  # for ADDED / MODIFIED / DELETED
    resource_version: str = ""
    code: int = 0  # ERROR: the Status code (410 = resourceVersion too old)
    message: str = ""


def decode_watch_line(resource: str, line: bytes) -> WatchChange:
    ev = _watch_decoder.decode(line)
    t = ev.type
    if t == "ERROR":
        st = _status_decoder.decode(ev.object)
        return WatchChange("ERROR", code=st.code, message=st.message or st.reason)
    if t == "BOOKMARK":
        bm = _bookmark_decoder.decode(ev.object)
        return WatchChange("BOOKMARK", resource_version=bm.metadata.resource_version)
    rec = decode_object(resource, ev.object)
    return WatchChange(t, rec, getattr(rec, "resource_version", ""))


def decode_status(body: bytes) -> w.Status | None:
    """The metav1.Status in an error body, or None when the body is not one."""
    try:
        st = _status_decoder.decode(body)
    except msgspec.DecodeError:
        return None
    return st if st.kind == "Status" or st.message else None
