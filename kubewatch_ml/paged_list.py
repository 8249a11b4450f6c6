"""A paged list of one kind (`limit` + `continue`), the next page fetched while this one is decoded.

A fetcher reads pages and only their heads (continue token, remainingItemCount); the caller's thread decodes
each page into records as it arrives. A 429/503 page is retried in place after Retry-After (bounded, as
client-go); a continue token that expired mid-list (410) starts the list over.

A long list (more than PROCESS_AFTER objects still to come after its first page: the pods of a big cluster)
whose pages come uncompressed is fetched by a child process (list_child.py) that writes the pages into a
pipe. In one process the TLS reader needs the GIL back for every ~16 KB record (~90 per 1.4 MB page) while
the decoder holds it, so fetch and decode only half overlap; the child fetches at the server's pace and the
decoder reads a page in a few large pipe reads (bench/data_layer.py, BENCHMARKS.md). A child that cannot
start or dies is replaced by the fetcher thread from the last page it delivered. `KUBEWATCH_LIST_PROCESS`:
0 keeps every list in-process, 1 hands long lists over even when compressed.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import struct
import subprocess
import sys
import threading
from dataclasses import asdict
from typing import IO, Any, Callable, NamedTuple

from .children import child_env, end_child
from .errors import ConnectError
from .sources.decode import CODECS, decode_list, list_meta, no_cyclic_gc
from .sources.kube import KubeConnection, api_error
from .switch_interval import LIST_SWITCH_INTERVAL_S, lowered_switch_interval

log = logging.getLogger(__name__)

PAGE_LIMIT = 500
PROCESS_AFTER = 10_000  # objects still to come after the first page: the rest is fetched by a child process
PROCESS_AFTER_PAGES = 20  # when the server does not say how many remain (remainingItemCount is optional)
LIST_PROCESS_ENV = "KUBEWATCH_LIST_PROCESS"

_RESTART = object()
THROTTLE_RETRIES = 5
RETRY_AFTER_MAX_S = 10.0  # a server asking for longer is waited on in steps of this (as client-go caps it)

# list_child.py -> parent frames: one type byte, a 4-byte length, the payload
FRAME = struct.Struct("!cI")
PAGE, RESTART, FAILED, BROKEN, DONE = b"P", b"R", b"E", b"X", b"D"


class Failed(NamedTuple):
    """A non-2xx page: the list ends with the server's error."""
    status: int
    body: bytes


def _retry_after(headers) -> float:
    """Seconds a 429/503 asks us to wait (Retry-After in seconds), bounded to [0, RETRY_AFTER_MAX_S]."""
    try:
        return min(max(float(headers.get("retry-after", 1)), 0.0), RETRY_AFTER_MAX_S)
    except (TypeError, ValueError):
        return 1.0


def page_loop(conn: KubeConnection, path: str, limit: int, put: Callable[[Any], None], cancel: threading.Event,
              cont: str = "", hand_off: Callable[[int, int | None, str], bool] | None = None) -> str:
    """Fetch the pages of one list from `cont` on. put() gets each page's body, _RESTART when an expired
    continue token (410) started the list over, Failed for a non-2xx page (the end), None after the last
    page. hand_off(pages_so_far, remainingItemCount, Content-Encoding) -> True stops the loop after a page:
    the continue token to go on from is returned ("" when the list ended, failed or was cancelled)."""
    throttled = 0
    pages = 0
    while not cancel.is_set():
        params: dict[str, Any] = {"limit": limit}
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
            pages = 0
            put(_RESTART)
            continue
        if not 200 <= r.status < 300:
            put(Failed(r.status, r.body))
            return ""
        meta = list_meta(r.body)
        cont = meta.continue_
        put(r.body)
        pages += 1
        if not cont:
            put(None)
            return ""
        if hand_off is not None and hand_off(pages, meta.remaining_item_count, r.headers.get("content-encoding", "")):
            return cont
    return ""


def _process_wanted(process_after: int | None) -> Callable[[int, int | None, str], bool] | None:
    """When to hand a list to a child: a long list whose pages come uncompressed. A gzip page is ~10x fewer
    TLS records and zlib inflates without the GIL, so there the thread keeps up and the ~30 MiB of a second
    interpreter buys nothing. KUBEWATCH_LIST_PROCESS: 0 never, 1 also for compressed pages."""
    mode = os.environ.get(LIST_PROCESS_ENV, "auto")
    if process_after is None or mode == "0":
        return None

    def wanted(pages: int, remaining: int | None, encoding: str) -> bool:
        if encoding not in ("", "identity") and mode != "1":
            return False
        if remaining is not None:
            return remaining > process_after
        return pages >= PROCESS_AFTER_PAGES
    return wanted


class _Child:
    """The list process of one list, and whether the list was cancelled (the parent kills it then)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.lock = threading.Lock()
        self.cancelled = False

    def start(self, conn: KubeConnection, path: str, limit: int, cont: str) -> subprocess.Popen | None:
        env = child_env()
        cfg = {"auth": asdict(conn._auth), "authorization": conn.request_headers().get("Authorization"),
               "timeout": conn.timeout, "gzip": conn.ask_gzip, "path": path, "limit": limit, "continue": cont}
        with self.lock:
            if self.cancelled:
                return None
            try:
                self.proc = subprocess.Popen([sys.executable, "-m", "kubewatch_ml.list_child"], stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                             close_fds=True)
            except OSError as e:
                log.warning("cannot start a list process (%s): listing %s in this process", e, path)
                return None
        try:
            self.proc.stdin.write(json.dumps(cfg).encode() + b"\n")
            self.proc.stdin.flush()  # stdin stays open: its end tells the child to stop
        except OSError:
            pass  # it died at once: the reader sees the end of its output
        return self.proc

    def stop(self) -> None:
        with self.lock:
            self.cancelled = True
            proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.kill()

    def reap(self) -> None:
        proc = self.proc
        if proc is None:
            return
        try:
            proc.stdout.close()
        except OSError:
            pass
        end_child(proc)


def _read_frames(out: IO[bytes], put: Callable[[Any], None], cont: str) -> tuple[bool, str]:
    """Forward the child's frames to put(). (ended, continue token after the last page delivered): not
    ended means its output stopped before the list's end (it died or was killed)."""
    while True:
        head = out.read(FRAME.size)
        if len(head) < FRAME.size:
            return False, cont
        kind, n = FRAME.unpack(head)
        payload = out.read(n) if n else b""
        if len(payload) < n:
            return False, cont
        if kind == PAGE:
            cont = list_meta(payload).continue_
            put(payload)
        elif kind == RESTART:
            cont = ""
            put(_RESTART)
        elif kind == DONE:
            put(None)
            return True, ""
        elif kind == FAILED:
            put(Failed(int.from_bytes(payload[:2], "big"), payload[2:]))
            return True, ""
        elif kind == BROKEN:
            put(ConnectError(payload.decode("utf-8", "replace")))
            return True, ""
        else:
            raise ConnectError(f"list process: unknown frame {kind!r}")


def list_kind(conn: KubeConnection, kind: str, namespace: str | None = None,
              on_page: Callable[[list, int, int | None], None] | None = None,
              limit: int = PAGE_LIMIT, switch_interval: float | None = LIST_SWITCH_INTERVAL_S,
              process_after: int | None = -1) -> tuple[list, str]:
    """Paged list of one kind: (records, resourceVersion). Raises ApiError on a non-2xx page.
    The next page is fetched while this one is decoded (a fetcher thread reads only the page heads; past
    `process_after` remaining objects a child process fetches the rest; -1: PROCESS_AFTER, None: never).
    on_page(records_of_this_page, page_number, remainingItemCount or None) is called as each page is
    decoded. While it runs the GIL switch interval is held at `switch_interval` (None: untouched; see
    switch_interval.py)."""
    codec = CODECS[kind]
    path = codec.path(namespace if codec.namespaced else None)
    if process_after == -1:
        process_after = PROCESS_AFTER
    pages: queue.Queue = queue.Queue(maxsize=2)
    cancel = threading.Event()
    child = _Child()

    def fetch() -> None:
        try:
            cont = page_loop(conn, path, limit, pages.put, cancel, hand_off=_process_wanted(process_after))
            if not cont:
                return
            proc = child.start(conn, path, limit, cont)
            if proc is not None:
                try:
                    ended, cont = _read_frames(proc.stdout, pages.put, cont)
                finally:
                    child.reap()
                if ended or cancel.is_set():
                    return
                log.warning("the list process for %s exited (%s): going on in this process", path,
                            proc.returncode)
            page_loop(conn, path, limit, pages.put, cancel, cont)
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
    finished = False
    try:
        while True:
            item = pages.get()
            if item is None:
                finished = True
                return out, rv
            if item is _RESTART:
                out, page_no = [], 0
                continue
            if isinstance(item, Failed):
                raise api_error(item.status, item.body)
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
        if not finished:  # a list given up: its child is killed, a fetcher waiting on a full queue unblocked
            child.stop()
            while fetcher.is_alive():
                try:
                    pages.get_nowait()
                except queue.Empty:
                    fetcher.join(0.05)
        # finished: the fetcher has put its last item and only reaps the child (stdin closed: it exits)
        paused.__exit__(None, None, None)
        io.__exit__(None, None, None)
