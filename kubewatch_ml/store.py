"""ClusterStore: the live cluster state, kept by paged lists then watches, one thread per kind.

The paged list is paged_list.py; the records, indexes and cached immutable snapshot are store_index.py.
Correctness under churn: a 410 (resourceVersion too old) or any list error leads to a full relist
that replaces the kind's records atomically (deleted objects disappear); a dropped watch resumes
from the last resourceVersion with capped exponential backoff (or after the Retry-After a 429/503
asks for, bounded); a 403 marks the kind forbidden and
the other kinds keep running.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Callable, Iterable

import msgspec
import urllib3

from .errors import ConnectError
from .paged_list import PAGE_LIMIT, RETRY_AFTER_MAX_S, THROTTLE_RETRIES, _retry_after, list_kind  # noqa: F401 - re-exported
from .snapshot import ClusterSnapshot, KindState
from .sources.decode import CODECS, decode_watch_line
from .sources.kube import KubeConnection, api_error
from .store_index import WORKLOAD_KINDS, StoreIndexes, _uid  # noqa: F401 - WORKLOAD_KINDS re-exported
from .switch_interval import LIST_SWITCH_INTERVAL_S

log = logging.getLogger(__name__)

ALL_KINDS: tuple[str, ...] = tuple(CODECS)
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
    """A list or watch failed with an HTTP error (not 403/404); retry_after: what a 429/503 asked for."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ClusterStore(StoreIndexes):
    def __init__(self, conn: KubeConnection, kinds: Iterable[str] | None = None, namespace: str | None = None,
                 on_change: Callable[[], None] | None = None, on_progress: ProgressCallback | None = None,
                 watch_timeout: int = WATCH_TIMEOUT_S, switch_interval: float | None = LIST_SWITCH_INTERVAL_S):
        self.conn = conn
        self.switch_interval = switch_interval  # held while listing; None: the caller owns the GIL switch interval
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
        self._init_indexes(self.kinds)
        self._state: dict[str, KindState] = {k: KindState(kind=k) for k in self.kinds}
        self._settled: set[str] = set()
        self._synced = threading.Condition(self._lock)
        self._rv: dict[str, str] = {}
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
                asked = getattr(e, "retry_after", None)
                if asked is not None:  # 429/503 with Retry-After: the server says when (bounded), as for list pages
                    self._stop.wait(asked)
                    continue
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
                    self._upsert_page(kind, records)
                    self._mark_changed(kind)
            self._set_state(kind, listed=pages[1], pages=page_no, error="",
                            total=pages[1] + remaining if remaining is not None else None)
            if self._stop.is_set():
                raise _Settled()

        try:
            records, rv = list_kind(self.conn, kind, self.namespace, on_page, switch_interval=self.switch_interval)
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
            wait = _retry_after(resp.headers) if resp.status in (429, 503) and "retry-after" in resp.headers else None
            raise KindLoadError(str(api_error(resp.status, resp.body)), retry_after=wait)
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
def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:300] or type(e).__name__


def load_snapshot(conn: KubeConnection, kinds: Iterable[str] | None = None, namespace: str | None = None,
                  on_progress: ProgressCallback | None = None, workers: int = 4,
                  switch_interval: float | None = LIST_SWITCH_INTERVAL_S) -> ClusterSnapshot:
    """One-shot paged list of every kind (no watch), for the headless commands.
    Forbidden / unserved kinds are marked in snapshot.kinds; a broken connection raises ConnectError."""
    store = ClusterStore(conn, kinds=kinds, namespace=namespace, on_progress=on_progress,
                         switch_interval=switch_interval)
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
