"""analyze() in a forked child process, so a live dashboard's UI thread never waits for its GIL.

At 150,000 pods one analysis is ~0.6-0.8 s of pure-Python CPU. In a thread of the dashboard's
process it holds the GIL half of that time against the UI thread (keys answered in 130-190 ms p95
on the live path). A child made with fork() starts with the parent's memory — the immutable
ClusterSnapshot included, nothing is copied or sent — analyses it on its own GIL and sends back
only the view models (~4 MB pickled at 150k pods). The parent waits on the pipe without the GIL and
unpickles one view at a time, yielding between views, so no single GIL hold is long.

The child runs nothing but analyze(), pickle and os.write, then os._exit (no atexit handlers, no
flushing of the parent's buffered terminal output). Linux only; anywhere else, or after a child
failed once, analysis runs in the calling thread as before.

Measured (BENCHMARKS.md, TUI): on the live 150k-pod bench this is NOT a win, so LiveFeed leaves it off
by default (LiveFeed(analyze_in_child=True) turns it on): fork() of a ~1.5 GB process holds the GIL
~40-60 ms copying page tables, and the copy-on-write faults that follow made the UI thread's apply of
each frame ~3x slower; refreshing p95 72-97 ms with it against 42-68 ms without, at load 1.3-2.8.
"""
from __future__ import annotations

import dataclasses
import os
import pickle
import select
import signal
import struct
import sys
import time
import warnings

CHILD_TIMEOUT_S = 120.0  # a child that has not answered by then is killed; analysis returns in-process
_HEADER = struct.Struct("!Q")
_failed_reason = ""  # set once a child failed: later analyses stay in-process


def available() -> bool:
    """Forking is only trusted where fork() keeps no per-thread runtime state to break (Linux)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and not _failed_reason


def failure() -> str:
    """Why analysis went back in-process ("" while children work)."""
    return _failed_reason


def analyze_forked(cluster, metrics, now: float, timeout: float = CHILD_TIMEOUT_S):
    """analyze(cluster, metrics, now) computed in a forked child; falls back to the calling thread
    (and stays there) when the child fails, so the result is the same either way."""
    from .analysis import analyze  # imported before fork: the child must not need the import machinery

    if not available():
        return analyze(cluster, metrics, now)
    try:
        parts = _run_child(analyze, cluster, metrics, now, timeout)
        return _assemble(parts)
    except _ChildFailed as e:
        _give_up(str(e))
        return analyze(cluster, metrics, now)


class _ChildFailed(Exception):
    pass


def _give_up(reason: str) -> None:
    global _failed_reason
    _failed_reason = reason or "analysis child failed"


def _run_child(analyze, cluster, metrics, now, timeout) -> list[tuple[str, bytes]]:
    r, w = os.pipe()
    with warnings.catch_warnings():  # 3.12+ warns about fork() in a threaded process; the child only computes
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: compute, write, leave without running any of the parent's exit code
        code = 1
        try:
            os.close(r)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
            try:
                signal.set_wakeup_fd(-1)  # the parent's event loop owns that fd
            except (ValueError, OSError):
                pass
            result = analyze(cluster, metrics, now)
            parts = [(f.name, pickle.dumps(getattr(result, f.name), protocol=pickle.HIGHEST_PROTOCOL))
                     for f in dataclasses.fields(result)]
            _write_all(w, pickle.dumps([(n, len(b)) for n, b in parts], protocol=pickle.HIGHEST_PROTOCOL))
            for _, b in parts:
                _write_all(w, b)
            code = 0
        except BaseException as e:  # noqa: BLE001 - anything goes to the parent as one line
            try:
                msg = f"{type(e).__name__}: {e}".splitlines()[0][:200].encode()
                _write_all(w, _HEADER.pack(0) + msg)
            except BaseException:  # noqa: BLE001
                pass
        finally:
            os._exit(code)
    os.close(w)
    try:
        data = _read_all(r, pid, time.monotonic() + timeout)
    finally:
        os.close(r)
    status = _reap(pid)
    if status != 0:
        raise _ChildFailed(f"analysis child exited with {status}: {_child_error(data)}")
    return _split(data)


def _write_all(fd: int, data: bytes) -> None:
    """Framed: length, then bytes."""
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_all(fd: int, pid: int, deadline: float) -> bytes:
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            _kill(pid)
            raise _ChildFailed("analysis child timed out")
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))  # waits without the GIL
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _reap(pid: int) -> int:
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:  # someone else reaped it (a SIGCHLD handler); the data decides
        return 0
    return os.waitstatus_to_exitcode(status)


def _frames(data: bytes):
    pos = 0
    while pos < len(data):
        (n,) = _HEADER.unpack_from(data, pos)
        pos += _HEADER.size
        yield data[pos:pos + n]
        pos += n


def _child_error(data: bytes) -> str:
    try:
        for frame in _frames(data):
            if frame[:_HEADER.size] == _HEADER.pack(0):
                return frame[_HEADER.size:].decode(errors="replace")
    except struct.error:
        pass
    return "no result"


def _split(data: bytes) -> list[tuple[str, bytes]]:
    frames = list(_frames(data))
    if not frames:
        raise _ChildFailed("analysis child sent nothing")
    names = pickle.loads(frames[0])
    if len(frames) != len(names) + 1 or any(len(b) != n for (_, n), b in zip(names, frames[1:])):
        raise _ChildFailed("analysis child sent a truncated result")
    return [(name, b) for (name, _), b in zip(names, frames[1:])]


def _assemble(parts: list[tuple[str, bytes]]):
    """One view at a time, yielding the GIL between views (the UI thread may be waiting for it)."""
    from .analysis.models import Analysis

    fields = {}
    for name, blob in parts:
        fields[name] = pickle.loads(blob)
        time.sleep(0)
    return Analysis(**fields)
