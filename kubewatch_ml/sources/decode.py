"""Raw API JSON -> the slim records of model.py, never through the official client's models.

A page is decoded with one msgspec Decoder into the wire Structs (sources/wire.py), then converted
to records by the per-kind converters (convert.py, sharing sub-records through subrecords.py).
This module holds the kind table (API paths, wire type, converter) and the JSON machinery: list pages,
single objects, watch lines, error Status bodies. The cyclic GC is paused during a page decode:
records hold no cycles.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import msgspec

from .. import model as m
from . import wire as w
from .convert import (
    _workload, event, hpa, limit_range, namespace, network_policy, node, pdb, resource_quota, service,
)
from .pods import pod, pod_page
from .subrecords import _strings


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
    convert_page: Callable[[list], list] | None = None  # a whole page at once (the hot kinds)

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        if namespace and self.namespaced:
            base += f"/namespaces/{namespace}"
        base += f"/{self.resource}"
        return base + (f"/{name}" if name else "")


def _codec(resource, kind, group, version, namespaced, wire_t, convert, convert_page=None) -> KindCodec:
    return KindCodec(resource, kind, group, version, namespaced, wire_t, convert, convert_page)


CODECS: dict[str, KindCodec] = {c.resource: c for c in (
    _codec("nodes", "Node", "", "v1", False, w.Node, node),
    _codec("namespaces", "Namespace", "", "v1", False, w.Namespace, namespace),
    _codec("pods", "Pod", "", "v1", True, w.Pod, pod, pod_page),
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
        if codec.convert_page is not None:
            records = codec.convert_page(lst.items or [])
        else:
            convert = codec.convert
            records = [convert(o) for o in lst.items or ()]
    return Page(records, lst.metadata.resource_version, lst.metadata.continue_, lst.metadata.remaining_item_count)


class _ListHead(msgspec.Struct, gc=False):
    metadata: w.ListMeta = msgspec.field(default_factory=w.ListMeta)


_list_head_decoder = msgspec.json.Decoder(_ListHead)


_ITEMS_KEY = b'"items":'
_HEAD_END = b'"items":null}'


def list_meta(body: bytes) -> w.ListMeta:
    """A list page's metadata (continue token, remainingItemCount). API servers write `metadata` before
    `items`, so only the head before `"items":` is decoded (scanning a 1.4 MB page held the GIL ~1.5 ms the
    decoder wanted); a body laid out otherwise (items first, spaced keys, a head that does not decode) is
    decoded whole."""
    i = body.find(_ITEMS_KEY, 0, 4096)
    if i > 0:
        head = body[:i]
        if b'"metadata"' in head:
            try:
                return _list_head_decoder.decode(head + _HEAD_END).metadata
            except msgspec.DecodeError:
                pass
    return _list_head_decoder.decode(body).metadata


def list_continue_token(body: bytes) -> str:
    """The continue token of a list page (see list_meta)."""
    return list_meta(body).continue_


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
