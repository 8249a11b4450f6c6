"""A paged list of one kind (`limit` + `continue`), the next page fetched while this one is decoded.

A fetcher thread reads pages and only their continue tokens; the caller's thread decodes each page into
records as it arrives. A 429/503 page is retried in place after Retry-After (bounded, as client-go);
a continue token that expired mid-list (410) starts the list over.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable

from .sources.decode import CODECS, decode_list, list_continue_token, no_cyclic_gc
from .sources.kube import KubeConnection, api_error
from .switch_interval import LIST_SWITCH_INTERVAL_S, lowered_switch_interval

PAGE_LIMIT = 500

_RESTART = object()
THROTTLE_RETRIES = 5
RETRY_AFTER_MAX_S = 10.0  # a server asking for longer is waited on in steps of this (as client-go caps it)


def _retry_after(headers) -> float:
    """Seconds a 429/503 asks us to wait (Retry-After in seconds), bounded to [0, RETRY_AFTER_MAX_S]."""
    try:
        return min(max(float(headers.get("retry-after", 1)), 0.0), RETRY_AFTER_MAX_S)
    except (TypeError, ValueError):
        return 1.0


def list_kind(conn: KubeConnection, kind: str, namespace: str | None = None,
              on_page: Callable[[list, int, int | None], None] | None = None,
              limit: int = PAGE_LIMIT, switch_interval: float | None = LIST_SWITCH_INTERVAL_S) -> tuple[list, str]:
    """Paged list of one kind: (records, resourceVersion). Raises ApiError on a non-2xx page.
    The next page is fetched while this one is decoded (a fetcher thread reads only the continue
    token). on_page(records_of_this_page, page_number, remainingItemCount or None) is called as each
    page is decoded. While it runs the GIL switch interval is held at `switch_interval` (None: untouched;
    see switch_interval.py)."""
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
    io = lowered_switch_interval(switch_interval)
    io.__enter__()
    # The cyclic GC waits until the list is done: pages add ~1,000 tracked containers each (cache keys, index
    # lists), all acyclic, and re-enabling it after every page cost a collection per page (~0.3 s at 150k pods).
    paused = no_cyclic_gc()
    paused.__enter__()
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
        paused.__exit__(None, None, None)
        io.__exit__(None, None, None)
