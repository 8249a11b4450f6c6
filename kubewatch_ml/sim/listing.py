"""Lists and watches: paged list documents (continue tokens, resourceVersion semantics) and the watch
stream (initial events, selector moves, bookmarks, 410 for history that is gone)."""
from __future__ import annotations

import base64
import threading
import time
from typing import Any, Callable

import orjson

from . import tables
from .kinds import KindInfo
from .objects import ApiError, ObjectStore

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool] | None
CONTINUE_TOO_OLD = ("The provided continue parameter is too old to display a consistent list result. You can start "
                    "a new list without the continue parameter, or use the continue token in this response to "
                    "retrieve the remainder of the results. Continuing with the provided token results in an "
                    "inconsistent list - objects that were created, modified, or deleted between the time the first "
                    "chunk was returned and now may show up in the list.")


def wants_table(accept: str | None) -> bool:
    """kubectl asks for a meta.k8s.io Table first and plain JSON as the fallback."""
    return "as=Table" in (accept or "").split(",")[0]


def encode_continue(rv: int, key: tuple[str, str]) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": f"{key[0]}/{key[1]}\x00"})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        d = orjson.loads(raw)
        ns, _, name = d["start"].rstrip("\x00").partition("/")
        return int(d["rv"]), (ns, name)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ApiError(400, "BadRequest", f'continue key is not valid: illegal base64 data or unknown format "{token}"') from None


def _int_param(params: dict, name: str, default: int = 0) -> int:
    try:
        return int(params.get(name) or default)
    except ValueError:
        raise ApiError(400, "BadRequest", f'invalid {name}: "{params.get(name)}"') from None


def list_document(store: ObjectStore, info: KindInfo, namespace: str, params: dict, pred: Predicate,
                  table: bool) -> Obj:
    limit = _int_param(params, "limit")
    after = list_rv = None
    if params.get("continue"):
        list_rv, after = decode_continue(params["continue"])
        if list_rv < store.history_floor(info.resource):
            raise ApiError(410, "Expired", CONTINUE_TOO_OLD)
    else:
        wait_for_rv(store, params.get("resourceVersion", ""), params.get("resourceVersionMatch", ""))
    items, rv, more = store.page(info.resource, namespace or None, after, limit, pred)
    if list_rv is not None:
        rv = list_rv  # every page of one list reports the first page's resourceVersion
    meta: Obj = {"resourceVersion": str(rv)}
    if more is not None:
        meta["continue"] = encode_continue(rv, more)
        if pred is None:  # as the etcd3 store: the count only when no label/field selector filters the list
            meta["remainingItemCount"] = store.count_after(info.resource, namespace or None, more)
    if table:
        return tables.table(info.resource, items, store.now(), meta, params.get("includeObject", "Metadata"))
    # a real API server leaves kind/apiVersion off the items of a typed list (only the list carries them)
    items = [{k: v for k, v in o.items() if k != "kind" and k != "apiVersion"} for o in items]
    return {"kind": f"{info.kind}List", "apiVersion": info.api_version, "metadata": meta, "items": items}


def wait_for_rv(store: ObjectStore, rv_param: str, match: str) -> None:
    """resourceVersion on a list: "" / "0" any; N not older than N (wait up to 3 s); Exact N only N."""
    if rv_param in ("", "0"):
        return
    want = _int_param({"resourceVersion": rv_param}, "resourceVersion")
    current = store.resource_version
    if match == "Exact" and want < current:
        raise ApiError(410, "Expired", f"too old resource version: {want} ({current})")
    if want > current:
        deadline = time.monotonic() + 3
        while store.resource_version < want and time.monotonic() < deadline:
            store.wait_for_change(store.resource_version, deadline - time.monotonic())
        if store.resource_version < want:
            raise ApiError(504, "Timeout", f"Too large resource version: {want}, current: {store.resource_version}",
                           {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}]},
                           retry_after=1)


class WatchStream:
    """One watch. Construct (validates parameters), then `run(write)` until timeout, stop or a write fails."""

    def __init__(self, store: ObjectStore, info: KindInfo, namespace: str, params: dict, pred: Predicate,
                 table: bool):
        self.store, self.info, self.namespace, self.pred, self.table = store, info, namespace, pred, table
        self.include = params.get("includeObject", "Metadata")
        self.bookmarks = params.get("allowWatchBookmarks") in ("true", "1")
        self.send_initial = params.get("sendInitialEvents") == "true"
        rv_param = params.get("resourceVersion", "")
        self.initial = self.send_initial or rv_param in ("", "0")
        self.start_rv = 0 if rv_param in ("", "0") else _int_param(params, "resourceVersion")
        try:
            self.timeout = float(params.get("timeoutSeconds") or 1800)
        except ValueError:
            raise ApiError(400, "BadRequest", "invalid timeoutSeconds") from None

    def _encode(self, obj: Obj) -> Obj:
        if self.table:
            return tables.table(self.info.resource, [obj], self.store.now(),
                                {"resourceVersion": obj["metadata"]["resourceVersion"]}, self.include)
        return obj

    def _matches(self, o: Obj) -> bool:
        if self.namespace and o["metadata"].get("namespace") != self.namespace:
            return False
        return self.pred is None or self.pred(o)

    def run(self, write: Callable[[bytes], None], stopping: threading.Event, drop: bool = False,
            bookmark_interval: float = 10.0, coalesce: float = 0.0) -> None:
        store, info = self.store, self.info

        def emit(type_: str, obj: Obj) -> None:
            write(orjson.dumps({"type": type_, "object": obj}) + b"\n")

        def bookmark(rv: int, annotations: Obj | None = None) -> None:
            md: Obj = {"resourceVersion": str(rv)}
            if annotations:
                md["annotations"] = annotations
            emit("BOOKMARK", {"kind": info.kind, "apiVersion": info.api_version, "metadata": md})

        # With a selector, objects move in and out of view: the stream tracks what its client holds and
        # turns a move out into DELETED and a move in into ADDED, as the real watch cache does.
        selected: set | None = None
        rv = self.start_rv
        if self.initial or self.pred is not None:
            items, list_rv, _ = store.page(info.resource, self.namespace or None, None, 0, self.pred)
            if self.pred is not None:
                selected = {(o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in items}
            if self.initial:
                for o in items:
                    emit("ADDED", self._encode(o))
                if self.bookmarks and self.send_initial:
                    bookmark(list_rv, {"k8s.io/initial-events-end": "true"})
                rv = list_rv
        deadline = time.monotonic() + self.timeout
        last_sent = time.monotonic()
        while not stopping.is_set():
            seen_global = store.resource_version
            try:
                events = store.events_after(info.resource, rv)
            except ApiError as e:  # history gone: the client must list again
                emit("ERROR", e.status())
                return
            for ev in events:
                rv = ev.rv
                type_ = ev.type if self._matches(ev.obj) else None
                if selected is not None:
                    key = (ev.obj["metadata"].get("namespace", ""), ev.obj["metadata"]["name"])
                    held = key in selected
                    if type_ is None or type_ == "DELETED":
                        type_ = "DELETED" if held else None
                        selected.discard(key)
                    else:
                        type_ = "MODIFIED" if held else "ADDED"
                        selected.add(key)
                if type_ is not None:
                    emit(type_, self._encode(ev.obj))
                    last_sent = time.monotonic()
            left = deadline - time.monotonic()
            if left <= 0 or drop:
                return
            if self.bookmarks and time.monotonic() - last_sent >= bookmark_interval:
                bookmark(max(rv, seen_global))
                last_sent = time.monotonic()
            if store.wait_for_change(seen_global, min(left, 1.0, bookmark_interval)) > seen_global and coalesce:
                time.sleep(coalesce)  # optional: batch a burst of writes into one pass per watcher
