"""`kubewatch-ml record FILE`: snapshots at each interval into one SQLite file with bounded
retention; replay it with `kubewatch-ml replay FILE`, export a moment with `snapshot --from FILE
--at TIME`, compare moments with `diff FILE@T1 FILE@T2`."""
from __future__ import annotations

import signal
import threading
import time
from dataclasses import replace

from ..errors import UserError
from ._headless import Progress, add_source_args, check_output, cluster_settings


def add_arguments(p) -> None:
    p.add_argument("file", metavar="FILE", help="the recording (created if missing, appended otherwise)")
    p.add_argument("--interval", type=float, default=30.0, metavar="SECONDS", help="between frames (default 30)")
    p.add_argument("--retention", default="1000", metavar="LIMITS",
                   help="comma-separated: N frames, a duration (24h, 7d) and/or a size (500MB); default 1000 "
                        "frames; a 2GB size cap applies unless a size is given")
    p.add_argument("--count", type=int, default=0, metavar="N", help="stop after N frames (default: until interrupted)")
    p.add_argument("--sync-timeout", type=float, default=600.0, metavar="SECONDS",
                   help="how long to wait for the initial lists (default 600)")
    add_source_args(p, recording=False)


def run(args) -> int:
    from ..recording import Recording, parse_retention

    if args.interval < 0.1:
        raise UserError("--interval must be at least 0.1 s")
    if args.count < 0:
        raise UserError("--count must be 0 (unbounded) or more")
    retention = parse_retention(args.retention)
    progress = Progress(args.quiet)
    stop = threading.Event()
    old = signal.signal(signal.SIGTERM, lambda *_: stop.set()) if threading.current_thread() is threading.main_thread() else None
    check_output(args.file)  # fail now; the file itself is created once the cluster answers
    try:
        with cluster_settings(args, progress, clock_running=True) as (settings, _source):
            record_loop(settings, lambda: Recording.create(args.file, retention), args.interval, args.count,
                        args.sync_timeout, progress, stop, no_metrics=args.no_metrics)
    except KeyboardInterrupt:
        pass
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)
    progress.done(f"recording {args.file}: stopped ({retention.describe()} kept)")
    return 0


def record_loop(settings, open_recording, interval: float, count: int, sync_timeout: float, progress: Progress,
                stop: threading.Event, no_metrics: bool = False) -> int:
    """Watch the cluster (one list, then watches) and append a frame every `interval` seconds."""
    from ..sources.kube import connect
    from ._headless import built

    conn = connect(settings.kube)
    with built("the data layer (store, metrics sources)"):
        from ..sources.metrics import open_metrics
        from ..store import ClusterStore
    store = ClusterStore(conn)
    if no_metrics:
        from ..sources.metrics import NoMetrics

        metrics = NoMetrics("--no-metrics")
    else:
        metrics = open_metrics(settings.metrics, conn)
    written = 0
    rec = None
    try:
        store.start()
        progress(f"listing {conn.info.server}…", force=True)
        wait_for_lists(store, sync_timeout, progress, stop)
        rec = open_recording()
        progress(f"recording every {interval:g} s into {rec.path}; metrics: {metrics.describe()}", force=True)
        next_at = time.monotonic()
        while not stop.is_set():
            now = time.time()
            # the store's snapshot is cached until the next watch event; the watch keeps it current, so
            # it describes the cluster as of now (frames must carry their own time for seek and diff)
            cluster = replace(store.snapshot(), taken_at=now)
            m = metrics.fetch(now)
            rec.append(cluster, m)
            written += 1
            progress(f"frame {written}: {len(cluster.nodes):,} nodes, {len(cluster.pods):,} pods "
                     f"({len(rec)} frames kept)", force=True)
            if count and written >= count:
                break
            next_at += interval
            stop.wait(max(0.0, next_at - time.monotonic()))  # fixed cadence: slow fetches don't drift it
    finally:
        if rec is not None:
            rec.close()
        store.stop()
        metrics.close()
        close = getattr(conn, "close", None)
        if close:
            close()
    return written


def wait_for_lists(store, timeout: float, progress: Progress, stop: threading.Event) -> None:
    """Wait for the store's initial lists, showing progress; give up early when every kind has
    settled and none listed (the API refuses or fails everything), or after `timeout`."""
    deadline = time.monotonic() + timeout
    while not store.wait_synced(1.0):
        if stop.is_set():
            raise KeyboardInterrupt
        states = dict(store.progress())
        progress.kinds(*states.values())
        settled = [s for s in states.values() if s.complete or s.forbidden or s.error]
        if states and len(settled) == len(states) and not any(s.complete for s in states.values()):
            first = next((f"{s.kind}: {s.error}" for s in states.values() if s.error), "every kind forbidden")
            raise UserError(f"cannot list the cluster ({first})")
        if time.monotonic() > deadline:
            slow = ", ".join(sorted(k for k, s in states.items() if not (s.complete or s.forbidden or s.error)))
            raise UserError(f"the initial lists did not finish within {timeout:g} s (--sync-timeout); still listing: {slow}")
