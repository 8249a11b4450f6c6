"""The simulator's object store: Kubernetes objects as JSON-shaped dicts, one resourceVersion clock,
a bounded watch history per resource, and watchers woken on change.

Contract for sim/ (apiserver.py serves it, scenario.py fills it, dynamics.py changes it,
exporters.py reads it):
- Stored dicts are never mutated in place. To change an object, build a new dict (copy.deepcopy or
  a shallow copy of the parts you change) and call `replace`. `get`/`list` return stored dicts:
  treat them as read-only.
- Every create/replace/delete assigns the next resourceVersion (a decimal string) and records a
  watch event. `load` is the bulk path used at start-up: no watch events, history floor moves up.
- Errors are `ApiError`s that the API server turns into real `Status` objects.
"""
from __future__ import annotations

import bisect
import collections
import threading
import time
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .kinds import BY_RESOURCE

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped kinds


class ApiError(Exception):
    """An error the API server answers with a `Status` object."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None,
                 retry_after: int | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.retry_after = retry_after

    def status(self) -> Obj:
        s: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            s["details"] = self.details
        return s


def not_found(resource: str, name: str) -> ApiError:
    info = BY_RESOURCE.get(resource)
    group = info.group if info else ""
    return ApiError(404, "NotFound", f'{resource}{"." + group if group else ""} "{name}" not found',
                    {"name": name, "group": group, "kind": resource})


def conflict(resource: str, name: str, why: str) -> ApiError:
    info = BY_RESOURCE.get(resource)
    group = info.group if info else ""
    qual = f'{resource}{"." + group if group else ""}'
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {qual} "{name}": {why}',
                    {"name": name, "group": group, "kind": resource})


def gone(rv: int) -> ApiError:
    return ApiError(410, "Expired", f"too old resource version: {rv}")


@dataclass
class WatchEvent:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    obj: Obj


@dataclass
class _Table:
    objects: dict[Key, Obj] = field(default_factory=dict)
    history: collections.deque = field(default_factory=lambda: collections.deque(maxlen=50_000))
    floor_rv: int = 0  # a watch may resume from any rv >= floor_rv
    sorted_keys: list | None = None  # sorted keys for paged lists, built on first use, kept up to date


def rfc3339(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class ObjectStore:
    def __init__(self, clock: Callable[[], float] = time.time, history: int = 50_000):
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._rv = 1000
        self._clock = clock
        self._tables: dict[str, _Table] = {
            r: _Table(history=collections.deque(maxlen=history)) for r in BY_RESOURCE
        }

    # --- reads ---------------------------------------------------------------------------
    @property
    def lock(self) -> threading.RLock:
        return self._lock

    @property
    def resource_version(self) -> int:
        with self._lock:
            return self._rv

    def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        with self._lock:
            return self._table(resource).objects.get((namespace, name))

    def list(self, resource: str, namespace: str | None = None) -> tuple[list[Obj], int]:
        """Objects sorted by (namespace, name), and the resourceVersion of the list."""
        with self._lock:
            t = self._table(resource)
            if namespace:
                items = [o for (ns, _), o in t.objects.items() if ns == namespace]
            else:
                items = list(t.objects.values())
            rv = self._rv
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return items, rv

    def count(self, resource: str) -> int:
        with self._lock:
            return len(self._table(resource).objects)

    def events_since(self, resource: str, rv: int) -> list[WatchEvent]:
        """Watch events with resourceVersion > rv; ApiError 410 if rv is older than the history."""
        with self._lock:
            t = self._table(resource)
            if rv < t.floor_rv:
                raise gone(rv)
            h = t.history
            if not h or h[-1].rv <= rv:
                return []
            return [e for e in h if e.rv > rv]

    def events_after(self, resource: str, rv: int) -> list[WatchEvent]:
        """events_since that walks back from the newest event: O(new events), not O(history)."""
        with self._lock:
            t = self._table(resource)
            if rv < t.floor_rv:
                raise gone(rv)
            out: list[WatchEvent] = []
            for e in reversed(t.history):
                if e.rv <= rv:
                    break
                out.append(e)
            out.reverse()
            return out

    def wait_for_change(self, after_rv: int, timeout: float) -> int:
        """Block until the store's resourceVersion passes after_rv or timeout; returns the current rv."""
        with self._changed:
            if self._rv <= after_rv:
                self._changed.wait(timeout)
            return self._rv

    def now(self) -> float:
        """The store's clock (the simulated one when the scenario runs faster than real time)."""
        return self._clock()

    def history_floor(self, resource: str) -> int:
        """The oldest resourceVersion a watch or a list continuation may resume from."""
        with self._lock:
            return self._table(resource).floor_rv

    def page(self, resource: str, namespace: str | None, after: Key | None, limit: int,
             match: Callable[[Obj], bool] | None = None) -> tuple[list[Obj], int, Key | None]:
        """Up to `limit` objects (0 = all) sorted by (namespace, name) after key `after`, optionally
        filtered; returns (items, list resourceVersion, last key when more objects may follow).
        Keeps a sorted key list per resource (kept sorted on create/delete), so paging 150k objects is cheap."""
        with self._lock:
            t = self._table(resource)
            keys = t.sorted_keys
            if keys is None:
                keys = t.sorted_keys = sorted(t.objects)
            lo = 0 if not namespace else bisect.bisect_left(keys, (namespace, ""))
            if after is not None:
                lo = max(lo, bisect.bisect_right(keys, after))
            hi = len(keys) if not namespace else bisect.bisect_left(keys, (namespace + "\0", ""))
            objects = t.objects
            out: list[Obj] = []
            i = lo
            while i < hi:
                o = objects[keys[i]]
                i += 1
                if match is None or match(o):
                    out.append(o)
                    if limit and len(out) >= limit:
                        break
            more = keys[i - 1] if (limit and i < hi and out) else None
            return out, self._rv, more

    def count_after(self, resource: str, namespace: str | None, after: Key) -> int:
        """How many objects sort after key `after` (in `namespace`): a paged list's remainingItemCount."""
        with self._lock:
            t = self._table(resource)
            keys = t.sorted_keys
            if keys is None:
                keys = t.sorted_keys = sorted(t.objects)
            hi = len(keys) if not namespace else bisect.bisect_left(keys, (namespace + "\0", ""))
            return max(0, hi - bisect.bisect_right(keys, after))

    # --- writes --------------------------------------------------------------------------
    def create(self, resource: str, obj: Obj) -> Obj:
        with self._lock:
            t = self._table(resource)
            md = obj.setdefault("metadata", {})
            key = (md.get("namespace", ""), md["name"])
            if key in t.objects:
                info = BY_RESOURCE[resource]
                group = info.group
                raise ApiError(409, "AlreadyExists",
                               f'{resource}{"." + group if group else ""} "{md["name"]}" already exists',
                               {"name": md["name"], "group": group, "kind": resource})
            self._stamp_new(md)
            md["resourceVersion"] = self._next_rv()
            t.objects[key] = obj
            if t.sorted_keys is not None:  # keep the paging index sorted (a memmove, not a re-sort)
                bisect.insort(t.sorted_keys, key)
            self._record(t, "ADDED", obj)
            return obj

    def replace(self, resource: str, obj: Obj, expect_rv: str | None = None) -> Obj:
        """Store a new version of an existing object. expect_rv: optimistic-concurrency check (409)."""
        with self._lock:
            t = self._table(resource)
            md = obj["metadata"]
            key = (md.get("namespace", ""), md["name"])
            old = t.objects.get(key)
            if old is None:
                raise not_found(resource, md["name"])
            if expect_rv is not None and expect_rv != old["metadata"]["resourceVersion"]:
                raise conflict(resource, md["name"],
                               "the object has been modified; please apply your changes to the latest version and try again")
            md["uid"] = old["metadata"]["uid"]
            md["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            md["resourceVersion"] = self._next_rv()
            t.objects[key] = obj
            self._record(t, "MODIFIED", obj)
            return obj

    def delete(self, resource: str, namespace: str, name: str) -> Obj:
        with self._lock:
            t = self._table(resource)
            old = t.objects.pop((namespace, name), None)
            if old is None:
                raise not_found(resource, name)
            if t.sorted_keys is not None:
                i = bisect.bisect_left(t.sorted_keys, (namespace, name))
                del t.sorted_keys[i]
            gone_obj = dict(old)
            gone_obj["metadata"] = dict(old["metadata"], resourceVersion=self._next_rv())
            self._record(t, "DELETED", gone_obj)
            return gone_obj

    def load(self, resource: str, objs: Iterable[Obj]) -> int:
        """Bulk start-up load: no watch events; a watch can resume only from after the load."""
        with self._lock:
            t = self._table(resource)
            n = 0
            for obj in objs:
                md = obj.setdefault("metadata", {})
                self._stamp_new(md)
                md["resourceVersion"] = self._next_rv()
                t.objects[(md.get("namespace", ""), md["name"])] = obj
                n += 1
            t.floor_rv = self._rv
            t.sorted_keys = None
            self._changed.notify_all()
            return n

    def compact(self) -> None:
        """Drop all watch history (as after an API server restart): older watches get 410."""
        with self._lock:
            for t in self._tables.values():
                t.history.clear()
                t.floor_rv = self._rv

    # --- internals -----------------------------------------------------------------------
    def _table(self, resource: str) -> _Table:
        t = self._tables.get(resource)
        if t is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return t

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _stamp_new(self, md: Obj) -> None:
        md.setdefault("uid", str(uuidlib.uuid4()))
        md.setdefault("creationTimestamp", rfc3339(self._clock()))

    def _record(self, t: _Table, type_: str, obj: Obj) -> None:
        h = t.history
        if h.maxlen is not None and len(h) == h.maxlen:
            t.floor_rv = h[0].rv
        h.append(WatchEvent(int(obj["metadata"]["resourceVersion"]), type_, obj))
        self._changed.notify_all()
