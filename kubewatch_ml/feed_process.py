"""The live feed in a child process, so the dashboard's UI thread never waits for its GIL.

At 150,000 pods the live data path is seconds of pure-Python CPU: decoding the initial lists (~5 s),
parsing exporter text every refresh, analysing every frame (~0.6 s). In threads of the dashboard's own
process all of it competes with the UI thread for one GIL, and keys waited for it (loading p95 over
100 ms). Here a child (`python -m kubewatch_ml.feed_child`, a fresh interpreter: no fork of a big
process) runs the whole LiveFeed — store, metrics, analysis — and sends each frame's view models over
a pipe; the dashboard only unpickles them, in pieces of a few hundred rows, each a GIL hold of a few
milliseconds, and skips the views whose bytes did not change since the last frame.

What the views read beyond the view models (the pods on a node, a pod's events, a workload's pods)
stays in the child: `RemoteCluster` asks for it by frame id when a detail pane opens. The dashboard
connects once itself (errors are one line before the TUI starts, actions and context listing use that
connection, a read-only context is resolved there), then hands the resolved settings to the child.
The child runs at a lower CPU priority (feed_child.FEED_NICE): on a busy machine the dashboard comes first.
A child that dies is said in the status line (exit code, last log line, the log's path) and started again
after a backoff (1 s doubling to 30 s); the last frame stays on screen meanwhile.

Wire: each message is an 8-byte big-endian length and a pickle. Child -> parent: ("status", FeedStatus),
("frame", id, taken_at, FeedStatus), ("piece", id, view, field, pickled value), ("same", id, view),
("end", id), ("reply", request id, ok, value), ("fatal", one line). Parent -> child: ("start", settings),
then ("call", request id, frame id, method, argument). The child exits when its stdin closes.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from .children import child_env, end_child
from .feed import Frame, FeedStatus

HEADER = struct.Struct("!Q")
CHUNK_ROWS = 250  # rows per piece: unpickling one is a few ms of the dashboard's GIL
CALL_TIMEOUT_S = 1.0  # a detail pane's question to the child; past it the pane says so
FRAMES_KEPT = 3  # snapshots the child keeps for questions about recent frames
NAMES = "_names"  # the piece with the names the command palette lists
RESTART_FIRST_S = 1.0  # a dead feed process is started again after this, doubling up to RESTART_MAX_S
RESTART_MAX_S = 30.0


class FeedUnavailable(RuntimeError):
    """The feed process could not answer (gone, or too slow); the detail pane shows this line."""


# ---------------------------------------------------------------- wire (both sides)
def write_message(out: BinaryIO, msg: tuple) -> None:
    data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(HEADER.pack(len(data)) + data)


def read_message(inp: BinaryIO) -> tuple | None:
    """The next message, or None at end of stream."""
    head = _read_exact(inp, HEADER.size)
    if head is None:
        return None
    data = _read_exact(inp, HEADER.unpack(head)[0])
    if data is None:
        return None
    return pickle.loads(data)


def _read_exact(inp: BinaryIO, n: int) -> bytes | None:
    parts, left = [], n
    while left:
        b = inp.read(left)
        if not b:
            return None
        parts.append(b)
        left -= len(b)
    return b"".join(parts) if len(parts) != 1 else parts[0]


def split_value(value: Any) -> list[tuple[str, Any]]:
    """A view model as pieces: ("", shell) first, then (field, rows) for each long tuple field, in
    chunks of CHUNK_ROWS (the shell has () there). A long top-level tuple is ("", ()) + ("*", rows)."""
    if isinstance(value, tuple) and len(value) > CHUNK_ROWS:
        return [("", ())] + [("*", value[i:i + CHUNK_ROWS]) for i in range(0, len(value), CHUNK_ROWS)]
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return [("", value)]
    long = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)
            if isinstance(getattr(value, f.name), tuple) and len(getattr(value, f.name)) > CHUNK_ROWS}
    if not long:
        return [("", value)]
    shell = dataclasses.replace(value, **{name: () for name in long})
    pieces: list[tuple[str, Any]] = [("", shell)]
    for name, rows in long.items():
        pieces += [(name, rows[i:i + CHUNK_ROWS]) for i in range(0, len(rows), CHUNK_ROWS)]
    return pieces


def join_value(pieces: list[tuple[str, Any]]) -> Any:
    """split_value's inverse (the shell is a fresh unpickled object, so filling it in is safe)."""
    shell = pieces[0][1]
    rows: dict[str, list] = {}
    for name, chunk in pieces[1:]:
        rows.setdefault(name, []).append(chunk)
    if "*" in rows:
        return tuple(itertools.chain.from_iterable(rows["*"]))
    for name, chunks in rows.items():
        object.__setattr__(shell, name, tuple(itertools.chain.from_iterable(chunks)))
    return shell


def frame_views(frame: Frame) -> dict[str, Any]:
    """What the dashboard gets of a frame: the analysis' views, and the names the palette lists."""
    views = {f.name: getattr(frame.analysis, f.name) for f in dataclasses.fields(frame.analysis)}
    c = frame.cluster
    views[NAMES] = (tuple(c.namespaces), tuple(c.nodes), tuple(c.workloads))
    return views


def encode_views(views: dict[str, Any], sent: dict[str, bytes]) -> Iterator[tuple[str, list[tuple[str, bytes]] | None]]:
    """(view, [(field, pickled piece)]) per view, or (view, None) when its bytes equal what was sent
    last time (`sent`: view -> digest, updated)."""
    for name, value in views.items():
        pieces = [(field, pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)) for field, v in split_value(value)]
        h = hashlib.blake2b(digest_size=16)
        for field, data in pieces:
            h.update(field.encode() + b"\0" + HEADER.pack(len(data)) + data)
        digest = h.digest()
        if sent.get(name) == digest:
            yield name, None
        else:
            sent[name] = digest
            yield name, pieces


# ---------------------------------------------------------------- the dashboard's side
class RemoteCluster:
    """Frame.cluster for a frame made in the feed process: the names the palette lists, and the
    questions the detail panes ask (pods_on, pods_of, events_by_object.get) sent to the child."""

    def __init__(self, feed: "ProcessFeed", frame_id: tuple[int, int], names: tuple):
        self._feed, self._frame_id = feed, frame_id
        self.namespaces, self.nodes, self.workloads = names
        self.events_by_object = _RemoteEvents(self)

    def ask(self, method: str, arg: Any) -> Any:
        return self._feed.call(self._frame_id, method, arg)

    def pods_on(self, node: str) -> list:
        return self.ask("pods_on", node)

    def pods_of(self, key) -> list:
        return self.ask("pods_of", key)


class _RemoteEvents:
    def __init__(self, cluster: RemoteCluster):
        self._cluster = cluster

    def get(self, key, default=()):
        found = self._cluster.ask("events", key)
        return default if found is None else found


class ProcessFeed:
    """The Feed protocol over a child process that runs LiveFeed (see the module's docstring). A child
    that dies (killed, out of memory, a bug) is said in the status line with its exit code and last log
    line, and started again after a backoff; the last frame stays on screen meanwhile."""

    def __init__(self, settings, conn, *, python: str = sys.executable, log_dir: str | None = None):
        self.conn = conn  # the dashboard's own connection: actions, contexts, read-only
        self._settings = settings
        self._python = python
        self._info = getattr(conn, "info", None)
        self._cond = threading.Condition()
        self._frame: Frame | None = None  # the newest frame not handed out yet
        self._status = FeedStatus(context=getattr(self._info, "context", ""), server=getattr(self._info, "server", ""),
                                  readonly=bool(getattr(conn, "readonly", False)),
                                  insecure=bool(getattr(self._info, "insecure", False)))
        self._views: dict[str, Any] = {}  # the last frame's views, for "same"
        self._calls: dict[int, list] = {}  # request id -> [event, ok, value]
        self._call_ids = itertools.count(1)
        self._write_lock = threading.Lock()
        self._closed = threading.Event()
        self._error = ""  # why the feed process is not working now ("" when it is)
        self._failed = False  # it failed at least once: the log is kept
        self.generation = 0  # children started so far; frame ids are per child
        self.restarts = 0
        fd, self.log_path = tempfile.mkstemp(prefix="kubewatch-feed-", suffix=".log", dir=log_dir)
        self._log = os.fdopen(fd, "ab")
        self.proc = self._spawn()
        self._reader = threading.Thread(target=self._run, name="kubewatch-feed-reader", daemon=True)
        self._reader.start()

    def _spawn(self) -> subprocess.Popen:
        env = child_env()
        proc = subprocess.Popen([self._python, "-m", "kubewatch_ml.feed_child"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=self._log, env=env, close_fds=True)
        self.generation += 1
        try:
            with self._write_lock:
                write_message(proc.stdin, ("start", self._settings))
                proc.stdin.flush()
        except OSError:  # it died at once: the reader says how (exit code, last log line)
            pass
        return proc

    # -- Feed protocol
    def next_frame(self, timeout: float) -> Frame | None:
        with self._cond:
            if self._frame is None and not self._closed.is_set():
                self._cond.wait(timeout)
            frame, self._frame = self._frame, None
            return frame

    def progress(self) -> FeedStatus:
        with self._cond:
            status = self._status
        if self._error:
            return dataclasses.replace(status, api_state="error", api_error=self._error)
        return status

    def close(self) -> None:
        with self._cond:
            if self._closed.is_set():
                return
            self._closed.set()
            self._cond.notify_all()
        self._stop_child(self.proc)
        self._reader.join(5)
        self._log.close()
        if not self._failed:
            Path(self.log_path).unlink(missing_ok=True)
        self._fail_calls("the feed is closed")

    @staticmethod
    def _stop_child(proc: subprocess.Popen) -> None:
        end_child(proc)

    # -- questions about a frame (detail panes)
    def call(self, frame: tuple[int, int], method: str, arg: Any, timeout: float = CALL_TIMEOUT_S) -> Any:
        """Ask the child about `frame` ((generation, id)); a frame of an earlier child is answered from the newest."""
        if self._closed.is_set():
            raise FeedUnavailable("the feed is closed")
        if self._error:
            raise FeedUnavailable(self._error)
        generation, frame_id = frame
        rid = next(self._call_ids)
        slot = [threading.Event(), False, None]
        self._calls[rid] = slot
        try:
            try:
                with self._write_lock:
                    write_message(self.proc.stdin, ("call", rid, frame_id if generation == self.generation else -1, method, arg))
                    self.proc.stdin.flush()
            except (OSError, ValueError) as e:
                raise FeedUnavailable(self._error or f"the feed process is gone ({e})") from None
            if not slot[0].wait(timeout):
                raise FeedUnavailable(f"the feed process did not answer within {timeout:g}s (busy?); move the cursor to retry")
        finally:
            self._calls.pop(rid, None)
        if not slot[1]:
            raise FeedUnavailable(str(slot[2]))
        return slot[2]

    def _fail_calls(self, why: str) -> None:
        for slot in list(self._calls.values()):
            slot[1], slot[2] = False, why
            slot[0].set()

    # -- reader thread: read the child until it ends; start another while the feed is open
    def _run(self) -> None:
        backoff = RESTART_FIRST_S
        while True:
            started = time.monotonic()
            self._read(self.proc)
            if self._closed.is_set():
                return
            if self.proc.poll() is None:  # the stream broke but the child lives: stop it, start afresh
                self._stop_child(self.proc)
            code = self.proc.wait()
            self._failed = True
            how = f"was killed by {_signal_name(-code)}" if code < 0 else f"exited (code {code})"
            why = self._error or f"the feed process {how}: {self._last_log_line()}"
            if time.monotonic() - started > RESTART_MAX_S:
                backoff = RESTART_FIRST_S  # it ran a good while: a fresh failure
            self._error = f"{why}; restarting in {backoff:g}s (log {self.log_path})"
            self._fail_calls(self._error)
            with self._cond:
                self._cond.notify_all()
            if self._closed.wait(backoff):
                return
            backoff = min(RESTART_MAX_S, backoff * 2)
            self.restarts += 1
            self._views = {}
            self.proc = self._spawn()
            # said until the new child reports (its first status comes once it is connected)
            self._error = f"{why}; restarted (log {self.log_path})"

    def _read(self, proc: subprocess.Popen) -> None:
        building: dict[str, list | None] = {}
        header: tuple | None = None
        try:
            while True:
                msg = read_message(proc.stdout)
                if msg is None:
                    return
                kind = msg[0]
                if kind == "piece":
                    building.setdefault(msg[2], []).append((msg[3], pickle.loads(msg[4])))
                elif kind == "same":
                    building[msg[2]] = None
                elif kind == "frame":
                    header, building = msg, {}
                elif kind == "end" and header is not None:
                    self._finish_frame(header, building)
                    header, building = None, {}
                elif kind == "status":
                    with self._cond:
                        self._status = msg[1]
                    self._error = ""  # the child is connected and its feed runs (again)
                elif kind == "reply":
                    slot = self._calls.get(msg[1])
                    if slot is not None:
                        slot[1], slot[2] = msg[2], msg[3]
                        slot[0].set()
                elif kind == "fatal":
                    self._error = msg[1]
        except Exception as e:  # a broken stream: said in the status line, not a crash
            self._error = self._error or f"feed process stream broken: {type(e).__name__}: {e}"

    def _finish_frame(self, header: tuple, building: dict[str, list | None]) -> None:
        _, fid, taken_at, status = header
        views = {name: self._views[name] if pieces is None else join_value(pieces) for name, pieces in building.items()}
        self._views = dict(views)
        names = views.pop(NAMES)
        from .analysis.models import Analysis

        frame = Frame(cluster=RemoteCluster(self, (self.generation, fid), names), metrics=None, analysis=Analysis(**views),
                      taken_at=taken_at, status=status)
        with self._cond:
            self._frame = frame  # an older frame not taken yet is replaced: the UI wants the newest
            self._status = status
            self._error = ""  # a frame from the current child: it works
            self._cond.notify_all()

    def _last_log_line(self) -> str:
        try:
            self._log.flush()
            lines = [ln for ln in Path(self.log_path).read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return "no log"
        return lines[-1].strip()[:200] if lines else "nothing in its log"


def _signal_name(number: int) -> str:
    import signal

    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
