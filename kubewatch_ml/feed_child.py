"""The feed process (`python -m kubewatch_ml.feed_child`): a LiveFeed whose frames go to the
dashboard over stdout, answering its questions from stdin. See feed_process.py for why and the wire."""
from __future__ import annotations

import os
import sys
import threading
from collections import OrderedDict

from .feed_process import FRAMES_KEPT, encode_views, frame_views, read_message, write_message

STATUS_EVERY_S = 0.25  # the loading screen's progress
# The feed is background work and the dashboard is interactive: when the cores are busy (a 2-core laptop,
# a busy bastion) the scheduler runs the dashboard first. KUBEWATCH_FEED_NICE overrides (0: same priority).
FEED_NICE = 10


class _Out:
    """The protocol stream; one writer at a time (frames, status and replies interleave by message)."""

    def __init__(self, stream):
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, msg: tuple) -> None:
        with self._lock:
            write_message(self._stream, msg)
            self._stream.flush()


def _answer(snapshots: OrderedDict, frame_id: int, method: str, arg):
    cluster = snapshots.get(frame_id)
    if cluster is None:
        if not snapshots:
            raise LookupError("no frame yet")
        cluster = next(reversed(snapshots.values()))  # an old frame: the newest answers as well
    if method == "pods_on":
        return list(cluster.pods_on(arg))
    if method == "pods_of":
        return list(cluster.pods_of(tuple(arg)))
    if method == "events":
        return tuple(cluster.events_by_object.get(tuple(arg), ()))
    raise LookupError(f"unknown question {method!r}")


def _serve(inp, out: _Out, snapshots: OrderedDict, lock: threading.Lock, stop: threading.Event) -> None:
    try:
        while True:
            msg = read_message(inp)
            if msg is None or msg[0] != "call":
                break
            _, rid, frame_id, method, arg = msg
            try:
                with lock:
                    value = _answer(snapshots, frame_id, method, arg)
                out.send(("reply", rid, True, value))
            except Exception as e:  # the question fails, not the feed
                out.send(("reply", rid, False, f"{type(e).__name__}: {e}"))
    except Exception:  # the dashboard is gone
        pass
    finally:
        stop.set()


def _status_loop(feed, out: _Out, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            out.send(("status", feed.progress()))
        except (OSError, ValueError):
            stop.set()
        stop.wait(STATUS_EVERY_S)


def run(inp, out_stream) -> int:
    out = _Out(out_stream)
    msg = read_message(inp)
    if msg is None or msg[0] != "start":
        return 2
    settings = msg[1]
    from .errors import UserError
    from .feed import open_live_feed

    try:
        feed = open_live_feed(settings)  # the dashboard resolved read-only contexts: settings say it
    except UserError as e:
        out.send(("fatal", str(e)))
        return 3
    stop = threading.Event()
    snapshots: OrderedDict = OrderedDict()
    lock = threading.Lock()
    threading.Thread(target=_serve, args=(inp, out, snapshots, lock, stop), name="feed-questions", daemon=True).start()
    threading.Thread(target=_status_loop, args=(feed, out, stop), name="feed-status", daemon=True).start()
    sent: dict[str, bytes] = {}
    frame_id = 0
    try:
        while not stop.is_set():
            frame = feed.next_frame(0.25)
            if frame is None:
                continue
            frame_id += 1
            with lock:
                snapshots[frame_id] = frame.cluster
                while len(snapshots) > FRAMES_KEPT:
                    snapshots.popitem(last=False)
            out.send(("frame", frame_id, frame.taken_at, frame.status))
            for view, pieces in encode_views(frame_views(frame), sent):
                if pieces is None:
                    out.send(("same", frame_id, view))
                else:
                    for field, data in pieces:
                        out.send(("piece", frame_id, view, field, data))
            out.send(("end", frame_id))
    except (OSError, ValueError):  # the dashboard closed the pipe
        pass
    finally:
        stop.set()
        feed.close()
    return 0


def main() -> int:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C for the process group: the dashboard decides; it closes our stdin
    try:
        os.nice(int(os.environ.get("KUBEWATCH_FEED_NICE", FEED_NICE)))
    except (OSError, ValueError):
        pass
    proto = os.fdopen(os.dup(1), "wb")  # the protocol gets stdout; anything printed goes to the log
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        return run(sys.stdin.buffer, proto)
    except KeyboardInterrupt:  # the terminal's Ctrl-C reaches the whole process group
        return 0
    except Exception as e:
        import traceback

        traceback.print_exc()
        try:
            write_message(proto, ("fatal", f"feed process failed: {type(e).__name__}: {e}"))
            proto.flush()
        except (OSError, ValueError):
            pass
        return 1


if __name__ == "__main__":
    sys.exit(main())
