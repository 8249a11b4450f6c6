"""Pods, the hot path of a cold load (150,000 of them): a page of wire pods -> m.Pod records in one loop.

Per pod this is a few dict lookups: what the pods of one template or controller share (labels, owner,
containers, tolerations, affinity, node selector) is looked up by its raw JSON bytes, conditions and
container statuses by their wire values; each is converted (strings interned, quantities and timestamps
parsed) on a miss only. The caches are bound to locals and the record is built positionally, in the order
of m.Pod's fields (keyword arguments cost ~1 us more per pod).
"""
from __future__ import annotations

from .. import model as m
from . import wire as w
from . import subrecords as sub
from .subrecords import (
    MIRROR_ANNOTATION, _EMPTY_TEMPLATE, _NO_AFFINITY, _annotations, _put, _strings, _template, _ts,
    condition, statuses,
)

# True on every healthy pod and read by no view: not kept (~0.2 KB per pod at 150,000 pods).
# Ready and PodScheduled are always kept; any condition that is not True is kept.
_ROUTINE_POD_CONDITIONS = frozenset({"Initialized", "ContainersReady", "PodReadyToStartContainers"})
_conditions_by_value: dict[tuple, tuple] = {}
_EMPTY_SPREAD = (b"[]", b"null")

assert m.Pod.__struct_fields__[:24] == (
    "uid", "name", "namespace", "labels", "created", "resource_version", "owner", "node_name", "phase", "deleting",
    "is_mirror", "priority_class", "start_time", "containers", "statuses", "requests", "limits", "node_selector",
    "tolerations", "affinity_terms", "has_anti_affinity", "has_spread_constraints", "conditions", "annotations",
), "pod_page builds m.Pod positionally: keep this list in step with model.Pod"


def _pod_conditions(cs: list[w.Condition]) -> tuple[m.Condition, ...]:
    """The kept conditions, shared by pods whose kept conditions have equal wire values (see subrecords.statuses)."""
    key = tuple([c for c in cs if c.status != "True" or c.type not in _ROUTINE_POD_CONDITIONS])
    got = _conditions_by_value.get(key)  # frozen wire structs: hashed and compared in C
    return got if got is not None else _put(_conditions_by_value, key, tuple([condition(c) for c in key]))


def pod_page(items: list[w.Pod]) -> list[m.Pod]:
    label_maps, tolerations, affinities, controllers = (
        c.bounded() for c in (sub.label_maps, sub.toleration_lists, sub.affinities, sub.controllers))
    S = _strings.setdefault
    Pod = m.Pod
    out = []
    append = out.append
    for o in items:
        md, sp, st = o.metadata, o.spec, o.status
        raw = sp.affinity
        aff = (affinities[bytes(raw)] or _NO_AFFINITY) if raw else _NO_AFFINITY
        tpl = _template(sp) if sp.containers or sp.init_containers else _EMPTY_TEMPLATE
        cs = st.conditions
        ann = md.annotations
        tsc = sp.topology_spread_constraints
        ns, node, phase, prio = md.namespace, sp.node_name, st.phase, sp.priority_class_name
        append(Pod(
            md.uid, md.name, S(ns, ns), label_maps[bytes(md.labels)] if md.labels else None,
            _ts(md.creation_timestamp), md.resource_version,
            controllers[bytes(md.owner_references)] if md.owner_references else None, S(node, node), S(phase, phase), md.deletion_timestamp is not None,
            bool(ann) and MIRROR_ANNOTATION in ann, S(prio, prio), _ts(st.start_time),
            tpl.containers, statuses(st.container_statuses), tpl.requests, tpl.limits,
            label_maps[bytes(sp.node_selector)] if sp.node_selector else None,
            (tolerations[bytes(sp.tolerations)] or ()) if sp.tolerations else (), aff[0], aff[1],
            bool(tsc) and bytes(tsc).strip() not in _EMPTY_SPREAD,
            _pod_conditions(cs) if cs else (), _annotations(ann) if ann else None,
        ))
    return out


def pod(o: w.Pod) -> m.Pod:
    """One pod (a GET or a watch event)."""
    return pod_page([o])[0]
