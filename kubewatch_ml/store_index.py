"""The store's records by kind, the indexes the views need and the immutable snapshot built from them.

Indexes are maintained on every change (pods by node, namespace and direct owner; workloads by key).
snapshot() returns an immutable ClusterSnapshot that is cached until something changes and rebuilt only
for the kinds (and index keys) that changed, so it stays cheap at 150k pods. ClusterStore (store.py)
feeds it from its list and watch loops; every method here is called with the store's lock held.
"""
from __future__ import annotations

import time
from collections import defaultdict
from types import MappingProxyType
from typing import Mapping

from .snapshot import ClusterSnapshot, KindState, WorkloadKey, nodes_by_gpu_product

WORKLOAD_KINDS = ("deployments", "statefulsets", "replicasets", "daemonsets", "jobs")


PENDING_MAX = 50_000


class PodIndex:
    """key -> the uids of its pods, as the tuples snapshots share; changes since the last freeze() wait as
    appended uids and a set of removed ones (a set per pod per index cost ~40 bytes, a tuple slot 8)."""

    __slots__ = ("frozen", "_adds", "_removes")

    def __init__(self) -> None:
        self.frozen: dict = {}
        self._adds: dict = defaultdict(list)
        self._removes: dict = defaultdict(set)

    def add(self, key, uid: str) -> None:
        gone = self._removes.get(key)
        if gone and uid in gone:  # removed since the last freeze and back: it is still in place
            gone.discard(uid)
        else:
            self._adds[key].append(uid)

    def remove(self, key, uid: str) -> None:  # uid is in the key (frozen or added since)
        gone = self._removes[key]
        gone.add(uid)
        if len(gone) > PENDING_MAX:  # a store nobody snapshots under churn: do not let removals pile up
            self.freeze()

    def freeze(self) -> Mapping:
        """Apply what changed; the current key -> tuple map (read-only)."""
        frozen = self.frozen
        for key in set(self._adds) | set(self._removes):
            uids = frozen.get(key, ()) + tuple(self._adds.get(key, ()))
            gone = self._removes.get(key)
            if gone:
                uids = tuple(u for u in uids if u not in gone)
            if uids:
                frozen[key] = uids
            else:
                frozen.pop(key, None)
        self._adds.clear()
        self._removes.clear()
        return MappingProxyType(dict(frozen))


def _uid(rec) -> str:
    return rec.uid or f"{getattr(rec, 'namespace', '')}/{rec.name}"


class StoreIndexes:
    """Records, indexes and the snapshot cache (a base of ClusterStore)."""

    _lock: object  # ClusterStore's RLock, held by every caller of the methods below
    _changed: object  # ClusterStore's change event (readers are notified, coalesced)
    conn: object
    _state: dict[str, KindState]

    def _init_indexes(self, kinds: tuple[str, ...]) -> None:
        self._records: dict[str, dict[str, object]] = {k: {} for k in kinds}
        # pod indexes, maintained on every change
        self._by_node = PodIndex()
        self._by_ns = PodIndex()
        self._by_owner = PodIndex()
        self._wl_by_key: dict[WorkloadKey, object] = {}
        # snapshot cache: frozen parts rebuilt only when their kind (or index key) changed
        self._version = 0
        self._snap: ClusterSnapshot | None = None
        self._snap_version = -1
        self._dirty: set[str] = set(kinds)
        self._frozen: dict[str, object] = {}
        self._lent: set[str] = set()  # kinds whose record map the current snapshot holds (copy on write)

    def _mark_changed(self, kind: str) -> None:
        self._dirty.add(kind)
        self._version += 1
        self._changed.set()

    def _writable(self, kind: str) -> dict:
        """The kind's record map, copied first if the current snapshot holds it (copy on write)."""
        recs = self._records[kind]
        if kind in self._lent:
            self._lent.discard(kind)
            recs = self._records[kind] = dict(recs)
        return recs

    def _upsert(self, kind: str, rec) -> None:
        uid = _uid(rec)
        recs = self._writable(kind)
        old = recs.get(uid)
        recs[uid] = rec
        if kind == "pods":
            self._index_pod(uid, old, rec)
        elif kind in WORKLOAD_KINDS:
            if old is not None:
                self._wl_by_key.pop((old.kind, old.namespace, old.name), None)
            self._wl_by_key[(rec.kind, rec.namespace, rec.name)] = rec

    def _upsert_page(self, kind: str, records: list) -> None:
        """A page of a first list: pods not yet in the store (the usual case) go straight into the map and
        the indexes; anything else (a restarted list repeats pods) through _upsert."""
        if kind != "pods":
            for rec in records:
                self._upsert(kind, rec)
            return
        recs = self._writable(kind)
        by_node, by_ns, by_owner = self._by_node.add, self._by_ns.add, self._by_owner.add
        for rec in records:
            uid = _uid(rec)
            if uid in recs:
                self._upsert(kind, rec)
                continue
            recs[uid] = rec
            if rec.node_name:
                by_node(rec.node_name, uid)
            by_ns(rec.namespace, uid)
            o = rec.owner
            if o is not None:
                by_owner((o.kind, rec.namespace, o.name), uid)

    def _delete(self, kind: str, uid: str) -> None:
        if uid not in self._records[kind]:
            return
        old = self._writable(kind).pop(uid)
        if old is None:
            return
        if kind == "pods":
            self._index_pod(uid, old, None)
        elif kind in WORKLOAD_KINDS:
            key = (old.kind, old.namespace, old.name)
            if self._wl_by_key.get(key) is old:
                del self._wl_by_key[key]

    def _replace_all(self, kind: str, records: list) -> None:
        """A relist: the kind becomes exactly the list (deleted objects disappear)."""
        fresh = {_uid(r): r for r in records}
        for uid in [u for u in self._records[kind] if u not in fresh]:
            self._delete(kind, uid)
        for uid, rec in fresh.items():
            if self._records[kind].get(uid) is not rec:
                self._upsert(kind, rec)

    def _index_pod(self, uid: str, old, new) -> None:
        if old is not None:
            if old.node_name and (new is None or old.node_name != new.node_name):
                self._by_node.remove(old.node_name, uid)
            if new is None or old.namespace != new.namespace:
                self._by_ns.remove(old.namespace, uid)
            ok = _owner_key(old)
            if ok is not None and (new is None or ok != _owner_key(new)):
                self._by_owner.remove(ok, uid)
        if new is not None:
            if new.node_name and (old is None or old.node_name != new.node_name):
                self._by_node.add(new.node_name, uid)
            if old is None or old.namespace != new.namespace:
                self._by_ns.add(new.namespace, uid)
            nk = _owner_key(new)
            if nk is not None and (old is None or _owner_key(old) != nk):
                self._by_owner.add(nk, uid)

    # --- snapshot ------------------------------------------------------------------------

    def snapshot(self) -> ClusterSnapshot:
        """An immutable view; cached until the next change, rebuilt only for what changed."""
        with self._lock:
            if self._snap is not None and self._snap_version == self._version:
                return self._snap
            snap = self._build_snapshot()
            self._snap, self._snap_version = snap, self._version
            return snap

    def _values(self, kind: str) -> tuple:
        return tuple(self._records[kind].values()) if kind in self._records else ()

    def _build_snapshot(self) -> ClusterSnapshot:
        f = self._frozen
        dirty = self._dirty
        if "nodes" in dirty or "nodes" not in f:
            nodes = {n.name: n for n in self._values("nodes")}
            f["nodes"] = MappingProxyType(nodes)
            by_zone: dict[str, list[str]] = defaultdict(list)
            for n in nodes.values():
                by_zone[n.zone].append(n.name)
            f["nodes_by_zone"] = MappingProxyType({z: tuple(v) for z, v in by_zone.items()})
            f["nodes_by_gpu_product"] = nodes_by_gpu_product(nodes.values())
        if "pods" in dirty or "pods" not in f:
            if "pods" in self._records:  # lent to the snapshot, not copied: the next change copies it
                self._lent.add("pods")
            f["pods"] = MappingProxyType(self._records.get("pods", {}))
            f["pods_by_node"] = self._by_node.freeze()
            f["pods_by_namespace"] = self._by_ns.freeze()
            self._by_owner.freeze()
        if "namespaces" in dirty or "namespaces" not in f:
            f["namespaces"] = MappingProxyType({n.name: n for n in self._values("namespaces")})
        if any(k in dirty for k in WORKLOAD_KINDS) or "workloads" not in f:
            f["workloads"] = MappingProxyType(dict(self._wl_by_key))
        if "pods" in dirty or any(k in dirty for k in WORKLOAD_KINDS) or "pods_by_workload" not in f:
            f["pods_by_workload"] = self._pods_by_workload()
        if "events" in dirty or "events" not in f:
            events = self._values("events")
            f["events"] = events
            by_obj: dict[tuple[str, str, str], list] = defaultdict(list)
            for e in events:
                by_obj[(e.involved_kind, e.involved_namespace or e.namespace, e.involved_name)].append(e)
            f["events_by_object"] = MappingProxyType({k: tuple(v) for k, v in by_obj.items()})
        for kind, field in (("resourcequotas", "quotas"), ("limitranges", "limit_ranges"),
                            ("horizontalpodautoscalers", "hpas"), ("poddisruptionbudgets", "pdbs"),
                            ("networkpolicies", "network_policies"), ("services", "services")):
            if kind in dirty or field not in f:
                f[field] = self._values(kind)
        dirty.clear()
        return ClusterSnapshot(
            taken_at=_cluster_now(self.conn),
            cluster=self.conn.info,
            kinds=MappingProxyType(dict(self._state)),
            **{k: f[k] for k in ("nodes", "pods", "namespaces", "quotas", "limit_ranges", "hpas", "workloads",
                                 "events", "pdbs", "network_policies", "services", "pods_by_node",
                                 "pods_by_namespace", "pods_by_workload", "nodes_by_zone", "events_by_object",
                                 "nodes_by_gpu_product")},
        )

    def _pods_by_workload(self) -> Mapping:
        """Direct owners resolved to the top controller (ReplicaSet -> Deployment)."""
        wl = self._wl_by_key
        out: dict[WorkloadKey, tuple[str, ...]] = {}
        for key, uids in self._by_owner.frozen.items():
            top = key
            if key[0] == "ReplicaSet":
                rs = wl.get(key)
                if rs is not None and rs.owner is not None and rs.owner.kind == "Deployment":
                    top = ("Deployment", key[1], rs.owner.name)
            prev = out.get(top)
            out[top] = uids if prev is None else prev + uids
        return MappingProxyType(out)


def _owner_key(p) -> WorkloadKey | None:
    o = p.owner
    return None if o is None else (o.kind, p.namespace, o.name)


def _cluster_now(conn) -> float:
    """The snapshot's time on the cluster's clock (KubeConnection.server_now), else ours."""
    now = getattr(conn, "server_now", None)
    return now() if callable(now) else time.time()
