"""ClusterStore: the live cluster state, kept by paged lists then watches, one thread per kind.

Records are held by uid per kind, with indexes maintained on every change (pods by node, namespace
and direct owner; workloads by key). snapshot() returns an immutable ClusterSnapshot that is cached
until something changes and rebuilt only for the kinds that changed, so it stays cheap at 150k pods.
Correctness under churn: a 410 (resourceVersion too old) or any list error leads to a full relist
that replaces the kind's records atomically (deleted objects disappear); a dropped watch resumes
from the last resourceVersion with capped exponential backoff; a 403 marks the kind forbidden and
the other kinds keep running.
"""
from __future__ import annotations

import logging
import queue
import random
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from types import MappingProxyType
from typing import Callable, Iterable, Mapping

import msgspec
import urllib3

from .errors import ConnectError
from .snapshot import ClusterSnapshot, KindState, WorkloadKey, nodes_by_gpu_product
from .sources.decode import CODECS, decode_list, decode_watch_line, list_continue_token
from .sources.kube import KubeConnection, api_error

log = logging.getLogger(__name__)

ALL_KINDS: tuple[str, ...] = tuple(CODECS)
WORKLOAD_KINDS = ("deployments", "statefulsets", "replicasets", "daemonsets", "jobs")
PAGE_LIMIT = 500
WATCH_TIMEOUT_S = 290  # the server ends a watch after this; we then resume from the last resourceVersion
BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
FORBIDDEN_RETRY_S = 120.0
NOTIFY_INTERVAL_S = 0.5  # on_change at most twice a second

ProgressCallback = Callable[[str, KindState], None]


class _Relist(Exception):
    """The watch cannot continue from its resourceVersion (410 Gone): list again."""


class _Settled(Exception):
    """The kind cannot be read (403, 404): stop trying for a while."""


class KindLoadError(Exception):
    """A list failed with an HTTP error (not 403/404)."""


_RESTART = object()
THROTTLE_RETRIES = 5
LIST_SWITCH_INTERVAL_S = 0.001
_switch_lock = threading.Lock()
_switch_users = [0, 0.0]  # lists running, interval before the first one


@contextmanager
def _responsive_io():
    """While pages are fetched beside a decoding thread, hand the GIL back to the socket reader within
    1 ms instead of 5: each TLS record read re-acquires it, and at the default the reader waits behind the
    decoder (a convoy that made the overlapped list slower than a sequential one). Restored afterwards."""
    with _switch_lock:
        if _switch_users[0] == 0:
            _switch_users[1] = sys.getswitchinterval()
            if _switch_users[1] > LIST_SWITCH_INTERVAL_S:
                sys.setswitchinterval(LIST_SWITCH_INTERVAL_S)
        _switch_users[0] += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users[0] -= 1
            if _switch_users[0] == 0 and sys.getswitchinterval() == LIST_SWITCH_INTERVAL_S < _switch_users[1]:
                sys.setswitchinterval(_switch_users[1])


def _retry_after(headers) -> float:
    try:
        return min(max(float(headers.get("retry-after", 1)), 0.0), 10.0)
    except (TypeError, ValueError):
        return 1.0


def list_kind(conn: KubeConnection, kind: str, namespace: str | None = None,
              on_page: Callable[[list, int, int | None], None] | None = None,
              limit: int = PAGE_LIMIT) -> tuple[list, str]:
    """Paged list of one kind: (records, resourceVersion). Raises ApiError on a non-2xx page.
    The next page is fetched while this one is decoded (a fetcher thread reads only the continue
    token). on_page(records_of_this_page, page_number, remainingItemCount or None) is called as each
    page is decoded."""
    codec = CODECS[kind]
    path = codec.path(namespace if codec.namespaced else None)
    pages: queue.Queue = queue.Queue(maxsize=2)
    cancel = threading.Event()

    def fetch() -> None:
        cont = ""
        throttled = 0
        try:
            while not cancel.is_set():
                params = {"limit": limit}
                if cont:
                    params["continue"] = cont
                r = conn.request("GET", path, params)
                if r.status in (429, 503) and throttled < THROTTLE_RETRIES:  # as client-go: honour Retry-After
                    throttled += 1
                    cancel.wait(_retry_after(r.headers))
                    continue
                throttled = 0
                if r.status == 410 and cont:  # the continue token expired mid-list: start over
                    cont = ""
                    pages.put(_RESTART)
                    continue
                if not 200 <= r.status < 300:
                    pages.put(api_error(r.status, r.body))
                    return
                cont = list_continue_token(r.body)
                pages.put(r.body)
                if not cont:
                    pages.put(None)
                    return
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, re-raised there
            pages.put(e)

    fetcher = threading.Thread(target=fetch, name=f"list-{kind}", daemon=True)
    out: list = []
    page_no = 0
    rv = ""
    io = _responsive_io()
    io.__enter__()
    fetcher.start()
    try:
        while True:
            item = pages.get()
            if item is None:
                return out, rv
            if item is _RESTART:
                out, page_no = [], 0
                continue
            if isinstance(item, BaseException):
                raise item
            page = decode_list(kind, item)
            del item
            page_no += 1
            out.extend(page.records)
            rv = page.resource_version
            if on_page is not None:
                on_page(page.records, page_no, page.remaining)
    finally:
        cancel.set()
        while fetcher.is_alive():  # unblock a fetcher waiting on a full queue
            try:
                pages.get_nowait()
            except queue.Empty:
                fetcher.join(0.05)
        io.__exit__(None, None, None)


def _uid(rec) -> str:
    return rec.uid or f"{getattr(rec, 'namespace', '')}/{rec.name}"


class ClusterStore:
    def __init__(self, conn: KubeConnection, kinds: Iterable[str] | None = None, namespace: str | None = None,
                 on_change: Callable[[], None] | None = None, on_progress: ProgressCallback | None = None,
                 watch_timeout: int = WATCH_TIMEOUT_S):
        self.conn = conn
        self.kinds: tuple[str, ...] = tuple(kinds) if kinds else ALL_KINDS
        unknown = [k for k in self.kinds if k not in CODECS]
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; known: {', '.join(CODECS)}")
        self.namespace = namespace if namespace is not None else getattr(conn, "namespace", None)
        self.on_change = on_change
        self.on_progress = on_progress
        self.watch_timeout = watch_timeout
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._changed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._streams: dict[str, object] = {}
        self._records: dict[str, dict[str, object]] = {k: {} for k in self.kinds}
        self._state: dict[str, KindState] = {k: KindState(kind=k) for k in self.kinds}
        self._settled: set[str] = set()
        self._synced = threading.Condition(self._lock)
        self._rv: dict[str, str] = {}
        # indexes, maintained on every change (values: sets of pod uids)
        self._by_node: dict[str, set[str]] = defaultdict(set)
        self._by_ns: dict[str, set[str]] = defaultdict(set)
        self._by_owner: dict[WorkloadKey, set[str]] = defaultdict(set)
        self._wl_by_key: dict[WorkloadKey, object] = {}
        # snapshot cache: frozen parts rebuilt only when their kind (or index key) changed
        self._version = 0
        self._snap: ClusterSnapshot | None = None
        self._snap_version = -1
        self._dirty: set[str] = set(self.kinds)
        self._dirty_node_keys: set[str] = set()
        self._dirty_ns_keys: set[str] = set()
        self._dirty_owner_keys: set[WorkloadKey] = set()
        self._frozen: dict[str, object] = {}
        self._f_by_node: dict[str, tuple[str, ...]] = {}
        self._f_by_ns: dict[str, tuple[str, ...]] = {}
        self._f_by_owner: dict[WorkloadKey, tuple[str, ...]] = {}
        self.applied_events = 0  # watch events applied (for benchmarks and status lines)
        self.lists_completed: dict[str, int] = {k: 0 for k in self.kinds}  # 1 + relists (410, errors)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> "ClusterStore":
        if self._threads:
            return self
        for k in self.kinds:
            t = threading.Thread(target=self._run_kind, args=(k,), name=f"kube-{k}", daemon=True)
            self._threads.append(t)
        if self.on_change is not None:
            self._threads.append(threading.Thread(target=self._notify_loop, name="kube-notify", daemon=True))
        for t in self._threads:
            t.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._changed.set()
        with self._lock:
            streams = list(self._streams.values())
        for s in streams:
            s.close()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        with self._synced:
            self._synced.notify_all()

    def __enter__(self) -> "ClusterStore":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_synced(self, timeout: float | None = None) -> bool:
        """True once every kind has been listed (or is forbidden / not served)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._synced:
            while not self._all_settled():
                if self._stop.is_set():
                    return False
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._synced.wait(left if left is None else min(left, 0.5))
            return True

    def _all_settled(self) -> bool:
        return all(self._state[k].complete or k in self._settled for k in self.kinds)

    def progress(self) -> dict[str, KindState]:
        with self._lock:
            return dict(self._state)

    # --- per-kind loop ----------------------------------------------------------------------

    def _run_kind(self, kind: str) -> None:
        backoff = BACKOFF_START_S
        need_list = True
        while not self._stop.is_set():
            try:
                if need_list:
                    self._list(kind)
                    need_list = False
                    backoff = BACKOFF_START_S
                started = time.monotonic()
                self._watch(kind)
                if time.monotonic() - started < 1.0:  # closed at once: do not hammer the server
                    self._stop.wait(backoff * (0.8 + 0.4 * random.random()))
                    backoff = min(backoff * 2, BACKOFF_MAX_S)
                else:  # a watch that ended normally (timeoutSeconds): resume
                    backoff = BACKOFF_START_S
            except _Relist:
                need_list = True
                continue
            except _Settled:
                self._stop.wait(FORBIDDEN_RETRY_S)
                need_list = True
            except (ConnectError, KindLoadError, msgspec.DecodeError, OSError, urllib3.exceptions.HTTPError) as e:
                if self._stop.is_set():
                    break
                self._set_state(kind, error=_one_line(e))
                self._stop.wait(backoff * (0.8 + 0.4 * random.random()))
                backoff = min(backoff * 2, BACKOFF_MAX_S)
            except Exception as e:  # noqa: BLE001 - keep the other kinds running; say what happened
                if self._stop.is_set():
                    break
                log.exception("unexpected error in the %s loop", kind)
                self._set_state(kind, error=f"internal error: {_one_line(e)}")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                need_list = True

    def _list(self, kind: str) -> None:
        first = not self._state[kind].complete and not self._records[kind]
        pages = [0, 0, False]  # pages, items so far, restarted (continue token expired)

        def on_page(records: list, page_no: int, remaining: int | None = None) -> None:
            if page_no == 1 and pages[0]:
                pages[2] = True
            pages[0] = page_no
            pages[1] = len(records) if page_no == 1 else pages[1] + len(records)
            if first:  # the initial load shows up page by page
                with self._lock:
                    for rec in records:
                        self._upsert(kind, rec)
                    self._mark_changed(kind)
            self._set_state(kind, listed=pages[1], pages=page_no, error="",
                            total=pages[1] + remaining if remaining is not None else None)
            if self._stop.is_set():
                raise _Settled()

        try:
            records, rv = list_kind(self.conn, kind, self.namespace, on_page)
        except Exception as e:
            status = getattr(e, "status", None)
            if status == 403:
                self._forbid(kind, getattr(e, "message", "") or "no list permission")
                raise _Settled() from None
            if status == 404:
                self._set_state(kind, complete=False, error="not served by this cluster (404)", settle=True)
                raise _Settled() from None
            if status is not None:
                raise KindLoadError(str(e)) from None
            raise
        n = len(records)
        with self._lock:
            if not (first and not pages[2]):  # a clean first load is already in place, page by page
                self._replace_all(kind, records)
            del records
            self._rv[kind] = rv
            self.lists_completed[kind] += 1
            self._mark_changed(kind)
        self._set_state(kind, listed=n, total=n, pages=pages[0], complete=True, forbidden=False, error="",
                        synced_at=time.time(), settle=True)

    def _forbid(self, kind: str, message: str) -> None:
        with self._lock:  # what we may no longer read must not look current
            if self._records[kind]:
                self._replace_all(kind, [])
                self._mark_changed(kind)
        self._set_state(kind, forbidden=True, complete=False, error=f"forbidden: {message}"[:300], settle=True)

    def _watch(self, kind: str) -> None:
        codec = CODECS[kind]
        path = codec.path(self.namespace if codec.namespaced else None)
        params = {"watch": "true", "resourceVersion": self._rv.get(kind, ""), "allowWatchBookmarks": "true",
                  "timeoutSeconds": self.watch_timeout}
        resp = self.conn.request("GET", path, params, stream=True, timeout=self.watch_timeout + 30)
        if resp.status == 410:
            raise _Relist()
        if resp.status == 403:
            self._forbid(kind, api_error(resp.status, resp.body).message or "no watch permission")
            raise _Settled()
        if not 200 <= resp.status < 300:
            raise KindLoadError(str(api_error(resp.status, resp.body)))
        with self._lock:
            self._streams[kind] = resp
        if self._state[kind].error:  # the watch is back: clear the error line
            self._set_state(kind, error="", synced_at=time.time())
        try:
            if self._stop.is_set():
                return
            for line in resp:
                ch = decode_watch_line(kind, line)
                if ch.type == "ERROR":
                    if ch.code == 410:
                        raise _Relist()
                    raise KindLoadError(f"watch error {ch.code}: {ch.message}")
                if ch.type == "BOOKMARK":
                    with self._lock:
                        if ch.resource_version:
                            self._rv[kind] = ch.resource_version
                    self._set_state(kind, synced_at=time.time())  # proof the kind is current
                    continue
                with self._lock:
                    if ch.type == "DELETED":
                        self._delete(kind, _uid(ch.record))
                    elif ch.type in ("ADDED", "MODIFIED"):
                        self._upsert(kind, ch.record)
                    else:
                        continue
                    if ch.resource_version:
                        self._rv[kind] = ch.resource_version
                    self.applied_events += 1
                    self._mark_changed(kind)
        finally:
            with self._lock:
                self._streams.pop(kind, None)
            resp.close()

    # --- state changes (hold self._lock) -----------------------------------------------------

    def _set_state(self, kind: str, settle: bool = False, **changes) -> None:
        with self._lock:
            st = replace(self._state[kind], **changes)
            self._state[kind] = st
            if settle:
                self._settled.add(kind)
            self._dirty.add("_kinds")
            self._version += 1
            self._synced.notify_all()
        self._changed.set()  # readers learn about progress, errors and forbidden kinds too (coalesced)
        if self.on_progress is not None:
            try:
                self.on_progress(kind, st)
            except Exception:  # noqa: BLE001 - a UI callback must not kill the loader
                log.exception("on_progress callback failed")

    def _mark_changed(self, kind: str) -> None:
        self._dirty.add(kind)
        self._version += 1
        self._changed.set()

    def _upsert(self, kind: str, rec) -> None:
        uid = _uid(rec)
        recs = self._records[kind]
        old = recs.get(uid)
        recs[uid] = rec
        if kind == "pods":
            self._index_pod(uid, old, rec)
        elif kind in WORKLOAD_KINDS:
            if old is not None:
                self._wl_by_key.pop((old.kind, old.namespace, old.name), None)
            self._wl_by_key[(rec.kind, rec.namespace, rec.name)] = rec

    def _delete(self, kind: str, uid: str) -> None:
        old = self._records[kind].pop(uid, None)
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
        recs = self._records[kind]
        for uid in [u for u in recs if u not in fresh]:
            self._delete(kind, uid)
        for uid, rec in fresh.items():
            if recs.get(uid) is not rec:
                self._upsert(kind, rec)

    def _index_pod(self, uid: str, old, new) -> None:
        if old is not None:
            if new is None or old.node_name != new.node_name:
                self._idx_remove(self._by_node, old.node_name, uid, self._dirty_node_keys)
            if new is None or old.namespace != new.namespace:
                self._idx_remove(self._by_ns, old.namespace, uid, self._dirty_ns_keys)
            ok = _owner_key(old)
            if ok is not None and (new is None or ok != _owner_key(new)):
                self._idx_remove(self._by_owner, ok, uid, self._dirty_owner_keys)
        if new is not None:
            if new.node_name and (old is None or old.node_name != new.node_name):
                self._by_node[new.node_name].add(uid)
                self._dirty_node_keys.add(new.node_name)
            if old is None or old.namespace != new.namespace:
                self._by_ns[new.namespace].add(uid)
                self._dirty_ns_keys.add(new.namespace)
            nk = _owner_key(new)
            if nk is not None and (old is None or _owner_key(old) != nk):
                self._by_owner[nk].add(uid)
                self._dirty_owner_keys.add(nk)

    @staticmethod
    def _idx_remove(index: dict, key, uid: str, dirty: set) -> None:
        s = index.get(key)
        if s is not None:
            s.discard(uid)
            if not s:
                del index[key]
            dirty.add(key)

    # --- change notifications ------------------------------------------------------------

    def _notify_loop(self) -> None:
        while not self._stop.is_set():
            self._changed.wait()
            if self._stop.is_set():
                return
            self._changed.clear()
            try:
                self.on_change()
            except Exception:  # noqa: BLE001
                log.exception("on_change callback failed")
            self._stop.wait(NOTIFY_INTERVAL_S)

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
            f["pods"] = MappingProxyType(dict(self._records.get("pods", {})))
            f["pods_by_node"] = self._refreeze(self._by_node, self._f_by_node, self._dirty_node_keys)
            f["pods_by_namespace"] = self._refreeze(self._by_ns, self._f_by_ns, self._dirty_ns_keys)
            self._refreeze(self._by_owner, self._f_by_owner, self._dirty_owner_keys)
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

    @staticmethod
    def _refreeze(index: dict, frozen: dict, dirty_keys: set) -> Mapping:
        for k in dirty_keys:
            s = index.get(k)
            if s:
                frozen[k] = tuple(s)
            else:
                frozen.pop(k, None)
        dirty_keys.clear()
        return MappingProxyType(dict(frozen))

    def _pods_by_workload(self) -> Mapping:
        """Direct owners resolved to the top controller (ReplicaSet -> Deployment)."""
        wl = self._wl_by_key
        out: dict[WorkloadKey, tuple[str, ...]] = {}
        for key, uids in self._f_by_owner.items():
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


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:300] or type(e).__name__


def load_snapshot(conn: KubeConnection, kinds: Iterable[str] | None = None, namespace: str | None = None,
                  on_progress: ProgressCallback | None = None, workers: int = 4) -> ClusterSnapshot:
    """One-shot paged list of every kind (no watch), for the headless commands.
    Forbidden / unserved kinds are marked in snapshot.kinds; a broken connection raises ConnectError."""
    store = ClusterStore(conn, kinds=kinds, namespace=namespace, on_progress=on_progress)
    kinds_t = store.kinds
    order = sorted(kinds_t, key=lambda k: k != "pods")  # start the big one first

    def one(kind: str) -> None:
        try:
            store._list(kind)
        except _Settled:
            pass
        except KindLoadError as e:
            store._set_state(kind, error=_one_line(e), settle=True)

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(order)))) as ex:
        for fut in [ex.submit(one, k) for k in order]:
            fut.result()  # re-raises ConnectError
    return store.snapshot()


def _cluster_now(conn) -> float:
    """The snapshot's time on the cluster's clock (KubeConnection.server_now), else ours."""
    now = getattr(conn, "server_now", None)
    return now() if callable(now) else time.time()
