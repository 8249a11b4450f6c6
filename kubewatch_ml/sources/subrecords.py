"""Shared sub-records for the converters (convert.py): quantities, container specs, pod templates, label maps,
tolerations, affinity, conditions, owner references, container statuses.

Identical sub-records (resource lists, container specs, label dicts of a ReplicaSet's pods) are shared
through small bounded caches, and low-cardinality strings are interned, so 150,000 pods cost far less
memory. Template-derived parts arrive as raw JSON (wire.PodSpec) and are converted once per distinct
byte string.
"""
from __future__ import annotations

import msgspec

from .. import model as m
from ..quantity import QuantityError, cpu_millicores, to_int
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
_template_cache: dict[bytes | tuple, _PodTemplate] = {}
_containers_dec = msgspec.json.Decoder(list[w.Container])
_str_map_dec = msgspec.json.Decoder(dict[str, str])
_tolerations_dec = msgspec.json.Decoder(list[w.Toleration])
_affinity_dec = msgspec.json.Decoder(w.Affinity)


def _template(spec: w.PodSpec) -> _PodTemplate:
    c, i = spec.containers, spec.init_containers
    key = bytes(c) if not i else (bytes(c), bytes(i))  # no init containers (the usual case): one copy, one hash
    if not key:
        return _EMPTY_TEMPLATE
    t = _template_cache.get(key)
    if t is None:
        c, i = bytes(c), bytes(i)
        out = [container_spec(x, True) for x in (_containers_dec.decode(i) or () if _present(i) else ())]
        out.extend(container_spec(x, False) for x in (_containers_dec.decode(c) or () if _present(c) else ()))
        t = _PodTemplate(tuple(out))
        _bounded(_template_cache)[key] = t
    return t


def _containers(spec: w.PodSpec) -> tuple[m.ContainerSpec, ...]:
    return _template(spec).containers


class RawCache(dict):
    """raw JSON bytes -> what they convert to, converted on the first lookup of each distinct byte string
    (pods of one template or controller carry equal bytes). `cache[bytes(raw)]` is one C-level lookup."""

    def __init__(self, convert):
        super().__init__()
        self.convert = convert

    def __missing__(self, b: bytes):
        got = self[b] = self.convert(b) if _present(b) else None
        return got

    def bounded(self) -> "RawCache":
        if len(self) > _CACHE_MAX:
            self.clear()
        return self


def _present(b: bytes) -> bool:
    return bool(b) and b != b"null"


def _affinity_of(r: bytes) -> tuple[tuple, bool]:
    a = _affinity_dec.decode(r)
    return (_affinity_terms(a), a.pod_anti_affinity is not None)


_NO_AFFINITY: tuple[tuple, bool] = ((), False)
label_maps = RawCache(lambda r: _str_map_dec.decode(r) or None)  # label / selector maps, shared (never mutated)
toleration_lists = RawCache(lambda r: _tolerations(_tolerations_dec.decode(r)))
affinities = RawCache(_affinity_of)  # (required node affinity terms, has pod anti-affinity)


def labels(raw) -> dict[str, str] | None:
    """A label / selector map; identical maps share one dict (records never mutate them)."""
    return label_maps.bounded()[bytes(raw)] if raw else None


def _tolerations_raw(raw) -> tuple[m.Toleration, ...]:
    return (toleration_lists.bounded()[bytes(raw)] or ()) if raw else ()


def _affinity_raw(raw) -> tuple[tuple, bool]:
    """(required node affinity terms, has pod anti-affinity)."""
    return (affinities.bounded()[bytes(raw)] or _NO_AFFINITY) if raw else _NO_AFFINITY


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
    return tuple([condition(c) for c in cs]) if cs else ()


_owner_refs_dec = msgspec.json.Decoder(list[w.OwnerReference])


def _controller_of(refs: list[w.OwnerReference] | None) -> m.OwnerRef | None:
    for r in refs or ():
        if r.controller:
            key = (r.kind, r.name, r.uid)
            got = _owner_cache.get(key)
            if got is None:
                got = m.OwnerRef(kind=_s(r.kind), name=r.name, uid=r.uid, controller=True)
                _bounded(_owner_cache)[key] = got
            return got
    return None


# the controller owner reference by the raw ownerReferences JSON: pods of one ReplicaSet/Job carry equal bytes
controllers = RawCache(lambda r: _controller_of(_owner_refs_dec.decode(r)))


def _controller(raw) -> m.OwnerRef | None:
    return controllers.bounded()[bytes(raw)] if raw else None


# Value-shared per-pod parts: pods whose container statuses (or kept conditions) have equal wire values share one
# tuple of records (a ReplicaSet's pods started in the same second, listed one after another). One lookup per pod,
# keyed by the frozen wire structs (hashed in C), so where every value differs (per-pod timestamps on a real
# cluster) a miss costs that lookup and an insert over a plain conversion. Small caches, emptied when full.
_SHARED_MAX = 4096
_statuses_by_value: dict[tuple, tuple] = {}


def _put(cache: dict, key, value):
    if len(cache) > _SHARED_MAX:
        cache.clear()
    cache[key] = value
    return value


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
    return m.ContainerStatus(  # the fields of m.ContainerStatus, in order
        _S(s.name, s.name), s.ready, bool(s.started) if s.started is not None else state == "running",
        s.restart_count, state, _S(reason, reason), message, started_at,
        _s(lt.reason) if lt is not None else "", lt.exit_code if lt is not None else None,
        _ts(lt.finished_at) if lt is not None else 0.0,
    )


def statuses(ss: list[w.ContainerStatus] | None) -> tuple[m.ContainerStatus, ...]:
    if not ss:
        return ()
    key = tuple(ss)
    got = _statuses_by_value.get(key)
    return got if got is not None else _put(_statuses_by_value, key, tuple([_status(s) for s in ss]))


def condition(c: w.Condition) -> m.Condition:
    t, st, r = c.type, c.status, c.reason
    return m.Condition(_S(t, t), _S(st, st), _S(r, r), c.message, _ts(c.last_transition_time))


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
