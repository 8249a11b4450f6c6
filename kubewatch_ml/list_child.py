"""The process that fetches the rest of one long list for paged_list.list_kind (`python -m kubewatch_ml.list_child`).

stdin: one JSON line (the connection's resolved _Auth, the parent's current Authorization header, the read
timeout, the list's path, page limit and continue token); its end later means "stop". stdout: frames
(paged_list.FRAME): each page's body as it arrives, a restart after a 410, the server's error, a transport
error's one-line description, or done. The same page loop as the parent's fetcher thread, through the same
KubeConnection.request, so retries, Retry-After and error wording are the parent's. Never writes to the
cluster (the connection is read-only).
"""
from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
import threading

from .errors import ConnectError
from .paged_list import BROKEN, DONE, FAILED, FRAME, PAGE, RESTART, Failed, _RESTART, page_loop
from .sources.kube import FixedCredentials, KubeConnection, _Auth

F_SETPIPE_SZ = 1031  # Linux: a 1 MB pipe lets the parent read a page in two reads instead of ~22


def _write(fd: int, kind: bytes, payload: bytes = b"") -> None:
    os.write(fd, FRAME.pack(kind, len(payload)))
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view):]


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the terminal is the parent's to handle
    cfg = json.loads(sys.stdin.buffer.readline())  # the parent writes this one line, then only closes stdin
    out = sys.stdout.fileno()
    try:
        fcntl.fcntl(out, F_SETPIPE_SZ, 1 << 20)
    except OSError:
        pass
    cancel = threading.Event()

    def watch_stdin() -> None:  # the parent closes stdin (or dies): stop
        while os.read(0, 4096):  # the raw fd: a daemon thread inside sys.stdin's lock aborts the exit
            pass
        cancel.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    conn = KubeConnection(FixedCredentials(cfg["authorization"]), None, readonly=True,
                          timeout=float(cfg["timeout"]), auth=_Auth(**cfg["auth"]))
    conn.ask_gzip = bool(cfg.get("gzip", conn.ask_gzip))  # the parent's choice (tests may ask a local server)

    def put(item) -> None:
        if item is None:
            _write(out, DONE)
        elif item is _RESTART:
            _write(out, RESTART)
        elif isinstance(item, Failed):
            _write(out, FAILED, item.status.to_bytes(2, "big") + item.body)
        else:
            _write(out, PAGE, item)

    try:
        page_loop(conn, cfg["path"], int(cfg["limit"]), put, cancel, cfg["continue"])
    except ConnectError as e:
        _write(out, BROKEN, str(e).encode())
    except BrokenPipeError:
        return 0
    except Exception as e:  # noqa: BLE001 - said to the parent in one line, as its own fetcher would raise it
        try:
            _write(out, BROKEN, f"list process: {type(e).__name__}: {e}".encode())
        except OSError:
            pass
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
